#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error_message.h"

const char options__run_help[] =
"Usage: ftvmm run [OPTION]... IMAGE\n"
"       ftvmm run [OPTION]... --restore SNAPSHOT\n"
"Boot the PVH ELF guest IMAGE on one vCPU and run it until it exits.\n"
"\n"
"  -m, --mem SIZE           guest RAM, with an optional K, M or G suffix\n"
"                           (default 128M, from 4M to 64G)\n"
"  -c, --cmdline TEXT       kernel command line passed in hvm_start_info\n"
"                           (at most 4095 bytes; default empty)\n"
"      --console FILE       write the guest's serial output to FILE instead\n"
"                           of standard output\n"
"  -t, --timeout SECONDS    stop the guest after SECONDS of wall-clock time\n"
"                           and exit 124 (default: no limit)\n"
"      --exit-status=STYLE  'guest' (default): exit with the status the guest\n"
"                           wrote to isa-debug-exit; 'qemu': exit with\n"
"                           (status << 1) | 1, as QEMU does\n"
"      --stats              print the exits and interrupts counted, on stderr\n"
"                           when the guest stops\n"
"      --until POS          stop at position POS (the POS-th deterministic\n"
"                           exit: port I/O, MMIO, HLT, interrupt window) and\n"
"                           save the machine to the --snapshot file\n"
"      --snapshot FILE      where --until saves the machine\n"
"      --restore FILE       continue a machine saved by --snapshot, in a fresh\n"
"                           VM, instead of booting IMAGE (RAM size and\n"
"                           command line come from the snapshot)\n"
"      --uncertain=WHAT     disk requests the snapshot had in flight: 'reissue'\n"
"                           (default) performs them again, so the guest sees\n"
"                           ordinary completions; 'error' completes them with\n"
"                           an I/O error, for a guest that reissues itself\n"
"      --disk FILE[,readonly][,cache=direct|dsync]\n"
"                           a virtio-blk disk backed by the raw image FILE,\n"
"                           named to the guest on its command line as\n"
"                           virtio_mmio.device=512@0xfeb00000:5; a write\n"
"                           completes only once on the storage, not in this\n"
"                           host's cache: cache=direct (default) opens FILE\n"
"                           with O_DIRECT (O_DSYNC where the file system\n"
"                           refuses it), cache=dsync with O_DSYNC\n"
"      --initrd FILE        load FILE into guest RAM as the kernel's initial\n"
"                           RAM disk (the first hvm_start_info module, as\n"
"                           QEMU passes -initrd to a PVH kernel)\n"
"      --strict-io          stop the guest (exit 70) at an access to a port or\n"
"                           MMIO address no device claims; by default it is\n"
"                           answered as on a PC with nothing there (reads all\n"
"                           ones, writes dropped) and reported once per address\n"
"      --force-emulated-ring0  boot a Linux kernel even on a host whose KVM\n"
"                           emulates ring 0 (PVM), where it is refused because\n"
"                           it dies deep in its boot\n"
"  -h, --help               show this help and exit\n"
"\n"
"Exit status: the guest's status (0-63), 64 usage error, 65 bad image,\n"
"66 file not found, 69 KVM unavailable (or a Linux kernel on a host that\n"
"cannot run it), 70 guest crashed (triple fault, emulation failure, an\n"
"unclaimed port with --strict-io, halt with interrupts off), 71 host error,\n"
"124 timeout.\n";

const char options__record_help[] =
"Usage: ftvmm record [OPTION]... --log FILE IMAGE\n"
"Run IMAGE as 'ftvmm run' does, delivering interrupts only at deterministic\n"
"exits, and write every value it takes from the host (clock reads) and every\n"
"epoch end (with a digest of the guest's registers and devices) to FILE.\n"
"No console byte leaves before the log that reproduces it (see --sync). An epoch ends at\n"
"the first deterministic exit where an interrupt is delivered or the epoch\n"
"timer has expired; when an interrupt has waited longer than --max-stall for\n"
"one, the guest is stopped where it is and the epoch ends in a checkpoint\n"
"(vCPU, devices and the pages written since the last checkpoint).\n"
"\n"
"  -l, --log FILE           the log to write (required)\n"
"      --max-stall MS       how long an interrupt may wait for a\n"
"                           deterministic exit before a checkpoint epoch\n"
"                           (default 20 ms)\n"
"      --epoch MS           the epoch timer (default 10 ms)\n"
"      --sync=MODE          when console output may leave: 'write' (default)\n"
"                           once the log records that reproduce it have been\n"
"                           written to the kernel, so that a crash of ftvmm\n"
"                           loses none of them; 'fsync' once they are on disk\n"
"                           (fdatasync, one for all output waiting), so that\n"
"                           a crash of the machine loses none either\n"
"      --verify-every N     log a hash of guest memory every N epochs, which\n"
"                           a replay compares (default 16; 0: only at\n"
"                           checkpoints, which always carry one)\n"
"  and -m/--mem, -c/--cmdline, --console, -t/--timeout, --exit-status,\n"
"  --stats, --initrd, --disk, --strict-io and --force-emulated-ring0 as for\n"
"  'ftvmm run' (a disk's completions, with the data a read returns, are\n"
"  logged: a replay needs the log only, never the disk)\n"
"  -h, --help               show this help and exit\n"
"\n"
"Exit status: as for 'ftvmm run', and 73 when the log could not be written\n"
"(the guest is stopped at once, and no output the log does not hold leaves).\n";

const char options__replay_help[] =
"Usage: ftvmm replay [OPTION]... LOG\n"
"Re-execute a recorded run from its log alone, without the host's clocks,\n"
"checking every epoch's position, interrupt and state digest, and applying\n"
"checkpoint epochs instead of executing them. Ends with\n"
"'replay: identical, E epochs, C checkpoint epochs, P positions' (exit 0), or\n"
"names the first divergence (exit 76), or reports a log cut short (exit 74)\n"
"after replaying up to its last complete record.\n"
"\n"
"      --until POS          stop at position POS (or, if a checkpoint epoch\n"
"                           jumps over it, at the first position after) and\n"
"                           save the machine to the --snapshot file, which\n"
"                           'ftvmm run --restore' continues\n"
"      --snapshot FILE      where --until saves the machine\n"
"      --console FILE       write the guest's serial output to FILE\n"
"  -t, --timeout SECONDS    stop after SECONDS of wall-clock time (exit 124)\n"
"      --stats              print the exits and interrupts counted\n"
"      --strict-io          as for 'ftvmm run' (use it if the recording did)\n"
"  -h, --help               show this help and exit\n"
"\n"
"Exit status: the guest's status (0-63) when the replay is identical,\n"
"65 the log is damaged (the message names the byte and the record),\n"
"66 LOG cannot be opened, 74 the log ends before the guest stopped (cut\n"
"short), 76 the run diverged from the log, 78 the log needs another ftvmm\n"
"version, device format or CPU model than this build and host offer,\n"
"124 timeout.\n";

const char options__launch_help[] =
"Usage: ftvmm launch --role primary --listen ADDR:PORT --arbiter DIR [OPTION]... IMAGE\n"
"       ftvmm launch --role backup --connect ADDR:PORT --arbiter DIR [OPTION]... [IMAGE]\n"
"Run IMAGE as one of a replicated pair. The primary runs the guest and\n"
"streams its log to the backup, releasing console output only once the\n"
"backup has acknowledged the log that reproduces it; the backup executes\n"
"the same instruction stream one epoch behind and, when the primary falls\n"
"silent, goes live where the outside world last saw the guest. Before\n"
"going live, and before a primary that lost its backup releases more\n"
"output, a replica must win the next generation in the arbiter directory;\n"
"the loser stops (exit 75). A backup follows only a primary of the same\n"
"pair: the same arbiter directory, disk and, where it is given IMAGE (and\n"
"--initrd, --mem), guest; it refuses any other in one line (exit 78).\n"
"\n"
"      --role ROLE          'primary' or 'backup' (required)\n"
"      --listen ADDR:PORT   primary: where the backup connects; backup:\n"
"                           where a backup of its own may connect once it\n"
"                           has gone live (optional)\n"
"      --connect ADDR:PORT  backup: the primary to follow\n"
"      --arbiter DIR        a directory both replicas can write (shared\n"
"                           storage): generation N is the file generation-N,\n"
"                           and the first to create it wins (required)\n"
"      --no-wait            primary: start the guest at once, unprotected\n"
"                           until a backup joins (default: wait for one)\n"
"      --heartbeat MS       how often each side sends when it has nothing\n"
"                           else to send (default 100)\n"
"      --failure-timeout MS how long a silent peer is taken for dead\n"
"                           (default 500)\n"
"      --max-lag MS         primary: hold the guest while the backup runs\n"
"                           more than MS behind (default 1000; 0: no bound)\n"
"      --connect-timeout S  backup: how long to keep trying to reach the\n"
"                           primary and to wait for its machine state\n"
"                           (default 30)\n"
"      --name NAME          this replica in messages and the arbiter's files\n"
"                           (default HOST:PID)\n"
"      --control PATH       a Unix socket answering 'ftvmm status PATH'\n"
"      --disk FILE[,readonly][,cache=direct|dsync]\n"
"                           the guest's virtio-blk disk, one file both\n"
"                           replicas see (shared storage): the primary's\n"
"                           is opened at once; a backup's (required if the\n"
"                           primary has one, of the same size, recorded in\n"
"                           the same arbiter) only when it goes live, until\n"
"                           then its requests complete from the log. Writes,\n"
"                           flushes and discards are outputs: they reach the\n"
"                           file only once the backup holds the log that\n"
"                           leads to them\n"
"      --uncertain=WHAT     P7, the disk requests outstanding when a backup\n"
"                           goes live: 'reissue' (default) performs them\n"
"                           again from guest memory, so any guest sees\n"
"                           ordinary completions; 'error' completes them\n"
"                           with an I/O error for a guest that reissues\n"
"                           itself\n"
"      --epoch MS, --max-stall MS, --verify-every N   as for 'ftvmm record'\n"
"  and -m/--mem, -c/--cmdline (primary), --initrd, --console, -t/--timeout,\n"
"  --exit-status, --stats, --strict-io and --force-emulated-ring0 as for\n"
"  'ftvmm run'\n"
"  -h, --help               show this help and exit\n"
"\n"
"Exit status: the guest's status (0-63) when it exits, on either replica;\n"
"75 another replica won the arbiter and this one stopped (do not restart\n"
"it); 78 a backup refused a primary of another pair; otherwise as for 'ftvmm run' (64 usage, 66 a file or directory that\n"
"cannot be used, 71 a host error, 124 timeout).\n";

int options__parse_size(const char *text, uint64_t *bytes)
{
        char *end;
        errno = 0;
        if (!text[0] || text[0] == '-')
                return -1;
        unsigned long long value = strtoull(text, &end, 10);
        if (errno || end == text)
                return -1;
        unsigned shift = 0;
        switch (*end) {
        case 'k': case 'K': shift = 10; end++; break;
        case 'm': case 'M': shift = 20; end++; break;
        case 'g': case 'G': shift = 30; end++; break;
        case '\0': break;
        default: return -1;
        }
        if (*end == 'i' || *end == 'B') /* accept "MiB"-style spelling */
                end += (*end == 'i' && end[1] == 'B') ? 2 : 1;
        if (*end || value > (UINT64_MAX >> shift))
                return -1;
        *bytes = (uint64_t)value << shift;
        return 0;
}

static int parse_seconds(const char *text, double *seconds)
{
        char *end;
        errno = 0;
        double value = strtod(text, &end);
        if (errno || end == text || *end || !isfinite(value) || value <= 0)
                return -1;
        *seconds = value;
        return 0;
}

static int parse_milliseconds(const char *option, const char *text, double *ms,
                              char *err, size_t err_size)
{
        double seconds;
        if (parse_seconds(text, &seconds) || seconds > 3600e3)
                return error_message(err, err_size,
                                     "%s '%s': expected a positive number of milliseconds", option, text);
        *ms = seconds;
        return 0;
}

enum launch_option {
        OPT_ROLE = 1000, OPT_LISTEN, OPT_CONNECT, OPT_ARBITER, OPT_CONTROL, OPT_NAME,
        OPT_HEARTBEAT, OPT_FAILURE_TIMEOUT, OPT_MAX_LAG, OPT_CONNECT_TIMEOUT, OPT_NO_WAIT,
        OPT_INITRD, OPT_STRICT_IO, OPT_FORCE_RING0, OPT_UNCERTAIN,
};

static int parse_lag(const char *text, double *ms, char *err, size_t err_size)
{
        char *end;
        errno = 0;
        double value = strtod(text, &end);
        if (errno || end == text || *end || !isfinite(value) || value < 0 || value > 3600e3)
                return error_message(err, err_size,
                                     "--max-lag '%s': expected milliseconds, 0 for no bound", text);
        *ms = value;
        return 0;
}

static int apply_launch_option(int opt, const char *arg, struct run_options *opts,
                               char *err, size_t err_size)
{
        switch (opt) {
        case OPT_INITRD: opts->initrd_path = arg; return 0;
        case OPT_STRICT_IO: opts->strict_io = true; return 0;
        case OPT_FORCE_RING0: opts->force_emulated_ring0 = true; return 0;
        case OPT_UNCERTAIN:
                if (strcmp(arg, "reissue") && strcmp(arg, "error"))
                        return error_message(err, err_size, "--uncertain '%s': expected 'reissue' or 'error'", arg);
                opts->uncertain_error = strcmp(arg, "error") == 0;
                return 0;
        }
        opts->launch_given = true;
        switch (opt) {
        case OPT_ROLE:
                if (strcmp(arg, "primary") == 0)
                        opts->role = ROLE_PRIMARY;
                else if (strcmp(arg, "backup") == 0)
                        opts->role = ROLE_BACKUP;
                else
                        return error_message(err, err_size, "--role '%s': expected 'primary' or 'backup'", arg);
                return 0;
        case OPT_LISTEN: opts->listen_address = arg; return 0;
        case OPT_CONNECT: opts->connect_address = arg; return 0;
        case OPT_ARBITER: opts->arbiter_path = arg; return 0;
        case OPT_CONTROL: opts->control_path = arg; return 0;
        case OPT_NAME:
                if (!arg[0] || strlen(arg) > 64 || strpbrk(arg, " /\n"))
                        return error_message(err, err_size,
                                             "--name '%s': expected 1 to 64 characters, no space or slash", arg);
                opts->name = arg;
                return 0;
        case OPT_HEARTBEAT:
                return parse_milliseconds("--heartbeat", arg, &opts->heartbeat_ms, err, err_size);
        case OPT_FAILURE_TIMEOUT:
                return parse_milliseconds("--failure-timeout", arg, &opts->failure_timeout_ms, err, err_size);
        case OPT_MAX_LAG:
                return parse_lag(arg, &opts->max_lag_ms, err, err_size);
        case OPT_CONNECT_TIMEOUT:
                if (parse_seconds(arg, &opts->connect_timeout_s))
                        return error_message(err, err_size,
                                             "--connect-timeout '%s': expected a positive number of seconds", arg);
                return 0;
        case OPT_NO_WAIT: opts->no_wait = true; return 0;
        }
        return -1;
}

static int apply_option(int opt, const char *arg, struct run_options *opts,
                        char *err, size_t err_size)
{
        switch (opt) {
        case 'm':
                opts->mem_given = true;
                if (options__parse_size(arg, &opts->mem_bytes) ||
                    opts->mem_bytes < OPTIONS_MIN_MEM ||
                    opts->mem_bytes > OPTIONS_MAX_MEM)
                        return error_message(err, err_size,
                                    "--mem '%s': expected a size from 4M to 64G, e.g. 128M", arg);
                if (opts->mem_bytes % 4096)
                        return error_message(err, err_size,
                                    "--mem '%s': must be a multiple of 4K", arg);
                return 0;
        case 'c':
                if (strlen(arg) > OPTIONS_MAX_CMDLINE)
                        return error_message(err, err_size,
                                    "--cmdline: longer than %d bytes", OPTIONS_MAX_CMDLINE);
                opts->cmdline = arg;
                opts->cmdline_given = true;
                return 0;
        case 'C':
                opts->console_path = arg;
                return 0;
        case 't':
                if (parse_seconds(arg, &opts->timeout_seconds))
                        return error_message(err, err_size,
                                    "--timeout '%s': expected a positive number of seconds", arg);
                return 0;
        case 'E':
                if (strcmp(arg, "guest") == 0)
                        opts->exit_status = EXIT_STATUS_GUEST;
                else if (strcmp(arg, "qemu") == 0)
                        opts->exit_status = EXIT_STATUS_QEMU;
                else
                        return error_message(err, err_size,
                                    "--exit-status '%s': expected 'guest' or 'qemu'", arg);
                return 0;
        case 'U': {
                char *end;
                errno = 0;
                unsigned long long pos = strtoull(arg, &end, 10);
                if (errno || end == arg || *end || arg[0] == '-' || pos == 0)
                        return error_message(err, err_size,
                                    "--until '%s': expected a position of 1 or more", arg);
                opts->until_position = pos;
                return 0;
        }
        case 'T':
                opts->stats = true;
                return 0;
        case 'X':
                opts->record_tuning_given = true;
                return parse_milliseconds("--max-stall", arg, &opts->max_stall_ms, err, err_size);
        case 'P':
                opts->record_tuning_given = true;
                return parse_milliseconds("--epoch", arg, &opts->epoch_ms, err, err_size);
        case 'Y':
                opts->record_tuning_given = true;
                if (strcmp(arg, "write") == 0)
                        opts->sync = LOG_SYNC_WRITE;
                else if (strcmp(arg, "fsync") == 0)
                        opts->sync = LOG_SYNC_FSYNC;
                else
                        return error_message(err, err_size,
                                    "--sync '%s': expected 'write' or 'fsync'", arg);
                return 0;
        case 'V': {
                char *end;
                errno = 0;
                unsigned long n = strtoul(arg, &end, 10);
                opts->record_tuning_given = true;
                if (errno || end == arg || *end || arg[0] == '-' || n > 1000000)
                        return error_message(err, err_size,
                                    "--verify-every '%s': expected a number of epochs from 0 to 1000000", arg);
                opts->verify_every = (uint32_t)n;
                return 0;
        }
        case 'l':
                opts->log_path = arg;
                return 0;
        case 'S':
                opts->snapshot_path = arg;
                return 0;
        case 'R':
                opts->restore_path = arg;
                return 0;
        case 'h':
                opts->help = true;
                return 0;
        case 'D':
                opts->disk_spec = arg;
                return 0;
        }
        return apply_launch_option(opt, arg, opts, err, err_size);
}

static int check_combination(int argc, char **argv, struct run_options *opts,
                             char *err, size_t err_size)
{
        if (opts->role == ROLE_BACKUP) {
                if (optind + 1 < argc)
                        return error_message(err, err_size, "unexpected argument '%s'", argv[optind + 1]);
                /* Optional: the guest the primary must be running. */
                opts->image = optind < argc ? argv[optind] : NULL;
                return 0;
        }
        if (!opts->until_position != !opts->snapshot_path)
                return error_message(err, err_size, "--until and --snapshot go together");
        if (opts->restore_path) {
                if (optind < argc)
                        return error_message(err, err_size, "--restore replaces IMAGE; unexpected '%s'",
                                    argv[optind]);
                if (opts->mem_given || opts->cmdline_given)
                        return error_message(err, err_size,
                                    "--restore takes RAM size and command line from the snapshot; drop --mem and --cmdline");
                opts->image = opts->restore_path;
                return 0;
        }
        if (optind >= argc)
                return error_message(err, err_size, "missing IMAGE argument");
        if (optind + 1 < argc)
                return error_message(err, err_size, "unexpected argument '%s'", argv[optind + 1]);
        opts->image = argv[optind];
        return 0;
}

static int parse(int argc, char **argv, struct run_options *opts, char *err, size_t err_size);

int options__parse_run(int argc, char **argv, struct run_options *opts,
                       char *err, size_t err_size)
{
        return parse(argc, argv, opts, err, err_size);
}

int options__parse_launch(int argc, char **argv, struct run_options *opts,
                          char *err, size_t err_size)
{
        int rc = parse(argc, argv, opts, err, err_size);
        if (rc || opts->help)
                return rc;
        if (opts->role == ROLE_NONE)
                return error_message(err, err_size, "--role primary or --role backup is required");
        if (!opts->arbiter_path)
                return error_message(err, err_size, "--arbiter DIR is required");
        if (opts->role == ROLE_PRIMARY && !opts->listen_address)
                return error_message(err, err_size, "a primary needs --listen ADDR:PORT");
        if (opts->role == ROLE_BACKUP && !opts->connect_address)
                return error_message(err, err_size, "a backup needs --connect ADDR:PORT");
        if (opts->role == ROLE_PRIMARY && opts->connect_address)
                return error_message(err, err_size, "--connect is for a backup");
        if (opts->role == ROLE_BACKUP && (opts->no_wait || opts->cmdline_given))
                return error_message(err, err_size,
                                     "--no-wait and --cmdline are for a primary (a backup takes them from it)");
        if (opts->role == ROLE_BACKUP && opts->initrd_path && !opts->image)
                return error_message(err, err_size, "--initrd on a backup goes with IMAGE (both name the guest "
                                     "the primary must run)");
        if (opts->failure_timeout_ms <= opts->heartbeat_ms)
                return error_message(err, err_size,
                                     "--failure-timeout (%g ms) must be longer than --heartbeat (%g ms)",
                                     opts->failure_timeout_ms, opts->heartbeat_ms);
        return 0;
}

static int parse(int argc, char **argv, struct run_options *opts, char *err, size_t err_size)
{
        static const struct option longopts[] = {
                { "mem", required_argument, NULL, 'm' },
                { "cmdline", required_argument, NULL, 'c' },
                { "console", required_argument, NULL, 'C' },
                { "timeout", required_argument, NULL, 't' },
                { "exit-status", required_argument, NULL, 'E' },
                { "stats", no_argument, NULL, 'T' },
                { "log", required_argument, NULL, 'l' },
                { "until", required_argument, NULL, 'U' },
                { "snapshot", required_argument, NULL, 'S' },
                { "restore", required_argument, NULL, 'R' },
                { "max-stall", required_argument, NULL, 'X' },
                { "epoch", required_argument, NULL, 'P' },
                { "sync", required_argument, NULL, 'Y' },
                { "verify-every", required_argument, NULL, 'V' },
                { "role", required_argument, NULL, OPT_ROLE },
                { "listen", required_argument, NULL, OPT_LISTEN },
                { "connect", required_argument, NULL, OPT_CONNECT },
                { "arbiter", required_argument, NULL, OPT_ARBITER },
                { "control", required_argument, NULL, OPT_CONTROL },
                { "name", required_argument, NULL, OPT_NAME },
                { "heartbeat", required_argument, NULL, OPT_HEARTBEAT },
                { "failure-timeout", required_argument, NULL, OPT_FAILURE_TIMEOUT },
                { "max-lag", required_argument, NULL, OPT_MAX_LAG },
                { "connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT },
                { "no-wait", no_argument, NULL, OPT_NO_WAIT },
                { "disk", required_argument, NULL, 'D' },
                { "initrd", required_argument, NULL, OPT_INITRD },
                { "strict-io", no_argument, NULL, OPT_STRICT_IO },
                { "force-emulated-ring0", no_argument, NULL, OPT_FORCE_RING0 },
                { "uncertain", required_argument, NULL, OPT_UNCERTAIN },
                { "help", no_argument, NULL, 'h' },
                { NULL, 0, NULL, 0 },
        };
        *opts = (struct run_options){
                .mem_bytes = OPTIONS_DEFAULT_MEM,
                .cmdline = "",
                .exit_status = EXIT_STATUS_GUEST,
                .max_stall_ms = OPTIONS_DEFAULT_MAX_STALL_MS,
                .epoch_ms = OPTIONS_DEFAULT_EPOCH_MS,
                .sync = LOG_SYNC_WRITE,
                .verify_every = OPTIONS_DEFAULT_VERIFY_EVERY,
                .heartbeat_ms = OPTIONS_DEFAULT_HEARTBEAT_MS,
                .failure_timeout_ms = OPTIONS_DEFAULT_FAILURE_TIMEOUT_MS,
                .max_lag_ms = OPTIONS_DEFAULT_MAX_LAG_MS,
                .connect_timeout_s = OPTIONS_DEFAULT_CONNECT_TIMEOUT_S,
        };
        err[0] = '\0';
        optind = 1;
        opterr = 0; /* we print our own message, naming the option */
        int opt;
        while ((opt = getopt_long(argc, argv, ":m:c:t:l:h", longopts, NULL)) != -1) {
                if (opt == '?')
                        return error_message(err, err_size, "unknown option '%s'",
                                    argv[optind - 1]);
                if (opt == ':')
                        return error_message(err, err_size, "option '%s' needs a value",
                                    argv[optind - 1]);
                if (apply_option(opt, optarg, opts, err, err_size))
                        return -1;
        }
        if (opts->help)
                return 0;
        return check_combination(argc, argv, opts, err, err_size);
}
