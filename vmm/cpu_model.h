/* The CPU the guest sees: chosen, not copied from the host. A fixed
 * template of features (an x86-64 with SSE up to 4.2, FXSAVE and no XSAVE,
 * so no XSAVE area size can disagree with the features offered),
 * intersected with what the host's KVM supports, with the host's vendor
 * and family. No KVM paravirtual leaves: a guest must not find kvm-clock or
 * steal time, which the replication layer cannot see; no RDRAND, RDSEED or
 * RDTSCP, which ring 3 would execute natively (PLATFORM.md).
 *
 * The model is logged (vmm/machine_description.h), and a replica or a
 * replay presents the logged model, or refuses if its host cannot. */
#ifndef FTVMM_CPU_MODEL_H
#define FTVMM_CPU_MODEL_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

#include "../replication/state_record.h"

#define CPU_MODEL_MAX_ENTRIES 32

struct cpu_model {
        uint32_t count;
        struct kvm_cpuid_entry2 entries[CPU_MODEL_MAX_ENTRIES];
};

/* The entries KVM_GET_SUPPORTED_CPUID lists, for the functions below. */
struct cpuid_table {
        uint32_t count;
        struct kvm_cpuid_entry2 *entries;
};

/* Reads what the host's KVM supports (kvm_fd is /dev/kvm). Returns 0 or
 * -errno; release with free(t->entries). */
int cpuid_table__read_host(int kvm_fd, struct cpuid_table *t);
/* ftvmm's model on a host that supports `host`. */
void cpu_model__build(const struct cpuid_table *host, struct cpu_model *model);
/* 0 if a host that supports `host` can present `wanted`; otherwise -1 with
 * a reason naming the leaf, register and bits it lacks, or the vendors. */
int cpu_model__check(const struct cpuid_table *host, const struct cpu_model *wanted,
                     char *err, size_t err_size);
/* The entry for function.index, NULL if the model has none. */
const struct kvm_cpuid_entry2 *cpu_model__find(const struct cpu_model *model,
                                               uint32_t function, uint32_t index);

/* As a "CPUM" state record. */
int cpu_model__save(const struct cpu_model *model, struct state_writer *w);
int cpu_model__load(struct cpu_model *model, struct state_reader *r);

#endif
