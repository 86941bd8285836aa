/*
 * jenkins.h - uthash with its default, unkeyed Jenkins hash, for comparison.
 */
#ifndef FL_BENCH_JENKINS_H
#define FL_BENCH_JENKINS_H

#include <stddef.h>

/* uthash's HASH_JEN of len bytes at s. */
unsigned jenkins_hash(const char *s, size_t len);

/* Time to find each of n names in a plain uthash (default hash) built from
 * them: crafted names over random names. */
double jenkins_table_ratio(const char (*crafted)[24], const char (*randoms)[24],
                           unsigned n);

#endif
