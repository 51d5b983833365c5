/* ack_delay.c - measures the ack delay of the pipeline and checks its invariants.
 *
 * Reads topic1..3 and ack from the beginning (or a time window) up to the high
 * watermarks taken at start, joins them by event id, and reports: one summary
 * line on stdout, each invariant violation on stderr, a CSV with one row per
 * event and two PNG charts. The delay of an event is the ack's time minus the
 * latest of its three topic messages' times, with microsecond precision when
 * the messages carry gk-produced-us (ack: acked_us), Kafka ms timestamps
 * otherwise. The read is bounded (--timeout) and commits nothing. */
#include "analysis/bands.h"
#include "analysis/join.h"
#include "analysis/plot.h"
#include "analysis/record.h"
#include "analysis/report.h"
#include "analysis/snapshot.h"
#include "analysis/stats.h"
#include "analysis/timeparse.h"
#include "common/cli.h"
#include "common/exitcodes.h"
#include "common/log.h"
#include "common/signals.h"
#include "common/timeutil.h"
#include "kafka/kafka.h"
#include "schema/schema.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACK_DELAY_SHOW_MAX 20 /* violations and bad messages logged in full */

typedef struct {
    const char *bootstrap;
    cli_kv_list kafka;
    const char *level;
    const char *csv;
    const char *plots;
    long expect;
    const char *topics;
    const char *ack_topic;
    long timeout;
    const char *from_time;
    const char *until_time;
    long grace;
    double window;
} ack_delay_opts;

/* What the reader callback needs, and what it counted. */
typedef struct {
    join *j;
    const char *names[JOIN_SLOTS]; /* topic names by slot */
    report_reading rd;             /* unreadable messages, dead letters, bad headers */
} ack_delay_ctx;

static const char ack_delay_exit_text[] =
    "Exit status: 0 no violation (and --expect met), 64 usage error, 65 violations, bad\n"
    "messages or --expect not met, 69 broker unreachable or timeout, 73 cannot write the\n"
    "CSV, 76 data no longer in the log, 1 plots failed (gnuplot missing or failing).\n";

/* The librdkafka settings for a read-only, group-less, bounded reader. The
 * group id only satisfies rd_kafka_assign(): nothing joins or commits. */
static const kafka_default ack_delay_kafka_defaults[] = {
    {"client.id", "ack_delay"},
    {"group.id", "gk-ack-delay"},
    {"enable.auto.commit", "false"},
    {"enable.auto.offset.store", "false"},
    {"enable.partition.eof", "true"},
    {"isolation.level", "read_committed"},
    {"auto.offset.reset", "error"},
    {"fetch.wait.max.ms", "100"},
    {NULL, NULL},
};

/* Splits "a,b,c" into exactly three topic names (pointers into buf). */
static int ack_delay_split_topics(char *buf, const char **names) {
    int n = 0;
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ') t++;
        if (*t == '\0' || n == JOIN_TOPICS) return -1;
        names[n++] = t;
    }
    return n == JOIN_TOPICS ? 0 : -1;
}

/* Logs the first ACK_DELAY_SHOW_MAX problems of one kind, then counts them. */
static void ack_delay_show(size_t n, const char *topic, const rd_kafka_message_t *m,
                           const char *what, const char *err) {
    if (n <= ACK_DELAY_SHOW_MAX)
        log_warn("%s[%" PRId32 "] offset %" PRId64 ": %s%s", topic, m->partition, m->offset, what,
                 err);
}

/* Decodes one message into the join: dead letters mark their event, bad
 * messages and bad headers are logged and counted. */
static int ack_delay_on_message(size_t topic, const rd_kafka_message_t *m, void *vctx) {
    ack_delay_ctx *c = vctx;
    rd_kafka_headers_t *hdrs = NULL;
    const void *hv = NULL;
    size_t hlen = 0;
    if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        rd_kafka_header_get_last(hdrs, KAFKA_HDR_PRODUCED_US, &hv, &hlen) != RD_KAFKA_RESP_ERR_NO_ERROR)
        hv = NULL, hlen = 0;
    record_msg rm = {(int)topic, m->key, m->key_len, m->payload, m->len, kafka_msg_timestamp_ms(m),
                     hv, hlen, m->partition, m->offset};
    join_record r;
    char err[768];
    int bad_header = 0;
    record_outcome out = record_decode(&rm, &r, &bad_header, err, sizeof err);
    if (out == RECORD_DEAD_LETTER) {
        ack_delay_show(++c->rd.dead_letters, c->names[topic], m, "", err);
        if (join_add_dead(c->j, r.slot, r.event_id, err, sizeof err) == 0) return 0;
    } else if (out == RECORD_OK) {
        if (bad_header) ack_delay_show(++c->rd.bad_headers, c->names[topic], m, "not used: ", err);
        if (join_add(c->j, &r, err, sizeof err) == 0) return 0;
    }
    if (++c->rd.bad_messages <= ACK_DELAY_SHOW_MAX)
        log_error("%s[%" PRId32 "] offset %" PRId64 ": %s", c->names[topic], m->partition,
                  m->offset, err);
    return 0;
}

/* State of the violation logger. */
typedef struct {
    size_t shown;
    const char *const *names;
} ack_delay_vlog;

/* Logs a violation in full for the first ACK_DELAY_SHOW_MAX. */
static void ack_delay_on_violation(const join_violation *v, void *vctx) {
    ack_delay_vlog *vl = vctx;
    if (vl->shown++ >= ACK_DELAY_SHOW_MAX) return;
    char line[768];
    join_violation_text(v, vl->names, line, sizeof line);
    log_error("violation %s: %s", join_violation_names[v->kind], line);
}

/* Parses and checks the options. Returns 0, 1 (--help) or -1 (usage error). */
static int ack_delay_options(ack_delay_opts *o, int argc, char **argv) {
    const cli_option opts[] = {
        CLI_OPT_BOOTSTRAP(&o->bootstrap),
        CLI_OPT_KAFKA_CONFIG_FILE(&o->kafka),
        CLI_OPT_KAFKA_CONFIG(&o->kafka),
        CLI_OPT_LOG_LEVEL(&o->level),
        CLI_OPT_TOPIC_PREFIX(&schema_topic_prefix, schema_topic_prefix_set),
        {.long_name = "csv", .env = "GK_ACK_DELAY_CSV", .kind = CLI_STRING, .target = &o->csv,
         .metavar = "PATH", .help = "per-event CSV (\"\": none)"},
        {.long_name = "plots", .env = "GK_ACK_DELAY_PLOTS", .kind = CLI_STRING,
         .target = &o->plots, .metavar = "DIR",
         .help = "directory for timestamps.png and delay.png (\"\": no plots)"},
        {.long_name = "expect", .env = "GK_ACK_DELAY_EXPECT", .kind = CLI_INT,
         .target = &o->expect, .metavar = "N", .min = 0, .max = CLI_MAX_EXACT, .also = "-1",
         .help = "fail unless exactly N complete events, each with exactly one ack (-1: no "
                 "check)"},
        {.long_name = "topics", .env = "GK_ACK_DELAY_TOPICS", .kind = CLI_STRING,
         .target = &o->topics, .metavar = "T1,T2,T3", .help = "the three data topics",
         .min = 1, .max = CLI_ANY_LEN},
        {.long_name = "ack-topic", .env = "GK_ACK_DELAY_ACK_TOPIC", .kind = CLI_STRING,
         .target = &o->ack_topic, .metavar = "TOPIC", .help = "the ack topic", .min = 1,
         .max = CLI_ANY_LEN},
        {.long_name = "timeout", .env = "GK_ACK_DELAY_TIMEOUT", .kind = CLI_INT,
         .target = &o->timeout, .metavar = "SECONDS", .min = 1, .max = 86400,
         .help = "give up (exit 69) if the read has not finished by then"},
        {.long_name = "from-time", .env = "GK_ACK_DELAY_FROM_TIME", .kind = CLI_STRING,
         .target = &o->from_time, .metavar = "TIME",
         .help = "only events whose first message is at or after TIME (ISO 8601, UTC unless a "
                 "zone is given, or epoch ms)"},
        {.long_name = "until-time", .env = "GK_ACK_DELAY_UNTIL_TIME", .kind = CLI_STRING,
         .target = &o->until_time, .metavar = "TIME",
         .help = "only events whose first message is at or before TIME"},
        {.long_name = "grace", .env = "GK_ACK_DELAY_GRACE", .kind = CLI_INT,
         .target = &o->grace, .metavar = "SECONDS", .min = 0, .max = 86400,
         .help = "with a time window, also read this much before and after it so that events "
                 "at its edges are whole"},
        {.long_name = "window", .env = "GK_ACK_DELAY_WINDOW", .kind = CLI_DOUBLE,
         .target = &o->window, .metavar = "SECONDS", .min = 0.001, .max = 86400, .also = "0",
         .help = "also report the delay per rate band, the rate being that of produce-time "
                 "windows this long, and whether the backlog drained after the peak (0: no)"},
        CLI_OPT_END,
    };
    const cli_program prog = {
        "ack_delay", "[options]",
        "Reads topic1..3 and ack up to their current end, joins them by event id and reports the\n"
        "ack delay (ack time - latest topic time) as one summary line on stdout, a CSV per event\n"
        "and two PNG charts. Checks that every complete event has exactly one ack, that no ack\n"
        "precedes its topic messages and that no ack names an unknown or incomplete event.\n"
        "A data message the consumers refuse is a dead letter: its event is incomplete there.\n"
        "A log cut by retention (low watermark above 0) is reported as such, and events whose\n"
        "verdict rests on deleted messages are counted as not judged instead of violations.\n"
        "Read-only: joins no consumer group and commits nothing.",
        ack_delay_exit_text};
    int first = 0;
    int rc = cli_parse(&prog, opts, argc, argv, &first);
    if (rc != 0) return rc;
    if (first < argc) {
        fprintf(stderr, "ack_delay: unexpected argument '%s'\n", argv[first]);
        return -1;
    }
    return 0;
}

/* Reads the topics into the join. Returns an exit code. */
static int ack_delay_read(const ack_delay_opts *o, ack_delay_ctx *c, int64_t from_ms,
                          int64_t until_ms, snapshot_stats *st) {
    rd_kafka_conf_t *conf = kafka_conf_new(o->bootstrap, ack_delay_kafka_defaults, &o->kafka);
    if (!conf) return GK_EXIT_USAGE;
    rd_kafka_t *rk = kafka_new(RD_KAFKA_CONSUMER, conf);
    if (!rk) return GK_EXIT_UNAVAILABLE;
    int64_t grace_ms = o->grace * 1000;
    snapshot_config sc = {
        .topics = c->names,
        .ntopics = JOIN_SLOTS,
        .from_ms = from_ms < 0 ? -1 : from_ms > grace_ms ? from_ms - grace_ms : 0,
        .stop_after_ms = until_ms < 0 ? -1 : until_ms + grace_ms,
        .timeout_ms = (int)(o->timeout * 1000),
    };
    int64_t t0 = time_mono_us();
    int rc = snapshot_read(rk, &sc, ack_delay_on_message, c, st);
    log_info("read %" PRIu64 " messages from %zu partitions in %.2f s", st->messages,
             st->partitions, (double)(time_mono_us() - t0) / 1e6);
    rd_kafka_resp_err_t err = rd_kafka_consumer_close(rk);
    if (err) log_warn("closing the consumer: %s", rd_kafka_err2str(err));
    rd_kafka_destroy(rk);
    return rc;
}

/* Collects the delays (ms) of the complete acked events; caller frees. */
static double *ack_delay_delays(const join_event *ev, size_t n, size_t *m) {
    double *d = malloc((n ? n : 1) * sizeof *d);
    *m = 0;
    for (size_t i = 0; d && i < n; i++) {
        int64_t us;
        if (join_event_delay_us(&ev[i], &us) == 0) d[(*m)++] = (double)us / 1000.0;
    }
    return d;
}

/* Checks the joined events, prints the summary and writes CSV and plots.
 * Returns the exit code. */
static int ack_delay_report(const ack_delay_opts *o, ack_delay_ctx *c) {
    size_t n, m;
    const join_event *ev = join_events(c->j, &n);
    join_summary js;
    ack_delay_vlog vl = {0, c->names};
    join_check(c->j, &js, ack_delay_on_violation, &vl);
    if (js.violations > ACK_DELAY_SHOW_MAX)
        log_error("... and %zu more violations (see the CSV)", js.violations - ACK_DELAY_SHOW_MAX);
    if (c->rd.bad_messages > ACK_DELAY_SHOW_MAX)
        log_error("... and %zu more bad messages", c->rd.bad_messages - ACK_DELAY_SHOW_MAX);
    if (c->rd.dead_letters > ACK_DELAY_SHOW_MAX)
        log_warn("... and %zu more dead letters", c->rd.dead_letters - ACK_DELAY_SHOW_MAX);
    if (c->rd.bad_headers > ACK_DELAY_SHOW_MAX)
        log_warn("... and %zu more bad gk-produced-us headers", c->rd.bad_headers - ACK_DELAY_SHOW_MAX);
    if (js.incomplete)
        log_warn("%zu events were seen on only some data topics (%zu with a dead letter)",
                 js.incomplete, js.dead_letter_events);
    if (js.not_judged)
        log_warn("%zu events not judged: their verdict rests on messages retention deleted "
                 "(%zu partitions cut)", js.not_judged, c->rd.cut_partitions);
    double *delays = ack_delay_delays(ev, n, &m);
    if (!delays) {
        log_error("out of memory");
        return GK_EXIT_SOFTWARE;
    }
    stats_summary st;
    stats_summarize(delays, m, &st);
    free(delays);
    char line[1024];
    report_summary_line(line, sizeof line, &js, &st, &c->rd);
    printf("%s\n", line);
    if (o->window > 0) {
        bands_report br;
        if (bands_compute(ev, n, o->window, &br) != 0) {
            log_error("out of memory");
            return GK_EXIT_SOFTWARE;
        }
        bands_print(stdout, &br);
        bands_free(&br);
    }
    fflush(stdout);

    int rc = GK_EXIT_OK;
    char err[512];
    if (o->csv && *o->csv && report_csv_file(o->csv, ev, n, err, sizeof err) != 0) {
        log_error("CSV: %s", err);
        rc = GK_EXIT_CANTCREAT;
    }
    if (o->plots && *o->plots && plot_write(o->plots, ev, n, c->names, NULL, err, sizeof err) != 0) {
        log_error("plots: %s", err);
        if (!rc) rc = GK_EXIT_FAILURE;
    }
    int data_bad = js.violations > 0 || c->rd.bad_messages > 0;
    if (o->expect >= 0 && (js.complete != (size_t)o->expect || js.violations > 0)) {
        log_error("expected exactly %ld complete events with one ack each; found %zu complete, "
                  "%zu violations", o->expect, js.complete, js.violations);
        data_bad = 1;
    }
    /* The verdict on the data matters more to callers than a chart. */
    return data_bad ? GK_EXIT_DATAERR : rc;
}

/* Parses a time option into ms, or -1 when unset. Returns 0 or -1 after an error. */
static int ack_delay_time_opt(const char *name, const char *text, int64_t *ms) {
    *ms = -1;
    if (!text || !*text) return 0;
    if (timeparse_ms(text, ms) == 0) return 0;
    fprintf(stderr, "ack_delay: --%s: '%s' is neither ISO 8601 nor epoch milliseconds\n", name,
            text);
    return -1;
}

int main(int argc, char **argv) {
    ack_delay_opts o = {.bootstrap = KAFKA_DEFAULT_BOOTSTRAP, .csv = "out/ack_delay.csv", .plots = "out", .expect = -1,
                        .topics = schema_topic_list(), .ack_topic = SCHEMA_ACK_TOPIC,
                        .timeout = 60, .grace = 60, .level = "info"};
    log_init("ack_delay", LOG_INFO);
    int prc = ack_delay_options(&o, argc, argv);
    if (prc != 0) return prc > 0 ? GK_EXIT_OK : GK_EXIT_USAGE;
    if (cli_log_init("ack_delay", o.level) != 0) return GK_EXIT_USAGE;
    ack_delay_ctx c = {0};
    char *topics = strdup(o.topics);
    int64_t from_ms, until_ms;
    if (!topics || ack_delay_split_topics(topics, c.names) != 0 || !*o.ack_topic) {
        fprintf(stderr, "ack_delay: --topics needs three comma-separated names and --ack-topic one\n");
        free(topics);
        return GK_EXIT_USAGE;
    }
    c.names[JOIN_ACK] = o.ack_topic;
    for (int t = 0; t < JOIN_SLOTS; t++) {
        char why[256];
        if (schema_topic_check(c.names[t], t == JOIN_ACK ? SCHEMA_TOPIC_ACK : SCHEMA_TOPIC_DATA,
                               why, sizeof why) != 0) {
            fprintf(stderr, "ack_delay: --%s: %s\n", t == JOIN_ACK ? "ack-topic" : "topics", why);
            free(topics);
            return GK_EXIT_USAGE;
        }
    }
    if (ack_delay_time_opt("from-time", o.from_time, &from_ms) != 0 ||
        ack_delay_time_opt("until-time", o.until_time, &until_ms) != 0) {
        free(topics);
        return GK_EXIT_USAGE;
    }
    signals_install();
    c.j = join_new();
    snapshot_stats sst;
    int rc = c.j ? ack_delay_read(&o, &c, from_ms, until_ms, &sst) : GK_EXIT_SOFTWARE;
    if (rc == GK_EXIT_OK && sst.interrupted) {
        log_warn("interrupted before the end of the topics: nothing reported");
    } else if (rc == GK_EXIT_OK) {
        join_cut cut = {.grace_us = o.grace * 1000000LL};
        for (int t = 0; t < JOIN_SLOTS; t++)
            cut.cut_us[t] = sst.cut_ms[t] == SNAPSHOT_NO_CUT ? JOIN_NO_CUT
                            : sst.cut_ms[t] > INT64_MAX / 1000 ? INT64_MAX
                                                                : sst.cut_ms[t] * 1000;
        join_set_cut(c.j, &cut);
        c.rd.cut_partitions = sst.cut_partitions;
        size_t dropped = join_finish(c.j, from_ms < 0 ? INT64_MIN : from_ms * 1000,
                                     until_ms < 0 ? INT64_MAX : until_ms * 1000 + 999);
        if (dropped) log_info("%zu events outside the time window left out", dropped);
        rc = ack_delay_report(&o, &c);
    }
    join_free(c.j);
    free(topics);
    cli_kv_free(&o.kafka);
    return rc;
}
