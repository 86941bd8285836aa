/*
 * catalog/limits.h - the limits ftplimit knows (catalog/limits.def), as an
 * enum and a table. Needs nothing but the public events header: the client
 * library and mod_ftplimit include it too.
 */
#ifndef FL_CATALOG_LIMITS_H
#define FL_CATALOG_LIMITS_H

#include <stdbool.h>

#include <ftplimit/events.h>

enum fl_limit_id {
#define FL_LIMIT(id, ...) FL_L_##id,
#include "catalog/limits.def"
#undef FL_LIMIT
    FL_L_COUNT
};

/* How a limit is written in a policy. */
enum fl_limit_syntax {
    FL_SYN_NONE,        /* not a directive: a refusal of ftplimit's own */
    FL_SYN_LIMIT,       /* NAME N|none */
    FL_SYN_RATE,        /* NAME N/SECONDS */
    FL_SYN_CLASS,       /* NAME CLASS N */
    FL_SYN_NETWORK,     /* NAME N [IPV4BITS [IPV6BITS]] */
    FL_SYN_COUNTRY,     /* NAME N (needs GeoIPDatabase) */
    FL_SYN_ATTEMPTS,    /* NAME N|none */
    FL_SYN_ANON_REJECT, /* NAME REGEX [[NC]] */
    FL_SYN_TRACKED      /* NAME N */
};

/* What BanOnEvent DIRECTIVE bans. */
enum fl_ban_target {
    FL_TARGET_NONE = -1, /* not an event BanOnEvent takes */
    FL_TARGET_HOST,
    FL_TARGET_USER,
    FL_TARGET_CLASS,
    FL_TARGET_USER_HOST
};

/* What ProFTPD does with a directive of the same name. */
enum fl_proftpd_role {
    FL_PR_NONE,     /* ProFTPD has no such directive */
    FL_PR_COUNTED,  /* it counts sessions on the scoreboard to enforce it
                       (mod_sftp ends such an SSH session with "too many
                       connections") */
    FL_PR_ATTEMPTS, /* MaxLoginAttempts: enforced per session, default 3 */
    FL_PR_CHECKED,  /* checked on the password (AnonRejectPasswords) */
    FL_PR_MASTER    /* the master's, at connect (MaxInstances,
                       MaxConnectionRate: mod_core's) */
};

/* Where a policy may set a limit: ProFTPD's contexts for its directive
 * (server config and <Global> are every server's). */
enum fl_limit_scope {
    FL_SC_DAEMON, /* the daemon's alone: the top of the policy */
    FL_SC_SERVER, /* each server: the top (the main server), <Global>,
                     <VirtualHost> */
    FL_SC_ANON    /* the same, and an <Anonymous> block */
};

struct fl_limit_desc {
    const char *directive; /* what decisions, events and counters name */
    const char *event;     /* generated when the limit refuses, or NULL */
    int code;              /* reply code */
    const char *message;   /* default message template */
    enum fl_limit_syntax syntax;
    enum fl_ban_target ban;
    bool shown; /* in the status document and the metrics page */
    enum fl_proftpd_role proftpd;
    enum fl_limit_scope scope;
};

extern const struct fl_limit_desc fl_limit_descs[FL_L_COUNT];

/* The limit a directive names (exactly, as decisions spell it), or
 * FL_L_COUNT. */
enum fl_limit_id fl_limit_by_directive(const char *directive);

#endif
