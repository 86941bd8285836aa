/*
 * json_agree.c - see json_agree.h.
 */
#include "config.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_agree.h"
#include "proto/json_read.h"

#define MEMBERS_MAX 64

static char why[256];

static bool is_flat(const json_t *j)
{
    if (!json_is_object(j) || json_object_size(j) > MEMBERS_MAX)
        return false;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)j, key, v)
    {
        if (!json_is_string(v) && !json_is_integer(v) && !json_is_boolean(v) &&
            !json_is_null(v))
            return false;
    }
    return true;
}

static bool same_value(const struct fl_json_member *got, json_t *v)
{
    if (json_is_string(v))
        return got->type == FL_JSON_STRING &&
               strlen(got->str) == json_string_length(v) &&
               strcmp(got->str, json_string_value(v)) == 0;
    if (json_is_integer(v))
        return got->type == FL_JSON_INTEGER && got->num == json_integer_value(v);
    return got->type == (json_is_true(v)    ? FL_JSON_TRUE
                         : json_is_false(v) ? FL_JSON_FALSE
                                            : FL_JSON_NULL);
}

static const char *compare(const char *text, json_t *j, const struct fl_json_member *m,
                           int n)
{
    if (!is_flat(j)) {
        if (n == -1)
            return NULL;
        snprintf(why, sizeof why, "read %d members of what jansson %s", n,
                 j == NULL ? "refuses" : "takes as not flat");
        return why;
    }
    if (n < 0) {
        /* jansson keeps the last of duplicate keys, so a real or an array
         * a later duplicate replaces is gone from j; the reader refuses. */
        json_t *strict = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
        bool duplicates = strict == NULL;
        json_decref(strict);
        return duplicates ? NULL : "refused what jansson takes";
    }
    if ((size_t)n < json_object_size(j))
        return "read fewer members than jansson";
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v)
    {
        const struct fl_json_member *got = fl_json_member_get(m, n, key);
        if (got == NULL || !same_value(got, v)) {
            snprintf(why, sizeof why, "member '%.64s' differs from jansson's", key);
            return why;
        }
    }
    for (int i = 0; i < n; i++) {
        if (json_object_get(j, m[i].key) == NULL)
            return "a member jansson does not have";
    }
    return NULL;
}

const char *json_read_disagreement(const char *text)
{
    json_t *j = json_loads(text, 0, NULL);
    char *copy = strdup(text);
    if (copy == NULL)
        abort();
    struct fl_json_member m[MEMBERS_MAX];
    const char *r = compare(text, j, m, fl_json_read_flat(copy, m, MEMBERS_MAX));
    json_decref(j);
    free(copy);
    return r;
}
