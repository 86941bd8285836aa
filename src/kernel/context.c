/*
 * kernel/context.c - the engine's clock and logger: what every layer may
 * call, so it sits at the bottom of the engine.
 */
#include "config.h"

#include <errno.h>
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

void fl_report(fl_engine *e, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (e->report_fn != NULL)
        e->report_fn(e->report_arg, msg);
}

fl_usec fl_engine_now(fl_engine *e)
{
    return fl_now(e);
}

const char *fl_strerror(int err)
{
    switch (err) {
    case ENOENT:
        return "no such session, ban, listener, timer or file";
    case ENOSPC:
        return "the table is full (MaxTrackedHosts)";
    case EALREADY:
        return "not now: the engine or the connection is in another state";
    case EINPROGRESS:
        return "a request that was started must be finished first";
    case ECONNREFUSED:
        return "no ftplimitd listens on the socket";
    case EPROTO:
        return "the answer was not ftplimitd's protocol";
    case EACCES:
        return "refused by the daemon's Allow* rules or the session's token";
    case EPERM:
        return "not allowed: an engine's own module, or an exempt target";
    case EEXIST:
        return "it exists already";
    case EBUSY:
        return "the daemon has no engine to answer with";
    default:
        return strerror(err);
    }
}
