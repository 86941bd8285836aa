/*
 * trace.h - the trace format `ftplimit simulate` replays (doc/simulate.md).
 */
#ifndef FL_TRACE_H
#define FL_TRACE_H

#include <stdbool.h>
#include <stddef.h>

#include <ftplimit/engine.h>

enum trace_verb {
    TRACE_CONNECT,
    TRACE_USER,
    TRACE_PASS,
    TRACE_CLOSE,
    TRACE_RELOAD,
    TRACE_BAN,
    TRACE_UNBAN,
    TRACE_TICK,
};

struct trace_op {
    enum trace_verb verb;
    fl_usec time;
    const char *sid;
    const char *address;  /* connect */
    const char *dns_name; /* connect name=..., or NULL */
    const char *server;   /* connect, ban, unban: server=..., or NULL */
    const char *user;     /* user */
    bool resolved;        /* user as=...: the server said whether it is anonymous */
    const char *account;  /* ... the anonymous account, or NULL for a real one */
    char *groups;         /* user groups=...: comma-separated, or NULL */
    bool ok;              /* pass */
    const char *password; /* pass, or NULL */
    const char *policy;   /* reload, or NULL */
    const char *kind;     /* ban, unban: host, user, class, user@host */
    const char *target;   /* ban, unban */
    long long seconds;    /* ban */
    const char *message;  /* ban, or NULL */
};

/* Parse one line, which is modified in place (the op's strings point into
 * it). Returns 1 for an operation, 0 for a blank or comment line, -1 with a
 * message in err. len is the line's length, so that NUL bytes are caught. */
int trace_parse_line(char *line, size_t len, struct trace_op *op, char *err,
                     size_t errsize);

#endif
