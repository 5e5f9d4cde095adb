#include "status_server.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../replication/session_backup.h"
#include "machine.h"

static void from_primary(struct primary *p, struct status_report *st)
{
        struct primary_status ps;
        primary__status(p, &ps);
        st->protection = primary__state_name(ps.state);
        st->generation = ps.generation;
        st->position = ps.position;
        st->epochs = p->rec.base.counters.epochs;
        st->checkpoints = p->rec.base.counters.checkpoints;
        st->lag_positions = ps.lag_positions;
        st->lag_ms = ps.lag_ms;
        st->log_bytes = ps.log_bytes;
        st->output_held = ps.output_held;
        st->output_released = ps.output_released;
        st->acked_seq = ps.acked_seq;
        st->backups_joined = ps.backups_joined;
        st->backups_lost = ps.backups_lost;
}

static void from_backup(struct backup *b, struct status_report *st)
{
        if (__atomic_load_n(&b->promoted_flag, __ATOMIC_ACQUIRE)) {
                from_primary(&b->promoted, st);
                st->role = "primary (promoted)";
                return;
        }
        st->role = "backup";
        struct backup_status bs;
        backup__status(b, &bs);
        st->protection = bs.protection;
        st->generation = bs.generation;
        st->acked_seq = bs.acked_seq;
        st->output_released = bs.release_mark;
        st->position = bs.position;
        if (__atomic_load_n(&b->executing, __ATOMIC_ACQUIRE)) {
                st->epochs = b->replay.base.counters.epochs;
                st->checkpoints = b->replay.base.counters.checkpoints;
        }
        st->log_bytes = __atomic_load_n(&b->link.bytes_received, __ATOMIC_RELAXED);
}

static void gather(struct status_server *s, struct status_report *st)
{
        memset(st, 0, sizeof(*st));
        st->role = "starting";
        st->protection = "none";
        pthread_mutex_lock(&s->lock);
        if (s->primary) {
                st->role = "primary";
                from_primary(s->primary, st);
        } else if (s->backup) {
                from_backup(s->backup, st);
        }
        pthread_mutex_unlock(&s->lock);
        st->seconds = (double)(session__host_ns() - s->started_ns) / 1e9;
        st->log_bytes_per_s = st->seconds > 0 ? st->log_bytes / st->seconds : 0;
}

struct out {
        char *buf;
        size_t size, length;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
        if (o->length >= o->size)
                return;
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(o->buf + o->length, o->size - o->length, fmt, ap);
        va_end(ap);
        if (n > 0)
                o->length += (size_t)n < o->size - o->length ? (size_t)n : o->size - o->length - 1;
}

static void metric_header(struct out *o, const char *name, const char *type, const char *help)
{
        put(o, "# HELP ftvmm_%s %s\n# TYPE ftvmm_%s %s\n", name, help, name, type);
}

static void metric(struct out *o, const char *name, const char *type, const char *help, uint64_t value)
{
        metric_header(o, name, type, help);
        put(o, "ftvmm_%s %llu\n", name, (unsigned long long)value);
}

/* Milliseconds as seconds, exactly (a double would print 0.017 as
 * 0.017000000000000001). */
static void metric_ms_as_seconds(struct out *o, const char *name, const char *help, uint64_t ms)
{
        metric_header(o, name, "gauge", help);
        put(o, "ftvmm_%s %llu.%03llu\n", name, (unsigned long long)(ms / 1000),
            (unsigned long long)(ms % 1000));
}

static void report_metrics(const struct status_report *st, struct out *o)
{
        put(o, "# HELP ftvmm_role The role this replica plays (the labelled one is 1).\n"
               "# TYPE ftvmm_role gauge\nftvmm_role{role=\"%s\",protection=\"%s\"} 1\n",
            st->role, st->protection);
        metric(o, "protected", "gauge", "1 while a backup acknowledges the log before output leaves.",
               strcmp(st->protection, "protected") == 0);
        metric(o, "generation", "gauge", "The arbiter generation this replica holds or follows.",
               st->generation);
        metric(o, "position", "gauge", "Deterministic exits the guest has made (executed, on a backup).",
               st->position);
        metric(o, "epochs_total", "counter", "Epochs ended, checkpoint epochs included.", st->epochs);
        metric(o, "checkpoints_total", "counter", "Checkpoint epochs.", st->checkpoints);
        metric(o, "backup_lag_positions", "gauge", "How many positions the backup executes behind.",
               st->lag_positions);
        metric_ms_as_seconds(o, "backup_lag_seconds", "How long ago the primary was where the backup is.",
                             st->lag_ms);
        metric(o, "log_bytes_total", "counter", "Log bytes sent (primary) or received (backup).",
               st->log_bytes);
        metric(o, "output_held_bytes", "gauge", "Console bytes waiting for the log to be acknowledged.",
               st->output_held);
        metric(o, "output_released_bytes_total", "counter",
               "Console bytes the outside world has seen (the release mark).", st->output_released);
        metric(o, "acknowledged_seq", "gauge", "The last log record the backup acknowledged.",
               st->acked_seq);
        metric(o, "backups_joined_total", "counter", "Backups that joined this primary.",
               st->backups_joined);
        metric(o, "backups_lost_total", "counter", "Backups this primary lost.", st->backups_lost);
}

size_t status_server__report(struct status_server *s, const char *format, char *buf, size_t size)
{
        struct status_report st;
        gather(s, &st);
        return status_report__format(&st, format, buf, size);
}

size_t status_report__format(const struct status_report *report, const char *format, char *buf,
                             size_t size)
{
        const struct status_report st = *report;
        struct out o = { .buf = buf, .size = size };
        buf[0] = '\0';
        if (strcmp(format, "metrics") == 0) {
                report_metrics(&st, &o);
        } else if (strcmp(format, "json") == 0) {
                put(&o, "{\"role\":\"%s\",\"protection\":\"%s\",\"generation\":%llu,\"position\":%llu,"
                        "\"epochs\":%llu,\"checkpoints\":%llu,\"backup_lag_positions\":%llu,"
                        "\"backup_lag_ms\":%llu,\"log_bytes\":%llu,\"log_bytes_per_s\":%.0f,"
                        "\"output_held_bytes\":%llu,\"output_released_bytes\":%llu,"
                        "\"acknowledged_seq\":%llu,\"backups_joined\":%llu,\"backups_lost\":%llu}\n",
                    st.role, st.protection, (unsigned long long)st.generation,
                    (unsigned long long)st.position, (unsigned long long)st.epochs,
                    (unsigned long long)st.checkpoints, (unsigned long long)st.lag_positions,
                    (unsigned long long)st.lag_ms, (unsigned long long)st.log_bytes, st.log_bytes_per_s,
                    (unsigned long long)st.output_held, (unsigned long long)st.output_released,
                    (unsigned long long)st.acked_seq, (unsigned long long)st.backups_joined,
                    (unsigned long long)st.backups_lost);
        } else {
                put(&o, "role: %s\nprotection: %s\ngeneration: %llu\nposition: %llu\nepochs: %llu (%llu checkpoints)\n"
                        "backup lag: %llu positions, %llu ms\nlog: %llu bytes, %.0f bytes/s\n"
                        "output: %llu bytes held, %llu released\n",
                    st.role, st.protection, (unsigned long long)st.generation,
                    (unsigned long long)st.position, (unsigned long long)st.epochs,
                    (unsigned long long)st.checkpoints, (unsigned long long)st.lag_positions,
                    (unsigned long long)st.lag_ms, (unsigned long long)st.log_bytes, st.log_bytes_per_s,
                    (unsigned long long)st.output_held, (unsigned long long)st.output_released);
        }
        return o.length;
}

static void answer(struct status_server *s, int fd)
{
        char request[32] = "";
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, 1000) == 1) {
                ssize_t n = read(fd, request, sizeof(request) - 1);
                request[n > 0 ? n : 0] = '\0';
                request[strcspn(request, "\r\n")] = '\0';
        }
        char reply[4096];
        size_t n = status_server__report(s, request, reply, sizeof(reply));
        ssize_t ignored = write(fd, reply, n);
        (void)ignored;
}

static void *serve(void *arg)
{
        struct status_server *s = arg;
        for (;;) {
                int fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
                if (fd < 0) {
                        if (errno == EINTR || errno == ECONNABORTED)
                                continue;
                        return NULL; /* the socket was shut down */
                }
                answer(s, fd);
                close(fd);
        }
}

int status_server__start(struct status_server *s, const char *path, char *err, size_t err_size)
{
        memset(s, 0, sizeof(*s));
        pthread_mutex_init(&s->lock, NULL);
        s->started_ns = session__host_ns();
        struct sockaddr_un addr = { .sun_family = AF_UNIX };
        if (strlen(path) >= sizeof(addr.sun_path)) {
                snprintf(err, err_size, "--control %s: longer than %zu bytes", path,
                         sizeof(addr.sun_path) - 1);
                return -1;
        }
        snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
        snprintf(s->path, sizeof(s->path), "%s", path);
        unlink(path); /* a stale socket of a replica that is gone */
        s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
            listen(s->fd, 8) < 0 || pthread_create(&s->thread, NULL, serve, s) != 0) {
                snprintf(err, err_size, "--control %s: %s", path, strerror(errno));
                if (s->fd >= 0)
                        close(s->fd);
                return -1;
        }
        s->started = true;
        return 0;
}

void status_server__serve_primary(struct status_server *s, struct primary *p)
{
        pthread_mutex_lock(&s->lock);
        s->primary = p;
        pthread_mutex_unlock(&s->lock);
}

void status_server__serve_backup(struct status_server *s, struct backup *b)
{
        pthread_mutex_lock(&s->lock);
        s->backup = b;
        pthread_mutex_unlock(&s->lock);
}

void status_server__stop(struct status_server *s)
{
        if (!s->started)
                return;
        shutdown(s->fd, SHUT_RDWR);
        pthread_join(s->thread, NULL);
        close(s->fd);
        unlink(s->path);
        s->started = false;
}
