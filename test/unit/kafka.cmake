# kafka/: settings layering and the batch offsets the loop hands a store.
gk_unit_test(test_kafka SOURCES test_kafka.c LIBS gk_kafka)
