/* join.c - per-event join of topic1..3 and ack, and the ack invariants (see join.h). */
#include "analysis/join.h"

#include "analysis/idindex.h"
#include "schema/schema.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(join_event) == 64, "join_event should stay one cache line");

const char *const join_violation_names[JOIN_V_COUNT] = {
    "missing_ack", "duplicate_ack", "ack_before_topic", "ack_unknown_event",
    "ack_incomplete_event"};


struct join {
    join_event *ev; /* dense, in order of first appearance until join_finish sorts it */
    size_t n, cap;
    idindex ix;     /* event id -> position in ev; freed by join_finish */
    int finished;
    join_cut cut;
    size_t dead_only; /* dead letters that named no event seen otherwise */
};

join *join_new(void) {
    join *j = calloc(1, sizeof *j);
    if (!j) return NULL;
    idindex_init(&j->ix);
    for (int s = 0; s < JOIN_SLOTS; s++) j->cut.cut_us[s] = JOIN_NO_CUT;
    return j;
}

void join_set_cut(join *j, const join_cut *cut) { j->cut = *cut; }

void join_free(join *j) {
    if (!j) return;
    idindex_free(&j->ix);
    free(j->ev);
    free(j);
}

/* Appends a fresh event for id; returns it, or NULL when out of memory. */
static join_event *join_append(join *j, int64_t id) {
    if (j->n == j->cap) {
        /* Growing by half keeps the slack (and the peak during realloc) small. */
        size_t ncap = j->cap ? j->cap + j->cap / 2 : 4096;
        join_event *nev = realloc(j->ev, ncap * sizeof *nev);
        if (!nev) return NULL;
        j->ev = nev;
        j->cap = ncap;
    }
    join_event *e = &j->ev[j->n];
    memset(e, 0, sizeof *e);
    e->event_id = id;
    for (int s = 0; s < JOIN_SLOTS; s++) {
        e->t_us[s] = JOIN_NO_TIME;
        e->partition[s] = -1;
    }
    if (idindex_insert(&j->ix, id, (uint32_t)j->n, j->ev, sizeof *j->ev) != 0) return NULL;
    j->n++;
    return e;
}

int join_add(join *j, const join_record *r, char *err, size_t errlen) {
    if (j->finished) {
        snprintf(err, errlen, "join_add after join_finish");
        return -1;
    }
    if (r->slot < 0 || r->slot >= JOIN_SLOTS) {
        snprintf(err, errlen, "invalid slot %d", r->slot);
        return -1;
    }
    if (r->event_id <= 0) {
        snprintf(err, errlen, "invalid event id %" PRId64 " (must be > 0)", r->event_id);
        return -1;
    }
    if (r->us < 0 && r->ts_ms < 0) {
        snprintf(err, errlen, "event %" PRId64 ": no time (neither microseconds nor a Kafka timestamp)",
                 r->event_id);
        return -1;
    }
    if (r->us < 0 && r->ts_ms > INT64_MAX / 1000) {
        snprintf(err, errlen, "event %" PRId64 ": Kafka timestamp %" PRId64 " ms out of range",
                 r->event_id, r->ts_ms);
        return -1;
    }
    uint32_t pos = idindex_find(&j->ix, r->event_id, j->ev, sizeof *j->ev);
    join_event *e = pos == IDINDEX_NONE ? join_append(j, r->event_id) : &j->ev[pos];
    if (!e) {
        snprintf(err, errlen, "out of memory after %zu events", j->n);
        return -1;
    }
    int s = r->slot;
    int from_ms = r->us < 0;
    int64_t t = from_ms ? r->ts_ms * 1000 : r->us;
    if (e->seen[s] < UINT8_MAX) e->seen[s]++;
    if (e->t_us[s] == JOIN_NO_TIME || t < e->t_us[s]) {
        e->t_us[s] = t;
        e->partition[s] = r->partition;
        e->from_ms = (uint8_t)((e->from_ms & ~(1u << s)) | ((unsigned)from_ms << s));
    }
    return 0;
}

int join_add_dead(join *j, int slot, int64_t event_id, char *err, size_t errlen) {
    if (j->finished || slot < 0 || slot >= JOIN_TOPICS || event_id < 0) {
        snprintf(err, errlen, "invalid dead letter (slot %d, event %" PRId64 ")", slot, event_id);
        return -1;
    }
    if (event_id == 0) {
        j->dead_only++;
        return 0;
    }
    uint32_t pos = idindex_find(&j->ix, event_id, j->ev, sizeof *j->ev);
    join_event *e = pos == IDINDEX_NONE ? join_append(j, event_id) : &j->ev[pos];
    if (!e) {
        snprintf(err, errlen, "out of memory after %zu events", j->n);
        return -1;
    }
    e->dead |= (uint8_t)(1u << slot);
    return 0;
}

/* True if the event has no time at all: only dead letters named it. */
static int join_event_timeless(const join_event *e) {
    for (int s = 0; s < JOIN_SLOTS; s++)
        if (e->seen[s]) return 0;
    return 1;
}

int64_t join_event_start(const join_event *e) {
    int64_t start = JOIN_NO_TIME;
    for (int s = 0; s < JOIN_TOPICS; s++)
        if (e->seen[s] && (start == JOIN_NO_TIME || e->t_us[s] < start)) start = e->t_us[s];
    return start == JOIN_NO_TIME ? e->t_us[JOIN_ACK] : start;
}

static int join_cmp_id(const void *a, const void *b) {
    int64_t x = ((const join_event *)a)->event_id, y = ((const join_event *)b)->event_id;
    return (x > y) - (x < y);
}

size_t join_finish(join *j, int64_t from_us, int64_t until_us) {
    idindex_free(&j->ix); /* sorting moves events: the index would be stale */
    j->finished = 1;
    size_t kept = 0, timeless = 0;
    for (size_t i = 0; i < j->n; i++) {
        if (join_event_timeless(&j->ev[i])) { /* no time, no window: only counted */
            timeless++;
            continue;
        }
        int64_t start = join_event_start(&j->ev[i]);
        if (start < from_us || start > until_us) continue;
        if (kept != i) j->ev[kept] = j->ev[i];
        kept++;
    }
    size_t dropped = j->n - kept - timeless;
    j->dead_only += timeless;
    j->n = kept;
    if (j->n > 1) qsort(j->ev, j->n, sizeof *j->ev, join_cmp_id);
    return dropped;
}

const join_event *join_events(const join *j, size_t *n) {
    *n = j->n;
    return j->ev;
}

/* Number of data topics the event was seen on. */
static int join_topics_seen(const join_event *e) {
    int k = 0;
    for (int s = 0; s < JOIN_TOPICS; s++) k += e->seen[s] > 0;
    return k;
}

int join_event_complete(const join_event *e) { return join_topics_seen(e) == JOIN_TOPICS; }

int64_t join_event_latest(const join_event *e, int *slot) {
    if (!join_event_complete(e)) return JOIN_NO_TIME;
    int best = 0;
    for (int s = 1; s < JOIN_TOPICS; s++)
        if (e->t_us[s] > e->t_us[best]) best = s;
    if (slot) *slot = best;
    return e->t_us[best];
}

int join_event_delay_us(const join_event *e, int64_t *delay_us) {
    int64_t latest = join_event_latest(e, NULL);
    if (latest == JOIN_NO_TIME || !e->seen[JOIN_ACK]) return -1;
    *delay_us = e->t_us[JOIN_ACK] - latest;
    return 0;
}

const char *join_event_source(const join_event *e) {
    unsigned have = 0;
    for (int s = 0; s < JOIN_SLOTS; s++)
        if (e->seen[s]) have |= 1u << s;
    unsigned ms = e->from_ms & have;
    return ms == 0 ? "us" : ms == have ? "ms" : "mixed";
}

/* Reports one violation: counts it and calls the callback. */
static void join_report(join_summary *out, join_violation_kind kind, const join_event *e,
                        void (*fn)(const join_violation *, void *), void *ctx) {
    out->violations++;
    out->by_kind[kind]++;
    if (fn) {
        join_violation v = {kind, e};
        fn(&v, ctx);
    }
}

/* True if the missing ack of a complete event may have been deleted by the
 * ack topic's cut: every deleted ack is older than the cut, and the ack of
 * this event would be later than its latest topic message. */
static int join_ack_maybe_cut(const join_cut *c, const join_event *e) {
    return c->cut_us[JOIN_ACK] != JOIN_NO_CUT && join_event_latest(e, NULL) < c->cut_us[JOIN_ACK];
}

/* True if every data topic an acked event is missing from was cut early
 * enough for its message to have been deleted. */
static int join_topics_maybe_cut(const join_cut *c, const join_event *e) {
    for (int s = 0; s < JOIN_TOPICS; s++) {
        if (e->seen[s]) continue;
        int64_t cut = c->cut_us[s];
        if (cut == JOIN_NO_CUT) return 0;
        if (cut != INT64_MAX && e->t_us[JOIN_ACK] >= cut + c->grace_us) return 0;
    }
    return 1;
}

/* Counts one event into *out and reports its violations. */
static void join_check_event(const join *j, const join_event *e, join_summary *out,
                             void (*fn)(const join_violation *, void *), void *ctx) {
    int topics = join_topics_seen(e);
    int acks = e->seen[JOIN_ACK];
    out->events++;
    out->acks += (size_t)acks;
    out->distinct_acks += acks > 0;
    out->dead_letter_events += e->dead != 0;
    for (int s = 0; s < JOIN_TOPICS; s++) out->topic_duplicates += e->seen[s] > 1 ? e->seen[s] - 1u : 0u;
    if (topics > 0 && topics < JOIN_TOPICS) out->incomplete++;
    if (topics == JOIN_TOPICS) {
        out->complete++;
        if (acks == 0 && join_ack_maybe_cut(&j->cut, e)) out->not_judged++;
        else if (acks == 0) join_report(out, JOIN_V_MISSING_ACK, e, fn, ctx);
    } else if (acks > 0 && join_topics_maybe_cut(&j->cut, e)) {
        out->not_judged++;
    } else if (acks > 0) {
        join_report(out, topics == 0 ? JOIN_V_ACK_UNKNOWN_EVENT : JOIN_V_ACK_INCOMPLETE_EVENT, e,
                    fn, ctx);
    }
    if (acks > 1) join_report(out, JOIN_V_DUPLICATE_ACK, e, fn, ctx);
    int64_t d;
    if (join_event_delay_us(e, &d) == 0) {
        out->delays++;
        const char *src = join_event_source(e);
        if (src[0] == 'u') out->source_us++;
        else if (src[0] == 'm' && src[1] == 's') out->source_ms++;
        else out->source_mixed++;
        if (d < 0) join_report(out, JOIN_V_ACK_BEFORE_TOPIC, e, fn, ctx);
    }
}

void join_check(const join *j, join_summary *out,
                void (*fn)(const join_violation *v, void *ctx), void *ctx) {
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < j->n; i++) join_check_event(j, &j->ev[i], out, fn, ctx);
    out->dead_letter_events += j->dead_only;
}

const char *join_summary_source(const join_summary *s) {
    if (s->delays == 0) return "none";
    if (s->source_us == s->delays) return "us";
    if (s->source_ms == s->delays) return "ms";
    return "mixed";
}

/* Appends the names of the data topics the event was not seen on. */
static void join_missing_names(const join_event *e, const char *const *names, char *buf,
                               size_t len) {
    size_t used = 0;
    buf[0] = '\0';
    for (int s = 0; s < JOIN_TOPICS && used < len; s++) {
        if (e->seen[s]) continue;
        int w = snprintf(buf + used, len - used, "%s%s%s", used ? ", " : "", names[s],
                         e->dead & (1u << s) ? " (a dead letter there)" : "");
        if (w < 0) break;
        used += (size_t)w;
    }
}

void join_default_names(const char *names[JOIN_SLOTS]) {
    _Static_assert(JOIN_ACK == SCHEMA_N_RECORDS, "one slot per data topic, then the ack topic");
    for (int s = 0; s < JOIN_ACK; s++) names[s] = schema_records[s].topic;
    names[JOIN_ACK] = SCHEMA_ACK_TOPIC;
}

void join_violation_text(const join_violation *v, const char *const *names, char *buf,
                         size_t len) {
    const join_event *e = v->event;
    const char *defaults[JOIN_SLOTS];
    if (!names) {
        join_default_names(defaults);
        names = defaults;
    }
    char missing[256];
    int slot = 0;
    int64_t latest = join_event_latest(e, &slot), d = 0;
    switch (v->kind) {
    case JOIN_V_MISSING_ACK:
        snprintf(buf, len,
                 "event %" PRId64 ": missing ack: seen on %s p%d, %s p%d, %s p%d but never on %s",
                 e->event_id, names[0], e->partition[0], names[1], e->partition[1], names[2],
                 e->partition[2], names[JOIN_ACK]);
        break;
    case JOIN_V_DUPLICATE_ACK:
        snprintf(buf, len, "event %" PRId64 ": duplicate ack: %s%d acks on %s, expected exactly one",
                 e->event_id, e->seen[JOIN_ACK] == UINT8_MAX ? ">=" : "", e->seen[JOIN_ACK],
                 names[JOIN_ACK]);
        break;
    case JOIN_V_ACK_BEFORE_TOPIC:
        (void)join_event_delay_us(e, &d);
        snprintf(buf, len,
                 "event %" PRId64 ": ack before topic: %s p%d at %" PRId64 " us precedes %s p%d at %"
                 PRId64 " us by %.3f ms",
                 e->event_id, names[JOIN_ACK], e->partition[JOIN_ACK], e->t_us[JOIN_ACK],
                 names[slot], e->partition[slot], latest, (double)-d / 1000.0);
        break;
    case JOIN_V_ACK_UNKNOWN_EVENT:
        snprintf(buf, len, "event %" PRId64 ": ack for unknown event: %s p%d, never seen on a data topic",
                 e->event_id, names[JOIN_ACK], e->partition[JOIN_ACK]);
        break;
    case JOIN_V_ACK_INCOMPLETE_EVENT:
        join_missing_names(e, names, missing, sizeof missing);
        snprintf(buf, len, "event %" PRId64 ": ack for incomplete event: %s p%d, but never seen on %s",
                 e->event_id, names[JOIN_ACK], e->partition[JOIN_ACK], missing);
        break;
    default:
        snprintf(buf, len, "event %" PRId64 ": unknown violation %d", e->event_id, (int)v->kind);
        break;
    }
}
