/* consume.c - the exactly-once consumer loop shared by db_consumer and
 * ack_consumer (see consume.h for the pattern).
 *
 * The loop owns the Kafka side only: subscribing, positioning partitions from
 * the service's store on assignment, adaptive batching, converting each
 * message to its plain form (once, here), tracking the next offset of every
 * partition, error classification, the best-effort offset commit to Kafka
 * and the idle/stop conditions. What a batch means and where it is stored is
 * the store's business (store.h). */
#include "kafka/consume.h"

#include "kafka/fetchwake.h"

#include "common/exitcodes.h"
#include "common/freeze.h"
#include "common/log.h"
#include "common/progress.h"
#include "common/signals.h"
#include "common/timeutil.h"
#include "metrics/metrics.h"

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define CONSUME_POLL_MS 100        /* poll wait when the batch is empty */
/* Kafka's copy of the offsets is informational (the store has the real
 * ones): committing it after every store transaction cost the broker one
 * OffsetCommit per batch (hundreds a second). Once a second is plenty for
 * monitoring; a revoke and the close commit what is left. */
#define CONSUME_KAFKA_COMMIT_US 1000000
#define CONSUME_META_TIMEOUT_MS 10000 /* watermarks at an assignment */
#define CONSUME_END_MARK ((void *)1)  /* assignment element opaque: partition at its end */
#define CONSUME_END_CHECK_MS 2000 /* the broker's confirmation of the ends at an idle exit */
#define CONSUME_CLOSE_MS 5000     /* the longest a close may wait for the cluster */
#define CONSUME_WAKE_US 25000     /* see consume_wake_fetch */

/* A poll (or the freeze watch's sleep) returning this much later than it
 * should means the process itself was stopped; a session found lost within
 * CONSUME_THAWED_US after that was lost to the stop (librdkafka notices
 * within a second or two of waking). See consume_revoke. */
#define CONSUME_STOPPED_US (3 * 1000000LL)
#define CONSUME_THAWED_US (10 * 1000000LL)

/* The committer thread of cfg->async_commit: it stores one batch while the
 * loop polls the next. The loop hands a batch over by swapping its buffers
 * with the committer's and waits for it (consume_join) before handing over
 * another, and before anything else that uses the store or depends on what
 * it holds: a rebalance, the idle exit, the end. So the store is never used
 * by two threads at once, and batches are stored in the order consumed. */
typedef struct {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool busy;                  /* a batch is handed over and not yet stored */
    bool quit;
    rd_kafka_message_t **batch; /* the batch handed over (buffers swapped with the loop's) */
    msg_view *views;
    consume_partition *next;
    size_t nbatch, nnext;       /* nbatch > 0: handed over and not yet reaped */
    int rc;                     /* the store's answer */
    int64_t commit_us;          /* how long the store took */
} consume_committer;

typedef struct {
    rd_kafka_t *rk;
    const consume_config *cfg;
    const consume_store *store;
    void *ctx;
    consume_stats *stats;
    char *cluster_id;                       /* fetched when connecting */
    rd_kafka_topic_partition_list_t *assigned; /* current assignment; opaque marks EOF, offset
                                                  is then the end offset seen */
    int nat_end; /* partitions of assigned marked at their end */
    rd_kafka_topic_partition_list_t *uncommitted; /* stored, not yet committed to Kafka */
    int64_t kafka_commit_us; /* last Kafka offset commit (monotonic) */
    rd_kafka_message_t **batch; /* the open batch, destroyed once committed */
    msg_view *views;            /* the same messages in plain form */
    consume_partition *next;    /* the batch's next offsets (room for max_batch) */
    size_t nbatch;
    int64_t batch_start_us; /* when the open batch got its first message (monotonic) */
    int64_t last_activity_us; /* last message or assignment (monotonic) */
    int64_t poll_due_us; /* when the poll in progress should return (monotonic; 0: none):
                            a rebalance served inside a poll that overran was noticed
                            on waking from a stop */
    bool resumed; /* the store had offsets at an assignment: it has done work before */
    int64_t wake_us;   /* last consume_wake_fetch (monotonic) */
    uint64_t wake_msgs; /* messages seen by then */
    uint64_t msgs;      /* messages seen by the loop */
    unsigned wake_next; /* the assignment's element asked next (wraps) */
    fetchwake *waker;   /* NULL if it could not start */
    consume_committer *committer; /* cfg->async_commit; NULL: batches are stored inline */
    int rc; /* exit code set from inside callbacks (rebalance), 0 while fine */
} consume_state;

/* ------------------------------------------------------------------------ */
/* Batches                                                                   */
/* ------------------------------------------------------------------------ */

/* Notes a committed batch's next offsets in st->uncommitted, for the next
 * commit to Kafka. Returns 0, or -1 if out of memory. */
static int consume_note_offsets(consume_state *st, const consume_partition *next, size_t n) {
    if (!st->uncommitted && !(st->uncommitted = rd_kafka_topic_partition_list_new(16)))
        return -1;
    for (size_t i = 0; i < n; i++) {
        rd_kafka_topic_partition_t *p =
            rd_kafka_topic_partition_list_find(st->uncommitted, next[i].topic, next[i].partition);
        if (!p) p = rd_kafka_topic_partition_list_add(st->uncommitted, next[i].topic, next[i].partition);
        p->offset = next[i].offset;
    }
    return 0;
}

/* Commits the offsets stored since the last call to Kafka. Kafka's copy is
 * only informational, so it is asynchronous (a broker outage must not hold up
 * a shutdown; consumer_close waits for commits in flight) and its failure is
 * a warning. */
static void consume_commit_kafka(consume_state *st) {
    st->kafka_commit_us = time_mono_us();
    if (!st->uncommitted || st->uncommitted->cnt == 0) return;
    if (st->store->offsets == CONSUME_OFFSETS_IN_KAFKA) { /* the store commits them itself */
        rd_kafka_topic_partition_list_destroy(st->uncommitted);
        st->uncommitted = NULL;
        return;
    }
    rd_kafka_resp_err_t err = rd_kafka_commit(st->rk, st->uncommitted, 1);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
        log_warn("kafka offset commit (informational; the store has the offsets): %s",
                 rd_kafka_err2str(err));
    rd_kafka_topic_partition_list_destroy(st->uncommitted);
    st->uncommitted = NULL;
}

/* Counts a committed batch in the metrics: its messages by topic (the views
 * of one topic share its name's pointer) and how long the store took. */
static void consume_metrics(const msg_view *views, size_t nbatch, int64_t commit_us) {
    if (!metrics_enabled()) return;
    metrics_store_commit((double)commit_us / 1e6);
    const char *topics[16];
    uint64_t counts[16];
    size_t n = 0;
    for (size_t i = 0; i < nbatch; i++) {
        size_t j = 0;
        while (j < n && topics[j] != views[i].topic) j++;
        if (j == n) {
            if (n == 16) { /* more topics than expected: count the ones so far */
                for (size_t k = 0; k < n; k++) metrics_consumed(topics[k], counts[k]);
                n = j = 0;
            }
            topics[n] = views[i].topic;
            counts[n++] = 0;
        }
        counts[j]++;
    }
    for (size_t k = 0; k < n; k++) metrics_consumed(topics[k], counts[k]);
}

/* What follows a stored batch, on the loop's thread: metrics, its offsets
 * noted for Kafka's copy, the statistics; its messages are destroyed. */
static void consume_stored(consume_state *st, rd_kafka_message_t **batch, const msg_view *views,
                           const consume_partition *next, size_t nbatch, size_t nnext,
                           int64_t commit_us) {
    consume_metrics(views, nbatch, commit_us);
    if (consume_note_offsets(st, next, nnext) != 0)
        log_warn("out of memory: kafka offset commit skipped (informational)");
    if (time_mono_us() - st->kafka_commit_us >= CONSUME_KAFKA_COMMIT_US) consume_commit_kafka(st);
    st->stats->messages += nbatch;
    st->stats->batches++;
    for (size_t i = 0; i < nbatch; i++) rd_kafka_message_destroy(batch[i]);
}

/* The store's refusal of a batch of n messages, as the loop's exit code. */
static int consume_refused(int crc, size_t n) {
    log_error("storing a batch of %zu messages failed; stopping (nothing of it was kept)", n);
    return crc > 0 ? crc : GK_EXIT_IOERR;
}

static void *consume_committer_main(void *arg) {
    consume_state *st = arg;
    consume_committer *c = st->committer;
    pthread_mutex_lock(&c->lock);
    for (;;) {
        while (!c->busy && !c->quit) pthread_cond_wait(&c->cond, &c->lock);
        if (!c->busy) break;
        consume_batch b = {st->cluster_id ? st->cluster_id : "", c->views, c->nbatch, c->next,
                           c->nnext, NULL};
        pthread_mutex_unlock(&c->lock);
        int64_t t0 = time_mono_us();
        int rc = st->store->commit(st->ctx, &b);
        int64_t took = time_mono_us() - t0;
        pthread_mutex_lock(&c->lock);
        c->rc = rc;
        c->commit_us = took;
        c->busy = false;
        pthread_cond_broadcast(&c->cond);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

/* Allocates the buffers of a batch of up to n messages: the messages, their
 * views and their partitions' next offsets. Returns false (and sets all
 * three to NULL) when out of memory. */
static bool consume_buffers_new(size_t n, rd_kafka_message_t ***batch, msg_view **views,
                                consume_partition **next) {
    *batch = calloc(n, sizeof **batch);
    *views = calloc(n, sizeof **views);
    *next = calloc(n, sizeof **next);
    if (*batch && *views && *next) return true;
    free(*batch), free(*views), free(*next);
    *batch = NULL, *views = NULL, *next = NULL;
    return false;
}

static void consume_buffers_free(rd_kafka_message_t **batch, msg_view *views,
                                 consume_partition *next) {
    free(batch);
    free(views);
    free(next);
}

/* Starts the committer with buffers for max_batch messages. Returns NULL
 * after logging if it cannot; the loop then stores inline. */
static consume_committer *consume_committer_start(consume_state *st, size_t max_batch) {
    consume_committer *c = calloc(1, sizeof *c);
    if (!c || !consume_buffers_new(max_batch, &c->batch, &c->views, &c->next)) {
        log_warn("out of memory for a second batch: batches are stored inline");
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->cond, NULL);
    st->committer = c;
    /* Signals stay with the loop's thread, which acts on them. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int e = pthread_create(&c->thread, NULL, consume_committer_main, st);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e == 0) return c;
    log_warn("cannot start the committer thread (%s): batches are stored inline", strerror(e));
    st->committer = NULL;
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->lock);
    consume_buffers_free(c->batch, c->views, c->next);
    free(c);
    return NULL;
}

/* Waits for the batch handed to the committer, if any, and reaps it.
 * Returns 0, or the exit code of the store's refusal. */
static int consume_join(consume_state *st) {
    consume_committer *c = st->committer;
    if (!c || c->nbatch == 0) return 0;
    pthread_mutex_lock(&c->lock);
    while (c->busy) pthread_cond_wait(&c->cond, &c->lock);
    pthread_mutex_unlock(&c->lock);
    size_t n = c->nbatch;
    c->nbatch = 0;
    if (c->rc != 0) {
        for (size_t i = 0; i < n; i++) rd_kafka_message_destroy(c->batch[i]);
        return consume_refused(c->rc, n);
    }
    consume_stored(st, c->batch, c->views, c->next, n, c->nnext, c->commit_us);
    return 0;
}

/* Stops the committer and frees it. Called after consume_finish, whose
 * consume_join left it no batch (the consumer its messages came from is
 * gone by then). */
static void consume_committer_stop(consume_state *st) {
    consume_committer *c = st->committer;
    if (!c) return;
    pthread_mutex_lock(&c->lock);
    c->quit = true;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
    pthread_join(c->thread, NULL);
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->lock);
    consume_buffers_free(c->batch, c->views, c->next);
    free(c);
    st->committer = NULL;
}

/* Hands the open batch to the committer and returns without waiting for
 * it (after waiting for the one before); without a committer, stores it
 * inline (consume_flush). Returns 0 or an exit code. */
static int consume_flush(consume_state *st);
static int consume_hand_over(consume_state *st) {
    consume_committer *c = st->committer;
    if (!c) return consume_flush(st);
    int rc = consume_join(st);
    if (rc || st->nbatch == 0) return rc;
    c->nnext = consume_batch_offsets(st->views, st->nbatch, st->next);
    rd_kafka_message_t **batch = c->batch;
    msg_view *views = c->views;
    consume_partition *next = c->next;
    c->batch = st->batch, c->views = st->views, c->next = st->next;
    st->batch = batch, st->views = views, st->next = next;
    pthread_mutex_lock(&c->lock);
    c->nbatch = st->nbatch;
    c->busy = true;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
    st->nbatch = 0;
    return 0;
}

/* Hands the pending batch and its next offsets to the store and waits for
 * it (after the committer's batch, if one is in flight); the offsets go to
 * Kafka with the next periodic commit. Returns 0 or an exit code. */
static int consume_flush(consume_state *st) {
    int jrc = consume_join(st);
    if (jrc) return jrc;
    if (st->nbatch == 0) return 0;
    size_t nnext = consume_batch_offsets(st->views, st->nbatch, st->next);
    rd_kafka_consumer_group_metadata_t *md =
        st->store->offsets == CONSUME_OFFSETS_IN_KAFKA ? rd_kafka_consumer_group_metadata(st->rk)
                                                       : NULL;
    consume_batch b = {st->cluster_id ? st->cluster_id : "", st->views, st->nbatch, st->next,
                       nnext, md};
    int64_t t0 = time_mono_us();
    int crc = st->store->commit(st->ctx, &b);
    if (md) rd_kafka_consumer_group_metadata_destroy(md);
    if (crc != 0) return consume_refused(crc, st->nbatch);
    consume_stored(st, st->batch, st->views, st->next, st->nbatch, nnext, time_mono_us() - t0);
    st->nbatch = 0;
    return 0;
}

/* Result of an asynchronous commit: only failures are worth a line. */
static void consume_commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                              rd_kafka_topic_partition_list_t *offsets, void *opaque) {
    (void)rk, (void)offsets, (void)opaque;
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
        log_warn("kafka offset commit failed (informational; the store has the offsets): %s",
                 rd_kafka_err2str(err));
}

/* ------------------------------------------------------------------------ */
/* Assignment                                                                */
/* ------------------------------------------------------------------------ */

/* Errors of a request to the cluster that an outage or a moving coordinator
 * explains: a wait that meets one goes on waiting for the broker, as the rest
 * of the loop does, instead of giving up. */
static bool consume_transient(rd_kafka_resp_err_t err) {
    return err == RD_KAFKA_RESP_ERR__TIMED_OUT || err == RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE ||
           err == RD_KAFKA_RESP_ERR__TRANSPORT || err == RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT ||
           err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || err == RD_KAFKA_RESP_ERR__WAIT_COORD ||
           err == RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE ||
           err == RD_KAFKA_RESP_ERR_NOT_COORDINATOR ||
           err == RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS ||
           err == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE ||
           err == RD_KAFKA_RESP_ERR_UNSTABLE_OFFSET_COMMIT;
}

/* Waits for the cluster's first answer, its id: stored offsets are only
 * valid with it, and until it comes the cluster is unreachable, which is
 * said every KAFKA_WAIT_WARN_S seconds and ends at cfg->connect_timeout_s.
 * Returns 0, KAFKA_WAIT_STOPPED (a signal), or GK_EXIT_UNAVAILABLE. */
static int consume_connect(consume_state *st) {
    kafka_wait w;
    kafka_wait_begin(&w, st->rk, "the cluster id", st->cfg->connect_timeout_s * 1000, 1);
    char *id;
    while (!(id = rd_kafka_clusterid(st->rk, kafka_wait_slice(&w, 0)))) {
        int rc = kafka_wait_again(&w, NULL);
        if (rc == KAFKA_WAIT_STOPPED) return rc;
        if (rc == KAFKA_WAIT_EXPIRED) {
            kafka_wait_log(&w, LOG_ERROR, NULL, "giving up (--connect-timeout)");
            return GK_EXIT_UNAVAILABLE;
        }
    }
    st->cluster_id = strdup(id);
    rd_kafka_mem_free(st->rk, id);
    if (!st->cluster_id) {
        log_error("out of memory");
        return GK_EXIT_SOFTWARE;
    }
    log_info("kafka cluster id: %s", st->cluster_id);
    return 0;
}

/* A list of partitions in plain form (offsets -1; topics borrowed from
 * list), for the store. Returns it (free it), or NULL if out of memory. */
static consume_partition *consume_plain(const rd_kafka_topic_partition_list_t *list) {
    consume_partition *parts = calloc(list->cnt ? (size_t)list->cnt : 1, sizeof *parts);
    for (int i = 0; parts && i < list->cnt; i++)
        parts[i] = (consume_partition){list->elems[i].topic, list->elems[i].partition, -1};
    return parts;
}

/* Returns stored, the store's offset of p, or -1 if it has none or it lies
 * beyond the partition's high watermark (the topic was recreated under the
 * same cluster id, so the stored position belongs to a log that no longer
 * exists). */
static int64_t consume_check_stored(consume_state *st, const rd_kafka_topic_partition_t *p,
                                    int64_t stored) {
    if (stored < 0) return -1;
    int64_t low = 0, high = 0;
    rd_kafka_resp_err_t err = kafka_watermarks(st->rk, p->topic, p->partition, &low, &high,
                                               CONSUME_META_TIMEOUT_MS);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        log_warn("%s [%" PRId32 "]: cannot query watermarks (%s); trusting stored offset %" PRId64,
                 p->topic, p->partition, rd_kafka_err2str(err), stored);
        return stored;
    }
    if (stored > high) {
        log_warn("%s [%" PRId32 "]: stored offset %" PRId64 " is beyond the end of the log (%" PRId64
                 "): the topic was recreated; ignoring the stored offset",
                 p->topic, p->partition, stored, high);
        return -1;
    }
    return stored;
}

/* The first offset of p's log. librdkafka resolves a symbolic BEGINNING
 * with an offset query that, for a partition it has only just created (the
 * first assignment), finds no leader yet and is retried only after a fixed
 * 500 ms: a pipeline started at once would hold its first events that long.
 * A concrete offset starts fetching at once. Should retention remove that
 * offset before the fetch, auto.offset.reset=error reports it as data loss,
 * as it should. Returns BEGINNING if the watermarks cannot be read. */
static int64_t consume_log_start(consume_state *st, const rd_kafka_topic_partition_t *p) {
    int64_t low = 0, high = 0;
    rd_kafka_resp_err_t err = kafka_watermarks(st->rk, p->topic, p->partition, &low, &high,
                                               CONSUME_META_TIMEOUT_MS);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR && low >= 0) return low;
    log_warn("%s [%" PRId32 "]: cannot query watermarks (%s); starting at the beginning", p->topic,
             p->partition, rd_kafka_err2str(err));
    return RD_KAFKA_OFFSET_BEGINNING;
}

/* Hands the new partitions to the store, which gets ready for them and
 * says where it stopped: every partition's offset is then the store's (or -1).
 * Returns 0 or an exit code. */
static int consume_store_assign(consume_state *st, rd_kafka_topic_partition_list_t *parts) {
    consume_partition *plain = consume_plain(parts);
    if (!plain) {
        log_error("out of memory for an assignment of %d partitions", parts->cnt);
        return GK_EXIT_SOFTWARE;
    }
    int rc = st->store->assign(st->ctx, st->cluster_id, plain, (size_t)parts->cnt);
    for (int i = 0; rc == 0 && i < parts->cnt; i++)
        parts->elems[i].offset = consume_check_stored(st, &parts->elems[i], plain[i].offset);
    free(plain);
    return rc;
}

/* The first partition error of a committed-offsets answer that means "not
 * yet": an offset a transaction still open commits (a read_committed
 * consumer asks for stable offsets, and librdkafka gives up asking again
 * after its retries). */
static rd_kafka_resp_err_t consume_committed_err(const rd_kafka_topic_partition_list_t *ask) {
    for (int i = 0; i < ask->cnt; i++)
        if (ask->elems[i].err == RD_KAFKA_RESP_ERR_UNSTABLE_OFFSET_COMMIT) return ask->elems[i].err;
    return RD_KAFKA_RESP_ERR_NO_ERROR;
}

/* For a store whose offsets live in Kafka: sets every partition at -1 in
 * parts to the group's committed offset, if there is one. The offsets are
 * stable: while a transaction that commits offsets of these partitions is
 * open (a previous owner's, ended by its commit, its abort or the broker's
 * timeout), it waits. An outage that begins just as partitions are assigned
 * is waited out. Returns 0, an exit code, or KAFKA_WAIT_STOPPED. */
static int consume_committed(consume_state *st, rd_kafka_topic_partition_list_t *parts) {
    rd_kafka_topic_partition_list_t *ask = rd_kafka_topic_partition_list_new(parts->cnt);
    for (int i = 0; i < parts->cnt; i++)
        if (parts->elems[i].offset < 0)
            rd_kafka_topic_partition_list_add(ask, parts->elems[i].topic, parts->elems[i].partition);
    kafka_wait w;
    kafka_wait_begin(&w, st->rk, "the group's committed offsets", 0, 1);
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    int rc = 0;
    while (ask->cnt > 0 &&
           ((err = rd_kafka_committed(st->rk, ask, kafka_wait_slice(&w, 2000))) ||
            (err = consume_committed_err(ask))) &&
           consume_transient(err) && (rc = kafka_wait_again(&w, rd_kafka_err2str(err))) == 0) {
    }
    if (rc == 0 && err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        log_error("cannot read the group's committed offsets: %s", rd_kafka_err2str(err));
        rc = GK_EXIT_UNAVAILABLE;
    }
    for (int i = 0; rc == 0 && i < ask->cnt; i++) {
        const rd_kafka_topic_partition_t *c = &ask->elems[i];
        if (c->err == RD_KAFKA_RESP_ERR_NO_ERROR && c->offset >= 0)
            rd_kafka_topic_partition_list_find(parts, c->topic, c->partition)->offset = c->offset;
    }
    rd_kafka_topic_partition_list_destroy(ask);
    return rc;
}

/* Sets every partition's start offset by the one rule (store.h): the
 * store's next offset; for a partition it has none for, the group's
 * committed offset only if the store keeps its offsets in Kafka; else the
 * beginning of the log. Returns 0, an exit code, or KAFKA_WAIT_STOPPED. */
static int consume_position(consume_state *st, rd_kafka_topic_partition_list_t *parts) {
    /* A store whose offsets live in Kafka restores its state from what the
     * previous owner committed: the group's offsets are read first, because
     * reading them waits for that owner's open transaction to end. Read after
     * the restore, a transaction that had not yet written its state records
     * when the restore looked but committed its offsets just after left the
     * state without them and the position past them (CI saw an event that
     * never completed so). */
    rd_kafka_topic_partition_list_t *committed = NULL;
    int rc = 0;
    if (st->store->offsets == CONSUME_OFFSETS_IN_KAFKA) {
        committed = rd_kafka_topic_partition_list_copy(parts);
        for (int i = 0; i < committed->cnt; i++) committed->elems[i].offset = -1;
        rc = consume_committed(st, committed);
    }
    if (rc == 0) rc = consume_store_assign(st, parts);
    for (int i = 0; rc == 0 && committed && i < parts->cnt; i++)
        if (parts->elems[i].offset < 0) parts->elems[i].offset = committed->elems[i].offset;
    if (committed) rd_kafka_topic_partition_list_destroy(committed);
    for (int i = 0; rc == 0 && i < parts->cnt; i++) {
        rd_kafka_topic_partition_t *p = &parts->elems[i];
        if (p->offset >= 0)
            st->resumed = true;
        else
            p->offset = consume_log_start(st, p);
        if (!signals_run) rc = KAFKA_WAIT_STOPPED;
    }
    return rc;
}

/* With cfg->whole_topics: checks that parts holds every partition of every
 * topic of the subscription, as the cluster's metadata lists them. Returns
 * 0, GK_EXIT_USAGE (logged in one line) if it does not, or
 * KAFKA_WAIT_STOPPED. */
static int consume_check_whole(consume_state *st, const rd_kafka_topic_partition_list_t *parts) {
    const struct rd_kafka_metadata *md = NULL;
    kafka_wait w;
    kafka_wait_begin(&w, st->rk, "the topics' metadata", 0, 1);
    rd_kafka_resp_err_t err;
    while ((err = rd_kafka_metadata(st->rk, 1, NULL, &md, kafka_wait_slice(&w, 2000))) !=
           RD_KAFKA_RESP_ERR_NO_ERROR) {
        int rc = kafka_wait_again(&w, rd_kafka_err2str(err));
        if (rc) return rc;
    }
    int total = 0, owned = 0;
    char topics[512] = "", missing[1024] = "";
    size_t tused = 0, mused = 0;
    for (size_t t = 0; t < st->cfg->ntopics; t++) {
        const char *name = st->cfg->topics[t];
        const struct rd_kafka_metadata_topic *mt = NULL;
        for (int i = 0; i < md->topic_cnt && !mt; i++)
            if (strcmp(md->topics[i].topic, name) == 0) mt = &md->topics[i];
        int n = tused < sizeof topics ? snprintf(topics + tused, sizeof topics - tused, "%s%s",
                                                 t ? "," : "", name)
                                      : 0;
        tused += n > 0 ? (size_t)n : 0;
        for (int i = 0; mt && i < mt->partition_cnt; i++) {
            int32_t id = mt->partitions[i].id;
            total++;
            if (rd_kafka_topic_partition_list_find((rd_kafka_topic_partition_list_t *)parts, name, id)) {
                owned++;
            } else if (mused < sizeof missing) {
                n = snprintf(missing + mused, sizeof missing - mused, " %s[%" PRId32 "]", name, id);
                mused += n > 0 ? (size_t)n : 0;
            }
        }
    }
    rd_kafka_metadata_destroy(md);
    if (owned == total) return 0;
    log_error("assigned %d of the %d partitions of %s in group %s (missing:%s): another consumer "
              "shares the group, and this service's state cannot follow partitions to it yet; "
              "stopping before consuming any (run one instance per group)",
              owned, total, topics, st->cfg->group_id, missing);
    return GK_EXIT_USAGE;
}

/* With cfg->co_partitioned: checks that the subscribed topics have equal
 * partition counts and that parts holds, for each partition number in it,
 * that partition of every topic. Returns 0, GK_EXIT_USAGE (logged in one
 * line), or KAFKA_WAIT_STOPPED. */
static int consume_check_copartitioned(consume_state *st,
                                       const rd_kafka_topic_partition_list_t *parts) {
    const struct rd_kafka_metadata *md = NULL;
    kafka_wait w;
    kafka_wait_begin(&w, st->rk, "the topics' metadata", 0, 1);
    rd_kafka_resp_err_t err;
    while ((err = rd_kafka_metadata(st->rk, 1, NULL, &md, kafka_wait_slice(&w, 2000))) !=
           RD_KAFKA_RESP_ERR_NO_ERROR) {
        int rc = kafka_wait_again(&w, rd_kafka_err2str(err));
        if (rc) return rc;
    }
    int count = -1, rc = 0;
    const char *first = NULL;
    for (size_t t = 0; t < st->cfg->ntopics && rc == 0; t++) {
        const char *name = st->cfg->topics[t];
        int n = -1;
        for (int i = 0; i < md->topic_cnt; i++)
            if (strcmp(md->topics[i].topic, name) == 0) n = md->topics[i].partition_cnt;
        if (count < 0) {
            count = n;
            first = name;
        } else if (n != count) {
            log_error("%s has %d partitions and %s %d: the topics are not co-partitioned, so an "
                      "event's messages would reach different instances; stopping before "
                      "consuming any (give them the same partition count)",
                      first, count, name, n);
            rc = GK_EXIT_USAGE;
        }
    }
    rd_kafka_metadata_destroy(md);
    for (int i = 0; rc == 0 && i < parts->cnt; i++)
        for (size_t t = 0; rc == 0 && t < st->cfg->ntopics; t++)
            if (!rd_kafka_topic_partition_list_find((rd_kafka_topic_partition_list_t *)parts,
                                                    st->cfg->topics[t], parts->elems[i].partition)) {
                log_error("assigned %s [%" PRId32 "] without %s [%" PRId32
                          "]: the assignment is not co-partitioned (a partition.assignment."
                          "strategy other than range?); stopping before consuming any",
                          parts->elems[i].topic, parts->elems[i].partition, st->cfg->topics[t],
                          parts->elems[i].partition);
                rc = GK_EXIT_USAGE;
            }
    return rc;
}

/* Logs the assignment as "topic1[0]@42 topic1[1]@beginning ...". */
static void consume_log_assignment(const rd_kafka_topic_partition_list_t *parts) {
    char line[2048];
    size_t used = 0;
    line[0] = '\0';
    for (int i = 0; i < parts->cnt && used < sizeof line; i++) {
        const rd_kafka_topic_partition_t *p = &parts->elems[i];
        int n = p->offset >= 0
                    ? snprintf(line + used, sizeof line - used, " %s[%" PRId32 "]@%" PRId64,
                               p->topic, p->partition, p->offset)
                    : snprintf(line + used, sizeof line - used, " %s[%" PRId32 "]@beginning",
                               p->topic, p->partition);
        if (n < 0) break;
        used += (size_t)n;
    }
    log_info("assigned %d partition(s):%s", parts->cnt, parts->cnt ? line : " none");
}

/* The assignment callback: checks it (whole_topics), positions every
 * partition and assigns. On failure it accepts an empty assignment instead,
 * so that the group is not left waiting for this member's answer, and
 * stops the loop. */
static void consume_assign(consume_state *st, rd_kafka_topic_partition_list_t *parts) {
    /* The store says where each partition starts: what it is storing first. */
    int rc = consume_join(st);
    if (rc == 0 && st->cfg->whole_topics) rc = consume_check_whole(st, parts);
    if (rc == 0 && st->cfg->co_partitioned) rc = consume_check_copartitioned(st, parts);
    if (rc == 0) rc = consume_position(st, parts);
    if (rc != 0) {
        /* A signal while waiting for the broker ends the loop cleanly
         * (nothing assigned, nothing to store). */
        if (rc > 0) st->rc = rc;
        rd_kafka_assign(st->rk, NULL);
        return;
    }
    consume_log_assignment(parts);
    rd_kafka_resp_err_t err = rd_kafka_assign(st->rk, parts);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        log_error("kafka assign failed: %s", rd_kafka_err2str(err));
        st->rc = GK_EXIT_UNAVAILABLE;
        return;
    }
    if (st->assigned) rd_kafka_topic_partition_list_destroy(st->assigned);
    st->assigned = rd_kafka_topic_partition_list_copy(parts);
    for (int i = 0; i < st->assigned->cnt; i++) st->assigned->elems[i].opaque = NULL;
    st->nat_end = 0;
    st->last_activity_us = time_mono_us(); /* idle time counts from here */
    /* A member given nothing (more members than partitions) has nothing to
     * catch up with: it is a ready stand-by, and an orchestrator waiting on
     * every replica's /readyz must not wait for it forever. */
    if (parts->cnt == 0)
        metrics_ready(true, NULL);
    else
        metrics_ready(false, "catching up with the assigned partitions");
}

/* Eager protocol: everything is revoked at once. The pending batch is stored
 * first, so that the next owner starts right after it (nothing lost, nothing
 * done twice); then the store lets the partitions go. */
static void consume_revoke(consume_state *st) {
    /* Lost, not revoked: another member may already own these partitions.
     * The flush below is then refused by the group (a fenced store says so
     * itself). A member that was itself stopped (SIGSTOP, a frozen VM: a poll
     * returned seconds late just before) is a zombie and leaves, whichever it
     * noticed first; one the broker dropped while it ran rejoins. */
    bool lost = rd_kafka_assignment_lost(st->rk);
    bool stopped = freeze_thawed_within(CONSUME_THAWED_US) ||
                   (st->poll_due_us && time_mono_us() - st->poll_due_us > CONSUME_STOPPED_US);
    int rc = consume_flush(st);
    if (rc && !st->rc) st->rc = rc;
    if (lost && !stopped)
        log_warn("the group dropped this member (its session ran out while it was running: a "
                 "broker or network stall); rejoining");
    if (lost && stopped && st->cfg->leave_on_lost && !st->rc) {
        log_error("fenced: this member was stopped past its group session and its partitions "
                  "went to another member; leaving without writing anything more (restart it "
                  "to rejoin the group)");
        st->rc = GK_EXIT_UNAVAILABLE;
    }
    consume_commit_kafka(st);
    if (st->store->revoke && st->assigned) {
        consume_partition *plain = consume_plain(st->assigned);
        if (plain)
            st->store->revoke(st->ctx, plain, (size_t)st->assigned->cnt);
        else
            log_error("out of memory telling the store which partitions were revoked");
        free(plain);
    }
    rd_kafka_resp_err_t err = rd_kafka_assign(st->rk, NULL);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
        log_error("kafka unassign failed: %s", rd_kafka_err2str(err));
    if (st->assigned) rd_kafka_topic_partition_list_destroy(st->assigned);
    st->assigned = NULL;
    st->nat_end = 0;
    metrics_ready(false, "no partitions assigned");
    metrics_consumer_lag_reset(); /* no stale lag of partitions now another's */
    log_info("partitions revoked");
}

static void consume_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                                 rd_kafka_topic_partition_list_t *parts, void *opaque) {
    consume_state *st = opaque;
    (void)rk;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        consume_assign(st, parts);
    } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
        consume_revoke(st);
    } else {
        log_error("kafka rebalance error: %s", rd_kafka_err2str(err));
        consume_revoke(st);
    }
}

/* ------------------------------------------------------------------------ */
/* The loop                                                                  */
/* ------------------------------------------------------------------------ */

/* Marks (end != NULL, at end_offset) or clears the end-of-partition flag of
 * a partition. Clearing is done for every message, so it is skipped while no
 * partition is marked (the common case under load). */
static void consume_mark_end(consume_state *st, const char *topic, int32_t partition, void *end,
                             int64_t end_offset) {
    if (!st->assigned || (!end && st->nat_end == 0)) return;
    rd_kafka_topic_partition_t *p =
        rd_kafka_topic_partition_list_find(st->assigned, topic, partition);
    if (!p) return;
    if (end) p->offset = end_offset;
    if (p->opaque == end) return;
    p->opaque = end;
    if (end)
        st->nat_end++;
    else
        st->nat_end--;
    /* Caught up once with every assigned partition: ready until revoked. */
    if (end && st->nat_end == st->assigned->cnt) metrics_ready(true, NULL);
}

/* True when every assigned partition has reported its end. */
static bool consume_all_at_end(const consume_state *st) {
    for (int i = 0; st->assigned && i < st->assigned->cnt; i++)
        if (st->assigned->elems[i].opaque != CONSUME_END_MARK) return false;
    return true;
}

/* Handles an error event. Returns 0 to go on, or an exit code. */
static int consume_error(consume_state *st, const rd_kafka_message_t *m) {
    const char *topic = m->rkt ? rd_kafka_topic_name(m->rkt) : "(no topic)";
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        consume_mark_end(st, topic, m->partition, CONSUME_END_MARK, m->offset);
        return 0;
    }
    if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET ||
        m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE) {
        log_error("%s [%" PRId32 "] offset %" PRId64
                  ": no longer in the log (retention?): data lost upstream; refusing to skip (%s)",
                  topic, m->partition, m->offset, rd_kafka_message_errstr(m));
        return GK_EXIT_DATALOSS;
    }
    char reason[512];
    rd_kafka_resp_err_t fatal = rd_kafka_fatal_error(st->rk, reason, sizeof reason);
    if (fatal == RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID) {
        /* Static membership (group.instance.id): a newer member with the
         * same id took this one's place in the group. */
        char id[256] = "?";
        size_t size = sizeof id;
        rd_kafka_conf_get(rd_kafka_conf(st->rk), "group.instance.id", id, &size);
        log_error("fenced: a newer consumer with group.instance.id %s has taken this one's place "
                  "in group %s; stopping (%s)",
                  id, st->cfg->group_id, reason);
        return GK_EXIT_UNAVAILABLE;
    }
    if (fatal != RD_KAFKA_RESP_ERR_NO_ERROR) {
        log_error("kafka fatal error: %s: %s", rd_kafka_err2str(fatal), reason);
        return GK_EXIT_UNAVAILABLE;
    }
    if (m->rkt)
        log_warn("%s [%" PRId32 "] offset %" PRId64 ": %s (%s)", topic, m->partition, m->offset,
                 rd_kafka_err2str(m->err), rd_kafka_message_errstr(m));
    else
        log_warn("kafka consumer: %s (%s)", rd_kafka_err2str(m->err), rd_kafka_message_errstr(m));
    return 0;
}

/* Builds the consumer. Returns NULL after logging on failure
 * (kafka_failure_exit says why). */
static rd_kafka_t *consume_create(consume_state *st) {
    const consume_config *cfg = st->cfg;
    static const kafka_default fixed[] = {
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"auto.offset.reset", "error"}, /* a lost position must stop us, never skip */
        {"enable.partition.eof", "true"},
        /* fetch.wait.max.ms stays librdkafka's 500: a real Kafka answers a
         * waiting fetch as soon as data arrives. The embedded broker does
         * not, so whoever starts it passes a small one (scripts/harness.sh). */
        {"isolation.level", "read_committed"},
        /* librdkafka 2.0 stops fetching once its local queue holds
         * queued.min.messages (default 100,000, counted over all partitions)
         * and looks again only when its broker thread next wakes, up to a
         * second later: a backlog stalled every 100,000 messages (what that
         * cost: bench/README.md). The byte bound limits the prefetch instead.
         * Its default, 64 MiB of payload, costs about four times that in
         * resident memory (each message also holds an op and pins its fetch
         * response). The fetch waker (consume_wake_fetch) has the queue
         * refilled within CONSUME_WAKE_US of the loop taking from it, so it
         * need only hold that long's work: 4 MiB. A fetch response stays
         * resident while any message of it is queued or in the open batch,
         * so responses are kept to 1 MiB; the waker's short period lets the
         * broker thread ask again as soon as the queue has room. */
        {"queued.min.messages", "1000000"},
        {"queued.max.messages.kbytes", "4096"},
        {"fetch.max.bytes", "1048576"},
        {"partition.assignment.strategy", "range"}, /* co-partitioned topics, eager */
        /* A restarted or crashed member is noticed in seconds, not 45 s: the
         * mock broker also holds every rejoin for the session timeout. */
        {"session.timeout.ms", "6000"},
        {"heartbeat.interval.ms", "2000"},
    };
    size_t nfixed = sizeof fixed / sizeof fixed[0], nextra = 0;
    while (cfg->kafka_defaults && cfg->kafka_defaults[nextra].key) nextra++;
    kafka_default *defs = calloc(nfixed + nextra + 2, sizeof *defs);
    if (!defs) {
        log_error("out of memory");
        return NULL;
    }
    defs[0] = (kafka_default){"group.id", cfg->group_id};
    memcpy(defs + 1, fixed, sizeof fixed);
    for (size_t i = 0; i < nextra; i++) defs[1 + nfixed + i] = cfg->kafka_defaults[i];

    rd_kafka_conf_t *conf = kafka_conf_new(cfg->bootstrap, defs, cfg->kafka_overrides);
    free(defs);
    if (!conf) return NULL;
    rd_kafka_conf_set_rebalance_cb(conf, consume_rebalance_cb);
    rd_kafka_conf_set_offset_commit_cb(conf, consume_commit_cb);
    rd_kafka_conf_set_opaque(conf, st);
    return kafka_new(RD_KAFKA_CONSUMER, conf);
}

/* Subscribes the consumer to cfg->topics. Returns 0, or GK_EXIT_UNAVAILABLE
 * after logging. */
static int consume_subscribe(consume_state *st) {
    /* Route log/error events to the consumer queue, served by consumer_poll. */
    rd_kafka_resp_err_t err = rd_kafka_poll_set_consumer(st->rk);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_topic_partition_list_t *topics =
            rd_kafka_topic_partition_list_new((int)st->cfg->ntopics);
        for (size_t i = 0; i < st->cfg->ntopics; i++)
            rd_kafka_topic_partition_list_add(topics, st->cfg->topics[i], RD_KAFKA_PARTITION_UA);
        err = rd_kafka_subscribe(st->rk, topics);
        rd_kafka_topic_partition_list_destroy(topics);
    }
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return 0;
    log_error("kafka subscribe failed: %s", rd_kafka_err2str(err));
    return GK_EXIT_UNAVAILABLE;
}

static void consume_progress(const consume_state *st, int64_t start_us) {
    uint64_t n = st->stats->messages + st->nbatch;
    double secs = (double)(time_mono_us() - start_us) / 1e6;
    progress_update("%" PRIu64 " messages, %.0f %s/s", n, secs > 0 ? (double)n / secs : 0.0,
                    st->cfg->what ? st->cfg->what : "messages");
}

/* True when the broker confirms that no assigned partition has grown past
 * the end this consumer saw. An end flag is only as fresh as the last fetch
 * answer: a broker that stalls (a loaded machine) sends neither messages nor
 * news, and a consumer frozen meanwhile has not fetched at all. A partition
 * found to have grown, or a broker not answering, is not at its end. */
static bool consume_ends_confirmed(consume_state *st) {
    if (!st->assigned || !signals_run) return false;
    rd_kafka_topic_partition_list_t *ends = rd_kafka_topic_partition_list_copy(st->assigned);
    if (!ends) return false;
    rd_kafka_resp_err_t err = kafka_end_offsets(st->rk, ends, CONSUME_END_CHECK_MS);
    bool all = true;
    for (int i = 0; i < st->assigned->cnt; i++) {
        rd_kafka_topic_partition_t *p = &st->assigned->elems[i];
        const rd_kafka_topic_partition_t *e = &ends->elems[i];
        rd_kafka_resp_err_t perr = err ? err : e->err;
        if (perr == RD_KAFKA_RESP_ERR_NO_ERROR && e->offset >= 0 && e->offset <= p->offset) continue;
        log_debug("%s [%" PRId32 "]: not at its end after all (%s, end %" PRId64 ", seen %" PRId64 ")",
                  p->topic, p->partition, rd_kafka_err2str(perr), e->offset, p->offset);
        consume_mark_end(st, p->topic, p->partition, NULL, -1);
        all = false;
    }
    rd_kafka_topic_partition_list_destroy(ends);
    return all;
}

/* True when the idle exit condition of consume_run holds. A fresh store
 * waits for its first message, so that a consumer started before the
 * producer does not give up before anything was sent. */
static bool consume_idle_done(consume_state *st) {
    if (st->cfg->idle_exit_s <= 0 || (st->stats->messages == 0 && !st->resumed)) return false;
    /* Revoked and not yet assigned again: a rebalance is under way (e.g. the
     * session expired on a loaded machine), and the partitions still have
     * work - "every partition at its end" holds for none at all. */
    if (!st->assigned) return false;
    if (time_mono_us() - st->last_activity_us < st->cfg->idle_exit_s * 1000000LL) return false;
    if (!consume_all_at_end(st)) return false;
    if (st->store->quiescent && !st->store->quiescent(st->ctx)) return false;
    if (consume_ends_confirmed(st)) return true;
    st->last_activity_us = time_mono_us(); /* more to come: idle afresh */
    return false;
}

/* How long poll may wait: for a new batch, CONSUME_POLL_MS; for an open
 * one, nothing (adaptive batches) or what is left of batch_wait_ms. */
static int consume_poll_ms(const consume_state *st) {
    if (st->nbatch == 0) return CONSUME_POLL_MS;
    if (st->cfg->batch_wait_ms <= 0) return 0;
    int64_t left_us = st->batch_start_us + st->cfg->batch_wait_ms * 1000 - time_mono_us();
    return left_us > 0 ? (int)((left_us + 999) / 1000) : 0;
}

/* Pokes the fetch waker (fetchwake.h) at most every CONSUME_WAKE_US while
 * messages flow, naming a different assigned partition each time so that
 * every leader of the assignment is woken in turn. */
static void consume_wake_fetch(consume_state *st) {
    int64_t now = time_mono_us();
    if (now - st->wake_us < CONSUME_WAKE_US || st->msgs == st->wake_msgs || !st->assigned ||
        st->assigned->cnt == 0)
        return;
    st->wake_us = now;
    st->wake_msgs = st->msgs;
    unsigned i = st->wake_next++ % (unsigned)st->assigned->cnt;
    const rd_kafka_topic_partition_t *p = &st->assigned->elems[i];
    fetchwake_poke(st->waker, p->topic, p->partition);
}

/* Polls, batches and flushes until stopped. Returns the exit code. */
static int consume_loop(consume_state *st) {
    int64_t start_us = time_mono_us();
    st->last_activity_us = start_us;
    size_t max_batch = st->cfg->max_batch > 0 ? (size_t)st->cfg->max_batch : 1;
    while (signals_run && !st->rc) {
        metrics_tick();
        if (st->store->tick) {
            int rc = st->store->tick(st->ctx);
            if (rc) return rc;
        }
        consume_wake_fetch(st);
        int wait_ms = consume_poll_ms(st);
        st->poll_due_us = time_mono_us() + wait_ms * 1000LL;
        rd_kafka_message_t *m = rd_kafka_consumer_poll(st->rk, wait_ms);
        st->poll_due_us = 0;
        if (st->rc) { /* set by the rebalance callback served inside poll */
            if (m) rd_kafka_message_destroy(m);
            break;
        }
        if (!m) {
            if (st->nbatch && wait_ms > 0) continue; /* the batch is still open */
            bool flushed = st->nbatch > 0;
            int rc = consume_flush(st);
            if (rc) return rc;
            /* A slow commit is not idle time, and messages may have arrived
             * during it: poll again before judging idleness. */
            if (flushed) {
                st->last_activity_us = time_mono_us();
                continue;
            }
            if (consume_idle_done(st)) {
                log_info("idle for %lds with every partition at its end: exiting",
                         st->cfg->idle_exit_s);
                return 0;
            }
            consume_progress(st, start_us);
            continue;
        }
        if (m->err) {
            int rc = consume_error(st, m);
            rd_kafka_message_destroy(m);
            if (rc) return rc;
            continue;
        }
        st->msgs++;
        msg_view *v = &st->views[st->nbatch];
        *v = kafka_msg_view(m, st->cfg->produced_us);
        consume_mark_end(st, v->topic, v->partition, NULL, -1);
        st->last_activity_us = time_mono_us();
        if (st->nbatch == 0) st->batch_start_us = st->last_activity_us;
        st->batch[st->nbatch++] = m;
        if (st->nbatch >= max_batch) { /* more are likely waiting: store it while polling */
            int rc = consume_hand_over(st);
            if (rc) return rc;
            consume_progress(st, start_us);
        }
    }
    return st->rc;
}

/* Stores what is pending, lets the service drain, and closes the consumer.
 * A pending batch is only stored when the loop ended cleanly: after a storage
 * or data-loss error it is dropped, and the store's offsets bring it back. */
static int consume_finish(consume_state *st, int rc) {
    int jrc = consume_join(st); /* a batch being stored is let finish, also after an error */
    if (rc == 0) rc = jrc;
    if (rc == 0) rc = consume_flush(st);
    for (size_t i = 0; i < st->nbatch; i++) rd_kafka_message_destroy(st->batch[i]);
    st->nbatch = 0;
    consume_commit_kafka(st); /* what was stored, also after an error */
    if (st->store->drain) {
        int drc = st->store->drain(st->ctx);
        if (rc == 0) rc = drc;
    }
    kafka_consumer_close(st->rk, CONSUME_CLOSE_MS, consume_rebalance_cb, "kafka consumer");
    if (st->rc && rc == 0) rc = st->rc; /* a revoke during close may have failed */
    return rc;
}

/* Frees the batch buffers. */
static void consume_free_batch(consume_state *st) {
    consume_buffers_free(st->batch, st->views, st->next);
}

int consume_run(const consume_config *cfg, const consume_store *store, void *ctx,
                consume_stats *stats) {
    consume_state st = {.cfg = cfg, .store = store, .ctx = ctx, .stats = stats};
    memset(stats, 0, sizeof *stats);
    size_t max_batch = cfg->max_batch > 0 ? (size_t)cfg->max_batch : 1;
    if (!consume_buffers_new(max_batch, &st.batch, &st.views, &st.next)) {
        log_error("out of memory for a batch of %zu messages", max_batch);
        return GK_EXIT_SOFTWARE;
    }
    st.rk = consume_create(&st);
    if (!st.rk) {
        consume_free_batch(&st);
        return kafka_failure_exit();
    }
    if (cfg->async_commit && !store->tick && store->offsets == CONSUME_OFFSETS_IN_STORE)
        consume_committer_start(&st, max_batch);
    if (cfg->leave_on_lost) freeze_watch_start(CONSUME_STOPPED_US);
    metrics_ready(false, "waiting for the cluster and a partition assignment");
    int rc = consume_connect(&st);
    if (rc == 0) rc = consume_subscribe(&st);
    if (rc == 0) st.waker = fetchwake_start(st.rk);
    if (rc == 0) rc = consume_loop(&st);
    fetchwake_stop(st.waker);
    if (rc == KAFKA_WAIT_STOPPED) rc = 0; /* a signal while waiting for the cluster */
    if (rc == 0 && signals_received()) log_info("signal received: committing and closing");
    metrics_ready(false, "stopping");
    rc = consume_finish(&st, rc);
    consume_committer_stop(&st);
    freeze_watch_stop();
    progress_done();
    if (st.assigned) rd_kafka_topic_partition_list_destroy(st.assigned);
    if (st.uncommitted) rd_kafka_topic_partition_list_destroy(st.uncommitted);
    free(st.cluster_id);
    consume_free_batch(&st);
    return rc;
}
