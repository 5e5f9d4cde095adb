/* NMI status and control (NMI_SC), port 0x61 on a PC, also called system
 * control port B. The bits Linux uses: 0 drives the gate of PIT channel 2
 * and 5 reads that channel's output, which is how it calibrates the TSC
 * against the PIT; 1 enables the speaker; 4 is the memory refresh toggle
 * that old delay loops poll; 6 and 7 report I/O channel and system errors,
 * which never happen here. */
#ifndef FTVMM_NMI_SC_H
#define FTVMM_NMI_SC_H

#include <stdbool.h>
#include <stdint.h>

#include "../replication/state_record.h"
#include "pit8254.h"

#define NMI_SC_GATE2 0x01
#define NMI_SC_SPEAKER 0x02
#define NMI_SC_CHECK_DISABLES 0x0c /* SERR# and IOCHK# disables: read back */
#define NMI_SC_REFRESH 0x10
#define NMI_SC_OUT2 0x20

struct nmi_sc {
        struct pit8254 *pit;   /* owns the gate; not part of the saved state */
        bool speaker;          /* speaker data enable; there is no speaker */
        uint8_t check_disables;
        /* Real hardware toggles it every 15 us; a toggle per read keeps
         * polling loops finite without reading a clock. */
        bool refresh;
};

void nmi_sc__init(struct nmi_sc *dev, struct pit8254 *pit);
int nmi_sc__io(void *dev, uint64_t offset, uint8_t *data, uint32_t size,
               bool is_write);
int nmi_sc__save(const struct nmi_sc *dev, struct state_writer *w);
int nmi_sc__load(struct nmi_sc *dev, struct state_reader *r);

#endif
