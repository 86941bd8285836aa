/*
 * log.h - ftplimitd's log: standard error in the foreground, syslog when
 * daemonised.
 */
#ifndef FL_DAEMON_LOG_H
#define FL_DAEMON_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>

/* Where the log goes: dest "syslog", a file (appended to; opened now, so
 * before privileges are dropped), or NULL for standard error in the
 * foreground and syslog otherwise. -1 with errno if the file cannot be
 * opened. */
int log_open(const char *dest, bool foreground);
/* A log file (-l FILE) opened again under its name, after logrotate moved
 * it: 0, or -1 (errno set) with the old file kept. Nothing for syslog or
 * standard error. */
int log_reopen(void);

/* Log a message at a syslog priority. Any string that came from a client
 * must go through fl_text_escape (util/text.h) first. */
void log_msg(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The lines a flood of clients would make, each kind at most one a second
 * (ten at once): a line that follows lines left out says how many. */
enum log_kind {
    LOG_KIND_REFUSED,
    LOG_KIND_OFFENCE,
    LOG_KIND_SLOW,
    LOG_KIND_IDLE,
    LOG_KIND_CLUSTER,
    LOG_KINDS
};
void log_limited(enum log_kind kind, int priority, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
