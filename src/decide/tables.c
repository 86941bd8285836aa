/*
 * tables.c - look up, insert and release the engine's counted entries.
 *
 * Every table is a uthash hashed with the engine's SipHash key (see
 * util/uthash_keyed.h). An entry is freed by "release" once its counts say nothing
 * refers to it any more. Host entries alone may outlive their sessions, to
 * remember recent connections for MaxConnectionRatePerHost: they wait on an
 * idle list in the order they went idle, and leave it when their window has
 * run out (a sweep on the engine's timers) or when MaxTrackedHosts needs the
 * room, oldest first.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "util/addr.h"
#include "context.h"

#define SWEEP_INTERVAL FL_USEC_PER_SEC

/* Bytes for a struct ending in a flexible array of n bytes: the array starts
 * at its offset, inside the struct's tail padding, so sizeof would waste up
 * to 7 bytes -- and, across a malloc size class, 16. */
#define FL_FLEX_SIZE(type, member, n)                                                  \
    (offsetof(type, member) + (n) > sizeof(type) ? offsetof(type, member) + (n)        \
                                                 : sizeof(type))

/*
 * Sessions come and go with every connection, and nearly all of them take
 * a block of one size, as nearly all USER names fit one of LOGIN_BLOCK: the
 * engine keeps up to BLOCKS_KEPT freed blocks of each (fl_block_cache). A
 * session whose id is too long, or a name, gets a block of its own size,
 * which is never kept.
 */
#define SESSION_BLOCK 104 /* malloc's 112-byte chunk: ids of up to 18 bytes */
#define LOGIN_BLOCK 40    /* malloc's 48-byte chunk: names of up to 25 bytes */
#define BLOCKS_KEPT 64

static void tables_reset(fl_engine *e)
{
    memset(&e->t, 0, sizeof e->t);
    e->t.sweep_timer = -1;
    e->t.session_blocks = (fl_block_cache){.max = BLOCKS_KEPT, .size = SESSION_BLOCK};
    e->t.login_blocks = (fl_block_cache){.max = BLOCKS_KEPT, .size = LOGIN_BLOCK};
}

/* A server's counts, kept from now on under e->t.counts[id]. */
static fl_server_counts *counts_new(fl_engine *e, const char *name)
{
    if (e->t.ncounts >= FL_COUNTS_MAX) {
        errno = ENOSPC;
        return NULL;
    }
    fl_server_counts **grown =
        fl_realloc(e->t.counts, (e->t.ncounts + 1) * sizeof *grown);
    if (grown == NULL)
        return NULL;
    e->t.counts = grown;
    fl_server_counts *c = fl_calloc(1, sizeof *c);
    if (c == NULL || (c->name = fl_strdup(name)) == NULL) {
        fl_free(c);
        return NULL;
    }
    c->id = (uint16_t)e->t.ncounts;
    e->t.counts[e->t.ncounts++] = c;
    return c;
}

int fl_tables_init(fl_engine *e)
{
    tables_reset(e);
    const fl_policy *p = e->policy;
    fl_server_counts *main_counts = counts_new(e, p->scopes[0].name);
    e->t.counts_of_scope = fl_calloc(p->nscopes, sizeof *e->t.counts_of_scope);
    if (main_counts == NULL || e->t.counts_of_scope == NULL) {
        fl_tables_free(e);
        errno = ENOMEM;
        return -1;
    }
    main_counts->def = &p->scopes[0];
    main_counts->lim = &p->scopes[0].lim;
    for (size_t i = 0; i < p->nscopes; i++)
        e->t.counts_of_scope[i] = main_counts; /* the empty policy has one */
    return 0;
}

fl_server_counts *fl_server_for(fl_engine *e, const fl_bind *server)
{
    const fl_policy *p = e->policy;
    if (server == NULL || p->nbind_index == 0)
        return e->t.counts_of_scope[0];
    return e->t.counts_of_scope[fl_policy_server(p, server) - p->scopes];
}

fl_server_counts *fl_server_named(fl_engine *e, const char *name)
{
    for (size_t i = 0; i < e->t.ncounts; i++) {
        if (strcmp(e->t.counts[i]->name, name) == 0)
            return e->t.counts[i];
    }
    return NULL;
}

fl_server_counts *fl_server_resolve(fl_engine *e, const char *text)
{
    fl_server_counts *c = fl_server_named(e, text);
    fl_bind b;
    if (c == NULL && fl_endpoint_parse(text, &b) == 0) {
        const fl_policy *p = e->policy;
        const fl_scope *sc = fl_policy_server(p, &b);
        if (sc != &p->scopes[0]) /* the main server has no address of its own */
            c = e->t.counts_of_scope[sc - p->scopes];
    }
    return c;
}

/*
 * How full a table gets before its buckets double (FL_*_LOAD in tables.h).
 * uthash alone doubles a table only when one chain reaches
 * HASH_BKT_CAPACITY_THRESH (10): the tables then sit at about three
 * entries per bucket, and each entry walked in a lookup is a cache miss.
 * The tables searched at every connect and every login, hosts and users,
 * double when they hold more entries than half their buckets: a lookup then
 * meets another entry before its own a quarter of the time at most, for 32
 * bytes of bucket per entry at most (at 1M live sessions this was worth 12 %
 * of a lifecycle over one entry per bucket). The others searched at a login
 * now and then (pairs, networks, countries, classes) hold up to one entry
 * per bucket. The sessions table is reached through pointers, and searched
 * only for an id a caller gives, but a close and a connect write to the
 * neighbours of their session in its chain: two per bucket (four cost 5 to
 * 8 % of a lifecycle at 100k live).
 *
 * uthash's own trigger stays, raised to a chain of 64: with a keyed hash a
 * long chain is bad luck, not an attack, and doubling a whole table for it
 * would only grow the table under churn, as its chains come and go.
 */
#undef HASH_BKT_CAPACITY_THRESH
#define HASH_BKT_CAPACITY_THRESH 64U

/* Add item under key with hash hv, then double the buckets if the table
 * holds more than load entries per 100 buckets (a doubling that fails for want
 * of memory leaves the table as it was). On failure to add, free item, set
 * errno to ENOMEM and return NULL from the calling function. */
#define TABLE_INSERT_OR_FAIL(head, item, keyptr, keylen, hv, load)                     \
    TABLE_INSERT_OR_DISCARD(head, item, keyptr, keylen, hv, load, fl_free)
/* The same, with discard(item) instead of fl_free(item). */
#define TABLE_INSERT_OR_DISCARD(head, item, keyptr, keylen, hv, load, discard)         \
    do {                                                                               \
        HASH_ADD_KEYPTR_BYHASHVALUE(hh, head, keyptr, keylen, hv, item);               \
        if (!FL_HASH_ADDED(item)) {                                                    \
            discard(item);                                                             \
            errno = ENOMEM;                                                            \
            return NULL;                                                               \
        }                                                                              \
        UT_hash_table *tbl_ = (head)->hh.tbl;                                          \
        if (FL_TABLE_OVER_LOAD(tbl_, load)) {                                          \
            int oomed_ = 0;                                                            \
            HASH_EXPAND_BUCKETS(hh, tbl_, oomed_);                                     \
            (void)oomed_;                                                              \
        }                                                                              \
    } while (0)

#define FREE_TABLE(head, type)                                                         \
    do {                                                                               \
        type *it_, *tmp_;                                                              \
        HASH_ITER(hh, head, it_, tmp_)                                                 \
        {                                                                              \
            HASH_DEL(head, it_);                                                       \
            fl_free(it_);                                                              \
        }                                                                              \
    } while (0)

#define TABLE_PREFETCH(head, hv)                                                       \
    do {                                                                               \
        if ((head) != NULL) {                                                          \
            const UT_hash_table *tbl_ = (head)->hh.tbl;                                \
            __builtin_prefetch(&tbl_->buckets[(hv) & (tbl_->num_buckets - 1U)]);       \
        }                                                                              \
    } while (0)

unsigned fl_key_hash(const fl_engine *e, const void *key, size_t len)
{
    const fl_hash_key *hash_key = &e->hash_key;
    unsigned hv;
    HASH_VALUE(key, len, hv);
    return hv;
}

/* --- hosts ---------------------------------------------------------------- */

unsigned fl_host_hash(const fl_engine *e, const fl_addr *addr)
{
    /* The twelve bytes before an IPv4 address are always the same: SipHash
     * of its four alone takes four rounds instead of six. The length is in
     * SipHash's last block, so no IPv6 address shares such a hash but by
     * chance. */
    if (fl_addr_v4(addr))
        return fl_key_hash(e, addr->b + 12, 4);
    return fl_key_hash(e, addr->b, sizeof addr->b);
}

void fl_host_prefetch(fl_server_counts *c, unsigned hv)
{
    TABLE_PREFETCH(c->hosts, hv);
}

fl_host *fl_host_find_hv(fl_server_counts *c, const fl_addr *addr, unsigned hv)
{
    fl_host *h;
    HASH_FIND_BYHASHVALUE(hh, c->hosts, addr, sizeof *addr, hv, h);
    return h;
}

fl_host *fl_host_lookup(fl_engine *e, fl_server_counts *c, const fl_addr *addr,
                        unsigned *hv)
{
    *hv = fl_host_hash(e, addr);
    return fl_host_find_hv(c, addr, *hv);
}

/* Take h off the idle list; its storage serves a live host again. */
static void idle_unlink(struct fl_tables *t, fl_host *h)
{
    fl_host *prev = h->u.idle.prev, *next = h->u.idle.next;
    if (prev != NULL)
        prev->u.idle.next = next;
    else
        t->idle_head = next;
    if (next != NULL)
        next->u.idle.prev = prev;
    else
        t->idle_tail = prev;
    memset(&h->u, 0, sizeof h->u);
    t->nidle--;
}

/*
 * A host's MaxConnectionRatePerHost window is placed right after its
 * struct, in the same block, when the policy's count is small: a connect
 * then reads the window from the lines it reads the host from. A reload to
 * another count gives the host a window of its own.
 */
#define HOST_INLINE_RATE_MAX 64

static fl_rate *host_inline_rate(fl_host *h)
{
    return (fl_rate *)(void *)(h + 1);
}

static void host_free_rate(fl_host *h)
{
    if (h->rate != host_inline_rate(h))
        fl_free(h->rate);
}

static void host_free(fl_engine *e, fl_host *h)
{
    HASH_DEL(fl_host_server(e, h)->hosts, h);
    e->t.nhosts--;
    host_free_rate(h);
    fl_free(h);
}

bool fl_host_rate_fit(fl_engine *e, fl_host *h)
{
    return fl_rate_fit(&h->rate, fl_host_server(e, h)->lim->rate_per_host.count,
                       host_inline_rate(h));
}

/* Free the idle host that went idle first. */
static void idle_pop(fl_engine *e)
{
    fl_host *h = e->t.idle_head;
    idle_unlink(&e->t, h);
    host_free(e, h);
}

/* When a host's rate state stops mattering: its newest connect leaves the
 * window of the policy in force. */
static bool host_rate_expired(const fl_engine *e, const fl_host *h, fl_usec now)
{
    const fl_rate_cfg *r = &fl_host_server(e, h)->lim->rate_per_host;
    return h->rate == NULL || r->count == FL_UNLIMITED ||
           fl_rate_newest(h->rate) + r->interval <= now;
}

static void idle_expire(fl_engine *e, fl_usec now)
{
    while (e->t.idle_head != NULL && host_rate_expired(e, e->t.idle_head, now))
        idle_pop(e);
}

static int sweep_cb(fl_usec interval, int timerno, fl_usec elapsed, void *data)
{
    (void)interval;
    (void)timerno;
    (void)elapsed;
    fl_engine *e = data;
    idle_expire(e, fl_now(e));
    if (e->t.idle_head == NULL) {
        e->t.sweep_timer = -1;
        return 0;
    }
    return 1;
}

static void sweep_arm(fl_engine *e)
{
    if (e->t.sweep_timer >= 0)
        return;
    /* Should the timer not be armed, idle hosts still go: inserting a host
     * expires what is due, and MaxTrackedHosts evicts. */
    e->t.sweep_timer =
        fl_timer_add_usec(e, SWEEP_INTERVAL, FL_TIMER_DYNAMIC, NULL, sweep_cb, e);
}

fl_host *fl_host_insert(fl_engine *e, fl_server_counts *c, const fl_addr *addr,
                        unsigned hv)
{
    if (e->t.idle_head != NULL)
        idle_expire(e, fl_now(e));
    if ((long long)e->t.nhosts >= e->policy->max_tracked_hosts) {
        if (e->t.idle_head == NULL) {
            errno = ENOSPC;
            return NULL;
        }
        idle_pop(e);
        e->t.evictions++;
    }

    long long count = c->lim->rate_per_host.count;
    bool inline_rate = count != FL_UNLIMITED && count <= HOST_INLINE_RATE_MAX;
    fl_host *h =
        fl_calloc(1, sizeof *h + (inline_rate ? fl_rate_size((uint32_t)count) : 0));
    if (h == NULL)
        return NULL;
    h->addr = *addr;
    h->counts = c->id;
    if (inline_rate) {
        h->rate = host_inline_rate(h);
        fl_rate_init(h->rate, (uint32_t)count);
    }
    TABLE_INSERT_OR_FAIL(c->hosts, h, &h->addr, sizeof h->addr, hv, FL_HOT_LOAD);
    e->t.nhosts++;
    return h;
}

static bool host_is_idle(const fl_engine *e, const fl_host *h)
{
    return h->conns == 0 && (h->u.idle.prev != NULL || e->t.idle_head == h);
}

void fl_host_unidle(fl_engine *e, fl_host *h)
{
    if (host_is_idle(e, h))
        idle_unlink(&e->t, h);
}

void fl_host_release(fl_engine *e, fl_host *h)
{
    if (h->conns > 0 || host_is_idle(e, h))
        return;
    if (host_rate_expired(e, h, fl_now(e))) {
        host_free(e, h);
        return;
    }
    struct fl_tables *t = &e->t;
    h->u.idle.prev = t->idle_tail;
    h->u.idle.next = NULL;
    if (t->idle_tail != NULL)
        t->idle_tail->u.idle.next = h;
    else
        t->idle_head = h;
    t->idle_tail = h;
    t->nidle++;
    sweep_arm(e);
}

/* --- users and (user, host) pairs ------------------------------------------ */

void fl_user_prefetch(fl_server_counts *c, unsigned hv)
{
    TABLE_PREFETCH(c->users, hv);
}

fl_user_entry *fl_user_find_hv(fl_server_counts *c, const char *name, size_t len,
                               unsigned hv)
{
    fl_user_entry *u;
    HASH_FIND_BYHASHVALUE(hh, c->users, name, len, hv, u);
    return u;
}

fl_user_entry *fl_user_lookup(fl_engine *e, fl_server_counts *c, const char *name,
                              size_t len, unsigned *hv)
{
    *hv = fl_key_hash(e, name, len);
    return fl_user_find_hv(c, name, len, *hv);
}

fl_user_entry *fl_user_insert(fl_server_counts *c, const char *name, size_t len,
                              unsigned hv)
{
    fl_user_entry *u = fl_calloc(1, FL_FLEX_SIZE(fl_user_entry, name, len + 1));
    if (u == NULL)
        return NULL;
    memcpy(u->name, name, len);
    TABLE_INSERT_OR_FAIL(c->users, u, u->name, len, hv, FL_HOT_LOAD);
    return u;
}

void fl_user_release(fl_server_counts *c, fl_user_entry *u)
{
    if (u->clients > 0)
        return;
    HASH_DEL(c->users, u);
    fl_free(u);
}

/* What a pair in the table is looked up by: the bytes of its user and
 * pair.host. */
struct pair_key {
    fl_user_entry *user;
    fl_host *host;
};
_Static_assert(offsetof(fl_user_host, pair.host) ==
                   offsetof(fl_user_host, user) + sizeof(fl_user_entry *),
               "a pair's key is its user and host, adjacent");

static fl_user_host *pair_table_find(fl_engine *e, fl_server_counts *c,
                                     fl_user_entry *u, fl_host *h, unsigned *hv)
{
    struct pair_key k = {u, h};
    fl_user_host *uh;
    *hv = fl_key_hash(e, &k, sizeof k);
    HASH_FIND_BYHASHVALUE(hh, c->user_hosts, &k, sizeof k, *hv, uh);
    return uh;
}

fl_pair *fl_pair_lookup(fl_engine *e, fl_server_counts *c, fl_user_entry *u, fl_host *h,
                        unsigned *hv)
{
    if (u->first.host == h)
        return &u->first;
    fl_user_host *uh = pair_table_find(e, c, u, h, hv);
    return uh != NULL ? &uh->pair : NULL;
}

fl_pair *fl_pair_insert(fl_server_counts *c, fl_user_entry *u, fl_host *h, unsigned hv)
{
    fl_pair *pair = &u->first;
    if (u->first.host != NULL) {
        fl_user_host *uh = fl_calloc(1, sizeof *uh);
        if (uh == NULL)
            return NULL;
        uh->user = u;
        uh->pair.host = h;
        TABLE_INSERT_OR_FAIL(c->user_hosts, uh, &uh->user, sizeof(struct pair_key), hv,
                             FL_LOOKUP_LOAD);
        pair = &uh->pair;
    }
    pair->host = h;
    u->nhosts++;
    c->npairs++;
    return pair;
}

fl_pair *fl_pair_of(fl_engine *e, fl_server_counts *c, fl_user_entry *u, fl_host *h)
{
    unsigned hv;
    /* An authenticated session's pair exists: first, or in the table. */
    return u->first.host == h ? &u->first : &pair_table_find(e, c, u, h, &hv)->pair;
}

void fl_pair_release(fl_server_counts *c, fl_user_entry *u, fl_pair *pair)
{
    if (pair->clients > 0)
        return;
    u->nhosts--;
    c->npairs--;
    if (pair == &u->first) {
        pair->host = NULL;
        return;
    }
    fl_user_host *uh =
        (fl_user_host *)(void *)((char *)pair - offsetof(fl_user_host, pair));
    HASH_DEL(c->user_hosts, uh);
    fl_free(uh);
}

/* --- classes -------------------------------------------------------------- */

fl_class_count *fl_class_count_lookup(fl_engine *e, fl_server_counts *c,
                                      const char *name, unsigned *hv)
{
    size_t len = strlen(name);
    fl_class_count *cc;
    *hv = fl_key_hash(e, name, len);
    HASH_FIND_BYHASHVALUE(hh, c->classes, name, len, *hv, cc);
    return cc;
}

static fl_class_count *class_count_insert(fl_engine *e, fl_server_counts *c,
                                          const char *name, const fl_class_def *def)
{
    size_t len = strlen(name);
    unsigned hv = fl_key_hash(e, name, len);
    fl_class_count *cc = fl_calloc(1, FL_FLEX_SIZE(fl_class_count, name, len + 1));
    if (cc == NULL)
        return NULL;
    memcpy(cc->name, name, len);
    cc->def = def;
    TABLE_INSERT_OR_FAIL(c->classes, cc, cc->name, len, hv, FL_LOOKUP_LOAD);
    return cc;
}

fl_class_count *fl_class_count_of(fl_engine *e, fl_server_counts *c,
                                  const fl_class_def *def)
{
    fl_class_count **slot = &c->class_of_def[def - e->policy->classes];
    if (*slot == NULL)
        *slot = class_count_insert(e, c, def->name, def);
    return *slot;
}

fl_class_count *fl_class_count_named(fl_engine *e, fl_server_counts *c,
                                     const char *name)
{
    const fl_class_def *def = fl_policy_class(e->policy, name);
    if (def != NULL)
        return fl_class_count_of(e, c, def);
    unsigned hv;
    fl_class_count *cc = fl_class_count_lookup(e, c, name, &hv);
    return cc != NULL ? cc : class_count_insert(e, c, name, NULL);
}

void fl_class_count_release(fl_engine *e, fl_server_counts *c, fl_class_count *cc)
{
    if (cc->conns > 0)
        return;
    if (cc->def != NULL)
        c->class_of_def[cc->def - e->policy->classes] = NULL;
    HASH_DEL(c->classes, cc);
    fl_free(cc);
}

/* --- networks ------------------------------------------------------------- */

void fl_network_key(const fl_policy *p, const fl_addr *addr,
                    uint8_t key[FL_NET_KEY_LEN])
{
    unsigned bits = fl_addr_is_v4(addr) ? p->net_v4_bits : p->net_v6_bits;
    fl_addr masked;
    fl_addr_mask(addr, bits, &masked);
    memcpy(key, masked.b, 16);
    key[16] = (uint8_t)bits;
}

fl_network *fl_network_lookup(fl_engine *e, fl_server_counts *c,
                              const uint8_t key[FL_NET_KEY_LEN], unsigned *hv)
{
    fl_network *n;
    *hv = fl_key_hash(e, key, FL_NET_KEY_LEN);
    HASH_FIND_BYHASHVALUE(hh, c->networks, key, FL_NET_KEY_LEN, *hv, n);
    return n;
}

/* A network entry for key, added to the table *head. NULL/ENOMEM. */
static fl_network *network_add(fl_network **head, const uint8_t key[FL_NET_KEY_LEN],
                               unsigned hv)
{
    fl_network *n = fl_calloc(1, sizeof *n);
    if (n == NULL)
        return NULL;
    memcpy(n->key, key, FL_NET_KEY_LEN);
    TABLE_INSERT_OR_FAIL(*head, n, n->key, FL_NET_KEY_LEN, hv, FL_LOOKUP_LOAD);
    return n;
}

fl_network *fl_network_insert(fl_server_counts *c, const uint8_t key[FL_NET_KEY_LEN],
                              unsigned hv)
{
    return network_add(&c->networks, key, hv);
}

void fl_network_release(fl_server_counts *c, fl_network *n)
{
    if (n->clients > 0)
        return;
    HASH_DEL(c->networks, n);
    fl_free(n);
}

static bool host_has_clients(const fl_host *h)
{
    return h->conns > 0 && h->u.live.clients > 0;
}

/* The entry in nets for h's network under p's prefix lengths, or NULL;
 * its key and hash in key and *hv. */
static fl_network *host_network_in(fl_engine *e, const fl_policy *p, fl_network *nets,
                                   const fl_host *h, uint8_t key[FL_NET_KEY_LEN],
                                   unsigned *hv)
{
    fl_network *n;
    fl_network_key(p, &h->addr, key);
    *hv = fl_key_hash(e, key, FL_NET_KEY_LEN);
    HASH_FIND_BYHASHVALUE(hh, nets, key, FL_NET_KEY_LEN, *hv, n);
    return n;
}

/* c's networks table as it would be under p's prefix lengths: every live
 * host's clients counted in its network. NULL in *out with -1/ENOMEM. */
static int networks_under(fl_engine *e, fl_server_counts *c, const fl_policy *p,
                          fl_network **out)
{
    fl_network *nets = NULL;
    fl_host *h, *tmp;
    HASH_ITER(hh, c->hosts, h, tmp)
    {
        if (!host_has_clients(h))
            continue;
        uint8_t key[FL_NET_KEY_LEN];
        unsigned hv;
        fl_network *n = host_network_in(e, p, nets, h, key, &hv);
        if (n == NULL && (n = network_add(&nets, key, hv)) == NULL) {
            FREE_TABLE(nets, fl_network);
            *out = NULL;
            return -1;
        }
        n->clients += h->u.live.clients;
    }
    *out = nets;
    return 0;
}

/* Put nets, from networks_under(), in force in c for policy p. */
static void networks_replace(fl_engine *e, fl_server_counts *c, const fl_policy *p,
                             fl_network *nets)
{
    fl_host *h, *tmp;
    HASH_ITER(hh, c->hosts, h, tmp)
    {
        uint8_t key[FL_NET_KEY_LEN];
        unsigned hv;
        if (host_has_clients(h))
            h->u.live.net = host_network_in(e, p, nets, h, key, &hv);
    }
    FREE_TABLE(c->networks, fl_network);
    c->networks = nets;
}

/* What putting a policy in force changes in one server's counts, made
 * before anything changes. */
struct counts_plan {
    fl_server_counts *c;
    const fl_scope *def;
    fl_class_count **by_def;
    fl_network *nets;
};

static void plans_free(struct counts_plan *plans, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        fl_free(plans[i].by_def);
        FREE_TABLE(plans[i].nets, fl_network);
    }
    fl_free(plans);
}

int fl_tables_adopt_policy(fl_engine *e, const fl_policy *p)
{
    const fl_policy *old = e->policy;
    bool renet =
        p->net_v4_bits != old->net_v4_bits || p->net_v6_bits != old->net_v6_bits;
    size_t had = e->t.ncounts;
    fl_server_counts **by_scope = fl_calloc(p->nscopes, sizeof *by_scope);
    struct counts_plan *plans = NULL;
    if (by_scope == NULL)
        return -1;

    /* Each server of p finds its counts by name, or gets new ones. */
    for (size_t i = 0; i < p->nscopes; i++) {
        const fl_scope *sc = &p->scopes[i];
        if (sc->kind != FL_SCOPE_SERVER)
            continue;
        fl_server_counts *c = fl_server_named(e, sc->name);
        if (c == NULL && (c = counts_new(e, sc->name)) == NULL)
            goto fail;
        by_scope[i] = c;
    }
    for (size_t i = 0; i < p->nscopes; i++) {
        if (p->scopes[i].kind == FL_SCOPE_ANON)
            by_scope[i] = by_scope[p->scopes[i].server];
    }
    plans = fl_calloc(e->t.ncounts, sizeof *plans);
    if (plans == NULL)
        goto fail;
    for (size_t k = 0; k < e->t.ncounts; k++) {
        struct counts_plan *pl = &plans[k];
        pl->c = e->t.counts[k];
        for (size_t i = 0; i < p->nscopes; i++) {
            if (by_scope[i] == pl->c && p->scopes[i].kind == FL_SCOPE_SERVER)
                pl->def = &p->scopes[i];
        }
        if (p->nclasses > 0 &&
            (pl->by_def = fl_calloc(p->nclasses, sizeof *pl->by_def)) == NULL)
            goto fail;
        if (renet && networks_under(e, pl->c, p, &pl->nets) < 0)
            goto fail;
    }

    for (size_t k = 0; k < e->t.ncounts; k++) {
        struct counts_plan *pl = &plans[k];
        fl_server_counts *c = pl->c;
        fl_class_count *cc, *ctmp;
        HASH_ITER(hh, c->classes, cc, ctmp)
        {
            cc->def = fl_policy_class(p, cc->name);
            if (cc->def != NULL)
                pl->by_def[cc->def - p->classes] = cc;
        }
        fl_free(c->class_of_def);
        c->class_of_def = pl->by_def;
        pl->by_def = NULL;
        if (renet) {
            networks_replace(e, c, p, pl->nets);
            pl->nets = NULL;
        }
        c->def = pl->def;
        c->lim = pl->def != NULL ? &pl->def->lim : &p->scopes[0].lim;
        c->anons = pl->def != NULL && pl->def->nanons > 0;
        c->conds = pl->def != NULL && pl->def->nconds > 0;
    }
    plans_free(plans, e->t.ncounts);
    fl_free(e->t.counts_of_scope);
    e->t.counts_of_scope = by_scope;
    return 0;

fail:
    if (plans != NULL)
        plans_free(plans, e->t.ncounts);
    /* Counts made for this policy go again; nothing counts in them yet. */
    while (e->t.ncounts > had) {
        fl_server_counts *c = e->t.counts[--e->t.ncounts];
        fl_free(c->name);
        fl_free(c);
    }
    fl_free(by_scope);
    errno = ENOMEM;
    return -1;
}

/* --- countries ------------------------------------------------------------ */

fl_country *fl_country_lookup(fl_engine *e, fl_server_counts *c, const char code[2],
                              unsigned *hv)
{
    fl_country *country;
    *hv = fl_key_hash(e, code, 2);
    HASH_FIND_BYHASHVALUE(hh, c->countries, code, 2, *hv, country);
    return country;
}

fl_country *fl_country_insert(fl_server_counts *c, const char code[2], unsigned hv)
{
    fl_country *country = fl_calloc(1, sizeof *country);
    if (country == NULL)
        return NULL;
    memcpy(country->code, code, 2);
    TABLE_INSERT_OR_FAIL(c->countries, country, country->code, 2, hv, FL_LOOKUP_LOAD);
    return country;
}

void fl_country_release(fl_server_counts *c, fl_country *country)
{
    if (country->clients > 0)
        return;
    HASH_DEL(c->countries, country);
    fl_free(country);
}

/* --- sessions ------------------------------------------------------------- */

void fl_session_prefetch(fl_engine *e, unsigned hv)
{
    TABLE_PREFETCH(e->t.sessions, hv);
}

fl_session *fl_session_find_hv(fl_engine *e, const char *sid, size_t len, unsigned hv)
{
    fl_session *s;
    HASH_FIND_BYHASHVALUE(hh, e->t.sessions, sid, len, hv, s);
    return s;
}

_Static_assert(offsetof(fl_session, sid) + 19 <= SESSION_BLOCK,
               "a session block holds the engine's ids up to c99999999999999999");

static size_t session_size(size_t sid_len)
{
    return FL_FLEX_SIZE(fl_session, sid, sid_len + 1);
}

static fl_session *session_block_new(struct fl_tables *t, size_t sid_len)
{
    fl_session *s = fl_block_alloc(&t->session_blocks, session_size(sid_len));
    return s != NULL ? memset(s, 0, offsetof(fl_session, sid)) : NULL;
}

/* s, whose id is sid_len bytes long: the table's key length, which a close
 * reads from the session's first line, where its id may lie in another. */
static void session_block_free(struct fl_tables *t, fl_session *s, size_t sid_len)
{
    fl_block_release(&t->session_blocks, s, session_size(sid_len));
}
#define SESSION_DISCARD(s) session_block_free(&e->t, (s), len)

fl_session *fl_session_insert(fl_engine *e, const char *sid, size_t len, unsigned hv)
{
    fl_session *s = session_block_new(&e->t, len);
    if (s == NULL)
        return NULL;
    memcpy(s->sid, sid, len);
    s->sid[len] = '\0';
    TABLE_INSERT_OR_DISCARD(e->t.sessions, s, s->sid, len, hv, FL_SESSIONS_LOAD,
                            SESSION_DISCARD);
    return s;
}

void fl_session_delete(fl_engine *e, fl_session *s)
{
    size_t sid_len = s->hh.keylen;
    HASH_DEL(e->t.sessions, s);
    session_block_free(&e->t, s, sid_len);
}

/* The block of a name of len bytes, an account of account_len (0 for
 * none), each with its NUL, and groups_len bytes of groups. */
static size_t login_size(size_t len, size_t account_len, size_t groups_len)
{
    return FL_FLEX_SIZE(fl_login, name,
                        len + 1 + (account_len ? account_len + 1 : 0) + groups_len);
}

static size_t login_account_len(const fl_login *login)
{
    return login->anonymity == FL_ANON_YES ? strlen(fl_login_account(login)) : 0;
}

/* Where a login's groups are. */
static size_t login_groups_at(const fl_login *login)
{
    size_t alen = login_account_len(login);
    return login->len + 1u + (alen ? alen + 1 : 0);
}

fl_login *fl_login_new(fl_engine *e, const char *name, size_t len,
                       fl_anonymity anonymity, const char *account)
{
    size_t alen = anonymity == FL_ANON_YES ? strlen(account) : 0;
    fl_login *login = fl_block_alloc(&e->t.login_blocks, login_size(len, alen, 0));
    if (login != NULL) {
        login->policy_gen = 0;
        login->anon_block = 0;
        login->ngroups = login->groups_len = 0;
        login->len = (uint16_t)len;
        login->anonymity = (uint8_t)anonymity;
        login->flags = 0;
        memcpy(login->name, name, len);
        login->name[len] = '\0';
        if (alen > 0)
            memcpy(login->name + len + 1, account, alen + 1);
    }
    return login;
}

fl_login *fl_login_with_groups(fl_engine *e, fl_login *login, const char *names,
                               size_t n, size_t len)
{
    size_t at = login_groups_at(login);
    fl_login *with = fl_block_alloc(
        &e->t.login_blocks, login_size(login->len, login_account_len(login), len));
    if (with == NULL)
        return NULL;
    memcpy(with, login, offsetof(fl_login, name) + at);
    memcpy(with->name + at, names, len);
    with->ngroups = (uint16_t)n;
    with->groups_len = (uint16_t)len;
    fl_login_free(e, login);
    return with;
}

fl_groups fl_login_groups(const fl_login *login)
{
    return (fl_groups){login->ngroups > 0 ? login->name + login_groups_at(login) : NULL,
                       login->ngroups};
}

void fl_login_free(fl_engine *e, fl_login *login)
{
    if (login == NULL)
        return;
    fl_block_release(
        &e->t.login_blocks, login,
        login_size(login->len, login_account_len(login), login->groups_len));
}

/* --- teardown ------------------------------------------------------------- */

void fl_tables_free(fl_engine *e)
{
    struct fl_tables *t = &e->t;
    fl_session *s, *stmp;
    HASH_ITER(hh, t->sessions, s, stmp)
    {
        HASH_DEL(t->sessions, s);
        if (!s->authenticated)
            fl_login_free(e, s->u.login);
        fl_free(s);
    }
    fl_block_cache_free(&t->session_blocks);
    fl_block_cache_free(&t->login_blocks);
    for (size_t i = 0; i < t->ncounts; i++) {
        fl_server_counts *c = t->counts[i];
        fl_host *h, *htmp;
        HASH_ITER(hh, c->hosts, h, htmp)
        {
            HASH_DEL(c->hosts, h);
            host_free_rate(h);
            fl_free(h);
        }
        FREE_TABLE(c->user_hosts, fl_user_host);
        FREE_TABLE(c->users, fl_user_entry);
        FREE_TABLE(c->classes, fl_class_count);
        fl_free(c->class_of_def);
        FREE_TABLE(c->networks, fl_network);
        FREE_TABLE(c->countries, fl_country);
        fl_free(c->name);
        fl_free(c);
    }
    fl_free(t->counts);
    fl_free(t->counts_of_scope);
    fl_free(t->rate);
    tables_reset(e);
}
