/*
 * check_lifecycle.c - the engine's lifecycle events and their order.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ftplimit/ftplimit.h>

#include "engineutil.h"

static fl_engine *eng;
static trail tr;
static mark m_startup, m_exit, m_shutdown;

static void setup(void)
{
    eng = fl_engine_new(NULL);
    ck_assert_ptr_nonnull(eng);
    trail_reset(&tr);
    m_startup = (mark){&tr, FL_EV_STARTUP};
    m_exit = (mark){&tr, FL_EV_EXIT};
    m_shutdown = (mark){&tr, FL_EV_SHUTDOWN};
    fl_event_register(eng, NULL, FL_EV_STARTUP, mark_cb1, &m_startup);
    fl_event_register(eng, NULL, FL_EV_EXIT, mark_cb1, &m_exit);
    fl_event_register(eng, NULL, FL_EV_SHUTDOWN, mark_cb1, &m_shutdown);
}

static void teardown(void)
{
    fl_engine_free(eng);
}

START_TEST(test_startup_generates_core_startup_once)
{
    ck_assert_int_eq(fl_engine_startup(eng), 0);
    errno = 0;
    ck_assert_int_eq(fl_engine_startup(eng), -1);
    ck_assert_int_eq(errno, EALREADY);
    ck_assert_str_eq(tr.text, "core.startup,");
}
END_TEST

START_TEST(test_shutdown_generates_core_exit_before_core_shutdown_once)
{
    fl_engine_startup(eng);
    trail_reset(&tr);
    fl_engine_shutdown(eng);
    fl_engine_shutdown(eng);
    ck_assert_str_eq(tr.text, "core.exit,core.shutdown,");
}
END_TEST

/* --- with a policy and sessions (engineutil's tenv) ----------------------- */

static tenv T;

static void tenv_teardown(void)
{
    tenv_stop(&T);
}

START_TEST(test_load_generates_preparse_then_postparse_before_startup)
{
    fl_engine *e = fl_engine_new(NULL);
    trail_reset(&tr);
    mark pre = {&tr, "pre"}, post = {&tr, "post"}, up = {&tr, "startup"};
    fl_event_register(e, NULL, FL_EV_PREPARSE, mark_cb1, &pre);
    fl_event_register(e, NULL, FL_EV_POSTPARSE, mark_cb1, &post);
    fl_event_register(e, NULL, FL_EV_STARTUP, mark_cb1, &up);
    ck_assert_int_eq(fl_engine_load(e, NULL, NULL, NULL), 0);
    ck_assert_int_eq(fl_engine_startup(e), 0);
    ck_assert_str_eq(tr.text, "pre,post,startup,");
    fl_engine_free(e);
    tenv_start(&T, NULL);
}
END_TEST

START_TEST(test_a_failed_load_generates_no_postparse)
{
    fl_engine *e = fl_engine_new(NULL);
    trail_reset(&tr);
    mark pre = {&tr, "pre"}, post = {&tr, "post"};
    fl_event_register(e, NULL, FL_EV_PREPARSE, mark_cb1, &pre);
    fl_event_register(e, NULL, FL_EV_POSTPARSE, mark_cb1, &post);
    ck_assert_int_eq(fl_engine_load(e, "/nonexistent/policy.conf", NULL, NULL), -1);
    ck_assert_str_eq(tr.text, "pre,");
    fl_engine_free(e);
    tenv_start(&T, NULL);
}
END_TEST

START_TEST(test_restart_generates_restart_then_preparse_and_postparse)
{
    tenv_start(&T, "MaxClients 3\n");
    ck_assert_int_eq(tenv_reload(&T, "MaxClients 4\n"), 0);
    ck_assert_str_eq(T.events.text, "core.restart,core.preparse,core.postparse,");
}
END_TEST

static void counts_at_exit_cb(const void *data, void *user_data)
{
    const fl_event_info *info = data;
    if (info == NULL)
        return;
    tenv *t = user_data;
    fl_addr a;
    fl_counts c;
    fl_addr_parse(info->address, &a);
    fl_totals tot;
    fl_engine_totals(t->e, &tot);
    char word[128];
    snprintf(word, sizeof word, "exit %s: host=%d sessions=%zu clients=%zu session=%s",
             info->sid, fl_count_host(t->e, &a, &c), tot.sessions, tot.clients,
             fl_session_find(t->e, info->sid) ? "alive" : "gone");
    trail_add(&tr, word);
}

START_TEST(test_a_session_is_released_before_its_core_exit)
{
    tenv_start(&T, NULL);
    trail_reset(&tr);
    ck_assert_int_eq(fl_event_register(T.e, NULL, FL_EV_EXIT, counts_at_exit_cb, &T),
                     0);
    t_login(&T, "a", "10.0.0.1", "alice", NULL);
    t_close(&T, "a");
    ck_assert_str_eq(tr.text, "exit a: host=-1 sessions=0 clients=0 session=gone,");
}
END_TEST

START_TEST(test_shutdown_ends_each_session_then_exits_then_shuts_down)
{
    tenv_start(&T, NULL);
    t_login(&T, "a", "10.0.0.1", "alice", NULL);
    t_connect(&T, "b", "10.0.0.2", NULL);
    trail_reset(&T.events);
    fl_engine_shutdown(T.e);
    ck_assert_str_eq(T.events.text,
                     "core.exit(a),core.exit(b),core.exit,core.shutdown,");
    fl_totals tot;
    fl_engine_totals(T.e, &tot);
    ck_assert_int_eq(tot.sessions, 0);
    ck_assert_int_eq(tot.hosts, 0);
    fl_session *s;
    fl_decision d;
    fl_connect_info ci = {.sid = "c"};
    fl_addr_parse("10.0.0.3", &ci.addr);
    errno = 0;
    ck_assert_int_eq(fl_connect(T.e, &ci, &s, &d), -1);
    ck_assert_int_eq(errno, ESHUTDOWN);
}
END_TEST

START_TEST(test_listeners_registered_once_keep_working_across_restarts)
{
    tenv_start(&T, "MaxClientsPerHost 1\n");
    trail_reset(&tr);
    mark m = {&tr, "limit"};
    ck_assert_int_eq(
        fl_event_register(T.e, NULL, FL_EV_MAX_CLIENTS_PER_HOST, mark_cb2, &m), 0);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(tenv_reload(&T, "MaxClientsPerHost 1\n"), 0);
        t_login(&T, "a", "10.0.0.1", "u", NULL);
        t_login(&T, "b", "10.0.0.1", "v", NULL);
        t_close(&T, "a");
    }
    ck_assert_str_eq(tr.text, "limit,limit,limit,");
}
END_TEST

/* The seeds' pattern: a listener whose user_data dies on restart unregisters
 * and registers itself again, from core.restart, with fresh data. */
struct generation {
    tenv *t;
    int number;
    trail *log;
};
static struct generation generations[4];
static int current_generation;

static void versioned_cb(const void *data, void *user_data)
{
    (void)data;
    struct generation *g = user_data;
    char word[32];
    snprintf(word, sizeof word, "gen%d", g->number);
    trail_add(g->log, word);
}

static void reregister_cb(const void *data, void *user_data)
{
    (void)data;
    tenv *t = user_data;
    ck_assert_int_eq(fl_event_unregister(t->e, NULL, FL_EV_MAX_CLIENTS, versioned_cb),
                     0);
    struct generation *g = &generations[++current_generation];
    *g = (struct generation){t, current_generation, &tr};
    ck_assert_int_eq(fl_event_register(t->e, NULL, FL_EV_MAX_CLIENTS, versioned_cb, g),
                     0);
}

START_TEST(test_a_listener_re_registered_on_restart_receives_its_new_user_data)
{
    tenv_start(&T, "MaxClients 1\n");
    trail_reset(&tr);
    current_generation = 0;
    generations[0] = (struct generation){&T, 0, &tr};
    fl_event_register(T.e, NULL, FL_EV_MAX_CLIENTS, versioned_cb, &generations[0]);
    fl_event_register(T.e, NULL, FL_EV_RESTART, reregister_cb, &T);
    t_login(&T, "a", "10.0.0.1", "u", NULL);
    t_login(&T, "b", "10.0.0.2", "v", NULL);
    tenv_reload(&T, "MaxClients 1\n");
    t_login(&T, "b", "10.0.0.2", "v", NULL);
    tenv_reload(&T, "MaxClients 1\n");
    t_login(&T, "b", "10.0.0.2", "v", NULL);
    ck_assert_str_eq(tr.text, "gen0,gen1,gen2,");
    ck_assert_int_eq(fl_event_listening(T.e, FL_EV_MAX_CLIENTS),
                     2); /* + engineutil's */
}
END_TEST

static Suite *lifecycle_suite(void)
{
    Suite *s = suite_create("lifecycle");
    TCase *tc = tcase_create("lifecycle");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_startup_generates_core_startup_once);
    tcase_add_test(tc, test_shutdown_generates_core_exit_before_core_shutdown_once);
    suite_add_tcase(s, tc);

    TCase *tp = tcase_create("policy and sessions");
    tcase_add_checked_fixture(tp, NULL, tenv_teardown);
    tcase_add_test(tp, test_load_generates_preparse_then_postparse_before_startup);
    tcase_add_test(tp, test_a_failed_load_generates_no_postparse);
    tcase_add_test(tp, test_restart_generates_restart_then_preparse_and_postparse);
    tcase_add_test(tp, test_a_session_is_released_before_its_core_exit);
    tcase_add_test(tp, test_shutdown_ends_each_session_then_exits_then_shuts_down);
    tcase_add_test(tp, test_listeners_registered_once_keep_working_across_restarts);
    tcase_add_test(tp,
                   test_a_listener_re_registered_on_restart_receives_its_new_user_data);
    suite_add_tcase(s, tp);
    return s;
}

int main(void)
{
    return run_suite(lifecycle_suite()) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
