/*
 * bench/attack.c - ftplimitd under a local uid's attack (issue 24, point 2):
 * what a server's sessions meet while another uid, with no rights at all,
 * holds idle connections, fills replies it never reads and floods PINGs.
 * One `name value unit` line per figure.
 *
 *   attack_idle_connections, attack_deaf_connections  opened by the attacker
 *                       (uid 65534): HELLO and nothing more; HELLO and as many
 *                       PINGs as the daemon takes, never reading a reply
 *   attack_refused_connections  of those, refused at once by the daemon
 *                       (a uid holds at most 256 that are not yet anything)
 *   attack_ping_flood_per_sec  PINGs answered to the flooder (uid 65533), who
 *                       pipelines 256 at a time and reads the answers
 *   session_connect_p50_ms, session_connect_p99_ms, session_connect_max_ms
 *                       a session's round trip meanwhile, as mod_ftplimit's:
 *                       a new connection, HELLO and CONNECT, CLOSE
 *                       (target: p99 < 50 ms)
 *   sessions_refused    CONNECTs that failed (target 0)
 *   daemon_rss_mb, daemon_peak_rss_mb  ftplimitd's memory at the end, and at
 *                       its highest (target < 64 MB)
 *
 * Usage: bench/attack [SECONDS]  (default 10; as root, for the two uids).
 * Runs $FTPLIMITD (default src/daemon/ftplimitd) on a temporary socket.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ftplimit/client.h>
#include <ftplimit/ftplimit.h>

#include "benchutil.h"

#define IDLE 1000
#define DEAF 300
#define SAMPLES_MAX 1000000

/* A connection to path, or -1 (refused, or out of descriptors). */
static int dial(const char *path)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void become(uid_t uid)
{
    if (geteuid() == 0 && (setgid(uid) < 0 || setuid(uid) < 0))
        die("setuid");
}

/* The attacker: deaf connections, then idle ones; holds them all. */
static void attacker(const char *path, int ready)
{
    become(65534);
    static char pings[64 * 1024];
    for (size_t i = 0; i + 5 <= sizeof pings; i += 5)
        memcpy(pings + i, "PING\n", 5);
    int opened = 0;
    /* The deaf ones first: the daemon holds as many of them as it will. */
    for (int i = 0; i < DEAF; i++) {
        int fd = dial(path);
        if (fd < 0 || send(fd, "HELLO 1\n", 8, MSG_NOSIGNAL) != 8)
            continue;
        opened++;
        /* As many PINGs as the daemon takes, without waiting. */
        (void)send(fd, pings, sizeof pings, MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    for (int i = 0; i < IDLE; i++) {
        int fd = dial(path);
        if (fd >= 0 && send(fd, "HELLO 1\n", 8, MSG_NOSIGNAL) == 8)
            opened++;
    }
    if (write(ready, &opened, sizeof opened) != sizeof opened)
        _exit(1);
    pause();
}

/* The flooder: PINGs, 256 at a time, reading the answers. */
static void flooder(const char *path, double seconds, int result)
{
    become(65533);
    int fd = dial(path);
    if (fd < 0)
        die("flooder");
    static char pings[256 * 5], buf[65536];
    for (size_t i = 0; i < sizeof pings; i += 5)
        memcpy(pings + i, "PING\n", 5);
    if (send(fd, "HELLO 1\n", 8, MSG_NOSIGNAL) != 8)
        die("flooder hello");
    unsigned long long answered = 0;
    size_t lines = 0;
    double end = now_sec() + seconds;
    while (now_sec() < end) {
        if (send(fd, pings, sizeof pings, MSG_NOSIGNAL) != (ssize_t)sizeof pings)
            break;
        for (size_t want = lines + 256 + (answered == 0); lines < want;) {
            ssize_t n = read(fd, buf, sizeof buf);
            if (n <= 0)
                goto out;
            for (ssize_t i = 0; i < n; i++)
                lines += buf[i] == '\n';
        }
        answered = lines - 1; /* the HELLO's answer is no PING's */
    }
out:
    if (write(result, &answered, sizeof answered) != sizeof answered)
        _exit(1);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* VmRSS and VmHWM of pid, in MB. */
static void daemon_memory(pid_t pid, double *rss, double *peak)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    *rss = *peak = -1;
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        long kb;
        if (sscanf(line, "VmRSS: %ld", &kb) == 1)
            *rss = (double)kb / 1024;
        if (sscanf(line, "VmHWM: %ld", &kb) == 1)
            *peak = (double)kb / 1024;
    }
    if (f != NULL)
        fclose(f);
}

static long long metric(const char *socket, const char *name)
{
    fl_client *c = fl_client_open(socket, 5000);
    char *page = NULL, want[128];
    long long v = -1;
    snprintf(want, sizeof want, "\n%s ", name);
    if (c != NULL && fl_client_command(c, "METRICS", &page, NULL) == 0) {
        const char *at = strstr(page, want);
        if (at != NULL)
            v = atoll(at + strlen(want));
    }
    free(page);
    fl_client_free(c);
    return v;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 10.0;
    if (seconds <= 0) {
        fprintf(stderr, "usage: bench/attack [SECONDS]\n");
        return 2;
    }
    if (geteuid() != 0)
        fprintf(stderr, "bench/attack: not root: the attacker runs as this uid, which "
                        "the daemon's per-uid bound spares\n");
    const char *daemon_bin = getenv("FTPLIMITD");
    if (daemon_bin == NULL)
        daemon_bin = "src/daemon/ftplimitd";
    struct rlimit nofile = {4096, 4096};
    (void)setrlimit(RLIMIT_NOFILE, &nofile); /* the attacker's 1,300 */

    char dir[] = "/tmp/ftplimit-bench-attack-XXXXXX";
    if (mkdtemp(dir) == NULL)
        die("mkdtemp");
    chmod(dir, 0755);
    char policy[4096], socket[4096], log[4096];
    snprintf(policy, sizeof policy, "%s/bench.conf", dir);
    snprintf(socket, sizeof socket, "%s/d.sock", dir);
    snprintf(log, sizeof log, "%s/d.log", dir);
    FILE *f = fopen(policy, "w");
    if (f == NULL)
        die(policy);
    fputs("MaxClients 100000\nMaxConnectionsPerHost 100000\n", f);
    fclose(f);

    /* 1024 descriptors: a distribution's default. */
    char *const args[] = {
        (char *)daemon_bin, "-f", "-m", "0666", "-c", policy, "-s", socket, NULL};
    pid_t daemon_pid = bench_start_daemon(args, log, socket, 1024);

    int ready[2], result[2];
    if (pipe(ready) < 0 || pipe(result) < 0)
        die("pipe");
    pid_t attack_pid = fork();
    if (attack_pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        attacker(socket, ready[1]);
        _exit(0);
    }
    int opened = 0;
    if (read(ready[0], &opened, sizeof opened) != sizeof opened)
        die("attacker");
    pid_t flood_pid = fork();
    if (flood_pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        flooder(socket, seconds, result[1]);
        _exit(0);
    }

    /* Sessions, one after the other, as the server's would come. */
    static double rtt[SAMPLES_MAX];
    size_t n = 0;
    unsigned refused = 0;
    double end = now_sec() + seconds;
    char addr[32];
    while (now_sec() < end && n < SAMPLES_MAX) {
        snprintf(addr, sizeof addr, "10.%zu.%zu.%zu", n >> 16 & 255, n >> 8 & 255,
                 n & 255);
        double t0 = now_sec();
        fl_client *c = fl_client_open(socket, 5000);
        fl_decision d;
        if (c == NULL || fl_client_connect(c, NULL, addr, NULL, &d) < 0 ||
            d.verdict != FL_ALLOW) {
            refused++;
        } else {
            rtt[n++] = (now_sec() - t0) * 1e3;
            (void)fl_client_close_session(c);
        }
        fl_client_free(c);
        usleep(1000);
    }
    unsigned long long pings = 0;
    if (read(result[0], &pings, sizeof pings) != sizeof pings)
        pings = 0;
    long long refused_conns =
        metric(socket, "ftplimit_daemon_refused_connections_total");
    double rss, peak;
    daemon_memory(daemon_pid, &rss, &peak);
    kill(attack_pid, SIGKILL);
    waitpid(attack_pid, NULL, 0);
    waitpid(flood_pid, NULL, 0);
    kill(daemon_pid, SIGTERM);
    waitpid(daemon_pid, NULL, 0);

    qsort(rtt, n, sizeof *rtt, cmp_double);
    printf("attack_idle_connections %d connections\n", IDLE);
    printf("attack_deaf_connections %d connections\n", DEAF);
    printf("attack_connections_opened %d connections\n", opened);
    printf("attack_refused_connections %lld connections\n", refused_conns);
    printf("attack_ping_flood_per_sec %.0f pings/s\n", (double)pings / seconds);
    printf("session_connects %zu sessions\n", n);
    printf("session_connect_p50_ms %.3f ms\n", n > 0 ? rtt[n / 2] : -1);
    printf("session_connect_p99_ms %.3f ms\n", n > 0 ? rtt[n * 99 / 100] : -1);
    printf("session_connect_max_ms %.3f ms\n", n > 0 ? rtt[n - 1] : -1);
    printf("sessions_refused %u sessions\n", refused);
    printf("daemon_rss_mb %.1f MB\n", rss);
    printf("daemon_peak_rss_mb %.1f MB\n", peak);
    remove(policy);
    remove(socket);
    remove(log);
    char key[4200];
    snprintf(key, sizeof key, "%s.key", socket);
    remove(key);
    remove(dir);
    return 0;
}
