# shellcheck shell=bash
# The replicated pair (ftvmm launch): a normal run, status, a bounded
# failover drill, and faults beyond a clean kill: a frozen primary, a dead
# backup, a partition, and a damaged channel. In every case the transcript
# the outside world saw must be the guest's whole output, once, in order
# (scripts/transcript-check), and exactly one replica may go on.

PAIR_ARGS="lines=30 period_ms=40"
# Both replicas share one machine here; in the nested harness the host
# stalls it now and then for over half a second (seen), which must not pass
# for a failure. Kills are seen at once anyway (the connection closes).
if [[ -n ${FTVMM_NESTED:-} ]]; then
        PAIR_TIMING=(--heartbeat 300 --failure-timeout 1500)
else
        PAIR_TIMING=(--heartbeat 100 --failure-timeout 500)
fi
pair_port=$((40000 + SEED % 10000))
"$FTVMM" run --cmdline "$PAIR_ARGS" "$G/counter.elf" >"$WORK/pair.ref"
# For cases that look at the pair while it runs: 4 s, so that three status
# calls in the emulated host fit before the guest ends (1.2 s did not, once).
PAIR_LONG_ARGS="lines=100 period_ms=40"
"$FTVMM" run --cmdline "$PAIR_LONG_ARGS" "$G/counter.elf" >"$WORK/pair-long.ref"

# start_pair [PRIMARY_OPTION]...: a primary on a fresh port and arbiter,
# and a backup following it (through $via_port if set).
start_primary() {
        pair_port=$((pair_port + 1))
        arb=$WORK/arbiter-$pair_port
        mkdir -p "$arb"
        rm -f "$WORK"/p.* "$WORK"/b.*
        "$FTVMM" launch --role primary --listen "127.0.0.1:$pair_port" --arbiter "$arb" --name primary \
                "${PAIR_TIMING[@]}" "$@" --cmdline "$PAIR_ARGS" "$G/counter.elf" >"$WORK/p.out" 2>"$WORK/p.err" &
        primary=$!
}
start_backup() {
        "$FTVMM" launch --role backup --connect "127.0.0.1:${via_port:-$pair_port}" --arbiter "$arb" \
                --name backup "${PAIR_TIMING[@]}" "$@" >"$WORK/b.out" 2>"$WORK/b.err" &
        backup=$!
}
wait_for() { # FILE PATTERN [SECONDS]: notes it if the pattern never shows
        local i
        for ((i = 0; i < ${3:-30} * 20; i++)); do
                grep -Eq "$2" "$1" 2>/dev/null && return 0
                sleep 0.05
        done
        note "$(basename "$1") never said /$2/"
}
wait_exit() { # PID: sets exit_status (124 if it had to be killed)
        if timeout 60 tail --pid="$1" -f /dev/null; then
                wait "$1" && exit_status=0 || exit_status=$?
        else
                kill -9 "$1" 2>/dev/null || true
                wait "$1" 2>/dev/null || true
                exit_status=124
        fi
}
lines_of() { grep -c '^counter' "$1" 2>/dev/null || true; }
expect_transcript() {
        local verdict
        verdict=$(scripts/transcript-check "$WORK/p.out" "$WORK/b.out" "$WORK/b.err" "$WORK/pair.ref") ||
                note "transcript: $verdict"
}
show_events() {
        { grep -hE 'lost|won|promoted|stop|fenced|taken' "$WORK/p.err" "$WORK/b.err" || true; } |
                sed -E 's/ \[t=[0-9.]+\]//; s/^/    /'
}

begin_case "a pair runs counter to its end: the primary prints it all, the backup nothing"
PAIR_ARGS_SAVED=$PAIR_ARGS
PAIR_ARGS=$PAIR_LONG_ARGS
start_primary --control "$WORK/p.sock"
start_backup --control "$WORK/b.sock"
wait_for "$WORK/p.err" "the backup joined"
if [[ $case_ok -eq 1 ]]; then
        "$FTVMM" status "$WORK/p.sock" >"$WORK/status.txt" 2>&1 || note "status of the primary failed"
        grep -q '^role: primary$' "$WORK/status.txt" && grep -q '^protection: protected$' "$WORK/status.txt" ||
                note "the primary's status: $(tr '\n' ' ' <"$WORK/status.txt")"
        wait_for "$WORK/b.err" "executing"
        "$FTVMM" status --json "$WORK/b.sock" | grep -q '"role":"backup","protection":"following","generation":1' ||
                note "the backup's status: $("$FTVMM" status --json "$WORK/b.sock")"
        "$FTVMM" status --metrics "$WORK/p.sock" | grep -qx 'ftvmm_protected 1' || note "no ftvmm_protected 1 metric"
fi
wait_exit "$primary"; p_status=$exit_status
wait_exit "$backup"; b_status=$exit_status
[[ $p_status -eq 0 && $b_status -eq 0 ]] || note "exit statuses: primary $p_status, backup $b_status"
cmp -s "$WORK/p.out" "$WORK/pair-long.ref" || diff <(normalise "$WORK/p.out") <(normalise "$WORK/pair-long.ref") >/dev/null ||
        note "the primary's output differs from an unreplicated run"
[[ ! -s $WORK/b.out ]] || note "the backup printed while the primary was alive"
PAIR_ARGS=$PAIR_ARGS_SAVED
end_case

# A guest computing without exits, with the backup held to 100 ms of lag:
# the backup advances by whole (checkpoint) epochs, and the primary must
# not hold the guest for an epoch end it has not sent yet (a deadlock once).
begin_case "a CPU-bound guest with --max-lag 100 runs to its end under a pair"
"$FTVMM" run --cmdline "rounds=20" "$G/cpu.elf" >"$WORK/cpu.ref"
pair_port=$((pair_port + 1))
arb=$WORK/arbiter-$pair_port
mkdir -p "$arb"
rm -f "$WORK"/p.* "$WORK"/b.*
"$FTVMM" launch --role primary --listen "127.0.0.1:$pair_port" --arbiter "$arb" "${PAIR_TIMING[@]}" \
        --max-lag 100 --stats --cmdline "rounds=20" "$G/cpu.elf" >"$WORK/p.out" 2>"$WORK/p.err" &
primary=$!
start_backup
wait_exit "$primary"; p_status=$exit_status
wait_exit "$backup"; b_status=$exit_status
[[ $p_status -eq 0 && $b_status -eq 0 ]] || note "exit statuses: primary $p_status, backup $b_status"
diff -q <(normalise "$WORK/p.out") <(normalise "$WORK/cpu.ref") >/dev/null || note "the primary's output differs from an unreplicated run"
grep -q "backups joined 1, lost 0" "$WORK/p.err" || note "the backup was lost: $(grep -h 'lost' "$WORK/p.err" | head -1)"
grep -Eo 'guest held [0-9.]+ ms by --max-lag' "$WORK/p.err" | sed 's/^/    /' || true
end_case

# Printed as it goes: the nested harness takes a silent VM for a frozen one.
begin_case "the failover drill: 3 seeded runs, primary killed with SIGKILL"
set +e
env BUILD="$BUILD" scripts/failover-drill --runs 3 --seed "$SEED" 2>&1 | tee "$WORK/out" | sed 's/^/    /'
status=${PIPESTATUS[0]}
set -e
[[ $status -eq 0 ]] || note "the drill exited $status"
expect_out "^drill: 3 runs, 3 passed"
end_case

# A pair is a pair: a backup that names another arbiter directory, another
# guest or another RAM size refuses the primary in one line (78), and never
# goes live; the primary finishes alone. Two replicas with different
# arbiter directories could otherwise both win a "next generation".
refused_backup() { # CASE PATTERN BACKUP_OPTION...
        local name=$1 pattern=$2
        shift 2
        begin_case "$name"
        start_primary --no-wait
        wait_for "$WORK/p.err" "holds generation 1"
        "$FTVMM" launch --role backup --connect "127.0.0.1:$pair_port" --name backup "${PAIR_TIMING[@]}" \
                "$@" >"$WORK/b.out" 2>"$WORK/b.err"
        b_status=$?
        [[ $b_status -eq 78 ]] || note "the backup exited $b_status, not 78"
        grep -Eq "$pattern" "$WORK/b.err" || note "the backup said: $(tr '\n' ' ' <"$WORK/b.err")"
        [[ $(grep -c . "$WORK/b.err") -eq 1 ]] || note "the refusal is not one line: $(tr '\n' ' ' <"$WORK/b.err")"
        [[ ! -s $WORK/b.out ]] || note "the refused backup printed"
        wait_exit "$primary"
        [[ $exit_status -eq 0 ]] || note "the primary exited $exit_status"
        diff -q <(normalise "$WORK/p.out") <(normalise "$WORK/pair.ref") >/dev/null || note "the primary's output differs"
        end_case
}
mkdir -p "$WORK/other-arbiter"
set +e
refused_backup "a backup with another arbiter directory refuses the primary" \
        "arbiter-id .*both replicas must name the same arbiter" --arbiter "$WORK/other-arbiter"
refused_backup "a backup given another guest image refuses the primary" \
        "runs another guest" --arbiter "$WORK/arbiter-$((pair_port + 1))" "$G/hello.elf"
refused_backup "a backup given another RAM size refuses the primary" \
        "128 MiB of RAM, this replica was given 256 MiB" --arbiter "$WORK/arbiter-$((pair_port + 1))" --mem 256M
set -e

begin_case "a primary frozen past the failure timeout is fenced when it resumes"
start_primary
start_backup
wait_for "$WORK/p.out" "seq=5"
kill -STOP "$primary" 2>/dev/null || note "the primary was gone before it could be frozen"
sleep 0.3
frozen_at=$(stat -c %s "$WORK/p.out")
wait_for "$WORK/b.err" "promoted"
kill -CONT "$primary" 2>/dev/null || true
wait_exit "$primary"; p_status=$exit_status
wait_exit "$backup"; b_status=$exit_status
[[ $p_status -eq 75 && $b_status -eq 0 ]] || note "exit statuses: primary $p_status (75 expected), backup $b_status"
grep -Eq "generation 2 (was taken|is held) by backup" "$WORK/p.err" || note "the primary does not say it was fenced"
[[ $(stat -c %s "$WORK/p.out") -eq $frozen_at ]] ||
        note "the primary released output after it resumed ($frozen_at bytes before, $(stat -c %s "$WORK/p.out") after)"
expect_transcript
show_events
end_case

begin_case "a dead backup: the primary wins the arbiter and finishes alone"
start_primary
start_backup
wait_for "$WORK/p.out" "seq=5"
kill -9 "$backup" 2>/dev/null || note "the backup was gone before it could be killed"
wait_exit "$primary"; p_status=$exit_status
[[ $p_status -eq 0 ]] || note "the primary exited $p_status"
grep -q "won generation 2: running unprotected" "$WORK/p.err" || note "the primary does not say it runs unprotected"
: >"$WORK/b.out" >"$WORK/b.err"
expect_transcript
end_case

# A backup that dies and restarts joins the running primary again (with
# its whole machine), and then protects it: the primary killed after the
# rejoin is taken over by the new backup.
begin_case "a restarted backup rejoins the running primary and takes over when it dies"
PAIR_ARGS_SAVED=$PAIR_ARGS
PAIR_ARGS=$PAIR_LONG_ARGS
start_primary
start_backup
wait_for "$WORK/p.out" "seq=5"
kill -9 "$backup" 2>/dev/null || note "the backup was gone before it could be killed"
wait "$backup" 2>/dev/null || true
wait_for "$WORK/p.err" "running unprotected"
start_backup
wait_for "$WORK/p.err" "joined at position [1-9]"
wait_for "$WORK/p.out" "seq=25"
kill -9 "$primary" 2>/dev/null || note "the primary finished before it could be killed"
wait "$primary" 2>/dev/null || true
wait_exit "$backup"; b_status=$exit_status
[[ $b_status -eq 0 ]] || note "the second backup exited $b_status"
grep -q "promoted: primary of generation 3" "$WORK/b.err" || note "the second backup did not take over generation 3"
verdict=$(scripts/transcript-check "$WORK/p.out" "$WORK/b.out" "$WORK/b.err" "$WORK/pair-long.ref") ||
        note "transcript: $verdict"
PAIR_ARGS=$PAIR_ARGS_SAVED
show_events
end_case

# A partition between two network namespaces, the arbiter visible to both.
if [[ $(id -u) -eq 0 ]] && ip netns add ftvmm-a 2>/dev/null && ip netns add ftvmm-b; then
        begin_case "a partition: exactly one replica goes on"
        ip link add ftvmm-va type veth peer name ftvmm-vb
        ip link set ftvmm-va netns ftvmm-a
        ip link set ftvmm-vb netns ftvmm-b
        ip -n ftvmm-a addr add 10.77.0.1/24 dev ftvmm-va
        ip -n ftvmm-b addr add 10.77.0.2/24 dev ftvmm-vb
        ip -n ftvmm-a link set ftvmm-va up
        ip -n ftvmm-b link set ftvmm-vb up
        pair_port=$((pair_port + 1))
        arb=$WORK/arbiter-$pair_port
        mkdir -p "$arb"
        rm -f "$WORK"/p.* "$WORK"/b.*
        ip netns exec ftvmm-a "$FTVMM" launch --role primary --listen "10.77.0.1:$pair_port" --arbiter "$arb" \
                --name primary "${PAIR_TIMING[@]}" --cmdline "$PAIR_ARGS" "$G/counter.elf" >"$WORK/p.out" 2>"$WORK/p.err" &
        primary=$!
        ip netns exec ftvmm-b "$FTVMM" launch --role backup --connect "10.77.0.1:$pair_port" --arbiter "$arb" \
                --name backup "${PAIR_TIMING[@]}" >"$WORK/b.out" 2>"$WORK/b.err" &
        backup=$!
        wait_for "$WORK/p.out" "seq=5"
        ip -n ftvmm-a link set ftvmm-va down || note "the link could not be cut"
        wait_exit "$primary"; p_status=$exit_status
        wait_exit "$backup"; b_status=$exit_status
        if [[ $p_status -eq 0 && $b_status -eq 75 ]]; then
                : >"$WORK/b.out" >"$WORK/b.err" # the backup lost: only the primary's output counts
        elif ! [[ $p_status -eq 75 && $b_status -eq 0 ]]; then
                note "exit statuses: primary $p_status, backup $b_status (one 0 and one 75 expected)"
        fi
        expect_transcript
        show_events
        end_case
        ip netns del ftvmm-a
        ip netns del ftvmm-b
fi

# start_backup_through_mangler MODE AFTER: a backup whose stream from the
# primary passes tests/tools/channel_mangler.c; stop_mangler ends it.
start_backup_through_mangler() {
        via_port=$((pair_port + 5000))
        "$BUILD/channel-mangler" "$via_port" "$pair_port" "$1" "$2" 2>"$WORK/mangler.err" &
        mangler=$!
        sleep 0.2
        start_backup
        via_port=
}
stop_mangler() {
        kill "$mangler" 2>/dev/null || true
        wait "$mangler" 2>/dev/null || true
}

# A man in the middle damages the stream from the primary once, after its
# machine state (about 540 KB) has passed.
for fault in "garbage|corrupt record" "corrupt|corrupt" "reorder|sequence number" \
             "duplicate|sequence number" "truncate|closed the connection|Connection reset"; do
        mode=${fault%%|*} reason=${fault#*|}
        begin_case "a damaged channel ($mode): dropped as a failure, nothing damaged applied, one replica goes on"
        start_primary
        start_backup_through_mangler "$mode" 560000
        wait_exit "$primary"; p_status=$exit_status
        wait_exit "$backup"; b_status=$exit_status
        stop_mangler
        grep -q "channel-mangler: $mode" "$WORK/mangler.err" || note "the stream was never damaged"
        grep -Eq "$reason" "$WORK/b.err" "$WORK/p.err" || note "no message says /$reason/"
        if [[ $p_status -eq 0 && $b_status -eq 75 ]]; then
                : >"$WORK/b.out" >"$WORK/b.err"
        elif ! [[ $p_status -eq 75 && $b_status -eq 0 ]]; then
                note "exit statuses: primary $p_status, backup $b_status (one 0 and one 75 expected)"
        fi
        expect_transcript
        show_events
        end_case
done

# A backup joins a primary that has run alone for a while, and the stream
# stops right after the machine state: the backup goes live holding no
# clock value from the log, and guest time must continue from the machine
# state's clock (from zero, the guest would wait for the primary's next
# timer deadline: about the host's uptime). Without --max-lag the primary's
# guest ends before the primary finds its backup silent: fenced then, it
# must still exit 75, not with the guest's status.
begin_case "the stream stops right after a backup joined mid-run: it goes live from the machine state alone"
start_primary --no-wait --max-lag 0
wait_for "$WORK/p.out" "seq=3"
start_backup_through_mangler hold 1
wait_exit "$backup"; b_status=$exit_status
wait_exit "$primary"; p_status=$exit_status
stop_mangler
grep -q "channel-mangler: hold" "$WORK/mangler.err" || note "the stream was never held"
[[ $p_status -eq 75 && $b_status -eq 0 ]] ||
        note "exit statuses: primary $p_status, backup $b_status (75 and 0 expected)"
grep -q "promoted: primary of generation 2" "$WORK/b.err" || note "the backup was not promoted"
# The guest prints every 40 ms; a few seconds allow for an emulated host.
first_ms=$(sed -nE 's/.*first output as primary of generation 2, ([0-9]+)(\.[0-9]+)? ms after going live.*/\1/p' "$WORK/b.err")
[[ -n $first_ms && $first_ms -lt 5000 ]] ||
        note "the promoted backup's first output came ${first_ms:-never} ms after going live (under 5000 expected)"
expect_transcript
show_events
grep -h "first output" "$WORK/b.err" | sed -E 's/ \[t=[0-9.]+\]//; s/^/    /' || true
end_case

# A primary's own end stops its link without taking anything (a backup
# would take over from a primary whose run failed); only --timeout ends the
# guest for good, so that primary takes the next generation first and its
# backup stops instead of running the guest on.
begin_case "a primary stopped by --timeout ends the guest: it takes the next generation, the backup stops"
PAIR_ARGS_SAVED=$PAIR_ARGS
PAIR_ARGS=$PAIR_LONG_ARGS
start_primary --timeout 2
start_backup
PAIR_ARGS=$PAIR_ARGS_SAVED
wait_exit "$primary"; p_status=$exit_status
wait_exit "$backup"; b_status=$exit_status
[[ $p_status -eq 124 && $b_status -eq 75 ]] ||
        note "exit statuses: primary $p_status, backup $b_status (124 and 75 expected)"
grep -q "took generation 2 so that the backup does not run it on" "$WORK/p.err" ||
        note "the primary did not take generation 2"
[[ ! -s $WORK/b.out ]] || note "the backup printed $(lines_of "$WORK/b.out") line(s)"
show_events
end_case
