# db_consumer's batch rule and PostgreSQL store, and the SQL the schema
# generates for each dialect.
gk_unit_test(test_db_batch SOURCES test_db_batch.c LIBS gk_db_store)
gk_unit_test(test_schema_sql SOURCES test_schema_sql.c LIBS gk_schema)
# Against a private server it starts and stops itself (scripts/postgres.sh).
gk_unit_test(test_store_pg SOURCES test_store_pg.c LIBS gk_db_store Threads::Threads)
set_tests_properties(test_store_pg PROPERTIES LABELS "unit;postgresql" ENVIRONMENT
  "GK_SOURCE=${CMAKE_SOURCE_DIR};CK_DEFAULT_TIMEOUT=60;CK_TIMEOUT_MULTIPLIER=5")
