/* cli.h - one option table per program drives getopt_long, the environment
 * variable twins and the --help text.
 *
 * Precedence: built-in default < environment variable < command line. Every
 * program shares the common Kafka and logging options (CLI_COMMON_*), so that
 * docker compose can configure any service purely through its environment. */
#ifndef GK_CLI_H
#define GK_CLI_H
#include <stddef.h>
#include <stdint.h>

typedef enum {
    CLI_STRING, /* target: const char ** */
    CLI_INT,    /* target: long *          */
    CLI_DOUBLE, /* target: double *        */
    CLI_FLAG,   /* target: int *  (set to 1; env twin accepts 1/0/true/false/yes/no) */
    CLI_KV,     /* target: cli_kv_list *  (repeatable key=value, e.g. -X) */
} cli_kind;

typedef struct {
    const char *long_name; /* "bootstrap" for --bootstrap */
    int short_name;        /* 'b', or 0 for none */
    const char *env;       /* "KAFKA_BOOTSTRAP", or NULL for none */
    cli_kind kind;
    void *target;
    const char *metavar; /* "HOST:PORT"; NULL for flags */
    const char *help;    /* one line; the default is appended from the target */
} cli_option;

/* A growable list of key=value pairs (the librdkafka pass-through). */
typedef struct {
    char **keys;
    char **values;
    size_t count;
} cli_kv_list;

/* Appends "key=value" text to the list. Returns 0, or -1 if there is no '='. */
int cli_kv_add(cli_kv_list *list, const char *pair);

/* Appends every pair of a list separated by ';' or newlines (the env twin of -X). */
int cli_kv_add_many(cli_kv_list *list, const char *text);

/* Frees the list's contents. */
void cli_kv_free(cli_kv_list *list);

/* Describes the program for --help. */
typedef struct {
    const char *name;    /* "producer" */
    const char *usage;   /* "[options] FILE..." */
    const char *summary; /* one paragraph */
    const char *exit_codes; /* extra text printed after the options, may be NULL */
} cli_program;

/* The options every program shares, spelled the same everywhere. */
#define CLI_OPT_BOOTSTRAP(target)                                                          \
    {"bootstrap", 'b', "KAFKA_BOOTSTRAP", CLI_STRING, (target), "HOST:PORT",               \
     "Kafka bootstrap servers"}
#define CLI_OPT_KAFKA_CONFIG(target)                                                       \
    {"kafka-config", 'X', "KAFKA_CONFIG", CLI_KV, (target), "KEY=VALUE",                   \
     "librdkafka setting, repeatable (env: ';'-separated)"}
#define CLI_OPT_LOG_LEVEL(target)                                                          \
    {"log-level", 0, "GK_LOG_LEVEL", CLI_STRING, (target), "LEVEL",                        \
     "error, warn, info or debug"}

/* Parses a --log-level name and starts logging as prog. Returns 0, or -1
 * after printing a one-line error (the caller exits 64). */
int cli_log_init(const char *prog, const char *level_name);

/* Parses environment twins and then argv according to opts (terminated by an
 * entry with long_name == NULL). On success returns 0 and sets *first_arg to the
 * index of the first positional argument. Returns 1 if --help was printed (the
 * caller exits 0) and -1 after printing a one-line error (the caller exits 64). */
int cli_parse(const cli_program *prog, const cli_option *opts, int argc, char **argv,
              int *first_arg);

/* Prints the --help text for the program to stdout. */
void cli_print_help(const cli_program *prog, const cli_option *opts);

/* Prints the options as a Markdown table (used to keep README.md in step). */
void cli_print_markdown(const cli_option *opts);

#endif
