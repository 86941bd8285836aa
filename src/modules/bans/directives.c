/*
 * modules/bans/directives.c - mod_ban's directives (BanOnEvent, BanExempt,
 * BanTable, BanOptions) and its settings in a policy (doc/bans.md).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ftplimit/events.h>

#include "modules/bans/bans.h"
#include "util/addr.h"
#include "util/alloc.h"

/* What BanOnEvent NAME counts and bans: a limit's directive (or its event)
 * as catalog/limits.def says, or mod_ban's MaxLoginAttemptsFromUser (the
 * user at the host). false for other names. */
static bool ban_event_find(const char *name, const char **event,
                           enum fl_ban_target *target)
{
    if (strcasecmp(name, "MaxLoginAttemptsFromUser") == 0) {
        *event = FL_EV_MAX_LOGIN_ATTEMPTS;
        *target = FL_TARGET_USER_HOST;
        return true;
    }
    for (size_t i = 0; i < FL_L_COUNT; i++) {
        const struct fl_limit_desc *l = &fl_limit_descs[i];
        if (l->ban != FL_TARGET_NONE &&
            (strcasecmp(name, l->directive) == 0 || strcmp(name, l->event) == 0)) {
            *event = l->event;
            *target = l->ban;
            return true;
        }
    }
    return false;
}

/* hh:mm:ss, as mod_ban writes durations. */
static bool parse_hms(const char *text, fl_usec *out)
{
    unsigned h, m, s;
    char tail;
    if (sscanf(text, "%u:%u:%u%c", &h, &m, &s, &tail) != 3 || m > 59 || s > 59 ||
        h > 100000)
        return false;
    *out = ((fl_usec)h * 3600 + m * 60 + s) * FL_USEC_PER_SEC;
    return *out > 0;
}

/* BanOnEvent EVENT N/hh:mm:ss hh:mm:ss ["message"] */
static void h_ban_on_event(struct fl_parser *p, const struct fl_args *a,
                           const struct fl_directive *d)
{
    if (!fl_check_argc(p, d, a, 3, 4, "EVENT count/hh:mm:ss hh:mm:ss [\"message\"]"))
        return;
    struct fl_ban_conf *conf = fl_parser_conf(p);
    fl_ban_rule r;
    memset(&r, 0, sizeof r);
    r.line = fl_parser_line(p);
    const char *ev = a->v[1].text;
    /* mod_ban's name, or the event it stands for (banning what it bans). */
    bool found = ban_event_find(ev, &r.event, &r.target);
    if (!found && strchr(ev, '.') == NULL) {
        fl_perr(
            p,
            "BanOnEvent: unknown event '%s' (a mod_ban name such as MaxLoginAttempts "
            "or "
            "MaxLoginAttemptsFromUser, or an event name such as ftplimit.table-full)",
            FL_SHOWN(ev));
        return;
    }
    if (!found)
        r.target = FL_TARGET_HOST; /* any other event: its host, as mod_ban */

    const char *freq = a->v[2].text;
    const char *slash = strchr(freq, '/');
    char count[16];
    long long n = 0;
    if (slash == NULL || (size_t)(slash - freq) >= sizeof count ||
        (memcpy(count, freq, (size_t)(slash - freq)), count[slash - freq] = '\0',
         !fl_is_integer(count)) ||
        (n = strtoll(count, NULL, 10)) < 1 || n > 10000 ||
        !parse_hms(slash + 1, &r.window)) {
        fl_perr(p,
                "BanOnEvent: expected count/hh:mm:ss (1 to 10000 occurrences within a "
                "window "
                "longer than 00:00:00), got '%s'",
                FL_SHOWN(freq));
        return;
    }
    r.count = (uint32_t)n;
    if (!parse_hms(a->v[3].text, &r.duration)) {
        fl_perr(
            p,
            "BanOnEvent: expected a ban duration as hh:mm:ss (longer than 00:00:00), "
            "got "
            "'%s'",
            FL_SHOWN(a->v[3].text));
        return;
    }
    r.name = fl_strdup(ev);
    if (!found)
        r.event = r.event_owned = fl_strdup(ev);
    if (a->n == 5)
        r.message = fl_strdup(a->v[4].text);
    fl_ban_rule *rules = fl_realloc(conf->rules, (conf->nrules + 1) * sizeof *rules);
    if (r.name == NULL || r.event == NULL || (a->n == 5 && r.message == NULL) ||
        rules == NULL) {
        fl_free(r.name);
        fl_free(r.event_owned);
        fl_free(r.message);
        if (rules != NULL)
            conf->rules = rules;
        fl_parser_oom(p);
        return;
    }
    conf->rules = rules;
    rules[conf->nrules++] = r;
}

/* BanExempt ITEM...: addresses, CIDRs, class names. */
static void h_ban_exempt(struct fl_parser *p, const struct fl_args *a,
                         const struct fl_directive *d)
{
    if (!fl_check_argc(p, d, a, 1, FL_ARGS_MAX - 1, "address|CIDR|class..."))
        return;
    struct fl_ban_conf *conf = fl_parser_conf(p);
    for (int i = 1; i < a->n; i++) {
        const char *text = a->v[i].text;
        fl_class_item item;
        memset(&item, 0, sizeof item);
        item.kind = FL_ITEM_PREFIX;
        bool is_net = strchr(text, '/') != NULL
                          ? fl_cidr_parse(text, &item.net, &item.bits) == 0
                          : fl_addr_parse(text, &item.net) == 0;
        if (strchr(text, '/') != NULL && !is_net) {
            fl_perr(p, "BanExempt: bad CIDR '%s'", FL_SHOWN(text));
            continue;
        }
        if (is_net) {
            if (strchr(text, '/') == NULL)
                item.bits = 128;
            fl_class_item *list =
                fl_realloc(conf->exempt, (conf->nexempt + 1) * sizeof *list);
            if (list == NULL) {
                fl_parser_oom(p);
                return;
            }
            conf->exempt = list;
            list[conf->nexempt++] = item;
            continue;
        }
        if (!fl_class_name_valid(text)) {
            fl_perr(p, "BanExempt: '%s' is neither an address, a CIDR nor a class name",
                    FL_SHOWN(text));
            continue;
        }
        char **names = fl_realloc(conf->exempt_classes,
                                  (conf->nexempt_classes + 1) * sizeof *names);
        char *copy = fl_strdup(text);
        if (names != NULL)
            conf->exempt_classes = names;
        if (names == NULL || copy == NULL) {
            fl_free(copy);
            fl_parser_oom(p);
            return;
        }
        names[conf->nexempt_classes++] = copy;
        fl_parser_require_class(p, text, d->name);
    }
}

static void h_ban_table(struct fl_parser *p, const struct fl_args *a,
                        const struct fl_directive *d)
{
    if (!fl_check_argc(p, d, a, 1, 1, "path"))
        return;
    char *path = fl_policy_path(p, a->v[1].text);
    if (path == NULL)
        return;
    fl_parser_check_write(p, d->name, path, true);
    struct fl_ban_conf *conf = fl_parser_conf(p);
    fl_free(conf->table);
    conf->table = path;
}

/* BanOptions MatchAnyServer: mod_ban's one option. */
static void h_ban_options(struct fl_parser *p, const struct fl_args *a,
                          const struct fl_directive *d)
{
    if (!fl_check_argc(p, d, a, 1, FL_ARGS_MAX - 1, "MatchAnyServer"))
        return;
    struct fl_ban_conf *conf = fl_parser_conf(p);
    for (int i = 1; i < a->n; i++) {
        if (strcasecmp(a->v[i].text, "MatchAnyServer") == 0)
            conf->match_any_server = true;
        else
            fl_perr(p, "BanOptions: unknown option '%s' (expected MatchAnyServer)",
                    FL_SHOWN(a->v[i].text));
    }
}

/* BanFirewall nftables [TABLE] */
static void h_ban_firewall(struct fl_parser *p, const struct fl_args *a,
                           const struct fl_directive *d)
{
    if (!fl_check_argc(p, d, a, 1, 2, "nftables [TABLE]"))
        return;
    if (strcasecmp(a->v[1].text, "nftables") != 0) {
        fl_perr(p, "BanFirewall: unknown firewall '%s' (expected nftables)",
                FL_SHOWN(a->v[1].text));
        return;
    }
#ifndef HAVE_NFTABLES
    fl_perr(p, "BanFirewall: this ftplimit was built without nftables (configure found "
               "no libnftables: install the Debian package libnftables-dev)");
    return;
#endif
    const char *table = a->n > 2 ? a->v[2].text : "ftplimit";
    size_t len = strlen(table);
    bool valid = len > 0 && len < FL_FIREWALL_TABLE_MAX &&
                 strspn(table, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                               "0123456789_-") == len &&
                 !(table[0] >= '0' && table[0] <= '9');
    if (!valid) {
        fl_perr(p,
                "BanFirewall: '%s' is no table name (letters, digits, _ and -, at "
                "most %d, not starting with a digit)",
                FL_SHOWN(table), FL_FIREWALL_TABLE_MAX - 1);
        return;
    }
    struct fl_ban_conf *conf = fl_parser_conf(p);
    conf->firewall = true;
    memcpy(conf->firewall_table, table, len + 1);
}

/* BanFirewallPorts PORT... */
static void h_ban_firewall_ports(struct fl_parser *p, const struct fl_args *a,
                                 const struct fl_directive *d)
{
    if (!fl_check_argc(p, d, a, 1, FL_FIREWALL_PORTS_MAX, "PORT..."))
        return;
    struct fl_ban_conf *conf = fl_parser_conf(p);
    unsigned ports[FL_FIREWALL_PORTS_MAX];
    size_t n = 0;
    for (int i = 1; i < a->n; i++) {
        char *end;
        errno = 0;
        unsigned long port = strtoul(a->v[i].text, &end, 10);
        if (errno != 0 || end == a->v[i].text || *end != '\0' || port < 1 ||
            port > 65535 || a->v[i].text[0] == '-' || a->v[i].text[0] == '+') {
            fl_perr(p, "BanFirewallPorts: '%s' is no port (1 to 65535)",
                    FL_SHOWN(a->v[i].text));
            return;
        }
        ports[n++] = (unsigned)port;
    }
    memcpy(conf->firewall_ports, ports, n * sizeof *ports);
    conf->nfirewall_ports = n;
}

static void finish(struct fl_parser *p)
{
    struct fl_ban_conf *conf = fl_parser_conf(p);
    if (conf->firewall && conf->nfirewall_ports == 0) {
        conf->firewall_ports[0] = 21;
        conf->nfirewall_ports = 1;
    }
}

static void *conf_new(void)
{
    return fl_calloc(1, sizeof(struct fl_ban_conf));
}

static void conf_free(void *v)
{
    struct fl_ban_conf *c = v;
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->nrules; i++) {
        fl_free(c->rules[i].name);
        fl_free(c->rules[i].event_owned);
        fl_free(c->rules[i].message);
    }
    fl_free(c->rules);
    fl_free(c->exempt);
    for (size_t i = 0; i < c->nexempt_classes; i++)
        fl_free(c->exempt_classes[i]);
    fl_free(c->exempt_classes);
    fl_free(c->table);
    fl_free(c);
}

static void hms(fl_usec t, char *buf, size_t size)
{
    long long s = t / FL_USEC_PER_SEC;
    snprintf(buf, size, "%02lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
}

static void describe(const void *v, void (*out)(void *, const char *), void *arg)
{
    static const char *const targets[] = {"host", "user", "class", "user@host"};
    const struct fl_ban_conf *c = v;
    char buf[1024], window[32], duration[32];

    for (size_t i = 0; i < c->nrules; i++) {
        const fl_ban_rule *r = &c->rules[i];
        hms(r->window, window, sizeof window);
        hms(r->duration, duration, sizeof duration);
        snprintf(buf, sizeof buf,
                 "BanOnEvent %s (%s): after %u within %s, ban the %s for %s", r->name,
                 r->event, r->count, window, targets[r->target], duration);
        out(arg, buf);
    }
    if (c->nexempt + c->nexempt_classes > 0) {
        size_t o = (size_t)snprintf(buf, sizeof buf, "BanExempt");
        for (size_t i = 0; i < c->nexempt && o < sizeof buf; i++) {
            char item[128];
            fl_class_item_format(&c->exempt[i], item, sizeof item);
            o += (size_t)snprintf(buf + o, sizeof buf - o, " %s", item);
        }
        for (size_t i = 0; i < c->nexempt_classes && o < sizeof buf; i++)
            o += (size_t)snprintf(buf + o, sizeof buf - o, " class:%s",
                                  c->exempt_classes[i]);
        out(arg, buf);
    }
    if (c->table != NULL) {
        snprintf(buf, sizeof buf, "BanTable %s", c->table);
        out(arg, buf);
    }
    if (c->firewall) {
        size_t o =
            (size_t)snprintf(buf, sizeof buf,
                             "BanFirewall nftables: host bans also in table inet "
                             "%s, a SYN to port",
                             c->firewall_table);
        for (size_t i = 0; i < c->nfirewall_ports && o < sizeof buf; i++)
            o += (size_t)snprintf(buf + o, sizeof buf - o, "%s %u", i > 0 ? "," : "",
                                  c->firewall_ports[i]);
        if (o < sizeof buf)
            snprintf(buf + o, sizeof buf - o, " dropped");
        out(arg, buf);
    }
    if (c->nrules > 0)
        out(arg, c->match_any_server
                     ? "BanOptions MatchAnyServer: a rule bans from every server"
                     : "a rule bans from the server its event came from");
}

static const struct fl_directive directives[] = {
    {"BanOnEvent", FL_TOP, h_ban_on_event, 0},
    {"BanExempt", FL_TOP, h_ban_exempt, 0},
    {"BanTable", FL_TOP, h_ban_table, 0},
    {"BanOptions", FL_TOP, h_ban_options, 0},
    {"BanFirewall", FL_TOP, h_ban_firewall, 0},
    {"BanFirewallPorts", FL_TOP, h_ban_firewall_ports, 0},
};

const struct fl_policy_part fl_bans_part = {
    .name = "mod_ban",
    .directives = directives,
    .ndirectives = sizeof directives / sizeof directives[0],
    .conf_new = conf_new,
    .conf_free = conf_free,
    .describe = describe,
    .finish = finish,
};
