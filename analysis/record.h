/* record.h - turns one Kafka message of topic1..3 or ack into a join_record.
 *
 * Pure (no librdkafka types), so it can be tested on hand-made bytes. Every
 * field of a message is input and is checked before it is used:
 *   - a data topic's message must pass THE rule the consumers apply
 *     (schema/message.h): one they refuse is a dead letter, so its event is
 *     not complete on that topic (and ack_consumer rightly sends no ack);
 *   - an ack's key is the event id as the producer writes it, its value a
 *     JSON object whose "event_id" equals the key, with "acked_us" used when
 *     the gk-produced-us header is missing;
 *   - the gk-produced-us header must be plain decimal microseconds within
 *     RECORD_MAX_SKEW_US of the message's Kafka timestamp (and between 2000
 *     and 2100): one that is not is counted, named and not used - the Kafka
 *     timestamp stands in for it. */
#ifndef GK_RECORD_H
#define GK_RECORD_H
#include "analysis/join.h"

#include <stddef.h>
#include <stdint.h>

#define RECORD_MIN_US 946684800000000LL   /* 2000-01-01T00:00:00Z */
#define RECORD_MAX_US 4102444800000000LL  /* 2100-01-01T00:00:00Z */
#define RECORD_MAX_SKEW_US 3600000000LL   /* an hour from the Kafka timestamp */

/* One message as read from Kafka. */
typedef struct {
    int slot;               /* 0..2 data topic, JOIN_ACK */
    const void *key;
    size_t key_len;
    const void *value;
    size_t value_len;
    int64_t ts_ms;           /* the Kafka timestamp, or -1 */
    const void *produced_us; /* the gk-produced-us header's bytes, or NULL */
    size_t produced_us_len;
    int32_t partition;
    int64_t offset;
} record_msg;

/* What record_decode made of a message. */
typedef enum {
    RECORD_OK = 0,      /* *out is filled */
    RECORD_DEAD_LETTER, /* a data message the consumers refuse: out->event_id is the key's id, or 0 */
    RECORD_BAD,         /* an ack that cannot be read, or no time at all */
} record_outcome;

/* Decodes m into *out. On RECORD_OK with a gk-produced-us header that is
 * not valid, *bad_header is set and err says why (the header is not used);
 * otherwise err holds the one-line reason of a dead letter or a bad message
 * (the caller prefixes topic/partition/offset). */
record_outcome record_decode(const record_msg *m, join_record *out, int *bad_header, char *err,
                             size_t errlen);

/* Checks a gk-produced-us header (len bytes, no NUL) against the rules
 * above; ts_ms is the message's Kafka timestamp or -1. Returns 0 with *us,
 * or -1 with a one-line reason. */
int record_header_us(const void *hdr, size_t len, int64_t ts_ms, int64_t *us, char *err,
                     size_t errlen);

#endif
