/* A KVM virtual machine with one vCPU and one slot of guest RAM at
 * guest-physical address 0: the only shape ftvmm needs. */
#ifndef FTVMM_KVM_VM_H
#define FTVMM_KVM_VM_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu_model.h"

/* Registers KVM copies into kvm_run on every exit, so that the exit path
 * never pays ~8 us per KVM_GET_* ioctl (PLATFORM.md). */
#define KVM_VM_SYNC_REGS (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS | KVM_SYNC_X86_EVENTS)

struct kvm_vm {
        int kvm_fd;
        int vm_fd;
        int vcpu_fd;
        struct kvm_run *run;
        size_t run_size;
        uint8_t *ram;       /* owned by the caller */
        uint64_t ram_size;
        struct cpu_model cpu; /* what the guest sees */
        bool svm;             /* KVM runs the vCPU with AMD SVM (vcpu_state.c) */
};

/* Opens /dev/kvm (or $FTVMM_KVM_DEVICE), checks the capabilities ftvmm
 * relies on, creates the VM with ram as its memory at guest-physical 0, and
 * its vCPU with CPU model `cpu` (a logged one, which this host must be able
 * to present) or, if NULL, ftvmm's model for this host. Returns 0, or an
 * exit_status code with a one-line message in err saying what is missing
 * and how to fix it. */
int kvm_vm__create(struct kvm_vm *vm, uint8_t *ram, uint64_t ram_size,
                   const struct cpu_model *cpu, char *err, size_t err_size);
void kvm_vm__destroy(struct kvm_vm *vm);

/* The PVH entry state: 32-bit protected mode, paging off, flat segments,
 * %ebx = start_info. Returns 0 or -errno. */
int kvm_vm__set_pvh_entry(struct kvm_vm *vm, uint32_t entry, uint32_t start_info);

#define KVM_VM_PAGE_SIZE 4096u

/* Dirty-page tracking of guest RAM, for checkpoint epochs: start it once,
 * then each take fills bitmap (one bit per page, ram_size / 4096 bits
 * rounded up to whole u64s) with the pages the guest wrote since the
 * previous take, and starts the next interval. Return 0 or -errno. */
int kvm_vm__start_dirty_log(struct kvm_vm *vm);
int kvm_vm__take_dirty_log(struct kvm_vm *vm, uint64_t *bitmap);

/* Unblocks signo inside KVM_RUN only, so a kick interrupts the guest but never
 * a VMM system call. Returns 0 or -errno. */
int kvm_vm__unblock_signal_in_guest(struct kvm_vm *vm, int signo);

#endif
