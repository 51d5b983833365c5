/* progress.h - a single self-overwriting status line for long work.
 *
 * Shown only when stderr is a terminal, at most five times a second, so logs
 * captured to files or by docker stay clean. */
#ifndef GK_PROGRESS_H
#define GK_PROGRESS_H

/* Redraws the progress line if stderr is a terminal and 200 ms have passed. */
void progress_update(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Clears the progress line (call before a final summary). */
void progress_done(void);

#endif
