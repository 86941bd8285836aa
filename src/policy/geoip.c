/*
 * geoip.c - countries, continents and autonomous systems from MaxMind DB
 * files, through libmaxminddb.
 *
 * Databases are memory-mapped and never copied. A lookup takes the address
 * as a sockaddr, never a string to resolve, and an IPv4-mapped IPv6 address
 * is looked up as the IPv4 address it is: databases that do not alias
 * ::ffff:0:0/96 would otherwise not know it. The fields read are the GeoLite2
 * / GeoIP2 / DB-IP layout's: country.iso_code, continent.code,
 * autonomous_system_number and autonomous_system_organization.
 */
#include "config.h"

#include "policy/geoip.h"

#include <ctype.h>
#include <errno.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <ftplimit/geoip.h>

#include "util/alloc.h"
#include "context.h"

struct fl_geodb {
    MMDB_s mmdb;
    int refs;
    char path[];
};

fl_geodb *fl_geodb_open(const char *path, char *why, size_t why_size)
{
    /* libmaxminddb would block on a FIFO, or map a device. */
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        snprintf(why, why_size, "not a regular file");
        return NULL;
    }
    size_t len = strlen(path);
    fl_geodb *db = fl_calloc(1, sizeof *db + len + 1);
    if (db == NULL) {
        snprintf(why, why_size, "out of memory");
        return NULL;
    }
    memcpy(db->path, path, len + 1);
    errno = 0;
    int rc = MMDB_open(path, MMDB_MODE_MMAP, &db->mmdb);
    if (rc != MMDB_SUCCESS) {
        /* For the file itself, the system's reason says more than
         * libmaxminddb's. */
        if ((rc == MMDB_FILE_OPEN_ERROR || rc == MMDB_IO_ERROR) && errno != 0)
            snprintf(why, why_size, "%s", strerror(errno));
        else
            snprintf(why, why_size, "%s", MMDB_strerror(rc));
        fl_free(db);
        return NULL;
    }
    db->refs = 1;
    return db;
}

fl_geodb *fl_geodb_ref(fl_geodb *db)
{
    db->refs++;
    return db;
}

void fl_geodb_unref(fl_geodb *db)
{
    if (db == NULL || --db->refs > 0)
        return;
    MMDB_close(&db->mmdb);
    fl_free(db);
}

const char *fl_geodb_path(const fl_geodb *db)
{
    return db->path;
}

/* Copy a short string field at path into out; false when absent. */
static bool get_string(MMDB_entry_s *entry, char *out, size_t size,
                       const char *const *path)
{
    MMDB_entry_data_s data;
    if (MMDB_aget_value(entry, &data, path) != MMDB_SUCCESS || !data.has_data ||
        data.type != MMDB_DATA_TYPE_UTF8_STRING || data.data_size >= size)
        return false;
    memcpy(out, data.utf8_string, data.data_size);
    out[data.data_size] = '\0';
    return true;
}

static uint32_t get_asn(MMDB_entry_s *entry)
{
    static const char *const path[] = {"autonomous_system_number", NULL};
    MMDB_entry_data_s data;
    if (MMDB_aget_value(entry, &data, path) != MMDB_SUCCESS || !data.has_data)
        return 0;
    switch (data.type) {
    case MMDB_DATA_TYPE_UINT32:
        return data.uint32;
    case MMDB_DATA_TYPE_UINT16:
        return data.uint16;
    case MMDB_DATA_TYPE_UINT64:
        return data.uint64 <= UINT32_MAX ? (uint32_t)data.uint64 : 0;
    default:
        return 0;
    }
}

bool fl_geodb_lookup(const fl_geodb *db, const fl_addr *a, fl_geo_info *out,
                     bool want_org)
{
    static const char *const country_path[] = {"country", "iso_code", NULL};
    static const char *const continent_path[] = {"continent", "code", NULL};
    static const char *const org_path[] = {"autonomous_system_organization", NULL};

    memset(out, 0, sizeof *out);

    struct sockaddr_in sin;
    struct sockaddr_in6 sin6;
    const struct sockaddr *sa;
    if (fl_addr_is_v4(a)) {
        memset(&sin, 0, sizeof sin);
        sin.sin_family = AF_INET;
        memcpy(&sin.sin_addr, a->b + 12, 4);
        sa = (const struct sockaddr *)&sin;
    } else {
        memset(&sin6, 0, sizeof sin6);
        sin6.sin6_family = AF_INET6;
        memcpy(&sin6.sin6_addr, a->b, 16);
        sa = (const struct sockaddr *)&sin6;
    }

    int mmdb_error = MMDB_SUCCESS;
    MMDB_lookup_result_s r = MMDB_lookup_sockaddr(&db->mmdb, sa, &mmdb_error);
    if (mmdb_error != MMDB_SUCCESS || !r.found_entry)
        return false;

    char code[8];
    if (get_string(&r.entry, code, sizeof code, country_path) && strlen(code) == 2)
        memcpy(out->country, code, 3);
    if (get_string(&r.entry, code, sizeof code, continent_path) && strlen(code) == 2)
        memcpy(out->continent, code, 3);
    out->asn = get_asn(&r.entry);
    if (want_org)
        get_string(&r.entry, out->asn_org, sizeof out->asn_org, org_path);
    return true;
}

void fl_geo_lookup(fl_geodb *const *dbs, size_t n, const fl_addr *a, fl_geo *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < n; i++) {
        fl_geo_info one;
        if (!fl_geodb_lookup(dbs[i], a, &one, false))
            continue;
        if (out->country[0] == '\0')
            memcpy(out->country, one.country, 2);
        if (out->continent[0] == '\0')
            memcpy(out->continent, one.continent, 2);
        if (out->asn == 0)
            out->asn = one.asn;
    }
}

/* ISO 3166-1 alpha-2, every assigned code, in pairs. */
static const char country_codes[] = "ADAEAFAGAIALAMAOAQARASATAUAWAXAZ"
                                    "BABBBDBEBFBGBHBIBJBLBMBNBOBQBRBS"
                                    "BTBVBWBYBZCACCCDCFCGCHCICKCLCMCN"
                                    "COCRCUCVCWCXCYCZDEDJDKDMDODZECEE"
                                    "EGEHERESETFIFJFKFMFOFRGAGBGDGEGF"
                                    "GGGHGIGLGMGNGPGQGRGSGTGUGWGYHKHM"
                                    "HNHRHTHUIDIEILIMINIOIQIRISITJEJM"
                                    "JOJPKEKGKHKIKMKNKPKRKWKYKZLALBLC"
                                    "LILKLRLSLTLULVLYMAMCMDMEMFMGMHMK"
                                    "MLMMMNMOMPMQMRMSMTMUMVMWMXMYMZNA"
                                    "NCNENFNGNINLNONPNRNUNZOMPAPEPFPG"
                                    "PHPKPLPMPNPRPSPTPWPYQARERORSRURW"
                                    "SASBSCSDSESGSHSISJSKSLSMSNSOSRSS"
                                    "STSVSXSYSZTCTDTFTGTHTJTKTLTMTNTO"
                                    "TRTTTVTWTZUAUGUMUSUYUZVAVCVEVGVI"
                                    "VNVUWFWSYEYTZAZMZW"
                                    "XK";

static bool code_in(const char *list, char code[3])
{
    if (strlen(code) != 2)
        return false;
    code[0] = (char)toupper((unsigned char)code[0]);
    code[1] = (char)toupper((unsigned char)code[1]);
    for (const char *p = list; *p != '\0'; p += 2) {
        if (p[0] == code[0] && p[1] == code[1])
            return true;
    }
    return false;
}

bool fl_geo_country_valid(char code[3])
{
    return code_in(country_codes, code);
}

bool fl_geo_continent_valid(char code[3])
{
    return code_in("AFANASEUNAOCSA", code);
}

/* --- the engine's view (ftplimit/geoip.h) ---------------------------------- */

size_t fl_geo_database_count(fl_engine *e)
{
    return e != NULL ? e->policy->ngeodbs : 0;
}

const char *fl_geo_database_path(fl_engine *e, size_t i)
{
    return e != NULL && i < e->policy->ngeodbs ? fl_geodb_path(e->policy->geodbs[i])
                                               : NULL;
}

int fl_geo_database_lookup(fl_engine *e, size_t i, const fl_addr *a, fl_geo_info *out)
{
    if (e == NULL || a == NULL || out == NULL || i >= e->policy->ngeodbs) {
        errno = EINVAL;
        return -1;
    }
    if (!fl_geodb_lookup(e->policy->geodbs[i], a, out, true)) {
        errno = ENOENT;
        return -1;
    }
    return 0;
}

int fl_geo_lookup_address(fl_engine *e, const fl_addr *a, fl_geo_info *out)
{
    if (e == NULL || a == NULL || out == NULL) {
        errno = EINVAL;
        return -1;
    }
    memset(out, 0, sizeof *out);
    const fl_policy *p = e->policy;
    fl_geo g;
    fl_geo_lookup(p->geodbs, p->ngeodbs, a, &g);
    memcpy(out->country, g.country, 2);
    memcpy(out->continent, g.continent, 2);
    out->asn = g.asn;
    /* The organisation of the database that gave the AS number. */
    for (size_t i = 0; out->asn != 0 && i < p->ngeodbs; i++) {
        fl_geo_info one;
        if (fl_geodb_lookup(p->geodbs[i], a, &one, true) && one.asn == out->asn) {
            memcpy(out->asn_org, one.asn_org, sizeof out->asn_org);
            break;
        }
    }
    if (out->country[0] == '\0' && out->continent[0] == '\0' && out->asn == 0) {
        errno = ENOENT;
        return -1;
    }
    return 0;
}

const char *fl_class_of(fl_engine *e, const fl_addr *a, const char *dns_name)
{
    if (e == NULL || a == NULL)
        return NULL;
    fl_geo g;
    fl_geo_lookup(e->policy->geodbs, e->policy->ngeodbs, a, &g);
    const fl_class_def *c = fl_classify(e->policy, a, dns_name, &g);
    return c != NULL ? c->name : NULL;
}
