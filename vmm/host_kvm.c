#include "host_kvm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

static bool module_loaded(const char *sys_module_dir, const char *name)
{
        char path[4096];
        struct stat st;
        int n = snprintf(path, sizeof(path), "%s/%s", sys_module_dir, name);
        return n > 0 && (size_t)n < sizeof(path) && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_flag_separator(char c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == ':' || c == '\0';
}

/* Whether the word appears as a whole token in line[0..len). */
static bool line_has_token(const char *line, size_t len, const char *word)
{
        size_t wlen = strlen(word);
        for (size_t i = 0; i + wlen <= len; i++)
                if ((i == 0 || is_flag_separator(line[i - 1])) &&
                    memcmp(line + i, word, wlen) == 0 &&
                    (i + wlen == len || is_flag_separator(line[i + wlen])))
                        return true;
        return false;
}

static bool flags_line_has_vmx_or_svm(const char *line, size_t len)
{
        return len > 5 && strncmp(line, "flags", 5) == 0 && is_flag_separator(line[5]) &&
               (line_has_token(line, len, "vmx") || line_has_token(line, len, "svm"));
}

bool host_kvm__cpuinfo_has_vmx_or_svm(const char *cpuinfo)
{
        for (const char *line = cpuinfo; *line;) {
                const char *end = strchr(line, '\n');
                size_t len = end ? (size_t)(end - line) : strlen(line);
                if (flags_line_has_vmx_or_svm(line, len))
                        return true;
                if (!end)
                        break;
                line = end + 1;
        }
        return false;
}

/* Line by line: cpuinfo repeats the flags for every CPU. */
static bool cpuinfo_file_has_vmx_or_svm(const char *path)
{
        FILE *f = fopen(path, "re");
        if (!f)
                return false;
        char *line = NULL;
        size_t capacity = 0;
        ssize_t len;
        bool found = false;
        while (!found && (len = getline(&line, &capacity, f)) > 0)
                found = flags_line_has_vmx_or_svm(line, (size_t)len);
        free(line);
        fclose(f);
        return found;
}

void host_kvm__read_facts(const char *sys_module_dir, const char *cpuinfo_path,
                          struct host_kvm_facts *facts)
{
        *facts = (struct host_kvm_facts){
                .pvm_module = module_loaded(sys_module_dir, "kvm_pvm"),
                .hardware_module = module_loaded(sys_module_dir, "kvm_intel") ||
                                   module_loaded(sys_module_dir, "kvm_amd"),
                .amd_module = module_loaded(sys_module_dir, "kvm_amd"),
                .cpu_has_vmx_or_svm = cpuinfo_file_has_vmx_or_svm(cpuinfo_path),
        };
}

bool host_kvm__emulates_ring0_given(const struct host_kvm_facts *facts)
{
        bool hardware = facts->hardware_module && facts->cpu_has_vmx_or_svm;
        return facts->pvm_module && !hardware;
}

bool host_kvm__emulates_ring0(void)
{
        struct host_kvm_facts facts;
        host_kvm__read_facts(HOST_KVM_SYS_MODULE, HOST_KVM_CPUINFO, &facts);
        return host_kvm__emulates_ring0_given(&facts);
}

bool host_kvm__runs_on_svm_given(const struct host_kvm_facts *facts)
{
        return facts->amd_module && facts->cpu_has_vmx_or_svm && !host_kvm__emulates_ring0_given(facts);
}

bool host_kvm__runs_on_svm(void)
{
        struct host_kvm_facts facts;
        host_kvm__read_facts(HOST_KVM_SYS_MODULE, HOST_KVM_CPUINFO, &facts);
        return host_kvm__runs_on_svm_given(&facts);
}

const char *host_kvm__linux_refusal(char *err, size_t err_size, const char *image)
{
        snprintf(err, err_size,
                 "%s: a Linux kernel cannot run on this host: its KVM is PVM (kvm_pvm), which "
                 "emulates the guest's ring 0 and fails on instructions Linux uses; run it on a "
                 "host with VMX or SVM or under scripts/nested/run, or pass %s to try anyway",
                 image, HOST_KVM_FORCE_OPTION);
        return err;
}
