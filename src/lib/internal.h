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
    bool builtin;   /* the engine's own (mod_ban, OnEvent listeners): only the
                       engine unloads it */
    char name[];
};

/* Load or unload one of the engine's own modules; announce false unloads
 * without core.module-unload (the engine is being freed: nobody may hear). */
fl_module *fl_module_load_builtin(fl_engine *e, const char *name);
void fl_module_unload_builtin(fl_engine *e, fl_module *m, bool announce);

/* Listeners of the core (module NULL) run after every module's. */
#define FL_CORE_ORDER UINT64_MAX
void fl_modules_free(fl_engine *e);

/* events.c */
struct fl_event_slot;
/* A recent answer of the slot lookup for one name (see events.c). */
#define FL_SLOT_CACHE_SIZE 8
#define FL_SLOT_CACHE_NAME 40
struct fl_slot_cache {
    const char *event; /* the caller's pointer, NULL when unused */
    struct fl_event_slot *slot;
    uint64_t gen;
    char name[FL_SLOT_CACHE_NAME];
};
struct fl_event_bus {
    struct fl_event_slot *slots; /* uthash by event name */
    uint64_t seq;                /* registrations so far */
    uint64_t gen;                /* slots created or freed so far */
    unsigned depth;              /* generates under way (nested) */
    struct fl_slot_cache cache[FL_SLOT_CACHE_SIZE];
};
void fl_event_bus_free(fl_engine *e);
/* fl_event_listening() for the engine's own names (FL_EV_* and the limits'
 * events): string constants, whose bytes never change under their pointer,
 * so a cached answer for the pointer is taken without reading the name. */
int fl_event_listening_constant(fl_engine *e, const char *event);

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

/* bans.c */
struct fl_ban;
struct fl_ban_counter;
struct fl_ban_rule_copy;
struct fl_ban_tap;
struct fl_bans {
    struct fl_ban *table;            /* uthash by kind and target */
    struct fl_ban_counter *counters; /* BanOnEvent occurrences, uthash */
    struct fl_ban_rule_copy *rules;  /* the rules in force, owned here */
    size_t nrules;
    struct fl_ban_tap *taps; /* one listener per event the rules count */
    size_t ntaps;
    struct fl_ban_pending *pending; /* bans made during a dispatch, to announce */
    fl_module *module;              /* mod_ban */
    char *table_path;               /* BanTable in force */
    int save_timer, sweep_timer;
    uint64_t made, expired;
};
int fl_bans_init(fl_engine *e);
void fl_bans_free(fl_engine *e);
/* The ban refusing a client at connect (its address or class), or NULL. */
const struct fl_ban *fl_ban_at_connect(fl_engine *e, const fl_addr *addr,
                                       const char *cls);
/* The ban refusing a login (user, or user@address), or NULL. */
const struct fl_ban *fl_ban_at_login(fl_engine *e, const char *user,
                                     const fl_addr *addr);
/* The message a banned client gets (its template). */
const char *fl_ban_message(const struct fl_ban *b);
/* events.c, when the outermost dispatch ends: generate the ftplimit.ban of
 * the bans made during it, so that each follows the event that caused it. */
void fl_bans_announce_pending(fl_engine *e);

/* alerts.c */
struct fl_alerts;
int fl_alerts_init(fl_engine *e);
void fl_alerts_free(fl_engine *e);

/* engine.c: report through the caller's log function, if any. */
void fl_log(fl_engine *e, int priority, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

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
    fl_log_fn log_fn;
    void *log_arg;
    bool no_alerts, no_ban_table;
    struct fl_bans bans;
    struct fl_alerts *alerts;
    uint64_t refusals[FL_LIMIT_KINDS];     /* by enum fl_limit_id */
    uint64_t dry_refusals[FL_LIMIT_KINDS]; /* would-be refusals under DryRun */
    uint32_t policy_gen; /* bumped with each policy, never 0: what was worked
                            out under an older policy (hosts' GeoIP answers
                            and classes, a USER name's user) is again */
    struct fl_tables t;
};

#endif
