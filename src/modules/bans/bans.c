/*
 * bans.c - the ban table and mod_ban, the listener that fills it.
 *
 * A ban is keyed by its kind, its server and its target in a uthash
 * (bounded by MaxTrackedHosts, not by mod_ban's 512 slots), ends on an
 * engine timer, and is checked at connect (host, class) and at PASS (user,
 * user@host). As mod_ban's, a ban is a server's -- the server whose session
 * fired the rule, or one named by hand -- or every server's (a manual ban
 * naming none, a rule under BanOptions MatchAnyServer).
 *
 * BanOnEvent rules count occurrences per (rule, server, target) in an exact sliding
 * window -- the times of the last N occurrences -- where mod_ban's window is
 * fixed from the first occurrence. A rule fires when N occurrences fall
 * within the window. The rules are the policy's in force (struct
 * fl_ban_conf); a new policy's listeners are registered before it is put
 * in force (prepare), so that a reload that fails changes nothing.
 *
 * With BanTable, the bans are written (to a temporary file, then renamed)
 * a second after they change and when the engine shuts down, with their
 * expiry in wall-clock time, and read back when a policy names the file.
 */
#include "config.h"

#include <ftplimit/bans.h>
#include <ftplimit/geoip.h>
#include <ftplimit/json.h>

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "context.h"
#include "modules/bans/bans.h"
#include "policy/directive.h"
#include "util/addr.h"
#include "util/buf.h"
#include "util/file.h"
#include "util/rate.h"
#include "util/text.h"

#define SAVE_DELAY FL_USEC_PER_SEC
#define SAVE_POLL (50 * FL_USEC_PER_SEC / 1000) /* looking for a save's end */
#define SWEEP_INTERVAL (10 * FL_USEC_PER_SEC)

/* A key is the kind, the server (two bytes: EVERY_SERVER, else the id of
 * the server's counts plus one, as server_tag() gives it), then for a host
 * the 16-byte address, for user@host the address and the user, for a user
 * or class the name. Counts are never freed: a server's tag names it for
 * the engine's life. */
#define KEY_HEAD 3
#define KEY_MAX (KEY_HEAD + 16 + FL_USER_MAX)
#define EVERY_SERVER 0u

struct fl_ban {
    UT_hash_handle hh;
    fl_engine *e;
    int timerno;
    fl_usec expires;
    char *message; /* template; NULL for the kind's default */
    char *reason;  /* the rule's name, or "manual" */
    size_t keylen;
    uint8_t key[];
};

struct fl_ban_counter {
    UT_hash_handle hh;
    fl_rate *window;
    fl_usec period; /* the rule's window, for the sweep */
    size_t keylen;
    uint8_t key[]; /* the rule's number (2 bytes), then the ban key */
};

/* A ban made while an event was being dispatched, announced after. */
struct fl_ban_pending {
    struct fl_ban_pending *next;
    char *sid;
    long long max, count;
    size_t keylen;
    uint8_t key[];
};

/* A listener for one event that rules count. */
struct fl_ban_tap {
    fl_engine *e;
    char *event;
};

static const char *default_message(fl_ban_kind kind)
{
    switch (kind) {
    case FL_BAN_HOST:
        return "Sorry, your host (%a) is banned from this server for a while.";
    case FL_BAN_USER:
        return "Sorry, user %u is banned from this server for a while.";
    case FL_BAN_CLASS:
        return "Sorry, your class (%c) is banned from this server for a while.";
    case FL_BAN_NETWORK:
        return "Sorry, your network is banned from this server for a while.";
    default:
        return "Sorry, user %u from %a is banned from this server for a while.";
    }
}

static const char *ban_message(const struct fl_ban *b)
{
    return b->message != NULL ? b->message : default_message((fl_ban_kind)b->key[0]);
}

/* --- keys ------------------------------------------------------------------------ */

static unsigned server_tag(const fl_server_counts *c)
{
    return c->id + 1u;
}

static unsigned key_server(const uint8_t *key)
{
    return (unsigned)key[1] << 8 | key[2];
}

static void key_set_server(uint8_t *key, unsigned server)
{
    key[1] = (uint8_t)(server >> 8);
    key[2] = (uint8_t)server;
}

/* The name of the server a key bans from, or NULL: every server. */
static const char *key_server_name(const fl_engine *e, const uint8_t *key)
{
    unsigned tag = key_server(key);
    return tag == EVERY_SERVER ? NULL : e->t.counts[tag - 1]->name;
}

/* A network's key: its address (host bits cleared) and its length in the
 * 128-bit space. */
static size_t key_make_net(uint8_t *key, unsigned server, const fl_addr *net,
                           unsigned bits)
{
    key[0] = (uint8_t)FL_BAN_NETWORK;
    key_set_server(key, server);
    memcpy(key + KEY_HEAD, net->b, 16);
    key[KEY_HEAD + 16] = (uint8_t)bits;
    return KEY_HEAD + 17;
}

static size_t key_make(uint8_t *key, fl_ban_kind kind, unsigned server,
                       const fl_addr *addr, const char *name)
{
    size_t n = KEY_HEAD, len = name != NULL ? strnlen(name, FL_USER_MAX) : 0;
    key[0] = (uint8_t)kind;
    key_set_server(key, server);
    if (kind == FL_BAN_HOST || kind == FL_BAN_USER_HOST) {
        memcpy(key + n, addr->b, 16);
        n += 16;
    }
    if (kind != FL_BAN_HOST) {
        memcpy(key + n, name, len);
        n += len;
    }
    return n;
}

/* The key of a target written as text: an address, a name, or user@address
 * (split at the last '@'). -1/EINVAL. */

static int key_from_text(fl_ban_kind kind, const char *target, unsigned server,
                         uint8_t *key, size_t *len)
{
    fl_addr a;
    size_t tlen = target != NULL ? strnlen(target, FL_USER_MAX + 1) : 0;
    const char *at = kind == FL_BAN_USER_HOST && tlen > 0 ? strrchr(target, '@') : NULL;
    char user[FL_USER_MAX + 1];

    errno = EINVAL;
    if (tlen == 0 || tlen > FL_USER_MAX || (unsigned)kind > FL_BAN_NETWORK)
        return -1;
    if (fl_text_has_control(target, tlen))
        return -1; /* as the protocol refuses them */
    if (kind == FL_BAN_CLASS && !fl_class_name_valid(target))
        return -1;
    if (kind == FL_BAN_HOST) {
        if (fl_addr_parse(target, &a) < 0)
            return -1;
        *len = key_make(key, kind, server, &a, NULL);
    } else if (kind == FL_BAN_NETWORK) {
        unsigned bits;
        if (strchr(target, '/') == NULL || fl_cidr_parse(target, &a, &bits) < 0)
            return -1;
        *len = key_make_net(key, server, &a, bits);
    } else if (kind == FL_BAN_USER_HOST) {
        if (at == NULL || at == target || fl_addr_parse(at + 1, &a) < 0)
            return -1;
        snprintf(user, sizeof user, "%.*s", (int)(at - target), target);
        *len = key_make(key, kind, server, &a, user);
    } else {
        *len = key_make(key, kind, server, NULL, target);
    }
    return 0;
}

/* The target as text, from a key. */
static void key_text(const uint8_t *key, size_t len, char *out, size_t size)
{
    fl_addr a;
    char addr[FL_ADDR_TEXT_MAX];
    switch ((fl_ban_kind)key[0]) {
    case FL_BAN_HOST:
        memcpy(a.b, key + KEY_HEAD, 16);
        snprintf(out, size, "%s", fl_addr_format(&a, addr, sizeof addr));
        break;
    case FL_BAN_USER_HOST:
        memcpy(a.b, key + KEY_HEAD, 16);
        snprintf(out, size, "%.*s@%s", (int)(len - KEY_HEAD - 16),
                 (const char *)key + KEY_HEAD + 16,
                 fl_addr_format(&a, addr, sizeof addr));
        break;
    case FL_BAN_NETWORK:
        memcpy(a.b, key + KEY_HEAD, 16);
        snprintf(out, size, "%s/%u", fl_addr_format(&a, addr, sizeof addr),
                 key[KEY_HEAD + 16] - (fl_addr_v4(&a) ? 96u : 0u));
        break;
    default:
        snprintf(out, size, "%.*s", (int)(len - KEY_HEAD),
                 (const char *)key + KEY_HEAD);
        break;
    }
}

static struct fl_ban *ban_find(fl_engine *e, const uint8_t *key, size_t len)
{
    const fl_hash_key *hash_key = &e->hash_key;
    struct fl_ban *b;
    HASH_FIND(hh, e->bans->table, key, len, b);
    return b;
}

/* The ban of key's target on server (a tag), else on every server: key's
 * server is set to each in turn. */
static struct fl_ban *ban_find_for(fl_engine *e, uint8_t *key, size_t len,
                                   unsigned server)
{
    key_set_server(key, server);
    struct fl_ban *b = ban_find(e, key, len);
    if (b == NULL && server != EVERY_SERVER) {
        key_set_server(key, EVERY_SERVER);
        b = ban_find(e, key, len);
    }
    return b;
}

/* --- persistence ------------------------------------------------------------------ */

/* A save: the table as text, made on the engine's thread, then written,
 * flushed to disk and renamed by a thread of its own, so that neither a
 * large table nor a slow disk holds up a decision. */
struct fl_ban_save {
    pthread_t thread;
    char *path, *text;
    size_t len;
    atomic_bool done;
    int err;          /* 0, or the errno of what failed */
    const char *what; /* ... and what it was doing */
};

/* usec since 1970 as seconds with six decimals. */
static void text_seconds(fl_buf *t, long long usec)
{
    char digits[32], *d = digits + sizeof digits;
    bool negative = usec < 0;
    unsigned long long v =
        negative ? 0ull - (unsigned long long)usec : (unsigned long long)usec;
    for (int i = 0; i < 6; i++, v /= 10)
        *--d = (char)('0' + v % 10);
    *--d = '.';
    do
        *--d = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    if (negative)
        *--d = '-';
    fl_buf_put(t, d, (size_t)(digits + sizeof digits - d));
}

/* The table as the file holds it: one JSON object per line. NULL without
 * memory. */
static char *table_text(fl_engine *e, size_t *out_len)
{
    fl_buf t = {0};
    fl_usec now = fl_now(e);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long wall = (long long)ts.tv_sec * FL_USEC_PER_SEC + ts.tv_nsec / 1000;
    for (const struct fl_ban *b = e->bans->table; !t.failed && b != NULL;
         b = b->hh.next) {
        char target[KEY_MAX + FL_ADDR_TEXT_MAX];
        key_text(b->key, b->keylen, target, sizeof target);
        const char *server = key_server_name(e, b->key);
        const char *kind = fl_ban_kind_name((fl_ban_kind)b->key[0]);
        FL_BUF_PUT(&t, "{\"kind\":\"");
        fl_buf_put(&t, kind, strlen(kind));
        FL_BUF_PUT(&t, "\",\"target\":");
        fl_buf_put_with(&t, fl_json_quote, target);
        if (server != NULL) {
            FL_BUF_PUT(&t, ",\"server\":");
            fl_buf_put_with(&t, fl_json_quote, server);
        }
        FL_BUF_PUT(&t, ",\"expires\":");
        text_seconds(&t, wall + (b->expires - now));
        FL_BUF_PUT(&t, ",\"reason\":");
        fl_buf_put_with(&t, fl_json_quote, b->reason);
        if (b->message != NULL) {
            FL_BUF_PUT(&t, ",\"message\":");
            fl_buf_put_with(&t, fl_json_quote, b->message);
        }
        FL_BUF_PUT(&t, "}\n");
    }
    /* An empty table is an empty file: a buffer all the same. */
    if (t.failed || !fl_buf_reserve(&t, 0)) {
        fl_free(t.data);
        return NULL;
    }
    *out_len = t.len;
    return t.data;
}

/* Write text to path: to PATH.tmp, checked, flushed and synced, then
 * renamed over it. Every byte or none: on a failure the table in place
 * stays. 0, or -1 with errno and *what. */
static int table_write(const char *path, const char *text, size_t len,
                       const char **what)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp) {
        *what = "name it";
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = fl_file_open_write(tmp, false);
    if (fd < 0) {
        *what = "open its temporary file";
        return -1;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, text + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = ENOSPC;
            *what = "write it";
            goto fail;
        }
        off += (size_t)n;
    }
    if (fsync(fd) < 0) {
        *what = "flush it to disk";
        goto fail;
    }
    if (close(fd) < 0) {
        fd = -1;
        *what = "close it";
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        *what = "rename it into place";
        goto fail;
    }
    return 0;
fail:;
    int saved = errno;
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    errno = saved;
    return -1;
}

static void *save_thread(void *arg)
{
    struct fl_ban_save *s = arg;
    if (table_write(s->path, s->text, s->len, &s->what) < 0)
        s->err = errno;
    atomic_store(&s->done, true);
    return NULL;
}

/* A save that failed keeps the table; it is logged and counted. */
static void save_failed(fl_engine *e, const char *path, const char *what, int err)
{
    e->bans->save_failures++;
    fl_log(e, LOG_ERR, "BanTable: cannot %s (%s): %s; the table stays as it was", what,
           path, strerror(err));
}

/* The save under way, if its thread is done (or wait for it): its result
 * logged, its memory freed. True when no save is under way any more. */
static bool save_reap(fl_engine *e, bool wait)
{
    struct fl_ban_save *s = e->bans->saving;
    if (s == NULL)
        return true;
    if (!wait && !atomic_load(&s->done))
        return false;
    pthread_join(s->thread, NULL);
    if (s->err != 0)
        save_failed(e, s->path, s->what, s->err);
    fl_free(s->path);
    fl_free(s->text);
    fl_free(s);
    e->bans->saving = NULL;
    return true;
}

static int save_cb(fl_usec interval, int timerno, fl_usec elapsed, void *data);

/* Save a second from now, so that a burst of bans costs one write. */
static void save_soon(fl_engine *e)
{
    if (e->bans->table_path == NULL)
        return;
    if (e->bans->saving != NULL)
        e->bans->resave = true; /* what is being written is already old */
    if (e->bans->save_timer < 0)
        e->bans->save_timer = fl_timer_add_usec(e, SAVE_DELAY, FL_TIMER_DYNAMIC,
                                                e->bans->module, save_cb, e);
}

/* Start a save in its thread; with background false (shutdown), write it
 * here and now. */
static void save_now(fl_engine *e, bool background)
{
    const char *path = e->bans->table_path;
    if (path == NULL || !save_reap(e, !background))
        return;
    struct fl_ban_save *s = fl_calloc(1, sizeof *s);
    if (s == NULL || (s->path = fl_strdup(path)) == NULL ||
        (s->text = table_text(e, &s->len)) == NULL) {
        if (s != NULL)
            fl_free(s->path);
        fl_free(s);
        save_failed(e, path, "make it", ENOMEM);
        return;
    }
    atomic_init(&s->done, false);
    /* The thread takes no signal: they are the embedding program's. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int started = background ? pthread_create(&s->thread, NULL, save_thread, s) : -1;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (started != 0) {
        const char *what = NULL;
        if (table_write(s->path, s->text, s->len, &what) < 0)
            save_failed(e, s->path, what, errno);
        fl_free(s->path);
        fl_free(s->text);
        fl_free(s);
        return;
    }
    e->bans->saving = s;
}

/* The save timer: a second after a change, start a save; while one is
 * being written, look again soon, and save anew once it is done if the
 * bans changed meanwhile. */
static int save_cb(fl_usec interval, int timerno, fl_usec elapsed, void *data)
{
    (void)interval;
    (void)timerno;
    (void)elapsed;
    fl_engine *e = data;
    e->bans->save_timer = -1;
    if (e->bans->saving != NULL) {
        bool changed = e->bans->resave;
        if (!save_reap(e, false)) {
            e->bans->save_timer = fl_timer_add_usec(e, SAVE_POLL, FL_TIMER_DYNAMIC,
                                                    e->bans->module, save_cb, e);
            return 0;
        }
        e->bans->resave = false;
        if (changed)
            save_soon(e);
        return 0;
    }
    save_now(e, true);
    if (e->bans->saving != NULL)
        e->bans->save_timer = fl_timer_add_usec(e, SAVE_POLL, FL_TIMER_DYNAMIC,
                                                e->bans->module, save_cb, e);
    return 0;
}

/* --- the table ------------------------------------------------------------------- */

/* ftplimit.ban or ftplimit.ban-expired about b. */
static void ban_event(fl_engine *e, const char *event, const struct fl_ban *b,
                      const char *sid, long long max, long long count)
{
    if (fl_event_listening(e, event) <= 0)
        return;
    char target[KEY_MAX + FL_ADDR_TEXT_MAX], addr_text[FL_ADDR_TEXT_MAX];
    char user[FL_USER_MAX + 1];
    key_text(b->key, b->keylen, target, sizeof target);
    fl_event_info info = {
        .event = event,
        .sid = sid,
        .limit = b->reason,
        .max = max,
        .count = count,
        .message = ban_message(b),
        .time = fl_now(e),
        .ban = fl_ban_kind_name((fl_ban_kind)b->key[0]),
        .target = target,
        .duration = -1,
        .server = key_server_name(e, b->key),
    };
    fl_addr a;
    switch ((fl_ban_kind)b->key[0]) {
    case FL_BAN_HOST:
        info.address = target;
        break;
    case FL_BAN_USER_HOST:
        memcpy(a.b, b->key + KEY_HEAD, 16);
        info.address = fl_addr_format(&a, addr_text, sizeof addr_text);
        snprintf(user, sizeof user, "%.*s", (int)(b->keylen - KEY_HEAD - 16),
                 (const char *)b->key + KEY_HEAD + 16);
        info.user = user;
        break;
    case FL_BAN_USER:
        info.user = target;
        break;
    case FL_BAN_CLASS:
        info.class_name = target;
        break;
    case FL_BAN_NETWORK:
        break; /* ban and target say it */
    }
    if (strcmp(event, FL_EV_BAN) == 0)
        info.duration =
            (b->expires - info.time + FL_USEC_PER_SEC - 1) / FL_USEC_PER_SEC;
    fl_event_generate(e, event, &info);
}

/* ftplimit.ban about b: now, or -- when an event is being dispatched, as
 * when a rule fires -- once that dispatch ends, so that the ban follows
 * its cause for every listener. */
static void announce_pending(fl_engine *e);

static void ban_announce(fl_engine *e, const struct fl_ban *b, const char *sid,
                         long long max, long long count)
{
    if (!fl_event_dispatching(e)) {
        ban_event(e, FL_EV_BAN, b, sid, max, count);
        return;
    }
    struct fl_ban_pending *p = fl_calloc(1, sizeof *p + b->keylen);
    if (p == NULL || (sid != NULL && (p->sid = fl_strdup(sid)) == NULL)) {
        fl_free(p);
        ban_event(e, FL_EV_BAN, b, sid, max, count); /* late is better than never */
        return;
    }
    p->max = max;
    p->count = count;
    p->keylen = b->keylen;
    memcpy(p->key, b->key, b->keylen);
    struct fl_ban_pending **tail = &e->bans->pending;
    while (*tail != NULL)
        tail = &(*tail)->next;
    *tail = p;
    fl_event_after_dispatch(e, announce_pending);
}

/* When the outermost dispatch ends: the ftplimit.ban of the bans made
 * during it, so that each follows the event that caused it. */
static void announce_pending(fl_engine *e)
{
    while (e->bans->pending != NULL) {
        struct fl_ban_pending *p = e->bans->pending;
        e->bans->pending = p->next;
        const struct fl_ban *b = ban_find(e, p->key, p->keylen);
        if (b != NULL) /* a listener may have lifted it meanwhile */
            ban_event(e, FL_EV_BAN, b, p->sid, p->max, p->count);
        fl_free(p->sid);
        fl_free(p);
    }
}

static void pending_free(fl_engine *e)
{
    while (e->bans->pending != NULL) {
        struct fl_ban_pending *p = e->bans->pending;
        e->bans->pending = p->next;
        fl_free(p->sid);
        fl_free(p);
    }
}

static const struct fl_ban_conf *conf_of(fl_engine *e);
static bool exempt(const struct fl_ban_conf *c, const fl_addr *addr, const char *cls);

/* A ban the kernel holds too under BanFirewall: a host's or a network's,
 * on every server (or on the main server of a policy that has no other);
 * a network's only while BanExempt names no class (the kernel cannot tell
 * a class's hosts in it). *a and *bits: the host (128) or the network. */
static bool kernel_target(fl_engine *e, const uint8_t *key, fl_addr *a, unsigned *bits)
{
    if (e->bans->firewall == NULL ||
        (key[0] != FL_BAN_HOST && key[0] != FL_BAN_NETWORK))
        return false;
    if (key[0] == FL_BAN_NETWORK && conf_of(e)->nexempt_classes > 0)
        return false;
    unsigned tag = key_server(key);
    if (tag != EVERY_SERVER &&
        !(e->policy->nscopes <= 1 && strcmp(key_server_name(e, key), "main") == 0))
        return false;
    memcpy(a->b, key + KEY_HEAD, 16);
    *bits = key[0] == FL_BAN_NETWORK ? key[KEY_HEAD + 16] : 128;
    return true;
}

static void ban_free(fl_engine *e, struct fl_ban *b)
{
    fl_addr a;
    unsigned bits;
    if (kernel_target(e, b->key, &a, &bits))
        fl_firewall_unban(e, &a, bits);
    if (b->key[0] == FL_BAN_NETWORK) {
        e->bans->net_bits[b->key[KEY_HEAD + 16]]--;
        e->bans->nnets--;
    }
    HASH_DEL(e->bans->table, b);
    if (b->timerno >= 0)
        (void)fl_timer_remove(e, b->timerno, e->bans->module);
    fl_free(b->message);
    fl_free(b->reason);
    fl_free(b);
}

static int expire_cb(fl_usec interval, int timerno, fl_usec elapsed, void *data)
{
    (void)interval;
    (void)timerno;
    (void)elapsed;
    struct fl_ban *b = data;
    fl_engine *e = b->e;
    b->timerno = -1; /* the timer ends with this callback */
    e->bans->expired++;
    ban_event(e, FL_EV_BAN_EXPIRED, b, NULL, -1, -1);
    ban_free(e, b);
    save_soon(e);
    return 0;
}

static char *dup_or_null(const char *s, bool *failed)
{
    if (s == NULL)
        return NULL;
    char *copy = fl_strdup(s);
    if (copy == NULL)
        *failed = true;
    return copy;
}

/* Make or extend a ban for duration. *fresh tells which. NULL with errno. */
static struct fl_ban *ban_put(fl_engine *e, const uint8_t *key, size_t len,
                              fl_usec duration, const char *message, const char *reason,
                              bool *fresh)
{
    bool failed = false;
    char *msg = dup_or_null(message, &failed), *why = dup_or_null(reason, &failed);
    struct fl_ban *b = ban_find(e, key, len);
    *fresh = b == NULL;
    if (b == NULL && !failed) {
        if ((long long)HASH_COUNT(e->bans->table) >= e->policy->max_tracked_hosts) {
            fl_free(msg);
            fl_free(why);
            errno = ENOSPC;
            return NULL;
        }
        b = fl_calloc(1, sizeof *b + len);
        if (b != NULL) {
            const fl_hash_key *hash_key = &e->hash_key;
            b->e = e;
            b->timerno = -1;
            b->keylen = len;
            memcpy(b->key, key, len);
            HASH_ADD_KEYPTR(hh, e->bans->table, b->key, len, b);
            if (!FL_HASH_ADDED(b)) {
                fl_free(b);
                b = NULL;
            } else if (key[0] == FL_BAN_NETWORK) {
                e->bans->net_bits[key[KEY_HEAD + 16]]++;
                e->bans->nnets++;
            }
        }
    }
    int timerno = b != NULL && !failed
                      ? fl_timer_add_usec(e, duration, FL_TIMER_DYNAMIC,
                                          e->bans->module, expire_cb, b)
                      : -1;
    if (b == NULL || failed || timerno < 0) {
        if (b != NULL && *fresh)
            ban_free(e, b);
        fl_free(msg);
        fl_free(why);
        errno = ENOMEM;
        return NULL;
    }
    if (b->timerno >= 0)
        (void)fl_timer_remove(e, b->timerno, e->bans->module);
    b->timerno = timerno;
    b->expires = fl_now(e) + duration;
    fl_addr a;
    unsigned bits;
    if (kernel_target(e, b->key, &a, &bits))
        fl_firewall_ban(e, &a, bits, duration, *fresh);
    fl_free(b->message);
    b->message = msg;
    fl_free(b->reason);
    b->reason = why;
    save_soon(e);
    return b;
}

/* --- checks ------------------------------------------------------------------------
 */

/* The gate (context.h): the message of the ban refusing a client of the
 * server whose counts' id is server at connect (its address or class), or
 * NULL: the server's own bans, then every server's. */
static const char *at_connect(fl_engine *e, unsigned server, const fl_addr *addr,
                              const char *cls)
{
    if (e->bans->table == NULL)
        return NULL;
    uint8_t key[KEY_MAX];
    size_t len = key_make(key, FL_BAN_HOST, EVERY_SERVER, addr, NULL);
    const struct fl_ban *b = ban_find_for(e, key, len, server + 1);
    /* The networks it is in, the narrowest first, unless it is exempt. */
    for (int bits = 128; b == NULL && e->bans->nnets > 0 && bits >= 0; bits--) {
        if (e->bans->net_bits[bits] == 0)
            continue;
        fl_addr net;
        fl_addr_mask(addr, (unsigned)bits, &net);
        len = key_make_net(key, EVERY_SERVER, &net, (unsigned)bits);
        b = ban_find_for(e, key, len, server + 1);
        if (b != NULL && exempt(conf_of(e), addr, cls))
            b = NULL;
    }
    if (b == NULL && cls != NULL) {
        len = key_make(key, FL_BAN_CLASS, EVERY_SERVER, NULL, cls);
        b = ban_find_for(e, key, len, server + 1);
    }
    return b != NULL ? ban_message(b) : NULL;
}

/* ... and of the ban refusing a login (user, or user@address). */
static const char *at_login(fl_engine *e, unsigned server, const char *user,
                            const fl_addr *addr)
{
    if (e->bans->table == NULL)
        return NULL;
    uint8_t key[KEY_MAX];
    size_t len = key_make(key, FL_BAN_USER, EVERY_SERVER, NULL, user);
    const struct fl_ban *b = ban_find_for(e, key, len, server + 1);
    if (b == NULL) {
        len = key_make(key, FL_BAN_USER_HOST, EVERY_SERVER, addr, user);
        b = ban_find_for(e, key, len, server + 1);
    }
    return b != NULL ? ban_message(b) : NULL;
}

/* mod_ban's settings in the policy in force. */
static const struct fl_ban_conf *conf_of(fl_engine *e)
{
    return fl_policy_conf(e->policy, &fl_bans_part);
}

/* BanExempt: the client of an event is never banned. */
static bool exempt(const struct fl_ban_conf *c, const fl_addr *addr, const char *cls)
{
    for (size_t i = 0; addr != NULL && i < c->nexempt; i++) {
        if (fl_addr_in_prefix(addr, &c->exempt[i].net, c->exempt[i].bits))
            return true;
    }
    for (size_t i = 0; cls != NULL && i < c->nexempt_classes; i++) {
        if (strcmp(c->exempt_classes[i], cls) == 0)
            return true;
    }
    return false;
}

/* A network key that holds an exempt address or network, or lies in one. */
static bool overlaps_exempt(const struct fl_ban_conf *c, const uint8_t *key)
{
    fl_addr net;
    memcpy(net.b, key + KEY_HEAD, 16);
    unsigned bits = key[KEY_HEAD + 16];
    for (size_t i = 0; i < c->nexempt; i++) {
        unsigned common = bits < c->exempt[i].bits ? bits : c->exempt[i].bits;
        if (fl_addr_in_prefix(&net, &c->exempt[i].net, common))
            return true;
    }
    return false;
}

/* Another network ban on the same server that overlaps this one (holds
 * it, or lies in it): one of the two is enough, and the kernel's interval
 * sets take no overlapping elements. */
static bool overlaps_network(fl_engine *e, const uint8_t *key, size_t len)
{
    if (e->bans->nnets == 0)
        return false;
    fl_addr net;
    memcpy(net.b, key + KEY_HEAD, 16);
    unsigned bits = key[KEY_HEAD + 16];
    for (const struct fl_ban *b = e->bans->table; b != NULL; b = b->hh.next) {
        if (b->key[0] != FL_BAN_NETWORK || key_server(b->key) != key_server(key) ||
            (b->keylen == len && memcmp(b->key, key, len) == 0))
            continue;
        fl_addr other;
        memcpy(other.b, b->key + KEY_HEAD, 16);
        unsigned obits = b->key[KEY_HEAD + 16];
        if (fl_addr_in_prefix(&net, &other, bits < obits ? bits : obits))
            return true;
    }
    return false;
}

/* --- the administrator's API ----------------------------------------------------- */

/* The tag of the server text names (a server's name or one of its
 * addresses, fl_server_resolve), EVERY_SERVER for NULL; -1/ENOENT. */
static int server_named(fl_engine *e, const char *text)
{
    if (text == NULL)
        return (int)EVERY_SERVER;
    const fl_server_counts *c = fl_server_resolve(e, text);
    if (c == NULL) {
        errno = ENOENT;
        return -1;
    }
    return (int)server_tag(c);
}

int fl_ban_add(fl_engine *e, fl_ban_kind kind, const char *target, const char *server,
               fl_usec duration, const char *message)
{
    return fl_ban_add_from(e, kind, target, server, duration, message, NULL);
}

int fl_ban_add_from(fl_engine *e, fl_ban_kind kind, const char *target,
                    const char *server, fl_usec duration, const char *message,
                    const char *reason)
{
    uint8_t key[KEY_MAX];
    size_t len;
    if (e == NULL || duration <= 0 || duration > FL_BAN_SECONDS_MAX * FL_USEC_PER_SEC ||
        key_from_text(kind, target, EVERY_SERVER, key, &len) < 0 ||
        (message != NULL && strnlen(message, FL_MESSAGE_MAX) >= FL_MESSAGE_MAX) ||
        (reason != NULL && (reason[0] == '\0' || strlen(reason) > 127))) {
        errno = EINVAL;
        return -1;
    }
    int tag = server_named(e, server);
    if (tag < 0)
        return -1;
    key_set_server(key, (unsigned)tag);
    /* An exempt host is one in an exempt network, or of an exempt class
     * (as its address alone classifies it: a manual ban has no DNS name). */
    fl_addr a;
    if ((kind == FL_BAN_HOST || kind == FL_BAN_USER_HOST) &&
        (memcpy(a.b, key + KEY_HEAD, 16), true) &&
        exempt(conf_of(e), &a, fl_class_of(e, &a, NULL))) {
        errno = EPERM;
        return -1;
    }
    if (kind == FL_BAN_CLASS && exempt(conf_of(e), NULL, target)) {
        errno = EPERM;
        return -1;
    }
    if (kind == FL_BAN_NETWORK && overlaps_exempt(conf_of(e), key)) {
        errno = EPERM;
        return -1;
    }
    if (kind == FL_BAN_NETWORK && overlaps_network(e, key, len)) {
        errno = EEXIST;
        return -1;
    }
    bool fresh;
    struct fl_ban *b = ban_put(e, key, len, duration, message,
                               reason != NULL ? reason : "manual", &fresh);
    if (b == NULL)
        return -1;
    e->bans->made++;
    ban_announce(e, b, NULL, -1, -1);
    return 0;
}

int fl_ban_remove(fl_engine *e, fl_ban_kind kind, const char *target,
                  const char *server)
{
    uint8_t key[KEY_MAX];
    size_t len;
    if (e == NULL || key_from_text(kind, target, EVERY_SERVER, key, &len) < 0)
        return -1;
    int tag = server_named(e, server);
    if (tag < 0)
        return -1;
    /* A server's ban, or without one the target's ban on every server and
     * on each server, as mod_ban's "ban remove" without -s. */
    unsigned first = (unsigned)tag, last = server != NULL ? first : e->t.ncounts;
    bool lifted = false;
    for (unsigned t = first; t <= last; t++) {
        key_set_server(key, t);
        struct fl_ban *b = ban_find(e, key, len);
        if (b != NULL) {
            ban_free(e, b);
            lifted = true;
        }
    }
    if (!lifted) {
        errno = ENOENT;
        return -1;
    }
    save_soon(e);
    return 0;
}

static void entry_of(fl_engine *e, const struct fl_ban *b, fl_usec now, fl_ban_entry *x)
{
    x->kind = (fl_ban_kind)b->key[0];
    key_text(b->key, b->keylen, x->target, sizeof x->target);
    x->server = key_server_name(e, b->key);
    x->remaining = b->expires > now ? b->expires - now : 0;
    snprintf(x->reason, sizeof x->reason, "%s", b->reason != NULL ? b->reason : "");
    snprintf(x->message, sizeof x->message, "%s", ban_message(b));
    fl_addr a;
    unsigned bits;
    x->in_kernel = kernel_target(e, b->key, &a, &bits) && fl_firewall_has(e, &a, bits);
}

void fl_ban_firewall_status(fl_engine *e, fl_ban_firewall *out)
{
    if (e == NULL || out == NULL) {
        if (out != NULL)
            memset(out, 0, sizeof *out);
        return;
    }
    fl_firewall_stats(e, out);
}

size_t fl_ban_each(fl_engine *e, void (*fn)(const fl_ban_entry *b, void *arg),
                   void *arg)
{
    if (e == NULL || fn == NULL)
        return 0;
    size_t n = 0;
    fl_usec now = fl_now(e);
    fl_ban_entry x;
    const struct fl_ban *b;
    for (b = e->bans->table; b != NULL; b = b->hh.next, n++) {
        entry_of(e, b, now, &x);
        fn(&x, arg);
    }
    return n;
}

size_t fl_ban_list(fl_engine *e, fl_ban_entry *out, size_t n)
{
    if (e == NULL)
        return 0;
    size_t i = 0;
    fl_usec now = fl_now(e);
    struct fl_ban *b, *next;
    HASH_ITER(hh, e->bans->table, b, next)
    {
        if (out != NULL && i < n)
            entry_of(e, b, now, &out[i]);
        i++;
    }
    return i;
}

/* --- mod_ban: BanOnEvent ------------------------------------------------------------
 */

static struct fl_ban_counter *counter_get(fl_engine *e, const uint8_t *key, size_t len,
                                          const fl_ban_rule *r)
{
    const fl_hash_key *hash_key = &e->hash_key;
    struct fl_ban_counter *c;
    HASH_FIND(hh, e->bans->counters, key, len, c);
    if (c != NULL)
        return c;
    if ((long long)HASH_COUNT(e->bans->counters) >= e->policy->max_tracked_hosts)
        return NULL;
    c = fl_calloc(1, sizeof *c + len);
    if (c == NULL || (c->window = fl_rate_new(r->count)) == NULL) {
        fl_free(c);
        return NULL;
    }
    c->period = r->window;
    c->keylen = len;
    memcpy(c->key, key, len);
    HASH_ADD_KEYPTR(hh, e->bans->counters, c->key, len, c);
    if (!FL_HASH_ADDED(c)) {
        fl_free(c->window);
        fl_free(c);
        return NULL;
    }
    return c;
}

static void counter_free(fl_engine *e, struct fl_ban_counter *c)
{
    HASH_DEL(e->bans->counters, c);
    fl_free(c->window);
    fl_free(c);
}

/* Forget counters whose every occurrence left its window. */
static int sweep_cb(fl_usec interval, int timerno, fl_usec elapsed, void *data)
{
    (void)interval;
    (void)timerno;
    (void)elapsed;
    fl_engine *e = data;
    fl_usec now = fl_now(e);
    struct fl_ban_counter *c, *next;
    HASH_ITER(hh, e->bans->counters, c, next)
    {
        if (fl_rate_count(c->window, now, c->period) == 0)
            counter_free(e, c);
    }
    if (e->bans->counters != NULL)
        return 1;
    e->bans->sweep_timer = -1;
    return 0;
}

/* The ban key an event on server (a tag) names for a rule's target; 0 when
 * it names none. */
static size_t event_key(const fl_ban_rule *r, const fl_event_info *info,
                        unsigned server, uint8_t *key)
{
    fl_addr a;
    bool have_addr = info->address != NULL && fl_addr_parse(info->address, &a) == 0;
    switch (r->target) {
    case FL_TARGET_NONE:
        return 0;
    case FL_TARGET_HOST:
        return have_addr ? key_make(key, FL_BAN_HOST, server, &a, NULL) : 0;
    case FL_TARGET_USER:
        return info->user != NULL ? key_make(key, FL_BAN_USER, server, NULL, info->user)
                                  : 0;
    case FL_TARGET_CLASS:
        return info->class_name != NULL
                   ? key_make(key, FL_BAN_CLASS, server, NULL, info->class_name)
                   : 0;
    case FL_TARGET_USER_HOST:
        return have_addr && info->user != NULL
                   ? key_make(key, FL_BAN_USER_HOST, server, &a, info->user)
                   : 0;
    }
    return 0;
}

/* One occurrence for rule r, of an event on server (a tag). As mod_ban
 * counts per server, and bans from the server the event came from (from
 * every server under BanOptions MatchAnyServer). */
static void rule_occurrence(fl_engine *e, const fl_ban_rule *r, unsigned number,
                            const fl_event_info *info, unsigned server, bool any_server)
{
    uint8_t key[2 + KEY_MAX];
    size_t len = event_key(r, info, server, key + 2);
    if (len == 0 || ban_find_for(e, key + 2, len, server) != NULL)
        return;
    key_set_server(key + 2, server);
    key[0] = (uint8_t)(number >> 8);
    key[1] = (uint8_t)number;
    struct fl_ban_counter *c = counter_get(e, key, len + 2, r);
    if (c == NULL)
        return;
    fl_usec now = fl_now(e);
    fl_rate_record(c->window, now);
    uint32_t seen = fl_rate_count(c->window, now, r->window);
    if (e->bans->sweep_timer < 0)
        e->bans->sweep_timer = fl_timer_add_usec(e, SWEEP_INTERVAL, FL_TIMER_DYNAMIC,
                                                 e->bans->module, sweep_cb, e);
    if (seen < r->count)
        return;

    counter_free(e, c);
    if (any_server)
        key_set_server(key + 2, EVERY_SERVER);
    bool fresh;
    struct fl_ban *b =
        ban_put(e, key + 2, len, r->duration, r->message, r->name, &fresh);
    if (b == NULL) {
        fl_log(e, LOG_WARNING, "BanOnEvent %s: cannot ban: %s", r->name,
               strerror(errno));
        return;
    }
    e->bans->made++;
    ban_announce(e, b, info->sid, r->count, seen);
}

/* An event some rules listen to: one occurrence for each of them, unless
 * the client is exempt. */
static void on_rule_event(const void *event_data, void *user_data)
{
    const struct fl_ban_tap *tap = user_data;
    fl_engine *e = tap->e;
    const fl_event_info *info = fl_event_info_of(tap->event, event_data);
    if (info == NULL)
        return;
    const struct fl_ban_conf *c = conf_of(e);
    fl_addr a;
    bool have_addr = info->address != NULL && fl_addr_parse(info->address, &a) == 0;
    if (exempt(c, have_addr ? &a : NULL, info->class_name))
        return;
    /* The session's server; an event of none (or of a server no longer
     * counted) is the main server's. */
    const fl_server_counts *sc =
        info->server != NULL ? fl_server_named(e, info->server) : NULL;
    unsigned server = server_tag(sc != NULL ? sc : e->t.counts[0]);
    for (size_t i = 0; i < c->nrules; i++) {
        if (strcmp(c->rules[i].event, tap->event) == 0)
            rule_occurrence(e, &c->rules[i], (unsigned)i, info, server,
                            c->match_any_server);
    }
}

/* The tap of list for event, or NULL. */
static struct fl_ban_tap *tap_find(struct fl_ban_tap *const *list, size_t n,
                                   const char *event)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i]->event, event) == 0)
            return list[i];
    }
    return NULL;
}

static void tap_free(fl_engine *e, struct fl_ban_tap *tap)
{
    (void)fl_event_unregister(e, e->bans->module, tap->event, on_rule_event);
    fl_free(tap->event);
    fl_free(tap);
}

/* The taps of list that other does not hold, unregistered and freed; then
 * list itself. */
static void taps_drop(fl_engine *e, struct fl_ban_tap **list, size_t n,
                      struct fl_ban_tap *const *other, size_t nother)
{
    for (size_t i = 0; i < n; i++) {
        if (tap_find(other, nother, list[i]->event) != list[i])
            tap_free(e, list[i]);
    }
    fl_free(list);
}

/* A new policy's listeners: one per event its rules count, the tap in
 * force where there is one (a tap listens whatever the rules, which it
 * reads from the policy in force when the event comes). */
struct taps_next {
    struct fl_ban_tap **taps;
    size_t n;
    bool new_table; /* the policy names another BanTable (or none) */
    char *table;    /* ... this one, to read at commit */
};

static int prepare(fl_engine *e, const fl_policy *p, void **prepared)
{
    const struct fl_ban_conf *c = fl_policy_conf(p, &fl_bans_part);
    struct taps_next *next = fl_calloc(1, sizeof *next);
    if (next == NULL)
        return -1;
    if (c->nrules > 0 &&
        (next->taps = fl_calloc(c->nrules, sizeof *next->taps)) == NULL)
        goto fail;
    for (size_t i = 0; i < c->nrules; i++) {
        const char *event = c->rules[i].event;
        if (tap_find(next->taps, next->n, event) != NULL)
            continue;
        struct fl_ban_tap *tap = tap_find(e->bans->taps, e->bans->ntaps, event);
        if (tap == NULL) {
            if ((tap = fl_calloc(1, sizeof *tap)) == NULL)
                goto fail;
            tap->e = e;
            if ((tap->event = fl_strdup(event)) == NULL ||
                fl_event_register(e, e->bans->module, tap->event, on_rule_event, tap) <
                    0) {
                fl_free(tap->event);
                fl_free(tap);
                goto fail;
            }
        }
        next->taps[next->n++] = tap;
    }
    if (!e->no_ban_table) {
        const char *now = e->bans->table_path;
        next->new_table =
            c->table == NULL ? now != NULL : now == NULL || strcmp(now, c->table) != 0;
        if (next->new_table && c->table != NULL &&
            (next->table = fl_strdup(c->table)) == NULL)
            goto fail;
    }
    *prepared = next;
    return 0;
fail:
    taps_drop(e, next->taps, next->n, e->bans->taps, e->bans->ntaps);
    fl_free(next);
    errno = ENOMEM;
    return -1;
}

static void load_table(fl_engine *e, const char *path);

/* BanFirewall as the policy in force has it: when its table was made
 * anew, every host ban the kernel should hold goes into it. A firewall
 * that cannot start is logged; the bans hold in the engine all the same. */
static void firewall_sync(fl_engine *e)
{
    int made = fl_firewall_configure(e, conf_of(e));
    if (made < 0)
        fl_log(e, LOG_ERR,
               "BanFirewall: cannot start: %s; bans hold in "
               "ftplimit alone",
               strerror(errno));
    if (made <= 0)
        return;
    fl_usec now = fl_now(e);
    struct fl_ban *b, *tmp;
    HASH_ITER(hh, e->bans->table, b, tmp)
    {
        fl_addr a;
        unsigned bits;
        if (b->expires > now && kernel_target(e, b->key, &a, &bits))
            fl_firewall_ban(e, &a, bits, b->expires - now, true);
    }
}

/* The policy in force is p: its taps replace the old ones, counts toward
 * the old rules are forgotten (rule numbers start again), and a BanTable
 * it names anew is read. */
static void commit(fl_engine *e, void *prepared)
{
    struct taps_next *next = prepared;
    taps_drop(e, e->bans->taps, e->bans->ntaps, next->taps, next->n);
    e->bans->taps = next->taps;
    e->bans->ntaps = next->n;

    struct fl_ban_counter *counter, *tmp;
    HASH_ITER(hh, e->bans->counters, counter, tmp)
    counter_free(e, counter);

    if (next->new_table) {
        fl_free(e->bans->table_path);
        e->bans->table_path = next->table;
        /* Restoring saved bans is no part of the policy: what cannot be
         * restored is logged (load_table), and the policy is in force. */
        if (next->table != NULL)
            load_table(e, next->table);
    }
    fl_free(next);
    firewall_sync(e);
}

static void abort_prepared(fl_engine *e, void *prepared)
{
    struct taps_next *next = prepared;
    taps_drop(e, next->taps, next->n, e->bans->taps, e->bans->ntaps);
    fl_free(next->table);
    fl_free(next);
}

/* A ban message as the protocol takes one: one line of text that fits a
 * reply. */
static bool message_valid(const char *m)
{
    size_t n = strnlen(m, FL_MESSAGE_MAX);
    return n < FL_MESSAGE_MAX && !fl_text_has_control(m, n);
}

/* Read the bans saved in path: those not yet expired are in force again,
 * quietly (they were announced when made). */
static void load_table(fl_engine *e, const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        if (errno != ENOENT)
            fl_log(e, LOG_ERR, "BanTable: cannot read %s: %s", path, strerror(errno));
        return;
    }
    char *line = NULL;
    size_t cap = 0;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts); /* as the table was written */
    double wall = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    unsigned restored = 0, bad = 0, lineno = 0;
    while (getline(&line, &cap, f) > 0) {
        lineno++;
        json_t *o = json_loads(line, 0, NULL);
        fl_ban_kind kind;
        const char *target = json_string_value(json_object_get(o, "target"));
        json_t *expires = json_object_get(o, "expires");
        double remaining = json_number_value(expires) - wall;
        const char *message = json_string_value(json_object_get(o, "message"));
        json_t *server = json_object_get(o, "server");
        int tag = server == NULL           ? (int)EVERY_SERVER
                  : json_is_string(server) ? server_named(e, json_string_value(server))
                                           : -1;
        uint8_t key[KEY_MAX];
        size_t len;
        bool fresh;
        /* What the protocol would refuse, the file may not bring in. */
        const char *why =
            o == NULL ? "not a JSON object"
            : fl_ban_kind_parse(json_string_value(json_object_get(o, "kind")), &kind) <
                    0
                ? "no ban kind"
            : key_from_text(kind, target, EVERY_SERVER, key, &len) < 0
                ? "not a target of its kind"
            : tag < 0 ? "no server of that name in the policy"
            : !json_is_number(expires) || !isfinite(remaining) ||
                    remaining > (double)FL_BAN_SECONDS_MAX
                ? "no expiry time within 100,000 hours"
            : message != NULL && !message_valid(message)
                ? "a message with a control byte"
                : NULL;
        if (why != NULL) {
            if (++bad <= 10)
                fl_log(e, LOG_WARNING, "BanTable: %s:%u skipped: %s", path, lineno,
                       why);
        } else if (remaining > 0 && (key_set_server(key, (unsigned)tag), true) &&
                   ban_put(e, key, len, (fl_usec)(remaining * FL_USEC_PER_SEC) + 1,
                           message, json_string_value(json_object_get(o, "reason")),
                           &fresh) != NULL) {
            restored++;
        }
        json_decref(o);
    }
    free(line);
    fclose(f);
    if (bad > 0)
        fl_log(e, LOG_WARNING, "BanTable: %u unreadable lines in %s were skipped", bad,
               path);
    if (restored > 0)
        fl_log(e, LOG_NOTICE, "BanTable: %u bans restored from %s", restored, path);
}

static void on_shutdown(const void *event_data, void *user_data)
{
    (void)event_data;
    fl_engine *e = user_data;
    if (e->bans->save_timer >= 0) {
        (void)fl_timer_remove(e, e->bans->save_timer, e->bans->module);
        e->bans->save_timer = -1;
    }
    save_now(e, false); /* after the one under way, if any */
}

static int init(fl_engine *e)
{
    if ((e->bans = fl_calloc(1, sizeof *e->bans)) == NULL)
        return -1;
    e->bans->save_timer = e->bans->sweep_timer = -1;
    e->bans->module = fl_module_load_builtin(e, "mod_ban", true);
    if (e->bans->module == NULL ||
        fl_event_register(e, e->bans->module, FL_EV_SHUTDOWN, on_shutdown, e) < 0)
        return -1;
    return 0;
}

static void bans_free(fl_engine *e)
{
    if (e->bans == NULL)
        return;
    fl_firewall_free(e); /* first: the bans below leave the engine, not the kernel */
    (void)save_reap(e, true);
    struct fl_ban *b, *next;
    HASH_ITER(hh, e->bans->table, b, next)
    {
        b->timerno = -1; /* the timers go with the engine */
        ban_free(e, b);
    }
    struct fl_ban_counter *c, *cnext;
    HASH_ITER(hh, e->bans->counters, c, cnext)
    counter_free(e, c);
    taps_drop(e, e->bans->taps, e->bans->ntaps, NULL, 0);
    e->bans->taps = NULL;
    e->bans->ntaps = 0;
    pending_free(e);
    fl_free(e->bans->table_path);
    e->bans->table_path = NULL;
    fl_free(e->bans);
    e->bans = NULL;
}

const struct fl_engine_module fl_bans_module = {
    .name = "mod_ban",
    .part = &fl_bans_part,
    .init = init,
    .free = bans_free,
    .prepare = prepare,
    .commit = commit,
    .abort = abort_prepared,
    .at_connect = at_connect,
    .at_login = at_login,
};
