/*
 * fuzz.h - what the libFuzzer targets share (doc/hacking.md).
 *
 * Each target checks what must hold for every input, not only that nothing
 * crashes: FUZZ_ASSERT aborts, which libFuzzer reports as a crash with the
 * input that caused it.
 */
#ifndef FL_FUZZ_H
#define FL_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional: only a target with set-up of its own defines it. */
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_ASSERT(cond)                                                              \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "%s:%d: FUZZ_ASSERT(%s) failed\n", __FILE__, __LINE__,     \
                    #cond);                                                            \
            abort();                                                                   \
        }                                                                              \
    } while (0)

/* The input as a NUL-terminated string (NUL bytes inside kept), malloc'd;
 * running out of memory aborts, as a fuzzer should see it. */
static inline char *fuzz_text(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    FUZZ_ASSERT(text != NULL);
    memcpy(text, data, size);
    text[size] = '\0';
    return text;
}

#endif
