/* main.c - db_consumer: writes topic1..3 into tables data1..3 of SQLite or
 * PostgreSQL exactly once (rows, dead letters and offsets in one transaction
 * per batch).
 *
 * The Kafka loop is kafka/consume.c; the database side is a store (store.h;
 * store_sqlite.c, store_pg.c). This file holds the options, the store's
 * place in the loop and the summary line. */
#include "common/cli.h"
#include "common/exitcodes.h"
#include "common/log.h"
#include "common/signals.h"
#include "common/timeutil.h"
#include "db_consumer/store.h"
#include "kafka/consume.h"
#include "kafka/kafka.h"
#include "metrics/metrics.h"
#include "metrics/probe.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DBC_MAX_TOPICS 64
#define DBC_MAX_BATCH 1000000L
#define DBC_MAX_BATCH_WAIT_MS 60000
#define DBC_MAX_CONNECT_TIMEOUT_S 604800 /* a week: any bound worth giving */

typedef struct {
    db_store *store;
    db_stats stats;
    int64_t first_batch_us, last_batch_us; /* span of the work, for the rate */
    int64_t last_commit_wall_us; /* when the work ended, for a clock outside */
} dbc_ctx;

/* consume_store.assign: the database says where each partition stopped. */
static int dbc_assign(void *ctx, const char *cluster_id, consume_partition *parts, size_t n) {
    return db_store_positions(((dbc_ctx *)ctx)->store, cluster_id, parts, n);
}

/* consume_store.commit: one database transaction, timed for the rate. */
static int dbc_commit(void *ctx, const consume_batch *b) {
    dbc_ctx *c = ctx;
    if (!c->first_batch_us) c->first_batch_us = time_mono_us();
    db_stats before = c->stats;
    int rc = db_store_write(c->store, b, &c->stats);
    c->last_batch_us = time_mono_us();
    c->last_commit_wall_us = time_now_us();
    for (size_t i = 0; rc == 0 && i < SCHEMA_N_RECORDS; i++)
        metrics_rows(schema_records[i].table, c->stats.table_rows[i] - before.table_rows[i]);
    for (int i = 0; rc == 0 && i < SCHEMA_REASON_CLASSES; i++)
        metrics_dead_letters(i, c->stats.dead_by_class[i] - before.dead_by_class[i]);
    return rc;
}

/* Splits a comma list of topics into out (strings point into list, which is
 * modified). Returns the count, or -1 after printing why. */
static int dbc_split_topics(char *list, const char **out) {
    int n = 0;
    char *save = NULL;
    for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ') t++;
        if (!*t) continue;
        if (!schema_by_topic(t)) {
            fprintf(stderr, "db_consumer: --topics: no record type for topic '%s'\n", t);
            return -1;
        }
        if (n == DBC_MAX_TOPICS) {
            fprintf(stderr, "db_consumer: --topics: more than %d topics\n", DBC_MAX_TOPICS);
            return -1;
        }
        out[n++] = t;
    }
    if (n == 0) fprintf(stderr, "db_consumer: --topics: no topic given\n");
    return n ? n : -1;
}

typedef struct {
    const char *bootstrap, *log_level, *db, *group, *topics, *sync, *metrics_addr, *probe;
    cli_kv_list kafka;
    long batch, batch_wait, idle_exit, connect_timeout;
} dbc_options;

/* Parses and checks the options. Returns 0, 1 (--help shown) or -1 (usage). */
static int dbc_parse(dbc_options *o, int argc, char **argv, db_sync *sync) {
    static const cli_program prog = {
        "db_consumer", "[options]",
        "Consumes topic1..3 and writes each record into its table (data1..3) of SQLite or\n"
        "PostgreSQL exactly once: rows, dead letters and Kafka offsets are committed in one\n"
        "transaction per batch. Several instances may share a PostgreSQL database.",
        "Exit codes: 0 done or stopped by a signal, 64 usage (also a -X setting librdkafka\n"
        "refuses, or a malformed PostgreSQL conninfo), 68 no such PostgreSQL database, 69 fatal\n"
        "Kafka error, or no answer from the cluster or PostgreSQL within --connect-timeout,\n"
        "73 cannot create the database, 74 storage error (also a database that fails its\n"
        "integrity check at start-up, or a full disk), 76 data lost upstream (retention),\n"
        "77 PostgreSQL refused the login or a privilege, 78 a table disagrees with the schema.\n"};
    const cli_option opts[] = {
        CLI_OPT_BOOTSTRAP(&o->bootstrap),
        CLI_OPT_KAFKA_CONFIG_FILE(&o->kafka),
        CLI_OPT_KAFKA_CONFIG(&o->kafka),
        CLI_OPT_LOG_LEVEL(&o->log_level),
        CLI_OPT_TOPIC_PREFIX(&schema_topic_prefix, schema_topic_prefix_set),
        {.long_name = "db", .env = "GK_DB_CONSUMER_DB", .kind = CLI_STRING, .target = &o->db,
         .metavar = "PATH_OR_URI", .min = 1, .max = CLI_ANY_LEN,
         .help = "SQLite database file, or a PostgreSQL URI (postgresql://...) or key=value "
                 "string (password: PGPASSWORD, PGPASSFILE or a service file)"},
        {.long_name = "group", .env = "GK_DB_CONSUMER_GROUP", .kind = CLI_STRING,
         .target = &o->group, .metavar = "ID", .help = "Kafka consumer group", .min = 1,
         .max = CLI_ANY_LEN},
        {.long_name = "topics", .env = "GK_DB_CONSUMER_TOPICS", .kind = CLI_STRING,
         .target = &o->topics, .metavar = "LIST", .help = "comma-separated topics", .min = 1,
         .max = CLI_ANY_LEN},
        {.long_name = "batch", .env = "GK_DB_CONSUMER_BATCH", .kind = CLI_INT,
         .target = &o->batch, .metavar = "N", .help = "most messages per transaction",
         .min = 1, .max = DBC_MAX_BATCH},
        {.long_name = "batch-wait", .env = "GK_DB_CONSUMER_BATCH_WAIT", .kind = CLI_INT,
         .target = &o->batch_wait, .metavar = "MS", .min = 0, .max = DBC_MAX_BATCH_WAIT_MS,
         .help = "keep a transaction open this long for more messages (0: commit as soon as "
                 "none is waiting)"},
        {.long_name = "sync", .env = "GK_DB_CONSUMER_SYNC", .kind = CLI_STRING,
         .target = &o->sync, .metavar = "MODE",
         .help = "full (survives power loss) or normal (survives a crash; faster)"},
        {.long_name = "idle-exit", .env = "GK_DB_CONSUMER_IDLE_EXIT", .kind = CLI_INT,
         .target = &o->idle_exit, .metavar = "SECONDS", .min = 0, .max = 86400,
         .help = "exit once caught up and idle this long (0: run until signalled)"},
        {.long_name = "connect-timeout", .env = "GK_DB_CONSUMER_CONNECT_TIMEOUT", .kind = CLI_INT,
         .target = &o->connect_timeout, .metavar = "SECONDS", .min = 0,
         .max = DBC_MAX_CONNECT_TIMEOUT_S,
         .help = "give up (exit 69) if the cluster, or PostgreSQL at start-up, has not answered "
                 "by then (0: keep trying until signalled)"},
        METRICS_CLI_OPT("GK_DB_CONSUMER_METRICS_ADDR", &o->metrics_addr),
        METRICS_CLI_PROBE(&o->probe),
        CLI_OPT_END,
    };
    int first = 0;
    int rc = cli_parse(&prog, opts, argc, argv, &first);
    if (rc != 0) return rc;
    if (first < argc) {
        fprintf(stderr, "db_consumer: unexpected argument '%s'\n", argv[first]);
        return -1;
    }
    if (cli_log_init("db_consumer", o->log_level) != 0) return -1;
    if (strcmp(o->sync, "full") == 0) {
        *sync = DB_SYNC_FULL;
    } else if (strcmp(o->sync, "normal") == 0) {
        *sync = DB_SYNC_NORMAL;
    } else {
        fprintf(stderr, "db_consumer: --sync: expected full or normal, got '%s'\n", o->sync);
        return -1;
    }
    /* A Kafka setting librdkafka refuses is a usage error, found before the
     * database is created. */
    return kafka_conf_check(o->bootstrap, &o->kafka);
}

/* seconds is the whole run (group join and idle wait included); the rate is
 * taken over the span from the first batch to the last, which is what the
 * database work costs. last_commit_ms (Unix epoch) dates the end of that
 * work for a clock outside: the idle exit can come well after it. */
static void dbc_summary(const dbc_ctx *c, const consume_stats *cs, double secs) {
    double busy = (double)(c->last_batch_us - c->first_batch_us) / 1e6;
    printf("db_consumer: messages=%" PRIu64 " rows=%" PRIu64 " dead_letters=%" PRIu64
           " batches=%" PRIu64 " seconds=%.3f rows_per_s=%.0f busy_seconds=%.3f"
           " last_commit_ms=%" PRId64 "\n",
           cs->messages, c->stats.rows, c->stats.dead_letters, cs->batches, secs,
           busy > 0 ? (double)c->stats.rows / busy : 0.0, busy, c->last_commit_wall_us / 1000);
    fflush(stdout);
    for (size_t i = 0; i < SCHEMA_N_RECORDS; i++)
        log_info("%s: %" PRIu64 " rows written", schema_records[i].table, c->stats.table_rows[i]);
}

int main(int argc, char **argv) {
    dbc_options o = {.bootstrap = KAFKA_DEFAULT_BOOTSTRAP, .log_level = "info",
                     .db = "genetika.db", .group = "genetika-db",
                     .topics = schema_topic_list(), .sync = "full",
                     .batch = 5000 /* two are in memory at once: async_commit */, .batch_wait = 50, .idle_exit = 0, .connect_timeout = 0};
    db_sync sync = DB_SYNC_FULL;
    int rc = dbc_parse(&o, argc, argv, &sync);
    if (rc == 0 && o.probe) {
        cli_kv_free(&o.kafka);
        return probe_run("db_consumer", o.probe, o.metrics_addr);
    }
    char *topic_list = rc == 0 ? strdup(o.topics) : NULL;
    const char *topics[DBC_MAX_TOPICS];
    int ntopics = topic_list ? dbc_split_topics(topic_list, topics) : -1;
    if (rc != 0 || ntopics < 0) {
        free(topic_list);
        cli_kv_free(&o.kafka);
        return rc == 1 ? GK_EXIT_OK : GK_EXIT_USAGE;
    }
    signals_install();
    if ((rc = metrics_start("db_consumer", o.metrics_addr)) != 0) {
        free(topic_list);
        cli_kv_free(&o.kafka);
        return rc;
    }

    char err[1024], shown[512];
    dbc_ctx ctx = {0};
    rc = db_store_open(o.db, sync, (int)o.connect_timeout, &ctx.store, err, sizeof err);
    if (!ctx.store) {
        if (rc == GK_EXIT_OK) log_info("%s", err); else log_error("%s", err);
        metrics_stop();
        free(topic_list);
        cli_kv_free(&o.kafka);
        return rc;
    }
    db_store_describe(o.db, shown, sizeof shown);
    log_info("database %s (sync %s), group %s, topics %s", shown, o.sync, o.group, o.topics);

    consume_config cfg = {
        .bootstrap = o.bootstrap, .kafka_overrides = &o.kafka, .kafka_defaults = NULL,
        .group_id = o.group, .topics = topics, .ntopics = (size_t)ntopics,
        .max_batch = o.batch, .batch_wait_ms = o.batch_wait, .idle_exit_s = o.idle_exit, .what = "rows",
        .async_commit = true, /* decoding and SQL of one batch beside the polling of the next */
        .connect_timeout_s = o.connect_timeout,
    };
    consume_store store = {.assign = dbc_assign, .commit = dbc_commit};
    consume_stats cs;
    int64_t start = time_mono_us();
    rc = consume_run(&cfg, &store, &ctx, &cs);
    if (rc == GK_EXIT_IOERR && ctx.store->exit_code) rc = ctx.store->exit_code; /* e.g. 77 */
    dbc_summary(&ctx, &cs, (double)(time_mono_us() - start) / 1e6);

    metrics_stop();
    db_store_close(ctx.store);
    free(topic_list);
    cli_kv_free(&o.kafka);
    return rc;
}
