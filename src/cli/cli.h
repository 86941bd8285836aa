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

/* Print every policy error to stderr, counting them. */
void cli_print_error(void *count, const char *message);

#endif
