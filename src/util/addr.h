/*
 * addr.h - addresses, prefixes and the address forms a policy may use.
 */
#ifndef FL_ADDR_H
#define FL_ADDR_H

#include <stdint.h>
#include <string.h>

#include <ftplimit/session.h>

/* Prefix lengths are counted in the 128-bit space: an IPv4 /24 is 120. */
#define FL_V4_PREFIX_OFFSET 96

/* The twelve bytes before an IPv4 address in its IPv4-mapped form. */
static const uint8_t fl_v4_mapped_prefix[12] = {0, 0, 0, 0, 0,    0,
                                                0, 0, 0, 0, 0xff, 0xff};

/* fl_addr_is_v4(), inline for the engine's hot paths. */
static inline bool fl_addr_v4(const fl_addr *a)
{
    return memcmp(a->b, fl_v4_mapped_prefix, sizeof fl_v4_mapped_prefix) == 0;
}

/* Parse "ADDRESS/LEN" (IPv4 or IPv6). *bits is in the 128-bit space and the
 * host bits of *net are cleared. 0, or -1/EINVAL. */
int fl_cidr_parse(const char *text, fl_addr *net, unsigned *bits);

/* Clear all but the first bits bits of a into out. */
void fl_addr_mask(const fl_addr *a, unsigned bits, fl_addr *out);

/* An address as two 64-bit words, its first byte most significant: a
 * prefix of bits bits is then the high bits of each word. */
static inline void fl_addr_words(const fl_addr *a, uint64_t w[2])
{
    memcpy(w, a->b, 16);
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_BIG_ENDIAN__
    w[0] = __builtin_bswap64(w[0]);
    w[1] = __builtin_bswap64(w[1]);
#endif
}

static inline void fl_prefix_masks(unsigned bits, uint64_t m[2])
{
    m[0] = bits >= 64 ? ~0ULL : bits == 0 ? 0 : ~0ULL << (64 - bits);
    m[1] = bits >= 128 ? ~0ULL : bits <= 64 ? 0 : ~0ULL << (128 - bits);
}

/* True when words a and net (fl_addr_words) agree under mask m
 * (fl_prefix_masks). Inline: classifying a client tests every prefix of
 * every class. */
static inline bool fl_words_in_prefix(const uint64_t a[2], const uint64_t net[2],
                                      const uint64_t m[2])
{
    return (((a[0] ^ net[0]) & m[0]) | ((a[1] ^ net[1]) & m[1])) == 0;
}

/* True when the first bits bits of a and net agree (false past 128). */
static inline bool fl_addr_in_prefix(const fl_addr *a, const fl_addr *net,
                                     unsigned bits)
{
    if (bits > 128)
        return false;
    uint64_t x[2], y[2], m[2];
    fl_addr_words(a, x);
    fl_addr_words(net, y);
    fl_prefix_masks(bits, m);
    return fl_words_in_prefix(x, y, m);
}

/* True when text is an IP glob: only hex digits, '.', ':' and glob
 * characters, with at least one separator and one of '*', '?', '['
 * (e.g. "192.168.*", "10.?.0.1", "2001:db8::*"). */
bool fl_text_is_ip_glob(const char *text);

/* A server's address and port as "ADDR:PORT" ("[ADDR]:PORT" for IPv6)
 * into buf. */
void fl_endpoint_format(const fl_endpoint *b, char *buf, size_t size);
/* Parse what fl_endpoint_format() writes (a port of 1-65535; an IPv6
 * address in brackets). 0, or -1/EINVAL. */
int fl_endpoint_parse(const char *text, fl_endpoint *out);

#endif
