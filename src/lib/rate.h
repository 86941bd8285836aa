/*
 * rate.h - an exact sliding window over accepted connections.
 */
#ifndef FL_RATE_H
#define FL_RATE_H

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

/* Forget connections at or before now - interval; return how many remain. */
uint32_t fl_rate_count(fl_rate *r, fl_usec now, fl_usec interval);

/* Remember a connection at now (the oldest is forgotten when full). */
void fl_rate_record(fl_rate *r, fl_usec now);

/* The time of the newest connection remembered, INT64_MIN when empty. */
fl_usec fl_rate_newest(const fl_rate *r);

#endif
