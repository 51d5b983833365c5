/* admin.h - kafka_admin: readiness and topics of a real Kafka cluster,
 * through librdkafka's admin API (the embedded broker creates its own topics).
 *
 * One command per file, around this small core: wait.c (until the cluster
 * answers a metadata request), create.c (topics with partitions and configs,
 * idempotently), describe.c (partition counts and topic configs). Every
 * command works within one deadline (--timeout) and stops early on
 * SIGINT/SIGTERM. */
#ifndef GK_ADMIN_H
#define GK_ADMIN_H
#include "common/cli.h"

#include <librdkafka/rdkafka.h>
#include <stdint.h>

/* Exit statuses beyond common/exitcodes.h's. */
#define ADMIN_EXIT_INTERRUPTED 130 /* a signal stopped the command before it was done */

typedef struct {
    rd_kafka_t *rk;
    const char *bootstrap;
    int64_t deadline_us; /* monotonic: the whole command must end by then */
    long timeout_s;      /* for messages */
    char last_error[512]; /* the latest client error, for a timeout's message */
} admin_client;

/* Connects an admin client (a producer handle, which the admin API uses) to
 * bootstrap with the -X overrides; the deadline starts now. Returns 0, or -1
 * after logging. */
int admin_open(admin_client *a, const char *bootstrap, const cli_kv_list *overrides,
               long timeout_s);

/* Destroys the client (no-op on a zeroed one). */
void admin_close(admin_client *a);

/* Milliseconds left before the deadline (0 when passed). */
int admin_left_ms(const admin_client *a);

/* Fetches metadata (of topic, or of every topic if NULL) that lists at least
 * one broker, retrying until the deadline. Returns 0 and sets *md (free with
 * rd_kafka_metadata_destroy), or an exit code after logging. */
int admin_metadata(admin_client *a, const char *topic, const struct rd_kafka_metadata **md);

/* Waits on q for the result event of an admin request, in short slices so
 * that a signal or the deadline ends the wait. Returns the event (destroy it
 * with rd_kafka_event_destroy) or NULL with *rc set to an exit code. */
rd_kafka_event_t *admin_result(admin_client *a, rd_kafka_queue_t *q, const char *what, int *rc);

/* New admin options for an operation of type op, bounded by the deadline. */
rd_kafka_AdminOptions_t *admin_options(admin_client *a, rd_kafka_admin_op_t op);

/* The configs of topics[0..n) (DescribeConfigs). Returns the result event
 * (destroy it with rd_kafka_event_destroy; *res and *nres point into it),
 * or NULL with *rc set to an exit code after logging. */
rd_kafka_event_t *admin_topic_configs(admin_client *a, char **topics, int n,
                                      const rd_kafka_ConfigResource_t ***res, size_t *nres,
                                      int *rc);

/* Commands. Each prints its result on stdout and returns an exit code. */
int admin_wait(admin_client *a);
int admin_create(admin_client *a, long partitions, long replication,
                 const cli_kv_list *configs, char **topics, int ntopics);
int admin_describe(admin_client *a, char **topics, int ntopics);

#endif
