# fuzz_decode: the strict JSON decoder of schema/ (included by CMakeLists.txt;
# only when the fuzz build is on). The schema is compiled into the target so
# that it is instrumented.
if(COMMAND gk_fuzz_target)
  gk_fuzz_target(fuzz_decode SOURCES fuzz_decode.c ${CMAKE_SOURCE_DIR}/schema/schema.c
    ${CMAKE_SOURCE_DIR}/schema/codec.c ${CMAKE_SOURCE_DIR}/schema/decode.c
    ${CMAKE_SOURCE_DIR}/common/numtext.c LIBS PkgConfig::JANSSON m)
endif()
