/*
 * ftplimit/policy.h - loading, reloading and describing a policy file.
 *
 * A policy is written in ProFTPD's directive syntax (see ftplimit.conf(5) and
 * doc/directives.md). Errors are reported one per call of the caller's
 * error function, each as "FILE:LINE: what is wrong"; parsing goes on after
 * an error so that every error in a file is reported at once.
 */
#ifndef FTPLIMIT_POLICY_H
#define FTPLIMIT_POLICY_H

#include <ftplimit/engine.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Receives one error or notice message (no trailing newline). */
typedef void (*fl_error_fn)(void *arg, const char *message);

/* First load: core.preparse, parse path, core.postparse. path NULL loads the
 * empty policy (no limits, ProFTPD's defaults). Returns 0, or -1 (errno
 * EINVAL for a policy with errors, reported through err) leaving the engine
 * without a policy. */
FL_EXPORT int fl_engine_load(fl_engine *e, const char *path, fl_error_fn err,
                             void *arg);

/* Reload: core.restart, core.preparse, parse path (NULL: the path loaded
 * last), and on success core.postparse. Counts, sessions and their classes
 * are kept; new limits apply to new decisions only. On failure the old
 * policy stays in force and -1 is returned with the errors reported. */
FL_EXPORT int fl_engine_reload(fl_engine *e, const char *path, fl_error_fn err,
                               void *arg);

/* Close and open again the files the policy's listeners append to (OnEvent
 * ... jsonl), after logrotate has moved them: lines go to a new file of the
 * same name. Counts, bans and the policy are untouched. Returns the number
 * of files that could not be opened (each logged once through the engine's
 * log, and tried again with the next alert). */
FL_EXPORT int fl_engine_reopen(fl_engine *e);

/* The path of the policy in force, or NULL. */
FL_EXPORT const char *fl_engine_policy_path(fl_engine *e);

/* Describe what the policy in force enforces, one line per call of out. */
FL_EXPORT void fl_policy_describe(fl_engine *e,
                                  void (*out)(void *arg, const char *line), void *arg);

#ifdef __cplusplus
}
#endif

#endif
