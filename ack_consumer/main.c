/* main.c - ack_consumer: produces exactly one message to the ack topic for
 * every event id seen on all of topic1..3, across crashes and restarts.
 *
 * The Kafka loop is kafka/consume.c; the state is the life cycle of each
 * event (rules.c) kept in LMDB (store_lmdb.c); the ack producer is sender.c
 * and the start-up check of the ack topic reconcile.c.
 * This file holds the options and the protocol that ties them together:
 *
 *   1. A batch of messages and the confirmations received so far are applied
 *      in one LMDB transaction (with the next offsets). Events that became
 *      complete are now PENDING - the decision to ack is durable.
 *   2. After that commit, one ack per newly pending event is produced.
 *   3. The delivery report confirms the ack; the next transaction (or a small
 *      one every 100 ms when nothing else happens) makes the event ACKED.
 *   4. At start-up, events still PENDING are looked up in the ack topic
 *      (reconcile.c): found ones become ACKED, the others are sent again.
 *
 * A crash between any two steps is covered: before 1 nothing was decided
 * (the messages come again); between 1 and 3 the ack is pending and step 4
 * finds it or sends it; after 3 it is done. Messages for PENDING or ACKED
 * events never cause another ack.
 *
 * The one residual window: an ack written by the killed process to its
 * socket that the broker appends only AFTER step 4 has read the topic (a
 * produce request still in transit). Step 4 would then send a second ack.
 * With a local broker the kernel hands loopback data over at write() time
 * and the broker appends it within microseconds, long before a restarted
 * process has even connected, so the window is effectively zero there; on a
 * network it is bounded by TCP retransmission of an orphaned socket. It is
 * closed completely by --transactional-id: initializing transactions bumps
 * the producer epoch, which makes the broker abort the dead process's open
 * transaction and reject any of its requests that arrive later, before step
 * 4 starts reading (read_committed). The embedded broker (librdkafka's mock)
 * accepts transactions but implements neither the fencing of old epochs nor
 * read_committed filtering, so there the option costs latency for nothing;
 * against a real Kafka it is the way to run. */
#include "ack_consumer/dead_topic.h"
#include "ack_consumer/reconcile.h"
#include "ack_consumer/rules.h"
#include "ack_consumer/scale.h"
#include "ack_consumer/sender.h"
#include "ack_consumer/store_lmdb.h"
#include "common/cli.h"
#include "common/exitcodes.h"
#include "common/log.h"
#include "common/signals.h"
#include "common/timeutil.h"
#include "kafka/consume.h"
#include "kafka/kafka.h"
#include "metrics/metrics.h"
#include "metrics/probe.h"
#include "schema/schema.h"

#include <inttypes.h>
#include <jansson.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ACKC_MAX_BATCH 1000000L
/* The default --batch of each mode. In single mode LMDB keeps the largest
 * transaction's dirty pages allocated (store_lmdb.c), so a batch costs memory
 * for good; in scalable mode each batch is also a Kafka transaction, whose
 * commit round trips bound the rate to batch / commit time: at 2,500 it fell
 * behind 10,000 events/s (bench/README.md, "Under 64 MiB"). */
#define ACKC_BATCH_SINGLE 2500
#define ACKC_BATCH_SCALABLE 10000
#define ACKC_STR_(x) #x
#define ACKC_STR(x) ACKC_STR_(x)
#define ACKC_RECORD_EVERY_US 100000    /* confirmations alone: at most 10 transactions/s */
#define ACKC_RECONCILE_EVERY_US 1000000 /* retry of failed deliveries */
#define ACKC_RECONCILE_TIMEOUT_MS 120000
#define ACKC_DRAIN_MS 5000 /* at a stop: the rest stays pending for the next start */
#define ACKC_COMMIT_SAMPLES 100000 /* state transaction durations kept for the exit report */
#define ACKC_MAX_CONNECT_TIMEOUT_S 604800 /* a week: any bound worth giving */
#define ACKC_MAX_RETENTION_S 3153600000L /* 100 years; an ack time is 32-bit seconds */

/* The crash points test_ack_restart.sh kills the process at (one in each
 * window of the protocol above). They are compiled only into the test build
 * ack_consumer_crash (test/crash/, with GK_ACK_CRASH_POINTS); in this
 * program they are nothing. */
#ifdef GK_ACK_CRASH_POINTS
void ack_crash_point(const char *point, uint64_t acks); /* test/crash/ack_crash.c */
#define ACKC_CRASH_POINT(point, acks) ack_crash_point(point, acks)
#else
#define ACKC_CRASH_POINT(point, acks) ((void)0)
#endif

typedef struct {
    ack_store *state;
    ack_sender *sender;
    ack_reconcile_config rec;
    ack_ready_list ready;
    int64_t last_record_us;
    int64_t next_reconcile_us;
    uint64_t dead_letters, recovered, resent, decided;
    bool drained; /* ackc_drain has run: at most once, it may wait for the broker */
    int64_t first_batch_us, last_work_us; /* busy span, for the rate */
    const char *sync_name; /* --sync, for the report */
    uint32_t *commit_us; /* durations of the first ACKC_COMMIT_SAMPLES transactions */
    size_t ncommit;
    long retention_s;  /* --ack-retention (0: forever) */
    size_t expire_max; /* acked events forgotten per transaction, at most */
    uint64_t expired;
} ackc_ctx;

/* ------------------------------------------------------------------------ */
/* State transactions                                                        */
/* ------------------------------------------------------------------------ */

/* True when no ack of this process can still land in the topic unseen:
 * nothing in flight and nothing of unknown fate. */
static bool ackc_quiet(const ackc_ctx *c) {
    return ack_sender_inflight(c->sender) == 0 && ack_sender_unsure_count(c->sender) == 0;
}

/* scan_from per ack partition = last confirmed offset + 1. Only valid when
 * quiet: then every pending event's ack is among the confirmations or not
 * produced yet (and will land later). Returns the count written to out. */
static size_t ackc_scan_from(const ack_confirm *conf, size_t n, ack_part_offset *out) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < k && out[j].partition != conf[i].partition) j++;
        if (j == k) out[k++] = (ack_part_offset){conf[i].partition, conf[i].offset + 1};
        if (conf[i].offset + 1 > out[j].offset) out[j].offset = conf[i].offset + 1;
    }
    return k;
}

/* Notes how long a state transaction with messages took: it lies on every
 * ack's path (LMDB commit, two fsyncs with --sync full), so the exit report
 * shows how much of the ack delay is spent here rather than in Kafka. */
static void ackc_note_commit(ackc_ctx *c, int64_t us) {
    if (!c->commit_us) c->commit_us = malloc(ACKC_COMMIT_SAMPLES * sizeof *c->commit_us);
    if (!c->commit_us || c->ncommit == ACKC_COMMIT_SAMPLES) return;
    c->commit_us[c->ncommit++] = us < 0 ? 0 : us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static int ackc_cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Logs the state transaction durations (p50/p99/max). */
static void ackc_log_commits(ackc_ctx *c) {
    if (c->ncommit == 0) return;
    qsort(c->commit_us, c->ncommit, sizeof *c->commit_us, ackc_cmp_u32);
    log_info("state transactions with messages (%s): %zu, p50 %.2f ms, p99 %.2f ms, max %.2f ms",
             c->sync_name, c->ncommit, c->commit_us[c->ncommit / 2] / 1000.0,
             c->commit_us[c->ncommit * 99 / 100] / 1000.0, c->commit_us[c->ncommit - 1] / 1000.0);
}

/* One state transaction: the batch's messages and next offsets (batch may be
 * NULL), every confirmation the sender holds plus found[], and scan_from
 * (ends[] if given, else derived when quiet). Then produces the acks it
 * decided. Returns 0 or -1 (logged). */
static int ackc_apply(ackc_ctx *c, const consume_batch *batch, const ack_confirm *found,
                      size_t nfound, const ack_part_offset *ends, size_t nends) {
    ACKC_CRASH_POINT("delivered", ack_sender_delivered(c->sender));
    size_t nconf = 0;
    const ack_confirm *conf = ack_sender_confirmed(c->sender, &nconf);
    ack_confirm *all = malloc((nconf + nfound + 1) * sizeof *all);
    ack_part_offset *sf = malloc((nconf + nfound + 1) * sizeof *sf);
    if (!all || !sf) {
        free(all);
        free(sf);
        log_error("out of memory");
        return -1;
    }
    if (nconf) memcpy(all, conf, nconf * sizeof *all);
    if (nfound) memcpy(all + nconf, found, nfound * sizeof *all);
    size_t nsf = 0;
    if (!ends && ackc_quiet(c)) nsf = ackc_scan_from(all, nconf + nfound, sf);
    size_t nmsgs = batch ? batch->nmsgs : 0;
    /* An empty cluster id means "unknown": never clear the state for that. */
    const char *cluster_id = batch && *batch->cluster_id ? batch->cluster_id : NULL;
    ack_batch b = {.cluster_id = cluster_id,
                   .msgs = batch ? batch->msgs : NULL,
                   .nmsgs = nmsgs,
                   .next = batch ? batch->next : NULL,
                   .nnext = batch ? batch->nnext : 0,
                   .confirms = all,
                   .nconfirms = nconf + nfound,
                   .scan_from = ends ? ends : sf,
                   .nscan_from = ends ? nends : nsf};
    ack_rules_horizon(&b, time_now_us(), c->retention_s, c->expire_max);
    ack_batch_result res;
    char err[1024];
    int64_t t0 = time_mono_us();
    int rc = ack_rules_apply(c->state, &b, &c->ready, &res, err, sizeof err);
    if (nmsgs) ackc_note_commit(c, time_mono_us() - t0);
    free(all);
    free(sf);
    if (rc != 0) {
        log_error("state: %s", err);
        return -1;
    }
    ack_sender_confirmed_done(c->sender, nconf);
    metrics_acks_confirmed(nconf);
    for (int i = 0; i < SCHEMA_REASON_CLASSES; i++) metrics_dead_letters(i, res.dead_by_class[i]);
    c->dead_letters += res.dead_letters;
    c->expired += res.expired;
    c->last_record_us = time_mono_us();
    if (nmsgs && !c->first_batch_us) c->first_batch_us = c->last_record_us;
    if (nmsgs || nconf) c->last_work_us = c->last_record_us;
    if (c->ready.n) {
        c->decided += c->ready.n;
        ACKC_CRASH_POINT("decided", c->decided);
        ack_sender_send(c->sender, c->ready.items, c->ready.n); /* a fatal error stops tick */
        ACKC_CRASH_POINT("produced", c->decided);
        c->ready.n = 0;
    }
    return 0;
}

static int ackc_cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Looks up ids (sorted) in the ack topic: found ones are recorded ACKED
 * (with each partition's end as scan_from), the others are sent again.
 * Returns 0, or an exit code. A signal during the scan returns 0 with
 * everything still pending. */
static int ackc_reconcile(ackc_ctx *c, const uint64_t *ids, size_t n) {
    ack_reconcile_result r;
    int rc = ack_reconcile(&c->rec, c->state, ids, n, &r);
    if (rc == 1) return 0;
    if (rc != 0) return rc;
    uint64_t *got = malloc((r.nfound + 1) * sizeof *got);
    ack_ready_list resend = {0};
    if (!got || ackc_apply(c, NULL, r.found, r.nfound, r.ends, r.nends) != 0) {
        free(got);
        ack_reconcile_result_free(&r);
        return got ? GK_EXIT_IOERR : GK_EXIT_SOFTWARE;
    }
    for (size_t i = 0; i < r.nfound; i++) got[i] = r.found[i].event_id;
    qsort(got, r.nfound, sizeof *got, ackc_cmp_u64);
    for (size_t i = 0, j = 0; i < n; i++) {
        while (j < r.nfound && got[j] < ids[i]) j++;
        if (j < r.nfound && got[j] == ids[i]) continue;
        ack_event ev;
        char err[1024];
        int found = ack_store_get_event(c->state, ids[i], &ev, err, sizeof err);
        if (found < 0) {
            log_error("state: %s", err);
            ack_ready_list_free(&resend);
            free(got);
            ack_reconcile_result_free(&r);
            return GK_EXIT_IOERR;
        }
        if (found == 1 && ev.state == ACK_PENDING)
            if (ack_ready_list_push(&resend, ids[i], &ev) != 0) log_error("out of memory");
    }
    log_info("reconciliation: %zu of %zu pending acks already in %s (%" PRIu64
             " messages read); sending %zu again",
             r.nfound, n, c->rec.topic, r.scanned, resend.n);
    c->recovered += r.nfound;
    c->resent += resend.n;
    if (resend.n) ack_sender_send(c->sender, resend.items, resend.n);
    ack_ready_list_free(&resend);
    free(got);
    ack_reconcile_result_free(&r);
    return 0;
}

/* Start-up: every PENDING event is an ack of unknown fate. */
static int ackc_startup_reconcile(ackc_ctx *c) {
    ack_ready_list pend = {0};
    char err[512];
    long n = ack_store_pending(c->state, &pend, err, sizeof err);
    if (n < 0) {
        log_error("state: %s", err);
        return GK_EXIT_IOERR;
    }
    int rc = 0;
    if (n > 0) {
        log_info("%ld acks were decided but not confirmed before the last stop: checking %s",
                 n, c->rec.topic);
        uint64_t *ids = malloc((size_t)n * sizeof *ids);
        if (!ids) rc = GK_EXIT_SOFTWARE;
        for (long i = 0; ids && i < n; i++) ids[i] = pend.items[i].event_id; /* sorted */
        if (ids) rc = ackc_reconcile(c, ids, (size_t)n);
        free(ids);
    }
    ack_ready_list_free(&pend);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* The store in the consumer loop (kafka/store.h)                            */
/* ------------------------------------------------------------------------ */

/* consume_store.assign: the state says where each partition stopped. */
static int ackc_assign(void *ctx, const char *cluster_id, consume_partition *parts, size_t n) {
    ackc_ctx *c = ctx;
    char err[1024];
    for (size_t i = 0; i < n; i++) {
        if (ack_store_stored_offset(c->state, cluster_id, parts[i].topic, parts[i].partition,
                                    &parts[i].offset, err, sizeof err) != 0) {
            log_error("state: %s", err);
            return GK_EXIT_IOERR;
        }
    }
    return 0;
}

/* consume_store.commit: one state transaction, then the acks it decided. */
static int ackc_commit(void *ctx, const consume_batch *b) {
    ackc_ctx *c = ctx;
    ack_sender_poll(c->sender, 0); /* let fresh confirmations ride along */
    return ackc_apply(c, b, NULL, 0, NULL, 0);
}

static int ackc_tick(void *ctx) {
    ackc_ctx *c = ctx;
    ack_sender_poll(c->sender, 0);
    if (ack_sender_fatal(c->sender)) return GK_EXIT_UNAVAILABLE;
    int64_t now = time_mono_us();
    size_t nconf = 0;
    ack_sender_confirmed(c->sender, &nconf);
    if (nconf && now - c->last_record_us >= ACKC_RECORD_EVERY_US &&
        ackc_apply(c, NULL, NULL, 0, NULL, 0) != 0)
        return GK_EXIT_IOERR;
    if (ack_sender_unsure_count(c->sender) && ack_sender_inflight(c->sender) == 0 &&
        now >= c->next_reconcile_us) {
        c->next_reconcile_us = now + ACKC_RECONCILE_EVERY_US;
        uint64_t *ids = NULL;
        size_t n = 0;
        ack_sender_take_unsure(c->sender, &ids, &n);
        int rc = n ? ackc_reconcile(c, ids, n) : 0;
        free(ids);
        if (rc) return rc;
    }
    return 0;
}

static bool ackc_quiescent(void *ctx) {
    ackc_ctx *c = ctx;
    size_t nconf = 0;
    ack_sender_confirmed(c->sender, &nconf);
    return nconf == 0 && ackc_quiet(c);
}

/* Waits (bounded) for the acks in flight and records their confirmations,
 * once. */
static int ackc_drain(void *ctx) {
    ackc_ctx *c = ctx;
    if (c->drained) return 0;
    c->drained = true;
    size_t left = ack_sender_flush(c->sender, ACKC_DRAIN_MS);
    size_t nconf = 0;
    ack_sender_confirmed(c->sender, &nconf);
    if (nconf && ackc_apply(c, NULL, NULL, 0, NULL, 0) != 0) return GK_EXIT_IOERR;
    if (left || ack_sender_unsure_count(c->sender))
        log_warn("%zu acks unconfirmed at exit: they stay pending and are checked against %s "
                 "at the next start",
                 left + ack_sender_unsure_count(c->sender), c->rec.topic);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* --dump-dead-letters                                                       */
/* ------------------------------------------------------------------------ */

/* Adds key/value as a JSON string, or as "<name>_hex" if not valid UTF-8. */
static void ackc_json_bytes(json_t *o, const char *name, const void *p, size_t len) {
    json_t *s = json_stringn(p ? p : "", len);
    if (s) {
        json_object_set_new(o, name, s);
        return;
    }
    char *hex = malloc(len * 2 + 1);
    if (!hex) return;
    for (size_t i = 0; i < len; i++) sprintf(hex + 2 * i, "%02x", ((const unsigned char *)p)[i]);
    char hexname[64];
    snprintf(hexname, sizeof hexname, "%s_hex", name);
    json_object_set_new(o, hexname, json_stringn(hex, len * 2));
    free(hex);
}

static int ackc_print_dead(void *ctx, const char *topic, int32_t partition, int64_t offset,
                           const char *reason, const void *key, size_t key_len, const void *value,
                           size_t value_len) {
    (void)ctx;
    json_t *o = json_object();
    json_object_set_new(o, "topic", json_string(topic));
    json_object_set_new(o, "partition", json_integer(partition));
    json_object_set_new(o, "offset", json_integer(offset));
    json_object_set_new(o, "reason", json_string(reason));
    ackc_json_bytes(o, "key", key, key_len);
    ackc_json_bytes(o, "value", value, value_len);
    char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (line) puts(line);
    free(line);
    return 0;
}

static int ackc_dump_dead(const ack_store_options *so) {
    ack_store_options ro = *so;
    ro.read_only = true;
    ack_store *st = NULL;
    char err[1024];
    int rc = ack_store_open(&ro, &st, err, sizeof err);
    if (rc != 0) {
        log_error("%s", err);
        return rc == GK_EXIT_CANTCREAT ? GK_EXIT_NOINPUT : rc;
    }
    long n = ack_store_dead_letters(st, ackc_print_dead, NULL, err, sizeof err);
    ack_store_counts c = {0};
    if (n >= 0 && ack_store_count(st, &c, err, sizeof err) != 0) n = -1;
    ack_store_close(st);
    fflush(stdout);
    if (n < 0) {
        log_error("%s", err);
        return GK_EXIT_IOERR;
    }
    /* What else the cache holds: the state a dump is often asked about. */
    log_info("%ld dead letters (cache %s: %zu events remembered, %zu pending, %zu by ack time)",
             n, so->dir, c.events, c.pending, c.acked_at);
    return GK_EXIT_OK;
}

/* --dump-dead-letters --mode scalable: the same lines, from the dead-letter
 * topic (dead_topic.h), where that mode keeps them. */
static int ackc_dump_dead_topic(const char *bootstrap, const cli_kv_list *kafka, const char *topic,
                                long timeout_s) {
    long n = 0, copies = 0;
    int rc = ack_dead_topic_read(bootstrap, kafka, topic, timeout_s, ackc_print_dead, NULL, &n,
                                 &copies);
    fflush(stdout);
    if (rc) return rc == KAFKA_WAIT_STOPPED ? GK_EXIT_OK : rc;
    log_info("%ld dead letters in %s (read_committed); %ld copies left out (a partition re-read "
             "after a move)", n, topic, copies);
    return GK_EXIT_OK;
}

/* ------------------------------------------------------------------------ */
/* Options and main                                                          */
/* ------------------------------------------------------------------------ */

typedef struct {
    const char *bootstrap, *log_level, *cache, *group, *ack_topic, *sync, *txn_id, *metrics_addr,
        *mode, *changelog, *dead_letter_topic, *probe;
    cli_kv_list kafka;
    long map_size, batch, idle_exit, connect_timeout, ack_retention;
    int dump_dead, keep_state;
} ackc_options;

static int ackc_usage(const char *msg, const char *arg) {
    fprintf(stderr, "ack_consumer: %s%s%s\n", msg, arg ? arg : "", arg ? "'" : "");
    return -1;
}

/* Parses and checks the options. Returns 0, 1 (--help shown) or -1 (usage). */
static int ackc_parse(ackc_options *o, int argc, char **argv, ack_sync_mode *sync) {
    static const cli_program prog = {
        "ack_consumer", "[options]",
        "Consumes topic1..3 and, for every event id seen on all three, produces exactly one\n"
        "message to the ack topic, across crashes and restarts (LMDB state in --cache).\n"
        "Messages that db_consumer would refuse are kept as dead letters instead.\n"
        "If the cache belongs to another Kafka cluster (e.g. a fresh embedded broker), its\n"
        "state means nothing there: it is CLEARED (with a warning) and every event is acked\n"
        "afresh, unless --keep-state-on-new-cluster is given.\n"
        "--mode single (default): it must own every partition of topic1..3: an instance\n"
        "given part of them (another one in its group) stops, exit 64, before consuming any.\n"
        "--mode scalable: N instances in one group split topic1..3 by partition (they must\n"
        "have equal partition counts); each partition's state moves with it through the\n"
        "compacted --changelog-topic, written in one Kafka transaction with the acks and\n"
        "the consumed offsets; its dead letters go to --dead-letter-topic in that same\n"
        "transaction. Needs a real Kafka (fencing, read_committed).\n"
        "Acked events are remembered so that a replay of the same data is not acked again.\n"
        "By default forever (the state grows by every event); --ack-retention SECONDS\n"
        "forgets an event that long after its ack (oldest first, at most --batch per\n"
        "transaction): an event replayed AFTER that horizon IS ACKED AGAIN. Events not yet\n"
        "complete are never forgotten: --map-size bounds them (a full state stops with 74).",
        "Exit codes: 0 done or stopped by a signal, 64 usage (also a -X setting librdkafka\n"
        "refuses, or another instance in the group), 66 nothing to dump (no cache; scalable:\n"
        "no dead-letter topic), 69 fatal Kafka error\n"
        "or no answer within --connect-timeout (scalable: also fenced, or stopped past its\n"
        "group session while its partitions went to another member), 73 cannot create the cache, 74 storage error\n"
        "(state full: raise --map-size; disk full; a cache that fails its integrity check),\n"
        "75 scalable: a transaction was aborted (restart to resume), 76 data lost upstream\n"
        "(retention).\n"};
    const cli_option opts[] = {
        CLI_OPT_BOOTSTRAP(&o->bootstrap),
        CLI_OPT_KAFKA_CONFIG_FILE(&o->kafka),
        CLI_OPT_KAFKA_CONFIG(&o->kafka),
        CLI_OPT_LOG_LEVEL(&o->log_level),
        CLI_OPT_TOPIC_PREFIX(&schema_topic_prefix, schema_topic_prefix_set),
        {.long_name = "cache", .env = "GK_ACK_CONSUMER_CACHE", .kind = CLI_STRING,
         .target = &o->cache, .metavar = "DIR", .min = 1, .max = CLI_ANY_LEN,
         .help = "LMDB state directory (created if absent)"},
        {.long_name = "group", .env = "GK_ACK_CONSUMER_GROUP", .kind = CLI_STRING,
         .target = &o->group, .metavar = "ID", .help = "Kafka consumer group", .min = 1,
         .max = CLI_ANY_LEN},
        {.long_name = "ack-topic", .env = "GK_ACK_CONSUMER_ACK_TOPIC", .kind = CLI_STRING,
         .target = &o->ack_topic, .metavar = "TOPIC", .help = "topic the acks go to",
         .min = 1, .max = CLI_ANY_LEN},
        {.long_name = "sync", .env = "GK_ACK_CONSUMER_SYNC", .kind = CLI_STRING,
         .target = &o->sync, .metavar = "MODE",
         .help = "full (fsync each commit: survives power loss) or process (survives a crash "
                 "of this process only; faster)"},
        {.long_name = "map-size", .env = "GK_ACK_CONSUMER_MAP_SIZE", .kind = CLI_INT,
         .target = &o->map_size, .metavar = "MIB", .min = 1, .max = 1 << 20,
         .help = "most the LMDB state may grow to (about 9,000 acked events per MiB)"},
        {.long_name = "batch", .env = "GK_ACK_CONSUMER_BATCH", .kind = CLI_INT,
         .target = &o->batch, .metavar = "N",
         .help = "most messages per transaction (0: " ACKC_STR(ACKC_BATCH_SINGLE) " in single mode, "
                 ACKC_STR(ACKC_BATCH_SCALABLE) " in scalable)",
         .min = 1, .max = ACKC_MAX_BATCH, .also = "0"},
        {.long_name = "idle-exit", .env = "GK_ACK_CONSUMER_IDLE_EXIT", .kind = CLI_INT,
         .target = &o->idle_exit, .metavar = "SECONDS", .min = 0, .max = 86400,
         .help = "exit once caught up, no ack in flight, and idle this long (0: run until "
                 "signalled)"},
        {.long_name = "transactional-id", .env = "GK_ACK_CONSUMER_TRANSACTIONAL_ID",
         .kind = CLI_STRING, .target = &o->txn_id, .metavar = "ID", .min = 1,
         .max = CLI_ANY_LEN,
         .help = "send acks in Kafka transactions with this fixed id (fences a dead "
                 "predecessor; use with a real Kafka)"},
        {.long_name = "mode", .env = "GK_ACK_CONSUMER_MODE", .kind = CLI_STRING,
         .target = &o->mode, .metavar = "MODE",
         .help = "single (one instance owns all partitions; LMDB + reconciliation) or scalable "
                 "(instances split the partitions; state in a changelog topic, Kafka "
                 "transactions; exact across crashes on a real Kafka only)"},
        {.long_name = "changelog-topic", .env = "GK_ACK_CONSUMER_CHANGELOG_TOPIC",
         .kind = CLI_STRING, .target = &o->changelog, .metavar = "TOPIC", .min = 1,
         .max = CLI_ANY_LEN,
         .help = "scalable: the compacted topic each partition's state is kept in (as many "
                 "partitions as topic1)"},
        {.long_name = "dead-letter-topic", .env = "GK_ACK_CONSUMER_DEAD_LETTER_TOPIC",
         .kind = CLI_STRING, .target = &o->dead_letter_topic, .metavar = "TOPIC", .min = 1,
         .max = CLI_ANY_LEN,
         .help = "scalable: the topic dead letters are kept in, in the transaction of the "
                 "offsets that skip them (as many partitions as topic1, retention.ms=-1; single "
                 "mode keeps them in the cache)"},
        {.long_name = "ack-retention", .env = "GK_ACK_CONSUMER_ACK_RETENTION", .kind = CLI_INT,
         .target = &o->ack_retention, .metavar = "SECONDS", .min = 0, .max = ACKC_MAX_RETENTION_S,
         .help = "forget an acked event this long after its ack (LMDB record deleted; scalable: "
                 "a tombstone in the changelog), so the state stays bounded; an event replayed "
                 "after that is ACKED AGAIN (0: remember forever)"},
        {.long_name = "keep-state-on-new-cluster", .env = "GK_ACK_CONSUMER_KEEP_STATE_ON_NEW_CLUSTER",
         .kind = CLI_FLAG, .target = &o->keep_state,
         .help = "keep the events (forget only offsets) when the cluster changes"},
        {.long_name = "dump-dead-letters", .kind = CLI_FLAG, .target = &o->dump_dead,
         .help = "print the dead letters as JSON lines on stdout and exit (single: from the "
                 "cache; scalable: from the dead-letter topic, read_committed, each once)"},
        {.long_name = "connect-timeout", .env = "GK_ACK_CONSUMER_CONNECT_TIMEOUT", .kind = CLI_INT,
         .target = &o->connect_timeout, .metavar = "SECONDS", .min = 0,
         .max = ACKC_MAX_CONNECT_TIMEOUT_S,
         .help = "give up (exit 69) if the cluster has not answered by then (0: keep trying "
                 "until signalled)"},
        METRICS_CLI_OPT("GK_ACK_CONSUMER_METRICS_ADDR", &o->metrics_addr),
        METRICS_CLI_PROBE(&o->probe),
        CLI_OPT_END,
    };
    int first = 0;
    int rc = cli_parse(&prog, opts, argc, argv, &first);
    if (rc != 0) return rc;
    if (first < argc) return ackc_usage("unexpected argument '", argv[first]);
    if (cli_log_init("ack_consumer", o->log_level) != 0) return -1;
    if (strcmp(o->sync, "full") == 0)
        *sync = ACK_SYNC_FULL;
    else if (strcmp(o->sync, "process") == 0)
        *sync = ACK_SYNC_PROCESS;
    else
        return ackc_usage("--sync: expected full or process, got '", o->sync);
    if (strcmp(o->mode, "single") != 0 && strcmp(o->mode, "scalable") != 0)
        return ackc_usage("--mode: expected single or scalable, got '", o->mode);
    if (o->batch == 0)
        o->batch = strcmp(o->mode, "scalable") == 0 ? ACKC_BATCH_SCALABLE : ACKC_BATCH_SINGLE;
    /* Co-partitioning rests on the range assignor (consume.h). */
    for (size_t i = 0; i < o->kafka.count && strcmp(o->mode, "scalable") == 0; i++)
        if (strcmp(o->kafka.keys[i], "partition.assignment.strategy") == 0 &&
            strcmp(o->kafka.values[i], "range") != 0)
            return ackc_usage("--mode scalable needs partition.assignment.strategy=range (it "
                              "gives an instance the same partitions of topic1..3), got '",
                              o->kafka.values[i]);
    char why[256];
    if (schema_topic_check(o->ack_topic, SCHEMA_TOPIC_ACK, why, sizeof why) != 0) {
        fprintf(stderr, "ack_consumer: --ack-topic: %s\n", why);
        return -1;
    }
    /* A Kafka setting librdkafka refuses is a usage error, found before the
     * cache is created. */
    return kafka_conf_check(o->bootstrap, &o->kafka);
}

/* The rate is over the busy span (first batch to last recorded work), not
 * the group join or the idle wait before an --idle-exit. */
static void ackc_summary(const ackc_ctx *c, const consume_stats *cs, double secs) {
    uint64_t acks = ack_sender_delivered(c->sender);
    double busy = c->first_batch_us ? (double)(c->last_work_us - c->first_batch_us) / 1e6 : 0;
    printf("ack_consumer: messages=%" PRIu64 " acks=%" PRIu64 " dead_letters=%" PRIu64
           " batches=%" PRIu64 " recovered=%" PRIu64 " resent=%" PRIu64 " expired=%" PRIu64
           " unconfirmed=%zu seconds=%.3f acks_per_s=%.0f\n",
           cs->messages, acks, c->dead_letters, cs->batches, c->recovered, c->resent, c->expired,
           ack_sender_inflight(c->sender) + ack_sender_unsure_count(c->sender), secs,
           busy > 0 ? (double)acks / busy : 0.0);
    fflush(stdout);
}

#define ACKC_CONSUMER_DEFAULTS 5

/* The consumer settings both modes share: topic1..3 (written into topics),
 * the session and heartbeat, the prefetch, and with a transactional id static membership
 * under it, with static_session_ms as its session (written into defaults,
 * ACKC_CONSUMER_DEFAULTS entries). The caller adds what its mode needs. */
static consume_config ackc_consume_config(const ackc_options *o, const char *static_session_ms,
                                          const char **topics, kafka_default *defaults) {
    for (size_t i = 0; i < SCHEMA_N_RECORDS; i++) topics[i] = schema_records[i].topic;
    /* A restarted consumer gets its partitions only once the group has
     * dropped the dead member: the broker waits out its session timeout
     * (the embedded broker even after a clean leave). 6 s is the smallest
     * a real Kafka accepts by default; heartbeats come from librdkafka's own
     * thread, so a long batch cannot make the session expire.
     * With a transactional id the instance has a name, and it joins as a
     * static member under it (group.instance.id): a successor with the same
     * id takes its place at once, and a zombie of it that wakes up is fenced
     * by the group as well as by the transactions - instead of rejoining and
     * taking part of the partitions, which whole_topics would refuse, and
     * stop the successor too. A static member's session is long (5 min,
     * within the broker's group.max.session.timeout.ms of 30 min): a
     * successor does not wait for it, nobody else may take the partitions
     * meanwhile, and a broker outage shorter than it does not expire the
     * session - after which librdkafka 2.0.2 rejoins and is fenced by its own
     * earlier membership (confluentinc/librdkafka#3437), as
     * test_broker_crash:kafka saw after 45 s outages on a loaded machine.
     * Scalable mode keeps a static member's session short (static_session_ms). */
    defaults[0] = (kafka_default){"session.timeout.ms", o->txn_id ? static_session_ms : "6000"};
    defaults[1] = (kafka_default){"heartbeat.interval.ms", "1500"};
    /* Half the prefetch kafka/consume.c gives both consumers: ack_consumer's
     * memory also holds its LMDB transaction's dirty pages and mapped pages
     * (store_lmdb.c), and a drain kept its speed with 2 MiB, not with 1 MiB
     * (bench/README.md, "ack_consumer's map"). */
    defaults[2] = (kafka_default){"queued.max.messages.kbytes", "2048"};
    defaults[3] = (kafka_default){o->txn_id ? "group.instance.id" : NULL, o->txn_id}; /* last */
    defaults[4] = (kafka_default){NULL, NULL};
    return (consume_config){
        .bootstrap = o->bootstrap, .kafka_overrides = &o->kafka, .kafka_defaults = defaults,
        .group_id = o->group, .topics = topics, .ntopics = SCHEMA_N_RECORDS, .max_batch = o->batch,
        .idle_exit_s = o->idle_exit, .produced_us = true, .what = "messages",
        .connect_timeout_s = o->connect_timeout};
}

/* Opens the state, connects, checks the cluster and reconciles, then runs
 * the consumer loop. Returns the exit code. */
static int ackc_run(ackc_ctx *c, const ackc_options *o, const ack_store_options *so) {
    char err[1024];
    int rc = ack_store_open(so, &c->state, err, sizeof err);
    ack_store_counts n = {0};
    if (rc == 0 && ack_store_count(c->state, &n, err, sizeof err) != 0) rc = GK_EXIT_IOERR;
    if (rc != 0) {
        log_error("%s", err);
        return rc;
    }
    log_info("cache %s (sync=%s, map %ld MiB): %zu events, %zu pending, %zu dead letters; "
             "acks to %s%s%s",
             o->cache, o->sync, o->map_size, n.events, n.pending, n.dead_letters, o->ack_topic,
             o->txn_id ? " in transactions as " : "", o->txn_id ? o->txn_id : "");
    ack_sender_config sc = {o->bootstrap, &o->kafka, o->ack_topic, o->txn_id, o->connect_timeout,
                            NULL, 0, NULL};
    rc = ack_sender_new(&sc, &c->sender);
    if (rc == 0) rc = ack_sender_init(c->sender);
    char *cluster = NULL;
    if (rc == 0) rc = ack_sender_cluster_id(c->sender, &cluster);
    if (rc) return rc == KAFKA_WAIT_STOPPED ? GK_EXIT_OK : rc;
    bool cleared = false;
    rc = ack_store_use_cluster(c->state, cluster, &cleared, err, sizeof err);
    free(cluster);
    if (rc != 0) {
        log_error("state: %s", err);
        return GK_EXIT_IOERR;
    }
    if ((rc = ackc_startup_reconcile(c)) != 0 || !signals_run) return rc;

    const char *topics[SCHEMA_N_RECORDS];
    kafka_default defaults[ACKC_CONSUMER_DEFAULTS];
    /* A static member's session is long (ackc_consume_config says why). */
    consume_config cfg = ackc_consume_config(o, "300000", topics, defaults);
    /* The state of an event lives where its partitions were consumed: in
     * this mode it cannot follow them to another instance. */
    cfg.whole_topics = true;
    consume_store store = {.assign = ackc_assign,
                           .commit = ackc_commit,
                           .tick = ackc_tick,
                           .quiescent = ackc_quiescent,
                           .drain = ackc_drain};
    consume_stats cs = {0};
    int64_t start = time_mono_us();
    rc = consume_run(&cfg, &store, c, &cs);
    int drc = ackc_drain(c); /* no-op after a normal drain; covers early exits */
    if (rc == 0) rc = drc;
    ack_sender_log_latency(c->sender);
    ackc_log_commits(c);
    ackc_summary(c, &cs, (double)(time_mono_us() - start) / 1e6);
    return rc;
}

/* --mode scalable (scale.h): checks the topics, restores partitions as
 * they come, one Kafka transaction per batch. Returns the exit code. */
static int ackc_run_scalable(const ackc_options *o, const ack_store_options *so) {
    const char *topics[SCHEMA_N_RECORDS];
    for (size_t i = 0; i < SCHEMA_N_RECORDS; i++) topics[i] = schema_records[i].topic;
    ack_scale_config scfg = {.bootstrap = o->bootstrap, .kafka = &o->kafka,
                             .changelog = o->changelog, .dead_letters = o->dead_letter_topic,
                             .topics = topics, .ntopics = SCHEMA_N_RECORDS, .store = *so,
                             .connect_timeout_s = o->connect_timeout,
                             .retention_s = o->ack_retention, .expire_max = (size_t)o->batch};
    /* The changelog is the source of truth: a machine crash only takes the
     * local checkpoint back, and the restore replays more. */
    scfg.store.sync = ACK_SYNC_PROCESS;
    ack_scale *sc = NULL;
    int32_t nparts = 0;
    int rc = ack_scale_open(&scfg, &sc, &nparts);
    if (rc) return rc == KAFKA_WAIT_STOPPED ? GK_EXIT_OK : rc;
    /* Each instance needs its own transactional id (KIP-447: the group
     * generation fences zombies, not the id). A fixed one (--transactional-
     * id, e.g. the container's hostname) also makes a restart abort its dead
     * predecessor's open transaction at once. */
    char gen_id[512];
    const char *txn_id = o->txn_id;
    if (!txn_id) {
        char host[256] = "host";
        gethostname(host, sizeof host - 1);
        snprintf(gen_id, sizeof gen_id, "%s-%s-%ld", o->group, host, (long)getpid());
        txn_id = gen_id;
    }
    char horizon[64] = "forever";
    if (o->ack_retention) snprintf(horizon, sizeof horizon, "for %ld s", o->ack_retention);
    log_info("scalable mode: %" PRId32 " partitions, changelog %s, dead letters to %s, acks to %s "
             "in transactions as %s, cache %s/p<N>, acked events remembered %s",
             nparts, o->changelog, o->dead_letter_topic, o->ack_topic, txn_id, o->cache, horizon);
    ack_sender *sender = NULL;
    ack_sender_config sc_cfg = {.bootstrap = o->bootstrap, .overrides = &o->kafka,
                                .topic = o->ack_topic, .transactional_id = txn_id,
                                .connect_timeout_s = o->connect_timeout,
                                .changelog_topic = o->changelog, .changelog_partitions = nparts,
                                .dead_letter_topic = o->dead_letter_topic};
    rc = ack_sender_new(&sc_cfg, &sender);
    char *cluster = NULL;
    if (rc == 0) rc = ack_sender_cluster_id(sender, &cluster);
    /* librdkafka's mock names its clusters so. It accepts transactions but
     * neither fences a zombie nor hides aborted writes from read_committed
     * readers: a clean rebalance is exact there, a crash is not. */
    if (cluster && strncmp(cluster, "mockCluster", 11) == 0)
        log_warn("scalable mode on the embedded broker (cluster %s): it neither fences zombies "
                 "nor hides aborted transactions, so exactly-once holds across clean rebalances "
                 "only, not across crashes; use a real Kafka",
                 cluster);
    free(cluster);
    if (rc == 0) rc = ack_sender_init(sender);
    if (rc) {
        ack_sender_destroy(sender);
        ack_scale_close(sc);
        return rc == KAFKA_WAIT_STOPPED ? GK_EXIT_OK : rc;
    }
    ack_scale_set_sender(sc, sender);
    kafka_default defaults[ACKC_CONSUMER_DEFAULTS];
    /* Its static members keep the short session: the others take a dead
     * one's partitions within seconds. */
    consume_config cfg = ackc_consume_config(o, "6000", topics, defaults);
    cfg.co_partitioned = true;
    cfg.leave_on_lost = true;
    consume_store store = ack_scale_store();
    consume_stats cs = {0};
    int64_t start = time_mono_us();
    rc = consume_run(&cfg, &store, sc, &cs);
    ack_sender_log_latency(sender);
    ack_scale_counts n = ack_scale_counts_get(sc);
    printf("ack_consumer: mode=scalable messages=%" PRIu64 " acks=%" PRIu64 " restored=%" PRIu64
           " dead_letters=%" PRIu64 " expired=%" PRIu64 " batches=%" PRIu64 " seconds=%.3f\n",
           cs.messages, ack_sender_delivered(sender), n.restored, n.dead_letters, n.expired,
           cs.batches, (double)(time_mono_us() - start) / 1e6);
    fflush(stdout);
    ack_sender_destroy(sender);
    ack_scale_close(sc);
    return rc;
}

int main(int argc, char **argv) {
    ackc_options o = {.bootstrap = KAFKA_DEFAULT_BOOTSTRAP, .log_level = "info",
                      .cache = "ack-cache", .group = "genetika-ack",
                      .ack_topic = SCHEMA_ACK_TOPIC, .sync = "full", .txn_id = NULL,
                      .mode = "single", .changelog = SCHEMA_ACK_CHANGELOG_TOPIC,
                      .dead_letter_topic = SCHEMA_ACK_DEAD_LETTER_TOPIC, .ack_retention = 0,
                      .map_size = 1024, .batch = 0, .idle_exit = 0, .connect_timeout = 0};
    ack_sync_mode sync = ACK_SYNC_FULL;
    int rc = ackc_parse(&o, argc, argv, &sync);
    if (rc == 0 && o.probe) {
        cli_kv_free(&o.kafka);
        return probe_run("ack_consumer", o.probe, o.metrics_addr);
    }
    if (rc != 0) {
        cli_kv_free(&o.kafka);
        return rc == 1 ? GK_EXIT_OK : GK_EXIT_USAGE;
    }
    /* One malloc arena, before any thread starts: librdkafka's threads
     * allocate every fetched message and this thread frees it, and with an
     * arena per thread each kept free pages of its own; one arena peaked
     * lower at the same CPU (bench/README.md has the figures). A user's
     * MALLOC_ARENA_MAX or GLIBC_TUNABLES still decides. */
    if (!getenv("MALLOC_ARENA_MAX") && !getenv("GLIBC_TUNABLES")) mallopt(M_ARENA_MAX, 1);
    signals_install();
    ack_store_options so = {o.cache, sync, (size_t)o.map_size << 20, false, o.keep_state != 0,
                            o.ack_retention > 0, 0};
    if (o.dump_dead) {
        rc = strcmp(o.mode, "scalable") == 0
                 ? ackc_dump_dead_topic(o.bootstrap, &o.kafka, o.dead_letter_topic,
                                        o.connect_timeout)
                 : ackc_dump_dead(&so);
        cli_kv_free(&o.kafka);
        return rc;
    }
    if (strcmp(o.mode, "scalable") == 0) {
        rc = metrics_start("ack_consumer", o.metrics_addr);
        if (rc == 0) rc = ackc_run_scalable(&o, &so);
        metrics_stop();
        cli_kv_free(&o.kafka);
        return rc;
    }
    ackc_ctx c = {0};
    char rec_group[512];
    snprintf(rec_group, sizeof rec_group, "%s-reconcile", o.group);
    c.rec = (ack_reconcile_config){o.bootstrap, &o.kafka, o.ack_topic, rec_group,
                                   ACKC_RECONCILE_TIMEOUT_MS};
    c.sync_name = o.sync;
    c.retention_s = o.ack_retention;
    c.expire_max = (size_t)o.batch;
    rc = metrics_start("ack_consumer", o.metrics_addr);
    if (rc == 0) rc = ackc_run(&c, &o, &so);
    metrics_stop();
    ack_sender_destroy(c.sender);
    ack_store_close(c.state);
    ack_ready_list_free(&c.ready);
    free(c.commit_us);
    cli_kv_free(&o.kafka);
    return rc;
}
