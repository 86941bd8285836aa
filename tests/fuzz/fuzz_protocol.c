/*
 * fuzz_protocol.c - a request line to ftplimitd (src/proto/request.c):
 * what any local client, or a compromised session process, may send.
 *
 * Holds for every input: the line is a request or an error with its ERR
 * token and a message; a request's strings lie inside the line and hold no
 * CR or LF; a CONNECT's address formats back to a valid address; and the
 * request, formatted as a client would (fl_request_format), parses back
 * into the same request.
 */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "proto/request.h"

static bool same_string(const char *a, const char *b)
{
    return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

/* The request formats, and the line parses back into the same request. */
static void formats_back(const struct fl_request *r)
{
    static char out[3 * 4096 + 64], copy[3 * 4096 + 64];
    int n = fl_request_format(r, out, sizeof out);
    FUZZ_ASSERT(n > 0);
    memcpy(copy, out, (size_t)n + 1);
    struct fl_request b;
    const char *reason = NULL;
    char msg[256];
    FUZZ_ASSERT(fl_request_parse(copy, (size_t)n, &b, &reason, msg, sizeof msg) == 0);
    FUZZ_ASSERT(b.verb == r->verb && b.version == r->version && b.ok == r->ok);
    FUZZ_ASSERT(memcmp(&b.addr, &r->addr, sizeof b.addr) == 0);
    FUZZ_ASSERT(b.classify == r->classify && b.authenticated == r->authenticated &&
                b.anonymity == r->anonymity && b.failed == r->failed);
    FUZZ_ASSERT(b.ban_op == r->ban_op && b.ban_kind == r->ban_kind &&
                b.ban_seconds == r->ban_seconds);
    const char *const mine[] = {r->sid,        r->dns_name, r->user,    r->account,
                                r->password,   r->token,    r->pattern, r->target,
                                r->class_name, r->message};
    const char *const back[] = {b.sid,   b.dns_name, b.user,   b.account,    b.password,
                                b.token, b.pattern,  b.target, b.class_name, b.message};
    for (size_t i = 0; i < sizeof mine / sizeof mine[0]; i++)
        FUZZ_ASSERT(same_string(mine[i], back[i]));
}

static void clean_inside(const char *s, const char *line, size_t len)
{
    if (s == NULL)
        return;
    /* BAN targets are percent-decoded in place: still inside the line. */
    FUZZ_ASSERT(s >= line && s + strlen(s) <= line + len);
    FUZZ_ASSERT(strpbrk(s, "\r\n") == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size >= 4096)
        return 0;
    /* The daemon splits what it reads at LF: a request never holds one. */
    const uint8_t *lf = memchr(data, '\n', size);
    if (lf != NULL)
        size = (size_t)(lf - data);
    char *line = fuzz_text(data, size);
    struct fl_request r = {0};
    const char *reason = NULL;
    char msg[256] = "";
    int rc = fl_request_parse(line, size, &r, &reason, msg, sizeof msg);
    FUZZ_ASSERT(rc == 0 || rc == -1);
    if (rc < 0) {
        FUZZ_ASSERT(reason != NULL && reason[0] != '\0');
        FUZZ_ASSERT(strpbrk(reason, " \r\n") == NULL);
        FUZZ_ASSERT(strlen(msg) < sizeof msg);
    } else {
        const char *strings[] = {r.sid,      r.dns_name,   r.user,    r.account,
                                 r.password, r.class_name, r.pattern, r.target,
                                 r.message,  r.token};
        for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
            clean_inside(strings[i], line, size);
        FUZZ_ASSERT(fl_verb_name(r.verb) != NULL);
        if (r.verb == FL_VERB_CONNECT) {
            char buf[FL_ADDR_TEXT_MAX];
            fl_addr back;
            FUZZ_ASSERT(
                fl_addr_parse(fl_addr_format(&r.addr, buf, sizeof buf), &back) == 0);
            if (r.sid != NULL)
                FUZZ_ASSERT(strlen(r.sid) <= FL_SID_MAX && strchr(r.sid, ' ') == NULL);
        }
        if (r.verb == FL_VERB_USER || r.verb == FL_VERB_USERAS)
            FUZZ_ASSERT(r.user != NULL);
        if (r.account != NULL)
            FUZZ_ASSERT(strlen(r.account) <= FL_USER_MAX &&
                        strchr(r.account, ' ') == NULL);
        if (r.verb == FL_VERB_TOKEN)
            FUZZ_ASSERT(r.token != NULL && strlen(r.token) == FL_TOKEN_LEN &&
                        strspn(r.token, "0123456789abcdef") == FL_TOKEN_LEN);
        if (r.verb == FL_VERB_ANONPASS)
            FUZZ_ASSERT(r.password != NULL);
        /* What the parser lets through, the engine can take. */
        FUZZ_ASSERT(r.user == NULL || strlen(r.user) <= FL_USER_MAX);
        FUZZ_ASSERT(r.password == NULL || strlen(r.password) <= FL_PASS_MAX);
        FUZZ_ASSERT(r.dns_name == NULL || strlen(r.dns_name) <= FL_DNSNAME_MAX);
        formats_back(&r);
    }
    free(line);
    return 0;
}
