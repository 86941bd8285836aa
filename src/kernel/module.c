/*
 * module.c - named components and their load order.
 *
 * A module's place in the load order is a number handed out at load time;
 * events.c sorts listeners by it. Unloading announces itself first (the
 * module's own listeners still hear core.module-unload), then drops what the
 * module registered.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "util/alloc.h"
#include "context.h"

#define MODULE_NAME_MAX 255

static bool module_name_valid(const char *name)
{
    size_t len = name != NULL ? strnlen(name, MODULE_NAME_MAX + 1) : 0;
    if (len == 0 || len > MODULE_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c <= ' ' || c == 0x7f)
            return false;
    }
    return true;
}

fl_module *fl_module_find(fl_engine *e, const char *name)
{
    if (e == NULL || name == NULL)
        return NULL;
    for (fl_module *m = e->modules; m != NULL; m = m->next) {
        if (strcmp(m->name, name) == 0)
            return m;
    }
    return NULL;
}

const char *fl_module_name(const fl_module *m)
{
    return m != NULL ? m->name : NULL;
}

static fl_module *module_load(fl_engine *e, const char *name, bool announce)
{
    if (e == NULL || !module_name_valid(name)) {
        errno = EINVAL;
        return NULL;
    }
    if (fl_module_find(e, name) != NULL) {
        errno = EEXIST;
        return NULL;
    }

    size_t len = strlen(name);
    fl_module *m = fl_calloc(1, sizeof *m + len + 1);
    if (m == NULL)
        return NULL;
    memcpy(m->name, name, len + 1);
    m->order = ++e->module_seq;

    m->prev = e->modules_tail;
    if (e->modules_tail != NULL)
        e->modules_tail->next = m;
    else
        e->modules = m;
    e->modules_tail = m;

    if (announce)
        fl_module_announce(e, m);
    return m;
}

fl_module *fl_module_load(fl_engine *e, const char *name)
{
    return module_load(e, name, true);
}

void fl_module_announce(fl_engine *e, const fl_module *m)
{
    fl_event_generate(e, FL_EV_MODULE_LOAD, m->name);
}

static bool module_is_loaded(fl_engine *e, const fl_module *m)
{
    for (fl_module *it = e->modules; it != NULL; it = it->next) {
        if (it == m)
            return true;
    }
    return false;
}

static void module_unlink(fl_engine *e, fl_module *m)
{
    if (m->prev != NULL)
        m->prev->next = m->next;
    else
        e->modules = m->next;
    if (m->next != NULL)
        m->next->prev = m->prev;
    else
        e->modules_tail = m->prev;
}

fl_module *fl_module_load_builtin(fl_engine *e, const char *name, bool announce)
{
    fl_module *m = module_load(e, name, announce);
    if (m != NULL)
        m->builtin = true;
    return m;
}

static void module_unload(fl_engine *e, fl_module *m, bool announce)
{
    if (announce)
        fl_event_generate(e, FL_EV_MODULE_UNLOAD, m->name);
    (void)fl_timer_remove(e, -1, m);
    (void)fl_event_unregister(e, m, NULL, NULL);
    module_unlink(e, m);
    fl_free(m);
}

void fl_module_unload_builtin(fl_engine *e, fl_module *m, bool announce)
{
    module_unload(e, m, announce);
}

int fl_module_unload(fl_engine *e, fl_module *m)
{
    if (e == NULL || m == NULL || m == FL_ANY_MODULE || !module_is_loaded(e, m)) {
        errno = EINVAL;
        return -1;
    }
    if (m->builtin) {
        errno = EPERM;
        return -1;
    }
    module_unload(e, m, true);
    return 0;
}

void fl_modules_free(fl_engine *e)
{
    fl_module *m = e->modules;
    while (m != NULL) {
        fl_module *next = m->next;
        fl_free(m);
        m = next;
    }
    e->modules = e->modules_tail = NULL;
}
