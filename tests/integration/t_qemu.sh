# shellcheck shell=bash
# The same images boot on QEMU's microvm with the same command line and print
# the same output apart from timing fields.

if [[ -w /dev/kvm ]]; then QEMU_ACCEL=kvm; else QEMU_ACCEL=tcg; fi
echo "qemu comparison: using -accel $QEMU_ACCEL"


compare_case() { # WORKLOAD CMDLINE
        local image=$G/$1.elf
        run_case "qemu microvm: $1 boots, exits 1 ((0 << 1) | 1)" 1 -- \
                env QEMU_ACCEL="$QEMU_ACCEL" scripts/qemu-microvm "$image" "$2"
        cp "$WORK/out" "$WORK/qemu.out"
        end_case
        run_case "same output on ftvmm and qemu: $1" 0 -- "$FTVMM" run --cmdline "$2" "$image"
        if ! diff <(normalise "$WORK/qemu.out") <(normalise "$WORK/out") >"$WORK/diff"; then
                note "outputs differ:"
                sed 's/^/    /' "$WORK/diff" >&2
        fi
        end_case
}

compare_case hello ""
compare_case counter "lines=3 period_ms=20"
compare_case cpu "rounds=2"
compare_case tick "hz=500 ticks=100"
compare_case pio "count=200"
