/* store_lmdb.c - ack_consumer's LMDB store (see store_lmdb.h for the
 * databases): the environment and its lock, the write transaction the rules
 * work in, the records' encoding, dead letters, and the reads. */
#include "ack_consumer/store_lmdb.h"

#include "common/log.h"

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

_Static_assert(sizeof(ack_event) == 104, "ack_event is an on-disk format");
/* An ACKED event is stored as its first 8 bytes only (version, seen, state):
 * its topics are never read again, and the state keeps every event id for
 * good (a re-sent row must not be acked twice), so the whole record would
 * fill the map several times sooner (README: acked events per MiB). */
#define LM_ACKED_SIZE 8
_Static_assert(offsetof(ack_event, topics) == LM_ACKED_SIZE, "the compact record is the header");

#define LM_LOCK_FILE "ack_consumer.lock"
#define LM_META_CLUSTER "cluster_id"
#define LM_SCAN_PREFIX "scan_from/"

struct ack_txn {
    ack_store *s;
    MDB_txn *txn; /* NULL when no write transaction is open */
};

struct ack_store {
    MDB_env *env;
    MDB_dbi events, offsets, pending, meta, dead;
    int lock_fd;
    size_t map_bytes;
    bool keep_state;
    struct ack_txn write; /* the one write transaction */
};

/* ------------------------------------------------------------------------ */
/* Small helpers                                                             */
/* ------------------------------------------------------------------------ */

/* Writes "LMDB <what>: <mdb_strerror>" into err, naming --map-size when the
 * map is full because that is the operator's fix. Returns -1. */
static int lm_err(const ack_store *s, char *err, size_t errlen, const char *what, int rc) {
    if (rc == MDB_MAP_FULL)
        snprintf(err, errlen,
                 "LMDB %s: the state is full (map size %zu MiB); restart with a larger "
                 "--map-size",
                 what, s ? s->map_bytes >> 20 : 0);
    else
        snprintf(err, errlen, "LMDB %s: %s", what, mdb_strerror(rc));
    return -1;
}

static void lm_key_id(uint64_t id, unsigned char out[8]) {
    for (int i = 7; i >= 0; i--) {
        out[i] = (unsigned char)(id & 0xff);
        id >>= 8;
    }
}

static uint64_t lm_id_key(const unsigned char in[8]) {
    uint64_t id = 0;
    for (int i = 0; i < 8; i++) id = (id << 8) | in[i];
    return id;
}

/* Creates dir and its missing parents (mkdir -p). Returns 0 or -1 (errno). */
static int lm_mkdirs(const char *dir) {
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
static int lm_lock(ack_store *s, const char *dir, char *err, size_t errlen) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, LM_LOCK_FILE);
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

static int lm_open_dbis(ack_store *s, bool read_only, char *err, size_t errlen) {
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, read_only ? MDB_RDONLY : 0, &txn);
    if (rc) return lm_err(s, err, errlen, "begin", rc);
    static const char *const names[] = {"events", "offsets", "pending", "meta", "dead_letters"};
    MDB_dbi *dbis[] = {&s->events, &s->offsets, &s->pending, &s->meta, &s->dead};
    for (size_t i = 0; i < 5; i++) {
        rc = mdb_dbi_open(txn, names[i], read_only ? 0 : MDB_CREATE, dbis[i]);
        if (rc) {
            mdb_txn_abort(txn);
            char what[64];
            snprintf(what, sizeof what, "open database '%s'", names[i]);
            return lm_err(s, err, errlen, what, rc);
        }
    }
    rc = mdb_txn_commit(txn);
    return rc ? lm_err(s, err, errlen, "commit", rc) : 0;
}

int ack_store_open(const ack_store_options *o, ack_store **out, char *err, size_t errlen) {
    *out = NULL;
    ack_store *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    s->lock_fd = -1;
    s->map_bytes = o->map_bytes;
    s->keep_state = o->keep_state_on_new_cluster;
    if (!o->read_only && lm_mkdirs(o->dir) != 0) {
        snprintf(err, errlen, "cannot create cache directory %s: %s", o->dir, strerror(errno));
        goto fail;
    }
    if (!o->read_only && lm_lock(s, o->dir, err, errlen) != 0) goto fail;

    int rc = mdb_env_create(&s->env);
    if (!rc) rc = mdb_env_set_maxdbs(s->env, 8);
    if (!rc) rc = mdb_env_set_mapsize(s->env, o->map_bytes);
    if (rc) {
        lm_err(s, err, errlen, "create environment", rc);
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
        lm_err(s, err, errlen, what, rc);
        goto fail;
    }
    if (lm_open_dbis(s, o->read_only, err, errlen) != 0) goto fail;
    *out = s;
    return 0;
fail:
    ack_store_close(s);
    return -1;
}

void ack_store_close(ack_store *s) {
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
/* The write transaction                                                     */
/* ------------------------------------------------------------------------ */

ack_txn *ack_txn_begin(ack_store *s, char *err, size_t errlen) {
    ack_txn *t = &s->write;
    int rc = mdb_txn_begin(s->env, NULL, 0, &t->txn);
    if (rc) {
        t->txn = NULL;
        lm_err(s, err, errlen, "begin", rc);
        return NULL;
    }
    t->s = s;
    return t;
}

int ack_txn_commit(ack_txn *t, char *err, size_t errlen) {
    int rc = mdb_txn_commit(t->txn);
    t->txn = NULL;
    return rc ? lm_err(t->s, err, errlen, "commit", rc) : 0;
}

void ack_txn_abort(ack_txn *t) {
    mdb_txn_abort(t->txn);
    t->txn = NULL;
}

static int lm_drop(ack_store *s, MDB_txn *txn, MDB_dbi dbi, char *err, size_t errlen) {
    int rc = mdb_drop(txn, dbi, 0);
    return rc ? lm_err(s, err, errlen, "clear", rc) : 0;
}

int ack_txn_use_cluster(ack_txn *t, const char *cluster_id, bool *cleared, char *err,
                        size_t errlen) {
    ack_store *s = t->s;
    MDB_txn *txn = t->txn;
    MDB_val k = {strlen(LM_META_CLUSTER), (void *)LM_META_CLUSTER}, v;
    int rc = mdb_get(txn, s->meta, &k, &v);
    if (rc && rc != MDB_NOTFOUND) return lm_err(s, err, errlen, "read cluster id", rc);
    if (rc == 0 && v.mv_size == strlen(cluster_id) && memcmp(v.mv_data, cluster_id, v.mv_size) == 0)
        return 0;
    if (rc == 0) {
        int len = v.mv_size > 64 ? 64 : (int)v.mv_size;
        if (s->keep_state) {
            log_warn("state belongs to Kafka cluster %.*s, now connected to %s: keeping the "
                     "events (--keep-state-on-new-cluster), forgetting offsets",
                     len, (const char *)v.mv_data, cluster_id);
            if (lm_drop(s, txn, s->offsets, err, errlen) || lm_drop(s, txn, s->meta, err, errlen))
                return -1;
        } else {
            log_warn("state belongs to Kafka cluster %.*s, now connected to %s: its events mean "
                     "nothing there; starting with empty state",
                     len, (const char *)v.mv_data, cluster_id);
            MDB_dbi all[] = {s->events, s->offsets, s->pending, s->meta, s->dead};
            for (size_t i = 0; i < 5; i++)
                if (lm_drop(s, txn, all[i], err, errlen)) return -1;
        }
        *cleared = true;
    }
    MDB_val nv = {strlen(cluster_id), (void *)cluster_id};
    rc = mdb_put(txn, s->meta, &k, &nv, 0);
    return rc ? lm_err(s, err, errlen, "store cluster id", rc) : 0;
}

int ack_store_use_cluster(ack_store *s, const char *cluster_id, bool *cleared, char *err,
                          size_t errlen) {
    *cleared = false;
    ack_txn *t = ack_txn_begin(s, err, errlen);
    if (!t) return -1;
    if (ack_txn_use_cluster(t, cluster_id, cleared, err, errlen) != 0) {
        ack_txn_abort(t);
        *cleared = false;
        return -1;
    }
    if (ack_txn_commit(t, err, errlen) != 0) {
        *cleared = false;
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Records                                                                   */
/* ------------------------------------------------------------------------ */

/* Reads event id inside txn (see ack_txn_get_event). */
static int lm_get_event(ack_store *s, MDB_txn *txn, uint64_t id, ack_event *ev, char *err,
                        size_t errlen) {
    unsigned char kb[8];
    lm_key_id(id, kb);
    MDB_val k = {8, kb}, v;
    int rc = mdb_get(txn, s->events, &k, &v);
    if (rc == MDB_NOTFOUND) return 0;
    if (rc) return lm_err(s, err, errlen, "read event", rc);
    bool compact = v.mv_size == LM_ACKED_SIZE;
    if ((v.mv_size != sizeof *ev && !compact) ||
        ((const uint8_t *)v.mv_data)[0] != ACK_EVENT_VERSION ||
        (compact && ((const uint8_t *)v.mv_data)[2] != ACK_ACKED)) {
        snprintf(err, errlen, "event %" PRIu64 ": stored record has an unknown format "
                 "(%zu bytes); was the cache written by another version?", id, v.mv_size);
        return -1;
    }
    if (compact) {
        memcpy(ev, v.mv_data, LM_ACKED_SIZE);
        for (int i = 0; i < ACK_N_TOPICS; i++) ev->topics[i] = (ack_seen){-1, -1, -1, -1, 0};
    } else {
        memcpy(ev, v.mv_data, sizeof *ev);
    }
    return 1;
}

int ack_txn_get_event(ack_txn *t, uint64_t id, ack_event *ev, char *err, size_t errlen) {
    return lm_get_event(t->s, t->txn, id, ev, err, errlen);
}

int ack_txn_put_event(ack_txn *t, uint64_t id, const ack_event *ev, char *err, size_t errlen) {
    unsigned char kb[8];
    lm_key_id(id, kb);
    bool compact = ev->state == ACK_ACKED;
    MDB_val k = {8, kb}, v = {compact ? LM_ACKED_SIZE : sizeof *ev, (void *)ev};
    /* Shrinking a record in place leaves its page as sparse as before;
     * deleting it first lets LMDB merge sparse pages (it rebalances on
     * delete only). */
    int rc = compact ? mdb_del(t->txn, t->s->events, &k, NULL) : 0;
    if (rc == MDB_NOTFOUND) rc = 0;
    if (rc == 0) rc = mdb_put(t->txn, t->s->events, &k, &v, 0);
    return rc ? lm_err(t->s, err, errlen, "write event", rc) : 0;
}

int ack_txn_set_pending(ack_txn *t, uint64_t id, bool pending, char *err, size_t errlen) {
    unsigned char kb[8];
    lm_key_id(id, kb);
    MDB_val k = {8, kb}, v = {0, NULL};
    if (pending) {
        int rc = mdb_put(t->txn, t->s->pending, &k, &v, 0);
        return rc ? lm_err(t->s, err, errlen, "write pending", rc) : 0;
    }
    int rc = mdb_del(t->txn, t->s->pending, &k, NULL);
    return rc && rc != MDB_NOTFOUND ? lm_err(t->s, err, errlen, "delete pending", rc) : 0;
}

static int lm_put_i64(ack_store *s, MDB_txn *txn, MDB_dbi dbi, const char *key, int64_t val,
                      char *err, size_t errlen) {
    MDB_val k = {strlen(key), (void *)key}, v = {sizeof val, &val};
    int rc = mdb_put(txn, dbi, &k, &v, 0);
    return rc ? lm_err(s, err, errlen, "write offset", rc) : 0;
}

static int lm_get_i64(MDB_txn *txn, MDB_dbi dbi, const char *key, int64_t *val) {
    MDB_val k = {strlen(key), (void *)key}, v;
    if (mdb_get(txn, dbi, &k, &v) != 0 || v.mv_size != sizeof *val) return -1;
    memcpy(val, v.mv_data, sizeof *val);
    return 0;
}

int ack_txn_put_offsets(ack_txn *t, const consume_partition *next, size_t n, char *err,
                        size_t errlen) {
    for (size_t i = 0; i < n; i++) {
        char key[300];
        snprintf(key, sizeof key, "%s/%" PRId32, next[i].topic, next[i].partition);
        if (lm_put_i64(t->s, t->txn, t->s->offsets, key, next[i].offset, err, errlen) != 0)
            return -1;
    }
    return 0;
}

int ack_txn_put_scan_from(ack_txn *t, const ack_part_offset *sf, size_t n, char *err,
                          size_t errlen) {
    for (size_t i = 0; i < n; i++) {
        char key[64];
        snprintf(key, sizeof key, LM_SCAN_PREFIX "%" PRId32, sf[i].partition);
        if (lm_put_i64(t->s, t->txn, t->s->meta, key, sf[i].offset, err, errlen) != 0) return -1;
    }
    return 0;
}

int ack_txn_dead_letter(ack_txn *t, const msg_view *m, const char *reason, char *err,
                        size_t errlen) {
    char key[320];
    snprintf(key, sizeof key, "%s/%" PRId32 "/%" PRId64, m->topic, m->partition, m->offset);
    uint32_t hdr[4] = {(uint32_t)strlen(reason), (uint32_t)(m->key ? m->key_len : 0),
                       (uint32_t)(m->value ? m->value_len : 0), 0};
    size_t size = sizeof hdr + hdr[0] + hdr[1] + hdr[2];
    MDB_val k = {strlen(key), key}, v = {size, NULL};
    /* MDB_RESERVE: LMDB hands out the space and we fill it, no extra copy. */
    int rc = mdb_put(t->txn, t->s->dead, &k, &v, MDB_NOOVERWRITE | MDB_RESERVE);
    if (rc == MDB_KEYEXIST) {
        log_debug("%s [%" PRId32 "] offset %" PRId64 ": dead letter already recorded", m->topic,
                  m->partition, m->offset);
        return 0;
    }
    if (rc) return lm_err(t->s, err, errlen, "write dead letter", rc);
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
    return 1;
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                   */
/* ------------------------------------------------------------------------ */

int64_t ack_store_stored_offset(ack_store *s, const char *cluster_id, const char *topic,
                                int32_t partition) {
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc) {
        log_error("LMDB begin: %s", mdb_strerror(rc));
        return -1;
    }
    int64_t next = -1;
    MDB_val k = {strlen(LM_META_CLUSTER), (void *)LM_META_CLUSTER}, v;
    bool same = !cluster_id || (mdb_get(txn, s->meta, &k, &v) == 0 &&
                                v.mv_size == strlen(cluster_id) &&
                                memcmp(v.mv_data, cluster_id, v.mv_size) == 0);
    if (same) {
        char key[300];
        snprintf(key, sizeof key, "%s/%" PRId32, topic, partition);
        if (lm_get_i64(txn, s->offsets, key, &next) != 0) next = -1;
    }
    mdb_txn_abort(txn);
    return next;
}

int64_t ack_store_scan_from(ack_store *s, int32_t partition) {
    MDB_txn *txn;
    if (mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn) != 0) return -1;
    char key[64];
    snprintf(key, sizeof key, LM_SCAN_PREFIX "%" PRId32, partition);
    int64_t off = -1;
    if (lm_get_i64(txn, s->meta, key, &off) != 0) off = -1;
    mdb_txn_abort(txn);
    return off;
}

long ack_store_pending(ack_store *s, ack_ready_list *list, char *err, size_t errlen) {
    MDB_txn *txn;
    MDB_cursor *cur;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc) return lm_err(s, err, errlen, "begin", rc);
    rc = mdb_cursor_open(txn, s->pending, &cur);
    if (rc) {
        mdb_txn_abort(txn);
        return lm_err(s, err, errlen, "cursor", rc);
    }
    long n = 0;
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 8) continue;
        uint64_t id = lm_id_key(k.mv_data);
        ack_event ev;
        int found = lm_get_event(s, txn, id, &ev, err, errlen);
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
    if (rc != 0 && rc != MDB_NOTFOUND) return lm_err(s, err, errlen, "read pending", rc);
    return rc == 0 ? -1 : n;
}

int ack_store_get_event(ack_store *s, uint64_t event_id, ack_event *ev) {
    MDB_txn *txn;
    if (mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn) != 0) return -1;
    char err[256];
    int found = lm_get_event(s, txn, event_id, ev, err, sizeof err);
    if (found < 0) log_error("%s", err);
    mdb_txn_abort(txn);
    return found;
}

/* Splits a dead-letter key "topic/partition/offset" (topic names cannot
 * contain '/'). Returns 0, or -1 if malformed. */
static int lm_dead_key(const MDB_val *k, char *topic, size_t tlen, int32_t *part, int64_t *off) {
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

long ack_store_dead_letters(ack_store *s, ack_dead_letter_fn fn, void *ctx) {
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
        if (lm_dead_key(&k, topic, sizeof topic, &part, &off) != 0 || v.mv_size < sizeof hdr)
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

int ack_store_count(ack_store *s, ack_store_counts *c) {
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
