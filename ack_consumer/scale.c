/* scale.c - the scalable mode: per-partition stores, the changelog, and one
 * Kafka transaction per batch (see scale.h). */
#include "ack_consumer/scale.h"

#include "ack_consumer/changelog.h"
#include "ack_consumer/rules.h"
#include "common/exitcodes.h"
#include "common/grow.h"
#include "common/log.h"
#include "common/signals.h"
#include "common/timeutil.h"
#include "kafka/kafka.h"
#include "metrics/metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SCALE_META_MS 10000        /* each metadata/watermark request */
#define SCALE_STABLE_WAIT_MS 60000 /* an open transaction of a previous owner: the broker
                                      aborts it after transaction.timeout.ms (10 s) */
#define SCALE_RESTORE_CHUNK 10000  /* records per LMDB transaction while restoring */
#define SCALE_MAX_PARTITIONS 10000

struct ack_scale {
    ack_scale_config cfg;
    char *changelog, *dead_letters;
    ack_store **stores; /* by partition number; NULL: not ours */
    int32_t nparts;
    ack_sender *sender;
    rd_kafka_t *reader;    /* read_committed consumer without a group: the restore */
    rd_kafka_t *watermark; /* read_uncommitted: the high watermark, past open transactions */
    ack_ready_list ready;
    uint64_t *changed; /* event ids a partition's transaction wrote */
    size_t nchanged, capchanged;
    uint64_t *forgot; /* event ids a partition's transaction forgot (the horizon) */
    size_t nforgot, capforgot;
    msg_view *sub; /* one partition's messages of a batch */
    size_t capsub;
    ack_scale_counts n;       /* committed */
    ack_scale_counts pending; /* in the open transaction */
    uint64_t dead_by_class[SCHEMA_REASON_CLASSES]; /* dead letters of the batch being committed */
    int fatal; /* an exit code once fenced */
};

/* ------------------------------------------------------------------------ */
/* Opening                                                                   */
/* ------------------------------------------------------------------------ */

/* A consumer for the restore, reading with isolation. It only assigns
 * partitions by hand and never commits, but librdkafka 2.0 refuses an
 * assign without a group.id: it gets one that no member ever joins. */
static rd_kafka_t *scale_client(const ack_scale_config *cfg, const char *isolation) {
    char group[512];
    snprintf(group, sizeof group, "%s-restore", cfg->changelog);
    const kafka_default defs[] = {
        {"group.id", group},
        {"isolation.level", isolation},
        {"enable.partition.eof", "true"},
        {"enable.auto.commit", "false"},
        {"auto.offset.reset", "error"},
        {"fetch.wait.max.ms", "100"},
        {NULL, NULL},
    };
    rd_kafka_conf_t *conf = kafka_conf_new(cfg->bootstrap, defs, cfg->kafka);
    return conf ? kafka_new(RD_KAFKA_CONSUMER, conf) : NULL;
}

/* The partition count of topic in md, or -1 if it is not there. */
static int scale_count(const struct rd_kafka_metadata *md, const char *topic) {
    for (int i = 0; i < md->topic_cnt; i++)
        if (strcmp(md->topics[i].topic, topic) == 0 && md->topics[i].err == 0)
            return md->topics[i].partition_cnt;
    return -1;
}

int ack_scale_open(const ack_scale_config *cfg, ack_scale **out, int32_t *partitions) {
    *out = NULL;
    ack_scale *sc = calloc(1, sizeof *sc);
    if (!sc || !(sc->changelog = strdup(cfg->changelog)) ||
        !(sc->dead_letters = strdup(cfg->dead_letters))) {
        if (sc) free(sc->changelog);
        free(sc);
        log_error("out of memory");
        return GK_EXIT_SOFTWARE;
    }
    sc->cfg = *cfg;
    sc->cfg.changelog = sc->changelog;
    sc->cfg.dead_letters = sc->dead_letters;
    sc->reader = scale_client(cfg, "read_committed");
    sc->watermark = sc->reader ? scale_client(cfg, "read_uncommitted") : NULL;
    if (!sc->watermark) {
        ack_scale_close(sc);
        return kafka_failure_exit();
    }
    const struct rd_kafka_metadata *md = NULL;
    kafka_wait w;
    kafka_wait_begin(&w, sc->reader, "the topics' metadata", cfg->connect_timeout_s * 1000, 1);
    rd_kafka_resp_err_t err;
    int rc = 0;
    while ((err = rd_kafka_metadata(sc->reader, 1, NULL, &md, kafka_wait_slice(&w, 2000))) !=
           RD_KAFKA_RESP_ERR_NO_ERROR) {
        rc = kafka_wait_again(&w, rd_kafka_err2str(err));
        if (rc) break;
    }
    if (rc) {
        ack_scale_close(sc);
        return rc == KAFKA_WAIT_STOPPED ? rc : GK_EXIT_UNAVAILABLE;
    }
    int n = scale_count(md, cfg->topics[0]);
    for (size_t t = 1; t < cfg->ntopics && rc == 0; t++) {
        int m = scale_count(md, cfg->topics[t]);
        if (m != n) {
            log_error("--mode scalable: %s has %d partitions and %s %d: the topics are not "
                      "co-partitioned, so an event's messages would reach different instances",
                      cfg->topics[0], n, cfg->topics[t], m);
            rc = GK_EXIT_USAGE;
        }
    }
    int c = scale_count(md, cfg->changelog), d = scale_count(md, cfg->dead_letters);
    rd_kafka_metadata_destroy(md);
    if (rc == 0 && (n < 1 || n > SCALE_MAX_PARTITIONS)) {
        log_error("--mode scalable: %s has %d partitions (1..%d needed; missing?)", cfg->topics[0],
                  n, SCALE_MAX_PARTITIONS);
        rc = GK_EXIT_USAGE;
    }
    if (rc == 0 && c != n) {
        log_error("--mode scalable: the changelog topic %s %s; it must have the %d partitions of "
                  "%s and cleanup.policy=compact (create it: kafka_admin create %s "
                  "--partitions %d -c cleanup.policy=compact)",
                  cfg->changelog, c < 0 ? "does not exist" : "has another partition count", n,
                  cfg->topics[0], cfg->changelog, n);
        rc = GK_EXIT_USAGE;
    }
    /* Kept, not compacted: every dead letter stays until an operator deletes
     * the topic's records (README: Scaling out). */
    if (rc == 0 && d != n) {
        log_error("--mode scalable: the dead-letter topic %s %s; it must have the %d partitions "
                  "of %s (create it: kafka_admin create %s --partitions %d -c retention.ms=-1)",
                  cfg->dead_letters, d < 0 ? "does not exist" : "has another partition count", n,
                  cfg->topics[0], cfg->dead_letters, n);
        rc = GK_EXIT_USAGE;
    }
    if (rc == 0 && !(sc->stores = calloc((size_t)n, sizeof *sc->stores))) rc = GK_EXIT_SOFTWARE;
    if (rc) {
        ack_scale_close(sc);
        return rc;
    }
    sc->nparts = n;
    *partitions = n;
    *out = sc;
    return 0;
}

void ack_scale_set_sender(ack_scale *sc, ack_sender *sender) { sc->sender = sender; }

ack_scale_counts ack_scale_counts_get(const ack_scale *sc) { return sc->n; }

void ack_scale_close(ack_scale *sc) {
    if (!sc) return;
    for (int32_t i = 0; sc->stores && i < sc->nparts; i++) ack_store_close(sc->stores[i]);
    free(sc->stores);
    if (sc->reader) rd_kafka_destroy(sc->reader);
    if (sc->watermark) rd_kafka_destroy(sc->watermark);
    ack_ready_list_free(&sc->ready);
    free(sc->changed);
    free(sc->forgot);
    free(sc->sub);
    free(sc->changelog);
    free(sc->dead_letters);
    free(sc);
}

/* ------------------------------------------------------------------------ */
/* Assignment: restore from the changelog                                    */
/* ------------------------------------------------------------------------ */

/* Opens the store of partition p (DIR/p<p>). Returns 0 or an exit code. */
static int scale_open_store(ack_scale *sc, int32_t p) {
    if (sc->stores[p]) return 0;
    char dir[4096], err[1024];
    snprintf(dir, sizeof dir, "%s/p%" PRId32, sc->cfg.store.dir, p);
    ack_store_options o = sc->cfg.store;
    o.dir = dir;
    int rc = ack_store_open(&o, &sc->stores[p], err, sizeof err);
    if (rc == GK_EXIT_IOERR) {
        /* A damaged copy (MDB_NOSYNC and a machine crash on a file system
         * that reorders writes): the changelog has everything, so it is
         * rebuilt from there instead of refused. */
        log_warn("%s: rebuilding partition %" PRId32 "'s state from the changelog", err, p);
        static const char *const files[] = {"data.mdb", "lock.mdb"};
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
            char path[4200];
            snprintf(path, sizeof path, "%s/%s", dir, files[i]);
            if (unlink(path) != 0 && errno != ENOENT) {
                log_error("cannot remove %s: %s", path, strerror(errno));
                return GK_EXIT_IOERR;
            }
        }
        rc = ack_store_open(&o, &sc->stores[p], err, sizeof err);
    }
    if (rc) log_error("%s", err);
    return rc;
}

/* Waits until changelog partition p has no open transaction (its last
 * stable offset reaches its high watermark): a previous owner that crashed
 * or stopped mid-transaction is aborted by the broker, and one that was
 * committing has its markers written. Sets *low and *end. Returns 0,
 * KAFKA_WAIT_STOPPED or GK_EXIT_UNAVAILABLE (logged). */
static int scale_stable_end(ack_scale *sc, int32_t p, int64_t *low, int64_t *end) {
    int64_t start = time_mono_us(), lso = 0, high = 0, l2;
    bool said = false;
    for (;;) {
        rd_kafka_resp_err_t err =
            kafka_watermarks(sc->watermark, sc->changelog, p, low, &high, SCALE_META_MS);
        if (!err) err = kafka_watermarks(sc->reader, sc->changelog, p, &l2, &lso, SCALE_META_MS);
        if (!signals_run) return KAFKA_WAIT_STOPPED;
        metrics_tick(); /* waiting for open transactions to end is bounded, not a hang */
        if (!err && lso >= high) break;
        if (time_mono_us() - start > SCALE_STABLE_WAIT_MS * 1000LL) {
            log_error("changelog %s [%" PRId32 "]: %s after %d s; giving up",
                      sc->changelog, p, err ? rd_kafka_err2str(err) : "a transaction still open",
                      SCALE_STABLE_WAIT_MS / 1000);
            return GK_EXIT_UNAVAILABLE;
        }
        if (!err && !said) {
            log_info("changelog %s [%" PRId32 "]: an open transaction (stable offset %" PRId64
                     ", end %" PRId64 ") of its previous owner: waiting for the broker to end it",
                     sc->changelog, p, lso, high);
            said = true;
        }
        rd_kafka_poll(sc->reader, 200);
    }
    if (said)
        log_info("changelog %s [%" PRId32 "]: stable after %.1f s", sc->changelog, p,
                 (double)(time_mono_us() - start) / 1e6);
    *end = high;
    return 0;
}

/* Applies one changelog record to t: an event's record, or a tombstone (an
 * event forgotten past the horizon). Returns 0, or -1 with err. */
static int scale_apply_record(ack_scale *sc, ack_txn *t, const rd_kafka_message_t *m, char *err,
                              size_t errlen) {
    (void)sc;
    char key[32];
    ack_event ev;
    bool tombstone = !m->payload;
    if (!m->key || m->key_len == 0 || m->key_len >= sizeof key ||
        (!tombstone && ack_changelog_decode(m->payload, m->len, &ev) != 0)) {
        log_warn("changelog [%" PRId32 "] offset %" PRId64 ": not a record this version writes; "
                 "skipped", m->partition, m->offset);
        return 0;
    }
    memcpy(key, m->key, m->key_len);
    key[m->key_len] = '\0';
    char *endp;
    uint64_t id = strtoull(key, &endp, 10);
    if (*endp) return 0;
    if (tombstone) return ack_txn_forget(t, id, err, errlen) < 0 ? -1 : 0;
    return ack_txn_put_event(t, id, &ev, err, errlen);
}

/* Brings partition p's store up to date with its changelog. Returns 0 or an
 * exit code (logged). */
static int scale_restore(ack_scale *sc, const char *cluster_id, int32_t p) {
    int rc = scale_open_store(sc, p);
    if (rc) return rc;
    ack_store *s = sc->stores[p];
    char err[1024];
    bool cleared = false;
    int64_t t0 = time_mono_us(), ckpt = -1, low = 0, end = 0;
    if (ack_store_use_cluster(s, cluster_id, &cleared, err, sizeof err) != 0 ||
        ack_store_checkpoint(s, &ckpt, err, sizeof err) != 0) {
        log_error("state of partition %" PRId32 ": %s", p, err);
        return GK_EXIT_IOERR;
    }
    if ((rc = scale_stable_end(sc, p, &low, &end)) != 0) return rc;
    int64_t from = ckpt;
    if (ckpt < low || ckpt > end) {
        if (ckpt >= 0) {
            log_warn("partition %" PRId32 ": local checkpoint %" PRId64 " is outside the "
                     "changelog (%" PRId64 "..%" PRId64 "): rebuilding it from the changelog",
                     p, ckpt, low, end);
            ack_txn *t = ack_txn_begin(s, err, sizeof err);
            if (!t || ack_txn_clear(t, err, sizeof err) != 0 ||
                ack_txn_use_cluster(t, cluster_id, &cleared, err, sizeof err) != 0 ||
                ack_txn_commit(t, err, sizeof err) != 0) {
                if (t) ack_txn_abort(t);
                log_error("state of partition %" PRId32 ": %s", p, err);
                return GK_EXIT_IOERR;
            }
        }
        from = low;
    }
    uint64_t n = 0;
    int64_t last = from;
    if (from < end) {
        rd_kafka_topic_partition_list_t *a = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(a, sc->changelog, p)->offset = from;
        rd_kafka_resp_err_t e = rd_kafka_assign(sc->reader, a);
        rd_kafka_topic_partition_list_destroy(a);
        if (e) {
            log_error("changelog %s [%" PRId32 "]: assign: %s", sc->changelog, p,
                      rd_kafka_err2str(e));
            return GK_EXIT_UNAVAILABLE;
        }
        ack_txn *t = NULL;
        size_t in_txn = 0;
        bool done = false;
        int64_t deadline = time_mono_us() + SCALE_STABLE_WAIT_MS * 1000LL;
        while (!done && rc == 0) {
            if (!signals_run) {
                rc = KAFKA_WAIT_STOPPED;
                break;
            }
            if (time_mono_us() > deadline) {
                log_error("changelog %s [%" PRId32 "]: restore not done after %d s (at %" PRId64
                          " of %" PRId64 ")", sc->changelog, p, SCALE_STABLE_WAIT_MS / 1000, last,
                          end);
                rc = GK_EXIT_UNAVAILABLE;
                break;
            }
            metrics_tick(); /* a restore is progress (bounded above), not a hang */
            rd_kafka_message_t *m = rd_kafka_consumer_poll(sc->reader, 200);
            if (!m) continue;
            if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                done = true;
            } else if (m->err) {
                log_error("changelog %s [%" PRId32 "] offset %" PRId64 ": %s", sc->changelog, p,
                          m->offset, rd_kafka_message_errstr(m));
                rc = GK_EXIT_UNAVAILABLE;
            } else {
                if (!t && !(t = ack_txn_begin(s, err, sizeof err))) rc = GK_EXIT_IOERR;
                if (!rc && scale_apply_record(sc, t, m, err, sizeof err) != 0) rc = GK_EXIT_IOERR;
                n++;
                last = m->offset + 1;
                if (m->offset + 1 >= end) done = true;
                if (!rc && ++in_txn == SCALE_RESTORE_CHUNK) {
                    if (ack_txn_put_checkpoint(t, last, err, sizeof err) != 0 ||
                        ack_txn_commit(t, err, sizeof err) != 0)
                        rc = GK_EXIT_IOERR;
                    t = NULL;
                    in_txn = 0;
                }
            }
            rd_kafka_message_destroy(m);
        }
        if (rc == 0 && !t && !(t = ack_txn_begin(s, err, sizeof err))) rc = GK_EXIT_IOERR;
        /* Everything before end is read: the markers and aborted records
         * there are nothing to replay. */
        if (rc == 0 && (ack_txn_put_checkpoint(t, end, err, sizeof err) != 0 ||
                        ack_txn_commit(t, err, sizeof err) != 0))
            rc = GK_EXIT_IOERR;
        else if (rc != 0 && t)
            ack_txn_abort(t);
        if (rc == GK_EXIT_IOERR) log_error("state of partition %" PRId32 ": %s", p, err);
        rd_kafka_assign(sc->reader, NULL);
        if (rc) return rc;
    }
    sc->n.restored += n;
    log_info("restored partition %" PRId32 ": %" PRIu64 " records from changelog offset %" PRId64
             " to %" PRId64 " in %.0f ms%s",
             p, n, from, end, (double)(time_mono_us() - t0) / 1000.0,
             from == ckpt ? " (from the local checkpoint)" : "");
    return 0;
}

/* consume_store.assign: restores every partition number assigned; the
 * offsets are the group's (offsets -1). */
static int scale_assign(void *ctx, const char *cluster_id, consume_partition *parts, size_t n) {
    ack_scale *sc = ctx;
    for (size_t i = 0; i < n; i++) {
        int32_t p = parts[i].partition;
        parts[i].offset = -1;
        if (p < 0 || p >= sc->nparts) {
            log_error("assigned %s [%" PRId32 "], but the topics had %" PRId32
                      " partitions at start-up: partitions were added; restart every instance",
                      parts[i].topic, p, sc->nparts);
            return GK_EXIT_USAGE;
        }
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++) seen = parts[j].partition == p;
        if (seen) continue;
        int rc = scale_restore(sc, cluster_id, p);
        if (rc) return rc;
    }
    return 0;
}

/* consume_store.revoke: every batch was committed; the stores are closed
 * (a partition that comes back is brought up to date from its checkpoint). */
static void scale_revoke(void *ctx, const consume_partition *parts, size_t n) {
    ack_scale *sc = ctx;
    for (size_t i = 0; i < n; i++) {
        int32_t p = parts[i].partition;
        if (p < 0 || p >= sc->nparts || !sc->stores[p]) continue;
        ack_store_close(sc->stores[p]);
        sc->stores[p] = NULL;
        log_info("released partition %" PRId32, p);
    }
}

/* ------------------------------------------------------------------------ */
/* One batch, one transaction                                                */
/* ------------------------------------------------------------------------ */

static int scale_note_changed(void *ctx, uint64_t id) {
    ack_scale *sc = ctx;
    uint64_t *c = grow_one(sc->changed, sc->nchanged, &sc->capchanged, sizeof *c, 256);
    if (!c) return -1;
    sc->changed = c;
    sc->changed[sc->nchanged++] = id;
    return 0;
}

static int scale_note_forgotten(void *ctx, uint64_t id) {
    ack_scale *sc = ctx;
    uint64_t *c = grow_one(sc->forgot, sc->nforgot, &sc->capforgot, sizeof *c, 256);
    if (!c) return -1;
    sc->forgot = c;
    sc->forgot[sc->nforgot++] = id;
    return 0;
}

/* ack_batch.dead_letter: into the dead-letter topic, in the transaction. */
static int scale_dead_letter(void *ctx, const msg_view *m, const char *reason) {
    ack_scale *sc = ctx;
    if (ack_sender_txn_dead_letter(sc->sender, m, reason) != 0) return -1;
    sc->pending.dead_letters++;
    return 0;
}

static int scale_cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Applies partition p's messages of b in t (open): forgets what is past the
 * horizon, completes and acks what became complete, keeps the dead letters,
 * and produces the changelog's tombstones and records and the acks. Returns
 * 0 or -1 (logged). */
static int scale_partition(ack_scale *sc, ack_txn *t, int32_t p, const msg_view *msgs, size_t n) {
    char err[1024];
    size_t from = sc->ready.n;
    sc->nchanged = 0;
    sc->nforgot = 0;
    ack_batch b = {.msgs = msgs, .nmsgs = n, .changed = scale_note_changed, .changed_ctx = sc,
                   .dead_letter = scale_dead_letter, .forgotten = scale_note_forgotten};
    ack_rules_horizon(&b, time_now_us(), sc->cfg.retention_s, sc->cfg.expire_max);
    ack_batch_result res;
    if (ack_rules_apply_txn(t, &b, &sc->ready, &res, err, sizeof err) != 0) {
        log_error("state of partition %" PRId32 ": %s", p, err);
        return -1;
    }
    for (int i = 0; i < SCHEMA_REASON_CLASSES; i++) sc->dead_by_class[i] += res.dead_by_class[i];
    /* Complete and acked in this transaction: the ack is in it. */
    size_t ndone = sc->ready.n - from;
    ack_confirm *conf = calloc(ndone + 1, sizeof *conf);
    if (!conf) return log_error("out of memory"), -1;
    for (size_t i = 0; i < ndone; i++) conf[i] = (ack_confirm){sc->ready.items[from + i].event_id, -1, -1};
    ack_batch c = {.confirms = conf, .nconfirms = ndone, .changed = scale_note_changed,
                   .changed_ctx = sc, .now_s = b.now_s};
    int rc = ack_rules_apply_txn(t, &c, &sc->ready, &res, err, sizeof err);
    free(conf);
    if (rc != 0) {
        log_error("state of partition %" PRId32 ": %s", p, err);
        return -1;
    }
    /* Tombstones first: an event forgotten and seen again in this batch
     * ends with its new record. */
    for (size_t i = 0; i < sc->nforgot; i++)
        if (ack_sender_txn_record(sc->sender, p, sc->forgot[i], NULL, 0)) return -1;
    sc->pending.expired += sc->nforgot;
    if (sc->nchanged > 1) qsort(sc->changed, sc->nchanged, sizeof *sc->changed, scale_cmp_u64);
    for (size_t i = 0; i < sc->nchanged; i++) {
        if (i && sc->changed[i] == sc->changed[i - 1]) continue;
        ack_event ev;
        unsigned char rec[ACK_CHANGELOG_RECORD_MAX];
        if (ack_txn_get_event(t, sc->changed[i], &ev, err, sizeof err) != 1) {
            log_error("state of partition %" PRId32 ": event %" PRIu64 " written but not read: %s",
                      p, sc->changed[i], err);
            return -1;
        }
        if (ack_sender_txn_record(sc->sender, p, sc->changed[i], rec, ack_changelog_encode(&ev, rec)))
            return -1;
    }
    for (size_t i = from; i < sc->ready.n; i++)
        if (ack_sender_txn_ack(sc->sender, &sc->ready.items[i]) != 0) return -1;
    return 0;
}

/* consume_store.commit: the batch's messages per partition, each in its
 * store's transaction, all in one Kafka transaction with the offsets; the
 * stores commit (with their changelog checkpoints) only after Kafka did. */
static int scale_commit(void *ctx, const consume_batch *b) {
    ack_scale *sc = ctx;
    if (sc->fatal) return sc->fatal;
    if (b->nmsgs > sc->capsub) {
        msg_view *sub = realloc(sc->sub, b->nmsgs * sizeof *sub);
        if (!sub) return log_error("out of memory"), -1;
        sc->sub = sub;
        sc->capsub = b->nmsgs;
    }
    if (ack_sender_txn_begin(sc->sender) != 0) return -1;
    sc->pending = (ack_scale_counts){0};
    ack_txn **open = calloc((size_t)sc->nparts, sizeof *open);
    if (!open) return log_error("out of memory"), -1;
    sc->ready.n = 0;
    memset(sc->dead_by_class, 0, sizeof sc->dead_by_class);
    int rc = 0;
    char err[1024];
    for (int32_t p = 0; p < sc->nparts && rc == 0; p++) {
        size_t n = 0;
        for (size_t i = 0; i < b->nmsgs; i++)
            if (b->msgs[i].partition == p) sc->sub[n++] = b->msgs[i];
        if (n == 0) continue;
        if (!sc->stores[p]) {
            log_error("a message of partition %" PRId32 " that was not restored", p);
            rc = -1;
            break;
        }
        if (!(open[p] = ack_txn_begin(sc->stores[p], err, sizeof err))) {
            log_error("state of partition %" PRId32 ": %s", p, err);
            rc = -1;
            break;
        }
        rc = scale_partition(sc, open[p], p, sc->sub, n);
    }
    int end = rc == 0 ? ack_sender_txn_end(sc->sender, b->next, b->nnext, b->group_metadata) : -1;
    if (rc != 0 && !ack_sender_fatal(sc->sender)) ack_sender_txn_abort(sc->sender);
    for (int32_t p = 0; p < sc->nparts; p++) {
        if (!open[p]) continue;
        int64_t next = ack_sender_changelog_next(sc->sender, p);
        if (end == 0 && ((next >= 0 && ack_txn_put_checkpoint(open[p], next, err, sizeof err)) ||
                         ack_txn_commit(open[p], err, sizeof err))) {
            /* Kafka has it all: the next start restores from the changelog. */
            log_error("state of partition %" PRId32 ": %s", p, err);
            end = GK_EXIT_IOERR;
        } else if (end != 0 && open[p]) {
            ack_txn_abort(open[p]);
        }
    }
    free(open);
    if (end == 0) {
        /* Committed with the Kafka transaction: its acks are confirmed. */
        metrics_acks_confirmed(sc->ready.n);
        for (int i = 0; i < SCHEMA_REASON_CLASSES; i++) metrics_dead_letters(i, sc->dead_by_class[i]);
    }
    /* A fenced producer may first show in the abort after a failed batch:
     * ack_sender_fatal says so (once) and it is the zombie's exit too. */
    if (end == ACK_TXN_FENCED || ack_sender_fatal(sc->sender))
        return sc->fatal = GK_EXIT_UNAVAILABLE;
    if (end == 0) {
        sc->n.dead_letters += sc->pending.dead_letters;
        sc->n.expired += sc->pending.expired;
    }
    if (end == ACK_TXN_ABORTED) {
        log_error("the transaction was aborted: nothing of this batch is visible; stopping (a "
                  "restart resumes from the group's committed offsets)");
        return GK_EXIT_UNDELIVERED;
    }
    return end == 0 ? 0 : end > 0 ? end : -1;
}

static int scale_tick(void *ctx) {
    ack_scale *sc = ctx;
    ack_sender_poll(sc->sender, 0);
    if (sc->fatal) return sc->fatal;
    return ack_sender_fatal(sc->sender) ? GK_EXIT_UNAVAILABLE : 0;
}

consume_store ack_scale_store(void) {
    return (consume_store){.offsets = CONSUME_OFFSETS_IN_KAFKA,
                           .assign = scale_assign,
                           .revoke = scale_revoke,
                           .commit = scale_commit,
                           .tick = scale_tick};
}
