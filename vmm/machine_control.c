#include "machine_control.h"

#include <errno.h>
#include <stdlib.h>

#include "snapshot.h"

#include "dirty_pages.h"
#include "machine.h"
#include "memory_hash.h"

static int snapshot_from_kvm(struct machine *m, struct state_writer *w)
{
        struct vcpu_state *vcpu = malloc(sizeof(*vcpu));
        int rc = vcpu ? vcpu_state__get(&m->vm, vcpu) : -ENOMEM;
        if (!rc)
                rc = snapshot__encode(m, vcpu, w);
        free(vcpu);
        return rc;
}

const struct machine_control machine_control__kvm = {
        .capture = checkpoint__capture,
        .apply = checkpoint__apply,
        .memory_hash = memory_hash__compute,
        .track_dirty_pages = dirty_pages__start_kvm,
        .snapshot = snapshot_from_kvm,
};
