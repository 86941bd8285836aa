/*
 * limits.c - the limit checks, in ProFTPD's order, first exceeded wins.
 *
 * Every count passed in excludes the session being decided, and every test
 * is count + 1 > max: the session counts itself, as in mod_auth.
 */
#include "config.h"

#include "decide/limits.h"

static bool exceeds(const fl_limit_cfg *l, long long current, enum fl_limit_id id,
                    struct fl_hit *hit)
{
    if (l->max == FL_UNLIMITED || current + 1 <= l->max)
        return false;
    hit->id = id;
    hit->max = l->max;
    hit->count = current + 1;
    hit->message = l->message;
    return true;
}

static bool rate_exceeds(const fl_rate_cfg *r, fl_rate *window, fl_usec now,
                         enum fl_limit_id id, struct fl_hit *hit)
{
    if (r->count == FL_UNLIMITED)
        return false;
    long long recent = window != NULL ? fl_rate_count(window, now, r->interval) : 0;
    /* A window sized for a larger count before a reload may hold more: only
     * the newest `count` decide. */
    if (recent > r->count)
        recent = r->count;
    if (recent + 1 <= r->count)
        return false;
    hit->id = id;
    hit->max = r->count;
    hit->count = recent + 1;
    hit->message = r->message;
    return true;
}

bool fl_limits_check_connect(fl_engine *e, const fl_server_counts *c, const fl_host *h,
                             fl_usec now, struct fl_hit *hit)
{
    const fl_policy *p = e->policy;
    const fl_limits *l = c->lim;
    return exceeds(&p->max_instances, (long long)e->t.nsessions, FL_L_MAX_INSTANCES,
                   hit) ||
           rate_exceeds(&p->rate, e->t.rate, now, FL_L_RATE, hit) ||
           rate_exceeds(&l->rate_per_host, h != NULL ? h->rate : NULL, now,
                        FL_L_RATE_PER_HOST, hit) ||
           exceeds(&l->max_conns_per_host, h != NULL ? h->conns : 0,
                   FL_L_CONNS_PER_HOST, hit);
}

bool fl_limits_check_login(const fl_limits *p, const struct fl_login_counts *c,
                           struct fl_hit *hit)
{
    return (c->class_limit != NULL &&
            exceeds(c->class_limit, c->class_clients, FL_L_PER_CLASS, hit)) ||
           exceeds(&p->per_host, c->host_clients, FL_L_PER_HOST, hit) ||
           exceeds(&p->per_network, c->net_clients, FL_L_PER_NETWORK, hit) ||
           (c->country_known &&
            exceeds(&p->per_country, c->country_clients, FL_L_PER_COUNTRY, hit)) ||
           exceeds(&p->per_user, c->user_clients, FL_L_PER_USER, hit) ||
           exceeds(&p->clients, c->clients, FL_L_CLIENTS, hit) ||
           exceeds(&p->hosts_per_user, c->user_hosts - 1, FL_L_HOSTS_PER_USER, hit);
}
