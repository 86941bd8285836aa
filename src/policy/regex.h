/*
 * policy/regex.h - the regular expressions of a policy (AnonRejectPasswords,
 * <IfUser regex>, <IfGroup regex>, <IfClass regex>): PCRE2, as Debian's
 * ProFTPD compiles them (pr_regexp: pcre2_compile, CASELESS for [NC], JIT),
 * with a budget for compiling and one for each match, so that no pattern in
 * a policy and no subject from a client can stall the daemon.
 */
#ifndef FL_POLICY_REGEX_H
#define FL_POLICY_REGEX_H

#include <stdbool.h>
#include <stddef.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

/* The budgets: a compiled pattern of at most FL_REGEX_SIZE_MAX bytes and
 * FL_REGEX_NEST_MAX nested parentheses; a match of at most
 * FL_REGEX_MATCH_LIMIT steps, FL_REGEX_DEPTH_LIMIT backtracking depth and
 * FL_REGEX_HEAP_LIMIT KiB (a few milliseconds at most). */
#define FL_REGEX_SIZE_MAX (256 * 1024)
#define FL_REGEX_NEST_MAX 64
#define FL_REGEX_MATCH_LIMIT 100000
#define FL_REGEX_DEPTH_LIMIT 1000
#define FL_REGEX_HEAP_LIMIT 4096

typedef struct fl_regex {
    pcre2_code *code;
    pcre2_match_context *match_ctx;
    pcre2_match_data *match_data; /* one match at a time: the engine's thread */
} fl_regex;

/* Compile pattern, caseless with nocase. 0; or -1 with why (size bytes)
 * saying what is wrong, or that it is over the budget. */
int fl_regex_compile(fl_regex *r, const char *pattern, bool nocase, char *why,
                     size_t size);

/* Whether subject matches: 1 or 0; -1 when the match ran out of its budget
 * (or of memory) before it could say. */
int fl_regex_match(const fl_regex *r, const char *subject);

void fl_regex_free(fl_regex *r);

#endif
