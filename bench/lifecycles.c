/*
 * bench/lifecycles.c - session lifecycles driven through ftplimitd's socket
 * by client processes, as mod_ftplimit drives them: what bench/daemon and
 * bench/cluster measure with.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ftplimit/client.h>
#include <ftplimit/ftplimit.h>

#include "lifecycles.h"

/* The number of client processes of the run: session k of client id is
 * number k * stride + id, its address and user unique in the run. */
static unsigned stride = 1;

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

int read_all(int fd, void *buf, size_t len)
{
    for (size_t off = 0; off < len;) {
        ssize_t r = read(fd, (char *)buf + off, len - off);
        if (r <= 0)
            return -1;
        off += (size_t)r;
    }
    return 0;
}

void write_all(int fd, const void *buf, size_t len)
{
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, (const char *)buf + off, len - off);
        if (w <= 0)
            die("write");
        off += (size_t)w;
    }
}

/* A connection to the socket at path (socket flags: SOCK_NONBLOCK or 0). */
int dial(const char *path, int flags)
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
        unsigned k = (unsigned)(lifecycles * stride + (unsigned)id);
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
        unsigned k = (unsigned)(lifecycles * stride + (unsigned)id);
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
        flight_start(&fl[i], path, ep, (unsigned)(started++ * stride + (unsigned)id));
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
                             (unsigned)(started++ * stride + (unsigned)id));
            }
        }
    }
    for (int i = 0; i < sessions; i++)
        close(fl[i].fd);
    close(ep);
    free(fl);
    report(fd, lifecycles, rtt, n);
}

int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Nanoseconds the process has spent on a CPU, user and system, from
 * /proc/PID/schedstat; 0 when unknown. */
unsigned long long cpu_ns(pid_t pid)
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

/* Fork the client processes: per_socket on each of sockets; client i
 * writes its results to pipes[i][1], read by the caller from pipes[i][0]. */
static void spawn_clients(const char *const *sockets, size_t nsockets, int per_socket,
                          enum client_kind kind, int sessions, double seconds,
                          int (*pipes)[2], pid_t *pids)
{
    int n = (int)nsockets * per_socket;
    stride = (unsigned)n;
    for (int i = 0; i < n; i++) {
        const char *socket = sockets[(size_t)i % nsockets];
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

unsigned long long persistent_run(const char *socket, int clients, double seconds)
{
    int pipes[CLIENTS_MAX][2];
    pid_t pids[CLIENTS_MAX];
    const char *sockets[1] = {socket};
    spawn_clients(sockets, 1, clients, CLIENT_PERSISTENT, 0, seconds, pipes, pids);
    unsigned long long total = 0;
    for (int i = 0; i < clients; i++) {
        unsigned long long n;
        if (read_all(pipes[i][0], &n, sizeof n) < 0)
            die("read results");
        total += n;
        close(pipes[i][0]);
        waitpid(pids[i], NULL, 0);
    }
    return total;
}

void lifecycle_run(const char *const *sockets, size_t nsockets, int per_socket,
                   const pid_t *daemons, size_t ndaemons, enum client_kind kind,
                   int sessions, double seconds, struct run *out)
{
    int n = (int)nsockets * per_socket;
    int pipes[CLIENTS_MAX][2];
    pid_t pids[CLIENTS_MAX];
    if (n < 1 || n > CLIENTS_MAX)
        die("lifecycle_run: clients");
    unsigned long long cpu0 = 0;
    for (size_t i = 0; i < ndaemons; i++)
        cpu0 += cpu_ns(daemons[i]);
    double t0 = now_sec();
    spawn_clients(sockets, nsockets, per_socket, kind, sessions, seconds, pipes, pids);
    uint32_t *all = malloc((size_t)n * MAX_SAMPLES * sizeof *all);
    size_t total = 0;
    unsigned long long lifecycles = 0;
    for (int i = 0; i < n; i++) {
        unsigned long long l;
        size_t k;
        if (all == NULL || read_all(pipes[i][0], &l, sizeof l) < 0 ||
            read_all(pipes[i][0], &k, sizeof k) < 0 ||
            read_all(pipes[i][0], all + total, k * sizeof *all) < 0)
            die("read results");
        lifecycles += l;
        total += k;
        close(pipes[i][0]);
        waitpid(pids[i], NULL, 0);
    }
    double elapsed = now_sec() - t0;
    unsigned long long cpu = 0;
    for (size_t i = 0; i < ndaemons; i++)
        cpu += cpu_ns(daemons[i]);
    cpu -= cpu0;
    if (total == 0) {
        fprintf(stderr, "bench: no round trip completed\n");
        exit(1);
    }
    qsort(all, total, sizeof *all, cmp_u32);
    /* CONNECT, USER and PASS: three decisions a session. */
    out->lifecycles = lifecycles;
    out->decisions_per_sec = 3.0 * (double)lifecycles / elapsed;
    out->lifecycles_per_sec = (double)lifecycles / elapsed;
    out->p50_us = all[total / 2] / 1000.0;
    out->p99_us = all[total * 99 / 100] / 1000.0;
    out->p999_us = all[total * 999 / 1000] / 1000.0;
    out->daemon_cpu_us = (double)cpu / 1e3 / (3.0 * (double)lifecycles);
    free(all);
}
