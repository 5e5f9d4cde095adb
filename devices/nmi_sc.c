#include "nmi_sc.h"

#include <errno.h>
#include <string.h>

#define PIT_SPEAKER_CHANNEL 2

void nmi_sc__init(struct nmi_sc *dev, struct pit8254 *pit)
{
        memset(dev, 0, sizeof(*dev));
        dev->pit = pit;
}

static uint8_t nmi_sc__read(struct nmi_sc *dev)
{
        dev->refresh = !dev->refresh;
        return (uint8_t)(pit8254__gate(dev->pit, PIT_SPEAKER_CHANNEL) * NMI_SC_GATE2 |
                         dev->speaker * NMI_SC_SPEAKER | dev->check_disables |
                         dev->refresh * NMI_SC_REFRESH |
                         pit8254__output(dev->pit, PIT_SPEAKER_CHANNEL) * NMI_SC_OUT2);
}

static void nmi_sc__write(struct nmi_sc *dev, uint8_t v)
{
        /* Bits 4-7 are status and read-only. */
        pit8254__set_gate(dev->pit, PIT_SPEAKER_CHANNEL, v & NMI_SC_GATE2);
        dev->speaker = v & NMI_SC_SPEAKER;
        dev->check_disables = v & NMI_SC_CHECK_DISABLES;
}

int nmi_sc__io(void *opaque, uint64_t offset, uint8_t *data, uint32_t size, bool is_write)
{
        struct nmi_sc *dev = opaque;
        if (size != 1 || offset != 0)
                return -EINVAL;
        if (is_write)
                nmi_sc__write(dev, data[0]);
        else
                data[0] = nmi_sc__read(dev);
        return 0;
}

int nmi_sc__save(const struct nmi_sc *dev, struct state_writer *w)
{
        state_writer__begin(w, "NMSC", 1);
        state_writer__bool(w, dev->speaker);
        state_writer__u8(w, dev->check_disables);
        state_writer__bool(w, dev->refresh);
        return state_writer__end(w);
}

int nmi_sc__load(struct nmi_sc *dev, struct state_reader *r)
{
        struct nmi_sc loaded = *dev; /* keeps the PIT */
        if (state_reader__begin(r, "NMSC", 1))
                return -EINVAL;
        loaded.speaker = state_reader__bool(r);
        loaded.check_disables = state_reader__u8(r);
        loaded.refresh = state_reader__bool(r);
        if (loaded.check_disables & ~NMI_SC_CHECK_DISABLES)
                state_reader__fail(r, "NMI_SC check disables 0x%x have bits outside 0x%x",
                                   loaded.check_disables, NMI_SC_CHECK_DISABLES);
        if (state_reader__end(r))
                return -EINVAL;
        *dev = loaded;
        return 0;
}
