/*
 * kernel/context.c - the engine's clock and logger: what every layer may
 * call, so it sits at the bottom of the engine.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "context.h"

fl_usec fl_clock_monotonic(void *arg)
{
    (void)arg;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (fl_usec)ts.tv_sec * FL_USEC_PER_SEC + ts.tv_nsec / 1000;
}

fl_usec fl_vclock_read(void *vclock)
{
    return ((const fl_vclock *)vclock)->now;
}

void fl_engine_set_log(fl_engine *e, fl_log_fn fn, void *arg)
{
    if (e == NULL)
        return;
    e->log_fn = fn;
    e->log_arg = arg;
}

void fl_log(fl_engine *e, int priority, const char *fmt, ...)
{
    if (e->log_fn == NULL)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    e->log_fn(e->log_arg, priority, msg);
}

fl_usec fl_engine_now(fl_engine *e)
{
    return fl_now(e);
}

const char *fl_strerror(int err)
{
    return strerror(err);
}
