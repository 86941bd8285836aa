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
#define KEY_BAN_ENDS TAG ":ban-ends"
#define KEY_NODE TAG ":node:"
#define KEY_RATE TAG ":rate:"
#define CHANNEL "ftplimit:bans"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define DECLARE_CHUNK 500 /* sessions a declaration sends at once */
#define UNSENT_BANS_MAX 10000
#define ARGS_MAX (5 + 4 * FL_FARM_CLAIMS_MAX)
#define BATCH_MAX 64     /* decisions one script decides */
#define RELEASE_MAX 2048 /* session id, fields entries one script releases */

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
    struct dec *pending;     /* declare(): its decision waited for, or NULL */
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

/* Where a decision stands while the farm's answer is awaited. */
enum dec_state {
    D_PENDING, /* the session waits for the farm */
    D_OPEN,    /* ClusterFailMode open let it in: recorded */
    D_CLOSED,  /* ClusterFailMode closed refused it: its session ended */
    D_GONE,    /* its session ended meanwhile */
};

/* A decision of one session for the farm: its claims, and the fields it
 * counts in once allowed (each once, without the rate windows). */
struct dec {
    struct dec *next;  /* in the batch not sent yet */
    struct conn *conn; /* waits for the answer; NULL once answered or gone */
    enum dec_state state;
    bool in_declare; /* a declaration sent after it counted it */
    bool retried;
    fl_farm_step step;
    uint32_t policy_gen;
    fl_usec made; /* monotonic: ClusterTimeout runs from here */
    size_t nclaims;
    struct claim claims[FL_FARM_CLAIMS_MAX];
    char *bytes; /* the claims' fields */
    struct packed counted;
    char sid[FL_SID_MAX + 1];
};

enum pend_kind { P_NONE, P_AUTH, P_DECIDE, P_HEARTBEAT, P_DECLARE, P_BANS };

/* A command sent, in the order of the replies to come. */
struct pend {
    struct pend *next;
    enum pend_kind kind;
    uint64_t declares_before; /* cl->declares_sent when it was sent */
    struct dec **decs;        /* P_DECIDE: the decisions of its batch */
    size_t ndecs;
    char **servers; /* P_HEARTBEAT: the servers its totals are of */
    size_t nservers;
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
    struct pend *head, *tail;
    size_t npending;
    struct dec *batch, **batch_tail; /* decisions to send at the next flush */
    struct packed releases;          /* fields to release at the next flush */
    uint64_t declares_sent;
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

/* The fields a decision counts into its session's record: a connection's
 * ("C...") until the session ends, the others until a logout. */
static void record_add(struct cluster *cl, const struct dec *d)
{
    struct record *r = record_get(cl, d->sid);
    size_t at = 0, len;
    const char *field;
    while (r != NULL && (field = packed_next(&d->counted, &at, &len)) != NULL) {
        struct packed *into =
            &r->fields[field[0] == 'C' ? FL_FARM_STEP_CONNECT : FL_FARM_STEP_LOGIN];
        if (!packed_add(into, field, len))
            cl->dirty = true;
    }
    if (r == NULL)
        cl->dirty = true; /* the next declaration is short of it */
}

/* What the farm counts a session in: "\n" between its fields -- those of
 * a (record, NULL: none; logged-in part only if login) and of d (or NULL).
 * malloc'd, with its length; NULL without memory. */
static char *session_value(const struct record *r, bool login, const struct dec *d,
                           size_t *out_len)
{
    const struct packed *parts[3] = {r != NULL ? &r->fields[0] : NULL,
                                     r != NULL && login ? &r->fields[1] : NULL,
                                     d != NULL ? &d->counted : NULL};
    size_t cap = 1;
    for (int i = 0; i < 3; i++)
        cap += parts[i] != NULL ? parts[i]->len : 0;
    char *v = malloc(cap);
    size_t n = 0;
    for (int i = 0; v != NULL && i < 3; i++) {
        size_t at = 0, len;
        const char *field;
        while (parts[i] != NULL && (field = packed_next(parts[i], &at, &len)) != NULL) {
            if (n > 0)
                v[n++] = '\n';
            memcpy(v + n, field, len);
            n += len;
        }
    }
    if (v != NULL)
        v[n] = '\0';
    *out_len = n;
    return v;
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
    p->declares_before = cl->declares_sent;
    if (cl->tail != NULL)
        cl->tail->next = p;
    else
        cl->head = p;
    cl->tail = p;
    cl->npending++;
}

/* A command's entry; its decisions are freed by whoever answered them. */
static void pend_free(struct pend *p)
{
    if (p == NULL)
        return;
    free(p->decs);
    for (size_t i = 0; i < p->nservers; i++)
        free(p->servers[i]);
    free(p->servers);
    free(p);
}

static void dec_free(struct dec *d);

/* A command's entry and its decisions, when nothing will answer them. */
static void pend_drop(struct pend *p)
{
    for (size_t i = 0; p != NULL && i < p->ndecs; i++)
        dec_free(p->decs[i]);
    pend_free(p);
}

/* Every command sent, forgotten (the connection is gone). */
static void pends_drop(struct cluster *cl)
{
    while (cl->head != NULL) {
        struct pend *p = cl->head;
        cl->head = p->next;
        pend_drop(p);
    }
    cl->tail = NULL;
    cl->npending = 0;
}

/* Queue a command whose reply is awaited as kind (P_NONE: read and
 * dropped). 0, or -1 without memory. */
static int command(struct cluster *cl, enum pend_kind kind, struct pend *p, int argc,
                   const char **argv, const size_t *lens)
{
    struct pend *own = p == NULL ? calloc(1, sizeof *p) : NULL;
    if (p == NULL && (p = own) == NULL)
        return -1;
    if (redisAppendCommandArgv(cl->cmd.ctx, argc, argv, lens) != REDIS_OK) {
        free(own);
        return -1;
    }
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
    char end[24];
    snprintf(end, sizeof end, "%lld", end_ms);
    (void)command_v(cl, P_NONE, 4, "HSET", KEY_BANS, field, value);
    (void)command_v(cl, P_NONE, 4, "ZADD", KEY_BAN_ENDS, end, field);
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
    char end[24];
    snprintf(end, sizeof end, "%lld", strtoll(v, NULL, 10));
    (void)command_v(cl, P_NONE, 4, "HSET", KEY_BANS, field, v);
    (void)command_v(cl, P_NONE, 4, "ZADD", KEY_BAN_ENDS, end, field);
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

static void declare(struct server *srv, struct cluster *cl);
static void on_decide(struct server *srv, struct cluster *cl, struct pend *p,
                      const redisReply *r);

static void on_heartbeat(struct server *srv, struct cluster *cl, const struct pend *p,
                         const redisReply *r)
{
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements < 4) {
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
    /* The farm's clients beside this node's, by server. */
    json_decref(cl->totals);
    cl->totals = json_object();
    const redisReply *farm = r->element[3];
    fl_server_info servers[64];
    size_t ns = fl_engine_servers(srv->engine, servers, 64);
    for (size_t i = 0; i < p->nservers && i < farm->elements; i++) {
        json_t *o = json_object();
        long long own = 0;
        for (size_t j = 0; j < ns; j++)
            if (strcmp(servers[j].name, p->servers[i]) == 0)
                own = (long long)servers[j].clients;
        json_object_set_new(o, "clients",
                            json_integer(strtoll(farm->element[i]->str, NULL, 10)));
        json_object_set_new(o, "node_clients", json_integer(own));
        json_object_set_new(cl->totals, p->servers[i], o);
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
            (void)command_v(cl, P_NONE, 3, "ZREM", KEY_BAN_ENDS, r->element[i]->str);
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
            break;
        case P_HEARTBEAT:
            on_heartbeat(srv, cl, p, r);
            break;
        case P_BANS:
            on_bans(srv, cl, r);
            break;
        case P_AUTH:
            if (r->type == REDIS_REPLY_ERROR) {
                /* Said once; the connection is made again later (the
                 * password file may be mended meanwhile). */
                note_error(cl, "AUTH (ClusterPasswordFile)", r->str);
                freeReplyObject(reply);
                pend_free(p);
                link_lost(srv, cl, NULL);
                return;
            }
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

/* --- decisions -------------------------------------------------------------------
 *
 * A decision is made (dec_new), waits in the batch, and goes with the
 * others of the loop's turn in one script (flush). Its answer comes in
 * order (on_decide); one not answered within ClusterTimeout is answered by
 * ClusterFailMode (answer_overdue), and its late reply only settles what
 * the farm counts. A declaration replaces the farm's part of this node by
 * what it counts: the records, and the decisions sent but not answered
 * (in_declare). Whatever a reply finds, the farm must end up counting a
 * decision's fields exactly when its session is alive and counted here;
 * settle() sends a release when the farm has them and must not, and asks
 * for a declaration when it lacks them. */

static void dec_free(struct dec *d)
{
    if (d == NULL)
        return;
    free(d->bytes);
    packed_free(&d->counted);
    free(d);
}

/* A decision of s's step from the engine's claims. NULL without memory. */
static struct dec *dec_new(struct conn *conn, fl_session *s, fl_farm_step step,
                           uint32_t policy_gen, const fl_farm_claim *claims, size_t n)
{
    struct dec *d = calloc(1, sizeof *d);
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++)
        bytes += claims[i].len;
    if (d == NULL || (d->bytes = malloc(bytes + 1)) == NULL) {
        free(d);
        return NULL;
    }
    d->conn = conn;
    d->step = step;
    d->policy_gen = policy_gen;
    d->made = mono_now();
    snprintf(d->sid, sizeof d->sid, "%s", fl_session_id(s));
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        struct claim *k = &d->claims[i];
        k->op = (char)claims[i].op;
        k->limit = claims[i].limit;
        k->max = claims[i].max;
        k->interval_ms = claims[i].interval_ms;
        k->message = claims[i].message;
        k->off = (uint16_t)off;
        k->len = (uint16_t)claims[i].len;
        memcpy(d->bytes + off, claims[i].field, claims[i].len);
        off += claims[i].len;
        /* What it counts: each field once (fl_farm_claims says so), no
         * window. */
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = d->claims[j].op != FL_FARM_RATE && d->claims[j].len == k->len &&
                   memcmp(d->bytes + d->claims[j].off, d->bytes + k->off, k->len) == 0;
        if (k->op != FL_FARM_RATE && !seen &&
            !packed_add(&d->counted, d->bytes + k->off, k->len)) {
            dec_free(d);
            return NULL;
        }
    }
    d->nclaims = n;
    return d;
}

static void batch_add(struct cluster *cl, struct dec *d)
{
    d->next = NULL;
    *cl->batch_tail = d;
    cl->batch_tail = &d->next;
}

/* From the next flush, the farm counts session sid in what its record
 * says (its logged-in fields only if login; without a record, nothing). */
static void release(struct cluster *cl, const char *sid, const struct record *r,
                    bool login)
{
    size_t len;
    char *value = session_value(r, login, NULL, &len);
    if (value == NULL || !packed_add(&cl->releases, sid, strlen(sid)) ||
        !packed_add(&cl->releases, value, len))
        cl->dirty = true;
    free(value);
}

static void answer(struct server *srv, struct dec *d, fl_session *s,
                   const fl_decision *dn)
{
    if (d->conn == NULL)
        return;
    struct conn *c = d->conn;
    d->conn = NULL;
    server_farm_answer(srv, c, s, d->step, dn);
}

/* ClusterFailMode decides d for its session s: open lets it in on this
 * node's counts (recorded, and declared to the farm later; dn untouched),
 * closed refuses it (dn: the refusal). */
static void fail_mode_decide(struct server *srv, struct cluster *cl, struct dec *d,
                             fl_session *s, fl_decision *dn)
{
    if (cl->conf.fail_closed) {
        cl->st.fail_closed++;
        struct conn *saved = srv->current;
        srv->current = d->conn; /* its events go before its answer */
        int rc = fl_farm_unavailable(srv->engine, s, d->step, dn);
        srv->current = saved;
        if (rc == 0) {
            d->state = D_CLOSED;
            return;
        }
        dn->verdict = dn->would = FL_ALLOW; /* cannot undo: let it be, counted */
    } else {
        cl->st.fail_open++;
    }
    record_add(cl, d);
    d->state = D_OPEN;
    cl->dirty = true;
}

/* ... and answers the client waiting for d. */
static void fail_mode(struct server *srv, struct cluster *cl, struct dec *d)
{
    fl_session *s = d->conn != NULL ? fl_session_find(srv->engine, d->sid) : NULL;
    fl_decision dn;
    memset(&dn, 0, sizeof dn);
    dn.verdict = dn.would = FL_ALLOW;
    if (s == NULL) {
        d->state = D_GONE;
        answer(srv, d, NULL, &dn); /* a client still waiting: an error */
        return;
    }
    fail_mode_decide(srv, cl, d, s, &dn);
    answer(srv, d, fl_session_find(srv->engine, d->sid), &dn);
}

/* After a reply: the farm counts d's fields (farm_has) but must not --
 * it goes back to the session's record --, or must and does not. */
static void settle(struct cluster *cl, struct dec *d, bool farm_has, bool wanted)
{
    if (farm_has && !wanted)
        release(cl, d->sid, record_find(cl, d->sid), true);
    else if (!farm_has && wanted)
        cl->dirty = true; /* only a declaration adds without a check */
}

/* The engine's answer to a reply for a decision still waited for: allowed
 * (counted), or refused at claim hit (count: the farm's). */
static void decide_now(struct server *srv, struct cluster *cl, struct dec *d,
                       long long hit, long long count, bool counted)
{
    fl_session *s = fl_session_find(srv->engine, d->sid);
    fl_decision dn;
    memset(&dn, 0, sizeof dn);
    dn.verdict = dn.would = FL_ALLOW;
    if (hit > 0) {
        const struct claim *k = &d->claims[hit - 1];
        const char *message =
            d->policy_gen == fl_farm_policy_gen(srv->engine) ? k->message : NULL;
        cl->st.refusals++;
        srv->current = d->conn; /* its events go before its answer */
        int rc = fl_farm_refuse(srv->engine, s, d->step, k->limit, k->max, count,
                                message, &dn);
        srv->current = NULL;
        if (rc < 0) {
            memset(&dn, 0, sizeof dn);
            dn.verdict = dn.would = FL_ALLOW;
        }
    }
    bool in = dn.verdict == FL_ALLOW;
    if (in)
        record_add(cl, d);
    /* Counted by the farm (or by a declaration) but refused here: out. */
    settle(cl, d, counted || d->in_declare, in);
    answer(srv, d, fl_session_find(srv->engine, d->sid), &dn);
}

/* One decision's reply: r is 0 (counted), {hit, count} (refused, nothing
 * counted) or {hit, count, 1} (DryRun: counted all the same); NULL for an
 * error. declared: a declaration was sent after it. */
static void on_result(struct server *srv, struct cluster *cl, struct dec *d,
                      const redisReply *r, bool declared)
{
    long long hit = 0, count = 0;
    bool counted = false, ok = true;
    if (r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer == 0) {
        counted = true;
    } else if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements >= 2 &&
               r->element[0]->type == REDIS_REPLY_INTEGER &&
               r->element[0]->integer >= 1 &&
               r->element[0]->integer <= (long long)d->nclaims) {
        hit = r->element[0]->integer;
        count =
            r->element[1]->type == REDIS_REPLY_INTEGER ? r->element[1]->integer : -1;
        counted = r->elements >= 3;
    } else {
        ok = false;
    }
    /* What the farm counts of d now: a declaration sent after it decided
     * (it counted d when d was still waited for); else the script. */
    bool farm_has = declared ? d->in_declare : counted;
    if (d->state == D_PENDING && fl_session_find(srv->engine, d->sid) == NULL) {
        /* Its session ended meanwhile; a client still waiting (it cannot
         * be: a session ends with its client) is told of an error. */
        fl_decision dn = {.verdict = FL_ALLOW, .would = FL_ALLOW};
        d->state = D_GONE;
        answer(srv, d, NULL, &dn);
    }
    switch (d->state) {
    case D_PENDING:
        if (!ok) {
            settle(cl, d, farm_has, false);
            fail_mode(srv, cl, d);
        } else {
            decide_now(srv, cl, d, hit, count, farm_has);
        }
        break;
    case D_OPEN: /* recorded: the farm must count it */
        settle(cl, d, declared || counted, true);
        break;
    case D_CLOSED:
    case D_GONE:
        /* Its session's end released whatever the farm counts of it: that
         * release went after this decision. */
        break;
    }
    dec_free(d);
}

/* A batch's reply: -1 when this node held no lease (nothing was done: it
 * declares, and asks again once), else one result a decision. */
static void on_decide(struct server *srv, struct cluster *cl, struct pend *p,
                      const redisReply *r)
{
    bool declared = p->declares_before != cl->declares_sent;
    if (r != NULL && r->type == REDIS_REPLY_ERROR)
        note_error(cl, "a decision", r->str);
    if (r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer == -1) {
        if (!declared)
            declare(srv, cl);
        for (size_t i = 0; i < p->ndecs; i++) {
            struct dec *d = p->decs[i];
            if (d->in_declare) /* the declaration counted it */
                release(cl, d->sid, record_find(cl, d->sid), true);
            d->in_declare = false;
            if (d->state == D_PENDING && !d->retried) {
                d->retried = true;
                batch_add(cl, d); /* after the declaration */
            } else {
                on_result(srv, cl, d, NULL, false);
            }
        }
        return;
    }
    bool array = r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == p->ndecs;
    for (size_t i = 0; i < p->ndecs; i++)
        on_result(srv, cl, p->decs[i], array ? r->element[i] : NULL, declared);
}

/* Every decision waited for (made before deadline, when > 0) is answered
 * by ClusterFailMode. */
static void answer_overdue(struct server *srv, struct cluster *cl, fl_usec deadline)
{
    for (struct pend *p = cl->head; p != NULL; p = p->next) {
        for (size_t i = 0; p->kind == P_DECIDE && i < p->ndecs; i++) {
            struct dec *d = p->decs[i];
            if (d->state != D_PENDING || d->conn == NULL)
                continue;
            if (deadline > 0 && d->made > deadline)
                return;
            if (deadline > 0)
                cl->st.timeouts++;
            fail_mode(srv, cl, d);
        }
    }
}

/* The batch, all at once: -1 without memory. */
static int send_batch(struct cluster *cl, struct dec **decs, size_t n)
{
    size_t cap = 8 + n * (4 + 5 * FL_FARM_CLAIMS_MAX);
    const char **argv = malloc(cap * sizeof *argv);
    size_t *lens = malloc(cap * sizeof *lens);
    char *text = malloc(
        n * (FL_FARM_CLAIMS_MAX * (sizeof KEY_RATE + FL_FARM_FIELD_MAX + 48) + 16) +
        64);
    struct pend *p = calloc(1, sizeof *p);
    struct dec **list = malloc(n * sizeof *list);
    if (argv == NULL || lens == NULL || text == NULL || p == NULL || list == NULL) {
        free(argv);
        free(lens);
        free(text);
        free(p);
        free(list);
        return -1;
    }
    size_t argc = 0, at = 0, nkeys = 3;
#define ARG(s, l) (argv[argc] = (s), lens[argc++] = (l))
#define ARG_TEXT(...)                                                                  \
    do {                                                                               \
        int w_ = sprintf(text + at, __VA_ARGS__);                                      \
        ARG(text + at, (size_t)w_);                                                    \
        at += (size_t)w_ + 1;                                                          \
    } while (0)
    ARG("EVALSHA", 7);
    ARG(cl->sha[S_DECIDE], 40);
    size_t nkeys_at = argc;
    ARG("", 0); /* the number of keys, once known */
    ARG(KEY_TOTAL, strlen(KEY_TOTAL));
    ARG(cl->node_key, strlen(cl->node_key));
    ARG(KEY_NODES, strlen(KEY_NODES));
    for (size_t i = 0; i < n; i++) { /* the windows: keys, in order */
        const struct dec *d = decs[i];
        for (size_t j = 0; j < d->nclaims; j++) {
            const struct claim *k = &d->claims[j];
            if (k->op == FL_FARM_RATE) {
                ARG_TEXT("%s%.*s", KEY_RATE, (int)k->len, d->bytes + k->off);
                nkeys++;
            }
        }
    }
    ARG(cl->conf.node, strlen(cl->conf.node));
    ARG(cl->conf.dry_run ? "1" : "0", 1);
    ARG_TEXT("%llu", (unsigned long long)++cl->seq);
    ARG_TEXT("%zu", n);
    char *values[BATCH_MAX] = {0};
    bool oom = false;
    for (size_t i = 0; i < n; i++) {
        const struct dec *d = decs[i];
        /* A record from now: the session's end releases what it counts. */
        struct record *r = record_get(cl, d->sid);
        size_t vlen = 0;
        values[i] = session_value(r, d->step == FL_FARM_STEP_LOGIN, d, &vlen);
        oom |= r == NULL || values[i] == NULL;
        ARG_TEXT("%zu", d->nclaims);
        ARG(d->sid, strlen(d->sid));
        ARG(values[i] != NULL ? values[i] : "", vlen);
        for (size_t j = 0; j < d->nclaims; j++) {
            const struct claim *k = &d->claims[j];
            ARG(k->op == FL_FARM_COUNT   ? "c"
                : k->op == FL_FARM_HOSTS ? "x"
                : k->op == FL_FARM_RATE  ? "r"
                                         : "+",
                1);
            ARG(d->bytes + k->off, k->len);
            ARG_TEXT("%lld", k->limit >= 0 ? k->max : -1LL);
            ARG_TEXT("%lld", k->interval_ms);
        }
        list[i] = decs[i];
    }
    char nk[16];
    lens[nkeys_at] = (size_t)snprintf(nk, sizeof nk, "%zu", nkeys);
    argv[nkeys_at] = nk;
#undef ARG
#undef ARG_TEXT
    p->decs = list;
    p->ndecs = n;
    int rc = oom ? -1 : command(cl, P_DECIDE, p, (int)argc, argv, lens);
    for (size_t i = 0; i < n; i++)
        free(values[i]);
    if (rc < 0)
        pend_free(p);
    else
        cl->st.round_trips += n;
    free(argv);
    free(lens);
    free(text);
    return rc;
}

/* What the turn queued: the releases first (a count that goes down never
 * refuses anyone wrongly), then the batch of decisions. */
static void flush(struct server *srv, struct cluster *cl)
{
    if (cl->releases.len > 0) {
        if (!cl->up) {
            cl->dirty = true; /* the declaration after the reconnect says it */
        } else {
            const char *argv[5 + RELEASE_MAX];
            size_t lens[5 + RELEASE_MAX];
            size_t at = 0, len;
            const char *field;
            bool more = true;
            while (more) {
                int argc = 0;
                argv[argc] = "EVALSHA", lens[argc++] = 7;
                argv[argc] = cl->sha[S_RELEASE], lens[argc++] = 40;
                argv[argc] = "2", lens[argc++] = 1;
                argv[argc] = KEY_TOTAL, lens[argc++] = strlen(KEY_TOTAL);
                argv[argc] = cl->node_key, lens[argc++] = strlen(cl->node_key);
                /* session id, fields: two entries each */
                while (argc < 5 + RELEASE_MAX &&
                       (field = packed_next(&cl->releases, &at, &len)) != NULL)
                    argv[argc] = field, lens[argc++] = len;
                more = argc == 5 + RELEASE_MAX;
                if (argc > 5 && command(cl, P_NONE, NULL, argc, argv, lens) < 0)
                    cl->dirty = true;
            }
        }
        packed_free(&cl->releases);
    }
    while (cl->batch != NULL) {
        struct dec *decs[BATCH_MAX];
        size_t n = 0;
        while (cl->batch != NULL && n < BATCH_MAX) {
            struct dec *d = cl->batch;
            cl->batch = d->next;
            if (d->state == D_GONE) /* its session ended: nothing to ask */
                dec_free(d);
            else
                decs[n++] = d;
        }
        if (cl->batch == NULL)
            cl->batch_tail = &cl->batch;
        if (n > 0 && (!cl->up || send_batch(cl, decs, n) < 0)) {
            for (size_t i = 0; i < n; i++) {
                if (decs[i]->state == D_PENDING)
                    fail_mode(srv, cl, decs[i]);
                dec_free(decs[i]);
            }
        }
    }
    if (cl->cmd.ctx != NULL && link_flush(srv, &cl->cmd) < 0)
        link_lost(srv, cl, cl->cmd.ctx->errstr);
}

/* --- declaring this node's counts ----------------------------------------------- */

/* Declare what this node counts -- each session's record, with the
 * decisions sent and still waited for -- in place of the farm's part of
 * it. The releases not sent yet are in neither: dropped. */
static void declare(struct server *srv, struct cluster *cl)
{
    (void)srv;
    /* The decisions waited for, by session. */
    struct record *r, *rtmp;
    HASH_ITER(hh, cl->records, r, rtmp)
    r->pending = NULL;
    for (struct pend *p = cl->head; p != NULL; p = p->next) {
        for (size_t i = 0; p->kind == P_DECIDE && i < p->ndecs; i++) {
            struct dec *d = p->decs[i];
            d->in_declare =
                d->state == D_PENDING && (r = record_find(cl, d->sid)) != NULL;
            if (d->in_declare)
                r->pending = d;
        }
    }
    packed_free(&cl->releases);
    char lease[32], *values[DECLARE_CHUNK];
    snprintf(lease, sizeof lease, "%lld", lease_hold_ms(cl));
    static const char *argv[9 + 2 * DECLARE_CHUNK];
    static size_t lens[9 + 2 * DECLARE_CHUNK];
    bool oom = false, first = true;
    r = cl->records;
    while (!oom) {
        int argc = 0;
        argv[argc++] = "EVALSHA";
        argv[argc++] = cl->sha[S_DECLARE];
        argv[argc++] = "3";
        argv[argc++] = KEY_TOTAL;
        argv[argc++] = cl->node_key;
        argv[argc++] = KEY_NODES;
        argv[argc++] = cl->conf.node;
        argv[argc++] = lease;
        argv[argc++] = first ? "1" : "0";
        for (int i = 0; i < argc; i++)
            lens[i] = strlen(argv[i]);
        int n = 0;
        for (; r != NULL && n < DECLARE_CHUNK; r = r->hh.next) {
            size_t len;
            if ((values[n] = session_value(r, true, r->pending, &len)) == NULL) {
                oom = true;
                break;
            }
            if (len == 0) { /* asked about, counted in nothing */
                free(values[n]);
                continue;
            }
            argv[argc] = r->sid;
            lens[argc++] = strlen(r->sid);
            argv[argc] = values[n];
            lens[argc++] = len;
            n++;
        }
        if (!oom && command(cl, P_DECLARE, NULL, argc, argv, lens) < 0)
            oom = true;
        for (int i = 0; i < n; i++)
            free(values[i]);
        first = false;
        if (r == NULL)
            break;
    }
    if (!first) {
        cl->declares_sent++;
        cl->st.declares++;
    }
    cl->dirty = oom;
}

/* --- the daemon's requests ------------------------------------------------------- */

bool cluster_decide(struct server *srv, struct conn *conn, fl_session *s,
                    fl_farm_step step, fl_decision *d)
{
    struct cluster *cl = cl_of(srv);
    const fl_farm_claim *claims;
    size_t n = fl_farm_claims(srv->engine, &claims);
    if (cl == NULL || n == 0)
        return false;
    struct dec *dc = dec_new(conn, s, step, fl_farm_policy_gen(srv->engine), claims, n);
    if (dc == NULL) {
        cl->dirty = true; /* counted here alone: the next declaration tells */
        return false;
    }
    if (!cl->up) {
        /* Redis is away: ClusterFailMode, now (open leaves the engine's
         * answer in d). */
        fail_mode_decide(srv, cl, dc, s, d);
        dec_free(dc);
        return false;
    }
    batch_add(cl, dc); /* sent at the end of the loop's turn */
    return true;
}

void cluster_count(struct server *srv, fl_session *s)
{
    struct cluster *cl = cl_of(srv);
    const fl_farm_claim *claims;
    size_t n = fl_farm_claims(srv->engine, &claims);
    if (cl == NULL || n == 0)
        return;
    struct dec *dc = dec_new(NULL, s, FL_FARM_STEP_CONNECT,
                             fl_farm_policy_gen(srv->engine), claims, n);
    if (dc == NULL) {
        cl->dirty = true;
        return;
    }
    /* Counted here now, as ClusterFailMode open would: the farm's answer
     * only confirms it (or the next declaration corrects it). */
    record_add(cl, dc);
    dc->state = D_OPEN;
    if (!cl->up) {
        cl->dirty = true;
        dec_free(dc);
        return;
    }
    batch_add(cl, dc);
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
        for (size_t i = 0; p->kind == P_DECIDE && i < p->ndecs; i++) {
            if (p->decs[i]->conn == conn) {
                p->decs[i]->conn = NULL;
                if (p->decs[i]->state == D_PENDING)
                    p->decs[i]->state = D_GONE;
            }
        }
    }
    for (struct dec *d = cl->batch; d != NULL; d = d->next) {
        if (d->conn == conn) {
            d->conn = NULL;
            if (d->state == D_PENDING)
                d->state = D_GONE;
        }
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
        if (r != NULL) { /* counted, or asked about: nothing from now on */
            release(cl, info->sid, NULL, false);
            record_free(cl, r);
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
    release(cl, sid, r, false); /* its connection only */
    packed_free(&r->fields[FL_FARM_STEP_LOGIN]);
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
        (void)command_v(cl, P_NONE, 3, "ZREM", KEY_BAN_ENDS, field);
    } else {
        /* Without a server: the target's bans on every server and each. */
        fl_server_info servers[64];
        size_t ns = fl_engine_servers(srv->engine, servers, 64);
        snprintf(field, sizeof field, "%s\t*\t%s", k, target);
        (void)command_v(cl, P_NONE, 3, "HDEL", KEY_BANS, field);
        (void)command_v(cl, P_NONE, 3, "ZREM", KEY_BAN_ENDS, field);
        for (size_t i = 0; i < ns; i++) {
            snprintf(field, sizeof field, "%s\t%s\t%s", k, servers[i].name, target);
            (void)command_v(cl, P_NONE, 3, "HDEL", KEY_BANS, field);
            (void)command_v(cl, P_NONE, 3, "ZREM", KEY_BAN_ENDS, field);
            (void)command_v(cl, P_NONE, 3, "ZREM", KEY_BAN_ENDS, field);
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
    if (was_up && why != NULL) /* NULL: the reason was said already */
        note_error(cl, "connection lost", why[0] ? why : "closed");
    link_close(&cl->cmd);
    link_close(&cl->sub);
    cl->up = cl->sub_up = false;
    /* Nothing sent will be answered: decisions by ClusterFailMode, and the
     * node declares everything once it is back. */
    answer_overdue(srv, cl, 0);
    pends_drop(cl); /* the declaration after the reconnect counts right */
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
        /* "PASSWORD", or "USER PASSWORD" for a Redis 6 ACL user. */
        char *space = strchr(password, ' ');
        const char *argv[3] = {"AUTH", password, space != NULL ? space + 1 : NULL};
        if (space != NULL)
            *space = '\0';
        size_t lens[3] = {4, strlen(argv[1]), space != NULL ? strlen(argv[2]) : 0};
        redisAppendCommandArgv(ctx, space != NULL ? 3 : 2, argv, lens);
        if (!subscriber) {
            struct pend *p = calloc(1, sizeof *p);
            if (p != NULL) {
                p->kind = P_AUTH;
                pend_push(cl, p);
            }
        }
        explicit_bzero(password, lens[1] + (space != NULL ? 1 + lens[2] : 0));
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
            if (!cl->sub_up) { /* its AUTH or SUBSCRIBE: no bans from the farm */
                freeReplyObject(reply);
                link_lost(srv, cl, NULL);
                return;
            }
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
    const char *argv[7 + 64];
    size_t lens[7 + 64];
    char fields[64][220];
    char lease[32];
    struct pend *p = calloc(1, sizeof *p);
    if (p == NULL || (p->servers = calloc(ns + 1, sizeof *p->servers)) == NULL) {
        free(p);
        return;
    }
    snprintf(lease, sizeof lease, "%lld", lease_hold_ms(cl));
    argv[0] = KEY_NODES;
    argv[1] = KEY_TOTAL;
    argv[2] = KEY_BANS;
    argv[3] = KEY_BAN_ENDS;
    argv[4] = cl->node_key;
    argv[5] = cl->conf.node;
    argv[6] = lease;
    int argc = 7;
    for (size_t i = 0; i < ns; i++) {
        /* The field decide/farm.c counts a server's clients in (a name
         * past 200 bytes is a digest there: such a server shows 0). */
        snprintf(fields[i], sizeof fields[0], "S%s", servers[i].name);
        argv[argc++] = fields[i];
        if ((p->servers[p->nservers] = strdup(servers[i].name)) != NULL)
            p->nservers++;
        else
            break;
    }
    argc = 7 + (int)p->nservers;
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    if (script(cl, S_HEARTBEAT, P_HEARTBEAT, p, 5, argc, argv, lens) < 0)
        pend_free(p);
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
        struct dec *d = NULL;
        for (size_t i = 0; p->kind == P_DECIDE && i < p->ndecs && d == NULL; i++)
            if (p->decs[i]->state == D_PENDING && p->decs[i]->conn != NULL)
                d = p->decs[i];
        if (d != NULL) {
            fl_usec due = d->made + cl->conf.timeout;
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
    flush(srv, cl); /* what this turn queued */
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
    pends_drop(cl);
    while (cl->batch != NULL) {
        struct dec *d = cl->batch;
        cl->batch = d->next;
        dec_free(d);
    }
    packed_free(&cl->releases);
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

static void sha_of(const char *text, char out[41]);

/* A live session's fields under the policy in force, in place of its
 * record's (a reload changed what the farm counts). */
static void recount_session(fl_session *s, void *arg)
{
    struct server *srv = arg;
    struct cluster *cl = srv->cluster;
    const fl_farm_claim *claims;
    size_t n = fl_farm_session_claims(srv->engine, s, &claims);
    struct record *r = record_find(cl, fl_session_id(s));
    if (n == 0 && r == NULL)
        return;
    struct dec *d = dec_new(NULL, s, FL_FARM_STEP_CONNECT, 0, claims, n);
    if (d == NULL) {
        cl->dirty = true;
        return;
    }
    if (r != NULL) {
        packed_free(&r->fields[0]);
        packed_free(&r->fields[1]);
    }
    record_add(cl, d);
    dec_free(d);
}

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
    if (cl != NULL) { /* lease, timeout, fail mode, what the farm counts */
        bool recount = conf.counted != cl->conf.counted;
        cl->conf = conf;
        if (recount) {
            /* Each session counts in what the new policy's limits use: its
             * fields anew, then declared. */
            server_each_session(srv, recount_session, srv);
            if (cl->up)
                declare(srv, cl);
            else
                cl->dirty = true;
            log_msg(LOG_NOTICE,
                    "Cluster %s: the farm counts other limits now; "
                    "%zu session(s) declared again",
                    conf.url, cl->nrecords);
        }
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
    cl->batch_tail = &cl->batch;
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
                cl->npending--;
                freeReplyObject(reply);
                pend_drop(p);
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
