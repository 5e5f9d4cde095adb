/* The contract between the guest kernel and its workloads: system-call
 * numbers, the user address range and the timer's boot rate. Shared by both
 * sides so that they cannot disagree. */
#ifndef GUEST_ABI_H
#define GUEST_ABI_H

/* System calls: `int3` from CPL3 with the number in rax and arguments in
 * rdi, rsi, rdx; the result comes back in rax. The kernel clobbers rcx,
 * r8-r11 as an ordinary C call would, which keeps its entry path to four
 * instructions. */
#define SYS_WRITE        0 /* (buf, len) -> len or -1 */
#define SYS_EXIT         1 /* (status) -> does not return */
#define SYS_TIME_NS      2 /* () -> guest monotonic ns since boot */
#define SYS_WAIT_TICK    3 /* () -> tick count after at least one new tick */
#define SYS_TICKS        4 /* () -> timer interrupts received since boot */
#define SYS_SET_TIMER_HZ 5 /* (hz) -> 0, or -1 if hz is out of range */
#define SYS_CMDLINE      6 /* (buf, size) -> command-line length */
#define SYS_RTC_TIME     7 /* () -> Unix time read from the RTC at boot */
#define SYS_CRASH        8 /* (CRASH_*) -> returns only if the machine survived */
#define SYS_BLK_INFO     9 /* (struct blk_info *) -> 0, or -1 without a disk */
#define SYS_BLK_SUBMIT  10 /* (const struct blk_req *, n) -> requests queued (one notify) */
#define SYS_BLK_WAIT    11 /* (struct blk_done *, max) -> completions; waits for one
                            * if none is ready and some are in flight; 0 if idle */
#define SYS_BLK_POLL    12 /* (struct blk_done *, max) -> completions ready now; never
                            * waits (0 if none is ready) */
#define SYS_COUNT       13

#define CRASH_PORT   1 /* write to port 0x2f0, which no device decodes */
#define CRASH_TRIPLE 2 /* empty IDT, then ud2: triple fault */
#define CRASH_HALT   3 /* cli; hlt: a halt nothing can end */

/* The workload owns [USER_BASE, USER_LIMIT): page-directory entries 1..7
 * carry the U bit. Everything below is the kernel's supervisor-only page,
 * everything above is supervisor-only identity map up to 1 GiB and unmapped
 * beyond. */
#define USER_BASE  0x200000ul
#define USER_LIMIT 0x1000000ul
#define UNMAPPED_ADDRESS 0x40000000ul

/* The disk (virtio-blk over virtio-mmio, found on the command line as
 * virtio_mmio.device=SIZE@ADDR:IRQ). A request moves one buffer in the
 * user range, physically contiguous (the map is the identity). A request
 * the device completes with an I/O error is reissued by the kernel up to
 * BLK_REISSUES times (the uncertain interrupt of a failover) before the
 * error reaches the workload. */
#define BLK_OP_READ   0
#define BLK_OP_WRITE  1
#define BLK_OP_FLUSH  4
#define BLK_OP_GET_ID 8
#define BLK_MAX_BYTES 65536u   /* per request: one descriptor */
#define BLK_MAX_INFLIGHT 16
#define BLK_REISSUES 8
#define BLK_STATUS_OK 0
#define BLK_STATUS_IOERR 1
#define BLK_STATUS_UNSUPP 2
#define BLK_STATUS_REFUSED 0xff /* the kernel refused it (bad buffer, no disk) */
#define BLK_INFO_READONLY 1u
#define BLK_INFO_FLUSH 2u

#ifndef __ASSEMBLER__
struct blk_req {
        unsigned int op;        /* BLK_OP_* */
        unsigned int bytes;     /* read/write: a multiple of 512, at most BLK_MAX_BYTES */
        unsigned long sector;
        unsigned long buf;      /* user address */
        unsigned long tag;      /* returned in struct blk_done */
};

struct blk_done {
        unsigned long tag;
        unsigned long status;   /* BLK_STATUS_* */
};

struct blk_info {
        unsigned long capacity; /* 512-byte sectors */
        unsigned long flags;    /* BLK_INFO_* */
        unsigned long reissued; /* requests reissued after an I/O error so far */
        unsigned long interrupts;
};
#endif

#define TIMER_DEFAULT_HZ 100
#define TIMER_MIN_HZ 19      /* the 16-bit PIT count must fit */
#define TIMER_MAX_HZ 100000

#endif
