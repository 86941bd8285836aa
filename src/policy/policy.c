/*
 * policy.c - a policy's lifetime, its lookups, and its description.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/alloc.h"
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

fl_policy *fl_policy_new(void)
{
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
    p->exec_timeout = FL_DEFAULT_EXEC_TIMEOUT;
    p->exec_max_running = FL_DEFAULT_EXEC_MAX_RUNNING;

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
    return p;
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
    for (size_t i = 0; i < p->nban_rules; i++) {
        fl_free(p->ban_rules[i].name);
        fl_free(p->ban_rules[i].event_owned);
        fl_free(p->ban_rules[i].message);
    }
    fl_free(p->ban_rules);
    fl_free(p->ban_exempt);
    for (size_t i = 0; i < p->nban_exempt_classes; i++)
        fl_free(p->ban_exempt_classes[i]);
    fl_free(p->ban_exempt_classes);
    fl_free(p->ban_table);
    for (size_t i = 0; i < p->nalerts; i++) {
        fl_alert_spec *a = &p->alerts[i];
        fl_free(a->pattern);
        for (size_t j = 0; a->argv != NULL && a->argv[j] != NULL; j++)
            fl_free(a->argv[j]);
        fl_free(a->argv);
        fl_free(a->path);
    }
    fl_free(p->alerts);
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

static void format_item(const fl_class_item *it, char *buf, size_t size)
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

static const struct {
    const char *name;
    int value;
} facilities[] = {{"auth", 4 << 3},    {"authpriv", 10 << 3}, {"cron", 9 << 3},
                  {"daemon", 3 << 3},  {"ftp", 11 << 3},      {"kern", 0},
                  {"local0", 16 << 3}, {"local1", 17 << 3},   {"local2", 18 << 3},
                  {"local3", 19 << 3}, {"local4", 20 << 3},   {"local5", 21 << 3},
                  {"local6", 22 << 3}, {"local7", 23 << 3},   {"lpr", 6 << 3},
                  {"mail", 2 << 3},    {"news", 7 << 3},      {"syslog", 5 << 3},
                  {"user", 1 << 3},    {"uucp", 8 << 3}},
  priorities[] = {{"emerg", 0}, {"alert", 1},   {"crit", 2}, {"err", 3},
                  {"error", 3}, {"warning", 4}, {"warn", 4}, {"notice", 5},
                  {"info", 6},  {"debug", 7}};

int fl_syslog_priority_parse(const char *text, int *out)
{
    const char *dot = strchr(text, '.');
    int f = -1, pr = -1;
    for (size_t i = 0; dot != NULL && i < sizeof facilities / sizeof facilities[0];
         i++) {
        if (strlen(facilities[i].name) == (size_t)(dot - text) &&
            strncasecmp(text, facilities[i].name, (size_t)(dot - text)) == 0)
            f = facilities[i].value;
    }
    for (size_t i = 0; dot != NULL && i < sizeof priorities / sizeof priorities[0];
         i++) {
        if (strcasecmp(dot + 1, priorities[i].name) == 0)
            pr = priorities[i].value;
    }
    if (f < 0 || pr < 0)
        return -1;
    *out = f | pr;
    return 0;
}

void fl_syslog_priority_format(int priority, char *buf, size_t size)
{
    const char *f = "?", *pr = "?";
    for (size_t i = 0; i < sizeof facilities / sizeof facilities[0]; i++) {
        if (facilities[i].value == (priority & ~7))
            f = facilities[i].name;
    }
    for (size_t i = sizeof priorities / sizeof priorities[0]; i-- > 0;) {
        if (priorities[i].value == (priority & 7))
            pr = priorities[i].name;
    }
    snprintf(buf, size, "%s.%s", f, pr);
}

static void hms(fl_usec t, char *buf, size_t size)
{
    long long s = t / FL_USEC_PER_SEC;
    snprintf(buf, size, "%02lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
}

static void lines_bans_alerts(const fl_policy *p, void (*out)(void *, const char *),
                              void *arg)
{
    static const char *const targets[] = {"host", "user", "class", "user@host"};
    static const char *const sinks[] = {"exec", "syslog", "jsonl"};
    char buf[1024], window[32], duration[32];
    size_t o;

    for (size_t i = 0; i < p->nban_rules; i++) {
        const fl_ban_rule *r = &p->ban_rules[i];
        hms(r->window, window, sizeof window);
        hms(r->duration, duration, sizeof duration);
        snprintf(buf, sizeof buf,
                 "BanOnEvent %s (%s): after %u within %s, ban the %s for %s", r->name,
                 r->event, r->count, window, targets[r->target], duration);
        out(arg, buf);
    }
    if (p->nban_exempt + p->nban_exempt_classes > 0) {
        o = (size_t)snprintf(buf, sizeof buf, "BanExempt");
        for (size_t i = 0; i < p->nban_exempt && o < sizeof buf; i++) {
            char item[128];
            format_item(&p->ban_exempt[i], item, sizeof item);
            o += (size_t)snprintf(buf + o, sizeof buf - o, " %s", item);
        }
        for (size_t i = 0; i < p->nban_exempt_classes && o < sizeof buf; i++)
            o += (size_t)snprintf(buf + o, sizeof buf - o, " class:%s",
                                  p->ban_exempt_classes[i]);
        out(arg, buf);
    }
    if (p->ban_table != NULL) {
        snprintf(buf, sizeof buf, "BanTable %s", p->ban_table);
        out(arg, buf);
    }

    bool exec = false;
    for (size_t i = 0; i < p->nalerts; i++) {
        const fl_alert_spec *a = &p->alerts[i];
        o = (size_t)snprintf(buf, sizeof buf, "OnEvent %s %s", a->pattern,
                             sinks[a->sink]);
        for (size_t j = 0; a->argv != NULL && a->argv[j] != NULL && o < sizeof buf; j++)
            o += (size_t)snprintf(buf + o, sizeof buf - o, " %s", a->argv[j]);
        if (a->sink == FL_SINK_SYSLOG && o < sizeof buf) {
            char prio[32];
            fl_syslog_priority_format(a->syslog_priority, prio, sizeof prio);
            o += (size_t)snprintf(buf + o, sizeof buf - o, " %s", prio);
        }
        if (a->path != NULL && o < sizeof buf)
            snprintf(buf + o, sizeof buf - o, " %s", a->path);
        out(arg, buf);
        exec = exec || a->sink == FL_SINK_EXEC;
    }
    if (p->alert_suppress > 0) {
        snprintf(buf, sizeof buf, "AlertSuppress %lld",
                 (long long)(p->alert_suppress / FL_USEC_PER_SEC));
        out(arg, buf);
    }
    if (exec) {
        snprintf(buf, sizeof buf, "ExecTimeout %lld, ExecMaxRunning %u",
                 (long long)(p->exec_timeout / FL_USEC_PER_SEC), p->exec_max_running);
        out(arg, buf);
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

    lines_bans_alerts(p, out, arg);

    for (size_t i = 0; i < p->nclasses; i++) {
        const fl_class_def *c = &p->classes[i];
        o = (size_t)snprintf(buf, sizeof buf, "Class %s (Satisfy %s):", c->name,
                             c->satisfy_all ? "all" : "any");
        for (size_t j = 0; j < c->nitems && o < sizeof buf; j++) {
            char item[128];
            format_item(&c->items[j], item, sizeof item);
            o += (size_t)snprintf(buf + o, sizeof buf - o, " %s", item);
        }
        out(arg, buf);
    }
}
