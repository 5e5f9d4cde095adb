/* virtio-blk over virtio-mmio (version 2), one queue, interrupt driven.
 *
 * Lean because ring 0 is emulated (~0.9 us an instruction) and every
 * register access is an exit: each of the BLK_MAX_INFLIGHT slots owns a
 * fixed three-descriptor chain (header, data, status), so queuing a
 * request fills one header, one descriptor and one avail entry, and a
 * batch costs one QueueNotify. The interrupt handler (vectors.S) only
 * acknowledges the device and counts; completions are taken from the used
 * ring by the system call that waits (or polls) for them. A request
 * completed with an I/O error is put back in the queue up to BLK_REISSUES
 * times: after a failover the new primary completes every request it
 * cannot vouch for that way (rule P7), and the reissue makes it happen for
 * real. */
#include "abi.h"
#include "kernel.h"
#include "virtio_mmio_layout.h"


#define STATUS_FOUND (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER)
#define F_RO (1u << 5)
#define F_FLUSH (1u << 9)
#define F_VERSION_1_HIGH 1u    /* bit 32 */

#define QSIZE 64               /* descriptors: 3 per slot */

struct desc {
        uint64_t addr;
        uint32_t len;
        uint16_t flags, next;
};

struct req_header {
        uint32_t type, reserved;
        uint64_t sector;
};

static struct desc descs[QSIZE] __attribute__((aligned(4096)));
static struct {
        uint16_t flags, idx, ring[QSIZE], used_event;
} avail __attribute__((aligned(4096)));
static struct {
        uint16_t flags;
        volatile uint16_t idx;
        struct { uint32_t id, len; } ring[QSIZE];
        uint16_t avail_event;
} used __attribute__((aligned(4096)));
static struct req_header headers[BLK_MAX_INFLIGHT];
static volatile uint8_t statuses[BLK_MAX_INFLIGHT];

static struct {
        uint64_t tag;
        uint8_t busy, reissues;
} slots[BLK_MAX_INFLIGHT];

static volatile uint8_t *mmio;      /* NULL: no disk */
static uint64_t capacity;
static uint32_t info_flags;
static uint16_t last_used;
static unsigned in_flight;
static uint64_t reissued;
volatile uint64_t virtio_blk_interrupts;
volatile uint32_t *virtio_blk_ack; /* the handler's one MMIO write */

static uint32_t rd(unsigned reg)
{
        return *(volatile uint32_t *)(mmio + reg);
}

static void wr(unsigned reg, uint32_t v)
{
        *(volatile uint32_t *)(mmio + reg) = v;
}

static void wr64(unsigned reg, uint64_t v)
{
        wr(reg, (uint32_t)v);
        wr(reg + 4, (uint32_t)(v >> 32));
}

/* "virtio_mmio.device=SIZE@ADDR:IRQ" anywhere on the command line. */
static const char *find_device_arg(void)
{
        static const char key[] = "virtio_mmio.device=";
        const char *s = boot_cmdline();
        size_t n = boot_cmdline_length(), k = sizeof(key) - 1;
        for (size_t i = 0; i + k <= n; i++) {
                if (s[i] != 'v' || (i && s[i - 1] != ' '))
                        continue;
                size_t j = 0;
                while (j < k && s[i + j] == key[j])
                        j++;
                if (j == k)
                        return s + i + k;
        }
        return NULL;
}

static uint64_t parse_number(const char **p, unsigned base)
{
        uint64_t v = 0;
        for (;; (*p)++) {
                char c = **p;
                unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0') :
                             c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10) :
                             c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 99;
                if (d >= base)
                        return v;
                v = v * base + d;
        }
}

/* Only what ftvmm and QEMU write: a size (with an optional K), @0xADDR,
 * :IRQ below 16 (the 8259), and an address in the mapped 4th GiB. */
static int parse_device(const char *p, uint64_t *addr, unsigned *irq)
{
        parse_number(&p, 10);
        if (*p == 'K' || *p == 'k')
                p++;
        if (p[0] != '@' || p[1] != '0' || p[2] != 'x')
                return -1;
        p += 3;
        *addr = parse_number(&p, 16);
        if (*p++ != ':')
                return -1;
        *irq = (unsigned)parse_number(&p, 10);
        return *irq < 16 && *addr >= 0xc0000000ul && *addr < 0x100000000ul ? 0 : -1;
}

static void setup_chains(void)
{
        for (unsigned s = 0; s < BLK_MAX_INFLIGHT; s++) {
                descs[3 * s] = (struct desc){ (uint64_t)&headers[s], sizeof(headers[s]),
                                              VIRTQ_DESC_F_NEXT, (uint16_t)(3 * s + 1) };
                descs[3 * s + 2] = (struct desc){ (uint64_t)&statuses[s], 1, VIRTQ_DESC_F_WRITE, 0 };
        }
}

static const char *negotiate(void)
{
        wr(VIRTIO_MMIO_STATUS, 0);
        wr(VIRTIO_MMIO_STATUS, STATUS_FOUND);
        wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
        if (!(rd(VIRTIO_MMIO_DEVICE_FEATURES) & F_VERSION_1_HIGH))
                return "no VERSION_1";
        wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
        uint32_t low = rd(VIRTIO_MMIO_DEVICE_FEATURES) & (F_RO | F_FLUSH);
        wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
        wr(VIRTIO_MMIO_DRIVER_FEATURES, low);
        wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
        wr(VIRTIO_MMIO_DRIVER_FEATURES, F_VERSION_1_HIGH);
        wr(VIRTIO_MMIO_STATUS, STATUS_FOUND | VIRTIO_STATUS_FEATURES_OK);
        if (!(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK))
                return "features refused";
        info_flags = (low & F_RO ? BLK_INFO_READONLY : 0) | (low & F_FLUSH ? BLK_INFO_FLUSH : 0);
        return NULL;
}

static const char *setup_queue(void)
{
        wr(VIRTIO_MMIO_QUEUE_SEL, 0);
        if (rd(VIRTIO_MMIO_QUEUE_NUM_MAX) < QSIZE)
                return "queue too small";
        wr(VIRTIO_MMIO_QUEUE_NUM, QSIZE);
        wr64(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint64_t)descs);
        wr64(VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint64_t)&avail);
        wr64(VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint64_t)&used);
        wr(VIRTIO_MMIO_QUEUE_READY, 1);
        wr(VIRTIO_MMIO_STATUS, STATUS_FOUND | VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
        return NULL;
}

static const char *start_device(void)
{
        if (rd(VIRTIO_MMIO_MAGIC) != 0x74726976 || rd(VIRTIO_MMIO_VERSION) != 2 || rd(VIRTIO_MMIO_DEVICE_ID) != 2)
                return "not a virtio 1.x block device";
        const char *why = negotiate();
        if (!why)
                why = setup_queue();
        if (why)
                return why;
        capacity = rd(VIRTIO_MMIO_CONFIG) | (uint64_t)rd(VIRTIO_MMIO_CONFIG + 4) << 32;
        return NULL;
}

void virtio_blk_probe(void)
{
        const char *arg = find_device_arg();
        uint64_t addr;
        unsigned irq;
        if (!arg)
                return;
        if (parse_device(arg, &addr, &irq)) {
                kprint("guest: virtio_mmio.device= not understood; no disk\n");
                return;
        }
        mmio = (volatile uint8_t *)addr;
        setup_chains();
        const char *why = start_device();
        if (why) {
                kprint("guest: virtio-blk: ");
                kprint(why);
                kprint("; no disk\n");
                mmio = 0;
                return;
        }
        virtio_blk_ack = (volatile uint32_t *)(mmio + VIRTIO_MMIO_INTERRUPT_ACK);
        cpu_set_irq_gate(irq, irq < 8 ? irq_virtio_master : irq_virtio_slave);
        pic_unmask(irq);
}

static int user_buffer_ok(uint64_t addr, uint64_t len)
{
        return addr >= USER_BASE && addr <= USER_LIMIT && len <= USER_LIMIT - addr;
}

static int valid(const struct blk_req *r)
{
        switch (r->op) {
        case BLK_OP_READ: case BLK_OP_WRITE:
                return r->bytes && r->bytes % 512 == 0 && r->bytes <= BLK_MAX_BYTES &&
                       user_buffer_ok(r->buf, r->bytes);
        case BLK_OP_GET_ID:
                return r->bytes >= 20 && user_buffer_ok(r->buf, r->bytes);
        case BLK_OP_FLUSH:
                return 1;
        }
        return 0;
}

/* Header, data and avail entry of a slot; the caller notifies. */
static void queue_slot(unsigned s)
{
        avail.ring[avail.idx % QSIZE] = (uint16_t)(3 * s);
        __asm__ volatile("" : : : "memory");
        avail.idx++;
        statuses[s] = 0xff;
}

static void fill_slot(unsigned s, const struct blk_req *r)
{
        headers[s] = (struct req_header){ r->op, 0, r->sector };
        if (r->op == BLK_OP_FLUSH) {
                descs[3 * s].next = (uint16_t)(3 * s + 2);
        } else {
                descs[3 * s].next = (uint16_t)(3 * s + 1);
                descs[3 * s + 1] = (struct desc){ r->buf, r->op == BLK_OP_GET_ID ? 20 : r->bytes,
                                                  (uint16_t)(VIRTQ_DESC_F_NEXT | (r->op == BLK_OP_WRITE ? 0 : VIRTQ_DESC_F_WRITE)),
                                                  (uint16_t)(3 * s + 2) };
        }
        slots[s].tag = r->tag;
        slots[s].reissues = 0;
        slots[s].busy = 1;
        in_flight++;
        queue_slot(s);
}

static int free_slot(void)
{
        for (unsigned s = 0; s < BLK_MAX_INFLIGHT; s++)
                if (!slots[s].busy)
                        return (int)s;
        return -1;
}

long virtio_blk_submit(const struct blk_req *reqs, long n)
{
        if (!mmio || n < 0 || !user_buffer_ok((uint64_t)reqs, (uint64_t)n * sizeof(*reqs)))
                return -1;
        long queued = 0;
        for (; queued < n; queued++) {
                int s = free_slot();
                if (s < 0 || !valid(&reqs[queued]))
                        break;
                fill_slot((unsigned)s, &reqs[queued]);
        }
        if (queued)
                wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
        return queued;
}

/* Takes the used ring: reissues what failed with an I/O error (P7's
 * uncertain completions among them), reports the rest. */
static long harvest(struct blk_done *out, long max)
{
        long n = 0;
        int requeued = 0;
        while (n < max && last_used != used.idx) {
                unsigned s = used.ring[last_used % QSIZE].id / 3;
                last_used++;
                if (s >= BLK_MAX_INFLIGHT || !slots[s].busy)
                        continue;
                uint8_t status = statuses[s];
                if (status == BLK_STATUS_IOERR && slots[s].reissues < BLK_REISSUES) {
                        slots[s].reissues++;
                        reissued++;
                        queue_slot(s);
                        requeued = 1;
                        continue;
                }
                out[n].tag = slots[s].tag;
                out[n].status = status;
                n++;
                slots[s].busy = 0;
                in_flight--;
        }
        if (requeued)
                wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
        return n;
}

static int done_buffer_ok(const struct blk_done *out, long max)
{
        return mmio && max > 0 && user_buffer_ok((uint64_t)out, (uint64_t)max * sizeof(*out));
}

long virtio_blk_wait(struct blk_done *out, long max)
{
        if (!done_buffer_ok(out, max))
                return -1;
        for (;;) {
                long n = harvest(out, max);
                if (n || !in_flight)
                        return n;
                __asm__ volatile("sti; hlt; cli" : : : "memory");
        }
}

/* A workload that computes between requests takes what is ready and goes
 * back to work: no halt, and no exit unless a reissue needs a notify. */
long virtio_blk_poll(struct blk_done *out, long max)
{
        if (!done_buffer_ok(out, max))
                return -1;
        return harvest(out, max);
}

long virtio_blk_info(struct blk_info *info)
{
        if (!mmio || !user_buffer_ok((uint64_t)info, sizeof(*info)))
                return -1;
        info->capacity = capacity;
        info->flags = info_flags;
        info->reissued = reissued;
        info->interrupts = virtio_blk_interrupts;
        return 0;
}
