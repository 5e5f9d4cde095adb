#include "tcp.h"

#include <errno.h>
#include <stdbool.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Splits "host:port" or "[v6]:port"; host may be empty (any address). */
static int split(const char *address, char *host, size_t host_size, char *port, size_t port_size)
{
        const char *colon = strrchr(address, ':');
        if (!colon || !colon[1] || strlen(colon + 1) >= port_size)
                return -1;
        const char *start = address, *end = colon;
        if (*start == '[' && end > start && end[-1] == ']') {
                start++;
                end--;
        }
        if ((size_t)(end - start) >= host_size)
                return -1;
        memcpy(host, start, (size_t)(end - start));
        host[end - start] = '\0';
        snprintf(port, port_size, "%s", colon + 1);
        return 0;
}

static struct addrinfo *resolve(const char *address, bool passive, char *err, size_t err_size)
{
        char host[256], port[16];
        if (split(address, host, sizeof(host), port, sizeof(port))) {
                snprintf(err, err_size, "'%s': expected HOST:PORT", address);
                return NULL;
        }
        struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                                  .ai_flags = (passive ? AI_PASSIVE : 0) | AI_NUMERICSERV };
        struct addrinfo *found = NULL;
        int rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &found);
        if (rc) {
                snprintf(err, err_size, "'%s': %s", address, gai_strerror(rc));
                return NULL;
        }
        return found;
}

static void tune(int fd)
{
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

int tcp__listen(const char *address, char *err, size_t err_size)
{
        struct addrinfo *ai = resolve(address, true, err, err_size);
        if (!ai)
                return -EINVAL;
        int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1, rc = 0;
        if (fd < 0)
                rc = -errno;
        else if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
                 bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 4) < 0)
                rc = -errno;
        freeaddrinfo(ai);
        if (rc) {
                snprintf(err, err_size, "listening on %s: %s", address, strerror(-rc));
                if (fd >= 0)
                        close(fd);
                return rc;
        }
        return fd;
}

int tcp__accept(int listen_fd, int timeout_ms)
{
        struct pollfd p = { .fd = listen_fd, .events = POLLIN };
        int ready;
        while ((ready = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR)
                ;
        if (ready < 0)
                return -errno;
        if (ready == 0)
                return -ETIMEDOUT;
        int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
                return -errno;
        tune(fd);
        return fd;
}

static uint64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int tcp__connect(const char *address, int timeout_ms, char *err, size_t err_size)
{
        struct addrinfo *ai = resolve(address, false, err, err_size);
        if (!ai)
                return -EINVAL;
        uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
        int rc;
        for (;;) {
                int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (fd < 0) {
                        rc = -errno;
                        break;
                }
                if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
                        freeaddrinfo(ai);
                        tune(fd);
                        return fd;
                }
                rc = -errno;
                close(fd);
                /* The primary may not be listening yet: try again. */
                if (now_ms() >= deadline)
                        break;
                usleep(50000);
        }
        freeaddrinfo(ai);
        snprintf(err, err_size, "connecting to %s: %s", address, strerror(-rc));
        return rc;
}

int tcp__send_all(int fd, const uint8_t *bytes, size_t n)
{
        while (n) {
                ssize_t sent = send(fd, bytes, n, MSG_NOSIGNAL);
                if (sent < 0 && errno == EINTR)
                        continue;
                if (sent <= 0)
                        return sent < 0 ? -errno : -EPIPE;
                bytes += sent;
                n -= (size_t)sent;
        }
        return 0;
}

int tcp__local_port(int fd)
{
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
                return -errno;
        if (ss.ss_family == AF_INET)
                return ntohs(((struct sockaddr_in *)&ss)->sin_port);
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}
