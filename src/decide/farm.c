/*
 * decide/farm.c - the claims of a decision a farm must check and count
 * (ftplimit/farm.h, doc/cluster.md).
 *
 * A field names one count: its kind (a letter), the server (its name),
 * then what is counted, "|" between them:
 *   S<server>           logged in (MaxClients; and the farm's total in status)
 *   C<server>|<addr>    connections (MaxConnectionsPerHost)
 *   H<server>|<addr>    logged in from a host (MaxClientsPerHost)
 *   N<server>|<net>/<len>  from a network   G<server>|<cc>  from a country
 *   K<server>|<class>   of a class         U<server>|<user>   of a user
 *   P<server>|<len>|<user><addr>  of a user from a host; the store keeps
 *                       D<server>|<len>|<user>, the user's distinct hosts
 *   R / R<server>|<addr>  MaxConnectionRate's and ...PerHost's windows
 * A user name is any bytes: P's length prefix keeps the pair's split
 * unambiguous.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "decide/farm.h"
#include "util/alloc.h"

#define SERVER_NAME_MAX 200

static struct fl_farm_claims *claims_of(fl_engine *e)
{
    if (e->farm == NULL)
        e->farm = fl_calloc(1, sizeof *e->farm);
    return e->farm;
}

/* The server's part of a field: its name, or a digest of a long one
 * (FNV-1a: the same on every node, unlike the tables' keyed hash). */
static int server_part(const fl_server_counts *c, char *out, size_t size)
{
    size_t len = strlen(c->name);
    if (len <= SERVER_NAME_MAX)
        return snprintf(out, size, "%s", c->name);
    uint64_t h = UINT64_C(14695981039346656037);
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)c->name[i]) * UINT64_C(1099511628211);
    return snprintf(out, size, "#%016llx", (unsigned long long)h);
}

/* k a claim that checks nothing, its field started with kind and the
 * server. */
static void claim_init(fl_farm_claim *k, fl_farm_op op, char kind,
                       const fl_server_counts *c)
{
    k->op = op;
    k->limit = -1;
    k->directive = NULL;
    k->max = -1;
    k->interval_ms = 0;
    k->message = NULL;
    k->field[0] = kind;
    k->len = 1;
    if (c != NULL)
        k->len += (size_t)server_part(c, k->field + 1, sizeof k->field - 1);
}

/* A new claim of fc, as claim_init() starts it; NULL when full (cannot
 * happen: a step has fewer than FL_FARM_CLAIMS_MAX). */
static fl_farm_claim *claim_new(struct fl_farm_claims *fc, fl_farm_op op, char kind,
                                const fl_server_counts *c)
{
    if (fc->n == FL_FARM_CLAIMS_MAX)
        return NULL;
    fl_farm_claim *k = &fc->v[fc->n++];
    claim_init(k, op, kind, c);
    return k;
}

static void put(fl_farm_claim *k, const void *bytes, size_t n)
{
    if (k->len + n >= sizeof k->field)
        n = sizeof k->field - 1 - k->len; /* cannot happen: bounded above */
    memcpy(k->field + k->len, bytes, n);
    k->len += n;
    k->field[k->len] = '\0';
}

static void put_text(fl_farm_claim *k, const char *text)
{
    put(k, text, strlen(text));
}

static void put_addr(fl_farm_claim *k, const fl_addr *a)
{
    char text[FL_ADDR_TEXT_MAX];
    put(k, "|", 1);
    put_text(k, fl_addr_format(a, text, sizeof text));
}

static void set_check(fl_farm_claim *k, enum fl_limit_id id, long long max,
                      const char *message)
{
    k->limit = (int)id;
    k->directive = fl_limit_descs[id].directive;
    k->max = max;
    k->message = message;
}

/* Whether the farm checks limit id at l (set, and not ClusterLocal). */
static bool farm_checks(const fl_policy *p, enum fl_limit_id id, long long max)
{
    return max != FL_UNLIMITED && (p->cluster.counted >> id & 1);
}

static bool farm_counts(const fl_policy *p, enum fl_limit_id id)
{
    return p->cluster.counted >> id & 1;
}

static void rate_claim(struct fl_farm_claims *fc, const fl_policy *p,
                       enum fl_limit_id id, const fl_rate_cfg *r,
                       const fl_server_counts *c, const fl_addr *addr)
{
    if (!farm_checks(p, id, r->count))
        return;
    fl_farm_claim *k = claim_new(fc, FL_FARM_RATE, 'R', c);
    if (k == NULL)
        return;
    if (addr != NULL)
        put_addr(k, addr);
    set_check(k, id, r->count, r->message);
    k->interval_ms = (long long)(r->interval / 1000);
}

static void connect_claims(struct fl_farm_claims *fc, const fl_policy *p,
                           const fl_server_counts *c, const fl_session *s)
{
    const fl_limits *l = c->lim;
    rate_claim(fc, p, FL_L_RATE, &p->rate, NULL, NULL);
    rate_claim(fc, p, FL_L_RATE_PER_HOST, &l->rate_per_host, c, &s->host->addr);
    if (farm_counts(p, FL_L_CONNS_PER_HOST)) {
        fl_farm_claim *k = claim_new(fc, FL_FARM_ADD, 'C', c);
        if (k != NULL) {
            put_addr(k, &s->host->addr);
            if (farm_checks(p, FL_L_CONNS_PER_HOST, l->max_conns_per_host.max))
                set_check(k, FL_L_CONNS_PER_HOST, l->max_conns_per_host.max,
                          l->max_conns_per_host.message);
            if (k->limit >= 0)
                k->op = FL_FARM_COUNT;
        }
    }
}

/* The claims of e, emptied for a decision of the policy in force; NULL
 * without Cluster (or memory for them). */
static struct fl_farm_claims *claims_begin(fl_engine *e)
{
    struct fl_farm_claims *fc;
    if (!e->policy->cluster.on || (fc = claims_of(e)) == NULL)
        return NULL;
    fc->n = 0;
    fc->policy_gen = e->policy_gen;
    return fc;
}

void fl_farm_note_connect(fl_engine *e, const fl_server_counts *c, const fl_session *s)
{
    struct fl_farm_claims *fc = claims_begin(e);
    if (fc != NULL)
        connect_claims(fc, e->policy, c, s);
}

/* The claim on field (kind, c, then rest) made or found: a field is
 * counted once, whatever checks it. */
static fl_farm_claim *field_claim(struct fl_farm_claims *fc, fl_farm_claim *tmp)
{
    for (size_t i = 0; i < fc->n; i++) {
        fl_farm_claim *k = &fc->v[i];
        if (k->op != FL_FARM_RATE && k->len == tmp->len &&
            memcmp(k->field, tmp->field, tmp->len) == 0)
            return k;
    }
    if (fc->n == FL_FARM_CLAIMS_MAX)
        return NULL;
    fc->v[fc->n] = *tmp;
    return &fc->v[fc->n++];
}

/* A count of the login, checked against max for id when the farm checks
 * that limit: kind and server, then the rest of the field. */
static void login_claim(struct fl_farm_claims *fc, const fl_policy *p,
                        fl_farm_claim *tmp, fl_farm_op op, enum fl_limit_id id,
                        const fl_limit_cfg *lim)
{
    fl_farm_claim *k = field_claim(fc, tmp);
    if (k == NULL || lim == NULL || !farm_checks(p, id, lim->max))
        return;
    if (k->limit >= 0) {
        /* A field checked twice (an <Anonymous> block's host and pair):
         * the second check is a claim of its own on the same field. */
        if (fc->n == FL_FARM_CLAIMS_MAX)
            return;
        fc->v[fc->n] = *k;
        k = &fc->v[fc->n++];
    }
    k->op = op;
    set_check(k, id, lim->max, lim->message);
}

static void field_start(fl_farm_claim *tmp, char kind, const fl_server_counts *c)
{
    claim_init(tmp, FL_FARM_ADD, kind, c);
}

static void login_claims(struct fl_farm_claims *fc, const fl_engine *e,
                         const fl_session *s, const struct fl_farm_login *l)
{
    const fl_policy *p = e->policy;
    const fl_server_counts *c = fl_host_server(e, s->host);
    const fl_limits *lim = l->lim;
    const fl_addr *addr = &s->host->addr;
    fl_farm_claim tmp; /* a field being built */
    char text[64];

    /* In ProFTPD's order (decide/limits.c): class, host, network, country,
     * user, clients, hosts per user. */
    if (s->cls != NULL && farm_counts(p, FL_L_PER_CLASS)) {
        field_start(&tmp, 'K', c);
        put(&tmp, "|", 1);
        put_text(&tmp, s->cls->name);
        login_claim(fc, p, &tmp, FL_FARM_COUNT, FL_L_PER_CLASS, l->class_limit);
    }
    /* The user-and-host pair: an <Anonymous> block's "host" count, and
     * MaxHostsPerUser's. */
    fl_farm_claim pair;
    field_start(&pair, 'P', c);
    snprintf(text, sizeof text, "|%zu|", l->user_len);
    put_text(&pair, text);
    put(&pair, l->user, l->user_len);
    put_addr(&pair, addr);
    fl_farm_claim user;
    field_start(&user, 'U', c);
    put(&user, "|", 1);
    put(&user, l->user, l->user_len);

    /* The host's count holds every login from it; an <Anonymous> block's
     * MaxClientsPerHost checks the pair's (its account from the host). */
    if (farm_counts(p, FL_L_PER_HOST)) {
        field_start(&tmp, 'H', c);
        put_addr(&tmp, addr);
        if (l->in_block) {
            login_claim(fc, p, &pair, FL_FARM_COUNT, FL_L_PER_HOST, &lim->per_host);
            login_claim(fc, p, &tmp, FL_FARM_ADD, FL_L_PER_HOST, NULL);
        } else {
            login_claim(fc, p, &tmp, FL_FARM_COUNT, FL_L_PER_HOST, &lim->per_host);
        }
    }
    if (farm_counts(p, FL_L_PER_NETWORK)) {
        fl_addr net;
        memcpy(net.b, l->net_key, 16);
        field_start(&tmp, 'N', c);
        put_addr(&tmp, &net);
        snprintf(text, sizeof text, "/%u", (unsigned)l->net_key[16]);
        put_text(&tmp, text);
        login_claim(fc, p, &tmp, FL_FARM_COUNT, FL_L_PER_NETWORK, &lim->per_network);
    }
    if (l->country[0] != '\0' && farm_counts(p, FL_L_PER_COUNTRY)) {
        field_start(&tmp, 'G', c);
        put(&tmp, "|", 1);
        put(&tmp, l->country, 2);
        login_claim(fc, p, &tmp, FL_FARM_COUNT, FL_L_PER_COUNTRY, &lim->per_country);
    }
    /* The user's count: MaxClientsPerUser's, and an <Anonymous> block's
     * MaxClients (its account's logins). */
    if (farm_counts(p, FL_L_PER_USER) || farm_counts(p, FL_L_CLIENTS))
        login_claim(fc, p, &user, FL_FARM_COUNT, FL_L_PER_USER,
                    farm_counts(p, FL_L_PER_USER) ? &lim->per_user : NULL);
    if (l->in_block) {
        if (farm_counts(p, FL_L_CLIENTS))
            login_claim(fc, p, &user, FL_FARM_COUNT, FL_L_CLIENTS, &lim->clients);
        field_start(&tmp, 'S', c);
        login_claim(fc, p, &tmp, FL_FARM_ADD, FL_L_CLIENTS, NULL);
    } else {
        field_start(&tmp, 'S', c);
        login_claim(fc, p, &tmp, FL_FARM_COUNT, FL_L_CLIENTS, &lim->clients);
    }
    if (farm_counts(p, FL_L_HOSTS_PER_USER))
        login_claim(fc, p, &pair, FL_FARM_HOSTS, FL_L_HOSTS_PER_USER,
                    &lim->hosts_per_user);
    /* The pair is counted for every login whenever a check may read it:
     * any login under an <Anonymous> block's account shares its pairs. */
    if (farm_counts(p, FL_L_HOSTS_PER_USER) || farm_counts(p, FL_L_PER_HOST))
        login_claim(fc, p, &pair, FL_FARM_ADD, FL_L_HOSTS_PER_USER, NULL);

    /* Checks first, in the order made; then what is only counted. */
    fl_farm_claim sorted[FL_FARM_CLAIMS_MAX];
    size_t n = 0;
    for (size_t i = 0; i < fc->n; i++) {
        if (fc->v[i].limit >= 0)
            sorted[n++] = fc->v[i];
    }
    for (size_t i = 0; i < fc->n; i++) {
        if (fc->v[i].limit < 0)
            sorted[n++] = fc->v[i];
    }
    memcpy(fc->v, sorted, n * sizeof sorted[0]);
}

void fl_farm_note_login(fl_engine *e, const fl_session *s,
                        const struct fl_farm_login *l)
{
    struct fl_farm_claims *fc = claims_begin(e);
    if (fc != NULL)
        login_claims(fc, e, s, l);
}

void fl_farm_note_resume(fl_engine *e, const fl_server_counts *c, const fl_session *s,
                         const struct fl_farm_login *l)
{
    struct fl_farm_claims *fc = claims_begin(e);
    if (fc == NULL)
        return;
    connect_claims(fc, e->policy, c, s);
    if (l != NULL) /* after the connection's: all are made counts below */
        login_claims(fc, e, s, l);
    /* A resumed session was decided before: it is counted, never checked,
     * and it opens no window. */
    size_t n = 0;
    for (size_t i = 0; i < fc->n; i++) {
        if (fc->v[i].op == FL_FARM_RATE)
            continue;
        fl_farm_claim *k = &fc->v[n++];
        if (k != &fc->v[i])
            *k = fc->v[i];
        k->op = FL_FARM_ADD;
        k->limit = -1;
        k->directive = NULL;
        k->max = -1;
        k->message = NULL;
    }
    fc->n = n;
}

size_t fl_farm_claims(fl_engine *e, const fl_farm_claim **out)
{
    if (e == NULL || e->farm == NULL) {
        if (out != NULL)
            *out = NULL;
        return 0;
    }
    if (out != NULL)
        *out = e->farm->v;
    return e->farm->n;
}

uint32_t fl_farm_policy_gen(fl_engine *e)
{
    return e != NULL ? e->policy_gen : 0;
}

void fl_farm_config(fl_engine *e, fl_farm_conf *out)
{
    memset(out, 0, sizeof *out);
    if (e == NULL || !e->policy->cluster.on)
        return;
    const fl_cluster_cfg *c = &e->policy->cluster;
    out->on = true;
    snprintf(out->host, sizeof out->host, "%s", c->host != NULL ? c->host : "");
    out->port = c->port;
    snprintf(out->socket, sizeof out->socket, "%s", c->socket != NULL ? c->socket : "");
    out->db = c->db;
    snprintf(out->url, sizeof out->url, "%s", c->url);
    snprintf(out->password_file, sizeof out->password_file, "%s",
             c->password_file != NULL ? c->password_file : "");
    if (c->node != NULL)
        snprintf(out->node, sizeof out->node, "%s", c->node);
    else if (gethostname(out->node, sizeof out->node - 1) < 0)
        snprintf(out->node, sizeof out->node, "node");
    out->lease = c->lease;
    out->timeout = c->timeout;
    out->fail_closed = c->fail_closed;
    out->dry_run = e->policy->dry_run;
    out->counted = c->counted;
}

size_t fl_farm_session_claims(fl_engine *e, fl_session *s, const fl_farm_claim **out)
{
    if (out != NULL)
        *out = NULL;
    if (e == NULL || s == NULL || !e->policy->cluster.on)
        return 0;
    const fl_server_counts *c = fl_host_server(e, s->host);
    struct fl_farm_login l, *lp = NULL;
    char cc[3] = {s->country[0], s->country[0] != '\0' ? s->country[1] : '\0', '\0'};
    if (s->authenticated) {
        const fl_user_entry *u = fl_session_user_entry(s);
        l = (struct fl_farm_login){
            .lim = c->lim,
            .user = u->name,
            .user_len = strlen(u->name),
            .net_key = s->host->u.live.net->key,
            .country = cc,
        };
        lp = &l;
    }
    fl_farm_note_resume(e, c, s, lp);
    return fl_farm_claims(e, out);
}
