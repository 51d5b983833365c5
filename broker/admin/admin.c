/* admin.c - the admin client, its deadline and the waits every command
 * shares (see admin.h). */
#include "broker/admin/admin.h"

#include "common/exitcodes.h"
#include "kafka/kafka.h"
#include "common/log.h"
#include "common/signals.h"
#include "common/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ADMIN_SLICE_MS 200 /* longest single wait: signals and the deadline are checked between */

/* Client errors while a broker is not up yet (connection refused, all
 * brokers down) are what waiting means: they go to the debug level, and the
 * latest is kept for the message should the deadline pass. */
static void admin_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
    (void)rk;
    admin_client *a = opaque;
    snprintf(a->last_error, sizeof a->last_error, "%s: %s",
             rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
    log_debug("kafka: %s", a->last_error);
}

static void admin_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    (void)rk;
    log_debug("librdkafka %d %s: %s", level, fac, buf);
}

int admin_open(admin_client *a, const char *bootstrap, const cli_kv_list *overrides,
               long timeout_s) {
    memset(a, 0, sizeof *a);
    a->bootstrap = bootstrap;
    a->timeout_s = timeout_s;
    a->deadline_us = time_mono_us() + (int64_t)timeout_s * 1000000;
    /* A broker that is still starting refuses connections: retry every
     * 100-500 ms rather than backing off to librdkafka's 10 s, so that
     * readiness is seen within half a second. */
    static const kafka_default defs[] = {
        {"reconnect.backoff.ms", "100"},
        {"reconnect.backoff.max.ms", "500"},
        {NULL, NULL},
    };
    rd_kafka_conf_t *conf = kafka_conf_new(bootstrap, defs, overrides);
    if (!conf) return -1;
    rd_kafka_conf_set_error_cb(conf, admin_error_cb);
    rd_kafka_conf_set_log_cb(conf, admin_log_cb);
    rd_kafka_conf_set_opaque(conf, a);
    a->rk = kafka_new(RD_KAFKA_PRODUCER, conf);
    return a->rk ? 0 : -1;
}

void admin_close(admin_client *a) {
    if (a->rk) rd_kafka_destroy(a->rk);
    a->rk = NULL;
}

int admin_left_ms(const admin_client *a) {
    int64_t left = a->deadline_us - time_mono_us();
    return left > 0 ? (int)((left + 999) / 1000) : 0;
}

/* The exit code for a wait that ended without its result: a signal, or the
 * deadline (logged with what was being waited for). */
static int admin_gave_up(admin_client *a, const char *what) {
    if (!signals_run) {
        log_error("interrupted while waiting for %s", what);
        return ADMIN_EXIT_INTERRUPTED;
    }
    log_error("%s: no answer from %s within %ld s%s%s", what, a->bootstrap, a->timeout_s,
              a->last_error[0] ? "; last error: " : "", a->last_error);
    return GK_EXIT_UNAVAILABLE;
}

int admin_metadata(admin_client *a, const char *topic, const struct rd_kafka_metadata **md) {
    rd_kafka_topic_t *rkt = topic ? rd_kafka_topic_new(a->rk, topic, NULL) : NULL;
    if (topic && !rkt) {
        log_error("topic %s: %s", topic, rd_kafka_err2str(rd_kafka_last_error()));
        return GK_EXIT_SOFTWARE;
    }
    int rc = -1;
    while (rc < 0 && signals_run && admin_left_ms(a) > 0) {
        int slice = admin_left_ms(a) < 1000 ? admin_left_ms(a) : 1000;
        *md = NULL;
        rd_kafka_resp_err_t err = rd_kafka_metadata(a->rk, rkt ? 0 : 1, rkt, md, slice);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR && (*md)->broker_cnt > 0) {
            rc = 0;
            break;
        }
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
            snprintf(a->last_error, sizeof a->last_error, "metadata: %s", rd_kafka_err2str(err));
        else
            snprintf(a->last_error, sizeof a->last_error, "metadata lists no broker yet");
        if (*md) rd_kafka_metadata_destroy(*md);
        *md = NULL;
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) usleep(100000); /* answered, but not ready */
    }
    if (rkt) rd_kafka_topic_destroy(rkt);
    return rc == 0 ? 0 : admin_gave_up(a, "cluster metadata");
}

rd_kafka_event_t *admin_result(admin_client *a, rd_kafka_queue_t *q, const char *what, int *rc) {
    while (signals_run && admin_left_ms(a) > 0) {
        int left = admin_left_ms(a);
        rd_kafka_event_t *ev = rd_kafka_queue_poll(q, left < ADMIN_SLICE_MS ? left : ADMIN_SLICE_MS);
        if (ev) return ev;
    }
    *rc = admin_gave_up(a, what);
    return NULL;
}

rd_kafka_AdminOptions_t *admin_options(admin_client *a, rd_kafka_admin_op_t op) {
    char err[256];
    rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(a->rk, op);
    if (!o) return NULL;
    int left = admin_left_ms(a);
    if (left < 1) left = 1;
    if (rd_kafka_AdminOptions_set_request_timeout(o, left, err, sizeof err) ||
        ((op == RD_KAFKA_ADMIN_OP_CREATETOPICS) &&
         rd_kafka_AdminOptions_set_operation_timeout(o, left, err, sizeof err)))
        log_warn("admin options: %s", err);
    return o;
}

rd_kafka_event_t *admin_topic_configs(admin_client *a, char **topics, int n,
                                      const rd_kafka_ConfigResource_t ***res, size_t *nres,
                                      int *rc) {
    *res = NULL;
    *nres = 0;
    rd_kafka_ConfigResource_t **cr = calloc((size_t)n + 1, sizeof *cr);
    rd_kafka_queue_t *q = rd_kafka_queue_new(a->rk);
    rd_kafka_event_t *ev = NULL;
    *rc = cr && q ? 0 : GK_EXIT_SOFTWARE;
    for (int i = 0; *rc == 0 && i < n; i++)
        cr[i] = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topics[i]);
    if (*rc == 0) {
        rd_kafka_AdminOptions_t *o = admin_options(a, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
        rd_kafka_DescribeConfigs(a->rk, cr, (size_t)n, o, q);
        rd_kafka_AdminOptions_destroy(o);
        ev = admin_result(a, q, "topic configs", rc);
    }
    const rd_kafka_DescribeConfigs_result_t *r = ev ? rd_kafka_event_DescribeConfigs_result(ev) : NULL;
    if (ev && (!r || rd_kafka_event_error(ev))) {
        log_error("topic configs: %s", rd_kafka_event_error_string(ev));
        *rc = GK_EXIT_UNAVAILABLE;
        rd_kafka_event_destroy(ev);
        ev = NULL;
    } else if (ev) {
        *res = rd_kafka_DescribeConfigs_result_resources(r, nres);
    }
    for (int i = 0; cr && i < n; i++)
        if (cr[i]) rd_kafka_ConfigResource_destroy(cr[i]);
    free(cr);
    if (q) rd_kafka_queue_destroy(q);
    return ev;
}
