/* acks.h - the ack delay, live, from the ack topic alone.
 *
 * Every ack carries what ack_delay (analysis/) reads from four topics: its
 * own time (the gk-produced-us header, else "acked_us", else the Kafka
 * timestamp: analysis/record.h decides, the one rule) and, per data topic,
 * the produce time of the message it completes ("produced_us", else
 * "ts_ms"). The delay is the ack time minus the latest of those three: the
 * same figure ack_delay reports, so the console's p50/p99 are the run's.
 *
 * An event acked more than once counts its first ack read (a partition's
 * acks arrive in offset order and an event's acks share its key's partition,
 * so that is its earliest) and the others as duplicates.
 *
 * Bounded: at most ACKS_IDS_MAX distinct event ids are remembered (beyond
 * them distinct acks and duplicates are no longer known and say so) and at
 * most ACKS_SAMPLES_MAX delays are kept for the percentiles (beyond them a
 * uniform random sample of that size: the percentiles become estimates and
 * say so). The histogram counts every delay. */
#ifndef GK_CONSOLE_ACKS_H
#define GK_CONSOLE_ACKS_H
#include "analysis/idindex.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACKS_IDS_MAX 4000000u
#define ACKS_SAMPLES_MAX 1000000u
/* The histogram's buckets: ten a decade (the R10 series 1, 1.25, 1.6, 2,
 * 2.5, 3.15, 4, 5, 6.3, 8) from 0.01 ms to 100 s, then +Inf: fine enough
 * that the shape of a run's delays shows, a few hundred bytes however many. */
#define ACKS_BUCKETS 72

/* The upper bound of bucket b in milliseconds (the last is +Inf). */
double acks_bucket_le_ms(size_t b);

typedef struct {
    uint64_t messages;   /* ack messages read */
    uint64_t bad;        /* acks that could not be read (named in the log) */
    uint64_t no_times;   /* acks without all three topic times: no delay */
    uint64_t duplicates; /* acks of an event already acked (while ids are tracked) */
    bool ids_overflow;   /* more than ACKS_IDS_MAX events: distinct/duplicates unknown */
    int64_t *ids;        /* distinct event ids acked, in arrival order */
    size_t nids, capids;
    idindex index;
    double *samples; /* delays in ms: all of them, or a uniform sample */
    size_t nsamples, capsamples;
    uint64_t delays;  /* delays measured (= histogram total) */
    uint64_t buckets[ACKS_BUCKETS];
    uint64_t rng;     /* the sample's PRNG state (fixed seed: reproducible) */
} acks_state;

/* An empty state. */
void acks_init(acks_state *a);

/* Frees what the state holds; it is empty again afterwards. */
void acks_free(acks_state *a);

/* One ack message: key and value as read, its gk-produced-us header (or
 * NULL) and Kafka timestamp (ms or -1). Returns 0, or -1 with a one-line
 * reason in err for an ack that cannot be read (counted as bad) or when
 * memory ran out. */
int acks_add(acks_state *a, const void *key, size_t key_len, const void *value, size_t value_len,
             const void *hdr_us, size_t hdr_len, int64_t ts_ms, char *err, size_t errlen);

/* The latest produce time (us) of the topics an ack's value names, from
 * each "topics" entry's "produced_us", else its "ts_ms" * 1000. Returns 0
 * with *latest_us when there are exactly ntopics entries and each has a
 * time; -1 otherwise. */
int acks_latest_us(const void *value, size_t len, size_t ntopics, int64_t *latest_us);

/* The acks as JSON: {"messages","distinct"(null when unknown),"duplicates",
 * "bad","no_times","delays","exact","p50_ms","p99_ms","max_ms",
 * "buckets":[{"le_ms","count"}...]}; NULL when out of memory. */
json_t *acks_json(const acks_state *a);

#endif
