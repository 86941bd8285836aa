/*
 * alloc.h - the library's only way to get memory.
 *
 * Every allocation goes through these wrappers so that a test build can make
 * the Nth allocation fail and prove that every caller recovers: a refused
 * connection or an error, never a crash or a leak. The installed library is
 * built without the hook and pays nothing for it.
 */
#ifndef FL_ALLOC_H
#define FL_ALLOC_H

#include <stdbool.h>
#include <stddef.h>

void *fl_malloc(size_t size);
void *fl_calloc(size_t nmemb, size_t size);
void *fl_realloc(void *ptr, size_t size);
void *fl_memdup(const void *src, size_t size);
char *fl_strdup(const char *s);
char *fl_strndup(const char *s, size_t n);
void fl_free(void *ptr);

/*
 * A few freed blocks of one size, kept for the next allocation of that
 * size: what the engine allocates and frees at every session (the session,
 * its USER name) costs a pointer swap instead of a free and a malloc, about
 * 100 instructions. At most max blocks wait; memory beyond goes back to
 * malloc at once.
 */
typedef struct fl_block_cache {
    void *head; /* the blocks waiting, linked through their first bytes */
    unsigned n, max;
    size_t size; /* at least sizeof(void *) */
} fl_block_cache;

/* A block of c->size bytes, its contents undefined. NULL/ENOMEM. */
static inline void *fl_block_get(fl_block_cache *c)
{
    void *p = c->head;
    if (p == NULL)
        return fl_malloc(c->size);
    c->head = *(void **)p;
    c->n--;
    return p;
}

/* Give back a block from fl_block_get(c). */
static inline void fl_block_put(fl_block_cache *c, void *p)
{
    if (c->n == c->max) {
        fl_free(p);
        return;
    }
    *(void **)p = c->head;
    c->head = p;
    c->n++;
}

/* size bytes: a block of c's when they fit one, else a malloc of their own.
 * NULL/ENOMEM. */
static inline void *fl_block_alloc(fl_block_cache *c, size_t size)
{
    return size <= c->size ? fl_block_get(c) : fl_malloc(size);
}

/* Give back p from fl_block_alloc(c, size), with the same size. */
static inline void fl_block_release(fl_block_cache *c, void *p, size_t size)
{
    if (size <= c->size)
        fl_block_put(c, p);
    else
        fl_free(p);
}

/* Free the blocks waiting. */
void fl_block_cache_free(fl_block_cache *c);

#ifdef FL_FAULT_INJECTION
/* Make the nth allocation from now fail (1 = the next one); 0 disarms. */
void fl_fault_fail_alloc_at(long n);
/* Allocations made since the last call to fl_fault_fail_alloc_at(). */
long fl_fault_alloc_count(void);
/* True once the armed failure has been delivered. */
bool fl_fault_fired(void);
#endif

#endif
