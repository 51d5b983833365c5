/* cluster.h - what the console asks the Kafka cluster: topics, partitions
 * and their offsets, consumer groups and their committed offsets.
 *
 * Every call is bounded by a timeout and every list by a cap, so that a
 * slow broker or a cluster with thousands of topics slows the page's
 * refresh, never the program's shutdown or its memory. Topics whose names
 * begin with "__" (Kafka's own: __consumer_offsets, __transaction_state)
 * are left out. */
#ifndef GK_CONSOLE_CLUSTER_H
#define GK_CONSOLE_CLUSTER_H
#include <jansson.h>
#include <librdkafka/rdkafka.h>

#define CLUSTER_PARTITIONS_MAX 256 /* partitions shown per topic */

/* The topics (at most max_topics, by name) with each partition's low and
 * high watermark: {"topics":[{"name","partitions":[{"partition","low",
 * "high"} or {"partition","error"}]}],"truncated":bool,"error":text|null}.
 * Each broker request waits at most timeout_ms. NULL when out of memory. */
json_t *cluster_topics(rd_kafka_t *rk, int max_topics, int timeout_ms);

/* The high watermark of topic/partition in a cluster_topics() answer, or -1. */
long long cluster_high(const json_t *topics, const char *topic, int partition);

/* The consumer groups: those given (a comma-separated list) and those the
 * cluster lists (at most max_groups in all), each with its committed offset
 * and lag (high watermark - committed) on every partition of topics that it
 * has an offset for: [{"group","source","state","error","partitions":[{"topic",
 * "partition","committed","high","lag"}]}]. NULL when out of memory. */
json_t *cluster_groups(rd_kafka_t *rk, const char *given, const json_t *topics, int max_groups,
                       int timeout_ms);

#endif
