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

#ifdef FL_FAULT_INJECTION
/* Make the nth allocation from now fail (1 = the next one); 0 disarms. */
void fl_fault_fail_alloc_at(long n);
/* Allocations made since the last call to fl_fault_fail_alloc_at(). */
long fl_fault_alloc_count(void);
/* True once the armed failure has been delivered. */
bool fl_fault_fired(void);
#endif

#endif
