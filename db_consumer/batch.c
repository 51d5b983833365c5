/* batch.c - what a store writes for a batch (see batch.h). */
#include "db_consumer/batch.h"

#include "common/log.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct db_batch_pos {
    char *topic;
    int32_t partition;
    int64_t offset;
};

static struct db_batch_pos *db_batch_told_find(const db_batch_told *t, const char *topic,
                                               int32_t partition) {
    for (size_t i = 0; i < t->n; i++)
        if (t->pos[i].partition == partition && strcmp(t->pos[i].topic, topic) == 0)
            return &t->pos[i];
    return NULL;
}

int db_batch_told_set(db_batch_told *t, const char *topic, int32_t partition, int64_t offset) {
    struct db_batch_pos *p = db_batch_told_find(t, topic, partition);
    if (p) {
        p->offset = offset;
        return 0;
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        struct db_batch_pos *grown = realloc(t->pos, cap * sizeof *grown);
        if (!grown) return -1;
        t->pos = grown;
        t->cap = cap;
    }
    char *copy = strdup(topic);
    if (!copy) return -1;
    t->pos[t->n++] = (struct db_batch_pos){copy, partition, offset};
    return 0;
}

void db_batch_told_free(db_batch_told *t) {
    for (size_t i = 0; i < t->n; i++) free(t->pos[i].topic);
    free(t->pos);
    *t = (db_batch_told){0};
}

size_t db_batch_part_of(const consume_batch *b, const msg_view *m, size_t *hint) {
    const consume_partition *p = *hint < b->nnext ? &b->next[*hint] : NULL;
    if (p && p->partition == m->partition && (p->topic == m->topic || strcmp(p->topic, m->topic) == 0))
        return *hint;
    for (size_t i = 0; i < b->nnext; i++) {
        p = &b->next[i];
        if (p->partition == m->partition && (p->topic == m->topic || strcmp(p->topic, m->topic) == 0))
            return *hint = i;
    }
    return *hint = 0; /* not reached: every message's partition is in b->next */
}

size_t db_batch_plan(const db_batch_told *told, const consume_batch *b, const int64_t *stored,
                     db_batch_part *plan) {
    for (size_t i = 0; i < b->nnext; i++) plan[i].first = -1;
    size_t hint = 0;
    for (size_t k = 0; k < b->nmsgs; k++) {
        size_t i = db_batch_part_of(b, &b->msgs[k], &hint);
        if (plan[i].first < 0) plan[i].first = b->msgs[k].offset;
    }
    size_t skipped = 0;
    for (size_t i = 0; i < b->nnext; i++) {
        const consume_partition *p = &b->next[i];
        db_batch_part *d = &plan[i];
        int64_t s = stored[i];
        const struct db_batch_pos *t = db_batch_told_find(told, p->topic, p->partition);
        d->from = d->first;
        d->store_offset = true;
        if (s < 0 || s <= d->first) continue; /* nothing written past us: all ours */
        if (t && t->offset >= 0 && d->first < t->offset) {
            log_warn("%s [%" PRId32 "]: consuming again from offset %" PRId64
                     ", before the stored next offset %" PRId64
                     " (the log is not the one the offset was stored for: the topic was "
                     "recreated?): writing it and storing %" PRId64,
                     p->topic, p->partition, d->first, s, p->offset);
            continue;
        }
        /* first..s-1 are in the database already: another instance held the
         * partition too (a rebalance this one has not seen yet, or this one
         * is the stale owner), or this batch is the replay of a commit whose
         * answer was lost with the connection. Those rows are the same
         * messages' rows: keep them. */
        int64_t end = s < p->offset ? s : p->offset;
        size_t n = 0;
        for (size_t k = 0; k < b->nmsgs; k++) {
            const msg_view *m = &b->msgs[k];
            if (m->offset < end && m->partition == p->partition && strcmp(m->topic, p->topic) == 0)
                n++;
        }
        skipped += n;
        d->from = s;
        d->store_offset = s < p->offset;
        log_warn("%s [%" PRId32 "]: offsets %" PRId64 "..%" PRId64
                 " are already in the database (stored next offset %" PRId64
                 "): %zu message(s) of this batch skipped (another db_consumer held the "
                 "partition too, or a commit's answer was lost)",
                 p->topic, p->partition, d->first, end - 1, s, n);
    }
    return skipped;
}

void db_batch_committed(db_batch_told *told, const consume_batch *b) {
    for (size_t i = 0; i < b->nnext; i++) {
        struct db_batch_pos *t = db_batch_told_find(told, b->next[i].topic, b->next[i].partition);
        if (t) t->offset = b->next[i].offset;
    }
}

void db_batch_log_dead_letter(const msg_view *m, const char *reason) {
    log_warn("%s [%" PRId32 "] offset %" PRId64 ": dead letter: %s", m->topic, m->partition,
             m->offset, reason);
}

int db_batch_walk(const consume_batch *b, const db_batch_part *plan, const db_batch_sink *sink,
                  void *ctx) {
    size_t hint = 0;
    for (size_t k = 0; k < b->nmsgs; k++) {
        const msg_view *m = &b->msgs[k];
        if (m->offset < plan[db_batch_part_of(b, m, &hint)].from) continue;
        schema_message sm;
        int rc;
        if (schema_message_map(&sm, m->topic, m->key, m->key_len, m->value, m->value_len) != 0) {
            db_batch_log_dead_letter(m, sm.reason);
            rc = sink->dead_letter(ctx, m, sm.reason);
        } else {
            rc = sink->row(ctx, m, &sm);
        }
        schema_message_done(&sm); /* after the sink: text values may borrow from it */
        if (rc != 0) return -1;
    }
    return 0;
}
