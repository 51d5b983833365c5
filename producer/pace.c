/* pace.c - event pacing with absolute deadlines (see pace.h). */
#include "producer/pace.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>

#define PACE_SLICE_NS 100000000LL /* longest single sleep: bounds reaction to stop */

int pace_arrivals_parse(const char *name, pace_arrivals *out) {
    if (strcmp(name, "constant") == 0) *out = PACE_CONSTANT;
    else if (strcmp(name, "poisson") == 0) *out = PACE_POISSON;
    else return -1;
    return 0;
}

int64_t pace_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void pace_init(pace *p, double rate, pace_arrivals arrivals, uint64_t seed, int64_t start_ns) {
    p->rate = rate;
    p->arrivals = arrivals;
    p->rng = seed;
    p->next_ns = start_ns;
    p->due = 1;
    p->curve = NULL;
    p->start_ns = start_ns;
}

void pace_init_curve(pace *p, const pace_curve *curve, uint64_t seed, int64_t start_ns) {
    pace_init(p, curve->peak, PACE_POISSON, seed, start_ns);
    p->curve = curve;
    p->due = 0; /* start_ns itself is no arrival: the first comes from thinning */
}

/* splitmix64: tiny, fast and good enough for arrival times. */
static uint64_t pace_rand(pace *p) {
    uint64_t z = (p->rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

int64_t pace_interval_ns(pace *p) {
    if (p->rate <= 0) return 0;
    double mean_ns = 1e9 / p->rate;
    if (p->arrivals == PACE_CONSTANT) return (int64_t)llround(mean_ns);
    /* u in (0, 1]: -log(u) is then finite. */
    double u = ((double)(pace_rand(p) >> 11) + 1.0) * 0x1p-53;
    return (int64_t)llround(-log(u) * mean_ns);
}

/* A uniform double in [0, 1): the thinning coin. */
static double pace_uniform(pace *p) { return (double)(pace_rand(p) >> 11) * 0x1p-53; }

int pace_advance(pace *p) {
    if (!p->curve) {
        p->next_ns += pace_interval_ns(p);
        return p->due = 1;
    }
    for (int i = 0; i < PACE_THIN_BATCH; i++) {
        /* Every candidate in a silent stretch would be thrown away: skip it.
         * Candidates are memoryless, so drawing the next one from the
         * stretch's end gives the same law. */
        double t = (double)(p->next_ns - p->start_ns) / 1e9, quiet = pace_curve_quiet_end(p->curve, t);
        if (quiet > t) p->next_ns = p->start_ns + (int64_t)ceil(quiet * 1e9);
        p->next_ns += pace_interval_ns(p);
        t = (double)(p->next_ns - p->start_ns) / 1e9;
        /* The coin is drawn even when the rate is the peak, so that every
         * candidate uses the same number of draws whatever the curve. */
        if (pace_uniform(p) * p->curve->peak < pace_curve_rate(p->curve, t)) return p->due = 1;
    }
    return p->due = 0;
}

/* Sleeps until next_ns. Returns 0, or -1 as soon as *stop is set. */
static int pace_sleep(const pace *p, const atomic_int *stop) {
    for (;;) {
        if (atomic_load(stop)) return -1;
        int64_t now = pace_now_ns();
        if (now >= p->next_ns) return 0;
        int64_t until = p->next_ns - now > PACE_SLICE_NS ? now + PACE_SLICE_NS : p->next_ns;
        struct timespec ts = {(time_t)(until / 1000000000LL), (long)(until % 1000000000LL)};
        int rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
        if (rc != 0 && rc != EINTR) return 0; /* cannot sleep: do not stall the sender */
    }
}

int pace_wait(pace *p, const atomic_int *stop) {
    if (p->rate <= 0) return atomic_load(stop) ? -1 : 0;
    for (;;) {
        if (pace_sleep(p, stop) != 0) return -1;
        if (p->due) break;
        pace_advance(p); /* thinning paused here: go on from this point */
    }
    pace_advance(p);
    return 0;
}
