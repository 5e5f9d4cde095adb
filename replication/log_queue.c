#include "log_queue.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void log_queue__init(struct log_queue *q)
{
        memset(q, 0, sizeof(*q));
}

static void drop_front(struct log_queue *q)
{
        free(q->blobs[q->head]);
        q->blobs[q->head] = NULL;
        q->head++;
        q->count--;
}

void log_queue__release(struct log_queue *q)
{
        while (q->count)
                drop_front(q);
        free(q->entries);
        free(q->blobs);
        log_queue__init(q);
}

static int make_room(struct log_queue *q)
{
        if (q->head && q->head + q->count == q->capacity) {
                memmove(q->entries, q->entries + q->head, q->count * sizeof(q->entries[0]));
                memmove(q->blobs, q->blobs + q->head, q->count * sizeof(q->blobs[0]));
                q->head = 0;
        }
        if (q->count < q->capacity)
                return 0;
        size_t cap = q->capacity ? q->capacity * 2 : 64;
        struct log_entry *entries = realloc(q->entries, cap * sizeof(*entries));
        if (!entries)
                return -ENOMEM;
        q->entries = entries;
        void **blobs = realloc(q->blobs, cap * sizeof(*blobs));
        if (!blobs)
                return -ENOMEM;
        q->blobs = blobs;
        q->capacity = cap;
        return 0;
}

/* Moves one byte field into the entry's own blob. */
static uint8_t *copy_bytes(struct log_bytes *b, uint8_t *to)
{
        if (b->length)
                memcpy(to, b->data, (size_t)b->length);
        b->data = to;
        return to + b->length;
}

int log_queue__push(struct log_queue *q, const struct log_entry *e)
{
        if (make_room(q))
                return -ENOMEM;
        struct log_entry copy = *e;
        size_t bytes = (size_t)(e->output.length + e->state.length + e->description.length +
                                e->cmdline.length + e->image.length + e->initrd.length +
                                e->io_data.length + e->digest_parts.length +
                                e->memory_ranges.length);
        uint8_t *blob = NULL;
        if (bytes) {
                blob = malloc(bytes);
                if (!blob)
                        return -ENOMEM;
                uint8_t *at = blob;
                at = copy_bytes(&copy.output, at);
                at = copy_bytes(&copy.state, at);
                at = copy_bytes(&copy.description, at);
                at = copy_bytes(&copy.cmdline, at);
                at = copy_bytes(&copy.image, at);
                at = copy_bytes(&copy.initrd, at);
                at = copy_bytes(&copy.io_data, at);
                at = copy_bytes(&copy.digest_parts, at);
                copy_bytes(&copy.memory_ranges, at);
        }
        size_t slot = q->head + q->count;
        q->entries[slot] = copy;
        q->blobs[slot] = blob;
        q->count++;
        return 0;
}

bool log_queue__empty(const struct log_queue *q)
{
        return q->count == 0;
}

const struct log_entry *log_queue__front(const struct log_queue *q)
{
        return q->count ? &q->entries[q->head] : NULL;
}

const struct log_entry *log_queue__back(const struct log_queue *q)
{
        return q->count ? &q->entries[q->head + q->count - 1] : NULL;
}

void log_queue__pop(struct log_queue *q)
{
        if (q->count)
                drop_front(q);
}

bool log_queue__take(struct log_queue *q, struct log_entry *e, void **blob)
{
        if (!q->count)
                return false;
        *e = q->entries[q->head];
        *blob = q->blobs[q->head];
        q->blobs[q->head] = NULL;
        q->head++;
        q->count--;
        return true;
}
