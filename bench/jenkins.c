/*
 * jenkins.c - what a uthash with the default hash does with crafted keys.
 *
 * Kept in its own file: it includes <uthash.h> without ftplimit's keyed
 * HASH_FUNCTION, exactly as a program that trusts the default would.
 */
#include "config.h"

#include "jenkins.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uthash.h>

struct item {
    UT_hash_handle hh;
    char name[24];
};

unsigned jenkins_hash(const char *s, size_t len)
{
    unsigned hv;
    HASH_JEN(s, len, hv);
    return hv;
}

static double lookup_seconds(const char (*names)[24], unsigned n)
{
    struct item *table = NULL, *items = calloc(n, sizeof *items);
    if (items == NULL)
        abort();
    for (unsigned i = 0; i < n; i++) {
        memcpy(items[i].name, names[i], sizeof items[i].name);
        HASH_ADD_STR(table, name, &items[i]);
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    unsigned found = 0;
    for (int round = 0; round < 5; round++) {
        for (unsigned i = 0; i < n; i++) {
            struct item *it;
            HASH_FIND_STR(table, names[i], it);
            found += it != NULL;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    HASH_CLEAR(hh, table);
    free(items);
    if (found != 5 * n)
        abort();
    return (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
}

double jenkins_table_ratio(const char (*crafted)[24], const char (*randoms)[24],
                           unsigned n)
{
    return lookup_seconds(crafted, n) / lookup_seconds(randoms, n);
}
