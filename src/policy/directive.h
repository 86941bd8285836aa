/*
 * policy/directive.h - the policy parser as a module's directives see it.
 *
 * The parser (parse.c) reads lines and tokens and dispatches each directive
 * to the table that names it, as nginx's ngx_conf_handler does: its own
 * (limits, classes, GeoIP, access) and every module's (struct
 * fl_policy_part: mod_ban's Ban*, mod_alerts' OnEvent ...). A module's
 * handlers fill its settings, which the policy holds for it
 * (fl_parser_conf() while parsing, fl_policy_conf() afterwards), and report
 * mistakes through fl_perr(), which names the file and line.
 */
#ifndef FL_POLICY_DIRECTIVE_H
#define FL_POLICY_DIRECTIVE_H

#include <stdbool.h>
#include <stddef.h>

#include "policy/types.h"
#include "util/text.h"

#define FL_ARGS_MAX 64

struct fl_parser;

/* One argument, unquoted; quoted says it was written in double quotes. */
struct fl_arg {
    char *text;
    bool quoted;
};

/* A directive's words: v[0] is its name. */
struct fl_args {
    struct fl_arg v[FL_ARGS_MAX];
    int n;
};

struct fl_directive;
typedef void (*fl_directive_fn)(struct fl_parser *p, const struct fl_args *a,
                                const struct fl_directive *d);

/* Where a directive may be written. */
enum fl_where {
    FL_TOP,      /* at the top, in no block: the daemon's */
    FL_IN_CLASS, /* inside <Class> */
    FL_ANYWHERE, /* anywhere (Include, and the block lines, which check) */
    FL_SERVER,   /* at the top (the main server), in <Global>, <VirtualHost> */
    FL_SCOPED,   /* the same, and in <Anonymous> */
    FL_IN_VHOST, /* inside <VirtualHost> */
    FL_IN_ANON,  /* inside <Anonymous> */
};

struct fl_directive {
    const char *name;
    enum fl_where where;
    fl_directive_fn handler; /* NULL: the row is not a directive */
    size_t offset;           /* for a handler that serves several directives */
};

/* A module's part of a policy: its directives and its settings. */
struct fl_policy_part {
    const char *name;
    const struct fl_directive *directives;
    size_t ndirectives;
    /* The settings with every default (NULL: out of memory), and their end;
     * both NULL for a part whose directives fill the policy's own fields. */
    void *(*conf_new)(void);
    void (*conf_free)(void *conf);
    /* Once the whole policy is read, before the policy is checked as a
     * whole (or NULL): what a part can only do then, reporting with
     * fl_perr(). */
    void (*finish)(struct fl_parser *p);
    /* What `ftplimit check` shows of them, a line at a time (or NULL). */
    void (*describe)(const void *conf, void (*out)(void *arg, const char *line),
                     void *arg);
};

/* The settings of the module whose directive is being read. */
void *fl_parser_conf(struct fl_parser *p);

/* Report an error at the directive being read ("FILE:LINE: ..."); the
 * policy will not load. */
void fl_perr(struct fl_parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void fl_parser_oom(struct fl_parser *p);
/* path, which the engine will write -- replaced (written anew and renamed
 * into place) or appended to --, when the policy is loaded to be put in
 * force (fl_engine_options.check_writes): an error unless this process's
 * effective user can write it. */
void fl_parser_check_write(struct fl_parser *p, const char *what, const char *path,
                           bool replaced);
/* The line of the directive being read. */
int fl_parser_line(const struct fl_parser *p);

/* A token made safe to quote in an error message (util/text.h). */
#define FL_SHOWN(text) fl_text_escape((text), (char[96]){0}, 96)

/* Argument checks that report what they refuse. */
bool fl_check_argc(struct fl_parser *p, const struct fl_directive *d,
                   const struct fl_args *a, int min, int max, const char *usage);
/* An integer in [min, max]; allow_none maps "none" to FL_UNLIMITED. */
bool fl_parse_count(struct fl_parser *p, const struct fl_directive *d,
                    const struct fl_arg *a, long long min, long long max,
                    bool allow_none, long long *out);
bool fl_is_integer(const char *text);
/* A path as written, made absolute against the policy file's directory
 * (a copy to fl_free; NULL after reporting). */
char *fl_policy_path(struct fl_parser *p, const char *text);
/* True for a name <Class> accepts. */
bool fl_class_name_valid(const char *name);
/* The policy must define <Class name> (before or after this line): when
 * the whole policy is read, an error names this line if it does not. */
void fl_parser_require_class(struct fl_parser *p, const char *name,
                             const char *directive);

#endif
