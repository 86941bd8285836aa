/*
 * reply.h - ftplimitd's answers, both ways: formatted by the daemon, read
 * by the client library (doc/protocol.md).
 */
#ifndef FL_PROTO_REPLY_H
#define FL_PROTO_REPLY_H

#include <stddef.h>

#include <ftplimit/session.h>

/* The answer to a connect or a login step: "ALLOW", or "REJECT CODE LIMIT
 * MESSAGE" / "DISCONNECT CODE LIMIT MESSAGE" (LIMIT "-" for none), without
 * its LF, into buf. Its length, or -1/ENAMETOOLONG when it does not fit. */
int fl_reply_decision_format(const fl_decision *d, char *buf, size_t size);

/* The same read back into d: 0, or -1/EPROTO for a line that is not one.
 * d->limit is the catalog's static name of the limit (NULL for "-" or a
 * name this library does not know). */
int fl_reply_decision_parse(const char *line, fl_decision *d);

/* "ERR REASON TEXT": the REASON for an errno value the engine set (the
 * daemon), and the errno value a REASON of len bytes stands for (the
 * client; EINVAL for one it does not know). */
const char *fl_reply_reason_of(int err);
int fl_reply_errno_of(const char *reason, size_t len);

#endif
