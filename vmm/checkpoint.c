#include "checkpoint.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../replication/compression.h"
#include "device_states.h"
#include "error_message.h"
#include "vcpu_state.h"

/* A checkpoint never holds more than all of RAM; anything claiming more is
 * corrupt, whatever its CRC says. */
#define MAX_UNPACKED(m) ((m)->ram_size + (64u << 20))

static size_t page_count(const struct machine *m)
{
        return (size_t)((m->ram_size + KVM_VM_PAGE_SIZE - 1) / KVM_VM_PAGE_SIZE);
}

static int encode_pages(const struct machine *m, const uint64_t *dirty,
                        struct state_writer *w, uint32_t *pages)
{
        uint32_t count = (uint32_t)dirty_pages__count(dirty, m->dirty.words);
        state_writer__begin(w, "PAGE", 1);
        state_writer__u32(w, count);
        for (size_t page = 0; page < page_count(m); page++) {
                if (!(dirty[page / 64] >> (page % 64) & 1))
                        continue;
                state_writer__u64(w, page);
                state_writer__bytes(w, m->ram + page * KVM_VM_PAGE_SIZE, KVM_VM_PAGE_SIZE);
        }
        *pages = count;
        return state_writer__end(w);
}

int checkpoint__encode_state(const struct machine *m, const struct vcpu_state *vcpu,
                             const uint64_t *dirty, struct checkpoint_capture *c)
{
        struct state_writer raw;
        state_writer__init(&raw);
        int rc = vcpu_state__save(vcpu, &raw);
        if (!rc) rc = device_states__save(m, &raw);
        if (!rc) rc = encode_pages(m, dirty, &raw, &c->pages);
        struct state_writer packed;
        state_writer__init(&packed);
        if (!rc) rc = compression__pack(raw.buf, raw.length, &packed);
        state_writer__release(&raw);
        if (rc) {
                state_writer__release(&packed);
                return rc;
        }
        c->state = packed.buf;
        c->length = packed.length;
        return 0;
}

int checkpoint__capture(struct machine *m, struct checkpoint_capture *c)
{
        struct vcpu_state *vcpu = malloc(sizeof(*vcpu));
        int rc = vcpu ? 0 : -ENOMEM;
        if (!rc) rc = vcpu_state__get(&m->vm, vcpu);
        if (!rc) rc = dirty_pages__collect(m);
        if (!rc) rc = checkpoint__encode_state(m, vcpu, m->dirty.for_checkpoint, c);
        if (!rc)
                memset(m->dirty.for_checkpoint, 0, m->dirty.words * sizeof(uint64_t));
        free(vcpu);
        return rc;
}

static int decode_pages(struct machine *m, struct state_reader *r)
{
        if (state_reader__begin(r, "PAGE", 1))
                return -1;
        uint32_t count = state_reader__u32(r);
        if ((uint64_t)count * (8 + KVM_VM_PAGE_SIZE) != r->payload_end - r->pos) {
                state_reader__fail(r, "PAGE record claims %u pages, its payload holds %zu bytes",
                                   count, r->payload_end - r->pos);
                return -1;
        }
        for (uint32_t i = 0; i < count && state_reader__ok(r); i++) {
                uint64_t page = state_reader__u64(r);
                if (page >= page_count(m)) {
                        state_reader__fail(r, "PAGE record names page %llu of a %zu-page RAM",
                                           (unsigned long long)page, page_count(m));
                        return -1;
                }
                state_reader__bytes(r, m->ram + page * KVM_VM_PAGE_SIZE, KVM_VM_PAGE_SIZE);
                dirty_pages__mark(&m->dirty, page * KVM_VM_PAGE_SIZE, KVM_VM_PAGE_SIZE);
        }
        return state_reader__end(r);
}

static uint8_t *uncompress_state(const struct machine *m, const uint8_t *state, size_t length,
                                 size_t *unpacked_length, char *err, size_t err_size)
{
        uint64_t unpacked;
        char why[200];
        if (compression__unpacked_size(state, length, &unpacked, why, sizeof(why))) {
                error_message(err, err_size, "checkpoint: %s", why);
                return NULL;
        }
        if (unpacked > MAX_UNPACKED(m)) {
                error_message(err, err_size, "checkpoint claims %llu bytes of state for %llu bytes of RAM",
                              (unsigned long long)unpacked, (unsigned long long)m->ram_size);
                return NULL;
        }
        uint8_t *raw = malloc(unpacked ? unpacked : 1);
        if (!raw) {
                error_message(err, err_size, "out of memory for a checkpoint of %llu bytes",
                              (unsigned long long)unpacked);
                return NULL;
        }
        if (compression__unpack(state, length, raw, unpacked, why, sizeof(why))) {
                free(raw);
                error_message(err, err_size, "checkpoint: %s", why);
                return NULL;
        }
        *unpacked_length = (size_t)unpacked;
        return raw;
}

int checkpoint__decode(struct machine *m, const uint8_t *state, size_t length,
                       struct vcpu_state *vcpu, char *err, size_t err_size)
{
        size_t raw_length;
        uint8_t *raw = uncompress_state(m, state, length, &raw_length, err, err_size);
        if (!raw)
                return -1;
        struct state_reader r;
        state_reader__init(&r, raw, raw_length);
        int rc = vcpu_state__load(vcpu, &r);
        if (!rc) rc = device_states__load(m, &r);
        if (!rc) rc = decode_pages(m, &r);
        if (!rc && r.pos != raw_length) {
                state_reader__fail(&r, "%zu bytes after the PAGE record", raw_length - r.pos);
                rc = -1;
        }
        if (rc)
                error_message(err, err_size, "checkpoint: %s", r.error);
        free(raw);
        return rc ? -1 : 0;
}

int checkpoint__apply(struct machine *m, const uint8_t *state, size_t length,
                      char *err, size_t err_size)
{
        struct vcpu_state *vcpu = malloc(sizeof(*vcpu));
        if (!vcpu)
                return error_message(err, err_size, "out of memory");
        int rc = checkpoint__decode(m, state, length, vcpu, err, err_size);
        if (!rc) {
                uint32_t failed_msr;
                int set = vcpu_state__set(&m->vm, vcpu, &failed_msr);
                if (set && failed_msr)
                        rc = error_message(err, err_size, "checkpoint: KVM refused MSR 0x%x", failed_msr);
                else if (set)
                        rc = error_message(err, err_size, "checkpoint: setting the vCPU: %s",
                                           strerror(-set));
        }
        free(vcpu);
        return rc;
}
