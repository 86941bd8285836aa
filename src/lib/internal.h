/*
 * internal.h - the engine context as the library's files share it.
 *
 * Public headers only name fl_engine; this is where its parts live. Each part
 * belongs to one file (events.c, timers.c, module.c, ...) and the others reach
 * it through that file's functions, not by touching its fields.
 */
#ifndef FL_INTERNAL_H
#define FL_INTERNAL_H

#include <ftplimit/engine.h>
#include <ftplimit/events.h>
#include <ftplimit/timers.h>

#include "hash.h"
#include "policy_types.h"
#include "tables.h"

/* module.c */
struct fl_module {
    struct fl_module *next, *prev;
    uint64_t order; /* position in load order; lower loads earlier */
    char name[];
};

/* Listeners of the core (module NULL) run after every module's. */
#define FL_CORE_ORDER UINT64_MAX
void fl_modules_free(fl_engine *e);

/* events.c */
struct fl_event_slot;
struct fl_event_bus {
    struct fl_event_slot *slots; /* uthash by event name */
    uint64_t seq;                /* registrations so far */
};
void fl_event_bus_free(fl_engine *e);

/* timers.c */
struct fl_timer;
struct fl_timer_set {
    struct fl_timer **heap; /* min-heap by (deadline, seq) */
    size_t len, cap;
    struct fl_timer *by_no; /* uthash by timer number */
    struct fl_timer *running;
    int next_dynamic;
    int blocked;
    bool pending; /* a run was asked for while blocked */
    uint64_t seq;
};
void fl_timer_set_free(fl_engine *e);

/* session.c: end every live session (shutdown). */
void fl_sessions_end_all(fl_engine *e);

/* How many enum fl_limit_id values there are (limit.h), for the counters. */
#define FL_LIMIT_KINDS 16

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
    uint64_t refusals[FL_LIMIT_KINDS];     /* by enum fl_limit_id */
    uint64_t dry_refusals[FL_LIMIT_KINDS]; /* would-be refusals under DryRun */
    uint32_t geo_gen; /* bumped with each policy: hosts' GeoIP answers older
                         than the policy in force are looked up again */
    struct fl_tables t;
};

#endif
