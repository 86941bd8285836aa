/*
 * message.c - turns a limit's message template into a safe reply text.
 *
 * Values come from attackers (user names) as much as from the policy, so the
 * output is sanitised as it is written, byte by byte: an FTP reply is a line,
 * and a CR or LF inside it would let a user name forge further replies.
 */
#include "config.h"

#include "decide/message.h"

#include <stdio.h>
#include <string.h>

struct out {
    char *buf;
    size_t size, len;
};

static void put_byte(struct out *o, unsigned char c)
{
    if (o->len + 1 >= o->size)
        return;
    o->buf[o->len++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
}

static void put_text(struct out *o, const char *s)
{
    for (; s != NULL && *s != '\0'; s++)
        put_byte(o, (unsigned char)*s);
}

static void put_number(struct out *o, long long n)
{
    char num[32];
    if (n < 0)
        return;
    snprintf(num, sizeof num, "%lld", n);
    put_text(o, num);
}

void fl_message_expand(char *out, size_t size, const char *tmpl,
                       const fl_message_vars *v)
{
    struct out o = {out, size, 0};
    if (size == 0)
        return;

    for (const char *p = tmpl; *p != '\0'; p++) {
        if (*p != '%' || p[1] == '\0') {
            put_byte(&o, (unsigned char)*p);
            continue;
        }
        switch (*++p) {
        case 'm':
            put_number(&o, v->max);
            break;
        case 'n':
            put_number(&o, v->count);
            break;
        case 'u':
            put_text(&o, v->user);
            break;
        case 'a':
            put_text(&o, v->address);
            break;
        case 'c':
            put_text(&o, v->class_name);
            break;
        case 'C':
            put_text(&o, v->country);
            break;
        case '%':
            put_byte(&o, '%');
            break;
        default:
            put_byte(&o, '%');
            put_byte(&o, (unsigned char)*p);
            break;
        }
    }
    o.buf[o.len] = '\0';
}
