/*
 * modules/alerts/alerts.h - the OnEvent listeners, as alerts.c, exec.c and
 * listener.c share them.
 */
#ifndef FL_ALERTS_H
#define FL_ALERTS_H

#include "context.h"
#include "policy/directive.h"

#define FL_DEFAULT_EXEC_TIMEOUT (10 * FL_USEC_PER_SEC)
#define FL_DEFAULT_EXEC_MAX_RUNNING 8

/* OnEvent PATTERN exec|syslog|jsonl ... */
typedef struct fl_alert_spec {
    char *pattern;
    fl_alert_output sink;
    char **argv;         /* exec: program and arguments, NULL-terminated */
    int syslog_priority; /* syslog: facility | priority */
    char *path;          /* jsonl */
    int line;
} fl_alert_spec;

/* mod_alerts' settings in a policy (directives.c). */
struct fl_alert_conf {
    fl_alert_spec *specs; /* OnEvent lines, in policy order */
    size_t nspecs;
    fl_usec suppress;          /* AlertSuppress window, 0 for none */
    fl_usec exec_timeout;      /* ExecTimeout */
    unsigned exec_max_running; /* ExecMaxRunning */
};

extern const struct fl_policy_part fl_alerts_part;     /* directives.c */
extern const struct fl_engine_module fl_alerts_module; /* alerts.c */

/* The settings of the policy in force. */
static inline const struct fl_alert_conf *fl_alerts_conf(fl_engine *e)
{
    return fl_policy_conf(e->policy, &fl_alerts_part);
}

/* "daemon.notice" and the like (directives.c). */
int fl_syslog_priority_parse(const char *text, int *out);
void fl_syslog_priority_format(int priority, char *buf, size_t size);

struct alert_tap;
struct suppress_entry;
struct exec_child;

/* One OnEvent line: an engine module of its own, with copies of what it
 * needs (the policy it came from may be freed before it is). */
struct alert_listener {
    struct fl_alerts *owner;
    fl_module *module;
    fl_alert_output sink;
    char *pattern;
    char **argv;         /* exec */
    int syslog_priority; /* syslog */
    char *path;          /* jsonl */
    int fd;              /* jsonl, -1 when closed */
    int open_errno;      /* jsonl: why the last open failed, or 0 */
    bool failing;        /* a failure was reported and not yet recovered */
    struct suppress_entry *suppressed; /* AlertSuppress, uthash */
    struct alert_tap *taps;
    size_t ntaps;
};

struct fl_alerts {
    fl_engine *e;
    fl_module *base; /* mod_alerts: rebuilds the listeners, reaps children */
    struct alert_listener **list;
    size_t n;
    unsigned generation; /* for the listeners' module names */

    struct exec_child *children;
    unsigned running;
    int reaper_timer;

    fl_alert_stats stats;
    bool exec_failing; /* a program's failure was logged (exec.c) */
    void (*syslog_fn)(void *arg, int priority, const char *line);
    void *syslog_arg;
    bool syslog_down; /* no syslog daemon listened: said once */
};

/* What an alert says about an event, ready for any output. */
struct alert_event {
    const char *name;
    const fl_event_info *info; /* NULL for events without one */
    const char *module;        /* core.module-load/unload */
    long long suppressed;      /* similar alerts not sent since the last */
    time_t wall;
};

/* listener.c: report a failure (errno says why) once until alert_recovery. */
void alert_failure(struct alert_listener *l, const char *what);
void alert_recovery(struct alert_listener *l, const char *what);

/* exec.c */
void alert_exec(struct alert_listener *l, const struct alert_event *ev);
void alert_exec_stop_all(struct fl_alerts *a);

/* Open each jsonl file again (fl_engine_reopen): how many could not be. */
int fl_alerts_reopen(fl_engine *e);

/* What the listeners did so far (the bans fields are left 0). */
fl_alert_stats fl_alerts_stats(const struct fl_alerts *a);

/* Route syslog lines to fn instead of syslog(3) (tests). */
void fl_alerts_set_syslog(fl_engine *e,
                          void (*fn)(void *arg, int priority, const char *line),
                          void *arg);

#endif
