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

/* Log a message at a syslog priority. Any string that came from a client
 * must go through fl_text_escape (util/text.h) first. */
void log_msg(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
