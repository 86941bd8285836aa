/*
 * kernel/json.c - events and attacker-supplied strings as valid JSON.
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

#include "util/alloc.h"
#include "util/utf8.h"

json_t *fl_json_string(const char *s)
{
    if (s == NULL)
        return json_null();
    size_t len = strlen(s);
    const unsigned char *in = (const unsigned char *)s;

    size_t i = 0;
    while (i < len) {
        size_t n = fl_utf8_valid_len(in + i);
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
        size_t n = fl_utf8_valid_len(in + i);
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

/* --- an event's fields ------------------------------------------------------ */

/* One field of an event, after "event": a string, a number, or true. */
struct event_field {
    const char *key;
    enum { FIELD_STRING, FIELD_NUMBER, FIELD_TRUE } kind;
    const char *str;
    long long num;
};

#define EVENT_FIELDS_MAX 16

/* The fields an event shows, in the order every JSON form of it has them:
 * the one list fl_json_add_event and fl_event_json both write. */
static size_t event_fields(const char *event, const void *event_data,
                           struct event_field f[EVENT_FIELDS_MAX])
{
    size_t n = 0;
#define FIELD_STR(k, v)                                                                \
    do {                                                                               \
        if ((v) != NULL)                                                               \
            f[n++] = (struct event_field){(k), FIELD_STRING, (v), 0};                  \
    } while (0)
#define FIELD_NUM(k, v) (f[n++] = (struct event_field){(k), FIELD_NUMBER, NULL, (v)})

    if (event_data == NULL)
        return 0;
    if (strcmp(event, FL_EV_MODULE_LOAD) == 0 ||
        strcmp(event, FL_EV_MODULE_UNLOAD) == 0) {
        FIELD_STR("module", (const char *)event_data);
        return n;
    }
    if (strcmp(event, FL_EV_CREATE_HOME) == 0) {
        FIELD_STR("user", (const char *)event_data);
        return n;
    }
    const fl_event_info *info = fl_event_info_of(event, event_data);
    if (info == NULL)
        return 0;
    FIELD_STR("sid", info->sid);
    FIELD_STR("address", info->address);
    FIELD_STR("user", info->user);
    FIELD_STR("class", info->class_name);
    FIELD_STR("server", info->server);
    FIELD_STR("limit", info->limit);
    if (info->max >= 0)
        FIELD_NUM("max", info->max);
    if (info->count >= 0)
        FIELD_NUM("count", info->count);
    if (info->dry_run)
        f[n++] = (struct event_field){"dry_run", FIELD_TRUE, NULL, 0};
    FIELD_STR("country", info->country);
    if (info->asn != 0)
        FIELD_NUM("asn", (long long)info->asn);
    FIELD_STR("ban", info->ban);
    FIELD_STR("target", info->target);
    if (info->duration > 0)
        FIELD_NUM("duration", info->duration);
    return n;
#undef FIELD_STR
#undef FIELD_NUM
}

int fl_json_add_event(json_t *obj, const char *event, const void *event_data)
{
    int rc = json_object_set_new(obj, "event", fl_json_string(event));
    struct event_field f[EVENT_FIELDS_MAX];
    size_t n = rc < 0 ? 0 : event_fields(event, event_data, f);
    for (size_t i = 0; i < n; i++) {
        json_t *v = f[i].kind == FIELD_STRING   ? fl_json_string(f[i].str)
                    : f[i].kind == FIELD_NUMBER ? json_integer(f[i].num)
                                                : json_true();
        rc |= json_object_set_new(obj, f[i].key, v);
    }
    return rc < 0 ? -1 : 0;
}

/* --- the same as text, without jansson ---------------------------------------- */

/* Text written snprintf's way: what fits goes in, the length counts all. */
struct text {
    char *buf;
    size_t size, len;
};

static void put(struct text *t, const char *s, size_t n)
{
    if (t->len < t->size) {
        size_t room = t->size - t->len;
        memcpy(t->buf + t->len, s, n < room ? n : room);
    }
    t->len += n;
}

/* s as a JSON string, byte for byte what jansson prints for fl_json_string(s)
 * under JSON_COMPACT: '"', '\\' and control characters escaped, other
 * characters as they are, and a byte outside valid UTF-8 as the character of
 * its value. */
static void put_json_string(struct text *t, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *in = (const unsigned char *)s;
    put(t, "\"", 1);
    while (*in != '\0') {
        const unsigned char *run = in;
        size_t n;
        while (*in >= 0x20 && *in != '"' && *in != '\\' &&
               (n = fl_utf8_valid_len(in)) > 0)
            in += n;
        put(t, (const char *)run, (size_t)(in - run));
        unsigned char c = *in;
        if (c == '\0')
            break;
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t len = 2;
        switch (c) {
        case '"':
        case '\\':
            esc[1] = (char)c;
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            if (c < 0x20) {
                memcpy(esc + 1, "u00", 3);
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 0xf];
                len = 6;
            } else { /* not UTF-8: the character U+0080..U+00FF */
                esc[0] = (char)(0xc0 | (c >> 6));
                esc[1] = (char)(0x80 | (c & 0x3f));
            }
        }
        put(t, esc, len);
        in++;
    }
    put(t, "\"", 1);
}

size_t fl_json_quote(char *buf, size_t size, const char *s)
{
    struct text t = {buf, size, 0};
    if (s == NULL)
        put(&t, "null", 4);
    else
        put_json_string(&t, s);
    if (size > 0)
        buf[t.len < size ? t.len : size - 1] = '\0';
    return t.len;
}

static void put_number(struct text *t, long long v)
{
    char digits[24];
    int n = snprintf(digits, sizeof digits, "%lld", v);
    put(t, digits, (size_t)n);
}

size_t fl_event_json(char *buf, size_t size, const char *event, const void *event_data)
{
    struct text t = {buf, size, 0};
    struct event_field f[EVENT_FIELDS_MAX];
    size_t n = event_fields(event, event_data, f);
    put(&t, "{\"event\":", 9);
    put_json_string(&t, event);
    for (size_t i = 0; i < n; i++) {
        put(&t, ",", 1);
        put_json_string(&t, f[i].key);
        put(&t, ":", 1);
        if (f[i].kind == FIELD_STRING)
            put_json_string(&t, f[i].str);
        else if (f[i].kind == FIELD_NUMBER)
            put_number(&t, f[i].num);
        else
            put(&t, "true", 4);
    }
    put(&t, "}", 1);
    if (size > 0)
        buf[t.len < size ? t.len : size - 1] = '\0';
    return t.len;
}
