/*
 * catalog/limits.c - the table of catalog/limits.def.
 */
#include "config.h"

#include <string.h>

#include "catalog/limits.h"

const struct fl_limit_desc fl_limit_descs[FL_L_COUNT] = {
#define FL_LIMIT(id, directive, event, code, message, syntax, field, ban, shown,       \
                 proftpd, scope)                                                       \
    [FL_L_##id] = {directive, event, code, message, syntax, ban, shown, proftpd, scope},
#include "catalog/limits.def"
#undef FL_LIMIT
};

enum fl_limit_id fl_limit_by_directive(const char *directive)
{
    for (size_t i = 0; directive != NULL && i < FL_L_COUNT; i++) {
        if (strcmp(fl_limit_descs[i].directive, directive) == 0)
            return (enum fl_limit_id)i;
    }
    return FL_L_COUNT;
}
