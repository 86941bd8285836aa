/*
 * jansson_shim.c - jansson's json_delete, reached past ProFTPD's.
 *
 * ProFTPD exports its bundled ccan-json, whose json_delete() shadows
 * jansson's for every library loaded after the executable: jansson's inline
 * json_decref() in this module would call ProFTPD's json_delete() with a
 * jansson value, and crash. The module's copy of the engine is compiled with
 * -Djson_delete=fl_jansson_delete; this function finds jansson's own
 * json_delete in the library that holds json_loads (the one the module was
 * linked with) and calls it. Nothing else is shared by both: the other
 * exported names of ProFTPD and jansson differ.
 */
#include <dlfcn.h>
#include <jansson.h>
#include <stdlib.h>

void json_delete(json_t *json) /* fl_jansson_delete, by the macro */
{
    static void (*jansson_delete)(json_t *);
    if (jansson_delete == NULL) {
        Dl_info info;
        void *lib = NULL;
        if (dladdr((void *)json_loads, &info) != 0 && info.dli_fname != NULL)
            lib = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
        if (lib != NULL)
            *(void **)&jansson_delete = dlsym(lib, "json_delete");
        if (jansson_delete == NULL)
            abort(); /* cannot happen while jansson is loaded */
    }
    jansson_delete(json);
}
