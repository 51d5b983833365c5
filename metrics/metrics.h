/* metrics.h - the pipeline's metrics and health: the one list of what the
 * services measure (metrics.c), the hooks they call, and the HTTP endpoint
 * (--metrics-addr) that serves it with /healthz and /readyz.
 *
 * Off unless metrics_start() was given an address: every hook then returns
 * at once, so the services call them unconditionally. Hooks may be called
 * from any thread.
 *
 * Health and readiness, as an orchestrator uses them:
 *   /healthz  the service's loop ticked (metrics_tick) within the last
 *             METRICS_STALE_S seconds: it is alive, not wedged;
 *   /readyz   the service said it is ready (metrics_ready): a consumer once
 *             its partitions are assigned and it has caught up with their
 *             ends, the producer once the cluster answered.
 *
 * Every label set is bounded: topics (those a service was told to use),
 * partitions (those its cluster has), tables (schema/), dead-letter reason
 * classes (SCHEMA_REASON_CLASSES); and every family at most
 * METRIC_MAX_SERIES series in any case (registry.h). */
#ifndef GK_METRICS_H
#define GK_METRICS_H
#include "common/cli.h"

#include <stdbool.h>
#include <stdint.h>

#define METRICS_STALE_S 30 /* /healthz fails when the loop has not ticked for this long */
/* librdkafka's statistics.interval.ms when metrics are on and the user set
 * none: the consumer lag is this fresh. */
#define METRICS_STATS_INTERVAL_MS "5000"

/* The --metrics-addr option of program prog, whose environment twin is env
 * (GK_<PROGRAM>_METRICS_ADDR: each program its own port). */
#define METRICS_CLI_OPT(env_name, t)                                                        \
    {.long_name = "metrics-addr", .env = (env_name), .kind = CLI_STRING, .target = (t),     \
     .metavar = "HOST:PORT", .min = 1, .max = CLI_ANY_LEN,                                  \
     .help = "serve Prometheus /metrics, /healthz and /readyz over HTTP there (a bare PORT: " \
             "127.0.0.1; 0: a free port, logged) (default: off)"}

/* Starts the endpoint for program on addr (NULL: metrics stay off, returns
 * 0). Logs "metrics: serving http://HOST:PORT/metrics ...". Returns 0, or
 * GK_EXIT_USAGE after logging why (a bad address, a port in use). */
int metrics_start(const char *program, const char *addr);

/* Stops the endpoint (at once, whatever its clients do) and frees it all;
 * the hooks are off again. */
void metrics_stop(void);

/* True between metrics_start(addr) and metrics_stop(). */
bool metrics_enabled(void);

/* The loop is alive (for /healthz). */
void metrics_tick(void);

/* Ready or not (for /readyz); why says what it waits for when not. */
void metrics_ready(bool ready, const char *why);

/* Consumers: n data messages of topic committed to the store. */
void metrics_consumed(const char *topic, uint64_t n);

/* Consumers: a store transaction took seconds. */
void metrics_store_commit(double seconds);

/* Consumers: the lag of a partition, from librdkafka's statistics. */
void metrics_consumer_lag(const char *topic, int32_t partition, int64_t lag);

/* Consumers: forgets every partition's lag (its partitions were revoked;
 * the next statistics report those of the new assignment). Called from the
 * thread that serves the consumer's statistics, like metrics_consumer_lag. */
void metrics_consumer_lag_reset(void);

/* Both consumers: n dead letters stored whose reason is of class cls
 * (schema_reason_class). */
void metrics_dead_letters(int cls, uint64_t n);

/* db_consumer: n rows written to table. */
void metrics_rows(const char *table, uint64_t n);

/* producer: one delivery report for topic, delivered or failed. */
void metrics_produced(const char *topic, bool delivered);

/* ack_consumer: one ack produced at acked_us for an event whose latest topic
 * message was produced at latest_us (-1: unknown; the delay is not noted). */
void metrics_ack_sent(int64_t acked_us, int64_t latest_us);

/* ack_consumer: n acks confirmed by the broker and recorded in the state. */
void metrics_acks_confirmed(uint64_t n);

#endif
