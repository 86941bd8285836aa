/*
 * geoip.h - what MaxMind DB files say about an address.
 */
#ifndef FL_GEOIP_H
#define FL_GEOIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ftplimit/geoip.h>
#include <ftplimit/session.h>

/* An open database. Policies share it: a reload that cannot open a file
 * again keeps using the handle the old policy had. */
typedef struct fl_geodb fl_geodb;

/* Open path (memory-mapped). NULL with the reason in why. */
fl_geodb *fl_geodb_open(const char *path, char *why, size_t why_size);
fl_geodb *fl_geodb_ref(fl_geodb *db);
void fl_geodb_unref(fl_geodb *db);
const char *fl_geodb_path(const fl_geodb *db);

/* What the databases say of an address, as the engine keeps it for each
 * host and classifies by (the full answer, with the AS organisation, is
 * the public fl_geo_info): two-letter codes without a NUL, zeros when
 * unknown; AS 0 when unknown. */
typedef struct fl_geo {
    char country[2];   /* ISO 3166-1 alpha-2 */
    char continent[2]; /* AF AN AS EU NA OC SA */
    uint32_t asn;      /* autonomous system number */
} fl_geo;

/* Look a up in one database (the AS organisation too when want_org). True
 * when the database has an entry for the address. */
bool fl_geodb_lookup(const fl_geodb *db, const fl_addr *a, fl_geo_info *out,
                     bool want_org);

/* Look a up in every database: the first database that has a field wins. */
void fl_geo_lookup(fl_geodb *const *dbs, size_t n, const fl_addr *a, fl_geo *out);

/* Upper-case a two-letter code in place; true if it is an assigned ISO 3166
 * country code (or XK, Kosovo, which MaxMind and DB-IP use). */
bool fl_geo_country_valid(char code[3]);
/* The same for the seven continent codes of the GeoIP2 layout. */
bool fl_geo_continent_valid(char code[3]);

#endif
