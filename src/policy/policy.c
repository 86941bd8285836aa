/*
 * policy.c - a policy's lifetime, its lookups, and its description.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/addr.h"
#include "util/alloc.h"
#include "policy/cluster.h"
#include "policy/directive.h"
#include "policy/types.h"

static void limit_init(fl_limit_cfg *l)
{
    l->max = FL_UNLIMITED;
    l->message = NULL;
}

static unsigned char ascii_lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* Fill anon_first and anon_first_wide from p's AnonymousUsers names. */
static void anon_index(fl_policy *p)
{
    memset(p->anon_first, 0, sizeof p->anon_first);
    p->anon_first_wide = false;
    for (size_t i = 0; i < p->nanon; i++) {
        unsigned char a0 = ascii_lower((unsigned char)p->anon_users[i][0]);
        if (a0 >= 0x80)
            p->anon_first_wide = true;
        else
            p->anon_first[a0 >> 6] |= 1ULL << (a0 & 63);
    }
}

void fl_limits_init(fl_limits *l)
{
    memset(l, 0, sizeof *l);
    l->rate_per_host.count = FL_UNLIMITED;
    l->rate_per_host.interval = FL_DEFAULT_RATE_INTERVAL;
    limit_init(&l->max_conns_per_host);
    limit_init(&l->per_host);
    limit_init(&l->per_network);
    limit_init(&l->per_country);
    limit_init(&l->per_user);
    limit_init(&l->clients);
    limit_init(&l->hosts_per_user);
    l->max_login_attempts = FL_DEFAULT_MAX_LOGIN_ATTEMPTS;
}

/* The messages l holds (each scope's limits own theirs). */
static void limits_clear(fl_limits *l, size_t nclasses, bool own_classes)
{
    fl_free(l->rate_per_host.message);
    fl_free(l->max_conns_per_host.message);
    fl_free(l->per_host.message);
    fl_free(l->per_network.message);
    fl_free(l->per_country.message);
    fl_free(l->per_user.message);
    fl_free(l->clients.message);
    fl_free(l->hosts_per_user.message);
    if (own_classes && l->class_limits != NULL) {
        for (size_t i = 0; i < nclasses; i++)
            fl_free(l->class_limits[i].message);
        fl_free(l->class_limits);
    }
    fl_limits_init(l);
}

void fl_anon_reject_clear(fl_anon_reject *r)
{
    if (r->set) {
        fl_regex_free(&r->re);
        fl_free(r->source);
    }
    memset(r, 0, sizeof *r);
}

void fl_scope_clear(fl_scope *sc, size_t nclasses)
{
    limits_clear(&sc->lim, nclasses, sc->kind == FL_SCOPE_SERVER);
    fl_anon_reject_clear(&sc->own_reject);
    fl_free(sc->name);
    fl_free(sc->file);
    fl_free(sc->binds);
    fl_free(sc->dir);
    fl_free(sc->account);
    for (size_t i = 0; i < sc->naliases; i++)
        fl_free(sc->aliases[i]);
    fl_free(sc->aliases);
    fl_free(sc->anons);
    for (size_t i = 0; i < sc->nconds; i++)
        fl_cond_clear(&sc->conds[i], nclasses);
    fl_free(sc->conds);
    for (size_t i = 0; i < FL_L_COUNT; i++)
        fl_free(sc->set_file[i]);
    memset(sc, 0, sizeof *sc);
}

void fl_cond_clear(fl_cond *c, size_t nclasses)
{
    fl_free(c->text);
    fl_free(c->file);
    for (size_t i = 0; i < c->nitems; i++)
        fl_free(c->items[i]);
    fl_free(c->items);
    if (c->is_regex)
        fl_regex_free(&c->re);
    if (c->sc != NULL) {
        fl_scope_clear(c->sc, nclasses);
        fl_free(c->sc);
    }
    memset(c, 0, sizeof *c);
}

/* Whether one of the subjects (n names, each NUL-terminated, one after
 * another) is name. */
static bool cond_subject(const char *subjects, size_t n, const char *name)
{
    for (const char *s = subjects; n > 0; n--, s += strlen(s) + 1) {
        if (strcmp(name, s) == 0)
            return true;
    }
    return false;
}

/* Whether one of the subjects matches c's pattern: 1, 0, or -1 when the
 * pattern ran out of its budget on one before any matched. */
static int cond_pattern(const fl_cond *c, const char *subjects, size_t n)
{
    int over = 0;
    for (const char *s = subjects; n > 0; n--, s += strlen(s) + 1) {
        int rc = fl_regex_match(&c->re, s);
        if (rc == 1)
            return 1;
        if (rc < 0)
            over = -1;
    }
    return over;
}

/* mod_ifsession's expressions (ProFTPD's pr_expr_eval_*_or and _and): an
 * item "!name" holds when the subject is not name -- for a group, when the
 * user is in no group of that name; OR holds when one item does, AND when
 * every one does; a pattern holds when a subject matches it. No class: no
 * name is its name. <IfAuthenticated> holds for every login. */
int fl_cond_matches(const fl_cond *c, const char *user, const char *class_name,
                    const fl_groups *groups)
{
    const char *subjects;
    size_t n;
    switch (c->kind) {
    case FL_COND_AUTHN:
        return 1;
    case FL_COND_GROUP:
        subjects = groups != NULL ? groups->names : NULL;
        n = subjects != NULL ? groups->n : 0;
        break;
    case FL_COND_USER:
        subjects = user;
        n = user != NULL;
        break;
    default:
        subjects = class_name;
        n = class_name != NULL;
        break;
    }
    if (c->is_regex)
        return cond_pattern(c, subjects, n);
    bool held = false;
    for (size_t i = 0; i < c->nitems; i++) {
        const char *name = c->items[i];
        bool negated = name[0] == '!';
        held = cond_subject(subjects, n, name + negated) != negated;
        if (held != c->all)
            return held; /* OR: one holds; AND: one fails */
    }
    return held ? 1 : 0;
}

fl_scope *fl_policy_add_scope(fl_policy *p, enum fl_scope_kind kind, size_t server)
{
    fl_scope *grown = fl_realloc(p->scopes, (p->nscopes + 1) * sizeof *grown);
    if (grown == NULL)
        return NULL;
    p->scopes = grown;
    fl_scope *sc = &p->scopes[p->nscopes];
    memset(sc, 0, sizeof *sc);
    sc->kind = kind;
    sc->server = kind == FL_SCOPE_SERVER ? p->nscopes : server;
    fl_limits_init(&sc->lim);
    p->nscopes++;
    return sc;
}

static int bind_cmp(const fl_bind *a, const fl_bind *b)
{
    int c = memcmp(a->addr.b, b->addr.b, sizeof a->addr.b);
    return c != 0 ? c : (int)a->port - (int)b->port;
}

static int bind_entry_cmp(const void *a, const void *b)
{
    return bind_cmp(&((const struct fl_bind_entry *)a)->bind,
                    &((const struct fl_bind_entry *)b)->bind);
}

int fl_policy_index_binds(fl_policy *p, size_t *dup_a, size_t *dup_b, fl_bind *dup)
{
    size_t n = 0;
    for (size_t i = 0; i < p->nscopes; i++)
        n += p->scopes[i].nbinds;
    fl_free(p->bind_index);
    p->bind_index = NULL;
    p->nbind_index = 0;
    if (n == 0)
        return 0;
    struct fl_bind_entry *idx = fl_calloc(n, sizeof *idx);
    if (idx == NULL)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < p->nscopes; i++) {
        for (size_t j = 0; j < p->scopes[i].nbinds; j++)
            idx[k++] = (struct fl_bind_entry){p->scopes[i].binds[j], i};
    }
    qsort(idx, n, sizeof *idx, bind_entry_cmp);
    p->bind_index = idx;
    p->nbind_index = n;
    for (size_t i = 1; i < n; i++) {
        if (bind_cmp(&idx[i - 1].bind, &idx[i].bind) == 0) {
            *dup_a = idx[i - 1].scope;
            *dup_b = idx[i].scope;
            *dup = idx[i].bind;
            errno = EEXIST;
            return -1;
        }
    }
    return 0;
}

const fl_scope *fl_policy_server(const fl_policy *p, const fl_bind *server)
{
    if (server == NULL || p->nbind_index == 0)
        return &p->scopes[0];
    struct fl_bind_entry key = {*server, 0};
    const struct fl_bind_entry *hit =
        bsearch(&key, p->bind_index, p->nbind_index, sizeof key, bind_entry_cmp);
    return hit != NULL ? &p->scopes[hit->scope] : &p->scopes[0];
}

const fl_scope *fl_policy_anon_block(const fl_policy *p, const fl_scope *srv,
                                     const char *account)
{
    for (size_t i = 0; i < srv->nanons; i++) {
        const fl_scope *a = &p->scopes[srv->anons[i]];
        if (strcmp(a->account, account) == 0)
            return a;
    }
    return NULL;
}

const fl_scope *fl_policy_anon_alias(const fl_policy *p, const fl_scope *srv,
                                     const char *name)
{
    for (size_t i = 0; i < srv->nanons; i++) {
        const fl_scope *a = &p->scopes[srv->anons[i]];
        if (strcmp(a->account, name) == 0)
            return a;
        for (size_t j = 0; j < a->naliases; j++) {
            if (strcmp(a->aliases[j], name) == 0)
                return a;
        }
    }
    return NULL;
}

fl_policy *fl_policy_new(const struct fl_policy_part *const *parts, size_t nparts)
{
    if (nparts > FL_POLICY_PARTS_MAX) {
        errno = EINVAL;
        return NULL;
    }
    fl_policy *p = fl_calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    limit_init(&p->max_instances);
    p->rate.count = FL_UNLIMITED;
    p->rate.interval = FL_DEFAULT_RATE_INTERVAL;
    p->net_v4_bits = FL_DEFAULT_NET_V4_BITS + 96;
    p->net_v6_bits = FL_DEFAULT_NET_V6_BITS;
    p->max_tracked_hosts = FL_DEFAULT_MAX_TRACKED_HOSTS;
    fl_cluster_cfg_init(&p->cluster);
    if (fl_policy_add_scope(p, FL_SCOPE_SERVER, 0) == NULL ||
        (p->scopes[0].name = fl_strdup("main")) == NULL) {
        fl_policy_free(p);
        errno = ENOMEM;
        return NULL;
    }

    static const char *const default_anon[] = {"anonymous", "ftp"};
    p->anon_users = fl_calloc(2, sizeof *p->anon_users);
    if (p->anon_users == NULL) {
        fl_policy_free(p); /* the main server's scope is made */
        return NULL;
    }
    for (size_t i = 0; i < 2; i++) {
        p->anon_users[i] = fl_strdup(default_anon[i]);
        if (p->anon_users[i] == NULL) {
            fl_policy_free(p);
            return NULL;
        }
        p->nanon++;
    }
    anon_index(p);
    for (size_t i = 0; i < nparts; i++) {
        /* A part without settings of its own (the parser's: its directives
         * fill the policy's fields) has none to make. */
        void *conf = parts[i]->conf_new != NULL ? parts[i]->conf_new() : NULL;
        if (parts[i]->conf_new != NULL && conf == NULL) {
            fl_policy_free(p);
            errno = ENOMEM;
            return NULL;
        }
        p->parts[p->nparts++] = (struct fl_policy_conf){parts[i], conf};
    }
    return p;
}

void *fl_policy_conf(const fl_policy *p, const struct fl_policy_part *part)
{
    for (size_t i = 0; i < p->nparts; i++) {
        if (p->parts[i].part == part)
            return p->parts[i].conf;
    }
    return NULL;
}

void fl_policy_free(fl_policy *p)
{
    if (p == NULL)
        return;
    fl_free(p->path);
    fl_cluster_cfg_clear(&p->cluster);
    fl_free(p->max_instances.message);
    fl_free(p->rate.message);
    for (size_t i = 0; i < p->nscopes; i++)
        fl_scope_clear(&p->scopes[i], p->nclasses);
    fl_free(p->scopes);
    fl_free(p->bind_index);
    fl_anon_reject_clear(&p->global_reject);
    for (size_t i = 0; i < p->ngeodbs; i++)
        fl_geodb_unref(p->geodbs[i]);
    fl_free(p->geodbs);
    for (size_t i = 0; i < 3; i++) {
        fl_free(p->access[i].uids);
        fl_free(p->access[i].gids);
    }
    for (size_t i = 0; i < p->nparts; i++) {
        if (p->parts[i].part->conf_free != NULL)
            p->parts[i].part->conf_free(p->parts[i].conf);
    }
    for (size_t i = 0; i < p->nanon; i++)
        fl_free(p->anon_users[i]);
    fl_free(p->anon_users);
    for (size_t i = 0; i < p->nclasses; i++) {
        fl_class_def *c = &p->classes[i];
        for (size_t j = 0; j < c->nitems; j++)
            fl_free(c->items[j].pattern);
        fl_free(c->items);
        fl_free(c->name);
        fl_free(c->file);
    }
    fl_free(p->classes);
    fl_free(p);
}

const fl_class_def *fl_policy_class(const fl_policy *p, const char *name)
{
    if (name == NULL)
        return NULL;
    for (size_t i = 0; i < p->nclasses; i++) {
        if (strcmp(p->classes[i].name, name) == 0)
            return &p->classes[i];
    }
    return NULL;
}

void fl_policy_set_anon_users(fl_policy *p, char **names, size_t n)
{
    for (size_t i = 0; i < p->nanon; i++)
        fl_free(p->anon_users[i]);
    fl_free(p->anon_users);
    p->anon_users = names;
    p->nanon = n;
    anon_index(p);
}

bool fl_policy_is_anonymous(const fl_policy *p, const char *user)
{
    unsigned char u0 = ascii_lower((unsigned char)user[0]);
    /* Nearly every name is answered here, by its first byte (strcasecmp
     * folds bytes past ASCII by locale, so those go to it). */
    if (u0 < 0x80 && !p->anon_first_wide && !(p->anon_first[u0 >> 6] >> (u0 & 63) & 1))
        return false;
    for (size_t i = 0; i < p->nanon; i++) {
        unsigned char a0 = ascii_lower((unsigned char)p->anon_users[i][0]);
        if (a0 < 0x80 && u0 < 0x80 && a0 != u0)
            continue;
        if (strcasecmp(p->anon_users[i], user) == 0)
            return true;
    }
    return false;
}

#define FL_FIELD(member) offsetof(fl_policy, member)
#define FL_SCOPED(member) offsetof(fl_limits, member)
#define FL_NOFIELD 0
const size_t fl_limit_offsets[FL_L_COUNT] = {
#define FL_LIMIT(id, directive, event, code, message, syntax, field, ban, shown,       \
                 proftpd, scope)                                                       \
    [FL_L_##id] = field,
#include "catalog/limits.def"
#undef FL_LIMIT
};
#undef FL_FIELD
#undef FL_SCOPED
#undef FL_NOFIELD

static const void *limit_field(const fl_policy *p, const fl_scope *sc,
                               enum fl_limit_id id)
{
    const void *base = fl_limit_descs[id].scope == FL_SC_DAEMON
                           ? (const void *)p
                           : (const void *)&sc->lim;
    return (const char *)base + fl_limit_offsets[id];
}

long long fl_policy_limit_value(const fl_policy *p, const fl_scope *sc,
                                enum fl_limit_id id)
{
    switch (fl_limit_descs[id].syntax) {
    case FL_SYN_LIMIT:
    case FL_SYN_NETWORK:
    case FL_SYN_COUNTRY:
        return ((const fl_limit_cfg *)limit_field(p, sc, id))->max;
    case FL_SYN_RATE:
        return ((const fl_rate_cfg *)limit_field(p, sc, id))->count;
    case FL_SYN_ATTEMPTS:
        return *(const long long *)limit_field(p, sc, id);
    case FL_SYN_NONE:
    case FL_SYN_CLASS:
    case FL_SYN_ANON_REJECT:
    case FL_SYN_TRACKED:
        break;
    }
    return -1;
}

void fl_class_item_format(const fl_class_item *it, char *buf, size_t size)
{
    const char *neg = it->negate ? "!" : "";
    char text[FL_ADDR_TEXT_MAX];
    switch (it->kind) {
    case FL_ITEM_ALL:
        snprintf(buf, size, "%sall", neg);
        break;
    case FL_ITEM_NONE:
        snprintf(buf, size, "%snone", neg);
        break;
    case FL_ITEM_PREFIX: {
        bool v4 = fl_addr_is_v4(&it->net) && it->bits >= 96;
        unsigned bits = v4 ? it->bits - 96 : it->bits;
        fl_addr_format(&it->net, text, sizeof text);
        if (bits == (v4 ? 32u : 128u))
            snprintf(buf, size, "%s%s", neg, text);
        else
            snprintf(buf, size, "%s%s/%u", neg, text, bits);
        break;
    }
    case FL_ITEM_IP_GLOB:
    case FL_ITEM_DNS:
        snprintf(buf, size, "%s%s", neg, it->pattern);
        break;
    case FL_ITEM_COUNTRY:
        snprintf(buf, size, "%scountry:%s", neg, it->code);
        break;
    case FL_ITEM_CONTINENT:
        snprintf(buf, size, "%scontinent:%s", neg, it->code);
        break;
    case FL_ITEM_ASN:
        snprintf(buf, size, "%sAS%u", neg, (unsigned)it->asn);
        break;
    }
}

/* One limit as `ftplimit check` shows it (nothing when unset), for scope
 * sc (NULL: the daemon's own), each line after indent. */
struct lines {
    void (*out)(void *, const char *);
    void *arg;
    const char *indent;
    unsigned *limits; /* counts the lines of limits on sessions, or NULL */
};

static void emit_line(const struct lines *ln, const char *text)
{
    char buf[1100];
    snprintf(buf, sizeof buf, "%s%s", ln->indent, text);
    ln->out(ln->arg, buf);
}

/* A line of a limit on sessions (MaxLoginAttempts, whose default is always
 * shown, and AnonRejectPasswords limit attempts, not sessions). */
static void emit_limit(const struct lines *ln, enum fl_limit_id id, const char *text)
{
    if (ln->limits != NULL && id != FL_L_LOGIN_ATTEMPTS && id != FL_L_ANON_REJECT)
        ++*ln->limits;
    emit_line(ln, text);
}

static void line_limit(const struct lines *ln, enum fl_limit_id id,
                       const fl_limit_cfg *l)
{
    char buf[256];
    if (l->max == FL_UNLIMITED)
        return;
    snprintf(buf, sizeof buf, "%s %lld%s", fl_limit_descs[id].directive, l->max,
             l->message != NULL ? " (custom message)" : "");
    emit_limit(ln, id, buf);
}

static void line_rate(const struct lines *ln, enum fl_limit_id id, const fl_rate_cfg *r)
{
    char buf[256];
    if (r->count == FL_UNLIMITED)
        return;
    snprintf(buf, sizeof buf, "%s %lld per %g s%s", fl_limit_descs[id].directive,
             r->count, (double)r->interval / (double)FL_USEC_PER_SEC,
             r->message != NULL ? " (custom message)" : "");
    emit_limit(ln, id, buf);
}

static void line_of(const fl_policy *p, const fl_scope *sc, enum fl_limit_id id,
                    const struct lines *ln)
{
    const char *name = fl_limit_descs[id].directive;
    char buf[1024];
    switch (fl_limit_descs[id].syntax) {
    case FL_SYN_NONE:
        break;
    case FL_SYN_LIMIT:
    case FL_SYN_COUNTRY:
        line_limit(ln, id, limit_field(p, sc, id));
        break;
    case FL_SYN_RATE:
        line_rate(ln, id, limit_field(p, sc, id));
        break;
    case FL_SYN_CLASS:
        for (size_t i = 0; sc->lim.class_limits != NULL && i < p->nclasses; i++) {
            const fl_limit_cfg *l = &sc->lim.class_limits[i];
            if (l->max != FL_UNLIMITED && l->max != FL_LIMIT_UNSET) {
                snprintf(buf, sizeof buf, "%s %s %lld%s", name, p->classes[i].name,
                         l->max, l->message != NULL ? " (custom message)" : "");
                emit_line(ln, buf);
            }
        }
        break;
    case FL_SYN_NETWORK:
        if (sc->lim.per_network.max != FL_UNLIMITED) {
            snprintf(buf, sizeof buf, "%s %lld (IPv4 /%u, IPv6 /%u)", name,
                     sc->lim.per_network.max, p->net_v4_bits - 96, p->net_v6_bits);
            emit_limit(ln, id, buf);
        }
        break;
    case FL_SYN_ATTEMPTS:
        if (sc->lim.max_login_attempts == FL_UNLIMITED)
            snprintf(buf, sizeof buf, "%s none", name);
        else
            snprintf(buf, sizeof buf, "%s %lld", name, sc->lim.max_login_attempts);
        emit_line(ln, buf);
        break;
    case FL_SYN_ANON_REJECT: {
        const fl_anon_reject *r = sc->lim.anon_reject;
        if (r != NULL) {
            snprintf(buf, sizeof buf, "%s %s%s (rejects passwords that %s)", name,
                     r->source, r->nocase ? " [NC]" : "",
                     r->negate ? "do not match" : "match");
            emit_line(ln, buf);
        }
        break;
    }
    case FL_SYN_TRACKED:
        snprintf(buf, sizeof buf, "%s %lld", name, p->max_tracked_hosts);
        emit_line(ln, buf);
        break;
    }
}

/* A scope's limits: a server's (with a heading when there are several
 * scopes), then its <Anonymous> blocks'. */
static void scope_lines(const fl_policy *p, const fl_scope *sc, const struct lines *top)
{
    char buf[1024];
    bool headed = p->nscopes > 1;
    unsigned limits = 0;
    struct lines ln = {top->out, top->arg, headed ? "  " : "", &limits};
    if (headed) {
        if (sc == &p->scopes[0])
            snprintf(buf, sizeof buf, "Main server:");
        else
            snprintf(buf, sizeof buf, "<VirtualHost %s>:", sc->name);
        top->out(top->arg, buf);
    }
    for (size_t id = 0; id < FL_L_COUNT; id++) {
        if (fl_limit_descs[id].scope != FL_SC_DAEMON)
            line_of(p, sc, (enum fl_limit_id)id, &ln);
    }
    for (size_t i = 0; i < sc->nanons; i++) {
        const fl_scope *a = &p->scopes[sc->anons[i]];
        size_t o = (size_t)snprintf(buf, sizeof buf, "  <Anonymous %s>: User %s",
                                    a->dir, a->account);
        for (size_t j = 0; j < a->naliases && o < sizeof buf; j++)
            o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s",
                                  j == 0 ? ", UserAlias " : " ", a->aliases[j]);
        top->out(top->arg, buf);
        struct lines al = {top->out, top->arg, "    ", &limits};
        for (size_t id = 0; id < FL_L_COUNT; id++) {
            if (fl_limit_descs[id].scope == FL_SC_ANON)
                line_of(p, a, (enum fl_limit_id)id, &al);
        }
    }
    for (size_t i = 0; i < sc->nconds; i++) {
        const fl_cond *c = &sc->conds[i];
        snprintf(buf, sizeof buf, "%s<%s%s%s>:", ln.indent, fl_cond_block(c->kind),
                 c->text[0] != '\0' ? " " : "", c->text);
        top->out(top->arg, buf);
        struct lines cl = {top->out, top->arg, headed ? "    " : "  ", &limits};
        for (size_t id = 0; id < FL_L_COUNT; id++) {
            if (!(c->sc->set >> id & 1))
                continue;
            if (fl_limit_descs[id].syntax == FL_SYN_LIMIT &&
                fl_policy_limit_value(p, c->sc, (enum fl_limit_id)id) == FL_UNLIMITED) {
                snprintf(buf, sizeof buf, "%s none", fl_limit_descs[id].directive);
                emit_line(&cl, buf); /* lifts the server's */
            } else {
                line_of(p, c->sc, (enum fl_limit_id)id, &cl);
            }
        }
    }
    if (headed && limits == 0)
        emit_line(&ln, "no limit on its sessions");
}

void fl_policy_lines(const fl_policy *p, void (*out)(void *, const char *), void *arg)
{
    char buf[1024];
    const struct lines top = {out, arg, "", NULL};

    for (size_t id = 0; id < FL_L_COUNT; id++) {
        if (fl_limit_descs[id].scope == FL_SC_DAEMON)
            line_of(p, &p->scopes[0], (enum fl_limit_id)id, &top);
    }
    for (size_t i = 0; i < p->nscopes; i++) {
        if (p->scopes[i].kind == FL_SCOPE_SERVER)
            scope_lines(p, &p->scopes[i], &top);
    }

    size_t o = (size_t)snprintf(buf, sizeof buf, "AnonymousUsers");
    for (size_t i = 0; i < p->nanon && o < sizeof buf; i++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, " %s", p->anon_users[i]);
    out(arg, buf);
    if (p->dry_run)
        out(arg, "DryRun on: decisions are reported, nothing is refused");
    for (size_t i = 0; i < p->ngeodbs; i++) {
        snprintf(buf, sizeof buf, "GeoIPDatabase %s", fl_geodb_path(p->geodbs[i]));
        out(arg, buf);
    }
    fl_cluster_describe(&p->cluster, out, arg);

    for (size_t i = 0; i < p->nparts; i++) {
        if (p->parts[i].part->describe != NULL)
            p->parts[i].part->describe(p->parts[i].conf, out, arg);
    }

    for (size_t i = 0; i < p->nclasses; i++) {
        const fl_class_def *c = &p->classes[i];
        o = (size_t)snprintf(buf, sizeof buf, "Class %s (Satisfy %s):", c->name,
                             c->satisfy_all ? "all" : "any");
        for (size_t j = 0; j < c->nitems && o < sizeof buf; j++) {
            char item[128];
            fl_class_item_format(&c->items[j], item, sizeof item);
            o += (size_t)snprintf(buf + o, sizeof buf - o, " %s", item);
        }
        out(arg, buf);
    }
}

/* --- Cluster (policy/cluster.c parses it) ------------------------------------ */

bool fl_cluster_farm_limit(enum fl_limit_id id)
{
    switch (id) {
    case FL_L_RATE:
    case FL_L_RATE_PER_HOST:
    case FL_L_CONNS_PER_HOST:
    case FL_L_PER_CLASS:
    case FL_L_PER_HOST:
    case FL_L_PER_NETWORK:
    case FL_L_PER_COUNTRY:
    case FL_L_PER_USER:
    case FL_L_CLIENTS:
    case FL_L_HOSTS_PER_USER:
        return true;
    default:
        return false;
    }
}

void fl_cluster_cfg_init(fl_cluster_cfg *c)
{
    memset(c, 0, sizeof *c);
    c->lease = FL_CLUSTER_LEASE_DEFAULT;
    c->timeout = FL_CLUSTER_TIMEOUT_DEFAULT;
}

void fl_cluster_cfg_clear(fl_cluster_cfg *c)
{
    fl_free(c->host);
    fl_free(c->socket);
    fl_free(c->url);
    fl_free(c->password_file);
    fl_free(c->node);
    fl_free(c->other_file);
    fl_cluster_cfg_init(c);
}

void fl_cluster_describe(const fl_cluster_cfg *c, void (*out)(void *, const char *),
                         void *arg)
{
    if (!c->on)
        return;
    char buf[1024];
    snprintf(buf, sizeof buf,
             "Cluster %s: node %s, lease %lld s, timeout %lld ms, fail %s%s", c->url,
             c->node != NULL ? c->node : "(the host name)",
             (long long)(c->lease / FL_USEC_PER_SEC), (long long)(c->timeout / 1000),
             c->fail_closed ? "closed" : "open",
             c->password_file != NULL ? ", password from ClusterPasswordFile" : "");
    out(arg, buf);
    size_t o = (size_t)snprintf(buf, sizeof buf, "farm-wide:");
    for (size_t j = 0; j < FL_L_COUNT; j++) {
        if (c->counted >> j & 1)
            o += (size_t)snprintf(buf + o, sizeof buf - o, " %s",
                                  fl_limit_descs[j].directive);
    }
    if (c->counted == 0)
        snprintf(buf + o, sizeof buf - o,
                 " no limit (the farm counts sessions and "
                 "logins, for status)");
    out(arg, buf);
    if (c->local != 0) {
        o = (size_t)snprintf(buf, sizeof buf, "ClusterLocal (this node's own):");
        for (size_t j = 0; j < FL_L_COUNT; j++) {
            if (c->local >> j & 1)
                o += (size_t)snprintf(buf + o, sizeof buf - o, " %s",
                                      fl_limit_descs[j].directive);
        }
        out(arg, buf);
    }
}
