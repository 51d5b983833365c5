/* signals.h - graceful shutdown on SIGINT/SIGTERM for every service.
 *
 * The first signal clears the run flag: the service finishes its current batch,
 * flushes, commits and closes. A second signal exits at once with status 130;
 * this is safe because every store (SQLite, LMDB, Kafka offsets) is only ever
 * changed by atomic commits, so the state on disk is always consistent. */
#ifndef GK_SIGNALS_H
#define GK_SIGNALS_H
#include <signal.h>

/* 1 while the service should keep running; cleared by the first signal. */
extern volatile sig_atomic_t signals_run;

/* Installs the SIGINT/SIGTERM handlers and ignores SIGPIPE. */
void signals_install(void);

/* The number of the first signal received, or 0. */
int signals_received(void);

#endif
