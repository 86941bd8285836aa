/*
 * mod_ftplimit.h - what the three parts of mod_ftplimit share: the module
 * and its settings (mod_ftplimit.c), the master's side (helper.c: the
 * daemon, its helper, the session key) and a session's side (session.c:
 * the engine's decisions on a connection and its logins, as ProFTPD's
 * mod_auth and mod_sftp carry out theirs).
 */
#ifndef MOD_FTPLIMIT_H
#define MOD_FTPLIMIT_H

#include "conf.h"

#include <ftplimit/client.h>

#ifndef MOD_FTPLIMIT_VERSION
#define MOD_FTPLIMIT_VERSION "mod_ftplimit/0.0.0"
#endif
#ifndef FTPLIMITD_PATH
#define FTPLIMITD_PATH "/usr/local/sbin/ftplimitd"
#endif
#ifndef FL_DEFAULT_SOCKET
#define FL_DEFAULT_SOCKET "/run/ftplimit/ftplimitd.sock"
#endif

extern module ftplimit_module;

/* A server's FtpLimit* directives. */
struct settings {
    bool engine;
    const char *policy; /* FtpLimitPolicy, absolute */
    const char *socket; /* FtpLimitSocket, or NULL: a daemon of our own */
    bool fail_closed;   /* FtpLimitFailMode closed */
    const char *daemon; /* FtpLimitDaemon: the ftplimitd binary */
    const char *log;    /* FtpLimitLog: "syslog" or a file */
    const char *daemon_user, *daemon_group; /* FtpLimitDaemonUser, or NULL */
    int timeout_ms;                         /* FtpLimitTimeout */
};

void settings_read(const server_rec *srv, struct settings *s);
/* Where the daemon of our own keeps its socket, key and policy: the
 * directory of FL_DEFAULT_SOCKET (configure's --runstatedir), or, for a
 * ProFTPD whose ScoreboardFile is not its default (another instance on the
 * machine), the scoreboard's directory. */
const char *run_dir(pool *p);
/* The daemon's socket: FtpLimitSocket, or ours in run_dir(). */
const char *socket_path(pool *p, const struct settings *s);
/* The settings of the server a session came to, and its daemon's socket. */
void session_settings(struct settings *s, const char **socket);

/* A string from a client made safe for a log line: control and non-ASCII
 * bytes as \xNN, cut at 256 bytes. */
const char *log_safe(pool *p, const char *text);

/* --- ProFTPD's own limit directives (config.c) ----------------------------- */

/* True for a directive ProFTPD has whose limit ftplimit enforces. */
bool config_takes(const char *directive);
/* The handler of those directives: notes each as written, and declines. */
modret_t *ftplimit_note_limit(cmd_rec *cmd);
/* The policy of a daemon of our own: ProFTPD's limits per server and
 * <Anonymous> block, its classes, and FtpLimitPolicy files included where
 * they were given. Where it is written; NULL with *why on failure. */
const char *config_write_policy(pool *p, const struct settings *main_s,
                                const char **why);
/* The path config_write_policy() writes. */
const char *config_policy_path(pool *p);
/* text (ftplimitd's report on that policy) with each "POLICY:LINE" it
 * names replaced by where in proftpd.conf that line comes from. */
const char *config_explain(pool *p, const char *text);
/* Take the limits out of mod_auth's and the core's view, where the engine
 * enforces them. */
void config_take_over(void);

/* --- the master (helper.c) ------------------------------------------------ */

void master_postparse(void);
void master_startup(void);
void master_shutdown(void);
void master_usr2(void);
/* The session key the master read, or NULL: a session works its token out
 * with it, then forgets it (master_forget_key). */
const fl_session_key *master_key(void);
void master_forget_key(void);

/* --- a session (session.c) ------------------------------------------------ */

int session_start(void);
void session_register(void);
modret_t *ftplimit_pre_pass(cmd_rec *cmd);
modret_t *ftplimit_post_pass(cmd_rec *cmd);
modret_t *ftplimit_post_pass_err(cmd_rec *cmd);
modret_t *ftplimit_log_pass_err(cmd_rec *cmd);

#endif
