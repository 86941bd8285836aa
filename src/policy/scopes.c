/*
 * scopes.c - the scope blocks of a policy, with ProFTPD's syntax and
 * meaning: <VirtualHost ADDR[:PORT]...> (a server of its own), <Global>
 * (every server, the main one included, unless it sets the directive
 * itself) and <Anonymous DIR> (the anonymous logins of one server that
 * land in the block, by its User and UserAlias names).
 *
 * Directives are read into the scope they are written in; once the whole
 * policy is read, fl_scopes_finish() gives each scope what it inherits, as
 * ProFTPD does when it merges <Global> into every server and a server's
 * directives down into its <Anonymous> blocks.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/parser.h"
#include "util/addr.h"
#include "util/alloc.h"

#define DEFAULT_PORT 21 /* ProFTPD's, for a <VirtualHost> without Port */
#define NAME_MAX_BYTES 1024

static bool block_args(struct fl_parser *p, const struct fl_args *a, const char *usage)
{
    if (a->n < 2) {
        fl_perr(p, "<VirtualHost>: expected %s", usage);
        return false;
    }
    return true;
}

static bool at_top(struct fl_parser *p, const char *what)
{
    int line;
    const char *open = fl_parser_block(p, &line);
    if (open == NULL && p->open_class == NULL)
        return true;
    if (p->open_class != NULL)
        fl_perr(p, "%s is not allowed inside <Class %s> (opened at line %d)", what,
                p->open_class->name, p->open_class->line);
    else
        fl_perr(p, "%s is not allowed inside %s (opened at line %d)", what, open, line);
    return false;
}

static bool closes(struct fl_parser *p, const struct fl_args *a, const char *block,
                   bool open)
{
    if (a->n != 1) {
        fl_perr(p, "</%s> takes no arguments", block);
        return false;
    }
    if (!open) {
        fl_perr(p, "</%s> without a matching <%s>", block, block);
        return false;
    }
    return true;
}

static bool limit_inherit(fl_limits *dst, const fl_limits *src, enum fl_limit_id id);

/* Take scope idx out of the policy: the scopes after it move down one. */
static void scope_remove(struct fl_parser *p, size_t idx)
{
    fl_policy *pol = p->pol;
    fl_scope_clear(&pol->scopes[idx], pol->nclasses);
    memmove(&pol->scopes[idx], &pol->scopes[idx + 1],
            (pol->nscopes - idx - 1) * sizeof *pol->scopes);
    pol->nscopes--;
    for (size_t i = 0; i < pol->nscopes; i++) {
        fl_scope *sc = &pol->scopes[i];
        if (sc->kind == FL_SCOPE_SERVER)
            sc->server = i;
        else if (sc->server > idx)
            sc->server--;
    }
    for (size_t i = 0; i < p->nrefs; i++) {
        if (p->refs[i].scope > idx)
            p->refs[i].scope--;
    }
}

/* A <VirtualHost> with the addresses of an earlier one continues it (a
 * policy included in a <VirtualHost> of ProFTPD's, whose limits
 * mod_ftplimit writes, may name its server again): what it sets goes to
 * the earlier one, and the same limit set in two files is an error naming
 * both, as within one block. */
static void vhost_continue(struct fl_parser *p, size_t idx)
{
    fl_policy *pol = p->pol;
    size_t into = 0;
    for (size_t i = 1; i < idx && into == 0; i++) {
        if (pol->scopes[i].kind == FL_SCOPE_SERVER && pol->scopes[i].name != NULL &&
            pol->scopes[idx].name != NULL &&
            strcmp(pol->scopes[i].name, pol->scopes[idx].name) == 0)
            into = i;
    }
    if (into == 0)
        return;
    fl_scope *from = &pol->scopes[idx], *to = &pol->scopes[into];
    for (size_t id = 0; id < FL_L_COUNT; id++) {
        if (!(from->set >> id & 1))
            continue;
        const char *file = p->file;
        int line = p->line;
        p->file = from->set_file[id] != NULL ? from->set_file[id] : file;
        bool twice =
            (to->set >> id & 1) && fl_parser_proftpd_twice(p, to->set_file[id]);
        p->file = file;
        if (twice) {
            p->file = from->set_file[id];
            p->line = from->set_line[id];
            fl_perr(p,
                    "%s is set for <VirtualHost %s> at %s:%d too: set each limit of a "
                    "scope in one place",
                    fl_limit_descs[id].directive, to->name, to->set_file[id],
                    to->set_line[id]);
            p->file = file;
            p->line = line;
            continue;
        }
        if (!limit_inherit(&to->lim, &from->lim, (enum fl_limit_id)id)) {
            fl_parser_oom(p);
            return;
        }
        to->set |= 1u << id;
        fl_free(to->set_file[id]);
        to->set_file[id] = from->set_file[id];
        to->set_line[id] = from->set_line[id];
        from->set_file[id] = NULL;
    }
    if (from->own_reject.set) {
        fl_anon_reject_clear(&to->own_reject);
        to->own_reject = from->own_reject;
        memset(&from->own_reject, 0, sizeof from->own_reject);
    }
    for (size_t i = 0; i < p->nrefs; i++) {
        if (!p->refs[i].global && p->refs[i].scope == idx)
            p->refs[i].scope = into;
    }
    /* Its <IfUser>/<IfClass> blocks come after the earlier block's. */
    if (from->nconds > 0) {
        fl_cond *grown =
            fl_realloc(to->conds, (to->nconds + from->nconds) * sizeof *grown);
        if (grown == NULL) {
            fl_parser_oom(p);
            return;
        }
        memcpy(grown + to->nconds, from->conds, from->nconds * sizeof *grown);
        to->conds = grown;
        to->nconds += from->nconds;
        fl_free(from->conds);
        from->conds = NULL;
        from->nconds = 0;
    }
    for (size_t i = idx + 1; i < pol->nscopes; i++) {
        if (pol->scopes[i].kind == FL_SCOPE_ANON && pol->scopes[i].server == idx)
            pol->scopes[i].server = into;
    }
    scope_remove(p, idx);
}

static const char *cond_block(enum fl_cond_kind kind)
{
    return fl_cond_block(kind);
}

/* <VirtualHost ADDR[:PORT] ...> */
void fl_scope_vhost_open(struct fl_parser *p, const struct fl_args *a,
                         const struct fl_directive *d)
{
    (void)d;
    if (!at_top(p, "<VirtualHost>") || !block_args(p, a, "an address, ADDR[:PORT]"))
        return;
    fl_bind *binds = fl_calloc((size_t)a->n - 1, sizeof *binds);
    if (binds == NULL) {
        fl_parser_oom(p);
        return;
    }
    size_t n = 0;
    for (int i = 1; i < a->n; i++) {
        const char *text = a->v[i].text;
        fl_bind b = {.port = 0};
        /* ADDR, [ADDR], ADDR:PORT or [ADDR]:PORT; a bare IPv6 address has
         * colons of its own. */
        if (fl_endpoint_parse(text, &b) == 0) {
        } else if (fl_addr_parse(text, &b.addr) == 0) {
            b.port = 0;
        } else {
            char inner[FL_ADDR_TEXT_MAX + 2];
            size_t len = strlen(text);
            if (text[0] == '[' && len > 2 && len - 2 < sizeof inner &&
                text[len - 1] == ']') {
                memcpy(inner, text + 1, len - 2);
                inner[len - 2] = '\0';
            } else {
                inner[0] = '\0';
            }
            if (inner[0] == '\0' || fl_addr_parse(inner, &b.addr) < 0) {
                fl_perr(
                    p,
                    "<VirtualHost>: '%s' is not an IP address with an optional port "
                    "(ADDR, ADDR:PORT or [IPV6]:PORT; the engine resolves no names)",
                    FL_SHOWN(text));
                fl_free(binds);
                return;
            }
        }
        binds[n++] = b;
    }
    fl_scope *sc = fl_policy_add_scope(p->pol, FL_SCOPE_SERVER, 0);
    char *file = fl_strdup(p->file);
    if (sc == NULL || file == NULL) {
        fl_free(binds);
        fl_free(file);
        fl_parser_oom(p);
        return;
    }
    sc->binds = binds;
    sc->nbinds = n;
    sc->file = file;
    sc->line = p->line;
    p->vhost = p->scope = p->pol->nscopes - 1;
    p->vhost_port = -1;
}

/* A <VirtualHost>'s name: its binds, once Port gave those without one
 * their port. */
static void vhost_name(struct fl_parser *p, fl_scope *sc)
{
    char name[NAME_MAX_BYTES];
    size_t o = 0;
    for (size_t i = 0; i < sc->nbinds; i++) {
        if (sc->binds[i].port == 0)
            sc->binds[i].port =
                (uint16_t)(p->vhost_port > 0 ? p->vhost_port : DEFAULT_PORT);
        char b[FL_ADDR_TEXT_MAX + 10];
        fl_endpoint_format(&sc->binds[i], b, sizeof b);
        o += (size_t)snprintf(name + o, o < sizeof name ? sizeof name - o : 0, "%s%s",
                              i > 0 ? " " : "", b);
        if (o >= sizeof name)
            o = sizeof name - 1;
    }
    if ((sc->name = fl_strdup(name)) == NULL)
        fl_parser_oom(p);
}

void fl_scope_vhost_close(struct fl_parser *p, const struct fl_args *a,
                          const struct fl_directive *d)
{
    (void)d;
    if (!closes(p, a, "VirtualHost", p->vhost != 0))
        return;
    const fl_cond *cond = fl_parser_cond(p);
    if (cond != NULL) {
        fl_perr(p,
                "</VirtualHost> before </%s>: <%s %s> opened at line %d is not closed",
                cond_block(cond->kind), cond_block(cond->kind), cond->text, cond->line);
        p->cond = 0;
    }
    if (p->anon != 0) {
        fl_perr(p,
                "</VirtualHost> before </Anonymous>: <Anonymous %s> opened at "
                "line %d is not closed",
                p->pol->scopes[p->anon].dir, p->pol->scopes[p->anon].line);
        p->anon = 0;
    }
    vhost_name(p, &p->pol->scopes[p->vhost]);
    vhost_continue(p, p->vhost);
    p->vhost = p->scope = 0;
}

/* Port N, inside <VirtualHost>: the port of its addresses that name none. */
void fl_scope_port(struct fl_parser *p, const struct fl_args *a,
                   const struct fl_directive *d)
{
    long long port;
    if (fl_check_argc(p, d, a, 1, 1, "port") &&
        fl_parse_count(p, d, &a->v[1], 1, 65535, false, &port))
        p->vhost_port = port;
}

void fl_scope_global_open(struct fl_parser *p, const struct fl_args *a,
                          const struct fl_directive *d)
{
    (void)d;
    if (!at_top(p, "<Global>"))
        return;
    if (a->n != 1) {
        fl_perr(p, "<Global> takes no arguments");
        return;
    }
    p->in_global = true;
    p->global_line = p->line;
    p->global_file = p->file;
}

void fl_scope_global_close(struct fl_parser *p, const struct fl_args *a,
                           const struct fl_directive *d)
{
    (void)d;
    if (closes(p, a, "Global", p->in_global))
        p->in_global = false;
}

/* <Anonymous DIR>, at the top (the main server's) or in <VirtualHost>. */
void fl_scope_anon_open(struct fl_parser *p, const struct fl_args *a,
                        const struct fl_directive *d)
{
    (void)d;
    if (p->anon != 0 || p->in_global || p->cond != 0 || p->open_class != NULL) {
        int line;
        const char *open = fl_parser_block(p, &line);
        if (p->open_class != NULL)
            fl_perr(p,
                    "<Anonymous> is not allowed inside <Class %s> (opened at line %d)",
                    p->open_class->name, p->open_class->line);
        else
            fl_perr(p, "<Anonymous> is not allowed inside %s (opened at line %d)", open,
                    line);
        return;
    }
    if (a->n != 2) {
        fl_perr(p, "<Anonymous>: expected one directory, <Anonymous DIR>");
        return;
    }
    size_t server = p->vhost;
    fl_scope *sc = fl_policy_add_scope(p->pol, FL_SCOPE_ANON, server);
    if (sc == NULL || (sc->dir = fl_strdup(a->v[1].text)) == NULL ||
        (sc->file = fl_strdup(p->file)) == NULL) {
        fl_parser_oom(p);
        return;
    }
    sc->line = p->line;
    p->anon = p->scope = p->pol->nscopes - 1;
}

void fl_scope_anon_close(struct fl_parser *p, const struct fl_args *a,
                         const struct fl_directive *d)
{
    (void)d;
    if (!closes(p, a, "Anonymous", p->anon != 0))
        return;
    fl_scope *sc = &p->pol->scopes[p->anon];
    if (sc->account == NULL) {
        int line = p->line;
        p->line = sc->line;
        fl_perr(p,
                "<Anonymous %s> has no User: name the account its logins count under",
                sc->dir);
        p->line = line;
    }
    p->anon = 0;
    p->scope = p->vhost;
}

static bool set_name(struct fl_parser *p, char **slot, const char *name)
{
    if (name[0] == '\0' || strlen(name) > FL_USER_MAX) {
        fl_perr(p, "expected a user name of 1 to %d bytes", FL_USER_MAX);
        return false;
    }
    if ((*slot = fl_strdup(name)) == NULL) {
        fl_parser_oom(p);
        return false;
    }
    return true;
}

/* User NAME, inside <Anonymous>: the account its logins count under. */
void fl_scope_user(struct fl_parser *p, const struct fl_args *a,
                   const struct fl_directive *d)
{
    if (!fl_check_argc(p, d, a, 1, 1, "account"))
        return;
    fl_scope *sc = &p->pol->scopes[p->anon];
    fl_free(sc->account);
    sc->account = NULL;
    set_name(p, &sc->account, a->v[1].text);
}

/* UserAlias ALIAS ACCOUNT, inside <Anonymous>: USER ALIAS lands in the
 * block, as USER ACCOUNT does. */
void fl_scope_user_alias(struct fl_parser *p, const struct fl_args *a,
                         const struct fl_directive *d)
{
    if (!fl_check_argc(p, d, a, 2, 2, "alias account"))
        return;
    fl_scope *sc = &p->pol->scopes[p->anon];
    char **grown = fl_realloc(sc->aliases, (sc->naliases + 1) * sizeof *grown);
    if (grown == NULL) {
        fl_parser_oom(p);
        return;
    }
    sc->aliases = grown;
    if (set_name(p, &sc->aliases[sc->naliases], a->v[1].text))
        sc->naliases++;
}

/* ProFTPDLimits on, at the top of the file mod_ftplimit writes from
 * proftpd.conf: its limits are ProFTPD's, and a policy may not set one of
 * them again for the same scope. */
void fl_scope_proftpd_limits(struct fl_parser *p, const struct fl_args *a,
                             const struct fl_directive *d)
{
    bool on;
    if (!fl_check_argc(p, d, a, 1, 1, "on|off") || !fl_parse_bool(p, d, &a->v[1], &on))
        return;
    fl_free(p->proftpd_file);
    p->proftpd_file = NULL;
    if (on && (p->proftpd_file = fl_strdup(p->file)) == NULL)
        fl_parser_oom(p);
}

/* --- <IfUser> and <IfClass> ---------------------------------------------------- */

/* Its items: every word, split at commas, as ProFTPD's expressions are. */
static bool cond_items(struct fl_parser *p, fl_cond *c, const struct fl_args *a,
                       int from)
{
    for (int i = from; i < a->n; i++) {
        char *text = a->v[i].text, *item;
        while ((item = strsep(&text, ",")) != NULL) {
            if (*item == '\0' || (item[0] == '!' && item[1] == '\0'))
                continue;
            char **grown = fl_realloc(c->items, (c->nitems + 1) * sizeof *grown);
            if (grown == NULL) {
                fl_parser_oom(p);
                return false;
            }
            c->items = grown;
            if ((grown[c->nitems] = fl_strdup(item)) == NULL) {
                fl_parser_oom(p);
                return false;
            }
            c->nitems++;
        }
    }
    if (c->nitems == 0) {
        fl_perr(p, "<%s>: expected names (AND|OR name,...) or regex PATTERN",
                cond_block(c->kind));
        return false;
    }
    return true;
}

/* <IfUser [AND|OR] name...|regex PATTERN>, <IfClass ...>, <IfGroup ...>,
 * <IfAuthenticated>: in a server (the top, or a <VirtualHost>), as
 * mod_ifsession takes them. */
void fl_scope_cond_open(struct fl_parser *p, const struct fl_args *a,
                        const struct fl_directive *d)
{
    enum fl_cond_kind kind = (enum fl_cond_kind)d->offset;
    int line;
    const char *open = fl_parser_block(p, &line);
    if (p->cond != 0 || p->anon != 0 || p->in_global || p->open_class != NULL) {
        if (p->open_class != NULL)
            fl_perr(p, "<%s> is not allowed inside <Class %s> (opened at line %d)",
                    cond_block(kind), p->open_class->name, p->open_class->line);
        else
            fl_perr(p, "<%s> is not allowed inside %s (opened at line %d)",
                    cond_block(kind), open, line);
        return;
    }
    if (kind == FL_COND_AUTHN ? a->n != 1 : a->n < 2) {
        fl_perr(p,
                kind == FL_COND_AUTHN
                    ? "<%s> takes no parameters"
                    : "<%s>: expected names (AND|OR name,...) or regex PATTERN",
                cond_block(kind));
        return;
    }
    fl_scope *srv = &p->pol->scopes[p->scope];
    fl_cond *grown = fl_realloc(srv->conds, (srv->nconds + 1) * sizeof *grown);
    if (grown == NULL) {
        fl_parser_oom(p);
        return;
    }
    srv->conds = grown;
    fl_cond *c = &srv->conds[srv->nconds];
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->line = p->line;
    /* The expression as written, for `ftplimit check`. */
    char text[1024] = "";
    size_t o = 0;
    for (int i = 1; i < a->n && o < sizeof text; i++)
        o += (size_t)snprintf(text + o, sizeof text - o, "%s%s", i > 1 ? " " : "",
                              a->v[i].text);
    c->text = fl_strdup(text);
    c->file = fl_strdup(p->file);
    c->sc = fl_calloc(1, sizeof *c->sc);
    if (c->text == NULL || c->file == NULL || c->sc == NULL) {
        fl_cond_clear(c, p->pol->nclasses);
        fl_parser_oom(p);
        return;
    }
    c->sc->kind = FL_SCOPE_SERVER;
    fl_limits_init(&c->sc->lim);
    bool ok;
    if (kind == FL_COND_AUTHN) {
        ok = true; /* every login */
    } else if (strcmp(a->v[1].text, "regex") == 0 && !a->v[1].quoted) {
        char why[256] = "expected one pattern";
        if (a->n != 3 ||
            fl_regex_compile(&c->re, a->v[2].text, false, why, sizeof why) < 0) {
            fl_perr(p, "<%s regex>: %s", cond_block(kind), why);
            ok = false;
        } else {
            c->is_regex = ok = true;
        }
    } else {
        int from = 1;
        /* mod_ifsession's default is OR for users and classes, AND for
         * groups. */
        c->all = kind == FL_COND_GROUP;
        if (a->n > 2 &&
            (strcmp(a->v[1].text, "AND") == 0 || strcmp(a->v[1].text, "OR") == 0)) {
            c->all = strcmp(a->v[1].text, "AND") == 0;
            from = 2;
        }
        ok = cond_items(p, c, a, from);
    }
    if (!ok) {
        fl_cond_clear(c, p->pol->nclasses);
        return;
    }
    srv->nconds++;
    p->cond = srv->nconds;
}

void fl_scope_cond_close(struct fl_parser *p, const struct fl_args *a,
                         const struct fl_directive *d)
{
    enum fl_cond_kind kind = (enum fl_cond_kind)d->offset;
    const fl_cond *c = fl_parser_cond(p);
    if (!closes(p, a, cond_block(kind), c != NULL && c->kind == kind))
        return;
    p->cond = 0;
}

/* --- inheritance ------------------------------------------------------------ */

static bool limit_copy(fl_limit_cfg *dst, const fl_limit_cfg *src)
{
    char *message = src->message != NULL ? fl_strdup(src->message) : NULL;
    if (src->message != NULL && message == NULL)
        return false;
    fl_free(dst->message);
    dst->max = src->max;
    dst->message = message;
    return true;
}

/* Limit id of src into dst (not classes, not AnonRejectPasswords). */
static bool limit_inherit(fl_limits *dst, const fl_limits *src, enum fl_limit_id id)
{
    size_t off = fl_limit_offsets[id];
    void *d = (char *)dst + off;
    const void *s = (const char *)src + off;
    switch (fl_limit_descs[id].syntax) {
    case FL_SYN_LIMIT:
    case FL_SYN_NETWORK:
    case FL_SYN_COUNTRY:
        return limit_copy(d, s);
    case FL_SYN_RATE: {
        fl_rate_cfg *dr = d;
        const fl_rate_cfg *sr = s;
        char *message = sr->message != NULL ? fl_strdup(sr->message) : NULL;
        if (sr->message != NULL && message == NULL)
            return false;
        fl_free(dr->message);
        *dr = *sr;
        dr->message = message;
        return true;
    }
    case FL_SYN_ATTEMPTS:
        *(long long *)d = *(const long long *)s;
        return true;
    default:
        return true;
    }
}

/* Every limit of src that dst does not set itself (its set bits). */
static bool limits_inherit(fl_limits *dst, uint32_t set, const fl_limits *src,
                           uint32_t src_set, enum fl_limit_scope at_least)
{
    for (size_t id = 0; id < FL_L_COUNT; id++) {
        const struct fl_limit_desc *ld = &fl_limit_descs[id];
        if (ld->scope == FL_SC_DAEMON || ld->scope < at_least || (set >> id & 1) ||
            !(src_set >> id & 1) || ld->syntax == FL_SYN_CLASS ||
            ld->syntax == FL_SYN_ANON_REJECT)
            continue;
        if (!limit_inherit(dst, src, (enum fl_limit_id)id))
            return false;
    }
    return true;
}

#define ALL_SET 0xffffffffu

/* MaxClientsPerClass: <Global>'s for every server, then each server's own. */
static bool class_limits(struct fl_parser *p)
{
    fl_policy *pol = p->pol;
    if (pol->nclasses == 0)
        return true;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < p->nrefs; i++) {
            struct class_ref *r = &p->refs[i];
            const fl_class_def *c = fl_policy_class(pol, r->class_name);
            if (!r->sets_limit || c == NULL || r->global != (pass == 0))
                continue;
            if (r->cond != NULL) {
                /* An <IfUser>/<IfClass> block's: for the classes it names. */
                fl_limits *l = &r->cond->lim;
                if (l->class_limits == NULL) {
                    l->class_limits = fl_calloc(pol->nclasses, sizeof *l->class_limits);
                    if (l->class_limits == NULL)
                        return false;
                    for (size_t k = 0; k < pol->nclasses; k++)
                        l->class_limits[k].max = FL_LIMIT_UNSET;
                }
                if (!limit_copy(&l->class_limits[c - pol->classes], &r->limit))
                    return false;
                continue;
            }
            for (size_t s = 0; s < pol->nscopes; s++) {
                fl_scope *sc = &pol->scopes[s];
                if (sc->kind != FL_SCOPE_SERVER || (!r->global && s != r->scope))
                    continue;
                if (sc->lim.class_limits == NULL) {
                    sc->lim.class_limits =
                        fl_calloc(pol->nclasses, sizeof *sc->lim.class_limits);
                    if (sc->lim.class_limits == NULL)
                        return false;
                    for (size_t k = 0; k < pol->nclasses; k++)
                        sc->lim.class_limits[k].max = FL_UNLIMITED;
                }
                if (!limit_copy(&sc->lim.class_limits[c - pol->classes], &r->limit))
                    return false;
            }
        }
    }
    return true;
}

static void report_open(struct fl_parser *p, const char *file, int line,
                        const char *what)
{
    p->file = file;
    p->line = line;
    fl_perr(p, "%s is not closed", what);
}

void fl_scopes_finish(struct fl_parser *p)
{
    fl_policy *pol = p->pol;
    const char *file = p->file;
    const fl_cond *cond = fl_parser_cond(p);
    if (cond != NULL) {
        char what[NAME_MAX_BYTES];
        snprintf(what, sizeof what, "<%s %s>", cond_block(cond->kind), cond->text);
        report_open(p, cond->file, cond->line, what);
        p->cond = 0;
    }
    if (p->anon != 0) {
        const fl_scope *a = &pol->scopes[p->anon];
        char what[NAME_MAX_BYTES];
        snprintf(what, sizeof what, "<Anonymous %s>", a->dir);
        report_open(p, a->file, a->line, what);
    }
    if (p->vhost != 0) {
        const fl_scope *v = &pol->scopes[p->vhost];
        report_open(p, v->file, v->line, "<VirtualHost>");
        vhost_name(p, &pol->scopes[p->vhost]);
    }
    if (p->in_global)
        report_open(p, p->global_file, p->global_line, "<Global>");
    p->file = file;
    p->line = 0;
    p->anon = p->vhost = p->scope = 0;
    p->in_global = false;

    /* Servers: what they set, then <Global>'s. An <Anonymous> block: what
     * it sets, then its server's, whatever the server got it from. */
    bool ok = true;
    for (size_t s = 0; s < pol->nscopes && ok; s++) {
        fl_scope *sc = &pol->scopes[s];
        if (sc->kind != FL_SCOPE_SERVER)
            continue;
        ok = limits_inherit(&sc->lim, sc->set, &p->global.lim, p->global.set,
                            FL_SC_SERVER);
        if (sc->own_reject.set)
            sc->lim.anon_reject = &sc->own_reject;
        else if (p->global.own_reject.set)
            sc->lim.anon_reject = &pol->global_reject;
    }
    if (p->global.own_reject.set) {
        pol->global_reject = p->global.own_reject;
        memset(&p->global.own_reject, 0, sizeof p->global.own_reject);
    }
    ok = ok && class_limits(p);
    for (size_t s = 0; s < pol->nscopes && ok; s++) {
        fl_scope *sc = &pol->scopes[s];
        if (sc->kind != FL_SCOPE_ANON)
            continue;
        fl_scope *srv = &pol->scopes[sc->server];
        ok = limits_inherit(&sc->lim, sc->set, &srv->lim, ALL_SET, FL_SC_SERVER);
        sc->lim.class_limits = srv->lim.class_limits;
        sc->lim.anon_reject =
            sc->own_reject.set ? &sc->own_reject : srv->lim.anon_reject;
        size_t *grown = fl_realloc(srv->anons, (srv->nanons + 1) * sizeof *grown);
        if (grown == NULL) {
            ok = false;
            break;
        }
        srv->anons = grown;
        srv->anons[srv->nanons++] = s;
        /* Its name, and no second block with its account in one server. */
        char name[NAME_MAX_BYTES];
        snprintf(name, sizeof name, "%s <Anonymous %s>", srv->name, sc->dir);
        if ((sc->name = fl_strdup(name)) == NULL) {
            ok = false;
            break;
        }
        for (size_t j = 0; sc->account != NULL && j + 1 < srv->nanons; j++) {
            const fl_scope *other = &pol->scopes[srv->anons[j]];
            if (other->account != NULL && strcmp(other->account, sc->account) == 0) {
                p->file = sc->file;
                p->line = sc->line;
                fl_perr(p,
                        "<Anonymous %s>: User %s already has <Anonymous %s> at %s:%d "
                        "in the same server",
                        sc->dir, FL_SHOWN(sc->account), other->dir, other->file,
                        other->line);
            }
        }
    }
    if (!ok) {
        fl_parser_oom(p);
        return;
    }

    size_t a, b;
    fl_bind dup;
    if (fl_policy_index_binds(pol, &a, &b, &dup) < 0) {
        if (errno != EEXIST) {
            fl_parser_oom(p);
            return;
        }
        char text[FL_ADDR_TEXT_MAX + 10];
        fl_endpoint_format(&dup, text, sizeof text);
        const fl_scope *first = &pol->scopes[a < b ? a : b];
        const fl_scope *second = &pol->scopes[a < b ? b : a];
        p->file = second->file;
        p->line = second->line;
        fl_perr(p, "<VirtualHost>: %s is already a server's at %s:%d", text,
                first->file, first->line);
    }
    p->file = file;
    p->line = 0;
}
