/* kafka.c - librdkafka helpers (see kafka.h). */
#include "kafka/kafka.h"

#include "common/log.h"

#include <stdlib.h>
#include <string.h>

/* librdkafka's syslog-style levels mapped onto ours. */
static void kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    log_level l = level <= 3 ? LOG_ERROR : level <= 4 ? LOG_WARN : level <= 6 ? LOG_INFO : LOG_DEBUG;
    log_msg(l, "librdkafka %s %s: %s", rd_kafka_name(rk), fac, buf);
}

/* Most client errors are transient and retried internally; fatal ones are
 * reported by the services themselves through rd_kafka_fatal_error(). */
static void kafka_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
    (void)opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char buf[512];
        rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, buf, sizeof buf);
        log_error("kafka fatal error: %s: %s", rd_kafka_err2name(orig), buf);
        return;
    }
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
        log_warn("kafka: all brokers down (%s); retrying", reason);
    else
        log_warn("kafka: %s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static int kafka_conf_set1(rd_kafka_conf_t *conf, const char *key, const char *value) {
    char err[512];
    if (rd_kafka_conf_set(conf, key, value, err, sizeof err) != RD_KAFKA_CONF_OK) {
        log_error("kafka config %s=%s: %s", key, value, err);
        return -1;
    }
    return 0;
}

rd_kafka_conf_t *kafka_conf_new(const char *bootstrap, const kafka_default *defaults,
                                const cli_kv_list *overrides) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    int bad = kafka_conf_set1(conf, "bootstrap.servers",
                              bootstrap && *bootstrap ? bootstrap : KAFKA_DEFAULT_BOOTSTRAP);
    for (const kafka_default *d = defaults; d && d->key; d++)
        bad |= kafka_conf_set1(conf, d->key, d->value);
    for (size_t i = 0; overrides && i < overrides->count; i++)
        bad |= kafka_conf_set1(conf, overrides->keys[i], overrides->values[i]);
    if (bad) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_log_cb(conf, kafka_log_cb);
    rd_kafka_conf_set_error_cb(conf, kafka_error_cb);
    return conf;
}

rd_kafka_t *kafka_new(rd_kafka_type_t type, rd_kafka_conf_t *conf) {
    char err[512];
    rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof err);
    if (!rk) {
        log_error("cannot create kafka %s: %s", type == RD_KAFKA_PRODUCER ? "producer" : "consumer",
                  err);
        rd_kafka_conf_destroy(conf);
    }
    return rk;
}

int kafka_header_int64(const rd_kafka_message_t *m, const char *name, int64_t *out) {
    rd_kafka_headers_t *hdrs = NULL;
    const void *val = NULL;
    size_t size = 0;
    if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) return -1;
    if (rd_kafka_header_get_last(hdrs, name, &val, &size) != RD_KAFKA_RESP_ERR_NO_ERROR || !val ||
        size == 0 || size > 20)
        return -1;
    char buf[24];
    memcpy(buf, val, size);
    buf[size] = '\0';
    char *end = NULL;
    long long v = strtoll(buf, &end, 10);
    if (*end != '\0') return -1;
    *out = v;
    return 0;
}

int64_t kafka_msg_timestamp_ms(const rd_kafka_message_t *m) {
    rd_kafka_timestamp_type_t tt;
    int64_t ts = rd_kafka_message_timestamp(m, &tt);
    return tt == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? -1 : ts;
}

msg_view kafka_msg_view(const rd_kafka_message_t *m, bool with_produced_us) {
    msg_view v = {
        .topic = rd_kafka_topic_name(m->rkt),
        .partition = m->partition,
        .offset = m->offset,
        .key = m->key,
        .key_len = m->key_len,
        .value = m->payload,
        .value_len = m->len,
        .ts_ms = kafka_msg_timestamp_ms(m),
        .produced_us = -1,
    };
    if (with_produced_us && kafka_header_int64(m, KAFKA_HDR_PRODUCED_US, &v.produced_us) != 0)
        v.produced_us = -1;
    return v;
}
