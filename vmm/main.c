/* The ftvmm command: subcommand dispatch and the `run` subcommand. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkpoint.h"
#include "exit_status.h"
#include "machine.h"
#include "options.h"
#include "snapshot.h"
#include "../replication/replay_session.h"
#include "vcpu_loop.h"

#define FTVMM_VERSION "0.1.0"

static const char main_help[] =
"Usage: ftvmm COMMAND [OPTION]... [ARG]...\n"
"A fault-tolerant virtual machine monitor for purpose-built PVH guests.\n"
"\n"
"Commands:\n"
"  run IMAGE      boot a PVH ELF guest image and run it until it exits\n"
"  record IMAGE   run it and write a log that replays it (--log FILE)\n"
"  replay LOG     re-execute a recorded run from its log and verify it\n"
"  help [CMD]     show help for ftvmm or for one command\n"
"  version        print the version\n"
"\n"
"Run 'ftvmm COMMAND --help' for a command's options.\n";

static int open_console(const struct run_options *opts, int *fd)
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

static int exit_code_for(const struct run_options *opts, const struct run_result *r)
{
        switch (r->outcome) {
        case RUN_GUEST_EXITED:
                if (opts->exit_status == EXIT_STATUS_QEMU)
                        return (int)(((r->guest_status << 1) | 1) & 0xff);
                if (r->guest_status > EXIT_GUEST_MAX) {
                        fprintf(stderr, "ftvmm: guest exit status %u reported as %d\n",
                                r->guest_status, EXIT_GUEST_MAX);
                        return EXIT_GUEST_MAX;
                }
                return (int)r->guest_status;
        case RUN_GUEST_CRASHED:
                fprintf(stderr, "ftvmm: %s: %s\n", opts->image, r->message);
                return EXIT_GUEST_CRASHED;
        case RUN_TIMED_OUT:
                fprintf(stderr, "ftvmm: %s: %s\n", opts->image, r->message);
                return EXIT_TIMEOUT;
        case RUN_STOPPED_AT_POSITION: /* handled by the callers */
        case RUN_DIVERGED:
        case RUN_LOG_ENDED:
        case RUN_HOST_ERROR:
                break;
        }
        fprintf(stderr, "ftvmm: %s: %s\n", opts->image, r->message);
        return EXIT_HOST_ERROR;
}

static double seconds_since(uint64_t start_ns)
{
        return (double)(environment__monotonic_ns(environment__live()) - start_ns) / 1e9;
}

/* Builds the machine from IMAGE, or from a snapshot with --restore. */
static int prepare_machine(struct machine *m, const struct run_options *opts, int console_fd,
                           char *err, size_t err_size)
{
        const char *console_name = opts->console_path ? opts->console_path : "stdout";
        if (!opts->restore_path) {
                int status = machine__create(m, opts->mem_bytes, environment__live(),
                                             console_fd, console_name, err, err_size);
                if (!status)
                        status = machine__load_image(m, opts->image, opts->cmdline, err, err_size);
                if (!status)
                        status = machine__start(m, NULL, err, err_size);
                return status;
        }
        uint8_t *snapshot;
        size_t length;
        uint64_t ram_size;
        char why[384];
        uint64_t start = environment__monotonic_ns(environment__live());
        int status = snapshot__read_file(opts->restore_path, &snapshot, &length, err, err_size);
        if (!status && snapshot__ram_size(snapshot, length, &ram_size, why, sizeof(why))) {
                snprintf(err, err_size, "%s: %s", opts->restore_path, why);
                status = EXIT_BAD_IMAGE;
        }
        if (!status)
                status = machine__create(m, ram_size, environment__live(), console_fd,
                                         console_name, err, err_size);
        struct vcpu_state *vcpu = status ? NULL : malloc(sizeof(*vcpu));
        if (!status && !vcpu)
                status = EXIT_HOST_ERROR;
        if (!status && snapshot__decode(snapshot, length, m, vcpu, why, sizeof(why))) {
                snprintf(err, err_size, "%s: %s", opts->restore_path, why);
                status = EXIT_BAD_IMAGE;
        }
        free(snapshot);
        if (!status) {
                /* The saved clock belonged to another process, perhaps
                 * another host: the guest sees no time pass across the gap. */
                uint64_t now = environment__monotonic_ns(m->env);
                pit8254__rebase(&m->pit, m->clock_ns, now);
                m->clock_ns = now;
                status = machine__start(m, vcpu, err, err_size);
        }
        free(vcpu);
        if (!status && opts->stats)
                fprintf(stderr, "ftvmm: restored %llu MiB of RAM from %s in %.3f s\n",
                        (unsigned long long)(m->ram_size >> 20), opts->restore_path,
                        seconds_since(start));
        return status;
}

static void print_stats(const struct machine *m, const struct run_result *r)
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
}

static int save_snapshot(struct machine *m, const struct run_options *opts)
{
        char err[512];
        uint64_t start = environment__monotonic_ns(environment__live());
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

static int run_machine(const struct run_options *opts, int console_fd)
{
        struct machine m = MACHINE_UNCREATED;
        char err[512];
        int status = prepare_machine(&m, opts, console_fd, err, sizeof(err));
        if (status) {
                fprintf(stderr, "ftvmm: %s\n", err);
                machine__destroy(&m);
                return status;
        }
        struct run_limits limits = {
                .timeout_ns = (uint64_t)(opts->timeout_seconds * 1e9),
                .stop_at_position = opts->until_position ? opts->until_position
                                                         : RUN_NO_POSITION_LIMIT,
        };
        struct run_result result;
        vcpu_loop__run(&m, &limits, &result);
        if (opts->stats)
                print_stats(&m, &result);
        if (result.outcome == RUN_STOPPED_AT_POSITION) {
                status = save_snapshot(&m, opts);
                machine__destroy(&m);
                return status;
        }
        machine__destroy(&m);
        return exit_code_for(opts, &result);
}

static int command_run(int argc, char **argv)
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
                fprintf(stderr, "ftvmm run: --log, --max-stall and --epoch belong to 'ftvmm record'\n");
                return EXIT_USAGE;
        }
        int console_fd;
        int status = open_console(&opts, &console_fd);
        if (status)
                return status;
        status = run_machine(&opts, console_fd);
        if (console_fd != STDOUT_FILENO)
                close(console_fd);
        return status;
}


/* Recording and replaying run the loop the same way. */
static void run_deterministic(struct machine *m, struct replay_session *session,
                              const struct run_options *opts, struct run_result *result)
{
        struct run_limits limits = {
                .timeout_ns = (uint64_t)(opts->timeout_seconds * 1e9),
                .stop_at_position = opts->until_position ? opts->until_position
                                                         : RUN_NO_POSITION_LIMIT,
                .replay = session,
                .max_stall_ns = (uint64_t)(opts->max_stall_ms * 1e6),
        };
        vcpu_loop__run(m, &limits, result);
        if (opts->stats) {
                print_stats(m, result);
                fprintf(stderr, "ftvmm: %llu epochs, %llu of them checkpoints carrying %llu pages\n",
                        (unsigned long long)session->epochs,
                        (unsigned long long)session->checkpoints,
                        (unsigned long long)result->checkpoint_pages);
        }
}

/* Recording: the console's bytes are kept per epoch, for checkpoint epochs. */
static void note_output(void *session, const uint8_t *bytes, size_t count)
{
        replay_session__note_output(session, bytes, count);
}

static int finish_record(struct machine *m, struct replay_session *session,
                         const struct run_options *opts, const struct run_result *r)
{
        char err[512];
        if (replay_writer__close(&session->writer, err, sizeof(err))) {
                fprintf(stderr, "ftvmm: %s\n", err);
                return EXIT_HOST_ERROR;
        }
        fprintf(stderr, "record: %llu epochs, %llu checkpoint epochs, %llu positions, log %s\n",
                (unsigned long long)session->epochs, (unsigned long long)session->checkpoints,
                (unsigned long long)m->position, opts->log_path);
        return exit_code_for(opts, r);
}

static int record_machine(const struct run_options *opts, int console_fd)
{
        struct machine m = MACHINE_UNCREATED;
        struct replay_session session;
        char err[512];
        uint8_t *image = NULL;
        size_t size = 0;
        replay_session__init_record(&session, environment__live(), &m.position,
                                    (uint64_t)(opts->epoch_ms * 1e6));
        int status = machine__read_image(opts->image, &image, &size, err, sizeof(err));
        if (!status)
                status = machine__create(&m, opts->mem_bytes, &session.env, console_fd,
                                         opts->console_path ? opts->console_path : "stdout",
                                         err, sizeof(err));
        if (!status)
                status = machine__load_image_bytes(&m, opts->image, image, size, opts->cmdline,
                                                   err, sizeof(err));
        struct replay_boot boot = { .ram_size = opts->mem_bytes, .cmdline = opts->cmdline,
                                    .image = image, .image_size = size };
        if (!status && replay_writer__open(&session.writer, opts->log_path, &boot, err, sizeof(err)))
                status = EXIT_NO_INPUT;
        free(image);
        if (!status)
                status = machine__start(&m, NULL, err, sizeof(err));
        int rc = status ? 0 : checkpoint__start_tracking(&m);
        if (rc) {
                snprintf(err, sizeof(err), "dirty-page tracking (KVM_MEM_LOG_DIRTY_PAGES): %s",
                         strerror(-rc));
                status = EXIT_KVM_UNAVAILABLE;
        }
        m.console.tap = note_output;
        m.console.tap_context = &session;
        if (status) {
                fprintf(stderr, "ftvmm: %s\n", err);
                if (session.writer.file)
                        replay_writer__close(&session.writer, err, sizeof(err));
        } else {
                struct run_result result;
                run_deterministic(&m, &session, opts, &result);
                status = finish_record(&m, &session, opts, &result);
        }
        machine__destroy(&m);
        replay_session__release(&session);
        return status;
}

static int report_replay(struct machine *m, const struct replay_session *session,
                         const struct run_options *opts, const struct run_result *r)
{
        switch (r->outcome) {
        case RUN_STOPPED_AT_POSITION:
                return save_snapshot(m, opts);
        case RUN_GUEST_EXITED:
                printf("replay: identical, %llu epochs, %llu checkpoint epochs, %llu positions\n",
                       (unsigned long long)session->epochs,
                       (unsigned long long)session->checkpoints,
                       (unsigned long long)m->position);
                return 0;
        case RUN_DIVERGED:
                fprintf(stderr, "replay: diverged: %s\n", r->message);
                return EXIT_DIVERGED;
        case RUN_LOG_ENDED:
                fprintf(stderr, "replay: %s: cut short, %s; replayed up to position %llu\n",
                        opts->image, r->message, (unsigned long long)m->position);
                return EXIT_LOG_CUT_SHORT;
        default:
                return exit_code_for(opts, r);
        }
}

static int replay_machine(const struct run_options *opts, int console_fd)
{
        struct machine m = MACHINE_UNCREATED;
        struct replay_session session;
        struct replay_boot boot;
        char err[512];
        replay_session__init_replay(&session, &m.position);
        int status = 0;
        if (replay_reader__open(&session.reader, opts->image, &boot, err, sizeof(err)))
                status = access(opts->image, R_OK) ? EXIT_NO_INPUT : EXIT_BAD_IMAGE;
        if (!status)
                status = machine__create(&m, boot.ram_size, &session.env, console_fd,
                                         opts->console_path ? opts->console_path : "stdout",
                                         err, sizeof(err));
        if (!status)
                status = machine__load_image_bytes(&m, opts->image, boot.image, boot.image_size,
                                                   boot.cmdline, err, sizeof(err));
        if (!status)
                status = machine__start(&m, NULL, err, sizeof(err));
        if (status) {
                fprintf(stderr, "ftvmm: %s\n", err);
                machine__destroy(&m);
                replay_reader__close(&session.reader);
                return status;
        }
        struct run_result result;
        run_deterministic(&m, &session, opts, &result);
        status = report_replay(&m, &session, opts, &result);
        machine__destroy(&m);
        replay_reader__close(&session.reader);
        return status;
}

static int command_record_or_replay(int argc, char **argv, bool replay)
{
        const char *name = replay ? "replay" : "record";
        struct run_options opts;
        char err[256];
        if (options__parse_run(argc, argv, &opts, err, sizeof(err)) < 0) {
                fprintf(stderr, "ftvmm %s: %s\nTry 'ftvmm %s --help'.\n", name, err, name);
                return EXIT_USAGE;
        }
        if (opts.help) {
                fputs(replay ? options__replay_help : options__record_help, stdout);
                return 0;
        }
        const char *misfit = NULL;
        if (opts.restore_path)
                misfit = "--restore";
        else if (!replay && opts.until_position)
                misfit = "--until and --snapshot (replay the log to stop at a position)";
        else if (replay && (opts.mem_given || opts.cmdline_given || opts.log_path))
                misfit = "--mem, --cmdline and --log (the log holds them)";
        else if (replay && opts.record_tuning_given)
                misfit = "--max-stall and --epoch (the log holds the epochs)";
        if (misfit) {
                fprintf(stderr, "ftvmm %s: not accepted here: %s\n", name, misfit);
                return EXIT_USAGE;
        }
        if (!replay && !opts.log_path) {
                fprintf(stderr, "ftvmm record: --log FILE is required\n");
                return EXIT_USAGE;
        }
        int console_fd;
        int status = open_console(&opts, &console_fd);
        if (status)
                return status;
        status = replay ? replay_machine(&opts, console_fd) : record_machine(&opts, console_fd);
        if (console_fd != STDOUT_FILENO)
                close(console_fd);
        return status;
}

static int command_help(int argc, char **argv)
{
        if (argc > 1 && strcmp(argv[1], "run") == 0) {
                fputs(options__run_help, stdout);
                return 0;
        }
        if (argc > 1 && strcmp(argv[1], "record") == 0) {
                fputs(options__record_help, stdout);
                return 0;
        }
        if (argc > 1 && strcmp(argv[1], "replay") == 0) {
                fputs(options__replay_help, stdout);
                return 0;
        }
        if (argc > 1 && strcmp(argv[1], "help") != 0 && strcmp(argv[1], "version") != 0 &&
            strcmp(argv[1], "--help") != 0 && strcmp(argv[1], "-h") != 0) {
                fprintf(stderr, "ftvmm help: unknown command '%s'\n", argv[1]);
                return EXIT_USAGE;
        }
        fputs(main_help, stdout);
        return 0;
}

int main(int argc, char **argv)
{
        /* A closed console pipe must become a write error, not a dead VMM. */
        signal(SIGPIPE, SIG_IGN);
        if (argc < 2) {
                fputs(main_help, stderr);
                return EXIT_USAGE;
        }
        const char *cmd = argv[1];
        if (strcmp(cmd, "run") == 0)
                return command_run(argc - 1, argv + 1);
        if (strcmp(cmd, "record") == 0 || strcmp(cmd, "replay") == 0)
                return command_record_or_replay(argc - 1, argv + 1, cmd[2] == 'p');
        if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0)
                return command_help(argc - 1, argv + 1);
        if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
                if (argc > 2 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
                        puts("Usage: ftvmm version\nPrint the version of ftvmm and exit.");
                        return 0;
                }
                printf("ftvmm %s\n", FTVMM_VERSION);
                return 0;
        }
        fprintf(stderr, "ftvmm: unknown command '%s'\nTry 'ftvmm --help'.\n", cmd);
        return EXIT_USAGE;
}
