/* test_common.c - the generic core: option tables with environment twins,
 * key=value lists, log levels. */
#include "common/cli.h"
#include "common/log.h"
#include "test/unit/runner.h"

#include <stdlib.h>
#include <string.h>

static const char *opt_db;
static long opt_batch;
static int opt_flag;
static cli_kv_list opt_x;
static const cli_program prog = {"t", "[options] FILE...", "test", NULL};
static const cli_option opts[] = {
    {"db", 0, "GK_TEST_DB", CLI_STRING, &opt_db, "PATH", "database"},
    {"batch", 'n', "GK_TEST_BATCH", CLI_INT, &opt_batch, "N", "batch size"},
    {"fast", 'f', "GK_TEST_FAST", CLI_FLAG, &opt_flag, NULL, "go fast"},
    {"kafka", 'X', "GK_TEST_X", CLI_KV, &opt_x, "KEY=VALUE", "librdkafka property"},
    {NULL, 0, NULL, 0, NULL, NULL, NULL},
};

static void reset(void) {
    opt_db = "default.db";
    opt_batch = 10;
    opt_flag = 0;
    cli_kv_free(&opt_x);
    unsetenv("GK_TEST_DB");
    unsetenv("GK_TEST_BATCH");
    unsetenv("GK_TEST_FAST");
    unsetenv("GK_TEST_X");
}

START_TEST(env_then_argv) {
    reset();
    setenv("GK_TEST_DB", "env.db", 1);
    setenv("GK_TEST_BATCH", "20", 1);
    setenv("GK_TEST_FAST", "yes", 1);
    setenv("GK_TEST_X", "linger.ms=5; acks=all", 1);
    char *argv[] = {"t", "--batch", "30", "-X", "compression.codec=lz4", "file.xlsx", NULL};
    int first = 0;
    ck_assert_int_eq(cli_parse(&prog, opts, 6, argv, &first), 0);
    ck_assert_str_eq(opt_db, "env.db");   /* from the environment */
    ck_assert_int_eq(opt_batch, 30);      /* the command line wins */
    ck_assert_int_eq(opt_flag, 1);
    ck_assert_uint_eq(opt_x.count, 3);
    ck_assert_str_eq(opt_x.keys[1], "acks");
    ck_assert_str_eq(opt_x.values[2], "lz4");
    ck_assert_int_eq(first, 5);
    reset();
}
END_TEST

START_TEST(bad_values) {
    reset();
    char *argv1[] = {"t", "--batch", "3x", NULL};
    int first = 0;
    ck_assert_int_eq(cli_parse(&prog, opts, 3, argv1, &first), -1);
    char *argv2[] = {"t", "-X", "novalue", NULL};
    ck_assert_int_eq(cli_parse(&prog, opts, 3, argv2, &first), -1);
    setenv("GK_TEST_FAST", "maybe", 1);
    char *argv3[] = {"t", NULL};
    ck_assert_int_eq(cli_parse(&prog, opts, 1, argv3, &first), -1);
    reset();
}
END_TEST

START_TEST(log_levels) {
    log_level l;
    ck_assert_int_eq(log_level_parse("DEBUG", &l), 0);
    ck_assert_int_eq(l, LOG_DEBUG);
    ck_assert_int_eq(log_level_parse("warning", &l), 0);
    ck_assert_int_eq(l, LOG_WARN);
    ck_assert_int_eq(log_level_parse("loud", &l), -1);
}
END_TEST

static Suite *common_suite(void) {
    log_init("test_common", LOG_ERROR);
    Suite *s = suite_create("common");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, env_then_argv);
    tcase_add_test(tc, bad_values);
    tcase_add_test(tc, log_levels);
    suite_add_tcase(s, tc);
    return s;
}

const unit_def unit_tests = {common_suite, NULL, NULL};
