/* test_kafka_stats.c - the consumer lag read from librdkafka's statistics
 * (kafka/stats.h): from the position to the last stable offset, partitions
 * not fetching and librdkafka's internal partition -1 left out, a
 * producer's statistics and unreadable text refused. The texts follow the
 * layout of librdkafka's STATISTICS.md, trimmed to the fields read. */
#include "kafka/stats.h"
#include "test/unit/runner.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    char seen[8][64];
    size_t n;
} lags;

static void collect(const char *topic, int32_t partition, int64_t lag, void *opaque) {
    lags *l = opaque;
    ck_assert_uint_lt(l->n, 8);
    snprintf(l->seen[l->n++], sizeof l->seen[0], "%s[%d]=%lld", topic, (int)partition,
             (long long)lag);
}

START_TEST(lag_from_position_to_last_stable_offset) {
    const char *json =
        "{\"name\":\"rdkafka#consumer-1\",\"type\":\"consumer\",\"topics\":{"
        "\"topic1\":{\"topic\":\"topic1\",\"partitions\":{"
        "\"0\":{\"partition\":0,\"app_offset\":40,\"committed_offset\":30,\"hi_offset\":50,"
        "\"ls_offset\":45,\"consumer_lag\":15},"
        "\"1\":{\"partition\":1,\"app_offset\":50,\"hi_offset\":50,\"ls_offset\":50},"
        "\"-1\":{\"partition\":-1,\"app_offset\":-1001,\"hi_offset\":-1001,\"ls_offset\":-1001}}},"
        "\"topic2\":{\"topic\":\"topic2\",\"partitions\":{"
        "\"2\":{\"partition\":2,\"app_offset\":7,\"hi_offset\":9,\"ls_offset\":-1001},"
        "\"3\":{\"partition\":3,\"app_offset\":-1001,\"hi_offset\":9,\"ls_offset\":9}}}}}";
    lags l = {0};
    /* 45-40 (ls_offset, not hi_offset or the committed offset), 0, and 9-7
     * (hi_offset when there is no ls_offset); partition 3 is not fetching. */
    ck_assert_int_eq(kafka_stats_lags(json, strlen(json), collect, &l), 7);
    ck_assert_uint_eq(l.n, 3);
    ck_assert_str_eq(l.seen[0], "topic1[0]=5");
    ck_assert_str_eq(l.seen[1], "topic1[1]=0");
    ck_assert_str_eq(l.seen[2], "topic2[2]=2");
}
END_TEST

START_TEST(only_a_consumers_statistics) {
    lags l = {0};
    const char *producer = "{\"type\":\"producer\",\"topics\":{\"t\":{\"partitions\":{"
                           "\"0\":{\"app_offset\":1,\"hi_offset\":5}}}}}";
    ck_assert_int_eq(kafka_stats_lags(producer, strlen(producer), collect, &l), -1);
    ck_assert_int_eq(kafka_stats_lags("{not json", 9, collect, &l), -1);
    ck_assert_uint_eq(l.n, 0);
    const char *empty = "{\"type\":\"consumer\",\"topics\":{}}";
    ck_assert_int_eq(kafka_stats_lags(empty, strlen(empty), collect, &l), 0);
}
END_TEST

static Suite *stats_suite(void) {
    Suite *s = suite_create("kafka_stats");
    TCase *tc = tcase_create("lags");
    tcase_add_test(tc, lag_from_position_to_last_stable_offset);
    tcase_add_test(tc, only_a_consumers_statistics);
    suite_add_tcase(s, tc);
    return s;
}

const unit_def unit_tests = {stats_suite, NULL, NULL};
