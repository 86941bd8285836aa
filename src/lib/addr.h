/*
 * addr.h - addresses, prefixes and the address forms a policy may use.
 */
#ifndef FL_ADDR_H
#define FL_ADDR_H

#include <ftplimit/session.h>

/* Prefix lengths are counted in the 128-bit space: an IPv4 /24 is 120. */
#define FL_V4_PREFIX_OFFSET 96

/* Parse "ADDRESS/LEN" (IPv4 or IPv6). *bits is in the 128-bit space and the
 * host bits of *net are cleared. 0, or -1/EINVAL. */
int fl_cidr_parse(const char *text, fl_addr *net, unsigned *bits);

/* Clear all but the first bits bits of a into out. */
void fl_addr_mask(const fl_addr *a, unsigned bits, fl_addr *out);

/* True when the first bits bits of a and net agree. */
bool fl_addr_in_prefix(const fl_addr *a, const fl_addr *net, unsigned bits);

/* True when text is an IP glob: only hex digits, '.', ':' and glob
 * characters, with at least one separator and one of '*', '?', '['
 * (e.g. "192.168.*", "10.?.0.1", "2001:db8::*"). */
bool fl_text_is_ip_glob(const char *text);

#endif
