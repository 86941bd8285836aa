/*
 * cli.h - the subcommands of `ftplimit`, one file each.
 */
#ifndef FL_CLI_H
#define FL_CLI_H

/* Exit statuses shared by the subcommands. */
#define EXIT_OK 0
#define EXIT_PROBLEM 1 /* ran, but something it checked or replayed failed */
#define EXIT_USAGE 2   /* bad arguments, or an input that cannot be read */

int cmd_check(int argc, char **argv);
int cmd_simulate(int argc, char **argv);
int cmd_lookup(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_metrics(int argc, char **argv);
int cmd_reload(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_ban(int argc, char **argv);
extern const char cli_ban_usage[]; /* "usage: ftplimit ban ..." */

/* The policy commands use when none is given. */
#ifndef FL_DEFAULT_POLICY
#define FL_DEFAULT_POLICY "/etc/ftplimit/ftplimit.conf"
#endif
/* The socket ftplimitd listens on when none is given. */
#ifndef FL_DEFAULT_SOCKET
#define FL_DEFAULT_SOCKET "/run/ftplimit/ftplimitd.sock"
#endif

/* Print every policy error to stderr, counting them. */
void cli_print_error(void *count, const char *message);

#endif
