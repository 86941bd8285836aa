/*
 * policy/cluster.c - Cluster and its directives: the shared store of a farm
 * of nodes, and how this node takes part (doc/cluster.md).
 *
 *   Cluster redis://HOST[:PORT][/DB] | unix:///PATH[?db=DB]
 *   ClusterNode NAME
 *   ClusterLease SECONDS
 *   ClusterTimeout MILLISECONDS
 *   ClusterFailMode open|closed
 *   ClusterLocal DIRECTIVE...
 *   ClusterPasswordFile PATH
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy/cluster.h"
#include "policy/parser.h"
#include "util/alloc.h"

#define NODE_NAME_MAX 64

static const char *farm_limit_names(void);
static void note_other(struct fl_parser *p);

/* Digits only, into [min, max]. */
static bool number_in(const char *s, size_t len, long min, long max, long *out)
{
    if (len == 0 || len > 9)
        return false;
    long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (s[i] - '0');
    }
    if (v < min || v > max)
        return false;
    *out = v;
    return true;
}

static bool url_redis(struct fl_parser *p, const char *rest, fl_cluster_cfg *c)
{
    /* [:PASSWORD@]HOST[:PORT][/DB]: a password here is refused, the file
     * holds it (a policy is readable by more than the daemon). */
    if (strchr(rest, '@') != NULL) {
        fl_perr(p, "Cluster: put the password in ClusterPasswordFile, not in the URL");
        return false;
    }
    const char *slash = strchr(rest, '/');
    size_t hostport = slash != NULL ? (size_t)(slash - rest) : strlen(rest);
    const char *host = rest, *colon = NULL;
    size_t hostlen = hostport;
    if (hostport > 0 && rest[0] == '[') { /* [IPv6]:PORT */
        const char *close = memchr(rest, ']', hostport);
        if (close == NULL)
            goto bad;
        host = rest + 1;
        hostlen = (size_t)(close - host);
        if (close + 1 < rest + hostport) {
            if (close[1] != ':')
                goto bad;
            colon = close + 1;
        }
    } else if ((colon = memchr(rest, ':', hostport)) != NULL) {
        hostlen = (size_t)(colon - rest);
    }
    long port = 6379, db = 0;
    if (hostlen == 0 || hostlen > 255)
        goto bad;
    if (colon != NULL &&
        !number_in(colon + 1, (size_t)(rest + hostport - colon - 1), 1, 65535, &port))
        goto bad;
    if (slash != NULL && !number_in(slash + 1, strlen(slash + 1), 0, 100000, &db))
        goto bad;
    if ((c->host = fl_strndup(host, hostlen)) == NULL) {
        fl_parser_oom(p);
        return false;
    }
    c->port = (unsigned)port;
    c->db = (int)db;
    return true;
bad:
    fl_perr(p, "Cluster: expected redis://HOST[:PORT][/DB] (PORT 1-65535), not %s",
            FL_SHOWN(rest));
    return false;
}

static bool url_unix(struct fl_parser *p, const char *rest, fl_cluster_cfg *c)
{
    long db = 0;
    const char *q = strchr(rest, '?');
    size_t len = q != NULL ? (size_t)(q - rest) : strlen(rest);
    if (len < 2 || rest[0] != '/' ||
        (q != NULL && (strncmp(q, "?db=", 4) != 0 ||
                       !number_in(q + 4, strlen(q + 4), 0, 100000, &db)))) {
        fl_perr(p, "Cluster: expected unix:///PATH[?db=DB], an absolute path, not %s",
                FL_SHOWN(rest));
        return false;
    }
    if ((c->socket = fl_strndup(rest, len)) == NULL) {
        fl_parser_oom(p);
        return false;
    }
    c->db = (int)db;
    return true;
}

void fl_cluster_cluster(struct fl_parser *p, const struct fl_args *a,
                        const struct fl_directive *d)
{
    if (!fl_check_argc(p, d, a, 1, 1, "redis://HOST[:PORT][/DB] | unix:///PATH"))
        return;
    fl_cluster_cfg *c = &p->pol->cluster;
    const char *url = a->v[1].text;
    if (c->on) {
        fl_perr(p, "Cluster is set twice");
        return;
    }
    bool ok;
    if (strncasecmp(url, "redis://", 8) == 0) {
        ok = url_redis(p, url + 8, c);
    } else if (strncasecmp(url, "rediss://", 9) == 0) {
        /* Debian 12's hiredis (0.14) has no TLS: refused rather than sent
         * in clear. */
        fl_perr(p, "Cluster: rediss:// (TLS) is not supported: reach Redis over a "
                   "trusted network, a Unix socket, or a TLS tunnel to a local port");
        return;
    } else if (strncasecmp(url, "unix://", 7) == 0) {
        ok = url_unix(p, url + 7, c);
    } else {
        fl_perr(p, "Cluster: expected redis://HOST[:PORT][/DB] or unix:///PATH, not %s",
                FL_SHOWN(url));
        return;
    }
    if (!ok)
        return;
#ifndef HAVE_HIREDIS
    fl_perr(p, "Cluster: this build has no Redis client (install libhiredis-dev and "
               "configure again)");
    return;
#endif
    if ((c->url = fl_strdup(url)) == NULL) {
        fl_parser_oom(p);
        return;
    }
    c->on = true;
}

void fl_cluster_node(struct fl_parser *p, const struct fl_args *a,
                     const struct fl_directive *d)
{
    note_other(p);
    if (!fl_check_argc(p, d, a, 1, 1, "NAME"))
        return;
    const char *name = a->v[1].text;
    size_t len = strlen(name);
    bool ok = len > 0 && len <= NODE_NAME_MAX;
    for (size_t i = 0; ok && i < len; i++)
        ok = isalnum((unsigned char)name[i]) || strchr("-_.", name[i]) != NULL;
    if (!ok) {
        fl_perr(
            p, "ClusterNode: expected 1 to %d letters, digits, '-', '_' or '.', not %s",
            NODE_NAME_MAX, FL_SHOWN(name));
        return;
    }
    fl_free(p->pol->cluster.node);
    if ((p->pol->cluster.node = fl_strdup(name)) == NULL)
        fl_parser_oom(p);
}

/* A decision may wait for the farm at most a small part of a lease. */
static bool timeout_fits(struct fl_parser *p, fl_usec timeout, fl_usec lease)
{
    if (timeout * 4 <= lease)
        return true;
    fl_perr(
        p,
        "ClusterTimeout (%lld ms) must be at most a quarter of ClusterLease (%lld s)",
        (long long)(timeout / 1000), (long long)(lease / FL_USEC_PER_SEC));
    return false;
}

void fl_cluster_lease(struct fl_parser *p, const struct fl_args *a,
                      const struct fl_directive *d)
{
    note_other(p);
    if (!fl_check_argc(p, d, a, 1, 1, "SECONDS"))
        return;
    fl_usec v;
    if (!fl_parse_interval(p, d, &a->v[1], &v))
        return;
    if (v < FL_USEC_PER_SEC || v > 3600 * FL_USEC_PER_SEC) {
        fl_perr(p, "ClusterLease: expected 1 to 3600 seconds, not %s",
                FL_SHOWN(a->v[1].text));
        return;
    }
    if (!timeout_fits(p, p->pol->cluster.timeout, v))
        return;
    p->pol->cluster.lease = v;
}

void fl_cluster_timeout(struct fl_parser *p, const struct fl_args *a,
                        const struct fl_directive *d)
{
    note_other(p);
    if (!fl_check_argc(p, d, a, 1, 1, "MILLISECONDS"))
        return;
    long long ms;
    if (fl_parse_count(p, d, &a->v[1], 1, 60000, false, &ms) &&
        timeout_fits(p, (fl_usec)ms * 1000, p->pol->cluster.lease))
        p->pol->cluster.timeout = (fl_usec)ms * 1000;
}

void fl_cluster_fail_mode(struct fl_parser *p, const struct fl_args *a,
                          const struct fl_directive *d)
{
    note_other(p);
    if (!fl_check_argc(p, d, a, 1, 1, "open|closed"))
        return;
    const char *m = a->v[1].text;
    if (strcasecmp(m, "open") == 0)
        p->pol->cluster.fail_closed = false;
    else if (strcasecmp(m, "closed") == 0)
        p->pol->cluster.fail_closed = true;
    else
        fl_perr(p, "ClusterFailMode: expected open or closed, not %s", FL_SHOWN(m));
}

void fl_cluster_local(struct fl_parser *p, const struct fl_args *a,
                      const struct fl_directive *d)
{
    note_other(p);
    if (!fl_check_argc(p, d, a, 1, FL_ARGS_MAX - 1, "DIRECTIVE..."))
        return;
    for (int i = 1; i < a->n; i++) {
        enum fl_limit_id id = FL_L_COUNT;
        for (size_t j = 0; j < FL_L_COUNT; j++) {
            if (strcasecmp(a->v[i].text, fl_limit_descs[j].directive) == 0)
                id = (enum fl_limit_id)j;
        }
        if (id == FL_L_COUNT || !fl_cluster_farm_limit(id)) {
            fl_perr(p,
                    "ClusterLocal: %s is not a limit the farm counts (expected one "
                    "of %s)",
                    FL_SHOWN(a->v[i].text), farm_limit_names());
            continue;
        }
        p->pol->cluster.local |= UINT64_C(1) << id;
    }
}

void fl_cluster_password_file(struct fl_parser *p, const struct fl_args *a,
                              const struct fl_directive *d)
{
    note_other(p);
    if (!fl_check_argc(p, d, a, 1, 1, "PATH"))
        return;
    fl_free(p->pol->cluster.password_file);
    p->pol->cluster.password_file = fl_policy_path(p, a->v[1].text);
}

/* The farm limits scope sc (a server, an <Anonymous> block, an
 * <IfUser>/<IfClass> block) sets. */
static uint64_t scope_limits(const fl_policy *pol, const fl_scope *sc)
{
    uint64_t used = 0;
    for (size_t id = 0; id < FL_L_COUNT; id++) {
        if (!fl_cluster_farm_limit((enum fl_limit_id)id))
            continue;
        if ((sc->set >> id & 1) ||
            fl_policy_limit_value(pol, sc, (enum fl_limit_id)id) >= 0)
            used |= UINT64_C(1) << id;
    }
    for (size_t i = 0; sc->lim.class_limits != NULL && i < pol->nclasses; i++) {
        if (sc->lim.class_limits[i].max >= 0)
            used |= UINT64_C(1) << FL_L_PER_CLASS;
    }
    return used;
}

/* The Cluster* directives mean nothing without Cluster; with it, what the
 * farm counts is what some scope limits. */
void fl_cluster_finish(struct fl_parser *p)
{
    fl_cluster_cfg *c = &p->pol->cluster;
    const fl_policy *pol = p->pol;
    uint64_t used = 0;
    if (pol->rate.count != FL_UNLIMITED)
        used |= UINT64_C(1) << FL_L_RATE;
    for (size_t i = 0; i < pol->nscopes; i++) {
        const fl_scope *sc = &pol->scopes[i];
        used |= scope_limits(pol, sc);
        for (size_t j = 0; j < sc->nconds; j++)
            used |= scope_limits(pol, sc->conds[j].sc);
    }
    c->counted = used & ~c->local;
    if (!c->on && c->other_line > 0) {
        const char *file = p->file;
        int line = p->line;
        p->file = c->other_file;
        p->line = c->other_line;
        fl_pnotice(p, "Cluster* directives without Cluster: this node counts alone");
        p->file = file;
        p->line = line;
    }
}

/* Where the first Cluster* directive other than Cluster is: a policy
 * without Cluster is told they do nothing. */
static void note_other(struct fl_parser *p)
{
    fl_cluster_cfg *c = &p->pol->cluster;
    if (c->other_line == 0 && (c->other_file = fl_strdup(p->file)) != NULL)
        c->other_line = p->line;
}

static const char *farm_limit_names(void)
{
    static char names[512];
    if (names[0] == '\0') {
        size_t o = 0;
        for (size_t j = 0; j < FL_L_COUNT; j++) {
            if (fl_cluster_farm_limit((enum fl_limit_id)j))
                o += (size_t)snprintf(names + o, sizeof names - o, "%s%s",
                                      o > 0 ? ", " : "", fl_limit_descs[j].directive);
        }
    }
    return names;
}
