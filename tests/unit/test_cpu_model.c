/* The guest's CPU model: chosen from a template (not copied), refused on a
 * host that cannot present it, and saved as a checked record. */
#include <string.h>

#include "../../vmm/cpu_model.h"
#include "state_checks.h"
#include "suites.h"

STATE_OPS(struct cpu_model, cpu_model);

/* A host like the nested harness's: AMD, AVX and PKRU, KVM's own leaves. */
static struct kvm_cpuid_entry2 host_entries[] = {
        { .function = 0, .eax = 0xd, .ebx = 0x68747541, .ecx = 0x444d4163, .edx = 0x69746e65 },
        { .function = 1, .eax = 0x00060fb1, .ebx = 0x00020800, .ecx = 0x76f83203, .edx = 0x0f8bfbfd },
        { .function = 7, .flags = 1, .ebx = 0x019803ab, .ecx = 0x0001020c, .edx = 0x20000000 },
        { .function = 0xd, .flags = 1, .eax = 0x207, .ebx = 0xa88, .ecx = 0xa88 },
        { .function = 0x40000000, .eax = 0x40000001, .ebx = 0x4b4d564b, .ecx = 0x564b4d56, .edx = 0x4d },
        { .function = 0x80000001, .eax = 0x00060fb1, .ecx = 0x00000077, .edx = 0xedd3fbfd },
        { .function = 0x80000008, .eax = 0x00003928 },
};
static struct cpuid_table host = { sizeof(host_entries) / sizeof(host_entries[0]), host_entries };
static struct cpu_model model;
static char err[256];

static void setup(void)
{
        cpu_model__build(&host, &model);
}

START_TEST(the_model_is_chosen_not_copied)
{
        const struct kvm_cpuid_entry2 *one = cpu_model__find(&model, 1, 0);
        ck_assert_ptr_nonnull(one);
        ck_assert_uint_eq(one->edx & (1u << 9), 0);        /* no APIC */
        ck_assert_uint_eq(one->ecx & (1u << 30), 0);       /* no RDRAND */
        ck_assert_uint_ne(one->ecx & (1u << 31), 0);       /* a hypervisor, said so */
        ck_assert_uint_eq(one->ecx & (1u << 28), 0);       /* no AVX */
        ck_assert_uint_eq(one->ecx & (1u << 26), 0);       /* no XSAVE: FXSAVE */
        ck_assert_uint_ne(one->edx & (1u << 24), 0);
        ck_assert_ptr_null(cpu_model__find(&model, 0xd, 0)); /* no XSAVE area to disagree */
        const struct kvm_cpuid_entry2 *hv = cpu_model__find(&model, 0x40000000, 0);
        ck_assert_ptr_nonnull(hv);
        ck_assert_uint_ne(hv->ebx, 0x4b4d564b);            /* not KVM's signature */
        ck_assert_ptr_null(cpu_model__find(&model, 0x40000001, 0)); /* no kvm-clock */
        const struct kvm_cpuid_entry2 *ext = cpu_model__find(&model, 0x80000001, 0);
        ck_assert_uint_eq(ext->edx & (1u << 27), 0);       /* no RDTSCP */
        ck_assert_uint_ne(ext->edx & (1u << 29), 0);       /* long mode */
}
END_TEST

START_TEST(the_same_host_can_present_it)
{
        ck_assert_msg(cpu_model__check(&host, &model, err, sizeof(err)) == 0, "%s", err);
}
END_TEST

START_TEST(a_host_without_a_feature_refuses_naming_it)
{
        host_entries[1].ecx &= ~(1u << 20); /* SSE4.2 */
        int rc = cpu_model__check(&host, &model, err, sizeof(err));
        host_entries[1].ecx |= 1u << 20;
        ck_assert_int_ne(rc, 0);
        ck_assert_msg(strstr(err, "leaf 1 ECX bits 0x00100000"), "%s", err);
}
END_TEST

START_TEST(a_host_of_another_vendor_refuses)
{
        uint32_t saved = host_entries[0].ebx;
        host_entries[0].ebx = 0x756e6547; /* "Genu" */
        int rc = cpu_model__check(&host, &model, err, sizeof(err));
        host_entries[0].ebx = saved;
        ck_assert_int_ne(rc, 0);
        ck_assert_msg(strstr(err, "AuthenticAMD") && strstr(err, "GenuenticAMD"), "%s", err);
}
END_TEST

START_TEST(save_load_round_trip_and_damage)
{
        struct cpu_model fresh, victim;
        memset(&fresh, 0, sizeof(fresh));
        memset(&victim, 0, sizeof(victim));
        check_state_round_trip(&cpu_model_state_ops, &model, &fresh);
        ck_assert_mem_eq(&fresh, &model, sizeof(model));
        check_state_rejects_damage(&cpu_model_state_ops, &model, &victim);
}
END_TEST

Suite *make_cpu_model_suite(void)
{
        Suite *s = suite_create("cpu_model");
        TCase *tc = tcase_create("model");
        tcase_add_checked_fixture(tc, setup, NULL);
        tcase_add_test(tc, the_model_is_chosen_not_copied);
        tcase_add_test(tc, the_same_host_can_present_it);
        tcase_add_test(tc, a_host_without_a_feature_refuses_naming_it);
        tcase_add_test(tc, a_host_of_another_vendor_refuses);
        tcase_add_test(tc, save_load_round_trip_and_damage);
        suite_add_tcase(s, tc);
        return s;
}
