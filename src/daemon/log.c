/*
 * log.c - logging for ftplimitd, with client text escaped.
 */
#include "config.h"

#include "log.h"
#include "util/file.h"
#include "util/text.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int log_fd = STDERR_FILENO; /* -1: syslog */

int log_open(const char *dest, bool foreground)
{
    if (dest != NULL && strcmp(dest, "syslog") != 0) {
        int fd = fl_file_open_write(dest, true);
        if (fd < 0)
            return -1;
        log_fd = fd;
        return 0;
    }
    if (dest != NULL || !foreground) {
        openlog("ftplimitd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
        log_fd = -1;
    }
    return 0;
}

void log_msg(int priority, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (log_fd < 0) {
        syslog(priority, "%s", msg);
        return;
    }
    static const char *const names[] = {"emerg",   "alert",  "crit", "error",
                                        "warning", "notice", "info", "debug"};
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", localtime_r(&now, &tm));
    dprintf(log_fd, "%s ftplimitd %s: %s\n", when, names[priority & 7], msg);
}
