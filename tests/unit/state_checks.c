#include "state_checks.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static void save(const struct state_ops *ops, const void *device, struct state_writer *w)
{
        state_writer__init(w);
        ck_assert_int_eq(ops->save(device, w), 0);
}

void check_state_round_trip(const struct state_ops *ops, const void *device, void *fresh)
{
        struct state_writer first, second;
        save(ops, device, &first);
        struct state_reader r;
        state_reader__init(&r, first.buf, first.length);
        ck_assert_msg(ops->load(fresh, &r) == 0, "load failed: %s", r.error);
        ck_assert_uint_eq(r.pos, first.length);
        save(ops, fresh, &second);
        ck_assert_uint_eq(first.length, second.length);
        ck_assert_mem_eq(first.buf, second.buf, first.length);
        state_writer__release(&first);
        state_writer__release(&second);
}

static void expect_rejected(const struct state_ops *ops, void *victim, const void *before,
                            const uint8_t *blob, size_t length)
{
        struct state_reader r;
        state_reader__init(&r, blob, length);
        ck_assert_int_ne(ops->load(victim, &r), 0);
        ck_assert(r.error[0] != '\0');
        ck_assert_mem_eq(victim, before, ops->size);
}

void check_state_rejects_damage(const struct state_ops *ops, const void *device, void *victim)
{
        struct state_writer w;
        save(ops, device, &w);
        void *before = malloc(ops->size);
        memcpy(before, victim, ops->size);
        for (size_t n = 0; n < w.length; n++)
                expect_rejected(ops, victim, before, w.buf, n);
        uint8_t *copy = malloc(w.length);
        for (size_t i = 0; i < w.length; i++) {
                memcpy(copy, w.buf, w.length);
                copy[i] ^= 0x5a;
                expect_rejected(ops, victim, before, copy, w.length);
        }
        free(copy);
        free(before);
        state_writer__release(&w);
}
