/* reconcile.c - scanning the ack topic for pending acks (see reconcile.h). */
#include "ack_consumer/reconcile.h"

#include "common/exitcodes.h"
#include "common/log.h"
#include "common/progress.h"
#include "common/signals.h"
#include "common/timeutil.h"
#include "kafka/kafka.h"
#include "schema/message.h"

#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REC_META_TIMEOUT_MS 10000
#define REC_CLOSE_MS 5000

typedef struct {
    int32_t partition;
    int64_t start, high;
    bool done;
} rec_part;

typedef struct {
    const ack_reconcile_config *cfg;
    rd_kafka_t *rk;
    rec_part *parts;
    int nparts;
    const uint64_t *ids;
    size_t n;
    unsigned char *seen; /* per id: found already */
    ack_reconcile_result *res;
    int64_t deadline_us;
} rec_scan;

static rd_kafka_t *rec_consumer(const ack_reconcile_config *cfg) {
    /* librdkafka wants a group.id even for assign(); no group is joined and
     * nothing is committed under it. */
    const kafka_default defs[] = {
        {"group.id", cfg->group_id},
        {"enable.auto.commit", "false"},
        {"enable.partition.eof", "true"},
        {"isolation.level", "read_committed"}, /* an aborted ack is no ack */
        {"auto.offset.reset", "error"},
        {"fetch.wait.max.ms", "10"},
        {NULL, NULL},
    };
    rd_kafka_conf_t *conf = kafka_conf_new(cfg->bootstrap, defs, cfg->overrides);
    return conf ? kafka_new(RD_KAFKA_CONSUMER, conf) : NULL;
}

/* Reads the partition list of the ack topic. A topic that does not exist
 * has no acks: 0 partitions. Returns 0, 1 (signal) or -1 (logged). */
static int rec_partitions(rec_scan *sc) {
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(sc->rk, sc->cfg->topic, NULL);
    if (!rkt) {
        log_error("ack topic %s: %s", sc->cfg->topic, rd_kafka_err2str(rd_kafka_last_error()));
        return -1;
    }
    kafka_wait w;
    kafka_wait_begin(&w, sc->rk, "the ack topic's partitions",
                     (long)((sc->deadline_us - time_mono_us()) / 1000), 1);
    int rc = -1, wrc = 0;
    while (rc < 0 && wrc == 0) {
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t err =
            rd_kafka_metadata(sc->rk, 0, rkt, &md, kafka_wait_slice(&w, 2000));
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1) err = md->topics[0].err;
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
            int cnt = err ? 0 : md->topics[0].partition_cnt;
            sc->parts = calloc((size_t)cnt + 1, sizeof *sc->parts);
            for (int i = 0; sc->parts && i < cnt; i++)
                sc->parts[i].partition = md->topics[0].partitions[i].id;
            sc->nparts = sc->parts ? cnt : 0;
            rc = sc->parts ? 0 : -2;
        } else {
            wrc = kafka_wait_again(&w, rd_kafka_err2str(err));
        }
        if (md) rd_kafka_metadata_destroy(md);
    }
    rd_kafka_topic_destroy(rkt);
    if (wrc == KAFKA_WAIT_STOPPED) return 1;
    if (rc < 0) log_error("ack topic %s: cannot read its partitions", sc->cfg->topic);
    return rc < 0 ? -1 : 0;
}

/* Sets every partition's scan range [start, high). Returns 0, 1 (signal),
 * -1 (Kafka, logged) or GK_EXIT_IOERR (the state, logged). */
static int rec_ranges(rec_scan *sc, ack_store *st) {
    sc->res->ends = calloc((size_t)sc->nparts + 1, sizeof *sc->res->ends);
    if (!sc->res->ends) return -1;
    for (int i = 0; i < sc->nparts; i++) {
        rec_part *p = &sc->parts[i];
        int64_t low = 0, high = 0;
        rd_kafka_resp_err_t err = kafka_watermarks(sc->rk, sc->cfg->topic, p->partition, &low,
                                                   &high, REC_META_TIMEOUT_MS);
        if (!signals_run) return 1;
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            log_error("ack topic %s [%" PRId32 "]: cannot query watermarks: %s", sc->cfg->topic,
                      p->partition, rd_kafka_err2str(err));
            return -1;
        }
        int64_t from = -1;
        char why[1024];
        if (ack_store_scan_from(st, p->partition, &from, why, sizeof why) != 0) {
            log_error("state: %s", why);
            return GK_EXIT_IOERR;
        }
        if (from > high) {
            log_warn("ack topic %s [%" PRId32 "]: scan_from %" PRId64 " beyond its end %" PRId64
                     " (topic recreated?): scanning it all",
                     sc->cfg->topic, p->partition, from, high);
            from = -1;
        }
        if (from >= 0 && from < low)
            log_warn("ack topic %s [%" PRId32 "]: acks before offset %" PRId64 " are gone "
                     "(retention); a pending ack that was there will be sent again",
                     sc->cfg->topic, p->partition, low);
        p->start = from < low ? low : from;
        p->high = high;
        p->done = p->start >= high;
        sc->res->ends[sc->res->nends++] = (ack_part_offset){p->partition, high};
    }
    return 0;
}

/* Notes one ack message: a pending id found becomes a confirmation. */
static int rec_match(rec_scan *sc, const rd_kafka_message_t *m) {
    int64_t key_id;
    if (schema_event_key_parse(m->key, m->key ? m->key_len : 0, &key_id) != 0) return 0;
    uint64_t id = (uint64_t)key_id;
    size_t lo = 0, hi = sc->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sc->ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == sc->n || sc->ids[lo] != id) return 0;
    if (sc->seen[lo]) {
        log_warn("event %" PRIu64 " has more than one ack in %s (again at [%" PRId32 "] offset "
                 "%" PRId64 ")",
                 id, sc->cfg->topic, m->partition, m->offset);
        return 0;
    }
    sc->seen[lo] = 1;
    sc->res->found[sc->res->nfound++] = (ack_confirm){id, m->partition, m->offset};
    return 0;
}

static rec_part *rec_find(rec_scan *sc, int32_t partition) {
    for (int i = 0; i < sc->nparts; i++)
        if (sc->parts[i].partition == partition) return &sc->parts[i];
    return NULL;
}

/* Consumes every partition's range. Returns 0, 1 (signal) or -1. */
static int rec_consume(rec_scan *sc) {
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(sc->nparts);
    int remaining = 0;
    for (int i = 0; i < sc->nparts; i++) {
        if (sc->parts[i].done) continue;
        rd_kafka_topic_partition_list_add(list, sc->cfg->topic, sc->parts[i].partition)->offset =
            sc->parts[i].start;
        remaining++;
    }
    rd_kafka_resp_err_t err = rd_kafka_assign(sc->rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        log_error("ack topic %s: assign failed: %s", sc->cfg->topic, rd_kafka_err2str(err));
        return -1;
    }
    while (remaining > 0) {
        if (!signals_run) return 1;
        if (time_mono_us() > sc->deadline_us) {
            log_error("ack topic %s: scan did not finish in time (%d partitions left)",
                      sc->cfg->topic, remaining);
            return -1;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(sc->rk, 200);
        if (!m) continue;
        rec_part *p = m->rkt && strcmp(rd_kafka_topic_name(m->rkt), sc->cfg->topic) == 0
                          ? rec_find(sc, m->partition)
                          : NULL;
        int64_t next = m->offset + (m->err ? 0 : 1);
        if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            log_error("ack topic %s [%" PRId32 "] offset %" PRId64 ": %s", sc->cfg->topic,
                      m->partition, m->offset, rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            return -1;
        }
        if (!m->err) sc->res->scanned++;
        progress_update("reconciling: %" PRIu64 " acks read, %zu of %zu pending found",
                        sc->res->scanned, sc->res->nfound, sc->n);
        if (p && !p->done && !m->err && m->offset < p->high) rec_match(sc, m);
        if (p && !p->done && next >= p->high) {
            p->done = true;
            remaining--;
        }
        rd_kafka_message_destroy(m);
    }
    return 0;
}

int ack_reconcile(const ack_reconcile_config *cfg, ack_store *st, const uint64_t *ids, size_t n,
                  ack_reconcile_result *res) {
    memset(res, 0, sizeof *res);
    rec_scan sc = {cfg, NULL, NULL, 0, ids, n, NULL, res,
                   time_mono_us() + (int64_t)cfg->timeout_ms * 1000};
    sc.seen = calloc(n ? n : 1, 1);
    res->found = calloc(n ? n : 1, sizeof *res->found);
    int rc = GK_EXIT_SOFTWARE;
    if (!sc.seen || !res->found) {
        log_error("out of memory");
    } else if (!(sc.rk = rec_consumer(cfg))) {
        rc = kafka_failure_exit();
    } else {
        rc = rec_partitions(&sc);
        if (rc == 0) rc = rec_ranges(&sc, st);
        if (rc == 0) rc = rec_consume(&sc);
        if (rc < 0) rc = GK_EXIT_UNAVAILABLE;
        progress_done();
    }
    if (sc.rk) kafka_consumer_close(sc.rk, REC_CLOSE_MS, NULL, "reconcile consumer");
    free(sc.parts);
    free(sc.seen);
    if (rc != 0) ack_reconcile_result_free(res);
    return rc;
}

void ack_reconcile_result_free(ack_reconcile_result *res) {
    free(res->found);
    free(res->ends);
    memset(res, 0, sizeof *res);
}
