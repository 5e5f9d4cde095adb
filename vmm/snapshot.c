#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../replication/compression.h"
#include "device_states.h"
#include "error_message.h"
#include "exit_status.h"
#include "machine_description.h"

#define HEADER_SIZE 12

static int encode_ram(const struct machine *m, struct state_writer *w)
{
        state_writer__begin(w, "RAM ", 2);
        state_writer__u64(w, m->ram_size);
        int rc = compression__pack(m->ram, (size_t)m->ram_size, w);
        return rc ? rc : state_writer__end(w);
}

int snapshot__encode(const struct machine *m, const struct vcpu_state *vcpu,
                     struct state_writer *w)
{
        state_writer__bytes(w, SNAPSHOT_MAGIC, 8);
        state_writer__u32(w, SNAPSHOT_VERSION);
        state_writer__begin(w, "MACH", 3);
        state_writer__u64(w, m->ram_size);
        state_writer__u64(w, m->position);
        state_writer__u64(w, m->clock_ns);
        state_writer__u64(w, m->console.produced);
        int rc = state_writer__end(w);
        if (!rc) rc = machine_description__encode(m, &m->vm.cpu, w);
        if (!rc) rc = vcpu_state__save(vcpu, w);
        if (!rc) rc = device_states__save(m, w);
        if (!rc) rc = encode_ram(m, w);
        return rc;
}

static int check_header(const uint8_t *buf, size_t length, char *err, size_t err_size)
{
        if (length < HEADER_SIZE)
                return error_message(err, err_size, "snapshot truncated: %zu bytes, the header needs %d",
                            length, HEADER_SIZE);
        if (memcmp(buf, SNAPSHOT_MAGIC, 8) != 0)
                return error_message(err, err_size, "not an ftvmm snapshot (bad magic)");
        uint32_t version = (uint32_t)buf[8] | (uint32_t)buf[9] << 8 |
                           (uint32_t)buf[10] << 16 | (uint32_t)buf[11] << 24;
        if (version != SNAPSHOT_VERSION)
                return error_message(err, err_size, "snapshot format version %u, this build reads %u",
                            version, SNAPSHOT_VERSION);
        return 0;
}

struct machine_record {
        uint64_t ram_size, position, clock_ns, console_bytes;
};

static int read_machine_record(struct state_reader *r, struct machine_record *mr)
{
        if (state_reader__begin(r, "MACH", 3))
                return -1;
        mr->ram_size = state_reader__u64(r);
        mr->position = state_reader__u64(r);
        mr->clock_ns = state_reader__u64(r);
        mr->console_bytes = state_reader__u64(r);
        return state_reader__end(r);
}

int snapshot__ram_size(const uint8_t *buf, size_t length, uint64_t *ram_size,
                       char *err, size_t err_size)
{
        if (check_header(buf, length, err, err_size))
                return -1;
        struct state_reader r;
        state_reader__init(&r, buf, length);
        r.pos = HEADER_SIZE;
        struct machine_record mr;
        if (read_machine_record(&r, &mr))
                return error_message(err, err_size, "%s", r.error);
        *ram_size = mr.ram_size;
        return 0;
}

static int decode_ram(struct state_reader *r, struct machine *m)
{
        if (state_reader__begin(r, "RAM ", 2))
                return -1;
        uint64_t size = state_reader__u64(r);
        if (size != m->ram_size) {
                state_reader__fail(r, "RAM record holds %llu bytes, the machine has %llu",
                                   (unsigned long long)size, (unsigned long long)m->ram_size);
                return -1;
        }
        char why[160];
        size_t packed = state_reader__left(r);
        if (compression__unpack(r->buf + r->pos, packed, m->ram, m->ram_size, why, sizeof(why))) {
                state_reader__fail(r, "RAM record: %s", why);
                return -1;
        }
        r->pos = r->payload_end;
        return state_reader__end(r);
}

/* The machine description, which must fit this build. */
static int check_description(struct state_reader *r, struct machine *m, struct cpu_model *cpu,
                             char *err, size_t err_size)
{
        size_t start = r->pos;
        struct state_record_header h;
        char why[160];
        for (int i = 0; i < 3; i++) { /* VERS, DEVF, CPUM */
                if (state_record__check(r->buf + r->pos, r->length - r->pos, &h, why,
                                        sizeof(why)) != STATE_RECORD_COMPLETE) {
                        state_reader__begin(r, "VERS", 1); /* names the fault */
                        return error_message(err, err_size, "snapshot: %s", r->error), EXIT_BAD_IMAGE;
                }
                r->pos += STATE_RECORD_OVERHEAD + h.payload_length;
        }
        char why_not[384];
        int status = machine_description__check(m, r->buf + start, r->pos - start, cpu,
                                                why_not, sizeof(why_not));
        if (status)
                error_message(err, err_size, "snapshot: %s", why_not);
        return status;
}

/* Devices load into the machine directly: each load leaves its device
 * untouched on error, and a failed restore discards the machine anyway. */
int snapshot__decode(const uint8_t *buf, size_t length, struct machine *m,
                     struct vcpu_state *vcpu, struct snapshot_extras *extras,
                     char *err, size_t err_size)
{
        if (check_header(buf, length, err, err_size))
                return EXIT_BAD_IMAGE;
        struct state_reader r;
        state_reader__init(&r, buf, length);
        r.pos = HEADER_SIZE;
        struct machine_record mr;
        if (read_machine_record(&r, &mr))
                return error_message(err, err_size, "snapshot: %s", r.error), EXIT_BAD_IMAGE;
        if (mr.ram_size != m->ram_size)
                return error_message(err, err_size, "snapshot RAM size %llu does not match the machine's %llu",
                                     (unsigned long long)mr.ram_size,
                                     (unsigned long long)m->ram_size), EXIT_BAD_IMAGE;
        int status = check_description(&r, m, &extras->cpu, err, err_size);
        if (status)
                return status;
        int rc = vcpu_state__load(vcpu, &r);
        if (!rc) rc = device_states__load(m, &r);
        if (!rc) rc = decode_ram(&r, m);
        if (rc)
                return error_message(err, err_size, "snapshot: %s", r.error), EXIT_BAD_IMAGE;
        if (r.pos != length)
                return error_message(err, err_size, "snapshot has %zu bytes after its last record",
                                     length - r.pos), EXIT_BAD_IMAGE;
        m->position = mr.position;
        m->clock_ns = mr.clock_ns;
        m->console.produced = mr.console_bytes;
        dirty_pages__mark_all(&m->dirty, m->ram_size);
        return 0;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
        while (n) {
                ssize_t done = write(fd, p, n);
                if (done < 0 && errno == EINTR)
                        continue;
                if (done <= 0)
                        return -1;
                p += done;
                n -= (size_t)done;
        }
        return 0;
}

int snapshot__save_file(struct machine *m, const char *path, char *err, size_t err_size)
{
        struct vcpu_state *vcpu = malloc(sizeof(*vcpu));
        if (!vcpu)
                return error_message(err, err_size, "out of memory"), EXIT_HOST_ERROR;
        int rc = vcpu_state__get(&m->vm, vcpu);
        if (rc) {
                free(vcpu);
                return error_message(err, err_size, "reading the vCPU state: %s", strerror(-rc)),
                       EXIT_HOST_ERROR;
        }
        struct state_writer w;
        state_writer__init(&w);
        rc = snapshot__encode(m, vcpu, &w);
        free(vcpu);
        if (rc) {
                state_writer__release(&w);
                return error_message(err, err_size, "encoding the snapshot: %s", strerror(-rc)),
                       EXIT_HOST_ERROR;
        }
        /* Write beside the target and rename, so a crash never leaves a
         * half-written snapshot under the requested name. */
        char tmp[4096];
        snprintf(tmp, sizeof(tmp), "%s.partial", path);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        int status = 0;
        if (fd < 0 || write_all(fd, w.buf, w.length) || fsync(fd) || close(fd) ||
            rename(tmp, path)) {
                error_message(err, err_size, "%s: %s", path, strerror(errno));
                status = EXIT_HOST_ERROR;
                unlink(tmp);
        }
        state_writer__release(&w);
        return status;
}

int snapshot__read_file(const char *path, uint8_t **buf, size_t *length,
                        char *err, size_t err_size)
{
        *buf = NULL;
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return error_message(err, err_size, "%s: %s", path, strerror(errno)), EXIT_NO_INPUT;
        struct stat st;
        int status = 0;
        if (fstat(fd, &st) || !S_ISREG(st.st_mode) ||
            (uint64_t)st.st_size > SNAPSHOT_MAX_FILE_SIZE) {
                error_message(err, err_size, "%s: not a regular file of a plausible size", path);
                status = EXIT_BAD_IMAGE;
        } else if (!(*buf = malloc(st.st_size ? (size_t)st.st_size : 1))) {
                error_message(err, err_size, "%s: out of memory", path);
                status = EXIT_HOST_ERROR;
        } else {
                *length = 0;
                while (*length < (size_t)st.st_size) {
                        ssize_t n = read(fd, *buf + *length, (size_t)st.st_size - *length);
                        if (n <= 0) {
                                error_message(err, err_size, "%s: read failed", path);
                                status = EXIT_NO_INPUT;
                                break;
                        }
                        *length += (size_t)n;
                }
        }
        close(fd);
        return status;
}
