/*
 * hash.h - the keyed hash every ftplimit table uses.
 *
 * uthash's default (Jenkins) hash is unkeyed: an attacker who picks user names
 * or addresses inside their own /64 can make every key land in one bucket and
 * turn each lookup into a list walk. SipHash-1-3 with a per-engine random key
 * makes the bucket of a key unpredictable to anyone who does not know the key.
 */
#ifndef FL_HASH_H
#define FL_HASH_H

#include <stddef.h>
#include <stdint.h>

typedef struct fl_hash_key {
    uint64_t k0, k1;
} fl_hash_key;

/* SipHash-1-3 of len bytes at data under key, folded to the 32 bits uthash keeps. */
uint32_t fl_hash(const fl_hash_key *key, const void *data, size_t len);

/* The full 64-bit SipHash-1-3, for callers that want more bits. */
uint64_t fl_siphash13(const fl_hash_key *key, const void *data, size_t len);

/* SipHash-2-4: the same code with the paper's round counts, so that the
 * reference test vectors check the implementation. */
uint64_t fl_siphash24(const fl_hash_key *key, const void *data, size_t len);

/*
 * A keyed mix of a 64-bit number, for numbers no client chooses (the
 * engine's own session ids, handed out in sequence): a multiply-xorshift
 * with the key added at both steps. It spreads consecutive numbers over the
 * buckets as well as SipHash does, in a tenth of the instructions, and
 * which numbers share a bucket depends on the key.
 */
static inline uint32_t fl_hash_number(const fl_hash_key *key, uint64_t n)
{
    uint64_t z = n + key->k0;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z ^= key->k1;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (uint32_t)(z ^ (z >> 32));
}

/* len bytes from the kernel's random source; 0, or -1/errno. */
int fl_random_bytes(void *buf, size_t len);

/* Fill key from the kernel's random source; 0 on success, -1/errno on failure. */
int fl_hash_key_random(fl_hash_key *key);

/* Set key from 16 caller bytes (tests and reproducible benchmarks). */
void fl_hash_key_from_bytes(fl_hash_key *key, const uint8_t seed[16]);

#endif
