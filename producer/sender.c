/* sender.c - Kafka producing and delivery accounting (see sender.h). */
#include "producer/sender.h"

#include "common/kafka.h"
#include "common/log.h"
#include "common/numtext.h"
#include "common/progress.h"
#include "common/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sender {
    rd_kafka_t *rk;
    producer_file *files;
    size_t nfiles;
    rd_kafka_topic_t **topics; /* per file: a handle spares a lookup by name per message */
    atomic_uint_fast64_t failures_logged;
};

/* The message opaque carries (file index, sheet row) so a delivery report
 * can be charged to the exact row without any allocation per message. */
_Static_assert(sizeof(uintptr_t) >= 8, "message opaque needs 64 bits");
#define SENDER_OPAQUE(file, row) ((void *)(((uintptr_t)(file) << 32) | (uintptr_t)(row)))
#define SENDER_FILE(op) ((size_t)((uintptr_t)(op) >> 32))
#define SENDER_ROW(op) ((uint32_t)((uintptr_t)(op) & 0xFFFFFFFFu))
#define SENDER_LOG_FAILURES 10 /* individual failures logged; the rest are summed up */

/* Defaults for the producer; -X overrides them. */
static const kafka_default sender_defaults[] = {
    {"enable.idempotence", "true"},   /* retries never duplicate or reorder */
    {"acks", "all"},
    {"compression.codec", "lz4"},     /* the embedded broker keeps only 5 MiB per partition */
    /* Batching against ack delay, measured on the embedded broker: with 0
     * every message left alone at high rates, and db_consumer reading those
     * tiny batches managed 170,000 rows/s; 2 ms gave 260,000 (5 ms 292,000)
     * at +2.4 ms ack delay p50 at 1,000 events/s (2.3 -> 4.7 ms). The ack
     * delay's floor is the ack state's fsync anyway (see README). */
    {"linger.ms", "2"},
    {"partitioner", "murmur2_random"}, /* Java-compatible: same key, same partition in topic1..3 */
    {"message.timeout.ms", "300000"}, /* rides out broker outages of tens of seconds */
    /* Messages queued or in flight, over all files. Small, so that memory
     * is flat whatever the size of the files (a 10,000-row run already
     * reaches the bound): measured on the embedded broker, 1,500 gave
     * 13.3 MiB at 10,000 rows and 14.3 MiB at 1,000,000 (200,000 msgs/s),
     * 10,000 gave 14.8 and 26.2 MiB (268,000 msgs/s). A reader that finds
     * the queue full waits for deliveries (sender_send). */
    {"queue.buffering.max.messages", "1500"},
    {NULL, NULL},
};

/* Records a failed row in its file's account. */
static void sender_record_failure(sender *s, producer_file *f, uint32_t row, const char *why) {
    atomic_fetch_add(&f->failed, 1);
    pthread_mutex_lock(&f->lock);
    int oom = rowlist_add(&f->failed_rows, row);
    pthread_mutex_unlock(&f->lock);
    if (oom) log_error("%s row %u: out of memory recording a failed delivery", f->path, row);
    if (atomic_fetch_add(&s->failures_logged, 1) < SENDER_LOG_FAILURES)
        log_warn("%s row %u -> %s: not delivered: %s", f->path, row, f->topic, why);
}

static void sender_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    sender *s = opaque;
    size_t fi = SENDER_FILE(m->_private);
    if (fi >= s->nfiles) {
        log_error("delivery report for an unknown file index %zu", fi);
        return;
    }
    producer_file *f = &s->files[fi];
    if (m->err) {
        sender_record_failure(s, f, SENDER_ROW(m->_private), rd_kafka_err2str(m->err));
        return;
    }
    atomic_fetch_add(&f->delivered, 1);
    atomic_fetch_add(&f->bytes, m->len + m->key_len);
}

sender *sender_new(const char *bootstrap, const cli_kv_list *overrides, producer_file *files,
                   size_t nfiles) {
    sender *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->files = files;
    s->nfiles = nfiles;
    s->topics = calloc(nfiles ? nfiles : 1, sizeof *s->topics);
    rd_kafka_conf_t *conf =
        s->topics ? kafka_conf_new(bootstrap, sender_defaults, overrides) : NULL;
    if (!conf) {
        sender_destroy(s);
        return NULL;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, sender_dr_cb);
    rd_kafka_conf_set_opaque(conf, s);
    s->rk = kafka_new(RD_KAFKA_PRODUCER, conf);
    if (!s->rk) {
        sender_destroy(s);
        return NULL;
    }
    for (size_t i = 0; i < nfiles; i++) {
        s->topics[i] = rd_kafka_topic_new(s->rk, files[i].topic, NULL);
        if (!s->topics[i]) {
            log_error("topic %s: %s", files[i].topic, rd_kafka_err2str(rd_kafka_last_error()));
            sender_destroy(s);
            return NULL;
        }
    }
    return s;
}

int sender_probe(sender *s, const char *const *topics, size_t ntopics, double timeout_s) {
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(s->rk, 1, NULL, &md, (int)(timeout_s * 1000));
    if (e) {
        log_error("broker unusable: no metadata within %.0f s: %s", timeout_s, rd_kafka_err2str(e));
        return -1;
    }
    for (size_t i = 0; i < ntopics; i++) {
        int found = -1;
        for (int t = 0; t < md->topic_cnt; t++)
            if (strcmp(md->topics[t].topic, topics[i]) == 0) found = t;
        if (found < 0)
            log_warn("topic %s does not exist yet (it is created only if the cluster auto-creates)",
                     topics[i]);
        else if (md->topics[found].err)
            log_warn("topic %s: %s", topics[i], rd_kafka_err2str(md->topics[found].err));
        else
            log_debug("topic %s: %d partitions", topics[i], md->topics[found].partition_cnt);
    }
    rd_kafka_metadata_destroy(md);
    return 0;
}

int sender_send(sender *s, producer_file *f, uint32_t row, int64_t id, const char *value,
                size_t len, const atomic_int *stop, char *err, size_t errlen) {
    char key[NUMTEXT_I64_MAX], produced[NUMTEXT_I64_MAX], source[512];
    size_t klen = numtext_i64(key, id);
    size_t blen = strlen(f->base); /* "base:row", base cut to leave room for ":row" */
    if (blen > sizeof source - 1 - NUMTEXT_I64_MAX) blen = sizeof source - 1 - NUMTEXT_I64_MAX;
    memcpy(source, f->base, blen);
    source[blen] = ':';
    size_t slen = blen + 1 + numtext_i64(source + blen + 1, row);
    for (;;) {
        size_t plen = numtext_i64(produced, time_now_us());
        rd_kafka_resp_err_t e = rd_kafka_producev(
            s->rk, RD_KAFKA_V_RKT(s->topics[f->index]), RD_KAFKA_V_KEY(key, klen),
            /* F_COPY: librdkafka puts the value in the message's own allocation. */
            RD_KAFKA_V_VALUE((void *)value, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_HEADER(KAFKA_HDR_PRODUCED_US, produced, (ssize_t)plen),
            RD_KAFKA_V_HEADER(KAFKA_HDR_SOURCE, source, (ssize_t)slen),
            RD_KAFKA_V_OPAQUE(SENDER_OPAQUE(f->index, row)), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
            /* Serve the reports that are ready here: a message is freed where
             * its report is served, and freeing in the thread that allocated
             * it spares malloc's arena lock the contention with the main
             * thread (that contention was ~40% of rd_kafka_producev). */
            rd_kafka_poll(s->rk, 0);
            return 0;
        }
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            snprintf(err, errlen, "cannot produce to %s: %s", f->topic, rd_kafka_err2str(e));
            sender_record_failure(s, f, row, rd_kafka_err2str(e));
            return -1;
        }
        if (atomic_load(stop)) return 1;
        rd_kafka_poll(s->rk, 10); /* let deliveries drain the queue */
    }
}

void sender_poll(sender *s, int timeout_ms) { rd_kafka_poll(s->rk, timeout_ms); }

int sender_fatal(sender *s, char *buf, size_t len) {
    rd_kafka_resp_err_t e = rd_kafka_fatal_error(s->rk, buf, len);
    if (!e) return 0;
    size_t n = strlen(buf);
    snprintf(buf + n, len > n ? len - n : 0, " (%s)", rd_kafka_err2name(e));
    return 1;
}

long sender_outstanding(sender *s) { return rd_kafka_outq_len(s->rk); }

long sender_flush(sender *s, double timeout_s) {
    int64_t deadline = time_mono_us() + (int64_t)(timeout_s * 1e6);
    while (rd_kafka_outq_len(s->rk) > 0 && time_mono_us() < deadline) {
        int64_t left_ms = (deadline - time_mono_us()) / 1000;
        rd_kafka_resp_err_t e = rd_kafka_flush(s->rk, left_ms < 200 ? (int)left_ms + 1 : 200);
        if (e && e != RD_KAFKA_RESP_ERR__TIMED_OUT)
            log_warn("flush: %s", rd_kafka_err2str(e));
        progress_update("producer: flushing, %d messages outstanding", rd_kafka_outq_len(s->rk));
    }
    if (rd_kafka_outq_len(s->rk) == 0) return 0;
    log_warn("flush timeout after %.0f s: purging %d undelivered messages (those in flight may "
             "still have been written)", timeout_s, rd_kafka_outq_len(s->rk));
    rd_kafka_resp_err_t e = rd_kafka_purge(s->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    if (e) log_error("purge: %s", rd_kafka_err2str(e));
    /* Purged messages still get their (failed) delivery reports through poll. */
    int64_t until = time_mono_us() + 5000000;
    while (rd_kafka_outq_len(s->rk) > 0 && time_mono_us() < until) rd_kafka_poll(s->rk, 100);
    return rd_kafka_outq_len(s->rk);
}

void sender_destroy(sender *s) {
    if (!s) return;
    for (size_t i = 0; s->topics && i < s->nfiles; i++)
        if (s->topics[i]) rd_kafka_topic_destroy(s->topics[i]);
    if (s->rk) rd_kafka_destroy(s->rk);
    free(s->topics);
    free(s);
}
