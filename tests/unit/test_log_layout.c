/* The byte layouts of the log and of the snapshot, pinned: a change to
 * either, on both the writing and the reading side, passes every round
 * trip, so only a pinned hash notices it. Each pin belongs to a format
 * version; a layout change must bump the version (LOG_FORMAT_VERSION,
 * SNAPSHOT_VERSION) and record the new pin here, on purpose. */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "../../replication/log_format.h"
#include "../../vmm/snapshot.h"
#include "fake_environment.h"
#include "sample_log.h"
#include "suites.h"

struct pin {
        uint32_t version;
        size_t length;
        uint64_t hash;
};

static const struct pin log_pin = { 6, 704, 0x5ebccfaea3a974fdull };
static const struct pin snapshot_pin = { 5, 5625, 0xfdcd58b63d888839ull };

static void expect_pinned(const char *what, const struct pin *pin, uint32_t version,
                          size_t length, uint64_t hash)
{
        ck_assert_msg(version == pin->version,
                      "%s format version %u has no pinned layout: record length %zu hash 0x%016llx",
                      what, version, length, (unsigned long long)hash);
        ck_assert_msg(length == pin->length && hash == pin->hash,
                      "the %s layout changed (length %zu hash 0x%016llx, pinned %zu 0x%016llx): "
                      "bump its format version and pin the new layout",
                      what, length, (unsigned long long)hash, pin->length,
                      (unsigned long long)pin->hash);
}

START_TEST(the_log_layout_is_pinned)
{
        struct state_writer w;
        state_writer__init(&w);
        sample_log__write(&w, SAMPLE_LOG_RECORDS, NULL);
        expect_pinned("log", &log_pin, LOG_FORMAT_VERSION, w.length, XXH3_64bits(w.buf, w.length));
        state_writer__release(&w);
}
END_TEST

/* Everything but what legitimately varies: the VERS record (ftvmm's own
 * version), the compressed bytes of RAM (the LZ4 library's to choose:
 * only their framing is pinned) and the headers' CRCs (which follow from
 * the rest). */
static uint64_t layout_hash(const uint8_t *buf, size_t length, size_t *hashed)
{
        XXH3_state_t *h = XXH3_createState();
        XXH3_64bits_reset(h);
        XXH3_64bits_update(h, buf, 12);
        *hashed = 12;
        for (size_t at = 12; at + STATE_RECORD_HEADER_SIZE <= length;) {
                struct state_record_header rh;
                char why[128];
                ck_assert_int_eq(state_record__check(buf + at, length - at, &rh, why, sizeof(why)),
                                 STATE_RECORD_COMPLETE);
                size_t keep = rh.payload_length;
                if (strcmp(rh.tag, "VERS") == 0) {
                        at += STATE_RECORD_OVERHEAD + rh.payload_length;
                        continue;
                }
                if (strcmp(rh.tag, "RAM ") == 0)
                        keep = 16; /* the RAM size, the unpacked size */
                /* The header without its CRC, which covers the length
                 * (different when VERS holds another version). */
                XXH3_64bits_update(h, buf + at, STATE_RECORD_HEADER_SIZE - 4);
                XXH3_64bits_update(h, buf + at + STATE_RECORD_HEADER_SIZE, keep);
                *hashed += STATE_RECORD_HEADER_SIZE - 4 + keep;
                at += STATE_RECORD_OVERHEAD + rh.payload_length;
        }
        uint64_t value = XXH3_64bits_digest(h);
        XXH3_freeState(h);
        return value;
}

START_TEST(the_snapshot_layout_is_pinned)
{
        struct fake_environment env;
        fake_environment__init(&env);
        char err[256];
        struct machine m;
        ck_assert_int_eq(machine__create(&m, 4ull << 20, &env.env, -1, "t", err, sizeof(err)), 0);
        m.position = 1234;
        m.clock_ns = 5678;
        m.console.produced = 99;
        m.pit.channel[0].reload = 11932;
        m.uart.scr = 0x5a;
        struct vcpu_state *vcpu = calloc(1, sizeof(*vcpu));
        vcpu->regs.rip = 0x100abc;
        vcpu->msr_count = 1;
        vcpu->msrs[0] = (struct kvm_msr_entry){ .index = 0x1b, .data = 0xfee00000 };
        struct state_writer w;
        state_writer__init(&w);
        ck_assert_int_eq(snapshot__encode(&m, vcpu, &w), 0);
        size_t hashed;
        uint64_t hash = layout_hash(w.buf, w.length, &hashed);
        expect_pinned("snapshot", &snapshot_pin, SNAPSHOT_VERSION, hashed, hash);
        state_writer__release(&w);
        free(vcpu);
        machine__destroy(&m);
}
END_TEST

Suite *make_log_layout_suite(void)
{
        Suite *s = suite_create("log_layout");
        TCase *tc = tcase_create("pinned");
        tcase_add_test(tc, the_log_layout_is_pinned);
        tcase_add_test(tc, the_snapshot_layout_is_pinned);
        suite_add_tcase(s, tc);
        return s;
}
