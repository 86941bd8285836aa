/*
 * util/text.c - the one escape for text shown back, and the one lexer of
 * quoted tokens (policies and simulate traces).
 */
#include "config.h"

#include "util/text.h"

#include <stdio.h>
#include <string.h>

bool fl_text_has_control(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return true;
    }
    return false;
}

const char *fl_text_escape(const char *text, char *buf, size_t size)
{
    if (size == 0)
        return buf;
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)(text ? text : "(null)");
         *p != '\0'; p++) {
        if (o + 5 >= size) { /* room for one escape, or for "..." */
            snprintf(buf + o, size - o, "...");
            return buf;
        }
        if (*p >= 0x20 && *p < 0x7f && *p != '\\')
            buf[o++] = (char)*p;
        else
            o += (size_t)snprintf(buf + o, size - o, "\\x%02x", *p);
    }
    buf[o] = '\0';
    return buf;
}

enum fl_token_result fl_text_token(char **cursor, const char *seps, bool comments,
                                   char **tok, bool *quoted)
{
    char *s = *cursor;
    s += strspn(s, seps);
    if (*s == '\0' || (comments && *s == '#')) {
        *cursor = s;
        return FL_TOKEN_END;
    }
    if (*s != '"') {
        *tok = s;
        *quoted = false;
        s += strcspn(s, seps);
        if (*s != '\0')
            *s++ = '\0';
        *cursor = s;
        return FL_TOKEN_OK;
    }
    char *out = ++s;
    *tok = out;
    *quoted = true;
    for (;;) {
        if (*s == '\0') {
            *out = '\0';
            *cursor = s;
            return FL_TOKEN_UNTERMINATED;
        }
        if (*s == '\\' && (s[1] == '"' || s[1] == '\\')) {
            *out++ = s[1];
            s += 2;
        } else if (*s == '"') {
            s++;
            break;
        } else {
            *out++ = *s++;
        }
    }
    if (*s != '\0' && strchr(seps, *s) == NULL) {
        *out = '\0';
        *cursor = s;
        return FL_TOKEN_GLUED;
    }
    if (*s != '\0')
        s++;
    *out = '\0';
    *cursor = s;
    return FL_TOKEN_OK;
}
