/*
 * ftplimit/client.h - talking to ftplimitd over its socket (doc/protocol.md).
 *
 * One fl_client is one connection, and a connection carries at most one FTP
 * session: when the connection closes, for whatever reason, the daemon ends
 * the session. Every call has a deadline (the client's timeout); a call that
 * fails leaves errno set:
 *   ETIMEDOUT            the daemon did not answer in time
 *   ECONNREFUSED         no daemon listens on the socket (or there is none)
 *   ECONNRESET, EPIPE    the daemon went away (see fl_client_resume)
 *   EPROTO               the answer was not ftplimitd's protocol
 *   EACCES               the daemon's Allow* rules (or the session's token)
 *                        refused this process
 *   EEXIST, EINVAL, EALREADY, EBUSY, ENOENT, EPERM, ENOSPC, ENOMEM  the
 *                        daemon refused the request (ENOENT: no such ban or
 *                        session); the reason is in fl_client_error()
 * fl_strerror() says what each means here.
 * Not thread-safe; use one client per thread.
 */
#ifndef FTPLIMIT_CLIENT_H
#define FTPLIMIT_CLIENT_H

#include <ftplimit/session.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The protocol version this library speaks (doc/protocol.md). */
#define FL_PROTOCOL_VERSION 1

typedef struct fl_client fl_client;

/*
 * Session keys and tokens. A daemon and the servers that use it share a
 * session key (a file only its owner may read); a session's token, a MAC of
 * its id and address under that key, lets it declare itself (CONNECT,
 * RESUME) whatever uid its process has by then, and only itself. A server
 * works the token out before its session process changes uid.
 */
#define FL_SESSION_KEY_BYTES 32
#define FL_TOKEN_LEN 32 /* hex digits */

typedef struct fl_session_key {
    uint8_t b[FL_SESSION_KEY_BYTES];
} fl_session_key;

/* Read the session key in the file at path (64 hex digits and a newline).
 * With create, a missing file is made first, with a random key, mode 0600,
 * whole or not at all. The file must be a regular file, not a symbolic
 * link, that only its owner may read or write. 0, or -1 with errno (EPERM:
 * others may read or write it; EINVAL: it holds no key). */
FL_EXPORT int fl_session_key_load(const char *path, bool create, fl_session_key *key);

/* The token of session sid, from address (IPv4 or IPv6, any form), under
 * key: FL_TOKEN_LEN hex digits and a NUL in out. 0, or -1/EINVAL. */
FL_EXPORT int fl_session_token(const fl_session_key *key, const char *sid,
                               const char *address, char out[FL_TOKEN_LEN + 1]);

/* Whether token is sid's from address under key (in constant time). */
FL_EXPORT bool fl_session_token_check(const fl_session_key *key, const char *sid,
                                      const char *address, const char *token);

/* Receives each event the daemon reports about this client's session, before
 * the decision it led to. The strings live during the call only. */
typedef void (*fl_client_event_fn)(void *arg, const char *event,
                                   const fl_event_info *info);

/* Connect to the socket at path and say HELLO, waiting at most timeout_ms for
 * each call from now on. NULL with errno. The answer to HELLO is read with
 * the first request's (one round trip less per session), so a peer that is
 * not ftplimitd, or does not answer, is found out by that request. */
FL_EXPORT fl_client *fl_client_open(const char *path, int timeout_ms);

/* Close the connection (the daemon ends the session, if any) and free. */
FL_EXPORT void fl_client_free(fl_client *c);

FL_EXPORT void fl_client_on_event(fl_client *c, fl_client_event_fn fn, void *arg);

/* The connection's descriptor, or -1 while disconnected. */
FL_EXPORT int fl_client_fd(const fl_client *c);

/* The session: CONNECT (sid NULL lets the daemon choose; dns_name may be
 * NULL), USER, PASS. Each returns 0 with the daemon's decision in d; after
 * FL_DISCONNECT the daemon has ended the session and closes the connection. */
FL_EXPORT int fl_client_connect(fl_client *c, const char *sid, const char *address,
                                const char *dns_name, fl_decision *d);
/* fl_client_connect in two halves, for a server that has other work to do
 * while the daemon decides: _start sends CONNECT, _finish reads the decision
 * (within the client's timeout from _start). Between the two, any other call
 * on c fails with EINPROGRESS. */
FL_EXPORT int fl_client_connect_start(fl_client *c, const char *sid,
                                      const char *address, const char *dns_name);
FL_EXPORT int fl_client_connect_finish(fl_client *c, fl_decision *d);
FL_EXPORT int fl_client_user(fl_client *c, const char *user, fl_decision *d);
FL_EXPORT int fl_client_pass(fl_client *c, bool ok, const char *password,
                             fl_decision *d);

/* USER and PASS in one round trip: the decision of the PASS in d. */
FL_EXPORT int fl_client_login(fl_client *c, const char *user, bool ok,
                              const char *password, fl_decision *d);
/* fl_client_login in two halves, as fl_client_connect_start/_finish: the
 * request goes out at _start (the daemon decides while the caller works),
 * _finish reads the decision. */
FL_EXPORT int fl_client_login_start(fl_client *c, const char *user, bool ok,
                                    const char *password);
FL_EXPORT int fl_client_login_finish(fl_client *c, fl_decision *d);

/* fl_client_login_start for a server that resolved the USER name itself
 * (fl_user_resolved): anon_account NULL for a real account, else the
 * anonymous account the login counts under. user NULL sends the PASS
 * alone, for the USER of a fl_client_anon_pass just before. Finish with
 * fl_client_login_finish. */
FL_EXPORT int fl_client_login_as_start(fl_client *c, const char *user,
                                       const char *anon_account, bool ok,
                                       const char *password);

/* An anonymous login's password, before the server checks it
 * (fl_anon_pass_check): USER, resolved as for fl_client_login_as_start, and
 * the password, in one round trip. d refuses a password AnonRejectPasswords
 * rejects (REJECT, or DISCONNECT at the last attempt) and allows any
 * other, which the PASS that follows (user NULL) need not carry. */
FL_EXPORT int fl_client_anon_pass(fl_client *c, const char *user,
                                  const char *anon_account, const char *password,
                                  fl_decision *d);

/* LOGOUT: undo the session's successful PASS (fl_logout). 0, or -1. */
FL_EXPORT int fl_client_logout(fl_client *c);

/* End the session: say CLOSE and close the connection (the connection is
 * the session, so this needs no answer). */
FL_EXPORT int fl_client_close_session(fl_client *c);

/* Connect again (after the daemon restarted, say) and re-declare the session
 * this client holds, exactly as it was: no limit is checked. 0, or -1. */
FL_EXPORT int fl_client_resume(fl_client *c);

/* A session as its server knows it, for fl_client_declare. */
typedef struct fl_client_session {
    const char *sid;          /* the server's id, not of the daemon's "c<N>" form */
    const char *address;      /* the client's */
    const char *class_name;   /* the class a daemon gave it, or NULL: the daemon
                                 classifies the address */
    const char *user;         /* the USER name, NULL before USER */
    bool authenticated;       /* it logged in */
    bool resolved;            /* the server resolved the name (fl_user_resolved) */
    const char *anon_account; /* resolved, and logged in anonymously: the
                                 account it counts under */
    int failed;               /* its failed logins */
} fl_client_session;

/* Declare a session on this connection, as its server knows it: one the
 * daemon lost (it restarted) or never saw (a server let it in while the
 * daemon could not be reached, FtpLimitFailMode open). Like a resume, no
 * limit is checked. The token, if set, goes first. 0, or -1 (EEXIST: the
 * id is taken; EACCES: neither the token nor the process's uid may declare
 * it). The client then holds the session (fl_client_resume). */
FL_EXPORT int fl_client_declare(fl_client *c, const fl_client_session *s);

/* The session's token (fl_session_token), sent before every CONNECT,
 * RESUME or declaration on this client's connections; NULL forgets it.
 * 0, or -1/EINVAL for anything but FL_TOKEN_LEN hex digits. */
FL_EXPORT int fl_client_set_token(fl_client *c, const char *token);

/* The groups of the user of the next login (fl_client_login*, with a PASS
 * the server accepted): the primary group first, then the supplementary
 * ones, for the policy's <IfGroup> blocks (fl_user_groups). Sent as GROUPS
 * between its USER and its PASS, in the same write; forgotten once sent.
 * At most FL_GROUPS_MAX names, each 1 to FL_USER_MAX bytes without a
 * control byte; n 0 forgets them. 0, or -1 with EINVAL or ENOMEM. */
FL_EXPORT int fl_client_set_groups(fl_client *c, const char *const *groups, size_t n);

/* The server the session's client reached, "ADDR:PORT" ("[ADDR]:PORT"
 * for IPv6), sent with CONNECT and every RESUME or declaration after it:
 * the policy's <VirtualHost> of that address and port decides the
 * session, else its main server. NULL: the main server. 0, or -1/EINVAL. */
FL_EXPORT int fl_client_set_server(fl_client *c, const char *server);

/* Change the deadline of each call from now on. */
FL_EXPORT void fl_client_set_timeout(fl_client *c, int timeout_ms);

/* The session's id and class as the daemon gave them, or NULL. */
FL_EXPORT const char *fl_client_sid(const fl_client *c);
FL_EXPORT const char *fl_client_class(const fl_client *c);

/* Send one request line (STATUS, METRICS, RELOAD, PING, BAN ...) and return
 * the answer in *out (malloc'd, NUL-terminated; the caller frees): a DATA
 * payload, or the text after OK. */
FL_EXPORT int fl_client_command(fl_client *c, const char *request, char **out,
                                size_t *len);

/* WATCH: subscribe this connection to events matching pattern (NULL: all). */
FL_EXPORT int fl_client_watch(fl_client *c, const char *pattern);

/* The next line the daemon sends a watcher ("EVENT {json}" or "DROPPED n"),
 * malloc'd, without its LF. -1 with ETIMEDOUT when none came in timeout_ms. */
FL_EXPORT int fl_client_next_line(fl_client *c, int timeout_ms, char **line);

/* The daemon's last ERR, as "reason: text", or "" if none. */
FL_EXPORT const char *fl_client_error(const fl_client *c);

#ifdef __cplusplus
}
#endif

#endif
