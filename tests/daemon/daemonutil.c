/*
 * daemonutil.c - start, stop and query a real ftplimitd for tests.
 */
#include "config.h"

#include "daemonutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

static char bin_daemon[4096], bin_cli[4096];

const char *tdaemon_binary(void)
{
    const char *top = getenv("top_builddir");
    snprintf(bin_daemon, sizeof bin_daemon, "%s/src/daemon/ftplimitd",
             top ? top : "..");
    return bin_daemon;
}

const char *tcli_binary(void)
{
    const char *top = getenv("top_builddir");
    snprintf(bin_cli, sizeof bin_cli, "%s/src/cli/ftplimit", top ? top : "..");
    return bin_cli;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static void spawn(tdaemon *d, const char *const *extra)
{
    const char *argv[32];
    int n = 0;
    argv[n++] = tdaemon_binary();
    argv[n++] = "-f";
    argv[n++] = "-c";
    argv[n++] = d->policy;
    argv[n++] = "-s";
    argv[n++] = d->socket;
    for (size_t i = 0; extra != NULL && extra[i] != NULL && n < 30; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;

    pid_t parent = getpid();
    d->pid = fork();
    ck_assert_int_ge(d->pid, 0);
    if (d->pid == 0) {
        /* Never outlive the test, even when an assertion ends it. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int log = open(d->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (log >= 0) {
            dup2(log, STDOUT_FILENO);
            dup2(log, STDERR_FILENO);
        }
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    /* Ready when it answers PING (a connect alone may reach the listening
     * socket before the daemon has finished starting). */
    for (int i = 0; i < 500; i++) {
        fl_client *c = fl_client_open(d->socket, 1000);
        char *out = NULL;
        if (c != NULL && fl_client_command(c, "PING", &out, NULL) == 0) {
            free(out);
            fl_client_free(c);
            return;
        }
        fl_client_free(c);
        int status;
        if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
            char *log = read_file(d->log);
            ck_abort_msg("ftplimitd exited at start: %s", log ? log : "(no log)");
        }
        sleep_ms(10);
    }
    ck_abort_msg("ftplimitd did not answer on %s", d->socket);
}

void tdaemon_start(tdaemon *d, const char *policy_text, const char *const *extra)
{
    memset(d, 0, sizeof *d);
    d->dir = tmpdir_new();
    d->policy = write_file(d->dir, "policy.conf", policy_text);
    /* A daemon started with -u reads its policy as that user. */
    chmod(d->dir, 0755);
    chmod(d->policy, 0644);
    d->socket = malloc(strlen(d->dir) + 8);
    sprintf(d->socket, "%s/d.sock", d->dir);
    d->log = malloc(strlen(d->dir) + 8);
    sprintf(d->log, "%s/d.log", d->dir);
    spawn(d, extra);
}

void tdaemon_restart(tdaemon *d, const char *const *extra)
{
    spawn(d, extra);
}

int tdaemon_stop(tdaemon *d)
{
    if (d->pid <= 0)
        return -1;
    kill(d->pid, SIGTERM);
    int status = twait(d->pid);
    d->pid = 0;
    return status;
}

void tdaemon_kill(tdaemon *d)
{
    if (d->pid <= 0)
        return;
    kill(d->pid, SIGKILL);
    twait(d->pid);
    d->pid = 0;
}

void tdaemon_free(tdaemon *d)
{
    /* A clean stop, so that a sanitizer build reports leaks at exit; then
     * any sanitizer report in the daemon's log fails the test. */
    if (d->pid > 0) {
        kill(d->pid, SIGTERM);
        int status = -1;
        for (int i = 0; i < 500 && waitpid(d->pid, &status, WNOHANG) == 0; i++)
            sleep_ms(10);
        if (waitpid(d->pid, &status, WNOHANG) == 0)
            tdaemon_kill(d);
        d->pid = 0;
    }
    char *log = d->log != NULL ? read_file(d->log) : NULL;
    bool sanitized = log != NULL && (strstr(log, "Sanitizer") != NULL ||
                                     strstr(log, "runtime error:") != NULL);
    if (sanitized)
        fprintf(stderr, "ftplimitd log:\n%s\n", log);
    free(log);
    tmpdir_free(d->dir);
    free(d->policy);
    free(d->socket);
    free(d->log);
    ck_assert_msg(!sanitized,
                  "ftplimitd reported a sanitizer error (its log is above)");
}

fl_client *tclient(tdaemon *d)
{
    fl_client *c = fl_client_open(d->socket, 5000);
    ck_assert_msg(c != NULL, "cannot reach the daemon: %s", strerror(errno));
    return c;
}

json_t *tstatus(tdaemon *d)
{
    fl_client *c = tclient(d);
    char *text;
    size_t len;
    ck_assert_int_eq(fl_client_command(c, "STATUS", &text, &len), 0);
    fl_client_free(c);
    json_t *doc = json_loads(text, 0, NULL);
    ck_assert_msg(doc != NULL, "status is not JSON: %s", text);
    free(text);
    return doc;
}

long long ttotal(tdaemon *d, const char *key)
{
    json_t *doc = tstatus(d);
    json_t *v = json_object_get(json_object_get(doc, "totals"), key);
    long long n = json_is_integer(v) ? json_integer_value(v) : -1;
    json_decref(doc);
    return n;
}

long long twait_total(tdaemon *d, const char *key, long long want)
{
    long long n = -1;
    for (int i = 0; i < 500 && (n = ttotal(d, key)) != want; i++)
        sleep_ms(10);
    return n;
}

pid_t tfork(void (*fn)(void *), void *arg)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        fn(arg);
        _exit(0);
    }
    return pid;
}

int twait(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
