/* kafka.c - librdkafka helpers (see kafka.h). */
#define _GNU_SOURCE /* pthread_timedjoin_np */
#include "kafka/kafka.h"

#include "common/exitcodes.h"
#include "common/log.h"
#include "common/signals.h"
#include "common/timeutil.h"
#include "kafka/stats.h"
#include "metrics/metrics.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define KAFKA_WAIT_PACE_US 200000 /* least time between two calls of a wait */
#define KAFKA_LEADER_SAY_MS 100    /* a partition's leader slower than this to answer is logged */

/* Why the last kafka_conf_new/kafka_new of this thread failed (kafka_failure_exit). */
static _Thread_local int kafka_fail_exit = GK_EXIT_SOFTWARE;

/* The last error librdkafka reported, from any client and thread: the lines
 * that say the cluster does not answer name it, because librdkafka itself
 * reports a repeated error only once. */
static pthread_mutex_t kafka_err_lock = PTHREAD_MUTEX_INITIALIZER;
static char kafka_err_text[512];
static int64_t kafka_err_us = -1; /* time_mono_us when it came, -1: none yet */

static void kafka_note_error(const char *text) {
    pthread_mutex_lock(&kafka_err_lock);
    snprintf(kafka_err_text, sizeof kafka_err_text, "%s", text);
    kafka_err_us = time_mono_us();
    pthread_mutex_unlock(&kafka_err_lock);
}

int64_t kafka_last_error(char *buf, size_t len) {
    pthread_mutex_lock(&kafka_err_lock);
    snprintf(buf, len, "%s", kafka_err_us >= 0 ? kafka_err_text : "");
    int64_t age = kafka_err_us >= 0 ? time_mono_us() - kafka_err_us : -1;
    pthread_mutex_unlock(&kafka_err_lock);
    return age;
}

/* librdkafka's syslog-style levels mapped onto ours. Called from librdkafka's
 * own threads: a connection that fails is logged (FAIL) at once, before any
 * error event reaches the application. */
static void kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    log_level l = level <= 3 ? LOG_ERROR : level <= 4 ? LOG_WARN : level <= 6 ? LOG_INFO : LOG_DEBUG;
    log_msg(l, "librdkafka %s %s: %s", rd_kafka_name(rk), fac, buf);
    if (level <= 4 && strcmp(fac, "FAIL") == 0) {
        /* "127.0.0.1:1/bootstrap: Connect to ...": the part after the broker
         * name, which the line about the wait names itself. */
        const char *sp = strstr(buf, "]: ");
        kafka_note_error(sp ? sp + 3 : buf);
    }
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
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
        log_warn("kafka: all brokers down (%s); retrying", reason);
        return;
    }
    log_warn("kafka: %s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
    kafka_note_error(reason);
}

static int kafka_conf_set1(rd_kafka_conf_t *conf, const char *key, const char *value) {
    char err[512];
    if (rd_kafka_conf_set(conf, key, value, err, sizeof err) != RD_KAFKA_CONF_OK) {
        log_error("kafka config %s=%s: %s", key, value, err);
        return -1;
    }
    return 0;
}

int kafka_conf_apply(rd_kafka_conf_t *conf, const cli_kv_list *overrides) {
    int bad = 0;
    for (size_t i = 0; overrides && i < overrides->count; i++)
        bad |= kafka_conf_set1(conf, overrides->keys[i], overrides->values[i]);
    if (bad) kafka_fail_exit = GK_EXIT_USAGE;
    return bad ? -1 : 0;
}

rd_kafka_conf_t *kafka_conf_new(const char *bootstrap, const kafka_default *defaults,
                                const cli_kv_list *overrides) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    int bad = kafka_conf_set1(conf, "bootstrap.servers",
                              bootstrap && *bootstrap ? bootstrap : KAFKA_DEFAULT_BOOTSTRAP);
    for (const kafka_default *d = defaults; d && d->key; d++)
        bad |= kafka_conf_set1(conf, d->key, d->value);
    bad |= kafka_stats_default(conf);
    bad |= kafka_conf_apply(conf, overrides);
    if (bad) {
        rd_kafka_conf_destroy(conf);
        kafka_fail_exit = GK_EXIT_USAGE;
        return NULL;
    }
    rd_kafka_conf_set_log_cb(conf, kafka_log_cb);
    rd_kafka_conf_set_error_cb(conf, kafka_error_cb);
    kafka_stats_wire(conf);
    return conf;
}

int kafka_conf_check(const char *bootstrap, const cli_kv_list *overrides) {
    rd_kafka_conf_t *conf = kafka_conf_new(bootstrap, NULL, overrides);
    if (!conf) return -1;
    rd_kafka_conf_destroy(conf);
    return 0;
}

rd_kafka_t *kafka_new(rd_kafka_type_t type, rd_kafka_conf_t *conf) {
    char err[512];
    rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof err);
    if (!rk) {
        /* librdkafka says INVALID_ARG for every setting it refuses when it
         * checks the whole configuration (e.g. idempotence without acks=all). */
        bool usage = rd_kafka_last_error() == RD_KAFKA_RESP_ERR__INVALID_ARG;
        kafka_fail_exit = usage ? GK_EXIT_USAGE : GK_EXIT_SOFTWARE;
        log_error("cannot create kafka %s: %s%s", type == RD_KAFKA_PRODUCER ? "producer" : "consumer",
                  usage ? "configuration: " : "", err);
        rd_kafka_conf_destroy(conf);
    }
    return rk;
}

int kafka_failure_exit(void) { return kafka_fail_exit; }

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
        .native = m,
    };
    if (with_produced_us && kafka_header_int64(m, KAFKA_HDR_PRODUCED_US, &v.produced_us) != 0)
        v.produced_us = -1;
    return v;
}

/* ------------------------------------------------------------------------ */
/* Waiting for the cluster                                                   */
/* ------------------------------------------------------------------------ */

void kafka_wait_begin(kafka_wait *w, rd_kafka_t *rk, const char *what, long bound_ms, int warn) {
    *w = (kafka_wait){rk, what, bound_ms, warn, time_mono_us(), 0, 0};
    w->next_warn_us = w->start_us + KAFKA_WAIT_WARN_S * 1000000LL;
}

int kafka_wait_slice(const kafka_wait *w, int min_ms) {
    int slice = min_ms > KAFKA_WAIT_SLICE_MS ? min_ms : KAFKA_WAIT_SLICE_MS;
    if (w->bound_ms > 0) {
        int64_t left_ms = w->bound_ms - (time_mono_us() - w->start_us) / 1000;
        if (left_ms < slice) slice = left_ms > 1 ? (int)left_ms : 1;
    }
    return slice;
}

void kafka_wait_log(const kafka_wait *w, log_level level, const char *err, const char *tail) {
    char boot[512] = "?", last[512];
    size_t size = sizeof boot;
    if (rd_kafka_conf_get(rd_kafka_conf(w->rk), "bootstrap.servers", boot, &size) != RD_KAFKA_CONF_OK)
        snprintf(boot, sizeof boot, "?");
    /* librdkafka's own report (a refused connection...) says more than the
     * call's "timed out"; it reports a repeated error once, hence its age. */
    int64_t age = kafka_last_error(last, sizeof last);
    char when[32] = "";
    if (age >= 0) snprintf(when, sizeof when, ", %" PRId64 " s ago", age / 1000000);
    else snprintf(last, sizeof last, "%s", err && *err ? err : "none reported");
    log_msg(level, "kafka: no answer from %s for %" PRId64 " s while waiting for %s (last error%s: %s); %s",
            boot, (time_mono_us() - w->start_us) / 1000000, w->what, when, last, tail);
}

int kafka_wait_again(kafka_wait *w, const char *err) {
    int64_t now = time_mono_us();
    /* A call that fails at once (no broker to ask) is not repeated in a
     * tight loop. */
    if (signals_run && now - w->last_us < KAFKA_WAIT_PACE_US)
        usleep((useconds_t)(KAFKA_WAIT_PACE_US - (now - w->last_us)));
    now = w->last_us = time_mono_us();
    metrics_tick(); /* waiting for the cluster is alive, not wedged */
    if (!signals_run) return KAFKA_WAIT_STOPPED;
    if (w->bound_ms > 0 && now - w->start_us >= w->bound_ms * 1000) return KAFKA_WAIT_EXPIRED;
    if (w->warn && now >= w->next_warn_us) {
        kafka_wait_log(w, LOG_WARN, err, "still trying");
        w->next_warn_us = now + KAFKA_WAIT_WARN_S * 1000000LL;
    }
    return 0;
}

rd_kafka_resp_err_t kafka_watermarks(rd_kafka_t *rk, const char *topic, int32_t partition,
                                     int64_t *low, int64_t *high, long bound_ms) {
    kafka_wait w;
    kafka_wait_begin(&w, rk, "watermarks", bound_ms, 0);
    rd_kafka_resp_err_t err;
    /* Each call sends a request: 2 s lets a slow broker answer one. */
    while ((err = rd_kafka_query_watermark_offsets(rk, topic, partition, low, high,
                                                   kafka_wait_slice(&w, 2000))) !=
           RD_KAFKA_RESP_ERR_NO_ERROR) {
        int rc = kafka_wait_again(&w, rd_kafka_err2str(err));
        if (rc == KAFKA_WAIT_STOPPED) return RD_KAFKA_RESP_ERR__TIMED_OUT;
        if (rc == KAFKA_WAIT_EXPIRED) break;
    }
    return err;
}

rd_kafka_resp_err_t kafka_wait_leaders(rd_kafka_t *rk, const rd_kafka_metadata_topic_t *t,
                                       int64_t deadline_us) {
    for (int i = 0; i < t->partition_cnt; i++) {
        int32_t p = t->partitions[i].id;
        int64_t lo, hi, t0 = time_mono_us(), left_ms = (deadline_us - t0) / 1000;
        rd_kafka_resp_err_t e = kafka_watermarks(rk, t->topic, p, &lo, &hi, left_ms > 1 ? left_ms : 1);
        if (!signals_run) return RD_KAFKA_RESP_ERR__TIMED_OUT;
        if (e) {
            log_warn("%s [%" PRId32 "]: its leader did not answer for it in time (%s): writing "
                     "anyway", t->topic, p, rd_kafka_err2str(e));
            return e;
        }
        int64_t waited_ms = (time_mono_us() - t0) / 1000;
        if (waited_ms >= KAFKA_LEADER_SAY_MS)
            log_info("%s [%" PRId32 "]: its leader answered for it after %" PRId64 " ms", t->topic,
                     p, waited_ms);
    }
    return RD_KAFKA_RESP_ERR_NO_ERROR;
}

rd_kafka_resp_err_t kafka_end_offsets(rd_kafka_t *rk, rd_kafka_topic_partition_list_t *list,
                                      long bound_ms) {
    kafka_wait w;
    kafka_wait_begin(&w, rk, "end offsets", bound_ms, 0);
    rd_kafka_resp_err_t err;
    for (;;) {
        /* RD_KAFKA_OFFSET_END as the time asks for the end (ListOffsets' "latest"). */
        for (int i = 0; i < list->cnt; i++) list->elems[i].offset = RD_KAFKA_OFFSET_END;
        err = rd_kafka_offsets_for_times(rk, list, kafka_wait_slice(&w, 2000));
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return err;
        int rc = kafka_wait_again(&w, rd_kafka_err2str(err));
        if (rc == KAFKA_WAIT_STOPPED) return RD_KAFKA_RESP_ERR__TIMED_OUT;
        if (rc == KAFKA_WAIT_EXPIRED) return err;
    }
}

static void *kafka_destroy_thread(void *rk) {
    rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    return NULL;
}

void kafka_consumer_close(rd_kafka_t *rk, int timeout_ms, kafka_rebalance_fn *rebalance,
                          const char *name) {
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_error_t *e = rd_kafka_consumer_close_queue(rk, q);
    bool closed = false;
    if (e) {
        /* A consumer with a fatal error (e.g. fenced) must not take part in
         * its group any more: it is destroyed without closing. */
        log_warn("%s: close: %s", name, rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    } else {
        int64_t deadline = time_mono_us() + (int64_t)timeout_ms * 1000;
        while (!(closed = rd_kafka_consumer_closed(rk)) && time_mono_us() < deadline) {
            rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 100);
            if (!ev) continue;
            /* Served by hand: a callback-serving poll would abort on the
             * messages still queued for the application (dropped here: the
             * store has what was consumed). */
            if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_REBALANCE) {
                if (rebalance)
                    rebalance(rk, rd_kafka_event_error(ev), rd_kafka_event_topic_partition_list(ev),
                              rd_kafka_opaque(rk));
                else
                    rd_kafka_assign(rk, NULL);
            } else if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_ERROR &&
                       rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                log_warn("%s: close: %s", name, rd_kafka_event_error_string(ev));
            }
            rd_kafka_event_destroy(ev);
        }
        if (!closed)
            log_warn("%s: not closed within %d s (the cluster does not answer); leaving without "
                     "a word to its group, which notices when the session expires",
                     name, timeout_ms / 1000);
    }
    rd_kafka_queue_destroy(q);
    if (closed) {
        rd_kafka_destroy(rk);
        return;
    }
    /* Even without its close, destroying a consumer waits for requests in
     * flight to a broker that does not answer - a static member's heartbeat
     * for up to its session timeout (minutes). The destroy runs in a thread
     * of its own, and shutdown goes on without it after timeout_ms. */
    pthread_t t;
    if (pthread_create(&t, NULL, kafka_destroy_thread, rk) != 0) {
        rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
        return;
    }
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    if (pthread_timedjoin_np(t, NULL, &until) != 0) {
        log_warn("%s: not destroyed within %d s (requests in flight to a broker that does not "
                 "answer): leaving it to the end of the process",
                 name, timeout_ms / 1000);
        pthread_detach(t);
    }
}
