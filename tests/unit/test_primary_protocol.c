/* The primary's protocol as a state machine: every transition, what is
 * safe in each state, who may join, the release and write permits, the
 * lease, and a fence that waits for the permits already given. */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "../../replication/primary_protocol.h"
#include "suites.h"

#define SECOND 1000000000ull
#define FAILURE_TIMEOUT (2 * SECOND) /* a lease of 1 s */

static struct primary_protocol pp;

static void setup(void)
{
        primary_protocol__init(&pp, 1, FAILURE_TIMEOUT);
}

static void teardown(void)
{
        primary_protocol__destroy(&pp);
}

static uint64_t acked(uint64_t seq, uint64_t echo)
{
        uint64_t safe;
        char why[128];
        ck_assert_int_eq(primary_protocol__acked(&pp, seq, 0, echo, &safe, why, sizeof(why)), 0);
        return safe;
}

/* A backup admitted and joined at seq, its machine state sent at now. */
static void protect(uint64_t seq, uint64_t now)
{
        uint64_t generation;
        char why[128];
        ck_assert(primary_protocol__admit(&pp, &generation, why, sizeof(why)));
        ck_assert(primary_protocol__joined(&pp, seq, 0, now));
        ck_assert_int_eq(primary_protocol__state(&pp), PRIMARY_PROTECTED);
}

START_TEST(alone_whatever_is_written_is_safe)
{
        ck_assert_int_eq(primary_protocol__state(&pp), PRIMARY_ALONE);
        ck_assert_uint_eq(primary_protocol__written(&pp, 5), 5);
        ck_assert_uint_eq(primary_protocol__written(&pp, 4), 0); /* no step back */
        ck_assert_uint_eq(primary_protocol__safe(&pp), 5);
        uint64_t next;
        ck_assert_int_eq(primary_protocol__begin_release(&pp, &next), PERMIT_GO);
        ck_assert_uint_eq(next, 2);
        primary_protocol__end_permit(&pp);
        ck_assert_int_eq(primary_protocol__begin_write(&pp, 0), PERMIT_GO);
        primary_protocol__end_permit(&pp);
}
END_TEST

START_TEST(protected_what_is_written_and_acknowledged_is_safe)
{
        primary_protocol__written(&pp, 10);
        protect(10, 0);
        primary_protocol__sending(&pp, 20);
        ck_assert_uint_eq(acked(15, 0), 0); /* acknowledged, not yet written */
        ck_assert_uint_eq(primary_protocol__safe(&pp), 10);
        /* An acknowledgement that overtook its write counts once the write
         * returns (a finished backup will not send it again). */
        ck_assert_uint_eq(primary_protocol__written(&pp, 20), 15);
        ck_assert_uint_eq(acked(20, 0), 20);
        ck_assert_uint_eq(acked(18, 0), 0); /* late and smaller: no step back */
        ck_assert_uint_eq(primary_protocol__safe(&pp), 20);
}
END_TEST

START_TEST(an_acknowledgement_of_what_was_never_sent_is_a_protocol_error)
{
        protect(0, 0);
        primary_protocol__sending(&pp, 7);
        uint64_t safe;
        char why[128];
        ck_assert_int_eq(primary_protocol__acked(&pp, UINT64_MAX, 0, 0, &safe, why, sizeof(why)), -1);
        ck_assert_ptr_nonnull(strstr(why, "only 7 were sent"));
        ck_assert_uint_eq(primary_protocol__safe(&pp), 0);
        ck_assert_int_eq(primary_protocol__acked(&pp, 7, 0, 0, &safe, why, sizeof(why)), 0);
}
END_TEST

START_TEST(one_backup_at_a_time)
{
        uint64_t generation;
        char why[128];
        ck_assert(primary_protocol__admit(&pp, &generation, why, sizeof(why)));
        ck_assert_uint_eq(generation, 1);
        ck_assert(!primary_protocol__admit(&pp, &generation, why, sizeof(why)));
        ck_assert_ptr_nonnull(strstr(why, "already has a backup"));
        primary_protocol__admission_failed(&pp);
        ck_assert(primary_protocol__admit(&pp, &generation, why, sizeof(why)));
        ck_assert(primary_protocol__joined(&pp, 0, 0, 0));
        ck_assert(!primary_protocol__admit(&pp, &generation, why, sizeof(why)));
        primary_protocol__close(&pp);
        ck_assert(primary_protocol__closing(&pp));
}
END_TEST

/* A backup that connects while the arbiter decides would be told a
 * generation that may be about to change: refused until it has decided. */
START_TEST(losing_the_backup_decides_by_the_arbiter)
{
        primary_protocol__written(&pp, 3);
        protect(3, 0);
        primary_protocol__written(&pp, 9);
        uint64_t next, safe, generation;
        ck_assert_int_eq(primary_protocol__backup_lost(&pp, "silence", &next, &safe), LOSS_CLAIM);
        ck_assert_uint_eq(next, 2);
        ck_assert_int_eq(primary_protocol__state(&pp), PRIMARY_DECIDING);
        char why[128];
        ck_assert(!primary_protocol__admit(&pp, &generation, why, sizeof(why)));
        ck_assert_ptr_nonnull(strstr(why, "deciding"));
        ck_assert_int_eq(primary_protocol__begin_release(&pp, &next), PERMIT_WAIT);
        ck_assert_int_eq(primary_protocol__begin_write(&pp, 0), PERMIT_WAIT);
        ck_assert_uint_eq(primary_protocol__written(&pp, 12), 0); /* nothing more is safe */
        /* A second loss while deciding changes nothing. */
        ck_assert_int_eq(primary_protocol__backup_lost(&pp, "again", &next, &safe), LOSS_IGNORED);
        primary_protocol__claimed(&pp, 0, "", &safe);
        ck_assert_uint_eq(safe, 12); /* alone: whatever is written */
        ck_assert_int_eq(primary_protocol__state(&pp), PRIMARY_ALONE);
        ck_assert(primary_protocol__admit(&pp, &generation, why, sizeof(why)));
        ck_assert_uint_eq(generation, 2);
}
END_TEST

START_TEST(losing_the_arbiter_fences)
{
        protect(0, 0);
        uint64_t next, safe;
        primary_protocol__backup_lost(&pp, "silence", &next, &safe);
        primary_protocol__claimed(&pp, 1, "generation 2 is held by b", &safe);
        ck_assert_int_eq(primary_protocol__state(&pp), PRIMARY_FENCED);
        ck_assert_str_eq(pp.fence_why, "generation 2 is held by b");
        ck_assert_int_eq(primary_protocol__begin_release(&pp, &next), PERMIT_NEVER);
        ck_assert_int_eq(primary_protocol__begin_write(&pp, 0), PERMIT_NEVER);
        ck_assert_uint_eq(primary_protocol__written(&pp, 50), 0);
        uint64_t generation;
        char why[128];
        ck_assert(!primary_protocol__admit(&pp, &generation, why, sizeof(why)));
        ck_assert(!primary_protocol__joined(&pp, 0, 0, 0));
        ck_assert(!primary_protocol__fence(&pp, "again")); /* the first reason stays */
        ck_assert_str_eq(pp.fence_why, "generation 2 is held by b");
}
END_TEST

START_TEST(a_backup_that_held_the_end_finished_with_the_guest)
{
        protect(0, 0);
        primary_protocol__written(&pp, 30);
        primary_protocol__guest_ended(&pp, 30);
        acked(30, 0);
        ck_assert(primary_protocol__backup_holds_end(&pp));
        uint64_t claim, safe;
        ck_assert(!primary_protocol__end_the_guest(&pp, &claim));
        ck_assert_int_eq(primary_protocol__backup_lost(&pp, "closed", &claim, &safe),
                         LOSS_BACKUP_FINISHED);
        ck_assert_int_eq(primary_protocol__state(&pp), PRIMARY_ALONE);
        ck_assert_uint_eq(pp.backups_lost, 0);
}
END_TEST

START_TEST(ending_the_guest_for_good_takes_the_next_generation)
{
        protect(0, 0);
        primary_protocol__written(&pp, 30);
        primary_protocol__guest_ended(&pp, 30);
        acked(20, 0);
        uint64_t claim, safe;
        ck_assert(primary_protocol__end_the_guest(&pp, &claim));
        ck_assert_uint_eq(claim, 2);
        ck_assert_int_eq(primary_protocol__state(&pp), PRIMARY_DECIDING);
        primary_protocol__claimed(&pp, 0, "", &safe);
        ck_assert_int_eq(primary_protocol__state(&pp), PRIMARY_ALONE);
        ck_assert_uint_eq(pp.generation, 2);
}
END_TEST

/* The write lease: a protected primary writes only while its backup
 * cannot yet have declared it lost; each echo renews it. */
START_TEST(writes_need_the_lease)
{
        protect(0, 10 * SECOND);
        ck_assert_int_eq(primary_protocol__begin_write(&pp, 10 * SECOND + SECOND - 1), PERMIT_GO);
        primary_protocol__end_permit(&pp);
        ck_assert_int_eq(primary_protocol__begin_write(&pp, 11 * SECOND), PERMIT_WAIT);
        acked(0, 12 * SECOND);
        ck_assert_int_eq(primary_protocol__begin_write(&pp, 12 * SECOND + SECOND / 2), PERMIT_GO);
        primary_protocol__end_permit(&pp);
        acked(0, 5 * SECOND); /* an old echo takes nothing back */
        ck_assert_int_eq(primary_protocol__begin_write(&pp, 12 * SECOND + SECOND / 2), PERMIT_GO);
        primary_protocol__end_permit(&pp);
        ck_assert_int_eq(primary_protocol__begin_write(&pp, 13 * SECOND), PERMIT_WAIT);
        /* Console output needs no lease: a backup holds what it replays. */
        uint64_t next;
        ck_assert_int_eq(primary_protocol__begin_release(&pp, &next), PERMIT_GO);
        primary_protocol__end_permit(&pp);
}
END_TEST

START_TEST(a_promoted_backup_writes_after_its_predecessors_lease)
{
        primary_protocol__writes_not_before(&pp, 7 * SECOND);
        ck_assert_int_eq(primary_protocol__begin_write(&pp, 7 * SECOND - 1), PERMIT_WAIT);
        ck_assert_int_eq(primary_protocol__begin_write(&pp, 7 * SECOND), PERMIT_GO);
        primary_protocol__end_permit(&pp);
}
END_TEST

/* The gate said yes, and right after that the fence is observed: the
 * output already decided may finish, but fencing returns only once it
 * has, and nothing is permitted after. */
static _Atomic int fence_returned;

static void *fence_now(void *arg)
{
        (void)arg;
        primary_protocol__fence(&pp, "generation 2 was taken by b");
        fence_returned = 1;
        return NULL;
}

START_TEST(a_fence_waits_for_the_permits_already_given)
{
        uint64_t next;
        ck_assert_int_eq(primary_protocol__begin_release(&pp, &next), PERMIT_GO);
        ck_assert_int_eq(primary_protocol__begin_write(&pp, 0), PERMIT_GO);
        fence_returned = 0;
        pthread_t t;
        pthread_create(&t, NULL, fence_now, NULL);
        usleep(50000);
        ck_assert_int_eq(fence_returned, 0);
        ck_assert_int_eq(primary_protocol__state(&pp), PRIMARY_FENCED);
        ck_assert_int_eq(primary_protocol__begin_write(&pp, 0), PERMIT_NEVER);
        primary_protocol__end_permit(&pp);
        usleep(50000);
        ck_assert_int_eq(fence_returned, 0);
        primary_protocol__end_permit(&pp);
        pthread_join(t, NULL);
        ck_assert_int_eq(fence_returned, 1);
}
END_TEST

Suite *make_primary_protocol_suite(void)
{
        Suite *s = suite_create("primary_protocol");
        TCase *tc = tcase_create("transitions");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, alone_whatever_is_written_is_safe);
        tcase_add_test(tc, protected_what_is_written_and_acknowledged_is_safe);
        tcase_add_test(tc, an_acknowledgement_of_what_was_never_sent_is_a_protocol_error);
        tcase_add_test(tc, one_backup_at_a_time);
        tcase_add_test(tc, losing_the_backup_decides_by_the_arbiter);
        tcase_add_test(tc, losing_the_arbiter_fences);
        tcase_add_test(tc, a_backup_that_held_the_end_finished_with_the_guest);
        tcase_add_test(tc, ending_the_guest_for_good_takes_the_next_generation);
        tcase_add_test(tc, writes_need_the_lease);
        tcase_add_test(tc, a_promoted_backup_writes_after_its_predecessors_lease);
        tcase_add_test(tc, a_fence_waits_for_the_permits_already_given);
        suite_add_tcase(s, tc);
        return s;
}
