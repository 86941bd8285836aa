/*
 * check_scopes.c - limits per server and per <Anonymous> block, as ProFTPD
 * counts them (modules/mod_auth.c, auth_count_scoreboard): each server its
 * own counts, <Global> every server's limits, an <Anonymous> block its own
 * logins under its own limits. tests/traces/scopes.trace replays the same
 * through `ftplimit simulate`.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engineutil.h"
#include "util/addr.h"

static tenv T;

static void teardown(void)
{
    tenv_stop(&T);
}

/* connect to the server at server ("ADDR:PORT"; NULL: none named). */
static fl_verdict connect_to(const char *sid, const char *addr, const char *server,
                             fl_decision *d)
{
    fl_decision local;
    fl_endpoint ep;
    fl_connect_info ci = {.sid = sid, .server = server != NULL ? &ep : NULL};
    fl_session *s;
    if (d == NULL)
        d = &local;
    ck_assert_int_eq(fl_addr_parse(addr, &ci.addr), 0);
    if (server != NULL)
        ck_assert_int_eq(fl_endpoint_parse(server, &ep), 0);
    ck_assert_msg(fl_connect(T.e, &ci, &s, d) == 0, "connect %s: %s", sid,
                  strerror(errno));
    return d->verdict;
}

static fl_verdict login_to(const char *sid, const char *addr, const char *server,
                           const char *user, fl_decision *d)
{
    fl_verdict v = connect_to(sid, addr, server, d);
    if (v == FL_ALLOW)
        v = t_user(&T, sid, user, d);
    if (v == FL_ALLOW)
        v = t_pass(&T, sid, true, "x@", d);
    return v;
}

static const char two_servers[] = "MaxClientsPerHost 1\n"
                                  "<VirtualHost 192.0.2.1:21>\n"
                                  "  MaxClientsPerHost 2\n"
                                  "</VirtualHost>\n";

static char refused_server[256];

static void on_refusal(const void *event_data, void *user_data)
{
    (void)user_data;
    const fl_event_info *info =
        fl_event_info_of(FL_EV_MAX_CLIENTS_PER_HOST, event_data);
    snprintf(refused_server, sizeof refused_server, "%s",
             info->server != NULL ? info->server : "(main)");
}

START_TEST(test_each_server_counts_the_same_host_alone)
{
    tenv_start(&T, two_servers);
    ck_assert_int_eq(
        fl_event_register(T.e, NULL, FL_EV_MAX_CLIENTS_PER_HOST, on_refusal, NULL), 0);
    fl_decision d;
    ck_assert_int_eq(login_to("m1", "10.0.0.1", NULL, "a", &d), FL_ALLOW);
    ck_assert_int_eq(login_to("m2", "10.0.0.1", NULL, "b", &d), FL_DISCONNECT);
    ck_assert_str_eq(d.limit, "MaxClientsPerHost");
    ck_assert_str_eq(refused_server, "(main)"); /* events name a virtual host only */
    /* The main server's one client does not count on the other server. */
    ck_assert_int_eq(login_to("v1", "10.0.0.1", "192.0.2.1:21", "c", &d), FL_ALLOW);
    ck_assert_int_eq(login_to("v2", "10.0.0.1", "192.0.2.1:21", "d", &d), FL_ALLOW);
    ck_assert_int_eq(login_to("v3", "10.0.0.1", "192.0.2.1:21", "e", &d),
                     FL_DISCONNECT);
    ck_assert_int_eq(d.code, 530);
    ck_assert_str_eq(refused_server, "192.0.2.1:21");
    /* A status count sums every server's. */
    ck_assert_int_eq(host_clients(&T, "10.0.0.1"), 3);
    ck_assert_int_eq(host_conns(&T, "10.0.0.1"), 3);
    /* Refusals are counted per server too. */
    fl_refusal_count all[32], main_srv[32], vhost[32];
    size_t n = fl_engine_refusals(T.e, all, 32);
    ck_assert_uint_eq(fl_engine_refusals_in(T.e, "main", main_srv, 32), n);
    ck_assert_uint_eq(fl_engine_refusals_in(T.e, "192.0.2.1:21", vhost, 32), n);
    for (size_t i = 0; i < n; i++) {
        bool per_host = strcmp(all[i].limit, "MaxClientsPerHost") == 0;
        ck_assert_uint_eq(all[i].refused, per_host ? 2 : 0);
        ck_assert_uint_eq(main_srv[i].refused, per_host ? 1 : 0);
        ck_assert_uint_eq(vhost[i].refused, per_host ? 1 : 0);
    }
    ck_assert_uint_eq(fl_engine_refusals_in(T.e, "192.0.2.9:21", vhost, 32),
                      (size_t)-1);
    ck_assert_int_eq(errno, ENOENT);
}
END_TEST

START_TEST(test_an_address_no_virtual_host_names_is_the_main_servers)
{
    tenv_start(&T, two_servers);
    ck_assert_int_eq(login_to("m1", "10.0.0.1", NULL, "a", NULL), FL_ALLOW);
    /* Another port of the same address: no <VirtualHost> has it. */
    ck_assert_int_eq(login_to("x1", "10.0.0.1", "192.0.2.1:2121", "b", NULL),
                     FL_DISCONNECT);
    /* A port of zero is no server. */
    fl_endpoint bad = {.port = 0};
    fl_connect_info ci = {.sid = "z", .server = &bad};
    fl_session *s;
    fl_decision d;
    ck_assert_int_eq(fl_addr_parse("10.0.0.2", &ci.addr), 0);
    ck_assert_int_eq(fl_connect(T.e, &ci, &s, &d), -1);
    ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(test_global_limits_are_every_servers_unless_it_sets_its_own)
{
    tenv_start(&T, "<Global>\n"
                   "  MaxClientsPerUser 1\n"
                   "  MaxConnectionsPerHost 2\n"
                   "</Global>\n"
                   "<VirtualHost 192.0.2.1:21>\n"
                   "  MaxClientsPerUser 2\n"
                   "</VirtualHost>\n");
    fl_decision d;
    ck_assert_int_eq(login_to("m1", "10.0.0.1", NULL, "ann", &d), FL_ALLOW);
    ck_assert_int_eq(login_to("m2", "10.0.0.2", NULL, "ann", &d), FL_DISCONNECT);
    ck_assert_str_eq(d.limit, "MaxClientsPerUser");
    ck_assert_int_eq(login_to("v1", "10.0.0.1", "192.0.2.1:21", "ann", &d), FL_ALLOW);
    ck_assert_int_eq(login_to("v2", "10.0.0.2", "192.0.2.1:21", "ann", &d), FL_ALLOW);
    /* MaxConnectionsPerHost from <Global>, counted per server. */
    ck_assert_int_eq(connect_to("v3", "10.0.0.1", "192.0.2.1:21", &d), FL_ALLOW);
    ck_assert_int_eq(connect_to("v4", "10.0.0.1", "192.0.2.1:21", &d), FL_DISCONNECT);
    ck_assert_str_eq(d.limit, "MaxConnectionsPerHost");
    ck_assert_int_eq(d.code, 421);
}
END_TEST

static const char anon_block[] = "MaxClients 3\n"
                                 "<Anonymous /srv/ftp>\n"
                                 "  User ftp\n"
                                 "  UserAlias anonymous ftp\n"
                                 "  MaxClients 1 \"anonymous is full (%m)\"\n"
                                 "  AnonRejectPasswords ^$\n"
                                 "</Anonymous>\n";

START_TEST(test_an_anonymous_block_counts_its_own_logins_under_its_own_limits)
{
    tenv_start(&T, anon_block);
    fl_decision d;
    ck_assert_int_eq(login_to("a1", "10.0.0.1", NULL, "anonymous", &d), FL_ALLOW);
    ck_assert_int_eq(user_clients(&T, "ftp"), 1);
    ck_assert_int_eq(login_to("a2", "10.0.0.2", NULL, "ftp", &d), FL_DISCONNECT);
    ck_assert_str_eq(d.limit, "MaxClients");
    ck_assert_str_eq(d.message, "anonymous is full (1)");
    /* Real users count against the server's MaxClients, anonymous ones too. */
    ck_assert_int_eq(login_to("r1", "10.0.0.3", NULL, "rita", &d), FL_ALLOW);
    ck_assert_int_eq(login_to("r2", "10.0.0.4", NULL, "rob", &d), FL_ALLOW);
    ck_assert_int_eq(login_to("r3", "10.0.0.5", NULL, "ron", &d), FL_DISCONNECT);
    ck_assert_str_eq(d.message,
                     "Sorry, the maximum number of allowed clients (3) are already "
                     "connected.");
}
END_TEST

START_TEST(test_an_anonymous_blocks_reject_passwords_apply_to_its_logins_only)
{
    tenv_start(&T, anon_block);
    fl_decision d;
    ck_assert_int_eq(connect_to("a", "10.0.0.1", NULL, &d), FL_ALLOW);
    ck_assert_int_eq(t_user(&T, "a", "anonymous", &d), FL_ALLOW);
    ck_assert_int_eq(t_pass(&T, "a", true, "", &d), FL_REJECT);
    ck_assert_str_eq(d.limit, "AnonRejectPasswords");
    /* A real account's empty password is the backend's business. */
    ck_assert_int_eq(connect_to("r", "10.0.0.2", NULL, &d), FL_ALLOW);
    ck_assert_int_eq(t_user(&T, "r", "rita", &d), FL_ALLOW);
    ck_assert_int_eq(t_pass(&T, "r", true, "", &d), FL_ALLOW);
    /* The server resolved a name to the block's account (USERAS). */
    fl_session *s;
    fl_connect_info ci = {.sid = "g"};
    ck_assert_int_eq(fl_addr_parse("10.0.0.3", &ci.addr), 0);
    ck_assert_int_eq(fl_connect(T.e, &ci, &s, &d), 0);
    ck_assert_int_eq(fl_user_resolved(T.e, s, "guest", "ftp", &d), 0);
    ck_assert_int_eq(fl_anon_pass_check(T.e, s, "", &d), 0);
    ck_assert_int_eq(d.verdict, FL_REJECT);
}
END_TEST

START_TEST(test_a_reload_changes_a_servers_limit_and_keeps_its_counts)
{
    tenv_start(&T, two_servers);
    ck_assert_int_eq(login_to("v1", "10.0.0.1", "192.0.2.1:21", "a", NULL), FL_ALLOW);
    ck_assert_int_eq(login_to("v2", "10.0.0.1", "192.0.2.1:21", "b", NULL), FL_ALLOW);
    ck_assert_int_eq(tenv_reload(&T, "MaxClientsPerHost 1\n"
                                     "<VirtualHost 192.0.2.1:21>\n"
                                     "  MaxClientsPerHost 3\n"
                                     "</VirtualHost>\n"
                                     "<VirtualHost 192.0.2.7:21>\n"
                                     "  MaxClientsPerHost 1\n"
                                     "</VirtualHost>\n"),
                     0);
    ck_assert_int_eq(login_to("v3", "10.0.0.1", "192.0.2.1:21", "c", NULL), FL_ALLOW);
    ck_assert_int_eq(login_to("v4", "10.0.0.1", "192.0.2.1:21", "d", NULL),
                     FL_DISCONNECT);
    /* The new server starts from nothing. */
    ck_assert_int_eq(login_to("n1", "10.0.0.1", "192.0.2.7:21", "e", NULL), FL_ALLOW);
    /* A server the policy drops keeps its sessions until they end, under
     * the main server's limits; its address is the main server's again. */
    ck_assert_int_eq(tenv_reload(&T, "MaxClientsPerHost 1\n"), 0);
    ck_assert_int_eq(host_clients(&T, "10.0.0.1"), 4);
    t_close(&T, "v1");
    t_close(&T, "v2");
    t_close(&T, "v3");
    t_close(&T, "n1");
    ck_assert_int_eq(host_clients(&T, "10.0.0.1"), -1);
    ck_assert_int_eq(login_to("m1", "10.0.0.1", "192.0.2.1:21", "f", NULL), FL_ALLOW);
    ck_assert_int_eq(login_to("m2", "10.0.0.1", NULL, "g", NULL), FL_DISCONNECT);
}
END_TEST

/* The policy text is refused, with this error at this line. */
static void refused(const char *text, const char *error)
{
    tenv t;
    tenv_start(&t, NULL);
    ck_assert_msg(tenv_reload(&t, text) == -1, "%s: accepted", text);
    ck_assert_msg(strstr(t.errors.text, error) != NULL, "%s: got '%s'", text,
                  t.errors.text);
    tenv_stop(&t);
}

START_TEST(test_scope_blocks_are_checked_with_file_and_line)
{
    refused("<VirtualHost example.com>\n</VirtualHost>\n",
            "policy.conf:1: <VirtualHost>: 'example.com' is not an IP address");
    refused("<VirtualHost 192.0.2.1:0>\n</VirtualHost>\n",
            "policy.conf:1: <VirtualHost>: '192.0.2.1:0' is not an IP address");
    /* A bare IPv6 address is an address, whatever its last group. */
    refused("<VirtualHost ::1:21>\n</VirtualHost>\n<VirtualHost [::1:21]:21 10.0.0.1>\n"
            "</VirtualHost>\n",
            "]:21 is already a server's at ");
    refused("\n<Anonymous /srv/ftp>\n</Anonymous>\n",
            "policy.conf:2: <Anonymous /srv/ftp> has no User");
    refused("<Global>\nMaxClients 2\n", "policy.conf:1: <Global> is not closed");
    refused("<VirtualHost 192.0.2.1>\n<Anonymous /x>\nUser ftp\n",
            "policy.conf:2: <Anonymous /x> is not closed");
    refused("</VirtualHost>\n",
            "policy.conf:1: </VirtualHost> without a matching <VirtualHost>");
    refused("User ftp\n", "policy.conf:1: User is only allowed inside <Anonymous>");
    refused("Port 21\n", "policy.conf:1: Port is only allowed inside <VirtualHost>");
    refused("<Global>\n<Anonymous /x>\n",
            "policy.conf:2: <Anonymous> is not allowed inside <Global> (opened at "
            "line 1)");
    refused("<VirtualHost 192.0.2.1>\n<VirtualHost 192.0.2.2>\n",
            "policy.conf:2: <VirtualHost> is not allowed inside <VirtualHost>");
    refused("<Anonymous /x>\nUser ftp\nMaxConnectionsPerHost 2\n</Anonymous>\n",
            "policy.conf:3: MaxConnectionsPerHost is not allowed inside <Anonymous /x> "
            "(opened at line 1): it is the server's");
    refused("<Anonymous /a>\nUser ftp\n</Anonymous>\n"
            "<Anonymous /b>\nUser ftp\n</Anonymous>\n",
            "policy.conf:4: <Anonymous /b>: User ftp already has <Anonymous /a> at ");
    /* The same addresses continue a server; some of them are an error. */
    refused("<VirtualHost 192.0.2.1>\n</VirtualHost>\n"
            "<VirtualHost 192.0.2.1:21 192.0.2.9:21>\n</VirtualHost>\n",
            "policy.conf:3: <VirtualHost>: 192.0.2.1:21 is already a server's at ");
    refused("<Global>\nMaxClientsPerNetwork 2 16 48\n</Global>\n",
            "policy.conf:2: MaxClientsPerNetwork: the prefix lengths are the whole "
            "policy's");
    refused("<VirtualHost 192.0.2.1>\n<Class lan>\n",
            "policy.conf:2: <Class> is not allowed inside <VirtualHost>");
}
END_TEST

START_TEST(test_a_virtual_host_named_again_continues_it)
{
    tenv_start(&T, "<VirtualHost 192.0.2.1:21>\n"
                   "  MaxClientsPerHost 1\n"
                   "</VirtualHost>\n"
                   "<VirtualHost 192.0.2.1>\n" /* Port 21: the same server */
                   "  MaxClientsPerUser 1\n"
                   "  <Anonymous /srv/ftp>\n"
                   "    User ftp\n"
                   "    MaxClientsPerUser 5\n" /* over the server's 1 */
                   "    MaxClients 1\n"
                   "  </Anonymous>\n"
                   "</VirtualHost>\n");
    fl_decision d;
    ck_assert_int_eq(login_to("a", "10.0.0.1", "192.0.2.1:21", "ann", &d), FL_ALLOW);
    ck_assert_int_eq(login_to("b", "10.0.0.1", "192.0.2.1:21", "bob", &d),
                     FL_DISCONNECT);
    ck_assert_str_eq(d.limit, "MaxClientsPerHost");
    ck_assert_int_eq(login_to("c", "10.0.0.2", "192.0.2.1:21", "ann", &d),
                     FL_DISCONNECT);
    ck_assert_str_eq(d.limit, "MaxClientsPerUser");
    ck_assert_int_eq(login_to("f1", "10.0.0.3", "192.0.2.1:21", "ftp", &d), FL_ALLOW);
    ck_assert_int_eq(login_to("f2", "10.0.0.4", "192.0.2.1:21", "ftp", &d),
                     FL_DISCONNECT);
    ck_assert_str_eq(d.limit, "MaxClients");
}
END_TEST

static void write_extra(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/extra.conf", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("MaxClientsPerHost 3\n"
          "<VirtualHost 192.0.2.1:21>\n"
          "  MaxClients 4\n"
          "</VirtualHost>\n",
          f);
    fclose(f);
}

START_TEST(test_a_limit_in_proftpds_file_and_a_policys_is_an_error_naming_both)
{
    tenv_start_with(&T, NULL, write_extra);
    /* One of the files is ProFTPD's: mod_ftplimit's, which says so. */
    ck_assert_int_eq(tenv_reload(&T, "ProFTPDLimits on\n"
                                     "MaxClientsPerHost 2\n"
                                     "<VirtualHost 192.0.2.1:21>\n"
                                     "  MaxClients 5\n"
                                     "</VirtualHost>\n"
                                     "Include extra.conf\n"),
                     -1);
    ck_assert_ptr_nonnull(strstr(T.errors.text,
                                 "extra.conf:1: MaxClientsPerHost is set "
                                 "for the main server at "));
    ck_assert_ptr_nonnull(strstr(T.errors.text, "policy.conf:2 too: set each limit"));
    ck_assert_ptr_nonnull(strstr(T.errors.text, "extra.conf:3: MaxClients is set for "
                                                "<VirtualHost 192.0.2.1:21> at "));
    ck_assert_ptr_nonnull(strstr(T.errors.text, "policy.conf:4 too"));
    /* Between a policy's own files, a later one overrides an earlier one. */
    ck_assert_int_eq(tenv_reload(&T, "MaxClientsPerHost 2\n"
                                     "<VirtualHost 192.0.2.1:21>\n"
                                     "  MaxClients 5\n"
                                     "</VirtualHost>\n"
                                     "Include extra.conf\n"),
                     0);
    ck_assert_int_eq(fl_policy_limit(T.e, "MaxClientsPerHost"), 3);
    /* Within one file, a later line overrides an earlier one. */
    ck_assert_int_eq(tenv_reload(&T, "ProFTPDLimits on\nMaxClientsPerHost 2\n"
                                     "MaxClientsPerHost 1\n"),
                     0);
    ck_assert_int_eq(login_to("a", "10.0.0.1", NULL, "ann", NULL), FL_ALLOW);
    ck_assert_int_eq(login_to("b", "10.0.0.1", NULL, "bob", NULL), FL_DISCONNECT);
}
END_TEST

START_TEST(test_ifuser_and_ifclass_blocks_give_their_logins_their_limits)
{
    tenv_start(&T, "<Class lan>\n  From 10.0.0.0/8\n</Class>\n"
                   "MaxClientsPerUser 1\n"
                   "MaxClientsPerClass lan 3\n"
                   "<IfUser admin>\n  MaxClientsPerUser 2\n</IfUser>\n"
                   "<IfClass lan>\n  MaxClientsPerClass lan 1\n</IfClass>\n"
                   "<IfUser OR admin,!nobody>\n  MaxClientsPerClass lan none\n"
                   "</IfUser>\n");
    fl_decision d;
    ck_assert_int_eq(login_to("a", "192.0.2.1", NULL, "ann", &d), FL_ALLOW);
    ck_assert_int_eq(login_to("b", "192.0.2.2", NULL, "ann", &d), FL_DISCONNECT);
    ck_assert_int_eq(login_to("c", "192.0.2.3", NULL, "admin", &d), FL_ALLOW);
    ck_assert_int_eq(login_to("e", "192.0.2.4", NULL, "admin", &d), FL_ALLOW);
    ck_assert_int_eq(login_to("f", "192.0.2.5", NULL, "admin", &d), FL_DISCONNECT);
    ck_assert_str_eq(d.limit, "MaxClientsPerUser");
    ck_assert_int_eq(d.code, 530);
    /* lan: <IfClass lan>'s 1 over the server's 3; <IfUser OR admin,!nobody>
     * would lift it for every name but nobody's, but the class's block is
     * merged first, and takes MaxClientsPerClass out of it. */
    ck_assert_int_eq(login_to("l1", "10.0.0.1", NULL, "nobody", &d), FL_ALLOW);
    ck_assert_int_eq(login_to("l2", "10.0.0.2", NULL, "nobody", &d), FL_DISCONNECT);
    ck_assert_str_eq(d.limit, "MaxClientsPerClass");
    ck_assert_int_eq(login_to("l3", "10.0.0.3", NULL, "carl", &d), FL_DISCONNECT);
}
END_TEST

/* A login whose USER's groups are groups (a comma-separated list; NULL:
 * none said). */
static fl_verdict login_in_groups(const char *sid, const char *addr, const char *user,
                                  const char *groups, fl_decision *d)
{
    fl_verdict v = connect_to(sid, addr, NULL, d);
    if (v == FL_ALLOW)
        v = t_user(&T, sid, user, d);
    if (v == FL_ALLOW && groups != NULL) {
        char copy[256], *names[8], *cursor = copy, *g;
        size_t n = 0;
        snprintf(copy, sizeof copy, "%s", groups);
        while ((g = strsep(&cursor, ",")) != NULL && n < 8)
            names[n++] = g;
        ck_assert_int_eq(fl_user_groups(T.e, fl_session_find(T.e, sid),
                                        (const char *const *)names, n),
                         0);
    }
    if (v == FL_ALLOW)
        v = t_pass(&T, sid, true, NULL, d);
    return v;
}

START_TEST(test_ifgroup_and_ifauthenticated_blocks_merge_in_mod_ifsessions_order)
{
    tenv_start(&T, "<Class lan>\n  From 10.0.0.0/8\n</Class>\n"
                   "<Class office>\n  From 172.16.0.0/12\n</Class>\n"
                   "MaxClientsPerUser 5\n"
                   "MaxClientsPerClass office 1\n"
                   "<IfAuthenticated>\n  MaxClientsPerHost 3\n</IfAuthenticated>\n"
                   /* Before the group's block in the file, merged after it:
                    * the group's MaxClientsPerUser is given first. */
                   "<IfUser carol>\n  MaxClientsPerUser 4\n</IfUser>\n"
                   "<IfGroup staff>\n  MaxClientsPerUser 1\n</IfGroup>\n"
                   /* A group list is AND by default: in neither. */
                   "<IfGroup !staff,!ops>\n  MaxClientsPerUser 2\n</IfGroup>\n"
                   /* <IfAuthenticated> gave MaxClientsPerHost first. */
                   "<IfGroup regex ^dev>\n  MaxClientsPerHost 1\n"
                   "  MaxClientsPerClass lan 1\n</IfGroup>\n");
    fl_decision d;
    /* staff: 1. */
    ck_assert_int_eq(login_in_groups("a1", "192.0.2.1", "alice", "staff", &d),
                     FL_ALLOW);
    ck_assert_int_eq(login_in_groups("a2", "192.0.2.2", "alice", "staff", &d),
                     FL_DISCONNECT);
    ck_assert_str_eq(d.limit, "MaxClientsPerUser");
    /* In neither staff nor ops, or in no group at all: 2. */
    ck_assert_int_eq(login_in_groups("b1", "192.0.2.1", "bob", "users", &d), FL_ALLOW);
    ck_assert_int_eq(login_in_groups("b2", "192.0.2.2", "bob", "users", &d), FL_ALLOW);
    ck_assert_int_eq(login_in_groups("b3", "192.0.2.3", "bob", "users", &d),
                     FL_DISCONNECT);
    ck_assert_int_eq(login_in_groups("e1", "192.0.2.1", "eve", NULL, &d), FL_ALLOW);
    ck_assert_int_eq(login_in_groups("e2", "192.0.2.2", "eve", NULL, &d), FL_ALLOW);
    ck_assert_int_eq(login_in_groups("e3", "192.0.2.3", "eve", NULL, &d),
                     FL_DISCONNECT);
    /* A supplementary group matches the pattern: its MaxClientsPerHost came
     * too late, its MaxClientsPerClass replaces every class's: lan 1, and
     * office none. */
    ck_assert_int_eq(login_in_groups("d1", "198.51.100.1", "dave", "users,devs", &d),
                     FL_ALLOW);
    ck_assert_int_eq(login_in_groups("d2", "198.51.100.1", "dan", "devs", &d),
                     FL_ALLOW);
    ck_assert_int_eq(login_in_groups("d3", "10.0.0.1", "dora", "devs", &d), FL_ALLOW);
    ck_assert_int_eq(login_in_groups("d4", "10.0.0.2", "dirk", "devs", &d),
                     FL_DISCONNECT);
    ck_assert_str_eq(d.limit, "MaxClientsPerClass");
    ck_assert_int_eq(login_in_groups("o1", "172.16.0.1", "olga", "devs", &d), FL_ALLOW);
    ck_assert_int_eq(login_in_groups("o2", "172.16.0.2", "otto", "devs", &d), FL_ALLOW);
    ck_assert_int_eq(login_in_groups("o3", "172.16.0.3", "oleg", NULL, &d),
                     FL_DISCONNECT); /* the server's office 1 */
    /* carol is staff: the group's 1 is merged before her own 4. */
    ck_assert_int_eq(login_in_groups("k1", "203.0.113.1", "carol", "staff", &d),
                     FL_ALLOW);
    ck_assert_int_eq(login_in_groups("k2", "203.0.113.2", "carol", "staff", &d),
                     FL_DISCONNECT);
    /* In ops alone (no group block of its own), her own 4. */
    for (int i = 2; i <= 4; i++) {
        char sid[8], addr[32];
        snprintf(sid, sizeof sid, "k%d", i + 1);
        snprintf(addr, sizeof addr, "203.0.113.%d", i + 1);
        ck_assert_int_eq(login_in_groups(sid, addr, "carol", "ops", &d), FL_ALLOW);
    }
    ck_assert_int_eq(login_in_groups("k9", "203.0.113.9", "carol", "ops", &d),
                     FL_DISCONNECT);
    /* ops: no group block; <IfAuthenticated>'s 3 per host. */
    for (int i = 0; i < 3; i++) {
        char sid[8];
        snprintf(sid, sizeof sid, "f%d", i);
        ck_assert_int_eq(login_in_groups(sid, "192.0.2.77", "frank", "ops", &d),
                         FL_ALLOW);
    }
    ck_assert_int_eq(login_in_groups("f3", "192.0.2.77", "frank", "ops", &d),
                     FL_DISCONNECT);

    /* Groups come after USER, before PASS, and are names. */
    const char *bad[] = {"a\nb"}, *good[] = {"staff"};
    ck_assert_int_eq(connect_to("g", "192.0.2.99", NULL, NULL), FL_ALLOW);
    fl_session *s = fl_session_find(T.e, "g");
    ck_assert_int_eq(fl_user_groups(T.e, s, good, 1), -1);
    ck_assert_int_eq(errno, EPROTO);
    t_user(&T, "g", "gus", NULL);
    ck_assert_int_eq(fl_user_groups(T.e, s, bad, 1), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(fl_user_groups(T.e, s, good, FL_GROUPS_MAX + 1), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(fl_user_groups(T.e, s, good, 1), 0);
    ck_assert_int_eq(t_pass(&T, "g", true, NULL, NULL), FL_ALLOW);
    ck_assert_int_eq(fl_user_groups(T.e, s, good, 1), -1);
    ck_assert_int_eq(errno, EISCONN);

    refused("<IfAuthenticated yes>\n</IfAuthenticated>\n",
            "policy.conf:1: <IfAuthenticated> takes no parameters");
    refused("<IfGroup>\n</IfGroup>\n", "policy.conf:1: <IfGroup>: expected names");
}
END_TEST

START_TEST(test_ifuser_blocks_are_checked_with_file_and_line)
{
    refused("<IfUser admin>\nMaxConnectionsPerHost 2\n</IfUser>\n",
            "policy.conf:2: MaxConnectionsPerHost is not allowed inside <IfUser admin> "
            "(opened at line 1)");
    refused("<IfUser admin>\n", "policy.conf:1: <IfUser admin> is not closed");
    refused("<IfClass>\n</IfClass>\n", "policy.conf:1: <IfClass>: expected names");
    refused("<IfUser regex (>\n</IfUser>\n", "policy.conf:1: <IfUser regex>: ");
    refused("<Anonymous /x>\nUser ftp\n<IfUser a>\n",
            "policy.conf:3: <IfUser> is not allowed inside <Anonymous /x>");
    refused("<IfUser a>\n</IfClass>\n",
            "policy.conf:2: </IfClass> without a matching <IfClass>");
    refused(
        "<IfUser a>\n<Anonymous /x>\nUser ftp\n</Anonymous>\n</IfUser>\n",
        "policy.conf:2: <Anonymous> is not allowed inside <IfUser a> (opened at line "
        "1)");
    refused(
        "<VirtualHost 192.0.2.1>\n<IfUser a>\n</VirtualHost>\n",
        "policy.conf:3: </VirtualHost> before </IfUser>: <IfUser a> opened at line 2 "
        "is not closed");
}
END_TEST

START_TEST(test_directives_the_daemon_owns_are_refused_in_a_block)
{
    tenv_start(&T, NULL);
    ck_assert_int_eq(tenv_reload(&T, "<VirtualHost 192.0.2.1>\n"
                                     "  MaxInstances 5\n"
                                     "  BanOnEvent MaxClientsPerHost 1/00:01:00 "
                                     "00:10:00\n"
                                     "</VirtualHost>\n"),
                     -1);
    ck_assert_ptr_nonnull(strstr(T.errors.text,
                                 "policy.conf:2: MaxInstances is not allowed inside "
                                 "<VirtualHost> (opened at line 1): it is the whole "
                                 "daemon's"));
    ck_assert_ptr_nonnull(strstr(T.errors.text, "policy.conf:3: BanOnEvent"));
}
END_TEST

/* --- bans per server, as mod_ban's -------------------------------------- */

static const char banning[] = "<Global>\n"
                              "  MaxLoginAttempts 1\n"
                              "</Global>\n"
                              "BanOnEvent MaxLoginAttempts 2/00:01:00 01:00:00\n"
                              "BanTable bans.state\n"
                              "<VirtualHost 192.0.2.1:21>\n"
                              "</VirtualHost>\n";

/* A failed login that uses up MaxLoginAttempts 1. */
static void fail_at(const char *sid, const char *addr, const char *server)
{
    ck_assert_int_eq(connect_to(sid, addr, server, NULL), FL_ALLOW);
    t_user(&T, sid, "bob", NULL);
    ck_assert_int_eq(t_pass(&T, sid, false, NULL, NULL), FL_DISCONNECT);
}

static char ban_server[256];

static void on_ban(const void *event_data, void *user_data)
{
    (void)user_data;
    const fl_event_info *info = fl_event_info_of(FL_EV_BAN, event_data);
    snprintf(ban_server, sizeof ban_server, "%s",
             info->server != NULL ? info->server : "(every server)");
}

START_TEST(test_a_rules_ban_is_the_servers_its_events_came_from)
{
    tenv_start(&T, banning);
    ck_assert_int_eq(fl_event_register(T.e, NULL, FL_EV_BAN, on_ban, NULL), 0);
    /* mod_ban counts per server: one event on each makes no ban. */
    fail_at("m1", "10.0.0.1", NULL);
    fail_at("v1", "10.0.0.1", "192.0.2.1:21");
    ck_assert_int_eq(fl_ban_list(T.e, NULL, 0), 0);
    /* A second on the virtual host bans the host from it alone. */
    fail_at("v2", "10.0.0.1", "192.0.2.1:21");
    fl_ban_entry b;
    ck_assert_int_eq(fl_ban_list(T.e, &b, 1), 1);
    ck_assert_str_eq(b.target, "10.0.0.1");
    ck_assert_str_eq(b.server, "192.0.2.1:21");
    ck_assert_str_eq(ban_server, "192.0.2.1:21");
    fl_decision d;
    ck_assert_int_eq(connect_to("v3", "10.0.0.1", "192.0.2.1:21", &d), FL_DISCONNECT);
    ck_assert_str_eq(d.limit, "Ban");
    ck_assert_int_eq(connect_to("m2", "10.0.0.1", NULL, &d), FL_ALLOW);
    /* While it is banned there, its events there make no other ban; the
     * main server's own count goes on. */
    t_user(&T, "m2", "bob", NULL);
    ck_assert_int_eq(t_pass(&T, "m2", false, NULL, NULL), FL_DISCONNECT);
    ck_assert_int_eq(fl_ban_list(T.e, NULL, 0), 2);
    ck_assert_str_eq(ban_server, "main");
    ck_assert_int_eq(connect_to("m3", "10.0.0.1", NULL, NULL), FL_DISCONNECT);

    /* Saved with its server, read back by a policy with that server. */
    tenv_advance(&T, FL_USEC_PER_SEC);
    char path[4096];
    snprintf(path, sizeof path, "%s/bans.state", T.dir);
    char *text = read_file(path);
    ck_assert_ptr_nonnull(text);
    ck_assert_ptr_nonnull(strstr(text, "\"server\":\"192.0.2.1:21\""));
    ck_assert_ptr_nonnull(strstr(text, "\"server\":\"main\""));
    free(text);
    tenv second;
    tenv_start(&second, NULL);
    char policy[8192];
    snprintf(policy, sizeof policy,
             "BanTable %s\n<VirtualHost 192.0.2.1:21>\n</VirtualHost>\n", path);
    ck_assert_int_eq(tenv_reload(&second, policy), 0);
    ck_assert_int_eq(fl_ban_list(second.e, NULL, 0), 2);
    tenv_stop(&second);
    /* ... and skipped, logged, by one without it. */
    tenv_start(&second, NULL);
    trail log;
    trail_reset(&log);
    fl_engine_set_log(second.e, trail_log, &log);
    snprintf(policy, sizeof policy, "BanTable %s\n", path);
    ck_assert_int_eq(tenv_reload(&second, policy), 0);
    ck_assert_int_eq(fl_ban_list(second.e, NULL, 0), 1);
    ck_assert_ptr_nonnull(strstr(log.text, "no server of that name in the policy"));
    tenv_stop(&second);
}
END_TEST

START_TEST(test_ban_options_match_any_server_bans_from_every_server)
{
    tenv_start(&T, "<Global>\n"
                   "  MaxLoginAttempts 1\n"
                   "</Global>\n"
                   "BanOnEvent MaxLoginAttempts 1/00:01:00 01:00:00\n"
                   "BanOptions MatchAnyServer\n"
                   "<VirtualHost 192.0.2.1:21>\n"
                   "</VirtualHost>\n");
    ck_assert_int_eq(fl_event_register(T.e, NULL, FL_EV_BAN, on_ban, NULL), 0);
    fail_at("v1", "10.0.0.1", "192.0.2.1:21");
    fl_ban_entry b;
    ck_assert_int_eq(fl_ban_list(T.e, &b, 1), 1);
    ck_assert_ptr_null(b.server);
    ck_assert_str_eq(ban_server, "(every server)");
    ck_assert_int_eq(connect_to("m1", "10.0.0.1", NULL, NULL), FL_DISCONNECT);
    ck_assert_int_eq(connect_to("v2", "10.0.0.1", "192.0.2.1:21", NULL), FL_DISCONNECT);
    expect_policy_error("BanOptions MatchEveryServer",
                        "unknown option 'MatchEveryServer'", NULL);
}
END_TEST

START_TEST(test_bans_by_hand_name_a_server_or_every_server)
{
    tenv_start(&T, "<VirtualHost 192.0.2.1:21 192.0.2.2:21>\n"
                   "</VirtualHost>\n");
    const char *vhost = "192.0.2.1:21 192.0.2.2:21";
    /* A server by its name, or by one of its addresses. */
    ck_assert_int_eq(
        fl_ban_add(T.e, FL_BAN_HOST, "10.0.0.1", vhost, 60 * FL_USEC_PER_SEC, NULL), 0);
    ck_assert_int_eq(
        fl_ban_add(T.e, FL_BAN_USER, "eve", "192.0.2.2:21", 60 * FL_USEC_PER_SEC, NULL),
        0);
    ck_assert_int_eq(
        fl_ban_add(T.e, FL_BAN_HOST, "10.0.0.2", "main", 60 * FL_USEC_PER_SEC, NULL),
        0);
    ck_assert_int_eq(
        fl_ban_add(T.e, FL_BAN_HOST, "10.0.0.3", NULL, 60 * FL_USEC_PER_SEC, NULL), 0);
    /* No such server: not one the policy has, nor the main one's address. */
    ck_assert_int_eq(fl_ban_add(T.e, FL_BAN_HOST, "10.0.0.4", "198.51.100.1:21",
                                60 * FL_USEC_PER_SEC, NULL),
                     -1);
    ck_assert_int_eq(errno, ENOENT);
    ck_assert_int_eq(fl_ban_list(T.e, NULL, 0), 4);

    ck_assert_int_eq(connect_to("a", "10.0.0.1", "192.0.2.2:21", NULL), FL_DISCONNECT);
    ck_assert_int_eq(connect_to("b", "10.0.0.1", NULL, NULL), FL_ALLOW);
    ck_assert_int_eq(connect_to("c", "10.0.0.2", NULL, NULL), FL_DISCONNECT);
    ck_assert_int_eq(connect_to("d", "10.0.0.2", "192.0.2.1:21", NULL), FL_ALLOW);
    ck_assert_int_eq(connect_to("e", "10.0.0.3", NULL, NULL), FL_DISCONNECT);
    ck_assert_int_eq(connect_to("f", "10.0.0.3", "192.0.2.1:21", NULL), FL_DISCONNECT);
    fl_decision d;
    ck_assert_int_eq(login_to("g", "10.0.0.9", "192.0.2.1:21", "eve", &d),
                     FL_DISCONNECT);
    ck_assert_int_eq(d.code, 530);
    ck_assert_int_eq(login_to("h", "10.0.0.9", NULL, "eve", &d), FL_ALLOW);

    /* Lifting: one server's, or without a server all of the target's. */
    ck_assert_int_eq(
        fl_ban_add(T.e, FL_BAN_HOST, "10.0.0.3", "main", 60 * FL_USEC_PER_SEC, NULL),
        0);
    ck_assert_int_eq(fl_ban_remove(T.e, FL_BAN_HOST, "10.0.0.2", vhost), -1);
    ck_assert_int_eq(errno, ENOENT);
    ck_assert_int_eq(fl_ban_remove(T.e, FL_BAN_HOST, "10.0.0.2", "main"), 0);
    ck_assert_int_eq(fl_ban_remove(T.e, FL_BAN_HOST, "10.0.0.3", NULL), 0);
    ck_assert_int_eq(fl_ban_list(T.e, NULL, 0), 2);
    ck_assert_int_eq(connect_to("i", "10.0.0.3", NULL, NULL), FL_ALLOW);
    ck_assert_int_eq(fl_ban_remove(T.e, FL_BAN_HOST, "10.0.0.3", NULL), -1);
    ck_assert_int_eq(errno, ENOENT);
}
END_TEST

static Suite *scopes_suite(void)
{
    Suite *s = suite_create("scopes");
    TCase *tc = tcase_create("scopes");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, test_each_server_counts_the_same_host_alone);
    tcase_add_test(tc, test_an_address_no_virtual_host_names_is_the_main_servers);
    tcase_add_test(tc, test_global_limits_are_every_servers_unless_it_sets_its_own);
    tcase_add_test(tc,
                   test_an_anonymous_block_counts_its_own_logins_under_its_own_limits);
    tcase_add_test(tc,
                   test_an_anonymous_blocks_reject_passwords_apply_to_its_logins_only);
    tcase_add_test(tc, test_a_reload_changes_a_servers_limit_and_keeps_its_counts);
    tcase_add_test(tc, test_scope_blocks_are_checked_with_file_and_line);
    tcase_add_test(tc, test_a_virtual_host_named_again_continues_it);
    tcase_add_test(tc,
                   test_a_limit_in_proftpds_file_and_a_policys_is_an_error_naming_both);
    tcase_add_test(tc, test_ifuser_and_ifclass_blocks_give_their_logins_their_limits);
    tcase_add_test(tc, test_ifuser_blocks_are_checked_with_file_and_line);
    tcase_add_test(
        tc, test_ifgroup_and_ifauthenticated_blocks_merge_in_mod_ifsessions_order);
    tcase_add_test(tc, test_directives_the_daemon_owns_are_refused_in_a_block);
    tcase_add_test(tc, test_a_rules_ban_is_the_servers_its_events_came_from);
    tcase_add_test(tc, test_ban_options_match_any_server_bans_from_every_server);
    tcase_add_test(tc, test_bans_by_hand_name_a_server_or_every_server);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(scopes_suite()) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
