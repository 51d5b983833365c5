/* msg.h - one consumed Kafka message in plain form.
 *
 * db_consumer's sink and ack_consumer's state take messages in this form
 * rather than as rd_kafka_message_t, so that their logic is testable without
 * Kafka; kafka_msg_view() (kafka.h) makes one from a consumed message. */
#ifndef GK_MSG_H
#define GK_MSG_H
#include <stddef.h>
#include <stdint.h>

/* Pointers are borrowed from the message for as long as it lives. */
typedef struct {
    const char *topic;
    int32_t partition;
    int64_t offset;
    const void *key; /* NULL if the message has no key */
    size_t key_len;
    const void *value; /* NULL for an empty value (tombstone) */
    size_t value_len;
    int64_t ts_ms;       /* message timestamp, -1 if none */
    int64_t produced_us; /* header gk-produced-us, -1 if absent or not read */
} msg_view;

#endif
