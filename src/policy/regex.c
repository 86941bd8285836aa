/*
 * regex.c - a policy's regular expressions, on PCRE2 (regex.h).
 *
 * PCRE2 reports a pattern whose compiled form would pass its own size
 * limit at once, without building it (glibc's regcomp built every copy of
 * a nested repetition first: gigabytes and seconds); FL_REGEX_SIZE_MAX and
 * FL_REGEX_NEST_MAX bound what it may build below that. A match counts its
 * steps, its backtracking depth and its heap, and stops at the budget with
 * an error instead of running for seconds on a back-reference pattern.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "policy/regex.h"

int fl_regex_compile(fl_regex *r, const char *pattern, bool nocase, char *why,
                     size_t size)
{
    memset(r, 0, sizeof *r);
    pcre2_compile_context *cctx = pcre2_compile_context_create(NULL);
    if (cctx == NULL) {
        snprintf(why, size, "out of memory");
        return -1;
    }
    (void)pcre2_set_parens_nest_limit(cctx, FL_REGEX_NEST_MAX);
    int err;
    PCRE2_SIZE offset;
    r->code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                            nocase ? PCRE2_CASELESS : 0, &err, &offset, cctx);
    pcre2_compile_context_free(cctx);
    if (r->code == NULL) {
        char message[200];
        pcre2_get_error_message(err, (PCRE2_UCHAR *)message, sizeof message);
        snprintf(why, size, "%s (at offset %zu)", message, (size_t)offset);
        return -1;
    }
    size_t compiled = 0;
    (void)pcre2_pattern_info(r->code, PCRE2_INFO_SIZE, &compiled);
    if (compiled > FL_REGEX_SIZE_MAX) {
        snprintf(why, size, "it is too complex: %zu KiB compiled, past %d KiB",
                 compiled / 1024, FL_REGEX_SIZE_MAX / 1024);
        fl_regex_free(r);
        return -1;
    }
    /* As ProFTPD: JIT where the platform has it; the interpreter otherwise. */
    (void)pcre2_jit_compile(r->code, PCRE2_JIT_COMPLETE);
    r->match_ctx = pcre2_match_context_create(NULL);
    r->match_data = pcre2_match_data_create(1, NULL);
    if (r->match_ctx == NULL || r->match_data == NULL) {
        fl_regex_free(r);
        snprintf(why, size, "out of memory");
        return -1;
    }
    (void)pcre2_set_match_limit(r->match_ctx, FL_REGEX_MATCH_LIMIT);
    (void)pcre2_set_depth_limit(r->match_ctx, FL_REGEX_DEPTH_LIMIT);
    (void)pcre2_set_heap_limit(r->match_ctx, FL_REGEX_HEAP_LIMIT);
    return 0;
}

int fl_regex_match(const fl_regex *r, const char *subject)
{
    int rc = pcre2_match(r->code, (PCRE2_SPTR)subject, PCRE2_ZERO_TERMINATED, 0, 0,
                         r->match_data, r->match_ctx);
    if (rc >= 0)
        return 1;
    return rc == PCRE2_ERROR_NOMATCH ? 0 : -1;
}

void fl_regex_free(fl_regex *r)
{
    pcre2_match_data_free(r->match_data);
    pcre2_match_context_free(r->match_ctx);
    pcre2_code_free(r->code);
    memset(r, 0, sizeof *r);
}
