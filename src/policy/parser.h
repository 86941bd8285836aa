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

    size_t part; /* the part whose directive is being read (pol->nparts: ours) */
};

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
