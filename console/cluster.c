/* cluster.c - topics, offsets and consumer groups, bounded (see cluster.h). */
#include "console/cluster.h"

#include "common/log.h"
#include "common/signals.h"
#include "common/timeutil.h"
#include "kafka/kafka.h"

#include <stdlib.h>
#include <string.h>

/* The longest single blocking call: a stop asked for is seen this soon. */
#define CLUSTER_SLICE_MS 500
/* The list of groups: one call that cannot be sliced. */
#define CLUSTER_LIST_MS 2000

/* Metadata of every topic, in calls of CLUSTER_SLICE_MS until timeout_ms
 * has passed or a signal asks to stop. */
static rd_kafka_resp_err_t cluster_metadata(rd_kafka_t *rk, const struct rd_kafka_metadata **md,
                                            int timeout_ms) {
    int64_t end = time_mono_us() + (int64_t)timeout_ms * 1000;
    rd_kafka_resp_err_t err;
    do
        err = rd_kafka_metadata(rk, 1, NULL, md, CLUSTER_SLICE_MS);
    while (err == RD_KAFKA_RESP_ERR__TIMED_OUT && signals_run && time_mono_us() < end);
    return err;
}

/* Orders topic metadata by name. */
static int cluster_cmp_topic(const void *a, const void *b) {
    const rd_kafka_metadata_topic_t *x = *(rd_kafka_metadata_topic_t *const *)a;
    const rd_kafka_metadata_topic_t *y = *(rd_kafka_metadata_topic_t *const *)b;
    return strcmp(x->topic, y->topic);
}

json_t *cluster_topics(rd_kafka_t *rk, int max_topics, int timeout_ms) {
    json_t *out = json_pack("{s:[],s:b,s:n}", "topics", "truncated", 0, "error");
    if (!out) return NULL;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = cluster_metadata(rk, &md, timeout_ms);
    if (err) {
        json_object_set_new(out, "error", json_string(rd_kafka_err2str(err)));
        return out;
    }
    const rd_kafka_metadata_topic_t **sorted = calloc((size_t)md->topic_cnt + 1, sizeof *sorted);
    if (!sorted) {
        rd_kafka_metadata_destroy(md);
        json_decref(out);
        return NULL;
    }
    int n = 0;
    for (int i = 0; i < md->topic_cnt; i++)
        if (strncmp(md->topics[i].topic, "__", 2) != 0) sorted[n++] = &md->topics[i];
    qsort(sorted, (size_t)n, sizeof *sorted, cluster_cmp_topic);
    if (n > max_topics) {
        json_object_set_new(out, "truncated", json_true());
        n = max_topics;
    }
    json_t *list = json_object_get(out, "topics");
    for (int i = 0; i < n; i++) {
        const rd_kafka_metadata_topic_t *t = sorted[i];
        json_t *parts = json_array();
        json_t *jt = json_pack("{s:s,s:o,s:b}", "name", t->topic, "partitions", parts,
                               "truncated", t->partition_cnt > CLUSTER_PARTITIONS_MAX);
        if (!jt) continue;
        if (t->err) json_object_set_new(jt, "error", json_string(rd_kafka_err2str(t->err)));
        /* A stop asked for ends the round early: its calls wait for the cluster. */
        for (int p = 0; signals_run && p < t->partition_cnt && p < CLUSTER_PARTITIONS_MAX; p++) {
            int32_t id = t->partitions[p].id;
            int64_t low = -1, high = -1;
            rd_kafka_resp_err_t e = kafka_watermarks(rk, t->topic, id, &low, &high, timeout_ms);
            json_array_append_new(parts, e ? json_pack("{s:i,s:s}", "partition", (int)id, "error",
                                                       rd_kafka_err2str(e))
                                           : json_pack("{s:i,s:I,s:I}", "partition", (int)id,
                                                       "low", (json_int_t)low, "high",
                                                       (json_int_t)high));
        }
        json_array_append_new(list, jt);
    }
    free(sorted);
    rd_kafka_metadata_destroy(md);
    return out;
}

long long cluster_high(const json_t *topics, const char *topic, int partition) {
    size_t i, k;
    json_t *t, *p;
    json_array_foreach(json_object_get(topics, "topics"), i, t) {
        if (strcmp(json_string_value(json_object_get(t, "name")), topic) != 0) continue;
        json_array_foreach(json_object_get(t, "partitions"), k, p) {
            json_t *high = json_object_get(p, "high");
            if (json_integer_value(json_object_get(p, "partition")) == partition && high)
                return (long long)json_integer_value(high);
        }
    }
    return -1;
}

/* Waits up to timeout_ms for the admin result of type on q (a signal ends
 * the wait early); NULL if none came. */
static rd_kafka_event_t *cluster_wait(rd_kafka_queue_t *q, rd_kafka_event_type_t type,
                                      int timeout_ms) {
    int64_t end = time_mono_us() + (int64_t)timeout_ms * 1000;
    rd_kafka_event_t *ev = NULL;
    while (!ev && signals_run && time_mono_us() < end) ev = rd_kafka_queue_poll(q, CLUSTER_SLICE_MS);
    if (ev && rd_kafka_event_type(ev) != type) {
        rd_kafka_event_destroy(ev);
        return NULL;
    }
    return ev;
}

/* Adds name to the array of group names unless it is there or the cap is reached. */
static void cluster_add_group(json_t *names, const char *name, int max_groups) {
    size_t i;
    json_t *v;
    if (!*name || json_array_size(names) >= (size_t)max_groups) return;
    json_array_foreach(names, i, v) if (strcmp(json_string_value(v), name) == 0) return;
    json_array_append_new(names, json_string(name));
}

/* The names of the groups the cluster lists (into names), with their states;
 * the error text if it cannot say, else NULL. rd_kafka_list_groups, not the
 * ListConsumerGroups admin call: librdkafka 2.0.2's leaks 176 bytes once a
 * process (LeakSanitizer sees it in a program that calls it once and frees
 * all it is given). One blocking call of at most CLUSTER_LIST_MS (a signal
 * waits for it), made only right after the cluster answered for its
 * metadata. */
static const char *cluster_list_groups(rd_kafka_t *rk, json_t *names, json_t *states,
                                       int max_groups, int timeout_ms) {
    const struct rd_kafka_group_list *list = NULL;
    rd_kafka_resp_err_t err =
        rd_kafka_list_groups(rk, NULL, &list, timeout_ms < CLUSTER_LIST_MS ? timeout_ms : CLUSTER_LIST_MS);
    if (err) return rd_kafka_err2str(err);
    for (int i = 0; i < list->group_cnt; i++) {
        const struct rd_kafka_group_info *g = &list->groups[i];
        if (g->err || !g->group) continue;
        cluster_add_group(names, g->group, max_groups);
        if (g->state && *g->state) json_object_set_new(states, g->group, json_string(g->state));
    }
    rd_kafka_group_list_destroy(list);
    return NULL;
}

/* One group's committed offsets on the partitions of topics, with lags. */
static json_t *cluster_group(rd_kafka_t *rk, rd_kafka_queue_t *q, const char *group,
                             const json_t *topics, int timeout_ms) {
    json_t *parts = json_array();
    json_t *g = json_pack("{s:s,s:s,s:o}", "group", group, "source",
                          "offsets committed to Kafka", "partitions", parts);
    if (!g) return NULL;
    rd_kafka_topic_partition_list_t *want = rd_kafka_topic_partition_list_new(16);
    size_t i, k;
    json_t *t, *p;
    json_array_foreach(json_object_get(topics, "topics"), i, t) {
        json_array_foreach(json_object_get(t, "partitions"), k, p)
            rd_kafka_topic_partition_list_add(want, json_string_value(json_object_get(t, "name")),
                                              (int32_t)json_integer_value(json_object_get(p, "partition")));
    }
    if (want->cnt == 0) {
        rd_kafka_topic_partition_list_destroy(want);
        return g;
    }
    rd_kafka_ListConsumerGroupOffsets_t *req = rd_kafka_ListConsumerGroupOffsets_new(group, want);
    rd_kafka_topic_partition_list_destroy(want);
    rd_kafka_AdminOptions_t *o =
        rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS);
    char errstr[256];
    if (o) rd_kafka_AdminOptions_set_request_timeout(o, timeout_ms, errstr, sizeof errstr);
    rd_kafka_ListConsumerGroupOffsets(rk, &req, 1, o, q);
    rd_kafka_ListConsumerGroupOffsets_destroy(req);
    rd_kafka_event_t *ev =
        cluster_wait(q, RD_KAFKA_EVENT_LISTCONSUMERGROUPOFFSETS_RESULT, timeout_ms + 1000);
    if (o) rd_kafka_AdminOptions_destroy(o);
    if (!ev) {
        json_object_set_new(g, "error", json_string("no answer from the group coordinator"));
        return g;
    }
    size_t n = 0;
    const rd_kafka_group_result_t **res =
        rd_kafka_event_error(ev) ? NULL
                                 : rd_kafka_ListConsumerGroupOffsets_result_groups(
                                       rd_kafka_event_ListConsumerGroupOffsets_result(ev), &n);
    if (rd_kafka_event_error(ev))
        json_object_set_new(g, "error", json_string(rd_kafka_event_error_string(ev)));
    for (size_t r = 0; r < n; r++) {
        if (strcmp(rd_kafka_group_result_name(res[r]), group) != 0) continue; /* a late answer */
        const rd_kafka_error_t *e = rd_kafka_group_result_error(res[r]);
        if (e) {
            json_object_set_new(g, "error", json_string(rd_kafka_error_string(e)));
            continue;
        }
        const rd_kafka_topic_partition_list_t *l = rd_kafka_group_result_partitions(res[r]);
        for (int x = 0; l && x < l->cnt; x++) {
            const rd_kafka_topic_partition_t *tp = &l->elems[x];
            if (tp->err || tp->offset < 0) continue; /* nothing committed there */
            long long high = cluster_high(topics, tp->topic, tp->partition);
            json_array_append_new(
                parts, json_pack("{s:s,s:i,s:I,s:I,s:o}", "topic", tp->topic, "partition",
                                 (int)tp->partition, "committed", (json_int_t)tp->offset, "high",
                                 (json_int_t)high, "lag",
                                 high >= 0 ? json_integer((json_int_t)(high - tp->offset))
                                           : json_null()));
        }
    }
    rd_kafka_event_destroy(ev);
    return g;
}

json_t *cluster_groups(rd_kafka_t *rk, const char *given, const json_t *topics, int max_groups,
                       int timeout_ms) {
    json_t *names = json_array(), *states = json_object(), *out = json_array();
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    if (!names || !states || !out || !q) {
        json_decref(names), json_decref(states), json_decref(out);
        if (q) rd_kafka_queue_destroy(q);
        return NULL;
    }
    char *copy = strdup(given ? given : ""), *save = NULL;
    for (char *g = copy ? strtok_r(copy, ",", &save) : NULL; g; g = strtok_r(NULL, ",", &save))
        cluster_add_group(names, g, max_groups);
    free(copy);
    const char *why = cluster_list_groups(rk, names, states, max_groups, timeout_ms);
    if (why) log_debug("consumer groups: the cluster does not list them (%s): showing those of --groups", why);
    size_t i;
    json_t *v;
    json_array_foreach(names, i, v) {
        if (!signals_run) break;
        json_t *g = cluster_group(rk, q, json_string_value(v), topics, timeout_ms);
        if (!g) continue;
        json_t *st = json_object_get(states, json_string_value(v));
        json_object_set(g, "state", st ? st : json_null());
        json_array_append_new(out, g);
    }
    rd_kafka_queue_destroy(q);
    json_decref(names), json_decref(states);
    return out;
}
