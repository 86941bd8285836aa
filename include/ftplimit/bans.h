/*
 * ftplimit/bans.h - bans: hosts, users, classes or user@host pairs refused
 * for a while, made by BanOnEvent rules or by hand (doc/bans.md).
 *
 * A banned host or class is refused at connect (421), a banned user or
 * user@host at PASS (530), with the ban's message. Making a ban generates
 * ftplimit.ban, its end ftplimit.ban-expired; bans end on the engine's
 * timers, and persist in the policy's BanTable file when it has one.
 */
#ifndef FTPLIMIT_BANS_H
#define FTPLIMIT_BANS_H

#include <ftplimit/engine.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum fl_ban_kind {
    FL_BAN_HOST,      /* an address */
    FL_BAN_USER,      /* a user name */
    FL_BAN_CLASS,     /* a class name */
    FL_BAN_USER_HOST, /* "user@address" */
} fl_ban_kind;

/* "host", "user", "class", "user@host"; and back (-1/EINVAL). */
FL_EXPORT const char *fl_ban_kind_name(fl_ban_kind kind);
FL_EXPORT int fl_ban_kind_parse(const char *name, fl_ban_kind *out);

typedef struct fl_ban_entry {
    fl_ban_kind kind;
    char target[640];  /* the address, user, class or user@address */
    fl_usec remaining; /* until it expires */
    char reason[128];  /* the rule (BanOnEvent name) or "manual" */
    char message[512]; /* what the banned client is told */
} fl_ban_entry;

/* The longest ban: 100,000 hours. */
#define FL_BAN_SECONDS_MAX (100000LL * 3600)

/* Ban target for duration (> 0, at most FL_BAN_SECONDS_MAX seconds).
 * message NULL: the default for the kind. A target is an address, a user
 * name (no control byte), a class name (as <Class> takes it) or
 * user@address (split at the last '@'). An address is normalised; a host
 * in BanExempt is refused (EPERM). A ban that exists is extended and its
 * message replaced. 0, or -1 with EINVAL, EPERM, ENOSPC (MaxTrackedHosts
 * bans) or ENOMEM. */
FL_EXPORT int fl_ban_add(fl_engine *e, fl_ban_kind kind, const char *target,
                         fl_usec duration, const char *message);

/* Lift a ban (no ftplimit.ban-expired). 0, or -1/ENOENT. */
FL_EXPORT int fl_ban_remove(fl_engine *e, fl_ban_kind kind, const char *target);

/* The bans in force: how many; up to n of them in out (may be NULL). */
FL_EXPORT size_t fl_ban_list(fl_engine *e, fl_ban_entry *out, size_t n);

#ifdef __cplusplus
}
#endif

#endif
