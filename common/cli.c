/* cli.c - option table parsing with environment twins, range checks and the
 * one environment naming scheme (see cli.h). */
#include "common/cli.h"

#include "common/exitcodes.h"
#include "common/infile.h"
#include "common/log.h"
#include "common/version.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* ------------------------------------------------------------ key=value */

int cli_kv_add(cli_kv_list *list, const char *pair) {
    const char *eq = strchr(pair, '=');
    if (!eq || eq == pair) return -1;
    char **k = realloc(list->keys, (list->count + 1) * sizeof *k);
    if (!k) return -1;
    list->keys = k;
    char **v = realloc(list->values, (list->count + 1) * sizeof *v);
    if (!v) return -1;
    list->values = v;
    list->keys[list->count] = strndup(pair, (size_t)(eq - pair));
    list->values[list->count] = strdup(eq + 1);
    if (!list->keys[list->count] || !list->values[list->count]) {
        free(list->keys[list->count]);
        free(list->values[list->count]);
        return -1;
    }
    list->count++;
    return 0;
}

int cli_kv_add_many(cli_kv_list *list, const char *text) {
    char *copy = strdup(text), *save = NULL;
    if (!copy) return -1;
    int rc = 0;
    for (char *tok = strtok_r(copy, ";\n", &save); tok; tok = strtok_r(NULL, ";\n", &save)) {
        while (*tok == ' ' || *tok == '\t') tok++;
        if (*tok == '\0') continue;
        if (cli_kv_add(list, tok) != 0) rc = -1;
    }
    free(copy);
    return rc;
}

/* Adds one properties line (NUL-terminated, line end removed). Returns 0, or
 * -1 if it is neither blank, a comment nor key=value. */
static int cli_kv_add_line(cli_kv_list *list, char *line) {
    while (*line == ' ' || *line == '\t') line++;
    if (*line == '\0' || *line == '#' || *line == '!') return 0;
    char *eq = strchr(line, '=');
    if (!eq) return -1;
    char *kend = eq;
    while (kend > line && (kend[-1] == ' ' || kend[-1] == '\t')) kend--;
    if (kend == line) return -1;
    *kend = '\0';
    char *value = eq + 1;
    while (*value == ' ' || *value == '\t') value++;
    size_t klen = strlen(line), vlen = strlen(value);
    char *pair = malloc(klen + vlen + 2);
    if (!pair) return -1;
    memcpy(pair, line, klen);
    pair[klen] = '=';
    memcpy(pair + klen + 1, value, vlen + 1);
    int rc = cli_kv_add(list, pair);
    free(pair);
    return rc;
}

int cli_kv_add_file(cli_kv_list *list, const char *path, char *err, size_t errlen) {
    size_t len;
    char *buf = infile_read_text(path, CLI_KV_FILE_MAX, &len, err, errlen);
    if (!buf) return -1;
    int rc = 0, lineno = 0;
    for (char *line = buf, *next; line && rc == 0; line = next) {
        lineno++;
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        size_t l = strlen(line);
        if (l && line[l - 1] == '\r') line[l - 1] = '\0';
        if (cli_kv_add_line(list, line) != 0) {
            snprintf(err, errlen, "%s line %d: expected key=value", path, lineno);
            rc = -1;
        }
    }
    free(buf);
    return rc;
}

void cli_kv_free(cli_kv_list *list) {
    for (size_t i = 0; i < list->count; i++) {
        free(list->keys[i]);
        free(list->values[i]);
    }
    free(list->keys);
    free(list->values);
    list->keys = list->values = NULL;
    list->count = 0;
}

/* ------------------------------------------------------------ the scheme */

/* The options whose environment twin is the same in every program. */
static const struct {
    const char *env, *long_name;
} cli_shared[] = {
    {"KAFKA_BOOTSTRAP", "bootstrap"},
    {"KAFKA_CONFIG", "kafka-config"},
    {"KAFKA_CONFIG_FILE", "kafka-config-file"},
    {"GK_LOG_LEVEL", "log-level"},
    {"GK_TOPIC_PREFIX", "topic-prefix"},
};

void cli_env_name(const char *prog, const char *long_name, char *buf, size_t len) {
    size_t o = 0;
    const char *parts[] = {"GK_", prog, "_", long_name};
    for (size_t p = 0; p < 4; p++)
        for (const char *s = parts[p]; *s && o + 1 < len; s++)
            buf[o++] = *s == '-' ? '_' : (char)toupper((unsigned char)*s);
    if (len) buf[o] = '\0';
}

/* Formats a range bound: integers in full, others as %g. */
static void cli_num_text(double v, char *buf, size_t len) {
    if (v == floor(v) && fabs(v) < 1e17)
        snprintf(buf, len, "%.0f", v);
    else
        snprintf(buf, len, "%g", v);
}

static int cli_is_number(cli_kind k) { return k == CLI_INT || k == CLI_DOUBLE; }

/* "0 or 0.001..86400", or "" when the option has no range. */
static void cli_range_text(const cli_option *o, char *buf, size_t len) {
    buf[0] = '\0';
    if (!cli_is_number(o->kind)) return;
    char lo[32], hi[32];
    cli_num_text(o->min, lo, sizeof lo);
    cli_num_text(o->max, hi, sizeof hi);
    snprintf(buf, len, "%s%s%s..%s", o->also ? o->also : "", o->also ? " or " : "", lo, hi);
}

/* Reports a broken table (a bug, not a user error) and exits 70. */
static void cli_table_bug(const cli_program *prog, const cli_option *o, const char *why,
                          const char *detail) {
    fprintf(stderr, "%s: internal error: option --%s: %s%s\n", prog->name, o->long_name, why,
            detail ? detail : "");
    exit(GK_EXIT_SOFTWARE);
}

/* Checks one option against the rules of cli.h. */
static void cli_check_option(const cli_program *prog, const cli_option *o) {
    if (cli_is_number(o->kind)) {
        if (!(o->min < o->max)) cli_table_bug(prog, o, "a number option needs a range", NULL);
        char *end = NULL;
        if (o->also && (strtod(o->also, &end), *end != '\0' || end == o->also))
            cli_table_bug(prog, o, "'also' is not a number: ", o->also);
    }
    if (!o->env) return;
    for (size_t i = 0; i < sizeof cli_shared / sizeof cli_shared[0]; i++) {
        if (strcmp(o->env, cli_shared[i].env) != 0) continue;
        if (strcmp(o->long_name, cli_shared[i].long_name) != 0)
            cli_table_bug(prog, o, "a shared environment name on another option: ", o->env);
        return;
    }
    char want[256];
    cli_env_name(prog->name, o->long_name, want, sizeof want);
    if (strcmp(o->env, want) != 0) {
        char detail[600];
        snprintf(detail, sizeof detail, "%s (the scheme says %s)", o->env, want);
        cli_table_bug(prog, o, "environment name out of scheme: ", detail);
    }
}

/* Checks the whole table: each option, and names used once. */
static void cli_check_table(const cli_program *prog, const cli_option *opts) {
    for (const cli_option *o = opts; o->long_name; o++) {
        cli_check_option(prog, o);
        for (const cli_option *p = opts; p != o; p++) {
            const char *a[] = {o->long_name, o->alias}, *b[] = {p->long_name, p->alias};
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 2; j++)
                    if (a[i] && b[j] && strcmp(a[i], b[j]) == 0)
                        cli_table_bug(prog, o, "long name used twice: ", a[i]);
            if (o->short_name && o->short_name == p->short_name)
                cli_table_bug(prog, o, "short name used twice", NULL);
        }
    }
}

/* ------------------------------------------------------------ values */

/* Parses a boolean word; returns 0/1, or -1 if it is not one. */
static int cli_parse_bool(const char *s) {
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off", ""};
    for (size_t i = 0; i < 4; i++)
        if (strcasecmp(s, yes[i]) == 0) return 1;
    for (size_t i = 0; i < 5; i++)
        if (strcasecmp(s, no[i]) == 0) return 0;
    return -1;
}

/* Parses a number of the option's kind into *v. Returns 0, or -1 with the
 * reason in why. */
static int cli_number(const cli_option *o, const char *text, double *v, long *l,
                      const char **why) {
    char *end = NULL;
    errno = 0;
    if (o->kind == CLI_INT) {
        *l = strtol(text, &end, 10);
        *v = (double)*l;
    } else {
        *v = strtod(text, &end);
    }
    if (end == text || *end != '\0' || isspace((unsigned char)text[0])) {
        *why = o->kind == CLI_INT ? "not an integer" : "not a number";
        return -1;
    }
    if (!isfinite(*v)) {
        *why = "not a finite number";
        return -1;
    }
    if (errno == ERANGE) {
        *why = "out of range";
        return -1;
    }
    return 0;
}

/* Stores text into the option's target. Returns 0 or -1 after printing why. */
static int cli_set(const cli_program *prog, const cli_option *o, const char *text,
                   const char *source) {
    switch (o->kind) {
    case CLI_STRING: {
        size_t len = strlen(text);
        if (o->max > 0 && len < o->min) {
            fprintf(stderr, "%s: %s: must not be empty\n", prog->name, source);
            return -1;
        }
        if (o->max > 0 && (double)len > o->max) {
            fprintf(stderr, "%s: %s: longer than %.0f bytes\n", prog->name, source, o->max);
            return -1;
        }
        char why[512];
        if (o->check && o->check(text, why, sizeof why) != 0) {
            fprintf(stderr, "%s: %s: %s\n", prog->name, source, why);
            return -1;
        }
        *(const char **)o->target = text;
        return 0;
    }
    case CLI_INT:
    case CLI_DOUBLE: {
        double v = 0;
        long l = 0;
        const char *why = NULL;
        char range[96];
        cli_range_text(o, range, sizeof range);
        if (cli_number(o, text, &v, &l, &why) != 0) {
            fprintf(stderr, "%s: %s: %s: '%s' (expected %s)\n", prog->name, source, why, text,
                    range);
            return -1;
        }
        int also = o->also && v == strtod(o->also, NULL);
        if (!also && (v < o->min || v > o->max)) {
            fprintf(stderr, "%s: %s: %s is out of range (expected %s)\n", prog->name, source,
                    text, range);
            return -1;
        }
        if (o->kind == CLI_INT)
            *(long *)o->target = l;
        else
            *(double *)o->target = v;
        return 0;
    }
    case CLI_FLAG: {
        int v = cli_parse_bool(text);
        if (v < 0) {
            fprintf(stderr, "%s: %s: expected 1/0, true/false, yes/no or on/off, got '%s'\n",
                    prog->name, source, text);
            return -1;
        }
        *(int *)o->target = v;
        return 0;
    }
    case CLI_KV:
        if (cli_kv_add_many((cli_kv_list *)o->target, text) == 0) return 0;
        fprintf(stderr, "%s: %s: expected key=value, got '%s'\n", prog->name, source, text);
        return -1;
    case CLI_KV_FILE: {
        char err[512];
        if (cli_kv_add_file((cli_kv_list *)o->target, text, err, sizeof err) == 0) return 0;
        fprintf(stderr, "%s: %s: %s\n", prog->name, source, err);
        return -1;
    }
    }
    return -1;
}

/* ------------------------------------------------------------ help */

/* " (default: X; range)" for the help line. */
static void cli_default_text(const cli_option *o, char *buf, size_t len) {
    char range[96], def[128] = "";
    cli_range_text(o, range, sizeof range);
    switch (o->kind) {
    case CLI_STRING:
        if (*(const char **)o->target)
            snprintf(def, sizeof def, "default: %s", *(const char **)o->target);
        break;
    case CLI_INT: snprintf(def, sizeof def, "default: %ld", *(long *)o->target); break;
    case CLI_DOUBLE: snprintf(def, sizeof def, "default: %g", *(double *)o->target); break;
    case CLI_FLAG:
    case CLI_KV:
    case CLI_KV_FILE: break;
    }
    if (def[0] && range[0])
        snprintf(buf, len, " (%s; %s)", def, range);
    else if (def[0] || range[0])
        snprintf(buf, len, " (%s%s)", def, range);
    else
        buf[0] = '\0';
}

/* "-b, --bootstrap, --bootstrap-server HOST:PORT" (md: each name in backticks). */
static void cli_names(const cli_option *o, int md, char *buf, size_t len) {
    const char *q = md ? "`" : "";
    size_t used = 0;
    int n;
    if (o->short_name)
        n = snprintf(buf, len, "%s-%c%s, ", q, o->short_name, q);
    else
        n = snprintf(buf, len, "%s", md ? "" : "    ");
    used = n > 0 ? (size_t)n : 0;
    if (o->alias && used < len) {
        n = snprintf(buf + used, len - used, "%s--%s%s, ", q, o->long_name, q);
        used += n > 0 ? (size_t)n : 0;
    }
    if (used < len)
        snprintf(buf + used, len - used, "%s--%s%s%s%s", q, o->alias ? o->alias : o->long_name,
                 o->metavar ? " " : "", o->metavar ? o->metavar : "", q);
}

void cli_print_help(const cli_program *prog, const cli_option *opts) {
    printf("Usage: %s %s\n\n%s\n\nOptions (environment variable in brackets):\n", prog->name,
           prog->usage, prog->summary);
    for (const cli_option *o = opts; o->long_name; o++) {
        char lhs[128], def[256];
        cli_names(o, 0, lhs, sizeof lhs);
        cli_default_text(o, def, sizeof def);
        printf("  %-32s %s%s", lhs, o->help, def);
        if (o->env) printf(" [%s]", o->env);
        printf("\n");
    }
    printf("  %-32s %s\n", "-h, --help", "show this help and exit");
    printf("  %-32s %s\n", "    --version", "show the version and exit");
    if (prog->exit_codes) printf("\n%s", prog->exit_codes);
}

void cli_print_markdown(const cli_option *opts) {
    printf("| Option | Environment | Meaning |\n| --- | --- | --- |\n");
    for (const cli_option *o = opts; o->long_name; o++) {
        char names[160], def[256];
        cli_names(o, 1, names, sizeof names);
        cli_default_text(o, def, sizeof def);
        printf("| %s | %s%s%s | %s%s |\n", names, o->env ? "`" : "", o->env ? o->env : "",
               o->env ? "`" : "", o->help, def);
    }
}

const char *cli_version(void) {
    static char text[160];
    if (!text[0])
        snprintf(text, sizeof text, "%s%s%s%s", gk_version, gk_git[0] ? " (git " : "", gk_git,
                 gk_git[0] ? ")" : "");
    return text;
}

/* ------------------------------------------------------------ parsing */

enum { CLI_HELP = 'h', CLI_OPT_BASE = 1000, CLI_HELP_MD = 3000, CLI_VERSION = 3001 };

int cli_parse(const cli_program *prog, const cli_option *opts, int argc, char **argv,
              int *first_arg) {
    size_t n = 0;
    cli_check_table(prog, opts);
    while (opts[n].long_name) n++;

    /* Environment first, so that the command line overrides it. */
    for (size_t i = 0; i < n; i++) {
        const char *v = opts[i].env ? getenv(opts[i].env) : NULL;
        if (v && cli_set(prog, &opts[i], v, opts[i].env) != 0) return -1;
    }

    /* Every option, its alias, --help, --help-markdown, --version, the end. */
    struct option *lo = calloc(2 * n + 4, sizeof *lo);
    if (!lo) {
        fprintf(stderr, "%s: out of memory\n", prog->name);
        return -1;
    }
    char shorts[256] = "h";
    size_t sl = 1, nl = 0;
    for (size_t i = 0; i < n; i++) {
        int arg = opts[i].kind == CLI_FLAG ? no_argument : required_argument;
        lo[nl++] = (struct option){opts[i].long_name, arg, NULL, CLI_OPT_BASE + (int)i};
        if (opts[i].alias)
            lo[nl++] = (struct option){opts[i].alias, arg, NULL, CLI_OPT_BASE + (int)i};
        if (opts[i].short_name && sl + 3 < sizeof shorts) {
            shorts[sl++] = (char)opts[i].short_name;
            if (opts[i].kind != CLI_FLAG) shorts[sl++] = ':';
        }
    }
    lo[nl++] = (struct option){"help", no_argument, NULL, CLI_HELP};
    lo[nl++] = (struct option){"help-markdown", no_argument, NULL, CLI_HELP_MD};
    lo[nl++] = (struct option){"version", no_argument, NULL, CLI_VERSION};
    shorts[sl] = '\0';

    int rc = 0, c;
    optind = 1;
    while (rc == 0 && (c = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
        const cli_option *o = NULL;
        if (c == CLI_HELP) {
            cli_print_help(prog, opts);
            rc = 1;
        } else if (c == CLI_HELP_MD) {
            cli_print_markdown(opts);
            rc = 1;
        } else if (c == CLI_VERSION) {
            printf("%s (Genetika+) %s\n", prog->name, cli_version());
            rc = 1;
        } else {
            if (c >= CLI_OPT_BASE && c < CLI_OPT_BASE + (int)n) o = &opts[c - CLI_OPT_BASE];
            for (size_t i = 0; !o && i < n; i++)
                if (opts[i].short_name == c) o = &opts[i];
            if (!o) {
                fprintf(stderr, "%s: try '%s --help'\n", prog->name, prog->name);
                rc = -1;
            } else if (o->kind == CLI_FLAG) {
                *(int *)o->target = 1;
            } else {
                char source[80];
                snprintf(source, sizeof source, "--%s", o->long_name);
                if (cli_set(prog, o, optarg, source) != 0) rc = -1;
            }
        }
    }
    if (rc == 1) fflush(stdout);
    free(lo);
    *first_arg = optind;
    return rc;
}

int cli_log_init(const char *prog, const char *level_name) {
    log_level level;
    if (log_level_parse(level_name, &level) != 0) {
        fprintf(stderr, "%s: --log-level: unknown level '%s' (error, warn, info or debug)\n", prog,
                level_name);
        return -1;
    }
    log_init(prog, level);
    return 0;
}
