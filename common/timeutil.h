/* timeutil.h - clocks used across the pipeline.
 *
 * Wall-clock microseconds are carried in Kafka headers and ack payloads so the
 * analysis can measure sub-millisecond delays; monotonic time is for rates. */
#ifndef GK_TIMEUTIL_H
#define GK_TIMEUTIL_H
#include <stdint.h>

/* Microseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t time_now_us(void);

/* Microseconds from an arbitrary fixed point (CLOCK_MONOTONIC). */
int64_t time_mono_us(void);

/* CPU microseconds used by this process, all threads (CLOCK_PROCESS_CPUTIME_ID). */
int64_t time_cpu_us(void);

#endif
