/*
 * policy/cluster.h - Cluster and its directives (policy/cluster.c).
 */
#ifndef FL_POLICY_CLUSTER_H
#define FL_POLICY_CLUSTER_H

#include "policy/directive.h"

/* Whether a farm counts the limit (ClusterLocal may keep it per node):
 * MaxInstances is the node's own, attempts are the session's. */
bool fl_cluster_farm_limit(enum fl_limit_id id);
const char *fl_cluster_farm_limit_names(void);

void fl_cluster_cfg_init(fl_cluster_cfg *c);
void fl_cluster_cfg_clear(fl_cluster_cfg *c);
void fl_cluster_finish(struct fl_parser *p);
void fl_cluster_describe(const fl_cluster_cfg *c, void (*out)(void *, const char *),
                         void *arg);

/* The directives' handlers, in the parser's own table (directives.c). */
#define FL_CLUSTER_HANDLER(name)                                                       \
    void name(struct fl_parser *p, const struct fl_args *a,                            \
              const struct fl_directive *d)
FL_CLUSTER_HANDLER(fl_cluster_cluster);
FL_CLUSTER_HANDLER(fl_cluster_node);
FL_CLUSTER_HANDLER(fl_cluster_lease);
FL_CLUSTER_HANDLER(fl_cluster_timeout);
FL_CLUSTER_HANDLER(fl_cluster_fail_mode);
FL_CLUSTER_HANDLER(fl_cluster_local);
FL_CLUSTER_HANDLER(fl_cluster_password_file);

#endif
