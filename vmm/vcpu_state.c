#include "vcpu_state.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#define TSS_TYPE_AVAILABLE_64 0x9
#define TSS_TYPE_BUSY_64 0xb

/* Lets KVM complete a pending PIO/MMIO without running guest code. */
static int complete_pending_io(struct kvm_vm *vm)
{
        vm->run->immediate_exit = 1;
        int rc = ioctl(vm->vcpu_fd, KVM_RUN, 0);
        vm->run->immediate_exit = 0;
        if (rc < 0 && errno != EINTR)
                return -errno;
        return 0;
}

static int get_msrs(struct kvm_vm *vm, struct vcpu_state *s)
{
        struct {
                struct kvm_msr_list header;
                uint32_t indices[VCPU_STATE_MAX_MSRS];
        } list = { .header.nmsrs = VCPU_STATE_MAX_MSRS };
        if (ioctl(vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, &list) < 0)
                return -errno;
        struct {
                struct kvm_msrs header;
                struct kvm_msr_entry entries[VCPU_STATE_MAX_MSRS];
        } msrs;
        memset(&msrs, 0, sizeof(msrs));
        msrs.header.nmsrs = list.header.nmsrs;
        for (uint32_t i = 0; i < list.header.nmsrs; i++)
                msrs.entries[i].index = list.indices[i];
        int got = ioctl(vm->vcpu_fd, KVM_GET_MSRS, &msrs);
        if (got < 0)
                return -errno;
        /* KVM stops at the first MSR it cannot read; keep those before it. */
        s->msr_count = (uint32_t)got;
        memcpy(s->msrs, msrs.entries, sizeof(s->msrs[0]) * (size_t)got);
        return 0;
}

int vcpu_state__get(struct kvm_vm *vm, struct vcpu_state *s)
{
        memset(s, 0, sizeof(*s));
        int rc = complete_pending_io(vm);
        if (rc)
                return rc;
        if (ioctl(vm->vcpu_fd, KVM_GET_REGS, &s->regs) < 0 ||
            ioctl(vm->vcpu_fd, KVM_GET_SREGS, &s->sregs) < 0 ||
            ioctl(vm->vcpu_fd, KVM_GET_XSAVE, &s->xsave) < 0 ||
            ioctl(vm->vcpu_fd, KVM_GET_XCRS, &s->xcrs) < 0 ||
            ioctl(vm->vcpu_fd, KVM_GET_VCPU_EVENTS, &s->events) < 0)
                return -errno;
        return get_msrs(vm, s);
}

struct one_msr {
        struct kvm_msrs header;
        struct kvm_msr_entry entry;
};

/* Some KVMs refuse to write an MSR even with the value it already has
 * (0x4b564d06 here, PLATFORM.md); that is no loss, any other value is. */
static bool already_holds(struct kvm_vm *vm, const struct kvm_msr_entry *want)
{
        struct one_msr one = { .header.nmsrs = 1, .entry.index = want->index };
        return ioctl(vm->vcpu_fd, KVM_GET_MSRS, &one) == 1 && one.entry.data == want->data;
}

/* KVM on SVM reads TR back as busy whatever the VMCB holds (it ORs the
 * bit in because AMD keeps a loaded TSS marked available there), and writes
 * back what it is given. QEMU's emulated SVM, under which the nested test
 * harness runs, then fails every ring-3 I/O permission check against the
 * busy TSS with #GP. Writing the type the VMCB held restores the state as
 * it was; VMX, which requires a busy TSS at entry, gets what it reported. */
static struct kvm_sregs sregs_to_write(const struct kvm_vm *vm, const struct kvm_sregs *saved)
{
        struct kvm_sregs sregs = *saved;
        if (vm->svm && sregs.tr.type == TSS_TYPE_BUSY_64)
                sregs.tr.type = TSS_TYPE_AVAILABLE_64;
        return sregs;
}

int vcpu_state__set(struct kvm_vm *vm, const struct vcpu_state *s, uint32_t *failed_msr)
{
        *failed_msr = 0;
        /* An I/O exit the VMM handled would otherwise be completed on the
         * next entry, over the state written here. */
        int rc = complete_pending_io(vm);
        if (rc)
                return rc;
        struct kvm_sregs sregs = sregs_to_write(vm, &s->sregs);
        if (ioctl(vm->vcpu_fd, KVM_SET_SREGS, &sregs) < 0 ||
            ioctl(vm->vcpu_fd, KVM_SET_REGS, &s->regs) < 0 ||
            ioctl(vm->vcpu_fd, KVM_SET_XSAVE, &s->xsave) < 0 ||
            ioctl(vm->vcpu_fd, KVM_SET_XCRS, &s->xcrs) < 0)
                return -errno;
        for (uint32_t i = 0; i < s->msr_count; i++) {
                struct one_msr one = { .header.nmsrs = 1, .entry = s->msrs[i] };
                if (ioctl(vm->vcpu_fd, KVM_SET_MSRS, &one) != 1 &&
                    !already_holds(vm, &s->msrs[i])) {
                        *failed_msr = s->msrs[i].index;
                        return -EINVAL;
                }
        }
        /* Events last: setting MSRs and sregs may not disturb a pending
         * injection that the saved state carries. */
        if (ioctl(vm->vcpu_fd, KVM_SET_VCPU_EVENTS, &s->events) < 0)
                return -errno;
        /* So kvm_run's synced registers and interrupt flags describe the
         * state just written before the VMM next looks at them. */
        return complete_pending_io(vm);
}

/* The KVM structures are fixed-layout ABI, so they are stored as bytes. */
int vcpu_state__save(const struct vcpu_state *s, struct state_writer *w)
{
        state_writer__begin(w, "VCPU", 1);
        state_writer__bytes(w, &s->regs, sizeof(s->regs));
        state_writer__bytes(w, &s->sregs, sizeof(s->sregs));
        state_writer__bytes(w, &s->xsave, sizeof(s->xsave));
        state_writer__bytes(w, &s->xcrs, sizeof(s->xcrs));
        state_writer__bytes(w, &s->events, sizeof(s->events));
        state_writer__u32(w, s->msr_count);
        for (uint32_t i = 0; i < s->msr_count; i++) {
                state_writer__u32(w, s->msrs[i].index);
                state_writer__u64(w, s->msrs[i].data);
        }
        return state_writer__end(w);
}

int vcpu_state__load(struct vcpu_state *s, struct state_reader *r)
{
        struct vcpu_state *loaded = calloc(1, sizeof(*loaded));
        if (!loaded) {
                state_reader__fail(r, "out of memory");
                return -ENOMEM;
        }
        int rc = -EINVAL;
        if (state_reader__begin(r, "VCPU", 1))
                goto out;
        state_reader__bytes(r, &loaded->regs, sizeof(loaded->regs));
        state_reader__bytes(r, &loaded->sregs, sizeof(loaded->sregs));
        state_reader__bytes(r, &loaded->xsave, sizeof(loaded->xsave));
        state_reader__bytes(r, &loaded->xcrs, sizeof(loaded->xcrs));
        state_reader__bytes(r, &loaded->events, sizeof(loaded->events));
        loaded->msr_count = state_reader__u32(r);
        if (loaded->msr_count > VCPU_STATE_MAX_MSRS)
                state_reader__fail(r, "vCPU state lists %u MSRs, at most %d are accepted",
                                   loaded->msr_count, VCPU_STATE_MAX_MSRS);
        for (uint32_t i = 0; i < loaded->msr_count && state_reader__ok(r); i++) {
                loaded->msrs[i].index = state_reader__u32(r);
                loaded->msrs[i].data = state_reader__u64(r);
        }
        if (loaded->xcrs.nr_xcrs > KVM_MAX_XCRS)
                state_reader__fail(r, "vCPU state has %u XCRs, at most %d exist",
                                   loaded->xcrs.nr_xcrs, KVM_MAX_XCRS);
        if (state_reader__end(r))
                goto out;
        *s = *loaded;
        rc = 0;
out:
        free(loaded);
        return rc;
}
