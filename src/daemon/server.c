/*
 * server.c - ftplimitd's event loop: one epoll over the listening socket,
 * a signalfd and every client, with the engine's timers as its timeout.
 *
 * The one idea to hold on to: nothing may block the loop, and no client may
 * starve the others. Every socket is non-blocking; what a client cannot take
 * now waits in its own output queue, whose memory is counted as allocated.
 * A client whose queue passes OUT_PAUSE is not read until it drains it, and
 * is disconnected if it does not for PAUSE_MAX_SEC; a watcher that reads
 * too slowly loses its oldest events, and is told how many. Each turn of
 * the loop serves at most REQUESTS_PER_TURN requests of one client, the
 * rest of its lines on the next turns, after the others'. A uid holds at
 * most PENDING_PER_UID connections that are neither a session nor a
 * watcher, each closed after IDLE_PENDING_SEC without a request. A client's connection
 * is its session: when it closes, for any reason, the session is closed in the engine.
 *
 * Clients are freed only at the end of a loop iteration, so an event later
 * in the same epoll batch never finds freed memory.
 */
#include "config.h"

#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <malloc.h>
#include <uthash.h>

#include <ftplimit/json.h>

#include "cluster.h"
#include "log.h"
#include "util/text.h"
#include "proto/reply.h"
#include "proto/request.h"

#define OUT_PAUSE (64 * 1024)  /* bytes of replies waiting: its requests wait too */
#define PAUSE_MAX_SEC 10       /* ... and if it reads none for so long, it goes */
#define WATCH_QUEUE_LINES 4096 /* events queued for a watcher */
#define WATCH_QUEUE_MAX (2 * 1024 * 1024) /* ... and their bytes */
#define LINE_CAP 512 /* the smallest reply buffer: small replies share one */
#define LINE_OVERHEAD (sizeof(struct out_line) + 16) /* malloc's header included */
#define REQUESTS_PER_TURN 32
#define PENDING_PER_UID 256  /* connections of a uid that are not yet anything */
#define IDLE_PENDING_SEC 30  /* ... and how long one may stay so (-T) */
#define SWEEP_SEC 2          /* how often idle and paused clients are looked at */
#define TRIM_BYTES (1 << 20) /* freed output that makes malloc give memory back */
#define MAX_EVENTS 64
#define FLUSH_LINES 64 /* queued lines written by one sendmsg */

enum conn_state {
    C_NEW,     /* before HELLO */
    C_READY,   /* may CONNECT, RESUME, WATCH, STATUS ... */
    C_SESSION, /* holds a session */
    C_WATCH,   /* receives events */
    C_CLOSING, /* flushing its last reply */
};

struct out_line {
    struct out_line *next;
    size_t len, off, cap;
    char *owned; /* a DATA reply's text, taken over; NULL: in data[] */
    char data[];
};

/* How many connections of one uid are pending (neither a session nor a
 * watcher): PENDING_PER_UID bounds them. */
struct uid_count {
    UT_hash_handle hh;
    uid_t uid;
    size_t pending;
};
static struct uid_count *uid_counts;

struct conn {
    struct conn *prev, *next;
    int fd;
    struct ucred cred;
    enum conn_state state;
    fl_session *session;
    size_t inlen;
    bool discarding; /* skipping the rest of a line that was too long */
    struct out_line *out_head, *out_tail;
    size_t out_bytes, out_lines;
    size_t out_mem;  /* what the queue takes in memory, headers included */
    uint32_t events; /* registered with epoll */
    bool paused;     /* not read until its queue drains */
    bool pending;    /* counted in its uid's pending connections */
    bool backlog;    /* has whole lines left for a later turn */
    struct conn *next_backlog;
    time_t since;  /* accepted; or paused with nothing read since */
    bool offended; /* a protocol offence was logged */
    bool dead;
    bool peer_gone;    /* the peer closed: replies can no longer reach it */
    bool session_conn; /* it sent TOKEN, CONNECT or RESUME: session rights only */
    bool farm_wait;    /* its decision waits for the farm (cluster.c) */
    char token[FL_TOKEN_LEN + 1]; /* TOKEN's, "" for none */
    char *pattern;                /* WATCH pattern, NULL for every event */
    unsigned long long dropped;
    char in[FL_PROTO_LINE_MAX]; /* last: a new connection zeroes what is above */
};

/* Count c among its uid's pending connections, or no longer. */
static void pending_set(struct conn *c, bool on)
{
    if (c->pending == on)
        return;
    struct uid_count *u;
    uid_t uid = c->cred.uid;
    HASH_FIND(hh, uid_counts, &uid, sizeof uid, u);
    if (u == NULL && on) {
        if ((u = calloc(1, sizeof *u)) == NULL)
            return; /* uncounted: it is only less bounded */
        u->uid = uid;
        HASH_ADD(hh, uid_counts, uid, sizeof u->uid, u);
    }
    if (u == NULL)
        return;
    c->pending = on;
    if (on) {
        u->pending++;
    } else if (--u->pending == 0) {
        HASH_DEL(uid_counts, u);
        free(u);
    }
}

static size_t pending_of(uid_t uid)
{
    struct uid_count *u;
    HASH_FIND(hh, uid_counts, &uid, sizeof uid, u);
    return u != NULL ? u->pending : 0;
}

/* c is now a session, a watcher or closing: no longer pending. */
static void conn_settle(struct conn *c, enum conn_state state)
{
    c->state = state;
    pending_set(c, state == C_NEW || state == C_READY);
}

/* epoll tags for the two descriptors that are not clients */
static char tag_listen, tag_signal;

#define STR_(x) #x
#define STR(x) STR_(x)
/* What HELLO answers after "OK". */
static const char hello_version[] = STR(FL_PROTO_VERSION) " ftplimitd/" FL_VERSION;
static int spare_fd = -1; /* closed to accept, and refuse, past EMFILE */
static struct conn *graveyard;
/* Freed connections kept for the next ones: a connection is 4 KiB, and
 * malloc would consolidate its free chunks on each of them. */
#define SPARE_CONNS_MAX 64
static struct conn *spare_conns;
static size_t nspare_conns;

struct event_tap {
    struct server *srv;
    size_t index;
    const char *event;
};
static struct event_tap *taps;

static void conn_kill(struct server *srv, struct conn *c);

/* --- output --------------------------------------------------------------- */

static void backlog_add(struct server *srv, struct conn *c);

/* What c waits for from epoll: its requests unless it is paused, and room
 * to write while replies wait. */
static void update_events(struct server *srv, struct conn *c)
{
    if (c->dead)
        return;
    uint32_t want = (c->paused ? 0 : EPOLLIN) | (c->out_head != NULL ? EPOLLOUT : 0);
    if (want == c->events)
        return;
    struct epoll_event ev = {.events = want, .data.ptr = c};
    epoll_ctl(srv->epoll_fd, EPOLL_CTL_MOD, c->fd, &ev);
    c->events = want;
}

static const char *line_bytes(const struct out_line *l)
{
    return l->owned != NULL ? l->owned : l->data;
}

static size_t line_mem(const struct out_line *l)
{
    return LINE_OVERHEAD + l->cap;
}

static size_t freed_since_trim;

static void line_free(struct conn *c, struct out_line *l)
{
    c->out_bytes -= l->len;
    c->out_lines--;
    c->out_mem -= line_mem(l);
    freed_since_trim += line_mem(l);
    free(l->owned);
    free(l);
}

static void out_pop(struct conn *c)
{
    struct out_line *l = c->out_head;
    c->out_head = l->next;
    if (c->out_head == NULL)
        c->out_tail = NULL;
    line_free(c, l);
}

/* Drop the oldest line not yet started (the head may be half written). */
static bool drop_oldest_unsent(struct conn *c)
{
    struct out_line *l = c->out_head;
    if (l == NULL)
        return false;
    if (l->off == 0) {
        out_pop(c);
        return true;
    }
    struct out_line *victim = l->next;
    if (victim == NULL)
        return false;
    l->next = victim->next;
    if (c->out_tail == victim)
        c->out_tail = l;
    line_free(c, victim);
    return true;
}

/* A line at the tail of c's queue, of len bytes (copied from data unless
 * owned is given, which the queue then frees). */
static void out_append(struct server *srv, struct conn *c, struct out_line *l)
{
    (void)srv;
    l->next = NULL;
    if (c->out_tail != NULL)
        c->out_tail->next = l;
    else
        c->out_head = l;
    c->out_tail = l;
    c->out_bytes += l->len;
    c->out_lines++;
    c->out_mem += line_mem(l);
}

/* Tell a watcher how many events it lost, where it lost them: just before
 * the next line it gets. The notice is written straight to the socket, so
 * it can never itself be dropped as the oldest line; what the socket does
 * not take stays queued as a line already started, which is never dropped.
 * Returns false when the socket is full. */
static bool send_dropped(struct server *srv, struct conn *c)
{
    if (c->dropped == 0 || (c->out_head != NULL && c->out_head->off > 0))
        return true;
    char text[48];
    int len = snprintf(text, sizeof text, "DROPPED %llu\n", c->dropped);
    ssize_t n = send(c->fd, text, (size_t)len, MSG_NOSIGNAL);
    if (n <= 0)
        return false;
    c->dropped = 0;
    if (n < len) {
        struct out_line *l = malloc(sizeof *l + (size_t)len);
        if (l == NULL) {
            conn_kill(srv, c);
            return false;
        }
        memcpy(l->data, text, (size_t)len);
        *l = (struct out_line){.next = c->out_head,
                               .len = (size_t)len,
                               .off = (size_t)n,
                               .cap = (size_t)len};
        c->out_head = l;
        if (c->out_tail == NULL)
            c->out_tail = l;
        c->out_bytes += l->len;
        c->out_lines++;
        c->out_mem += line_mem(l);
    }
    return true;
}

/* Write what the client takes now; the rest waits for EPOLLOUT. A paused
 * client whose queue has drained to half its bound is read again. */
static void conn_flush(struct server *srv, struct conn *c)
{
    while (c->out_head != NULL && !c->dead) {
        if (!send_dropped(srv, c))
            break;
        /* Every queued line in one system call: the answers to pipelined
         * requests reach the client together, and wake it once. */
        struct iovec iov[FLUSH_LINES];
        struct msghdr msg = {.msg_iov = iov};
        for (struct out_line *l = c->out_head;
             l != NULL && msg.msg_iovlen < FLUSH_LINES; l = l->next)
            iov[msg.msg_iovlen++] = (struct iovec){
                .iov_base = (char *)line_bytes(l) + l->off, .iov_len = l->len - l->off};
        ssize_t n = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
        if (n > 0) {
            size_t sent = (size_t)n;
            while (sent > 0) {
                struct out_line *l = c->out_head;
                size_t left = l->len - l->off;
                if (sent < left) {
                    l->off += sent;
                    break;
                }
                sent -= left;
                out_pop(c);
            }
            if (c->paused)
                c->since = time(NULL); /* it reads: not stalled */
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            conn_kill(srv, c);
            return;
        }
    }
    if (c->dead)
        return;
    if (c->paused && c->out_mem <= OUT_PAUSE / 2) {
        c->paused = false;
        backlog_add(srv, c); /* its waiting lines, on the next turn */
    }
    update_events(srv, c);
    if (c->state == C_CLOSING && c->out_head == NULL)
        conn_kill(srv, c);
}

/* Queue bytes for c. A reply is appended to the last buffer when it has
 * room, so that a client's small replies share one allocation; a watcher's
 * events stay apart, to be dropped one by one. owned: data is a malloc'd
 * DATA text the queue takes over (and frees). */
static void conn_queue_as(struct server *srv, struct conn *c, char *owned,
                          const char *data, size_t len)
{
    if (c->dead || c->peer_gone) {
        free(owned);
        return;
    }
    bool watching = c->state == C_WATCH;
    if (watching) {
        /* A slow watcher loses its oldest events, never the loop's time. */
        while ((c->out_lines >= WATCH_QUEUE_LINES || c->out_mem > WATCH_QUEUE_MAX) &&
               drop_oldest_unsent(c))
            c->dropped++;
    }
    struct out_line *t = c->out_tail;
    if (owned == NULL && !watching && t != NULL && t->owned == NULL && t->off == 0 &&
        t->cap - t->len >= len) {
        memcpy(t->data + t->len, data, len);
        t->len += len;
        c->out_bytes += len;
        return;
    }
    size_t cap = owned != NULL ? len : watching || len > LINE_CAP ? len : LINE_CAP;
    struct out_line *l = malloc(sizeof *l + (owned != NULL ? 0 : cap));
    if (l == NULL) {
        free(owned);
        conn_kill(srv, c);
        return;
    }
    *l = (struct out_line){.len = len, .cap = cap, .owned = owned};
    if (owned == NULL)
        memcpy(l->data, data, len);
    out_append(srv, c, l);
}

static void conn_queue(struct server *srv, struct conn *c, const char *data, size_t len)
{
    conn_queue_as(srv, c, NULL, data, len);
}

static void reply(struct server *srv, struct conn *c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void reply(struct server *srv, struct conn *c, const char *fmt, ...)
{
    char line[FL_MESSAGE_MAX + 512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof line - 2)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    conn_queue(srv, c, line, (size_t)n);
}

/* A reply of words joined by spaces, up to a NULL: the replies every
 * session gets, without vsnprintf's cost. */
static void reply_words(struct server *srv, struct conn *c, const char *word, ...)
{
    char line[FL_MESSAGE_MAX + 512];
    size_t n = 0;
    va_list ap;
    va_start(ap, word);
    for (const char *w = word; w != NULL; w = va_arg(ap, const char *)) {
        size_t len = strlen(w), room = sizeof line - 1 - n; /* 1 for the LF */
        if (len > room)
            len = room;
        memcpy(line + n, w, len);
        n += len;
        if (n < sizeof line - 1)
            line[n++] = ' ';
    }
    va_end(ap);
    if (n > 0 && line[n - 1] == ' ')
        n--;
    line[n++] = '\n';
    conn_queue(srv, c, line, n);
}

static void reply_data(struct server *srv, struct conn *c, char *data, size_t len)
{
    if (data == NULL) {
        reply(srv, c, "ERR no-memory the daemon is out of memory");
        return;
    }
    reply(srv, c, "DATA %zu", len);
    conn_queue_as(srv, c, data, data, len); /* no copy: the queue frees it */
}

/* An ERR reply; the first offence of a client is logged, once. */
static void reply_err(struct server *srv, struct conn *c, const char *reason,
                      const char *text)
{
    reply(srv, c, "ERR %s %s", reason, text);
    srv->protocol_errors++;
    if (!c->offended) {
        char safe[256];
        log_limited(LOG_KIND_OFFENCE, LOG_NOTICE,
                    "client pid %d uid %d: %s: %s (further errors not logged)",
                    (int)c->cred.pid, (int)c->cred.uid, reason,
                    fl_text_escape(text, safe, sizeof safe));
        c->offended = true;
    }
}

/* --- events --------------------------------------------------------------- */

/* Every event goes to the client whose request caused it (before the
 * decision, so that mod_ftplimit can raise it on ProFTPD's bus) and to every
 * watcher whose pattern matches. */
/* A ban a BanOnEvent rule made, in the log as a manual one is (do_ban logs
 * those, with who asked). */
static void log_rule_ban(struct server *srv, const char *event, const void *data)
{
    const fl_event_info *info = fl_event_info_of(event, data);
    if (strcmp(event, FL_EV_BAN) != 0 || info == NULL || info->limit == NULL ||
        strcmp(info->limit, "manual") == 0 || cluster_applying(srv))
        return;
    char target[FL_ADDR_TEXT_MAX + 300], rule[200], server[300];
    log_msg(LOG_NOTICE,
            "BanOnEvent %s banned %s %s from %s for %llds (%lld in its window)",
            fl_text_escape(info->limit, rule, sizeof rule), info->ban,
            fl_text_escape(info->target, target, sizeof target),
            info->server != NULL ? fl_text_escape(info->server, server, sizeof server)
                                 : "every server",
            (long long)info->duration, info->count);
}

static void on_event(const void *data, void *user_data)
{
    struct event_tap *tap = user_data;
    struct server *srv = tap->srv;
    srv->event_counts[tap->index]++;
    log_rule_ban(srv, tap->event, data);
    cluster_event(srv, tap->event, data);
    struct conn *requester = srv->current != NULL && srv->current->state != C_WATCH &&
                                     !srv->current->peer_gone
                                 ? srv->current
                                 : NULL;
    if (requester == NULL && srv->nwatchers == 0)
        return;

    /* "EVENT {json}\n", built without an allocation for all but huge events. */
    char stack[1024], *line = stack;
    size_t cap = sizeof stack - 7;
    size_t len = fl_event_json(line + 6, cap, tap->event, data);
    if (len >= cap) {
        if ((line = malloc(len + 8)) == NULL)
            return;
        fl_event_json(line + 6, len + 1, tap->event, data);
    }
    memcpy(line, "EVENT ", 6);
    line[len + 6] = '\n';
    if (requester != NULL)
        conn_queue(srv, requester, line, len + 7);
    for (struct conn *c = srv->nwatchers > 0 ? srv->conns : NULL; c != NULL;
         c = c->next) {
        if (c->state != C_WATCH || c->dead ||
            (c->pattern != NULL && fnmatch(c->pattern, tap->event, 0) != 0))
            continue;
        conn_queue(srv, c, line, len + 7);
        conn_flush(srv, c);
    }
    if (line != stack)
        free(line);
}

/* --- clients ---------------------------------------------------------------- */

/* The client is gone: its session ends, and it is freed after this
 * iteration. */
static void conn_kill(struct server *srv, struct conn *c)
{
    if (c->dead)
        return;
    c->dead = true;
    if (c->farm_wait)
        cluster_conn_gone(srv, c);
    close(c->fd); /* which also takes it out of the epoll set */
    c->fd = -1;
    if (c->session != NULL) {
        fl_session *s = c->session;
        c->session = NULL;
        struct conn *saved = srv->current;
        srv->current = NULL; /* nobody to tell but the watchers */
        fl_close(srv->engine, s);
        srv->current = saved;
    }
    if (c->state == C_WATCH)
        srv->nwatchers--;
    pending_set(c, false);
    /* Not served again: the graveyard frees it at the end of this turn. */
    for (struct conn **at = &srv->backlog; c->backlog && *at != NULL;
         at = &(*at)->next_backlog) {
        if (*at == c) {
            *at = c->next_backlog;
            c->backlog = false;
            break;
        }
    }
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    srv->nconns--;
    c->next = graveyard;
    graveyard = c;
}

static void bury(void)
{
    /* Memory that flooding clients' replies took goes back to the system. */
    if (freed_since_trim > TRIM_BYTES) {
        malloc_trim(0);
        freed_since_trim = 0;
    }
    while (graveyard != NULL) {
        struct conn *c = graveyard;
        graveyard = c->next;
        while (c->out_head != NULL)
            out_pop(c);
        free(c->pattern);
        if (nspare_conns < SPARE_CONNS_MAX) {
            c->next = spare_conns;
            spare_conns = c;
            nspare_conns++;
        } else {
            free(c);
        }
    }
}

/* A connection with its header zeroed, from the spares when there are. */
static struct conn *conn_new(void)
{
    struct conn *c = spare_conns;
    if (c != NULL) {
        spare_conns = c->next;
        nspare_conns--;
    } else if ((c = malloc(sizeof *c)) == NULL) {
        return NULL;
    }
    memset(c, 0, offsetof(struct conn, in));
    return c;
}

static void free_spare_conns(void)
{
    while (spare_conns != NULL) {
        struct conn *c = spare_conns;
        spare_conns = c->next;
        free(c);
    }
    nspare_conns = 0;
}

static void read_client(struct server *srv, struct conn *c);

/* One connection per turn of the loop: epoll is level-triggered and says
 * again that more wait, so a burst is still taken in full, and the common
 * case -- one client connecting -- costs no accept() that fails. */
static void accept_client(struct server *srv)
{
    int fd;
    do
        fd = accept4(srv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        if ((errno == EMFILE || errno == ENFILE) && spare_fd >= 0) {
            /* Out of descriptors: take the connection and drop it, rather
             * than spin on a listening socket that stays ready. */
            close(spare_fd);
            fd = accept(srv->listen_fd, NULL, NULL);
            if (fd >= 0)
                close(fd);
            spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
            srv->refused_connections++;
            log_limited(LOG_KIND_REFUSED, LOG_WARNING,
                        "out of file descriptors: a client was refused");
        }
        return; /* EAGAIN, or an error worth no more than a retry */
    }
    struct conn *c = conn_new();
    socklen_t len = sizeof c->cred;
    if (c == NULL || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c->cred, &len) < 0) {
        free(c);
        close(fd);
        return;
    }
    /* A uid may not hold more connections that are not yet anything (no
     * session, no watch): the daemon's own uid and root may. */
    if (c->cred.uid != 0 && c->cred.uid != srv->self &&
        pending_of(c->cred.uid) >= PENDING_PER_UID) {
        srv->refused_connections++;
        log_limited(LOG_KIND_REFUSED, LOG_WARNING,
                    "uid %d holds %d connections that are neither a session nor a "
                    "watcher: another was refused",
                    (int)c->cred.uid, PENDING_PER_UID);
        free(c);
        close(fd);
        return;
    }
    c->fd = fd;
    c->state = C_NEW;
    c->since = time(NULL);
    c->events = EPOLLIN;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(srv->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        close(fd);
        free(c);
        return;
    }
    c->next = srv->conns;
    if (srv->conns != NULL)
        srv->conns->prev = c;
    srv->conns = c;
    srv->nconns++;
    srv->connections_total++;
    pending_set(c, true);
    /* A client writes as soon as it is connected (HELLO and its first
     * request): read now, not one more turn of the loop later. */
    read_client(srv, c);
}

/* --- requests --------------------------------------------------------------- */

/* A request refused for want of rights: counted, answered. False. */
static bool refuse_permission(struct server *srv, struct conn *c, const char *why)
{
    srv->permission_denied++;
    reply_err(srv, c, "permission", why);
    return false;
}

static bool allowed(struct server *srv, struct conn *c, fl_access what,
                    const char *verb)
{
    if (fl_access_allowed(srv->engine, what, c->cred.uid, c->cred.gid, srv->self))
        return true;
    char text[160];
    snprintf(text, sizeof text, "uid %d gid %d may not %s", (int)c->cred.uid,
             (int)c->cred.gid, verb);
    return refuse_permission(srv, c, text);
}

/* May c declare the session r names? A token is checked against the
 * session's id and address (the uid does not matter: a session process may
 * have become its user since it obtained it); without one, the uid must be
 * allowed to declare sessions. */
static bool may_declare(struct server *srv, struct conn *c, const struct fl_request *r)
{
    if (c->token[0] == '\0')
        return allowed(srv, c, FL_ACCESS_SESSIONS, "declare sessions");
    char address[FL_ADDR_TEXT_MAX];
    fl_addr_format(&r->addr, address, sizeof address);
    const char *why = NULL;
    if (!srv->have_key)
        why = "this daemon has no session key";
    else if (r->sid == NULL)
        why = "a token is for a session's own id, not -";
    else if (!fl_session_token_check(&srv->key, r->sid, address, c->token))
        why = "the token is not this session's";
    return why == NULL || refuse_permission(srv, c, why);
}

/* Status and administration need rights of their own, which a session's
 * connection never has, whatever uid opened it. */
static bool allowed_beyond_sessions(struct server *srv, struct conn *c, fl_access what,
                                    const char *verb)
{
    if (!c->session_conn)
        return allowed(srv, c, what, verb);
    char text[160];
    snprintf(text, sizeof text, "a session's connection may not %s", verb);
    return refuse_permission(srv, c, text);
}

static void reply_decision(struct server *srv, struct conn *c, const fl_decision *d)
{
    if (d->verdict == FL_ALLOW) {
        reply_words(srv, c, "ALLOW", (char *)NULL);
        return;
    }
    char line[FL_MESSAGE_MAX + 128];
    if (fl_reply_decision_format(d, line, sizeof line) < 0)
        snprintf(line, sizeof line, "%s", "DISCONNECT 421 - Internal error");
    reply(srv, c, "%s", line);
    if (d->verdict == FL_DISCONNECT) {
        c->session = NULL; /* the engine ended it */
        conn_settle(c, C_CLOSING);
    }
}

static void reply_engine_error(struct server *srv, struct conn *c, const char *what)
{
    int err = errno;
    char text[256];
    snprintf(text, sizeof text, "%s: %s", what,
             err == EPROTO     ? "no USER before it"
             : err == EISCONN  ? "already logged in"
             : err == ENOTCONN ? "not logged in"
             : err == EINVAL
                 ? "invalid (empty, too long, bad characters, or a reserved id)"
                 : strerror(err));
    reply_err(srv, c, fl_reply_reason_of(err), text);
}

static void reply_connect(struct server *srv, struct conn *c, const fl_decision *d);

static void do_connect(struct server *srv, struct conn *c, const struct fl_request *r)
{
    fl_connect_info ci = {.sid = r->sid,
                          .addr = r->addr,
                          .dns_name = r->dns_name,
                          .server = r->has_server ? &r->server : NULL};
    fl_decision d;
    fl_session *s;
    srv->current = c;
    int rc = fl_connect(srv->engine, &ci, &s, &d);
    srv->current = NULL;
    if (rc < 0) {
        reply_engine_error(srv, c, "CONNECT");
        return;
    }
    if (d.verdict != FL_ALLOW) {
        reply_decision(srv, c, &d);
        return;
    }
    c->session = s;
    conn_settle(c, C_SESSION);
    if (srv->cluster != NULL) {
        c->farm_wait = true;
        if (cluster_decide(srv, c, s, FL_FARM_STEP_CONNECT, &d))
            return; /* server_farm_answer() replies */
        c->farm_wait = false;
    }
    reply_connect(srv, c, &d);
}

/* A CONNECT's answer: ALLOW with the session's id and class, or the
 * refusal (the session then ended). */
static void reply_connect(struct server *srv, struct conn *c, const fl_decision *d)
{
    if (d->verdict != FL_ALLOW || c->session == NULL) {
        reply_decision(srv, c, d);
        return;
    }
    const char *cls = fl_session_class(c->session);
    reply_words(srv, c, "ALLOW", fl_session_id(c->session), cls != NULL ? cls : "-",
                (char *)NULL);
}

void server_each_session(struct server *srv, void (*fn)(fl_session *s, void *arg),
                         void *arg)
{
    for (struct conn *c = srv->conns; c != NULL; c = c->next) {
        if (!c->dead && c->session != NULL)
            fn(c->session, arg);
    }
}

void server_farm_answer(struct server *srv, struct conn *c, fl_session *s,
                        fl_farm_step step, const fl_decision *d)
{
    c->farm_wait = false;
    if (c->dead)
        return;
    if (s == NULL && d->verdict == FL_ALLOW && c->session != NULL) {
        /* Cannot happen: the client's session ends only with the client. */
        c->session = NULL;
        conn_settle(c, C_CLOSING);
        reply(srv, c, "DISCONNECT 421 - Internal error");
    } else if (step == FL_FARM_STEP_CONNECT) {
        reply_connect(srv, c, d);
    } else {
        reply_decision(srv, c, d);
    }
    if (!c->dead && c->state != C_CLOSING && memchr(c->in, '\n', c->inlen) != NULL)
        backlog_add(srv, c);
    conn_flush(srv, c);
}

static void do_resume(struct server *srv, struct conn *c, const struct fl_request *r)
{
    fl_resume_info ri = {
        .sid = r->sid,
        .addr = r->addr,
        .class_name = r->class_name,
        .user = r->user,
        .authenticated = r->authenticated,
        .anonymity = r->anonymity,
        .failed = r->failed,
        .classify = r->classify,
        .server = r->has_server ? &r->server : NULL,
    };
    fl_session *s;
    if (fl_resume(srv->engine, &ri, &s) < 0) {
        reply_engine_error(srv, c, "RESUME");
        return;
    }
    cluster_count(srv, s);
    c->session = s;
    conn_settle(c, C_SESSION);
    const char *cls = fl_session_class(s);
    reply(srv, c, "OK resumed %s %s", fl_session_id(s), cls != NULL ? cls : "-");
}

struct reload_errors {
    char text[1500];
};

static void collect_reload_error(void *arg, const char *message)
{
    struct reload_errors *r = arg;
    size_t len = strlen(r->text);
    snprintf(r->text + len, sizeof r->text - len, "%s%s", len > 0 ? " | " : "",
             message);
}

/* Reload the policy keeping every count; log and return what happened. */
static int reload_policy(struct server *srv, struct reload_errors *errs)
{
    int rc = fl_engine_reload(srv->engine, NULL, collect_reload_error, errs);
    char safe[1600];
    fl_text_escape(errs->text, safe, sizeof safe);
    if (rc == 0) {
        log_msg(LOG_NOTICE, "policy %s reloaded%s%s",
                fl_engine_policy_path(srv->engine), errs->text[0] ? ": " : "", safe);
        cluster_configure(srv);
    } else
        log_msg(LOG_ERR, "policy reload failed, the old policy stays: %s", safe);
    return rc;
}

/* BAN LIST | ADD | REMOVE. The ftplimit.ban an ADD makes goes to the
 * requester as an EVENT line, like any event its request causes. */
static void do_ban(struct server *srv, struct conn *c, const struct fl_request *r)
{
    size_t n = 0;
    char text[256], safe[FL_ADDR_TEXT_MAX + 300], server[300];
    const char *kind = fl_ban_kind_name(r->ban_kind);
    const char *from = r->server_name != NULL
                           ? fl_text_escape(r->server_name, server, sizeof server)
                           : "every server";
    switch (r->ban_op) {
    case FL_BAN_LIST: {
        char *data = render_bans_json(srv, &n);
        reply_data(srv, c, data, n);
        return;
    }
    case FL_BAN_ADD:
        srv->current = c;
        int rc = fl_ban_add(srv->engine, r->ban_kind, r->target, r->server_name,
                            (fl_usec)r->ban_seconds * FL_USEC_PER_SEC, r->message);
        srv->current = NULL;
        if (rc == 0) {
            log_msg(LOG_NOTICE, "uid %d banned %s %s from %s for %lds",
                    (int)c->cred.uid, kind,
                    fl_text_escape(r->target, safe, sizeof safe), from, r->ban_seconds);
            reply(srv, c, "OK banned %s for %lds", kind, r->ban_seconds);
            return;
        }
        break;
    case FL_BAN_REMOVE:
        if (fl_ban_remove(srv->engine, r->ban_kind, r->target, r->server_name) == 0) {
            cluster_ban_lifted(srv, r->ban_kind, r->target, r->server_name);
            log_msg(LOG_NOTICE, "uid %d lifted the ban on %s %s from %s",
                    (int)c->cred.uid, kind,
                    fl_text_escape(r->target, safe, sizeof safe),
                    r->server_name != NULL ? from : "every server and each");
            reply(srv, c, "OK removed %s", kind);
            return;
        }
        break;
    }
    switch (errno) {
    case ENOENT:
        if (r->ban_op == FL_BAN_ADD)
            snprintf(text, sizeof text,
                     "no server '%.100s' (a name `ftplimit status` shows, or an "
                     "ADDR:PORT of a <VirtualHost>)",
                     from);
        else
            snprintf(text, sizeof text, "no %s ban on that target%s", kind,
                     r->server_name != NULL ? " on that server" : "");
        reply_err(srv, c, "not-found", text);
        break;
    case EPERM:
        reply_err(srv, c, "exempt", "the target is in BanExempt");
        break;
    case EEXIST:
        reply_err(srv, c, "overlap",
                  "the network overlaps another network banned on that server");
        break;
    case ENOSPC:
        reply_err(srv, c, "table-full", "the ban table holds MaxTrackedHosts bans");
        break;
    case EINVAL:
        snprintf(text, sizeof text, "not a %s target%s", kind,
                 r->ban_kind == FL_BAN_HOST        ? " (an IPv4 or IPv6 address)"
                 : r->ban_kind == FL_BAN_USER_HOST ? " (user@address)"
                 : r->ban_kind == FL_BAN_NETWORK   ? " (ADDRESS/LEN)"
                                                   : "");
        reply_err(srv, c, "bad-field", text);
        break;
    default:
        reply_err(srv, c, "no-memory", "the daemon is out of memory");
        break;
    }
}

/* --- the verbs ----------------------------------------------------------------- */

static void do_hello(struct server *srv, struct conn *c, const struct fl_request *r)
{
    if (r->version != FL_PROTO_VERSION) {
        char msg[96];
        snprintf(msg, sizeof msg, "this daemon speaks protocol %d, not %d",
                 FL_PROTO_VERSION, r->version);
        reply_err(srv, c, "version", msg);
        return;
    }
    conn_settle(c, C_READY);
    reply_words(srv, c, "OK", hello_version, (char *)NULL);
}

static void do_token(struct server *srv, struct conn *c, const struct fl_request *r)
{
    memcpy(c->token, r->token, sizeof c->token);
    c->session_conn = true;
    reply_words(srv, c, "OK", "token", (char *)NULL);
}

static void do_declare(struct server *srv, struct conn *c, const struct fl_request *r)
{
    c->session_conn = true;
    if (!may_declare(srv, c, r))
        return;
    if (r->verb == FL_VERB_CONNECT)
        do_connect(srv, c, r);
    else
        do_resume(srv, c, r);
}

/* USER, USERAS, PASS, ANONPASS: a step of the session's login. */
static void do_login_step(struct server *srv, struct conn *c,
                          const struct fl_request *r)
{
    fl_decision d;
    int rc;
    srv->current = c;
    switch (r->verb) {
    case FL_VERB_USER:
        rc = fl_user(srv->engine, c->session, r->user, &d);
        break;
    case FL_VERB_USERAS:
        rc = fl_user_resolved(srv->engine, c->session, r->user, r->account, &d);
        break;
    case FL_VERB_PASS:
        rc = fl_pass(srv->engine, c->session, r->ok, r->password, &d);
        break;
    default:
        rc = fl_anon_pass_check(srv->engine, c->session, r->password, &d);
        break;
    }
    srv->current = NULL;
    if (rc < 0) {
        reply_engine_error(srv, c, fl_verb_name(r->verb));
        return;
    }
    if (r->verb == FL_VERB_PASS && srv->cluster != NULL && c->session != NULL &&
        d.verdict == FL_ALLOW) {
        c->farm_wait = true;
        if (cluster_decide(srv, c, c->session, FL_FARM_STEP_LOGIN, &d))
            return; /* server_farm_answer() replies */
        c->farm_wait = false;
    }
    reply_decision(srv, c, &d);
}

/* GROUPS: the groups of the user of the session's USER, for <IfGroup>. */
static void do_groups(struct server *srv, struct conn *c, const struct fl_request *r)
{
    if (fl_user_groups(srv->engine, c->session, r->groups, r->ngroups) < 0) {
        reply_engine_error(srv, c, "GROUPS");
        return;
    }
    reply_words(srv, c, "OK", "groups", (char *)NULL);
}

static void do_logout(struct server *srv, struct conn *c, const struct fl_request *r)
{
    (void)r;
    if (fl_logout(srv->engine, c->session) < 0) {
        reply_engine_error(srv, c, "LOGOUT");
        return;
    }
    cluster_logout(srv, fl_session_id(c->session));
    srv->logouts++;
    reply_words(srv, c, "OK", "logged-out", (char *)NULL);
}

static void do_close(struct server *srv, struct conn *c, const struct fl_request *r)
{
    (void)r;
    if (c->session != NULL) {
        fl_session *s = c->session;
        c->session = NULL;
        srv->current = c;
        fl_close(srv->engine, s);
        srv->current = NULL;
    }
    reply_words(srv, c, "OK", "closed", (char *)NULL);
    conn_settle(c, C_CLOSING);
}

static void do_render(struct server *srv, struct conn *c, const struct fl_request *r)
{
    size_t n = 0;
    errno = 0;
    char *data = r->verb == FL_VERB_STATUS ? render_status_json(srv, r->server_name, &n)
                                           : render_metrics(srv, &n);
    if (data == NULL && errno == ENOENT) {
        reply_err(srv, c, "not-found",
                  "no such server (`ftplimit status` lists the servers counted)");
        return;
    }
    reply_data(srv, c, data, n);
}

static void do_reload(struct server *srv, struct conn *c, const struct fl_request *r)
{
    (void)r;
    struct reload_errors errs = {{0}};
    if (reload_policy(srv, &errs) == 0)
        reply(srv, c, "OK reloaded%s%s", errs.text[0] ? " " : "", errs.text);
    else
        reply_err(srv, c, "reload", errs.text);
}

static void do_watch(struct server *srv, struct conn *c, const struct fl_request *r)
{
    /* A pattern no event has would be watched forever in silence: refused,
     * as OnEvent refuses it in a policy. */
    if (r->pattern != NULL && !fl_event_pattern_matches(r->pattern)) {
        char msg[300], safe[210];
        snprintf(msg, sizeof msg,
                 "'%s' matches no event (names such as mod_auth.max-clients-per-host, "
                 "globs such as 'mod_auth.*')",
                 fl_text_escape(r->pattern, safe, sizeof safe));
        reply_err(srv, c, "bad-field", msg);
        return;
    }
    if (r->pattern != NULL && (c->pattern = strdup(r->pattern)) == NULL) {
        reply_err(srv, c, "no-memory", "the daemon is out of memory");
        return;
    }
    reply(srv, c, "OK watching %s", r->pattern != NULL ? r->pattern : "*");
    conn_settle(c, C_WATCH);
    srv->nwatchers++;
}

static void do_ping(struct server *srv, struct conn *c, const struct fl_request *r)
{
    (void)r;
    reply_words(srv, c, "OK", "pong", (char *)NULL);
}

/* What a connection must be for each verb (doc/protocol.md), checked in
 * this order: its state (ANY_STATE: whatever it is), then the Allow* right
 * it needs beyond a session's (NO_RIGHT: none); then the handler runs. */
#define ANY_STATE (-1)
#define NO_RIGHT (-1)
static const struct verb_rule {
    int state;               /* enum conn_state, or ANY_STATE */
    const char *wrong_state; /* the refusal when it is not */
    int right;               /* fl_access, or NO_RIGHT */
    const char *doing;       /* for the refusal: "may not DOING" */
    void (*handler)(struct server *srv, struct conn *c, const struct fl_request *r);
} verbs[] = {
    [FL_VERB_HELLO] = {C_NEW, "HELLO was already said", NO_RIGHT, NULL, do_hello},
    [FL_VERB_TOKEN] = {C_READY, "TOKEN comes before CONNECT or RESUME", NO_RIGHT, NULL,
                       do_token},
    [FL_VERB_CONNECT] = {C_READY, "this connection already has a session", NO_RIGHT,
                         NULL, do_declare},
    [FL_VERB_RESUME] = {C_READY, "this connection already has a session", NO_RIGHT,
                        NULL, do_declare},
    [FL_VERB_USER] = {C_SESSION, "no session on this connection: CONNECT first",
                      NO_RIGHT, NULL, do_login_step},
    [FL_VERB_USERAS] = {C_SESSION, "no session on this connection: CONNECT first",
                        NO_RIGHT, NULL, do_login_step},
    [FL_VERB_PASS] = {C_SESSION, "no session on this connection: CONNECT first",
                      NO_RIGHT, NULL, do_login_step},
    [FL_VERB_ANONPASS] = {C_SESSION, "no session on this connection: CONNECT first",
                          NO_RIGHT, NULL, do_login_step},
    [FL_VERB_LOGOUT] = {C_SESSION, "no session on this connection: CONNECT first",
                        NO_RIGHT, NULL, do_logout},
    [FL_VERB_CLOSE] = {ANY_STATE, NULL, NO_RIGHT, NULL, do_close},
    [FL_VERB_STATUS] = {ANY_STATE, NULL, FL_ACCESS_STATUS, "read status", do_render},
    [FL_VERB_METRICS] = {ANY_STATE, NULL, FL_ACCESS_STATUS, "read status", do_render},
    [FL_VERB_RELOAD] = {ANY_STATE, NULL, FL_ACCESS_ADMIN, "reload the policy",
                        do_reload},
    [FL_VERB_WATCH] = {C_READY, "a session connection cannot watch", FL_ACCESS_STATUS,
                       "watch events", do_watch},
    [FL_VERB_PING] = {ANY_STATE, NULL, NO_RIGHT, NULL, do_ping},
    [FL_VERB_BAN] = {ANY_STATE, NULL, FL_ACCESS_ADMIN, "list or change bans", do_ban},
    [FL_VERB_GROUPS] = {C_SESSION, "no session on this connection: CONNECT first",
                        NO_RIGHT, NULL, do_groups},
};
_Static_assert(sizeof verbs / sizeof verbs[0] == FL_VERB_COUNT, "a verb has no rule");

static void handle_request(struct server *srv, struct conn *c, char *line, size_t len)
{
    struct fl_request r;
    const char *reason;
    char msg[256];
    if (fl_request_parse(line, len, &r, &reason, msg, sizeof msg) < 0) {
        reply_err(srv, c, reason, msg);
        return;
    }
    /* Before HELLO only HELLO; a watcher only pings. */
    if (c->state == C_NEW && r.verb != FL_VERB_HELLO) {
        reply_err(srv, c, "hello", "say HELLO 1 first");
        return;
    }
    if (c->state == C_WATCH && r.verb != FL_VERB_PING) {
        reply_err(srv, c, "state", "a watching connection only receives events");
        return;
    }
    const struct verb_rule *v = &verbs[r.verb];
    bool in_state = v->state == ANY_STATE || (int)c->state == v->state;
    if (in_state && v->state == C_SESSION)
        in_state = c->session != NULL;
    if (!in_state) {
        reply_err(srv, c, "state", v->wrong_state);
        return;
    }
    if (v->right != NO_RIGHT &&
        !allowed_beyond_sessions(srv, c, (fl_access)v->right, v->doing))
        return;
    v->handler(srv, c, &r);
}

/* Serve up to budget of the whole lines c has sent (all of them for a
 * negative budget), stopping when its replies fill its queue; what is left
 * waits for a later turn (the backlog). */
static void serve_lines(struct server *srv, struct conn *c, int budget)
{
    char *start = c->in, *end = c->in + c->inlen, *lf;
    while (!c->dead && c->state != C_CLOSING && !c->paused && !c->farm_wait &&
           budget != 0 && (lf = memchr(start, '\n', (size_t)(end - start))) != NULL) {
        *lf = '\0';
        if (c->discarding)
            c->discarding = false; /* the tail of a line too long */
        else
            handle_request(srv, c, start, (size_t)(lf - start));
        start = lf + 1;
        budget--;
        if (c->pending)
            c->since = time(NULL); /* idle is without a request */
        if (!c->dead && c->out_mem > OUT_PAUSE && c->state != C_WATCH) {
            /* Replies wait unread: its next requests wait too. */
            c->paused = true;
            c->since = time(NULL);
        }
    }
    if (c->dead)
        return;
    c->inlen = (size_t)(end - start);
    memmove(c->in, start, c->inlen);
    if (c->inlen == sizeof c->in && memchr(c->in, '\n', c->inlen) == NULL) {
        if (!c->discarding) {
            char text[96];
            snprintf(text, sizeof text, "a request line may be at most %d bytes",
                     FL_PROTO_LINE_MAX);
            reply_err(srv, c, "too-long", text);
        }
        c->discarding = true;
        c->inlen = 0;
    }
    if (!c->paused && !c->farm_wait && c->state != C_CLOSING &&
        memchr(c->in, '\n', c->inlen) != NULL)
        backlog_add(srv, c);
    conn_flush(srv, c);
}

/* One read, then its lines, within the turn's budget. A client whose peer
 * closed has every line it sent served first. */
static void read_client(struct server *srv, struct conn *c)
{
    if (c->dead || c->state == C_CLOSING)
        return;
    ssize_t n = 0;
    if (c->inlen < sizeof c->in) {
        do
            n = read(c->fd, c->in + c->inlen, sizeof c->in - c->inlen);
        while (n < 0 && errno == EINTR);
    }
    if (n == 0 && c->inlen < sizeof c->in) {
        /* The end: what it sent before is still carried out (a session's
         * CLOSE), with nobody to read the replies. */
        c->peer_gone = true;
        c->paused = false;
        serve_lines(srv, c, -1);
        conn_kill(srv, c);
        return;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        conn_kill(srv, c);
        return;
    }
    if (n > 0)
        c->inlen += (size_t)n;
    serve_lines(srv, c, REQUESTS_PER_TURN);
}

/* c has whole lines waiting that the budget of its turn did not reach: it
 * is served again after the other clients of this turn. */
static void backlog_add(struct server *srv, struct conn *c)
{
    if (c->backlog || c->dead)
        return;
    c->backlog = true;
    c->next_backlog = srv->backlog;
    srv->backlog = c;
}

static void serve_backlog(struct server *srv)
{
    struct conn *list = srv->backlog;
    srv->backlog = NULL;
    while (list != NULL) {
        struct conn *c = list;
        list = c->next_backlog;
        c->backlog = false;
        if (!c->dead && !c->paused && !c->farm_wait)
            serve_lines(srv, c, REQUESTS_PER_TURN);
    }
}

/* --- signals and the loop ---------------------------------------------------- */

static void handle_signals(struct server *srv)
{
    struct signalfd_siginfo si;
    while (read(srv->signal_fd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGHUP) {
            struct reload_errors errs = {{0}};
            reload_policy(srv, &errs);
        } else if (si.ssi_signo == SIGUSR1) {
            /* logrotate moved the files: new ones under the same names. */
            if (log_reopen() < 0)
                log_msg(LOG_ERR, "cannot open the log again: %s; it stays where it was",
                        strerror(errno));
            int failed = fl_engine_reopen(srv->engine);
            log_msg(LOG_NOTICE, "signal %u: log files opened again%s", si.ssi_signo,
                    failed > 0 ? " (some jsonl files could not be: see above)" : "");
        } else {
            log_msg(LOG_NOTICE, "signal %u: shutting down", si.ssi_signo);
            srv->stopping = true;
        }
    }
}

int server_init(struct server *srv, fl_engine *e, int listen_fd,
                const char *socket_path)
{
    memset(srv, 0, sizeof *srv);
    srv->engine = e;
    srv->listen_fd = listen_fd;
    srv->socket_path = socket_path;
    srv->self = geteuid();
    srv->started = time(NULL);
    srv->idle_seconds = IDLE_PENDING_SEC;

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGUSR1);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    srv->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    srv->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (srv->signal_fd < 0 || srv->epoll_fd < 0) {
        log_msg(LOG_ERR, "cannot set up the event loop: %s", strerror(errno));
        return -1;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &tag_listen};
    struct epoll_event sev = {.events = EPOLLIN, .data.ptr = &tag_signal};
    if (epoll_ctl(srv->epoll_fd, EPOLL_CTL_ADD, listen_fd, &ev) < 0 ||
        epoll_ctl(srv->epoll_fd, EPOLL_CTL_ADD, srv->signal_fd, &sev) < 0) {
        log_msg(LOG_ERR, "cannot watch the socket: %s", strerror(errno));
        return -1;
    }

    /* Listen to every event: for the requester, the watchers and metrics. */
    srv->module = fl_module_load(e, "ftplimitd");
    const char *const *names = fl_event_names();
    while (names[srv->nevents] != NULL)
        srv->nevents++;
    srv->event_counts = calloc(srv->nevents, sizeof *srv->event_counts);
    taps = calloc(srv->nevents, sizeof *taps);
    if (srv->module == NULL || srv->event_counts == NULL || taps == NULL) {
        log_msg(LOG_ERR, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < srv->nevents; i++) {
        taps[i] = (struct event_tap){srv, i, names[i]};
        fl_event_register(e, srv->module, names[i], on_event, &taps[i]);
    }
    cluster_configure(srv);
    return 0;
}

/* Clients that have been pending too long, or paused without reading a
 * byte of their replies for too long, go. */
static void sweep(struct server *srv, time_t now)
{
    struct conn *next;
    for (struct conn *c = srv->conns; c != NULL; c = next) {
        next = c->next; /* a killed client moves to the graveyard */
        if (c->dead)
            continue;
        if (c->paused && now - c->since >= PAUSE_MAX_SEC) {
            srv->slow_clients++;
            log_limited(
                LOG_KIND_SLOW, LOG_WARNING,
                "client pid %d uid %d does not read its replies; disconnecting it",
                (int)c->cred.pid, (int)c->cred.uid);
            conn_kill(srv, c);
        } else if (c->pending && c->cred.uid != 0 && c->cred.uid != srv->self &&
                   now - c->since >= srv->idle_seconds) {
            log_limited(LOG_KIND_IDLE, LOG_NOTICE,
                        "client pid %d uid %d, neither a session nor a watcher, sent "
                        "nothing for %d s; disconnecting it",
                        (int)c->cred.pid, (int)c->cred.uid, srv->idle_seconds);
            conn_kill(srv, c);
        }
    }
}

int server_run(struct server *srv)
{
    struct epoll_event events[MAX_EVENTS];
    time_t swept = time(NULL);
    while (!srv->stopping) {
        fl_usec wait = fl_timers_timeout(srv->engine);
        int ms = wait < 0 ? -1 : (int)((wait + 999) / 1000);
        if (ms < 0 || ms > SWEEP_SEC * 1000)
            ms = SWEEP_SEC * 1000;
        int cms = cluster_wait_ms(srv);
        if (cms >= 0 && cms < ms)
            ms = cms;
        if (srv->backlog != NULL)
            ms = 0; /* lines wait: poll, and serve them */
        int n = epoll_wait(srv->epoll_fd, events, MAX_EVENTS, ms);
        if (n < 0 && errno != EINTR) {
            log_msg(LOG_ERR, "epoll_wait: %s", strerror(errno));
            return 1;
        }
        for (int i = 0; i < n; i++) {
            void *tag = events[i].data.ptr;
            if (tag == &tag_listen) {
                accept_client(srv);
            } else if (tag == &tag_signal) {
                handle_signals(srv);
            } else if (cluster_owns(srv, tag)) {
                cluster_io(srv, tag, events[i].events);
            } else {
                struct conn *c = tag;
                if (c->dead)
                    continue;
                /* A session process that sent CLOSE (or died) and closed:
                 * its last requests are still carried out, but nothing is
                 * written back, and the core.exit is not formatted for it. */
                if (events[i].events & EPOLLHUP)
                    c->peer_gone = true;
                if (events[i].events & EPOLLOUT)
                    conn_flush(srv, c);
                if (!c->dead && (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                    read_client(srv, c);
            }
        }
        serve_backlog(srv);
        fl_timers_run(srv->engine);
        cluster_tick(srv);
        time_t now = time(NULL);
        if (now - swept >= SWEEP_SEC) {
            sweep(srv, now);
            swept = now;
        }
        bury();
    }
    return 0;
}

void server_shutdown(struct server *srv)
{
    /* The engine ends every session itself (core.exit each, core.shutdown);
     * the clients must not close them a second time. */
    for (struct conn *c = srv->conns; c != NULL; c = c->next)
        c->session = NULL;
    cluster_stop(srv); /* the farm counts this node no more */
    fl_engine_shutdown(srv->engine);
    for (struct conn *c = srv->conns; c != NULL; c = c->next)
        conn_flush(srv, c);
    while (srv->conns != NULL)
        conn_kill(srv, srv->conns);
    bury();
    free_spare_conns();
    if (spare_fd >= 0)
        close(spare_fd);
    close(srv->epoll_fd);
    close(srv->signal_fd);
    /* The engine outlives the loop: its listeners must not reach it. */
    if (srv->module != NULL)
        (void)fl_module_unload(srv->engine, srv->module);
    srv->module = NULL;
    free(srv->event_counts);
    free(taps);
}
