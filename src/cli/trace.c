/*
 * trace.c - parses one line of a simulate trace.
 *
 * TIME VERB FIELDS...: fields are split on white space, and a field may be
 * double-quoted, with \" and \\ as its only escapes, so that any user name
 * or password can be written.
 */
#include "config.h"

#include "trace.h"
#include "util/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIELDS_MAX 8

static int fail(char *err, size_t size, const char *msg)
{
    snprintf(err, size, "%s", msg);
    return -1;
}

/* Split into fields (util/text.h); -1 on bad quoting or too many fields. */
static int split(char *s, char **fields, int *n, char *err, size_t errsize)
{
    *n = 0;
    for (;;) {
        char *tok;
        bool quoted;
        switch (fl_text_token(&s, " \t\r\n", false, &tok, &quoted)) {
        case FL_TOKEN_END:
            return 0;
        case FL_TOKEN_UNTERMINATED:
            return fail(err, errsize, "unterminated quoted field");
        case FL_TOKEN_GLUED:
            return fail(err, errsize, "text right after a closing quote");
        case FL_TOKEN_OK:
            break;
        }
        if (*n == FIELDS_MAX)
            return fail(err, errsize, "too many fields");
        fields[(*n)++] = tok;
    }
}

/* Decimal seconds with up to six decimals into microseconds. */
static int parse_time(const char *t, fl_usec *out)
{
    size_t int_len = strspn(t, "0123456789");
    if (int_len == 0 || int_len > 12)
        return -1;
    fl_usec us = (fl_usec)strtoll(t, NULL, 10) * FL_USEC_PER_SEC;
    const char *p = t + int_len;
    if (*p == '.') {
        p++;
        size_t frac = strspn(p, "0123456789");
        if (frac == 0 || frac > 6)
            return -1;
        fl_usec scale = FL_USEC_PER_SEC / 10;
        for (size_t i = 0; i < frac; i++, scale /= 10)
            us += (p[i] - '0') * scale;
        p += frac;
    }
    if (*p != '\0')
        return -1;
    *out = us;
    return 0;
}

/* A ban's or unban's server=NAME, field at of the n, taken out of f: the
 * fields left. */
static int take_server(char **f, int n, int at, struct trace_op *op)
{
    if (n > at && strncmp(f[at], "server=", 7) == 0 && f[at][7] != '\0') {
        op->server = f[at] + 7;
        for (int i = at; i + 1 < n; i++)
            f[i] = f[i + 1];
        n--;
    }
    return n;
}

int trace_parse_line(char *line, size_t len, struct trace_op *op, char *err,
                     size_t errsize)
{
    if (memchr(line, '\0', len) != NULL)
        return fail(err, errsize, "line contains a NUL byte");
    const char *first = line + strspn(line, " \t\r\n");
    if (*first == '\0' || *first == '#')
        return 0;

    char *f[FIELDS_MAX];
    int n;
    if (split(line, f, &n, err, errsize) < 0)
        return -1;
    if (n < 2)
        return fail(err, errsize, "expected TIME VERB ...");

    memset(op, 0, sizeof *op);
    if (parse_time(f[0], &op->time) < 0)
        return fail(err, errsize, "TIME must be seconds, e.g. 12 or 12.5");

    const char *verb = f[1];
    if (strcmp(verb, "connect") == 0) {
        static const char usage[] =
            "usage: TIME connect SID ADDRESS [server=ADDR:PORT] [name=DNSNAME]";
        if (n < 4 || n > 6)
            return fail(err, errsize, usage);
        op->verb = TRACE_CONNECT;
        op->sid = f[2];
        op->address = f[3];
        for (int i = 4; i < n; i++) {
            if (strncmp(f[i], "name=", 5) == 0 && f[i][5] != '\0' &&
                op->dns_name == NULL)
                op->dns_name = f[i] + 5;
            else if (strncmp(f[i], "server=", 7) == 0 && op->server == NULL)
                op->server = f[i] + 7;
            else
                return fail(err, errsize, usage);
        }
    } else if (strcmp(verb, "user") == 0) {
        static const char usage[] =
            "usage: TIME user SID USERNAME [as=ACCOUNT|as=-] [groups=GROUP,...]";
        if (n < 4 || n > 6)
            return fail(err, errsize, usage);
        op->verb = TRACE_USER;
        op->sid = f[2];
        op->user = f[3];
        for (int i = 4; i < n; i++) {
            if (strncmp(f[i], "as=", 3) == 0 && f[i][3] != '\0' && !op->resolved) {
                op->resolved = true;
                op->account = strcmp(f[i] + 3, "-") == 0 ? NULL : f[i] + 3;
            } else if (strncmp(f[i], "groups=", 7) == 0 && f[i][7] != '\0' &&
                       op->groups == NULL) {
                op->groups = f[i] + 7;
            } else {
                return fail(err, errsize, usage);
            }
        }
    } else if (strcmp(verb, "pass") == 0) {
        if (n < 4 || n > 5 || (strcmp(f[3], "ok") != 0 && strcmp(f[3], "bad") != 0))
            return fail(err, errsize, "usage: TIME pass SID ok|bad [PASSWORD]");
        op->verb = TRACE_PASS;
        op->sid = f[2];
        op->ok = strcmp(f[3], "ok") == 0;
        op->password = n == 5 ? f[4] : NULL;
    } else if (strcmp(verb, "close") == 0) {
        if (n != 3)
            return fail(err, errsize, "usage: TIME close SID");
        op->verb = TRACE_CLOSE;
        op->sid = f[2];
    } else if (strcmp(verb, "reload") == 0) {
        if (n > 3)
            return fail(err, errsize, "usage: TIME reload [POLICY]");
        op->verb = TRACE_RELOAD;
        op->policy = n == 3 ? f[2] : NULL;
    } else if (strcmp(verb, "ban") == 0) {
        static const char usage[] =
            "usage: TIME ban KIND TARGET SECONDS [server=ADDR:PORT|server=main] "
            "[MESSAGE]";
        n = take_server(f, n, 5, op);
        if (n < 5 || n > 6 || strspn(f[4], "0123456789") != strlen(f[4]) ||
            strlen(f[4]) > 9 || strtoll(f[4], NULL, 10) < 1)
            return fail(err, errsize, usage);
        op->verb = TRACE_BAN;
        op->kind = f[2];
        op->target = f[3];
        op->seconds = strtoll(f[4], NULL, 10);
        op->message = n == 6 ? f[5] : NULL;
    } else if (strcmp(verb, "unban") == 0) {
        n = take_server(f, n, 4, op);
        if (n != 4)
            return fail(err, errsize,
                        "usage: TIME unban KIND TARGET [server=ADDR:PORT|server=main]");
        op->verb = TRACE_UNBAN;
        op->kind = f[2];
        op->target = f[3];
    } else if (strcmp(verb, "tick") == 0) {
        if (n != 2)
            return fail(err, errsize, "usage: TIME tick");
        op->verb = TRACE_TICK;
    } else {
        return fail(
            err, errsize,
            "unknown operation (expected connect, user, pass, close, reload, ban, "
            "unban or tick)");
    }
    return 1;
}
