/* write-fuzz-seeds DIR: writes two small logs (one that boots an image,
 * one that starts from a machine state; every record kind, a real
 * checkpoint state among them) and a snapshot of a 4 MiB machine: the
 * seeds the log and snapshot fuzzers mutate. Needs no KVM. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../replication/log_format.h"
#include "../../vmm/checkpoint.h"
#include "../../vmm/machine_description.h"
#include "../../vmm/snapshot.h"
#include "fuzz_machine.h"

static int write_file(const char *dir, const char *name, const void *bytes, size_t length)
{
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(bytes, 1, length, f) != length || fclose(f)) {
                perror(path);
                return -1;
        }
        return 0;
}

static int write_log(const char *dir, const char *name, const struct log_entry *first,
                     const struct checkpoint_capture *c)
{
        static const uint8_t output[] = "ftvmm-guest: seed\n";
        struct log_entry entries[] = {
                *first,
                { .kind = LOG_TIME, .position = 0, .value = 1000 },
                { .kind = LOG_WALL, .position = 3, .value = 1700000000000000000ull },
                { .kind = LOG_EPOCH_END, .position = 9, .digest = 0x1234, .cause = EPOCH_INTERRUPT,
                  .vector = 0x20 },
                { .kind = LOG_TIME, .position = 10, .value = 2000 },
                { .kind = LOG_CHECKPOINT, .position = 10, .start_position = 9, .memory_hash = 7,
                  .output = { output, sizeof(output) }, .state = { c->state, c->length } },
                { .kind = LOG_EPOCH_END, .position = 12, .digest = 0x5678, .cause = EPOCH_TIMER,
                  .has_memory_hash = true, .memory_hash = 99 },
                { .kind = LOG_GUEST_END, .position = 13, .value = 0, .epochs = 3 },
        };
        struct state_writer w;
        state_writer__init(&w);
        uint8_t header[LOG_HEADER_SIZE];
        log_format__header(header);
        state_writer__bytes(&w, header, sizeof(header));
        for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++) {
                entries[i].seq = i + 1;
                if (log_entry__encode(&entries[i], &w))
                        return -1;
        }
        int rc = write_file(dir, name, w.buf, w.length);
        state_writer__release(&w);
        return rc;
}

int main(int argc, char **argv)
{
        if (argc != 2) {
                fprintf(stderr, "usage: write-fuzz-seeds DIR\n");
                return 64;
        }
        static const uint8_t image[] = { 0x7f, 'E', 'L', 'F', 2, 1, 1 };
        struct machine *m = fuzz_machine();
        struct vcpu_state *vcpu = fuzz_vcpu();
        memset(vcpu, 0, sizeof(*vcpu));
        vcpu->regs.rip = 0x200000;
        vcpu->msr_count = 1;
        vcpu->msrs[0] = (struct kvm_msr_entry){ .index = 0x10, .data = 42 };
        memcpy(m->ram + 0x100000, "seed page", 9);
        uint64_t dirty[FUZZ_MACHINE_RAM / 4096 / 64] = { [0x100000 / 4096 / 64] = 1ull << (0x100000 / 4096 % 64) };
        struct checkpoint_capture c = { 0 };
        struct state_writer snap, description;
        state_writer__init(&snap);
        state_writer__init(&description);
        if (checkpoint__encode_state(m, vcpu, dirty, &c) ||
            machine_description__encode(m, &m->vm.cpu, &description) ||
            snapshot__encode(m, vcpu, &snap))
                return 1;
        struct log_entry boot = { .kind = LOG_BOOT,
                                  .description = { description.buf, description.length },
                                  .ram_size = FUZZ_MACHINE_RAM,
                                  .cmdline = { (const uint8_t *)"rounds=1", 8 },
                                  .image = { image, sizeof(image) } };
        struct log_entry state = { .kind = LOG_MACHINE_STATE, .state = { snap.buf, snap.length } };
        if (write_log(argv[1], "seed.log", &boot, &c) ||
            write_log(argv[1], "seed-state.log", &state, &c) ||
            write_file(argv[1], "seed.snap", snap.buf, snap.length))
                return 1;
        free(c.state);
        state_writer__release(&snap);
        state_writer__release(&description);
        return 0;
}
