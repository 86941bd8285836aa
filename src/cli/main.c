/*
 * main.c - `ftplimit`: the command line of the ftplimit engine.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <ftplimit/ftplimit.h>

#include "cli.h"

static void usage(FILE *out)
{
    fputs(
        "usage: ftplimit COMMAND [ARGS]\n"
        "\n"
        "  check POLICY [-u USER]     check a policy and summarise what it enforces\n"
        "                             (-u: as the daemon's USER, what it writes too)\n"
        "  simulate [--listeners] POLICY [TRACE]\n"
        "                             replay a trace (or standard input) through the "
        "engine\n"
        "  lookup ADDRESS [POLICY]    what the GeoIP databases and classes say of an "
        "address\n"
        "  status [-s SOCKET] [--json]      counts and limits of a running ftplimitd\n"
        "  metrics [-s SOCKET]        its Prometheus metrics\n"
        "  reload [-s SOCKET]         make it reload its policy\n"
        "  watch [PATTERN] [-s SOCKET] [--json]  stream its events\n"
        "  ban list|add|remove ...    list, make or lift its bans\n"
        "  version                    print the version\n"
        "\n"
        "See ftplimit(1).\n",
        out);
}

void cli_print_error(void *count, const char *message)
{
    fprintf(stderr, "%s\n", message);
    if (count != NULL)
        (*(int *)count)++;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    static const struct {
        const char *name;
        int (*run)(int argc, char **argv);
        const char *usage; /* NULL: ban's own */
    } commands[] = {
        {"check", cmd_check, "check POLICY [-u USER]"},
        {"simulate", cmd_simulate, "simulate [--listeners] POLICY [TRACE]"},
        {"lookup", cmd_lookup, "lookup ADDRESS [POLICY]"},
        {"status", cmd_status, "status [-s SOCKET] [--scope SERVER] [--json]"},
        {"metrics", cmd_metrics, "metrics [-s SOCKET] [--openmetrics]"},
        {"reload", cmd_reload, "reload [-s SOCKET]"},
        {"watch", cmd_watch, "watch [PATTERN] [-s SOCKET] [--json]"},
        {"ban", cmd_ban, NULL},
    };
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(cmd, commands[i].name) != 0)
            continue;
        /* --help and --version anywhere: the command's usage or the
         * version on standard output, and success. */
        for (int a = 2; a < argc; a++) {
            if (strcmp(argv[a], "--help") == 0 ||
                (a == 2 && strcmp(argv[a], "-h") == 0)) {
                if (commands[i].usage != NULL)
                    printf("usage: ftplimit %s\n", commands[i].usage);
                else
                    fputs(cli_ban_usage, stdout);
                printf("See ftplimit(1).\n");
                return EXIT_OK;
            }
            if (strcmp(argv[a], "--version") == 0) {
                printf("ftplimit %s\n", FL_VERSION);
                return EXIT_OK;
            }
        }
        return commands[i].run(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("ftplimit %s\n", FL_VERSION);
        return EXIT_OK;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 ||
        strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return EXIT_OK;
    }
    fprintf(stderr, "ftplimit: unknown command '%s'\n", cmd);
    usage(stderr);
    return EXIT_USAGE;
}
