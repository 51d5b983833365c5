/* fuzz_decode.c - libFuzzer target for the strict JSON decoder
 * (schema_decode_json in schema/decode.c), the first code that touches a Kafka
 * message's bytes in db_consumer and ack_consumer.
 *
 * The first input byte picks the record type (topic1..3), the rest is the
 * message value. Besides crashes and sanitizer reports:
 * - the decoder's allocation-free fast path and jansson (the reference,
 *   schema_decode_json_jansson) must agree: both accept with the same values,
 *   or both refuse with the same reason;
 * - a decoded row must survive a round trip: encoding it (schema_encode_json)
 *   and decoding that again gives the same values, or the producer and the
 *   consumers could disagree about what a row means. */
#include "schema/decode.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_COLUMNS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* True when two decoded values of a column are the same. */
static int fuzz_same(const schema_column *c, const schema_value *a, const schema_value *b) {
    if (a->is_null || b->is_null) return a->is_null == b->is_null;
    switch (c->type) {
    case SCHEMA_INT:
    case SCHEMA_BOOL: return a->i == b->i;
    case SCHEMA_REAL: return a->d == b->d && signbit(a->d) == signbit(b->d);
    case SCHEMA_TEXT:
    case SCHEMA_DATETIME: return a->len == b->len && memcmp(a->s, b->s, a->len) == 0;
    }
    return 0;
}

static void fuzz_round_trip(const schema_record *rec, const schema_value *values) {
    size_t len = 0;
    char *json = schema_encode_json(rec, values, &len);
    if (!json) abort();
    schema_value again[FUZZ_MAX_COLUMNS];
    json_t *root = NULL;
    char err[256];
    if (schema_decode_json(rec, json, len, again, &root, err, sizeof err) != 0) {
        fprintf(stderr, "re-encoded row does not decode: %s\n%s\n", err, json);
        abort();
    }
    for (size_t i = 0; i < rec->ncolumns; i++) {
        if (!fuzz_same(&rec->columns[i], &values[i], &again[i])) {
            fprintf(stderr, "column %s changed in the round trip\n%s\n", rec->columns[i].name,
                    json);
            abort();
        }
    }
    json_decref(root);
    free(json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const schema_record *rec = &schema_records[data[0] % SCHEMA_N_RECORDS];
    if (rec->ncolumns > FUZZ_MAX_COLUMNS) abort();
    schema_value values[FUZZ_MAX_COLUMNS];
    json_t *root = NULL;
    char err[256];
    err[0] = '\0';
    /* Copy the value so that reads past its end are caught by ASan. */
    size_t n = size - 1;
    char *buf = malloc(n ? n : 1);
    if (!buf) abort();
    memcpy(buf, data + 1, n);
    int rc = schema_decode_json(rec, n ? buf : NULL, n, values, &root, err, sizeof err);
    if (rc != 0 && (root != NULL || err[0] == '\0' || memchr(err, '\0', sizeof err) == NULL))
        abort(); /* a failure must leave nothing to free and give a reason */
    schema_value ref[FUZZ_MAX_COLUMNS];
    json_t *ref_root = NULL;
    char ref_err[256];
    ref_err[0] = '\0';
    int ref_rc = schema_decode_json_jansson(rec, n ? buf : NULL, n, ref, &ref_root, ref_err,
                                            sizeof ref_err);
    if (rc != ref_rc || (rc != 0 && strcmp(err, ref_err) != 0)) {
        fprintf(stderr, "fast path and jansson disagree: %d '%s' vs %d '%s'\n", rc, err, ref_rc,
                ref_err);
        abort();
    }
    if (rc == 0) {
        for (size_t i = 0; i < rec->ncolumns; i++) {
            if (!fuzz_same(&rec->columns[i], &values[i], &ref[i])) {
                fprintf(stderr, "fast path and jansson decode column %s differently\n",
                        rec->columns[i].name);
                abort();
            }
        }
        fuzz_round_trip(rec, values);
    }
    json_decref(root);
    json_decref(ref_root);
    free(buf);
    return 0;
}
