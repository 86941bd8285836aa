/*
 * config.c - the limits an administrator wrote in proftpd.conf, enforced by
 * ftplimit: read while ProFTPD parses its configuration, written out as the
 * policy of the module's own ftplimitd, then taken out of mod_auth's and
 * the core's view.
 *
 * Reading. ProFTPD hands a directive to every module whose table names it
 * (src/parser.c), so this module names the limit directives ProFTPD has
 * (catalog/limits.def, those with a ProFTPD role) and notes each one as
 * written -- its words and its line -- in the context it was written in,
 * then declines it: mod_auth and mod_core still check its syntax and its
 * context exactly as ProFTPD always does, and fail the start on a mistake.
 * ProFTPD then merges <Global> into every server, as it does its own
 * directives; the notes are not merged down into <Anonymous> blocks: the
 * policy's blocks inherit from their server as mod_auth's do.
 *
 * Writing. At core.postparse every server the engine serves becomes a
 * scope of the policy: the main server at its top, each <VirtualHost> a
 * <VirtualHost> block with its addresses and its Port (what a session
 * reports: the address it connected to and its server's port), each
 * <Anonymous> block with its User and the UserAlias names that reach it.
 * ProFTPD's classes become <Class> blocks; FtpLimitPolicy files are
 * included where they were given, so ftplimit's own directives (GeoIP,
 * bans, listeners) come with them, and a limit set for one scope both
 * here and there is an error naming both places.
 *
 * Taking over. Once the policy is checked, the limits leave the servers'
 * configurations (mod_auth no longer scans the scoreboard for them, nor
 * refuses anything twice) and MaxInstances and MaxConnectionRate leave the
 * master's variables.
 */
#include "mod_ftplimit.h"
#include "privs.h"

#include "catalog/limits.h"

#include <sys/stat.h>

#define NOTE "FtpLimit:directive" /* argv: directive, line, its words... */
#define POLICY_NAME "ftplimit-proftpd.conf"

extern xaset_t *server_list;              /* ProFTPD's, not in its headers */
extern unsigned long max_connects;        /* MaxConnectionRate, src/main.c */
extern unsigned int max_connect_interval; /* its interval */

/* --- reading ------------------------------------------------------------------- */

bool config_takes(const char *directive)
{
    enum fl_limit_id id = fl_limit_by_directive(directive);
    return id < FL_L_COUNT && fl_limit_descs[id].proftpd != FL_PR_NONE;
}

modret_t *ftplimit_note_limit(cmd_rec *cmd)
{
    if (!config_takes(cmd->argv[0]))
        return PR_DECLINED(cmd);
    config_rec *c = add_config_param(NOTE, 0);
    c->argc = cmd->argc + 1;
    c->argv = pcalloc(c->pool, (c->argc + 1) * sizeof *c->argv);
    c->argv[0] = pstrdup(c->pool, cmd->argv[0]);
    char line[16];
    snprintf(line, sizeof line, "%u", pr_parser_get_lineno());
    c->argv[1] = pstrdup(c->pool, line);
    for (unsigned i = 1; i < cmd->argc; i++)
        c->argv[i + 1] = pstrdup(c->pool, cmd->argv[i]);
    return PR_DECLINED(cmd); /* mod_auth's, or mod_core's, to check and keep */
}

/* --- writing ---------------------------------------------------------------------- */

/* Where each line of the policy comes from, for the errors ftplimitd -t
 * reports about it: "line N of the ProFTPD configuration (SCOPE)". */
struct origin {
    unsigned line; /* of the policy */
    const char *text;
};

static struct {
    pool *pool;
    const char *path; /* the policy written, or NULL */
    array_header *origins;
    array_header *lines; /* the policy's text, a line each */
} gen;

static void emit(const char *origin, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void emit(const char *origin, const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    *(const char **)push_array(gen.lines) = pstrdup(gen.pool, buf);
    if (origin != NULL) {
        struct origin *o = push_array(gen.origins);
        o->line = (unsigned)gen.lines->nelts;
        o->text = origin;
    }
}

/* A word as the policy reads it back: quoted, with \" and \\, unless it is
 * plain. */
static const char *word(const char *w)
{
    if (*w != '\0' && strpbrk(w, " \t\"\\#") == NULL)
        return w;
    size_t n = strlen(w);
    char *q = pcalloc(gen.pool, 2 * n + 3), *o = q;
    *o++ = '"';
    for (; *w != '\0'; w++) {
        if (*w == '"' || *w == '\\')
            *o++ = '\\';
        *o++ = *w;
    }
    *o = '"';
    return q;
}

/* "N" and its scope, for a note's origin. */
static const char *origin_of(const config_rec *note, const char *scope)
{
    return pstrcat(gen.pool, "line ", (const char *)note->argv[1],
                   " of the ProFTPD configuration (", scope, ")", NULL);
}

static bool noted(xaset_t *set, const char *directive)
{
    for (config_rec *c = find_config(set, CONF_PARAM, NOTE, FALSE); c != NULL;
         c = find_config_next(c, c->next, CONF_PARAM, NOTE, FALSE))
        if (strcmp(c->argv[0], directive) == 0)
            return true;
    return false;
}

/* A limit mod_auth holds in c (its config_rec), as the policy writes it:
 * "none" for 0, and its message. */
static void emit_from_mod_auth(const config_rec *c, enum fl_limit_id id,
                               const char *scope, const char *indent)
{
    bool per_class = fl_limit_descs[id].syntax == FL_SYN_CLASS;
    unsigned first = per_class ? 1 : 0; /* MaxClientsPerClass: the class first */
    unsigned max = *(const unsigned int *)c->argv[first];
    char number[16];
    snprintf(number, sizeof number, "%u", max);
    char *text = pstrcat(gen.pool, indent, fl_limit_descs[id].directive, NULL);
    if (per_class)
        text = pstrcat(gen.pool, text, " ", word(c->argv[0]), NULL);
    text = pstrcat(gen.pool, text, " ", max == 0 ? "none" : number, NULL);
    if (c->argc > first + 1 && c->argv[first + 1] != NULL)
        text = pstrcat(gen.pool, text, " ", word(c->argv[first + 1]), NULL);
    emit(pstrcat(gen.pool, "the ProFTPD configuration (", scope,
                 ", read before LoadModule mod_ftplimit.c)", NULL),
         "%s", text);
}

/* The limits of set (not of its sub-contexts), a policy line each: as
 * noted where they were written; a limit read before this module was
 * loaded (a directive above `LoadModule mod_ftplimit.c`) has no note, and
 * is taken from mod_auth's own record of it -- except AnonRejectPasswords,
 * whose [NC] is not in it: that one stays mod_auth's, and a warning says
 * so. server_set: for an <Anonymous> block's set, its server's. */
/* The limits mod_ifsession's <IfUser> and <IfClass> blocks carry into the
 * policy: those checked after a login. */
static bool post_login(enum fl_limit_id id)
{
    return id == FL_L_PER_CLASS || id == FL_L_PER_HOST || id == FL_L_PER_USER ||
           id == FL_L_CLIENTS || id == FL_L_HOSTS_PER_USER;
}

/* A limit of a conditional block ftplimit does not carry: mod_auth's. */
static void left_to_mod_auth(const char *scope, const char *directive,
                             const char *block)
{
    pr_log_pri(PR_LOG_WARNING,
               MOD_FTPLIMIT_VERSION ": %s: %s in %s is left to ProFTPD's mod_auth: "
                                    "ftplimit carries only the limits checked after a "
                                    "login in <IfUser>, <IfGroup>, <IfClass> and "
                                    "<IfAuthenticated> blocks",
               scope, directive, block);
}

static void emit_limits(xaset_t *set, xaset_t *server_set, const char *scope,
                        const char *indent, const char *block)
{
    for (config_rec *c = find_config(set, CONF_PARAM, NOTE, FALSE); c != NULL;
         c = find_config_next(c, c->next, CONF_PARAM, NOTE, FALSE)) {
        if (block != NULL && !post_login(fl_limit_by_directive(c->argv[0]))) {
            left_to_mod_auth(scope, c->argv[0], block);
            continue;
        }
        char *text = pstrcat(gen.pool, indent, (const char *)c->argv[0], NULL);
        for (unsigned i = 2; i < c->argc; i++)
            text = pstrcat(gen.pool, text, " ", word(c->argv[i]), NULL);
        emit(origin_of(c, scope), "%s", text);
    }
    for (size_t id = 0; id < FL_L_COUNT; id++) {
        const struct fl_limit_desc *l = &fl_limit_descs[id];
        if ((l->proftpd != FL_PR_COUNTED && l->proftpd != FL_PR_ATTEMPTS &&
             l->proftpd != FL_PR_CHECKED) ||
            noted(set, l->directive))
            continue;
        /* An <Anonymous> block holds mod_auth's copies of its server's
         * limits (ProFTPD merges them down): the policy's block inherits
         * those from its server. */
        if (server_set != NULL && noted(server_set, l->directive))
            continue;
        for (config_rec *c = find_config(set, CONF_PARAM, l->directive, FALSE);
             c != NULL;
             c = find_config_next(c, c->next, CONF_PARAM, l->directive, FALSE)) {
            if (block != NULL && !post_login((enum fl_limit_id)id)) {
                left_to_mod_auth(scope, l->directive, block);
                break;
            }
            if (l->proftpd == FL_PR_CHECKED) {
                pr_log_pri(PR_LOG_WARNING,
                           MOD_FTPLIMIT_VERSION ": %s: %s was read before LoadModule "
                                                "mod_ftplimit.c: it stays mod_auth's; "
                                                "load the module first",
                           scope, l->directive);
                break;
            }
            emit_from_mod_auth(c, (enum fl_limit_id)id, scope, indent);
        }
    }
}

/* "ADDR:PORT" of a server's address string, IPv6 in brackets. */
static const char *bind_text(const char *ip, unsigned port)
{
    char buf[128];
    snprintf(buf, sizeof buf, strchr(ip, ':') != NULL ? "[%s]:%u" : "%s:%u", ip, port);
    return pstrdup(gen.pool, buf);
}

/* A <VirtualHost>'s addresses: its own, and the others it binds. */
static const char *vhost_binds(server_rec *s)
{
    const char *binds = bind_text(pr_netaddr_get_ipstr(s->addr), s->ServerPort);
    for (config_rec *c = find_config(s->conf, CONF_PARAM, "_bind_", FALSE); c != NULL;
         c = find_config_next(c, c->next, CONF_PARAM, "_bind_", FALSE)) {
        const char *b = bind_text(c->argv[0], s->ServerPort);
        if (strcmp(b, binds) != 0)
            binds = pstrcat(gen.pool, binds, " ", b, NULL);
    }
    return binds;
}

/* The server's <Anonymous> blocks, each with what reaches it. */
static void emit_anonymous(server_rec *s, const char *scope, const char *indent)
{
    for (config_rec *a = s->conf != NULL ? (config_rec *)s->conf->xas_list : NULL;
         a != NULL; a = a->next) {
        if (a->config_type != CONF_ANON)
            continue;
        const char *user = get_param_ptr(a->subset, "UserName", FALSE); /* User */
        const char *block =
            pstrcat(gen.pool, scope, " <Anonymous ", a->name, ">", NULL);
        if (user == NULL) {
            pr_log_pri(PR_LOG_NOTICE,
                       MOD_FTPLIMIT_VERSION ": %s has no User: no login lands in it, "
                                            "and ftplimit gives it no limits",
                       block);
            continue;
        }
        emit(block, "%s<Anonymous %s>", indent, word(a->name));
        emit(block, "%s  User %s", indent, word(user));
        /* UserAlias names merged down into the block that name its User. */
        for (config_rec *c = find_config(a->subset, CONF_PARAM, "UserAlias", FALSE);
             c != NULL;
             c = find_config_next(c, c->next, CONF_PARAM, "UserAlias", FALSE))
            if (strcmp(c->argv[1], user) == 0 && strcmp(c->argv[0], user) != 0 &&
                strcmp(c->argv[0], "*") != 0)
                emit(block, "%s  UserAlias %s %s", indent, word(c->argv[0]),
                     word(user));
        emit_limits(a->subset, s->conf, block, pstrcat(gen.pool, indent, "  ", NULL),
                    NULL);
        emit(block, "%s</Anonymous>", indent);
    }
}

/* ProFTPD's classes, in the order it matches them. */
static void emit_classes(void)
{
    for (const pr_class_t *cls = pr_class_get(NULL); cls != NULL;
         cls = pr_class_get(cls)) {
        const char *where = pstrcat(gen.pool, "<Class ", cls->cls_name, ">", NULL);
        emit(where, "<Class %s>", word(cls->cls_name));
        pr_netacl_t **acls = cls->cls_acls != NULL ? cls->cls_acls->elts : NULL;
        /* The list ends at a NULL too (pr_class_close()). */
        for (unsigned i = 0;
             acls != NULL && i < cls->cls_acls->nelts && acls[i] != NULL; i++) {
            const char *item =
                pr_netacl_get_str2(gen.pool, acls[i], PR_NETACL_FL_STR_NO_DESC);
            if (*item == '!')
                item++;
            emit(where, "  From %s%s", pr_netacl_get_negated(acls[i]) ? "!" : "",
                 word(item));
        }
        if (cls->cls_satisfy == PR_CLASS_SATISFY_ALL)
            emit(where, "  Satisfy all");
        emit(where, "</Class>");
    }
}

/* A server's own FtpLimitPolicy: one set in its <VirtualHost>, not the main
 * server's (nor <Global>'s copy of it). */
static const char *own_policy(server_rec *s, const struct settings *main_s)
{
    const char *policy = get_param_ptr(s->conf, "FtpLimitPolicy", FALSE);
    if (policy == NULL ||
        (main_s->policy != NULL && strcmp(policy, main_s->policy) == 0))
        return NULL;
    return policy;
}

/* mod_ifsession's blocks of a server become the policy's, with the limits
 * checked after a login (the sessions send their users' groups for
 * <IfGroup>); the others stay ProFTPD's, and a warning says so. */
static const char *const cond_lists[][2] = {
    {"<IfUser>", "_IfUserList"},
    {"<IfClass>", "_IfClassList"},
    {"<IfGroup>", "_IfGroupList"},
    {"<IfAuthenticated>", "_IfAuthenticatedList"},
};

static const char *cond_list(const config_rec *c)
{
    for (size_t i = 0; i < sizeof cond_lists / sizeof cond_lists[0]; i++)
        if (strcmp(c->name, cond_lists[i][0]) == 0)
            return cond_lists[i][1];
    return NULL;
}

static void emit_conditional(server_rec *s, const char *scope, const char *indent)
{
    for (config_rec *c = s->conf != NULL ? (config_rec *)s->conf->xas_list : NULL;
         c != NULL; c = c->next) {
        if (c->name == NULL || strncmp(c->name, "<If", 3) != 0 || c->subset == NULL)
            continue;
        const char *list = cond_list(c);
        const config_rec *expr =
            list != NULL ? find_config(c->subset, -1, list, FALSE) : NULL;
        if (expr == NULL || expr->argc < 1) {
            config_rec *note = find_config(c->subset, CONF_PARAM, NOTE, TRUE);
            if (note != NULL)
                left_to_mod_auth(scope, note->argv[0], c->name);
            continue;
        }
        /* "<IfUser>" and its expression as written: "<IfUser AND a,!b>";
         * <IfAuthenticated> has none. */
        const char *text = expr->argv[0] != NULL ? expr->argv[0] : "";
        char *open = pstrcat(gen.pool, pstrndup(gen.pool, c->name, strlen(c->name) - 1),
                             *text != '\0' ? " " : "", text, ">", NULL);
        emit(pstrcat(gen.pool, scope, " ", open, NULL), "%s%s", indent, open);
        emit_limits(c->subset, NULL, scope, pstrcat(gen.pool, indent, "  ", NULL),
                    open);
        emit(NULL, "%s</%s", indent, c->name + 1);
    }
}

/* MaxInstances and MaxConnectionRate read before this module was loaded
 * (Debian's proftpd.conf sets MaxInstances 30 above the conf.d files):
 * not noted, but in the master's variables, which config_take_over()
 * empties -- so they go into the policy from there. */
static void emit_master_limits(xaset_t *set)
{
    const char *origin = "the ProFTPD configuration (main server, read before "
                         "LoadModule mod_ftplimit.c)";
    if (ServerMaxInstances > 0 &&
        !noted(set, fl_limit_descs[FL_L_MAX_INSTANCES].directive))
        emit(origin, "%s %lu", fl_limit_descs[FL_L_MAX_INSTANCES].directive,
             ServerMaxInstances);
    if (max_connects > 0 && !noted(set, fl_limit_descs[FL_L_RATE].directive))
        emit(origin, "%s %lu %u", fl_limit_descs[FL_L_RATE].directive, max_connects,
             max_connect_interval);
}

/* The policy's lines: the daemon's and the main server's, then each
 * <VirtualHost>. */
static void generate(const struct settings *main_s)
{
    server_rec *main_srv = (server_rec *)server_list->xas_list;
    emit(NULL, "# Written by " MOD_FTPLIMIT_VERSION " from the limits of the ProFTPD");
    emit(NULL, "# configuration, at each start and restart: do not edit it, edit");
    emit(NULL, "# proftpd.conf (or the FtpLimitPolicy files it includes).");
    emit(NULL, "ProFTPDLimits on");
    emit_classes();
    for (server_rec *s = main_srv; s != NULL; s = s->next) {
        struct settings st;
        settings_read(s, &st);
        bool is_main = s == main_srv;
        if (!st.engine && !is_main)
            continue; /* FtpLimitEngine off: mod_auth's */
        if (!is_main && s->ServerPort == 0)
            continue; /* Port 0: ProFTPD serves no one there */
        const char *scope =
            is_main ? "main server"
                    : pstrcat(gen.pool, "<VirtualHost ", vhost_binds(s), ">", NULL);
        const char *indent = is_main ? "" : "  ";
        if (!is_main)
            emit(scope, "%s", scope);
        if (st.engine)
            emit_limits(s->conf, NULL, scope, indent, NULL);
        if (is_main)
            emit_master_limits(s->conf);
        if (st.engine) {
            emit_anonymous(s, scope, indent);
            emit_conditional(s, scope, indent);
        }
        const char *policy = is_main ? main_s->policy : own_policy(s, main_s);
        if (policy != NULL && st.engine)
            emit(NULL, "%sInclude %s", indent, word(policy));
        if (!is_main)
            emit(scope, "</VirtualHost>");
    }
}

const char *config_policy_path(pool *p)
{
    return pstrcat(p, run_dir(p), "/" POLICY_NAME, NULL);
}

/* Write the lines to path: a new file beside it, renamed over it, so that
 * a daemon reloading never reads half of one. As root: the master runs as
 * ProFTPD's User by the time a restart rewrites it. */
static const char *write_lines(pool *p, const char *path)
{
    const char *tmp = pstrcat(p, path, ".new", NULL);
    const char *failed = NULL;
    int err = 0;
    PRIVS_ROOT(void) unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
        failed = tmp;
        err = errno;
    } else {
        bool ok = fchmod(fd, 0644) == 0; /* whatever the umask: ftplimitd reads it */
        for (unsigned i = 0; ok && i < gen.lines->nelts; i++) {
            const char *line = ((const char **)gen.lines->elts)[i];
            size_t n = strlen(line);
            ok = write(fd, line, n) == (ssize_t)n && write(fd, "\n", 1) == 1;
        }
        ok = ok && fsync(fd) == 0;
        err = errno;
        ok = close(fd) == 0 && ok;
        if (ok && rename(tmp, path) < 0) {
            ok = false;
            err = errno;
        }
        if (!ok) {
            failed = path;
            (void)unlink(tmp);
        }
    }
    PRIVS_RELINQUISH
    return failed != NULL
               ? pstrcat(p, "cannot write ", failed, ": ", strerror(err), NULL)
               : NULL;
}

const char *config_write_policy(pool *p, const struct settings *main_s,
                                const char **why)
{
    if (gen.pool != NULL)
        destroy_pool(gen.pool);
    gen.pool = make_sub_pool(permanent_pool);
    gen.origins = make_array(gen.pool, 16, sizeof(struct origin));
    gen.lines = make_array(gen.pool, 64, sizeof(const char *));
    gen.path = config_policy_path(gen.pool);
    generate(main_s);
    *why = write_lines(gen.pool, gen.path);
    if (*why != NULL) {
        *why = pstrdup(p, *why);
        gen.path = NULL;
        return NULL;
    }
    return pstrdup(p, gen.path);
}

const char *config_explain(pool *p, const char *text)
{
    if (gen.path == NULL)
        return text;
    size_t plen = strlen(gen.path);
    const char *out = "";
    const char *at;
    while ((at = strstr(text, gen.path)) != NULL && at[plen] == ':') {
        char *end;
        unsigned long line = strtoul(at + plen + 1, &end, 10);
        const char *origin = NULL;
        struct origin *o = gen.origins->elts;
        for (unsigned i = 0; i < gen.origins->nelts; i++)
            if (o[i].line == line)
                origin = o[i].text;
        out = pstrcat(p, out, pstrndup(p, text, (size_t)(at - text)),
                      origin != NULL ? origin : pstrndup(p, at, (size_t)(end - at)),
                      NULL);
        text = end;
    }
    return pstrcat(p, out, text, NULL);
}

/* --- taking over -------------------------------------------------------------------
 */

static void take_over(xaset_t *set, const struct fl_limit_desc *l)
{
    if (l->proftpd != FL_PR_CHECKED || noted(set, l->directive))
        (void)remove_config(set, l->directive, FALSE);
}

/* A mod_ifsession block the engine took every directive of: nothing is
 * left in it but its expression and our notes. */
static bool cond_emptied(const config_rec *block)
{
    const char *list = cond_list(block);
    for (const config_rec *c = (const config_rec *)block->subset->xas_list; c != NULL;
         c = c->next) {
        if (c->name == NULL ||
            (strcmp(c->name, list) != 0 && strcmp(c->name, NOTE) != 0))
            return false;
    }
    return true;
}

/* Take out of a server the mod_ifsession blocks the engine emptied: there
 * is nothing for mod_ifsession to merge from them at each login (and in
 * ProFTPD 1.3.8 its <IfGroup> evaluation reads a session.group that
 * mod_auth_file has freed). */
static void drop_emptied_blocks(server_rec *s)
{
    config_rec *next;
    for (config_rec *a = s->conf != NULL ? (config_rec *)s->conf->xas_list : NULL;
         a != NULL; a = next) {
        next = a->next;
        if (a->name != NULL && cond_list(a) != NULL && a->subset != NULL &&
            cond_emptied(a))
            (void)xaset_remove(s->conf, (xasetmember_t *)a);
    }
}

void config_take_over(void)
{
    for (server_rec *s = (server_rec *)server_list->xas_list; s != NULL; s = s->next) {
        struct settings st;
        settings_read(s, &st);
        if (!st.engine)
            continue;
        for (size_t i = 0; i < FL_L_COUNT; i++) {
            const struct fl_limit_desc *l = &fl_limit_descs[i];
            if (l->proftpd != FL_PR_COUNTED && l->proftpd != FL_PR_CHECKED &&
                l->proftpd != FL_PR_ATTEMPTS)
                continue;
            /* The server's own, and its <Anonymous> blocks': not those of
             * mod_ifsession's blocks, which the policy does not carry, nor
             * an AnonRejectPasswords it could not read (emit_limits). */
            take_over(s->conf, l);
            for (config_rec *a = s->conf != NULL ? (config_rec *)s->conf->xas_list
                                                 : NULL;
                 a != NULL; a = a->next) {
                if (a->config_type == CONF_ANON)
                    take_over(a->subset, l);
                else if (a->name != NULL && cond_list(a) != NULL && a->subset != NULL &&
                         post_login((enum fl_limit_id)i))
                    take_over(a->subset, l);
            }
        }
        drop_emptied_blocks(s);
        /* mod_auth enforces MaxLoginAttempts 3 when none is set (mod_sftp
         * 6): "none" leaves each failure to the engine. */
        config_rec *c = add_config_param_set(
            &s->conf, fl_limit_descs[FL_L_LOGIN_ATTEMPTS].directive, 1, NULL);
        c->argv[0] = pcalloc(c->pool, sizeof(unsigned int));
    }
    ServerMaxInstances = 0;
    max_connects = 0;
    max_connect_interval = 1;
}
