/*
 * util/text.h - text from outside (a policy, a trace, a protocol line, a
 * client's user name) read as tokens, and shown back safely.
 */
#ifndef FL_UTIL_TEXT_H
#define FL_UTIL_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* text as a message or a log line may show it: every byte outside
 * printable ASCII, and the backslash, written \xNN (so that no control
 * byte, and no escape that was not made here, comes through), cut with
 * "..." where buf (size bytes) ends. NULL shows as "(null)". Returns buf. */
const char *fl_text_escape(const char *text, char *buf, size_t size);

/* Whether the n bytes at s hold a control byte (C0 or DEL), which no name,
 * target or message the protocol carries may. */
bool fl_text_has_control(const char *s, size_t n);

/* What fl_text_token() found. */
enum fl_token_result {
    FL_TOKEN_END,          /* no more tokens (or a comment starts) */
    FL_TOKEN_OK,           /* *tok is the next token */
    FL_TOKEN_UNTERMINATED, /* a quote is not closed */
    FL_TOKEN_GLUED         /* text right after a closing quote */
};

/* The next token at *cursor, cut in place: tokens are separated by any
 * byte of seps; a token that starts with a double quote runs to the next
 * unescaped one and may hold separators, with \" and \\ its only escapes.
 * With comments, a '#' where a token would start ends the line. *quoted
 * says whether the token was quoted; *cursor moves past it. */
enum fl_token_result fl_text_token(char **cursor, const char *seps, bool comments,
                                   char **tok, bool *quoted);

#endif
