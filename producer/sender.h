/* sender.h - the producer's Kafka side: one idempotent rd_kafka_t per file
 * (used by that file's reader thread), asynchronous sends with headers,
 * delivery accounting per file and row. */
#ifndef GK_PRODUCER_SENDER_H
#define GK_PRODUCER_SENDER_H
#include "common/cli.h"
#include "producer/producer.h"

#include <stddef.h>
#include <stdint.h>

/* Creates the producer: tuned defaults, then bootstrap, then -X overrides.
 * Delivery reports are accounted into files[]. Returns NULL after logging. */
sender *sender_new(const char *bootstrap, const cli_kv_list *overrides, producer_file *files,
                   size_t nfiles);

/* Asks the cluster for metadata within timeout_s seconds, so an unusable
 * bootstrap is reported at once instead of after message.timeout.ms. Warns
 * about topics the cluster does not know, and waits, within the same time,
 * until every partition's leader answers for it (kafka_wait_leaders: a
 * partition created a moment ago could otherwise lose its first messages).
 * A SIGINT/SIGTERM ends the wait
 * within a second. Returns 0, 1 if a signal ended it, or -1 after logging. */
int sender_probe(sender *s, const char *const *topics, size_t ntopics, double timeout_s);

/* Queues one row as a message to f->topic: key = id in decimal, value (len
 * bytes, copied), headers gk-produced-us and gk-source. While the local queue
 * is full it polls and retries. Returns 0 when queued, 1 if *stop was set
 * while waiting (nothing queued), -1 if librdkafka refused the message
 * (recorded as a failed row, reason in err). Also serves the delivery reports
 * that are ready. */
int sender_send(sender *s, producer_file *f, uint32_t row, int64_t id, const char *value,
                size_t len, const atomic_int *stop, char *err, size_t errlen);

/* Serves the delivery reports of f's client that are ready, without waiting. */
void sender_poll(sender *s, const producer_file *f);

/* Returns 1 and a reason in buf if a client hit a fatal error, else 0. */
int sender_fatal(sender *s, char *buf, size_t len);

/* Waits up to timeout_s for every queued message to be delivered or fail,
 * then purges what is left so that each message gets its delivery report.
 * Returns the number of messages still unaccounted for (normally 0). */
long sender_flush(sender *s, double timeout_s);

/* Messages queued or in flight. */
long sender_outstanding(sender *s);

/* Destroys the clients (call after sender_flush). NULL is allowed. */
void sender_destroy(sender *s);

#endif
