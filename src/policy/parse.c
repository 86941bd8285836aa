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
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/text.h"
#include "policy/directive.h"
#include "policy/parser.h"
#include "policy/types.h"

/* ------------------------------------------------------------------------- */
/* Errors                                                                    */
/* ------------------------------------------------------------------------- */

/* Messages are held until the policy is read, then reported in the order
 * of their lines, file by file (in the order each file first had one):
 * checks made after the reading (a class named before its <Class>, say)
 * find their place among the others. One that cannot be held (no memory)
 * is reported at once. */
struct fl_pmsg {
    unsigned file; /* index in p->msg_files */
    int line;
    size_t seq;
    char *text;
};

static void hold(struct fl_parser *p, const char *raw)
{
    if (p->err == NULL)
        return;
    /* A message may quote the policy's own bytes (a name, a path, a block's
     * argument): every control byte in it is written \xNN, whatever
     * directive made it, so that no message breaks a log line. */
    char msg[4 * 1024];
    size_t o = 0;
    for (const unsigned char *s = (const unsigned char *)raw;
         *s != '\0' && o + 5 < sizeof msg; s++) {
        if (*s < 0x20 || *s == 0x7f)
            o += (size_t)snprintf(msg + o, sizeof msg - o, "\\x%02x", *s);
        else
            msg[o++] = (char)*s;
    }
    msg[o] = '\0';
    unsigned file = 0;
    while (file < p->nmsg_files && strcmp(p->msg_files[file], p->file) != 0)
        file++;
    if (file == p->nmsg_files) {
        const char **files =
            fl_realloc(p->msg_files, (p->nmsg_files + 1) * sizeof *files);
        char *name = files != NULL ? fl_strdup(p->file) : NULL;
        if (files != NULL)
            p->msg_files = files;
        if (name == NULL) {
            p->err(p->err_arg, msg);
            return;
        }
        files[p->nmsg_files++] = name;
    }
    if (p->nmsgs == p->capmsgs) {
        size_t cap = p->capmsgs != 0 ? 2 * p->capmsgs : 16;
        struct fl_pmsg *m = fl_realloc(p->msgs, cap * sizeof *m);
        if (m == NULL) {
            p->err(p->err_arg, msg);
            return;
        }
        p->msgs = m;
        p->capmsgs = cap;
    }
    char *text = fl_strdup(msg);
    if (text == NULL) {
        p->err(p->err_arg, msg);
        return;
    }
    p->msgs[p->nmsgs] = (struct fl_pmsg){file, p->line, p->nmsgs, text};
    p->nmsgs++;
}

static int msg_order(const void *a, const void *b)
{
    const struct fl_pmsg *x = a, *y = b;
    if (x->file != y->file)
        return x->file < y->file ? -1 : 1;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Report what was held, in order, and forget it. */
static void report_held(struct fl_parser *p)
{
    if (p->nmsgs > 1)
        qsort(p->msgs, p->nmsgs, sizeof *p->msgs, msg_order);
    for (size_t i = 0; i < p->nmsgs; i++) {
        p->err(p->err_arg, p->msgs[i].text);
        fl_free(p->msgs[i].text);
    }
    if (p->errors >= POLICY_ERRORS_MAX && p->err != NULL) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s: %d errors: the rest of the policy is not read",
                 p->pol != NULL && p->pol->path != NULL ? p->pol->path : p->file,
                 POLICY_ERRORS_MAX);
        p->err(p->err_arg, msg);
    }
    for (size_t i = 0; i < p->nmsg_files; i++)
        fl_free((char *)p->msg_files[i]);
    fl_free(p->msgs);
    fl_free(p->msg_files);
    p->msgs = NULL;
    p->msg_files = NULL;
    p->nmsgs = p->capmsgs = p->nmsg_files = 0;
}

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
    if (++p->errors > POLICY_ERRORS_MAX)
        return; /* counted, not reported */
    hold(p, msg);
    if (p->errors == POLICY_ERRORS_MAX)
        p->stop = true;
}

/* A message that is not an error: the policy still loads. */
void fl_pnotice(struct fl_parser *p, const char *fmt, ...)
{
    char msg[1024];
    int off = snprintf(msg, sizeof msg, "%s:%d: notice: ", p->file, p->line);
    if (off < 0 || (size_t)off >= sizeof msg)
        off = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + off, sizeof msg - (size_t)off, fmt, ap);
    va_end(ap);
    hold(p, msg);
}

void fl_parser_oom(struct fl_parser *p)
{
    fl_perr(p, "out of memory");
}

/* ------------------------------------------------------------------------- */
/* Values                                                                    */
/* ------------------------------------------------------------------------- */

bool fl_is_none(const struct fl_arg *a)
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
    if (allow_none && fl_is_none(a)) {
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
bool fl_parse_interval(struct fl_parser *p, const struct fl_directive *d,
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

bool fl_parse_bool(struct fl_parser *p, const struct fl_directive *d,
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

bool fl_set_message(struct fl_parser *p, char **slot, const struct fl_arg *a)
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
/* Services to every part's directives                                       */
/* ------------------------------------------------------------------------- */

/* Remember a class named at this line, to resolve once every class is
 * known (a class may be defined after it is named). NULL on failure. */
struct class_ref *fl_parser_class_ref(struct fl_parser *p, const char *name,
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
    r->scope = p->scope;
    r->global = p->in_global;
    r->cond = p->cond != 0 ? fl_parser_scope(p) : NULL;
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

void fl_parser_check_write(struct fl_parser *p, const char *what, const char *path,
                           bool replaced)
{
    if (!p->check_writes)
        return;
    bool exists = faccessat(AT_FDCWD, path, F_OK, AT_EACCESS) == 0;
    if (exists && faccessat(AT_FDCWD, path, R_OK | W_OK, AT_EACCESS) < 0) {
        fl_perr(p, "%s: %s cannot be read and written by uid %d: %s", what, path,
                (int)geteuid(), strerror(errno));
        return;
    }
    if (exists && !replaced)
        return;
    /* A new file is made in its directory; a replaced one, renamed there. */
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        snprintf(dir, sizeof dir, ".");
    else
        snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path),
                 path);
    if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) < 0)
        fl_perr(p, "%s: the directory %s %s by uid %d, which writes %s", what, dir,
                errno == ENOENT ? "does not exist: it cannot be written"
                                : "cannot be written",
                (int)geteuid(), path);
}

fl_cond *fl_parser_cond(struct fl_parser *p)
{
    if (p->cond == 0)
        return NULL;
    return &p->pol->scopes[p->scope].conds[p->cond - 1];
}

fl_scope *fl_parser_scope(struct fl_parser *p)
{
    if (p->cond != 0)
        return fl_parser_cond(p)->sc;
    return p->in_global ? &p->global : &p->pol->scopes[p->scope];
}

const char *fl_parser_block(struct fl_parser *p, int *line)
{
    const fl_cond *cond = fl_parser_cond(p);
    if (cond != NULL) {
        *line = cond->line;
        snprintf(p->block_text, sizeof p->block_text, "<%s%s%s>",
                 fl_cond_block(cond->kind), cond->text[0] != '\0' ? " " : "",
                 cond->text);
        return p->block_text;
    }
    if (p->anon != 0) {
        const fl_scope *a = &p->pol->scopes[p->anon];
        *line = a->line;
        snprintf(p->block_text, sizeof p->block_text, "<Anonymous %s>", a->dir);
        return p->block_text;
    }
    if (p->vhost != 0) {
        *line = p->pol->scopes[p->vhost].line;
        return "<VirtualHost>";
    }
    if (p->in_global) {
        *line = p->global_line;
        return "<Global>";
    }
    return NULL;
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
    (void)fl_parser_class_ref(p, name, directive, NULL);
}

/* --- paths ---------------------------------------------------------------- */

/* path as written in the policy: relative to the file that names it. */
void fl_resolve_path(const struct fl_parser *p, const char *path, char *out,
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
    fl_resolve_path(p, text, path, sizeof path);
    char *copy = fl_strdup(path);
    if (copy == NULL)
        fl_parser_oom(p);
    return copy;
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

    for (size_t i = 0; i < g.gl_pathc && !p->stop; i++) {
        const char *path = g.gl_pathv[i];
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            if (magic)
                continue; /* a glob includes files, not directories */
            char pattern[PATH_MAX];
            snprintf(pattern, sizeof pattern, "%s/*", path);
            glob_t dg;
            if (glob(pattern, 0, NULL, &dg) == 0) {
                for (size_t j = 0; j < dg.gl_pathc && !p->stop; j++) {
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

/* The reader's own directive; every other is a part's (the parser's own
 * limits, classes, GeoIP and access are policy/directives.c's part). */
static const struct fl_directive reading_directives[] = {
    {"Include", FL_ANYWHERE, h_include, 0},
};
#define NOWN 1

/* Table t of the policy's: the parser's own, then each part's. */
static size_t ntables(const struct fl_parser *p)
{
    return NOWN + p->pol->nparts;
}

static const struct fl_directive *table_of(const struct fl_parser *p, size_t t,
                                           size_t *n)
{
    if (t < NOWN) {
        *n = sizeof reading_directives / sizeof reading_directives[0];
        return reading_directives;
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

/* The defined class closest to name, if it is close enough to be a typo. */
static const char *class_suggest(const struct fl_parser *p, const char *name)
{
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    for (size_t i = 0; i < p->pol->nclasses; i++) {
        size_t dist = edit_distance(name, p->pol->classes[i].name);
        if (dist < best_d) {
            best_d = dist;
            best = p->pol->classes[i].name;
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

/* Inside <IfUser>/<IfClass>/<IfGroup>/<IfAuthenticated>: the limits checked
 * after a login (what mod_ifsession merges at a login), and the lines that
 * close or include. */
static bool cond_takes(const struct fl_directive *d)
{
    enum fl_limit_id id = fl_limit_by_directive(d->name);
    switch (id) {
    case FL_L_PER_CLASS:
    case FL_L_PER_HOST:
    case FL_L_PER_NETWORK:
    case FL_L_PER_COUNTRY:
    case FL_L_PER_USER:
    case FL_L_CLIENTS:
    case FL_L_HOSTS_PER_USER:
        return true;
    default:
        return strncmp(d->name, "</If", 4) == 0 || strcmp(d->name, "Include") == 0;
    }
}

/* Whether d may be read where the parser is; if not, says so. */
static bool where_allowed(struct fl_parser *p, const struct fl_directive *d)
{
    int line;
    const char *block = fl_parser_block(p, &line);
    char name[64]; /* "<Class>" for the row "<Class" */
    snprintf(name, sizeof name, "%s%s", d->name, d->name[0] == '<' ? ">" : "");
    if (d->where == FL_IN_CLASS) {
        if (p->open_class != NULL)
            return true;
        if (strcmp(d->name, "</Class") == 0)
            return true; /* its handler says which <Class> is not open */
        fl_perr(p, "%s is only allowed inside <Class>", name);
        return false;
    }
    if (d->where == FL_ANYWHERE)
        return true;
    if (p->open_class != NULL) {
        fl_perr(p, "%s is not allowed inside <Class %s> (opened at line %d)", name,
                p->open_class->name, p->open_class->line);
        return false;
    }
    if (p->cond != 0 && !cond_takes(d)) {
        fl_perr(p,
                "%s is not allowed inside %s (opened at line %d): a block that "
                "depends on the user or the class takes the limits checked after a "
                "login (MaxClients, MaxClientsPerHost, MaxClientsPerUser, "
                "MaxHostsPerUser, MaxClientsPerClass, MaxClientsPerNetwork, "
                "MaxClientsPerCountry)",
                name, block, line);
        return false;
    }
    switch (d->where) {
    case FL_TOP:
        if (block == NULL)
            return true;
        fl_perr(p,
                "%s is not allowed inside %s (opened at line %d): it is the whole "
                "daemon's; set it at the top of the policy",
                name, block, line);
        return false;
    case FL_SERVER:
        if (p->anon == 0)
            return true;
        fl_perr(p,
                "%s is not allowed inside %s (opened at line %d): it is the server's; "
                "set it in its <VirtualHost> or at the top",
                name, block, line);
        return false;
    case FL_IN_VHOST:
        if (p->vhost != 0 && p->anon == 0)
            return true;
        fl_perr(p, "%s is only allowed inside <VirtualHost>", name);
        return false;
    case FL_IN_ANON:
        if (p->anon != 0)
            return true;
        fl_perr(p, "%s is only allowed inside <Anonymous>", name);
        return false;
    default:
        return true;
    }
}

/* Whether a scope's limit set at set_file may be set again here: a later
 * line overrides an earlier one, across Includes too, except where one of
 * the two is ProFTPD's (the file that says `ProFTPDLimits on`, which
 * mod_ftplimit writes from proftpd.conf): a limit written both in
 * proftpd.conf and in a policy for one scope is an error naming both
 * places. */
bool fl_parser_proftpd_twice(const struct fl_parser *p, const char *set_file)
{
    return p->proftpd_file != NULL && set_file != NULL &&
           strcmp(set_file, p->file) != 0 &&
           (strcmp(set_file, p->proftpd_file) == 0 ||
            strcmp(p->file, p->proftpd_file) == 0);
}

static bool set_once(struct fl_parser *p, fl_scope *sc, enum fl_limit_id id)
{
    if (fl_limit_descs[id].syntax == FL_SYN_CLASS)
        return true;
    if ((sc->set >> id & 1) && fl_parser_proftpd_twice(p, sc->set_file[id])) {
        int line;
        const char *block = fl_parser_block(p, &line);
        fl_perr(p,
                "%s is set for %s at %s:%d too: set each limit of a scope in one place",
                fl_limit_descs[id].directive, block != NULL ? block : "the main server",
                sc->set_file[id], sc->set_line[id]);
        return false;
    }
    char *file = fl_strdup(p->file);
    if (file == NULL) {
        fl_parser_oom(p);
        return false;
    }
    fl_free(sc->set_file[id]);
    sc->set_file[id] = file;
    sc->set_line[id] = p->line;
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
    if (!where_allowed(p, d))
        return;
    enum fl_limit_id id = fl_limit_by_directive(d->name);
    bool scoped = id < FL_L_COUNT && d->where != FL_TOP;
    if (scoped && !set_once(p, fl_parser_scope(p), id))
        return;
    int errors = p->errors;
    d->handler(p, &a, d);
    /* A limit a scope sets itself: it inherits it no more. */
    if (p->errors == errors && scoped)
        fl_parser_scope(p)->set |= 1u << id;
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

    while (!p->stop && (n = getline(&buf, &cap, f)) >= 0) {
        lineno++;
        if ((p->bytes += n) > POLICY_BYTES_MAX) {
            p->line = lineno;
            fl_perr(p, "more than %ld bytes in one policy, Includes and all",
                    POLICY_BYTES_MAX);
            p->stop = true;
            break;
        }
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
    if (logical != NULL && !p->stop)
        dispatch(p, logical);
    fl_free(logical);
    free(buf);
}

static void parse_file(struct fl_parser *p, const char *path, const char *as_written)
{
    const char *outer_file = p->file;
    int outer_line = p->line;
    if (p->stop)
        return;
    if (++p->files > POLICY_FILES_MAX) {
        fl_perr(p, "Include: more than %d files in one policy", POLICY_FILES_MAX);
        p->stop = true;
        return;
    }

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
            const char *hint = class_suggest(p, r->class_name);
            if (hint != NULL)
                fl_perr(p, "%s: unknown class '%s' (did you mean '%s'?)", r->directive,
                        FL_SHOWN(r->class_name), hint);
            else
                fl_perr(p, "%s: unknown class '%s' (define it with <Class %s>)",
                        r->directive, FL_SHOWN(r->class_name), FL_SHOWN(r->class_name));
            continue;
        }
    }
}

/* Geographic items and MaxClientsPerCountry need a database. */
static void check_geo_uses(struct fl_parser *p)
{
    if (p->pol->ngeodbs > 0 || p->geodb_failed)
        return; /* a database that failed is the one error to fix */
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
    if (p->country_limit_file != NULL) {
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
                           const fl_policy *previous, bool check_writes)
{
    struct fl_parser p = {.previous = previous,
                          .err = err,
                          .err_arg = arg,
                          .file = path,
                          .line = 0,
                          .check_writes = check_writes};
    fl_limits_init(&p.global.lim);

    p.pol = fl_policy_new(parts, nparts);
    if (p.pol == NULL) {
        fl_parser_oom(&p);
        report_held(&p);
        return NULL;
    }
    p.pol->path = fl_strdup(path);
    if (p.pol->path == NULL)
        fl_parser_oom(&p);
    else
        parse_file(&p, path, path);

    p.file = path;
    for (size_t i = 0; i < p.pol->nparts; i++) {
        p.part = i; /* fl_parser_conf() gives the part's settings */
        if (p.pol->parts[i].part->finish != NULL)
            p.pol->parts[i].part->finish(&p);
    }
    p.part = p.pol->nparts;
    resolve_class_refs(&p);
    check_geo_uses(&p);
    report_held(&p);
    parser_free_refs(&p);
    fl_free(p.country_limit_file);
    fl_scope_clear(&p.global, 0);
    fl_free(p.proftpd_file);

    if (p.errors > 0) {
        fl_policy_free(p.pol);
        errno = EINVAL;
        return NULL;
    }
    return p.pol;
}
