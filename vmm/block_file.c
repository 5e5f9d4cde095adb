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
#include <time.h>
#include <unistd.h>

#include "error_message.h"
#include "exit_status.h"

/* O_DIRECT wants buffers aligned to the storage's block; a page is enough
 * for any. */
#define BUFFER_ALIGNMENT 4096
#define PERMIT_POLL_NS 2000000

static void announce(struct block_file *f);

struct block_job {
        struct held_output hold;            /* while output commit holds it */
        struct block_file *file;
        struct block_job *next;
        struct block_request request;
        uint8_t *write_data;                /* the backend's copy, aligned */
        struct block_completion completion;
};

/* Error kinds reported once each on stderr. */
enum { REPORT_READ = 1, REPORT_SHORT = 2, REPORT_WRITE = 4, REPORT_FLUSH = 8,
       REPORT_DISCARD = 16, REPORT_MEMORY = 32, REPORT_FENCED = 64 };

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

static uint8_t *aligned_buffer(size_t length)
{
        void *p = NULL;
        return posix_memalign(&p, BUFFER_ALIGNMENT, length ? length : 1) ? NULL : p;
}

static void count(struct block_file *f, uint64_t *counter)
{
        pthread_mutex_lock(&f->lock);
        (*counter)++;
        pthread_mutex_unlock(&f->lock);
}

/* A transfer through the O_DIRECT descriptor, or through the O_DSYNC one
 * where O_DIRECT refuses it (an offset or length the storage's block does
 * not divide). Returns bytes moved, 0 at the end of the file, or -errno. */
static ssize_t transfer(struct block_file *f, bool write, uint8_t *buf, size_t n, off_t at)
{
        ssize_t done;
        for (int fd = f->direct ? f->fd : f->dsync_fd;;) {
                done = write ? pwrite(fd, buf, n, at) : pread(fd, buf, n, at);
                if (done < 0 && errno == EINTR)
                        continue;
                if (done < 0 && errno == EINVAL && fd == f->fd && f->direct) {
                        fd = f->dsync_fd;
                        continue;
                }
                count(f, fd == f->dsync_fd ? &f->stats.synced : &f->stats.direct);
                return done < 0 ? -errno : done;
        }
}

static uint8_t do_read(struct block_file *f, struct block_job *j)
{
        size_t length = (size_t)j->request.sectors * BLOCK_SECTOR_SIZE;
        uint8_t *buf = aligned_buffer(length);
        if (!buf) {
                report_once(f, REPORT_MEMORY, "out of memory for a request", 0);
                return BLOCK_STATUS_IOERR;
        }
        size_t done = 0;
        while (done < length) {
                ssize_t n = transfer(f, false, buf + done, length - done,
                                     (off_t)(j->request.sector * BLOCK_SECTOR_SIZE + done));
                if (n <= 0) {
                        if (n == 0)
                                report_once(f, REPORT_SHORT, "read past the end of the file "
                                            "(it is shorter than the disk the guest was given)", 0);
                        else
                                report_once(f, REPORT_READ, "read failed", (int)-n);
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
                ssize_t n = transfer(f, true, j->write_data + done, length - done,
                                     (off_t)(j->request.sector * BLOCK_SECTOR_SIZE + done));
                if (n <= 0) {
                        report_once(f, REPORT_WRITE, "write failed", n < 0 ? (int)-n : ENOSPC);
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

static bool changes_data(enum block_op op)
{
        return op == BLOCK_OP_WRITE || op == BLOCK_OP_DISCARD;
}

static void pause_for_permit(void)
{
        struct timespec ts = { 0, PERMIT_POLL_NS };
        nanosleep(&ts, NULL);
}

/* A write or discard leaves only under the gate's permit, asked right
 * before the system call; a wait is polled (what ends it, an
 * acknowledgement or the arbiter's answer, is the gate's to see). */
static enum permit ask_permit(struct block_file *f)
{
        bool waited = false;
        for (;;) {
                pthread_mutex_lock(&f->lock);
                struct permit_gate gate = f->gate;
                bool stopping = f->stopping;
                pthread_mutex_unlock(&f->lock);
                enum permit p = gate.begin ? gate.begin(gate.context) : PERMIT_GO;
                if (p != PERMIT_WAIT)
                        return p;
                if (stopping)
                        return PERMIT_NEVER;
                if (!waited)
                        count(f, &f->stats.permit_waits);
                waited = true;
                pause_for_permit();
        }
}

static void perform(struct block_file *f, struct block_job *j)
{
        uint8_t status = BLOCK_STATUS_IOERR;
        enum block_op op = j->request.op;
        if (changes_data(op) && !f->options.readonly) {
                enum permit p = ask_permit(f);
                if (p == PERMIT_NEVER) {
                        count(f, &f->stats.dropped);
                        report_once(f, REPORT_FENCED, "this replica is fenced: its writes are dropped", 0);
                        j->completion.status = BLOCK_STATUS_IOERR;
                        return;
                }
                status = op == BLOCK_OP_WRITE ? do_write(f, j) : do_discard(f, j);
                pthread_mutex_lock(&f->lock);
                struct permit_gate gate = f->gate;
                pthread_mutex_unlock(&f->lock);
                if (gate.end)
                        gate.end(gate.context);
        } else if (op == BLOCK_OP_READ) {
                status = do_read(f, j);
        } else if (op == BLOCK_OP_FLUSH) {
                status = do_flush(f);
        }
        j->completion.status = status;
}

/* The completion queue, then the eventfd, then the kick: a vCPU that wakes
 * for either finds the completion already queued. */
static void finish(struct block_file *f, struct block_job *j, unsigned worker)
{
        free(j->write_data);
        j->write_data = NULL;
        j->next = NULL;
        pthread_mutex_lock(&f->lock);
        f->running[worker] = NULL;
        *f->done_tail = j;
        f->done_tail = &j->next;
        pthread_cond_broadcast(&f->work);
        pthread_mutex_unlock(&f->lock);
        announce(f);
}

static bool overlap(const struct block_request *a, const struct block_request *b)
{
        if (a->op == BLOCK_OP_FLUSH || b->op == BLOCK_OP_FLUSH)
                return false;
        if (!changes_data(a->op) && !changes_data(b->op))
                return false;
        return a->sector < b->sector + b->sectors && b->sector < a->sector + a->sectors;
}

/* A job may start unless it overlaps one running or one queued before it. */
static bool may_start(const struct block_file *f, const struct block_job *j)
{
        for (unsigned w = 0; w < BLOCK_FILE_WORKERS; w++)
                if (f->running[w] && overlap(&f->running[w]->request, &j->request))
                        return false;
        for (const struct block_job *e = f->jobs; e != j; e = e->next)
                if (overlap(&e->request, &j->request))
                        return false;
        return true;
}

static struct block_job *next_job(struct block_file *f, unsigned worker)
{
        pthread_mutex_lock(&f->lock);
        for (;;) {
                struct block_job **link = &f->jobs;
                while (*link && !may_start(f, *link))
                        link = &(*link)->next;
                struct block_job *j = *link;
                if (j) {
                        *link = j->next;
                        if (!*link)
                                f->jobs_tail = link;
                        f->running[worker] = j;
                        pthread_mutex_unlock(&f->lock);
                        return j;
                }
                if (f->stopping && !f->jobs)
                        break;
                pthread_cond_wait(&f->work, &f->lock);
        }
        pthread_mutex_unlock(&f->lock);
        return NULL;
}

struct worker_start {
        struct block_file *f;
        unsigned index;
};

static void *worker(void *opaque)
{
        struct worker_start *start = opaque;
        struct block_file *f = start->f;
        unsigned index = start->index;
        free(start);
        struct block_job *j;
        while ((j = next_job(f, index))) {
                perform(f, j);
                finish(f, j, index);
        }
        return NULL;
}

static struct block_job *new_job(struct block_file *f, const struct block_request *r)
{
        struct block_job *j = calloc(1, sizeof(*j));
        if (!j)
                return NULL;
        j->file = f;
        j->request = *r;
        j->request.data = NULL;
        j->completion = (struct block_completion){ .device = r->device, .id = r->id };
        if (r->op == BLOCK_OP_WRITE && r->sectors) {
                size_t length = (size_t)r->sectors * BLOCK_SECTOR_SIZE;
                j->write_data = aligned_buffer(length);
                if (!j->write_data) {
                        free(j);
                        return NULL;
                }
                memcpy(j->write_data, r->data, length);
        }
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

static void enqueue(struct block_file *f, struct block_job *j)
{
        pthread_mutex_lock(&f->lock);
        j->next = NULL;
        *f->jobs_tail = j;
        f->jobs_tail = &j->next;
        pthread_cond_signal(&f->work);
        pthread_mutex_unlock(&f->lock);
}

static int submit(struct block_backend *b, const struct block_request *r)
{
        struct block_file *f = b->context;
        struct block_job *j = new_job(f, r);
        if (!j)
                return fail_without_memory(f, r);
        pthread_mutex_lock(&f->lock);
        f->in_flight++;
        pthread_mutex_unlock(&f->lock);
        enqueue(f, j);
        return 0;
}

static void release_held(struct held_output *h)
{
        struct block_job *j = (struct block_job *)((char *)h - offsetof(struct block_job, hold));
        enqueue(j->file, j);
}

static void discard_held(struct held_output *h)
{
        struct block_job *j = (struct block_job *)((char *)h - offsetof(struct block_job, hold));
        struct block_file *f = j->file;
        pthread_mutex_lock(&f->lock);
        f->in_flight--;
        pthread_mutex_unlock(&f->lock);
        free(j->write_data);
        free(j);
}

struct held_output *block_file__hold(struct block_file *f, const struct block_request *r)
{
        struct block_job *j = new_job(f, r);
        if (!j) {
                fail_without_memory(f, r);
                return NULL;
        }
        pthread_mutex_lock(&f->lock);
        f->in_flight++;
        pthread_mutex_unlock(&f->lock);
        j->hold = (struct held_output){ .release = release_held, .discard = discard_held };
        return &j->hold;
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

static int open_error(const char *path, bool readonly, char *err, size_t err_size)
{
        int e = errno;
        if (!readonly && (e == EACCES || e == EROFS || e == EPERM))
                return error_message(err, err_size, "--disk %s: %s (add ',readonly' for a read-only disk)",
                                     path, strerror(e));
        return error_message(err, err_size, "--disk %s: %s", path, strerror(e));
}

static int check_size(int fd, const char *path, uint64_t *size, char *err, size_t err_size)
{
        struct stat st;
        if (fstat(fd, &st) < 0 || file_size(fd, &st, size) < 0)
                return error_message(err, err_size, "--disk %s: not a regular file or block device", path);
        if (*size < BLOCK_SECTOR_SIZE)
                return error_message(err, err_size, "--disk %s: %llu bytes, less than one 512-byte sector",
                                     path, (unsigned long long)*size);
        return 0;
}

/* Both descriptors: O_DIRECT where the file system takes it (else O_DSYNC
 * serves every request), and O_DSYNC for what O_DIRECT refuses. */
static int open_file(struct block_file *f, const char *path, char *err, size_t err_size)
{
        int access = (f->options.readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC;
        f->dsync_fd = open(path, access | O_DSYNC);
        if (f->dsync_fd < 0)
                return open_error(path, f->options.readonly, err, err_size);
        if (check_size(f->dsync_fd, path, &f->size, err, err_size))
                return -1;
        if (f->options.cache == BLOCK_CACHE_DIRECT) {
                f->fd = open(path, access | O_DIRECT);
                f->direct = f->fd >= 0;
                if (!f->direct && errno != EINVAL)
                        return open_error(path, f->options.readonly, err, err_size);
                if (!f->direct)
                        fprintf(stderr, "ftvmm: disk %s: the file system refuses O_DIRECT; "
                                "writes complete once stable (O_DSYNC) instead\n", path);
        }
        if (!f->direct && (f->fd = dup(f->dsync_fd)) < 0)
                return error_message(err, err_size, "--disk %s: %s", path, strerror(errno));
        return 0;
}

int block_file__open(struct block_file *f, const char *path, const struct block_file_options *o,
                     char *err, size_t err_size)
{
        memset(f, 0, sizeof(*f));
        f->path = path;
        f->options = *o;
        f->fd = f->dsync_fd = f->event_fd = -1;
        f->jobs_tail = &f->jobs;
        f->done_tail = &f->done;
        f->backend = (struct block_backend){ .submit = submit, .context = f };
        pthread_mutex_init(&f->lock, NULL);
        pthread_cond_init(&f->work, NULL);
        if (open_file(f, path, err, err_size))
                return EXIT_NO_INPUT;
        f->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (f->event_fd < 0) {
                error_message(err, err_size, "--disk %s: eventfd: %s", path, strerror(errno));
                return EXIT_HOST_ERROR;
        }
        for (; f->worker_count < BLOCK_FILE_WORKERS; f->worker_count++) {
                struct worker_start *start = malloc(sizeof(*start));
                int rc = start ? 0 : ENOMEM;
                if (start) {
                        *start = (struct worker_start){ f, f->worker_count };
                        rc = pthread_create(&f->workers[f->worker_count], NULL, worker, start);
                        if (rc)
                                free(start);
                }
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
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                open_error(path, true, err, err_size);
                return EXIT_NO_INPUT;
        }
        int rc = check_size(fd, path, size, err, err_size);
        close(fd);
        if (rc)
                return EXIT_NO_INPUT;
        if (*size % BLOCK_SECTOR_SIZE)
                fprintf(stderr, "ftvmm: disk %s: %llu bytes is not a whole number of sectors; "
                        "the guest sees %llu sectors\n", path, (unsigned long long)*size,
                        (unsigned long long)(*size / BLOCK_SECTOR_SIZE));
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
        if (f->dsync_fd >= 0)
                close(f->dsync_fd);
        f->event_fd = f->fd = f->dsync_fd = -1;
        pthread_cond_destroy(&f->work);
        pthread_mutex_destroy(&f->lock);
}

uint64_t block_file__sectors(const struct block_file *f)
{
        return f->size / BLOCK_SECTOR_SIZE;
}

size_t block_file__take_completions(struct block_file *f, struct block_completion *out, size_t max)
{
        uint64_t counter;
        /* Reset the eventfd first: a completion queued after this read
         * makes it readable again. */
        if (read(f->event_fd, &counter, sizeof(counter)) < 0 && errno != EAGAIN)
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

static bool busy_locked(const struct block_file *f)
{
        if (f->jobs)
                return true;
        for (unsigned w = 0; w < BLOCK_FILE_WORKERS; w++)
                if (f->running[w])
                        return true;
        return false;
}

bool block_file__idle(struct block_file *f, int timeout_ms)
{
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += timeout_ms / 1000;
        until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
        if (until.tv_nsec >= 1000000000) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000;
        }
        pthread_mutex_lock(&f->lock);
        int rc = 0;
        while (busy_locked(f) && rc == 0)
                rc = pthread_cond_timedwait(&f->work, &f->lock, &until);
        bool idle = !busy_locked(f);
        pthread_mutex_unlock(&f->lock);
        return idle;
}

void block_file__set_gate(struct block_file *f, const struct permit_gate *gate)
{
        pthread_mutex_lock(&f->lock);
        f->gate = gate ? *gate : (struct permit_gate){ 0 };
        pthread_mutex_unlock(&f->lock);
}

struct block_file_stats block_file__stats(struct block_file *f)
{
        pthread_mutex_lock(&f->lock);
        struct block_file_stats s = f->stats;
        pthread_mutex_unlock(&f->lock);
        return s;
}

void block_completion__release(struct block_completion *c)
{
        free(c->data);
        c->data = NULL;
}

/* One option after the path: readonly, or cache=MODE. */
static int parse_option(const char *spec, const char *option, struct block_file_options *o,
                        char *err, size_t err_size)
{
        if (strcmp(option, "readonly") == 0)
                o->readonly = true;
        else if (strcmp(option, "cache=direct") == 0)
                o->cache = BLOCK_CACHE_DIRECT;
        else if (strcmp(option, "cache=dsync") == 0)
                o->cache = BLOCK_CACHE_DSYNC;
        else if (strncmp(option, "cache=", 6) == 0)
                return error_message(err, err_size, "--disk '%s': cache=%s: expected cache=direct or cache=dsync",
                                     spec, option + 6);
        else
                return error_message(err, err_size, "--disk '%s': unknown option '%s' "
                                     "(expected FILE[,readonly][,cache=direct|dsync])", spec, option);
        return 0;
}

int block_file__parse_spec(const char *spec, char **path, struct block_file_options *o,
                           char *err, size_t err_size)
{
        *o = (struct block_file_options){ .readonly = false, .cache = BLOCK_CACHE_DIRECT };
        *path = strdup(spec);
        if (!*path)
                return error_message(err, err_size, "--disk: out of memory");
        /* Options are taken from the end; a part with a slash belongs to
         * the path (a directory may have a comma in its name). */
        for (char *comma; (comma = strrchr(*path, ',')) && !strchr(comma, '/');) {
                if (parse_option(spec, comma + 1, o, err, err_size)) {
                        free(*path);
                        *path = NULL;
                        return -1;
                }
                *comma = '\0';
        }
        if (!(*path)[0]) {
                free(*path);
                *path = NULL;
                return error_message(err, err_size, "--disk '%s': expected FILE[,readonly][,cache=direct|dsync]",
                                     spec);
        }
        return 0;
}
