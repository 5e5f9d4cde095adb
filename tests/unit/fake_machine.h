/* A machine for the sessions' unit tests, without KVM: real devices and
 * RAM, a kvm_run of its own for the registers the sessions read, and
 * stand-ins for the operations that need KVM (checkpoints of the devices
 * and the position only, no dirty tracking, a snapshot of the devices). */
#ifndef FTVMM_TEST_FAKE_MACHINE_H
#define FTVMM_TEST_FAKE_MACHINE_H

#include "../../vmm/machine.h"
#include "../../vmm/machine_control.h"

#define FAKE_MACHINE_RAM (4ull << 20)

extern const struct machine_control fake_machine_control;

/* console_fd: where released console output goes (-1: nowhere). A replay's
 * output is discarded; a recorder diverts its own. */
struct machine *fake_machine__new(struct environment *env, int console_fd);
void fake_machine__free(struct machine *m);

#endif
