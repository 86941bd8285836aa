/*
 * ban.c - `ftplimit ban list|add|remove`: the bans of a running ftplimitd.
 *
 * The daemon allows it to the uids and groups of AllowAdmin only. A target
 * goes on the wire %-encoded (a user name may hold a space); the message
 * runs to the end of the request line.
 */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ftplimit/client.h>
#include <ftplimit/ftplimit.h>

#include "cli.h"
#include "proto/request.h"
#include "util/text.h"

#define TIMEOUT_MS 5000
#define REQUEST_MAX 4000 /* under the protocol's 4096-byte line */

const char cli_ban_usage[] =
    "usage: ftplimit ban list [-s SOCKET] [--json]\n"
    "       ftplimit ban add host|user|class|user@host|network TARGET DURATION "
    "[MESSAGE] "
    "[--scope SERVER] [-s SOCKET]\n"
    "       ftplimit ban remove host|user|class|user@host|network TARGET [--scope "
    "SERVER] "
    "[-s SOCKET]\n"
    "DURATION is hh:mm:ss or a number of seconds, with an optional unit: 90, 30m, "
    "1h, 7d.\n"
    "SERVER is a server's name as `ftplimit status` shows it, or one of its "
    "ADDR:PORT;\nwithout --scope, add bans from every server and remove lifts "
    "the target's bans\nfrom every server and each.\n";

static int usage(void)
{
    fputs(cli_ban_usage, stderr);
    return EXIT_USAGE;
}

/* hh:mm:ss, or N with an optional s/m/h/d. Seconds, or -1. */
static long parse_duration(const char *text)
{
    unsigned h, m, s;
    char tail;
    if (sscanf(text, "%u:%u:%u%c", &h, &m, &s, &tail) == 3)
        return m < 60 && s < 60 && h <= 100000 ? (long)h * 3600 + m * 60 + s : -1;
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno != 0 || end == text || v <= 0 || text[0] == '-' || text[0] == '+')
        return -1;
    long unit = 1;
    if (*end != '\0') {
        const char *units = "smhd";
        const long factors[] = {1, 60, 3600, 86400};
        const char *u = strchr(units, *end);
        if (u == NULL || end[1] != '\0')
            return -1;
        unit = factors[u - units];
    }
    return v <= 100000L * 3600 / unit ? v * unit : -1;
}

/* The daemon refuses a message with a control byte. */
static bool has_control(const char *s)
{
    return fl_text_has_control(s, strlen(s));
}

/* A value from the daemon, printed without control bytes (util/text.h),
 * padded to width. */
static void print_safe(const char *s, int width)
{
    char buf[4096];
    printf("%-*s", width, fl_text_escape(s != NULL ? s : "", buf, sizeof buf));
}

static void print_remaining(long long s)
{
    char text[32];
    if (s >= 86400)
        snprintf(text, sizeof text, "%lldd%02lldh%02lldm", s / 86400, s / 3600 % 24,
                 s / 60 % 60);
    else
        snprintf(text, sizeof text, "%02lld:%02lld:%02lld", s / 3600, s / 60 % 60,
                 s % 60);
    printf(" %10s ", text);
}

static void print_bans(json_t *doc)
{
    json_t *bans = json_object_get(doc, "bans");
    if (json_array_size(bans) == 0) {
        printf("no bans\n");
        return;
    }
    int width = 6;
    size_t i;
    json_t *b;
    json_array_foreach(bans, i, b)
    {
        int len = (int)strlen(json_string_value(json_object_get(b, "target")));
        if (len > width)
            width = len > 48 ? 48 : len;
    }
    int swidth = 6;
    json_array_foreach(bans, i, b)
    {
        const char *server = json_string_value(json_object_get(b, "server"));
        int len = server != NULL ? (int)strlen(server) : 1;
        if (len > swidth)
            swidth = len > 40 ? 40 : len;
    }
    bool firewall = json_is_true(json_object_get(doc, "firewall"));
    printf("%-9s %-*s %-*s %10s  %s%-24s %s\n", "KIND", width, "TARGET", swidth,
           "SERVER", "REMAINING", firewall ? "KERNEL " : "", "REASON", "MESSAGE");
    json_array_foreach(bans, i, b)
    {
        const char *server = json_string_value(json_object_get(b, "server"));
        printf("%-9s ", json_string_value(json_object_get(b, "kind")));
        print_safe(json_string_value(json_object_get(b, "target")), width);
        putchar(' ');
        print_safe(server != NULL ? server : "*", swidth); /* *: every server */
        print_remaining(json_integer_value(json_object_get(b, "remaining")));
        if (firewall)
            printf("%-6s ",
                   json_is_true(json_object_get(b, "in_kernel")) ? "yes" : "no");
        print_safe(json_string_value(json_object_get(b, "reason")), 24);
        putchar(' ');
        print_safe(json_string_value(json_object_get(b, "message")), 0);
        putchar('\n');
    }
}

int cmd_ban(int argc, char **argv)
{
    const char *socket = FL_DEFAULT_SOCKET, *pos[5], *scope = NULL;
    int npos = 0;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
            socket = argv[++i];
        else if (strcmp(argv[i], "--scope") == 0 && i + 1 < argc && argv[i + 1][0])
            scope = argv[++i];
        else if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (npos < 5)
            pos[npos++] = argv[i];
        else
            return usage();
    }
    if (npos == 0)
        return usage();

    char request[REQUEST_MAX + 64];
    struct fl_request r = {.verb = FL_VERB_BAN, .ban_op = FL_BAN_LIST};
    const char *op = pos[0];
    if (scope != NULL && (has_control(scope) || strlen(scope) > 1000)) {
        fprintf(stderr, "ftplimit: the server must be 1 to 1000 bytes of text\n");
        return EXIT_USAGE;
    }
    r.server_name = scope;
    if (strcmp(op, "list") == 0 && npos == 1 && scope == NULL) {
        r.ban_op = FL_BAN_LIST;
    } else if ((strcmp(op, "add") == 0 && (npos == 4 || npos == 5)) ||
               (strcmp(op, "remove") == 0 && npos == 3)) {
        if (fl_ban_kind_parse(pos[1], &r.ban_kind) < 0) {
            fprintf(stderr,
                    "ftplimit: '%s' is not a ban kind (host, user, class, user@host, "
                    "network)\n",
                    pos[1]);
            return EXIT_USAGE;
        }
        if (pos[2][0] == '\0' || strlen(pos[2]) > 1000) {
            fprintf(stderr, "ftplimit: the target must be 1 to 1000 bytes\n");
            return EXIT_USAGE;
        }
        r.target = pos[2];
        if (op[0] == 'r') {
            r.ban_op = FL_BAN_REMOVE;
        } else {
            long seconds = parse_duration(pos[3]);
            if (seconds < 1) {
                fprintf(stderr,
                        "ftplimit: bad duration '%s' (hh:mm:ss, or seconds such as 90, "
                        "30m, 1h, 7d)\n",
                        pos[3]);
                return EXIT_USAGE;
            }
            const char *message = npos == 5 ? pos[4] : NULL;
            if (message != NULL && (has_control(message) || message[0] == '\0' ||
                                    strlen(message) > 1000)) {
                fprintf(stderr,
                        "ftplimit: the message must be 1 to 1000 bytes of text on "
                        "one line\n");
                return EXIT_USAGE;
            }
            r.ban_op = FL_BAN_ADD;
            r.ban_seconds = seconds;
            r.message = message;
        }
    } else {
        return usage();
    }
    if (fl_request_format(&r, request, sizeof request) < 0) {
        fprintf(stderr,
                "ftplimit: the request does not fit on one line of the protocol\n");
        return EXIT_USAGE;
    }

    fl_client *c = fl_client_open(socket, TIMEOUT_MS);
    if (c == NULL) {
        fprintf(stderr, "ftplimit: cannot reach ftplimitd at %s: %s\n", socket,
                fl_strerror(errno));
        return EXIT_PROBLEM;
    }
    char *out = NULL;
    int rc = fl_client_command(c, request, &out, NULL);
    if (rc < 0) {
        const char *why = fl_client_error(c);
        fprintf(stderr, "ftplimit: ban %s failed: %s\n", op,
                why[0] ? why : fl_strerror(errno));
        fl_client_free(c);
        return EXIT_PROBLEM;
    }
    fl_client_free(c);

    if (op[0] != 'l') {
        printf("%s\n", out);
    } else if (json) {
        printf("%s\n", out);
    } else {
        json_t *doc = json_loads(out, 0, NULL);
        if (doc == NULL) {
            fprintf(stderr, "ftplimit: the daemon's ban list is not JSON\n");
            rc = -1;
        } else {
            print_bans(doc);
            json_decref(doc);
        }
    }
    free(out);
    return rc < 0 ? EXIT_PROBLEM : EXIT_OK;
}
