/* sender.h - ack_consumer's producer: one message per completed event to the
 * ack topic, and the bookkeeping of what the broker confirmed.
 *
 * An ack is key = event id (decimal), value = JSON
 *   {"event_id":17,"acked_us":...,"topics":{"topic1":{"partition":0,"offset":5,
 *    "ts_ms":...,"produced_us":...},"topic2":{...},"topic3":{...}}}
 * and header gk-produced-us = acked_us.
 *
 * Each ack is in one of three places until the state records it: in flight
 * (produced, no delivery report yet), confirmed (delivered at a known
 * partition/offset: to be recorded as ACKED), or unsure (its delivery failed
 * or its transaction was aborted: whether it is in the topic must be checked
 * by reading the topic before it may be sent again, see reconcile.h).
 *
 * Without a transactional id the producer is idempotent and never gives up
 * on a message by itself (message.timeout.ms=0), so only permanent errors
 * make an ack unsure. With one, every call to ack_sender_send is one Kafka
 * transaction, and ack_sender_init fences any earlier process that used the
 * same id (see main.c on why that matters). */
#ifndef GK_ACK_SENDER_H
#define GK_ACK_SENDER_H
#include "ack_consumer/ready.h"
#include "ack_consumer/rules.h"
#include "common/cli.h"
#include "kafka/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ack_sender ack_sender;

typedef struct {
    const char *bootstrap;
    const cli_kv_list *overrides; /* -X pass-through; wins over the defaults */
    const char *topic;            /* the ack topic */
    const char *transactional_id; /* NULL or "": no transactions */
    long connect_timeout_s; /* the longest wait for the cluster's first answer; 0: none */
    const char *changelog_topic; /* scalable mode (scale.h), else NULL */
    int32_t changelog_partitions;
    const char *dead_letter_topic; /* scalable mode, else NULL */
} ack_sender_config;

/* Creates the producer into *out. Returns 0, or an exit code after logging:
 * GK_EXIT_USAGE when librdkafka refuses the configuration. */
int ack_sender_new(const ack_sender_config *cfg, ack_sender **out);

/* Puts the Kafka cluster id (malloc'd) in *out, waiting for the cluster to
 * answer (kafka_wait: said every few seconds, bounded by connect_timeout_s
 * together with ack_sender_init's wait); also fetches the metadata of the
 * topics it writes (ack, changelog, dead letters) so the first ack goes out
 * at once, and waits until their partitions' leaders answer for them
 * (kafka_wait_leaders). Returns 0,
 * KAFKA_WAIT_STOPPED if a signal stopped the wait, or an exit code. */
int ack_sender_cluster_id(ack_sender *s, char **out);

/* Transactional mode: initializes transactions, which fences (and aborts the
 * open transaction of) any earlier producer with the same id. Waits for the
 * cluster like ack_sender_cluster_id. No-op otherwise. Returns 0,
 * KAFKA_WAIT_STOPPED if a signal stopped the wait, or an exit code (logged). */
int ack_sender_init(ack_sender *s);

/* Produces one ack per item, with acked_us = now. In transactional mode the
 * items form one transaction, committed before returning - or given up at a
 * signal, like items that could not be produced: those are made unsure.
 * Returns 0, or -1 on a fatal producer error (logged; the state still has
 * the acks as pending). */
int ack_sender_send(ack_sender *s, const ack_ready *items, size_t n);

/* Serves delivery reports, waiting up to timeout_ms for one. */
void ack_sender_poll(ack_sender *s, int timeout_ms);

/* Waits up to timeout_ms for every ack in flight (transactional: not at all,
 * since every transaction was committed or given up by ack_sender_send).
 * Returns how many remain. */
size_t ack_sender_flush(ack_sender *s, int timeout_ms);

/* Acks produced and not yet reported. */
size_t ack_sender_inflight(const ack_sender *s);

/* Confirmed acks not yet recorded, oldest first; ack_sender_confirmed_done
 * drops the first n of them once the state has recorded them. */
const ack_confirm *ack_sender_confirmed(const ack_sender *s, size_t *n);
void ack_sender_confirmed_done(ack_sender *s, size_t n);

/* Moves the unsure event ids into *ids and *n (malloc'd, sorted, no duplicates;
 * the caller frees). Returns 0 or -1 on out of memory. */
int ack_sender_take_unsure(ack_sender *s, uint64_t **ids, size_t *n);
size_t ack_sender_unsure_count(const ack_sender *s);

/* True (and logged once) if the producer hit a fatal error. */
bool ack_sender_fatal(ack_sender *s);

/* Acks confirmed delivered since the start. */
uint64_t ack_sender_delivered(const ack_sender *s);

/* Logs the produce -> confirmed latency of the acks so far (p50/p99/max). */
void ack_sender_log_latency(ack_sender *s);

/* ---- Scalable mode (scale.h): a batch is one transaction holding its acks,
 * its changelog records and the consumed offsets. Between begin and end,
 * nothing counts: end commits all of it, or none (aborted). */

#define ACK_TXN_ABORTED 1 /* ack_sender_txn_end: aborted, nothing of it is visible */
#define ACK_TXN_FENCED 2  /* ack_sender_txn_end: this instance is a zombie (logged) */

/* Begins a transaction. Returns 0 or -1 (logged). */
int ack_sender_txn_begin(ack_sender *s);

/* Produces r's ack in the open transaction. Returns 0 or -1 (logged). */
int ack_sender_txn_ack(ack_sender *s, const ack_ready *r);

/* Produces a changelog record (key: the event id; value NULL: a tombstone)
 * to partition in the open transaction. Returns 0 or -1 (logged). */
int ack_sender_txn_record(ack_sender *s, int32_t partition, uint64_t event_id, const void *value,
                          size_t len);

/* A dead letter in the dead-letter topic: the message as it came - its key,
 * value and headers - to the partition of its number, with these headers
 * added (Kafka Connect's dead-letter queues do the same), all text: */
#define ACK_DL_HDR_TOPIC "gk-dl-topic"         /* the topic it was consumed from */
#define ACK_DL_HDR_PARTITION "gk-dl-partition" /* decimal */
#define ACK_DL_HDR_OFFSET "gk-dl-offset"       /* decimal */
#define ACK_DL_HDR_REASON "gk-dl-reason"       /* why it could not be used */
/* Only if the copy had to be cut to fit a Kafka message (the input topic
 * still has it whole until its retention): the original value's length in
 * bytes; and the count of its headers left out. */
#define ACK_DL_HDR_VALUE_BYTES "gk-dl-value-bytes"
#define ACK_DL_HDR_HEADERS_LEFT_OUT "gk-dl-headers-left-out"
/* The most of a message the copy keeps: with the headers above it stays
 * under librdkafka's and the broker's default message.max.bytes (1 MB), so
 * that no poison message can make its own dead letter undeliverable (and
 * the transaction abort at every retry). */
#define ACK_DL_MAX_KEY (64 * 1024)
#define ACK_DL_MAX_HEADERS (64 * 1024)
#define ACK_DL_MAX_VALUE (768 * 1024)

/* Produces m's dead letter (reason: why) in the open transaction. Returns 0
 * or -1 (logged). */
int ack_sender_txn_dead_letter(ack_sender *s, const msg_view *m, const char *reason);

/* Sends next[0..n) (the consumer's next offsets) with group_metadata to the
 * transaction and commits it. Returns 0 (committed: every record of it was
 * delivered), ACK_TXN_ABORTED, ACK_TXN_FENCED, or -1 (not even aborted). */
int ack_sender_txn_end(ack_sender *s, const consume_partition *next, size_t n,
                       void *group_metadata);

/* Aborts the open transaction. Returns 0 or -1 (logged). */
int ack_sender_txn_abort(ack_sender *s);

/* After a committed transaction: the offset after its last changelog
 * record of partition, or -1 if it wrote none there. */
int64_t ack_sender_changelog_next(const ack_sender *s, int32_t partition);

/* Drops what is still queued and destroys the producer. NULL is allowed. */
void ack_sender_destroy(ack_sender *s);

#endif
