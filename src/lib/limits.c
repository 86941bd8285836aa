/*
 * limits.c - the limit checks, in ProFTPD's order, first exceeded wins.
 *
 * Every count passed in excludes the session being decided, and every test
 * is count + 1 > max: the session counts itself, as in mod_auth.
 */
#include "config.h"

#include "limit.h"

const struct fl_limit_desc fl_limit_descs[FL_L_COUNT] = {
    [FL_L_MAX_INSTANCES] =
        {"MaxInstances", FL_EV_MAX_INSTANCES, 421,
         "Sorry, the maximum number of connections (%m) to this server "
         "are already in use; try again later."},
    [FL_L_RATE] =
        {"MaxConnectionRate", FL_EV_MAX_CONNECTION_RATE, 421,
         "Sorry, this server accepts no more than %m new connections at a time; "
         "try again later."},
    [FL_L_RATE_PER_HOST] = {"MaxConnectionRatePerHost",
                            FL_EV_MAX_CONNECTION_RATE_PER_HOST, 421,
                            "Sorry, your host opened more than %m new connections too "
                            "quickly; try again later."},
    [FL_L_CONNS_PER_HOST] =
        {"MaxConnectionsPerHost", FL_EV_MAX_CONNECTIONS_PER_HOST, 421,
         "Sorry, the maximum number of connections (%m) for your host "
         "are already connected."},
    [FL_L_PER_CLASS] = {"MaxClientsPerClass", FL_EV_MAX_CLIENTS_PER_CLASS, 530,
                        "Sorry, the maximum number of clients (%m) from your class are "
                        "already connected."},
    [FL_L_PER_HOST] = {"MaxClientsPerHost", FL_EV_MAX_CLIENTS_PER_HOST, 530,
                       "Sorry, the maximum number of clients (%m) from your host are "
                       "already connected."},
    [FL_L_PER_NETWORK] =
        {"MaxClientsPerNetwork", FL_EV_MAX_CLIENTS_PER_NETWORK, 530,
         "Sorry, the maximum number of clients (%m) from your network are "
         "already connected."},
    [FL_L_PER_COUNTRY] =
        {"MaxClientsPerCountry", FL_EV_MAX_CLIENTS_PER_COUNTRY, 530,
         "Sorry, the maximum number of clients (%m) from your country (%C) "
         "are already connected."},
    [FL_L_PER_USER] = {"MaxClientsPerUser", FL_EV_MAX_CLIENTS_PER_USER, 530,
                       "Sorry, the maximum number of clients (%m) for this user are "
                       "already connected."},
    [FL_L_CLIENTS] = {"MaxClients", FL_EV_MAX_CLIENTS, 530,
                      "Sorry, the maximum number of allowed clients (%m) are already "
                      "connected."},
    [FL_L_HOSTS_PER_USER] =
        {"MaxHostsPerUser", FL_EV_MAX_HOSTS_PER_USER, 530,
         "Sorry, the maximum number of hosts (%m) for this user are "
         "already connected."},
    [FL_L_LOGIN_ATTEMPTS] = {"MaxLoginAttempts", FL_EV_MAX_LOGIN_ATTEMPTS, 530,
                             "Login incorrect."},
    [FL_L_ANON_REJECT] = {"AnonRejectPasswords", FL_EV_ANON_REJECT_PASSWORDS, 530,
                          "Login incorrect."},
    [FL_L_TABLE_FULL] =
        {"MaxTrackedHosts", FL_EV_TABLE_FULL, 421,
         "Sorry, the server cannot take connections from new hosts right "
         "now; try again later."},
    [FL_L_NO_MEMORY] = {"OutOfMemory", NULL, 421,
                        "Sorry, the server is out of memory; try again later."},
    [FL_L_BAN] = {"Ban", NULL, 421,
                  "Sorry, you are banned from this server for a while."},
};

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

bool fl_limits_check_connect(fl_engine *e, const fl_host *h, fl_usec now,
                             struct fl_hit *hit)
{
    const fl_policy *p = e->policy;
    return exceeds(&p->max_instances, (long long)e->t.nsessions, FL_L_MAX_INSTANCES,
                   hit) ||
           rate_exceeds(&p->rate, e->t.rate, now, FL_L_RATE, hit) ||
           rate_exceeds(&p->rate_per_host, h != NULL ? h->rate : NULL, now,
                        FL_L_RATE_PER_HOST, hit) ||
           exceeds(&p->max_conns_per_host, h != NULL ? h->conns : 0,
                   FL_L_CONNS_PER_HOST, hit);
}

bool fl_limits_check_login(const fl_policy *p, const struct fl_login_counts *c,
                           struct fl_hit *hit)
{
    return (c->class_def != NULL &&
            exceeds(&c->class_def->limit, c->class_clients, FL_L_PER_CLASS, hit)) ||
           exceeds(&p->per_host, c->host_clients, FL_L_PER_HOST, hit) ||
           exceeds(&p->per_network, c->net_clients, FL_L_PER_NETWORK, hit) ||
           (c->country_known &&
            exceeds(&p->per_country, c->country_clients, FL_L_PER_COUNTRY, hit)) ||
           exceeds(&p->per_user, c->user_clients, FL_L_PER_USER, hit) ||
           exceeds(&p->clients, c->clients, FL_L_CLIENTS, hit) ||
           exceeds(&p->hosts_per_user, c->user_hosts - 1, FL_L_HOSTS_PER_USER, hit);
}
