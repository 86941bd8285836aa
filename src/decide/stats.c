/*
 * stats.c - views of the tables for status displays and metrics, and the
 * daemon's access rules.
 *
 * Nothing here is on a decision's path: a status request walks a table once
 * (O(entries)) and keeps the n largest entries by insertion, n being small.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util/addr.h"
#include "context.h"
#include "decide/limits.h"

static long long limit_of(const fl_limit_cfg *l)
{
    return l->max;
}

/* Keep e in out[0..*len) ordered by clients, then conns, largest first. */
static void top_insert(fl_top_entry *out, size_t n, size_t *len, const fl_top_entry *e)
{
    size_t i = *len < n ? (*len)++ : n;
    while (i > 0 &&
           (out[i - 1].clients < e->clients ||
            (out[i - 1].clients == e->clients && out[i - 1].conns < e->conns))) {
        if (i < n)
            out[i] = out[i - 1];
        i--;
    }
    if (i < n)
        out[i] = *e;
}

static void entry_init(fl_top_entry *t)
{
    memset(t, 0, sizeof *t);
    t->conns = t->conns_limit = t->clients_limit = t->hosts = t->hosts_limit = -1;
}

size_t fl_engine_servers(fl_engine *e, fl_server_info *out, size_t n)
{
    if (e == NULL)
        return 0;
    for (size_t i = 0; out != NULL && i < e->t.ncounts && i < n; i++) {
        const fl_server_counts *c = e->t.counts[i];
        out[i] = (fl_server_info){
            .name = c->name,
            .in_policy = c->def != NULL,
            .sessions = c->nsessions,
            .clients = c->nclients,
            .hosts = HASH_COUNT(c->hosts),
            .users = HASH_COUNT(c->users),
        };
    }
    return e->t.ncounts;
}

size_t fl_engine_top(fl_engine *e, fl_top_kind kind, fl_top_entry *out, size_t n)
{
    return fl_engine_top_in(e, NULL, kind, out, n);
}

size_t fl_engine_top_in(fl_engine *e, const char *server, fl_top_kind kind,
                        fl_top_entry *out, size_t n)
{
    if (e == NULL || out == NULL || n == 0)
        return 0;
    const fl_server_counts *only = NULL;
    if (server != NULL && (only = fl_server_named(e, server)) == NULL) {
        errno = ENOENT;
        return (size_t)-1;
    }
    const fl_policy *p = e->policy;
    size_t len = 0;
    fl_top_entry t;

    /* Every server's entries; each with its server's limits. */
    for (size_t i = 0; i < e->t.ncounts; i++) {
        fl_server_counts *sc = e->t.counts[i];
        if (only != NULL && sc != only)
            continue;
        const fl_limits *l = sc->lim;
        switch (kind) {
        case FL_TOP_HOSTS: {
            fl_host *h, *tmp;
            HASH_ITER(hh, sc->hosts, h, tmp)
            {
                if (h->conns == 0)
                    continue; /* idle: kept for its rate window only */
                entry_init(&t);
                fl_addr_format(&h->addr, t.key, sizeof t.key);
                t.conns = h->conns;
                t.conns_limit = limit_of(&l->max_conns_per_host);
                t.clients = h->u.live.clients;
                t.clients_limit = limit_of(&l->per_host);
                top_insert(out, n, &len, &t);
            }
            break;
        }
        case FL_TOP_USERS: {
            fl_user_entry *u, *tmp;
            HASH_ITER(hh, sc->users, u, tmp)
            {
                entry_init(&t);
                snprintf(t.key, sizeof t.key, "%s", u->name);
                t.clients = u->clients;
                t.clients_limit = limit_of(&l->per_user);
                t.hosts = u->nhosts;
                t.hosts_limit = limit_of(&l->hosts_per_user);
                top_insert(out, n, &len, &t);
            }
            break;
        }
        case FL_TOP_CLASSES: {
            fl_class_count *c, *tmp;
            HASH_ITER(hh, sc->classes, c, tmp)
            {
                const fl_class_def *def = fl_policy_class(p, c->name);
                entry_init(&t);
                snprintf(t.key, sizeof t.key, "%s", c->name);
                t.conns = c->conns;
                t.clients = c->clients;
                t.clients_limit = def != NULL && l->class_limits != NULL
                                      ? limit_of(&l->class_limits[def - p->classes])
                                      : -1;
                top_insert(out, n, &len, &t);
            }
            break;
        }
        case FL_TOP_NETWORKS: {
            fl_network *net, *tmp;
            HASH_ITER(hh, sc->networks, net, tmp)
            {
                fl_addr a;
                char text[FL_ADDR_TEXT_MAX];
                memcpy(a.b, net->key, 16);
                bool v4 = fl_addr_is_v4(&a) && net->key[16] >= 96;
                entry_init(&t);
                snprintf(t.key, sizeof t.key, "%s/%u",
                         fl_addr_format(&a, text, sizeof text),
                         v4 ? net->key[16] - 96u : net->key[16]);
                t.clients = net->clients;
                t.clients_limit = limit_of(&l->per_network);
                top_insert(out, n, &len, &t);
            }
            break;
        }
        case FL_TOP_COUNTRIES: {
            fl_country *c, *tmp;
            HASH_ITER(hh, sc->countries, c, tmp)
            {
                entry_init(&t);
                snprintf(t.key, sizeof t.key, "%.2s", c->code);
                t.clients = c->clients;
                t.clients_limit = limit_of(&l->per_country);
                top_insert(out, n, &len, &t);
            }
            break;
        }
        }
    }
    return len;
}

size_t fl_engine_refusals(fl_engine *e, fl_refusal_count *out, size_t n)
{
    for (size_t i = 0; out != NULL && e != NULL && i < FL_L_COUNT && i < n; i++) {
        out[i].limit = fl_limit_descs[i].directive;
        out[i].refused = e->refusals[i];
        out[i].dry_run = e->dry_refusals[i];
    }
    return FL_L_COUNT;
}

size_t fl_engine_refusals_in(fl_engine *e, const char *server, fl_refusal_count *out,
                             size_t n)
{
    const fl_server_counts *c =
        e != NULL && server != NULL ? fl_server_named(e, server) : NULL;
    if (c == NULL) {
        errno = ENOENT;
        return (size_t)-1;
    }
    for (size_t i = 0; out != NULL && i < FL_L_COUNT && i < n; i++) {
        out[i].limit = fl_limit_descs[i].directive;
        out[i].refused = c->refusals[i];
        out[i].dry_run = c->dry_refusals[i];
    }
    return FL_L_COUNT;
}

long long fl_policy_limit(fl_engine *e, const char *directive)
{
    if (e == NULL || directive == NULL)
        return -1;
    enum fl_limit_id id = fl_limit_by_directive(directive);
    return id < FL_L_COUNT
               ? fl_policy_limit_value(e->policy, fl_policy_main(e->policy), id)
               : -1;
}

static bool acl_lists(const fl_acl *acl, uid_t uid, gid_t gid)
{
    if (acl->all)
        return true;
    for (size_t i = 0; i < acl->nuids; i++) {
        if (acl->uids[i] == uid)
            return true;
    }
    for (size_t i = 0; i < acl->ngids; i++) {
        if (acl->gids[i] == gid)
            return true;
    }
    return false;
}

bool fl_access_allowed(fl_engine *e, fl_access what, uid_t uid, gid_t gid, uid_t self)
{
    if (e == NULL || what > FL_ACCESS_ADMIN)
        return false;
    if (uid == 0)
        return true;
    const fl_acl *acl = &e->policy->access[what];
    if (what == FL_ACCESS_STATUS) {
        return (acl->set && acl_lists(acl, uid, gid)) ||
               fl_access_allowed(e, FL_ACCESS_SESSIONS, uid, gid, self) ||
               fl_access_allowed(e, FL_ACCESS_ADMIN, uid, gid, self);
    }
    return acl->set ? acl_lists(acl, uid, gid) : uid == self;
}
