/*
 * render.c - the STATUS document (JSON) and the METRICS page (Prometheus
 * text exposition format 0.0.4).
 */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ftplimit/json.h>

#include "catalog/limits.h"
#include "cluster.h"
#include "util/buf.h"
#include "server.h"

#define TOP_N 10

/* The limits the status header and the metrics page show: those
 * catalog/limits.def marks, in its order (NULL after the last). */
static const char *shown_limit(size_t *i)
{
    while (*i < FL_L_COUNT && !fl_limit_descs[*i].shown)
        ++*i;
    return *i < FL_L_COUNT ? fl_limit_descs[(*i)++].directive : NULL;
}

static json_t *limit_value(long long v)
{
    return v < 0 ? json_null() : json_integer(v);
}

static json_t *top_json(fl_engine *e, const char *server, fl_top_kind kind)
{
    static fl_top_entry top[TOP_N];
    size_t n = fl_engine_top_in(e, server, kind, top, TOP_N);
    json_t *list = json_array();
    if (n == (size_t)-1)
        n = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "key", fl_json_string(top[i].key));
        if (top[i].conns >= 0) {
            json_object_set_new(o, "conns", json_integer(top[i].conns));
            json_object_set_new(o, "conns_limit", limit_value(top[i].conns_limit));
        }
        json_object_set_new(o, "clients", json_integer(top[i].clients));
        json_object_set_new(o, "clients_limit", limit_value(top[i].clients_limit));
        if (top[i].hosts >= 0) {
            json_object_set_new(o, "hosts", json_integer(top[i].hosts));
            json_object_set_new(o, "hosts_limit", limit_value(top[i].hosts_limit));
        }
        json_array_append_new(list, o);
    }
    return list;
}

/* {"LIMIT":{"refused":N,"dry_run":N},...} of the limits that refused. */
static json_t *refusals_json(const fl_refusal_count *counts, size_t n)
{
    json_t *refused = json_object();
    for (size_t i = 0; i < n; i++) {
        if (counts[i].refused > 0 || counts[i].dry_run > 0) {
            json_t *o = json_object();
            json_object_set_new(o, "refused",
                                json_integer((json_int_t)counts[i].refused));
            json_object_set_new(o, "dry_run",
                                json_integer((json_int_t)counts[i].dry_run));
            json_object_set_new(refused, counts[i].limit, o);
        }
    }
    return refused;
}

#define REFUSAL_KINDS_MAX 32 /* more than the catalog's limits */

/* Each server's counts (limits are counted per server). */
static json_t *servers_json(fl_engine *e)
{
    size_t n = fl_engine_servers(e, NULL, 0);
    fl_server_info *info = calloc(n > 0 ? n : 1, sizeof *info);
    json_t *list = json_array();
    n = info != NULL ? fl_engine_servers(e, info, n) : 0;
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "name", fl_json_string(info[i].name));
        json_object_set_new(o, "in_policy", json_boolean(info[i].in_policy));
        json_object_set_new(o, "sessions", json_integer((json_int_t)info[i].sessions));
        json_object_set_new(o, "clients", json_integer((json_int_t)info[i].clients));
        json_object_set_new(o, "hosts", json_integer((json_int_t)info[i].hosts));
        json_object_set_new(o, "users", json_integer((json_int_t)info[i].users));
        fl_refusal_count counts[REFUSAL_KINDS_MAX];
        size_t nc = fl_engine_refusals_in(e, info[i].name, counts, REFUSAL_KINDS_MAX);
        if (nc != (size_t)-1)
            json_object_set_new(
                o, "refusals",
                refusals_json(counts, nc < REFUSAL_KINDS_MAX ? nc : REFUSAL_KINDS_MAX));
        json_array_append_new(list, o);
    }
    free(info);
    return list;
}

char *render_status_json(struct server *srv, const char *server, size_t *len)
{
    fl_engine *e = srv->engine;
    fl_top_entry probe;
    if (server != NULL &&
        fl_engine_top_in(e, server, FL_TOP_HOSTS, &probe, 1) == (size_t)-1) {
        errno = ENOENT;
        return NULL;
    }
    fl_totals t;
    fl_engine_totals(e, &t);
    json_t *doc = json_object();
    json_object_set_new(doc, "version", json_string(FL_VERSION));
    json_object_set_new(doc, "policy", fl_json_string(fl_engine_policy_path(e)));
    json_object_set_new(doc, "uptime",
                        json_integer((json_int_t)(time(NULL) - srv->started)));

    json_t *totals = json_object();
    json_object_set_new(totals, "sessions", json_integer((json_int_t)t.sessions));
    json_object_set_new(totals, "clients", json_integer((json_int_t)t.clients));
    json_object_set_new(totals, "hosts", json_integer((json_int_t)t.hosts));
    json_object_set_new(totals, "idle_hosts", json_integer((json_int_t)t.idle_hosts));
    json_object_set_new(totals, "users", json_integer((json_int_t)t.users));
    json_object_set_new(totals, "classes", json_integer((json_int_t)t.classes));
    json_object_set_new(totals, "networks", json_integer((json_int_t)t.networks));
    json_object_set_new(totals, "countries", json_integer((json_int_t)t.countries));
    json_object_set_new(totals, "evictions", json_integer((json_int_t)t.evictions));
    json_object_set_new(totals, "daemon_clients",
                        json_integer((json_int_t)srv->nconns));
    json_object_set_new(totals, "watchers", json_integer((json_int_t)srv->nwatchers));
    json_object_set_new(totals, "bans",
                        json_integer((json_int_t)fl_ban_list(e, NULL, 0)));
    json_object_set_new(doc, "totals", totals);

    json_t *lim = json_object();
    size_t at = 0;
    for (const char *name; (name = shown_limit(&at)) != NULL;)
        json_object_set_new(lim, name, limit_value(fl_policy_limit(e, name)));
    json_object_set_new(doc, "limits", lim);

    fl_refusal_count counts[REFUSAL_KINDS_MAX];
    size_t n = fl_engine_refusals(e, counts, REFUSAL_KINDS_MAX);
    json_object_set_new(
        doc, "refusals",
        refusals_json(counts, n < REFUSAL_KINDS_MAX ? n : REFUSAL_KINDS_MAX));

    fl_ban_firewall fw;
    fl_ban_firewall_status(e, &fw);
    if (fw.configured) {
        json_t *f = json_object();
        json_object_set_new(f, "kind", json_string("nftables"));
        json_object_set_new(f, "table", json_string(fw.table));
        json_object_set_new(f, "on", json_boolean(fw.on));
        json_object_set_new(f, "in_kernel", json_integer((json_int_t)fw.in_kernel));
        json_object_set_new(f, "failed", json_integer((json_int_t)fw.failed));
        if (!fw.on)
            json_object_set_new(f, "error", fl_json_string(fw.error));
        json_object_set_new(doc, "firewall", f);
    }

    json_t *farm = cluster_status_json(srv);
    if (farm != NULL)
        json_object_set_new(doc, "cluster", farm);

    json_object_set_new(doc, "servers", servers_json(e));
    if (server != NULL)
        json_object_set_new(doc, "server", fl_json_string(server));
    json_object_set_new(doc, "hosts", top_json(e, server, FL_TOP_HOSTS));
    json_object_set_new(doc, "users", top_json(e, server, FL_TOP_USERS));
    json_object_set_new(doc, "classes", top_json(e, server, FL_TOP_CLASSES));
    json_object_set_new(doc, "networks", top_json(e, server, FL_TOP_NETWORKS));
    json_object_set_new(doc, "countries", top_json(e, server, FL_TOP_COUNTRIES));

    char *text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(doc);
    *len = text != NULL ? strlen(text) : 0;
    return text;
}

/* The pages are written as they go, into a growing buffer (util/buf.h). */

static void put_quoted(fl_buf *p, const char *s)
{
    fl_buf_put_with(p, fl_json_quote, s);
}

struct ban_page {
    fl_buf page;
    size_t n; /* bans on it */
};

static void put_ban(const fl_ban_entry *b, void *arg)
{
    struct ban_page *bp = arg;
    fl_buf *p = &bp->page;
    fl_buf_printf(p, "%s{\"kind\":\"%s\",\"target\":", bp->n++ > 0 ? "," : "",
                  fl_ban_kind_name(b->kind));
    put_quoted(p, b->target);
    if (b->server != NULL) {
        fl_buf_printf(p, ",\"server\":");
        put_quoted(p, b->server);
    }
    fl_buf_printf(p, ",\"remaining\":%lld,\"in_kernel\":%s,\"reason\":",
                  (long long)((b->remaining + FL_USEC_PER_SEC - 1) / FL_USEC_PER_SEC),
                  b->in_kernel ? "true" : "false");
    put_quoted(p, b->reason);
    fl_buf_printf(p, ",\"message\":");
    put_quoted(p, b->message);
    fl_buf_printf(p, "}");
}

/* The BAN LIST document, written as it goes: no JSON tree and no array of
 * entries, whatever the number of bans (200,000 are some 20 MB of text). */
char *render_bans_json(struct server *srv, size_t *len)
{
    struct ban_page bp = {{0}, 0};
    fl_buf *p = &bp.page;
    fl_ban_firewall fw;
    fl_ban_firewall_status(srv->engine, &fw);
    fl_buf_printf(p, "{\"firewall\":%s,\"bans\":[", fw.configured ? "true" : "false");
    fl_ban_each(srv->engine, put_ban, &bp);
    fl_buf_printf(p, "]}");
    if (p->failed || !fl_buf_reserve(p, 0)) {
        free(p->data);
        return NULL;
    }
    *len = p->len;
    return p->data;
}

/* A label's value as the exposition format writes it: \\, \" and \n
 * escaped; cut to fit buf. */
static const char *label_value(const char *v, char *buf, size_t size)
{
    size_t o = 0;
    for (; *v != '\0' && o + 3 < size; v++) {
        if (*v == '\\' || *v == '"' || *v == '\n') {
            buf[o++] = '\\';
            buf[o++] = *v == '\n' ? 'n' : *v;
        } else {
            buf[o++] = *v;
        }
    }
    buf[o] = '\0';
    return buf;
}

static void metric(fl_buf *p, const char *name, const char *type, const char *help)
{
    fl_buf_printf(p, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

char *render_metrics(struct server *srv, size_t *len)
{
    fl_engine *e = srv->engine;
    fl_buf p = {0};
    if (!fl_buf_reserve(&p, 8192))
        return NULL;
    fl_totals t;
    fl_engine_totals(e, &t);
    char label[1024];

    metric(&p, "ftplimit_up", "gauge", "1 while ftplimitd runs.");
    fl_buf_printf(&p, "ftplimit_up 1\n");
    metric(&p, "ftplimit_uptime_seconds", "gauge", "Seconds since ftplimitd started.");
    fl_buf_printf(&p, "ftplimit_uptime_seconds %lld\n",
                  (long long)(time(NULL) - srv->started));
    metric(&p, "ftplimit_sessions", "gauge", "Live FTP control connections.");
    fl_buf_printf(&p, "ftplimit_sessions %zu\n", t.sessions);
    metric(&p, "ftplimit_clients", "gauge", "Authenticated FTP sessions.");
    fl_buf_printf(&p, "ftplimit_clients %zu\n", t.clients);

    /* Per server: ProFTPD counts its limits per server. */
    size_t nservers = fl_engine_servers(e, NULL, 0);
    fl_server_info *info = calloc(nservers > 0 ? nservers : 1, sizeof *info);
    nservers = info != NULL ? fl_engine_servers(e, info, nservers) : 0;
    metric(&p, "ftplimit_server_sessions", "gauge",
           "Live FTP control connections, by server (main, or a <VirtualHost>'s "
           "addresses).");
    for (size_t i = 0; i < nservers; i++)
        fl_buf_printf(&p, "ftplimit_server_sessions{server=\"%s\"} %zu\n",
                      label_value(info[i].name, label, sizeof label), info[i].sessions);
    metric(&p, "ftplimit_server_clients", "gauge",
           "Authenticated FTP sessions, by server.");
    for (size_t i = 0; i < nservers; i++)
        fl_buf_printf(&p, "ftplimit_server_clients{server=\"%s\"} %zu\n",
                      label_value(info[i].name, label, sizeof label), info[i].clients);
    metric(&p, "ftplimit_server_refusals_total", "counter",
           "Decisions that refused a session of a server, by limit (only those that "
           "did); dry_run=\"true\" counts would-be refusals.");
    for (size_t i = 0; i < nservers; i++) {
        fl_refusal_count rc[REFUSAL_KINDS_MAX];
        size_t nrc = fl_engine_refusals_in(e, info[i].name, rc, REFUSAL_KINDS_MAX);
        for (size_t k = 0; nrc != (size_t)-1 && k < nrc && k < REFUSAL_KINDS_MAX; k++) {
            const char *name = label_value(info[i].name, label, sizeof label);
            if (rc[k].refused > 0)
                fl_buf_printf(
                    &p,
                    "ftplimit_server_refusals_total{server=\"%s\",limit=\"%s\","
                    "dry_run=\"false\"} %llu\n",
                    name, rc[k].limit, rc[k].refused);
            if (rc[k].dry_run > 0)
                fl_buf_printf(
                    &p,
                    "ftplimit_server_refusals_total{server=\"%s\",limit=\"%s\","
                    "dry_run=\"true\"} %llu\n",
                    name, rc[k].limit, rc[k].dry_run);
        }
    }
    free(info);

    metric(&p, "ftplimit_table_entries", "gauge", "Entries in the engine's tables.");
    fl_buf_printf(&p, "ftplimit_table_entries{table=\"hosts\"} %zu\n", t.hosts);
    fl_buf_printf(&p, "ftplimit_table_entries{table=\"idle_hosts\"} %zu\n",
                  t.idle_hosts);
    fl_buf_printf(&p, "ftplimit_table_entries{table=\"users\"} %zu\n", t.users);
    fl_buf_printf(&p, "ftplimit_table_entries{table=\"user_hosts\"} %zu\n",
                  t.user_hosts);
    fl_buf_printf(&p, "ftplimit_table_entries{table=\"classes\"} %zu\n", t.classes);
    fl_buf_printf(&p, "ftplimit_table_entries{table=\"networks\"} %zu\n", t.networks);
    fl_buf_printf(&p, "ftplimit_table_entries{table=\"countries\"} %zu\n", t.countries);
    metric(&p, "ftplimit_evictions_total", "counter",
           "Idle hosts evicted to make room under MaxTrackedHosts.");
    fl_buf_printf(&p, "ftplimit_evictions_total %llu\n",
                  (unsigned long long)t.evictions);

    metric(
        &p, "ftplimit_refusals_total", "counter",
        "Decisions that refused, by limit; dry_run=\"true\" counts would-be refusals.");
    fl_refusal_count counts[REFUSAL_KINDS_MAX];
    size_t n = fl_engine_refusals(e, counts, REFUSAL_KINDS_MAX);
    for (size_t i = 0; i < n && i < REFUSAL_KINDS_MAX; i++) {
        fl_buf_printf(&p,
                      "ftplimit_refusals_total{limit=\"%s\",dry_run=\"false\"} %llu\n",
                      counts[i].limit, counts[i].refused);
        fl_buf_printf(&p,
                      "ftplimit_refusals_total{limit=\"%s\",dry_run=\"true\"} %llu\n",
                      counts[i].limit, counts[i].dry_run);
    }

    metric(&p, "ftplimit_events_total", "counter", "Events generated, by name.");
    const char *const *names = fl_event_names();
    for (size_t i = 0; i < srv->nevents; i++)
        fl_buf_printf(&p, "ftplimit_events_total{event=\"%s\"} %llu\n", names[i],
                      (unsigned long long)srv->event_counts[i]);

    metric(&p, "ftplimit_daemon_clients", "gauge",
           "Connections to ftplimitd's socket.");
    fl_buf_printf(&p, "ftplimit_daemon_clients %zu\n", srv->nconns);
    metric(&p, "ftplimit_daemon_watchers", "gauge", "Connections watching events.");
    fl_buf_printf(&p, "ftplimit_daemon_watchers %zu\n", srv->nwatchers);
    metric(&p, "ftplimit_daemon_connections_total", "counter", "Connections accepted.");
    fl_buf_printf(&p, "ftplimit_daemon_connections_total %llu\n",
                  (unsigned long long)srv->connections_total);
    metric(&p, "ftplimit_daemon_protocol_errors_total", "counter",
           "Requests answered ERR.");
    fl_buf_printf(&p, "ftplimit_daemon_protocol_errors_total %llu\n",
                  (unsigned long long)srv->protocol_errors);
    metric(&p, "ftplimit_daemon_permission_denied_total", "counter",
           "Requests refused by AllowSessions, AllowStatus or AllowAdmin.");
    fl_buf_printf(&p, "ftplimit_daemon_permission_denied_total %llu\n",
                  (unsigned long long)srv->permission_denied);
    metric(
        &p, "ftplimit_daemon_logouts_total", "counter",
        "Logins undone by LOGOUT: the server refused them after telling the engine.");
    fl_buf_printf(&p, "ftplimit_daemon_logouts_total %llu\n",
                  (unsigned long long)srv->logouts);
    metric(&p, "ftplimit_daemon_slow_clients_total", "counter",
           "Clients disconnected for not reading their replies.");
    fl_buf_printf(&p, "ftplimit_daemon_slow_clients_total %llu\n",
                  (unsigned long long)srv->slow_clients);
    metric(&p, "ftplimit_daemon_refused_connections_total", "counter",
           "Connections refused: a uid's pending connections at their bound, or no "
           "file descriptor left.");
    fl_buf_printf(&p, "ftplimit_daemon_refused_connections_total %llu\n",
                  (unsigned long long)srv->refused_connections);

    fl_alert_stats a;
    fl_engine_alert_stats(e, &a);
    metric(&p, "ftplimit_alerts_total", "counter",
           "OnEvent alerts by listener kind and outcome: sent, suppressed "
           "(AlertSuppress), "
           "dropped (over ExecMaxRunning), failed (not written or not run).");
    for (fl_alert_output o = 0; o < FL_ALERT_OUTPUTS; o++) {
        const char *name = fl_alert_output_name(o);
        fl_buf_printf(&p,
                      "ftplimit_alerts_total{listener=\"%s\",outcome=\"sent\"} %llu\n",
                      name, a.sent[o]);
        fl_buf_printf(
            &p, "ftplimit_alerts_total{listener=\"%s\",outcome=\"suppressed\"} %llu\n",
            name, a.suppressed[o]);
        fl_buf_printf(
            &p, "ftplimit_alerts_total{listener=\"%s\",outcome=\"dropped\"} %llu\n",
            name, a.dropped[o]);
        fl_buf_printf(
            &p, "ftplimit_alerts_total{listener=\"%s\",outcome=\"failed\"} %llu\n",
            name, a.failed[o]);
    }
    metric(&p, "ftplimit_exec_running", "gauge", "OnEvent exec programs running now.");
    fl_buf_printf(&p, "ftplimit_exec_running %u\n", a.running);
    metric(&p, "ftplimit_exec_killed_total", "counter",
           "OnEvent exec programs killed after ExecTimeout.");
    fl_buf_printf(&p, "ftplimit_exec_killed_total %llu\n", a.killed);
    metric(&p, "ftplimit_bans_in_force", "gauge", "Bans in force.");
    fl_buf_printf(&p, "ftplimit_bans_in_force %zu\n", a.bans);
    metric(&p, "ftplimit_bans_total", "counter",
           "Bans made (by BanOnEvent or by hand).");
    fl_buf_printf(&p, "ftplimit_bans_total %llu\n", a.bans_made);
    metric(&p, "ftplimit_bans_expired_total", "counter", "Bans that ran their time.");
    fl_buf_printf(&p, "ftplimit_bans_expired_total %llu\n", a.bans_expired);
    metric(&p, "ftplimit_ban_table_save_failures_total", "counter",
           "BanTable saves that failed and kept the table as it was.");
    fl_buf_printf(&p, "ftplimit_ban_table_save_failures_total %llu\n",
                  a.ban_save_failures);
    fl_ban_firewall fw;
    fl_ban_firewall_status(e, &fw);
    if (fw.configured) {
        metric(&p, "ftplimit_ban_firewall_up", "gauge",
               "BanFirewall: 1 while its last nftables command worked, else 0.");
        fl_buf_printf(&p, "ftplimit_ban_firewall_up %d\n", fw.on ? 1 : 0);
        metric(&p, "ftplimit_ban_firewall_hosts", "gauge",
               "BanFirewall: hosts in the kernel's sets.");
        fl_buf_printf(&p, "ftplimit_ban_firewall_hosts %zu\n", fw.in_kernel);
        metric(&p, "ftplimit_ban_firewall_commands_total", "counter",
               "BanFirewall: nftables commands, by outcome.");
        fl_buf_printf(&p,
                      "ftplimit_ban_firewall_commands_total{outcome=\"done\"} %llu\n",
                      fw.done);
        fl_buf_printf(&p,
                      "ftplimit_ban_firewall_commands_total{outcome=\"failed\"} %llu\n",
                      fw.failed);
    }

    struct cluster_stats cs;
    cluster_stats(srv, &cs);
    if (cs.on) {
        metric(&p, "ftplimit_cluster_up", "gauge",
               "Cluster: 1 while connected to the farm's Redis, else 0.");
        fl_buf_printf(&p, "ftplimit_cluster_up %d\n", cs.up ? 1 : 0);
        metric(&p, "ftplimit_cluster_nodes", "gauge",
               "Cluster: live nodes at the last heartbeat, this one included.");
        fl_buf_printf(&p, "ftplimit_cluster_nodes %u\n", cs.live_nodes);
        metric(&p, "ftplimit_cluster_round_trips_total", "counter",
               "Cluster: decisions sent to Redis.");
        fl_buf_printf(&p, "ftplimit_cluster_round_trips_total %llu\n",
                      (unsigned long long)cs.round_trips);
        metric(&p, "ftplimit_cluster_round_trip_seconds_total", "counter",
               "Cluster: the decisions' round trips, summed.");
        fl_buf_printf(&p, "ftplimit_cluster_round_trip_seconds_total %.6f\n",
                      cs.rtt_seconds_sum);
        metric(&p, "ftplimit_cluster_errors_total", "counter",
               "Cluster: Redis errors and lost connections.");
        fl_buf_printf(&p, "ftplimit_cluster_errors_total %llu\n",
                      (unsigned long long)cs.errors);
        metric(&p, "ftplimit_cluster_timeouts_total", "counter",
               "Cluster: decisions past ClusterTimeout.");
        fl_buf_printf(&p, "ftplimit_cluster_timeouts_total %llu\n",
                      (unsigned long long)cs.timeouts);
        metric(&p, "ftplimit_cluster_fail_mode_total", "counter",
               "Cluster: decisions ClusterFailMode made, by mode.");
        fl_buf_printf(&p, "ftplimit_cluster_fail_mode_total{mode=\"open\"} %llu\n",
                      (unsigned long long)cs.fail_open);
        fl_buf_printf(&p, "ftplimit_cluster_fail_mode_total{mode=\"closed\"} %llu\n",
                      (unsigned long long)cs.fail_closed);
        metric(&p, "ftplimit_cluster_refusals_total", "counter",
               "Cluster: decisions the farm's counts refused.");
        fl_buf_printf(&p, "ftplimit_cluster_refusals_total %llu\n",
                      (unsigned long long)cs.refusals);
        metric(&p, "ftplimit_cluster_lease_renewals_total", "counter",
               "Cluster: heartbeats answered.");
        fl_buf_printf(&p, "ftplimit_cluster_lease_renewals_total %llu\n",
                      (unsigned long long)cs.lease_renewals);
        metric(&p, "ftplimit_cluster_declarations_total", "counter",
               "Cluster: this node's counts declared anew.");
        fl_buf_printf(&p, "ftplimit_cluster_declarations_total %llu\n",
                      (unsigned long long)cs.declares);
        metric(&p, "ftplimit_cluster_reconnects_total", "counter",
               "Cluster: connection attempts after a loss.");
        fl_buf_printf(&p, "ftplimit_cluster_reconnects_total %llu\n",
                      (unsigned long long)cs.reconnects);
        metric(&p, "ftplimit_cluster_bans_total", "counter",
               "Cluster: bans published to the farm, and applied from it.");
        fl_buf_printf(&p, "ftplimit_cluster_bans_total{way=\"published\"} %llu\n",
                      (unsigned long long)cs.bans_published);
        fl_buf_printf(&p, "ftplimit_cluster_bans_total{way=\"applied\"} %llu\n",
                      (unsigned long long)cs.bans_applied);
    }

    metric(&p, "ftplimit_limit", "gauge",
           "Limits of the policy in force (unset ones omitted).");
    size_t at = 0;
    for (const char *name; (name = shown_limit(&at)) != NULL;) {
        long long v = fl_policy_limit(e, name);
        if (v >= 0)
            fl_buf_printf(&p, "ftplimit_limit{directive=\"%s\"} %lld\n", name, v);
    }

    if (p.failed) {
        free(p.data);
        return NULL;
    }
    *len = p.len;
    return p.data;
}
