/*
 * json_read.c - a flat JSON object, decoded in place (json_read.h).
 *
 * Every escape is at least as long as what it stands for (\u00e9 is six
 * bytes for two, a surrogate pair twelve for four), so each string is
 * written back over itself and ends where its closing quote was.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>

#include "proto/json_read.h"
#include "util/utf8.h"

struct reader {
    char *p;
};

static void skip_space(struct reader *r)
{
    while (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')
        r->p++;
}

/* Four hex digits, or -1. */
static long hex4(const char *s)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

static char *put_utf8(char *out, unsigned long cp)
{
    if (cp < 0x80) {
        *out++ = (char)cp;
    } else if (cp < 0x800) {
        *out++ = (char)(0xc0 | (cp >> 6));
        *out++ = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        *out++ = (char)(0xe0 | (cp >> 12));
        *out++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *out++ = (char)(0x80 | (cp & 0x3f));
    } else {
        *out++ = (char)(0xf0 | (cp >> 18));
        *out++ = (char)(0x80 | ((cp >> 12) & 0x3f));
        *out++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *out++ = (char)(0x80 | (cp & 0x3f));
    }
    return out;
}

/* "\uXXXX", or a surrogate pair of them, at r->p (past the backslash and
 * the u); the code point, or -1 for a lone surrogate or U+0000. */
static long unicode_escape(struct reader *r)
{
    long cp = hex4(r->p);
    if (cp < 0)
        return -1;
    r->p += 4;
    if (cp >= 0xdc00 && cp <= 0xdfff)
        return -1;
    if (cp >= 0xd800 && cp <= 0xdbff) {
        if (r->p[0] != '\\' || r->p[1] != 'u')
            return -1;
        long low = hex4(r->p + 2);
        if (low < 0xdc00 || low > 0xdfff)
            return -1;
        r->p += 6;
        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
    }
    return cp == 0 ? -1 : cp;
}

/* A string at r->p (its opening quote), decoded over itself; NULL if it is
 * not one. */
static const char *read_string(struct reader *r)
{
    if (*r->p != '"')
        return NULL;
    char *start = ++r->p, *out = start;
    for (;;) {
        unsigned char c = (unsigned char)*r->p;
        if (c == '"')
            break;
        if (c < 0x20) /* a control character, or the end of the text */
            return NULL;
        if (c != '\\') {
            size_t n = fl_utf8_valid_len((const unsigned char *)r->p);
            if (n == 0)
                return NULL;
            memmove(out, r->p, n);
            out += n;
            r->p += n;
            continue;
        }
        char e = r->p[1];
        r->p += 2;
        static const char plain[] = "\"\\/bfnrt", decoded[] = "\"\\/\b\f\n\r\t";
        const char *hit = e != '\0' ? strchr(plain, e) : NULL;
        if (hit != NULL) {
            *out++ = decoded[hit - plain];
        } else if (e == 'u') {
            long cp = unicode_escape(r);
            if (cp < 0)
                return NULL;
            out = put_utf8(out, (unsigned long)cp);
        } else {
            return NULL;
        }
    }
    r->p++; /* the closing quote, after out: out may take its place */
    *out = '\0';
    return start;
}

/* An integer, as JSON writes one (no leading zeros, no '+'), that fits in
 * a long long; a fraction or an exponent makes it a real, refused here. */
static bool read_integer(struct reader *r, long long *out)
{
    const char *p = r->p;
    bool negative = *p == '-';
    if (negative)
        p++;
    if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] >= '0' && p[1] <= '9'))
        return false;
    unsigned long long v = 0, limit = negative ? (unsigned long long)LLONG_MAX + 1
                                               : (unsigned long long)LLONG_MAX;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (limit - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (*p == '.' || *p == 'e' || *p == 'E')
        return false;
    *out = negative ? (long long)(0 - v) : (long long)v;
    r->p = (char *)p;
    return true;
}

static bool read_word(struct reader *r, const char *word)
{
    size_t n = strlen(word);
    if (strncmp(r->p, word, n) != 0)
        return false;
    r->p += n;
    return true;
}

static bool read_value(struct reader *r, struct fl_json_member *m)
{
    m->str = NULL;
    m->num = 0;
    if (*r->p == '"') {
        m->type = FL_JSON_STRING;
        return (m->str = read_string(r)) != NULL;
    }
    if (read_word(r, "true")) {
        m->type = FL_JSON_TRUE;
        return true;
    }
    if (read_word(r, "false")) {
        m->type = FL_JSON_FALSE;
        return true;
    }
    if (read_word(r, "null")) {
        m->type = FL_JSON_NULL;
        return true;
    }
    m->type = FL_JSON_INTEGER;
    return read_integer(r, &m->num);
}

int fl_json_read_flat(char *text, struct fl_json_member *members, int max)
{
    struct reader r = {text};
    int n = 0;
    skip_space(&r);
    if (*r.p++ != '{')
        return -1;
    skip_space(&r);
    if (*r.p != '}') {
        for (;;) {
            if (n == max)
                return -1;
            struct fl_json_member *m = &members[n++];
            if ((m->key = read_string(&r)) == NULL)
                return -1;
            skip_space(&r);
            if (*r.p++ != ':')
                return -1;
            skip_space(&r);
            if (!read_value(&r, m))
                return -1;
            skip_space(&r);
            if (*r.p == '}')
                break;
            if (*r.p++ != ',')
                return -1;
            skip_space(&r);
        }
    }
    r.p++;
    skip_space(&r);
    return *r.p == '\0' ? n : -1;
}

const struct fl_json_member *fl_json_member_get(const struct fl_json_member *members,
                                                int n, const char *key)
{
    for (int i = n - 1; i >= 0; i--) {
        if (strcmp(members[i].key, key) == 0)
            return &members[i];
    }
    return NULL;
}
