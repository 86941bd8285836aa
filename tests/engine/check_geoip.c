/*
 * check_geoip.c - classes and limits by country, continent and AS, from
 * MaxMind DB files the tests write (tests/mkmmdb.pl).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engineutil.h"

static tenv T;
static fl_decision D;

/* Country data for IPv4 and IPv6 networks, and an ASN database. */
static const char country_spec[] = "192.0.2.0/24 country=DE continent=EU\n"
                                   "198.51.100.0/24 country=US continent=NA\n"
                                   "203.0.113.0/25 country=JP continent=AS\n"
                                   "2001:db8:de::/48 country=DE continent=EU\n"
                                   "2001:db8:b0::/48 country=BR continent=SA\n";
static const char asn_spec[] = "192.0.2.0/24 asn=64500 org=Example-DE\n"
                               "198.51.100.0/24 asn=64501 org=Example-US\n"
                               "2001:db8:de::/48 asn=64500 org=Example-DE\n";

/* Write dir/name from spec with tests/mkmmdb.pl; returns the path. */
static char *make_mmdb(const char *dir, const char *name, const char *spec,
                       const char *opt)
{
    const char *top = getenv("top_srcdir");
    char *path = malloc(strlen(dir) + strlen(name) + 2);
    sprintf(path, "%s/%s", dir, name);
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "perl '%s/tests/mkmmdb.pl' '%s' %s", top ? top : "..",
             path, opt ? opt : "");
    FILE *f = popen(cmd, "w");
    ck_assert_ptr_nonnull(f);
    fputs(spec, f);
    ck_assert_int_eq(pclose(f), 0);
    return path;
}

static void write_both_dbs(const char *dir)
{
    free(make_mmdb(dir, "country.mmdb", country_spec, NULL));
    free(make_mmdb(dir, "asn.mmdb", asn_spec, NULL));
}

/* A policy using country.mmdb and asn.mmdb, written beside it. */
static void start_with_dbs(const char *policy_rest)
{
    char policy[4096];
    snprintf(policy, sizeof policy,
             "GeoIPDatabase country.mmdb\nGeoIPDatabase asn.mmdb\n%s", policy_rest);
    tenv_start_with(&T, policy, write_both_dbs);
}

static void teardown(void)
{
    tenv_stop(&T);
}

static const char *class_of(const char *addr)
{
    static char buf[64];
    static int n;
    char sid[16];
    snprintf(sid, sizeof sid, "g%d", ++n);
    ck_assert_int_eq(t_connect(&T, sid, addr, NULL), FL_ALLOW);
    const char *c = fl_session_class(fl_session_find(T.e, sid));
    snprintf(buf, sizeof buf, "%s", c ? c : "-");
    t_close(&T, sid);
    return buf;
}

START_TEST(test_a_class_can_be_given_by_country)
{
    start_with_dbs("<Class de>\nFromCountry de\n</Class>\n");
    ck_assert_str_eq(class_of("192.0.2.10"), "de");
    ck_assert_str_eq(class_of("2001:db8:de::5"), "de");
    ck_assert_str_eq(class_of("198.51.100.1"), "-");
}
END_TEST

START_TEST(test_a_class_can_be_given_by_continent)
{
    start_with_dbs("<Class americas>\nFromContinent NA SA\n</Class>\n");
    ck_assert_str_eq(class_of("198.51.100.1"), "americas");
    ck_assert_str_eq(class_of("2001:db8:b0::1"), "americas");
    ck_assert_str_eq(class_of("192.0.2.1"), "-");
}
END_TEST

START_TEST(test_a_class_can_be_given_by_autonomous_system)
{
    start_with_dbs("<Class as64500>\nFromASN AS64500\n</Class>\n<Class us>\nFromASN "
                   "64501\n</Class>\n");
    ck_assert_str_eq(class_of("192.0.2.77"), "as64500");
    ck_assert_str_eq(class_of("2001:db8:de::1"), "as64500");
    ck_assert_str_eq(class_of("198.51.100.9"), "us");
}
END_TEST

START_TEST(test_geographic_items_can_be_negated)
{
    start_with_dbs("<Class not-eu>\nFromContinent !EU\n</Class>\n");
    ck_assert_str_eq(class_of("198.51.100.1"), "not-eu");
    ck_assert_str_eq(class_of("192.0.2.1"), "-");
    /* An address the databases do not know matches no geographic item,
     * negated or not. */
    ck_assert_str_eq(class_of("10.9.9.9"), "-");
}
END_TEST

START_TEST(test_satisfy_all_can_mix_a_cidr_and_a_country)
{
    start_with_dbs("<Class de-office>\nFrom 192.0.2.0/25\nFromCountry DE\nSatisfy "
                   "all\n</Class>\n");
    ck_assert_str_eq(class_of("192.0.2.5"), "de-office");
    ck_assert_str_eq(class_of("192.0.2.200"), "-");    /* DE, outside the CIDR */
    ck_assert_str_eq(class_of("2001:db8:de::1"), "-"); /* DE, not in the CIDR */
}
END_TEST

START_TEST(test_an_ipv4_mapped_address_is_looked_up_as_ipv4)
{
    /* The test databases do not alias ::ffff:0:0/96: only normalising the
     * address first finds it. */
    start_with_dbs("<Class de>\nFromCountry DE\n</Class>\nMaxClientsPerCountry 1\n");
    ck_assert_str_eq(class_of("::ffff:192.0.2.10"), "de");
    ck_assert_int_eq(t_login(&T, "a", "192.0.2.10", "u", NULL), FL_ALLOW);
    ck_assert_int_eq(t_login(&T, "b", "::ffff:192.0.2.11", "v", &D), FL_DISCONNECT);
    ck_assert_str_eq(D.limit, "MaxClientsPerCountry");
}
END_TEST

START_TEST(test_an_address_outside_the_database_is_never_refused_for_it)
{
    start_with_dbs("<Class de>\nFromCountry DE\n</Class>\nMaxClientsPerCountry 1\n");
    for (int i = 0; i < 5; i++) {
        char sid[8];
        snprintf(sid, sizeof sid, "o%d", i);
        ck_assert_int_eq(t_login(&T, sid, "10.1.2.3", sid, NULL), FL_ALLOW);
    }
    ck_assert_ptr_null(fl_session_class(fl_session_find(T.e, "o0")));
}
END_TEST

START_TEST(test_max_clients_per_country_limits_authenticated_sessions_per_country)
{
    start_with_dbs("MaxClientsPerCountry 2 \"only %m from %C\"\n");
    ck_assert_int_eq(t_login(&T, "a", "192.0.2.1", "u1", NULL), FL_ALLOW);
    ck_assert_int_eq(t_connect(&T, "idle", "192.0.2.2", NULL), FL_ALLOW);
    ck_assert_int_eq(t_login(&T, "b", "2001:db8:de::9", "u2", NULL), FL_ALLOW);
    ck_assert_int_eq(t_login(&T, "c", "192.0.2.3", "u3", &D), FL_DISCONNECT);
    ck_assert_int_eq(D.code, 530);
    ck_assert_str_eq(D.message, "only 2 from DE");
    ck_assert_ptr_nonnull(strstr(T.events.text, "ftplimit.max-clients-per-country(c)"));
    ck_assert_str_eq(T.last.country, "DE");
    ck_assert_uint_eq(T.last.asn, 64500);
    /* Another country is not limited by DE's count. */
    ck_assert_int_eq(t_login(&T, "d", "198.51.100.3", "u4", NULL), FL_ALLOW);
    t_close(&T, "a");
    ck_assert_int_eq(t_login(&T, "c", "192.0.2.3", "u3", NULL), FL_ALLOW);
}
END_TEST

/* A login undone (fl_logout) leaves no trace of its country: logged in
 * again after the databases went, the session counts in no country. */
START_TEST(test_a_logged_out_session_counts_in_the_country_of_its_next_login)
{
    start_with_dbs("MaxClientsPerCountry 1\n");
    ck_assert_int_eq(t_login(&T, "a", "192.0.2.1", "u1", NULL), FL_ALLOW);
    ck_assert_int_eq(fl_logout(T.e, fl_session_find(T.e, "a")), 0);
    ck_assert_int_eq(t_login(&T, "b", "192.0.2.2", "u2", NULL), FL_ALLOW);
    t_close(&T, "b");
    ck_assert_int_eq(tenv_reload(&T, "MaxClients 10\n"), 0);
    /* A new connection from a's host looks the host up again: no country. */
    ck_assert_int_eq(t_connect(&T, "c", "192.0.2.1", NULL), FL_ALLOW);
    ck_assert_int_eq(t_pass(&T, "a", true, NULL, NULL), FL_ALLOW);
    t_close(&T, "a");
    t_close(&T, "c");
    fl_totals tot;
    fl_engine_totals(T.e, &tot);
    ck_assert_int_eq(tot.sessions + tot.clients, 0);
}
END_TEST

START_TEST(test_max_clients_per_country_is_checked_after_the_network_limit)
{
    start_with_dbs(
        "MaxClientsPerNetwork 1\nMaxClientsPerCountry 1\nMaxClientsPerUser 1\n");
    t_login(&T, "a", "192.0.2.1", "u", NULL);
    ck_assert_int_eq(t_login(&T, "b", "192.0.2.2", "u", &D), FL_DISCONNECT);
    ck_assert_str_eq(D.limit, "MaxClientsPerNetwork");
    ck_assert_int_eq(t_login(&T, "c", "2001:db8:de::1", "u", &D), FL_DISCONNECT);
    ck_assert_str_eq(D.limit, "MaxClientsPerCountry");
}
END_TEST

START_TEST(test_events_carry_the_country_and_the_asn)
{
    start_with_dbs("MaxClientsPerHost 1\n");
    t_login(&T, "a", "198.51.100.7", "u", NULL);
    t_login(&T, "b", "198.51.100.7", "v", NULL);
    ck_assert_str_eq(T.last.country, "US");
    ck_assert_uint_eq(T.last.asn, 64501);
}
END_TEST

START_TEST(test_reload_picks_up_a_database_replaced_by_a_rename)
{
    start_with_dbs("<Class de>\nFromCountry DE\n</Class>\n");
    t_connect(&T, "live", "192.0.2.10", NULL);
    ck_assert_str_eq(class_of("192.0.2.10"), "de");
    /* The network moves to France in a new file, renamed into place. */
    char *fresh =
        make_mmdb(T.dir, "country.new", "192.0.2.0/24 country=FR continent=EU\n", NULL);
    char target[4096];
    snprintf(target, sizeof target, "%s/country.mmdb", T.dir);
    ck_assert_int_eq(rename(fresh, target), 0);
    free(fresh);
    /* Until the reload the engine uses the file it opened. */
    ck_assert_str_eq(class_of("192.0.2.10"), "de");
    ck_assert_int_eq(
        tenv_reload(&T, "GeoIPDatabase country.mmdb\n<Class fr>\nFromCountry FR\n"
                        "</Class>\n<Class de>\nFromCountry DE\n</Class>\n"),
        0);
    /* The cached answer for the live host is forgotten too. */
    ck_assert_str_eq(class_of("192.0.2.10"), "fr");
    ck_assert_str_eq(fl_session_class(fl_session_find(T.e, "live")), "de");
}
END_TEST

START_TEST(test_a_database_that_fails_to_open_on_reload_keeps_the_old_one)
{
    start_with_dbs("<Class de>\nFromCountry DE\n</Class>\n");
    /* A broken file renamed into place (replacing a mapped database in place
     * would change the mapping under the engine: always rename). */
    char *broken = write_file(T.dir, "country.new", "this is not a MaxMind database");
    char target[4096];
    snprintf(target, sizeof target, "%s/country.mmdb", T.dir);
    ck_assert_int_eq(rename(broken, target), 0);
    free(broken);
    ck_assert_int_eq(
        tenv_reload(&T, "GeoIPDatabase country.mmdb\n<Class de>\nFromCountry DE\n"
                        "</Class>\n"),
        0);
    ck_assert_ptr_nonnull(strstr(T.errors.text,
                                 "policy.conf:1: notice: GeoIPDatabase: cannot "
                                 "open 'country.mmdb' again"));
    ck_assert_str_eq(class_of("192.0.2.10"), "de");
}
END_TEST

/* --- errors `ftplimit check` reports ------------------------------------------ */

static trail errs;

static void collect(void *arg, const char *message)
{
    (void)arg;
    trail_add(&errs, message);
}

/* Load policy_text from dir/p.conf in a fresh engine; 0 if it loaded. */
static int load_in(const char *dir, const char *policy_text)
{
    trail_reset(&errs);
    char *path = write_file(dir, "p.conf", policy_text);
    fl_engine *e = fl_engine_new(NULL);
    int rc = fl_engine_load(e, path, collect, NULL);
    fl_engine_free(e);
    free(path);
    return rc;
}

#define ASSERT_LOAD_ERROR(dir_, policy_, expected_)                                    \
    do {                                                                               \
        ck_assert_int_eq(load_in(dir_, policy_), -1);                                  \
        ck_assert_msg(strstr(errs.text, expected_) != NULL, "expected '%s' in '%s'",   \
                      expected_, errs.text);                                           \
    } while (0)

START_TEST(test_missing_unreadable_and_corrupt_databases_are_errors_with_file_and_line)
{
    char *dir = tmpdir_new();
    ASSERT_LOAD_ERROR(
        dir, "MaxClients 3\nGeoIPDatabase missing.mmdb\n",
        "p.conf:2: GeoIPDatabase: cannot open 'missing.mmdb': No such file or "
        "directory");
    free(write_file(dir, "corrupt.mmdb", "\x01\x02 not a database at all"));
    ASSERT_LOAD_ERROR(dir, "GeoIPDatabase corrupt.mmdb\n",
                      "p.conf:1: GeoIPDatabase: cannot open 'corrupt.mmdb': ");
    if (geteuid() != 0) { /* root reads anything */
        char *locked = make_mmdb(dir, "locked.mmdb", country_spec, NULL);
        chmod(locked, 0);
        ASSERT_LOAD_ERROR(dir, "GeoIPDatabase locked.mmdb\n", "Permission denied");
        free(locked);
    }
    /* A FIFO would block libmaxminddb; a device is no database either. */
    char fifo[4096];
    snprintf(fifo, sizeof fifo, "%s/fifo.mmdb", dir);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    ASSERT_LOAD_ERROR(
        dir, "GeoIPDatabase fifo.mmdb\n",
        "p.conf:1: GeoIPDatabase: cannot open 'fifo.mmdb': not a regular file");
    ASSERT_LOAD_ERROR(dir, "GeoIPDatabase /dev/zero\n", "not a regular file");
    free(make_mmdb(dir, "ok.mmdb", country_spec, NULL));
    ASSERT_LOAD_ERROR(dir, "GeoIPDatabase ok.mmdb\nGeoIPDatabase ok.mmdb\n",
                      "p.conf:2: GeoIPDatabase: 'ok.mmdb' is already listed");
    ck_assert_int_eq(load_in(dir, "GeoIPDatabase ok.mmdb\n"), 0);
    tmpdir_free(dir);
    tenv_start(&T, NULL);
}
END_TEST

START_TEST(test_unknown_codes_and_geography_without_a_database_are_errors)
{
    char *dir = tmpdir_new();
    free(make_mmdb(dir, "c.mmdb", country_spec, NULL));
    ASSERT_LOAD_ERROR(dir,
                      "GeoIPDatabase c.mmdb\n<Class x>\nFromCountry DE XX\n</Class>\n",
                      "p.conf:3: FromCountry: unknown country code 'XX'");
    ASSERT_LOAD_ERROR(dir,
                      "GeoIPDatabase c.mmdb\n<Class x>\nFromCountry GER\n</Class>\n",
                      "unknown country code 'GER'");
    ASSERT_LOAD_ERROR(
        dir, "GeoIPDatabase c.mmdb\n<Class x>\nFromContinent EU ZZ\n</Class>\n",
        "p.conf:3: FromContinent: unknown continent code 'ZZ'");
    ASSERT_LOAD_ERROR(dir, "GeoIPDatabase c.mmdb\n<Class x>\nFromASN AS0\n</Class>\n",
                      "p.conf:3: FromASN: expected an AS number");
    ASSERT_LOAD_ERROR(dir,
                      "GeoIPDatabase c.mmdb\n<Class x>\nFromASN 4294967296\n</Class>\n",
                      "FromASN: expected an AS number");
    ASSERT_LOAD_ERROR(
        dir, "<Class eu>\nFrom 10.0.0.0/8\nFromCountry DE\n</Class>\n",
        "p.conf:3: <Class eu> uses geographic items but no GeoIPDatabase is "
        "configured");
    ASSERT_LOAD_ERROR(dir, "MaxClientsPerCountry 5\n",
                      "p.conf:1: MaxClientsPerCountry needs a GeoIPDatabase");
    ASSERT_LOAD_ERROR(dir, "FromCountry DE\n",
                      "FromCountry is only allowed inside <Class>");
    /* The database may come after the class that needs it. */
    ck_assert_int_eq(
        load_in(dir, "<Class x>\nFromCountry de\n</Class>\nGeoIPDatabase c.mmdb\n"), 0);
    tmpdir_free(dir);
    tenv_start(&T, NULL);
}
END_TEST

START_TEST(test_the_lookup_api_reports_each_database_and_the_merged_answer)
{
    start_with_dbs("<Class de>\nFromCountry DE\n</Class>\n");
    fl_addr a;
    fl_geo_info g;
    fl_addr_parse("192.0.2.1", &a);
    ck_assert_uint_eq(fl_geo_database_count(T.e), 2);
    ck_assert_ptr_nonnull(strstr(fl_geo_database_path(T.e, 1), "asn.mmdb"));
    ck_assert_int_eq(fl_geo_database_lookup(T.e, 0, &a, &g), 0);
    ck_assert_str_eq(g.country, "DE");
    ck_assert_uint_eq(g.asn, 0);
    ck_assert_int_eq(fl_geo_database_lookup(T.e, 1, &a, &g), 0);
    ck_assert_str_eq(g.asn_org, "Example-DE");
    ck_assert_int_eq(fl_geo_lookup_address(T.e, &a, &g), 0);
    ck_assert_str_eq(g.country, "DE");
    ck_assert_str_eq(g.continent, "EU");
    ck_assert_uint_eq(g.asn, 64500);
    ck_assert_str_eq(g.asn_org, "Example-DE");
    ck_assert_str_eq(fl_class_of(T.e, &a, NULL), "de");
    fl_addr_parse("10.0.0.1", &a);
    errno = 0;
    ck_assert_int_eq(fl_geo_lookup_address(T.e, &a, &g), -1);
    ck_assert_int_eq(errno, ENOENT);
    ck_assert_ptr_null(fl_class_of(T.e, &a, NULL));
    errno = 0;
    ck_assert_int_eq(fl_geo_database_lookup(T.e, 5, &a, &g), -1);
    ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(test_an_ipv6_client_and_an_ipv4_only_database_just_miss)
{
    char *dir = tmpdir_new();
    char *db = make_mmdb(dir, "v4.mmdb", "192.0.2.0/24 country=DE continent=EU\n",
                         "--ipv4-only");
    char policy[4096];
    snprintf(policy, sizeof policy,
             "GeoIPDatabase %s\n<Class de>\nFromCountry DE\n</Class>\n", db);
    tenv_start(&T, policy);
    ck_assert_str_eq(class_of("192.0.2.1"), "de");
    ck_assert_str_eq(class_of("::ffff:192.0.2.1"), "de");
    ck_assert_str_eq(class_of("2001:db8::1"), "-");
    free(db);
    tmpdir_free(dir);
}
END_TEST

static Suite *geoip_suite(void)
{
    Suite *s = suite_create("geoip");
    TCase *tc = tcase_create("geoip");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_a_class_can_be_given_by_country);
    tcase_add_test(tc, test_a_class_can_be_given_by_continent);
    tcase_add_test(tc, test_a_class_can_be_given_by_autonomous_system);
    tcase_add_test(tc, test_geographic_items_can_be_negated);
    tcase_add_test(tc, test_satisfy_all_can_mix_a_cidr_and_a_country);
    tcase_add_test(tc, test_an_ipv4_mapped_address_is_looked_up_as_ipv4);
    tcase_add_test(tc, test_an_address_outside_the_database_is_never_refused_for_it);
    tcase_add_test(
        tc, test_max_clients_per_country_limits_authenticated_sessions_per_country);
    tcase_add_test(tc,
                   test_a_logged_out_session_counts_in_the_country_of_its_next_login);
    tcase_add_test(tc, test_max_clients_per_country_is_checked_after_the_network_limit);
    tcase_add_test(tc, test_events_carry_the_country_and_the_asn);
    tcase_add_test(tc, test_reload_picks_up_a_database_replaced_by_a_rename);
    tcase_add_test(tc, test_a_database_that_fails_to_open_on_reload_keeps_the_old_one);
    tcase_add_test(
        tc,
        test_missing_unreadable_and_corrupt_databases_are_errors_with_file_and_line);
    tcase_add_test(tc, test_unknown_codes_and_geography_without_a_database_are_errors);
    tcase_add_test(tc, test_the_lookup_api_reports_each_database_and_the_merged_answer);
    tcase_add_test(tc, test_an_ipv6_client_and_an_ipv4_only_database_just_miss);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(geoip_suite()) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
