/* registry.c - counters, gauges and histograms with labels (see registry.h). */
#include "metrics/internal.h"

#include "common/grow.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static uint64_t registry_bits(double v) {
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}

static double registry_double(uint64_t b) {
    double v;
    memcpy(&v, &b, sizeof v);
    return v;
}

metric_registry *metric_registry_new(void) { return calloc(1, sizeof(metric_registry)); }

static void registry_series_free(metric_series *s, size_t nlabels) {
    for (size_t i = 0; i < nlabels; i++) free(s->values[i]);
    free((void *)s->buckets);
    free(s);
}

void metric_registry_free(metric_registry *r) {
    if (!r) return;
    for (metric_family *f = r->first, *next; f; f = next) {
        next = f->next;
        for (size_t i = 0; i < f->nseries; i++) registry_series_free(f->series[i], f->nlabels);
        free(f->series);
        pthread_mutex_destroy(&f->lock);
        free(f);
    }
    free(r);
}

metric_family *metric_family_add(metric_registry *r, metric_kind kind, const char *name,
                                 const char *help, const char *const *labels,
                                 const double *buckets, size_t nbuckets) {
    if (!r || !name || !help) return NULL;
    if (kind == METRIC_HISTOGRAM ? nbuckets == 0 || nbuckets > METRIC_MAX_BUCKETS : nbuckets != 0)
        return NULL;
    for (size_t i = 1; i < nbuckets; i++)
        if (!(buckets[i] > buckets[i - 1])) return NULL;
    metric_family *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    *f = (metric_family){.registry = r, .kind = kind, .name = name, .help = help,
                         .nbounds = nbuckets};
    for (; labels && labels[f->nlabels]; f->nlabels++) {
        if (f->nlabels == METRIC_MAX_LABELS) {
            free(f);
            return NULL;
        }
        f->labels[f->nlabels] = labels[f->nlabels];
    }
    if (nbuckets) memcpy(f->bounds, buckets, nbuckets * sizeof *buckets);
    pthread_mutex_init(&f->lock, NULL);
    if (r->last)
        r->last->next = f;
    else
        r->first = f;
    r->last = f;
    return f;
}

/* A new series of f with the given values. Returns NULL when out of memory. */
static metric_series *registry_series_new(const metric_family *f, const char *const *values) {
    metric_series *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->family = f;
    bool ok = true;
    for (size_t i = 0; i < f->nlabels; i++) {
        const char *v = values && values[i] ? values[i] : "";
        ok &= (s->values[i] = strndup(v, METRIC_LABEL_MAX)) != NULL;
    }
    if (f->kind == METRIC_HISTOGRAM)
        ok &= (s->buckets = calloc(f->nbounds + 1, sizeof *s->buckets)) != NULL;
    if (!ok) {
        registry_series_free(s, f->nlabels);
        return NULL;
    }
    return s;
}

/* True when series s has exactly the given values (cut like a stored one). */
static bool registry_same(const metric_family *f, const metric_series *s,
                          const char *const *values) {
    for (size_t i = 0; i < f->nlabels; i++) {
        const char *v = values && values[i] ? values[i] : "";
        if (strncmp(s->values[i], v, METRIC_LABEL_MAX) != 0) return false;
    }
    return true;
}

metric_series *metric_series_get(metric_family *f, const char *const *values) {
    if (!f) return NULL;
    pthread_mutex_lock(&f->lock);
    metric_series *found = NULL;
    for (size_t i = 0; i < f->nseries && !found; i++)
        if (registry_same(f, f->series[i], values)) found = f->series[i];
    if (!found && f->nseries < METRIC_MAX_SERIES) {
        metric_series **grown = grow_one(f->series, f->nseries, &f->cap, sizeof *grown, 8);
        if (grown) {
            f->series = grown;
            if ((found = registry_series_new(f, values))) f->series[f->nseries++] = found;
        }
    }
    pthread_mutex_unlock(&f->lock);
    if (!found) atomic_fetch_add(&f->registry->dropped, 1);
    return found;
}

void metric_family_clear(metric_family *f) {
    if (!f) return;
    pthread_mutex_lock(&f->lock);
    for (size_t i = 0; i < f->nseries; i++) registry_series_free(f->series[i], f->nlabels);
    f->nseries = 0;
    pthread_mutex_unlock(&f->lock);
}

void metric_counter_add(metric_series *s, uint64_t n) {
    if (s) atomic_fetch_add_explicit(&s->value, n, memory_order_relaxed);
}

void metric_gauge_set(metric_series *s, double v) {
    if (s) atomic_store_explicit(&s->value, registry_bits(v), memory_order_relaxed);
}

void metric_histogram_observe(metric_series *s, double v) {
    if (!s || !s->buckets) return;
    const metric_family *f = s->family;
    size_t i = 0;
    while (i < f->nbounds && v > f->bounds[i]) i++; /* a bucket counts values <= its bound */
    atomic_fetch_add_explicit(&s->buckets[i], 1, memory_order_relaxed);
    uint64_t old = atomic_load_explicit(&s->sum_bits, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&s->sum_bits, &old,
                                                  registry_bits(registry_double(old) + v),
                                                  memory_order_relaxed, memory_order_relaxed)) {
    }
}

uint64_t metric_histogram_count(const metric_series *s) {
    uint64_t n = 0;
    for (size_t i = 0; s && s->buckets && i <= s->family->nbounds; i++)
        n += atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
    return n;
}

uint64_t metric_counter_value(const metric_series *s) {
    return s ? atomic_load_explicit(&s->value, memory_order_relaxed) : 0;
}

double metric_gauge_value(const metric_series *s) {
    return s ? registry_double(atomic_load_explicit(&s->value, memory_order_relaxed)) : 0;
}

uint64_t metric_registry_dropped(const metric_registry *r) {
    return r ? atomic_load(&r->dropped) : 0;
}
