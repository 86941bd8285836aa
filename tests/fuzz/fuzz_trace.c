/*
 * fuzz_trace.c - one line of a `ftplimit simulate` trace (src/cli/trace.c).
 *
 * Holds for every input: a line is an operation, a blank, or an error with
 * a message; an operation's strings lie inside the line, and the verbs that
 * need an address, a user or a target have one.
 */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "trace.h"

static void inside(const char *s, const char *line, size_t len)
{
    if (s != NULL)
        FUZZ_ASSERT(s >= line && s + strlen(s) <= line + len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192)
        return 0;
    char *line = fuzz_text(data, size);
    struct trace_op op;
    char err[256] = "";
    int rc = trace_parse_line(line, size, &op, err, sizeof err);
    FUZZ_ASSERT(rc >= -1 && rc <= 1);
    if (rc < 0)
        FUZZ_ASSERT(err[0] != '\0' && strlen(err) < sizeof err);
    if (rc == 1) {
        const char *strings[] = {op.sid,  op.address, op.dns_name, op.server,
                                 op.user, op.account, op.password, op.policy,
                                 op.kind, op.target,  op.message};
        for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
            inside(strings[i], line, size);
        if (op.verb == TRACE_CONNECT)
            FUZZ_ASSERT(op.sid != NULL && op.address != NULL);
        if (op.verb == TRACE_USER)
            FUZZ_ASSERT(op.user != NULL && (op.resolved || op.account == NULL));
        if (op.verb == TRACE_BAN || op.verb == TRACE_UNBAN)
            FUZZ_ASSERT(op.kind != NULL && op.target != NULL);
    }
    free(line);
    return 0;
}
