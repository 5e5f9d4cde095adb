/* A log in a file: the sink a recorder writes through (log_writer.h) and
 * the source a replay reads from, a chunk at a time (never the whole log
 * in memory). */
#ifndef FTVMM_LOG_FILE_H
#define FTVMM_LOG_FILE_H

#include <stdbool.h>
#include <stddef.h>

#include "log_reader.h"
#include "log_writer.h"
#include "session_replay.h"

struct log_file_sink {
        struct log_sink sink; /* first: the writer is given &file->sink */
        int fd;
        const char *path;
};

/* Creates (or truncates) path and writes the log header. Returns 0 or
 * -errno. */
int log_file_sink__open(struct log_file_sink *f, const char *path);
void log_file_sink__close(struct log_file_sink *f);

/* A log file read as a replay source, a chunk at a time. */
struct log_file_source {
        struct replay_source source; /* first: the replayer is given &f->source */
        int fd;
        const char *path;
        struct log_reader reader;
        uint64_t records;
        int error;               /* -errno of a failed read */
};

/* max_record: the largest record accepted. Returns 0 or -errno. */
int log_file_source__open(struct log_file_source *f, const char *path, size_t max_record);
void log_file_source__close(struct log_file_source *f);

#endif
