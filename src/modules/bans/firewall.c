/*
 * firewall.c - BanFirewall nftables: host bans in the kernel too, so that
 * a banned host's SYN is dropped before the server forks for it.
 *
 * The engine's thread only queues commands (text in nftables' own
 * language, with addresses we formatted: no client text in them); a worker
 * thread of its own runs them through libnftables, so that a slow netlink
 * call never delays a decision. The worker keeps the set of addresses it
 * put in the kernel (for `ftplimit ban list`) and its outcome; the engine
 * reads the outcome on a timer, logs a failure once (and a recovery), and
 * counts both.
 *
 * The table (inet TABLE, default ftplimit) is the policy's own: it is made
 * anew (deleted, then made) whenever BanFirewall is put in force, with
 * sets banned4 and banned6 (hash sets of addresses, flags timeout: a
 * deletion is one netlink message, not a dump of the set as with interval
 * sets) and a chain on the
 * input hook that drops a TCP SYN to BanFirewallPorts from their members;
 * then every host ban in force is added. An element's timeout is its ban's
 * remaining time, so the kernel lets it go by itself even if the daemon
 * has died; a ban longer than nftables takes (about 46 days) is added
 * without one and deleted when it ends.
 */
#include "config.h"

#include "context.h"
#include "modules/bans/bans.h"
#include "util/addr.h"
#include "util/alloc.h"
#include "util/uthash_keyed.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#ifdef HAVE_NFTABLES
#include <nftables/libnftables.h>
#endif

#define TIMEOUT_MAX_SEC 4000000LL /* nftables refuses much more */
#define HARVEST_INTERVAL (200 * FL_USEC_PER_SEC / 1000)

enum op_kind { OP_SETUP, OP_ADD, OP_DEL, OP_DROP, OP_STOP };

/* A host (bits 128) or a network. */
struct target {
    fl_addr addr;
    uint8_t bits;
};

struct op {
    struct op *next;
    enum op_kind kind;
    struct target t;
    char cmd[];
};

struct in_kernel {
    UT_hash_handle hh;
    struct target t;
};

struct fl_firewall {
    fl_engine *e;
    char table[FL_FIREWALL_TABLE_MAX];
    char ports[6 * FL_FIREWALL_PORTS_MAX + 1]; /* "21, 990" */
    pthread_t thread;
    bool started; /* the thread runs (from the first tick of the timer) */
    int timer;

    pthread_mutex_t lock; /* what follows */
    pthread_cond_t wake;
    struct op *head, *tail;
    struct in_kernel *members; /* uthash: what the kernel holds */
    size_t nmembers;
    unsigned long long done, failed;
    bool failing;      /* the last command failed */
    char error[256];   /* and why */
    bool said_failing; /* the engine logged it (engine thread only) */
    unsigned long long failed_seen;
};

/* --- the worker ----------------------------------------------------------------- */

#ifdef HAVE_NFTABLES
/* Run one command; false with its error in why. */
static bool nft_run(struct nft_ctx *nft, const char *cmd, char *why, size_t size)
{
    int rc = nft_run_cmd_from_buffer(nft, cmd);
    const char *err = nft_ctx_get_error_buffer(nft);
    if (rc != 0) {
        /* The first line says it ("Error: ..."); the rest repeats the command. */
        const char *text = err != NULL && *err != '\0' ? err : "nftables refused it";
        size_t n = strcspn(text, "\n");
        snprintf(why, size, "%.*s", (int)(n < size ? n : size - 1), text);
    }
    return rc == 0;
}
#endif

/* With fw->lock held. The set is keyed with the engine's key, which never
 * changes once the engine is made. */
static void member_set(struct fl_firewall *fw, const struct target *t, bool in)
{
    const fl_hash_key *hash_key = &fw->e->hash_key;
    struct in_kernel *m;
    HASH_FIND(hh, fw->members, t, sizeof *t, m);
    if (in && m == NULL && (m = fl_calloc(1, sizeof *m)) != NULL) {
        m->t = *t;
        HASH_ADD(hh, fw->members, t, sizeof m->t, m);
        if (FL_HASH_ADDED(m))
            fw->nmembers++;
        else
            fl_free(m);
    } else if (!in && m != NULL) {
        HASH_DEL(fw->members, m);
        fl_free(m);
        fw->nmembers--;
    }
}

static void members_clear(struct fl_firewall *fw)
{
    struct in_kernel *m, *tmp;
    HASH_ITER(hh, fw->members, m, tmp)
    {
        HASH_DEL(fw->members, m);
        fl_free(m);
    }
    fw->nmembers = 0;
}

static void *worker(void *arg)
{
    struct fl_firewall *fw = arg;
#ifdef HAVE_NFTABLES
    struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
    if (nft != NULL) {
        nft_ctx_buffer_output(nft);
        nft_ctx_buffer_error(nft);
    }
#endif
    pthread_mutex_lock(&fw->lock);
    for (;;) {
        while (fw->head == NULL)
            pthread_cond_wait(&fw->wake, &fw->lock);
        struct op *op = fw->head;
        fw->head = op->next;
        if (fw->head == NULL)
            fw->tail = NULL;
        if (op->kind == OP_STOP) {
            fl_free(op);
            break;
        }
        pthread_mutex_unlock(&fw->lock);
        char why[256] = "";
        bool ok;
#ifdef HAVE_NFTABLES
        ok = nft != NULL ? nft_run(nft, op->cmd, why, sizeof why) : false;
        if (nft == NULL)
            snprintf(why, sizeof why, "cannot start libnftables");
#else
        ok = false;
        snprintf(why, sizeof why, "this build has no nftables support");
#endif
        /* Deleting what the kernel has already let go (its timeout) is no
         * failure. */
        if (!ok && op->kind == OP_DEL &&
            (strstr(why, "No such file") != NULL ||
             strstr(why, "does not exist") != NULL))
            ok = true;
        pthread_mutex_lock(&fw->lock);
        if (op->kind == OP_SETUP || op->kind == OP_DROP)
            members_clear(fw);
        if (op->kind == OP_ADD && ok)
            member_set(fw, &op->t, true);
        if (op->kind == OP_DEL)
            member_set(fw, &op->t, false);
        if (ok) {
            fw->done++;
            fw->failing = false;
        } else {
            fw->failed++;
            fw->failing = true;
            snprintf(fw->error, sizeof fw->error, "%s", why);
        }
        fl_free(op);
    }
    pthread_mutex_unlock(&fw->lock);
#ifdef HAVE_NFTABLES
    if (nft != NULL)
        nft_ctx_free(nft);
#endif
    return NULL;
}

/* Queue a command (printf-style); false if there is no memory for it (the
 * kernel then misses it: counted as a failure). */
static bool queue(struct fl_firewall *fw, enum op_kind kind, const struct target *t,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static bool queue(struct fl_firewall *fw, enum op_kind kind, const struct target *t,
                  const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    struct op *op = n >= 0 ? fl_calloc(1, sizeof *op + (size_t)n + 1) : NULL;
    if (op == NULL) {
        pthread_mutex_lock(&fw->lock);
        fw->failed++;
        fw->failing = true;
        snprintf(fw->error, sizeof fw->error, "out of memory");
        pthread_mutex_unlock(&fw->lock);
        return false;
    }
    va_start(ap, fmt);
    vsnprintf(op->cmd, (size_t)n + 1, fmt, ap);
    va_end(ap);
    op->kind = kind;
    if (t != NULL)
        op->t = *t;
    pthread_mutex_lock(&fw->lock);
    if (fw->tail != NULL)
        fw->tail->next = op;
    else
        fw->head = op;
    fw->tail = op;
    pthread_cond_signal(&fw->wake);
    pthread_mutex_unlock(&fw->lock);
    return true;
}

/* --- the engine's side ------------------------------------------------------------ */

/* The worker, from the engine's first tick, not when the policy is loaded:
 * a thread has capabilities of its own, and a daemon that drops root after
 * loading its policy keeps CAP_NET_ADMIN in its main thread only -- the
 * one this thread is made from once the loop runs. It takes no signal:
 * they are the embedding program's. */
static bool start(struct fl_firewall *fw)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&fw->thread, NULL, worker, fw);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        pthread_mutex_lock(&fw->lock);
        fw->failed++;
        fw->failing = true;
        snprintf(fw->error, sizeof fw->error, "cannot start its thread: %s",
                 strerror(rc));
        pthread_mutex_unlock(&fw->lock);
        return false;
    }
    fw->started = true;
    return true;
}

/* Start the worker; log a failure once, and the recovery. */
static int harvest_cb(fl_usec interval, int timerno, fl_usec elapsed, void *data)
{
    (void)interval;
    (void)timerno;
    (void)elapsed;
    struct fl_firewall *fw = data;
    if (!fw->started)
        (void)start(fw); /* tried again at each tick */
    pthread_mutex_lock(&fw->lock);
    bool failing = fw->failing;
    char error[sizeof fw->error];
    memcpy(error, fw->error, sizeof error);
    pthread_mutex_unlock(&fw->lock);
    if (failing && !fw->said_failing)
        fl_log(fw->e, LOG_ERR,
               "BanFirewall nftables (table inet %s): %s; bans hold in ftplimit alone "
               "until it works (reported once)",
               fw->table, error);
    else if (!failing && fw->said_failing)
        fl_log(fw->e, LOG_NOTICE, "BanFirewall nftables (table inet %s) works again",
               fw->table);
    fw->said_failing = failing;
    return 1; /* again */
}

/* The element's set and text: a host in banned4/6, a network ("a/len")
 * in nets4/6. */
static const char *element(const struct target *t, char *text, size_t size)
{
    bool v4 = fl_addr_v4(&t->addr);
    fl_addr_format(&t->addr, text, size);
    if (t->bits == 128)
        return v4 ? "banned4" : "banned6";
    size_t n = strlen(text);
    snprintf(text + n, size - n, "/%u", t->bits - (v4 ? 96u : 0u));
    return v4 ? "nets4" : "nets6";
}

void fl_firewall_ban(fl_engine *e, const fl_addr *a, unsigned bits, fl_usec remaining,
                     bool fresh)
{
    struct fl_firewall *fw = e->bans->firewall;
    if (fw == NULL)
        return;
    struct target t = {*a, (uint8_t)bits};
    char text[FL_ADDR_TEXT_MAX + 8];
    const char *set = element(&t, text, sizeof text);
    long long sec = (remaining + FL_USEC_PER_SEC - 1) / FL_USEC_PER_SEC;
    /* A ban made longer: the element again, with its new timeout ("add"
     * keeps an element's old one). */
    if (!fresh)
        fl_firewall_unban(e, a, bits);
    if (sec > TIMEOUT_MAX_SEC)
        queue(fw, OP_ADD, &t, "add element inet %s %s { %s }", fw->table, set, text);
    else
        queue(fw, OP_ADD, &t, "add element inet %s %s { %s timeout %llds }", fw->table,
              set, text, sec < 1 ? 1 : sec);
}

void fl_firewall_unban(fl_engine *e, const fl_addr *a, unsigned bits)
{
    struct fl_firewall *fw = e->bans->firewall;
    if (fw == NULL)
        return;
    struct target t = {*a, (uint8_t)bits};
    char text[FL_ADDR_TEXT_MAX + 8];
    const char *set = element(&t, text, sizeof text);
    queue(fw, OP_DEL, &t, "delete element inet %s %s { %s }", fw->table, set, text);
}

bool fl_firewall_has(fl_engine *e, const fl_addr *a, unsigned bits)
{
    struct fl_firewall *fw = e->bans->firewall;
    if (fw == NULL)
        return false;
    const fl_hash_key *hash_key = &e->hash_key;
    struct target t = {*a, (uint8_t)bits};
    struct in_kernel *m;
    pthread_mutex_lock(&fw->lock);
    HASH_FIND(hh, fw->members, &t, sizeof t, m);
    pthread_mutex_unlock(&fw->lock);
    return m != NULL;
}

void fl_firewall_stats(fl_engine *e, fl_ban_firewall *out)
{
    memset(out, 0, sizeof *out);
    struct fl_firewall *fw = e->bans != NULL ? e->bans->firewall : NULL;
    if (fw == NULL)
        return;
    out->configured = true;
    snprintf(out->table, sizeof out->table, "%s", fw->table);
    pthread_mutex_lock(&fw->lock);
    out->on = !fw->failing;
    out->in_kernel = fw->nmembers;
    out->done = fw->done;
    out->failed = fw->failed;
    snprintf(out->error, sizeof out->error, "%s", fw->failing ? fw->error : "");
    pthread_mutex_unlock(&fw->lock);
}

static void stop(fl_engine *e, bool drop_table)
{
    struct fl_firewall *fw = e->bans->firewall;
    if (fw == NULL)
        return;
    if (drop_table) {
        queue(fw, OP_DROP, NULL, "delete table inet %s", fw->table);
        if (!fw->started)
            (void)start(fw); /* the table goes, even before a first tick */
    }
    if (fw->started) {
        queue(fw, OP_STOP, NULL, "%s", "");
        pthread_join(fw->thread, NULL);
    }
    while (fw->head != NULL) { /* not run, or a STOP that could not be queued */
        struct op *op = fw->head;
        fw->head = op->next;
        fl_free(op);
    }
    members_clear(fw);
    if (fw->timer >= 0)
        (void)fl_timer_remove(e, fw->timer, e->bans->module);
    pthread_cond_destroy(&fw->wake);
    pthread_mutex_destroy(&fw->lock);
    fl_free(fw);
    e->bans->firewall = NULL;
}

static void ports_text(const struct fl_ban_conf *c, char *ports, size_t size)
{
    size_t o = 0;
    ports[0] = '\0';
    for (size_t i = 0; i < c->nfirewall_ports && o < size; i++)
        o += (size_t)snprintf(ports + o, size - o, "%s%u", i > 0 ? ", " : "",
                              c->firewall_ports[i]);
}

/* The table made anew (the caller then adds every host ban). */
static void setup(struct fl_firewall *fw)
{
    const char *t = fw->table, *ports = fw->ports;
    queue(fw, OP_SETUP, NULL,
          "add table inet %s\n"
          "delete table inet %s\n"
          "add table inet %s\n"
          "add set inet %s banned4 { type ipv4_addr; flags timeout; }\n"
          "add set inet %s banned6 { type ipv6_addr; flags timeout; }\n"
          "add set inet %s nets4 { type ipv4_addr; flags interval, timeout; }\n"
          "add set inet %s nets6 { type ipv6_addr; flags interval, timeout; }\n"
          "add chain inet %s input { type filter hook input priority -10; policy "
          "accept; }\n"
          "add rule inet %s input tcp dport { %s } tcp flags & (syn | ack) == syn ip "
          "saddr @banned4 drop\n"
          "add rule inet %s input tcp dport { %s } tcp flags & (syn | ack) == syn ip6 "
          "saddr @banned6 drop\n"
          "add rule inet %s input tcp dport { %s } tcp flags & (syn | ack) == syn ip "
          "saddr @nets4 drop\n"
          "add rule inet %s input tcp dport { %s } tcp flags & (syn | ack) == syn ip6 "
          "saddr @nets6 drop\n",
          t, t, t, t, t, t, t, t, t, ports, t, ports, t, ports, t, ports);
}

int fl_firewall_configure(fl_engine *e, const struct fl_ban_conf *c)
{
    if (e->no_firewall)
        return 0; /* checking a policy, simulating a trace */
    struct fl_firewall *fw = e->bans->firewall;
    char ports[sizeof fw->ports];
    ports_text(c, ports, sizeof ports);
    bool same_table =
        fw != NULL && c->firewall && strcmp(fw->table, c->firewall_table) == 0;
    if (same_table && strcmp(fw->ports, ports) == 0)
        return 0; /* as it is */
    if (fw != NULL && !same_table)
        stop(e, true); /* off, or another table: ours goes */
    if (!c->firewall)
        return 0;
    fw = e->bans->firewall;
    if (fw == NULL) {
        if ((fw = fl_calloc(1, sizeof *fw)) == NULL)
            return -1;
        fw->e = e;
        fw->timer = -1;
        snprintf(fw->table, sizeof fw->table, "%s", c->firewall_table);
        pthread_mutex_init(&fw->lock, NULL);
        pthread_cond_init(&fw->wake, NULL);
        fw->timer = fl_timer_add_usec(e, HARVEST_INTERVAL, FL_TIMER_DYNAMIC,
                                      e->bans->module, harvest_cb, fw);
        if (fw->timer < 0) {
            pthread_cond_destroy(&fw->wake);
            pthread_mutex_destroy(&fw->lock);
            fl_free(fw);
            return -1;
        }
        e->bans->firewall = fw;
    }
    snprintf(fw->ports, sizeof fw->ports, "%s", ports);
    setup(fw);
    return 1;
}

void fl_firewall_free(fl_engine *e)
{
    stop(e, false); /* the kernel keeps the bans until their timeouts */
}
