#include "log_file.h"

#include <errno.h>
#include <fcntl.h>
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

int log_file_source__open(struct log_file_source *f, const char *path)
{
        f->path = path;
        f->at_end = false;
        f->fd = open(path, O_RDONLY | O_CLOEXEC);
        return f->fd < 0 ? -errno : 0;
}

long log_file_source__read(struct log_file_source *f, struct log_reader *rd)
{
        size_t room;
        uint8_t *at = log_reader__space(rd, READ_CHUNK, &room);
        if (!at)
                return -ENOMEM;
        ssize_t n;
        while ((n = read(f->fd, at, room)) < 0 && errno == EINTR)
                ;
        if (n < 0)
                return -errno;
        log_reader__commit(rd, (size_t)n);
        f->at_end = n == 0;
        return n;
}

void log_file_source__close(struct log_file_source *f)
{
        if (f->fd >= 0)
                close(f->fd);
        f->fd = -1;
}
