/*
 * simulate.c - `ftplimit simulate POLICY [TRACE]`: replay a trace through the
 * engine on a virtual clock and print what it decides, as JSON Lines.
 *
 * For each trace line: one object per event the operation generated (a
 * listener on every known event prints them as they happen), then one
 * object for the operation itself. Lifecycle events at start and end carry
 * "line":0. See doc/simulate.md.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ftplimit/ftplimit.h>
#include <ftplimit/json.h>

#include "cli.h"
#include "util/addr.h"
#include "trace.h"

struct sim {
    fl_engine *e;
    fl_vclock clock;
    long line;
    int errors;
};

struct sim_listener {
    struct sim *sim;
    const char *event;
};

static void print_object(json_t *obj)
{
    char *text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (text != NULL) {
        puts(text);
        free(text);
    }
    json_decref(obj);
}

static json_t *line_object(const struct sim *s)
{
    json_t *obj = json_object();
    json_object_set_new(obj, "line", json_integer(s->line));
    return obj;
}

static void on_event(const void *event_data, void *user_data)
{
    const struct sim_listener *l = user_data;
    json_t *obj = line_object(l->sim);
    fl_json_add_event(obj, l->event, event_data);
    print_object(obj);
}

static void print_error(struct sim *s, const char *msg)
{
    json_t *obj = line_object(s);
    json_object_set_new(obj, "error", fl_json_string(msg));
    print_object(obj);
    s->errors++;
}

static void print_decision(struct sim *s, const char *op, const char *sid,
                           const fl_decision *d)
{
    json_t *obj = line_object(s);
    json_object_set_new(obj, "op", json_string(op));
    json_object_set_new(obj, "sid", fl_json_string(sid));
    json_object_set_new(obj, "verdict", json_string(fl_verdict_name(d->verdict)));
    if (d->would != d->verdict) {
        json_object_set_new(obj, "would", json_string(fl_verdict_name(d->would)));
        json_object_set_new(obj, "dry_run", json_true());
    }
    if (d->would != FL_ALLOW) {
        if (d->limit != NULL)
            json_object_set_new(obj, "limit", json_string(d->limit));
        json_object_set_new(obj, "code", json_integer(d->code));
        json_object_set_new(obj, "message", fl_json_string(d->message));
    }
    print_object(obj);
}

/* An operation the engine refused to apply, as "session SID: why". */
static void print_engine_error(struct sim *s, const char *sid, int err, bool connecting)
{
    const char *why;
    switch (err) {
    case EEXIST:
        why = "already exists";
        break;
    case EISCONN:
        why = "already logged in";
        break;
    case EPROTO:
        why = "pass before user";
        break;
    case ESHUTDOWN:
        why = "the engine is shut down";
        break;
    case ENOMEM:
        why = "out of memory";
        break;
    case ENOENT:
        why = "unknown session";
        break;
    default:
        why = connecting
                  ? "invalid session id or DNS name (an id is 1 to 64 printable "
                    "characters without spaces; ids of the form c<digits> are the "
                    "engine's own)"
                  : "invalid argument (empty, too long, or bad characters)";
        break;
    }
    char msg[512];
    snprintf(msg, sizeof msg, "session %.*s: %s", FL_SID_MAX + 1, sid, why);
    print_error(s, msg);
}

struct reload_errors {
    char text[2048];
};

static void collect_error(void *arg, const char *message)
{
    struct reload_errors *r = arg;
    size_t len = strlen(r->text);
    snprintf(r->text + len, sizeof r->text - len, "%s%s", len > 0 ? "; " : "", message);
}

/* ban KIND TARGET SECONDS [MESSAGE], unban KIND TARGET: what an
 * administrator does with `ftplimit ban`. */
static void run_ban(struct sim *s, const struct trace_op *op)
{
    fl_ban_kind kind;
    char msg[256];
    if (fl_ban_kind_parse(op->kind, &kind) < 0) {
        snprintf(msg, sizeof msg,
                 "'%.32s' is not a ban kind (host, user, class, user@host)", op->kind);
        print_error(s, msg);
        return;
    }
    int rc = op->verb == TRACE_BAN
                 ? fl_ban_add(s->e, kind, op->target, op->server,
                              op->seconds * FL_USEC_PER_SEC, op->message)
                 : fl_ban_remove(s->e, kind, op->target, op->server);
    if (rc < 0) {
        snprintf(msg, sizeof msg, "%s %s: %s", op->verb == TRACE_BAN ? "ban" : "unban",
                 op->kind,
                 errno == ENOENT
                     ? (op->verb == TRACE_BAN ? "no such server" : "no such ban")
                 : errno == EPERM  ? "the target is in BanExempt"
                 : errno == ENOSPC ? "the ban table is full (MaxTrackedHosts)"
                 : errno == EEXIST ? "the network overlaps another network banned on "
                                     "that server"
                 : errno == EINVAL ? "bad target (a host is an address; user@host is "
                                     "user@address; a network ADDRESS/LEN)"
                                   : "out of memory");
        print_error(s, msg);
        return;
    }
    json_t *obj = line_object(s);
    json_object_set_new(obj, "op",
                        json_string(op->verb == TRACE_BAN ? "ban" : "unban"));
    json_object_set_new(obj, "ban", json_string(fl_ban_kind_name(kind)));
    json_object_set_new(obj, "target", fl_json_string(op->target));
    if (op->server != NULL)
        json_object_set_new(obj, "server", fl_json_string(op->server));
    if (op->verb == TRACE_BAN)
        json_object_set_new(obj, "duration", json_integer(op->seconds));
    print_object(obj);
}

/* groups=G1,G2,...: the groups of the user of the USER, for <IfGroup>. */
static int user_groups(struct sim *s, fl_session *sess, char *list)
{
    const char *names[FL_GROUPS_MAX];
    size_t n = 0;
    for (char *g; (g = strsep(&list, ",")) != NULL;) {
        if (n == FL_GROUPS_MAX) {
            errno = EINVAL;
            return -1;
        }
        names[n++] = g;
    }
    return fl_user_groups(s->e, sess, names, n);
}

static void run_op(struct sim *s, const struct trace_op *op)
{
    fl_decision d;
    fl_session *sess = NULL;

    if (op->verb == TRACE_RELOAD) {
        struct reload_errors errs = {{0}};
        if (fl_engine_reload(s->e, op->policy, collect_error, &errs) < 0) {
            char msg[2200];
            snprintf(msg, sizeof msg, "reload failed, the old policy stays: %s",
                     errs.text);
            print_error(s, msg);
            return;
        }
        json_t *obj = line_object(s);
        json_object_set_new(obj, "op", json_string("reload"));
        json_object_set_new(obj, "policy", fl_json_string(fl_engine_policy_path(s->e)));
        print_object(obj);
        return;
    }

    if (op->verb == TRACE_BAN || op->verb == TRACE_UNBAN) {
        run_ban(s, op);
        return;
    }
    if (op->verb == TRACE_TICK) {
        json_t *obj = line_object(s);
        json_object_set_new(obj, "op", json_string("tick"));
        print_object(obj);
        return;
    }

    if (op->verb == TRACE_CONNECT) {
        fl_endpoint server;
        fl_connect_info ci = {.sid = op->sid, .dns_name = op->dns_name};
        if (fl_addr_parse(op->address, &ci.addr) < 0) {
            char msg[128];
            snprintf(msg, sizeof msg, "bad address '%.64s'", op->address);
            print_error(s, msg);
            return;
        }
        if (op->server != NULL) {
            if (fl_endpoint_parse(op->server, &server) < 0) {
                char msg[160];
                snprintf(msg, sizeof msg,
                         "bad server '%.64s' (ADDR:PORT, [ADDR]:PORT for IPv6)",
                         op->server);
                print_error(s, msg);
                return;
            }
            ci.server = &server;
        }
        if (fl_connect(s->e, &ci, &sess, &d) < 0)
            print_engine_error(s, op->sid, errno, true);
        else
            print_decision(s, "connect", op->sid, &d);
        return;
    }

    sess = fl_session_find(s->e, op->sid);
    if (sess == NULL) {
        print_engine_error(s, op->sid, ENOENT, false);
        return;
    }
    switch (op->verb) {
    case TRACE_USER:
        if ((op->resolved ? fl_user_resolved(s->e, sess, op->user, op->account, &d)
                          : fl_user(s->e, sess, op->user, &d)) < 0 ||
            (op->groups != NULL && user_groups(s, sess, op->groups) < 0))
            print_engine_error(s, op->sid, errno, false);
        else
            print_decision(s, "user", op->sid, &d);
        break;
    case TRACE_PASS:
        if (fl_pass(s->e, sess, op->ok, op->password, &d) < 0)
            print_engine_error(s, op->sid, errno, false);
        else
            print_decision(s, "pass", op->sid, &d);
        break;
    case TRACE_CLOSE: {
        fl_close(s->e, sess);
        json_t *obj = line_object(s);
        json_object_set_new(obj, "op", json_string("close"));
        json_object_set_new(obj, "sid", fl_json_string(op->sid));
        print_object(obj);
        break;
    }
    default:
        break;
    }
}

static void replay(struct sim *s, FILE *in)
{
    char *buf = NULL;
    size_t cap = 0;
    ssize_t n;
    long lineno = 0;
    fl_usec last = 0;

    while ((n = getline(&buf, &cap, in)) >= 0) {
        s->line = ++lineno;
        struct trace_op op;
        char err[256];
        int rc = trace_parse_line(buf, (size_t)n, &op, err, sizeof err);
        if (rc == 0)
            continue;
        if (rc < 0) {
            print_error(s, err);
            continue;
        }
        if (op.time < last) {
            print_error(s, "time goes backwards (times must not decrease)");
            continue;
        }
        last = op.time;
        s->clock.now = op.time;
        fl_timers_run(s->e);
        run_op(s, &op);
    }
    free(buf);
}

/* What the engine reports (a listener that cannot write its file ...). */
static void log_stderr(void *arg, int priority, const char *msg)
{
    (void)arg;
    (void)priority;
    fprintf(stderr, "ftplimit: %s\n", msg);
}

int cmd_simulate(int argc, char **argv)
{
    bool listeners_on = argc > 1 && strcmp(argv[1], "--listeners") == 0;
    if (listeners_on) {
        argc--;
        argv++;
    }
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: ftplimit simulate [--listeners] POLICY [TRACE]\n");
        return EXIT_USAGE;
    }
    FILE *in = stdin;
    if (argc == 3 && strcmp(argv[2], "-") != 0) {
        in = fopen(argv[2], "r");
        if (in == NULL) {
            fprintf(stderr, "ftplimit: cannot read trace '%s': %s\n", argv[2],
                    strerror(errno));
            return EXIT_USAGE;
        }
    }

    struct sim s = {.line = 0};
    /* The policy's OnEvent listeners run only when asked; its BanTable is
     * never touched (the clock is virtual, the bans imaginary). */
    fl_engine_options opts = {.clock = fl_vclock_read,
                              .clock_arg = &s.clock,
                              .no_alerts = !listeners_on,
                              .no_ban_table = true,
                              .no_firewall = true};
    s.e = fl_engine_new(&opts);
    if (s.e == NULL) {
        perror("ftplimit: cannot create an engine");
        if (in != stdin)
            fclose(in);
        return EXIT_USAGE;
    }

    fl_engine_set_log(s.e, log_stderr, NULL);

    const char *const *names = fl_event_names();
    size_t nnames = 0;
    while (names[nnames] != NULL)
        nnames++;
    struct sim_listener *listeners = calloc(nnames, sizeof *listeners);
    for (size_t i = 0; listeners != NULL && i < nnames; i++) {
        listeners[i] = (struct sim_listener){&s, names[i]};
        fl_event_register(s.e, NULL, names[i], on_event, &listeners[i]);
    }

    int policy_errors = 0;
    int rc = EXIT_OK;
    if (listeners == NULL) {
        fprintf(stderr, "ftplimit: out of memory\n");
        rc = EXIT_USAGE;
    } else if (fl_engine_load(s.e, argv[1], cli_print_error, &policy_errors) < 0) {
        fprintf(stderr, "%s: %d error%s\n", argv[1], policy_errors,
                policy_errors == 1 ? "" : "s");
        rc = EXIT_USAGE;
    } else {
        fl_engine_startup(s.e);
        replay(&s, in);
        s.line = 0;
        fl_engine_shutdown(s.e);
        rc = s.errors > 0 ? EXIT_PROBLEM : EXIT_OK;
    }

    fl_engine_free(s.e);
    free(listeners);
    if (in != stdin)
        fclose(in);
    return rc;
}
