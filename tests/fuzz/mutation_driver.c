/* A small mutation fuzzer for hosts without libFuzzer, used by `make check`:
 * it mutates seed files (bit flips, byte sets, truncation, interesting
 * values) with a fixed seed and feeds each result to the libFuzzer entry
 * point, under ASan and UBSan. Deterministic, so a failure reproduces. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seed {
        uint8_t *bytes;
        size_t size;
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t next_random(void)
{
        /* xorshift64*: reproducible and good enough to pick mutations */
        rng_state ^= rng_state >> 12;
        rng_state ^= rng_state << 25;
        rng_state ^= rng_state >> 27;
        return rng_state * 0x2545f4914f6cdd1dull;
}

static int read_seed(const char *path, struct seed *s)
{
        FILE *f = fopen(path, "rb");
        if (!f) {
                perror(path);
                return -1;
        }
        fseek(f, 0, SEEK_END);
        long size = ftell(f);
        fseek(f, 0, SEEK_SET);
        s->bytes = malloc(size > 0 ? (size_t)size : 1);
        s->size = size > 0 && s->bytes ? fread(s->bytes, 1, (size_t)size, f) : 0;
        fclose(f);
        return 0;
}

static void mutate(uint8_t *buf, size_t *size)
{
        static const uint64_t interesting[] = { 0, 1, 0x7f, 0x80, 0xff, 0xffff,
                                                0x7fffffff, 0xffffffff, UINT64_MAX };
        unsigned count = 1 + (unsigned)(next_random() % 8);
        for (unsigned i = 0; i < count && *size; i++) {
                size_t at = next_random() % *size;
                switch (next_random() % 4) {
                case 0:
                        buf[at] ^= (uint8_t)(1u << (next_random() % 8));
                        break;
                case 1:
                        buf[at] = (uint8_t)next_random();
                        break;
                case 2: {
                        uint64_t v = interesting[next_random() % 9];
                        size_t n = 1u << (next_random() % 4);
                        if (at + n <= *size)
                                memcpy(buf + at, &v, n);
                        break;
                }
                case 3:
                        *size = at;
                        break;
                }
        }
}

int main(int argc, char **argv)
{
        if (argc < 3) {
                fprintf(stderr, "usage: %s ITERATIONS SEED_FILE...\n", argv[0]);
                return 2;
        }
        long iterations = strtol(argv[1], NULL, 10);
        int nseeds = argc - 2;
        struct seed seeds[nseeds];
        for (int i = 0; i < nseeds; i++)
                if (read_seed(argv[i + 2], &seeds[i]))
                        return 2;
        for (long it = 0; it < iterations; it++) {
                const struct seed *s = &seeds[it % nseeds];
                uint8_t *buf = malloc(s->size ? s->size : 1);
                memcpy(buf, s->bytes, s->size);
                size_t size = s->size;
                mutate(buf, &size);
                LLVMFuzzerTestOneInput(buf, size);
                free(buf);
        }
        for (int i = 0; i < nseeds; i++)
                free(seeds[i].bytes);
        printf("fuzz: %ld mutated inputs from %d seed(s), no crash\n", iterations, nseeds);
        return 0;
}
