# shellcheck shell=bash
# What scripts/nested/run (one host VM) and scripts/nested/pair (two host
# VMs on a private network) share: the Debian packages they need, Debian's
# kernel, the initramfs, the accelerator, QEMU's command line and the relay
# of a VM's console. Sourced; sets nested_dir, nested_repo and nested_cache.
# Messages start with "$nested_me: " (default "nested").

nested_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
nested_repo=$(cd "$nested_dir/../.." && pwd)
nested_cache=$nested_repo/build/nested
nested_me=${nested_me:-nested}
# overlay is for the systemd test's containers; virtio_net (with failover
# and net_failover, which it needs) is for the pair's private network; a VM
# without a NIC loads it and finds nothing.
nested_modules=(virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci
                netfs fscache 9pnet 9pnet_virtio 9p irqbypass ccp kvm kvm-amd veth overlay
                failover net_failover virtio_net)

nested_need_package() {
        dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed" && return
        [[ $(id -u) -eq 0 ]] || { echo "$nested_me: Debian package $1 is missing; apt-get install $1" >&2; exit 69; }
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$1" >/dev/null
}

# Debian's kernel, unpacked but never installed on the host.
nested_fetch_kernel() {
        [[ -f $nested_cache/kernel.ready ]] && return
        mkdir -p "$nested_cache"
        local pkg
        pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/{print $2; exit}')
        if [[ -z $pkg ]]; then
                apt-get update -qq
                pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/{print $2; exit}')
        fi
        echo "$nested_me: fetching $pkg (once)" >&2
        rm -rf "$nested_cache/kernel" "$nested_cache"/*.deb
        (cd "$nested_cache" && apt-get download "$pkg" >/dev/null 2>&1) || { echo "$nested_me: apt-get download $pkg failed" >&2; exit 69; }
        dpkg -x "$nested_cache"/"$pkg"_*.deb "$nested_cache/kernel"
        rm -f "$nested_cache"/*.deb
        touch "$nested_cache/kernel.ready"
}

# Built beside the target and renamed into place, so that a VM booting
# meanwhile (run and pair share it) never reads half an initramfs.
nested_build_initramfs() {
        local root=$nested_cache/initramfs kdir m f
        kdir=$(echo "$nested_cache"/kernel/lib/modules/*)
        rm -rf "$root"
        mkdir -p "$root"/{bin,proc,dev,modules}
        cp /bin/busybox "$root/bin/busybox"
        for m in "${nested_modules[@]}"; do
                f=$(find "$kdir/kernel" -name "$m.ko" -o -name "$m.ko.xz" | head -n 1)
                [[ -n $f ]] || { echo "$nested_me: module $m not in the kernel package" >&2; exit 69; }
                case $f in *.xz) xz -dc "$f" >"$root/modules/$m.ko" ;; *) cp "$f" "$root/modules/$m.ko" ;; esac
        done
        printf '%s\n' "${nested_modules[@]}" >"$root/modules/order"
        install -m 755 "$nested_dir/init" "$root/init"
        (cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$nested_cache/initramfs.cpio.gz.$$"
        mv "$nested_cache/initramfs.cpio.gz.$$" "$nested_cache/initramfs.cpio.gz"
}

# The packages, the kernel and an initramfs as new as init and this file.
nested_prepare() {
        local image=$nested_cache/initramfs.cpio.gz
        nested_need_package qemu-system-x86
        nested_need_package busybox-static
        nested_need_package cpio
        nested_fetch_kernel
        if [[ ! -f $image || $nested_dir/init -nt $image || ${BASH_SOURCE[0]} -nt $image ]]; then
                nested_build_initramfs
        fi
}

# KVM only where it is VMX or SVM: a PVM host's KVM aborts QEMU's -cpu max
# ("failed to set MSR 0x10a", PLATFORM.md), so the harness emulates there.
# TCG runs both emulated CPUs on one host thread: with QEMU's default (a
# thread per CPU) the emulated machine froze for minutes now and then (in
# four of five make checks on 2026-11-30, one to four times each), with
# one thread not once in two, which were no slower. NESTED_TCG_THREAD=multi
# brings QEMU's default back (scripts/linux/check does: see there).
nested_accel() {
        if [[ -w /dev/kvm && ! -d /sys/module/kvm_pvm ]]; then
                echo kvm
        else
                echo "tcg,thread=${NESTED_TCG_THREAD:-single}"
        fi
}

# nested_command_script FILE COMMAND [ARG]...: the script init runs in the
# host's root, in the caller's directory.
nested_command_script() {
        local file=$1
        shift
        {
                echo "cd $(printf '%q' "$PWD") || exit 125"
                printf '%q ' "$@"
                echo
        } >"$file"
}

# nested_qemu_command SCRIPT KERNEL_LOG MEM_MB SMP [KERNEL_ARG]...: sets the
# array nested_qemu to a QEMU command line (without -monitor) that boots a
# VM which runs SCRIPT with its output on the first serial port (QEMU's
# stdout), the nested kernel's messages going to KERNEL_LOG.
# no_timer_check: on a starved host the emulated CPU is too slow for the
# kernel's IO-APIC timer check, which then panics at boot (seen with both
# cores loaded by other VMs).
nested_qemu_command() {
        local script=$1 kernel_log=$2 mem_mb=$3 smp=$4
        shift 4
        nested_qemu=(qemu-system-x86_64
                -accel "$(nested_accel)" -cpu max -smp "$smp" -m "$mem_mb"
                -nodefaults -no-user-config -display none -no-reboot
                -serial stdio -serial "file:$kernel_log"
                -kernel "$(echo "$nested_cache"/kernel/boot/vmlinuz-*)" -initrd "$nested_cache/initramfs.cpio.gz"
                -append "console=ttyS1 loglevel=4 no_timer_check sysctl.kernel.hung_task_timeout_secs=30 panic=-1 nested.work=$nested_repo nested.script=$script${*:+ $*}"
                -virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
                -virtfs "local,path=$nested_repo,mount_tag=work,security_model=none")
}

# nested_relay_console HEARTBEAT: passes a VM's console on as it comes (a
# line at a time: mawk would hold it back in blocks), notes each line in
# the file HEARTBEAT (whose age says how long the VM has been silent), and
# returns the status the VM reported, 253 if it reported none.
nested_relay_console() {
        local heartbeat=$1 line begun=0 lines=0
        while IFS= read -r line; do
                line=${line%$'\r'}
                lines=$((lines + 1))
                echo "$lines" >"$heartbeat"
                case $line in
                NESTED-EXIT-STATUS=*) return "${line#NESTED-EXIT-STATUS=}" ;;
                NESTED-BEGIN) begun=1 ;;
                nested:\ *) ((begun)) && echo "$line" || echo "$line" >&2 ;;
                *) ((begun)) && echo "$line" ;;
                esac
        done
        return 253
}

# nested_explain_status STATUS: what init's own statuses mean, on stderr.
nested_explain_status() {
        case $1 in
        250|251) echo "$nested_me: could not mount the host's files over 9p" >&2 ;;
        252) echo "$nested_me: KVM is not available inside the nested VM" >&2 ;;
        esac
}

# nested_show_kernel_log FILE: its last 40 lines, on stderr.
nested_show_kernel_log() {
        echo "$nested_me: the nested kernel's last messages:" >&2
        tail -n 40 "$1" 2>/dev/null | sed "s/^/$nested_me:   /" >&2
}
