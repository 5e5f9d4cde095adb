#include "machine.h"

#include "../replication/log_format.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "../replication/log_format.h"
#include "device_states.h"
#include "exit_status.h"
#include "pvh_loader.h"
#include "vcpu_state.h"

/* Returns the bytes that left. A console that is full (a non-blocking
 * pipe or terminal) is waited for: output is never dropped for that. */
static size_t console_emit(struct console_output *out, const uint8_t *bytes, size_t count)
{
        size_t left = 0;
        while (left < count && !out->failed) {
                ssize_t n = write(out->fd, bytes + left, count - left);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                        struct pollfd p = { .fd = out->fd, .events = POLLOUT };
                        poll(&p, 1, -1);
                        continue;
                }
                if (n <= 0) {
                        /* Losing the console must not kill the guest. */
                        fprintf(stderr, "ftvmm: %s: console write failed: %s; dropping further output\n",
                                out->path, n < 0 ? strerror(errno) : "no progress");
                        out->failed = true;
                        break;
                }
                left += (size_t)n;
        }
        return left;
}

static void console_write(void *context, const uint8_t *bytes, size_t count)
{
        struct console_output *out = context;
        out->produced += count;
        if (out->divert)
                out->divert(out->divert_context, bytes, count);
        else
                console_emit(out, bytes, count);
}

static int register_devices(struct machine *m)
{
        struct io_bus *pio = &m->pio;
        int rc = 0;
        rc |= io_bus__register(pio, 0x20, 2, "pic-master", pic8259__io_master, &m->pic);
        rc |= io_bus__register(pio, 0xa0, 2, "pic-slave", pic8259__io_slave, &m->pic);
        rc |= io_bus__register(pio, 0x40, 4, "pit", pit8254__io, &m->pit);
        rc |= io_bus__register(pio, 0x70, 2, "cmos-rtc", cmos_rtc__io, &m->rtc);
        rc |= io_bus__register(pio, 0x80, 1, "post-port", post_port__io, &m->post);
        rc |= io_bus__register(pio, MACHINE_DEBUG_EXIT_BASE, 4, "isa-debug-exit",
                               debug_exit__io, &m->debug_exit);
        rc |= io_bus__register(pio, MACHINE_COM1_BASE, 8, "uart-com1", uart16550__io, &m->uart);
        rc |= io_bus__register(pio, 0x61, 1, "nmi-sc", nmi_sc__io, &m->nmi_sc);
        rc |= io_bus__register(pio, 0xcf8, PCI_CONF1_PORTS, "pci-conf1", pci_conf1__io, &m->pci_conf1);
        return rc ? -EINVAL : 0;
}

static void init_devices(struct machine *m)
{
        pic8259__init(&m->pic);
        pit8254__init(&m->pit, m->env, (struct irq_line){
                .set_level = pic8259__set_irq, .controller = &m->pic, .irq = 0 });
        cmos_rtc__init(&m->rtc, m->env);
        uart16550__init(&m->uart,
                        (struct irq_line){ .set_level = pic8259__set_irq,
                                           .controller = &m->pic, .irq = MACHINE_COM1_IRQ },
                        (struct output_sink){ .write = console_write, .context = &m->console });
        debug_exit__init(&m->debug_exit);
        post_port__init(&m->post);
        nmi_sc__init(&m->nmi_sc, &m->pit);
        pci_conf1__init(&m->pci_conf1);
}

int machine__create(struct machine *m, uint64_t ram_size, struct environment *env,
                    int console_fd, const char *console_path,
                    char *err, size_t err_size)
{
        memset(m, 0, sizeof(*m));
        m->env = env;
        m->console = (struct console_output){ .fd = console_fd, .path = console_path };
        io_bus__init(&m->pio, "port");
        io_bus__init(&m->mmio, "mmio");
        init_devices(m);
        m->vm = (struct kvm_vm){ .kvm_fd = -1, .vm_fd = -1, .vcpu_fd = -1 };
        if (register_devices(m)) {
                snprintf(err, err_size, "internal error: overlapping device ranges");
                return EXIT_HOST_ERROR;
        }
        m->ram = mmap(NULL, ram_size, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (m->ram == MAP_FAILED) {
                m->ram = NULL;
                snprintf(err, err_size, "cannot map %llu MiB of guest RAM: %s",
                         (unsigned long long)(ram_size >> 20), strerror(errno));
                return EXIT_HOST_ERROR;
        }
        m->ram_size = ram_size;
        if (dirty_pages__init(&m->dirty, ram_size)) {
                snprintf(err, err_size, "out of memory for the dirty-page bitmaps");
                return EXIT_HOST_ERROR;
        }
        return 0;
}

static void remove_disk(struct machine *m)
{
        if (!m->disk)
                return;
        if (m->disk->connected)
                block_file__close(&m->disk->file);
        virtio_blk__destroy(&m->disk->device);
        free(m->disk->path);
        free(m->disk);
        m->disk = NULL;
}

void machine__destroy(struct machine *m)
{
        remove_disk(m); /* its workers first: they kick the vCPU thread */
        kvm_vm__destroy(&m->vm);
        dirty_pages__release(&m->dirty);
        memory_hash__release(&m->memory_hash);
        if (m->ram)
                munmap(m->ram, m->ram_size);
        m->ram = NULL;
}

int machine__start(struct machine *m, const struct vcpu_state *restore,
                   const struct cpu_model *cpu, char *err, size_t err_size)
{
        int status = kvm_vm__create(&m->vm, m->ram, m->ram_size, cpu, err, err_size);
        if (status)
                return status;
        if (restore) {
                uint32_t msr;
                int rc = vcpu_state__set(&m->vm, restore, &msr);
                if (rc < 0) {
                        if (msr)
                                snprintf(err, err_size, "restoring the vCPU: KVM refused MSR 0x%x", msr);
                        else
                                snprintf(err, err_size, "restoring the vCPU: %s", strerror(-rc));
                        return EXIT_HOST_ERROR;
                }
                return 0;
        }
        int rc = kvm_vm__set_pvh_entry(&m->vm, m->entry, m->start_info);
        if (rc < 0) {
                snprintf(err, err_size, "setting the vCPU at the PVH entry: %s", strerror(-rc));
                return EXIT_HOST_ERROR;
        }
        return 0;
}

int machine__read_image(const char *path, uint8_t **data, size_t *size,
                        char *err, size_t err_size)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                snprintf(err, err_size, "%s: %s", path, strerror(errno));
                return EXIT_NO_INPUT;
        }
        struct stat st;
        int status = 0;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                snprintf(err, err_size, "%s: not a regular file", path);
                status = EXIT_BAD_IMAGE;
        } else if ((uint64_t)st.st_size > PVH_MAX_IMAGE_SIZE) {
                snprintf(err, err_size, "%s: %lld bytes is larger than the 1 GiB image limit",
                         path, (long long)st.st_size);
                status = EXIT_BAD_IMAGE;
        } else if (!(*data = malloc(st.st_size ? (size_t)st.st_size : 1))) {
                snprintf(err, err_size, "%s: out of memory", path);
                status = EXIT_HOST_ERROR;
        } else {
                *size = (size_t)st.st_size;
                size_t done = 0;
                while (done < *size) {
                        ssize_t n = read(fd, *data + done, *size - done);
                        if (n <= 0) {
                                snprintf(err, err_size, "%s: read failed: %s", path,
                                         n < 0 ? strerror(errno) : "file shrank");
                                status = EXIT_NO_INPUT;
                                break;
                        }
                        done += (size_t)n;
                }
        }
        close(fd);
        return status;
}

/* Linux's way to find a virtio-mmio device: appended as QEMU's microvm
 * appends it, so both give the guest the same command line. */
static const char *guest_cmdline(const struct machine *m, const char *cmdline, char *buf,
                                 size_t size)
{
        if (!m->disk)
                return cmdline;
        int n = snprintf(buf, size, "%s virtio_mmio.device=%u@0x%llx:%u", cmdline,
                         VIRTIO_MMIO_SIZE, MACHINE_VIRTIO_BLK_BASE, MACHINE_VIRTIO_BLK_IRQ);
        return n > 0 && (size_t)n < size ? buf : NULL;
}

int machine__load_image_bytes(struct machine *m, const char *name, const uint8_t *image,
                              size_t size, const char *cmdline, char *err, size_t err_size)
{
        struct pvh_image loaded;
        char why[256];
        char with_devices[PVH_CMDLINE_MAX + 1];
        cmdline = guest_cmdline(m, cmdline, with_devices, sizeof(with_devices));
        if (!cmdline) {
                snprintf(err, err_size, "%s: the command line is too long to add the disk's virtio_mmio.device=",
                         name);
                return EXIT_USAGE;
        }
        if (pvh_loader__load(image, size, m->ram, m->ram_size, &loaded, why, sizeof(why)) < 0) {
                snprintf(err, err_size, "%s: %s", name, why);
                return EXIT_BAD_IMAGE;
        }
        uint64_t start_info = pvh_loader__write_start_info(m->ram, m->ram_size,
                                                           cmdline, why, sizeof(why));
        if (!start_info) {
                snprintf(err, err_size, "%s: %s", name, why);
                return EXIT_USAGE;
        }
        m->entry = loaded.entry;
        m->image = loaded;
        m->start_info = (uint32_t)start_info;
        dirty_pages__mark(&m->dirty, loaded.load_low, loaded.load_high - loaded.load_low);
        dirty_pages__mark(&m->dirty, PVH_BOOT_INFO_BASE, PVH_BOOT_INFO_SIZE);
        return 0;
}

int machine__load_initrd_bytes(struct machine *m, const char *name, const uint8_t *initrd,
                               size_t size, char *err, size_t err_size)
{
        char why[384];
        uint64_t at = pvh_loader__add_initrd(m->ram, m->ram_size, &m->image, initrd, size,
                                             why, sizeof(why));
        if (!at) {
                snprintf(err, err_size, "%s: %s", name, why);
                return EXIT_BAD_IMAGE;
        }
        /* The VMM's own write: the memory hash and checkpoints must see it. */
        dirty_pages__mark(&m->dirty, at, size);
        dirty_pages__mark(&m->dirty, PVH_BOOT_INFO_BASE, PVH_BOOT_INFO_SIZE);
        return 0;
}

int machine__load_image(struct machine *m, const char *path, const char *cmdline,
                        char *err, size_t err_size)
{
        uint8_t *image = NULL;
        size_t size = 0;
        int status = machine__read_image(path, &image, &size, err, err_size);
        if (!status)
                status = machine__load_image_bytes(m, path, image, size, cmdline, err, err_size);
        free(image);
        return status;
}

void machine__console_output(struct machine *m, const uint8_t *bytes, size_t count)
{
        console_write(&m->console, bytes, count);
}

size_t machine__console_emit(struct machine *m, const uint8_t *bytes, size_t count)
{
        return console_emit(&m->console, bytes, count);
}

void machine__set_environment(struct machine *m, struct environment *env)
{
        m->env = env;
        m->pit.env = env;
        m->rtc.env = env;
}

unsigned machine__settle_outstanding_io(struct machine *m, enum uncertain_policy policy)
{
        unsigned settled = 0;
        for (unsigned i = 0; i < m->io_device_count; i++) {
                struct outstanding_io *io = &m->io_devices[i];
                settled += policy == UNCERTAIN_REISSUE ? io->reissue(io->device)
                                                       : io->complete_as_uncertain(io->device);
        }
        return settled;
}

uint32_t machine__state_digest(const struct machine *m)
{
        const struct kvm_sync_regs *s = &m->vm.run->s.regs;
        uint32_t crc = (uint32_t)crc32(0L, (const Bytef *)&s->regs, sizeof(s->regs));
        const uint64_t more[] = { s->sregs.cr0, s->sregs.cr3, s->sregs.cr4, s->sregs.efer,
                                  m->position };
        crc = (uint32_t)crc32(crc, (const Bytef *)more, sizeof(more));
        return device_states__crc(m, crc);
}

unsigned machine__state_digest_parts(const struct machine *m, uint32_t *parts, unsigned max)
{
        const struct kvm_sync_regs *s = &m->vm.run->s.regs;
        const uint64_t more[] = { s->sregs.cr0, s->sregs.cr3, s->sregs.cr4, s->sregs.efer,
                                  m->position };
        unsigned n = 0;
        if (n < max)
                parts[n++] = (uint32_t)crc32(0L, (const Bytef *)&s->regs, sizeof(s->regs));
        if (n < max)
                parts[n++] = (uint32_t)crc32(0L, (const Bytef *)more, sizeof(more));
        return n + (unsigned)device_states__crcs(m, parts + n, max - n);
}

unsigned machine__memory_ranges(const struct machine *m, uint64_t *out, unsigned max)
{
        return memory_hash__ranges(&m->memory_hash, out, max);
}

void machine__digest_part_name(const struct machine *m, unsigned i, char *out, size_t size)
{
        struct state_record_header formats[LOG_MAX_DIGEST_PARTS];
        size_t devices = device_states__formats(m, formats, LOG_MAX_DIGEST_PARTS);
        if (i == 0)
                snprintf(out, size, "the general registers");
        else if (i == 1)
                snprintf(out, size, "the control registers or the position");
        else if (i - 2 < devices)
                snprintf(out, size, "device '%.4s'", formats[i - 2].tag);
        else
                snprintf(out, size, "part %u", i);
}

void machine__kick(struct machine *m)
{
        if (m->kick_signal)
                pthread_kill(m->vcpu_thread, m->kick_signal);
}

static void disk_written(void *context, uint64_t addr, uint64_t length)
{
        struct machine *m = context;
        dirty_pages__mark(&m->dirty, addr, length);
}

static void disk_wake(void *context)
{
        machine__kick(context);
}

static unsigned disk_uncertain(void *device)
{
        return virtio_blk__complete_all_uncertain(device);
}

static unsigned disk_reissue(void *device)
{
        return virtio_blk__reissue_outstanding(device);
}

static bool is_output(enum block_op op)
{
        return op == BLOCK_OP_WRITE || op == BLOCK_OP_FLUSH || op == BLOCK_OP_DISCARD;
}

/* The device's backend: reads go to the file at once; writes, flushes and
 * discards too, unless a session holds them as outputs. */
static int disk_submit(struct block_backend *b, const struct block_request *r)
{
        struct machine_disk *d = b->context;
        if (!d->hold || !is_output(r->op))
                return block_backend__submit(&d->file.backend, r);
        struct held_output *h = block_file__hold(&d->file, r);
        if (!h)
                return -1; /* completed as an I/O error already */
        d->hold(d->hold_context, h);
        return 0;
}
static int attach_disk(struct machine *m, struct machine_disk *d, uint64_t size, bool readonly,
                       char *err, size_t err_size)
{
        struct virtio_blk_config config = {
                .capacity = size / BLOCK_SECTOR_SIZE,
                .readonly = readonly,
                .serial = MACHINE_VIRTIO_BLK_SERIAL,
        };
        struct guest_memory mem = { .ram = m->ram, .size = m->ram_size,
                                    .written = disk_written, .context = m };
        struct irq_line irq = { .set_level = pic8259__set_irq, .controller = &m->pic,
                                .irq = MACHINE_VIRTIO_BLK_IRQ };
        if (virtio_blk__init(&d->device, &config, mem, irq, NULL)) {
                snprintf(err, err_size, "--disk %s: out of memory", d->path ? d->path : "(from the log)");
                return EXIT_HOST_ERROR;
        }
        if (io_bus__register(&m->mmio, MACHINE_VIRTIO_BLK_BASE, VIRTIO_MMIO_SIZE, "virtio-blk",
                             virtio_blk__io, &d->device) ||
            m->io_device_count == MACHINE_MAX_IO_DEVICES) {
                snprintf(err, err_size, "internal error: no room for the disk's device");
                return EXIT_HOST_ERROR;
        }
        m->io_devices[m->io_device_count++] = (struct outstanding_io){
                .complete_as_uncertain = disk_uncertain, .reissue = disk_reissue,
                .device = &d->device };
        return 0;
}

int machine__connect_disk(struct machine *m, char *err, size_t err_size)
{
        struct machine_disk *d = m->disk;
        if (!d || d->connected)
                return 0;
        if (!d->path) {
                snprintf(err, err_size, "the disk has no file to connect (a replay's)");
                return EXIT_USAGE;
        }
        d->connected = true; /* block_file__close is safe after any open */
        int status = block_file__open(&d->file, d->path, &d->options, err, err_size);
        if (status)
                return status;
        if (block_file__sectors(&d->file) != d->device.config.capacity) {
                snprintf(err, err_size, "--disk %s: %llu sectors now, %llu when the guest was given it",
                         d->path, (unsigned long long)block_file__sectors(&d->file),
                         (unsigned long long)d->device.config.capacity);
                return EXIT_NO_INPUT;
        }
        d->file.wake = disk_wake;
        d->file.wake_context = m;
        d->backend = (struct block_backend){ .submit = disk_submit, .context = d };
        d->device.backend = &d->backend;
        return 0;
}

void machine__hold_disk_outputs(struct machine *m, void (*hold)(void *context, struct held_output *h),
                                void *context)
{
        if (!m->disk)
                return;
        m->disk->hold = hold;
        m->disk->hold_context = context;
}

void machine__set_disk_gate(struct machine *m, const struct permit_gate *gate)
{
        if (m->disk && m->disk->connected)
                block_file__set_gate(&m->disk->file, gate);
}

bool machine__disk_idle(struct machine *m, int timeout_ms)
{
        return !m->disk || !m->disk->connected || block_file__idle(&m->disk->file, timeout_ms);
}

static struct machine_disk *new_disk(struct machine *m, char *err, size_t err_size)
{
        if (m->disk) {
                snprintf(err, err_size, "--disk: only one disk is supported");
                return NULL;
        }
        m->disk = calloc(1, sizeof(*m->disk));
        if (!m->disk)
                snprintf(err, err_size, "--disk: out of memory");
        else
                m->disk->drained = true;
        return m->disk;
}

int machine__add_logged_disk(struct machine *m, uint64_t sectors, bool readonly, char *err,
                             size_t err_size)
{
        struct machine_disk *d = new_disk(m, err, err_size);
        if (!d)
                return EXIT_HOST_ERROR;
        if (!sectors || sectors > UINT64_MAX / BLOCK_SECTOR_SIZE) {
                snprintf(err, err_size, "the log names a disk of %llu sectors, which no disk can be",
                         (unsigned long long)sectors);
                return EXIT_BAD_IMAGE;
        }
        return attach_disk(m, d, sectors * BLOCK_SECTOR_SIZE, readonly, err, err_size);
}

int machine__add_disk(struct machine *m, const char *spec, bool connect, char *err,
                      size_t err_size)
{
        struct machine_disk *d = new_disk(m, err, err_size);
        if (!d)
                return m->disk ? EXIT_USAGE : EXIT_HOST_ERROR;
        if (block_file__parse_spec(spec, &d->path, &d->options, err, err_size)) {
                m->disk = NULL;
                free(d);
                return EXIT_USAGE;
        }
        uint64_t size;
        int status = block_file__probe(d->path, &size, err, err_size);
        if (!status)
                status = attach_disk(m, d, size, d->options.readonly, err, err_size);
        if (!status && connect)
                status = machine__connect_disk(m, err, err_size);
        const char *every = getenv("FTVMM_TEST_UNCERTAIN_EVERY");
        d->uncertain_every = every ? (unsigned)strtoul(every, NULL, 10) : 0;
        return status; /* machine__destroy releases a half-made disk */
}

/* The test hook of machine_disk.uncertain_every, before a batch. */
static void maybe_test_uncertain(struct machine_disk *d)
{
        if (d->uncertain_every && ++d->batches % d->uncertain_every == 0 && d->drained) {
                /* these completions are now stale */
                virtio_blk__complete_all_uncertain(&d->device);
                d->fence = d->device.next_id;
                d->drained = false;
        }
}

int machine__apply_pending_io_logged(struct machine *m, machine_io_logger logged, void *context)
{
        if (!m->disk || !m->disk->connected)
                return 0;
        struct machine_disk *d = m->disk;
        struct block_completion c[32];
        size_t n;
        int applied = 0;
        bool failed = false;
        while (!failed && (n = block_file__take_completions(&d->file, c, 32)) > 0) {
                /* A P7 of its own would be an event no log holds. */
                if (!logged)
                        maybe_test_uncertain(d);
                for (size_t i = 0; i < n; i++) {
                        struct machine_io_completion e = { .device = c[i].device, .id = c[i].id,
                                                           .status = c[i].status, .data = c[i].data,
                                                           .length = c[i].length };
                        failed = failed || (logged && !logged(context, &e));
                        if (!failed) {
                                virtio_blk__complete(&d->device, e.id, e.status, e.data, e.length);
                                applied++;
                        }
                        block_completion__release(&c[i]);
                }
                if (!virtio_blk__outstanding(&d->device) && d->device.next_id > d->fence)
                        d->drained = true;
        }
        d->applied += (uint64_t)applied;
        return applied;
}

int machine__apply_pending_io(struct machine *m)
{
        return machine__apply_pending_io_logged(m, NULL, NULL);
}

int machine__apply_logged_io(struct machine *m, const struct machine_io_completion *c,
                             char *why, size_t why_size)
{
        if (!m->disk || c->device != m->disk->device.config.index) {
                snprintf(why, why_size, "the log completes a request of disk %u, which this machine does not have",
                         c->device);
                return -1;
        }
        virtio_blk__complete(&m->disk->device, c->id, c->status, c->data, c->length);
        m->disk->applied++;
        return 0;
}

bool machine__disk_connected(const struct machine *m)
{
        return m->disk && m->disk->connected;
}

unsigned machine__outstanding_io(const struct machine *m)
{
        return m->disk ? virtio_blk__outstanding(&m->disk->device) : 0;
}

static uint64_t monotonic_now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool machine__wait_io_until(struct machine *m, uint64_t deadline_ns)
{
        if (!m->disk || !m->disk->connected || !block_file__in_flight(&m->disk->file)) {
                if (deadline_ns == UINT64_MAX)
                        return false;
                struct timespec ts = { .tv_sec = (time_t)(deadline_ns / 1000000000ull),
                                       .tv_nsec = (long)(deadline_ns % 1000000000ull) };
                while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
                        ;
                return false;
        }
        struct pollfd p = { .fd = m->disk->file.event_fd, .events = POLLIN };
        for (;;) {
                uint64_t now = monotonic_now_ns();
                if (deadline_ns != UINT64_MAX && now >= deadline_ns)
                        return poll(&p, 1, 0) > 0;
                struct timespec left = { 0, 0 };
                if (deadline_ns != UINT64_MAX)
                        left = (struct timespec){ .tv_sec = (time_t)((deadline_ns - now) / 1000000000ull),
                                                  .tv_nsec = (long)((deadline_ns - now) % 1000000000ull) };
                int rc = ppoll(&p, 1, deadline_ns == UINT64_MAX ? NULL : &left, NULL);
                if (rc > 0)
                        return true;
                if (rc == 0)
                        return false;
                if (errno != EINTR)
                        return false;
        }
}
