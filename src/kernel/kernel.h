/*
 * kernel/kernel.h - the engine's kernel: its clock and logger, the modules
 * that hold listeners and timers, the event bus and the timers, as the
 * layers above reach them. The public side is <ftplimit/events.h> and
 * <ftplimit/timers.h>; this is what only the library sees.
 *
 * The kernel knows nothing of policies, tables or bans: a layer above that
 * must act when a dispatch ends asks for it with fl_event_after_dispatch().
 */
#ifndef FL_KERNEL_H
#define FL_KERNEL_H

#include <stdbool.h>
#include <stdint.h>

#include <ftplimit/engine.h>
#include <ftplimit/events.h>
#include <ftplimit/timers.h>

#include "util/addr.h"

/* module.c */
struct fl_module {
    struct fl_module *next, *prev;
    uint64_t order; /* position in load order; lower loads earlier */
    bool builtin;   /* the engine's own (mod_ban, OnEvent listeners): only the
                       engine unloads it */
    char name[];
};

/* Load or unload one of the engine's own modules; announce false loads
 * without core.module-load (fl_module_announce() says it later) and
 * unloads without core.module-unload. */
fl_module *fl_module_load_builtin(fl_engine *e, const char *name, bool announce);
void fl_module_unload_builtin(fl_engine *e, fl_module *m, bool announce);
void fl_module_announce(fl_engine *e, const fl_module *m);

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
typedef void (*fl_after_dispatch_fn)(fl_engine *e);
struct fl_event_bus {
    struct fl_event_slot *slots; /* uthash by event name */
    uint64_t seq;                /* registrations so far */
    uint64_t gen;                /* slots created or freed so far */
    unsigned depth;              /* generates under way (nested) */
    fl_after_dispatch_fn after;  /* to call when the outermost one ends */
    struct fl_slot_cache cache[FL_SLOT_CACHE_SIZE];
};
void fl_event_bus_free(fl_engine *e);
/* fl_event_listening() for the engine's own names (FL_EV_* and the limits'
 * events): string constants, whose bytes never change under their pointer,
 * so a cached answer for the pointer is taken without reading the name. */
int fl_event_listening_constant(fl_engine *e, const char *event);
/* True while an event is being dispatched. */
bool fl_event_dispatching(const fl_engine *e);
/* Have fn called once the outermost dispatch under way ends (what it
 * generates then is dispatched as usual). One function at a time: asking
 * again with the same fn before then is one call. */
void fl_event_after_dispatch(fl_engine *e, fl_after_dispatch_fn fn);

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

/* One of the engine's own modules (mod_ban, mod_alerts), as the engine
 * (engine.c) runs it: created and freed with the engine, handed each new
 * policy, asked about each client before the limits count it. */
struct fl_policy;
struct fl_policy_part;
struct fl_engine_module {
    const char *name;
    const struct fl_policy_part *part; /* its directives and settings, or NULL */
    int (*init)(fl_engine *e);         /* -1 with errno: the engine fails */
    void (*free)(fl_engine *e);
    /* A new policy: prepare makes everything the module needs to put p in
     * force and changes nothing else (-1 with errno, having undone its
     * work); then exactly one of commit, once p is in force (cannot fail),
     * or abort, when another module or the tables refused p. */
    int (*prepare)(fl_engine *e, const struct fl_policy *p, void **prepared);
    void (*commit)(fl_engine *e, void *prepared);
    void (*abort)(fl_engine *e, void *prepared);
    /* The message template refusing a client of a server (the id of its
     * counts) at connect (its address and class) or at login (a user
     * name), or NULL: not refused. */
    const char *(*at_connect)(fl_engine *e, unsigned server, const fl_addr *addr,
                              const char *cls);
    const char *(*at_login)(fl_engine *e, unsigned server, const char *user,
                            const fl_addr *addr);
};

/* context.c: what a module meets while putting a policy in force that does
 * not stop it (a listener's file that cannot be opened), said to whoever
 * asked for the load or reload (its fl_error_fn, so `ftplimit reload`
 * prints it). The module logs it as it logs its other failures. */
void fl_report(fl_engine *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* context.c: report through the caller's log function, if any. */
void fl_log(fl_engine *e, int priority, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
