/*
 * directives.c - the parser's own directives: the limits (one per row of
 * catalog/limits.def), AnonymousUsers, DryRun, <Class> and its items,
 * GeoIPDatabase, Allow*. They fill fl_policy's own fields; the modules'
 * directives are in src/modules/<name>/directives.c.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "policy/cluster.h"
#include "policy/parser.h"
#include "util/addr.h"
#include "util/alloc.h"

/* Where directive d's field is: the policy's (the daemon's limits) or
 * the limits of the scope being read. */
static void *limits_base(struct fl_parser *p, const struct fl_directive *d)
{
    return d->where == FL_TOP ? (void *)p->pol : (void *)&fl_parser_scope(p)->lim;
}

/* NAME max|none ["message"] */
static void h_limit(struct fl_parser *p, const struct fl_args *a,
                    const struct fl_directive *d)
{
    if (!fl_check_argc(p, d, a, 1, 2, "max|none [\"message\"]"))
        return;
    fl_limit_cfg *lim = (fl_limit_cfg *)(void *)((char *)limits_base(p, d) + d->offset);
    long long max;
    if (!fl_parse_count(p, d, &a->v[1], 1, FL_LIMIT_MAX, true, &max))
        return;
    lim->max = max;
    if (a->n == 3)
        fl_set_message(p, &lim->message, &a->v[2]);
}

/* NAME count|none [interval-seconds] ["message"] */
static void h_rate(struct fl_parser *p, const struct fl_args *a,
                   const struct fl_directive *d)
{
    if (!fl_check_argc(p, d, a, 1, 3, "count|none [interval-seconds] [\"message\"]"))
        return;
    fl_rate_cfg *rate = (fl_rate_cfg *)(void *)((char *)limits_base(p, d) + d->offset);
    long long cap = d->where == FL_TOP ? FL_RATE_COUNT_MAX : FL_HOST_RATE_COUNT_MAX;
    long long count;
    fl_usec interval = FL_DEFAULT_RATE_INTERVAL;
    int i = 2;

    if (!fl_parse_count(p, d, &a->v[1], 1, cap, true, &count))
        return;
    if (i < a->n && !a->v[i].quoted && isdigit((unsigned char)a->v[i].text[0])) {
        if (!fl_parse_interval(p, d, &a->v[i], &interval))
            return;
        i++;
    }
    if (i < a->n - 1) {
        fl_perr(p,
                "%s: unexpected argument '%s'; usage: %s count|none [interval-seconds] "
                "[\"message\"]",
                d->name, FL_SHOWN(a->v[i].text), d->name);
        return;
    }
    rate->count = count;
    rate->interval = interval;
    if (i < a->n)
        fl_set_message(p, &rate->message, &a->v[i]);
}

/* MaxClientsPerNetwork max|none [ipv4-prefix ipv6-prefix] ["message"] */
static void h_per_network(struct fl_parser *p, const struct fl_args *a,
                          const struct fl_directive *d)
{
    static const char usage[] = "max|none [ipv4-prefix ipv6-prefix] [\"message\"]";
    if (!fl_check_argc(p, d, a, 1, 4, usage))
        return;
    long long max, v4 = FL_DEFAULT_NET_V4_BITS, v6 = FL_DEFAULT_NET_V6_BITS;
    int i = 2;
    if (!fl_parse_count(p, d, &a->v[1], 1, FL_LIMIT_MAX, true, &max))
        return;
    if (i < a->n && !a->v[i].quoted && fl_is_integer(a->v[i].text)) {
        if (i + 1 >= a->n || a->v[i + 1].quoted || !fl_is_integer(a->v[i + 1].text)) {
            fl_perr(
                p,
                "%s: an IPv4 prefix length must be followed by an IPv6 prefix length; "
                "usage: %s %s",
                d->name, d->name, usage);
            return;
        }
        if (!fl_parse_count(p, d, &a->v[i], 1, 32, false, &v4) ||
            !fl_parse_count(p, d, &a->v[i + 1], 1, 128, false, &v6))
            return;
        int line;
        if (fl_parser_block(p, &line) != NULL) {
            fl_perr(p,
                    "%s: the prefix lengths are the whole policy's: give them at the "
                    "top, outside any block",
                    d->name);
            return;
        }
        p->pol->net_v4_bits = (unsigned)v4 + FL_V4_PREFIX_OFFSET;
        p->pol->net_v6_bits = (unsigned)v6;
        i += 2;
    }
    if (i < a->n - 1) {
        fl_perr(p, "%s: unexpected argument '%s'; usage: %s %s", d->name,
                FL_SHOWN(a->v[i].text), d->name, usage);
        return;
    }
    fl_limit_cfg *lim = &fl_parser_scope(p)->lim.per_network;
    lim->max = max;
    if (i < a->n)
        fl_set_message(p, &lim->message, &a->v[i]);
}

/* MaxClientsPerClass class max|none ["message"] */
static void h_per_class(struct fl_parser *p, const struct fl_args *a,
                        const struct fl_directive *d)
{
    if (!fl_check_argc(p, d, a, 2, 3, "class max|none [\"message\"]"))
        return;
    long long max;
    if (!fl_parse_count(p, d, &a->v[2], 1, FL_LIMIT_MAX, true, &max))
        return;
    struct class_ref *r =
        fl_parser_class_ref(p, a->v[1].text, d->name, a->n == 4 ? a->v[3].text : NULL);
    if (r != NULL) {
        r->sets_limit = true;
        r->limit.max = max;
    }
}

/* MaxLoginAttempts count|none */
static void h_login_attempts(struct fl_parser *p, const struct fl_args *a,
                             const struct fl_directive *d)
{
    if (!fl_check_argc(p, d, a, 1, 1, "count|none"))
        return;
    long long v;
    if (fl_parse_count(p, d, &a->v[1], 1, 1000, true, &v))
        fl_parser_scope(p)->lim.max_login_attempts = v;
}

/* AnonRejectPasswords [!]regex [NC] */
static void h_anon_reject(struct fl_parser *p, const struct fl_args *a,
                          const struct fl_directive *d)
{
    if (!fl_check_argc(p, d, a, 1, 2, "[!]regex [NC]"))
        return;
    bool nocase = false;
    if (a->n == 3) {
        if (strcasecmp(a->v[2].text, "[NC]") != 0 &&
            strcasecmp(a->v[2].text, "NC") != 0) {
            fl_perr(p, "%s: unknown flags '%s' (the only flag is [NC], no case)",
                    d->name, FL_SHOWN(a->v[2].text));
            return;
        }
        nocase = true;
    }
    const char *pattern = a->v[1].text;
    bool negate = pattern[0] == '!';
    if (negate)
        pattern++;

    fl_regex re;
    char why[256];
    if (fl_regex_compile(&re, pattern, nocase, why, sizeof why) < 0) {
        fl_perr(p, "%s: bad regular expression '%s': %s", d->name, FL_SHOWN(pattern),
                why);
        return;
    }
    char *source = fl_strdup(a->v[1].text);
    if (source == NULL) {
        fl_regex_free(&re);
        fl_parser_oom(p);
        return;
    }
    fl_anon_reject *ar = &fl_parser_scope(p)->own_reject;
    fl_anon_reject_clear(ar);
    ar->set = true;
    ar->negate = negate;
    ar->nocase = nocase;
    ar->re = re;
    ar->source = source;
}

/* AnonymousUsers name... */
static void h_anon_users(struct fl_parser *p, const struct fl_args *a,
                         const struct fl_directive *d)
{
    if (!fl_check_argc(p, d, a, 1, FL_ARGS_MAX - 1, "name..."))
        return;
    size_t n = (size_t)a->n - 1;
    char **names = fl_calloc(n, sizeof *names);
    if (names == NULL) {
        fl_parser_oom(p);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        names[i] = fl_strdup(a->v[i + 1].text);
        if (names[i] == NULL) {
            for (size_t j = 0; j < i; j++)
                fl_free(names[j]);
            fl_free(names);
            fl_parser_oom(p);
            return;
        }
    }
    fl_policy_set_anon_users(p->pol, names, n);
}

static void h_dry_run(struct fl_parser *p, const struct fl_args *a,
                      const struct fl_directive *d)
{
    if (fl_check_argc(p, d, a, 1, 1, "on|off"))
        fl_parse_bool(p, d, &a->v[1], &p->pol->dry_run);
}

static void h_tracked_hosts(struct fl_parser *p, const struct fl_args *a,
                            const struct fl_directive *d)
{
    if (!fl_check_argc(p, d, a, 1, 1, "count"))
        return;
    long long v;
    if (fl_parse_count(p, d, &a->v[1], 1, FL_TRACKED_HOSTS_MAX, false, &v))
        p->pol->max_tracked_hosts = v;
}

bool fl_class_name_valid(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > FL_CLASS_NAME_MAX)
        return false;
    for (const unsigned char *s = (const unsigned char *)name; *s != '\0'; s++) {
        if (*s <= ' ' || *s == 0x7f || *s == '"' || *s == '<' || *s == '>')
            return false;
    }
    return true;
}

static void h_class_open(struct fl_parser *p, const struct fl_args *a,
                         const struct fl_directive *d)
{
    if (p->open_class != NULL) {
        fl_perr(p,
                "<Class> cannot be nested: <Class %s> opened at line %d is not closed",
                p->open_class->name, p->open_class->line);
        return;
    }
    int line;
    const char *block = fl_parser_block(p, &line);
    if (block != NULL) {
        fl_perr(p,
                "<Class> is not allowed inside %s (opened at line %d): classes are the "
                "whole daemon's; define it at the top of the policy",
                block, line);
        return;
    }
    if (!fl_check_argc(p, d, a, 1, 1, "name>"))
        return;
    if (!fl_class_name_valid(a->v[1].text)) {
        fl_perr(
            p, "<Class>: bad class name '%s' (1 to %d printable characters, no spaces)",
            FL_SHOWN(a->v[1].text), FL_CLASS_NAME_MAX);
        return;
    }

    fl_policy *pol = p->pol;
    for (size_t i = 0; i < pol->nclasses; i++) {
        if (strcmp(pol->classes[i].name, a->v[1].text) == 0) {
            fl_perr(p, "<Class %s> is already defined at %s:%d", pol->classes[i].name,
                    pol->classes[i].file, pol->classes[i].line);
            return;
        }
    }

    fl_class_def *classes =
        fl_realloc(pol->classes, (pol->nclasses + 1) * sizeof *classes);
    if (classes == NULL) {
        fl_parser_oom(p);
        return;
    }
    pol->classes = classes;
    fl_class_def *c = &classes[pol->nclasses];
    memset(c, 0, sizeof *c);
    c->line = p->line;
    c->name = fl_strdup(a->v[1].text);
    c->file = fl_strdup(p->file);
    if (c->name == NULL || c->file == NULL) {
        fl_free(c->name);
        fl_free(c->file);
        fl_parser_oom(p);
        return;
    }
    pol->nclasses++;
    p->open_class = c;
}

static void h_class_close(struct fl_parser *p, const struct fl_args *a,
                          const struct fl_directive *d)
{
    (void)d;
    if (a->n != 1) {
        fl_perr(p, "</Class> takes no arguments");
        return;
    }
    if (p->open_class == NULL) {
        fl_perr(p, "</Class> without a matching <Class>");
        return;
    }
    if (p->open_class->nitems == 0)
        fl_perr(p, "<Class %s> has no From item, so it can match nobody",
                p->open_class->name);
    p->open_class = NULL;
}

static bool class_add_item(struct fl_parser *p, fl_class_def *c,
                           const fl_class_item *item)
{
    if (c->nitems == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 4;
        fl_class_item *items = fl_realloc(c->items, cap * sizeof *items);
        if (items == NULL) {
            fl_parser_oom(p);
            return false;
        }
        c->items = items;
        c->cap = cap;
    }
    fl_class_item *it = &c->items[c->nitems++];
    *it = *item;
    if (it->kind == FL_ITEM_PREFIX) {
        fl_addr_words(&it->net, it->net_words);
        fl_prefix_masks(it->bits, it->mask_words);
    }
    return true;
}

/* One From item: all, none, ADDRESS, CIDR, IP glob, DNS name or glob, each
 * negatable with '!'. */
static bool parse_from_item(struct fl_parser *p, const char *text, fl_class_item *item)
{
    memset(item, 0, sizeof *item);
    if (*text == '!') {
        item->negate = true;
        text++;
    }
    if (*text == '\0') {
        fl_perr(p, "From: empty item");
        return false;
    }

    if (strcasecmp(text, "all") == 0) {
        item->kind = FL_ITEM_ALL;
        return true;
    }
    if (strcasecmp(text, "none") == 0) {
        item->kind = FL_ITEM_NONE;
        return true;
    }
    if (strchr(text, '/') != NULL) {
        if (fl_cidr_parse(text, &item->net, &item->bits) < 0) {
            fl_perr(
                p,
                "From: bad CIDR '%s' (expected ADDRESS/LENGTH, 0-32 for IPv4, 0-128 "
                "for "
                "IPv6)",
                FL_SHOWN(text));
            return false;
        }
        item->kind = FL_ITEM_PREFIX;
        return true;
    }
    if (fl_addr_parse(text, &item->net) == 0) {
        item->kind = FL_ITEM_PREFIX;
        item->bits = 128;
        return true;
    }

    /* ProFTPD's "10.1." means every address starting with it. */
    size_t len = strlen(text);
    bool dotted_prefix =
        len > 1 && text[len - 1] == '.' && strspn(text, "0123456789.") == len;
    if (dotted_prefix || fl_text_is_ip_glob(text)) {
        item->kind = FL_ITEM_IP_GLOB;
        item->pattern = fl_malloc(len + 2);
        if (item->pattern == NULL) {
            fl_parser_oom(p);
            return false;
        }
        memcpy(item->pattern, text, len + 1);
        if (dotted_prefix)
            strcat(item->pattern, "*");
        return true;
    }

    /* Anything else names hosts: a DNS name or glob; ".example.com" means
     * every name under example.com. */
    for (const unsigned char *s = (const unsigned char *)text; *s != '\0'; s++) {
        if (!isalnum(*s) && strchr("-._*?[]!", *s) == NULL) {
            fl_perr(
                p,
                "From: '%s' is neither an address, a CIDR, an IP glob nor a DNS name",
                FL_SHOWN(text));
            return false;
        }
    }
    item->kind = FL_ITEM_DNS;
    p->pol->classes_match_names = true;
    item->pattern = fl_malloc(len + 2);
    if (item->pattern == NULL) {
        fl_parser_oom(p);
        return false;
    }
    snprintf(item->pattern, len + 2, "%s%s", text[0] == '.' ? "*" : "", text);
    return true;
}

static void h_from(struct fl_parser *p, const struct fl_args *a,
                   const struct fl_directive *d)
{
    if (!fl_check_argc(p, d, a, 1, FL_ARGS_MAX - 1, "item..."))
        return;
    for (int i = 1; i < a->n; i++) {
        /* ProFTPD allows "From 10.0.0.0/8, 192.168.0.0/16". */
        char *text = a->v[i].text;
        size_t len = strlen(text);
        if (len > 1 && text[len - 1] == ',')
            text[len - 1] = '\0';
        fl_class_item item;
        if (!parse_from_item(p, text, &item))
            continue;
        if (!class_add_item(p, p->open_class, &item))
            fl_free(item.pattern);
    }
}

static void h_satisfy(struct fl_parser *p, const struct fl_args *a,
                      const struct fl_directive *d)
{
    if (!fl_check_argc(p, d, a, 1, 1, "any|all"))
        return;
    if (strcasecmp(a->v[1].text, "any") == 0)
        p->open_class->satisfy_all = false;
    else if (strcasecmp(a->v[1].text, "all") == 0)
        p->open_class->satisfy_all = true;
    else
        fl_perr(p, "Satisfy: expected 'any' or 'all', got '%s'",
                FL_SHOWN(a->v[1].text));
}

/* The previous policy's database for path, to stand in for one that cannot
 * be opened now. */
static fl_geodb *previous_geodb(const struct fl_parser *p, const char *path)
{
    for (size_t i = 0; p->previous != NULL && i < p->previous->ngeodbs; i++) {
        if (strcmp(fl_geodb_path(p->previous->geodbs[i]), path) == 0)
            return p->previous->geodbs[i];
    }
    return NULL;
}

/* GeoIPDatabase PATH */
static void h_geoip_database(struct fl_parser *p, const struct fl_args *a,
                             const struct fl_directive *d)
{
    if (!fl_check_argc(p, d, a, 1, 1, "path"))
        return;
    char path[PATH_MAX];
    fl_resolve_path(p, a->v[1].text, path, sizeof path);
    fl_policy *pol = p->pol;
    for (size_t i = 0; i < pol->ngeodbs; i++) {
        if (strcmp(fl_geodb_path(pol->geodbs[i]), path) == 0) {
            fl_perr(p, "GeoIPDatabase: '%s' is already listed", FL_SHOWN(a->v[1].text));
            return;
        }
    }

    fl_geodb **dbs = fl_realloc(pol->geodbs, (pol->ngeodbs + 1) * sizeof *dbs);
    if (dbs == NULL) {
        fl_parser_oom(p);
        return;
    }
    pol->geodbs = dbs;

    char why[256];
    fl_geodb *db = fl_geodb_open(path, why, sizeof why);
    if (db == NULL) {
        fl_geodb *old = previous_geodb(p, path);
        if (old == NULL) {
            fl_perr(p, "GeoIPDatabase: cannot open '%s': %s", FL_SHOWN(a->v[1].text),
                    why);
            p->geodb_failed = true;
            return;
        }
        fl_pnotice(
            p,
            "GeoIPDatabase: cannot open '%s' again (%s); keeping the copy loaded "
            "before",
            FL_SHOWN(a->v[1].text), why);
        db = fl_geodb_ref(old);
    }
    pol->geodbs[pol->ngeodbs++] = db;
}

static void note_geo_use(struct fl_parser *p)
{
    if (p->open_class->geo_line == 0)
        p->open_class->geo_line = p->line;
}

/* FromCountry CC..., FromContinent CODE..., FromASN NUMBER..., each item
 * negatable with '!'. */
static void h_from_geo(struct fl_parser *p, const struct fl_args *a,
                       const struct fl_directive *d)
{
    if (!fl_check_argc(p, d, a, 1, FL_ARGS_MAX - 1, "item..."))
        return;
    note_geo_use(p);
    for (int i = 1; i < a->n; i++) {
        fl_class_item item;
        memset(&item, 0, sizeof item);
        const char *text = a->v[i].text;
        size_t len = strlen(text);
        if (len > 1 && text[len - 1] == ',')
            len--;
        if (*text == '!') {
            item.negate = true;
            text++;
            len--;
        }
        char word[16] = "";
        if (len < sizeof word)
            memcpy(word, text, len), word[len] = '\0';

        if (strcasecmp(d->name, "FromASN") == 0) {
            const char *digits = strncasecmp(word, "AS", 2) == 0 ? word + 2 : word;
            errno = 0;
            unsigned long long asn = fl_is_integer(digits) && strlen(digits) <= 10
                                         ? strtoull(digits, NULL, 10)
                                         : 0;
            if (asn == 0 || asn > UINT32_MAX) {
                fl_perr(p,
                        "FromASN: expected an AS number (1 to 4294967295, or AS64500), "
                        "got '%s'",
                        FL_SHOWN(a->v[i].text));
                continue;
            }
            item.kind = FL_ITEM_ASN;
            item.asn = (uint32_t)asn;
        } else if (strcasecmp(d->name, "FromCountry") == 0) {
            memcpy(item.code, word, len <= 2 ? len + 1 : 1);
            if (len != 2 || !fl_geo_country_valid(item.code)) {
                fl_perr(
                    p,
                    "FromCountry: unknown country code '%s' (expected ISO 3166 codes "
                    "such as DE or US)",
                    FL_SHOWN(a->v[i].text));
                continue;
            }
            item.kind = FL_ITEM_COUNTRY;
        } else {
            memcpy(item.code, word, len <= 2 ? len + 1 : 1);
            if (len != 2 || !fl_geo_continent_valid(item.code)) {
                fl_perr(
                    p,
                    "FromContinent: unknown continent code '%s' (expected AF, AN, AS, "
                    "EU, NA, OC or SA)",
                    FL_SHOWN(a->v[i].text));
                continue;
            }
            item.kind = FL_ITEM_CONTINENT;
        }
        class_add_item(p, p->open_class, &item);
    }
}

/* MaxClientsPerCountry max|none ["message"] */
static void h_per_country(struct fl_parser *p, const struct fl_args *a,
                          const struct fl_directive *d)
{
    h_limit(p, a, d);
    if (fl_parser_scope(p)->lim.per_country.max == FL_UNLIMITED)
        return;
    fl_free(p->country_limit_file);
    p->country_limit_file = fl_strdup(p->file);
    p->country_limit_line = p->line;
}

static bool acl_push_id(struct fl_parser *p, void **list, size_t *n, size_t size,
                        unsigned id)
{
    void *grown = fl_realloc(*list, (*n + 1) * size);
    if (grown == NULL) {
        fl_parser_oom(p);
        return false;
    }
    *list = grown;
    if (size == sizeof(uid_t))
        ((uid_t *)grown)[*n] = (uid_t)id;
    else
        ((gid_t *)grown)[*n] = (gid_t)id;
    (*n)++;
    return true;
}

/* AllowSessions|AllowStatus|AllowAdmin ITEM...: user names, uid:N,
 * group:NAME (or @NAME), gid:N, all. Names are resolved now, so that a typo
 * is an error rather than a silent refusal. */
static void h_allow(struct fl_parser *p, const struct fl_args *a,
                    const struct fl_directive *d)
{
    if (!fl_check_argc(p, d, a, 1, FL_ARGS_MAX - 1,
                       "user|uid:N|group:NAME|gid:N|all..."))
        return;
    fl_acl *acl = &p->pol->access[d->offset];
    acl->set = true;
    for (int i = 1; i < a->n; i++) {
        const char *item = a->v[i].text;
        bool group = item[0] == '@' || strncmp(item, "group:", 6) == 0;
        const char *name = item[0] == '@' ? item + 1 : group ? item + 6 : item;
        unsigned long long id;
        if (strcasecmp(item, "all") == 0) {
            acl->all = true;
        } else if ((strncmp(item, "uid:", 4) == 0 || strncmp(item, "gid:", 4) == 0) &&
                   fl_is_integer(item + 4) && strlen(item + 4) <= 10 &&
                   (id = strtoull(item + 4, NULL, 10)) <= UINT32_MAX - 1) {
            if (item[0] == 'u')
                acl_push_id(p, (void **)&acl->uids, &acl->nuids, sizeof(uid_t),
                            (unsigned)id);
            else
                acl_push_id(p, (void **)&acl->gids, &acl->ngids, sizeof(gid_t),
                            (unsigned)id);
        } else if (group) {
            struct group grp, *found = NULL;
            char buf[4096];
            if (getgrnam_r(name, &grp, buf, sizeof buf, &found) != 0 || found == NULL)
                fl_perr(p, "%s: unknown group '%s'", d->name, FL_SHOWN(name));
            else
                acl_push_id(p, (void **)&acl->gids, &acl->ngids, sizeof(gid_t),
                            grp.gr_gid);
        } else {
            struct passwd pw, *found = NULL;
            char buf[4096];
            if (getpwnam_r(name, &pw, buf, sizeof buf, &found) != 0 || found == NULL)
                fl_perr(p,
                        "%s: unknown user '%s' (or use uid:N, group:NAME, gid:N, all)",
                        d->name, FL_SHOWN(name));
            else
                acl_push_id(p, (void **)&acl->uids, &acl->nuids, sizeof(uid_t),
                            pw.pw_uid);
        }
    }
}

/* The limits, one row each in catalog/limits.def: the handler is the one
 * for the limit's syntax, the offset where it lives in fl_policy. */
#define H_FL_SYN_NONE NULL
#define H_FL_SYN_LIMIT h_limit
#define H_FL_SYN_RATE h_rate
#define H_FL_SYN_CLASS h_per_class
#define H_FL_SYN_NETWORK h_per_network
#define H_FL_SYN_COUNTRY h_per_country
#define H_FL_SYN_ATTEMPTS h_login_attempts
#define H_FL_SYN_ANON_REJECT h_anon_reject
#define H_FL_SYN_TRACKED h_tracked_hosts
#define FL_FIELD(member) offsetof(fl_policy, member)
#define FL_SCOPED(member) offsetof(fl_limits, member)
#define FL_NOFIELD 0
#define WHERE_FL_SC_DAEMON FL_TOP
#define WHERE_FL_SC_SERVER FL_SERVER
#define WHERE_FL_SC_ANON FL_SCOPED
static const struct fl_directive directives[] = {
/* The limits, one row each in catalog/limits.def. */
#define FL_LIMIT(id, directive, event, code, message, syntax, field, ban, shown,       \
                 proftpd, scope)                                                       \
    {directive, WHERE_##scope, H_##syntax, field},
#include "catalog/limits.def"
#undef FL_LIMIT
    /* The rest. */
    {"AnonymousUsers", FL_TOP, h_anon_users, 0},
    {"DryRun", FL_TOP, h_dry_run, 0},
    {"<Class", FL_ANYWHERE, h_class_open, 0},
    {"</Class", FL_IN_CLASS, h_class_close, 0},
    {"From", FL_IN_CLASS, h_from, 0},
    {"Satisfy", FL_IN_CLASS, h_satisfy, 0},
    {"FromCountry", FL_IN_CLASS, h_from_geo, 0},
    {"FromContinent", FL_IN_CLASS, h_from_geo, 0},
    {"FromASN", FL_IN_CLASS, h_from_geo, 0},
    {"GeoIPDatabase", FL_TOP, h_geoip_database, 0},
    {"AllowSessions", FL_TOP, h_allow, FL_ACCESS_SESSIONS},
    {"AllowStatus", FL_TOP, h_allow, FL_ACCESS_STATUS},
    {"AllowAdmin", FL_TOP, h_allow, FL_ACCESS_ADMIN},
    /* A farm's (cluster.c). */
    {"Cluster", FL_TOP, fl_cluster_cluster, 0},
    {"ClusterNode", FL_TOP, fl_cluster_node, 0},
    {"ClusterLease", FL_TOP, fl_cluster_lease, 0},
    {"ClusterTimeout", FL_TOP, fl_cluster_timeout, 0},
    {"ClusterFailMode", FL_TOP, fl_cluster_fail_mode, 0},
    {"ClusterLocal", FL_TOP, fl_cluster_local, 0},
    {"ClusterPasswordFile", FL_TOP, fl_cluster_password_file, 0},
    /* Scope blocks (scopes.c). */
    {"<VirtualHost", FL_ANYWHERE, fl_scope_vhost_open, 0},
    {"</VirtualHost", FL_ANYWHERE, fl_scope_vhost_close, 0},
    {"<Global", FL_ANYWHERE, fl_scope_global_open, 0},
    {"</Global", FL_ANYWHERE, fl_scope_global_close, 0},
    {"<Anonymous", FL_ANYWHERE, fl_scope_anon_open, 0},
    {"</Anonymous", FL_ANYWHERE, fl_scope_anon_close, 0},
    {"Port", FL_IN_VHOST, fl_scope_port, 0},
    {"User", FL_IN_ANON, fl_scope_user, 0},
    {"UserAlias", FL_IN_ANON, fl_scope_user_alias, 0},
    {"ProFTPDLimits", FL_TOP, fl_scope_proftpd_limits, 0},
    {"<IfUser", FL_ANYWHERE, fl_scope_cond_open, FL_COND_USER},
    {"</IfUser", FL_ANYWHERE, fl_scope_cond_close, FL_COND_USER},
    {"<IfClass", FL_ANYWHERE, fl_scope_cond_open, FL_COND_CLASS},
    {"</IfClass", FL_ANYWHERE, fl_scope_cond_close, FL_COND_CLASS},
    {"<IfGroup", FL_ANYWHERE, fl_scope_cond_open, FL_COND_GROUP},
    {"</IfGroup", FL_ANYWHERE, fl_scope_cond_close, FL_COND_GROUP},
    {"<IfAuthenticated", FL_ANYWHERE, fl_scope_cond_open, FL_COND_AUTHN},
    {"</IfAuthenticated", FL_ANYWHERE, fl_scope_cond_close, FL_COND_AUTHN},
};
#undef FL_FIELD
#undef FL_SCOPED
#undef FL_NOFIELD

static void finish(struct fl_parser *p)
{
    fl_scopes_finish(p);
    fl_cluster_finish(p);
}

const struct fl_policy_part fl_policy_core_part = {
    .name = "core",
    .directives = directives,
    .ndirectives = sizeof directives / sizeof directives[0],
    .finish = finish,
};
