/* cli.c - option table parsing with environment twins (see cli.h). */
#include "common/cli.h"

#include "common/log.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
    list->count++;
    return 0;
}

int cli_kv_add_many(cli_kv_list *list, const char *text) {
    char *copy = strdup(text), *save = NULL;
    int rc = 0;
    for (char *tok = strtok_r(copy, ";\n", &save); tok; tok = strtok_r(NULL, ";\n", &save)) {
        while (*tok == ' ' || *tok == '\t') tok++;
        if (*tok == '\0') continue;
        if (cli_kv_add(list, tok) != 0) rc = -1;
    }
    free(copy);
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

/* Stores text into the option's target. Returns 0 or -1 after printing why. */
static int cli_set(const cli_program *prog, const cli_option *o, const char *text,
                   const char *source) {
    char *end = NULL;
    errno = 0;
    switch (o->kind) {
    case CLI_STRING:
        *(const char **)o->target = text;
        return 0;
    case CLI_INT: {
        long v = strtol(text, &end, 10);
        if (errno || end == text || *end != '\0') break;
        *(long *)o->target = v;
        return 0;
    }
    case CLI_DOUBLE: {
        double v = strtod(text, &end);
        if (errno || end == text || *end != '\0') break;
        *(double *)o->target = v;
        return 0;
    }
    case CLI_FLAG: {
        int v = cli_parse_bool(text);
        if (v < 0) break;
        *(int *)o->target = v;
        return 0;
    }
    case CLI_KV:
        if (cli_kv_add_many((cli_kv_list *)o->target, text) == 0) return 0;
        fprintf(stderr, "%s: %s: expected key=value, got '%s'\n", prog->name, source, text);
        return -1;
    }
    fprintf(stderr, "%s: %s: invalid value '%s'\n", prog->name, source, text);
    return -1;
}

static void cli_default_text(const cli_option *o, char *buf, size_t len) {
    buf[0] = '\0';
    switch (o->kind) {
    case CLI_STRING:
        if (*(const char **)o->target) snprintf(buf, len, " (default: %s)", *(const char **)o->target);
        break;
    case CLI_INT:
        snprintf(buf, len, " (default: %ld)", *(long *)o->target);
        break;
    case CLI_DOUBLE:
        snprintf(buf, len, " (default: %g)", *(double *)o->target);
        break;
    case CLI_FLAG:
    case CLI_KV:
        break;
    }
}

void cli_print_help(const cli_program *prog, const cli_option *opts) {
    printf("Usage: %s %s\n\n%s\n\nOptions (environment variable in brackets):\n", prog->name,
           prog->usage, prog->summary);
    for (const cli_option *o = opts; o->long_name; o++) {
        char lhs[96], def[160];
        if (o->short_name)
            snprintf(lhs, sizeof lhs, "-%c, --%s%s%s", o->short_name, o->long_name,
                     o->metavar ? " " : "", o->metavar ? o->metavar : "");
        else
            snprintf(lhs, sizeof lhs, "    --%s%s%s", o->long_name, o->metavar ? " " : "",
                     o->metavar ? o->metavar : "");
        cli_default_text(o, def, sizeof def);
        printf("  %-32s %s%s", lhs, o->help, def);
        if (o->env) printf(" [%s]", o->env);
        printf("\n");
    }
    printf("  %-32s %s\n", "-h, --help", "show this help and exit");
    if (prog->exit_codes) printf("\n%s", prog->exit_codes);
}

void cli_print_markdown(const cli_option *opts) {
    printf("| Option | Environment | Meaning |\n| --- | --- | --- |\n");
    for (const cli_option *o = opts; o->long_name; o++) {
        char def[160];
        cli_default_text(o, def, sizeof def);
        printf("| ");
        if (o->short_name) printf("`-%c`, ", o->short_name);
        printf("`--%s%s%s` | %s%s%s | %s%s |\n", o->long_name, o->metavar ? " " : "",
               o->metavar ? o->metavar : "", o->env ? "`" : "", o->env ? o->env : "",
               o->env ? "`" : "", o->help, def);
    }
}

int cli_parse(const cli_program *prog, const cli_option *opts, int argc, char **argv,
              int *first_arg) {
    size_t n = 0;
    while (opts[n].long_name) n++;

    /* Environment first, so that the command line overrides it. */
    for (size_t i = 0; i < n; i++) {
        const char *v = opts[i].env ? getenv(opts[i].env) : NULL;
        if (v && cli_set(prog, &opts[i], v, opts[i].env) != 0) return -1;
    }

    struct option *lo = calloc(n + 3, sizeof *lo);
    char shorts[256] = "h";
    size_t sl = 1;
    for (size_t i = 0; i < n; i++) {
        lo[i].name = opts[i].long_name;
        lo[i].has_arg = opts[i].kind == CLI_FLAG ? no_argument : required_argument;
        lo[i].val = 1000 + (int)i;
        if (opts[i].short_name && sl + 3 < sizeof shorts) {
            shorts[sl++] = (char)opts[i].short_name;
            if (opts[i].kind != CLI_FLAG) shorts[sl++] = ':';
        }
    }
    lo[n].name = "help";
    lo[n].val = 'h';
    lo[n + 1].name = "help-markdown";
    lo[n + 1].val = 2000;
    shorts[sl] = '\0';

    int rc = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
        const cli_option *o = NULL;
        if (c == 'h') {
            cli_print_help(prog, opts);
            rc = 1;
            break;
        }
        if (c == 2000) {
            cli_print_markdown(opts);
            rc = 1;
            break;
        }
        if (c >= 1000 && c < 1000 + (int)n) {
            o = &opts[c - 1000];
        } else {
            for (size_t i = 0; i < n; i++)
                if (opts[i].short_name == c) o = &opts[i];
        }
        if (!o) {
            fprintf(stderr, "%s: try '%s --help'\n", prog->name, prog->name);
            rc = -1;
            break;
        }
        if (o->kind == CLI_FLAG) {
            *(int *)o->target = 1;
            continue;
        }
        char source[80];
        snprintf(source, sizeof source, "--%s", o->long_name);
        if (cli_set(prog, o, optarg, source) != 0) {
            rc = -1;
            break;
        }
    }
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
