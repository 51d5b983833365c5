/* pace.h - paces a stream of events at a target rate for benchmarks.
 *
 * Deadlines are absolute CLOCK_MONOTONIC times advanced by the inter-arrival
 * interval, so sleeping late never makes the average rate drift; a sender
 * that falls behind catches up without sleeping. Poisson arrivals draw
 * exponential intervals from a seeded PRNG, so runs can be repeated and
 * threads given the same seed send at the same moments.
 *
 * A rate that varies (pace_curve.h) is followed by thinning, a
 * non-homogeneous Poisson process: candidate arrivals come at the curve's
 * peak rate (exponential intervals), and each is kept with probability
 * rate(t) / peak, t being its time since the start. Candidates and the coin
 * of each come from the one seeded PRNG, so threads with the same seed, curve
 * and start keep exactly the same arrivals. */
#ifndef GK_PRODUCER_PACE_H
#define GK_PRODUCER_PACE_H
#include "producer/pace_curve.h"

#include <stdatomic.h>
#include <stdint.h>

typedef enum { PACE_CONSTANT = 0, PACE_POISSON } pace_arrivals;

/* Candidates thinned in one step at most: a quiet stretch of the curve
 * (a rate near 0; one of exactly 0 is skipped whole) costs bounded work
 * between looks at the stop flag. */
#define PACE_THIN_BATCH 1024

typedef struct {
    double rate;        /* events per second (with a curve: its peak); 0 means no pacing */
    pace_arrivals arrivals;
    uint64_t rng;       /* splitmix64 state */
    int64_t next_ns;    /* CLOCK_MONOTONIC time of the next event or thinning step */
    int due;            /* 1: next_ns is an event's deadline; 0: only where thinning paused */
    const pace_curve *curve; /* NULL: a constant rate */
    int64_t start_ns;   /* the curve's time 0 */
} pace;

/* Parses "constant" or "poisson". Returns 0, or -1 if unknown. */
int pace_arrivals_parse(const char *name, pace_arrivals *out);

/* Monotonic clock in nanoseconds (the clock deadlines are expressed in). */
int64_t pace_now_ns(void);

/* Starts a schedule whose first event is due at start_ns. */
void pace_init(pace *p, double rate, pace_arrivals arrivals, uint64_t seed, int64_t start_ns);

/* Starts a schedule that follows curve (kept by the caller until the end)
 * from start_ns, with Poisson arrivals thinned from its peak rate; the first
 * event comes at the first kept candidate after start_ns. */
void pace_init_curve(pace *p, const pace_curve *curve, uint64_t seed, int64_t start_ns);

/* The next inter-arrival interval in nanoseconds at p->rate (advances the
 * PRNG); with a curve, the interval to the next candidate. */
int64_t pace_interval_ns(pace *p);

/* Moves next_ns on to the next event (due = 1); with a curve it may stop
 * after PACE_THIN_BATCH rejected candidates, at the last of them (due = 0).
 * Computes without sleeping: the schedule pace_wait keeps. Returns due. */
int pace_advance(pace *p);

/* Sleeps until the current event's deadline, then schedules the next one
 * (with a curve it also sleeps through where thinning paused).
 * Wakes at least every 100 ms to look at *stop and returns -1 as soon as it is
 * non-zero; returns 0 when the event is due. */
int pace_wait(pace *p, const atomic_int *stop);

#endif
