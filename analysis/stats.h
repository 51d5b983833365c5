/* stats.h - order statistics over a sample of doubles (ack delays in ms).
 *
 * Percentiles use the nearest-rank method: the p-th percentile of n sorted
 * values is the value at 1-based rank ceil(p/100 * n), clamped to [1, n]. It
 * always returns a value that was actually observed (no interpolation), which
 * is what latency reports usually mean by "p99": 99% of the samples are less
 * than or equal to it. Examples: for 1..100, p50 = 50, p90 = 90, p99 = 99,
 * p99.9 = 100; for {a, b} (a <= b), p50 = a and p51..p100 = b. */
#ifndef GK_STATS_H
#define GK_STATS_H
#include <stddef.h>

/* The summary of a sample. All fields are NAN when count == 0. */
typedef struct {
    size_t count;
    double min, max, mean;
    double p50, p90, p99, p999; /* nearest-rank percentiles */
} stats_summary;

/* Sorts v[0..n) ascending in place (NaNs are not allowed). */
void stats_sort(double *v, size_t n);

/* The nearest-rank p-th percentile (0 <= p <= 100; p == 0 gives the minimum)
 * of sorted[0..n). Returns NAN if n == 0 or p is out of range. */
double stats_percentile_sorted(const double *sorted, size_t n, double p);

/* Sorts v in place and fills *out. */
void stats_summarize(double *v, size_t n, stats_summary *out);

#endif
