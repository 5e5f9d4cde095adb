/* `ftvmm record`: runs an image and writes the log that replays it, with
 * no console byte leaving before the log that reproduces it is safe. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../replication/log_file.h"
#include "../replication/session_record.h"
#include "command.h"
#include "exit_status.h"
#include "machine_control.h"
#include "machine_description.h"

struct recording {
        struct machine m;
        struct log_file_sink file;
        struct log_writer writer;
        struct output_commit output;
        struct recorder recorder;
        struct state_writer description;
        bool output_started, recorder_started;
        struct output_commit_stats output_stats;
};

static void release_output(void *context, uint64_t safe)
{
        output_commit__safe(context, safe);
}

static size_t emit_to_console(void *context, const uint8_t *bytes, size_t n)
{
        return machine__console_emit(context, bytes, n);
}

static void kick_vcpu(void *context)
{
        machine__kick(context);
}

static int boot(struct recording *rec, const struct run_options *opts, int console_fd,
                struct boot_files *files, char *err, size_t err_size)
{
        int status = command__read_boot_files(opts, files, err, err_size);
        if (!status)
                status = machine__create(&rec->m, opts->mem_bytes, environment__live(), console_fd,
                                         command__console_name(opts), err, err_size);
        if (!status && opts->disk_spec)
                status = machine__add_disk(&rec->m, opts->disk_spec, true, err, err_size);
        if (!status)
                status = command__load_boot_files(&rec->m, opts, files, err, err_size);
        if (!status)
                status = machine__start(&rec->m, NULL, NULL, err, err_size);
        return status;
}

static int start_log(struct recording *rec, const struct run_options *opts,
                     char *err, size_t err_size)
{
        int rc = log_file_sink__open(&rec->file, opts->log_path);
        if (rc) {
                snprintf(err, err_size, "--log %s: %s", opts->log_path, strerror(-rc));
                return rc == -ENOSPC || rc == -EIO ? EXIT_LOG_FAILED : EXIT_NO_INPUT;
        }
        rc = output_commit__start(&rec->output, emit_to_console, &rec->m, rec->m.console.produced);
        rec->output_started = rc == 0;
        rec->writer.on_progress = release_output;
        rec->writer.progress_context = &rec->output;
        /* A failed log write stops the guest at once, even one that is
         * computing without exits. */
        rec->writer.on_failure = kick_vcpu;
        rec->writer.failure_context = &rec->m;
        if (!rc)
                rc = log_writer__start(&rec->writer, &rec->file.sink,
                                       opts->sync == LOG_SYNC_FSYNC ? LOG_SAFE_WHEN_SYNCED
                                                                    : LOG_SAFE_WHEN_WRITTEN);
        if (rc) {
                snprintf(err, err_size, "starting the log writer: %s", strerror(-rc));
                return EXIT_HOST_ERROR;
        }
        return 0;
}

static int start_recorder(struct recording *rec, const struct run_options *opts,
                          const struct boot_files *files, char *err, size_t err_size)
{
        if (machine_description__encode(&rec->m, &rec->m.vm.cpu, &rec->description)) {
                snprintf(err, err_size, "out of memory describing the machine");
                return EXIT_HOST_ERROR;
        }
        struct log_entry boot = {
                .kind = LOG_BOOT,
                .description = { rec->description.buf, rec->description.length },
                .ram_size = opts->mem_bytes,
                .cmdline = { (const uint8_t *)opts->cmdline, strlen(opts->cmdline) },
                .image = { files->image, files->image_size },
                .initrd = { files->initrd, files->initrd_size },
                .disk_sectors = rec->m.disk ? rec->m.disk->device.config.capacity : 0,
                .disk_readonly = rec->m.disk && rec->m.disk->device.config.readonly,
        };
        struct recorder_options ropts = {
                .epoch_ns = (uint64_t)(opts->epoch_ms * 1e6),
                .max_stall_ns = (uint64_t)(opts->max_stall_ms * 1e6),
                .verify_every = opts->verify_every,
        };
        int rc = recorder__init(&rec->recorder, &rec->m, &machine_control__kvm,
                                environment__live(), &ropts, &rec->writer, &rec->output, &boot);
        rec->recorder_started = true;
        if (rc) {
                char why[256] = "";
                log_writer__error(&rec->writer, why, sizeof(why));
                snprintf(err, err_size, "%s", why[0] ? why : rec->recorder.failure[0] ?
                         rec->recorder.failure : strerror(-rc));
                return why[0] ? EXIT_LOG_FAILED : EXIT_KVM_UNAVAILABLE;
        }
        return 0;
}

/* The log first, then what it covers: output held for records that never
 * became safe is dropped, never released. */
static int finish_log(struct recording *rec, int status)
{
        int rc = rec->writer.sink ? log_writer__close(&rec->writer) : 0;
        bool complete = rc == 0 && status != EXIT_LOG_FAILED;
        if (rc && status != EXIT_LOG_FAILED) {
                char why[256];
                snprintf(why, sizeof(why), "%s", rec->writer.error_text);
                fprintf(stderr, "ftvmm: %s; the guest's output after the last record written was not released\n",
                        why);
                status = EXIT_LOG_FAILED;
        }
        if (rec->output_started) {
                output_commit__close(&rec->output, complete);
                rec->output_stats = rec->output.stats;
        }
        log_file_sink__close(&rec->file);
        return status;
}

static int run_recording(struct recording *rec, const struct run_options *opts)
{
        struct run_limits limits = { .timeout_ns = (uint64_t)(opts->timeout_seconds * 1e9),
                                     .stop_at_position = RUN_NO_POSITION_LIMIT,
                                     .strict_io = opts->strict_io };
        struct run_result result;
        vcpu_loop__run(&rec->m, &rec->recorder.base, &limits, &result);
        if (result.outcome == RUN_LOG_FAILED && rec->writer.failed_at_ns)
                fprintf(stderr, "record: the guest was stopped %.0f ms after the log failed\n",
                        (double)(session__host_ns() - rec->writer.failed_at_ns) / 1e6);
        if (opts->stats)
                command__print_stats(&rec->m, &rec->recorder.base, &result);
        int status = command__exit_code(opts, opts->image, &result);
        status = finish_log(rec, status);
        if (opts->stats) {
                struct output_commit_stats o = rec->output_stats;
                fprintf(stderr, "ftvmm: output %llu bytes in %llu releases, commit latency mean %.2f ms max %.2f ms\n",
                        (unsigned long long)o.released, (unsigned long long)o.chunks_released,
                        o.chunks_released ? (double)o.latency_total_ns / 1e6 / (double)o.chunks_released : 0.0,
                        (double)o.latency_max_ns / 1e6);
        }
        const struct session_counters *c = &rec->recorder.base.counters;
        fprintf(stderr, "record: %llu epochs, %llu checkpoint epochs, %llu positions, log %s%s\n",
                (unsigned long long)c->epochs, (unsigned long long)c->checkpoints,
                (unsigned long long)rec->m.position, opts->log_path,
                status == EXIT_LOG_FAILED ? " (incomplete)" : "");
        return status;
}

static int record(const struct run_options *opts, int console_fd)
{
        struct recording *rec = calloc(1, sizeof(*rec));
        if (!rec)
                return EXIT_HOST_ERROR;
        rec->m = MACHINE_UNCREATED;
        rec->file.fd = -1;
        state_writer__init(&rec->description);
        char err[512];
        struct boot_files files;
        int status = boot(rec, opts, console_fd, &files, err, sizeof(err));
        if (!status)
                status = start_log(rec, opts, err, sizeof(err));
        if (!status)
                status = start_recorder(rec, opts, &files, err, sizeof(err));
        command__release_boot_files(&files);
        if (status) {
                fprintf(stderr, "ftvmm: %s\n", err);
                status = finish_log(rec, status);
        } else {
                status = run_recording(rec, opts);
        }
        if (rec->recorder_started)
                recorder__release(&rec->recorder);
        state_writer__release(&rec->description);
        machine__destroy(&rec->m);
        free(rec);
        return status;
}

int cmd_record(int argc, char **argv)
{
        struct run_options opts;
        char err[256];
        if (options__parse_run(argc, argv, &opts, err, sizeof(err)) < 0) {
                fprintf(stderr, "ftvmm record: %s\nTry 'ftvmm record --help'.\n", err);
                return EXIT_USAGE;
        }
        if (opts.help) {
                fputs(options__record_help, stdout);
                return 0;
        }
        const char *misfit = opts.restore_path ? "--restore" :
                             opts.until_position ? "--until and --snapshot (replay the log to stop at a position)" :
                             NULL;
        if (misfit) {
                fprintf(stderr, "ftvmm record: not accepted here: %s\n", misfit);
                return EXIT_USAGE;
        }
        if (!opts.log_path) {
                fprintf(stderr, "ftvmm record: --log FILE is required\n");
                return EXIT_USAGE;
        }
        if (opts.launch_given) {
                fprintf(stderr, "ftvmm record: --role, --listen, --connect, --arbiter and the other pair options belong to 'ftvmm launch'\n");
                return EXIT_USAGE;
        }
        int console_fd;
        int status = command__open_console(&opts, &console_fd);
        if (status)
                return status;
        status = record(&opts, console_fd);
        command__close_console(console_fd);
        return status;
}
