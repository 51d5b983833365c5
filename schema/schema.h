/* schema.h - the one definition of the pipeline's record types, topics and
 * tables.
 *
 * Each record type names its topic, its SQLite table and its columns with
 * their types and whether they are required. The producer validates xlsx rows
 * with it, db_consumer creates tables and binds fields with it, ack_consumer
 * and the tests use it. Adding a column means editing schema.c only. What a
 * consumed message means is decided by message.h; the strict JSON decoder is
 * in decode.h (the only header that needs jansson). */
#ifndef GK_SCHEMA_H
#define GK_SCHEMA_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    SCHEMA_INT,      /* 64-bit integer; SQLite INTEGER; JSON integer */
    SCHEMA_REAL,     /* double; SQLite REAL; JSON number */
    SCHEMA_TEXT,     /* UTF-8 text up to max_len bytes; SQLite TEXT; JSON string */
    SCHEMA_DATETIME, /* ISO 8601 "YYYY-MM-DDTHH:MM:SS[.fff]"; SQLite TEXT; JSON string */
    SCHEMA_BOOL,     /* SQLite INTEGER 0/1; JSON true/false */
} schema_type;

typedef struct {
    const char *name;
    schema_type type;
    bool required;
    size_t max_len; /* SCHEMA_TEXT only; 0 means SCHEMA_TEXT_MAX */
} schema_column;

typedef struct {
    const char *name;  /* "sample_intake" */
    const char *topic; /* "topic1", under the topic prefix (schema_topic_prefix_set) */
    const char *table; /* "data1" */
    const char *file;  /* "sim_file1.xlsx" */
    const schema_column *columns; /* columns[0] is always the event id */
    size_t ncolumns;
} schema_record;

#define SCHEMA_EVENT_ID "event_id"
#define SCHEMA_TEXT_MAX 4096            /* default max bytes of a text field */
#define SCHEMA_MAX_MESSAGE_BYTES 65536  /* larger Kafka values are refused */
#define SCHEMA_MAX_COLUMNS 64           /* most columns of a record type */
#define SCHEMA_N_RECORDS 3

/* The topic of the acks (ack_consumer writes it, ack_delay reads it), under
 * the topic prefix. The data topics are the records' own
 * (schema_records[i].topic). */
extern const char *const schema_ack_topic;
#define SCHEMA_ACK_TOPIC schema_ack_topic

/* Kafka's limit on a topic name's length (Topic.MAX_NAME_LENGTH). */
#define SCHEMA_TOPIC_MAX 249

/* The topic namespace: every default topic name (topic1..3, ack) is
 * PREFIX + its name, so that several pipelines (or tests) share one broker
 * without seeing each other's data. Set once at start, before any thread,
 * by the shared option --topic-prefix (GK_TOPIC_PREFIX), whose check this
 * is: it refuses a prefix that would make an illegal Kafka topic name
 * (schema_topic_name_check) with a one-line reason and returns -1, else it
 * renames schema_records[i].topic, SCHEMA_ACK_TOPIC, SCHEMA_ACK_CHANGELOG_TOPIC,
 * SCHEMA_ACK_DEAD_LETTER_TOPIC
 * and schema_topic_list()
 * in place and returns 0. A topic named explicitly (--topic, --topics,
 * --ack-topic) is used as given. */
int schema_topic_prefix_set(const char *prefix, char *err, size_t errlen);
/* The prefix given to --topic-prefix (NULL: none), the option's target. */
extern const char *schema_topic_prefix;

/* Kafka's rule for a topic name: 1..SCHEMA_TOPIC_MAX characters of
 * [a-zA-Z0-9._-], not "." or "..". Returns 0, or -1 with a one-line reason. */
int schema_topic_name_check(const char *topic, char *err, size_t errlen);

/* ack_consumer --mode scalable's default changelog topic (compacted, as many
 * partitions as the data topics), under the topic prefix. */
extern const char *const schema_ack_changelog_topic;
#define SCHEMA_ACK_CHANGELOG_TOPIC schema_ack_changelog_topic

/* ack_consumer --mode scalable's default dead-letter topic (as many
 * partitions as the data topics, kept: retention.ms=-1), under the topic
 * prefix. */
extern const char *const schema_ack_dead_letter_topic;
#define SCHEMA_ACK_DEAD_LETTER_TOPIC schema_ack_dead_letter_topic

/* What a topic named on a command line is for. */
typedef enum { SCHEMA_TOPIC_DATA, SCHEMA_TOPIC_ACK } schema_topic_role;

/* The one rule of which topic may play which role: a data topic is never the
 * ack topic (SCHEMA_ACK_TOPIC) and the ack topic is never a record type's
 * data topic; both are names Kafka allows (schema_topic_name_check). Returns
 * 0, or -1 with a one-line reason ("'ack' is the ack topic, not a data
 * topic"). */
int schema_topic_check(const char *topic, schema_topic_role role, char *err, size_t errlen);

/* One typed value of a row. */
typedef struct {
    bool is_null;
    int64_t i;       /* SCHEMA_INT, SCHEMA_BOOL */
    double d;        /* SCHEMA_REAL */
    const char *s;   /* SCHEMA_TEXT, SCHEMA_DATETIME: borrowed; len bytes, maybe no NUL */
    size_t len;
} schema_value;

/* The record types, in topic order (topic1, topic2, topic3). */
extern const schema_record schema_records[SCHEMA_N_RECORDS];

/* Lookups; each returns NULL if nothing matches. */
const schema_record *schema_by_topic(const char *topic);
/* Index (0..SCHEMA_N_RECORDS-1) of a data topic in schema_records, or -1. */
int schema_topic_index(const char *topic);
/* The data topics as one comma-separated list ("topic1,topic2,topic3"),
 * under the topic prefix (the text changes with schema_topic_prefix_set). */
const char *schema_topic_list(void);
const schema_record *schema_by_table(const char *table);
const schema_record *schema_by_file(const char *path); /* matches the basename */
const schema_record *schema_by_name(const char *name); /* "sample_intake" */

/* Index of a column by name, or -1. */
int schema_column_index(const schema_record *rec, const char *name);

/* SQLite's CREATE TABLE and upsert of a record (schema_sql_create and
 * schema_sql_upsert of sql.h, which has every dialect's SQL). */
char *schema_create_sql(const schema_record *rec);
char *schema_upsert_sql(const schema_record *rec);

/* The one rule of a missing value, for the producer and both consumers
 * alike: a value is missing when it is null or when it is text (or a
 * datetime) of zero length - an empty cell and "" mean "no value". */
bool schema_value_missing(const schema_column *col, const schema_value *v);

/* Checks one value against its column: required (schema_value_missing),
 * type, text length, UTF-8, datetime syntax, event id > 0. Returns 0, or -1
 * with a one-line reason naming the column in err. */
int schema_check_value(const schema_column *col, const schema_value *v, char *err, size_t errlen);

/* Encodes a full row (values[i] for columns[i]) as a compact JSON object; null
 * values are omitted, reals take their shortest round-trip form. Returns a
 * malloc'd string and its length in *len, or NULL if out of memory or a value
 * cannot be encoded (text that is not UTF-8, a real that is not finite). */
char *schema_encode_json(const schema_record *rec, const schema_value *values, size_t *len);

/* The same encoding without allocating: writes the text and a NUL into
 * out[0..cap) if they fit (a cut-off prefix if not) and sets *len to the
 * full length, so *len >= cap means out was too small. Returns 0, or -1 if a
 * value cannot be encoded. */
int schema_encode_json_buf(const schema_record *rec, const schema_value *values, char *out,
                           size_t cap, size_t *len);

/* Checks that an ISO 8601 datetime has the accepted form
 * YYYY-MM-DD[THH:MM[:SS[.f{1,6}]]][Z|+HH:MM|-HH:MM] with valid ranges. */
bool schema_datetime_valid(const char *s, size_t len);

/* Checks that s[0..len) is valid UTF-8 (no overlongs, surrogates or NULs). */
bool schema_utf8_valid(const char *s, size_t len);

/* Name of a type for messages: "integer", "decimal", "text", "datetime", "boolean". */
const char *schema_type_name(schema_type t);

#endif
