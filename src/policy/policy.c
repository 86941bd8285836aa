/*
 * policy.c - a policy's lifetime, its lookups, and its description.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/alloc.h"
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
    limit_init(&p->max_conns_per_host);
    limit_init(&p->per_host);
    limit_init(&p->per_network);
    limit_init(&p->per_country);
    limit_init(&p->per_user);
    limit_init(&p->clients);
    limit_init(&p->hosts_per_user);
    p->rate.count = FL_UNLIMITED;
    p->rate.interval = FL_DEFAULT_RATE_INTERVAL;
    p->rate_per_host.count = FL_UNLIMITED;
    p->rate_per_host.interval = FL_DEFAULT_RATE_INTERVAL;
    p->net_v4_bits = FL_DEFAULT_NET_V4_BITS + 96;
    p->net_v6_bits = FL_DEFAULT_NET_V6_BITS;
    p->max_login_attempts = FL_DEFAULT_MAX_LOGIN_ATTEMPTS;
    p->max_tracked_hosts = FL_DEFAULT_MAX_TRACKED_HOSTS;

    static const char *const default_anon[] = {"anonymous", "ftp"};
    p->anon_users = fl_calloc(2, sizeof *p->anon_users);
    if (p->anon_users == NULL) {
        fl_free(p);
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
    fl_free(p->max_instances.message);
    fl_free(p->rate.message);
    fl_free(p->rate_per_host.message);
    fl_free(p->max_conns_per_host.message);
    fl_free(p->per_host.message);
    fl_free(p->per_network.message);
    fl_free(p->per_country.message);
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
    fl_free(p->per_user.message);
    fl_free(p->clients.message);
    fl_free(p->hosts_per_user.message);
    if (p->anon_reject.set) {
        regfree(&p->anon_reject.re);
        fl_free(p->anon_reject.source);
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
        fl_free(c->limit.message);
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
#define FL_NOFIELD 0
const size_t fl_limit_offsets[FL_L_COUNT] = {
#define FL_LIMIT(id, directive, event, code, message, syntax, field, ban, shown,       \
                 proftpd)                                                              \
    [FL_L_##id] = field,
#include "catalog/limits.def"
#undef FL_LIMIT
};
#undef FL_FIELD
#undef FL_NOFIELD

static const void *limit_field(const fl_policy *p, enum fl_limit_id id)
{
    return (const char *)p + fl_limit_offsets[id];
}

long long fl_policy_limit_value(const fl_policy *p, enum fl_limit_id id)
{
    switch (fl_limit_descs[id].syntax) {
    case FL_SYN_LIMIT:
    case FL_SYN_NETWORK:
    case FL_SYN_COUNTRY:
        return ((const fl_limit_cfg *)limit_field(p, id))->max;
    case FL_SYN_RATE:
        return ((const fl_rate_cfg *)limit_field(p, id))->count;
    case FL_SYN_ATTEMPTS:
        return *(const long long *)limit_field(p, id);
    case FL_SYN_NONE:
    case FL_SYN_CLASS:
    case FL_SYN_ANON_REJECT:
    case FL_SYN_TRACKED:
        break;
    }
    return -1;
}

static void line_limit(void (*out)(void *, const char *), void *arg, const char *name,
                       const fl_limit_cfg *l)
{
    char buf[256];
    if (l->max == FL_UNLIMITED)
        return;
    snprintf(buf, sizeof buf, "%s %lld%s", name, l->max,
             l->message != NULL ? " (custom message)" : "");
    out(arg, buf);
}

static void line_rate(void (*out)(void *, const char *), void *arg, const char *name,
                      const fl_rate_cfg *r)
{
    char buf[256];
    if (r->count == FL_UNLIMITED)
        return;
    snprintf(buf, sizeof buf, "%s %lld per %g s%s", name, r->count,
             (double)r->interval / (double)FL_USEC_PER_SEC,
             r->message != NULL ? " (custom message)" : "");
    out(arg, buf);
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

/* One limit as `ftplimit check` shows it (nothing when unset). */
static void line_of(const fl_policy *p, enum fl_limit_id id,
                    void (*out)(void *, const char *), void *arg)
{
    const char *name = fl_limit_descs[id].directive;
    char buf[1024];
    switch (fl_limit_descs[id].syntax) {
    case FL_SYN_NONE:
        break;
    case FL_SYN_LIMIT:
    case FL_SYN_COUNTRY:
        line_limit(out, arg, name, limit_field(p, id));
        break;
    case FL_SYN_RATE:
        line_rate(out, arg, name, limit_field(p, id));
        break;
    case FL_SYN_CLASS:
        for (size_t i = 0; i < p->nclasses; i++) {
            if (p->classes[i].limit.max != FL_UNLIMITED) {
                snprintf(buf, sizeof buf, "%s %s %lld", name, p->classes[i].name,
                         p->classes[i].limit.max);
                out(arg, buf);
            }
        }
        break;
    case FL_SYN_NETWORK:
        if (p->per_network.max != FL_UNLIMITED) {
            snprintf(buf, sizeof buf, "%s %lld (IPv4 /%u, IPv6 /%u)", name,
                     p->per_network.max, p->net_v4_bits - 96, p->net_v6_bits);
            out(arg, buf);
        }
        break;
    case FL_SYN_ATTEMPTS:
        if (p->max_login_attempts == FL_UNLIMITED)
            snprintf(buf, sizeof buf, "%s none", name);
        else
            snprintf(buf, sizeof buf, "%s %lld", name, p->max_login_attempts);
        out(arg, buf);
        break;
    case FL_SYN_ANON_REJECT:
        if (p->anon_reject.set) {
            snprintf(buf, sizeof buf, "%s %s%s (rejects passwords that %s)", name,
                     p->anon_reject.source, p->anon_reject.nocase ? " [NC]" : "",
                     p->anon_reject.negate ? "do not match" : "match");
            out(arg, buf);
        }
        break;
    case FL_SYN_TRACKED:
        snprintf(buf, sizeof buf, "%s %lld", name, p->max_tracked_hosts);
        out(arg, buf);
        break;
    }
}

void fl_policy_lines(const fl_policy *p, void (*out)(void *, const char *), void *arg)
{
    char buf[1024];

    for (size_t id = 0; id < FL_L_COUNT; id++)
        line_of(p, (enum fl_limit_id)id, out, arg);

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
