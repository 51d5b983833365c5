/* store_lmdb.c - ack_consumer's LMDB store (see store_lmdb.h for the
 * databases): the environment and its lock, its integrity check, the write
 * transaction the rules work in, the records' encoding, dead letters, and
 * the reads. Every LMDB error is an error of the call that met it: a cursor
 * loop ends at MDB_NOTFOUND and at nothing else. */
#include "ack_consumer/store_lmdb.h"

#include "common/exitcodes.h"
#include "common/log.h"
#include "common/timeutil.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <lmdb.h>
#include <setjmp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/statvfs.h>
#include <unistd.h>

_Static_assert(sizeof(ack_event) == 104, "ack_event is an on-disk format");
/* An ACKED event is stored as its first 8 bytes only (version, seen, state):
 * its topics are never read again, and the state keeps every event id for
 * good (a re-sent row must not be acked twice), so the whole record would
 * fill the map several times sooner (README: acked events per MiB). */
#define LM_ACKED_SIZE 8
_Static_assert(offsetof(ack_event, topics) == LM_ACKED_SIZE, "the compact record is the header");

#define LM_LOCK_FILE "ack_consumer.lock"
#define LM_DISK_FULL_BYTES (1 << 20) /* an EIO with less room than this is a full disk */
#define LM_META_CLUSTER "cluster_id"
#define LM_SCAN_PREFIX "scan_from/"
#define LM_META_CHECKPOINT "changelog_next" /* scalable mode: see ack_txn_put_checkpoint */
#define LM_MAP_BUDGET (8u << 20)  /* default ack_store_options.map_budget: see lm_map_watch */
#define LM_MAP_LOOK_EVERY 256      /* page-reading calls between two looks at the resident size */

struct ack_txn {
    ack_store *s;
    MDB_txn *txn; /* NULL when no write transaction is open */
};

struct ack_store {
    MDB_env *env;
    MDB_dbi events, offsets, pending, meta, dead, acked_at;
    char *dir; /* for the messages */
    int lock_fd;
    size_t map_bytes;
    bool keep_state;
    bool index_acked;
    bool acked_missing; /* read-only open of a cache from before acked_at */
    size_t map_budget;   /* file-backed bytes mapped since the last release that make the next */
    int statm_fd;        /* /proc/self/statm, kept open (-1: none, the map is never released) */
    long file_pages;     /* file-backed resident pages of the process after the last release */
    unsigned map_calls;  /* page-reading calls since the last look */
    void *map_addr;      /* the map, found in /proc/self/maps at the first release */
    size_t map_len;
    bool map_warned;
    struct ack_txn write; /* the one write transaction */
};

/* ------------------------------------------------------------------------ */
/* Small helpers                                                             */
/* ------------------------------------------------------------------------ */

static void lm_map_release(ack_store *s);

/* Bytes free for us on the file system of dir, or -1 if unknown. */
static int64_t lm_free_bytes(const char *dir) {
    struct statvfs fs;
    if (!dir || statvfs(dir, &fs) != 0) return -1;
    return (int64_t)(geteuid() == 0 ? fs.f_bfree : fs.f_bavail) * (int64_t)fs.f_frsize;
}

/* Writes "LMDB <what>: <why>" into err, in the operator's terms where there
 * are some: a full map names --map-size, and a full disk says so and where.
 * LMDB reports a write that the file system cut short as EIO ("short write,
 * filesystem full?"), so an EIO with (almost) no space left is a full disk
 * too. Returns -1. */
static int lm_err(const ack_store *s, char *err, size_t errlen, const char *what, int rc) {
    const char *dir = s ? s->dir : NULL;
    int64_t left = rc == EIO || rc == ENOSPC ? lm_free_bytes(dir) : -1;
    if (rc == MDB_MAP_FULL)
        snprintf(err, errlen,
                 "LMDB %s: the state is full (map size %zu MiB); restart with a larger "
                 "--map-size",
                 what, s ? s->map_bytes >> 20 : 0);
    else if (rc == ENOSPC || (rc == EIO && left >= 0 && left < LM_DISK_FULL_BYTES))
        snprintf(err, errlen, "LMDB %s: disk full (%s: %" PRId64 " KiB free)", what,
                 dir ? dir : "?", left < 0 ? 0 : left >> 10);
    else if (rc == EDQUOT)
        snprintf(err, errlen, "LMDB %s: disk quota exceeded (%s)", what, dir ? dir : "?");
    else if (rc == EIO)
        snprintf(err, errlen, "LMDB %s: I/O error on %s (the disk or its file system failed; "
                 "%" PRId64 " MiB free)", what, dir ? dir : "?", left >> 20);
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

/* Opens (creates unless read_only) the named databases. Returns 0, or the
 * LMDB error with the reason in err. */
/* The transaction lm_open_dbis has open, for lm_open_checked to abort when a
 * damaged page jumps out of it. */
static MDB_txn *volatile lm_guard_txn;

static int lm_open_dbis(ack_store *s, bool read_only, char *err, size_t errlen) {
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, read_only ? MDB_RDONLY : 0, &txn);
    if (rc) return lm_err(s, err, errlen, "begin", rc), rc;
    lm_guard_txn = txn; /* aborted by lm_open_checked if a page read jumps out */
    static const char *const names[] = {"events", "offsets", "pending", "meta", "dead_letters",
                                        "acked_at"};
    MDB_dbi *dbis[] = {&s->events, &s->offsets, &s->pending, &s->meta, &s->dead, &s->acked_at};
    for (size_t i = 0; i < 6; i++) {
        rc = mdb_dbi_open(txn, names[i], read_only ? 0 : MDB_CREATE, dbis[i]);
        /* A cache from before acked_at, opened read-only (the dump). */
        if (rc == MDB_NOTFOUND && read_only && dbis[i] == &s->acked_at) {
            s->acked_missing = true;
            rc = 0;
            continue;
        }
        if (rc) {
            mdb_txn_abort(txn);
            lm_guard_txn = NULL;
            char what[64];
            snprintf(what, sizeof what, "open database '%s'", names[i]);
            return lm_err(s, err, errlen, what, rc), rc;
        }
    }
    rc = mdb_txn_commit(txn);
    lm_guard_txn = NULL;
    return rc ? (lm_err(s, err, errlen, "commit", rc), rc) : 0;
}

/* Opening the databases and the integrity check: defined with the reads
 * below. */
static int lm_open_checked(ack_store *s, bool read_only, char *err, size_t errlen);

/* True for the LMDB errors that mean the files are damaged (or not LMDB's). */
static bool lm_damaged(int rc) {
    return rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND || rc == MDB_INVALID ||
           rc == MDB_VERSION_MISMATCH || rc == MDB_INCOMPATIBLE;
}

int ack_store_open(const ack_store_options *o, ack_store **out, char *err, size_t errlen) {
    *out = NULL;
    ack_store *s = calloc(1, sizeof *s);
    if (!s || !(s->dir = strdup(o->dir))) {
        snprintf(err, errlen, "out of memory");
        free(s);
        return GK_EXIT_SOFTWARE;
    }
    s->lock_fd = -1;
    s->map_bytes = o->map_bytes;
    s->keep_state = o->keep_state_on_new_cluster;
    s->index_acked = o->index_acked;
    s->map_budget = o->map_budget ? o->map_budget : LM_MAP_BUDGET;
    s->statm_fd = -1;
    int code = GK_EXIT_CANTCREAT;
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
        if (lm_damaged(rc)) code = GK_EXIT_IOERR;
        goto fail;
    }
    if ((rc = lm_open_checked(s, o->read_only, err, errlen)) != 0) {
        if (rc == -1 || lm_damaged(rc)) code = GK_EXIT_IOERR;
        goto fail;
    }
    if (!o->read_only) { /* the check read every page: release them before the first batch */
        s->statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
        if (s->statm_fd < 0)
            log_warn("LMDB %s: /proc/self/statm: %s: the map's pages are never released, its "
                     "resident size grows with the state", s->dir, strerror(errno));
        lm_map_release(s);
    }
    *out = s;
    return 0;
fail:
    ack_store_close(s);
    return code;
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
    if (s->statm_fd >= 0) close(s->statm_fd);
    free(s->dir);
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

/* Finds LMDB's map of data.mdb in /proc/self/maps by the file's device and
 * inode (LMDB gives the map's address only with MDB_FIXEDMAP) and keeps its
 * range: the map never moves, the store never resizes it. Returns NULL, or a
 * reason, when it cannot be found. */
static const char *lm_map_find(ack_store *s) {
    mdb_filehandle_t fd;
    struct stat st;
    if (mdb_env_get_fd(s->env, &fd) || fstat(fd, &st) != 0) return "no data.mdb descriptor";
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) return strerror(errno);
    char line[4608];
    unsigned long lo = 0, hi = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long a, b, off, ino;
        unsigned dmaj, dmin;
        if (sscanf(line, "%lx-%lx %*s %lx %x:%x %lu", &a, &b, &off, &dmaj, &dmin, &ino) != 6 ||
            ino != (unsigned long)st.st_ino || makedev(dmaj, dmin) != st.st_dev)
            continue;
        if (!lo || a < lo) lo = a;
        if (b > hi) hi = b;
    }
    fclose(f);
    if (!lo) return "data.mdb is not in /proc/self/maps";
    s->map_addr = (void *)lo;
    s->map_len = hi - lo;
    return NULL;
}

/* The process's file-backed resident pages (the third field of
 * /proc/self/statm), or -1 if unknown. */
static long lm_file_pages(ack_store *s) {
    char buf[256];
    ssize_t n = s->statm_fd >= 0 ? pread(s->statm_fd, buf, sizeof buf - 1, 0) : -1;
    if (n <= 0) return -1;
    buf[n] = '\0';
    long size, rss, shared;
    return sscanf(buf, "%ld %ld %ld", &size, &rss, &shared) == 3 ? shared : -1;
}

/* Drops this process's mappings of the whole data.mdb (madvise(MADV_DONTNEED))
 * and notes the file-backed resident size left; lm_map_watch, called by every
 * operation that reads pages through the map, looks at that size once per
 * LM_MAP_LOOK_EVERY calls and calls this when it has grown by more than
 * map_budget since. LMDB reads every page through its map and a page
 * once read stays mapped; the kernel maps up to 16 cached neighbours of each
 * page read (fault-around, which MADV_RANDOM does not turn off), and a write
 * copies the page it replaces to another place in the file, so a drain maps
 * far more of the file than it reads and the resident size would follow the
 * whole state. The pages stay in the page cache (the map is shared and
 * read-only: nothing is lost, readers only fault them back in); the budget
 * weighs those minor faults against memory (bench/README.md, "ack_consumer's
 * map"). A failure only costs memory: it is said once. */
static void lm_map_release(ack_store *s) {
    if (s->statm_fd < 0) return;
    const char *why = s->map_addr ? NULL : lm_map_find(s);
    if (!why && madvise(s->map_addr, s->map_len, MADV_DONTNEED) != 0) why = strerror(errno);
    if (why) {
        if (!s->map_warned)
            log_warn("LMDB %s: cannot release the map's pages (%s): its resident size grows with "
                     "the state", s->dir, why);
        s->map_warned = true;
        close(s->statm_fd);
        s->statm_fd = -1;
        return;
    }
    s->file_pages = lm_file_pages(s);
}

static void lm_map_watch(ack_store *s) {
    if (++s->map_calls < LM_MAP_LOOK_EVERY || s->statm_fd < 0) return;
    s->map_calls = 0;
    long pages = lm_file_pages(s);
    static long page_size;
    if (!page_size) page_size = sysconf(_SC_PAGESIZE);
    if (pages >= 0 && pages > s->file_pages &&
        (size_t)(pages - s->file_pages) * (size_t)page_size > s->map_budget)
        lm_map_release(s);
}

int ack_txn_commit(ack_txn *t, char *err, size_t errlen) {
    int rc = mdb_txn_commit(t->txn);
    t->txn = NULL;
    if (rc) return lm_err(t->s, err, errlen, "commit", rc);
    return 0;
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
            MDB_dbi all[] = {s->events, s->offsets, s->pending, s->meta, s->dead, s->acked_at};
            for (size_t i = 0; i < 6; i++)
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

/* Decodes an events record: the full one, or an ACKED event's compact
 * first 8 bytes (its topics come back unknown, -1). Returns 0, or -1 with
 * why it is not a record of this version in why. */
static int lm_event_decode(const MDB_val *v, ack_event *ev, char *why, size_t len) {
    const uint8_t *b = v->mv_data;
    bool compact = v->mv_size == LM_ACKED_SIZE;
    if (v->mv_size != sizeof *ev && !compact) {
        snprintf(why, len, "a record of %zu bytes, not %zu or %d", v->mv_size, sizeof *ev,
                 LM_ACKED_SIZE);
        return -1;
    }
    if (b[0] != ACK_EVENT_VERSION || b[2] > ACK_ACKED || (compact && b[2] != ACK_ACKED) ||
        (b[1] & ~ACK_SEEN_ALL)) {
        snprintf(why, len, "version %u, state %u, seen 0x%02x: not a record this version writes",
                 b[0], b[2], b[1]);
        return -1;
    }
    if (compact) {
        memcpy(ev, b, LM_ACKED_SIZE);
        for (int i = 0; i < ACK_N_TOPICS; i++) ev->topics[i] = (ack_seen){-1, -1, -1, -1, 0};
    } else {
        memcpy(ev, b, sizeof *ev);
    }
    return 0;
}

/* Reads event id inside txn (see ack_txn_get_event). */
static int lm_get_event(ack_store *s, MDB_txn *txn, uint64_t id, ack_event *ev, char *err,
                        size_t errlen) {
    unsigned char kb[8];
    lm_key_id(id, kb);
    MDB_val k = {8, kb}, v;
    int rc = mdb_get(txn, s->events, &k, &v);
    lm_map_watch(s);
    if (rc == MDB_NOTFOUND) return 0;
    if (rc) return lm_err(s, err, errlen, "read event", rc);
    char why[128];
    if (lm_event_decode(&v, ev, why, sizeof why) != 0) {
        snprintf(err, errlen, "LMDB %s: event %" PRIu64 ": %s (damaged, or written by another "
                 "version)", s->dir, id, why);
        return -1;
    }
    return 1;
}

int ack_txn_get_event(ack_txn *t, uint64_t id, ack_event *ev, char *err, size_t errlen) {
    return lm_get_event(t->s, t->txn, id, ev, err, errlen);
}

/* The acked_at key of event id acked at acked_s: time first, so that a
 * cursor walks the events in the order they were acked. */
#define LM_ACKED_AT_KEY 12
static void lm_acked_at_key(uint32_t acked_s, uint64_t id, unsigned char out[LM_ACKED_AT_KEY]) {
    for (int i = 3; i >= 0; i--, acked_s >>= 8) out[i] = (unsigned char)(acked_s & 0xff);
    lm_key_id(id, out + 4);
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
    lm_map_watch(t->s);
    if (rc == 0 && compact && ev->acked_s && t->s->index_acked) {
        unsigned char ab[LM_ACKED_AT_KEY];
        lm_acked_at_key(ev->acked_s, id, ab);
        MDB_val ak = {sizeof ab, ab}, av = {0, NULL};
        rc = mdb_put(t->txn, t->s->acked_at, &ak, &av, 0);
    }
    return rc ? lm_err(t->s, err, errlen, "write event", rc) : 0;
}

int ack_txn_forget(ack_txn *t, uint64_t id, char *err, size_t errlen) {
    ack_event ev;
    int found = lm_get_event(t->s, t->txn, id, &ev, err, errlen);
    if (found <= 0) return found;
    unsigned char kb[8];
    lm_key_id(id, kb);
    MDB_val k = {8, kb};
    int rc = mdb_del(t->txn, t->s->events, &k, NULL);
    if (rc == 0) rc = mdb_del(t->txn, t->s->pending, &k, NULL);
    if (rc == MDB_NOTFOUND) rc = 0;
    if (rc == 0 && ev.state == ACK_ACKED && ev.acked_s) {
        unsigned char ab[LM_ACKED_AT_KEY];
        lm_acked_at_key(ev.acked_s, id, ab);
        MDB_val ak = {sizeof ab, ab};
        rc = mdb_del(t->txn, t->s->acked_at, &ak, NULL);
        if (rc == MDB_NOTFOUND) rc = 0;
    }
    return rc ? lm_err(t->s, err, errlen, "forget event", rc) : 1;
}

long ack_txn_expire(ack_txn *t, uint32_t before_s, size_t max, int (*fn)(void *, uint64_t),
                    void *ctx, char *err, size_t errlen) {
    MDB_cursor *cur;
    int rc = mdb_cursor_open(t->txn, t->s->acked_at, &cur);
    if (rc) return lm_err(t->s, err, errlen, "cursor", rc);
    long n = 0;
    MDB_val k, v;
    /* Every entry met is deleted: the first one is always the next. */
    while ((size_t)n < max && (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST)) == 0) {
        if (k.mv_size != LM_ACKED_AT_KEY) {
            snprintf(err, errlen, "LMDB %s: acked_at: a key of %zu bytes (damaged)", t->s->dir,
                     k.mv_size);
            n = -1;
            break;
        }
        const unsigned char *b = k.mv_data;
        uint32_t at = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
        if (at >= before_s) break;
        uint64_t id = lm_id_key(b + 4);
        if ((rc = mdb_cursor_del(cur, 0)) != 0) break;
        ack_event ev;
        int found = lm_get_event(t->s, t->txn, id, &ev, err, errlen);
        if (found < 0) {
            n = -1;
            break;
        }
        /* An entry whose event was rewritten since (not ACKED at that time
         * any more) only goes. */
        if (found == 0 || ev.state != ACK_ACKED || ev.acked_s != at) continue;
        unsigned char kb[8];
        lm_key_id(id, kb);
        MDB_val ek = {8, kb};
        if ((rc = mdb_del(t->txn, t->s->events, &ek, NULL)) != 0) break;
        if (fn && fn(ctx, id) != 0) {
            snprintf(err, errlen, "out of memory");
            n = -1;
            break;
        }
        n++;
    }
    mdb_cursor_close(cur);
    if (n < 0) return -1;
    if (rc && rc != MDB_NOTFOUND) return lm_err(t->s, err, errlen, "expire acked events", rc);
    return n;
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

/* Reads the int64 stored under key: returns 1 and sets *val, 0 if there is
 * none, or -1 with the reason in err (what names the database). */
static int lm_get_i64(ack_store *s, MDB_txn *txn, MDB_dbi dbi, const char *what, const char *key,
                      int64_t *val, char *err, size_t errlen) {
    MDB_val k = {strlen(key), (void *)key}, v;
    int rc = mdb_get(txn, dbi, &k, &v);
    if (rc == MDB_NOTFOUND) return 0;
    if (rc) return lm_err(s, err, errlen, what, rc);
    if (v.mv_size != sizeof *val) {
        snprintf(err, errlen, "LMDB %s: %s '%s': a value of %zu bytes, not 8 (damaged)", s->dir,
                 what, key, v.mv_size);
        return -1;
    }
    memcpy(val, v.mv_data, sizeof *val);
    return 1;
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

/* Begins a read-only transaction. Returns 0, or -1 with the reason in err. */
static int lm_read_begin(ack_store *s, MDB_txn **txn, char *err, size_t errlen) {
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, txn);
    return rc ? lm_err(s, err, errlen, "begin", rc) : 0;
}

int ack_store_stored_offset(ack_store *s, const char *cluster_id, const char *topic,
                            int32_t partition, int64_t *next, char *err, size_t errlen) {
    *next = -1;
    MDB_txn *txn;
    if (lm_read_begin(s, &txn, err, errlen) != 0) return -1;
    int rc = 0;
    if (cluster_id) {
        MDB_val k = {strlen(LM_META_CLUSTER), (void *)LM_META_CLUSTER}, v;
        rc = mdb_get(txn, s->meta, &k, &v);
        if (rc && rc != MDB_NOTFOUND) {
            lm_err(s, err, errlen, "read cluster id", rc);
            mdb_txn_abort(txn);
            return -1;
        }
        if (rc == MDB_NOTFOUND || v.mv_size != strlen(cluster_id) ||
            memcmp(v.mv_data, cluster_id, v.mv_size) != 0) {
            mdb_txn_abort(txn); /* another cluster's offsets mean nothing here */
            return 0;
        }
    }
    char key[300];
    snprintf(key, sizeof key, "%s/%" PRId32, topic, partition);
    rc = lm_get_i64(s, txn, s->offsets, "read offset", key, next, err, errlen);
    mdb_txn_abort(txn);
    if (rc == 0) *next = -1;
    return rc < 0 ? -1 : 0;
}

int ack_txn_put_checkpoint(ack_txn *t, int64_t next, char *err, size_t errlen) {
    return lm_put_i64(t->s, t->txn, t->s->meta, LM_META_CHECKPOINT, next, err, errlen);
}

int ack_txn_clear(ack_txn *t, char *err, size_t errlen) {
    ack_store *s = t->s;
    MDB_dbi all[] = {s->events, s->offsets, s->pending, s->meta, s->dead, s->acked_at};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (lm_drop(s, t->txn, all[i], err, errlen)) return -1;
    return 0;
}

int ack_store_checkpoint(ack_store *s, int64_t *next, char *err, size_t errlen) {
    *next = -1;
    MDB_txn *txn;
    if (lm_read_begin(s, &txn, err, errlen) != 0) return -1;
    int rc = lm_get_i64(s, txn, s->meta, "read changelog checkpoint", LM_META_CHECKPOINT, next,
                        err, errlen);
    mdb_txn_abort(txn);
    if (rc == 0) *next = -1;
    return rc < 0 ? -1 : 0;
}

int ack_store_scan_from(ack_store *s, int32_t partition, int64_t *from, char *err,
                        size_t errlen) {
    *from = -1;
    MDB_txn *txn;
    if (lm_read_begin(s, &txn, err, errlen) != 0) return -1;
    char key[64];
    snprintf(key, sizeof key, LM_SCAN_PREFIX "%" PRId32, partition);
    int rc = lm_get_i64(s, txn, s->meta, "read scan_from", key, from, err, errlen);
    mdb_txn_abort(txn);
    if (rc == 0) *from = -1;
    return rc < 0 ? -1 : 0;
}

long ack_store_pending(ack_store *s, ack_ready_list *list, char *err, size_t errlen) {
    MDB_txn *txn;
    MDB_cursor *cur;
    if (lm_read_begin(s, &txn, err, errlen) != 0) return -1;
    int rc = mdb_cursor_open(txn, s->pending, &cur);
    if (rc) {
        mdb_txn_abort(txn);
        return lm_err(s, err, errlen, "cursor", rc);
    }
    long n = 0;
    int fail = 0;
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && !fail;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        /* The integrity check at open has seen every key and its event: a
         * mismatch here is damage done since. */
        if (k.mv_size != 8) {
            snprintf(err, errlen, "LMDB %s: pending: a key of %zu bytes (damaged)", s->dir,
                     k.mv_size);
            fail = 1;
            break;
        }
        uint64_t id = lm_id_key(k.mv_data);
        ack_event ev;
        int found = lm_get_event(s, txn, id, &ev, err, errlen);
        if (found == 0)
            snprintf(err, errlen, "LMDB %s: pending event %" PRIu64 " has no record (damaged)",
                     s->dir, id);
        if (found <= 0 || ack_ready_list_push(list, id, &ev) != 0) {
            if (found > 0) snprintf(err, errlen, "out of memory");
            fail = 1;
            break;
        }
        n++;
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    if (fail) return -1;
    if (rc != MDB_NOTFOUND) return lm_err(s, err, errlen, "read pending", rc);
    return n;
}

int ack_store_get_event(ack_store *s, uint64_t event_id, ack_event *ev, char *err,
                        size_t errlen) {
    MDB_txn *txn;
    if (lm_read_begin(s, &txn, err, errlen) != 0) return -1;
    int found = lm_get_event(s, txn, event_id, ev, err, errlen);
    mdb_txn_abort(txn);
    return found;
}

/* A dead letter as stored: key "topic/partition/offset" (topic names cannot
 * contain '/'), value = 4 uint32 (reason, key and value lengths, 0) and the
 * three byte strings. */
typedef struct {
    char topic[320];
    int32_t partition;
    int64_t offset;
    const char *reason;
    const void *key, *value;
    uint32_t reason_len, key_len, value_len;
} lm_dead;

/* Decodes one dead letter. Returns 0, or -1 with what is wrong in why. */
static int lm_dead_decode(const MDB_val *k, const MDB_val *v, lm_dead *d, char *why, size_t len) {
    char buf[320];
    if (k->mv_size == 0 || k->mv_size >= sizeof buf) {
        snprintf(why, len, "a key of %zu bytes", k->mv_size);
        return -1;
    }
    memcpy(buf, k->mv_data, k->mv_size);
    buf[k->mv_size] = '\0';
    char *o = strrchr(buf, '/'), *p = NULL, *end = NULL;
    if (o) *o++ = '\0';
    if (o) p = strrchr(buf, '/');
    if (p) *p++ = '\0';
    long long part = p ? strtoll(p, &end, 10) : -1;
    bool ok = p && *p && *end == '\0' && part >= 0 && part <= INT32_MAX && *buf;
    long long off = ok ? strtoll(o, &end, 10) : -1;
    if (!ok || !*o || *end != '\0' || off < 0) {
        snprintf(why, len, "not a topic/partition/offset key");
        return -1;
    }
    snprintf(d->topic, sizeof d->topic, "%s", buf);
    d->partition = (int32_t)part;
    d->offset = off;
    uint32_t hdr[4];
    if (v->mv_size < sizeof hdr) {
        snprintf(why, len, "a value of %zu bytes, shorter than its header", v->mv_size);
        return -1;
    }
    memcpy(hdr, v->mv_data, sizeof hdr);
    if (sizeof hdr + (uint64_t)hdr[0] + hdr[1] + hdr[2] != v->mv_size || hdr[3] != 0) {
        snprintf(why, len, "a value of %zu bytes whose header says %u + %u + %u", v->mv_size,
                 hdr[0], hdr[1], hdr[2]);
        return -1;
    }
    const char *b = (const char *)v->mv_data + sizeof hdr;
    d->reason = b;
    d->reason_len = hdr[0];
    d->key = b + hdr[0];
    d->key_len = hdr[1];
    d->value = b + hdr[0] + hdr[1];
    d->value_len = hdr[2];
    return 0;
}

/* The printable form of a key, for the messages: text as it is (non-printable
 * bytes as \xNN), an 8-byte binary key as the event id it encodes. */
static void lm_key_text(const MDB_val *k, bool event_id, char *out, size_t len) {
    if (event_id && k->mv_size == 8) {
        snprintf(out, len, "event %" PRIu64, lm_id_key(k->mv_data));
        return;
    }
    size_t used = 0;
    const unsigned char *b = k->mv_data;
    for (size_t i = 0; i < k->mv_size && used + 5 < len && i < 64; i++) {
        int n = isprint(b[i]) && b[i] != '\\' ? snprintf(out + used, len - used, "%c", b[i])
                                              : snprintf(out + used, len - used, "\\x%02x", b[i]);
        used += n > 0 ? (size_t)n : 0;
    }
    out[used] = '\0';
}

long ack_store_dead_letters(ack_store *s, ack_dead_letter_fn fn, void *ctx, char *err,
                            size_t errlen) {
    MDB_txn *txn;
    MDB_cursor *cur;
    if (lm_read_begin(s, &txn, err, errlen) != 0) return -1;
    int rc = mdb_cursor_open(txn, s->dead, &cur);
    if (rc) {
        mdb_txn_abort(txn);
        return lm_err(s, err, errlen, "cursor", rc);
    }
    long n = 0;
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        lm_dead d;
        char why[160], key[300];
        if (lm_dead_decode(&k, &v, &d, why, sizeof why) != 0) {
            lm_key_text(&k, false, key, sizeof key);
            snprintf(err, errlen, "LMDB %s: dead letter '%s': %s (damaged)", s->dir, key, why);
            n = -1;
            break;
        }
        char reason[1024];
        snprintf(reason, sizeof reason, "%.*s", (int)d.reason_len, d.reason);
        n++;
        if (fn(ctx, d.topic, d.partition, d.offset, reason, d.key, d.key_len, d.value, d.value_len))
            break;
    }
    if (n >= 0 && rc != 0 && rc != MDB_NOTFOUND) {
        char what[64];
        snprintf(what, sizeof what, "read dead letters after %ld", n);
        n = lm_err(s, err, errlen, what, rc);
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return n;
}

int ack_store_count(ack_store *s, ack_store_counts *c, char *err, size_t errlen) {
    MDB_txn *txn;
    if (lm_read_begin(s, &txn, err, errlen) != 0) return -1;
    MDB_dbi dbis[] = {s->events, s->pending, s->dead, s->offsets, s->acked_at};
    size_t *outs[] = {&c->events, &c->pending, &c->dead_letters, &c->offsets, &c->acked_at};
    c->acked_at = 0;
    int rc = 0;
    for (size_t i = 0; i < (s->acked_missing ? 4 : 5) && rc == 0; i++) {
        MDB_stat st;
        rc = mdb_stat(txn, dbis[i], &st);
        if (rc == 0) *outs[i] = st.ms_entries;
    }
    mdb_txn_abort(txn);
    return rc ? lm_err(s, err, errlen, "count", rc) : 0;
}

/* ------------------------------------------------------------------------ */
/* Integrity check                                                           */
/* ------------------------------------------------------------------------ */

/* Checks one record of a database (lm_walk). Returns 0, or -1 with what is
 * wrong in why. */
typedef int lm_check_fn(ack_store *s, MDB_txn *txn, const MDB_val *k, const MDB_val *v, char *why,
                        size_t len);

static int lm_check_event(ack_store *s, MDB_txn *txn, const MDB_val *k, const MDB_val *v,
                          char *why, size_t len) {
    ack_event ev;
    if (k->mv_size != 8) return snprintf(why, len, "a key of %zu bytes, not 8", k->mv_size), -1;
    if (lm_event_decode(v, &ev, why, len) != 0) return -1;
    if (ev.state != ACK_PENDING) return 0;
    MDB_val pv;
    int rc = mdb_get(txn, s->pending, (MDB_val *)k, &pv);
    if (rc == 0) return 0;
    snprintf(why, len, "PENDING but %s the pending set",
             rc == MDB_NOTFOUND ? "not in" : mdb_strerror(rc));
    return -1;
}

static int lm_check_pending(ack_store *s, MDB_txn *txn, const MDB_val *k, const MDB_val *v,
                            char *why, size_t len) {
    if (k->mv_size != 8 || v->mv_size != 0)
        return snprintf(why, len, "a key of %zu and a value of %zu bytes, not 8 and 0", k->mv_size,
                        v->mv_size), -1;
    MDB_val ev;
    int rc = mdb_get(txn, s->events, (MDB_val *)k, &ev);
    if (rc == 0 && ev.mv_size == sizeof(ack_event) && ((const uint8_t *)ev.mv_data)[2] == ACK_PENDING)
        return 0;
    snprintf(why, len, "pending, but its event is %s",
             rc == MDB_NOTFOUND ? "missing" : rc ? mdb_strerror(rc) : "not PENDING");
    return -1;
}

/* A value of 8 bytes holding an offset (>= 0). */
static int lm_check_i64(const MDB_val *v, char *why, size_t len) {
    int64_t x;
    if (v->mv_size != sizeof x) return snprintf(why, len, "a value of %zu bytes, not 8", v->mv_size), -1;
    memcpy(&x, v->mv_data, sizeof x);
    if (x < 0) return snprintf(why, len, "a negative offset %" PRId64, x), -1;
    return 0;
}

static int lm_check_offset(ack_store *s, MDB_txn *txn, const MDB_val *k, const MDB_val *v,
                           char *why, size_t len) {
    (void)s, (void)txn;
    const char *slash = k->mv_size ? memchr(k->mv_data, '/', k->mv_size) : NULL;
    if (!slash || slash == k->mv_data || (size_t)(slash - (const char *)k->mv_data) + 1 == k->mv_size)
        return snprintf(why, len, "not a topic/partition key"), -1;
    return lm_check_i64(v, why, len);
}

static int lm_check_meta(ack_store *s, MDB_txn *txn, const MDB_val *k, const MDB_val *v,
                         char *why, size_t len) {
    (void)s, (void)txn;
    size_t np = strlen(LM_SCAN_PREFIX), nc = strlen(LM_META_CLUSTER);
    if (k->mv_size == nc && memcmp(k->mv_data, LM_META_CLUSTER, nc) == 0)
        return v->mv_size > 0 && v->mv_size < 256 ? 0
                                                   : (snprintf(why, len, "a cluster id of %zu bytes", v->mv_size), -1);
    if (k->mv_size > np && memcmp(k->mv_data, LM_SCAN_PREFIX, np) == 0) return lm_check_i64(v, why, len);
    if (k->mv_size == strlen(LM_META_CHECKPOINT) &&
        memcmp(k->mv_data, LM_META_CHECKPOINT, k->mv_size) == 0)
        return lm_check_i64(v, why, len);
    snprintf(why, len, "a key this version does not write");
    return -1;
}

static int lm_check_dead(ack_store *s, MDB_txn *txn, const MDB_val *k, const MDB_val *v,
                         char *why, size_t len) {
    (void)s, (void)txn;
    lm_dead d;
    return lm_dead_decode(k, v, &d, why, len);
}

/* An entry of acked_at need not have its event any more (ack_txn_expire
 * drops such an entry), so only its form is checked. */
static int lm_check_acked_at(ack_store *s, MDB_txn *txn, const MDB_val *k, const MDB_val *v,
                             char *why, size_t len) {
    (void)s, (void)txn;
    if (k->mv_size == LM_ACKED_AT_KEY && v->mv_size == 0) return 0;
    snprintf(why, len, "a key of %zu and a value of %zu bytes, not %d and 0", k->mv_size,
             v->mv_size, LM_ACKED_AT_KEY);
    return -1;
}

/* LMDB's free-page lists: arrays of page numbers. */
static int lm_check_free(ack_store *s, MDB_txn *txn, const MDB_val *k, const MDB_val *v,
                         char *why, size_t len) {
    (void)s, (void)txn;
    if (k->mv_size == sizeof(size_t) && v->mv_size >= sizeof(size_t) && v->mv_size % sizeof(size_t) == 0)
        return 0;
    snprintf(why, len, "a key of %zu and a value of %zu bytes", k->mv_size, v->mv_size);
    return -1;
}

/* Where the walk is: what a damaged page is reported at. A page LMDB
 * cannot make sense of ends some calls with an error (MDB_CORRUPTED,
 * MDB_PAGE_NOTFOUND) but trips an assertion in others (moving a cursor to
 * the next leaf), which calls abort() once the environment's assert
 * callback returns - and a garbled page can point a read past the end of
 * the file (SIGBUS). During the check both jump back to lm_check instead.
 * Only ack_store_open runs it, at start-up, in one thread. */
static struct {
    sigjmp_buf jmp;
    const char *name; /* the database being walked */
    MDB_val key;      /* its last record read (in the map), size 0 if none */
    size_t n;
    bool events;      /* keys are event ids */
    char why[420];
} lm_at;

static void lm_check_assert(MDB_env *env, const char *msg) {
    (void)env;
    snprintf(lm_at.why, sizeof lm_at.why, "LMDB's own check: %s", msg);
    siglongjmp(lm_at.jmp, 1);
}

static void lm_check_sigbus(int sig) {
    (void)sig;
    static const char why[] = "a page points past the end of the file (SIGBUS)";
    memcpy(lm_at.why, why, sizeof why);
    siglongjmp(lm_at.jmp, 1);
}

/* The one line for damage met at lm_at. Returns -1. */
static int lm_damage(ack_store *s, const char *why, char *err, size_t errlen) {
    char key[300] = "";
    if (lm_at.n) lm_key_text(&lm_at.key, lm_at.events, key, sizeof key);
    if (lm_at.n)
        snprintf(err, errlen, "LMDB %s: database '%s' is damaged after record %zu (%s): %s", s->dir,
                 lm_at.name, lm_at.n, key, why);
    else
        snprintf(err, errlen, "LMDB %s: database '%s' is damaged before its first record: %s",
                 s->dir, lm_at.name, why);
    return -1;
}

/* Reads every record of dbi with a cursor - every page of it is visited, so
 * that a damaged one is met now, not in the middle of a run - and checks
 * each with check (NULL: none). Returns 0, or -1 with the database, the
 * record and what is wrong in err. */
static int lm_walk(ack_store *s, MDB_txn *txn, MDB_dbi dbi, const char *name, lm_check_fn *check,
                   MDB_cursor **cur, char *err, size_t errlen) {
    lm_at.name = name;
    lm_at.n = 0;
    lm_at.events = dbi == s->events || dbi == s->pending;
    int rc = mdb_cursor_open(txn, dbi, cur);
    if (rc) return lm_damage(s, mdb_strerror(rc), err, errlen);
    MDB_val k, v;
    char why[200];
    for (rc = mdb_cursor_get(*cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(*cur, &k, &v, MDB_NEXT)) {
        lm_at.key = k;
        lm_at.n++;
        if (check && check(s, txn, &k, &v, why, sizeof why) != 0) {
            char key[300];
            lm_key_text(&k, lm_at.events, key, sizeof key);
            snprintf(err, errlen, "LMDB %s: database '%s', record %zu (%s): %s", s->dir, name,
                     lm_at.n, key, why);
            rc = -1;
            break;
        }
    }
    mdb_cursor_close(*cur);
    *cur = NULL;
    if (rc == MDB_NOTFOUND) return 0;
    return rc == -1 ? -1 : lm_damage(s, mdb_strerror(rc), err, errlen);
}

/* True if data.mdb ends inside a page: LMDB writes whole pages, so only a
 * cut from outside leaves such a file. */
static bool lm_cut_mid_page(ack_store *s) {
    MDB_stat st;
    struct stat fs;
    char path[4200];
    snprintf(path, sizeof path, "%s/data.mdb", s->dir);
    return mdb_env_stat(s->env, &st) == 0 && stat(path, &fs) == 0 && st.ms_psize &&
           fs.st_size % st.ms_psize != 0;
}

/* True, with one line in err, if data.mdb is shorter than the pages the
 * environment has handed out. That alone is not damage - pages freed in the
 * transaction that allocated them are never written, so an intact file may end
 * before its last page - but it explains a SIGBUS met reading the databases. */
static bool lm_truncated(ack_store *s, char *err, size_t errlen) {
    MDB_envinfo info;
    MDB_stat st;
    struct stat fs;
    char path[4200];
    snprintf(path, sizeof path, "%s/data.mdb", s->dir);
    if (mdb_env_info(s->env, &info) != 0 || mdb_env_stat(s->env, &st) != 0 ||
        stat(path, &fs) != 0)
        return false;
    uint64_t need = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
    if ((uint64_t)fs.st_size >= need) return false;
    snprintf(err, errlen, "LMDB %s: %" PRIu64 " bytes, and a page in use lies past its end "
             "(the state's pages end at byte %" PRIu64 "): the file was truncated", path,
             (uint64_t)fs.st_size, need);
    return true;
}

/* The integrity check at open: every database can be read through, record
 * by record, each in the form this version writes. LMDB maps the file, so a
 * page past the end of a truncated one is a SIGBUS, and LMDB's own checks
 * abort: both are caught (lm_open_checked) and reported as damage. Returns 0,
 * or -1 with one line in err. */
static int lm_check(ack_store *s, char *err, size_t errlen) {
    MDB_txn *txn;
    if (lm_read_begin(s, &txn, err, errlen) != 0) return -1;
    static const char *const names[] = {"(free pages)", "(main)", "events", "pending",
                                        "offsets", "meta", "dead_letters", "acked_at"};
    lm_check_fn *const checks[] = {lm_check_free, NULL, lm_check_event, lm_check_pending,
                                   lm_check_offset, lm_check_meta, lm_check_dead,
                                   lm_check_acked_at};
    const MDB_dbi dbis[] = {0, 1, s->events, s->pending, s->offsets, s->meta, s->dead,
                            s->acked_at};
    /* Volatile: read again after a jump back from LMDB's assertion. */
    MDB_cursor *volatile cur = NULL;
    volatile int fail = 0;
    struct sigaction bus = {0}, old_bus;
    bus.sa_handler = lm_check_sigbus;
    sigemptyset(&bus.sa_mask);
    sigaction(SIGBUS, &bus, &old_bus);
    mdb_env_set_assert(s->env, lm_check_assert);
    if (sigsetjmp(lm_at.jmp, 1) == 0) {
        for (size_t i = 0; i < sizeof dbis / sizeof dbis[0] - s->acked_missing && !fail; i++)
            fail = lm_walk(s, txn, dbis[i], names[i], checks[i], (MDB_cursor **)&cur, err, errlen);
    } else {
        fail = lm_damage(s, lm_at.why, err, errlen);
    }
    mdb_env_set_assert(s->env, NULL);
    sigaction(SIGBUS, &old_bus, NULL);
    if (cur) mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return fail;
}

/* Opens the databases and checks them (lm_check), with a page past the end
 * of the file (SIGBUS) or LMDB's assertion caught on the way. Returns 0, -1
 * with one line in err for damage, or lm_open_dbis's LMDB error. */
static int lm_open_checked(ack_store *s, bool read_only, char *err, size_t errlen) {
    struct sigaction bus = {0}, old_bus;
    bus.sa_handler = lm_check_sigbus;
    sigemptyset(&bus.sa_mask);
    sigaction(SIGBUS, &bus, &old_bus);
    mdb_env_set_assert(s->env, lm_check_assert);
    volatile int rc = 0;
    lm_at.name = "(main)";
    lm_at.n = 0;
    lm_at.why[0] = '\0';
    if (sigsetjmp(lm_at.jmp, 1) == 0) {
        rc = lm_open_dbis(s, read_only, err, errlen);
    } else {
        if (lm_guard_txn) mdb_txn_abort(lm_guard_txn);
        lm_guard_txn = NULL;
        if (!lm_truncated(s, err, errlen)) lm_damage(s, lm_at.why, err, errlen);
        rc = -1;
    }
    mdb_env_set_assert(s->env, NULL);
    sigaction(SIGBUS, &old_bus, NULL);
    if (rc == 0 && lm_check(s, err, errlen) != 0) {
        /* A short file says more than "damaged" when the cut explains the
         * damage: a page past the end is a SIGBUS, and the part of the last
         * page past a cut that is not page-aligned (LMDB writes whole pages)
         * reads as zeros, which the walk meets as a malformed record. */
        if (strstr(lm_at.why, "SIGBUS") || lm_cut_mid_page(s)) lm_truncated(s, err, errlen);
        rc = -1;
    }
    return rc;
}
