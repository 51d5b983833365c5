/* schema.c - THE definition of the three record types, their topics and
 * tables, plus the SQL derived from it. No other file names a topic: the
 * names in use are the base names below under the topic prefix.
 *
 * To add a column, add one line to the record's column array below: the
 * producer, the sample data generator, db_consumer's tables and upserts and
 * ack_consumer's validation all follow. (An existing database keeps its old
 * table: add the column there with ALTER TABLE.) */
#include "schema/schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COLS(a) a, sizeof(a) / sizeof((a)[0])

/* topic1: a sample arriving at the lab. */
static const schema_column sample_intake_cols[] = {
    {SCHEMA_EVENT_ID, SCHEMA_INT, true, 0},
    {"sample_id", SCHEMA_TEXT, true, 64},
    {"patient_id", SCHEMA_TEXT, true, 64},
    {"specimen_type", SCHEMA_TEXT, true, 64},
    {"collected_at", SCHEMA_DATETIME, true, 0},
    {"volume_ml", SCHEMA_REAL, false, 0},
    {"consent_research", SCHEMA_BOOL, true, 0},
    {"notes", SCHEMA_TEXT, false, 0},
};

/* topic2: quality metrics of the sample's sequencing run. */
static const schema_column sequencing_qc_cols[] = {
    {SCHEMA_EVENT_ID, SCHEMA_INT, true, 0},
    {"run_id", SCHEMA_TEXT, true, 64},
    {"instrument", SCHEMA_TEXT, true, 64},
    {"lane", SCHEMA_INT, true, 0},
    {"read_count", SCHEMA_INT, true, 0},
    {"q30_pct", SCHEMA_REAL, true, 0},
    {"mean_coverage", SCHEMA_REAL, true, 0},
    {"sequenced_at", SCHEMA_DATETIME, true, 0},
    {"passed_qc", SCHEMA_BOOL, true, 0},
};

/* topic3: the variant called for the sample. */
static const schema_column variant_call_cols[] = {
    {SCHEMA_EVENT_ID, SCHEMA_INT, true, 0},
    {"gene", SCHEMA_TEXT, true, 32},
    {"chrom", SCHEMA_TEXT, true, 8},
    {"position", SCHEMA_INT, true, 0},
    {"ref", SCHEMA_TEXT, true, 256},
    {"alt", SCHEMA_TEXT, true, 256},
    {"zygosity", SCHEMA_TEXT, true, 32},
    {"quality", SCHEMA_REAL, true, 0},
    {"classification", SCHEMA_TEXT, false, 64},
    {"called_at", SCHEMA_DATETIME, true, 0},
};

#define FITS(a) (sizeof(a) / sizeof((a)[0]) <= SCHEMA_MAX_COLUMNS)
_Static_assert(FITS(sample_intake_cols) && FITS(sequencing_qc_cols) && FITS(variant_call_cols),
               "a record has at most SCHEMA_MAX_COLUMNS columns (decoders size buffers by it)");

/* The topic names without a prefix; schema_topic_prefix_set writes the
 * names in use into the buffers below, which the records point to. */
#define BASE1 "topic1"
#define BASE2 "topic2"
#define BASE3 "topic3"
#define ACK_BASE "ack"
#define CHANGELOG_BASE "ack-changelog"
#define DEAD_LETTER_BASE "ack-dead-letters"
static const char *const topic_base[SCHEMA_N_RECORDS] = {BASE1, BASE2, BASE3};
static char topic_names[SCHEMA_N_RECORDS][SCHEMA_TOPIC_MAX + 1] = {BASE1, BASE2, BASE3};
static char ack_name[SCHEMA_TOPIC_MAX + 1] = ACK_BASE;
static char changelog_name[SCHEMA_TOPIC_MAX + 1] = CHANGELOG_BASE;
static char dead_letter_name[SCHEMA_TOPIC_MAX + 1] = DEAD_LETTER_BASE;
static char topic_list[SCHEMA_N_RECORDS * (SCHEMA_TOPIC_MAX + 1)] = BASE1 "," BASE2 "," BASE3;
const char *const schema_ack_topic = ack_name;
const char *const schema_ack_changelog_topic = changelog_name;
const char *const schema_ack_dead_letter_topic = dead_letter_name;
const char *schema_topic_prefix;

const schema_record schema_records[SCHEMA_N_RECORDS] = {
    {"sample_intake", topic_names[0], "data1", "sim_file1.xlsx", COLS(sample_intake_cols)},
    {"sequencing_qc", topic_names[1], "data2", "sim_file2.xlsx", COLS(sequencing_qc_cols)},
    {"variant_call", topic_names[2], "data3", "sim_file3.xlsx", COLS(variant_call_cols)},
};

const schema_record *schema_by_topic(const char *topic) {
    for (size_t i = 0; i < SCHEMA_N_RECORDS; i++)
        if (strcmp(schema_records[i].topic, topic) == 0) return &schema_records[i];
    return NULL;
}

int schema_topic_index(const char *topic) {
    const schema_record *rec = schema_by_topic(topic);
    return rec ? (int)(rec - schema_records) : -1;
}

const char *schema_topic_list(void) { return topic_list; }

int schema_topic_name_check(const char *topic, char *err, size_t errlen) {
    size_t len = topic ? strlen(topic) : 0;
    if (len == 0) {
        snprintf(err, errlen, "the topic name is empty");
        return -1;
    }
    if (len > SCHEMA_TOPIC_MAX) {
        snprintf(err, errlen, "topic name '%.40s...' is %zu characters long (Kafka allows %d)",
                 topic, len, SCHEMA_TOPIC_MAX);
        return -1;
    }
    if (strcmp(topic, ".") == 0 || strcmp(topic, "..") == 0) {
        snprintf(err, errlen, "'%s' is not a topic name Kafka allows", topic);
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        char c = topic[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-')) {
            snprintf(err, errlen,
                     "topic name '%.64s' holds '%c' (Kafka allows letters, digits, '.', '_' "
                     "and '-')",
                     topic, (c >= ' ' && c <= '~') ? c : '?');
            return -1;
        }
    }
    return 0;
}

int schema_topic_prefix_set(const char *prefix, char *err, size_t errlen) {
    char name[SCHEMA_TOPIC_MAX + 64];
    /* Every name the prefix makes must be one Kafka allows. */
    const char *bases[SCHEMA_N_RECORDS + 3];
    for (size_t i = 0; i < SCHEMA_N_RECORDS; i++) bases[i] = topic_base[i];
    bases[SCHEMA_N_RECORDS] = ACK_BASE;
    bases[SCHEMA_N_RECORDS + 1] = CHANGELOG_BASE;
    bases[SCHEMA_N_RECORDS + 2] = DEAD_LETTER_BASE;
    if (!prefix) prefix = "";
    if (strlen(prefix) > SCHEMA_TOPIC_MAX) {
        snprintf(err, errlen, "topic prefix is %zu characters long (Kafka allows %d per topic name)",
                 strlen(prefix), SCHEMA_TOPIC_MAX);
        return -1;
    }
    for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++) {
        snprintf(name, sizeof name, "%s%s", prefix, bases[i]);
        char why[200];
        if (schema_topic_name_check(name, why, sizeof why) != 0) {
            snprintf(err, errlen, "topic prefix '%.64s': %s", prefix, why);
            return -1;
        }
    }
    size_t used = 0;
    for (size_t i = 0; i < SCHEMA_N_RECORDS; i++) {
        snprintf(topic_names[i], sizeof topic_names[i], "%s%s", prefix, topic_base[i]);
        int n = snprintf(topic_list + used, sizeof topic_list - used, "%s%s", i ? "," : "",
                         topic_names[i]);
        used += n > 0 ? (size_t)n : 0;
    }
    snprintf(ack_name, sizeof ack_name, "%s%s", prefix, ACK_BASE);
    snprintf(changelog_name, sizeof changelog_name, "%s%s", prefix, CHANGELOG_BASE);
    snprintf(dead_letter_name, sizeof dead_letter_name, "%s%s", prefix, DEAD_LETTER_BASE);
    return 0;
}

int schema_topic_check(const char *topic, schema_topic_role role, char *err, size_t errlen) {
    if (schema_topic_name_check(topic, err, errlen) != 0) return -1;
    if (role == SCHEMA_TOPIC_DATA && strcmp(topic, SCHEMA_ACK_TOPIC) == 0) {
        snprintf(err, errlen, "'%.64s' is the ack topic, not a data topic", topic);
        return -1;
    }
    if (role == SCHEMA_TOPIC_ACK && schema_by_topic(topic)) {
        snprintf(err, errlen, "'%.64s' is a data topic, not the ack topic", topic);
        return -1;
    }
    return 0;
}

const schema_record *schema_by_table(const char *table) {
    for (size_t i = 0; i < SCHEMA_N_RECORDS; i++)
        if (strcmp(schema_records[i].table, table) == 0) return &schema_records[i];
    return NULL;
}

const schema_record *schema_by_name(const char *name) {
    for (size_t i = 0; i < SCHEMA_N_RECORDS; i++)
        if (strcmp(schema_records[i].name, name) == 0) return &schema_records[i];
    return NULL;
}

const schema_record *schema_by_file(const char *path) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    for (size_t i = 0; i < SCHEMA_N_RECORDS; i++)
        if (strcmp(schema_records[i].file, base) == 0) return &schema_records[i];
    return NULL;
}

int schema_column_index(const schema_record *rec, const char *name) {
    for (size_t i = 0; i < rec->ncolumns; i++)
        if (strcmp(rec->columns[i].name, name) == 0) return (int)i;
    return -1;
}
