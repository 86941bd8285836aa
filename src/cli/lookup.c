/*
 * lookup.c - `ftplimit lookup ADDRESS [POLICY]`: what the policy's GeoIP
 * databases say about an address, and which class it falls in. The
 * administrator's first debugging tool for geographic classes.
 */
#include "config.h"

#include <stdio.h>

#include <ftplimit/ftplimit.h>

#include "cli.h"

static void print_geo(const char *indent, const fl_geo_info *g)
{
    printf("%scountry    %s\n", indent, g->country[0] ? g->country : "(unknown)");
    printf("%scontinent  %s\n", indent, g->continent[0] ? g->continent : "(unknown)");
    if (g->asn != 0)
        printf("%sasn        AS%u%s%s%s\n", indent, (unsigned)g->asn,
               g->asn_org[0] ? " (" : "", g->asn_org, g->asn_org[0] ? ")" : "");
    else
        printf("%sasn        (unknown)\n", indent);
}

int cmd_lookup(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: ftplimit lookup ADDRESS [POLICY]\n");
        return EXIT_USAGE;
    }
    const char *policy = argc == 3 ? argv[2] : FL_DEFAULT_POLICY;
    fl_addr a;
    if (fl_addr_parse(argv[1], &a) < 0) {
        fprintf(stderr, "ftplimit: '%s' is not an IPv4 or IPv6 address\n", argv[1]);
        return EXIT_USAGE;
    }
    fl_engine_options opts = {
        .no_alerts = true, .no_ban_table = true, .no_firewall = true};
    fl_engine *e = fl_engine_new(&opts);
    if (e == NULL) {
        perror("ftplimit: cannot create an engine");
        return EXIT_USAGE;
    }
    int errors = 0;
    if (fl_engine_load(e, policy, cli_print_error, &errors) < 0) {
        fprintf(stderr, "%s: %d error%s\n", policy, errors, errors == 1 ? "" : "s");
        fl_engine_free(e);
        return EXIT_USAGE;
    }

    char text[FL_ADDR_TEXT_MAX];
    printf("address      %s\n", fl_addr_format(&a, text, sizeof text));
    size_t n = fl_geo_database_count(e);
    if (n == 0)
        printf("databases    none (the policy has no GeoIPDatabase)\n");
    for (size_t i = 0; i < n; i++) {
        fl_geo_info g;
        printf("database     %s\n", fl_geo_database_path(e, i));
        if (fl_geo_database_lookup(e, i, &a, &g) < 0)
            printf("  (no entry for this address)\n");
        else
            print_geo("  ", &g);
    }
    fl_geo_info merged;
    int known = fl_geo_lookup_address(e, &a, &merged);
    if (n > 0) {
        printf("merged%s\n",
               known < 0 ? "       (nothing known: no geographic item matches)" : "");
        if (known == 0)
            print_geo("  ", &merged);
    }
    const char *cls = fl_class_of(e, &a, NULL);
    printf("class        %s\n", cls != NULL ? cls : "(none: no <Class> matches)");
    fl_engine_free(e);
    return EXIT_OK;
}
