/*
 * fuzz_event.c - the EVENT lines mod_ftplimit reads from ftplimitd, read
 * without jansson (src/lib/json_read.c).
 *
 * Holds for every input (up to its first NUL byte, where the client's line
 * ends): the reader and jansson agree -- both refuse it, or both take it
 * with the same members -- except that the reader refuses what is not flat.
 */
#include "config.h"

#include "fuzz.h"
#include "json_agree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    const char *why = json_read_disagreement(text);
    if (why != NULL)
        fprintf(stderr, "fuzz_event: %s\n", why);
    FUZZ_ASSERT(why == NULL);
    free(text);
    return 0;
}
