/* stats.c - librdkafka's statistics to the log and the metrics (see stats.h).
 *
 * The JSON is documented in librdkafka's STATISTICS.md: a consumer's
 * topics.<name>.partitions.<id>.consumer_lag is the distance from its
 * position (or committed offset) to the partition's end, -1 when unknown;
 * partition -1 is librdkafka's internal unassigned one. */
#include "kafka/stats.h"

#include "common/log.h"
#include "metrics/metrics.h"

#include <inttypes.h>
#include <jansson.h>
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

/* Feeds the lag of every assigned partition of a consumer's statistics to
 * the metrics. Returns the sum of the known lags. */
static int64_t stats_lags(json_t *topics) {
    int64_t total = 0;
    const char *topic;
    json_t *t;
    json_object_foreach(topics, topic, t) {
        const char *id;
        json_t *p;
        json_object_foreach(json_object_get(t, "partitions"), id, p) {
            json_int_t lag = json_integer_value(json_object_get(p, "consumer_lag"));
            long part = strtol(id, NULL, 10);
            if (part < 0 || !json_is_integer(json_object_get(p, "consumer_lag")) || lag < 0)
                continue;
            metrics_consumer_lag(topic, (int32_t)part, lag);
            total += lag;
        }
    }
    return total;
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
    const char *type = json_string_value(json_object_get(root, "type"));
    bool consumer = type && strcmp(type, "consumer") == 0;
    int64_t lag = consumer ? stats_lags(json_object_get(root, "topics")) : -1;
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
