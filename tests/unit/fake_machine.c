#include "fake_machine.h"

#include <check.h>
#include <stdlib.h>

#include "../../vmm/device_states.h"

static int fake_capture(struct machine *m, struct checkpoint_capture *c)
{
        struct state_writer w;
        state_writer__init(&w);
        state_writer__u64(&w, m->position);
        ck_assert_int_eq(device_states__save(m, &w), 0);
        c->state = w.buf;
        c->length = w.length;
        c->pages = 0;
        return 0;
}

static int fake_apply(struct machine *m, const uint8_t *state, size_t length, char *why, size_t size)
{
        (void)why;
        (void)size;
        struct state_reader r;
        state_reader__init(&r, state + 8, length - 8);
        return device_states__load(m, &r);
}

static int no_tracking(struct machine *m)
{
        (void)m;
        return 0;
}

static int fake_snapshot(struct machine *m, struct state_writer *w)
{
        state_writer__u64(w, m->position);
        return device_states__save(m, w);
}

const struct machine_control fake_machine_control = {
        .capture = fake_capture,
        .apply = fake_apply,
        .memory_hash = memory_hash__compute, /* without KVM: the VMM's own marks */
        .track_dirty_pages = no_tracking,
        .snapshot = fake_snapshot,
};

static void discard(void *context, const uint8_t *bytes, size_t n)
{
        (void)context;
        (void)bytes;
        (void)n;
}

struct machine *fake_machine__new(struct environment *env, int console_fd)
{
        char err[256];
        struct machine *m = malloc(sizeof(*m));
        ck_assert_msg(machine__create(m, FAKE_MACHINE_RAM, env, console_fd, "test", err, sizeof(err)) == 0,
                      "%s", err);
        m->vm.run = calloc(1, sizeof(struct kvm_run));
        m->vm.run->if_flag = 1;
        m->vm.run->ready_for_interrupt_injection = 1;
        if (console_fd < 0)
                m->console.divert = discard;
        return m;
}

void fake_machine__free(struct machine *m)
{
        free(m->vm.run);
        m->vm.run = NULL;
        machine__destroy(m);
        free(m);
}
