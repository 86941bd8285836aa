/*
 * log.c - logging for ftplimitd, with client text escaped.
 */
#include "config.h"

#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static bool to_stderr = true;

void log_init(bool foreground)
{
    to_stderr = foreground;
    if (!foreground)
        openlog("ftplimitd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_msg(int priority, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!to_stderr) {
        syslog(priority, "%s", msg);
        return;
    }
    static const char *const names[] = {"emerg",   "alert",  "crit", "error",
                                        "warning", "notice", "info", "debug"};
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", localtime_r(&now, &tm));
    fprintf(stderr, "%s ftplimitd %s: %s\n", when, names[priority & 7], msg);
}

const char *log_safe(const char *s, char *buf, size_t size)
{
    size_t o = 0;
    if (size == 0)
        return buf;
    for (const unsigned char *p = (const unsigned char *)(s ? s : "(null)"); *p != '\0';
         p++) {
        if (o + 5 >= size) {
            if (o + 4 <= size)
                snprintf(buf + o, size - o, "...");
            return buf;
        }
        if (*p >= 0x20 && *p < 0x7f && *p != '\\')
            buf[o++] = (char)*p;
        else
            o += (size_t)snprintf(buf + o, size - o, "\\x%02x", *p);
    }
    buf[o] = '\0';
    return buf;
}
