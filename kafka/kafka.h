/* kafka.h - the librdkafka helpers every Kafka client of the pipeline shares.
 *
 * kafka_conf_new() builds a configuration in three layers: the service's tuned
 * defaults, then the user's -X key=value pass-through (which always wins), with
 * bootstrap.servers from --bootstrap/KAFKA_BOOTSTRAP. A configuration librdkafka
 * refuses is the user's to fix: a usage error (kafka_failure_exit). librdkafka's
 * own log and error callbacks are routed into log.h, and the last error they
 * report is kept for the lines that say why the cluster does not answer.
 *
 * Waiting for the cluster (kafka_wait): librdkafka's blocking calls ignore
 * signals, so every wait is made of short calls between which a signal is
 * noticed, says every KAFKA_WAIT_WARN_S seconds that it is still waiting (for
 * what, on which bootstrap servers, and the last error), and gives up at its
 * bound if it has one. kafka_consumer_close() is the same for closing a
 * consumer, which otherwise waits for a dead or frozen broker for minutes. */
#ifndef GK_KAFKA_H
#define GK_KAFKA_H
#include "common/cli.h"
#include "common/log.h"
#include "kafka/store.h"

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>
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

/* Sets every -X override in conf (the last layer of kafka_conf_new, for a
 * client built without it: the embedded broker's host). Returns 0, or -1
 * after logging each setting librdkafka refuses (kafka_failure_exit then
 * says GK_EXIT_USAGE). */
int kafka_conf_apply(rd_kafka_conf_t *conf, const cli_kv_list *overrides);

/* Checks bootstrap and the -X overrides as every client will apply them, so
 * that a key or value librdkafka refuses stops a program at its option
 * parsing, before it creates anything. Returns 0, or -1 after logging the
 * offending setting (the caller exits GK_EXIT_USAGE). */
int kafka_conf_check(const char *bootstrap, const cli_kv_list *overrides);

/* Creates a client of the given type from conf (which it takes over) and logs
 * the error on failure. */
rd_kafka_t *kafka_new(rd_kafka_type_t type, rd_kafka_conf_t *conf);

/* Why the last kafka_conf_new() or kafka_new() of this thread returned NULL,
 * as an exit code: GK_EXIT_USAGE when librdkafka refused the configuration
 * (an unknown key, a bad value, settings that contradict each other - the
 * user's to fix, whichever client a program happens to create first),
 * GK_EXIT_SOFTWARE otherwise. Per thread, like rd_kafka_last_error(). */
int kafka_failure_exit(void);

/* Copies the last error librdkafka reported for any client of this process
 * (a connection refused, a request timed out...) into buf and returns how
 * many microseconds ago it came, or -1 (buf "") if none came yet. */
int64_t kafka_last_error(char *buf, size_t len);

/* ------------------------------------------------------------------------ */
/* Waiting for the cluster                                                   */
/* ------------------------------------------------------------------------ */

#define KAFKA_WAIT_SLICE_MS 500 /* one blocking call at most: a signal is seen this soon */
#define KAFKA_WAIT_WARN_S 10    /* a WARN line this often while no answer comes */

/* kafka_wait_again's answers besides 0 (try again). */
#define KAFKA_WAIT_STOPPED (-1) /* a signal asked to stop */
#define KAFKA_WAIT_EXPIRED (-2) /* the bound has passed */

typedef struct {
    rd_kafka_t *rk;
    const char *what;   /* what is awaited, for the log: "the cluster id" */
    long bound_ms;      /* give up after this long; 0: never */
    int warn;           /* 0: silent (a short wait with a fallback) */
    int64_t start_us, next_warn_us, last_us;
} kafka_wait;

/* Starts a wait of rk for what (a static string), bounded by bound_ms (0:
 * none), saying every KAFKA_WAIT_WARN_S seconds that it goes on if warn. */
void kafka_wait_begin(kafka_wait *w, rd_kafka_t *rk, const char *what, long bound_ms, int warn);

/* The timeout for the next blocking call of the wait: KAFKA_WAIT_SLICE_MS,
 * or less when the bound is nearer. Calls that send a request each time
 * (metadata, offsets) pass at least min_ms, so that a slow broker can still
 * answer one of them. */
int kafka_wait_slice(const kafka_wait *w, int min_ms);

/* Called after a call of the wait got no answer (err: its error, or NULL).
 * Returns 0 to try again, KAFKA_WAIT_STOPPED when a signal asks to stop, or
 * KAFKA_WAIT_EXPIRED once the bound has passed; meanwhile logs, every
 * KAFKA_WAIT_WARN_S seconds, "kafka: no answer from BOOTSTRAP for N s while
 * waiting for WHAT (last error: ...); still trying". */
int kafka_wait_again(kafka_wait *w, const char *err);

/* Logs one line about the wait at level: "kafka: no answer from BOOTSTRAP
 * for N s while waiting for WHAT (last error: E); TAIL". */
void kafka_wait_log(const kafka_wait *w, log_level level, const char *err, const char *tail);

/* The end offset of every partition of list (their offsets are overwritten
 * with it, and each element's err set), asked in one ListOffsets request per
 * leader - not one per partition, each of which would queue behind the
 * consumer's own fetch wait on the connection. The end is what rk's
 * isolation.level sees (the last stable offset for read_committed). Retries
 * within bound_ms; returns the last call's error (RD_KAFKA_RESP_ERR__TIMED_OUT
 * if stopped by a signal). */
rd_kafka_resp_err_t kafka_end_offsets(rd_kafka_t *rk, rd_kafka_topic_partition_list_t *list,
                                      long bound_ms);

/* rd_kafka_query_watermark_offsets in a wait of at most bound_ms (calls of
 * at least 2 s each, a signal ends it early): returns the last call's error
 * (RD_KAFKA_RESP_ERR__TIMED_OUT if stopped by a signal). */
rd_kafka_resp_err_t kafka_watermarks(rd_kafka_t *rk, const char *topic, int32_t partition,
                                     int64_t *low, int64_t *high, long bound_ms);

/* Waits until the leader of every partition of topic t (one topic of a
 * metadata answer) answers a ListOffsets request for it, until deadline_us
 * (monotonic) or a signal; a producer calls it before its first write to t.
 * Why: a broker can name itself leader of a partition created a moment ago
 * before it hosts it. An idempotent producer's first request to it then
 * fails (retriable) while its next one, already in flight, is appended; Kafka
 * before 4.5 (KAFKA-15591) accepts any first sequence from a producer it has
 * no state for, so the retry of the first can never fill the gap, and
 * librdkafka 2.0.2 reports its messages delivered. A ListOffsets request
 * fails the same way until the partition is hosted. Logs a leader that took
 * KAFKA_LEADER_SAY_MS or more, and warns about one that did not answer in
 * time (the caller may go on: it is no worse than not waiting). Returns
 * RD_KAFKA_RESP_ERR_NO_ERROR, that partition's error, or
 * RD_KAFKA_RESP_ERR__TIMED_OUT on a signal (signals_run is then 0). */
rd_kafka_resp_err_t kafka_wait_leaders(rd_kafka_t *rk, const rd_kafka_metadata_topic_t *t,
                                       int64_t deadline_us);

/* Closes consumer rk and destroys it, in at most twice timeout_ms whatever
 * the cluster does: the close (revoke, final commit, leaving the group) is
 * served on a queue of our own - a rebalance is handed to rebalance (opaque:
 * the client's; NULL: just unassign) as in rd_kafka_consumer_close - and a
 * consumer not closed by the deadline is destroyed without closing (its
 * group notices when its session expires; what it consumed is in its store),
 * in a thread left to the end of the process if that too takes longer than
 * timeout_ms. name is for the log. */
typedef void kafka_rebalance_fn(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                                rd_kafka_topic_partition_list_t *parts, void *opaque);
void kafka_consumer_close(rd_kafka_t *rk, int timeout_ms, kafka_rebalance_fn *rebalance,
                          const char *name);

/* Reads a decimal int64 header; returns 0 and sets *out, or -1 if absent/invalid. */
int kafka_header_int64(const rd_kafka_message_t *m, const char *name, int64_t *out);

/* Returns the message's timestamp in ms (CreateTime/LogAppendTime) or -1. */
int64_t kafka_msg_timestamp_ms(const rd_kafka_message_t *m);

/* The plain form of a consumed message (store.h); its pointers borrow from m.
 * The gk-produced-us header is parsed only if with_produced_us (it costs an
 * allocation per message in librdkafka); otherwise produced_us is -1. */
msg_view kafka_msg_view(const rd_kafka_message_t *m, bool with_produced_us);

#endif
