/*
 * listener.c - an OnEvent listener's health: a failure of its output is
 * reported once and counted, and its recovery reported, whichever output
 * (exec.c, the syslog and jsonl writers of alerts.c) it is.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <syslog.h>

#include "modules/alerts/alerts.h"

/* Report a failure to do what (with errno's reason) once, until the
 * output works again. */
void alert_failure(struct alert_listener *l, const char *what)
{
    struct fl_alerts *a = l->owner;
    a->stats.failed[l->sink]++;
    if (l->failing)
        return;
    l->failing = true;
    fl_log(a->e, LOG_WARNING,
           "OnEvent %s: %s: %s (reported once; retried with each alert)", l->pattern,
           what, strerror(errno));
}

void alert_recovery(struct alert_listener *l, const char *what)
{
    if (!l->failing)
        return;
    l->failing = false;
    fl_log(l->owner->e, LOG_NOTICE, "OnEvent %s: %s works again", l->pattern, what);
}
