/*
 * ftplimit/geoip.h - what the policy's GeoIP databases say about an address.
 *
 * The engine looks each new host up once, when it connects; these functions
 * answer the same question on demand, for `ftplimit lookup` and for
 * embedders who want to show it.
 */
#ifndef FTPLIMIT_GEOIP_H
#define FTPLIMIT_GEOIP_H

#include <ftplimit/session.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fl_geo_info {
    char country[3];   /* ISO 3166-1 alpha-2, "" when unknown */
    char continent[3]; /* AF AN AS EU NA OC SA, "" when unknown */
    uint32_t asn;      /* autonomous system number, 0 when unknown */
    char asn_org[128]; /* its organisation, "" when unknown */
} fl_geo_info;

/* The GeoIPDatabase files of the policy in force, in policy order. */
FL_EXPORT size_t fl_geo_database_count(fl_engine *e);
FL_EXPORT const char *fl_geo_database_path(fl_engine *e, size_t i);

/* What database i says about a. 0 when it has an entry; -1 with ENOENT when
 * it has none, EINVAL for a bad i. */
FL_EXPORT int fl_geo_database_lookup(fl_engine *e, size_t i, const fl_addr *a,
                                     fl_geo_info *out);

/* What all databases say, merged as the engine merges them (the first
 * database with a field wins). 0 when any field is known, else -1/ENOENT. */
FL_EXPORT int fl_geo_lookup_address(fl_engine *e, const fl_addr *a, fl_geo_info *out);

/* The class a client from a (and DNS name, may be NULL) gets under the policy
 * in force, or NULL when it satisfies none. */
FL_EXPORT const char *fl_class_of(fl_engine *e, const fl_addr *a, const char *dns_name);

#ifdef __cplusplus
}
#endif

#endif
