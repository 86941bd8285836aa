/*
 * engineutil.h - an engine on a virtual clock with a policy from a string,
 * and short ways to drive sessions, for the engine suites.
 */
#ifndef FL_ENGINEUTIL_H
#define FL_ENGINEUTIL_H

#include <ftplimit/ftplimit.h>

#include "testutil.h"

typedef struct tenv {
    fl_engine *e;
    fl_vclock clock;
    char *dir;
    char *policy;
    trail events; /* "event(sid)," for every event with a session, "event," otherwise */
    trail errors; /* policy errors */
    fl_event_info last; /* the last limit event's payload, strings copied below */
    long long last_max, last_count;
    char last_user[FL_USER_MAX + 1], last_address[FL_ADDR_TEXT_MAX], last_class[200];
    char last_country[3];
    void *listeners; /* this engine's event listeners */
} tenv;

/* Start an engine with the policy text (NULL: no policy file); @DIR@ in it
 * stands for the test's temporary directory. */
void tenv_start(tenv *t, const char *policy_text);
/* The same, calling prepare(dir) first to write files the policy names. */
void tenv_start_with(tenv *t, const char *policy_text,
                     void (*prepare)(const char *dir));
/* Rewrite the policy file and reload; returns fl_engine_reload's result. */
int tenv_reload(tenv *t, const char *policy_text);
void tenv_stop(tenv *t);
/* Let usec pass on the virtual clock and run the timers that fell due;
 * then, if a ban-table save is being written, let it end. */
void tenv_advance(tenv *t, fl_usec usec);

/* Drive sessions by id; each returns the verdict and fills d if not NULL. */
fl_verdict t_connect(tenv *t, const char *sid, const char *addr, fl_decision *d);
fl_verdict t_connect_named(tenv *t, const char *sid, const char *addr, const char *dns,
                           fl_decision *d);
fl_verdict t_user(tenv *t, const char *sid, const char *user, fl_decision *d);
fl_verdict t_pass(tenv *t, const char *sid, bool ok, const char *password,
                  fl_decision *d);
/* connect + user + pass ok; the verdict of the first step that is not allow. */
fl_verdict t_login(tenv *t, const char *sid, const char *addr, const char *user,
                   fl_decision *d);
void t_close(tenv *t, const char *sid);

/* Assert that a policy of "MaxClients 5" and line is refused with an error
 * at policy.conf:2 containing error; prepare(dir), if any, writes files
 * first (@DIR@ in line stands for dir). */
void expect_policy_error(const char *line, const char *error,
                         void (*prepare)(const char *dir));

/* Counts, -1 when the engine holds nothing for the key. */
long long host_conns(tenv *t, const char *addr);
long long host_clients(tenv *t, const char *addr);
long long user_clients(tenv *t, const char *user);
long long user_hosts(tenv *t, const char *user);
long long class_clients(tenv *t, const char *cls);

#endif
