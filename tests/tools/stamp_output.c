/* stamp-output OUT TIMES: copies standard input to OUT byte for byte and,
 * for every read, appends "END NS" to TIMES: the offset in OUT just past
 * the bytes read and CLOCK_MONOTONIC when they arrived. Two replicas'
 * consoles stamped this way on one host say which printed what first
 * (scripts/transcript-check --times): the order in time that the files'
 * contents alone cannot show. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static unsigned long long now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

int main(int argc, char **argv)
{
        if (argc != 3) {
                fprintf(stderr, "usage: stamp-output OUT TIMES < console\n");
                return 64;
        }
        FILE *out = fopen(argv[1], "w"), *times = fopen(argv[2], "w");
        if (!out || !times) {
                fprintf(stderr, "stamp-output: %s: %s\n", out ? argv[2] : argv[1], strerror(errno));
                return 66;
        }
        unsigned long long offset = 0;
        char buf[65536];
        for (;;) {
                ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                unsigned long long at = now_ns();
                offset += (unsigned long long)n;
                if (fwrite(buf, 1, (size_t)n, out) != (size_t)n ||
                    fprintf(times, "%llu %llu\n", offset, at) < 0 || fflush(out) || fflush(times)) {
                        fprintf(stderr, "stamp-output: writing: %s\n", strerror(errno));
                        return 74;
                }
        }
        return fclose(out) || fclose(times) ? 74 : 0;
}
