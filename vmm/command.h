/* What the subcommands (cmd_*.c) share: the console, exit codes, --stats,
 * saving a snapshot, and building a machine from an image or a snapshot. */
#ifndef FTVMM_COMMAND_H
#define FTVMM_COMMAND_H

#include <stddef.h>
#include <stdint.h>

#include "machine.h"
#include "options.h"
#include "vcpu_loop.h"

/* stdout, or the --console file. Returns 0 or an exit status. */
int command__open_console(const struct run_options *opts, int *fd);
void command__close_console(int fd);
const char *command__console_name(const struct run_options *opts);
/* The exit status for a run's outcome, printing why on stderr (prefixed
 * with `who`, the image or log) for anything but a guest exit. */
int command__exit_code(const struct run_options *opts, const char *who,
                       const struct run_result *r);
void command__print_stats(const struct machine *m, const struct session *s,
                          const struct run_result *r);
/* --snapshot after --until. Returns 0 or an exit status. */
int command__save_snapshot(struct machine *m, const struct run_options *opts);
/* Creates m from a snapshot in memory and starts its VM with the
 * snapshot's CPU model; disk_spec (NULL: none) is the saved machine's disk,
 * left closed (a backup opens it at its promotion). Returns 0 or an exit
 * status with a message (naming `name`). */
int command__machine_from_snapshot(struct machine *m, const uint8_t *snapshot, size_t length,
                                   const char *name, int console_fd, const char *console_name,
                                   const char *disk_spec, char *err, size_t err_size);

/* The image and initrd an IMAGE argument and --initrd name, read whole. */
struct boot_files {
        uint8_t *image, *initrd;
        size_t image_size, initrd_size;
};
/* Reads them, and refuses a Linux kernel on a host whose KVM emulates ring
 * 0 unless forced. Returns 0 or an exit status with a message. */
int command__read_boot_files(const struct run_options *opts, struct boot_files *files,
                             char *err, size_t err_size);
void command__release_boot_files(struct boot_files *files);
/* What names the guest of a pair: XXH3-128 of the image, then of the
 * initrd if there is one. */
void command__boot_files_digest(const struct boot_files *files, uint8_t out[16]);
/* Loads them into a created machine. Returns 0 or an exit status. */
int command__load_boot_files(struct machine *m, const struct run_options *opts,
                             const struct boot_files *files, char *err, size_t err_size);

int cmd_run(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_launch(int argc, char **argv);
int cmd_status(int argc, char **argv);

#endif
