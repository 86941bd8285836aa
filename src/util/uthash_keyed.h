/*
 * uthash_keyed.h - how ftplimit configures uthash. Include this, never <uthash.h>.
 *
 * HASH_FUNCTION is keyed: it reads a variable named `hash_key` (a
 * `const fl_hash_key *`) that every function using a table declares, so a
 * table can never be hashed with anything but its engine's secret key, and
 * forgetting the key is a compile error rather than a silent fallback to
 * uthash's unkeyed Jenkins hash.
 *
 * HASH_NONFATAL_OOM makes a failed allocation inside uthash leave the table
 * as it was instead of exiting the process; FL_HASH_ADDED() tells whether an
 * add went in.
 */
#ifndef FL_TABLE_H
#define FL_TABLE_H

#include "util/alloc.h"
#include "util/hash.h"

#define HASH_NONFATAL_OOM 1
#define uthash_malloc(sz) fl_malloc(sz)
#define uthash_free(ptr, sz) fl_free(ptr)
#define HASH_FUNCTION(keyptr, keylen, hashv)                                           \
    ((hashv) = fl_hash(hash_key, (keyptr), (size_t)(keylen)))

#include <uthash.h>

/* True when the preceding HASH_ADD* of item succeeded. */
#define FL_HASH_ADDED(item) ((item)->hh.tbl != NULL)

#endif
