/* main.c - kafka_admin: what scripts need from a real Kafka's admin API.
 *
 *   kafka_admin wait                  until the cluster answers with a broker
 *   kafka_admin create TOPIC...       topics with --partitions and configs
 *   kafka_admin describe [TOPIC...]   partition counts and topic configs
 *
 * scripts/kafka.sh uses it to tell when the broker it started is ready and to
 * create topic1..3 and ack; run.sh and the tests use it the same way. The
 * embedded broker needs none of it (it creates its topics itself). */
#include "broker/admin/admin.h"

#include "common/cli.h"
#include "common/exitcodes.h"
#include "kafka/kafka.h"
#include "common/log.h"
#include "common/signals.h"

#include <stdio.h>
#include <string.h>

#define ADMIN_MAX_PARTITIONS 10000
#define ADMIN_MAX_TIMEOUT_S 3600

typedef struct {
    const char *bootstrap, *log_level;
    cli_kv_list kafka, topic_config;
    long partitions, replication, timeout;
} admin_options_t;

/* Parses the options; *first is the command's index in argv. Returns 0, 1
 * (--help shown) or -1 (usage, reported). */
static int admin_parse(admin_options_t *o, int argc, char **argv, int *first) {
    static const cli_program prog = {
        "kafka_admin", "[options] wait | create TOPIC... | describe [TOPIC...]",
        "Administers a real Kafka cluster through its admin API:\n"
        "  wait       wait until the cluster answers a metadata request listing a broker\n"
        "             (prints cluster_id=ID brokers=N)\n"
        "  create     create each TOPIC with --partitions and --topic-config; a topic that\n"
        "             exists with the same partitions and configs is fine, one that differs\n"
        "             is an error (prints 'TOPIC created|exists partitions=N' per topic)\n"
        "  describe   print 'TOPIC partitions=N KEY=VALUE...' per topic (configs set on the\n"
        "             topic itself); every non-internal topic if none is named",
        "Exit codes: 0 done, 64 usage (or a config the broker refuses), 66 describe: no such\n"
        "topic, 69 no answer within --timeout, 73 a topic cannot be created or exists with\n"
        "other partitions or configs, 130 interrupted by SIGINT/SIGTERM.\n"};
    const cli_option opts[] = {
        CLI_OPT_BOOTSTRAP(&o->bootstrap),
        CLI_OPT_KAFKA_CONFIG_FILE(&o->kafka),
        CLI_OPT_KAFKA_CONFIG(&o->kafka),
        CLI_OPT_LOG_LEVEL(&o->log_level),
        {.long_name = "partitions", .short_name = 'p', .env = "GK_KAFKA_ADMIN_PARTITIONS",
         .kind = CLI_INT, .target = &o->partitions, .metavar = "N", .min = 1,
         .max = ADMIN_MAX_PARTITIONS, .help = "create: partitions of each topic"},
        {.long_name = "replication-factor", .env = "GK_KAFKA_ADMIN_REPLICATION_FACTOR",
         .kind = CLI_INT, .target = &o->replication, .metavar = "N", .min = 1, .max = 100,
         .also = "-1",
         .help = "create: replicas of each partition (-1: the broker's "
                 "default.replication.factor)"},
        {.long_name = "topic-config", .short_name = 'c', .env = "GK_KAFKA_ADMIN_TOPIC_CONFIG",
         .kind = CLI_KV, .target = &o->topic_config, .metavar = "KEY=VALUE",
         .help = "create: topic config, repeatable, e.g. retention.bytes=1048576 (env: "
                 "';'-separated)"},
        {.long_name = "timeout", .env = "GK_KAFKA_ADMIN_TIMEOUT", .kind = CLI_INT,
         .target = &o->timeout, .metavar = "SECONDS", .min = 1, .max = ADMIN_MAX_TIMEOUT_S,
         .help = "give up (exit 69) if the command has not finished by then"},
        CLI_OPT_END,
    };
    int rc = cli_parse(&prog, opts, argc, argv, first);
    if (rc != 0) return rc;
    if (cli_log_init("kafka_admin", o->log_level) != 0) return -1;
    if (*first >= argc) {
        fprintf(stderr, "kafka_admin: no command (wait, create or describe; try --help)\n");
        return -1;
    }
    return 0;
}

/* Runs the command argv[0] with its arguments. Returns the exit code. */
static int admin_dispatch(admin_client *a, const admin_options_t *o, int argc, char **argv) {
    const char *cmd = argv[0];
    if (strcmp(cmd, "wait") == 0 && argc == 1) return admin_wait(a);
    if (strcmp(cmd, "create") == 0 && argc > 1)
        return admin_create(a, o->partitions, o->replication, &o->topic_config, argv + 1,
                            argc - 1);
    if (strcmp(cmd, "describe") == 0) return admin_describe(a, argv + 1, argc - 1);
    fprintf(stderr, "kafka_admin: %s: expected 'wait', 'create TOPIC...' or "
                    "'describe [TOPIC...]' (try --help)\n", cmd);
    return GK_EXIT_USAGE;
}

int main(int argc, char **argv) {
    admin_options_t o = {.bootstrap = KAFKA_DEFAULT_BOOTSTRAP, .log_level = "info",
                         .partitions = 3, .replication = -1, .timeout = 30};
    int first = 0;
    int rc = admin_parse(&o, argc, argv, &first);
    if (rc != 0) {
        cli_kv_free(&o.kafka);
        cli_kv_free(&o.topic_config);
        return rc == 1 ? GK_EXIT_OK : GK_EXIT_USAGE;
    }
    signals_install();
    admin_client a;
    if (admin_open(&a, o.bootstrap, &o.kafka, o.timeout) != 0) {
        rc = GK_EXIT_USAGE; /* a -X setting librdkafka refused, logged */
    } else {
        rc = admin_dispatch(&a, &o, argc - first, argv + first);
    }
    admin_close(&a);
    cli_kv_free(&o.kafka);
    cli_kv_free(&o.topic_config);
    return rc;
}
