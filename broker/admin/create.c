/* create.c - "kafka_admin create TOPIC...": topics with --partitions,
 * --replication-factor and --topic-config KEY=VALUE (retention.bytes,
 * segment.bytes, cleanup.policy=compact ...).
 *
 * Idempotent, because a kept data directory or a second run creates the same
 * topics again: a topic that already exists with the same partition count and
 * the same values for the configs asked for is fine. One that differs is an
 * error naming what differs, never adjusted silently (co-partitioned topics
 * must keep their partition count). The command returns once every topic has
 * a leader for each partition, so that the clients started next find it. */
#include "broker/admin/admin.h"

#include "common/exitcodes.h"
#include "common/log.h"
#include "common/signals.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CREATE_RETRY_US 200000 /* between attempts after a transient error */

typedef enum { CREATE_PENDING, CREATE_CREATED, CREATE_EXISTS } create_state;

/* Errors a controller that is still settling returns; the request is sent again. */
static bool create_transient(rd_kafka_resp_err_t err) {
    return err == RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT || err == RD_KAFKA_RESP_ERR_NOT_CONTROLLER ||
           err == RD_KAFKA_RESP_ERR__TIMED_OUT || err == RD_KAFKA_RESP_ERR__TRANSPORT ||
           err == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE ||
           err == RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE;
}

/* Errors that say the request itself is wrong (a config name or value, the
 * partition count or replication factor): a usage error, not a broker's. */
static bool create_invalid(rd_kafka_resp_err_t err) {
    return err == RD_KAFKA_RESP_ERR_INVALID_CONFIG || err == RD_KAFKA_RESP_ERR_INVALID_PARTITIONS ||
           err == RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR ||
           err == RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION;
}

/* One CreateTopics request for the topics still PENDING. Sets their state;
 * returns 0 (some may still be pending after a transient error) or an exit
 * code after logging. */
static int create_send(admin_client *a, long partitions, long replication,
                       const cli_kv_list *configs, char **topics, int n, create_state *st) {
    char err[512];
    rd_kafka_NewTopic_t **nt = calloc((size_t)n, sizeof *nt);
    if (!nt) return GK_EXIT_SOFTWARE;
    int k = 0, rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        if (st[i] != CREATE_PENDING) continue;
        nt[k] = rd_kafka_NewTopic_new(topics[i], (int)partitions, (int)replication, err, sizeof err);
        if (!nt[k]) {
            log_error("topic %s: %s", topics[i], err);
            rc = GK_EXIT_USAGE;
            break;
        }
        for (size_t c = 0; c < configs->count; c++)
            if (rd_kafka_NewTopic_set_config(nt[k], configs->keys[c], configs->values[c])) {
                log_error("topic %s: config %s=%s refused", topics[i], configs->keys[c],
                          configs->values[c]);
                rc = GK_EXIT_USAGE;
            }
        k++;
    }
    rd_kafka_queue_t *q = rc == 0 ? rd_kafka_queue_new(a->rk) : NULL;
    if (q) {
        rd_kafka_AdminOptions_t *o = admin_options(a, RD_KAFKA_ADMIN_OP_CREATETOPICS);
        rd_kafka_CreateTopics(a->rk, nt, (size_t)k, o, q);
        rd_kafka_AdminOptions_destroy(o);
        rd_kafka_event_t *ev = admin_result(a, q, "topic creation", &rc);
        const rd_kafka_CreateTopics_result_t *res = ev ? rd_kafka_event_CreateTopics_result(ev) : NULL;
        if (ev && !res) {
            log_error("topic creation: %s", rd_kafka_event_error_string(ev));
            rc = create_transient(rd_kafka_event_error(ev)) ? 0 : GK_EXIT_CANTCREAT;
        }
        size_t nres = 0;
        const rd_kafka_topic_result_t **tr = res ? rd_kafka_CreateTopics_result_topics(res, &nres) : NULL;
        for (size_t r = 0; r < nres; r++) {
            const char *name = rd_kafka_topic_result_name(tr[r]);
            rd_kafka_resp_err_t e = rd_kafka_topic_result_error(tr[r]);
            const char *msg = rd_kafka_topic_result_error_string(tr[r]);
            for (int i = 0; i < n; i++) {
                if (st[i] != CREATE_PENDING || strcmp(topics[i], name) != 0) continue;
                if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
                    st[i] = CREATE_CREATED;
                } else if (e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS && !(msg && strstr(msg, "deletion"))) {
                    st[i] = CREATE_EXISTS;
                } else if (create_transient(e) || e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
                    snprintf(a->last_error, sizeof a->last_error, "%s: %s", name,
                             msg ? msg : rd_kafka_err2str(e));
                    log_debug("topic %s: %s; trying again", name, a->last_error);
                } else {
                    log_error("topic %s: cannot create: %s", name, msg ? msg : rd_kafka_err2str(e));
                    rc = create_invalid(e) ? GK_EXIT_USAGE : GK_EXIT_CANTCREAT;
                }
            }
        }
        if (ev) rd_kafka_event_destroy(ev);
        rd_kafka_queue_destroy(q);
    }
    for (int i = 0; i < k; i++) rd_kafka_NewTopic_destroy(nt[i]);
    free(nt);
    return rc;
}

/* Waits until topic's metadata shows every partition with a leader and
 * checks the partition count. Returns 0 or an exit code after logging. */
static int create_check_partitions(admin_client *a, const char *topic, long partitions) {
    for (;;) {
        const struct rd_kafka_metadata *md = NULL;
        int rc = admin_metadata(a, topic, &md);
        if (rc) return rc;
        const struct rd_kafka_metadata_topic *t = md->topic_cnt == 1 ? &md->topics[0] : NULL;
        int have = t && t->err == RD_KAFKA_RESP_ERR_NO_ERROR ? t->partition_cnt : -1;
        bool led = have > 0;
        for (int p = 0; led && p < have; p++)
            if (t->partitions[p].leader < 0) led = false;
        if (t && t->err)
            snprintf(a->last_error, sizeof a->last_error, "%s: %s", topic, rd_kafka_err2str(t->err));
        rd_kafka_metadata_destroy(md);
        if (have > 0 && have != partitions) {
            log_error("topic %s exists with %d partitions, not %ld: delete it or ask for %d "
                      "(topic1..3 must keep one partition count)",
                      topic, have, partitions, have);
            return GK_EXIT_CANTCREAT;
        }
        if (led) return 0;
        if (!signals_run || admin_left_ms(a) == 0) {
            log_error("topic %s: no leader for every partition within %ld s (%s)", topic,
                      a->timeout_s, a->last_error);
            return signals_run ? GK_EXIT_UNAVAILABLE : ADMIN_EXIT_INTERRUPTED;
        }
        usleep(100000);
    }
}

/* Checks that every topic holds the values asked for in configs (an existing
 * topic may have been created with others). Returns 0 or an exit code. */
static int create_check_configs(admin_client *a, const cli_kv_list *configs, char **topics, int n) {
    if (configs->count == 0) return 0;
    const rd_kafka_ConfigResource_t **rs = NULL;
    size_t nres = 0;
    int rc = 0;
    rd_kafka_event_t *ev = admin_topic_configs(a, topics, n, &rs, &nres, &rc);
    for (size_t r = 0; r < nres; r++) {
        const char *topic = rd_kafka_ConfigResource_name(rs[r]);
        if (rd_kafka_ConfigResource_error(rs[r])) {
            log_error("topic %s configs: %s", topic, rd_kafka_ConfigResource_error_string(rs[r]));
            rc = GK_EXIT_UNAVAILABLE;
            continue;
        }
        size_t ne = 0;
        const rd_kafka_ConfigEntry_t **e = rd_kafka_ConfigResource_configs(rs[r], &ne);
        for (size_t c = 0; c < configs->count; c++) {
            const char *have = NULL;
            for (size_t j = 0; j < ne; j++)
                if (strcmp(rd_kafka_ConfigEntry_name(e[j]), configs->keys[c]) == 0)
                    have = rd_kafka_ConfigEntry_value(e[j]);
            if (!have || strcmp(have, configs->values[c]) != 0) {
                log_error("topic %s exists with %s=%s, not %s: delete it or ask for that value",
                          topic, configs->keys[c], have ? have : "(unset)", configs->values[c]);
                rc = GK_EXIT_CANTCREAT;
            }
        }
    }
    if (ev) rd_kafka_event_destroy(ev);
    return rc;
}

int admin_create(admin_client *a, long partitions, long replication, const cli_kv_list *configs,
                 char **topics, int n) {
    /* Brokers must be registered first: a controller without them refuses
     * the topics (replication factor not reachable). */
    const struct rd_kafka_metadata *md = NULL;
    int rc = admin_metadata(a, NULL, &md);
    if (rc) return rc;
    rd_kafka_metadata_destroy(md);
    create_state *st = calloc((size_t)n, sizeof *st);
    if (!st) return GK_EXIT_SOFTWARE;
    for (;;) {
        rc = create_send(a, partitions, replication, configs, topics, n, st);
        bool pending = false;
        for (int i = 0; i < n; i++) pending |= st[i] == CREATE_PENDING;
        if (rc || !pending) break;
        if (!signals_run || admin_left_ms(a) == 0) {
            log_error("topics not created within %ld s: %s", a->timeout_s, a->last_error);
            rc = signals_run ? GK_EXIT_UNAVAILABLE : ADMIN_EXIT_INTERRUPTED;
            break;
        }
        usleep(CREATE_RETRY_US);
    }
    for (int i = 0; rc == 0 && i < n; i++) rc = create_check_partitions(a, topics[i], partitions);
    if (rc == 0) rc = create_check_configs(a, configs, topics, n);
    for (int i = 0; rc == 0 && i < n; i++)
        printf("%s %s partitions=%ld\n", topics[i], st[i] == CREATE_CREATED ? "created" : "exists",
               partitions);
    fflush(stdout);
    free(st);
    return rc;
}
