/* main.c - producer: sends the rows of sim_fileN.xlsx files to Kafka.
 *
 * One reader thread per file, each with its own idempotent rd_kafka_t. The
 * main thread watches for signals and fatal errors, serves the delivery
 * reports of files whose reader has ended, and in the end flushes and gives
 * an exact account of what went out. */
#include "common/cli.h"
#include "common/exitcodes.h"
#include "common/infile.h"
#include "common/log.h"
#include "common/progress.h"
#include "common/signals.h"
#include "common/timeutil.h"
#include "kafka/kafka.h"
#include "metrics/metrics.h"
#include "metrics/probe.h"
#include "producer/producer.h"
#include "producer/reader.h"
#include "producer/report.h"
#include "producer/sender.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Command-line settings. */
typedef struct {
    const char *bootstrap, *level, *topic, *record, *sheet, *arrivals, *metrics_addr, *probe;
    cli_kv_list kafka;
    int skip_invalid;
    double rate, flush_timeout, connect_timeout;
    long seed;
} options;

static const char producer_exit_text[] =
    "Exit codes: 0 all rows delivered (also after SIGINT/SIGTERM: what was read went out),\n"
    "64 usage (also a bad -X setting), 65 invalid input (bad row, header or xlsx), 66 missing or unreadable file,\n"
    "69 broker unusable or fatal client error, 75 some rows were not delivered (listed).\n";

/* Parses the command line; returns -1 to go on, else the exit status. */
static int producer_options(options *o, int argc, char **argv, int *first) {
    const cli_option opts[] = {
        CLI_OPT_BOOTSTRAP(&o->bootstrap),
        CLI_OPT_KAFKA_CONFIG_FILE(&o->kafka),
        CLI_OPT_KAFKA_CONFIG(&o->kafka),
        CLI_OPT_LOG_LEVEL(&o->level),
        CLI_OPT_TOPIC_PREFIX(&schema_topic_prefix, schema_topic_prefix_set),
        {.long_name = "topic", .short_name = 't', .env = "GK_PRODUCER_TOPIC", .kind = CLI_STRING,
         .target = &o->topic, .metavar = "TOPIC", .min = 1, .max = CLI_ANY_LEN,
         .help = "send every file to TOPIC instead of its record type's topic (not the ack "
                 "topic)"},
        {.long_name = "record", .short_name = 'r', .env = "GK_PRODUCER_RECORD",
         .kind = CLI_STRING, .target = &o->record, .metavar = "TYPE", .min = 1,
         .max = CLI_ANY_LEN,
         .help = "record type for files whose name is not sim_fileN.xlsx (sample_intake, "
                 "sequencing_qc, variant_call)"},
        {.long_name = "sheet", .env = "GK_PRODUCER_SHEET", .kind = CLI_STRING,
         .target = &o->sheet, .metavar = "NAME", .min = 1, .max = CLI_ANY_LEN,
         .help = "worksheet to read (default: the first)"},
        {.long_name = "skip-invalid", .env = "GK_PRODUCER_SKIP_INVALID", .kind = CLI_FLAG,
         .target = &o->skip_invalid,
         .help = "report and skip invalid rows instead of stopping at the first"},
        {.long_name = "rate", .env = "GK_PRODUCER_RATE", .kind = CLI_DOUBLE, .target = &o->rate,
         .metavar = "EVENTS_PER_S", .min = 0.001, .max = 1e7, .also = "0",
         .help = "rows per second per file (0: as fast as possible)"},
        {.long_name = "arrivals", .env = "GK_PRODUCER_ARRIVALS", .kind = CLI_STRING,
         .target = &o->arrivals, .metavar = "KIND",
         .help = "constant or poisson inter-arrival times with --rate"},
        {.long_name = "seed", .env = "GK_PRODUCER_SEED", .kind = CLI_INT, .target = &o->seed,
         .metavar = "N", .min = 0, .max = CLI_MAX_EXACT,
         .help = "PRNG seed for poisson arrivals"},
        {.long_name = "flush-timeout", .env = "GK_PRODUCER_FLUSH_TIMEOUT", .kind = CLI_DOUBLE,
         .target = &o->flush_timeout, .metavar = "SECONDS", .min = 0, .max = 86400,
         .help = "longest wait for outstanding deliveries at the end"},
        {.long_name = "connect-timeout", .env = "GK_PRODUCER_CONNECT_TIMEOUT",
         .kind = CLI_DOUBLE, .target = &o->connect_timeout, .metavar = "SECONDS", .min = 0.001,
         .max = 86400, .also = "0",
         .help = "longest wait for the first metadata from the cluster (0: skip the check)"},
        METRICS_CLI_OPT("GK_PRODUCER_METRICS_ADDR", &o->metrics_addr),
        METRICS_CLI_PROBE(&o->probe),
        CLI_OPT_END,
    };
    const cli_program prog = {
        "producer", "[options] FILE...",
        "Reads xlsx files (sim_fileN.xlsx -> topicN) and sends each row as a JSON message keyed\n"
        "by its event id, with headers gk-produced-us and gk-source. Every row is validated\n"
        "against the record type; the first invalid row stops the run unless --skip-invalid.\n"
        "Each file has its own Kafka client; -X settings apply to each (queue.buffering.max.messages\n"
        "bounds the messages in flight per file).",
        producer_exit_text};
    int rc = cli_parse(&prog, opts, argc, argv, first);
    if (rc) return rc > 0 ? GK_EXIT_OK : GK_EXIT_USAGE;
    pace_arrivals arr;
    if (cli_log_init("producer", o->level) != 0) return GK_EXIT_USAGE;
    if (o->probe) return probe_run("producer", o->probe, o->metrics_addr);
    if (pace_arrivals_parse(o->arrivals, &arr) != 0) {
        fprintf(stderr, "producer: --arrivals: expected constant or poisson, got '%s'\n", o->arrivals);
        return GK_EXIT_USAGE;
    }
    char why[256];
    if (o->topic && schema_topic_check(o->topic, SCHEMA_TOPIC_DATA, why, sizeof why) != 0) {
        fprintf(stderr, "producer: --topic: %s\n", why);
        return GK_EXIT_USAGE;
    }
    if (o->record && !schema_by_name(o->record)) {
        fprintf(stderr, "producer: --record: unknown record type '%s'\n", o->record);
        return GK_EXIT_USAGE;
    }
    if (*first >= argc) {
        fprintf(stderr, "producer: no input files (try 'producer --help')\n");
        return GK_EXIT_USAGE;
    }
    return -1;
}

/* Fills files[i] for argv's paths: record type, topic, open reader. Every
 * file is checked before anything is sent. Returns -1 or an exit status. */
static int producer_open_files(const options *o, producer_run *run, producer_file *files,
                               size_t n, char **paths) {
    int status = -1;
    for (size_t i = 0; i < n; i++) {
        producer_file *f = &files[i];
        f->index = i;
        f->path = paths[i];
        f->base = strrchr(paths[i], '/') ? strrchr(paths[i], '/') + 1 : paths[i];
        f->run = run;
        pthread_mutex_init(&f->lock, NULL);
        f->rec = schema_by_file(f->path);
        if (f->rec && o->record && f->rec != schema_by_name(o->record)) {
            report_error("%s: file name says record type %s, --record says %s", f->path,
                         f->rec->name, o->record);
            if (status < 0) status = GK_EXIT_USAGE;
            continue;
        }
        if (!f->rec && o->record) f->rec = schema_by_name(o->record);
        if (!f->rec) {
            report_error("%s: unknown file name: expected sim_file1..3.xlsx or --record", f->path);
            if (status < 0) status = GK_EXIT_USAGE;
            continue;
        }
        f->topic = o->topic ? o->topic : f->rec->topic;
        char err[1024];
        int fd = infile_open(f->path, err, sizeof err); /* never waits on a FIFO */
        if (fd < 0) {
            report_error("%s", err);
            if (status < 0 || status == GK_EXIT_DATAERR) status = GK_EXIT_NOINPUT;
            continue;
        }
        f->xr = xlsx_open_fd(fd, f->path, o->sheet, err, sizeof err);
        if (!f->xr) {
            report_error("%s", err);
            if (status < 0) status = GK_EXIT_DATAERR;
        }
    }
    return status;
}

/* Starts one reader thread per file. Returns 0, or -1 (run->stop is set and
 * the threads already started finish on their own). */
static int producer_start(producer_run *run, producer_file *files, size_t n) {
    run->start_ns = pace_now_ns();
    for (size_t i = 0; i < n; i++) {
        atomic_fetch_add(&run->running, 1);
        int e = pthread_create(&files[i].thread, NULL, reader_main, &files[i]);
        if (e) {
            atomic_fetch_sub(&run->running, 1);
            log_error("cannot start a thread for %s: %s", files[i].path, strerror(e));
            atomic_store(&run->stop, 1);
            for (size_t j = 0; j < i; j++) pthread_join(files[j].thread, NULL);
            return -1;
        }
    }
    return 0;
}

/* Watches the readers until every one has finished: stops them on a signal
 * or a fatal client error, serves the delivery reports they leave (while
 * paced or blocked), shows progress. Returns 1 after a fatal error. */
static int producer_serve(producer_run *run, producer_file *files, size_t n) {
    int fatal = 0;
    int64_t t0 = time_mono_us();
    while (atomic_load(&run->running) > 0) {
        metrics_tick();
        /* A reader serves its own client's reports as it sends; taking them
         * over here would free its messages in this thread, contending for
         * its malloc arena. Only ended readers' clients are served here. */
        for (size_t i = 0; i < n; i++)
            if (atomic_load(&files[i].finished)) sender_poll(run->snd, &files[i]);
        nanosleep(&(struct timespec){0, 50 * 1000000L}, NULL);
        char why[512];
        if (!signals_run && !atomic_load(&run->stop)) {
            log_info("signal %d: stop reading, flushing what was queued", signals_received());
            atomic_store(&run->stop, 1);
        }
        if (!fatal && sender_fatal(run->snd, why, sizeof why)) {
            log_error("broker unusable: fatal producer error: %s", why);
            fatal = 1;
            atomic_store(&run->stop, 1);
        }
        /* Only the atomic delivery counters: reading counters belong to the
         * reader threads until they are joined. */
        uint64_t delivered = 0;
        for (size_t i = 0; i < n; i++) delivered += atomic_load(&files[i].delivered);
        double secs = (double)(time_mono_us() - t0) / 1e6;
        progress_update("producer: %llu delivered, %ld queued, %.0f msgs/s",
                        (unsigned long long)delivered, sender_outstanding(run->snd),
                        secs > 0 ? (double)delivered / secs : 0.0);
    }
    return fatal;
}

/* The exit status the run's outcome deserves. */
static int producer_status(const producer_file *files, size_t n, int fatal, const report_totals *t) {
    if (fatal) return GK_EXIT_UNAVAILABLE;
    for (size_t i = 0; i < n; i++) {
        if (files[i].state == FILE_BAD_ROW || files[i].state == FILE_READ_ERROR) return GK_EXIT_DATAERR;
        if (files[i].state == FILE_INTERNAL) return GK_EXIT_SOFTWARE;
    }
    return t->failed ? GK_EXIT_UNDELIVERED : GK_EXIT_OK;
}

/* Sends everything, flushes and reports. Returns the exit status. */
static int producer_run_all(const options *o, producer_run *run, producer_file *files, size_t n) {
    const char *topics[64];
    size_t ntopics = 0;
    for (size_t i = 0; i < n && ntopics < 64; i++) topics[ntopics++] = files[i].topic;
    run->snd = sender_new(o->bootstrap, &o->kafka, files, n);
    if (!run->snd) return GK_EXIT_USAGE; /* a bad or conflicting -X setting (logged) */
    int probe = o->connect_timeout > 0 ? sender_probe(run->snd, topics, ntopics, o->connect_timeout) : 0;
    if (probe != 0) {
        sender_destroy(run->snd);
        if (probe < 0) return GK_EXIT_UNAVAILABLE;
        /* A signal during the wait is a clean stop: nothing was sent. */
        report_totals t = report_sum(files, n, 0);
        char line[512];
        report_files(stdout, files, n);
        report_summary(&t, line, sizeof line);
        printf("%s\n", line);
        return GK_EXIT_OK;
    }
    metrics_ready(true, NULL); /* the cluster answered (or the check is off) */
    int64_t t0 = time_mono_us();
    int fatal = producer_start(run, files, n) != 0;
    fatal |= producer_serve(run, files, n);
    for (size_t i = 0; i < n; i++) pthread_join(files[i].thread, NULL);
    long left = sender_flush(run->snd, o->flush_timeout);
    if (left) log_error("%ld messages without a delivery report after purging", left);
    char why[512];
    if (!fatal && sender_fatal(run->snd, why, sizeof why)) {
        log_error("broker unusable: fatal producer error: %s", why);
        fatal = 1;
    }
    progress_done();
    report_totals t = report_sum(files, n, (double)(time_mono_us() - t0) / 1e6);
    report_files(stdout, files, n);
    report_failed_rows(stderr, files, n);
    char line[512];
    report_summary(&t, line, sizeof line);
    printf("%s\n", line);
    fflush(stdout);
    log_info("%s", line + strlen("producer: "));
    sender_destroy(run->snd);
    int status = producer_status(files, n, fatal, &t);
    /* Rows that never got a delivery report are as good as undelivered. */
    if (status == GK_EXIT_OK && t.delivered + t.failed != t.rows) status = GK_EXIT_UNDELIVERED;
    return status;
}

int main(int argc, char **argv) {
    options o = {.level = "info", .arrivals = "constant", .seed = 1, .flush_timeout = 330,
                 .connect_timeout = 30};
    o.bootstrap = KAFKA_DEFAULT_BOOTSTRAP;
    int first = 0, status = producer_options(&o, argc, argv, &first);
    if (status >= 0) {
        cli_kv_free(&o.kafka);
        return status;
    }
    size_t n = (size_t)(argc - first);
    producer_file *files = calloc(n, sizeof *files);
    producer_run run = {.skip_invalid = o.skip_invalid, .rate = o.rate, .seed = (uint64_t)o.seed};
    pace_arrivals_parse(o.arrivals, &run.arrivals);
    if (!files) return GK_EXIT_SOFTWARE;
    /* Every message is allocated by a reading thread and freed when its
     * delivery is reported; glibc gave the freed top of each thread's heap
     * back to the kernel and took it again for the next messages, with a
     * TLB shootdown each time. Keeping up to 64 MiB free at the top spares
     * that without raising the peak RSS (bench/README.md has the figures). */
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    signals_install();
    status = producer_open_files(&o, &run, files, n, argv + first);
    if (status < 0 && (status = metrics_start("producer", o.metrics_addr)) == 0) {
        metrics_ready(false, "waiting for the cluster");
        status = producer_run_all(&o, &run, files, n);
        metrics_stop();
    } else if (status != GK_EXIT_USAGE) {
        /* Nothing was sent; say so in the usual form. */
        report_totals t = report_sum(files, n, 0);
        char line[512];
        report_files(stdout, files, n);
        report_summary(&t, line, sizeof line);
        printf("%s\n", line);
    }
    for (size_t i = 0; i < n; i++) {
        xlsx_close(files[i].xr);
        rowlist_free(&files[i].failed_rows);
        pthread_mutex_destroy(&files[i].lock);
    }
    free(files);
    cli_kv_free(&o.kafka);
    return status;
}
