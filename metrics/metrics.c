/* metrics.c - what the pipeline measures, and its endpoint (see metrics.h).
 *
 * The families below are the whole list (README.md's metrics table is the
 * same list, with the meaning of each); a service only fills those it has. */
#include "metrics/metrics.h"

#include "common/exitcodes.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "metrics/exposition.h"
#include "metrics/process.h"
#include "metrics/registry.h"
#include "metrics/server.h"
#include "schema/message.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

/* Ack delays from 0.5 ms (the embedded broker's best) to a minute. */
static const double metrics_delay_buckets[] = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05,
                                               0.1,    0.2,   0.5,   1,     2,    5,    10,
                                               30,     60};
/* Store transactions from 0.1 ms (no fsync) to 10 s (a huge batch). */
static const double metrics_commit_buckets[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                                1,      2.5,     5,      10};

static struct {
    _Atomic bool on;
    const char *program;
    metric_registry *reg;
    metrics_server *server;
    metric_family *consumed, *produced, *rows, *dead, *acks_sent, *acks_confirmed, *ack_delay,
        *commit, *lag, *ready_gauge, *rss, *start_time, *build, *dropped;
    _Atomic int64_t tick_us; /* time_mono_us of the last tick */
    _Atomic bool ready;
    pthread_mutex_t why_lock;
    char why[128]; /* why not ready */
    double start_s; /* wall clock at start */
} M = {.why_lock = PTHREAD_MUTEX_INITIALIZER};

static const char *const L_TOPIC[] = {"topic", NULL};
static const char *const L_TOPIC_RESULT[] = {"topic", "result", NULL};
static const char *const L_TABLE[] = {"table", NULL};
static const char *const L_REASON[] = {"reason", NULL};
static const char *const L_PARTITION[] = {"topic", "partition", NULL};
static const char *const L_BUILD[] = {"program", "version", NULL};

/* Adds every family. Returns 0 or -1 when out of memory. */
static int metrics_families(metric_registry *r) {
#define FAM_N(field, kind, name, help, labels, b, nb)                                          \
    if (!(M.field = metric_family_add(r, kind, name, help, labels, b, nb))) return -1;
#define FAM(field, kind, name, help, labels) FAM_N(field, kind, name, help, labels, NULL, 0)
#define FAM_H(field, name, help, b)                                                            \
    FAM_N(field, METRIC_HISTOGRAM, name, help, NULL, b, sizeof(b) / sizeof(b[0]))
    FAM(consumed, METRIC_COUNTER, "genetika_messages_consumed_total",
        "Data messages a consumer committed to its store, by topic", L_TOPIC);
    FAM(produced, METRIC_COUNTER, "genetika_messages_produced_total",
        "Producer delivery reports, by topic and result (delivered or failed)", L_TOPIC_RESULT);
    FAM(rows, METRIC_COUNTER, "genetika_rows_written_total",
        "Rows db_consumer upserted, by table (a redelivered message counts again)", L_TABLE);
    FAM(dead, METRIC_COUNTER, "genetika_dead_letters_total",
        "Dead letters stored, by reason class", L_REASON);
    FAM(acks_sent, METRIC_COUNTER, "genetika_acks_sent_total",
        "Acks ack_consumer produced (a resent one counts again)", NULL);
    FAM(acks_confirmed, METRIC_COUNTER, "genetika_acks_confirmed_total",
        "Acks the broker confirmed and ack_consumer recorded", NULL);
    FAM_H(ack_delay, "genetika_ack_delay_seconds",
          "From the latest of an event's three topic messages (gk-produced-us) to its ack",
          metrics_delay_buckets);
    FAM_H(commit, "genetika_store_commit_seconds",
          "Time a consumer's store took to commit one batch", metrics_commit_buckets);
    FAM(lag, METRIC_GAUGE, "genetika_consumer_lag_messages",
        "Messages behind the partition's end, from librdkafka's statistics", L_PARTITION);
    FAM(ready_gauge, METRIC_GAUGE, "genetika_ready", "1 when /readyz answers 200", NULL);
    FAM(rss, METRIC_GAUGE, "process_resident_memory_bytes", "Resident memory size in bytes",
        NULL);
    FAM(start_time, METRIC_GAUGE, "process_start_time_seconds",
        "Start time of the process since the Unix epoch in seconds", NULL);
    FAM(build, METRIC_GAUGE, "genetika_build_info", "The program and its version (value 1)",
        L_BUILD);
    FAM(dropped, METRIC_COUNTER, "genetika_metric_series_dropped_total",
        "Metric updates refused because a family held its most label sets", NULL);
#undef FAM_H
#undef FAM
#undef FAM_N
    return 0;
}

/* Refreshes the values read at scrape time, then renders. */
static int metrics_render(void *ctx, char **body, size_t *len) {
    (void)ctx;
    metric_gauge_set(metric_series_get(M.rss, NULL), process_rss_bytes());
    metric_gauge_set(metric_series_get(M.ready_gauge, NULL), atomic_load(&M.ready) ? 1 : 0);
    metric_series *dropped = metric_series_get(M.dropped, NULL);
    uint64_t d = metric_registry_dropped(M.reg), seen = metric_counter_value(dropped);
    if (d > seen) metric_counter_add(dropped, d - seen);
    return exposition_render(M.reg, body, len);
}

static bool metrics_healthy(void *ctx, char *why, size_t len) {
    (void)ctx;
    int64_t age_us = time_mono_us() - atomic_load(&M.tick_us);
    if (age_us < METRICS_STALE_S * 1000000LL) return true;
    snprintf(why, len, "%s: the loop has not run for %" PRId64 " s", M.program, age_us / 1000000);
    return false;
}

static bool metrics_is_ready(void *ctx, char *why, size_t len) {
    (void)ctx;
    if (atomic_load(&M.ready)) return true;
    pthread_mutex_lock(&M.why_lock);
    snprintf(why, len, "%s: not ready: %s", M.program, M.why);
    pthread_mutex_unlock(&M.why_lock);
    return false;
}

int metrics_start(const char *program, const char *addr) {
    if (!addr) return 0;
    M.program = program;
    M.reg = metric_registry_new();
    if (!M.reg || metrics_families(M.reg) != 0) {
        log_error("metrics: out of memory");
        metric_registry_free(M.reg);
        M.reg = NULL;
        return GK_EXIT_SOFTWARE;
    }
    atomic_store(&M.tick_us, time_mono_us());
    metrics_ready(false, "starting");
    M.start_s = (double)time_now_us() / 1e6;
    metric_gauge_set(metric_series_get(M.start_time, NULL), M.start_s);
    metric_gauge_set(metric_series_get(M.build, (const char *const[]){program, cli_version()}), 1);
    metrics_handlers h = {metrics_render, metrics_healthy, metrics_is_ready, NULL};
    char err[512];
    M.server = metrics_server_start(addr, &h, err, sizeof err);
    if (!M.server) {
        log_error("--metrics-addr: %s", err);
        metric_registry_free(M.reg);
        M.reg = NULL;
        return GK_EXIT_USAGE;
    }
    atomic_store(&M.on, true);
    char host[256];
    unsigned port;
    http_addr_parse(addr, host, sizeof host, &port, err, sizeof err);
    log_info("metrics: serving http://%s%s%s:%u/metrics, /healthz and /readyz",
             strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "",
             metrics_server_port(M.server));
    return 0;
}

void metrics_stop(void) {
    if (!M.server) return;
    atomic_store(&M.on, false);
    metrics_server_stop(M.server); /* joins its thread: nothing renders after this */
    M.server = NULL;
    metric_registry_free(M.reg);
    M.reg = NULL;
}

bool metrics_enabled(void) { return atomic_load_explicit(&M.on, memory_order_relaxed); }

void metrics_tick(void) {
    if (metrics_enabled()) atomic_store_explicit(&M.tick_us, time_mono_us(), memory_order_relaxed);
}

void metrics_ready(bool ready, const char *why) {
    if (!M.reg) return;
    pthread_mutex_lock(&M.why_lock);
    snprintf(M.why, sizeof M.why, "%s", why ? why : "");
    pthread_mutex_unlock(&M.why_lock);
    atomic_store(&M.ready, ready);
}

void metrics_consumed(const char *topic, uint64_t n) {
    if (metrics_enabled()) metric_counter_add(metric_series_get(M.consumed, &topic), n);
}

void metrics_store_commit(double seconds) {
    if (metrics_enabled()) metric_histogram_observe(metric_series_get(M.commit, NULL), seconds);
}

void metrics_consumer_lag(const char *topic, int32_t partition, int64_t lag) {
    if (!metrics_enabled()) return;
    char p[16];
    snprintf(p, sizeof p, "%" PRId32, partition);
    metric_gauge_set(metric_series_get(M.lag, (const char *const[]){topic, p}), (double)lag);
}

void metrics_consumer_lag_reset(void) {
    if (metrics_enabled()) metric_family_clear(M.lag);
}

void metrics_dead_letters(int cls, uint64_t n) {
    if (!metrics_enabled() || n == 0) return;
    const char *name = schema_reason_class_name(cls);
    metric_counter_add(metric_series_get(M.dead, &name), n);
}

void metrics_rows(const char *table, uint64_t n) {
    if (metrics_enabled() && n) metric_counter_add(metric_series_get(M.rows, &table), n);
}

void metrics_produced(const char *topic, bool delivered) {
    if (!metrics_enabled()) return;
    /* Called for every message, from each file's thread, and a thread's
     * client sends to one topic: its series is looked up once per thread. */
    static _Thread_local const char *last_topic;
    static _Thread_local metric_series *last[2];
    static _Thread_local const metric_registry *last_reg;
    if (topic != last_topic || last_reg != M.reg) {
        last_topic = topic;
        last_reg = M.reg;
        last[0] = metric_series_get(M.produced, (const char *const[]){topic, "failed"});
        last[1] = metric_series_get(M.produced, (const char *const[]){topic, "delivered"});
    }
    metric_counter_add(last[delivered], 1);
}

void metrics_ack_sent(int64_t acked_us, int64_t latest_us) {
    if (!metrics_enabled()) return;
    /* Series without labels are made at their first use, so that a
     * service shows only what it measures. */
    metric_counter_add(metric_series_get(M.acks_sent, NULL), 1);
    if (latest_us >= 0)
        metric_histogram_observe(metric_series_get(M.ack_delay, NULL),
                                 (double)(acked_us - latest_us) / 1e6);
}

void metrics_acks_confirmed(uint64_t n) {
    if (metrics_enabled()) metric_counter_add(metric_series_get(M.acks_confirmed, NULL), n);
}
