/* state.c - ack_consumer's LMDB state (see state.h for the databases).
 *
 * All writes of a batch happen in one LMDB write transaction, so what is on
 * disk is always the result of whole batches: the events' seen masks, the
 * acks decided (pending), their confirmations, the dead letters and the next
 * offsets move together. That is what makes "exactly one ack per event"
 * survive a crash at any instant. */
#include "ack_consumer/state.h"

#include "common/log.h"
#include "schema/message.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <lmdb.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

_Static_assert(ACK_N_TOPICS == SCHEMA_N_RECORDS, "one seen bit per record type");
_Static_assert(sizeof(ack_event) == 104, "ack_event is an on-disk format");
/* An ACKED event is stored as its first 8 bytes only (version, seen, state):
 * its topics are never read again, and the state keeps every event id for
 * good (a re-sent row must not be acked twice), so 104 bytes per event
 * would fill the map ~4x sooner. */
#define ST_ACKED_SIZE 8
_Static_assert(offsetof(ack_event, topics) == ST_ACKED_SIZE, "the compact record is the header");

#define ST_LOCK_FILE "ack_consumer.lock"
#define ST_META_CLUSTER "cluster_id"
#define ST_SCAN_PREFIX "scan_from/"

struct ack_state {
    MDB_env *env;
    MDB_dbi events, offsets, pending, meta, dead;
    int lock_fd;
    size_t map_bytes;
    bool keep_state;
};

/* ------------------------------------------------------------------------ */
/* Small helpers                                                             */
/* ------------------------------------------------------------------------ */

/* Writes "LMDB <what>: <mdb_strerror>" into err, naming --map-size when the
 * map is full because that is the operator's fix. Returns -1. */
static int st_err(const ack_state *s, char *err, size_t errlen, const char *what, int rc) {
    if (rc == MDB_MAP_FULL)
        snprintf(err, errlen,
                 "LMDB %s: the state is full (map size %zu MiB); restart with a larger "
                 "--map-size",
                 what, s ? s->map_bytes >> 20 : 0);
    else
        snprintf(err, errlen, "LMDB %s: %s", what, mdb_strerror(rc));
    return -1;
}

static void st_key_id(uint64_t id, unsigned char out[8]) {
    for (int i = 7; i >= 0; i--) {
        out[i] = (unsigned char)(id & 0xff);
        id >>= 8;
    }
}

static uint64_t st_id_key(const unsigned char in[8]) {
    uint64_t id = 0;
    for (int i = 0; i < 8; i++) id = (id << 8) | in[i];
    return id;
}

int ack_ready_list_push(ack_ready_list *l, uint64_t event_id, const ack_event *ev) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        ack_ready *items = realloc(l->items, cap * sizeof *items);
        if (!items) return -1;
        l->items = items;
        l->cap = cap;
    }
    l->items[l->n].event_id = event_id;
    l->items[l->n].ev = *ev;
    l->n++;
    return 0;
}

void ack_ready_list_free(ack_ready_list *l) {
    free(l->items);
    l->items = NULL;
    l->n = l->cap = 0;
}

/* Creates dir and its missing parents (mkdir -p). Returns 0 or -1 (errno). */
static int st_mkdirs(const char *dir) {
    char *path = strdup(dir);
    if (!path) return -1;
    int rc = 0;
    for (char *p = path + 1; rc == 0; p++) {
        if (*p != '/' && *p != '\0') continue;
        char c = *p;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST) rc = -1;
        *p = c;
        if (c == '\0') break;
    }
    free(path);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Open / close                                                              */
/* ------------------------------------------------------------------------ */

/* Takes the cache's exclusive lock: a second ack_consumer on the same cache
 * would race this one's acks. The kernel drops the lock when the process
 * dies, so a crash never leaves a stale lock behind. */
static int st_lock(ack_state *s, const char *dir, char *err, size_t errlen) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, ST_LOCK_FILE);
    s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (s->lock_fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        snprintf(err, errlen, "cache %s is in use by another ack_consumer (%s)", dir,
                 strerror(errno));
        return -1;
    }
    return 0;
}

static int st_open_dbis(ack_state *s, bool read_only, char *err, size_t errlen) {
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, read_only ? MDB_RDONLY : 0, &txn);
    if (rc) return st_err(s, err, errlen, "begin", rc);
    static const char *const names[] = {"events", "offsets", "pending", "meta", "dead_letters"};
    MDB_dbi *dbis[] = {&s->events, &s->offsets, &s->pending, &s->meta, &s->dead};
    for (size_t i = 0; i < 5; i++) {
        rc = mdb_dbi_open(txn, names[i], read_only ? 0 : MDB_CREATE, dbis[i]);
        if (rc) {
            mdb_txn_abort(txn);
            char what[64];
            snprintf(what, sizeof what, "open database '%s'", names[i]);
            return st_err(s, err, errlen, what, rc);
        }
    }
    rc = mdb_txn_commit(txn);
    return rc ? st_err(s, err, errlen, "commit", rc) : 0;
}

int ack_state_open(const ack_state_options *o, ack_state **out, char *err, size_t errlen) {
    *out = NULL;
    ack_state *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    s->lock_fd = -1;
    s->map_bytes = o->map_bytes;
    s->keep_state = o->keep_state_on_new_cluster;
    if (!o->read_only && st_mkdirs(o->dir) != 0) {
        snprintf(err, errlen, "cannot create cache directory %s: %s", o->dir, strerror(errno));
        goto fail;
    }
    if (!o->read_only && st_lock(s, o->dir, err, errlen) != 0) goto fail;

    int rc = mdb_env_create(&s->env);
    if (!rc) rc = mdb_env_set_maxdbs(s->env, 8);
    if (!rc) rc = mdb_env_set_mapsize(s->env, o->map_bytes);
    if (rc) {
        st_err(s, err, errlen, "create environment", rc);
        goto fail;
    }
    unsigned flags = o->read_only ? MDB_RDONLY : 0;
    /* process: the data reaches the OS page cache at each commit (a process
     * crash loses nothing) but is not fsync'ed (a machine crash may lose the
     * last commits; Kafka still has those messages, and the offsets stored with
     * them go back too, so they are simply consumed again). */
    if (o->sync == ACK_SYNC_PROCESS) flags |= MDB_NOSYNC | MDB_NOMETASYNC;
    rc = mdb_env_open(s->env, o->dir, flags, 0644);
    if (rc) {
        char what[4200];
        snprintf(what, sizeof what, "open %s", o->dir);
        st_err(s, err, errlen, what, rc);
        goto fail;
    }
    if (st_open_dbis(s, o->read_only, err, errlen) != 0) goto fail;
    *out = s;
    return 0;
fail:
    ack_state_close(s);
    return -1;
}

void ack_state_close(ack_state *s) {
    if (!s) return;
    if (s->env) {
        /* Force a sync in process mode too: a clean stop is fully durable. */
        int rc = mdb_env_sync(s->env, 1);
        if (rc && rc != EACCES && rc != EINVAL) log_warn("LMDB sync at close: %s", mdb_strerror(rc));
        mdb_env_close(s->env);
    }
    if (s->lock_fd >= 0) close(s->lock_fd);
    free(s);
}

/* ------------------------------------------------------------------------ */
/* Cluster id                                                                */
/* ------------------------------------------------------------------------ */

static int st_drop(ack_state *s, MDB_txn *txn, MDB_dbi dbi, char *err, size_t errlen) {
    int rc = mdb_drop(txn, dbi, 0);
    return rc ? st_err(s, err, errlen, "clear", rc) : 0;
}

/* Inside txn: compares cluster_id with the stored one and clears what no
 * longer means anything when it changed (see ack_state_use_cluster). */
static int st_cluster(ack_state *s, MDB_txn *txn, const char *cluster_id, bool *cleared,
                      char *err, size_t errlen) {
    MDB_val k = {strlen(ST_META_CLUSTER), (void *)ST_META_CLUSTER}, v;
    int rc = mdb_get(txn, s->meta, &k, &v);
    if (rc && rc != MDB_NOTFOUND) return st_err(s, err, errlen, "read cluster id", rc);
    if (rc == 0 && v.mv_size == strlen(cluster_id) && memcmp(v.mv_data, cluster_id, v.mv_size) == 0)
        return 0;
    if (rc == 0) {
        int len = v.mv_size > 64 ? 64 : (int)v.mv_size;
        if (s->keep_state) {
            log_warn("state belongs to Kafka cluster %.*s, now connected to %s: keeping the "
                     "events (--keep-state-on-new-cluster), forgetting offsets",
                     len, (const char *)v.mv_data, cluster_id);
            if (st_drop(s, txn, s->offsets, err, errlen) || st_drop(s, txn, s->meta, err, errlen))
                return -1;
        } else {
            log_warn("state belongs to Kafka cluster %.*s, now connected to %s: its events mean "
                     "nothing there; starting with empty state",
                     len, (const char *)v.mv_data, cluster_id);
            MDB_dbi all[] = {s->events, s->offsets, s->pending, s->meta, s->dead};
            for (size_t i = 0; i < 5; i++)
                if (st_drop(s, txn, all[i], err, errlen)) return -1;
        }
        *cleared = true;
    }
    MDB_val nv = {strlen(cluster_id), (void *)cluster_id};
    rc = mdb_put(txn, s->meta, &k, &nv, 0);
    return rc ? st_err(s, err, errlen, "store cluster id", rc) : 0;
}

int ack_state_use_cluster(ack_state *s, const char *cluster_id, bool *cleared, char *err,
                          size_t errlen) {
    *cleared = false;
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc) return st_err(s, err, errlen, "begin", rc);
    if (st_cluster(s, txn, cluster_id, cleared, err, errlen) != 0) {
        mdb_txn_abort(txn);
        *cleared = false;
        return -1;
    }
    rc = mdb_txn_commit(txn);
    if (rc) {
        *cleared = false;
        return st_err(s, err, errlen, "commit", rc);
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Applying a batch                                                          */
/* ------------------------------------------------------------------------ */

static int st_get_event(ack_state *s, MDB_txn *txn, uint64_t id, ack_event *ev, char *err,
                        size_t errlen) {
    unsigned char kb[8];
    st_key_id(id, kb);
    MDB_val k = {8, kb}, v;
    int rc = mdb_get(txn, s->events, &k, &v);
    if (rc == MDB_NOTFOUND) return 0;
    if (rc) return st_err(s, err, errlen, "read event", rc);
    bool compact = v.mv_size == ST_ACKED_SIZE;
    if ((v.mv_size != sizeof *ev && !compact) ||
        ((const uint8_t *)v.mv_data)[0] != ACK_EVENT_VERSION ||
        (compact && ((const uint8_t *)v.mv_data)[2] != ACK_ACKED)) {
        snprintf(err, errlen, "event %" PRIu64 ": stored record has an unknown format "
                 "(%zu bytes); was the cache written by another version?", id, v.mv_size);
        return -1;
    }
    if (compact) {
        memcpy(ev, v.mv_data, ST_ACKED_SIZE);
        for (int i = 0; i < ACK_N_TOPICS; i++) ev->topics[i] = (ack_seen){-1, -1, -1, -1, 0};
    } else {
        memcpy(ev, v.mv_data, sizeof *ev);
    }
    return 1;
}

static int st_put_event(ack_state *s, MDB_txn *txn, uint64_t id, const ack_event *ev, char *err,
                        size_t errlen) {
    unsigned char kb[8];
    st_key_id(id, kb);
    bool compact = ev->state == ACK_ACKED;
    MDB_val k = {8, kb}, v = {compact ? ST_ACKED_SIZE : sizeof *ev, (void *)ev};
    /* Shrinking a record in place leaves its page as sparse as before;
     * deleting it first lets LMDB merge sparse pages (it rebalances on
     * delete only). */
    int rc = compact ? mdb_del(txn, s->events, &k, NULL) : 0;
    if (rc == MDB_NOTFOUND) rc = 0;
    if (rc == 0) rc = mdb_put(txn, s->events, &k, &v, 0);
    return rc ? st_err(s, err, errlen, "write event", rc) : 0;
}

/* Marks one delivered ack: PENDING -> ACKED and out of "pending". Anything
 * else (already ACKED, unknown after a cluster change) is left alone. */
static int st_confirm(ack_state *s, MDB_txn *txn, uint64_t id, ack_batch_result *res, char *err,
                      size_t errlen) {
    ack_event ev;
    int found = st_get_event(s, txn, id, &ev, err, errlen);
    if (found <= 0) return found;
    if (ev.state != ACK_PENDING) return 0;
    ev.state = ACK_ACKED;
    if (st_put_event(s, txn, id, &ev, err, errlen)) return -1;
    unsigned char kb[8];
    st_key_id(id, kb);
    MDB_val k = {8, kb};
    int rc = mdb_del(txn, s->pending, &k, NULL);
    if (rc && rc != MDB_NOTFOUND) return st_err(s, err, errlen, "delete pending", rc);
    res->acked++;
    return 0;
}

static int st_put_i64(ack_state *s, MDB_txn *txn, MDB_dbi dbi, const char *key, int64_t val,
                      char *err, size_t errlen) {
    MDB_val k = {strlen(key), (void *)key}, v = {sizeof val, &val};
    int rc = mdb_put(txn, dbi, &k, &v, 0);
    return rc ? st_err(s, err, errlen, "write offset", rc) : 0;
}

static int st_get_i64(MDB_txn *txn, MDB_dbi dbi, const char *key, int64_t *val) {
    MDB_val k = {strlen(key), (void *)key}, v;
    if (mdb_get(txn, dbi, &k, &v) != 0 || v.mv_size != sizeof *val) return -1;
    memcpy(val, v.mv_data, sizeof *val);
    return 0;
}

/* Stores a dead letter once per topic/partition/offset: re-delivery of the
 * same message finds it there and adds nothing. */
static int st_dead_letter(ack_state *s, MDB_txn *txn, const ack_msg *m, const char *reason,
                          ack_batch_result *res, char *err, size_t errlen) {
    char key[320];
    snprintf(key, sizeof key, "%s/%" PRId32 "/%" PRId64, m->topic, m->partition, m->offset);
    uint32_t hdr[4] = {(uint32_t)strlen(reason), (uint32_t)(m->key ? m->key_len : 0),
                       (uint32_t)(m->value ? m->value_len : 0), 0};
    size_t size = sizeof hdr + hdr[0] + hdr[1] + hdr[2];
    MDB_val k = {strlen(key), key}, v = {size, NULL};
    /* MDB_RESERVE: LMDB hands out the space and we fill it, no extra copy. */
    int rc = mdb_put(txn, s->dead, &k, &v, MDB_NOOVERWRITE | MDB_RESERVE);
    if (rc == MDB_KEYEXIST) {
        log_debug("%s [%" PRId32 "] offset %" PRId64 ": dead letter already recorded", m->topic,
                  m->partition, m->offset);
        return 0;
    }
    if (rc) return st_err(s, err, errlen, "write dead letter", rc);
    unsigned char *p = v.mv_data;
    memcpy(p, hdr, sizeof hdr);
    p += sizeof hdr;
    memcpy(p, reason, hdr[0]);
    p += hdr[0];
    if (hdr[1]) memcpy(p, m->key, hdr[1]);
    p += hdr[1];
    if (hdr[2]) memcpy(p, m->value, hdr[2]);
    log_warn("%s [%" PRId32 "] offset %" PRId64 ": dead letter: %s", m->topic, m->partition,
             m->offset, reason);
    res->dead_letters++;
    return 0;
}

/* Applies one valid message to its event; a completed OPEN event becomes
 * PENDING and is handed to ready. */
static int st_seen(ack_state *s, MDB_txn *txn, const ack_msg *m, int topic, uint64_t id,
                   ack_ready_list *ready, ack_batch_result *res, char *err, size_t errlen) {
    ack_event ev;
    int found = st_get_event(s, txn, id, &ev, err, errlen);
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
        unsigned char kb[8];
        st_key_id(id, kb);
        MDB_val k = {8, kb}, v = {0, NULL};
        int rc = mdb_put(txn, s->pending, &k, &v, 0);
        if (rc) return st_err(s, err, errlen, "write pending", rc);
        if (ack_ready_list_push(ready, id, &ev) != 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        res->completed++;
    }
    return st_put_event(s, txn, id, &ev, err, errlen);
}

static int st_apply_msgs(ack_state *s, MDB_txn *txn, const ack_batch *b, ack_ready_list *ready,
                         ack_batch_result *res, char *err, size_t errlen) {
    int rc = 0;
    for (size_t i = 0; i < b->nmsgs && rc == 0; i++) {
        const ack_msg *m = &b->msgs[i];
        schema_message sm;
        if (schema_message_map(&sm, m->topic, m->key, m->key_len, m->value, m->value_len) != 0) {
            rc = st_dead_letter(s, txn, m, sm.reason, res, err, errlen);
        } else {
            schema_message_done(&sm); /* only the record type and the event id are used */
            rc = st_seen(s, txn, m, (int)(sm.rec - schema_records), (uint64_t)sm.event_id, ready,
                         res, err, errlen);
        }
    }
    for (size_t i = 0; i < b->nnext && rc == 0; i++) {
        char key[300];
        snprintf(key, sizeof key, "%s/%" PRId32, b->next[i].topic, b->next[i].partition);
        rc = st_put_i64(s, txn, s->offsets, key, b->next[i].offset, err, errlen);
    }
    return rc;
}

int ack_state_apply_batch(ack_state *s, const ack_batch *b, ack_ready_list *ready,
                          ack_batch_result *res, char *err, size_t errlen) {
    memset(res, 0, sizeof *res);
    size_t ready_before = ready->n;
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc) return st_err(s, err, errlen, "begin", rc);
    int fail = b->cluster_id ? st_cluster(s, txn, b->cluster_id, &res->cleared, err, errlen) : 0;
    for (size_t i = 0; i < b->nconfirms && !fail; i++)
        fail = st_confirm(s, txn, b->confirms[i].event_id, res, err, errlen);
    for (size_t i = 0; i < b->nscan_from && !fail; i++) {
        char key[64];
        snprintf(key, sizeof key, ST_SCAN_PREFIX "%" PRId32, b->scan_from[i].partition);
        fail = st_put_i64(s, txn, s->meta, key, b->scan_from[i].offset, err, errlen);
    }
    if (!fail) fail = st_apply_msgs(s, txn, b, ready, res, err, errlen);
    if (!fail) {
        rc = mdb_txn_commit(txn);
        if (rc) fail = st_err(s, err, errlen, "commit", rc);
    } else {
        mdb_txn_abort(txn);
    }
    if (fail) {
        ready->n = ready_before; /* the decisions were not stored: forget them */
        memset(res, 0, sizeof *res);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                   */
/* ------------------------------------------------------------------------ */

int64_t ack_state_stored_offset(ack_state *s, const char *cluster_id, const char *topic,
                                int32_t partition) {
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc) {
        log_error("LMDB begin: %s", mdb_strerror(rc));
        return -1;
    }
    int64_t next = -1;
    MDB_val k = {strlen(ST_META_CLUSTER), (void *)ST_META_CLUSTER}, v;
    bool same = !cluster_id || (mdb_get(txn, s->meta, &k, &v) == 0 &&
                                v.mv_size == strlen(cluster_id) &&
                                memcmp(v.mv_data, cluster_id, v.mv_size) == 0);
    if (same) {
        char key[300];
        snprintf(key, sizeof key, "%s/%" PRId32, topic, partition);
        if (st_get_i64(txn, s->offsets, key, &next) != 0) next = -1;
    }
    mdb_txn_abort(txn);
    return next;
}

int64_t ack_state_scan_from(ack_state *s, int32_t partition) {
    MDB_txn *txn;
    if (mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn) != 0) return -1;
    char key[64];
    snprintf(key, sizeof key, ST_SCAN_PREFIX "%" PRId32, partition);
    int64_t off = -1;
    if (st_get_i64(txn, s->meta, key, &off) != 0) off = -1;
    mdb_txn_abort(txn);
    return off;
}

long ack_state_pending(ack_state *s, ack_ready_list *list, char *err, size_t errlen) {
    MDB_txn *txn;
    MDB_cursor *cur;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc) return st_err(s, err, errlen, "begin", rc);
    rc = mdb_cursor_open(txn, s->pending, &cur);
    if (rc) {
        mdb_txn_abort(txn);
        return st_err(s, err, errlen, "cursor", rc);
    }
    long n = 0;
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 8) continue;
        uint64_t id = st_id_key(k.mv_data);
        ack_event ev;
        int found = st_get_event(s, txn, id, &ev, err, errlen);
        if (found < 0) break;
        if (!found) continue; /* cannot happen: pending and events change together */
        if (ack_ready_list_push(list, id, &ev) != 0) {
            snprintf(err, errlen, "out of memory");
            found = -1;
            break;
        }
        n++;
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    if (rc != 0 && rc != MDB_NOTFOUND) return st_err(s, err, errlen, "read pending", rc);
    return rc == 0 ? -1 : n;
}

int ack_state_get_event(ack_state *s, uint64_t event_id, ack_event *ev) {
    MDB_txn *txn;
    if (mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn) != 0) return -1;
    char err[256];
    int found = st_get_event(s, txn, event_id, ev, err, sizeof err);
    if (found < 0) log_error("%s", err);
    mdb_txn_abort(txn);
    return found;
}

/* Splits a dead-letter key "topic/partition/offset" (topic names cannot
 * contain '/'). Returns 0, or -1 if malformed. */
static int st_dead_key(const MDB_val *k, char *topic, size_t tlen, int32_t *part, int64_t *off) {
    char buf[320];
    if (k->mv_size >= sizeof buf) return -1;
    memcpy(buf, k->mv_data, k->mv_size);
    buf[k->mv_size] = '\0';
    char *o = strrchr(buf, '/');
    if (!o) return -1;
    *o++ = '\0';
    char *p = strrchr(buf, '/');
    if (!p) return -1;
    *p++ = '\0';
    *part = (int32_t)strtol(p, NULL, 10);
    *off = strtoll(o, NULL, 10);
    snprintf(topic, tlen, "%s", buf);
    return 0;
}

long ack_state_dead_letters(ack_state *s, ack_dead_letter_fn fn, void *ctx) {
    MDB_txn *txn;
    MDB_cursor *cur;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc) {
        log_error("LMDB begin: %s", mdb_strerror(rc));
        return -1;
    }
    rc = mdb_cursor_open(txn, s->dead, &cur);
    if (rc) {
        log_error("LMDB cursor: %s", mdb_strerror(rc));
        mdb_txn_abort(txn);
        return -1;
    }
    long n = 0;
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        char topic[320], reason[1024];
        int32_t part;
        int64_t off;
        uint32_t hdr[4];
        if (st_dead_key(&k, topic, sizeof topic, &part, &off) != 0 || v.mv_size < sizeof hdr)
            continue;
        memcpy(hdr, v.mv_data, sizeof hdr);
        if (sizeof hdr + (size_t)hdr[0] + hdr[1] + hdr[2] != v.mv_size) continue;
        const unsigned char *p = (const unsigned char *)v.mv_data + sizeof hdr;
        snprintf(reason, sizeof reason, "%.*s", (int)hdr[0], (const char *)p);
        n++;
        if (fn(ctx, topic, part, off, reason, p + hdr[0], hdr[1], p + hdr[0] + hdr[1], hdr[2]))
            break;
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return n;
}

int ack_state_counts_get(ack_state *s, ack_state_counts *c) {
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc) return -1;
    MDB_dbi dbis[] = {s->events, s->pending, s->dead, s->offsets};
    size_t *outs[] = {&c->events, &c->pending, &c->dead_letters, &c->offsets};
    for (size_t i = 0; i < 4 && rc == 0; i++) {
        MDB_stat st;
        rc = mdb_stat(txn, dbis[i], &st);
        if (rc == 0) *outs[i] = st.ms_entries;
    }
    mdb_txn_abort(txn);
    return rc ? -1 : 0;
}
