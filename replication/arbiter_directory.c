#include "arbiter.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
         * the arbiter must not release output. */
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
                                       .name = d->path };
        return 0;
}
