gk_unit_test(test_schema SOURCES test_schema.c LIBS gk_schema PkgConfig::JANSSON)
