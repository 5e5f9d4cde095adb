#include "machine.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "device_states.h"
#include "exit_status.h"
#include "pvh_loader.h"
#include "vcpu_state.h"

static void console_emit(struct console_output *out, const uint8_t *bytes, size_t count)
{
        while (count && !out->failed) {
                ssize_t n = write(out->fd, bytes, count);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        /* Losing the console must not kill the guest. */
                        fprintf(stderr, "ftvmm: %s: console write failed: %s; dropping further output\n",
                                out->path, n < 0 ? strerror(errno) : "no progress");
                        out->failed = true;
                        return;
                }
                bytes += n;
                count -= (size_t)n;
        }
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

void machine__destroy(struct machine *m)
{
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

int machine__load_image_bytes(struct machine *m, const char *name, const uint8_t *image,
                              size_t size, const char *cmdline, char *err, size_t err_size)
{
        struct pvh_image loaded;
        char why[256];
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

void machine__console_emit(struct machine *m, const uint8_t *bytes, size_t count)
{
        console_emit(&m->console, bytes, count);
}

void machine__set_environment(struct machine *m, struct environment *env)
{
        m->env = env;
        m->pit.env = env;
        m->rtc.env = env;
}

unsigned machine__raise_uncertain_interrupts(struct machine *m)
{
        unsigned raised = 0;
        for (unsigned i = 0; i < m->io_device_count; i++)
                raised += m->io_devices[i].complete_as_uncertain(m->io_devices[i].device);
        return raised;
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

void machine__kick(struct machine *m)
{
        if (m->kick_signal)
                pthread_kill(m->vcpu_thread, m->kick_signal);
}
