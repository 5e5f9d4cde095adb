#include "sample_log.h"

#include <check.h>
#include <string.h>

static const uint8_t description[] = "VERS....";
static const uint8_t image[] = { 0x7f, 'E', 'L', 'F', 1, 2, 3 };
static const uint8_t initrd[] = "070701 a cpio archive";
static const uint8_t output[] = "epoch output\n";
static const uint8_t state[] = { 9, 8, 7, 6, 5, 4, 3, 2, 1 };
static const uint8_t sector[] = "a read's bytes";
static const uint8_t parts[] = { 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0 };
static const uint8_t ranges[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

struct log_entry sample_log__entry(unsigned i)
{
        static const struct log_entry entries[SAMPLE_LOG_RECORDS] = {
                { .kind = LOG_BOOT, .position = 0,
                  .description = { description, sizeof(description) },
                  .ram_size = 64 << 20, .cmdline = { (const uint8_t *)"lines=3", 7 },
                  .image = { image, sizeof(image) }, .initrd = { initrd, sizeof(initrd) },
                  .disk_sectors = 2048, .disk_readonly = true },
                { .kind = LOG_TIME, .position = 0, .value = 1000 },
                { .kind = LOG_WALL, .position = 3, .value = 1700000000000000000ull },
                { .kind = LOG_EPOCH_END, .position = 9, .digest = 0xabcd1234,
                  .cause = EPOCH_INTERRUPT, .vector = 0x20, .digest_parts = { parts, sizeof(parts) } },
                { .kind = LOG_TIME, .position = 9, .value = 2000 },
                { .kind = LOG_CHECKPOINT, .position = 9, .start_position = 9,
                  .memory_hash = 0x1122334455667788ull, .has_memory_hash = true,
                  .memory_ranges = { ranges, sizeof(ranges) },
                  .output = { output, sizeof(output) }, .state = { state, sizeof(state) } },
                { .kind = LOG_TIME, .position = 9, .value = 3000 },
                { .kind = LOG_IO_COMPLETION, .position = 12, .io_device = 0, .io_id = 77,
                  .io_status = 0, .io_data = { sector, sizeof(sector) } },
                { .kind = LOG_EPOCH_END, .position = 12, .digest = 0x5678, .cause = EPOCH_TIMER,
                  .has_memory_hash = true, .memory_hash = 42, .digest_parts = { parts, 8 },
                  .memory_ranges = { ranges, 8 } },
                { .kind = LOG_TIME, .position = 13, .value = 4000 },
                { .kind = LOG_GUEST_END, .position = 14, .value = 0, .epochs = 3 },
        };
        struct log_entry e = entries[i];
        e.seq = i + 1;
        return e;
}

void sample_log__write(struct state_writer *w, unsigned count, size_t *record_end)
{
        uint8_t header[LOG_HEADER_SIZE];
        log_format__header(header);
        state_writer__bytes(w, header, sizeof(header));
        for (unsigned i = 0; i < count; i++) {
                struct log_entry e = sample_log__entry(i);
                ck_assert_int_eq(log_entry__encode(&e, w), 0);
                if (record_end)
                        record_end[i] = w->length;
        }
}
