/* describe.c - "kafka_admin describe [TOPIC...]": one line per topic, its
 * partition count and the configs set on it (not the broker's defaults):
 *
 *   topic1 partitions=3 retention.bytes=1048576 segment.bytes=1048576
 *
 * Without a topic: every topic but Kafka's internal ones (__*), by name. */
#include "broker/admin/admin.h"

#include "common/exitcodes.h"
#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int describe_cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Prints the configs of resource r that were set on the topic itself. */
static void describe_configs(const rd_kafka_ConfigResource_t *r) {
    size_t n = 0;
    const rd_kafka_ConfigEntry_t **e = rd_kafka_ConfigResource_configs(r, &n);
    for (size_t i = 0; i < n; i++)
        if (rd_kafka_ConfigEntry_source(e[i]) == RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG)
            printf(" %s=%s", rd_kafka_ConfigEntry_name(e[i]),
                   rd_kafka_ConfigEntry_value(e[i]) ? rd_kafka_ConfigEntry_value(e[i]) : "");
}

/* Describes the configs of names[0..n) and prints one line per topic with
 * its partition count from md. Returns 0 or an exit code. */
static int describe_print(admin_client *a, const struct rd_kafka_metadata *md, char **names, int n) {
    const rd_kafka_ConfigResource_t **rs = NULL;
    size_t nres = 0;
    int rc = 0;
    rd_kafka_event_t *ev = n > 0 ? admin_topic_configs(a, names, n, &rs, &nres, &rc) : NULL;
    for (int i = 0; rc == 0 && i < n; i++) {
        int parts = 0;
        for (int t = 0; t < md->topic_cnt; t++)
            if (strcmp(md->topics[t].topic, names[i]) == 0) parts = md->topics[t].partition_cnt;
        printf("%s partitions=%d", names[i], parts);
        for (size_t r = 0; r < nres; r++)
            if (strcmp(rd_kafka_ConfigResource_name(rs[r]), names[i]) == 0 &&
                !rd_kafka_ConfigResource_error(rs[r]))
                describe_configs(rs[r]);
        printf("\n");
    }
    fflush(stdout);
    if (ev) rd_kafka_event_destroy(ev);
    return rc;
}

int admin_describe(admin_client *a, char **topics, int ntopics) {
    const struct rd_kafka_metadata *md = NULL;
    int rc = admin_metadata(a, NULL, &md);
    if (rc) return rc;
    char **names = calloc((size_t)md->topic_cnt + (size_t)ntopics + 1, sizeof *names);
    int n = 0;
    if (!names) rc = GK_EXIT_SOFTWARE;
    for (int i = 0; rc == 0 && i < ntopics; i++) {
        int found = 0;
        for (int t = 0; t < md->topic_cnt; t++)
            found |= strcmp(md->topics[t].topic, topics[i]) == 0 && md->topics[t].err == 0;
        if (!found) {
            log_error("topic %s does not exist", topics[i]);
            rc = GK_EXIT_NOINPUT;
        }
        names[n++] = topics[i];
    }
    for (int t = 0; rc == 0 && ntopics == 0 && t < md->topic_cnt; t++)
        if (strncmp(md->topics[t].topic, "__", 2) != 0) names[n++] = md->topics[t].topic;
    if (rc == 0) {
        qsort(names, (size_t)n, sizeof *names, describe_cmp);
        rc = describe_print(a, md, names, n);
    }
    free(names);
    rd_kafka_metadata_destroy(md);
    return rc;
}
