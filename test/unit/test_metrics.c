/* test_metrics.c - the metrics module: the registry (labels, bounds,
 * concurrent updates), the exact text of Prometheus' exposition format
 * (escaping, histograms, numbers), the dead-letter reason classes,
 * --metrics-addr parsing, the HTTP endpoint's answers, and the --probe that
 * asks it (the URL it makes, what it reads from each answer, its bound). */
#include "metrics/exposition.h"
#include "metrics/probe.h"
#include "metrics/registry.h"
#include "metrics/server.h"
#include "schema/message.h"
#include "test/unit/runner.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* Renders r and returns the text (freed by the caller). */
static char *render(metric_registry *r) {
    char *text = NULL;
    size_t len = 0;
    ck_assert_int_eq(exposition_render(r, &text, &len), 0);
    ck_assert_uint_eq(len, strlen(text));
    return text;
}

START_TEST(counter_with_labels_renders_exactly) {
    metric_registry *r = metric_registry_new();
    const char *const labels[] = {"topic", "result", NULL};
    metric_family *f = metric_family_add(r, METRIC_COUNTER, "gk_messages_total",
                                         "Messages, by topic", labels, NULL, 0);
    ck_assert_ptr_nonnull(f);
    metric_series *a = metric_series_get(f, (const char *const[]){"topic1", "delivered"});
    metric_series *b = metric_series_get(f, (const char *const[]){"topic2", "failed"});
    metric_counter_add(a, 3);
    metric_counter_add(a, 4);
    metric_counter_add(b, 1);
    /* The same labels find the same series. */
    ck_assert_ptr_eq(metric_series_get(f, (const char *const[]){"topic1", "delivered"}), a);
    ck_assert_uint_eq(metric_counter_value(a), 7);
    char *text = render(r);
    ck_assert_str_eq(text, "# HELP gk_messages_total Messages, by topic\n"
                           "# TYPE gk_messages_total counter\n"
                           "gk_messages_total{topic=\"topic1\",result=\"delivered\"} 7\n"
                           "gk_messages_total{topic=\"topic2\",result=\"failed\"} 1\n");
    free(text);
    metric_registry_free(r);
}
END_TEST

START_TEST(escaping_of_labels_and_help) {
    metric_registry *r = metric_registry_new();
    const char *const labels[] = {"reason", NULL};
    metric_family *f = metric_family_add(r, METRIC_GAUGE, "gk_g", "a \\ back\nslash \"q\"",
                                         labels, NULL, 0);
    metric_gauge_set(metric_series_get(f, (const char *const[]){"say \"hi\"\\\n"}), -2.5);
    char *text = render(r);
    /* Help: backslash and line feed escaped, quotes kept; labels: all three. */
    ck_assert_str_eq(text, "# HELP gk_g a \\\\ back\\nslash \"q\"\n"
                           "# TYPE gk_g gauge\n"
                           "gk_g{reason=\"say \\\"hi\\\"\\\\\\n\"} -2.5\n");
    free(text);
    metric_registry_free(r);
}
END_TEST

START_TEST(histogram_is_cumulative_with_inf_sum_and_count) {
    metric_registry *r = metric_registry_new();
    const double b[] = {0.005, 0.01, 10};
    metric_family *f = metric_family_add(r, METRIC_HISTOGRAM, "gk_delay_seconds", "Delay", NULL,
                                         b, 3);
    metric_series *s = metric_series_get(f, NULL);
    metric_histogram_observe(s, 0.001);
    metric_histogram_observe(s, 0.005); /* on a bound: in that bucket (le) */
    metric_histogram_observe(s, 0.5);
    metric_histogram_observe(s, 100);
    ck_assert_uint_eq(metric_histogram_count(s), 4);
    char *text = render(r);
    ck_assert_str_eq(text, "# HELP gk_delay_seconds Delay\n"
                           "# TYPE gk_delay_seconds histogram\n"
                           "gk_delay_seconds_bucket{le=\"0.005\"} 2\n"
                           "gk_delay_seconds_bucket{le=\"0.01\"} 2\n"
                           "gk_delay_seconds_bucket{le=\"10\"} 3\n"
                           "gk_delay_seconds_bucket{le=\"+Inf\"} 4\n"
                           "gk_delay_seconds_sum 100.506\n"
                           "gk_delay_seconds_count 4\n");
    free(text);
    metric_registry_free(r);
}
END_TEST

START_TEST(numbers_as_the_format_spells_them) {
    char buf[64];
    exposition_number(0.005, buf, sizeof buf);
    ck_assert_str_eq(buf, "0.005");
    exposition_number(10, buf, sizeof buf);
    ck_assert_str_eq(buf, "10");
    exposition_number(12181504, buf, sizeof buf);
    ck_assert_str_eq(buf, "12181504");
    exposition_number(1e300, buf, sizeof buf);
    ck_assert_str_eq(buf, "1e+300");
    exposition_number(NAN, buf, sizeof buf);
    ck_assert_str_eq(buf, "NaN");
    exposition_number(INFINITY, buf, sizeof buf);
    ck_assert_str_eq(buf, "+Inf");
    exposition_number(-INFINITY, buf, sizeof buf);
    ck_assert_str_eq(buf, "-Inf");
    exposition_number(0.1 + 0.2, buf, sizeof buf);
    ck_assert_double_eq(strtod(buf, NULL), 0.1 + 0.2); /* reads back exactly */
}
END_TEST

START_TEST(bad_families_are_refused) {
    metric_registry *r = metric_registry_new();
    const double down[] = {1, 0.5};
    ck_assert_ptr_null(metric_family_add(r, METRIC_HISTOGRAM, "h", "h", NULL, down, 2));
    ck_assert_ptr_null(metric_family_add(r, METRIC_HISTOGRAM, "h", "h", NULL, NULL, 0));
    ck_assert_ptr_null(metric_family_add(r, METRIC_COUNTER, "c", "c", NULL, down, 1));
    const char *const four[] = {"a", "b", "c", "d", NULL};
    ck_assert_ptr_null(metric_family_add(r, METRIC_COUNTER, "c", "c", four, NULL, 0));
    /* NULL series and families: every call is a no-op. */
    ck_assert_ptr_null(metric_series_get(NULL, NULL));
    metric_counter_add(NULL, 1);
    metric_gauge_set(NULL, 1);
    metric_histogram_observe(NULL, 1);
    char *text = render(r);
    ck_assert_str_eq(text, "");
    free(text);
    metric_registry_free(r);
}
END_TEST

START_TEST(label_sets_are_bounded) {
    metric_registry *r = metric_registry_new();
    const char *const labels[] = {"partition", NULL};
    metric_family *f = metric_family_add(r, METRIC_GAUGE, "g", "g", labels, NULL, 0);
    char v[16];
    const char *values[] = {v};
    for (int i = 0; i < METRIC_MAX_SERIES; i++) {
        snprintf(v, sizeof v, "%d", i);
        ck_assert_ptr_nonnull(metric_series_get(f, values));
    }
    snprintf(v, sizeof v, "%d", METRIC_MAX_SERIES);
    ck_assert_ptr_null(metric_series_get(f, values));
    ck_assert_uint_eq(metric_registry_dropped(r), 1);
    /* An existing one is still found. */
    snprintf(v, sizeof v, "7");
    ck_assert_ptr_nonnull(metric_series_get(f, values));
    ck_assert_uint_eq(metric_registry_dropped(r), 1);
    /* Cleared, the family renders no series and takes new ones again. */
    metric_family_clear(f);
    char *text = render(r);
    ck_assert_str_eq(text, "# HELP g g\n# TYPE g gauge\n");
    free(text);
    snprintf(v, sizeof v, "%d", METRIC_MAX_SERIES);
    metric_gauge_set(metric_series_get(f, values), 3);
    text = render(r);
    ck_assert_str_eq(text, "# HELP g g\n# TYPE g gauge\ng{partition=\"1024\"} 3\n");
    free(text);
    metric_registry_free(r);
}
END_TEST

#define THREADS 4
#define ADDS 100000

static void *add_many(void *arg) {
    metric_family *f = arg;
    for (int i = 0; i < ADDS; i++) {
        /* Looked up each time, as a cold path would, and in a histogram. */
        metric_counter_add(metric_series_get(f, (const char *const[]){i % 2 ? "odd" : "even"}), 1);
    }
    return NULL;
}

static void *observe_many(void *arg) {
    metric_series *s = arg;
    for (int i = 0; i < ADDS; i++) metric_histogram_observe(s, 1.0);
    return NULL;
}

START_TEST(concurrent_updates_are_exact) {
    metric_registry *r = metric_registry_new();
    const char *const labels[] = {"kind", NULL};
    metric_family *f = metric_family_add(r, METRIC_COUNTER, "c", "c", labels, NULL, 0);
    const double b[] = {0.5, 2};
    metric_series *h =
        metric_series_get(metric_family_add(r, METRIC_HISTOGRAM, "h", "h", NULL, b, 2), NULL);
    pthread_t t[2 * THREADS];
    for (int i = 0; i < THREADS; i++) {
        pthread_create(&t[i], NULL, add_many, f);
        pthread_create(&t[THREADS + i], NULL, observe_many, h);
    }
    for (int i = 0; i < 2 * THREADS; i++) pthread_join(t[i], NULL);
    ck_assert_uint_eq(metric_counter_value(metric_series_get(f, (const char *const[]){"odd"})),
                      THREADS * ADDS / 2);
    ck_assert_uint_eq(metric_counter_value(metric_series_get(f, (const char *const[]){"even"})),
                      THREADS * ADDS / 2);
    ck_assert_uint_eq(metric_histogram_count(h), THREADS * ADDS);
    char *text = render(r);
    ck_assert_ptr_nonnull(strstr(text, "h_sum 400000\n"));
    ck_assert_ptr_nonnull(strstr(text, "h_bucket{le=\"2\"} 400000\n"));
    free(text);
    metric_registry_free(r);
}
END_TEST

/* The class of the reason schema_message_map gives a message. */
static const char *class_of(const char *topic, const char *key, const char *value) {
    schema_message m;
    int rc = schema_message_map(&m, topic, key, key ? strlen(key) : 0, value,
                                value ? strlen(value) : 0);
    schema_message_done(&m);
    ck_assert_int_eq(rc, -1);
    return schema_reason_class_name(schema_reason_class(m.reason));
}

START_TEST(reason_classes_name_the_kind) {
    const char *ok = "{\"event_id\":1,\"sample_id\":\"S\",\"patient_id\":\"P\","
                     "\"specimen_type\":\"blood\",\"collected_at\":\"2024-01-01\","
                     "\"consent_research\":true}";
    schema_message m;
    ck_assert_int_eq(schema_message_map(&m, "topic1", "1", 1, ok, strlen(ok)), 0);
    schema_message_done(&m);
    ck_assert_str_eq(class_of("topic1", "1", ""), "empty_value");
    ck_assert_str_eq(class_of("topic1", "1", "{"), "not_json");
    ck_assert_str_eq(class_of("topic1", "1", "[1]"), "not_object");
    ck_assert_str_eq(class_of("topic1", "1", "{\"nope\":1}"), "unknown_field");
    ck_assert_str_eq(class_of("topic1", "1", "{\"event_id\":1}"), "missing_field");
    ck_assert_str_eq(class_of("topic1", "1", "{\"event_id\":\"x\"}"), "wrong_type");
    ck_assert_str_eq(class_of("topic1", "1", "{\"event_id\":-4}"), "invalid_value");
    ck_assert_str_eq(class_of("topic1", NULL, ok), "no_key");
    ck_assert_str_eq(class_of("topic1", "2", ok), "key_mismatch");
    ck_assert_str_eq(class_of("elsewhere", "1", ok), "unknown_topic");
    char big[70000];
    memset(big, ' ', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ck_assert_str_eq(class_of("topic1", "1", big), "too_large");
    ck_assert_str_eq(schema_reason_class_name(schema_reason_class("rejected by table data1: x")),
                     "rejected_by_table");
    ck_assert_str_eq(schema_reason_class_name(schema_reason_class("something new")), "other");
    ck_assert_int_eq(schema_reason_class(NULL), SCHEMA_REASON_CLASSES - 1);
}
END_TEST

START_TEST(metrics_addr_forms) {
    char host[64], err[256];
    unsigned port = 1;
    ck_assert_int_eq(metrics_addr_parse("9464", host, sizeof host, &port, err, sizeof err), 0);
    ck_assert_str_eq(host, "127.0.0.1");
    ck_assert_uint_eq(port, 9464);
    ck_assert_int_eq(metrics_addr_parse("0.0.0.0:80", host, sizeof host, &port, err, sizeof err), 0);
    ck_assert_str_eq(host, "0.0.0.0");
    ck_assert_uint_eq(port, 80);
    ck_assert_int_eq(metrics_addr_parse("[::1]:0", host, sizeof host, &port, err, sizeof err), 0);
    ck_assert_str_eq(host, "::1");
    ck_assert_uint_eq(port, 0);
    ck_assert_int_eq(metrics_addr_parse("localhost:x", host, sizeof host, &port, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "0..65535"));
    ck_assert_int_eq(metrics_addr_parse("65536", host, sizeof host, &port, err, sizeof err), -1);
    ck_assert_int_eq(metrics_addr_parse(":80", host, sizeof host, &port, err, sizeof err), -1);
    ck_assert_int_eq(metrics_addr_parse("h:", host, sizeof host, &port, err, sizeof err), -1);
    ck_assert_int_eq(metrics_addr_parse("[::1]80", host, sizeof host, &port, err, sizeof err), -1);
}
END_TEST

static int fake_render(void *ctx, char **body, size_t *len) {
    (void)ctx;
    *body = strdup("x_total 1\n");
    *len = strlen(*body);
    return 0;
}
static bool fake_healthy(void *ctx, char *why, size_t len) {
    (void)ctx, (void)why, (void)len;
    return true;
}
static bool fake_unready(void *ctx, char *why, size_t len) {
    (void)ctx;
    snprintf(why, len, "waiting for partitions");
    return false;
}

/* Sends request to 127.0.0.1:port and returns the whole answer (freed by
 * the caller). */
static char *http(unsigned port, const char *request) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(write(fd, request, strlen(request)), (ssize_t)strlen(request));
    char *out = calloc(1, 65536);
    size_t n = 0;
    ssize_t k;
    while (n < 65535 && (k = read(fd, out + n, 65535 - n)) > 0) n += (size_t)k;
    close(fd);
    return out;
}

START_TEST(server_answers_each_path) {
    char err[256];
    metrics_handlers h = {fake_render, fake_healthy, fake_unready, NULL};
    metrics_server *s = metrics_server_start("127.0.0.1:0", &h, err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    unsigned port = metrics_server_port(s);
    ck_assert_uint_ne(port, 0);
    const char *close_hdr = " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    char req[256];
    snprintf(req, sizeof req, "GET /metrics%s", close_hdr);
    char *a = http(port, req);
    ck_assert_msg(strncmp(a, "HTTP/1.1 200", 12) == 0, "%s", a);
    ck_assert_ptr_nonnull(strstr(a, "Content-Type: text/plain; version=0.0.4"));
    ck_assert_ptr_nonnull(strstr(a, "\r\n\r\nx_total 1\n"));
    free(a);
    snprintf(req, sizeof req, "GET /healthz%s", close_hdr);
    a = http(port, req);
    ck_assert_msg(strncmp(a, "HTTP/1.1 200", 12) == 0 && strstr(a, "\r\n\r\nok\n"), "%s", a);
    free(a);
    snprintf(req, sizeof req, "GET /readyz%s", close_hdr);
    a = http(port, req);
    ck_assert_msg(strncmp(a, "HTTP/1.1 503", 12) == 0 && strstr(a, "waiting for partitions\n"),
                  "%s", a);
    free(a);
    snprintf(req, sizeof req, "GET /other%s", close_hdr);
    a = http(port, req);
    ck_assert_msg(strncmp(a, "HTTP/1.1 404", 12) == 0, "%s", a);
    free(a);
    snprintf(req, sizeof req, "DELETE /metrics%s", close_hdr);
    a = http(port, req);
    ck_assert_msg(strncmp(a, "HTTP/1.1 405", 12) == 0, "%s", a);
    free(a);
    /* A second server on the same port is refused with a reason. */
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", port);
    ck_assert_ptr_null(metrics_server_start(addr, &h, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "cannot listen"));
    metrics_server_stop(s);
    /* Stopped: nothing listens there any more. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_ne(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    close(fd);
}
END_TEST

/* A client that sent half a request and waits is no reason for the stop to
 * wait: the stop closes its connection (a hang here fails by Check's
 * timeout). */
START_TEST(server_stops_with_a_client_mid_request) {
    char err[256];
    metrics_handlers h = {fake_render, fake_healthy, fake_unready, NULL};
    metrics_server *s = metrics_server_start("0", &h, err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)metrics_server_port(s))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(write(fd, "GET /metr", 9), 9);
    usleep(100000); /* let the server take the connection */
    metrics_server_stop(s);
    char c;
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ssize_t n = read(fd, &c, 1);
    /* Closed (0) or reset (ECONNRESET); a timeout (EAGAIN) would mean left open. */
    ck_assert_msg(n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK),
                  "read %zd (%s): the connection outlived the server", n, strerror(errno));
    close(fd);
}
END_TEST

/* The URL --probe asks: as given, or the path on --metrics-addr with a
 * wildcard host made the loopback of its family. */
START_TEST(probe_url_forms) {
    char url[256], err[256];
    ck_assert_int_eq(probe_url("readyz", "0.0.0.0:9101", url, sizeof url, err, sizeof err), 0);
    ck_assert_str_eq(url, "http://127.0.0.1:9101/readyz");
    ck_assert_int_eq(probe_url("/healthz", "9102", url, sizeof url, err, sizeof err), 0);
    ck_assert_str_eq(url, "http://127.0.0.1:9102/healthz");
    ck_assert_int_eq(probe_url("readyz", "[::]:9103", url, sizeof url, err, sizeof err), 0);
    ck_assert_str_eq(url, "http://[::1]:9103/readyz");
    ck_assert_int_eq(probe_url("readyz", "[0:0::0]:9103", url, sizeof url, err, sizeof err), 0);
    ck_assert_str_eq(url, "http://[::1]:9103/readyz");
    ck_assert_int_eq(probe_url("readyz", "[::1]:9104", url, sizeof url, err, sizeof err), 0);
    ck_assert_str_eq(url, "http://[::1]:9104/readyz");
    ck_assert_int_eq(probe_url("readyz", "10.0.0.7:9105", url, sizeof url, err, sizeof err), 0);
    ck_assert_str_eq(url, "http://10.0.0.7:9105/readyz");
    ck_assert_int_eq(probe_url("readyz", "db:9106", url, sizeof url, err, sizeof err), 0);
    ck_assert_str_eq(url, "http://db:9106/readyz");
    /* A URL is taken as it is, whatever --metrics-addr says. */
    ck_assert_int_eq(probe_url("http://h:1/readyz", "9101", url, sizeof url, err, sizeof err), 0);
    ck_assert_str_eq(url, "http://h:1/readyz");
    ck_assert_int_eq(probe_url("HTTP://h:1/x", NULL, url, sizeof url, err, sizeof err), 0);
    /* Refused, with a reason. */
    ck_assert_int_eq(probe_url("readyz", NULL, url, sizeof url, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "no --metrics-addr"));
    ck_assert_int_eq(probe_url("readyz", "127.0.0.1:0", url, sizeof url, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "port 0"));
    ck_assert_int_eq(probe_url("readyz", "h:x", url, sizeof url, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "0..65535"));
    ck_assert_int_eq(probe_url("https://h/readyz", NULL, url, sizeof url, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "only an http:// URL"));
    ck_assert_int_eq(probe_url("file:///etc/passwd", NULL, url, sizeof url, err, sizeof err), -1);
    ck_assert_int_eq(probe_url("http://", NULL, url, sizeof url, err, sizeof err), -1);
    ck_assert_int_eq(probe_url("ready z", "9101", url, sizeof url, err, sizeof err), -1);
    ck_assert_int_eq(probe_url("readyz\n", "9101", url, sizeof url, err, sizeof err), -1);
    ck_assert_int_eq(probe_url("", "9101", url, sizeof url, err, sizeof err), -1);
    char small[16];
    ck_assert_int_eq(probe_url("readyz", "9101", small, sizeof small, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "too long"));
}
END_TEST

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* What the probe reads from each answer of a real endpoint, and from none. */
START_TEST(probe_reads_the_endpoint) {
    char err[256], url[128], text[512];
    metrics_handlers h = {fake_render, fake_healthy, fake_unready, NULL};
    metrics_server *s = metrics_server_start("127.0.0.1:0", &h, err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    unsigned port = metrics_server_port(s);
    snprintf(url, sizeof url, "http://127.0.0.1:%u/healthz", port);
    ck_assert_int_eq(probe_get(url, 5000, text, sizeof text), 200);
    ck_assert_str_eq(text, "ok");
    snprintf(url, sizeof url, "http://127.0.0.1:%u/readyz", port);
    ck_assert_int_eq(probe_get(url, 5000, text, sizeof text), 503);
    ck_assert_str_eq(text, "waiting for partitions");
    snprintf(url, sizeof url, "http://127.0.0.1:%u/nothing", port);
    ck_assert_int_eq(probe_get(url, 5000, text, sizeof text), 404);
    /* A long answer: its first line is kept, the rest is not waited for. */
    snprintf(url, sizeof url, "http://127.0.0.1:%u/metrics", port);
    ck_assert_int_eq(probe_get(url, 5000, text, sizeof text), 200);
    ck_assert_str_eq(text, "x_total 1");
    /* The same through the mode the services run. */
    char addr[32];
    snprintf(addr, sizeof addr, "%u", port);
    ck_assert_int_eq(probe_run("test", "healthz", addr), 0);
    ck_assert_int_eq(probe_run("test", "/readyz", addr), 69);
    ck_assert_int_eq(probe_run("test", "readyz", NULL), 64);
    metrics_server_stop(s);
    /* Nothing listens: no answer, at once. */
    snprintf(url, sizeof url, "http://127.0.0.1:%u/readyz", port);
    ck_assert_int_eq(probe_get(url, 5000, text, sizeof text), -1);
    ck_assert_ptr_nonnull(strstr(text, "onnect"));
    ck_assert_int_eq(probe_run("test", "healthz", addr), 69);
}
END_TEST

/* A listener that never answers (a wedged service) holds the probe no
 * longer than its timeout. */
START_TEST(probe_is_bounded_by_its_timeout) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(fd, 4), 0); /* the kernel accepts; nobody reads */
    socklen_t alen = sizeof a;
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    char url[128], text[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/readyz", ntohs(a.sin_port));
    double t0 = now_s();
    ck_assert_int_eq(probe_get(url, 300, text, sizeof text), -1);
    double took = now_s() - t0;
    ck_assert_msg(took >= 0.25, "gave up after %.3f s, before its 0.3 s", took);
    ck_assert_ptr_nonnull(strstr(text, "timed out"));
    close(fd);
}
END_TEST

static Suite *metrics_suite(void) {
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, counter_with_labels_renders_exactly);
    tcase_add_test(tc, escaping_of_labels_and_help);
    tcase_add_test(tc, histogram_is_cumulative_with_inf_sum_and_count);
    tcase_add_test(tc, numbers_as_the_format_spells_them);
    tcase_add_test(tc, bad_families_are_refused);
    tcase_add_test(tc, label_sets_are_bounded);
    tcase_add_test(tc, concurrent_updates_are_exact);
    tcase_add_test(tc, reason_classes_name_the_kind);
    tcase_add_test(tc, metrics_addr_forms);
    tcase_add_test(tc, server_answers_each_path);
    tcase_add_test(tc, server_stops_with_a_client_mid_request);
    tcase_add_test(tc, probe_url_forms);
    tcase_add_test(tc, probe_reads_the_endpoint);
    tcase_add_test(tc, probe_is_bounded_by_its_timeout);
    suite_add_tcase(s, tc);
    return s;
}

const unit_def unit_tests = {metrics_suite, NULL, NULL};
