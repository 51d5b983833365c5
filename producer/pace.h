/* pace.h - paces a stream of events at a target rate for benchmarks.
 *
 * Deadlines are absolute CLOCK_MONOTONIC times advanced by the inter-arrival
 * interval, so sleeping late never makes the average rate drift; a sender
 * that falls behind catches up without sleeping. Poisson arrivals draw
 * exponential intervals from a seeded PRNG, so runs can be repeated and
 * threads given the same seed send at the same moments. */
#ifndef GK_PRODUCER_PACE_H
#define GK_PRODUCER_PACE_H
#include <stdatomic.h>
#include <stdint.h>

typedef enum { PACE_CONSTANT = 0, PACE_POISSON } pace_arrivals;

typedef struct {
    double rate;        /* events per second; 0 means no pacing */
    pace_arrivals arrivals;
    uint64_t rng;       /* splitmix64 state */
    int64_t next_ns;    /* CLOCK_MONOTONIC deadline of the next event */
} pace;

/* Parses "constant" or "poisson". Returns 0, or -1 if unknown. */
int pace_arrivals_parse(const char *name, pace_arrivals *out);

/* Monotonic clock in nanoseconds (the clock deadlines are expressed in). */
int64_t pace_now_ns(void);

/* Starts a schedule whose first event is due at start_ns. */
void pace_init(pace *p, double rate, pace_arrivals arrivals, uint64_t seed, int64_t start_ns);

/* The next inter-arrival interval in nanoseconds (advances the PRNG). */
int64_t pace_interval_ns(pace *p);

/* Sleeps until the current event's deadline, then schedules the next one.
 * Wakes at least every 100 ms to look at *stop and returns -1 as soon as it is
 * non-zero; returns 0 when the event is due. */
int pace_wait(pace *p, const atomic_int *stop);

#endif
