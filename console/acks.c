/* acks.c - the live ack delay from the ack topic (see acks.h). */
#include "console/acks.h"

#include "analysis/record.h"
#include "analysis/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

double acks_bucket_le_ms(size_t b) {
    static const double r10[10] = {1, 1.25, 1.6, 2, 2.5, 3.15, 4, 5, 6.3, 8};
    if (b >= ACKS_BUCKETS - 1) return INFINITY;
    static const double decade[7] = {0.01, 0.1, 1, 10, 100, 1000, 10000};
    return b == ACKS_BUCKETS - 2 ? 100000 : decade[b / 10] * r10[b % 10];
}

void acks_init(acks_state *a) {
    memset(a, 0, sizeof *a);
    idindex_init(&a->index);
    a->rng = 0x9E3779B97F4A7C15ull;
}

void acks_free(acks_state *a) {
    free(a->ids);
    free(a->samples);
    idindex_free(&a->index);
    acks_init(a);
}

int acks_latest_us(const void *value, size_t len, size_t ntopics, int64_t *latest_us) {
    json_error_t jerr;
    json_t *root = json_loadb(value, len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *topics = root ? json_object_get(root, "topics") : NULL;
    int rc = json_is_object(topics) && json_object_size(topics) == ntopics ? 0 : -1;
    int64_t latest = INT64_MIN;
    const char *name;
    json_t *t;
    json_object_foreach(topics, name, t) {
        if (rc != 0) break;
        json_t *us = json_object_get(t, "produced_us"), *ms = json_object_get(t, "ts_ms");
        int64_t v = json_is_integer(us) && json_integer_value(us) >= 0 ? json_integer_value(us)
                    : json_is_integer(ms) && json_integer_value(ms) >= 0 &&
                            json_integer_value(ms) <= INT64_MAX / 1000
                        ? json_integer_value(ms) * 1000
                        : -1;
        if (v < 0) rc = -1;
        else if (v > latest) latest = v;
    }
    json_decref(root);
    if (rc == 0) *latest_us = latest;
    return rc;
}

/* xorshift64*: the sample's random choices. */
static uint64_t acks_rand(acks_state *a) {
    a->rng ^= a->rng >> 12, a->rng ^= a->rng << 25, a->rng ^= a->rng >> 27;
    return a->rng * 2685821657736338717ull;
}

/* Keeps delay ms in the sample: all of the first ACKS_SAMPLES_MAX, then each
 * with the chance that keeps the sample uniform (reservoir sampling). */
static int acks_sample(acks_state *a, double ms) {
    if (a->nsamples < ACKS_SAMPLES_MAX) {
        if (a->nsamples == a->capsamples) {
            size_t cap = a->capsamples ? a->capsamples * 2 : 1024;
            if (cap > ACKS_SAMPLES_MAX) cap = ACKS_SAMPLES_MAX;
            double *p = realloc(a->samples, cap * sizeof *p);
            if (!p) return -1;
            a->samples = p, a->capsamples = cap;
        }
        a->samples[a->nsamples++] = ms;
        return 0;
    }
    uint64_t j = acks_rand(a) % a->delays; /* delays already counts this one */
    if (j < ACKS_SAMPLES_MAX) a->samples[j] = ms;
    return 0;
}

/* Notes event id as acked. Returns 1 if it was new (or ids are no longer
 * tracked), 0 for a duplicate, -1 when out of memory. */
static int acks_note_id(acks_state *a, int64_t id) {
    if (a->ids_overflow) return 1;
    if (idindex_find(&a->index, id, a->ids, sizeof *a->ids) != IDINDEX_NONE) return 0;
    if (a->nids == ACKS_IDS_MAX) {
        a->ids_overflow = true;
        return 1;
    }
    if (a->nids == a->capids) {
        size_t cap = a->capids ? a->capids * 2 : 1024;
        int64_t *p = realloc(a->ids, cap * sizeof *p);
        if (!p) return -1;
        a->ids = p, a->capids = cap;
    }
    a->ids[a->nids] = id;
    if (idindex_insert(&a->index, id, (uint32_t)a->nids, a->ids, sizeof *a->ids) != 0) return -1;
    a->nids++;
    return 1;
}

int acks_add(acks_state *a, const void *key, size_t key_len, const void *value, size_t value_len,
             const void *hdr_us, size_t hdr_len, int64_t ts_ms, char *err, size_t errlen) {
    a->messages++;
    record_msg m = {JOIN_ACK, key, key_len, value, value_len, ts_ms, hdr_us, hdr_len, 0, 0};
    join_record r;
    int bad_header = 0;
    if (record_decode(&m, &r, &bad_header, err, errlen) != RECORD_OK) {
        a->bad++;
        return -1;
    }
    int fresh = acks_note_id(a, r.event_id);
    if (fresh < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (!fresh) {
        a->duplicates++;
        return 0;
    }
    int64_t ack_us = r.us >= 0 ? r.us : r.ts_ms * 1000, latest_us;
    if (acks_latest_us(value, value_len, JOIN_TOPICS, &latest_us) != 0) {
        a->no_times++;
        return 0;
    }
    double ms = (double)(ack_us - latest_us) / 1000.0;
    a->delays++;
    size_t b = 0;
    while (b < ACKS_BUCKETS - 1 && ms > acks_bucket_le_ms(b)) b++;
    a->buckets[b]++;
    if (acks_sample(a, ms) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

/* A number, or null for NaN (JSON has no NaN). */
static json_t *acks_num(double v) { return isnan(v) ? json_null() : json_real(v); }

json_t *acks_json(const acks_state *a) {
    double p50 = NAN, p99 = NAN, max = NAN;
    double *sorted = a->nsamples ? malloc(a->nsamples * sizeof *sorted) : NULL;
    if (a->nsamples && !sorted) return NULL;
    if (sorted) {
        memcpy(sorted, a->samples, a->nsamples * sizeof *sorted);
        stats_sort(sorted, a->nsamples);
        p50 = stats_percentile_sorted(sorted, a->nsamples, 50);
        p99 = stats_percentile_sorted(sorted, a->nsamples, 99);
        max = sorted[a->nsamples - 1];
        free(sorted);
    }
    json_t *buckets = json_array();
    for (size_t b = 0; buckets && b < ACKS_BUCKETS; b++)
        json_array_append_new(buckets,
                              json_pack("{s:o,s:I}", "le_ms", acks_num(isinf(acks_bucket_le_ms(b)) ? NAN : acks_bucket_le_ms(b)),
                                        "count", (json_int_t)a->buckets[b]));
    json_t *j = json_pack("{s:I,s:o,s:o,s:I,s:I,s:I,s:b,s:o,s:o,s:o,s:o}",
                          "messages", (json_int_t)a->messages,
                          "distinct", a->ids_overflow ? json_null() : json_integer((json_int_t)a->nids),
                          "duplicates", a->ids_overflow ? json_null() : json_integer((json_int_t)a->duplicates),
                          "bad", (json_int_t)a->bad, "no_times", (json_int_t)a->no_times,
                          "delays", (json_int_t)a->delays, "exact", a->delays <= ACKS_SAMPLES_MAX,
                          "p50_ms", acks_num(p50), "p99_ms", acks_num(p99), "max_ms", acks_num(max),
                          "buckets", buckets ? buckets : json_null());
    return j;
}
