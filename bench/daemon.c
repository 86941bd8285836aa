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

#include "lifecycles.h"

#define CLIENTS 2

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
    const char *sockets[1] = {socket};
    lifecycle_run(sockets, 1, CLIENTS, &daemon_pid, 1, CLIENT_SERIAL, 1, seconds,
                  &paced);
    lifecycle_run(sockets, 1, CLIENTS, &daemon_pid, 1, CLIENT_PIPELINED, sessions,
                  seconds, &loaded);
    lifecycle_run(sockets, 1, CLIENTS, &daemon_pid, 1, CLIENT_UNPIPELINED, 0, seconds,
                  &unpipelined);

    /* Then decisions on connections kept open. */
    double t1 = now_sec();
    unsigned long long persistent = persistent_run(socket, CLIENTS, seconds);
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
