/*
 * engineutil.c - helpers for the engine suites.
 */
#include "config.h"

#include "engineutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>

#include <ftplimit/json.h>

#include "context.h"
#include "modules/bans/bans.h"

/* An fl_error_fn that appends to a trail. */
static void trail_error(void *arg, const char *message)
{
    trail_add(arg, message);
}

struct listener {
    tenv *t;
    const char *event;
};

static void on_event(const void *data, void *user_data)
{
    struct listener *l = user_data;
    const fl_event_info *info = fl_event_info_of(l->event, data);
    char word[256];
    if (info != NULL && info->sid != NULL) {
        snprintf(word, sizeof word, "%s(%s)", l->event, info->sid);
        if (info->limit != NULL) {
            tenv *t = l->t;
            t->last = *info;
            t->last_max = info->max;
            t->last_count = info->count;
            snprintf(t->last_user, sizeof t->last_user, "%s",
                     info->user ? info->user : "");
            snprintf(t->last_address, sizeof t->last_address, "%s", info->address);
            snprintf(t->last_class, sizeof t->last_class, "%s",
                     info->class_name ? info->class_name : "");
            t->last.user = info->user ? t->last_user : NULL;
            t->last.address = t->last_address;
            t->last.class_name = info->class_name ? t->last_class : NULL;
            snprintf(t->last_country, sizeof t->last_country, "%s",
                     info->country ? info->country : "");
            t->last.country = t->last_country;
            t->last.sid = t->last.event = t->last.limit = t->last.message = NULL;
        }
    } else {
        snprintf(word, sizeof word, "%s", l->event);
    }
    trail_add(&l->t->events, word);
}

/* The policy text with each @DIR@ replaced by the test's directory. */
static char *with_dir(const char *text, const char *dir)
{
    size_t n = 0, dlen = strlen(dir);
    for (const char *p = strstr(text, "@DIR@"); p != NULL; p = strstr(p + 5, "@DIR@"))
        n++;
    char *out = malloc(strlen(text) + n * dlen + 1), *o = out;
    ck_assert_ptr_nonnull(out);
    for (const char *p = text; *p != '\0';) {
        if (strncmp(p, "@DIR@", 5) == 0) {
            memcpy(o, dir, dlen);
            o += dlen;
            p += 5;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    return out;
}

void tenv_start(tenv *t, const char *policy_text)
{
    tenv_start_with(t, policy_text, NULL);
}

void tenv_start_with(tenv *t, const char *policy_text, void (*prepare)(const char *dir))
{
    memset(t, 0, sizeof *t);
    t->clock.now = 1000 * FL_USEC_PER_SEC;
    uint8_t seed[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    fl_engine_options opts = {.clock = fl_vclock_read,
                              .clock_arg = &t->clock,
                              .hash_seed = seed,
                              .no_firewall = true}; /* never the machine's */
    t->e = fl_engine_new(&opts);
    ck_assert_ptr_nonnull(t->e);

    const char *const *names = fl_event_names();
    size_t n = 0;
    while (names[n] != NULL)
        n++;
    struct listener *listeners = calloc(n, sizeof *listeners);
    ck_assert_ptr_nonnull(listeners);
    t->listeners = listeners; /* one set per engine: two may run at once */
    for (size_t i = 0; i < n; i++) {
        listeners[i] = (struct listener){t, names[i]};
        ck_assert_int_eq(
            fl_event_register(t->e, NULL, names[i], on_event, &listeners[i]), 0);
    }

    t->dir = tmpdir_new();
    if (prepare != NULL)
        prepare(t->dir);
    if (policy_text != NULL) {
        char *text = with_dir(policy_text, t->dir);
        t->policy = write_file(t->dir, "policy.conf", text);
        free(text);
    }
    int rc = fl_engine_load(t->e, t->policy, NULL, NULL);
    if (rc != 0) {
        /* Load again to show the errors in the failure message. */
        trail errs = {{0}};
        fl_engine *probe = fl_engine_new(NULL);
        fl_engine_load(probe, t->policy, trail_error, &errs);
        fl_engine_free(probe);
        ck_abort_msg("policy does not load: %s", errs.text);
    }
    ck_assert_int_eq(fl_engine_startup(t->e), 0);
    trail_reset(&t->events);
}

int tenv_reload(tenv *t, const char *policy_text)
{
    char *text = with_dir(policy_text, t->dir);
    char *path = write_file(t->dir, "policy.conf", text);
    free(text);
    if (t->policy == NULL)
        t->policy = path; /* started without a policy: this is it now */
    else
        free(path);
    trail_reset(&t->errors);
    return fl_engine_reload(t->e, t->policy, trail_error, &t->errors);
}

void tenv_advance(tenv *t, fl_usec usec)
{
    t->clock.now += usec;
    fl_timers_run(t->e);
    /* A ban-table save is written by a thread of its own: let it end, as
     * the daemon's loop would, looking on the virtual clock. */
    for (int i = 0; i < 5000 && t->e->bans->saving != NULL; i++) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
        t->clock.now += 50 * FL_USEC_PER_SEC / 1000;
        fl_timers_run(t->e);
    }
}

void tenv_stop(tenv *t)
{
    fl_engine_shutdown(t->e);
    fl_engine_free(t->e);
    tmpdir_free(t->dir);
    free(t->policy);
    free(t->listeners);
}

static fl_session *find(tenv *t, const char *sid)
{
    fl_session *s = fl_session_find(t->e, sid);
    ck_assert_msg(s != NULL, "no session %s", sid);
    return s;
}

fl_verdict t_connect_named(tenv *t, const char *sid, const char *addr, const char *dns,
                           fl_decision *d)
{
    fl_decision local;
    fl_connect_info ci = {.sid = sid, .dns_name = dns};
    fl_session *s;
    if (d == NULL)
        d = &local;
    ck_assert_int_eq(fl_addr_parse(addr, &ci.addr), 0);
    ck_assert_int_eq(fl_connect(t->e, &ci, &s, d), 0);
    ck_assert_int_eq(s != NULL, d->verdict == FL_ALLOW);
    return d->verdict;
}

fl_verdict t_connect(tenv *t, const char *sid, const char *addr, fl_decision *d)
{
    return t_connect_named(t, sid, addr, NULL, d);
}

fl_verdict t_user(tenv *t, const char *sid, const char *user, fl_decision *d)
{
    fl_decision local;
    if (d == NULL)
        d = &local;
    ck_assert_int_eq(fl_user(t->e, find(t, sid), user, d), 0);
    return d->verdict;
}

fl_verdict t_pass(tenv *t, const char *sid, bool ok, const char *password,
                  fl_decision *d)
{
    fl_decision local;
    if (d == NULL)
        d = &local;
    ck_assert_int_eq(fl_pass(t->e, find(t, sid), ok, password, d), 0);
    return d->verdict;
}

fl_verdict t_login(tenv *t, const char *sid, const char *addr, const char *user,
                   fl_decision *d)
{
    fl_verdict v = t_connect(t, sid, addr, d);
    if (v != FL_ALLOW)
        return v;
    v = t_user(t, sid, user, d);
    if (v != FL_ALLOW)
        return v;
    return t_pass(t, sid, true, "secret", d);
}

void t_close(tenv *t, const char *sid)
{
    fl_close(t->e, find(t, sid));
}

long long host_conns(tenv *t, const char *addr)
{
    fl_addr a;
    fl_counts c;
    ck_assert_int_eq(fl_addr_parse(addr, &a), 0);
    int rc = fl_count_host(t->e, &a, &c);
    return rc == 0 ? c.conns : -1;
}

long long host_clients(tenv *t, const char *addr)
{
    fl_addr a;
    fl_counts c;
    ck_assert_int_eq(fl_addr_parse(addr, &a), 0);
    int rc = fl_count_host(t->e, &a, &c);
    return rc == 0 ? c.clients : -1;
}

long long user_clients(tenv *t, const char *user)
{
    fl_counts c;
    int rc = fl_count_user(t->e, user, &c);
    return rc == 0 ? c.clients : -1;
}

long long user_hosts(tenv *t, const char *user)
{
    fl_counts c;
    int rc = fl_count_user(t->e, user, &c);
    return rc == 0 ? c.hosts : -1;
}

long long class_clients(tenv *t, const char *cls)
{
    fl_counts c;
    int rc = fl_count_class(t->e, cls, &c);
    return rc == 0 ? c.clients : -1;
}

void expect_policy_error(const char *line, const char *error,
                         void (*prepare)(const char *dir))
{
    tenv t;
    tenv_start(&t, NULL);
    if (prepare != NULL)
        prepare(t.dir);
    char *text = NULL;
    ck_assert_int_gt(asprintf(&text, "MaxClients 5\n%s\n", line), 0);
    ck_assert_msg(tenv_reload(&t, text) == -1, "%s: accepted", line);
    ck_assert_msg(strstr(t.errors.text, "policy.conf:2: ") != NULL &&
                      strstr(t.errors.text, error) != NULL,
                  "%s: got '%s'", line, t.errors.text);
    free(text);
    tenv_stop(&t);
}
