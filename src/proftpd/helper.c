/*
 * helper.c - mod_ftplimit in ProFTPD's master process: the policy checked
 * while the configuration is read (so `proftpd -t` reports its errors),
 * the session key, and, without FtpLimitSocket, an ftplimitd of its own,
 * looked after by a helper process.
 *
 * The helper, forked from the master, starts ftplimitd as ProFTPD's User,
 * starts it again when it dies, sends it SIGHUP at a ProFTPD restart and
 * stops it at shutdown; with FtpLimitSocket it watches the daemon there.
 * It PINGs the daemon: when the daemon answers again after being gone or
 * stalled, the helper sends the master SIGUSR2, which the master passes on
 * to every session, and each session that the daemon does not hold (its
 * connection closed, or its request timed out) declares itself. It dies
 * with the master; the daemon dies with it. What the daemon prints on its
 * standard error (a policy that does not load) goes to ProFTPD's
 * SystemLog. No ProFTPD process needs a timer for any of this (ProFTPD
 * sleeps 200 ms after every interrupted system call, SIGALRM included).
 *
 * mod_dso unloads and reloads this module at every restart, so what must
 * outlive it (the master's and the helper's pids, what the helper serves)
 * is kept in the master's environment.
 */
#include "mod_ftplimit.h"
#include "privs.h"

#include "catalog/limits.h"

#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#define STARTUP_WAIT_MS 5000             /* for a daemon of our own to answer */
#define HELPER_TICK_MS 500               /* between two PINGs of the helper */
#define QUICK_DEATH_MS 10000             /* a daemon gone sooner is backed off */
#define ENV_HELPER "FTPLIMIT_MOD_HELPER" /* "<pid> <policy|socket:PATH>" */
#define ENV_MASTER "FTPLIMIT_MOD_MASTER" /* the master's pid, once started */

extern xaset_t *server_list;       /* ProFTPD's, not in its headers */
extern unsigned long max_connects; /* MaxConnectionRate, src/main.c */

/* Who a daemon of our own runs as: FtpLimitDaemonUser (its group, or the
 * user's own when it names none), or ProFTPD's User and Group. */
static void daemon_user(const struct settings *s, const char **user, const char **group)
{
    if (s->daemon_user != NULL) {
        *user = s->daemon_user;
        *group = s->daemon_group;
        return;
    }
    *user = get_param_ptr(main_server->conf, "UserName", FALSE);
    *group = get_param_ptr(main_server->conf, "GroupName", FALSE);
}

/* --- the session key -------------------------------------------------------- */

static fl_session_key key;
static bool have_key;

static const char *key_path(pool *p, const char *socket)
{
    return pstrcat(p, socket, ".key", NULL);
}

/* The key of the daemon on socket: made now for a daemon of our own (which
 * the master starts with it), read for another (which makes it). As root:
 * only its owner may read it. */
static void key_load(const struct settings *s, const char *socket)
{
    pool *p = make_sub_pool(permanent_pool);
    const char *path = key_path(p, socket);
    PRIVS_ROOT
    int rc = fl_session_key_load(path, s->socket == NULL, &key);
    int err = errno;
    PRIVS_RELINQUISH
    if (rc == 0 && !have_key)
        pr_log_debug(DEBUG2, MOD_FTPLIMIT_VERSION ": session key %s read", path);
    if (rc < 0 && (have_key || s->socket == NULL || err != ENOENT))
        pr_log_pri(PR_LOG_WARNING,
                   MOD_FTPLIMIT_VERSION ": cannot read the session key %s (%s): "
                                        "sessions declare themselves by their uid, "
                                        "and one that logged in as another user "
                                        "cannot after ftplimitd restarts",
                   path,
                   err == EPERM    ? "others may read or write it"
                   : err == EINVAL ? "not a key file"
                                   : strerror(err));
    have_key = rc == 0;
    destroy_pool(p);
}

const fl_session_key *master_key(void)
{
    return have_key ? &key : NULL;
}

void master_forget_key(void)
{
    explicit_bzero(&key, sizeof key);
    have_key = false;
}

/* --- the helper ------------------------------------------------------------- */

static volatile sig_atomic_t helper_stop, helper_reload;

static void helper_signal(int sig)
{
    if (sig == SIGHUP)
        helper_reload = 1;
    else
        helper_stop = 1;
}

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* What the helper knows, copied out of the master it was forked from. */
struct helper {
    const struct settings *s;
    const char *socket, *key_path;
    bool runs_it;        /* a daemon of our own, not one on FtpLimitSocket */
    bool no_self_rights; /* the master holds the key: ftplimitd -n */
    pid_t master;
    char user[256], group[256];
    pid_t child;           /* our ftplimitd, 0 for none */
    long long child_since; /* when it was started */
    long long next_start;  /* when to start it again */
    unsigned quick_deaths; /* in a row */
    int err_fd;            /* its standard error, -1 */
    char err[1024];        /* a line of it being read */
    size_t err_len;
    fl_client *c; /* the PING connection, or NULL */
    bool up;      /* the daemon answered the last PING */
    bool seen;    /* it answered once */
    pool *pool;
};

/* What ftplimitd wrote on its standard error (a policy that does not
 * load, a socket it cannot open) goes to ProFTPD's SystemLog, a line at a
 * time: each complete line in the buffer, and with all, the rest too. */
static void helper_log_stderr(struct helper *h, bool all)
{
    char *line = h->err, *end = h->err + h->err_len, *lf;
    while (line < end &&
           ((lf = memchr(line, '\n', (size_t)(end - line))) != NULL || all)) {
        if (lf == NULL)
            lf = end;
        *lf = '\0';
        pr_log_pri(PR_LOG_ERR, MOD_FTPLIMIT_VERSION ": ftplimitd: %s",
                   log_safe(h->pool, line));
        line = lf + 1;
    }
    h->err_len = line < end ? (size_t)(end - line) : 0;
    memmove(h->err, line < end ? line : end, h->err_len);
}

/* Read what there is of it; at the daemon's end (gone), the rest, and
 * close it. */
static void helper_read_stderr(struct helper *h, bool gone)
{
    while (h->err_fd >= 0) {
        if (h->err_len == sizeof h->err - 1)
            helper_log_stderr(h, true); /* a line too long: cut */
        ssize_t n =
            read(h->err_fd, h->err + h->err_len, sizeof h->err - 1 - h->err_len);
        if (n > 0) {
            h->err_len += (size_t)n;
            helper_log_stderr(h, false);
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && errno == EAGAIN && !gone) {
            return;
        } else {
            helper_log_stderr(h, true);
            close(h->err_fd);
            h->err_fd = -1;
        }
    }
}

/* ftplimitd opens its log as ProFTPD's User: the file is made here, by
 * root (no link followed, a regular file only), and given to that user,
 * unless it is some other file's second name. */
static void prepare_log(const struct helper *h)
{
    const char *log = h->s->log;
    struct passwd *pw = h->user[0] != '\0' ? getpwnam(h->user) : NULL;
    if (log == NULL || strcmp(log, "syslog") == 0 || pw == NULL || getuid() != 0)
        return;
    struct group *gr = h->group[0] != '\0' ? getgrnam(h->group) : NULL;
    gid_t gid = gr != NULL ? gr->gr_gid : pw->pw_gid;
    PRIVS_ROOT
    int fd = open(
        log, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0640);
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1 &&
        (st.st_uid != pw->pw_uid || st.st_gid != gid) &&
        fchown(fd, pw->pw_uid, gid) < 0)
        pr_log_pri(PR_LOG_WARNING,
                   MOD_FTPLIMIT_VERSION ": cannot give %s to %s: %s (ftplimitd opens "
                                        "it as that user)",
                   log, h->user, strerror(errno));
    if (fd >= 0)
        close(fd);
    PRIVS_RELINQUISH
}

/* Our ftplimitd, as ProFTPD's User and Group, its standard error to us.
 * Its socket is open to every uid (mode 0666): a session process that has
 * become its user must still reach it after a restart, with its token. */
static void helper_spawn(struct helper *h)
{
    const char *argv[24];
    int n = 0;
    char parent[32];
    snprintf(parent, sizeof parent, "%ld", (long)getpid());
    argv[n++] = h->s->daemon;
    argv[n++] = "-f";
    argv[n++] = "-c";
    argv[n++] = h->s->policy;
    argv[n++] = "-s";
    argv[n++] = h->socket;
    argv[n++] = "-k";
    argv[n++] = h->key_path;
    argv[n++] = "-m";
    argv[n++] = "0666";
    argv[n++] = "-l";
    argv[n++] = h->s->log;
    argv[n++] = "-P";
    argv[n++] = parent;
    if (h->no_self_rights)
        argv[n++] = "-n";
    if (h->user[0] != '\0' && getuid() == 0) {
        argv[n++] = "-u";
        argv[n++] = h->user;
    }
    if (h->group[0] != '\0' && getuid() == 0) {
        argv[n++] = "-g";
        argv[n++] = h->group;
    }
    argv[n] = NULL;
    int err[2];
    if (pipe2(err, O_CLOEXEC) < 0) {
        pr_log_pri(PR_LOG_ERR, MOD_FTPLIMIT_VERSION ": cannot start %s: pipe: %s",
                   h->s->daemon, strerror(errno));
        return;
    }
    prepare_log(h);
    pid_t helper = getpid(), pid = fork();
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        for (int sig = 1; sig < NSIG; sig++)
            signal(sig, SIG_DFL);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        int null = open("/dev/null", O_RDWR);
        if (getppid() != helper || null < 0 || dup2(null, STDIN_FILENO) < 0 ||
            dup2(null, STDOUT_FILENO) < 0 || dup2(err[1], STDERR_FILENO) < 0)
            _exit(1);
        execv(argv[0], (char *const *)argv);
        dprintf(STDERR_FILENO, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(err[1]);
    if (pid < 0) {
        pr_log_pri(PR_LOG_ERR, MOD_FTPLIMIT_VERSION ": cannot start %s: %s",
                   h->s->daemon, strerror(errno));
        close(err[0]);
        return;
    }
    fcntl(err[0], F_SETFL, O_NONBLOCK);
    h->err_fd = err[0];
    h->err_len = 0;
    h->child = pid;
    h->child_since = now_ms();
    pr_log_pri(PR_LOG_NOTICE,
               MOD_FTPLIMIT_VERSION ": started %s (pid %ld) on %s with %s",
               h->s->daemon, (long)pid, h->socket, h->s->policy);
}

/* Our ftplimitd ended: say how, and when it starts again -- at once after
 * a long run, backing off while it keeps dying young. */
static void helper_child_ended(struct helper *h, int status)
{
    helper_read_stderr(h, true);
    long long now = now_ms();
    h->quick_deaths = now - h->child_since < QUICK_DEATH_MS ? h->quick_deaths + 1 : 0;
    /* At once, then 1, 2, 4 ... 60 s while it keeps dying young. */
    unsigned n = h->quick_deaths;
    long long delay = n <= 1 ? 0 : n - 2 >= 6 ? 60000 : 1000LL << (n - 2);
    h->next_start = now + delay;
    char how[64];
    if (WIFEXITED(status))
        snprintf(how, sizeof how, "exited with status %d", WEXITSTATUS(status));
    else
        snprintf(how, sizeof how, "was killed by signal %d", WTERMSIG(status));
    pr_log_pri(PR_LOG_WARNING,
               MOD_FTPLIMIT_VERSION ": ftplimitd %s; starting it again in %lld s; "
                                    "until it answers, sessions get FtpLimitFailMode "
                                    "%s",
               how, delay / 1000,
               h->s->fail_closed ? "closed (refused with 421)" : "open (let in)");
    h->child = 0;
}

/* One PING: does the daemon answer within the sessions' own timeout? A
 * daemon slower than that fails the sessions too, which then wait to be
 * told it is back. */
static bool helper_ping(struct helper *h)
{
    if (h->c == NULL && (h->c = fl_client_open(h->socket, h->s->timeout_ms)) == NULL)
        return false;
    char *out = NULL;
    if (fl_client_command(h->c, "PING", &out, NULL) == 0) {
        free(out);
        return true;
    }
    fl_client_free(h->c);
    h->c = NULL;
    return false;
}

/* The daemon answers, or stopped answering. Whenever it answers after not
 * answering, every session it does not hold must declare itself: the
 * master is told -- at start too, for a session may have come before the
 * daemon answered (the master, waiting for it then, handles the signal
 * without a pause). */
static void helper_watch(struct helper *h)
{
    bool up = helper_ping(h);
    if (up && !h->up) {
        if (h->seen)
            pr_log_pri(PR_LOG_NOTICE,
                       MOD_FTPLIMIT_VERSION ": ftplimitd answers on %s again: sessions "
                                            "declare themselves",
                       h->socket);
        kill(h->master, SIGUSR2);
        h->seen = true;
    } else if (!up && h->up) {
        pr_log_pri(PR_LOG_WARNING, MOD_FTPLIMIT_VERSION ": ftplimitd on %s %s",
                   h->socket,
                   h->runs_it ? "stopped answering" : "went away; waiting for it");
    }
    h->up = up;
}

/* Sleep until the next tick, waking at once when the daemon closes the
 * PING connection (it died) or writes on its standard error. */
static void helper_wait(struct helper *h, int ms)
{
    struct pollfd p[2] = {
        {.fd = h->c != NULL ? fl_client_fd(h->c) : -1, .events = POLLIN},
        {.fd = h->err_fd, .events = POLLIN}};
    if (poll(p, 2, ms) <= 0)
        return;
    if (p[1].revents != 0)
        helper_read_stderr(h, false);
    if (p[0].revents != 0) {
        fl_client_free(h->c); /* the daemon sends nothing unasked: it is gone */
        h->c = NULL;
    }
}

/* The helper's life: never returns. */
static void helper_main(struct helper *h)
{
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
    if (getppid() != h->master)
        _exit(0);
    closefrom(3);
    /* Descriptors 0 to 2 taken, so that no pipe of ours lands there. */
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd)
            _exit(1);
    }
    log_opensyslog(NULL); /* ProFTPD's SystemLog (or syslog), as the master's */
    h->pool = make_sub_pool(permanent_pool);
    pr_proctitle_set("%s", h->runs_it ? "mod_ftplimit helper (running ftplimitd)"
                                      : "mod_ftplimit helper (watching ftplimitd)");
    h->err_fd = -1;
    while (!helper_stop) {
        if (helper_reload) {
            helper_reload = 0;
            if (h->child > 0)
                kill(h->child, SIGHUP);
        }
        int status;
        if (h->child > 0 && waitpid(h->child, &status, WNOHANG) == h->child)
            helper_child_ended(h, status);
        if (h->runs_it && h->child == 0 && now_ms() >= h->next_start)
            helper_spawn(h);
        helper_watch(h);
        /* While the daemon does not answer, look again soon: the sessions
         * wait to hear it is back. */
        helper_wait(h, h->up ? HELPER_TICK_MS : HELPER_TICK_MS / 10);
    }
    if (h->child > 0) {
        kill(h->child, SIGTERM);
        for (int i = 0; i < 100 && waitpid(h->child, NULL, WNOHANG) != h->child; i++) {
            struct timespec t = {0, 50 * 1000000L};
            nanosleep(&t, NULL);
        }
        kill(h->child, SIGKILL);
    }
    _exit(0);
}

static pid_t helper_pid; /* 0 for none */

/* A daemon that answers PING on socket right now. */
static bool daemon_answers(const char *socket)
{
    fl_client *c = fl_client_open(socket, 1000);
    char *out = NULL;
    bool ok = c != NULL && fl_client_command(c, "PING", &out, NULL) == 0;
    free(out);
    fl_client_free(c);
    return ok;
}

/* What a helper serves, as ENV_HELPER keeps it: another daemon's socket,
 * or our daemon's policy, binary and log. A restart that changes it (a
 * new FtpLimitLog, say) starts a new helper, and so a new daemon; the
 * sessions declare themselves to it. */
static const char *serves_text(pool *p, const struct settings *s)
{
    if (s->socket != NULL)
        return pstrcat(p, "socket:", s->socket, NULL);
    return pstrcat(p, s->policy, "\tdaemon:", s->daemon != NULL ? s->daemon : "-",
                   "\tlog:", s->log != NULL ? s->log : "-",
                   "\tuser:", s->daemon_user != NULL ? s->daemon_user : "-", ":",
                   s->daemon_group != NULL ? s->daemon_group : "-", NULL);
}

/* Fork the helper (as root, so that it can start ftplimitd as root). */
static void start_helper(const struct settings *s)
{
    const char *socket = socket_path(main_server->pool, s);
    struct helper h = {
        .s = s,
        .socket = socket,
        .key_path = key_path(main_server->pool, socket),
        .runs_it = s->socket == NULL,
        .no_self_rights = have_key,
        .master = getpid(),
    };
    const char *user, *group;
    daemon_user(s, &user, &group);
    snprintf(h.user, sizeof h.user, "%s", user != NULL ? user : "");
    snprintf(h.group, sizeof h.group, "%s", group != NULL ? group : "");
    PRIVS_ROOT
    pid_t pid = fork();
    if (pid == 0)
        helper_main(&h);
    PRIVS_RELINQUISH
    if (pid < 0) {
        pr_log_pri(PR_LOG_ERR, MOD_FTPLIMIT_VERSION ": cannot fork the helper: %s",
                   strerror(errno));
        return;
    }
    helper_pid = pid;
    char value[3 * PR_TUNABLE_PATH_MAX + 64];
    snprintf(value, sizeof value, "%ld %s", (long)pid,
             serves_text(main_server->pool, s));
    setenv(ENV_HELPER, value, 1);
    /* The first sessions should find the engine there. */
    for (int waited = 0; waited < STARTUP_WAIT_MS; waited += 10) {
        if (daemon_answers(socket)) {
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

static bool in_master(void)
{
    const char *master = getenv(ENV_MASTER);
    return master != NULL && strtol(master, NULL, 10) == (long)getpid();
}

/* The helper says the daemon is back: every session declares itself (a
 * session's own handler, session.c, does that part). */
void master_usr2(void)
{
    if (!in_master())
        return; /* a session: its inherited copy of the child list is stale */
    struct settings s;
    settings_read(main_server, &s);
    if (s.engine && !have_key)
        key_load(&s, socket_path(main_server->pool, &s)); /* it made one since */
    if (child_count() == 0)
        return; /* no session yet: ProFTPD has no child list to walk */
    PRIVS_ROOT
    for (pr_child_t *ch = child_get(NULL); ch != NULL; ch = child_get(ch))
        kill(ch->ch_pid, SIGUSR2);
    PRIVS_RELINQUISH
}

/* --- the configuration --------------------------------------------------------- */

/* With FtpLimitSocket, another daemon's policy decides: ProFTPD's own
 * limits cannot become its policy, so they stay ProFTPD's (they count by
 * scanning the scoreboard again), and a warning says so. mod_auth enforces
 * MaxLoginAttempts 3 when none is set (and mod_sftp 6): the policy
 * decides, so both are given "none". */
static void quiet_mod_auth(void)
{
    static const char warning[] = MOD_FTPLIMIT_VERSION
        ": %s is set in the ProFTPD configuration: ProFTPD enforces it besides "
        "ftplimit's policy; leave limits to the policy";
    const char *attempts = fl_limit_descs[FL_L_LOGIN_ATTEMPTS].directive;
    for (server_rec *s = (server_rec *)server_list->xas_list; s != NULL; s = s->next) {
        struct settings st;
        settings_read(s, &st);
        if (!st.engine)
            continue; /* FtpLimitEngine off: mod_auth's server */
        if (find_config(s->conf, CONF_PARAM, attempts, FALSE) == NULL) {
            config_rec *c = add_config_param_set(&s->conf, attempts, 1, NULL);
            c->argv[0] = pcalloc(c->pool, sizeof(unsigned int));
            *(unsigned int *)c->argv[0] = 0;
        } else {
            pr_log_pri(PR_LOG_WARNING,
                       MOD_FTPLIMIT_VERSION ": %s is set in the ProFTPD configuration "
                                            "too; both it and the policy's apply",
                       attempts);
        }
        /* The limits mod_auth enforces itself (catalog/limits.def). */
        for (size_t i = 0; i < FL_L_COUNT; i++) {
            const struct fl_limit_desc *l = &fl_limit_descs[i];
            if ((l->proftpd == FL_PR_COUNTED || l->proftpd == FL_PR_CHECKED) &&
                find_config(s->conf, CONF_PARAM, l->directive, TRUE) != NULL)
                pr_log_pri(PR_LOG_WARNING, warning, l->directive);
        }
    }
    /* These two are the master's alone, held in its variables. */
    if (ServerMaxInstances > 0)
        pr_log_pri(PR_LOG_WARNING, warning,
                   fl_limit_descs[FL_L_MAX_INSTANCES].directive);
    if (max_connects > 0)
        pr_log_pri(PR_LOG_WARNING, warning, fl_limit_descs[FL_L_RATE].directive);
}

/* The daemon's own verdict on the policy it is to load: ftplimitd -t, run
 * here so that `proftpd -t` and a restart report a policy's mistakes with
 * their file and line. NULL if the policy is valid, else what is wrong (its
 * first errors). The module links no policy parser: only the daemon needs
 * one, and every session process is lighter without it. */
#define CHECK_TIMEOUT_MS 10000
#define CHECK_TIMEOUT_TEXT "10 s"
static const char *policy_errors(pool *p, const struct settings *s,
                                 const char **description)
{
    *description = NULL;
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
        if (null < 0 || dup2(null, STDIN_FILENO) < 0 ||
            dup2(out[1], STDOUT_FILENO) < 0 || dup2(out[1], STDERR_FILENO) < 0)
            _exit(126);
        closefrom(3);
        /* As the daemon's user: what it reads and writes, it can. */
        const char *user, *group;
        daemon_user(s, &user, &group);
        if (getuid() == 0 && user != NULL && group != NULL &&
            seteuid(0) == 0) /* ftplimitd -t becomes the user itself */
            execl(s->daemon, s->daemon, "-t", "-c", s->policy, "-u", user, "-g", group,
                  (char *)NULL);
        else if (getuid() == 0 && user != NULL && seteuid(0) == 0)
            execl(s->daemon, s->daemon, "-t", "-c", s->policy, "-u", user,
                  (char *)NULL);
        else
            execl(s->daemon, s->daemon, "-t", "-c", s->policy, (char *)NULL);
        dprintf(STDERR_FILENO, "cannot run %s: %s\n", s->daemon, strerror(errno));
        _exit(127);
    }
    close(out[1]);
    char text[16384];
    size_t len = 0;
    /* A policy the daemon cannot finish checking (it bounds what a policy
     * may make it read, but a stuck file system is not in its hands) must
     * not hold ProFTPD's start: -t has CHECK_TIMEOUT_MS. */
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    bool timed_out = false;
    for (;;) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long long left = CHECK_TIMEOUT_MS - ((now.tv_sec - t0.tv_sec) * 1000LL +
                                             (now.tv_nsec - t0.tv_nsec) / 1000000);
        struct pollfd pfd = {.fd = out[0], .events = POLLIN};
        int ready = left > 0 ? poll(&pfd, 1, (int)left) : 0;
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready == 0) {
            timed_out = true;
            kill(pid, SIGKILL);
            break;
        }
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
    if (timed_out)
        return pstrcat(p, s->daemon, " -t did not finish within ", CHECK_TIMEOUT_TEXT,
                       " and was stopped", NULL);
    if (waited == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        *description = pstrdup(p, text); /* what the policy enforces */
        return NULL;
    }
    /* One error a line, each with its file and line. */
    char *why = "", *line = text, *next;
    int errors = 0;
    for (; *line != '\0'; line = next) {
        next = line + strcspn(line, "\n");
        if (*next == '\n')
            *next++ = '\0';
        if (*line != '\0' && errors++ < 5)
            why = pstrcat(p, why, errors > 1 ? "; " : "",
                          log_safe(p, config_explain(p, line)), NULL);
    }
    if (errors == 0)
        return pstrcat(p, s->daemon, " -t failed", NULL);
    char count[32];
    snprintf(count, sizeof count, "%d", errors);
    return pstrcat(p, count, len == sizeof text - 1 ? " or more" : "",
                   " error(s): ", why, NULL);
}

/* What the policy enforces (ftplimitd -t's description), logged as the
 * configuration is read -- on standard error at a start, which is where
 * `proftpd -t` shows it -- and again at core.startup, once the SystemLog is
 * open. It lives as long as the configuration it comes from (a restart
 * reads both afresh). */
static const char *enforced;

static void enforced_log(void)
{
    pool *p = make_sub_pool(permanent_pool);
    char *line = enforced != NULL ? pstrdup(p, enforced) : NULL, *next;
    for (; line != NULL && *line != '\0'; line = next) {
        next = line + strcspn(line, "\n");
        if (*next == '\n')
            *next++ = '\0';
        if (strncmp(line, "  ", 2) == 0) /* the lines after "... is valid" */
            pr_log_pri(PR_LOG_NOTICE, MOD_FTPLIMIT_VERSION ": enforces %s",
                       log_safe(p, line + 2));
    }
    destroy_pool(p);
}

/* The policy, checked; at startup and for `proftpd -t` a policy with
 * errors is fatal. At a restart it must not stop the server: ftplimitd
 * refuses it too and keeps the one in force. What a valid policy enforces,
 * server by server, goes to the log (to the terminal, for `proftpd -t`). */
static void check_policy(const struct settings *s, bool restart)
{
    if (s->policy == NULL || s->socket != NULL)
        return; /* a daemon of its own checks its own policy */
    pool *p = make_sub_pool(permanent_pool);
    const char *description;
    const char *why = policy_errors(p, s, &description);
    if (why != NULL) {
        pr_log_pri(PR_LOG_ERR, "%s" MOD_FTPLIMIT_VERSION ": the limits: %s%s",
                   restart ? "" : "fatal: ", why,
                   restart ? "; the limits in force stay" : "");
        if (!restart)
            exit(1);
    }
    if (why == NULL) {
        enforced = pstrdup(main_server->pool, description);
        enforced_log();
    }
    destroy_pool(p);
}

/* What a daemon of our own leaves in run_dir(): its socket (the daemon,
 * no longer root, may not remove it there), the session key and the
 * policy written for it. Only at a stop of ProFTPD: a restart keeps them. */
static void remove_run_files(const struct settings *s)
{
    pool *p = make_sub_pool(permanent_pool);
    const char *socket = socket_path(p, s);
    const char *policy = config_policy_path(p);
    PRIVS_ROOT
    struct stat st;
    if (lstat(socket, &st) == 0 && S_ISSOCK(st.st_mode) && !daemon_answers(socket))
        (void)unlink(socket);
    (void)unlink(key_path(p, socket));
    (void)unlink(policy);
    (void)unlink(pstrcat(p, policy, ".new", NULL));
    PRIVS_RELINQUISH
    destroy_pool(p);
}

/* The directory of run_dir(), made if it is not there (root's, 0755): the
 * daemon binds its socket there as root. */
static const char *make_run_dir(void)
{
    pool *p = make_sub_pool(permanent_pool);
    const char *dir = run_dir(p), *why = NULL;
    PRIVS_ROOT
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        why = pstrcat(main_server->pool, "cannot make ", dir, ": ", strerror(errno),
                      NULL);
    PRIVS_RELINQUISH
    destroy_pool(p);
    return why;
}

/* The settings the master runs with: the main server's, and for a daemon
 * of its own, the policy written from ProFTPD's configuration. */
static void master_settings(struct settings *s, pool *p)
{
    settings_read(main_server, s);
    if (s->engine && s->socket == NULL)
        s->policy = config_policy_path(p);
}

void master_postparse(void)
{
    struct settings s;
    settings_read(main_server, &s);
    if (!s.engine)
        return;
    bool restart = in_master();
    if (s.socket == NULL) {
        /* A daemon of our own: ProFTPD's limits, with FtpLimitPolicy, are
         * its policy, and ftplimit enforces them in place of mod_auth. */
        const char *why = make_run_dir();
        const char *policy =
            why == NULL ? config_write_policy(main_server->pool, &s, &why) : NULL;
        if (policy == NULL) {
            pr_log_pri(PR_LOG_ERR, "%s" MOD_FTPLIMIT_VERSION ": %s",
                       restart ? "" : "fatal: ", why);
            if (!restart)
                exit(1);
            return;
        }
        s.policy = policy;
        check_policy(&s, restart);
        config_take_over();
    } else {
        quiet_mod_auth(); /* another daemon's policy: ProFTPD's limits stay its */
    }
    /* A restart (mod_dso loaded this module again): carry on with the
     * daemon started before, or start one now -- there is no core.startup
     * after a restart. */
    if (!restart)
        return;
    key_load(&s, socket_path(main_server->pool, &s));
    const char *serves = NULL;
    helper_pid = recall_helper(&serves);
    bool same =
        helper_pid > 0 && strcmp(serves, serves_text(main_server->pool, &s)) == 0;
    if (same && s.socket != NULL) {
        reload_external(&s);
    } else if (same) {
        PRIVS_ROOT
        kill(helper_pid, SIGHUP); /* ftplimitd reloads, keeping every count */
        PRIVS_RELINQUISH
        pr_log_pri(PR_LOG_NOTICE, MOD_FTPLIMIT_VERSION ": ftplimitd reloads %s",
                   s.policy);
    } else {
        /* It served another daemon, or ours with other settings. */
        if (helper_pid > 0)
            pr_log_pri(PR_LOG_NOTICE,
                       MOD_FTPLIMIT_VERSION ": ftplimitd's settings changed (%s): it "
                                            "starts again, and the sessions declare "
                                            "themselves to it",
                       serves_text(main_server->pool, &s));
        stop_helper();
        start_helper(&s);
    }
}

void master_startup(void)
{
    char pid[32];
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    setenv(ENV_MASTER, pid, 1);
    struct settings s;
    master_settings(&s, main_server->pool);
    if (!s.engine)
        return;
    enforced_log(); /* now in the SystemLog too */
    key_load(&s, socket_path(main_server->pool, &s));
    if (ServerType == SERVER_STANDALONE)
        start_helper(&s);
}

void master_shutdown(void)
{
    struct settings s;
    settings_read(main_server, &s);
    bool ours = helper_pid > 0 && s.engine && s.socket == NULL;
    stop_helper();
    if (ours)
        remove_run_files(&s);
}
