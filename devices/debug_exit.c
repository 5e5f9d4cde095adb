#include "debug_exit.h"

#include <errno.h>
#include <string.h>

void debug_exit__init(struct debug_exit *dev)
{
        memset(dev, 0, sizeof(*dev));
}

int debug_exit__io(void *opaque, uint64_t offset, uint8_t *data, uint32_t size, bool is_write)
{
        struct debug_exit *dev = opaque;
        if ((size != 1 && size != 2 && size != 4) || offset + size > 4)
                return -EINVAL;
        if (!is_write) {
                memset(data, 0, size);
                return 0;
        }
        uint32_t value = 0;
        memcpy(&value, data, size);
        dev->status = value;
        dev->requested = true;
        return 0;
}

int debug_exit__save(const struct debug_exit *dev, struct state_writer *w)
{
        state_writer__begin(w, "DBGX", 1);
        state_writer__bool(w, dev->requested);
        state_writer__u32(w, dev->status);
        return state_writer__end(w);
}

int debug_exit__load(struct debug_exit *dev, struct state_reader *r)
{
        struct debug_exit loaded;
        if (state_reader__begin(r, "DBGX", 1))
                return -EINVAL;
        loaded.requested = state_reader__bool(r);
        loaded.status = state_reader__u32(r);
        if (state_reader__end(r))
                return -EINVAL;
        *dev = loaded;
        return 0;
}
