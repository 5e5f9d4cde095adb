#include "kvm_vm.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "exit_status.h"
#include "host_kvm.h"

static int fail(char *err, size_t err_size, int status, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t err_size, int status, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_size, fmt, ap);
        va_end(ap);
        return status;
}

static const char *kvm_device_path(void)
{
        const char *path = getenv("FTVMM_KVM_DEVICE");
        return path && path[0] ? path : "/dev/kvm";
}

static int open_kvm(struct kvm_vm *vm, char *err, size_t err_size)
{
        const char *path = kvm_device_path();
        vm->kvm_fd = open(path, O_RDWR | O_CLOEXEC);
        if (vm->kvm_fd < 0) {
                int e = errno;
                if (e == ENOENT)
                        return fail(err, err_size, EXIT_KVM_UNAVAILABLE,
                                    "%s: no such device: load kvm_intel or kvm_amd, or on a host without "
                                    "virtualisation run under scripts/nested/run", path);
                if (e == EACCES)
                        return fail(err, err_size, EXIT_KVM_UNAVAILABLE,
                                    "%s: permission denied: run as root or join the 'kvm' group", path);
                return fail(err, err_size, EXIT_KVM_UNAVAILABLE, "%s: %s", path, strerror(e));
        }
        int version = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
        if (version != KVM_API_VERSION)
                return fail(err, err_size, EXIT_KVM_UNAVAILABLE,
                            "%s: KVM API version %d, ftvmm needs %d", path, version,
                            KVM_API_VERSION);
        return 0;
}

static int check_capabilities(struct kvm_vm *vm, char *err, size_t err_size)
{
        static const struct { int cap; const char *name; } needed[] = {
                { KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
                { KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
                { KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
        };
        for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++)
                if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, needed[i].cap) <= 0)
                        return fail(err, err_size, EXIT_KVM_UNAVAILABLE,
                                    "%s lacks %s; ftvmm needs it", kvm_device_path(),
                                    needed[i].name);
        int sync = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS);
        if (sync < 0 || (sync & KVM_VM_SYNC_REGS) != KVM_VM_SYNC_REGS)
                return fail(err, err_size, EXIT_KVM_UNAVAILABLE,
                            "%s lacks KVM_CAP_SYNC_REGS for regs, sregs and events (has 0x%x)",
                            kvm_device_path(), sync < 0 ? 0 : sync);
        return 0;
}

static int set_memory_region(struct kvm_vm *vm, uint32_t flags)
{
        struct kvm_userspace_memory_region region = {
                .slot = 0,
                .flags = flags,
                .guest_phys_addr = 0,
                .memory_size = vm->ram_size,
                .userspace_addr = (uint64_t)(uintptr_t)vm->ram,
        };
        if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
                return -errno;
        return 0;
}

static int register_memory(struct kvm_vm *vm, char *err, size_t err_size)
{
        int rc = set_memory_region(vm, 0);
        if (rc)
                return fail(err, err_size, EXIT_HOST_ERROR, "KVM_SET_USER_MEMORY_REGION: %s",
                            strerror(-rc));
        return 0;
}

int kvm_vm__start_dirty_log(struct kvm_vm *vm)
{
        return set_memory_region(vm, KVM_MEM_LOG_DIRTY_PAGES);
}

int kvm_vm__take_dirty_log(struct kvm_vm *vm, uint64_t *bitmap)
{
        struct kvm_dirty_log log = { .slot = 0, .dirty_bitmap = bitmap };
        if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0)
                return -errno;
        return 0;
}

static int set_cpu_model(struct kvm_vm *vm, const struct cpu_model *wanted,
                         char *err, size_t err_size)
{
        struct cpuid_table host;
        int rc = cpuid_table__read_host(vm->kvm_fd, &host);
        if (rc)
                return fail(err, err_size, EXIT_KVM_UNAVAILABLE, "KVM_GET_SUPPORTED_CPUID: %s",
                            strerror(-rc));
        char why[256];
        int refused = 0;
        if (!wanted)
                cpu_model__build(&host, &vm->cpu);
        else if (!(refused = cpu_model__check(&host, wanted, why, sizeof(why))))
                vm->cpu = *wanted;
        free(host.entries);
        if (refused)
                return fail(err, err_size, EXIT_REFUSED, "%s", why);
        struct {
                struct kvm_cpuid2 header;
                struct kvm_cpuid_entry2 entries[CPU_MODEL_MAX_ENTRIES];
        } cpuid = { .header.nent = vm->cpu.count };
        memcpy(cpuid.entries, vm->cpu.entries, sizeof(cpuid.entries[0]) * vm->cpu.count);
        if (ioctl(vm->vcpu_fd, KVM_SET_CPUID2, &cpuid) < 0)
                return fail(err, err_size, EXIT_KVM_UNAVAILABLE, "KVM_SET_CPUID2: %s",
                            strerror(errno));
        return 0;
}

static int create_vcpu(struct kvm_vm *vm, const struct cpu_model *cpu, char *err, size_t err_size)
{
        vm->vcpu_fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, 0);
        if (vm->vcpu_fd < 0)
                return fail(err, err_size, EXIT_KVM_UNAVAILABLE, "KVM_CREATE_VCPU: %s", strerror(errno));
        int size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
        if (size < (int)sizeof(struct kvm_run))
                return fail(err, err_size, EXIT_KVM_UNAVAILABLE, "KVM_GET_VCPU_MMAP_SIZE: %s",
                            size < 0 ? strerror(errno) : "too small");
        vm->run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, vm->vcpu_fd, 0);
        if (vm->run == MAP_FAILED) {
                vm->run = NULL;
                return fail(err, err_size, EXIT_HOST_ERROR, "mmap of kvm_run: %s", strerror(errno));
        }
        vm->run_size = (size_t)size;
        vm->run->kvm_valid_regs = KVM_VM_SYNC_REGS;
        return set_cpu_model(vm, cpu, err, err_size);
}

int kvm_vm__create(struct kvm_vm *vm, uint8_t *ram, uint64_t ram_size,
                   const struct cpu_model *cpu, char *err, size_t err_size)
{
        *vm = (struct kvm_vm){ .kvm_fd = -1, .vm_fd = -1, .vcpu_fd = -1,
                               .ram = ram, .ram_size = ram_size,
                               .svm = host_kvm__runs_on_svm() };
        int status = open_kvm(vm, err, err_size);
        if (!status)
                status = check_capabilities(vm, err, err_size);
        if (status)
                return status;
        vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
        if (vm->vm_fd < 0)
                return fail(err, err_size, EXIT_KVM_UNAVAILABLE, "KVM_CREATE_VM: %s", strerror(errno));
        /* Intel VMX needs three pages for a real-mode TSS; place them just
         * below 4 GiB where no RAM of ours is. Other backends ignore it. */
        if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, 0xfffbd000ul) < 0)
                return fail(err, err_size, EXIT_KVM_UNAVAILABLE, "KVM_SET_TSS_ADDR: %s", strerror(errno));
        status = register_memory(vm, err, err_size);
        if (!status)
                status = create_vcpu(vm, cpu, err, err_size);
        return status;
}

void kvm_vm__destroy(struct kvm_vm *vm)
{
        if (vm->run)
                munmap(vm->run, vm->run_size);
        int fds[] = { vm->vcpu_fd, vm->vm_fd, vm->kvm_fd };
        for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
                if (fds[i] >= 0)
                        close(fds[i]);
        *vm = (struct kvm_vm){ .kvm_fd = -1, .vm_fd = -1, .vcpu_fd = -1 };
}

static struct kvm_segment flat_segment(uint16_t selector, uint8_t type)
{
        return (struct kvm_segment){
                .base = 0, .limit = 0xffffffff, .selector = selector,
                .type = type, .present = 1, .dpl = 0, .db = 1, .s = 1,
                .l = 0, .g = 1,
        };
}

int kvm_vm__set_pvh_entry(struct kvm_vm *vm, uint32_t entry, uint32_t start_info)
{
        struct kvm_sregs sregs;
        if (ioctl(vm->vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
                return -errno;
        /* Selector values are arbitrary: the PVH ABI says the guest must load
         * its own GDT before reloading any segment register. */
        sregs.cs = flat_segment(0x08, 0xb);
        sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = flat_segment(0x10, 0x3);
        sregs.tr.type = 0xb; /* a busy 32-bit TSS, as the ABI requires */
        sregs.cr0 = 0x11;    /* PE | ET: protected mode, paging off */
        sregs.cr4 = 0;
        sregs.efer = 0;
        if (ioctl(vm->vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
                return -errno;
        struct kvm_regs regs = {
                .rip = entry,
                .rbx = start_info,
                .rflags = 0x2, /* bit 1 is reserved and always set */
        };
        if (ioctl(vm->vcpu_fd, KVM_SET_REGS, &regs) < 0)
                return -errno;
        return 0;
}

int kvm_vm__unblock_signal_in_guest(struct kvm_vm *vm, int signo)
{
        sigset_t current;
        if (sigprocmask(SIG_SETMASK, NULL, &current) < 0)
                return -errno;
        sigdelset(&current, signo);
        /* The kernel's sigset is 8 bytes on x86-64, not glibc's 128. */
        struct {
                struct kvm_signal_mask header;
                uint8_t bits[8];
        } mask = { .header.len = 8 };
        memcpy(mask.bits, &current, 8);
        if (ioctl(vm->vcpu_fd, KVM_SET_SIGNAL_MASK, &mask) < 0)
                return -errno;
        return 0;
}
