/* infile.h - opening an input file named by a user without ever blocking on
 * it: a FIFO, a terminal, a socket or a device is refused at once instead of
 * waited on, and so is a directory. The xlsx reader and the option parser's
 * properties files take their inputs through it. No dependencies, so that the
 * xlsx reader (and its fuzz targets) can use it alone. */
#ifndef GK_INFILE_H
#define GK_INFILE_H
#include <stddef.h>

/* Opens path read-only. The open itself cannot block (O_NONBLOCK, which is
 * cleared again afterwards) and the file must be a regular file.
 * Returns the descriptor (close-on-exec), or -1 with a one-line reason
 * naming the path in err: "PATH: cannot read: No such file or directory",
 * "PATH: not a regular file (a FIFO)". errno is left as the cause (ENOENT,
 * EACCES, ... or EINVAL for a file that is not a regular one). */
int infile_open(const char *path, char *err, size_t errlen);

/* Reads the whole of path (opened by infile_open) as text: at most max
 * bytes, no NUL byte. Returns a NUL-terminated buffer the caller frees, its
 * length in *len, or NULL with a one-line reason naming the path ("cannot
 * read: ...", "larger than MAX bytes", "not a text file (NUL byte)"). The
 * option parser's properties files and the producer's rate curves use it. */
char *infile_read_text(const char *path, size_t max, size_t *len, char *err, size_t errlen);

#endif
