/*
 * modules/bans/bans.h - mod_ban: its state in the engine context, its
 * settings in a policy. The engine (engine.c) runs it through
 * fl_bans_module; the decisions reach it only through the module's
 * at_connect and at_login, everyone else through <ftplimit/bans.h>.
 */
#ifndef FL_MODULES_BANS_H
#define FL_MODULES_BANS_H

#include <stddef.h>
#include <stdint.h>

#include <ftplimit/bans.h>
#include <ftplimit/engine.h>
#include <ftplimit/events.h>

#include "catalog/limits.h"
#include "kernel/kernel.h"
#include "policy/directive.h"

struct fl_ban;
struct fl_firewall;
struct fl_ban_counter;
struct fl_ban_tap;
struct fl_ban_pending;
struct fl_bans {
    struct fl_ban *table;            /* uthash by kind and target */
    struct fl_ban_counter *counters; /* BanOnEvent occurrences, uthash */
    struct fl_ban_tap **taps; /* one listener per event the policy's rules count */
    size_t ntaps;
    struct fl_ban_pending *pending; /* bans made during a dispatch, to announce */
    fl_module *module;              /* mod_ban */
    char *table_path;               /* BanTable in force */
    int save_timer, sweep_timer;
    uint64_t made, expired;
    struct fl_ban_save *saving;   /* a save being written by its thread, or NULL */
    bool resave;                  /* bans changed while it was */
    uint64_t save_failures;       /* saves that kept the old table */
    struct fl_firewall *firewall; /* BanFirewall's worker, or NULL */
    unsigned net_bits[129];       /* network bans by length (128-bit space) */
    size_t nnets;                 /* network bans in all */
};

/* BanOnEvent EVENT N/window duration ["message"] */
typedef struct fl_ban_rule {
    char *name;        /* as written: MaxLoginAttempts, or an event name */
    const char *event; /* the event it listens to (static for known names) */
    char *event_owned; /* ... or its own copy */
    enum fl_ban_target target;
    uint32_t count;   /* N occurrences ... */
    fl_usec window;   /* ... within this sliding window */
    fl_usec duration; /* ban length */
    char *message;    /* NULL: the default for the target */
    int line;
} fl_ban_rule;

/* mod_ban's settings in a policy (directives.c). */
struct fl_ban_conf {
    fl_ban_rule *rules;
    size_t nrules;
    fl_class_item *exempt; /* BanExempt addresses and CIDRs (FL_ITEM_PREFIX) */
    size_t nexempt;
    char **exempt_classes; /* BanExempt class names */
    size_t nexempt_classes;
    char *table;           /* BanTable: where bans persist, or NULL */
    bool match_any_server; /* BanOptions MatchAnyServer: a rule bans from every
                              server, not the one its event came from */
    bool firewall;         /* BanFirewall nftables */
    char firewall_table[FL_FIREWALL_TABLE_MAX];
    unsigned firewall_ports[FL_FIREWALL_PORTS_MAX]; /* BanFirewallPorts (21) */
    size_t nfirewall_ports;
};

/* firewall.c: BanFirewall. Start, restart or stop the worker for the
 * policy's settings; the table is made anew (the caller then adds every
 * host ban the kernel should hold). 0, or -1 (no thread). */
int fl_firewall_configure(fl_engine *e, const struct fl_ban_conf *c);
/* A host (bits 128) or a network (its length in the 128-bit space) banned
 * for remaining more, or no longer: queued for the kernel. */
void fl_firewall_ban(fl_engine *e, const fl_addr *a, unsigned bits, fl_usec remaining,
                     bool fresh);
void fl_firewall_unban(fl_engine *e, const fl_addr *a, unsigned bits);
/* The kernel holds it (as far as the worker knows). */
bool fl_firewall_has(fl_engine *e, const fl_addr *a, unsigned bits);
void fl_firewall_stats(fl_engine *e, fl_ban_firewall *out);
/* The worker stopped; the kernel keeps the bans until their timeouts. */
void fl_firewall_free(fl_engine *e);

extern const struct fl_policy_part fl_bans_part;     /* directives.c */
extern const struct fl_engine_module fl_bans_module; /* bans.c */

#endif
