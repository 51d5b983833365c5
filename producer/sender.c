/* sender.c - Kafka producing and delivery accounting (see sender.h). */
#include "producer/sender.h"

#include "common/log.h"
#include "common/numtext.h"
#include "common/progress.h"
#include "common/signals.h"
#include "common/timeutil.h"
#include "kafka/kafka.h"
#include "metrics/metrics.h"
#include "schema/message.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One client per file: each reader thread produces through its own
 * rd_kafka_t and serves that client's delivery reports itself, so a message
 * is allocated and freed by the same thread and the readers share no
 * librdkafka queue or lock. With one client shared by the readers, each
 * reader freed the others' messages (malloc arena lock contention, futex
 * wake-ups), which made the whole run much slower (bench/README.md,
 * "Measurements behind the code"). */
typedef struct {
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt; /* a handle spares a lookup by name per message */
} sender_client;

struct sender {
    producer_file *files;
    size_t nfiles;
    sender_client *clients; /* one per file, same index */
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
    /* Batching against ack delay: with 0 every message leaves alone at high
     * rates, and the consumers pay far more for reading those tiny batches
     * than a 2 ms linger adds to the ack delay, whose floor is the ack
     * state's fsync anyway (README; the figures: bench/README.md). */
    {"linger.ms", "2"},
    {"partitioner", "murmur2_random"}, /* Java-compatible: same key, same partition in topic1..3 */
    {"message.timeout.ms", "300000"}, /* rides out broker outages of tens of seconds */
    /* Messages queued or in flight per client (per file). Small, so that
     * memory is flat whatever the size of the files (a 10,000-row run already
     * reaches the bound), yet enough to keep the broker busy: of the sizes
     * measured (bench/README.md) this was the fastest, a smaller one slower
     * and a larger one no faster but bigger. A reader that finds the queue
     * full waits for deliveries (sender_send). */
    {"queue.buffering.max.messages", "1500"},
    /* One request in flight per broker connection, the next one built and
     * waiting. librdkafka 2.0.2's idempotent producer bounds a partition's
     * in-flight *messages* by its 5-request window, and once a batch's linger
     * has passed while that bound holds, its broker thread polls with a zero
     * timeout until the broker answers: three threads spinning at 100 % that,
     * on a machine shared with the broker, slowed its answers further (ack
     * delay p99 of seconds at 1,000 events/s; bench/README.md). With one
     * request in flight the next waits in the connection's output queue,
     * where the thread sleeps until the answer. Bulk throughput did not move. */
    {"max.in.flight.requests.per.connection", "1"},
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
    metrics_produced(f->topic, !m->err);
    if (m->err) {
        sender_record_failure(s, f, SENDER_ROW(m->_private), rd_kafka_err2str(m->err));
        return;
    }
    atomic_fetch_add(&f->delivered, 1);
    atomic_fetch_add(&f->bytes, m->len + m->key_len);
}

/* Creates the client of file f. Returns 0, or -1 after logging. */
static int sender_client_new(sender *s, sender_client *c, const char *bootstrap,
                             const cli_kv_list *overrides, const producer_file *f) {
    rd_kafka_conf_t *conf = kafka_conf_new(bootstrap, sender_defaults, overrides);
    if (!conf) return -1;
    rd_kafka_conf_set_dr_msg_cb(conf, sender_dr_cb);
    rd_kafka_conf_set_opaque(conf, s);
    c->rk = kafka_new(RD_KAFKA_PRODUCER, conf);
    if (!c->rk) return -1;
    c->rkt = rd_kafka_topic_new(c->rk, f->topic, NULL);
    if (!c->rkt) {
        log_error("topic %s: %s", f->topic, rd_kafka_err2str(rd_kafka_last_error()));
        return -1;
    }
    return 0;
}

sender *sender_new(const char *bootstrap, const cli_kv_list *overrides, producer_file *files,
                   size_t nfiles) {
    sender *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->files = files;
    s->nfiles = nfiles;
    s->clients = calloc(nfiles ? nfiles : 1, sizeof *s->clients);
    if (!s->clients) {
        log_error("out of memory creating the producer");
        sender_destroy(s);
        return NULL;
    }
    for (size_t i = 0; i < nfiles; i++) {
        if (sender_client_new(s, &s->clients[i], bootstrap, overrides, &files[i]) != 0) {
            sender_destroy(s);
            return NULL;
        }
    }
    return s;
}

int sender_probe(sender *s, const char *const *topics, size_t ntopics, double timeout_s) {
    const struct rd_kafka_metadata *md = NULL;
    if (s->nfiles == 0) return 0;
    /* Every client has the same bootstrap: one asks for all, in attempts of
     * at most a second so that SIGINT/SIGTERM ends the wait. */
    int64_t deadline = time_mono_us() + (int64_t)(timeout_s * 1e6);
    rd_kafka_resp_err_t e;
    for (;;) {
        int64_t left_ms = (deadline - time_mono_us()) / 1000;
        e = rd_kafka_metadata(s->clients[0].rk, 1, NULL, &md,
                              left_ms > 1000 ? 1000 : left_ms < 1 ? 1 : (int)left_ms);
        if (!e || time_mono_us() >= deadline) break;
        if (!signals_run) {
            log_info("signal %d while waiting for the cluster: nothing sent", signals_received());
            return 1;
        }
    }
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
        else {
            log_debug("topic %s: %d partitions", topics[i], md->topics[found].partition_cnt);
            kafka_wait_leaders(s->clients[0].rk, &md->topics[found], deadline);
            if (!signals_run) {
                log_info("signal %d while waiting for the cluster: nothing sent", signals_received());
                rd_kafka_metadata_destroy(md);
                return 1;
            }
        }
    }
    rd_kafka_metadata_destroy(md);
    return 0;
}

int sender_send(sender *s, producer_file *f, uint32_t row, int64_t id, const char *value,
                size_t len, const atomic_int *stop, char *err, size_t errlen) {
    char key[SCHEMA_EVENT_KEY_MAX], produced[NUMTEXT_I64_MAX], source[512];
    size_t klen = schema_event_key(key, id);
    size_t blen = strlen(f->base); /* "base:row", base cut to leave room for ":row" */
    if (blen > sizeof source - 1 - NUMTEXT_I64_MAX) blen = sizeof source - 1 - NUMTEXT_I64_MAX;
    memcpy(source, f->base, blen);
    source[blen] = ':';
    size_t slen = blen + 1 + numtext_i64(source + blen + 1, row);
    sender_client *c = &s->clients[f->index];
    for (;;) {
        size_t plen = numtext_i64(produced, time_now_us());
        rd_kafka_resp_err_t e = rd_kafka_producev(
            c->rk, RD_KAFKA_V_RKT(c->rkt), RD_KAFKA_V_KEY(key, klen),
            /* F_COPY: librdkafka puts the value in the message's own allocation. */
            RD_KAFKA_V_VALUE((void *)value, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_HEADER(KAFKA_HDR_PRODUCED_US, produced, (ssize_t)plen),
            RD_KAFKA_V_HEADER(KAFKA_HDR_SOURCE, source, (ssize_t)slen),
            RD_KAFKA_V_OPAQUE(SENDER_OPAQUE(f->index, row)), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
            /* Serve the reports that are ready here: a message is freed where
             * its report is served, and freeing in the thread that allocated
             * it spares malloc's arena lock the contention with the other
             * threads. */
            rd_kafka_poll(c->rk, 0);
            return 0;
        }
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            snprintf(err, errlen, "cannot produce to %s: %s", f->topic, rd_kafka_err2str(e));
            sender_record_failure(s, f, row, rd_kafka_err2str(e));
            return -1;
        }
        if (atomic_load(stop)) return 1;
        rd_kafka_poll(c->rk, 10); /* let deliveries drain the queue */
    }
}

void sender_poll(sender *s, const producer_file *f) { rd_kafka_poll(s->clients[f->index].rk, 0); }

int sender_fatal(sender *s, char *buf, size_t len) {
    for (size_t i = 0; i < s->nfiles; i++) {
        rd_kafka_resp_err_t e = rd_kafka_fatal_error(s->clients[i].rk, buf, len);
        if (!e) continue;
        size_t n = strlen(buf);
        snprintf(buf + n, len > n ? len - n : 0, " (%s, %s)", rd_kafka_err2name(e),
                 s->files[i].topic);
        return 1;
    }
    return 0;
}

long sender_outstanding(sender *s) {
    long n = 0;
    for (size_t i = 0; i < s->nfiles; i++) n += rd_kafka_outq_len(s->clients[i].rk);
    return n;
}

/* Purges what client c still holds and waits (up to until_us) for the failed
 * delivery reports of the purged messages. */
static void sender_purge(sender_client *c, int64_t until_us) {
    rd_kafka_resp_err_t e = rd_kafka_purge(c->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    if (e) log_error("purge: %s", rd_kafka_err2str(e));
    while (rd_kafka_outq_len(c->rk) > 0 && time_mono_us() < until_us) rd_kafka_poll(c->rk, 100);
}

long sender_flush(sender *s, double timeout_s) {
    /* The clients deliver in their own threads whoever waits: flushing them
     * one after another under one deadline waits as long as the slowest. */
    int64_t deadline = time_mono_us() + (int64_t)(timeout_s * 1e6);
    for (size_t i = 0; i < s->nfiles; i++) {
        rd_kafka_t *rk = s->clients[i].rk;
        while (rd_kafka_outq_len(rk) > 0 && time_mono_us() < deadline) {
            int64_t left_ms = (deadline - time_mono_us()) / 1000;
            rd_kafka_resp_err_t e = rd_kafka_flush(rk, left_ms < 200 ? (int)left_ms + 1 : 200);
            if (e && e != RD_KAFKA_RESP_ERR__TIMED_OUT) log_warn("flush: %s", rd_kafka_err2str(e));
            progress_update("producer: flushing, %ld messages outstanding", sender_outstanding(s));
            metrics_tick(); /* a flush is bounded work, not a hang */
        }
    }
    long left = sender_outstanding(s);
    if (left == 0) return 0;
    log_warn("flush timeout after %.0f s: purging %ld undelivered messages (those in flight may "
             "still have been written)", timeout_s, left);
    /* Purged messages still get their (failed) delivery reports through poll. */
    int64_t until = time_mono_us() + 5000000;
    for (size_t i = 0; i < s->nfiles; i++) sender_purge(&s->clients[i], until);
    return sender_outstanding(s);
}

void sender_destroy(sender *s) {
    if (!s) return;
    for (size_t i = 0; s->clients && i < s->nfiles; i++) {
        if (s->clients[i].rkt) rd_kafka_topic_destroy(s->clients[i].rkt);
        if (s->clients[i].rk) rd_kafka_destroy(s->clients[i].rk);
    }
    free(s->clients);
    free(s);
}
