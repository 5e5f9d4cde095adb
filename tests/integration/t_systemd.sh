# shellcheck shell=bash
# The pair as systemd services, under a real systemd: two systemd-nspawn
# containers stand for the two machines. Each boots the host's own systemd
# on an overlay of the host's root (the host's enabled services left out),
# with ftvmm installed by `make install`, the same /etc/ftvmm/guest.conf, an
# arbiter directory both see, and /dev/kvm; a veth pair joins them. The
# backup's unit must be ready (sd_notify) only once it executes the
# primary's log; killed, it is restarted and rejoins; the primary's unit
# killed with SIGKILL is taken over by the backup's, which finishes the
# guest (the transcript checked as the drill checks it), and the primary's
# unit, restarted by systemd, finds the generation lost and exits 75, which
# the unit does not restart. journalctl's lines are the evidence.

SD_NAME=guest
SD_ARGS="lines=100 period_ms=150"
# As t_pair.sh: the nested harness stalls now and then for over half a
# second, which must not pass for a failure.
if [[ -n ${FTVMM_NESTED:-} ]]; then
        SD_HEARTBEAT_MS=300 SD_FAILURE_TIMEOUT_MS=1500
else
        SD_HEARTBEAT_MS=100 SD_FAILURE_TIMEOUT_MS=500
fi
sd_dir=$WORK/systemd
sd_ready=0
declare -A sd_nspawn=() sd_leader=()

# Why this host cannot run the test, or nothing.
sd_missing() {
        [[ $(id -u) -eq 0 ]] || { echo "not root"; return; }
        command -v systemd-nspawn >/dev/null || { echo "no systemd-nspawn (Debian package systemd-container)"; return; }
        command -v nsenter >/dev/null || { echo "no nsenter"; return; }
        grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null ||
                { echo "no overlay file system"; return; }
}

# sd_in a|b COMMAND...: runs COMMAND inside that container.
sd_in() {
        local m=$1
        shift
        SYSTEMD_COLORS=0 SYSTEMD_PAGER=cat nsenter -t "${sd_leader[$m]}" -m -u -i -n -p -C -r -w "$@"
}
sd_show() { # a|b UNIT PROPERTY: its value
        sd_in "$1" systemctl show -P "$3" "$2" 2>/dev/null || true
}
sd_journal() { # a|b UNIT: the unit's journal, one message a line
        sd_in "$1" journalctl --no-pager -o cat -u "$2" 2>/dev/null || true
}
# sd_wait SECONDS DESCRIPTION COMMAND...: polls COMMAND until it succeeds;
# notes it if it never does (and returns 0 all the same: set -e).
sd_wait() {
        local deadline=$((SECONDS + $1)) what=$2
        shift 2
        until "$@"; do
                if ((SECONDS >= deadline)); then
                        note "never: $what"
                        return 0
                fi
                sleep 0.2
        done
}
sd_state_is() { [[ $(sd_show "$1" "$2" ActiveState) == "$3" ]]; }
sd_restarts_reach() { [[ $(sd_show "$1" "$2" NRestarts) -ge $3 ]]; }
sd_console_has() { grep -Eq "$2" "$sd_dir/$1/root/var/log/ftvmm/console" 2>/dev/null; }
sd_journal_has() { sd_journal "$1" "$2" | grep -Eq "$3"; }
sd_evidence() { # a|b UNIT PATTERN: the unit's journal lines that match, indented
        sd_journal "$1" "$2" | { grep -E "$3" || true; } | sed -E "s/ \[t=[0-9.]+\]//; s/^/    $1: /"
}

# sd_stacks a|b UNIT: where each thread of the unit's main process waits
# (state, kernel wait channel, gdb's backtrace), for a replica that hangs.
sd_stacks() {
        local pid
        pid=$(sd_show "$1" "$2" MainPID)
        [[ -n $pid && $pid != 0 ]] || return 0
        { sd_in "$1" bash -s "$pid" <scripts/thread-dump | sed "s/^/    $1: /" | head -n 90; } || true
}

sd_stop() {
        local m p
        for m in "${!sd_nspawn[@]}"; do
                kill -TERM "${sd_nspawn[$m]}" 2>/dev/null || true # the container powers off
        done
        for m in "${!sd_nspawn[@]}"; do
                p=${sd_nspawn[$m]}
                timeout 30 tail --pid="$p" -f /dev/null || kill -KILL "$p" 2>/dev/null || true
                wait "$p" 2>/dev/null || true
        done
        sd_nspawn=()
        for m in a b; do
                ip link del "ftvmm-sd-$m" 2>/dev/null || true
                umount "$sd_dir/$m/root" 2>/dev/null || true
        done
        umount "$sd_dir" 2>/dev/null || true
}

# One container: an overlay on the host's root (the lower layer is never
# written), with only ftvmm's units enabled.
sd_prepare() {
        local m=$1 root=$sd_dir/$1/root
        mkdir -p "$sd_dir/$m/upper" "$sd_dir/$m/work" "$root"
        mount -t overlay -o "lowerdir=/,upperdir=$sd_dir/$m/upper,workdir=$sd_dir/$m/work" "ftvmm-sd-$m" "$root" ||
                return 1
        rm -rf "$root/etc/systemd/system"
        mkdir -p "$root/etc/systemd/system" "$root/var/lib/ftvmm/arbiter" "$root/var/log/ftvmm"
        cp -a "$sd_dir/stage/." "$root/"
        echo "ftvmm-$m" >"$root/etc/hostname" # names the replicas: %H-guest-primary
        sed -e "s|^IMAGE=.*|IMAGE=/usr/local/share/ftvmm/guests/counter.elf|" \
            -e "s|^CMDLINE=.*|CMDLINE=\"$SD_ARGS\"|" \
            -e "s|^LISTEN=.*|LISTEN=0.0.0.0:7700|" \
            -e "s|^CONNECT=.*|CONNECT=10.77.1.1:7700|" \
            -e "s|^ARBITER=.*|ARBITER=/var/lib/ftvmm/arbiter|" \
            -e "s|^HEARTBEAT_MS=.*|HEARTBEAT_MS=$SD_HEARTBEAT_MS|" \
            -e "s|^FAILURE_TIMEOUT_MS=.*|FAILURE_TIMEOUT_MS=$SD_FAILURE_TIMEOUT_MS|" \
            "$root/etc/ftvmm/example.conf" >"$root/etc/ftvmm/$SD_NAME.conf"
        # What the outside world sees of each machine's guest: its console
        # in a file, appended to across restarts; the events stay in the
        # journal.
        local unit
        for unit in ftvmm-primary@$SD_NAME ftvmm-backup@$SD_NAME; do
                mkdir -p "$root/etc/systemd/system/$unit.service.d"
                printf '[Service]\nStandardOutput=append:/var/log/ftvmm/console\nStandardError=journal\n' \
                        >"$root/etc/systemd/system/$unit.service.d/console.conf"
        done
}

# Boots container a or b; sets sd_nspawn[$1].
sd_boot() {
        local m=$1 scope=(--keep-unit)
        # Under a host's systemd nspawn gets a scope of its own, which must
        # allow /dev/kvm; the nested harness has no systemd (busybox init).
        [[ -d /run/systemd/system ]] && scope=(--property="DeviceAllow=/dev/kvm rw")
        systemd-nspawn --quiet --boot --console=passive --register=no "${scope[@]}" --link-journal=no \
                --directory="$sd_dir/$m/root" --machine="ftvmm-sd-$m" --private-network \
                --bind=/dev/kvm --bind="$sd_dir/arbiter:/var/lib/ftvmm/arbiter" \
                >"$sd_dir/nspawn-$m.log" 2>&1 &
        sd_nspawn[$m]=$!
}

# The container's PID 1, as this host sees it: the child of nspawn that is
# PID 1 in its own PID namespace.
sd_find_leader() {
        local m=$1 p
        for p in $(pgrep -P "${sd_nspawn[$m]}" 2>/dev/null); do
                if grep -Eq '^NSpid:\s+[0-9]+\s+1$' "/proc/$p/status" 2>/dev/null &&
                   [[ $(cat "/proc/$p/comm" 2>/dev/null) == systemd ]]; then
                        sd_leader[$m]=$p
                        return 0
                fi
        done
        return 1
}

sd_booted() {
        local st
        st=$(sd_in "$1" systemctl is-system-running 2>/dev/null || true)
        [[ $st == running || $st == degraded ]]
}

# Inside the nested harness everything it needs is there, so a missing
# piece is a failure; on a host of one's own it may be skipped, and says so.
sd_why=$(sd_missing)
if [[ -n $sd_why && -z ${FTVMM_NESTED:-} ]]; then
        echo "skip systemd: $sd_why"
else
begin_case "systemd: two containers boot the host's systemd with ftvmm installed by make install"
if [[ -n $sd_why ]]; then
        note "cannot run: $sd_why"
else
        sd_t0=$SECONDS
        # lib.sh's trap, with the containers stopped and unmounted first.
        trap 'sd_stop; rm -rf "$WORK"' EXIT
        mkdir -p "$sd_dir"
        # A file system of its own for the containers' writable layers:
        # overlayfs refuses an upper layer on the lower layer's file system.
        if ! mount -t tmpfs -o size=512m ftvmm-sd "$sd_dir"; then
                note "cannot mount a tmpfs on $sd_dir"
        elif ! make --no-print-directory install BUILD="$BUILD" DESTDIR="$sd_dir/stage" PREFIX=/usr/local \
                        >"$WORK/out" 2>"$WORK/err"; then
                note "make install failed"
        else
                mkdir -p "$sd_dir/arbiter"
                grep -qs '^[^ ]* /sys/fs/cgroup cgroup2 ' /proc/mounts || mount -t cgroup2 cgroup2 /sys/fs/cgroup ||
                        note "cannot mount cgroup2 on /sys/fs/cgroup"
                ip link del ftvmm-sd-a 2>/dev/null || true
                ip link add ftvmm-sd-a type veth peer name ftvmm-sd-b || note "cannot make a veth pair"
                for m in a b; do
                        sd_prepare "$m" || note "cannot make container $m's root"
                done
                if [[ $case_ok -eq 1 ]]; then
                        sd_boot a
                        sd_boot b
                        for m in a b; do
                                sd_wait 60 "container $m started" sd_find_leader "$m"
                                if [[ -n ${sd_leader[$m]:-} ]]; then
                                        sd_wait 90 "container $m finished booting" sd_booted "$m"
                                else
                                        sed "s/^/    nspawn $m: /" "$sd_dir/nspawn-$m.log" | tail -n 5
                                fi
                        done
                fi
                # Moved in by hand: nspawn's --network-interface wants udev
                # to have seen the interface, and the nested harness has no
                # udev ("Network interface ... is not initialized yet").
                if [[ $case_ok -eq 1 ]]; then
                        ip link set ftvmm-sd-a netns "${sd_leader[a]}" &&
                        ip link set ftvmm-sd-b netns "${sd_leader[b]}" &&
                        sd_in a ip addr add 10.77.1.1/24 dev ftvmm-sd-a &&
                        sd_in a ip link set ftvmm-sd-a up &&
                        sd_in b ip addr add 10.77.1.2/24 dev ftvmm-sd-b &&
                        sd_in b ip link set ftvmm-sd-b up || note "cannot configure the veth pair"
                        sd_in a test -c /dev/kvm || note "no /dev/kvm in the container"
                        sd_in a systemctl cat "ftvmm-primary@$SD_NAME.service" >"$WORK/out" 2>&1 || true
                        grep -q '^ExecStart=/usr/local/bin/ftvmm launch --role primary' "$WORK/out" ||
                                note "the installed primary unit is not the one systemd loads: $(head -n 3 "$WORK/out" | tr '\n' '|')"
                        echo "    both containers running in $((SECONDS - sd_t0)) s"
                fi
        fi
        sd_ready=$case_ok
fi
end_case
fi

if [[ $sd_ready -eq 1 ]]; then
        "$FTVMM" run --cmdline "$SD_ARGS" "$G/counter.elf" >"$WORK/systemd.ref"
        P=ftvmm-primary@$SD_NAME.service
        B=ftvmm-backup@$SD_NAME.service

        begin_case "systemd: the backup's unit is ready (sd_notify) only once it executes the primary's log"
        sd_in a systemctl start --no-block "$P" || note "systemctl start $P failed"
        sd_in b systemctl start --no-block "$B" || note "systemctl start $B failed"
        sd_wait 60 "$B active" sd_state_is b "$B" active
        sd_wait 20 "$P active" sd_state_is a "$P" active
        # systemd says "Started" when READY=1 arrives: after the backup
        # began to execute the log, never before.
        sd_journal b "$B" | grep -E "executing the primary's log|^Started " >"$WORK/out" || true
        [[ $(head -n 1 "$WORK/out") == *"executing the primary's log"* ]] ||
                note "the backup's unit was started before it executed the primary's log: $(tr '\n' '|' <"$WORK/out")"
        sd_status=$(sd_show b "$B" StatusText)
        [[ $sd_status == "backup: in sync with the primary" ]] || note "the backup's unit says '$sd_status'"
        [[ $(sd_show a "$P" TimeoutStartUSec) == infinity ]] ||
                note "the primary's unit would be killed after $(sd_show a "$P" TimeoutStartUSec) without a backup"
        sd_status=$(sd_show a "$P" StatusText)
        [[ $sd_status == primary:* ]] || note "the primary's unit says '$sd_status'"
        echo "    a: StatusText=$sd_status"
        echo "    b: StatusText=$(sd_show b "$B" StatusText)"
        sd_evidence a "$P" "holds generation|joined|^Started "
        sd_evidence b "$B" "connected|executing|^Started "
        end_case

        begin_case "systemd: the backup's unit killed with SIGKILL is restarted and rejoins the running primary"
        sd_in b systemctl kill --kill-whom=main --signal=SIGKILL "$B" || note "systemctl kill $B failed"
        sd_wait 30 "$B restarted" sd_restarts_reach b "$B" 1
        sd_wait 60 "$B active again" sd_state_is b "$B" active
        sd_wait 30 "the primary took the rejoined backup" sd_journal_has a "$P" "joined at position [1-9]"
        sd_journal_has a "$P" "won generation 2: running unprotected" || note "the primary did not take generation 2 alone"
        sd_evidence a "$P" "lost the backup|won generation|joined at position [1-9]"
        sd_evidence b "$B" "Main process exited|Scheduled restart|^Started "
        end_case

        begin_case "systemd: the primary's unit killed with SIGKILL: the backup's unit takes over and finishes the guest"
        sd_wait 60 "the guest printed seq=45 on the primary" sd_console_has a "seq=45"
        sd_in a systemctl kill --kill-whom=main --signal=SIGKILL "$P" || note "systemctl kill $P failed"
        sd_wait 60 "$B finished" sd_state_is b "$B" inactive
        if [[ $(sd_show b "$B" ActiveState) == active ]]; then
                sd_journal b "$B" | tail -n 15 | sed "s/^/    b: /" || true
                sd_stacks b "$B"
        fi
        [[ $(sd_show b "$B" Result) == success && $(sd_show b "$B" ExecMainStatus) == 0 ]] ||
                note "$B: result $(sd_show b "$B" Result), status $(sd_show b "$B" ExecMainStatus)"
        sd_journal_has b "$B" "promoted: primary of generation 3" || note "the backup did not take generation 3"
        sd_journal b "$B" >"$WORK/systemd-b.err"
        verdict=$(scripts/transcript-check "$sd_dir/a/root/var/log/ftvmm/console" \
                  "$sd_dir/b/root/var/log/ftvmm/console" "$WORK/systemd-b.err" "$WORK/systemd.ref") ||
                note "transcript: $verdict"
        sd_evidence a "$P" "Main process exited, code=killed"
        sd_evidence b "$B" "lost|won generation|promoted|Deactivated|Succeeded"
        end_case

        begin_case "systemd: the restarted primary's unit finds the generation lost and exits 75, not restarted"
        sd_wait 30 "$P restarted" sd_restarts_reach a "$P" 1
        sd_wait 60 "$P failed" sd_state_is a "$P" failed
        sleep 3 # longer than RestartSec: a restart would have begun
        [[ $(sd_show a "$P" ExecMainStatus) == 75 ]] || note "$P exited $(sd_show a "$P" ExecMainStatus), not 75"
        [[ $(sd_show a "$P" NRestarts) == 1 && $(sd_show a "$P" ActiveState) == failed ]] ||
                note "$P: $(sd_show a "$P" NRestarts) restarts, $(sd_show a "$P" ActiveState) (1 restart, failed expected)"
        ls "$sd_dir/arbiter" | grep '^generation-' >"$WORK/out" || true
        [[ $(tr '\n' ' ' <"$WORK/out") == "generation-1 generation-2 generation-3 " ]] ||
                note "the arbiter holds: $(tr '\n' ' ' <"$WORK/out")"
        sd_evidence a "$P" "Scheduled restart|generation|Main process exited|Failed with result"
        end_case
fi
sd_stop
trap 'rm -rf "$WORK"' EXIT
[[ -z ${sd_t0:-} ]] || echo "    systemd: $((SECONDS - sd_t0)) s in all"
