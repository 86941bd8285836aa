/*
 * alloc.c - allocation wrappers, with a failure hook in test builds.
 */
#include "config.h"

#include "util/alloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#ifdef FL_FAULT_INJECTION
/* Process-wide on purpose: fault injection is a test harness knob, not state of
 * any engine, and it exists only in the test build of the library. */
static long fault_countdown;
static long fault_allocs;
static bool fault_fired;

void fl_fault_fail_alloc_at(long n)
{
    fault_countdown = n;
    fault_allocs = 0;
    fault_fired = false;
}

long fl_fault_alloc_count(void)
{
    return fault_allocs;
}

bool fl_fault_fired(void)
{
    return fault_fired;
}

static bool fault_should_fail(void)
{
    fault_allocs++;
    if (fault_countdown > 0 && --fault_countdown == 0) {
        fault_fired = true;
        return true;
    }
    return false;
}
#define FAULT_CHECK(ret)                                                               \
    do {                                                                               \
        if (fault_should_fail()) {                                                     \
            errno = ENOMEM;                                                            \
            return (ret);                                                              \
        }                                                                              \
    } while (0)
#else
#define FAULT_CHECK(ret) ((void)0)
#endif

void *fl_malloc(size_t size)
{
    FAULT_CHECK(NULL);
    return malloc(size ? size : 1);
}

/* glibc's calloc() bypasses malloc's per-thread cache, and the engine
 * allocates and frees a small zeroed entry or two at every session: for
 * small sizes malloc() and memset() are several times cheaper. Large
 * blocks keep calloc(), which gets them already zeroed from the kernel. */
#define CALLOC_SMALL 1024

void *fl_calloc(size_t nmemb, size_t size)
{
    FAULT_CHECK(NULL);
    nmemb = nmemb ? nmemb : 1;
    size = size ? size : 1;
    if (nmemb <= CALLOC_SMALL && size <= CALLOC_SMALL && nmemb * size <= CALLOC_SMALL) {
        void *p = malloc(nmemb * size);
        if (p == NULL)
            return NULL;
        /* Compilers turn malloc() and memset(0) back into calloc(). */
        __asm__ volatile("" : : "r"(p) : "memory");
        return memset(p, 0, nmemb * size);
    }
    return calloc(nmemb, size);
}

void *fl_realloc(void *ptr, size_t size)
{
    FAULT_CHECK(NULL);
    return realloc(ptr, size ? size : 1);
}

void *fl_memdup(const void *src, size_t size)
{
    void *p = fl_malloc(size);
    if (p != NULL && size > 0)
        memcpy(p, src, size);
    return p;
}

char *fl_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = fl_malloc(len + 1);
    if (p != NULL) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

char *fl_strdup(const char *s)
{
    return fl_memdup(s, strlen(s) + 1);
}

void fl_free(void *ptr)
{
    free(ptr);
}

void fl_block_cache_free(fl_block_cache *c)
{
    while (c->head != NULL) {
        void *p = c->head;
        c->head = *(void **)p;
        free(p);
    }
    c->n = 0;
}
