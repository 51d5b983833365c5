/* join.h - joins the data topics and the ack topic per event id and checks the
 * ack invariants.
 *
 * Every Kafka message becomes a join_record: which slot it came from (topic
 * index 0..2, or JOIN_ACK), the event id, its Kafka timestamp (ms) and the
 * producer's wall clock in microseconds (the gk-produced-us header, or the
 * ack's acked_us). A slot's time is the microsecond value when present and the
 * Kafka timestamp otherwise; each event remembers which, so delays can say
 * whether they have microsecond ("us"), millisecond ("ms") or "mixed" precision.
 *
 * delay = ack time - the latest of the three topic times.
 *
 * Invariants (violations are reported by event id):
 *   - an event seen on all three topics (complete) has exactly one ack:
 *     JOIN_V_MISSING_ACK, JOIN_V_DUPLICATE_ACK;
 *   - no ack precedes the latest of its three topic messages:
 *     JOIN_V_ACK_BEFORE_TOPIC (only meaningful when all clocks are one host's);
 *   - no ack for an event never seen on a data topic (JOIN_V_ACK_UNKNOWN_EVENT)
 *     or seen on only some of them (JOIN_V_ACK_INCOMPLETE_EVENT).
 * An incomplete event without an ack is not a violation; it is counted.
 * Messages repeated on a data topic are counted too; the earliest one counts.
 * A data message the consumers refuse (a dead letter: record.h) does not make
 * its event seen on that topic; the event remembers it (dead).
 *
 * A log cut by retention (join_set_cut) hides messages: a verdict that rests
 * on a message that may have been deleted is not given - the event is
 * counted as not judged instead. A complete event without an ack is judged
 * only if its latest topic message is after the ack topic's cut (an ack comes
 * after it, and deleted acks are all older than the cut); an ack for an event
 * missing from a data topic only if that topic was not cut, or the ack is at
 * least grace_us after the cut.
 *
 * Memory: 64 bytes per event plus 8-16 bytes of index (see idindex.h). */
#ifndef GK_JOIN_H
#define GK_JOIN_H
#include <stddef.h>
#include <stdint.h>

#define JOIN_TOPICS 3           /* data topic slots 0..2 */
#define JOIN_ACK 3              /* the ack topic's slot */
#define JOIN_SLOTS 4
#define JOIN_NO_TIME INT64_MIN  /* t_us of a slot never seen */

/* One message, as the reader hands it over. */
typedef struct {
    int slot;          /* 0..2 data topic, JOIN_ACK */
    int64_t event_id;  /* > 0 */
    int64_t ts_ms;     /* Kafka timestamp in ms, or -1 */
    int64_t us;        /* gk-produced-us / acked_us in microseconds, or -1 */
    int32_t partition;
    int64_t offset;    /* only used in error text */
} join_record;

/* Everything known about one event id (64 bytes). */
typedef struct {
    int64_t event_id;
    int64_t t_us[JOIN_SLOTS];      /* earliest time seen per slot, or JOIN_NO_TIME */
    int32_t partition[JOIN_SLOTS]; /* partition of that earliest message, or -1 */
    uint8_t seen[JOIN_SLOTS];      /* messages per slot, saturating at 255 */
    uint8_t from_ms;               /* bit s: t_us[s] is a Kafka ms timestamp * 1000 */
    uint8_t dead;                  /* bit s: a message on slot s was a dead letter */
} join_event;

/* Where each slot's retained log begins (set from the low watermarks): the
 * latest time of a first retained message over the slot's partitions whose
 * older messages were deleted; JOIN_NO_CUT when none were, INT64_MAX when a
 * partition lost everything (its cut time is unknown). */
#define JOIN_NO_CUT INT64_MIN
typedef struct {
    int64_t cut_us[JOIN_SLOTS];
    int64_t grace_us; /* how long after a data topic's cut an ack may still rest on deleted data */
} join_cut;

typedef enum {
    JOIN_V_MISSING_ACK = 0,
    JOIN_V_DUPLICATE_ACK,
    JOIN_V_ACK_BEFORE_TOPIC,
    JOIN_V_ACK_UNKNOWN_EVENT,
    JOIN_V_ACK_INCOMPLETE_EVENT,
    JOIN_V_COUNT
} join_violation_kind;

/* Names for log lines: "missing_ack", "duplicate_ack", ... */
extern const char *const join_violation_names[JOIN_V_COUNT];

typedef struct {
    join_violation_kind kind;
    const join_event *event;
} join_violation;

/* Counts over the (windowed) events. */
typedef struct {
    size_t events;        /* distinct event ids (data topics or ack) */
    size_t complete;      /* seen on all three data topics */
    size_t incomplete;    /* seen on one or two data topics */
    size_t acks;          /* ack messages (per event saturating at 255) */
    size_t distinct_acks; /* events with at least one ack */
    size_t delays;        /* complete events with an ack: the delay sample */
    size_t topic_duplicates; /* data topic messages beyond the first per event and topic */
    size_t violations;
    size_t by_kind[JOIN_V_COUNT];
    size_t not_judged;       /* events whose verdict rests on messages a cut may have deleted */
    size_t dead_letter_events; /* events with a dead letter on a data topic */
    size_t source_us, source_ms, source_mixed; /* time source of the delays */
} join_summary;

typedef struct join join;

/* A new, empty join, or NULL when out of memory. */
join *join_new(void);

/* Frees the join. NULL is allowed. */
void join_free(join *j);

/* Adds one message. Returns 0, or -1 with a one-line reason in err (bad slot
 * or event id, no time at all, out of memory, or join_finish already called). */
int join_add(join *j, const join_record *r, char *err, size_t errlen);

/* Notes a dead letter of event_id (> 0; 0 for a key that names no event:
 * only counted) on data slot slot. Returns 0, or -1 with a reason in err. */
int join_add_dead(join *j, int slot, int64_t event_id, char *err, size_t errlen);

/* Sets where the retained log begins (see above); before join_check. */
void join_set_cut(join *j, const join_cut *cut);

/* Ends adding: drops the events whose start time (earliest data topic time,
 * or the ack time for an ack-only event) lies outside [from_us, until_us]
 * (pass INT64_MIN/INT64_MAX for no window) and sorts the rest by event id.
 * Returns the number of events dropped. */
size_t join_finish(join *j, int64_t from_us, int64_t until_us);

/* The events (sorted by id after join_finish) and their number. */
const join_event *join_events(const join *j, size_t *n);

/* The time that places an event in a window (join_finish, bands.h): its
 * earliest data topic time, or its ack time when it was seen on no data topic. */
int64_t join_event_start(const join_event *e);

/* 1 if the event was seen on all three data topics. */
int join_event_complete(const join_event *e);

/* The latest data topic time of a complete event, and its slot in *slot
 * (may be NULL). JOIN_NO_TIME if the event is not complete. */
int64_t join_event_latest(const join_event *e, int *slot);

/* Sets *delay_us = ack time - latest topic time and returns 0 for a complete
 * event with an ack; returns -1 otherwise. */
int join_event_delay_us(const join_event *e, int64_t *delay_us);

/* "us", "ms" or "mixed": the precision of the times behind the delay (over the
 * slots the event has). */
const char *join_event_source(const join_event *e);

/* Counts everything into *out and calls fn (may be NULL) for each violation,
 * in event id order after join_finish. */
void join_check(const join *j, join_summary *out,
                void (*fn)(const join_violation *v, void *ctx), void *ctx);

/* The summary's overall time source: "us", "ms", "mixed", or "none" without delays. */
const char *join_summary_source(const join_summary *s);

/* Fills names[0..3] with the slots' default topic names: the schema's data
 * topics and its ack topic. */
void join_default_names(const char *names[JOIN_SLOTS]);

/* Writes a one-line description of a violation ("event 17: 2 acks, expected
 * exactly one") into buf. names[0..3] are the topic names for the slots; NULL
 * means join_default_names. */
void join_violation_text(const join_violation *v, const char *const *names, char *buf,
                         size_t len);

#endif
