/*
 * check_reload.c - a reload applies completely or changes nothing, for the
 * limits and for every module (mod_ban's rules and table, mod_alerts'
 * listeners): each allocation the reload makes (parsing, each module's
 * prepare, the tables) fails in turn, and after each failure the old
 * policy is whole -- its description, its rules and its listeners.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engineutil.h"
#include "util/alloc.h"

static tenv T;

static void teardown(void)
{
    tenv_stop(&T);
}

static const char old_policy[] = "MaxClientsPerHost 1\n"
                                 "BanOnEvent MaxClientsPerHost 2/00:01:00 00:10:00\n"
                                 "OnEvent mod_auth.* jsonl @DIR@/old.jsonl\n";
static const char new_policy[] = "MaxClientsPerHost 3\n"
                                 "MaxLoginAttempts 1\n"
                                 "BanOnEvent MaxLoginAttempts 1/00:01:00 00:10:00\n"
                                 "BanOnEvent ftplimit.table-full 1/00:01:00 00:10:00\n"
                                 "BanTable @DIR@/bans.jsonl\n"
                                 "OnEvent * jsonl @DIR@/new.jsonl\n"
                                 "OnEvent mod_auth.* jsonl @DIR@/auth.jsonl\n"
                                 "AlertSuppress 5\n";

static void describe_line(void *arg, const char *line)
{
    trail_add(arg, line);
}

static void describe(trail *out)
{
    trail_reset(out);
    fl_policy_describe(T.e, describe_line, out);
}

static long lines_in(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", T.dir, name);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    long n = 0;
    for (int c; (c = getc(f)) != EOF;)
        n += c == '\n';
    fclose(f);
    return n;
}

/* The old policy at work, from a host of its own (the n-th): its limit
 * refuses a second client, its listener writes the refusal, and its rule
 * bans the host at the second refusal. */
static void assert_old_policy_works(long n)
{
    char addr[32], sid[32];
    snprintf(addr, sizeof addr, "10.1.%ld.%ld", n / 250, n % 250 + 1);
    long before = lines_in("old.jsonl");
    for (int i = 0; i < 3; i++) {
        snprintf(sid, sizeof sid, "s%ld.%d", n, i);
        fl_verdict v = t_login(&T, sid, addr, "u", NULL);
        ck_assert_int_eq(v, i == 0 ? FL_ALLOW : FL_DISCONNECT);
    }
    ck_assert_int_eq(lines_in("old.jsonl"), before + 2);
    ck_assert_int_eq(lines_in("new.jsonl"), -1);
    snprintf(sid, sizeof sid, "s%ld.banned", n);
    fl_decision d;
    ck_assert_int_eq(t_connect(&T, sid, addr, &d), FL_DISCONNECT);
    ck_assert_str_eq(d.limit, "Ban");
    snprintf(sid, sizeof sid, "s%ld.0", n);
    t_close(&T, sid);
    ck_assert_int_eq(fl_ban_remove(T.e, FL_BAN_HOST, addr, NULL), 0);
}

START_TEST(test_a_reload_that_runs_out_of_memory_anywhere_changes_nothing)
{
    tenv_start(&T, old_policy);
    trail before = {{0}}, now = {{0}};
    describe(&before);
    ck_assert_ptr_nonnull(strstr(before.text, "BanOnEvent MaxClientsPerHost"));
    assert_old_policy_works(0);

    long n, adopt_failures = 0;
    for (n = 1;; n++) {
        fl_fault_fail_alloc_at(n);
        int rc = tenv_reload(&T, new_policy);
        bool fired = fl_fault_fired();
        fl_fault_fail_alloc_at(0);
        if (!fired) {
            ck_assert_int_eq(rc, 0);
            break;
        }
        ck_assert_msg(rc == -1, "allocation %ld failed and the reload succeeded", n);
        /* The parser names the line it was reading; a failure while the
         * modules prepare or the tables adopt the policy does not. */
        if (strcmp(T.errors.text, "out of memory,") == 0)
            adopt_failures++;
        describe(&now);
        ck_assert_str_eq(now.text, before.text);
        assert_old_policy_works(n);
    }
    /* Failures fell in both modules' prepare (mod_ban: its new taps;
     * mod_alerts: two listeners, each a module with copies), not only in
     * the parser. */
    ck_assert_int_ge(adopt_failures, 8);

    /* Then the new policy is whole. */
    describe(&now);
    ck_assert_ptr_nonnull(strstr(now.text, "MaxClientsPerHost 3,"));
    ck_assert_ptr_nonnull(strstr(now.text, "BanOnEvent MaxLoginAttempts"));
    ck_assert_ptr_nonnull(strstr(now.text, "AlertSuppress 5,"));
    ck_assert_ptr_null(fl_module_find(T.e, "onevent#1.1:jsonl"));
    ck_assert_ptr_nonnull(fl_module_find(T.e, "onevent#2.1:jsonl"));
    ck_assert_ptr_nonnull(fl_module_find(T.e, "onevent#2.2:jsonl"));
    ck_assert_int_eq(t_connect(&T, "x", "10.9.0.1", NULL), FL_ALLOW);
    ck_assert_int_eq(t_user(&T, "x", "u", NULL), FL_ALLOW);
    ck_assert_int_eq(t_pass(&T, "x", false, NULL, NULL), FL_DISCONNECT);
    fl_decision d;
    ck_assert_int_eq(t_connect(&T, "y", "10.9.0.1", &d), FL_DISCONNECT);
    ck_assert_str_eq(d.limit, "Ban");
    ck_assert_int_gt(lines_in("new.jsonl"), 0);
}
END_TEST

START_TEST(test_a_reload_the_tables_refuse_leaves_the_modules_as_they_were)
{
    /* A new class makes the tables adopt the policy with allocations of
     * their own: every module has prepared by then, and must abort. */
    tenv_start(&T, old_policy);
    trail before = {{0}}, now = {{0}};
    describe(&before);
    char text[1024];
    snprintf(text, sizeof text,
             "%s<Class lan>\nFrom 10.0.0.0/8\n</Class>\n"
             "MaxClientsPerClass lan 5\n",
             new_policy);
    for (long n = 1;; n++) {
        fl_fault_fail_alloc_at(n);
        int rc = tenv_reload(&T, text);
        bool fired = fl_fault_fired();
        fl_fault_fail_alloc_at(0);
        if (!fired)
            break;
        ck_assert_int_eq(rc, -1);
        describe(&now);
        ck_assert_str_eq(now.text, before.text);
        ck_assert_ptr_nonnull(fl_module_find(T.e, "onevent#1.1:jsonl"));
        ck_assert_ptr_null(fl_module_find(T.e, "onevent#2.1:jsonl"));
        assert_old_policy_works(n);
    }
    describe(&now);
    ck_assert_ptr_nonnull(strstr(now.text, "MaxClientsPerClass lan 5,"));
    ck_assert_ptr_nonnull(fl_module_find(T.e, "onevent#2.1:jsonl"));
}
END_TEST

static Suite *reload_suite(void)
{
    Suite *s = suite_create("reload");
    TCase *tc = tcase_create("all or nothing");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_a_reload_that_runs_out_of_memory_anywhere_changes_nothing);
    tcase_add_test(tc, test_a_reload_the_tables_refuse_leaves_the_modules_as_they_were);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(reload_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
