/* main.c - console: one read-only page that shows the pipeline while it runs.
 *
 * The page (www/: HTML, JS and CSS, no build step, no external asset) polls
 * this program's JSON API. Two threads share one snapshot:
 *   - this thread collects: every --refresh seconds the topics and their
 *     offsets, the consumer groups' committed offsets and lags, and the
 *     database's rows, dead letters and stored offsets (cluster.h, dbview.h);
 *     in between it reads the ack topic as it grows (acks.h) and the latest
 *     messages of the topics the page asked for (peek.h). Every broker call
 *     has a timeout, every list a cap.
 *   - libmicrohttpd's thread answers requests from the last snapshot only
 *     (web.c), so a slow broker or database never holds a request.
 * SIGINT/SIGTERM stop both within about half a second (2 s at most while a
 * call to the cluster or a database query is under way). */
#include "common/cli.h"
#include "common/exitcodes.h"
#include "common/log.h"
#include "common/signals.h"
#include "common/timeutil.h"
#include "console/acks.h"
#include "console/cluster.h"
#include "console/dbview.h"
#include "console/peek.h"
#include "console/web.h"
#include "kafka/kafka.h"
#include "schema/schema.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONSOLE_SHOW_BAD 20        /* unreadable acks logged in full */
#define CONSOLE_ACK_SLICE_MS 200   /* longest stretch of ack reading between other work */

typedef struct {
    const char *bootstrap;
    cli_kv_list kafka;
    const char *level;
    const char *addr;
    const char *www;
    const char *db;
    const char *groups;
    const char *ack_topic;
    long messages;
    long max_topics;
    double refresh;
    long timeout;
} console_opts;

/* Read-only, group-less readers: the group id only satisfies
 * rd_kafka_assign(); nothing joins a group or commits. */
static const kafka_default console_kafka_defaults[] = {
    {"client.id", "console"},
    {"group.id", "gk-console"},
    {"enable.auto.commit", "false"},
    {"enable.auto.offset.store", "false"},
    {"enable.partition.eof", "true"},
    {"isolation.level", "read_committed"},
    {"auto.offset.reset", "earliest"},
    {"fetch.wait.max.ms", "100"},
    {NULL, NULL},
};

/* Where the page's files are when --www is not given: installed beside the
 * program (PREFIX/share/genetika/console/www), else the source tree's. */
static const char *console_default_www(char *buf, size_t len) {
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            snprintf(buf, len, "%s/../share/genetika/console/www", exe);
            struct stat st;
            if (stat(buf, &st) == 0 && S_ISDIR(st.st_mode)) return buf;
        }
    }
    return GK_CONSOLE_SOURCE_WWW;
}

/* Parses and checks the options. Returns 0, 1 (--help) or -1 (usage error). */
static int console_options(console_opts *o, int argc, char **argv) {
    const cli_option opts[] = {
        CLI_OPT_BOOTSTRAP(&o->bootstrap),
        CLI_OPT_KAFKA_CONFIG_FILE(&o->kafka),
        CLI_OPT_KAFKA_CONFIG(&o->kafka),
        CLI_OPT_LOG_LEVEL(&o->level),
        CLI_OPT_TOPIC_PREFIX(&schema_topic_prefix, schema_topic_prefix_set),
        {.long_name = "addr", .env = "GK_CONSOLE_ADDR", .kind = CLI_STRING, .target = &o->addr,
         .metavar = "HOST:PORT", .min = 1, .max = CLI_ANY_LEN,
         .help = "serve the page there (a bare PORT: 127.0.0.1; 0: a free port, logged)"},
        {.long_name = "www", .env = "GK_CONSOLE_WWW", .kind = CLI_STRING, .target = &o->www,
         .metavar = "DIR", .min = 1, .max = CLI_ANY_LEN,
         .help = "the page's files (default: installed beside the program, else the source "
                 "tree's console/www)"},
        {.long_name = "db", .env = "GK_CONSOLE_DB", .kind = CLI_STRING, .target = &o->db,
         .metavar = "PATH_OR_URI",
         .help = "db_consumer's database, read-only: a SQLite file, or a PostgreSQL URI "
                 "(postgresql://...) or key=value string (password: PGPASSWORD, PGPASSFILE or a "
                 "service file) (\"\": none)"},
        {.long_name = "groups", .env = "GK_CONSOLE_GROUPS", .kind = CLI_STRING,
         .target = &o->groups, .metavar = "LIST",
         .help = "consumer groups always shown, comma-separated (those the cluster lists are "
                 "added)"},
        {.long_name = "ack-topic", .env = "GK_CONSOLE_ACK_TOPIC", .kind = CLI_STRING,
         .target = &o->ack_topic, .metavar = "TOPIC", .min = 1, .max = CLI_ANY_LEN,
         .help = "the topic the ack delay is measured from"},
        {.long_name = "messages", .env = "GK_CONSOLE_MESSAGES", .kind = CLI_INT,
         .target = &o->messages, .metavar = "N", .min = 1, .max = 200,
         .help = "latest messages shown of a topic"},
        {.long_name = "max-topics", .env = "GK_CONSOLE_MAX_TOPICS", .kind = CLI_INT,
         .target = &o->max_topics, .metavar = "N", .min = 1, .max = 1000,
         .help = "most topics shown (by name)"},
        {.long_name = "refresh", .env = "GK_CONSOLE_REFRESH", .kind = CLI_DOUBLE,
         .target = &o->refresh, .metavar = "SECONDS", .min = 0.2, .max = 3600,
         .help = "how often offsets, groups and the database are read again"},
        {.long_name = "timeout", .env = "GK_CONSOLE_TIMEOUT", .kind = CLI_INT,
         .target = &o->timeout, .metavar = "SECONDS", .min = 1, .max = 60,
         .help = "longest wait for one answer of the cluster"},
        CLI_OPT_END,
    };
    const cli_program prog = {
        "console", "[options]",
        "Serves one read-only page (http://127.0.0.1:8080/ by default) that shows the pipeline\n"
        "live: topics and partitions with their offsets, each consumer group's lag (and\n"
        "db_consumer's position as its database stores it), the latest messages of a topic\n"
        "(value, key, headers), rows per table, dead letters with their reasons, and the ack\n"
        "delay histogram with p50/p99 (read from the ack topic). Anyone who can reach the\n"
        "address sees the messages' values: keep it on 127.0.0.1 unless that is wanted.",
        "Exit status: 0 stopped by SIGINT/SIGTERM, 64 usage error (a bad option or -X setting,\n"
        "an address that cannot be listened on), 70 internal error (no Kafka client).\n"
        "A cluster or database that does not answer is shown on the page, not an exit.\n"};
    int first = 0;
    int rc = cli_parse(&prog, opts, argc, argv, &first);
    if (rc != 0) return rc;
    if (first < argc) {
        fprintf(stderr, "console: unexpected argument '%s'\n", argv[first]);
        return -1;
    }
    char why[256];
    if (schema_topic_name_check(o->ack_topic, why, sizeof why) != 0) {
        fprintf(stderr, "console: --ack-topic: %s\n", why);
        return -1;
    }
    return 0;
}

/* The ack topic reader: its partitions and the next offset of each. */
typedef struct {
    rd_kafka_t *rk;
    const char *topic;
    int partitions; /* assigned, 0 before the topic was seen */
    int64_t next[CLUSTER_PARTITIONS_MAX];
    acks_state st;
} console_acks;

/* (Re)assigns the ack topic's partitions when their number changed, each
 * from where it was read to (new ones from the beginning). */
static void console_acks_assign(console_acks *a, const json_t *topics) {
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(topics, "topics"), i, t) {
        if (strcmp(json_string_value(json_object_get(t, "name")), a->topic) != 0) continue;
        int n = (int)json_array_size(json_object_get(t, "partitions"));
        if (n == a->partitions || n == 0) return;
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(n);
        for (int p = 0; p < n; p++)
            rd_kafka_topic_partition_list_add(l, a->topic, p)->offset =
                p < a->partitions ? a->next[p] : RD_KAFKA_OFFSET_BEGINNING;
        rd_kafka_resp_err_t err = rd_kafka_assign(a->rk, l);
        rd_kafka_topic_partition_list_destroy(l);
        if (err) {
            log_warn("%s: cannot read its partitions: %s", a->topic, rd_kafka_err2str(err));
            return;
        }
        for (int p = a->partitions; p < n; p++) a->next[p] = RD_KAFKA_OFFSET_BEGINNING;
        log_info("reading the ack delay from %s (%d partitions)", a->topic, n);
        a->partitions = n;
        return;
    }
}

/* Reads acks for at most CONSOLE_ACK_SLICE_MS. Returns 1 if any was read. */
static int console_acks_read(console_acks *a) {
    int64_t end = time_mono_us() + CONSOLE_ACK_SLICE_MS * 1000LL;
    int any = 0;
    if (!a->partitions) { /* no ack topic yet: wait the slice, do not spin */
        rd_kafka_message_t *m = rd_kafka_consumer_poll(a->rk, CONSOLE_ACK_SLICE_MS);
        if (m) rd_kafka_message_destroy(m);
        return 0;
    }
    while (signals_run && time_mono_us() < end) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(a->rk, 50);
        if (!m) continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            rd_kafka_message_destroy(m);
            return any; /* caught up on one partition: give the others' work a turn */
        }
        if (m->err) {
            log_warn("%s: %s", a->topic, rd_kafka_message_errstr(m));
        } else if (m->partition >= 0 && m->partition < CLUSTER_PARTITIONS_MAX) {
            a->next[m->partition] = m->offset + 1;
            rd_kafka_headers_t *h = NULL;
            const void *hv = NULL;
            size_t hl = 0;
            if (rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR ||
                rd_kafka_header_get_last(h, KAFKA_HDR_PRODUCED_US, &hv, &hl) != RD_KAFKA_RESP_ERR_NO_ERROR)
                hv = NULL, hl = 0;
            char err[512];
            if (acks_add(&a->st, m->key, m->key_len, m->payload, m->len, hv, hl,
                         kafka_msg_timestamp_ms(m), err, sizeof err) != 0 &&
                a->st.bad <= CONSOLE_SHOW_BAD)
                log_warn("%s[%" PRId32 "] offset %" PRId64 ": %s", a->topic, m->partition,
                         m->offset, err);
            any = 1;
        }
        rd_kafka_message_destroy(m);
    }
    return any;
}

/* db_consumer's position as its database stores it, as a group of its own. */
static json_t *console_db_group(const json_t *dbj, const json_t *topics) {
    json_t *parts = json_array();
    size_t i;
    json_t *o;
    json_array_foreach(json_object_get(dbj, "offsets"), i, o) {
        const char *t = json_string_value(json_object_get(o, "topic"));
        int p = (int)json_integer_value(json_object_get(o, "partition"));
        json_int_t next = json_integer_value(json_object_get(o, "next_offset"));
        long long high = cluster_high(topics, t ? t : "", p);
        json_array_append_new(parts, json_pack("{s:s,s:i,s:I,s:I,s:o}", "topic", t ? t : "",
                                               "partition", p, "committed", next, "high",
                                               (json_int_t)high, "lag",
                                               high >= 0 ? json_integer((json_int_t)(high - next))
                                                         : json_null()));
    }
    return json_pack("{s:s,s:s,s:n,s:o}", "group", "db_consumer (database)", "source",
                     "offsets stored in the database (kafka_offsets): where db_consumer resumes",
                     "state", "partitions", parts);
}

int main(int argc, char **argv) {
    char wwwbuf[4200];
    console_opts o = {.bootstrap = KAFKA_DEFAULT_BOOTSTRAP, .level = "info",
                      .addr = "127.0.0.1:8080", .db = "genetika.db",
                      .groups = "genetika-db,genetika-ack", .ack_topic = NULL, .messages = 20,
                      .max_topics = 100, .refresh = 2, .timeout = 5};
    log_init("console", LOG_INFO);
    o.ack_topic = SCHEMA_ACK_TOPIC;
    int prc = console_options(&o, argc, argv);
    if (prc != 0) {
        cli_kv_free(&o.kafka);
        return prc > 0 ? GK_EXIT_OK : GK_EXIT_USAGE;
    }
    if (!o.www) o.www = console_default_www(wwwbuf, sizeof wwwbuf);
    if (cli_log_init("console", o.level) != 0 || kafka_conf_check(o.bootstrap, &o.kafka) != 0) {
        cli_kv_free(&o.kafka);
        return GK_EXIT_USAGE;
    }
    char err[512];
    dbview *db = NULL;
    if (o.db && *o.db && !(db = dbview_new(o.db, err, sizeof err))) {
        fprintf(stderr, "console: --db: %s\n", err);
        cli_kv_free(&o.kafka);
        return GK_EXIT_USAGE;
    }
    signals_install();
    /* The address first: a port in use is a usage error said in one line,
     * before any Kafka client starts logging. */
    web *w = web_start(o.addr, o.www, o.refresh, err, sizeof err);
    if (!w) {
        log_error("--addr: %s", err);
        dbview_free(db);
        cli_kv_free(&o.kafka);
        return GK_EXIT_USAGE;
    }
    rd_kafka_conf_t *c1 = kafka_conf_new(o.bootstrap, console_kafka_defaults, &o.kafka);
    rd_kafka_conf_t *c2 = c1 ? kafka_conf_new(o.bootstrap, console_kafka_defaults, &o.kafka) : NULL;
    rd_kafka_t *rk = c2 ? kafka_new(RD_KAFKA_CONSUMER, c1) : NULL;
    console_acks acks = {.rk = rk ? kafka_new(RD_KAFKA_CONSUMER, c2) : NULL,
                         .topic = o.ack_topic};
    if (!rk || !acks.rk) {
        int code = kafka_failure_exit();
        if (c1 && !c2) rd_kafka_conf_destroy(c1);
        if (c2 && !rk) rd_kafka_conf_destroy(c2);
        if (rk) rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
        web_stop(w);
        dbview_free(db);
        cli_kv_free(&o.kafka);
        return code;
    }
    acks_init(&acks.st);
    log_info("serving http://%s/ (read-only; page files from %s; Kafka at %s)", web_address(w),
             o.www, o.bootstrap);
    int timeout_ms = (int)o.timeout * 1000;
    int64_t next_refresh = 0;
    json_t *topics = NULL;
    while (signals_run) {
        console_acks_read(&acks);
        if (time_mono_us() >= next_refresh) {
            {
                json_t *t = cluster_topics(rk, (int)o.max_topics, timeout_ms);
                if (t) json_decref(topics), topics = t;
                next_refresh = time_mono_us() + (int64_t)(o.refresh * 1e6);
                if (!signals_run || !topics) break;
                console_acks_assign(&acks, topics);
                /* Known since the metadata answer: a short wait suffices. */
                char *cid = rd_kafka_clusterid(rk, 1000);
                /* No metadata, no cluster to ask about groups this time. */
                json_t *groups = json_is_null(json_object_get(topics, "error"))
                                     ? cluster_groups(rk, o.groups, topics, 32, timeout_ms)
                                     : json_array();
                json_t *dbj = db ? dbview_read(db, cid) : NULL;
                if (groups && dbj && json_is_null(json_object_get(dbj, "error")))
                    json_array_insert_new(groups, 0, console_db_group(dbj, topics));
                json_t *state = json_pack(
                    "{s:I,s:s,s:o,s:O,s:o,s:o,s:o,s:f,s:i}", "generated_ms",
                    (json_int_t)(time_now_us() / 1000), "bootstrap", o.bootstrap, "cluster_id",
                    cid ? json_string(cid) : json_null(), "topics", topics, "groups",
                    groups ? groups : json_null(), "db", dbj ? dbj : json_null(), "acks",
                    acks_json(&acks.st), "refresh_s", o.refresh, "messages", (int)o.messages);
                if (cid) rd_kafka_mem_free(rk, cid);
                if (state) json_object_set_new(state, "ack_topic", json_string(o.ack_topic));
                web_set_state(w, state, topics);
                json_decref(state);
            }
        }
        /* The latest messages of the topics the page shows. */
        char topic[SCHEMA_TOPIC_MAX + 1];
        while (signals_run && topics && web_next_peek(w, topic, sizeof topic)) {
            size_t i;
            json_t *t;
            json_array_foreach(json_object_get(topics, "topics"), i, t) {
                if (strcmp(json_string_value(json_object_get(t, "name")), topic) != 0) continue;
                json_t *msgs = peek_latest(rk, t, (int)o.messages, timeout_ms);
                if (msgs) web_set_peek(w, topic, msgs);
            }
        }
    }
    if (signals_received()) log_info("stopping (signal %d)", signals_received());
    web_stop(w);
    dbview_free(db);
    json_decref(topics);
    acks_free(&acks.st);
    /* Nothing was joined or committed: there is no close to wait for. */
    rd_kafka_destroy_flags(acks.rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    cli_kv_free(&o.kafka);
    return GK_EXIT_OK;
}
