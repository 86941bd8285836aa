/*
 * check_daemon.c - a real ftplimitd on a temporary socket, driven by real
 * client processes: limits across processes, kill -9 of clients and of the
 * daemon, SIGHUP, SIGTERM, bad input, stalled clients, permissions.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemonutil.h"
#include "util/file.h"
#include "testutil.h"

static tdaemon D;
static pid_t detached; /* a daemon that left the test's process tree */

static void teardown(void)
{
    if (detached > 0)
        kill(detached, SIGKILL);
    tdaemon_free(&D);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* --- a session held by another process ------------------------------------ */

struct holder {
    tdaemon *d;
    const char *sid, *addr, *user;
    int report[2]; /* the child writes its verdict: A(llow), R(eject), D(isconnect),
                      E(rror) */
    int hold[2];   /* the child holds its session until this closes */
    pid_t pid;
};

static void hold_session(void *arg)
{
    struct holder *h = arg;
    /* Keep only this holder's pipe ends: a copy of another holder's write
     * end would keep that one from ever seeing its pipe close. */
    for (int fd = 3; fd < 1024; fd++)
        if (fd != h->report[1] && fd != h->hold[0])
            close(fd);
    char verdict = 'E';
    fl_decision d;
    fl_client *c = fl_client_open(h->d->socket, 5000);
    if (c != NULL && fl_client_connect(c, h->sid, h->addr, NULL, &d) == 0) {
        verdict = d.verdict == FL_ALLOW ? 'A' : 'D';
        if (d.verdict == FL_ALLOW && fl_client_user(c, h->user, &d) == 0 &&
            fl_client_pass(c, true, "pw", &d) == 0)
            verdict = d.verdict == FL_ALLOW ? 'A' : d.verdict == FL_REJECT ? 'R' : 'D';
    }
    if (write(h->report[1], &verdict, 1) != 1)
        _exit(1);
    char b;
    while (read(h->hold[0], &b, 1) < 0 && errno == EINTR)
        ;
    fl_client_free(c);
}

/* Start a process holding a session; returns its verdict. */
static char start_holder(struct holder *h, const char *sid, const char *addr,
                         const char *user)
{
    h->d = &D;
    h->sid = sid;
    h->addr = addr;
    h->user = user;
    ck_assert_int_eq(pipe(h->report), 0);
    ck_assert_int_eq(pipe(h->hold), 0);
    h->pid = tfork(hold_session, h);
    close(h->report[1]);
    close(h->hold[0]);
    char verdict = '?';
    ck_assert_int_eq(read(h->report[0], &verdict, 1), 1);
    close(h->report[0]);
    return verdict;
}

static void release_holder(struct holder *h)
{
    close(h->hold[1]);
    twait(h->pid);
}

static void kill_holder(struct holder *h)
{
    kill(h->pid, SIGKILL);
    twait(h->pid);
    close(h->hold[1]);
}

/* --- raw protocol ------------------------------------------------------------ */

static int raw_connect(void)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    ck_assert_uint_lt(strlen(D.socket), sizeof sun.sun_path);
    memcpy(sun.sun_path, D.socket, strlen(D.socket) + 1);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sun, sizeof sun), 0);
    return fd;
}

static void raw_send(int fd, const char *text)
{
    size_t len = strlen(text);
    ck_assert_int_eq(send(fd, text, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* The next line from fd (without LF), within 5 s. */
static char *raw_line(int fd)
{
    static char buf[8192];
    size_t n = 0;
    while (n < sizeof buf - 1) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ck_assert_msg(poll(&p, 1, 5000) == 1, "no reply in 5 s");
        ssize_t r = read(fd, buf + n, 1);
        ck_assert_msg(r == 1, "connection closed");
        if (buf[n] == '\n')
            break;
        n++;
    }
    buf[n] = '\0';
    return buf;
}

/* --- tests -------------------------------------------------------------------- */

START_TEST(test_limits_are_enforced_across_client_processes)
{
    tdaemon_start(&D, "MaxClientsPerHost 2\nMaxClientsPerUser 5\n", NULL);
    struct holder h[4];
    ck_assert_int_eq(start_holder(&h[0], "a", "10.0.0.1", "alice"), 'A');
    ck_assert_int_eq(start_holder(&h[1], "b", "::ffff:10.0.0.1", "bob"), 'A');
    ck_assert_int_eq(start_holder(&h[2], "c", "10.0.0.1", "carol"), 'D');
    release_holder(&h[2]);
    ck_assert_int_eq(start_holder(&h[3], "d", "10.0.0.2", "dave"), 'A');
    ck_assert_int_eq(ttotal(&D, "clients"), 3);
    release_holder(&h[0]);
    ck_assert_int_eq(twait_total(&D, "clients", 2), 2);
    ck_assert_int_eq(start_holder(&h[2], "c", "10.0.0.1", "carol"), 'A');
    for (int i = 1; i < 4; i++)
        release_holder(&h[i]);
    ck_assert_int_eq(twait_total(&D, "sessions", 0), 0);
}
END_TEST

START_TEST(test_kill_9_of_client_processes_releases_exactly_their_counts)
{
    tdaemon_start(&D, "MaxClientsPerUser 10\n", NULL);
    struct holder h[6];
    static const char *const users[] = {"alice", "alice", "bob",
                                        "bob",   "carol", "carol"};
    static const char *const sids[] = {"s0", "s1", "s2", "s3", "s4", "s5"};
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(
            start_holder(&h[i], sids[i], i < 3 ? "10.0.0.1" : "10.0.0.2", users[i]),
            'A');
    ck_assert_int_eq(ttotal(&D, "clients"), 6);
    kill_holder(&h[0]); /* alice at 10.0.0.1 */
    kill_holder(&h[3]); /* bob at 10.0.0.2 */
    ck_assert_int_eq(twait_total(&D, "clients", 4), 4);
    ck_assert_int_eq(ttotal(&D, "sessions"), 4);

    json_t *doc = tstatus(&D);
    json_t *users_top = json_object_get(doc, "users");
    size_t i;
    json_t *row;
    json_array_foreach(users_top, i, row)
    {
        const char *name = json_string_value(json_object_get(row, "key"));
        long long clients = json_integer_value(json_object_get(row, "clients"));
        long long hosts = json_integer_value(json_object_get(row, "hosts"));
        if (strcmp(name, "alice") == 0 || strcmp(name, "bob") == 0) {
            ck_assert_int_eq(clients, 1);
            ck_assert_int_eq(hosts, 1);
        } else {
            ck_assert_int_eq(clients, 2);
        }
    }
    json_decref(doc);
    for (int k = 1; k < 6; k++)
        if (k != 3)
            release_holder(&h[k]);
    ck_assert_int_eq(twait_total(&D, "hosts", 0), 0);
}
END_TEST

START_TEST(test_a_restarted_daemon_gets_the_same_counts_from_resuming_clients)
{
    tdaemon_start(&D,
                  "MaxClientsPerHost 3\n<Class lan>\nFrom 10.0.0.0/8\n</Class>\n"
                  "MaxClientsPerClass lan 10\n",
                  NULL);
    enum { N = 5 };
    fl_client *c[N];
    fl_decision d;
    static const char *const addrs[N] = {"10.0.0.1", "10.0.0.1", "10.0.0.2",
                                         "192.0.2.1", "10.0.0.3"};
    static const char *const users[N] = {"alice", "bob", "alice", "carol", "dave"};
    for (int i = 0; i < N; i++) {
        c[i] = tclient(&D);
        ck_assert_int_eq(fl_client_connect(c[i], NULL, addrs[i], NULL, &d), 0);
        if (i < 4) { /* the last one never logs in, and fails once */
            ck_assert_int_eq(fl_client_user(c[i], users[i], &d), 0);
            ck_assert_int_eq(fl_client_pass(c[i], true, "pw", &d), 0);
            ck_assert_int_eq(d.verdict, FL_ALLOW);
        } else {
            ck_assert_int_eq(fl_client_user(c[i], users[i], &d), 0);
            ck_assert_int_eq(fl_client_pass(c[i], false, "x", &d), 0);
            ck_assert_int_eq(d.verdict, FL_REJECT);
        }
    }
    json_t *before = tstatus(&D);

    tdaemon_kill(&D);
    tdaemon_restart(&D, NULL);
    for (int i = 0; i < N; i++)
        ck_assert_msg(fl_client_resume(c[i]) == 0, "resume %d: %s", i,
                      fl_client_error(c[i]));

    json_t *after = tstatus(&D);
    static const char *const keys[] = {"totals", "hosts", "users", "classes",
                                       "networks"};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        json_t *b = json_object_get(before, keys[k]),
               *a = json_object_get(after, keys[k]);
        if (strcmp(keys[k], "totals") == 0) {
            json_object_del(b, "daemon_clients");
            json_object_del(a, "daemon_clients");
        }
        char *bs = json_dumps(b, JSON_SORT_KEYS), *as = json_dumps(a, JSON_SORT_KEYS);
        ck_assert_msg(json_equal(b, a), "%s differ: before %s, after %s", keys[k], bs,
                      as);
        free(bs);
        free(as);
    }
    json_decref(before);
    json_decref(after);

    /* The resumed failed login still counts: two more end the session. */
    ck_assert_int_eq(fl_client_pass(c[4], false, "y", &d), 0);
    ck_assert_int_eq(d.verdict, FL_REJECT);
    ck_assert_int_eq(fl_client_pass(c[4], false, "z", &d), 0);
    ck_assert_int_eq(d.verdict, FL_DISCONNECT);
    /* And the engine's own ids stay unique after the resumed ones. */
    fl_client *fresh = tclient(&D);
    ck_assert_int_eq(fl_client_connect(fresh, NULL, "10.9.9.9", NULL, &d), 0);
    for (int i = 0; i < N - 1; i++) /* c[4]'s session has ended */
        ck_assert_str_ne(fl_client_sid(fresh), fl_client_sid(c[i]));
    fl_client_free(fresh);
    for (int i = 0; i < N; i++)
        fl_client_free(c[i]);
}
END_TEST

START_TEST(test_sighup_reloads_the_policy_keeping_every_count)
{
    tdaemon_start(&D, "MaxClientsPerHost 5\n", NULL);
    fl_client *c[3];
    fl_decision d;
    for (int i = 0; i < 3; i++) {
        c[i] = tclient(&D);
        fl_client_connect(c[i], NULL, "10.0.0.1", NULL, &d);
        fl_client_user(c[i], "u", &d);
        fl_client_pass(c[i], true, NULL, &d);
        ck_assert_int_eq(d.verdict, FL_ALLOW);
    }
    free(write_file(D.dir, "policy.conf", "MaxClientsPerHost 2\n"));
    kill(D.pid, SIGHUP);
    /* A reload is visible in the status limits. */
    for (int i = 0; i < 500; i++) {
        json_t *doc = tstatus(&D);
        long long lim = json_integer_value(
            json_object_get(json_object_get(doc, "limits"), "MaxClientsPerHost"));
        json_decref(doc);
        if (lim == 2)
            break;
        sleep_ms(10);
    }
    ck_assert_int_eq(ttotal(&D, "clients"), 3);
    fl_client *x = tclient(&D);
    fl_client_connect(x, NULL, "10.0.0.1", NULL, &d);
    fl_client_user(x, "u", &d);
    ck_assert_int_eq(fl_client_pass(x, true, NULL, &d), 0);
    ck_assert_int_eq(d.verdict, FL_DISCONNECT);
    ck_assert_str_eq(d.limit, "MaxClientsPerHost");
    fl_client_free(x);
    /* A broken policy on SIGHUP leaves the old one in force. */
    free(write_file(D.dir, "policy.conf", "MaxClientsPerHost two\n"));
    kill(D.pid, SIGHUP);
    sleep_ms(100);
    ck_assert_int_eq(ttotal(&D, "clients"), 3);
    char *log = read_file(D.log);
    ck_assert_ptr_nonnull(strstr(log, "policy reload failed, the old policy stays"));
    free(log);
    for (int i = 0; i < 3; i++)
        fl_client_free(c[i]);
}
END_TEST

START_TEST(test_sigterm_ends_every_session_then_shuts_down_and_removes_its_files)
{
    tdaemon_start(&D, "MaxClients 10\n", NULL);
    char pidfile[4096];
    snprintf(pidfile, sizeof pidfile, "%s/d.pid", D.dir);
    tdaemon_stop(&D);
    const char *const extra[] = {"-p", pidfile, NULL};
    tdaemon_restart(&D, extra);
    ck_assert_int_eq(access(pidfile, F_OK), 0);

    fl_client *watcher = tclient(&D);
    ck_assert_int_eq(fl_client_watch(watcher, "core.*"), 0);
    fl_client *s1 = tclient(&D), *s2 = tclient(&D);
    fl_decision d;
    fl_client_connect(s1, "one", "10.0.0.1", NULL, &d);
    fl_client_connect(s2, "two", "10.0.0.2", NULL, &d);
    ck_assert_int_eq(twait_total(&D, "sessions", 2), 2);

    ck_assert_int_eq(tdaemon_stop(&D), 0);
    trail seen = {{0}};
    char *line;
    while (fl_client_next_line(watcher, 2000, &line) == 0) {
        json_t *ev = json_loads(line + 6, 0, NULL);
        const char *sid = json_string_value(json_object_get(ev, "sid"));
        char word[64];
        snprintf(word, sizeof word, "%s%s%s%s",
                 json_string_value(json_object_get(ev, "event")), sid ? "(" : "",
                 sid ? sid : "", sid ? ")" : "");
        trail_add(&seen, word);
        json_decref(ev);
        free(line);
    }
    ck_assert_str_eq(seen.text,
                     "core.exit(one),core.exit(two),core.exit,core.shutdown,");
    ck_assert_int_ne(access(pidfile, F_OK), 0);
    ck_assert_int_ne(access(D.socket, F_OK), 0);
    fl_client_free(watcher);
    fl_client_free(s1);
    fl_client_free(s2);
}
END_TEST

START_TEST(test_a_connection_that_closes_ends_its_session_with_core_exit)
{
    tdaemon_start(&D, "MaxClients 10\n", NULL);
    fl_client *watcher = tclient(&D);
    ck_assert_int_eq(fl_client_watch(watcher, "core.exit"), 0);
    int fd = raw_connect();
    raw_send(fd, "HELLO 1\nCONNECT gone 10.0.0.7\n");
    ck_assert_str_eq(raw_line(fd), "OK 1 ftplimitd/" FL_VERSION);
    ck_assert_str_eq(raw_line(fd), "ALLOW gone -");
    close(fd); /* no CLOSE: as if the session process died */
    char *line;
    ck_assert_int_eq(fl_client_next_line(watcher, 5000, &line), 0);
    ck_assert_ptr_nonnull(strstr(line, "\"event\":\"core.exit\",\"sid\":\"gone\""));
    free(line);
    ck_assert_int_eq(twait_total(&D, "sessions", 0), 0);
    fl_client_free(watcher);
}
END_TEST

/* A session process that writes its last requests and closes at once (as
 * mod_ftplimit's CLOSE does): the requests are still carried out, and the
 * watchers see their events, though no reply can reach it. */
START_TEST(test_requests_from_a_client_that_already_closed_are_carried_out)
{
    tdaemon_start(&D, "MaxClients 10\n", NULL);
    fl_client *watcher = tclient(&D);
    ck_assert_int_eq(fl_client_watch(watcher, "core.exit"), 0);
    int fd = raw_connect();
    raw_send(fd, "HELLO 1\nCONNECT quick 10.0.0.8\nUSER alice\nPASS ok\nCLOSE\n");
    close(fd);
    char *line;
    ck_assert_int_eq(fl_client_next_line(watcher, 5000, &line), 0);
    ck_assert_ptr_nonnull(strstr(
        line, "\"event\":\"core.exit\",\"sid\":\"quick\",\"address\":\"10.0.0.8\","
              "\"user\":\"alice\""));
    free(line);
    ck_assert_int_eq(twait_total(&D, "sessions", 0), 0);
    ck_assert_int_eq(ttotal(&D, "clients"), 0);
    fl_client_free(watcher);
}
END_TEST

START_TEST(test_malformed_and_oversized_requests_get_errors_and_the_daemon_goes_on)
{
    tdaemon_start(&D, "MaxClients 10\n", NULL);
    int fd = raw_connect();
    raw_send(fd, "PING\n");
    ck_assert_str_eq(raw_line(fd), "ERR hello say HELLO 1 first");
    raw_send(fd, "HELLO 7\n");
    ck_assert_str_eq(raw_line(fd), "ERR version this daemon speaks protocol 1, not 7");
    raw_send(fd, "HELLO 1\n");
    raw_line(fd);
    static const char *const bad[][2] = {
        {"FROBNICATE\n", "ERR unknown-verb unknown verb 'FROBNICATE'"},
        {"\n", "ERR missing-field an empty line is not a request"},
        {"CONNECT\n", "ERR missing-field CONNECT needs a session id"},
        {"CONNECT s\n", "ERR missing-field CONNECT needs an address"},
        {"CONNECT s 10.0.0.300\n",
         "ERR bad-field '10.0.0.300' is not an IPv4 or IPv6 address"},
        {"CONNECT c5 10.0.0.1\n",
         "ERR bad-field CONNECT: invalid (empty, too long, bad "
         "characters, or a reserved id)"},
        {"USER alice\n", "ERR state no session on this connection: CONNECT first"},
        {"PASS maybe\n", "ERR bad-field PASS takes ok or bad, not 'maybe'"},
        {"USER a\rb\n", "ERR bad-field the request contains a CR before its end"},
        {"CONNECT 0123456789012345678901234567890123456789012345678901234567890123x "
         "10.0.0.1\n",
         "ERR bad-field a session id is at most 64 bytes"},
        {"RESUME s\r1 10.0.0.1 - 0 0\n",
         "ERR bad-field the request contains a CR before its end"},
        {"RESUME s 10.0.0.1 - 2 0\n",
         "ERR bad-field the login state must be 0, 1, u or a, not '2'"},
        {"TOKEN 0123\n", "ERR bad-field a token is 32 lower-case hex digits"},
        {"USERAS\n", "ERR missing-field USERAS needs the anonymous account, or -"},
        {"USERAS ftp\n", "ERR missing-field USERAS needs a user name"},
        {"ANONPASS me@example.org\n",
         "ERR state no session on this connection: CONNECT first"},
        {"RESUME s 10.0.0.1 - 1 0\n",
         "ERR missing-field an authenticated session needs its user"},
        {"METRICS now\n", "ERR extra-field METRICS takes no more fields"},
        {"HELLO 1\n", "ERR state HELLO was already said"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        raw_send(fd, bad[i][0]);
        ck_assert_str_eq(raw_line(fd), bad[i][1]);
    }
    /* A NUL byte, and a line far over the limit. */
    ck_assert_int_eq(send(fd, "PI\0NG\n", 6, MSG_NOSIGNAL), 6);
    ck_assert_str_eq(raw_line(fd), "ERR nul-byte the request contains a NUL byte");
    char *huge = malloc(100000);
    memset(huge, 'A', 99999);
    huge[99999] = '\n';
    ck_assert_int_eq(send(fd, huge, 100000, MSG_NOSIGNAL), 100000);
    free(huge);
    ck_assert_str_eq(raw_line(fd),
                     "ERR too-long a request line may be at most 4096 bytes");
    /* Fields over the engine's limits (found by fuzz_protocol). */
    char user[FL_USER_MAX + 16];
    snprintf(user, sizeof user, "USER %0*d\n", FL_USER_MAX + 1, 7);
    raw_send(fd, user);
    ck_assert_str_eq(raw_line(fd), "ERR bad-field a user name is at most 512 bytes");
    raw_send(fd, "PING\n");
    ck_assert_str_eq(raw_line(fd), "OK pong");
    /* The same connection can still hold a session. */
    raw_send(fd, "CONNECT fine 10.0.0.1\nUSER a b c\nPASS ok pass word\n");
    ck_assert_str_eq(raw_line(fd), "ALLOW fine -");
    ck_assert_str_eq(raw_line(fd), "ALLOW");
    ck_assert_str_eq(raw_line(fd), "ALLOW");
    close(fd);
    /* The offence is logged once per client. */
    char *log = read_file(D.log);
    char *first = strstr(log, "hello: say HELLO 1 first (further errors not logged)");
    ck_assert_ptr_nonnull(first);
    ck_assert_ptr_null(strstr(log, "unknown-verb"));
    free(log);
    ck_assert_int_eq(twait_total(&D, "sessions", 0), 0);
}
END_TEST

START_TEST(test_a_stalled_client_does_not_block_others)
{
    tdaemon_start(&D, "MaxClients 100000\n", NULL);
    /* One client sends half a line and stops; another never reads. */
    int half = raw_connect();
    raw_send(half, "HELLO 1\nCONNECT stalled 10.0.0");
    int deaf = raw_connect();
    raw_send(deaf, "HELLO 1\nCONNECT deaf 10.0.0.2\n");
    char *burst = malloc(1 << 20);
    size_t n = 0;
    while (n + 8 < (1u << 20)) {
        memcpy(burst + n, "PING\n", 5);
        n += 5;
    }
    fcntl(deaf, F_SETFL, O_NONBLOCK);
    size_t sent = 0;
    for (int tries = 0; tries < 200 && sent < n; tries++) {
        ssize_t w = send(deaf, burst + sent, n - sent, MSG_NOSIGNAL);
        if (w > 0)
            sent += (size_t)w;
        else
            sleep_ms(5);
    }
    free(burst);

    /* Meanwhile another client works at full speed. */
    fl_client *c = tclient(&D);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < 2000; i++) {
        char *out;
        ck_assert_int_eq(fl_client_command(c, "PING", &out, NULL), 0);
        free(out);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs =
        (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    ck_assert_msg(secs < 5.0, "2000 round trips took %.2f s", secs);
    fl_client_free(c);

    /* The daemon stopped reading the deaf client once 64 KiB of its replies
     * waited: most of its megabyte of requests was never taken. */
    ck_assert_msg(sent < n, "the daemon took all %zu bytes of requests", sent);
    /* Reading nothing for 10 s, it was cut off, and its session closed
     * (the stalled one never finished its CONNECT). */
    long long sessions = -1;
    for (int i = 0; i < 200 && (sessions = ttotal(&D, "sessions")) != 0; i++)
        sleep_ms(100);
    ck_assert_int_eq(sessions, 0);
    char *log = read_file(D.log);
    ck_assert_ptr_nonnull(strstr(log, "does not read its replies; disconnecting it"));
    free(log);
    close(half);
    close(deaf);
}
END_TEST

START_TEST(test_status_and_metrics_report_counts_and_refusals)
{
    tdaemon_start(&D, "MaxClientsPerHost 1\nMaxClients 50\n", NULL);
    fl_client *a = tclient(&D), *b = tclient(&D);
    fl_decision d;
    fl_client_connect(a, NULL, "10.0.0.1", NULL, &d);
    fl_client_user(a, "alice", &d);
    fl_client_pass(a, true, NULL, &d);
    fl_client_connect(b, NULL, "10.0.0.1", NULL, &d);
    fl_client_user(b, "bob", &d);
    fl_client_pass(b, true, NULL, &d);
    ck_assert_int_eq(d.verdict, FL_DISCONNECT);

    json_t *doc = tstatus(&D);
    ck_assert_int_eq(
        json_integer_value(json_object_get(json_object_get(doc, "totals"), "clients")),
        1);
    json_t *host = json_array_get(json_object_get(doc, "hosts"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(host, "key")), "10.0.0.1");
    ck_assert_int_eq(json_integer_value(json_object_get(host, "clients_limit")), 1);
    json_t *refused =
        json_object_get(json_object_get(doc, "refusals"), "MaxClientsPerHost");
    ck_assert_int_eq(json_integer_value(json_object_get(refused, "refused")), 1);
    json_decref(doc);

    fl_client *m = tclient(&D);
    char *text;
    ck_assert_int_eq(fl_client_command(m, "METRICS", &text, NULL), 0);
    ck_assert_ptr_nonnull(
        strstr(text, "# TYPE ftplimit_sessions gauge\nftplimit_sessions 1\n"));
    ck_assert_ptr_nonnull(strstr(text, "ftplimit_clients 1\n"));
    ck_assert_ptr_nonnull(strstr(
        text,
        "ftplimit_refusals_total{limit=\"MaxClientsPerHost\",dry_run=\"false\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(
        text, "ftplimit_events_total{event=\"mod_auth.max-clients-per-host\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(text, "ftplimit_table_entries{table=\"hosts\"} 1\n"));
    ck_assert_ptr_nonnull(
        strstr(text, "ftplimit_limit{directive=\"MaxClients\"} 50\n"));
    free(text);
    fl_client_free(m);
    fl_client_free(a);
    fl_client_free(b);
}
END_TEST

START_TEST(test_a_watcher_that_reads_too_slowly_loses_the_oldest_events_and_is_told)
{
    tdaemon_start(&D, "MaxConnectionsPerHost 1\n", NULL);
    fl_client *w = tclient(&D);
    ck_assert_int_eq(fl_client_watch(w, "mod_auth.*"), 0);
    /* 20000 refusals, while the watcher reads nothing. */
    fl_client *holder = tclient(&D);
    fl_decision d;
    fl_client_connect(holder, NULL, "10.0.0.1", NULL, &d);
    int fd = raw_connect();
    raw_send(fd, "HELLO 1\n");
    raw_line(fd);
    for (int i = 0; i < 20000; i++) {
        fl_client *x = fl_client_open(D.socket, 5000);
        ck_assert_ptr_nonnull(x);
        ck_assert_int_eq(fl_client_connect(x, NULL, "10.0.0.1", NULL, &d), 0);
        ck_assert_int_eq(d.verdict, FL_DISCONNECT);
        fl_client_free(x);
    }
    /* The daemon stayed responsive, and the watcher learns what it lost. */
    raw_send(fd, "PING\n");
    ck_assert_str_eq(raw_line(fd), "OK pong");
    close(fd);
    char *line;
    unsigned long long dropped = 0, events = 0;
    while (fl_client_next_line(w, 500, &line) == 0) {
        if (strncmp(line, "DROPPED ", 8) == 0)
            dropped += strtoull(line + 8, NULL, 10);
        else
            events++;
        free(line);
    }
    ck_assert_msg(dropped > 0 && dropped + events == 20000, "dropped %llu, events %llu",
                  dropped, events);
    fl_client_free(w);
    fl_client_free(holder);
}
END_TEST

struct as_nobody {
    tdaemon *d;
    int result[2];
};

/* Run probe in a child process (which becomes nobody, 65534, and writes a
 * letter for each thing it tried to the pipe), and read its n letters. */
static void results_as_nobody(void (*probe)(void *), char *results, size_t n)
{
    struct as_nobody a = {&D, {-1, -1}};
    ck_assert_int_eq(pipe(a.result), 0);
    pid_t pid = tfork(probe, &a);
    close(a.result[1]);
    ck_assert_int_eq(read(a.result[0], results, n), (ssize_t)n);
    results[n] = '\0';
    close(a.result[0]);
    twait(pid);
}

static void probe_as_nobody(void *arg)
{
    struct as_nobody *a = arg;
    char results[3] = {'?', '?', '?'};
    if (setgid(65534) == 0 && setuid(65534) == 0) {
        fl_decision dec;
        fl_client *c = fl_client_open(a->d->socket, 5000);
        if (c != NULL) {
            results[0] = fl_client_connect(c, NULL, "10.0.0.1", NULL, &dec) < 0 &&
                                 errno == EACCES
                             ? 'D'
                             : 'A';
            fl_client_free(c); /* a session's connection: session rights only */
        }
        if ((c = fl_client_open(a->d->socket, 5000)) != NULL) {
            char *out = NULL;
            results[1] = fl_client_command(c, "STATUS", &out, NULL) == 0 ? 'A' : 'D';
            free(out);
            out = NULL;
            results[2] =
                fl_client_command(c, "RELOAD", &out, NULL) < 0 && errno == EACCES ? 'D'
                                                                                  : 'A';
            free(out);
            fl_client_free(c);
        }
    }
    if (write(a->result[1], results, 3) != 3)
        _exit(1);
}

/* Issue 24, point 2: a uid with no rights opens 300 connections and sends
 * HELLO on each, then nothing. The daemon keeps 256 of them (PENDING_PER_UID),
 * refuses the rest at once, closes those it kept after -T seconds, and
 * serves root's sessions meanwhile. */
static int cli(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

struct flooder {
    const char *socket;
    int ready[2], done[2];
};

static void hold_connections_as_nobody(void *arg)
{
    struct flooder *f = arg;
    close(f->ready[0]);
    close(f->done[1]);
    int kept = 0, active = -1;
    if (setgid(65534) == 0 && setuid(65534) == 0) {
        for (int i = 0; i < 300; i++) {
            int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            struct sockaddr_un sun = {.sun_family = AF_UNIX};
            memcpy(sun.sun_path, f->socket, strlen(f->socket) + 1);
            /* Past 256 the daemon closes them: a HELLO may then fail. */
            if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0) {
                (void)send(fd, "HELLO 1\n", 8, MSG_NOSIGNAL);
                kept++;
            }
            if (i == 0)
                active = fd;
        }
    }
    char byte = kept == 300 ? 'R' : 'F';
    if (write(f->ready[1], &byte, 1) != 1)
        _exit(1);
    /* The first one keeps asking, every 150 ms for 4.5 s: it stays. */
    char buf[256];
    int answered = 0;
    for (int i = 0; i < 30 && active >= 0; i++) {
        nanosleep(&(struct timespec){0, 150000000}, NULL);
        if (send(active, "PING\n", 5, MSG_NOSIGNAL) == 5 &&
            read(active, buf, sizeof buf) > 0)
            answered++;
    }
    byte = answered == 30 ? 'A' : 'X';
    if (write(f->ready[1], &byte, 1) != 1)
        _exit(1);
    (void)read(f->done[0], &byte, 1); /* hold them until told */
}

START_TEST(test_one_uid_cannot_hold_the_daemons_connections)
{
    if (geteuid() != 0) {
        tdaemon_start(&D, "MaxClients 1\n", NULL); /* needs a second uid */
        return;
    }
    const char *const extra[] = {"-m", "0666", "-T", "2", NULL};
    tdaemon_start(&D, "MaxClients 100\n", extra);
    chmod(D.dir, 0755);
    struct flooder f = {D.socket, {-1, -1}, {-1, -1}};
    ck_assert_int_eq(pipe(f.ready), 0);
    ck_assert_int_eq(pipe(f.done), 0);
    pid_t pid = tfork(hold_connections_as_nobody, &f);
    close(f.ready[1]);
    close(f.done[0]);
    char byte = 0;
    ck_assert_int_eq(read(f.ready[0], &byte, 1), 1);
    ck_assert_int_eq(byte, 'R');
    /* Root's session is served. */
    fl_client *c = tclient(&D);
    fl_decision d;
    ck_assert_int_eq(fl_client_connect(c, NULL, "10.0.0.1", NULL, &d), 0);
    ck_assert_int_eq(d.verdict, FL_ALLOW);
    /* The connections wait in the listening socket's backlog until the
     * daemon takes them, one each turn. */
    int refused = -1;
    for (int i = 0; i < 100 && refused != 300 - 256; i++) {
        char *out;
        ck_assert_int_eq(cli(&out, "metrics"), 0);
        const char *at = strstr(out, "\nftplimit_daemon_refused_connections_total ");
        ck_assert_ptr_nonnull(at);
        refused = atoi(at + strlen("\nftplimit_daemon_refused_connections_total "));
        free(out);
        if (refused != 300 - 256)
            sleep_ms(50);
    }
    ck_assert_int_eq(refused, 300 - 256);
    /* The 256 it kept go after 2 s (swept every 2 s); the session stays. */
    long long conns = -1;
    for (int i = 0; i < 100 && (conns = ttotal(&D, "daemon_clients")) > 3; i++)
        sleep_ms(100);
    ck_assert_int_le(conns, 3); /* the session, one that asks, the status request */
    /* The one that kept asking was answered all along. */
    ck_assert_int_eq(read(f.ready[0], &byte, 1), 1);
    ck_assert_int_eq(byte, 'A');
    ck_assert_int_eq(ttotal(&D, "sessions"), 1);
    char *log = read_file(D.log);
    ck_assert_ptr_nonnull(
        strstr(log, "uid 65534 holds 256 connections that are neither"));
    ck_assert_ptr_nonnull(
        strstr(log, "neither a session nor a watcher, sent nothing for 2 s"));
    /* A flood of them is logged in a few lines, not 300. */
    int lines = 0;
    for (const char *at = log; (at = strstr(at, "uid 65534")) != NULL; at++)
        lines++;
    ck_assert_int_le(lines, 24);
    free(log);
    close(f.done[1]);
    close(f.ready[0]);
    twait(pid);
    fl_client_free(c);
}
END_TEST

START_TEST(
    test_a_disallowed_uid_may_not_declare_sessions_but_may_read_status_if_allowed)
{
    if (geteuid() != 0) {
        /* Without a second user to run as, the rule itself is tested in
         * check_tables (fl_access_allowed). */
        tdaemon_start(&D, "MaxClients 1\n", NULL);
        return;
    }
    const char *const extra[] = {"-m", "0666", NULL};
    tdaemon_start(&D, "AllowStatus all\n", extra);
    chmod(D.dir, 0755);
    char results[4];
    results_as_nobody(probe_as_nobody, results, 3);
    ck_assert_str_eq(results,
                     "DAD"); /* CONNECT refused, STATUS allowed, RELOAD refused */
    char *log = read_file(D.log);
    ck_assert_ptr_nonnull(
        strstr(log, "permission: uid 65534 gid 65534 may not declare sessions"));
    free(log);
}
END_TEST

START_TEST(test_the_daemon_refuses_to_start_on_a_bad_policy_or_a_busy_socket)
{
    tdaemon_start(&D, "MaxClients 3\n", NULL);
    char *bad = write_file(D.dir, "bad.conf", "MaxClient 3\n");
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "'%s' -f -c '%s' -s '%s/other.sock' 2>'%s/err'",
             tdaemon_binary(), bad, D.dir, D.dir);
    ck_assert_int_eq(WEXITSTATUS(system(cmd)), 2);
    char path[4096];
    snprintf(path, sizeof path, "%s/err", D.dir);
    char *err = read_file(path);
    ck_assert_ptr_nonnull(strstr(err, "bad.conf:1: unknown directive 'MaxClient'"));
    free(err);
    free(bad);
    snprintf(cmd, sizeof cmd, "'%s' -f -c '%s' -s '%s' 2>'%s/err'", tdaemon_binary(),
             D.policy, D.socket, D.dir);
    ck_assert_int_eq(WEXITSTATUS(system(cmd)), 1);
    err = read_file(path);
    ck_assert_ptr_nonnull(strstr(err, "another daemon already listens on"));
    free(err);
    ck_assert_int_eq(ttotal(&D, "sessions"), 0); /* the first one is unharmed */
}
END_TEST

START_TEST(test_without_f_the_daemon_detaches_and_keeps_its_pidfile)
{
    tdaemon_start(&D, "MaxClients 3\n", NULL);
    tdaemon_stop(&D);
    char pidfile[4096], cmd[8192];
    snprintf(pidfile, sizeof pidfile, "%s/bg.pid", D.dir);
    snprintf(cmd, sizeof cmd, "'%s' -c '%s' -s '%s' -p '%s'", tdaemon_binary(),
             D.policy, D.socket, pidfile);
    ck_assert_int_eq(system(cmd), 0); /* returns once detached and ready */
    char *text = read_file(pidfile);
    ck_assert_ptr_nonnull(text);
    pid_t pid = (pid_t)strtol(text, NULL, 10);
    free(text);
    ck_assert_int_gt(pid, 1); /* the command returned only once it was written */
    detached = pid;
    ck_assert_int_eq(ttotal(&D, "sessions"), 0);
    kill(pid, SIGTERM);
    for (int i = 0; i < 500 && access(pidfile, F_OK) == 0; i++)
        sleep_ms(10);
    ck_assert_int_ne(access(pidfile, F_OK), 0);
    detached = 0;

    /* A daemon that cannot finish starting makes the command fail. */
    snprintf(cmd, sizeof cmd,
             "'%s' -c '%s' -s '%s' -p '%s/no/such/dir/bg.pid' 2>/dev/null",
             tdaemon_binary(), D.policy, D.socket, D.dir);
    ck_assert_int_ne(system(cmd), 0);
    ck_assert_int_ne(access(D.socket, F_OK), 0);
}
END_TEST

/* The answer to CONNECT, from a peer that says what the test wants. */
static int connect_answered(const char *path, int srv, const char *answer,
                            fl_client **out)
{
    fl_client *c = fl_client_open(path, 1000);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(fl_client_connect_start(c, NULL, "192.0.2.1", NULL), 0);
    int peer = accept(srv, NULL, NULL);
    ck_assert_int_ge(peer, 0);
    char request[512];
    ck_assert_int_gt(read(peer, request, sizeof request), 0);
    ck_assert_int_eq(write(peer, answer, strlen(answer)), (ssize_t)strlen(answer));
    fl_decision d;
    errno = 0;
    int rc = fl_client_connect_finish(c, &d);
    close(peer);
    *out = c;
    return rc;
}

START_TEST(test_the_client_reads_the_session_id_and_class_of_an_allow_and_no_more)
{
    char *dir = tmpdir_new();
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    ck_assert_int_lt(snprintf(sun.sun_path, sizeof sun.sun_path, "%s/peer.sock", dir),
                     (int)sizeof sun.sun_path);
    int srv = socket(AF_UNIX, SOCK_STREAM, 0);
    ck_assert_int_eq(bind(srv, (struct sockaddr *)&sun, sizeof sun), 0);
    ck_assert_int_eq(listen(srv, 4), 0);
    char too_long[FL_SID_MAX + 64] = "OK 1 peer\nALLOW ";
    memset(too_long + strlen(too_long), 'x', FL_SID_MAX + 1);
    strcat(too_long, " -\n");
    static const struct {
        const char *answer;
        int rc;
        const char *sid, *cls;
    } cases[] = {
        {"OK 1 peer\nALLOW c1 -\n", 0, "c1", NULL},
        {"OK 1 peer\nALLOW c2 web\n", 0, "c2", "web"},
        {"OK 1 peer\nALLOW c3\n", 0, "c3", NULL},
        {"OK 1 peer\nALLOW c4 web \n", 0, "c4", "web"},
        {"OK 1 peer\nALLOW\n", -1, NULL, NULL},
        {"OK 1 peer\nALLOW \n", -1, NULL, NULL},
    };
    for (size_t i = 0; i <= sizeof cases / sizeof cases[0]; i++) {
        bool last = i == sizeof cases / sizeof cases[0];
        fl_client *c;
        int rc =
            connect_answered(sun.sun_path, srv, last ? too_long : cases[i].answer, &c);
        if (last || cases[i].rc < 0) {
            ck_assert_int_eq(rc, -1);
            ck_assert_int_eq(errno, EPROTO);
            ck_assert_ptr_null(fl_client_sid(c));
        } else {
            ck_assert_int_eq(rc, 0);
            ck_assert_str_eq(fl_client_sid(c), cases[i].sid);
            if (cases[i].cls == NULL)
                ck_assert_ptr_null(fl_client_class(c));
            else
                ck_assert_str_eq(fl_client_class(c), cases[i].cls);
        }
        fl_client_free(c);
    }
    close(srv);
    tmpdir_free(dir);
}
END_TEST

START_TEST(test_the_client_library_times_out_on_a_daemon_that_does_not_answer)
{
    char *dir = tmpdir_new();
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    char path[sizeof sun.sun_path];
    ck_assert_int_lt(snprintf(path, sizeof path, "%s/mute.sock", dir),
                     (int)sizeof path);
    int srv = socket(AF_UNIX, SOCK_STREAM, 0);
    memcpy(sun.sun_path, path, sizeof path);
    ck_assert_int_eq(bind(srv, (struct sockaddr *)&sun, sizeof sun), 0);
    ck_assert_int_eq(listen(srv, 4), 0);
    struct timespec t0, t1;
    fl_client *c = fl_client_open(path, 300);
    ck_assert_ptr_nonnull(c); /* connecting needs no answer */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char *out;
    errno = 0;
    ck_assert_int_eq(fl_client_command(c, "PING", &out, NULL), -1);
    ck_assert_int_eq(errno, ETIMEDOUT);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    fl_client_free(c);
    double secs =
        (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    ck_assert_msg(secs >= 0.29 && secs < 3, "timed out after %.2f s", secs);
    close(srv);
    errno = 0;
    ck_assert_ptr_null(fl_client_open(path, 300));
    ck_assert_int_eq(errno, ECONNREFUSED);
    tmpdir_free(dir);
    tdaemon_start(&D, "MaxClients 3\n", NULL);
}
END_TEST

START_TEST(test_the_command_line_reads_a_running_daemon)
{
    tdaemon_start(&D, "MaxClientsPerHost 4\n", NULL);
    fl_client *a = tclient(&D);
    fl_decision d;
    fl_client_connect(a, NULL, "10.0.0.1", NULL, &d);
    fl_client_user(a, "alice", &d);
    fl_client_pass(a, true, NULL, &d);
    char cmd[8192], path[4096];
    snprintf(path, sizeof path, "%s/out", D.dir);
    snprintf(cmd, sizeof cmd, "'%s' status -s '%s' > '%s'", tcli_binary(), D.socket,
             path);
    ck_assert_int_eq(system(cmd), 0);
    char *out = read_file(path);
    ck_assert_ptr_nonnull(strstr(out, "HOST"));
    ck_assert_ptr_nonnull(strstr(out, "10.0.0.1"));
    ck_assert_ptr_nonnull(strstr(out, "alice"));
    free(out);
    snprintf(cmd, sizeof cmd, "'%s' status --json -s '%s' > '%s'", tcli_binary(),
             D.socket, path);
    ck_assert_int_eq(system(cmd), 0);
    out = read_file(path);
    json_t *doc = json_loads(out, 0, NULL);
    ck_assert_ptr_nonnull(doc);
    json_decref(doc);
    free(out);
    snprintf(cmd, sizeof cmd, "'%s' reload -s '%s' > '%s'", tcli_binary(), D.socket,
             path);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "'%s' metrics -s '%s' > '%s'", tcli_binary(), D.socket,
             path);
    ck_assert_int_eq(system(cmd), 0);
    out = read_file(path);
    ck_assert_ptr_nonnull(strstr(out, "ftplimit_clients 1"));
    free(out);
    snprintf(cmd, sizeof cmd, "'%s' status -s '%s/none.sock' 2>/dev/null",
             tcli_binary(), D.dir);
    ck_assert_int_eq(WEXITSTATUS(system(cmd)), 1);
    fl_client_free(a);
}
END_TEST

/* --- bans through the socket -------------------------------------------------- */

/* Run the command line with a shell command's arguments; its exit status,
 * standard output in *out (malloc'd). */
static int cli(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int cli(char **out, const char *fmt, ...)
{
    char args[4096], cmd[12288], path[4200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(path, sizeof path, "%s/cli.out", D.dir);
    snprintf(cmd, sizeof cmd, "'%s' %s -s '%s' > '%s' 2>&1", tcli_binary(), args,
             D.socket, path);
    int status = system(cmd);
    *out = read_file(path);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* Issue 23: counts are per server; status and metrics show each one, and
 * --scope picks one server's tables. */
START_TEST(test_status_and_metrics_group_counts_by_server)
{
    tdaemon_start(
        &D,
        "MaxClientsPerHost 1\n"
        "<VirtualHost 192.0.2.1:2121>\n  MaxClientsPerHost 2\n</VirtualHost>\n",
        NULL);
    fl_client *c[3];
    fl_decision d;
    const char *servers[] = {NULL, "192.0.2.1:2121", "192.0.2.1:2121"};
    const char *users[] = {"alice", "bob", "carol"};
    for (int i = 0; i < 3; i++) {
        c[i] = tclient(&D);
        ck_assert_int_eq(fl_client_set_server(c[i], servers[i]), 0);
        ck_assert_int_eq(fl_client_connect(c[i], NULL, "10.0.0.1", NULL, &d), 0);
        ck_assert_int_eq(fl_client_login(c[i], users[i], true, NULL, &d), 0);
        ck_assert_int_eq(d.verdict, FL_ALLOW); /* each server counts the host alone */
    }
    ck_assert_int_eq(fl_client_set_server(c[0], "192.0.2.1"), -1); /* no port */
    /* A refusal on the main server is that server's. */
    fl_client *refused = tclient(&D);
    ck_assert_int_eq(fl_client_connect(refused, NULL, "10.0.0.1", NULL, &d), 0);
    ck_assert_int_eq(fl_client_login(refused, "dave", true, NULL, &d), 0);
    ck_assert_int_eq(d.verdict, FL_DISCONNECT);
    fl_client_free(refused);

    char *out;
    ck_assert_int_eq(cli(&out, "status"), 0);
    ck_assert_ptr_nonnull(strstr(out, "SERVER "));
    ck_assert_ptr_nonnull(strstr(out, "\nmain "));
    ck_assert_ptr_nonnull(strstr(out, "\n192.0.2.1:2121 "));
    free(out);
    ck_assert_int_eq(cli(&out, "status --scope 192.0.2.1:2121 --json"), 0);
    json_t *doc = json_loads(out, 0, NULL);
    ck_assert_ptr_nonnull(doc);
    free(out);
    json_t *host = json_array_get(json_object_get(doc, "hosts"), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(host, "clients")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(host, "clients_limit")), 2);
    json_t *main_server = json_array_get(json_object_get(doc, "servers"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(main_server, "name")), "main");
    ck_assert_int_eq(json_integer_value(json_object_get(main_server, "clients")), 1);
    json_t *by_limit =
        json_object_get(json_object_get(main_server, "refusals"), "MaxClientsPerHost");
    ck_assert_int_eq(json_integer_value(json_object_get(by_limit, "refused")), 1);
    json_t *vhost = json_array_get(json_object_get(doc, "servers"), 1);
    ck_assert_int_eq(json_object_size(json_object_get(vhost, "refusals")), 0);
    json_decref(doc);
    ck_assert_int_eq(cli(&out, "status --scope 192.0.2.9:21"), 1);
    ck_assert_ptr_nonnull(strstr(out, "no such server"));
    free(out);

    fl_client *m = tclient(&D);
    char *text;
    ck_assert_int_eq(fl_client_command(m, "METRICS", &text, NULL), 0);
    ck_assert_ptr_nonnull(strstr(text, "ftplimit_server_clients{server=\"main\"} 1\n"));
    ck_assert_ptr_nonnull(
        strstr(text, "ftplimit_server_clients{server=\"192.0.2.1:2121\"} 2\n"));
    ck_assert_ptr_nonnull(
        strstr(text, "ftplimit_server_sessions{server=\"192.0.2.1:2121\"} 2\n"));
    ck_assert_ptr_nonnull(strstr(text,
                                 "ftplimit_server_refusals_total{server=\"main\","
                                 "limit=\"MaxClientsPerHost\",dry_run=\"false\"} 1\n"));
    ck_assert_ptr_null(
        strstr(text, "ftplimit_server_refusals_total{server=\"192.0.2.1"));
    free(text);
    fl_client_free(m);
    for (int i = 0; i < 3; i++)
        fl_client_free(c[i]);
}
END_TEST

/* <IfGroup>: a client sends its user's groups with the login, between USER
 * and PASS, and the daemon's engine decides with them. */
START_TEST(test_a_logins_groups_reach_the_ifgroup_blocks)
{
    tdaemon_start(&D,
                  "MaxClientsPerUser 3\n<IfGroup staff>\n  MaxClientsPerUser 1\n"
                  "</IfGroup>\n",
                  NULL);
    const char *staff[] = {"domain users", "staff"}, *none[] = {"users"};
    fl_decision d;
    fl_client *c[3];
    for (int i = 0; i < 3; i++) {
        c[i] = tclient(&D);
        ck_assert_int_eq(fl_client_connect(c[i], NULL, "192.0.2.1", NULL, &d), 0);
    }
    ck_assert_int_eq(fl_client_set_groups(c[0], staff, 2), 0);
    ck_assert_int_eq(fl_client_login(c[0], "alice", true, NULL, &d), 0);
    ck_assert_int_eq(d.verdict, FL_ALLOW);
    ck_assert_int_eq(fl_client_set_groups(c[1], staff, 2), 0);
    ck_assert_int_eq(fl_client_login(c[1], "alice", true, NULL, &d), 0);
    ck_assert_int_eq(d.verdict, FL_DISCONNECT);
    ck_assert_str_eq(d.limit, "MaxClientsPerUser");
    /* Another user outside the group: the server's 3. */
    ck_assert_int_eq(fl_client_set_groups(c[2], none, 1), 0);
    ck_assert_int_eq(fl_client_login(c[2], "bob", true, NULL, &d), 0);
    ck_assert_int_eq(d.verdict, FL_ALLOW);
    const char *bad[] = {"a\nb"};
    ck_assert_int_eq(fl_client_set_groups(c[2], bad, 1), -1);
    ck_assert_int_eq(errno, EINVAL);
    for (int i = 0; i < 3; i++)
        fl_client_free(c[i]);

    /* GROUPS before USER, or malformed: an error each, and on it goes. */
    int fd = raw_connect();
    raw_send(fd, "HELLO 1\nCONNECT g1 192.0.2.9\nGROUPS staff\nUSER x\n"
                 "GROUPS a%zz\nGROUPS domain%20users staff\nPASS ok\nPING\n");
    ck_assert_str_eq(raw_line(fd), "OK 1 ftplimitd/" FL_VERSION);
    ck_assert_ptr_nonnull(strstr(raw_line(fd), "ALLOW g1"));
    ck_assert_ptr_nonnull(strstr(raw_line(fd), "GROUPS: no USER before it"));
    ck_assert_str_eq(raw_line(fd), "ALLOW");
    ck_assert_ptr_nonnull(strstr(raw_line(fd), "ERR bad-field a group is 1 to"));
    ck_assert_str_eq(raw_line(fd), "OK groups");
    ck_assert_str_eq(raw_line(fd), "ALLOW");
    ck_assert_str_eq(raw_line(fd), "OK pong");
    close(fd);
}
END_TEST

/* Issue 24, point 13: a pattern no event has is refused, not watched in
 * silence forever; `watch --json` lines say when each event came. */
START_TEST(test_watch_refuses_a_pattern_no_event_has_and_json_lines_carry_a_time)
{
    tdaemon_start(&D, "MaxClients 3\n", NULL);
    fl_client *w = tclient(&D);
    errno = 0;
    ck_assert_int_eq(fl_client_watch(w, "mod_auht.*"), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_ptr_nonnull(strstr(fl_client_error(w), "matches no event"));
    fl_client_free(w);
    char *out;
    ck_assert_int_eq(cli(&out, "watch 'mod_auht.*'"), 1);
    ck_assert_ptr_nonnull(strstr(out, "'mod_auht.*' matches no event"));
    free(out);

    char cmd[16384], path[4200], pid_path[4200];
    snprintf(path, sizeof path, "%s/watch.out", D.dir);
    snprintf(pid_path, sizeof pid_path, "%s/watch.pid", D.dir);
    snprintf(cmd, sizeof cmd,
             "'%s' watch --json 'ftplimit.ban*' -s '%s' > '%s' 2>&1 & echo $! > '%s'",
             tcli_binary(), D.socket, path, pid_path);
    ck_assert_int_eq(system(cmd), 0);
    ck_assert_int_eq(twait_total(&D, "watchers", 1), 1);
    ck_assert_int_eq(cli(&out, "ban add host 192.0.2.44 60"), 0);
    free(out);
    char *text = NULL;
    for (int i = 0; i < 100; i++) { /* up to 5 s */
        free(text);
        text = read_file(path);
        if (text != NULL && strstr(text, "\n") != NULL)
            break;
        usleep(50000);
    }
    char *pid = read_file(pid_path);
    kill((pid_t)atoi(pid), SIGINT);
    free(pid);
    ck_assert_ptr_nonnull(text);
    json_t *event = json_loads(text, JSON_DISABLE_EOF_CHECK, NULL);
    ck_assert_ptr_nonnull(event);
    ck_assert_str_eq(json_string_value(json_object_get(event, "event")),
                     "ftplimit.ban");
    double when = json_number_value(json_object_get(event, "time"));
    ck_assert(when > (double)time(NULL) - 60 && when < (double)time(NULL) + 60);
    json_decref(event);
    free(text);
}
END_TEST

/* Issue 24, point 8: a user name with a C1 control in it (0x9b is CSI to
 * a terminal) is shown escaped by `ftplimit ban list`. */
START_TEST(test_ban_list_shows_no_control_byte_c1_included)
{
    tdaemon_start(&D, "MaxClients 3\n", NULL);
    char *out;
    ck_assert_int_eq(cli(&out, "ban add user \"$(printf 'a\\233[2Jb')\" 90"), 0);
    free(out);
    ck_assert_int_eq(cli(&out, "ban list"), 0);
    /* The daemon's JSON carries the byte as U+009B: escaped as the two
     * bytes UTF-8 writes it in. */
    ck_assert_msg(strstr(out, "a\\xc2\\x9b[2Jb") != NULL, "%s", out);
    ck_assert_ptr_null(strchr(out, '\x9b'));
    free(out);
}
END_TEST

/* Issue 24, point 14: the metrics page parses as the Prometheus text
 * format, and `--openmetrics` as OpenMetrics (Debian's
 * python3-prometheus-client parsers; no family clashes with another). */
START_TEST(test_metrics_parse_as_prometheus_text_and_as_openmetrics)
{
    tdaemon_start(&D,
                  "MaxClients 3\nMaxLoginAttempts 1\n"
                  "BanOnEvent MaxLoginAttempts 1/00:01:00 01:00:00\n",
                  NULL);
    if (system("/usr/bin/python3 -c 'import prometheus_client' 2>/dev/null") != 0) {
        printf("SKIP: /usr/bin/python3 has no prometheus_client "
               "(Debian: python3-prometheus-client)\n");
        return;
    }
    char *out;
    ck_assert_int_eq(cli(&out, "ban add host 192.0.2.9 1h"), 0);
    free(out);
    char *script = write_file(
        D.dir, "parse.py",
        "import sys\n"
        "from prometheus_client.parser import text_string_to_metric_families as text\n"
        "from prometheus_client.openmetrics.parser import "
        "text_string_to_metric_families as om\n"
        "page = open(sys.argv[2]).read()\n"
        "families = list((om if sys.argv[1] == 'om' else text)(page))\n"
        "names = [f.name for f in families]\n"
        "assert len(names) == len(set(names)), names\n"
        "assert 'ftplimit_bans_in_force' in names, names\n"
        "print(len(families))\n");
    static const char *const formats[][2] = {{"", "text"}, {"--openmetrics", "om"}};
    for (size_t i = 0; i < 2; i++) {
        ck_assert_int_eq(cli(&out, "metrics %s", formats[i][0]), 0);
        char *page = write_file(D.dir, "page.txt", out);
        free(out);
        char cmd[16384];
        snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' %s '%s' > '%s/parse.out' 2>&1",
                 script, formats[i][1], page, D.dir);
        int rc = system(cmd);
        char parse_out[4300];
        snprintf(parse_out, sizeof parse_out, "%s/parse.out", D.dir);
        char *said = read_file(parse_out);
        ck_assert_msg(rc == 0, "%s: %s", formats[i][1], said);
        free(said);
        free(page);
    }
    free(script);
}
END_TEST

/* Issue 24, point 10: a reload that puts a policy in force but cannot
 * open a listener's file says so in its reply. */
START_TEST(test_reload_says_which_listener_file_cannot_be_opened)
{
    tdaemon_start(&D, "MaxClients 3\n", NULL);
    FILE *f = fopen(D.policy, "w");
    fputs("MaxClients 4\nOnEvent mod_auth.* jsonl nodir/events.jsonl\n", f);
    fclose(f);
    char *out;
    ck_assert_int_eq(cli(&out, "reload"), 0);
    ck_assert_msg(strstr(out, "reloaded") != NULL &&
                      strstr(out, "nodir/events.jsonl: cannot open it: No such file or "
                                  "directory") != NULL,
                  "%s", out);
    free(out);
}
END_TEST

START_TEST(test_bans_are_made_listed_and_lifted_through_the_socket)
{
    tdaemon_start(&D,
                  "MaxLoginAttempts 1\n"
                  "BanOnEvent MaxLoginAttempts 1/00:01:00 01:00:00\n",
                  NULL);
    fl_client *w = tclient(&D);
    ck_assert_int_eq(fl_client_watch(w, "ftplimit.ban*"), 0);

    char *out;
    ck_assert_int_eq(cli(&out, "ban add host 192.0.2.9 1h 'Go away, %%a.'"), 0);
    ck_assert_str_eq(out, "banned host for 3600s\n");
    free(out);
    ck_assert_int_eq(cli(&out, "ban add user 'john doe' 00:10:00"), 0);
    free(out);
    ck_assert_int_eq(cli(&out, "ban add user@host 'x y@2001:db8::1' 90"), 0);
    free(out);

    /* A banned host is refused at CONNECT with the ban's message. */
    fl_client *c = tclient(&D);
    fl_decision d;
    ck_assert_int_eq(fl_client_connect(c, NULL, "192.0.2.9", NULL, &d), 0);
    ck_assert_int_eq(d.verdict, FL_DISCONNECT);
    ck_assert_int_eq(d.code, 421);
    ck_assert_str_eq(d.message, "Go away, 192.0.2.9.");
    fl_client_free(c);
    /* A rule's ban, made by a session's failure. */
    c = tclient(&D);
    fl_client_connect(c, NULL, "198.51.100.7", NULL, &d);
    fl_client_user(c, "mallory", &d);
    ck_assert_int_eq(fl_client_pass(c, false, NULL, &d), 0);
    ck_assert_int_eq(d.verdict, FL_DISCONNECT);
    fl_client_free(c);

    /* The rule's ban is in the daemon's log, as the manual ones are
     * (issue 24, point 11). */
    char *log = read_file(D.log);
    ck_assert_msg(strstr(log,
                         "BanOnEvent MaxLoginAttempts banned host 198.51.100.7 from "
                         "main for 3600s (1 in its window)") != NULL,
                  "%s", log);
    ck_assert_ptr_nonnull(
        strstr(log, "banned host 192.0.2.9 from every server for 3600s"));
    free(log);

    ck_assert_int_eq(cli(&out, "ban list"), 0);
    ck_assert_ptr_nonnull(strstr(out, "KIND"));
    ck_assert_ptr_nonnull(strstr(out, "192.0.2.9"));
    ck_assert_ptr_nonnull(strstr(out, "john doe"));
    ck_assert_ptr_nonnull(strstr(out, "x y@2001:db8::1"));
    ck_assert_ptr_nonnull(strstr(out, "198.51.100.7"));
    ck_assert_ptr_nonnull(strstr(out, "MaxLoginAttempts"));
    free(out);
    ck_assert_int_eq(cli(&out, "ban list --json"), 0);
    json_t *doc = json_loads(out, 0, NULL);
    ck_assert_ptr_nonnull(doc);
    ck_assert_int_eq(json_array_size(json_object_get(doc, "bans")), 4);
    /* The rule's ban is the server's its session was on (mod_ban's sid). */
    size_t i;
    json_t *b;
    int scoped = 0;
    json_array_foreach(json_object_get(doc, "bans"), i, b)
    {
        const char *server = json_string_value(json_object_get(b, "server"));
        if (server != NULL) {
            ck_assert_str_eq(server, "main");
            ck_assert_str_eq(json_string_value(json_object_get(b, "target")),
                             "198.51.100.7");
            scoped++;
        }
    }
    ck_assert_int_eq(scoped, 1);
    json_decref(doc);
    free(out);

    /* A ban by hand from one server: by name, or an address of none. */
    ck_assert_int_eq(cli(&out, "ban add host 192.0.2.10 1h --scope main"), 0);
    free(out);
    ck_assert_int_eq(cli(&out, "ban add host 192.0.2.10 1h --scope 203.0.113.1:21"), 1);
    ck_assert_ptr_nonnull(strstr(out, "not-found: no server '203.0.113.1:21'"));
    free(out);
    ck_assert_int_eq(cli(&out, "ban list"), 0);
    ck_assert_ptr_nonnull(strstr(out, "SERVER"));
    ck_assert_ptr_nonnull(strstr(out, "192.0.2.10"));
    free(out);
    ck_assert_int_eq(cli(&out, "ban remove host 192.0.2.10 --scope main"), 0);
    free(out);
    ck_assert_int_eq(cli(&out, "ban remove host 192.0.2.10 --scope main"), 1);
    ck_assert_ptr_nonnull(strstr(out, "no host ban on that target on that server"));
    free(out);

    ck_assert_int_eq(cli(&out, "ban remove user 'john doe'"), 0);
    free(out);
    ck_assert_int_eq(cli(&out, "ban remove user 'john doe'"), 1);
    ck_assert_ptr_nonnull(strstr(out, "not-found"));
    free(out);
    ck_assert_int_eq(cli(&out, "ban add host 192.0.2.0/24 1h"), 1);
    ck_assert_ptr_nonnull(strstr(out, "bad-field: not a host target"));
    free(out);
    ck_assert_int_eq(cli(&out, "ban add planet x 1h"), 2);
    free(out);
    ck_assert_int_eq(cli(&out, "ban add host 192.0.2.1 soon"), 2);
    ck_assert_ptr_nonnull(strstr(out, "bad duration 'soon'"));
    free(out);

    /* The watcher saw the four bans. */
    int bans = 0;
    char *line;
    while (bans < 4 && fl_client_next_line(w, 2000, &line) == 0) {
        if (strstr(line, "\"event\":\"ftplimit.ban\"") != NULL)
            bans++;
        free(line);
    }
    ck_assert_int_eq(bans, 4);
    fl_client_free(w);

    ck_assert_int_eq(cli(&out, "metrics"), 0);
    ck_assert_ptr_nonnull(strstr(out, "ftplimit_bans_in_force 3\n"));
    ck_assert_ptr_nonnull(strstr(out, "ftplimit_bans_total 5\n"));
    free(out);

    /* Malformed BAN requests: an error each, and the daemon goes on. */
    int fd = raw_connect();
    raw_send(fd, "HELLO 1\nBAN\nBAN FOO\nBAN ADD host\nBAN ADD host 0 192.0.2.1\n"
                 "BAN ADD user 60 a%0Ab\nBAN ADD user 60 a%zz\nBAN REMOVE class\n"
                 "BAN ADD user 60 a\x1b[2Jb\nBAN ADD server= host 60 192.0.2.1\n"
                 "BAN ADD server=no%20such host 60 192.0.2.1\nPING\n");
    ck_assert_str_eq(raw_line(fd), "OK 1 ftplimitd/" FL_VERSION);
    ck_assert_str_eq(raw_line(fd), "ERR missing-field BAN needs LIST, ADD or REMOVE");
    ck_assert_str_eq(raw_line(fd),
                     "ERR bad-field BAN takes LIST, ADD or REMOVE, not 'FOO'");
    ck_assert_str_eq(raw_line(fd),
                     "ERR missing-field BAN ADD needs a duration in seconds");
    ck_assert_str_eq(
        raw_line(fd),
        "ERR bad-field ban duration '0' is not a number of seconds from 1");
    ck_assert_ptr_nonnull(
        strstr(raw_line(fd), "ERR bad-field the target 'a%0Ab' has a bad"));
    ck_assert_ptr_nonnull(
        strstr(raw_line(fd), "ERR bad-field the target 'a%zz' has a bad"));
    ck_assert_str_eq(raw_line(fd), "ERR missing-field BAN REMOVE needs a target");
    ck_assert_ptr_nonnull(
        strstr(raw_line(fd), "ERR bad-field the target 'a\\x1b[2Jb' has"));
    ck_assert_ptr_nonnull(strstr(raw_line(fd), "ERR bad-field server= needs"));
    ck_assert_ptr_nonnull(strstr(raw_line(fd), "ERR not-found no server 'no such'"));
    ck_assert_str_eq(raw_line(fd), "OK pong");
    close(fd);
}
END_TEST

/* Issue 24, point 4: a ban list far past 256 KiB (20,000 bans: some 3 MB)
 * reaches the client whole; it once reset the connection at 2,000. */
START_TEST(test_a_ban_list_of_twenty_thousand_bans_is_listed_whole)
{
    tdaemon_start(&D, "BanTable bans.state\n", NULL);
    int fd = raw_connect();
    FILE *replies = fdopen(dup(fd), "r");
    ck_assert_ptr_nonnull(replies);
    char line[1024];
    raw_send(fd, "HELLO 1\n");
    ck_assert_ptr_nonnull(fgets(line, sizeof line, replies));
    for (int batch = 0; batch < 20; batch++) {
        char lines[1000 * 48];
        size_t o = 0;
        for (int i = 0; i < 1000; i++) {
            int n = batch * 1000 + i;
            o += (size_t)snprintf(lines + o, sizeof lines - o,
                                  "BAN ADD host 3600 10.%d.%d.%d\n", n >> 16 & 255,
                                  n >> 8 & 255, n & 255);
        }
        ck_assert_int_eq(send(fd, lines, o, MSG_NOSIGNAL), (ssize_t)o);
        for (int i = 0; i < 1000; i++) {
            do
                ck_assert_ptr_nonnull(fgets(line, sizeof line, replies));
            while (strncmp(line, "EVENT ", 6) == 0);
            ck_assert_ptr_nonnull(strstr(line, "OK banned host"));
        }
    }
    fclose(replies);
    close(fd);
    char *out;
    ck_assert_int_eq(cli(&out, "ban list --json"), 0);
    ck_assert_uint_gt(strlen(out), 256 * 1024);
    json_t *doc = json_loads(out, 0, NULL);
    ck_assert_ptr_nonnull(doc);
    ck_assert_uint_eq(json_array_size(json_object_get(doc, "bans")), 20000);
    json_decref(doc);
    free(out);
}
END_TEST

START_TEST(test_bans_survive_a_restart_of_the_daemon)
{
    tdaemon_start(&D, "BanTable bans.state\n", NULL);
    char *out;
    ck_assert_int_eq(cli(&out, "ban add host 192.0.2.1 2h"), 0);
    free(out);
    tdaemon_stop(&D); /* saved at shutdown */
    tdaemon_restart(&D, NULL);
    ck_assert_int_eq(cli(&out, "ban list --json"), 0);
    json_t *doc = json_loads(out, 0, NULL);
    json_t *b = json_array_get(json_object_get(doc, "bans"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(b, "target")), "192.0.2.1");
    long long left = json_integer_value(json_object_get(b, "remaining"));
    ck_assert_msg(left > 7100 && left <= 7200, "remaining %lld", left);
    json_decref(doc);
    free(out);

    /* kill -9 loses nothing once the table was written (a second after a
     * change). */
    ck_assert_int_eq(cli(&out, "ban add user eve 1h"), 0);
    free(out);
    sleep_ms(1500);
    tdaemon_kill(&D);
    tdaemon_restart(&D, NULL);
    ck_assert_int_eq(cli(&out, "ban list"), 0);
    ck_assert_ptr_nonnull(strstr(out, "192.0.2.1"));
    ck_assert_ptr_nonnull(strstr(out, "eve"));
    free(out);
    fl_client *c = tclient(&D);
    fl_decision d;
    fl_client_connect(c, NULL, "192.0.2.1", NULL, &d);
    ck_assert_int_eq(d.verdict, FL_DISCONNECT);
    fl_client_free(c);
    char *log = read_file(D.log);
    ck_assert_ptr_nonnull(strstr(log, "BanTable: 2 bans restored"));
    free(log);
}
END_TEST

static void ban_as_nobody(void *arg)
{
    struct as_nobody *a = arg;
    char results[3] = {'?', '?', '?'};
    if (setgid(65534) == 0 && setuid(65534) == 0) {
        fl_client *c = fl_client_open(a->d->socket, 5000);
        char *out;
        const char *requests[] = {"BAN LIST", "BAN ADD host 60 192.0.2.1",
                                  "BAN REMOVE host 192.0.2.1"};
        for (int i = 0; c != NULL && i < 3; i++)
            results[i] =
                fl_client_command(c, requests[i], &out, NULL) < 0 && errno == EACCES
                    ? 'D'
                    : 'A';
        fl_client_free(c);
    }
    if (write(a->result[1], results, 3) != 3)
        _exit(1);
}

START_TEST(test_only_the_administrators_may_list_or_change_bans)
{
    if (geteuid() == 0) {
        const char *const extra[] = {"-m", "0666", NULL};
        tdaemon_start(&D, "AllowStatus all\n", extra);
        chmod(D.dir, 0755);
        char results[4];
        results_as_nobody(ban_as_nobody, results, 3);
        ck_assert_str_eq(results, "DDD");
        char *log = read_file(D.log);
        ck_assert_ptr_nonnull(
            strstr(log, "permission: uid 65534 gid 65534 may not list or change bans"));
        free(log);
    } else {
        /* Not root: make the administrator someone else. */
        char policy[128];
        snprintf(policy, sizeof policy, "AllowAdmin uid:%d\nAllowSessions uid:%d\n",
                 (int)geteuid() + 1, (int)geteuid());
        tdaemon_start(&D, policy, NULL);
        char *out;
        ck_assert_int_eq(cli(&out, "ban list"), 1);
        ck_assert_ptr_nonnull(strstr(out, "may not list or change bans"));
        free(out);
        ck_assert_int_eq(cli(&out, "ban add host 192.0.2.1 60"), 1);
        free(out);
    }
    /* The daemon's own user (or root) may. */
    ck_assert_int_eq(ttotal(&D, "bans"), 0);
}
END_TEST

START_TEST(test_the_daemon_logs_what_its_listeners_cannot_do)
{
    tdaemon_start(&D,
                  "MaxClientsPerHost 1\nOnEvent mod_auth.* jsonl no/such/dir/e.jsonl\n",
                  NULL);
    fl_client *a = tclient(&D), *b = tclient(&D);
    fl_decision d;
    fl_client_connect(a, NULL, "10.0.0.1", NULL, &d);
    fl_client_user(a, "u", &d);
    fl_client_pass(a, true, NULL, &d);
    fl_client_connect(b, NULL, "10.0.0.1", NULL, &d);
    fl_client_user(b, "u", &d);
    fl_client_pass(b, true, NULL, &d);
    ck_assert_int_eq(d.verdict, FL_DISCONNECT);
    fl_client_free(a);
    fl_client_free(b);
    char *out;
    ck_assert_int_eq(cli(&out, "metrics"), 0);
    ck_assert_ptr_nonnull(strstr(
        out, "ftplimit_alerts_total{listener=\"jsonl\",outcome=\"failed\"} 2\n"));
    free(out);
    char *log = read_file(D.log);
    ck_assert_ptr_nonnull(strstr(log, "OnEvent mod_auth.*: cannot open "));
    ck_assert_ptr_nonnull(
        strstr(log, "e.jsonl: No such file or directory (reported once"));
    free(log);
}
END_TEST

/* One login of user from addr, let in. */
static void login_once(fl_client *c, const char *addr, const char *user)
{
    fl_decision d;
    fl_client_connect(c, NULL, addr, NULL, &d);
    fl_client_user(c, user, &d);
    fl_client_pass(c, true, NULL, &d);
    ck_assert_int_eq(d.verdict, FL_ALLOW);
}

/* Wait (up to 5 s) until path exists and has text in it. */
static bool wait_for_text(const char *path, const char *text)
{
    for (int i = 0; i < 500; i++) {
        char *s = read_file(path);
        bool found = s != NULL && strstr(s, text) != NULL;
        free(s);
        if (found)
            return true;
        sleep_ms(10);
    }
    return false;
}

START_TEST(test_sigusr1_opens_the_log_and_jsonl_files_again_after_logrotate)
{
    char events[4096], log[4096], moved_events[4200], moved_log[4200];
    char *dir = tmpdir_new();
    snprintf(events, sizeof events, "%s/e.jsonl", dir);
    snprintf(log, sizeof log, "%s/ftplimitd.log", dir);
    snprintf(moved_events, sizeof moved_events, "%s.1", events);
    snprintf(moved_log, sizeof moved_log, "%s.1", log);
    char policy[8600];
    snprintf(policy, sizeof policy, "OnEvent core.exit jsonl %s\n", events);
    const char *const extra[] = {"-l", log, NULL};
    tdaemon_start(&D, policy, extra);
    /* Each session's end (core.exit) is a line. */
    fl_client *a = tclient(&D);
    login_once(a, "10.0.0.1", "before");
    fl_client_free(a);
    ck_assert(wait_for_text(events, "\"before\""));
    /* logrotate: the files moved (the daemon still holds them), then USR1. */
    ck_assert_int_eq(rename(events, moved_events), 0);
    ck_assert_int_eq(rename(log, moved_log), 0);
    kill(D.pid, SIGUSR1);
    ck_assert(wait_for_text(log, "log files opened again"));
    fl_client *b = tclient(&D);
    login_once(b, "10.0.0.2", "after");
    fl_client *c = tclient(&D);
    login_once(c, "10.0.0.3", "stays");
    fl_client_free(b);
    ck_assert(wait_for_text(events, "\"after\""));
    char *old = read_file(moved_events), *now = read_file(events);
    ck_assert_ptr_null(strstr(old, "\"after\""));
    ck_assert_ptr_null(strstr(now, "\"before\""));
    free(old);
    free(now);
    /* The counts and the policy are as they were. */
    ck_assert_int_eq(ttotal(&D, "clients"), 1);
    /* A file that cannot be made again is said once; the old one stays shut. */
    ck_assert_int_eq(rename(events, moved_events), 0);
    ck_assert_int_eq(mkdir(events, 0755), 0);
    kill(D.pid, SIGUSR1);
    ck_assert(wait_for_text(log, "some jsonl files could not be"));
    ck_assert_int_eq(rmdir(events), 0);
    fl_client_free(c);
    tmpdir_free(dir);
}
END_TEST

START_TEST(test_a_session_let_in_while_the_daemon_was_away_is_declared_and_classified)
{
    char extra_log[4200];
    tdaemon_start(&D,
                  "<Class lan>\n From 10.0.0.0/8\n</Class>\nMaxClientsPerHost 1\n"
                  "MaxClientsPerClass lan 5\n",
                  NULL);
    snprintf(extra_log, sizeof extra_log, "%s/own.log", D.dir);
    tdaemon_stop(&D);
    const char *const extra[] = {"-l", extra_log, NULL};
    tdaemon_restart(&D, extra);

    /* A server's session, logged in while no daemon answered. */
    fl_client *a = tclient(&D);
    fl_client_session alice = {.sid = "p4242.17",
                               .address = "::ffff:10.1.2.3",
                               .user = "alice",
                               .authenticated = true,
                               .failed = 1};
    ck_assert_int_eq(fl_client_declare(a, &alice), 0);
    ck_assert_str_eq(fl_client_class(a), "lan");
    ck_assert_int_eq(ttotal(&D, "clients"), 1);
    /* It counts: a second login from its host is one too many. */
    fl_client *b = tclient(&D);
    fl_decision d;
    fl_client_connect(b, NULL, "10.1.2.3", NULL, &d);
    fl_client_user(b, "bob", &d);
    ck_assert_int_eq(fl_client_pass(b, true, NULL, &d), 0);
    ck_assert_int_eq(d.verdict, FL_DISCONNECT);
    /* Declared ids are checked like any other. */
    fl_client *c = tclient(&D);
    errno = 0;
    fl_client_session taken = {.sid = "p4242.17", .address = "10.1.2.4"};
    ck_assert_int_eq(fl_client_declare(c, &taken), -1);
    ck_assert_int_eq(errno, EEXIST);
    fl_client_session nobody = {
        .sid = "x", .address = "10.1.2.4", .authenticated = true};
    ck_assert_int_eq(fl_client_declare(c, &nobody), -1);
    ck_assert_int_eq(errno, EINVAL); /* logged in without a user */
    /* After a restart, the declared session resumes with its class. */
    tdaemon_kill(&D);
    tdaemon_restart(&D, extra);
    ck_assert_int_eq(fl_client_resume(a), 0);
    json_t *doc = tstatus(&D);
    json_t *cls = json_array_get(json_object_get(doc, "classes"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(cls, "key")), "lan");
    ck_assert_int_eq(json_integer_value(json_object_get(cls, "clients")), 1);
    json_decref(doc);
    fl_client_free(a);
    fl_client_free(b);
    fl_client_free(c);
    /* -l: the log went to the file, not to standard error. */
    char *log = read_file(extra_log);
    ck_assert_ptr_nonnull(strstr(log, "listening on"));
    free(log);
}
END_TEST

/* Whatever uid opened it, a connection that declared a session (or means
 * to: TOKEN) carries session rights only. */
START_TEST(test_a_sessions_connection_carries_session_rights_only)
{
    tdaemon_start(&D, "MaxClients 5\n", NULL);
    fl_client *c = tclient(&D);
    fl_decision d;
    ck_assert_int_eq(fl_client_connect(c, "p1.1", "10.0.0.1", NULL, &d), 0);
    const char *admin[] = {
        "STATUS", "METRICS", "RELOAD", "BAN LIST", "BAN ADD host 60 192.0.2.1",
        "WATCH"};
    char *out;
    for (size_t i = 0; i < sizeof admin / sizeof admin[0]; i++) {
        errno = 0;
        ck_assert_int_eq(fl_client_command(c, admin[i], &out, NULL), -1);
        ck_assert_int_eq(errno, i == 5 ? EALREADY : EACCES); /* WATCH: state */
    }
    ck_assert_ptr_nonnull(strstr(fl_client_error(c), "cannot watch"));
    ck_assert_int_eq(fl_client_command(c, "PING", &out, NULL), 0);
    free(out);
    /* A connection that sent only its token is a session's too. */
    int fd = raw_connect();
    raw_send(fd, "HELLO 1\nTOKEN 0123456789abcdef0123456789abcdef\nBAN LIST\n");
    raw_line(fd);
    ck_assert_str_eq(raw_line(fd), "OK token");
    ck_assert_str_eq(
        raw_line(fd),
        "ERR permission a session's connection may not list or change bans");
    close(fd);
    /* Root's own connection may, and no ban was made. */
    ck_assert_int_eq(ttotal(&D, "bans"), 0);
    ck_assert_int_eq(ttotal(&D, "clients"), 0);
    fl_client_free(c);
}
END_TEST

/* The token of session sid from address, under the daemon's key file. */
static void token_of(const char *sid, const char *address, char out[FL_TOKEN_LEN + 1])
{
    char path[4200];
    snprintf(path, sizeof path, "%s.key", D.socket);
    fl_session_key key;
    ck_assert_int_eq(fl_session_key_load(path, false, &key), 0);
    ck_assert_int_eq(fl_session_token(&key, sid, address, out), 0);
}

struct as_user {
    const char *token; /* for p7.1 from 10.0.0.7 */
    const char *other; /* p8.1's from 10.0.0.7 */
    int result[2];
};

/* A session process that has become its user (uid 65534 here, which the
 * daemon gives no rights): only its token lets it declare itself. */
static void declare_as_user(void *arg)
{
    struct as_user *a = arg;
    char results[6] = "??????";
    if (setgid(65534) == 0 && setuid(65534) == 0) {
        fl_client_session s = {.sid = "p7.1",
                               .address = "10.0.0.7",
                               .user = "alice",
                               .authenticated = true,
                               .resolved = true};
        fl_client *c = fl_client_open(D.socket, 5000);
        results[0] = fl_client_declare(c, &s) < 0 && errno == EACCES ? 'D' : 'A';
        fl_client_free(c);
        c = fl_client_open(D.socket, 5000);
        fl_client_set_token(c, a->other);
        results[1] = fl_client_declare(c, &s) < 0 && errno == EACCES ? 'D' : 'A';
        fl_client_free(c);
        c = fl_client_open(D.socket, 5000);
        fl_client_set_token(c, a->token);
        fl_client_session moved = s;
        moved.address = "10.0.0.8";
        results[2] = fl_client_declare(c, &moved) < 0 && errno == EACCES ? 'D' : 'A';
        fl_client_free(c);
        fl_decision d;
        c = fl_client_open(D.socket, 5000);
        fl_client_set_token(c, a->token);
        results[3] =
            fl_client_connect(c, NULL, "10.0.0.7", NULL, &d) < 0 && errno == EACCES
                ? 'D'
                : 'A';
        fl_client_free(c);
        c = fl_client_open(D.socket, 5000);
        fl_client_set_token(c, a->token);
        results[4] = fl_client_declare(c, &s) == 0 ? 'A' : 'D';
        char *out;
        results[5] = fl_client_command(c, "STATUS", &out, NULL) < 0 ? 'D' : 'A';
        if (write(a->result[1], results, 6) != 6)
            _exit(1);
        /* Hold the session until the test is done with it. */
        char byte;
        if (read(a->result[1], &byte, 1) < 0)
            _exit(1);
        fl_client_free(c);
        _exit(0);
    }
    if (write(a->result[1], results, 6) != 6)
        _exit(1);
}

START_TEST(test_a_token_lets_a_session_declare_itself_whatever_its_uid)
{
    if (geteuid() != 0)
        return; /* no other uid to become */
    const char *const extra[] = {"-m", "0666", "-n", NULL};
    tdaemon_start(&D, "MaxClientsPerUser 5\n", extra);
    chmod(D.dir, 0755);
    char token[FL_TOKEN_LEN + 1], other[FL_TOKEN_LEN + 1];
    token_of("p7.1", "10.0.0.7", token);
    token_of("p8.1", "10.0.0.7", other);
    /* Tokens depend on the session and on the key. */
    ck_assert_str_ne(token, other);
    struct as_user a = {token, other, {-1, -1}};
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, a.result), 0);
    pid_t pid = tfork(declare_as_user, &a);
    char results[7] = {0};
    ck_assert_int_eq(read(a.result[0], results, 6), 6);
    /* No token, another session's, another address, an id left to the
     * daemon: refused; its own: declared, with session rights only. */
    ck_assert_str_eq(results, "DDDDAD");
    ck_assert_int_eq(ttotal(&D, "clients"), 1);
    char *log = read_file(D.log);
    ck_assert_ptr_nonnull(strstr(log, "the token is not this session's"));
    free(log);
    ck_assert_int_eq(write(a.result[0], "x", 1), 1);
    twait(pid);
    close(a.result[0]);
    close(a.result[1]);
}
END_TEST

static void use_as_daemon_user(void *arg)
{
    struct as_nobody *a = arg;
    char results[3] = "???";
    if (setgid(65534) == 0 && setuid(65534) == 0) {
        fl_decision d;
        fl_client *c = fl_client_open(D.socket, 5000);
        results[0] =
            fl_client_connect(c, NULL, "10.0.0.1", NULL, &d) < 0 && errno == EACCES
                ? 'D'
                : 'A';
        fl_client_free(c);
        c = fl_client_open(D.socket, 5000);
        char *out;
        results[1] = fl_client_command(c, "STATUS", &out, NULL) < 0 ? 'D' : 'A';
        results[2] = fl_client_command(c, "BAN LIST", &out, NULL) < 0 ? 'D' : 'A';
        fl_client_free(c);
    }
    if (write(a->result[1], results, 3) != 3)
        _exit(1);
}

/* -n: a daemon whose uid its server's session processes share (ProFTPD's
 * User) gives that uid no rights: it takes tokens, and root. */
/* Issue 24, point 9: ftplimitd -t -u USER, and ftplimit check -u USER,
 * check the policy as that user: a BanTable in a directory only root may
 * write is an error, which it was not. */
START_TEST(test_checking_as_the_daemons_user_finds_a_ban_table_it_cannot_write)
{
    if (geteuid() != 0) {
        tdaemon_start(&D, "MaxClients 1\n", NULL); /* needs a second uid */
        return;
    }
    tdaemon_start(&D, "MaxClients 1\n", NULL);
    char dir[4200], policy[4300], cmd[9000];
    snprintf(dir, sizeof dir, "%s/root-only", D.dir);
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    snprintf(policy, sizeof policy, "%s/table.conf", D.dir);
    FILE *f = fopen(policy, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "MaxClients 5\nBanTable %s/bans.state\n", dir);
    fclose(f);
    chmod(policy, 0644);
    char out_path[4300];
    snprintf(out_path, sizeof out_path, "%s/t.out", D.dir);
    const char *runs[][2] = {
        {tdaemon_binary(), "-t -u nobody -c"},
        {tcli_binary(), "check -u nobody"},
    };
    for (int i = 0; i < 2; i++) {
        snprintf(cmd, sizeof cmd, "'%s' %s '%s' > '%s' 2>&1", runs[i][0], runs[i][1],
                 policy, out_path);
        int status = system(cmd);
        char *out = read_file(out_path);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 2, "%s: %s", cmd,
                      out);
        ck_assert_msg(strstr(out, "table.conf:2: BanTable: the directory") != NULL &&
                          strstr(out, "cannot be written by uid 65534") != NULL,
                      "%s", out);
        free(out);
    }
    /* Issue 24, point 1: the log too is opened as the daemon's user: not in
     * a directory only root may write (where root would have made it). */
    snprintf(cmd, sizeof cmd,
             "'%s' -f -u nobody -c '%s' -s '%s/other.sock' -l '%s/d.log' > '%s' 2>&1",
             tdaemon_binary(), D.policy, D.dir, dir, out_path);
    int status = system(cmd);
    char *out = read_file(out_path);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 2, "%s", out);
    ck_assert_ptr_nonnull(strstr(out, "d.log' as nobody: Permission denied"));
    free(out);
    struct stat st;
    ck_assert_int_ne(stat(dir, &st), -1);
    char made[4400];
    snprintf(made, sizeof made, "%s/d.log", dir);
    ck_assert_int_eq(access(made, F_OK), -1); /* nothing was made there */
    /* As root, and for ftplimit check without -u, it is fine. */
    snprintf(cmd, sizeof cmd, "'%s' -t -c '%s' > /dev/null 2>&1", tdaemon_binary(),
             policy);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "'%s' check '%s' > /dev/null 2>&1", tcli_binary(),
             policy);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* Issue 24, point 11: with no syslog daemon on /dev/log, syslog(3) drops
 * every line without a word; ftplimitd in the foreground logs to standard
 * error instead (mod_ftplimit puts it in ProFTPD's SystemLog), and says so. */
START_TEST(test_without_a_syslog_daemon_the_log_goes_to_standard_error)
{
    const char *const extra[] = {"-l", "syslog", NULL};
    tdaemon_start(&D, "MaxClients 5\n", extra);
    char *log = read_file(D.log);
    if (fl_syslog_reachable()) {
        ck_assert_ptr_null(strstr(log, "listening on")); /* syslog has it */
    } else {
        ck_assert_ptr_nonnull(strstr(
            log, "no syslog daemon listens on /dev/log: logging to standard error"));
        ck_assert_ptr_nonnull(strstr(log, "listening on"));
    }
    free(log);
}
END_TEST

START_TEST(test_with_n_the_daemons_own_uid_has_no_rights)
{
    if (geteuid() != 0)
        return;
    const char *const extra[] = {"-u", "nobody", "-m", "0666", "-n", NULL};
    tdaemon_start(&D, "MaxClients 5\n", extra);
    chmod(D.dir, 0755);
    char results[4];
    results_as_nobody(use_as_daemon_user, results, 3);
    ck_assert_str_eq(results, "DDD");
    ck_assert_int_eq(ttotal(&D, "sessions"), 0); /* root still reads status */
}
END_TEST

START_TEST(test_the_session_key_is_made_once_kept_private_and_checked)
{
    tdaemon_start(&D, "MaxClients 5\n", NULL);
    char path[4200], *first, *second;
    snprintf(path, sizeof path, "%s.key", D.socket);
    struct stat st;
    ck_assert_int_eq(lstat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    ck_assert_int_eq(st.st_size, 65);
    first = read_file(path);
    tdaemon_stop(&D);
    tdaemon_restart(&D, NULL);
    second = read_file(path);
    ck_assert_str_eq(first, second); /* the sessions' tokens hold across restarts */
    free(first);
    free(second);
    fl_session_key key;
    ck_assert_int_eq(fl_session_key_load(path, false, &key), 0);
    /* Readable by others: refused, as a key anyone may know. */
    chmod(path, 0640);
    ck_assert_int_eq(fl_session_key_load(path, false, &key), -1);
    ck_assert_int_eq(errno, EPERM);
    /* A symbolic link is not followed. */
    char link_path[4300];
    snprintf(link_path, sizeof link_path, "%s/link.key", D.dir);
    chmod(path, 0600);
    ck_assert_int_eq(symlink(path, link_path), 0);
    ck_assert_int_eq(fl_session_key_load(link_path, false, &key), -1);
    ck_assert_int_eq(errno, ELOOP);
    /* Not a key. */
    char *junk = write_file(D.dir, "junk.key", "not a key\n");
    chmod(junk, 0600);
    ck_assert_int_eq(fl_session_key_load(junk, false, &key), -1);
    ck_assert_int_eq(errno, EINVAL);
    free(junk);
    /* Made when missing, when asked to. */
    char made[4300];
    snprintf(made, sizeof made, "%s/new.key", D.dir);
    ck_assert_int_eq(fl_session_key_load(made, false, &key), -1);
    ck_assert_int_eq(errno, ENOENT);
    ck_assert_int_eq(fl_session_key_load(made, true, &key), 0);
    fl_session_key again;
    ck_assert_int_eq(fl_session_key_load(made, true, &again), 0);
    ck_assert_mem_eq(key.b, again.b, sizeof key.b);
}
END_TEST

/* A server that resolves names itself (USERAS): its anonymous logins
 * count under the account it names, its password is checked first
 * (ANONPASS), and a restart keeps all of it (RESUME state a). */
START_TEST(test_anonymous_logins_the_server_resolved_count_under_their_account)
{
    tdaemon_start(&D, "MaxClientsPerUser 2\nAnonRejectPasswords \"!@\"\n", NULL);
    fl_client *c[3];
    fl_decision d;
    const char *names[] = {"anonymous", "guest", "daemon"};
    for (int i = 0; i < 3; i++) {
        char sid[16];
        snprintf(sid, sizeof sid, "p%d.1", i);
        c[i] = tclient(&D);
        ck_assert_int_eq(fl_client_connect(c[i], sid, "10.0.0.1", NULL, &d), 0);
        ck_assert_int_eq(fl_client_anon_pass(c[i], names[i], "ftp", "nope", &d), 0);
        ck_assert_int_eq(d.verdict, FL_REJECT);
        ck_assert_str_eq(d.limit, "AnonRejectPasswords");
        ck_assert_int_eq(fl_client_anon_pass(c[i], names[i], "ftp", "me@x.org", &d), 0);
        ck_assert_int_eq(d.verdict, FL_ALLOW);
        ck_assert_int_eq(fl_client_login_as_start(c[i], NULL, "ftp", true, NULL), 0);
        ck_assert_int_eq(fl_client_login_finish(c[i], &d), 0);
        ck_assert_int_eq(d.verdict, i < 2 ? FL_ALLOW : FL_DISCONNECT);
    }
    ck_assert_str_eq(d.limit, "MaxClientsPerUser");
    /* "ftp" named by the server as a real account is another user. */
    fl_client *real = tclient(&D);
    ck_assert_int_eq(fl_client_connect(real, "p9.1", "10.0.0.2", NULL, &d), 0);
    ck_assert_int_eq(fl_client_login_as_start(real, "anonymous", NULL, true, NULL), 0);
    ck_assert_int_eq(fl_client_login_finish(real, &d), 0);
    ck_assert_int_eq(d.verdict, FL_ALLOW);
    /* After a restart, each session comes back as what it was. */
    tdaemon_kill(&D);
    tdaemon_restart(&D, NULL);
    ck_assert_int_eq(fl_client_resume(c[0]), 0);
    ck_assert_int_eq(fl_client_resume(c[1]), 0);
    ck_assert_int_eq(fl_client_resume(real), 0);
    json_t *doc = tstatus(&D);
    json_t *users = json_object_get(doc, "users");
    long long ftp = -1, anonymous = -1;
    for (size_t i = 0; i < json_array_size(users); i++) {
        json_t *u = json_array_get(users, i);
        const char *key = json_string_value(json_object_get(u, "key"));
        long long n = json_integer_value(json_object_get(u, "clients"));
        if (strcmp(key, "ftp") == 0)
            ftp = n;
        else if (strcmp(key, "anonymous") == 0)
            anonymous = n;
    }
    json_decref(doc);
    ck_assert_int_eq(ftp, 2);
    ck_assert_int_eq(anonymous, 1);
    for (int i = 0; i < 3; i++)
        fl_client_free(c[i]);
    fl_client_free(real);
}
END_TEST

struct starter {
    int pipe[2];
    char log[4300]; /* the daemon's own: D.log has the first daemon's */
};

/* A process that starts ftplimitd as ProFTPD's helper does (-P, -u), and
 * waits to be killed. */
static void start_and_wait(void *arg)
{
    struct starter *st = arg;
    char parent[32];
    snprintf(parent, sizeof parent, "%ld", (long)getpid());
    /* It opens its log as nobody: the administrator gives it the file. */
    int log = open(st->log, O_WRONLY | O_CREAT, 0640);
    if (log < 0 || fchown(log, 65534, 65534) < 0)
        _exit(1);
    close(log);
    pid_t pid = fork();
    if (pid == 0) {
        execl(tdaemon_binary(), tdaemon_binary(), "-f", "-c", D.policy, "-s", D.socket,
              "-u", "nobody", "-P", parent, "-l", st->log, (char *)NULL);
        _exit(127);
    }
    if (write(st->pipe[1], "x", 1) != 1)
        _exit(1);
    pause();
}

START_TEST(test_with_p_the_daemon_stops_when_its_starter_dies_after_changing_user)
{
    if (geteuid() != 0)
        return; /* it changes user only when started as root */
    tdaemon_start(&D, "MaxClients 5\n", NULL);
    tdaemon_stop(&D);
    struct starter st;
    snprintf(st.log, sizeof st.log, "%s/followed.log", D.dir);
    ck_assert_int_eq(pipe(st.pipe), 0);
    pid_t starter = tfork(start_and_wait, &st);
    char byte;
    ck_assert_int_eq(read(st.pipe[0], &byte, 1), 1);
    bool up = false;
    for (int i = 0; i < 500 && !up; i++) {
        fl_client *c = fl_client_open(D.socket, 1000);
        char *out = NULL;
        up = c != NULL && fl_client_command(c, "PING", &out, NULL) == 0;
        free(out);
        fl_client_free(c);
        if (!up)
            usleep(10000);
    }
    ck_assert(up);
    kill(starter, SIGKILL);
    twait(starter);
    /* The daemon, now running as nobody, follows it out. */
    bool gone = false;
    for (int i = 0; i < 300 && !gone; i++) {
        char *log = read_file(st.log);
        gone = log != NULL && strstr(log, "signal 15: shutting down") != NULL &&
               strstr(log, "stopped") != NULL;
        free(log);
        if (!gone)
            usleep(10000);
    }
    ck_assert_msg(gone, "ftplimitd outlived the process that started it");
    fl_client *c = fl_client_open(D.socket, 1000);
    ck_assert_ptr_null(c);
    close(st.pipe[0]);
    close(st.pipe[1]);
}
END_TEST

START_TEST(test_user_and_pass_in_one_round_trip)
{
    tdaemon_start(&D, "MaxClientsPerHost 1\nMaxLoginAttempts 2\n", NULL);
    fl_client *a = tclient(&D), *b = tclient(&D), *c = tclient(&D);
    fl_decision d;
    /* No session yet: both lines are refused, and the stream stays in step. */
    errno = 0;
    ck_assert_int_eq(fl_client_login(a, "alice", true, NULL, &d), -1);
    ck_assert_int_eq(errno, EALREADY);
    char *out;
    ck_assert_int_eq(fl_client_command(a, "PING", &out, NULL), 0);
    ck_assert_str_eq(out, "pong");
    free(out);

    ck_assert_int_eq(fl_client_connect(a, NULL, "10.0.0.1", NULL, &d), 0);
    ck_assert_int_eq(fl_client_login(a, "alice", true, NULL, &d), 0);
    ck_assert_int_eq(d.verdict, FL_ALLOW);
    ck_assert_int_eq(fl_client_connect(b, NULL, "10.0.0.1", NULL, &d), 0);
    ck_assert_int_eq(fl_client_login(b, "bob", true, NULL, &d), 0);
    ck_assert_int_eq(d.verdict, FL_DISCONNECT);
    ck_assert_str_eq(d.limit, "MaxClientsPerHost");
    ck_assert_int_eq(fl_client_connect(c, NULL, "10.0.0.2", NULL, &d), 0);
    ck_assert_int_eq(fl_client_login(c, "carol", false, NULL, &d), 0);
    ck_assert_int_eq(d.verdict, FL_REJECT);
    ck_assert_int_eq(fl_client_login(c, "carol", false, NULL, &d), 0);
    ck_assert_int_eq(d.verdict, FL_DISCONNECT);
    ck_assert_str_eq(d.limit, "MaxLoginAttempts");
    ck_assert_int_eq(ttotal(&D, "clients"), 1);
    fl_client_free(a);
    fl_client_free(b);
    fl_client_free(c);
}
END_TEST

/* The answers to requests that came in one read leave in one write: a
 * session that pipelines USER and PASS is woken once, with both. */
START_TEST(test_the_answers_to_pipelined_requests_leave_together)
{
    tdaemon_start(&D, "MaxClientsPerHost 2\n", NULL);
    int fd = raw_connect();
    raw_send(fd, "HELLO 1\nCONNECT s1 10.0.0.1\nUSER alice\nPASS ok\n");
    static const char expected[] = "OK 1 ftplimitd/" PACKAGE_VERSION "\n"
                                   "ALLOW s1 -\nALLOW\nALLOW\n";
    char buf[512];
    struct pollfd p = {.fd = fd, .events = POLLIN};
    ck_assert_int_eq(poll(&p, 1, 5000), 1);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    ck_assert_int_gt(n, 0);
    buf[n] = '\0';
    ck_assert_str_eq(buf, expected);
    close(fd);
}
END_TEST

START_TEST(test_connect_in_two_halves)
{
    tdaemon_start(&D, "MaxConnectionsPerHost 1 \"one at a time\"\n", NULL);
    fl_client *a = tclient(&D), *b = tclient(&D);
    fl_decision d;
    ck_assert_int_eq(fl_client_connect_start(a, "half-a", "10.0.0.1", NULL), 0);
    /* While the answer is awaited, nothing else may be asked. */
    char *out;
    errno = 0;
    ck_assert_int_eq(fl_client_command(a, "PING", &out, NULL), -1);
    ck_assert_int_eq(errno, EINPROGRESS);
    ck_assert_int_eq(fl_client_connect_finish(a, &d), 0);
    ck_assert_int_eq(d.verdict, FL_ALLOW);
    errno = 0;
    ck_assert_int_eq(fl_client_connect_finish(a, &d), -1); /* nothing pending */
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(fl_client_login(a, "alice", true, NULL, &d), 0);
    ck_assert_int_eq(d.verdict, FL_ALLOW);

    ck_assert_int_eq(fl_client_connect_start(b, "half-b", "10.0.0.1", NULL), 0);
    ck_assert_int_eq(fl_client_connect_finish(b, &d), 0);
    ck_assert_int_eq(d.verdict, FL_DISCONNECT);
    ck_assert_int_eq(d.code, 421);
    ck_assert_str_eq(d.message, "one at a time");
    ck_assert_int_eq(ttotal(&D, "sessions"), 1);

    /* Bad arguments are refused before anything is sent. */
    fl_client *c = tclient(&D);
    errno = 0;
    ck_assert_int_eq(fl_client_connect_start(c, "x", "not-an-address", NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(fl_client_command(c, "PING", &out, NULL), 0);
    free(out);
    fl_client_free(a);
    fl_client_free(b);
    fl_client_free(c);
    ck_assert_int_eq(twait_total(&D, "sessions", 0), 0);
}
END_TEST

/* A server sends the login as soon as the password checked out, and reads
 * the answer later; when its own checks then refuse the login, LOGOUT
 * undoes it. */
START_TEST(test_login_in_two_halves_and_logout)
{
    tdaemon_start(&D, "MaxClientsPerHost 1\nMaxLoginAttempts 2\n", NULL);
    fl_client *a = tclient(&D), *b = tclient(&D);
    fl_decision d;
    ck_assert_int_eq(fl_client_connect(a, "la", "10.0.0.1", NULL, &d), 0);
    ck_assert_int_eq(fl_client_login_start(a, "alice", true, NULL), 0);
    char *out;
    errno = 0;
    ck_assert_int_eq(fl_client_command(a, "PING", &out, NULL), -1);
    ck_assert_int_eq(errno, EINPROGRESS);
    ck_assert_int_eq(fl_client_login_finish(a, &d), 0);
    ck_assert_int_eq(d.verdict, FL_ALLOW);
    ck_assert_int_eq(ttotal(&D, "clients"), 1);
    errno = 0;
    ck_assert_int_eq(fl_client_login_finish(a, &d), -1); /* nothing pending */
    ck_assert_int_eq(errno, EINVAL);

    /* Undone: the host's one client slot is free for another session. */
    ck_assert_int_eq(fl_client_logout(a), 0);
    ck_assert_int_eq(ttotal(&D, "clients"), 0);
    ck_assert_int_eq(ttotal(&D, "sessions"), 1);
    ck_assert_int_eq(fl_client_connect(b, "lb", "10.0.0.1", NULL, &d), 0);
    ck_assert_int_eq(fl_client_login(b, "bob", true, NULL, &d), 0);
    ck_assert_int_eq(d.verdict, FL_ALLOW);

    /* Not logged in any more: LOGOUT is an error, and the stream goes on. */
    errno = 0;
    ck_assert_int_eq(fl_client_logout(a), -1);
    ck_assert_str_eq(fl_client_error(a), "state: LOGOUT: not logged in");
    ck_assert_int_eq(fl_client_login(a, "alice", false, NULL, &d), 0);
    ck_assert_int_eq(d.verdict, FL_REJECT);
    ck_assert_int_eq(fl_client_login(a, "alice", false, NULL, &d), 0);
    ck_assert_int_eq(d.verdict, FL_DISCONNECT);
    ck_assert_str_eq(d.limit, "MaxLoginAttempts");

    /* Without a session there is nothing to undo. */
    int fd = raw_connect();
    raw_send(fd, "HELLO 1\nLOGOUT\n");
    char buf[512];
    size_t got = 0;
    while (got == 0 || strchr(strchr(buf, '\n') + 1, '\n') == NULL) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ck_assert_int_eq(poll(&p, 1, 5000), 1);
        ssize_t n = read(fd, buf + got, sizeof buf - 1 - got);
        ck_assert_int_gt(n, 0);
        got += (size_t)n;
        buf[got] = '\0';
    }
    ck_assert_ptr_nonnull(strstr(buf, "\nERR state no session on this connection"));
    close(fd);
    char *metrics;
    fl_client *admin = tclient(&D);
    ck_assert_int_eq(fl_client_command(admin, "METRICS", &metrics, NULL), 0);
    fl_client_free(admin);
    ck_assert_ptr_nonnull(strstr(metrics, "\nftplimit_daemon_logouts_total 1\n"));
    free(metrics);
    fl_client_free(a);
    fl_client_free(b);
}
END_TEST

/* The daemon's resident memory, in KiB. */
static long daemon_rss_kib(void)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/status", (long)D.pid);
    char *text = read_file(path);
    ck_assert_ptr_nonnull(text);
    const char *rss = strstr(text, "VmRSS:");
    ck_assert_ptr_nonnull(rss);
    long kib = strtol(rss + 6, NULL, 10);
    free(text);
    return kib;
}

START_TEST(test_ten_thousand_user_names_from_one_host_leave_nothing_behind)
{
    tdaemon_start(&D, "MaxLoginAttempts 2\nMaxClientsPerUser 1\nMaxTrackedHosts 100\n",
                  NULL);
    fl_client *warm = tclient(&D);
    fl_decision d;
    ck_assert_int_eq(fl_client_connect(warm, NULL, "203.0.113.9", NULL, &d), 0);
    fl_client_free(warm);
    long before = daemon_rss_kib();
    char user[600];
    for (int i = 0; i < 10000; i++) {
        fl_client *c = tclient(&D);
        ck_assert_int_eq(fl_client_connect(c, NULL, "203.0.113.9", NULL, &d), 0);
        ck_assert_int_eq(d.verdict, FL_ALLOW);
        /* Long, distinct, and full of what must never be interpreted. */
        snprintf(user, sizeof user, "%%n%%s$(id)`id`;\x1b[31m\xff\xfe-%d-%0480d", i, i);
        ck_assert_int_eq(fl_client_login(c, user, i % 2 == 0, NULL, &d), 0);
        ck_assert_int_eq(d.verdict, i % 2 == 0 ? FL_ALLOW : FL_REJECT);
        fl_client_free(c);
    }
    ck_assert_int_eq(twait_total(&D, "sessions", 0), 0);
    json_t *doc = tstatus(&D);
    json_t *totals = json_object_get(doc, "totals");
    ck_assert_int_eq(json_integer_value(json_object_get(totals, "users")), 0);
    ck_assert_int_le(json_integer_value(json_object_get(totals, "hosts")), 1);
    json_decref(doc);
    long after = daemon_rss_kib();
#if defined(__SANITIZE_ADDRESS__)
    (void)before; /* ASan's quarantine holds freed memory; LeakSanitizer checks */
    (void)after;  /* at the daemon's exit instead */
#else
    /* Nothing per user stays: what grows is allocator slack, not 10k names. */
    ck_assert_msg(after - before < 2048, "RSS grew from %ld to %ld KiB", before, after);
#endif
}
END_TEST

START_TEST(test_sigpipe_and_clients_that_vanish_mid_reply_are_not_fatal)
{
    tdaemon_start(&D, "MaxClients 10\n", NULL);
    ck_assert_int_eq(kill(D.pid, SIGPIPE), 0);
    /* Ask for the largest replies and close without reading them. */
    for (int i = 0; i < 50; i++) {
        int fd = raw_connect();
        raw_send(fd, "HELLO 1\nSTATUS\nMETRICS\nSTATUS\nMETRICS\n");
        close(fd);
    }
    fl_client *c = tclient(&D);
    char *out;
    ck_assert_int_eq(fl_client_command(c, "PING", &out, NULL), 0);
    ck_assert_str_eq(out, "pong");
    free(out);
    fl_client_free(c);
    ck_assert_int_eq(kill(D.pid, 0), 0);
}
END_TEST

static Suite *daemon_suite(void)
{
    Suite *s = suite_create("daemon");
    TCase *tc = tcase_create("daemon");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_limits_are_enforced_across_client_processes);
    tcase_add_test(tc, test_kill_9_of_client_processes_releases_exactly_their_counts);
    tcase_add_test(tc,
                   test_a_restarted_daemon_gets_the_same_counts_from_resuming_clients);
    tcase_add_test(tc, test_sighup_reloads_the_policy_keeping_every_count);
    tcase_add_test(
        tc, test_sigterm_ends_every_session_then_shuts_down_and_removes_its_files);
    tcase_add_test(tc, test_a_connection_that_closes_ends_its_session_with_core_exit);
    tcase_add_test(tc, test_requests_from_a_client_that_already_closed_are_carried_out);
    tcase_add_test(
        tc, test_malformed_and_oversized_requests_get_errors_and_the_daemon_goes_on);
    tcase_add_test(tc, test_a_stalled_client_does_not_block_others);
    tcase_add_test(tc, test_status_and_metrics_report_counts_and_refusals);
    tcase_add_test(
        tc, test_a_watcher_that_reads_too_slowly_loses_the_oldest_events_and_is_told);
    tcase_add_test(
        tc,
        test_a_disallowed_uid_may_not_declare_sessions_but_may_read_status_if_allowed);
    tcase_add_test(tc,
                   test_the_daemon_refuses_to_start_on_a_bad_policy_or_a_busy_socket);
    tcase_add_test(tc, test_without_f_the_daemon_detaches_and_keeps_its_pidfile);
    tcase_add_test(tc,
                   test_the_client_library_times_out_on_a_daemon_that_does_not_answer);
    tcase_add_test(
        tc, test_the_client_reads_the_session_id_and_class_of_an_allow_and_no_more);
    tcase_add_test(tc, test_the_command_line_reads_a_running_daemon);
    tcase_add_test(tc, test_bans_are_made_listed_and_lifted_through_the_socket);
    tcase_add_test(tc, test_reload_says_which_listener_file_cannot_be_opened);
    tcase_add_test(tc, test_metrics_parse_as_prometheus_text_and_as_openmetrics);
    tcase_add_test(tc, test_ban_list_shows_no_control_byte_c1_included);
    tcase_add_test(
        tc, test_watch_refuses_a_pattern_no_event_has_and_json_lines_carry_a_time);
    tcase_add_test(tc, test_status_and_metrics_group_counts_by_server);
    tcase_add_test(tc, test_a_logins_groups_reach_the_ifgroup_blocks);
    tcase_add_test(tc, test_one_uid_cannot_hold_the_daemons_connections);
    tcase_add_test(tc, test_a_ban_list_of_twenty_thousand_bans_is_listed_whole);
    tcase_add_test(tc,
                   test_checking_as_the_daemons_user_finds_a_ban_table_it_cannot_write);
    tcase_add_test(tc, test_without_a_syslog_daemon_the_log_goes_to_standard_error);
    tcase_add_test(tc, test_bans_survive_a_restart_of_the_daemon);
    tcase_add_test(tc, test_only_the_administrators_may_list_or_change_bans);
    tcase_add_test(tc, test_the_daemon_logs_what_its_listeners_cannot_do);
    tcase_add_test(
        tc, test_a_session_let_in_while_the_daemon_was_away_is_declared_and_classified);
    tcase_add_test(tc, test_a_sessions_connection_carries_session_rights_only);
    tcase_add_test(tc, test_a_token_lets_a_session_declare_itself_whatever_its_uid);
    tcase_add_test(tc, test_with_n_the_daemons_own_uid_has_no_rights);
    tcase_add_test(tc, test_the_session_key_is_made_once_kept_private_and_checked);
    tcase_add_test(tc,
                   test_anonymous_logins_the_server_resolved_count_under_their_account);
    tcase_add_test(
        tc, test_with_p_the_daemon_stops_when_its_starter_dies_after_changing_user);
    tcase_add_test(tc, test_user_and_pass_in_one_round_trip);
    tcase_add_test(tc, test_the_answers_to_pipelined_requests_leave_together);
    tcase_add_test(tc, test_connect_in_two_halves);
    tcase_add_test(tc, test_login_in_two_halves_and_logout);
    tcase_add_test(tc, test_ten_thousand_user_names_from_one_host_leave_nothing_behind);
    tcase_add_test(tc, test_sigpipe_and_clients_that_vanish_mid_reply_are_not_fatal);
    tcase_add_test(tc,
                   test_sigusr1_opens_the_log_and_jsonl_files_again_after_logrotate);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    return run_suite(daemon_suite()) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
