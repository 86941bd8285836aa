/*
 * parse.c - reads a policy file written in ProFTPD's directive syntax.
 *
 * One directive per line (a trailing backslash continues it), '#' starts a
 * comment, arguments are split on white space and may be double-quoted with
 * \" and \\ escapes. <Class name> ... </Class> is the one block.
 *
 * The one idea to hold on to: the parser never stops at the first error. It
 * reports "FILE:LINE: what is wrong" and moves to the next line, so that an
 * administrator sees every mistake in one run of `ftplimit check`; only a
 * policy with no error at all is returned.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <dirent.h>
#include <fnmatch.h>
#include <unistd.h>
#include <grp.h>
#include <pwd.h>

#include <ftplimit/events.h>
#include <ftplimit/json.h>

#include "util/addr.h"
#include "util/alloc.h"
#include "util/text.h"
#include "policy/directive.h"
#include "policy/types.h"

#define LINE_MAX_BYTES 16384
#define INCLUDE_DEPTH_MAX 16

struct class_ref {
    char *class_name;
    const char *directive; /* that names it */
    bool sets_limit;       /* MaxClientsPerClass: limit goes to the class */
    fl_limit_cfg limit;
    char *file;
    int line;
};

struct fl_parser {
    fl_policy *pol;
    const fl_policy *previous; /* the policy in force, when reloading */
    void (*err)(void *, const char *);
    void *err_arg;
    int errors;

    const char *file; /* display path of the file being read */
    int line;         /* first line of the directive being read */

    char *stack[INCLUDE_DEPTH_MAX + 1]; /* real paths of the files being read */
    int depth;

    fl_class_def *open_class; /* inside <Class> ... </Class> */

    struct class_ref *refs; /* classes named before they may be defined,
                               resolved after parsing */
    size_t nrefs, caprefs;

    char *country_limit_file; /* where MaxClientsPerCountry was set */
    int country_limit_line;

    size_t part; /* the part whose directive is being read (pol->nparts: ours) */
};

/* ------------------------------------------------------------------------- */
/* Errors                                                                    */
/* ------------------------------------------------------------------------- */

void fl_perr(struct fl_parser *p, const char *fmt, ...)
{
    char msg[1024];
    /* Line 0: about the file as a whole (it cannot be read). */
    int off = p->line > 0 ? snprintf(msg, sizeof msg, "%s:%d: ", p->file, p->line)
                          : snprintf(msg, sizeof msg, "%s: ", p->file);
    if (off < 0 || (size_t)off >= sizeof msg)
        off = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + off, sizeof msg - (size_t)off, fmt, ap);
    va_end(ap);
    p->errors++;
    if (p->err != NULL)
        p->err(p->err_arg, msg);
}

/* A message that is not an error: the policy still loads. */
static void pnotice(struct fl_parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void pnotice(struct fl_parser *p, const char *fmt, ...)
{
    char msg[1024];
    int off = snprintf(msg, sizeof msg, "%s:%d: notice: ", p->file, p->line);
    if (off < 0 || (size_t)off >= sizeof msg)
        off = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + off, sizeof msg - (size_t)off, fmt, ap);
    va_end(ap);
    if (p->err != NULL)
        p->err(p->err_arg, msg);
}

void fl_parser_oom(struct fl_parser *p)
{
    fl_perr(p, "out of memory");
}

/* ------------------------------------------------------------------------- */
/* Values                                                                    */
/* ------------------------------------------------------------------------- */

static bool is_none(const struct fl_arg *a)
{
    return !a->quoted && strcasecmp(a->text, "none") == 0;
}

bool fl_is_integer(const char *text)
{
    return *text != '\0' && strspn(text, "0123456789") == strlen(text);
}

/* An integer in [min, max]; allow_none maps "none" to FL_UNLIMITED. */
bool fl_parse_count(struct fl_parser *p, const struct fl_directive *d,
                    const struct fl_arg *a, long long min, long long max,
                    bool allow_none, long long *out)
{
    if (allow_none && is_none(a)) {
        *out = FL_UNLIMITED;
        return true;
    }
    errno = 0;
    long long v = fl_is_integer(a->text) && strlen(a->text) <= 18
                      ? strtoll(a->text, NULL, 10)
                      : -1;
    if (v < min || v > max || errno != 0) {
        fl_perr(p, "%s: expected %s from %lld to %lld%s, got '%s'", d->name,
                min == max ? "the number" : "a number", min, max,
                allow_none ? " or 'none'" : "", FL_SHOWN(a->text));
        return false;
    }
    *out = v;
    return true;
}

/* Seconds, with an optional decimal part, into microseconds. */
static bool parse_interval(struct fl_parser *p, const struct fl_directive *d,
                           const struct fl_arg *a, fl_usec *out)
{
    const char *t = a->text;
    size_t int_len = strspn(t, "0123456789");
    const char *frac = t + int_len;
    size_t frac_len = 0;
    bool ok = int_len > 0 && int_len <= 6;
    if (ok && *frac == '.') {
        frac++;
        frac_len = strspn(frac, "0123456789");
        ok = frac_len > 0 && frac_len <= 6;
    }
    if (ok)
        ok = frac[frac_len] == '\0';

    fl_usec us = 0;
    if (ok) {
        us = (fl_usec)strtoll(t, NULL, 10) * FL_USEC_PER_SEC;
        fl_usec scale = FL_USEC_PER_SEC / 10;
        for (size_t i = 0; i < frac_len; i++, scale /= 10)
            us += (frac[i] - '0') * scale;
        ok = us > 0 && us <= FL_RATE_INTERVAL_MAX;
    }
    if (!ok) {
        fl_perr(p,
                "%s: expected an interval in seconds (more than 0, at most 86400), got "
                "'%s'",
                d->name, FL_SHOWN(a->text));
        return false;
    }
    *out = us;
    return true;
}

static bool parse_bool(struct fl_parser *p, const struct fl_directive *d,
                       const struct fl_arg *a, bool *out)
{
    static const char *yes[] = {"on", "yes", "true", "1"};
    static const char *no[] = {"off", "no", "false", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(a->text, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcasecmp(a->text, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    fl_perr(p, "%s: expected 'on' or 'off', got '%s'", d->name, FL_SHOWN(a->text));
    return false;
}

bool fl_check_argc(struct fl_parser *p, const struct fl_directive *d,
                   const struct fl_args *a, int min, int max, const char *usage)
{
    int n = a->n - 1;
    if (n < min || n > max) {
        fl_perr(p, "%s: wrong number of arguments (%d); usage: %s %s", d->name, n,
                d->name, usage);
        return false;
    }
    return true;
}

static bool set_message(struct fl_parser *p, char **slot, const struct fl_arg *a)
{
    char *copy = fl_strdup(a->text);
    if (copy == NULL) {
        fl_parser_oom(p);
        return false;
    }
    fl_free(*slot);
    *slot = copy;
    return true;
}

/* ------------------------------------------------------------------------- */
/* Directive handlers                                                        */
/* ------------------------------------------------------------------------- */

/* NAME max|none ["message"] */
static void h_limit(struct fl_parser *p, const struct fl_args *a,
                    const struct fl_directive *d)
{
    if (!fl_check_argc(p, d, a, 1, 2, "max|none [\"message\"]"))
        return;
    fl_limit_cfg *lim = (fl_limit_cfg *)(void *)((char *)p->pol + d->offset);
    long long max;
    if (!fl_parse_count(p, d, &a->v[1], 1, FL_LIMIT_MAX, true, &max))
        return;
    lim->max = max;
    if (a->n == 3)
        set_message(p, &lim->message, &a->v[2]);
}

/* NAME count|none [interval-seconds] ["message"] */
static void h_rate(struct fl_parser *p, const struct fl_args *a,
                   const struct fl_directive *d)
{
    if (!fl_check_argc(p, d, a, 1, 3, "count|none [interval-seconds] [\"message\"]"))
        return;
    fl_rate_cfg *rate = (fl_rate_cfg *)(void *)((char *)p->pol + d->offset);
    long long cap = d->offset == offsetof(fl_policy, rate) ? FL_RATE_COUNT_MAX
                                                           : FL_HOST_RATE_COUNT_MAX;
    long long count;
    fl_usec interval = FL_DEFAULT_RATE_INTERVAL;
    int i = 2;

    if (!fl_parse_count(p, d, &a->v[1], 1, cap, true, &count))
        return;
    if (i < a->n && !a->v[i].quoted && isdigit((unsigned char)a->v[i].text[0])) {
        if (!parse_interval(p, d, &a->v[i], &interval))
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
        set_message(p, &rate->message, &a->v[i]);
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
        i += 2;
    }
    if (i < a->n - 1) {
        fl_perr(p, "%s: unexpected argument '%s'; usage: %s %s", d->name,
                FL_SHOWN(a->v[i].text), d->name, usage);
        return;
    }
    p->pol->per_network.max = max;
    p->pol->net_v4_bits = (unsigned)v4 + FL_V4_PREFIX_OFFSET;
    p->pol->net_v6_bits = (unsigned)v6;
    if (i < a->n)
        set_message(p, &p->pol->per_network.message, &a->v[i]);
}

/* Remember a class named at this line, to resolve once every class is
 * known (a class may be defined after it is named). NULL on failure. */
static struct class_ref *push_class_ref(struct fl_parser *p, const char *name,
                                        const char *directive, const char *message)
{
    if (p->nrefs == p->caprefs) {
        size_t cap = p->caprefs ? p->caprefs * 2 : 8;
        struct class_ref *refs = fl_realloc(p->refs, cap * sizeof *refs);
        if (refs == NULL) {
            fl_parser_oom(p);
            return NULL;
        }
        p->refs = refs;
        p->caprefs = cap;
    }
    struct class_ref *r = &p->refs[p->nrefs];
    memset(r, 0, sizeof *r);
    r->class_name = fl_strdup(name);
    r->directive = directive;
    r->file = fl_strdup(p->file);
    r->line = p->line;
    if (message != NULL)
        r->limit.message = fl_strdup(message);
    if (r->class_name == NULL || r->file == NULL ||
        (message != NULL && r->limit.message == NULL)) {
        fl_free(r->class_name);
        fl_free(r->file);
        fl_free(r->limit.message);
        fl_parser_oom(p);
        return NULL;
    }
    p->nrefs++;
    return r;
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
        push_class_ref(p, a->v[1].text, d->name, a->n == 4 ? a->v[3].text : NULL);
    if (r != NULL) {
        r->sets_limit = true;
        r->limit.max = max;
    }
}

void *fl_parser_conf(struct fl_parser *p)
{
    return p->part < p->pol->nparts ? p->pol->parts[p->part].conf : NULL;
}

int fl_parser_line(const struct fl_parser *p)
{
    return p->line;
}

void fl_parser_require_class(struct fl_parser *p, const char *name,
                             const char *directive)
{
    (void)push_class_ref(p, name, directive, NULL);
}

/* MaxLoginAttempts count|none */
static void h_login_attempts(struct fl_parser *p, const struct fl_args *a,
                             const struct fl_directive *d)
{
    if (!fl_check_argc(p, d, a, 1, 1, "count|none"))
        return;
    long long v;
    if (fl_parse_count(p, d, &a->v[1], 1, 1000, true, &v))
        p->pol->max_login_attempts = v;
}

/*
 * Roughly how many nodes glibc's regcomp() builds for an extended regular
 * expression: it copies a repeated atom or group once for each repetition
 * (a+ is a a*, a{2,5} five a's), so stacked or nested repetitions multiply
 * -- "mozilla++++++" doubles at each +, and forty of them took gigabytes.
 * Counted before regcomp() is called, so that no policy can make it run
 * the daemon out of memory.
 */
#define REGEX_NODES_MAX 10000
#define REGEX_DEPTH_MAX 32

static double regex_nodes(const char *s)
{
    struct level {
        double total; /* the level's nodes so far, every alternative */
        double last;  /* the last atom's or group's, for a repetition */
    } stack[REGEX_DEPTH_MAX + 1] = {{0, 0}};
    int depth = 0;
    for (; *s != '\0'; s++) {
        struct level *l = &stack[depth];
        double atom = 1, times = 0;
        switch (*s) {
        case '\\':
            if (s[1] != '\0')
                s++;
            break;
        case '[': /* one atom, however long: []...], [^]...], [:alpha:] */
            s += s[1] == '^' ? 2 : 1;
            if (*s == ']')
                s++;
            while (*s != '\0' && *s != ']') {
                if (*s == '[' && (s[1] == ':' || s[1] == '=' || s[1] == '.')) {
                    const char *close = strchr(s + 2, s[1]);
                    s = close != NULL && close[1] == ']' ? close + 1 : s;
                }
                s++;
            }
            if (*s == '\0')
                s--;
            break;
        case '(':
            if (depth == REGEX_DEPTH_MAX)
                return REGEX_NODES_MAX + 1;
            stack[++depth] = (struct level){0, 0};
            continue;
        case ')':
            if (depth > 0) {
                atom = stack[depth--].total + 1;
                l = &stack[depth];
            }
            break;
        case '|':
            l->last = 0;
            continue;
        case '*':
        case '+':
        case '?':
            times = 2;
            break;
        case '{': {
            char *end;
            unsigned long m = strtoul(s + 1, &end, 10), n = m;
            if (end == s + 1 && *end != ',')
                break; /* not a bound: a brace */
            if (*end == ',')
                n = end[1] == '}' ? m : strtoul(end + 1, &end, 10);
            if (*end == ',')
                end++;
            if (*end != '}')
                break;
            times = (double)(n > m ? n : m) + 1;
            s = end;
            break;
        }
        default:
            break;
        }
        if (times > 0) {
            l->total += l->last * (times - 1);
            l->last *= times;
        } else {
            l->total += atom;
            l->last = atom;
        }
        if (l->total > REGEX_NODES_MAX)
            return l->total;
    }
    double total = 0;
    for (int i = 0; i <= depth; i++)
        total += stack[i].total;
    return total;
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

    if (regex_nodes(pattern) > REGEX_NODES_MAX) {
        fl_perr(p,
                "%s: the regular expression '%s' is too complex: its repetitions "
                "multiply past %d copies",
                d->name, FL_SHOWN(pattern), REGEX_NODES_MAX);
        return;
    }
    regex_t re;
    int rc = regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB | (nocase ? REG_ICASE : 0));
    if (rc != 0) {
        char why[256];
        regerror(rc, &re, why, sizeof why);
        fl_perr(p, "%s: bad regular expression '%s': %s", d->name, FL_SHOWN(pattern),
                why);
        return;
    }
    char *source = fl_strdup(a->v[1].text);
    if (source == NULL) {
        regfree(&re);
        fl_parser_oom(p);
        return;
    }
    fl_anon_reject *ar = &p->pol->anon_reject;
    if (ar->set) {
        regfree(&ar->re);
        fl_free(ar->source);
    }
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
        parse_bool(p, d, &a->v[1], &p->pol->dry_run);
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

/* --- <Class> -------------------------------------------------------------- */

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
    c->limit.max = FL_UNLIMITED;
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

/* --- GeoIP ---------------------------------------------------------------- */

/* path as written in the policy: relative to the file that names it. */
static void resolve_path(const struct fl_parser *p, const char *path, char *out,
                         size_t size)
{
    if (path[0] == '/') {
        snprintf(out, size, "%s", path);
        return;
    }
    const char *slash = strrchr(p->file, '/');
    int dirlen = slash != NULL ? (int)(slash - p->file) : 0;
    snprintf(out, size, "%.*s%s%s", dirlen, p->file, slash != NULL ? "/" : "", path);
}

char *fl_policy_path(struct fl_parser *p, const char *text)
{
    char path[PATH_MAX];
    resolve_path(p, text, path, sizeof path);
    char *copy = fl_strdup(path);
    if (copy == NULL)
        fl_parser_oom(p);
    return copy;
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
    resolve_path(p, a->v[1].text, path, sizeof path);
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
            return;
        }
        pnotice(p,
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
    fl_free(p->country_limit_file);
    p->country_limit_file = fl_strdup(p->file);
    p->country_limit_line = p->line;
}

/* --- daemon access -------------------------------------------------------------- */

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

/* Read path; as_written is how Include errors name it (as the policy wrote it). */
static void parse_file(struct fl_parser *p, const char *path, const char *as_written);

/* Include PATH-OR-GLOB: relative to the including file's directory; a
 * directory includes its files in name order. */
static void h_include(struct fl_parser *p, const struct fl_args *a,
                      const struct fl_directive *d)
{
    if (!fl_check_argc(p, d, a, 1, 1, "path-or-glob"))
        return;

    const char *target = a->v[1].text;
    char resolved[PATH_MAX];
    if (target[0] != '/') {
        const char *slash = strrchr(p->file, '/');
        int dirlen = slash != NULL ? (int)(slash - p->file) : 0;
        snprintf(resolved, sizeof resolved, "%.*s%s%s", dirlen, p->file,
                 slash != NULL ? "/" : "", target);
    } else {
        snprintf(resolved, sizeof resolved, "%s", target);
    }

    glob_t g;
    bool magic = strpbrk(resolved, "*?[") != NULL;
    int rc = glob(resolved, magic ? 0 : GLOB_NOCHECK, NULL, &g);
    if (rc == GLOB_NOMATCH) {
        return; /* a pattern that matches nothing includes nothing */
    }
    if (rc != 0) {
        fl_perr(p, "Include: cannot expand '%s'", FL_SHOWN(target));
        return;
    }

    for (size_t i = 0; i < g.gl_pathc; i++) {
        const char *path = g.gl_pathv[i];
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            if (magic)
                continue; /* a glob includes files, not directories */
            char pattern[PATH_MAX];
            snprintf(pattern, sizeof pattern, "%s/*", path);
            glob_t dg;
            if (glob(pattern, 0, NULL, &dg) == 0) {
                for (size_t j = 0; j < dg.gl_pathc; j++) {
                    size_t n = strlen(dg.gl_pathv[j]);
                    if (n > 0 && dg.gl_pathv[j][n - 1] == '~')
                        continue;
                    if (stat(dg.gl_pathv[j], &st) == 0 && S_ISREG(st.st_mode))
                        parse_file(p, dg.gl_pathv[j], dg.gl_pathv[j]);
                }
                globfree(&dg);
            }
        } else {
            parse_file(p, path, magic ? path : target);
        }
    }
    globfree(&g);
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
#define FL_NOFIELD 0
static const struct fl_directive limit_directives[] = {
#define FL_LIMIT(id, directive, event, code, message, syntax, field, ban, shown,       \
                 proftpd)                                                              \
    {directive, FL_TOP, H_##syntax, field},
#include "catalog/limits.def"
#undef FL_LIMIT
};
#undef FL_FIELD
#undef FL_NOFIELD

/* Every other directive. */
static const struct fl_directive directives[] = {
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
    {"Include", FL_ANYWHERE, h_include, 0},
};

/* The parser's own tables: the limits', then the rest. */
static const struct {
    const struct fl_directive *v;
    size_t n;
} own_tables[] = {
    {limit_directives, sizeof limit_directives / sizeof limit_directives[0]},
    {directives, sizeof directives / sizeof directives[0]},
};
#define NOWN (sizeof own_tables / sizeof own_tables[0])

/* Table t of the policy's: the parser's own, then each part's. */
static size_t ntables(const struct fl_parser *p)
{
    return NOWN + p->pol->nparts;
}

static const struct fl_directive *table_of(const struct fl_parser *p, size_t t,
                                           size_t *n)
{
    if (t < NOWN) {
        *n = own_tables[t].n;
        return own_tables[t].v;
    }
    const struct fl_policy_part *part = p->pol->parts[t - NOWN].part;
    *n = part->ndirectives;
    return part->directives;
}

/* ------------------------------------------------------------------------- */
/* Lines and tokens                                                          */
/* ------------------------------------------------------------------------- */

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return SIZE_MAX;
    size_t prev[65], cur[65];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cost =
                tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
            size_t best = prev[j - 1] + cost;
            if (prev[j] + 1 < best)
                best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            cur[j] = best;
        }
        memcpy(prev, cur, (lb + 1) * sizeof *prev);
    }
    return prev[lb];
}

/* The directive called name, and the part it belongs to (pol->nparts for
 * the parser's own). */
static const struct fl_directive *directive_find(const struct fl_parser *p,
                                                 const char *name, size_t *part)
{
    for (size_t t = 0; t < ntables(p); t++) {
        size_t n;
        const struct fl_directive *v = table_of(p, t, &n);
        for (size_t i = 0; i < n; i++) {
            if (v[i].handler != NULL && strcasecmp(v[i].name, name) == 0) {
                *part = t < NOWN ? p->pol->nparts : t - NOWN;
                return &v[i];
            }
        }
    }
    return NULL;
}

static const char *directive_suggest(const struct fl_parser *p, const char *name)
{
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    for (size_t t = 0; t < ntables(p); t++) {
        size_t n;
        const struct fl_directive *v = table_of(p, t, &n);
        for (size_t i = 0; i < n; i++) {
            const struct fl_directive *d = &v[i];
            size_t dist = d->handler != NULL ? edit_distance(name, d->name) : SIZE_MAX;
            if (dist < best_d) {
                best_d = dist;
                best = d->name;
            }
        }
    }
    size_t len = strlen(name);
    size_t tolerance = len < 6 ? 2 : len / 3;
    return best_d <= tolerance ? best : NULL;
}

/* Split line into a->v; false (after an error) on bad quoting or too many
 * arguments. */
static bool tokenize(struct fl_parser *p, char *line, struct fl_args *a)
{
    a->n = 0;
    for (;;) {
        char *tok;
        bool quoted;
        switch (fl_text_token(&line, " \t", true, &tok, &quoted)) {
        case FL_TOKEN_END:
            return true;
        case FL_TOKEN_UNTERMINATED:
            fl_perr(p, "unterminated quoted argument");
            return false;
        case FL_TOKEN_GLUED:
            fl_perr(p, "text right after a closing quote: add a space after \"%s\"",
                    FL_SHOWN(tok));
            return false;
        case FL_TOKEN_OK:
            break;
        }
        if (a->n == FL_ARGS_MAX) {
            fl_perr(p, "too many arguments (at most %d)", FL_ARGS_MAX - 1);
            return false;
        }
        a->v[a->n++] = (struct fl_arg){tok, quoted};
    }
}

/* "<Class lan>" and "</Class>": the directive token is "<Class", and the
 * closing '>' must end the line. */
static bool split_block_line(struct fl_parser *p, char *line)
{
    char *end = line + strlen(line);
    while (end > line && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    if (end == line || end[-1] != '>') {
        fl_perr(p, "a block line must end with '>'");
        return false;
    }
    end[-1] = '\0';
    return true;
}

static void dispatch(struct fl_parser *p, char *line)
{
    while (*line == ' ' || *line == '\t')
        line++;
    if (*line == '\0' || *line == '#')
        return;
    if (*line == '<' && !split_block_line(p, line))
        return;

    struct fl_args a;
    if (!tokenize(p, line, &a) || a.n == 0)
        return;

    const char *name = a.v[0].text;
    const struct fl_directive *d = directive_find(p, name, &p->part);
    if (d == NULL) {
        const char *hint = directive_suggest(p, name);
        if (hint != NULL)
            fl_perr(p, "unknown directive '%s' (did you mean '%s'?)", FL_SHOWN(name),
                    hint);
        else
            fl_perr(p, "unknown directive '%s'", FL_SHOWN(name));
        return;
    }
    if (d->where == FL_TOP && p->open_class != NULL) {
        fl_perr(p, "%s is not allowed inside <Class %s> (opened at line %d)", d->name,
                p->open_class->name, p->open_class->line);
        return;
    }
    if (d->where == FL_IN_CLASS && p->open_class == NULL) {
        if (d->handler == h_class_close)
            h_class_close(p, &a, d);
        else
            fl_perr(p, "%s is only allowed inside <Class>", d->name);
        return;
    }
    d->handler(p, &a, d);
}

static bool file_in_stack(struct fl_parser *p, const char *real)
{
    for (int i = 0; i < p->depth; i++) {
        if (strcmp(p->stack[i], real) == 0)
            return true;
    }
    return false;
}

static void parse_stream(struct fl_parser *p, FILE *f)
{
    char *buf = NULL;
    size_t cap = 0;
    char *logical = NULL; /* a line continued with a trailing backslash */
    size_t logical_len = 0;
    int lineno = 0, first_line = 0;
    ssize_t n;

    while ((n = getline(&buf, &cap, f)) >= 0) {
        lineno++;
        if (logical == NULL)
            first_line = lineno;
        p->line = first_line;

        if (memchr(buf, '\0', (size_t)n) != NULL) {
            p->line = lineno;
            fl_perr(p, "line contains a NUL byte (is this a text file?)");
            fl_free(logical);
            logical = NULL;
            logical_len = 0;
            continue;
        }
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
            buf[--n] = '\0';
        bool more = n > 0 && buf[n - 1] == '\\';
        if (more)
            buf[n - 1] = ' '; /* the space between the lines it joins */

        if (logical_len + (size_t)n > LINE_MAX_BYTES) {
            fl_perr(p, "line longer than %d bytes", LINE_MAX_BYTES);
            fl_free(logical);
            logical = NULL;
            logical_len = 0;
            continue;
        }
        char *joined = fl_realloc(logical, logical_len + (size_t)n + 1);
        if (joined == NULL) {
            fl_parser_oom(p);
            break;
        }
        memcpy(joined + logical_len, buf, (size_t)n + 1);
        logical = joined;
        logical_len += (size_t)n;
        if (more)
            continue;

        dispatch(p, logical);
        fl_free(logical);
        logical = NULL;
        logical_len = 0;
    }
    if (logical != NULL) {
        dispatch(p, logical);
        fl_free(logical);
    }
    free(buf);
}

static void parse_file(struct fl_parser *p, const char *path, const char *as_written)
{
    const char *outer_file = p->file;
    int outer_line = p->line;

    char real[PATH_MAX];
    if (realpath(path, real) == NULL) {
        if (p->depth == 0)
            fl_perr(p, "cannot read policy '%s': %s", FL_SHOWN(path), strerror(errno));
        else
            fl_perr(p, "Include: cannot read '%s': %s", FL_SHOWN(as_written),
                    strerror(errno));
        return;
    }
    if (file_in_stack(p, real)) {
        fl_perr(p, "Include: '%s' includes itself", FL_SHOWN(as_written));
        return;
    }
    if (p->depth == INCLUDE_DEPTH_MAX) {
        fl_perr(p, "Include: files nested more than %d deep", INCLUDE_DEPTH_MAX);
        return;
    }
    /* Only a regular file: a FIFO or a device would block the reader, or
     * never end. */
    struct stat st;
    FILE *f = NULL;
    const char *why = NULL;
    if (stat(real, &st) == 0 && !S_ISREG(st.st_mode))
        why = S_ISDIR(st.st_mode) ? strerror(EISDIR) : "not a regular file";
    else if ((f = fopen(real, "r")) == NULL)
        why = strerror(errno);
    if (f == NULL) {
        if (p->depth == 0)
            fl_perr(p, "cannot read policy '%s': %s", FL_SHOWN(path), why);
        else
            fl_perr(p, "Include: cannot read '%s': %s", FL_SHOWN(as_written), why);
        return;
    }

    char *frame = fl_strdup(real);
    if (frame == NULL) {
        fclose(f);
        fl_parser_oom(p);
        return;
    }
    p->stack[p->depth++] = frame;
    p->file = path;
    p->line = 0;

    parse_stream(p, f);
    fclose(f);

    if (p->open_class != NULL && p->depth == 1) {
        p->line = p->open_class->line;
        p->file = p->open_class->file;
        fl_perr(p, "<Class %s> is not closed", p->open_class->name);
        p->open_class = NULL;
    }

    fl_free(p->stack[--p->depth]);
    p->file = outer_file;
    p->line = outer_line;
}

/* Attach each MaxClientsPerClass to its class; report unknown classes. */
static void resolve_class_refs(struct fl_parser *p)
{
    for (size_t i = 0; i < p->nrefs; i++) {
        struct class_ref *r = &p->refs[i];
        fl_class_def *c = NULL;
        for (size_t j = 0; j < p->pol->nclasses; j++) {
            if (strcmp(p->pol->classes[j].name, r->class_name) == 0)
                c = &p->pol->classes[j];
        }
        if (c == NULL) {
            p->file = r->file;
            p->line = r->line;
            fl_perr(p, "%s: unknown class '%s' (define it with <Class %s>)",
                    r->directive, FL_SHOWN(r->class_name), FL_SHOWN(r->class_name));
            continue;
        }
        if (!r->sets_limit)
            continue;
        fl_free(c->limit.message);
        c->limit = r->limit;
        r->limit.message = NULL;
    }
}

/* Geographic items and MaxClientsPerCountry need a database. */
static void check_geo_uses(struct fl_parser *p)
{
    if (p->pol->ngeodbs > 0)
        return;
    for (size_t i = 0; i < p->pol->nclasses; i++) {
        const fl_class_def *c = &p->pol->classes[i];
        if (c->geo_line == 0)
            continue;
        p->file = c->file;
        p->line = c->geo_line;
        fl_perr(p,
                "<Class %s> uses geographic items but no GeoIPDatabase is configured",
                c->name);
    }
    if (p->country_limit_file != NULL && p->pol->per_country.max != FL_UNLIMITED) {
        p->file = p->country_limit_file;
        p->line = p->country_limit_line;
        fl_perr(p, "MaxClientsPerCountry needs a GeoIPDatabase");
    }
}

static void parser_free_refs(struct fl_parser *p)
{
    for (size_t i = 0; i < p->nrefs; i++) {
        fl_free(p->refs[i].class_name);
        fl_free(p->refs[i].file);
        fl_free(p->refs[i].limit.message);
    }
    fl_free(p->refs);
}

fl_policy *fl_policy_parse(const char *path, const struct fl_policy_part *const *parts,
                           size_t nparts, void (*err)(void *, const char *), void *arg,
                           const fl_policy *previous)
{
    struct fl_parser p = {
        .previous = previous, .err = err, .err_arg = arg, .file = path, .line = 0};

    p.pol = fl_policy_new(parts, nparts);
    if (p.pol == NULL) {
        fl_parser_oom(&p);
        return NULL;
    }
    p.pol->path = fl_strdup(path);
    if (p.pol->path == NULL)
        fl_parser_oom(&p);
    else
        parse_file(&p, path, path);

    p.file = path;
    resolve_class_refs(&p);
    check_geo_uses(&p);
    parser_free_refs(&p);
    fl_free(p.country_limit_file);

    if (p.errors > 0) {
        fl_policy_free(p.pol);
        errno = EINVAL;
        return NULL;
    }
    return p.pol;
}
