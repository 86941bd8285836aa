/*
 * rate.c - connection rate as an exact sliding window.
 *
 * To allow `count` connections per `interval` exactly, it is enough to
 * remember the times of the last `count` accepted ones: the next is allowed
 * when fewer than `count` of them fall inside (now - interval, now]. A ring
 * of `count` timestamps does that in O(1) per connection; refused
 * connections are never recorded, so they do not use up the rate.
 */
#include "config.h"

#include "util/rate.h"

#include <string.h>

#include "util/alloc.h"

size_t fl_rate_size(uint32_t cap)
{
    return sizeof(fl_rate) + (size_t)cap * sizeof(fl_usec);
}

void fl_rate_init(fl_rate *r, uint32_t cap)
{
    r->cap = cap;
    r->len = 0;
    r->head = 0;
}

fl_rate *fl_rate_new(uint32_t cap)
{
    fl_rate *r = fl_malloc(fl_rate_size(cap));
    if (r != NULL)
        fl_rate_init(r, cap);
    return r;
}

static fl_usec rate_at(const fl_rate *r, uint32_t i)
{
    return r->t[(r->head + i) % r->cap];
}

fl_rate *fl_rate_resized(const fl_rate *r, uint32_t cap)
{
    fl_rate *n = fl_rate_new(cap);
    if (n == NULL)
        return NULL;
    uint32_t keep = r->len < cap ? r->len : cap;
    for (uint32_t i = 0; i < keep; i++)
        n->t[i] = rate_at(r, r->len - keep + i);
    n->len = keep;
    return n;
}

bool fl_rate_refit(fl_rate **w, long long count, const fl_rate *embedded)
{
    fl_rate *n = *w != NULL ? fl_rate_resized(*w, (uint32_t)count)
                            : fl_rate_new((uint32_t)count);
    if (n == NULL)
        return false;
    if (*w != embedded)
        fl_free(*w);
    *w = n;
    return true;
}

/* The slot after i, in a ring of cap slots (no division: this runs at every
 * connect). */
static uint32_t ring_next(const fl_rate *r, uint32_t i)
{
    return i + 1 == r->cap ? 0 : i + 1;
}

uint32_t fl_rate_count(fl_rate *r, fl_usec now, fl_usec interval)
{
    while (r->len > 0 && r->t[r->head] <= now - interval) {
        r->head = ring_next(r, r->head);
        r->len--;
    }
    return r->len;
}

void fl_rate_record(fl_rate *r, fl_usec now)
{
    if (r->cap == 0)
        return;
    if (r->len == r->cap) {
        r->head = ring_next(r, r->head);
        r->len--;
    }
    uint32_t tail = r->head + r->len; /* both < cap */
    r->t[tail >= r->cap ? tail - r->cap : tail] = now;
    r->len++;
}

fl_usec fl_rate_newest(const fl_rate *r)
{
    return r->len > 0 ? rate_at(r, r->len - 1) : INT64_MIN;
}
