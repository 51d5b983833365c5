/* bands.h - the ack delay per rate band, for a load that varies: how the
 * delay depends on the rate of the moment, and whether the backlog of the
 * peak drains.
 *
 * Windows: events are grouped by produce time (the earliest of their data
 * topic times) into windows of window_s seconds, the first starting at the
 * earliest event. A window's rate is its number of events (every event with
 * a data topic time, complete or not) / window_s; the last window ends where
 * the data ends, so its rate may read low. Windows without events are left
 * out.
 *
 * Bands: each acked complete event's delay counts in the band of its
 * window's rate: <300, 300-1000, 1000-3000, 3000-10000 and >=10000 events/s
 * (a band holds its lower edge). Percentiles are nearest-rank (stats.h).
 *
 * Drained: the baseline is the median delay of the first tenth of the
 * windows with delays (at least one window). A window is settled when its
 * median delay is at most max(2 x baseline, baseline + 1 ms). The peak is the
 * window of the highest rate (the first of equals). The backlog drained when
 * the windows after the peak end in a run of settled windows reaching the
 * last one; drained_after_s is the time from the peak window's start to the
 * start of that run. With no window with delays after the peak, it is not
 * judged (drained -1). */
#ifndef GK_BANDS_H
#define GK_BANDS_H
#include "analysis/join.h"

#include <stddef.h>
#include <stdio.h>

#define BANDS_COUNT 5

/* One rate band's delays. */
typedef struct {
    const char *name;     /* "<300", "300-1000", ..., ">=10000" */
    double lo, hi;        /* events/s: lo <= rate < hi */
    size_t windows;       /* windows whose rate falls in the band */
    size_t events;        /* their events */
    size_t delays;        /* their acked complete events */
    double p50, p99, p999; /* ms; NAN without delays */
} bands_band;

/* One window with events. */
typedef struct {
    double start_s;  /* since the first event */
    double rate;     /* events/s */
    size_t events, delays;
    double p50;      /* median delay in ms; NAN without delays */
} bands_window;

typedef struct {
    double window_s;
    bands_band band[BANDS_COUNT];
    bands_window *windows; /* in time order; owned (bands_free) */
    size_t nwindows;
    double baseline_p50;   /* ms */
    double settled_max;    /* ms: max(2 x baseline, baseline + 1) */
    double peak_rate, peak_at_s;
    double last_p50;       /* ms: the last window with delays */
    int drained;           /* 1 yes, 0 no, -1 not judged */
    double drained_after_s; /* NAN unless drained */
} bands_report;

/* Groups ev[0..n) into windows of window_s (> 0) seconds and fills *out (see
 * above). Returns 0, or -1 when out of memory (*out then holds nothing to free). */
int bands_compute(const join_event *ev, size_t n, double window_s, bands_report *out);

/* Prints one line per window with events, one per band and one on draining,
 * "key=value" fields for scripts:
 * "ack_delay_window: start_s=.. rate=.. events=.. delays=.. p50_ms=.."
 * "ack_delay_band: band=300-1000 windows=.. events=.. delays=.. p50_ms=.. p99_ms=.. p999_ms=.."
 * "ack_delay_drain: window_s=.. windows=.. baseline_p50_ms=.. settled_max_ms=.. peak_rate=..
 *  peak_at_s=.. last_p50_ms=.. drained=yes|no|not_judged drained_after_s=.." */
void bands_print(FILE *f, const bands_report *r);

/* Frees what bands_compute allocated. */
void bands_free(bands_report *r);

#endif
