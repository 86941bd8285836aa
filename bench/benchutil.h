/*
 * bench/benchutil.h - what the benchmarks that run ftplimitd share.
 */
#ifndef FL_BENCHUTIL_H
#define FL_BENCHUTIL_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>
#include <time.h>

#include <ftplimit/client.h>

static inline double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void die(const char *what)
{
    perror(what);
    exit(1);
}

/* Start the daemon argv[0] with argv, its standard error into log, dying
 * with the benchmark (with RLIMIT_NOFILE nofile when not 0), and wait until
 * it answers on socket. Its pid; exits when it does not answer. */
static inline pid_t bench_start_daemon(char *const argv[], const char *log,
                                       const char *socket, rlim_t nofile)
{
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        struct rlimit limit = {nofile, nofile};
        if ((nofile != 0 && setrlimit(RLIMIT_NOFILE, &limit) < 0) ||
            freopen(log, "w", stderr) == NULL)
            _exit(126);
        execv(argv[0], argv);
        _exit(127);
    }
    fl_client *probe = NULL;
    for (int i = 0; i < 500 && (probe = fl_client_open(socket, 1000)) == NULL; i++)
        usleep(10000);
    if (probe == NULL) {
        fprintf(stderr, "bench: ftplimitd (%s) did not start; see %s\n", argv[0], log);
        exit(1);
    }
    fl_client_free(probe);
    return pid;
}

#endif
