#include "cpu_model.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "error_message.h"

#define SIGNIFICANT KVM_CPUID_FLAG_SIGNIFCANT_INDEX
#define BIT(n) (1u << (n))

/* Leaf 1 EDX: FPU VME DE PSE TSC MSR PAE CX8 SEP PGE CMOV PAT PSE36 CLFSH
 * MMX FXSR SSE SSE2. No APIC: ftvmm has no in-kernel irqchip. */
#define LEAF1_EDX (BIT(0) | BIT(1) | BIT(2) | BIT(3) | BIT(4) | BIT(5) | BIT(6) | BIT(8) | \
                   BIT(11) | BIT(13) | BIT(15) | BIT(16) | BIT(17) | BIT(19) | BIT(23) |      \
                   BIT(24) | BIT(25) | BIT(26))
/* Leaf 1 ECX: SSE3 PCLMULQDQ SSSE3 CX16 SSE4.1 SSE4.2 MOVBE POPCNT AES. No
 * XSAVE: Linux's init died of "bad frame in rt_sigreturn" with XSAVE of
 * x87 and SSE offered under the nested harness, and booted with FXSAVE
 * (the state is the same; the instruction is older). */
#define LEAF1_ECX (BIT(0) | BIT(1) | BIT(9) | BIT(13) | BIT(19) | BIT(20) | BIT(22) | BIT(23) | \
                   BIT(25))
#define LEAF1_ECX_HYPERVISOR BIT(31)
/* Leaf 7 EBX: FSGSBASE BMI1 SMEP BMI2 ERMS ADX SMAP CLFLUSHOPT SHA. */
#define LEAF7_EBX (BIT(0) | BIT(3) | BIT(7) | BIT(8) | BIT(9) | BIT(19) | BIT(20) | BIT(23) | \
                   BIT(29))
/* 0x80000001 ECX: LAHF/SAHF, ABM, PREFETCHW; EDX: SYSCALL NX PDPE1GB LM. */
#define EXT1_ECX (BIT(0) | BIT(5) | BIT(8))
#define EXT1_EDX (BIT(11) | BIT(20) | BIT(26) | BIT(29))

static const char brand[48] = "ftvmm virtual CPU";
static const char signature[12] = "FTVMMFTVMMFT";

int cpuid_table__read_host(int kvm_fd, struct cpuid_table *t)
{
        for (unsigned n = 64; n <= 4096; n *= 2) {
                struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
                if (!c)
                        return -ENOMEM;
                c->nent = n;
                if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
                        int e = errno;
                        free(c);
                        if (e == E2BIG)
                                continue;
                        return -e;
                }
                t->count = c->nent;
                t->entries = malloc(c->nent * sizeof(c->entries[0]) + 1);
                if (t->entries)
                        memcpy(t->entries, c->entries, c->nent * sizeof(c->entries[0]));
                free(c);
                return t->entries ? 0 : -ENOMEM;
        }
        return -E2BIG;
}

static struct kvm_cpuid_entry2 host_leaf(const struct cpuid_table *host, uint32_t function,
                                         uint32_t index)
{
        for (uint32_t i = 0; i < host->count; i++)
                if (host->entries[i].function == function && host->entries[i].index == index)
                        return host->entries[i];
        return (struct kvm_cpuid_entry2){ .function = function, .index = index };
}

static void add(struct cpu_model *model, struct kvm_cpuid_entry2 e)
{
        if (model->count < CPU_MODEL_MAX_ENTRIES)
                model->entries[model->count++] = e;
}

static struct kvm_cpuid_entry2 leaf(uint32_t function, uint32_t index, uint32_t flags,
                                    uint32_t eax, uint32_t ebx, uint32_t ecx, uint32_t edx)
{
        return (struct kvm_cpuid_entry2){ .function = function, .index = index, .flags = flags,
                                          .eax = eax, .ebx = ebx, .ecx = ecx, .edx = edx };
}

static uint32_t word(const char *text, unsigned i)
{
        uint32_t w;
        memcpy(&w, text + 4 * i, 4);
        return w;
}

static void add_brand(struct cpu_model *model)
{
        for (unsigned i = 0; i < 3; i++)
                add(model, leaf(0x80000002 + i, 0, 0, word(brand, 4 * i), word(brand, 4 * i + 1),
                                word(brand, 4 * i + 2), word(brand, 4 * i + 3)));
}

void cpu_model__build(const struct cpuid_table *host, struct cpu_model *model)
{
        memset(model, 0, sizeof(*model));
        struct kvm_cpuid_entry2 vendor = host_leaf(host, 0, 0);
        struct kvm_cpuid_entry2 one = host_leaf(host, 1, 0);
        struct kvm_cpuid_entry2 seven = host_leaf(host, 7, 0);
        struct kvm_cpuid_entry2 ext1 = host_leaf(host, 0x80000001, 0);
        struct kvm_cpuid_entry2 sizes = host_leaf(host, 0x80000008, 0);
        add(model, leaf(0, 0, 0, 7, vendor.ebx, vendor.ecx, vendor.edx));
        /* EBX: CLFLUSH line of 8 x 8 bytes; APIC ID 0, one logical CPU. */
        add(model, leaf(1, 0, 0, one.eax, 0x0800, (one.ecx & LEAF1_ECX) | LEAF1_ECX_HYPERVISOR,
                        one.edx & LEAF1_EDX));
        add(model, leaf(7, 0, SIGNIFICANT, 0, seven.ebx & LEAF7_EBX, 0, 0));
        add(model, leaf(0x40000000, 0, 0, 0x40000000, word(signature, 0), word(signature, 1),
                        word(signature, 2)));
        add(model, leaf(0x80000000, 0, 0, 0x80000008, vendor.ebx, vendor.ecx, vendor.edx));
        add(model, leaf(0x80000001, 0, 0, ext1.eax, 0, ext1.ecx & EXT1_ECX, ext1.edx & EXT1_EDX));
        add_brand(model);
        add(model, leaf(0x80000008, 0, 0, sizes.eax & 0xffff, 0, 0, 0));
}

const struct kvm_cpuid_entry2 *cpu_model__find(const struct cpu_model *model,
                                               uint32_t function, uint32_t index)
{
        for (uint32_t i = 0; i < model->count; i++)
                if (model->entries[i].function == function && model->entries[i].index == index)
                        return &model->entries[i];
        return NULL;
}

struct feature_register {
        uint32_t function, index;
        unsigned reg;      /* 0 eax, 1 ebx, 2 ecx, 3 edx */
        uint32_t ignore;   /* bits the host need not support (set by ftvmm) */
        const char *name;
};

static const struct feature_register feature_registers[] = {
        { 1, 0, 2, LEAF1_ECX_HYPERVISOR, "leaf 1 ECX" },
        { 1, 0, 3, 0, "leaf 1 EDX" },
        { 7, 0, 1, 0, "leaf 7 EBX" },
        { 7, 0, 2, 0, "leaf 7 ECX" },
        { 7, 0, 3, 0, "leaf 7 EDX" },
        { 0x80000001, 0, 2, 0, "leaf 0x80000001 ECX" },
        { 0x80000001, 0, 3, 0, "leaf 0x80000001 EDX" },
};

static uint32_t reg(const struct kvm_cpuid_entry2 *e, unsigned which)
{
        const uint32_t regs[] = { e->eax, e->ebx, e->ecx, e->edx };
        return regs[which];
}

int cpu_model__check(const struct cpuid_table *host, const struct cpu_model *wanted,
                     char *err, size_t err_size)
{
        struct kvm_cpuid_entry2 hv = host_leaf(host, 0, 0);
        const struct kvm_cpuid_entry2 *wv = cpu_model__find(wanted, 0, 0);
        if (!wv || wv->ebx != hv.ebx || wv->ecx != hv.ecx || wv->edx != hv.edx) {
                char a[13] = { 0 }, b[13] = { 0 };
                if (wv)
                        memcpy(a, (uint32_t[]){ wv->ebx, wv->edx, wv->ecx }, 12);
                memcpy(b, (uint32_t[]){ hv.ebx, hv.edx, hv.ecx }, 12);
                return error_message(err, err_size, "the CPU model is a '%s' CPU, this host's is '%s'",
                                     a, b);
        }
        for (size_t i = 0; i < sizeof(feature_registers) / sizeof(feature_registers[0]); i++) {
                const struct feature_register *f = &feature_registers[i];
                const struct kvm_cpuid_entry2 *w = cpu_model__find(wanted, f->function, f->index);
                if (!w)
                        continue;
                struct kvm_cpuid_entry2 h = host_leaf(host, f->function, f->index);
                uint32_t missing = reg(w, f->reg) & ~reg(&h, f->reg) & ~f->ignore;
                if (missing)
                        return error_message(err, err_size,
                                             "the CPU model needs %s bits 0x%08x, which this host's KVM lacks",
                                             f->name, missing);
        }
        return 0;
}

int cpu_model__save(const struct cpu_model *model, struct state_writer *w)
{
        state_writer__begin(w, "CPUM", 1);
        state_writer__u32(w, model->count);
        for (uint32_t i = 0; i < model->count; i++) {
                const struct kvm_cpuid_entry2 *e = &model->entries[i];
                const uint32_t fields[] = { e->function, e->index, e->flags,
                                            e->eax, e->ebx, e->ecx, e->edx };
                for (size_t f = 0; f < 7; f++)
                        state_writer__u32(w, fields[f]);
        }
        return state_writer__end(w);
}

int cpu_model__load(struct cpu_model *model, struct state_reader *r)
{
        struct cpu_model loaded = { 0 };
        if (state_reader__begin(r, "CPUM", 1))
                return -EINVAL;
        loaded.count = state_reader__u32(r);
        if (loaded.count > CPU_MODEL_MAX_ENTRIES)
                state_reader__fail(r, "CPU model of %u leaves, at most %d are accepted",
                                   loaded.count, CPU_MODEL_MAX_ENTRIES);
        for (uint32_t i = 0; i < loaded.count && state_reader__ok(r); i++) {
                struct kvm_cpuid_entry2 *e = &loaded.entries[i];
                e->function = state_reader__u32(r);
                e->index = state_reader__u32(r);
                e->flags = state_reader__u32(r);
                e->eax = state_reader__u32(r);
                e->ebx = state_reader__u32(r);
                e->ecx = state_reader__u32(r);
                e->edx = state_reader__u32(r);
                if (e->flags & ~SIGNIFICANT)
                        state_reader__fail(r, "CPU model leaf 0x%x has flags 0x%x", e->function, e->flags);
        }
        if (state_reader__end(r))
                return -EINVAL;
        *model = loaded;
        return 0;
}
