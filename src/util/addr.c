/*
 * addr.c - IP addresses as the engine keys and matches them.
 *
 * Every address is held as 16 bytes, IPv4 as an IPv4-mapped IPv6 address.
 * That one choice makes "10.0.0.1" and "::ffff:10.0.0.1" the same host (a
 * ProFTPD defect: it compares strings) and lets one prefix routine serve
 * IPv4 and IPv6 networks alike.
 */
#include "config.h"

#include "util/addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

bool fl_addr_is_v4(const fl_addr *a)
{
    return fl_addr_v4(a);
}

static void addr_set_v4(fl_addr *out, const void *four_bytes)
{
    memcpy(out->b, fl_v4_mapped_prefix, sizeof fl_v4_mapped_prefix);
    memcpy(out->b + 12, four_bytes, 4);
}

int fl_addr_parse(const char *text, fl_addr *out)
{
    struct in_addr v4;
    struct in6_addr v6;

    if (text == NULL || out == NULL) {
        errno = EINVAL;
        return -1;
    }
    if (inet_pton(AF_INET, text, &v4) == 1) {
        addr_set_v4(out, &v4);
        return 0;
    }
    if (inet_pton(AF_INET6, text, &v6) == 1) {
        memcpy(out->b, &v6, 16); /* a mapped address is already normal */
        return 0;
    }
    errno = EINVAL;
    return -1;
}

int fl_addr_from_sockaddr(const struct sockaddr *sa, fl_addr *out)
{
    if (sa == NULL || out == NULL) {
        errno = EINVAL;
        return -1;
    }
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)sa;
        addr_set_v4(out, &sin->sin_addr);
        return 0;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(const void *)sa;
        memcpy(out->b, &sin6->sin6_addr, 16);
        return 0;
    }
    errno = EAFNOSUPPORT;
    return -1;
}

/* Dotted quad, as inet_ntop writes it, without its sprintf: every event
 * and log line of a session formats its address. */
static bool format_v4(const uint8_t b[4], char *buf, size_t size)
{
    char text[16], *o = text;
    for (int i = 0; i < 4; i++) {
        unsigned v = b[i];
        if (v >= 100)
            *o++ = (char)('0' + v / 100);
        if (v >= 10)
            *o++ = (char)('0' + v / 10 % 10);
        *o++ = (char)('0' + v % 10);
        *o++ = i < 3 ? '.' : '\0';
    }
    if ((size_t)(o - text) > size)
        return false;
    memcpy(buf, text, (size_t)(o - text));
    return true;
}

char *fl_addr_format(const fl_addr *a, char *buf, size_t size)
{
    if (size == 0)
        return buf;
    bool ok = fl_addr_is_v4(a)
                  ? format_v4(a->b + 12, buf, size)
                  : inet_ntop(AF_INET6, a->b, buf, (socklen_t)size) != NULL;
    if (!ok)
        buf[0] = '\0';
    return buf;
}

void fl_addr_mask(const fl_addr *a, unsigned bits, fl_addr *out)
{
    uint64_t w[2], m[2];
    fl_addr_words(a, w);
    fl_prefix_masks(bits, m);
    w[0] &= m[0];
    w[1] &= m[1];
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_BIG_ENDIAN__
    w[0] = __builtin_bswap64(w[0]);
    w[1] = __builtin_bswap64(w[1]);
#endif
    memcpy(out->b, w, 16);
}

int fl_cidr_parse(const char *text, fl_addr *net, unsigned *bits)
{
    char buf[64];
    const char *slash = text != NULL ? strchr(text, '/') : NULL;
    if (slash == NULL || (size_t)(slash - text) >= sizeof buf || slash == text) {
        errno = EINVAL;
        return -1;
    }
    memcpy(buf, text, (size_t)(slash - text));
    buf[slash - text] = '\0';

    const char *len_text = slash + 1;
    if (*len_text == '\0' || strspn(len_text, "0123456789") != strlen(len_text) ||
        strlen(len_text) > 3) {
        errno = EINVAL;
        return -1;
    }
    unsigned len = (unsigned)strtoul(len_text, NULL, 10);

    fl_addr a;
    struct in_addr v4;
    if (inet_pton(AF_INET, buf, &v4) == 1) {
        if (len > 32) {
            errno = EINVAL;
            return -1;
        }
        addr_set_v4(&a, &v4);
        len += FL_V4_PREFIX_OFFSET;
    } else if (fl_addr_parse(buf, &a) == 0) {
        if (len > 128) {
            errno = EINVAL;
            return -1;
        }
    } else {
        errno = EINVAL;
        return -1;
    }
    fl_addr_mask(&a, len, net);
    *bits = len;
    return 0;
}

bool fl_text_is_ip_glob(const char *text)
{
    bool wild = false, separator = false;
    for (const char *p = text; *p != '\0'; p++) {
        if (*p == '*' || *p == '?' || *p == '[')
            wild = true;
        else if (*p == '.' || *p == ':')
            separator = true;
        else if (strchr("0123456789abcdefABCDEF]-!", *p) == NULL)
            return false;
    }
    return wild && separator;
}

void fl_endpoint_format(const fl_endpoint *b, char *buf, size_t size)
{
    char text[FL_ADDR_TEXT_MAX];
    fl_addr_format(&b->addr, text, sizeof text);
    if (fl_addr_is_v4(&b->addr))
        snprintf(buf, size, "%s:%u", text, (unsigned)b->port);
    else
        snprintf(buf, size, "[%s]:%u", text, (unsigned)b->port);
}

int fl_endpoint_parse(const char *text, fl_endpoint *out)
{
    char addr[FL_ADDR_TEXT_MAX + 2];
    const char *colon;
    size_t len;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL || close[1] != ':')
            goto bad;
        colon = close + 1;
        text++;
        len = (size_t)(close - text);
    } else {
        /* Without brackets, one colon: "::1:21" is an IPv6 address, not
         * ::1 and a port. */
        colon = strchr(text, ':');
        if (colon == NULL || strchr(colon + 1, ':') != NULL)
            goto bad;
        len = (size_t)(colon - text);
    }
    if (len == 0 || len >= sizeof addr)
        goto bad;
    memcpy(addr, text, len);
    addr[len] = '\0';
    const char *port = colon + 1;
    if (port[0] < '1' || port[0] > '9' || strspn(port, "0123456789") != strlen(port) ||
        strlen(port) > 5 || atol(port) > 65535 || fl_addr_parse(addr, &out->addr) < 0)
        goto bad;
    out->port = (uint16_t)atol(port);
    return 0;
bad:
    errno = EINVAL;
    return -1;
}
