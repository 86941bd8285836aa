/*
 * ftplimit/engine.h - the engine context: clock, modules and lifecycle.
 *
 * Everything in libftplimit hangs off one fl_engine. There is no global
 * mutable state: two engines in one process never see each other's
 * listeners, timers, policies or counts. An engine is not thread-safe; use
 * one per thread or serialise calls.
 *
 * Conventions: functions that can fail return -1 (or NULL) and set errno,
 * each value with one meaning across the library and the client:
 *   EINVAL        a bad argument (a NULL engine, a malformed name ...)
 *   ENOMEM        out of memory; nothing changed
 *   ENOENT        no such session, ban, listener, timer or file
 *   EEXIST        it exists already (a module name, a session id)
 *   ENOSPC        a table is full (MaxTrackedHosts)
 *   EALREADY      out of order (started twice, a second CONNECT ...)
 *   EPERM         not allowed (an engine's own module; an exempt target)
 * and, from the client (ftplimit/client.h), ECONNREFUSED, ETIMEDOUT,
 * ECONNRESET, EPROTO, EACCES, EBUSY, EINPROGRESS. fl_strerror() says what
 * each means for ftplimit (strerror() for any other value).
 */
#ifndef FTPLIMIT_ENGINE_H
#define FTPLIMIT_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define FL_EXPORT __attribute__((visibility("default")))
#else
#define FL_EXPORT
#endif

#define FL_VERSION "0.1.0"

/* Times are microseconds on the engine's clock (monotonic unless injected). */
typedef int64_t fl_usec;
#define FL_USEC_PER_SEC INT64_C(1000000)
#define FL_NEVER INT64_MAX

typedef struct fl_engine fl_engine;
typedef struct fl_module fl_module;

/* A clock returns the current time in microseconds; arg is the caller's. */
typedef fl_usec (*fl_clock_fn)(void *arg);

/* CLOCK_MONOTONIC in microseconds; the default clock. arg is ignored. */
FL_EXPORT fl_usec fl_clock_monotonic(void *arg);

/* A virtual clock for tests and trace replay: set .now, pass fl_vclock_read
 * as the clock and the fl_vclock as its argument. */
typedef struct fl_vclock {
    fl_usec now;
} fl_vclock;
FL_EXPORT fl_usec fl_vclock_read(void *vclock);

typedef struct fl_engine_options {
    fl_clock_fn clock;        /* NULL: fl_clock_monotonic */
    void *clock_arg;          /* passed to clock */
    const uint8_t *hash_seed; /* 16 bytes fixing the table hash key; NULL: random */
    bool no_alerts;           /* do not run the policy's OnEvent listeners (exec,
                                 syslog, jsonl); bans still apply */
    bool no_ban_table;        /* neither read nor write the policy's BanTable
                                 (checking a policy, simulating a trace) */
    bool no_firewall;         /* never touch the kernel's firewall for
                                 BanFirewall (checking, simulating) */
    bool check_writes;        /* a policy naming a file the engine would write
                                 (BanTable's directory, a jsonl file) that this
                                 process's effective user cannot write is an
                                 error at its line (the daemon, and checking
                                 for it); not for simulating a trace */
} fl_engine_options;

/* Create an engine (opts may be NULL). Returns NULL with errno on failure.
 * The engine has no policy yet: load one with fl_engine_load(). */
FL_EXPORT fl_engine *fl_engine_new(const fl_engine_options *opts);

/* Free the engine and everything it owns. Does not generate events: call
 * fl_engine_shutdown() first for an orderly end. NULL is a no-op. */
FL_EXPORT void fl_engine_free(fl_engine *e);

/* The engine's current time. */
FL_EXPORT fl_usec fl_engine_now(fl_engine *e);

/* Where the engine reports what it cannot tell through a return value (a
 * listener that cannot write its file, a program that would not run):
 * priority is a syslog priority (LOG_WARNING ...), msg one line, already
 * escaped. Without a log function such reports are dropped. */
typedef void (*fl_log_fn)(void *arg, int priority, const char *msg);
FL_EXPORT void fl_engine_set_log(fl_engine *e, fl_log_fn fn, void *arg);

/* Text for an errno value, including ftplimit's own codes. Never NULL. */
FL_EXPORT const char *fl_strerror(int err);

/*
 * Modules. A module is a named component with a place in the load order;
 * listeners run in module load order. Loading generates core.module-load and
 * unloading generates core.module-unload, each with the module's name (a
 * const char *) as event_data; after core.module-unload the module's
 * listeners and timers are dropped.
 */

/* Load a module. NULL with EINVAL (bad name) or EEXIST (name loaded). */
FL_EXPORT fl_module *fl_module_load(fl_engine *e, const char *name);

/* Unload a module and free it. -1/EINVAL if m is not loaded in e, EPERM if
 * it is one of the engine's own (mod_ban, mod_alerts, the OnEvent
 * listeners "onevent#...": the engine loads and unloads them). */
FL_EXPORT int fl_module_unload(fl_engine *e, fl_module *m);

/* A loaded module by name, or NULL. */
FL_EXPORT fl_module *fl_module_find(fl_engine *e, const char *name);

/* The module's name, owned by the module. */
FL_EXPORT const char *fl_module_name(const fl_module *m);

/*
 * Lifecycle, with ProFTPD's order of events:
 *   load:     core.preparse, parse, core.postparse
 *   startup:  core.startup
 *   reload:   core.restart, core.preparse, parse, core.postparse
 *   shutdown: core.exit for each live session, core.exit for the engine
 *             (event_data NULL), then core.shutdown
 * Loading and reloading are described with the policy (ftplimit/policy.h).
 */

/* Generate core.startup. -1/EALREADY if the engine already started. */
FL_EXPORT int fl_engine_startup(fl_engine *e);

/* End every live session, then generate core.exit and core.shutdown. After
 * this the engine only accepts fl_engine_free(). */
FL_EXPORT void fl_engine_shutdown(fl_engine *e);

#ifdef __cplusplus
}
#endif

#endif
