/* pg_conn.c - a libpq connection that outlives the server's restarts (see
 * pg_conn.h).
 *
 * Connecting is asynchronous (PQconnectStartParams + PQconnectPoll on the
 * socket in 100 ms steps), so that a signal ends any wait at once and each
 * attempt has its own time limit. libpq keeps the SQLSTATE of a refused
 * connection to itself; with the verbose error style its message carries it
 * ("FATAL:  28P01: password authentication failed ..."), which is how an
 * authentication failure is told from a missing database here, in any
 * language the server speaks. */
#include "db_consumer/pg_conn.h"

#include "common/exitcodes.h"
#include "common/log.h"
#include "common/signals.h"
#include "common/timeutil.h"

#include <ctype.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PGC_ATTEMPT_S 10       /* one connection attempt, unless connect_timeout says otherwise */
#define PGC_BACKOFF_MS 100     /* first wait before a retry */
#define PGC_BACKOFF_MAX_MS 5000

struct pg_conn {
    char *conninfo;
    pg_conn_setup setup;
    void *ctx;
    PGconn *pg;
    int attempt_s; /* time limit of one attempt */
    char name[256];
};

/* ------------------------------------------------------------------------ */
/* Messages                                                                  */
/* ------------------------------------------------------------------------ */

/* Copies a libpq message into out as one line: line breaks and tabs become
 * spaces, the verbose style's "LOCATION:" lines are dropped. */
static void pgc_one_line(const char *msg, char *out, size_t len) {
    size_t j = 0;
    if (len == 0) return;
    for (const char *p = msg ? msg : ""; *p && j + 1 < len;) {
        if (strncmp(p, "LOCATION:", 9) == 0) {
            while (*p && *p != '\n') p++;
            continue;
        }
        if (*p == '\n' || *p == '\t' || *p == '\r') {
            if (j > 0 && out[j - 1] != ' ') out[j++] = ' ';
            p++;
            continue;
        }
        out[j++] = *p++;
    }
    while (j > 0 && out[j - 1] == ' ') j--;
    out[j] = '\0';
}

/* The SQLSTATE in a verbose-style message ("SEVERITY:  XXXXX: text"), copied
 * into state (6 bytes); "" if there is none. */
static void pgc_message_state(const char *msg, char *state) {
    state[0] = '\0';
    for (const char *p = msg ? strstr(msg, ":  ") : NULL; p; p = strstr(p + 1, ":  ")) {
        const char *s = p + 3;
        size_t n = 0;
        while (n < 5 && (isdigit((unsigned char)s[n]) || isupper((unsigned char)s[n]))) n++;
        if (n == 5 && s[5] == ':') {
            memcpy(state, s, 5);
            state[5] = '\0';
            return;
        }
    }
}

int pg_conn_exit_code(const char *st) {
    if (strncmp(st, "28", 2) == 0 || strcmp(st, "42501") == 0) return GK_EXIT_NOPERM;
    if (strcmp(st, "3D000") == 0) return GK_EXIT_NODATABASE;
    if (strcmp(st, "42P01") == 0 || strcmp(st, "42703") == 0 || strcmp(st, "42P10") == 0 ||
        strcmp(st, "42804") == 0)
        return GK_EXIT_CONFIG;
    return GK_EXIT_IOERR;
}

pg_fail pg_conn_fail(const pg_conn *c, const PGresult *res, char *state, char *err,
                     size_t errlen) {
    const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    snprintf(state, 6, "%s", st ? st : "");
    if (st) {
        const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
        const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
        char line[512];
        pgc_one_line(primary, line, sizeof line);
        if (detail) {
            char d[256];
            pgc_one_line(detail, d, sizeof d);
            snprintf(err, errlen, "%s: %s (%s)", st, line, d);
        } else {
            snprintf(err, errlen, "%s: %s", st, line);
        }
    } else {
        pgc_one_line(c->pg ? PQerrorMessage(c->pg) : "not connected", err, errlen);
    }
    if (!c->pg || PQstatus(c->pg) == CONNECTION_BAD) return PG_FAIL_CONNECTION;
    if (!st) return PG_FAIL_FATAL;
    if (strncmp(st, "08", 2) == 0 || strcmp(st, "57P01") == 0 || strcmp(st, "57P02") == 0 ||
        strcmp(st, "57P03") == 0)
        return PG_FAIL_CONNECTION;
    if (strcmp(st, "40001") == 0 || strcmp(st, "40P01") == 0 || strcmp(st, "57014") == 0)
        return PG_FAIL_RETRY;
    if (strncmp(st, "22", 2) == 0 || strncmp(st, "23", 2) == 0) return PG_FAIL_DATA;
    return PG_FAIL_FATAL;
}

/* ------------------------------------------------------------------------ */
/* The conninfo                                                              */
/* ------------------------------------------------------------------------ */

void pg_conn_redact(const char *conninfo, char *out, size_t len) {
    char *msg = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &msg);
    if (!opts) {
        /* Not parsable: nothing was connected with it; show what was given
         * up to a password it may hold. */
        const char *pw = strstr(conninfo, "password");
        snprintf(out, len, "%.*s%s", (int)(pw ? pw - conninfo : (long)strlen(conninfo)), conninfo,
                 pw ? "..." : "");
        PQfreemem(msg);
        return;
    }
    size_t j = 0;
    out[0] = '\0';
    for (PQconninfoOption *o = opts; o->keyword && j + 1 < len; o++) {
        if (!o->val || !*o->val || strcmp(o->keyword, "password") == 0) continue;
        bool quote = strpbrk(o->val, " '\\") != NULL || !*o->val;
        int n = snprintf(out + j, len - j, "%s%s=%s", j ? " " : "", o->keyword, quote ? "'" : "");
        if (n < 0 || (size_t)n >= len - j) break;
        j += (size_t)n;
        for (const char *v = o->val; *v && j + 3 < len; v++) {
            if (quote && (*v == '\'' || *v == '\\')) out[j++] = '\\';
            out[j++] = *v;
        }
        if (quote && j + 1 < len) out[j++] = '\'';
        out[j] = '\0';
    }
    PQconninfoFree(opts);
}

pg_conn *pg_conn_new(const char *conninfo, pg_conn_setup setup, void *ctx, char *err,
                     size_t errlen) {
    char *msg = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &msg);
    if (!opts) {
        char line[256];
        pgc_one_line(msg ? msg : "out of memory", line, sizeof line);
        char shown[256];
        pg_conn_redact(conninfo, shown, sizeof shown);
        snprintf(err, errlen, "--db '%s' is not a valid PostgreSQL connection string: %s", shown,
                 line);
        PQfreemem(msg);
        return NULL;
    }
    const char *env_timeout = getenv("PGCONNECT_TIMEOUT");
    int attempt_s = env_timeout && atoi(env_timeout) > 0 ? atoi(env_timeout) : PGC_ATTEMPT_S;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (!o->val || !*o->val) continue;
        if (strcmp(o->keyword, "password") == 0)
            log_warn("--db carries a password: a command line is visible to every user of this "
                     "machine (ps); give it in PGPASSWORD, a password file (PGPASSFILE, "
                     "passfile=) or a service file instead");
        if (strcmp(o->keyword, "connect_timeout") == 0 && atoi(o->val) > 0)
            attempt_s = atoi(o->val);
    }
    PQconninfoFree(opts);
    pg_conn *c = calloc(1, sizeof *c);
    if (!c || !(c->conninfo = strdup(conninfo))) {
        free(c);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->setup = setup;
    c->ctx = ctx;
    c->attempt_s = attempt_s;
    pg_conn_redact(conninfo, c->name, sizeof c->name);
    return c;
}

PGconn *pg_conn_pg(const pg_conn *c) { return c->pg; }

const char *pg_conn_name(const pg_conn *c) { return c->name; }

void pg_conn_drop(pg_conn *c) {
    if (c->pg) PQfinish(c->pg);
    c->pg = NULL;
}

void pg_conn_free(pg_conn *c) {
    if (!c) return;
    pg_conn_drop(c);
    free(c->conninfo);
    free(c);
}

/* ------------------------------------------------------------------------ */
/* Connecting                                                                */
/* ------------------------------------------------------------------------ */

int pg_conn_backoff(int attempt) {
    int64_t ms = PGC_BACKOFF_MS;
    for (int i = 0; i < attempt && ms < PGC_BACKOFF_MAX_MS; i++) ms *= 2;
    if (ms > PGC_BACKOFF_MAX_MS) ms = PGC_BACKOFF_MAX_MS;
    int64_t until = time_mono_us() + ms * 1000;
    while (signals_run) {
        int64_t left = until - time_mono_us();
        if (left <= 0) return 0;
        poll(NULL, 0, left > 100000 ? 100 : (int)(left / 1000) + 1);
    }
    return -1;
}

/* Server notices (e.g. "relation already exists, skipping") are for debugging. */
static void pgc_notice(void *arg, const char *message) {
    (void)arg;
    char line[512];
    pgc_one_line(message, line, sizeof line);
    log_debug("PostgreSQL: %s", line);
}

/* Sets c->name from what libpq resolved for the attempt. */
static void pgc_name(pg_conn *c, PGconn *pg) {
    const char *host = PQhost(pg), *port = PQport(pg), *db = PQdb(pg), *user = PQuser(pg);
    snprintf(c->name, sizeof c->name, "%s@%s:%s/%s", user ? user : "?", host ? host : "?",
             port ? port : "?", db ? db : "?");
}

/* The outcome of one connection attempt. */
typedef enum { PGC_OK, PGC_TRANSIENT, PGC_FATAL, PGC_STOPPED } pgc_outcome;

/* One attempt: connects within c->attempt_s. On failure writes the reason
 * into err and, for PGC_FATAL, the exit code into *rc. */
static pgc_outcome pgc_attempt(pg_conn *c, char *err, size_t errlen, int *rc) {
    /* Defaults first: the conninfo (expanded from dbname) overrides them, and
     * an environment variable the user set is left to libpq. The client
     * encoding last: the rows are UTF-8 whatever else is said. */
    const char *keys[8], *vals[8];
    int n = 0;
    keys[n] = "keepalives_idle", vals[n++] = "30";
    keys[n] = "keepalives_interval", vals[n++] = "10";
    keys[n] = "keepalives_count", vals[n++] = "3";
    keys[n] = "dbname", vals[n++] = c->conninfo;
    keys[n] = "fallback_application_name", vals[n++] = "db_consumer";
    keys[n] = "client_encoding", vals[n++] = "UTF8";
    keys[n] = NULL, vals[n] = NULL;

    PGconn *pg = PQconnectStartParams(keys, vals, 1);
    if (!pg) {
        snprintf(err, errlen, "out of memory");
        *rc = GK_EXIT_SOFTWARE;
        return PGC_FATAL;
    }
    PQsetErrorVerbosity(pg, PQERRORS_VERBOSE);
    PQsetNoticeProcessor(pg, pgc_notice, NULL);
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    int64_t deadline = time_mono_us() + (int64_t)c->attempt_s * 1000000;
    bool timed_out = false;
    if (PQstatus(pg) == CONNECTION_BAD) st = PGRES_POLLING_FAILED;
    while (st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
        if (!signals_run) {
            PQfinish(pg);
            return PGC_STOPPED;
        }
        if (time_mono_us() > deadline) {
            timed_out = true;
            break;
        }
        struct pollfd p = {PQsocket(pg), st == PGRES_POLLING_READING ? POLLIN : POLLOUT, 0};
        if (p.fd < 0) break;
        int r = poll(&p, 1, 100);
        if (r == 0) continue;
        st = PQconnectPoll(pg);
    }
    pgc_name(c, pg);
    if (st == PGRES_POLLING_OK) {
        c->pg = pg;
        return PGC_OK;
    }
    char msg[512], state[6];
    pgc_one_line(timed_out ? "timeout expired" : PQerrorMessage(pg), msg, sizeof msg);
    if (timed_out) snprintf(msg, sizeof msg, "no answer within %d s", c->attempt_s);
    pgc_message_state(PQerrorMessage(pg), state);
    bool needs_password = PQconnectionNeedsPassword(pg);
    PQfinish(pg);
    snprintf(err, errlen, "PostgreSQL %s: %s", c->name, msg);
    if (state[0] && strcmp(state, "57P03") != 0 && strcmp(state, "53300") != 0 &&
        strncmp(state, "08", 2) != 0) {
        *rc = pg_conn_exit_code(state);
        return PGC_FATAL;
    }
    if (!state[0] && needs_password) {
        snprintf(err, errlen,
                 "PostgreSQL %s: %s (no password found: give it in PGPASSWORD, a password file "
                 "or a service file)",
                 c->name, msg);
        *rc = GK_EXIT_NOPERM;
        return PGC_FATAL;
    }
    return PGC_TRANSIENT;
}

int pg_conn_open(pg_conn *c, int wait_s, char *err, size_t errlen) {
    pg_conn_drop(c);
    int64_t start = time_mono_us();
    for (int attempt = 0;; attempt++) {
        int rc = 0;
        pgc_outcome o = pgc_attempt(c, err, errlen, &rc);
        if (o == PGC_OK) {
            rc = c->setup ? c->setup(c->ctx, c->pg, err, errlen) : 0;
            if (rc == 0) return 0;
            if (rc > 0) {
                pg_conn_drop(c);
                return rc;
            }
            o = PGC_TRANSIENT; /* the connection broke during setup */
            pg_conn_drop(c);
        }
        if (o == PGC_FATAL) return rc;
        if (o == PGC_STOPPED || !signals_run) {
            snprintf(err, errlen, "PostgreSQL %s: stopped by a signal while connecting", c->name);
            return -1;
        }
        double waited = (double)(time_mono_us() - start) / 1e6;
        if (wait_s > 0 && waited >= wait_s) {
            size_t used = strlen(err);
            snprintf(err + used, errlen - used, " (still unreachable after %.0f s)", waited);
            return GK_EXIT_UNAVAILABLE;
        }
        log_warn("%s: retrying (attempt %d)", err, attempt + 2);
        if (pg_conn_backoff(attempt) != 0) {
            snprintf(err, errlen, "PostgreSQL %s: stopped by a signal while connecting", c->name);
            return -1;
        }
    }
}
