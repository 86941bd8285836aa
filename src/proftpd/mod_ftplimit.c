/*
 * mod_ftplimit.c - ftplimit's engine in ProFTPD (doc/proftpd.md).
 *
 * ProFTPD forks a process per session, so the counts live in ftplimitd:
 * each session holds one connection to it, declared at session start, and
 * the connection is the session -- when the process ends, however it ends,
 * the daemon releases its counts.
 *
 * In the master: the directives, a check of the policy while the
 * configuration is read (so `proftpd -t` reports its errors), and, without
 * FtpLimitSocket, an ftplimitd of its own, looked after by a helper process:
 * started at core.startup as ProFTPD's User, restarted if it dies, sent
 * SIGHUP at a ProFTPD restart, stopped at core.shutdown. mod_dso unloads and reloads
 * this module at every restart, so what must outlive it (the daemon's pid and policy)
 * is kept in the master's environment.
 *
 * In a session: CONNECT in sess_init (421 and the end of the session on a
 * refusal); after a PASS that succeeded, the login checks (530 and the end
 * of the session, before ProFTPD's 230 goes out); after a PASS that failed,
 * MaxLoginAttempts. Every event the engine reports for the session is
 * generated again on ProFTPD's bus with ProFTPD's event_data types, so that
 * mod_ban and other listeners react to ftplimit as to mod_auth. When the
 * daemon comes back after being away, the helper has the master send every
 * session SIGUSR2: a session re-declares itself then (or declares itself
 * for the first time, if FtpLimitFailMode open let it in meanwhile).
 */
#include "conf.h"
#include "privs.h"

#include <ftplimit/client.h>
#include <ftplimit/events.h>
#include <ftplimit/session.h>

#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <syslog.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#ifndef MOD_FTPLIMIT_VERSION
#define MOD_FTPLIMIT_VERSION "mod_ftplimit/0.0.0"
#endif
#ifndef FTPLIMITD_PATH
#define FTPLIMITD_PATH "/usr/local/sbin/ftplimitd"
#endif

#define DEFAULT_TIMEOUT_MS 1000
#define STARTUP_WAIT_MS 5000             /* for a daemon of our own to answer */
#define ENV_HELPER "FTPLIMIT_MOD_HELPER" /* "<pid> <policy|socket:PATH>" */
#define ENV_MASTER "FTPLIMIT_MOD_MASTER" /* the master's pid, once started */

module ftplimit_module __attribute__((visibility("default")));

extern xaset_t *server_list; /* ProFTPD's, not in its headers */

/* --- configuration -------------------------------------------------------- */

struct settings {
    bool engine;
    const char *policy; /* FtpLimitPolicy, absolute */
    const char *socket; /* FtpLimitSocket, or NULL: a daemon of our own */
    bool fail_closed;   /* FtpLimitFailMode closed */
    const char *daemon; /* FtpLimitDaemon: the ftplimitd binary */
    const char *log;    /* FtpLimitLog: "syslog" or a file */
    int timeout_ms;     /* FtpLimitTimeout */
};

static void settings_read(const server_rec *srv, struct settings *s)
{
    xaset_t *conf = srv->conf;
    const unsigned char *engine = get_param_ptr(conf, "FtpLimitEngine", FALSE);
    const int *fail = get_param_ptr(conf, "FtpLimitFailMode", FALSE);
    const int *timeout = get_param_ptr(conf, "FtpLimitTimeout", FALSE);
    const char *daemon = get_param_ptr(conf, "FtpLimitDaemon", FALSE);
    const char *log = get_param_ptr(conf, "FtpLimitLog", FALSE);
    s->engine = engine != NULL && *engine;
    s->policy = get_param_ptr(conf, "FtpLimitPolicy", FALSE);
    s->socket = get_param_ptr(conf, "FtpLimitSocket", FALSE);
    s->fail_closed = fail != NULL && *fail;
    s->daemon = daemon != NULL ? daemon : FTPLIMITD_PATH;
    s->log = log != NULL ? log : "syslog";
    s->timeout_ms = timeout != NULL ? *timeout : DEFAULT_TIMEOUT_MS;
}

/* The socket of the daemon we start: beside the scoreboard. */
static const char *own_socket(pool *p)
{
    const char *scoreboard = pr_get_scoreboard();
    const char *slash = scoreboard != NULL ? strrchr(scoreboard, '/') : NULL;
    if (slash == NULL)
        return pstrdup(p, "/run/ftplimitd.sock");
    return pstrcat(p, pstrndup(p, scoreboard, (size_t)(slash - scoreboard)),
                   "/ftplimitd.sock", NULL);
}

static const char *socket_path(pool *p, const struct settings *s)
{
    return s->socket != NULL ? s->socket : own_socket(p);
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

/* The settings of the server a session came to. */
static void session_settings(struct settings *s, const char **socket)
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

/* A string from a client made safe for a log line. */
static const char *safe(pool *p, const char *text)
{
    if (text == NULL)
        return "(none)";
    size_t n = strlen(text) > 256 ? 256 : strlen(text);
    char *out = pcalloc(p, n * 4 + 4), *o = out;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c < 0x20 || c >= 0x7f || c == '\\')
            o += snprintf(o, 5, "\\x%02x", c);
        else
            *o++ = (char)c;
    }
    if (strlen(text) > n)
        memcpy(o, "...", 4);
    return out;
}

/* What a client sent, as the protocol carries it: CR and LF (which ProFTPD
 * may leave inside an argument) become '?', and it is cut at max bytes. A
 * name the engine could not take must not let its session skip the checks
 * (the fail mode is for an engine that cannot be reached). */
static const char *wire_text(pool *p, const char *text, size_t max)
{
    if (text == NULL)
        return NULL;
    char *out = pstrndup(p, text, max);
    for (char *c = out; *c != '\0'; c++) {
        if (*c == '\r' || *c == '\n')
            *c = '?';
    }
    return out;
}

/* usage: FtpLimitEngine on|off */
MODRET set_engine(cmd_rec *cmd)
{
    CHECK_ARGS(cmd, 1);
    CHECK_CONF(cmd, CONF_ROOT | CONF_GLOBAL);
    int on = get_boolean(cmd, 1);
    if (on == -1)
        CONF_ERROR(cmd, "expected on or off");
    config_rec *c = add_config_param(cmd->argv[0], 1, NULL);
    c->argv[0] = pcalloc(c->pool, sizeof(unsigned char));
    *(unsigned char *)c->argv[0] = (unsigned char)on;
    return PR_HANDLED(cmd);
}

/* usage: FtpLimitPolicy PATH -- checked at core.postparse (check_policy),
 * once FtpLimitDaemon is known too. */
MODRET set_policy(cmd_rec *cmd)
{
    CHECK_ARGS(cmd, 1);
    CHECK_CONF(cmd, CONF_ROOT | CONF_GLOBAL);
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

/* --- the master: the helper ------------------------------------------------- *
 *
 * A process forked from the master, the helper, looks after the engine so
 * that no ProFTPD process needs a timer (ProFTPD sleeps 200 ms after every
 * interrupted system call, SIGALRM included). Without FtpLimitSocket it runs
 * our ftplimitd and starts it again when it dies; with it, it watches the
 * daemon there. Whenever the daemon comes back after being away, it sends
 * the master SIGUSR2, which the master passes on to every session: each
 * declares itself again (core.signal.USR2). It dies with the master.
 */

static pid_t helper_pid; /* 0 for none */
static volatile sig_atomic_t helper_stop, helper_reload;
static int helper_log_fd = -1;

static void helper_signal(int sig)
{
    if (sig == SIGHUP)
        helper_reload = 1;
    else
        helper_stop = 1;
}

static void helper_log(int priority, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void helper_log(int priority, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (helper_log_fd < 0) {
        syslog(priority, "%s", msg);
        return;
    }
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", localtime_r(&now, &tm));
    dprintf(helper_log_fd, "%s mod_ftplimit helper: %s\n", when, msg);
}

static void helper_pause(int ms)
{
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* Our ftplimitd, as ProFTPD's User and Group; it dies with the helper. */
static pid_t helper_spawn(const struct settings *s, const char *socket,
                          const char *user, const char *group)
{
    const char *argv[16];
    int n = 0;
    argv[n++] = s->daemon;
    argv[n++] = "-f";
    argv[n++] = "-c";
    argv[n++] = s->policy;
    argv[n++] = "-s";
    argv[n++] = socket;
    argv[n++] = "-l";
    argv[n++] = s->log;
    if (user != NULL && getuid() == 0) {
        argv[n++] = "-u";
        argv[n++] = user;
    }
    if (group != NULL && getuid() == 0) {
        argv[n++] = "-g";
        argv[n++] = group;
    }
    argv[n] = NULL;
    pid_t helper = getpid(), pid = fork();
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        for (int sig = 1; sig < NSIG; sig++)
            signal(sig, SIG_DFL);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != helper)
            _exit(1);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    if (pid < 0)
        helper_log(LOG_ERR, "cannot start %s: %s", s->daemon, strerror(errno));
    else
        helper_log(LOG_NOTICE, "started %s (pid %ld) on %s with %s", s->daemon,
                   (long)pid, socket, s->policy);
    return pid > 0 ? pid : 0;
}

/* A connection to the daemon that answered PING, or NULL. */
static fl_client *helper_reach(const char *socket)
{
    fl_client *c = fl_client_open(socket, 1000);
    char *out = NULL;
    if (c != NULL && fl_client_command(c, "PING", &out, NULL) == 0) {
        free(out);
        return c;
    }
    fl_client_free(c);
    return NULL;
}

/* The helper's life: never returns. */
static void helper_main(const struct settings *s, const char *socket, pid_t master)
{
    /* Keep only what the helper needs from the master it was forked from. */
    const char *user = get_param_ptr(main_server->conf, "UserName", FALSE);
    const char *group = get_param_ptr(main_server->conf, "GroupName", FALSE);
    char user_copy[256] = "", group_copy[256] = "";
    snprintf(user_copy, sizeof user_copy, "%s", user != NULL ? user : "");
    snprintf(group_copy, sizeof group_copy, "%s", group != NULL ? group : "");

    sigset_t none;
    sigemptyset(&none);
    for (int sig = 1; sig < NSIG; sig++)
        signal(sig, SIG_DFL);
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {.sa_handler = helper_signal}; /* no SA_RESTART */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigprocmask(SIG_SETMASK, &none, NULL);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != master)
        _exit(0);
    closefrom(3);
    pr_proctitle_set("%s", s->socket != NULL
                               ? "mod_ftplimit helper (watching ftplimitd)"
                               : "mod_ftplimit helper (running ftplimitd)");
    if (s->socket == NULL && strcmp(s->log, "syslog") != 0)
        helper_log_fd = open(s->log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    else
        openlog("proftpd/mod_ftplimit", LOG_PID, LOG_DAEMON);

    bool runs_it = s->socket == NULL, seen = false;
    pid_t child = 0;
    unsigned failures = 0;
    while (!helper_stop) {
        if (runs_it && child == 0)
            child = helper_spawn(s, socket, user_copy[0] ? user_copy : NULL,
                                 group_copy[0] ? group_copy : NULL);
        /* Until it answers. */
        fl_client *c = NULL;
        while (!helper_stop && (c = helper_reach(socket)) == NULL) {
            if (runs_it && (child == 0 || waitpid(child, NULL, WNOHANG) == child)) {
                child = 0;
                break;
            }
            helper_pause(50);
        }
        if (c != NULL) {
            if (seen) {
                helper_log(LOG_NOTICE,
                           "ftplimitd on %s is back: sessions declare themselves again",
                           socket);
                kill(master, SIGUSR2);
            }
            seen = true;
            failures = 0;
            /* While it runs: a closed connection means it went away. */
            while (!helper_stop) {
                if (helper_reload) {
                    helper_reload = 0;
                    if (runs_it && child > 0)
                        kill(child, SIGHUP);
                }
                struct pollfd p = {.fd = fl_client_fd(c), .events = POLLIN};
                if (poll(&p, 1, 1000) > 0)
                    break;
                if (runs_it && waitpid(child, NULL, WNOHANG) == child) {
                    child = 0;
                    break;
                }
            }
            fl_client_free(c);
        }
        if (helper_stop)
            break;
        if (runs_it && child > 0 && waitpid(child, NULL, WNOHANG) == child)
            child = 0;
        if (runs_it && child == 0) {
            failures++;
            int wait_s = failures < 6 ? 1 << (failures - 1) : 60;
            helper_log(LOG_WARNING, "ftplimitd is gone; starting it again in %d s",
                       wait_s);
            for (int i = 0; i < wait_s * 10 && !helper_stop; i++)
                helper_pause(100);
        } else if (!runs_it) {
            helper_log(LOG_WARNING, "ftplimitd on %s went away; waiting for it",
                       socket);
        }
    }
    if (child > 0) {
        kill(child, SIGTERM);
        for (int i = 0; i < 100 && waitpid(child, NULL, WNOHANG) != child; i++)
            helper_pause(50);
        kill(child, SIGKILL);
    }
    _exit(0);
}

/* Fork the helper (as root, so that it can start ftplimitd as root). */
static void start_helper(const struct settings *s)
{
    const char *socket = socket_path(main_server->pool, s);
    pid_t master = getpid();
    PRIVS_ROOT
    pid_t pid = fork();
    if (pid == 0)
        helper_main(s, socket, master);
    PRIVS_RELINQUISH
    if (pid < 0) {
        pr_log_pri(PR_LOG_ERR, MOD_FTPLIMIT_VERSION ": cannot fork the helper: %s",
                   strerror(errno));
        return;
    }
    helper_pid = pid;
    char value[PR_TUNABLE_PATH_MAX + 64];
    snprintf(value, sizeof value, "%ld %s%s", (long)pid,
             s->socket != NULL ? "socket:" : "",
             s->socket != NULL ? s->socket : s->policy);
    setenv(ENV_HELPER, value, 1);
    /* The first sessions should find the engine there. */
    for (int waited = 0; waited < STARTUP_WAIT_MS; waited += 10) {
        fl_client *c = helper_reach(socket);
        if (c != NULL) {
            fl_client_free(c);
            pr_log_pri(PR_LOG_NOTICE, MOD_FTPLIMIT_VERSION ": ftplimitd answers on %s",
                       socket);
            return;
        }
        if (kill(pid, 0) < 0)
            break;
        pr_timer_usleep(10 * 1000);
    }
    pr_log_pri(PR_LOG_ERR,
               MOD_FTPLIMIT_VERSION ": ftplimitd does not answer on %s; sessions get "
                                    "FtpLimitFailMode %s until it does",
               socket, s->fail_closed ? "closed" : "open");
}

/* The helper a previous load of this module started, if it still runs,
 * with what it serves ("socket:PATH" or the policy). */
static pid_t recall_helper(const char **serves)
{
    const char *value = getenv(ENV_HELPER);
    char *end = NULL;
    long pid = value != NULL ? strtol(value, &end, 10) : 0;
    if (pid <= 0 || end == NULL || *end != ' ' || kill((pid_t)pid, 0) < 0)
        return 0;
    *serves = end + 1;
    return (pid_t)pid;
}

static void stop_helper(void)
{
    if (helper_pid <= 0)
        return;
    PRIVS_ROOT
    kill(helper_pid, SIGTERM);
    /* ProFTPD's SIGCHLD handler reaps it: watch it go with kill(0). */
    for (int i = 0; i < 600 && kill(helper_pid, 0) == 0; i++) {
        (void)waitpid(helper_pid, NULL, WNOHANG);
        pr_timer_usleep(10 * 1000);
    }
    if (kill(helper_pid, 0) == 0)
        kill(helper_pid, SIGKILL);
    PRIVS_RELINQUISH
    helper_pid = 0;
    unsetenv(ENV_HELPER);
}

/* Ask a daemon we did not start to reload its policy. */
static void reload_external(const struct settings *s)
{
    /* As root: the daemon reads who we are when we connect. */
    PRIVS_ROOT
    fl_client *c = fl_client_open(s->socket, s->timeout_ms);
    char *out = NULL;
    int rc = c != NULL ? fl_client_command(c, "RELOAD", &out, NULL) : -1;
    PRIVS_RELINQUISH
    if (rc == 0)
        pr_log_pri(PR_LOG_NOTICE, MOD_FTPLIMIT_VERSION ": ftplimitd on %s reloaded %s",
                   s->socket, out);
    else
        pr_log_pri(
            PR_LOG_WARNING, MOD_FTPLIMIT_VERSION ": cannot reload ftplimitd on %s: %s",
            s->socket,
            c != NULL && *fl_client_error(c) ? fl_client_error(c) : strerror(errno));
    free(out);
    fl_client_free(c);
}

/* The helper says the engine is back: every session declares itself. */
static void on_master_usr2(const void *event_data, void *user_data)
{
    (void)event_data;
    (void)user_data;
    const char *master = getenv(ENV_MASTER);
    if (master == NULL || strtol(master, NULL, 10) != (long)getpid())
        return; /* a session: its inherited copy of the child list is stale */
    PRIVS_ROOT
    for (pr_child_t *ch = child_get(NULL); ch != NULL; ch = child_get(ch))
        kill(ch->ch_pid, SIGUSR2);
    PRIVS_RELINQUISH
}

/* mod_auth enforces MaxLoginAttempts 3 when none is set: in a setup with
 * ftplimit, the policy decides, so mod_auth is given "none". Its other limit
 * directives stay as written (they would count by scanning the scoreboard
 * again): a warning says so. */
static void quiet_mod_auth(void)
{
    static const char *const limits[] = {
        "MaxClients",        "MaxClientsPerClass", "MaxClientsPerHost",
        "MaxClientsPerUser", "MaxHostsPerUser",    "MaxConnectionsPerHost",
        "MaxInstances",      "MaxConnectionRate",  "AnonRejectPasswords",
    };
    for (server_rec *s = (server_rec *)server_list->xas_list; s != NULL; s = s->next) {
        if (find_config(s->conf, CONF_PARAM, "MaxLoginAttempts", FALSE) == NULL) {
            config_rec *c = add_config_param_set(&s->conf, "MaxLoginAttempts", 1, NULL);
            c->argv[0] = pcalloc(c->pool, sizeof(unsigned int));
            *(unsigned int *)c->argv[0] = 0;
        } else {
            pr_log_pri(PR_LOG_WARNING, MOD_FTPLIMIT_VERSION
                       ": MaxLoginAttempts is set in the ProFTPD "
                       "configuration too; both it and the policy's apply");
        }
        for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
            if (find_config(s->conf, CONF_PARAM, limits[i], TRUE) != NULL)
                pr_log_pri(PR_LOG_WARNING,
                           MOD_FTPLIMIT_VERSION
                           ": %s is set in the ProFTPD configuration: "
                           "mod_auth enforces it besides ftplimit's "
                           "policy; leave limits to the policy",
                           limits[i]);
        }
    }
}

/* The daemon's own verdict on the policy it is to load: ftplimitd -t, run
 * here so that `proftpd -t` and a restart report a policy's mistakes with
 * their file and line. NULL if the policy is valid, else what is wrong (its
 * first errors). The module links no policy parser: only the daemon needs
 * one, and every session process is lighter without it. */
static const char *policy_errors(pool *p, const struct settings *s)
{
    int out[2];
    if (pipe2(out, O_CLOEXEC) < 0)
        return pstrcat(p, "cannot check it: pipe: ", strerror(errno), NULL);
    /* ProFTPD's SIGCHLD handler reaps any child; this one is ours to wait for. */
    sigset_t chld, old;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, &old);
    pid_t pid = fork();
    if (pid < 0) {
        int err = errno;
        sigprocmask(SIG_SETMASK, &old, NULL);
        close(out[0]);
        close(out[1]);
        return pstrcat(p, "cannot check it: fork: ", strerror(err), NULL);
    }
    if (pid == 0) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        int null = open("/dev/null", O_RDWR);
        if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(null, STDOUT_FILENO) < 0 ||
            dup2(out[1], STDERR_FILENO) < 0)
            _exit(126);
        closefrom(3);
        execl(s->daemon, s->daemon, "-t", "-c", s->policy, (char *)NULL);
        dprintf(STDERR_FILENO, "cannot run %s: %s\n", s->daemon, strerror(errno));
        _exit(127);
    }
    close(out[1]);
    char text[2048];
    size_t len = 0;
    for (;;) {
        char chunk[512];
        ssize_t n = read(out[0], chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        size_t keep =
            (size_t)n < sizeof text - 1 - len ? (size_t)n : sizeof text - 1 - len;
        memcpy(text + len, chunk, keep); /* the rest is read, and dropped */
        len += keep;
    }
    close(out[0]);
    text[len] = '\0';
    int status = 0;
    pid_t waited;
    while ((waited = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
        ;
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (waited == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return NULL;
    /* One error a line, each with its file and line. */
    char *why = "", *line = text, *next;
    int errors = 0;
    for (; *line != '\0'; line = next) {
        next = line + strcspn(line, "\n");
        if (*next == '\n')
            *next++ = '\0';
        if (*line != '\0' && errors++ < 5)
            why = pstrcat(p, why, errors > 1 ? "; " : "", safe(p, line), NULL);
    }
    if (errors == 0)
        return pstrcat(p, s->daemon, " -t failed", NULL);
    char count[32];
    snprintf(count, sizeof count, "%d", errors);
    return pstrcat(p, count, len == sizeof text - 1 ? " or more" : "",
                   " error(s): ", why, NULL);
}

/* core.postparse: the policy, checked; at startup and for `proftpd -t` a
 * policy with errors is fatal. At a restart it must not stop the server:
 * ftplimitd refuses it too and keeps the one in force. */
static void check_policy(const struct settings *s, bool restart)
{
    if (s->policy == NULL || s->socket != NULL)
        return; /* a daemon of its own checks its own policy */
    pool *p = make_sub_pool(permanent_pool);
    const char *why = policy_errors(p, s);
    if (why != NULL) {
        pr_log_pri(PR_LOG_ERR, "%s" MOD_FTPLIMIT_VERSION ": FtpLimitPolicy %s: %s%s",
                   restart ? "" : "fatal: ", s->policy, why,
                   restart ? "; the policy in force stays" : "");
        if (!restart)
            exit(1);
    }
    destroy_pool(p);
}

static void on_postparse(const void *event_data, void *user_data)
{
    (void)event_data;
    (void)user_data;
    settings_cache();
    struct settings s;
    settings_read(main_server, &s);
    if (!s.engine)
        return;
    if (s.policy == NULL && s.socket == NULL) {
        pr_log_pri(PR_LOG_ERR,
                   "fatal: " MOD_FTPLIMIT_VERSION
                   ": FtpLimitEngine on needs FtpLimitPolicy (a daemon of its own) or "
                   "FtpLimitSocket (a running ftplimitd)");
        exit(1);
    }
    /* A restart (mod_dso loaded this module again): carry on with the
     * daemon started before, or start one now -- there is no core.startup
     * after a restart. */
    const char *master = getenv(ENV_MASTER);
    bool restart = master != NULL && strtol(master, NULL, 10) == (long)getpid();
    check_policy(&s, restart);
    quiet_mod_auth();
    if (!restart)
        return;
    const char *serves = NULL;
    helper_pid = recall_helper(&serves);
    bool same =
        helper_pid > 0 && (s.socket != NULL ? strncmp(serves, "socket:", 7) == 0 &&
                                                  strcmp(serves + 7, s.socket) == 0
                                            : strcmp(serves, s.policy) == 0);
    if (same && s.socket != NULL) {
        reload_external(&s);
    } else if (same) {
        PRIVS_ROOT
        kill(helper_pid, SIGHUP); /* ftplimitd reloads, keeping every count */
        PRIVS_RELINQUISH
        pr_log_pri(PR_LOG_NOTICE, MOD_FTPLIMIT_VERSION ": ftplimitd reloads %s",
                   s.policy);
    } else {
        stop_helper(); /* it served another daemon or policy */
        start_helper(&s);
    }
}

static void on_startup(const void *event_data, void *user_data)
{
    (void)event_data;
    (void)user_data;
    char pid[32];
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    setenv(ENV_MASTER, pid, 1);
    struct settings s;
    settings_read(main_server, &s);
    if (s.engine && (s.socket != NULL || s.policy != NULL) &&
        ServerType == SERVER_STANDALONE)
        start_helper(&s);
}

static void on_shutdown(const void *event_data, void *user_data)
{
    (void)event_data;
    (void)user_data;
    stop_helper();
}

/* --- a session ------------------------------------------------------------- */

static struct {
    struct settings s;
    fl_client *c;
    const char *socket;
    char sid[64];
    char address[64];
    bool active;     /* a session the engine limits */
    bool connecting; /* CONNECT sent, its answer not yet read */
    bool declared;   /* the daemon knows the session */
    bool logged_in;  /* its PASS succeeded */
    bool login_sent; /* USER and PASS ok sent at the authentication-code */
    int failed;      /* failed PASS */
    bool told;       /* the fail mode was logged */
} fs;

/* An event of the engine, generated again on ProFTPD's bus with the
 * event_data ProFTPD gives it: the connection, the user or class name, or
 * NULL. Lifecycle events are ProFTPD's own. */
static void regenerate(void *arg, const char *event, const fl_event_info *info)
{
    (void)arg;
    if (strncmp(event, "core.", 5) == 0 && strcmp(event, FL_EV_MAX_INSTANCES) != 0 &&
        strcmp(event, FL_EV_MAX_CONNECTION_RATE) != 0)
        return;
    pool *p = make_sub_pool(session.pool);
    const void *data = session.c;
    if (strcmp(event, FL_EV_MAX_CLIENTS_PER_USER) == 0 ||
        strcmp(event, FL_EV_MAX_HOSTS_PER_USER) == 0)
        data = info != NULL && info->user != NULL ? pstrdup(p, info->user) : NULL;
    else if (strcmp(event, FL_EV_MAX_CLIENTS_PER_CLASS) == 0)
        data = info != NULL && info->class_name != NULL ? pstrdup(p, info->class_name)
                                                        : NULL;
    else if (strcmp(event, FL_EV_MAX_CLIENTS) == 0 ||
             strcmp(event, FL_EV_MAX_INSTANCES) == 0 ||
             strcmp(event, FL_EV_MAX_CONNECTION_RATE) == 0)
        data = NULL;
    pr_trace_msg("ftplimit", 8, "generating %s", event);
    pr_event_generate(pstrdup(p, event), data);
    destroy_pool(p);
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
                   fs.address, fs.socket, what,
                   fs.c != NULL && *fl_client_error(fs.c) ? fl_client_error(fs.c)
                                                          : strerror(errno),
                   fs.s.fail_closed ? "closed: refused" : "open: allowed");
        fs.told = true;
    }
    return !fs.s.fail_closed;
}

static void refuse(const char *code, const fl_decision *d)
{
    pr_response_send(code, "%s", d->message);
    pr_log_pri(PR_LOG_NOTICE,
               MOD_FTPLIMIT_VERSION ": session from %s refused: %s %s (%s)", fs.address,
               code, d->limit != NULL ? d->limit : "-", safe(session.pool, d->message));
    pr_session_disconnect(&ftplimit_module, PR_SESS_DISCONNECT_CONFIG_ACL,
                          "Denied by ftplimit");
}

/* The daemon went away (it restarts): declare the session to its next
 * self. True when done. */
static bool redeclare(void)
{
    const char *user =
        wire_text(session.pool, pr_table_get(session.notes, "mod_auth.orig-user", NULL),
                  FL_USER_MAX);
    if (fs.declared)
        return fl_client_resume(fs.c) == 0;
    if (fs.c == NULL && (fs.c = fl_client_open(fs.socket, fs.s.timeout_ms)) == NULL)
        return false;
    fl_client_on_event(fs.c, regenerate, NULL);
    if (fl_client_declare(fs.c, fs.sid, fs.address, user, fs.logged_in && user != NULL,
                          fs.failed) < 0) {
        int saved = errno;
        fl_client_free(fs.c); /* a fresh connection next time */
        fs.c = NULL;
        errno = saved;
        return false;
    }
    fs.declared = true;
    return true;
}

/* SIGUSR2, from the master: the engine is back after being away. A session
 * it lost (its connection closed), or never saw (FtpLimitFailMode open let
 * it in meanwhile), declares itself. */
static void on_session_usr2(const void *event_data, void *user_data)
{
    (void)event_data;
    (void)user_data;
    if (!fs.active)
        return; /* the master, or a session with FtpLimitEngine off */
    if (fs.declared && fl_client_fd(fs.c) >= 0) {
        struct pollfd p = {.fd = fl_client_fd(fs.c), .events = POLLIN};
        if (poll(&p, 1, 0) == 0)
            return; /* nothing to read: the connection is alive */
    }
    if (redeclare()) {
        pr_log_pri(PR_LOG_NOTICE,
                   MOD_FTPLIMIT_VERSION ": session from %s declared to ftplimitd again",
                   fs.address);
        fs.told = false;
    }
}

/* The daemon's answer to the login sent at mod_auth.authentication-code.
 * ProFTPD may still have refused the login after the password was checked
 * (RequireValidShell, /etc/ftpusers): a login the engine counted is then
 * undone. 0 with d when settled, -1 when the login is still to be told (the
 * daemon went away meanwhile: engine_login starts over). */
static int finish_early_login(bool ok, fl_decision *d)
{
    fs.login_sent = false;
    if (fl_client_login_finish(fs.c, d) < 0)
        return -1;
    if (ok || d->verdict != FL_ALLOW)
        return 0;
    if (fl_client_logout(fs.c) < 0) {
        /* Whatever the daemon holds, a new declaration says it right. */
        fl_client_free(fs.c);
        fs.c = NULL;
        fs.declared = false;
    }
    return -1;
}

/* USER and PASS to the engine, after re-declaring the session once if the
 * daemon restarted since. -1 when it still cannot be reached. */
static int engine_login(const char *user, bool ok, const char *password, fl_decision *d)
{
    if (fs.login_sent && finish_early_login(ok, d) == 0)
        return 0;
    if (!fs.declared && !redeclare())
        return -1;
    if (fl_client_login(fs.c, user, ok, password, d) == 0)
        return 0;
    if (errno != ECONNRESET && errno != EPIPE && errno != ENOTCONN && errno != EPROTO)
        return -1;
    if (!redeclare())
        return -1;
    return fl_client_login(fs.c, user, ok, password, d);
}

/* mod_auth.authentication-code: ProFTPD has just checked the password, and
 * has the session to set up (groups, chroot, uid, logs) before its 230.
 * A good password's login goes to the daemon now, so that its answer is
 * there by POST_CMD: the round trip no longer adds to the login's latency.
 * Anonymous logins wait for POST_CMD (AnonRejectPasswords needs the
 * password, which this event does not carry). */
static void on_auth_code(const void *event_data, void *user_data)
{
    (void)user_data;
    const int *code = event_data;
    if (!fs.active || !fs.declared || fs.c == NULL || fs.login_sent || fs.logged_in ||
        code == NULL || *code < 0 || session.anon_config != NULL)
        return;
    const char *user = pr_table_get(session.notes, "mod_auth.orig-user", NULL);
    if (user == NULL)
        return;
    pool *p = make_sub_pool(session.pool);
    fs.login_sent =
        fl_client_login_start(fs.c, wire_text(p, user, FL_USER_MAX), true, NULL) == 0;
    destroy_pool(p);
}

/* PASS, as ProFTPD decided it: the engine's login checks, or a failure
 * toward MaxLoginAttempts. */
static void after_pass(cmd_rec *cmd, bool ok)
{
    const char *user = pr_table_get(session.notes, "mod_auth.orig-user", NULL);
    if (!fs.s.engine || user == NULL)
        return;
    /* Only an anonymous password matters (AnonRejectPasswords); no other
     * password ever leaves the session. */
    const char *password = session.anon_config != NULL
                               ? wire_text(cmd->tmp_pool, cmd->arg, FL_PASS_MAX)
                               : NULL;
    fl_decision d;
    /* A session declared now is declared as it was before this PASS. */
    int rc =
        engine_login(wire_text(cmd->tmp_pool, user, FL_USER_MAX), ok, password, &d);
    if (ok)
        fs.logged_in = true;
    else
        fs.failed++;
    if (rc < 0) {
        if (!fail_mode("PASS")) {
            pr_response_send(R_421,
                             "Service not available, closing control connection.");
            pr_session_disconnect(&ftplimit_module, PR_SESS_DISCONNECT_CONFIG_ACL,
                                  "ftplimitd unreachable (FtpLimitFailMode closed)");
        }
        return;
    }
    if (d.verdict == FL_ALLOW)
        return;
    /* After a good password, any refusal ends the session: ProFTPD has
     * already logged it in (an anonymous password refused by
     * AnonRejectPasswords included). After a bad one, only the last try
     * does. */
    if (ok || d.verdict == FL_DISCONNECT)
        refuse(R_530, &d);
}

MODRET ftplimit_post_pass(cmd_rec *cmd)
{
    after_pass(cmd, true);
    return PR_DECLINED(cmd);
}

MODRET ftplimit_post_pass_err(cmd_rec *cmd)
{
    after_pass(cmd, false);
    return PR_DECLINED(cmd);
}

static void on_session_exit(const void *event_data, void *user_data)
{
    (void)event_data;
    (void)user_data;
    if (fs.c != NULL && fs.declared)
        (void)fl_client_close_session(fs.c);
    fl_client_free(fs.c);
    fs.c = NULL;
}

static int connect_start(void)
{
    const char *name = session.c->remote_name;
    /* The DNS name, for DNS class items, when ProFTPD looked it up; one the
     * protocol cannot carry is left out rather than failing the CONNECT
     * (whoever controls the reverse zone must not reach the fail mode). */
    if (name != NULL &&
        (strcmp(name, fs.address) == 0 || strpbrk(name, " \r\n") != NULL ||
         strlen(name) > FL_DNSNAME_MAX))
        name = NULL;
    return fl_client_connect_start(fs.c, fs.sid, fs.address, name);
}

/* The engine cannot be reached at connect: FtpLimitFailMode. */
static void connect_unreachable(void)
{
    if (!fail_mode("CONNECT")) {
        pr_response_send(R_421, "Service not available, closing control connection.");
        pr_session_disconnect(&ftplimit_module, PR_SESS_DISCONNECT_CONFIG_ACL,
                              "ftplimitd unreachable (FtpLimitFailMode closed)");
    }
}

/* core.connected: after every module's sess_init, just before the banner.
 * The daemon decided meanwhile. */
static void on_connected(const void *event_data, void *user_data)
{
    (void)event_data;
    (void)user_data;
    if (!fs.connecting)
        return;
    fs.connecting = false;
    fl_decision d;
    if (fl_client_connect_finish(fs.c, &d) < 0) {
        connect_unreachable();
        return;
    }
    if (d.verdict == FL_DISCONNECT)
        refuse(R_421, &d);
    fs.declared = d.verdict == FL_ALLOW;
}

static int ftplimit_sess_init(void)
{
    session_settings(&fs.s, &fs.socket);
    if (!fs.s.engine || (fs.s.policy == NULL && fs.s.socket == NULL))
        return 0;
    snprintf(fs.address, sizeof fs.address, "%s",
             pr_netaddr_get_ipstr(session.c->remote_addr));
    /* Our own ids: the daemon's are "c<N>"; the pid is unique among live
     * sessions, the time across pid reuse. */
    snprintf(fs.sid, sizeof fs.sid, "p%ld.%llu", (long)getpid(),
             (unsigned long long)session.connect_time_ms);
    fs.active = true;

    /* CONNECT goes out now; its answer is read at core.connected, so that
     * the daemon decides while the other modules set the session up (a
     * daemon woken from idle takes a few hundred microseconds). */
    fs.c = fl_client_open(fs.socket, fs.s.timeout_ms);
    if (fs.c != NULL)
        fl_client_on_event(fs.c, regenerate, NULL);
    if (fs.c == NULL || connect_start() < 0) {
        connect_unreachable();
        return 0;
    }
    fs.connecting = true;
    return 0;
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
    pr_event_register(&ftplimit_module, "core.signal.USR2", on_master_usr2, NULL);
    pr_event_register(&ftplimit_module, "core.signal.USR2", on_session_usr2, NULL);
    pr_event_register(&ftplimit_module, "core.connected", on_connected, NULL);
    pr_event_register(&ftplimit_module, "core.exit", on_session_exit, NULL);
    pr_event_register(&ftplimit_module, "mod_auth.authentication-code", on_auth_code,
                      NULL);
    return 0;
}

/* --- tables ------------------------------------------------------------------ */

static conftable ftplimit_conftab[] = {
    {"FtpLimitEngine", set_engine, NULL},   {"FtpLimitPolicy", set_policy, NULL},
    {"FtpLimitSocket", set_path, NULL},     {"FtpLimitFailMode", set_fail_mode, NULL},
    {"FtpLimitDaemon", set_path, NULL},     {"FtpLimitLog", set_path, NULL},
    {"FtpLimitTimeout", set_timeout, NULL}, {NULL, NULL, NULL},
};

static cmdtable ftplimit_cmdtab[] = {
    {.cmd_type = POST_CMD,
     .command = C_PASS,
     .group = G_NONE,
     .handler = ftplimit_post_pass},
    {.cmd_type = POST_CMD_ERR,
     .command = C_PASS,
     .group = G_NONE,
     .handler = ftplimit_post_pass_err},
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
