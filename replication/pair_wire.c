#include "pair_wire.h"

#include <string.h>

#include "../vmm/error_message.h"

static const char *const tags[] = {
        [PAIR_HELLO] = "HELO", [PAIR_ACK] = "ACK ", [PAIR_RELEASED] = "RELS", [PAIR_BEAT] = "BEAT",
};

int pair_wire__kind(const char *tag)
{
        for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
                if (memcmp(tags[i], tag, 4) == 0)
                        return (int)i;
        return -1;
}

#define MESSAGE_VERSION 2

static void put_text(struct state_writer *w, const char *text, size_t max)
{
        uint16_t n = (uint16_t)strnlen(text, max);
        state_writer__u16(w, n);
        state_writer__bytes(w, text, n);
}

static void get_text(struct state_reader *r, char *out, size_t max, const char *what)
{
        uint16_t n = state_reader__u16(r);
        if (n > max)
                state_reader__fail(r, "HELO %s of %u bytes", what, n);
        else
                state_reader__bytes(r, out, n);
}

int pair_wire__encode(const struct pair_message *m, struct state_writer *w)
{
        state_writer__begin(w, tags[m->kind], MESSAGE_VERSION);
        switch (m->kind) {
        case PAIR_HELLO:
                state_writer__u32(w, m->wire_version);
                state_writer__u32(w, m->log_version);
                state_writer__u64(w, m->generation);
                put_text(w, m->name, PAIR_NAME_MAX);
                state_writer__bytes(w, m->identity.image_digest, sizeof(m->identity.image_digest));
                state_writer__u64(w, m->identity.ram_size);
                state_writer__u64(w, m->identity.disk_sectors);
                put_text(w, m->identity.disk_id, PAIR_ID_MAX);
                put_text(w, m->identity.arbiter_id, PAIR_ID_MAX);
                break;
        case PAIR_ACK:
                state_writer__u64(w, m->seq);
                state_writer__u64(w, m->position);
                state_writer__u64(w, m->echo_ns);
                break;
        case PAIR_RELEASED:
                state_writer__u64(w, m->released);
                break;
        case PAIR_BEAT:
                state_writer__u64(w, m->position);
                state_writer__u64(w, m->sent_ns);
                break;
        }
        return state_writer__end(w);
}

int pair_wire__decode(const uint8_t *record, size_t length, struct pair_message *m,
                      char *err, size_t err_size)
{
        memset(m, 0, sizeof(*m));
        char tag[5] = { 0 };
        if (length < 4)
                return error_message(err, err_size, "a control message of %zu bytes", length);
        memcpy(tag, record, 4);
        int kind = pair_wire__kind(tag);
        if (kind < 0)
                return error_message(err, err_size, "'%s' is not a control message", tag);
        m->kind = (enum pair_message_kind)kind;
        struct state_reader r;
        state_reader__init(&r, record, length);
        if (state_reader__begin(&r, tag, MESSAGE_VERSION))
                return error_message(err, err_size, "%s", r.error);
        switch (m->kind) {
        case PAIR_HELLO:
                m->wire_version = state_reader__u32(&r);
                m->log_version = state_reader__u32(&r);
                m->generation = state_reader__u64(&r);
                get_text(&r, m->name, PAIR_NAME_MAX, "name");
                state_reader__bytes(&r, m->identity.image_digest, sizeof(m->identity.image_digest));
                m->identity.ram_size = state_reader__u64(&r);
                m->identity.disk_sectors = state_reader__u64(&r);
                get_text(&r, m->identity.disk_id, PAIR_ID_MAX, "disk id");
                get_text(&r, m->identity.arbiter_id, PAIR_ID_MAX, "arbiter id");
                break;
        case PAIR_ACK:
                m->seq = state_reader__u64(&r);
                m->position = state_reader__u64(&r);
                m->echo_ns = state_reader__u64(&r);
                break;
        case PAIR_RELEASED:
                m->released = state_reader__u64(&r);
                break;
        case PAIR_BEAT:
                m->position = state_reader__u64(&r);
                m->sent_ns = state_reader__u64(&r);
                break;
        }
        if (state_reader__end(&r))
                return error_message(err, err_size, "%s message: %s", tag, r.error);
        return 0;
}
