#include "log_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define READ_CHUNK (256 * 1024)

static int write_all(int fd, const uint8_t *bytes, size_t n)
{
        while (n) {
                ssize_t done = write(fd, bytes, n);
                if (done < 0 && errno == EINTR)
                        continue;
                if (done < 0)
                        return -errno;
                if (done == 0)
                        return -EIO;
                bytes += done;
                n -= (size_t)done;
        }
        return 0;
}

static int file_write(struct log_sink *sink, const uint8_t *bytes, size_t n)
{
        return write_all(((struct log_file_sink *)sink)->fd, bytes, n);
}

static int file_sync(struct log_sink *sink)
{
        return fdatasync(((struct log_file_sink *)sink)->fd) ? -errno : 0;
}

int log_file_sink__open(struct log_file_sink *f, const char *path)
{
        f->path = path;
        f->sink = (struct log_sink){ .write = file_write, .sync = file_sync, .name = path };
        f->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (f->fd < 0)
                return -errno;
        uint8_t header[LOG_HEADER_SIZE];
        log_format__header(header);
        int rc = write_all(f->fd, header, sizeof(header));
        if (rc) {
                close(f->fd);
                f->fd = -1;
        }
        return rc;
}

void log_file_sink__close(struct log_file_sink *f)
{
        if (f->fd >= 0)
                close(f->fd);
        f->fd = -1;
}

static long read_chunk(struct log_file_source *f)
{
        size_t room;
        uint8_t *at = log_reader__space(&f->reader, READ_CHUNK, &room);
        if (!at)
                return -ENOMEM;
        ssize_t n;
        while ((n = read(f->fd, at, room)) < 0 && errno == EINTR)
                ;
        if (n < 0)
                return -errno;
        log_reader__commit(&f->reader, (size_t)n);
        return n;
}

static enum replay_source_state file_next(struct replay_source *src, struct log_entry *e)
{
        struct log_file_source *f = (struct log_file_source *)src;
        for (;;) {
                switch (log_reader__next(&f->reader, e)) {
                case LOG_READ_RECORD:
                        f->records++;
                        return REPLAY_SOURCE_OPEN;
                case LOG_READ_CORRUPT:
                        return REPLAY_SOURCE_CORRUPT;
                case LOG_READ_NEED_MORE:
                        break;
                }
                long got = read_chunk(f);
                if (got < 0) {
                        f->error = (int)got;
                        return REPLAY_SOURCE_FAILED;
                }
                if (got == 0)
                        return REPLAY_SOURCE_DONE;
        }
}

static void file_describe_end(struct replay_source *src, char *out, size_t size)
{
        struct log_file_source *f = (struct log_file_source *)src;
        size_t pending = log_reader__pending(&f->reader);
        if (f->reader.corrupt)
                snprintf(out, size, "%s: corrupt %s", f->path, f->reader.problem);
        else if (f->error)
                snprintf(out, size, "%s: reading the log: %s", f->path, strerror(-f->error));
        else if (pending)
                snprintf(out, size, "the log ends inside a record after %llu complete records (%zu bytes of a record at byte %llu)",
                         (unsigned long long)f->records, pending,
                         (unsigned long long)f->reader.offset);
        else
                snprintf(out, size, "the log ends after %llu complete records",
                         (unsigned long long)f->records);
}

int log_file_source__open(struct log_file_source *f, const char *path, size_t max_record)
{
        memset(f, 0, sizeof(*f));
        f->source = (struct replay_source){ .next = file_next, .describe_end = file_describe_end,
                                            .name = path };
        f->path = path;
        log_reader__init(&f->reader, max_record);
        f->fd = open(path, O_RDONLY | O_CLOEXEC);
        return f->fd < 0 ? -errno : 0;
}

void log_file_source__close(struct log_file_source *f)
{
        if (f->fd >= 0)
                close(f->fd);
        f->fd = -1;
        log_reader__release(&f->reader);
}
