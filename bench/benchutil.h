/*
 * bench/benchutil.h - what the benchmarks that run ftplimitd share.
 */
#ifndef FL_BENCHUTIL_H
#define FL_BENCHUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

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

#endif
