/*
 * check_timers.c - the Timers API on a virtual clock.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ftplimit/ftplimit.h>

#include "util/alloc.h"
#include "testutil.h"

#define SEC FL_USEC_PER_SEC

static fl_engine *eng;
static fl_vclock clk;
static trail tr;

static void setup(void)
{
    clk.now = 1000 * SEC;
    fl_engine_options opts = {.clock = fl_vclock_read, .clock_arg = &clk};
    eng = fl_engine_new(&opts);
    ck_assert_ptr_nonnull(eng);
    trail_reset(&tr);
}

static void teardown(void)
{
    fl_engine_free(eng);
    eng = NULL;
}

/* Advance the virtual clock and run what fell due. */
static int advance(fl_usec by)
{
    clk.now += by;
    return fl_timers_run(eng);
}

struct tally {
    int calls;
    int keep; /* calls after which the callback returns 0; -1: forever */
    fl_usec last_interval, last_elapsed;
    int last_timerno;
    const char *tag;
};

static int tally_cb(fl_usec interval, int timerno, fl_usec elapsed, void *data)
{
    struct tally *t = data;
    t->calls++;
    t->last_interval = interval;
    t->last_timerno = timerno;
    t->last_elapsed = elapsed;
    if (t->tag != NULL)
        trail_add(&tr, t->tag);
    return t->keep < 0 || t->calls < t->keep;
}

START_TEST(test_add_refuses_a_nonpositive_interval_a_null_callback_and_bad_numbers)
{
    struct tally t = {.keep = -1};
    errno = 0;
    ck_assert_int_eq(fl_timer_add(eng, 0, 1, NULL, tally_cb, &t), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(fl_timer_add(eng, -5, 1, NULL, tally_cb, &t), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(fl_timer_add_usec(eng, 0, 1, NULL, tally_cb, &t), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(fl_timer_add(eng, 1, 1, NULL, NULL, &t), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(fl_timer_add(eng, 1, -2, NULL, tally_cb, &t), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(fl_timers_count(eng), 0);
}
END_TEST

START_TEST(test_dynamic_timer_numbers_start_at_1024_and_count_up)
{
    struct tally t = {.keep = -1};
    ck_assert_int_eq(fl_timer_add(eng, 1, FL_TIMER_DYNAMIC, NULL, tally_cb, &t), 1024);
    ck_assert_int_eq(fl_timer_add(eng, 1, FL_TIMER_DYNAMIC, NULL, tally_cb, &t), 1025);
    ck_assert_int_eq(fl_timer_add(eng, 1, FL_TIMER_DYNAMIC, NULL, tally_cb, &t), 1026);
}
END_TEST

START_TEST(test_dynamic_timer_numbers_are_never_reused)
{
    struct tally t = {.keep = -1};
    ck_assert_int_eq(fl_timer_add(eng, 1, FL_TIMER_DYNAMIC, NULL, tally_cb, &t), 1024);
    ck_assert_int_eq(fl_timer_remove(eng, 1024, FL_ANY_MODULE), 1024);
    ck_assert_int_eq(fl_timer_add(eng, 1, FL_TIMER_DYNAMIC, NULL, tally_cb, &t), 1025);
    /* A number taken explicitly is skipped by the dynamic sequence. */
    ck_assert_int_eq(fl_timer_add(eng, 1, 1026, NULL, tally_cb, &t), 1026);
    ck_assert_int_eq(fl_timer_add(eng, 1, FL_TIMER_DYNAMIC, NULL, tally_cb, &t), 1027);
}
END_TEST

START_TEST(test_adding_a_number_already_in_use_fails_with_eperm)
{
    struct tally t = {.keep = -1};
    fl_module *a = fl_module_load(eng, "mod_a.c");
    fl_module *b = fl_module_load(eng, "mod_b.c");
    ck_assert_int_eq(fl_timer_add(eng, 1, 7, a, tally_cb, &t), 7);
    errno = 0;
    ck_assert_int_eq(fl_timer_add(eng, 2, 7, a, tally_cb, &t), -1);
    ck_assert_int_eq(errno, EPERM);
    /* The number is taken whichever module asks. */
    errno = 0;
    ck_assert_int_eq(fl_timer_add(eng, 2, 7, b, tally_cb, &t), -1);
    ck_assert_int_eq(errno, EPERM);
    ck_assert_int_eq(fl_timers_count(eng), 1);
}
END_TEST

START_TEST(test_a_timer_fires_once_its_interval_has_passed_and_not_before)
{
    struct tally t = {.keep = 0};
    ck_assert_int_eq(fl_timer_add(eng, 5, 1, NULL, tally_cb, &t), 1);
    ck_assert_int_eq(advance(4 * SEC), 0);
    ck_assert_int_eq(advance(SEC - 1), 0);
    ck_assert_int_eq(t.calls, 0);
    ck_assert_int_eq(advance(1), 1);
    ck_assert_int_eq(t.calls, 1);
}
END_TEST

START_TEST(test_a_callback_returning_nonzero_fires_again_each_interval)
{
    struct tally t = {.keep = -1};
    fl_timer_add(eng, 2, 1, NULL, tally_cb, &t);
    advance(2 * SEC);
    advance(2 * SEC);
    advance(2 * SEC);
    ck_assert_int_eq(t.calls, 3);
    ck_assert_int_eq(fl_timers_count(eng), 1);
}
END_TEST

START_TEST(test_a_callback_returning_zero_stops_the_timer)
{
    struct tally t = {.keep = 2};
    fl_timer_add(eng, 1, 1, NULL, tally_cb, &t);
    for (int i = 0; i < 5; i++)
        advance(SEC);
    ck_assert_int_eq(t.calls, 2);
    ck_assert_int_eq(fl_timers_count(eng), 0);
    /* Its number is free again. */
    ck_assert_int_eq(fl_timer_add(eng, 1, 1, NULL, tally_cb, &t), 1);
}
END_TEST

START_TEST(test_the_callback_receives_interval_number_elapsed_time_and_data)
{
    struct tally t = {.keep = 0};
    ck_assert_int_eq(fl_timer_add_usec(eng, 1500, 77, NULL, tally_cb, &t), 77);
    advance(2000);
    ck_assert_int_eq(t.calls, 1);
    ck_assert_int_eq(t.last_interval, 1500);
    ck_assert_int_eq(t.last_timerno, 77);
    ck_assert_int_eq(t.last_elapsed, 2000);
}
END_TEST

START_TEST(test_sub_second_intervals_are_honoured_in_microseconds)
{
    struct tally t = {.keep = -1};
    fl_timer_add_usec(eng, 250000, 1, NULL, tally_cb, &t);
    ck_assert_int_eq(fl_timers_timeout(eng), 250000);
    for (int i = 0; i < 8; i++)
        advance(125000);
    ck_assert_int_eq(t.calls, 4);
}
END_TEST

START_TEST(test_remove_with_any_module_matches_any_owner)
{
    struct tally t = {.keep = -1};
    fl_module *a = fl_module_load(eng, "mod_a.c");
    fl_timer_add(eng, 1, 10, a, tally_cb, &t);
    errno = 0;
    ck_assert_int_eq(fl_timer_remove(eng, 10, NULL), -1);
    ck_assert_int_eq(errno, ENOENT);
    ck_assert_int_eq(fl_timer_remove(eng, 10, FL_ANY_MODULE), 10);
    ck_assert_int_eq(fl_timers_count(eng), 0);
    advance(5 * SEC);
    ck_assert_int_eq(t.calls, 0);
}
END_TEST

START_TEST(test_remove_of_a_missing_timer_fails_with_enoent)
{
    errno = 0;
    ck_assert_int_eq(fl_timer_remove(eng, 5, FL_ANY_MODULE), -1);
    ck_assert_int_eq(errno, ENOENT);
    errno = 0;
    ck_assert_int_eq(fl_timer_remove(eng, -1, FL_ANY_MODULE), -1);
    ck_assert_int_eq(errno, ENOENT);
}
END_TEST

START_TEST(test_remove_minus_one_removes_every_timer_of_the_module_and_counts_them)
{
    struct tally t = {.keep = -1};
    fl_module *a = fl_module_load(eng, "mod_a.c");
    fl_module *b = fl_module_load(eng, "mod_b.c");
    fl_timer_add(eng, 1, FL_TIMER_DYNAMIC, a, tally_cb, &t);
    fl_timer_add(eng, 1, FL_TIMER_DYNAMIC, a, tally_cb, &t);
    fl_timer_add(eng, 1, FL_TIMER_DYNAMIC, b, tally_cb, &t);
    ck_assert_int_eq(fl_timer_remove(eng, -1, a), 2);
    ck_assert_int_eq(fl_timers_count(eng), 1);
    ck_assert_int_eq(fl_timer_remove(eng, -1, FL_ANY_MODULE), 1);
    ck_assert_int_eq(fl_timers_count(eng), 0);
}
END_TEST

START_TEST(test_reset_postpones_the_deadline_by_a_full_interval)
{
    struct tally t = {.keep = 0};
    fl_timer_add(eng, 10, 3, NULL, tally_cb, &t);
    advance(8 * SEC);
    ck_assert_int_eq(fl_timer_reset(eng, 3, FL_ANY_MODULE), 3);
    advance(8 * SEC);
    ck_assert_int_eq(t.calls, 0);
    advance(2 * SEC);
    ck_assert_int_eq(t.calls, 1);
    ck_assert_int_eq(fl_timer_reset(eng, 3, FL_ANY_MODULE), 0);
    ck_assert_int_eq(fl_timer_reset(eng, 99, NULL), 0);
}
END_TEST

START_TEST(test_blocked_timers_fire_once_when_the_last_nested_block_is_lifted)
{
    struct tally t = {.keep = -1};
    fl_timer_add(eng, 1, 1, NULL, tally_cb, &t);
    fl_timers_block(eng);
    fl_timers_block(eng);
    ck_assert_int_eq(fl_timers_timeout(eng), -1);
    ck_assert_int_eq(advance(5 * SEC), 0); /* five intervals pass while blocked */
    fl_timers_unblock(eng);
    ck_assert_int_eq(t.calls, 0); /* still blocked once */
    fl_timers_unblock(eng);
    ck_assert_int_eq(t.calls, 1); /* one catch-up, not five */
    ck_assert_int_eq(advance(SEC), 1);
    ck_assert_int_eq(t.calls, 2);
    fl_timers_unblock(eng); /* unbalanced unblock is harmless */
    ck_assert_int_eq(t.calls, 2);
}
END_TEST

struct adder {
    struct tally child;
    int added;
};

static int adding_cb(fl_usec interval, int timerno, fl_usec elapsed, void *data)
{
    (void)interval;
    (void)timerno;
    (void)elapsed;
    struct adder *a = data;
    a->added = fl_timer_add(eng, 1, FL_TIMER_DYNAMIC, NULL, tally_cb, &a->child);
    return 0;
}

START_TEST(test_a_timer_added_inside_a_callback_fires_after_its_own_interval)
{
    struct adder a = {.child = {.keep = 0}};
    fl_timer_add(eng, 1, 1, NULL, adding_cb, &a);
    advance(SEC);
    ck_assert_int_eq(a.added, 1024);
    ck_assert_int_eq(a.child.calls, 0);
    advance(SEC);
    ck_assert_int_eq(a.child.calls, 1);
}
END_TEST

static int self_removing_cb(fl_usec interval, int timerno, fl_usec elapsed, void *data)
{
    (void)interval;
    (void)elapsed;
    (*(int *)data)++;
    ck_assert_int_eq(fl_timer_remove(eng, timerno, FL_ANY_MODULE), timerno);
    return 1; /* ignored: the timer is gone */
}

START_TEST(test_a_timer_removed_inside_its_own_callback_ends_safely)
{
    int calls = 0;
    fl_timer_add(eng, 1, 1, NULL, self_removing_cb, &calls);
    advance(SEC);
    advance(SEC);
    ck_assert_int_eq(calls, 1);
    ck_assert_int_eq(fl_timers_count(eng), 0);
}
END_TEST

static int removing_other_cb(fl_usec interval, int timerno, fl_usec elapsed, void *data)
{
    (void)interval;
    (void)timerno;
    (void)elapsed;
    trail_add(&tr, "remover");
    ck_assert_int_eq(fl_timer_remove(eng, *(int *)data, FL_ANY_MODULE), *(int *)data);
    return 0;
}

START_TEST(test_a_callback_may_remove_another_timer_due_in_the_same_run)
{
    struct tally victim = {.keep = -1, .tag = "victim"};
    int victim_no = 2;
    fl_timer_add(eng, 1, 1, NULL, removing_other_cb, &victim_no);
    fl_timer_add(eng, 1, 2, NULL, tally_cb, &victim);
    ck_assert_int_eq(advance(SEC), 1);
    ck_assert_str_eq(tr.text, "remover,");
    ck_assert_int_eq(fl_timers_count(eng), 0);
}
END_TEST

START_TEST(test_timers_due_at_the_same_time_fire_in_the_order_they_were_armed)
{
    struct tally a = {.keep = 0, .tag = "a"}, b = {.keep = 0, .tag = "b"},
                 c = {.keep = 0, .tag = "c"};
    fl_timer_add(eng, 3, 30, NULL, tally_cb, &c);
    fl_timer_add(eng, 2, 10, NULL, tally_cb, &a);
    advance(SEC);
    fl_timer_add(eng, 1, 20, NULL, tally_cb, &b);
    advance(5 * SEC);
    /* a and b share a deadline: a was armed first. c is due a second later. */
    ck_assert_str_eq(tr.text, "a,b,c,");
}
END_TEST

START_TEST(test_next_deadline_and_timeout_tell_an_event_loop_when_to_wake)
{
    struct tally t = {.keep = -1};
    ck_assert_int_eq(fl_timers_next_deadline(eng), FL_NEVER);
    ck_assert_int_eq(fl_timers_timeout(eng), -1);
    fl_timer_add(eng, 3, 1, NULL, tally_cb, &t);
    fl_timer_add_usec(eng, 500000, 2, NULL, tally_cb, &t);
    ck_assert_int_eq(fl_timers_next_deadline(eng), clk.now + 500000);
    ck_assert_int_eq(fl_timers_timeout(eng), 500000);
    clk.now += 600000;
    ck_assert_int_eq(fl_timers_timeout(eng), 0);
}
END_TEST

START_TEST(test_the_seconds_wrapper_counts_whole_seconds)
{
    struct tally t = {.keep = 0};
    fl_timer_add(eng, 2, 1, NULL, tally_cb, &t);
    ck_assert_int_eq(fl_timers_timeout(eng), 2 * SEC);
}
END_TEST

START_TEST(test_adding_a_timer_out_of_memory_fails_cleanly_at_every_allocation)
{
    struct tally t = {.keep = 0};
    for (long n = 1;; n++) {
        fl_fault_fail_alloc_at(n);
        int rc = fl_timer_add(eng, 1, 5, NULL, tally_cb, &t);
        bool fired = fl_fault_fired();
        fl_fault_fail_alloc_at(0);
        if (!fired) {
            ck_assert_int_eq(rc, 5);
            break;
        }
        ck_assert_int_eq(rc, -1);
        ck_assert_int_eq(errno, ENOMEM);
        ck_assert_int_eq(fl_timers_count(eng), 0);
    }
    advance(SEC);
    ck_assert_int_eq(t.calls, 1);
}
END_TEST

static Suite *timers_suite(void)
{
    Suite *s = suite_create("timers");
    TCase *tc = tcase_create("timers");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(
        tc, test_add_refuses_a_nonpositive_interval_a_null_callback_and_bad_numbers);
    tcase_add_test(tc, test_dynamic_timer_numbers_start_at_1024_and_count_up);
    tcase_add_test(tc, test_dynamic_timer_numbers_are_never_reused);
    tcase_add_test(tc, test_adding_a_number_already_in_use_fails_with_eperm);
    tcase_add_test(tc, test_a_timer_fires_once_its_interval_has_passed_and_not_before);
    tcase_add_test(tc, test_a_callback_returning_nonzero_fires_again_each_interval);
    tcase_add_test(tc, test_a_callback_returning_zero_stops_the_timer);
    tcase_add_test(tc,
                   test_the_callback_receives_interval_number_elapsed_time_and_data);
    tcase_add_test(tc, test_sub_second_intervals_are_honoured_in_microseconds);
    tcase_add_test(tc, test_remove_with_any_module_matches_any_owner);
    tcase_add_test(tc, test_remove_of_a_missing_timer_fails_with_enoent);
    tcase_add_test(
        tc, test_remove_minus_one_removes_every_timer_of_the_module_and_counts_them);
    tcase_add_test(tc, test_reset_postpones_the_deadline_by_a_full_interval);
    tcase_add_test(tc,
                   test_blocked_timers_fire_once_when_the_last_nested_block_is_lifted);
    tcase_add_test(tc,
                   test_a_timer_added_inside_a_callback_fires_after_its_own_interval);
    tcase_add_test(tc, test_a_timer_removed_inside_its_own_callback_ends_safely);
    tcase_add_test(tc, test_a_callback_may_remove_another_timer_due_in_the_same_run);
    tcase_add_test(tc,
                   test_timers_due_at_the_same_time_fire_in_the_order_they_were_armed);
    tcase_add_test(tc, test_next_deadline_and_timeout_tell_an_event_loop_when_to_wake);
    tcase_add_test(tc, test_the_seconds_wrapper_counts_whole_seconds);
    tcase_add_test(tc,
                   test_adding_a_timer_out_of_memory_fails_cleanly_at_every_allocation);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(timers_suite()) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
