/*
 * session.c - mod_ftplimit in a session process: the engine's decisions on
 * the connection and on every login, carried out as ProFTPD's mod_auth and
 * mod_sftp carry out theirs.
 *
 * The connection: CONNECT goes out in sess_init, its answer is read at
 * core.connected, just before the banner; a refusal ends the session at
 * once (421, or for SSH the text as a line before mod_sftp's version
 * string).
 *
 * A PASS (mod_sftp dispatches one for each SSH authentication attempt):
 * - PRE_CMD: whom the USER name is, as mod_auth will resolve it -- an
 *   <Anonymous> block's account or a real one; an anonymous password goes
 *   to the engine now, since mod_auth applies AnonRejectPasswords before it
 *   checks the password, and a rejected one is a failed attempt;
 * - mod_auth.authentication-code (ProFTPD checked the password, and sets
 *   the session up): the login goes to the engine, its answer read at
 *   POST_CMD, before the 230; an SSH login is decided right there, before
 *   mod_sftp tells the client it succeeded;
 * - POST_CMD_ERR: a failed attempt, toward MaxLoginAttempts.
 * A refusal goes as mod_auth's: the 530 (or mod_sftp's DISCONNECT) first,
 * then the events, and the end of the session only once the command's
 * LOG_CMD_ERR handlers (ExtendedLog, mod_sql) have had it.
 *
 * Every event the engine reports for the session is generated again on
 * ProFTPD's bus with mod_auth's event_data, so that mod_ban and other
 * listeners react to ftplimit as to mod_auth.
 *
 * A session the daemon does not hold (its connection closed, its request
 * timed out, FtpLimitFailMode open let it in) declares itself when the
 * master passes on the helper's SIGUSR2, or at its next PASS, with the
 * token it worked out before its process became its user.
 */
#include "mod_ftplimit.h"

#include <dlfcn.h>
#include <poll.h>
#include <sys/socket.h>

#include <ftplimit/events.h>

#include "catalog/limits.h"
#include "util/text.h"

extern pr_response_t *resp_err_list; /* ProFTPD's, not in its headers */

/* RFC 4253 disconnect reasons, as mod_sftp sends them. */
#define SSH_DISCONNECT_BY_APPLICATION 11
#define SSH_DISCONNECT_TOO_MANY_CONNECTIONS 12

/* An event of the engine, to be generated again on ProFTPD's bus once the
 * refusal it may come with has been sent. */
struct queued_event {
    struct queued_event *next;
    const char *name;
    const char *user;       /* the user name it carries, or NULL */
    const char *class_name; /* the class it carries, or NULL */
    const char *limit;      /* the directive it is about, or NULL */
    long long max;
};

static struct {
    struct settings s;
    const char *socket;
    fl_client *c;
    char sid[64];
    char address[64];
    char server[80];              /* where it connected: "ADDR:PORT", the server's port
                                     (the pair mod_auth counts a server's sessions by) */
    char token[FL_TOKEN_LEN + 1]; /* "" without a session key */
    const char *cls;              /* the class the daemon gave it, or NULL */
    bool active;                  /* a session the engine limits */
    bool ssh;                     /* an SSH session of mod_sftp's */
    bool connecting;              /* CONNECT sent, its answer not yet read */
    bool declared;                /* the daemon holds the session on fs.c */

    /* The login, as the engine must know it to declare the session again. */
    pool *login_pool;    /* the strings of the PASS under way */
    const char *user;    /* its USER name, as the protocol carries it */
    const char *account; /* the anonymous account it maps to, or NULL */
    config_rec *anon;    /* ... and its <Anonymous> block */
    char *password;      /* ... and its password, as PRE_CMD saw it: mod_auth
                            scrubs its own once it has checked it */
    bool logged_in;
    int failed;

    /* The PASS under way. */
    bool pass_open;    /* its PRE_CMD ran: one attempt, however often mod_sftp
                          dispatches its end */
    bool pass_decided; /* the module refused it itself (PRE_CMD) */
    bool anon_checked; /* the engine let its anonymous password in, on fs.c */
    bool login_sent;   /* the login went out at the authentication-code */
    unsigned long ssh_writes, writes_at_pass; /* SSH packets sent, to tell a
                                                 PK_OK answer */
    const char *end_reason; /* end the session at the PASS's LOG_CMD_ERR */
    bool log_again;         /* ... after dispatching it once more (mod_sftp) */
    bool told;              /* the fail mode was logged */

    pool *events_pool;
    struct queued_event *events, **events_tail;
} fs;

/* --- events ------------------------------------------------------------------- */

static void queue_event(void *arg, const char *event, const fl_event_info *info)
{
    (void)arg;
    /* ProFTPD's lifecycle events are its own. */
    if (strncmp(event, "core.", 5) == 0 && strcmp(event, FL_EV_MAX_INSTANCES) != 0 &&
        strcmp(event, FL_EV_MAX_CONNECTION_RATE) != 0)
        return;
    if (fs.events_pool == NULL) {
        fs.events_pool = make_sub_pool(session.pool);
        fs.events_tail = &fs.events;
    }
    pool *p = fs.events_pool;
    struct queued_event *q = pcalloc(p, sizeof *q);
    q->name = pstrdup(p, event);
    q->max = -1;
    if (info != NULL) {
        q->user = info->user != NULL ? pstrdup(p, info->user) : NULL;
        q->class_name = info->class_name != NULL ? pstrdup(p, info->class_name) : NULL;
        q->limit = info->limit != NULL ? pstrdup(p, info->limit) : NULL;
        q->max = info->max;
    }
    *fs.events_tail = q;
    fs.events_tail = &q->next;
}

/* The events queued, generated on ProFTPD's bus with the event_data
 * mod_auth gives them: the connection, the user or class name, or NULL. A
 * listener may end the session (mod_ban does). */
static void generate_events(void)
{
    pool *p = fs.events_pool;
    struct queued_event *q = fs.events;
    fs.events_pool = NULL;
    fs.events = NULL;
    for (; q != NULL; q = q->next) {
        const void *data = session.c;
        if (strcmp(q->name, FL_EV_MAX_CLIENTS_PER_USER) == 0 ||
            strcmp(q->name, FL_EV_MAX_HOSTS_PER_USER) == 0)
            data = q->user;
        else if (strcmp(q->name, FL_EV_MAX_CLIENTS_PER_CLASS) == 0)
            data = q->class_name;
        else if (strcmp(q->name, FL_EV_MAX_CLIENTS) == 0 ||
                 strcmp(q->name, FL_EV_MAX_INSTANCES) == 0 ||
                 strcmp(q->name, FL_EV_MAX_CONNECTION_RATE) == 0)
            data = NULL;
        pr_trace_msg("ftplimit", 8, "generating %s", q->name);
        pr_event_generate(q->name, data);
    }
    if (p != NULL)
        destroy_pool(p);
}

/* The queued event of a limit, or NULL. */
static const struct queued_event *queued_event_of(const char *limit)
{
    for (const struct queued_event *q = fs.events; q != NULL; q = q->next) {
        if (limit != NULL && q->limit != NULL && strcmp(q->limit, limit) == 0)
            return q;
    }
    return NULL;
}

/* mod_sftp writes a packet: what tells a publickey offer it answered with
 * PK_OK (not an attempt) from one it refused. */
static void on_ssh_write(const void *event_data, void *user_data)
{
    (void)event_data;
    (void)user_data;
    fs.ssh_writes++;
}

/* --- the connection to the daemon ----------------------------------------------- */

static void drop_connection(void)
{
    fl_client_free(fs.c);
    fs.c = NULL;
    fs.declared = false;
    fs.anon_checked = false;
}

/* Declare the session, as it is now, on a new connection: to a daemon that
 * restarted, or that never heard of it. True when done. */
static bool declare(void)
{
    drop_connection();
    if ((fs.c = fl_client_open(fs.socket, fs.s.timeout_ms)) == NULL)
        return false;
    fl_client_on_event(fs.c, queue_event, NULL);
    if (fs.token[0] != '\0')
        fl_client_set_token(fs.c, fs.token);
    fl_client_set_server(fs.c, fs.server);
    fl_client_session cs = {
        .sid = fs.sid,
        .address = fs.address,
        .class_name = fs.cls,
        .user = fs.user,
        .authenticated = fs.logged_in && fs.user != NULL,
        .resolved = true,
        .anon_account = fs.logged_in ? fs.account : NULL,
        .failed = fs.failed,
    };
    if (fl_client_declare(fs.c, &cs) < 0) {
        int saved = errno;
        pr_log_pri(PR_LOG_WARNING,
                   MOD_FTPLIMIT_VERSION ": session from %s cannot declare itself to "
                                        "ftplimitd: %s",
                   fs.address,
                   *fl_client_error(fs.c) ? fl_client_error(fs.c) : strerror(saved));
        drop_connection();
        errno = saved;
        return false;
    }
    fs.declared = true;
    return true;
}

/* One request of the session's to the engine, after declaring the session
 * if the daemon does not hold it; once more on a new connection when the
 * daemon went away meanwhile (it restarted). -1 when it cannot be reached. */
static int engine_call(int (*send)(const void *arg, fl_decision *d), const void *arg,
                       fl_decision *d)
{
    for (int tries = 0; tries < 2; tries++) {
        if (!fs.declared && !declare())
            return -1;
        if (send(arg, d) == 0)
            return 0;
        bool gone = errno == ECONNRESET || errno == EPIPE || errno == ENOTCONN;
        if (fl_client_fd(fs.c) < 0)
            drop_connection(); /* broken or timed out: the next one declares */
        if (!gone)
            return -1;
    }
    return -1;
}

/* The engine cannot be reached: what FtpLimitFailMode says. Returns true
 * when the session may go on. */
static bool fail_mode(const char *what)
{
    if (!fs.told) {
        pr_log_pri(PR_LOG_WARNING,
                   MOD_FTPLIMIT_VERSION
                   ": session from %s: cannot reach ftplimitd on %s "
                   "(%s: %s); FtpLimitFailMode %s",
                   fs.address, fs.socket, what, strerror(errno),
                   fs.s.fail_closed ? "closed: refused" : "open: allowed");
        fs.told = true;
    }
    return !fs.s.fail_closed;
}

/* --- SSH ---------------------------------------------------------------------- */

typedef void (*sftp_disconnect_fn)(uint32_t reason, const char *explain,
                                   const char *file, int line, const char *func);

/* mod_sftp's sftp_disconnect_send(): the only way to send an SSH message
 * through its transport. From the process, or from mod_sftp's own DSO. */
static sftp_disconnect_fn sftp_disconnect(void)
{
    void *sym = dlsym(RTLD_DEFAULT, "sftp_disconnect_send");
    module *m = pr_module_get("mod_sftp.c");
    Dl_info info;
    if (sym == NULL && m != NULL && dladdr(m, &info) != 0 && info.dli_fname != NULL) {
        void *h = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
        if (h != NULL) {
            sym = dlsym(h, "sftp_disconnect_send");
            dlclose(h); /* mod_sftp stays loaded: ProFTPD holds it too */
        }
    }
    sftp_disconnect_fn fn = NULL;
    if (sym != NULL)
        memcpy(&fn, &sym, sizeof fn);
    return fn;
}

/* How mod_sftp would end an SSH session for this refusal: for the limits
 * it knows, its own reason and text (NULL: the reason's standard text). */
static uint32_t ssh_refusal(const fl_decision *d, const char **text)
{
    enum fl_limit_id id = fl_limit_by_directive(d->limit);
    if (id < FL_L_COUNT && fl_limit_descs[id].proftpd == FL_PR_COUNTED) {
        *text = "Maximum connections for host/user reached";
        return SSH_DISCONNECT_TOO_MANY_CONNECTIONS;
    }
    if (id == FL_L_LOGIN_ATTEMPTS) {
        *text = NULL;
        return SSH_DISCONNECT_BY_APPLICATION;
    }
    if (id == FL_L_BAN) {
        *text = "Banned";
        return SSH_DISCONNECT_BY_APPLICATION;
    }
    *text = d->message;
    return SSH_DISCONNECT_TOO_MANY_CONNECTIONS;
}

static void ssh_disconnect(uint32_t reason, const char *text)
{
    sftp_disconnect_fn fn = sftp_disconnect();
    if (fn != NULL)
        fn(reason, text, __FILE__, __LINE__, "");
}

/* --- refusals ---------------------------------------------------------------- */

/* The line mod_auth (or ProFTPD's master) logs for a refusal by limit;
 * for an anonymous password AnonRejectPasswords rejected, mod_auth's. */
static void log_refusal(const fl_decision *d)
{
    pool *p = make_sub_pool(session.pool);
    const char *anon_reject = fl_limit_descs[FL_L_ANON_REJECT].directive;
    if (queued_event_of(anon_reject) != NULL)
        pr_log_auth(PR_LOG_NOTICE, "ANON %s: %s denies login", log_safe(p, fs.user),
                    anon_reject);
    const struct queued_event *q = queued_event_of(d->limit);
    long long max = q != NULL ? q->max : -1;
    enum fl_limit_id id = fl_limit_by_directive(d->limit);
    const char *limit = d->limit;
    switch (id) {
    case FL_L_LOGIN_ATTEMPTS:
        pr_log_auth(PR_LOG_NOTICE,
                    "Maximum login attempts (%lld) exceeded, connection refused", max);
        break;
    case FL_L_MAX_INSTANCES:
    case FL_L_RATE:
        pr_log_pri(PR_LOG_WARNING, "%s (%lld) reached, new connection denied", limit,
                   max);
        break;
    case FL_L_PER_CLASS:
        pr_log_auth(PR_LOG_NOTICE, "Connection refused (%s %s %lld)", limit,
                    log_safe(p, q != NULL ? q->class_name : NULL), max);
        break;
    case FL_L_ANON_REJECT:
    case FL_L_COUNT: /* no limit: a failed password */
        break;
    default:
        if (max >= 0)
            pr_log_auth(PR_LOG_NOTICE, "Connection refused (%s %lld)", limit, max);
        else
            pr_log_auth(PR_LOG_NOTICE, "Connection refused (%s: %s)", limit,
                        log_safe(p, d->message));
        break;
    }
    destroy_pool(p);
}

/* A refusal at connect: the reply, the events, the end. An SSH client
 * waits for mod_sftp's version string, before which RFC 4253 lets a
 * server send lines of text: the message goes as one (as mod_sftp's own
 * refusals before the key exchange do), and nothing after it, since
 * mod_sftp answers a mod_auth event with a binary packet a client would
 * read as a corrupt version string. */
static void refuse_connection(const fl_decision *d)
{
    if (fs.ssh) {
        char *line = pstrcat(session.pool, d->message, "\r\n", NULL);
        if (write(session.c->wfd, line, strlen(line)) < 0)
            pr_trace_msg("ftplimit", 3, "cannot write to the SSH client: %s",
                         strerror(errno));
        shutdown(session.c->wfd, SHUT_WR);
    } else {
        pr_response_send(R_421, "%s", d->message);
    }
    log_refusal(d);
    generate_events();
    pr_session_disconnect(&ftplimit_module, PR_SESS_DISCONNECT_CONFIG_ACL,
                          "Denied by ftplimit");
}

/* An engine that cannot be reached, under FtpLimitFailMode closed. */
static void refuse_unreachable(void)
{
    if (fs.ssh)
        ssh_disconnect(SSH_DISCONNECT_BY_APPLICATION, "Service not available");
    else
        pr_response_send(R_421, "Service not available, closing control connection.");
    pr_session_disconnect(&ftplimit_module, PR_SESS_DISCONNECT_CONFIG_ACL,
                          "ftplimitd unreachable (FtpLimitFailMode closed)");
}

/* The text of a refused login's 530: AccessDenyMsg (of the <Anonymous>
 * block, or the server's) for a failed attempt, as mod_auth; the limit's
 * message otherwise. */
static const char *refusal_text(pool *p, const fl_decision *d)
{
    enum fl_limit_id id = fl_limit_by_directive(d->limit);
    bool attempt =
        id == FL_L_COUNT || id == FL_L_LOGIN_ATTEMPTS || id == FL_L_ANON_REJECT;
    const char *deny =
        attempt ? get_param_ptr(fs.anon != NULL ? fs.anon->subset : main_server->conf,
                                "AccessDenyMsg", FALSE)
                : NULL;
    if (deny == NULL)
        return d->message;
    if (strstr(deny, "%u") == NULL)
        return deny;
    /* The name is the client's: no control byte may end the reply early. */
    char *user = pstrdup(p, fs.user != NULL ? fs.user : "");
    for (char *c = user; *c != '\0'; c++) {
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
    }
    return sreplace(p, deny, "%u", user, NULL);
}

/* A PASS refused: the reply first -- a 530, or mod_sftp's DISCONNECT --
 * then the events; after a DISCONNECT the session ends once the command's
 * LOG_CMD_ERR handlers have run (ftplimit_log_pass_err). Nothing else is
 * said: the error mod_auth queued is dropped. */
static void refuse_pass(pool *p, const fl_decision *d)
{
    if (fs.ssh) {
        if (d->verdict == FL_DISCONNECT) {
            const char *text;
            uint32_t reason = ssh_refusal(d, &text);
            ssh_disconnect(reason, text);
        }
    } else {
        /* In this order: a clear forgets the last reply, which the
         * ExtendedLog's %s shows. */
        pr_response_clear(&resp_err_list);
        pr_response_send(R_530, "%s", refusal_text(p, d));
    }
    if (d->verdict == FL_DISCONNECT) {
        fs.end_reason = pstrcat(session.pool, "Denied by ",
                                d->limit != NULL ? d->limit : "ftplimit", NULL);
        fs.declared = false; /* the engine ended it, or its end is coming */
    }
    log_refusal(d);
    generate_events();
}

/* --- logins ------------------------------------------------------------------- */

/* The account ProFTPD resolves user to, as mod_auth counts it -- that of
 * the <Anonymous> block it maps to (by UserAlias or the block's User) --
 * in *block; NULL for a real account. */
static const char *anon_account(pool *p, const char *user, config_rec **block)
{
    const char *login = user;
    *block = pr_auth_get_anon_config(p, &login, NULL, NULL);
    if (*block == NULL || login == NULL || *login == '\0') {
        *block = NULL;
        return NULL;
    }
    /* A field of the protocol: no space, no control byte. */
    char *account = pstrndup(p, login, FL_USER_MAX);
    for (char *c = account; *c != '\0'; c++) {
        if ((unsigned char)*c <= 0x20 || *c == 0x7f)
            *c = '?';
    }
    return account;
}

/* What a client sent, as the protocol carries it: CR and LF (which ProFTPD
 * may leave inside an argument) become '?', and it is cut at max bytes. A
 * name the engine could not take must not let its session skip the checks
 * (the fail mode is for an engine that cannot be reached). */
static char *wire_text(pool *p, const char *text, size_t max)
{
    char *out = pstrndup(p, text, max);
    for (char *c = out; *c != '\0'; c++) {
        if (*c == '\r' || *c == '\n')
            *c = '?';
    }
    return out;
}

/* A group name the protocol carries: a longer one, or one with a control
 * byte, matches no <IfGroup> of ftplimit's. */
static bool group_carried(const char *name)
{
    size_t len = name != NULL ? strnlen(name, FL_USER_MAX + 1) : 0;
    return len > 0 && len <= FL_USER_MAX && !fl_text_has_control(name, len);
}

/* The groups ProFTPD found for the user (mod_auth set session.group and
 * session.groups before its authentication-code), for the policy's
 * <IfGroup> blocks, as mod_ifsession reads them: the primary group, then
 * the supplementary ones. */
static void login_groups(void)
{
    const char *names[FL_GROUPS_MAX];
    size_t n = 0;
    if (group_carried(session.group))
        names[n++] = session.group;
    char **elts = session.groups != NULL ? session.groups->elts : NULL;
    for (unsigned i = 0; elts != NULL && i < session.groups->nelts && n < FL_GROUPS_MAX;
         i++) {
        if (group_carried(elts[i]) &&
            (session.group == NULL || strcmp(elts[i], session.group) != 0))
            names[n++] = elts[i];
    }
    (void)fl_client_set_groups(fs.c, names, n);
}

/* The login of the PASS under way (fs.user, fs.account) goes out: its
 * USER, unless ANONPASS sent it on this connection, its user's groups when
 * ProFTPD accepted it, and for an anonymous login the password, unless
 * ANONPASS checked it. */
static int login_start(bool ok, const char *password)
{
    bool checked = fs.anon_checked;
    if (ok)
        login_groups();
    return fl_client_login_as_start(fs.c, checked ? NULL : fs.user, fs.account, ok,
                                    fs.account != NULL && !checked ? password : NULL);
}

struct login_args {
    bool ok;
    const char *password;
};

static int send_login(const void *arg, fl_decision *d)
{
    const struct login_args *a = arg;
    if (login_start(a->ok, a->password) < 0)
        return -1;
    return fl_client_login_finish(fs.c, d);
}

static int send_anon_pass(const void *arg, fl_decision *d)
{
    return fl_client_anon_pass(fs.c, fs.user, fs.account, arg, d);
}

/* The PASS under way, to the engine: ok when ProFTPD accepted the
 * password. A login sent at the authentication-code is read now; when
 * ProFTPD refused it after all (RequireValidShell, /etc/ftpusers), one the
 * engine counted is undone and reported as the failure it is. */
static int engine_login(bool ok, const char *password, fl_decision *d)
{
    if (fs.login_sent) {
        fs.login_sent = false;
        if (fl_client_login_finish(fs.c, d) == 0) {
            if (ok || d->verdict != FL_ALLOW)
                return 0;
            if (fl_client_logout(fs.c) < 0)
                drop_connection(); /* whatever it holds, a declaration says it right */
            fs.anon_checked = false; /* the login undone, the USER goes again */
        } else if (fl_client_fd(fs.c) < 0) {
            drop_connection(); /* gone, or too slow: the next request declares */
        }
    }
    struct login_args a = {ok, password};
    return engine_call(send_login, &a, d);
}

/* The anonymous password kept for the PASS under way is not needed any
 * more. */
static void forget_password(void)
{
    if (fs.password != NULL)
        pr_memscrub(fs.password, strlen(fs.password));
    fs.password = NULL;
}

/* The PASS under way starts: whom its USER name is, and for an anonymous
 * login the password, as the protocol carries it. */
static void pass_begin(const char *user, const char *password)
{
    forget_password();
    if (fs.login_pool != NULL)
        destroy_pool(fs.login_pool);
    fs.login_pool = make_sub_pool(session.pool);
    fs.user = wire_text(fs.login_pool, user, FL_USER_MAX);
    fs.anon = NULL; /* mod_sftp has no anonymous logins */
    fs.account = fs.ssh ? NULL : anon_account(fs.login_pool, user, &fs.anon);
    if (fs.account != NULL)
        fs.password =
            wire_text(fs.login_pool, password != NULL ? password : "", FL_PASS_MAX);
    fs.pass_open = true;
    fs.pass_decided = false;
    fs.anon_checked = false;
    fs.writes_at_pass = fs.ssh_writes;
}

/* An anonymous password, before mod_auth checks it: AnonRejectPasswords.
 * One longer than the protocol carries is refused whole, as a failed
 * attempt: no e-mail address is that long, and the rule could not check
 * it. MODRET for the PASS's PRE_CMD. */
static modret_t *anon_pass_check(cmd_rec *cmd)
{
    fl_decision d;
    bool too_long = cmd->arg != NULL && strlen(cmd->arg) > FL_PASS_MAX;
    int rc = engine_call(send_anon_pass, fs.password, &d);
    if (rc == 0 && d.verdict == FL_ALLOW)
        fs.anon_checked = true;
    if (rc == 0 && d.verdict == FL_ALLOW && too_long) {
        /* Its first bytes passed; the whole is refused all the same. */
        pr_log_auth(PR_LOG_NOTICE, "ANON %s: password longer than %d bytes refused",
                    log_safe(cmd->tmp_pool, fs.user), FL_PASS_MAX);
        struct login_args a = {false, NULL};
        rc = engine_call(send_login, &a, &d);
    }
    if (rc < 0) {
        if (!fail_mode("PASS"))
            refuse_unreachable();
        return PR_DECLINED(cmd); /* mod_auth decides; the engine hears of it after */
    }
    if (d.verdict == FL_ALLOW) {
        generate_events();
        return PR_DECLINED(cmd);
    }
    fs.failed++;
    fs.pass_decided = true;
    forget_password();
    refuse_pass(cmd->tmp_pool, &d);
    return PR_ERROR(cmd); /* the 530 is sent: nothing more to queue */
}

modret_t *ftplimit_pre_pass(cmd_rec *cmd)
{
    const char *user = pr_table_get(session.notes, "mod_auth.orig-user", NULL);
    /* mod_auth answers a PASS before USER, or after the login, itself. */
    if (!fs.active || fs.logged_in || user == NULL)
        return PR_DECLINED(cmd);
    pass_begin(user, cmd->arg);
    if (fs.account != NULL)
        return anon_pass_check(cmd);
    return PR_DECLINED(cmd);
}

/* A login refused after ProFTPD accepted its password. */
static void refuse_login(pool *p, const fl_decision *d)
{
    fl_decision end = *d;
    end.verdict = FL_DISCONNECT; /* ProFTPD has logged it in: it goes */
    refuse_pass(p, &end);
}

/* mod_auth.authentication-code: ProFTPD has just checked the password, and
 * has the session to set up (groups, chroot, uid, logs) before its 230. An
 * FTP login goes to the daemon now, so that its answer is there by
 * POST_CMD: the round trip overlaps ProFTPD's own work. An SSH login is
 * decided now, before mod_sftp tells the client it succeeded; a refusal
 * dispatches the attempt's PASS as failed, as mod_sftp does. */
static void on_auth_code(const void *event_data, void *user_data)
{
    (void)user_data;
    const int *code = event_data;
    if (!fs.active || code == NULL || *code < 0 || fs.logged_in || fs.login_sent ||
        fs.user == NULL)
        return;
    if (!fs.ssh) {
        if (fs.declared && (fs.account == NULL || fs.anon_checked))
            fs.login_sent = login_start(true, NULL) == 0;
        return;
    }
    fl_decision d;
    int rc = engine_login(true, NULL, &d);
    fs.logged_in = true;
    fs.pass_open = false;
    if (rc < 0) {
        if (!fail_mode("PASS"))
            refuse_unreachable();
        return;
    }
    if (d.verdict == FL_ALLOW) {
        generate_events();
        return;
    }
    pool *p = make_sub_pool(session.pool);
    cmd_rec *pass = pr_cmd_alloc(p, 1, pstrdup(p, C_PASS));
    pass->arg = pstrdup(p, "(hidden)");
    pass->cmd_class = CL_AUTH | CL_SSH;
    fs.pass_decided = true;
    refuse_login(p, &d);
    pr_response_add_err(R_530, "%s", d.message);
    pr_cmd_dispatch_phase(pass, POST_CMD_ERR, 0);
    pr_cmd_dispatch_phase(pass, LOG_CMD_ERR, 0);
    pr_session_disconnect(&ftplimit_module, PR_SESS_DISCONNECT_CONFIG_ACL,
                          fs.end_reason);
}

/* PASS succeeded in ProFTPD's eyes: the engine's limits, before the 230. */
modret_t *ftplimit_post_pass(cmd_rec *cmd)
{
    if (!fs.active || fs.logged_in || fs.user == NULL)
        return PR_DECLINED(cmd);
    fs.pass_open = false;
    fl_decision d;
    int rc = engine_login(true, fs.password, &d);
    forget_password();
    fs.logged_in = true;
    if (rc < 0) {
        if (!fail_mode("PASS"))
            refuse_unreachable();
        return PR_DECLINED(cmd);
    }
    if (d.verdict == FL_ALLOW) {
        generate_events();
        return PR_DECLINED(cmd);
    }
    refuse_login(cmd->tmp_pool, &d);
    /* As mod_auth: the refused PASS is logged before the session ends. */
    (void)pr_cmd_dispatch_phase(cmd, LOG_CMD_ERR, 0);
    pr_session_disconnect(&ftplimit_module, PR_SESS_DISCONNECT_CONFIG_ACL,
                          fs.end_reason);
    return PR_DECLINED(cmd);
}

/* PASS failed: an attempt toward MaxLoginAttempts. mod_sftp dispatches an
 * SSH attempt's end more than once, and a publickey offer it answered with
 * PK_OK (the client may then sign with that key) as a failure too: neither
 * is another attempt. */
modret_t *ftplimit_post_pass_err(cmd_rec *cmd)
{
    if (!fs.active || !fs.pass_open || fs.user == NULL)
        return PR_DECLINED(cmd);
    fs.pass_open = false;
    if (fs.pass_decided)
        return PR_DECLINED(cmd);
    const char *method = pr_table_get(cmd->notes, "mod_sftp.nonfatal-attempt", NULL);
    if (fs.ssh && method != NULL && strcmp(method, "publickey") == 0 &&
        fs.ssh_writes > fs.writes_at_pass)
        return PR_DECLINED(cmd);
    fl_decision d;
    /* An anonymous password the engine has not seen goes with it. */
    int rc = engine_login(false, fs.password, &d);
    forget_password();
    fs.failed++;
    if (rc < 0) {
        if (!fail_mode("PASS"))
            refuse_unreachable();
        return PR_DECLINED(cmd);
    }
    if (d.verdict == FL_DISCONNECT) {
        refuse_pass(cmd->tmp_pool, &d);
        /* mod_sftp dispatches the attempt that reaches MaxLoginAttempts a
         * second time: its logs show the refused PASS twice. */
        fs.log_again = fs.ssh;
    } else {
        generate_events();
    }
    return PR_DECLINED(cmd);
}

/* A refused PASS has been logged (ExtendedLog, mod_sql and the others run
 * their LOG_CMD_ERR handlers for any command first): the session ends, as
 * mod_auth ends it after MaxLoginAttempts. */
modret_t *ftplimit_log_pass_err(cmd_rec *cmd)
{
    if (fs.log_again) {
        fs.log_again = false;
        pr_response_add_err(R_530, "%s", "Login incorrect.");
        pr_cmd_dispatch_phase(cmd, POST_CMD_ERR, 0);
        pr_cmd_dispatch_phase(cmd, LOG_CMD_ERR, 0); /* here again, to end */
    }
    if (fs.end_reason != NULL)
        pr_session_disconnect(&ftplimit_module, PR_SESS_DISCONNECT_CONFIG_ACL,
                              fs.end_reason);
    return PR_DECLINED(cmd);
}

/* --- the session's life ------------------------------------------------------- */

/* SIGUSR2, passed on by the master: the daemon answers again after being
 * away. A session it does not hold declares itself. */
static void on_session_usr2(const void *event_data, void *user_data)
{
    (void)event_data;
    (void)user_data;
    if (!fs.active || fs.connecting)
        return; /* the master, a session without the engine, or one before its banner */
    if (fs.declared) {
        struct pollfd p = {.fd = fl_client_fd(fs.c), .events = POLLIN};
        if (poll(&p, 1, 0) == 0)
            return; /* nothing to read: the connection is alive */
    }
    if (declare()) {
        pr_log_pri(PR_LOG_NOTICE,
                   MOD_FTPLIMIT_VERSION
                   ": session from %s declared itself to ftplimitd",
                   fs.address);
        fs.told = false;
    }
}

static void on_session_exit(const void *event_data, void *user_data)
{
    (void)event_data;
    (void)user_data;
    forget_password();
    if (fs.c != NULL && fs.declared)
        (void)fl_client_close_session(fs.c);
    fl_client_free(fs.c);
    fs.c = NULL;
}

/* core.connected: after every module's sess_init, just before the banner.
 * The daemon decided meanwhile. */
static void on_connected(const void *event_data, void *user_data)
{
    (void)event_data;
    (void)user_data;
    if (!fs.active)
        return;
    fs.ssh = strcmp(pr_session_get_protocol(PR_SESS_PROTO_FL_LOGOUT), "SSH2") == 0;
    fl_decision d;
    bool answered = fs.connecting && fl_client_connect_finish(fs.c, &d) == 0;
    fs.connecting = false;
    if (!answered) {
        drop_connection();
        if (!fail_mode("CONNECT"))
            refuse_unreachable();
        return;
    }
    if (d.verdict != FL_ALLOW) {
        refuse_connection(&d);
        return;
    }
    fs.declared = true;
    const char *cls = fl_client_class(fs.c);
    fs.cls = cls != NULL ? pstrdup(session.pool, cls) : NULL;
    generate_events();
}

int session_start(void)
{
    session_settings(&fs.s, &fs.socket);
    if (!fs.s.engine) {
        master_forget_key();
        return 0;
    }
    snprintf(fs.address, sizeof fs.address, "%s",
             pr_netaddr_get_ipstr(session.c->remote_addr));
    const char *local = pr_netaddr_get_ipstr(session.c->local_addr);
    snprintf(fs.server, sizeof fs.server,
             strchr(local, ':') != NULL ? "[%s]:%u" : "%s:%u", local,
             (unsigned)main_server->ServerPort);
    /* Our own ids: the daemon's are "c<N>"; the pid is unique among live
     * sessions, the time across pid reuse. */
    snprintf(fs.sid, sizeof fs.sid, "p%ld.%llu", (long)getpid(),
             (unsigned long long)session.connect_time_ms);
    /* The token, while the process is still ProFTPD's; then the key goes:
     * nothing a client makes this process do later can reach it. */
    const fl_session_key *key = master_key();
    if (key == NULL || fl_session_token(key, fs.sid, fs.address, fs.token) < 0)
        fs.token[0] = '\0';
    master_forget_key();
    fs.active = true;

    /* CONNECT goes out now; its answer is read at core.connected, so that
     * the daemon decides while the other modules set the session up (a
     * daemon woken from idle takes a few hundred microseconds). */
    const char *name = session.c->remote_name;
    /* The DNS name, for DNS class items, when ProFTPD looked it up; one the
     * protocol cannot carry is left out rather than failing the CONNECT
     * (whoever controls the reverse zone must not reach the fail mode). */
    if (name != NULL &&
        (strcmp(name, fs.address) == 0 || strpbrk(name, " \r\n") != NULL ||
         strlen(name) > FL_DNSNAME_MAX))
        name = NULL;
    fs.c = fl_client_open(fs.socket, fs.s.timeout_ms);
    if (fs.c == NULL)
        return 0; /* core.connected applies the fail mode */
    fl_client_on_event(fs.c, queue_event, NULL);
    if (fs.token[0] != '\0')
        fl_client_set_token(fs.c, fs.token);
    fl_client_set_server(fs.c, fs.server);
    fs.connecting = fl_client_connect_start(fs.c, fs.sid, fs.address, name) == 0;
    return 0;
}

void session_register(void)
{
    pr_event_register(&ftplimit_module, "core.signal.USR2", on_session_usr2, NULL);
    pr_event_register(&ftplimit_module, "core.connected", on_connected, NULL);
    pr_event_register(&ftplimit_module, "core.exit", on_session_exit, NULL);
    pr_event_register(&ftplimit_module, "mod_auth.authentication-code", on_auth_code,
                      NULL);
    pr_event_register(&ftplimit_module, "ssh2.netio-write", on_ssh_write, NULL);
}
