/* test_env_names.c - no environment variable means two things in two
 * programs (issue 12 item 3).
 *
 * Builds every user program's option table - by running each executable of
 * build/bin (GK_BIN) with --help-markdown, so the tables are exactly what
 * ships - and checks, over all of them together:
 *   - each program starts and prints its table (cli_parse checks ranges and
 *     the scheme at every start: a broken table exits 70 here);
 *   - every environment name is either a shared one (KAFKA_BOOTSTRAP,
 *     KAFKA_CONFIG, KAFKA_CONFIG_FILE, GK_LOG_LEVEL) or GK_<PROGRAM>_<OPTION>;
 *   - a name used by two programs is a shared one, on the same option with
 *     the same meaning in both. */
#include "common/cli.h"
#include "test/unit/runner.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ENV_MAX 512

typedef struct {
    char prog[64], env[96], option[160], meaning[512];
} env_use;

static env_use uses[ENV_MAX];
static size_t nuses;

/* Copies the text between the first two backticks of cell into out. */
static void env_between_ticks(const char *cell, char *out, size_t len) {
    const char *a = strchr(cell, '`'), *b = a ? strchr(a + 1, '`') : NULL;
    snprintf(out, len, "%.*s", a && b ? (int)(b - a - 1) : 0, a ? a + 1 : "");
}

/* The long option of an option cell ("`-b`, `--bootstrap HOST:PORT`"): the
 * first "--name", without its metavariable. */
static void env_long_option(const char *cell, char *out, size_t len) {
    const char *p = strstr(cell, "--");
    size_t n = 0;
    while (p && p[n] && p[n] != ' ' && p[n] != '`' && n + 1 < len) n++;
    snprintf(out, len, "%.*s", (int)n, p ? p : "");
}

/* Strips the default and range a program appends: the meaning itself. */
static void env_meaning(const char *cell, char *out, size_t len) {
    snprintf(out, len, "%s", cell);
    char *d = strstr(out, " (default: ");
    if (d) *d = '\0';
    size_t n = strlen(out);
    while (n && out[n - 1] == ' ') out[--n] = '\0';
}

/* Runs path --help-markdown and records every option row with a twin. */
static void env_read_program(const char *path, const char *name) {
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "'%s' --help-markdown", path);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    char line[2048];
    int rows = 0;
    while (fgets(line, sizeof line, p)) {
        if (strncmp(line, "| `", 3) != 0) continue;
        rows++;
        char *cells[3] = {line + 1, NULL, NULL};
        char *bar1 = strstr(cells[0], " | ");
        ck_assert_ptr_nonnull(bar1);
        *bar1 = '\0';
        cells[1] = bar1 + 3;
        char *bar2 = strstr(cells[1], " | ");
        ck_assert_ptr_nonnull(bar2);
        *bar2 = '\0';
        cells[2] = bar2 + 3;
        char *end = strrchr(cells[2], '|');
        if (end) *end = '\0';
        env_use u = {0};
        env_between_ticks(cells[1], u.env, sizeof u.env);
        if (!u.env[0]) continue; /* a mode without a twin (--dump-dead-letters) */
        ck_assert_uint_lt(strlen(name), sizeof u.prog);
        memcpy(u.prog, name, strlen(name) + 1);
        env_long_option(cells[0], u.option, sizeof u.option);
        env_meaning(cells[2], u.meaning, sizeof u.meaning);
        ck_assert_uint_lt(nuses, ENV_MAX);
        uses[nuses++] = u;
    }
    int status = pclose(p);
    ck_assert_msg(status == 0, "%s --help-markdown exited with status %d", name, status);
    ck_assert_msg(rows > 0, "%s printed no option table", name);
}

/* Every regular executable file of GK_BIN. Returns how many were read. */
static int env_read_all(void) {
    const char *bin = getenv("GK_BIN");
    ck_assert_msg(bin != NULL, "GK_BIN (the user programs' directory) is not set");
    DIR *d = opendir(bin);
    ck_assert_msg(d != NULL, "cannot open %s", bin);
    struct dirent *e;
    int n = 0;
    nuses = 0;
    while ((e = readdir(d))) {
        char path[1024];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", bin, e->d_name);
        if (e->d_name[0] == '.' || stat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
            access(path, X_OK) != 0)
            continue;
        env_read_program(path, e->d_name);
        n++;
    }
    closedir(d);
    return n;
}

static int env_shared(const char *env) {
    static const char *const shared[] = {"KAFKA_BOOTSTRAP", "KAFKA_CONFIG", "KAFKA_CONFIG_FILE",
                                         "GK_LOG_LEVEL"};
    for (size_t i = 0; i < sizeof shared / sizeof shared[0]; i++)
        if (strcmp(env, shared[i]) == 0) return 1;
    return 0;
}

START_TEST(every_name_follows_the_scheme) {
    int n = env_read_all();
    ck_assert_msg(n >= 7, "only %d programs in GK_BIN", n);
    int bad = 0;
    for (size_t i = 0; i < nuses; i++) {
        const env_use *u = &uses[i];
        char want[256];
        cli_env_name(u->prog, u->option + 2, want, sizeof want);
        if (env_shared(u->env) || strcmp(u->env, want) == 0) continue;
        fprintf(stderr, "%s %s: environment name %s, the scheme says %s\n", u->prog, u->option,
                u->env, want);
        bad++;
    }
    ck_assert_msg(bad == 0, "%d environment names out of scheme (see above)", bad);
}
END_TEST

START_TEST(no_name_means_two_things) {
    env_read_all();
    int bad = 0;
    for (size_t i = 0; i < nuses; i++) {
        for (size_t j = 0; j < i; j++) {
            const env_use *a = &uses[j], *b = &uses[i];
            if (strcmp(a->env, b->env) != 0 || strcmp(a->prog, b->prog) == 0) continue;
            if (env_shared(a->env) && strcmp(a->option, b->option) == 0 &&
                strcmp(a->meaning, b->meaning) == 0)
                continue;
            fprintf(stderr, "%s: %s %s (\"%s\") and %s %s (\"%s\")\n", a->env, a->prog,
                    a->option, a->meaning, b->prog, b->option, b->meaning);
            bad++;
        }
    }
    ck_assert_msg(bad == 0, "%d environment names used by two programs for different settings "
                            "(see above)", bad);
}
END_TEST

static Suite *env_suite(void) {
    Suite *s = suite_create("env_names");
    TCase *tc = tcase_create("programs");
    tcase_add_test(tc, every_name_follows_the_scheme);
    tcase_add_test(tc, no_name_means_two_things);
    suite_add_tcase(s, tc);
    return s;
}

const unit_def unit_tests = {env_suite, NULL, NULL};
