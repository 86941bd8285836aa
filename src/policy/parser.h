/*
 * policy/parser.h - the parser's state, shared by the policy layer's own
 * files: parse.c (reading: lines, Include, dispatch, errors) and
 * directives.c (the parser's own part: limits, classes, GeoIP, access).
 * Modules see the parser only through policy/directive.h.
 */
#ifndef FL_POLICY_PARSER_H
#define FL_POLICY_PARSER_H

#include "policy/directive.h"
#include "policy/types.h"

#define LINE_MAX_BYTES 16384
#define INCLUDE_DEPTH_MAX 16
/* What one policy may make the parser do, Includes and all: files opened,
 * bytes read, errors reported (then it stops reading). */
#define POLICY_FILES_MAX 1000
#define POLICY_BYTES_MAX (16L * 1024 * 1024)
#define POLICY_ERRORS_MAX 100

struct class_ref {
    char *class_name;
    size_t scope;          /* the server that set it */
    bool global;           /* set in <Global>: every server's that sets none */
    fl_scope *cond;        /* set in an <IfUser>/<IfClass> block: its limits' */
    const char *directive; /* that names it */
    bool sets_limit;       /* MaxClientsPerClass: limit goes to the class */
    fl_limit_cfg limit;
    char *file;
    int line;
};

struct fl_parser {
    fl_policy *pol;
    const fl_policy *previous; /* the policy in force, when reloading */
    void (*err)(void *, const char *);
    void *err_arg;
    int errors;

    const char *file; /* display path of the file being read */
    int line;         /* first line of the directive being read */

    char *stack[INCLUDE_DEPTH_MAX + 1]; /* real paths of the files being read */
    unsigned files;                     /* opened so far */
    long bytes;                         /* read so far */
    bool stop;                          /* a bound was reached: read no further */
    int depth;

    fl_class_def *open_class; /* inside <Class> ... </Class> */

    struct class_ref *refs; /* classes named before they may be defined,
                               resolved after parsing */
    size_t nrefs, caprefs;

    char *country_limit_file; /* where MaxClientsPerCountry was set */
    int country_limit_line;

    size_t part;       /* the part whose directive is being read (pol->nparts: ours) */
    bool check_writes; /* fl_parser_check_write checks */

    /* Scope blocks (scopes.c): the scope directives go to (0: the main
     * server), the open blocks, and what <Global> sets. */
    size_t scope;
    bool in_global;
    size_t vhost, anon; /* the open <VirtualHost>'s and <Anonymous>'s index, 0: none */
    size_t cond;        /* the open <IfUser>/<IfClass>: 1 + its index in the
                           conds of scope p->scope, 0: none */
    int global_line;
    const char *global_file;
    fl_scope global;
    long long vhost_port;                 /* Port in the open <VirtualHost>, -1: none */
    char block_text[LINE_MAX_BYTES + 16]; /* fl_parser_block()'s answer */
    char *proftpd_file; /* the file that said `ProFTPDLimits on`, or NULL */
    bool geodb_failed;  /* a GeoIPDatabase could not be opened */

    /* Errors and notices, held to be reported in line order (parse.c). */
    struct fl_pmsg *msgs;
    size_t nmsgs, capmsgs;
    const char **msg_files;
    unsigned nmsg_files;
};

/* A scope's limit set at set_file (NULL: not set) and set again at the
 * line being read, where one of the two is ProFTPD's configuration: an
 * error to report. */
bool fl_parser_proftpd_twice(const struct fl_parser *p, const char *set_file);

/* The scope whose settings a directive being read fills: an open
 * <IfUser>/<IfClass> block's, <Global>'s, or p->scope's. */
fl_scope *fl_parser_scope(struct fl_parser *p);
/* The open <IfUser>/<IfClass> block, or NULL. */
fl_cond *fl_parser_cond(struct fl_parser *p);
/* The block a directive is read in, for messages: "<VirtualHost ...>",
 * "<Anonymous DIR>", "<Global>", or NULL at the top. Its line in *line. */
const char *fl_parser_block(struct fl_parser *p, int *line);
/* Scope blocks (scopes.c): <VirtualHost>, <Global>, <Anonymous> and the
 * directives only they take (Port, User, UserAlias), rows of the parser's
 * own part (directives.c). */
void fl_scope_vhost_open(struct fl_parser *p, const struct fl_args *a,
                         const struct fl_directive *d);
void fl_scope_vhost_close(struct fl_parser *p, const struct fl_args *a,
                          const struct fl_directive *d);
void fl_scope_port(struct fl_parser *p, const struct fl_args *a,
                   const struct fl_directive *d);
void fl_scope_global_open(struct fl_parser *p, const struct fl_args *a,
                          const struct fl_directive *d);
void fl_scope_global_close(struct fl_parser *p, const struct fl_args *a,
                           const struct fl_directive *d);
void fl_scope_anon_open(struct fl_parser *p, const struct fl_args *a,
                        const struct fl_directive *d);
void fl_scope_anon_close(struct fl_parser *p, const struct fl_args *a,
                         const struct fl_directive *d);
void fl_scope_user(struct fl_parser *p, const struct fl_args *a,
                   const struct fl_directive *d);
void fl_scope_user_alias(struct fl_parser *p, const struct fl_args *a,
                         const struct fl_directive *d);
void fl_scope_proftpd_limits(struct fl_parser *p, const struct fl_args *a,
                             const struct fl_directive *d);
void fl_scope_cond_open(struct fl_parser *p, const struct fl_args *a,
                        const struct fl_directive *d);
void fl_scope_cond_close(struct fl_parser *p, const struct fl_args *a,
                         const struct fl_directive *d);
/* Once the whole policy is read: report blocks left open, give each scope
 * what it inherits, index the servers' addresses (the parser's own part's
 * finish). */
void fl_scopes_finish(struct fl_parser *p);

/* The parser's own directives, as a part without settings of its own (they
 * are fl_policy's fields): the engine lists it first. */
extern const struct fl_policy_part fl_policy_core_part;

/* A notice: the policy still loads. */
void fl_pnotice(struct fl_parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Values (parse.c): "none", seconds with decimals, on/off, a message. */
bool fl_is_none(const struct fl_arg *a);
bool fl_parse_interval(struct fl_parser *p, const struct fl_directive *d,
                       const struct fl_arg *a, fl_usec *out);
bool fl_parse_bool(struct fl_parser *p, const struct fl_directive *d,
                   const struct fl_arg *a, bool *out);
bool fl_set_message(struct fl_parser *p, char **slot, const struct fl_arg *a);

/* path as written in the policy, relative to the file being read, into
 * out (size bytes). */
void fl_resolve_path(const struct fl_parser *p, const char *path, char *out,
                     size_t size);

/* Remember a class named at this line, to resolve once every class is
 * known (MaxClientsPerClass: message, may be NULL, and the limit set by the
 * caller go to the class). NULL on failure, reported. */
struct class_ref *fl_parser_class_ref(struct fl_parser *p, const char *name,
                                      const char *directive, const char *message);

#endif
