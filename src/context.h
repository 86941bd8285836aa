/*
 * context.h - the engine context (fl_engine) as the library's layers share it.
 *
 * Public headers only name fl_engine; this is where its parts live. Each part
 * belongs to one layer (the kernel's bus and timers, the decisions' tables,
 * mod_ban's bans, ...) and the others reach it through that layer's
 * functions, not by touching its fields. doc/hacking.md draws the layers.
 */
#ifndef FL_CONTEXT_H
#define FL_CONTEXT_H

#include <ftplimit/engine.h>
#include <ftplimit/events.h>
#include <ftplimit/policy.h>
#include <ftplimit/timers.h>

#include "catalog/limits.h"
#include "decide/tables.h"
#include "kernel/kernel.h"
#include "policy/types.h"
#include "util/hash.h"

struct fl_bans;   /* modules/bans/bans.h */
struct fl_alerts; /* modules/alerts/alerts.h */

/* decide/session.c: end every live session (shutdown). */
void fl_sessions_end_all(fl_engine *e);

#define FL_ENGINE_MODULES_MAX 4

enum fl_engine_state { FL_ENGINE_NEW, FL_ENGINE_STARTED, FL_ENGINE_DOWN };

struct fl_engine {
    fl_hash_key hash_key;
    fl_clock_fn clock;
    void *clock_arg;

    struct fl_module *modules, *modules_tail;
    uint64_t module_seq;

    struct fl_event_bus bus;
    struct fl_timer_set timers;

    enum fl_engine_state state;

    fl_policy *policy; /* never NULL: the empty policy until one is loaded */
    fl_log_fn log_fn;
    void *log_arg;
    fl_error_fn report_fn; /* the load or reload under way's, or NULL */
    void *report_arg;
    bool no_alerts, no_ban_table, no_firewall, check_writes;
    struct fl_bans *bans;     /* mod_ban's state */
    struct fl_alerts *alerts; /* mod_alerts' state */
    struct fl_farm_claims *farm; /* the last decision's (decide/farm.h), or NULL */
    /* The engine's own modules (engine.c lists them) that may refuse a
     * client at connect or login (session.c asks them), and the policy's
     * parts: the parser's own, then the modules'. */
    const struct fl_engine_module *gates[FL_ENGINE_MODULES_MAX];
    unsigned ngates;
    const struct fl_policy_part *parts[FL_POLICY_PARTS_MAX];
    size_t nparts;
    uint64_t regex_overruns;       /* matches that ran past a pattern's budget ... */
    fl_usec regex_warned;          /* ... since the warning logged at this time */
    uint64_t refusals[FL_L_COUNT]; /* by enum fl_limit_id */
    uint64_t dry_refusals[FL_L_COUNT]; /* would-be refusals under DryRun */
    uint32_t policy_gen; /* bumped with each policy, never 0: what was worked
                            out under an older policy (hosts' GeoIP answers
                            and classes, a USER name's user) is again */
    struct fl_tables t;
};

/* The engine's clock, read where a decision needs the time. */
static inline fl_usec fl_now(fl_engine *e)
{
    return e->clock(e->clock_arg);
}

#endif
