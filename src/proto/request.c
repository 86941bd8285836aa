/*
 * request.c - ftplimitd's request lines, both ways: formatted by the
 * client library and `ftplimit ban`, parsed by the daemon.
 *
 * A request is one line: a verb and fields separated by single spaces. The
 * fields that may hold any text -- a user name, a password -- come last and
 * run to the end of the line, so they need no quoting: CR and LF cannot be
 * in them, and a NUL byte makes the line an error. A BAN target, which is
 * not last, is %-encoded. Everything that could go wrong in a line gets a
 * reason token and a sentence naming the problem.
 */
#include "config.h"

#include "proto/request.h"
#include "util/addr.h"
#include "util/text.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const verbs[] = {
    [FL_VERB_HELLO] = "HELLO",   [FL_VERB_CONNECT] = "CONNECT",
    [FL_VERB_USER] = "USER",     [FL_VERB_USERAS] = "USERAS",
    [FL_VERB_PASS] = "PASS",     [FL_VERB_ANONPASS] = "ANONPASS",
    [FL_VERB_TOKEN] = "TOKEN",   [FL_VERB_LOGOUT] = "LOGOUT",
    [FL_VERB_CLOSE] = "CLOSE",   [FL_VERB_RESUME] = "RESUME",
    [FL_VERB_STATUS] = "STATUS", [FL_VERB_METRICS] = "METRICS",
    [FL_VERB_RELOAD] = "RELOAD", [FL_VERB_WATCH] = "WATCH",
    [FL_VERB_PING] = "PING",     [FL_VERB_BAN] = "BAN",
    [FL_VERB_GROUPS] = "GROUPS",
};

const char *fl_verb_name(enum fl_verb v)
{
    return (size_t)v < sizeof verbs / sizeof verbs[0] ? verbs[v] : "?";
}

/* The next space-separated field, NUL-terminated in place; NULL at the end,
 * and for an empty field (two spaces: fields are separated by one). */
static char *next_field(char **cursor)
{
    char *s = *cursor;
    if (s == NULL || *s == '\0' || *s == ' ')
        return NULL;
    char *space = strchr(s, ' ');
    if (space != NULL) {
        *space = '\0';
        *cursor = space + 1;
    } else {
        *cursor = s + strlen(s);
    }
    return s;
}

static bool parse_int(const char *s, long max, long *out)
{
    if (s == NULL || *s == '\0' || strspn(s, "0123456789") != strlen(s) ||
        strlen(s) > 9)
        return false;
    long v = strtol(s, NULL, 10);
    if (v > max)
        return false;
    *out = v;
    return true;
}

/* Decode %XX in place (a BAN target may hold spaces: "john%20doe"). False
 * for a malformed escape or a control byte, written or decoded. */
static bool percent_decode(char *s)
{
    char *out = s;
    for (const char *p = s; *p != '\0'; p++) {
        unsigned v;
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return false;
        if (*p != '%') {
            *out++ = *p;
            continue;
        }
        if (sscanf(p + 1, "%2x", &v) != 1 ||
            strspn(p + 1, "0123456789abcdefABCDEF") < 2 || v < 0x20 || v == 0x7f)
            return false;
        *out++ = (char)v;
        p += 2;
    }
    *out = '\0';
    return true;
}

/* Set the reason token and the message (a literal format), return -1. */
#define FAIL(token, ...) (snprintf(msg, msg_size, __VA_ARGS__), *reason = (token), -1)

int fl_request_parse(char *line, size_t len, struct fl_request *r, const char **reason,
                     char *msg, size_t msg_size)
{
    char tmp[64];
    memset(r, 0, sizeof *r);
    if (memchr(line, '\0', len) != NULL)
        return FAIL("nul-byte", "the request contains a NUL byte");
    if (len > 0 && line[len - 1] == '\r')
        line[--len] = '\0';
    /* Nothing a field holds may end a line of a reply, a log or an event. */
    if (memchr(line, '\r', len) != NULL)
        return FAIL("bad-field", "the request contains a CR before its end");

    char *cursor = line;
    char *verb = next_field(&cursor);
    if (verb == NULL)
        return FAIL("missing-field", "an empty line is not a request");

    size_t v;
    for (v = 0; v < sizeof verbs / sizeof verbs[0]; v++) {
        if (strcasecmp(verb, verbs[v]) == 0)
            break;
    }
    if (v == sizeof verbs / sizeof verbs[0])
        return FAIL("unknown-verb", "unknown verb '%s'",
                    fl_text_escape(verb, tmp, sizeof tmp));
    r->verb = (enum fl_verb)v;

    char *f;
    long n;
    switch (r->verb) {
    case FL_VERB_HELLO:
        if ((f = next_field(&cursor)) == NULL)
            return FAIL("missing-field", "HELLO needs a protocol version");
        if (!parse_int(f, 1000000, &n))
            return FAIL("bad-field", "protocol version '%s' is not a number",
                        fl_text_escape(f, tmp, sizeof tmp));
        r->version = (int)n;
        break;

    case FL_VERB_CONNECT:
    case FL_VERB_RESUME:
        if ((f = next_field(&cursor)) == NULL)
            return FAIL("missing-field", "%s needs a session id", verbs[v]);
        r->sid = strcmp(f, "-") == 0 && r->verb == FL_VERB_CONNECT ? NULL : f;
        if (strlen(f) > FL_SID_MAX)
            return FAIL("bad-field", "a session id is at most %d bytes", FL_SID_MAX);
        if ((f = next_field(&cursor)) == NULL)
            return FAIL("missing-field", "%s needs an address", verbs[v]);
        if (fl_addr_parse(f, &r->addr) < 0)
            return FAIL("bad-field", "'%s' is not an IPv4 or IPv6 address",
                        fl_text_escape(f, tmp, sizeof tmp));
        /* server=ADDR:PORT: the server it reached (no DNS name and no class
         * holds '='). */
        f = next_field(&cursor);
        if (f != NULL && strncmp(f, "server=", 7) == 0) {
            if (fl_endpoint_parse(f + 7, &r->server) < 0)
                return FAIL("bad-field",
                            "server '%s' is not ADDR:PORT ([ADDR]:PORT for IPv6)",
                            fl_text_escape(f + 7, tmp, sizeof tmp));
            r->has_server = true;
            f = next_field(&cursor);
        }
        if (r->verb == FL_VERB_CONNECT) {
            r->dns_name = f;
            break;
        }
        if (f == NULL)
            return FAIL("missing-field", "RESUME needs a class (or -, or *)");
        r->classify = strcmp(f, "*") == 0;
        r->class_name = strcmp(f, "-") == 0 || r->classify ? NULL : f;
        if ((f = next_field(&cursor)) == NULL)
            return FAIL("missing-field", "RESUME needs its login state (0, 1, u or a)");
        if (strlen(f) != 1 || strchr("01ua", f[0]) == NULL)
            return FAIL("bad-field", "the login state must be 0, 1, u or a, not '%s'",
                        fl_text_escape(f, tmp, sizeof tmp));
        r->authenticated = f[0] != '0';
        r->anonymity = f[0] == 'u'   ? FL_ANON_NO
                       : f[0] == 'a' ? FL_ANON_YES
                                     : FL_ANON_BY_POLICY;
        if ((f = next_field(&cursor)) == NULL)
            return FAIL("missing-field", "RESUME needs the failed-login count");
        if (!parse_int(f, 65535, &n))
            return FAIL("bad-field",
                        "failed-login count '%s' is not a number up to 65535",
                        fl_text_escape(f, tmp, sizeof tmp));
        r->failed = (int)n;
        r->user = *cursor != '\0' ? cursor : NULL;
        cursor += strlen(cursor);
        if (r->authenticated && r->user == NULL)
            return FAIL("missing-field", "an authenticated session needs its user");
        break;

    case FL_VERB_USERAS:
        if ((f = next_field(&cursor)) == NULL)
            return FAIL("missing-field", "USERAS needs the anonymous account, or -");
        r->account = strcmp(f, "-") == 0 ? NULL : f;
        if (strlen(f) > FL_USER_MAX)
            return FAIL("bad-field", "an account is at most %d bytes", FL_USER_MAX);
        /* the user name follows, as in USER */
        /* fall through */
    case FL_VERB_USER:
        if (*cursor == '\0')
            return FAIL("missing-field", "%s needs a user name", verbs[v]);
        r->user = cursor;
        cursor += strlen(cursor);
        break;

    case FL_VERB_GROUPS:
        /* Group names, %-encoded (a name may hold a space); none is none. */
        while ((f = next_field(&cursor)) != NULL) {
            if (r->ngroups == FL_GROUPS_MAX)
                return FAIL("bad-field", "GROUPS takes at most %d groups",
                            FL_GROUPS_MAX);
            if (!percent_decode(f) || f[0] == '\0' || strlen(f) > FL_USER_MAX)
                return FAIL("bad-field",
                            "a group is 1 to %d bytes, %%-encoded, without a control "
                            "byte",
                            FL_USER_MAX);
            r->groups[r->ngroups++] = f;
        }
        break;

    case FL_VERB_ANONPASS:
        /* The password runs to the end of the line, and may be empty. */
        r->password = cursor;
        cursor += strlen(cursor);
        break;

    case FL_VERB_TOKEN:
        if ((f = next_field(&cursor)) == NULL)
            return FAIL("missing-field", "TOKEN needs the session's token");
        if (strlen(f) != FL_TOKEN_LEN || strspn(f, "0123456789abcdef") != FL_TOKEN_LEN)
            return FAIL("bad-field", "a token is %d lower-case hex digits",
                        FL_TOKEN_LEN);
        r->token = f;
        break;

    case FL_VERB_PASS:
        if ((f = next_field(&cursor)) == NULL)
            return FAIL("missing-field", "PASS needs ok or bad");
        if (strcmp(f, "ok") != 0 && strcmp(f, "bad") != 0)
            return FAIL("bad-field", "PASS takes ok or bad, not '%s'",
                        fl_text_escape(f, tmp, sizeof tmp));
        r->ok = f[0] == 'o';
        /* "PASS ok" has no password; "PASS ok " has an empty one. */
        r->password = f + strlen(f) < line + len ? cursor : NULL;
        cursor += strlen(cursor);
        break;

    case FL_VERB_WATCH:
        r->pattern = next_field(&cursor);
        break;

    case FL_VERB_BAN:
        if ((f = next_field(&cursor)) == NULL)
            return FAIL("missing-field", "BAN needs LIST, ADD or REMOVE");
        if (strcasecmp(f, "LIST") == 0) {
            r->ban_op = FL_BAN_LIST;
            break;
        }
        if (strcasecmp(f, "ADD") == 0)
            r->ban_op = FL_BAN_ADD;
        else if (strcasecmp(f, "REMOVE") == 0)
            r->ban_op = FL_BAN_REMOVE;
        else
            return FAIL("bad-field", "BAN takes LIST, ADD or REMOVE, not '%s'",
                        fl_text_escape(f, tmp, sizeof tmp));
        f = next_field(&cursor);
        if (f != NULL && strncmp(f, "server=", 7) == 0) {
            /* A server's name, %-encoded: its spaces are %20. */
            if (f[7] == '\0' || !percent_decode(f + 7))
                return FAIL("bad-field",
                            "server= needs a server's name, %%-encoded, without a "
                            "control byte");
            r->server_name = f + 7;
            f = next_field(&cursor);
        }
        if (f == NULL)
            return FAIL("missing-field",
                        "BAN %s needs a kind (host, user, class, user@host)",
                        r->ban_op == FL_BAN_ADD ? "ADD" : "REMOVE");
        if (fl_ban_kind_parse(f, &r->ban_kind) < 0)
            return FAIL("bad-field",
                        "'%s' is not a ban kind (host, user, class, user@host)",
                        fl_text_escape(f, tmp, sizeof tmp));
        if (r->ban_op == FL_BAN_ADD) {
            if ((f = next_field(&cursor)) == NULL)
                return FAIL("missing-field", "BAN ADD needs a duration in seconds");
            if (!parse_int(f, FL_BAN_SECONDS_MAX, &n) || n == 0)
                return FAIL("bad-field",
                            "ban duration '%s' is not a number of seconds from 1",
                            fl_text_escape(f, tmp, sizeof tmp));
            r->ban_seconds = n;
        }
        if ((f = next_field(&cursor)) == NULL)
            return FAIL("missing-field", "BAN %s needs a target",
                        r->ban_op == FL_BAN_ADD ? "ADD" : "REMOVE");
        if (!percent_decode(f))
            return FAIL("bad-field",
                        "the target '%s' has a bad %%-escape or a control byte",
                        fl_text_escape(f, tmp, sizeof tmp));
        r->target = f;
        if (r->ban_op == FL_BAN_ADD && *cursor != '\0') {
            r->message = cursor;
            cursor += strlen(cursor);
        }
        break;

    case FL_VERB_STATUS:
        /* A server's name holds spaces ("ADDR:PORT ADDR:PORT"): the rest. */
        r->server_name = *cursor != '\0' ? cursor : NULL;
        cursor += strlen(cursor);
        break;
    case FL_VERB_LOGOUT:
    case FL_VERB_CLOSE:
    case FL_VERB_METRICS:
    case FL_VERB_RELOAD:
    case FL_VERB_PING:
    case FL_VERB_COUNT:
        break;
    }

    if (*cursor != '\0')
        return FAIL("extra-field", "%s takes no more fields", verbs[v]);
    /* The engine's limits, checked here so that every request the parser
     * lets through is one the engine can take. */
    if (r->user != NULL && strlen(r->user) > FL_USER_MAX)
        return FAIL("bad-field", "a user name is at most %d bytes", FL_USER_MAX);
    if (r->password != NULL && strlen(r->password) > FL_PASS_MAX)
        return FAIL("bad-field", "a password is at most %d bytes", FL_PASS_MAX);
    if (r->dns_name != NULL && strlen(r->dns_name) > FL_DNSNAME_MAX)
        return FAIL("bad-field", "a DNS name is at most %d bytes", FL_DNSNAME_MAX);
    return 0;
}

/* --- formatting ------------------------------------------------------------ */

/* A line being written into a caller's buffer. */
struct line {
    char *buf;
    size_t size, len;
    int err; /* 0, or why the line cannot be made */
};

static void put(struct line *l, const char *s, size_t n)
{
    if (l->err != 0)
        return;
    if (l->len + n >= l->size) {
        l->err = ENAMETOOLONG;
        return;
    }
    memcpy(l->buf + l->len, s, n);
    l->len += n;
    l->buf[l->len] = '\0';
}

static void put_str(struct line *l, const char *s)
{
    put(l, s, strlen(s));
}

/* " word": a field that ends at the next space, so holds none. */
static void put_word(struct line *l, const char *w)
{
    if (w == NULL || w[0] == '\0' || strpbrk(w, " \r\n") != NULL) {
        l->err = l->err != 0 ? l->err : EINVAL;
        return;
    }
    put(l, " ", 1);
    put_str(l, w);
}

/* " text": the last field, which runs to the end of the line. */
static void put_tail(struct line *l, const char *t)
{
    if (strpbrk(t, "\r\n") != NULL) {
        l->err = l->err != 0 ? l->err : EINVAL;
        return;
    }
    put(l, " ", 1);
    put_str(l, t);
}

/* " target", %-encoded: spaces, '%' and bytes past ASCII as %XX. */
/* " PREFIX" and t %-encoded: spaces, '%', control and non-ASCII bytes. */
static void put_encoded_as(struct line *l, const char *prefix, const char *t)
{
    if (t == NULL || t[0] == '\0') {
        l->err = l->err != 0 ? l->err : EINVAL;
        return;
    }
    put(l, " ", 1);
    put_str(l, prefix);
    for (const unsigned char *p = (const unsigned char *)t; *p != '\0'; p++) {
        char esc[4];
        if (*p <= ' ' || *p == '%' || *p >= 0x7f) {
            snprintf(esc, sizeof esc, "%%%02X", *p);
            put(l, esc, 3);
        } else {
            put(l, (const char *)p, 1);
        }
    }
}

static void put_encoded(struct line *l, const char *t)
{
    put_encoded_as(l, "", t);
}

static void put_number(struct line *l, long n)
{
    char num[24];
    snprintf(num, sizeof num, " %ld", n);
    put_str(l, num);
}

/* RESUME's login state (doc/protocol.md). */
static const char *login_state(const struct fl_request *r)
{
    if (!r->authenticated)
        return "0";
    return r->anonymity == FL_ANON_NO ? "u" : r->anonymity == FL_ANON_YES ? "a" : "1";
}

int fl_request_format(const struct fl_request *r, char *buf, size_t size)
{
    struct line l = {buf, size, 0, size > 0 ? 0 : ENAMETOOLONG};
    if (size > 0)
        buf[0] = '\0';
    if ((unsigned)r->verb >= FL_VERB_COUNT) {
        errno = EINVAL;
        return -1;
    }
    put_str(&l, verbs[r->verb]);
    char address[FL_ADDR_TEXT_MAX];
    switch (r->verb) {
    case FL_VERB_HELLO:
        put_number(&l, r->version);
        break;
    case FL_VERB_TOKEN:
        put_word(&l, r->token);
        break;
    case FL_VERB_CONNECT:
    case FL_VERB_RESUME:
        put_word(&l, r->sid != NULL ? r->sid : "-");
        fl_addr_format(&r->addr, address, sizeof address);
        put_word(&l, address);
        if (r->has_server) {
            char server[FL_ADDR_TEXT_MAX + 16] = "server=";
            fl_endpoint_format(&r->server, server + 7, sizeof server - 7);
            put_word(&l, server);
        }
        if (r->verb == FL_VERB_CONNECT) {
            if (r->dns_name != NULL)
                put_word(&l, r->dns_name);
            break;
        }
        put_word(&l, r->classify ? "*" : r->class_name != NULL ? r->class_name : "-");
        put_word(&l, login_state(r));
        put_number(&l, r->failed);
        if (r->user != NULL)
            put_tail(&l, r->user);
        break;
    case FL_VERB_USERAS:
        put_word(&l, r->account != NULL ? r->account : "-");
        /* the user name follows, as in USER */
        /* fall through */
    case FL_VERB_USER:
        if (r->user == NULL || r->user[0] == '\0')
            l.err = l.err != 0 ? l.err : EINVAL;
        else
            put_tail(&l, r->user);
        break;
    case FL_VERB_PASS:
        put_word(&l, r->ok ? "ok" : "bad");
        if (r->password != NULL)
            put_tail(&l, r->password);
        break;
    case FL_VERB_ANONPASS:
        put_tail(&l, r->password != NULL ? r->password : "");
        break;
    case FL_VERB_GROUPS:
        for (size_t i = 0; i < r->ngroups; i++)
            put_encoded(&l, r->groups[i]);
        break;
    case FL_VERB_WATCH:
        if (r->pattern != NULL)
            put_word(&l, r->pattern);
        break;
    case FL_VERB_BAN:
        put_word(&l, r->ban_op == FL_BAN_LIST  ? "LIST"
                     : r->ban_op == FL_BAN_ADD ? "ADD"
                                               : "REMOVE");
        if (r->ban_op == FL_BAN_LIST)
            break;
        if (r->server_name != NULL)
            put_encoded_as(&l, "server=", r->server_name);
        put_word(&l, fl_ban_kind_name(r->ban_kind));
        if (r->ban_op == FL_BAN_ADD)
            put_number(&l, r->ban_seconds);
        put_encoded(&l, r->target);
        if (r->ban_op == FL_BAN_ADD && r->message != NULL)
            put_tail(&l, r->message);
        break;
    case FL_VERB_STATUS:
        if (r->server_name != NULL)
            put_tail(&l, r->server_name);
        break;
    case FL_VERB_LOGOUT:
    case FL_VERB_CLOSE:
    case FL_VERB_METRICS:
    case FL_VERB_RELOAD:
    case FL_VERB_PING:
    case FL_VERB_COUNT:
        break;
    }
    if (l.err != 0) {
        errno = l.err;
        return -1;
    }
    return (int)l.len;
}
