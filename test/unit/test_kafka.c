/* test_kafka.c - the Kafka side's pieces that need no broker: the layering
 * of librdkafka settings, and the next offsets the consumer loop hands a
 * store with every batch (kafka/store.h). */
#include "common/cli.h"
#include "common/log.h"
#include "kafka/kafka.h"
#include "kafka/store.h"
#include "test/unit/runner.h"

#include <string.h>

START_TEST(kafka_conf_layers) {
    cli_kv_list over = {0};
    cli_kv_add(&over, "linger.ms=7");
    kafka_default defs[] = {{"linger.ms", "1"}, {"acks", "all"}, {NULL, NULL}};
    rd_kafka_conf_t *c = kafka_conf_new("127.0.0.1:1", defs, &over);
    ck_assert_ptr_nonnull(c);
    char buf[64];
    size_t sz = sizeof buf;
    ck_assert_int_eq(rd_kafka_conf_get(c, "linger.ms", buf, &sz), RD_KAFKA_CONF_OK);
    ck_assert_str_eq(buf, "7");
    rd_kafka_conf_destroy(c);
    cli_kv_add(&over, "no.such.property=1");
    ck_assert_ptr_null(kafka_conf_new("127.0.0.1:1", defs, &over));
    cli_kv_free(&over);
}
END_TEST

/* Per partition, in order of first appearance: the offset after its last message. */
START_TEST(batch_next_offsets) {
    /* Two copies of one topic name: partitions are told apart by the text. */
    char t1[] = "topic1", t1b[] = "topic1";
    msg_view m[] = {
        {.topic = t1, .partition = 0, .offset = 5},  {.topic = t1, .partition = 0, .offset = 6},
        {.topic = "topic2", .partition = 0, .offset = 9},
        {.topic = t1b, .partition = 1, .offset = 3}, {.topic = t1b, .partition = 0, .offset = 7},
        {.topic = "topic2", .partition = 0, .offset = 10},
    };
    consume_partition next[6];
    ck_assert_uint_eq(consume_batch_offsets(m, 6, next), 3);
    ck_assert_str_eq(next[0].topic, "topic1");
    ck_assert_int_eq(next[0].partition, 0);
    ck_assert_int_eq(next[0].offset, 8);
    ck_assert_str_eq(next[1].topic, "topic2");
    ck_assert_int_eq(next[1].offset, 11);
    ck_assert_int_eq(next[2].partition, 1);
    ck_assert_int_eq(next[2].offset, 4);
    ck_assert_uint_eq(consume_batch_offsets(m, 0, next), 0);
}
END_TEST

static Suite *kafka_suite(void) {
    log_init("test_kafka", LOG_ERROR);
    Suite *s = suite_create("kafka");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, kafka_conf_layers);
    tcase_add_test(tc, batch_next_offsets);
    suite_add_tcase(s, tc);
    return s;
}

const unit_def unit_tests = {kafka_suite, NULL, NULL};
