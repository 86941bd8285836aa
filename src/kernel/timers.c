/*
 * timers.c - ProFTPD's timers on an injectable clock, without SIGALRM.
 *
 * Armed timers sit in a binary min-heap ordered by (deadline, arming order),
 * so the next deadline is the root and equal deadlines fire in the order they
 * were armed; a uthash by timer number answers add's "already in use" and
 * remove/reset by number.
 *
 * The one idea to hold on to: the timer whose callback is running stays in
 * the heap (or, if the callback removes it, stays allocated) until the
 * callback returns, so callbacks may add, remove and reset any timer,
 * themselves included, without the run loop losing its footing.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#include "context.h"
#include "util/uthash_keyed.h"

#define NOT_IN_HEAP SIZE_MAX

struct fl_timer {
    UT_hash_handle hh;
    int timerno;
    fl_module *module;
    fl_usec interval;
    fl_usec armed_at;
    fl_usec deadline;
    uint64_t seq;
    fl_timer_cb cb;
    void *data;
    size_t heap_index;
    bool removed; /* removed by its own callback; freed when it returns */
};

static fl_usec add_saturating(fl_usec a, fl_usec b)
{
    return a > FL_NEVER - b ? FL_NEVER : a + b;
}

static bool timer_before(const struct fl_timer *a, const struct fl_timer *b)
{
    return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
}

static void heap_set(struct fl_timer_set *ts, size_t i, struct fl_timer *t)
{
    ts->heap[i] = t;
    t->heap_index = i;
}

static void heap_sift_up(struct fl_timer_set *ts, size_t i)
{
    struct fl_timer *t = ts->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!timer_before(t, ts->heap[parent]))
            break;
        heap_set(ts, i, ts->heap[parent]);
        i = parent;
    }
    heap_set(ts, i, t);
}

static void heap_sift_down(struct fl_timer_set *ts, size_t i)
{
    struct fl_timer *t = ts->heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= ts->len)
            break;
        if (child + 1 < ts->len && timer_before(ts->heap[child + 1], ts->heap[child]))
            child++;
        if (!timer_before(ts->heap[child], t))
            break;
        heap_set(ts, i, ts->heap[child]);
        i = child;
    }
    heap_set(ts, i, t);
}

/* Restore heap order after the key of the timer at i changed. */
static void heap_fix(struct fl_timer_set *ts, size_t i)
{
    if (i > 0 && timer_before(ts->heap[i], ts->heap[(i - 1) / 2]))
        heap_sift_up(ts, i);
    else
        heap_sift_down(ts, i);
}

static int heap_push(struct fl_timer_set *ts, struct fl_timer *t)
{
    if (ts->len == ts->cap) {
        size_t cap = ts->cap ? ts->cap * 2 : 16;
        struct fl_timer **heap = fl_realloc(ts->heap, cap * sizeof *heap);
        if (heap == NULL)
            return -1;
        ts->heap = heap;
        ts->cap = cap;
    }
    heap_set(ts, ts->len++, t);
    heap_sift_up(ts, ts->len - 1);
    return 0;
}

static void heap_remove(struct fl_timer_set *ts, struct fl_timer *t)
{
    size_t i = t->heap_index;
    t->heap_index = NOT_IN_HEAP;
    ts->len--;
    if (i != ts->len) {
        heap_set(ts, i, ts->heap[ts->len]);
        heap_fix(ts, i);
    }
}

static struct fl_timer *timer_find(fl_engine *e, int timerno)
{
    const fl_hash_key *hash_key = &e->hash_key;
    struct fl_timer *t;
    HASH_FIND_INT(e->timers.by_no, &timerno, t);
    return t;
}

static bool timer_matches(const struct fl_timer *t, fl_module *m)
{
    return m == FL_ANY_MODULE || t->module == m;
}

/* Take t out of the set; free it unless its callback is running. */
static void timer_discard(fl_engine *e, struct fl_timer *t)
{
    struct fl_timer_set *ts = &e->timers;
    HASH_DEL(ts->by_no, t);
    if (t->heap_index != NOT_IN_HEAP)
        heap_remove(ts, t);
    if (t == ts->running)
        t->removed = true;
    else
        fl_free(t);
}

static void timer_arm(fl_engine *e, struct fl_timer *t, fl_usec now)
{
    t->armed_at = now;
    t->deadline = add_saturating(now, t->interval);
    t->seq = ++e->timers.seq;
}

static int next_dynamic_number(struct fl_timer_set *ts, fl_engine *e)
{
    if (ts->next_dynamic < FL_TIMER_DYNAMIC_FIRST)
        ts->next_dynamic = FL_TIMER_DYNAMIC_FIRST;
    /* Numbers only go up; one taken explicitly is skipped, never reused. */
    while (ts->next_dynamic < INT_MAX && timer_find(e, ts->next_dynamic) != NULL)
        ts->next_dynamic++;
    if (ts->next_dynamic == INT_MAX) {
        errno = EAGAIN;
        return -1;
    }
    return ts->next_dynamic++;
}

int fl_timer_add_usec(fl_engine *e, fl_usec interval, int timerno, fl_module *m,
                      fl_timer_cb cb, void *data)
{
    if (e == NULL || interval <= 0 || cb == NULL || timerno < FL_TIMER_DYNAMIC ||
        m == FL_ANY_MODULE) {
        errno = EINVAL;
        return -1;
    }

    struct fl_timer_set *ts = &e->timers;
    if (timerno >= 0 && timer_find(e, timerno) != NULL) {
        errno = EPERM;
        return -1;
    }

    struct fl_timer *t = fl_calloc(1, sizeof *t);
    if (t == NULL)
        return -1;
    if (timerno == FL_TIMER_DYNAMIC) {
        timerno = next_dynamic_number(ts, e);
        if (timerno < 0) {
            fl_free(t);
            return -1;
        }
    }
    t->timerno = timerno;
    t->module = m;
    t->interval = interval;
    t->cb = cb;
    t->data = data;
    timer_arm(e, t, fl_now(e));

    if (heap_push(ts, t) < 0) {
        fl_free(t);
        return -1;
    }
    const fl_hash_key *hash_key = &e->hash_key;
    HASH_ADD_INT(ts->by_no, timerno, t);
    if (!FL_HASH_ADDED(t)) {
        heap_remove(ts, t);
        fl_free(t);
        errno = ENOMEM;
        return -1;
    }
    return timerno;
}

int fl_timer_add(fl_engine *e, int seconds, int timerno, fl_module *m, fl_timer_cb cb,
                 void *data)
{
    if (seconds <= 0) {
        errno = EINVAL;
        return -1;
    }
    return fl_timer_add_usec(e, (fl_usec)seconds * FL_USEC_PER_SEC, timerno, m, cb,
                             data);
}

int fl_timer_remove(fl_engine *e, int timerno, fl_module *m)
{
    if (e == NULL || timerno < -1) {
        errno = EINVAL;
        return -1;
    }

    if (timerno >= 0) {
        struct fl_timer *t = timer_find(e, timerno);
        if (t == NULL || !timer_matches(t, m)) {
            errno = ENOENT;
            return -1;
        }
        timer_discard(e, t);
        return timerno;
    }

    int removed = 0;
    struct fl_timer *t, *tmp;
    HASH_ITER(hh, e->timers.by_no, t, tmp)
    {
        if (timer_matches(t, m)) {
            timer_discard(e, t);
            removed++;
        }
    }
    if (removed == 0) {
        errno = ENOENT;
        return -1;
    }
    return removed;
}

int fl_timer_reset(fl_engine *e, int timerno, fl_module *m)
{
    if (e == NULL)
        return 0;
    struct fl_timer *t = timer_find(e, timerno);
    if (t == NULL || !timer_matches(t, m))
        return 0;
    timer_arm(e, t, fl_now(e));
    if (t->heap_index != NOT_IN_HEAP)
        heap_fix(&e->timers, t->heap_index);
    return timerno;
}

void fl_timers_block(fl_engine *e)
{
    if (e != NULL)
        e->timers.blocked++;
}

void fl_timers_unblock(fl_engine *e)
{
    if (e == NULL || e->timers.blocked == 0)
        return;
    if (--e->timers.blocked == 0)
        fl_timers_run(e);
}

fl_usec fl_timers_next_deadline(fl_engine *e)
{
    if (e == NULL || e->timers.len == 0)
        return FL_NEVER;
    return e->timers.heap[0]->deadline;
}

fl_usec fl_timers_timeout(fl_engine *e)
{
    if (e == NULL || e->timers.len == 0 || e->timers.blocked > 0)
        return -1;
    fl_usec wait = e->timers.heap[0]->deadline - fl_now(e);
    return wait > 0 ? wait : 0;
}

int fl_timers_count(fl_engine *e)
{
    return e != NULL ? (int)HASH_COUNT(e->timers.by_no) : 0;
}

int fl_timers_run(fl_engine *e)
{
    if (e == NULL)
        return 0;
    struct fl_timer_set *ts = &e->timers;
    /* Blocked, or called again from inside a callback: the outer run, or the
     * last unblock, fires what is due. */
    if (ts->blocked > 0 || ts->running != NULL)
        return 0;

    const fl_usec now = fl_now(e);
    int fired = 0;
    while (ts->len > 0 && ts->heap[0]->deadline <= now) {
        struct fl_timer *t = ts->heap[0];
        ts->running = t;
        int again = t->cb(t->interval, t->timerno, now - t->armed_at, t->data);
        ts->running = NULL;
        fired++;

        if (t->removed) {
            fl_free(t);
        } else if (again) {
            timer_arm(e, t, now);
            heap_fix(ts, t->heap_index);
        } else {
            timer_discard(e, t);
        }
    }
    return fired;
}

void fl_timer_set_free(fl_engine *e)
{
    struct fl_timer_set *ts = &e->timers;
    struct fl_timer *t, *tmp;
    HASH_ITER(hh, ts->by_no, t, tmp)
    {
        HASH_DEL(ts->by_no, t);
        fl_free(t);
    }
    fl_free(ts->heap);
    memset(ts, 0, sizeof *ts);
}
