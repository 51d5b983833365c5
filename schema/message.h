/* message.h - THE rule of what a consumed message on a data topic means.
 *
 * db_consumer and ack_consumer call schema_message_map() for every message,
 * so both accept exactly the same messages and give a refused one - a dead
 * letter - the same reason. A message is accepted when
 *   - its topic is a record type's (schema_records),
 *   - its value is that record's JSON form, decoded strictly (decode.h:
 *     unknown fields, wrong types, missing required fields, invalid values
 *     and oversized messages are refused), and
 *   - its key is that row's event id as the producer writes it
 *     (schema_event_key): the producer partitions by the key, so a message
 *     whose key disagrees is not what it claims to be.
 * The event-id key's one printer and one parser are here as well. */
#ifndef GK_SCHEMA_MESSAGE_H
#define GK_SCHEMA_MESSAGE_H
#include "schema/schema.h"

#include <stddef.h>
#include <stdint.h>

#define SCHEMA_EVENT_KEY_MAX 20 /* characters of the longest event-id key */
#define SCHEMA_REASON_MAX 512   /* bytes of a dead letter's reason, NUL included */

/* One message's meaning (filled by schema_message_map). */
typedef struct {
    const schema_record *rec; /* its record type; NULL when refused */
    int64_t event_id;         /* values[0].i */
    /* rec->ncolumns typed values in column order. Text values borrow from
     * the message's value or from the decoder, until schema_message_done. */
    schema_value values[SCHEMA_MAX_COLUMNS];
    char reason[SCHEMA_REASON_MAX]; /* when refused: why, in one line */
    void *decoded;                  /* private: the decoder's tree, if any */
} schema_message;

/* Decides what the message topic/key/value means (key and value may be NULL
 * when absent). Returns 0 with m->rec, m->event_id and m->values set, or -1
 * with m->rec NULL and the dead-letter reason in m->reason. Either way,
 * schema_message_done(m) releases it once its values are no longer used. */
int schema_message_map(schema_message *m, const char *topic, const void *key, size_t key_len,
                       const void *value, size_t value_len);

/* The same rule for a message read as record type rec whatever its topic is
 * called (ack_delay reads data topics under names of its own: --topics). */
int schema_message_map_record(schema_message *m, const schema_record *rec, const void *key,
                              size_t key_len, const void *value, size_t value_len);

/* Releases what schema_message_map kept for m's values. */
void schema_message_done(schema_message *m);

/* Writes event id id (> 0) as a message key: decimal, no sign, no leading
 * zero, no NUL. Returns its length (at most SCHEMA_EVENT_KEY_MAX). */
size_t schema_event_key(char *out, int64_t id);

/* Parses a key as schema_event_key writes it (1..INT64_MAX). Returns 0 and
 * sets *id, or -1 for anything else. */
int schema_event_key_parse(const void *key, size_t len, int64_t *id);

/* Writes up to 40 bytes of a key into out (outlen bytes, NUL-terminated) for
 * a reason or a log line: '?' for each byte that is not printable ASCII or
 * is a quote, and "..." when the key was cut. */
void schema_key_text(const void *key, size_t len, char *out, size_t outlen);

#endif
