/* One machine without KVM (RAM and devices only) that fuzz targets decode
 * state into, created on first use and reused. */
#ifndef FTVMM_FUZZ_MACHINE_H
#define FTVMM_FUZZ_MACHINE_H

#include <stdio.h>
#include <stdlib.h>

#include "../../replication/environment.h"
#include "../../vmm/machine.h"
#include "../../vmm/vcpu_state.h"

#define FUZZ_MACHINE_RAM (4ull << 20)

static inline struct machine *fuzz_machine(void)
{
        static struct machine *m;
        char err[256];
        if (!m) {
                m = malloc(sizeof(*m));
                if (!m || machine__create(m, FUZZ_MACHINE_RAM, environment__live(), -1, "fuzz",
                                          err, sizeof(err))) {
                        fprintf(stderr, "fuzz: %s\n", m ? err : "out of memory");
                        abort();
                }
        }
        return m;
}

static inline struct vcpu_state *fuzz_vcpu(void)
{
        static struct vcpu_state *vcpu;
        if (!vcpu && !(vcpu = malloc(sizeof(*vcpu))))
                abort();
        return vcpu;
}

#endif
