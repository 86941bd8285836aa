/*
 * reply.c - ftplimitd's answers to a decision, and its ERR reasons, as the
 * daemon writes them and the client reads them.
 */
#include "config.h"

#include "proto/reply.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/limits.h"

int fl_reply_decision_format(const fl_decision *d, char *buf, size_t size)
{
    int n = d->verdict == FL_ALLOW
                ? snprintf(buf, size, "ALLOW")
                : snprintf(buf, size, "%s %d %s %s",
                           d->verdict == FL_REJECT ? "REJECT" : "DISCONNECT", d->code,
                           d->limit != NULL ? d->limit : "-", d->message);
    if (n < 0 || (size_t)n >= size) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return n;
}

int fl_reply_decision_parse(const char *line, fl_decision *d)
{
    memset(d, 0, sizeof *d);
    if (strcmp(line, "ALLOW") == 0 || strncmp(line, "ALLOW ", 6) == 0)
        return 0;
    fl_verdict v;
    const char *rest;
    if (strncmp(line, "REJECT ", 7) == 0) {
        v = FL_REJECT;
        rest = line + 7;
    } else if (strncmp(line, "DISCONNECT ", 11) == 0) {
        v = FL_DISCONNECT;
        rest = line + 11;
    } else {
        errno = EPROTO;
        return -1;
    }
    char limit[64];
    int code, used = 0;
    if (sscanf(rest, "%d %63s %n", &code, limit, &used) < 2 || used == 0) {
        errno = EPROTO;
        return -1;
    }
    enum fl_limit_id id = fl_limit_by_directive(limit);
    d->verdict = d->would = v;
    d->code = code;
    d->limit = id < FL_L_COUNT ? fl_limit_descs[id].directive : NULL;
    snprintf(d->message, sizeof d->message, "%s", rest + used);
    return 0;
}

/* Each REASON and the errno value it stands for, in both directions. */
static const struct {
    const char *reason;
    int err;
} reasons[] = {
    {"permission", EACCES}, {"exists", EEXIST},    {"state", EALREADY},
    {"hello", EPROTO},      {"version", EPROTO},   {"shutdown", ESHUTDOWN},
    {"engine", EBUSY},      {"no-memory", ENOMEM}, {"table-full", ENOSPC},
    {"not-found", ENOENT},  {"exempt", EPERM},
};

const char *fl_reply_reason_of(int err)
{
    switch (err) {
    case EEXIST:
        return "exists";
    case EISCONN: /* a session's call out of order */
    case ENOTCONN:
    case EPROTO:
    case EALREADY:
        return "state";
    case ENOMEM:
        return "no-memory";
    case ENOSPC:
        return "table-full";
    case ENOENT:
        return "not-found";
    case EPERM:
        return "exempt";
    case ESHUTDOWN:
        return "shutdown";
    default:
        return "bad-field";
    }
}

int fl_reply_errno_of(const char *reason, size_t len)
{
    for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++) {
        if (strlen(reasons[i].reason) == len &&
            strncmp(reasons[i].reason, reason, len) == 0)
            return reasons[i].err;
    }
    return EINVAL;
}
