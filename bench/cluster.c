/*
 * bench/cluster.c - Cluster's cost (doc/cluster.md): session lifecycles
 * through the nodes' sockets, as mod_ftplimit drives them, with a real
 * redis-server on loopback; one `name value unit` line per figure.
 *
 * Runs, each for SECONDS (default 5):
 *   alone     one ftplimitd without Cluster (the baseline)
 *   1node     one ftplimitd with Cluster
 *   3nodes    three ftplimitd nodes of one farm, each driven by its own
 *             client processes
 *   1node_user  one node of a farm whose policy has MaxClientsPerUser alone
 *             (the others: bench/daemon's, every limit set)
 * Each run is done twice: "paced" (each client process runs one session
 * after the other: the latency of a decision on a quiet farm) and
 * "loaded" (SESSIONS sessions in flight in each client process, as a busy
 * server's many session processes: the throughput). Figures per run:
 *   <run>_<load>_lifecycles_per_sec_per_node  CONNECT+USER+PASS+CLOSE
 *   <run>_<load>_p50_us, _p99_us  one exchange: CONNECT (with HELLO), or
 *                       USER+PASS; with Cluster each waits for its script
 *   <run>_redis_cpu_us_per_lifecycle  redis-server's CPU per session
 *   <run>_farm_counts_after  the fields the farm still counts once every
 *                       session ended (0: every release arrived)
 * Targets: p99 under 1 ms, and 20,000 lifecycles/s per node.
 *
 * Usage: bench/cluster [SECONDS [SESSIONS]]   (defaults 5 and 8); the runs
 * $BENCH_CLUSTER_RUNS names ("alone 1node 3nodes" by default). Runs
 * $FTPLIMITD (default src/daemon/ftplimitd) and $REDIS_SERVER (default
 * redis-server from PATH) in a temporary directory.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "lifecycles.h"

#define NODES_MAX 3
#define CLIENTS_PER_NODE 2

/* bench/daemon's: every limit, so every field counted. */
static const char *policy_full =
    "MaxInstances 100000\nMaxConnectionsPerHost 10\nMaxClientsPerHost 10\n"
    "MaxLoginAttempts none\nMaxClientsPerUser 100\nMaxClients 100000\n"
    "MaxHostsPerUser 100\n<Class lan>\nFrom 10.0.0.0/8\n</Class>\n"
    "MaxClientsPerClass lan 100000\n";
/* One farm-wide limit: a CONNECT needs no round trip, a PASS counts two
 * fields (the user's, the server's clients). */
static const char *policy_user = "MaxLoginAttempts none\nMaxClientsPerUser 100\n";

static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(0x7f000001)};
    socklen_t len = sizeof a;
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0 ||
        getsockname(s, (struct sockaddr *)&a, &len) < 0)
        die("free port");
    close(s);
    return ntohs(a.sin_port);
}

static pid_t start_redis(const char *bin, const char *dir, int port)
{
    char portbuf[16];
    snprintf(portbuf, sizeof portbuf, "%d", port);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (freopen("/dev/null", "w", stdout) == NULL)
            _exit(126);
        execlp(bin, bin, "--port", portbuf, "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--dir", dir, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 500; i++) {
        redisContext *c = redisConnect("127.0.0.1", port);
        if (c != NULL && c->err == 0) {
            redisFree(c);
            return pid;
        }
        redisFree(c);
        usleep(10000);
    }
    fprintf(stderr, "bench: %s did not start\n", bin);
    exit(1);
}

/* The fields the farm counts anything in (-1: Redis did not answer). */
static long long farm_fields(int port)
{
    redisContext *c = redisConnect("127.0.0.1", port);
    long long n = -1;
    if (c != NULL && c->err == 0) {
        redisReply *r = redisCommand(c, "HLEN {ftplimit}:total");
        if (r != NULL && r->type == REDIS_REPLY_INTEGER)
            n = r->integer;
        freeReplyObject(r);
    }
    redisFree(c);
    return n;
}

struct node {
    char policy[512], socket[512], log[512];
    pid_t pid;
};

static void start_node(struct node *n, const char *daemon, const char *dir, int i,
                       int redis_port, const char *policy_text)
{
    snprintf(n->policy, sizeof n->policy, "%s/n%d.conf", dir, i);
    snprintf(n->socket, sizeof n->socket, "%s/n%d.sock", dir, i);
    snprintf(n->log, sizeof n->log, "%s/n%d.log", dir, i);
    FILE *f = fopen(n->policy, "w");
    if (f == NULL)
        die(n->policy);
    if (redis_port > 0)
        fprintf(f, "Cluster redis://127.0.0.1:%d\nClusterNode n%d\n", redis_port, i);
    fputs(policy_text, f);
    fclose(f);
    char *const args[] = {(char *)daemon, "-f", "-c", n->policy, "-s", n->socket, NULL};
    n->pid = bench_start_daemon(args, n->log, n->socket, 0);
    if (redis_port > 0) {
        /* Until it has declared itself: its first decisions would wait. */
        for (int k = 0; k < 200; k++) {
            redisContext *c = redisConnect("127.0.0.1", redis_port);
            redisReply *r = c != NULL && c->err == 0
                                ? redisCommand(c, "ZSCORE {ftplimit}:nodes n%d", i)
                                : NULL;
            bool in = r != NULL && r->type == REDIS_REPLY_STRING;
            freeReplyObject(r);
            redisFree(c);
            if (in)
                break;
            usleep(10000);
        }
    }
}

static void stop_node(struct node *n)
{
    kill(n->pid, SIGTERM);
    waitpid(n->pid, NULL, 0);
    remove(n->policy);
    remove(n->socket);
    remove(n->log);
}

/* One run: nnodes nodes (of a farm when redis_port > 0), paced then
 * loaded; its figures printed under name. */
static void run(const char *name, const char *policy, const char *daemon,
                const char *dir, int nnodes, int redis_port, pid_t redis_pid,
                double seconds, int sessions)
{
    struct node nodes[NODES_MAX];
    const char *sockets[NODES_MAX];
    pid_t pids[NODES_MAX];
    for (int i = 0; i < nnodes; i++) {
        start_node(&nodes[i], daemon, dir, i, redis_port, policy);
        sockets[i] = nodes[i].socket;
        pids[i] = nodes[i].pid;
    }
    struct run paced, loaded;
    unsigned long long redis0 = redis_port > 0 ? cpu_ns(redis_pid) : 0;
    lifecycle_run(sockets, (size_t)nnodes, CLIENTS_PER_NODE, pids, (size_t)nnodes,
                  CLIENT_SERIAL, 1, seconds, &paced);
    lifecycle_run(sockets, (size_t)nnodes, CLIENTS_PER_NODE, pids, (size_t)nnodes,
                  CLIENT_PIPELINED, sessions, seconds, &loaded);
    unsigned long long redis_cpu = redis_port > 0 ? cpu_ns(redis_pid) - redis0 : 0;
    double lifecycles = (double)(paced.lifecycles + loaded.lifecycles);

    printf("%s_paced_lifecycles_per_sec_per_node %.0f lifecycles/s\n", name,
           paced.lifecycles_per_sec / nnodes);
    printf("%s_paced_p50_us %.1f us\n", name, paced.p50_us);
    printf("%s_paced_p99_us %.1f us\n", name, paced.p99_us);
    printf("%s_loaded_sessions_in_flight_per_node %d sessions\n", name,
           sessions * CLIENTS_PER_NODE);
    printf("%s_loaded_lifecycles_per_sec_per_node %.0f lifecycles/s\n", name,
           loaded.lifecycles_per_sec / nnodes);
    printf("%s_loaded_p50_us %.1f us\n", name, loaded.p50_us);
    printf("%s_loaded_p99_us %.1f us\n", name, loaded.p99_us);
    printf("%s_daemon_cpu_us_per_decision %.2f us\n", name, loaded.daemon_cpu_us);
    if (redis_port > 0) {
        printf("%s_redis_cpu_us_per_lifecycle %.2f us\n", name,
               (double)redis_cpu / 1e3 / lifecycles);
        /* The releases are pipelined behind the last answers: a moment. */
        long long left = -1;
        for (int k = 0; k < 100 && (left = farm_fields(redis_port)) != 0; k++)
            usleep(10000);
        printf("%s_farm_counts_after %lld fields\n", name, left);
    }
    fflush(stdout);
    for (int i = 0; i < nnodes; i++)
        stop_node(&nodes[i]);
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 5.0;
    int sessions = argc > 2 ? atoi(argv[2]) : 8;
    if (seconds <= 0 || sessions < 1 || sessions > 4096) {
        fprintf(stderr, "usage: bench/cluster [SECONDS [SESSIONS]]\n");
        return 2;
    }
    const char *daemon = getenv("FTPLIMITD");
    if (daemon == NULL)
        daemon = "src/daemon/ftplimitd";
    const char *redis = getenv("REDIS_SERVER");
    if (redis == NULL)
        redis = "redis-server";

    char dir[] = "/tmp/ftplimit-bench-cluster-XXXXXX";
    if (mkdtemp(dir) == NULL)
        die("mkdtemp");
    int port = free_port();
    pid_t redis_pid = start_redis(redis, dir, port);

    /* $BENCH_CLUSTER_RUNS: some of "alone 1node 3nodes 1node_user" (default
     * all). */
    const char *runs = getenv("BENCH_CLUSTER_RUNS");
    if (runs == NULL || strstr(runs, "alone") != NULL)
        run("alone", policy_full, daemon, dir, 1, 0, 0, seconds, sessions);
    if (runs == NULL || strstr(runs, "1node ") != NULL || strcmp(runs, "1node") == 0)
        run("1node", policy_full, daemon, dir, 1, port, redis_pid, seconds, sessions);
    if (runs == NULL || strstr(runs, "3nodes") != NULL)
        run("3nodes", policy_full, daemon, dir, 3, port, redis_pid, seconds, sessions);
    if (runs == NULL || strstr(runs, "1node_user") != NULL)
        run("1node_user", policy_user, daemon, dir, 1, port, redis_pid, seconds,
            sessions);

    kill(redis_pid, SIGTERM);
    waitpid(redis_pid, NULL, 0);
    char path[600];
    snprintf(path, sizeof path, "%s/redis.log", dir);
    remove(path);
    remove(dir);
    return 0;
}
