# db_consumer's SQLite store, tested without Kafka.
gk_unit_test(test_store_sqlite SOURCES test_store_sqlite.c LIBS gk_store_sqlite)
