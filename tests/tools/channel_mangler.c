/* channel-mangler LISTEN_PORT PRIMARY_PORT MODE AFTER: a man in the middle
 * between a backup (which connects to LISTEN_PORT on 127.0.0.1) and its
 * primary. It forwards both directions faithfully until AFTER bytes have
 * gone from the primary to the backup, then damages that direction once,
 * at the next record boundary:
 *   garbage   inserts 64 bytes that are no record
 *   corrupt   flips one bit in the middle of the next record
 *   reorder   sends the next two records in swapped order
 *   duplicate sends the next record twice
 *   truncate  sends half of the next record and closes both connections
 *   hold      sends the next log record (the machine state, after a
 *             greeting) and then nothing more from the primary; the
 *             primary's connection stays open, unanswered once the backup
 *             has gone, until the primary closes it
 * and forwards faithfully again (except after truncate and hold). In mode
 *   delay     AFTER is milliseconds: everything from the primary reaches
 *             the backup that much later, and what it still holds when the
 *             primary's connection closes is lost, as it would be with a
 *             slow link from a host that died (the failover drill's
 *             --slow-link: a primary that let a write leave before its
 *             backup held the log that leads to it is then found out)
 * The test
 * checks that the backup drops the connection with a clear error, applies
 * nothing damaged, and that exactly one replica goes on; hold makes a
 * backup go live holding nothing but the machine state it joined with. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../../replication/state_record.h"

static int listen_on(int port)
{
        int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 1)) {
                perror("channel-mangler: listen");
                exit(71);
        }
        return fd;
}

static int connect_to(int port)
{
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        for (int tries = 0; tries < 200; tries++) {
                int fd = socket(AF_INET, SOCK_STREAM, 0);
                if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
                        return fd;
                close(fd);
                usleep(50000);
        }
        perror("channel-mangler: connect");
        exit(71);
}

static void send_all(int fd, const uint8_t *p, size_t n)
{
        while (n) {
                ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
                if (w <= 0)
                        exit(0); /* a peer went away: the test goes on without us */
                p += w;
                n -= (size_t)w;
        }
}

/* The length of the record at buf, 0 if it is not all there yet. */
static size_t record_length(const uint8_t *buf, size_t n)
{
        struct state_record_header h;
        char why[128];
        return state_record__check(buf, n, &h, why, sizeof(why)) == STATE_RECORD_COMPLETE ?
               STATE_RECORD_OVERHEAD + h.payload_length : 0;
}

/* Control messages carry no sequence number: swapping or repeating one is
 * harmless, so only log records are reordered or duplicated. */
static bool is_log_record(const uint8_t *record)
{
        return memcmp(record, "HELO", 4) && memcmp(record, "ACK ", 4) && memcmp(record, "RELS", 4) &&
               memcmp(record, "BEAT", 4);
}

struct downstream {
        uint8_t *buf;
        size_t length, capacity;
        size_t forwarded;
        bool done;
        bool holding; /* hold: nothing more goes to the backup */
};

/* Forwards whole records from the primary; damages the stream once. */
static void forward_records(struct downstream *d, int to, const char *mode, size_t after)
{
        size_t first;
        while ((first = record_length(d->buf, d->length))) {
                if (d->holding) {
                        memmove(d->buf, d->buf + first, d->length - first);
                        d->length -= first;
                        continue;
                }
                size_t second = record_length(d->buf + first, d->length - first);
                bool needs_log = strcmp(mode, "reorder") == 0 || strcmp(mode, "duplicate") == 0 ||
                                 strcmp(mode, "hold") == 0;
                bool eligible = !needs_log || (is_log_record(d->buf) &&
                                               (strcmp(mode, "reorder") != 0 ||
                                                (second && is_log_record(d->buf + first))));
                if (!d->done && d->forwarded >= after && strcmp(mode, "reorder") == 0 && !second)
                        return; /* wait for the record to swap with */
                if (!d->done && d->forwarded >= after && eligible) {
                        d->done = true;
                        fprintf(stderr, "channel-mangler: %s after %zu bytes\n", mode, d->forwarded);
                        if (strcmp(mode, "garbage") == 0) {
                                static const uint8_t junk[64] = "this is not a record of any kind...";
                                send_all(to, junk, sizeof(junk));
                        } else if (strcmp(mode, "corrupt") == 0) {
                                d->buf[first / 2] ^= 0x10;
                        } else if (strcmp(mode, "duplicate") == 0) {
                                send_all(to, d->buf, first);
                        } else if (strcmp(mode, "hold") == 0) {
                                d->holding = true; /* after this record */
                        } else if (strcmp(mode, "truncate") == 0) {
                                send_all(to, d->buf, first / 2);
                                exit(0);
                        } else if (strcmp(mode, "reorder") == 0) {
                                send_all(to, d->buf + first, second);
                                send_all(to, d->buf, first);
                                d->forwarded += first + second;
                                memmove(d->buf, d->buf + first + second, d->length - first - second);
                                d->length -= first + second;
                                continue;
                        }
                }
                send_all(to, d->buf, first);
                d->forwarded += first;
                memmove(d->buf, d->buf + first, d->length - first);
                d->length -= first;
        }
}

/* The primary must find the backup silent, not gone: its connection is
 * read and never answered. */
static void drain_until_closed(int fd)
{
        uint8_t sink[65536];
        while (recv(fd, sink, sizeof(sink), 0) > 0)
                ;
}

static void relay(int backup, int primary, const char *mode, size_t after)
{
        struct downstream d = { .capacity = 1 << 20 };
        d.buf = malloc(d.capacity);
        uint8_t up[65536];
        struct pollfd fds[2] = { { .fd = primary, .events = POLLIN }, { .fd = backup, .events = POLLIN } };
        for (;;) {
                if (poll(fds, 2, -1) < 0)
                        return;
                if (fds[1].revents) {
                        ssize_t n = recv(backup, up, sizeof(up), 0);
                        if (n <= 0 && d.holding) {
                                drain_until_closed(primary);
                                return;
                        }
                        if (n <= 0)
                                return;
                        send_all(primary, up, (size_t)n);
                }
                if (fds[0].revents) {
                        if (d.length == d.capacity)
                                d.buf = realloc(d.buf, d.capacity *= 2);
                        ssize_t n = recv(primary, d.buf + d.length, d.capacity - d.length, 0);
                        if (n <= 0)
                                return;
                        d.length += (size_t)n;
                        forward_records(&d, backup, mode, after);
                }
        }
}

static long long now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Chunks from the primary, each with the time it may go on. */
struct delayed {
        struct delayed *next;
        long long due_ms;
        size_t length;
        uint8_t bytes[];
};

static void relay_delayed(int backup, int primary, long long delay_ms)
{
        struct delayed *head = NULL, **tail = &head;
        uint8_t buf[65536];
        struct pollfd fds[2] = { { .fd = primary, .events = POLLIN }, { .fd = backup, .events = POLLIN } };
        for (;;) {
                long long now = now_ms();
                while (head && head->due_ms <= now) {
                        struct delayed *d = head;
                        send_all(backup, d->bytes, d->length);
                        head = d->next;
                        if (!head)
                                tail = &head;
                        free(d);
                }
                int timeout = head ? (int)(head->due_ms - now) : -1;
                if (poll(fds, 2, timeout) < 0)
                        return;
                if (fds[1].revents) {
                        ssize_t n = recv(backup, buf, sizeof(buf), 0);
                        if (n <= 0)
                                return;
                        send_all(primary, buf, (size_t)n);
                }
                if (fds[0].revents) {
                        ssize_t n = recv(primary, buf, sizeof(buf), 0);
                        if (n <= 0)
                                return; /* what is still held dies with the link */
                        struct delayed *d = malloc(sizeof(*d) + (size_t)n);
                        d->next = NULL;
                        d->due_ms = now_ms() + delay_ms;
                        d->length = (size_t)n;
                        memcpy(d->bytes, buf, (size_t)n);
                        *tail = d;
                        tail = &d->next;
                }
        }
}

int main(int argc, char **argv)
{
        if (argc != 5) {
                fprintf(stderr, "usage: channel-mangler LISTEN_PORT PRIMARY_PORT garbage|corrupt|reorder|duplicate|truncate|hold|delay AFTER\n");
                return 64;
        }
        int listener = listen_on(atoi(argv[1]));
        int backup = accept(listener, NULL, NULL);
        int primary = connect_to(atoi(argv[2]));
        if (strcmp(argv[3], "delay") == 0)
                relay_delayed(backup, primary, strtoll(argv[4], NULL, 10));
        else
                relay(backup, primary, argv[3], strtoul(argv[4], NULL, 10));
        return 0;
}
