/*
 * message.h - reply messages: %-expansion and sanitising.
 */
#ifndef FL_MESSAGE_H
#define FL_MESSAGE_H

#include <stddef.h>

/* What the % sequences expand to; NULL strings expand to nothing. */
typedef struct fl_message_vars {
    long long max;          /* %m, -1: nothing */
    long long count;        /* %n, -1: nothing */
    const char *user;       /* %u */
    const char *address;    /* %a */
    const char *class_name; /* %c */
    const char *country;    /* %C */
} fl_message_vars;

/* Expand tmpl into out (always NUL-terminated, cut to size). %m %n %u %a %c
 * %C and %% are expanded; any other % sequence is kept as written. Every
 * control character (CR and LF included), in the template or in a value,
 * becomes '?', so nothing can end a reply early or inject another. */
void fl_message_expand(char *out, size_t size, const char *tmpl,
                       const fl_message_vars *v);

#endif
