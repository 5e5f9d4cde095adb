#include "device_states.h"

int device_states__save(const struct machine *m, struct state_writer *w)
{
        int rc = pic8259__save(&m->pic, w);
        if (!rc) rc = pit8254__save(&m->pit, w);
        if (!rc) rc = cmos_rtc__save(&m->rtc, w);
        if (!rc) rc = uart16550__save(&m->uart, w);
        if (!rc) rc = debug_exit__save(&m->debug_exit, w);
        if (!rc) rc = post_port__save(&m->post, w);
        return rc;
}

int device_states__load(struct machine *m, struct state_reader *r)
{
        int rc = pic8259__load(&m->pic, r);
        if (!rc) rc = pit8254__load(&m->pit, r);
        if (!rc) rc = cmos_rtc__load(&m->rtc, r);
        if (!rc) rc = uart16550__load(&m->uart, r);
        if (!rc) rc = debug_exit__load(&m->debug_exit, r);
        if (!rc) rc = post_port__load(&m->post, r);
        return rc ? -1 : 0;
}
