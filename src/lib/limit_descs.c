/*
 * limit_descs.c - each limit's directive, event, reply code and default
 * message: what the engine refuses with, and what a client of ftplimitd
 * (mod_ftplimit) names a refusal by.
 */
#include "config.h"

#include "limit.h"

const struct fl_limit_desc fl_limit_descs[FL_L_COUNT] = {
    [FL_L_MAX_INSTANCES] =
        {"MaxInstances", FL_EV_MAX_INSTANCES, 421,
         "Sorry, the maximum number of connections (%m) to this server "
         "are already in use; try again later."},
    [FL_L_RATE] =
        {"MaxConnectionRate", FL_EV_MAX_CONNECTION_RATE, 421,
         "Sorry, this server accepts no more than %m new connections at a time; "
         "try again later."},
    [FL_L_RATE_PER_HOST] = {"MaxConnectionRatePerHost",
                            FL_EV_MAX_CONNECTION_RATE_PER_HOST, 421,
                            "Sorry, your host opened more than %m new connections too "
                            "quickly; try again later."},
    [FL_L_CONNS_PER_HOST] =
        {"MaxConnectionsPerHost", FL_EV_MAX_CONNECTIONS_PER_HOST, 421,
         "Sorry, the maximum number of connections (%m) for your host "
         "are already connected."},
    [FL_L_PER_CLASS] = {"MaxClientsPerClass", FL_EV_MAX_CLIENTS_PER_CLASS, 530,
                        "Sorry, the maximum number of clients (%m) from your class are "
                        "already connected."},
    [FL_L_PER_HOST] = {"MaxClientsPerHost", FL_EV_MAX_CLIENTS_PER_HOST, 530,
                       "Sorry, the maximum number of clients (%m) from your host are "
                       "already connected."},
    [FL_L_PER_NETWORK] =
        {"MaxClientsPerNetwork", FL_EV_MAX_CLIENTS_PER_NETWORK, 530,
         "Sorry, the maximum number of clients (%m) from your network are "
         "already connected."},
    [FL_L_PER_COUNTRY] =
        {"MaxClientsPerCountry", FL_EV_MAX_CLIENTS_PER_COUNTRY, 530,
         "Sorry, the maximum number of clients (%m) from your country (%C) "
         "are already connected."},
    [FL_L_PER_USER] = {"MaxClientsPerUser", FL_EV_MAX_CLIENTS_PER_USER, 530,
                       "Sorry, the maximum number of clients (%m) for this user are "
                       "already connected."},
    [FL_L_CLIENTS] = {"MaxClients", FL_EV_MAX_CLIENTS, 530,
                      "Sorry, the maximum number of allowed clients (%m) are already "
                      "connected."},
    [FL_L_HOSTS_PER_USER] =
        {"MaxHostsPerUser", FL_EV_MAX_HOSTS_PER_USER, 530,
         "Sorry, the maximum number of hosts (%m) for this user are "
         "already connected."},
    [FL_L_LOGIN_ATTEMPTS] = {"MaxLoginAttempts", FL_EV_MAX_LOGIN_ATTEMPTS, 530,
                             "Login incorrect."},
    [FL_L_ANON_REJECT] = {"AnonRejectPasswords", FL_EV_ANON_REJECT_PASSWORDS, 530,
                          "Login incorrect."},
    [FL_L_TABLE_FULL] =
        {"MaxTrackedHosts", FL_EV_TABLE_FULL, 421,
         "Sorry, the server cannot take connections from new hosts right "
         "now; try again later."},
    [FL_L_NO_MEMORY] = {"OutOfMemory", NULL, 421,
                        "Sorry, the server is out of memory; try again later."},
    [FL_L_BAN] = {"Ban", NULL, 421,
                  "Sorry, you are banned from this server for a while."},
};
