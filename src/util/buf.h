/*
 * util/buf.h - a growing text buffer: what the ban table's file and
 * ftplimitd's pages (metrics, the ban list) are written into as they are
 * made.
 *
 * A write that finds no memory marks the buffer failed; later writes do
 * nothing, and the caller checks `failed` once at the end. The text is
 * NUL-terminated whenever anything was written.
 */
#ifndef FL_UTIL_BUF_H
#define FL_UTIL_BUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct fl_buf {
    char *data; /* fl_free() it, or take it */
    size_t len, cap;
    bool failed;
} fl_buf;

/* Room for n more bytes and a NUL; false (and failed) without memory. */
bool fl_buf_reserve(fl_buf *b, size_t n);

void fl_buf_put(fl_buf *b, const void *bytes, size_t n);
#define FL_BUF_PUT(b, lit) fl_buf_put((b), (lit), sizeof(lit) - 1)

void fl_buf_printf(fl_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* What write(out, size, arg) writes, for a writer that returns the length
 * it needs whatever size it was given (as snprintf does, and
 * fl_json_quote): written where there is room, else again once there is. */
void fl_buf_put_with(fl_buf *b,
                     size_t (*write)(char *out, size_t size, const char *arg),
                     const char *arg);

#endif
