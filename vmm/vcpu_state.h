/* The architectural state of the vCPU, as KVM exposes it: general and
 * segment registers, XSAVE area, XCRs, pending events and the MSRs KVM lists.
 * Everything a fresh VM needs to continue bit-identically. */
#ifndef FTVMM_VCPU_STATE_H
#define FTVMM_VCPU_STATE_H

#include <linux/kvm.h>
#include <stdint.h>

#include "../replication/state_record.h"
#include "kvm_vm.h"

#define VCPU_STATE_MAX_MSRS 128

struct vcpu_state {
        struct kvm_regs regs;
        struct kvm_sregs sregs;
        struct kvm_xsave xsave;
        struct kvm_xcrs xcrs;
        struct kvm_vcpu_events events;
        uint32_t msr_count;
        struct kvm_msr_entry msrs[VCPU_STATE_MAX_MSRS];
};

/* Reads the state, first letting KVM finish an I/O instruction whose exit
 * the VMM has handled (KVM completes it on the next entry). Returns 0 or
 * -errno. */
int vcpu_state__get(struct kvm_vm *vm, struct vcpu_state *s);
/* Writes it into a vCPU; MSRs one at a time, since some KVMs refuse a
 * batch that contains one MSR they will not set (PLATFORM.md). Returns 0 or
 * -errno, naming the MSR that failed in *failed_msr. */
int vcpu_state__set(struct kvm_vm *vm, const struct vcpu_state *s, uint32_t *failed_msr);

int vcpu_state__save(const struct vcpu_state *s, struct state_writer *w);
int vcpu_state__load(struct vcpu_state *s, struct state_reader *r);

#endif
