/*
 * token.c - session keys and tokens: what lets a session declare itself to
 * ftplimitd whatever uid its process has by then.
 *
 * A ProFTPD session process becomes its user when the user logs in; a
 * daemon restarted after that must still take the session's declaration,
 * and must not take anyone else's. The daemon and the server share a
 * session key, in a file only its owner can read. A session's token is a
 * MAC of its id and address under that key, worked out by the session
 * process before it changes uid (ProFTPD's module then forgets the key): it
 * proves that the declaration is the server's, for that one session,
 * whoever the process is by then.
 *
 * The MAC is SipHash-2-4 under each half of the key, 128 bits in all.
 */
#include "config.h"

#include <ftplimit/client.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/hash.h"

#define KEY_TEXT_LEN (2 * FL_SESSION_KEY_BYTES) /* hex digits in the file */

static const char hex_digits[] = "0123456789abcdef";

static void to_hex(const uint8_t *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex_digits[in[i] >> 4];
        out[2 * i + 1] = hex_digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hex_value(char c)
{
    const char *p = c != '\0' ? strchr(hex_digits, c) : NULL;
    return p != NULL ? (int)(p - hex_digits) : -1;
}

/* Create path holding a new random key, whole or not at all: written
 * under a temporary name, then linked, which fails if the file exists
 * (someone else made it first: theirs is the key). */
static int key_create(const char *path)
{
    uint8_t key[FL_SESSION_KEY_BYTES];
    char text[KEY_TEXT_LEN + 2], tmp[4096];
    if (fl_random_bytes(key, sizeof key) < 0)
        return -1;
    to_hex(key, sizeof key, text);
    explicit_bzero(key, sizeof key);
    strcat(text, "\n");
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.XXXXXX", path) >= sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = mkstemp(tmp); /* mode 0600 */
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, text, strlen(text));
    explicit_bzero(text, sizeof text);
    int rc = n == (ssize_t)(KEY_TEXT_LEN + 1) && fsync(fd) == 0 ? 0 : -1;
    if (n >= 0 && n != (ssize_t)(KEY_TEXT_LEN + 1))
        errno = EIO;
    int saved = errno;
    close(fd);
    if (rc == 0 && link(tmp, path) < 0 && errno != EEXIST) {
        saved = errno;
        rc = -1;
    }
    unlink(tmp);
    errno = saved;
    return rc;
}

int fl_session_key_load(const char *path, bool create, fl_session_key *key)
{
    if (path == NULL || key == NULL) {
        errno = EINVAL;
        return -1;
    }
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && create) {
        if (key_create(path) < 0)
            return -1;
        fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    }
    if (fd < 0)
        return -1;
    struct stat st;
    char text[KEY_TEXT_LEN + 2];
    ssize_t n = -1;
    int err = 0;
    if (fstat(fd, &st) < 0)
        err = errno;
    else if (!S_ISREG(st.st_mode))
        err = EINVAL;
    else if (st.st_mode & 077)
        err = EPERM; /* others could read it, or write one of theirs */
    else if ((n = read(fd, text, sizeof text)) < 0)
        err = errno;
    close(fd);
    if (err == 0 && (n != KEY_TEXT_LEN + 1 || text[KEY_TEXT_LEN] != '\n'))
        err = EINVAL;
    for (size_t i = 0; err == 0 && i < FL_SESSION_KEY_BYTES; i++) {
        int hi = hex_value(text[2 * i]), lo = hex_value(text[2 * i + 1]);
        if (hi < 0 || lo < 0)
            err = EINVAL;
        else
            key->b[i] = (uint8_t)(hi << 4 | lo);
    }
    explicit_bzero(text, sizeof text);
    if (err != 0) {
        explicit_bzero(key, sizeof *key);
        errno = err;
        return -1;
    }
    return 0;
}

int fl_session_token(const fl_session_key *key, const char *sid, const char *address,
                     char out[FL_TOKEN_LEN + 1])
{
    static const char domain[] = "ftplimit session token";
    fl_addr a;
    size_t sid_len = sid != NULL ? strnlen(sid, FL_SID_MAX + 1) : 0;
    if (key == NULL || out == NULL || sid_len == 0 || sid_len > FL_SID_MAX ||
        address == NULL || fl_addr_parse(address, &a) < 0) {
        errno = EINVAL;
        return -1;
    }
    /* domain NUL sid NUL address: no two sessions give the same bytes. */
    uint8_t msg[sizeof domain + FL_SID_MAX + 1 + sizeof a.b];
    size_t len = 0;
    memcpy(msg, domain, sizeof domain);
    len += sizeof domain;
    memcpy(msg + len, sid, sid_len + 1);
    len += sid_len + 1;
    memcpy(msg + len, a.b, sizeof a.b);
    len += sizeof a.b;

    fl_hash_key k0, k1;
    fl_hash_key_from_bytes(&k0, key->b);
    fl_hash_key_from_bytes(&k1, key->b + 16);
    uint64_t mac[2] = {fl_siphash24(&k0, msg, len), fl_siphash24(&k1, msg, len)};
    uint8_t bytes[16];
    for (int i = 0; i < 8; i++) {
        bytes[i] = (uint8_t)(mac[0] >> (8 * i));
        bytes[8 + i] = (uint8_t)(mac[1] >> (8 * i));
    }
    to_hex(bytes, sizeof bytes, out);
    explicit_bzero(&k0, sizeof k0);
    explicit_bzero(&k1, sizeof k1);
    return 0;
}

bool fl_session_token_check(const fl_session_key *key, const char *sid,
                            const char *address, const char *token)
{
    char want[FL_TOKEN_LEN + 1];
    if (token == NULL || strlen(token) != FL_TOKEN_LEN ||
        fl_session_token(key, sid, address, want) < 0)
        return false;
    unsigned char diff = 0; /* every byte compared: the time tells nothing */
    for (size_t i = 0; i < FL_TOKEN_LEN; i++)
        diff |= (unsigned char)(want[i] ^ token[i]);
    return diff == 0;
}
