/* The PC-like machine ftvmm presents: KVM VM, guest RAM, the legacy devices
 * BRIEF.md lists, and the buses that route guest accesses to them. */
#ifndef FTVMM_MACHINE_H
#define FTVMM_MACHINE_H

#include <stdbool.h>
#include <stddef.h>
#include <pthread.h>
#include <stdint.h>

#include "../devices/cmos_rtc.h"
#include "../devices/debug_exit.h"
#include "../devices/io_bus.h"
#include "../devices/nmi_sc.h"
#include "../devices/pci_conf1.h"
#include "../devices/pic8259.h"
#include "../devices/pit8254.h"
#include "../devices/post_port.h"
#include "../devices/uart16550.h"
#include "../devices/virtio_blk.h"
#include "../replication/environment.h"
#include "block_file.h"
#include "dirty_pages.h"
#include "kvm_vm.h"
#include "memory_hash.h"
#include "pvh_loader.h"

#define MACHINE_COM1_BASE 0x3f8
#define MACHINE_COM1_IRQ 4
#define MACHINE_DEBUG_EXIT_BASE 0xf4
/* Where QEMU's microvm (with acpi=off) puts its first virtio-mmio transport
 * and its interrupt, so that the guest's command line is the same on both:
 * IRQ 5 is free on a PC's master 8259. */
#define MACHINE_VIRTIO_BLK_BASE 0xfeb00000ull
#define MACHINE_VIRTIO_BLK_IRQ 5
#define MACHINE_VIRTIO_BLK_SERIAL "ftvmm-disk"

struct console_output {
        int fd;
        const char *path;   /* for error messages */
        bool failed;        /* reported once, then output is dropped */
        uint64_t produced;  /* bytes the guest has written since boot: its
                             * offset in the transcript */
        /* Where the guest's bytes go instead of fd, when a session must
         * hold them until the log that reproduces them is safe (it emits
         * them later with machine__console_emit). */
        void (*divert)(void *context, const uint8_t *bytes, size_t count);
        void *divert_context;
};

/* A device whose operations can be outstanding: issued by the guest, their
 * completion not yet in the log (a disk's requests). A backup settles them
 * when it goes live (P7). */
struct outstanding_io {
        /* Completes every outstanding operation with an error the guest's
         * driver answers by reissuing it; returns how many there were. */
        unsigned (*complete_as_uncertain)(void *device);
        /* Performs every outstanding operation again; returns how many. */
        unsigned (*reissue)(void *device);
        void *device;
};

/* P7: what becomes of the operations outstanding when a replica goes live. */
enum uncertain_policy {
        UNCERTAIN_REISSUE, /* the VMM performs them again: any guest sees ordinary completions */
        UNCERTAIN_ERROR,   /* an I/O error completes them: for guests that reissue themselves */
};

#define MACHINE_MAX_IO_DEVICES 8

/* --disk: the virtio-blk device and the file behind it. */
struct machine_disk {
        struct virtio_blk device;
        struct block_file file;
        struct block_backend backend; /* the device's: to the file, or held first */
        char *path;
        struct block_file_options options;
        bool connected;         /* the file is open and the device submits to it */
        /* The output rule (set by a recording session): a write, flush or
         * discard is held until the log that leads to it is safe. */
        void (*hold)(void *context, struct held_output *h);
        void *hold_context;
        uint64_t applied;       /* completions applied to the device */
        /* Test hook (FTVMM_TEST_UNCERTAIN_EVERY=N): every N-th batch of
         * completions, first complete everything outstanding as uncertain,
         * as a promoted backup does (P7), so the guest's reissue is
         * exercised without a failover. Not again before the requests
         * issued since (the reissues) have all completed, so no request is
         * hit twice (a failover happens once). 0: off. */
        unsigned uncertain_every;
        uint64_t batches;
        uint64_t fence;  /* the device's next_id when the hook last fired */
        bool drained;
};

struct machine {
        uint8_t *ram;
        uint64_t ram_size;
        uint32_t entry;         /* PVH entry of the loaded image */
        uint32_t start_info;    /* guest-physical hvm_start_info */
        struct pvh_image image; /* where the loaded image lies */
        uint64_t position;      /* deterministic exits since boot */
        uint64_t clock_ns;      /* the environment's clock as the PIT last saw it */
        struct kvm_vm vm;
        struct environment *env;
        struct io_bus pio;
        struct io_bus mmio;
        struct pic8259 pic;
        struct pit8254 pit;
        struct cmos_rtc rtc;
        struct uart16550 uart;
        struct debug_exit debug_exit;
        struct post_port post;
        struct nmi_sc nmi_sc;
        struct pci_conf1 pci_conf1;
        struct console_output console;
        struct dirty_pages dirty;
        struct memory_hash memory_hash;
        struct machine_disk *disk; /* NULL without --disk */
        struct outstanding_io io_devices[MACHINE_MAX_IO_DEVICES];
        unsigned io_device_count;
        /* The thread that runs the vCPU, and the signal that kicks it out
         * of KVM_RUN (vcpu_loop sets them). */
        pthread_t vcpu_thread;
        int kick_signal;
};

/* A machine that machine__destroy may be called on before it was created. */
#define MACHINE_UNCREATED \
        ((struct machine){ .vm = { .kvm_fd = -1, .vm_fd = -1, .vcpu_fd = -1 } })

/* Three steps, so that a bad image is reported before KVM is touched. Each
 * returns 0 or an exit_status with a one-line message in err. */

/* Guest RAM and the wired devices; console_fd receives serial output. */
int machine__create(struct machine *m, uint64_t ram_size, struct environment *env,
                    int console_fd, const char *console_path,
                    char *err, size_t err_size);
/* --disk FILE[,readonly]: a virtio-blk device on the MMIO bus backed by
 * FILE, registered for P7. Call after machine__create and before loading
 * the image, whose command line then names the device in Linux's form
 * (virtio_mmio.device=512@0xfeb00000:5). With connect false (a backup),
 * the device is there, of FILE's size, but nothing opens the file: its
 * requests stay outstanding until their logged completions are applied
 * (or P7 completes them), and machine__connect_disk at promotion gives
 * later requests to the file. Returns 0 or an exit status. */
int machine__add_disk(struct machine *m, const char *spec, bool connect, char *err,
                      size_t err_size);
/* A replay's disk: the device the log's BOOT names, with no file behind
 * it; every completion comes from the log. */
int machine__add_logged_disk(struct machine *m, uint64_t sectors, bool readonly, char *err,
                             size_t err_size);
/* Opens the disk's file and starts submitting to it. Returns 0 or an exit
 * status. */
int machine__connect_disk(struct machine *m, char *err, size_t err_size);
/* From now on the disk's writes, flushes and discards go to hold (NULL:
 * straight to the file) as outputs; reads never wait. */
void machine__hold_disk_outputs(struct machine *m, void (*hold)(void *context, struct held_output *h),
                                void *context);
/* The permit every write and discard asks right before it is performed
 * (NULL: none). Clear it only once machine__disk_idle. */
void machine__set_disk_gate(struct machine *m, const struct permit_gate *gate);
/* Waits up to timeout_ms for the disk's queued and running requests to be
 * performed. True if none is left (or there is no disk file). */
bool machine__disk_idle(struct machine *m, int timeout_ms);
/* Takes the disk's finished requests and applies them to the device (DMA,
 * used ring, interrupt): what the live session does whenever the vCPU
 * loop gets control. Returns how many were applied. */
int machine__apply_pending_io(struct machine *m);
/* A disk completion as an event: what a recording session logs before it
 * is applied, and what a replay applies from the log. data/length: a
 * read's bytes. */
struct machine_io_completion {
        uint32_t device;
        uint64_t id;
        uint8_t status;
        const uint8_t *data;
        uint32_t length;
};
/* Called with each completion before it is applied; false (the log
 * failed) applies neither it nor any after it, which the session's stop
 * makes moot. */
typedef bool (*machine_io_logger)(void *context, const struct machine_io_completion *c);
/* machine__apply_pending_io for a recording session (P0 for events: each
 * completion is logged before the guest sees it). */
int machine__apply_pending_io_logged(struct machine *m, machine_io_logger logged, void *context);
/* Applies a logged completion (a replay, a backup): 0, or -1 with why if
 * the machine has no such disk. A completion whose id is not outstanding
 * is dropped, as it was where it was logged. */
int machine__apply_logged_io(struct machine *m, const struct machine_io_completion *c,
                             char *why, size_t why_size);
/* Whether the disk's file is open: requests go to it, completions come
 * from it (not on a replay, nor on a backup before its promotion). */
bool machine__disk_connected(const struct machine *m);
/* Requests the guest issued whose completion has not been applied. */
unsigned machine__outstanding_io(const struct machine *m);
/* For a halted guest: sleeps until the host's CLOCK_MONOTONIC reaches
 * deadline_ns (UINT64_MAX: no deadline) or a disk completion is waiting,
 * whichever comes first. True if a completion is waiting. */
bool machine__wait_io_until(struct machine *m, uint64_t deadline_ns);
/* Loads a PVH ELF image into RAM and writes hvm_start_info. */
int machine__load_image(struct machine *m, const char *path, const char *cmdline,
                        char *err, size_t err_size);
/* The same from bytes in memory; name is for messages. */
int machine__load_image_bytes(struct machine *m, const char *name, const uint8_t *image,
                              size_t size, const char *cmdline, char *err, size_t err_size);
/* Loads an initial RAM disk as the first PVH module, clear of the image
 * (machine__load_image_bytes first). Returns 0 or an exit status. */
int machine__load_initrd_bytes(struct machine *m, const char *name, const uint8_t *initrd,
                               size_t size, char *err, size_t err_size);
/* Reads a whole image file (at most 1 GiB). Returns 0 or an exit_status. */
int machine__read_image(const char *path, uint8_t **data, size_t *size,
                        char *err, size_t err_size);
struct vcpu_state;
/* Creates the KVM VM over the RAM, with CPU model cpu (NULL: ftvmm's model
 * for this host), and puts the vCPU at the PVH entry, or, given a saved
 * vCPU state, continues from it. */
int machine__start(struct machine *m, const struct vcpu_state *restore,
                   const struct cpu_model *cpu, char *err, size_t err_size);
void machine__destroy(struct machine *m);
/* Console output from elsewhere than the UART (a replayed checkpoint
 * epoch's), through the diversion if there is one. */
void machine__console_output(struct machine *m, const uint8_t *bytes, size_t count);
/* Writes bytes to the console itself, bypassing any diversion: output a
 * session has released, or a replayed checkpoint epoch's. Returns how many
 * left (fewer only once the console has failed for good; a full one is
 * waited for). */
size_t machine__console_emit(struct machine *m, const uint8_t *bytes, size_t count);
/* Points the machine and its devices at another environment. */
void machine__set_environment(struct machine *m, struct environment *env);
/* From any thread: makes the vCPU leave KVM_RUN (or not enter it) soon. */
void machine__kick(struct machine *m);
/* P7: when a replica goes live, every I/O operation outstanding on it is
 * reissued by the VMM or completed with an uncertain interrupt, as policy
 * says. Returns how many there were. */
unsigned machine__settle_outstanding_io(struct machine *m, enum uncertain_policy policy);
/* A digest of where the guest is: the registers KVM synced into kvm_run,
 * the control registers that say which address space and mode it runs in,
 * the position, and every device's state. Equal on two replicas at the
 * same point of the same run. */
uint32_t machine__state_digest(const struct machine *m);
/* The same digest by part, so that two replicas that differ can say
 * where: the general registers, the control registers and the position,
 * then each device's saved state in save order. Writes at most max parts
 * and returns how many. */
unsigned machine__state_digest_parts(const struct machine *m, uint32_t *parts, unsigned max);
/* The hashes of ranges of RAM as of the last memory hash (memory_hash.h),
 * at most max; 0 if none was taken (a session's tests without KVM). */
unsigned machine__memory_ranges(const struct machine *m, uint64_t *out, unsigned max);
/* What part i is, for a message: "the general registers", "device PIT "... */
void machine__digest_part_name(const struct machine *m, unsigned i, char *out, size_t size);

#endif
