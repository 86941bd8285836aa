/*
 * catalog/bans.c - the kinds of ban and their names, as the policy, the
 * protocol (BAN ADD KIND ...) and `ftplimit ban` write them.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <ftplimit/bans.h>

static const char *const kind_names[] = {"host", "user", "class", "user@host",
                                         "network"};
#define NKINDS (sizeof kind_names / sizeof kind_names[0])

const char *fl_ban_kind_name(fl_ban_kind kind)
{
    return (unsigned)kind < NKINDS ? kind_names[kind] : "?";
}

int fl_ban_kind_parse(const char *name, fl_ban_kind *out)
{
    for (unsigned i = 0; name != NULL && i < NKINDS; i++) {
        if (strcmp(name, kind_names[i]) == 0) {
            *out = (fl_ban_kind)i;
            return 0;
        }
    }
    errno = EINVAL;
    return -1;
}
