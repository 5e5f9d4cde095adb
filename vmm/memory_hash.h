/* A hash of all guest RAM, kept up to date page by page: each page's XXH3
 * hash is remembered, only pages marked dirty (dirty_pages.h) are hashed
 * again, and the value is the XXH3 of the page hashes. A verification then
 * costs what the guest wrote since the last one, not the size of RAM.
 * Pages never written hold zeros (fresh anonymous memory), so they start
 * with the hash of a zero page and are never read. */
#ifndef FTVMM_MEMORY_HASH_H
#define FTVMM_MEMORY_HASH_H

#include <stddef.h>
#include <stdint.h>

struct machine;

struct memory_hash {
        uint64_t *page_hashes;  /* NULL until first used */
        size_t pages;
};

void memory_hash__release(struct memory_hash *h);
/* Collects KVM's dirty log, hashes the dirty pages again and returns the
 * hash of all RAM in *value. Returns 0 or -errno. */
int memory_hash__compute(struct machine *m, uint64_t *value);
/* After memory_hash__compute: the hashes of n equal ranges of RAM (the
 * last one takes the rest), so that two replicas whose memory differs can
 * say where. Returns how many were written: n, or 0 before any compute. */
unsigned memory_hash__ranges(const struct memory_hash *h, uint64_t *out, unsigned n);
/* The guest-physical range of range i of n. */
void memory_hash__range_bounds(const struct memory_hash *h, unsigned i, unsigned n,
                               uint64_t *start, uint64_t *end);

#endif
