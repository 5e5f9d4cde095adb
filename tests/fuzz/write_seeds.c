/* write-fuzz-seeds DIR: writes a small log (every record kind, a real
 * checkpoint state among them) and a snapshot of a 4 MiB machine, the
 * seeds the log and snapshot fuzzers mutate. Needs no KVM. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../replication/replay_log.h"
#include "../../vmm/checkpoint.h"
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

static int write_log(const char *dir, const uint8_t *state, size_t state_length)
{
        static const uint8_t image[] = { 0x7f, 'E', 'L', 'F', 2, 1, 1 };
        static const uint8_t output[] = "ftvmm-guest: seed\n";
        char path[4096], err[256];
        snprintf(path, sizeof(path), "%s/seed.log", dir);
        struct replay_writer w;
        struct replay_boot boot = { .ram_size = FUZZ_MACHINE_RAM, .cmdline = "rounds=1",
                                    .image = image, .image_size = sizeof(image) };
        if (replay_writer__open(&w, path, &boot, err, sizeof(err))) {
                fprintf(stderr, "%s\n", err);
                return -1;
        }
        const struct replay_entry entries[] = {
                { .tag = "TIME", .position = 0, .value = 1000 },
                { .tag = "WALL", .position = 3, .value = 1700000000000000000ull },
                { .tag = "EPOC", .position = 9, .value = 0x1234, .cause = EPOCH_INTERRUPT, .vector = 0x20 },
                { .tag = "TIME", .position = 10, .value = 2000 },
                { .tag = "CHKP", .position = 10, .value = 9, .output = output,
                  .output_length = sizeof(output), .state = state, .state_length = state_length },
                { .tag = "EPOC", .position = 12, .value = 0x5678, .cause = EPOCH_TIMER },
                { .tag = "END ", .position = 13, .value = 0, .epochs = 3 },
        };
        for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++)
                replay_writer__entry(&w, &entries[i]);
        if (replay_writer__close(&w, err, sizeof(err))) {
                fprintf(stderr, "%s\n", err);
                return -1;
        }
        return 0;
}

int main(int argc, char **argv)
{
        if (argc != 2) {
                fprintf(stderr, "usage: write-fuzz-seeds DIR\n");
                return 64;
        }
        struct machine *m = fuzz_machine();
        struct vcpu_state *vcpu = fuzz_vcpu();
        memset(vcpu, 0, sizeof(*vcpu));
        vcpu->regs.rip = 0x200000;
        vcpu->msr_count = 1;
        vcpu->msrs[0] = (struct kvm_msr_entry){ .index = 0x10, .data = 42 };
        memcpy(m->ram + 0x100000, "seed page", 9);
        uint64_t dirty[FUZZ_MACHINE_RAM / 4096 / 64] = { [0x100000 / 4096 / 64] = 1ull << (0x100000 / 4096 % 64) };
        uint8_t *state;
        size_t state_length;
        uint32_t pages;
        struct state_writer snap;
        state_writer__init(&snap);
        if (checkpoint__encode_state(m, vcpu, dirty, &state, &state_length, &pages) ||
            write_log(argv[1], state, state_length) ||
            snapshot__encode(m, vcpu, &snap) ||
            write_file(argv[1], "seed.snap", snap.buf, snap.length))
                return 1;
        free(state);
        state_writer__release(&snap);
        return 0;
}
