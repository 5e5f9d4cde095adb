/* Whether an output may leave now: the answer of a replica's protocol to
 * the threads that release outputs (output_commit.h) and perform disk
 * writes (vmm/block_file.h). A GO is a permit held until the caller ends
 * it, so that a replica that is being fenced can wait for every output
 * already decided. */
#ifndef FTVMM_PERMIT_H
#define FTVMM_PERMIT_H

enum permit {
        PERMIT_GO,    /* leave now; end the permit afterwards */
        PERMIT_WAIT,  /* not yet (the arbiter decides, or no lease): ask again */
        PERMIT_NEVER, /* fenced: nothing more leaves, ever */
};

struct permit_gate {
        enum permit (*begin)(void *context);
        void (*end)(void *context);
        void *context;
};

#endif
