#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../vmm/host_kvm.h"
#include "suites.h"

static char root[64];
static char modules[128];
static char cpuinfo[128];

static void setup(void)
{
        strcpy(root, "/tmp/ftvmm-host-kvm.XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(root));
        snprintf(modules, sizeof(modules), "%s/module", root);
        snprintf(cpuinfo, sizeof(cpuinfo), "%s/cpuinfo", root);
        ck_assert_int_eq(mkdir(modules, 0700), 0);
}

static void teardown(void)
{
        char command[256];
        snprintf(command, sizeof(command), "rm -rf '%s'", root);
        ck_assert_int_eq(system(command), 0);
}

static void load_module(const char *name)
{
        char path[256];
        snprintf(path, sizeof(path), "%s/%s", modules, name);
        ck_assert_int_eq(mkdir(path, 0700), 0);
}

static void write_cpuinfo(const char *text)
{
        FILE *f = fopen(cpuinfo, "w");
        ck_assert_ptr_nonnull(f);
        fputs(text, f);
        fclose(f);
}

static bool emulates_ring0(void)
{
        struct host_kvm_facts facts;
        host_kvm__read_facts(modules, cpuinfo, &facts);
        return host_kvm__emulates_ring0_given(&facts);
}

static bool runs_on_svm(void)
{
        struct host_kvm_facts facts;
        host_kvm__read_facts(modules, cpuinfo, &facts);
        return host_kvm__runs_on_svm_given(&facts);
}

#define AMD_FLAGS "flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr svm extapic\n"
#define PVM_FLAGS "flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep hypervisor\n"

START_TEST(cpuinfo_flags_are_matched_as_whole_words)
{
        ck_assert(host_kvm__cpuinfo_has_vmx_or_svm("processor\t: 0\n" AMD_FLAGS));
        ck_assert(host_kvm__cpuinfo_has_vmx_or_svm("flags : vmx"));
        ck_assert(!host_kvm__cpuinfo_has_vmx_or_svm(PVM_FLAGS));
        ck_assert(!host_kvm__cpuinfo_has_vmx_or_svm("flags\t: fpu svm_lock vmxe\n"));
        ck_assert(!host_kvm__cpuinfo_has_vmx_or_svm("flags\t: fpu nvmx no_svm\n"));
        ck_assert(!host_kvm__cpuinfo_has_vmx_or_svm("vmx flags\t: vnmi\nflags\t: fpu\n"));
        ck_assert(!host_kvm__cpuinfo_has_vmx_or_svm("model name\t: svm vmx\n"));
        ck_assert(!host_kvm__cpuinfo_has_vmx_or_svm(""));
}
END_TEST

START_TEST(pvm_alone_emulates_ring0)
{
        load_module("kvm");
        load_module("kvm_pvm");
        write_cpuinfo(PVM_FLAGS);
        ck_assert(emulates_ring0());
}
END_TEST

START_TEST(hardware_kvm_does_not)
{
        load_module("kvm");
        load_module("kvm_amd");
        write_cpuinfo(AMD_FLAGS);
        ck_assert(!emulates_ring0());
}
END_TEST

START_TEST(pvm_beside_usable_hardware_kvm_does_not)
{
        load_module("kvm_pvm");
        load_module("kvm_intel");
        write_cpuinfo("flags\t: fpu vmx\n");
        ck_assert(!emulates_ring0());
}
END_TEST

START_TEST(pvm_beside_usable_amd_kvm_does_not)
{
        load_module("kvm_pvm");
        load_module("kvm_amd");
        write_cpuinfo(AMD_FLAGS);
        ck_assert(!emulates_ring0());
}
END_TEST

START_TEST(pvm_beside_a_hardware_module_without_vmx_or_svm_does)
{
        load_module("kvm_pvm");
        load_module("kvm_amd");
        write_cpuinfo(PVM_FLAGS);
        ck_assert(emulates_ring0());
}
END_TEST

START_TEST(unreadable_facts_say_no)
{
        struct host_kvm_facts facts;
        host_kvm__read_facts("/nonexistent/module", "/nonexistent/cpuinfo", &facts);
        ck_assert(!facts.pvm_module && !facts.hardware_module && !facts.amd_module &&
                  !facts.cpu_has_vmx_or_svm);
        ck_assert(!host_kvm__runs_on_svm_given(&facts));
        ck_assert(!host_kvm__emulates_ring0_given(&facts));
}
END_TEST

START_TEST(svm_is_kvm_amd_on_a_cpu_with_svm)
{
        load_module("kvm");
        load_module("kvm_amd");
        write_cpuinfo(AMD_FLAGS);
        ck_assert(runs_on_svm());
}
END_TEST

START_TEST(intel_is_not_svm)
{
        load_module("kvm");
        load_module("kvm_intel");
        write_cpuinfo("flags\t: fpu vmx\n");
        ck_assert(!runs_on_svm());
}
END_TEST

START_TEST(pvm_serving_beside_kvm_amd_is_not_svm)
{
        load_module("kvm_pvm");
        load_module("kvm_amd");
        write_cpuinfo(PVM_FLAGS);
        ck_assert(!runs_on_svm());
}
END_TEST

START_TEST(refusal_is_one_line_naming_image_and_option)
{
        char err[512];
        const char *text = host_kvm__linux_refusal(err, sizeof(err), "build/linux/vmlinux");
        ck_assert_ptr_eq(text, err);
        ck_assert_ptr_null(strchr(err, '\n'));
        const char *start = "build/linux/vmlinux: a Linux kernel cannot run on this host: ";
        ck_assert_msg(strncmp(err, start, strlen(start)) == 0, "%s", err);
        ck_assert_ptr_nonnull(strstr(err, "kvm_pvm"));
        ck_assert_ptr_nonnull(strstr(err, HOST_KVM_FORCE_OPTION));
        ck_assert_uint_lt(strlen(err), sizeof(err) - 1); /* not truncated */
}
END_TEST

Suite *make_host_kvm_suite(void)
{
        Suite *s = suite_create("host_kvm");
        TCase *tc = tcase_create("detection");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, cpuinfo_flags_are_matched_as_whole_words);
        tcase_add_test(tc, pvm_alone_emulates_ring0);
        tcase_add_test(tc, hardware_kvm_does_not);
        tcase_add_test(tc, pvm_beside_usable_hardware_kvm_does_not);
        tcase_add_test(tc, pvm_beside_usable_amd_kvm_does_not);
        tcase_add_test(tc, pvm_beside_a_hardware_module_without_vmx_or_svm_does);
        tcase_add_test(tc, unreadable_facts_say_no);
        tcase_add_test(tc, svm_is_kvm_amd_on_a_cpu_with_svm);
        tcase_add_test(tc, intel_is_not_svm);
        tcase_add_test(tc, pvm_serving_beside_kvm_amd_is_not_svm);
        tcase_add_test(tc, refusal_is_one_line_naming_image_and_option);
        suite_add_tcase(s, tc);
        return s;
}
