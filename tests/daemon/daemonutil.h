/*
 * daemonutil.h - a real ftplimitd on a temporary socket, for tests.
 */
#ifndef FL_DAEMONUTIL_H
#define FL_DAEMONUTIL_H

#include <stdbool.h>
#include <sys/types.h>

#include <jansson.h>

#include <ftplimit/ftplimit.h>
#include <ftplimit/client.h>

typedef struct tdaemon {
    pid_t pid;
    char *dir; /* temporary directory: policy, socket, log */
    char *policy;
    char *socket;
    char *log;
} tdaemon;

/* Write the policy and start ftplimitd -f on dir/d.sock with extra
 * arguments (NULL-terminated list, may be empty); wait until it answers.
 * The daemon dies with the test process, whatever happens to the test. */
void tdaemon_start(tdaemon *d, const char *policy_text, const char *const *extra);
/* Start again on the same directory, socket and policy. */
void tdaemon_restart(tdaemon *d, const char *const *extra);
/* SIGTERM and wait: returns the exit status. */
int tdaemon_stop(tdaemon *d);
/* SIGKILL and wait. */
void tdaemon_kill(tdaemon *d);
/* Remove the directory. */
void tdaemon_free(tdaemon *d);

/* A client of the daemon, asserting it connects. */
fl_client *tclient(tdaemon *d);

/* The STATUS document (the caller json_decref's). */
json_t *tstatus(tdaemon *d);
/* totals.<key> of the status. */
long long ttotal(tdaemon *d, const char *key);
/* Wait (up to 5 s) until totals.<key> equals want; returns the last value. */
long long twait_total(tdaemon *d, const char *key, long long want);

/* Run fn in a child process; returns its pid. */
pid_t tfork(void (*fn)(void *), void *arg);
/* Wait for a child; returns its exit status (or 128 + signal). */
int twait(pid_t pid);

/* The ftplimitd and ftplimit binaries of the build tree. */
const char *tdaemon_binary(void);
const char *tcli_binary(void);

#endif
