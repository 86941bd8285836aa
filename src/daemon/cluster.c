/*
 * cluster.c - this ftplimitd as a node of a farm (cluster.h, doc/cluster.md).
 *
 * One connection carries every command, pipelined: the decisions' scripts,
 * the releases, the heartbeat, the declarations and the bans; the replies
 * come back in order, to the queue of what was sent. A second connection
 * only subscribes to the farm's bans. Both are non-blocking and watched by
 * the daemon's epoll; a lost connection is made again with back-off, and
 * the node then declares what it counts, so the farm's totals are exact.
 */
#include "config.h"

#include <string.h>

#include "cluster.h"

#ifndef HAVE_HIREDIS
/* Built without hiredis: the policy parser refuses Cluster (naming
 * libhiredis-dev), so no server ever has one. */
int cluster_configure(struct server *srv)
{
    (void)srv;
    return 0;
}
void cluster_stop(struct server *srv)
{
    (void)srv;
}
bool cluster_decide(struct server *srv, struct conn *conn, fl_session *s,
                    fl_farm_step step, fl_decision *d)
{
    (void)srv, (void)conn, (void)s, (void)step, (void)d;
    return false;
}
void cluster_count(struct server *srv, fl_session *s)
{
    (void)srv, (void)s;
}
bool cluster_applying(struct server *srv)
{
    (void)srv;
    return false;
}
void cluster_conn_gone(struct server *srv, struct conn *conn)
{
    (void)srv, (void)conn;
}
void cluster_event(struct server *srv, const char *event, const void *data)
{
    (void)srv, (void)event, (void)data;
}
void cluster_logout(struct server *srv, const char *sid)
{
    (void)srv, (void)sid;
}
void cluster_ban_lifted(struct server *srv, fl_ban_kind kind, const char *target,
                        const char *server)
{
    (void)srv, (void)kind, (void)target, (void)server;
}
bool cluster_owns(struct server *srv, const void *tag)
{
    (void)srv, (void)tag;
    return false;
}
void cluster_io(struct server *srv, const void *tag, uint32_t events)
{
    (void)srv, (void)tag, (void)events;
}
int cluster_wait_ms(struct server *srv)
{
    (void)srv;
    return -1;
}
void cluster_tick(struct server *srv)
{
    (void)srv;
}
json_t *cluster_status_json(struct server *srv)
{
    (void)srv;
    return NULL;
}
void cluster_stats(struct server *srv, struct cluster_stats *out)
{
    (void)srv;
    memset(out, 0, sizeof *out);
}
#else

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <uthash.h>

#include <ftplimit/json.h>

#include "cluster_scripts.h"
#include "log.h"
#include "server.h"
#include "util/text.h"

#define TAG "{ftplimit}"
#define KEY_TOTAL TAG ":total"
#define KEY_NODES TAG ":nodes"
#define KEY_BANS TAG ":bans"
#define KEY_NODE TAG ":node:"
#define KEY_RATE TAG ":rate:"
#define CHANNEL "ftplimit:bans"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define DECLARE_CHUNK 500 /* field, count pairs a declaration sends at once */
#define UNSENT_BANS_MAX 10000
#define ARGS_MAX (5 + 4 * FL_FARM_CLAIMS_MAX)

enum script { S_DECIDE, S_RELEASE, S_DECLARE, S_HEARTBEAT, S_REAP, S_LEAVE, NSCRIPTS };
static const char *const script_text[NSCRIPTS] = {
    LUA_DECIDE, LUA_RELEASE, LUA_DECLARE, LUA_HEARTBEAT, LUA_REAP, LUA_LEAVE,
};

/* A session's counts in the farm: its CONNECT's and its PASS's fields,
 * each packed as a 2-byte length and the bytes. */
struct packed {
    char *bytes;
    size_t len;
};

struct record {
    UT_hash_handle hh;
    struct packed fields[2]; /* by fl_farm_step */
    char sid[];
};

/* A claim of a decision on its way. */
struct claim {
    char op;
    int limit;
    long long max, interval_ms;
    const char *message;
    uint16_t off, len; /* in the decision's field bytes */
};

enum pend_kind { P_NONE, P_DECIDE, P_HEARTBEAT, P_DECLARE, P_BANS };

struct pend {
    struct pend *next;
    enum pend_kind kind;
    fl_usec sent; /* monotonic */
    /* P_DECIDE */
    struct conn *conn; /* NULL: gone, or answered already */
    bool answered;     /* answered by ClusterFailMode (timeout) */
    bool fail_open;    /* ... with the session let in and recorded */
    bool retried;
    fl_farm_step step;
    uint32_t policy_gen;
    uint64_t declares_before; /* cl->declares when it was sent */
    size_t nclaims;
    struct claim claims[FL_FARM_CLAIMS_MAX];
    char *fields;
    size_t fields_len;
    char sid[FL_SID_MAX + 1];
};

/* A field's count, summed over the records for a declaration. */
struct field_count {
    UT_hash_handle hh;
    long long n;
    size_t len;
    char field[];
};

struct link {
    redisContext *ctx;
    bool connecting; /* the connect is under way */
    bool want_out;   /* EPOLLOUT registered */
    char tag;        /* its epoll tag's address is its identity */
};

struct cluster {
    fl_farm_conf conf;
    struct link cmd, sub;
    bool up; /* cmd connected and its setup sent */
    bool sub_up;
    int backoff_ms;
    fl_usec retry_at; /* next connection attempt (monotonic), 0: none due */
    fl_usec next_beat;
    bool dirty; /* the farm may count this node wrongly: declare */
    char sha[NSCRIPTS][41];
    bool sha_known;
    struct pend *head, *tail;
    size_t npending;
    struct record *records;
    size_t nrecords;
    uint64_t seq;
    bool applying; /* a ban from the farm is being applied */
    char node_key[sizeof KEY_NODE + 80];
    /* Bans made while Redis was away, published once it is back. */
    char **unsent_bans;
    size_t nunsent;
    /* What the last heartbeat said. */
    json_t *live, *totals;
    fl_usec beat_at;
    /* Figures. */
    struct cluster_stats st;
    char last_error[256];
};

/* How long a renewal holds the lease: three quarters of ClusterLease,
 * renewed every quarter. A node that dies is taken out by the next
 * heartbeat of another after its hold ends: within one ClusterLease of its
 * last renewal, and two renewals may be late before a live node loses it. */
static long long lease_hold_ms(const struct cluster *cl)
{
    return (long long)(cl->conf.lease * 3 / 4 / 1000);
}

static struct cluster *cl_of(struct server *srv)
{
    return srv->cluster;
}

static fl_usec mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (fl_usec)ts.tv_sec * FL_USEC_PER_SEC + ts.tv_nsec / 1000;
}

static long long unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- packed fields --------------------------------------------------------- */

static bool packed_add(struct packed *p, const char *field, size_t len)
{
    char *b = realloc(p->bytes, p->len + 2 + len);
    if (b == NULL)
        return false;
    b[p->len] = (char)(len >> 8);
    b[p->len + 1] = (char)(len & 0xff);
    memcpy(b + p->len + 2, field, len);
    p->bytes = b;
    p->len += 2 + len;
    return true;
}

/* The next field of p from *at: its bytes and length, or NULL at the end. */
static const char *packed_next(const struct packed *p, size_t *at, size_t *len)
{
    if (*at + 2 > p->len)
        return NULL;
    *len =
        ((size_t)(unsigned char)p->bytes[*at] << 8) | (unsigned char)p->bytes[*at + 1];
    const char *f = p->bytes + *at + 2;
    *at += 2 + *len;
    return f;
}

static void packed_free(struct packed *p)
{
    free(p->bytes);
    p->bytes = NULL;
    p->len = 0;
}

/* --- records ---------------------------------------------------------------- */

static struct record *record_find(struct cluster *cl, const char *sid)
{
    struct record *r;
    HASH_FIND_STR(cl->records, sid, r);
    return r;
}

static struct record *record_get(struct cluster *cl, const char *sid)
{
    struct record *r = record_find(cl, sid);
    if (r != NULL)
        return r;
    size_t n = strlen(sid);
    if ((r = calloc(1, sizeof *r + n + 1)) == NULL)
        return NULL;
    memcpy(r->sid, sid, n + 1);
    HASH_ADD_STR(cl->records, sid, r);
    cl->nrecords++;
    return r;
}

static void record_free(struct cluster *cl, struct record *r)
{
    HASH_DEL(cl->records, r);
    packed_free(&r->fields[0]);
    packed_free(&r->fields[1]);
    free(r);
    cl->nrecords--;
}

/* The counted fields of a decision (its rate windows are not a session's)
 * into the session's record. */
static void record_add(struct cluster *cl, const struct pend *p)
{
    struct record *r = record_get(cl, p->sid);
    if (r == NULL) {
        cl->dirty = true; /* the next declaration is short of it */
        return;
    }
    struct packed *into = &r->fields[p->step];
    for (size_t i = 0; i < p->nclaims; i++) {
        const struct claim *k = &p->claims[i];
        if (k->op == FL_FARM_RATE)
            continue;
        bool seen = false; /* a field checked twice is counted once */
        for (size_t j = 0; j < i && !seen; j++)
            seen =
                p->claims[j].op != FL_FARM_RATE && p->claims[j].len == k->len &&
                memcmp(p->fields + p->claims[j].off, p->fields + k->off, k->len) == 0;
        if (!seen && !packed_add(into, p->fields + k->off, k->len))
            cl->dirty = true;
    }
}

/* --- the command connection -------------------------------------------------- */

static void link_watch(struct server *srv, struct link *l, bool out)
{
    if (l->ctx == NULL || l->ctx->fd < 0)
        return;
    struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0),
                             .data.ptr = &l->tag};
    if (epoll_ctl(srv->epoll_fd, EPOLL_CTL_MOD, l->ctx->fd, &ev) == 0)
        l->want_out = out;
}

static void link_close(struct link *l)
{
    if (l->ctx != NULL)
        redisFree(l->ctx); /* closes its descriptor: out of the epoll set */
    l->ctx = NULL;
    l->connecting = false;
    l->want_out = false;
}

/* Write what is queued on l; watch for writability while some is left. */
static int link_flush(struct server *srv, struct link *l)
{
    if (l->ctx == NULL || l->connecting)
        return 0;
    int done = 0;
    if (redisBufferWrite(l->ctx, &done) != REDIS_OK)
        return -1;
    if (!done != l->want_out)
        link_watch(srv, l, !done);
    return 0;
}

static void pend_push(struct cluster *cl, struct pend *p)
{
    p->next = NULL;
    p->sent = mono_now();
    if (cl->tail != NULL)
        cl->tail->next = p;
    else
        cl->head = p;
    cl->tail = p;
    cl->npending++;
}

static void pend_free(struct pend *p)
{
    if (p == NULL)
        return;
    free(p->fields);
    free(p);
}

/* Queue a command whose reply is awaited as kind (P_NONE: read and
 * dropped). 0, or -1 without memory. */
static int command(struct cluster *cl, enum pend_kind kind, struct pend *p, int argc,
                   const char **argv, const size_t *lens)
{
    if (redisAppendCommandArgv(cl->cmd.ctx, argc, argv, lens) != REDIS_OK)
        return -1;
    if (p == NULL && (p = calloc(1, sizeof *p)) == NULL)
        return -1; /* cannot happen often; the reply would be mismatched */
    p->kind = kind;
    pend_push(cl, p);
    return 0;
}

static int command_v(struct cluster *cl, enum pend_kind kind, int argc, ...)
{
    const char *argv[16];
    size_t lens[16];
    va_list ap;
    va_start(ap, argc);
    for (int i = 0; i < argc && i < 16; i++) {
        argv[i] = va_arg(ap, const char *);
        lens[i] = strlen(argv[i]);
    }
    va_end(ap);
    return command(cl, kind, NULL, argc, argv, lens);
}

/* EVALSHA of script s: KEYS then ARGV as given. */
static int script(struct cluster *cl, enum script s, enum pend_kind kind,
                  struct pend *p, int nkeys, int argc, const char **argv,
                  const size_t *lens)
{
    const char *v[ARGS_MAX + 8];
    size_t l[ARGS_MAX + 8];
    char nk[16];
    if (argc > ARGS_MAX)
        return -1;
    snprintf(nk, sizeof nk, "%d", nkeys);
    v[0] = "EVALSHA";
    l[0] = 7;
    v[1] = cl->sha[s];
    l[1] = 40;
    v[2] = nk;
    l[2] = strlen(nk);
    for (int i = 0; i < argc; i++) {
        v[3 + i] = argv[i];
        l[3 + i] = lens[i];
    }
    return command(cl, kind, p, 3 + argc, v, l);
}

/* --- answers to the sessions --------------------------------------------------- */

/* A decision's answer by ClusterFailMode: open lets the session in on the
 * node's own counts (and records it, declared to the farm later); closed
 * refuses it. d: the answer; s: the session, or NULL when gone. */
static void fail_mode(struct server *srv, struct cluster *cl, struct pend *p,
                      fl_session *s, fl_decision *d)
{
    memset(d, 0, sizeof *d);
    d->verdict = d->would = FL_ALLOW;
    if (s == NULL)
        return;
    if (!cl->conf.fail_closed) {
        cl->st.fail_open++;
        record_add(cl, p);
        p->fail_open = true;
        cl->dirty = true;
        return;
    }
    cl->st.fail_closed++;
    struct conn *saved = srv->current;
    srv->current = p->conn;
    if (fl_farm_unavailable(srv->engine, s, p->step, d) < 0)
        d->verdict = d->would = FL_ALLOW; /* cannot undo: let it be */
    srv->current = saved;
}

static void answer(struct server *srv, struct pend *p, fl_session *s,
                   const fl_decision *d)
{
    if (p->conn == NULL)
        return;
    struct conn *c = p->conn;
    p->conn = NULL;
    server_farm_answer(srv, c, s, p->step, d);
}

/* The session a decision was for, if it is still the one that waits. */
static fl_session *pend_session(struct server *srv, const struct pend *p)
{
    return p->conn != NULL || p->answered ? fl_session_find(srv->engine, p->sid) : NULL;
}

/* Every decision not answered yet (and older than deadline, when > 0) is
 * answered by ClusterFailMode. */
static void answer_overdue(struct server *srv, struct cluster *cl, fl_usec deadline)
{
    for (struct pend *p = cl->head; p != NULL; p = p->next) {
        if (p->kind != P_DECIDE || p->answered)
            continue;
        if (deadline > 0 && p->sent > deadline)
            break;
        fl_session *s = p->conn != NULL ? fl_session_find(srv->engine, p->sid) : NULL;
        fl_decision d;
        fail_mode(srv, cl, p, s, &d);
        p->answered = true;
        if (deadline > 0)
            cl->st.timeouts++;
        answer(srv, p, s, &d);
    }
}

/* --- the release of a session's counts ----------------------------------------- */

static void release_fields(struct server *srv, struct cluster *cl,
                           const struct packed *f)
{
    (void)srv;
    if (f->len == 0)
        return;
    if (!cl->up) {
        cl->dirty = true; /* the declaration after the reconnect says it */
        return;
    }
    const char *argv[ARGS_MAX];
    size_t lens[ARGS_MAX];
    int argc = 2;
    argv[0] = KEY_TOTAL;
    lens[0] = strlen(KEY_TOTAL);
    argv[1] = cl->node_key;
    lens[1] = strlen(cl->node_key);
    size_t at = 0, len;
    const char *field;
    while ((field = packed_next(f, &at, &len)) != NULL) {
        argv[argc] = field;
        lens[argc++] = len;
        if (argc == ARGS_MAX) {
            if (script(cl, S_RELEASE, P_NONE, NULL, 2, argc, argv, lens) < 0)
                cl->dirty = true;
            argc = 2;
        }
    }
    if (argc > 2 && script(cl, S_RELEASE, P_NONE, NULL, 2, argc, argv, lens) < 0)
        cl->dirty = true;
}

/* A decision the farm counted for a session that is gone, or that
 * ClusterFailMode closed refused meanwhile: released again. */
static void release_pend(struct server *srv, struct cluster *cl, const struct pend *p)
{
    struct packed f = {0};
    for (size_t i = 0; i < p->nclaims; i++) {
        const struct claim *k = &p->claims[i];
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen =
                p->claims[j].op != FL_FARM_RATE && p->claims[j].len == k->len &&
                memcmp(p->fields + p->claims[j].off, p->fields + k->off, k->len) == 0;
        if (k->op != FL_FARM_RATE && !seen &&
            !packed_add(&f, p->fields + k->off, k->len))
            cl->dirty = true;
    }
    release_fields(srv, cl, &f);
    packed_free(&f);
}

/* --- declaring this node's counts ----------------------------------------------- */

static void count_field(struct field_count **all, const char *field, size_t len,
                        bool *oom)
{
    struct field_count *fc;
    HASH_FIND(hh, *all, field, len, fc);
    if (fc == NULL) {
        if ((fc = malloc(sizeof *fc + len)) == NULL) {
            *oom = true;
            return;
        }
        fc->n = 0;
        fc->len = len;
        memcpy(fc->field, field, len);
        HASH_ADD_KEYPTR(hh, *all, fc->field, len, fc);
    }
    fc->n++;
}

/* Declare every session's counts: the farm's part of this node is
 * replaced by them. */
static void declare(struct server *srv, struct cluster *cl)
{
    (void)srv;
    struct field_count *all = NULL, *fc, *tmp;
    bool oom = false;
    struct record *r, *rtmp;
    HASH_ITER(hh, cl->records, r, rtmp)
    {
        for (int s = 0; s < 2; s++) {
            size_t at = 0, len;
            const char *field;
            while ((field = packed_next(&r->fields[s], &at, &len)) != NULL)
                count_field(&all, field, len, &oom);
        }
    }
    char lease[32];
    snprintf(lease, sizeof lease, "%lld", lease_hold_ms(cl));
    /* EVALSHA's arguments, past script()'s bound. */
    static const char *argv[9 + 2 * DECLARE_CHUNK];
    static size_t lens[9 + 2 * DECLARE_CHUNK];
    char(*nums)[24] = calloc(DECLARE_CHUNK, 24);
    if (nums == NULL)
        oom = true;
    int first = 1, argc = 0;
    bool sent_any = false;
    fc = all;
    while (!oom) {
        argv[0] = "EVALSHA";
        argv[1] = cl->sha[S_DECLARE];
        argv[2] = "3";
        argv[3] = KEY_TOTAL;
        argv[4] = cl->node_key;
        argv[5] = KEY_NODES;
        argv[6] = cl->conf.node;
        argv[7] = lease;
        argv[8] = first ? "1" : "0";
        argc = 9;
        for (int i = 0; i < 9; i++)
            lens[i] = strlen(argv[i]);
        int pairs = 0;
        for (; fc != NULL && pairs < DECLARE_CHUNK; fc = fc->hh.next, pairs++) {
            snprintf(nums[pairs], 24, "%lld", fc->n);
            argv[argc] = fc->field;
            lens[argc++] = fc->len;
            argv[argc] = nums[pairs];
            lens[argc++] = strlen(nums[pairs]);
        }
        if (command(cl, P_DECLARE, NULL, argc, argv, lens) < 0) {
            oom = true;
            break;
        }
        sent_any = true;
        first = 0;
        if (fc == NULL)
            break;
    }
    free(nums);
    HASH_ITER(hh, all, fc, tmp)
    {
        HASH_DEL(all, fc);
        free(fc);
    }
    if (sent_any) {
        cl->st.declares++;
        cl->dirty = oom;
    }
}

/* --- bans --------------------------------------------------------------------------
 */

/* "KIND\tSERVER\tTARGET" ("*": every server) and "END_MS\tREASON\tMESSAGE". */
static void ban_publish(struct cluster *cl, const char *kind, const char *server,
                        const char *target, long long end_ms, const char *reason,
                        const char *message)
{
    char field[1024], value[1024], msg[2200];
    snprintf(field, sizeof field, "%s\t%s\t%s", kind, server != NULL ? server : "*",
             target);
    snprintf(value, sizeof value, "%lld\t%s\t%s", end_ms,
             reason != NULL ? reason : "manual", message != NULL ? message : "");
    snprintf(msg, sizeof msg, "add\t%s\t%s\t%s", cl->conf.node, field, value);
    if (!cl->up) {
        if (cl->nunsent < UNSENT_BANS_MAX) {
            char **list = realloc(cl->unsent_bans, (cl->nunsent + 1) * sizeof *list);
            if (list != NULL) {
                cl->unsent_bans = list;
                if ((list[cl->nunsent] = strdup(msg)) != NULL)
                    cl->nunsent++;
            }
        }
        return;
    }
    (void)command_v(cl, P_NONE, 4, "HSET", KEY_BANS, field, value);
    (void)command_v(cl, P_NONE, 3, "PUBLISH", CHANNEL, msg);
    cl->st.bans_published++;
}

/* A published line again ("add\tNODE\tKIND\tSERVER\tTARGET\tEND\tREASON\tMSG"). */
static void ban_republish(struct cluster *cl, const char *line)
{
    const char *p = line;
    for (int tabs = 0; tabs < 2 && p != NULL; tabs++)
        p = strchr(p, '\t') != NULL ? strchr(p, '\t') + 1 : NULL;
    if (p == NULL)
        return;
    /* KIND\tSERVER\tTARGET is the field, the rest the value. */
    const char *v = p;
    for (int tabs = 0; tabs < 3 && v != NULL; tabs++)
        v = strchr(v, '\t') != NULL ? strchr(v, '\t') + 1 : NULL;
    if (v == NULL)
        return;
    char field[1024];
    snprintf(field, sizeof field, "%.*s", (int)(v - p - 1), p);
    (void)command_v(cl, P_NONE, 4, "HSET", KEY_BANS, field, v);
    (void)command_v(cl, P_NONE, 3, "PUBLISH", CHANNEL, line);
    cl->st.bans_published++;
}

/* Apply a ban from the farm: KIND, SERVER ("*": every one), TARGET, END_MS,
 * REASON, MESSAGE. Its end passed: nothing. */
static void ban_apply(struct server *srv, struct cluster *cl, char *const f[6])
{
    fl_ban_kind kind;
    long long end = strtoll(f[3], NULL, 10), now = unix_ms();
    if (fl_ban_kind_parse(f[0], &kind) < 0 || end <= now)
        return;
    const char *server = strcmp(f[1], "*") == 0 ? NULL : f[1];
    fl_usec duration = (fl_usec)(end - now) * 1000;
    cl->applying = true;
    int rc = fl_ban_add_from(srv->engine, kind, f[2], server, duration,
                             f[5][0] != '\0' ? f[5] : NULL, f[4]);
    cl->applying = false;
    if (rc == 0)
        cl->st.bans_applied++;
}

/* Split line at tabs into n fields (the last takes the rest). */
static bool split_tabs(char *line, char **f, int n)
{
    for (int i = 0; i < n; i++) {
        f[i] = line;
        if (i == n - 1)
            break;
        char *tab = strchr(line, '\t');
        if (tab == NULL)
            return false;
        *tab = '\0';
        line = tab + 1;
    }
    return true;
}

static void on_published(struct server *srv, struct cluster *cl, const char *payload,
                         size_t len)
{
    char line[2200];
    if (len >= sizeof line)
        return;
    memcpy(line, payload, len);
    line[len] = '\0';
    char *f[9];
    if (strncmp(line, "add\t", 4) == 0 && split_tabs(line, f, 8)) {
        if (strcmp(f[1], cl->conf.node) != 0)
            ban_apply(srv, cl, f + 2);
    } else if (strncmp(line, "del\t", 4) == 0 && split_tabs(line, f, 5)) {
        fl_ban_kind kind;
        if (strcmp(f[1], cl->conf.node) == 0 || fl_ban_kind_parse(f[2], &kind) < 0)
            return;
        cl->applying = true;
        if (fl_ban_remove(srv->engine, kind, f[4],
                          strcmp(f[3], "*") == 0 ? NULL : f[3]) == 0)
            cl->st.bans_applied++;
        cl->applying = false;
    }
}

/* --- replies ------------------------------------------------------------------------
 */

static long long int_at(const redisReply *r, size_t i)
{
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || i >= r->elements)
        return 0;
    const redisReply *e = r->element[i];
    if (e->type == REDIS_REPLY_INTEGER)
        return e->integer;
    if (e->type == REDIS_REPLY_STRING)
        return strtoll(e->str, NULL, 10);
    return 0;
}

static void note_error(struct cluster *cl, const char *what, const char *why)
{
    cl->st.errors++;
    snprintf(cl->last_error, sizeof cl->last_error, "%s: %s", what, why);
    char safe[300];
    log_limited(LOG_KIND_CLUSTER, LOG_WARNING, "Cluster %s: %s: %s", cl->conf.url, what,
                fl_text_escape(why, safe, sizeof safe));
}

static void resend(struct server *srv, struct cluster *cl, struct pend *p);

static void on_decide(struct server *srv, struct cluster *cl, struct pend *p,
                      const redisReply *r)
{
    fl_usec now = mono_now();
    cl->st.rtt_seconds_sum += (double)(now - p->sent) / 1e6;
    bool ok = r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements >= 1;
    long long hit = ok ? int_at(r, 0) : -2;
    if (r != NULL && r->type == REDIS_REPLY_ERROR)
        note_error(cl, "a decision", r->str);

    if (hit == -1 && !p->retried) {
        /* This node holds no lease (it expired, or Redis lost it): declare
         * what it counts, then ask again. */
        if (cl->st.declares == p->declares_before)
            declare(srv, cl);
        p->retried = true;
        resend(srv, cl, p);
        return;
    }
    fl_session *s = pend_session(srv, p);
    bool counted = hit == 0 || (hit > 0 && int_at(r, 2) == 1);
    if (p->answered) {
        /* ClusterFailMode answered it already. */
        if (counted && !p->fail_open)
            release_pend(srv, cl, p); /* refused meanwhile, or gone */
        else if (!counted && p->fail_open)
            cl->dirty = true; /* in the records, not in the farm */
        pend_free(p);
        return;
    }
    fl_decision d;
    if (hit < 0 || hit > (long long)p->nclaims) {
        fail_mode(srv, cl, p, s, &d); /* an error: as if Redis were away */
        answer(srv, p, s, &d);
        pend_free(p);
        return;
    }
    if (s == NULL) {
        if (counted)
            release_pend(srv, cl, p);
        pend_free(p);
        return;
    }
    memset(&d, 0, sizeof d);
    d.verdict = d.would = FL_ALLOW;
    if (counted)
        record_add(cl, p);
    if (hit > 0) {
        const struct claim *k = &p->claims[hit - 1];
        const char *message =
            p->policy_gen == fl_farm_policy_gen(srv->engine) ? k->message : NULL;
        cl->st.refusals++;
        srv->current = p->conn; /* its events go before its answer */
        int rc = fl_farm_refuse(srv->engine, s, p->step, k->limit, k->max, int_at(r, 1),
                                message, &d);
        srv->current = NULL;
        if (rc < 0) {
            memset(&d, 0, sizeof d);
            d.verdict = d.would = FL_ALLOW;
        }
    }
    answer(srv, p, fl_session_find(srv->engine, p->sid), &d);
    pend_free(p);
}

static void on_heartbeat(struct server *srv, struct cluster *cl, const redisReply *r)
{
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements < 5) {
        if (r != NULL && r->type == REDIS_REPLY_ERROR)
            note_error(cl, "the heartbeat", r->str);
        return;
    }
    cl->st.lease_renewals++;
    if (int_at(r, 0) == 0 || cl->dirty)
        declare(srv, cl); /* no lease: the farm does not count this node */
    json_decref(cl->live);
    cl->live = json_array();
    const redisReply *live = r->element[1], *dead = r->element[2];
    for (size_t i = 0; live->type == REDIS_REPLY_ARRAY && i < live->elements; i++)
        json_array_append_new(cl->live, fl_json_string(live->element[i]->str));
    cl->st.live_nodes = (unsigned)json_array_size(cl->live);
    /* Nodes whose lease ended: their counts leave the farm's. */
    if (dead->type == REDIS_REPLY_ARRAY && dead->elements > 0) {
        const char *argv[ARGS_MAX];
        size_t lens[ARGS_MAX];
        char keys[ARGS_MAX / 2][sizeof KEY_NODE + 80];
        size_t n =
            dead->elements < ARGS_MAX / 2 - 2 ? dead->elements : ARGS_MAX / 2 - 2;
        argv[0] = KEY_TOTAL;
        argv[1] = KEY_NODES;
        for (size_t i = 0; i < n; i++) {
            snprintf(keys[i], sizeof keys[i], "%s%s", KEY_NODE, dead->element[i]->str);
            argv[2 + i] = keys[i];
            argv[2 + n + i] = dead->element[i]->str;
        }
        for (size_t i = 0; i < 2 + 2 * n; i++)
            lens[i] = strlen(argv[i]);
        (void)script(cl, S_REAP, P_NONE, NULL, (int)(2 + n), (int)(2 + 2 * n), argv,
                     lens);
    }
    /* The farm's sessions and clients beside this node's, by server. */
    json_decref(cl->totals);
    cl->totals = json_object();
    const redisReply *farm = r->element[3], *own = r->element[4];
    fl_server_info servers[64];
    size_t ns = fl_engine_servers(srv->engine, servers, 64);
    for (size_t i = 0;
         i < ns && 2 * i + 1 < farm->elements && 2 * i + 1 < own->elements; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "sessions",
                            json_integer(strtoll(farm->element[2 * i]->str, NULL, 10)));
        json_object_set_new(
            o, "clients",
            json_integer(strtoll(farm->element[2 * i + 1]->str, NULL, 10)));
        json_object_set_new(o, "node_sessions",
                            json_integer(strtoll(own->element[2 * i]->str, NULL, 10)));
        json_object_set_new(
            o, "node_clients",
            json_integer(strtoll(own->element[2 * i + 1]->str, NULL, 10)));
        json_object_set_new(cl->totals, servers[i].name, o);
    }
    cl->beat_at = mono_now();
}

static void on_bans(struct server *srv, struct cluster *cl, const redisReply *r)
{
    if (r == NULL || r->type != REDIS_REPLY_ARRAY)
        return;
    long long now = unix_ms();
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        char key[1024], value[1200];
        snprintf(key, sizeof key, "%s", r->element[i]->str);
        snprintf(value, sizeof value, "%s", r->element[i + 1]->str);
        char *f[6];
        if (!split_tabs(key, f, 3) || !split_tabs(value, f + 3, 3))
            continue;
        if (strtoll(f[3], NULL, 10) <= now) {
            (void)command_v(cl, P_NONE, 3, "HDEL", KEY_BANS, r->element[i]->str);
            continue;
        }
        ban_apply(srv, cl, f);
    }
    /* Then what this node banned while it was away. */
    for (size_t i = 0; i < cl->nunsent; i++) {
        ban_republish(cl, cl->unsent_bans[i]);
        free(cl->unsent_bans[i]);
    }
    cl->nunsent = 0;
}

static void link_lost(struct server *srv, struct cluster *cl, const char *why);

static void read_replies(struct server *srv, struct cluster *cl)
{
    if (redisBufferRead(cl->cmd.ctx) != REDIS_OK) {
        link_lost(srv, cl, cl->cmd.ctx->errstr);
        return;
    }
    for (;;) {
        void *reply = NULL;
        if (redisGetReplyFromReader(cl->cmd.ctx, &reply) != REDIS_OK) {
            link_lost(srv, cl, cl->cmd.ctx->errstr);
            return;
        }
        if (reply == NULL)
            break;
        struct pend *p = cl->head;
        if (p == NULL) {
            freeReplyObject(reply);
            link_lost(srv, cl, "a reply nothing asked for");
            return;
        }
        cl->head = p->next;
        if (cl->head == NULL)
            cl->tail = NULL;
        cl->npending--;
        const redisReply *r = reply;
        switch (p->kind) {
        case P_DECIDE:
            on_decide(srv, cl, p, r);
            p = NULL; /* freed, or sent again */
            break;
        case P_HEARTBEAT:
            on_heartbeat(srv, cl, r);
            break;
        case P_BANS:
            on_bans(srv, cl, r);
            break;
        case P_DECLARE:
        case P_NONE:
            if (r->type == REDIS_REPLY_ERROR)
                note_error(cl, p->kind == P_DECLARE ? "a declaration" : "a command",
                           r->str);
            if (r->type == REDIS_REPLY_ERROR && p->kind == P_DECLARE)
                cl->dirty = true;
            break;
        }
        pend_free(p);
        freeReplyObject(reply);
        if (cl->cmd.ctx == NULL)
            return; /* lost while handling */
    }
    if (link_flush(srv, &cl->cmd) < 0)
        link_lost(srv, cl, cl->cmd.ctx->errstr);
}

/* --- decisions ------------------------------------------------------------------ */

static int send_decide(struct cluster *cl, struct pend *p)
{
    const char *argv[ARGS_MAX + 3];
    size_t lens[ARGS_MAX + 3];
    char nums[FL_FARM_CLAIMS_MAX][2][24], seq[24], n[8];
    char rate_keys[FL_FARM_CLAIMS_MAX][sizeof KEY_RATE + FL_FARM_FIELD_MAX];
    int nkeys = 3, argc = 0;
    argv[argc] = KEY_TOTAL;
    lens[argc++] = strlen(KEY_TOTAL);
    argv[argc] = cl->node_key;
    lens[argc++] = strlen(cl->node_key);
    argv[argc] = KEY_NODES;
    lens[argc++] = strlen(KEY_NODES);
    for (size_t i = 0; i < p->nclaims; i++) {
        const struct claim *k = &p->claims[i];
        if (k->op != FL_FARM_RATE)
            continue;
        int len = snprintf(rate_keys[i], sizeof rate_keys[i], "%s%.*s", KEY_RATE,
                           (int)k->len, p->fields + k->off);
        argv[argc] = rate_keys[i];
        lens[argc++] = (size_t)len;
        nkeys++;
    }
    snprintf(seq, sizeof seq, "%" PRIu64, ++cl->seq);
    snprintf(n, sizeof n, "%zu", p->nclaims);
    argv[argc] = cl->conf.node;
    lens[argc++] = strlen(cl->conf.node);
    argv[argc] = cl->conf.dry_run ? "1" : "0";
    lens[argc++] = 1;
    argv[argc] = seq;
    lens[argc++] = strlen(seq);
    argv[argc] = n;
    lens[argc++] = strlen(n);
    for (size_t i = 0; i < p->nclaims; i++) {
        const struct claim *k = &p->claims[i];
        snprintf(nums[i][0], 24, "%lld", k->limit >= 0 ? k->max : -1LL);
        snprintf(nums[i][1], 24, "%lld", k->interval_ms);
        argv[argc] = k->op == FL_FARM_COUNT   ? "c"
                     : k->op == FL_FARM_HOSTS ? "x"
                     : k->op == FL_FARM_RATE  ? "r"
                                              : "+";
        lens[argc++] = 1;
        argv[argc] = p->fields + k->off;
        lens[argc++] = k->len;
        argv[argc] = nums[i][0];
        lens[argc++] = strlen(nums[i][0]);
        argv[argc] = nums[i][1];
        lens[argc++] = strlen(nums[i][1]);
    }
    p->declares_before = cl->st.declares;
    cl->st.round_trips++;
    return script(cl, S_DECIDE, P_DECIDE, p, nkeys, argc, argv, lens);
}

static void resend(struct server *srv, struct cluster *cl, struct pend *p)
{
    if (send_decide(cl, p) < 0) {
        fl_session *s = pend_session(srv, p);
        fl_decision d;
        fail_mode(srv, cl, p, s, &d);
        answer(srv, p, s, &d);
        pend_free(p);
    }
}

/* A decision's entry, its claims copied. NULL without memory. */
static struct pend *pend_new(struct server *srv, struct conn *conn, fl_session *s,
                             fl_farm_step step, const fl_farm_claim *claims, size_t n)
{
    struct pend *p = calloc(1, sizeof *p);
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++)
        bytes += claims[i].len;
    if (p == NULL || (p->fields = malloc(bytes + 1)) == NULL) {
        free(p);
        return NULL;
    }
    p->kind = P_DECIDE;
    p->conn = conn;
    p->step = step;
    p->policy_gen = fl_farm_policy_gen(srv->engine);
    snprintf(p->sid, sizeof p->sid, "%s", fl_session_id(s));
    for (size_t i = 0; i < n; i++) {
        struct claim *k = &p->claims[i];
        k->op = (char)claims[i].op;
        k->limit = claims[i].limit;
        k->max = claims[i].max;
        k->interval_ms = claims[i].interval_ms;
        k->message = claims[i].message;
        k->off = (uint16_t)p->fields_len;
        k->len = (uint16_t)claims[i].len;
        memcpy(p->fields + p->fields_len, claims[i].field, claims[i].len);
        p->fields_len += claims[i].len;
    }
    p->nclaims = n;
    return p;
}

bool cluster_decide(struct server *srv, struct conn *conn, fl_session *s,
                    fl_farm_step step, fl_decision *d)
{
    struct cluster *cl = cl_of(srv);
    const fl_farm_claim *claims;
    size_t n = fl_farm_claims(srv->engine, &claims);
    if (cl == NULL || n == 0)
        return false;
    struct pend *p = pend_new(srv, conn, s, step, claims, n);
    if (p == NULL) {
        cl->dirty = true; /* counted here alone: the next declaration tells */
        return false;
    }
    if (!cl->up || send_decide(cl, p) < 0) {
        fail_mode(srv, cl, p, s, d);
        pend_free(p);
        return false;
    }
    if (link_flush(srv, &cl->cmd) < 0) {
        /* The reply will not come: answered by ClusterFailMode at once. */
        link_lost(srv, cl, cl->cmd.ctx->errstr);
        return true;
    }
    return true;
}

void cluster_count(struct server *srv, fl_session *s)
{
    struct cluster *cl = cl_of(srv);
    const fl_farm_claim *claims;
    size_t n = fl_farm_claims(srv->engine, &claims);
    if (cl == NULL || n == 0)
        return;
    struct pend *p = pend_new(srv, NULL, s, FL_FARM_STEP_CONNECT, claims, n);
    if (p == NULL) {
        cl->dirty = true;
        return;
    }
    /* Counted here now, as ClusterFailMode open would: the farm's answer
     * only confirms it (or the next declaration corrects it). */
    record_add(cl, p);
    p->answered = p->fail_open = true;
    if (!cl->up || send_decide(cl, p) < 0) {
        cl->dirty = true;
        pend_free(p);
        return;
    }
    link_flush(srv, &cl->cmd);
}

bool cluster_applying(struct server *srv)
{
    return srv->cluster != NULL && srv->cluster->applying;
}

void cluster_conn_gone(struct server *srv, struct conn *conn)
{
    struct cluster *cl = cl_of(srv);
    if (cl == NULL)
        return;
    for (struct pend *p = cl->head; p != NULL; p = p->next) {
        if (p->kind == P_DECIDE && p->conn == conn)
            p->conn = NULL;
    }
}

/* --- the engine's events ------------------------------------------------------------
 */

void cluster_event(struct server *srv, const char *event, const void *data)
{
    struct cluster *cl = cl_of(srv);
    if (cl == NULL)
        return;
    const fl_event_info *info = fl_event_info_of(event, data);
    if (info == NULL)
        return;
    if (strcmp(event, FL_EV_EXIT) == 0 && info->sid != NULL) {
        struct record *r = record_find(cl, info->sid);
        if (r != NULL) {
            release_fields(srv, cl, &r->fields[FL_FARM_STEP_LOGIN]);
            release_fields(srv, cl, &r->fields[FL_FARM_STEP_CONNECT]);
            record_free(cl, r);
            link_flush(srv, &cl->cmd);
        }
    } else if (strcmp(event, FL_EV_BAN) == 0 && !cl->applying && info->target != NULL) {
        long long end = unix_ms() + info->duration * 1000;
        ban_publish(cl, info->ban, info->server, info->target, end, info->limit,
                    info->message);
        link_flush(srv, &cl->cmd);
    }
}

void cluster_logout(struct server *srv, const char *sid)
{
    struct cluster *cl = cl_of(srv);
    struct record *r = cl != NULL ? record_find(cl, sid) : NULL;
    if (r == NULL)
        return;
    release_fields(srv, cl, &r->fields[FL_FARM_STEP_LOGIN]);
    packed_free(&r->fields[FL_FARM_STEP_LOGIN]);
    link_flush(srv, &cl->cmd);
}

void cluster_ban_lifted(struct server *srv, fl_ban_kind kind, const char *target,
                        const char *server)
{
    struct cluster *cl = cl_of(srv);
    if (cl == NULL || cl->applying || !cl->up)
        return;
    char field[1024], msg[1200];
    const char *k = fl_ban_kind_name(kind);
    snprintf(msg, sizeof msg, "del\t%s\t%s\t%s\t%s", cl->conf.node, k,
             server != NULL ? server : "*", target);
    if (server != NULL) {
        snprintf(field, sizeof field, "%s\t%s\t%s", k, server, target);
        (void)command_v(cl, P_NONE, 3, "HDEL", KEY_BANS, field);
    } else {
        /* Without a server: the target's bans on every server and each. */
        fl_server_info servers[64];
        size_t ns = fl_engine_servers(srv->engine, servers, 64);
        snprintf(field, sizeof field, "%s\t*\t%s", k, target);
        (void)command_v(cl, P_NONE, 3, "HDEL", KEY_BANS, field);
        for (size_t i = 0; i < ns; i++) {
            snprintf(field, sizeof field, "%s\t%s\t%s", k, servers[i].name, target);
            (void)command_v(cl, P_NONE, 3, "HDEL", KEY_BANS, field);
        }
    }
    (void)command_v(cl, P_NONE, 3, "PUBLISH", CHANNEL, msg);
    cl->st.bans_published++;
    link_flush(srv, &cl->cmd);
}

/* --- connecting ------------------------------------------------------------------ */

static char *read_password(struct cluster *cl)
{
    if (cl->conf.password_file[0] == '\0')
        return NULL;
    FILE *f = fopen(cl->conf.password_file, "re");
    if (f == NULL) {
        note_error(cl, "ClusterPasswordFile", strerror(errno));
        return NULL;
    }
    char buf[512];
    char *line = fgets(buf, sizeof buf, f);
    fclose(f);
    if (line == NULL)
        return NULL;
    buf[strcspn(buf, "\r\n")] = '\0';
    return strdup(buf);
}

static void link_lost(struct server *srv, struct cluster *cl, const char *why)
{
    bool was_up = cl->up || cl->cmd.connecting;
    if (was_up)
        note_error(cl, "connection lost", why != NULL && why[0] ? why : "closed");
    link_close(&cl->cmd);
    link_close(&cl->sub);
    cl->up = cl->sub_up = false;
    /* Nothing sent will be answered: decisions by ClusterFailMode, and the
     * node declares everything once it is back. */
    answer_overdue(srv, cl, 0);
    while (cl->head != NULL) {
        struct pend *p = cl->head;
        cl->head = p->next;
        pend_free(p); /* the declaration after the reconnect counts right */
    }
    cl->tail = NULL;
    cl->npending = 0;
    cl->dirty = true;
    json_decref(cl->live);
    cl->live = NULL;
    cl->st.live_nodes = 0;
    cl->retry_at = mono_now() + (fl_usec)cl->backoff_ms * 1000;
    cl->backoff_ms =
        cl->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : cl->backoff_ms * 2;
}

static redisContext *dial(const struct cluster *cl)
{
    return cl->conf.socket[0] != '\0'
               ? redisConnectUnixNonBlock(cl->conf.socket)
               : redisConnectNonBlock(cl->conf.host, (int)cl->conf.port);
}

static int link_open(struct server *srv, struct cluster *cl, struct link *l)
{
    l->ctx = dial(cl);
    if (l->ctx == NULL || l->ctx->err) {
        note_error(cl, "connect", l->ctx != NULL ? l->ctx->errstr : "out of memory");
        link_close(l);
        return -1;
    }
    l->connecting = true;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = &l->tag};
    if (epoll_ctl(srv->epoll_fd, EPOLL_CTL_ADD, l->ctx->fd, &ev) < 0) {
        note_error(cl, "epoll", strerror(errno));
        link_close(l);
        return -1;
    }
    l->want_out = true;
    return 0;
}

static void try_connect(struct server *srv, struct cluster *cl)
{
    cl->retry_at = 0;
    if (link_open(srv, cl, &cl->cmd) < 0 || link_open(srv, cl, &cl->sub) < 0) {
        link_lost(srv, cl, NULL);
        return;
    }
}

/* What a connection says first: AUTH, SELECT. */
static void setup(struct cluster *cl, redisContext *ctx, bool subscriber)
{
    char *password = read_password(cl);
    if (password != NULL) {
        const char *argv[2] = {"AUTH", password};
        size_t lens[2] = {4, strlen(password)};
        redisAppendCommandArgv(ctx, 2, argv, lens);
        if (!subscriber) {
            struct pend *p = calloc(1, sizeof *p);
            if (p != NULL)
                pend_push(cl, p);
        }
        memset(password, 0, strlen(password));
        free(password);
    }
    if (subscriber) {
        const char *argv[2] = {"SUBSCRIBE", CHANNEL};
        size_t lens[2] = {9, strlen(CHANNEL)};
        redisAppendCommandArgv(ctx, 2, argv, lens);
        return;
    }
    if (cl->conf.db != 0) {
        char db[16];
        snprintf(db, sizeof db, "%d", cl->conf.db);
        (void)command_v(cl, P_NONE, 2, "SELECT", db);
    }
}

/* The command connection is made: load the scripts, declare, renew the
 * lease, load the farm's bans. */
static void cmd_ready(struct server *srv, struct cluster *cl)
{
    cl->cmd.connecting = false;
    setup(cl, cl->cmd.ctx, false);
    for (int s = 0; s < NSCRIPTS; s++)
        (void)command_v(cl, P_NONE, 3, "SCRIPT", "LOAD", script_text[s]);
    cl->up = true;
    cl->backoff_ms = BACKOFF_MIN_MS;
    log_msg(LOG_NOTICE, "Cluster %s: connected as node %s", cl->conf.url,
            cl->conf.node);
    declare(srv, cl);
    cl->next_beat = 0; /* a heartbeat now: the farm's nodes and totals */
    (void)command_v(cl, P_BANS, 2, "HGETALL", KEY_BANS);
    cluster_tick(srv);
}

static bool connect_done(struct link *l)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(l->ctx->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0) {
        snprintf(l->ctx->errstr, sizeof l->ctx->errstr, "%s",
                 strerror(err ? err : errno));
        return false;
    }
    l->connecting = false;
    return true;
}

bool cluster_owns(struct server *srv, const void *tag)
{
    struct cluster *cl = cl_of(srv);
    return cl != NULL && (tag == &cl->cmd.tag || tag == &cl->sub.tag);
}

static void sub_read(struct server *srv, struct cluster *cl)
{
    if (redisBufferRead(cl->sub.ctx) != REDIS_OK) {
        link_lost(srv, cl, cl->sub.ctx->errstr);
        return;
    }
    for (;;) {
        void *reply = NULL;
        if (redisGetReplyFromReader(cl->sub.ctx, &reply) != REDIS_OK) {
            link_lost(srv, cl, cl->sub.ctx->errstr);
            return;
        }
        if (reply == NULL)
            return;
        const redisReply *r = reply;
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
            r->element[0]->type == REDIS_REPLY_STRING &&
            strcmp(r->element[0]->str, "message") == 0 &&
            r->element[2]->type == REDIS_REPLY_STRING) {
            on_published(srv, cl, r->element[2]->str, r->element[2]->len);
        } else if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
                   strcmp(r->element[0]->str, "subscribe") == 0) {
            cl->sub_up = true;
            /* Bans published before the subscription: the farm's table. */
            if (cl->up)
                (void)command_v(cl, P_BANS, 2, "HGETALL", KEY_BANS);
        } else if (r->type == REDIS_REPLY_ERROR) {
            note_error(cl, "the ban subscription", r->str);
        }
        freeReplyObject(reply);
        if (cl->sub.ctx == NULL)
            return;
    }
}

void cluster_io(struct server *srv, const void *tag, uint32_t events)
{
    struct cluster *cl = cl_of(srv);
    struct link *l = tag == &cl->cmd.tag ? &cl->cmd : &cl->sub;
    if (l->ctx == NULL)
        return;
    if (l->connecting) {
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            return;
        if (!connect_done(l)) {
            link_lost(srv, cl, l->ctx->errstr);
            return;
        }
        if (l == &cl->cmd)
            cmd_ready(srv, cl);
        else
            setup(cl, l->ctx, true);
    }
    if (l->ctx != NULL && (events & EPOLLOUT) && link_flush(srv, l) < 0) {
        link_lost(srv, cl, l->ctx->errstr);
        return;
    }
    if (l->ctx != NULL && (events & (EPOLLIN | EPOLLERR | EPOLLHUP))) {
        if (l == &cl->cmd)
            read_replies(srv, cl);
        else
            sub_read(srv, cl);
    }
    if (cl->cmd.ctx != NULL && link_flush(srv, &cl->cmd) < 0)
        link_lost(srv, cl, cl->cmd.ctx->errstr);
}

/* --- timers ------------------------------------------------------------------------
 */

static void heartbeat(struct server *srv, struct cluster *cl)
{
    fl_server_info servers[64];
    size_t ns = fl_engine_servers(srv->engine, servers, 64);
    const char *argv[5 + 2 * 64];
    size_t lens[5 + 2 * 64];
    char fields[2 * 64][220];
    char lease[32];
    snprintf(lease, sizeof lease, "%lld", lease_hold_ms(cl));
    argv[0] = KEY_NODES;
    argv[1] = KEY_TOTAL;
    argv[2] = cl->node_key;
    argv[3] = cl->conf.node;
    argv[4] = lease;
    int argc = 5;
    for (size_t i = 0; i < ns; i++) {
        /* The fields decide/farm.c names a server's sessions and clients
         * by (a long name's digest is not repeated here: such a server's
         * totals show as 0). */
        snprintf(fields[2 * i], sizeof fields[0], "Q%s", servers[i].name);
        snprintf(fields[2 * i + 1], sizeof fields[0], "S%s", servers[i].name);
        argv[argc++] = fields[2 * i];
        argv[argc++] = fields[2 * i + 1];
    }
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    (void)script(cl, S_HEARTBEAT, P_HEARTBEAT, NULL, 3, argc, argv, lens);
}

int cluster_wait_ms(struct server *srv)
{
    struct cluster *cl = cl_of(srv);
    if (cl == NULL)
        return -1;
    fl_usec now = mono_now(), next = -1;
    if (cl->retry_at > 0)
        next = cl->retry_at;
    if (cl->up && (next < 0 || cl->next_beat < next))
        next = cl->next_beat;
    for (struct pend *p = cl->head; p != NULL; p = p->next) {
        if (p->kind == P_DECIDE && !p->answered) {
            fl_usec due = p->sent + cl->conf.timeout;
            if (next < 0 || due < next)
                next = due;
            break;
        }
    }
    if (next < 0)
        return -1;
    return next <= now ? 0 : (int)((next - now + 999) / 1000);
}

void cluster_tick(struct server *srv)
{
    struct cluster *cl = cl_of(srv);
    if (cl == NULL)
        return;
    fl_usec now = mono_now();
    if (cl->retry_at > 0 && now >= cl->retry_at && cl->cmd.ctx == NULL) {
        cl->st.reconnects++;
        try_connect(srv, cl);
    }
    if (!cl->up)
        return;
    answer_overdue(srv, cl, now - cl->conf.timeout);
    if (now >= cl->next_beat) {
        heartbeat(srv, cl);
        cl->next_beat = now + cl->conf.lease / 4;
    }
    if (link_flush(srv, &cl->cmd) < 0)
        link_lost(srv, cl, cl->cmd.ctx->errstr);
}

/* --- start, stop, status -------------------------------------------------------------
 */

static void cluster_free(struct server *srv, struct cluster *cl)
{
    link_close(&cl->cmd);
    link_close(&cl->sub);
    answer_overdue(srv, cl, 0);
    while (cl->head != NULL) {
        struct pend *p = cl->head;
        cl->head = p->next;
        pend_free(p);
    }
    struct record *r, *tmp;
    HASH_ITER(hh, cl->records, r, tmp)
    record_free(cl, r);
    for (size_t i = 0; i < cl->nunsent; i++)
        free(cl->unsent_bans[i]);
    free(cl->unsent_bans);
    json_decref(cl->live);
    json_decref(cl->totals);
    free(cl);
    srv->cluster = NULL;
}

/* The sessions the engine has, as records: what a node that starts (or
 * takes part anew) declares. Their fields come from RESUME's claims when
 * the sessions were resumed; sessions decided before Cluster was in the
 * policy count from the next decision on. */
static void sha_of(const char *text, char out[41]);

int cluster_configure(struct server *srv)
{
    fl_farm_conf conf;
    fl_farm_config(srv->engine, &conf);
    struct cluster *cl = cl_of(srv);
    if (cl != NULL &&
        (!conf.on || strcmp(conf.url, cl->conf.url) != 0 ||
         strcmp(conf.node, cl->conf.node) != 0 || conf.db != cl->conf.db)) {
        log_msg(LOG_NOTICE, "Cluster %s: leaving the farm", cl->conf.url);
        cluster_stop(srv);
        cl = NULL;
    }
    if (!conf.on)
        return 0;
    if (cl != NULL) { /* lease, timeout, fail mode, password */
        cl->conf = conf;
        snprintf(cl->node_key, sizeof cl->node_key, "%s%s", KEY_NODE, conf.node);
        return 0;
    }
    if ((cl = calloc(1, sizeof *cl)) == NULL) {
        log_msg(LOG_ERR, "Cluster: out of memory; counting alone");
        return -1;
    }
    cl->conf = conf;
    cl->cmd.tag = 'c';
    cl->sub.tag = 's';
    cl->backoff_ms = BACKOFF_MIN_MS;
    cl->st.on = true;
    snprintf(cl->node_key, sizeof cl->node_key, "%s%s", KEY_NODE, conf.node);
    for (int s = 0; s < NSCRIPTS; s++)
        sha_of(script_text[s], cl->sha[s]);
    srv->cluster = cl;
    log_msg(LOG_NOTICE, "Cluster %s: node %s, lease %llds, timeout %lldms, fail %s",
            conf.url, conf.node, (long long)(conf.lease / FL_USEC_PER_SEC),
            (long long)(conf.timeout / 1000), conf.fail_closed ? "closed" : "open");
    try_connect(srv, cl);
    return 0;
}

/* Leave: the node's counts out of the farm and its lease given back, sent
 * and waited for within the timeout; then everything freed. */
void cluster_stop(struct server *srv)
{
    struct cluster *cl = cl_of(srv);
    if (cl == NULL)
        return;
    if (cl->up && cl->cmd.ctx != NULL) {
        const char *argv[4] = {KEY_TOTAL, cl->node_key, KEY_NODES, cl->conf.node};
        size_t lens[4];
        for (int i = 0; i < 4; i++)
            lens[i] = strlen(argv[i]);
        if (script(cl, S_LEAVE, P_NONE, NULL, 3, 4, argv, lens) == 0) {
            /* Block, briefly: the daemon is stopping anyway. */
            int flags = fcntl(cl->cmd.ctx->fd, F_GETFL);
            fcntl(cl->cmd.ctx->fd, F_SETFL, flags & ~O_NONBLOCK);
            struct timeval tv = {(time_t)(cl->conf.timeout / FL_USEC_PER_SEC),
                                 (suseconds_t)(cl->conf.timeout % FL_USEC_PER_SEC)};
            setsockopt(cl->cmd.ctx->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
            setsockopt(cl->cmd.ctx->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
            cl->cmd.ctx->flags |= REDIS_BLOCK;
            void *reply;
            while (cl->head != NULL && redisGetReply(cl->cmd.ctx, &reply) == REDIS_OK) {
                struct pend *p = cl->head;
                cl->head = p->next;
                freeReplyObject(reply);
                pend_free(p);
            }
            if (cl->head == NULL)
                log_msg(LOG_NOTICE, "Cluster %s: node %s left the farm", cl->conf.url,
                        cl->conf.node);
        }
    }
    cluster_free(srv, cl);
}

json_t *cluster_status_json(struct server *srv)
{
    struct cluster *cl = cl_of(srv);
    if (cl == NULL)
        return NULL;
    json_t *o = json_object();
    json_object_set_new(o, "url", fl_json_string(cl->conf.url));
    json_object_set_new(o, "node", fl_json_string(cl->conf.node));
    json_object_set_new(o, "up", json_boolean(cl->up));
    json_object_set_new(o, "fail_mode",
                        json_string(cl->conf.fail_closed ? "closed" : "open"));
    json_object_set_new(o, "lease_seconds",
                        json_integer(cl->conf.lease / FL_USEC_PER_SEC));
    json_object_set_new(o, "timeout_ms", json_integer(cl->conf.timeout / 1000));
    json_object_set_new(o, "nodes",
                        cl->live != NULL ? json_incref(cl->live) : json_array());
    json_object_set_new(o, "servers",
                        cl->totals != NULL && cl->up ? json_incref(cl->totals)
                                                     : json_object());
    json_object_set_new(o, "as_of_ms_ago",
                        cl->beat_at > 0
                            ? json_integer((mono_now() - cl->beat_at) / 1000)
                            : json_null());
    json_object_set_new(o, "sessions_recorded", json_integer((json_int_t)cl->nrecords));
    json_object_set_new(o, "pending", json_integer((json_int_t)cl->npending));
    json_object_set_new(o, "round_trips", json_integer((json_int_t)cl->st.round_trips));
    json_object_set_new(o, "errors", json_integer((json_int_t)cl->st.errors));
    json_object_set_new(o, "timeouts", json_integer((json_int_t)cl->st.timeouts));
    json_object_set_new(o, "lease_renewals",
                        json_integer((json_int_t)cl->st.lease_renewals));
    json_object_set_new(o, "declarations", json_integer((json_int_t)cl->st.declares));
    json_object_set_new(o, "reconnects", json_integer((json_int_t)cl->st.reconnects));
    if (cl->last_error[0] != '\0')
        json_object_set_new(o, "last_error", fl_json_string(cl->last_error));
    return o;
}

void cluster_stats(struct server *srv, struct cluster_stats *out)
{
    struct cluster *cl = cl_of(srv);
    memset(out, 0, sizeof *out);
    if (cl == NULL)
        return;
    *out = cl->st;
    out->on = true;
    out->up = cl->up;
}

/* --- SHA-1, for EVALSHA (FIPS 180-4) -------------------------------------------------
 */

static uint32_t rol(uint32_t x, int n)
{
    return (x << n) | (x >> (32 - n));
}

static void sha_of(const char *text, char out[41])
{
    uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    size_t len = strlen(text), total = ((len + 8) / 64 + 1) * 64;
    unsigned char *m = calloc(1, total);
    if (m == NULL) {
        memset(out, '0', 40);
        out[40] = '\0';
        return;
    }
    memcpy(m, text, len);
    m[len] = 0x80;
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++)
        m[total - 1 - i] = (unsigned char)(bits >> (8 * i));
    for (size_t off = 0; off < total; off += 64) {
        uint32_t w[80];
        for (int i = 0; i < 16; i++)
            w[i] = (uint32_t)m[off + 4 * i] << 24 | (uint32_t)m[off + 4 * i + 1] << 16 |
                   (uint32_t)m[off + 4 * i + 2] << 8 | m[off + 4 * i + 3];
        for (int i = 16; i < 80; i++)
            w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
        uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
        for (int i = 0; i < 80; i++) {
            uint32_t f, k;
            if (i < 20) {
                f = (b & c) | (~b & d);
                k = 0x5A827999;
            } else if (i < 40) {
                f = b ^ c ^ d;
                k = 0x6ED9EBA1;
            } else if (i < 60) {
                f = (b & c) | (b & d) | (c & d);
                k = 0x8F1BBCDC;
            } else {
                f = b ^ c ^ d;
                k = 0xCA62C1D6;
            }
            uint32_t t = rol(a, 5) + f + e + k + w[i];
            e = d;
            d = c;
            c = rol(b, 30);
            b = a;
            a = t;
        }
        h[0] += a;
        h[1] += b;
        h[2] += c;
        h[3] += d;
        h[4] += e;
    }
    free(m);
    for (int i = 0; i < 5; i++)
        snprintf(out + 8 * i, 9, "%08x", h[i]);
}

#endif /* HAVE_HIREDIS */
