/*
 * check_bans.c - the ban listener and the ban table on a virtual clock:
 * BanOnEvent for each kind of target, its sliding window, BanExempt,
 * expiry, the administrator's API, BanTable persistence, and the order in
 * which ftplimit.ban reaches listeners.
 */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engineutil.h"

#define SEC FL_USEC_PER_SEC

static tenv T;
static fl_decision D;
static trail LOG;

static void teardown(void)
{
    tenv_stop(&T);
}

static void start(const char *policy)
{
    tenv_start(&T, policy);
    trail_reset(&LOG);
    fl_engine_set_log(T.e, trail_log, &LOG);
}

/* Let time pass and fire what fell due. */
static void advance(fl_usec usec)
{
    tenv_advance(&T, usec);
}

/* One failed login that uses up MaxLoginAttempts 1 from addr. */
static void fail_login(const char *sid, const char *addr, const char *user)
{
    ck_assert_int_eq(t_connect(&T, sid, addr, NULL), FL_ALLOW);
    t_user(&T, sid, user, NULL);
    ck_assert_int_eq(t_pass(&T, sid, false, NULL, NULL), FL_DISCONNECT);
}

static size_t nbans(void)
{
    return fl_ban_list(T.e, NULL, 0);
}

/* --- BanOnEvent ------------------------------------------------------------ */

START_TEST(test_a_host_is_banned_after_n_events_and_refused_at_connect_with_421)
{
    start("MaxLoginAttempts 1\n"
          "BanOnEvent MaxLoginAttempts 3/00:01:00 01:00:00 \"%a is banned\"\n");
    fail_login("a", "192.0.2.1", "bob");
    fail_login("b", "192.0.2.1", "bob");
    ck_assert_int_eq(nbans(), 0);
    trail_reset(&T.events);
    fail_login("c", "192.0.2.1", "alice");
    ck_assert_int_eq(nbans(), 1);
    /* The ban follows the event that caused it, and precedes the exit. */
    ck_assert_str_eq(T.events.text, "mod_auth.max-login-attempts(c),ftplimit.ban(c),"
                                    "core.exit(c),");

    ck_assert_int_eq(t_connect(&T, "d", "192.0.2.1", &D), FL_DISCONNECT);
    ck_assert_int_eq(D.code, 421);
    ck_assert_str_eq(D.limit, "Ban");
    ck_assert_str_eq(D.message, "192.0.2.1 is banned");
    /* The same address written as IPv4-mapped IPv6 is the same host. */
    ck_assert_int_eq(t_connect(&T, "e", "::ffff:192.0.2.1", NULL), FL_DISCONNECT);
    ck_assert_int_eq(t_connect(&T, "f", "192.0.2.2", NULL), FL_ALLOW);

    fl_ban_entry b;
    ck_assert_int_eq(fl_ban_list(T.e, &b, 1), 1);
    ck_assert_int_eq(b.kind, FL_BAN_HOST);
    ck_assert_str_eq(b.target, "192.0.2.1");
    ck_assert_str_eq(b.reason, "MaxLoginAttempts");
    ck_assert_int_eq(b.remaining, 3600 * SEC);
    ck_assert_str_eq(b.message, "%a is banned");
}
END_TEST

/* What the ftplimit.ban event said. */
static fl_event_info ban_seen;
static char ban_target[640], ban_kind[16];
static int bans_seen;

static void on_ban(const void *data, void *arg)
{
    (void)arg;
    const fl_event_info *i = fl_event_info_of(FL_EV_BAN, data);
    ck_assert_ptr_nonnull(i);
    ban_seen = *i;
    snprintf(ban_target, sizeof ban_target, "%s", i->target);
    snprintf(ban_kind, sizeof ban_kind, "%s", i->ban);
    bans_seen++;
}

START_TEST(test_the_ban_event_names_the_kind_the_target_the_rule_and_the_duration)
{
    start("MaxClientsPerHost 1\n"
          "BanOnEvent MaxClientsPerHost 2/00:10:00 00:30:00\n");
    bans_seen = 0;
    ck_assert_int_eq(fl_event_register(T.e, NULL, FL_EV_BAN, on_ban, NULL), 0);
    t_login(&T, "a", "2001:db8::7", "u1", NULL);
    ck_assert_int_eq(t_login(&T, "b", "2001:db8::7", "u2", NULL), FL_DISCONNECT);
    ck_assert_int_eq(bans_seen, 0);
    ck_assert_int_eq(t_login(&T, "c", "2001:db8::7", "u3", NULL), FL_DISCONNECT);
    ck_assert_int_eq(bans_seen, 1);
    ck_assert_str_eq(ban_kind, "host");
    ck_assert_str_eq(ban_target, "2001:db8::7");
    ck_assert_int_eq(ban_seen.duration, 1800);
    ck_assert_int_eq(ban_seen.max, 2);
    ck_assert_int_eq(ban_seen.count, 2);
    /* The session that stays is not touched; new ones are refused. */
    ck_assert_int_eq(host_clients(&T, "2001:db8::7"), 1);
    ck_assert_int_eq(t_connect(&T, "d", "2001:db8::7", NULL), FL_DISCONNECT);
}
END_TEST

START_TEST(test_the_window_slides_where_mod_bans_is_fixed_from_the_first_event)
{
    start("MaxLoginAttempts 1\n"
          "BanOnEvent MaxLoginAttempts 3/00:01:00 01:00:00\n");
    /* Events at 0, 40, 70 and 95 s. mod_ban's window opens at 0 and closes
     * at 60: 0 and 40 count, 70 starts a new window, 95 is its second --
     * no ban. The sliding window at 95 holds 40, 70 and 95: a ban. */
    fail_login("a", "198.51.100.1", "x");
    advance(40 * SEC);
    fail_login("b", "198.51.100.1", "x");
    advance(30 * SEC);
    fail_login("c", "198.51.100.1", "x"); /* 0 has left: 40, 70 */
    ck_assert_int_eq(nbans(), 0);
    advance(25 * SEC);
    fail_login("d", "198.51.100.1", "x");
    ck_assert_int_eq(nbans(), 1);
}
END_TEST

START_TEST(test_an_event_exactly_one_window_old_no_longer_counts)
{
    start("MaxLoginAttempts 1\n"
          "BanOnEvent MaxLoginAttempts 2/00:00:10 00:05:00\n");
    fail_login("a", "198.51.100.2", "x");
    advance(10 * SEC);
    fail_login("b", "198.51.100.2", "x");
    ck_assert_int_eq(nbans(), 0);
    advance(10 * SEC - 1);
    fail_login("c", "198.51.100.2", "x");
    ck_assert_int_eq(nbans(), 1);
}
END_TEST

START_TEST(test_counts_are_per_target_and_per_rule)
{
    start("MaxLoginAttempts 1\n"
          "BanOnEvent MaxLoginAttempts 2/00:01:00 01:00:00\n"
          "BanOnEvent MaxLoginAttempts 3/00:10:00 10:00:00\n");
    fail_login("a", "192.0.2.1", "x");
    fail_login("b", "192.0.2.2", "x");
    ck_assert_int_eq(nbans(), 0); /* one each */
    fail_login("c", "192.0.2.1", "x");
    ck_assert_int_eq(nbans(), 1);
    fl_ban_entry b;
    fl_ban_list(T.e, &b, 1);
    ck_assert_int_eq(b.remaining, 3600 * SEC); /* the first rule fired */
    /* The host is banned: the second rule cannot count it any more. */
    ck_assert_int_eq(t_connect(&T, "d", "192.0.2.1", NULL), FL_DISCONNECT);
}
END_TEST

START_TEST(test_max_clients_per_user_bans_the_user_at_pass_with_530)
{
    start("MaxClientsPerUser 1\n"
          "BanOnEvent MaxClientsPerUser 1/00:01:00 00:10:00 \"User %u is banned.\"\n");
    ck_assert_int_eq(t_login(&T, "a", "192.0.2.1", "bob", NULL), FL_ALLOW);
    ck_assert_int_eq(t_login(&T, "b", "192.0.2.2", "bob", NULL), FL_DISCONNECT);
    fl_ban_entry b;
    ck_assert_int_eq(fl_ban_list(T.e, &b, 1), 1);
    ck_assert_int_eq(b.kind, FL_BAN_USER);
    ck_assert_str_eq(b.target, "bob");
    t_close(&T, "a");
    /* bob is refused from anywhere, after a right password, with 530; the
     * host is not banned. */
    ck_assert_int_eq(t_connect(&T, "c", "192.0.2.9", NULL), FL_ALLOW);
    t_user(&T, "c", "bob", NULL);
    ck_assert_int_eq(t_pass(&T, "c", true, NULL, &D), FL_DISCONNECT);
    ck_assert_int_eq(D.code, 530);
    ck_assert_str_eq(D.limit, "Ban");
    ck_assert_str_eq(D.message, "User bob is banned.");
    ck_assert_int_eq(t_login(&T, "d", "192.0.2.9", "carol", NULL), FL_ALLOW);
    ck_assert_int_eq(user_clients(&T, "bob"), -1); /* nothing held for bob */
}
END_TEST

START_TEST(test_max_hosts_per_user_bans_the_user)
{
    start("MaxHostsPerUser 1\n"
          "BanOnEvent MaxHostsPerUser 1/00:01:00 00:10:00\n");
    t_login(&T, "a", "192.0.2.1", "eve", NULL);
    ck_assert_int_eq(t_login(&T, "b", "192.0.2.2", "eve", NULL), FL_DISCONNECT);
    fl_ban_entry b;
    ck_assert_int_eq(fl_ban_list(T.e, &b, 1), 1);
    ck_assert_int_eq(b.kind, FL_BAN_USER);
    ck_assert_str_eq(b.target, "eve");
    ck_assert_int_eq(t_login(&T, "c", "192.0.2.1", "eve", NULL), FL_DISCONNECT);
}
END_TEST

START_TEST(test_max_clients_per_class_bans_the_class_at_connect)
{
    start("<Class lab>\n From 10.1.0.0/16\n</Class>\n"
          "MaxClientsPerClass lab 1\n"
          "BanOnEvent MaxClientsPerClass 2/00:01:00 00:10:00\n");
    t_login(&T, "a", "10.1.0.1", "u1", NULL);
    ck_assert_int_eq(t_login(&T, "b", "10.1.0.2", "u2", NULL), FL_DISCONNECT);
    ck_assert_int_eq(t_login(&T, "c", "10.1.0.3", "u3", NULL), FL_DISCONNECT);
    fl_ban_entry b;
    ck_assert_int_eq(fl_ban_list(T.e, &b, 1), 1);
    ck_assert_int_eq(b.kind, FL_BAN_CLASS);
    ck_assert_str_eq(b.target, "lab");
    ck_assert_int_eq(t_connect(&T, "d", "10.1.9.9", &D), FL_DISCONNECT);
    ck_assert_int_eq(D.code, 421);
    ck_assert_str_eq(D.message,
                     "Sorry, your class (lab) is banned from this server for a while.");
    ck_assert_int_eq(t_connect(&T, "e", "10.2.0.1", NULL), FL_ALLOW); /* no class */
}
END_TEST

START_TEST(test_max_login_attempts_from_user_bans_the_user_at_that_host_only)
{
    start("MaxLoginAttempts 1\n"
          "BanOnEvent MaxLoginAttemptsFromUser 2/00:05:00 00:30:00\n");
    /* Behind one NAT address: bob guesses, alice does not. */
    fail_login("a", "203.0.113.5", "bob");
    fail_login("b", "203.0.113.5", "alice");
    ck_assert_int_eq(nbans(), 0);
    fail_login("c", "203.0.113.5", "bob");
    fl_ban_entry b;
    ck_assert_int_eq(fl_ban_list(T.e, &b, 1), 1);
    ck_assert_int_eq(b.kind, FL_BAN_USER_HOST);
    ck_assert_str_eq(b.target, "bob@203.0.113.5");
    ck_assert_int_eq(t_login(&T, "d", "203.0.113.5", "alice", NULL), FL_ALLOW);
    ck_assert_int_eq(t_login(&T, "e", "198.51.100.9", "bob", NULL), FL_ALLOW);
    ck_assert_int_eq(t_connect(&T, "f", "203.0.113.5", NULL), FL_ALLOW);
    t_user(&T, "f", "bob", NULL);
    ck_assert_int_eq(t_pass(&T, "f", true, NULL, &D), FL_DISCONNECT);
    ck_assert_int_eq(D.code, 530);
    ck_assert_str_eq(D.message, "Sorry, user bob from 203.0.113.5 is banned from this "
                                "server for a while.");
}
END_TEST

START_TEST(test_anon_reject_passwords_and_a_full_event_name_ban_the_host)
{
    start("AnonRejectPasswords ^evil@\n"
          "MaxConnectionsPerHost 1\n"
          "BanOnEvent AnonRejectPasswords 1/00:01:00 00:10:00\n"
          "BanOnEvent mod_auth.max-connections-per-host 2/00:01:00 00:20:00\n");
    ck_assert_int_eq(t_connect(&T, "a", "192.0.2.1", NULL), FL_ALLOW);
    t_user(&T, "a", "anonymous", NULL);
    ck_assert_int_eq(t_pass(&T, "a", true, "evil@example.com", NULL), FL_REJECT);
    ck_assert_int_eq(nbans(), 1);
    t_connect(&T, "b", "192.0.2.2", NULL);
    t_connect(&T, "c", "192.0.2.2", NULL);
    ck_assert_int_eq(nbans(), 1);
    t_connect(&T, "d", "192.0.2.2", NULL);
    ck_assert_int_eq(nbans(), 2);
    ck_assert_int_eq(t_connect(&T, "e", "192.0.2.2", &D), FL_DISCONNECT);
    ck_assert_str_eq(D.limit, "Ban");
}
END_TEST

START_TEST(test_banning_the_anonymous_user_bans_every_anonymous_login)
{
    start("AnonymousUsers anonymous ftp\n");
    ck_assert_int_eq(fl_ban_add(T.e, FL_BAN_USER, "anonymous", NULL, 60 * SEC, NULL),
                     0);
    ck_assert_int_eq(t_connect(&T, "a", "192.0.2.1", NULL), FL_ALLOW);
    t_user(&T, "a", "ftp", NULL);
    ck_assert_int_eq(t_pass(&T, "a", true, "me@example.com", NULL), FL_DISCONNECT);
    ck_assert_int_eq(t_login(&T, "b", "192.0.2.1", "bob", NULL), FL_ALLOW);
}
END_TEST

/* --- BanExempt -------------------------------------------------------------- */

START_TEST(test_exempt_addresses_networks_and_classes_are_never_banned)
{
    start("<Class office>\n From 10.0.0.0/8\n</Class>\n"
          "MaxLoginAttempts 1\n"
          "BanOnEvent MaxLoginAttempts 1/00:01:00 01:00:00\n"
          "BanExempt 192.0.2.7 2001:db8::/32 office\n");
    fail_login("a", "192.0.2.7", "x");
    fail_login("b", "2001:db8:1::5", "x");
    fail_login("c", "10.20.30.40", "x");
    ck_assert_int_eq(nbans(), 0);
    fail_login("d", "192.0.2.8", "x");
    ck_assert_int_eq(nbans(), 1);

    errno = 0;
    ck_assert_int_eq(fl_ban_add(T.e, FL_BAN_HOST, "192.0.2.7", NULL, SEC, NULL), -1);
    ck_assert_int_eq(errno, EPERM);
    ck_assert_int_eq(
        fl_ban_add(T.e, FL_BAN_USER_HOST, "x@2001:db8::1", NULL, SEC, NULL), -1);
    ck_assert_int_eq(errno, EPERM);
    ck_assert_int_eq(fl_ban_add(T.e, FL_BAN_CLASS, "office", NULL, SEC, NULL), -1);
    ck_assert_int_eq(errno, EPERM);
    /* A host of an exempt class, banned by hand, as one of an exempt
     * network is (issue 24, point 12). */
    ck_assert_int_eq(fl_ban_add(T.e, FL_BAN_HOST, "10.20.30.41", NULL, SEC, NULL), -1);
    ck_assert_int_eq(errno, EPERM);
    ck_assert_int_eq(
        fl_ban_add(T.e, FL_BAN_USER_HOST, "x@10.20.30.41", NULL, SEC, NULL), -1);
    ck_assert_int_eq(errno, EPERM);
    ck_assert_int_eq(nbans(), 1);
    ck_assert_int_eq(fl_ban_add(T.e, FL_BAN_HOST, "11.0.0.1", NULL, SEC, NULL), 0);
    ck_assert_int_eq(nbans(), 2);
}
END_TEST

START_TEST(test_a_network_ban_refuses_every_host_in_it_at_connect)
{
    start("<Class office>\n From 10.9.0.5\n</Class>\n"
          "BanExempt 192.0.2.0/24 office\n"
          "BanTable bans.state\n");
    ck_assert_int_eq(
        fl_ban_add(T.e, FL_BAN_NETWORK, "10.9.0.0/16", NULL, 60 * SEC, NULL), 0);
    ck_assert_int_eq(
        fl_ban_add(T.e, FL_BAN_NETWORK, "2001:db8:1::/48", NULL, 60 * SEC, NULL), 0);
    ck_assert_int_eq(t_connect(&T, "a", "10.9.200.1", &D), FL_DISCONNECT);
    ck_assert_int_eq(D.code, 421);
    ck_assert_str_eq(D.message,
                     "Sorry, your network is banned from this server for a while.");
    ck_assert_int_eq(t_connect(&T, "b", "::ffff:10.9.0.1", NULL), FL_DISCONNECT);
    ck_assert_int_eq(t_connect(&T, "c", "2001:db8:1:ffff::9", NULL), FL_DISCONNECT);
    ck_assert_int_eq(t_connect(&T, "d", "10.10.0.1", NULL), FL_ALLOW);
    ck_assert_int_eq(t_connect(&T, "e", "2001:db8:2::1", NULL), FL_ALLOW);
    /* A host of an exempt class in the network is let in. */
    ck_assert_int_eq(t_connect(&T, "f", "10.9.0.5", NULL), FL_ALLOW);
    /* Host bits are cleared; the same network again extends the ban. */
    fl_ban_entry list[2];
    ck_assert_int_eq(
        fl_ban_add(T.e, FL_BAN_NETWORK, "10.9.8.7/16", NULL, 120 * SEC, NULL), 0);
    ck_assert_int_eq(fl_ban_list(T.e, list, 2), 2);
    const fl_ban_entry *v4 = list[0].target[0] == '1' ? &list[0] : &list[1];
    ck_assert_str_eq(v4->target, "10.9.0.0/16");
    ck_assert_int_gt(v4->remaining, 110 * SEC);
    ck_assert_str_eq(fl_ban_kind_name(v4->kind), "network");
    /* Overlapping networks, exempt networks, addresses without a length. */
    errno = 0;
    ck_assert_int_eq(fl_ban_add(T.e, FL_BAN_NETWORK, "10.9.1.0/24", NULL, SEC, NULL),
                     -1);
    ck_assert_int_eq(errno, EEXIST);
    ck_assert_int_eq(fl_ban_add(T.e, FL_BAN_NETWORK, "10.0.0.0/8", NULL, SEC, NULL),
                     -1);
    ck_assert_int_eq(errno, EEXIST);
    ck_assert_int_eq(fl_ban_add(T.e, FL_BAN_NETWORK, "192.0.0.0/16", NULL, SEC, NULL),
                     -1);
    ck_assert_int_eq(errno, EPERM);
    ck_assert_int_eq(fl_ban_add(T.e, FL_BAN_NETWORK, "192.0.2.128/25", NULL, SEC, NULL),
                     -1);
    ck_assert_int_eq(errno, EPERM);
    ck_assert_int_eq(fl_ban_add(T.e, FL_BAN_NETWORK, "10.11.0.1", NULL, SEC, NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(fl_ban_add(T.e, FL_BAN_NETWORK, "10.11.0.0/33", NULL, SEC, NULL),
                     -1);
    ck_assert_int_eq(errno, EINVAL);
    /* Lifted: the hosts come back. */
    ck_assert_int_eq(fl_ban_remove(T.e, FL_BAN_NETWORK, "10.9.0.0/16", NULL), 0);
    ck_assert_int_eq(t_connect(&T, "g", "10.9.200.1", NULL), FL_ALLOW);
    ck_assert_int_eq(
        fl_ban_add(T.e, FL_BAN_NETWORK, "10.9.1.0/24", NULL, 60 * SEC, NULL), 0);

    /* The BanTable keeps them. */
    advance(SEC);
    tenv second;
    tenv_start(&second, NULL);
    char policy[8192];
    snprintf(policy, sizeof policy, "BanTable %s/bans.state\n", T.dir);
    ck_assert_int_eq(tenv_reload(&second, policy), 0);
    ck_assert_int_eq(fl_ban_list(second.e, NULL, 0), 2);
    ck_assert_int_eq(t_connect(&second, "h", "10.9.1.77", NULL), FL_DISCONNECT);
    ck_assert_int_eq(t_connect(&second, "i", "2001:db8:1::1", NULL), FL_DISCONNECT);
    ck_assert_int_eq(t_connect(&second, "j", "10.9.2.1", NULL), FL_ALLOW);
    tenv_stop(&second);
}
END_TEST

/* --- expiry and the administrator's API ------------------------------------- */

START_TEST(test_a_ban_expires_on_time_with_ftplimit_ban_expired)
{
    start("MaxLoginAttempts 1\n"
          "BanOnEvent MaxLoginAttempts 1/00:01:00 00:10:00\n");
    fail_login("a", "192.0.2.1", "x");
    ck_assert_int_eq(nbans(), 1);
    advance(600 * SEC - 1);
    ck_assert_int_eq(t_connect(&T, "b", "192.0.2.1", NULL), FL_DISCONNECT);
    trail_reset(&T.events);
    advance(1);
    ck_assert_str_eq(T.events.text, "ftplimit.ban-expired,");
    ck_assert_int_eq(nbans(), 0);
    ck_assert_int_eq(t_connect(&T, "c", "192.0.2.1", NULL), FL_ALLOW);
    fl_alert_stats st;
    fl_engine_alert_stats(T.e, &st);
    ck_assert_int_eq(st.bans_made, 1);
    ck_assert_int_eq(st.bans_expired, 1);
    ck_assert_int_eq(st.bans, 0);
}
END_TEST

START_TEST(test_bans_added_by_hand_are_listed_extended_and_removed)
{
    start("MaxClients 10\n");
    ck_assert_int_eq(
        fl_ban_add(T.e, FL_BAN_HOST, "::ffff:192.0.2.5", NULL, 60 * SEC, NULL), 0);
    ck_assert_int_eq(
        fl_ban_add(T.e, FL_BAN_USER, "john doe", NULL, 600 * SEC, "Bye %u"), 0);
    ck_assert_int_eq(
        fl_ban_add(T.e, FL_BAN_USER_HOST, "a@b@2001:db8::1", NULL, 60 * SEC, NULL), 0);
    ck_assert_int_eq(nbans(), 3);
    fl_ban_entry list[4];
    ck_assert_int_eq(fl_ban_list(T.e, list, 4), 3);
    bool host = false, user = false, uh = false;
    for (int i = 0; i < 3; i++) {
        host = host || strcmp(list[i].target, "192.0.2.5") == 0; /* normalised */
        user = user || (strcmp(list[i].target, "john doe") == 0 &&
                        strcmp(list[i].message, "Bye %u") == 0 &&
                        strcmp(list[i].reason, "manual") == 0);
        uh = uh ||
             strcmp(list[i].target, "a@b@2001:db8::1") == 0; /* split at the last @ */
    }
    ck_assert(host && user && uh);

    /* Banning again extends the ban and replaces its message. */
    advance(30 * SEC);
    ck_assert_int_eq(
        fl_ban_add(T.e, FL_BAN_HOST, "192.0.2.5", NULL, 120 * SEC, "Later"), 0);
    ck_assert_int_eq(nbans(), 3);
    advance(90 * SEC);
    ck_assert_int_eq(t_connect(&T, "a", "192.0.2.5", &D), FL_DISCONNECT);
    ck_assert_str_eq(D.message, "Later");

    ck_assert_int_eq(fl_ban_remove(T.e, FL_BAN_HOST, "192.0.2.5", NULL), 0);
    ck_assert_int_eq(t_connect(&T, "b", "192.0.2.5", NULL), FL_ALLOW);
    errno = 0;
    ck_assert_int_eq(fl_ban_remove(T.e, FL_BAN_HOST, "192.0.2.5", NULL), -1);
    ck_assert_int_eq(errno, ENOENT);
    ck_assert_int_eq(t_login(&T, "c", "192.0.2.6", "john doe", &D), FL_DISCONNECT);
    ck_assert_str_eq(D.message, "Bye john doe");
}
END_TEST

START_TEST(test_bad_targets_and_durations_are_refused)
{
    start("MaxClients 10\n");
    const struct {
        fl_ban_kind kind;
        const char *target;
        fl_usec duration;
    } bad[] = {
        {FL_BAN_HOST, "not-an-address", SEC},
        {FL_BAN_HOST, "192.0.2.0/24", SEC},
        {FL_BAN_HOST, "", SEC},
        {FL_BAN_USER, "bob", 0},
        {FL_BAN_USER, "bob", -SEC},
        {FL_BAN_USER_HOST, "bob", SEC},
        {FL_BAN_USER_HOST, "@192.0.2.1", SEC},
        {FL_BAN_USER_HOST, "bob@nowhere", SEC},
        {(fl_ban_kind)9, "bob", SEC},
        {FL_BAN_CLASS, NULL, SEC},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        errno = 0;
        ck_assert_msg(fl_ban_add(T.e, bad[i].kind, bad[i].target, NULL, bad[i].duration,
                                 NULL) == -1 &&
                          errno == EINVAL,
                      "case %zu accepted", i);
    }
    char long_name[FL_USER_MAX + 2];
    memset(long_name, 'u', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    ck_assert_int_eq(fl_ban_add(T.e, FL_BAN_USER, long_name, NULL, SEC, NULL), -1);
    ck_assert_int_eq(nbans(), 0);
    fl_ban_kind k;
    ck_assert_int_eq(fl_ban_kind_parse("user@host", &k), 0);
    ck_assert_int_eq(k, FL_BAN_USER_HOST);
    ck_assert_int_eq(fl_ban_kind_parse("users", &k), -1);
    ck_assert_str_eq(fl_ban_kind_name(FL_BAN_CLASS), "class");
}
END_TEST

START_TEST(test_the_ban_table_is_bounded_by_max_tracked_hosts)
{
    start("MaxTrackedHosts 3\n");
    ck_assert_int_eq(fl_ban_add(T.e, FL_BAN_HOST, "192.0.2.1", NULL, SEC, NULL), 0);
    ck_assert_int_eq(fl_ban_add(T.e, FL_BAN_HOST, "192.0.2.2", NULL, SEC, NULL), 0);
    ck_assert_int_eq(fl_ban_add(T.e, FL_BAN_USER, "u", NULL, SEC, NULL), 0);
    errno = 0;
    ck_assert_int_eq(fl_ban_add(T.e, FL_BAN_HOST, "192.0.2.4", NULL, SEC, NULL), -1);
    ck_assert_int_eq(errno, ENOSPC);
    /* Extending one that exists needs no room. */
    ck_assert_int_eq(fl_ban_add(T.e, FL_BAN_USER, "u", NULL, 5 * SEC, NULL), 0);
    advance(SEC);
    ck_assert_int_eq(nbans(), 1);
    ck_assert_int_eq(fl_ban_add(T.e, FL_BAN_HOST, "192.0.2.4", NULL, SEC, NULL), 0);
}
END_TEST

START_TEST(test_a_reload_keeps_bans_and_restarts_the_counts_of_the_rules)
{
    start("MaxLoginAttempts 1\n"
          "BanOnEvent MaxLoginAttempts 2/00:01:00 01:00:00\n");
    fail_login("a", "192.0.2.1", "x");
    fail_login("b", "192.0.2.1", "x");
    fail_login("c", "192.0.2.2", "x");
    ck_assert_int_eq(nbans(), 1);
    ck_assert_int_eq(tenv_reload(&T,
                                 "MaxLoginAttempts 1\n"
                                 "BanOnEvent MaxLoginAttempts 2/00:01:00 00:10:00\n"),
                     0);
    ck_assert_int_eq(nbans(), 1);
    ck_assert_int_eq(t_connect(&T, "d", "192.0.2.1", NULL), FL_DISCONNECT);
    fail_login("e", "192.0.2.2", "x");
    ck_assert_int_eq(nbans(), 1); /* 192.0.2.2's count started again */
    fail_login("f", "192.0.2.2", "x");
    ck_assert_int_eq(nbans(), 2);
    /* A policy without rules: no more bans, the old ones run their time. */
    ck_assert_int_eq(tenv_reload(&T, "MaxLoginAttempts 1\n"), 0);
    fail_login("g", "192.0.2.3", "x");
    fail_login("h", "192.0.2.3", "x");
    ck_assert_int_eq(nbans(), 2);
}
END_TEST

START_TEST(test_idle_counters_are_forgotten)
{
    start("MaxLoginAttempts 1\n"
          "BanOnEvent MaxLoginAttempts 5/00:00:30 01:00:00\n");
    for (int i = 0; i < 50; i++) {
        char addr[32], sid[16];
        snprintf(addr, sizeof addr, "192.0.2.%d", i + 1);
        snprintf(sid, sizeof sid, "s%d", i);
        fail_login(sid, addr, "x");
    }
    int armed = fl_timers_count(T.e);
    advance(60 * SEC);
    /* The sweep ended with the counters: fewer timers than before. */
    ck_assert_int_lt(fl_timers_count(T.e), armed);
    ck_assert_int_eq(nbans(), 0);
}
END_TEST

/* --- BanTable --------------------------------------------------------------- */

START_TEST(test_bans_persist_in_the_ban_table_across_engines)
{
    start("MaxLoginAttempts 1\n"
          "BanOnEvent MaxLoginAttempts 1/00:01:00 01:00:00\n"
          "BanTable bans.state\n");
    char path[4096];
    snprintf(path, sizeof path, "%s/bans.state", T.dir);
    fail_login("a", "192.0.2.1", "x");
    ck_assert_int_eq(
        fl_ban_add(T.e, FL_BAN_USER, "mal\"lory\\", NULL, 120 * SEC, "Go \"away\""), 0);
    ck_assert_int_ne(access(path, F_OK), 0); /* written a second later */
    advance(SEC);
    char *text = read_file(path);
    ck_assert_ptr_nonnull(text);
    /* One JSON object per line. */
    int lines = 0;
    for (char *line = strtok(text, "\n"); line != NULL;
         line = strtok(NULL, "\n"), lines++) {
        json_t *o = json_loads(line, 0, NULL);
        ck_assert_ptr_nonnull(o);
        ck_assert_ptr_nonnull(json_string_value(json_object_get(o, "kind")));
        ck_assert(json_is_number(json_object_get(o, "expires")));
        json_decref(o);
    }
    free(text);
    ck_assert_int_eq(lines, 2);

    /* A second engine reading the same table: both bans, with their time. */
    tenv second;
    tenv_start(&second, NULL);
    char policy[8192];
    snprintf(policy, sizeof policy, "BanTable %s\n", path);
    ck_assert_int_eq(tenv_reload(&second, policy), 0);
    fl_ban_entry list[2];
    ck_assert_int_eq(fl_ban_list(second.e, list, 2), 2);
    for (int i = 0; i < 2; i++) {
        if (list[i].kind == FL_BAN_USER) {
            ck_assert_str_eq(list[i].target, "mal\"lory\\");
            ck_assert_str_eq(list[i].message, "Go \"away\"");
            ck_assert_int_le(list[i].remaining, 120 * SEC);
            ck_assert_int_gt(list[i].remaining, 110 * SEC);
        } else {
            ck_assert_str_eq(list[i].target, "192.0.2.1");
            ck_assert_str_eq(list[i].reason, "MaxLoginAttempts");
            ck_assert_int_gt(list[i].remaining, 3590 * SEC);
        }
    }
    ck_assert_int_eq(t_connect(&second, "z", "192.0.2.1", NULL), FL_DISCONNECT);
    tenv_stop(&second);
}
END_TEST

START_TEST(test_the_ban_table_is_saved_at_shutdown_and_bad_lines_are_skipped)
{
    start("BanTable bans.state\n");
    char path[4096];
    snprintf(path, sizeof path, "%s/bans.state", T.dir);
    ck_assert_int_eq(fl_ban_add(T.e, FL_BAN_HOST, "192.0.2.3", NULL, 3600 * SEC, NULL),
                     0);
    fl_engine_shutdown(T.e); /* no second passed: saved now */
    char *text = read_file(path);
    ck_assert_ptr_nonnull(strstr(text, "\"target\":\"192.0.2.3\""));
    /* Add garbage, an expired ban and a bad target; only the good one
     * comes back. */
    FILE *f = fopen(path, "a");
    fprintf(f,
            "not json\n{\"kind\":\"host\",\"target\":\"192.0.2.4\",\"expires\":%lld}\n"
            "{\"kind\":\"host\",\"target\":\"nowhere\",\"expires\":%lld}\n"
            "{\"kind\":\"planet\",\"target\":\"x\",\"expires\":%lld}\n",
            (long long)time(NULL) - 5, (long long)time(NULL) + 500,
            (long long)time(NULL) + 500);
    fclose(f);
    free(text);

    tenv second;
    tenv_start(&second, NULL);
    trail log = {{0}};
    fl_engine_set_log(second.e, trail_log, &log);
    char policy[8192];
    snprintf(policy, sizeof policy, "BanTable %s\n", path);
    ck_assert_int_eq(tenv_reload(&second, policy), 0);
    ck_assert_int_eq(fl_ban_list(second.e, NULL, 0), 1);
    ck_assert_ptr_nonnull(strstr(log.text, "3 unreadable lines"));
    ck_assert_ptr_nonnull(strstr(log.text, "1 bans restored"));
    tenv_stop(&second);
}
END_TEST

/* Issue 24, point 1: the ban table is written 0640, and a link planted
 * where its temporary file goes is not followed (the save fails, said so;
 * the table and the link's target stay as they were). */
START_TEST(test_the_ban_table_is_0640_and_a_planted_link_is_not_followed)
{
    start("BanTable bans.state\n");
    char path[4096], tmp[4200], target[4200];
    snprintf(path, sizeof path, "%s/bans.state", T.dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    snprintf(target, sizeof target, "%s/precious", T.dir);
    ck_assert_int_eq(fl_ban_add(T.e, FL_BAN_HOST, "192.0.2.3", NULL, 3600 * SEC, NULL),
                     0);
    advance(2 * SEC); /* saved a second after the change */
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0640);
    char *before = read_file(path);

    FILE *f = fopen(target, "w");
    fputs("keep\n", f);
    fclose(f);
    ck_assert_int_eq(symlink(target, tmp), 0);
    ck_assert_int_eq(fl_ban_add(T.e, FL_BAN_HOST, "192.0.2.4", NULL, 3600 * SEC, NULL),
                     0);
    advance(2 * SEC);
    char *kept = read_file(target), *after = read_file(path);
    ck_assert_str_eq(kept, "keep\n");
    ck_assert_str_eq(after, before);
    ck_assert_ptr_nonnull(strstr(LOG.text, "BanTable: cannot open its temporary file"));
    free(kept);
    free(after);
    free(before);
}
END_TEST

/* Issue 24, point 3: a save that runs out of room (a file size limit here,
 * as a full disk answers) leaves the table in place whole, and says so. */
START_TEST(test_a_ban_table_save_that_runs_out_of_room_keeps_the_old_table)
{
    start("BanTable bans.state\n");
    char path[4096];
    snprintf(path, sizeof path, "%s/bans.state", T.dir);
    for (int i = 1; i <= 100; i++) {
        char host[32];
        snprintf(host, sizeof host, "192.0.2.%d", i);
        ck_assert_int_eq(fl_ban_add(T.e, FL_BAN_HOST, host, NULL, 3600 * SEC, NULL), 0);
    }
    advance(2 * SEC);
    char *before = read_file(path);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit limit = {(rlim_t)st.st_size / 2, (rlim_t)st.st_size / 2};
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &limit), 0);
    ck_assert_int_eq(
        fl_ban_add(T.e, FL_BAN_HOST, "198.51.100.1", NULL, 3600 * SEC, NULL), 0);
    advance(2 * SEC);
    char *after = read_file(path);
    ck_assert_str_eq(after, before);
    ck_assert_ptr_nonnull(strstr(LOG.text, "BanTable: cannot write it"));
    ck_assert_ptr_nonnull(strstr(LOG.text, "the table stays as it was"));
    fl_alert_stats stats;
    fl_engine_alert_stats(T.e, &stats);
    ck_assert_uint_eq(stats.ban_save_failures,
                      1); /* ftplimit_ban_table_save_failures_total */
    free(after);
    free(before);
}
END_TEST

/* Issue 24, point 7: a ban table is read as the protocol reads a ban --
 * an expiry past any ban's (once signed overflow: UBSan aborted) or not a
 * number, a target the protocol refuses, a message with a control byte:
 * each line is skipped and named in the log. */
START_TEST(test_the_ban_table_loader_takes_only_what_the_protocol_takes)
{
    start(NULL);
    char path[4096];
    snprintf(path, sizeof path, "%s/bans.state", T.dir);
    long long soon = (long long)time(NULL) + 500;
    FILE *f = fopen(path, "w");
    fprintf(f,
            "{\"kind\":\"host\",\"target\":\"192.0.2.5\",\"expires\":%lld}\n"
            "{\"kind\":\"host\",\"target\":\"192.0.2.6\",\"expires\":9.3e18}\n"
            "{\"kind\":\"host\",\"target\":\"192.0.2.7\",\"expires\":1e300}\n"
            "{\"kind\":\"host\",\"target\":\"192.0.2.8\",\"expires\":\"soon\"}\n"
            "{\"kind\":\"user\",\"target\":\"a\\nb\",\"expires\":%lld}\n"
            "{\"kind\":\"class\",\"target\":\"%0300d\",\"expires\":%lld}\n"
            "{\"kind\":\"class\",\"target\":\"two words\",\"expires\":%lld}\n"
            "{\"kind\":\"user@host\",\"target\":\"@192.0.2.9\",\"expires\":%lld}\n"
            "{\"kind\":\"user\",\"target\":\"bob\",\"expires\":%lld,"
            "\"message\":\"x\\r\\n530 y\"}\n",
            soon, soon, 0, soon, soon, soon, soon);
    fclose(f);
    char policy[8192];
    snprintf(policy, sizeof policy, "BanTable %s\n", path);
    ck_assert_int_eq(tenv_reload(&T, policy), 0);
    ck_assert_int_eq(fl_ban_list(T.e, NULL, 0), 1);
    ck_assert_ptr_nonnull(strstr(LOG.text, "1 bans restored"));
    ck_assert_ptr_nonnull(strstr(LOG.text, "8 unreadable lines"));
    ck_assert_ptr_nonnull(strstr(LOG.text, "bans.state:2 skipped: no expiry time"));
    ck_assert_ptr_nonnull(strstr(LOG.text, "bans.state:5 skipped: not a target"));
    ck_assert_ptr_nonnull(strstr(LOG.text, "bans.state:9 skipped: a message"));
    /* The same targets refused by hand, and a ban past the longest. */
    ck_assert_int_eq(fl_ban_add(T.e, FL_BAN_USER, "a\nb", NULL, SEC, NULL), -1);
    ck_assert_int_eq(fl_ban_add(T.e, FL_BAN_CLASS, "two words", NULL, SEC, NULL), -1);
    ck_assert_int_eq(fl_ban_add(T.e, FL_BAN_HOST, "192.0.2.1", NULL,
                                (FL_BAN_SECONDS_MAX + 1) * SEC, NULL),
                     -1);
    ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(test_an_unwritable_ban_table_is_reported_and_bans_still_work)
{
    start("BanTable no/such/dir/bans.state\n");
    ck_assert_int_eq(fl_ban_add(T.e, FL_BAN_HOST, "192.0.2.3", NULL, 3600 * SEC, NULL),
                     0);
    advance(SEC);
    ck_assert_ptr_nonnull(strstr(LOG.text, "BanTable: cannot open its temporary file"));
    ck_assert_int_eq(t_connect(&T, "a", "192.0.2.3", NULL), FL_DISCONNECT);
}
END_TEST

/* Issue 24, point 9: a BanTable whose directory the engine could not write
 * is an error at its line when the policy is to be put in force (or
 * checked for the daemon: check_writes), not a silent loss at the next
 * restart; simulating a trace does not ask. */
static char load_errors[4096];

static void collect(void *arg, const char *message)
{
    (void)arg;
    size_t len = strlen(load_errors);
    snprintf(load_errors + len, sizeof load_errors - len, "%s\n", message);
}

START_TEST(test_a_ban_table_the_daemon_cannot_write_is_an_error_at_its_line)
{
    start(NULL);
    char policy[4096];
    snprintf(policy, sizeof policy, "%s/strict.conf", T.dir);
    FILE *f = fopen(policy, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "MaxClients 5\nBanTable %s/no/such/dir/bans.state\n", T.dir);
    fclose(f);
    fl_engine_options strict = {.check_writes = true}, loose = {.no_ban_table = true};
    fl_engine *e = fl_engine_new(&strict);
    load_errors[0] = '\0';
    ck_assert_int_eq(fl_engine_load(e, policy, collect, NULL), -1);
    char want[4300];
    snprintf(want, sizeof want,
             "strict.conf:2: BanTable: the directory %s/no/such/dir does not exist",
             T.dir);
    ck_assert_msg(strstr(load_errors, want) != NULL, "%s", load_errors);
    fl_engine_free(e);
    e = fl_engine_new(&loose);
    ck_assert_int_eq(fl_engine_load(e, policy, NULL, NULL), 0);
    fl_engine_free(e);
}
END_TEST

START_TEST(test_checking_a_policy_never_touches_its_ban_table)
{
    tenv_start(&T, "MaxClients 1\n");
    char *path = write_file(T.dir, "bans.state", "");
    char *policy_text = NULL;
    ck_assert_int_gt(asprintf(&policy_text, "BanTable %s\n", path), 0);
    char *policy = write_file(T.dir, "checked.conf", policy_text);
    fl_engine_options opts = {.no_alerts = true, .no_ban_table = true};
    fl_engine *e = fl_engine_new(&opts);
    ck_assert_int_eq(fl_engine_load(e, policy, NULL, NULL), 0);
    ck_assert_int_eq(fl_ban_add(e, FL_BAN_HOST, "192.0.2.1", NULL, SEC, NULL), 0);
    fl_engine_startup(e);
    fl_engine_shutdown(e);
    fl_engine_free(e);
    char *text = read_file(path);
    ck_assert_str_eq(text, "");
    free(text);
    free(policy);
    free(policy_text);
    free(path);
}
END_TEST

/* --- the policy -------------------------------------------------------------- */

START_TEST(test_ban_directives_with_mistakes_are_errors_with_file_and_line)
{
    const struct {
        const char *line;
        const char *error;
    } cases[] = {
        {"BanOnEvent MaxLoginAttempt 3/00:10:00 01:00:00",
         "unknown event 'MaxLoginAttempt'"},
        {"BanOnEvent MaxLoginAttempts 3 01:00:00", "expected count/hh:mm:ss"},
        {"BanOnEvent MaxLoginAttempts 0/00:10:00 01:00:00", "expected count/hh:mm:ss"},
        {"BanOnEvent MaxLoginAttempts 3/00:00:00 01:00:00", "expected count/hh:mm:ss"},
        {"BanOnEvent MaxLoginAttempts 3/00:61:00 01:00:00", "expected count/hh:mm:ss"},
        {"BanOnEvent MaxLoginAttempts 3/00:10:00 1h",
         "expected a ban duration as hh:mm:ss"},
        {"BanOnEvent MaxLoginAttempts 3/00:10:00", "BanOnEvent"},
        {"BanExempt 10.0.0.0/33", "bad CIDR '10.0.0.0/33'"},
        {"BanExempt nosuchclass", "unknown class 'nosuchclass'"},
        {"BanExempt", "BanExempt"},
        {"BanTable", "BanTable"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_policy_error(cases[i].line, cases[i].error, NULL);
    tenv_start(&T, "MaxClients 5\n");
}
END_TEST

START_TEST(test_ban_exempt_may_name_a_class_defined_after_it)
{
    start("BanExempt office\n<Class office>\n From 10.0.0.0/8\n</Class>\n"
          "MaxLoginAttempts 1\nBanOnEvent MaxLoginAttempts 1/00:01:00 01:00:00\n");
    fail_login("a", "10.0.0.1", "x");
    ck_assert_int_eq(nbans(), 0);
}
END_TEST

static Suite *bans_suite(void)
{
    Suite *s = suite_create("bans");
    TCase *tc = tcase_create("bans");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(
        tc, test_a_host_is_banned_after_n_events_and_refused_at_connect_with_421);
    tcase_add_test(
        tc, test_the_ban_event_names_the_kind_the_target_the_rule_and_the_duration);
    tcase_add_test(tc,
                   test_the_window_slides_where_mod_bans_is_fixed_from_the_first_event);
    tcase_add_test(tc, test_an_event_exactly_one_window_old_no_longer_counts);
    tcase_add_test(tc, test_counts_are_per_target_and_per_rule);
    tcase_add_test(tc, test_max_clients_per_user_bans_the_user_at_pass_with_530);
    tcase_add_test(tc, test_max_hosts_per_user_bans_the_user);
    tcase_add_test(tc, test_max_clients_per_class_bans_the_class_at_connect);
    tcase_add_test(tc,
                   test_max_login_attempts_from_user_bans_the_user_at_that_host_only);
    tcase_add_test(tc, test_anon_reject_passwords_and_a_full_event_name_ban_the_host);
    tcase_add_test(tc, test_banning_the_anonymous_user_bans_every_anonymous_login);
    tcase_add_test(tc, test_exempt_addresses_networks_and_classes_are_never_banned);
    tcase_add_test(tc, test_a_network_ban_refuses_every_host_in_it_at_connect);
    tcase_add_test(tc, test_a_ban_expires_on_time_with_ftplimit_ban_expired);
    tcase_add_test(tc, test_bans_added_by_hand_are_listed_extended_and_removed);
    tcase_add_test(tc, test_bad_targets_and_durations_are_refused);
    tcase_add_test(tc, test_the_ban_table_is_bounded_by_max_tracked_hosts);
    tcase_add_test(tc, test_a_reload_keeps_bans_and_restarts_the_counts_of_the_rules);
    tcase_add_test(tc, test_idle_counters_are_forgotten);
    tcase_add_test(tc, test_bans_persist_in_the_ban_table_across_engines);
    tcase_add_test(tc,
                   test_the_ban_table_is_saved_at_shutdown_and_bad_lines_are_skipped);
    tcase_add_test(tc, test_an_unwritable_ban_table_is_reported_and_bans_still_work);
    tcase_add_test(tc, test_checking_a_policy_never_touches_its_ban_table);
    tcase_add_test(tc,
                   test_a_ban_table_the_daemon_cannot_write_is_an_error_at_its_line);
    tcase_add_test(tc, test_ban_directives_with_mistakes_are_errors_with_file_and_line);
    tcase_add_test(tc, test_ban_exempt_may_name_a_class_defined_after_it);
    tcase_add_test(tc, test_the_ban_table_loader_takes_only_what_the_protocol_takes);
    tcase_add_test(tc, test_the_ban_table_is_0640_and_a_planted_link_is_not_followed);
    tcase_add_test(tc, test_a_ban_table_save_that_runs_out_of_room_keeps_the_old_table);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(bans_suite()) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
