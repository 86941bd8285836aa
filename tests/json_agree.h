/*
 * json_agree.h - the event reader (src/lib/json_read.c) against jansson,
 * for the Check suite and the fuzz target alike.
 */
#ifndef FL_JSON_AGREE_H
#define FL_JSON_AGREE_H

/* NULL if fl_json_read_flat and jansson agree on text (no NUL byte in it):
 * both refuse it, or both take it with the same members; jansson alone
 * takes what is not flat (a real, an array, an object inside), which the
 * reader must refuse, even when a later duplicate key replaces it for
 * jansson. Otherwise what differs, in a static buffer. */
const char *json_read_disagreement(const char *text);

#endif
