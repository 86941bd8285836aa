/*
 * check_classes.c - which <Class> a session gets.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engineutil.h"

static tenv T;
static fl_decision D;

static void teardown(void)
{
    tenv_stop(&T);
}

/* The class a new session from addr (and DNS name) gets, or "-". */
static const char *class_of(const char *addr, const char *dns)
{
    static char buf[256];
    static int n;
    char sid[32];
    snprintf(sid, sizeof sid, "k%d", ++n);
    ck_assert_int_eq(t_connect_named(&T, sid, addr, dns, NULL), FL_ALLOW);
    const char *c = fl_session_class(fl_session_find(T.e, sid));
    snprintf(buf, sizeof buf, "%s", c != NULL ? c : "-");
    t_close(&T, sid);
    return buf;
}

START_TEST(test_a_session_gets_the_first_class_in_file_order_that_it_satisfies)
{
    tenv_start(&T, "<Class narrow>\nFrom 10.1.0.0/16\n</Class>\n"
                   "<Class wide>\nFrom 10.0.0.0/8\n</Class>\n"
                   "<Class late>\nFrom 10.1.2.3\n</Class>\n");
    ck_assert_str_eq(class_of("10.1.2.3", NULL), "narrow");
    ck_assert_str_eq(class_of("10.2.0.1", NULL), "wide");
    ck_assert_str_eq(class_of("192.0.2.1", NULL), "-");
}
END_TEST

START_TEST(test_satisfy_all_requires_every_item_to_match)
{
    tenv_start(&T,
               "<Class inner>\nFrom 10.0.0.0/8 !10.9.0.0/16\nSatisfy all\n</Class>\n");
    ck_assert_str_eq(class_of("10.1.0.1", NULL), "inner");
    ck_assert_str_eq(class_of("10.9.0.1", NULL), "-");
    ck_assert_str_eq(class_of("192.0.2.1", NULL), "-");
}
END_TEST

START_TEST(test_satisfy_any_takes_a_negated_item_as_matching_what_it_excludes)
{
    /* As in ProFTPD, "!item" is the plain negation of item. */
    tenv_start(&T, "<Class notlan>\nFrom !10.0.0.0/8\n</Class>\n");
    ck_assert_str_eq(class_of("192.0.2.1", NULL), "notlan");
    ck_assert_str_eq(class_of("10.0.0.1", NULL), "-");
}
END_TEST

START_TEST(test_ipv6_cidrs_and_addresses_match)
{
    tenv_start(&T, "<Class v6>\nFrom 2001:db8:abcd::/48\n</Class>\n"
                   "<Class host>\nFrom 2001:db8::1\n</Class>\n");
    ck_assert_str_eq(class_of("2001:db8:abcd:12::7", NULL), "v6");
    ck_assert_str_eq(class_of("2001:db8::1", NULL), "host");
    ck_assert_str_eq(class_of("2001:db8:abce::1", NULL), "-");
}
END_TEST

/* The address with bit i (0 = the first) flipped, as text. */
static const char *flip_bit(const char *text, int af, unsigned i)
{
    static char out[INET6_ADDRSTRLEN];
    uint8_t b[16];
    ck_assert_int_eq(inet_pton(af, text, b), 1);
    b[i / 8] ^= (uint8_t)(0x80u >> (i % 8));
    ck_assert_ptr_nonnull(inet_ntop(af, b, out, sizeof out));
    return out;
}

START_TEST(test_a_prefix_of_any_length_matches_exactly_its_addresses)
{
    static const struct {
        int af;
        const char *addr;
        unsigned max;
    } cases[] = {{AF_INET6, "2001:db8:1234:5678:9abc:def0:1357:9bdf", 128},
                 {AF_INET, "203.0.113.201", 32}};
    tenv_start(&T, NULL);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        for (unsigned len = 0; len <= cases[c].max; len++) {
            char policy[256];
            snprintf(policy, sizeof policy, "<Class p>\nFrom %s/%u\n</Class>\n",
                     cases[c].addr, len);
            ck_assert_int_eq(tenv_reload(&T, policy), 0);
            ck_assert_str_eq(class_of(cases[c].addr, NULL), "p");
            if (len > 0)
                ck_assert_msg(
                    strcmp(
                        class_of(flip_bit(cases[c].addr, cases[c].af, len - 1), NULL),
                        "-") == 0,
                    "/%u matched outside its prefix", len);
            if (len < cases[c].max)
                ck_assert_msg(
                    strcmp(class_of(flip_bit(cases[c].addr, cases[c].af, len), NULL),
                           "p") == 0,
                    "/%u did not match inside its prefix", len);
        }
    }
}
END_TEST

START_TEST(test_ipv4_mapped_addresses_match_ipv4_items)
{
    tenv_start(&T, "<Class lan>\nFrom 192.168.0.0/16\n</Class>\n"
                   "<Class one>\nFrom ::ffff:10.0.0.5\n</Class>\n");
    ck_assert_str_eq(class_of("::ffff:192.168.4.4", NULL), "lan");
    ck_assert_str_eq(class_of("10.0.0.5", NULL), "one");
}
END_TEST

START_TEST(test_ip_globs_match_the_address_text)
{
    tenv_start(&T, "<Class g>\nFrom 10.0.*.1 10.5.\n</Class>\n"
                   "<Class g6>\nFrom 2001:db8::*\n</Class>\n");
    ck_assert_str_eq(class_of("10.0.77.1", NULL), "g");
    ck_assert_str_eq(class_of("10.0.77.2", NULL), "-");
    ck_assert_str_eq(class_of("10.5.1.2", NULL), "g");
    ck_assert_str_eq(class_of("10.50.1.2", NULL), "-");
    ck_assert_str_eq(class_of("2001:db8::42", NULL), "g6");
}
END_TEST

START_TEST(test_dns_names_match_only_a_name_the_caller_provides)
{
    tenv_start(&T, "<Class corp>\nFrom .example.com ftp.example.net\n</Class>\n"
                   "<Class globbed>\nFrom host-??.example.org\n</Class>\n");
    ck_assert_str_eq(class_of("192.0.2.1", "a.b.EXAMPLE.com"), "corp");
    ck_assert_str_eq(class_of("192.0.2.1", "ftp.example.net"), "corp");
    ck_assert_str_eq(class_of("192.0.2.1", "other.example.net"), "-");
    ck_assert_str_eq(class_of("192.0.2.1", "host-07.example.org"), "globbed");
    /* No name given: the engine never resolves, so no DNS item matches. */
    ck_assert_str_eq(class_of("192.0.2.1", NULL), "-");
}
END_TEST

/* A host with a live session remembers its clients' class: the next
 * session from it must get what classifying it afresh would give. */
START_TEST(test_a_host_with_a_live_session_gives_the_class_of_the_policy_in_force)
{
    tenv_start(&T, "<Class lan>\nFrom 10.0.0.0/8\n</Class>\n"
                   "<Class v6>\nFrom 2001:db8::/32\n</Class>\n");
    ck_assert_int_eq(t_connect(&T, "hold", "10.1.1.1", NULL), FL_ALLOW);
    ck_assert_int_eq(t_connect(&T, "hold6", "2001:db8::1", NULL), FL_ALLOW);
    ck_assert_str_eq(class_of("10.1.1.1", NULL), "lan");
    ck_assert_str_eq(class_of("10.1.1.1", NULL), "lan");
    ck_assert_str_eq(class_of("2001:db8::1", NULL), "v6");

    /* A new policy classifies the same host anew; the session held keeps
     * the class it got. */
    ck_assert_int_eq(tenv_reload(&T, "<Class near>\nFrom 10.1.0.0/16\n</Class>\n"
                                     "<Class lan>\nFrom 10.0.0.0/8\n</Class>\n"),
                     0);
    ck_assert_str_eq(class_of("10.1.1.1", NULL), "near");
    ck_assert_str_eq(class_of("2001:db8::1", NULL), "-");
    ck_assert_str_eq(fl_session_class(fl_session_find(T.e, "hold")), "lan");
    ck_assert_int_eq(tenv_reload(&T, "MaxClients 10\n"), 0);
    ck_assert_str_eq(class_of("10.1.1.1", NULL), "-");
}
END_TEST

START_TEST(test_a_class_of_dns_names_is_decided_for_each_connection_from_a_host)
{
    tenv_start(&T, "<Class corp>\nFrom .example.com\n</Class>\n"
                   "<Class lan>\nFrom 10.0.0.0/8\n</Class>\n");
    ck_assert_int_eq(t_connect_named(&T, "hold", "10.1.1.1", "a.example.com", NULL),
                     FL_ALLOW);
    ck_assert_str_eq(fl_session_class(fl_session_find(T.e, "hold")), "corp");
    ck_assert_str_eq(class_of("10.1.1.1", NULL), "lan");
    ck_assert_str_eq(class_of("10.1.1.1", "b.example.com"), "corp");
    ck_assert_str_eq(class_of("10.1.1.1", "b.example.org"), "lan");
}
END_TEST

START_TEST(test_all_and_none_items)
{
    tenv_start(&T, "<Class nobody>\nFrom none\n</Class>\n"
                   "<Class everybody>\nFrom all\n</Class>\n");
    ck_assert_str_eq(class_of("192.0.2.1", NULL), "everybody");
    ck_assert_str_eq(class_of("::1", NULL), "everybody");
}
END_TEST

START_TEST(test_items_may_be_listed_with_commas_and_over_several_from_lines)
{
    tenv_start(&T, "<Class a>\nFrom 10.0.0.1, 10.0.0.2\nFrom 10.0.0.3\n</Class>\n");
    ck_assert_str_eq(class_of("10.0.0.1", NULL), "a");
    ck_assert_str_eq(class_of("10.0.0.2", NULL), "a");
    ck_assert_str_eq(class_of("10.0.0.3", NULL), "a");
    ck_assert_str_eq(class_of("10.0.0.4", NULL), "-");
}
END_TEST

START_TEST(test_a_session_keeps_the_class_it_got_at_connect)
{
    tenv_start(&T, "<Class a>\nFrom 10.0.0.0/8\n</Class>\n");
    t_connect(&T, "s", "10.0.0.1", NULL);
    ck_assert_int_eq(tenv_reload(&T, "<Class b>\nFrom 10.0.0.0/8\n</Class>\n"), 0);
    ck_assert_str_eq(fl_session_class(fl_session_find(T.e, "s")), "a");
    ck_assert_str_eq(class_of("10.0.0.2", NULL), "b");
}
END_TEST

START_TEST(test_max_clients_per_class_follows_the_class_by_name_across_reloads)
{
    tenv_start(&T,
               "<Class lan>\nFrom 10.0.0.0/8\n</Class>\nMaxClientsPerClass lan 1\n");
    ck_assert_int_eq(t_login(&T, "a", "10.0.0.1", "u1", NULL), FL_ALLOW);
    ck_assert_int_eq(t_login(&T, "b", "10.0.0.2", "u2", NULL), FL_DISCONNECT);
    /* The class moves to another place in the file, and its limit rises:
     * the live session still counts in it. */
    ck_assert_int_eq(tenv_reload(&T, "<Class other>\nFrom 192.0.2.0/24\n</Class>\n"
                                     "<Class lan>\nFrom 10.0.0.0/8\n</Class>\n"
                                     "MaxClientsPerClass lan 2\n"),
                     0);
    ck_assert_int_eq(t_login(&T, "b", "10.0.0.2", "u2", NULL), FL_ALLOW);
    ck_assert_int_eq(t_login(&T, "c", "10.0.0.3", "u3", &D), FL_DISCONNECT);
    ck_assert_str_eq(D.limit, "MaxClientsPerClass");
    ck_assert_int_eq(class_clients(&T, "lan"), 2);
    /* A policy without the class: its sessions keep it, unlimited. */
    ck_assert_int_eq(tenv_reload(&T, "<Class other>\nFrom 192.0.2.0/24\n</Class>\n"),
                     0);
    fl_session *s;
    fl_resume_info ri = {.sid = "r", .class_name = "lan", .user = "u4"};
    fl_addr_parse("10.0.0.4", &ri.addr);
    ri.authenticated = true;
    ck_assert_int_eq(fl_resume(T.e, &ri, &s), 0);
    ck_assert_str_eq(fl_session_class(s), "lan");
    ck_assert_int_eq(class_clients(&T, "lan"), 3);
    ck_assert_str_eq(class_of("10.0.0.5", NULL), "-");
    /* And when it comes back, its count is the one kept. */
    ck_assert_int_eq(tenv_reload(&T, "<Class lan>\nFrom 10.0.0.0/8\n</Class>\n"
                                     "MaxClientsPerClass lan 3\n"),
                     0);
    ck_assert_int_eq(t_login(&T, "d", "10.0.0.6", "u6", NULL), FL_DISCONNECT);
    t_close(&T, "a");
    ck_assert_int_eq(t_login(&T, "d", "10.0.0.6", "u6", NULL), FL_ALLOW);
    t_close(&T, "b");
    t_close(&T, "d");
    t_close(&T, "r");
    ck_assert_int_eq(class_clients(&T, "lan"), -1);
    ck_assert_str_eq(class_of("10.0.0.7", NULL), "lan");
}
END_TEST

/* Globs match the text of an address: it must be the text inet_ntop
 * writes, for every value of each byte, and an empty string when it does
 * not fit. */
START_TEST(test_an_address_is_written_as_inet_ntop_writes_it)
{
    for (unsigned v = 0; v < 256; v++) {
        uint8_t quad[4] = {(uint8_t)v, (uint8_t)(255 - v), (uint8_t)(v * 7),
                           (uint8_t)(v / 3)};
        char text[INET_ADDRSTRLEN], want[INET_ADDRSTRLEN];
        ck_assert_ptr_nonnull(inet_ntop(AF_INET, quad, want, sizeof want));
        fl_addr a;
        ck_assert_int_eq(fl_addr_parse(want, &a), 0);
        ck_assert_str_eq(fl_addr_format(&a, text, sizeof text), want);
        size_t len = strlen(want);
        memset(text, 'x', sizeof text);
        ck_assert_str_eq(fl_addr_format(&a, text, len + 1), want);
        ck_assert_str_eq(fl_addr_format(&a, text, len), "");
    }
    fl_addr a;
    char text[64];
    ck_assert_int_eq(fl_addr_parse("::ffff:10.0.0.1", &a), 0);
    ck_assert_str_eq(fl_addr_format(&a, text, sizeof text), "10.0.0.1");
    ck_assert_int_eq(fl_addr_parse("2001:db8::42", &a), 0);
    ck_assert_str_eq(fl_addr_format(&a, text, sizeof text), "2001:db8::42");
}
END_TEST

static Suite *classes_suite(void)
{
    Suite *s = suite_create("classes");
    TCase *tc = tcase_create("classes");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc,
                   test_a_session_gets_the_first_class_in_file_order_that_it_satisfies);
    tcase_add_test(tc, test_satisfy_all_requires_every_item_to_match);
    tcase_add_test(tc,
                   test_satisfy_any_takes_a_negated_item_as_matching_what_it_excludes);
    tcase_add_test(tc, test_ipv6_cidrs_and_addresses_match);
    tcase_add_test(tc, test_a_prefix_of_any_length_matches_exactly_its_addresses);
    tcase_add_test(tc, test_ipv4_mapped_addresses_match_ipv4_items);
    tcase_add_test(tc, test_ip_globs_match_the_address_text);
    tcase_add_test(tc, test_an_address_is_written_as_inet_ntop_writes_it);
    tcase_add_test(tc, test_dns_names_match_only_a_name_the_caller_provides);
    tcase_add_test(
        tc, test_a_host_with_a_live_session_gives_the_class_of_the_policy_in_force);
    tcase_add_test(
        tc, test_a_class_of_dns_names_is_decided_for_each_connection_from_a_host);
    tcase_add_test(tc, test_all_and_none_items);
    tcase_add_test(tc,
                   test_items_may_be_listed_with_commas_and_over_several_from_lines);
    tcase_add_test(tc, test_a_session_keeps_the_class_it_got_at_connect);
    tcase_add_test(tc,
                   test_max_clients_per_class_follows_the_class_by_name_across_reloads);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(classes_suite()) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
