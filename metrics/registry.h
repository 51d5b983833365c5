/* registry.h - a process's metrics: counters, gauges and histograms, each a
 * family of series told apart by their label values, updated from any thread.
 *
 * Updates are lock-free (atomics); finding or creating a series takes the
 * family's mutex, so hot paths look a series up once and keep the pointer
 * (a series lives as long as its registry). Every family holds at most
 * METRIC_MAX_SERIES series: a label set beyond that is refused (the update
 * is dropped and counted, metric_registry_dropped), so that a hostile input
 * cannot grow the registry. A NULL series is accepted by every update and
 * does nothing: code built with metrics off needs no test of its own.
 * exposition.h renders a registry in Prometheus' text format. */
#ifndef GK_METRICS_REGISTRY_H
#define GK_METRICS_REGISTRY_H
#include <stddef.h>
#include <stdint.h>

#define METRIC_MAX_LABELS 3   /* label names per family */
#define METRIC_MAX_SERIES 1024 /* label sets per family */
#define METRIC_MAX_BUCKETS 32 /* histogram bucket bounds (+Inf is implicit) */
#define METRIC_LABEL_MAX 256  /* bytes of a label value kept (longer ones are cut) */

typedef enum { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM } metric_kind;

typedef struct metric_registry metric_registry;
typedef struct metric_family metric_family;
typedef struct metric_series metric_series;

/* A new, empty registry, or NULL when out of memory. */
metric_registry *metric_registry_new(void);

/* Frees the registry with every family and series. NULL is allowed. */
void metric_registry_free(metric_registry *r);

/* Adds a family. name and help are kept as given (static strings); labels
 * is a NULL-terminated list of at most METRIC_MAX_LABELS names (or NULL for
 * none); a histogram gives its bucket upper bounds, increasing, at most
 * METRIC_MAX_BUCKETS. Returns the family, or NULL on a bad argument or out
 * of memory. Families are added before the registry is shared. */
metric_family *metric_family_add(metric_registry *r, metric_kind kind, const char *name,
                                 const char *help, const char *const *labels,
                                 const double *buckets, size_t nbuckets);

/* The series of f with the given label values (one per label name; NULL
 * for a family without labels), created at the first call. Returns NULL
 * when f is NULL, when the family already holds METRIC_MAX_SERIES series
 * (counted as dropped) or when out of memory. */
metric_series *metric_series_get(metric_family *f, const char *const *values);

/* Removes every series of f (they are no longer rendered), e.g. the lags
 * of partitions a consumer no longer owns. The pointers the family gave out
 * become invalid: only for a family whose series no thread keeps between
 * calls. */
void metric_family_clear(metric_family *f);

/* Counter: adds n. */
void metric_counter_add(metric_series *s, uint64_t n);

/* Gauge: sets the value. */
void metric_gauge_set(metric_series *s, double v);

/* Histogram: counts one observation of v. */
void metric_histogram_observe(metric_series *s, double v);

/* Current values, for tests and for code that reads its own metrics. */
uint64_t metric_counter_value(const metric_series *s);
double metric_gauge_value(const metric_series *s);
uint64_t metric_histogram_count(const metric_series *s);

/* Updates refused because a family was full (see METRIC_MAX_SERIES). */
uint64_t metric_registry_dropped(const metric_registry *r);

#endif
