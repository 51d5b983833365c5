# db_consumer's SQLite sink, tested without Kafka.
gk_unit_test(test_sink SOURCES test_sink.c LIBS gk_sink)
