/*
 * server.h - ftplimitd's event loop: the socket, its clients, the engine.
 */
#ifndef FL_SERVER_H
#define FL_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <ftplimit/client.h>
#include <ftplimit/ftplimit.h>

struct conn;

struct server {
    fl_engine *engine;
    fl_module *module; /* ftplimitd's own listeners */
    int epoll_fd;
    int listen_fd;
    int signal_fd;
    uid_t self;         /* whom the Allow* defaults grant rights: the daemon's uid, or
                           (uid_t)-1 under -n (a uid its server's sessions share) */
    fl_session_key key; /* shared with the servers: checks sessions' tokens */
    bool have_key;
    time_t started;
    const char *socket_path;
    bool stopping;
    int idle_seconds; /* -T: how long a connection may be nothing */

    struct conn *conns;   /* every client */
    struct conn *backlog; /* clients with lines waiting for another turn */
    struct conn *current; /* the client whose request the engine is deciding */
    size_t nconns, nwatchers;

    /* For metrics. */
    uint64_t *event_counts; /* parallel to fl_event_names() */
    size_t nevents;
    uint64_t connections_total, protocol_errors, permission_denied, slow_clients;
    uint64_t refused_connections; /* PENDING_PER_UID, or out of descriptors */
    uint64_t logouts;             /* logins undone by LOGOUT */

    struct cluster *cluster; /* Cluster (cluster.c), or NULL */
};

/* fn for each session a client holds. */
void server_each_session(struct server *srv, void (*fn)(fl_session *s, void *arg),
                         void *arg);

/* cluster.c's answer to a decision conn waited for: s is its session (NULL:
 * ended), d what to reply. */
void server_farm_answer(struct server *srv, struct conn *c, fl_session *s,
                        fl_farm_step step, const fl_decision *d);

/* Set up the loop around a loaded engine and a listening socket. 0, or -1
 * with a message logged. */
int server_init(struct server *srv, fl_engine *e, int listen_fd,
                const char *socket_path);

/* Run until SIGTERM or SIGINT; SIGHUP reloads. Returns the exit status. */
int server_run(struct server *srv);

/* End every session (core.exit each), then core.shutdown; close clients. */
void server_shutdown(struct server *srv);

/* Status and metrics, as the STATUS and METRICS replies carry them
 * (render.c). Both malloc'd; NULL without memory. */
/* The status document: every server's counts, and the tables of server
 * (NULL: every server's). NULL with ENOENT for a server not counted. */
char *render_status_json(struct server *srv, const char *server, size_t *len);
char *render_metrics(struct server *srv, size_t *len);
char *render_bans_json(struct server *srv, size_t *len);

#endif
