/* internal.h - the registry's layout, shared by registry.c (updates) and
 * exposition.c (rendering) only: nothing else looks inside. */
#ifndef GK_METRICS_INTERNAL_H
#define GK_METRICS_INTERNAL_H
#include "metrics/registry.h"

#include <pthread.h>
#include <stdatomic.h>

struct metric_series {
    const metric_family *family; /* its bounds, for a histogram */
    char *values[METRIC_MAX_LABELS];
    /* Counter: the count. Gauge: the double's bits. Histogram: unused. */
    _Atomic uint64_t value;
    /* Histogram: observations per bucket (not cumulative; the last one is
     * above every bound) and the sum as a double's bits. */
    _Atomic uint64_t *buckets;
    _Atomic uint64_t sum_bits;
};

struct metric_family {
    metric_registry *registry;
    metric_kind kind;
    const char *name, *help;
    const char *labels[METRIC_MAX_LABELS];
    size_t nlabels;
    double bounds[METRIC_MAX_BUCKETS];
    size_t nbounds;
    pthread_mutex_t lock; /* guards series/nseries (lookups, creation, rendering) */
    metric_series **series;
    size_t nseries, cap;
    metric_family *next;
};

struct metric_registry {
    metric_family *first, *last; /* in the order added: the order rendered */
    _Atomic uint64_t dropped;
};

#endif
