/*
 * check_lifecycle.c - the engine's lifecycle events and their order.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ftplimit/ftplimit.h>

#include "testutil.h"

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

static Suite *lifecycle_suite(void)
{
    Suite *s = suite_create("lifecycle");
    TCase *tc = tcase_create("lifecycle");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_startup_generates_core_startup_once);
    tcase_add_test(tc, test_shutdown_generates_core_exit_before_core_shutdown_once);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(lifecycle_suite()) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
