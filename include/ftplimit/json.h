/*
 * ftplimit/json.h - events and strings as jansson values.
 *
 * One JSON shape for an event everywhere it appears: `ftplimit simulate`,
 * the jsonl listener and ftplimitd's event stream. Requires jansson.
 */
#ifndef FTPLIMIT_JSON_H
#define FTPLIMIT_JSON_H

#include <stdbool.h>

#include <jansson.h>

#include <ftplimit/engine.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A JSON string for any bytes: valid UTF-8 is kept, and each byte that is
 * not part of valid UTF-8 becomes the character U+0080..U+00FF of the same
 * value. NULL s gives JSON null. New reference, NULL only without memory. */
FL_EXPORT json_t *fl_json_string(const char *s);

/* s as a JSON string (NULL: null), as fl_json_string() and jansson's
 * JSON_COMPACT print it, without jansson or any allocation: written to buf
 * as snprintf does; returns the length of the whole text. */
FL_EXPORT size_t fl_json_quote(char *buf, size_t size, const char *s);

/* Add the fields of an event to obj: "event", then for a session event
 * "sid", "address", "user", "class", "limit", "max", "count", "dry_run",
 * "country", "asn" (each only when known), or "module" for
 * core.module-load/unload and "user" for core.create-home. 0, or -1. */
FL_EXPORT int fl_json_add_event(json_t *obj, const char *event, const void *event_data);

/* The event as one line of JSON, without jansson or any allocation:
 * exactly what json_dumps(JSON_COMPACT | JSON_PRESERVE_ORDER) prints for an
 * object filled by fl_json_add_event. Written to buf as snprintf does (cut
 * to size - 1 bytes and NUL-terminated when size > 0); returns the length
 * of the whole text, so a result >= size means a buffer of result + 1. */
FL_EXPORT size_t fl_event_json(char *buf, size_t size, const char *event,
                               const void *event_data);

/* Every event name the library knows (ProFTPD's and ftplimit's own), NULL
 * terminated: what a listener for "*" or "mod_auth.*" subscribes to. */
FL_EXPORT const char *const *fl_event_names(void);

/* True when the shell glob pattern matches one of those names (what OnEvent
 * and WATCH require of a pattern). */
FL_EXPORT bool fl_event_pattern_matches(const char *pattern);

#ifdef __cplusplus
}
#endif

#endif
