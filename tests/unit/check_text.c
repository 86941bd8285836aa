/*
 * check_text.c - util/text.c: the one escape for text shown back and the
 * one lexer of quoted tokens, which policies and simulate traces share.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/text.h"

START_TEST(test_escape_leaves_nothing_a_terminal_or_a_log_would_act_on)
{
    char buf[64];
    ck_assert_str_eq(fl_text_escape("alice", buf, sizeof buf), "alice");
    ck_assert_str_eq(fl_text_escape("a\r\nb\x1b[2J", buf, sizeof buf),
                     "a\\x0d\\x0ab\\x1b[2J");
    /* A backslash is escaped too: an escape in the output is always ours. */
    ck_assert_str_eq(fl_text_escape("a\\x41", buf, sizeof buf), "a\\x5cx41");
    ck_assert_str_eq(fl_text_escape("caf\xc3\xa9\x7f", buf, sizeof buf),
                     "caf\\xc3\\xa9\\x7f");
    ck_assert_str_eq(fl_text_escape(NULL, buf, sizeof buf), "(null)");
    /* Cut where the buffer ends, with a mark, and never past it. */
    char small[12];
    memset(small, 'Z', sizeof small);
    fl_text_escape("0123456789abcdef", small, sizeof small);
    ck_assert_str_eq(small, "0123456...");
    fl_text_escape("\x01\x02\x03\x04", small, sizeof small);
    ck_assert_uint_lt(strlen(small), sizeof small);
    ck_assert_ptr_nonnull(strstr(small, "..."));
}
END_TEST

/* The tokens of line, joined with '|'; quoted ones in [brackets]. */
static const char *tokens(const char *line, const char *seps, bool comments,
                          enum fl_token_result *last)
{
    static char out[256], copy[256];
    snprintf(copy, sizeof copy, "%s", line);
    out[0] = '\0';
    char *cursor = copy, *tok;
    bool quoted;
    while ((*last = fl_text_token(&cursor, seps, comments, &tok, &quoted)) ==
           FL_TOKEN_OK) {
        size_t o = strlen(out);
        snprintf(out + o, sizeof out - o, quoted ? "[%s]|" : "%s|", tok);
    }
    return out;
}

START_TEST(test_tokens_split_on_separators_and_quotes_hold_them)
{
    enum fl_token_result r;
    ck_assert_str_eq(tokens("  MaxClients\t5  ", " \t", true, &r), "MaxClients|5|");
    ck_assert_int_eq(r, FL_TOKEN_END);
    ck_assert_str_eq(tokens("OnEvent x \"a \\\"b\\\" \\\\c\" # note", " \t", true, &r),
                     "OnEvent|x|[a \"b\" \\c]|");
    ck_assert_int_eq(r, FL_TOKEN_END);
    /* Without comments a '#' is text; CR and LF separate when asked. */
    ck_assert_str_eq(tokens("1 user #x\r\n", " \t\r\n", false, &r), "1|user|#x|");
    ck_assert_str_eq(tokens("\"\"", " ", false, &r), "[]|");
    ck_assert_str_eq(tokens("a \"open", " ", false, &r), "a|");
    ck_assert_int_eq(r, FL_TOKEN_UNTERMINATED);
    ck_assert_str_eq(tokens("\"a\"b", " ", false, &r), "");
    ck_assert_int_eq(r, FL_TOKEN_GLUED);
}
END_TEST

static Suite *text_suite(void)
{
    Suite *s = suite_create("text");
    TCase *tc = tcase_create("escape and tokens");
    tcase_add_test(tc, test_escape_leaves_nothing_a_terminal_or_a_log_would_act_on);
    tcase_add_test(tc, test_tokens_split_on_separators_and_quotes_hold_them);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(text_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
