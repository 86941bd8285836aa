/*
 * bench/workload.h - the session lifecycles bench/engine and bench/compare
 * time: one policy with every limit and five classes, the hosts and the
 * user names the sessions come from.
 */
#ifndef FL_BENCH_WORKLOAD_H
#define FL_BENCH_WORKLOAD_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <ftplimit/engine.h>

#define SESSIONS_PER_HOST 4
#define SESSIONS_PER_USER 4

/* Limits that are all checked on every decision and never refuse in this
 * workload; five classes cover the address space used. */
static const char bench_policy[] = "MaxInstances 5000000\n"
                                   "MaxConnectionRate 100000 1\n"
                                   "MaxConnectionRatePerHost 10 60\n"
                                   "MaxConnectionsPerHost 64\n"
                                   "<Class c0>\nFrom 10.0.0.0/10\n</Class>\n"
                                   "<Class c1>\nFrom 10.64.0.0/10\n</Class>\n"
                                   "<Class c2>\nFrom 10.128.0.0/10\n</Class>\n"
                                   "<Class c3>\nFrom 10.192.0.0/10 !10.255.0.0/16\n"
                                   "Satisfy all\n</Class>\n"
                                   "<Class c4>\nFrom all\n</Class>\n"
                                   "MaxClientsPerClass c0 5000000\n"
                                   "MaxClientsPerClass c1 5000000\n"
                                   "MaxClientsPerClass c2 5000000\n"
                                   "MaxClientsPerClass c3 5000000\n"
                                   "MaxClientsPerClass c4 5000000\n"
                                   "MaxClientsPerHost 64\n"
                                   "MaxClientsPerNetwork 100000\n"
                                   "MaxClientsPerUser 64\n"
                                   "MaxClients 5000000\n"
                                   "MaxHostsPerUser 64\n"
                                   "MaxLoginAttempts 3\n"
                                   "MaxTrackedHosts 10000000\n";

/* The address of host h, spread over 10.0.0.0/8 so that every class sees
 * traffic; text must hold 32 bytes. */
static inline const char *bench_host_text(unsigned h, char *text)
{
    unsigned v = h * 2654435761u; /* scatter over the /8 */
    snprintf(text, 32, "10.%u.%u.%u", (v >> 16) & 0xff, (v >> 8) & 0xff,
             (v & 0xff) | 1);
    return text;
}

/* The name of user i (random(): seed it for the same names every run). */
static inline void bench_user_name(unsigned i, char name[24])
{
    snprintf(name, 24, "user%08x%04x", (unsigned)random(), i & 0xffff);
}

/* Virtual time between two logins: each host logs in once per nhosts
 * logins, and must stay under MaxConnectionRatePerHost 10 60 (one per 6 s). */
static inline fl_usec bench_step(unsigned nhosts)
{
    return (fl_usec)(6.1 * FL_USEC_PER_SEC / nhosts) + 1;
}

/* Which live session the lifecycle numbered next closes: the oldest, in
 * slot next % live, when *rng is 0 (fifo order); else any, picked with the
 * xorshift64* generator whose state is *rng (random order; live must be
 * below 2^32). In fifo order every session lives live lifecycles, sessions
 * closed one after the other sit one after the other in memory, and a
 * close touches the host and user the next login touches; in random order
 * lifetimes spread geometrically (live lifecycles on average), as on a
 * server, and none of that holds. */
static inline size_t bench_slot(uint64_t *rng, size_t next, size_t live)
{
    if (*rng == 0)
        return next % live;
    *rng ^= *rng >> 12;
    *rng ^= *rng << 25;
    *rng ^= *rng >> 27;
    uint64_t x = (*rng * 0x2545f4914f6cdd1dULL) >> 32;
    return (size_t)((x * live) >> 32); /* bias under live/2^32: no matter */
}

/* A seed for random order (not 0). */
#define BENCH_RANDOM_SEED 0x9e3779b97f4a7c15ULL

#endif
