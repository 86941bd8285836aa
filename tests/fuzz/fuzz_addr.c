/*
 * fuzz_addr.c - addresses, CIDR prefixes and IP globs, as policies and
 * clients write them.
 *
 * Holds for every input: parsing never reads past the text; an address that
 * parses formats to text that parses to the same address; a prefix that
 * parses has no host bits set and contains its own network.
 */
#include "config.h"

#include <string.h>

#include "util/addr.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 256)
        return 0;
    char text[257];
    memcpy(text, data, size);
    text[size] = '\0';

    fl_addr a, back;
    if (fl_addr_parse(text, &a) == 0) {
        char buf[FL_ADDR_TEXT_MAX];
        fl_addr_format(&a, buf, sizeof buf);
        FUZZ_ASSERT(strlen(buf) < sizeof buf);
        FUZZ_ASSERT(fl_addr_parse(buf, &back) == 0);
        FUZZ_ASSERT(memcmp(&a, &back, sizeof a) == 0);
        FUZZ_ASSERT(fl_addr_is_v4(&a) == (strchr(buf, ':') == NULL));
    }

    fl_addr net, masked;
    unsigned bits = 999;
    if (fl_cidr_parse(text, &net, &bits) == 0) {
        FUZZ_ASSERT(bits <= 128);
        fl_addr_mask(&net, bits, &masked);
        FUZZ_ASSERT(memcmp(&net, &masked, sizeof net) == 0);
        FUZZ_ASSERT(fl_addr_in_prefix(&net, &net, bits));
        FUZZ_ASSERT(fl_addr_in_prefix(&net, &net, 0));
    }

    if (fl_text_is_ip_glob(text))
        FUZZ_ASSERT(strpbrk(text, "*?[") != NULL);
    return 0;
}
