/* The ftvmm command: dispatches to a subcommand (cmd_*.c). */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "command.h"
#include "exit_status.h"
#include "options.h"
#include "version.h"

static const char main_help[] =
"Usage: ftvmm COMMAND [OPTION]... [ARG]...\n"
"A fault-tolerant virtual machine monitor for purpose-built PVH guests.\n"
"\n"
"Commands:\n"
"  run IMAGE      boot a PVH ELF guest image and run it until it exits\n"
"  record IMAGE   run it and write a log that replays it (--log FILE)\n"
"  replay LOG     re-execute a recorded run from its log and verify it\n"
"  launch IMAGE   run it as the primary or the backup of a replicated pair\n"
"  status PATH    ask a replica's control socket how it stands\n"
"  help [CMD]     show help for ftvmm or for one command\n"
"  version        print the version\n"
"\n"
"Run 'ftvmm COMMAND --help' for a command's options.\n";

static const struct {
        const char *name;
        int (*run)(int argc, char **argv);
        const char *help;
} commands[] = {
        { "run", cmd_run, options__run_help },
        { "record", cmd_record, options__record_help },
        { "replay", cmd_replay, options__replay_help },
        { "launch", cmd_launch, options__launch_help },
        { "status", cmd_status, NULL },
};

static bool is_help(const char *arg)
{
        return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

static int command_help(int argc, char **argv)
{
        if (argc < 2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "version") == 0 ||
            is_help(argv[1])) {
                fputs(main_help, stdout);
                return 0;
        }
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
                if (strcmp(argv[1], commands[i].name) == 0) {
                        if (!commands[i].help) {
                                char *help_argv[] = { argv[1], "--help", NULL };
                                return commands[i].run(2, help_argv);
                        }
                        fputs(commands[i].help, stdout);
                        return 0;
                }
        }
        fprintf(stderr, "ftvmm help: unknown command '%s'\n", argv[1]);
        return EXIT_USAGE;
}

static int command_version(int argc, char **argv)
{
        if (argc > 1 && is_help(argv[1])) {
                puts("Usage: ftvmm version\nPrint the version of ftvmm and exit.");
                return 0;
        }
        printf("ftvmm %s\n", FTVMM_VERSION);
        return 0;
}

int main(int argc, char **argv)
{
        /* A closed console pipe must become a write error, not a dead VMM. */
        signal(SIGPIPE, SIG_IGN);
        if (argc < 2) {
                fputs(main_help, stderr);
                return EXIT_USAGE;
        }
        const char *cmd = argv[1];
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
                if (strcmp(cmd, commands[i].name) == 0)
                        return commands[i].run(argc - 1, argv + 1);
        if (strcmp(cmd, "help") == 0 || is_help(cmd))
                return command_help(argc - 1, argv + 1);
        if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0)
                return command_version(argc - 1, argv + 1);
        fprintf(stderr, "ftvmm: unknown command '%s'\nTry 'ftvmm --help'.\n", cmd);
        return EXIT_USAGE;
}
