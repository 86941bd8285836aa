/*
 * exec.c - OnEvent ... exec: run a program for an alert.
 *
 * The program gets an argument vector, never a shell: a user name such as
 * `$(touch /tmp/x);"` is one literal argument. %-sequences in the arguments
 * are expanded from the event; the environment holds only PATH and the
 * event's fields as FTPLIMIT_* variables; standard input, output and error
 * are /dev/null; the program runs in a process group of its own, is killed
 * (with its group) after ExecTimeout, and at most ExecMaxRunning run at once
 * -- an alert over that is dropped and counted.
 *
 * The library installs no signal handler: children are reaped by a timer on
 * the engine's clock, every 50 ms while any runs.
 */
#include "config.h"

#include "modules/alerts/alerts.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "util/alloc.h"

#define REAP_INTERVAL (50 * 1000)
#define ENV_MAX 24

struct exec_child {
    struct exec_child *next;
    pid_t pid;
    fl_usec deadline;
    bool killed;
    char program[256];
};

/* --- expansion ------------------------------------------------------------------- */

struct text {
    char *buf;
    size_t len, cap;
    bool failed;
};

static void put(struct text *t, const char *s, size_t n)
{
    if (t->failed)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = (t->len + n + 1) * 2;
        char *grown = fl_realloc(t->buf, cap);
        if (grown == NULL) {
            t->failed = true;
            return;
        }
        t->buf = grown;
        t->cap = cap;
    }
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len] = '\0';
}

static void put_str(struct text *t, const char *s)
{
    if (s != NULL)
        put(t, s, strlen(s));
}

static void put_num(struct text *t, long long v)
{
    char num[32];
    if (v >= 0)
        put(t, num, (size_t)snprintf(num, sizeof num, "%lld", v));
}

/* One argument with %e %a %u %c %C %m %n %s %t %% expanded; unknown
 * sequences stay as written. NULL without memory. */
static char *expand(const char *tmpl, const struct alert_event *ev)
{
    const fl_event_info *i = ev->info;
    struct text t = {0};
    put(&t, "", 0);
    for (const char *p = tmpl; *p != '\0'; p++) {
        if (*p != '%' || p[1] == '\0') {
            put(&t, p, 1);
            continue;
        }
        switch (*++p) {
        case 'e':
            put_str(&t, ev->name);
            break;
        case 'a':
            put_str(&t, i ? i->address : NULL);
            break;
        case 'u':
            put_str(&t, i ? i->user : NULL);
            break;
        case 'c':
            put_str(&t, i ? i->class_name : NULL);
            break;
        case 'C':
            put_str(&t, i ? i->country : NULL);
            break;
        case 'm':
            put_num(&t, i ? i->max : -1);
            break;
        case 'n':
            put_num(&t, i ? i->count : -1);
            break;
        case 's':
            put_str(&t, i ? i->sid : NULL);
            break;
        case 't':
            put_num(&t, (long long)ev->wall);
            break;
        case '%':
            put(&t, "%", 1);
            break;
        default:
            put(&t, p - 1, 2);
            break;
        }
    }
    if (t.failed) {
        fl_free(t.buf);
        return NULL;
    }
    return t.buf;
}

/* --- environment ------------------------------------------------------------------ */

struct env {
    char *vars[ENV_MAX + 1];
    size_t n;
    bool failed;
};

static void env_add(struct env *env, const char *name, const char *value)
{
    if (value == NULL || env->n == ENV_MAX)
        return;
    size_t len = strlen(name) + strlen(value) + 2;
    char *var = fl_malloc(len);
    if (var == NULL) {
        env->failed = true;
        return;
    }
    snprintf(var, len, "%s=%s", name, value);
    env->vars[env->n++] = var;
}

static void env_num(struct env *env, const char *name, long long v)
{
    char num[32];
    if (v >= 0) {
        snprintf(num, sizeof num, "%lld", v);
        env_add(env, name, num);
    }
}

static void env_build(struct env *env, const struct alert_event *ev)
{
    const fl_event_info *i = ev->info;
    env_add(env, "PATH", "/usr/local/bin:/usr/bin:/bin");
    env_add(env, "FTPLIMIT_EVENT", ev->name);
    env_num(env, "FTPLIMIT_TIME", (long long)ev->wall);
    env_add(env, "FTPLIMIT_MODULE", ev->module);
    if (ev->suppressed > 0)
        env_num(env, "FTPLIMIT_SUPPRESSED", ev->suppressed);
    if (i == NULL)
        return;
    env_add(env, "FTPLIMIT_SID", i->sid);
    env_add(env, "FTPLIMIT_ADDRESS", i->address);
    env_add(env, "FTPLIMIT_USER", i->user);
    env_add(env, "FTPLIMIT_CLASS", i->class_name);
    env_add(env, "FTPLIMIT_SERVER", i->server);
    env_add(env, "FTPLIMIT_LIMIT", i->limit);
    env_num(env, "FTPLIMIT_MAX", i->max);
    env_num(env, "FTPLIMIT_COUNT", i->count);
    env_add(env, "FTPLIMIT_COUNTRY", i->country);
    env_num(env, "FTPLIMIT_ASN", i->asn != 0 ? (long long)i->asn : -1);
    env_add(env, "FTPLIMIT_MESSAGE", i->message);
    env_add(env, "FTPLIMIT_BAN", i->ban);
    env_add(env, "FTPLIMIT_TARGET", i->target);
    env_num(env, "FTPLIMIT_DURATION", i->duration);
    if (i->dry_run)
        env_add(env, "FTPLIMIT_DRY_RUN", "1");
}

static void env_free(struct env *env)
{
    for (size_t i = 0; i < env->n; i++)
        fl_free(env->vars[i]);
}

/* --- children --------------------------------------------------------------------- */

/* Count a program's failure; log it, once until a program succeeds. */
static void exec_failed(struct fl_alerts *a, const struct exec_child *c, int status)
{
    a->stats.failed[FL_ALERT_EXEC]++;
    if (a->exec_failing)
        return;
    a->exec_failing = true;
    if (WIFEXITED(status))
        fl_log(a->e, LOG_WARNING,
               "OnEvent exec: %s exited with status %d (reported once; counted as "
               "failed)",
               c->program, WEXITSTATUS(status));
    else
        fl_log(a->e, LOG_WARNING,
               "OnEvent exec: %s died of signal %d (reported once; counted as failed)",
               c->program, WTERMSIG(status));
}

/* Reap what ended; kill what ran too long. */
static int reap_cb(fl_usec interval, int timerno, fl_usec elapsed, void *data)
{
    (void)interval;
    (void)timerno;
    (void)elapsed;
    struct fl_alerts *a = data;
    fl_usec now = fl_now(a->e);
    struct exec_child **pp = &a->children;
    while (*pp != NULL) {
        struct exec_child *c = *pp;
        int status;
        pid_t r = waitpid(c->pid, &status, WNOHANG);
        if (r == c->pid || (r < 0 && errno == ECHILD)) {
            /* A program that exits with a status, or dies of a signal not
             * ours, failed to deliver its alert. */
            if (r == c->pid && !c->killed &&
                (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
                exec_failed(a, c, status);
            else if (r == c->pid && !c->killed && a->exec_failing) {
                a->exec_failing = false;
                fl_log(a->e, LOG_NOTICE, "OnEvent exec: %s exited with status 0 again",
                       c->program);
            }
            *pp = c->next;
            a->running--;
            fl_free(c);
            continue;
        }
        if (!c->killed && now >= c->deadline) {
            kill(-c->pid, SIGKILL);
            c->killed = true;
            a->stats.killed++;
            fl_log(a->e, LOG_WARNING,
                   "OnEvent exec: %s ran longer than ExecTimeout; killed", c->program);
        }
        pp = &c->next;
    }
    if (a->children != NULL)
        return 1;
    a->reaper_timer = -1;
    return 0;
}

void alert_exec(struct alert_listener *l, const struct alert_event *ev)
{
    struct fl_alerts *a = l->owner;
    fl_engine *e = a->e;
    if (a->running >= fl_alerts_conf(e)->exec_max_running) {
        a->stats.dropped[l->sink]++;
        return;
    }

    size_t argc = 0;
    while (l->argv[argc] != NULL)
        argc++;
    char **argv = fl_calloc(argc + 1, sizeof *argv);
    struct exec_child *c = fl_calloc(1, sizeof *c);
    struct env env = {.n = 0};
    bool failed = argv == NULL || c == NULL;
    argv != NULL ? (void)(argv[0] = fl_strdup(l->argv[0])) : (void)0;
    failed = failed || argv[0] == NULL;
    for (size_t i = 1; !failed && i < argc; i++)
        failed = (argv[i] = expand(l->argv[i], ev)) == NULL;
    if (!failed) {
        env_build(&env, ev);
        failed = env.failed;
    }

    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    pid_t pid = -1;
    int rc = ENOMEM;
    /* Checked first: where posix_spawn cannot report a failed exec (an
     * emulated vfork), the child would only exit 127. */
    if (!failed && access(argv[0], X_OK) != 0) {
        rc = errno;
        failed = true;
    }
    if (!failed && posix_spawn_file_actions_init(&fa) == 0) {
        if (posix_spawnattr_init(&attr) == 0) {
            sigset_t none, defaults;
            sigemptyset(&none);
            sigemptyset(&defaults);
            sigaddset(&defaults, SIGPIPE);
            sigaddset(&defaults, SIGHUP);
            sigaddset(&defaults, SIGTERM);
            sigaddset(&defaults, SIGINT);
            sigaddset(&defaults, SIGCHLD);
            posix_spawnattr_setsigmask(&attr, &none);
            posix_spawnattr_setsigdefault(&attr, &defaults);
            posix_spawnattr_setpgroup(&attr, 0);
            posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
                                                POSIX_SPAWN_SETSIGDEF |
                                                POSIX_SPAWN_SETPGROUP);
            posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
            posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
            posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
            posix_spawn_file_actions_addclosefrom_np(&fa, 3);
            rc = posix_spawn(&pid, argv[0], &fa, &attr, argv, env.vars);
            posix_spawnattr_destroy(&attr);
        }
        posix_spawn_file_actions_destroy(&fa);
    }

    if (rc == 0) {
        c->pid = pid;
        c->deadline = fl_now(e) + fl_alerts_conf(e)->exec_timeout;
        snprintf(c->program, sizeof c->program, "%s", argv[0]);
        c->next = a->children;
        a->children = c;
        a->running++;
        a->stats.sent[l->sink]++;
        alert_recovery(l, argv[0]);
        if (a->reaper_timer < 0)
            a->reaper_timer = fl_timer_add_usec(e, REAP_INTERVAL, FL_TIMER_DYNAMIC,
                                                a->base, reap_cb, a);
        c = NULL;
    } else {
        errno = rc;
        char what[300];
        snprintf(what, sizeof what, "cannot run %s", l->argv[0]);
        alert_failure(l, what);
    }

    fl_free(c);
    env_free(&env);
    for (size_t i = 0; argv != NULL && i < argc; i++)
        fl_free(argv[i]);
    fl_free(argv);
}

/* The engine ends: programs still running get up to ExecTimeout more, in
 * real time (a simulation's clock may stand still), then are killed. */
void alert_exec_stop_all(struct fl_alerts *a)
{
    fl_usec deadline = fl_clock_monotonic(NULL) + fl_alerts_conf(a->e)->exec_timeout;
    while (a->children != NULL) {
        bool late = fl_clock_monotonic(NULL) >= deadline;
        struct exec_child **pp = &a->children;
        while (*pp != NULL) {
            struct exec_child *c = *pp;
            if (late && !c->killed) {
                kill(-c->pid, SIGKILL);
                c->killed = true;
                a->stats.killed++;
            }
            pid_t r = waitpid(c->pid, NULL, late ? 0 : WNOHANG);
            if (r == c->pid || (r < 0 && errno != EINTR)) {
                *pp = c->next;
                fl_free(c);
            } else {
                pp = &c->next;
            }
        }
        if (a->children != NULL && !late)
            nanosleep(&(struct timespec){.tv_nsec = 5 * 1000 * 1000}, NULL);
    }
    a->running = 0;
}
