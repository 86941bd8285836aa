/*
 * decide/limits.h - which limit, if any, a connection or a login exceeds.
 *
 * These functions only decide: they read the policy and the counts and
 * return the first limit exceeded, in ProFTPD's order. session.c acts on
 * the answer (events, replies, counts).
 */
#ifndef FL_LIMIT_H
#define FL_LIMIT_H

#include "catalog/limits.h"
#include "context.h"

/* A limit that was hit: which, its configured max, the count including the
 * session being decided, and the policy's message (NULL: the default). */
struct fl_hit {
    enum fl_limit_id id;
    long long max, count;
    const char *message;
};

/* The connect-time checks for a client at host h (NULL: a new host) of
 * server c: the daemon's limits, then the server's. */
bool fl_limits_check_connect(fl_engine *e, const fl_server_counts *c, const fl_host *h,
                             fl_usec now, struct fl_hit *hit);

/* The counts a successful PASS would add to, before this session counts. */
struct fl_login_counts {
    const fl_limit_cfg *class_limit; /* the session's class's, or NULL */
    long long class_clients;
    long long host_clients;
    long long net_clients;
    bool country_known; /* sessions from an unknown country are not limited */
    long long country_clients;
    long long user_clients;
    long long user_hosts; /* distinct hosts once this session counts */
    long long clients;
};

/* The post-PASS checks of limits l (the session's scope's), in order. */
bool fl_limits_check_login(const fl_limits *l, const struct fl_login_counts *c,
                           struct fl_hit *hit);

#endif
