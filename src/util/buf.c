/*
 * util/buf.c - a growing text buffer (util/buf.h).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/alloc.h"
#include "util/buf.h"

bool fl_buf_reserve(fl_buf *b, size_t n)
{
    if (b->failed)
        return false;
    if (n < b->cap - b->len)
        return true;
    size_t cap = (b->cap + n + 1) * 2;
    char *grown = fl_realloc(b->data, cap);
    if (grown == NULL) {
        b->failed = true;
        return false;
    }
    b->data = grown;
    b->cap = cap;
    return true;
}

void fl_buf_put(fl_buf *b, const void *bytes, size_t n)
{
    if (fl_buf_reserve(b, n)) {
        memcpy(b->data + b->len, bytes, n);
        b->len += n;
        b->data[b->len] = '\0';
    }
}

void fl_buf_printf(fl_buf *b, const char *fmt, ...)
{
    for (;;) {
        size_t room = b->failed ? 0 : b->cap - b->len;
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(room > 0 ? b->data + b->len : NULL, room, fmt, ap);
        va_end(ap);
        if (b->failed || n < 0)
            return;
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        if (!fl_buf_reserve(b, (size_t)n))
            return;
    }
}

void fl_buf_put_with(fl_buf *b,
                     size_t (*write)(char *out, size_t size, const char *arg),
                     const char *arg)
{
    size_t room = b->failed ? 0 : b->cap - b->len;
    size_t n = write(room > 0 ? b->data + b->len : NULL, room, arg);
    if (n < room)
        b->len += n;
    else if (fl_buf_reserve(b, n))
        b->len += write(b->data + b->len, b->cap - b->len, arg);
}
