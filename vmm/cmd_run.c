/* `ftvmm run`: boots an image (or continues a snapshot) with the live
 * session: the host's clocks, interrupts as soon as the guest can take
 * them, output straight to the console. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "exit_status.h"
#include "machine_control.h"
#include "snapshot.h"

static int boot_machine(struct machine *m, const struct run_options *opts, int console_fd,
                        char *err, size_t err_size)
{
        struct boot_files files;
        int status = command__read_boot_files(opts, &files, err, err_size);
        if (!status)
                status = machine__create(m, opts->mem_bytes, environment__live(), console_fd,
                                         command__console_name(opts), err, err_size);
        if (!status && opts->disk_spec)
                status = machine__add_disk(m, opts->disk_spec, true, err, err_size);
        if (!status)
                status = command__load_boot_files(m, opts, &files, err, err_size);
        command__release_boot_files(&files);
        if (!status)
                status = machine__start(m, NULL, NULL, err, err_size);
        return status;
}

/* The saved clock belonged to another process, perhaps another host: the
 * guest sees no time pass across the gap. */
static int restore_machine(struct machine *m, const struct run_options *opts, int console_fd,
                           char *err, size_t err_size)
{
        uint8_t *snapshot;
        size_t length;
        uint64_t start = session__host_ns();
        int status = snapshot__read_file(opts->restore_path, &snapshot, &length, err, err_size);
        if (status)
                return status;
        status = command__machine_from_snapshot(m, snapshot, length, opts->restore_path,
                                                console_fd, command__console_name(opts),
                                                opts->disk_spec, err, err_size);
        free(snapshot);
        if (status)
                return status;
        status = machine__connect_disk(m, err, err_size);
        if (status)
                return status;
        /* P7, as at a failover: what the saved machine had in flight never
         * completed in this process. */
        unsigned settled = machine__settle_outstanding_io(m, opts->uncertain_error ? UNCERTAIN_ERROR
                                                                                  : UNCERTAIN_REISSUE);
        if (settled)
                fprintf(stderr, "ftvmm: %u disk request(s) in flight in the snapshot %s\n", settled,
                        opts->uncertain_error ? "completed as uncertain" : "reissued");
        uint64_t now = environment__monotonic_ns(environment__live());
        pit8254__rebase(&m->pit, m->clock_ns, now);
        m->clock_ns = now;
        if (opts->stats)
                fprintf(stderr, "ftvmm: restored %llu MiB of RAM from %s in %.3f s\n",
                        (unsigned long long)(m->ram_size >> 20), opts->restore_path,
                        (double)(session__host_ns() - start) / 1e9);
        return 0;
}

static int run_machine(const struct run_options *opts, int console_fd)
{
        struct machine m = MACHINE_UNCREATED;
        char err[512];
        int status = opts->restore_path ? restore_machine(&m, opts, console_fd, err, sizeof(err))
                                        : boot_machine(&m, opts, console_fd, err, sizeof(err));
        if (status) {
                fprintf(stderr, "ftvmm: %s\n", err);
                machine__destroy(&m);
                return status;
        }
        struct session_live live;
        session_live__init(&live, &m, &machine_control__kvm);
        struct run_limits limits = {
                .strict_io = opts->strict_io,
                .timeout_ns = (uint64_t)(opts->timeout_seconds * 1e9),
                .stop_at_position = opts->until_position ? opts->until_position
                                                         : RUN_NO_POSITION_LIMIT,
        };
        struct run_result result;
        vcpu_loop__run(&m, &live.base, &limits, &result);
        if (opts->stats)
                command__print_stats(&m, &live.base, &result);
        if (result.outcome == RUN_STOPPED_AT_POSITION)
                status = command__save_snapshot(&m, opts);
        else
                status = command__exit_code(opts, opts->image, &result);
        machine__destroy(&m);
        return status;
}

int cmd_run(int argc, char **argv)
{
        struct run_options opts;
        char err[256];
        if (options__parse_run(argc, argv, &opts, err, sizeof(err)) < 0) {
                fprintf(stderr, "ftvmm run: %s\nTry 'ftvmm run --help'.\n", err);
                return EXIT_USAGE;
        }
        if (opts.help) {
                fputs(options__run_help, stdout);
                return 0;
        }
        if (opts.log_path || opts.record_tuning_given) {
                fprintf(stderr, "ftvmm run: --log, --max-stall, --epoch, --sync and --verify-every belong to 'ftvmm record'\n");
                return EXIT_USAGE;
        }
        if (opts.launch_given) {
                fprintf(stderr, "ftvmm run: --role, --listen, --connect, --arbiter and the other pair options belong to 'ftvmm launch'\n");
                return EXIT_USAGE;
        }
        int console_fd;
        int status = command__open_console(&opts, &console_fd);
        if (status)
                return status;
        status = run_machine(&opts, console_fd);
        command__close_console(console_fd);
        return status;
}
