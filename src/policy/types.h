/*
 * policy/types.h - a parsed policy, as the engine reads it.
 *
 * A policy is immutable once parsed: a reload builds a new one and swaps it
 * in, so a decision always sees one consistent set of limits.
 */
#ifndef FL_POLICY_TYPES_H
#define FL_POLICY_TYPES_H

#include <sys/types.h>

#include <ftplimit/session.h>

#include <ftplimit/status.h>

#include "catalog/limits.h"
#include "policy/geoip.h"
#include "policy/regex.h"

#define FL_UNLIMITED (-1LL)
#define FL_POLICY_PARTS_MAX 4

struct fl_policy_part; /* policy/directive.h */

/* The defaults an administrator who knows ProFTPD expects. */
#define FL_DEFAULT_MAX_LOGIN_ATTEMPTS 3
#define FL_DEFAULT_NET_V4_BITS 24
#define FL_DEFAULT_NET_V6_BITS 64
#define FL_DEFAULT_MAX_TRACKED_HOSTS 1000000LL
#define FL_DEFAULT_RATE_INTERVAL FL_USEC_PER_SEC

/* Bounds the parser enforces. */
#define FL_RATE_COUNT_MAX 1000000LL    /* MaxConnectionRate */
#define FL_HOST_RATE_COUNT_MAX 10000LL /* MaxConnectionRatePerHost */
#define FL_RATE_INTERVAL_MAX (86400 * FL_USEC_PER_SEC)
#define FL_LIMIT_MAX 2147483647LL
#define FL_TRACKED_HOSTS_MAX 100000000LL

typedef struct fl_limit_cfg {
    long long max; /* FL_UNLIMITED when none or not set */
    char *message; /* NULL: the directive's default */
} fl_limit_cfg;

typedef struct fl_rate_cfg {
    long long count; /* FL_UNLIMITED when not set */
    fl_usec interval;
    char *message;
} fl_rate_cfg;

enum fl_item_kind {
    FL_ITEM_ALL,
    FL_ITEM_NONE,
    FL_ITEM_PREFIX,    /* an address (full-length prefix) or a CIDR */
    FL_ITEM_IP_GLOB,   /* fnmatch against the textual address */
    FL_ITEM_DNS,       /* fnmatch against the caller's DNS name, no case */
    FL_ITEM_COUNTRY,   /* FromCountry: code */
    FL_ITEM_CONTINENT, /* FromContinent: code */
    FL_ITEM_ASN,       /* FromASN: asn */
};

typedef struct fl_class_item {
    enum fl_item_kind kind;
    bool negate;
    unsigned bits; /* FL_ITEM_PREFIX, in the 128-bit space */
    fl_addr net;   /* FL_ITEM_PREFIX */
    /* FL_ITEM_PREFIX again, as fl_addr_words() and fl_prefix_masks() give
     * them: a client is classified without computing them. */
    uint64_t net_words[2], mask_words[2];
    char *pattern; /* FL_ITEM_IP_GLOB, FL_ITEM_DNS */
    char code[3];  /* FL_ITEM_COUNTRY, FL_ITEM_CONTINENT */
    uint32_t asn;  /* FL_ITEM_ASN */
} fl_class_item;

typedef struct fl_class_def {
    char *name;
    bool satisfy_all;
    fl_class_item *items;
    size_t nitems, cap;
    char *file;
    int line;
    int geo_line; /* line of its first geographic item, 0 if none */
} fl_class_def;

typedef struct fl_anon_reject {
    bool set;
    bool negate; /* "!regex": reject passwords that do not match */
    bool nocase;
    fl_regex re;
    char *source;
} fl_anon_reject;

/* AllowSessions, AllowStatus, AllowAdmin: who may use a daemon's socket. */
typedef struct fl_acl {
    bool set; /* given in the policy; otherwise the default applies */
    bool all;
    uid_t *uids;
    size_t nuids;
    gid_t *gids;
    size_t ngids;
} fl_acl;

/* The limits a scope enforces (ProFTPD's, and ftplimit's own that count
 * per server): what the scope sets itself over what it inherits. */
typedef struct fl_limits {
    /* At connect, after the daemon's MaxInstances and MaxConnectionRate. */
    fl_rate_cfg rate_per_host;
    fl_limit_cfg max_conns_per_host;

    /* After a successful PASS, in this order (classes first). */
    fl_limit_cfg *class_limits; /* by class index; NULL when none is set */
    fl_limit_cfg per_host;
    fl_limit_cfg per_network;
    fl_limit_cfg per_country;
    fl_limit_cfg per_user;
    fl_limit_cfg clients;
    fl_limit_cfg hosts_per_user;

    long long max_login_attempts;      /* FL_UNLIMITED for none */
    const fl_anon_reject *anon_reject; /* NULL: none */
} fl_limits;

/* Where a server is reached: an address and a port. */
typedef fl_endpoint fl_bind;

enum fl_scope_kind { FL_SCOPE_SERVER, FL_SCOPE_ANON };

/* A scope: a server (the main server, scopes[0], or a <VirtualHost>) or
 * an <Anonymous> block inside one. */
typedef struct fl_scope {
    enum fl_scope_kind kind;
    char *name;    /* "main", "ADDR:PORT[ ADDR:PORT...]", "<server> <Anonymous DIR>" */
    size_t server; /* an <Anonymous> block's server (its own index for a server) */
    char *file;    /* where it opens */
    int line;

    fl_bind *binds; /* a <VirtualHost>'s addresses */
    size_t nbinds;

    char *dir;      /* <Anonymous DIR> */
    char *account;  /* its User: every anonymous login counted under it */
    char **aliases; /* its UserAlias names */
    size_t naliases;
    size_t *anons; /* a server's <Anonymous> blocks, by index */
    size_t nanons;
    struct fl_cond *conds; /* a server's <IfUser>/<IfClass> blocks, in order */
    size_t nconds;

    uint32_t set;               /* 1 << FL_L_*: set in the scope itself ... */
    char *set_file[FL_L_COUNT]; /* ... in this file (parsing only) ... */
    int set_line[FL_L_COUNT];   /* ... at this line */
    fl_anon_reject own_reject;  /* its own AnonRejectPasswords */
    fl_limits lim;              /* in force: its own, then what it inherits */
} fl_scope;

/* mod_ifsession's <IfClass>, <IfAuthenticated>, <IfGroup> and <IfUser>:
 * limits of a server that apply to the logins whose class, group or user
 * the expression matches (every login, for <IfAuthenticated>).
 * mod_ifsession merges each matching block into the server's
 * configuration -- the classes' at the connection, then at the login the
 * <IfAuthenticated> blocks', the groups' and the users', each kind in the
 * order of the file -- and merging a directive takes it out of the
 * server's configuration and of every block not yet merged: of the blocks
 * that match, the first in that order that sets a limit gives it
 * (contrib/mod_ifsession.c, ifsess_dup_set). MaxClientsPerClass is one
 * directive for every class. */
enum fl_cond_kind { FL_COND_CLASS, FL_COND_AUTHN, FL_COND_GROUP, FL_COND_USER };
#define FL_COND_KINDS 4

/* "IfUser", "IfClass", ...: the block's name. */
static inline const char *fl_cond_block(enum fl_cond_kind kind)
{
    static const char *const names[FL_COND_KINDS] = {"IfClass", "IfAuthenticated",
                                                     "IfGroup", "IfUser"};
    return names[kind];
}

/* The groups a login's user is in (ProFTPD's session.group, then
 * session.groups): n names, one after another, each NUL-terminated. */
typedef struct fl_groups {
    const char *names;
    size_t n;
} fl_groups;

typedef struct fl_cond {
    enum fl_cond_kind kind;
    char *text;   /* the expression as written */
    bool all;     /* AND: every item must hold (else OR: one) */
    char **items; /* names, each maybe "!name" */
    size_t nitems;
    bool is_regex; /* regex RE */
    fl_regex re;
    struct fl_scope *sc; /* its limits (sc->lim, sc->set), as a scope's */
    char *file;
    int line;
} fl_cond;

/* In an <IfUser>/<IfClass> block's class limits: a class it sets none for. */
#define FL_LIMIT_UNSET (-2LL)

/* Whether cond matches a login of user in class (NULL: none) whose user is
 * in groups, as mod_ifsession's expressions do: 1 or 0; -1 when its pattern
 * ran out of its budget on a subject (then it does not match). */
int fl_cond_matches(const fl_cond *cond, const char *user, const char *class_name,
                    const fl_groups *groups);
/* What cond holds, its limits (a policy of nclasses classes) included. */
void fl_cond_clear(fl_cond *cond, size_t nclasses);

/* Cluster and its directives (policy/cluster.c, doc/cluster.md): the farm's
 * shared store, and how this node takes part. */
typedef struct fl_cluster_cfg {
    bool on;    /* the policy has Cluster */
    char *host; /* redis://HOST:PORT, or NULL */
    unsigned port;
    char *socket;        /* unix:///PATH, or NULL */
    int db;              /* /DB or ?db=N, 0 by default */
    char *url;           /* as written, its password left out */
    char *password_file; /* ClusterPasswordFile, or NULL */
    char *node;          /* ClusterNode, NULL: the host name */
    fl_usec lease;       /* ClusterLease */
    fl_usec timeout;     /* ClusterTimeout */
    bool fail_closed;    /* ClusterFailMode closed */
    uint64_t local;      /* ClusterLocal: bit (1 << enum fl_limit_id) */
    uint64_t counted;    /* the farm limits some scope sets, less the
                            ClusterLocal ones: what the farm counts */
    char *other_file;    /* the first other Cluster* directive's place */
    int other_line;
} fl_cluster_cfg;

#define FL_CLUSTER_LEASE_DEFAULT (10 * FL_USEC_PER_SEC)
#define FL_CLUSTER_TIMEOUT_DEFAULT (250 * FL_USEC_PER_SEC / 1000)

typedef struct fl_policy {
    char *path;

    /* The daemon's, at connect, before any server's. */
    fl_limit_cfg max_instances;
    fl_rate_cfg rate;

    /* Every server's; scopes[0] is the main server. */
    fl_scope *scopes;
    size_t nscopes;
    struct fl_bind_entry {
        fl_bind bind;
        size_t scope;
    } * bind_index; /* every <VirtualHost>'s, sorted by address and port */
    size_t nbind_index;
    unsigned net_v4_bits, net_v6_bits; /* MaxClientsPerNetwork's, in the
                                          128-bit space */
    fl_anon_reject global_reject;      /* <Global>'s AnonRejectPasswords */

    char **anon_users;
    size_t nanon;
    /* The first bytes AnonymousUsers names start with, ASCII folded to
     * lower case: a name starting with another ASCII byte is no such name.
     * Set by fl_policy_set_anon_users(). */
    uint64_t anon_first[2];
    bool anon_first_wide; /* some name starts with a byte past ASCII */

    bool dry_run;
    long long max_tracked_hosts;
    fl_cluster_cfg cluster;

    fl_class_def *classes; /* in file order */
    size_t nclasses;
    bool classes_match_names; /* some class has a DNS name item: a client's
                                 class is then not the address's alone */

    fl_geodb **geodbs; /* GeoIPDatabase, in file order; shared with other policies */
    size_t ngeodbs;

    fl_acl access[3]; /* by fl_access */

    /* The modules' parts (policy/directive.h): each one's settings. */
    struct fl_policy_conf {
        const struct fl_policy_part *part;
        void *conf;
    } parts[FL_POLICY_PARTS_MAX];
    size_t nparts;
} fl_policy;

/* Where each limit of catalog/limits.def lives: the offset of its
 * fl_limit_cfg (FL_SYN_LIMIT, NETWORK, COUNTRY), fl_rate_cfg (FL_SYN_RATE)
 * or long long (FL_SYN_ATTEMPTS) in fl_policy (FL_SC_DAEMON) or fl_limits
 * (the others); 0 for the rest. */
extern const size_t fl_limit_offsets[FL_L_COUNT];
/* The number a limit is set to in p's scope (-1: none, or not a number). */
long long fl_policy_limit_value(const fl_policy *p, const fl_scope *sc,
                                enum fl_limit_id id);

/* For the parser: defaults, a new scope (NULL/ENOMEM; pointers into
 * p->scopes move), what a scope and an AnonRejectPasswords hold, and the
 * index of every <VirtualHost>'s binds (-1/ENOMEM; -1/EEXIST when two
 * scopes share one: *dup_a, *dup_b and *dup say which). */
void fl_limits_init(fl_limits *l);
fl_scope *fl_policy_add_scope(fl_policy *p, enum fl_scope_kind kind, size_t server);
void fl_scope_clear(fl_scope *sc, size_t nclasses);
void fl_anon_reject_clear(fl_anon_reject *r);
int fl_policy_index_binds(fl_policy *p, size_t *dup_a, size_t *dup_b, fl_bind *dup);

/* The main server's scope. */
static inline const fl_scope *fl_policy_main(const fl_policy *p)
{
    return &p->scopes[0];
}
/* The server a client reached at server (NULL: the main server): the
 * <VirtualHost> with that address and port, else the main server. */
const fl_scope *fl_policy_server(const fl_policy *p, const fl_bind *server);
/* The <Anonymous> block of server srv whose User is account, or NULL. */
const fl_scope *fl_policy_anon_block(const fl_policy *p, const fl_scope *srv,
                                     const char *account);
/* The <Anonymous> block of srv that USER name lands in (its User or a
 * UserAlias), or NULL. */
const fl_scope *fl_policy_anon_alias(const fl_policy *p, const fl_scope *srv,
                                     const char *name);

/* A policy with every default and no limits, with the settings of each
 * of parts (policy/directive.h) at their defaults. NULL/ENOMEM. */
fl_policy *fl_policy_new(const struct fl_policy_part *const *parts, size_t nparts);
void fl_policy_free(fl_policy *p);

/* Parse path into a new policy; NULL after reporting every error. previous
 * (may be NULL) is the policy in force: a database it has open stands in,
 * with a notice, for one that cannot be opened again. check_writes: a file
 * the engine would write that this process cannot is an error. */
fl_policy *fl_policy_parse(const char *path, const struct fl_policy_part *const *parts,
                           size_t nparts, void (*err)(void *, const char *), void *arg,
                           const fl_policy *previous, bool check_writes);
/* The settings p holds for part (as part->conf_new made them and its
 * directives filled them); NULL if p was made without it. */
void *fl_policy_conf(const fl_policy *p, const struct fl_policy_part *part);

/* The class definition named name, or NULL. */
const fl_class_def *fl_policy_class(const fl_policy *p, const char *name);

/* Make the n names (allocated, now p's) p's AnonymousUsers, freeing the
 * ones before. */
void fl_policy_set_anon_users(fl_policy *p, char **names, size_t n);
/* True when user is one of the AnonymousUsers names (ASCII case ignored). */
bool fl_policy_is_anonymous(const fl_policy *p, const char *user);

/* Describe what p enforces, one line per call of out: the daemon's, then
 * each scope's under a "<VirtualHost ...>"-style heading line. */
void fl_policy_lines(const fl_policy *p, void (*out)(void *, const char *), void *arg);
/* A class item as a policy writes it. */
void fl_class_item_format(const fl_class_item *it, char *buf, size_t size);

/* The first class in file order that the client satisfies, or NULL. */
struct fl_geo;
const fl_class_def *fl_classify(const fl_policy *p, const fl_addr *addr,
                                const char *dns_name, const struct fl_geo *geo);

#endif
