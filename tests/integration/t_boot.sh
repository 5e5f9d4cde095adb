# shellcheck shell=bash
# Every workload boots on ftvmm, prints what it should and exits 0.

run_case "hello prints its greeting and exits 0" 0 -- "$FTVMM" run "$G/hello.elf"
expect_out "Hello from the ftvmm guest"
expect_out "^ftvmm-guest: hello"
end_case

run_case "counter prints one line per period" 0 -- \
        "$FTVMM" run --cmdline "lines=4 period_ms=20" "$G/counter.elf"
expect_lines "^counter seq=[0-9]+ t_us=[0-9]+" 4
end_case

run_case "counter's guest time never steps back" 0 -- \
        "$FTVMM" run --cmdline "lines=10 period_ms=10" "$G/counter.elf"
if ! grep -Eo 't_us=[0-9]+' "$WORK/out" | cut -d= -f2 | sort -n -c 2>/dev/null; then
        note "t_us values are not increasing"
fi
end_case

run_case "cpu prints a checksum" 0 -- "$FTVMM" run --cmdline "rounds=2" "$G/cpu.elf"
expect_out "^cpu rounds=2 checksum=[0-9a-f]+ elapsed_us=[0-9]+"
end_case

run_case "tick receives its interrupts" 0 -- \
        "$FTVMM" run --cmdline "hz=1000 ticks=200" "$G/tick.elf"
expect_out "^tick hz=1000 ticks=200 elapsed_us=[0-9]+"
end_case

run_case "pio loop exits through port 0x80" 0 -- "$FTVMM" run --cmdline "count=500" "$G/pio.elf"
expect_out "^pio count=500 elapsed_us=[0-9]+"
end_case

run_case "--console writes the serial output to a file" 0 -- \
        "$FTVMM" run --console "$WORK/console.txt" "$G/hello.elf"
grep -q "Hello from the ftvmm guest" "$WORK/console.txt" 2>/dev/null || note "console file lacks the greeting"
[[ ! -s $WORK/out ]] || note "stdout should be empty with --console"
end_case

run_case "--exit-status=qemu reports (status << 1) | 1" 1 -- \
        "$FTVMM" run --exit-status=qemu "$G/hello.elf"
end_case

run_case "--timeout stops a guest that runs too long" 124 -- \
        "$FTVMM" run --timeout 1 --cmdline "lines=1000 period_ms=100" "$G/counter.elf"
expect_err "timeout"
end_case

run_case "--stats counts the exits" 0 -- "$FTVMM" run --stats --cmdline "count=300" "$G/pio.elf"
expect_err "exits: [0-9]+ port I/O"
n=$(grep -Eo 'exits: [0-9]+ port' "$WORK/err" | grep -Eo '[0-9]+' || echo 0)
[[ $n -ge 300 ]] || note "counted $n port I/O exits for 300 outb instructions"
end_case
