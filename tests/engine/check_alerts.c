/*
 * check_alerts.c - the OnEvent listeners: exec (argument vector, hostile
 * arguments, environment, timeout, concurrency cap, failures), syslog (line
 * format), jsonl (validity, reopen on reload, unwritable and full files),
 * AlertSuppress, patterns, and listeners as engine modules.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "engineutil.h"
#include "util/file.h"

#define SEC FL_USEC_PER_SEC

/* alerts.h: route syslog lines to a function (test builds link it). */
void fl_alerts_set_syslog(fl_engine *e,
                          void (*fn)(void *arg, int priority, const char *line),
                          void *arg);

static tenv T;
static trail LOG;

static void teardown(void)
{
    tenv_stop(&T);
}

static void sleep_ms(int ms)
{
    nanosleep(&(struct timespec){.tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000L},
              NULL);
}

/* Let engine time pass in steps of 50 ms (the reaper's), and real time a
 * little with each, until cond holds or 5 s of real time went by. */
#define ADVANCE_UNTIL(cond)                                                            \
    do {                                                                               \
        for (int i_ = 0; i_ < 500 && !(cond); i_++) {                                  \
            T.clock.now += 50 * 1000;                                                  \
            fl_timers_run(T.e);                                                        \
            sleep_ms(10);                                                              \
        }                                                                              \
        ck_assert_msg(cond, "timed out waiting for " #cond);                           \
    } while (0)

static fl_alert_stats stats(void)
{
    fl_alert_stats st;
    fl_engine_alert_stats(T.e, &st);
    return st;
}

static char *path_in(const char *name)
{
    char *p = NULL;
    ck_assert_int_gt(asprintf(&p, "%s/%s", T.dir, name), 0);
    return p;
}

/* A whole file and its length (it may hold NUL bytes); NULL if absent. */
static char *slurp(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return NULL;
    size_t cap = 65536;
    char *buf = malloc(cap);
    ssize_t n;
    *len = 0;
    while ((n = read(fd, buf + *len, cap - *len - 1)) > 0)
        *len += (size_t)n;
    buf[*len] = '\0';
    close(fd);
    return buf;
}

static bool exists(const char *name)
{
    char *p = path_in(name);
    bool yes = access(p, F_OK) == 0;
    free(p);
    return yes;
}

static void write_script(const char *dir, const char *name, const char *body)
{
    char *path = write_file(dir, name, body);
    ck_assert_int_eq(chmod(path, 0755), 0);
    free(path);
}

/* Two clients from one host under MaxClientsPerHost 1: the second is
 * refused with mod_auth.max-clients-per-host. */
static void refuse_second(const char *sid1, const char *sid2, const char *addr,
                          const char *user)
{
    ck_assert_int_eq(t_login(&T, sid1, addr, "first", NULL), FL_ALLOW);
    ck_assert_int_eq(t_login(&T, sid2, addr, user, NULL), FL_DISCONNECT);
}

/* --- exec ------------------------------------------------------------------- */

#define HOSTILE "$(touch pwned);`touch pwned2`\"\n' && rm -rf / #%n%s"

static void prepare_args_script(const char *dir)
{
    write_script(
        dir, "args.sh",
        "#!/bin/sh\n"
        "d=$(dirname \"$0\")\n"
        "for a in \"$@\"; do printf '%s\\0' \"$a\"; done > \"$d/args.tmp\"\n"
        "env > \"$d/env.tmp\"\n"
        "if read -r line; then echo data; else echo eof; fi > \"$d/stdin.tmp\"\n"
        "o=$(readlink /proc/$$/fd/1); echo \"$o\" > \"$d/stdout.tmp\"\n"
        "cut -d' ' -f5 /proc/$$/stat > \"$d/pgid.tmp\"\n"
        "for f in env stdin stdout pgid args; do mv \"$d/$f.tmp\" \"$d/$f.out\"; "
        "done\n");
}

START_TEST(test_exec_gets_each_expanded_argument_literally_and_never_a_shell)
{
    tenv_start_with(
        &T,
        "MaxClientsPerHost 1\n"
        "OnEvent mod_auth.max-clients-per-host exec @DIR@/args.sh %u \"x %a y\" "
        "%e %m %n %s %c %C %% %z %t\n",
        prepare_args_script);
    char *cwd = getcwd(NULL, 0);
    ck_assert_int_eq(chdir(T.dir), 0); /* where a shell would have touched pwned */
    refuse_second("a", "b", "192.0.2.1", HOSTILE);
    ADVANCE_UNTIL(exists("args.out"));

    char *path = path_in("args.out");
    size_t len;
    char *args = slurp(path, &len);
    const char *want[] = {HOSTILE,
                          "x 192.0.2.1 y",
                          "mod_auth.max-clients-per-host",
                          "1",
                          "2",
                          "b",
                          "",
                          "",
                          "%",
                          "%z"};
    size_t o = 0, i = 0;
    for (; i < sizeof want / sizeof want[0]; i++) {
        ck_assert_msg(o < len, "argument %zu missing", i);
        ck_assert_str_eq(args + o, want[i]);
        o += strlen(args + o) + 1;
    }
    /* %t: the time, in seconds. */
    long long t = strtoll(args + o, NULL, 10);
    ck_assert(t > 1700000000LL && t <= (long long)time(NULL));
    o += strlen(args + o) + 1;
    ck_assert_int_eq(o, len); /* nothing more */
    free(args);
    free(path);
    ck_assert(!exists("pwned") && !exists("pwned2"));
    ck_assert_int_eq(chdir(cwd), 0);
    free(cwd);

    /* A minimal environment: PATH and the event's fields. */
    path = path_in("env.out");
    char *env = slurp(path, &len);
    ck_assert_ptr_nonnull(
        strstr(env, "FTPLIMIT_EVENT=mod_auth.max-clients-per-host\n"));
    ck_assert_ptr_nonnull(strstr(env, "FTPLIMIT_ADDRESS=192.0.2.1\n"));
    ck_assert_ptr_nonnull(strstr(env, "FTPLIMIT_USER=" HOSTILE "\n"));
    ck_assert_ptr_nonnull(strstr(env, "FTPLIMIT_LIMIT=MaxClientsPerHost\n"));
    ck_assert_ptr_nonnull(strstr(env, "FTPLIMIT_MAX=1\n"));
    ck_assert_ptr_nonnull(strstr(env, "FTPLIMIT_COUNT=2\n"));
    ck_assert_ptr_nonnull(strstr(env, "FTPLIMIT_SID=b\n"));
    ck_assert_ptr_null(strstr(env, "HOME="));
    ck_assert_ptr_null(strstr(env, "top_srcdir="));
    for (char *line = strtok(env, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        if (strchr(line, '=') == NULL)
            continue; /* the tail of the multi-line user name */
        ck_assert_msg(
            strncmp(line, "FTPLIMIT_", 9) == 0 || strncmp(line, "PATH=", 5) == 0 ||
                strncmp(line, "PWD=", 4) == 0 || strncmp(line, "' && rm", 7) == 0,
            "unexpected variable %s", line);
    }
    free(env);
    free(path);

    char *in = path_in("stdin.out"), *out = path_in("stdout.out"),
         *pg = path_in("pgid.out");
    char *text = read_file(in);
    ck_assert_str_eq(text, "eof\n");
    free(text);
    text = read_file(out);
    ck_assert_str_eq(text, "/dev/null\n");
    free(text);
    /* A process group of its own: killing it spares the engine. */
    text = read_file(pg);
    ck_assert_int_ne(strtol(text, NULL, 10), (long)getpgrp());
    free(text);
    free(in);
    free(out);
    free(pg);

    ADVANCE_UNTIL(stats().running == 0); /* reaped */
    ck_assert_int_eq(stats().sent[FL_ALERT_EXEC], 1);
}
END_TEST

static void prepare_sleeper(const char *dir)
{
    write_script(
        dir, "sleeper.sh",
        "#!/bin/sh\n"
        "d=$(dirname \"$0\")\n"
        "sleep 30 &\n"
        "echo $! > \"$d/child.$$.tmp\"; mv \"$d/child.$$.tmp\" \"$d/child.$$\"\n"
        "wait\n");
}

START_TEST(test_exec_is_killed_with_its_process_group_after_exec_timeout)
{
    /* Orphans of the killed program come to this process, to be checked. */
    ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    tenv_start_with(&T,
                    "MaxClientsPerHost 1\nExecTimeout 2\n"
                    "OnEvent mod_auth.* exec @DIR@/sleeper.sh\n",
                    prepare_sleeper);
    trail_reset(&LOG);
    fl_engine_set_log(T.e, trail_log, &LOG);
    refuse_second("a", "b", "192.0.2.1", "u");
    ck_assert_int_eq(stats().running, 1);
    /* Wait (real time, engine clock still) for the program to start its
     * own child. */
    pid_t grandchild = 0;
    for (int i = 0; i < 500 && grandchild == 0; i++) {
        char cmd[4200];
        snprintf(cmd, sizeof cmd, "cat %s/child.[0-9]* 2>/dev/null", T.dir);
        FILE *p = popen(cmd, "r");
        long v = 0;
        if (fscanf(p, "%ld", &v) == 1)
            grandchild = (pid_t)v;
        pclose(p);
        if (grandchild == 0)
            sleep_ms(10);
    }
    ck_assert_int_gt(grandchild, 0);

    T.clock.now += 2 * SEC - 100 * 1000;
    fl_timers_run(T.e);
    ck_assert_int_eq(stats().killed, 0);
    ADVANCE_UNTIL(stats().running == 0);
    ck_assert_int_eq(stats().killed, 1);
    ck_assert_ptr_nonnull(
        strstr(LOG.text, "sleeper.sh ran longer than ExecTimeout; killed"));
    int status;
    ck_assert_int_eq(waitpid(grandchild, &status, 0), grandchild);
    ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}
END_TEST

START_TEST(test_exec_runs_at_most_exec_max_running_and_counts_what_it_drops)
{
    tenv_start_with(&T,
                    "MaxClientsPerHost 1\nExecMaxRunning 2\nExecTimeout 1\n"
                    "OnEvent mod_auth.max-clients-per-host exec @DIR@/sleeper.sh\n",
                    prepare_sleeper);
    ck_assert_int_eq(t_login(&T, "a", "192.0.2.1", "u", NULL), FL_ALLOW);
    for (int i = 0; i < 5; i++) {
        char sid[8];
        snprintf(sid, sizeof sid, "r%d", i);
        ck_assert_int_eq(t_login(&T, sid, "192.0.2.1", "u", NULL), FL_DISCONNECT);
    }
    fl_alert_stats st = stats();
    ck_assert_int_eq(st.sent[FL_ALERT_EXEC], 2);
    ck_assert_int_eq(st.dropped[FL_ALERT_EXEC], 3);
    ck_assert_int_eq(st.running, 2);
    ADVANCE_UNTIL(stats().running == 0);
    ck_assert_int_eq(stats().killed, 2);
    /* Room again. */
    ck_assert_int_eq(t_login(&T, "z", "192.0.2.1", "u", NULL), FL_DISCONNECT);
    ck_assert_int_eq(stats().sent[FL_ALERT_EXEC], 3);
}
END_TEST

static void prepare_touch(const char *dir)
{
    write_script(dir, "touch.sh", "#!/bin/sh\ntouch \"$(dirname \"$0\")/ran.$1\"\n");
}

START_TEST(test_a_program_that_cannot_run_is_reported_once_and_tried_again)
{
    tenv_start_with(&T,
                    "MaxClientsPerHost 1\n"
                    "OnEvent mod_auth.max-clients-per-host exec @DIR@/touch.sh %s\n",
                    prepare_touch);
    trail_reset(&LOG);
    fl_engine_set_log(T.e, trail_log, &LOG);
    char *script = path_in("touch.sh"), *moved = path_in("touch.sh.away");
    ck_assert_int_eq(rename(script, moved), 0);
    ck_assert_int_eq(t_login(&T, "a", "192.0.2.1", "u", NULL), FL_ALLOW);
    for (int i = 0; i < 3; i++) {
        char sid[8];
        snprintf(sid, sizeof sid, "f%d", i);
        ck_assert_int_eq(t_login(&T, sid, "192.0.2.1", "u", NULL), FL_DISCONNECT);
    }
    ck_assert_int_eq(stats().failed[FL_ALERT_EXEC], 3);
    /* One report, naming the program and why. */
    const char *first = strstr(LOG.text, "cannot run ");
    ck_assert_ptr_nonnull(first);
    ck_assert_ptr_nonnull(strstr(LOG.text, "No such file or directory"));
    ck_assert_ptr_null(strstr(first + 1, "cannot run "));

    ck_assert_int_eq(rename(moved, script), 0);
    ck_assert_int_eq(t_login(&T, "ok", "192.0.2.1", "u", NULL), FL_DISCONNECT);
    ADVANCE_UNTIL(exists("ran.ok"));
    ck_assert_ptr_nonnull(strstr(LOG.text, "works again"));
    ck_assert_int_eq(stats().sent[FL_ALERT_EXEC], 1);
    free(script);
    free(moved);
}
END_TEST

/* --- syslog ------------------------------------------------------------------- */

static trail SYSLOG;
static int syslog_priorities[16], nsyslog;

static void fake_syslog(void *arg, int priority, const char *line)
{
    (void)arg;
    trail_add(&SYSLOG, line);
    if (nsyslog < 16)
        syslog_priorities[nsyslog++] = priority;
}

/* Issue 24, point 10: a program that runs but fails (a status, or a
 * signal not ExecTimeout's) is counted failed, and logged once until one
 * succeeds. */
START_TEST(test_a_program_that_fails_is_counted_failed)
{
    tenv_start(&T, "MaxClientsPerHost 1\n"
                   "OnEvent mod_auth.max-clients-per-host exec /bin/false\n");
    trail_reset(&LOG);
    fl_engine_set_log(T.e, trail_log, &LOG);
    refuse_second("a", "b", "192.0.2.1", "u");
    refuse_second("c", "d", "192.0.2.2", "u");
    ADVANCE_UNTIL(stats().running == 0);
    ck_assert_int_eq(stats().sent[FL_ALERT_EXEC], 2);
    ck_assert_int_eq(stats().failed[FL_ALERT_EXEC], 2);
    const char *first = strstr(LOG.text, "/bin/false exited with status 1");
    ck_assert_ptr_nonnull(first);
    ck_assert_ptr_null(strstr(first + 20, "exited with status"));
}
END_TEST

START_TEST(test_syslog_writes_one_line_per_event_with_control_characters_escaped)
{
    tenv_start(&T, "MaxClientsPerHost 1\n"
                   "OnEvent mod_auth.max-clients-per-host syslog local3.warning\n");
    trail_reset(&SYSLOG);
    nsyslog = 0;
    fl_alerts_set_syslog(T.e, fake_syslog, NULL);
    refuse_second("a", "b", "192.0.2.1", "ev\"il\r\nmod_auth.fake user=root\\");
    ck_assert_int_eq(nsyslog, 1);
    ck_assert_int_eq(syslog_priorities[0], LOG_LOCAL3 | LOG_WARNING);
    ck_assert_str_eq(SYSLOG.text,
                     "mod_auth.max-clients-per-host sid=b address=192.0.2.1 "
                     "user=\"ev\\\"il\\x0d\\x0amod_auth.fake user=root\\\\\" "
                     "limit=MaxClientsPerHost max=1 count=2,");
    ck_assert_int_eq(stats().sent[FL_ALERT_SYSLOG], 1);
    /* Bytes past ASCII too (issue 24, point 8): a C1 control (0x9b is CSI)
     * and UTF-8 alike. */
    trail_reset(&SYSLOG);
    refuse_second("c", "d", "192.0.2.2", "caf\xc3\xa9\x9b[2J");
    ck_assert_str_eq(SYSLOG.text,
                     "mod_auth.max-clients-per-host sid=d address=192.0.2.2 "
                     "user=caf\\xc3\\xa9\\x9b[2J "
                     "limit=MaxClientsPerHost max=1 count=2,");
}
END_TEST

/* Issue 24, point 10: syslog(3) says nothing when no syslog daemon listens
 * on /dev/log; such an alert was counted sent. It is counted failed, and
 * said once. (Where a syslog daemon listens, it is sent.) */
START_TEST(test_a_syslog_alert_no_syslog_daemon_takes_is_counted_failed)
{
    tenv_start(&T, "MaxClientsPerHost 1\n"
                   "OnEvent mod_auth.max-clients-per-host syslog local3.warning\n");
    trail_reset(&LOG);
    fl_engine_set_log(T.e, trail_log, &LOG);
    refuse_second("a", "b", "192.0.2.1", "alice");
    refuse_second("c", "d", "192.0.2.2", "bob");
    if (fl_syslog_reachable()) {
        ck_assert_int_eq(stats().sent[FL_ALERT_SYSLOG], 2);
        ck_assert_int_eq(stats().failed[FL_ALERT_SYSLOG], 0);
        return;
    }
    ck_assert_int_eq(stats().sent[FL_ALERT_SYSLOG], 0);
    ck_assert_int_eq(stats().failed[FL_ALERT_SYSLOG], 2);
    const char *said = strstr(LOG.text, "no syslog daemon listens on /dev/log");
    ck_assert_ptr_nonnull(said);
    ck_assert_ptr_null(strstr(said + 1, "no syslog daemon listens on /dev/log"));
}
END_TEST

START_TEST(test_listeners_are_modules_dispatched_in_load_order)
{
    tenv_start(&T, "MaxClientsPerHost 1\n"
                   "OnEvent mod_auth.* syslog daemon.err\n"
                   "OnEvent mod_auth.max-clients-* syslog daemon.info\n"
                   "OnEvent core.* syslog daemon.debug\n");
    ck_assert_ptr_nonnull(fl_module_find(T.e, "onevent#1.1:syslog"));
    ck_assert_ptr_nonnull(fl_module_find(T.e, "onevent#1.3:syslog"));
    /* Their load was announced like any module's (before the test's own
     * listeners saw the startup). */
    nsyslog = 0;
    fl_alerts_set_syslog(T.e, fake_syslog, NULL);
    refuse_second("a", "b", "192.0.2.1", "u");
    /* mod_auth.max-clients-per-host: the first two, in load order; then
     * core.exit: the third. */
    ck_assert_int_eq(nsyslog, 3);
    ck_assert_int_eq(syslog_priorities[0], LOG_DAEMON | LOG_ERR);
    ck_assert_int_eq(syslog_priorities[1], LOG_DAEMON | LOG_INFO);
    ck_assert_int_eq(syslog_priorities[2], LOG_DAEMON | LOG_DEBUG);
    /* A reload replaces them with the next generation. */
    trail_reset(&T.events);
    ck_assert_int_eq(tenv_reload(&T, "OnEvent * syslog\n"), 0);
    ck_assert_ptr_null(fl_module_find(T.e, "onevent#1.1:syslog"));
    ck_assert_ptr_nonnull(fl_module_find(T.e, "onevent#2.1:syslog"));
    ck_assert_ptr_nonnull(strstr(T.events.text, "core.module-unload,core.module-unload,"
                                                "core.module-unload,"));
    ck_assert_ptr_nonnull(strstr(T.events.text, "core.module-load,"));
    /* Embedders cannot unload them. */
    ck_assert_int_eq(fl_module_unload(T.e, fl_module_find(T.e, "onevent#2.1:syslog")),
                     -1);
    ck_assert_int_eq(errno, EPERM);
}
END_TEST

START_TEST(test_an_engine_without_alerts_loads_no_listener)
{
    tenv_start(&T, NULL);
    fl_engine_options opts = {.no_alerts = true};
    fl_engine *e = fl_engine_new(&opts);
    char *policy =
        write_file(T.dir, "p.conf", "OnEvent * syslog\nOnEvent * jsonl out.jsonl\n");
    ck_assert_int_eq(fl_engine_load(e, policy, NULL, NULL), 0);
    ck_assert_ptr_null(fl_module_find(e, "onevent#1.1:syslog"));
    fl_engine_startup(e);
    fl_engine_shutdown(e);
    fl_engine_free(e);
    ck_assert(!exists("out.jsonl"));
    free(policy);
}
END_TEST

/* --- jsonl -------------------------------------------------------------------- */

/* The lines of a jsonl file, each parsed (and asserted to parse). */
static size_t jsonl_lines(const char *name, json_t **out, size_t max)
{
    char *path = path_in(name);
    size_t len, n = 0;
    char *text = slurp(path, &len);
    free(path);
    if (text == NULL)
        return 0;
    ck_assert_msg(memchr(text, '\0', len) == NULL, "a NUL byte in %s", name);
    for (char *line = text, *lf; (lf = strchr(line, '\n')) != NULL; line = lf + 1) {
        *lf = '\0';
        json_error_t err;
        json_t *o = json_loads(line, 0, &err);
        ck_assert_msg(o != NULL, "%s: not JSON: %s (%s)", name, line, err.text);
        if (n < max)
            out[n] = o;
        else
            json_decref(o);
        n++;
    }
    free(text);
    return n;
}

static void free_lines(json_t **lines, size_t n)
{
    for (size_t i = 0; i < n; i++)
        json_decref(lines[i]);
}

START_TEST(test_jsonl_writes_valid_json_for_hostile_strings)
{
    tenv_start(&T, "MaxClientsPerHost 1\nOnEvent mod_auth.* jsonl events.jsonl\n");
    const char evil[] = "a\nb\"c\\d%n%s\x01\x1b[31m\xff\xfe\xc3\xa9";
    refuse_second("a", "b", "192.0.2.1", evil);
    refuse_second("c", "d", "192.0.2.2", "plain");
    json_t *lines[4];
    ck_assert_int_eq(jsonl_lines("events.jsonl", lines, 4), 2);
    ck_assert_str_eq(json_string_value(json_object_get(lines[0], "event")),
                     "mod_auth.max-clients-per-host");
    /* Every byte comes back: invalid UTF-8 as U+0080..U+00FF, valid as is. */
    ck_assert_str_eq(json_string_value(json_object_get(lines[0], "user")),
                     "a\nb\"c\\d%n%s\x01\x1b[31m\xc3\xbf\xc3\xbe\xc3\xa9");
    ck_assert_str_eq(json_string_value(json_object_get(lines[0], "sid")), "b");
    ck_assert_int_eq(json_integer_value(json_object_get(lines[0], "count")), 2);
    ck_assert_ptr_nonnull(json_string_value(json_object_get(lines[0], "time")));
    ck_assert_str_eq(json_string_value(json_object_get(lines[1], "user")), "plain");
    free_lines(lines, 2);
    ck_assert_int_eq(stats().sent[FL_ALERT_JSONL], 2);
}
END_TEST

START_TEST(test_jsonl_is_reopened_on_reload_so_logrotate_works)
{
    const char *policy = "MaxClientsPerHost 1\nOnEvent mod_auth.* jsonl events.jsonl\n";
    tenv_start(&T, policy);
    refuse_second("a", "b", "192.0.2.1", "u");
    char *live = path_in("events.jsonl"), *rotated = path_in("events.jsonl.1");
    ck_assert_int_eq(rename(live, rotated), 0); /* logrotate */
    refuse_second("c", "d", "192.0.2.2", "u");  /* still into the rotated file */
    ck_assert_int_eq(tenv_reload(&T, policy), 0);
    refuse_second("e", "f", "192.0.2.3", "u");
    json_t *lines[4];
    ck_assert_int_eq(jsonl_lines("events.jsonl.1", lines, 4), 2);
    free_lines(lines, 2);
    ck_assert_int_eq(jsonl_lines("events.jsonl", lines, 4), 1);
    ck_assert_str_eq(json_string_value(json_object_get(lines[0], "sid")), "f");
    free_lines(lines, 1);
    free(live);
    free(rotated);
}
END_TEST

START_TEST(test_an_unwritable_jsonl_file_is_reported_once_retried_and_recovers)
{
    tenv_start(&T, "MaxClientsPerHost 1\n");
    trail_reset(&LOG);
    fl_engine_set_log(T.e, trail_log, &LOG);
    ck_assert_int_eq(
        tenv_reload(
            &T, "MaxClientsPerHost 1\nOnEvent mod_auth.* jsonl later/events.jsonl\n"),
        0);
    refuse_second("a", "b", "192.0.2.1", "u");
    refuse_second("c", "d", "192.0.2.2", "u");
    ck_assert_int_eq(stats().failed[FL_ALERT_JSONL],
                     3); /* the open at load, two alerts */
    /* Reported once. */
    const char *first = strstr(LOG.text, "cannot open");
    ck_assert_ptr_nonnull(first);
    ck_assert_ptr_null(strstr(first + 1, "cannot open"));
    char *dir = path_in("later");
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    refuse_second("e", "f", "192.0.2.3", "u");
    ck_assert_ptr_nonnull(strstr(LOG.text, "works again"));
    json_t *lines[2];
    ck_assert_int_eq(jsonl_lines("later/events.jsonl", lines, 2), 1);
    free_lines(lines, 1);
    free(dir);
}
END_TEST

/* A full disk (here: a file size limit, as a full disk answers: a short
 * write, then none): reported once, never fatal, and no line is ever left
 * cut for the next one to be glued to (issue 24, point 3). */
START_TEST(test_a_full_disk_is_reported_once_never_fatal_and_leaves_whole_lines)
{
    tenv_start(&T, "MaxClientsPerHost 1\nOnEvent mod_auth.* jsonl events.jsonl\n");
    trail_reset(&LOG);
    fl_engine_set_log(T.e, trail_log, &LOG);
    refuse_second("a0", "b0", "192.0.2.1", "u");
    char *path = path_in("events.jsonl");
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit limit = {(rlim_t)st.st_size + 40, (rlim_t)st.st_size + 40};
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &limit), 0);
    for (int i = 1; i < 4; i++) {
        char a[8], b[8], addr[32];
        snprintf(a, sizeof a, "a%d", i);
        snprintf(b, sizeof b, "b%d", i);
        snprintf(addr, sizeof addr, "192.0.2.%d", i + 1);
        refuse_second(a, b, addr, "u");
    }
    ck_assert_int_eq(stats().sent[FL_ALERT_JSONL], 1);
    ck_assert_int_eq(stats().failed[FL_ALERT_JSONL], 3);
    const char *first = strstr(LOG.text, "cannot write");
    ck_assert_ptr_nonnull(first);
    ck_assert_ptr_null(strstr(first + 1, "cannot write"));
    /* The first line, whole, and nothing after it. */
    struct stat now;
    ck_assert_int_eq(stat(path, &now), 0);
    ck_assert_int_eq(now.st_size, st.st_size);
    json_t *lines[4];
    ck_assert_int_eq(jsonl_lines("events.jsonl", lines, 4), 1);
    free_lines(lines, 1);
    free(path);
}
END_TEST

/* A link or a special file where a jsonl file should be is refused, not
 * followed or waited on (issue 24, point 1); a new file is made 0640. */
START_TEST(test_a_jsonl_path_that_is_a_link_or_a_fifo_is_refused)
{
    tenv_start(&T, "MaxClientsPerHost 1\n");
    trail_reset(&LOG);
    fl_engine_set_log(T.e, trail_log, &LOG);
    char *target = path_in("precious");
    char *link = path_in("link.jsonl");
    char *fifo = path_in("fifo.jsonl");
    FILE *f = fopen(target, "w");
    fputs("keep\n", f);
    fclose(f);
    ck_assert_int_eq(symlink(target, link), 0);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    char policy[4096];
    snprintf(
        policy, sizeof policy,
        "MaxClientsPerHost 1\nOnEvent mod_auth.* jsonl link.jsonl\n"
        "OnEvent mod_auth.* jsonl fifo.jsonl\nOnEvent mod_auth.* jsonl new.jsonl\n");
    ck_assert_int_eq(tenv_reload(&T, policy), 0); /* returns: no open waits */
    refuse_second("a", "b", "192.0.2.1", "u");
    char *kept = read_file(target);
    ck_assert_str_eq(kept, "keep\n");
    free(kept);
    ck_assert_ptr_nonnull(strstr(LOG.text, "cannot open"));
    ck_assert_ptr_nonnull(strstr(LOG.text, "Too many levels of symbolic links"));
    /* (ENXIO with no reader on the FIFO; EINVAL, not a regular file, with
     * one.) */
    ck_assert_ptr_nonnull(strstr(LOG.text, "cannot open"));
    ck_assert_ptr_nonnull(strstr(LOG.text, "fifo.jsonl: "));
    ck_assert_int_eq(stats().sent[FL_ALERT_JSONL], 1);
    char *made = path_in("new.jsonl");
    struct stat st;
    ck_assert_int_eq(stat(made, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0640);
    free(made);
    free(target);
    free(link);
    free(fifo);
}
END_TEST

/* --- AlertSuppress and patterns ---------------------------------------------- */

START_TEST(test_alert_suppress_counts_repeats_and_the_next_alert_says_how_many)
{
    tenv_start(&T, "MaxClientsPerHost 1\nAlertSuppress 60\n"
                   "OnEvent mod_auth.* jsonl events.jsonl\n");
    ck_assert_int_eq(t_login(&T, "a", "192.0.2.1", "u", NULL), FL_ALLOW);
    for (int i = 0; i < 5; i++) {
        char sid[8];
        snprintf(sid, sizeof sid, "r%d", i);
        ck_assert_int_eq(t_login(&T, sid, "192.0.2.1", "u", NULL), FL_DISCONNECT);
        T.clock.now += 10 * SEC;
    }
    refuse_second("b", "c", "192.0.2.2", "u"); /* another host: its own key */
    ck_assert_int_eq(stats().suppressed[FL_ALERT_JSONL], 4);
    T.clock.now += 11 * SEC; /* 61 s after the first alert */
    ck_assert_int_eq(t_login(&T, "z", "192.0.2.1", "u", NULL), FL_DISCONNECT);

    json_t *lines[8];
    ck_assert_int_eq(jsonl_lines("events.jsonl", lines, 8), 3);
    ck_assert_str_eq(json_string_value(json_object_get(lines[0], "sid")), "r0");
    ck_assert_ptr_null(json_object_get(lines[0], "suppressed"));
    ck_assert_str_eq(json_string_value(json_object_get(lines[1], "address")),
                     "192.0.2.2");
    ck_assert_str_eq(json_string_value(json_object_get(lines[2], "sid")), "z");
    ck_assert_int_eq(json_integer_value(json_object_get(lines[2], "suppressed")), 4);
    free_lines(lines, 3);
}
END_TEST

START_TEST(test_suppression_keys_on_the_user_for_per_user_limits)
{
    tenv_start(&T, "MaxClientsPerUser 1\nAlertSuppress 60\n"
                   "OnEvent mod_auth.max-clients-per-user jsonl events.jsonl\n");
    t_login(&T, "a", "192.0.2.1", "bob", NULL);
    t_login(&T, "b", "192.0.2.2", "bob", NULL); /* alert */
    t_login(&T, "c", "192.0.2.3", "bob", NULL); /* same user: held */
    t_login(&T, "d", "192.0.2.4", "amy", NULL);
    t_login(&T, "e", "192.0.2.4", "amy", NULL); /* another user: alert */
    json_t *lines[4];
    ck_assert_int_eq(jsonl_lines("events.jsonl", lines, 4), 2);
    free_lines(lines, 2);
    ck_assert_int_eq(stats().suppressed[FL_ALERT_JSONL], 1);
}
END_TEST

START_TEST(test_patterns_select_events_by_name_or_glob)
{
    tenv_start(&T, "MaxClientsPerHost 1\nMaxLoginAttempts 1\n"
                   "OnEvent core.exit jsonl exits.jsonl\n"
                   "OnEvent mod_auth.* jsonl auth.jsonl\n"
                   "OnEvent * jsonl all.jsonl\n");
    refuse_second("a", "b", "192.0.2.1", "u");
    ck_assert_int_eq(t_connect(&T, "c", "192.0.2.9", NULL), FL_ALLOW);
    t_user(&T, "c", "x", NULL);
    t_pass(&T, "c", false, NULL, NULL);
    json_t *lines[16];
    size_t n = jsonl_lines("auth.jsonl", lines, 16);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(json_string_value(json_object_get(lines[1], "event")),
                     "mod_auth.max-login-attempts");
    free_lines(lines, n);
    n = jsonl_lines("exits.jsonl", lines, 16);
    ck_assert_int_eq(n, 2);
    free_lines(lines, n);
    /* A policy's listeners hear from the moment it is put in force: the
     * announcements of their own loads, its core.postparse, then the rest
     * from core.startup on. */
    n = jsonl_lines("all.jsonl", lines, 16);
    ck_assert_int_eq(n, 9);
    static const char *const first[] = {"core.module-load", "core.module-load",
                                        "core.module-load", "core.postparse",
                                        "core.startup"};
    for (size_t i = 0; i < 5; i++)
        ck_assert_str_eq(json_string_value(json_object_get(lines[i], "event")),
                         first[i]);
    free_lines(lines, n);
}
END_TEST

START_TEST(test_a_ban_can_be_alerted_on)
{
    tenv_start(&T, "MaxLoginAttempts 1\n"
                   "BanOnEvent MaxLoginAttempts 1/00:01:00 01:00:00\n"
                   "OnEvent ftplimit.ban* jsonl bans.jsonl\n");
    ck_assert_int_eq(t_connect(&T, "a", "192.0.2.1", NULL), FL_ALLOW);
    t_user(&T, "a", "x", NULL);
    t_pass(&T, "a", false, NULL, NULL);
    T.clock.now += 3600 * SEC;
    fl_timers_run(T.e);
    json_t *lines[4];
    ck_assert_int_eq(jsonl_lines("bans.jsonl", lines, 4), 2);
    ck_assert_str_eq(json_string_value(json_object_get(lines[0], "event")),
                     "ftplimit.ban");
    ck_assert_str_eq(json_string_value(json_object_get(lines[0], "target")),
                     "192.0.2.1");
    ck_assert_str_eq(json_string_value(json_object_get(lines[0], "ban")), "host");
    ck_assert_int_eq(json_integer_value(json_object_get(lines[0], "duration")), 3600);
    ck_assert_str_eq(json_string_value(json_object_get(lines[1], "event")),
                     "ftplimit.ban-expired");
    free_lines(lines, 2);
}
END_TEST

/* --- the policy ---------------------------------------------------------------- */

static void prepare_plain_file(const char *dir)
{
    free(write_file(dir, "plain.txt", "not a program\n"));
}

START_TEST(test_listener_directives_with_mistakes_are_errors_with_file_and_line)
{
    const struct {
        const char *line;
        const char *error;
    } cases[] = {
        {"OnEvent mod_auth.nothing syslog", "'mod_auth.nothing' matches no event"},
        {"OnEvent * exec relative/prog", "absolute path"},
        {"OnEvent * exec", "absolute path"},
        {"OnEvent * exec /nonexistent/prog", "cannot execute '/nonexistent/prog'"},
        {"OnEvent * exec @DIR@/plain.txt", "plain.txt': not executable"},
        {"OnEvent * exec @DIR@", "not a regular file"},
        {"OnEvent * syslog local9.info", "bad syslog facility.priority 'local9.info'"},
        {"OnEvent * syslog daemon", "bad syslog facility.priority 'daemon'"},
        {"OnEvent * syslog daemon.info extra", "at most a facility.priority"},
        {"OnEvent * jsonl", "exactly one path"},
        {"OnEvent * mail root", "unknown listener 'mail'"},
        {"OnEvent *", "OnEvent"},
        {"AlertSuppress -1", "AlertSuppress"},
        {"AlertSuppress 100000", "AlertSuppress"},
        {"ExecTimeout 0", "ExecTimeout"},
        {"ExecMaxRunning 5000", "ExecMaxRunning"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_policy_error(cases[i].line, cases[i].error, prepare_plain_file);
    tenv_start(&T, "MaxClients 5\n");
}
END_TEST

static Suite *alerts_suite(void)
{
    Suite *s = suite_create("alerts");
    TCase *tc = tcase_create("alerts");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc,
                   test_exec_gets_each_expanded_argument_literally_and_never_a_shell);
    tcase_add_test(tc, test_exec_is_killed_with_its_process_group_after_exec_timeout);
    tcase_add_test(tc,
                   test_exec_runs_at_most_exec_max_running_and_counts_what_it_drops);
    tcase_add_test(tc, test_a_program_that_cannot_run_is_reported_once_and_tried_again);
    tcase_add_test(tc, test_a_program_that_fails_is_counted_failed);
    tcase_add_test(
        tc, test_syslog_writes_one_line_per_event_with_control_characters_escaped);
    tcase_add_test(tc, test_a_syslog_alert_no_syslog_daemon_takes_is_counted_failed);
    tcase_add_test(tc, test_listeners_are_modules_dispatched_in_load_order);
    tcase_add_test(tc, test_an_engine_without_alerts_loads_no_listener);
    tcase_add_test(tc, test_jsonl_writes_valid_json_for_hostile_strings);
    tcase_add_test(tc, test_jsonl_is_reopened_on_reload_so_logrotate_works);
    tcase_add_test(tc,
                   test_an_unwritable_jsonl_file_is_reported_once_retried_and_recovers);
    tcase_add_test(
        tc, test_a_full_disk_is_reported_once_never_fatal_and_leaves_whole_lines);
    tcase_add_test(tc, test_a_jsonl_path_that_is_a_link_or_a_fifo_is_refused);
    tcase_add_test(tc,
                   test_alert_suppress_counts_repeats_and_the_next_alert_says_how_many);
    tcase_add_test(tc, test_suppression_keys_on_the_user_for_per_user_limits);
    tcase_add_test(tc, test_patterns_select_events_by_name_or_glob);
    tcase_add_test(tc, test_a_ban_can_be_alerted_on);
    tcase_add_test(
        tc, test_listener_directives_with_mistakes_are_errors_with_file_and_line);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(alerts_suite()) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
