/*
 * testutil.h - small helpers the Check suites share.
 */
#ifndef FL_TESTUTIL_H
#define FL_TESTUTIL_H

#include <check.h>
#include <stddef.h>

/* A log of what listeners saw, as "a,b,c,". */
typedef struct trail {
    char text[8192];
} trail;

void trail_add(trail *t, const char *word);
void trail_reset(trail *t);
/* An fl_engine_set_log function: each log line is added to the trail arg. */
void trail_log(void *arg, int priority, const char *line);

/* A tag a listener appends to a trail when it is called. */
typedef struct mark {
    trail *trail;
    const char *tag;
} mark;

/* Listeners that append their mark's tag (three distinct functions, so one
 * module can register several). */
void mark_cb1(const void *event_data, void *user_data);
void mark_cb2(const void *event_data, void *user_data);
void mark_cb3(const void *event_data, void *user_data);

/* A fresh temporary directory, removed with everything in it by tmpdir_free. */
char *tmpdir_new(void);
void tmpdir_free(char *dir);

/* Write text to dir/name; returns the malloc'd path. */
char *write_file(const char *dir, const char *name, const char *text);

/* Read a whole file into a malloc'd string (NULL if it cannot be read). */
char *read_file(const char *path);

/* Run a suite with one test case per tcase list and return the failure count. */
int run_suite(Suite *s);

#endif
