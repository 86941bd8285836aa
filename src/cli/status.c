/*
 * status.c - the commands that talk to a running ftplimitd: status, metrics,
 * reload and watch.
 */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ftplimit/client.h>
#include <ftplimit/ftplimit.h>

#include "catalog/limits.h"
#include "cli.h"
#include "util/text.h"

#define TIMEOUT_MS 5000

struct daemon_args {
    const char *socket;
    const char *pattern; /* watch */
    bool json;
    bool openmetrics;   /* metrics */
    const char *server; /* status --scope: one server's tables */
};

/* -s SOCKET, --json, and (for watch) one PATTERN. */
static int parse_daemon_args(int argc, char **argv, bool takes_pattern,
                             struct daemon_args *a)
{
    *a = (struct daemon_args){.socket = FL_DEFAULT_SOCKET};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-s") == 0 && i + 1 < argc) {
            a->socket = argv[++i];
        } else if (strcmp(argv[i], "--json") == 0 && strcmp(argv[0], "metrics") != 0) {
            a->json = true;
        } else if (strcmp(argv[i], "--openmetrics") == 0 &&
                   strcmp(argv[0], "metrics") == 0) {
            a->openmetrics = true;
        } else if (strcmp(argv[i], "--scope") == 0 && i + 1 < argc &&
                   strcmp(argv[0], "status") == 0 && argv[i + 1][0] != '\0' &&
                   strpbrk(argv[i + 1], "\r\n") == NULL) {
            a->server = argv[++i];
        } else if (takes_pattern && a->pattern == NULL && argv[i][0] != '-') {
            a->pattern = argv[i];
        } else {
            fprintf(stderr, "usage: ftplimit %s%s [-s SOCKET]%s\n", argv[0],
                    takes_pattern ? " [PATTERN]" : "",
                    strcmp(argv[0], "reload") == 0    ? ""
                    : strcmp(argv[0], "metrics") == 0 ? " [--openmetrics]"
                    : strcmp(argv[0], "status") == 0  ? " [--scope SERVER] [--json]"
                                                      : " [--json]");
            return -1;
        }
    }
    return 0;
}

static fl_client *open_daemon(const char *socket)
{
    fl_client *c = fl_client_open(socket, TIMEOUT_MS);
    if (c == NULL)
        fprintf(stderr, "ftplimit: cannot reach ftplimitd at %s: %s\n", socket,
                fl_strerror(errno));
    return c;
}

/* Send one request and print or return its answer. */
static int daemon_command(const char *socket, const char *request, char **out)
{
    fl_client *c = open_daemon(socket);
    if (c == NULL)
        return EXIT_PROBLEM;
    size_t len;
    int rc = fl_client_command(c, request, out, &len);
    if (rc < 0) {
        const char *why = fl_client_error(c);
        fprintf(stderr, "ftplimit: %s failed: %s\n", request,
                why[0] ? why : fl_strerror(errno));
    }
    fl_client_free(c);
    return rc < 0 ? EXIT_PROBLEM : EXIT_OK;
}

static void print_limit(long long v, int width)
{
    if (v < 0)
        printf(" %*s", width, "-");
    else
        printf(" %*lld", width, v);
}

static long long num(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? json_integer_value(v) : -1;
}

/* One table of the status document: title, then the columns it has. */
static void print_table(json_t *doc, const char *key, const char *title)
{
    json_t *rows = json_object_get(doc, key);
    if (!json_is_array(rows) || json_array_size(rows) == 0)
        return;
    json_t *first = json_array_get(rows, 0);
    bool has_conns = json_object_get(first, "conns") != NULL;
    bool has_hosts = json_object_get(first, "hosts") != NULL;

    int width = (int)strlen(title);
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        int len = (int)strlen(json_string_value(json_object_get(row, "key")));
        if (len > width)
            width = len > 48 ? 48 : len;
    }
    printf("\n%-*s", width, title);
    if (has_conns)
        printf(" %7s %7s", "CONNS", "LIMIT");
    printf(" %7s %7s", "CLIENTS", "LIMIT");
    if (has_hosts)
        printf(" %7s %7s", "HOSTS", "LIMIT");
    printf("\n");
    json_array_foreach(rows, i, row)
    {
        printf("%-*.48s", width, json_string_value(json_object_get(row, "key")));
        if (has_conns) {
            printf(" %7lld", num(row, "conns"));
            print_limit(num(row, "conns_limit"), 7);
        }
        printf(" %7lld", num(row, "clients"));
        print_limit(num(row, "clients_limit"), 7);
        if (has_hosts) {
            printf(" %7lld", num(row, "hosts"));
            print_limit(num(row, "hosts_limit"), 7);
        }
        printf("\n");
    }
}

/* Cluster: the farm's connection and nodes, and each server's clients,
 * the farm's beside this node's. */
static void print_cluster(json_t *cl)
{
    if (cl == NULL)
        return;
    char buf[1024], node[160];
    bool up = json_is_true(json_object_get(cl, "up"));
    printf(
        "cluster %s: node %s, %s, fail %s",
        fl_text_escape(json_string_value(json_object_get(cl, "url")), buf, sizeof buf),
        fl_text_escape(json_string_value(json_object_get(cl, "node")), node,
                       sizeof node),
        up ? "connected" : "DISCONNECTED",
        json_string_value(json_object_get(cl, "fail_mode")));
    const char *err = json_string_value(json_object_get(cl, "last_error"));
    if (!up && err != NULL)
        printf(" (%s)", fl_text_escape(err, buf, sizeof buf));
    printf("\n");
    json_t *nodes = json_object_get(cl, "nodes");
    size_t i;
    json_t *n;
    printf("  live nodes %zu:", json_array_size(nodes));
    json_array_foreach(nodes, i, n)
    {
        printf(" %s", fl_text_escape(json_string_value(n), node, sizeof node));
    }
    printf("\n");
    const char *name;
    json_t *s;
    json_t *servers = json_object_get(cl, "servers");
    if (json_object_size(servers) > 0)
        printf("  %-32s %9s %9s\n", "SERVER", "CLIENTS", "(NODE)");
    json_object_foreach(servers, name, s)
    {
        printf("  %-32.48s %9lld %9lld\n", fl_text_escape(name, buf, sizeof buf),
               num(s, "clients"), num(s, "node_clients"));
    }
    printf("  round trips %lld, errors %lld, timeouts %lld, lease renewals %lld, "
           "declarations %lld\n",
           num(cl, "round_trips"), num(cl, "errors"), num(cl, "timeouts"),
           num(cl, "lease_renewals"), num(cl, "declarations"));
}

static void print_status(json_t *doc)
{
    json_t *totals = json_object_get(doc, "totals");
    json_t *limits = json_object_get(doc, "limits");
    long long up = num(doc, "uptime");
    printf("ftplimitd %s, policy %s, up %lldd %02lldh%02lldm%02llds\n",
           json_string_value(json_object_get(doc, "version")),
           json_string_value(json_object_get(doc, "policy")), up / 86400,
           up / 3600 % 24, up / 60 % 60, up % 60);
    const char *instances = fl_limit_descs[FL_L_MAX_INSTANCES].directive;
    const char *clients = fl_limit_descs[FL_L_CLIENTS].directive;
    printf("%-10s %8lld", "sessions", num(totals, "sessions"));
    print_limit(num(limits, instances), 8);
    printf("  (%s)\n%-10s %8lld", instances, "clients", num(totals, "clients"));
    print_limit(num(limits, clients), 8);
    printf("  (%s)\n", clients);
    printf("hosts %lld (idle %lld), users %lld, classes %lld, networks %lld, countries "
           "%lld, "
           "evictions %lld, daemon clients %lld, watchers %lld\n",
           num(totals, "hosts"), num(totals, "idle_hosts"), num(totals, "users"),
           num(totals, "classes"), num(totals, "networks"), num(totals, "countries"),
           num(totals, "evictions"), num(totals, "daemon_clients"),
           num(totals, "watchers"));

    json_t *fw = json_object_get(doc, "firewall");
    if (fw != NULL) {
        bool on = json_is_true(json_object_get(fw, "on"));
        printf("firewall: nftables table inet %s: %s, %lld host(s) in the kernel",
               json_string_value(json_object_get(fw, "table")), on ? "on" : "OFF",
               num(fw, "in_kernel"));
        if (!on) {
            const char *why = json_string_value(json_object_get(fw, "error"));
            char buf[1024];
            printf(" (%s; bans hold in ftplimitd alone)",
                   fl_text_escape(why != NULL ? why : "", buf, sizeof buf));
        }
        printf("\n");
    }
    print_cluster(json_object_get(doc, "cluster"));
    json_t *refusals = json_object_get(doc, "refusals");
    if (json_object_size(refusals) > 0) {
        printf("refused:");
        const char *limit;
        json_t *r;
        json_object_foreach(refusals, limit, r)
        {
            printf(" %s %lld", limit, num(r, "refused"));
            if (num(r, "dry_run") > 0)
                printf(" (+%lld in dry run)", num(r, "dry_run"));
            printf(",");
        }
        printf("\n");
    }
    /* Limits are counted per server: each one's counts, when there are
     * several, and whose tables follow when one was asked for. */
    json_t *servers = json_object_get(doc, "servers");
    const char *only = json_string_value(json_object_get(doc, "server"));
    if (json_array_size(servers) > 1 || only != NULL) {
        size_t i;
        json_t *srv;
        printf("\n%-40s %8s %8s %8s %8s %8s\n", "SERVER", "SESSIONS", "CLIENTS",
               "HOSTS", "USERS", "REFUSED");
        json_array_foreach(servers, i, srv)
        {
            long long refused = 0;
            const char *limit;
            json_t *r;
            json_object_foreach(json_object_get(srv, "refusals"), limit, r) refused +=
                num(r, "refused");
            printf("%-40.64s %8lld %8lld %8lld %8lld %8lld%s\n",
                   json_string_value(json_object_get(srv, "name")),
                   num(srv, "sessions"), num(srv, "clients"), num(srv, "hosts"),
                   num(srv, "users"), refused,
                   json_is_false(json_object_get(srv, "in_policy"))
                       ? "  (no longer in the policy)"
                       : "");
        }
    }
    if (only != NULL)
        printf("\nTables of server %s:\n", only);
    print_table(doc, "hosts", "HOST");
    print_table(doc, "users", "USER");
    print_table(doc, "classes", "CLASS");
    print_table(doc, "networks", "NETWORK");
    print_table(doc, "countries", "COUNTRY");
}

int cmd_status(int argc, char **argv)
{
    struct daemon_args a;
    if (parse_daemon_args(argc, argv, false, &a) < 0)
        return EXIT_USAGE;
    char *text = NULL, request[1024];
    snprintf(request, sizeof request, "STATUS%s%s", a.server != NULL ? " " : "",
             a.server != NULL ? a.server : "");
    int rc = daemon_command(a.socket, request, &text);
    if (rc != EXIT_OK)
        return rc;
    if (a.json) {
        printf("%s\n", text);
    } else {
        json_t *doc = json_loads(text, 0, NULL);
        if (doc == NULL) {
            fprintf(stderr, "ftplimit: the daemon's status is not JSON\n");
            rc = EXIT_PROBLEM;
        } else {
            print_status(doc);
            json_decref(doc);
        }
    }
    free(text);
    return rc;
}

/* The daemon's page (Prometheus text format 0.0.4) as OpenMetrics 1.0: a
 * counter's family is named without its _total (its samples keep it), and
 * the page ends with # EOF. */
static void print_openmetrics(char *text)
{
    for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        char *name = NULL;
        if (strncmp(line, "# TYPE ", 7) == 0 || strncmp(line, "# HELP ", 7) == 0)
            name = line + 7;
        size_t n = name != NULL ? strcspn(name, " ") : 0;
        if (n > 6 && strncmp(name + n - 6, "_total", 6) == 0)
            printf("%.*s%s\n", (int)(name - line + n - 6), line, name + n);
        else
            printf("%s\n", line);
    }
    printf("# EOF\n");
}

int cmd_metrics(int argc, char **argv)
{
    struct daemon_args a;
    if (parse_daemon_args(argc, argv, false, &a) < 0)
        return EXIT_USAGE;
    char *text = NULL;
    int rc = daemon_command(a.socket, "METRICS", &text);
    if (rc == EXIT_OK && a.openmetrics)
        print_openmetrics(text);
    else if (rc == EXIT_OK)
        fputs(text, stdout);
    free(text);
    return rc;
}

int cmd_reload(int argc, char **argv)
{
    struct daemon_args a;
    if (parse_daemon_args(argc, argv, false, &a) < 0)
        return EXIT_USAGE;
    char *text = NULL;
    int rc = daemon_command(a.socket, "RELOAD", &text);
    if (rc == EXIT_OK)
        printf("%s\n", text);
    free(text);
    return rc;
}

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
    (void)sig;
    interrupted = 1;
}

/* An event as one readable line: its name and fields, values escaped. */
/* An event as a JSON line, with "time": when it arrived, in seconds since
 * the epoch (the daemon sends events as they happen). */
static void print_event_json(const char *json_text)
{
    json_t *obj = json_loads(json_text, 0, NULL);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    char *text = NULL;
    if (json_is_object(obj) &&
        json_object_set_new(obj, "time",
                            json_real((double)now.tv_sec + now.tv_nsec / 1e9)) == 0)
        text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
    printf("%s\n", text != NULL ? text : json_text);
    free(text);
    json_decref(obj);
}

static void print_event_line(const char *json_text)
{
    json_t *obj = json_loads(json_text, 0, NULL);
    if (obj == NULL) {
        printf("%s\n", json_text);
        return;
    }
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(when, sizeof when, "%H:%M:%S", localtime_r(&now, &tm));
    printf("%s %s", when, json_string_value(json_object_get(obj, "event")));
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        if (strcmp(key, "event") == 0)
            continue;
        if (json_is_string(v)) {
            /* A value from a client: no control character reaches the
             * terminal. */
            char buf[4096];
            printf(" %s=%s", key,
                   fl_text_escape(json_string_value(v), buf, sizeof buf));
        } else {
            char *t = json_dumps(v, JSON_ENCODE_ANY);
            printf(" %s=%s", key, t ? t : "?");
            free(t);
        }
    }
    printf("\n");
    json_decref(obj);
}

int cmd_watch(int argc, char **argv)
{
    struct daemon_args a;
    if (parse_daemon_args(argc, argv, true, &a) < 0)
        return EXIT_USAGE;
    fl_client *c = open_daemon(a.socket);
    if (c == NULL)
        return EXIT_PROBLEM;
    if (fl_client_watch(c, a.pattern) < 0) {
        fprintf(stderr, "ftplimit: cannot watch: %s\n",
                fl_client_error(c)[0] ? fl_client_error(c) : fl_strerror(errno));
        fl_client_free(c);
        return EXIT_PROBLEM;
    }
    struct sigaction sa = {.sa_handler = on_interrupt};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    setvbuf(stdout, NULL, _IOLBF, 0);

    int rc = EXIT_OK;
    while (!interrupted) {
        char *line;
        if (fl_client_next_line(c, 1000, &line) < 0) {
            if (errno == ETIMEDOUT || errno == EINTR)
                continue;
            fprintf(stderr, "ftplimit: the daemon went away: %s\n", strerror(errno));
            rc = EXIT_PROBLEM;
            break;
        }
        if (strncmp(line, "EVENT ", 6) == 0) {
            if (a.json)
                print_event_json(line + 6);
            else
                print_event_line(line + 6);
        } else if (strncmp(line, "DROPPED ", 8) == 0) {
            if (a.json)
                printf("{\"dropped\":%s}\n", line + 8);
            else
                printf("(%s events were dropped: this watcher read too slowly)\n",
                       line + 8);
        }
        free(line);
    }
    fl_client_free(c);
    return rc;
}
