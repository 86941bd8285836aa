/*
 * main.c - ftplimitd: one engine for FTP servers that fork a process per
 * session. Options, the socket, privileges, daemonising, the pidfile.
 *
 * Everything that can fail with a useful message (the policy, the socket,
 * the user) is done before the daemon leaves the terminal, so that a bad
 * start is reported where it was asked for.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <ftplimit/client.h>
#include <ftplimit/ftplimit.h>

#include "log.h"
#include "util/text.h"
#include "server.h"

#ifndef FL_DEFAULT_POLICY
#define FL_DEFAULT_POLICY "/etc/ftplimit/ftplimit.conf"
#endif
#ifndef FL_DEFAULT_SOCKET
#define FL_DEFAULT_SOCKET "/run/ftplimit/ftplimitd.sock"
#endif

struct options {
    const char *policy;
    const char *socket;
    const char *key; /* -k: the session key's file, NULL for SOCKET.key */
    const char *user;
    const char *group;
    const char *pidfile;
    const char *log; /* -l: "syslog" or a file */
    mode_t mode;
    pid_t parent; /* -P: die with this process, which started the daemon */
    bool foreground;
    bool no_self_rights; /* -n: the daemon's uid gets no rights by default */
    bool check;          /* -t: check the policy, and exit */
    int idle;            /* -T: seconds a connection may be nothing (0: default) */
};

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: ftplimitd [-c POLICY] [-s SOCKET] [-k KEYFILE] [-u USER] [-g GROUP] "
        "[-m MODE] [-f] [-p PIDFILE] [-l syslog|FILE] [-n] [-P PID] [-T SECONDS]\n"
        "       ftplimitd -t [-c POLICY] [-u USER] [-g GROUP]\n"
        "       ftplimitd --help | --version\n"
        "  -c POLICY   policy file (default %s)\n"
        "  -s SOCKET   Unix socket to listen on (default %s)\n"
        "  -k KEYFILE  the session key shared with the servers, made if missing\n"
        "              (default SOCKET.key)\n"
        "  -u USER     run as USER once the socket is open\n"
        "  -g GROUP    group of the socket (default USER's, or the daemon's)\n"
        "  -m MODE     permissions of the socket, octal (default 0660)\n"
        "  -f          stay in the foreground and log to standard error\n"
        "  -p PIDFILE  write the daemon's pid there, remove it at exit\n"
        "  -l DEST     log to syslog, or append to the file DEST (default: standard\n"
        "              error with -f, syslog without)\n"
        "  -n          grant the daemon's own uid no rights by default (it is shared\n"
        "              with the server's session processes)\n"
        "  -P PID      stop when process PID, which started the daemon, ends\n"
        "  -T SECONDS  close a connection that is neither a session nor a watcher\n"
        "              once it has sent no request for SECONDS (default 30; root's\n"
        "              and the daemon's own uid's stay)\n"
        "  -t          check the policy and exit: 0 if it loads, 2 with each error on\n"
        "              standard error\n"
        "See ftplimitd(8).\n",
        FL_DEFAULT_POLICY, FL_DEFAULT_SOCKET);
}

static int parse_options(int argc, char **argv, struct options *o)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            exit(0);
        }
        if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-V") == 0) {
            printf("ftplimitd %s\n", FL_VERSION);
            exit(0);
        }
    }
    *o = (struct options){
        .policy = FL_DEFAULT_POLICY, .socket = FL_DEFAULT_SOCKET, .mode = 0660};
    int opt;
    while ((opt = getopt(argc, argv, "c:s:k:u:g:m:fp:l:nP:T:th")) != -1) {
        switch (opt) {
        case 'c':
            o->policy = optarg;
            break;
        case 's':
            o->socket = optarg;
            break;
        case 'k':
            o->key = optarg;
            break;
        case 'n':
            o->no_self_rights = true;
            break;
        case 'P': {
            char *end;
            long pid = strtol(optarg, &end, 10);
            if (*end != '\0' || pid <= 1) {
                fprintf(stderr,
                        "ftplimitd: -P wants the pid of the starting process\n");
                return -1;
            }
            o->parent = (pid_t)pid;
            break;
        }
        case 'u':
            o->user = optarg;
            break;
        case 'g':
            o->group = optarg;
            break;
        case 'p':
            o->pidfile = optarg;
            break;
        case 'f':
            o->foreground = true;
            break;
        case 'l':
            o->log = optarg;
            break;
        case 'm': {
            char *end;
            unsigned long m = strtoul(optarg, &end, 8);
            if (*end != '\0' || m > 0777) {
                fprintf(stderr, "ftplimitd: -m wants an octal mode such as 0660\n");
                return -1;
            }
            o->mode = (mode_t)m;
            break;
        }
        case 'T': {
            char *end;
            long s = strtol(optarg, &end, 10);
            if (*end != '\0' || s < 1 || s > 86400) {
                fprintf(stderr, "ftplimitd: -T wants seconds, 1 to 86400\n");
                return -1;
            }
            o->idle = (int)s;
            break;
        }
        case 't':
            o->check = true;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return -1;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return -1;
    }
    return 0;
}

static void print_policy_error(void *arg, const char *message)
{
    (void)arg;
    fprintf(stderr, "%s\n", message);
}

/* Listen on path. A socket file nobody answers on is stale and replaced; one
 * that answers belongs to a running daemon, which is an error. */
static int open_socket(const char *path, mode_t mode, uid_t uid, gid_t gid)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sun.sun_path) {
        fprintf(stderr, "ftplimitd: socket path '%s' is longer than %zu bytes\n", path,
                sizeof sun.sun_path - 1);
        return -1;
    }
    memcpy(sun.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        perror("ftplimitd: socket");
        return -1;
    }

    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            fprintf(stderr, "ftplimitd: %s exists and is not a socket\n", path);
            close(fd);
            return -1;
        }
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        bool alive =
            probe >= 0 && connect(probe, (struct sockaddr *)&sun, sizeof sun) == 0;
        if (probe >= 0)
            close(probe);
        if (alive) {
            fprintf(stderr, "ftplimitd: another daemon already listens on %s\n", path);
            close(fd);
            return -1;
        }
        unlink(path);
    }

    mode_t old = umask(0177);
    int rc = bind(fd, (struct sockaddr *)&sun, sizeof sun);
    umask(old);
    if (rc < 0 || chmod(path, mode) < 0 ||
        ((uid != (uid_t)-1 || gid != (gid_t)-1) && chown(path, uid, gid) < 0) ||
        listen(fd, 512) < 0) {
        fprintf(stderr, "ftplimitd: cannot listen on %s: %s\n", path, strerror(errno));
        close(fd);
        unlink(path);
        return -1;
    }
    return fd;
}

/* The session key, read (or made) while the daemon may still read and
 * write as root. Without one, sessions declare themselves by uid alone. */
static bool load_session_key(const char *path, fl_session_key *key)
{
    if (fl_session_key_load(path, true, key) == 0)
        return true;
    log_msg(LOG_WARNING,
            "no session key (%s: %s): session tokens are refused, and sessions "
            "declare themselves by uid alone (AllowSessions)",
            path,
            errno == EPERM    ? "others may read or write it"
            : errno == EINVAL ? "not a key file"
                              : strerror(errno));
    return false;
}

/* -P: stop when the process that started the daemon ends. The kernel forgets
 * a parent-death signal when the credentials change, so it is set after
 * the privileges are dropped, and the parent checked once more (it may
 * have gone in between). SIGTERM, read by the loop's signalfd, stops the
 * daemon as cleanly as anyone's. */
static int follow_parent(pid_t parent)
{
    if (parent == 0)
        return 0;
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent) {
        log_msg(LOG_ERR, "the process that started the daemon (pid %ld) is gone",
                (long)parent);
        return -1;
    }
    return 0;
}

/* The capabilities a daemon that is not root keeps: CAP_NET_ADMIN for
 * BanFirewall (its sets in the kernel), else none -- whatever it was given
 * (systemd's AmbientCapabilities=). None is passed on to exec listeners:
 * the ambient set is emptied. */
static int settle_capabilities(bool net_admin)
{
    if (geteuid() == 0)
        return 0; /* root keeps root's */
    (void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    struct __user_cap_header_struct head = {.version = _LINUX_CAPABILITY_VERSION_3};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    if (net_admin)
        data[CAP_NET_ADMIN / 32].effective = data[CAP_NET_ADMIN / 32].permitted =
            1u << (CAP_NET_ADMIN % 32);
    if (syscall(SYS_capset, &head, data) < 0) {
        fprintf(stderr, "ftplimitd: cannot %s: %s\n",
                net_admin ? "keep CAP_NET_ADMIN for BanFirewall (bans stay out of the "
                            "kernel)"
                          : "drop its capabilities",
                strerror(errno));
        return net_admin ? 0 : -1; /* BanFirewall then says it is off */
    }
    return 0;
}

/* Become user (and group), for good; with net_admin, keeping
 * CAP_NET_ADMIN alone. */
static int drop_privileges(const struct passwd *pw, gid_t gid, bool net_admin)
{
    if (net_admin && pw->pw_uid != 0)
        (void)prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
    if (initgroups(pw->pw_name, gid) < 0 || setgid(gid) < 0 || setuid(pw->pw_uid) < 0) {
        fprintf(stderr, "ftplimitd: cannot become %s: %s\n", pw->pw_name,
                strerror(errno));
        return -1;
    }
    (void)prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
    if (pw->pw_uid != 0 && setuid(0) == 0) {
        fprintf(stderr, "ftplimitd: privileges were not dropped\n");
        return -1;
    }
    return settle_capabilities(net_admin);
}

/* Act as pw's user and gid for a while (on), or as root again (off). */
static int as_user(const struct passwd *pw, gid_t gid, bool on)
{
    if (getuid() != 0)
        return 0; /* not root: the daemon is its own user already */
    int rc = on ? (initgroups(pw->pw_name, gid) < 0 || setegid(gid) < 0 ||
                   seteuid(pw->pw_uid) < 0)
                : (seteuid(0) < 0 || setegid(0) < 0);
    if (rc != 0)
        fprintf(stderr, "ftplimitd: cannot act as %s: %s\n", pw->pw_name,
                strerror(errno));
    return rc != 0 ? -1 : 0;
}

/* Detaches from the terminal. The command that started the daemon returns
 * only once the daemon is ready (its pidfile written): *ready is a pipe that
 * daemon_ready() closes; if it closes without a byte, startup failed. */
static int daemonize(int *ready)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid > 0) {
        close(fds[1]);
        char byte;
        ssize_t n;
        while ((n = read(fds[0], &byte, 1)) < 0 && errno == EINTR)
            ;
        _exit(n == 1 ? 0 : 1);
    }
    close(fds[0]);
    /* Keep it clear of the descriptors 0-2 that /dev/null replaces below. */
    *ready = fds[1] > STDERR_FILENO ? fds[1] : fcntl(fds[1], F_DUPFD_CLOEXEC, 3);
    if (setsid() < 0)
        return -1;
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid > 0)
        _exit(0);
    if (chdir("/") < 0)
        return -1;
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0)
        return -1;
    dup2(null, STDIN_FILENO);
    dup2(null, STDOUT_FILENO);
    dup2(null, STDERR_FILENO);
    if (null > STDERR_FILENO)
        close(null);
    return 0;
}

static void daemon_ready(int *ready)
{
    if (*ready < 0)
        return;
    ssize_t n = write(*ready, "", 1);
    (void)n; /* the starter may be gone; nothing to tell then */
    close(*ready);
    *ready = -1;
}

/* Written under a temporary name and renamed, so that a reader never sees
 * an empty or partial pidfile. */
static int write_pidfile(const char *path)
{
    char tmp[8192];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid()) >=
        sizeof tmp) {
        log_msg(LOG_ERR, "cannot write pidfile %s: path too long", path);
        return -1;
    }
    FILE *f = fopen(tmp, "w");
    if (f == NULL) {
        log_msg(LOG_ERR, "cannot write pidfile %s: %s", path, strerror(errno));
        return -1;
    }
    fprintf(f, "%ld\n", (long)getpid());
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        log_msg(LOG_ERR, "cannot write pidfile %s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* An absolute form of path (whose directory must exist), so that the daemon
 * finds its files after chdir("/"). */
static const char *absolute(const char *path, char *buf, size_t size)
{
    if (path == NULL || path[0] == '/')
        return path;
    char cwd[4096];
    if (getcwd(cwd, sizeof cwd) == NULL)
        return path;
    snprintf(buf, size, "%s/%s", cwd, path);
    return buf;
}

/* What the engine reports (a listener that cannot write, a ban table that
 * cannot be read) goes to the daemon's log. */
static void engine_log(void *arg, int priority, const char *msg)
{
    (void)arg;
    char safe[1024];
    log_msg(priority, "%s", fl_text_escape(msg, safe, sizeof safe));
}

/* -t: the policy as the daemon would load it (its GeoIP databases opened,
 * its listeners parsed but not started), without a socket or a log. */
/* What a valid policy enforces, as `ftplimit check` shows it: a line
 * each, indented (mod_ftplimit logs these lines at ProFTPD's start). */
static void print_description_line(void *arg, const char *line)
{
    (void)arg;
    printf("  %s\n", line);
}

static int check_policy(const char *policy)
{
    fl_engine_options opts = {.no_alerts = true,
                              .no_ban_table = true,
                              .no_firewall = true,
                              .check_writes = true};
    fl_engine *e = fl_engine_new(&opts);
    if (e == NULL) {
        perror("ftplimitd: cannot create the engine");
        return 1;
    }
    int rc = fl_engine_load(e, policy, print_policy_error, NULL);
    if (rc == 0) {
        printf("ftplimitd: %s is valid\n", policy);
        fl_policy_describe(e, print_description_line, NULL);
    }
    fl_engine_free(e);
    return rc < 0 ? 2 : 0;
}

int main(int argc, char **argv)
{
    struct options o;
    if (parse_options(argc, argv, &o) < 0)
        return 2;
    static char policy_buf[8192], socket_buf[8192], pid_buf[8192], key_buf[8192];
    o.policy = absolute(o.policy, policy_buf, sizeof policy_buf);
    o.socket = absolute(o.socket, socket_buf, sizeof socket_buf);
    o.pidfile = absolute(o.pidfile, pid_buf, sizeof pid_buf);
    if (o.key != NULL)
        o.key = absolute(o.key, key_buf, sizeof key_buf);
    else if ((size_t)snprintf(key_buf, sizeof key_buf, "%s.key", o.socket) <
             sizeof key_buf)
        o.key = key_buf;
    struct passwd *pw = NULL;
    gid_t gid = (gid_t)-1;
    if (o.user != NULL && (pw = getpwnam(o.user)) == NULL) {
        fprintf(stderr, "ftplimitd: unknown user '%s'\n", o.user);
        return 2;
    }
    if (pw != NULL)
        gid = pw->pw_gid;
    if (o.group != NULL) {
        struct group *gr = getgrnam(o.group);
        if (gr == NULL) {
            fprintf(stderr, "ftplimitd: unknown group '%s'\n", o.group);
            return 2;
        }
        gid = gr->gr_gid;
    }
    /* -t checks the policy as the daemon would read it: as its user, who
     * must also be able to write the files it names. */
    if (o.check)
        return (pw != NULL && drop_privileges(pw, gid, false) < 0)
                   ? 2
                   : check_policy(o.policy);
    /* The log is opened as the daemon's user too: a link planted in its
     * place, or a directory that user may not write in, cannot make root
     * write there. */
    bool as = pw != NULL && as_user(pw, gid, true) == 0;
    int logged = pw == NULL || as ? log_open(o.log, o.foreground) : -1;
    int err = errno;
    if ((as && as_user(pw, gid, false) < 0) || logged < 0) {
        fprintf(stderr, "ftplimitd: cannot open the log '%s'%s%s: %s\n", o.log,
                pw != NULL ? " as " : "", pw != NULL ? pw->pw_name : "", strerror(err));
        return 2;
    }

    /* Descriptors for every session of a busy server: as many as the hard
     * limit allows (raised while root, which may). */
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
        nofile.rlim_cur = nofile.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &nofile);
    }

    fl_engine_options opts = {.check_writes = true};
    fl_engine *e = fl_engine_new(&opts);
    if (e == NULL) {
        perror("ftplimitd: cannot create the engine");
        return 1;
    }
    fl_engine_set_log(e, engine_log, NULL);
    /* Read as the user it will reload it as, who writes what it names. */
    bool as_loaded = pw != NULL && as_user(pw, gid, true) == 0;
    bool loaded = (pw == NULL || as_loaded) &&
                  fl_engine_load(e, o.policy, print_policy_error, NULL) == 0;
    if ((as_loaded && as_user(pw, gid, false) < 0) || !loaded) {
        fprintf(stderr, "ftplimitd: %s has errors; not starting\n", o.policy);
        fl_engine_free(e);
        return 2;
    }

    int fd = open_socket(o.socket, o.mode, pw != NULL ? pw->pw_uid : (uid_t)-1, gid);
    fl_session_key key;
    bool have_key = fd >= 0 && o.key != NULL && load_session_key(o.key, &key);
    fl_ban_firewall firewall;
    fl_ban_firewall_status(e, &firewall);
    if (fd < 0 || (pw != NULL && drop_privileges(pw, gid, firewall.configured) < 0) ||
        (pw == NULL && settle_capabilities(firewall.configured) < 0) ||
        follow_parent(o.parent) < 0) {
        if (fd >= 0) {
            close(fd);
            unlink(o.socket);
        }
        fl_engine_free(e);
        return 1;
    }

    int ready = -1;
    if (!o.foreground && daemonize(&ready) < 0) {
        perror("ftplimitd: cannot daemonise");
        return 1;
    }
    if (o.pidfile != NULL && write_pidfile(o.pidfile) < 0) {
        unlink(o.socket);
        return 1;
    }
    daemon_ready(&ready);

    struct server srv;
    int status = 1;
    if (server_init(&srv, e, fd, o.socket) == 0) {
        if (o.no_self_rights)
            srv.self = (uid_t)-1;
        if (o.idle > 0)
            srv.idle_seconds = o.idle;
        srv.key = key;
        srv.have_key = have_key;
        explicit_bzero(&key, sizeof key);
        fl_engine_startup(e);
        log_msg(LOG_NOTICE, "listening on %s with policy %s (uid %d)", o.socket,
                o.policy, (int)geteuid());
        status = server_run(&srv);
        server_shutdown(&srv);
    }
    close(fd);
    unlink(o.socket);
    if (o.pidfile != NULL)
        unlink(o.pidfile);
    fl_engine_free(e);
    log_msg(LOG_NOTICE, "stopped");
    return status;
}
