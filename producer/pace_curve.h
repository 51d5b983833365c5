/* pace_curve.h - a rate that varies over time, for pacing that follows a
 * day's load instead of a constant rate (pace.h thins Poisson arrivals by it).
 *
 * A curve is a shape and two scales. The shape is either
 *   - the built-in diurnal day: with x = t / period (0 = midnight),
 *       rate(t) = trough + (peak - trough) * (1 - cos(2 pi (x - 1/8))) / 2
 *     a night trough at 03:00, the morning rise, the afternoon peak at 15:00
 *     and the evening decline; its mean over a period is (trough + peak) / 2;
 *   - or a CSV file of "seconds,rate" rows, linear between rows.
 * Either repeats: the diurnal day every period, a CSV curve every last-row
 * time (after the last row it starts again at the first row's rate, so a
 * seamless repeat ends with the first row's rate). A CSV curve may be
 * stretched to another period and scaled to another peak (pace_curve_scale).
 *
 * CSV rules: one "seconds,rate" pair per line; an optional header line
 * (the first line, when it does not start with a digit); blank lines and
 * lines starting with '#' are ignored; times start at 0 and strictly
 * increase, up to PACE_CURVE_MAX_SECONDS; rates lie in [0,
 * PACE_CURVE_MAX_RATE] and at least one is above 0; at least 2 and at most
 * PACE_CURVE_MAX_POINTS rows, and at most PACE_CURVE_MAX_BYTES in all. */
#ifndef GK_PRODUCER_PACE_CURVE_H
#define GK_PRODUCER_PACE_CURVE_H
#include <stddef.h>

#define PACE_CURVE_MAX_POINTS 100000
#define PACE_CURVE_MAX_BYTES (4 * 1024 * 1024)
#define PACE_CURVE_MAX_SECONDS 31622400.0 /* a leap year */
#define PACE_CURVE_MAX_RATE 1e7            /* --rate's own bound */
#define PACE_CURVE_DAY_SECONDS 86400.0     /* the diurnal period unless told otherwise */

typedef struct {
    double period; /* seconds after which the curve repeats (> 0) */
    double peak;   /* the largest rate anywhere on the curve (> 0) */
    double trough; /* diurnal: the smallest rate */
    size_t n;      /* CSV points; 0 for the diurnal shape */
    double *t, *r; /* CSV times (t[0] == 0, t[n-1] == period) and rates */
} pace_curve;

/* Makes the diurnal curve. Returns 0, or -1 with a one-line reason in err
 * unless 0 <= trough < peak <= PACE_CURVE_MAX_RATE and 0 < period. */
int pace_curve_diurnal(pace_curve *c, double trough, double peak, double period, char *err,
                       size_t errlen);

/* Reads a CSV curve from path (rules above). Returns 0, or -1 with a
 * one-line reason in err naming the file and, for a bad line, its number. */
int pace_curve_load(pace_curve *c, const char *path, char *err, size_t errlen);

/* Parses CSV text (len bytes, named name in errors) as pace_curve_load does. */
int pace_curve_parse(pace_curve *c, const char *name, const char *text, size_t len, char *err,
                     size_t errlen);

/* Stretches a CSV curve to period seconds (0: as it is) and scales its
 * rates so that its peak is peak (0: as it is). */
void pace_curve_scale(pace_curve *c, double period, double peak);

/* The rate at t seconds after the start (t >= 0). */
double pace_curve_rate(const pace_curve *c, double t);

/* Where a silent stretch (rate 0 throughout) holding t ends: the start of
 * the next segment that is not silent, or t itself when t is not in one. */
double pace_curve_quiet_end(const pace_curve *c, double t);

/* Frees a CSV curve's points (the diurnal one has none). */
void pace_curve_free(pace_curve *c);

#endif
