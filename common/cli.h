/* cli.h - one option table per program drives getopt_long, the environment
 * variable twins, the range checks, --help and --version.
 *
 * Precedence: built-in default < environment variable < command line. Every
 * program shares the common Kafka and logging options (CLI_OPT_*), so that
 * docker compose can configure any service purely through its environment.
 *
 * Environment names follow one scheme, checked by cli_parse() on every start
 * (a table that breaks it is a programming error: exit 70):
 *   - the shared options keep one name everywhere: KAFKA_BOOTSTRAP,
 *     KAFKA_CONFIG, KAFKA_CONFIG_FILE, GK_LOG_LEVEL;
 *   - every other option's twin is GK_<PROGRAM>_<OPTION>: the program's name
 *     and the long option, upper-cased, '-' as '_' (db_consumer --group:
 *     GK_DB_CONSUMER_GROUP), so that no name means two things in two programs.
 * Numbers are checked in one place, here: every CLI_INT and CLI_DOUBLE option
 * states the range it accepts (the values it feeds must hold), text must parse
 * completely, and NaN, infinities and overflow are refused. */
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
    CLI_KV_FILE, /* target: cli_kv_list *  (a properties file of key=value lines, e.g. -F) */
} cli_kind;

typedef struct {
    const char *long_name; /* "bootstrap" for --bootstrap */
    int short_name;        /* 'b', or 0 for none */
    const char *env;       /* "KAFKA_BOOTSTRAP", or NULL for none */
    cli_kind kind;
    void *target;
    const char *metavar; /* "HOST:PORT"; NULL for flags */
    const char *help;    /* one line; the default and the range are appended */
    /* CLI_INT, CLI_DOUBLE: the accepted range [min, max], required (min < max).
     * CLI_STRING: the accepted length in bytes when max > 0 (min 1: not empty). */
    double min, max;
    /* CLI_INT, CLI_DOUBLE: one more accepted value outside the range, whose
     * own meaning the help states ("0: as fast as possible"), or NULL. */
    const char *also;
    const char *alias; /* a second long name ("bootstrap-server"), or NULL */
} cli_option;

/* Longest properties file (-F) read: a few settings, not a data file. */
#define CLI_KV_FILE_MAX (1024 * 1024)
/* Any string length: a range for text options that must merely not be empty. */
#define CLI_ANY_LEN 1e9
/* The exact integers a double holds: ranges of counts and ids end here. */
#define CLI_MAX_EXACT 9007199254740991.0

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

/* Appends the settings of a properties file: one key=value per line (split
 * at the first '=': values may hold ';', '=' and spaces, kept as written
 * apart from the line end), blank lines and lines starting with '#' or '!'
 * ignored, spaces around the key dropped. The file must be a regular file of
 * at most CLI_KV_FILE_MAX bytes. Returns 0, or -1 with a one-line reason in
 * err naming the file and line (never a value: they may be secrets). */
int cli_kv_add_file(cli_kv_list *list, const char *path, char *err, size_t errlen);

/* Frees the list's contents. */
void cli_kv_free(cli_kv_list *list);

/* Describes the program for --help and --version; name also makes the
 * environment names (GK_<NAME>_...). */
typedef struct {
    const char *name;    /* "producer" */
    const char *usage;   /* "[options] FILE..." */
    const char *summary; /* one paragraph */
    const char *exit_codes; /* extra text printed after the options, may be NULL */
} cli_program;

/* The options every program shares, spelled the same everywhere. */
#define CLI_OPT_BOOTSTRAP(t)                                                               \
    {.long_name = "bootstrap", .short_name = 'b', .env = "KAFKA_BOOTSTRAP",                \
     .kind = CLI_STRING, .target = (t), .metavar = "HOST:PORT",                            \
     .help = "Kafka bootstrap servers", .min = 1, .max = CLI_ANY_LEN,                      \
     .alias = "bootstrap-server"}
#define CLI_OPT_KAFKA_CONFIG_FILE(list)                                                    \
    {.long_name = "kafka-config-file", .short_name = 'F', .env = "KAFKA_CONFIG_FILE",      \
     .kind = CLI_KV_FILE, .target = (list), .metavar = "FILE",                             \
     .help = "librdkafka settings from a properties file (key=value lines, # comments; "   \
             "values may hold ';'), read before -X"}
#define CLI_OPT_KAFKA_CONFIG(list)                                                         \
    {.long_name = "kafka-config", .short_name = 'X', .env = "KAFKA_CONFIG", .kind = CLI_KV, \
     .target = (list), .metavar = "KEY=VALUE",                                             \
     .help = "librdkafka setting, repeatable (env: ';'-separated)"}
#define CLI_OPT_LOG_LEVEL(t)                                                               \
    {.long_name = "log-level", .env = "GK_LOG_LEVEL", .kind = CLI_STRING, .target = (t),   \
     .metavar = "LEVEL", .help = "error, warn, info or debug", .min = 1,                   \
     .max = CLI_ANY_LEN}
/* Ends a table. */
#define CLI_OPT_END {0}

/* Parses a --log-level name and starts logging as prog. Returns 0, or -1
 * after printing a one-line error (the caller exits 64). */
int cli_log_init(const char *prog, const char *level_name);

/* Checks the table (ranges, names, the environment scheme above; a broken
 * table is a bug: it prints why and exits 70), then parses environment twins
 * and then argv according to opts (terminated by CLI_OPT_END). On success
 * returns 0 and sets *first_arg to the index of the first positional
 * argument. Returns 1 if --help or --version was printed (the caller exits 0)
 * and -1 after printing a one-line error (the caller exits 64). */
int cli_parse(const cli_program *prog, const cli_option *opts, int argc, char **argv,
              int *first_arg);

/* Writes the environment twin the scheme gives option long_name of program
 * prog ("GK_DB_CONSUMER_GROUP") into buf. */
void cli_env_name(const char *prog, const char *long_name, char *buf, size_t len);

/* Prints the --help text for the program to stdout. */
void cli_print_help(const cli_program *prog, const cli_option *opts);

/* Prints the options as a Markdown table (used to keep README.md in step). */
void cli_print_markdown(const cli_option *opts);

/* "1.0.0 (git 9dd831b)": the project's version and, when the build had one,
 * the git description of its source. */
const char *cli_version(void);

#endif
