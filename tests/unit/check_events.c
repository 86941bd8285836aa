/*
 * check_events.c - the Events API: registration, order, wildcards, dispatch
 * safety, modules.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ftplimit/ftplimit.h>
#include <ftplimit/json.h>

#include "util/alloc.h"
#include "json_agree.h"
#include "proto/json_read.h"
#include "testutil.h"

static fl_engine *eng;
static trail tr;

static void setup(void)
{
    eng = fl_engine_new(NULL);
    ck_assert_ptr_nonnull(eng);
    trail_reset(&tr);
}

static void teardown(void)
{
    fl_engine_free(eng);
    eng = NULL;
}

START_TEST(test_register_refuses_null_event_or_callback)
{
    mark m = {&tr, "a"};
    errno = 0;
    ck_assert_int_eq(fl_event_register(eng, NULL, NULL, mark_cb1, &m), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(fl_event_register(eng, NULL, "x", NULL, &m), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(fl_event_listening(eng, "x"), 0);
}
END_TEST

START_TEST(test_listeners_run_in_module_load_order_across_three_modules)
{
    fl_module *a = fl_module_load(eng, "mod_a.c");
    fl_module *b = fl_module_load(eng, "mod_b.c");
    fl_module *c = fl_module_load(eng, "mod_c.c");
    mark ma = {&tr, "a"}, mb = {&tr, "b"}, mc = {&tr, "c"}, core = {&tr, "core"};

    /* Registered in an order unrelated to the load order. */
    ck_assert_int_eq(fl_event_register(eng, NULL, "ev", mark_cb1, &core), 0);
    ck_assert_int_eq(fl_event_register(eng, c, "ev", mark_cb1, &mc), 0);
    ck_assert_int_eq(fl_event_register(eng, a, "ev", mark_cb1, &ma), 0);
    ck_assert_int_eq(fl_event_register(eng, b, "ev", mark_cb1, &mb), 0);

    ck_assert_int_eq(fl_event_generate(eng, "ev", NULL), 4);
    ck_assert_str_eq(tr.text, "a,b,c,core,");
}
END_TEST

START_TEST(test_listeners_of_one_module_run_in_registration_order)
{
    fl_module *a = fl_module_load(eng, "mod_a.c");
    mark m1 = {&tr, "1"}, m2 = {&tr, "2"}, m3 = {&tr, "3"};
    ck_assert_int_eq(fl_event_register(eng, a, "ev", mark_cb3, &m3), 0);
    ck_assert_int_eq(fl_event_register(eng, a, "ev", mark_cb1, &m1), 0);
    ck_assert_int_eq(fl_event_register(eng, a, "ev", mark_cb2, &m2), 0);
    fl_event_generate(eng, "ev", NULL);
    ck_assert_str_eq(tr.text, "3,1,2,");
}
END_TEST

START_TEST(test_duplicate_registration_is_refused_with_eexist)
{
    fl_module *a = fl_module_load(eng, "mod_a.c");
    fl_module *b = fl_module_load(eng, "mod_b.c");
    mark m1 = {&tr, "1"}, m2 = {&tr, "2"};
    ck_assert_int_eq(fl_event_register(eng, a, "ev", mark_cb1, &m1), 0);
    errno = 0;
    /* Same module, event and callback: refused, whatever the user_data. */
    ck_assert_int_eq(fl_event_register(eng, a, "ev", mark_cb1, &m2), -1);
    ck_assert_int_eq(errno, EEXIST);
    /* Another module, or another event, may use the same callback. */
    ck_assert_int_eq(fl_event_register(eng, b, "ev", mark_cb1, &m2), 0);
    ck_assert_int_eq(fl_event_register(eng, a, "ev2", mark_cb1, &m2), 0);
    ck_assert_int_eq(fl_event_listening(eng, "ev"), 2);
    fl_event_generate(eng, "ev", NULL);
    ck_assert_str_eq(tr.text, "1,2,");
}
END_TEST

START_TEST(test_generating_an_event_nobody_listens_to_is_fine)
{
    ck_assert_int_eq(fl_event_generate(eng, "nobody.listens", NULL), 0);
    errno = 0;
    ck_assert_int_eq(fl_event_generate(eng, NULL, NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
}
END_TEST

struct seen {
    const void *data;
    void *user;
};

static void seen_cb(const void *event_data, void *user_data)
{
    struct seen *s = user_data;
    s->data = event_data;
    s->user = user_data;
}

START_TEST(test_event_data_and_user_data_reach_the_listener_as_given)
{
    struct seen s = {NULL, NULL};
    int payload = 42;
    ck_assert_int_eq(fl_event_register(eng, NULL, "ev", seen_cb, &s), 0);
    ck_assert_int_eq(fl_event_generate(eng, "ev", &payload), 1);
    ck_assert_ptr_eq(s.data, &payload);
    ck_assert_ptr_eq(s.user, &s);
}
END_TEST

/* Four listeners over two modules and two events, for the wildcard tests. */
static fl_module *wa, *wb;
static mark wm[4];

static void wildcard_setup(void)
{
    wa = fl_module_load(eng, "mod_a.c");
    wb = fl_module_load(eng, "mod_b.c");
    wm[0] = (mark){&tr, "a1"};
    wm[1] = (mark){&tr, "a2"};
    wm[2] = (mark){&tr, "b1"};
    wm[3] = (mark){&tr, "b2"};
    ck_assert_int_eq(fl_event_register(eng, wa, "one", mark_cb1, &wm[0]), 0);
    ck_assert_int_eq(fl_event_register(eng, wa, "two", mark_cb1, &wm[1]), 0);
    ck_assert_int_eq(fl_event_register(eng, wb, "one", mark_cb1, &wm[2]), 0);
    ck_assert_int_eq(fl_event_register(eng, wb, "one", mark_cb2, &wm[3]), 0);
}

static void generate_both(void)
{
    trail_reset(&tr);
    fl_event_generate(eng, "one", NULL);
    fl_event_generate(eng, "two", NULL);
}

START_TEST(test_unregister_with_every_argument_removes_exactly_that_listener)
{
    wildcard_setup();
    ck_assert_int_eq(fl_event_unregister(eng, wb, "one", mark_cb2), 0);
    generate_both();
    ck_assert_str_eq(tr.text, "a1,b1,a2,");
}
END_TEST

START_TEST(
    test_unregister_with_null_callback_removes_the_modules_listeners_of_the_event)
{
    wildcard_setup();
    ck_assert_int_eq(fl_event_unregister(eng, wb, "one", NULL), 0);
    generate_both();
    ck_assert_str_eq(tr.text, "a1,a2,");
}
END_TEST

START_TEST(test_unregister_with_null_module_removes_the_callback_from_every_module)
{
    wildcard_setup();
    ck_assert_int_eq(fl_event_unregister(eng, NULL, "one", mark_cb1), 0);
    generate_both();
    ck_assert_str_eq(tr.text, "b2,a2,");
}
END_TEST

START_TEST(test_unregister_with_only_the_event_removes_all_its_listeners)
{
    wildcard_setup();
    ck_assert_int_eq(fl_event_unregister(eng, NULL, "one", NULL), 0);
    ck_assert_int_eq(fl_event_listening(eng, "one"), 0);
    generate_both();
    ck_assert_str_eq(tr.text, "a2,");
}
END_TEST

START_TEST(test_unregister_with_only_the_module_removes_all_its_listeners)
{
    wildcard_setup();
    ck_assert_int_eq(fl_event_unregister(eng, wa, NULL, NULL), 0);
    generate_both();
    ck_assert_str_eq(tr.text, "b1,b2,");
}
END_TEST

START_TEST(test_unregister_with_only_the_callback_removes_it_everywhere)
{
    wildcard_setup();
    ck_assert_int_eq(fl_event_unregister(eng, NULL, NULL, mark_cb1), 0);
    generate_both();
    ck_assert_str_eq(tr.text, "b2,");
}
END_TEST

START_TEST(test_unregister_with_every_argument_null_removes_everything)
{
    wildcard_setup();
    ck_assert_int_eq(fl_event_unregister(eng, NULL, NULL, NULL), 0);
    generate_both();
    ck_assert_str_eq(tr.text, "");
    ck_assert_int_eq(fl_event_listening(eng, "one"), 0);
    ck_assert_int_eq(fl_event_listening(eng, "two"), 0);
}
END_TEST

START_TEST(test_unregister_that_matches_nothing_fails_with_enoent)
{
    wildcard_setup();
    errno = 0;
    ck_assert_int_eq(fl_event_unregister(eng, wa, "one", mark_cb2), -1);
    ck_assert_int_eq(errno, ENOENT);
    errno = 0;
    ck_assert_int_eq(fl_event_unregister(eng, NULL, "three", NULL), -1);
    ck_assert_int_eq(errno, ENOENT);
    generate_both();
    ck_assert_str_eq(tr.text, "a1,b1,b2,a2,");
}
END_TEST

START_TEST(test_listening_counts_the_listeners_of_an_event)
{
    ck_assert_int_eq(fl_event_listening(eng, "one"), 0);
    wildcard_setup();
    ck_assert_int_eq(fl_event_listening(eng, "one"), 3);
    ck_assert_int_eq(fl_event_listening(eng, "two"), 1);
    fl_event_unregister(eng, wb, "one", mark_cb1);
    ck_assert_int_eq(fl_event_listening(eng, "one"), 2);
    errno = 0;
    ck_assert_int_eq(fl_event_listening(eng, NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
}
END_TEST

/* --- changes to the lists during dispatch ------------------------------- */

struct dispatch_ctx {
    fl_module *mod;
    fl_event_cb target; /* what to unregister or register */
    mark *target_mark;
    int generates_left; /* for nested generate */
};
static struct dispatch_ctx dctx;

static void unregister_self_cb(const void *event_data, void *user_data)
{
    (void)event_data;
    trail_add(&tr, "self");
    (void)user_data;
    ck_assert_int_eq(fl_event_unregister(eng, dctx.mod, "ev", unregister_self_cb), 0);
}

START_TEST(test_a_listener_may_unregister_itself_during_dispatch)
{
    dctx.mod = fl_module_load(eng, "mod_a.c");
    mark after = {&tr, "after"};
    ck_assert_int_eq(fl_event_register(eng, dctx.mod, "ev", unregister_self_cb, NULL),
                     0);
    ck_assert_int_eq(fl_event_register(eng, dctx.mod, "ev", mark_cb1, &after), 0);
    ck_assert_int_eq(fl_event_generate(eng, "ev", NULL), 2);
    ck_assert_str_eq(tr.text, "self,after,");
    trail_reset(&tr);
    ck_assert_int_eq(fl_event_generate(eng, "ev", NULL), 1);
    ck_assert_str_eq(tr.text, "after,");
    ck_assert_int_eq(fl_event_listening(eng, "ev"), 1);
}
END_TEST

static void unregister_other_cb(const void *event_data, void *user_data)
{
    (void)event_data;
    (void)user_data;
    trail_add(&tr, "remover");
    ck_assert_int_eq(fl_event_unregister(eng, NULL, "ev", dctx.target), 0);
}

START_TEST(test_a_listener_may_unregister_a_later_listener_which_is_then_not_called)
{
    fl_module *a = fl_module_load(eng, "mod_a.c");
    fl_module *b = fl_module_load(eng, "mod_b.c");
    mark later = {&tr, "later"}, last = {&tr, "last"};
    dctx.target = mark_cb1;
    ck_assert_int_eq(fl_event_register(eng, a, "ev", unregister_other_cb, NULL), 0);
    ck_assert_int_eq(fl_event_register(eng, b, "ev", mark_cb1, &later), 0);
    ck_assert_int_eq(fl_event_register(eng, b, "ev", mark_cb2, &last), 0);
    ck_assert_int_eq(fl_event_generate(eng, "ev", NULL), 2);
    ck_assert_str_eq(tr.text, "remover,last,");
    ck_assert_int_eq(fl_event_listening(eng, "ev"), 2);
}
END_TEST

START_TEST(test_a_listener_may_unregister_an_earlier_listener_during_dispatch)
{
    fl_module *a = fl_module_load(eng, "mod_a.c");
    fl_module *b = fl_module_load(eng, "mod_b.c");
    mark first = {&tr, "first"}, last = {&tr, "last"};
    dctx.target = mark_cb1;
    ck_assert_int_eq(fl_event_register(eng, a, "ev", mark_cb1, &first), 0);
    ck_assert_int_eq(fl_event_register(eng, b, "ev", unregister_other_cb, NULL), 0);
    ck_assert_int_eq(fl_event_register(eng, b, "ev", mark_cb2, &last), 0);
    fl_event_generate(eng, "ev", NULL);
    ck_assert_str_eq(tr.text, "first,remover,last,");
    trail_reset(&tr);
    /* The remover finds nothing left to remove the second time round. */
    dctx.target = mark_cb3;
    fl_event_register(eng, a, "ev", mark_cb3, &first);
    fl_event_generate(eng, "ev", NULL);
    ck_assert_str_eq(tr.text, "first,remover,last,");
}
END_TEST

static void unregister_all_cb(const void *event_data, void *user_data)
{
    (void)event_data;
    (void)user_data;
    trail_add(&tr, "wipe");
    ck_assert_int_eq(fl_event_unregister(eng, NULL, NULL, NULL), 0);
}

START_TEST(test_a_listener_may_unregister_every_listener_during_dispatch)
{
    fl_module *a = fl_module_load(eng, "mod_a.c");
    mark after = {&tr, "after"};
    ck_assert_int_eq(fl_event_register(eng, a, "ev", unregister_all_cb, NULL), 0);
    ck_assert_int_eq(fl_event_register(eng, a, "ev", mark_cb1, &after), 0);
    ck_assert_int_eq(fl_event_register(eng, a, "other", mark_cb1, &after), 0);
    ck_assert_int_eq(fl_event_generate(eng, "ev", NULL), 1);
    ck_assert_str_eq(tr.text, "wipe,");
    ck_assert_int_eq(fl_event_listening(eng, "ev"), 0);
    ck_assert_int_eq(fl_event_generate(eng, "ev", NULL), 0);
    ck_assert_int_eq(fl_event_generate(eng, "other", NULL), 0);
}
END_TEST

static void register_new_cb(const void *event_data, void *user_data)
{
    (void)event_data;
    (void)user_data;
    trail_add(&tr, "registrar");
    /* Registered into this module, i.e. before the listener of mod_b. */
    fl_event_register(eng, dctx.mod, "ev", mark_cb2, dctx.target_mark);
}

START_TEST(test_a_listener_registered_during_dispatch_is_called_from_the_next_generate)
{
    dctx.mod = fl_module_load(eng, "mod_a.c");
    fl_module *b = fl_module_load(eng, "mod_b.c");
    mark newcomer = {&tr, "new"}, other = {&tr, "b"};
    dctx.target_mark = &newcomer;
    ck_assert_int_eq(fl_event_register(eng, dctx.mod, "ev", register_new_cb, NULL), 0);
    ck_assert_int_eq(fl_event_register(eng, b, "ev", mark_cb1, &other), 0);
    ck_assert_int_eq(fl_event_generate(eng, "ev", NULL), 2);
    ck_assert_str_eq(tr.text, "registrar,b,");
    trail_reset(&tr);
    ck_assert_int_eq(fl_event_generate(eng, "ev", NULL), 3);
    ck_assert_str_eq(tr.text, "registrar,new,b,");
}
END_TEST

static void nested_generate_cb(const void *event_data, void *user_data)
{
    (void)user_data;
    trail_add(&tr, event_data);
    if (dctx.generates_left-- > 0)
        fl_event_generate(eng, "ev", "inner");
}

static void record_data_cb(const void *event_data, void *user_data)
{
    (void)user_data;
    char word[64];
    snprintf(word, sizeof word, "b:%s", (const char *)event_data);
    trail_add(&tr, word);
}

START_TEST(test_a_nested_generate_delivers_to_each_listener_once_per_generate)
{
    fl_module *a = fl_module_load(eng, "mod_a.c");
    fl_module *b = fl_module_load(eng, "mod_b.c");
    dctx.generates_left = 1;
    ck_assert_int_eq(fl_event_register(eng, a, "ev", nested_generate_cb, NULL), 0);
    ck_assert_int_eq(fl_event_register(eng, b, "ev", record_data_cb, NULL), 0);
    ck_assert_int_eq(fl_event_generate(eng, "ev", "outer"), 2);
    /* The inner generate skips the listener that issued it (no re-entry) and
     * reaches b once; the outer one then reaches b once. ProFTPD delivers the
     * outer event twice to the listeners after the generating one. */
    ck_assert_str_eq(tr.text, "outer,b:inner,b:outer,");
}
END_TEST

START_TEST(test_two_engines_never_see_each_others_listeners)
{
    fl_engine *other = fl_engine_new(NULL);
    mark m = {&tr, "mine"};
    ck_assert_int_eq(fl_event_register(eng, NULL, "ev", mark_cb1, &m), 0);
    ck_assert_int_eq(fl_event_listening(other, "ev"), 0);
    ck_assert_int_eq(fl_event_generate(other, "ev", NULL), 0);
    ck_assert_str_eq(tr.text, "");
    fl_engine_free(other);
}
END_TEST

/* --- modules ------------------------------------------------------------ */

static void module_name_cb(const void *event_data, void *user_data)
{
    char word[128];
    snprintf(word, sizeof word, "%s:%s", (const char *)user_data,
             (const char *)event_data);
    trail_add(&tr, word);
}

START_TEST(test_loading_and_unloading_a_module_generate_events_with_its_name)
{
    ck_assert_int_eq(
        fl_event_register(eng, NULL, FL_EV_MODULE_LOAD, module_name_cb, "load"), 0);
    ck_assert_int_eq(
        fl_event_register(eng, NULL, FL_EV_MODULE_UNLOAD, module_name_cb, "unload"), 0);
    fl_module *m = fl_module_load(eng, "mod_example.c");
    ck_assert_ptr_nonnull(m);
    ck_assert_str_eq(fl_module_name(m), "mod_example.c");
    ck_assert_ptr_eq(fl_module_find(eng, "mod_example.c"), m);
    ck_assert_int_eq(fl_module_unload(eng, m), 0);
    ck_assert_ptr_null(fl_module_find(eng, "mod_example.c"));
    ck_assert_str_eq(tr.text, "load:mod_example.c,unload:mod_example.c,");
}
END_TEST

static int count_timer_cb(fl_usec interval, int timerno, fl_usec elapsed, void *data)
{
    (void)interval;
    (void)timerno;
    (void)elapsed;
    (*(int *)data)++;
    return 1;
}

START_TEST(test_unloading_a_module_drops_its_listeners_and_timers)
{
    fl_module *a = fl_module_load(eng, "mod_a.c");
    fl_module *b = fl_module_load(eng, "mod_b.c");
    mark ma = {&tr, "a"}, mb = {&tr, "b"}, unload = {&tr, "a-hears-its-unload"};
    int fired = 0;
    ck_assert_int_eq(fl_event_register(eng, a, "ev", mark_cb1, &ma), 0);
    ck_assert_int_eq(fl_event_register(eng, a, FL_EV_MODULE_UNLOAD, mark_cb1, &unload),
                     0);
    ck_assert_int_eq(fl_event_register(eng, b, "ev", mark_cb1, &mb), 0);
    ck_assert_int_ge(fl_timer_add(eng, 5, FL_TIMER_DYNAMIC, a, count_timer_cb, &fired),
                     0);
    ck_assert_int_ge(fl_timer_add(eng, 5, FL_TIMER_DYNAMIC, b, count_timer_cb, &fired),
                     0);

    ck_assert_int_eq(fl_module_unload(eng, a), 0);
    ck_assert_str_eq(tr.text, "a-hears-its-unload,");
    trail_reset(&tr);
    fl_event_generate(eng, "ev", NULL);
    ck_assert_str_eq(tr.text, "b,");
    ck_assert_int_eq(fl_timers_count(eng), 1);
    ck_assert_int_eq(fl_event_listening(eng, FL_EV_MODULE_UNLOAD), 0);
}
END_TEST

START_TEST(test_a_module_name_is_loaded_once_and_must_be_valid)
{
    ck_assert_ptr_nonnull(fl_module_load(eng, "mod_a.c"));
    errno = 0;
    ck_assert_ptr_null(fl_module_load(eng, "mod_a.c"));
    ck_assert_int_eq(errno, EEXIST);
    errno = 0;
    ck_assert_ptr_null(fl_module_load(eng, ""));
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_ptr_null(fl_module_load(eng, "bad\nname"));
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(fl_module_unload(eng, NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(test_a_module_loaded_later_runs_later_even_if_it_registered_first)
{
    mark ma = {&tr, "a"}, mb = {&tr, "b"};
    fl_module *a = fl_module_load(eng, "mod_a.c");
    fl_module *b = fl_module_load(eng, "mod_b.c");
    ck_assert_int_eq(fl_event_register(eng, b, "ev", mark_cb1, &mb), 0);
    ck_assert_int_eq(fl_event_register(eng, a, "ev", mark_cb1, &ma), 0);
    fl_event_generate(eng, "ev", NULL);
    ck_assert_str_eq(tr.text, "a,b,");
}
END_TEST

static void dump_line(void *arg, const char *line)
{
    trail_add(arg, line);
}

START_TEST(test_dump_describes_every_event_and_listener)
{
    trail out = {{0}};
    /* A new engine: only its own modules listen, for the policy to come. */
    fl_event_dump(eng, dump_line, &out);
    ck_assert_str_eq(out.text, "core.shutdown: 1 listener,  mod_ban (registration 1),");
    wildcard_setup();
    trail_reset(&out);
    fl_event_dump(eng, dump_line, &out);
    ck_assert_ptr_nonnull(strstr(out.text, "one: 3 listeners,"));
    ck_assert_ptr_nonnull(strstr(out.text, "two: 1 listener,"));
    ck_assert_ptr_nonnull(strstr(out.text, "  mod_b.c (registration 5)"));
}
END_TEST

START_TEST(test_the_engines_own_modules_cannot_be_unloaded_or_wildcarded_away)
{
    fl_module *ban = fl_module_find(eng, "mod_ban");
    ck_assert_ptr_nonnull(ban);
    ck_assert_int_eq(fl_module_unload(eng, ban), -1);
    ck_assert_int_eq(errno, EPERM);
    /* Everything unregistered: the engine's own listeners stay. */
    ck_assert_int_eq(fl_event_unregister(eng, NULL, NULL, NULL), -1);
    ck_assert_int_eq(errno, ENOENT);
    ck_assert_int_eq(fl_event_listening(eng, FL_EV_SHUTDOWN), 1);
    /* Named explicitly, they go. */
    ck_assert_int_eq(fl_event_unregister(eng, ban, FL_EV_SHUTDOWN, NULL), 0);
    ck_assert_int_eq(fl_event_listening(eng, FL_EV_SHUTDOWN), 0);
}
END_TEST

START_TEST(test_every_event_of_the_seed_documents_has_a_constant)
{
    ck_assert_str_eq(FL_EV_CREATE_HOME, "core.create-home");
    ck_assert_str_eq(FL_EV_EXIT, "core.exit");
    ck_assert_str_eq(FL_EV_MAX_CONNECTION_RATE, "core.max-connection-rate");
    ck_assert_str_eq(FL_EV_MAX_INSTANCES, "core.max-instances");
    ck_assert_str_eq(FL_EV_MODULE_LOAD, "core.module-load");
    ck_assert_str_eq(FL_EV_MODULE_UNLOAD, "core.module-unload");
    ck_assert_str_eq(FL_EV_PREPARSE, "core.preparse");
    ck_assert_str_eq(FL_EV_POSTPARSE, "core.postparse");
    ck_assert_str_eq(FL_EV_RESTART, "core.restart");
    ck_assert_str_eq(FL_EV_SHUTDOWN, "core.shutdown");
    ck_assert_str_eq(FL_EV_STARTUP, "core.startup");
    ck_assert_str_eq(FL_EV_ANON_REJECT_PASSWORDS, "mod_auth.anon-reject-passwords");
    ck_assert_str_eq(FL_EV_MAX_CLIENTS, "mod_auth.max-clients");
    ck_assert_str_eq(FL_EV_MAX_CLIENTS_PER_CLASS, "mod_auth.max-clients-per-class");
    ck_assert_str_eq(FL_EV_MAX_CLIENTS_PER_HOST, "mod_auth.max-clients-per-host");
    ck_assert_str_eq(FL_EV_MAX_CLIENTS_PER_USER, "mod_auth.max-clients-per-user");
    ck_assert_str_eq(FL_EV_MAX_HOSTS_PER_USER, "mod_auth.max-hosts-per-user");
    ck_assert_str_eq(FL_EV_MAX_LOGIN_ATTEMPTS, "mod_auth.max-login-attempts");
    ck_assert_str_eq(FL_EV_MAX_CONNECTIONS_PER_HOST,
                     "mod_auth.max-connections-per-host");
}
END_TEST

START_TEST(test_registration_out_of_memory_fails_cleanly_at_every_allocation)
{
    mark m = {&tr, "m"};
    fl_module *a = fl_module_load(eng, "mod_a.c");
    for (long n = 1;; n++) {
        fl_fault_fail_alloc_at(n);
        int rc = fl_event_register(eng, a, "fresh.event", mark_cb1, &m);
        bool fired = fl_fault_fired();
        fl_fault_fail_alloc_at(0);
        if (!fired) {
            ck_assert_int_eq(rc, 0);
            break;
        }
        ck_assert_int_eq(rc, -1);
        ck_assert_int_eq(fl_event_listening(eng, "fresh.event"), 0);
    }
    ck_assert_int_eq(fl_event_generate(eng, "fresh.event", NULL), 1);
}
END_TEST

/* --- events as JSON ------------------------------------------------------------ */

/* What jansson prints for the event: the form fl_event_json must match. */
static char *jansson_event(const char *event, const void *data)
{
    json_t *o = json_object();
    ck_assert_int_eq(fl_json_add_event(o, event, data), 0);
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    ck_assert_ptr_nonnull(text);
    return text;
}

static void assert_reader_agrees_with_jansson(const char *text)
{
    const char *why = json_read_disagreement(text);
    ck_assert_msg(why == NULL, "[%s]: %s", text, why);
}

/* fl_event_json's text for the event, checked against jansson's and, cut
 * at every length, against its own prefix. */
static void assert_event_json_matches(const char *event, const void *data)
{
    char *want = jansson_event(event, data);
    size_t len = strlen(want);
    char *buf = malloc(len + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fl_event_json(buf, len + 1, event, data), len);
    ck_assert_str_eq(buf, want);
    assert_reader_agrees_with_jansson(buf); /* what mod_ftplimit reads back */
    for (size_t size = 0; size <= len; size++) {
        memset(buf, 'x', len + 1);
        ck_assert_uint_eq(fl_event_json(size > 0 ? buf : NULL, size, event, data), len);
        if (size > 0) {
            ck_assert_int_eq(memcmp(buf, want, size - 1), 0);
            ck_assert_int_eq(buf[size - 1], '\0');
        }
    }
    free(buf);
    free(want);
}

START_TEST(test_event_json_is_what_jansson_prints_for_hostile_strings_and_every_field)
{
    static const char *const hostile[] = {
        "alice",
        "quote\" backslash\\ slash/",
        "\x01\x08\x09\x0a\x0c\x0d\x1b\x1f del\x7f",
        "caf\xc3\xa9 \xe2\x80\xa8 \xf0\x9f\x98\x80",                   /* valid UTF-8 */
        "bad\xff\xfe \xc3 \xe0\x80\xaf \xed\xa0\x80 \xf4\x90\x80\x80", /* not */
        "cut at the end \xe2\x82",
        "",
    };
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        fl_event_info info = {
            .sid = "c17",
            .address = "192.0.2.10",
            .user = hostile[i],
            .class_name = hostile[(i + 1) % 7],
            .limit = "MaxClientsPerHost",
            .max = 2,
            .count = 3,
            .dry_run = i % 2 == 0,
            .country = i % 3 == 0 ? "FR" : NULL,
            .asn = i % 3 == 0 ? 64500 : 0,
            .ban = i == 2 ? "user@host" : NULL,
            .target = i == 2 ? hostile[1] : NULL,
            .duration = i == 2 ? 3600 : -1,
        };
        assert_event_json_matches(FL_EV_MAX_CLIENTS_PER_HOST, &info);
        assert_event_json_matches(FL_EV_BAN, &info);
        assert_event_json_matches(FL_EV_MODULE_LOAD, hostile[i]);
        assert_event_json_matches(FL_EV_CREATE_HOME, hostile[i]);
    }
    fl_event_info bare = {.sid = "c1", .max = -1, .count = -1, .duration = -1};
    assert_event_json_matches(FL_EV_EXIT, &bare);
    assert_event_json_matches(FL_EV_STARTUP, NULL);
    assert_event_json_matches("some.other-event", "data it cannot know");
}
END_TEST

START_TEST(test_the_event_reader_agrees_with_jansson_on_crafted_and_mutated_objects)
{
    static const char *const crafted[] = {
        "{}",
        " { } ",
        "{\"a\":1}",
        "{\"a\":-0}",
        "{\"a\":01}",
        "{\"a\":1.5}",
        "{\"a\":1.5,\"a\":1}",
        "{\"a\":1e3}",
        "{\"a\":[1]}",
        "{\"a\":{}}",
        "[]",
        "\"s\"",
        "1",
        "{\"a\":9223372036854775807}",
        "{\"a\":9223372036854775808}",
        "{\"a\":-9223372036854775808}",
        "{\"a\":-9223372036854775809}",
        "{\"a\":\"\\u0000\"}",
        "{\"\\u0000\":1}",
        "{\"a\":\"\\ud83d\\ude00\"}",
        "{\"a\":\"\\uD83D\\uDE00\"}",
        "{\"a\":\"\\ud83d\"}",
        "{\"a\":\"\\ude00\"}",
        "{\"a\":\"\\ud83dx\"}",
        "{\"a\":\"\\ud83d\\u0041\"}",
        "{\"a\":\"\\u00e9\\u20AC\"}",
        "{\"a\":\"\\x\"}",
        "{\"a\":\"\\/\\b\\f\\n\\r\\t\\\"\\\\\"}",
        "{\"a\":1,}",
        "{,}",
        "{\"a\" 1}",
        "{\"a\":1 \"b\":2}",
        "{\"a\":1}x",
        "{\"a\":1} \n",
        "{\"a\":tru}",
        "{\"a\":true,\"a\":false}",
        "{\"a\":null,\"b\":true}",
        "{\"a\":\"raw\ttab\"}",
        "{\"a\":\"\xff\"}",
        "{\"a\":\"\xc3\xa9\"}",
        "{\"a\":\"\xed\xa0\x80\"}",
        "{\"a\":\"\xf4\x90\x80\x80\"}",
        "{\"a\":\"\xc0\xaf\"}",
        "{\"a\":-}",
        "{\"a\":- 1}",
        "{\"a\":+1}",
        "\t{\n\"a\"\r:\n1}\n",
        "{\"a\":\"unterminated}",
        "{\"a\":\"\\u12\"}",
        "{\"a\":\"\\u12g4\"}",
        "{\"\":\"\"}",
        "{\"a\":1}{",
        "{\"a\":truefalse}",
        ("{\"event\":\"mod_auth.max-clients-per-host\",\"sid\":\"c1\",\"max\":2,"
         "\"count\":3,\"dry_run\":true,\"user\":\"caf\\u00e9 \\\"q\\\" \\u001b\"}"),
    };
    static const char pick[] = "\"\\u{}[],:0-.eE tfn\x01\x7f\x80\xc3\xed\xff";
    srand(20261201);
    for (size_t i = 0; i < sizeof crafted / sizeof crafted[0]; i++) {
        assert_reader_agrees_with_jansson(crafted[i]);
        size_t len = strlen(crafted[i]);
        char text[512];
        for (int k = 0; k < 400; k++) {
            memcpy(text, crafted[i], len + 1);
            size_t n = len;
            for (int edits = 1 + rand() % 3; edits > 0; edits--) {
                size_t at = n > 0 ? (size_t)rand() % n : 0;
                char c = rand() % 4 == 0 ? (char)(1 + rand() % 255)
                                         : pick[(size_t)rand() % (sizeof pick - 1)];
                int what = rand() % 3;
                if (what == 0 && n > 0) { /* replace */
                    text[at] = c;
                } else if (what == 1 && n + 1 < sizeof text) { /* insert */
                    memmove(text + at + 1, text + at, n - at + 1);
                    text[at] = c;
                    n++;
                } else if (n > 0) { /* delete */
                    memmove(text + at, text + at + 1, n - at);
                    n--;
                }
            }
            assert_reader_agrees_with_jansson(text);
        }
    }
}
END_TEST

START_TEST(test_the_event_reader_refuses_more_members_than_it_has_room_for)
{
    char text[] = "{\"a\":1,\"b\":2,\"c\":3}";
    struct fl_json_member m[3];
    ck_assert_int_eq(fl_json_read_flat(text, m, 2), -1);
    char again[] = "{\"a\":1,\"b\":2,\"c\":3}";
    ck_assert_int_eq(fl_json_read_flat(again, m, 3), 3);
    ck_assert_str_eq(m[2].key, "c");
    ck_assert(m[2].num == 3);
    ck_assert_ptr_null(fl_json_member_get(m, 3, "d"));
}
END_TEST

START_TEST(test_an_event_named_from_a_reused_buffer_is_looked_up_by_its_name)
{
    mark m = {&tr, "a"};
    char name[64];
    strcpy(name, "one");
    ck_assert_int_eq(fl_event_listening(eng, name), 0);
    ck_assert_int_eq(fl_event_register(eng, NULL, "one", mark_cb1, &m), 0);
    ck_assert_int_eq(fl_event_listening(eng, name), 1);
    /* The same buffer now names another event. */
    strcpy(name, "two");
    ck_assert_int_eq(fl_event_listening(eng, name), 0);
    ck_assert_int_eq(fl_event_generate(eng, name, NULL), 0);
    ck_assert_int_eq(fl_event_register(eng, NULL, "two", mark_cb2, &m), 0);
    ck_assert_int_eq(fl_event_listening(eng, name), 1);
    strcpy(name, "one");
    ck_assert_int_eq(fl_event_generate(eng, name, NULL), 1);
    ck_assert_int_eq(fl_event_unregister(eng, NULL, "one", NULL), 0);
    ck_assert_int_eq(fl_event_listening(eng, name), 0);
    ck_assert_int_eq(fl_event_generate(eng, name, NULL), 0);
    /* A name too long to be remembered is looked up every time. */
    memset(name, 'x', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    ck_assert_int_eq(fl_event_register(eng, NULL, name, mark_cb1, &m), 0);
    ck_assert_int_eq(fl_event_listening(eng, name), 1);
    name[10] = 'y';
    ck_assert_int_eq(fl_event_listening(eng, name), 0);
}
END_TEST

static Suite *events_suite(void)
{
    Suite *s = suite_create("events");
    TCase *tc = tcase_create("events");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_register_refuses_null_event_or_callback);
    tcase_add_test(tc,
                   test_an_event_named_from_a_reused_buffer_is_looked_up_by_its_name);
    tcase_add_test(tc, test_listeners_run_in_module_load_order_across_three_modules);
    tcase_add_test(tc, test_listeners_of_one_module_run_in_registration_order);
    tcase_add_test(tc,
                   test_a_module_loaded_later_runs_later_even_if_it_registered_first);
    tcase_add_test(tc, test_duplicate_registration_is_refused_with_eexist);
    tcase_add_test(tc, test_generating_an_event_nobody_listens_to_is_fine);
    tcase_add_test(tc, test_event_data_and_user_data_reach_the_listener_as_given);
    tcase_add_test(tc,
                   test_unregister_with_every_argument_removes_exactly_that_listener);
    tcase_add_test(
        tc,
        test_unregister_with_null_callback_removes_the_modules_listeners_of_the_event);
    tcase_add_test(
        tc, test_unregister_with_null_module_removes_the_callback_from_every_module);
    tcase_add_test(tc, test_unregister_with_only_the_event_removes_all_its_listeners);
    tcase_add_test(tc, test_unregister_with_only_the_module_removes_all_its_listeners);
    tcase_add_test(tc, test_unregister_with_only_the_callback_removes_it_everywhere);
    tcase_add_test(tc, test_unregister_with_every_argument_null_removes_everything);
    tcase_add_test(tc, test_unregister_that_matches_nothing_fails_with_enoent);
    tcase_add_test(tc, test_listening_counts_the_listeners_of_an_event);
    tcase_add_test(tc, test_a_listener_may_unregister_itself_during_dispatch);
    tcase_add_test(
        tc, test_a_listener_may_unregister_a_later_listener_which_is_then_not_called);
    tcase_add_test(tc,
                   test_a_listener_may_unregister_an_earlier_listener_during_dispatch);
    tcase_add_test(tc, test_a_listener_may_unregister_every_listener_during_dispatch);
    tcase_add_test(
        tc,
        test_a_listener_registered_during_dispatch_is_called_from_the_next_generate);
    tcase_add_test(tc,
                   test_a_nested_generate_delivers_to_each_listener_once_per_generate);
    tcase_add_test(tc, test_two_engines_never_see_each_others_listeners);
    tcase_add_test(tc,
                   test_loading_and_unloading_a_module_generate_events_with_its_name);
    tcase_add_test(tc, test_unloading_a_module_drops_its_listeners_and_timers);
    tcase_add_test(tc, test_a_module_name_is_loaded_once_and_must_be_valid);
    tcase_add_test(tc, test_dump_describes_every_event_and_listener);
    tcase_add_test(tc,
                   test_the_engines_own_modules_cannot_be_unloaded_or_wildcarded_away);
    tcase_add_test(tc, test_every_event_of_the_seed_documents_has_a_constant);
    tcase_add_test(tc,
                   test_registration_out_of_memory_fails_cleanly_at_every_allocation);
    tcase_add_test(
        tc, test_event_json_is_what_jansson_prints_for_hostile_strings_and_every_field);
    tcase_add_test(
        tc, test_the_event_reader_agrees_with_jansson_on_crafted_and_mutated_objects);
    tcase_add_test(tc, test_the_event_reader_refuses_more_members_than_it_has_room_for);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(events_suite()) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
