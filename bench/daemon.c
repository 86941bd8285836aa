/*
 * bench/daemon.c - decisions through ftplimitd's socket, one `name value unit`
 * line per figure.
 *
 *   decisions_per_sec   CONNECT, USER and PASS decisions answered per second
 *                       (target 100000) by two client processes that each
 *                       run one session after the other and talk as
 *                       mod_ftplimit does: a new connection, HELLO and
 *                       CONNECT in one write, USER and PASS in one write,
 *                       then CLOSE and the connection closed; each waits
 *                       for its answers in read(), as a session process
 *   lifecycles_per_sec  those sessions per second
 *   rtt_p50_us, rtt_p99_us, rtt_p999_us  round trip of one exchange (CONNECT,
 *                       or USER+PASS) (p99 target < 200)
 *   daemon_cpu_us_per_decision, daemon_capacity_per_core  ftplimitd's CPU
 *                       time per decision in that run, and the decisions
 *                       one core would make at that cost
 *   loaded_decisions_per_sec, loaded_rtt_p50_us, loaded_rtt_p99_us  the
 *                       same with SESSIONS sessions in flight in each
 *                       client process, as a busy server's many session
 *                       processes: throughput bought with queueing
 *   unpipelined_decisions_per_sec  one session at a time, USER and PASS as
 *                       two round trips: what pipelining saves
 *   persistent_decisions_per_sec  decisions on connections kept open (PASS
 *                       after PASS, MaxLoginAttempts none): the daemon's cost
 *                       without connection setup, to compare with the
 *                       machine's floor below
 *   echo_roundtrips_per_sec  the same two clients against a trivial epoll
 *                       echo server on a Unix socket: what the machine
 *                       allows at all
 *
 * Usage: bench/daemon [SECONDS [SESSIONS]]   (defaults 5 and 4). Runs
 * $FTPLIMITD (default src/daemon/ftplimitd) on a temporary socket.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ftplimit/client.h>
#include <ftplimit/ftplimit.h>

#include "benchutil.h"

#define CLIENTS 2
#define MAX_SAMPLES 4000000

static int read_all(int fd, void *buf, size_t len)
{
    for (size_t off = 0; off < len;) {
        ssize_t r = read(fd, (char *)buf + off, len - off);
        if (r <= 0)
            return -1;
        off += (size_t)r;
    }
    return 0;
}

static void write_all(int fd, const void *buf, size_t len)
{
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, (const char *)buf + off, len - off);
        if (w <= 0)
            die("write");
        off += (size_t)w;
    }
}

/* Decisions on one connection kept open: PASS bad after PASS bad. */
static void run_persistent_client(const char *socket, int id, double seconds, int fd)
{
    fl_client *c = fl_client_open(socket, 5000);
    fl_decision d;
    char addr[32];
    snprintf(addr, sizeof addr, "10.200.0.%d", id + 1);
    if (c == NULL || fl_client_connect(c, NULL, addr, NULL, &d) < 0 ||
        fl_client_user(c, "bench", &d) < 0)
        die("persistent client");
    unsigned long long n = 0;
    double end = now_sec() + seconds;
    while (now_sec() < end) {
        if (fl_client_pass(c, false, "x", &d) < 0 || d.verdict != FL_REJECT)
            die("persistent PASS");
        n++;
    }
    fl_client_free(c);
    write_all(fd, &n, sizeof n);
}

/* A connection to the socket at path (socket flags: SOCK_NONBLOCK or 0). */
static int dial(const char *path, int flags)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);
    if (fd < 0)
        die("socket");
    /* EAGAIN: the daemon's backlog is full for a moment. */
    while (connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
        if (errno != EAGAIN && errno != EINTR)
            die("connect");
        usleep(100);
    }
    return fd;
}

/* The floor: round trips against an echo server doing nothing else. */
static double echo_roundtrips(const char *dir, double seconds)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    char path[sizeof sun.sun_path];
    if (snprintf(path, sizeof path, "%s/echo.sock", dir) >= (int)sizeof path)
        die("echo socket path");
    memcpy(sun.sun_path, path, sizeof path);
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    if (l < 0 || bind(l, (struct sockaddr *)&sun, sizeof sun) < 0 || listen(l, 16) < 0)
        die("echo socket");
    int pipes[CLIENTS][2];
    for (int k = 0; k < CLIENTS; k++) {
        if (pipe(pipes[k]) < 0)
            die("pipe");
        if (fork() == 0) {
            close(l);
            int fd = dial(path, 0);
            char b[64];
            unsigned long long n = 0;
            double end = now_sec() + seconds;
            while (now_sec() < end) {
                if (write(fd, "PASS bad x\n", 11) != 11 || read(fd, b, sizeof b) <= 0)
                    die("echo");
                n++;
            }
            write_all(pipes[k][1], &n, sizeof n);
            _exit(0);
        }
        close(pipes[k][1]);
    }
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = l};
    epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
    unsigned long long total = 0;
    int done = 0;
    double t0 = now_sec();
    while (done < CLIENTS) {
        struct epoll_event evs[16];
        int n = epoll_wait(ep, evs, 16, 100);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == l) {
                int c = accept(l, NULL, NULL);
                struct epoll_event e = {.events = EPOLLIN, .data.fd = c};
                epoll_ctl(ep, EPOLL_CTL_ADD, c, &e);
                continue;
            }
            char b[64];
            if (read(fd, b, sizeof b) <= 0) {
                close(fd);
                done++;
                continue;
            }
            if (write(fd, "REJECT 530 - Login incorrect.\n", 30) != 30)
                die("echo write");
        }
    }
    double elapsed = now_sec() - t0;
    for (int k = 0; k < CLIENTS; k++) {
        unsigned long long n;
        if (read_all(pipes[k][0], &n, sizeof n) < 0)
            die("echo results");
        total += n;
        close(pipes[k][0]);
    }
    while (wait(NULL) > 0)
        ;
    close(ep);
    close(l);
    remove(path);
    return (double)total / (elapsed < seconds ? seconds : elapsed);
}

/* A client's figures to the parent (see lifecycle_run): lifecycles, then n
 * round trips in ns. Frees rtt. */
static void report(int fd, unsigned long long lifecycles, uint32_t *rtt, size_t n)
{
    write_all(fd, &lifecycles, sizeof lifecycles);
    write_all(fd, &n, sizeof n);
    write_all(fd, rtt, n * sizeof *rtt);
    free(rtt);
}

/* Room for a client's round trips, in ns. */
static uint32_t *samples_new(void)
{
    uint32_t *rtt = malloc(MAX_SAMPLES * sizeof *rtt);
    if (rtt == NULL)
        die("malloc");
    return rtt;
}

/* One client process: lifecycles until the deadline, one request per round
 * trip; its round trips (in ns, as uint32) and counts go to fd. */
static void run_client(const char *socket, int id, double seconds, int fd)
{
    uint32_t *rtt = samples_new();
    size_t n = 0;
    unsigned long long lifecycles = 0;
    double end = now_sec() + seconds;
    char addr[32], user[32];
    while (now_sec() < end) {
        fl_client *c = fl_client_open(socket, 5000);
        if (c == NULL)
            die("fl_client_open");
        fl_decision d;
        unsigned k = (unsigned)(lifecycles * CLIENTS + (unsigned)id);
        snprintf(addr, sizeof addr, "10.%u.%u.%u", (k >> 16) & 0xff, (k >> 8) & 0xff,
                 k & 0xff);
        snprintf(user, sizeof user, "user%u", k % 5000);
        for (int step = 0; step < 3; step++) {
            double t0 = now_sec();
            int rc = step == 0   ? fl_client_connect(c, NULL, addr, NULL, &d)
                     : step == 1 ? fl_client_user(c, user, &d)
                                 : fl_client_pass(c, true, "pw", &d);
            double t1 = now_sec();
            if (rc < 0 || d.verdict != FL_ALLOW) {
                fprintf(stderr, "bench: request %d failed: %s %s\n", step,
                        strerror(errno), d.message);
                exit(1);
            }
            if (n < MAX_SAMPLES)
                rtt[n++] = (uint32_t)((t1 - t0) * 1e9);
        }
        fl_client_close_session(c);
        fl_client_free(c);
        lifecycles++;
    }
    report(fd, lifecycles, rtt, n);
}

/* Send all of a short request; the socket's buffer is empty or nearly. */
static void send_text(int fd, const char *text)
{
    size_t len = strlen(text);
    if (send(fd, text, len, MSG_NOSIGNAL) != (ssize_t)len)
        die("send");
}

/* Read from the blocking fd until n more lines have come, checking that
 * each starts with want (the first with first, if not NULL). */
static void read_answers(int fd, int n, const char *first, const char *want)
{
    char in[512];
    size_t inlen = 0;
    while (n > 0) {
        ssize_t r = read(fd, in + inlen, sizeof in - 1 - inlen);
        if (r <= 0) {
            fprintf(stderr, "bench: the daemon closed a session\n");
            exit(1);
        }
        inlen += (size_t)r;
        char *line = in, *lf;
        while (n > 0 &&
               (lf = memchr(line, '\n', inlen - (size_t)(line - in))) != NULL) {
            const char *w = first != NULL ? first : want;
            if (strncmp(line, w, strlen(w)) != 0) {
                *lf = '\0';
                fprintf(stderr, "bench: unexpected answer: %s\n", line);
                exit(1);
            }
            first = NULL;
            n--;
            line = lf + 1;
        }
        inlen -= (size_t)(line - in);
        memmove(in, line, inlen);
    }
}

/* One client process: sessions one after the other, each a new blocking
 * connection, HELLO with CONNECT, then USER with PASS, then CLOSE: the
 * exchanges of mod_ftplimit, with nothing of the client's own between
 * them. Its round trips and counts go to fd as run_client's. */
static void run_serial_client(const char *path, int id, double seconds, int fd)
{
    uint32_t *rtt = samples_new();
    size_t n = 0;
    unsigned long long lifecycles = 0;
    double end = now_sec() + seconds;
    while (now_sec() < end) {
        unsigned k = (unsigned)(lifecycles * CLIENTS + (unsigned)id);
        char connect_text[96], login_text[64];
        snprintf(connect_text, sizeof connect_text, "HELLO %d\nCONNECT - 10.%u.%u.%u\n",
                 FL_PROTOCOL_VERSION, (k >> 16) & 0xff, (k >> 8) & 0xff, k & 0xff);
        snprintf(login_text, sizeof login_text, "USER user%u\nPASS ok pw\n", k % 5000);
        int s = dial(path, 0);
        double t0 = now_sec();
        send_text(s, connect_text);
        read_answers(s, 2, "OK ", "ALLOW");
        double t1 = now_sec();
        send_text(s, login_text);
        read_answers(s, 2, NULL, "ALLOW");
        double t2 = now_sec();
        send_text(s, "CLOSE\n");
        close(s);
        if (n + 2 <= MAX_SAMPLES) {
            rtt[n++] = (uint32_t)((t1 - t0) * 1e9);
            rtt[n++] = (uint32_t)((t2 - t1) * 1e9);
        }
        lifecycles++;
    }
    report(fd, lifecycles, rtt, n);
}

/* One session in flight on a client that runs many. */
struct flight {
    int fd;
    unsigned k;   /* the session's number: its address and user */
    bool login;   /* waiting for the USER and PASS answers (else CONNECT's) */
    int awaiting; /* final lines still to come */
    double t0;    /* when the exchange was sent */
    size_t inlen;
    char in[512];
};

/* A new session: connect, then HELLO and CONNECT in one write. */
static void flight_start(struct flight *f, const char *path, int ep, unsigned k)
{
    char text[96];
    snprintf(text, sizeof text, "HELLO %d\nCONNECT - 10.%u.%u.%u\n",
             FL_PROTOCOL_VERSION, (k >> 16) & 0xff, (k >> 8) & 0xff, k & 0xff);
    f->fd = dial(path, SOCK_NONBLOCK);
    f->k = k;
    f->login = false;
    f->awaiting = 2;
    f->inlen = 0;
    f->t0 = now_sec();
    send_text(f->fd, text);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = f};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, f->fd, &ev) < 0)
        die("epoll_ctl");
}

/* One client process with `sessions` sessions in flight until the deadline;
 * its round trips (ns, as uint32) and counts go to fd as run_client's. */
static void run_concurrent_client(const char *path, int id, int sessions,
                                  double seconds, int fd)
{
    uint32_t *rtt = samples_new();
    struct flight *fl = calloc((size_t)sessions, sizeof *fl);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (fl == NULL || ep < 0)
        die("client setup");
    size_t n = 0;
    unsigned long long lifecycles = 0, started = 0;
    for (int i = 0; i < sessions; i++)
        flight_start(&fl[i], path, ep, (unsigned)(started++ * CLIENTS + (unsigned)id));
    double end = now_sec() + seconds;
    while (now_sec() < end) {
        struct epoll_event evs[64];
        int ready = epoll_wait(ep, evs, 64, 1000);
        if (ready < 0 && errno != EINTR)
            die("epoll_wait");
        for (int i = 0; i < ready; i++) {
            struct flight *f = evs[i].data.ptr;
            ssize_t r = read(f->fd, f->in + f->inlen, sizeof f->in - 1 - f->inlen);
            if (r <= 0) {
                if (r < 0 && errno == EAGAIN)
                    continue;
                fprintf(stderr, "bench: the daemon closed a session\n");
                exit(1);
            }
            f->inlen += (size_t)r;
            char *line = f->in, *lf;
            while (f->awaiting > 0 &&
                   (lf = memchr(line, '\n', f->inlen - (size_t)(line - f->in))) !=
                       NULL) {
                *lf = '\0';
                bool hello = !f->login && f->awaiting == 2;
                if (strncmp(line, hello ? "OK " : "ALLOW", hello ? 3 : 5) != 0) {
                    fprintf(stderr, "bench: unexpected answer: %s\n", line);
                    exit(1);
                }
                f->awaiting--;
                line = lf + 1;
            }
            f->inlen -= (size_t)(line - f->in);
            memmove(f->in, line, f->inlen);
            if (f->awaiting > 0)
                continue;
            double t1 = now_sec();
            if (n < MAX_SAMPLES)
                rtt[n++] = (uint32_t)((t1 - f->t0) * 1e9);
            if (!f->login) {
                char text[64];
                snprintf(text, sizeof text, "USER user%u\nPASS ok pw\n", f->k % 5000);
                f->login = true;
                f->awaiting = 2;
                f->t0 = t1;
                send_text(f->fd, text);
            } else {
                send_text(f->fd, "CLOSE\n");
                close(f->fd);
                lifecycles++;
                flight_start(f, path, ep,
                             (unsigned)(started++ * CLIENTS + (unsigned)id));
            }
        }
    }
    for (int i = 0; i < sessions; i++)
        close(fl[i].fd);
    close(ep);
    free(fl);
    report(fd, lifecycles, rtt, n);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

struct run {
    double decisions_per_sec, lifecycles_per_sec, p50_us, p99_us, p999_us;
    double daemon_cpu_us; /* the daemon's CPU time per decision */
};

/* Nanoseconds the process has spent on a CPU, user and system, from
 * /proc/PID/schedstat; 0 when unknown. */
static unsigned long long cpu_ns(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/schedstat", (int)pid);
    FILE *f = fopen(path, "r");
    unsigned long long ns = 0;
    if (f != NULL) {
        if (fscanf(f, "%llu", &ns) != 1)
            ns = 0;
        fclose(f);
    }
    return ns;
}

/* What a client process does for `seconds`. */
enum client_kind {
    CLIENT_SERIAL,      /* lifecycles one at a time, as mod_ftplimit talks
                           (run_serial_client) */
    CLIENT_PIPELINED,   /* lifecycles, `sessions` in flight (run_concurrent_client) */
    CLIENT_UNPIPELINED, /* lifecycles one at a time, a round trip a line (run_client) */
    CLIENT_PERSISTENT,  /* decisions on a connection kept open */
};

/* Fork the CLIENTS client processes; client i writes its results to
 * pipes[i][1], and the caller reads them from pipes[i][0]. */
static void spawn_clients(const char *socket, enum client_kind kind, int sessions,
                          double seconds, int pipes[CLIENTS][2], pid_t pids[CLIENTS])
{
    for (int i = 0; i < CLIENTS; i++) {
        if (pipe(pipes[i]) < 0)
            die("pipe");
        pids[i] = fork();
        if (pids[i] == 0) {
            close(pipes[i][0]);
            if (kind == CLIENT_SERIAL)
                run_serial_client(socket, i, seconds, pipes[i][1]);
            else if (kind == CLIENT_PIPELINED)
                run_concurrent_client(socket, i, sessions, seconds, pipes[i][1]);
            else if (kind == CLIENT_UNPIPELINED)
                run_client(socket, i, seconds, pipes[i][1]);
            else
                run_persistent_client(socket, i, seconds, pipes[i][1]);
            _exit(0);
        }
        close(pipes[i][1]);
    }
}

/* Two client processes of kind doing lifecycles for `seconds`, with
 * `sessions` in flight each when kind is CLIENT_PIPELINED. */
static void lifecycle_run(const char *socket, pid_t daemon_pid, enum client_kind kind,
                          int sessions, double seconds, struct run *out)
{
    int pipes[CLIENTS][2];
    pid_t pids[CLIENTS];
    unsigned long long cpu0 = cpu_ns(daemon_pid);
    double t0 = now_sec();
    spawn_clients(socket, kind, sessions, seconds, pipes, pids);
    uint32_t *all = malloc((size_t)CLIENTS * MAX_SAMPLES * sizeof *all);
    size_t total = 0;
    unsigned long long lifecycles = 0;
    for (int i = 0; i < CLIENTS; i++) {
        unsigned long long l;
        size_t n;
        if (all == NULL || read_all(pipes[i][0], &l, sizeof l) < 0 ||
            read_all(pipes[i][0], &n, sizeof n) < 0 ||
            read_all(pipes[i][0], all + total, n * sizeof *all) < 0)
            die("read results");
        lifecycles += l;
        total += n;
        close(pipes[i][0]);
        waitpid(pids[i], NULL, 0);
    }
    double elapsed = now_sec() - t0;
    unsigned long long cpu = cpu_ns(daemon_pid) - cpu0;
    if (total == 0) {
        fprintf(stderr, "bench: no round trip completed\n");
        exit(1);
    }
    qsort(all, total, sizeof *all, cmp_u32);
    /* CONNECT, USER and PASS: three decisions a session. */
    out->decisions_per_sec = 3.0 * (double)lifecycles / elapsed;
    out->lifecycles_per_sec = (double)lifecycles / elapsed;
    out->p50_us = all[total / 2] / 1000.0;
    out->p99_us = all[total * 99 / 100] / 1000.0;
    out->p999_us = all[total * 999 / 1000] / 1000.0;
    out->daemon_cpu_us = (double)cpu / 1e3 / (3.0 * (double)lifecycles);
    free(all);
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 5.0;
    int sessions = argc > 2 ? atoi(argv[2]) : 4;
    if (seconds <= 0 || sessions < 1 || sessions > 4096) {
        fprintf(stderr, "usage: bench/daemon [SECONDS [SESSIONS]]\n");
        return 2;
    }
    const char *daemon_bin = getenv("FTPLIMITD");
    if (daemon_bin == NULL)
        daemon_bin = "src/daemon/ftplimitd";

    char dir[] = "/tmp/ftplimit-bench-daemon-XXXXXX";
    if (mkdtemp(dir) == NULL)
        die("mkdtemp");
    char policy[4096], socket[4096], log[4096];
    snprintf(policy, sizeof policy, "%s/bench.conf", dir);
    snprintf(socket, sizeof socket, "%s/d.sock", dir);
    snprintf(log, sizeof log, "%s/d.log", dir);
    FILE *f = fopen(policy, "w");
    if (f == NULL)
        die(policy);
    fputs("MaxInstances 100000\nMaxConnectionsPerHost 10\nMaxClientsPerHost 10\n"
          "MaxLoginAttempts none\n"
          "MaxClientsPerUser 100\nMaxClients 100000\nMaxHostsPerUser 100\n"
          "<Class lan>\nFrom 10.0.0.0/8\n</Class>\nMaxClientsPerClass lan 100000\n",
          f);
    fclose(f);

    char *const args[] = {(char *)daemon_bin, "-f", "-c", policy, "-s", socket, NULL};
    pid_t daemon_pid = bench_start_daemon(args, log, socket, 0);

    struct run paced, loaded, unpipelined;
    lifecycle_run(socket, daemon_pid, CLIENT_SERIAL, 1, seconds, &paced);
    lifecycle_run(socket, daemon_pid, CLIENT_PIPELINED, sessions, seconds, &loaded);
    lifecycle_run(socket, daemon_pid, CLIENT_UNPIPELINED, 0, seconds, &unpipelined);

    int pipes[CLIENTS][2];
    pid_t pids[CLIENTS];
    /* Then decisions on connections kept open. */
    double t1 = now_sec();
    spawn_clients(socket, CLIENT_PERSISTENT, 0, seconds, pipes, pids);
    unsigned long long persistent = 0;
    for (int i = 0; i < CLIENTS; i++) {
        unsigned long long n;
        if (read_all(pipes[i][0], &n, sizeof n) < 0)
            die("read results");
        persistent += n;
        close(pipes[i][0]);
        waitpid(pids[i], NULL, 0);
    }
    double persistent_elapsed = now_sec() - t1;
    kill(daemon_pid, SIGTERM);
    waitpid(daemon_pid, NULL, 0);
    double echo = echo_roundtrips(dir, seconds);

    printf("decisions_per_sec %.0f decisions/s\n", paced.decisions_per_sec);
    printf("lifecycles_per_sec %.0f lifecycles/s\n", paced.lifecycles_per_sec);
    printf("rtt_p50_us %.1f us\n", paced.p50_us);
    printf("rtt_p99_us %.1f us\n", paced.p99_us);
    printf("rtt_p999_us %.1f us\n", paced.p999_us);
    printf("daemon_cpu_us_per_decision %.2f us\n", paced.daemon_cpu_us);
    printf("daemon_capacity_per_core %.0f decisions/s\n", 1e6 / paced.daemon_cpu_us);
    printf("loaded_sessions_in_flight %d sessions\n", sessions * CLIENTS);
    printf("loaded_decisions_per_sec %.0f decisions/s\n", loaded.decisions_per_sec);
    printf("loaded_rtt_p50_us %.1f us\n", loaded.p50_us);
    printf("loaded_rtt_p99_us %.1f us\n", loaded.p99_us);
    printf("unpipelined_decisions_per_sec %.0f decisions/s\n",
           unpipelined.decisions_per_sec);
    printf("persistent_decisions_per_sec %.0f decisions/s\n",
           (double)persistent / persistent_elapsed);
    printf("echo_roundtrips_per_sec %.0f roundtrips/s\n", echo);
    remove(policy);
    remove(socket);
    remove(log);
    remove(dir);
    return 0;
}
