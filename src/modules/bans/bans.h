/*
 * modules/bans/bans.h - mod_ban's state in the engine context. The engine
 * (engine.c) creates and frees it; the decisions reach bans only through
 * the gate it adds (struct fl_gate, context.h), the rest of the library
 * through <ftplimit/bans.h>.
 */
#ifndef FL_MODULES_BANS_H
#define FL_MODULES_BANS_H

#include <stddef.h>
#include <stdint.h>

#include <ftplimit/engine.h>
#include <ftplimit/events.h>

struct fl_ban;
struct fl_ban_counter;
struct fl_ban_rule_copy;
struct fl_ban_tap;
struct fl_ban_pending;
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

/* Load mod_ban into e (its listeners and its gate); free its state. */
int fl_bans_init(fl_engine *e);
void fl_bans_free(fl_engine *e);

#endif
