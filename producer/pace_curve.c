/* pace_curve.c - the diurnal and CSV rate curves (see pace_curve.h). */
#include "producer/pace_curve.h"

#include "common/infile.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pace_curve_diurnal(pace_curve *c, double trough, double peak, double period, char *err,
                       size_t errlen) {
    memset(c, 0, sizeof *c);
    if (!(peak > 0 && peak <= PACE_CURVE_MAX_RATE)) {
        snprintf(err, errlen, "the diurnal curve needs a peak rate above 0 (--rate)");
        return -1;
    }
    if (!(trough >= 0 && trough < peak)) {
        snprintf(err, errlen, "the trough rate (%g) must be at least 0 and below the peak (%g)",
                 trough, peak);
        return -1;
    }
    if (!(period > 0 && period <= PACE_CURVE_MAX_SECONDS)) {
        snprintf(err, errlen, "the period must be above 0 and at most %.0f s",
                 PACE_CURVE_MAX_SECONDS);
        return -1;
    }
    c->period = period;
    c->peak = peak;
    c->trough = trough;
    return 0;
}

/* Parses "text" (leading and trailing blanks allowed) as a finite double. */
static int pace_curve_number(const char *text, double *out) {
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || errno == ERANGE || !isfinite(v)) return -1;
    while (*end == ' ' || *end == '\t') end++;
    if (*end != '\0') return -1;
    *out = v;
    return 0;
}

/* Appends a point, growing the arrays by doubling. Returns 0 or -1 (out of memory). */
static int pace_curve_add(pace_curve *c, size_t *cap, double t, double r) {
    if (c->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        if (nc > PACE_CURVE_MAX_POINTS) nc = PACE_CURVE_MAX_POINTS;
        double *nt = realloc(c->t, nc * sizeof *nt);
        if (!nt) return -1;
        c->t = nt;
        double *nr = realloc(c->r, nc * sizeof *nr);
        if (!nr) return -1;
        c->r = nr;
        *cap = nc;
    }
    c->t[c->n] = t;
    c->r[c->n] = r;
    c->n++;
    return 0;
}

/* Checks one data line (NUL-terminated, no line end) and appends its point.
 * Returns 0, or -1 with the reason (without file and line) in why. */
static int pace_curve_line(pace_curve *c, size_t *cap, char *line, char *why, size_t whylen) {
    char *comma = strchr(line, ',');
    if (!comma) {
        snprintf(why, whylen, "expected seconds,rate");
        return -1;
    }
    *comma = '\0';
    double t, r;
    if (pace_curve_number(line, &t) != 0 || pace_curve_number(comma + 1, &r) != 0) {
        snprintf(why, whylen, "expected seconds,rate as two finite numbers");
        return -1;
    }
    if (c->n == 0 && t != 0) {
        snprintf(why, whylen, "the first row must be at 0 seconds, not %g", t);
        return -1;
    }
    if (c->n > 0 && !(t > c->t[c->n - 1])) {
        snprintf(why, whylen, "time %g is not after the previous row's %g", t, c->t[c->n - 1]);
        return -1;
    }
    if (t > PACE_CURVE_MAX_SECONDS) {
        snprintf(why, whylen, "time %g is beyond %.0f seconds", t, PACE_CURVE_MAX_SECONDS);
        return -1;
    }
    if (!(r >= 0 && r <= PACE_CURVE_MAX_RATE)) {
        snprintf(why, whylen, "rate %g is outside 0..%.0f", r, PACE_CURVE_MAX_RATE);
        return -1;
    }
    if (c->n == PACE_CURVE_MAX_POINTS) {
        snprintf(why, whylen, "more than %d rows", PACE_CURVE_MAX_POINTS);
        return -1;
    }
    if (pace_curve_add(c, cap, t, r) != 0) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    return 0;
}

int pace_curve_parse(pace_curve *c, const char *name, const char *text, size_t len, char *err,
                     size_t errlen) {
    memset(c, 0, sizeof *c);
    if (len > PACE_CURVE_MAX_BYTES) {
        snprintf(err, errlen, "%s: larger than %d bytes", name, PACE_CURVE_MAX_BYTES);
        return -1;
    }
    if (memchr(text, '\0', len)) {
        snprintf(err, errlen, "%s: not a text file (NUL byte)", name);
        return -1;
    }
    char *buf = malloc(len + 1);
    if (!buf) {
        snprintf(err, errlen, "%s: out of memory", name);
        return -1;
    }
    memcpy(buf, text, len);
    buf[len] = '\0';
    size_t cap = 0, lineno = 0;
    int rc = 0, header_allowed = 1;
    char why[160];
    for (char *line = buf, *next; line && *line != '\0' && rc == 0; line = next) {
        lineno++;
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        size_t l = strlen(line);
        if (l && line[l - 1] == '\r') line[--l] = '\0';
        while (*line == ' ' || *line == '\t') line++;
        if (*line == '\0' || *line == '#') continue;
        /* A header names the columns: it starts with a letter, a row never does. */
        if (header_allowed && isalpha((unsigned char)*line)) {
            header_allowed = 0;
            continue;
        }
        header_allowed = 0;
        if (pace_curve_line(c, &cap, line, why, sizeof why) != 0) {
            snprintf(err, errlen, "%s line %zu: %s", name, lineno, why);
            rc = -1;
        }
    }
    free(buf);
    if (rc == 0 && c->n < 2) {
        snprintf(err, errlen, "%s: needs at least 2 rows of seconds,rate (has %zu)", name, c->n);
        rc = -1;
    }
    double peak = 0;
    for (size_t i = 0; rc == 0 && i < c->n; i++)
        if (c->r[i] > peak) peak = c->r[i];
    if (rc == 0 && peak <= 0) {
        snprintf(err, errlen, "%s: every rate is 0", name);
        rc = -1;
    }
    if (rc != 0) {
        pace_curve_free(c);
        return -1;
    }
    c->period = c->t[c->n - 1];
    c->peak = peak;
    return 0;
}

int pace_curve_load(pace_curve *c, const char *path, char *err, size_t errlen) {
    memset(c, 0, sizeof *c);
    size_t len;
    char *buf = infile_read_text(path, PACE_CURVE_MAX_BYTES, &len, err, errlen);
    if (!buf) return -1;
    int rc = pace_curve_parse(c, path, buf, len, err, errlen);
    free(buf);
    return rc;
}

void pace_curve_scale(pace_curve *c, double period, double peak) {
    if (c->n == 0) return;
    double ts = period > 0 ? period / c->period : 1.0, rs = peak > 0 ? peak / c->peak : 1.0;
    for (size_t i = 0; i < c->n; i++) {
        c->t[i] *= ts;
        c->r[i] *= rs;
    }
    c->t[c->n - 1] = c->period = period > 0 ? period : c->period;
    c->peak = peak > 0 ? peak : c->peak;
}

/* The segment [t[i], t[i+1]) of a CSV curve holding x (0 <= x <= period):
 * a binary search, as curves may have many rows. */
static size_t pace_curve_segment(const pace_curve *c, double x) {
    size_t lo = 0, hi = c->n - 1;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->t[mid] <= x) lo = mid;
        else hi = mid;
    }
    return lo;
}

double pace_curve_quiet_end(const pace_curve *c, double t) {
    if (c->n == 0 || !(t >= 0)) return t; /* the diurnal rate is 0 at an instant at most */
    double base = floor(t / c->period) * c->period;
    size_t k = pace_curve_segment(c, t - base), moved = 0;
    /* Some rate is above 0, so at most one lap of segments is silent. */
    while (c->r[k] == 0 && c->r[k + 1] == 0 && moved++ < c->n) {
        if (++k == c->n - 1) {
            k = 0;
            base += c->period;
        }
    }
    return moved ? base + c->t[k] : t;
}

double pace_curve_rate(const pace_curve *c, double t) {
    double x = fmod(t < 0 ? 0 : t, c->period);
    if (c->n == 0) {
        double s = (1.0 - cos(2.0 * M_PI * (x / c->period - 0.125))) / 2.0;
        return c->trough + (c->peak - c->trough) * s;
    }
    size_t lo = pace_curve_segment(c, x);
    double span = c->t[lo + 1] - c->t[lo];
    double f = span > 0 ? (x - c->t[lo]) / span : 0;
    if (f > 1) f = 1;
    return c->r[lo] + (c->r[lo + 1] - c->r[lo]) * f;
}

void pace_curve_free(pace_curve *c) {
    free(c->t);
    free(c->r);
    c->t = c->r = NULL;
    c->n = 0;
}
