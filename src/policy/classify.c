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

#include "util/addr.h"
#include "decide/tables.h"

/* What the items are matched against; the text form of the address only
 * IP globs need, so it is formatted on first use. */
struct client {
    const fl_addr *addr;
    uint64_t words[2]; /* addr as fl_addr_words() gives it */
    const char *dns_name;
    const fl_geo *geo;
    bool have_text;
    char text[FL_ADDR_TEXT_MAX];
};

static const char *client_text(struct client *c)
{
    if (!c->have_text) {
        fl_addr_format(c->addr, c->text, sizeof c->text);
        c->have_text = true;
    }
    return c->text;
}

static bool item_matches(const fl_class_item *it, struct client *c)
{
    const fl_geo *geo = c->geo;
    bool m = false;
    switch (it->kind) {
    case FL_ITEM_ALL:
        m = true;
        break;
    case FL_ITEM_NONE:
        m = false;
        break;
    case FL_ITEM_PREFIX:
        m = fl_words_in_prefix(c->words, it->net_words, it->mask_words);
        break;
    case FL_ITEM_IP_GLOB:
        m = fnmatch(it->pattern, client_text(c), 0) == 0;
        break;
    case FL_ITEM_DNS:
        m = c->dns_name != NULL && fnmatch(it->pattern, c->dns_name, FNM_CASEFOLD) == 0;
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

static bool class_satisfied(const fl_class_def *def, struct client *c)
{
    for (size_t i = 0; i < def->nitems; i++) {
        bool m = item_matches(&def->items[i], c);
        if (m && !def->satisfy_all)
            return true;
        if (!m && def->satisfy_all)
            return false;
    }
    return def->satisfy_all && def->nitems > 0;
}

const fl_class_def *fl_classify(const fl_policy *p, const fl_addr *addr,
                                const char *dns_name, const fl_geo *geo)
{
    struct client c = {.addr = addr, .dns_name = dns_name, .geo = geo};
    fl_addr_words(addr, c.words);
    for (size_t i = 0; i < p->nclasses; i++) {
        if (class_satisfied(&p->classes[i], &c))
            return &p->classes[i];
    }
    return NULL;
}
