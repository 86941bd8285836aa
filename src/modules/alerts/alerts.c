/*
 * alerts.c - OnEvent: alert listeners that run a program, write to syslog
 * or append JSON lines, for the events a pattern matches.
 *
 * Each OnEvent line becomes an engine module of its own, in policy order,
 * so load order is dispatch order and core.module-load announces it. Each
 * new policy gets new listeners, made before it is put in force (prepare:
 * a reload that fails changes nothing) and announced when it is, before
 * core.postparse: a jsonl file is reopened (logrotate moves it, a reload
 * starts a new one).
 *
 * AlertSuppress: within its window a listener sends one alert per event and
 * key (the host, user or class the event is about) and counts the repeats;
 * the next alert it sends says how many it held back.
 *
 * Nothing here is fatal. A file that cannot be written or a program that
 * cannot run is reported once through the engine's log, counted, and tried
 * again with the next alert.
 */
#include "config.h"

#include "modules/alerts/alerts.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ftplimit/bans.h>
#include <ftplimit/json.h>

#include "util/alloc.h"
#include "util/file.h"

#define SUPPRESS_MAX 100000 /* keys remembered per listener */

struct alert_tap {
    struct alert_listener *l;
    const char *event; /* static: from fl_event_names() */
};

struct suppress_entry {
    UT_hash_handle hh;
    fl_usec last_sent;
    long long held; /* repeats held back since */
    size_t keylen;
    char key[];
};

/* --- suppression ---------------------------------------------------------------- */

/* The key an event is about: its user, class, ban target or host. */
static const char *event_subject(const char *event, const fl_event_info *info)
{
    if (info->target != NULL)
        return info->target;
    if (strcmp(event, FL_EV_MAX_CLIENTS_PER_USER) == 0 ||
        strcmp(event, FL_EV_MAX_HOSTS_PER_USER) == 0)
        return info->user;
    if (strcmp(event, FL_EV_MAX_CLIENTS_PER_CLASS) == 0)
        return info->class_name;
    return info->address;
}

static void suppress_forget_old(fl_engine *e, struct alert_listener *l, fl_usec now)
{
    struct suppress_entry *s, *next;
    HASH_ITER(hh, l->suppressed, s, next)
    {
        if (now - s->last_sent >= fl_alerts_conf(e)->suppress) {
            HASH_DEL(l->suppressed, s);
            fl_free(s);
        }
    }
}

/* True to send this alert; false when it is a repeat to hold back. Sets
 * *held to the repeats held back before it. */
static bool suppress_check(fl_engine *e, struct alert_listener *l, const char *event,
                           const fl_event_info *info, long long *held)
{
    *held = 0;
    fl_usec window = fl_alerts_conf(e)->suppress;
    const char *subject = info != NULL ? event_subject(event, info) : NULL;
    if (window <= 0 || subject == NULL || (info->limit == NULL && info->ban == NULL))
        return true;

    char key[1024];
    int len = snprintf(key, sizeof key, "%s%c%s", event, '\0', subject);
    size_t keylen = len < (int)sizeof key ? (size_t)len : sizeof key - 1;
    fl_usec now = fl_now(e);
    const fl_hash_key *hash_key = &e->hash_key;
    struct suppress_entry *s;
    HASH_FIND(hh, l->suppressed, key, keylen, s);
    if (s != NULL && now - s->last_sent < window) {
        s->held++;
        return false;
    }
    if (s == NULL) {
        if (HASH_COUNT(l->suppressed) >= SUPPRESS_MAX)
            suppress_forget_old(e, l, now);
        s = fl_calloc(1, sizeof *s + keylen);
        if (s == NULL)
            return true; /* cannot remember: send */
        s->keylen = keylen;
        memcpy(s->key, key, keylen);
        HASH_ADD_KEYPTR(hh, l->suppressed, s->key, keylen, s);
        if (!FL_HASH_ADDED(s)) {
            fl_free(s);
            return true;
        }
    }
    *held = s->held;
    s->held = 0;
    s->last_sent = now;
    return true;
}

/* --- outputs ------------------------------------------------------------------- */

/* The event as a JSON object: the time, then what simulate prints. */
static char *event_json(const struct alert_event *ev)
{
    json_t *o = json_object();
    char when[32];
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&ev->wall, &tm));
    json_object_set_new(o, "time", json_string(when));
    fl_json_add_event(o, ev->name,
                      ev->info != NULL ? (const void *)ev->info : ev->module);
    if (ev->suppressed > 0)
        json_object_set_new(o, "suppressed", json_integer(ev->suppressed));
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return text;
}

/* 0, or -1 with the reason in l->open_errno (reported once). */
static int open_jsonl(struct alert_listener *l)
{
    l->fd = fl_file_open_write(l->path, true);
    l->open_errno = l->fd < 0 ? errno : 0;
    if (l->fd < 0) {
        char what[4200];
        snprintf(what, sizeof what, "cannot open %s", l->path);
        alert_failure(l, what);
    }
    return l->fd < 0 ? -1 : 0;
}

static void alert_jsonl(struct alert_listener *l, const struct alert_event *ev)
{
    char *text = event_json(ev);
    if (text == NULL)
        return;
    size_t len = strlen(text);
    text[len] = '\n'; /* replaces the NUL: the line is written as one write */
    if (l->fd < 0)
        open_jsonl(l);
    if (l->fd >= 0) {
        struct stat st;
        off_t before = fstat(l->fd, &st) == 0 ? st.st_size : -1;
        ssize_t n = write(l->fd, text, len + 1);
        if (n == (ssize_t)len + 1) {
            l->owner->stats.sent[l->sink]++;
            alert_recovery(l, l->path);
        } else {
            int err = n >= 0 ? ENOSPC : errno; /* a short write: the disk is full */
            /* Never a part of a line that the next one would be glued to. */
            if (n > 0 && before >= 0 && ftruncate(l->fd, before) < 0)
                err = errno;
            errno = err;
            char what[4200];
            snprintf(what, sizeof what, "cannot write %s", l->path);
            alert_failure(l, what);
            close(l->fd);
            l->fd = -1;
        }
    }
    free(text);
}

/* key=value, the value quoted when it holds a space or a quote, and every
 * byte outside printable ASCII escaped (\xNN, as fl_text_escape writes
 * them; C1 controls and invalid UTF-8 included): a user name cannot forge
 * a second log line, nor reach a log reader's terminal. */
static size_t put_field(char *buf, size_t size, size_t o, const char *key,
                        const char *value)
{
    if (value == NULL || o >= size)
        return o;
    bool quote = strpbrk(value, " \"") != NULL || value[0] == '\0';
    o += (size_t)snprintf(buf + o, size - o, " %s=%s", key, quote ? "\"" : "");
    for (const unsigned char *p = (const unsigned char *)value;
         *p != '\0' && o + 5 < size; p++) {
        if (*p < 0x20 || *p >= 0x7f || *p == '\\' || *p == '"')
            o += (size_t)snprintf(buf + o, size - o,
                                  *p == '\\'  ? "\\\\"
                                  : *p == '"' ? "\\\""
                                              : "\\x%02x",
                                  *p);
        else
            buf[o++] = (char)*p;
    }
    if (quote && o + 1 < size)
        buf[o++] = '"';
    buf[o < size ? o : size - 1] = '\0';
    return o;
}

/* The one-line form of an alert (syslog). */
static void alert_line(const struct alert_event *ev, char *buf, size_t size)
{
    size_t o = (size_t)snprintf(buf, size, "%s", ev->name);
    const fl_event_info *i = ev->info;
    char num[32];
    if (i != NULL) {
        o = put_field(buf, size, o, "sid", i->sid);
        o = put_field(buf, size, o, "address", i->address);
        o = put_field(buf, size, o, "user", i->user);
        o = put_field(buf, size, o, "class", i->class_name);
        o = put_field(buf, size, o, "server", i->server);
        o = put_field(buf, size, o, "limit", i->limit);
        if (i->max >= 0)
            o = put_field(buf, size, o, "max",
                          (snprintf(num, sizeof num, "%lld", i->max), num));
        if (i->count >= 0)
            o = put_field(buf, size, o, "count",
                          (snprintf(num, sizeof num, "%lld", i->count), num));
        o = put_field(buf, size, o, "country", i->country);
        if (i->asn != 0)
            o = put_field(buf, size, o, "asn",
                          (snprintf(num, sizeof num, "%u", (unsigned)i->asn), num));
        o = put_field(buf, size, o, "ban", i->ban);
        o = put_field(buf, size, o, "target", i->target);
        if (i->duration > 0)
            o = put_field(buf, size, o, "duration",
                          (snprintf(num, sizeof num, "%lld", i->duration), num));
        if (i->dry_run)
            o = put_field(buf, size, o, "dry_run", "yes");
    }
    o = put_field(buf, size, o, "module", ev->module);
    if (ev->suppressed > 0 && o < size)
        snprintf(buf + o, size - o, " (%lld similar suppressed)", ev->suppressed);
}

/* The line as it is: the process's syslog ident (ftplimitd's, or an
 * embedding server's) names who sent it. */
static void syslog_write(void *arg, int priority, const char *line)
{
    (void)arg;
    syslog(priority, "%s", line);
}

/* syslog(3) says nothing when no syslog daemon listens: an alert that
 * cannot reach one is counted failed, and said once until one listens. */
static void alert_syslog(struct alert_listener *l, const struct alert_event *ev)
{
    struct fl_alerts *a = l->owner;
    if (a->syslog_fn == syslog_write && !fl_syslog_reachable()) {
        a->stats.failed[l->sink]++;
        if (!a->syslog_down)
            fl_log(a->e, LOG_WARNING,
                   "OnEvent syslog: no syslog daemon listens on /dev/log: alerts to "
                   "syslog fail until one does");
        a->syslog_down = true;
        return;
    }
    if (a->syslog_down && a->syslog_fn == syslog_write)
        fl_log(a->e, LOG_NOTICE, "OnEvent syslog: a syslog daemon listens again");
    a->syslog_down = false;
    char line[2048];
    alert_line(ev, line, sizeof line);
    a->syslog_fn(a->syslog_arg, l->syslog_priority, line);
    a->stats.sent[l->sink]++;
}

void fl_alerts_set_syslog(fl_engine *e,
                          void (*fn)(void *arg, int priority, const char *line),
                          void *arg)
{
    e->alerts->syslog_fn = fn != NULL ? fn : syslog_write;
    e->alerts->syslog_arg = arg;
}

/* --- listening ------------------------------------------------------------------- */

static void on_alert(const void *event_data, void *user_data)
{
    const struct alert_tap *tap = user_data;
    struct alert_listener *l = tap->l;
    fl_engine *e = l->owner->e;
    const fl_event_info *info = fl_event_info_of(tap->event, event_data);
    struct alert_event ev = {
        .name = tap->event,
        .info = info,
        .module = info == NULL && (strcmp(tap->event, FL_EV_MODULE_LOAD) == 0 ||
                                   strcmp(tap->event, FL_EV_MODULE_UNLOAD) == 0 ||
                                   strcmp(tap->event, FL_EV_CREATE_HOME) == 0)
                      ? event_data
                      : NULL,
        .wall = time(NULL),
    };
    if (!suppress_check(e, l, tap->event, info, &ev.suppressed)) {
        l->owner->stats.suppressed[l->sink]++;
        return;
    }
    switch (l->sink) {
    case FL_ALERT_EXEC:
        alert_exec(l, &ev);
        break;
    case FL_ALERT_SYSLOG:
        alert_syslog(l, &ev);
        break;
    case FL_ALERT_JSONL:
        alert_jsonl(l, &ev);
        break;
    case FL_ALERT_OUTPUTS:
        break;
    }
}

static void listener_free(struct fl_alerts *a, struct alert_listener *l, bool announce)
{
    if (l->module != NULL)
        fl_module_unload_builtin(a->e, l->module, announce); /* drops its listeners */
    if (l->fd >= 0)
        close(l->fd);
    struct suppress_entry *s, *next;
    HASH_ITER(hh, l->suppressed, s, next)
    {
        HASH_DEL(l->suppressed, s);
        fl_free(s);
    }
    for (size_t i = 0; l->argv != NULL && l->argv[i] != NULL; i++)
        fl_free(l->argv[i]);
    fl_free(l->argv);
    fl_free(l->pattern);
    fl_free(l->path);
    fl_free(l->taps);
    fl_free(l);
}

/* The listener for spec, loaded and listening but not yet announced nor
 * writing (its file is opened and its module's core.module-load generated
 * when its policy is put in force). */
static struct alert_listener *listener_new(struct fl_alerts *a,
                                           const fl_alert_spec *spec, size_t number)
{
    struct alert_listener *l = fl_calloc(1, sizeof *l);
    if (l == NULL)
        return NULL;
    l->owner = a;
    l->fd = -1;
    l->sink = spec->sink;
    l->syslog_priority = spec->syslog_priority;
    l->pattern = fl_strdup(spec->pattern);
    bool failed = l->pattern == NULL;
    if (spec->path != NULL && (l->path = fl_strdup(spec->path)) == NULL)
        failed = true;
    size_t argc = 0;
    while (spec->argv != NULL && spec->argv[argc] != NULL)
        argc++;
    if (spec->argv != NULL && (l->argv = fl_calloc(argc + 1, sizeof *l->argv)) == NULL)
        failed = true;
    for (size_t i = 0; !failed && i < argc; i++)
        failed = (l->argv[i] = fl_strdup(spec->argv[i])) == NULL;

    const char *const *names = fl_event_names();
    size_t nnames = 0;
    while (names[nnames] != NULL)
        nnames++;
    if (!failed && (l->taps = fl_calloc(nnames, sizeof *l->taps)) == NULL)
        failed = true;

    char name[64];
    snprintf(name, sizeof name, "onevent#%u.%zu:%s", a->generation + 1, number + 1,
             fl_alert_output_name(spec->sink));
    if (!failed && (l->module = fl_module_load_builtin(a->e, name, false)) == NULL)
        failed = true;
    for (size_t i = 0; !failed && i < nnames; i++) {
        if (fnmatch(l->pattern, names[i], 0) != 0)
            continue;
        struct alert_tap *tap = &l->taps[l->ntaps++];
        tap->l = l;
        tap->event = names[i];
        failed = fl_event_register(a->e, l->module, names[i], on_alert, tap) < 0;
    }
    if (failed) {
        listener_free(a, l, false);
        return NULL;
    }
    return l;
}

static void listeners_free(struct alert_listener **list, size_t n, bool announce)
{
    for (size_t i = 0; i < n; i++)
        listener_free(list[i]->owner, list[i], announce);
    fl_free(list);
}

/* The listeners of a policy to come. */
struct listeners_next {
    struct alert_listener **list;
    size_t n;
};

static int prepare(fl_engine *e, const fl_policy *p, void **prepared)
{
    struct fl_alerts *a = e->alerts;
    const struct fl_alert_conf *c = fl_policy_conf(p, &fl_alerts_part);
    struct listeners_next *next = fl_calloc(1, sizeof *next);
    if (next == NULL)
        return -1;
    size_t n = e->no_alerts ? 0 : c->nspecs;
    if (n > 0 && (next->list = fl_calloc(n, sizeof *next->list)) == NULL) {
        fl_free(next);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        struct alert_listener *l = listener_new(a, &c->specs[i], i);
        if (l == NULL) {
            listeners_free(next->list, next->n, false);
            fl_free(next);
            errno = ENOMEM;
            return -1;
        }
        next->list[next->n++] = l;
    }
    *prepared = next;
    return 0;
}

/* The policy's listeners replace the old ones: the old unloaded, the new
 * announced (core.module-unload, then core.module-load, in policy order)
 * with their files open (a file that cannot be opened is reported and
 * tried again with each alert). */
static void commit(fl_engine *e, void *prepared)
{
    struct fl_alerts *a = e->alerts;
    struct listeners_next *next = prepared;
    listeners_free(a->list, a->n, true);
    a->list = next->list;
    a->n = next->n;
    a->generation++;
    fl_free(next);
    for (size_t i = 0; i < a->n; i++) {
        struct alert_listener *l = a->list[i];
        if (l->sink != FL_ALERT_JSONL || open_jsonl(l) == 0)
            continue;
        fl_report(
            e, "OnEvent %s jsonl %s: cannot open it: %s (tried again with each alert)",
            l->pattern, l->path, strerror(l->open_errno));
    }
    for (size_t i = 0; i < a->n; i++)
        fl_module_announce(e, a->list[i]->module);
}

static void abort_prepared(fl_engine *e, void *prepared)
{
    (void)e;
    struct listeners_next *next = prepared;
    listeners_free(next->list, next->n, false);
    fl_free(next);
}

static int init(fl_engine *e)
{
    struct fl_alerts *a = fl_calloc(1, sizeof *a);
    if (a == NULL)
        return -1;
    e->alerts = a;
    a->e = e;
    a->reaper_timer = -1;
    a->syslog_fn = syslog_write;
    a->base = fl_module_load_builtin(e, "mod_alerts", true);
    return a->base != NULL ? 0 : -1;
}

static void alerts_free(fl_engine *e)
{
    struct fl_alerts *a = e->alerts;
    if (a == NULL)
        return;
    alert_exec_stop_all(a);
    listeners_free(a->list, a->n, false);
    fl_free(a);
    e->alerts = NULL;
}

const struct fl_engine_module fl_alerts_module = {
    .name = "mod_alerts",
    .part = &fl_alerts_part,
    .init = init,
    .free = alerts_free,
    .prepare = prepare,
    .commit = commit,
    .abort = abort_prepared,
};

int fl_alerts_reopen(fl_engine *e)
{
    struct fl_alerts *a = e->alerts;
    int failed = 0;
    for (size_t i = 0; a != NULL && i < a->n; i++) {
        struct alert_listener *l = a->list[i];
        if (l->sink != FL_ALERT_JSONL)
            continue;
        if (l->fd >= 0)
            close(l->fd);
        l->fd = -1;
        if (open_jsonl(l) < 0) /* reported once by alert_failure() */
            failed++;
    }
    return failed;
}

fl_alert_stats fl_alerts_stats(const struct fl_alerts *a)
{
    fl_alert_stats out = a->stats;
    out.running = a->running;
    return out;
}
