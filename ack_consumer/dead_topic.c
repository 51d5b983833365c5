/* dead_topic.c - reading the dead-letter topic back (see dead_topic.h). */
#include "ack_consumer/dead_topic.h"

#include "ack_consumer/sender.h"
#include "common/exitcodes.h"
#include "common/log.h"
#include "common/signals.h"
#include "kafka/kafka.h"

#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DT_DEFAULT_TIMEOUT_S 60

/* The last offset handed out per source topic/partition. */
typedef struct {
    char topic[256];
    int32_t partition;
    int64_t last;
} dt_source;

typedef struct {
    dt_source *items;
    size_t n, cap;
} dt_sources;

/* The entry of topic/partition, added at last = -1 if new; NULL if out of
 * memory. */
static dt_source *dt_source_get(dt_sources *s, const char *topic, int32_t partition) {
    for (size_t i = 0; i < s->n; i++)
        if (s->items[i].partition == partition && strcmp(s->items[i].topic, topic) == 0)
            return &s->items[i];
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        dt_source *items = realloc(s->items, cap * sizeof *items);
        if (!items) return NULL;
        s->items = items;
        s->cap = cap;
    }
    dt_source *e = &s->items[s->n++];
    snprintf(e->topic, sizeof e->topic, "%s", topic);
    e->partition = partition;
    e->last = -1;
    return e;
}

/* Copies header name of m as text into out (len bytes). Returns 0, or -1 if
 * it is absent or does not fit. */
static int dt_header(const rd_kafka_message_t *m, const char *name, char *out, size_t len) {
    rd_kafka_headers_t *h = NULL;
    const void *v;
    size_t vlen;
    if (rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        rd_kafka_header_get_last(h, name, &v, &vlen) != RD_KAFKA_RESP_ERR_NO_ERROR || !v ||
        vlen >= len)
        return -1;
    memcpy(out, v, vlen);
    out[vlen] = '\0';
    return 0;
}

/* The partition count of topic, or -1 if the cluster says it does not exist;
 * waits for the cluster (bounded by timeout_ms). Sets *rc to an exit code if
 * the wait ended without an answer. */
static int dt_partitions(rd_kafka_t *rk, const char *topic, long timeout_ms, int *rc) {
    kafka_wait w;
    kafka_wait_begin(&w, rk, "the dead-letter topic's metadata", timeout_ms, 1);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err;
    while ((err = rd_kafka_metadata(rk, 1, NULL, &md, kafka_wait_slice(&w, 2000))) !=
           RD_KAFKA_RESP_ERR_NO_ERROR) {
        int w_rc = kafka_wait_again(&w, rd_kafka_err2str(err));
        if (w_rc) {
            *rc = w_rc == KAFKA_WAIT_STOPPED ? w_rc : GK_EXIT_UNAVAILABLE;
            return -1;
        }
    }
    int n = -1;
    for (int i = 0; i < md->topic_cnt; i++)
        if (strcmp(md->topics[i].topic, topic) == 0 && md->topics[i].err == 0)
            n = md->topics[i].partition_cnt;
    rd_kafka_metadata_destroy(md);
    return n;
}

/* Hands one record to fn (or skips it). Returns fn's answer, 0 for a
 * skipped record, or -1 if out of memory. */
static int dt_one(const rd_kafka_message_t *m, dt_sources *src, ack_dead_letter_fn fn, void *ctx,
                  long *n, long *copies) {
    char topic[256], part[32], off[32], reason[1024];
    char *end1 = NULL, *end2 = NULL;
    long long p = -1, o = -1;
    if (dt_header(m, ACK_DL_HDR_TOPIC, topic, sizeof topic) == 0 &&
        dt_header(m, ACK_DL_HDR_PARTITION, part, sizeof part) == 0 &&
        dt_header(m, ACK_DL_HDR_OFFSET, off, sizeof off) == 0 &&
        dt_header(m, ACK_DL_HDR_REASON, reason, sizeof reason) == 0) {
        p = strtoll(part, &end1, 10);
        o = strtoll(off, &end2, 10);
    }
    if (!end1 || *end1 || !end2 || *end2 || p < 0 || p > INT32_MAX || o < 0) {
        log_warn("%s [%" PRId32 "] offset %" PRId64 ": not a dead letter of ack_consumer (no "
                 "valid gk-dl-* headers); skipped",
                 rd_kafka_topic_name(m->rkt), m->partition, m->offset);
        return 0;
    }
    dt_source *s = dt_source_get(src, topic, (int32_t)p);
    if (!s) return -1;
    if (o <= s->last) {
        (*copies)++;
        return 0;
    }
    s->last = o;
    (*n)++;
    return fn(ctx, topic, (int32_t)p, o, reason, m->key, m->key_len, m->payload, m->len);
}

int ack_dead_topic_read(const char *bootstrap, const cli_kv_list *kafka, const char *topic,
                        long timeout_s, ack_dead_letter_fn fn, void *ctx, long *n, long *copies) {
    *n = *copies = 0;
    long timeout_ms = (timeout_s > 0 ? timeout_s : DT_DEFAULT_TIMEOUT_S) * 1000L;
    char group[300];
    /* librdkafka 2.0 refuses an assign without a group.id: one no member joins. */
    snprintf(group, sizeof group, "%.250s-dump", topic);
    const kafka_default defs[] = {
        {"group.id", group},
        {"isolation.level", "read_committed"},
        {"enable.partition.eof", "true"},
        {"enable.auto.commit", "false"},
        {"auto.offset.reset", "earliest"},
        {"fetch.wait.max.ms", "100"},
        {NULL, NULL},
    };
    rd_kafka_conf_t *conf = kafka_conf_new(bootstrap, defs, kafka);
    rd_kafka_t *rk = conf ? kafka_new(RD_KAFKA_CONSUMER, conf) : NULL;
    if (!rk) return kafka_failure_exit();
    int rc = 0;
    int parts = dt_partitions(rk, topic, timeout_ms, &rc);
    if (parts < 0 && rc == 0) {
        log_error("dead-letter topic %s does not exist (--dead-letter-topic; scalable mode keeps "
                  "dead letters there)", topic);
        rc = GK_EXIT_NOINPUT;
    }
    rd_kafka_topic_partition_list_t *a = rc ? NULL : rd_kafka_topic_partition_list_new(parts);
    for (int p = 0; a && p < parts; p++)
        rd_kafka_topic_partition_list_add(a, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_resp_err_t e = a ? rd_kafka_assign(rk, a) : RD_KAFKA_RESP_ERR_NO_ERROR;
    if (a) rd_kafka_topic_partition_list_destroy(a);
    if (e) {
        log_error("dead-letter topic %s: assign: %s", topic, rd_kafka_err2str(e));
        rc = GK_EXIT_UNAVAILABLE;
    }
    dt_sources src = {0};
    int at_end = 0;
    kafka_wait w;
    kafka_wait_begin(&w, rk, "the dead-letter topic's records", timeout_ms, 1);
    while (rc == 0 && at_end < parts) {
        if (!signals_run) {
            rc = KAFKA_WAIT_STOPPED;
            break;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, kafka_wait_slice(&w, 0));
        if (!m) {
            int w_rc = kafka_wait_again(&w, NULL);
            if (w_rc) rc = w_rc == KAFKA_WAIT_STOPPED ? w_rc : GK_EXIT_UNAVAILABLE;
            continue;
        }
        kafka_wait_begin(&w, rk, "the dead-letter topic's records", timeout_ms, 1);
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            at_end++;
        } else if (m->err) {
            log_error("dead-letter topic %s [%" PRId32 "]: %s", topic, m->partition,
                      rd_kafka_message_errstr(m));
            rc = GK_EXIT_UNAVAILABLE;
        } else {
            int f = dt_one(m, &src, fn, ctx, n, copies);
            if (f < 0) {
                log_error("out of memory");
                rc = GK_EXIT_SOFTWARE;
            } else if (f > 0) {
                at_end = parts; /* fn asked to stop */
            }
        }
        rd_kafka_message_destroy(m);
    }
    if (rc == GK_EXIT_UNAVAILABLE && at_end < parts)
        log_error("dead-letter topic %s: %d of %d partitions read to their end within %ld s",
                  topic, at_end, parts, timeout_ms / 1000);
    free(src.items);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return rc;
}
