#include "arbiter.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PREFIX "generation-"

static void file_of(const struct arbiter_directory *d, uint64_t generation, char *out, size_t size)
{
        snprintf(out, size, "%s/" PREFIX "%" PRIu64, d->path, generation);
}

static int directory_claim(struct arbiter *a, uint64_t generation, const char *who)
{
        struct arbiter_directory *d = (struct arbiter_directory *)a;
        char path[4200];
        file_of(d, generation, path, sizeof(path));
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0)
                return errno == EEXIST ? 1 : -errno;
        char line[512];
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        int n = snprintf(line, sizeof(line), "%s %lld\n", who, (long long)now.tv_sec);
        /* The file's existence is the claim; its text only informs. */
        ssize_t ignored = write(fd, line, (size_t)n);
        (void)ignored;
        fsync(fd);
        close(fd);
        return 0;
}

static bool directory_taken(struct arbiter *a, uint64_t generation)
{
        struct arbiter_directory *d = (struct arbiter_directory *)a;
        char path[4200];
        file_of(d, generation, path, sizeof(path));
        struct stat st;
        /* Unreachable storage counts as taken: a replica that cannot see
         * the arbiter (its directory gone, or stat failing for any reason
         * but the file's absence) must not release output. */
        if (stat(d->path, &st) < 0 || !S_ISDIR(st.st_mode))
                return true;
        return stat(path, &st) == 0 || errno != ENOENT;
}

static uint64_t directory_latest(struct arbiter *a)
{
        struct arbiter_directory *d = (struct arbiter_directory *)a;
        DIR *dir = opendir(d->path);
        uint64_t latest = 0;
        if (!dir)
                return 0;
        struct dirent *e;
        while ((e = readdir(dir))) {
                char *end;
                if (strncmp(e->d_name, PREFIX, strlen(PREFIX)) != 0)
                        continue;
                unsigned long long g = strtoull(e->d_name + strlen(PREFIX), &end, 10);
                if (!*end && g > latest)
                        latest = g;
        }
        closedir(dir);
        return latest;
}

static void directory_holder(struct arbiter *a, uint64_t generation, char *out, size_t size)
{
        struct arbiter_directory *d = (struct arbiter_directory *)a;
        char path[4200];
        file_of(d, generation, path, sizeof(path));
        out[0] = '\0';
        FILE *f = fopen(path, "r");
        if (!f)
                return;
        if (fgets(out, (int)size, f))
                out[strcspn(out, " \n")] = '\0';
        fclose(f);
}

/* A fact is created with O_EXCL, as a generation is, and written right
 * after: a reader that comes in between finds it empty and tries again. */
static int read_fact(const char *path, char *out, size_t size)
{
        for (int tries = 0; tries < 100; tries++) {
                FILE *f = fopen(path, "r");
                if (!f)
                        return -errno;
                bool got = fgets(out, (int)size, f) != NULL;
                fclose(f);
                out[got ? strcspn(out, "\n") : 0] = '\0';
                if (out[0])
                        return 0;
                struct timespec ms10 = { 0, 10000000 };
                nanosleep(&ms10, NULL);
        }
        return -EIO;
}

static int create_fact(const char *path, const char *suffix)
{
        uint8_t random[16];
        if (getrandom(random, sizeof(random), 0) != (ssize_t)sizeof(random))
                return -EIO;
        char text[128];
        int n = 0;
        for (size_t i = 0; i < sizeof(random); i++)
                n += snprintf(text + n, sizeof(text) - (size_t)n, "%02x", random[i]);
        snprintf(text + n, sizeof(text) - (size_t)n, "%s%s\n", suffix ? " " : "", suffix ? suffix : "");
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0)
                return errno == EEXIST ? 0 : -errno;
        ssize_t written = write(fd, text, strlen(text));
        int rc = written == (ssize_t)strlen(text) && fsync(fd) == 0 ? 0 : -EIO;
        close(fd);
        return rc;
}

static int directory_fact(struct arbiter *a, const char *name, bool create, const char *suffix,
                          char *out, size_t size)
{
        struct arbiter_directory *d = (struct arbiter_directory *)a;
        char path[4200];
        snprintf(path, sizeof(path), "%s/%s", d->path, name);
        int rc = read_fact(path, out, size);
        if (rc != -ENOENT || !create)
                return rc;
        rc = create_fact(path, suffix);
        return rc ? rc : read_fact(path, out, size);
}

int arbiter_directory__open(struct arbiter_directory *d, const char *path, char *err,
                            size_t err_size)
{
        struct stat st;
        if (strlen(path) >= sizeof(d->path)) {
                snprintf(err, err_size, "--arbiter %.64s...: path too long", path);
                return -ENAMETOOLONG;
        }
        if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode) || access(path, W_OK) < 0) {
                int e = errno ? errno : ENOTDIR;
                snprintf(err, err_size, "--arbiter %s: %s (a directory both replicas can write)", path,
                         strerror(e));
                return -e;
        }
        snprintf(d->path, sizeof(d->path), "%s", path);
        d->arbiter = (struct arbiter){ .claim = directory_claim, .taken = directory_taken,
                                       .latest = directory_latest, .holder = directory_holder,
                                       .fact = directory_fact, .name = d->path };
        return 0;
}
