#include "command.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "exit_status.h"
#include "host_kvm.h"
#include "snapshot.h"

int command__open_console(const struct run_options *opts, int *fd)
{
        if (!opts->console_path) {
                *fd = STDOUT_FILENO;
                return 0;
        }
        *fd = open(opts->console_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (*fd < 0) {
                fprintf(stderr, "ftvmm: --console %s: %s\n", opts->console_path, strerror(errno));
                return EXIT_NO_INPUT;
        }
        return 0;
}

void command__close_console(int fd)
{
        if (fd != STDOUT_FILENO)
                close(fd);
}

const char *command__console_name(const struct run_options *opts)
{
        return opts->console_path ? opts->console_path : "stdout";
}

static int guest_exit_code(const struct run_options *opts, uint32_t status)
{
        if (opts->exit_status == EXIT_STATUS_QEMU)
                return (int)(((status << 1) | 1) & 0xff);
        if (status > EXIT_GUEST_MAX) {
                fprintf(stderr, "ftvmm: guest exit status %u reported as %d\n", status,
                        EXIT_GUEST_MAX);
                return EXIT_GUEST_MAX;
        }
        return (int)status;
}

static const int exit_codes[] = {
        [RUN_GUEST_CRASHED] = EXIT_GUEST_CRASHED,
        [RUN_TIMED_OUT] = EXIT_TIMEOUT,
        [RUN_STOPPED_AT_POSITION] = 0,
        [RUN_DIVERGED] = EXIT_DIVERGED,
        [RUN_LOG_ENDED] = EXIT_LOG_CUT_SHORT,
        [RUN_LOG_CORRUPT] = EXIT_BAD_IMAGE,
        [RUN_LOG_FAILED] = EXIT_LOG_FAILED,
        [RUN_REFUSED] = EXIT_REFUSED,
        [RUN_LOST_ARBITER] = EXIT_LOST_ARBITER,
        [RUN_HOST_ERROR] = EXIT_HOST_ERROR,
};

int command__exit_code(const struct run_options *opts, const char *who,
                       const struct run_result *r)
{
        if (r->outcome == RUN_GUEST_EXITED)
                return guest_exit_code(opts, r->guest_status);
        fprintf(stderr, "ftvmm: %s: %s\n", who, r->message);
        return exit_codes[r->outcome];
}

void command__print_stats(const struct machine *m, const struct session *s,
                          const struct run_result *r)
{
        const struct exit_counts *e = &r->exits;
        fprintf(stderr,
                "ftvmm: %.3f s, position %llu; exits: %llu port I/O, %llu MMIO, %llu HLT, "
                "%llu interrupt window, %llu kicks, %llu other; %llu interrupts injected\n",
                (double)r->elapsed_ns / 1e9, (unsigned long long)m->position,
                (unsigned long long)e->pio, (unsigned long long)e->mmio,
                (unsigned long long)e->hlt, (unsigned long long)e->irq_window,
                (unsigned long long)e->kicks, (unsigned long long)e->other,
                (unsigned long long)e->interrupts_injected);
        if (m->disk) {
                const struct virtio_blk_counters *d = &m->disk->device.counters;
                fprintf(stderr, "ftvmm: disk: %llu requests, %llu completed (%llu with an error, "
                        "%llu uncertain), %llu stale completions dropped\n",
                        (unsigned long long)d->requests, (unsigned long long)d->completions,
                        (unsigned long long)d->errors, (unsigned long long)d->uncertain,
                        (unsigned long long)d->stale);
        }
        if (e->unclaimed)
                fprintf(stderr, "ftvmm: %llu unclaimed accesses to %llu addresses, answered as no device\n",
                        (unsigned long long)e->unclaimed, (unsigned long long)e->unclaimed_addresses);
        const struct session_counters *c = &s->counters;
        if (!c->epochs)
                return;
        fprintf(stderr,
                "ftvmm: %llu epochs, %llu of them checkpoints carrying %llu pages in %llu bytes "
                "(%.3f ms each); %llu memory hashes\n",
                (unsigned long long)c->epochs, (unsigned long long)c->checkpoints,
                (unsigned long long)c->checkpoint_pages, (unsigned long long)c->checkpoint_bytes,
                c->checkpoints ? (double)c->checkpoint_ns / 1e6 / (double)c->checkpoints : 0.0,
                (unsigned long long)c->memory_hashes);
}

void command__boot_files_digest(const struct boot_files *files, uint8_t out[16])
{
        XXH3_state_t *state = XXH3_createState();
        XXH128_hash_t h = { 0, 0 };
        if (state && XXH3_128bits_reset(state) == XXH_OK &&
            XXH3_128bits_update(state, files->image, files->image_size) == XXH_OK &&
            (!files->initrd || XXH3_128bits_update(state, files->initrd, files->initrd_size) == XXH_OK))
                h = XXH3_128bits_digest(state);
        XXH3_freeState(state);
        XXH128_canonical_t canonical;
        XXH128_canonicalFromHash(&canonical, h);
        memcpy(out, canonical.digest, 16);
}

static double seconds_since(uint64_t start_ns)
{
        return (double)(session__host_ns() - start_ns) / 1e9;
}

int command__save_snapshot(struct machine *m, const struct run_options *opts)
{
        char err[512];
        uint64_t start = session__host_ns();
        int status = snapshot__save_file(m, opts->snapshot_path, err, sizeof(err));
        if (status) {
                fprintf(stderr, "ftvmm: %s\n", err);
                return status;
        }
        fprintf(stderr, "ftvmm: stopped at position %llu; machine saved to %s\n",
                (unsigned long long)m->position, opts->snapshot_path);
        if (opts->stats)
                fprintf(stderr, "ftvmm: snapshot of %llu MiB of RAM saved in %.3f s\n",
                        (unsigned long long)(m->ram_size >> 20), seconds_since(start));
        return 0;
}

int command__machine_from_snapshot(struct machine *m, const uint8_t *snapshot, size_t length,
                                   const char *name, int console_fd, const char *console_name,
                                   const char *disk_spec, char *err, size_t err_size)
{
        uint64_t ram_size;
        char why[384];
        if (snapshot__ram_size(snapshot, length, &ram_size, why, sizeof(why))) {
                snprintf(err, err_size, "%s: %s", name, why);
                return EXIT_BAD_IMAGE;
        }
        int status = machine__create(m, ram_size, environment__live(), console_fd,
                                     console_name, err, err_size);
        /* A backup's shared disk stays closed until its promotion. */
        if (!status && disk_spec)
                status = machine__add_disk(m, disk_spec, false, err, err_size);
        struct vcpu_state *vcpu = status ? NULL : malloc(sizeof(*vcpu));
        struct snapshot_extras *extras = status ? NULL : malloc(sizeof(*extras));
        if (!status && (!vcpu || !extras)) {
                snprintf(err, err_size, "out of memory");
                status = EXIT_HOST_ERROR;
        }
        if (!status) {
                status = snapshot__decode(snapshot, length, m, vcpu, extras, why, sizeof(why));
                if (status)
                        snprintf(err, err_size, "%s: %s", name, why);
        }
        if (!status)
                status = machine__start(m, vcpu, &extras->cpu, err, err_size);
        free(vcpu);
        free(extras);
        return status;
}

int command__read_boot_files(const struct run_options *opts, struct boot_files *files,
                             char *err, size_t err_size)
{
        memset(files, 0, sizeof(*files));
        int status = machine__read_image(opts->image, &files->image, &files->image_size,
                                         err, err_size);
        if (!status && opts->initrd_path)
                status = machine__read_image(opts->initrd_path, &files->initrd, &files->initrd_size,
                                             err, err_size);
        if (!status && !opts->force_emulated_ring0 &&
            pvh_loader__is_linux(files->image, files->image_size) && host_kvm__emulates_ring0()) {
                host_kvm__linux_refusal(err, err_size, opts->image);
                status = EXIT_KVM_UNAVAILABLE;
        }
        return status;
}

void command__release_boot_files(struct boot_files *files)
{
        free(files->image);
        free(files->initrd);
        memset(files, 0, sizeof(*files));
}

int command__load_boot_files(struct machine *m, const struct run_options *opts,
                             const struct boot_files *files, char *err, size_t err_size)
{
        int status = machine__load_image_bytes(m, opts->image, files->image, files->image_size,
                                               opts->cmdline, err, err_size);
        if (!status && files->initrd)
                status = machine__load_initrd_bytes(m, opts->initrd_path, files->initrd,
                                                    files->initrd_size, err, err_size);
        return status;
}
