/*
 * decide/farm.h - the claims a farm checks and counts (ftplimit/farm.h),
 * worked out by session.c's decisions.
 */
#ifndef FL_DECIDE_FARM_H
#define FL_DECIDE_FARM_H

#include <ftplimit/farm.h>

#include "context.h"
#include "decide/tables.h"

struct fl_farm_claims {
    size_t n;
    uint32_t policy_gen;
    fl_farm_claim v[FL_FARM_CLAIMS_MAX];
};

/* Forget the last decision's claims (each decision starts with this). */
static inline void fl_farm_reset(fl_engine *e)
{
    if (e->farm != NULL)
        e->farm->n = 0;
}

/* The claims of a CONNECT that s was allowed by, at server c. */
void fl_farm_note_connect(fl_engine *e, const fl_server_counts *c, const fl_session *s);

/* What a login counts in, as fl_pass() worked it out. */
struct fl_farm_login {
    const fl_limits *lim; /* the limits it was decided by */
    const fl_limit_cfg *class_limit;
    bool in_block;    /* in an <Anonymous> block */
    const char *user; /* whom it counts under */
    size_t user_len;
    const uint8_t *net_key; /* FL_NET_KEY_LEN bytes */
    const char *country;    /* "" when unknown */
};
void fl_farm_note_login(fl_engine *e, const fl_session *s,
                        const struct fl_farm_login *l);

/* The counts of a resumed session (fl_resume): connected at c, and logged
 * in as l says (NULL: not logged in); only counted, never checked. */
void fl_farm_note_resume(fl_engine *e, const fl_server_counts *c, const fl_session *s,
                         const struct fl_farm_login *l);

#endif
