/*
 * engine.c - the facade: an engine's creation, policy loads and reloads,
 * lifecycle and teardown.
 *
 * The top of the library (doc/hacking.md): the one file that knows every
 * layer. The lifecycle follows ProFTPD's order of events (see
 * ftplimit/engine.h); this file owns the order, the parts it calls own
 * their own state.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <ftplimit/bans.h>
#include <ftplimit/policy.h>

#include "context.h"
#include "modules/alerts/alerts.h"
#include "modules/bans/bans.h"
#include "policy/parser.h"
#include "util/alloc.h"

/* The engine's own modules, in load order (kernel/kernel.h says what a
 * module does). */
static const struct fl_engine_module *const modules[] = {
    &fl_bans_module,
    &fl_alerts_module,
};
#define NMODULES (sizeof modules / sizeof modules[0])
_Static_assert(NMODULES <= FL_ENGINE_MODULES_MAX && NMODULES + 1 <= FL_POLICY_PARTS_MAX,
               "raise FL_ENGINE_MODULES_MAX and FL_POLICY_PARTS_MAX");

fl_engine *fl_engine_new(const fl_engine_options *opts)
{
    fl_engine *e = fl_calloc(1, sizeof *e);
    if (e == NULL)
        return NULL;

    e->clock = fl_clock_monotonic;
    if (opts != NULL && opts->clock != NULL) {
        e->clock = opts->clock;
        e->clock_arg = opts->clock_arg;
    }

    if (opts != NULL && opts->hash_seed != NULL) {
        fl_hash_key_from_bytes(&e->hash_key, opts->hash_seed);
    } else if (fl_hash_key_random(&e->hash_key) < 0) {
        int saved = errno;
        fl_free(e);
        errno = saved;
        return NULL;
    }

    e->parts[e->nparts++] = &fl_policy_core_part; /* the parser's own directives */
    for (size_t i = 0; i < NMODULES; i++) {
        const struct fl_engine_module *m = modules[i];
        if (m->at_connect != NULL)
            e->gates[e->ngates++] = m;
        if (m->part != NULL)
            e->parts[e->nparts++] = m->part;
    }
    e->policy = fl_policy_new(e->parts, e->nparts);
    if (e->policy == NULL) {
        fl_free(e);
        errno = ENOMEM;
        return NULL;
    }
    if (fl_tables_init(e) < 0) {
        fl_policy_free(e->policy);
        fl_free(e);
        errno = ENOMEM;
        return NULL;
    }
    e->policy_gen = 1;
    e->state = FL_ENGINE_NEW;
    e->no_alerts = opts != NULL && opts->no_alerts;
    e->no_ban_table = opts != NULL && opts->no_ban_table;
    e->no_firewall = opts != NULL && opts->no_firewall;
    e->check_writes = opts != NULL && opts->check_writes;
    for (size_t i = 0; i < NMODULES; i++) {
        if (modules[i]->init(e) < 0) {
            int saved = errno;
            fl_engine_free(e);
            errno = saved;
            return NULL;
        }
    }
    return e;
}

void fl_engine_free(fl_engine *e)
{
    if (e == NULL)
        return;
    for (size_t i = NMODULES; i-- > 0;)
        modules[i]->free(e);
    fl_tables_free(e);
    fl_free(e->farm);
    fl_policy_free(e->policy);
    fl_timer_set_free(e);
    fl_event_bus_free(e);
    fl_modules_free(e);
    fl_free(e);
}

int fl_engine_startup(fl_engine *e)
{
    if (e == NULL) {
        errno = EINVAL;
        return -1;
    }
    if (e->state != FL_ENGINE_NEW) {
        errno = EALREADY;
        return -1;
    }
    e->state = FL_ENGINE_STARTED;
    fl_event_generate(e, FL_EV_STARTUP, NULL);
    return 0;
}

void fl_engine_shutdown(fl_engine *e)
{
    if (e == NULL || e->state == FL_ENGINE_DOWN)
        return;
    fl_sessions_end_all(e);
    e->state = FL_ENGINE_DOWN;
    fl_event_generate(e, FL_EV_EXIT, NULL);
    fl_event_generate(e, FL_EV_SHUTDOWN, NULL);
}

/* Put p in force, or change nothing: every module prepares for it and the
 * tables adopt it, then each module commits; if any of them fails, those
 * that prepared abort and p is freed. */
static int engine_adopt(fl_engine *e, fl_policy *p, fl_error_fn err, void *arg)
{
    void *prepared[NMODULES] = {NULL};
    size_t ready = 0;
    while (ready < NMODULES && modules[ready]->prepare(e, p, &prepared[ready]) == 0)
        ready++;
    if (ready < NMODULES || fl_tables_adopt_policy(e, p) < 0) {
        while (ready-- > 0)
            modules[ready]->abort(e, prepared[ready]);
        fl_policy_free(p);
        errno = ENOMEM;
        return -1;
    }
    fl_policy *old = e->policy;
    e->policy = p;
    if (++e->policy_gen == 0)
        e->policy_gen = 1;
    e->report_fn = err;
    e->report_arg = arg;
    for (size_t i = 0; i < NMODULES; i++)
        modules[i]->commit(e, prepared[i]);
    e->report_fn = NULL;
    fl_policy_free(old);
    return 0;
}

/* core.preparse, parse, and on success core.postparse with the new policy in
 * force. The old policy stays, whole, when the parse or any part of putting
 * the new one in force fails. */
static int engine_parse(fl_engine *e, const char *path, fl_error_fn err, void *arg)
{
    fl_event_generate(e, FL_EV_PREPARSE, NULL);
    fl_policy *p = path != NULL ? fl_policy_parse(path, e->parts, e->nparts, err, arg,
                                                  e->policy, e->check_writes)
                                : fl_policy_new(e->parts, e->nparts);
    if (p == NULL) {
        if (path == NULL && err != NULL)
            err(arg, "out of memory");
        errno = EINVAL;
        return -1;
    }
    if (engine_adopt(e, p, err, arg) < 0) {
        if (err != NULL)
            err(arg, "out of memory");
        return -1;
    }
    fl_event_generate(e, FL_EV_POSTPARSE, NULL);
    return 0;
}

int fl_engine_load(fl_engine *e, const char *path, fl_error_fn err, void *arg)
{
    if (e == NULL || e->state == FL_ENGINE_DOWN) {
        errno = EINVAL;
        return -1;
    }
    return engine_parse(e, path, err, arg);
}

int fl_engine_reload(fl_engine *e, const char *path, fl_error_fn err, void *arg)
{
    if (e == NULL || e->state == FL_ENGINE_DOWN) {
        errno = EINVAL;
        return -1;
    }
    char *again = NULL;
    if (path == NULL && e->policy->path != NULL) {
        again = fl_strdup(e->policy->path); /* freed with the old policy */
        if (again == NULL)
            return -1;
        path = again;
    }
    fl_event_generate(e, FL_EV_RESTART, NULL);
    int rc = engine_parse(e, path, err, arg);
    fl_free(again);
    return rc;
}

const char *fl_engine_policy_path(fl_engine *e)
{
    return e != NULL ? e->policy->path : NULL;
}

void fl_policy_describe(fl_engine *e, void (*out)(void *arg, const char *line),
                        void *arg)
{
    if (e != NULL && out != NULL)
        fl_policy_lines(e->policy, out, arg);
}

int fl_engine_reopen(fl_engine *e)
{
    return e != NULL ? fl_alerts_reopen(e) : 0;
}

void fl_engine_alert_stats(fl_engine *e, fl_alert_stats *out)
{
    memset(out, 0, sizeof *out);
    if (e == NULL || e->alerts == NULL)
        return;
    *out = fl_alerts_stats(e->alerts);
    out->bans_made = e->bans->made;
    out->bans_expired = e->bans->expired;
    out->bans = fl_ban_list(e, NULL, 0);
    out->ban_save_failures = e->bans->save_failures;
}
