/*
 * classify.c - which <Class> a client belongs to.
 *
 * As in ProFTPD, "!item" is the plain negation of item, "Satisfy any" is the
 * OR of a class's items and "Satisfy all" their AND, and a session gets the
 * first class in file order that it satisfies, once, when it connects.
 */
#include "config.h"

#include <fnmatch.h>

#include <string.h>

#include "addr.h"
#include "tables.h"

static bool item_matches(const fl_class_item *it, const fl_addr *addr,
                         const char *addr_text, const char *dns_name,
                         const fl_geo_cache *geo)
{
    bool m = false;
    switch (it->kind) {
    case FL_ITEM_ALL:
        m = true;
        break;
    case FL_ITEM_NONE:
        m = false;
        break;
    case FL_ITEM_PREFIX:
        m = fl_addr_in_prefix(addr, &it->net, it->bits);
        break;
    case FL_ITEM_IP_GLOB:
        m = fnmatch(it->pattern, addr_text, 0) == 0;
        break;
    case FL_ITEM_DNS:
        m = dns_name != NULL && fnmatch(it->pattern, dns_name, FNM_CASEFOLD) == 0;
        break;
    /* An address the databases do not know matches no geographic item,
     * negated or not: "!FromCountry DE" is not a way to match the unknown. */
    case FL_ITEM_COUNTRY:
        if (geo->country[0] == '\0')
            return false;
        m = memcmp(geo->country, it->code, 2) == 0;
        break;
    case FL_ITEM_CONTINENT:
        if (geo->continent[0] == '\0')
            return false;
        m = memcmp(geo->continent, it->code, 2) == 0;
        break;
    case FL_ITEM_ASN:
        if (geo->asn == 0)
            return false;
        m = geo->asn == it->asn;
        break;
    }
    return m != it->negate;
}

static bool class_satisfied(const fl_class_def *c, const fl_addr *addr,
                            const char *addr_text, const char *dns_name,
                            const fl_geo_cache *geo)
{
    for (size_t i = 0; i < c->nitems; i++) {
        bool m = item_matches(&c->items[i], addr, addr_text, dns_name, geo);
        if (m && !c->satisfy_all)
            return true;
        if (!m && c->satisfy_all)
            return false;
    }
    return c->satisfy_all && c->nitems > 0;
}

const fl_class_def *fl_classify(const fl_policy *p, const fl_addr *addr,
                                const char *dns_name, const fl_geo_cache *geo)
{
    char text[FL_ADDR_TEXT_MAX] = "";
    bool have_text = false;

    for (size_t i = 0; i < p->nclasses; i++) {
        const fl_class_def *c = &p->classes[i];
        if (!have_text) {
            /* Only IP globs need the text form; format it once, lazily. */
            for (size_t j = 0; j < c->nitems && !have_text; j++) {
                if (c->items[j].kind == FL_ITEM_IP_GLOB) {
                    fl_addr_format(addr, text, sizeof text);
                    have_text = true;
                }
            }
        }
        if (class_satisfied(c, addr, text, dns_name, geo))
            return c;
    }
    return NULL;
}
