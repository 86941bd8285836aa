/*
 * util/file.c - opening the files ftplimit writes (util/file.h).
 */
#include "config.h"

#include "util/file.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int fl_file_open_write(const char *path, bool append)
{
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK |
                (append ? O_APPEND : O_TRUNC);
    int fd = open(path, flags, 0640);
    if (fd < 0)
        return -1;
    struct stat st;
    int err = fstat(fd, &st) < 0 ? errno : !S_ISREG(st.st_mode) ? EINVAL : 0;
    if (err != 0) {
        close(fd);
        errno = err;
        return -1;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
        err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

bool fl_syslog_reachable(void)
{
    static struct timespec asked;
    static bool reachable;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (asked.tv_sec != 0 && now.tv_sec == asked.tv_sec)
        return reachable;
    asked = now;
    struct sockaddr_un sun = {.sun_family = AF_UNIX, .sun_path = "/dev/log"};
    reachable = false;
    for (int type = SOCK_DGRAM; !reachable; type = SOCK_STREAM) {
        int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
        reachable = fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0;
        if (fd >= 0)
            close(fd);
        if (type == SOCK_STREAM)
            break;
    }
    return reachable;
}
