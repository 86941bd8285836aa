/*
 * session.c - connect, USER, PASS and close: the decisions and their effects.
 *
 * Each operation first decides (limits.c), then acts: it fills the caller's
 * decision, generates the limit's event before any refusal takes effect, and
 * changes the counts. Every allocation a step needs is made before any count
 * changes, so running out of memory refuses the connection cleanly and
 * leaves the tables exactly as they were.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "util/alloc.h"
#include "util/text.h"
#include "decide/farm.h"
#include "decide/limits.h"
#include "decide/message.h"

const char *fl_verdict_name(fl_verdict v)
{
    switch (v) {
    case FL_ALLOW:
        return "allow";
    case FL_REJECT:
        return "reject";
    case FL_DISCONNECT:
        return "disconnect";
    }
    return "unknown";
}

/* The engine's modules that may refuse a client before any limit counts it
 * (mod_ban): the message refusing it, or NULL. */
static const char *gate_at_connect(fl_engine *e, const fl_server_counts *c,
                                   const fl_addr *addr, const char *cls)
{
    for (unsigned i = 0; i < e->ngates; i++) {
        const char *refusal = e->gates[i]->at_connect(e, c->id, addr, cls);
        if (refusal != NULL)
            return refusal;
    }
    return NULL;
}

static const char *gate_at_login(fl_engine *e, const fl_server_counts *c,
                                 const char *user, const fl_addr *addr)
{
    for (unsigned i = 0; i < e->ngates; i++) {
        const char *refusal = e->gates[i]->at_login(e, c->id, user, addr);
        if (refusal != NULL)
            return refusal;
    }
    return NULL;
}

/* What events and messages say about a session. */
struct view {
    const char *sid;
    const fl_addr *addr;
    const char *user;
    const char *class_name;
    const char *server;             /* a <VirtualHost>'s name, NULL: the main server */
    fl_server_counts *counts;       /* its server's counts, for its refusals */
    char country[3];                /* "" when unknown */
    uint32_t asn;                   /* 0 when unknown */
    char address[FL_ADDR_TEXT_MAX]; /* formatted on first use */
};

static void view_init(struct view *v, const char *sid, const fl_addr *addr,
                      const char *user, const char *class_name)
{
    v->sid = sid;
    v->addr = addr;
    v->user = user;
    v->class_name = class_name;
    v->server = NULL;
    v->counts = NULL;
    v->country[0] = '\0';
    v->asn = 0;
    v->address[0] = '\0';
}

static void view_set_geo(struct view *v, const fl_geo *g)
{
    memcpy(v->country, g->country, 2);
    v->country[2] = '\0';
    v->asn = g->asn;
}

static const char *view_address(struct view *v)
{
    if (v->address[0] == '\0')
        fl_addr_format(v->addr, v->address, sizeof v->address);
    return v->address;
}

/* The server a session of counts c reached, as events name it. */
static void view_set_server(struct view *v, fl_server_counts *c)
{
    v->counts = c;
    v->server = c->id != 0 ? c->name : NULL; /* counts[0]: the main server */
}

static void view_of_session(const fl_engine *e, struct view *v, const fl_session *s)
{
    view_init(v, s->sid, &s->host->addr, fl_session_user(s),
              s->cls ? s->cls->name : NULL);
    view_set_geo(v, &s->host->geo);
    view_set_server(v, fl_host_server(e, s->host));
}

static void emit(fl_engine *e, const char *event, struct view *v,
                 const struct fl_hit *hit, const fl_decision *d)
{
    if (event == NULL || fl_event_listening_constant(e, event) <= 0)
        return;
    fl_event_info info = {
        .event = event,
        .sid = v->sid,
        .address = view_address(v),
        .user = v->user,
        .class_name = v->class_name,
        .limit = hit != NULL ? fl_limit_descs[hit->id].directive : NULL,
        .max = hit != NULL ? hit->max : -1,
        .count = hit != NULL ? hit->count : -1,
        .dry_run = hit != NULL && e->policy->dry_run,
        .country = v->country[0] != '\0' ? v->country : NULL,
        .asn = v->asn,
        .message = d != NULL && d->would != FL_ALLOW ? d->message : NULL,
        .code = d != NULL && d->would != FL_ALLOW ? d->code : 0,
        .time = fl_now(e),
        .duration = -1,
        .server = v->server,
    };
    fl_event_generate(e, event, &info);
}

static void decision_allow(fl_decision *d, bool dry_run)
{
    d->verdict = d->would = FL_ALLOW;
    d->dry_run = dry_run;
    d->limit = NULL;
    d->code = 0;
    d->message[0] = '\0';
}

/* Fill d for a refusal by hit; DryRun turns it into an allow unless the
 * refusal is about resources, which no mode can conjure. */
static void decision_refuse(fl_engine *e, fl_decision *d, const struct fl_hit *hit,
                            fl_verdict v, struct view *vw)
{
    const struct fl_limit_desc *ld = &fl_limit_descs[hit->id];
    bool resource = hit->id == FL_L_TABLE_FULL || hit->id == FL_L_NO_MEMORY;
    d->would = v;
    d->verdict = e->policy->dry_run && !resource ? FL_ALLOW : v;
    uint64_t *counted = d->verdict == FL_ALLOW ? e->dry_refusals : e->refusals;
    counted[hit->id]++;
    if (vw->counts != NULL) /* and its server's */
        (d->verdict == FL_ALLOW ? vw->counts->dry_refusals
                                : vw->counts->refusals)[hit->id]++;
    d->limit = ld->directive;
    d->code = ld->code;
    fl_message_vars mv = {
        .max = hit->max,
        .count = hit->count,
        .user = vw->user,
        .address = view_address(vw),
        .class_name = vw->class_name,
        .country = vw->country,
    };
    fl_message_expand(d->message, sizeof d->message,
                      hit->message != NULL ? hit->message : ld->message, &mv);
}

static void refuse_for(fl_engine *e, fl_decision *d, enum fl_limit_id id, fl_verdict v,
                       struct view *vw)
{
    struct fl_hit hit = {.id = id, .max = -1, .count = -1, .message = NULL};
    decision_refuse(e, d, &hit, v, vw);
    emit(e, fl_limit_descs[id].event, vw, &hit, d);
}

/* --- ending a session ----------------------------------------------------- */

static void release_login(fl_engine *e, fl_session *s)
{
    if (!s->authenticated)
        return;
    fl_user_entry *u = s->u.user;
    fl_host *h = s->host;
    fl_server_counts *c = fl_host_server(e, h);
    fl_pair *pair = fl_pair_of(e, c, u, h);
    fl_network *net = h->u.live.net;
    u->clients--;
    pair->clients--;
    net->clients--;
    if (--h->u.live.clients == 0)
        h->u.live.net = NULL;
    if (s->cls != NULL)
        s->cls->clients--;
    c->nclients--;
    e->t.nclients--;
    fl_pair_release(c, u, pair);
    fl_user_release(c, u);
    fl_network_release(c, net);
    if (s->country[0] != '\0') {
        unsigned hv;
        fl_country *country = fl_country_lookup(e, c, s->country, &hv);
        country->clients--;
        fl_country_release(c, country);
    }
    /* A session logged out (fl_logout) may log in again, from a host whose
     * country is known no more: nothing of this login may stay. */
    s->country[0] = '\0';
    s->u.login = NULL;
    s->authenticated = false;
}

/* Undo an authenticated session's login: its counts released, the session
 * a connection with its USER name again. 0, or -1/ENOMEM with nothing
 * changed. */
static int logout_now(fl_engine *e, fl_session *s)
{
    const char *name = fl_session_user_entry(s)->name;
    fl_login *login = fl_login_new(e, name, strlen(name), FL_ANON_BY_POLICY, NULL);
    if (login == NULL)
        return -1;
    release_login(e, s);
    s->u.login = login;
    return 0;
}

/* Release everything the session counts in, and free it. */
static void session_release(fl_engine *e, fl_session *s)
{
    release_login(e, s);
    fl_host *h = s->host;
    fl_server_counts *c = fl_host_server(e, h);
    h->conns--;
    c->nsessions--;
    e->t.nsessions--;
    if (s->cls != NULL) {
        s->cls->conns--;
        fl_class_count_release(e, c, s->cls);
    }
    fl_login_free(e, s->u.login);
    fl_session_delete(e, s);
    fl_host_release(e, h);
}

/* A session that never became visible goes without a core.exit. */
static void session_end_quietly(fl_engine *e, fl_session *s)
{
    session_release(e, s);
}

/* Release the session, then core.exit. */
static void session_end(fl_engine *e, fl_session *s)
{
    /* The session is gone before its core.exit: keep copies for listeners. */
    bool wanted = fl_event_listening_constant(e, FL_EV_EXIT) > 0;
    char sid[FL_SID_MAX + 1], user[FL_USER_MAX + 1], cls[FL_CLASS_NAME_MAX + 1];
    struct view v;
    if (wanted) {
        const char *u = fl_session_user(s);
        snprintf(sid, sizeof sid, "%s", s->sid);
        snprintf(user, sizeof user, "%s", u != NULL ? u : "");
        snprintf(cls, sizeof cls, "%s", s->cls != NULL ? s->cls->name : "");
        view_init(&v, sid, &s->host->addr, u != NULL ? user : NULL,
                  s->cls != NULL ? cls : NULL);
        view_set_geo(&v, &s->host->geo);
        view_set_server(&v, fl_host_server(e, s->host)); /* counts outlive it */
        view_address(&v);
    }
    session_release(e, s);
    if (wanted)
        emit(e, FL_EV_EXIT, &v, NULL, NULL);
}

void fl_close(fl_engine *e, fl_session *s)
{
    if (e == NULL || s == NULL)
        return;
    /* Everything a close touches that the session points at: fetched at
     * once rather than one miss after the other. */
    __builtin_prefetch(s->host, 1);
    __builtin_prefetch(&s->host->u, 1);
    if (s->authenticated) {
        /* A user's entry (112 bytes from malloc) spans two lines or three:
         * its counts and its first pair may be in any. */
        __builtin_prefetch(s->u.user, 1);
        __builtin_prefetch((const char *)s->u.user + 64, 1);
    }
    __builtin_prefetch(s->hh.prev, 1);
    __builtin_prefetch(s->hh.next, 1);
    __builtin_prefetch(s->hh.hh_prev, 1);
    __builtin_prefetch(s->hh.hh_next, 1);
    /* The session's bucket, whose count its removal lowers. */
    const UT_hash_table *tbl = s->hh.tbl;
    __builtin_prefetch(&tbl->buckets[s->hh.hashv & (tbl->num_buckets - 1U)], 1);
    session_end(e, s);
}

void fl_sessions_end_all(fl_engine *e)
{
    while (e->t.sessions != NULL)
        session_end(e, e->t.sessions);
}

/* --- connect -------------------------------------------------------------- */

/* True for "c" followed by digits: the ids the engine hands out. */
static bool sid_reserved(const char *sid, size_t len)
{
    return len > 1 && sid[0] == 'c' && strspn(sid + 1, "0123456789") == len - 1;
}

/* 1 to FL_SID_MAX printable bytes, no space, quote or backslash. */
static bool sid_chars_valid(const char *sid, size_t n)
{
    if (sid == NULL || n == 0 || n > FL_SID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)sid[i];
        if (c <= ' ' || c >= 0x7f || c == '"' || c == '\\')
            return false;
    }
    return true;
}

/* The number of a reserved id "c<digits>"; false when it is past what a
 * uint64_t holds. */
static bool sid_number(const char *sid, size_t len, uint64_t *n)
{
    uint64_t v = 0;
    for (size_t i = 1; i < len; i++) {
        unsigned digit = (unsigned)(sid[i] - '0');
        if (v > (UINT64_MAX - digit) / 10)
            return false;
        v = v * 10 + digit;
    }
    *n = v;
    return true;
}

/* The sessions table's hash of an id. The engine's own ids are numbered in
 * sequence and no caller can choose one (fl_connect refuses their form), so
 * they are hashed by their number with fl_hash_number(); every other id
 * with SipHash, as every key. The hash is the string's alone, whichever way
 * the id came in (a resumed session may bring one of the engine's form). */
static unsigned sid_hash(const fl_engine *e, const char *sid, size_t len)
{
    uint64_t n;
    if (sid_reserved(sid, len) && sid_number(sid, len, &n))
        return fl_hash_number(&e->hash_key, n);
    return fl_key_hash(e, sid, len);
}

/* A caller's id: valid, and not of the engine's reserved form. */
static bool sid_valid(const char *sid, size_t *len)
{
    size_t n = strnlen(sid, FL_SID_MAX + 1);
    if (!sid_chars_valid(sid, n) || sid_reserved(sid, n))
        return false;
    *len = n;
    return true;
}

/* Where a new session goes: its id and host, with their hashes. */
struct session_key {
    const char *sid;
    size_t sid_len;
    unsigned sid_hv;
    const fl_addr *addr;
    unsigned host_hv;
};

/* Create a session and count it as a connection: h (the host found, or
 * NULL), in class cdef of the policy in force, or else class_name (or
 * neither), with the rate windows sized when rates apply. Everything is
 * allocated before any count changes. Sets *out, or leaves it NULL and
 * returns why (FL_L_TABLE_FULL, FL_L_NO_MEMORY). */
static enum fl_limit_id session_open(fl_engine *e, fl_server_counts *c,
                                     const struct session_key *k, fl_host *h,
                                     const fl_geo *geo, const fl_class_def *cdef,
                                     const char *class_name, bool rates,
                                     fl_session **out)
{
    const fl_policy *p = e->policy;
    bool in_class = cdef != NULL || class_name != NULL;
    *out = NULL;
    if (h == NULL && (h = fl_host_insert(e, c, k->addr, k->host_hv)) == NULL)
        return errno == ENOSPC ? FL_L_TABLE_FULL : FL_L_NO_MEMORY;
    fl_session *s = fl_session_insert(e, k->sid, k->sid_len, k->sid_hv);
    fl_class_count *cls = NULL;
    if (s != NULL && in_class)
        cls = cdef != NULL ? fl_class_count_of(e, c, cdef)
                           : fl_class_count_named(e, c, class_name);
    if (s == NULL || (in_class && cls == NULL) ||
        (rates &&
         (!fl_rate_fit(&e->t.rate, p->rate.count, NULL) || !fl_host_rate_fit(e, h)))) {
        if (s != NULL)
            fl_session_delete(e, s);
        if (cls != NULL)
            fl_class_count_release(e, c, cls);
        fl_host_release(e, h);
        return FL_L_NO_MEMORY;
    }

    fl_host_unidle(e, h);
    if (h->policy_gen != e->policy_gen) {
        h->geo = *geo;
        h->policy_gen = e->policy_gen;
        h->class_slot = FL_CLASS_SLOT_UNKNOWN;
    }
    h->conns++;
    s->host = h;
    s->cls = cls;
    if (cls != NULL)
        cls->conns++;
    c->nsessions++;
    e->t.nsessions++;
    *out = s;
    return FL_L_COUNT;
}

/* What the databases say about a client: the host's cached answer while
 * the policy that produced it is in force, else a lookup, once per host. */
static void host_geo(fl_engine *e, const fl_host *h, const fl_addr *addr, fl_geo *out)
{
    if (h != NULL && h->policy_gen == e->policy_gen) {
        *out = h->geo;
        return;
    }
    memset(out, 0, sizeof *out);
    const fl_policy *p = e->policy;
    if (p->ngeodbs == 0)
        return;
    fl_geo_lookup(p->geodbs, p->ngeodbs, addr, out);
}

/* The class of a client of host h (NULL: a new host): the host's answer
 * while the policy that gave it is in force, else fl_classify(). Only a
 * class with a DNS name item looks at more than the address and what the
 * databases say of it; under such a policy hosts remember no class. */
static const fl_class_def *host_class(fl_engine *e, const fl_host *h,
                                      const fl_connect_info *ci, const fl_geo *geo)
{
    const fl_policy *p = e->policy;
    if (h != NULL && h->policy_gen == e->policy_gen &&
        h->class_slot != FL_CLASS_SLOT_UNKNOWN)
        return h->class_slot == FL_CLASS_SLOT_NONE ? NULL
                                                   : &p->classes[h->class_slot - 2];
    return fl_classify(p, &ci->addr, ci->dns_name, geo);
}

/* Have h remember cdef, the class fl_classify() gave its client. */
static void host_class_remember(const fl_engine *e, fl_host *h,
                                const fl_class_def *cdef)
{
    const fl_policy *p = e->policy;
    if (p->classes_match_names || p->nclasses > UINT16_MAX - 2)
        return;
    h->class_slot =
        cdef == NULL ? FL_CLASS_SLOT_NONE : (uint16_t)(2 + (cdef - p->classes));
}

/* Refuse a connection before it became a session: it still ends with one
 * core.exit. */
static int connect_refused(fl_engine *e, struct view *v)
{
    emit(e, FL_EV_EXIT, v, NULL, NULL);
    return 0;
}

/* Write the engine's next id, "c<n>", into buf; returns its length. The
 * number is kept in decimal and counted up in place: formatting it afresh
 * would cost a division per digit. */
static size_t auto_sid(struct fl_tables *t, char *buf)
{
    char *d = t->sid_digits;
    size_t i = t->nsid_digits;
    while (i > 0 && d[i - 1] == '9')
        d[--i] = '0';
    if (i > 0) {
        d[i - 1]++;
    } else {
        memmove(d + 1, d, t->nsid_digits);
        d[0] = '1';
        t->nsid_digits++;
    }
    if (++t->next_sid == 0)
        t->sid_past_u64 = true;
    buf[0] = 'c';
    memcpy(buf + 1, d, t->nsid_digits);
    buf[1 + t->nsid_digits] = '\0';
    return t->nsid_digits + 1;
}

/* Make n the number of the engine's last id. */
static void auto_sid_skip_to(struct fl_tables *t, uint64_t n)
{
    t->next_sid = n;
    char digits[24];
    size_t len = 0;
    do {
        digits[len++] = (char)('0' + n % 10);
        n /= 10;
    } while (n > 0);
    for (size_t i = 0; i < len; i++)
        t->sid_digits[i] = digits[len - 1 - i];
    t->nsid_digits = len;
}

int fl_connect(fl_engine *e, const fl_connect_info *ci, fl_session **out,
               fl_decision *d)
{
    size_t sid_len = 0;
    char sid_buf[32];
    unsigned sid_hv, host_hv;

    if (e == NULL || ci == NULL || out == NULL || d == NULL ||
        (ci->sid != NULL && !sid_valid(ci->sid, &sid_len)) ||
        (ci->server != NULL && ci->server->port == 0) ||
        (ci->dns_name != NULL &&
         strnlen(ci->dns_name, FL_DNSNAME_MAX + 1) > FL_DNSNAME_MAX)) {
        errno = EINVAL;
        return -1;
    }
    if (e->state == FL_ENGINE_DOWN) {
        errno = ESHUTDOWN;
        return -1;
    }
    *out = NULL;
    fl_farm_reset(e);

    /* The host's and the session's buckets are asked for first: their
     * misses overlap. */
    /* Most connections come to a server of one scope, the main one. */
    fl_server_counts *c =
        ci->server == NULL ? e->t.counts_of_scope[0] : fl_server_for(e, ci->server);
    host_hv = fl_host_hash(e, &ci->addr);
    fl_host_prefetch(c, host_hv);
    /* The engine's own ids never repeat and callers cannot choose that form,
     * so only a caller's id needs the duplicate check. */
    const char *sid = ci->sid;
    if (sid == NULL) {
        sid_len = auto_sid(&e->t, sid_buf);
        /* What sid_hash() gives the id, without reading it back. */
        sid_hv = e->t.sid_past_u64 ? fl_key_hash(e, sid_buf, sid_len)
                                   : fl_hash_number(&e->hash_key, e->t.next_sid);
        fl_session_prefetch(e, sid_hv);
        sid = sid_buf;
    } else {
        sid_hv = sid_hash(e, sid, sid_len);
        if (fl_session_find_hv(e, sid, sid_len, sid_hv) != NULL) {
            errno = EEXIST;
            return -1;
        }
    }

    const fl_policy *p = e->policy;
    const fl_usec now = fl_now(e);
    fl_host *h = fl_host_find_hv(c, &ci->addr, host_hv);
    fl_geo geo;
    host_geo(e, h, &ci->addr, &geo);
    const fl_class_def *cdef = host_class(e, h, ci, &geo);
    struct view v;
    view_init(&v, sid, &ci->addr, NULL, cdef != NULL ? cdef->name : NULL);
    view_set_server(&v, c);
    view_set_geo(&v, &geo);
    decision_allow(d, p->dry_run);

    struct fl_hit hit;
    const char *banned = gate_at_connect(e, c, &ci->addr, cdef ? cdef->name : NULL);
    if (banned != NULL) {
        hit = (struct fl_hit){FL_L_BAN, -1, -1, banned};
        decision_refuse(e, d, &hit, FL_DISCONNECT, &v);
        if (d->verdict != FL_ALLOW)
            return connect_refused(e, &v);
    } else if (fl_limits_check_connect(e, c, h, now, &hit)) {
        decision_refuse(e, d, &hit, FL_DISCONNECT, &v);
        emit(e, fl_limit_descs[hit.id].event, &v, &hit, d);
        if (d->verdict != FL_ALLOW)
            return connect_refused(e, &v);
    }

    const struct session_key key = {sid, sid_len, sid_hv, &ci->addr, host_hv};
    fl_session *s;
    enum fl_limit_id failure = session_open(e, c, &key, h, &geo, cdef, NULL, true, &s);
    if (s == NULL) {
        refuse_for(e, d, failure, FL_DISCONNECT, &v);
        return connect_refused(e, &v);
    }
    h = s->host;
    if (h->class_slot == FL_CLASS_SLOT_UNKNOWN)
        host_class_remember(e, h, cdef);
    if (p->rate.count != FL_UNLIMITED)
        fl_rate_record(e->t.rate, now);
    if (c->lim->rate_per_host.count != FL_UNLIMITED)
        fl_rate_record(h->rate, now);
    if (p->cluster.on)
        fl_farm_note_connect(e, c, s);
    *out = s;
    return 0;
}

/* --- USER ----------------------------------------------------------------- */

/* The user login counts under, and its length, once whether it is
 * anonymous is known: anonymous aliases are one user, as they are one
 * account in ProFTPD -- the account the server named, or else the first of
 * AnonymousUsers. */
static const char *anonymous_user(const fl_policy *p, const fl_login *login,
                                  size_t *len)
{
    const char *name = login->anonymity == FL_ANON_YES ? fl_login_account(login)
                       : login->anon_block != 0
                           ? p->scopes[login->anon_block - 1].account
                           : p->anon_users[0];
    *len = strlen(name);
    return name;
}

static inline const char *login_user(const fl_policy *p, const fl_login *login,
                                     size_t *len)
{
    if (login->flags & FL_LOGIN_ANONYMOUS)
        return anonymous_user(p, login, len);
    *len = login->len;
    return login->name;
}

/* Work out whom login counts under in the policy in force, with that
 * user's hash, and ask for the user's bucket: USER does this, so that its
 * PASS, a round trip later, finds the bucket in cache; PASS does it again
 * only when a reload came in between. */
static void login_prepare(fl_engine *e, const fl_session *s, fl_login *login)
{
    const fl_policy *p = e->policy;
    fl_server_counts *c = fl_host_server(e, s->host);
    /* Only a server with <Anonymous> blocks has any to look in. */
    const fl_scope *server = c->anons ? c->def : NULL;
    const fl_scope *block = NULL;
    bool anonymous = false;
    if (login->anonymity == FL_ANON_YES) {
        anonymous = true;
        if (server != NULL)
            block = fl_policy_anon_block(p, server, fl_login_account(login));
    } else if (login->anonymity == FL_ANON_BY_POLICY) {
        if (server != NULL)
            block = fl_policy_anon_alias(p, server, login->name);
        anonymous = block != NULL || fl_policy_is_anonymous(p, login->name);
    }
    login->anon_block = block != NULL ? (uint16_t)(block - p->scopes + 1) : 0;
    login->flags = (uint8_t)((login->flags & ~FL_LOGIN_ANONYMOUS) |
                             (anonymous ? FL_LOGIN_ANONYMOUS : 0));
    size_t len;
    const char *name = login_user(e->policy, login, &len);
    login->user_hv = fl_key_hash(e, name, len);
    login->policy_gen = e->policy_gen;
    fl_user_prefetch(c, login->user_hv);
}

/* 1 to FL_USER_MAX bytes: its length, or 0. */
static size_t user_name_len(const char *name)
{
    size_t len = name != NULL ? strnlen(name, FL_USER_MAX + 1) : 0;
    return len <= FL_USER_MAX ? len : 0;
}

static int user_set(fl_engine *e, fl_session *s, const char *user,
                    fl_anonymity anonymity, const char *account, fl_decision *d)
{
    size_t len = user_name_len(user);
    if (e == NULL || s == NULL || d == NULL || len == 0 ||
        (anonymity == FL_ANON_YES && user_name_len(account) == 0)) {
        errno = EINVAL;
        return -1;
    }
    if (s->authenticated) {
        errno = EISCONN;
        return -1;
    }
    fl_login *login = fl_login_new(e, user, len, anonymity, account);
    if (login == NULL)
        return -1;
    login_prepare(e, s, login);
    fl_login_free(e, s->u.login);
    s->u.login = login;
    decision_allow(d, e->policy->dry_run);
    return 0;
}

int fl_user(fl_engine *e, fl_session *s, const char *user, fl_decision *d)
{
    return user_set(e, s, user, FL_ANON_BY_POLICY, NULL, d);
}

int fl_user_resolved(fl_engine *e, fl_session *s, const char *user,
                     const char *anon_account, fl_decision *d)
{
    return user_set(e, s, user, anon_account != NULL ? FL_ANON_YES : FL_ANON_NO,
                    anon_account, d);
}

/* A session between its USER and its PASS: 0, or -1 with EISCONN (logged
 * in) or EPROTO (no USER yet). */
static int login_open(const fl_session *s)
{
    if (s->authenticated) {
        errno = EISCONN;
        return -1;
    }
    if (s->u.login == NULL) {
        errno = EPROTO;
        return -1;
    }
    return 0;
}

int fl_user_groups(fl_engine *e, fl_session *s, const char *const *groups, size_t n)
{
    size_t len = 0;
    if (n > FL_GROUPS_MAX) {
        errno = EINVAL;
        return -1;
    }
    for (size_t i = 0; groups != NULL && i < n; i++) {
        size_t glen = groups[i] != NULL ? strnlen(groups[i], FL_USER_MAX + 1) : 0;
        if (glen == 0 || glen > FL_USER_MAX || fl_text_has_control(groups[i], glen)) {
            errno = EINVAL;
            return -1;
        }
        len += glen + 1;
    }
    if (e == NULL || s == NULL || (n > 0 && groups == NULL)) {
        errno = EINVAL;
        return -1;
    }
    if (login_open(s) < 0)
        return -1;
    char *names = fl_malloc(len > 0 ? len : 1);
    if (names == NULL)
        return -1;
    for (size_t i = 0, o = 0; i < n; i++) {
        size_t glen = strlen(groups[i]) + 1;
        memcpy(names + o, groups[i], glen);
        o += glen;
    }
    fl_login *with = fl_login_with_groups(e, s->u.login, names, n, len);
    fl_free(names);
    if (with == NULL)
        return -1;
    s->u.login = with;
    return 0;
}

/* --- logging in: the entries a login counts in ------------------------------ */

/* What a successful login of name on s would count in: the entries found,
 * and the hashes to insert the missing ones with. */
struct login_plan {
    const char *name;
    size_t name_len;
    unsigned user_hv, pair_hv, net_hv, country_hv;
    uint8_t nkey[FL_NET_KEY_LEN];
    const char *cc; /* the host's country, "" when unknown */
    fl_user_entry *u;
    fl_pair *pair;
    fl_network *net;
    fl_country *country;
};

/* Start the plan for login: the user it counts under, and its hash. */
static void login_plan_begin(fl_engine *e, const fl_session *s, fl_login *login,
                             struct login_plan *lp)
{
    if (login->policy_gen != e->policy_gen)
        login_prepare(e, s, login);
    memset(lp, 0, sizeof *lp);
    lp->name = login_user(e->policy, login, &lp->name_len);
    lp->user_hv = login->user_hv;
}

/* Find the entries of the plan login_plan_begin() started. */
static void login_plan_lookup(fl_engine *e, const fl_session *s, struct login_plan *lp)
{
    fl_host *h = s->host;
    fl_server_counts *c = fl_host_server(e, h);
    /* A host with clients knows its network. */
    lp->net = h->u.live.net;
    if (lp->net == NULL) {
        fl_network_key(e->policy, &h->addr, lp->nkey);
        lp->net = fl_network_lookup(e, c, lp->nkey, &lp->net_hv);
    }
    lp->u = fl_user_find_hv(c, lp->name, lp->name_len, lp->user_hv);
    lp->pair = lp->u != NULL ? fl_pair_lookup(e, c, lp->u, h, &lp->pair_hv) : NULL;
    lp->cc = h->geo.country;
    lp->country =
        lp->cc[0] != '\0' ? fl_country_lookup(e, c, lp->cc, &lp->country_hv) : NULL;
}

/* Insert what the plan lacks, then count the session in everything: it is
 * authenticated. -1/ENOMEM, with nothing inserted or counted. */
static int login_plan_commit(fl_engine *e, fl_session *s, struct login_plan *lp)
{
    fl_host *h = s->host;
    fl_server_counts *c = fl_host_server(e, h);
    fl_user_entry *u = lp->u;
    fl_pair *pair = lp->pair;
    fl_network *net = lp->net;
    fl_country *country = lp->country;
    bool new_user = u == NULL, new_pair = pair == NULL, new_net = net == NULL;
    bool new_country = lp->cc[0] != '\0' && country == NULL;

    /* A new user has no pair yet. */
    if (new_user)
        u = fl_user_insert(c, lp->name, lp->name_len, lp->user_hv);
    /* A new user's pair is its first, which needs no hash. */
    if (u != NULL && new_pair)
        pair = fl_pair_insert(c, u, h, lp->pair_hv);
    if (pair != NULL && new_net)
        net = fl_network_insert(c, lp->nkey, lp->net_hv);
    if (net != NULL && new_country)
        country = fl_country_insert(c, lp->cc, lp->country_hv);
    if (u == NULL || pair == NULL || net == NULL ||
        (lp->cc[0] != '\0' && country == NULL)) {
        if (net != NULL && new_net)
            fl_network_release(c, net);
        if (pair != NULL && new_pair)
            fl_pair_release(c, u, pair);
        if (u != NULL && new_user)
            fl_user_release(c, u);
        errno = ENOMEM;
        return -1;
    }

    u->clients++;
    pair->clients++;
    net->clients++;
    h->u.live.clients++;
    h->u.live.net = net;
    if (s->cls != NULL)
        s->cls->clients++;
    if (country != NULL) {
        country->clients++;
        memcpy(s->country, lp->cc, 2);
    }
    c->nclients++;
    e->t.nclients++;
    fl_login_free(e, s->u.login);
    s->u.user = u;
    s->authenticated = true;
    return 0;
}

/* --- PASS ----------------------------------------------------------------- */

/* A subject ran a policy's pattern past its budget (policy/regex.h): a
 * warning, at most one each 10 s, with how many there were. */
static void regex_overrun(fl_engine *e, const char *what, const char *pattern,
                          const char *outcome)
{
    fl_usec now = fl_now(e);
    e->regex_overruns++;
    if (e->regex_warned != 0 && now - e->regex_warned < 10 * FL_USEC_PER_SEC)
        return;
    char shown[200];
    fl_log(e, LOG_WARNING,
           "%s '%s': a subject ran the pattern past its budget (%llu time(s) since "
           "the last warning): %s",
           what, fl_text_escape(pattern, shown, sizeof shown),
           (unsigned long long)e->regex_overruns, outcome);
    e->regex_overruns = 0;
    e->regex_warned = now != 0 ? now : 1;
}

/* lim, with the <IfClass>/<IfAuthenticated>/<IfGroup>/<IfUser> blocks of
 * server that match a login of user in class cls, whose user is in groups,
 * over it as mod_ifsession merges them (types.h): of the matching blocks,
 * in its order, the first that sets a limit gives it -- for
 * MaxClientsPerClass, every class's: the class cdef's limit in that block,
 * or none -- built in *out; *class_limit the class cdef's limit. Only
 * where a server has such blocks: a login elsewhere reads its limits where
 * they are. A login in an <Anonymous> block is not given them: ProFTPD
 * merges them into the server's configuration, which the block's limits
 * are not read from. */
static const fl_limits *cond_limits(fl_engine *e, const fl_scope *server,
                                    const fl_limits *lim, const char *user,
                                    const char *cls, const fl_groups *groups,
                                    const fl_class_def *cdef, fl_limits *out,
                                    const fl_limit_cfg **class_limit)
{
    const fl_policy *p = e->policy;
    *out = *lim;
    uint32_t given = 0; /* the limits a block gave: merging it took them out of
                           every other block */
    for (unsigned kind = 0; kind < FL_COND_KINDS; kind++) {
        for (size_t i = 0; i < server->nconds; i++) {
            const fl_cond *c = &server->conds[i];
            uint32_t sets = c->sc->set & ~given;
            if (c->kind != (enum fl_cond_kind)kind || sets == 0)
                continue;
            int match = fl_cond_matches(c, user, cls, groups);
            if (match < 0)
                regex_overrun(e, fl_cond_block(c->kind), c->text,
                              "the block not applied");
            if (match != 1)
                continue;
            given |= sets;
            for (size_t id = 0; id < FL_L_COUNT; id++) {
                if (!(sets >> id & 1) || fl_limit_descs[id].syntax == FL_SYN_CLASS)
                    continue;
                size_t off = fl_limit_offsets[id]; /* an fl_limit_cfg: fl_cond_takes */
                memcpy((char *)out + off, (const char *)&c->sc->lim + off,
                       sizeof(fl_limit_cfg));
            }
            if (!(sets >> FL_L_PER_CLASS & 1))
                continue;
            const fl_limit_cfg *cl = cdef != NULL && c->sc->lim.class_limits != NULL
                                         ? &c->sc->lim.class_limits[cdef - p->classes]
                                         : NULL;
            *class_limit = cl != NULL && cl->max != FL_LIMIT_UNSET ? cl : NULL;
        }
    }
    return out;
}

/* Whether login lands in an <Anonymous> block. */
static bool login_in_block(const fl_login *login)
{
    return login != NULL && (login->flags & FL_LOGIN_ANONYMOUS) &&
           login->anon_block != 0;
}

/* The limits a login on a session of server sc is decided by: its
 * <Anonymous> block's, or its server's. */
static const fl_limits *login_limits(const fl_engine *e, const fl_server_counts *sc,
                                     const fl_login *login)
{
    if (login_in_block(login))
        return &e->policy->scopes[login->anon_block - 1].lim;
    return sc->lim;
}

/* Whether AnonRejectPasswords rejects an anonymous login's password. A
 * password that runs the pattern past its budget is rejected. */
static bool anon_password_rejected(fl_engine *e, const fl_limits *l, bool anonymous,
                                   const char *password)
{
    const fl_anon_reject *r = l->anon_reject;
    if (r == NULL || !anonymous)
        return false;
    int match = fl_regex_match(&r->re, password != NULL ? password : "");
    if (match < 0) {
        regex_overrun(e, "AnonRejectPasswords", r->source, "refused");
        return true;
    }
    return (match == 1) != r->negate;
}

/* A failed PASS: 530 "Login incorrect.", and the Nth ends the session. */
static int pass_failed(fl_engine *e, fl_session *s, fl_decision *d, struct view *v)
{
    const fl_policy *p = e->policy;
    long long max =
        login_limits(e, fl_host_server(e, s->host), s->u.login)->max_login_attempts;
    s->failed++;
    if (max != FL_UNLIMITED && s->failed >= max) {
        struct fl_hit hit = {FL_L_LOGIN_ATTEMPTS, max, s->failed, NULL};
        decision_refuse(e, d, &hit, FL_DISCONNECT, v);
        d->verdict =
            p->dry_run ? FL_REJECT : FL_DISCONNECT; /* a bad password is never let in */
        emit(e, FL_EV_MAX_LOGIN_ATTEMPTS, v, &hit, d);
        if (!p->dry_run)
            session_end(e, s);
        return 0;
    }
    if (d->would == FL_ALLOW) {
        d->would = FL_REJECT;
        d->code = 530;
        snprintf(d->message, sizeof d->message, "%s",
                 fl_limit_descs[FL_L_LOGIN_ATTEMPTS].message);
    }
    d->verdict = FL_REJECT;
    return 0;
}

/* The arguments of a PASS, and the session's state for one: 0, or -1
 * with errno. */
static int pass_allowed(const fl_engine *e, const fl_session *s, const char *password,
                        const fl_decision *d)
{
    if (e == NULL || s == NULL || d == NULL ||
        (password != NULL && strnlen(password, FL_PASS_MAX + 1) > FL_PASS_MAX)) {
        errno = EINVAL;
        return -1;
    }
    return login_open(s);
}

int fl_anon_pass_check(fl_engine *e, fl_session *s, const char *password,
                       fl_decision *d)
{
    if (pass_allowed(e, s, password, d) < 0)
        return -1;
    fl_login *login = s->u.login;
    if (login->policy_gen != e->policy_gen)
        login_prepare(e, s, login);
    decision_allow(d, e->policy->dry_run);
    if (anon_password_rejected(e, login_limits(e, fl_host_server(e, s->host), login),
                               login->flags & FL_LOGIN_ANONYMOUS, password)) {
        struct view v;
        view_of_session(e, &v, s);
        refuse_for(e, d, FL_L_ANON_REJECT, FL_REJECT, &v);
        if (d->verdict != FL_ALLOW)
            return pass_failed(e, s, d, &v);
    }
    login->flags |= FL_LOGIN_PASSWORD_CHECKED;
    return 0;
}

int fl_pass(fl_engine *e, fl_session *s, bool ok, const char *password, fl_decision *d)
{
    fl_farm_reset(e);
    if (pass_allowed(e, s, password, d) < 0)
        return -1;

    const fl_policy *p = e->policy;
    fl_login *login = s->u.login;
    struct view v;
    view_of_session(e, &v, s);
    decision_allow(d, p->dry_run);

    struct login_plan lp;
    login_plan_begin(e, s, login, &lp);
    bool anonymous = login->flags & FL_LOGIN_ANONYMOUS;
    const fl_server_counts *sc = fl_host_server(e, s->host);
    const fl_limits *lim = login_limits(e, sc, login);
    const char *name = lp.name;
    /* A banned user, or user@host, is refused whatever the password: the
     * name given, or the user an anonymous login counts under. */
    const char *banned = gate_at_login(e, sc, login->name, &s->host->addr);
    if (banned == NULL && name != login->name)
        banned = gate_at_login(e, sc, name, &s->host->addr);
    if (banned != NULL) {
        struct fl_hit hit = {FL_L_BAN, -1, -1, banned};
        decision_refuse(e, d, &hit, FL_DISCONNECT, &v);
        d->code = 530;
        if (d->verdict == FL_DISCONNECT) {
            session_end(e, s);
            return 0;
        }
    }
    if (!(login->flags & FL_LOGIN_PASSWORD_CHECKED) &&
        anon_password_rejected(e, lim, anonymous, password))
        refuse_for(e, d, FL_L_ANON_REJECT, FL_REJECT, &v);
    if (!ok || d->verdict != FL_ALLOW)
        return pass_failed(e, s, d, &v);

    login_plan_lookup(e, s, &lp);

    v.user = name;
    /* An <Anonymous> block counts its own logins, which all count under
     * its account: ProFTPD counts the sessions of that user on the server. */
    bool in_block = login_in_block(login);
    long long user_clients = lp.u != NULL ? lp.u->clients : 0;
    const fl_class_def *cdef = s->cls != NULL ? s->cls->def : NULL;
    const fl_limit_cfg *class_limit = cdef != NULL && lim->class_limits != NULL
                                          ? &lim->class_limits[cdef - p->classes]
                                          : NULL;
    fl_limits with_conds;
    if (!in_block && sc->conds) {
        fl_groups groups = fl_login_groups(login);
        lim = cond_limits(e, sc->def, lim, name, s->cls != NULL ? s->cls->name : NULL,
                          &groups, cdef, &with_conds, &class_limit);
    }
    struct fl_login_counts lc = {
        .class_limit = class_limit,
        .class_clients = s->cls != NULL ? s->cls->clients : 0,
        .host_clients = in_block ? (lp.pair != NULL ? lp.pair->clients : 0)
                                 : s->host->u.live.clients,
        .net_clients = lp.net != NULL ? lp.net->clients : 0,
        .country_known = lp.cc[0] != '\0',
        .country_clients = lp.country != NULL ? lp.country->clients : 0,
        .user_clients = user_clients,
        .user_hosts = (lp.u != NULL ? lp.u->nhosts : 0) + (lp.pair != NULL ? 0 : 1),
        .clients = in_block ? user_clients : (long long)sc->nclients,
    };
    struct fl_hit hit;
    if (d->would == FL_ALLOW && fl_limits_check_login(lim, &lc, &hit)) {
        decision_refuse(e, d, &hit, FL_DISCONNECT, &v);
        emit(e, fl_limit_descs[hit.id].event, &v, &hit, d);
        if (d->verdict == FL_DISCONNECT) {
            session_end(e, s);
            return 0;
        }
    }
    if (login_plan_commit(e, s, &lp) < 0) {
        refuse_for(e, d, FL_L_NO_MEMORY, FL_DISCONNECT, &v);
        session_end(e, s);
    } else if (p->cluster.on) {
        const struct fl_farm_login fl = {
            .lim = lim,
            .class_limit = class_limit,
            .in_block = in_block,
            .user = fl_session_user_entry(s)->name, /* the login is freed */
            .user_len = lp.name_len,
            .net_key = s->host->u.live.net->key,
            .country = lp.cc,
        };
        fl_farm_note_login(e, s, &fl);
    }
    return 0;
}

/* --- a farm's answer (ftplimit/farm.h) --------------------------------------- */

/* Undo s's step: a CONNECT's session is released, quietly (the refusal
 * below gives its core.exit); a PASS's login is, as fl_logout() does. */
static int farm_undo(fl_engine *e, fl_session *s, fl_farm_step step)
{
    if (step == FL_FARM_STEP_CONNECT) {
        session_end_quietly(e, s);
        return 0;
    }
    return logout_now(e, s);
}

static int farm_refuse(fl_engine *e, fl_session *s, fl_farm_step step,
                       const struct fl_hit *hit, fl_decision *d)
{
    if (e == NULL || s == NULL || d == NULL ||
        (step == FL_FARM_STEP_LOGIN) != s->authenticated) {
        errno = EINVAL;
        return -1;
    }
    /* The view outlives a CONNECT's session: copies of what it names. */
    char sid[FL_SID_MAX + 1], user[FL_USER_MAX + 1], cls[FL_CLASS_NAME_MAX + 1];
    fl_addr addr = s->host->addr;
    const char *u = fl_session_user(s);
    snprintf(sid, sizeof sid, "%s", s->sid);
    snprintf(user, sizeof user, "%s", u != NULL ? u : "");
    snprintf(cls, sizeof cls, "%s", s->cls != NULL ? s->cls->name : "");
    struct view v;
    view_init(&v, sid, &addr, u != NULL ? user : NULL, s->cls != NULL ? cls : NULL);
    view_set_geo(&v, &s->host->geo);
    view_set_server(&v, fl_host_server(e, s->host));
    decision_allow(d, e->policy->dry_run);
    decision_refuse(e, d, hit, FL_DISCONNECT, &v);
    if (d->verdict == FL_ALLOW) { /* DryRun: counted, as locally */
        emit(e, fl_limit_descs[hit->id].event, &v, hit, d);
        return 0;
    }
    if (farm_undo(e, s, step) < 0)
        return -1;
    emit(e, fl_limit_descs[hit->id].event, &v, hit, d);
    if (step == FL_FARM_STEP_CONNECT)
        return connect_refused(e, &v);
    session_end(e, s);
    return 0;
}

int fl_farm_refuse(fl_engine *e, fl_session *s, fl_farm_step step, int limit,
                   long long max, long long count, const char *message, fl_decision *d)
{
    if (limit < 0 || limit >= (int)FL_L_COUNT) {
        errno = EINVAL;
        return -1;
    }
    struct fl_hit hit = {(enum fl_limit_id)limit, max, count, message};
    return farm_refuse(e, s, step, &hit, d);
}

int fl_farm_unavailable(fl_engine *e, fl_session *s, fl_farm_step step, fl_decision *d)
{
    struct fl_hit hit = {FL_L_CLUSTER_UNAVAILABLE, -1, -1, NULL};
    return farm_refuse(e, s, step, &hit, d);
}

/* --- logout -------------------------------------------------------------- */

int fl_logout(fl_engine *e, fl_session *s)
{
    if (e == NULL || s == NULL) {
        errno = EINVAL;
        return -1;
    }
    if (!s->authenticated) {
        errno = ENOTCONN;
        return -1;
    }
    return logout_now(e, s);
}

/* --- resume ---------------------------------------------------------------- */

int fl_resume(fl_engine *e, const fl_resume_info *ri, fl_session **out)
{
    size_t sid_len =
        ri != NULL && ri->sid != NULL ? strnlen(ri->sid, FL_SID_MAX + 1) : 0;
    if (e == NULL || ri == NULL || out == NULL || !sid_chars_valid(ri->sid, sid_len) ||
        (ri->class_name != NULL &&
         strnlen(ri->class_name, FL_CLASS_NAME_MAX + 1) > FL_CLASS_NAME_MAX) ||
        (ri->user != NULL &&
         (ri->user[0] == '\0' || strnlen(ri->user, FL_USER_MAX + 1) > FL_USER_MAX)) ||
        (ri->authenticated && ri->user == NULL) || ri->failed < 0 ||
        ri->failed > 65535 || (unsigned)ri->anonymity > FL_ANON_YES ||
        (ri->server != NULL && ri->server->port == 0)) {
        errno = EINVAL;
        return -1;
    }
    /* An id of the engine's form: the engine's own ids must stay unique
     * after it, so its number must be one the engine can count past. */
    uint64_t resumed_no = 0;
    bool reserved = sid_reserved(ri->sid, sid_len);
    if (reserved && !sid_number(ri->sid, sid_len, &resumed_no)) {
        errno = EINVAL;
        return -1;
    }
    if (e->state == FL_ENGINE_DOWN) {
        errno = ESHUTDOWN;
        return -1;
    }
    *out = NULL;
    fl_farm_reset(e);

    unsigned sid_hv, host_hv;
    sid_hv = sid_hash(e, ri->sid, sid_len);
    if (fl_session_find_hv(e, ri->sid, sid_len, sid_hv) != NULL) {
        errno = EEXIST;
        return -1;
    }
    /* Whether an authenticated session is anonymous: an account the server
     * named counts as it did (the user given is that account). */
    fl_anonymity anonymity = ri->authenticated ? ri->anonymity : FL_ANON_BY_POLICY;
    fl_login *login = ri->user != NULL ? fl_login_new(e, ri->user, strlen(ri->user),
                                                      anonymity, ri->user)
                                       : NULL;
    if (ri->user != NULL && login == NULL)
        return -1;

    fl_server_counts *c = fl_server_for(e, ri->server);
    fl_host *h = fl_host_lookup(e, c, &ri->addr, &host_hv);
    fl_geo geo;
    host_geo(e, h, &ri->addr, &geo);
    const fl_class_def *cdef =
        ri->classify ? fl_classify(e->policy, &ri->addr, NULL, &geo) : NULL;
    const char *cls = ri->classify ? NULL : ri->class_name;
    const struct session_key key = {ri->sid, sid_len, sid_hv, &ri->addr, host_hv};
    fl_session *s;
    enum fl_limit_id failure = session_open(e, c, &key, h, &geo, cdef, cls, false, &s);
    if (s == NULL) {
        fl_login_free(e, login);
        errno = failure == FL_L_TABLE_FULL ? ENOSPC : ENOMEM;
        return -1;
    }
    s->failed = (uint16_t)ri->failed;
    s->u.login = login;

    if (ri->authenticated) {
        struct login_plan lp;
        login_plan_begin(e, s, login, &lp);
        login_plan_lookup(e, s, &lp);
        bool in_block = login_in_block(login);
        if (login_plan_commit(e, s, &lp) < 0) {
            session_end_quietly(e, s);
            errno = ENOMEM;
            return -1;
        }
        if (e->policy->cluster.on) {
            const struct fl_farm_login fl = {
                .lim = c->lim,
                .in_block = in_block,
                .user = fl_session_user_entry(s)->name, /* the login is freed */
                .user_len = lp.name_len,
                .net_key = s->host->u.live.net->key,
                .country = lp.cc,
            };
            fl_farm_note_resume(e, c, s, &fl);
        }
    } else if (e->policy->cluster.on) {
        fl_farm_note_resume(e, c, s, NULL);
    }

    if (reserved && !e->t.sid_past_u64 && resumed_no > e->t.next_sid)
        auto_sid_skip_to(&e->t, resumed_no);
    *out = s;
    return 0;
}

/* --- queries -------------------------------------------------------------- */

fl_session *fl_session_find(fl_engine *e, const char *sid)
{
    if (e == NULL || sid == NULL)
        return NULL;
    size_t len = strlen(sid);
    return fl_session_find_hv(e, sid, len, sid_hash(e, sid, len));
}

const char *fl_session_id(const fl_session *s)
{
    return s->sid;
}

const fl_addr *fl_session_addr(const fl_session *s)
{
    return &s->host->addr;
}

const char *fl_session_user(const fl_session *s)
{
    if (s->authenticated)
        return fl_session_user_entry(s)->name;
    return s->u.login != NULL ? s->u.login->name : NULL;
}

const char *fl_session_class(const fl_session *s)
{
    return s->cls != NULL ? s->cls->name : NULL;
}

bool fl_session_authenticated(const fl_session *s)
{
    return s->authenticated;
}

int fl_session_failed_logins(const fl_session *s)
{
    return s->failed;
}

void fl_engine_totals(fl_engine *e, fl_totals *t)
{
    memset(t, 0, sizeof *t);
    t->sessions = e->t.nsessions;
    t->clients = e->t.nclients;
    t->hosts = e->t.nhosts;
    t->idle_hosts = e->t.nidle;
    for (size_t i = 0; i < e->t.ncounts; i++) {
        const fl_server_counts *c = e->t.counts[i];
        t->users += HASH_COUNT(c->users);
        t->classes += HASH_COUNT(c->classes);
        t->networks += HASH_COUNT(c->networks);
        t->countries += HASH_COUNT(c->countries);
        t->user_hosts += c->npairs;
    }
    t->evictions = e->t.evictions;
}

static int counts_none(fl_counts *c)
{
    c->conns = c->clients = c->hosts = 0;
    errno = ENOENT;
    return -1;
}

/* Each count is summed over every server. */
int fl_count_host(fl_engine *e, const fl_addr *a, fl_counts *c)
{
    bool found = false;
    c->conns = c->clients = c->hosts = 0;
    unsigned hv = fl_host_hash(e, a);
    for (size_t i = 0; i < e->t.ncounts; i++) {
        const fl_host *h = fl_host_find_hv(e->t.counts[i], a, hv);
        if (h == NULL)
            continue;
        found = true;
        c->conns += h->conns;
        c->clients += h->conns > 0 ? h->u.live.clients : 0;
        c->hosts = 1;
    }
    return found ? 0 : counts_none(c);
}

int fl_count_user(fl_engine *e, const char *user, fl_counts *c)
{
    bool found = false;
    c->conns = c->clients = c->hosts = 0;
    for (size_t i = 0; i < e->t.ncounts; i++) {
        unsigned hv;
        const fl_user_entry *u =
            fl_user_lookup(e, e->t.counts[i], user, strlen(user), &hv);
        if (u == NULL)
            continue;
        found = true;
        c->conns += u->clients;
        c->clients += u->clients;
        c->hosts += u->nhosts;
    }
    return found ? 0 : counts_none(c);
}

int fl_count_class(fl_engine *e, const char *class_name, fl_counts *c)
{
    bool found = false;
    c->conns = c->clients = 0;
    c->hosts = -1;
    for (size_t i = 0; i < e->t.ncounts; i++) {
        unsigned hv;
        const fl_class_count *k =
            fl_class_count_lookup(e, e->t.counts[i], class_name, &hv);
        if (k == NULL)
            continue;
        found = true;
        c->conns += k->conns;
        c->clients += k->clients;
    }
    return found ? 0 : counts_none(c);
}

int fl_count_network(fl_engine *e, const fl_addr *a, fl_counts *c)
{
    uint8_t key[FL_NET_KEY_LEN];
    fl_network_key(e->policy, a, key);
    bool found = false;
    c->conns = c->clients = 0;
    c->hosts = -1;
    for (size_t i = 0; i < e->t.ncounts; i++) {
        unsigned hv;
        const fl_network *n = fl_network_lookup(e, e->t.counts[i], key, &hv);
        if (n == NULL)
            continue;
        found = true;
        c->conns += n->clients;
        c->clients += n->clients;
    }
    return found ? 0 : counts_none(c);
}
