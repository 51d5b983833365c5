/* exposition.h - a registry in Prometheus' text exposition format (version
 * 0.0.4: https://prometheus.io/docs/instrumenting/exposition_formats/).
 *
 * Each family gets its "# HELP" and "# TYPE" lines and then one line per
 * series, in the order the families were added and the series created; a
 * histogram's series become cumulative _bucket lines (le="+Inf" last), _sum
 * and _count, the count being the +Inf bucket so that the two agree even
 * while observations come in. Label values and help text are escaped as the
 * format says (backslash, double quote in labels, line feed). */
#ifndef GK_METRICS_EXPOSITION_H
#define GK_METRICS_EXPOSITION_H
#include "metrics/registry.h"

#include <stddef.h>

/* The Content-Type of what exposition_render writes. */
#define EXPOSITION_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Renders r into *out (malloc'd, NUL-terminated; the caller frees it) and
 * sets *len to its length. Returns 0, or -1 when out of memory. */
int exposition_render(metric_registry *r, char **out, size_t *len);

/* Writes v as the format spells a sample value (shortest text that reads
 * back as v; NaN, +Inf, -Inf) into buf. */
void exposition_number(double v, char *buf, size_t len);

#endif
