# kafka/: settings layering and the batch offsets the loop hands a store;
# the consumer lag read from librdkafka's statistics (test_kafka_stats).
gk_unit_test(test_kafka SOURCES test_kafka.c LIBS gk_kafka)
gk_unit_test(test_kafka_stats SOURCES test_kafka_stats.c LIBS gk_kafka)
