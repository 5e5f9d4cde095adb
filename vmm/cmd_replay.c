/* `ftvmm replay`: executes a recorded run again from its log alone, read a
 * chunk at a time, and checks it epoch by epoch. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../replication/log_file.h"
#include "../replication/session_replay.h"
#include "command.h"
#include "exit_status.h"
#include "machine_control.h"
#include "machine_description.h"

/* The largest record a replay accepts: a BOOT with a 1 GiB image, or a
 * checkpoint or machine state of a large guest. */
#define MAX_RECORD_BYTES (3ull << 30)

struct replaying {
        struct machine m;
        struct log_file_source file;
        struct replayer replayer;
        bool replayer_started;
};

/* The log's first record, which says how to build the machine. */
static int first_record(struct replaying *rp, struct log_entry *e, char *err, size_t err_size)
{
        switch (rp->file.source.next(&rp->file.source, e)) {
        case REPLAY_SOURCE_OPEN:
                return 0;
        case REPLAY_SOURCE_CORRUPT:
                snprintf(err, err_size, "%s: %s", rp->file.path, rp->file.reader.problem);
                return EXIT_BAD_IMAGE;
        case REPLAY_SOURCE_FAILED:
                snprintf(err, err_size, "%s: %s", rp->file.path, strerror(-rp->file.error));
                return EXIT_NO_INPUT;
        case REPLAY_SOURCE_DONE:
                break;
        }
        snprintf(err, err_size, "%s: %s", rp->file.path, log_reader__pending(&rp->file.reader) ?
                 "cut short inside its first record" : "not an ftvmm log (empty)");
        return EXIT_BAD_IMAGE;
}

static int boot_from_log(struct replaying *rp, const struct log_entry *boot, int console_fd,
                         const char *console_name, char *err, size_t err_size)
{
        struct machine *m = &rp->m;
        char *cmdline = calloc(1, (size_t)boot->cmdline.length + 1);
        struct cpu_model *cpu = malloc(sizeof(*cpu));
        int status = cmdline && cpu ? 0 : EXIT_HOST_ERROR;
        if (!status)
                status = machine__create(m, boot->ram_size, environment__live(), console_fd,
                                         console_name, err, err_size);
        /* The disk as the recorder's guest saw it (before the description,
         * which lists it); its data come from the log, so no file is
         * opened. */
        if (!status && boot->disk_sectors)
                status = machine__add_logged_disk(m, boot->disk_sectors, boot->disk_readonly,
                                                  err, err_size);
        char why[384];
        if (!status && (status = machine_description__check(m, boot->description.data,
                                                            (size_t)boot->description.length,
                                                            cpu, why, sizeof(why))))
                snprintf(err, err_size, "%s: %s", rp->file.path, why);
        if (!status) {
                memcpy(cmdline, boot->cmdline.data, (size_t)boot->cmdline.length);
                status = machine__load_image_bytes(m, rp->file.path, boot->image.data,
                                                   (size_t)boot->image.length, cmdline,
                                                   err, err_size);
        }
        if (!status && boot->initrd.length)
                status = machine__load_initrd_bytes(m, rp->file.path, boot->initrd.data,
                                                    (size_t)boot->initrd.length, err, err_size);
        if (!status)
                status = machine__start(m, NULL, cpu, err, err_size);
        free(cmdline);
        free(cpu);
        return status;
}

static int build_machine(struct replaying *rp, const struct run_options *opts, int console_fd,
                         char *err, size_t err_size)
{
        struct log_entry first;
        int status = first_record(rp, &first, err, err_size);
        if (status)
                return status;
        if (first.kind == LOG_BOOT)
                return boot_from_log(rp, &first, console_fd, command__console_name(opts),
                                     err, err_size);
        return command__machine_from_snapshot(&rp->m, first.state.data, (size_t)first.state.length,
                                              rp->file.path, console_fd,
                                              command__console_name(opts), NULL, err, err_size);
}

/* FTVMM_TEST_FLIP=POSITION:ADDRESS flips one byte of guest RAM during the
 * replay, for the test that the memory hash catches it. */
static void arm_test_flip(struct replayer *p)
{
        const char *flip = getenv("FTVMM_TEST_FLIP");
        uint64_t position, address;
        if (flip && sscanf(flip, "%" SCNu64 ":%" SCNi64, &position, &address) == 2) {
                p->flip_at_position = position;
                p->flip_address = address;
        }
}

static int report(struct replaying *rp, const struct run_options *opts, const struct run_result *r)
{
        const struct session_counters *c = &rp->replayer.base.counters;
        switch (r->outcome) {
        case RUN_STOPPED_AT_POSITION:
                return command__save_snapshot(&rp->m, opts);
        case RUN_GUEST_EXITED:
                printf("replay: identical, %llu epochs, %llu checkpoint epochs, %llu positions, %llu memory hashes compared\n",
                       (unsigned long long)c->epochs, (unsigned long long)c->checkpoints,
                       (unsigned long long)rp->m.position, (unsigned long long)c->memory_hashes);
                return 0;
        case RUN_DIVERGED:
                fprintf(stderr, "replay: diverged: %s\n", r->message);
                return EXIT_DIVERGED;
        case RUN_LOG_ENDED:
                fprintf(stderr, "replay: %s: cut short, %s; replayed up to position %llu\n",
                        opts->image, r->message, (unsigned long long)rp->m.position);
                return EXIT_LOG_CUT_SHORT;
        case RUN_LOG_CORRUPT:
                fprintf(stderr, "replay: %s; replayed up to position %llu\n", r->message,
                        (unsigned long long)rp->m.position);
                return EXIT_BAD_IMAGE;
        default:
                return command__exit_code(opts, opts->image, r);
        }
}

static int replay(const struct run_options *opts, int console_fd)
{
        struct replaying *rp = calloc(1, sizeof(*rp));
        if (!rp)
                return EXIT_HOST_ERROR;
        rp->m = MACHINE_UNCREATED;
        char err[512];
        int status = 0;
        int rc = log_file_source__open(&rp->file, opts->image, MAX_RECORD_BYTES);
        if (rc) {
                snprintf(err, sizeof(err), "%s: %s", opts->image, strerror(-rc));
                status = EXIT_NO_INPUT;
        }
        if (!status)
                status = build_machine(rp, opts, console_fd, err, sizeof(err));
        if (!status && (rc = replayer__init(&rp->replayer, &rp->m, &machine_control__kvm,
                                            &rp->file.source))) {
                snprintf(err, sizeof(err), "dirty-page tracking (KVM_MEM_LOG_DIRTY_PAGES): %s",
                         strerror(-rc));
                status = EXIT_KVM_UNAVAILABLE;
        }
        rp->replayer_started = status == 0;
        if (status) {
                fprintf(stderr, "ftvmm: %s\n", err);
        } else {
                arm_test_flip(&rp->replayer);
                struct run_limits limits = {
                        .strict_io = opts->strict_io,
                        .timeout_ns = (uint64_t)(opts->timeout_seconds * 1e9),
                        .stop_at_position = opts->until_position ? opts->until_position
                                                                 : RUN_NO_POSITION_LIMIT,
                };
                struct run_result result;
                vcpu_loop__run(&rp->m, &rp->replayer.base, &limits, &result);
                if (opts->stats)
                        command__print_stats(&rp->m, &rp->replayer.base, &result);
                status = report(rp, opts, &result);
        }
        if (rp->replayer_started)
                replayer__release(&rp->replayer);
        machine__destroy(&rp->m);
        log_file_source__close(&rp->file);
        free(rp);
        return status;
}

int cmd_replay(int argc, char **argv)
{
        struct run_options opts;
        char err[256];
        if (options__parse_run(argc, argv, &opts, err, sizeof(err)) < 0) {
                fprintf(stderr, "ftvmm replay: %s\nTry 'ftvmm replay --help'.\n", err);
                return EXIT_USAGE;
        }
        if (opts.help) {
                fputs(options__replay_help, stdout);
                return 0;
        }
        const char *misfit = opts.restore_path ? "--restore" :
                             opts.mem_given || opts.cmdline_given || opts.log_path || opts.initrd_path ||
                             opts.disk_spec ?
                             "--mem, --cmdline, --initrd, --disk and --log (the log holds them)" :
                             opts.record_tuning_given ?
                             "--max-stall, --epoch, --sync and --verify-every (the log holds the epochs)" :
                             NULL;
        if (misfit) {
                fprintf(stderr, "ftvmm replay: not accepted here: %s\n", misfit);
                return EXIT_USAGE;
        }
        if (opts.launch_given) {
                fprintf(stderr, "ftvmm replay: --role, --listen, --connect, --arbiter and the other pair options belong to 'ftvmm launch'\n");
                return EXIT_USAGE;
        }
        int console_fd;
        int status = command__open_console(&opts, &console_fd);
        if (status)
                return status;
        status = replay(&opts, console_fd);
        command__close_console(console_fd);
        return status;
}
