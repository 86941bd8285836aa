/*
 * ftplimit/farm.h - what a farm of nodes shares (doc/cluster.md).
 *
 * With Cluster in the policy, the counts the limits use are the farm's:
 * the sum over its live nodes. The engine stays the judge of what this
 * node alone can decide -- a local count that exceeds a limit exceeds the
 * farm's too -- and after each CONNECT or PASS it allows, it says what the
 * farm must check and count: its claims, in the order ProFTPD checks the
 * limits. ftplimitd sends them to the shared store in one round trip (a
 * script that checks every claim and counts the session only when all
 * pass); when the farm refuses, fl_farm_refuse() undoes the step and
 * refuses as that limit would have. A library user with a farm of its own
 * does the same with its store.
 */
#ifndef FTPLIMIT_FARM_H
#define FTPLIMIT_FARM_H

#include <stdint.h>

#include <ftplimit/session.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A field's bytes at most: a server's name (at most 200 bytes, else a
 * digest of it), a user name, an address. */
#define FL_FARM_FIELD_MAX 1024
#define FL_FARM_CLAIMS_MAX 16

typedef enum fl_farm_op {
    FL_FARM_COUNT = 'c', /* field's count + 1 must not exceed max, then counts */
    FL_FARM_HOSTS = 'x', /* MaxHostsPerUser: field is the user-and-host pair's
                            count ("P..."), the user's distinct hosts are
                            the store's "D..." field: (hosts, with this one
                            if the pair is new) must not exceed max */
    FL_FARM_RATE = 'r',  /* a window: fewer than max connections in the last
                            interval_ms, then this one is recorded */
    FL_FARM_ADD = '+',   /* counted, not checked */
} fl_farm_op;

typedef struct fl_farm_claim {
    fl_farm_op op;
    int limit;             /* the limit checked (FL_FARM_COUNT, _HOSTS, _RATE):
                              its index in ftplimit check's order, -1 for ADD */
    const char *directive; /* its directive, NULL for ADD */
    long long max;         /* the limit */
    long long interval_ms; /* FL_FARM_RATE's window */
    const char *message;   /* the policy's reply for it, NULL: the default;
                              valid while fl_farm_policy_gen() is unchanged */
    size_t len;            /* field's bytes */
    char field[FL_FARM_FIELD_MAX];
} fl_farm_claim;

typedef enum fl_farm_step {
    FL_FARM_STEP_CONNECT, /* fl_connect's: counted until the session ends */
    FL_FARM_STEP_LOGIN,   /* fl_pass's: counted until a logout, or the end */
} fl_farm_step;

/* The claims of the last fl_connect() or fl_pass() of e that allowed a
 * session (0 after one that refused, or without Cluster): how many, and
 * *out, valid until e's next decision. Checks come first, in ProFTPD's
 * order, then what is only counted; a field is counted once, even where
 * two checks read it (an <Anonymous> block's user count: MaxClientsPerUser
 * and MaxClients). */
FL_EXPORT size_t fl_farm_claims(fl_engine *e, const fl_farm_claim **out);

/* The fields live session s counts in under the policy in force, as claims
 * that only count (no check, no window): what a node declares again for
 * its sessions after a reload changed what the farm counts. Valid until
 * e's next decision; 0 without Cluster. */
FL_EXPORT size_t fl_farm_session_claims(fl_engine *e, fl_session *s,
                                        const fl_farm_claim **out);

/* The policy generation the claims' messages belong to. */
FL_EXPORT uint32_t fl_farm_policy_gen(fl_engine *e);

/* The farm refused s's step at a claim's limit (its index, its max; count:
 * the farm's count with this session): undo the step -- a CONNECT's session ends, a PASS's login is
 * released -- and refuse as the limit does locally: its event, its reply
 * in d, the session ended for a DISCONNECT. message: the claim's (NULL or
 * stale: the default). Under DryRun d allows, nothing is undone, and the
 * event says what would have been refused. 0, or -1/EINVAL. */
FL_EXPORT int fl_farm_refuse(fl_engine *e, fl_session *s, fl_farm_step step, int limit,
                             long long max, long long count, const char *message,
                             fl_decision *d);

/* The farm could not be asked (ClusterFailMode closed): as fl_farm_refuse,
 * with 421 and the ClusterFailMode refusal. */
FL_EXPORT int fl_farm_unavailable(fl_engine *e, fl_session *s, fl_farm_step step,
                                  fl_decision *d);

/* The Cluster settings of the policy in force. */
typedef struct fl_farm_conf {
    bool on;        /* the policy has Cluster; the rest is then set */
    char host[256]; /* redis://HOST..., "" for a socket */
    unsigned port;
    char socket[256]; /* unix:///PATH, "" for a host */
    int db;
    char url[600];           /* as written */
    char password_file[512]; /* "" for none */
    char node[65];           /* ClusterNode, or the host name */
    fl_usec lease, timeout;
    bool fail_closed;
    bool dry_run;     /* DryRun: the farm counts past its limits too */
    uint64_t counted; /* what the farm counts: a bit for each limit, in
                         ftplimit check's order */
} fl_farm_conf;
FL_EXPORT void fl_farm_config(fl_engine *e, fl_farm_conf *out);

#ifdef __cplusplus
}
#endif

#endif
