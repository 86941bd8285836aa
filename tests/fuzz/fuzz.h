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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_ASSERT(cond)                                                              \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "%s:%d: FUZZ_ASSERT(%s) failed\n", __FILE__, __LINE__,     \
                    #cond);                                                            \
            abort();                                                                   \
        }                                                                              \
    } while (0)

#endif
