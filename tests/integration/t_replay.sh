# shellcheck shell=bash
# Record a run, replay it from the log alone: the same console output, byte
# for byte, and every epoch verified. A log cut short is replayed up to its
# last complete record and reported as such.

replay_case() { # WORKLOAD CMDLINE
        local log=$WORK/$1.log
        run_case "record $1" 0 -- "$FTVMM" record --log "$log" --cmdline "$2" "$G/$1.elf"
        expect_err "^record: [0-9]+ epochs"
        cp "$WORK/out" "$WORK/recorded.txt"
        end_case
        run_case "replay $1: identical output, every epoch verified" 0 -- "$FTVMM" replay "$log"
        expect_out "^replay: identical, [0-9]+ epochs, 0 checkpoint epochs, [0-9]+ positions$"
        head -n -1 "$WORK/out" | cmp -s - "$WORK/recorded.txt" ||
                note "replayed console output differs from the recorded one"
        end_case
}

replay_case hello ""
replay_case counter "lines=4 period_ms=20"
replay_case cpu "rounds=3"
replay_case tick "hz=1000 ticks=100"
replay_case pio "count=500"

size=$(stat -c %s "$WORK/counter.log")
head -c $((size - 30)) "$WORK/counter.log" >"$WORK/cut.log"
run_case "a log cut short is replayed up to its last complete record" 74 -- \
        "$FTVMM" replay "$WORK/cut.log"
expect_err "cut short, the log ends after [0-9]+ complete records; replayed up to position [0-9]+"
end_case

cp "$WORK/counter.log" "$WORK/bad.log"
printf '\x55' | dd of="$WORK/bad.log" bs=1 seek=$((size - 200)) conv=notrunc status=none
run_case "a corrupted log record is reported as a divergence" 76 -- "$FTVMM" replay "$WORK/bad.log"
expect_err "replay: diverged: log unreadable: "
end_case

echo "not a log" >"$WORK/junk.log"
run_case "a file that is not a log is rejected" 65 -- "$FTVMM" replay "$WORK/junk.log"
expect_err "junk.log: not an ftvmm log"
end_case

run_case "record without --log is a usage error" 64 -- "$FTVMM" record "$G/hello.elf"
expect_err "--log FILE is required"
end_case
