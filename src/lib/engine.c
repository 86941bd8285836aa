/*
 * engine.c - the engine context: creation, clock and lifecycle.
 *
 * The lifecycle follows ProFTPD's order of events (see ftplimit/engine.h);
 * this file owns the order, the parts it calls own their own state.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "internal.h"

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

fl_engine *fl_engine_new(const fl_engine_options *opts)
{
    fl_engine *e = fl_calloc(1, sizeof *e);
    if (e == NULL)
        return NULL;

    e->clock = fl_clock_monotonic;
    if (opts != NULL && opts->clock != NULL) {
        e->clock = opts->clock;
        e->clock_arg = opts->clock_arg;
    }

    if (opts != NULL && opts->hash_seed != NULL) {
        fl_hash_key_from_bytes(&e->hash_key, opts->hash_seed);
    } else if (fl_hash_key_random(&e->hash_key) < 0) {
        int saved = errno;
        fl_free(e);
        errno = saved;
        return NULL;
    }

    e->state = FL_ENGINE_NEW;
    return e;
}

void fl_engine_free(fl_engine *e)
{
    if (e == NULL)
        return;
    fl_timer_set_free(e);
    fl_event_bus_free(e);
    fl_modules_free(e);
    fl_free(e);
}

fl_usec fl_engine_now(fl_engine *e)
{
    return e->clock(e->clock_arg);
}

const char *fl_strerror(int err)
{
    return strerror(err);
}

int fl_engine_startup(fl_engine *e)
{
    if (e == NULL) {
        errno = EINVAL;
        return -1;
    }
    if (e->state != FL_ENGINE_NEW) {
        errno = EALREADY;
        return -1;
    }
    e->state = FL_ENGINE_STARTED;
    fl_event_generate(e, FL_EV_STARTUP, NULL);
    return 0;
}

void fl_engine_shutdown(fl_engine *e)
{
    if (e == NULL || e->state == FL_ENGINE_DOWN)
        return;
    e->state = FL_ENGINE_DOWN;
    fl_event_generate(e, FL_EV_EXIT, NULL);
    fl_event_generate(e, FL_EV_SHUTDOWN, NULL);
}
