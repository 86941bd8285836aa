/*
 * request.h - ftplimitd's request lines, version 1 of its protocol
 * (doc/protocol.md): formatted by clients, parsed by the daemon.
 */
#ifndef FL_PROTO_REQUEST_H
#define FL_PROTO_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include <ftplimit/bans.h>
#include <ftplimit/client.h>
#include <ftplimit/session.h>

#define FL_PROTO_VERSION FL_PROTOCOL_VERSION
#define FL_PROTO_LINE_MAX 4096 /* a request line, LF included */

enum fl_verb {
    FL_VERB_HELLO,
    FL_VERB_CONNECT,
    FL_VERB_USER,
    FL_VERB_USERAS,
    FL_VERB_PASS,
    FL_VERB_ANONPASS,
    FL_VERB_TOKEN,
    FL_VERB_LOGOUT,
    FL_VERB_CLOSE,
    FL_VERB_RESUME,
    FL_VERB_STATUS,
    FL_VERB_METRICS,
    FL_VERB_RELOAD,
    FL_VERB_WATCH,
    FL_VERB_PING,
    FL_VERB_BAN,
    FL_VERB_GROUPS,
    FL_VERB_COUNT /* how many there are */
};

/* A parsed request; strings point into the line it was parsed from. */
struct fl_request {
    enum fl_verb verb;
    int version;             /* HELLO */
    const char *sid;         /* CONNECT (NULL for "-"), RESUME */
    fl_addr addr;            /* CONNECT, RESUME */
    const char *dns_name;    /* CONNECT, or NULL */
    bool has_server;         /* CONNECT, RESUME: server= was given */
    fl_endpoint server;      /* the server the client reached */
    const char *user;        /* USER, USERAS, RESUME (NULL if none) */
    const char *account;     /* USERAS: the anonymous account, NULL for "-" */
    bool ok;                 /* PASS */
    const char *password;    /* PASS (or NULL), ANONPASS */
    const char *token;       /* TOKEN */
    const char *class_name;  /* RESUME, NULL for "-" and "*" */
    bool classify;           /* RESUME with class "*": classify the address */
    bool authenticated;      /* RESUME */
    fl_anonymity anonymity;  /* RESUME: of an authenticated session */
    int failed;              /* RESUME */
    const char *pattern;     /* WATCH, or NULL */
    const char *server_name; /* STATUS: one server's tables, or NULL for all;
                                BAN ADD, REMOVE: server=, percent-decoded */
    enum fl_ban_op { FL_BAN_LIST, FL_BAN_ADD, FL_BAN_REMOVE } ban_op; /* BAN */
    fl_ban_kind ban_kind;              /* BAN ADD, REMOVE */
    long ban_seconds;                  /* BAN ADD */
    const char *target;                /* BAN ADD, REMOVE: percent-decoded */
    const char *message;               /* BAN ADD, or NULL for the default */
    const char *groups[FL_GROUPS_MAX]; /* GROUPS: percent-decoded ... */
    size_t ngroups;                    /* ... this many */
};

/* Parse one request line: len bytes, without its LF (a CR before it is
 * dropped), NUL-terminated; it is modified in place. 0, or -1 with *reason
 * set to the ERR token (a static string) and msg to the explanation. */
int fl_request_parse(char *line, size_t len, struct fl_request *r, const char **reason,
                     char *msg, size_t msg_size);

/* The line for r, without its LF, into buf (size bytes, NUL included):
 * the line fl_request_parse() reads back into the same request. Its
 * length, or -1 with EINVAL when a field cannot be carried (empty, or a
 * space in a field that ends at one, CR or LF anywhere) and ENAMETOOLONG
 * when it does not fit. */
int fl_request_format(const struct fl_request *r, char *buf, size_t size);

/* The verb's name, for messages. */
const char *fl_verb_name(enum fl_verb v);

#endif
