/* Which pages of guest RAM changed, for the two consumers that need to
 * know: checkpoint epochs (the pages to ship) and the memory hash (the
 * pages to hash again). KVM logs the guest's writes (one KVM_GET_DIRTY_LOG
 * serves both: what it returns is added to each); the VMM's own writes
 * (loading an image, applying a checkpoint) are marked by hand, since KVM
 * does not see them. */
#ifndef FTVMM_DIRTY_PAGES_H
#define FTVMM_DIRTY_PAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct machine;

struct dirty_pages {
        bool kvm_tracking;          /* KVM_MEM_LOG_DIRTY_PAGES is on */
        size_t words;               /* u64s per bitmap */
        uint64_t *fetched;          /* KVM's bitmap, scratch */
        uint64_t *for_checkpoint;
        uint64_t *for_hash;
};

/* Allocates the bitmaps for ram_size bytes. Returns 0 or -ENOMEM. */
int dirty_pages__init(struct dirty_pages *d, uint64_t ram_size);
void dirty_pages__release(struct dirty_pages *d);
/* Turns on KVM's dirty log (the VM must exist). Returns 0 or -errno. */
int dirty_pages__start_kvm(struct machine *m);
/* Adds what KVM logged since the last collection to both consumers and
 * restarts KVM's log. A no-op until dirty_pages__start_kvm. */
int dirty_pages__collect(struct machine *m);
/* The VMM wrote [addr, addr + length) itself. */
void dirty_pages__mark(struct dirty_pages *d, uint64_t addr, uint64_t length);
void dirty_pages__mark_all(struct dirty_pages *d, uint64_t ram_size);
size_t dirty_pages__count(const uint64_t *bitmap, size_t words);

#endif
