/*
 * check.c - `ftplimit check POLICY`: every error, or what the policy does.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <ftplimit/ftplimit.h>

#include "cli.h"

static void print_line(void *arg, const char *line)
{
    (void)arg;
    printf("  %s\n", line);
}

/* Act as user from now on: the policy is read as the daemon reads it. */
static int become(const char *user)
{
    struct passwd *pw = getpwnam(user);
    if (pw == NULL) {
        fprintf(stderr, "ftplimit: unknown user '%s'\n", user);
        return -1;
    }
    if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
        setuid(pw->pw_uid) < 0) {
        fprintf(stderr, "ftplimit: cannot check as %s: %s (-u needs root)\n", user,
                strerror(errno));
        return -1;
    }
    return 0;
}

int cmd_check(int argc, char **argv)
{
    const char *user = NULL, *policy = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-u") == 0 && i + 1 < argc && user == NULL)
            user = argv[++i];
        else if (policy == NULL && argv[i][0] != '-')
            policy = argv[i];
        else
            policy = NULL, i = argc; /* usage */
    }
    if (policy == NULL) {
        fprintf(stderr, "usage: ftplimit check POLICY [-u USER]\n");
        return EXIT_USAGE;
    }
    if (user != NULL && become(user) < 0)
        return EXIT_USAGE;
    /* Checking has no effects: no listener runs, no ban table is touched.
     * As the daemon's user (-u), what the daemon would write is checked. */
    fl_engine_options opts = {.no_alerts = true,
                              .no_ban_table = true,
                              .no_firewall = true,
                              .check_writes = user != NULL};
    fl_engine *e = fl_engine_new(&opts);
    if (e == NULL) {
        perror("ftplimit: cannot create an engine");
        return EXIT_USAGE;
    }
    int errors = 0;
    if (fl_engine_load(e, policy, cli_print_error, &errors) < 0) {
        fprintf(stderr, "%s: %d error%s\n", policy, errors, errors == 1 ? "" : "s");
        fl_engine_free(e);
        return EXIT_USAGE;
    }
    printf("%s: OK\n", policy);
    fl_policy_describe(e, print_line, NULL);
    fl_engine_free(e);
    return EXIT_OK;
}
