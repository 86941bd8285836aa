/*
 * modules/alerts/alerts.h - the OnEvent listeners, as alerts.c, exec.c and
 * listener.c share them.
 */
#ifndef FL_ALERTS_H
#define FL_ALERTS_H

#include "context.h"

struct alert_tap;
struct suppress_entry;
struct exec_child;

/* One OnEvent line: an engine module of its own, with copies of what it
 * needs (the policy it came from may be freed before it is). */
struct alert_listener {
    struct fl_alerts *owner;
    fl_module *module;
    enum fl_alert_sink sink;
    char *pattern;
    char **argv;         /* exec */
    int syslog_priority; /* syslog */
    char *path;          /* jsonl */
    int fd;              /* jsonl, -1 when closed */
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
    void (*syslog_fn)(void *arg, int priority, const char *line);
    void *syslog_arg;
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

/* Load mod_alerts into e (it rebuilds the listeners from each policy);
 * free its state. */
int fl_alerts_init(fl_engine *e);
void fl_alerts_free(fl_engine *e);

/* What the listeners did so far (the bans fields are left 0). */
fl_alert_stats fl_alerts_stats(const struct fl_alerts *a);

/* Route syslog lines to fn instead of syslog(3) (tests). */
void fl_alerts_set_syslog(fl_engine *e,
                          void (*fn)(void *arg, int priority, const char *line),
                          void *arg);

#endif
