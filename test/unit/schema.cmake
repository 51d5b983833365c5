gk_unit_test(test_schema SOURCES test_schema.c LIBS gk_schema PkgConfig::JANSSON)
gk_unit_test(test_common SOURCES test_common.c LIBS gk_common)
