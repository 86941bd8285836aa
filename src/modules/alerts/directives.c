/*
 * modules/alerts/directives.c - mod_alerts' directives (OnEvent,
 * AlertSuppress, ExecTimeout, ExecMaxRunning) and its settings in a policy
 * (doc/listeners.md).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ftplimit/json.h>

#include "modules/alerts/alerts.h"
#include "util/alloc.h"

static const struct {
    const char *name;
    int value;
} facilities[] = {{"auth", 4 << 3},    {"authpriv", 10 << 3}, {"cron", 9 << 3},
                  {"daemon", 3 << 3},  {"ftp", 11 << 3},      {"kern", 0},
                  {"local0", 16 << 3}, {"local1", 17 << 3},   {"local2", 18 << 3},
                  {"local3", 19 << 3}, {"local4", 20 << 3},   {"local5", 21 << 3},
                  {"local6", 22 << 3}, {"local7", 23 << 3},   {"lpr", 6 << 3},
                  {"mail", 2 << 3},    {"news", 7 << 3},      {"syslog", 5 << 3},
                  {"user", 1 << 3},    {"uucp", 8 << 3}},
  priorities[] = {{"emerg", 0}, {"alert", 1},   {"crit", 2}, {"err", 3},
                  {"error", 3}, {"warning", 4}, {"warn", 4}, {"notice", 5},
                  {"info", 6},  {"debug", 7}};

int fl_syslog_priority_parse(const char *text, int *out)
{
    const char *dot = strchr(text, '.');
    int f = -1, pr = -1;
    for (size_t i = 0; dot != NULL && i < sizeof facilities / sizeof facilities[0];
         i++) {
        if (strlen(facilities[i].name) == (size_t)(dot - text) &&
            strncasecmp(text, facilities[i].name, (size_t)(dot - text)) == 0)
            f = facilities[i].value;
    }
    for (size_t i = 0; dot != NULL && i < sizeof priorities / sizeof priorities[0];
         i++) {
        if (strcasecmp(dot + 1, priorities[i].name) == 0)
            pr = priorities[i].value;
    }
    if (f < 0 || pr < 0)
        return -1;
    *out = f | pr;
    return 0;
}

void fl_syslog_priority_format(int priority, char *buf, size_t size)
{
    const char *f = "?", *pr = "?";
    for (size_t i = 0; i < sizeof facilities / sizeof facilities[0]; i++) {
        if (facilities[i].value == (priority & ~7))
            f = facilities[i].name;
    }
    for (size_t i = sizeof priorities / sizeof priorities[0]; i-- > 0;) {
        if (priorities[i].value == (priority & 7))
            pr = priorities[i].name;
    }
    snprintf(buf, size, "%s.%s", f, pr);
}

/* OnEvent PATTERN exec PROGRAM [ARG...] | syslog [facility.priority] | jsonl PATH */
static void h_on_event(struct fl_parser *p, const struct fl_args *a,
                       const struct fl_directive *d)
{
    static const char usage[] = "PATTERN exec PROGRAM [ARG...] | PATTERN syslog "
                                "[facility.priority] | PATTERN jsonl PATH";
    if (!fl_check_argc(p, d, a, 2, FL_ARGS_MAX - 1, usage))
        return;
    const char *pattern = a->v[1].text, *sink = a->v[2].text;
    if (!fl_event_pattern_matches(pattern)) {
        fl_perr(p,
                "OnEvent: '%s' matches no event (names such as "
                "mod_auth.max-clients-per-host, "
                "globs such as 'mod_auth.*' or '*')",
                FL_SHOWN(pattern));
        return;
    }
    struct fl_alert_conf *conf = fl_parser_conf(p);
    fl_alert_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.line = fl_parser_line(p);
    spec.syslog_priority = (3 << 3) | 5; /* daemon.notice */

    if (strcasecmp(sink, "exec") == 0) {
        if (a->n < 4 || a->v[3].text[0] != '/') {
            fl_perr(
                p,
                "OnEvent: exec needs a program given by its absolute path; usage: %s "
                "%s",
                d->name, usage);
            return;
        }
        /* access() alone would let root "execute" any file, and anyone a
         * directory. */
        struct stat st;
        const char *why = stat(a->v[3].text, &st) != 0 ? strerror(errno)
                          : !S_ISREG(st.st_mode)       ? "not a regular file"
                          : (st.st_mode & 0111) == 0 || access(a->v[3].text, X_OK) != 0
                              ? "not executable"
                              : NULL;
        if (why != NULL) {
            fl_perr(p, "OnEvent: cannot execute '%s': %s", FL_SHOWN(a->v[3].text), why);
            return;
        }
        spec.sink = FL_ALERT_EXEC;
        spec.argv = fl_calloc((size_t)a->n - 2, sizeof *spec.argv);
        for (int i = 3; spec.argv != NULL && i < a->n; i++) {
            if ((spec.argv[i - 3] = fl_strdup(a->v[i].text)) == NULL) {
                for (int j = 0; j < i - 3; j++)
                    fl_free(spec.argv[j]);
                fl_free(spec.argv);
                spec.argv = NULL;
            }
        }
        if (spec.argv == NULL) {
            fl_parser_oom(p);
            return;
        }
    } else if (strcasecmp(sink, "syslog") == 0) {
        if (a->n > 4) {
            fl_perr(p,
                    "OnEvent: syslog takes at most a facility.priority; usage: %s %s",
                    d->name, usage);
            return;
        }
        if (a->n == 4 &&
            fl_syslog_priority_parse(a->v[3].text, &spec.syslog_priority) < 0) {
            fl_perr(
                p,
                "OnEvent: bad syslog facility.priority '%s' (such as daemon.notice or "
                "local3.warning)",
                FL_SHOWN(a->v[3].text));
            return;
        }
        spec.sink = FL_ALERT_SYSLOG;
    } else if (strcasecmp(sink, "jsonl") == 0) {
        if (a->n != 4) {
            fl_perr(p, "OnEvent: jsonl needs exactly one path; usage: %s %s", d->name,
                    usage);
            return;
        }
        spec.sink = FL_ALERT_JSONL;
        if ((spec.path = fl_policy_path(p, a->v[3].text)) == NULL)
            return;
    } else {
        fl_perr(p, "OnEvent: unknown listener '%s' (expected exec, syslog or jsonl)",
                FL_SHOWN(sink));
        return;
    }

    spec.pattern = fl_strdup(pattern);
    fl_alert_spec *list = fl_realloc(conf->specs, (conf->nspecs + 1) * sizeof *list);
    if (spec.pattern == NULL || list == NULL) {
        if (list != NULL)
            conf->specs = list;
        fl_free(spec.pattern);
        fl_free(spec.path);
        for (size_t j = 0; spec.argv != NULL && spec.argv[j] != NULL; j++)
            fl_free(spec.argv[j]);
        fl_free(spec.argv);
        fl_parser_oom(p);
        return;
    }
    conf->specs = list;
    list[conf->nspecs++] = spec;
}

/* AlertSuppress SECONDS, ExecTimeout SECONDS, ExecMaxRunning N */
static void h_alert_number(struct fl_parser *p, const struct fl_args *a,
                           const struct fl_directive *d)
{
    if (!fl_check_argc(p, d, a, 1, 1, d->offset == 2 ? "count" : "seconds"))
        return;
    struct fl_alert_conf *conf = fl_parser_conf(p);
    long long v;
    switch (d->offset) {
    case 0:
        if (fl_parse_count(p, d, &a->v[1], 0, 86400, false, &v))
            conf->suppress = v * FL_USEC_PER_SEC;
        break;
    case 1:
        if (fl_parse_count(p, d, &a->v[1], 1, 3600, false, &v))
            conf->exec_timeout = v * FL_USEC_PER_SEC;
        break;
    default:
        if (fl_parse_count(p, d, &a->v[1], 1, 1000, false, &v))
            conf->exec_max_running = (unsigned)v;
        break;
    }
}

const char *fl_alert_output_name(fl_alert_output o)
{
    static const char *const names[FL_ALERT_OUTPUTS] = {"exec", "syslog", "jsonl"};
    return (unsigned)o < FL_ALERT_OUTPUTS ? names[o] : "unknown";
}

static void *conf_new(void)
{
    struct fl_alert_conf *c = fl_calloc(1, sizeof *c);
    if (c != NULL) {
        c->exec_timeout = FL_DEFAULT_EXEC_TIMEOUT;
        c->exec_max_running = FL_DEFAULT_EXEC_MAX_RUNNING;
    }
    return c;
}

static void conf_free(void *v)
{
    struct fl_alert_conf *c = v;
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->nspecs; i++) {
        fl_alert_spec *a = &c->specs[i];
        fl_free(a->pattern);
        for (size_t j = 0; a->argv != NULL && a->argv[j] != NULL; j++)
            fl_free(a->argv[j]);
        fl_free(a->argv);
        fl_free(a->path);
    }
    fl_free(c->specs);
    fl_free(c);
}

static void describe(const void *v, void (*out)(void *, const char *), void *arg)
{
    const struct fl_alert_conf *c = v;
    char buf[1024];
    bool exec = false;
    for (size_t i = 0; i < c->nspecs; i++) {
        const fl_alert_spec *a = &c->specs[i];
        size_t o = (size_t)snprintf(buf, sizeof buf, "OnEvent %s %s", a->pattern,
                                    fl_alert_output_name(a->sink));
        for (size_t j = 0; a->argv != NULL && a->argv[j] != NULL && o < sizeof buf; j++)
            o += (size_t)snprintf(buf + o, sizeof buf - o, " %s", a->argv[j]);
        if (a->sink == FL_ALERT_SYSLOG && o < sizeof buf) {
            char prio[32];
            fl_syslog_priority_format(a->syslog_priority, prio, sizeof prio);
            o += (size_t)snprintf(buf + o, sizeof buf - o, " %s", prio);
        }
        if (a->path != NULL && o < sizeof buf)
            snprintf(buf + o, sizeof buf - o, " %s", a->path);
        out(arg, buf);
        exec = exec || a->sink == FL_ALERT_EXEC;
    }
    if (c->suppress > 0) {
        snprintf(buf, sizeof buf, "AlertSuppress %lld",
                 (long long)(c->suppress / FL_USEC_PER_SEC));
        out(arg, buf);
    }
    if (exec) {
        snprintf(buf, sizeof buf, "ExecTimeout %lld, ExecMaxRunning %u",
                 (long long)(c->exec_timeout / FL_USEC_PER_SEC), c->exec_max_running);
        out(arg, buf);
    }
}

static const struct fl_directive directives[] = {
    {"OnEvent", FL_TOP, h_on_event, 0},
    {"AlertSuppress", FL_TOP, h_alert_number, 0},
    {"ExecTimeout", FL_TOP, h_alert_number, 1},
    {"ExecMaxRunning", FL_TOP, h_alert_number, 2},
};

const struct fl_policy_part fl_alerts_part = {
    .name = "mod_alerts",
    .directives = directives,
    .ndirectives = sizeof directives / sizeof directives[0],
    .conf_new = conf_new,
    .conf_free = conf_free,
    .describe = describe,
};
