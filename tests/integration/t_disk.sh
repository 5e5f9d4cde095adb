# shellcheck shell=bash
# The virtio-blk disk: the disk workload on ftvmm and on QEMU microvm with
# the same image and a disk file made the same way, the same lines and the
# same bytes on disk; every record the guest called durable checked in the
# file afterwards; and disk files that are missing, read-only, too small
# for the guest's records, or of an odd size.

DISK_DIR=$WORK/disk
mkdir -p "$DISK_DIR"
DISK_VERIFY=$BUILD/disk-verify
DISK_ARGS="records=48 flush_every=16 depth=8 seed=7"

fresh_disk() { # FILE SIZE
        rm -f "$1"
        truncate -s "$2" "$1"
}

expect_verified() { # DISK TRANSCRIPT
        "$DISK_VERIFY" --transcript "$2" "$1" >"$WORK/verify" 2>&1 ||
                note "disk-verify: $(cat "$WORK/verify")"
}

fresh_disk "$DISK_DIR/ftvmm.img" 4M
run_case "disk: records written, flushed, read back and verified on ftvmm" 0 -- \
        "$FTVMM" run --disk "$DISK_DIR/ftvmm.img" --cmdline "$DISK_ARGS" "$G/disk.elf"
expect_out "^disk capacity=8192 readonly=0 id=ftvmm-disk$"
expect_lines "^disk durable=(16|32|48)$" 3
expect_out "^disk records=48 record_size=4096 flush_every=16 verified=48 errors=0 elapsed_us=[0-9]+$"
expect_verified "$DISK_DIR/ftvmm.img" "$WORK/out"
cp "$WORK/out" "$WORK/disk-ftvmm.out"
end_case

begin_case "disk: the verifier finds a damaged durable record"
cp "$DISK_DIR/ftvmm.img" "$DISK_DIR/damaged.img"
printf 'X' | dd of="$DISK_DIR/damaged.img" bs=1 seek=$((47 * 4096 + 100)) conv=notrunc 2>/dev/null
if "$DISK_VERIFY" --transcript "$WORK/disk-ftvmm.out" "$DISK_DIR/damaged.img" >"$WORK/verify" 2>&1; then
        note "a damaged record 47 passed"
fi
grep -q "record 47 of 48" "$WORK/verify" || note "verifier output: $(cat "$WORK/verify")"
end_case

if [[ -w /dev/kvm ]]; then
        fresh_disk "$DISK_DIR/qemu.img" 4M
        run_case "qemu microvm: the same disk workload, exits 1 ((0 << 1) | 1)" 1 -- \
                scripts/qemu-microvm --disk "$DISK_DIR/qemu.img" "$G/disk.elf" "$DISK_ARGS"
        expect_verified "$DISK_DIR/qemu.img" "$WORK/out"
        if ! diff <(normalise "$WORK/disk-ftvmm.out") <(normalise "$WORK/out") >"$WORK/diff"; then
                note "outputs differ:"
                sed 's/^/    /' "$WORK/diff" >&2
        fi
        cmp -s "$DISK_DIR/qemu.img" "$DISK_DIR/ftvmm.img" || note "the disk files differ"
        end_case
fi

run_case "disk: a missing file is refused in one line" 66 -- \
        "$FTVMM" run --disk "$DISK_DIR/none.img" "$G/disk.elf"
expect_err "none.img: No such file"
expect_one_line_error
end_case

run_case "disk: an unknown --disk option" 64 -- \
        "$FTVMM" run --disk "$DISK_DIR/ftvmm.img,rw" "$G/disk.elf"
expect_err "unknown option 'rw'"
end_case

printf 'x' >"$DISK_DIR/tiny.img"
run_case "disk: a file smaller than a sector is refused" 66 -- \
        "$FTVMM" run --disk "$DISK_DIR/tiny.img" "$G/disk.elf"
expect_err "less than one 512-byte sector"
end_case

cp "$DISK_DIR/ftvmm.img" "$DISK_DIR/readonly.img"
run_case "disk: a read-only disk fails the guest's writes, not the VMM" 1 -- \
        "$FTVMM" run --disk "$DISK_DIR/readonly.img,readonly" --cmdline "records=4" "$G/disk.elf"
expect_out "^disk capacity=8192 readonly=1 id=ftvmm-disk$"
expect_out "^disk: write of record 0 failed \(status 1\)$"
cmp -s "$DISK_DIR/readonly.img" "$DISK_DIR/ftvmm.img" || note "a read-only disk was changed"
end_case

fresh_disk "$DISK_DIR/small.img" 64K
run_case "disk: a disk too small for the records the guest wants" 2 -- \
        "$FTVMM" run --disk "$DISK_DIR/small.img" --cmdline "records=64" "$G/disk.elf"
expect_out "need 512 sectors; the disk has 128"
end_case

fresh_disk "$DISK_DIR/odd.img" $((1024 * 1024 + 100))
run_case "disk: a file of an odd size gives whole sectors" 0 -- \
        "$FTVMM" run --disk "$DISK_DIR/odd.img" --cmdline "records=8 flush_every=4" "$G/disk.elf"
expect_err "not a whole number of sectors; the guest sees 2048 sectors"
expect_out "^disk capacity=2048 "
end_case

run_case "disk: the disk workload without a disk says so" 2 -- "$FTVMM" run "$G/disk.elf"
expect_out "^disk: no disk"
end_case

fresh_disk "$DISK_DIR/bench.img" 8M
run_case "disk: the benchmark mode runs" 0 -- \
        "$FTVMM" run --disk "$DISK_DIR/bench.img" \
        --cmdline "mode=bench ops=40 lat_ops=10 depth=4 span_mb=4 seq_mb=1" "$G/disk.elf"
expect_lines "^disk bench (randwrite|randread) ops=40 depth=4 elapsed_us=[0-9]+$" 2
expect_lines "^disk bench (randwrite|randread)_lat ops=10 p50_us=[0-9]+ p99_us=[0-9]+$" 2
expect_lines "^disk bench (seqwrite|seqread) bytes=1048576 elapsed_us=[0-9]+$" 2
end_case

# P7 without a failover: every third batch of completions, everything
# outstanding is first completed as uncertain (an I/O error), as a promoted
# backup does; the guest's driver must reissue each one and the run must
# print what a plain run prints.
fresh_disk "$DISK_DIR/uncertain.img" 4M
run_case "disk: requests completed as uncertain (P7) are reissued by the guest" 0 -- \
        env FTVMM_TEST_UNCERTAIN_EVERY=3 "$FTVMM" run --stats --disk "$DISK_DIR/uncertain.img" \
        --cmdline "$DISK_ARGS" "$G/disk.elf"
if ! diff <(normalise "$WORK/disk-ftvmm.out") <(normalise "$WORK/out") >"$WORK/diff"; then
        note "output differs from a plain run:"
        sed 's/^/    /' "$WORK/diff" >&2
fi
expect_err "completed \([0-9]+ with an error, [1-9][0-9]* uncertain\)"
expect_verified "$DISK_DIR/uncertain.img" "$WORK/out"
end_case

# Record and replay with a disk: each completion is logged with the bytes a
# read returned, so the replay needs the log alone. The disk file is
# removed before the replay, which must still print the same lines and
# verify every epoch.
fresh_disk "$DISK_DIR/recorded.img" 4M
run_case "disk: record with a disk" 0 -- \
        "$FTVMM" record --log "$WORK/disk.log" --disk "$DISK_DIR/recorded.img" --cmdline "$DISK_ARGS" "$G/disk.elf"
expect_err "^record: [0-9]+ epochs"
expect_verified "$DISK_DIR/recorded.img" "$WORK/out"
cp "$WORK/out" "$WORK/disk.recorded"
end_case
rm -f "$DISK_DIR/recorded.img"
run_case "disk: replay without the disk file: identical output, every epoch verified" 0 -- \
        "$FTVMM" replay "$WORK/disk.log"
expect_out "^replay: identical, [0-9]+ epochs"
head -n -1 "$WORK/out" | cmp -s - "$WORK/disk.recorded" ||
        note "replayed console output differs from the recorded one"
[[ -e $DISK_DIR/recorded.img ]] && note "the replay created the disk file"
end_case

run_case "disk: replay takes no --disk (the log holds it)" 64 -- \
        "$FTVMM" replay --disk "$DISK_DIR/ftvmm.img" "$WORK/disk.log"
expect_err "--disk"
end_case

# The shared disk across a failover: the drill's clock disk workload three
# times over a link 300 ms slow (what is on its way is lost with the
# primary), the primary killed, frozen past the failure timeout and
# resumed, killed, at seeded moments (often with requests in flight, which
# the new primary reissues, P7); the transcript checked (a resumed primary
# printing after its successor included), every record it calls durable
# found intact in the file, and none there that it never wrote.
begin_case "the failover drill with a shared disk: 3 seeded runs, one a frozen primary"
set +e
env BUILD="$BUILD" DRILL_DISK_RECORDS=120 scripts/failover-drill --workload disk --failure mixed \
        --slow-link 300 --runs 3 --seed "$SEED" 2>&1 | tee "$WORK/out" | sed 's/^/    /'
status=${PIPESTATUS[0]}
set -e
[[ $status -eq 0 ]] || note "the drill exited $status"
expect_out "^drill: 3 runs, 3 passed"
expect_lines "primary frozen" 1
end_case

# The soak, short: a pair runs the clock disk workload (interrupt-driven
# completions, writes and a flush in flight, computation between requests)
# to its end and its backup replays every epoch identically.
begin_case "the pair soak: a backup replays interrupt-driven disk traffic identically"
set +e
env BUILD="$BUILD" scripts/pair-soak --runs 1 --records 150 --seed "$SEED" 2>&1 | tee "$WORK/out" | sed 's/^/    /'
status=${PIPESTATUS[0]}
set -e
[[ $status -eq 0 ]] || note "the soak exited $status"
expect_out "^soak: 1 runs, 1 passed"
end_case

# A backup must name the primary's disk: without --disk it cannot hold the
# primary's machine, and says so in one line instead of joining.
fresh_disk "$DISK_DIR/pair.img" 4M
disk_port=$((47000 + SEED % 1000))
mkdir -p "$WORK/disk-arbiter"
"$FTVMM" launch --role primary --listen "127.0.0.1:$disk_port" --arbiter "$WORK/disk-arbiter" --no-wait \
        --disk "$DISK_DIR/pair.img" --cmdline "records=16 flush_every=4 pause_ms=200" "$G/disk.elf" \
        >"$WORK/disk-p.out" 2>"$WORK/disk-p.err" &
disk_primary=$!
sleep 0.5
run_case "disk: a backup without the primary's disk is refused" 78 -- \
        "$FTVMM" launch --role backup --connect "127.0.0.1:$disk_port" --arbiter "$WORK/disk-arbiter"
expect_err "the primary has a disk of 8192 sectors and this replica none \(give it the same disk with --disk\)"
expect_one_line_error
# The primary goes on alone and finishes its guest.
if timeout 60 tail --pid="$disk_primary" -f /dev/null; then
        wait "$disk_primary" || note "the primary exited $?: $(tail -n 2 "$WORK/disk-p.err" | tr '\n' ' ')"
else
        kill -9 "$disk_primary" 2>/dev/null || true
        note "the primary did not finish within 60 s: $(tail -n 3 "$WORK/disk-p.err" | tr '\n' ' ')"
fi
n=$(grep -Ec '^disk durable=(4|8|12|16)$' "$WORK/disk-p.out" || true)
[[ $n -eq 4 ]] || note "the primary printed $n of its 4 durable lines"
end_case
