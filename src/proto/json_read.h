/*
 * json_read.h - the daemon's EVENT lines, read without a JSON library.
 *
 * An event is a flat JSON object (fl_event_json writes it): string,
 * integer, true, false and null values, nothing nested. The reader takes
 * exactly what jansson takes of such objects, and refuses the rest (a real
 * or an array too where a later duplicate key would replace it for
 * jansson); it lets a ProFTPD session process, which only ever reads
 * events, do without jansson.
 */
#ifndef FL_JSON_READ_H
#define FL_JSON_READ_H

#include <stddef.h>

enum fl_json_type {
    FL_JSON_STRING,
    FL_JSON_INTEGER,
    FL_JSON_TRUE,
    FL_JSON_FALSE,
    FL_JSON_NULL
};

struct fl_json_member {
    const char *key; /* NUL-terminated UTF-8, in the text */
    enum fl_json_type type;
    const char *str; /* FL_JSON_STRING: NUL-terminated UTF-8, in the text */
    long long num;   /* FL_JSON_INTEGER */
};

/* Read text, a flat JSON object, decoding its keys and strings in place
 * (text is overwritten). The number of members, at most max, or -1 if text
 * is not such an object, has more members, or holds a string with U+0000. */
int fl_json_read_flat(char *text, struct fl_json_member *members, int max);

/* The last member named key (jansson keeps the last of duplicates), or NULL. */
const struct fl_json_member *fl_json_member_get(const struct fl_json_member *members,
                                                int n, const char *key);

#endif
