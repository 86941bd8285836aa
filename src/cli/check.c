/*
 * check.c - `ftplimit check POLICY`: every error, or what the policy does.
 */
#include "config.h"

#include <stdio.h>

#include <ftplimit/ftplimit.h>

#include "cli.h"

static void print_line(void *arg, const char *line)
{
    (void)arg;
    printf("  %s\n", line);
}

int cmd_check(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: ftplimit check POLICY\n");
        return EXIT_USAGE;
    }
    /* Checking has no effects: no listener runs, no ban table is touched. */
    fl_engine_options opts = {.no_alerts = true, .no_ban_table = true};
    fl_engine *e = fl_engine_new(&opts);
    if (e == NULL) {
        perror("ftplimit: cannot create an engine");
        return EXIT_USAGE;
    }
    int errors = 0;
    if (fl_engine_load(e, argv[1], cli_print_error, &errors) < 0) {
        fprintf(stderr, "%s: %d error%s\n", argv[1], errors, errors == 1 ? "" : "s");
        fl_engine_free(e);
        return EXIT_USAGE;
    }
    printf("%s: OK\n", argv[1]);
    fl_policy_describe(e, print_line, NULL);
    fl_engine_free(e);
    return EXIT_OK;
}
