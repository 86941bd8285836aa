/*
 * bench/engine.c - the engine's speed and memory, one `name value unit` line
 * per figure.
 *
 *   lifecycles_per_sec_100k  connect+USER+PASS ok+close per second on one
 *                            core, 100k live sessions, every limit and five
 *                            classes active (target 2e6): the median of
 *                            ROUNDS timed rounds
 *   lifecycles_per_sec_100k_best  the fastest of those rounds: on a shared
 *                            machine other tenants only ever slow a round
 *   lifecycles_per_sec_100k_random  the same engine and sessions, then with
 *                            any live session closing, picked at random,
 *                            instead of the oldest (bench_slot() in
 *                            workload.h): what a server whose sessions
 *                            last anything from seconds to hours sees
 *   lifecycles_per_sec_1m(_best, _random)  the same with 1M live sessions
 *                            (target 1e6)
 *   bytes_per_session_100k/1m  heap in use per live session (target <= 256)
 *   crafted_over_random      time per lifecycle with user names crafted to
 *                            collide under uthash's unkeyed Jenkins hash,
 *                            over the same with random names, medians of
 *                            ROUNDS runs of each in turn (target <= 1.5)
 *   jenkins_crafted_over_random  the same keys in a plain uthash with its
 *                            default Jenkins hash: what keying avoids
 *   geo_ns_per_new_host_median  what a GeoIP lookup adds to the connect
 *                            decision of a new host, at the median, with
 *                            country and continent classes (target <= 1000)
 *
 * Usage: bench/engine [--quick] [live|collide|geo]
 *   --quick: 10k and 100k live sessions instead of 100k and 1M
 *   live, collide, geo: run only that part
 * The geo part writes a test database with tests/mkmmdb.pl under
 * $top_srcdir (default "."), so it needs Perl's MaxMind::DB::Writer.
 */
#include "config.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ftplimit/ftplimit.h>

#include "jenkins.h"
#include "workload.h"

static fl_vclock vclock;

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Bytes malloc hands out: small chunks, and the large ones (uthash's bucket
 * arrays among them) that it maps on their own. */
static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static fl_engine *engine_with_policy(const char *dir)
{
    fl_engine_options opts = {.clock = fl_vclock_read, .clock_arg = &vclock};
    fl_engine *e = fl_engine_new(&opts);
    if (e == NULL)
        die("fl_engine_new");
    char path[4096];
    snprintf(path, sizeof path, "%s/bench.conf", dir);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        die(path);
    fputs(bench_policy, f);
    fclose(f);
    if (fl_engine_load(e, path, NULL, NULL) < 0 || fl_engine_startup(e) < 0)
        die("load policy");
    return e;
}

static void host_addr(unsigned h, fl_addr *a)
{
    char text[32];
    fl_addr_parse(bench_host_text(h, text), a);
}

struct workload {
    size_t live; /* sessions kept open */
    unsigned nhosts;
    fl_addr *hosts;
    fl_usec step;      /* virtual time between two logins */
    char (*users)[24]; /* one name per user */
    unsigned nusers;
    fl_session **slots;
    uint64_t rng; /* bench_slot()'s: 0 in fifo order */
};

static void login(fl_engine *e, struct workload *w, size_t slot, unsigned k)
{
    fl_decision d;
    fl_connect_info ci = {.sid = NULL, .addr = w->hosts[k % w->nhosts]};
    fl_session *s;
    vclock.now += w->step;
    if (fl_connect(e, &ci, &s, &d) < 0)
        die("connect");
    if (s == NULL) {
        fprintf(stderr, "connect refused by %s: %s\n", d.limit, d.message);
        exit(1);
    }
    if (fl_user(e, s, w->users[k % w->nusers], &d) < 0 ||
        fl_pass(e, s, true, NULL, &d) < 0 || d.verdict != FL_ALLOW) {
        fprintf(stderr, "login refused: %s\n", d.message);
        exit(1);
    }
    w->slots[slot] = s;
}

static void workload_init(struct workload *w, size_t live, char (*names)[24],
                          unsigned nusers)
{
    *w = (struct workload){.live = live}; /* fifo order */
    w->nhosts = (unsigned)(live / SESSIONS_PER_HOST);
    w->hosts = malloc(w->nhosts * sizeof *w->hosts);
    w->slots = calloc(live, sizeof *w->slots);
    if (w->hosts == NULL || w->slots == NULL)
        die("malloc");
    for (unsigned h = 0; h < w->nhosts; h++)
        host_addr(h, &w->hosts[h]);
    w->users = names;
    w->nusers = nusers;
    w->step = bench_step(w->nhosts);
}

static void workload_free(struct workload *w)
{
    free(w->hosts);
    free(w->slots);
}

static char (*random_names(unsigned n))[24]
{
    char(*names)[24] = malloc(n * sizeof *names);
    if (names == NULL)
        die("malloc");
    for (unsigned i = 0; i < n; i++)
        bench_user_name(i, names[i]);
    return names;
}

#define ROUNDS 7

static int cmp_double(const void *a, const void *b);

/* Steady state: each iteration closes one session and logs a new one in
 * its slot, so the live count stays put. Returns lifecycles per second. */
static double run_lifecycles(fl_engine *e, struct workload *w, size_t iterations)
{
    double t0 = now_sec();
    for (size_t i = 0; i < iterations; i++) {
        size_t slot = bench_slot(&w->rng, i, w->live);
        fl_close(e, w->slots[slot]);
        login(e, w, slot, (unsigned)(i + w->live));
    }
    return (double)iterations / (now_sec() - t0);
}

/* Warm up for warmup lifecycles, then time ROUNDS rounds into rates,
 * sorted: together about 3 s of work. The live sessions must all be
 * clients still. */
static void timed_rounds(fl_engine *e, struct workload *w, size_t warmup,
                         double rates[ROUNDS])
{
    run_lifecycles(e, w, warmup);
    size_t iterations = w->live / 2 < 300000 ? 300000 : w->live / 2;
    for (int r = 0; r < ROUNDS; r++)
        rates[r] = run_lifecycles(e, w, iterations);
    qsort(rates, ROUNDS, sizeof rates[0], cmp_double);
    fl_totals t;
    fl_engine_totals(e, &t);
    if (t.sessions != w->live || t.clients != w->live) {
        fprintf(stderr, "bench: %zu sessions, %zu clients, expected %zu\n", t.sessions,
                t.clients, w->live);
        exit(1);
    }
}

static void bench_live(const char *dir, size_t live, const char *suffix)
{
    unsigned nusers = (unsigned)(live / SESSIONS_PER_USER);
    char(*names)[24] = random_names(nusers);
    struct workload w;
    workload_init(&w, live, names, nusers);

    size_t before = heap_in_use();
    fl_engine *e = engine_with_policy(dir);
    for (size_t i = 0; i < live; i++)
        login(e, &w, i, (unsigned)i);

    double rates[ROUNDS];
    timed_rounds(e, &w, live / 4, rates);
    /* Memory after the churn: a table that grows its buckets while its item
     * count stays put shows here. */
    size_t after = heap_in_use();
    printf("lifecycles_per_sec_%s %.0f lifecycles/s\n", suffix, rates[ROUNDS / 2]);
    printf("lifecycles_per_sec_%s_best %.0f lifecycles/s\n", suffix, rates[ROUNDS - 1]);
    printf("bytes_per_session_%s %.1f bytes\n", suffix,
           (double)(after - before) / (double)live);
    fflush(stdout);

    /* Random order, once as many lifecycles as there are sessions have
     * mixed the sessions' ages (1/e of them are still those of fifo order). */
    w.rng = BENCH_RANDOM_SEED;
    timed_rounds(e, &w, live, rates);
    printf("lifecycles_per_sec_%s_random %.0f lifecycles/s\n", suffix,
           rates[ROUNDS / 2]);
    fflush(stdout);
    fl_engine_free(e);
    workload_free(&w);
    free(names);
}

/* User names whose Jenkins hashes share their low `bits` bits. */
static char (*crafted_names(unsigned n, unsigned bits))[24]
{
    char(*names)[24] = malloc(n * sizeof *names);
    if (names == NULL)
        die("malloc");
    unsigned mask = (1u << bits) - 1, found = 0;
    for (unsigned long long i = 0; found < n; i++) {
        char cand[24];
        int len = snprintf(cand, sizeof cand, "u%llx", i);
        if ((jenkins_hash(cand, (size_t)len) & mask) == 0)
            memcpy(names[found++], cand, sizeof cand);
    }
    return names;
}

/* Time per lifecycle with every session a distinct user from names. */
static double ns_per_lifecycle(const char *dir, char (*names)[24], unsigned n)
{
    struct workload w;
    workload_init(&w, n, names, n);
    fl_engine *e = engine_with_policy(dir);
    for (size_t i = 0; i < n; i++)
        login(e, &w, i, (unsigned)i);
    run_lifecycles(e, &w, n);
    double rate = run_lifecycles(e, &w, (size_t)n * 20);
    fl_engine_free(e);
    workload_free(&w);
    return 1e9 / rate;
}

static void bench_collide(const char *dir);
static void bench_geo(const char *dir);

int main(int argc, char **argv)
{
    bool quick = false, live = true, collide = true, geo = true;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = true;
        else if (strcmp(argv[i], "live") == 0)
            collide = geo = false;
        else if (strcmp(argv[i], "collide") == 0)
            live = geo = false;
        else if (strcmp(argv[i], "geo") == 0)
            live = collide = false;
        else {
            fprintf(stderr, "usage: bench/engine [--quick] [live|collide|geo]\n");
            return 2;
        }
    }
    char dir[] = "/tmp/ftplimit-bench-XXXXXX";
    if (mkdtemp(dir) == NULL)
        die("mkdtemp");
    srandom(1);

    if (live) {
        bench_live(dir, quick ? 10000 : 100000, quick ? "10k" : "100k");
        bench_live(dir, quick ? 100000 : 1000000, quick ? "100k" : "1m");
    }
    if (collide)
        bench_collide(dir);
    if (geo)
        bench_geo(dir);

    static const char *const files[] = {"bench.conf", "geo.mmdb", "geo.spec"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        remove(path);
    }
    remove(dir);
    return 0;
}

/* 10000 names colliding in their low 12 bits fill one uthash bucket at any
 * table size uthash reaches for them (it stops expanding). The two kinds
 * are timed in turn, ROUNDS times, and each one's median is kept: on a
 * shared machine one timing alone can be off by half. */
static void bench_collide(const char *dir)
{
    enum { N = 10000, BITS = 12 };
    char(*crafted)[24] = crafted_names(N, BITS);
    char(*randoms)[24] = random_names(N);
    double cs[ROUNDS], rs[ROUNDS];
    for (int i = 0; i < ROUNDS; i++) {
        cs[i] = ns_per_lifecycle(dir, crafted, N);
        rs[i] = ns_per_lifecycle(dir, randoms, N);
    }
    qsort(cs, ROUNDS, sizeof cs[0], cmp_double);
    qsort(rs, ROUNDS, sizeof rs[0], cmp_double);
    double c = cs[ROUNDS / 2], r = rs[ROUNDS / 2];
    printf("ns_per_lifecycle_crafted %.0f ns\n", c);
    printf("ns_per_lifecycle_random %.0f ns\n", r);
    printf("crafted_over_random %.2f ratio\n", c / r);
    printf(
        "jenkins_crafted_over_random %.1f ratio\n",
        jenkins_table_ratio((const char(*)[24])crafted, (const char(*)[24])randoms, N));

    free(crafted);
    free(randoms);
}

/* --- GeoIP ------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median ns of a connect decision for n never-seen hosts (each closed at
 * once, so the tables stay small and every connect is a new host). */
static double median_new_host_connect_ns(const char *dir, const char *policy,
                                         unsigned n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/bench.conf", dir);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        die(path);
    fputs(policy, f);
    fclose(f);
    fl_engine_options opts = {.clock = fl_vclock_read, .clock_arg = &vclock};
    fl_engine *e = fl_engine_new(&opts);
    if (e == NULL || fl_engine_load(e, path, NULL, NULL) < 0)
        die("load geo policy");

    double *ns = malloc(n * sizeof *ns);
    if (ns == NULL)
        die("malloc");
    for (unsigned i = 0; i < n; i++) {
        fl_connect_info ci = {.sid = NULL};
        char text[32];
        /* Addresses spread over the database's networks (and beyond). */
        unsigned v = i * 2654435761u;
        snprintf(text, sizeof text, "%u.%u.%u.%u", 1 + (v >> 24) % 200,
                 (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff);
        fl_addr_parse(text, &ci.addr);
        fl_session *s;
        fl_decision d;
        double t0 = now_sec();
        if (fl_connect(e, &ci, &s, &d) < 0 || s == NULL)
            die("geo connect refused");
        ns[i] = (now_sec() - t0) * 1e9;
        fl_close(e, s);
    }
    qsort(ns, n, sizeof *ns, cmp_double);
    double median = ns[n / 2];
    free(ns);
    fl_engine_free(e);
    return median;
}

static void bench_geo(const char *dir)
{
    /* 20000 random /24s in 1.0.0.0-200.255.255.255 with countries. */
    static const char *const countries[][2] = {{"DE", "EU"}, {"FR", "EU"},
                                               {"US", "NA"}, {"BR", "SA"},
                                               {"JP", "AS"}, {"AU", "OC"}};
    char spec[4096], db[4096], cmd[16384];
    snprintf(spec, sizeof spec, "%s/geo.spec", dir);
    snprintf(db, sizeof db, "%s/geo.mmdb", dir);
    FILE *f = fopen(spec, "w");
    if (f == NULL)
        die(spec);
    for (unsigned i = 0; i < 20000; i++) {
        unsigned v = (unsigned)random();
        const char *const *c = countries[i % 6];
        fprintf(f, "%u.%u.%u.0/24 country=%s continent=%s\n", 1 + (v >> 16) % 200,
                (v >> 8) & 0xff, v & 0xff, c[0], c[1]);
    }
    fclose(f);
    const char *top = getenv("top_srcdir");
    snprintf(cmd, sizeof cmd, "perl '%s/tests/mkmmdb.pl' '%s' < '%s'", top ? top : ".",
             db, spec);
    if (system(cmd) != 0) {
        fprintf(stderr, "bench: cannot write the GeoIP database (%s)\n", cmd);
        return;
    }

    char with_geo[8192];
    snprintf(with_geo, sizeof with_geo,
             "GeoIPDatabase %s\n"
             "<Class de>\nFromCountry DE AT CH\n</Class>\n"
             "<Class europe>\nFromContinent EU\n</Class>\n"
             "<Class rest>\nFrom all\n</Class>\n"
             "MaxClientsPerClass de 1000\nMaxConnectionsPerHost 10\n",
             db);
    static const char without_geo[] =
        "<Class de>\nFrom 10.0.0.0/8\n</Class>\n"
        "<Class europe>\nFrom 172.16.0.0/12\n</Class>\n"
        "<Class rest>\nFrom all\n</Class>\n"
        "MaxClientsPerClass de 1000\nMaxConnectionsPerHost 10\n";
    unsigned n = 200000;
    double base = median_new_host_connect_ns(dir, without_geo, n);
    double geo = median_new_host_connect_ns(dir, with_geo, n);
    printf("connect_new_host_median_ns_without_geo %.0f ns\n", base);
    printf("connect_new_host_median_ns_with_geo %.0f ns\n", geo);
    printf("geo_ns_per_new_host_median %.0f ns\n", geo - base);
}
