/* A log in a file: the sink a recorder writes through (log_writer.h) and
 * the source a replay reads from, a chunk at a time (never the whole log
 * in memory). */
#ifndef FTVMM_LOG_FILE_H
#define FTVMM_LOG_FILE_H

#include <stdbool.h>
#include <stddef.h>

#include "log_reader.h"
#include "log_writer.h"

struct log_file_sink {
        struct log_sink sink; /* first: the writer is given &file->sink */
        int fd;
        const char *path;
};

/* Creates (or truncates) path and writes the log header. Returns 0 or
 * -errno. */
int log_file_sink__open(struct log_file_sink *f, const char *path);
void log_file_sink__close(struct log_file_sink *f);

struct log_file_source {
        int fd;
        const char *path;
        bool at_end;
};

/* Returns 0 or -errno. */
int log_file_source__open(struct log_file_source *f, const char *path);
/* Feeds the next chunk into rd. Returns the bytes read (0 at the end of the
 * file: f->at_end) or -errno. */
long log_file_source__read(struct log_file_source *f, struct log_reader *rd);
void log_file_source__close(struct log_file_source *f);

#endif
