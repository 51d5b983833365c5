/* stats.c - nearest-rank percentiles, min/max/mean (see stats.h). */
#include "analysis/stats.h"

#include <math.h>
#include <stdlib.h>

static int stats_cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void stats_sort(double *v, size_t n) {
    if (n > 1) qsort(v, n, sizeof *v, stats_cmp);
}

double stats_percentile_sorted(const double *sorted, size_t n, double p) {
    if (n == 0 || !(p >= 0.0 && p <= 100.0)) return NAN;
    /* The tolerance keeps binary rounding (99.9 is not exact) from pushing an
     * exact rank such as 0.999 * 1000 = 999 up to 1000. */
    double r = ceil(p / 100.0 * (double)n - 1e-7);
    size_t rank = r < 1.0 ? 1 : r > (double)n ? n : (size_t)r;
    return sorted[rank - 1];
}

void stats_summarize(double *v, size_t n, stats_summary *out) {
    stats_sort(v, n);
    out->count = n;
    if (n == 0) {
        out->min = out->max = out->mean = NAN;
        out->p50 = out->p90 = out->p99 = out->p999 = NAN;
        return;
    }
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) sum += v[i];
    out->min = v[0];
    out->max = v[n - 1];
    out->mean = sum / (double)n;
    out->p50 = stats_percentile_sorted(v, n, 50.0);
    out->p90 = stats_percentile_sorted(v, n, 90.0);
    out->p99 = stats_percentile_sorted(v, n, 99.0);
    out->p999 = stats_percentile_sorted(v, n, 99.9);
}
