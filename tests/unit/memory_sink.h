/* A log sink in memory, for tests of whatever writes a log. */
#ifndef FTVMM_TEST_MEMORY_SINK_H
#define FTVMM_TEST_MEMORY_SINK_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include "../../replication/log_writer.h"

struct memory_sink {
        struct log_sink sink;
        pthread_mutex_t lock;
        uint8_t *bytes;
        size_t length, capacity;
        size_t fail_after;     /* bytes accepted before writes fail */
        unsigned syncs, writes;
        useconds_t sync_delay;
        size_t synced_length;  /* bytes written before the last sync */
};

/* Starts with the log header already in it, as a log file has. */
void memory_sink__init(struct memory_sink *m, size_t capacity);
void memory_sink__release(struct memory_sink *m);

#endif
