#include "pci_conf1.h"

#include <errno.h>
#include <string.h>

#define ADDRESS_OFFSET 0

void pci_conf1__init(struct pci_conf1 *dev)
{
        memset(dev, 0, sizeof(*dev));
}

int pci_conf1__io(void *opaque, uint64_t offset, uint8_t *data, uint32_t size, bool is_write)
{
        struct pci_conf1 *dev = opaque;
        if ((size != 1 && size != 2 && size != 4) || offset + size > PCI_CONF1_PORTS)
                return -EINVAL;
        if (offset == ADDRESS_OFFSET && size == 4) {
                if (is_write)
                        memcpy(&dev->address, data, 4);
                else
                        memcpy(data, &dev->address, 4);
                return 0;
        }
        /* Configuration data with no device to answer, or a narrow access
         * to 0xcf8-0xcfb that the register does not decode: a master abort,
         * all ones, whatever the address register selects. */
        if (!is_write)
                memset(data, 0xff, size);
        return 0;
}

int pci_conf1__save(const struct pci_conf1 *dev, struct state_writer *w)
{
        state_writer__begin(w, "PCI1", 1);
        state_writer__u32(w, dev->address);
        return state_writer__end(w);
}

int pci_conf1__load(struct pci_conf1 *dev, struct state_reader *r)
{
        struct pci_conf1 loaded;
        if (state_reader__begin(r, "PCI1", 1))
                return -EINVAL;
        loaded.address = state_reader__u32(r);
        if (state_reader__end(r))
                return -EINVAL;
        *dev = loaded;
        return 0;
}
