/* `ftvmm launch`: one replica of a replicated pair, primary or backup
 * (replication/session_primary.h, session_backup.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../replication/arbiter.h"
#include "../replication/event_log.h"
#include "../replication/service_notify.h"
#include "../replication/session_backup.h"
#include "../replication/tcp.h"
#include "command.h"
#include "exit_status.h"
#include "machine_control.h"
#include "status_server.h"

struct replica {
        struct machine m;
        struct arbiter_directory arbiter;
        struct primary_options popts;
        struct primary primary;
        struct backup backup;
        struct status_server status;
        char name[80];
        int listen_fd;
};

static void default_name(char *out, size_t size)
{
        char host[64] = "host";
        gethostname(host, sizeof(host) - 1);
        host[sizeof(host) - 1] = '\0';
        snprintf(out, size, "%s:%d", host, (int)getpid());
}

static void pair_options(struct replica *r, const struct run_options *opts)
{
        if (opts->name)
                snprintf(r->name, sizeof(r->name), "%s", opts->name);
        else
                default_name(r->name, sizeof(r->name));
        r->popts = (struct primary_options){
                .record = { .epoch_ns = (uint64_t)(opts->epoch_ms * 1e6),
                            .max_stall_ns = (uint64_t)(opts->max_stall_ms * 1e6),
                            .verify_every = opts->verify_every },
                .heartbeat_ns = (uint64_t)(opts->heartbeat_ms * 1e6),
                .failure_timeout_ns = (uint64_t)(opts->failure_timeout_ms * 1e6),
                .max_lag_ns = (uint64_t)(opts->max_lag_ms * 1e6),
                .name = r->name,
        };
}

static int run_loop(struct replica *r, struct session *s, const struct run_options *opts)
{
        struct run_limits limits = { .timeout_ns = (uint64_t)(opts->timeout_seconds * 1e9),
                                     .stop_at_position = RUN_NO_POSITION_LIMIT,
                                     .strict_io = opts->strict_io };
        struct run_result result;
        vcpu_loop__run(&r->m, s, &limits, &result);
        if (opts->stats)
                command__print_stats(&r->m, s, &result);
        return command__exit_code(opts, opts->role == ROLE_PRIMARY ? "primary" : "backup", &result);
}

static int boot(struct replica *r, const struct run_options *opts, int console_fd,
                char *err, size_t err_size)
{
        struct boot_files files;
        int status = command__read_boot_files(opts, &files, err, err_size);
        if (!status)
                status = machine__create(&r->m, opts->mem_bytes, environment__live(), console_fd,
                                         command__console_name(opts), err, err_size);
        if (!status && opts->disk_spec)
                status = machine__add_disk(&r->m, opts->disk_spec, true, err, err_size);
        if (!status)
                status = command__load_boot_files(&r->m, opts, &files, err, err_size);
        if (!status) {
                struct pair_identity *id = &r->popts.identity;
                command__boot_files_digest(&files, id->image_digest);
                id->ram_size = r->m.ram_size;
                id->disk_sectors = r->m.disk ? r->m.disk->device.config.capacity : 0;
        }
        command__release_boot_files(&files);
        if (!status)
                status = machine__start(&r->m, NULL, NULL, err, err_size);
        return status;
}

/* What a backup was given of its pair: the primary must match it. */
static int expected_identity(const struct run_options *opts, struct pair_identity *id, char *err,
                             size_t err_size)
{
        memset(id, 0, sizeof(*id));
        if (opts->mem_given)
                id->ram_size = opts->mem_bytes;
        if (opts->image) {
                struct boot_files files;
                int status = command__read_boot_files(opts, &files, err, err_size);
                if (status)
                        return status;
                command__boot_files_digest(&files, id->image_digest);
                command__release_boot_files(&files);
        }
        if (opts->disk_spec) {
                char *path;
                struct block_file_options disk;
                uint64_t size;
                if (block_file__parse_spec(opts->disk_spec, &path, &disk, err, err_size))
                        return EXIT_USAGE;
                int status = block_file__probe(path, &size, err, err_size);
                free(path);
                if (status)
                        return status;
                id->disk_sectors = size / BLOCK_SECTOR_SIZE;
        }
        return 0;
}

/* A replica fenced after its run ended (waiting for its backup to hold
 * the guest's end) released nothing more, and another replica owns the
 * guest: it must not report the guest's end as its own. */
static int fence_outranks(struct primary *p, const char *who, bool fenced, int status)
{
        if (!fenced || status == EXIT_LOST_ARBITER)
                return status;
        fprintf(stderr, "ftvmm: %s: %s; the guest's last output was not released here\n", who,
                primary__fence_reason(p));
        return EXIT_LOST_ARBITER;
}

static int run_primary(struct replica *r, const struct run_options *opts, int console_fd)
{
        char err[512];
        int status = boot(r, opts, console_fd, err, sizeof(err));
        if (!status)
                status = primary__start(&r->primary, &r->m, &machine_control__kvm,
                                        environment__live(), &r->popts, &r->arbiter.arbiter,
                                        r->listen_fd, err, sizeof(err));
        if (status) {
                fprintf(stderr, "ftvmm: %s\n", err);
                return status;
        }
        status_server__serve_primary(&r->status, &r->primary);
        if (!opts->no_wait) {
                event_log("primary", "waiting for a backup on %s before starting the guest",
                          opts->listen_address);
                primary__wait_for_backup(&r->primary, -1);
        } else {
                service_notify__ready("primary: running unprotected until a backup joins");
        }
        status = run_loop(r, &r->primary.rec.base, opts);
        bool fenced = primary__finish(&r->primary, status == EXIT_TIMEOUT);
        if (opts->stats)
                primary__print_stats(&r->primary, "primary");
        return fence_outranks(&r->primary, "primary", fenced, status);
}

static int follow_primary(struct replica *r, const struct run_options *opts, int console_fd,
                          char *err, size_t err_size)
{
        int timeout_ms = (int)(opts->connect_timeout_s * 1000);
        struct pair_identity expected;
        int status = expected_identity(opts, &expected, err, err_size);
        if (status)
                return status;
        int fd = tcp__connect(opts->connect_address, timeout_ms, err, err_size);
        if (fd < 0)
                return EXIT_HOST_ERROR;
        status = backup__connect(&r->backup, fd, &r->popts, &expected,
                                 opts->uncertain_error ? UNCERTAIN_ERROR : UNCERTAIN_REISSUE,
                                 &r->arbiter.arbiter, err, err_size);
        if (!status)
                status_server__serve_backup(&r->status, &r->backup);
        struct log_entry first;
        if (!status)
                status = backup__first_record(&r->backup, timeout_ms, &first, err, err_size);
        if (!status)
                status = command__machine_from_snapshot(&r->m, first.state.data,
                                                        (size_t)first.state.length, "the primary's machine state",
                                                        console_fd, command__console_name(opts),
                                                        opts->disk_spec, err, err_size);
        if (!status)
                status = backup__start(&r->backup, &r->m, &machine_control__kvm, environment__live(),
                                       r->listen_fd, err, err_size);
        return status;
}

static int run_backup(struct replica *r, const struct run_options *opts, int console_fd)
{
        char err[512];
        int status = follow_primary(r, opts, console_fd, err, sizeof(err));
        if (status) {
                fprintf(stderr, "ftvmm: %s\n", err);
                return status;
        }
        status = run_loop(r, backup__session(&r->backup), opts);
        if (r->backup.promoted_flag) {
                bool fenced = primary__finish(&r->backup.promoted, status == EXIT_TIMEOUT);
                if (opts->stats)
                        primary__print_stats(&r->backup.promoted, "promoted backup");
                r->backup.promoted_flag = false; /* finished */
                status = fence_outranks(&r->backup.promoted, "promoted backup", fenced, status);
        }
        backup__finish(&r->backup);
        return status;
}

static int launch(const struct run_options *opts, int console_fd)
{
        struct replica *r = calloc(1, sizeof(*r));
        if (!r)
                return EXIT_HOST_ERROR;
        r->m = MACHINE_UNCREATED;
        r->listen_fd = -1;
        pair_options(r, opts);
        char err[512];
        int status = 0;
        if (arbiter_directory__open(&r->arbiter, opts->arbiter_path, err, sizeof(err)))
                status = EXIT_NO_INPUT;
        if (!status && opts->listen_address &&
            (r->listen_fd = tcp__listen(opts->listen_address, err, sizeof(err))) < 0)
                status = EXIT_HOST_ERROR;
        if (!status && opts->control_path &&
            status_server__start(&r->status, opts->control_path, err, sizeof(err)))
                status = EXIT_HOST_ERROR;
        if (status)
                fprintf(stderr, "ftvmm launch: %s\n", err);
        else
                status = opts->role == ROLE_PRIMARY ? run_primary(r, opts, console_fd)
                                                    : run_backup(r, opts, console_fd);
        status_server__stop(&r->status);
        if (r->listen_fd >= 0)
                close(r->listen_fd);
        machine__destroy(&r->m);
        free(r);
        return status;
}

int cmd_launch(int argc, char **argv)
{
        struct run_options opts;
        char err[256];
        if (options__parse_launch(argc, argv, &opts, err, sizeof(err)) < 0) {
                fprintf(stderr, "ftvmm launch: %s\nTry 'ftvmm launch --help'.\n", err);
                return EXIT_USAGE;
        }
        if (opts.help) {
                fputs(options__launch_help, stdout);
                return 0;
        }
        const char *misfit = opts.restore_path ? "--restore" :
                             opts.until_position ? "--until and --snapshot" :
                             opts.log_path ? "--log (the log goes to the backup)" : NULL;
        if (!misfit && opts.record_tuning_given && opts.sync != LOG_SYNC_WRITE)
                misfit = "--sync (output waits for the backup's acknowledgement)";
        if (misfit) {
                fprintf(stderr, "ftvmm launch: not accepted here: %s\n", misfit);
                return EXIT_USAGE;
        }
        int console_fd;
        int status = command__open_console(&opts, &console_fd);
        if (status)
                return status;
        status = launch(&opts, console_fd);
        command__close_console(console_fd);
        return status;
}
