/*
 * check_tables.c - reload, the bounded host table, idle expiry, running out
 * of memory, and the keyed hash.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "engineutil.h"
#include "context.h"

#define SEC FL_USEC_PER_SEC

static tenv T;
static fl_decision D;

static void teardown(void)
{
    tenv_stop(&T);
}

/* --- reload ----------------------------------------------------------------- */

START_TEST(test_reload_keeps_every_count_and_session)
{
    tenv_start(&T, "MaxClientsPerHost 5\n<Class lan>\nFrom 10.0.0.0/8\n</Class>\n");
    t_login(&T, "a", "10.0.0.1", "alice", NULL);
    t_login(&T, "b", "10.0.0.1", "bob", NULL);
    t_connect(&T, "c", "10.0.0.2", NULL);
    ck_assert_int_eq(tenv_reload(&T, "MaxClientsPerHost 5\n"), 0);
    ck_assert_int_eq(host_clients(&T, "10.0.0.1"), 2);
    ck_assert_int_eq(host_conns(&T, "10.0.0.2"), 1);
    ck_assert_int_eq(user_clients(&T, "alice"), 1);
    ck_assert_int_eq(class_clients(&T, "lan"), 2);
    fl_totals tot;
    fl_engine_totals(T.e, &tot);
    ck_assert_int_eq(tot.sessions, 3);
    ck_assert_int_eq(tot.clients, 2);
}
END_TEST

START_TEST(test_a_lowered_limit_applies_to_new_decisions_and_ends_no_live_session)
{
    tenv_start(&T, "MaxClientsPerHost 5\n");
    t_login(&T, "a", "10.0.0.1", "u1", NULL);
    t_login(&T, "b", "10.0.0.1", "u2", NULL);
    t_login(&T, "c", "10.0.0.1", "u3", NULL);
    ck_assert_int_eq(tenv_reload(&T, "MaxClientsPerHost 1\n"), 0);
    ck_assert_ptr_nonnull(fl_session_find(T.e, "a"));
    ck_assert_ptr_nonnull(fl_session_find(T.e, "c"));
    ck_assert_int_eq(t_login(&T, "d", "10.0.0.1", "u4", &D), FL_DISCONNECT);
    ck_assert_int_eq(T.last_max, 1);
    ck_assert_int_eq(T.last_count, 4);
    t_close(&T, "a");
    t_close(&T, "b");
    t_close(&T, "c");
    ck_assert_int_eq(t_login(&T, "d", "10.0.0.1", "u4", NULL), FL_ALLOW);
}
END_TEST

START_TEST(test_a_raised_limit_lets_new_sessions_in_at_once)
{
    tenv_start(&T, "MaxClients 1\n");
    t_login(&T, "a", "10.0.0.1", "u1", NULL);
    ck_assert_int_eq(t_login(&T, "b", "10.0.0.2", "u2", NULL), FL_DISCONNECT);
    ck_assert_int_eq(tenv_reload(&T, "MaxClients 2\n"), 0);
    ck_assert_int_eq(t_login(&T, "b", "10.0.0.2", "u2", NULL), FL_ALLOW);
}
END_TEST

START_TEST(test_a_reload_that_fails_keeps_the_old_policy_and_says_why)
{
    tenv_start(&T, "MaxClients 1\n");
    t_login(&T, "a", "10.0.0.1", "u1", NULL);
    ck_assert_int_eq(tenv_reload(&T, "MaxClients 5\nMaxClient 3\n"), -1);
    ck_assert_ptr_nonnull(
        strstr(T.errors.text, "policy.conf:2: unknown directive 'MaxClient'"));
    ck_assert_int_eq(t_login(&T, "b", "10.0.0.2", "u2", &D), FL_DISCONNECT);
    ck_assert_str_eq(D.limit, "MaxClients");
    ck_assert_int_eq(T.last_max, 1);
}
END_TEST

START_TEST(test_reload_generates_restart_preparse_and_postparse)
{
    tenv_start(&T, "MaxClients 1\n");
    ck_assert_int_eq(tenv_reload(&T, "MaxClients 2\n"), 0);
    ck_assert_str_eq(T.events.text, "core.restart,core.preparse,core.postparse,");
    trail_reset(&T.events);
    ck_assert_int_eq(tenv_reload(&T, "Bogus\n"), -1);
    ck_assert_str_eq(T.events.text, "core.restart,core.preparse,");
}
END_TEST

START_TEST(test_reload_without_a_path_reads_the_same_file_again)
{
    tenv_start(&T, "MaxClients 1\n");
    free(write_file(T.dir, "policy.conf", "MaxClients 7\n"));
    ck_assert_int_eq(fl_engine_reload(T.e, NULL, NULL, NULL), 0);
    for (int i = 0; i < 7; i++) {
        char sid[8];
        snprintf(sid, sizeof sid, "s%d", i);
        ck_assert_int_eq(t_login(&T, sid, "10.0.0.1", sid, NULL), FL_ALLOW);
    }
    ck_assert_int_eq(t_login(&T, "x", "10.0.0.1", "x", NULL), FL_DISCONNECT);
}
END_TEST

START_TEST(test_a_rate_window_is_resized_by_a_reload_keeping_the_newest_connects)
{
    tenv_start(&T, "MaxConnectionRatePerHost 5 60\n");
    for (int i = 0; i < 4; i++) {
        char sid[8];
        snprintf(sid, sizeof sid, "s%d", i);
        ck_assert_int_eq(t_connect(&T, sid, "10.0.0.1", NULL), FL_ALLOW);
    }
    ck_assert_int_eq(tenv_reload(&T, "MaxConnectionRatePerHost 2 60\n"), 0);
    ck_assert_int_eq(t_connect(&T, "x", "10.0.0.1", &D), FL_DISCONNECT);
    ck_assert_int_eq(T.last_count, 3); /* two remembered, this one is the third */
}
END_TEST

/* Reload the policy file with the nth allocation from now failing; *rc is
 * the reload's result. False when there were fewer than n allocations. */
static bool reload_failing_allocation(long n, int *rc)
{
    fl_fault_fail_alloc_at(n);
    *rc = fl_engine_reload(T.e, NULL, NULL, NULL);
    bool fired = fl_fault_fired();
    fl_fault_fail_alloc_at(0);
    return fired;
}

/* n connects from addr, sids prefix0..; the verdict of the last. */
static fl_verdict connects(const char *prefix, const char *addr, int n)
{
    fl_verdict v = FL_ALLOW;
    for (int i = 0; i < n; i++) {
        char sid[32];
        snprintf(sid, sizeof sid, "%s%d", prefix, i);
        v = t_connect(&T, sid, addr, &D);
    }
    return v;
}

START_TEST(test_a_rate_window_grows_with_a_reload_past_the_room_a_host_keeps_for_it)
{
    tenv_start(&T, "MaxConnectionRatePerHost 3 60\n");
    ck_assert_int_eq(connects("a", "10.0.0.1", 3), FL_ALLOW);
    ck_assert_int_eq(connects("a3-", "10.0.0.1", 1), FL_DISCONNECT);
    ck_assert_int_eq(tenv_reload(&T, "MaxConnectionRatePerHost 100 60\n"), 0);
    ck_assert_int_eq(connects("b", "10.0.0.1", 97), FL_ALLOW);
    ck_assert_int_eq(connects("b97-", "10.0.0.1", 1), FL_DISCONNECT);
    ck_assert_int_eq(T.last_count, 101);
    /* A host new under the larger count. */
    ck_assert_int_eq(connects("n", "10.0.0.2", 100), FL_ALLOW);
    ck_assert_int_eq(connects("n100-", "10.0.0.2", 1), FL_DISCONNECT);
    T.clock.now += 60 * SEC;
    ck_assert_int_eq(connects("d", "10.0.0.1", 100), FL_ALLOW);
    ck_assert_int_eq(connects("e", "10.0.0.2", 100), FL_ALLOW);
}
END_TEST

/* Clients counted in the network of addr under the policy in force. */
static long long network_clients(const char *addr)
{
    fl_addr a;
    fl_counts c;
    ck_assert_int_eq(fl_addr_parse(addr, &a), 0);
    return fl_count_network(T.e, &a, &c) == 0 ? c.clients : -1;
}

START_TEST(test_a_reload_that_changes_the_network_prefix_counts_every_client_again)
{
    tenv_start(&T, "MaxClientsPerNetwork 10 24 64\n");
    t_login(&T, "a", "10.0.1.1", "u1", NULL);
    t_login(&T, "b", "10.0.2.1", "u2", NULL);
    t_login(&T, "v", "2001:db8:0:1::1", "u3", NULL);
    t_connect(&T, "n", "10.0.5.1", NULL); /* not a client: counts nowhere */
    ck_assert_int_eq(network_clients("10.0.1.9"), 1);
    ck_assert_int_eq(network_clients("10.0.2.9"), 1);
    /* As ProFTPD counts from its scoreboard at every login, the new prefix
     * lengths apply to the clients already in. */
    ck_assert_int_eq(tenv_reload(&T, "MaxClientsPerNetwork 3 16 48\n"), 0);
    ck_assert_int_eq(network_clients("10.0.200.1"), 2);
    ck_assert_int_eq(network_clients("2001:db8:0:2::1"), 1);
    ck_assert_int_eq(t_login(&T, "c", "10.0.3.1", "u4", NULL), FL_ALLOW);
    ck_assert_int_eq(t_login(&T, "d", "10.0.4.1", "u5", &D), FL_DISCONNECT);
    ck_assert_str_eq(D.limit, "MaxClientsPerNetwork");
    ck_assert_int_eq(T.last_count, 4);
    t_close(&T, "a");
    ck_assert_int_eq(t_login(&T, "d", "10.0.4.1", "u5", NULL), FL_ALLOW);
    ck_assert_int_eq(t_login(&T, "n2", "10.0.1.1", "u1", NULL), FL_DISCONNECT);
    ck_assert_int_eq(t_user(&T, "n", "u6", NULL), FL_ALLOW);
    ck_assert_int_eq(t_pass(&T, "n", true, NULL, NULL), FL_DISCONNECT);
    /* Back to the old lengths: the /24s hold what they held. */
    ck_assert_int_eq(tenv_reload(&T, "MaxClientsPerNetwork 10 24 64\n"), 0);
    ck_assert_int_eq(network_clients("10.0.2.9"), 1);
    ck_assert_int_eq(network_clients("10.0.3.9"), 1);
    ck_assert_int_eq(network_clients("10.0.1.9"), -1);
    t_close(&T, "b");
    t_close(&T, "c");
    t_close(&T, "d");
    t_close(&T, "v");
    fl_totals tot;
    fl_engine_totals(T.e, &tot);
    ck_assert_int_eq(tot.networks, 0);
    ck_assert_int_eq(tot.clients, 0);
}
END_TEST

START_TEST(
    test_running_out_of_memory_while_counting_networks_again_keeps_the_old_policy)
{
    tenv_start(&T, "MaxClientsPerNetwork 10 24 64\n");
    char sid[16], addr[32], user[16];
    for (int i = 0; i < 40; i++) {
        snprintf(sid, sizeof sid, "s%d", i);
        snprintf(addr, sizeof addr, "10.%d.1.1", i);
        snprintf(user, sizeof user, "u%d", i);
        ck_assert_int_eq(t_login(&T, sid, addr, user, NULL), FL_ALLOW);
    }
    free(write_file(T.dir, "policy.conf", "MaxClientsPerNetwork 10 16 64\n"));
    long n;
    for (n = 1;; n++) {
        int rc;
        if (!reload_failing_allocation(n, &rc)) {
            ck_assert_int_eq(rc, 0);
            break;
        }
        if (rc == 0) {
            /* What failed was a bucket array's doubling, which a table does
             * without: the /16s are in, every client counted. Back to the
             * /24s for the next try. */
            ck_assert_int_eq(network_clients("10.1.200.9"), 1);
            free(write_file(T.dir, "policy.conf", "MaxClientsPerNetwork 10 24 64\n"));
            ck_assert_int_eq(fl_engine_reload(T.e, NULL, NULL, NULL), 0);
            free(write_file(T.dir, "policy.conf", "MaxClientsPerNetwork 10 16 64\n"));
            continue;
        }
        /* Still the /24s. */
        ck_assert_int_eq(network_clients("10.1.1.9"), 1);
        ck_assert_int_eq(network_clients("10.1.200.9"), -1);
    }
    ck_assert_int_gt(n, 40); /* a network each, and the policy's allocations */
    ck_assert_int_eq(network_clients("10.1.200.9"), 1);
    ck_assert_int_eq(network_clients("10.1.1.9"), 1);
    fl_totals tot;
    fl_engine_totals(T.e, &tot);
    ck_assert_int_eq(tot.networks, 40);
}
END_TEST

/* --- the bounded host table ------------------------------------------------ */

START_TEST(test_a_full_table_refuses_new_hosts_with_421_and_an_event)
{
    tenv_start(&T, "MaxTrackedHosts 2\n");
    ck_assert_int_eq(t_connect(&T, "a", "10.0.0.1", NULL), FL_ALLOW);
    ck_assert_int_eq(t_connect(&T, "b", "10.0.0.2", NULL), FL_ALLOW);
    ck_assert_int_eq(t_connect(&T, "c", "10.0.0.3", &D), FL_DISCONNECT);
    ck_assert_int_eq(D.code, 421);
    ck_assert_str_eq(D.limit, "MaxTrackedHosts");
    ck_assert_ptr_nonnull(strstr(T.events.text, "ftplimit.table-full(c),core.exit(c)"));
    /* Known hosts still get in; live entries are never evicted. */
    ck_assert_int_eq(t_connect(&T, "a2", "10.0.0.1", NULL), FL_ALLOW);
    ck_assert_int_eq(host_conns(&T, "10.0.0.2"), 1);
    t_close(&T, "b");
    ck_assert_int_eq(t_connect(&T, "c", "10.0.0.3", NULL), FL_ALLOW);
}
END_TEST

START_TEST(test_a_full_table_evicts_idle_rate_state_oldest_first)
{
    tenv_start(&T, "MaxTrackedHosts 3\nMaxConnectionRatePerHost 1 3600\n");
    t_connect(&T, "a", "10.0.0.1", NULL);
    T.clock.now += SEC;
    t_connect(&T, "b", "10.0.0.2", NULL);
    T.clock.now += SEC;
    t_connect(&T, "c", "10.0.0.3", NULL);
    t_close(&T, "b"); /* idle first */
    t_close(&T, "a");
    fl_totals tot;
    fl_engine_totals(T.e, &tot);
    ck_assert_int_eq(tot.hosts, 3);
    ck_assert_int_eq(tot.idle_hosts, 2);
    /* A new host takes the place of the host that went idle first. */
    ck_assert_int_eq(t_connect(&T, "d", "10.0.0.4", NULL), FL_ALLOW);
    ck_assert_int_eq(host_conns(&T, "10.0.0.2"), -1);
    ck_assert_int_eq(host_conns(&T, "10.0.0.1"), 0);
    fl_engine_totals(T.e, &tot);
    ck_assert_int_eq(tot.evictions, 1);
    /* The evicted host's rate is forgotten; the kept one's still counts. */
    ck_assert_int_eq(t_connect(&T, "b", "10.0.0.2", NULL), FL_ALLOW);
    ck_assert_int_eq(host_conns(&T, "10.0.0.1"), -1); /* evicted in turn */
}
END_TEST

START_TEST(test_idle_rate_state_expires_through_the_engine_timers)
{
    tenv_start(&T, "MaxConnectionRatePerHost 2 10\n");
    t_connect(&T, "a", "10.0.0.1", NULL);
    t_close(&T, "a");
    ck_assert_int_eq(host_conns(&T, "10.0.0.1"), 0);
    ck_assert_int_eq(fl_timers_count(T.e), 1);
    T.clock.now += 9 * SEC;
    fl_timers_run(T.e);
    ck_assert_int_eq(host_conns(&T, "10.0.0.1"), 0);
    T.clock.now += SEC;
    fl_timers_run(T.e);
    ck_assert_int_eq(host_conns(&T, "10.0.0.1"), -1);
    ck_assert_int_eq(fl_timers_count(T.e), 0);
}
END_TEST

START_TEST(test_hosts_without_rate_state_are_freed_with_their_last_session)
{
    tenv_start(&T, "MaxClientsPerHost 3\n");
    t_connect(&T, "a", "10.0.0.1", NULL);
    t_close(&T, "a");
    ck_assert_int_eq(host_conns(&T, "10.0.0.1"), -1);
    ck_assert_int_eq(fl_timers_count(T.e), 0);
}
END_TEST

/* --- out of memory --------------------------------------------------------- */

/* No live entry left (hosts may stay idle for their rate window). */
static void assert_tables_empty(fl_engine *e)
{
    fl_totals tot;
    fl_engine_totals(e, &tot);
    ck_assert_int_eq(tot.sessions, 0);
    ck_assert_int_eq(tot.clients, 0);
    ck_assert_int_eq(tot.hosts - tot.idle_hosts, 0);
    ck_assert_int_eq(tot.users, 0);
    ck_assert_int_eq(tot.classes, 0);
    ck_assert_int_eq(tot.networks, 0);
}

/* One full lifecycle with the nth allocation failing: true if it fired. */
static bool lifecycle_with_failure(long n)
{
    fl_session *s = NULL;
    fl_connect_info ci = {.sid = "s"};
    fl_addr_parse("10.0.0.1", &ci.addr);

    T.clock.now += SEC; /* keep clear of the rate limits */
    fl_fault_fail_alloc_at(n);
    int rc = fl_connect(T.e, &ci, &s, &D);
    ck_assert_int_eq(rc, 0);
    if (s == NULL) {
        ck_assert_int_eq(D.code, 421);
        ck_assert(strcmp(D.limit, "OutOfMemory") == 0 ||
                  strcmp(D.limit, "MaxTrackedHosts") == 0);
    } else if (fl_user(T.e, s, "alice", &D) < 0) {
        ck_assert_int_eq(errno, ENOMEM);
        fl_close(T.e, s);
    } else {
        ck_assert_int_eq(fl_pass(T.e, s, true, "pw", &D), 0);
        if (D.verdict == FL_ALLOW) {
            ck_assert_int_eq(host_clients(&T, "10.0.0.1"), 1);
            ck_assert_int_eq(user_clients(&T, "alice"), 1);
            fl_close(T.e, s);
        } else {
            ck_assert_int_eq(D.verdict, FL_DISCONNECT);
            ck_assert_str_eq(D.limit, "OutOfMemory");
        }
    }
    bool fired = fl_fault_fired();
    fl_fault_fail_alloc_at(0);
    assert_tables_empty(T.e);
    return fired;
}

START_TEST(test_running_out_of_memory_anywhere_in_a_session_refuses_it_cleanly)
{
    tenv_start(&T, "<Class lan>\nFrom all\n</Class>\nMaxConnectionRate 10\n"
                   "MaxConnectionRatePerHost 5 1\nMaxClientsPerNetwork 10\n");
    long n = 1;
    while (lifecycle_with_failure(n))
        n++;
    ck_assert_int_gt(n, 8); /* the lifecycle does allocate that much */
    /* And the engine still works. */
    T.clock.now += 10 * SEC;
    ck_assert_int_eq(t_login(&T, "ok", "10.0.0.1", "alice", NULL), FL_ALLOW);
}
END_TEST

/* A user's first pair is held in its entry, the others in a table: the
 * counts must not care which one a host got, nor in what order they go. */
static void assert_pairs(long long alice, size_t total)
{
    fl_totals tot;
    fl_engine_totals(T.e, &tot);
    ck_assert_int_eq(user_hosts(&T, "alice"), alice);
    ck_assert_uint_eq(tot.user_hosts, total);
}

START_TEST(test_a_users_hosts_are_counted_whichever_went_first)
{
    tenv_start(&T, "MaxHostsPerUser 3\n");
    ck_assert_int_eq(t_login(&T, "a1", "10.0.0.1", "alice", NULL), FL_ALLOW);
    ck_assert_int_eq(t_login(&T, "b1", "10.0.0.2", "alice", NULL), FL_ALLOW);
    ck_assert_int_eq(t_login(&T, "x1", "10.0.0.3", "alice", NULL), FL_ALLOW);
    ck_assert_int_eq(t_login(&T, "z1", "10.0.0.2", "bob", NULL), FL_ALLOW);
    assert_pairs(3, 4);
    /* The first host leaves; its place in alice's entry is free. */
    t_close(&T, "a1");
    assert_pairs(2, 3);
    ck_assert_int_eq(t_login(&T, "b2", "10.0.0.2", "alice", NULL), FL_ALLOW);
    assert_pairs(2, 3);
    ck_assert_int_eq(t_login(&T, "d1", "10.0.0.4", "alice", NULL), FL_ALLOW);
    assert_pairs(3, 4);
    ck_assert_int_eq(t_login(&T, "e1", "10.0.0.5", "alice", &D), FL_DISCONNECT);
    ck_assert_str_eq(D.limit, "MaxHostsPerUser");
    /* A host with two sessions of alice's stays hers until both are gone. */
    t_close(&T, "b1");
    assert_pairs(3, 4);
    t_close(&T, "b2");
    assert_pairs(2, 3);
    ck_assert_int_eq(t_login(&T, "e1", "10.0.0.5", "alice", NULL), FL_ALLOW);
    assert_pairs(3, 4);
    t_close(&T, "x1");
    t_close(&T, "d1");
    t_close(&T, "e1");
    assert_pairs(-1, 1); /* alice's entry is gone; bob's pair stays */
    t_close(&T, "z1");
    assert_pairs(-1, 0);
}
END_TEST

START_TEST(test_running_out_of_memory_for_a_users_second_host_refuses_that_login_only)
{
    tenv_start(&T, "MaxHostsPerUser 3\n");
    ck_assert_int_eq(t_login(&T, "a", "10.0.0.1", "alice", NULL), FL_ALLOW);
    ck_assert_int_eq(t_connect(&T, "b", "10.0.0.2", NULL), FL_ALLOW);
    ck_assert_int_eq(t_user(&T, "b", "alice", NULL), FL_ALLOW);
    fl_session *s = fl_session_find(T.e, "b");
    long n = 1;
    for (;; n++) {
        fl_fault_fail_alloc_at(n);
        ck_assert_int_eq(fl_pass(T.e, s, true, NULL, &D), 0);
        bool fired = fl_fault_fired();
        fl_fault_fail_alloc_at(0);
        if (!fired)
            break;
        ck_assert_int_eq(D.verdict, FL_DISCONNECT);
        ck_assert_str_eq(D.limit, "OutOfMemory");
        assert_pairs(1, 1);
        ck_assert_int_eq(user_clients(&T, "alice"), 1);
        ck_assert_int_eq(host_conns(&T, "10.0.0.2"), -1);
        ck_assert_int_eq(t_connect(&T, "b", "10.0.0.2", NULL), FL_ALLOW);
        ck_assert_int_eq(t_user(&T, "b", "alice", NULL), FL_ALLOW);
        s = fl_session_find(T.e, "b");
    }
    ck_assert_int_gt(n, 1); /* the pair's allocation did fail once */
    ck_assert_int_eq(D.verdict, FL_ALLOW);
    assert_pairs(2, 2);
    t_close(&T, "a");
    t_close(&T, "b");
    assert_tables_empty(T.e);
}
END_TEST

START_TEST(test_running_out_of_memory_while_parsing_fails_the_load_cleanly)
{
    char *dir = tmpdir_new();
    char *path =
        write_file(dir, "p.conf",
                   "MaxClients 5 \"full\"\n<Class a>\nFrom 10.0.0.0/8 x.example.com\n"
                   "</Class>\nMaxClientsPerClass a 3\nAnonRejectPasswords ^x\n"
                   "AnonymousUsers a b c\n");
    for (long n = 1;; n++) {
        fl_engine *e = fl_engine_new(NULL);
        ck_assert_ptr_nonnull(e);
        fl_fault_fail_alloc_at(n);
        int rc = fl_engine_load(e, path, NULL, NULL);
        bool fired = fl_fault_fired();
        fl_fault_fail_alloc_at(0);
        fl_engine_free(e);
        if (!fired) {
            ck_assert_int_eq(rc, 0);
            break;
        }
    }
    free(path);
    tmpdir_free(dir);
    tenv_start(&T, NULL);
}
END_TEST

START_TEST(test_running_out_of_memory_during_a_reload_keeps_the_old_policy)
{
    tenv_start(&T, "MaxClients 1\n");
    free(write_file(T.dir, "policy.conf",
                    "MaxClients 2 \"two\"\n<Class a>\nFrom all\n</Class>\n"));
    long n;
    for (n = 1;; n++) {
        int rc;
        if (!reload_failing_allocation(n, &rc)) {
            ck_assert_int_eq(rc, 0);
            break;
        }
        if (rc == 0) { /* the failed allocation was not the policy's: go back */
            free(write_file(T.dir, "policy.conf", "MaxClients 1\n"));
            ck_assert_int_eq(fl_engine_reload(T.e, NULL, NULL, NULL), 0);
            free(write_file(T.dir, "policy.conf",
                            "MaxClients 2 \"two\"\n<Class a>\nFrom all\n</Class>\n"));
            continue;
        }
        /* The old policy is in force: one client only. */
        t_login(&T, "a", "10.0.0.1", "u", NULL);
        ck_assert_int_eq(t_login(&T, "b", "10.0.0.2", "v", NULL), FL_DISCONNECT);
        t_close(&T, "a");
    }
    ck_assert_int_gt(n, 3);
    t_login(&T, "a", "10.0.0.1", "u", NULL);
    ck_assert_int_eq(t_login(&T, "b", "10.0.0.2", "v", NULL), FL_ALLOW);
}
END_TEST

START_TEST(test_creating_an_engine_out_of_memory_fails_cleanly)
{
    for (long n = 1;; n++) {
        fl_fault_fail_alloc_at(n);
        fl_engine *e = fl_engine_new(NULL);
        bool fired = fl_fault_fired();
        fl_fault_fail_alloc_at(0);
        if (!fired) {
            ck_assert_ptr_nonnull(e);
            fl_engine_free(e);
            break;
        }
        ck_assert_ptr_null(e);
    }
    tenv_start(&T, NULL);
}
END_TEST

/* --- the keyed hash -------------------------------------------------------- */

START_TEST(test_the_table_hash_is_keyed)
{
    fl_hash_key k1 = {1, 2}, k2 = {3, 4};
    const char *name = "alice";
    ck_assert_uint_eq(fl_hash(&k1, name, 5), fl_hash(&k1, name, 5));
    ck_assert_uint_ne(fl_hash(&k1, name, 5), fl_hash(&k2, name, 5));
    fl_hash_key r1, r2;
    ck_assert_int_eq(fl_hash_key_random(&r1), 0);
    ck_assert_int_eq(fl_hash_key_random(&r2), 0);
    ck_assert(r1.k0 != r2.k0 || r1.k1 != r2.k1);
    tenv_start(&T, NULL);
}
END_TEST

START_TEST(test_siphash_matches_the_reference_test_vectors)
{
    /* Key 00..0f, message 00..len-1: SipHash-2-4 reference outputs from the
     * SipHash paper's siphash24.c. fl_siphash13 runs the same code with one
     * compression and three finalisation rounds. */
    uint8_t seed[16], msg[64];
    for (int i = 0; i < 16; i++)
        seed[i] = (uint8_t)i;
    for (int i = 0; i < 64; i++)
        msg[i] = (uint8_t)i;
    fl_hash_key k;
    fl_hash_key_from_bytes(&k, seed);
    ck_assert_uint_eq(fl_siphash24(&k, msg, 0), 0x726fdb47dd0e0e31ULL);
    ck_assert_uint_eq(fl_siphash24(&k, msg, 1), 0x74f839c593dc67fdULL);
    ck_assert_uint_eq(fl_siphash24(&k, msg, 7), 0xab0200f58b01d137ULL);
    ck_assert_uint_eq(fl_siphash24(&k, msg, 8), 0x93f5f5799a932462ULL);
    ck_assert_uint_eq(fl_siphash24(&k, msg, 15), 0xa129ca6149be45e5ULL);
    ck_assert_uint_eq(fl_siphash24(&k, msg, 63), 0x958a324ceb064572ULL);
    ck_assert_uint_ne(fl_siphash13(&k, msg, 15), fl_siphash24(&k, msg, 15));
    tenv_start(&T, NULL);
}
END_TEST

START_TEST(test_user_names_crafted_to_collide_under_jenkins_spread_over_the_buckets)
{
    /* 1000 names whose unkeyed Jenkins hashes agree in their low 12 bits:
     * in a uthash with the default hash they would all share one bucket. */
    enum { N = 1000 };
    static char names[N][16];
    int found = 0;
    for (unsigned i = 0; found < N; i++) {
        char cand[16];
        snprintf(cand, sizeof cand, "u%u", i);
        unsigned hv;
        HASH_JEN(cand, strlen(cand), hv);
        if ((hv & 0xfff) == 0)
            memcpy(names[found++], cand, sizeof cand);
    }
    tenv_start(&T, NULL);
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(t_login(&T, names[i], "10.0.0.1", names[i], NULL), FL_ALLOW);

    UT_hash_table *tbl = T.e->t.counts[0]->users->hh.tbl;
    unsigned longest = 0;
    for (unsigned b = 0; b < tbl->num_buckets; b++)
        if (tbl->buckets[b].count > longest)
            longest = tbl->buckets[b].count;
    ck_assert_uint_eq(tbl->num_items, N);
    ck_assert_uint_eq(tbl->noexpand, 0);
    ck_assert_uint_le(longest, 16);
}
END_TEST

/* Random keys leave a share exp(-load) of the buckets empty, and no chain
 * much longer than the load. */
static void assert_spread_as_random_keys(const UT_hash_table *tbl, unsigned n)
{
    unsigned longest = 0, empty = 0;
    for (unsigned b = 0; b < tbl->num_buckets; b++) {
        if (tbl->buckets[b].count > longest)
            longest = tbl->buckets[b].count;
        empty += tbl->buckets[b].count == 0;
    }
    ck_assert_uint_eq(tbl->num_items, n);
    ck_assert_uint_eq(tbl->noexpand, 0);
    double load = (double)n / tbl->num_buckets;
    double share = (double)empty / tbl->num_buckets;
    ck_assert_msg(share > exp(-load) - 0.02 && share < exp(-load) + 0.02,
                  "%.3f of the buckets empty at load %.2f", share, load);
    ck_assert_uint_le(longest, 4 * load + 8);
}

/* An IPv4 host is hashed by its four bytes alone (fl_host_hash): hosts of
 * one /16, and of one IPv6 /64, still spread as random keys do, and an
 * IPv4 address and an IPv6 one ending in the same four bytes are two hosts. */
START_TEST(test_ipv4_and_ipv6_hosts_spread_over_the_buckets_as_random_keys_do)
{
    enum { N = 20000 };
    tenv_start(&T, NULL);
    char addr[64];
    for (int i = 0; i < N; i++) {
        snprintf(addr, sizeof addr, "10.1.%d.%d", i / 250, i % 250 + 1);
        ck_assert_int_eq(t_connect(&T, NULL, addr, NULL), FL_ALLOW);
    }
    assert_spread_as_random_keys(T.e->t.counts[0]->hosts->hh.tbl, N);
    for (int i = 0; i < N; i++) {
        snprintf(addr, sizeof addr, "2001:db8::%x:%x", i / 250, i % 250 + 1);
        ck_assert_int_eq(t_connect(&T, NULL, addr, NULL), FL_ALLOW);
    }
    assert_spread_as_random_keys(T.e->t.counts[0]->hosts->hh.tbl, 2 * N);

    fl_counts c;
    fl_addr v4, v6, mapped;
    ck_assert_int_eq(fl_addr_parse("10.1.0.1", &v4), 0);
    ck_assert_int_eq(fl_addr_parse("::10.1.0.1", &v6), 0);
    ck_assert_int_eq(fl_addr_parse("::ffff:10.1.0.1", &mapped), 0);
    ck_assert_int_eq(fl_count_host(T.e, &v6, &c), -1);
    ck_assert_int_eq(t_connect(&T, NULL, "::10.1.0.1", NULL), FL_ALLOW);
    ck_assert_int_eq(fl_count_host(T.e, &v6, &c), 0);
    ck_assert_int_eq(c.conns, 1);
    ck_assert_int_eq(fl_count_host(T.e, &v4, &c), 0);
    ck_assert_int_eq(c.conns, 1);
    ck_assert_int_eq(fl_count_host(T.e, &mapped, &c), 0);
    ck_assert_int_eq(c.conns, 1);
}
END_TEST

/* The engine's own ids are hashed by their number (fl_hash_number), not
 * with SipHash: consecutive numbers must still spread as random keys do,
 * and where they go must depend on the key. */
START_TEST(test_the_engines_own_ids_spread_over_the_buckets_as_random_keys_do)
{
    enum { N = 40000 };
    tenv_start(&T, NULL);
    fl_connect_info ci = {.sid = NULL};
    for (int i = 0; i < N; i++) {
        fl_session *s;
        char addr[32];
        snprintf(addr, sizeof addr, "10.0.%d.%d", i / 250 % 250, i % 250 + 1);
        ck_assert_int_eq(fl_addr_parse(addr, &ci.addr), 0);
        ck_assert_int_eq(fl_connect(T.e, &ci, &s, &D), 0);
        ck_assert_ptr_nonnull(s);
    }
    ck_assert_ptr_nonnull(fl_session_find(T.e, "c1"));
    ck_assert_ptr_nonnull(fl_session_find(T.e, "c40000"));
    assert_spread_as_random_keys(T.e->t.sessions->hh.tbl, N);

    fl_hash_key k1 = {1, 2}, k2 = {3, 4};
    unsigned same = 0;
    for (uint64_t n = 1; n <= 1000; n++)
        same += (fl_hash_number(&k1, n) & 0xfff) == (fl_hash_number(&k2, n) & 0xfff);
    ck_assert_uint_lt(same, 10);
}
END_TEST

/* Closed sessions' blocks wait for the next sessions, a bounded number of
 * them, and a block taken again carries nothing of its last session. */
START_TEST(test_freed_session_blocks_are_reused_up_to_a_bound_and_start_clean)
{
    tenv_start(&T, "MaxLoginAttempts 5\n<Class lan>\nFrom 10.0.0.0/8\n</Class>\n");
    char sid[64];
    for (int i = 0; i < 100; i++) {
        snprintf(sid, sizeof sid, "s%d", i);
        ck_assert_int_eq(t_login(&T, sid, "10.0.0.1", "alice", NULL), FL_ALLOW);
    }
    /* Ids too long for a block of the usual size have blocks of their own. */
    for (int i = 0; i < 5; i++) {
        snprintf(sid, sizeof sid, "long-session-id-%d-%040d", i, i);
        ck_assert_int_eq(t_connect(&T, sid, "10.0.0.2", NULL), FL_ALLOW);
        ck_assert_int_eq(t_user(&T, sid, "bob", NULL), FL_ALLOW);
        ck_assert_int_eq(t_pass(&T, sid, false, NULL, NULL), FL_REJECT);
    }
    /* ... which go back to malloc, never to the blocks kept. */
    for (int i = 0; i < 5; i++) {
        snprintf(sid, sizeof sid, "long-session-id-%d-%040d", i, i);
        t_close(&T, sid);
    }
    ck_assert_uint_eq(T.e->t.session_blocks.n, 0);
    for (int i = 0; i < 100; i++) {
        snprintf(sid, sizeof sid, "s%d", i);
        t_close(&T, sid);
    }
    ck_assert_uint_eq(T.e->t.session_blocks.n, 64);

    fl_connect_info ci = {.sid = NULL};
    ck_assert_int_eq(fl_addr_parse("192.0.2.1", &ci.addr), 0);
    for (int i = 0; i < 10; i++) {
        fl_session *s;
        ck_assert_int_eq(fl_connect(T.e, &ci, &s, &D), 0);
        ck_assert_ptr_nonnull(s);
        ck_assert(!fl_session_authenticated(s));
        ck_assert_ptr_null(fl_session_user(s));
        ck_assert_ptr_null(fl_session_class(s));
        ck_assert_int_eq(fl_session_failed_logins(s), 0);
        ck_assert_ptr_eq(fl_session_find(T.e, fl_session_id(s)), s);
    }
    ck_assert_uint_eq(T.e->t.session_blocks.n, 54);

    /* USER names: up to 28 bytes in blocks kept, longer ones on their own;
     * a second USER, a failed and a good PASS, a logout and a close each
     * free or keep the right one. */
    static const int lengths[] = {1, 27, 28, 29, 30, 200, FL_USER_MAX};
    char name[FL_USER_MAX + 1];
    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
        snprintf(sid, sizeof sid, "n%zu", i);
        memset(name, 'a' + (int)i, (size_t)lengths[i]);
        name[lengths[i]] = '\0';
        ck_assert_int_eq(t_connect(&T, sid, "10.0.0.3", NULL), FL_ALLOW);
        ck_assert_int_eq(t_user(&T, sid, "first", NULL), FL_ALLOW);
        ck_assert_int_eq(t_user(&T, sid, name, NULL), FL_ALLOW);
        ck_assert_str_eq(fl_session_user(fl_session_find(T.e, sid)), name);
        ck_assert_int_eq(t_pass(&T, sid, false, NULL, NULL), FL_REJECT);
        ck_assert_int_eq(t_pass(&T, sid, true, NULL, NULL), FL_ALLOW);
        ck_assert_int_eq(user_clients(&T, name), 1);
        ck_assert_int_eq(fl_logout(T.e, fl_session_find(T.e, sid)), 0);
        ck_assert_str_eq(fl_session_user(fl_session_find(T.e, sid)), name);
        if (i % 2 == 0)
            ck_assert_int_eq(t_pass(&T, sid, true, NULL, NULL), FL_ALLOW);
        t_close(&T, sid);
        ck_assert_int_eq(user_clients(&T, name), -1);
    }
    ck_assert_uint_ge(T.e->t.login_blocks.n, 1);
    ck_assert_uint_le(T.e->t.login_blocks.n, 64);
    /* The teardown's fl_engine_free frees the blocks kept: the valgrind and
     * sanitizer runs of this suite report any leak. */
}
END_TEST

/* --- how full the tables get ---------------------------------------------- */

static unsigned buckets_of(const UT_hash_handle *hh)
{
    return hh != NULL ? hh->tbl->num_buckets : 0;
}

static void login_many(int from, int to)
{
    for (int i = from; i < to; i++) {
        char sid[16], addr[32], user[16];
        snprintf(sid, sizeof sid, "s%d", i);
        snprintf(addr, sizeof addr, "10.%d.%d.1", i / 256 % 256, i % 256);
        snprintf(user, sizeof user, "u%d", i);
        ck_assert_int_eq(t_login(&T, sid, addr, user, NULL), FL_ALLOW);
    }
}

START_TEST(test_lookup_tables_keep_their_load_below_what_they_are_set_to)
{
    enum { N = 3000 };
    tenv_start(&T, "MaxClientsPerNetwork 100000 24 64\n");
    login_many(0, N);
    /* Each user from a second host: those pairs are in the pairs table. */
    for (int i = 0; i < N; i++) {
        char sid[16], addr[32], user[16];
        snprintf(sid, sizeof sid, "t%d", i);
        snprintf(addr, sizeof addr, "10.%d.%d.2", i / 256 % 256, i % 256);
        snprintf(user, sizeof user, "u%d", i);
        ck_assert_int_eq(t_login(&T, sid, addr, user, NULL), FL_ALLOW);
    }
    const struct fl_tables *t = &T.e->t;
    ck_assert_uint_eq(HASH_COUNT(t->counts[0]->user_hosts), N);
    /* Searched at each decision: no more entries than half the buckets
     * (2N hosts, N users), and no fewer than a quarter. */
    ck_assert_uint_ge(buckets_of(&t->counts[0]->hosts->hh), 4 * N);
    ck_assert_uint_lt(buckets_of(&t->counts[0]->hosts->hh), 8 * N);
    ck_assert_uint_ge(buckets_of(&t->counts[0]->users->hh), 2 * N);
    ck_assert_uint_lt(buckets_of(&t->counts[0]->users->hh), 4 * N);
    /* Searched at some logins: no more entries than buckets. */
    ck_assert_uint_ge(buckets_of(&t->counts[0]->user_hosts->hh), N);
    ck_assert_uint_lt(buckets_of(&t->counts[0]->user_hosts->hh), 2 * N);
    ck_assert_uint_ge(buckets_of(&t->counts[0]->networks->hh),
                      HASH_COUNT(t->counts[0]->networks));
    /* Reached by pointer: up to two sessions per bucket. */
    ck_assert_uint_ge(2 * buckets_of(&t->sessions->hh), 2 * N);
    ck_assert_uint_lt(buckets_of(&t->sessions->hh), 2 * N);
}
END_TEST

START_TEST(test_churn_at_a_steady_count_does_not_grow_the_tables)
{
    enum { N = 2000, ROUNDS = 20 };
    tenv_start(&T, NULL);
    login_many(0, N);
    const struct fl_tables *t = &T.e->t;
    unsigned sessions = buckets_of(&t->sessions->hh),
             hosts = buckets_of(&t->counts[0]->hosts->hh);
    unsigned users = buckets_of(&t->counts[0]->users->hh);
    /* Close and open every session again, many times over. */
    for (int r = 1; r <= ROUNDS; r++)
        for (int i = 0; i < N; i++) {
            char sid[16];
            snprintf(sid, sizeof sid, "s%d", i);
            t_close(&T, sid);
            login_many(i, i + 1);
        }
    ck_assert_uint_eq(HASH_COUNT(t->sessions), N);
    ck_assert_uint_eq(buckets_of(&t->sessions->hh), sessions);
    ck_assert_uint_eq(buckets_of(&t->counts[0]->hosts->hh), hosts);
    ck_assert_uint_eq(buckets_of(&t->counts[0]->users->hh), users);
}
END_TEST

/* More entries than a table searched at login is set to hold. */
static bool overfull(const UT_hash_handle *hh, unsigned load)
{
    return hh != NULL && FL_TABLE_OVER_LOAD(hh->tbl, load);
}

static bool any_overfull(void)
{
    const struct fl_tables *t = &T.e->t;
    return overfull(&t->counts[0]->hosts->hh, FL_HOT_LOAD) ||
           overfull(&t->counts[0]->users->hh, FL_HOT_LOAD) ||
           (t->counts[0]->user_hosts != NULL &&
            overfull(&t->counts[0]->user_hosts->hh, FL_LOOKUP_LOAD));
}

START_TEST(test_a_table_that_cannot_double_for_want_of_memory_still_takes_the_entry)
{
    tenv_start(&T, NULL);
    login_many(0, 32); /* the hosts and users tables at their load: a 33rd doubles */
    ck_assert(!any_overfull());
    /* Fail each allocation of a 33rd login in turn: among them are the new
     * bucket arrays, and the login goes through without them. */
    bool in_without_doubling = false;
    fl_connect_info ci = {.sid = "x"};
    ck_assert_int_eq(fl_addr_parse("10.1.0.1", &ci.addr), 0);
    for (long n = 1;; n++) {
        fl_session *s;
        fl_fault_fail_alloc_at(n);
        ck_assert_int_eq(fl_connect(T.e, &ci, &s, &D), 0);
        bool in = false;
        if (s != NULL && fl_user(T.e, s, "u-x", &D) == 0) {
            ck_assert_int_eq(fl_pass(T.e, s, true, NULL, &D), 0);
            in = D.verdict == FL_ALLOW;
            if (!in)
                ck_assert_str_eq(D.limit, "OutOfMemory");
        } else if (s != NULL) {
            ck_assert_int_eq(errno, ENOMEM);
            fl_close(T.e, s);
        } else {
            ck_assert_str_eq(D.limit, "OutOfMemory");
        }
        bool fired = fl_fault_fired();
        fl_fault_fail_alloc_at(0);
        if (in) {
            ck_assert_int_eq(user_clients(&T, "u-x"), 1);
            ck_assert_int_eq(host_clients(&T, "10.1.0.1"), 1);
            in_without_doubling |= fired && any_overfull();
            fl_close(T.e, fl_session_find(T.e, "x"));
        }
        if (!fired)
            break;
    }
    ck_assert(in_without_doubling);
    /* With memory back, the next entries double what was left overfull. */
    login_many(32, 40);
    ck_assert(!any_overfull());
}
END_TEST

/* --- the daemon's access rules --------------------------------------------- */

START_TEST(test_access_defaults_to_root_and_the_daemons_own_user)
{
    tenv_start(&T, NULL);
    uid_t self = 4242;
    ck_assert(fl_access_allowed(T.e, FL_ACCESS_SESSIONS, 0, 0, self));
    ck_assert(fl_access_allowed(T.e, FL_ACCESS_SESSIONS, self, 100, self));
    ck_assert(!fl_access_allowed(T.e, FL_ACCESS_SESSIONS, 1000, 1000, self));
    ck_assert(fl_access_allowed(T.e, FL_ACCESS_ADMIN, self, 100, self));
    ck_assert(!fl_access_allowed(T.e, FL_ACCESS_ADMIN, 1000, 1000, self));
    ck_assert(fl_access_allowed(T.e, FL_ACCESS_STATUS, self, 100, self));
    ck_assert(!fl_access_allowed(T.e, FL_ACCESS_STATUS, 1000, 1000, self));
}
END_TEST

START_TEST(test_access_follows_the_allow_directives)
{
    tenv_start(&T,
               "AllowSessions uid:1000 gid:2000\nAllowStatus all\nAllowAdmin root\n");
    uid_t self = 4242;
    ck_assert(fl_access_allowed(T.e, FL_ACCESS_SESSIONS, 1000, 1, self));
    ck_assert(fl_access_allowed(T.e, FL_ACCESS_SESSIONS, 1001, 2000, self));
    ck_assert(!fl_access_allowed(T.e, FL_ACCESS_SESSIONS, 1001, 1, self));
    /* Once a rule is given, the daemon's own user needs to be in it. */
    ck_assert(!fl_access_allowed(T.e, FL_ACCESS_SESSIONS, self, 1, self));
    ck_assert(fl_access_allowed(T.e, FL_ACCESS_STATUS, 65534, 65534, self));
    ck_assert(!fl_access_allowed(T.e, FL_ACCESS_ADMIN, 1000, 1, self));
    ck_assert(fl_access_allowed(T.e, FL_ACCESS_ADMIN, 0, 0, self));
}
END_TEST

static Suite *tables_suite(void)
{
    Suite *s = suite_create("tables");
    TCase *tc = tcase_create("tables");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_reload_keeps_every_count_and_session);
    tcase_add_test(
        tc, test_a_lowered_limit_applies_to_new_decisions_and_ends_no_live_session);
    tcase_add_test(tc, test_a_raised_limit_lets_new_sessions_in_at_once);
    tcase_add_test(tc, test_a_reload_that_fails_keeps_the_old_policy_and_says_why);
    tcase_add_test(tc, test_reload_generates_restart_preparse_and_postparse);
    tcase_add_test(tc, test_reload_without_a_path_reads_the_same_file_again);
    tcase_add_test(
        tc, test_a_rate_window_is_resized_by_a_reload_keeping_the_newest_connects);
    tcase_add_test(
        tc, test_a_rate_window_grows_with_a_reload_past_the_room_a_host_keeps_for_it);
    tcase_add_test(
        tc, test_a_reload_that_changes_the_network_prefix_counts_every_client_again);
    tcase_add_test(
        tc,
        test_running_out_of_memory_while_counting_networks_again_keeps_the_old_policy);
    tcase_add_test(tc, test_a_full_table_refuses_new_hosts_with_421_and_an_event);
    tcase_add_test(tc, test_a_full_table_evicts_idle_rate_state_oldest_first);
    tcase_add_test(tc, test_idle_rate_state_expires_through_the_engine_timers);
    tcase_add_test(tc, test_hosts_without_rate_state_are_freed_with_their_last_session);
    tcase_add_test(tc,
                   test_running_out_of_memory_anywhere_in_a_session_refuses_it_cleanly);
    tcase_add_test(tc, test_a_users_hosts_are_counted_whichever_went_first);
    tcase_add_test(
        tc, test_running_out_of_memory_for_a_users_second_host_refuses_that_login_only);
    tcase_add_test(tc, test_running_out_of_memory_while_parsing_fails_the_load_cleanly);
    tcase_add_test(tc, test_running_out_of_memory_during_a_reload_keeps_the_old_policy);
    tcase_add_test(tc, test_creating_an_engine_out_of_memory_fails_cleanly);
    tcase_add_test(tc, test_the_table_hash_is_keyed);
    tcase_add_test(tc,
                   test_the_engines_own_ids_spread_over_the_buckets_as_random_keys_do);
    tcase_add_test(tc,
                   test_ipv4_and_ipv6_hosts_spread_over_the_buckets_as_random_keys_do);
    tcase_add_test(tc,
                   test_freed_session_blocks_are_reused_up_to_a_bound_and_start_clean);
    tcase_add_test(tc, test_siphash_matches_the_reference_test_vectors);
    tcase_add_test(
        tc, test_user_names_crafted_to_collide_under_jenkins_spread_over_the_buckets);
    tcase_add_test(tc, test_lookup_tables_keep_their_load_below_what_they_are_set_to);
    tcase_add_test(tc, test_churn_at_a_steady_count_does_not_grow_the_tables);
    tcase_add_test(
        tc, test_a_table_that_cannot_double_for_want_of_memory_still_takes_the_entry);
    tcase_add_test(tc, test_access_defaults_to_root_and_the_daemons_own_user);
    tcase_add_test(tc, test_access_follows_the_allow_directives);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(tables_suite()) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
