/*
 * limit.h - which limit, if any, a connection or a login exceeds.
 *
 * These functions only decide: they read the policy and the counts and
 * return the first limit exceeded, in ProFTPD's order. session.c acts on
 * the answer (events, replies, counts).
 */
#ifndef FL_LIMIT_H
#define FL_LIMIT_H

#include "internal.h"

enum fl_limit_id {
    FL_L_MAX_INSTANCES,
    FL_L_RATE,
    FL_L_RATE_PER_HOST,
    FL_L_CONNS_PER_HOST,
    FL_L_PER_CLASS,
    FL_L_PER_HOST,
    FL_L_PER_NETWORK,
    FL_L_PER_COUNTRY,
    FL_L_PER_USER,
    FL_L_CLIENTS,
    FL_L_HOSTS_PER_USER,
    FL_L_LOGIN_ATTEMPTS,
    FL_L_ANON_REJECT,
    FL_L_TABLE_FULL,
    FL_L_NO_MEMORY,
    FL_L_BAN, /* a ban: 421 at connect, 530 at PASS; the ban's message */
    FL_L_COUNT
};

struct fl_limit_desc {
    const char *directive; /* what decisions and events name */
    const char *event;     /* generated when the limit is hit, or NULL */
    int code;              /* reply code */
    const char *message;   /* default message template */
};

extern const struct fl_limit_desc fl_limit_descs[FL_L_COUNT];
_Static_assert(FL_L_COUNT <= FL_LIMIT_KINDS, "raise FL_LIMIT_KINDS in internal.h");

/* A limit that was hit: which, its configured max, the count including the
 * session being decided, and the policy's message (NULL: the default). */
struct fl_hit {
    enum fl_limit_id id;
    long long max, count;
    const char *message;
};

/* The connect-time checks for a client at host h (NULL: a new host). */
bool fl_limits_check_connect(fl_engine *e, const fl_host *h, fl_usec now,
                             struct fl_hit *hit);

/* The counts a successful PASS would add to, before this session counts. */
struct fl_login_counts {
    const fl_class_def *class_def; /* the session's class in this policy */
    long long class_clients;
    long long host_clients;
    long long net_clients;
    bool country_known; /* sessions from an unknown country are not limited */
    long long country_clients;
    long long user_clients;
    long long user_hosts; /* distinct hosts once this session counts */
    long long clients;
};

/* The post-PASS checks, in order. */
bool fl_limits_check_login(const fl_policy *p, const struct fl_login_counts *c,
                           struct fl_hit *hit);

#endif
