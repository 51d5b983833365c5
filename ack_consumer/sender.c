/* sender.c - the ack producer and its delivery bookkeeping (see sender.h). */
#include "ack_consumer/sender.h"

#include "common/exitcodes.h"
#include "common/grow.h"
#include "common/log.h"
#include "common/numtext.h"
#include "common/signals.h"
#include "common/timeutil.h"
#include "kafka/kafka.h"
#include "metrics/metrics.h"
#include "schema/message.h"

#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SENDER_METADATA_MS 10000 /* the ack topic's metadata at start-up (best effort) */
#define SENDER_MAX_SAMPLES 100000 /* latency samples kept for the exit report */

typedef struct {
    ack_confirm *items;
    size_t n, cap;
} sender_confirms;

struct ack_sender {
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt; /* held for the whole run: its metadata stays known */
    char *topic;
    char *txn_id; /* NULL unless transactional */
    bool transactional;
    size_t inflight;
    sender_confirms confirmed; /* delivered (and, if transactional, committed) */
    sender_confirms txn_done;  /* delivered inside the open transaction */
    uint64_t *unsure;
    size_t nunsure, capunsure;
    uint64_t delivered;
    uint32_t *lat_us; /* produce -> confirmed (committed), first SENDER_MAX_SAMPLES acks */
    size_t nlat;
    int64_t txn_start_us;
    bool fatal_logged;
    bool closing; /* purged at exit: failures are expected, not news */
    long connect_timeout_s;
    kafka_wait connect; /* the wait for the cluster's first answer, from creation on */
    /* Scalable mode: the changelog topic and, per partition, the offset after
     * the last changelog record delivered (in the open transaction). */
    rd_kafka_topic_t *cl_rkt;
    int64_t *cl_next;
    int32_t ncl;
    rd_kafka_topic_t *dl_rkt; /* scalable mode: the dead-letter topic */
};

static int sender_confirm_push(sender_confirms *c, ack_confirm v) {
    ack_confirm *items = grow_one(c->items, c->n, &c->cap, sizeof *items, 256);
    if (!items) return -1;
    c->items = items;
    c->items[c->n++] = v;
    return 0;
}

/* An ack whose fate is unknown; if even this allocation fails, the state
 * still lists the event as pending and the next start reconciles it. */
static void sender_unsure(ack_sender *s, uint64_t id) {
    uint64_t *unsure = grow_one(s->unsure, s->nunsure, &s->capunsure, sizeof *unsure, 64);
    if (!unsure) {
        log_error("out of memory: ack of event %" PRIu64 " left for the next start", id);
        return;
    }
    s->unsure = unsure;
    s->unsure[s->nunsure++] = id;
}

/* Notes how long an ack took from produce to confirmed. */
static void sender_latency(ack_sender *s, int64_t since_us) {
    if (!s->lat_us) s->lat_us = malloc(SENDER_MAX_SAMPLES * sizeof *s->lat_us);
    if (!s->lat_us || s->nlat == SENDER_MAX_SAMPLES || since_us <= 0) return;
    int64_t d = time_now_us() - since_us;
    s->lat_us[s->nlat++] = d < 0 ? 0 : d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
}

/* True for the fatal errors that mean another producer took over this
 * transactional id (a newer epoch): this instance is a zombie. */
static bool sender_fenced_err(rd_kafka_resp_err_t err) {
    return err == RD_KAFKA_RESP_ERR__FENCED || err == RD_KAFKA_RESP_ERR_PRODUCER_FENCED ||
           err == RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH;
}

/* Delivery report, served by rd_kafka_poll/flush in this thread. */
static void sender_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    ack_sender *s = opaque;
    uint64_t id = (uint64_t)(uintptr_t)m->_private;
    if (s->inflight > 0) s->inflight--;
    if (s->dl_rkt && m->rkt == s->dl_rkt) { /* a dead letter */
        if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR && !s->closing)
            log_warn("a dead letter of partition %" PRId32 " not delivered: %s (its transaction "
                     "will be aborted)", m->partition, rd_kafka_err2str(m->err));
        return;
    }
    if (s->cl_rkt && m->rkt == s->cl_rkt) { /* a changelog record */
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR && m->partition >= 0 && m->partition < s->ncl &&
            m->offset + 1 > s->cl_next[m->partition])
            s->cl_next[m->partition] = m->offset + 1;
        else if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR && !s->closing)
            log_warn("changelog record of event %" PRIu64 " not delivered: %s (its transaction "
                     "will be aborted)", id, rd_kafka_err2str(m->err));
        return;
    }
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        ack_confirm c = {id, m->partition, m->offset};
        if (sender_confirm_push(s->transactional ? &s->txn_done : &s->confirmed, c) != 0) {
            log_error("out of memory: ack of event %" PRIu64 " left for the next start", id);
            return;
        }
        if (!s->transactional) {
            int64_t acked_us = -1;
            if (kafka_header_int64(m, KAFKA_HDR_PRODUCED_US, &acked_us) == 0)
                sender_latency(s, acked_us);
            s->delivered++;
        }
        return;
    }
    /* Closing, or fenced: nothing will be sent again by this process, so a
     * failed ack is no news (it stays pending in the state). */
    if (s->closing || sender_fenced_err(rd_kafka_fatal_error(rk, NULL, 0))) {
        sender_unsure(s, id);
        return;
    }
    rd_kafka_msg_status_t st = rd_kafka_message_status(m);
    log_error("ack of event %" PRIu64 " not delivered: %s (%s); it will be checked against "
              "the ack topic and sent again if absent",
              id, rd_kafka_err2str(m->err),
              st == RD_KAFKA_MSG_STATUS_NOT_PERSISTED ? "not persisted" : "possibly persisted");
    sender_unsure(s, id);
}

int ack_sender_new(const ack_sender_config *cfg, ack_sender **out) {
    *out = NULL;
    ack_sender *s = calloc(1, sizeof *s);
    if (!s || !(s->topic = strdup(cfg->topic))) {
        log_error("out of memory");
        free(s);
        return GK_EXIT_SOFTWARE;
    }
    s->connect_timeout_s = cfg->connect_timeout_s;
    s->transactional = cfg->transactional_id && *cfg->transactional_id;
    if (s->transactional && !(s->txn_id = strdup(cfg->transactional_id))) {
        log_error("out of memory");
        ack_sender_destroy(s);
        return GK_EXIT_SOFTWARE;
    }
    /* Latency first (linger 0); lz4 keeps the embedded broker's 5 MiB
     * retention far away; murmur2_random is the Java client's partitioner. */
    kafka_default defs[] = {
        {"enable.idempotence", "true"},
        {"acks", "all"},
        {"linger.ms", "0"},
        {"compression.codec", "lz4"},
        {"partitioner", "murmur2_random"},
        /* One request in flight per connection: without it librdkafka 2.0.2
         * spins its broker thread while a partition's in-flight messages
         * fill its idempotence window (see the producer's sender.c), which
         * on a machine shared with the broker tripled the ack delay's p99.
         * It costs a backlog's drain some speed (bench/README.md): -X
         * max.in.flight.requests.per.connection=5 for a catch-up run. */
        {"max.in.flight.requests.per.connection", "1"},
        /* Never give up on an ack by timeout: a timed-out ack may still be
         * written later, and it would then be sent twice. (Last: replaced
         * when transactional.) */
        {"message.timeout.ms", "0"},
        {NULL, NULL},
        {NULL, NULL},
        {NULL, NULL},
    };
    if (s->transactional) {
        /* A transaction bounds its messages' lifetime itself. */
        defs[6] = (kafka_default){"transactional.id", cfg->transactional_id};
        /* Scalable mode: a crashed instance's open transaction holds back
         * the read_committed readers of every partition it wrote (and the
         * restore of its partitions elsewhere) until the broker aborts it:
         * 10 s, as Kafka Streams under exactly_once_v2. */
        defs[7] = (kafka_default){"transaction.timeout.ms", cfg->changelog_topic ? "10000" : "60000"};
        /* A transaction begun right after the previous commit finds the
         * coordinator still writing that one's markers: it refuses the new
         * AddOffsetsToTxn with CONCURRENT_TRANSACTIONS, and librdkafka asks
         * again after retry.backoff.ms - 100 ms by default, a wait every batch
         * paid (the ack delay it cost: bench/README.md). */
        defs[8] = (kafka_default){"retry.backoff.ms", "10"};
    }
    rd_kafka_conf_t *conf = kafka_conf_new(cfg->bootstrap, defs, cfg->overrides);
    if (conf) {
        rd_kafka_conf_set_dr_msg_cb(conf, sender_dr_cb);
        rd_kafka_conf_set_opaque(conf, s);
        s->rk = kafka_new(RD_KAFKA_PRODUCER, conf);
    }
    if (!s->rk) {
        ack_sender_destroy(s);
        return kafka_failure_exit();
    }
    if (!(s->rkt = rd_kafka_topic_new(s->rk, s->topic, NULL))) {
        log_error("ack topic %s: %s", s->topic, rd_kafka_err2str(rd_kafka_last_error()));
        ack_sender_destroy(s);
        return GK_EXIT_USAGE;
    }
    if (cfg->changelog_topic) {
        s->ncl = cfg->changelog_partitions;
        s->cl_next = calloc(s->ncl > 0 ? (size_t)s->ncl : 1, sizeof *s->cl_next);
        if (!s->cl_next || !(s->cl_rkt = rd_kafka_topic_new(s->rk, cfg->changelog_topic, NULL))) {
            log_error("changelog topic %s: %s", cfg->changelog_topic,
                      s->cl_next ? rd_kafka_err2str(rd_kafka_last_error()) : "out of memory");
            ack_sender_destroy(s);
            return GK_EXIT_SOFTWARE;
        }
    }
    if (cfg->dead_letter_topic && !(s->dl_rkt = rd_kafka_topic_new(s->rk, cfg->dead_letter_topic, NULL))) {
        log_error("dead-letter topic %s: %s", cfg->dead_letter_topic,
                  rd_kafka_err2str(rd_kafka_last_error()));
        ack_sender_destroy(s);
        return GK_EXIT_SOFTWARE;
    }
    kafka_wait_begin(&s->connect, s->rk, "the cluster", s->connect_timeout_s * 1000, 1);
    *out = s;
    return 0;
}

/* Learns the partitions of rkt, a topic this producer writes, now, and
 * waits until each one's leader answers for it (kafka_wait_leaders: a
 * partition created a moment ago could otherwise lose its first writes);
 * both within SENDER_METADATA_MS, best effort. Why now: librdkafka otherwise
 * looks a topic up only at its first message and holds that message ~0.5 s
 * meanwhile. */
static void sender_warm_topic(ack_sender *s, rd_kafka_topic_t *rkt) {
    kafka_wait w;
    kafka_wait_begin(&w, s->rk, "a topic's metadata", SENDER_METADATA_MS, 0);
    const char *topic = rd_kafka_topic_name(rkt);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err;
    while ((err = rd_kafka_metadata(s->rk, 0, rkt, &md, kafka_wait_slice(&w, 2000))) !=
               RD_KAFKA_RESP_ERR_NO_ERROR &&
           kafka_wait_again(&w, rd_kafka_err2str(err)) == 0) {
    }
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1) err = md->topics[0].err;
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
        kafka_wait_leaders(s->rk, &md->topics[0], w.start_us + SENDER_METADATA_MS * 1000LL);
    else if (signals_run)
        log_warn("topic %s metadata: %s (its first messages may wait for it)", topic,
                 rd_kafka_err2str(err));
    if (md) rd_kafka_metadata_destroy(md);
}

/* One more round of the wait for the cluster's first answer (now for
 * what), which began with the producer: --connect-timeout bounds the whole
 * of it. Returns 0, KAFKA_WAIT_STOPPED or GK_EXIT_UNAVAILABLE (logged). */
static int sender_connect_again(ack_sender *s, const char *what, const char *err) {
    s->connect.what = what;
    int rc = kafka_wait_again(&s->connect, err);
    if (rc != KAFKA_WAIT_EXPIRED) return rc;
    kafka_wait_log(&s->connect, LOG_ERROR, err, "giving up (--connect-timeout)");
    return GK_EXIT_UNAVAILABLE;
}

/* The timeout of the connecting wait's next call. */
static int sender_connect_slice(ack_sender *s) { return kafka_wait_slice(&s->connect, 0); }

int ack_sender_cluster_id(ack_sender *s, char **out) {
    *out = NULL;
    for (;;) {
        char *id = rd_kafka_clusterid(s->rk, sender_connect_slice(s));
        if (id) {
            *out = strdup(id);
            rd_kafka_mem_free(s->rk, id);
            if (!*out) {
                log_error("out of memory");
                return GK_EXIT_SOFTWARE;
            }
            rd_kafka_topic_t *written[] = {s->rkt, s->cl_rkt, s->dl_rkt};
            for (size_t i = 0; i < sizeof written / sizeof *written && signals_run; i++)
                if (written[i]) sender_warm_topic(s, written[i]);
            return 0;
        }
        int rc = sender_connect_again(s, "the cluster id", NULL);
        if (rc) return rc;
    }
}

int ack_sender_init(ack_sender *s) {
    while (s->transactional) {
        rd_kafka_error_t *e = rd_kafka_init_transactions(s->rk, sender_connect_slice(s));
        if (!e) {
            log_info("transactions initialized (any earlier instance is fenced)");
            return 0;
        }
        bool retry = rd_kafka_error_is_retriable(e) || rd_kafka_error_code(e) ==
                                                           RD_KAFKA_RESP_ERR__TIMED_OUT;
        if (!retry) {
            log_error("kafka init transactions: %s", rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
            return GK_EXIT_UNAVAILABLE;
        }
        char err[512];
        snprintf(err, sizeof err, "%s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        int rc = sender_connect_again(s, "transactions to be initialized", err);
        if (rc) return rc;
    }
    return 0;
}

/* Appends text to the ack being written at *p. */
static char *sender_put(char *p, const char *text) {
    size_t n = strlen(text);
    memcpy(p, text, n);
    return p + n;
}

/* Appends v, or null when it is negative (unknown). */
static char *sender_put_opt(char *p, int64_t v) {
    return v >= 0 ? p + numtext_i64(p, v) : sender_put(p, "null");
}

/* The longest ack: the fixed text plus 2 + 3 x 4 integers. */
#define SENDER_PAYLOAD_MAX (256 + 14 * NUMTEXT_I64_MAX)

/* Builds one ack's value (malloc'd, for RD_KAFKA_MSG_F_FREE):
 * {"event_id":N,"acked_us":N,"topics":{"topic1":{"partition":P,"offset":O,
 * "ts_ms":T,"produced_us":U},...}} with null for what is unknown. Written
 * directly: a jansson tree per ack was a visible share of ack_consumer's CPU
 * (bench/README.md). */
static char *sender_payload(const ack_ready *r, int64_t acked_us, size_t *len) {
    char *out = malloc(SENDER_PAYLOAD_MAX);
    if (!out) return NULL;
    char *p = sender_put(out, "{\"event_id\":");
    p += numtext_i64(p, (int64_t)r->event_id);
    p = sender_put(p, ",\"acked_us\":");
    p += numtext_i64(p, acked_us);
    p = sender_put(p, ",\"topics\":{");
    for (int i = 0; i < ACK_N_TOPICS; i++) {
        const ack_seen *t = &r->ev.topics[i];
        p = sender_put(p, i ? ",\"" : "\"");
        p = sender_put(p, schema_records[i].topic);
        p = sender_put(p, "\":{\"partition\":");
        p = sender_put_opt(p, t->partition);
        p = sender_put(p, ",\"offset\":");
        p = sender_put_opt(p, t->offset);
        p = sender_put(p, ",\"ts_ms\":");
        p = sender_put_opt(p, t->ts_ms);
        p = sender_put(p, ",\"produced_us\":");
        p = sender_put_opt(p, t->produced_us);
        p = sender_put(p, "}");
    }
    p = sender_put(p, "}}");
    *len = (size_t)(p - out);
    return out;
}

/* When the event was complete: the latest of its three topic messages
 * producer clocks (a message without one: its Kafka timestamp), or -1 if a
 * time is unknown. What analysis/ack_delay subtracts from the ack time. */
static int64_t sender_complete_us(const ack_event *ev) {
    int64_t latest = -1;
    for (int i = 0; i < ACK_N_TOPICS; i++) {
        const ack_seen *t = &ev->topics[i];
        int64_t us = t->produced_us >= 0 ? t->produced_us : t->ts_ms >= 0 ? t->ts_ms * 1000 : -1;
        if (us < 0) return -1;
        if (us > latest) latest = us;
    }
    return latest;
}

/* Produces one ack, waiting while the local queue is full. Returns 0, or -1
 * if it could not be queued (the ack is then unsure). */
static int sender_produce(ack_sender *s, const ack_ready *r) {
    int64_t acked_us = time_now_us();
    char key[SCHEMA_EVENT_KEY_MAX], hdr[NUMTEXT_I64_MAX];
    size_t klen = schema_event_key(key, (int64_t)r->event_id);
    size_t hlen = numtext_i64(hdr, acked_us);
    size_t len = 0;
    char *value = sender_payload(r, acked_us, &len);
    if (!value) {
        log_error("out of memory building the ack of event %" PRIu64, r->event_id);
        sender_unsure(s, r->event_id);
        return -1;
    }
    for (;;) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            s->rk, RD_KAFKA_V_RKT(s->rkt), RD_KAFKA_V_KEY(key, klen),
            RD_KAFKA_V_VALUE(value, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE),
            RD_KAFKA_V_HEADER(KAFKA_HDR_PRODUCED_US, hdr, (ssize_t)hlen),
            RD_KAFKA_V_OPAQUE((void *)(uintptr_t)r->event_id), RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            s->inflight++;
            metrics_ack_sent(acked_us, sender_complete_us(&r->ev));
            return 0;
        }
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL && signals_run) {
            rd_kafka_poll(s->rk, 100); /* deliveries make room */
            continue;
        }
        log_error("cannot produce the ack of event %" PRIu64 " to %s: %s", r->event_id, s->topic,
                  rd_kafka_err2str(err));
        free(value);
        sender_unsure(s, r->event_id);
        return -1;
    }
}

/* Moves the open transaction's deliveries to confirmed (commit) or makes
 * every ack of it unsure (abort: readers with read_committed never see it). */
static void sender_txn_settle(ack_sender *s, const ack_ready *items, size_t n, bool committed) {
    if (committed) {
        for (size_t i = 0; i < s->txn_done.n; i++) {
            if (sender_confirm_push(&s->confirmed, s->txn_done.items[i]) != 0) continue;
            s->delivered++;
            sender_latency(s, s->txn_start_us);
        }
    } else {
        for (size_t i = 0; i < n; i++) sender_unsure(s, items[i].event_id);
    }
    s->txn_done.n = 0;
}

/* Calls the transaction API call (commit or abort) in the short calls of a
 * wait, for as long as the cluster takes (an outage is waited out, and said)
 * but no longer than a signal allows. Returns NULL when done, else the error
 * (the caller destroys it); *stopped tells a signal's interruption. */
static rd_kafka_error_t *sender_txn_call(ack_sender *s,
                                         rd_kafka_error_t *(*call)(rd_kafka_t *, int),
                                         const char *what, bool *stopped) {
    kafka_wait w;
    kafka_wait_begin(&w, s->rk, what, 0, 1);
    *stopped = false;
    for (;;) {
        rd_kafka_error_t *e = call(s->rk, kafka_wait_slice(&w, 0));
        rd_kafka_poll(s->rk, 0);
        /* Timed out: the call goes on in the background, and calling it again
         * waits for it (librdkafka resumes it). */
        if (!e || rd_kafka_error_txn_requires_abort(e) || rd_kafka_error_is_fatal(e) ||
            !(rd_kafka_error_is_retriable(e) ||
              rd_kafka_error_code(e) == RD_KAFKA_RESP_ERR__TIMED_OUT))
            return e;
        if (kafka_wait_again(&w, rd_kafka_error_string(e)) != 0) {
            *stopped = true;
            return e;
        }
        rd_kafka_error_destroy(e);
    }
}

/* Commits the open transaction, retrying what is retriable and aborting
 * what must be. A signal ends the wait: the acks of the transaction become
 * unsure (still pending in the state; the next start finds them in the
 * topic or sends them again). Returns 0 (committed, aborted or stopped) or
 * -1 (fatal). */
static int sender_txn_commit(ack_sender *s, const ack_ready *items, size_t n) {
    bool stopped;
    rd_kafka_error_t *e =
        sender_txn_call(s, rd_kafka_commit_transaction, "the ack transaction to commit", &stopped);
    if (!e) {
        sender_txn_settle(s, items, n, true);
        return 0;
    }
    if (stopped) {
        log_warn("stopped while %zu acks were being committed (%s): they stay pending and are "
                 "checked against %s at the next start",
                 n, rd_kafka_error_string(e), s->topic);
        rd_kafka_error_destroy(e);
        sender_txn_settle(s, items, n, false);
        return 0;
    }
    log_warn("kafka commit transaction: %s", rd_kafka_error_string(e));
    bool abort = rd_kafka_error_txn_requires_abort(e);
    rd_kafka_error_destroy(e);
    e = abort ? sender_txn_call(s, rd_kafka_abort_transaction, "the ack transaction to abort",
                                &stopped)
              : NULL;
    /* After the abort: deliveries reported meanwhile belong to it too. */
    sender_txn_settle(s, items, n, false);
    if (!abort) return -1;
    if (!e) return 0;
    if (!stopped) log_error("kafka abort transaction: %s", rd_kafka_error_string(e));
    rd_kafka_error_destroy(e);
    return stopped ? 0 : -1;
}

int ack_sender_send(ack_sender *s, const ack_ready *items, size_t n) {
    if (n == 0) return 0;
    if (s->transactional) {
        s->txn_start_us = time_now_us();
        rd_kafka_error_t *e = rd_kafka_begin_transaction(s->rk);
        if (e) {
            log_error("kafka begin transaction: %s", rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
            for (size_t i = 0; i < n; i++) sender_unsure(s, items[i].event_id);
            return -1;
        }
    }
    for (size_t i = 0; i < n; i++) sender_produce(s, &items[i]);
    rd_kafka_poll(s->rk, 0);
    if (s->transactional) return sender_txn_commit(s, items, n);
    return ack_sender_fatal(s) ? -1 : 0;
}

void ack_sender_poll(ack_sender *s, int timeout_ms) { rd_kafka_poll(s->rk, timeout_ms); }

size_t ack_sender_flush(ack_sender *s, int timeout_ms) {
    /* Every transaction is committed (or given up) by ack_sender_send: what
     * is still in flight belongs to none, and waiting for it is no use. */
    if (s->transactional) timeout_ms = 0;
    rd_kafka_resp_err_t err = rd_kafka_flush(s->rk, timeout_ms);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__TIMED_OUT)
        log_warn("kafka flush: %s", rd_kafka_err2str(err));
    rd_kafka_poll(s->rk, 0);
    return s->inflight;
}

size_t ack_sender_inflight(const ack_sender *s) { return s->inflight; }

const ack_confirm *ack_sender_confirmed(const ack_sender *s, size_t *n) {
    *n = s->confirmed.n;
    return s->confirmed.items;
}

void ack_sender_confirmed_done(ack_sender *s, size_t n) {
    if (n >= s->confirmed.n) {
        s->confirmed.n = 0;
        return;
    }
    memmove(s->confirmed.items, s->confirmed.items + n,
            (s->confirmed.n - n) * sizeof *s->confirmed.items);
    s->confirmed.n -= n;
}

static int sender_cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int ack_sender_take_unsure(ack_sender *s, uint64_t **ids, size_t *n) {
    *ids = NULL;
    *n = 0;
    if (s->nunsure == 0) return 0;
    qsort(s->unsure, s->nunsure, sizeof *s->unsure, sender_cmp_u64);
    size_t k = 0;
    for (size_t i = 0; i < s->nunsure; i++)
        if (k == 0 || s->unsure[k - 1] != s->unsure[i]) s->unsure[k++] = s->unsure[i];
    *ids = s->unsure;
    *n = k;
    s->unsure = NULL;
    s->nunsure = s->capunsure = 0;
    return 0;
}

size_t ack_sender_unsure_count(const ack_sender *s) { return s->nunsure; }

bool ack_sender_fatal(ack_sender *s) {
    char reason[512];
    rd_kafka_resp_err_t err = rd_kafka_fatal_error(s->rk, reason, sizeof reason);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return false;
    if (!s->fatal_logged && s->transactional && sender_fenced_err(err))
        log_error("fenced: the broker rejects every write under transactional id %s (a newer "
                  "ack_consumer took the id over, or this one's transaction was aborted after it "
                  "went silent past transaction.timeout.ms): %s; stopping without sending "
                  "another ack",
                  s->txn_id ? s->txn_id : "?", reason);
    else if (!s->fatal_logged)
        log_error("ack producer fatal error: %s: %s", rd_kafka_err2str(err), reason);
    s->fatal_logged = true;
    return true;
}

uint64_t ack_sender_delivered(const ack_sender *s) { return s->delivered; }

static int sender_cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

void ack_sender_log_latency(ack_sender *s) {
    if (s->nlat == 0) return;
    qsort(s->lat_us, s->nlat, sizeof *s->lat_us, sender_cmp_u32);
    log_info("ack confirm latency (produce -> %s) over %zu acks: p50 %.2f ms, p99 %.2f ms, "
             "max %.2f ms",
             s->transactional ? "committed" : "delivered", s->nlat,
             s->lat_us[s->nlat / 2] / 1000.0, s->lat_us[s->nlat * 99 / 100] / 1000.0,
             s->lat_us[s->nlat - 1] / 1000.0);
}

void ack_sender_destroy(ack_sender *s) {
    if (!s) return;
    if (s->rk) {
        /* Whatever is still queued stays pending in the state: the next start
         * finds it in the topic or sends it again. */
        s->closing = true;
        rd_kafka_resp_err_t err =
            rd_kafka_purge(s->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_NON_BLOCKING);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) log_warn("kafka purge: %s", rd_kafka_err2str(err));
        rd_kafka_poll(s->rk, 0);
        if (s->rkt) rd_kafka_topic_destroy(s->rkt);
        if (s->cl_rkt) rd_kafka_topic_destroy(s->cl_rkt);
        if (s->dl_rkt) rd_kafka_topic_destroy(s->dl_rkt);
        rd_kafka_destroy(s->rk);
    }
    free(s->topic);
    free(s->txn_id);
    free(s->confirmed.items);
    free(s->txn_done.items);
    free(s->unsure);
    free(s->lat_us);
    free(s->cl_next);
    free(s);
}

/* ------------------------------------------------------------------------ */
/* Scalable mode: one transaction per batch                                  */
/* ------------------------------------------------------------------------ */

int ack_sender_txn_begin(ack_sender *s) {
    s->txn_start_us = time_now_us();
    s->txn_done.n = 0;
    for (int32_t i = 0; i < s->ncl; i++) s->cl_next[i] = -1;
    rd_kafka_error_t *e = rd_kafka_begin_transaction(s->rk);
    if (!e) return 0;
    log_error("kafka begin transaction: %s", rd_kafka_error_string(e));
    rd_kafka_error_destroy(e);
    return -1;
}

int ack_sender_txn_ack(ack_sender *s, const ack_ready *r) {
    int rc = sender_produce(s, r);
    if (rc != 0) s->nunsure = 0; /* the transaction is aborted: nothing is unsure */
    return rc;
}

int ack_sender_txn_record(ack_sender *s, int32_t partition, uint64_t event_id, const void *value,
                          size_t len) {
    char key[SCHEMA_EVENT_KEY_MAX];
    size_t klen = schema_event_key(key, (int64_t)event_id);
    for (;;) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            s->rk, RD_KAFKA_V_RKT(s->cl_rkt), RD_KAFKA_V_PARTITION(partition),
            RD_KAFKA_V_KEY(key, klen), RD_KAFKA_V_VALUE((void *)value, len),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_OPAQUE((void *)(uintptr_t)event_id), RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            s->inflight++;
            return 0;
        }
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL && signals_run) {
            rd_kafka_poll(s->rk, 100);
            continue;
        }
        log_error("cannot produce the changelog record of event %" PRIu64 ": %s", event_id,
                  rd_kafka_err2str(err));
        return -1;
    }
}

/* The headers of m's dead letter: m's own (unless they exceed
 * ACK_DL_MAX_HEADERS: then none, and their count said), then where it came
 * from and why. Returns them (the caller owns them) or NULL if out of memory. */
static rd_kafka_headers_t *sender_dl_headers(const msg_view *m, const char *reason,
                                             size_t value_bytes) {
    const rd_kafka_message_t *km = m->native;
    rd_kafka_headers_t *own = NULL;
    size_t n = 0, bytes = 0;
    if (km && rd_kafka_message_headers(km, &own) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char *name;
        const void *val;
        size_t len;
        while (rd_kafka_header_get_all(own, n, &name, &val, &len) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            bytes += strlen(name) + len;
            n++;
        }
    }
    bool keep = own && bytes <= ACK_DL_MAX_HEADERS;
    rd_kafka_headers_t *h = keep ? rd_kafka_headers_copy(own) : rd_kafka_headers_new(6);
    if (!h) return NULL;
    char part[NUMTEXT_I64_MAX], off[NUMTEXT_I64_MAX], num[NUMTEXT_I64_MAX];
    rd_kafka_header_add(h, ACK_DL_HDR_TOPIC, -1, m->topic, -1);
    rd_kafka_header_add(h, ACK_DL_HDR_PARTITION, -1, part,
                        (ssize_t)numtext_i64(part, m->partition));
    rd_kafka_header_add(h, ACK_DL_HDR_OFFSET, -1, off, (ssize_t)numtext_i64(off, m->offset));
    rd_kafka_header_add(h, ACK_DL_HDR_REASON, -1, reason, -1);
    if (value_bytes)
        rd_kafka_header_add(h, ACK_DL_HDR_VALUE_BYTES, -1, num,
                            (ssize_t)numtext_i64(num, (int64_t)value_bytes));
    if (n && !keep)
        rd_kafka_header_add(h, ACK_DL_HDR_HEADERS_LEFT_OUT, -1, num,
                            (ssize_t)numtext_i64(num, (int64_t)n));
    return h;
}

int ack_sender_txn_dead_letter(ack_sender *s, const msg_view *m, const char *reason) {
    size_t klen = m->key ? m->key_len : 0, vlen = m->value ? m->value_len : 0;
    size_t cut_from = vlen > ACK_DL_MAX_VALUE ? vlen : 0;
    if (klen > ACK_DL_MAX_KEY) klen = ACK_DL_MAX_KEY; /* an event id key is 20 digits at most */
    if (vlen > ACK_DL_MAX_VALUE) vlen = ACK_DL_MAX_VALUE;
    char where[400];
    snprintf(where, sizeof where, "%s [%" PRId32 "] offset %" PRId64, m->topic, m->partition,
             m->offset);
    rd_kafka_headers_t *h = sender_dl_headers(m, reason, cut_from);
    if (!h) {
        log_error("out of memory for the dead letter of %s", where);
        return -1;
    }
    for (;;) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            s->rk, RD_KAFKA_V_RKT(s->dl_rkt), RD_KAFKA_V_PARTITION(m->partition),
            RD_KAFKA_V_KEY(m->key, klen), RD_KAFKA_V_VALUE((void *)m->value, vlen),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(h),
            RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) { /* h is librdkafka's now */
            s->inflight++;
            log_warn("%s: dead letter: %s%s", where, reason,
                     cut_from ? " (its copy cut to the first 768 KiB of its value)" : "");
            return 0;
        }
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL && signals_run) {
            rd_kafka_poll(s->rk, 100);
            continue;
        }
        log_error("cannot produce the dead letter of %s: %s", where, rd_kafka_err2str(err));
        rd_kafka_headers_destroy(h);
        return -1;
    }
}

int64_t ack_sender_changelog_next(const ack_sender *s, int32_t partition) {
    return partition >= 0 && partition < s->ncl ? s->cl_next[partition] : -1;
}

/* The outcome of a failed transaction call e (destroyed here): a fenced
 * producer or group member is a zombie (logged, ACK_TXN_FENCED); anything
 * else is aborted (ACK_TXN_ABORTED) or, if even that fails, -1. */
static int sender_txn_fail(ack_sender *s, rd_kafka_error_t *e, const char *what) {
    rd_kafka_resp_err_t code = rd_kafka_error_code(e);
    bool fatal = rd_kafka_error_is_fatal(e);
    log_warn("kafka %s: %s", what, rd_kafka_error_string(e));
    rd_kafka_error_destroy(e);
    if (fatal || sender_fenced_err(code)) {
        ack_sender_fatal(s);
        log_error("fenced: this instance's transaction was refused (%s): another member of the "
                  "group owns its partitions now; stopping without sending another ack",
                  rd_kafka_err2str(code));
        return ACK_TXN_FENCED;
    }
    /* The group has a newer generation without this member (its session
     * expired: it was frozen or cut off) and refused its offsets (KIP-447):
     * its partitions are another instance's now. */
    bool zombie = code == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION ||
                  code == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID ||
                  code == RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID;
    bool stopped;
    e = sender_txn_call(s, rd_kafka_abort_transaction, "the transaction to abort", &stopped);
    s->txn_done.n = 0;
    if (!e && zombie)
        log_error("fenced: the consumer group refused this instance's offsets (%s): it was "
                  "dropped from the group and its partitions belong to another instance now; its "
                  "transaction was aborted; stopping without sending another ack",
                  rd_kafka_err2str(code));
    if (!e) return zombie ? ACK_TXN_FENCED : ACK_TXN_ABORTED;
    log_error("kafka abort transaction: %s", rd_kafka_error_string(e));
    rd_kafka_error_destroy(e);
    return -1;
}

int ack_sender_txn_abort(ack_sender *s) {
    bool stopped;
    rd_kafka_error_t *e =
        sender_txn_call(s, rd_kafka_abort_transaction, "the transaction to abort", &stopped);
    s->txn_done.n = 0;
    if (!e) return 0;
    log_error("kafka abort transaction: %s", rd_kafka_error_string(e));
    rd_kafka_error_destroy(e);
    return -1;
}

int ack_sender_txn_end(ack_sender *s, const consume_partition *next, size_t n,
                       void *group_metadata) {
    rd_kafka_poll(s->rk, 0);
    if (n > 0) {
        rd_kafka_topic_partition_list_t *offs = rd_kafka_topic_partition_list_new((int)n);
        for (size_t i = 0; i < n; i++)
            rd_kafka_topic_partition_list_add(offs, next[i].topic, next[i].partition)->offset =
                next[i].offset;
        rd_kafka_error_t *e = rd_kafka_send_offsets_to_transaction(
            s->rk, offs, (const rd_kafka_consumer_group_metadata_t *)group_metadata, -1);
        rd_kafka_topic_partition_list_destroy(offs);
        if (e) return sender_txn_fail(s, e, "send offsets to transaction");
    }
    bool stopped;
    rd_kafka_error_t *e =
        sender_txn_call(s, rd_kafka_commit_transaction, "the transaction to commit", &stopped);
    if (e) return sender_txn_fail(s, e, "commit transaction");
    for (size_t i = 0; i < s->txn_done.n; i++) {
        s->delivered++;
        sender_latency(s, s->txn_start_us);
    }
    s->txn_done.n = 0;
    return 0;
}
