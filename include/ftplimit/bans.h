/*
 * ftplimit/bans.h - bans: hosts, users, classes or user@host pairs refused
 * for a while, made by BanOnEvent rules or by hand (doc/bans.md).
 *
 * A banned host, network or class is refused at connect (421), a banned user or
 * user@host at PASS (530), with the ban's message. Making a ban generates
 * ftplimit.ban, its end ftplimit.ban-expired; bans end on the engine's
 * timers, and persist in the policy's BanTable file when it has one.
 */
#ifndef FTPLIMIT_BANS_H
#define FTPLIMIT_BANS_H

#include <ftplimit/engine.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum fl_ban_kind {
    FL_BAN_HOST,      /* an address */
    FL_BAN_USER,      /* a user name */
    FL_BAN_CLASS,     /* a class name */
    FL_BAN_USER_HOST, /* "user@address" */
    FL_BAN_NETWORK,   /* "ADDRESS/LEN": every host in it */
} fl_ban_kind;

/* "host", "user", "class", "user@host", "network"; and back (-1/EINVAL). */
FL_EXPORT const char *fl_ban_kind_name(fl_ban_kind kind);
FL_EXPORT int fl_ban_kind_parse(const char *name, fl_ban_kind *out);

typedef struct fl_ban_entry {
    fl_ban_kind kind;
    char target[640];   /* the address, user, class or user@address */
    const char *server; /* the server it bans from (its name, valid while the
                           engine lives), or NULL: every server */
    fl_usec remaining;  /* until it expires */
    char reason[128];   /* the rule (BanOnEvent name) or "manual" */
    char message[512];  /* what the banned client is told */
    bool in_kernel;     /* BanFirewall: the kernel's set holds this host */
} fl_ban_entry;

/* BanFirewall nftables [TABLE]: host bans in the kernel too. */
#define FL_FIREWALL_TABLE_MAX 64
#define FL_FIREWALL_PORTS_MAX 16
typedef struct fl_ban_firewall {
    bool configured;                   /* the policy has BanFirewall */
    bool on;                           /* and its last command worked */
    char table[FL_FIREWALL_TABLE_MAX]; /* inet TABLE */
    size_t in_kernel;                  /* hosts in its sets */
    unsigned long long done, failed;   /* commands run, and failed */
    char error[256];                   /* why it is off */
} fl_ban_firewall;
FL_EXPORT void fl_ban_firewall_status(fl_engine *e, fl_ban_firewall *out);

/* The longest ban: 100,000 hours. */
#define FL_BAN_SECONDS_MAX (100000LL * 3600)

/* Ban target from server for duration (> 0, at most FL_BAN_SECONDS_MAX
 * seconds). server is a server's name as `ftplimit status` shows it
 * ("main", or a <VirtualHost>'s "ADDR:PORT ..."), or one of its ADDR:PORT
 * addresses; NULL bans from every server. message NULL: the default for
 * the kind. A target is an address, a user name (no control byte), a
 * class name (as <Class> takes it), user@address (split at the last
 * '@') or a network ADDRESS/LEN (its host bits cleared). An address is
 * normalised; a host in BanExempt, or a network that overlaps an address
 * or network of BanExempt, is refused (EPERM); a host of an exempt class
 * in a banned network is let in. A network that overlaps another network
 * banned on the same server is refused (EEXIST): lift that one first.
 * A ban that exists (same target, same server) is extended and its message
 * replaced. 0, or -1 with EINVAL, ENOENT (no such server), EPERM, ENOSPC
 * (MaxTrackedHosts bans) or ENOMEM. */
FL_EXPORT int fl_ban_add(fl_engine *e, fl_ban_kind kind, const char *target,
                         const char *server, fl_usec duration, const char *message);

/* fl_ban_add, with the reason the ban list and ftplimit.ban give (NULL:
 * "manual"): a farm's node applies another node's ban as that node made it
 * (doc/cluster.md). */
FL_EXPORT int fl_ban_add_from(fl_engine *e, fl_ban_kind kind, const char *target,
                              const char *server, fl_usec duration, const char *message,
                              const char *reason);

/* Lift the ban on target from server (named as for fl_ban_add); server
 * NULL lifts the target's bans from every server and from each one. No
 * ftplimit.ban-expired. 0, or -1/ENOENT (no such ban, or server). */
FL_EXPORT int fl_ban_remove(fl_engine *e, fl_ban_kind kind, const char *target,
                            const char *server);

/* The bans in force: how many; up to n of them in out (may be NULL). */
FL_EXPORT size_t fl_ban_list(fl_engine *e, fl_ban_entry *out, size_t n);

/* Each ban in force, to fn (the entry is valid during the call); fn must
 * not make or lift bans. Returns how many. What lists a large table (an
 * entry is 1.3 KB: fl_ban_list of 200,000 bans would take 260 MB). */
FL_EXPORT size_t fl_ban_each(fl_engine *e, void (*fn)(const fl_ban_entry *b, void *arg),
                             void *arg);

#ifdef __cplusplus
}
#endif

#endif
