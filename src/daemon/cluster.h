/*
 * cluster.h - Cluster: this ftplimitd as a node of a farm whose counts and
 * bans live in Redis (doc/cluster.md).
 *
 * The engine decides what this node alone can; the farm's checks of each
 * CONNECT and PASS it allows go to Redis as one script each, pipelined on
 * one connection, and the client's answer waits for the script's. Each
 * session's counts are remembered here, to release them when it ends and
 * to declare them all again after a reconnect or a lost lease. Bans made
 * here are published; bans made elsewhere are applied.
 */
#ifndef FL_DAEMON_CLUSTER_H
#define FL_DAEMON_CLUSTER_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include <ftplimit/ftplimit.h>

struct server;
struct conn;

/* Follow the policy in force (after a load or a reload): start, change or
 * stop taking part in a farm. 0, or -1 with the reason logged (the node
 * then counts alone, and tries again at the next reload). */
int cluster_configure(struct server *srv);

/* Leave the farm (its counts out, its lease given back), within the
 * timeout, and free everything. */
void cluster_stop(struct server *srv);

/* Whether the decision s was just allowed by (fl_connect or fl_pass) waits
 * for the farm: true, and conn gets its answer through
 * server_farm_answer(); false, and d holds the answer now (the farm counts
 * nothing, or Redis is away and ClusterFailMode decided). */
bool cluster_decide(struct server *srv, struct conn *conn, fl_session *s,
                    fl_farm_step step, fl_decision *d);

/* A resumed session's counts (fl_resume): recorded, and counted by the
 * farm without a check. */
void cluster_count(struct server *srv, fl_session *s);

/* Whether a ban from the farm is being applied (its ftplimit.ban is not
 * this node's). */
bool cluster_applying(struct server *srv);

/* conn is gone: answers it was waiting for go nowhere. */
void cluster_conn_gone(struct server *srv, struct conn *conn);

/* The engine's events the farm follows: a session's end, a logout, a ban
 * made; and a ban lifted by hand. */
void cluster_event(struct server *srv, const char *event, const void *data);
void cluster_logout(struct server *srv, const char *sid);
void cluster_ban_lifted(struct server *srv, fl_ban_kind kind, const char *target,
                        const char *server);

/* The loop: whether an epoll tag is the cluster's, its readiness, the
 * next deadline (ms, -1: none) and the timers' work. */
bool cluster_owns(struct server *srv, const void *tag);
void cluster_io(struct server *srv, const void *tag, uint32_t events);
int cluster_wait_ms(struct server *srv);
void cluster_tick(struct server *srv);

/* The status document's "cluster" object (NULL without Cluster), and the
 * metrics' figures. */
json_t *cluster_status_json(struct server *srv);
struct cluster_stats {
    bool on, up;
    unsigned live_nodes;
    uint64_t round_trips, errors, timeouts, fail_open, fail_closed, refusals;
    uint64_t lease_renewals, declares, reconnects, bans_published, bans_applied;
    double rtt_seconds_sum; /* of the decisions' round trips */
};
void cluster_stats(struct server *srv, struct cluster_stats *out);

#endif
