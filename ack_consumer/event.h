/* event.h - what ack_consumer knows of one event id: which of topic1..3 have
 * carried it, where and when, and where it is in its life cycle (rules.h).
 * The struct is also the record's layout on disk (store_lmdb.c), hence the
 * fixed-width fields, the padding spelled out and the version. */
#ifndef GK_ACK_EVENT_H
#define GK_ACK_EVENT_H
#include <stdint.h>

#define ACK_N_TOPICS 3 /* the data topics; bit i of the seen mask is schema_records[i] */
#define ACK_SEEN_ALL 0x07u
#define ACK_EVENT_VERSION 1

/* The life cycle: OPEN (seen on some topics) -> PENDING (seen on all: an
 * ack is decided) -> ACKED (its delivery is confirmed). */
typedef enum { ACK_OPEN = 0, ACK_PENDING = 1, ACK_ACKED = 2 } ack_event_state;

/* Where and when one topic's message for an event was seen (the first one, if
 * the topic carried the event more than once). -1 means unknown. */
typedef struct {
    int64_t ts_ms;       /* Kafka message timestamp */
    int64_t produced_us; /* header gk-produced-us */
    int64_t offset;
    int32_t partition;
    int32_t reserved;
} ack_seen;

/* One event (fixed size: 104 bytes). */
typedef struct {
    uint8_t version; /* ACK_EVENT_VERSION */
    uint8_t seen;    /* bit i: topic i */
    uint8_t state;   /* ack_event_state */
    uint8_t reserved;
    /* ACKED: when (wall clock, seconds since 1970) the ack was committed -
     * what --ack-retention counts from; 0: unknown (acked by a version that
     * did not record it, or not ACKED). Earlier versions wrote 0 here. */
    uint32_t acked_s;
    ack_seen topics[ACK_N_TOPICS];
} ack_event;

#endif
