/*
 * fuzz_policy.c - the policy parser, on whatever an administrator (or a
 * tool that writes policies) may put in a file.
 *
 * The input is written to a policy file in a directory of the target's own
 * and loaded into an engine; when it loads, one session runs through it and
 * the policy is reloaded. Holds for every input: every error names the file
 * and a line; a policy either loads or fails with errors, never silently;
 * a session that ended leaves nothing in the tables.
 *
 * Paths are kept inside the directory: an input that would Include or open
 * a database by an absolute path or a glob (which could read any file of the
 * machine, or walk all of it) is skipped. The directory holds two files to
 * include.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <ftplimit/ftplimit.h>

#include "fuzz.h"

static char dir[] = "/tmp/ftplimit-fuzz-policy-XXXXXX";
static char path[sizeof dir + 16];

static void write_text(const char *name, const char *text)
{
    char p[sizeof dir + 32];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    FUZZ_ASSERT(f != NULL);
    fputs(text, f);
    FUZZ_ASSERT(fclose(f) == 0);
}

static void cleanup(void)
{
    const char *names[] = {"policy.conf", "inc.conf", "nested.conf"};
    char p[sizeof dir + 32];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        unlink(p);
    }
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    FUZZ_ASSERT(mkdtemp(dir) != NULL);
    atexit(cleanup);
    snprintf(path, sizeof path, "%s/policy.conf", dir);
    write_text("inc.conf", "<Class inc>\n  From 10.0.0.0/8 *.example.com\n</Class>\n");
    write_text("nested.conf",
               "MaxClientsPerClass inc 2 \"%c is full\"\nInclude inc.conf\n");
    return 0;
}

/* True when the input could name a file outside the directory. */
static bool reaches_out(const uint8_t *data, size_t size)
{
    bool path_like = memchr(data, '/', size) != NULL ||
                     memchr(data, '*', size) != NULL ||
                     memchr(data, '?', size) != NULL ||
                     memchr(data, '[', size) != NULL || memchr(data, '~', size) != NULL;
    if (!path_like)
        return false;
    static const char *const words[] = {"include", "geoipdatabase"};
    for (size_t w = 0; w < 2; w++) {
        size_t n = strlen(words[w]);
        for (size_t i = 0; i + n <= size; i++) {
            size_t k = 0;
            while (k < n && tolower(data[i + k]) == words[w][k])
                k++;
            if (k == n)
                return true;
        }
    }
    return false;
}

struct errors {
    int n;
};

static void on_error(void *arg, const char *msg)
{
    struct errors *e = arg;
    e->n++;
    /* "FILE:LINE: what" or "FILE: what", FILE one of ours. */
    FUZZ_ASSERT(strncmp(msg, dir, strlen(dir)) == 0);
    FUZZ_ASSERT(strpbrk(msg, "\r\n") == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536 || reaches_out(data, size))
        return 0;
    FILE *f = fopen(path, "w");
    FUZZ_ASSERT(f != NULL);
    FUZZ_ASSERT(fwrite(data, 1, size, f) == size);
    FUZZ_ASSERT(fclose(f) == 0);

    fl_engine_options opts = {
        .no_alerts = true, .no_ban_table = true, .no_firewall = true};
    fl_engine *e = fl_engine_new(&opts);
    FUZZ_ASSERT(e != NULL);
    struct errors errs = {0};
    int rc = fl_engine_load(e, path, on_error, &errs);
    FUZZ_ASSERT((rc == 0) == (errs.n == 0));
    if (rc == 0) {
        fl_connect_info ci = {.sid = "fuzz"};
        fl_addr_parse("10.1.2.3", &ci.addr);
        fl_session *s = NULL;
        fl_decision d;
        FUZZ_ASSERT(fl_connect(e, &ci, &s, &d) == 0);
        if (s != NULL) {
            FUZZ_ASSERT(fl_user(e, s, "anonymous", &d) == 0);
            FUZZ_ASSERT(fl_pass(e, s, true, "a@example.com", &d) == 0);
            FUZZ_ASSERT(d.message[0] == '\0' || strpbrk(d.message, "\r\n") == NULL);
            if (d.verdict != FL_DISCONNECT)
                fl_close(e, s);
        } else {
            FUZZ_ASSERT(d.verdict == FL_DISCONNECT && d.code == 421);
        }
        fl_totals t;
        fl_engine_totals(e, &t);
        FUZZ_ASSERT(t.sessions == 0 && t.clients == 0 && t.users == 0);
        errs.n = 0;
        rc = fl_engine_reload(e, NULL, on_error, &errs);
        FUZZ_ASSERT(rc == 0 && errs.n == 0); /* the same file loads again */
    }
    fl_engine_free(e);
    return 0;
}
