/* cpu: `rounds=N` rounds of a fixed integer computation with no system call
 * inside: a sieve, a hash chain and a small matrix product, all in general
 * registers. The checksum is the same on every platform; elapsed_us shows
 * how fast user mode runs (natively on the target KVM). One round takes
 * about 6 ms on a current core (an AMD EPYC host), so the default of 170
 * takes about 1 s. */
#include <stdint.h>

#include "ulib.h"

const char workload_name[] = "cpu";

#define SIEVE_LIMIT (1u << 20)
#define HASH_STEPS (1u << 20)
#define MATRIX_N 64

static uint8_t composite[SIEVE_LIMIT];
static uint32_t mat_a[MATRIX_N][MATRIX_N], mat_b[MATRIX_N][MATRIX_N];

static uint64_t mix(uint64_t x)
{
        x ^= x >> 30;
        x *= 0xbf58476d1ce4e5b9ull;
        x ^= x >> 27;
        x *= 0x94d049bb133111ebull;
        return x ^ (x >> 31);
}

/* Sum of the primes below SIEVE_LIMIT weighted by the round's seed. */
static uint64_t sieve(uint64_t seed)
{
        memset(composite, 0, sizeof(composite));
        uint64_t acc = seed;
        for (uint32_t i = 2; i < SIEVE_LIMIT; i++) {
                if (composite[i])
                        continue;
                acc = acc * 31 + i;
                for (uint64_t j = (uint64_t)i * i; j < SIEVE_LIMIT; j += i)
                        composite[j] = 1;
        }
        return acc;
}

static uint64_t hash_chain(uint64_t seed)
{
        uint64_t x = seed;
        for (uint32_t i = 0; i < HASH_STEPS; i++)
                x = mix(x + i);
        return x;
}

static uint64_t matrix_product(uint64_t seed)
{
        for (unsigned i = 0; i < MATRIX_N; i++)
                for (unsigned j = 0; j < MATRIX_N; j++) {
                        mat_a[i][j] = (uint32_t)mix(seed + i * MATRIX_N + j);
                        mat_b[i][j] = (uint32_t)mix(~seed + i * MATRIX_N + j);
                }
        uint64_t acc = 0;
        for (unsigned i = 0; i < MATRIX_N; i++)
                for (unsigned j = 0; j < MATRIX_N; j++) {
                        uint32_t sum = 0;
                        for (unsigned k = 0; k < MATRIX_N; k++)
                                sum += mat_a[i][k] * mat_b[k][j];
                        acc = mix(acc ^ sum);
                }
        return acc;
}

/* progress: a line after each round, so that output is produced in the
 * middle of long exit-free stretches (the record drills use it). */
static uint64_t run_rounds(long rounds, long progress)
{
        uint64_t checksum = 0x6a09e667f3bcc908ull;
        for (long r = 0; r < rounds; r++) {
                uint64_t seed = mix(checksum + (uint64_t)r);
                checksum = mix(checksum ^ sieve(seed));
                checksum = mix(checksum ^ hash_chain(seed));
                checksum = mix(checksum ^ matrix_product(seed));
                if (progress)
                        printf("cpu round=%ld checksum=%016llx\n", r, (unsigned long long)checksum);
        }
        return checksum;
}

int main(void);

int main(void)
{
        long rounds = arg_long("rounds", 170);
        long progress = arg_long("progress", 0);
        if (rounds < 0) {
                printf("cpu: rounds must be >= 0\n");
                return 2;
        }
        unsigned long long start_ns = sys_time_ns();
        uint64_t checksum = run_rounds(rounds, progress);
        unsigned long long elapsed_ns = sys_time_ns() - start_ns;
        printf("cpu rounds=%ld checksum=%016llx elapsed_us=%llu\n", rounds,
               (unsigned long long)checksum, elapsed_ns / 1000);
        return 0;
}
