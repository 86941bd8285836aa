/*
 * check_proto.c - ftplimitd's protocol both ways: every request the client
 * side formats, the daemon side parses back into the same request; a field
 * that cannot be carried is refused when formatting, not sent; decisions
 * and ERR reasons read back as they were written.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/reply.h"
#include "proto/request.h"

/* Format r into line, parse a copy of it back (the parser cuts its line
 * into fields), and return the parsed request: its strings point into the
 * copy, which lasts until the next call. */
static struct fl_request round_trip(const struct fl_request *r, char *line, size_t size)
{
    static char copy[FL_PROTO_LINE_MAX];
    int n = fl_request_format(r, line, size);
    ck_assert_msg(n > 0, "cannot format verb %d: %s", r->verb, strerror(errno));
    ck_assert_uint_eq(strlen(line), (size_t)n);
    ck_assert_uint_lt((size_t)n, sizeof copy);
    memcpy(copy, line, (size_t)n + 1);
    struct fl_request back;
    const char *reason = NULL;
    char msg[256];
    ck_assert_msg(fl_request_parse(copy, (size_t)n, &back, &reason, msg, sizeof msg) ==
                      0,
                  "'%s' does not parse: %s %s", line, reason, msg);
    ck_assert_int_eq(back.verb, r->verb);
    return back;
}

static void assert_same(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        ck_assert_ptr_eq(a, b);
    else
        ck_assert_str_eq(a, b);
}

START_TEST(test_session_requests_read_back_as_written)
{
    char line[FL_PROTO_LINE_MAX];
    fl_addr a;
    ck_assert_int_eq(fl_addr_parse("2001:db8::7", &a), 0);

    struct fl_request r = {.verb = FL_VERB_CONNECT,
                           .sid = "c42",
                           .addr = a,
                           .dns_name = "host.example.net"};
    struct fl_request b = round_trip(&r, line, sizeof line);
    ck_assert_str_eq(line, "CONNECT c42 2001:db8::7 host.example.net");
    assert_same(b.sid, "c42");
    assert_same(b.dns_name, "host.example.net");
    ck_assert_int_eq(memcmp(&b.addr, &a, sizeof a), 0);

    r = (struct fl_request){.verb = FL_VERB_CONNECT, .addr = a};
    b = round_trip(&r, line, sizeof line);
    ck_assert_str_eq(line, "CONNECT - 2001:db8::7");
    ck_assert_ptr_null(b.sid);
    ck_assert_ptr_null(b.dns_name);

    /* A user name may hold spaces: it is the last field. */
    r = (struct fl_request){.verb = FL_VERB_USER, .user = "john doe"};
    b = round_trip(&r, line, sizeof line);
    assert_same(b.user, "john doe");
    r = (struct fl_request){
        .verb = FL_VERB_USERAS, .user = "anonymous", .account = "ftp"};
    b = round_trip(&r, line, sizeof line);
    assert_same(b.user, "anonymous");
    assert_same(b.account, "ftp");
    r.account = NULL;
    b = round_trip(&r, line, sizeof line);
    ck_assert_ptr_null(b.account);

    /* No password, an empty one, one with spaces. */
    static const char *const passwords[] = {NULL, "", "p a s s"};
    for (size_t i = 0; i < 3; i++) {
        r = (struct fl_request){
            .verb = FL_VERB_PASS, .ok = i != 1, .password = passwords[i]};
        b = round_trip(&r, line, sizeof line);
        ck_assert(b.ok == (i != 1));
        assert_same(b.password, passwords[i]);
    }
    r = (struct fl_request){.verb = FL_VERB_ANONPASS, .password = "me@example.org"};
    b = round_trip(&r, line, sizeof line);
    assert_same(b.password, "me@example.org");

    r = (struct fl_request){.verb = FL_VERB_HELLO, .version = FL_PROTO_VERSION};
    b = round_trip(&r, line, sizeof line);
    ck_assert_int_eq(b.version, FL_PROTO_VERSION);
    char token[FL_TOKEN_LEN + 1];
    memset(token, 'a', FL_TOKEN_LEN);
    token[FL_TOKEN_LEN] = '\0';
    r = (struct fl_request){.verb = FL_VERB_TOKEN, .token = token};
    b = round_trip(&r, line, sizeof line);
    assert_same(b.token, token);
}
END_TEST

START_TEST(test_the_server_a_client_reached_reads_back_as_written)
{
    char line[FL_PROTO_LINE_MAX];
    struct fl_request r = {.verb = FL_VERB_CONNECT, .sid = "s1", .has_server = true};
    ck_assert_int_eq(fl_addr_parse("192.0.2.10", &r.addr), 0);
    ck_assert_int_eq(fl_addr_parse("2001:db8::1", &r.server.addr), 0);
    r.server.port = 2121;
    r.dns_name = "client.example.net";
    struct fl_request b = round_trip(&r, line, sizeof line);
    ck_assert_str_eq(line, "CONNECT s1 192.0.2.10 server=[2001:db8::1]:2121 "
                           "client.example.net");
    ck_assert(b.has_server);
    ck_assert_int_eq(memcmp(&b.server, &r.server, sizeof r.server), 0);
    assert_same(b.dns_name, "client.example.net");

    r = (struct fl_request){
        .verb = FL_VERB_RESUME, .sid = "s1", .has_server = true, .failed = 1};
    ck_assert_int_eq(fl_addr_parse("192.0.2.10", &r.addr), 0);
    ck_assert_int_eq(fl_addr_parse("127.0.0.1", &r.server.addr), 0);
    r.server.port = 21;
    b = round_trip(&r, line, sizeof line);
    ck_assert_str_eq(line, "RESUME s1 192.0.2.10 server=127.0.0.1:21 - 0 1");
    ck_assert(b.has_server);
    ck_assert_uint_eq(b.server.port, 21);
    ck_assert_ptr_null(b.class_name);

    /* A port of 0, past 65535, or a name: an error naming the field. */
    static const char *const bad[] = {"CONNECT s1 10.0.0.1 server=10.0.0.2:0",
                                      "CONNECT s1 10.0.0.1 server=10.0.0.2:65536",
                                      "CONNECT s1 10.0.0.1 server=ftp.example.net:21",
                                      "CONNECT s1 10.0.0.1 server=2001:db8::1:21",
                                      "RESUME s1 10.0.0.1 server=10.0.0.2 - 0 0"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char copy[128], msg[256];
        const char *reason = NULL;
        snprintf(copy, sizeof copy, "%s", bad[i]);
        ck_assert_int_eq(
            fl_request_parse(copy, strlen(copy), &b, &reason, msg, sizeof msg), -1);
        ck_assert_str_eq(reason, "bad-field");
        ck_assert_ptr_nonnull(strstr(msg, "is not ADDR:PORT"));
    }
}
END_TEST

START_TEST(test_resume_carries_every_login_state)
{
    char line[FL_PROTO_LINE_MAX];
    fl_addr a;
    ck_assert_int_eq(fl_addr_parse("192.0.2.7", &a), 0);
    static const struct {
        bool authenticated;
        fl_anonymity anonymity;
        const char *cls;
        bool classify;
        const char *user;
    } states[] = {
        {false, FL_ANON_BY_POLICY, NULL, false, NULL},
        {false, FL_ANON_BY_POLICY, NULL, true, "bob"},
        {true, FL_ANON_BY_POLICY, "lan", false, "alice"},
        {true, FL_ANON_NO, "lan", false, "anonymous"},
        {true, FL_ANON_YES, NULL, true, "ftp"},
    };
    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
        struct fl_request r = {.verb = FL_VERB_RESUME,
                               .sid = "c7",
                               .addr = a,
                               .class_name = states[i].cls,
                               .classify = states[i].classify,
                               .authenticated = states[i].authenticated,
                               .anonymity = states[i].anonymity,
                               .failed = (int)i,
                               .user = states[i].user};
        struct fl_request b = round_trip(&r, line, sizeof line);
        assert_same(b.sid, "c7");
        assert_same(b.class_name, states[i].cls);
        ck_assert(b.classify == states[i].classify);
        ck_assert(b.authenticated == states[i].authenticated);
        if (b.authenticated)
            ck_assert_int_eq(b.anonymity, states[i].anonymity);
        ck_assert_int_eq(b.failed, (int)i);
        assert_same(b.user, states[i].user);
    }
}
END_TEST

START_TEST(test_ban_targets_are_encoded_and_decoded)
{
    char line[FL_PROTO_LINE_MAX];
    struct fl_request r = {.verb = FL_VERB_BAN,
                           .ban_op = FL_BAN_ADD,
                           .ban_kind = FL_BAN_USER,
                           .ban_seconds = 3600,
                           .target = "john doe 100%\xc3\xa9",
                           .message = "Go away, %u."};
    struct fl_request b = round_trip(&r, line, sizeof line);
    ck_assert_str_eq(line, "BAN ADD user 3600 john%20doe%20100%25%C3%A9 Go away, %u.");
    ck_assert_int_eq(b.ban_op, FL_BAN_ADD);
    ck_assert_int_eq(b.ban_kind, FL_BAN_USER);
    ck_assert_int_eq(b.ban_seconds, 3600);
    assert_same(b.target, "john doe 100%\xc3\xa9");
    assert_same(b.message, "Go away, %u.");

    r = (struct fl_request){.verb = FL_VERB_BAN,
                            .ban_op = FL_BAN_REMOVE,
                            .ban_kind = FL_BAN_USER_HOST,
                            .target = "bob@192.0.2.1"};
    b = round_trip(&r, line, sizeof line);
    ck_assert_str_eq(line, "BAN REMOVE user@host bob@192.0.2.1");
    assert_same(b.target, "bob@192.0.2.1");
    r = (struct fl_request){.verb = FL_VERB_BAN, .ban_op = FL_BAN_LIST};
    round_trip(&r, line, sizeof line);
    ck_assert_str_eq(line, "BAN LIST");

    /* A ban on one server: its name %-encoded before the kind. */
    r = (struct fl_request){.verb = FL_VERB_BAN,
                            .ban_op = FL_BAN_ADD,
                            .ban_kind = FL_BAN_HOST,
                            .ban_seconds = 60,
                            .target = "192.0.2.1",
                            .server_name = "192.0.2.1:21 192.0.2.2:21"};
    b = round_trip(&r, line, sizeof line);
    ck_assert_str_eq(line,
                     "BAN ADD server=192.0.2.1:21%20192.0.2.2:21 host 60 192.0.2.1");
    assert_same(b.server_name, "192.0.2.1:21 192.0.2.2:21");
    assert_same(b.target, "192.0.2.1");
}
END_TEST

START_TEST(test_groups_are_encoded_and_decoded)
{
    char line[FL_PROTO_LINE_MAX];
    struct fl_request r = {.verb = FL_VERB_GROUPS, .ngroups = 2};
    r.groups[0] = "domain users";
    r.groups[1] = "staff%";
    struct fl_request b = round_trip(&r, line, sizeof line);
    ck_assert_str_eq(line, "GROUPS domain%20users staff%25");
    ck_assert_uint_eq(b.ngroups, 2);
    assert_same(b.groups[0], "domain users");
    assert_same(b.groups[1], "staff%");
    r.ngroups = 0;
    b = round_trip(&r, line, sizeof line);
    ck_assert_str_eq(line, "GROUPS");
    ck_assert_uint_eq(b.ngroups, 0);
}
END_TEST

START_TEST(test_what_cannot_be_carried_is_refused_before_it_is_sent)
{
    char line[FL_PROTO_LINE_MAX];
    fl_addr a;
    ck_assert_int_eq(fl_addr_parse("192.0.2.7", &a), 0);
    const struct fl_request bad[] = {
        {.verb = FL_VERB_CONNECT, .sid = "c 1", .addr = a},
        {.verb = FL_VERB_CONNECT, .sid = "c1", .addr = a, .dns_name = "a b"},
        {.verb = FL_VERB_USER, .user = "bob\r\nSTATUS"},
        {.verb = FL_VERB_USER, .user = ""},
        {.verb = FL_VERB_USERAS, .user = "x", .account = "f tp"},
        {.verb = FL_VERB_PASS, .ok = true, .password = "a\nb"},
        {.verb = FL_VERB_WATCH, .pattern = "a b"},
        {.verb = FL_VERB_BAN,
         .ban_op = FL_BAN_ADD,
         .ban_kind = FL_BAN_HOST,
         .ban_seconds = 1,
         .target = ""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        errno = 0;
        ck_assert_msg(fl_request_format(&bad[i], line, sizeof line) == -1,
                      "request %zu was formatted: '%s'", i, line);
        ck_assert_int_eq(errno, EINVAL);
    }
    struct fl_request r = {.verb = FL_VERB_USER, .user = "a-rather-long-name"};
    ck_assert_int_eq(fl_request_format(&r, line, 10), -1);
    ck_assert_int_eq(errno, ENAMETOOLONG);

    /* Nor does the parser take an empty field, which the formatter could
     * not write back (found by fuzz_protocol). */
    char twice[] = "USERAS  n";
    const char *reason = NULL;
    char msg[128];
    ck_assert_int_eq(
        fl_request_parse(twice, strlen(twice), &r, &reason, msg, sizeof msg), -1);
    ck_assert_str_eq(reason, "missing-field");
}
END_TEST

START_TEST(test_decisions_and_errors_read_back_as_written)
{
    char line[FL_MESSAGE_MAX + 128];
    fl_decision d = {.verdict = FL_DISCONNECT,
                     .would = FL_DISCONNECT,
                     .code = 530,
                     .limit = "MaxClientsPerHost"};
    snprintf(d.message, sizeof d.message, "Sorry, the maximum number of clients (2) ");
    ck_assert_int_gt(fl_reply_decision_format(&d, line, sizeof line), 0);
    fl_decision back;
    ck_assert_int_eq(fl_reply_decision_parse(line, &back), 0);
    ck_assert_int_eq(back.verdict, FL_DISCONNECT);
    ck_assert_int_eq(back.code, 530);
    ck_assert_str_eq(back.limit, "MaxClientsPerHost");
    ck_assert_str_eq(back.message, d.message); /* its trailing space too */

    d = (fl_decision){.verdict = FL_REJECT, .code = 530};
    snprintf(d.message, sizeof d.message, "Login incorrect.");
    fl_reply_decision_format(&d, line, sizeof line);
    ck_assert_str_eq(line, "REJECT 530 - Login incorrect.");
    ck_assert_int_eq(fl_reply_decision_parse(line, &back), 0);
    ck_assert_ptr_null(back.limit);

    d = (fl_decision){.verdict = FL_ALLOW};
    fl_reply_decision_format(&d, line, sizeof line);
    ck_assert_str_eq(line, "ALLOW");
    ck_assert_int_eq(fl_reply_decision_parse(line, &back), 0);
    ck_assert_int_eq(back.verdict, FL_ALLOW);
    ck_assert_int_eq(fl_reply_decision_parse("MAYBE 1 x y", &back), -1);
    ck_assert_int_eq(errno, EPROTO);

    /* What the daemon says of an engine error, the client takes back. */
    static const int errs[] = {EEXIST, EALREADY, ENOMEM,   ENOSPC,
                               ENOENT, EPERM,    ESHUTDOWN};
    for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++) {
        const char *reason = fl_reply_reason_of(errs[i]);
        ck_assert_int_eq(fl_reply_errno_of(reason, strlen(reason)), errs[i]);
    }
    ck_assert_int_eq(fl_reply_errno_of("bad-field", 9), EINVAL);
}
END_TEST

static Suite *proto_suite(void)
{
    Suite *s = suite_create("proto");
    TCase *tc = tcase_create("both ways");
    tcase_add_test(tc, test_session_requests_read_back_as_written);
    tcase_add_test(tc, test_the_server_a_client_reached_reads_back_as_written);
    tcase_add_test(tc, test_resume_carries_every_login_state);
    tcase_add_test(tc, test_ban_targets_are_encoded_and_decoded);
    tcase_add_test(tc, test_groups_are_encoded_and_decoded);
    tcase_add_test(tc, test_what_cannot_be_carried_is_refused_before_it_is_sent);
    tcase_add_test(tc, test_decisions_and_errors_read_back_as_written);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(proto_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
