#include "post_port.h"

#include <errno.h>
#include <string.h>

void post_port__init(struct post_port *dev)
{
        memset(dev, 0, sizeof(*dev));
}

int post_port__io(void *opaque, uint64_t offset, uint8_t *data, uint32_t size, bool is_write)
{
        struct post_port *dev = opaque;
        if (size != 1 || offset != 0)
                return -EINVAL;
        if (is_write)
                dev->last_code = data[0];
        else
                data[0] = 0xff;
        return 0;
}

int post_port__save(const struct post_port *dev, struct state_writer *w)
{
        state_writer__begin(w, "POST", 1);
        state_writer__u8(w, dev->last_code);
        return state_writer__end(w);
}

int post_port__load(struct post_port *dev, struct state_reader *r)
{
        struct post_port loaded;
        if (state_reader__begin(r, "POST", 1))
                return -EINVAL;
        loaded.last_code = state_reader__u8(r);
        if (state_reader__end(r))
                return -EINVAL;
        *dev = loaded;
        return 0;
}
