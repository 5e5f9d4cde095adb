#include "device_states.h"

#include <string.h>
#include <zlib.h>

int device_states__save(const struct machine *m, struct state_writer *w)
{
        int rc = pic8259__save(&m->pic, w);
        if (!rc) rc = pit8254__save(&m->pit, w);
        if (!rc) rc = cmos_rtc__save(&m->rtc, w);
        if (!rc) rc = uart16550__save(&m->uart, w);
        if (!rc) rc = debug_exit__save(&m->debug_exit, w);
        if (!rc) rc = post_port__save(&m->post, w);
        if (!rc) rc = nmi_sc__save(&m->nmi_sc, w);
        if (!rc) rc = pci_conf1__save(&m->pci_conf1, w);
        /* Only a machine with --disk has one; its record says so. */
        if (!rc && m->disk) rc = virtio_blk__save(&m->disk->device, w);
        return rc;
}

/* A saved disk and a machine without one (or the reverse) is the
 * operator's to fix: say so rather than fail on the next record. */
static int check_disk_present(const struct machine *m, struct state_reader *r)
{
        bool saved = r->pos + 4 <= r->length && memcmp(r->buf + r->pos, "VBLK", 4) == 0;
        if (saved == (m->disk != NULL))
                return 0;
        state_reader__fail(r, saved ? "the saved machine has a virtio-blk disk and this one has none (give it the same disk with --disk)"
                                    : "this machine has a disk (--disk) and the saved one has none");
        return -1;
}

int device_states__load(struct machine *m, struct state_reader *r)
{
        int rc = pic8259__load(&m->pic, r);
        if (!rc) rc = pit8254__load(&m->pit, r);
        if (!rc) rc = cmos_rtc__load(&m->rtc, r);
        if (!rc) rc = uart16550__load(&m->uart, r);
        if (!rc) rc = debug_exit__load(&m->debug_exit, r);
        if (!rc) rc = post_port__load(&m->post, r);
        if (!rc) rc = nmi_sc__load(&m->nmi_sc, r);
        if (!rc) rc = pci_conf1__load(&m->pci_conf1, r);
        if (!rc) rc = check_disk_present(m, r);
        if (!rc && m->disk) rc = virtio_blk__load(&m->disk->device, r);
        return rc ? -1 : 0;
}

size_t device_states__crcs(const struct machine *m, uint32_t *out, size_t max)
{
        struct state_writer w;
        state_writer__init(&w);
        size_t n = 0;
        if (device_states__save(m, &w) == 0) {
                struct state_record_header h;
                char why[64];
                for (size_t at = 0; at < w.length && n < max; at += STATE_RECORD_OVERHEAD + h.payload_length) {
                        if (state_record__check(w.buf + at, w.length - at, &h, why, sizeof(why)) !=
                            STATE_RECORD_COMPLETE)
                                break;
                        uLong crc = crc32_z(0L, w.buf + at, 12); /* tag, version, flags, length */
                        out[n++] = (uint32_t)crc32_z(crc, w.buf + at + STATE_RECORD_HEADER_SIZE,
                                                     h.payload_length);
                }
        }
        state_writer__release(&w);
        return n;
}

uint32_t device_states__crc(const struct machine *m, uint32_t crc)
{
        uint32_t parts[32];
        size_t n = device_states__crcs(m, parts, sizeof(parts) / sizeof(parts[0]));
        return (uint32_t)crc32_z(crc, (const Bytef *)parts, n * sizeof(parts[0]));
}

size_t device_states__formats(const struct machine *m, struct state_record_header *out,
                              size_t max)
{
        struct state_writer w;
        state_writer__init(&w);
        size_t n = 0;
        if (device_states__save(m, &w) == 0) {
                char why[64];
                for (size_t at = 0; at < w.length && n < max; n++) {
                        if (state_record__check(w.buf + at, w.length - at, &out[n], why,
                                                sizeof(why)) != STATE_RECORD_COMPLETE)
                                break;
                        at += STATE_RECORD_OVERHEAD + out[n].payload_length;
                }
        }
        state_writer__release(&w);
        return n;
}
