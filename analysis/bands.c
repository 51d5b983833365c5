/* bands.c - ack delay per rate band and the drain verdict (see bands.h). */
#include "analysis/bands.h"

#include "analysis/stats.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    double lo, hi;
} bands_def[BANDS_COUNT] = {
    {"<300", 0, 300},
    {"300-1000", 300, 1000},
    {"1000-3000", 1000, 3000},
    {"3000-10000", 3000, 10000},
    {">=10000", 10000, INFINITY},
};

/* One event placed in time; delay_ms is NAN without a delay. */
typedef struct {
    int64_t start_us;
    double delay_ms;
    int band;
} bands_sample;

static int bands_cmp_start(const void *a, const void *b) {
    int64_t x = ((const bands_sample *)a)->start_us, y = ((const bands_sample *)b)->start_us;
    return (x > y) - (x < y);
}

static int bands_of_rate(double rate) {
    int b = 0;
    while (b < BANDS_COUNT - 1 && rate >= bands_def[b].hi) b++;
    return b;
}

/* Copies the delays of s[lo..hi) into buf and returns how many. */
static size_t bands_delays(const bands_sample *s, size_t lo, size_t hi, double *buf) {
    size_t m = 0;
    for (size_t i = lo; i < hi; i++)
        if (!isnan(s[i].delay_ms)) buf[m++] = s[i].delay_ms;
    return m;
}

/* The median of the delays of s[lo..hi), NAN without any (buf: scratch). */
static double bands_median(const bands_sample *s, size_t lo, size_t hi, double *buf) {
    size_t m = bands_delays(s, lo, hi, buf);
    stats_sort(buf, m);
    return stats_percentile_sorted(buf, m, 50.0);
}

/* The drain verdict over the windows (see bands.h); first[w] is the first
 * sample of window w (first[nwindows] the end). */
static void bands_drain(bands_report *r, const bands_sample *s, const size_t *first, double *buf) {
    size_t nd = 0, base_n, taken = 0, peak = 0, w;
    for (w = 0; w < r->nwindows; w++) {
        nd += r->windows[w].delays > 0;
        if (r->windows[w].rate > r->windows[peak].rate) peak = w;
    }
    r->peak_rate = r->nwindows ? r->windows[peak].rate : NAN;
    r->peak_at_s = r->nwindows ? r->windows[peak].start_s : NAN;
    r->baseline_p50 = r->settled_max = r->last_p50 = r->drained_after_s = NAN;
    r->drained = -1;
    if (nd == 0) return;
    /* Baseline: the first tenth of the windows with delays, pooled. */
    base_n = nd / 10 ? nd / 10 : 1;
    for (w = 0; w < r->nwindows && taken < base_n; w++) taken += r->windows[w].delays > 0;
    r->baseline_p50 = bands_median(s, 0, first[w], buf);
    r->settled_max = fmax(2 * r->baseline_p50, r->baseline_p50 + 1.0);
    size_t run = SIZE_MAX; /* first window of the settled run reaching the end */
    int judged = 0;
    for (w = peak + 1; w < r->nwindows; w++) {
        const bands_window *x = &r->windows[w];
        if (x->delays == 0) continue;
        judged = 1;
        r->last_p50 = x->p50;
        if (x->p50 <= r->settled_max) {
            if (run == SIZE_MAX) run = w;
        } else {
            run = SIZE_MAX;
        }
    }
    if (!judged) return;
    r->drained = run != SIZE_MAX;
    if (r->drained) r->drained_after_s = r->windows[run].start_s - r->windows[peak].start_s;
}

int bands_compute(const join_event *ev, size_t n, double window_s, bands_report *out) {
    memset(out, 0, sizeof *out);
    out->window_s = window_s;
    for (int b = 0; b < BANDS_COUNT; b++) {
        out->band[b].name = bands_def[b].name;
        out->band[b].lo = bands_def[b].lo;
        out->band[b].hi = bands_def[b].hi;
        out->band[b].p50 = out->band[b].p99 = out->band[b].p999 = NAN;
    }
    bands_sample *s = malloc((n ? n : 1) * sizeof *s);
    double *buf = malloc((n ? n : 1) * sizeof *buf);
    size_t *first = malloc((n + 1) * sizeof *first);
    size_t m = 0;
    if (!s || !buf || !first) goto oom;
    for (size_t i = 0; i < n; i++) {
        const join_event *e = &ev[i];
        if (!e->seen[0] && !e->seen[1] && !e->seen[2]) continue; /* an ack alone has no produce time */
        int64_t d;
        s[m].start_us = join_event_start(e);
        s[m].delay_ms = join_event_delay_us(e, &d) == 0 ? (double)d / 1000.0 : NAN;
        m++;
    }
    qsort(s, m, sizeof *s, bands_cmp_start);
    /* Windows: a sweep over the samples in time order; at most one per sample. */
    out->windows = malloc((m ? m : 1) * sizeof *out->windows);
    if (!out->windows) goto oom;
    int64_t width = (int64_t)llround(window_s * 1e6);
    if (width < 1) width = 1;
    for (size_t lo = 0, hi; lo < m; lo = hi) {
        int64_t k = (s[lo].start_us - s[0].start_us) / width;
        int64_t end = s[0].start_us + (k + 1) * width;
        for (hi = lo; hi < m && s[hi].start_us < end; hi++) {}
        bands_window *w = &out->windows[out->nwindows];
        first[out->nwindows++] = lo;
        w->start_s = (double)(k * width) / 1e6;
        w->events = hi - lo;
        w->rate = (double)w->events / window_s;
        w->p50 = bands_median(s, lo, hi, buf);
        w->delays = bands_delays(s, lo, hi, buf);
        int b = bands_of_rate(w->rate);
        out->band[b].windows++;
        out->band[b].events += w->events;
        for (size_t i = lo; i < hi; i++) s[i].band = b;
    }
    first[out->nwindows] = m;
    for (int b = 0; b < BANDS_COUNT; b++) {
        size_t k = 0;
        for (size_t i = 0; i < m; i++)
            if (s[i].band == b && !isnan(s[i].delay_ms)) buf[k++] = s[i].delay_ms;
        stats_summary st;
        stats_summarize(buf, k, &st);
        out->band[b].delays = k;
        out->band[b].p50 = st.p50;
        out->band[b].p99 = st.p99;
        out->band[b].p999 = st.p999;
    }
    bands_drain(out, s, first, buf);
    free(s);
    free(buf);
    free(first);
    return 0;
oom:
    free(s);
    free(buf);
    free(first);
    bands_free(out);
    return -1;
}

void bands_print(FILE *f, const bands_report *r) {
    for (size_t w = 0; w < r->nwindows; w++) {
        const bands_window *x = &r->windows[w];
        fprintf(f, "ack_delay_window: start_s=%.3f rate=%.0f events=%zu delays=%zu p50_ms=%.3f\n",
                x->start_s, x->rate, x->events, x->delays, x->p50);
    }
    for (int b = 0; b < BANDS_COUNT; b++) {
        const bands_band *x = &r->band[b];
        fprintf(f, "ack_delay_band: band=%s windows=%zu events=%zu delays=%zu p50_ms=%.3f "
                   "p99_ms=%.3f p999_ms=%.3f\n",
                x->name, x->windows, x->events, x->delays, x->p50, x->p99, x->p999);
    }
    fprintf(f, "ack_delay_drain: window_s=%g windows=%zu baseline_p50_ms=%.3f settled_max_ms=%.3f "
               "peak_rate=%.0f peak_at_s=%.3f last_p50_ms=%.3f drained=%s drained_after_s=%.3f\n",
            r->window_s, r->nwindows, r->baseline_p50, r->settled_max, r->peak_rate, r->peak_at_s,
            r->last_p50, r->drained > 0 ? "yes" : r->drained == 0 ? "no" : "not_judged",
            r->drained_after_s);
}

void bands_free(bands_report *r) {
    free(r->windows);
    r->windows = NULL;
    r->nwindows = 0;
}
