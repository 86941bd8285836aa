/*
 * ftplimit/timers.h - the Timers API, with ProFTPD's semantics, no signals.
 *
 * Timers run from the engine's clock. An event loop asks for the time until
 * the next deadline (fl_timers_timeout) and calls fl_timers_run when it
 * passes; tests and trace replay drive a virtual clock the same way.
 *
 * A callback's return value decides its future: 0 ends the timer, non-zero
 * re-arms it for another interval counted from the moment it fired. Adding,
 * removing or resetting timers from inside a callback is safe.
 */
#ifndef FTPLIMIT_TIMERS_H
#define FTPLIMIT_TIMERS_H

#include <ftplimit/engine.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Matches timers of any owner in fl_timer_remove and fl_timer_reset. */
#define FL_ANY_MODULE ((fl_module *)(uintptr_t)-1)

/* Ask fl_timer_add for a dynamic timer number. */
#define FL_TIMER_DYNAMIC (-1)
/* The first dynamic number; later ones count up and are never reused. */
#define FL_TIMER_DYNAMIC_FIRST 1024

/* interval: the timer's interval; timerno: its number; elapsed: time since it
 * was armed (>= interval, more if the loop ran late or timers were blocked);
 * data: the caller's pointer from fl_timer_add. */
typedef int (*fl_timer_cb)(fl_usec interval, int timerno, fl_usec elapsed, void *data);

/* Add a timer firing after interval microseconds, owned by module m (NULL:
 * core). timerno >= 0 chooses the number; FL_TIMER_DYNAMIC takes the next
 * dynamic one. Returns the number; -1 with EINVAL (interval <= 0, NULL cb,
 * timerno < -1), EPERM (timerno in use) or ENOMEM. */
FL_EXPORT int fl_timer_add_usec(fl_engine *e, fl_usec interval, int timerno,
                                fl_module *m, fl_timer_cb cb, void *data);

/* The same with an interval in whole seconds, as ProFTPD's add_timer. */
FL_EXPORT int fl_timer_add(fl_engine *e, int seconds, int timerno, fl_module *m,
                           fl_timer_cb cb, void *data);

/* Remove timer timerno of module m (FL_ANY_MODULE: any owner). timerno -1
 * removes every timer of m. Returns timerno, or for -1 how many were removed;
 * -1/ENOENT when nothing matched. */
FL_EXPORT int fl_timer_remove(fl_engine *e, int timerno, fl_module *m);

/* Restart the countdown of timer timerno of m (FL_ANY_MODULE: any owner).
 * Returns timerno, or 0 when there is no such timer. */
FL_EXPORT int fl_timer_reset(fl_engine *e, int timerno, fl_module *m);

/* Block timers; calls nest. While blocked, fl_timers_run fires nothing; when
 * the last block is lifted, every timer that fell due fires once. */
FL_EXPORT void fl_timers_block(fl_engine *e);
FL_EXPORT void fl_timers_unblock(fl_engine *e);

/* The absolute time of the next deadline, or FL_NEVER without timers. */
FL_EXPORT fl_usec fl_timers_next_deadline(fl_engine *e);

/* Microseconds until the next deadline (0 if already due), or -1 without
 * timers: what an event loop passes, rounded up, to poll(). */
FL_EXPORT fl_usec fl_timers_timeout(fl_engine *e);

/* Fire every timer that is due. Returns how many callbacks ran. */
FL_EXPORT int fl_timers_run(fl_engine *e);

/* How many timers are armed. */
FL_EXPORT int fl_timers_count(fl_engine *e);

#ifdef __cplusplus
}
#endif

#endif
