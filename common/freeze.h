/* freeze.h - notices that the whole process was stopped (SIGSTOP, a frozen
 * VM, a suspended container) and for how long ago it woke.
 *
 * A member of a consumer group stopped past its session is a zombie: the
 * group gave its partitions to another member while it slept. Telling that
 * apart from a session lost while the process ran (a broker stall) needs a
 * clock that only a stop of every thread can fool: a thread whose short
 * sleeps overrun by seconds. The main thread cannot be that clock - a slow
 * store commit is not a stop - and a poll's lateness only sees stops that
 * happened inside the poll. */
#ifndef GK_FREEZE_H
#define GK_FREEZE_H
#include <stdbool.h>
#include <stdint.h>

/* Starts the watching thread (once; later calls do nothing). A sleep of the
 * thread that ends more than stopped_us late counts as a stop. Returns 0, or
 * -1 if the thread could not start (then freeze_thawed_within is false). */
int freeze_watch_start(int64_t stopped_us);

/* Stops and joins the watching thread; safe if it never started. */
void freeze_watch_stop(void);

/* True if the process woke from a stop within the last window_us
 * microseconds (monotonic clock). */
bool freeze_thawed_within(int64_t window_us);

#endif
