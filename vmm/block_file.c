#include "block_file.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error_message.h"
#include "exit_status.h"

static void announce(struct block_file *f);

struct block_job {
        struct block_job *next;
        struct block_request request;
        uint8_t *write_data;                /* the backend's copy */
        struct block_completion completion;
};

/* Error kinds reported once each on stderr. */
enum { REPORT_READ = 1, REPORT_SHORT = 2, REPORT_WRITE = 4, REPORT_FLUSH = 8,
       REPORT_DISCARD = 16, REPORT_MEMORY = 32 };

static void report_once(struct block_file *f, unsigned kind, const char *what, int error)
{
        pthread_mutex_lock(&f->lock);
        bool first = !(f->reported & kind);
        f->reported |= kind;
        pthread_mutex_unlock(&f->lock);
        if (first)
                fprintf(stderr, "ftvmm: disk %s: %s%s%s; the guest gets an I/O error "
                        "(reported once)\n", f->path, what, error ? ": " : "",
                        error ? strerror(error) : "");
}

static uint8_t do_read(struct block_file *f, struct block_job *j)
{
        size_t length = (size_t)j->request.sectors * BLOCK_SECTOR_SIZE;
        uint8_t *buf = malloc(length ? length : 1);
        if (!buf) {
                report_once(f, REPORT_MEMORY, "out of memory for a request", 0);
                return BLOCK_STATUS_IOERR;
        }
        size_t done = 0;
        while (done < length) {
                ssize_t n = pread(f->fd, buf + done, length - done,
                                  (off_t)(j->request.sector * BLOCK_SECTOR_SIZE + done));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        if (n == 0)
                                report_once(f, REPORT_SHORT, "read past the end of the file "
                                            "(it is shorter than the disk the guest was given)", 0);
                        else
                                report_once(f, REPORT_READ, "read failed", errno);
                        free(buf);
                        return BLOCK_STATUS_IOERR;
                }
                done += (size_t)n;
        }
        j->completion.data = buf;
        j->completion.length = (uint32_t)length;
        return BLOCK_STATUS_OK;
}

static uint8_t do_write(struct block_file *f, struct block_job *j)
{
        size_t length = (size_t)j->request.sectors * BLOCK_SECTOR_SIZE;
        size_t done = 0;
        while (done < length) {
                ssize_t n = pwrite(f->fd, j->write_data + done, length - done,
                                   (off_t)(j->request.sector * BLOCK_SECTOR_SIZE + done));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        report_once(f, REPORT_WRITE, "write failed", n < 0 ? errno : ENOSPC);
                        return BLOCK_STATUS_IOERR;
                }
                done += (size_t)n;
        }
        return BLOCK_STATUS_OK;
}

static uint8_t do_flush(struct block_file *f)
{
        if (fdatasync(f->fd) == 0)
                return BLOCK_STATUS_OK;
        report_once(f, REPORT_FLUSH, "flush (fdatasync) failed", errno);
        return BLOCK_STATUS_IOERR;
}

/* A discard may leave anything behind; punching a hole frees the space
 * where the file system can, and where it cannot the data simply stay. */
static uint8_t do_discard(struct block_file *f, struct block_job *j)
{
        off_t at = (off_t)(j->request.sector * BLOCK_SECTOR_SIZE);
        off_t length = (off_t)j->request.sectors * BLOCK_SECTOR_SIZE;
        if (fallocate(f->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, at, length) == 0 ||
            errno == EOPNOTSUPP)
                return BLOCK_STATUS_OK;
        report_once(f, REPORT_DISCARD, "discard (hole punch) failed", errno);
        return BLOCK_STATUS_IOERR;
}

static void perform(struct block_file *f, struct block_job *j)
{
        uint8_t status = BLOCK_STATUS_IOERR;
        switch (j->request.op) {
        case BLOCK_OP_READ: status = do_read(f, j); break;
        case BLOCK_OP_WRITE: status = f->readonly ? BLOCK_STATUS_IOERR : do_write(f, j); break;
        case BLOCK_OP_FLUSH: status = do_flush(f); break;
        case BLOCK_OP_DISCARD: status = f->readonly ? BLOCK_STATUS_IOERR : do_discard(f, j); break;
        }
        j->completion.status = status;
}

/* The completion queue, then the eventfd, then the kick: a vCPU that wakes
 * for either finds the completion already queued. */
static void finish(struct block_file *f, struct block_job *j)
{
        free(j->write_data);
        j->write_data = NULL;
        j->next = NULL;
        pthread_mutex_lock(&f->lock);
        *f->done_tail = j;
        f->done_tail = &j->next;
        pthread_mutex_unlock(&f->lock);
        announce(f);
}

static struct block_job *next_job(struct block_file *f)
{
        pthread_mutex_lock(&f->lock);
        while (!f->jobs && !f->stopping)
                pthread_cond_wait(&f->work, &f->lock);
        struct block_job *j = f->jobs;
        if (j) {
                f->jobs = j->next;
                if (!f->jobs)
                        f->jobs_tail = &f->jobs;
        }
        pthread_mutex_unlock(&f->lock);
        return j;
}

static void *worker(void *opaque)
{
        struct block_file *f = opaque;
        struct block_job *j;
        while ((j = next_job(f))) {
                perform(f, j);
                finish(f, j);
        }
        return NULL;
}

static struct block_job *new_job(struct block_file *f, const struct block_request *r)
{
        struct block_job *j = calloc(1, sizeof(*j));
        if (!j)
                return NULL;
        j->request = *r;
        j->request.data = NULL;
        j->completion = (struct block_completion){ .device = r->device, .id = r->id };
        if (r->op == BLOCK_OP_WRITE && r->sectors) {
                size_t length = (size_t)r->sectors * BLOCK_SECTOR_SIZE;
                j->write_data = malloc(length);
                if (!j->write_data) {
                        free(j);
                        return NULL;
                }
                memcpy(j->write_data, r->data, length);
        }
        (void)f;
        return j;
}

static void announce(struct block_file *f)
{
        uint64_t one = 1;
        ssize_t n = write(f->event_fd, &one, sizeof(one));
        (void)n; /* a full counter still reads as readable */
        if (f->wake)
                f->wake(f->wake_context);
}

/* No memory for the job: the completion is still owed (the device waits
 * for it), so it is queued as an I/O error that needs no allocation. */
static int fail_without_memory(struct block_file *f, const struct block_request *r)
{
        report_once(f, REPORT_MEMORY, "out of memory for a request", 0);
        pthread_mutex_lock(&f->lock);
        bool room = f->failed_count < BLOCK_FILE_MAX_FAILED;
        if (room) {
                f->failed[f->failed_count].device = r->device;
                f->failed[f->failed_count].id = r->id;
                f->failed_count++;
                f->in_flight++;
        }
        pthread_mutex_unlock(&f->lock);
        announce(f);
        return -ENOMEM;
}

static int submit(struct block_backend *b, const struct block_request *r)
{
        struct block_file *f = b->context;
        struct block_job *j = new_job(f, r);
        if (!j)
                return fail_without_memory(f, r);
        pthread_mutex_lock(&f->lock);
        f->in_flight++;
        *f->jobs_tail = j;
        f->jobs_tail = &j->next;
        pthread_cond_signal(&f->work);
        pthread_mutex_unlock(&f->lock);
        return 0;
}

static int file_size(int fd, const struct stat *st, uint64_t *size)
{
        if (S_ISREG(st->st_mode)) {
                *size = (uint64_t)st->st_size;
                return 0;
        }
        if (S_ISBLK(st->st_mode))
                return ioctl(fd, BLKGETSIZE64, size) < 0 ? -errno : 0;
        return -EINVAL;
}

static int open_file(struct block_file *f, const char *path, bool readonly, char *err,
                     size_t err_size)
{
        f->fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
        if (f->fd < 0) {
                int e = errno;
                if (!readonly && (e == EACCES || e == EROFS || e == EPERM))
                        return error_message(err, err_size, "--disk %s: %s (add ',readonly' for a read-only disk)",
                                             path, strerror(e));
                return error_message(err, err_size, "--disk %s: %s", path, strerror(e));
        }
        struct stat st;
        if (fstat(f->fd, &st) < 0 || file_size(f->fd, &st, &f->size) < 0)
                return error_message(err, err_size, "--disk %s: not a regular file or block device", path);
        if (f->size < BLOCK_SECTOR_SIZE)
                return error_message(err, err_size, "--disk %s: %llu bytes, less than one 512-byte sector",
                                     path, (unsigned long long)f->size);
        return 0;
}

int block_file__open(struct block_file *f, const char *path, bool readonly,
                     char *err, size_t err_size)
{
        memset(f, 0, sizeof(*f));
        f->path = path;
        f->readonly = readonly;
        f->event_fd = -1;
        f->jobs_tail = &f->jobs;
        f->done_tail = &f->done;
        f->backend = (struct block_backend){ .submit = submit, .context = f };
        pthread_mutex_init(&f->lock, NULL);
        pthread_cond_init(&f->work, NULL);
        if (open_file(f, path, readonly, err, err_size))
                return EXIT_NO_INPUT;
        f->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (f->event_fd < 0) {
                error_message(err, err_size, "--disk %s: eventfd: %s", path, strerror(errno));
                return EXIT_HOST_ERROR;
        }
        for (; f->worker_count < BLOCK_FILE_WORKERS; f->worker_count++) {
                int rc = pthread_create(&f->workers[f->worker_count], NULL, worker, f);
                if (rc) {
                        error_message(err, err_size, "--disk %s: starting its I/O threads: %s",
                                      path, strerror(rc));
                        return EXIT_HOST_ERROR;
                }
        }
        return 0;
}

int block_file__probe(const char *path, uint64_t *size, char *err, size_t err_size)
{
        struct block_file f = { .fd = -1 };
        int rc = open_file(&f, path, true, err, err_size);
        if (f.fd >= 0)
                close(f.fd);
        if (rc)
                return EXIT_NO_INPUT;
        if (f.size % BLOCK_SECTOR_SIZE)
                fprintf(stderr, "ftvmm: disk %s: %llu bytes is not a whole number of sectors; "
                        "the guest sees %llu sectors\n", path, (unsigned long long)f.size,
                        (unsigned long long)(f.size / BLOCK_SECTOR_SIZE));
        *size = f.size;
        return 0;
}

static void free_jobs(struct block_job *j)
{
        while (j) {
                struct block_job *next = j->next;
                free(j->write_data);
                free(j->completion.data);
                free(j);
                j = next;
        }
}

void block_file__close(struct block_file *f)
{
        pthread_mutex_lock(&f->lock);
        f->stopping = true;
        pthread_cond_broadcast(&f->work);
        pthread_mutex_unlock(&f->lock);
        for (unsigned i = 0; i < f->worker_count; i++)
                pthread_join(f->workers[i], NULL);
        f->worker_count = 0;
        free_jobs(f->jobs);
        free_jobs(f->done);
        f->jobs = f->done = NULL;
        if (f->event_fd >= 0)
                close(f->event_fd);
        if (f->fd >= 0)
                close(f->fd);
        f->event_fd = f->fd = -1;
        pthread_cond_destroy(&f->work);
        pthread_mutex_destroy(&f->lock);
}

uint64_t block_file__sectors(const struct block_file *f)
{
        return f->size / BLOCK_SECTOR_SIZE;
}

size_t block_file__take_completions(struct block_file *f, struct block_completion *out, size_t max)
{
        uint64_t count;
        /* Reset the eventfd first: a completion queued after this read
         * makes it readable again. */
        if (read(f->event_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
                return 0;
        size_t n = 0;
        pthread_mutex_lock(&f->lock);
        while (f->failed_count && n < max) {
                f->failed_count--;
                out[n++] = (struct block_completion){ .device = f->failed[f->failed_count].device,
                                                      .id = f->failed[f->failed_count].id,
                                                      .status = BLOCK_STATUS_IOERR };
                f->in_flight--;
        }
        while (f->done && n < max) {
                struct block_job *j = f->done;
                f->done = j->next;
                out[n++] = j->completion;
                free(j);
                f->in_flight--;
        }
        if (!f->done)
                f->done_tail = &f->done;
        bool more = f->done || f->failed_count;
        pthread_mutex_unlock(&f->lock);
        if (more) {
                uint64_t one = 1;
                ssize_t w = write(f->event_fd, &one, sizeof(one));
                (void)w;
        }
        return n;
}

unsigned block_file__in_flight(struct block_file *f)
{
        pthread_mutex_lock(&f->lock);
        unsigned n = f->in_flight;
        pthread_mutex_unlock(&f->lock);
        return n;
}

void block_completion__release(struct block_completion *c)
{
        free(c->data);
        c->data = NULL;
}

int block_file__parse_spec(const char *spec, char **path, bool *readonly,
                           char *err, size_t err_size)
{
        *readonly = false;
        *path = strdup(spec);
        if (!*path)
                return error_message(err, err_size, "--disk: out of memory");
        char *comma = strrchr(*path, ',');
        if (comma) {
                if (strcmp(comma + 1, "readonly") != 0) {
                        error_message(err, err_size, "--disk '%s': unknown option '%s' (expected FILE or FILE,readonly)",
                                      spec, comma + 1);
                        free(*path);
                        *path = NULL;
                        return -1;
                }
                *comma = '\0';
                *readonly = true;
        }
        if (!(*path)[0]) {
                free(*path);
                *path = NULL;
                return error_message(err, err_size, "--disk '%s': expected FILE or FILE,readonly", spec);
        }
        return 0;
}
