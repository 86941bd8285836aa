/*
 * ftplimit/client.h - talking to ftplimitd over its socket (doc/protocol.md).
 *
 * One fl_client is one connection, and a connection carries at most one FTP
 * session: when the connection closes, for whatever reason, the daemon ends
 * the session. Every call has a deadline (the client's timeout); a call that
 * fails leaves errno set:
 *   ETIMEDOUT            the daemon did not answer in time
 *   ECONNREFUSED, ENOENT no daemon listens on the socket
 *   ECONNRESET, EPIPE    the daemon went away (see fl_client_resume)
 *   EPROTO               the answer was not ftplimitd's protocol
 *   EACCES               the daemon's Allow* rules refused this process
 *   EEXIST, EINVAL, EALREADY, EBUSY, ENOENT, EPERM  the daemon refused the
 *                        request; the reason is in fl_client_error()
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

/* LOGOUT: undo the session's successful PASS (fl_logout). 0, or -1. */
FL_EXPORT int fl_client_logout(fl_client *c);

/* End the session: say CLOSE and close the connection (the connection is
 * the session, so this needs no answer). */
FL_EXPORT int fl_client_close_session(fl_client *c);

/* Connect again (after the daemon restarted, say) and re-declare the session
 * this client holds, exactly as it was: no limit is checked. 0, or -1. */
FL_EXPORT int fl_client_resume(fl_client *c);

/* Declare, on this connection, a session the daemon never saw -- one a
 * server let in while the daemon could not be reached (fail mode open): its
 * id (not of the daemon's "c<N>" form), address, USER name (NULL before
 * USER), whether it logged in, and its failed logins. Like a resume, no
 * limit is checked; the daemon classifies the address. 0, or -1 (EEXIST:
 * the id is taken). The client then holds the session (fl_client_resume). */
FL_EXPORT int fl_client_declare(fl_client *c, const char *sid, const char *address,
                                const char *user, bool authenticated, int failed);

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
