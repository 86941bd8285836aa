/*
 * check_limits.c - every limit directive: allowed at the limit, refused above
 * it, released on close; the order of checks; ProFTPD's defects fixed.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engineutil.h"

#define SEC FL_USEC_PER_SEC

static tenv T;
static fl_decision D;

static void teardown(void)
{
    tenv_stop(&T);
}

/* --- connect-time limits ------------------------------------------------- */

START_TEST(test_max_instances_refuses_the_connection_above_the_limit_with_421)
{
    tenv_start(&T, "MaxInstances 2\n");
    ck_assert_int_eq(t_connect(&T, "a", "10.0.0.1", NULL), FL_ALLOW);
    ck_assert_int_eq(t_connect(&T, "b", "10.0.0.2", NULL), FL_ALLOW);
    ck_assert_int_eq(t_connect(&T, "c", "10.0.0.3", &D), FL_DISCONNECT);
    ck_assert_int_eq(D.code, 421);
    ck_assert_str_eq(D.limit, "MaxInstances");
    ck_assert_ptr_nonnull(strstr(T.events.text, "core.max-instances(c),core.exit(c),"));
    t_close(&T, "a");
    ck_assert_int_eq(t_connect(&T, "c", "10.0.0.3", NULL), FL_ALLOW);
}
END_TEST

START_TEST(test_max_connection_rate_is_an_exact_sliding_window)
{
    tenv_start(&T, "MaxConnectionRate 3 10\n");
    ck_assert_int_eq(t_connect(&T, "a", "10.0.0.1", NULL), FL_ALLOW); /* t=0 */
    T.clock.now += 4 * SEC;
    ck_assert_int_eq(t_connect(&T, "b", "10.0.0.2", NULL), FL_ALLOW); /* t=4 */
    ck_assert_int_eq(t_connect(&T, "c", "10.0.0.3", NULL), FL_ALLOW); /* t=4 */
    ck_assert_int_eq(t_connect(&T, "d", "10.0.0.4", &D), FL_DISCONNECT);
    ck_assert_str_eq(D.limit, "MaxConnectionRate");
    ck_assert_int_eq(D.code, 421);
    ck_assert_int_eq(T.last_max, 3);
    ck_assert_int_eq(T.last_count, 4);
    /* Closing sessions does not give the rate back: the window counts
     * connects, not live children. */
    t_close(&T, "a");
    ck_assert_int_eq(t_connect(&T, "d", "10.0.0.4", NULL), FL_DISCONNECT);
    /* At t=10 the connect of t=0 leaves the window, exactly. */
    T.clock.now += 6 * SEC - 1;
    ck_assert_int_eq(t_connect(&T, "d", "10.0.0.4", NULL), FL_DISCONNECT);
    T.clock.now += 1;
    ck_assert_int_eq(t_connect(&T, "d", "10.0.0.4", NULL), FL_ALLOW);
    ck_assert_int_eq(t_connect(&T, "e", "10.0.0.5", NULL), FL_DISCONNECT);
}
END_TEST

START_TEST(test_refused_connections_do_not_use_up_the_rate)
{
    tenv_start(&T, "MaxConnectionRate 2 10\n");
    ck_assert_int_eq(t_connect(&T, "a", "10.0.0.1", NULL), FL_ALLOW);
    T.clock.now += 5 * SEC;
    ck_assert_int_eq(t_connect(&T, "b", "10.0.0.1", NULL), FL_ALLOW);
    for (int i = 0; i < 49; i++) { /* up to t=9.9 */
        T.clock.now += 100000;
        ck_assert_int_eq(t_connect(&T, "x", "10.0.0.9", NULL), FL_DISCONNECT);
    }
    /* t=10: only the connect of t=0 has left; the refusals never counted. */
    T.clock.now = 1010 * SEC;
    ck_assert_int_eq(t_connect(&T, "c", "10.0.0.1", NULL), FL_ALLOW);
}
END_TEST

START_TEST(test_max_connection_rate_interval_defaults_to_one_second)
{
    tenv_start(&T, "MaxConnectionRate 1\n");
    ck_assert_int_eq(t_connect(&T, "a", "10.0.0.1", NULL), FL_ALLOW);
    T.clock.now += SEC - 1;
    ck_assert_int_eq(t_connect(&T, "b", "10.0.0.1", NULL), FL_DISCONNECT);
    T.clock.now += 1;
    ck_assert_int_eq(t_connect(&T, "b", "10.0.0.1", NULL), FL_ALLOW);
}
END_TEST

START_TEST(test_max_connection_rate_per_host_counts_each_host_alone)
{
    tenv_start(&T, "MaxConnectionRatePerHost 2 60\n");
    ck_assert_int_eq(t_connect(&T, "a1", "10.0.0.1", NULL), FL_ALLOW);
    ck_assert_int_eq(t_connect(&T, "a2", "10.0.0.1", NULL), FL_ALLOW);
    ck_assert_int_eq(t_connect(&T, "a3", "10.0.0.1", &D), FL_DISCONNECT);
    ck_assert_str_eq(D.limit, "MaxConnectionRatePerHost");
    ck_assert_int_eq(D.code, 421);
    ck_assert_ptr_nonnull(
        strstr(T.events.text, "ftplimit.max-connection-rate-per-host(a3)"));
    ck_assert_int_eq(t_connect(&T, "b1", "10.0.0.2", NULL), FL_ALLOW);
    T.clock.now += 60 * SEC;
    ck_assert_int_eq(t_connect(&T, "a3", "10.0.0.1", NULL), FL_ALLOW);
}
END_TEST

START_TEST(test_per_host_rate_survives_the_hosts_sessions_closing)
{
    tenv_start(&T, "MaxConnectionRatePerHost 2 60\n");
    t_connect(&T, "a1", "10.0.0.1", NULL);
    t_connect(&T, "a2", "10.0.0.1", NULL);
    t_close(&T, "a1");
    t_close(&T, "a2");
    /* The host has no session, but its window still holds two connects. */
    ck_assert_int_eq(t_connect(&T, "a3", "10.0.0.1", NULL), FL_DISCONNECT);
}
END_TEST

START_TEST(test_max_connections_per_host_counts_unauthenticated_connections)
{
    tenv_start(&T, "MaxConnectionsPerHost 2\n");
    ck_assert_int_eq(t_connect(&T, "a", "10.0.0.1", NULL), FL_ALLOW);
    ck_assert_int_eq(t_connect(&T, "b", "10.0.0.1", NULL), FL_ALLOW);
    ck_assert_int_eq(t_connect(&T, "c", "10.0.0.1", &D), FL_DISCONNECT);
    ck_assert_int_eq(D.code, 421); /* ProFTPD answers 530 to a fresh connection */
    ck_assert_str_eq(D.limit, "MaxConnectionsPerHost");
    ck_assert_str_eq(D.message,
                     "Sorry, the maximum number of connections (2) for your host "
                     "are already connected.");
    ck_assert_ptr_nonnull(
        strstr(T.events.text, "mod_auth.max-connections-per-host(c)"));
    ck_assert_int_eq(t_connect(&T, "d", "10.0.0.2", NULL), FL_ALLOW);
    t_close(&T, "b");
    ck_assert_int_eq(host_conns(&T, "10.0.0.1"), 1);
    ck_assert_int_eq(t_connect(&T, "c", "10.0.0.1", NULL), FL_ALLOW);
}
END_TEST

/* --- login-time limits ---------------------------------------------------- */

START_TEST(test_max_clients_per_class_counts_authenticated_sessions_of_the_class)
{
    tenv_start(&T, "<Class lan>\nFrom 10.0.0.0/8\n</Class>\n"
                   "<Class wan>\nFrom all\n</Class>\n"
                   "MaxClientsPerClass lan 2 \"class %c is full (%m)\"\n");
    ck_assert_int_eq(t_login(&T, "a", "10.0.0.1", "u1", NULL), FL_ALLOW);
    ck_assert_int_eq(t_connect(&T, "b", "10.0.0.2", NULL), FL_ALLOW);
    ck_assert_int_eq(t_login(&T, "c", "10.0.0.3", "u3", NULL), FL_ALLOW);
    ck_assert_int_eq(class_clients(&T, "lan"), 2);
    ck_assert_int_eq(t_login(&T, "d", "10.0.0.4", "u4", &D), FL_DISCONNECT);
    ck_assert_int_eq(D.code, 530);
    ck_assert_str_eq(D.limit, "MaxClientsPerClass");
    ck_assert_str_eq(D.message, "class lan is full (2)");
    ck_assert_ptr_nonnull(strstr(T.events.text, "mod_auth.max-clients-per-class(d)"));
    ck_assert_str_eq(T.last.class_name, "lan");
    /* Another class is not limited. */
    ck_assert_int_eq(t_login(&T, "w", "192.0.2.1", "u5", NULL), FL_ALLOW);
    t_close(&T, "a");
    ck_assert_int_eq(t_login(&T, "d", "10.0.0.4", "u4", NULL), FL_ALLOW);
}
END_TEST

START_TEST(test_max_clients_per_host_counts_only_authenticated_sessions)
{
    tenv_start(&T, "MaxClientsPerHost 2\n");
    ck_assert_int_eq(t_login(&T, "a", "10.0.0.1", "alice", NULL), FL_ALLOW);
    ck_assert_int_eq(t_connect(&T, "idle", "10.0.0.1", NULL), FL_ALLOW);
    ck_assert_int_eq(t_login(&T, "b", "10.0.0.1", "bob", NULL), FL_ALLOW);
    ck_assert_int_eq(host_clients(&T, "10.0.0.1"), 2);
    ck_assert_int_eq(t_login(&T, "c", "10.0.0.1", "carol", &D), FL_DISCONNECT);
    ck_assert_int_eq(D.code, 530);
    ck_assert_str_eq(D.limit, "MaxClientsPerHost");
    ck_assert_str_eq(D.message,
                     "Sorry, the maximum number of clients (2) from your host are "
                     "already connected.");
    ck_assert_int_eq(T.last_count, 3);
    /* The refused session is gone and counts nothing. */
    ck_assert_ptr_null(fl_session_find(T.e, "c"));
    ck_assert_int_eq(host_conns(&T, "10.0.0.1"), 3);
    t_close(&T, "a");
    ck_assert_int_eq(t_login(&T, "c", "10.0.0.1", "carol", NULL), FL_ALLOW);
}
END_TEST

START_TEST(test_max_clients_per_network_aggregates_an_ipv4_24_by_default)
{
    tenv_start(&T, "MaxClientsPerNetwork 2\n");
    ck_assert_int_eq(t_login(&T, "a", "192.0.2.1", "u", NULL), FL_ALLOW);
    ck_assert_int_eq(t_login(&T, "b", "192.0.2.200", "v", NULL), FL_ALLOW);
    ck_assert_int_eq(t_login(&T, "c", "192.0.2.77", "w", &D), FL_DISCONNECT);
    ck_assert_str_eq(D.limit, "MaxClientsPerNetwork");
    ck_assert_ptr_nonnull(strstr(T.events.text, "ftplimit.max-clients-per-network(c)"));
    ck_assert_int_eq(t_login(&T, "d", "192.0.3.1", "x", NULL), FL_ALLOW);
    t_close(&T, "b");
    ck_assert_int_eq(t_login(&T, "c", "192.0.2.77", "w", NULL), FL_ALLOW);
}
END_TEST

START_TEST(test_max_clients_per_network_aggregates_an_ipv6_64_by_default)
{
    tenv_start(&T, "MaxClientsPerNetwork 2\n");
    /* Three addresses inside one /64: ProFTPD sees three hosts. */
    ck_assert_int_eq(t_login(&T, "a", "2001:db8:1:2::1", "u", NULL), FL_ALLOW);
    ck_assert_int_eq(t_login(&T, "b", "2001:db8:1:2:ffff::9", "v", NULL), FL_ALLOW);
    ck_assert_int_eq(t_login(&T, "c", "2001:db8:1:2:abcd::1", "w", NULL),
                     FL_DISCONNECT);
    ck_assert_int_eq(t_login(&T, "d", "2001:db8:1:3::1", "x", NULL), FL_ALLOW);
}
END_TEST

START_TEST(test_max_clients_per_network_takes_its_prefix_lengths_from_the_directive)
{
    tenv_start(&T, "MaxClientsPerNetwork 1 16 48 \"net %a full\"\n");
    ck_assert_int_eq(t_login(&T, "a", "10.1.0.1", "u", NULL), FL_ALLOW);
    ck_assert_int_eq(t_login(&T, "b", "10.1.200.1", "v", &D), FL_DISCONNECT);
    ck_assert_str_eq(D.message, "net 10.1.200.1 full");
    ck_assert_int_eq(t_login(&T, "c", "10.2.0.1", "w", NULL), FL_ALLOW);
    ck_assert_int_eq(t_login(&T, "d", "2001:db8:1::1", "x", NULL), FL_ALLOW);
    ck_assert_int_eq(t_login(&T, "e", "2001:db8:1:ff::1", "y", NULL), FL_DISCONNECT);
}
END_TEST

START_TEST(test_max_clients_per_user_counts_the_users_sessions_everywhere)
{
    tenv_start(&T, "MaxClientsPerUser 2\n");
    ck_assert_int_eq(t_login(&T, "a", "10.0.0.1", "alice", NULL), FL_ALLOW);
    ck_assert_int_eq(t_login(&T, "b", "10.0.0.2", "alice", NULL), FL_ALLOW);
    ck_assert_int_eq(t_login(&T, "c", "10.0.0.3", "alice", &D), FL_DISCONNECT);
    ck_assert_str_eq(D.limit, "MaxClientsPerUser");
    ck_assert_str_eq(D.message,
                     "Sorry, the maximum number of clients (2) for this user are "
                     "already connected.");
    ck_assert_ptr_nonnull(strstr(T.events.text, "mod_auth.max-clients-per-user(c)"));
    ck_assert_str_eq(T.last.user, "alice");
    ck_assert_int_eq(t_login(&T, "d", "10.0.0.3", "bob", NULL), FL_ALLOW);
    t_close(&T, "a");
    ck_assert_int_eq(user_clients(&T, "alice"), 1);
    ck_assert_int_eq(t_login(&T, "c", "10.0.0.3", "alice", NULL), FL_ALLOW);
}
END_TEST

START_TEST(test_max_clients_counts_every_authenticated_session)
{
    tenv_start(&T, "MaxClients 2\n");
    ck_assert_int_eq(t_login(&T, "a", "10.0.0.1", "u1", NULL), FL_ALLOW);
    ck_assert_int_eq(t_connect(&T, "x", "10.0.0.9", NULL), FL_ALLOW);
    ck_assert_int_eq(t_login(&T, "b", "10.0.0.2", "u2", NULL), FL_ALLOW);
    ck_assert_int_eq(t_login(&T, "c", "10.0.0.3", "u3", &D), FL_DISCONNECT);
    ck_assert_str_eq(D.limit, "MaxClients");
    ck_assert_str_eq(
        D.message,
        "Sorry, the maximum number of allowed clients (2) are already connected.");
    ck_assert_ptr_nonnull(strstr(T.events.text, "mod_auth.max-clients(c)"));
    t_close(&T, "b");
    ck_assert_int_eq(t_login(&T, "c", "10.0.0.3", "u3", NULL), FL_ALLOW);
}
END_TEST

START_TEST(test_max_hosts_per_user_counts_distinct_hosts)
{
    tenv_start(&T, "MaxHostsPerUser 2\n");
    /* Several sessions from one host are one host (ProFTPD counts each
     * session from another address, so it refuses the third one here). */
    ck_assert_int_eq(t_login(&T, "a1", "10.0.0.1", "alice", NULL), FL_ALLOW);
    ck_assert_int_eq(t_login(&T, "a2", "10.0.0.1", "alice", NULL), FL_ALLOW);
    ck_assert_int_eq(t_login(&T, "b1", "10.0.0.2", "alice", NULL), FL_ALLOW);
    ck_assert_int_eq(t_login(&T, "b2", "10.0.0.2", "alice", NULL), FL_ALLOW);
    ck_assert_int_eq(user_hosts(&T, "alice"), 2);
    ck_assert_int_eq(t_login(&T, "k1", "10.0.0.3", "alice", &D), FL_DISCONNECT);
    ck_assert_str_eq(D.limit, "MaxHostsPerUser");
    ck_assert_int_eq(T.last_max, 2);
    ck_assert_int_eq(T.last_count, 3);
    ck_assert_ptr_nonnull(strstr(T.events.text, "mod_auth.max-hosts-per-user(k1)"));
    /* The host leaves the user's set only when its last session closes. */
    t_close(&T, "a1");
    ck_assert_int_eq(t_login(&T, "k1", "10.0.0.3", "alice", NULL), FL_DISCONNECT);
    t_close(&T, "a2");
    ck_assert_int_eq(user_hosts(&T, "alice"), 1);
    ck_assert_int_eq(t_login(&T, "k1", "10.0.0.3", "alice", NULL), FL_ALLOW);
}
END_TEST

/* A server that told the engine of a login its own checks then refused
 * undoes it: every count is as before the PASS, the session is still a
 * connection with its USER and failed attempts, and a PASS may follow. */
START_TEST(test_logout_undoes_a_login_exactly_and_a_pass_may_follow)
{
    tenv_start(&T, "MaxClientsPerUser 1\nMaxLoginAttempts 2\n"
                   "<Class lan>\nFrom 10.0.0.0/8\n</Class>\n");
    ck_assert_int_eq(t_login(&T, "a", "10.0.0.1", "alice", NULL), FL_ALLOW);
    fl_session *s = fl_session_find(T.e, "a");
    ck_assert_int_eq(fl_logout(T.e, s), 0);
    fl_totals tot;
    fl_engine_totals(T.e, &tot);
    ck_assert_int_eq(tot.sessions, 1);
    ck_assert_int_eq(tot.clients, 0);
    ck_assert_int_eq(host_conns(&T, "10.0.0.1"), 1);
    ck_assert_int_eq(host_clients(&T, "10.0.0.1"), 0);
    ck_assert_int_eq(user_clients(&T, "alice"), -1); /* the entry is gone */
    ck_assert_int_eq(class_clients(&T, "lan"), 0);
    fl_addr a;
    fl_counts net;
    ck_assert_int_eq(fl_addr_parse("10.0.0.1", &a), 0);
    ck_assert(fl_count_network(T.e, &a, &net) != 0 || net.clients == 0);
    ck_assert(!fl_session_authenticated(s));
    ck_assert_str_eq(fl_session_user(s), "alice");
    /* Not logged in: nothing to undo. */
    errno = 0;
    ck_assert_int_eq(fl_logout(T.e, s), -1);
    ck_assert_int_eq(errno, ENOTCONN);
    /* Another session of alice's is not refused by the login undone. */
    ck_assert_int_eq(t_login(&T, "b", "10.0.0.2", "alice", NULL), FL_ALLOW);
    t_close(&T, "b");
    /* The refused login counts as a failed attempt, with the one before. */
    ck_assert_int_eq(t_pass(&T, "a", false, NULL, &D), FL_REJECT);
    ck_assert_int_eq(t_pass(&T, "a", false, NULL, &D), FL_DISCONNECT);
    ck_assert_str_eq(D.limit, "MaxLoginAttempts");
    fl_engine_totals(T.e, &tot);
    ck_assert_int_eq(tot.sessions, 0);
}
END_TEST

START_TEST(test_a_logged_out_session_logs_in_again)
{
    tenv_start(&T, "MaxHostsPerUser 1\n");
    ck_assert_int_eq(t_login(&T, "a", "10.0.0.1", "alice", NULL), FL_ALLOW);
    ck_assert_int_eq(fl_logout(T.e, fl_session_find(T.e, "a")), 0);
    ck_assert_int_eq(t_pass(&T, "a", true, NULL, NULL), FL_ALLOW);
    ck_assert_int_eq(user_clients(&T, "alice"), 1);
    ck_assert_int_eq(user_hosts(&T, "alice"), 1);
    ck_assert_int_eq(t_login(&T, "b", "10.0.0.2", "alice", &D), FL_DISCONNECT);
    ck_assert_str_eq(D.limit, "MaxHostsPerUser");
    t_close(&T, "a");
    fl_totals tot;
    fl_engine_totals(T.e, &tot);
    ck_assert_int_eq(tot.sessions + tot.clients, 0);
}
END_TEST

START_TEST(test_max_login_attempts_defaults_to_three_and_the_third_failure_disconnects)
{
    tenv_start(&T, NULL);
    t_connect(&T, "a", "10.0.0.1", NULL);
    t_user(&T, "a", "alice", NULL);
    ck_assert_int_eq(t_pass(&T, "a", false, "x", &D), FL_REJECT);
    ck_assert_int_eq(D.code, 530);
    ck_assert_str_eq(D.message, "Login incorrect.");
    ck_assert_ptr_null(D.limit);
    ck_assert_int_eq(t_pass(&T, "a", false, "y", &D), FL_REJECT);
    ck_assert_int_eq(t_pass(&T, "a", false, "z", &D), FL_DISCONNECT);
    ck_assert_str_eq(D.limit, "MaxLoginAttempts");
    ck_assert_str_eq(D.message, "Login incorrect.");
    ck_assert_ptr_nonnull(
        strstr(T.events.text, "mod_auth.max-login-attempts(a),core.exit(a),"));
    ck_assert_ptr_null(fl_session_find(T.e, "a"));
    ck_assert_int_eq(host_conns(&T, "10.0.0.1"), -1);
}
END_TEST

START_TEST(test_max_login_attempts_none_never_disconnects)
{
    tenv_start(&T, "MaxLoginAttempts none\n");
    t_connect(&T, "a", "10.0.0.1", NULL);
    t_user(&T, "a", "alice", NULL);
    for (int i = 0; i < 20; i++)
        ck_assert_int_eq(t_pass(&T, "a", false, "x", NULL), FL_REJECT);
    ck_assert_int_eq(t_pass(&T, "a", true, "right", NULL), FL_ALLOW);
}
END_TEST

START_TEST(test_a_successful_login_after_failures_is_allowed)
{
    tenv_start(&T, "MaxLoginAttempts 2\n");
    t_connect(&T, "a", "10.0.0.1", NULL);
    t_user(&T, "a", "alice", NULL);
    ck_assert_int_eq(t_pass(&T, "a", false, "x", NULL), FL_REJECT);
    ck_assert_int_eq(t_pass(&T, "a", true, "right", NULL), FL_ALLOW);
    ck_assert_int_eq(fl_session_failed_logins(fl_session_find(T.e, "a")), 1);
}
END_TEST

START_TEST(test_anon_reject_passwords_rejects_matching_passwords_of_anonymous_users)
{
    tenv_start(&T, "AnonRejectPasswords \"^$|@example\\.com$\"\n");
    t_connect(&T, "a", "10.0.0.1", NULL);
    t_user(&T, "a", "anonymous", NULL);
    ck_assert_int_eq(t_pass(&T, "a", true, "me@example.com", &D), FL_REJECT);
    ck_assert_int_eq(D.code, 530);
    ck_assert_str_eq(D.message, "Login incorrect.");
    ck_assert_str_eq(D.limit, "AnonRejectPasswords");
    ck_assert_ptr_nonnull(strstr(T.events.text, "mod_auth.anon-reject-passwords(a)"));
    ck_assert_int_eq(t_pass(&T, "a", true, "", NULL), FL_REJECT);
    ck_assert_int_eq(t_pass(&T, "a", true, "me@example.org", NULL), FL_ALLOW);
    /* A named user is not anonymous: the rule does not apply. */
    t_connect(&T, "b", "10.0.0.1", NULL);
    t_user(&T, "b", "alice", NULL);
    ck_assert_int_eq(t_pass(&T, "b", true, "me@example.com", NULL), FL_ALLOW);
}
END_TEST

START_TEST(test_anon_reject_passwords_counts_as_a_failed_login_attempt)
{
    tenv_start(&T, "MaxLoginAttempts 2\nAnonRejectPasswords ^x\n");
    t_connect(&T, "a", "10.0.0.1", NULL);
    t_user(&T, "a", "ftp", NULL);
    ck_assert_int_eq(t_pass(&T, "a", true, "x1", NULL), FL_REJECT);
    ck_assert_int_eq(t_pass(&T, "a", true, "x2", &D), FL_DISCONNECT);
    ck_assert_str_eq(D.limit, "MaxLoginAttempts");
    ck_assert_ptr_nonnull(strstr(T.events.text,
                                 "mod_auth.anon-reject-passwords(a),mod_auth.max-login-"
                                 "attempts(a),core.exit(a)"));
}
END_TEST

START_TEST(test_anon_reject_passwords_negated_rejects_only_what_does_not_match)
{
    /* ProFTPD's "!regex" rejects every password, matching or not. */
    tenv_start(
        &T, "AnonRejectPasswords \"!^[^@]+@[^@]+\\.[a-z]+$\"\nMaxLoginAttempts none\n");
    t_connect(&T, "a", "10.0.0.1", NULL);
    t_user(&T, "a", "anonymous", NULL);
    ck_assert_int_eq(t_pass(&T, "a", true, "not-an-email", NULL), FL_REJECT);
    ck_assert_int_eq(t_pass(&T, "a", true, "me@example.org", NULL), FL_ALLOW);
}
END_TEST

/* A password that runs the pattern past its budget is refused, and a
 * warning logged (one each 10 s): "^(.*)(.*)(.*)\3\2\1$" took glibc over 8 s
 * on a 201-byte password; PCRE2 stops at FL_REGEX_MATCH_LIMIT steps. */
START_TEST(test_a_password_past_the_patterns_match_budget_is_refused_and_logged)
{
    tenv_start(&T, "AnonRejectPasswords \"^(.*)(.*)(.*)\\3\\2\\1$\"\n"
                   "MaxLoginAttempts none\n");
    trail log;
    trail_reset(&log);
    fl_engine_set_log(T.e, trail_log, &log);
    char password[202];
    memset(password, 'a', 200);
    password[200] = 'b';
    password[201] = '\0';
    t_connect(&T, "a", "10.0.0.1", NULL);
    t_user(&T, "a", "anonymous", NULL);
    ck_assert_int_eq(t_pass(&T, "a", true, password, &D), FL_REJECT);
    ck_assert_str_eq(D.limit, "AnonRejectPasswords");
    ck_assert_ptr_nonnull(strstr(log.text, "ran the pattern past its budget"));
    ck_assert_ptr_nonnull(strstr(log.text, "refused"));
    /* The second within 10 s is refused without another line. */
    size_t logged = strlen(log.text);
    ck_assert_int_eq(t_pass(&T, "a", true, password, &D), FL_REJECT);
    ck_assert_uint_eq(strlen(log.text), logged);
    /* Short ones are matched as ever. */
    ck_assert_int_eq(t_pass(&T, "a", true, "abccba", NULL), FL_REJECT);
    ck_assert_int_eq(t_pass(&T, "a", true, "me@example.org", NULL), FL_ALLOW);
}
END_TEST

START_TEST(test_anon_reject_passwords_nc_ignores_case)
{
    tenv_start(&T, "AnonRejectPasswords ^mozilla@ [NC]\n");
    t_connect(&T, "a", "10.0.0.1", NULL);
    t_user(&T, "a", "Anonymous", NULL);
    ck_assert_int_eq(t_pass(&T, "a", true, "MOZILLA@", NULL), FL_REJECT);
    ck_assert_int_eq(t_pass(&T, "a", true, "real@example.org", NULL), FL_ALLOW);
}
END_TEST

START_TEST(test_anonymous_users_may_be_renamed_and_count_as_one_user)
{
    tenv_start(&T, "AnonymousUsers guest visitor\nAnonRejectPasswords ^$\n"
                   "MaxClientsPerUser 2\n");
    t_connect(&T, "a", "10.0.0.1", NULL);
    t_user(&T, "a", "anonymous", NULL); /* no longer anonymous */
    ck_assert_int_eq(t_pass(&T, "a", true, "", NULL), FL_ALLOW);
    ck_assert_int_eq(t_login(&T, "b", "10.0.0.2", "guest", NULL), FL_ALLOW);
    ck_assert_int_eq(t_login(&T, "c", "10.0.0.3", "visitor", NULL), FL_ALLOW);
    ck_assert_int_eq(user_clients(&T, "guest"), 2);
    ck_assert_int_eq(t_login(&T, "d", "10.0.0.4", "guest", &D), FL_DISCONNECT);
    ck_assert_str_eq(D.limit, "MaxClientsPerUser");
}
END_TEST

/* Whether a name is anonymous is mostly answered by its first byte: the
 * answer must be the same as comparing whole names, ASCII case ignored,
 * whatever bytes the names start with. */
START_TEST(test_anonymous_names_are_recognised_whatever_byte_they_start_with)
{
    tenv_start(&T, "MaxClientsPerUser 10\n");
    ck_assert_int_eq(t_login(&T, "a", "10.0.0.1", "FTP", NULL), FL_ALLOW);
    ck_assert_int_eq(t_login(&T, "b", "10.0.0.1", "ftpx", NULL), FL_ALLOW);
    ck_assert_int_eq(t_login(&T, "c", "10.0.0.1", "Anonymous", NULL), FL_ALLOW);
    ck_assert_int_eq(user_clients(&T, "anonymous"), 2);
    ck_assert_int_eq(user_clients(&T, "ftpx"), 1);

    ck_assert_int_eq(
        tenv_reload(&T, "AnonymousUsers \xc3\xa9ric Guest\nMaxClientsPerUser 10\n"), 0);
    ck_assert_int_eq(t_login(&T, "d", "10.0.0.2", "\xc3\xa9ric", NULL), FL_ALLOW);
    ck_assert_int_eq(t_login(&T, "e", "10.0.0.2", "gUEST", NULL), FL_ALLOW);
    ck_assert_int_eq(t_login(&T, "f", "10.0.0.2", "eric", NULL), FL_ALLOW);
    ck_assert_int_eq(t_login(&T, "g", "10.0.0.2", "\xc3\xa9ta", NULL), FL_ALLOW);
    ck_assert_int_eq(t_login(&T, "h", "10.0.0.2", "ftp", NULL), FL_ALLOW);
    ck_assert_int_eq(user_clients(&T, "\xc3\xa9ric"), 2);
    ck_assert_int_eq(user_clients(&T, "eric"), 1);
    ck_assert_int_eq(user_clients(&T, "\xc3\xa9ta"), 1);
    ck_assert_int_eq(user_clients(&T, "ftp"), 1);
    ck_assert_int_eq(user_clients(&T, "Guest"), -1);
}
END_TEST

/* USER works out whom a name counts under; a reload before its PASS makes
 * PASS work it out again under the policy then in force. */
START_TEST(test_a_reload_between_user_and_pass_decides_by_the_new_anonymous_users)
{
    tenv_start(&T, "MaxClientsPerUser 5\n");
    t_connect(&T, "a", "10.0.0.1", NULL);
    t_user(&T, "a", "ftp", NULL); /* anonymous, as "anonymous" */
    t_connect(&T, "b", "10.0.0.2", NULL);
    t_user(&T, "b", "guest", NULL); /* not anonymous */
    ck_assert_int_eq(tenv_reload(&T, "AnonymousUsers guest\nMaxClientsPerUser 5\n"), 0);
    ck_assert_int_eq(t_pass(&T, "a", true, "x@example.org", NULL), FL_ALLOW);
    ck_assert_int_eq(t_pass(&T, "b", true, "x@example.org", NULL), FL_ALLOW);
    ck_assert_int_eq(user_clients(&T, "ftp"), 1);
    ck_assert_int_eq(user_clients(&T, "anonymous"), -1);
    ck_assert_int_eq(user_clients(&T, "guest"), 1);
    /* Under an unchanged policy, the next login counts as USER worked out. */
    ck_assert_int_eq(t_login(&T, "c", "10.0.0.3", "Guest", NULL), FL_ALLOW);
    ck_assert_int_eq(user_clients(&T, "guest"), 2);
    ck_assert_str_eq(fl_session_user(fl_session_find(T.e, "c")), "guest");
}
END_TEST

/* A server that resolves names itself says which logins are anonymous:
 * its word, not AnonymousUsers, decides (ProFTPD: a name mapped to an
 * <Anonymous> block, whatever the name). */
START_TEST(test_a_server_resolved_login_is_anonymous_by_the_servers_word_alone)
{
    tenv_start(&T, "AnonRejectPasswords ^$\nMaxClientsPerUser 2\n");
    /* "daemon" is in no AnonymousUsers list, but the server made it
     * anonymous: AnonRejectPasswords applies. */
    t_connect(&T, "a", "10.0.0.1", NULL);
    ck_assert_int_eq(
        fl_user_resolved(T.e, fl_session_find(T.e, "a"), "daemon", "ftp", &D), 0);
    ck_assert_int_eq(t_pass(&T, "a", true, "", &D), FL_REJECT);
    ck_assert_str_eq(D.limit, "AnonRejectPasswords");
    ck_assert_int_eq(t_pass(&T, "a", true, "me@example.org", &D), FL_ALLOW);
    /* "anonymous" the server calls a real account is not anonymous. */
    t_connect(&T, "b", "10.0.0.2", NULL);
    ck_assert_int_eq(
        fl_user_resolved(T.e, fl_session_find(T.e, "b"), "anonymous", NULL, &D), 0);
    ck_assert_int_eq(t_pass(&T, "b", true, "", &D), FL_ALLOW);
    ck_assert_int_eq(user_clients(&T, "anonymous"), 1);
    ck_assert_int_eq(user_clients(&T, "ftp"), 1);
    ck_assert_str_eq(fl_session_user(fl_session_find(T.e, "a")), "ftp");
}
END_TEST

/* Every alias of one anonymous account is one user (ProFTPD counts an
 * <Anonymous> block's logins under its User); two accounts are two. */
START_TEST(test_every_name_mapped_to_one_anonymous_account_counts_as_one_user)
{
    tenv_start(&T, "MaxClientsPerUser 2\n");
    const char *names[] = {"anonymous", "guest", "ftp"};
    for (int i = 0; i < 3; i++) {
        char sid[8];
        snprintf(sid, sizeof sid, "s%d", i);
        t_connect(&T, sid, "10.0.0.1", NULL);
        ck_assert_int_eq(
            fl_user_resolved(T.e, fl_session_find(T.e, sid), names[i], "ftp", &D), 0);
        ck_assert_int_eq(t_pass(&T, sid, true, "me@example.org", &D),
                         i < 2 ? FL_ALLOW : FL_DISCONNECT);
    }
    ck_assert_str_eq(D.limit, "MaxClientsPerUser");
    ck_assert_str_eq(T.last_user, "ftp");
    ck_assert_int_eq(user_clients(&T, "ftp"), 2);
    /* Another block's account is another user. */
    t_connect(&T, "t", "10.0.0.1", NULL);
    ck_assert_int_eq(
        fl_user_resolved(T.e, fl_session_find(T.e, "t"), "anonymous", "mirror", &D), 0);
    ck_assert_int_eq(t_pass(&T, "t", true, "me@example.org", &D), FL_ALLOW);
    ck_assert_int_eq(user_clients(&T, "mirror"), 1);
    /* A ban of the account refuses every name mapped to it. */
    ck_assert_int_eq(
        fl_ban_add(T.e, FL_BAN_USER, "ftp", NULL, 60 * FL_USEC_PER_SEC, NULL), 0);
    t_connect(&T, "u", "10.0.0.3", NULL);
    ck_assert_int_eq(
        fl_user_resolved(T.e, fl_session_find(T.e, "u"), "guest", "ftp", &D), 0);
    ck_assert_int_eq(t_pass(&T, "u", true, "me@example.org", &D), FL_DISCONNECT);
    ck_assert_str_eq(D.limit, "Ban");
}
END_TEST

START_TEST(test_a_resolved_user_name_and_account_are_checked)
{
    tenv_start(&T, NULL);
    t_connect(&T, "a", "10.0.0.1", NULL);
    fl_session *s = fl_session_find(T.e, "a");
    char long_name[FL_USER_MAX + 2];
    memset(long_name, 'x', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    ck_assert_int_eq(fl_user_resolved(T.e, s, "", NULL, &D), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(fl_user_resolved(T.e, s, "anonymous", "", &D), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(fl_user_resolved(T.e, s, "anonymous", long_name, &D), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(fl_anon_pass_check(T.e, s, "x", &D), -1); /* no USER yet */
    ck_assert_int_eq(errno, EPROTO);
}
END_TEST

/* A server that checks AnonRejectPasswords before the password, as
 * ProFTPD does: a rejected password is a failed attempt (the Nth ends the
 * session), any other is let in and not checked again at PASS. */
START_TEST(test_an_anonymous_password_checked_first_is_a_failed_attempt_when_rejected)
{
    tenv_start(&T, "MaxLoginAttempts 2\nAnonRejectPasswords \"!@\"\n");
    t_connect(&T, "a", "10.0.0.1", NULL);
    fl_session *s = fl_session_find(T.e, "a");
    ck_assert_int_eq(fl_user_resolved(T.e, s, "guest", "ftp", &D), 0);
    ck_assert_int_eq(fl_anon_pass_check(T.e, s, "nobody", &D), 0);
    ck_assert_int_eq(D.verdict, FL_REJECT);
    ck_assert_int_eq(D.code, 530);
    ck_assert_str_eq(D.limit, "AnonRejectPasswords");
    ck_assert_int_eq(fl_session_failed_logins(s), 1);
    ck_assert_ptr_nonnull(strstr(T.events.text, "mod_auth.anon-reject-passwords(a)"));
    /* A password it lets in: nothing changes, and PASS does not check it
     * again (the server sends none). */
    ck_assert_int_eq(fl_user_resolved(T.e, s, "guest", "ftp", &D), 0);
    ck_assert_int_eq(fl_anon_pass_check(T.e, s, "me@example.org", &D), 0);
    ck_assert_int_eq(D.verdict, FL_ALLOW);
    ck_assert_int_eq(fl_session_failed_logins(s), 1);
    ck_assert_int_eq(t_pass(&T, "a", true, NULL, &D), FL_ALLOW);
    ck_assert_int_eq(user_clients(&T, "ftp"), 1);
    /* A real account's password is never looked at. */
    t_connect(&T, "b", "10.0.0.2", NULL);
    s = fl_session_find(T.e, "b");
    ck_assert_int_eq(fl_user_resolved(T.e, s, "alice", NULL, &D), 0);
    ck_assert_int_eq(fl_anon_pass_check(T.e, s, "nobody", &D), 0);
    ck_assert_int_eq(D.verdict, FL_ALLOW);
    /* The second rejected password ends the session. */
    t_connect(&T, "c", "10.0.0.3", NULL);
    s = fl_session_find(T.e, "c");
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(fl_user_resolved(T.e, s, "anonymous", "ftp", &D), 0);
        ck_assert_int_eq(fl_anon_pass_check(T.e, s, "x", &D), 0);
    }
    ck_assert_int_eq(D.verdict, FL_DISCONNECT);
    ck_assert_str_eq(D.limit, "MaxLoginAttempts");
    ck_assert_ptr_null(fl_session_find(T.e, "c"));
    ck_assert_ptr_nonnull(strstr(T.events.text,
                                 "mod_auth.anon-reject-passwords(c),mod_auth.max-login-"
                                 "attempts(c),core.exit(c)"));
}
END_TEST

/* --- order ---------------------------------------------------------------- */

START_TEST(test_connect_checks_run_in_order_and_the_first_exceeded_wins)
{
    tenv_start(&T,
               "MaxInstances 1\nMaxConnectionRate 1 60\nMaxConnectionRatePerHost 1 60\n"
               "MaxConnectionsPerHost 1\n");
    t_connect(&T, "a", "10.0.0.1", NULL);
    ck_assert_int_eq(t_connect(&T, "b", "10.0.0.1", &D), FL_DISCONNECT);
    ck_assert_str_eq(D.limit, "MaxInstances");
    ck_assert_int_eq(
        tenv_reload(&T, "MaxConnectionRate 1 60\nMaxConnectionRatePerHost 1 60\n"
                        "MaxConnectionsPerHost 1\n"),
        0);
    ck_assert_int_eq(t_connect(&T, "b", "10.0.0.1", &D), FL_DISCONNECT);
    ck_assert_str_eq(D.limit, "MaxConnectionRate");
    ck_assert_int_eq(
        tenv_reload(&T, "MaxConnectionRatePerHost 1 60\nMaxConnectionsPerHost 1\n"), 0);
    ck_assert_int_eq(t_connect(&T, "b", "10.0.0.1", &D), FL_DISCONNECT);
    ck_assert_str_eq(D.limit, "MaxConnectionRatePerHost");
    ck_assert_int_eq(tenv_reload(&T, "MaxConnectionsPerHost 1\n"), 0);
    ck_assert_int_eq(t_connect(&T, "b", "10.0.0.1", &D), FL_DISCONNECT);
    ck_assert_str_eq(D.limit, "MaxConnectionsPerHost");
    /* Exactly one event per refusal: the first exceeded. */
    ck_assert_ptr_null(strstr(T.events.text, "max-connection-rate(b),core.max-"));
}
END_TEST

static const char *login_order_policy[] = {
    "<Class c>\nFrom all\n</Class>\nMaxClientsPerClass c 1\n",
    "MaxClientsPerHost 1\n",
    "MaxClientsPerNetwork 1\n",
    "MaxClientsPerUser 1\n",
    "MaxClients 1\n",
    "MaxHostsPerUser 1\n",
};
static const char *login_order_limit[] = {
    "MaxClientsPerClass", "MaxClientsPerHost", "MaxClientsPerNetwork",
    "MaxClientsPerUser",  "MaxClients",        "MaxHostsPerUser",
};

START_TEST(test_login_checks_run_in_order_and_the_first_exceeded_wins)
{
    /* Each limit against the next one, both exceeded at once: the earlier
     * decides. Pairwise order fixes the whole order. MaxHostsPerUser needs a
     * second host; every other pair is exceeded from one host. */
    for (int k = 0; k + 1 < 6; k++) {
        char policy[1024];
        snprintf(policy, sizeof policy, "%s%s", login_order_policy[k],
                 login_order_policy[k + 1]);
        tenv_start(&T, policy);
        const char *second = k + 1 == 5 ? "10.0.0.2" : "10.0.0.1";
        ck_assert_int_eq(t_login(&T, "a", "10.0.0.1", "alice", NULL), FL_ALLOW);
        ck_assert_int_eq(t_login(&T, "b", second, "alice", &D), FL_DISCONNECT);
        ck_assert_str_eq(D.limit, login_order_limit[k]);
        tenv_stop(&T);
    }
    tenv_start(&T, NULL); /* for the fixture's teardown */
}
END_TEST

/* --- ProFTPD defects ------------------------------------------------------ */

START_TEST(test_an_ipv4_mapped_address_is_the_same_host_as_the_ipv4_address)
{
    tenv_start(&T, "MaxClientsPerHost 1\nMaxConnectionsPerHost 2\n");
    ck_assert_int_eq(t_login(&T, "a", "10.0.0.1", "alice", NULL), FL_ALLOW);
    ck_assert_int_eq(t_login(&T, "b", "::ffff:10.0.0.1", "bob", &D), FL_DISCONNECT);
    ck_assert_str_eq(D.limit, "MaxClientsPerHost");
    ck_assert_str_eq(T.last.address, "10.0.0.1");
    ck_assert_int_eq(host_conns(&T, "::ffff:10.0.0.1"), 1);
}
END_TEST

START_TEST(test_long_user_and_class_names_are_never_cut)
{
    /* ProFTPD's scoreboard keeps 32 bytes of a user name: two names that
     * share their first 32 bytes become one user there. */
    char a[300], b[300];
    memset(a, 'x', 299);
    a[299] = '\0';
    memcpy(b, a, sizeof b);
    b[298] = 'y';
    char policy[512];
    snprintf(policy, sizeof policy,
             "MaxClientsPerUser 1\n<Class %.100s>\nFrom all\n</Class>\n"
             "MaxClientsPerClass %.100s 10\n",
             a, a);
    tenv_start(&T, policy);
    ck_assert_int_eq(t_login(&T, "s1", "10.0.0.1", a, NULL), FL_ALLOW);
    ck_assert_int_eq(t_login(&T, "s2", "10.0.0.1", b, NULL), FL_ALLOW);
    ck_assert_int_eq(t_login(&T, "s3", "10.0.0.1", a, NULL), FL_DISCONNECT);
    ck_assert_int_eq(strlen(fl_session_class(fl_session_find(T.e, "s1"))), 100);
    ck_assert_int_eq(class_clients(&T, fl_session_class(fl_session_find(T.e, "s1"))),
                     2);
}
END_TEST

START_TEST(test_a_refusal_at_connect_replies_421_for_every_connect_limit)
{
    static const char *policies[] = {"MaxInstances 1\n", "MaxConnectionRate 1 60\n",
                                     "MaxConnectionRatePerHost 1 60\n",
                                     "MaxConnectionsPerHost 1\n"};
    for (size_t i = 0; i < 4; i++) {
        tenv_start(&T, policies[i]);
        t_connect(&T, "a", "10.0.0.1", NULL);
        ck_assert_int_eq(t_connect(&T, "b", "10.0.0.1", &D), FL_DISCONNECT);
        ck_assert_int_eq(D.code, 421);
        ck_assert_str_ne(D.message, "");
        tenv_stop(&T);
    }
    tenv_start(&T, NULL);
}
END_TEST

START_TEST(test_closing_releases_every_count_the_session_held)
{
    tenv_start(&T, "<Class lan>\nFrom 10.0.0.0/8\n</Class>\nMaxClientsPerNetwork 5\n");
    t_login(&T, "a", "10.0.0.1", "alice", NULL);
    t_login(&T, "b", "10.0.0.1", "alice", NULL);
    t_close(&T, "a");
    t_close(&T, "b");
    fl_totals tot;
    fl_engine_totals(T.e, &tot);
    ck_assert_int_eq(tot.sessions, 0);
    ck_assert_int_eq(tot.clients, 0);
    ck_assert_int_eq(tot.hosts, 0);
    ck_assert_int_eq(tot.users, 0);
    ck_assert_int_eq(tot.classes, 0);
    ck_assert_int_eq(tot.networks, 0);
}
END_TEST

/* --- messages ------------------------------------------------------------- */

START_TEST(test_messages_expand_every_sequence)
{
    tenv_start(&T, "<Class lan>\nFrom all\n</Class>\n"
                   "MaxClientsPerHost 1 \"%m/%n u=%u a=%a c=%c 100%% %x %\"\n");
    t_login(&T, "a", "10.0.0.1", "alice", NULL);
    ck_assert_int_eq(t_login(&T, "b", "10.0.0.1", "bob", &D), FL_DISCONNECT);
    ck_assert_str_eq(D.message, "1/2 u=bob a=10.0.0.1 c=lan 100% %x %");
}
END_TEST

START_TEST(test_expanded_values_cannot_put_control_characters_in_a_reply)
{
    tenv_start(&T, "MaxClientsPerHost 1 \"no room for %u\"\n");
    t_login(&T, "a", "10.0.0.1", "alice", NULL);
    ck_assert_int_eq(t_login(&T, "b", "10.0.0.1", "evil\r\n230 Welcome\x01\x7f", &D),
                     FL_DISCONNECT);
    ck_assert_str_eq(D.message, "no room for evil??230 Welcome??");
    ck_assert_ptr_null(strpbrk(D.message, "\r\n"));
}
END_TEST

START_TEST(test_a_very_long_message_is_cut_to_fit)
{
    char user[FL_USER_MAX + 1];
    memset(user, 'u', FL_USER_MAX);
    user[FL_USER_MAX] = '\0';
    tenv_start(&T, "MaxClientsPerHost 1 \"%u%u%u\"\n");
    t_login(&T, "a", "10.0.0.1", "alice", NULL);
    ck_assert_int_eq(t_login(&T, "b", "10.0.0.1", user, &D), FL_DISCONNECT);
    ck_assert_int_eq(strlen(D.message), FL_MESSAGE_MAX - 1);
}
END_TEST

/* --- dry run -------------------------------------------------------------- */

START_TEST(test_dry_run_decides_counts_and_events_but_refuses_nothing)
{
    tenv_start(&T, "DryRun on\nMaxConnectionsPerHost 1\nMaxClientsPerHost 1\n");
    ck_assert_int_eq(t_login(&T, "a", "10.0.0.1", "alice", NULL), FL_ALLOW);
    ck_assert_int_eq(t_connect(&T, "b", "10.0.0.1", &D), FL_ALLOW);
    ck_assert(D.dry_run);
    ck_assert_int_eq(D.would, FL_DISCONNECT);
    ck_assert_str_eq(D.limit, "MaxConnectionsPerHost");
    ck_assert_int_eq(D.code, 421);
    ck_assert(T.last.dry_run);
    t_user(&T, "b", "bob", NULL);
    ck_assert_int_eq(t_pass(&T, "b", true, "pw", &D), FL_ALLOW);
    ck_assert_int_eq(D.would, FL_DISCONNECT);
    ck_assert_str_eq(D.limit, "MaxClientsPerHost");
    ck_assert_int_eq(host_clients(&T, "10.0.0.1"), 2);
    ck_assert_ptr_nonnull(strstr(T.events.text, "mod_auth.max-clients-per-host(b)"));
}
END_TEST

START_TEST(test_dry_run_still_rejects_a_bad_password)
{
    tenv_start(&T, "DryRun on\nMaxLoginAttempts 1\n");
    t_connect(&T, "a", "10.0.0.1", NULL);
    t_user(&T, "a", "alice", NULL);
    ck_assert_int_eq(t_pass(&T, "a", false, "x", &D), FL_REJECT);
    ck_assert_int_eq(D.would, FL_DISCONNECT);
    ck_assert_str_eq(D.limit, "MaxLoginAttempts");
    ck_assert_ptr_nonnull(fl_session_find(T.e, "a"));
}
END_TEST

/* --- API misuse ----------------------------------------------------------- */

START_TEST(test_operations_out_of_order_are_errors_not_decisions)
{
    tenv_start(&T, NULL);
    fl_session *s;
    fl_connect_info ci = {.sid = "a"};
    fl_addr_parse("10.0.0.1", &ci.addr);
    ck_assert_int_eq(fl_connect(T.e, &ci, &s, &D), 0);
    errno = 0;
    ck_assert_int_eq(fl_connect(T.e, &ci, &s, &D), -1);
    ck_assert_int_eq(errno, EEXIST);
    errno = 0;
    ck_assert_int_eq(fl_pass(T.e, fl_session_find(T.e, "a"), true, NULL, &D), -1);
    ck_assert_int_eq(errno, EPROTO);
    t_user(&T, "a", "alice", NULL);
    t_pass(&T, "a", true, NULL, NULL);
    errno = 0;
    ck_assert_int_eq(fl_user(T.e, fl_session_find(T.e, "a"), "bob", &D), -1);
    ck_assert_int_eq(errno, EISCONN);
    errno = 0;
    ck_assert_int_eq(fl_user(T.e, fl_session_find(T.e, "a"), "", &D), -1);
    ck_assert_int_eq(errno, EINVAL);
    ci.sid = "bad sid";
    errno = 0;
    ck_assert_int_eq(fl_connect(T.e, &ci, &s, &D), -1);
    ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(test_a_user_name_longer_than_the_limit_is_refused_as_invalid)
{
    char *huge = malloc(65536);
    memset(huge, 'A', 65535);
    huge[65535] = '\0';
    tenv_start(&T, NULL);
    t_connect(&T, "a", "10.0.0.1", NULL);
    errno = 0;
    ck_assert_int_eq(fl_user(T.e, fl_session_find(T.e, "a"), huge, &D), -1);
    ck_assert_int_eq(errno, EINVAL);
    free(huge);
}
END_TEST

START_TEST(test_sessions_without_an_id_get_one_from_the_engine)
{
    tenv_start(&T, NULL);
    fl_session *s1, *s2;
    fl_connect_info ci = {.sid = NULL};
    fl_addr_parse("10.0.0.1", &ci.addr);
    ck_assert_int_eq(fl_connect(T.e, &ci, &s1, &D), 0);
    ck_assert_int_eq(fl_connect(T.e, &ci, &s2, &D), 0);
    ck_assert_str_eq(fl_session_id(s1), "c1");
    ck_assert_str_eq(fl_session_id(s2), "c2");
    ck_assert_ptr_eq(fl_session_find(T.e, "c1"), s1);
    ck_assert_ptr_eq(fl_session_find(T.e, "c2"), s2);
    ck_assert_ptr_null(fl_session_find(T.e, "c3"));
    ck_assert_ptr_null(fl_session_find(T.e, "c02"));
    /* That form is the engine's: a caller cannot take it. */
    ci.sid = "c3";
    errno = 0;
    ck_assert_int_eq(fl_connect(T.e, &ci, &s1, &D), -1);
    ck_assert_int_eq(errno, EINVAL);
    ci.sid = "c3x";
    ck_assert_int_eq(fl_connect(T.e, &ci, &s1, &D), 0);
}
END_TEST

START_TEST(test_the_engines_ids_count_on_after_a_resumed_id_of_their_form)
{
    tenv_start(&T, NULL);
    fl_session *s;
    fl_connect_info ci = {.sid = NULL};
    fl_addr_parse("10.0.0.1", &ci.addr);
    fl_resume_info ri = {.sid = "c99", .addr = ci.addr};
    ck_assert_int_eq(fl_resume(T.e, &ri, &s), 0);
    ck_assert_int_eq(fl_connect(T.e, &ci, &s, &D), 0);
    ck_assert_str_eq(fl_session_id(s), "c100");
    ck_assert_ptr_eq(fl_session_find(T.e, "c100"), s);
    ck_assert_ptr_nonnull(fl_session_find(T.e, "c99"));
    ck_assert_int_eq(fl_connect(T.e, &ci, &s, &D), 0);
    ck_assert_str_eq(fl_session_id(s), "c101");
    /* A lower number does not move the count back. */
    ri.sid = "c7";
    ck_assert_int_eq(fl_resume(T.e, &ri, &s), 0);
    ck_assert_int_eq(fl_connect(T.e, &ci, &s, &D), 0);
    ck_assert_str_eq(fl_session_id(s), "c102");
    ri.sid = "c18446744073709551615";
    ck_assert_int_eq(fl_resume(T.e, &ri, &s), 0);
    ck_assert_int_eq(fl_connect(T.e, &ci, &s, &D), 0);
    ck_assert_str_eq(fl_session_id(s), "c18446744073709551616");
    ck_assert_ptr_eq(fl_session_find(T.e, "c18446744073709551616"), s);
    /* Past that, no resumed number is ahead of the count. */
    ri.sid = "c99999";
    ck_assert_int_eq(fl_resume(T.e, &ri, &s), 0);
    ck_assert_int_eq(fl_connect(T.e, &ci, &s, &D), 0);
    ck_assert_str_eq(fl_session_id(s), "c18446744073709551617");
    ck_assert_ptr_eq(fl_session_find(T.e, "c18446744073709551617"), s);
    /* A number the engine could not count past is refused. */
    ri.sid = "c18446744073709551617";
    errno = 0;
    ck_assert_int_eq(fl_resume(T.e, &ri, &s), -1);
    ck_assert_int_eq(errno, EINVAL);
}
END_TEST

static Suite *limits_suite(void)
{
    Suite *s = suite_create("limits");
    TCase *tc = tcase_create("limits");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc,
                   test_max_instances_refuses_the_connection_above_the_limit_with_421);
    tcase_add_test(tc, test_max_connection_rate_is_an_exact_sliding_window);
    tcase_add_test(tc, test_refused_connections_do_not_use_up_the_rate);
    tcase_add_test(tc, test_max_connection_rate_interval_defaults_to_one_second);
    tcase_add_test(tc, test_max_connection_rate_per_host_counts_each_host_alone);
    tcase_add_test(tc, test_per_host_rate_survives_the_hosts_sessions_closing);
    tcase_add_test(tc,
                   test_max_connections_per_host_counts_unauthenticated_connections);
    tcase_add_test(
        tc, test_max_clients_per_class_counts_authenticated_sessions_of_the_class);
    tcase_add_test(tc, test_max_clients_per_host_counts_only_authenticated_sessions);
    tcase_add_test(tc, test_max_clients_per_network_aggregates_an_ipv4_24_by_default);
    tcase_add_test(tc, test_max_clients_per_network_aggregates_an_ipv6_64_by_default);
    tcase_add_test(
        tc, test_max_clients_per_network_takes_its_prefix_lengths_from_the_directive);
    tcase_add_test(tc, test_max_clients_per_user_counts_the_users_sessions_everywhere);
    tcase_add_test(tc, test_max_clients_counts_every_authenticated_session);
    tcase_add_test(tc, test_max_hosts_per_user_counts_distinct_hosts);
    tcase_add_test(tc, test_logout_undoes_a_login_exactly_and_a_pass_may_follow);
    tcase_add_test(tc, test_a_logged_out_session_logs_in_again);
    tcase_add_test(
        tc,
        test_max_login_attempts_defaults_to_three_and_the_third_failure_disconnects);
    tcase_add_test(tc, test_max_login_attempts_none_never_disconnects);
    tcase_add_test(tc, test_a_successful_login_after_failures_is_allowed);
    tcase_add_test(
        tc, test_anon_reject_passwords_rejects_matching_passwords_of_anonymous_users);
    tcase_add_test(tc, test_anon_reject_passwords_counts_as_a_failed_login_attempt);
    tcase_add_test(tc,
                   test_anon_reject_passwords_negated_rejects_only_what_does_not_match);
    tcase_add_test(tc, test_anon_reject_passwords_nc_ignores_case);
    tcase_add_test(
        tc, test_a_password_past_the_patterns_match_budget_is_refused_and_logged);
    tcase_add_test(tc, test_anonymous_users_may_be_renamed_and_count_as_one_user);
    tcase_add_test(tc,
                   test_anonymous_names_are_recognised_whatever_byte_they_start_with);
    tcase_add_test(
        tc, test_a_reload_between_user_and_pass_decides_by_the_new_anonymous_users);
    tcase_add_test(tc,
                   test_a_server_resolved_login_is_anonymous_by_the_servers_word_alone);
    tcase_add_test(tc,
                   test_every_name_mapped_to_one_anonymous_account_counts_as_one_user);
    tcase_add_test(tc, test_a_resolved_user_name_and_account_are_checked);
    tcase_add_test(
        tc, test_an_anonymous_password_checked_first_is_a_failed_attempt_when_rejected);
    tcase_add_test(tc, test_connect_checks_run_in_order_and_the_first_exceeded_wins);
    tcase_add_test(tc, test_login_checks_run_in_order_and_the_first_exceeded_wins);
    tcase_add_test(tc,
                   test_an_ipv4_mapped_address_is_the_same_host_as_the_ipv4_address);
    tcase_add_test(tc, test_long_user_and_class_names_are_never_cut);
    tcase_add_test(tc, test_a_refusal_at_connect_replies_421_for_every_connect_limit);
    tcase_add_test(tc, test_closing_releases_every_count_the_session_held);
    tcase_add_test(tc, test_messages_expand_every_sequence);
    tcase_add_test(tc, test_expanded_values_cannot_put_control_characters_in_a_reply);
    tcase_add_test(tc, test_a_very_long_message_is_cut_to_fit);
    tcase_add_test(tc, test_dry_run_decides_counts_and_events_but_refuses_nothing);
    tcase_add_test(tc, test_dry_run_still_rejects_a_bad_password);
    tcase_add_test(tc, test_operations_out_of_order_are_errors_not_decisions);
    tcase_add_test(tc, test_a_user_name_longer_than_the_limit_is_refused_as_invalid);
    tcase_add_test(tc, test_sessions_without_an_id_get_one_from_the_engine);
    tcase_add_test(tc, test_the_engines_ids_count_on_after_a_resumed_id_of_their_form);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(limits_suite()) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
