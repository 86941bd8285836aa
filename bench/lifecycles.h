/*
 * bench/lifecycles.h - session lifecycles through ftplimitd's socket
 * (lifecycles.c), for bench/daemon and bench/cluster.
 */
#ifndef FL_BENCH_LIFECYCLES_H
#define FL_BENCH_LIFECYCLES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "benchutil.h"

#define MAX_SAMPLES 4000000 /* round trips a client keeps */
#define CLIENTS_MAX 64

/* What a client process does for `seconds`. */
enum client_kind {
    CLIENT_SERIAL,      /* lifecycles one at a time, as mod_ftplimit talks
                           (run_serial_client) */
    CLIENT_PIPELINED,   /* lifecycles, `sessions` in flight (run_concurrent_client) */
    CLIENT_UNPIPELINED, /* lifecycles one at a time, a round trip a line (run_client) */
    CLIENT_PERSISTENT,  /* decisions on a connection kept open */
};

struct run {
    double decisions_per_sec, lifecycles_per_sec, p50_us, p99_us, p999_us;
    double daemon_cpu_us; /* the daemon's CPU time per decision */
    unsigned long long lifecycles;
};

/* per_socket client processes of kind on each of sockets for `seconds`
 * (`sessions` in flight each for CLIENT_PIPELINED); the round trips are
 * CONNECT's (with HELLO) and USER+PASS's; daemons' CPU time is summed. */
void lifecycle_run(const char *const *sockets, size_t nsockets, int per_socket,
                   const pid_t *daemons, size_t ndaemons, enum client_kind kind,
                   int sessions, double seconds, struct run *out);

/* clients processes deciding PASS after PASS on connections kept open:
 * how many decisions in all. */
unsigned long long persistent_run(const char *socket, int clients, double seconds);

int read_all(int fd, void *buf, size_t len);
void write_all(int fd, const void *buf, size_t len);
/* A connection to the socket at path (flags: SOCK_NONBLOCK or 0). */
int dial(const char *path, int flags);
int cmp_u32(const void *a, const void *b);
/* Nanoseconds process pid has run, from /proc/PID/schedstat; 0 if unknown. */
unsigned long long cpu_ns(pid_t pid);

#endif
