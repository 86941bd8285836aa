/*
 * mod_ftplimit.c - ftplimit's engine in ProFTPD (doc/proftpd.md): the
 * module, its directives and the handlers it registers.
 *
 * ProFTPD forks a process per session, so the counts live in ftplimitd:
 * each session holds one connection to it, declared at session start, and
 * the connection is the session -- when the process ends, however it ends,
 * the daemon releases its counts. The master looks after the daemon
 * (helper.c); each session puts its connection and its logins through the
 * engine and carries out the engine's refusals exactly as mod_auth and
 * mod_sftp carry out theirs (session.c).
 */
#include "mod_ftplimit.h"

#include "util/text.h"

#define DEFAULT_TIMEOUT_MS 1000

module ftplimit_module __attribute__((visibility("default")));

extern xaset_t *server_list; /* ProFTPD's, not in its headers */

/* --- configuration -------------------------------------------------------- */

/* A directive of srv, else the main server's: one engine serves every
 * server, and a <VirtualHost> is limited like the main server unless it
 * says otherwise (FtpLimitEngine off leaves it to mod_auth). */
static void *setting(const server_rec *srv, const char *name)
{
    void *v = get_param_ptr(srv->conf, name, FALSE);
    const server_rec *main_srv = (const server_rec *)server_list->xas_list;
    if (v == NULL && main_srv != NULL && srv != main_srv)
        v = get_param_ptr(main_srv->conf, name, FALSE);
    return v;
}

void settings_read(const server_rec *srv, struct settings *s)
{
    const unsigned char *engine = setting(srv, "FtpLimitEngine");
    const int *fail = setting(srv, "FtpLimitFailMode");
    const int *timeout = setting(srv, "FtpLimitTimeout");
    const char *daemon = setting(srv, "FtpLimitDaemon");
    const char *log = setting(srv, "FtpLimitLog");
    const config_rec *user =
        find_config(srv->conf, CONF_PARAM, "FtpLimitDaemonUser", FALSE);
    const server_rec *main_srv = (const server_rec *)server_list->xas_list;
    if (user == NULL && main_srv != NULL && srv != main_srv)
        user = find_config(main_srv->conf, CONF_PARAM, "FtpLimitDaemonUser", FALSE);
    s->engine = engine != NULL && *engine;
    s->policy = setting(srv, "FtpLimitPolicy");
    s->socket = setting(srv, "FtpLimitSocket");
    s->fail_closed = fail != NULL && *fail;
    s->daemon = daemon != NULL ? daemon : FTPLIMITD_PATH;
    s->log = log != NULL ? log : "syslog";
    s->daemon_user = user != NULL ? user->argv[0] : NULL;
    s->daemon_group = user != NULL ? user->argv[1] : NULL;
    s->timeout_ms = timeout != NULL ? *timeout : DEFAULT_TIMEOUT_MS;
}

const char *run_dir(pool *p)
{
    static const char default_socket[] = FL_DEFAULT_SOCKET;
    const char *scoreboard = pr_get_scoreboard();
    const char *slash = scoreboard != NULL ? strrchr(scoreboard, '/') : NULL;
    if (scoreboard == NULL ||
        strcmp(scoreboard, PR_RUN_DIR "/proftpd.scoreboard") == 0 || slash == NULL)
        return pstrndup(p, default_socket,
                        (size_t)(strrchr(default_socket, '/') - default_socket));
    /* Another instance of ProFTPD, which needs a scoreboard of its own. */
    return pstrndup(p, scoreboard, (size_t)(slash - scoreboard));
}

const char *socket_path(pool *p, const struct settings *s)
{
    if (s->socket != NULL)
        return s->socket;
    const char *name = strrchr(FL_DEFAULT_SOCKET, '/');
    return pstrcat(p, run_dir(p), name != NULL ? name : "/ftplimitd.sock", NULL);
}

/* Each server's settings, read in the master once the configuration is
 * (core.postparse): a session takes its server's instead of searching the
 * configuration on its way to the banner. They live in the main server's
 * pool, as long as the configuration they come from. */
static struct server_settings {
    const server_rec *server;
    struct settings s;
    const char *socket; /* the daemon's: FtpLimitSocket, or ours */
} * cached;
static size_t ncached;

static void settings_cache(void)
{
    size_t n = 0;
    for (server_rec *srv = (server_rec *)server_list->xas_list; srv != NULL;
         srv = srv->next)
        n++;
    cached = pcalloc(main_server->pool, n * sizeof *cached);
    ncached = 0;
    for (server_rec *srv = (server_rec *)server_list->xas_list; srv != NULL;
         srv = srv->next) {
        struct server_settings *c = &cached[ncached++];
        c->server = srv;
        settings_read(srv, &c->s);
        c->socket = socket_path(main_server->pool, &c->s);
    }
}

void session_settings(struct settings *s, const char **socket)
{
    for (size_t i = 0; i < ncached; i++) {
        if (cached[i].server == main_server) {
            *s = cached[i].s;
            *socket = cached[i].socket;
            return;
        }
    }
    settings_read(main_server, s); /* a server not cached: read it now */
    *socket = socket_path(session.pool, s);
}

const char *log_safe(pool *p, const char *text)
{
    if (text == NULL)
        return "(none)";
    size_t size = 256 * 4 + 8; /* 256 bytes of text, each escaped at worst */
    return fl_text_escape(text, pcalloc(p, size), size);
}

/* --- directives ------------------------------------------------------------- */

/* usage: FtpLimitEngine on|off -- in the server config or <Global> for
 * every server; "off" in a <VirtualHost> leaves that one to mod_auth. */
MODRET set_engine(cmd_rec *cmd)
{
    CHECK_ARGS(cmd, 1);
    CHECK_CONF(cmd, CONF_ROOT | CONF_GLOBAL | CONF_VIRTUAL);
    int on = get_boolean(cmd, 1);
    if (on == -1)
        CONF_ERROR(cmd, "expected on or off");
    config_rec *c = add_config_param(cmd->argv[0], 1, NULL);
    c->argv[0] = pcalloc(c->pool, sizeof(unsigned char));
    *(unsigned char *)c->argv[0] = (unsigned char)on;
    return PR_HANDLED(cmd);
}

/* usage: FtpLimitPolicy PATH -- ftplimit's own directives, for the whole
 * daemon (server config) or one <VirtualHost>; checked at core.postparse
 * (helper.c), once FtpLimitDaemon is known too. */
MODRET set_policy(cmd_rec *cmd)
{
    CHECK_ARGS(cmd, 1);
    CHECK_CONF(cmd, CONF_ROOT | CONF_GLOBAL | CONF_VIRTUAL);
    if (*(const char *)cmd->argv[1] != '/')
        CONF_ERROR(cmd, "the policy must be given by its absolute path");
    add_config_param_str(cmd->argv[0], 1, cmd->argv[1]);
    return PR_HANDLED(cmd);
}

/* usage: FtpLimitSocket PATH | FtpLimitDaemon PATH | FtpLimitLog syslog|PATH */
MODRET set_path(cmd_rec *cmd)
{
    CHECK_ARGS(cmd, 1);
    CHECK_CONF(cmd, CONF_ROOT | CONF_GLOBAL);
    const char *path = cmd->argv[1];
    bool log = strcasecmp(cmd->argv[0], "FtpLimitLog") == 0;
    if (*path != '/' && !(log && strcmp(path, "syslog") == 0))
        CONF_ERROR(cmd, log ? "expected syslog or an absolute path"
                            : "expected an absolute path");
    add_config_param_str(cmd->argv[0], 1, path);
    return PR_HANDLED(cmd);
}

/* usage: FtpLimitDaemonUser USER [GROUP] -- who the daemon of our own runs
 * as (default: ProFTPD's User and Group); GROUP defaults to USER's. */
MODRET set_daemon_user(cmd_rec *cmd)
{
    if (cmd->argc != 2 && cmd->argc != 3)
        CONF_ERROR(cmd, "expected a user, and optionally a group");
    CHECK_CONF(cmd, CONF_ROOT | CONF_GLOBAL);
    if (getpwnam(cmd->argv[1]) == NULL)
        CONF_ERROR(
            cmd, pstrcat(cmd->tmp_pool, "no such user: ", (char *)cmd->argv[1], NULL));
    if (cmd->argc == 3 && getgrnam(cmd->argv[2]) == NULL)
        CONF_ERROR(
            cmd, pstrcat(cmd->tmp_pool, "no such group: ", (char *)cmd->argv[2], NULL));
    add_config_param_str(cmd->argv[0], 2, cmd->argv[1],
                         cmd->argc == 3 ? cmd->argv[2] : NULL);
    return PR_HANDLED(cmd);
}

/* usage: FtpLimitFailMode open|closed */
MODRET set_fail_mode(cmd_rec *cmd)
{
    CHECK_ARGS(cmd, 1);
    CHECK_CONF(cmd, CONF_ROOT | CONF_GLOBAL);
    int closed;
    if (strcasecmp(cmd->argv[1], "open") == 0)
        closed = 0;
    else if (strcasecmp(cmd->argv[1], "closed") == 0)
        closed = 1;
    else
        CONF_ERROR(cmd, "expected open or closed");
    config_rec *c = add_config_param(cmd->argv[0], 1, NULL);
    c->argv[0] = pcalloc(c->pool, sizeof(int));
    *(int *)c->argv[0] = closed;
    return PR_HANDLED(cmd);
}

/* usage: FtpLimitTimeout MILLISECONDS */
MODRET set_timeout(cmd_rec *cmd)
{
    CHECK_ARGS(cmd, 1);
    CHECK_CONF(cmd, CONF_ROOT | CONF_GLOBAL);
    char *end = NULL;
    long ms = strtol(cmd->argv[1], &end, 10);
    if (end == cmd->argv[1] || *end != '\0' || ms < 10 || ms > 60000)
        CONF_ERROR(cmd, "expected milliseconds, from 10 to 60000");
    config_rec *c = add_config_param(cmd->argv[0], 1, NULL);
    c->argv[0] = pcalloc(c->pool, sizeof(int));
    *(int *)c->argv[0] = (int)ms;
    return PR_HANDLED(cmd);
}

/* --- events of the master ----------------------------------------------------- */

static void on_postparse(const void *event_data, void *user_data)
{
    (void)event_data;
    (void)user_data;
    settings_cache();
    master_postparse();
}

static void on_startup(const void *event_data, void *user_data)
{
    (void)event_data;
    (void)user_data;
    master_startup();
}

static void on_shutdown(const void *event_data, void *user_data)
{
    (void)event_data;
    (void)user_data;
    master_shutdown();
}

static void on_usr2(const void *event_data, void *user_data)
{
    (void)event_data;
    (void)user_data;
    master_usr2();
}

/* The session's handlers are registered here too, in the master, and do
 * nothing until a session is active: registering them in each session
 * process would write to pages it shares with the master (page faults on
 * the path to the banner). */
static int ftplimit_init(void)
{
    pr_event_register(&ftplimit_module, "core.postparse", on_postparse, NULL);
    pr_event_register(&ftplimit_module, "core.startup", on_startup, NULL);
    pr_event_register(&ftplimit_module, "core.shutdown", on_shutdown, NULL);
    pr_event_register(&ftplimit_module, "core.signal.USR2", on_usr2, NULL);
    session_register();
    return 0;
}

static int ftplimit_sess_init(void)
{
    return session_start();
}

/* --- tables ------------------------------------------------------------------ */

static conftable ftplimit_conftab[] = {
    {"FtpLimitEngine", set_engine, NULL},
    {"FtpLimitPolicy", set_policy, NULL},
    {"FtpLimitSocket", set_path, NULL},
    {"FtpLimitFailMode", set_fail_mode, NULL},
    {"FtpLimitDaemon", set_path, NULL},
    {"FtpLimitLog", set_path, NULL},
    {"FtpLimitDaemonUser", set_daemon_user, NULL},
    {"FtpLimitTimeout", set_timeout, NULL},
/* Every limit of catalog/limits.def: ProFTPD's own are noted as written
 * (config.c), the others declined, so that ProFTPD still calls them
 * unknown. */
#define FL_LIMIT(id, directive, ...) {directive, ftplimit_note_limit, NULL},
#include "catalog/limits.def"
#undef FL_LIMIT
    {NULL, NULL, NULL},
};

/* PASS, in every phase where mod_auth (and mod_sftp, which dispatches a
 * PASS for each SSH authentication attempt) decide something of a login. */
static cmdtable ftplimit_cmdtab[] = {
    {.cmd_type = PRE_CMD,
     .command = C_PASS,
     .group = G_NONE,
     .handler = ftplimit_pre_pass},
    {.cmd_type = POST_CMD,
     .command = C_PASS,
     .group = G_NONE,
     .handler = ftplimit_post_pass},
    {.cmd_type = POST_CMD_ERR,
     .command = C_PASS,
     .group = G_NONE,
     .handler = ftplimit_post_pass_err},
    {.cmd_type = LOG_CMD_ERR,
     .command = C_PASS,
     .group = G_NONE,
     .handler = ftplimit_log_pass_err},
    {.cmd_type = 0, .command = NULL},
};

module ftplimit_module = {
    .api_version = 0x20,
    .name = "ftplimit",
    .conftable = ftplimit_conftab,
    .cmdtable = ftplimit_cmdtab,
    .init = ftplimit_init,
    .sess_init = ftplimit_sess_init,
    .module_version = MOD_FTPLIMIT_VERSION,
};
