#include "dirty_pages.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "machine.h"

int dirty_pages__init(struct dirty_pages *d, uint64_t ram_size)
{
        memset(d, 0, sizeof(*d));
        uint64_t pages = (ram_size + KVM_VM_PAGE_SIZE - 1) / KVM_VM_PAGE_SIZE;
        d->words = (size_t)((pages + 63) / 64);
        d->fetched = calloc(d->words, sizeof(uint64_t));
        d->for_checkpoint = calloc(d->words, sizeof(uint64_t));
        d->for_hash = calloc(d->words, sizeof(uint64_t));
        if (!d->fetched || !d->for_checkpoint || !d->for_hash) {
                dirty_pages__release(d);
                return -ENOMEM;
        }
        return 0;
}

void dirty_pages__release(struct dirty_pages *d)
{
        free(d->fetched);
        free(d->for_checkpoint);
        free(d->for_hash);
        memset(d, 0, sizeof(*d));
}

int dirty_pages__start_kvm(struct machine *m)
{
        int rc = kvm_vm__start_dirty_log(&m->vm);
        if (!rc)
                m->dirty.kvm_tracking = true;
        return rc;
}

int dirty_pages__collect(struct machine *m)
{
        struct dirty_pages *d = &m->dirty;
        if (!d->kvm_tracking)
                return 0;
        int rc = kvm_vm__take_dirty_log(&m->vm, d->fetched);
        if (rc)
                return rc;
        for (size_t i = 0; i < d->words; i++) {
                d->for_checkpoint[i] |= d->fetched[i];
                d->for_hash[i] |= d->fetched[i];
        }
        return 0;
}

static void mark_range(uint64_t *bitmap, uint64_t first, uint64_t last)
{
        for (uint64_t page = first; page <= last; page++)
                bitmap[page / 64] |= 1ull << (page % 64);
}

void dirty_pages__mark(struct dirty_pages *d, uint64_t addr, uint64_t length)
{
        if (!length || !d->words)
                return;
        uint64_t first = addr / KVM_VM_PAGE_SIZE;
        uint64_t last = (addr + length - 1) / KVM_VM_PAGE_SIZE;
        if (last >= (uint64_t)d->words * 64)
                last = (uint64_t)d->words * 64 - 1;
        mark_range(d->for_checkpoint, first, last);
        mark_range(d->for_hash, first, last);
}

void dirty_pages__mark_all(struct dirty_pages *d, uint64_t ram_size)
{
        dirty_pages__mark(d, 0, ram_size);
}

size_t dirty_pages__count(const uint64_t *bitmap, size_t words)
{
        size_t n = 0;
        for (size_t i = 0; i < words; i++)
                n += (size_t)__builtin_popcountll(bitmap[i]);
        return n;
}
