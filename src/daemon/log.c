/*
 * log.c - logging for ftplimitd, with client text escaped.
 */
#include "config.h"

#include "log.h"
#include "util/file.h"
#include "util/text.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int log_fd = STDERR_FILENO; /* -1: syslog */
static const char *log_path;       /* -l FILE, or NULL */

int log_open(const char *dest, bool foreground)
{
    if (dest != NULL && strcmp(dest, "syslog") != 0) {
        int fd = fl_file_open_write(dest, true);
        if (fd < 0)
            return -1;
        log_fd = fd;
        log_path = dest;
        return 0;
    }
    if (dest != NULL || !foreground) {
        if (!fl_syslog_reachable()) {
            /* syslog(3) would drop every line without a word. */
            if (foreground) {
                fprintf(stderr, "ftplimitd: no syslog daemon listens on /dev/log: "
                                "logging to standard error\n");
                return 0;
            }
            fprintf(stderr, "ftplimitd: no syslog daemon listens on /dev/log: the log "
                            "is lost until one does (-l FILE writes it to a file)\n");
        }
        openlog("ftplimitd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
        log_fd = -1;
    }
    return 0;
}

int log_reopen(void)
{
    if (log_path == NULL)
        return 0;
    int fd = fl_file_open_write(log_path, true);
    if (fd < 0)
        return -1;
    /* In place: a line being written elsewhere never meets a closed fd. */
    if (dup3(fd, log_fd, O_CLOEXEC) < 0) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    close(fd);
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

/* A token bucket per kind: LIMIT_BURST lines at once, one more a second. */
#define LIMIT_BURST 10

static struct {
    double tokens;
    time_t at;
    unsigned long skipped;
} buckets[LOG_KINDS];

void log_limited(enum log_kind kind, int priority, const char *fmt, ...)
{
    time_t now = time(NULL);
    if (buckets[kind].at == 0)
        buckets[kind].tokens = LIMIT_BURST;
    else
        buckets[kind].tokens += (double)(now - buckets[kind].at);
    if (buckets[kind].tokens > LIMIT_BURST)
        buckets[kind].tokens = LIMIT_BURST;
    buckets[kind].at = now;
    if (buckets[kind].tokens < 1) {
        buckets[kind].skipped++;
        return;
    }
    buckets[kind].tokens -= 1;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (buckets[kind].skipped > 0)
        log_msg(priority, "%s (and %lu more like it not logged)", msg,
                buckets[kind].skipped);
    else
        log_msg(priority, "%s", msg);
    buckets[kind].skipped = 0;
}
