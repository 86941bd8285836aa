/*
 * testutil.c - helpers for the Check suites.
 */
#include "config.h"

#include "testutil.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void trail_add(trail *t, const char *word)
{
    size_t len = strlen(t->text);
    snprintf(t->text + len, sizeof t->text - len, "%s,", word);
}

void trail_reset(trail *t)
{
    t->text[0] = '\0';
}

void trail_log(void *arg, int priority, const char *line)
{
    (void)priority;
    trail_add(arg, line);
}

void mark_cb1(const void *event_data, void *user_data)
{
    (void)event_data;
    mark *m = user_data;
    trail_add(m->trail, m->tag);
}

void mark_cb2(const void *event_data, void *user_data)
{
    mark_cb1(event_data, user_data);
}

void mark_cb3(const void *event_data, void *user_data)
{
    mark_cb1(event_data, user_data);
}

char *tmpdir_new(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/ftplimit-test-XXXXXX", base ? base : "/tmp");
    char *dir = mkdtemp(tmpl);
    ck_assert_msg(dir != NULL, "mkdtemp: %s", strerror(errno));
    return strdup(dir);
}

static int remove_entry(const char *path, const struct stat *sb, int flag,
                        struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void tmpdir_free(char *dir)
{
    if (dir == NULL)
        return;
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
}

char *write_file(const char *dir, const char *name, const char *text)
{
    char *path = malloc(strlen(dir) + strlen(name) + 2);
    ck_assert_ptr_nonnull(path);
    sprintf(path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_msg(f != NULL, "fopen %s: %s", path, strerror(errno));
    fputs(text, f);
    fclose(f);
    return path;
}

char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 2) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
    }
    buf[len] = '\0';
    fclose(f);
    return buf;
}

int run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed;
}
