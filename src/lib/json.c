/*
 * json.c - events and attacker-supplied strings as valid JSON.
 *
 * jansson refuses strings that are not UTF-8, and user names are whatever
 * bytes a client sent. Rather than drop or reject them, each byte outside
 * valid UTF-8 is kept as the code point of its value, so the JSON is always
 * valid and still shows what was sent.
 */
#include "config.h"

#include <string.h>

#include <ftplimit/events.h>
#include <ftplimit/json.h>
#include <ftplimit/session.h>

#include "alloc.h"

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

/* Length of the valid UTF-8 sequence at s, or 0. */
static size_t utf8_valid_len(const unsigned char *s)
{
    unsigned char c = s[0];
    size_t n;
    unsigned cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return n;
}

json_t *fl_json_string(const char *s)
{
    if (s == NULL)
        return json_null();
    size_t len = strlen(s);
    const unsigned char *in = (const unsigned char *)s;

    size_t i = 0;
    while (i < len) {
        size_t n = utf8_valid_len(in + i);
        if (n == 0)
            break;
        i += n;
    }
    if (i == len)
        return json_stringn(s, len);

    /* Each invalid byte takes at most two bytes as UTF-8. */
    char *fixed = fl_malloc(2 * len + 1);
    if (fixed == NULL)
        return NULL;
    size_t o = 0;
    for (i = 0; i < len;) {
        size_t n = utf8_valid_len(in + i);
        if (n > 0) {
            memcpy(fixed + o, in + i, n);
            o += n;
            i += n;
        } else {
            fixed[o++] = (char)(0xc0 | (in[i] >> 6));
            fixed[o++] = (char)(0x80 | (in[i] & 0x3f));
            i++;
        }
    }
    json_t *j = json_stringn(fixed, o);
    fl_free(fixed);
    return j;
}

static int set_string(json_t *obj, const char *key, const char *value)
{
    if (value == NULL)
        return 0;
    return json_object_set_new(obj, key, fl_json_string(value));
}

int fl_json_add_event(json_t *obj, const char *event, const void *event_data)
{
    int rc = json_object_set_new(obj, "event", fl_json_string(event));
    if (event_data == NULL || rc < 0)
        return rc;

    if (strcmp(event, FL_EV_MODULE_LOAD) == 0 ||
        strcmp(event, FL_EV_MODULE_UNLOAD) == 0)
        return set_string(obj, "module", event_data);
    if (strcmp(event, FL_EV_CREATE_HOME) == 0)
        return set_string(obj, "user", event_data);

    const fl_event_info *info = fl_event_info_of(event, event_data);
    if (info == NULL)
        return 0;
    rc |= set_string(obj, "sid", info->sid);
    rc |= set_string(obj, "address", info->address);
    rc |= set_string(obj, "user", info->user);
    rc |= set_string(obj, "class", info->class_name);
    rc |= set_string(obj, "limit", info->limit);
    if (info->max >= 0)
        rc |= json_object_set_new(obj, "max", json_integer(info->max));
    if (info->count >= 0)
        rc |= json_object_set_new(obj, "count", json_integer(info->count));
    if (info->dry_run)
        rc |= json_object_set_new(obj, "dry_run", json_true());
    rc |= set_string(obj, "country", info->country);
    if (info->asn != 0)
        rc |= json_object_set_new(obj, "asn", json_integer(info->asn));
    rc |= set_string(obj, "ban", info->ban);
    rc |= set_string(obj, "target", info->target);
    if (info->duration > 0)
        rc |= json_object_set_new(obj, "duration", json_integer(info->duration));
    return rc < 0 ? -1 : 0;
}
