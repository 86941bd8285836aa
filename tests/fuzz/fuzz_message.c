/*
 * fuzz_message.c - %-expansion of reply messages, with attacker-chosen
 * values (a user name is whatever the client sent).
 *
 * The input is split at NUL bytes into the template and the values. Holds
 * for every input: the output is NUL-terminated within its size and holds
 * no control character, so no reply can be cut short or another injected.
 */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "decide/message.h"

/* The next NUL-terminated field of the input, or NULL when none is left. */
static const char *field(char **cursor, const char *end)
{
    if (*cursor >= end)
        return NULL;
    const char *f = *cursor;
    *cursor += strlen(f) + 1;
    return f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > 8192)
        return 0;
    /* The first byte picks the output size (1 to 512), the rest is text. */
    size_t out_size = 1 + (size_t)data[0] * 2;
    char *copy = fuzz_text(data + 1, size - 1);
    char *cursor = copy, *end = copy + size - 1;
    const char *tmpl = field(&cursor, end);
    fl_message_vars v = {
        .max = (long long)(data[0] % 7) - 1,
        .count = (long long)(data[0] % 5) * 1000003LL - 1,
        .user = field(&cursor, end),
        .address = field(&cursor, end),
        .class_name = field(&cursor, end),
        .country = field(&cursor, end),
    };
    if (tmpl == NULL)
        tmpl = "";

    char *out = malloc(out_size + 1);
    FUZZ_ASSERT(out != NULL);
    out[out_size] = 'X'; /* a guard past the size given */
    fl_message_expand(out, out_size, tmpl, &v);
    size_t len = strnlen(out, out_size);
    FUZZ_ASSERT(len < out_size);
    FUZZ_ASSERT(out[out_size] == 'X');
    for (size_t i = 0; i < len; i++)
        FUZZ_ASSERT((unsigned char)out[i] >= 0x20 && out[i] != 0x7f);
    free(out);
    free(copy);
    return 0;
}
