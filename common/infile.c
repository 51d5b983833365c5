/* infile.c - opening user-named input files without blocking (see infile.h). */
#include "common/infile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What a file that is not a regular one is, for the message. */
static const char *infile_kind(mode_t m) {
    if (S_ISDIR(m)) return "a directory";
    if (S_ISFIFO(m)) return "a FIFO";
    if (S_ISCHR(m)) return "a character device";
    if (S_ISBLK(m)) return "a block device";
    if (S_ISSOCK(m)) return "a socket";
    return "not a plain file";
}

int infile_open(const char *path, char *err, size_t errlen) {
    /* O_NONBLOCK: opening a FIFO read-only would otherwise wait for a writer. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(e));
        close(fd);
        errno = e;
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file (%s)", path, infile_kind(st.st_mode));
        close(fd);
        errno = EINVAL;
        return -1;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
        int e = errno;
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(e));
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

char *infile_read_text(const char *path, size_t max, size_t *len, char *err, size_t errlen) {
    int fd = infile_open(path, err, errlen);
    if (fd < 0) return NULL;
    /* One byte more than allowed: reading it tells a file that is too long. */
    char *buf = malloc(max + 1);
    size_t got = 0;
    ssize_t n = 0;
    while (buf && got <= max && (n = read(fd, buf + got, max + 1 - got)) > 0) got += (size_t)n;
    int e = errno;
    close(fd);
    if (!buf || n < 0) {
        snprintf(err, errlen, "%s: cannot read: %s", path, buf ? strerror(e) : "out of memory");
        free(buf);
        return NULL;
    }
    if (got > max) {
        snprintf(err, errlen, "%s: larger than %zu bytes", path, max);
        free(buf);
        return NULL;
    }
    buf[got] = '\0';
    if (memchr(buf, '\0', got)) {
        snprintf(err, errlen, "%s: not a text file (NUL byte)", path);
        free(buf);
        return NULL;
    }
    *len = got;
    return buf;
}
