/* record.h - turns one Kafka message of topic1..3 or ack into a join_record.
 *
 * Pure (no librdkafka types), so it can be tested on hand-made bytes:
 *   - key: the event id as the producer writes it (schema_event_key_parse);
 *   - value: a JSON object whose "event_id" equals the key; for the ack topic
 *     also "acked_us", used when the gk-produced-us header is missing;
 *   - time: the gk-produced-us header (microseconds) when present, and the
 *     Kafka timestamp (ms) always, if the message has one. */
#ifndef GK_RECORD_H
#define GK_RECORD_H
#include "analysis/join.h"

#include <stddef.h>
#include <stdint.h>

/* Fills *out for a message of the given slot (0..2 data topic, JOIN_ACK).
 * hdr_us is the gk-produced-us header or -1, ts_ms the Kafka timestamp or -1.
 * Returns 0, or -1 with a one-line reason in err (the caller prefixes the
 * topic/partition/offset). */
int record_decode(int slot, const void *key, size_t keylen, const void *value, size_t vallen,
                  int64_t ts_ms, int64_t hdr_us, int32_t partition, int64_t offset,
                  join_record *out, char *err, size_t errlen);

#endif
