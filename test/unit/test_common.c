/* test_common.c - the generic core: option tables with environment twins,
 * ranges and the environment naming scheme, key=value lists and properties
 * files, non-blocking input files, log levels. */
#include "common/cli.h"
#include "common/freeze.h"
#include "common/infile.h"
#include "common/log.h"
#include "test/unit/runner.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *opt_db;
static long opt_batch;
static double opt_rate;
static int opt_flag;
static cli_kv_list opt_x;
static const char *opt_bootstrap;
static const cli_program prog = {"t", "[options] FILE...", "test", NULL};
static const cli_option opts[] = {
    CLI_OPT_BOOTSTRAP(&opt_bootstrap),
    CLI_OPT_KAFKA_CONFIG_FILE(&opt_x),
    CLI_OPT_KAFKA_CONFIG(&opt_x),
    {.long_name = "db", .env = "GK_T_DB", .kind = CLI_STRING, .target = &opt_db,
     .metavar = "PATH", .help = "database", .min = 1, .max = CLI_ANY_LEN},
    {.long_name = "batch", .short_name = 'n', .env = "GK_T_BATCH", .kind = CLI_INT,
     .target = &opt_batch, .metavar = "N", .help = "batch size", .min = 1, .max = 1000,
     .also = "-1"},
    {.long_name = "rate", .env = "GK_T_RATE", .kind = CLI_DOUBLE, .target = &opt_rate,
     .metavar = "R", .help = "rate", .min = 0.001, .max = 86400, .also = "0"},
    {.long_name = "fast", .short_name = 'f', .env = "GK_T_FAST", .kind = CLI_FLAG,
     .target = &opt_flag, .help = "go fast"},
    CLI_OPT_END,
};

static char tmpdir[64];

static void reset(void) {
    opt_db = "default.db";
    opt_batch = 10;
    opt_rate = 0;
    opt_flag = 0;
    opt_bootstrap = "localhost:9092";
    cli_kv_free(&opt_x);
    static const char *const vars[] = {"GK_T_DB", "GK_T_BATCH", "GK_T_RATE", "GK_T_FAST",
                                       "KAFKA_CONFIG", "KAFKA_CONFIG_FILE", "KAFKA_BOOTSTRAP"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) unsetenv(vars[i]);
}

/* cli_parse on a NULL-terminated argv; returns its result. */
static int parse(char **argv) {
    int argc = 0, first = 0;
    while (argv[argc]) argc++;
    return cli_parse(&prog, opts, argc, argv, &first);
}

START_TEST(env_then_argv) {
    reset();
    setenv("GK_T_DB", "env.db", 1);
    setenv("GK_T_BATCH", "20", 1);
    setenv("GK_T_FAST", "yes", 1);
    setenv("KAFKA_CONFIG", "linger.ms=5; acks=all", 1);
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
    ck_assert_int_eq(parse(argv1), -1);
    char *argv2[] = {"t", "-X", "novalue", NULL};
    ck_assert_int_eq(parse(argv2), -1);
    setenv("GK_T_FAST", "maybe", 1);
    char *argv3[] = {"t", NULL};
    ck_assert_int_eq(parse(argv3), -1);
    reset();
}
END_TEST

/* Every number is checked against the option's range, in one place: NaN,
 * infinities, overflow and values beyond the range are refused; the one
 * extra value ("also") is accepted. */
START_TEST(ranges) {
    static const char *const bad[][2] = {
        {"--rate", "nan"},   {"--rate", "inf"},        {"--rate", "-inf"},
        {"--rate", "1e-9"},  {"--rate", "86401"},      {"--rate", "1e400"},
        {"--rate", "-1"},    {"--rate", "0x"},         {"--rate", ""},
        {"--batch", "0"},    {"--batch", "1001"},      {"--batch", "-2"},
        {"--batch", "99999999999999999999"},           {"--batch", "1.5"},
        {"--rate", "2147484"}, {"--rate", " 5"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        reset();
        char *argv[] = {"t", (char *)bad[i][0], (char *)bad[i][1], NULL};
        ck_assert_msg(parse(argv) == -1, "%s %s was accepted", bad[i][0], bad[i][1]);
    }
    reset();
    char *ok[] = {"t", "--rate", "0", "--batch", "-1", NULL};
    ck_assert_int_eq(parse(ok), 0);
    ck_assert(opt_rate == 0 && opt_batch == -1);
    char *ok2[] = {"t", "--rate", "0.5", "--batch", "1000", NULL};
    ck_assert_int_eq(parse(ok2), 0);
    ck_assert(opt_rate == 0.5 && opt_batch == 1000);
    /* The environment is held to the same ranges. */
    setenv("GK_T_RATE", "inf", 1);
    char *none[] = {"t", NULL};
    ck_assert_int_eq(parse(none), -1);
    reset();
}
END_TEST

/* An empty value of a text option that needs one is an error, whether from
 * the environment (KAFKA_BOOTSTRAP="") or the command line. */
START_TEST(empty_strings) {
    reset();
    setenv("KAFKA_BOOTSTRAP", "", 1);
    char *none[] = {"t", NULL};
    ck_assert_int_eq(parse(none), -1);
    reset();
    char *argv[] = {"t", "--db", "", NULL};
    ck_assert_int_eq(parse(argv), -1);
    reset();
}
END_TEST

/* --bootstrap-server is the Kafka tools' spelling of --bootstrap. */
START_TEST(alias) {
    reset();
    char *argv[] = {"t", "--bootstrap-server", "k:9093", NULL};
    ck_assert_int_eq(parse(argv), 0);
    ck_assert_str_eq(opt_bootstrap, "k:9093");
    reset();
}
END_TEST

/* Writes text to a file in the test's directory; returns its path. */
static const char *write_file(const char *name, const char *text) {
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return path;
}

/* A properties file: comments, blank lines, values with ';', '=' and spaces,
 * CR LF line ends; read before the -X that follow it, so -X wins. */
START_TEST(properties_file) {
    reset();
    const char *path = write_file("client.properties",
                                  "# secrets stay off the command line\n"
                                  "\n"
                                  "  sasl.username = alice\r\n"
                                  "sasl.password=p;ss=w0rd; with spaces \n"
                                  "! another comment\n"
                                  "linger.ms=5");
    char *argv[] = {"t", "-F", (char *)path, "-X", "linger.ms=7", NULL};
    ck_assert_int_eq(parse(argv), 0);
    ck_assert_uint_eq(opt_x.count, 4);
    ck_assert_str_eq(opt_x.keys[0], "sasl.username");
    ck_assert_str_eq(opt_x.values[0], "alice");
    ck_assert_str_eq(opt_x.values[1], "p;ss=w0rd; with spaces ");
    ck_assert_str_eq(opt_x.keys[2], "linger.ms");
    ck_assert_str_eq(opt_x.values[3], "7");
    /* The environment twin. */
    reset();
    setenv("KAFKA_CONFIG_FILE", path, 1);
    char *none[] = {"t", NULL};
    ck_assert_int_eq(parse(none), 0);
    ck_assert_uint_eq(opt_x.count, 3);
    reset();
}
END_TEST

START_TEST(properties_file_errors) {
    char err[512];
    cli_kv_list l = {0};
    const char *bad = write_file("bad.properties", "a=1\nno equals sign secret\n");
    ck_assert_int_eq(cli_kv_add_file(&l, bad, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "line 2: expected key=value"));
    ck_assert_ptr_null(strstr(err, "secret")); /* values are never echoed */
    cli_kv_free(&l);
    const char *nokey = write_file("nokey.properties", "=value\n");
    ck_assert_int_eq(cli_kv_add_file(&l, nokey, err, sizeof err), -1);
    cli_kv_free(&l);
    char missing[128];
    snprintf(missing, sizeof missing, "%s/absent.properties", tmpdir);
    ck_assert_int_eq(cli_kv_add_file(&l, missing, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "No such file"));
    /* Bounded: one byte over the limit is refused. */
    char big[160];
    snprintf(big, sizeof big, "%s/big.properties", tmpdir);
    FILE *f = fopen(big, "w");
    for (int i = 0; i <= CLI_KV_FILE_MAX; i++) fputc('#', f);
    fclose(f);
    ck_assert_int_eq(cli_kv_add_file(&l, big, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "larger than"));
    cli_kv_free(&l);
}
END_TEST

/* A FIFO (or a directory) is refused at once, never waited on: the check
 * would hang here, until the test's timeout, if the open blocked. */
START_TEST(infile_fifo) {
    char path[128], err[512];
    snprintf(path, sizeof path, "%s/fifo", tmpdir);
    ck_assert_int_eq(mkfifo(path, 0600), 0);
    ck_assert_int_eq(infile_open(path, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "not a regular file (a FIFO)"));
    ck_assert_int_eq(infile_open(tmpdir, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "a directory"));
    cli_kv_list l = {0};
    ck_assert_int_eq(cli_kv_add_file(&l, path, err, sizeof err), -1);
    const char *ok = write_file("plain", "x");
    int fd = infile_open(ok, err, sizeof err);
    ck_assert_int_ge(fd, 0);
    char c;
    ck_assert_int_eq(read(fd, &c, 1), 1); /* a blocking descriptor again */
    ck_assert_int_eq(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
    close(fd);
    unlink(path);
}
END_TEST

START_TEST(env_scheme_names) {
    char buf[64];
    cli_env_name("db_consumer", "group", buf, sizeof buf);
    ck_assert_str_eq(buf, "GK_DB_CONSUMER_GROUP");
    cli_env_name("ack_consumer", "keep-state-on-new-cluster", buf, sizeof buf);
    ck_assert_str_eq(buf, "GK_ACK_CONSUMER_KEEP_STATE_ON_NEW_CLUSTER");
}
END_TEST

/* A table that breaks the scheme cannot even start: exit 70. */
START_TEST(env_scheme_enforced) {
    static long v = 1;
    static const cli_option table[] = {
        {.long_name = "group", .env = "GK_GROUP", .kind = CLI_INT, .target = &v, .min = 0,
         .max = 9},
        CLI_OPT_END,
    };
    char *argv[] = {"t", NULL};
    int first;
    cli_parse(&prog, table, 1, argv, &first);
}
END_TEST

START_TEST(range_required) {
    static long v = 1;
    static const cli_option table[] = {
        {.long_name = "n", .env = "GK_T_N", .kind = CLI_INT, .target = &v},
        CLI_OPT_END,
    };
    char *argv[] = {"t", NULL};
    int first;
    cli_parse(&prog, table, 1, argv, &first);
}
END_TEST

START_TEST(shared_name_misused) {
    static const char *v;
    static const cli_option table[] = {
        {.long_name = "server", .env = "KAFKA_BOOTSTRAP", .kind = CLI_STRING, .target = &v},
        CLI_OPT_END,
    };
    char *argv[] = {"t", NULL};
    int first;
    cli_parse(&prog, table, 1, argv, &first);
}
END_TEST

START_TEST(version_text) {
    const char *v = cli_version();
    ck_assert_int_gt((int)strlen(v), 4);
    ck_assert(v[0] >= '0' && v[0] <= '9');
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

static int common_before(int argc, char **argv) {
    (void)argc, (void)argv;
    snprintf(tmpdir, sizeof tmpdir, "%s/gk-common.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    return -1;
}

static void common_after(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", tmpdir);
}

/* freeze: a main thread merely busy (sleeping) for longer than the limit is
 * not a stop; a SIGSTOP of the whole process, continued by a child seconds
 * later, is - and it is forgotten once the window has passed. */
START_TEST(freeze_watch) {
    ck_assert_int_eq(freeze_watch_start(1000000), 0);
    ck_assert_int_eq(freeze_watch_start(1000000), 0); /* a second start does nothing */
    usleep(1500000);
    ck_assert(!freeze_thawed_within(60000000));
    pid_t parent = getpid();
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        usleep(2500000);
        kill(parent, SIGCONT);
        _exit(0);
    }
    raise(SIGSTOP);
    int status = 0;
    ck_assert_int_eq(waitpid(child, &status, 0), child);
    for (int i = 0; i < 50 && !freeze_thawed_within(60000000); i++) usleep(100000);
    ck_assert(freeze_thawed_within(60000000));
    usleep(300000);
    ck_assert(!freeze_thawed_within(200000));
    freeze_watch_stop();
    freeze_watch_stop(); /* safe twice */
}
END_TEST

static Suite *common_suite(void) {
    log_init("test_common", LOG_ERROR);
    Suite *s = suite_create("common");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, env_then_argv);
    tcase_add_test(tc, bad_values);
    tcase_add_test(tc, ranges);
    tcase_add_test(tc, empty_strings);
    tcase_add_test(tc, alias);
    tcase_add_test(tc, properties_file);
    tcase_add_test(tc, properties_file_errors);
    tcase_add_test(tc, infile_fifo);
    tcase_add_test(tc, env_scheme_names);
    tcase_add_exit_test(tc, env_scheme_enforced, 70);
    tcase_add_exit_test(tc, range_required, 70);
    tcase_add_exit_test(tc, shared_name_misused, 70);
    tcase_add_test(tc, version_text);
    tcase_add_test(tc, log_levels);
    tcase_add_test(tc, freeze_watch);
    suite_add_tcase(s, tc);
    return s;
}

const unit_def unit_tests = {common_suite, common_before, common_after};
