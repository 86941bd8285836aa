/*
 * events.c - named events and their listeners, per engine.
 *
 * Each event name has a slot holding its listeners in one list, kept sorted
 * by (module load order, registration number), so dispatch is a plain walk.
 *
 * The one idea to hold on to: a listener may change the listener lists while
 * it is being called. Nodes are therefore never freed while their slot is
 * being dispatched; unregistering marks a node removed, and the slot is swept
 * when the outermost dispatch of it returns. A dispatch skips removed nodes,
 * nodes registered after it started (their number is above its horizon), and
 * nodes already running for this event (no listener is re-entered by a nested
 * generate of the event it is handling).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "context.h"
#include "util/uthash_keyed.h"

struct fl_listener {
    struct fl_listener *next;
    fl_module *module;
    uint64_t order;
    uint64_t seq;
    fl_event_cb cb;
    void *user_data;
    unsigned running;
    bool removed;
};

struct fl_event_slot {
    UT_hash_handle hh;
    struct fl_listener *head;
    unsigned dispatching; /* generates of this event on the stack */
    unsigned live;        /* listeners not removed */
    unsigned removed;     /* removed listeners awaiting the sweep */
    char name[];
};

static struct fl_event_slot *slot_lookup(fl_engine *e, const char *event)
{
    const fl_hash_key *hash_key = &e->hash_key;
    struct fl_event_slot *slot;
    HASH_FIND_STR(e->bus.slots, event, slot);
    return slot;
}

/*
 * The engine asks for the same few events at every session (core.exit at
 * each close), by the same string constants, and hashing a name costs more
 * than the rest of a close. So the answer for a name is kept by the
 * caller's pointer, and trusted while no slot has been created or freed
 * since and the name there still reads the same (a caller may reuse a
 * buffer for another name).
 */
static struct fl_event_slot *slot_find_cached(fl_engine *e, const char *event,
                                              bool constant)
{
    struct fl_event_bus *bus = &e->bus;
    struct fl_slot_cache *c = &bus->cache[((uintptr_t)event >> 3) % FL_SLOT_CACHE_SIZE];
    if (c->event == event && c->gen == bus->gen &&
        (constant || strcmp(c->name, event) == 0))
        return c->slot;

    struct fl_event_slot *slot = slot_lookup(e, event);
    size_t len = strlen(event);
    if (len < sizeof c->name) {
        c->event = event;
        c->slot = slot;
        c->gen = bus->gen;
        memcpy(c->name, event, len + 1);
    }
    return slot;
}

static struct fl_event_slot *slot_find(fl_engine *e, const char *event)
{
    return slot_find_cached(e, event, false);
}

static struct fl_event_slot *slot_get(fl_engine *e, const char *event)
{
    const fl_hash_key *hash_key = &e->hash_key;
    struct fl_event_slot *slot = slot_find(e, event);
    if (slot != NULL)
        return slot;

    size_t len = strlen(event);
    slot = fl_calloc(1, sizeof *slot + len + 1);
    if (slot == NULL)
        return NULL;
    memcpy(slot->name, event, len + 1);
    HASH_ADD_KEYPTR(hh, e->bus.slots, slot->name, len, slot);
    if (!FL_HASH_ADDED(slot)) {
        fl_free(slot);
        errno = ENOMEM;
        return NULL;
    }
    e->bus.gen++;
    return slot;
}

/* Free removed listeners, and the slot itself once it has none. */
static void slot_sweep(fl_engine *e, struct fl_event_slot *slot)
{
    if (slot->dispatching > 0)
        return;

    struct fl_listener **pp = &slot->head;
    while (slot->removed > 0 && *pp != NULL) {
        struct fl_listener *l = *pp;
        if (l->removed) {
            *pp = l->next;
            fl_free(l);
            slot->removed--;
        } else {
            pp = &l->next;
        }
    }

    if (slot->head == NULL) {
        HASH_DEL(e->bus.slots, slot);
        fl_free(slot);
        e->bus.gen++;
    }
}

int fl_event_register(fl_engine *e, fl_module *m, const char *event, fl_event_cb cb,
                      void *user_data)
{
    if (e == NULL || event == NULL || cb == NULL) {
        errno = EINVAL;
        return -1;
    }

    struct fl_event_slot *slot = slot_get(e, event);
    if (slot == NULL)
        return -1;

    for (struct fl_listener *l = slot->head; l != NULL; l = l->next) {
        if (!l->removed && l->module == m && l->cb == cb) {
            errno = EEXIST;
            return -1;
        }
    }

    struct fl_listener *nl = fl_calloc(1, sizeof *nl);
    if (nl == NULL) {
        slot_sweep(e, slot); /* frees a slot created just now */
        return -1;
    }
    nl->module = m;
    nl->order = m != NULL ? m->order : FL_CORE_ORDER;
    nl->seq = ++e->bus.seq;
    nl->cb = cb;
    nl->user_data = user_data;

    /* After every listener of an earlier or the same module. */
    struct fl_listener **pp = &slot->head;
    while (*pp != NULL && (*pp)->order <= nl->order)
        pp = &(*pp)->next;
    nl->next = *pp;
    *pp = nl;
    slot->live++;
    return 0;
}

static int slot_unregister(fl_engine *e, struct fl_event_slot *slot, fl_module *m,
                           fl_event_cb cb)
{
    int matched = 0;
    for (struct fl_listener *l = slot->head; l != NULL; l = l->next) {
        /* A wildcard module spares the engine's own: their listeners go
         * when the engine unloads them. */
        if (l->removed || (m != NULL && l->module != m) ||
            (m == NULL && l->module != NULL && l->module->builtin) ||
            (cb != NULL && l->cb != cb))
            continue;
        l->removed = true;
        slot->live--;
        slot->removed++;
        matched++;
    }
    slot_sweep(e, slot);
    return matched;
}

int fl_event_unregister(fl_engine *e, fl_module *m, const char *event, fl_event_cb cb)
{
    if (e == NULL) {
        errno = EINVAL;
        return -1;
    }

    int matched = 0;
    if (event != NULL) {
        struct fl_event_slot *slot = slot_find(e, event);
        if (slot != NULL)
            matched = slot_unregister(e, slot, m, cb);
    } else {
        struct fl_event_slot *slot, *tmp;
        HASH_ITER(hh, e->bus.slots, slot, tmp)
        {
            matched += slot_unregister(e, slot, m, cb);
        }
    }

    if (matched == 0) {
        errno = ENOENT;
        return -1;
    }
    return 0;
}

int fl_event_generate(fl_engine *e, const char *event, const void *event_data)
{
    if (e == NULL || event == NULL) {
        errno = EINVAL;
        return -1;
    }

    struct fl_event_slot *slot = slot_find(e, event);
    if (slot == NULL || slot->live == 0)
        return 0;

    const uint64_t horizon = e->bus.seq;
    int called = 0;

    slot->dispatching++;
    e->bus.depth++;
    for (struct fl_listener *l = slot->head; l != NULL; l = l->next) {
        if (l->removed || l->seq > horizon || l->running > 0)
            continue;
        l->running++;
        l->cb(event_data, l->user_data);
        l->running--;
        called++;
    }
    e->bus.depth--;
    slot->dispatching--;

    if (slot->removed > 0)
        slot_sweep(e, slot);
    if (e->bus.depth == 0 && e->bus.after != NULL) {
        fl_after_dispatch_fn after = e->bus.after;
        e->bus.after = NULL;
        after(e);
    }
    return called;
}

bool fl_event_dispatching(const fl_engine *e)
{
    return e->bus.depth > 0;
}

void fl_event_after_dispatch(fl_engine *e, fl_after_dispatch_fn fn)
{
    if (e->bus.depth == 0)
        fn(e);
    else
        e->bus.after = fn;
}

int fl_event_listening(fl_engine *e, const char *event)
{
    if (e == NULL || event == NULL) {
        errno = EINVAL;
        return -1;
    }
    struct fl_event_slot *slot = slot_find(e, event);
    return slot != NULL ? (int)slot->live : 0;
}

int fl_event_listening_constant(fl_engine *e, const char *event)
{
    struct fl_event_slot *slot = slot_find_cached(e, event, true);
    return slot != NULL ? (int)slot->live : 0;
}

void fl_event_dump(fl_engine *e, fl_dump_fn out, void *arg)
{
    char line[512];

    if (e == NULL || out == NULL)
        return;
    if (e->bus.slots == NULL) {
        out(arg, "no events registered");
        return;
    }

    struct fl_event_slot *slot, *tmp;
    HASH_ITER(hh, e->bus.slots, slot, tmp)
    {
        snprintf(line, sizeof line, "%s: %u listener%s%s", slot->name, slot->live,
                 slot->live == 1 ? "" : "s", slot->dispatching ? " (dispatching)" : "");
        out(arg, line);
        for (struct fl_listener *l = slot->head; l != NULL; l = l->next) {
            if (l->removed)
                continue;
            snprintf(line, sizeof line, "  %s (registration %llu)",
                     l->module != NULL ? l->module->name : "(core)",
                     (unsigned long long)l->seq);
            out(arg, line);
        }
    }
}

void fl_event_bus_free(fl_engine *e)
{
    struct fl_event_slot *slot, *tmp;
    HASH_ITER(hh, e->bus.slots, slot, tmp)
    {
        HASH_DEL(e->bus.slots, slot);
        struct fl_listener *l = slot->head;
        while (l != NULL) {
            struct fl_listener *next = l->next;
            fl_free(l);
            l = next;
        }
        fl_free(slot);
    }
    e->bus.gen++;
}
