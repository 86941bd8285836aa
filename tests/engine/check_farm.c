/*
 * check_farm.c - the engine's side of a farm (ftplimit/farm.h): the claims
 * an allowed CONNECT or PASS leaves for the farm to check and count, and a
 * refusal by the farm undone and reported as the limit would be locally.
 */
#include "config.h"

#include <errno.h>
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

#define FARM "Cluster redis://127.0.0.1:6379\n"

/* The claims of the last decision, "OP:FIELD:DIRECTIVE:MAX," each. */
static const char *claims_text(void)
{
    static char buf[4096];
    const fl_farm_claim *c;
    size_t n = fl_farm_claims(T.e, &c), o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%c:%s:%s:%lld,", (char)c[i].op,
                              c[i].field, c[i].directive ? c[i].directive : "-",
                              c[i].max);
    return buf;
}

START_TEST(test_no_cluster_no_claims)
{
    tenv_start(&T, "MaxClientsPerUser 2\n");
    ck_assert_int_eq(t_login(&T, "a", "10.0.0.1", "bob", NULL), FL_ALLOW);
    ck_assert_uint_eq(fl_farm_claims(T.e, NULL), 0);
    fl_farm_conf conf;
    fl_farm_config(T.e, &conf);
    ck_assert(!conf.on);
}
END_TEST

START_TEST(test_connect_claims_the_rates_then_the_connections)
{
    tenv_start(&T, FARM "MaxConnectionRate 100 10\nMaxConnectionRatePerHost 5 2\n"
                        "MaxConnectionsPerHost 3\n");
    ck_assert_int_eq(t_connect(&T, "a", "10.0.0.1", NULL), FL_ALLOW);
    ck_assert_str_eq(claims_text(), "r:R:MaxConnectionRate:100,"
                                    "r:Rmain|10.0.0.1:MaxConnectionRatePerHost:5,"
                                    "c:Cmain|10.0.0.1:MaxConnectionsPerHost:3,");
    const fl_farm_claim *c;
    fl_farm_claims(T.e, &c);
    ck_assert_int_eq(c[0].interval_ms, 10000);
    ck_assert_int_eq(c[1].interval_ms, 2000);
}
END_TEST

START_TEST(test_login_claims_follow_proftpds_order_and_count_each_field_once)
{
    tenv_start(&T, FARM "<Class office>\nFrom 10.0.0.0/8\n</Class>\n"
                        "MaxClientsPerClass office 9\nMaxClientsPerHost 4\n"
                        "MaxClientsPerNetwork 6\nMaxClientsPerUser 2\nMaxClients 50\n"
                        "MaxHostsPerUser 3\n");
    ck_assert_int_eq(t_login(&T, "a", "10.1.2.3", "bob", NULL), FL_ALLOW);
    ck_assert_str_eq(claims_text(), "c:Kmain|office:MaxClientsPerClass:9,"
                                    "c:Hmain|10.1.2.3:MaxClientsPerHost:4,"
                                    "c:Nmain|10.1.2.0/120:MaxClientsPerNetwork:6,"
                                    "c:Umain|bob:MaxClientsPerUser:2,"
                                    "c:Smain:MaxClients:50,"
                                    "x:Pmain|3|bob|10.1.2.3:MaxHostsPerUser:3,");
    /* A refused decision leaves no claims. */
    ck_assert_int_eq(t_login(&T, "b", "10.1.2.4", "bob", NULL), FL_ALLOW);
    ck_assert_int_eq(t_login(&T, "c", "10.1.2.5", "bob", NULL), FL_DISCONNECT);
    ck_assert_uint_eq(fl_farm_claims(T.e, NULL), 0);
}
END_TEST

START_TEST(test_cluster_local_limits_are_neither_checked_nor_counted)
{
    tenv_start(&T, FARM "ClusterLocal MaxClientsPerHost\nMaxClientsPerHost 4\n"
                        "MaxClientsPerUser 2\n");
    ck_assert_int_eq(t_login(&T, "a", "10.1.2.3", "bob", NULL), FL_ALLOW);
    ck_assert_str_eq(claims_text(), "c:Umain|bob:MaxClientsPerUser:2,+:Smain:-:-1,");
}
END_TEST

START_TEST(test_an_anonymous_block_checks_its_host_and_clients_on_its_account)
{
    tenv_start(&T, FARM "<Anonymous /srv/ftp>\nUser ftp\nUserAlias anonymous ftp\n"
                        "MaxClientsPerHost 2\nMaxClients 10\n</Anonymous>\n");
    ck_assert_int_eq(t_login(&T, "a", "10.1.2.3", "anonymous", NULL), FL_ALLOW);
    ck_assert_str_eq(claims_text(), "c:Pmain|3|ftp|10.1.2.3:MaxClientsPerHost:2,"
                                    "c:Umain|ftp:MaxClients:10,"
                                    "+:Hmain|10.1.2.3:-:-1,"
                                    "+:Smain:-:-1,");
}
END_TEST

START_TEST(test_a_farm_refusal_at_connect_ends_the_session_as_a_local_one)
{
    tenv_start(&T, FARM "MaxConnectionsPerHost 3\n");
    ck_assert_int_eq(t_connect(&T, "a", "10.0.0.1", NULL), FL_ALLOW);
    const fl_farm_claim *c;
    ck_assert_uint_eq(fl_farm_claims(T.e, &c), 1);
    ck_assert_str_eq(c[0].directive, "MaxConnectionsPerHost");
    fl_session *s = fl_session_find(T.e, "a");
    trail_reset(&T.events);
    ck_assert_int_eq(
        fl_farm_refuse(T.e, s, FL_FARM_STEP_CONNECT, c[0].limit, 3, 4, NULL, &D), 0);
    ck_assert_int_eq(D.verdict, FL_DISCONNECT);
    ck_assert_int_eq(D.code, 421);
    ck_assert_str_eq(D.limit, "MaxConnectionsPerHost");
    ck_assert_str_eq(D.message, "Sorry, the maximum number of connections (3) for your "
                                "host are already connected.");
    ck_assert_str_eq(T.events.text,
                     "mod_auth.max-connections-per-host(a),core.exit(a),");
    ck_assert_int_eq(T.last_count, 4);
    ck_assert_ptr_null(fl_session_find(T.e, "a"));
    ck_assert_int_eq(host_conns(&T, "10.0.0.1"), -1);
    fl_totals t;
    fl_engine_totals(T.e, &t);
    ck_assert_uint_eq(t.sessions, 0);
}
END_TEST

START_TEST(test_a_farm_refusal_at_pass_undoes_the_login_and_disconnects)
{
    tenv_start(&T, FARM "MaxClientsPerUser 2 \"farm full for %u\"\n");
    ck_assert_int_eq(t_login(&T, "a", "10.0.0.1", "bob", NULL), FL_ALLOW);
    const fl_farm_claim *c;
    ck_assert_uint_eq(fl_farm_claims(T.e, &c), 2);
    ck_assert_str_eq(c[0].message, "farm full for %u");
    fl_session *s = fl_session_find(T.e, "a");
    trail_reset(&T.events);
    ck_assert_int_eq(
        fl_farm_refuse(T.e, s, FL_FARM_STEP_LOGIN, c[0].limit, 2, 3, c[0].message, &D),
        0);
    ck_assert_int_eq(D.verdict, FL_DISCONNECT);
    ck_assert_int_eq(D.code, 530);
    ck_assert_str_eq(D.message, "farm full for bob");
    ck_assert_str_eq(T.events.text, "mod_auth.max-clients-per-user(a),core.exit(a),");
    ck_assert_int_eq(user_clients(&T, "bob"), -1);
    ck_assert_int_eq(host_conns(&T, "10.0.0.1"), -1);
    /* The step must be the session's: a connected session has no login. */
    ck_assert_int_eq(t_connect(&T, "b", "10.0.0.2", NULL), FL_ALLOW);
    errno = 0;
    ck_assert_int_eq(fl_farm_refuse(T.e, fl_session_find(T.e, "b"), FL_FARM_STEP_LOGIN,
                                    c[0].limit, 2, 3, NULL, &D),
                     -1);
    ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(test_under_dry_run_a_farm_refusal_is_reported_and_nothing_undone)
{
    tenv_start(&T, FARM "DryRun on\nMaxClientsPerUser 1\n");
    ck_assert_int_eq(t_login(&T, "a", "10.0.0.1", "bob", NULL), FL_ALLOW);
    fl_farm_conf conf;
    fl_farm_config(T.e, &conf);
    ck_assert(conf.dry_run);
    const fl_farm_claim *c;
    ck_assert_uint_eq(fl_farm_claims(T.e, &c), 2);
    ck_assert_int_eq(fl_farm_refuse(T.e, fl_session_find(T.e, "a"), FL_FARM_STEP_LOGIN,
                                    c[0].limit, 1, 2, NULL, &D),
                     0);
    ck_assert_int_eq(D.verdict, FL_ALLOW);
    ck_assert_int_eq(D.would, FL_DISCONNECT);
    ck_assert_int_eq(user_clients(&T, "bob"), 1);
    ck_assert(T.last.dry_run);
}
END_TEST

START_TEST(test_fail_closed_refuses_with_cluster_unavailable)
{
    tenv_start(&T, FARM "ClusterFailMode closed\nMaxClientsPerUser 1\n");
    ck_assert_int_eq(t_connect(&T, "a", "10.0.0.1", NULL), FL_ALLOW);
    ck_assert_int_eq(
        fl_farm_unavailable(T.e, fl_session_find(T.e, "a"), FL_FARM_STEP_CONNECT, &D),
        0);
    ck_assert_int_eq(D.verdict, FL_DISCONNECT);
    ck_assert_int_eq(D.code, 421);
    ck_assert_str_eq(D.limit, "ClusterUnavailable");
    ck_assert_ptr_null(fl_session_find(T.e, "a"));
}
END_TEST

START_TEST(test_a_resumed_session_is_counted_never_checked)
{
    tenv_start(&T, FARM "MaxConnectionRate 1\nMaxClientsPerUser 1\n");
    fl_resume_info ri = {.sid = "r1", .user = "bob", .authenticated = true};
    ck_assert_int_eq(fl_addr_parse("10.0.0.1", &ri.addr), 0);
    fl_session *s;
    ck_assert_int_eq(fl_resume(T.e, &ri, &s), 0);
    ck_assert_str_eq(claims_text(), "+:Umain|bob:-:-1,+:Smain:-:-1,");
}
END_TEST

START_TEST(test_cluster_directives_refuse_bad_values)
{
    expect_policy_error("Cluster ftp://x", "expected redis://HOST[:PORT][/DB]", NULL);
    expect_policy_error("Cluster redis://h:70000", "PORT 1-65535", NULL);
    expect_policy_error("ClusterLocal MaxLoginAttempts", "not a limit the farm counts",
                        NULL);
    expect_policy_error("ClusterLease 0.5", "expected 1 to 3600 seconds", NULL);
    expect_policy_error("ClusterTimeout 3000", "at most a quarter of ClusterLease",
                        NULL);
    expect_policy_error("ClusterNode \"a b\"", "ClusterNode: expected", NULL);
}
END_TEST

static Suite *farm_suite(void)
{
    Suite *s = suite_create("farm");
    TCase *tc = tcase_create("farm");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, test_no_cluster_no_claims);
    tcase_add_test(tc, test_connect_claims_the_rates_then_the_connections);
    tcase_add_test(tc,
                   test_login_claims_follow_proftpds_order_and_count_each_field_once);
    tcase_add_test(tc, test_cluster_local_limits_are_neither_checked_nor_counted);
    tcase_add_test(tc,
                   test_an_anonymous_block_checks_its_host_and_clients_on_its_account);
    tcase_add_test(tc, test_a_farm_refusal_at_connect_ends_the_session_as_a_local_one);
    tcase_add_test(tc, test_a_farm_refusal_at_pass_undoes_the_login_and_disconnects);
    tcase_add_test(tc,
                   test_under_dry_run_a_farm_refusal_is_reported_and_nothing_undone);
    tcase_add_test(tc, test_fail_closed_refuses_with_cluster_unavailable);
    tcase_add_test(tc, test_a_resumed_session_is_counted_never_checked);
    tcase_add_test(tc, test_cluster_directives_refuse_bad_values);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(farm_suite()) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
