/*
 * ftplimit/status.h - what the engine holds, for status displays and
 * metrics, and who may talk to a daemon that runs it.
 */
#ifndef FTPLIMIT_STATUS_H
#define FTPLIMIT_STATUS_H

#include <sys/types.h>

#include <ftplimit/session.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum fl_top_kind {
    FL_TOP_HOSTS,     /* key: address; conns, clients */
    FL_TOP_USERS,     /* key: user name; clients, hosts */
    FL_TOP_CLASSES,   /* key: class; conns, clients */
    FL_TOP_NETWORKS,  /* key: "192.0.2.0/24"; clients */
    FL_TOP_COUNTRIES, /* key: country code; clients */
} fl_top_kind;

/* One entry of a table, beside the limits that apply to it (-1: no limit,
 * or a count the table does not keep). */
typedef struct fl_top_entry {
    char key[FL_USER_MAX + 1];
    long long conns, conns_limit;
    long long clients, clients_limit;
    long long hosts, hosts_limit;
} fl_top_entry;

/* The (at most) n entries of a table with the most clients, then the most
 * connections, largest first; every server's entries, each with its
 * server's limits. Returns how many were written. O(table). */
FL_EXPORT size_t fl_engine_top(fl_engine *e, fl_top_kind kind, fl_top_entry *out,
                               size_t n);
/* The same for the server named server only (a policy's scope name:
 * "main", or a <VirtualHost>'s addresses as `ftplimit check` shows them).
 * -1 cast to size_t, with errno ENOENT, for a server the engine does not
 * count. */
FL_EXPORT size_t fl_engine_top_in(fl_engine *e, const char *server, fl_top_kind kind,
                                  fl_top_entry *out, size_t n);

/* A server the engine counts (ProFTPD's main server or a <VirtualHost>):
 * limits are counted per server (doc/directives.md, Scopes). */
typedef struct fl_server_info {
    const char *name; /* its scope's name; valid as long as the engine */
    bool in_policy;   /* false: the policy in force no longer names it (its
                         sessions count there until they end) */
    size_t sessions;  /* live connections */
    size_t clients;   /* authenticated sessions */
    size_t hosts;     /* host entries, live and idle */
    size_t users;     /* users with authenticated sessions */
} fl_server_info;

/* The servers the engine counts, the main server first: up to n into out.
 * Returns how many there are. */
FL_EXPORT size_t fl_engine_servers(fl_engine *e, fl_server_info *out, size_t n);

/* How often each limit refused (and, under DryRun, would have refused)
 * since the engine started. Returns the number of limits; when out is not
 * NULL it is filled with up to n of them, in check order. */
typedef struct fl_refusal_count {
    const char *limit; /* directive name, static */
    unsigned long long refused;
    unsigned long long dry_run;
} fl_refusal_count;
FL_EXPORT size_t fl_engine_refusals(fl_engine *e, fl_refusal_count *out, size_t n);
/* The same for the decisions about one server's sessions (server: its name,
 * as fl_engine_servers gives it); (size_t)-1/ENOENT for a server the engine
 * does not count. */
FL_EXPORT size_t fl_engine_refusals_in(fl_engine *e, const char *server,
                                       fl_refusal_count *out, size_t n);

/* The outputs an OnEvent listener has (doc/listeners.md). */
typedef enum fl_alert_output {
    FL_ALERT_EXEC,
    FL_ALERT_SYSLOG,
    FL_ALERT_JSONL,
    FL_ALERT_OUTPUTS /* how many there are */
} fl_alert_output;
/* "exec", "syslog", "jsonl"; "unknown" for another value. */
FL_EXPORT const char *fl_alert_output_name(fl_alert_output o);

/* What the policy's OnEvent listeners did, by output, and the bans made,
 * since the engine started. */
typedef struct fl_alert_stats {
    unsigned long long sent[FL_ALERT_OUTPUTS];       /* alerts sent */
    unsigned long long suppressed[FL_ALERT_OUTPUTS]; /* held back by AlertSuppress */
    unsigned long long dropped[FL_ALERT_OUTPUTS];    /* exec: over ExecMaxRunning */
    unsigned long long failed[FL_ALERT_OUTPUTS];     /* could not be written or run */
    unsigned long long killed;                       /* exec: over ExecTimeout */
    unsigned running;                                /* exec programs running now */
    unsigned long long bans_made, bans_expired;
    size_t bans;                          /* in force now */
    unsigned long long ban_save_failures; /* BanTable saves that kept the old table */
} fl_alert_stats;
FL_EXPORT void fl_engine_alert_stats(fl_engine *e, fl_alert_stats *out);

/* The limit a directive sets, -1 for none (for the status header). */
FL_EXPORT long long fl_policy_limit(fl_engine *e, const char *directive);

/* Who may use a daemon's socket (AllowSessions, AllowStatus, AllowAdmin):
 * root always; by default also the daemon's own uid (self). Status is open
 * to whoever may declare sessions or administer. */
typedef enum fl_access {
    FL_ACCESS_SESSIONS,
    FL_ACCESS_STATUS,
    FL_ACCESS_ADMIN
} fl_access;
FL_EXPORT bool fl_access_allowed(fl_engine *e, fl_access what, uid_t uid, gid_t gid,
                                 uid_t self);

#ifdef __cplusplus
}
#endif

#endif
