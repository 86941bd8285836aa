/*
 * util/file.h - the files ftplimit writes (jsonl listeners, ftplimitd's log,
 * the ban table), opened so that a link or a special file planted in their
 * place cannot redirect or block the writer.
 */
#ifndef FL_UTIL_FILE_H
#define FL_UTIL_FILE_H

#include <stdbool.h>

/* Open path for writing: appending (append) or emptied, created 0640 if it
 * is missing. A symbolic link (ELOOP) or anything but a regular file
 * (EINVAL: a FIFO or a device, which could block or never end) is refused
 * without waiting. The descriptor is close-on-exec and blocking; -1 with
 * errno on failure. */
int fl_file_open_write(const char *path, bool append);

/* Whether a syslog daemon listens on /dev/log, where syslog(3) writes (and
 * from where it says nothing when none does). Asked of the socket at most
 * once a second. */
bool fl_syslog_reachable(void);

#endif
