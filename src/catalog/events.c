/*
 * catalog/events.c - the names of the events the engine generates, and which
 * of them carry an fl_event_info (doc/events.md).
 */
#include "config.h"

#include <fnmatch.h>
#include <string.h>

#include <ftplimit/events.h>
#include <ftplimit/json.h>
#include <ftplimit/session.h>

static const char *const event_names[] = {
    FL_EV_CREATE_HOME,
    FL_EV_EXIT,
    FL_EV_MAX_CONNECTION_RATE,
    FL_EV_MAX_INSTANCES,
    FL_EV_MODULE_LOAD,
    FL_EV_MODULE_UNLOAD,
    FL_EV_PREPARSE,
    FL_EV_POSTPARSE,
    FL_EV_RESTART,
    FL_EV_SHUTDOWN,
    FL_EV_STARTUP,
    FL_EV_ANON_REJECT_PASSWORDS,
    FL_EV_MAX_CLIENTS,
    FL_EV_MAX_CLIENTS_PER_CLASS,
    FL_EV_MAX_CLIENTS_PER_HOST,
    FL_EV_MAX_CLIENTS_PER_USER,
    FL_EV_MAX_HOSTS_PER_USER,
    FL_EV_MAX_LOGIN_ATTEMPTS,
    FL_EV_MAX_CONNECTIONS_PER_HOST,
    FL_EV_MAX_CONNECTION_RATE_PER_HOST,
    FL_EV_MAX_CLIENTS_PER_NETWORK,
    FL_EV_MAX_CLIENTS_PER_COUNTRY,
    FL_EV_TABLE_FULL,
    FL_EV_BAN,
    FL_EV_BAN_EXPIRED,
    NULL,
};

const char *const *fl_event_names(void)
{
    return event_names;
}

const fl_event_info *fl_event_info_of(const char *event, const void *event_data)
{
    if (event == NULL || event_data == NULL)
        return NULL;
    if (strncmp(event, "mod_auth.", 9) == 0 || strncmp(event, "ftplimit.", 9) == 0 ||
        strcmp(event, FL_EV_EXIT) == 0 || strcmp(event, FL_EV_MAX_INSTANCES) == 0 ||
        strcmp(event, FL_EV_MAX_CONNECTION_RATE) == 0)
        return event_data;
    return NULL;
}

bool fl_event_pattern_matches(const char *pattern)
{
    for (const char *const *n = event_names; pattern != NULL && *n != NULL; n++) {
        if (fnmatch(pattern, *n, 0) == 0)
            return true;
    }
    return false;
}
