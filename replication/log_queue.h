/* The records of one epoch, copied out of the reader's buffer so that they
 * outlive it: a replica reads ahead to an epoch's end before executing the
 * epoch (it must know whether the epoch is a checkpoint), so it holds the
 * whole epoch while it runs. */
#ifndef FTVMM_LOG_QUEUE_H
#define FTVMM_LOG_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

#include "log_format.h"

struct log_queue {
        struct log_entry *entries; /* byte fields point into blobs[i] */
        void **blobs;
        size_t head, count, capacity;
};

void log_queue__init(struct log_queue *q);
void log_queue__release(struct log_queue *q);
/* Copies e (and its bytes) to the end. Returns 0 or -ENOMEM. */
int log_queue__push(struct log_queue *q, const struct log_entry *e);
bool log_queue__empty(const struct log_queue *q);
/* The first entry, NULL if none; valid until the next pop or push. */
const struct log_entry *log_queue__front(const struct log_queue *q);
const struct log_entry *log_queue__back(const struct log_queue *q);
void log_queue__pop(struct log_queue *q);
/* Removes the first entry, handing its bytes to the caller (*blob, to
 * free when done with *e). False if the queue is empty. */
bool log_queue__take(struct log_queue *q, struct log_entry *e, void **blob);

#endif
