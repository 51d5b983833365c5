/* kafka.h - the librdkafka helpers every Kafka client of the pipeline shares.
 *
 * kafka_conf_new() builds a configuration in three layers: the service's tuned
 * defaults, then the user's -X key=value pass-through (which always wins), with
 * bootstrap.servers from --bootstrap/KAFKA_BOOTSTRAP. librdkafka's own log and
 * error callbacks are routed into log.h. */
#ifndef GK_KAFKA_H
#define GK_KAFKA_H
#include "common/cli.h"
#include "kafka/store.h"

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdint.h>

/* Header names the pipeline puts on its messages. */
#define KAFKA_HDR_PRODUCED_US "gk-produced-us" /* producer wall clock, microseconds, decimal */
#define KAFKA_HDR_SOURCE "gk-source"           /* "sim_file1.xlsx:17" (file and row) */

/* The default bootstrap when neither --bootstrap nor KAFKA_BOOTSTRAP is set. */
#define KAFKA_DEFAULT_BOOTSTRAP "localhost:9092"

/* One default: applied before the user's overrides. */
typedef struct {
    const char *key;
    const char *value;
} kafka_default;

/* Builds a configuration: defaults (array ended by {NULL,NULL}), bootstrap,
 * then overrides. Returns NULL after logging the offending key on error. */
rd_kafka_conf_t *kafka_conf_new(const char *bootstrap, const kafka_default *defaults,
                                const cli_kv_list *overrides);

/* Creates a client of the given type from conf (which it takes over) and logs
 * the error on failure. */
rd_kafka_t *kafka_new(rd_kafka_type_t type, rd_kafka_conf_t *conf);

/* Reads a decimal int64 header; returns 0 and sets *out, or -1 if absent/invalid. */
int kafka_header_int64(const rd_kafka_message_t *m, const char *name, int64_t *out);

/* Returns the message's timestamp in ms (CreateTime/LogAppendTime) or -1. */
int64_t kafka_msg_timestamp_ms(const rd_kafka_message_t *m);

/* The plain form of a consumed message (store.h); its pointers borrow from m.
 * The gk-produced-us header is parsed only if with_produced_us (it costs an
 * allocation per message in librdkafka); otherwise produced_us is -1. */
msg_view kafka_msg_view(const rd_kafka_message_t *m, bool with_produced_us);

#endif
