/* stats.h - librdkafka's statistics (statistics.interval.ms), put to use.
 *
 * Without a callback librdkafka computes its statistics and drops them, so a
 * -X statistics.interval.ms of the user's did nothing. kafka_stats_wire()
 * makes every client of the pipeline that emits them log a summary line at
 * debug level and feed the consumer lag of each partition to the metrics
 * (metrics.h); with metrics on and no interval of the user's, it sets one
 * (METRICS_STATS_INTERVAL_MS). */
#ifndef GK_KAFKA_STATS_H
#define GK_KAFKA_STATS_H
#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

/* Called by kafka_conf_new before the user's overrides: sets the default
 * interval when metrics are on. Returns 0 or -1 (logged). */
int kafka_stats_default(rd_kafka_conf_t *conf);

/* Called after the overrides: installs the callback when the interval is
 * not 0. */
void kafka_stats_wire(rd_kafka_conf_t *conf);

/* Receives one partition's lag (kafka_stats_lags). */
typedef void kafka_stats_lag_fn(const char *topic, int32_t partition, int64_t lag, void *opaque);

/* Calls fn for every partition of a consumer's statistics (json, len bytes)
 * whose lag is known: from its position (app_offset, the next message the
 * loop takes) to the end a read_committed consumer can reach (ls_offset, or
 * hi_offset if there is none). Returns the sum of those lags, or -1 if the
 * text is not a consumer's statistics. */
int64_t kafka_stats_lags(const char *json, size_t len, kafka_stats_lag_fn *fn, void *opaque);

#endif
