#include "machine_description.h"

#include <string.h>

#include "device_states.h"
#include "error_message.h"
#include "exit_status.h"
#include "version.h"

#define MAX_DEVICES 32

int machine_description__encode(const struct machine *m, const struct cpu_model *cpu,
                                struct state_writer *w)
{
        state_writer__begin(w, "VERS", 1);
        state_writer__u16(w, (uint16_t)strlen(FTVMM_VERSION));
        state_writer__bytes(w, FTVMM_VERSION, strlen(FTVMM_VERSION));
        int rc = state_writer__end(w);
        struct state_record_header formats[MAX_DEVICES];
        size_t n = device_states__formats(m, formats, MAX_DEVICES);
        state_writer__begin(w, "DEVF", 1);
        state_writer__u16(w, (uint16_t)n);
        for (size_t i = 0; i < n; i++) {
                state_writer__bytes(w, formats[i].tag, 4);
                state_writer__u16(w, formats[i].version);
        }
        if (!rc) rc = state_writer__end(w);
        if (!rc) rc = cpu_model__save(cpu, w);
        return rc;
}

static int check_version(struct state_reader *r, char *err, size_t err_size)
{
        char version[64] = { 0 };
        if (state_reader__begin(r, "VERS", 1))
                return -1;
        uint16_t length = state_reader__u16(r);
        if (length >= sizeof(version))
                state_reader__fail(r, "a version of %u characters", length);
        else
                state_reader__bytes(r, version, length);
        if (state_reader__end(r))
                return -1;
        if (strcmp(version, FTVMM_VERSION) != 0)
                return error_message(err, err_size, "written by ftvmm %s; this is ftvmm %s, whose device models may differ",
                                     version, FTVMM_VERSION), EXIT_REFUSED;
        return 0;
}

static int check_formats(const struct machine *m, struct state_reader *r, char *err, size_t err_size)
{
        struct state_record_header ours[MAX_DEVICES];
        size_t n = device_states__formats(m, ours, MAX_DEVICES);
        if (state_reader__begin(r, "DEVF", 1))
                return -1;
        uint16_t count = state_reader__u16(r);
        int status = 0;
        for (uint16_t i = 0; i < count && state_reader__ok(r); i++) {
                char tag[5] = { 0 };
                state_reader__bytes(r, tag, 4);
                uint16_t version = state_reader__u16(r);
                if (!status && i >= n && memcmp(tag, "VBLK", 4) == 0)
                        status = error_message(err, err_size, "the saved machine has a virtio-blk disk and this one has none "
                                               "(give it the same disk with --disk)");
                else if (!status && (i >= n || memcmp(tag, ours[i].tag, 4) || version != ours[i].version))
                        status = error_message(err, err_size, "device %u is '%s' version %u; this build has %s",
                                               i, tag, version, i < n ? ours[i].tag : "no such device");
        }
        if (state_reader__end(r))
                return -1;
        if (!status && count < n && memcmp(ours[count].tag, "VBLK", 4) == 0)
                status = error_message(err, err_size, "this machine has a disk (--disk) and the saved one has none");
        else if (!status && count != n)
                status = error_message(err, err_size, "%u devices; this build has %zu", count, n);
        return status ? EXIT_REFUSED : 0;
}

int machine_description__check(const struct machine *m, const uint8_t *bytes, size_t length,
                               struct cpu_model *cpu, char *err, size_t err_size)
{
        struct state_reader r;
        state_reader__init(&r, bytes, length);
        int status = check_version(&r, err, err_size);
        if (!status)
                status = check_formats(m, &r, err, err_size);
        if (!status && cpu_model__load(cpu, &r))
                status = -1;
        if (!status && r.pos != length)
                state_reader__fail(&r, "%zu bytes after the CPU model", length - r.pos), status = -1;
        if (status == -1)
                return error_message(err, err_size, "machine description: %s", r.error), EXIT_BAD_IMAGE;
        return status;
}
