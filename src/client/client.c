/*
 * client.c - the client side of ftplimitd's protocol.
 *
 * Every call computes a deadline from the client's timeout and never blocks
 * past it: the socket is non-blocking and every wait is a poll() with the
 * time that is left. Writes use MSG_NOSIGNAL, so a daemon that went away is
 * an EPIPE for the caller, never a SIGPIPE that would kill it (a ProFTPD
 * session process, say). The client remembers its session (id, address,
 * class, user, login state) so that fl_client_resume can re-declare it to a
 * restarted daemon.
 */
#include "config.h"

#include <ftplimit/client.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "util/addr.h"
#include "util/alloc.h"
#include "util/text.h"
#include "proto/json_read.h"
#include "proto/reply.h"
#include "proto/request.h"

#define READ_BUF 16384

struct fl_client {
    int fd;
    char *path;
    int timeout_ms;
    size_t inlen;
    fl_client_event_fn on_event;
    void *on_event_arg;
    bool hello_unsent;      /* HELLO goes out with the first request */
    bool hello_pending;     /* HELLO sent, its answer not yet read */
    bool connect_pending;   /* fl_client_connect_start() sent, not finished */
    bool login_pending;     /* fl_client_login_start() sent, not finished */
    size_t pending_finals;  /* final lines the pending exchange awaits */
    bool login_ok;          /* ... with PASS ok */
    bool login_user_sent;   /* ... and a USER before it, for login_user */
    char *login_user;       /* ... for this user */
    char *login_account;    /* ... resolved to this anonymous account, or NULL */
    bool login_resolved;    /* ... by the server (USERAS) */
    bool login_groups_sent; /* ... and GROUPS before its PASS */
    char **groups;          /* fl_client_set_groups(): for the next login */
    size_t ngroups;
    long long deadline; /* of the exchange under way */

    /* The session, as needed to resume it. */
    bool in_session;
    char sid[FL_SID_MAX + 1];
    char cls[FL_CLASS_NAME_MAX + 1];
    char address[FL_ADDR_TEXT_MAX];
    char token[FL_TOKEN_LEN + 1]; /* "" for none */
    char *user;
    char *anon_account; /* logged in anonymously under this account */
    bool resolved;      /* the server resolved the USER name */
    bool authenticated;
    int failed;
    bool has_server;    /* fl_client_set_server() named ... */
    fl_endpoint server; /* ... the server the session's client reached */

    /* Last: a new client zeroes what is above and error's first byte, not
     * these 16 KiB (in a freshly forked session process, each page written
     * is a page fault). */
    char error[512];
    char in[READ_BUF];
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int remaining(long long deadline)
{
    long long left = deadline - now_ms();
    return left < 0 ? 0 : left > 0x7fffffff ? 0x7fffffff : (int)left;
}

/* Wait until fd is ready for events; -1/ETIMEDOUT at the deadline. */
static int wait_for(int fd, short events, long long deadline)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, remaining(deadline));
        if (n > 0)
            return 0;
        if (n == 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        if (errno != EINTR)
            return -1;
    }
}

static void disconnect(fl_client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->inlen = 0;
    c->hello_unsent = false;
    c->hello_pending = false;
    c->connect_pending = false;
    c->login_pending = false;
}

static int send_all(fl_client *c, const char *buf, size_t len, long long deadline)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n = send(c->fd, buf + off, len - off, MSG_NOSIGNAL);
        if (n > 0) {
            off += (size_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (wait_for(c->fd, POLLOUT, deadline) < 0)
                return -1;
        } else if (n < 0 && errno != EINTR) {
            return -1;
        }
    }
    return 0;
}

/* Read what the daemon sent, waiting for it first: a reply is never there
 * the instant a request is sent, so polling first spares a read that would
 * only say EAGAIN. */
static int fill(fl_client *c, long long deadline)
{
    for (;;) {
        if (wait_for(c->fd, POLLIN, deadline) < 0)
            return -1;
        ssize_t n = read(c->fd, c->in + c->inlen, sizeof c->in - c->inlen);
        if (n > 0) {
            c->inlen += (size_t)n;
            return 0;
        }
        if (n == 0) {
            errno = ECONNRESET;
            return -1;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return -1;
    }
}

/* The next line (without LF) into a malloc'd string. */
static int read_line(fl_client *c, long long deadline, char **line)
{
    for (;;) {
        char *lf = memchr(c->in, '\n', c->inlen);
        if (lf != NULL) {
            size_t len = (size_t)(lf - c->in);
            *line = fl_strndup(c->in, len);
            if (*line == NULL)
                return -1;
            c->inlen -= len + 1;
            memmove(c->in, lf + 1, c->inlen);
            return 0;
        }
        if (c->inlen == sizeof c->in) {
            errno = EPROTO;
            return -1;
        }
        if (fill(c, deadline) < 0)
            return -1;
    }
}

/* Exactly len bytes into a malloc'd, NUL-terminated buffer. */
static int read_exact(fl_client *c, size_t len, long long deadline, char **out)
{
    char *buf = fl_malloc(len + 1);
    if (buf == NULL)
        return -1;
    size_t got = c->inlen < len ? c->inlen : len;
    memcpy(buf, c->in, got);
    c->inlen -= got;
    memmove(c->in, c->in + got, c->inlen);
    while (got < len) {
        ssize_t n = read(c->fd, buf + got, len - got);
        if (n > 0) {
            got += (size_t)n;
        } else if (n == 0) {
            fl_free(buf);
            errno = ECONNRESET;
            return -1;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (wait_for(c->fd, POLLIN, deadline) < 0) {
                fl_free(buf);
                return -1;
            }
        } else if (errno != EINTR) {
            fl_free(buf);
            return -1;
        }
    }
    buf[len] = '\0';
    *out = buf;
    return 0;
}

#define EVENT_MEMBERS_MAX 32 /* an event has at most 15 */

static const char *json_str(const struct fl_json_member *m, int n, const char *key)
{
    const struct fl_json_member *v = fl_json_member_get(m, n, key);
    return v != NULL && v->type == FL_JSON_STRING ? v->str : NULL;
}

static long long json_num(const struct fl_json_member *m, int n, const char *key)
{
    const struct fl_json_member *v = fl_json_member_get(m, n, key);
    return v != NULL && v->type == FL_JSON_INTEGER ? v->num : -1;
}

/* "EVENT {json}": hand it to the caller's handler. json_text is the line
 * read_line allocated, decoded in place. */
static void deliver_event(fl_client *c, char *json_text)
{
    if (c->on_event == NULL)
        return;
    struct fl_json_member m[EVENT_MEMBERS_MAX];
    int n = fl_json_read_flat(json_text, m, EVENT_MEMBERS_MAX);
    const char *event = n > 0 ? json_str(m, n, "event") : NULL;
    if (event == NULL)
        return;
    long long asn = json_num(m, n, "asn");
    const struct fl_json_member *dry_run = fl_json_member_get(m, n, "dry_run");
    fl_event_info info = {
        .event = event,
        .sid = json_str(m, n, "sid"),
        .address = json_str(m, n, "address"),
        .user = json_str(m, n, "user"),
        .class_name = json_str(m, n, "class"),
        .server = json_str(m, n, "server"),
        .limit = json_str(m, n, "limit"),
        .max = json_num(m, n, "max"),
        .count = json_num(m, n, "count"),
        .dry_run = dry_run != NULL && dry_run->type == FL_JSON_TRUE,
        .country = json_str(m, n, "country"),
        .asn = asn > 0 && asn <= UINT32_MAX ? (uint32_t)asn : 0,
        .ban = json_str(m, n, "ban"),
        .target = json_str(m, n, "target"),
        .duration = json_num(m, n, "duration"),
    };
    bool has_info = info.sid != NULL || info.ban != NULL;
    c->on_event(c->on_event_arg, event, has_info ? &info : NULL);
}

/* "ERR reason text": keep the words, set errno. */
static int take_error(fl_client *c, const char *line)
{
    const char *reason = line + 4;
    size_t rlen = strcspn(reason, " ");
    snprintf(c->error, sizeof c->error, "%.*s: %s", (int)rlen, reason,
             reason[rlen] == ' ' ? reason + rlen + 1 : "");
    errno = fl_reply_errno_of(reason, rlen);
    return -1;
}

/* The answer to HELLO, if it is still to be read: HELLO goes out with the
 * first request (see send_lines), which spares a session one round trip. */
static int hello_receive(fl_client *c, long long deadline)
{
    if (!c->hello_pending)
        return 0;
    char *reply;
    if (read_line(c, deadline, &reply) < 0)
        return -1;
    c->hello_pending = false;
    bool ok = strncmp(reply, "OK ", 3) == 0;
    if (!ok && strncmp(reply, "ERR ", 4) == 0)
        take_error(c, reply);
    fl_free(reply);
    if (!ok) {
        errno = EPROTO;
        return -1;
    }
    return 0;
}

/* Send the requests (one line each, LF added), in one write. The exchange's
 * deadline starts now. */
static int send_lines(fl_client *c, const char *const *requests, size_t n)
{
    c->deadline = now_ms() + c->timeout_ms;
    c->error[0] = '\0';
    if (c->fd < 0) {
        errno = ENOTCONN;
        return -1;
    }
    if (c->connect_pending || c->login_pending) {
        errno = EINPROGRESS; /* the matching _finish() first */
        return -1;
    }
    /* All the lines in one write, after a HELLO not yet sent: one round
     * trip for all of them. */
    char hello[32] = "";
    struct fl_request r = {.verb = FL_VERB_HELLO, .version = FL_PROTOCOL_VERSION};
    int hn = c->hello_unsent ? fl_request_format(&r, hello, sizeof hello - 1) : 0;
    if (hn > 0) {
        hello[hn] = '\n';
        hello[hn + 1] = '\0';
    }
    size_t len = strlen(hello);
    for (size_t i = 0; i < n; i++)
        len += strlen(requests[i]) + 1;
    char *text = fl_malloc(len), *o = text;
    if (text == NULL)
        return -1;
    memcpy(o, hello, strlen(hello));
    o += strlen(hello);
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(requests[i]);
        memcpy(o, requests[i], l);
        o[l] = '\n';
        o += l + 1;
    }
    int rc = send_all(c, text, len, c->deadline);
    fl_free(text);
    if (rc < 0) {
        int saved = errno;
        disconnect(c); /* part of a line may have gone out */
        errno = saved;
        return -1;
    }
    if (c->hello_unsent) {
        c->hello_unsent = false;
        c->hello_pending = true;
    }
    return 0;
}

/* Read the n final lines that answer the requests sent, handing EVENT lines
 * to the handler. The final lines are returned malloc'd; an ERR is turned
 * into -1 with errno (the first one, if several). */
static int receive_finals(fl_client *c, size_t n, char **finals)
{
    long long deadline = c->deadline;
    if (hello_receive(c, deadline) < 0)
        goto broken;
    int err = 0;
    for (size_t i = 0; i < n;) {
        char *reply;
        if (read_line(c, deadline, &reply) < 0) {
            for (size_t j = 0; j < i; j++)
                fl_free(finals[j]);
            goto broken;
        }
        if (strncmp(reply, "EVENT ", 6) == 0) {
            deliver_event(c, reply + 6);
            fl_free(reply);
            continue;
        }
        finals[i] = NULL;
        if (strncmp(reply, "ERR ", 4) == 0) {
            /* The first error is the one reported; the other replies are
             * still read, to keep the stream in step. */
            if (err == 0) {
                take_error(c, reply);
                err = errno;
            }
            fl_free(reply);
        } else {
            finals[i] = reply;
        }
        i++;
    }
    if (err != 0) {
        for (size_t i = 0; i < n; i++)
            fl_free(finals[i]);
        errno = err;
        return -1;
    }
    return 0;
broken:;
    /* A timed-out or broken exchange leaves the stream out of step. */
    int saved = errno;
    disconnect(c);
    errno = saved;
    return -1;
}

/* The final lines of the exchange a _start function sent, when one is
 * pending (else -1/EINVAL). */
static int finish_pending(fl_client *c, bool *pending, size_t n, char **finals)
{
    if (!*pending) {
        errno = EINVAL;
        return -1;
    }
    *pending = false;
    /* Sent a while ago, the answer is usually there: read it without the
     * poll() that fill() starts with (an error or EOF shows there again). */
    if (c->fd >= 0 && c->inlen < sizeof c->in) {
        ssize_t got = read(c->fd, c->in + c->inlen, sizeof c->in - c->inlen);
        if (got > 0)
            c->inlen += (size_t)got;
    }
    return receive_finals(c, n, finals);
}

/* Requests sent, and their final lines read: one round trip. */
static int transact_lines(fl_client *c, const char *const *requests, size_t n,
                          char **finals)
{
    if (send_lines(c, requests, n) < 0)
        return -1;
    return receive_finals(c, n, finals);
}

static int transact(fl_client *c, const char *request, char **final)
{
    return transact_lines(c, &request, 1, final);
}

static int dial(fl_client *c)
{
    long long deadline = now_ms() + c->timeout_ms;
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    if (strlen(c->path) >= sizeof sun.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(sun.sun_path, c->path, strlen(c->path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    /* A Unix socket connects at once, or says EAGAIN when the daemon's
     * backlog is full: try again until the deadline. */
    while (connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
        if (errno != EAGAIN && errno != EINTR) {
            /* No socket file, or nobody listening on it: both are "no
             * daemon" (ENOENT means "no such thing" across the library). */
            int saved = errno == ENOENT ? ECONNREFUSED : errno;
            close(fd);
            errno = saved;
            return -1;
        }
        if (remaining(deadline) == 0) {
            close(fd);
            errno = ETIMEDOUT;
            return -1;
        }
        struct timespec pause = {0, 1000000};
        nanosleep(&pause, NULL);
    }
    c->fd = fd;
    c->inlen = 0;
    c->hello_unsent = true;
    return 0;
}

fl_client *fl_client_open(const char *path, int timeout_ms)
{
    if (path == NULL || timeout_ms <= 0) {
        errno = EINVAL;
        return NULL;
    }
    fl_client *c = fl_malloc(sizeof *c);
    if (c == NULL)
        return NULL;
    memset(c, 0, offsetof(fl_client, error));
    c->error[0] = '\0';
    c->fd = -1;
    c->timeout_ms = timeout_ms;
    c->path = fl_strdup(path);
    if (c->path == NULL || dial(c) < 0) {
        int saved = errno;
        fl_free(c->path);
        fl_free(c);
        errno = saved;
        return NULL;
    }
    return c;
}

static void groups_forget(fl_client *c)
{
    for (size_t i = 0; i < c->ngroups; i++)
        fl_free(c->groups[i]);
    fl_free(c->groups);
    c->groups = NULL;
    c->ngroups = 0;
}

int fl_client_set_groups(fl_client *c, const char *const *groups, size_t n)
{
    if (c == NULL || n > FL_GROUPS_MAX || (n > 0 && groups == NULL)) {
        errno = EINVAL;
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        size_t len = groups[i] != NULL ? strnlen(groups[i], FL_USER_MAX + 1) : 0;
        if (len == 0 || len > FL_USER_MAX || fl_text_has_control(groups[i], len)) {
            errno = EINVAL;
            return -1;
        }
    }
    char **copy = n > 0 ? fl_calloc(n, sizeof *copy) : NULL;
    if (n > 0 && copy == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if ((copy[i] = fl_strdup(groups[i])) == NULL) {
            while (i-- > 0)
                fl_free(copy[i]);
            fl_free(copy);
            return -1;
        }
    }
    groups_forget(c);
    c->groups = copy;
    c->ngroups = n;
    return 0;
}

void fl_client_free(fl_client *c)
{
    if (c == NULL)
        return;
    disconnect(c);
    explicit_bzero(c->token, sizeof c->token);
    fl_free(c->user);
    fl_free(c->anon_account);
    fl_free(c->login_user);
    fl_free(c->login_account);
    groups_forget(c);
    fl_free(c->path);
    fl_free(c);
}

void fl_client_on_event(fl_client *c, fl_client_event_fn fn, void *arg)
{
    c->on_event = fn;
    c->on_event_arg = arg;
}

int fl_client_fd(const fl_client *c)
{
    return c->fd;
}

const char *fl_client_sid(const fl_client *c)
{
    return c->in_session ? c->sid : NULL;
}

const char *fl_client_class(const fl_client *c)
{
    return c->in_session && c->cls[0] != '\0' ? c->cls : NULL;
}

const char *fl_client_error(const fl_client *c)
{
    return c->error;
}

/* "ALLOW ...", "REJECT code limit message", "DISCONNECT code limit message";
 * a DISCONNECT ends the session this client holds. */
static int parse_decision(fl_client *c, const char *line, fl_decision *d)
{
    if (fl_reply_decision_parse(line, d) < 0)
        return -1;
    if (d->verdict == FL_DISCONNECT) {
        c->in_session = false;
        disconnect(c);
    }
    return 0;
}

/* "TOKEN <hex>" into buf when the client has a token, for the CONNECT or
 * RESUME that follows it in one write: the number of lines (0 or 1). */
static size_t token_line(const fl_client *c, char *buf, size_t size)
{
    struct fl_request r = {.verb = FL_VERB_TOKEN, .token = c->token};
    if (c->token[0] == '\0' || fl_request_format(&r, buf, size) < 0)
        return 0;
    return 1;
}

/* A request of the session's, after its TOKEN if any, in one write; the
 * replies are read by finish_session_request. */
static int send_session_request(fl_client *c, const char *request)
{
    char token[FL_TOKEN_LEN + 8];
    const char *lines[2];
    size_t n = token_line(c, token, sizeof token);
    if (n > 0)
        lines[0] = token;
    lines[n++] = request;
    if (send_lines(c, lines, n) < 0)
        return -1;
    c->pending_finals = n;
    return 0;
}

/* The final line of the session request sent, the TOKEN's OK before it
 * read and dropped. */
static int finish_session_request(fl_client *c, bool *pending, char **reply)
{
    char *finals[2];
    size_t n = c->pending_finals;
    if (pending != NULL ? finish_pending(c, pending, n, finals) < 0
                        : receive_finals(c, n, finals) < 0)
        return -1;
    if (n == 2)
        fl_free(finals[0]);
    *reply = finals[n - 1];
    return 0;
}

int fl_client_connect_start(fl_client *c, const char *sid, const char *address,
                            const char *dns_name)
{
    fl_addr a;
    if (c == NULL || address == NULL || fl_addr_parse(address, &a) < 0 ||
        (sid != NULL && (strlen(sid) > FL_SID_MAX || strpbrk(sid, " \r\n") != NULL)) ||
        (dns_name != NULL &&
         (strlen(dns_name) > FL_DNSNAME_MAX || strpbrk(dns_name, " \r\n")))) {
        errno = EINVAL;
        return -1;
    }
    char request[512];
    struct fl_request r = {.verb = FL_VERB_CONNECT,
                           .sid = sid,
                           .addr = a,
                           .dns_name = dns_name,
                           .has_server = c->has_server,
                           .server = c->server};
    if (fl_request_format(&r, request, sizeof request) < 0)
        return -1;
    fl_addr_format(&a, c->address, sizeof c->address);
    if (send_session_request(c, request) < 0)
        return -1;
    c->connect_pending = true;
    return 0;
}

/* The space-separated word at *p into out (size bytes with its NUL), *p
 * moved past it: its length, or -1 if there is none or it does not fit. A
 * reply's ids and class names are checked here, in the session process's
 * path to its banner, without sscanf's cost. */
static int take_word(const char **p, char *out, size_t size)
{
    const char *w = *p + strspn(*p, " ");
    size_t n = strcspn(w, " ");
    *p = w;
    if (n == 0 || n >= size)
        return -1;
    memcpy(out, w, n);
    out[n] = '\0';
    *p = w + n;
    return (int)n;
}

/* A fresh session's login state: nobody logged in, nothing failed. */
static void session_reset_login(fl_client *c)
{
    c->authenticated = false;
    c->resolved = false;
    c->failed = 0;
    fl_free(c->anon_account);
    c->anon_account = NULL;
}

int fl_client_connect_finish(fl_client *c, fl_decision *d)
{
    char *reply;
    if (c == NULL || d == NULL ||
        finish_session_request(c, &c->connect_pending, &reply) < 0)
        return -1;
    int rc = parse_decision(c, reply, d);
    if (rc == 0 && d->verdict == FL_ALLOW) {
        /* ALLOW <sid> [<class|->] */
        const char *p = reply + 5;
        char got_sid[FL_SID_MAX + 1], got_cls[FL_CLASS_NAME_MAX + 1] = "-";
        int sid_len = take_word(&p, got_sid, sizeof got_sid);
        if (sid_len < 0 || (take_word(&p, got_cls, sizeof got_cls) < 0 && *p != '\0')) {
            fl_free(reply);
            errno = EPROTO;
            return -1;
        }
        c->in_session = true;
        memcpy(c->sid, got_sid, (size_t)sid_len + 1);
        snprintf(c->cls, sizeof c->cls, "%s", strcmp(got_cls, "-") == 0 ? "" : got_cls);
        session_reset_login(c);
    }
    fl_free(reply);
    return rc;
}

int fl_client_connect(fl_client *c, const char *sid, const char *address,
                      const char *dns_name, fl_decision *d)
{
    if (d == NULL) {
        errno = EINVAL;
        return -1;
    }
    if (fl_client_connect_start(c, sid, address, dns_name) < 0)
        return -1;
    return fl_client_connect_finish(c, d);
}

/* A user name or account the protocol can carry: 1 to FL_USER_MAX bytes,
 * no CR or LF; an account no space either (it is a field). */
static bool name_valid(const char *name, bool field)
{
    return name != NULL && name[0] != '\0' && strlen(name) <= FL_USER_MAX &&
           strpbrk(name, field ? " \r\n" : "\r\n") == NULL;
}

static bool password_valid(const char *password)
{
    return password == NULL ||
           (strlen(password) <= FL_PASS_MAX && strpbrk(password, "\r\n") == NULL);
}

/* "USER name", or for a name the server resolved "USERAS account|- name". */
static int user_line(char *buf, size_t size, const char *user, bool resolved,
                     const char *account)
{
    struct fl_request r = {.verb = resolved ? FL_VERB_USERAS : FL_VERB_USER,
                           .user = user,
                           .account = account};
    return fl_request_format(&r, buf, size);
}

/* "PASS ok|bad [password]". */
static int pass_line(char *buf, size_t size, bool ok, const char *password)
{
    struct fl_request r = {.verb = FL_VERB_PASS, .ok = ok, .password = password};
    return fl_request_format(&r, buf, size);
}

/* The daemon took a USER: the name (and how it was resolved) to resume
 * with. */
static void took_user(fl_client *c, char **user, bool resolved)
{
    fl_free(c->user);
    c->user = *user;
    *user = NULL;
    c->resolved = resolved;
}

int fl_client_user(fl_client *c, const char *user, fl_decision *d)
{
    if (c == NULL || d == NULL || !name_valid(user, false)) {
        errno = EINVAL;
        return -1;
    }
    char request[FL_USER_MAX + 8], *reply;
    if (user_line(request, sizeof request, user, false, NULL) < 0 ||
        transact(c, request, &reply) < 0)
        return -1;
    int rc = parse_decision(c, reply, d);
    fl_free(reply);
    char *copy = rc == 0 ? fl_strdup(user) : NULL;
    if (copy != NULL)
        took_user(c, &copy, false);
    return rc;
}

/* What a PASS's decision changes in the session the client holds. */
static void pass_settled(fl_client *c, bool ok, const char *account,
                         const fl_decision *d)
{
    if (d->verdict == FL_ALLOW && ok) {
        c->authenticated = true;
        fl_free(c->anon_account);
        c->anon_account = account != NULL ? fl_strdup(account) : NULL;
    } else if (d->verdict == FL_REJECT) {
        c->failed++;
    }
}

int fl_client_pass(fl_client *c, bool ok, const char *password, fl_decision *d)
{
    if (c == NULL || d == NULL || !password_valid(password)) {
        errno = EINVAL;
        return -1;
    }
    char request[FL_PASS_MAX + 16], *reply;
    if (pass_line(request, sizeof request, ok, password) < 0 ||
        transact(c, request, &reply) < 0)
        return -1;
    int rc = parse_decision(c, reply, d);
    fl_free(reply);
    if (rc == 0)
        pass_settled(c, ok, NULL, d);
    return rc;
}

/* USER (unless user is NULL) and PASS, sent; fl_client_login_finish reads
 * the answers. */
static int login_start(fl_client *c, const char *user, bool resolved,
                       const char *account, bool ok, const char *password)
{
    if (c == NULL || (user != NULL && !name_valid(user, false)) ||
        (account != NULL && !name_valid(account, true)) || !password_valid(password)) {
        errno = EINVAL;
        return -1;
    }
    char *user_copy = user != NULL ? fl_strdup(user) : NULL;
    char *account_copy = account != NULL ? fl_strdup(account) : NULL;
    if ((user != NULL && user_copy == NULL) ||
        (account != NULL && account_copy == NULL)) {
        fl_free(user_copy);
        fl_free(account_copy);
        return -1;
    }
    char user_buf[2 * FL_USER_MAX + 16], pass_buf[FL_PASS_MAX + 16];
    char groups_buf[FL_PROTO_LINE_MAX];
    const char *requests[3];
    size_t n = 0;
    if (user != NULL)
        requests[n++] = user_buf;
    /* The user's groups, for <IfGroup>, once the server knows them: with a
     * PASS it accepted. */
    struct fl_request groups = {.verb = FL_VERB_GROUPS, .ngroups = c->ngroups};
    for (size_t i = 0; i < c->ngroups; i++)
        groups.groups[i] = c->groups[i];
    bool with_groups = ok && c->ngroups > 0 &&
                       fl_request_format(&groups, groups_buf, sizeof groups_buf) >= 0;
    if (with_groups)
        requests[n++] = groups_buf;
    requests[n++] = pass_buf;
    if ((user != NULL &&
         user_line(user_buf, sizeof user_buf, user, resolved, account) < 0) ||
        pass_line(pass_buf, sizeof pass_buf, ok, password) < 0 ||
        send_lines(c, requests, n) < 0) {
        fl_free(user_copy);
        fl_free(account_copy);
        return -1;
    }
    c->login_groups_sent = with_groups;
    groups_forget(c); /* each login says its own */
    fl_free(c->login_user);
    fl_free(c->login_account);
    c->login_user = user_copy;
    c->login_account = account_copy;
    c->login_user_sent = user != NULL;
    c->login_resolved = resolved;
    c->login_ok = ok;
    c->login_pending = true;
    return 0;
}

int fl_client_login_start(fl_client *c, const char *user, bool ok, const char *password)
{
    if (user == NULL) {
        errno = EINVAL;
        return -1;
    }
    return login_start(c, user, false, NULL, ok, password);
}

int fl_client_login_as_start(fl_client *c, const char *user, const char *anon_account,
                             bool ok, const char *password)
{
    return login_start(c, user, true, anon_account, ok, password);
}

int fl_client_login_finish(fl_client *c, fl_decision *d)
{
    char *replies[3] = {NULL, NULL, NULL};
    size_t n = c != NULL ? 1u + c->login_user_sent + c->login_groups_sent : 0;
    if (c == NULL || d == NULL || finish_pending(c, &c->login_pending, n, replies) < 0)
        return -1;
    int rc = 0;
    if (c->login_user_sent && (rc = parse_decision(c, replies[0], d)) == 0)
        took_user(c, &c->login_user, c->login_resolved);
    if (rc == 0 && c->login_groups_sent &&
        strncmp(replies[c->login_user_sent], "OK", 2) != 0) {
        errno = EPROTO;
        rc = -1;
    }
    if (rc == 0)
        rc = parse_decision(c, replies[n - 1], d);
    for (size_t i = 0; i < n; i++)
        fl_free(replies[i]);
    if (rc == 0)
        pass_settled(c, c->login_ok, c->login_account, d);
    return rc;
}

int fl_client_anon_pass(fl_client *c, const char *user, const char *anon_account,
                        const char *password, fl_decision *d)
{
    if (c == NULL || d == NULL || !name_valid(user, false) ||
        !name_valid(anon_account, true) || password == NULL ||
        !password_valid(password)) {
        errno = EINVAL;
        return -1;
    }
    char *copy = fl_strdup(user);
    if (copy == NULL)
        return -1;
    char user_buf[2 * FL_USER_MAX + 16], pass_buf[FL_PASS_MAX + 16];
    struct fl_request anonpass = {.verb = FL_VERB_ANONPASS, .password = password};
    const char *requests[2] = {user_buf, pass_buf};
    char *replies[2];
    if (user_line(user_buf, sizeof user_buf, user, true, anon_account) < 0 ||
        fl_request_format(&anonpass, pass_buf, sizeof pass_buf) < 0 ||
        transact_lines(c, requests, 2, replies) < 0) {
        fl_free(copy);
        return -1;
    }
    int rc = parse_decision(c, replies[0], d);
    if (rc == 0) {
        took_user(c, &copy, true);
        rc = parse_decision(c, replies[1], d);
    }
    fl_free(copy);
    fl_free(replies[0]);
    fl_free(replies[1]);
    if (rc == 0 && d->verdict == FL_REJECT)
        c->failed++;
    return rc;
}

int fl_client_logout(fl_client *c)
{
    if (c == NULL) {
        errno = EINVAL;
        return -1;
    }
    char *reply;
    if (transact(c, "LOGOUT", &reply) < 0)
        return -1;
    bool ok = strncmp(reply, "OK", 2) == 0;
    fl_free(reply);
    if (!ok) {
        errno = EPROTO;
        return -1;
    }
    c->authenticated = false;
    return 0;
}

int fl_client_login(fl_client *c, const char *user, bool ok, const char *password,
                    fl_decision *d)
{
    if (d == NULL) {
        errno = EINVAL;
        return -1;
    }
    if (fl_client_login_start(c, user, ok, password) < 0)
        return -1;
    return fl_client_login_finish(c, d);
}

int fl_client_close_session(fl_client *c)
{
    /* The connection is the session: closing it ends the session in the
     * daemon. CLOSE says so first, and needs no answer. */
    if (c->fd >= 0 && !c->hello_unsent)
        send(c->fd, "CLOSE\n", 6, MSG_NOSIGNAL | MSG_DONTWAIT);
    c->in_session = false;
    disconnect(c);
    return 0;
}

/* RESUME's login state: not logged in; logged in, the daemon's
 * AnonymousUsers deciding whether anonymously; logged in as a real user or
 * anonymously (the user field then the account), as the server resolved
 * the name. */
static fl_anonymity resume_anonymity(const fl_client *c)
{
    if (!c->resolved)
        return FL_ANON_BY_POLICY;
    return c->anon_account != NULL ? FL_ANON_YES : FL_ANON_NO;
}

/* RESUME the session this client holds, on the current connection; class
 * "*" asks the daemon to classify the address. "OK resumed <sid> <class>"
 * tells the class. */
static int send_resume(fl_client *c, const char *cls)
{
    char request[FL_USER_MAX + 256], *reply;
    struct fl_request r = {
        .verb = FL_VERB_RESUME,
        .sid = c->sid,
        .class_name = strcmp(cls, "-") == 0 || strcmp(cls, "*") == 0 ? NULL : cls,
        .classify = strcmp(cls, "*") == 0,
        .authenticated = c->authenticated,
        .anonymity = resume_anonymity(c),
        .failed = c->failed,
        .user = c->authenticated && c->anon_account != NULL ? c->anon_account : c->user,
        .has_server = c->has_server,
        .server = c->server,
    };
    if (fl_addr_parse(c->address, &r.addr) < 0) {
        errno = EINVAL;
        return -1;
    }
    if (fl_request_format(&r, request, sizeof request) < 0 ||
        send_session_request(c, request) < 0 ||
        finish_session_request(c, NULL, &reply) < 0)
        return -1;
    char got_sid[FL_SID_MAX + 1], got_cls[FL_CLASS_NAME_MAX + 1];
    bool ok = strncmp(reply, "OK resumed ", 11) == 0;
    const char *p = reply + 11;
    if (ok && take_word(&p, got_sid, sizeof got_sid) > 0 &&
        take_word(&p, got_cls, sizeof got_cls) > 0)
        snprintf(c->cls, sizeof c->cls, "%s", strcmp(got_cls, "-") == 0 ? "" : got_cls);
    fl_free(reply);
    if (!ok) {
        errno = EPROTO;
        return -1;
    }
    return 0;
}

int fl_client_resume(fl_client *c)
{
    if (c == NULL || !c->in_session) {
        errno = EINVAL;
        return -1;
    }
    disconnect(c);
    if (dial(c) < 0)
        return -1;
    return send_resume(c, c->cls[0] != '\0' ? c->cls : "-");
}

int fl_client_declare(fl_client *c, const fl_client_session *s)
{
    fl_addr a;
    if (c == NULL || s == NULL || s->sid == NULL || s->sid[0] == '\0' ||
        strlen(s->sid) > FL_SID_MAX || strpbrk(s->sid, " \r\n") != NULL ||
        s->address == NULL || fl_addr_parse(s->address, &a) < 0 ||
        (s->class_name != NULL &&
         (s->class_name[0] == '\0' || strlen(s->class_name) > FL_CLASS_NAME_MAX ||
          strpbrk(s->class_name, " \r\n*") != NULL)) ||
        (s->user != NULL && !name_valid(s->user, false)) ||
        (s->authenticated && s->user == NULL) ||
        (s->anon_account != NULL &&
         (!name_valid(s->anon_account, true) || !s->resolved || !s->authenticated)) ||
        s->failed < 0 || s->failed > 65535) {
        errno = EINVAL;
        return -1;
    }
    char *user = s->user != NULL ? fl_strdup(s->user) : NULL;
    char *account = s->anon_account != NULL ? fl_strdup(s->anon_account) : NULL;
    if ((s->user != NULL && user == NULL) ||
        (s->anon_account != NULL && account == NULL)) {
        fl_free(user);
        fl_free(account);
        return -1;
    }
    fl_free(c->user);
    fl_free(c->anon_account);
    c->user = user;
    c->anon_account = account;
    snprintf(c->sid, sizeof c->sid, "%s", s->sid);
    fl_addr_format(&a, c->address, sizeof c->address);
    snprintf(c->cls, sizeof c->cls, "%s", s->class_name != NULL ? s->class_name : "");
    c->authenticated = s->authenticated;
    c->resolved = s->resolved;
    c->failed = s->failed;
    c->in_session = true;
    if (send_resume(c, s->class_name != NULL ? s->class_name : "*") < 0) {
        c->in_session = false;
        return -1;
    }
    return 0;
}

int fl_client_set_token(fl_client *c, const char *token)
{
    if (c == NULL ||
        (token != NULL && (strlen(token) != FL_TOKEN_LEN ||
                           strspn(token, "0123456789abcdef") != FL_TOKEN_LEN))) {
        errno = EINVAL;
        return -1;
    }
    snprintf(c->token, sizeof c->token, "%s", token != NULL ? token : "");
    return 0;
}

int fl_client_set_server(fl_client *c, const char *server)
{
    fl_endpoint e;
    if (c == NULL || (server != NULL && fl_endpoint_parse(server, &e) < 0)) {
        errno = EINVAL;
        return -1;
    }
    c->has_server = server != NULL;
    if (server != NULL)
        c->server = e;
    return 0;
}

void fl_client_set_timeout(fl_client *c, int timeout_ms)
{
    if (c != NULL && timeout_ms > 0)
        c->timeout_ms = timeout_ms;
}

int fl_client_command(fl_client *c, const char *request, char **out, size_t *len)
{
    char *reply;
    if (c == NULL || request == NULL || out == NULL ||
        strpbrk(request, "\r\n") != NULL) {
        errno = EINVAL;
        return -1;
    }
    if (transact(c, request, &reply) < 0)
        return -1;
    size_t n = 0;
    int rc = 0;
    if (strncmp(reply, "DATA ", 5) == 0) {
        char *end;
        unsigned long long size = strtoull(reply + 5, &end, 10);
        if (*end != '\0' || size > 64u * 1024 * 1024) {
            errno = EPROTO;
            rc = -1;
        } else {
            rc = read_exact(c, (size_t)size, now_ms() + c->timeout_ms, out);
            n = (size_t)size;
        }
    } else if (strcmp(reply, "OK") == 0 || strncmp(reply, "OK ", 3) == 0) {
        *out = fl_strdup(reply[2] == ' ' ? reply + 3 : "");
        rc = *out != NULL ? 0 : -1;
        n = rc == 0 ? strlen(*out) : 0;
    } else {
        errno = EPROTO;
        rc = -1;
    }
    fl_free(reply);
    if (len != NULL)
        *len = n;
    return rc;
}

int fl_client_watch(fl_client *c, const char *pattern)
{
    char request[256], *reply;
    if (pattern != NULL && (strlen(pattern) > 200 || strpbrk(pattern, " \r\n"))) {
        errno = EINVAL;
        return -1;
    }
    struct fl_request r = {.verb = FL_VERB_WATCH, .pattern = pattern};
    if (fl_request_format(&r, request, sizeof request) < 0 ||
        transact(c, request, &reply) < 0)
        return -1;
    bool ok = strncmp(reply, "OK", 2) == 0;
    fl_free(reply);
    if (!ok) {
        errno = EPROTO;
        return -1;
    }
    return 0;
}

int fl_client_next_line(fl_client *c, int timeout_ms, char **line)
{
    if (c == NULL || line == NULL || c->fd < 0) {
        errno = c != NULL && c->fd < 0 ? ENOTCONN : EINVAL;
        return -1;
    }
    return read_line(c, now_ms() + timeout_ms, line);
}
