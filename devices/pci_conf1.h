/* PCI configuration mechanism 1 (ports 0xcf8-0xcff) with no host bridge
 * behind it: the machine has no PCI, and says so the way a PC with an empty
 * bus would. The address register at 0xcf8 latches dword writes and reads
 * them back; every configuration read through 0xcfc-0xcff finds no device
 * (all ones) and writes go nowhere. Linux's type 1 probe therefore finds
 * the register but no host bridge on bus 0 and concludes there is no PCI;
 * its type 2 probe, byte accesses to 0xcf8 and 0xcfa, reaches no register
 * (as on a type 1 chipset, which decodes only dword accesses there) and
 * reads 0xff. Early code that reads a device's ID directly (an AMD
 * northbridge check) sees 0xffff, "no device". */
#ifndef FTVMM_PCI_CONF1_H
#define FTVMM_PCI_CONF1_H

#include <stdbool.h>
#include <stdint.h>

#include "../replication/state_record.h"

#define PCI_CONF1_PORTS 8 /* 0xcf8 address, 0xcfc data */

struct pci_conf1 {
        uint32_t address; /* the last dword written to 0xcf8 */
};

void pci_conf1__init(struct pci_conf1 *dev);
int pci_conf1__io(void *dev, uint64_t offset, uint8_t *data, uint32_t size,
                  bool is_write);
int pci_conf1__save(const struct pci_conf1 *dev, struct state_writer *w);
int pci_conf1__load(struct pci_conf1 *dev, struct state_reader *r);

#endif
