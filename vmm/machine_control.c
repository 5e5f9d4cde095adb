#include "machine_control.h"

#include "dirty_pages.h"
#include "machine.h"
#include "memory_hash.h"

const struct machine_control machine_control__kvm = {
        .capture = checkpoint__capture,
        .apply = checkpoint__apply,
        .memory_hash = memory_hash__compute,
        .track_dirty_pages = dirty_pages__start_kvm,
};
