/*
 * tables.h - the counts the engine keeps, in keyed uthash tables.
 *
 * Entries exist only while something refers to them: a session, an
 * authenticated client, or (for hosts) rate state still inside its window.
 * A session holds a pointer to every entry it counts in, so releasing it is
 * a handful of decrements and never a search.
 */
#ifndef FL_TABLES_H
#define FL_TABLES_H

#include <ftplimit/engine.h>

#include "catalog/limits.h"
#include "policy/types.h"

#include "util/rate.h"
#include "util/uthash_keyed.h"

/* A client address. A live host (conns > 0) and an idle one (kept for its
 * rate window) use different fields; they share storage so that a host
 * fits a 128-byte allocation. */
typedef struct fl_host {
    UT_hash_handle hh;
    fl_addr addr;        /* key */
    uint32_t conns;      /* live sessions from this address; 0 only while idle */
    uint32_t policy_gen; /* engine's policy_gen when geo was looked up; 0: never */
    fl_geo geo;
    uint16_t class_slot; /* with geo, under the same policy_gen: the class its
                            clients get, when the policy's classes look at
                            nothing else (FL_CLASS_SLOT_*, or 2 + index) */
    uint16_t counts;     /* the server it is a host of: e->t.counts[counts] */
    fl_rate *rate;       /* MaxConnectionRatePerHost window, NULL until needed:
                            the room after the host's struct, or its own block */
    union {
        struct {
            uint32_t clients;       /* authenticated sessions among conns */
            struct fl_network *net; /* where they count, while there are any */
        } live;
        struct {
            struct fl_host *prev, *next; /* the idle list, oldest first */
        } idle;
    } u;
} fl_host;

#define FL_CLASS_SLOT_UNKNOWN 0
#define FL_CLASS_SLOT_NONE 1

/* A user's clients from one host: the count tells when the user leaves
 * the host. */
typedef struct fl_pair {
    fl_host *host;
    uint32_t clients;
} fl_pair;

/* A pair in the pairs table. Its key is user and pair.host, together. */
typedef struct fl_user_host {
    UT_hash_handle hh;
    struct fl_user_entry *user;
    fl_pair pair;
} fl_user_host;

/* Most users log in from one host: each user's first pair is held in its
 * own entry (free while its host is NULL), which a login and a release find
 * without a table lookup; the pairs table holds only the others. */
typedef struct fl_user_entry {
    UT_hash_handle hh;
    uint32_t clients; /* authenticated sessions of this user */
    uint32_t nhosts;  /* distinct hosts they come from */
    fl_pair first;
    char name[]; /* key */
} fl_user_entry;

typedef struct fl_class_count {
    UT_hash_handle hh;
    const fl_class_def *def; /* the class of this name in the policy in force,
                                or NULL when it defines none */
    uint32_t conns, clients;
    char name[]; /* key */
} fl_class_count;

typedef struct fl_country {
    UT_hash_handle hh;
    char code[2]; /* key */
    uint32_t clients;
} fl_country;

#define FL_NET_KEY_LEN 17 /* masked address and prefix length */
typedef struct fl_network fl_network;
struct fl_network {
    UT_hash_handle hh;
    uint8_t key[FL_NET_KEY_LEN];
    uint32_t clients;
};

/* A session's USER name, until it logs in, with what its PASS needs: the
 * user it would count under (the name itself; for an anonymous login the
 * account the server named, or else the first of AnonymousUsers) and that
 * user's hash, and the <Anonymous> block it landed in, worked out by USER
 * under the policy of generation policy_gen (0: not yet). */
typedef struct fl_login {
    uint32_t user_hv;
    uint32_t policy_gen;
    uint16_t len;        /* of name */
    uint8_t anonymity;   /* fl_anonymity: who says whether it is anonymous */
    uint8_t flags;       /* FL_LOGIN_* */
    uint16_t anon_block; /* an anonymous login's <Anonymous> block: 1 + its
                            scope's index, 0 for none */
    uint16_t ngroups;    /* the user's groups (fl_user_groups), for <IfGroup> */
    uint16_t groups_len; /* ... in bytes, NULs included */
    char name[];         /* NUL-terminated; for FL_ANON_YES the account follows,
                            NUL-terminated too; then the groups, each
                            NUL-terminated */
} fl_login;

#define FL_LOGIN_ANONYMOUS 1        /* it is, under the policy of policy_gen */
#define FL_LOGIN_PASSWORD_CHECKED 2 /* fl_anon_pass_check let its password in */

struct fl_session {
    UT_hash_handle hh;
    fl_host *host;
    fl_class_count *cls;
    union {
        fl_login *login;            /* the USER name, until authenticated */
        struct fl_user_entry *user; /* once authenticated */
    } u;
    uint16_t failed; /* failed logins */
    bool authenticated;
    char country[2]; /* the country it counts in once authenticated, or "" */
    char sid[];      /* key */
};

/*
 * The counts of one server (ProFTPD's main server or a <VirtualHost>):
 * ProFTPD counts every limit per server, so each server has tables of its
 * own. An <Anonymous> block's logins count in its server's tables, under
 * the block's account, which is what the block's limits count. A server
 * keeps its counts across reloads (by its scope's name); one the policy no
 * longer has keeps them until its sessions end, under the main server's
 * limits.
 */
typedef struct fl_server_counts {
    char *name;           /* the scope's name */
    const fl_scope *def;  /* the policy in force's scope, or NULL: not in it */
    const fl_limits *lim; /* def's limits, or the main server's */
    uint16_t id;          /* its index in e->t.counts */
    bool anons, conds;    /* def has <Anonymous> blocks, <IfUser>/<IfClass> ones */

    fl_host *hosts;
    fl_user_entry *users;
    fl_user_host *user_hosts; /* the pairs that are not a user's first */
    size_t npairs;            /* every pair, first or not */
    fl_class_count *classes;
    fl_class_count **class_of_def; /* by index in the policy's classes: its
                                      count, or NULL while it has none */
    fl_network *networks;
    fl_country *countries;
    size_t nsessions, nclients;
    uint64_t refusals[FL_L_COUNT];     /* its decisions that refused, by limit */
    uint64_t dry_refusals[FL_L_COUNT]; /* ... and would have, under DryRun */
} fl_server_counts;

#define FL_COUNTS_MAX 65535 /* servers counted at once (fl_host.counts) */

struct fl_tables {
    fl_session *sessions;
    fl_server_counts **counts; /* every server counted, by id; [0] is "main" */
    size_t ncounts;
    fl_server_counts **counts_of_scope; /* by the policy in force's scope index: the
                                    server's (an <Anonymous> block's server's) */

    size_t nsessions, nclients, nhosts; /* over every server */
    fl_host *idle_head, *idle_tail;     /* oldest idle first, every server's */
    size_t nidle;
    uint64_t evictions;
    int sweep_timer; /* the idle sweep's timer number, -1 when not armed */

    fl_block_cache session_blocks; /* freed sessions' blocks, for the next */
    fl_block_cache login_blocks;   /* the same for USER names */

    fl_rate *rate;       /* MaxConnectionRate, daemon-wide */
    uint64_t next_sid;   /* the number of the engine's last id, unless... */
    bool sid_past_u64;   /* ... that number went past UINT64_MAX */
    char sid_digits[24]; /* next_sid in decimal, unterminated; "" for 0 */
    size_t nsid_digits;
};

/* How full a table may get before its buckets double, in entries per 100
 * buckets (see tables.c): hosts and users, searched at every decision; the
 * other tables a login searches; sessions. */
#define FL_HOT_LOAD 50
#define FL_LOOKUP_LOAD 100
#define FL_SESSIONS_LOAD 200
#define FL_TABLE_OVER_LOAD(tbl, load)                                                  \
    ((uint64_t)(tbl)->num_items * 100 > (uint64_t)(tbl)->num_buckets * (load))

/* The tables, with the main server's counts for e->policy. -1/ENOMEM. */
int fl_tables_init(fl_engine *e);
void fl_tables_free(fl_engine *e);

/* The counts of the server a host belongs to (where the engine's struct
 * is known: context.h). */
#define fl_host_server(e, h) ((e)->t.counts[(h)->counts])
/* The counts of the server a client reached (NULL: the main server),
 * under the policy in force. */
fl_server_counts *fl_server_for(fl_engine *e, const fl_bind *server);
/* The counts of the scope named name (a server's), or NULL. */
fl_server_counts *fl_server_named(fl_engine *e, const char *name);
/* The counts of the server text names: its name, or one of the addresses
 * (ADDR:PORT) of a <VirtualHost> of the policy in force. NULL: none. */
fl_server_counts *fl_server_resolve(fl_engine *e, const char *text);

/*
 * One naming rule for every table (and the public fl_session_find):
 *   NAME_find(key)          the entry or NULL; computes the key's hash
 *   NAME_find_hv(key, hv)   the same with the hash already computed
 *   NAME_lookup(key, &hv)   the entry or NULL, and the key's hash in *hv
 *                           for the insert that follows a miss
 *   NAME_insert(key, hv)    a new entry for a key lookup did not find, with
 *                           the hash it gave (NULL/ENOMEM)
 *   NAME_release(entry)     free the entry if nothing counts in it any more
 * Looking up once and inserting with the same hash keeps a login to one
 * hash and one chain walk per table.
 */

/* The hash the tables give a key. A decision hashes its keys first and
 * asks for their buckets (prefetch), then does its other work, so that the
 * buckets' cache misses overlap it and each other instead of adding up;
 * find_hv then takes the hash. */
unsigned fl_key_hash(const fl_engine *e, const void *key, size_t len);
/* The hosts table's hash of an address. */
unsigned fl_host_hash(const fl_engine *e, const fl_addr *addr);
void fl_host_prefetch(fl_server_counts *c, unsigned hv);
void fl_user_prefetch(fl_server_counts *c, unsigned hv);
void fl_session_prefetch(fl_engine *e, unsigned hv);
fl_host *fl_host_find_hv(fl_server_counts *c, const fl_addr *addr, unsigned hv);
fl_user_entry *fl_user_find_hv(fl_server_counts *c, const char *name, size_t len,
                               unsigned hv);

fl_host *fl_host_lookup(fl_engine *e, fl_server_counts *c, const fl_addr *addr,
                        unsigned *hv);
/* May evict the oldest idle host at MaxTrackedHosts; NULL with ENOSPC when
 * the table is full of live hosts. */
fl_host *fl_host_insert(fl_engine *e, fl_server_counts *c, const fl_addr *addr,
                        unsigned hv);
/* Frees the host, or parks it on the idle list while its rate window
 * matters. Call when its conns dropped to 0. */
void fl_host_release(fl_engine *e, fl_host *h);
/* Take a host off the idle list because a session uses it again. */
void fl_host_unidle(fl_engine *e, fl_host *h);
/* Size h's MaxConnectionRatePerHost window to the policy's count (a
 * reload may have changed it). false/ENOMEM, with h as it was. */
bool fl_host_rate_fit(fl_engine *e, fl_host *h);

fl_user_entry *fl_user_lookup(fl_engine *e, fl_server_counts *c, const char *name,
                              size_t len, unsigned *hv);
fl_user_entry *fl_user_insert(fl_server_counts *c, const char *name, size_t len,
                              unsigned hv);
void fl_user_release(fl_server_counts *c, fl_user_entry *u);

/* The pair of u and h, or NULL; *hv is set when the table was searched. */
fl_pair *fl_pair_lookup(fl_engine *e, fl_server_counts *c, fl_user_entry *u, fl_host *h,
                        unsigned *hv);
/* A pair for u and h that lookup did not find: u's first when it is free
 * (hv unused), else in the table under hv. NULL/ENOMEM. */
fl_pair *fl_pair_insert(fl_server_counts *c, fl_user_entry *u, fl_host *h, unsigned hv);
/* The pair of an authenticated session's user and host. */
fl_pair *fl_pair_of(fl_engine *e, fl_server_counts *c, fl_user_entry *u, fl_host *h);
void fl_pair_release(fl_server_counts *c, fl_user_entry *u, fl_pair *pair);

fl_class_count *fl_class_count_lookup(fl_engine *e, fl_server_counts *c,
                                      const char *name, unsigned *hv);
/* The count of class def of the policy in force, created if need be:
 * reached through the class's index, its name is not hashed. NULL/ENOMEM. */
fl_class_count *fl_class_count_of(fl_engine *e, fl_server_counts *c,
                                  const fl_class_def *def);
/* The same for a class given by name, which the policy may not define (a
 * session resumed after a reload). */
fl_class_count *fl_class_count_named(fl_engine *e, fl_server_counts *c,
                                     const char *name);
void fl_class_count_release(fl_engine *e, fl_server_counts *c, fl_class_count *cc);
/* Before policy p comes into force: point every class count at p's class
 * of its name, and when p changes the network prefix lengths, count every
 * client again in its network under them. -1/ENOMEM with nothing changed. */
int fl_tables_adopt_policy(fl_engine *e, const fl_policy *p);

/* The network key of addr under the policy's prefix lengths. A host's
 * clients all count in the network of its address under the policy in
 * force (host->u.live.net). */
void fl_network_key(const fl_policy *p, const fl_addr *addr,
                    uint8_t key[FL_NET_KEY_LEN]);
fl_network *fl_network_lookup(fl_engine *e, fl_server_counts *c,
                              const uint8_t key[FL_NET_KEY_LEN], unsigned *hv);
fl_network *fl_network_insert(fl_server_counts *c, const uint8_t key[FL_NET_KEY_LEN],
                              unsigned hv);
void fl_network_release(fl_server_counts *c, fl_network *n);

fl_country *fl_country_lookup(fl_engine *e, fl_server_counts *c, const char code[2],
                              unsigned *hv);
fl_country *fl_country_insert(fl_server_counts *c, const char code[2], unsigned hv);
void fl_country_release(fl_server_counts *c, fl_country *country);

/* The session of id sid, hashed to hv (the sessions table's hash, which
 * session.c chooses: see sid_hash). */
fl_session *fl_session_find_hv(fl_engine *e, const char *sid, size_t len, unsigned hv);
fl_session *fl_session_insert(fl_engine *e, const char *sid, size_t len, unsigned hv);
/* Take s out of the table and free it (its login, if any, is the caller's). */
void fl_session_delete(fl_engine *e, fl_session *s);

/* A session's USER name: the len bytes at name (len <= FL_USER_MAX), with
 * its anonymity and, for FL_ANON_YES, the account it counts under (else
 * NULL), not yet worked out (policy_gen 0). NULL/ENOMEM. Free it with
 * fl_login_free(). */
fl_login *fl_login_new(fl_engine *e, const char *name, size_t len,
                       fl_anonymity anonymity, const char *account);
/* The account a login of anonymity FL_ANON_YES counts under. */
static inline const char *fl_login_account(const fl_login *login)
{
    return login->name + login->len + 1;
}
/* login with the groups (names, one after another, NUL-terminated, len
 * bytes in all) in place of its own: a new block, login freed. NULL/ENOMEM,
 * login untouched. */
fl_login *fl_login_with_groups(fl_engine *e, fl_login *login, const char *names,
                               size_t n, size_t len);
/* The groups of a login. */
fl_groups fl_login_groups(const fl_login *login);
void fl_login_free(fl_engine *e, fl_login *login);

/* The user an authenticated session counts under. */
static inline fl_user_entry *fl_session_user_entry(const fl_session *s)
{
    return s->u.user;
}

#endif
