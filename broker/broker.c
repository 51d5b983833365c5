/* broker.c - the embedded Kafka broker for local runs and tests.
 *
 * Runs librdkafka's mock cluster (rdkafka_mock.h) in its own process, creates
 * topic1..3, ack, ack-changelog and ack-dead-letters with the same partition count, prints its
 * bootstrap address as the first line on stdout (and optionally into a file,
 * atomically) and
 * serves until SIGINT/SIGTERM. SIGUSR1 takes every mock broker down and SIGUSR2
 * brings them back, so tests can inject outages from outside.
 *
 * Limits of the mock (librdkafka 2.0.2; see shared notes/embedded-broker.md):
 * - each partition keeps only its newest 5 MiB of record batches (and at most
 *   100,000 batches); older data is silently gone, so clients must compress;
 * - everything is in memory: stopping the broker loses all topics;
 * - fetch long-poll does not wake up on new data, so consumers should use a
 *   small fetch.wait.max.ms for low latency;
 * - a fetch finds its position by walking the partition's retained batches
 *   from the oldest, so the broker's CPU per fetch, and with it the ack
 *   delay, grows as the logs fill (README, "The embedded broker", has the
 *   measurement); it warns when it is that busy;
 * - the port is chosen by the OS; it listens on 127.0.0.1 only. */
#include "common/cli.h"
#include "common/exitcodes.h"
#include "common/log.h"
#include "common/signals.h"
#include "common/timeutil.h"
#include "kafka/kafka.h"
#include "metrics/metrics.h"
#include "metrics/probe.h"
#include "schema/schema.h"

#include <errno.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define BROKER_MAX_PARTITIONS 1000
#define BROKER_MAX_BROKERS 16

/* Set by the SIGUSR1/SIGUSR2 handlers; acted upon in the main loop, because
 * the mock API is not async-signal-safe. */
static volatile sig_atomic_t broker_want_down;
static volatile sig_atomic_t broker_want_up;

static void broker_usr_handler(int sig) {
    if (sig == SIGUSR1) broker_want_down = 1;
    else broker_want_up = 1;
}

/* Installs the fault-injection handlers (SIGUSR1 down, SIGUSR2 up). */
static void broker_install_usr_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = broker_usr_handler;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
}

/* librdkafka logs of the mock's own client instance, routed into log.h. */
static void broker_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    (void)rk;
    log_level l = level <= 3 ? LOG_ERROR : level <= 4 ? LOG_WARN : level <= 6 ? LOG_INFO : LOG_DEBUG;
    log_msg(l, "mock %s: %s", fac, buf);
}

/* Gives the mock cluster an id no earlier start had. librdkafka 2.0's mock
 * names its cluster after its heap address, which repeats from one start to
 * the next wherever the heap does (at every start under AddressSanitizer):
 * stores kept from an earlier broker then took the new one for the same
 * cluster, and ack_consumer kept its acked events instead of starting
 * afresh. The id is the first member of the mock's (internal) cluster
 * struct; it is rewritten only where it reads as the "mockCluster..." id
 * that version writes there, before the address is published, so before any
 * client can ask for it. Returns 0, or -1 (the id left as it was). */
static int broker_unique_cluster_id(rd_kafka_mock_cluster_t *mc) {
    char *id = (char *)mc;
    const size_t size = 32; /* char id[32] in librdkafka 2.0's rdkafka_mock_int.h */
    if (strncmp(id, "mockCluster", 11) != 0 || !memchr(id, '\0', size)) {
        log_warn("the mock cluster's id is not where librdkafka 2.0 keeps it: "
                 "left as it is (a kept store may take this broker for an earlier one)");
        return -1;
    }
    uint64_t r;
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
        r = (uint64_t)time_mono_us() ^ ((uint64_t)getpid() << 40) ^ (uint64_t)time(NULL);
    snprintf(id, size, "mockCluster%016" PRIx64, r);
    log_info("cluster id %s", id);
    return 0;
}

/* Creates the rd_kafka_t that hosts the mock cluster, with the user's -X
 * settings last (-X debug=mock shows the mock's own log). It has no
 * bootstrap servers and never connects anywhere itself; its logs are kept
 * quiet unless the level is debug, because it would otherwise complain about
 * having none. Returns NULL after logging why (kafka_failure_exit: 64 for a
 * setting librdkafka refuses). */
static rd_kafka_t *broker_host_new(const cli_kv_list *overrides) {
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *lvl = log_get_level() >= LOG_DEBUG ? "7" : "0";
    if (rd_kafka_conf_set(conf, "log_level", lvl, err, sizeof err) != RD_KAFKA_CONF_OK) {
        log_error("kafka config log_level=%s: %s", lvl, err);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    if (kafka_conf_apply(conf, overrides) != 0) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_log_cb(conf, broker_log_cb);
    return kafka_new(RD_KAFKA_PRODUCER, conf);
}

/* Creates the data topics, the ack topic and ack_consumer's changelog and
 * dead-letter topics (--mode scalable) with n partitions each. Returns 0 or
 * -1. */
static int broker_create_topics(rd_kafka_mock_cluster_t *mc, int partitions) {
    const char *topics[SCHEMA_N_RECORDS + 3];
    for (int i = 0; i < SCHEMA_N_RECORDS; i++) topics[i] = schema_records[i].topic;
    topics[SCHEMA_N_RECORDS] = SCHEMA_ACK_TOPIC;
    topics[SCHEMA_N_RECORDS + 1] = SCHEMA_ACK_CHANGELOG_TOPIC;
    topics[SCHEMA_N_RECORDS + 2] = SCHEMA_ACK_DEAD_LETTER_TOPIC;
    for (int i = 0; i <= SCHEMA_N_RECORDS + 2; i++) {
        rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, topics[i], partitions, 1);
        if (e) {
            log_error("cannot create topic %s: %s", topics[i], rd_kafka_err2str(e));
            return -1;
        }
    }
    return 0;
}

/* Writes the address to path through a temp file and rename(), so a reader
 * polling for the file never sees it half written. Returns 0 or -1. */
static int broker_write_address(const char *path, const char *addr) {
    size_t n = strlen(path) + 32;
    char *tmp = malloc(n);
    if (!tmp) return -1;
    snprintf(tmp, n, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    int rc = -1, bad = 1;
    if (f) {
        bad = fprintf(f, "%s\n", addr) < 0;
        if (fclose(f) != 0) bad = 1; /* always close, even after a failed write */
    }
    if (bad) {
        log_error("cannot write %s: %s", tmp, strerror(errno));
        if (f) unlink(tmp);
    } else if (rename(tmp, path) != 0) {
        log_error("cannot rename %s to %s: %s", tmp, path, strerror(errno));
        unlink(tmp);
    } else {
        rc = 0;
    }
    free(tmp);
    return rc;
}

/* Takes every broker down (up == 0) or brings them up (up == 1). Each broker
 * id is addressed on its own: -1 ("all") is not honoured by every version. */
static void broker_set_all(rd_kafka_mock_cluster_t *mc, int nbrokers, int up) {
    for (int id = 1; id <= nbrokers; id++) {
        rd_kafka_resp_err_t e =
            up ? rd_kafka_mock_broker_set_up(mc, id) : rd_kafka_mock_broker_set_down(mc, id);
        if (e) log_error("broker %d set %s: %s", id, up ? "up" : "down", rd_kafka_err2str(e));
    }
    log_info("fault injection: all %d broker(s) %s", nbrokers, up ? "UP" : "DOWN");
}

#define BROKER_BUSY_WINDOW_US 10000000 /* CPU use is judged over 10 s */
#define BROKER_BUSY_SHARE 0.8          /* of one core: the mock serves from one thread */
#define BROKER_BUSY_REPEAT_US 60000000 /* warn again at most once a minute */

/* The current load window: its start on the monotonic and CPU clocks (us),
 * and when the last warning was given (0: never). */
typedef struct {
    int64_t wall, cpu, warned;
} broker_load;

/* Warns (at most every BROKER_BUSY_REPEAT_US) when the broker used more than
 * BROKER_BUSY_SHARE of a core over the last window: from there on the mock's
 * linear log lookups, not the clients, set latency and throughput. */
static void broker_watch_load(broker_load *w) {
    int64_t now = time_mono_us();
    if (now - w->wall < BROKER_BUSY_WINDOW_US) return;
    int64_t cpu = time_cpu_us();
    double share = (double)(cpu - w->cpu) / (double)(now - w->wall);
    if (share >= BROKER_BUSY_SHARE && (w->warned == 0 || now - w->warned >= BROKER_BUSY_REPEAT_US)) {
        log_warn("busy: %.0f%% of a core over the last %.0f s. The mock finds each fetch's "
                 "position by walking a partition's retained batches (up to 5 MiB) from the "
                 "oldest, so it slows as its logs fill and latency grows from here; for a "
                 "sustained stream use a real Kafka (docker compose up)",
                 share * 100, (double)(now - w->wall) / 1e6);
        w->warned = now;
    }
    w->wall = now;
    w->cpu = cpu;
}

/* Serves until the first SIGINT/SIGTERM, acting on SIGUSR1/SIGUSR2. */
static void broker_serve(rd_kafka_mock_cluster_t *mc, int nbrokers) {
    broker_load load = {time_mono_us(), time_cpu_us(), 0};
    while (signals_run) {
        metrics_tick();
        broker_watch_load(&load);
        if (broker_want_down) {
            broker_want_down = 0;
            broker_set_all(mc, nbrokers, 0);
            metrics_ready(false, "brokers taken down (SIGUSR1)");
        }
        if (broker_want_up) {
            broker_want_up = 0;
            broker_set_all(mc, nbrokers, 1);
            metrics_ready(true, NULL);
        }
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL); /* a signal cuts it short */
    }
}

int main(int argc, char **argv) {
    long partitions = 3, nbrokers = 1;
    const char *address_file = NULL, *level_name = "info", *metrics_addr = NULL, *probe = NULL;
    cli_kv_list kconf = {0}; /* -F/-X: the hosting client's librdkafka settings */
    const cli_option opts[] = {
        {.long_name = "partitions", .short_name = 'p', .env = "GK_BROKER_PARTITIONS",
         .kind = CLI_INT, .target = &partitions, .metavar = "N", .min = 1,
         .max = BROKER_MAX_PARTITIONS, .help = "partitions of topic1, topic2, topic3, ack, ack-changelog and ack-dead-letters"},
        {.long_name = "brokers", .env = "GK_BROKER_BROKERS", .kind = CLI_INT,
         .target = &nbrokers, .metavar = "N", .min = 1, .max = BROKER_MAX_BROKERS,
         .help = "number of mock brokers"},
        {.long_name = "address-file", .env = "GK_BROKER_ADDRESS_FILE", .kind = CLI_STRING,
         .target = &address_file, .metavar = "PATH", .min = 1, .max = CLI_ANY_LEN,
         .help = "also write the bootstrap address to PATH (atomically)"},
        CLI_OPT_KAFKA_CONFIG_FILE(&kconf),
        CLI_OPT_KAFKA_CONFIG(&kconf),
        CLI_OPT_LOG_LEVEL(&level_name),
        CLI_OPT_TOPIC_PREFIX(&schema_topic_prefix, schema_topic_prefix_set),
        METRICS_CLI_OPT("GK_BROKER_METRICS_ADDR", &metrics_addr),
        METRICS_CLI_PROBE(&probe),
        CLI_OPT_END,
    };
    const cli_program prog = {
        "broker", "[options]",
        "Embedded Kafka broker for local runs and tests (librdkafka mock cluster, in memory,\n"
        "127.0.0.1 only). Prints its bootstrap address as the first line on stdout.\n"
        "SIGUSR1 takes all brokers down, SIGUSR2 brings them back, SIGINT/SIGTERM stop it.\n"
        "-F/-X configure the librdkafka client that hosts the cluster (-X debug=mock: the\n"
        "mock's own log, at --log-level debug).",
        "Exit codes: 0 stopped by signal, 64 usage (also a -X setting librdkafka refuses),\n"
        "69 cannot start the cluster.\n"};
    int first = 0, rc = cli_parse(&prog, opts, argc, argv, &first);
    if (rc) return rc > 0 ? GK_EXIT_OK : GK_EXIT_USAGE;
    if (cli_log_init("broker", level_name) != 0) return GK_EXIT_USAGE;
    if (first < argc) {
        fprintf(stderr, "broker: unexpected argument '%s'\n", argv[first]);
        return GK_EXIT_USAGE;
    }
    if (probe) return probe_run("broker", probe, metrics_addr);
    /* A setting librdkafka refuses is a usage error, said before anything starts. */
    rd_kafka_conf_t *check = rd_kafka_conf_new();
    rc = kafka_conf_apply(check, &kconf);
    rd_kafka_conf_destroy(check);
    if (rc != 0) {
        cli_kv_free(&kconf);
        return GK_EXIT_USAGE;
    }
    signals_install();
    broker_install_usr_signals();
    if ((rc = metrics_start("broker", metrics_addr)) != 0) {
        cli_kv_free(&kconf);
        return rc;
    }

    rd_kafka_t *rk = broker_host_new(&kconf);
    cli_kv_free(&kconf);
    if (!rk) {
        metrics_stop();
        return kafka_failure_exit() == GK_EXIT_USAGE ? GK_EXIT_USAGE : GK_EXIT_UNAVAILABLE;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, (int)nbrokers);
    if (!mc) {
        log_error("cannot create the mock cluster");
        rd_kafka_destroy(rk);
        metrics_stop();
        return GK_EXIT_UNAVAILABLE;
    }
    broker_unique_cluster_id(mc);
    int exit_code = GK_EXIT_OK;
    const char *addr = rd_kafka_mock_cluster_bootstraps(mc);
    if (broker_create_topics(mc, (int)partitions) != 0 ||
        (address_file && broker_write_address(address_file, addr) != 0)) {
        exit_code = GK_EXIT_UNAVAILABLE;
    } else {
        printf("%s\n", addr);
        fflush(stdout);
        log_info("listening on %s: %ld broker(s), topics %s,%s,%s,%s with %ld partition(s)",
                 addr, nbrokers, schema_topic_list(), SCHEMA_ACK_TOPIC, SCHEMA_ACK_CHANGELOG_TOPIC,
                 SCHEMA_ACK_DEAD_LETTER_TOPIC, partitions);
        metrics_ready(true, NULL);
        broker_serve(mc, (int)nbrokers);
        log_info("stopping (signal %d)", signals_received());
    }
    metrics_stop();
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    if (address_file && exit_code == GK_EXIT_OK) unlink(address_file);
    return exit_code;
}
