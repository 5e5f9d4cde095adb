/* What kind of KVM this host has, for the one question that depends on it:
 * can it run a Linux kernel? A host whose KVM is PVM (the kvm_pvm module,
 * page-table based virtualisation without VMX or SVM) runs guest ring 3
 * natively but emulates ring 0 in software, and its emulator rejects
 * instructions Linux's kernel executes (lock cmpxchg16b, xrstor): Linux
 * dies deep in boot there (../shared/PLATFORM.md). ftvmm refuses such a
 * guest up front with one line instead. */
#ifndef FTVMM_HOST_KVM_H
#define FTVMM_HOST_KVM_H

#include <stdbool.h>
#include <stddef.h>

#define HOST_KVM_SYS_MODULE "/sys/module"
#define HOST_KVM_CPUINFO "/proc/cpuinfo"
/* The option the refusal names for trying anyway. */
#define HOST_KVM_FORCE_OPTION "--force-emulated-ring0"

struct host_kvm_facts {
        bool pvm_module;      /* kvm_pvm is loaded */
        bool hardware_module; /* kvm_intel or kvm_amd is loaded */
        bool amd_module;      /* kvm_amd is loaded */
        bool cpu_has_vmx_or_svm;
};

/* Reads the facts from a sysfs module directory and a cpuinfo file (the
 * host's are HOST_KVM_SYS_MODULE and HOST_KVM_CPUINFO; tests pass their
 * own). A file that cannot be read counts as saying no. */
void host_kvm__read_facts(const char *sys_module_dir, const char *cpuinfo_path,
                          struct host_kvm_facts *facts);
/* Whether a "flags" line of cpuinfo text lists vmx or svm. */
bool host_kvm__cpuinfo_has_vmx_or_svm(const char *cpuinfo);
/* PVM serves /dev/kvm when it is loaded and no hardware backend can be:
 * no kvm_intel or kvm_amd module, or a CPU without VMX and SVM. */
bool host_kvm__emulates_ring0_given(const struct host_kvm_facts *facts);
/* The same for this host. */
bool host_kvm__emulates_ring0(void);
/* Whether KVM runs guests with AMD SVM: kvm_amd loaded on a CPU with SVM
 * (vmx_or_svm) and PVM not serving /dev/kvm instead. */
bool host_kvm__runs_on_svm_given(const struct host_kvm_facts *facts);
/* The same for this host. */
bool host_kvm__runs_on_svm(void);
/* Writes the one-line refusal for a Linux image on such a host (no
 * "ftvmm: " prefix, no newline). Returns err. */
const char *host_kvm__linux_refusal(char *err, size_t err_size, const char *image);

#endif
