# common/: options (ranges, properties files, the environment scheme), input
# files, log levels; and, over every user program in build/bin, that no
# environment name means two things (test_env_names runs them all, so it
# waits for them to be built).
gk_unit_test(test_common SOURCES test_common.c LIBS gk_common)
gk_unit_test(test_env_names SOURCES test_env_names.c LIBS gk_common)
add_dependencies(test_env_names ${GK_USER_PROGRAMS})
set_property(TEST test_env_names APPEND PROPERTY ENVIRONMENT "GK_BIN=${CMAKE_BINARY_DIR}/bin")
