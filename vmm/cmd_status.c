/* `ftvmm status PATH`: asks a replica's control socket how it stands. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "command.h"
#include "exit_status.h"

static const char status_help[] =
"Usage: ftvmm status [--json | --metrics] PATH\n"
"Print how the replica whose control socket is PATH ('ftvmm launch\n"
"--control PATH') stands: its role, generation, position, epochs, the\n"
"backup's lag, the log's rate and the console output held.\n"
"\n"
"      --json      one JSON object, for programs\n"
"      --metrics   Prometheus text exposition, for a scraper\n"
"  -h, --help      show this help and exit\n"
"\n"
"Exit status: 0, 64 usage error, 69 no replica answers at PATH.\n";

static int ask(const char *path, const char *format)
{
        struct sockaddr_un addr = { .sun_family = AF_UNIX };
        if (strlen(path) >= sizeof(addr.sun_path)) {
                fprintf(stderr, "ftvmm status: %s: path too long\n", path);
                return EXIT_USAGE;
        }
        snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
                fprintf(stderr, "ftvmm status: %s: %s (is a replica running with --control %s?)\n",
                        path, strerror(errno), path);
                if (fd >= 0)
                        close(fd);
                return EXIT_KVM_UNAVAILABLE;
        }
        char request[16];
        int n = snprintf(request, sizeof(request), "%s\n", format);
        ssize_t ignored = write(fd, request, (size_t)n);
        (void)ignored;
        char buf[4096];
        ssize_t got;
        while ((got = read(fd, buf, sizeof(buf))) > 0)
                fwrite(buf, 1, (size_t)got, stdout);
        close(fd);
        return 0;
}

int cmd_status(int argc, char **argv)
{
        static const struct option longopts[] = {
                { "json", no_argument, NULL, 'j' },
                { "metrics", no_argument, NULL, 'M' },
                { "help", no_argument, NULL, 'h' },
                { NULL, 0, NULL, 0 },
        };
        const char *format = "text";
        optind = 1;
        opterr = 0;
        int opt;
        while ((opt = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
                switch (opt) {
                case 'j': format = "json"; break;
                case 'M': format = "metrics"; break;
                case 'h': fputs(status_help, stdout); return 0;
                default:
                        fprintf(stderr, "ftvmm status: unknown option '%s'\nTry 'ftvmm status --help'.\n",
                                argv[optind - 1]);
                        return EXIT_USAGE;
                }
        }
        if (optind != argc - 1) {
                fprintf(stderr, "ftvmm status: expected one PATH\nTry 'ftvmm status --help'.\n");
                return EXIT_USAGE;
        }
        return ask(argv[optind], format);
}
