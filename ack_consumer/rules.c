/* rules.c - the life cycle of an event (see rules.h).
 *
 * All of a batch happens in one store transaction, so what is on disk is
 * always the result of whole batches: the events' seen masks, the acks
 * decided (pending), their confirmations, the dead letters and the next
 * offsets move together. That is what makes "exactly one ack per event"
 * survive a crash at any instant. */
#include "ack_consumer/rules.h"

#include "schema/message.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

_Static_assert(ACK_N_TOPICS == SCHEMA_N_RECORDS, "one seen bit per record type");

/* Marks one delivered ack: PENDING -> ACKED and out of the pending set.
 * Anything else (already ACKED, unknown after a cluster change) is left
 * alone, so a confirmation found twice changes nothing. */
static int rule_confirm(ack_txn *t, uint64_t id, const ack_batch *b, ack_batch_result *res,
                        char *err, size_t errlen) {
    ack_event ev;
    int found = ack_txn_get_event(t, id, &ev, err, errlen);
    if (found <= 0) return found;
    if (ev.state != ACK_PENDING) return 0;
    ev.state = ACK_ACKED;
    ev.acked_s = b->now_s;
    if (ack_txn_put_event(t, id, &ev, err, errlen) != 0 ||
        ack_txn_set_pending(t, id, false, err, errlen) != 0)
        return -1;
    if (b->changed && b->changed(b->changed_ctx, id) != 0) return snprintf(err, errlen, "out of memory"), -1;
    res->acked++;
    return 0;
}

/* Applies one accepted message of data topic `topic` to event id: the first
 * sighting per topic is kept; a completed OPEN event becomes PENDING and is
 * handed to ready. */
static int rule_seen(ack_txn *t, const ack_batch *b, const msg_view *m, int topic, uint64_t id,
                     ack_ready_list *ready, ack_batch_result *res, char *err, size_t errlen) {
    ack_event ev;
    int found = ack_txn_get_event(t, id, &ev, err, errlen);
    if (found < 0) return -1;
    if (!found) {
        memset(&ev, 0, sizeof ev);
        ev.version = ACK_EVENT_VERSION;
        ev.state = ACK_OPEN;
        for (int i = 0; i < ACK_N_TOPICS; i++)
            ev.topics[i] = (ack_seen){-1, -1, -1, -1, 0};
    }
    uint8_t bit = (uint8_t)(1u << topic);
    if (ev.state != ACK_OPEN || (ev.seen & bit)) return 0; /* nothing changes: no second ack */
    ev.seen |= bit;
    ev.topics[topic] = (ack_seen){m->ts_ms, m->produced_us, m->offset, m->partition, 0};
    if (ev.seen == ACK_SEEN_ALL) {
        ev.state = ACK_PENDING;
        if (ack_txn_set_pending(t, id, true, err, errlen) != 0) return -1;
        if (ack_ready_list_push(ready, id, &ev) != 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        res->completed++;
    }
    if (b->changed && b->changed(b->changed_ctx, id) != 0) return snprintf(err, errlen, "out of memory"), -1;
    return ack_txn_put_event(t, id, &ev, err, errlen);
}

/* Each message becomes a sighting or a dead letter; then the offsets. */
static int rule_messages(ack_txn *t, const ack_batch *b, ack_ready_list *ready,
                         ack_batch_result *res, char *err, size_t errlen) {
    int rc = 0;
    for (size_t i = 0; i < b->nmsgs && rc == 0; i++) {
        const msg_view *m = &b->msgs[i];
        schema_message sm;
        if (schema_message_map(&sm, m->topic, m->key, m->key_len, m->value, m->value_len) != 0) {
            if (b->dead_letter) { /* kept elsewhere (scalable mode: a topic) */
                rc = b->dead_letter(b->changed_ctx, m, sm.reason) == 0 ? 1 : -1;
                if (rc < 0)
                    snprintf(err, errlen, "dead letter of %s [%" PRId32 "] offset %" PRId64
                             " not kept", m->topic, m->partition, m->offset);
            } else {
                rc = ack_txn_dead_letter(t, m, sm.reason, err, errlen);
            }
            if (rc > 0) {
                res->dead_letters++;
                res->dead_by_class[schema_reason_class(sm.reason)]++;
                rc = 0;
            }
        } else {
            schema_message_done(&sm); /* only the record type and the event id are used */
            rc = rule_seen(t, b, m, (int)(sm.rec - schema_records), (uint64_t)sm.event_id, ready,
                           res, err, errlen);
        }
    }
    if (rc == 0) rc = ack_txn_put_offsets(t, b->next, b->nnext, err, errlen);
    return rc;
}

void ack_rules_horizon(ack_batch *b, int64_t now_us, long retention_s, size_t max) {
    int64_t now_s = now_us / 1000000;
    b->now_s = now_s > 0 && now_s <= UINT32_MAX ? (uint32_t)now_s : 0;
    b->expire_before_s = 0;
    b->expire_max = 0;
    if (retention_s <= 0 || b->now_s == 0 || (int64_t)b->now_s <= retention_s) return;
    b->expire_before_s = (uint32_t)(b->now_s - retention_s);
    b->expire_max = max;
}

int ack_rules_apply_txn(ack_txn *t, const ack_batch *b, ack_ready_list *ready,
                        ack_batch_result *res, char *err, size_t errlen) {
    memset(res, 0, sizeof *res);
    int fail = 0;
    if (b->cluster_id) fail = ack_txn_use_cluster(t, b->cluster_id, &res->cleared, err, errlen);
    if (!fail && b->expire_before_s) {
        long n = ack_txn_expire(t, b->expire_before_s, b->expire_max, b->forgotten, b->changed_ctx,
                                err, errlen);
        if (n < 0) fail = -1;
        else res->expired = (size_t)n;
    }
    for (size_t i = 0; i < b->nconfirms && !fail; i++)
        fail = rule_confirm(t, b->confirms[i].event_id, b, res, err, errlen);
    if (!fail) fail = ack_txn_put_scan_from(t, b->scan_from, b->nscan_from, err, errlen);
    if (!fail) fail = rule_messages(t, b, ready, res, err, errlen);
    return fail ? -1 : 0;
}

int ack_rules_apply(ack_store *s, const ack_batch *b, ack_ready_list *ready,
                    ack_batch_result *res, char *err, size_t errlen) {
    size_t ready_before = ready->n;
    ack_txn *t = ack_txn_begin(s, err, errlen);
    if (!t) return -1;
    int fail = ack_rules_apply_txn(t, b, ready, res, err, errlen);
    if (!fail)
        fail = ack_txn_commit(t, err, errlen);
    else
        ack_txn_abort(t);
    if (fail) {
        ready->n = ready_before; /* the decisions were not stored: forget them */
        memset(res, 0, sizeof *res);
        return -1;
    }
    return 0;
}
