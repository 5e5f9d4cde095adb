/* The backup's protocol as a state machine: joining, following, what it
 * acknowledges (with the heartbeat echo), losing the primary, the claim,
 * and when a promoted backup may write. */
#include <string.h>

#include "../../replication/backup_protocol.h"
#include "suites.h"

#define SECOND 1000000000ull

static struct backup_protocol bp;

static void setup(void)
{
        backup_protocol__init(&bp, 3, 2 * SECOND, 100 * SECOND);
}

START_TEST(the_first_record_ends_joining)
{
        ck_assert_int_eq(backup_protocol__state(&bp), BACKUP_JOINING);
        ck_assert(backup_protocol__record(&bp, 41, 101 * SECOND));
        ck_assert_int_eq(backup_protocol__state(&bp), BACKUP_FOLLOWING);
        ck_assert(!backup_protocol__record(&bp, 42, 101 * SECOND));
}
END_TEST

START_TEST(acknowledgements_carry_the_latest_record_and_echo)
{
        uint64_t seq, echo;
        ck_assert(!backup_protocol__ack_due(&bp, false, &seq, &echo));
        ck_assert(backup_protocol__ack_due(&bp, true, &seq, &echo)); /* a heartbeat */
        ck_assert_uint_eq(seq, 0);
        backup_protocol__record(&bp, 41, 101 * SECOND);
        backup_protocol__beat(&bp, 7777);
        backup_protocol__beat(&bp, 5555); /* older: ignored */
        ck_assert(backup_protocol__ack_due(&bp, false, &seq, &echo));
        ck_assert_uint_eq(seq, 41);
        ck_assert_uint_eq(echo, 7777);
        ck_assert(!backup_protocol__ack_due(&bp, false, &seq, &echo));
}
END_TEST

START_TEST(the_release_mark_never_moves_back)
{
        backup_protocol__released(&bp, 50);
        backup_protocol__released(&bp, 20);
        ck_assert_uint_eq(backup_protocol__release_mark(&bp), 50);
}
END_TEST

START_TEST(a_lost_primary_is_claimed_from_once_its_log_is_used_up)
{
        uint64_t next, not_before = 0;
        ck_assert(!backup_protocol__begin_claim(&bp, &next)); /* not lost */
        backup_protocol__record(&bp, 41, 101 * SECOND);
        backup_protocol__heard(&bp, 102 * SECOND);
        backup_protocol__primary_lost(&bp, "the peer closed the connection", 102 * SECOND);
        backup_protocol__primary_lost(&bp, "later", 103 * SECOND); /* once */
        ck_assert_str_eq(bp.lost_why, "the peer closed the connection");
        ck_assert(backup_protocol__primary_is_lost(&bp));
        uint64_t seq, echo;
        ck_assert(!backup_protocol__ack_due(&bp, true, &seq, &echo)); /* nothing more to say */
        ck_assert(backup_protocol__begin_claim(&bp, &next));
        ck_assert_uint_eq(next, 4);
        ck_assert(!backup_protocol__begin_claim(&bp, &next)); /* once */
        backup_protocol__claimed(&bp, 0, "", &not_before);
        ck_assert_int_eq(backup_protocol__state(&bp), BACKUP_LIVE);
        ck_assert_uint_eq(bp.generation, 4);
        /* Its predecessor's lease ends at most failure_timeout / 2 after
         * this replica last heard from it. */
        ck_assert_uint_eq(not_before, 103 * SECOND);
}
END_TEST

START_TEST(a_lost_claim_stops)
{
        uint64_t next, not_before = 0;
        backup_protocol__primary_lost(&bp, "silence", 102 * SECOND);
        ck_assert(backup_protocol__begin_claim(&bp, &next));
        backup_protocol__claimed(&bp, 1, "generation 4 is held by p", &not_before);
        ck_assert_int_eq(backup_protocol__state(&bp), BACKUP_STOPPED);
        ck_assert_str_eq(bp.stop_why, "generation 4 is held by p");
        ck_assert_uint_eq(not_before, 0);
}
END_TEST

Suite *make_backup_protocol_suite(void)
{
        Suite *s = suite_create("backup_protocol");
        TCase *tc = tcase_create("transitions");
        tcase_add_checked_fixture(tc, setup, NULL);
        tcase_add_test(tc, the_first_record_ends_joining);
        tcase_add_test(tc, acknowledgements_carry_the_latest_record_and_echo);
        tcase_add_test(tc, the_release_mark_never_moves_back);
        tcase_add_test(tc, a_lost_primary_is_claimed_from_once_its_log_is_used_up);
        tcase_add_test(tc, a_lost_claim_stops);
        suite_add_tcase(s, tc);
        return s;
}
