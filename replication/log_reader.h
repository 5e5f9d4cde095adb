/* Reads a log (log_format.h) incrementally, as its bytes arrive from a file
 * or a socket, and tells apart what a replica must treat differently:
 * a complete record, more bytes needed, and corruption. At the end of its
 * source, a reader with bytes still pending holds a record cut short.
 *
 * It enforces the log's grammar: the sequence numbers (a gap, a duplicate
 * or a reordering is corruption), the order of records, positions that
 * never decrease, and where a checkpoint epoch starts. */
#ifndef FTVMM_LOG_READER_H
#define FTVMM_LOG_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log_format.h"

enum log_read {
        LOG_READ_RECORD,    /* *e holds the next record */
        LOG_READ_NEED_MORE, /* the bytes so far end inside the header or a record */
        LOG_READ_CORRUPT,   /* rd->problem says what and where; sticky */
};

enum log_order { LOG_ORDER_START, LOG_ORDER_EPOCHS, LOG_ORDER_ENDED };

struct log_reader {
        uint8_t *buf;
        size_t start, end, capacity; /* unread bytes are buf[start..end) */
        uint64_t offset;        /* stream offset of buf[start] */
        bool header_done;
        size_t max_record;      /* a record claiming more is corrupt */
        uint64_t next_seq;
        enum log_order order;
        uint64_t last_position;
        uint64_t epoch_start;   /* where the current epoch began */
        bool corrupt;
        char problem[256];
};

/* max_record: the largest record the reader accepts (bounds its memory). */
void log_reader__init(struct log_reader *rd, size_t max_record);
void log_reader__release(struct log_reader *rd);
/* Appends bytes that arrived. Returns 0 or -ENOMEM. Invalidates the byte
 * fields of entries returned before. */
int log_reader__feed(struct log_reader *rd, const void *bytes, size_t n);
/* Room to read up to *room bytes into directly (at least min_room), then
 * commit how many arrived. NULL if out of memory. */
uint8_t *log_reader__space(struct log_reader *rd, size_t min_room, size_t *room);
void log_reader__commit(struct log_reader *rd, size_t n);
/* The next record, if all of it is here. Its byte fields stay valid until
 * the next feed, space or commit. */
enum log_read log_reader__next(struct log_reader *rd, struct log_entry *e);
/* Bytes received but not yet returned as a record: at the end of the
 * source, more than zero means the log was cut short inside a record. */
size_t log_reader__pending(const struct log_reader *rd);
bool log_reader__ended(const struct log_reader *rd);

#endif
