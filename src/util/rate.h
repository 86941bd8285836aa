/*
 * rate.h - an exact sliding window over accepted connections.
 */
#ifndef FL_RATE_H
#define FL_RATE_H

#include <stdbool.h>
#include <stdint.h>

#include <ftplimit/engine.h>

/* The times of the last cap accepted connections, oldest first. */
typedef struct fl_rate {
    uint32_t cap, len, head;
    fl_usec t[];
} fl_rate;

/* A window remembering up to cap connections. NULL/ENOMEM. */
fl_rate *fl_rate_new(uint32_t cap);

/* The bytes of a window of cap, for placing one inside another allocation
 * with fl_rate_init(). */
size_t fl_rate_size(uint32_t cap);
void fl_rate_init(fl_rate *r, uint32_t cap);

/* A new window holding up to cap connections, the newest of r's; r is the
 * caller's to free. NULL/ENOMEM. */
fl_rate *fl_rate_resized(const fl_rate *r, uint32_t cap);

/* Keep *w (NULL: none yet) a window of count connections, its newest kept:
 * a new window replaces it, and the old one is freed unless it is embedded
 * (placed with fl_rate_init inside another allocation). A count below 0
 * (FL_UNLIMITED) leaves *w as it is. false/ENOMEM with *w unchanged. The
 * check is inline (every connect asks, and the answer is nearly always
 * yes); fl_rate_refit makes the new window. */
bool fl_rate_refit(fl_rate **w, long long count, const fl_rate *embedded);
static inline bool fl_rate_fit(fl_rate **w, long long count, const fl_rate *embedded)
{
    if (count < 0 || (*w != NULL && (*w)->cap == count))
        return true;
    return fl_rate_refit(w, count, embedded);
}

/* Forget connections at or before now - interval; return how many remain. */
uint32_t fl_rate_count(fl_rate *r, fl_usec now, fl_usec interval);

/* Remember a connection at now (the oldest is forgotten when full). */
void fl_rate_record(fl_rate *r, fl_usec now);

/* The time of the newest connection remembered, INT64_MIN when empty. */
fl_usec fl_rate_newest(const fl_rate *r);

#endif
