/* progress.c - terminal progress line (see progress.h). */
#include "common/progress.h"

#include "common/timeutil.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

static int64_t progress_last_us;
static int progress_shown;

void progress_update(const char *fmt, ...) {
    static int tty = -1;
    if (tty < 0) tty = isatty(STDERR_FILENO);
    if (!tty) return;
    int64_t now = time_mono_us();
    if (now - progress_last_us < 200000) return;
    progress_last_us = now;
    va_list ap;
    va_start(ap, fmt);
    flockfile(stderr);
    fputs("\r\033[K", stderr);
    vfprintf(stderr, fmt, ap);
    fflush(stderr);
    funlockfile(stderr);
    va_end(ap);
    progress_shown = 1;
}

void progress_done(void) {
    if (!progress_shown) return;
    fputs("\r\033[K", stderr);
    progress_shown = 0;
}
