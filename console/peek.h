/* peek.h - the latest messages of one topic, read_committed, bounded.
 *
 * Each partition is read from max(low, high - n) up to where it ends for a
 * read_committed reader (partition EOF), on a consumer that is assigned the
 * partitions directly (no group, no commits) and unassigned afterwards. Of
 * what was read the n newest by timestamp are kept. Values and header values
 * are shown as text when they are UTF-8, as \xNN escapes otherwise, cut at
 * PEEK_VALUE_MAX bytes. */
#ifndef GK_CONSOLE_PEEK_H
#define GK_CONSOLE_PEEK_H
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stddef.h>

#define PEEK_VALUE_MAX 4096 /* bytes of a value or key shown */
#define PEEK_HEADERS_MAX 16 /* headers shown per message */

/* The latest (at most n) messages of topic, whose partitions and watermarks
 * are those of the topic's entry in a cluster_topics() answer, within
 * timeout_ms: {"topic","messages":[{"partition","offset","timestamp_ms",
 * "key","value","headers":[{"name","value"}],"value_bytes","binary"}],
 * "complete":bool}; NULL when out of memory. */
json_t *peek_latest(rd_kafka_t *rk, const json_t *topic, int n, int timeout_ms);

/* bytes as JSON text: as it is when valid UTF-8, \xNN for every byte of an
 * invalid sequence otherwise (then *binary is set), cut at max bytes of
 * input (then "…" follows). NULL when out of memory. */
json_t *peek_text(const void *bytes, size_t len, size_t max, int *binary);

#endif
