# shellcheck shell=bash
# A machine saved at a position and restored in a fresh process prints the
# rest of the output the uninterrupted run prints.

run_case "snapshot reference run" 0 -- "$FTVMM" run --cmdline "lines=6 period_ms=20" "$G/counter.elf"
cp "$WORK/out" "$WORK/full.txt"
end_case

# Positions well inside the run, two of them drawn from the seed: in plain
# `run` mode how many exits a run takes depends on timing, and every run
# takes more than 250.
for pos in 40 $((41 + SEED % 100)) $((141 + SEED / 100 % 100)); do
        snap=$WORK/snap-$pos
        run_case "snapshot at position $pos" 0 -- \
                "$FTVMM" run --cmdline "lines=6 period_ms=20" --until "$pos" --snapshot "$snap" "$G/counter.elf"
        expect_err "stopped at position $pos; machine saved to $snap"
        cp "$WORK/out" "$WORK/first.txt"
        end_case
        run_case "restore from position $pos continues the same output" 0 -- \
                "$FTVMM" run --restore "$snap"
        cat "$WORK/first.txt" "$WORK/out" >"$WORK/joined.txt"
        if ! diff <(normalise "$WORK/full.txt") <(normalise "$WORK/joined.txt") >"$WORK/diff"; then
                note "output before and after the snapshot differs from the uninterrupted run:"
                sed 's/^/    /' "$WORK/diff" >&2
        fi
        end_case
done

# Restored inside pio's loop: the guest goes on writing port 0x80 from ring
# 3, which goes through the restored task register's I/O bitmap.
run_case "snapshot pio inside its ring-3 port loop" 0 -- \
        "$FTVMM" run --cmdline "count=300" --until 150 --snapshot "$WORK/snap-pio" "$G/pio.elf"
expect_err "stopped at position 150; machine saved to"
end_case
run_case "restored pio goes on with ring-3 port I/O" 0 -- "$FTVMM" run --restore "$WORK/snap-pio"
expect_out "^pio count=300 elapsed_us=[0-9]+$"
end_case

head -c 3000 "$WORK/snap-40" >"$WORK/snap-cut"
run_case "a truncated snapshot is rejected" 65 -- "$FTVMM" run --restore "$WORK/snap-cut"
expect_err "snap-cut: snapshot: .*truncated"
expect_one_line_error
end_case

cp "$WORK/snap-40" "$WORK/snap-bad"
printf '\x55' | dd of="$WORK/snap-bad" bs=1 seek=200 conv=notrunc status=none
run_case "a corrupted snapshot is rejected" 65 -- "$FTVMM" run --restore "$WORK/snap-bad"
expect_err "snap-bad: snapshot: .*corrupt"
expect_one_line_error
end_case

run_case "--restore with an image is a usage error" 64 -- \
        "$FTVMM" run --restore "$WORK/snap-40" "$G/hello.elf"
expect_err "--restore replaces IMAGE"
end_case
