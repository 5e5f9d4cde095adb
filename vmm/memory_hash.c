#include "memory_hash.h"

#include <errno.h>
#include <stdlib.h>
#include <xxhash.h>

#include "machine.h"

void memory_hash__release(struct memory_hash *h)
{
        free(h->page_hashes);
        h->page_hashes = NULL;
        h->pages = 0;
}

static int allocate(struct memory_hash *h, uint64_t ram_size)
{
        static const uint8_t zero_page[KVM_VM_PAGE_SIZE];
        h->pages = (size_t)(ram_size / KVM_VM_PAGE_SIZE);
        h->page_hashes = malloc(h->pages * sizeof(uint64_t));
        if (!h->page_hashes)
                return -ENOMEM;
        uint64_t zero = XXH3_64bits(zero_page, sizeof(zero_page));
        for (size_t i = 0; i < h->pages; i++)
                h->page_hashes[i] = zero;
        return 0;
}

static void rehash_dirty(struct machine *m)
{
        struct memory_hash *h = &m->memory_hash;
        uint64_t *dirty = m->dirty.for_hash;
        for (size_t w = 0; w < m->dirty.words; w++) {
                while (dirty[w]) {
                        size_t page = w * 64 + (size_t)__builtin_ctzll(dirty[w]);
                        dirty[w] &= dirty[w] - 1;
                        if (page < h->pages)
                                h->page_hashes[page] = XXH3_64bits(
                                        m->ram + page * KVM_VM_PAGE_SIZE, KVM_VM_PAGE_SIZE);
                }
        }
}

int memory_hash__compute(struct machine *m, uint64_t *value)
{
        if (!m->memory_hash.page_hashes && allocate(&m->memory_hash, m->ram_size))
                return -ENOMEM;
        int rc = dirty_pages__collect(m);
        if (rc)
                return rc;
        rehash_dirty(m);
        *value = XXH3_64bits(m->memory_hash.page_hashes,
                             m->memory_hash.pages * sizeof(uint64_t));
        return 0;
}

void memory_hash__range_bounds(const struct memory_hash *h, unsigned i, unsigned n,
                               uint64_t *start, uint64_t *end)
{
        size_t per = h->pages / n;
        size_t first = i * per, last = i + 1 == n ? h->pages : first + per;
        *start = (uint64_t)first * KVM_VM_PAGE_SIZE;
        *end = (uint64_t)last * KVM_VM_PAGE_SIZE;
}

unsigned memory_hash__ranges(const struct memory_hash *h, uint64_t *out, unsigned n)
{
        if (!h->page_hashes || !n || h->pages < n)
                return 0;
        for (unsigned i = 0; i < n; i++) {
                uint64_t start, end;
                memory_hash__range_bounds(h, i, n, &start, &end);
                size_t first = (size_t)(start / KVM_VM_PAGE_SIZE);
                size_t count = (size_t)((end - start) / KVM_VM_PAGE_SIZE);
                out[i] = XXH3_64bits(h->page_hashes + first, count * sizeof(uint64_t));
        }
        return n;
}
