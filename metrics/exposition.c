/* exposition.c - Prometheus' text format (see exposition.h). */
#include "metrics/exposition.h"

#include "metrics/internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A growing text; failed turns true at the first allocation failure. */
typedef struct {
    char *p;
    size_t len, cap;
    bool failed;
} expo_buf;

static void expo_put(expo_buf *b, const char *s, size_t n) {
    if (b->failed) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (b->len + n + 1 > cap) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->failed = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void expo_puts(expo_buf *b, const char *s) { expo_put(b, s, strlen(s)); }

static void expo_printf(expo_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void expo_printf(expo_buf *b, const char *fmt, ...) {
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        b->failed = true; /* only numbers go through here: never this long */
        return;
    }
    expo_put(b, tmp, (size_t)n);
}

/* Writes s escaped: backslash and line feed always, the double quote in a
 * label value (quote) only. */
static void expo_escaped(expo_buf *b, const char *s, bool quote) {
    for (; *s; s++) {
        if (*s == '\\')
            expo_puts(b, "\\\\");
        else if (*s == '\n')
            expo_puts(b, "\\n");
        else if (*s == '"' && quote)
            expo_puts(b, "\\\"");
        else
            expo_put(b, s, 1);
    }
}

void exposition_number(double v, char *buf, size_t len) {
    if (isnan(v)) {
        snprintf(buf, len, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(buf, len, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    /* Whole numbers as such (10, not 1e+01), up to where a double still
     * holds every integer; the rest in the shortest precision that reads
     * back exactly (0.005, not 0.0050000000000000001). */
    if (v == floor(v) && fabs(v) < 9007199254740992.0) {
        snprintf(buf, len, "%.0f", v);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, len, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) return;
    }
}

/* Writes name{labels[,le="bound"]} (the braces only if there is a label). */
static void expo_series_name(expo_buf *b, const metric_family *f, const metric_series *s,
                             const char *suffix, const char *le) {
    expo_puts(b, f->name);
    expo_puts(b, suffix);
    if (f->nlabels == 0 && !le) return;
    expo_puts(b, "{");
    for (size_t i = 0; i < f->nlabels; i++) {
        expo_printf(b, "%s%s=\"", i ? "," : "", f->labels[i]);
        expo_escaped(b, s->values[i], true);
        expo_puts(b, "\"");
    }
    if (le) expo_printf(b, "%sle=\"%s\"", f->nlabels ? "," : "", le);
    expo_puts(b, "}");
}

static void expo_histogram(expo_buf *b, const metric_family *f, const metric_series *s) {
    uint64_t cumulative = 0;
    char le[64];
    for (size_t i = 0; i <= f->nbounds; i++) {
        cumulative += atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
        if (i < f->nbounds)
            exposition_number(f->bounds[i], le, sizeof le);
        else
            snprintf(le, sizeof le, "+Inf");
        expo_series_name(b, f, s, "_bucket", le);
        expo_printf(b, " %" PRIu64 "\n", cumulative);
    }
    char num[64];
    uint64_t bits = atomic_load_explicit(&s->sum_bits, memory_order_relaxed);
    double sum;
    memcpy(&sum, &bits, sizeof sum);
    exposition_number(sum, num, sizeof num);
    expo_series_name(b, f, s, "_sum", NULL);
    expo_printf(b, " %s\n", num);
    expo_series_name(b, f, s, "_count", NULL);
    expo_printf(b, " %" PRIu64 "\n", cumulative);
}

static void expo_family(expo_buf *b, metric_family *f) {
    static const char *const types[] = {"counter", "gauge", "histogram"};
    expo_printf(b, "# HELP %s ", f->name);
    expo_escaped(b, f->help, false);
    expo_printf(b, "\n# TYPE %s %s\n", f->name, types[f->kind]);
    pthread_mutex_lock(&f->lock);
    for (size_t i = 0; i < f->nseries; i++) {
        const metric_series *s = f->series[i];
        if (f->kind == METRIC_HISTOGRAM) {
            expo_histogram(b, f, s);
            continue;
        }
        expo_series_name(b, f, s, "", NULL);
        uint64_t v = atomic_load_explicit(&s->value, memory_order_relaxed);
        if (f->kind == METRIC_COUNTER) {
            expo_printf(b, " %" PRIu64 "\n", v);
        } else {
            double d;
            char num[64];
            memcpy(&d, &v, sizeof d);
            exposition_number(d, num, sizeof num);
            expo_printf(b, " %s\n", num);
        }
    }
    pthread_mutex_unlock(&f->lock);
}

int exposition_render(metric_registry *r, char **out, size_t *len) {
    expo_buf b = {0};
    expo_put(&b, "", 0); /* an empty registry is an empty text, not NULL */
    for (metric_family *f = r ? r->first : NULL; f; f = f->next) expo_family(&b, f);
    if (b.failed) {
        free(b.p);
        return -1;
    }
    *out = b.p;
    *len = b.len;
    return 0;
}
