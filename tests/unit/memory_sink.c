#include "memory_sink.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../replication/log_format.h"

static int memory_write(struct log_sink *sink, const uint8_t *bytes, size_t n)
{
        struct memory_sink *m = (struct memory_sink *)sink;
        pthread_mutex_lock(&m->lock);
        int rc = 0;
        if (m->length + n > m->fail_after || m->length + n > m->capacity) {
                rc = -ENOSPC;
        } else {
                memcpy(m->bytes + m->length, bytes, n);
                m->length += n;
                m->writes++;
        }
        pthread_mutex_unlock(&m->lock);
        return rc;
}

static int memory_sync(struct log_sink *sink)
{
        struct memory_sink *m = (struct memory_sink *)sink;
        usleep(m->sync_delay);
        pthread_mutex_lock(&m->lock);
        m->syncs++;
        m->synced_length = m->length;
        pthread_mutex_unlock(&m->lock);
        return 0;
}

void memory_sink__init(struct memory_sink *m, size_t capacity)
{
        memset(m, 0, sizeof(*m));
        m->sink = (struct log_sink){ .write = memory_write, .sync = memory_sync, .name = "memory" };
        m->bytes = malloc(capacity);
        ck_assert_ptr_nonnull(m->bytes);
        m->capacity = m->fail_after = capacity;
        pthread_mutex_init(&m->lock, NULL);
        log_format__header(m->bytes);
        m->length = LOG_HEADER_SIZE;
}

void memory_sink__release(struct memory_sink *m)
{
        free(m->bytes);
        pthread_mutex_destroy(&m->lock);
        m->bytes = NULL;
}
