/*
 * ftplimit/session.h - sessions and the decisions the engine makes on them.
 *
 * A server tells the engine what happens on a control connection (connect,
 * USER, PASS, close) and the engine answers with a decision: allow, reject
 * this attempt, or disconnect. The engine decides; it never does I/O.
 *
 * Every connection ends with exactly one core.exit: when the caller closes
 * it, when a decision disconnects it (the session no longer exists when the
 * call returns), or at engine shutdown.
 */
#ifndef FTPLIMIT_SESSION_H
#define FTPLIMIT_SESSION_H

#include <ftplimit/engine.h>

struct sockaddr;

#ifdef __cplusplus
extern "C" {
#endif

/* An IP address, IPv4 held as an IPv4-mapped IPv6 address so that
 * "10.0.0.1" and "::ffff:10.0.0.1" are the same host. */
typedef struct fl_addr {
    uint8_t b[16];
} fl_addr;

#define FL_ADDR_TEXT_MAX 46 /* INET6_ADDRSTRLEN */

/* Parse an IPv4 or IPv6 address. 0, or -1/EINVAL. */
FL_EXPORT int fl_addr_parse(const char *text, fl_addr *out);
/* From a struct sockaddr_in or sockaddr_in6. 0, or -1/EAFNOSUPPORT. */
FL_EXPORT int fl_addr_from_sockaddr(const struct sockaddr *sa, fl_addr *out);
/* Write the address (dotted quad for IPv4) to buf; returns buf. */
FL_EXPORT char *fl_addr_format(const fl_addr *a, char *buf, size_t size);
/* True for IPv4 (and IPv4-mapped) addresses. */
FL_EXPORT bool fl_addr_is_v4(const fl_addr *a);

/* Limits on what callers may pass. */
#define FL_SID_MAX 64         /* session id bytes */
#define FL_USER_MAX 512       /* user name bytes (ProFTPD's command line is 512) */
#define FL_PASS_MAX 1024      /* password bytes */
#define FL_DNSNAME_MAX 255    /* DNS name bytes */
#define FL_CLASS_NAME_MAX 128 /* <Class> name bytes */
#define FL_MESSAGE_MAX 512    /* reply text bytes, NUL included */

typedef enum fl_verdict {
    FL_ALLOW = 0,
    FL_REJECT,     /* this attempt is refused; the session stays */
    FL_DISCONNECT, /* the session is ended: counts released, core.exit sent */
} fl_verdict;

/* The name of a verdict: "allow", "reject", "disconnect". */
FL_EXPORT const char *fl_verdict_name(fl_verdict v);

typedef struct fl_decision {
    fl_verdict verdict; /* what the caller must do */
    fl_verdict would;   /* the verdict DryRun turned into allow; == verdict otherwise */
    bool dry_run;       /* the policy is in DryRun mode */
    const char *limit;  /* directive that decided (static string); NULL when
                           allowed, and for a plain bad password */
    int code;           /* FTP reply code when would != FL_ALLOW (421, 530) */
    char message[FL_MESSAGE_MAX]; /* reply text, expanded and sanitised */
} fl_decision;

/*
 * The payload of every event about a session (limit events, core.exit of a
 * session, bans). Strings are valid during the listener call only.
 */
typedef struct fl_event_info {
    const char *event;      /* event name */
    const char *sid;        /* session id */
    const char *address;    /* client address, normalised */
    const char *user;       /* user name, NULL before USER */
    const char *class_name; /* the session's class, NULL if none */
    const char *limit;      /* directive, NULL for lifecycle events */
    long long max;          /* configured limit, -1 when not applicable */
    long long count;        /* count including this session, -1 when n/a */
    bool dry_run;           /* decided in DryRun mode: nothing was refused */
    const char *country;    /* ISO country code, NULL when unknown */
    uint32_t asn;           /* autonomous system number, 0 when unknown */
    const char *message;    /* reply text sent (or that would be), or NULL */
    int code;               /* reply code, 0 when nothing is refused */
    fl_usec time;           /* engine time of the event */
    const char *ban;        /* ftplimit.ban*: "host", "user", "class", "user@host" */
    const char *target;     /* ftplimit.ban*: what is banned */
    long long duration;     /* ftplimit.ban: seconds; -1 otherwise */
    const char *server;     /* the session's server when it is not the main
                               one: a <VirtualHost>'s addresses, as the
                               policy names it; NULL otherwise */
} fl_event_info;

/* The payload of event if it is one carrying an fl_event_info, else NULL. */
FL_EXPORT const fl_event_info *fl_event_info_of(const char *event,
                                                const void *event_data);

typedef struct fl_session fl_session;

/* Where a client connected: a server's address and port. A policy's
 * <VirtualHost ADDR:PORT> blocks say which server that is; an endpoint no
 * block names is the main server's. */
typedef struct fl_endpoint {
    fl_addr addr;
    uint16_t port;
} fl_endpoint;

typedef struct fl_connect_info {
    const char *sid;           /* unique among live sessions, 1 to FL_SID_MAX
                                  printable bytes; NULL: the engine assigns
                                  "c<N>", a form reserved to it */
    fl_addr addr;              /* client address */
    const char *dns_name;      /* client's DNS name if the caller resolved it, or
                                  NULL; the engine never resolves */
    const fl_endpoint *server; /* the address and port it reached, or NULL:
                                  the main server */
} fl_connect_info;

/* A new control connection. Returns 0 with a decision in d: *out is the new
 * session when allowed, NULL when refused (d->verdict FL_DISCONNECT, code
 * 421). -1 with EINVAL (bad argument), EEXIST (sid in use), ESHUTDOWN
 * (engine shut down). */
FL_EXPORT int fl_connect(fl_engine *e, const fl_connect_info *ci, fl_session **out,
                         fl_decision *d);

/* USER name. Returns 0 (d allows); -1 with EINVAL (empty or longer than
 * FL_USER_MAX) or EISCONN (already logged in). Whether the login is
 * anonymous is the policy's AnonymousUsers' to say. */
FL_EXPORT int fl_user(fl_engine *e, fl_session *s, const char *user, fl_decision *d);

/* Who says whether a login is anonymous. */
typedef enum fl_anonymity {
    FL_ANON_BY_POLICY = 0, /* the policy's AnonymousUsers (fl_user) */
    FL_ANON_NO,            /* the server: a real account, whatever its name */
    FL_ANON_YES,           /* the server: anonymous (ProFTPD: the name maps to
                              an <Anonymous> block) */
} fl_anonymity;

/* USER, for a server that resolved the name itself: anon_account NULL for
 * a real account, whatever AnonymousUsers say; else the login is anonymous
 * (AnonRejectPasswords applies) and counts under anon_account, as every
 * other name the server maps to that account (ProFTPD: the <Anonymous>
 * block's User). Returns as fl_user; EINVAL also for an anon_account empty
 * or longer than FL_USER_MAX. */
FL_EXPORT int fl_user_resolved(fl_engine *e, fl_session *s, const char *user,
                               const char *anon_account, fl_decision *d);

/* The most groups fl_user_groups takes. */
#define FL_GROUPS_MAX 256

/* The groups of the user a session's USER names, once the server knows
 * them (ProFTPD: the primary group, then the supplementary ones), for the
 * policy's <IfGroup> blocks; before the PASS, after every USER (a USER
 * forgets them). Each name is 1 to FL_USER_MAX bytes without a control
 * byte. 0, or -1 with EINVAL (a bad name, more than FL_GROUPS_MAX),
 * EPROTO (no USER yet), EISCONN (logged in) or ENOMEM. */
FL_EXPORT int fl_user_groups(fl_engine *e, fl_session *s, const char *const *groups,
                             size_t n);

/* PASS: ok tells whether the authentication backend accepted the
 * credentials; password matters for anonymous users (AnonRejectPasswords)
 * and may be NULL otherwise. Returns 0 with the decision; after
 * FL_DISCONNECT the session no longer exists. -1 with EINVAL, EPROTO (no
 * USER yet) or EISCONN (already logged in). */
FL_EXPORT int fl_pass(fl_engine *e, fl_session *s, bool ok, const char *password,
                      fl_decision *d);

/* An anonymous login's password, before the server checks it (ProFTPD
 * applies AnonRejectPasswords before the password itself): a password
 * AnonRejectPasswords rejects is a failed PASS, as fl_pass with ok false
 * (REJECT, or DISCONNECT at the MaxLoginAttempts-th failure, after which
 * the session no longer exists); any other is let in, and the PASS that
 * follows does not check it again. A login that is not anonymous is let
 * in. Errors as fl_pass. */
FL_EXPORT int fl_anon_pass_check(fl_engine *e, fl_session *s, const char *password,
                                 fl_decision *d);

/* Undo a successful PASS: the session counts as a connection only again,
 * with its USER name (for an anonymous login, the user it counted under,
 * whose anonymity the policy's AnonymousUsers decide again: a server that
 * resolves names sends its USER again) and its failed logins unchanged, so
 * that a PASS may follow. For a server
 * that told the engine of a login before all its own checks were done, and
 * one of them refused it. No limit is checked and no event generated.
 * Returns 0; -1 with EINVAL, ENOTCONN (not logged in) or ENOMEM. */
FL_EXPORT int fl_logout(fl_engine *e, fl_session *s);

/* A session as it was before the engine restarted (ftplimitd's clients
 * re-declare theirs this way): no limit is checked and no rate is counted. */
typedef struct fl_resume_info {
    const char *sid; /* required; the engine's own "c<N>" form is allowed, N
                        below 2^64 */
    fl_addr addr;
    const char *class_name;    /* the class it had, NULL for none; kept even if the
                                  policy no longer defines it */
    const char *user;          /* the USER name, NULL before USER; for a login
                                  of FL_ANON_YES, the account it counts under */
    bool authenticated;        /* its PASS succeeded (needs user) */
    fl_anonymity anonymity;    /* of an authenticated session: who said whether
                                  it logged in anonymously */
    int failed;                /* failed logins so far */
    bool classify;             /* class_name unknown: classify the address now
                                  (a session the engine never saw) */
    const fl_endpoint *server; /* where it connected, as fl_connect_info */
} fl_resume_info;

/* Re-declare a session. 0 with *out set; -1 with EINVAL, EEXIST (sid in
 * use), ENOSPC (MaxTrackedHosts full), ENOMEM or ESHUTDOWN. */
FL_EXPORT int fl_resume(fl_engine *e, const fl_resume_info *ri, fl_session **out);

/* The connection closed: release the session's counts, then core.exit. */
FL_EXPORT void fl_close(fl_engine *e, fl_session *s);

/* A live session by id, or NULL. */
FL_EXPORT fl_session *fl_session_find(fl_engine *e, const char *sid);

/* Accessors; strings are owned by the session. */
FL_EXPORT const char *fl_session_id(const fl_session *s);
FL_EXPORT const fl_addr *fl_session_addr(const fl_session *s);
FL_EXPORT const char *fl_session_user(const fl_session *s);  /* NULL before USER */
FL_EXPORT const char *fl_session_class(const fl_session *s); /* NULL if none */
FL_EXPORT bool fl_session_authenticated(const fl_session *s);
FL_EXPORT int fl_session_failed_logins(const fl_session *s);

/* Totals the engine holds right now. */
typedef struct fl_totals {
    size_t sessions;    /* live connections */
    size_t clients;     /* authenticated sessions */
    size_t hosts;       /* host entries, live and idle */
    size_t idle_hosts;  /* host entries kept only for rate state */
    size_t users;       /* users with authenticated sessions */
    size_t classes;     /* classes with sessions */
    size_t networks;    /* network prefixes with clients */
    size_t countries;   /* countries with clients */
    size_t user_hosts;  /* (user, host) pairs with clients */
    uint64_t evictions; /* idle hosts evicted to make room */
} fl_totals;
FL_EXPORT void fl_engine_totals(fl_engine *e, fl_totals *t);

/* Counts for one key, for status displays and tests. Each returns -1/ENOENT
 * when the engine holds nothing for the key. */
typedef struct fl_counts {
    long long conns;   /* live connections */
    long long clients; /* authenticated sessions */
    long long hosts;   /* for a user: distinct hosts it is logged in from */
} fl_counts;
FL_EXPORT int fl_count_host(fl_engine *e, const fl_addr *a, fl_counts *c);
FL_EXPORT int fl_count_user(fl_engine *e, const char *user, fl_counts *c);
FL_EXPORT int fl_count_class(fl_engine *e, const char *class_name, fl_counts *c);
/* The network of a (the policy's MaxClientsPerNetwork prefix lengths). */
FL_EXPORT int fl_count_network(fl_engine *e, const fl_addr *a, fl_counts *c);

#ifdef __cplusplus
}
#endif

#endif
