/* The TCP the pair runs over: addresses as "HOST:PORT" ("[v6]:PORT" for
 * IPv6), Nagle's algorithm off (PEERS.md: it cost QEMU's COLO 40 ms a
 * checkpoint), no SIGPIPE. */
#ifndef FTVMM_TCP_H
#define FTVMM_TCP_H

#include <stddef.h>
#include <stdint.h>

/* Listens on address. Returns the socket, or -errno with a message. */
int tcp__listen(const char *address, char *err, size_t err_size);
/* Waits up to timeout_ms (-1: forever) for a connection. Returns the
 * socket, -ETIMEDOUT, or -errno. */
int tcp__accept(int listen_fd, int timeout_ms);
/* Connects to address, retrying until timeout_ms has passed. Returns the
 * socket, or -errno with a message. */
int tcp__connect(const char *address, int timeout_ms, char *err, size_t err_size);
/* Sends all n bytes. Returns 0 or -errno. */
int tcp__send_all(int fd, const uint8_t *bytes, size_t n);
/* The port a listening socket got (for address ":0"). */
int tcp__local_port(int fd);

#endif
