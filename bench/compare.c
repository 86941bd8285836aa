/*
 * bench/compare.c - two builds of the engine in one process, their rounds
 * of session lifecycles interleaved: on a shared machine the speed of one
 * binary moves by a third from one minute to the next, and only builds
 * timed side by side, round after round, can be told apart.
 *
 * Linked by bench/compare.sh with the two static libraries, whose symbols
 * it renames A_... and B_... Each build gets its own engine, with the
 * workload of bench/engine (bench/workload.h): LIVE sessions kept open,
 * each lifecycle closing one and logging a new one in. ORDER says which
 * closes: "fifo", the oldest, as bench/engine's main figures do; or
 * "random", any live one (bench_slot() in workload.h says what tells the
 * two apart): a change that wins only in fifo order wins only in the
 * benchmark. Printed: the median and best rate of each, and the median,
 * first and third quartile of B/A over the rounds.
 *
 * Usage: compare [LIVE [ROUNDS [LIFECYCLES_PER_ROUND [fifo|random]]]]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ftplimit/ftplimit.h>

#include "workload.h"

#define DECLARE(P)                                                                     \
    fl_engine *P##_fl_engine_new(const fl_engine_options *);                           \
    int P##_fl_engine_load(fl_engine *, const char *, fl_error_fn, void *);            \
    int P##_fl_engine_startup(fl_engine *);                                            \
    void P##_fl_engine_free(fl_engine *);                                              \
    int P##_fl_connect(fl_engine *, const fl_connect_info *, fl_session **,            \
                       fl_decision *);                                                 \
    int P##_fl_user(fl_engine *, fl_session *, const char *, fl_decision *);           \
    int P##_fl_pass(fl_engine *, fl_session *, bool, const char *, fl_decision *);     \
    void P##_fl_close(fl_engine *, fl_session *);                                      \
    fl_usec P##_fl_vclock_read(void *);                                                \
    int P##_fl_addr_parse(const char *, fl_addr *);
DECLARE(A)
DECLARE(B)

struct api {
    const char *name;
    fl_engine *(*engine_new)(const fl_engine_options *);
    int (*load)(fl_engine *, const char *, fl_error_fn, void *);
    int (*startup)(fl_engine *);
    void (*engine_free)(fl_engine *);
    int (*connect)(fl_engine *, const fl_connect_info *, fl_session **, fl_decision *);
    int (*user)(fl_engine *, fl_session *, const char *, fl_decision *);
    int (*pass)(fl_engine *, fl_session *, bool, const char *, fl_decision *);
    void (*close)(fl_engine *, fl_session *);
    fl_usec (*vclock_read)(void *);
    int (*addr_parse)(const char *, fl_addr *);
};
#define API(P)                                                                         \
    {                                                                                  \
#P, P##_fl_engine_new, P##_fl_engine_load, P##_fl_engine_startup,              \
            P##_fl_engine_free, P##_fl_connect, P##_fl_user, P##_fl_pass,              \
            P##_fl_close, P##_fl_vclock_read, P##_fl_addr_parse                        \
    }
static const struct api builds[2] = {API(A), API(B)};

/* One build's engine and workload. */
struct run {
    const struct api *api;
    fl_engine *e;
    fl_vclock clock;
    size_t live, next;
    unsigned nhosts, nusers;
    fl_addr *hosts;
    char (*users)[24];
    fl_session **slots;
    fl_usec step;
    uint64_t rng; /* bench_slot()'s: 0 in fifo order */
};

static void die(const struct run *r, const char *what)
{
    fprintf(stderr, "compare: build %s: %s\n", r->api->name, what);
    exit(1);
}

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void login(struct run *r, size_t slot, unsigned k)
{
    const struct api *a = r->api;
    fl_decision d;
    fl_session *s;
    fl_connect_info ci = {.sid = NULL, .addr = r->hosts[k % r->nhosts]};
    r->clock.now += r->step;
    if (a->connect(r->e, &ci, &s, &d) < 0 || s == NULL)
        die(r, "connect refused");
    if (a->user(r->e, s, r->users[k % r->nusers], &d) < 0 ||
        a->pass(r->e, s, true, NULL, &d) < 0 || d.verdict != FL_ALLOW)
        die(r, "login refused");
    r->slots[slot] = s;
}

/* n lifecycles; returns lifecycles per second. */
static double round_of(struct run *r, size_t n)
{
    double t0 = now_sec();
    for (size_t i = 0; i < n; i++, r->next++) {
        size_t slot = bench_slot(&r->rng, r->next, r->live);
        r->api->close(r->e, r->slots[slot]);
        login(r, slot, (unsigned)(r->next + r->live));
    }
    return (double)n / (now_sec() - t0);
}

static void setup(struct run *r, const struct api *a, size_t live, bool random_order,
                  const char *policy)
{
    memset(r, 0, sizeof *r);
    r->api = a;
    r->live = live;
    r->rng = random_order ? BENCH_RANDOM_SEED : 0; /* the same for A and B */
    r->nhosts = (unsigned)(live / SESSIONS_PER_HOST);
    r->nusers = (unsigned)(live / SESSIONS_PER_USER);
    r->hosts = malloc(r->nhosts * sizeof *r->hosts);
    r->users = malloc(r->nusers * sizeof *r->users);
    r->slots = calloc(live, sizeof *r->slots);
    if (r->hosts == NULL || r->users == NULL || r->slots == NULL)
        die(r, "out of memory");
    char text[32];
    for (unsigned h = 0; h < r->nhosts; h++)
        a->addr_parse(bench_host_text(h, text), &r->hosts[h]);
    srandom(1);
    for (unsigned i = 0; i < r->nusers; i++)
        bench_user_name(i, r->users[i]);
    r->step = bench_step(r->nhosts);
    fl_engine_options opts = {.clock = a->vclock_read, .clock_arg = &r->clock};
    r->e = a->engine_new(&opts);
    if (r->e == NULL || a->load(r->e, policy, NULL, NULL) < 0 || a->startup(r->e) < 0)
        die(r, "cannot start an engine with the policy");
    for (size_t i = 0; i < live; i++)
        login(r, i, (unsigned)i);
    round_of(r, live / 4); /* warm up */
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    size_t live = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
    int rounds = argc > 2 ? atoi(argv[2]) : 100;
    size_t per = argc > 3 ? strtoul(argv[3], NULL, 10) : 20000;
    const char *order = argc > 4 ? argv[4] : "fifo";
    bool random_order = strcmp(order, "random") == 0;
    if (live < SESSIONS_PER_HOST * SESSIONS_PER_USER || live > UINT32_MAX ||
        rounds < 4 || per == 0 || (!random_order && strcmp(order, "fifo") != 0)) {
        fprintf(stderr, "usage: compare [LIVE [ROUNDS>=4 [LIFECYCLES_PER_ROUND "
                        "[fifo|random]]]]\n");
        return 2;
    }
    char dir[] = "/tmp/ftplimit-compare-XXXXXX", policy[64];
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(policy, sizeof policy, "%s/bench.conf", dir);
    FILE *f = fopen(policy, "w");
    if (f == NULL || fputs(bench_policy, f) < 0 || fclose(f) != 0) {
        perror(policy);
        return 1;
    }

    struct run runs[2];
    for (int b = 0; b < 2; b++)
        setup(&runs[b], &builds[b], live, random_order, policy);
    double *rate[2], *ratio = malloc(rounds * sizeof *ratio);
    for (int b = 0; b < 2; b++)
        rate[b] = malloc(rounds * sizeof *rate[b]);
    if (ratio == NULL || rate[0] == NULL || rate[1] == NULL)
        return 1;
    /* A then B, B then A: neither always runs on what the other left. */
    for (int k = 0; k < rounds; k++) {
        int first = k % 2;
        rate[first][k] = round_of(&runs[first], per);
        rate[!first][k] = round_of(&runs[!first], per);
        ratio[k] = rate[1][k] / rate[0][k];
    }
    for (int b = 0; b < 2; b++)
        qsort(rate[b], rounds, sizeof *rate[b], cmp_double);
    qsort(ratio, rounds, sizeof *ratio, cmp_double);
    printf("live %zu, %d rounds of %zu lifecycles each, closed in %s order\n", live,
           rounds, per, order);
    for (int b = 0; b < 2; b++)
        printf("%s lifecycles_per_sec median %.0f best %.0f\n", builds[b].name,
               rate[b][rounds / 2], rate[b][rounds - 1]);
    printf("B/A median %.3f (quartiles %.3f %.3f)\n", ratio[rounds / 2],
           ratio[rounds / 4], ratio[3 * rounds / 4]);

    for (int b = 0; b < 2; b++)
        builds[b].engine_free(runs[b].e);
    unlink(policy);
    rmdir(dir);
    return 0;
}
