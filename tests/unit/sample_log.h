/* A small log of every record kind, built in memory, for the reader, the
 * layout and the fuzz seeds. */
#ifndef FTVMM_TEST_SAMPLE_LOG_H
#define FTVMM_TEST_SAMPLE_LOG_H

#include <stddef.h>

#include "../../replication/log_format.h"

#define SAMPLE_LOG_RECORDS 11

/* The i-th record of the sample (0 .. SAMPLE_LOG_RECORDS-1). */
struct log_entry sample_log__entry(unsigned i);
/* Appends the log header and records [0, count) to w; record_end[i] (if
 * not NULL) gets the offset just past record i. */
void sample_log__write(struct state_writer *w, unsigned count, size_t *record_end);

#endif
