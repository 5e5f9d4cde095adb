/* The arbiter on a directory: the first to claim a generation wins, the
 * second loses, and a fence sees every claim. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../replication/arbiter.h"
#include "../../replication/session_primary.h"
#include "../../vmm/exit_status.h"
#include "suites.h"

static char dir[] = "/tmp/ftvmm-arbiter-test.XXXXXX";
static struct arbiter_directory d;
static struct arbiter *a;
static char err[256];

static void setup(void)
{
        strcpy(dir, "/tmp/ftvmm-arbiter-test.XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(dir));
        ck_assert_int_eq(arbiter_directory__open(&d, dir, err, sizeof(err)), 0);
        a = &d.arbiter;
}

static void teardown(void)
{
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        ck_assert_int_eq(system(cmd), 0);
}

START_TEST(first_claim_wins_second_loses)
{
        ck_assert_uint_eq(a->latest(a), 0);
        ck_assert(!a->taken(a, 1));
        ck_assert_int_eq(a->claim(a, 1, "alpha"), 0);
        ck_assert_int_eq(a->claim(a, 1, "beta"), 1);
        ck_assert(a->taken(a, 1));
        char holder[64];
        a->holder(a, 1, holder, sizeof(holder));
        ck_assert_str_eq(holder, "alpha");
        ck_assert_int_eq(a->claim(a, 2, "beta"), 0);
        ck_assert_uint_eq(a->latest(a), 2);
        ck_assert(!a->taken(a, 3));
}
END_TEST

START_TEST(unreachable_storage_counts_as_taken)
{
        /* A replica that cannot see the arbiter must not release output. */
        teardown();
        ck_assert(a->taken(a, 5));
        ck_assert_int_lt(a->claim(a, 5, "alpha"), 0);
        ck_assert_ptr_nonnull(mkdtemp(strcpy(dir, "/tmp/ftvmm-arbiter-test.XXXXXX")));
}
END_TEST

START_TEST(a_bad_directory_is_refused_by_name)
{
        struct arbiter_directory other;
        ck_assert_int_ne(arbiter_directory__open(&other, "/nonexistent/arbiter", err, sizeof(err)), 0);
        ck_assert_msg(strstr(err, "/nonexistent/arbiter") && strstr(err, "No such file"), "%s", err);
}
END_TEST

/* A primary restarted after its backup took over (under systemd: the
 * primary's unit restarted once) must not start the guest a second time and
 * claim a generation that fences the one running it: it stops with 75
 * before it claims anything or touches the machine. */
START_TEST(a_primary_starts_only_under_an_empty_arbiter)
{
        ck_assert_int_eq(a->claim(a, 1, "host-primary"), 0);
        ck_assert_int_eq(a->claim(a, 2, "host-backup"), 0);
        struct primary *p = calloc(1, sizeof(*p));
        ck_assert_ptr_nonnull(p);
        struct primary_options opts = { .name = "host-primary" };
        char message[512];
        int status = primary__start(p, NULL, NULL, NULL, &opts, a, -1, message, sizeof(message));
        ck_assert_int_eq(status, EXIT_LOST_ARBITER);
        ck_assert_msg(strstr(message, "generation 2 is held by host-backup"), "%s", message);
        ck_assert_uint_eq(a->latest(a), 2);
        free(p);
}
END_TEST

Suite *make_arbiter_directory_suite(void)
{
        Suite *s = suite_create("arbiter_directory");
        TCase *tc = tcase_create("claims");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, first_claim_wins_second_loses);
        tcase_add_test(tc, unreachable_storage_counts_as_taken);
        tcase_add_test(tc, a_bad_directory_is_refused_by_name);
        tcase_add_test(tc, a_primary_starts_only_under_an_empty_arbiter);
        suite_add_tcase(s, tc);
        return s;
}
