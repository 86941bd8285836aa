/*
 * hash.c - SipHash-1-3 (Aumasson and Bernstein), keyed per engine.
 *
 * One compression round and three finalisation rounds: the variant Rust's
 * HashMap and CPython use for hash tables, fast on the short keys ftplimit
 * hashes (addresses, user names, session ids).
 */
#include "config.h"

#include "util/hash.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#ifdef HAVE_GETRANDOM
#include <sys/random.h>
#endif

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND                                                                       \
    do {                                                                               \
        v0 += v1;                                                                      \
        v1 = ROTL(v1, 13);                                                             \
        v1 ^= v0;                                                                      \
        v0 = ROTL(v0, 32);                                                             \
        v2 += v3;                                                                      \
        v3 = ROTL(v3, 16);                                                             \
        v3 ^= v2;                                                                      \
        v0 += v3;                                                                      \
        v3 = ROTL(v3, 21);                                                             \
        v3 ^= v0;                                                                      \
        v2 += v1;                                                                      \
        v1 = ROTL(v1, 17);                                                             \
        v1 ^= v2;                                                                      \
        v2 = ROTL(v2, 32);                                                             \
    } while (0)

static inline uint64_t load_le64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

/* SipHash with c compression and d finalisation rounds. Always inlined with
 * constant counts, so each variant compiles to straight-line rounds. */
static inline __attribute__((always_inline)) uint64_t
siphash(const fl_hash_key *key, const void *data, size_t len, int c, int d)
{
    const uint8_t *in = data;
    uint64_t v0 = key->k0 ^ 0x736f6d6570736575ULL;
    uint64_t v1 = key->k1 ^ 0x646f72616e646f6dULL;
    uint64_t v2 = key->k0 ^ 0x6c7967656e657261ULL;
    uint64_t v3 = key->k1 ^ 0x7465646279746573ULL;
    uint64_t b = (uint64_t)len << 56;
    const uint8_t *end = in + (len & ~(size_t)7);

    for (; in != end; in += 8) {
        uint64_t m = load_le64(in);
        v3 ^= m;
        for (int i = 0; i < c; i++)
            SIPROUND;
        v0 ^= m;
    }

    switch (len & 7) {
    case 7:
        b |= (uint64_t)in[6] << 48; /* fall through */
    case 6:
        b |= (uint64_t)in[5] << 40; /* fall through */
    case 5:
        b |= (uint64_t)in[4] << 32; /* fall through */
    case 4:
        b |= (uint64_t)in[3] << 24; /* fall through */
    case 3:
        b |= (uint64_t)in[2] << 16; /* fall through */
    case 2:
        b |= (uint64_t)in[1] << 8; /* fall through */
    case 1:
        b |= (uint64_t)in[0];
        break;
    case 0:
        break;
    }

    v3 ^= b;
    for (int i = 0; i < c; i++)
        SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    for (int i = 0; i < d; i++)
        SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t fl_siphash13(const fl_hash_key *key, const void *data, size_t len)
{
    return siphash(key, data, len, 1, 3);
}

uint64_t fl_siphash24(const fl_hash_key *key, const void *data, size_t len)
{
    return siphash(key, data, len, 2, 4);
}

uint32_t fl_hash(const fl_hash_key *key, const void *data, size_t len)
{
    uint64_t h = siphash(key, data, len, 1, 3);
    return (uint32_t)(h ^ (h >> 32));
}

void fl_hash_key_from_bytes(fl_hash_key *key, const uint8_t seed[16])
{
    key->k0 = load_le64(seed);
    key->k1 = load_le64(seed + 8);
}

static int read_urandom(void *out, size_t len)
{
    uint8_t *buf = out;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int saved = n < 0 ? errno : EIO;
            close(fd);
            errno = saved;
            return -1;
        }
        got += (size_t)n;
    }
    close(fd);
    return 0;
}

int fl_random_bytes(void *buf, size_t len)
{
#ifdef HAVE_GETRANDOM
    ssize_t n;
    do {
        n = getrandom(buf, len, 0);
    } while (n < 0 && errno == EINTR);
    if (n == (ssize_t)len)
        return 0;
#endif
    return read_urandom(buf, len);
}

int fl_hash_key_random(fl_hash_key *key)
{
    uint8_t seed[16];
    if (fl_random_bytes(seed, sizeof seed) < 0)
        return -1;
    fl_hash_key_from_bytes(key, seed);
    return 0;
}
