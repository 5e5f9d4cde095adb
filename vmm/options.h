/* Command-line options of `ftvmm run`, parsed without side effects so that
 * every error path can be unit tested. */
#ifndef FTVMM_OPTIONS_H
#define FTVMM_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OPTIONS_DEFAULT_MEM (128ull << 20)
#define OPTIONS_MIN_MEM (4ull << 20)
#define OPTIONS_MAX_MEM (64ull << 30)
#define OPTIONS_MAX_CMDLINE 4095
#define OPTIONS_DEFAULT_MAX_STALL_MS 20.0
#define OPTIONS_DEFAULT_EPOCH_MS 10.0
#define OPTIONS_DEFAULT_VERIFY_EVERY 16
#define OPTIONS_DEFAULT_HEARTBEAT_MS 100.0
#define OPTIONS_DEFAULT_FAILURE_TIMEOUT_MS 500.0
#define OPTIONS_DEFAULT_MAX_LAG_MS 1000.0
#define OPTIONS_DEFAULT_CONNECT_TIMEOUT_S 30.0

enum log_sync_option {
        LOG_SYNC_WRITE, /* output waits until the log is handed to the kernel */
        LOG_SYNC_FSYNC, /* ... and is on disk (fdatasync) */
};

enum launch_role { ROLE_NONE, ROLE_PRIMARY, ROLE_BACKUP };

enum exit_status_convention {
        EXIT_STATUS_GUEST, /* ftvmm exits with the status the guest wrote */
        EXIT_STATUS_QEMU,  /* ftvmm exits with (status << 1) | 1, as QEMU */
};

struct run_options {
        const char *image;
        uint64_t mem_bytes;
        const char *cmdline;
        const char *console_path; /* NULL: standard output */
        double timeout_seconds;   /* 0: none */
        enum exit_status_convention exit_status;
        uint64_t until_position;  /* 0: run to the end */
        const char *snapshot_path;/* with until_position: save the machine there */
        const char *restore_path; /* continue from a snapshot instead of IMAGE */
        bool mem_given, cmdline_given;
        bool stats;               /* print exit counts on stderr at the end */
        const char *log_path;     /* ftvmm record: where the log goes */
        double max_stall_ms;      /* ftvmm record: see --max-stall */
        double epoch_ms;          /* ftvmm record: see --epoch */
        enum log_sync_option sync;/* ftvmm record: see --sync */
        uint32_t verify_every;    /* ftvmm record: see --verify-every */
        bool record_tuning_given; /* --max-stall, --epoch, --sync or --verify-every */
        /* ftvmm launch */
        enum launch_role role;
        const char *listen_address;   /* ADDR:PORT */
        const char *connect_address;  /* ADDR:PORT */
        const char *arbiter_path;
        const char *control_path;     /* the status socket */
        const char *name;             /* this replica, in messages and the arbiter */
        double heartbeat_ms, failure_timeout_ms, max_lag_ms, connect_timeout_s;
        bool no_wait;
        bool launch_given;            /* any option only `launch` takes */
        const char *disk_spec;        /* --disk FILE[,readonly] */
        const char *initrd_path;      /* --initrd: a PVH module for the kernel */
        bool strict_io;               /* --strict-io: unclaimed I/O stops the guest */
        bool force_emulated_ring0;    /* run a Linux kernel on PVM anyway */
        bool uncertain_error;         /* --uncertain=error (P7 by I/O errors) */
        bool help;
};

/* Parses argv[1..argc) of `ftvmm run`. Returns 0, or -1 with a one-line
 * message in err naming the option or value at fault. */
int options__parse_run(int argc, char **argv, struct run_options *opts,
                       char *err, size_t err_size);
/* The same for `ftvmm launch`, whose backup takes no IMAGE. */
int options__parse_launch(int argc, char **argv, struct run_options *opts,
                          char *err, size_t err_size);
/* "128M", "1G", "65536" (bytes), "64k": returns 0 or -1. */
int options__parse_size(const char *text, uint64_t *bytes);
extern const char options__run_help[];
extern const char options__record_help[];
extern const char options__replay_help[];
extern const char options__launch_help[];

#endif
