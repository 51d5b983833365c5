# Producer unit tests (row mapping, id set, row ranges, pacing) and the
# generator of the bad xlsx corpus in test/data/bad_xlsx/.
gk_unit_test(test_producer_row SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_producer_row.c LIBS gk_producer_core Threads::Threads)
gk_unit_test(test_producer_util SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_producer_util.c LIBS gk_producer_core Threads::Threads)

add_executable(mkbadxlsx ${CMAKE_CURRENT_LIST_DIR}/../data/mkbadxlsx.c)
target_link_libraries(mkbadxlsx PRIVATE gk_common PkgConfig::XLSXWRITER PkgConfig::LIBZIP)
