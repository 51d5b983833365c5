/* stats.c - librdkafka's statistics to the log and the metrics (see stats.h).
 *
 * The JSON is documented in librdkafka's STATISTICS.md: a consumer's
 * topics.<name>.partitions.<id> hold its offsets in that partition;
 * partition -1 is librdkafka's internal unassigned one. */
#include "kafka/stats.h"

#include "common/log.h"
#include "metrics/metrics.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int kafka_stats_default(rd_kafka_conf_t *conf) {
    if (!metrics_enabled()) return 0;
    char err[512];
    if (rd_kafka_conf_set(conf, "statistics.interval.ms", METRICS_STATS_INTERVAL_MS, err,
                          sizeof err) != RD_KAFKA_CONF_OK) {
        log_error("kafka config statistics.interval.ms: %s", err);
        return -1;
    }
    return 0;
}

/* The lag of a partition (see kafka_stats_lags), or -1 when its position
 * or its end is unknown (not fetching yet). librdkafka's own consumer_lag
 * counts from the offsets committed to Kafka, which the loop commits only as
 * an informational copy once a second: it stays above 0 when all is done. */
static int64_t stats_partition_lag(json_t *p) {
    json_int_t pos = json_integer_value(json_object_get(p, "app_offset"));
    json_int_t end = json_integer_value(json_object_get(p, "ls_offset"));
    if (end < 0) end = json_integer_value(json_object_get(p, "hi_offset"));
    if (!json_is_integer(json_object_get(p, "app_offset")) || pos < 0 || end < 0) return -1;
    return end > pos ? end - pos : 0;
}

/* kafka_stats_lags on a parsed text. */
static int64_t stats_lags(json_t *root, kafka_stats_lag_fn *fn, void *opaque) {
    const char *type = json_string_value(json_object_get(root, "type"));
    if (!type || strcmp(type, "consumer") != 0) return -1;
    int64_t total = 0;
    const char *topic;
    json_t *t;
    json_object_foreach(json_object_get(root, "topics"), topic, t) {
        const char *id;
        json_t *p;
        json_object_foreach(json_object_get(t, "partitions"), id, p) {
            long part = strtol(id, NULL, 10);
            int64_t lag = stats_partition_lag(p);
            if (part < 0 || part > INT32_MAX || lag < 0) continue; /* -1: the unassigned one */
            fn(topic, (int32_t)part, lag, opaque);
            total += lag;
        }
    }
    return total;
}

int64_t kafka_stats_lags(const char *json, size_t len, kafka_stats_lag_fn *fn, void *opaque) {
    json_t *root = json_loadb(json, len, 0, NULL);
    int64_t total = root ? stats_lags(root, fn, opaque) : -1;
    json_decref(root);
    return total;
}

static void stats_to_metrics(const char *topic, int32_t partition, int64_t lag, void *opaque) {
    (void)opaque;
    metrics_consumer_lag(topic, partition, lag);
}

/* The statistics callback: a summary at debug level, the lags to the
 * metrics. Returns 0: librdkafka frees json. */
static int stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque) {
    (void)opaque;
    json_error_t jerr;
    json_t *root = json_loadb(json, len, 0, &jerr);
    if (!root) {
        log_debug("librdkafka %s statistics: unreadable (%s)", rd_kafka_name(rk), jerr.text);
        return 0;
    }
    int64_t lag = stats_lags(root, stats_to_metrics, NULL);
    bool consumer = lag >= 0;
    log_debug("librdkafka %s statistics: msg_cnt=%" JSON_INTEGER_FORMAT " txmsgs=%" JSON_INTEGER_FORMAT
              " rxmsgs=%" JSON_INTEGER_FORMAT " brokers=%zu%s%" PRId64,
              rd_kafka_name(rk), json_integer_value(json_object_get(root, "msg_cnt")),
              json_integer_value(json_object_get(root, "txmsgs")),
              json_integer_value(json_object_get(root, "rxmsgs")),
              json_object_size(json_object_get(root, "brokers")), consumer ? " lag=" : "",
              consumer ? lag : (int64_t)0);
    json_decref(root);
    return 0;
}

void kafka_stats_wire(rd_kafka_conf_t *conf) {
    char value[32] = "0";
    size_t size = sizeof value;
    if (rd_kafka_conf_get(conf, "statistics.interval.ms", value, &size) != RD_KAFKA_CONF_OK) return;
    if (strcmp(value, "0") != 0) rd_kafka_conf_set_stats_cb(conf, stats_cb);
}
