# shellcheck shell=bash
# Record a run, replay it from the log alone: the same console output, byte
# for byte, and every epoch verified. A log cut short is replayed up to its
# last complete record and reported as such.

replay_case() { # WORKLOAD CMDLINE
        local log=$WORK/$1.log
        run_case "record $1" 0 -- "$FTVMM" record --log "$log" --cmdline "$2" "$G/$1.elf"
        expect_err "^record: [0-9]+ epochs"
        cp "$WORK/out" "$WORK/$1.recorded"
        end_case
        run_case "replay $1: identical output, every epoch verified" 0 -- "$FTVMM" replay "$log"
        expect_out "^replay: identical, [0-9]+ epochs, [0-9]+ checkpoint epochs, [0-9]+ positions, [0-9]+ memory hashes compared$"
        head -n -1 "$WORK/out" | cmp -s - "$WORK/$1.recorded" ||
                note "replayed console output differs from the recorded one"
        checkpoints=$(sed -nE 's/^replay: identical, [0-9]+ epochs, ([0-9]+) checkpoint.*/\1/p' "$WORK/out")
        end_case
}

replay_case hello ""
replay_case counter "lines=4 period_ms=20"
replay_case tick "hz=1000 ticks=100"
replay_case pio "count=500"
# cpu makes no exit for whole rounds, so its timer interrupts wait until
# --max-stall ends the epoch in a checkpoint.
replay_case cpu "rounds=10"
# (a check of the replay just above, not a command of its own)
case_name="cpu's replay applied checkpoint epochs" case_ok=1
[[ ${checkpoints:-0} -gt 0 ]] || note "no checkpoint epochs in cpu's replay"
end_case

# Stopping a replay at a position and continuing in a fresh process gives
# the rest of the recorded output (timing fields masked: the continuation
# runs on the host's clock).
for pos in 60 $((100 + SEED % 100)); do
        run_case "replay counter --until $pos --snapshot" 0 -- \
                "$FTVMM" replay --until "$pos" --snapshot "$WORK/replayed-$pos.snap" "$WORK/counter.log"
        expect_err "stopped at position $pos; machine saved to"
        cp "$WORK/out" "$WORK/first.txt"
        end_case
        run_case "run --restore continues counter from replay position $pos" 0 -- \
                "$FTVMM" run --restore "$WORK/replayed-$pos.snap"
        cat "$WORK/first.txt" "$WORK/out" >"$WORK/joined.txt"
        diff <(normalise "$WORK/counter.recorded") <(normalise "$WORK/joined.txt") >"$WORK/diff" ||
                { note "output differs from the recorded run:"; sed 's/^/    /' "$WORK/diff" >&2; }
        end_case
done

# One logged value changed, with its record's CRC fixed so that only the
# replay itself can notice: the divergence is named at that record.
cp "$WORK/counter.log" "$WORK/altered.log"
read -r pos _ < <("$BUILD/alter-log" "$WORK/altered.log" EPOC 3 1)
run_case "an altered epoch digest is reported at its position ($pos)" 76 -- \
        "$FTVMM" replay "$WORK/altered.log"
expect_err "replay: diverged: epoch 3, position $pos: state digest [0-9a-f]+, the log has"
end_case

# A clock read taken 1 s later, once the guest's timer runs, changes when
# IRQ 0 is raised: the run departs from the log at that read or, at the
# latest, where its epoch ends.
cp "$WORK/counter.log" "$WORK/altered.log"
read -r pos epoch_end < <("$BUILD/alter-log" "$WORK/altered.log" TIME 150 1000000000)
run_case "a clock read moved 1 s later is caught between positions $pos and $epoch_end" 76 -- \
        "$FTVMM" replay "$WORK/altered.log"
at=$(sed -nE 's/^replay: diverged: epoch [0-9]+, position ([0-9]+): .*/\1/p' "$WORK/err")
[[ -n $at && $at -ge $pos && $at -le $epoch_end ]] ||
        note "divergence reported at position '${at}', outside $pos..$epoch_end"
end_case

size=$(stat -c %s "$WORK/counter.log")
head -c $((size - 30)) "$WORK/counter.log" >"$WORK/cut.log"
run_case "a log cut short is replayed up to its last complete record" 74 -- \
        "$FTVMM" replay "$WORK/cut.log"
expect_err "cut short, the log ends inside a record after [0-9]+ complete records \([0-9]+ bytes of a record at byte [0-9]+\); replayed up to position [0-9]+"
end_case

cp "$WORK/counter.log" "$WORK/bad.log"
printf '\x55' | dd of="$WORK/bad.log" bs=1 seek=$((size - 200)) conv=notrunc status=none
run_case "a corrupted log record is reported as corruption" 65 -- "$FTVMM" replay "$WORK/bad.log"
expect_err "^replay: .*bad.log: corrupt at byte [0-9]+: .*corrupt"
end_case

# One byte of a record's length in the middle of the log: corruption
# (the header's checksum), not a log cut short.
length_at=$("$BUILD/alter-log" --record-offset "$WORK/counter.log" 40)
cp "$WORK/counter.log" "$WORK/length.log"
printf '\x07' | dd of="$WORK/length.log" bs=1 seek=$((length_at + 9)) conv=notrunc status=none
run_case "a damaged record length is corruption, not a cut" 65 -- "$FTVMM" replay "$WORK/length.log"
expect_err "corrupt at byte $length_at: record header corrupt"
end_case

# A byte of guest memory flipped during the replay, where the guest never
# looks, is caught by the memory hash within --verify-every epochs.
run_case "record counter with --verify-every 4" 0 -- \
        "$FTVMM" record --verify-every 4 --log "$WORK/verify.log" --cmdline "lines=6 period_ms=20" "$G/counter.elf"
end_case
flip_at=$((120 + SEED % 60))
run_case "a flipped byte of memory is caught within 4 epochs" 76 -- \
        env FTVMM_TEST_FLIP="$flip_at:0x4000000" "$FTVMM" replay "$WORK/verify.log"
expect_err "replay: diverged: epoch [0-9]+, position [0-9]+: guest memory hash"
# The epoch the flip happened in, from a clean replay stopped there.
"$FTVMM" replay --stats --until "$flip_at" --snapshot "$WORK/flip.snap" "$WORK/verify.log" \
        >/dev/null 2>"$WORK/flip.err" || true
flip_epoch=$(sed -nE 's/^ftvmm: ([0-9]+) epochs.*/\1/p' "$WORK/flip.err")
caught=$(sed -nE 's/^replay: diverged: epoch ([0-9]+),.*/\1/p' "$WORK/err")
[[ -n $flip_epoch && -n $caught && $caught -le $((flip_epoch + 1 + 4)) ]] ||
        note "flipped in epoch ${flip_epoch:-?}, caught in epoch ${caught:-never}"
end_case

echo "not a log" >"$WORK/junk.log"
run_case "a file that is not a log is rejected" 65 -- "$FTVMM" replay "$WORK/junk.log"
expect_err "junk.log: not an ftvmm log"
end_case

run_case "record without --log is a usage error" 64 -- "$FTVMM" record "$G/hello.elf"
expect_err "--log FILE is required"
end_case

run_case "a log that cannot be written stops the recorder before the guest starts" 73 -- \
        "$FTVMM" record --log /dev/full "$G/hello.elf"
expect_err "/dev/full: No space left on device"
[[ ! -s $WORK/out ]] || note "the guest printed although nothing could be logged"
end_case

# A log that fills its file system in the middle of the run: the guest is
# stopped at once and nothing the log does not hold is printed. Needs root
# for the small file system (the nested harness runs as root).
if [[ $(id -u) -eq 0 ]] && mkdir -p "$WORK/small" && mount -t tmpfs -o size=300k tmpfs "$WORK/small"; then
        run_case "a log write that fails mid-run stops the guest within a second" 73 -- \
                "$FTVMM" record --log "$WORK/small/full.log" --cmdline "rounds=60 progress=1" "$G/cpu.elf"
        expect_err "small/full.log: writing the log: No space left on device"
        stopped_ms=$(sed -nE 's/^record: the guest was stopped ([0-9]+) ms after the log failed$/\1/p' "$WORK/err")
        [[ -n $stopped_ms && $stopped_ms -lt 1000 ]] || note "stopped ${stopped_ms:-?} ms after the failure"
        "$FTVMM" replay "$WORK/small/full.log" >"$WORK/replayed" 2>/dev/null || true
        cmp -s -n "$(stat -c %s "$WORK/out")" "$WORK/out" "$WORK/replayed" ||
                note "printed output is not a prefix of what the partial log replays"
        lines=$(grep -c '^cpu round' "$WORK/out" || true)
        [[ $lines -lt 60 ]] || note "the guest ran to its end ($lines rounds) despite the failed log"
        echo "    stopped ${stopped_ms:-?} ms after the failure, $lines of 60 rounds printed"
        end_case
        umount "$WORK/small"
fi
