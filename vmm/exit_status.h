/* Process exit codes of the ftvmm command (documented in README.md).
 * Codes 0..63 are the guest's own isa-debug-exit status; from 64 on they
 * follow <sysexits.h> where a meaning exists there. */
#ifndef FTVMM_EXIT_STATUS_H
#define FTVMM_EXIT_STATUS_H

enum ftvmm_exit_status {
        EXIT_GUEST_MAX = 63,     /* guest statuses above this are clamped */
        EXIT_USAGE = 64,         /* bad command line */
        EXIT_BAD_IMAGE = 65,     /* the guest image is not a bootable PVH ELF */
        EXIT_NO_INPUT = 66,      /* a named file cannot be opened */
        EXIT_KVM_UNAVAILABLE = 69, /* /dev/kvm missing or lacking a capability */
        EXIT_GUEST_CRASHED = 70, /* triple fault, emulation failure, unknown port */
        EXIT_HOST_ERROR = 71,    /* a host system call failed */
        EXIT_LOG_FAILED = 73,    /* record: the log could not be written */
        EXIT_LOG_CUT_SHORT = 74, /* replay: the log ends inside the run */
        EXIT_LOST_ARBITER = 75,  /* launch: another replica won the arbiter;
                                  * this one stopped (do not restart it) */
        EXIT_DIVERGED = 76,      /* replay: the run differs from the log */
        EXIT_REFUSED = 78,       /* the log needs another ftvmm version, device
                                  * format or CPU model than this build and
                                  * host can offer */
        EXIT_TIMEOUT = 124,      /* --timeout expired, as timeout(1) reports it */
};

#endif
