/*
 * check_policy.c - the policy language: syntax, every error with its
 * FILE:LINE, includes, and the policies shipped in policies/.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include "engineutil.h"
#include "policy/parser.h"

static char *dir;
static trail errs;
static int nerrs;
static trail desc;

static void setup(void)
{
    dir = tmpdir_new();
    trail_reset(&errs);
    trail_reset(&desc);
    nerrs = 0;
}

static void teardown(void)
{
    tmpdir_free(dir);
}

/* Errors with the temporary directory cut from the front of each path. */
static void collect(void *arg, const char *message)
{
    (void)arg;
    size_t n = strlen(dir);
    if (strncmp(message, dir, n) == 0 && message[n] == '/')
        message += n + 1;
    trail_add(&errs, message);
    nerrs++;
}

static void describe_line(void *arg, const char *line)
{
    (void)arg;
    trail_add(&desc, line);
}

/* Load dir/name; 0 when it parsed. The description lands in desc. */
static int load_file(const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    fl_engine_options opts = {.no_firewall = true}; /* never the machine's */
    fl_engine *e = fl_engine_new(&opts);
    int rc = fl_engine_load(e, path, collect, NULL);
    if (rc == 0)
        fl_policy_describe(e, describe_line, NULL);
    fl_engine_free(e);
    return rc;
}

static int load_text(const char *text)
{
    free(write_file(dir, "policy.conf", text));
    return load_file("policy.conf");
}

#define ASSERT_ERROR(policy_, expected_)                                               \
    do {                                                                               \
        trail_reset(&errs);                                                            \
        ck_assert_int_eq(load_text(policy_), -1);                                      \
        ck_assert_msg(strstr(errs.text, expected_) != NULL, "expected '%s' in '%s'",   \
                      expected_, errs.text);                                           \
    } while (0)

START_TEST(test_a_valid_policy_loads_and_describes_what_it_enforces)
{
    ck_assert_int_eq(load_text("# limits\n"
                               "MaxInstances 100\n"
                               "MaxConnectionRate 20 2.5\n"
                               "MaxConnectionsPerHost 5\n"
                               "<Class lan>\n"
                               "  From 10.0.0.0/8 2001:db8::/32 !10.9.0.1\n"
                               "  Satisfy any\n"
                               "</Class>\n"
                               "MaxClientsPerClass lan 50\n"
                               "MaxClientsPerHost 3 \"Too many from %a\"\n"
                               "MaxClients none\n"
                               "MaxLoginAttempts 5\n"),
                     0);
    ck_assert_int_eq(nerrs, 0);
    ck_assert_ptr_nonnull(strstr(desc.text, "MaxInstances 100,"));
    ck_assert_ptr_nonnull(strstr(desc.text, "MaxConnectionRate 20 per 2.5 s,"));
    ck_assert_ptr_nonnull(strstr(desc.text, "MaxClientsPerClass lan 50,"));
    ck_assert_ptr_nonnull(strstr(desc.text, "MaxClientsPerHost 3 (custom message),"));
    ck_assert_ptr_nonnull(strstr(desc.text, "MaxLoginAttempts 5,"));
    ck_assert_ptr_nonnull(strstr(
        desc.text, "Class lan (Satisfy any): 10.0.0.0/8 2001:db8::/32 !10.9.0.1,"));
    ck_assert_ptr_null(strstr(desc.text, "MaxClients "));
}
END_TEST

START_TEST(test_an_empty_policy_has_proftpds_defaults)
{
    ck_assert_int_eq(load_text(""), 0);
    /* The daemon's own first, then the main server's. */
    ck_assert_str_eq(desc.text, "MaxTrackedHosts 1000000,MaxLoginAttempts 3,"
                                "AnonymousUsers anonymous ftp,");
}
END_TEST

START_TEST(test_an_unknown_directive_is_reported_with_the_nearest_known_name)
{
    ASSERT_ERROR("\n\nMaxClientPerHost 3\n",
                 "policy.conf:3: unknown directive 'MaxClientPerHost' (did you mean "
                 "'MaxClientsPerHost'?)");
    ASSERT_ERROR("maxinstance 3\n", "(did you mean 'MaxInstances'?)");
    ASSERT_ERROR("Frobnicate yes\n", "policy.conf:1: unknown directive 'Frobnicate',");
}
END_TEST

START_TEST(test_errors_come_in_line_order_and_unknown_classes_get_a_suggestion)
{
    /* The class is checked once the file is read; its error still comes
     * first, at its line. */
    trail_reset(&errs);
    ck_assert_int_eq(load_text("MaxClientsPerClass ofice 3\n"
                               "<Class office>\n From 10.0.0.0/8\n</Class>\n"
                               "MaxClient 3\n"
                               "BanExempt staff\n"),
                     -1);
    ck_assert_int_eq(nerrs, 3);
    const char *one =
        strstr(errs.text, "policy.conf:1: MaxClientsPerClass: unknown class "
                          "'ofice' (did you mean 'office'?)");
    const char *five =
        strstr(errs.text, "policy.conf:5: unknown directive 'MaxClient'");
    const char *six =
        strstr(errs.text, "policy.conf:6: BanExempt: unknown class 'staff' "
                          "(define it with <Class staff>)");
    ck_assert_ptr_nonnull(one);
    ck_assert_ptr_nonnull(five);
    ck_assert_ptr_nonnull(six);
    ck_assert(one < five && five < six);
}
END_TEST

START_TEST(test_a_database_that_cannot_be_opened_is_the_only_error_of_its_classes)
{
    trail_reset(&errs);
    ck_assert_int_eq(load_text("GeoIPDatabase /nonexistent/country.mmdb\n"
                               "<Class fr>\n FromCountry FR\n</Class>\n"
                               "MaxClientsPerCountry 5\n"),
                     -1);
    ck_assert_int_eq(nerrs, 1);
    ck_assert_ptr_nonnull(strstr(errs.text, "policy.conf:1: GeoIPDatabase: cannot open "
                                            "'/nonexistent/country.mmdb'"));
    /* Without any GeoIPDatabase line, the uses are the errors. */
    trail_reset(&errs);
    ck_assert_int_eq(load_text("<Class fr>\n FromCountry FR\n</Class>\n"), -1);
    ck_assert_ptr_nonnull(strstr(errs.text,
                                 "policy.conf:2: <Class fr> uses geographic "
                                 "items but no GeoIPDatabase is configured"));
}
END_TEST

START_TEST(test_ban_firewall_takes_nftables_a_table_and_ports)
{
    ck_assert_int_eq(load_text("BanFirewall nftables\n"), 0);
    ck_assert_ptr_nonnull(strstr(desc.text,
                                 "BanFirewall nftables: host bans also in table "
                                 "inet ftplimit, a SYN to port 21 dropped"));
    trail_reset(&desc);
    ck_assert_int_eq(
        load_text("BanFirewall nftables ftp_bans\nBanFirewallPorts 21 990\n"), 0);
    ck_assert_ptr_nonnull(
        strstr(desc.text, "table inet ftp_bans, a SYN to port 21, 990"));
    ASSERT_ERROR("BanFirewall iptables\n",
                 "policy.conf:1: BanFirewall: unknown firewall 'iptables' (expected "
                 "nftables)");
    ASSERT_ERROR("BanFirewall nftables \"a b\"\n",
                 "BanFirewall: 'a b' is no table name");
    ASSERT_ERROR("BanFirewall nftables 9t\n", "BanFirewall: '9t' is no table name");
    ASSERT_ERROR("BanFirewallPorts 0\n",
                 "BanFirewallPorts: '0' is no port (1 to 65535)");
    ASSERT_ERROR("BanFirewallPorts 21 65536\n", "BanFirewallPorts: '65536' is no port");
    ASSERT_ERROR("BanFirewallPorts -21\n", "BanFirewallPorts: '-21' is no port");
}
END_TEST

START_TEST(test_directive_names_ignore_case)
{
    ck_assert_int_eq(load_text("maxclientsperhost 3\nMAXCLIENTS 9\n"), 0);
    ck_assert_ptr_nonnull(strstr(desc.text, "MaxClientsPerHost 3,"));
}
END_TEST

START_TEST(test_a_wrong_number_of_arguments_names_the_usage)
{
    ASSERT_ERROR("MaxClients\n",
                 "policy.conf:1: MaxClients: wrong number of arguments (0); "
                 "usage: MaxClients max|none [\"message\"]");
    ASSERT_ERROR("MaxClients 1 \"a\" \"b\"\n", "wrong number of arguments (3)");
    ASSERT_ERROR("MaxClientsPerClass lan\n",
                 "MaxClientsPerClass: wrong number of arguments");
    ASSERT_ERROR("MaxLoginAttempts 3 4\n",
                 "MaxLoginAttempts: wrong number of arguments");
}
END_TEST

START_TEST(test_numbers_out_of_range_or_not_numbers_are_errors)
{
    ASSERT_ERROR("MaxClients 0\n",
                 "MaxClients: expected a number from 1 to 2147483647 or "
                 "'none', got '0'");
    ASSERT_ERROR("MaxClients -5\n", "got '-5'");
    ASSERT_ERROR("MaxClients 99999999999\n", "got '99999999999'");
    ASSERT_ERROR("MaxClients lots\n", "got 'lots'");
    ASSERT_ERROR("MaxConnectionRate 5 0\n", "MaxConnectionRate: expected an interval");
    ASSERT_ERROR("MaxConnectionRate 5 90000\n", "expected an interval");
    ASSERT_ERROR("MaxConnectionRatePerHost 20000\n", "from 1 to 10000");
    ASSERT_ERROR("MaxTrackedHosts none\n", "MaxTrackedHosts: expected a number");
    ASSERT_ERROR("MaxClientsPerNetwork 5 33 64\n", "from 1 to 32, got '33'");
    ASSERT_ERROR("MaxClientsPerNetwork 5 24\n",
                 "must be followed by an IPv6 prefix length");
}
END_TEST

START_TEST(test_none_means_unlimited)
{
    ck_assert_int_eq(load_text("MaxClients 5\nMaxClients none\nMaxInstances NONE\n"),
                     0);
    ck_assert_ptr_null(strstr(desc.text, "MaxClients"));
    ck_assert_ptr_null(strstr(desc.text, "MaxInstances"));
}
END_TEST

START_TEST(test_a_later_directive_overrides_an_earlier_one)
{
    ck_assert_int_eq(load_text("MaxClientsPerHost 3\nMaxClientsPerHost 7\n"), 0);
    ck_assert_ptr_nonnull(strstr(desc.text, "MaxClientsPerHost 7,"));
}
END_TEST

START_TEST(test_a_bad_cidr_is_an_error)
{
    ASSERT_ERROR("<Class a>\nFrom 10.0.0.0/33\n</Class>\n",
                 "policy.conf:2: From: bad CIDR '10.0.0.0/33'");
    ASSERT_ERROR("<Class a>\nFrom 2001:db8::/129\n</Class>\n",
                 "bad CIDR '2001:db8::/129'");
    ASSERT_ERROR("<Class a>\nFrom 10.0.0.0/\n</Class>\n", "bad CIDR");
    ASSERT_ERROR("<Class a>\nFrom 999.0.0.0/8\n</Class>\n", "bad CIDR");
    ASSERT_ERROR("<Class a>\nFrom $weird\n</Class>\n",
                 "'$weird' is neither an address, a CIDR, an IP glob nor a DNS name");
}
END_TEST

START_TEST(test_a_bad_regex_is_an_error)
{
    ASSERT_ERROR(
        "AnonRejectPasswords \"(unclosed\"\n",
        "policy.conf:1: AnonRejectPasswords: bad regular expression '(unclosed'");
    ASSERT_ERROR("AnonRejectPasswords ^x [XY]\n",
                 "AnonRejectPasswords: unknown flags '[XY]'");
}
END_TEST

/* Patterns are PCRE2's, as Debian's ProFTPD compiles them, under a budget:
 * one whose compiled form would pass it, or that nests too deep, is refused
 * when the policy loads -- at once: glibc's regcomp() built every copy of a
 * nested repetition first (((a{1,100}){1,100}){1,100} took 5.3 s and
 * 1.2 GB). The patterns people write still load. */
START_TEST(test_a_regex_past_its_compile_budget_is_refused_at_load)
{
    char nested[256] = "AnonRejectPasswords \"";
    for (int i = 0; i < 70; i++)
        strcat(nested, "(");
    strcat(nested, "a");
    for (int i = 0; i < 70; i++)
        strcat(nested, ")");
    strcat(nested, "\"\n");
    const char *too_complex[][2] = {
        {"AnonRejectPasswords \"((a{1,100}){1,100}){1,100}\"\n", "too large"},
        {nested, "parentheses are too deeply nested"},
        {"<IfUser regex ((a{1,100}){1,100}){1,100}>\n</IfUser>\n", "too large"},
    };
    for (size_t i = 0; i < sizeof too_complex / sizeof too_complex[0]; i++)
        ASSERT_ERROR(too_complex[i][0], too_complex[i][1]);
    ASSERT_ERROR("AnonRejectPasswords \"(unclosed\"\n",
                 "AnonRejectPasswords: bad regular expression '(unclosed': missing "
                 "closing parenthesis (at offset 9)");
    const char *fine[] = {
        "AnonRejectPasswords \"^(mozilla@|IEUser@|guest@?|-wget@|lftp@)$\" [NC]\n",
        "AnonRejectPasswords \"!^[^@[:space:]]+@[^@[:space:]]+$\"\n",
        "AnonRejectPasswords \"^[a-z]{1,64}@[a-z0-9.-]{1,255}\\.[a-z]{2,16}$\"\n",
        "AnonRejectPasswords \"a++\"\n",
        "AnonRejectPasswords \"^(.*)(.*)(.*)\\3\\2\\1$\"\n", /* slow to match: a budget
                                                              */
    };
    for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++)
        ck_assert_msg(load_text(fine[i]) == 0, "%s: %s", fine[i], errs.text);
}
END_TEST

START_TEST(test_block_mistakes_are_reported)
{
    ASSERT_ERROR("MaxClients 3\n<Class a>\nFrom all\n",
                 "policy.conf:2: <Class a> is not closed");
    ASSERT_ERROR("</Class>\n", "policy.conf:1: </Class> without a matching <Class>");
    ASSERT_ERROR("<Class a>\nFrom all\n<Class b>\n</Class>\n",
                 "policy.conf:3: <Class> cannot be nested");
    ASSERT_ERROR("<Class a>\nMaxClients 3\nFrom all\n</Class>\n",
                 "policy.conf:2: MaxClients is not allowed inside <Class a>");
    ASSERT_ERROR("From 10.0.0.1\n",
                 "policy.conf:1: From is only allowed inside <Class>");
    ASSERT_ERROR("<Class a>\n</Class>\n", "policy.conf:2: <Class a> has no From item");
    ASSERT_ERROR("<Class a\nFrom all\n</Class>\n",
                 "policy.conf:1: a block line must end with '>'");
    ASSERT_ERROR("<Class a>\nFrom all\n</Class>\n<Class a>\nFrom all\n</Class>\n",
                 "policy.conf:4: <Class a> is already defined at");
    ASSERT_ERROR("<Class a>\nSatisfy most\nFrom all\n</Class>\n",
                 "Satisfy: expected 'any' or 'all', got 'most'");
}
END_TEST

START_TEST(test_max_clients_per_class_must_name_a_defined_class)
{
    ASSERT_ERROR("<Class lan>\nFrom all\n</Class>\nMaxClientsPerClass wan 3\n",
                 "policy.conf:4: MaxClientsPerClass: unknown class 'wan'");
    /* A class may be defined after the limit that names it. */
    ck_assert_int_eq(
        load_text("MaxClientsPerClass lan 3\n<Class lan>\nFrom all\n</Class>\n"), 0);
}
END_TEST

START_TEST(test_every_error_in_a_file_is_reported_not_only_the_first)
{
    ck_assert_int_eq(load_text("MaxClients 0\nBogus 1\nMaxClientsPerHost\n"
                               "MaxLoginAttempts many\n"),
                     -1);
    ck_assert_int_eq(nerrs, 4);
    ck_assert_ptr_nonnull(strstr(errs.text, "policy.conf:1:"));
    ck_assert_ptr_nonnull(strstr(errs.text, "policy.conf:2:"));
    ck_assert_ptr_nonnull(strstr(errs.text, "policy.conf:3:"));
    ck_assert_ptr_nonnull(strstr(errs.text, "policy.conf:4:"));
}
END_TEST

START_TEST(test_quotes_escapes_comments_and_continued_lines)
{
    ck_assert_int_eq(
        load_text("# a comment\n"
                  "   # an indented comment\n"
                  "MaxClientsPerHost 3 \"say \\\"hi\\\" to C:\\\\ and \\d\" # tail\n"
                  "MaxClients \\\n"
                  "   7\n"
                  "\n"
                  "MaxInstances 9\r\n"),
        0);
    ck_assert_ptr_nonnull(strstr(desc.text, "MaxClients 7,"));
    ck_assert_ptr_nonnull(strstr(desc.text, "MaxInstances 9,"));

    /* The backslash stands for the space between the lines it joins. */
    ck_assert_int_eq(load_text("MaxClients\\\n5\n"), 0);
    ck_assert_ptr_nonnull(strstr(desc.text, "MaxClients 5,"));
    /* A continuation on the file's last line (found by fuzz_policy: it read
     * past the end of the line). */
    ck_assert_int_eq(load_text("MaxInstances 2\nMaxClients 4 \\"), 0);
    ck_assert_ptr_nonnull(strstr(desc.text, "MaxClients 4,"));
}
END_TEST

START_TEST(test_quoting_mistakes_are_errors)
{
    ASSERT_ERROR("MaxClients 3 \"unterminated\n",
                 "policy.conf:1: unterminated quoted argument");
    ASSERT_ERROR("MaxClients 3 \"a\"b\n", "text right after a closing quote");
}
END_TEST

START_TEST(test_a_file_with_nul_bytes_or_huge_lines_is_refused_cleanly)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/policy.conf", dir);
    FILE *f = fopen(path, "w");
    fwrite("MaxClients 3\nMax\0Clients\n", 1, 26, f);
    fclose(f);
    ck_assert_int_eq(load_file("policy.conf"), -1);
    ck_assert_ptr_nonnull(strstr(errs.text, "policy.conf:2: line contains a NUL byte"));

    char *big = malloc(40000);
    memset(big, 'x', 39998);
    big[39998] = '\n';
    big[39999] = '\0';
    trail_reset(&errs);
    ck_assert_int_eq(load_text(big), -1);
    ck_assert_ptr_nonnull(
        strstr(errs.text, "policy.conf:1: line longer than 16384 bytes"));
    free(big);
}
END_TEST

START_TEST(test_a_missing_or_unreadable_policy_is_an_error)
{
    ck_assert_int_eq(load_file("nope.conf"), -1);
    ck_assert_ptr_nonnull(strstr(errs.text, "cannot read policy"));
    ck_assert_ptr_nonnull(strstr(errs.text, "No such file or directory"));
    char sub[4096];
    snprintf(sub, sizeof sub, "%s/adir", dir);
    mkdir(sub, 0700);
    trail_reset(&errs);
    ck_assert_int_eq(load_file("adir"), -1);
    ck_assert_ptr_nonnull(strstr(errs.text, "Is a directory"));
    /* A FIFO (or a device) would block or never end: refused unopened. */
    char fifo[4096];
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    trail_reset(&errs);
    ck_assert_int_eq(load_text("Include fifo\n"), -1);
    ck_assert_ptr_nonnull(
        strstr(errs.text, "Include: cannot read 'fifo': not a regular file"));
    trail_reset(&errs);
    ck_assert_int_eq(load_text("Include /dev/zero\n"), -1);
    ck_assert_ptr_nonnull(strstr(errs.text, "not a regular file"));
}
END_TEST

/* Issue 24, point 6: Include bombs end. Fourteen files each including the
 * next ten times (10^13 reads) stop at POLICY_FILES_MAX files; twelve files
 * each including all of them, at 100 errors (each includes itself); a
 * policy of nothing but mistakes stops after 100 errors, saying so. */
START_TEST(test_include_bombs_and_error_floods_stop_at_their_bounds)
{
    char sub[4096], name[64], text[1024];
    snprintf(sub, sizeof sub, "%s/bomb", dir);
    mkdir(sub, 0700);
    for (int i = 0; i < 14; i++) {
        size_t o = 0;
        for (int k = 0; k < 10 && i < 13; k++)
            o += (size_t)snprintf(text + o, sizeof text - o, "Include b%02d.conf\n",
                                  i + 1);
        text[o] = '\0';
        snprintf(name, sizeof name, "b%02d.conf", i);
        free(write_file(sub, name, text));
    }
    time_t t0 = time(NULL);
    ck_assert_int_eq(load_text("Include bomb/b00.conf\n"), -1);
    ck_assert_msg(strstr(errs.text, "more than 1000 files in one policy") != NULL, "%s",
                  errs.text);
    ck_assert_int_le(nerrs, 2);

    snprintf(sub, sizeof sub, "%s/all", dir);
    mkdir(sub, 0700);
    for (int i = 0; i < 12; i++) {
        snprintf(name, sizeof name, "a%02d.conf", i);
        free(write_file(sub, name, "Include *.conf\n"));
    }
    trail_reset(&errs);
    nerrs = 0;
    ck_assert_int_eq(load_text("Include all/a00.conf\n"), -1);
    ck_assert_int_le(nerrs, POLICY_ERRORS_MAX + 1);
    ck_assert_int_le(time(NULL) - t0, 10);

    size_t o = 0;
    char many[8192];
    for (int i = 0; i < 500; i++)
        o += (size_t)snprintf(many + o, sizeof many - o, "Bogus %d\n", i);
    trail_reset(&errs);
    nerrs = 0;
    ck_assert_int_eq(load_text(many), -1);
    ck_assert_int_eq(nerrs, POLICY_ERRORS_MAX + 1);
    ck_assert_ptr_nonnull(
        strstr(errs.text, "100 errors: the rest of the policy is not read"));
}
END_TEST

START_TEST(test_include_reads_a_file_relative_to_the_including_file)
{
    char sub[4096];
    snprintf(sub, sizeof sub, "%s/conf.d", dir);
    mkdir(sub, 0700);
    free(write_file(sub, "limits.conf", "MaxClients 42\n"));
    ck_assert_int_eq(load_text("Include conf.d/limits.conf\n"), 0);
    ck_assert_ptr_nonnull(strstr(desc.text, "MaxClients 42,"));
}
END_TEST

START_TEST(test_include_of_a_glob_reads_the_matches_in_name_order)
{
    char sub[4096];
    snprintf(sub, sizeof sub, "%s/conf.d", dir);
    mkdir(sub, 0700);
    free(write_file(sub, "20-b.conf", "MaxClients 20\n"));
    free(write_file(sub, "10-a.conf", "MaxClients 10\nMaxInstances 10\n"));
    free(write_file(sub, "notes.txt", "this is not a policy\n"));
    ck_assert_int_eq(load_text("Include conf.d/*.conf\n"), 0);
    ck_assert_ptr_nonnull(strstr(desc.text, "MaxClients 20,"));
    ck_assert_ptr_nonnull(strstr(desc.text, "MaxInstances 10,"));
    /* A glob that matches nothing includes nothing. */
    ck_assert_int_eq(load_text("Include conf.d/*.none\nMaxClients 1\n"), 0);
}
END_TEST

START_TEST(test_include_of_a_directory_reads_its_files)
{
    char sub[4096];
    snprintf(sub, sizeof sub, "%s/conf.d", dir);
    mkdir(sub, 0700);
    free(write_file(sub, "a", "MaxClients 3\n"));
    free(write_file(sub, "b~", "Broken directive\n"));
    ck_assert_int_eq(load_text("Include conf.d\n"), 0);
    ck_assert_ptr_nonnull(strstr(desc.text, "MaxClients 3,"));
}
END_TEST

START_TEST(test_include_errors_name_the_include_line_and_the_inner_line)
{
    ASSERT_ERROR("MaxClients 3\nInclude missing.conf\n",
                 "policy.conf:2: Include: cannot read 'missing.conf'");
    free(write_file(dir, "inner.conf", "MaxClients 3\nMaxClient 4\n"));
    ASSERT_ERROR("Include inner.conf\n", "inner.conf:2: unknown directive 'MaxClient'");
}
END_TEST

START_TEST(test_a_file_that_includes_itself_is_an_error)
{
    ASSERT_ERROR("Include policy.conf\n",
                 "policy.conf:1: Include: 'policy.conf' includes itself");
    free(write_file(dir, "a.conf", "Include b.conf\n"));
    free(write_file(dir, "b.conf", "Include a.conf\n"));
    trail_reset(&errs);
    ck_assert_int_eq(load_file("a.conf"), -1);
    ck_assert_ptr_nonnull(
        strstr(errs.text, "b.conf:1: Include: 'a.conf' includes itself"));
}
END_TEST

START_TEST(test_other_directive_mistakes_are_errors)
{
    ASSERT_ERROR("DryRun maybe\n", "DryRun: expected 'on' or 'off', got 'maybe'");
    ASSERT_ERROR("MaxConnectionRate 5 1 \"m\" extra\n", "wrong number of arguments");
    ASSERT_ERROR("MaxConnectionRate 5 abc def\n", "unexpected argument 'abc'");
    ASSERT_ERROR("AnonymousUsers\n", "AnonymousUsers: wrong number of arguments");
    ASSERT_ERROR("<Class bad\"name>\nFrom all\n</Class>\n", "bad class name");
    /* What a policy says is shown with its control bytes escaped. */
    ASSERT_ERROR("Bo\x02gus 1\n", "unknown directive 'Bo\\x02gus'");
}
END_TEST

START_TEST(test_allow_directives_take_users_groups_and_ids_and_refuse_unknown_names)
{
    ck_assert_int_eq(load_text("AllowSessions root uid:33 group:root @root gid:0\n"
                               "AllowStatus all\nAllowAdmin root\n"),
                     0);
    ASSERT_ERROR("AllowSessions no-such-user-here\n",
                 "policy.conf:1: AllowSessions: unknown user 'no-such-user-here'");
    ASSERT_ERROR("AllowAdmin group:no-such-group-here\n",
                 "AllowAdmin: unknown group 'no-such-group-here'");
    ASSERT_ERROR("AllowStatus\n", "AllowStatus: wrong number of arguments");
}
END_TEST

/* A policy that names GeoIP databases under /var/lib/GeoIP is checked with
 * test databases of the same names in the temporary directory. */
static char *with_test_databases(const char *path)
{
    char *text = read_file(path);
    ck_assert_ptr_nonnull(text);
    if (strstr(text, "GeoIPDatabase") == NULL) {
        free(text);
        return strdup(path);
    }
    const char *top = getenv("top_srcdir");
    static const char *const dbs[] = {"GeoLite2-Country.mmdb", "GeoLite2-ASN.mmdb"};
    for (size_t i = 0; i < 2; i++) {
        char cmd[8192];
        snprintf(cmd, sizeof cmd,
                 "echo '192.0.2.0/24 country=DE continent=EU asn=64496' | "
                 "perl '%s/tests/mkmmdb.pl' '%s/%s'",
                 top ? top : "..", dir, dbs[i]);
        ck_assert_int_eq(system(cmd), 0);
    }
    /* Rewrite /var/lib/GeoIP/ into the temporary directory. */
    size_t cap = strlen(text) * 2 + 4096, o = 0;
    char *out = malloc(cap);
    for (const char *p = text; *p != '\0';) {
        if (strncmp(p, "/var/lib/GeoIP/", 15) == 0) {
            o += (size_t)snprintf(out + o, cap - o, "%s/", dir);
            p += 15;
        } else {
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
    free(text);
    char *copy = write_file(dir, "shipped.conf", out);
    free(out);
    return copy;
}

/* Every file in policies/ passes `check`. */
/* What a message quotes of the policy (here a block's argument) never
 * carries a control byte: found by fuzz_policy, an <Anonymous> whose
 * directory holds a CR was named raw in "is not closed". */
START_TEST(test_an_error_never_carries_a_control_byte_of_the_policy)
{
    expect_policy_error("<Anonymous \r/b>\nUser guest", "<Anonymous \\x0d/b> is not closed",
                        NULL);
    expect_policy_error("MaxClientsPerUser 1\x7f", "\\x7f", NULL);
}
END_TEST

START_TEST(test_the_shipped_policies_all_check_ok)
{
    const char *top = getenv("top_srcdir");
    char pdir[4096];
    snprintf(pdir, sizeof pdir, "%s/policies", top != NULL ? top : "..");
    DIR *d = opendir(pdir);
    ck_assert_msg(d != NULL, "cannot open %s", pdir);
    int checked = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n < 6 || strcmp(de->d_name + n - 5, ".conf") != 0)
            continue;
        char shipped[8192];
        snprintf(shipped, sizeof shipped, "%s/%s", pdir, de->d_name);
        char *path = with_test_databases(shipped);
        /* Checked as `ftplimit check` does: no listener opens its file. */
        fl_engine_options opts = {.no_alerts = true, .no_ban_table = true};
        fl_engine *e = fl_engine_new(&opts);
        trail_reset(&errs);
        int rc = fl_engine_load(e, path, collect, NULL);
        fl_engine_free(e);
        ck_assert_msg(rc == 0, "%s: %s", shipped, errs.text);
        free(path);
        checked++;
    }
    closedir(d);
    ck_assert_int_ge(checked, 4);
}
END_TEST

static Suite *policy_suite(void)
{
    Suite *s = suite_create("policy");
    TCase *tc = tcase_create("policy");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_a_valid_policy_loads_and_describes_what_it_enforces);
    tcase_add_test(tc, test_an_empty_policy_has_proftpds_defaults);
    tcase_add_test(tc,
                   test_an_unknown_directive_is_reported_with_the_nearest_known_name);
    tcase_add_test(tc,
                   test_errors_come_in_line_order_and_unknown_classes_get_a_suggestion);
    tcase_add_test(
        tc, test_a_database_that_cannot_be_opened_is_the_only_error_of_its_classes);
    tcase_add_test(tc, test_directive_names_ignore_case);
    tcase_add_test(tc, test_ban_firewall_takes_nftables_a_table_and_ports);
    tcase_add_test(tc, test_a_wrong_number_of_arguments_names_the_usage);
    tcase_add_test(tc, test_numbers_out_of_range_or_not_numbers_are_errors);
    tcase_add_test(tc, test_none_means_unlimited);
    tcase_add_test(tc, test_a_later_directive_overrides_an_earlier_one);
    tcase_add_test(tc, test_a_bad_cidr_is_an_error);
    tcase_add_test(tc, test_a_bad_regex_is_an_error);
    tcase_add_test(tc, test_a_regex_past_its_compile_budget_is_refused_at_load);
    tcase_add_test(tc, test_block_mistakes_are_reported);
    tcase_add_test(tc, test_max_clients_per_class_must_name_a_defined_class);
    tcase_add_test(tc, test_every_error_in_a_file_is_reported_not_only_the_first);
    tcase_add_test(tc, test_quotes_escapes_comments_and_continued_lines);
    tcase_add_test(tc, test_quoting_mistakes_are_errors);
    tcase_add_test(tc, test_a_file_with_nul_bytes_or_huge_lines_is_refused_cleanly);
    tcase_add_test(tc, test_a_missing_or_unreadable_policy_is_an_error);
    tcase_add_test(tc, test_include_bombs_and_error_floods_stop_at_their_bounds);
    tcase_add_test(tc, test_include_reads_a_file_relative_to_the_including_file);
    tcase_add_test(tc, test_include_of_a_glob_reads_the_matches_in_name_order);
    tcase_add_test(tc, test_include_of_a_directory_reads_its_files);
    tcase_add_test(tc, test_include_errors_name_the_include_line_and_the_inner_line);
    tcase_add_test(tc, test_a_file_that_includes_itself_is_an_error);
    tcase_add_test(tc, test_other_directive_mistakes_are_errors);
    tcase_add_test(
        tc, test_allow_directives_take_users_groups_and_ids_and_refuse_unknown_names);
    tcase_add_test(tc, test_an_error_never_carries_a_control_byte_of_the_policy);
    tcase_add_test(tc, test_the_shipped_policies_all_check_ok);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(policy_suite()) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
