/* pg_conn.h - one libpq connection to PostgreSQL that outlives the server's
 * restarts: connecting with retries and a capped exponential backoff that a
 * signal interrupts, what a failure means (reconnect, replay, a value the
 * table refuses, or fatal, with its exit code), and the conninfo as logs may
 * show it (never the password).
 *
 * The conninfo is libpq's own (a postgresql:// URI or key=value string), so
 * everything libpq users expect works: PGHOST, PGPASSWORD, PGPASSFILE,
 * PGSERVICE and the other PG* variables, a passfile or service file. Its
 * settings win over the defaults given here (application_name, connect and
 * keepalive times, UTF8 client encoding). Every (re)connection runs the
 * caller's setup (session settings, prepared statements). */
#ifndef GK_DB_PG_CONN_H
#define GK_DB_PG_CONN_H
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct pg_conn pg_conn;

/* What a failed statement means for the caller. */
typedef enum {
    PG_FAIL_CONNECTION = 1, /* the connection is gone (server restarted, network, shutdown):
                               reconnect and replay the transaction */
    PG_FAIL_RETRY,          /* serialization failure, deadlock, cancelled: replay it */
    PG_FAIL_DATA,           /* a value the table refuses (SQLSTATE class 22 or 23) */
    PG_FAIL_FATAL,          /* anything else: stop (pg_conn_exit_code says how) */
} pg_fail;

/* Runs on every new connection before it is used. Returns 0, an exit code
 * (a fatal failure, reason in err), or -1 when the connection broke (the
 * connection is then made again). */
typedef int (*pg_conn_setup)(void *ctx, PGconn *conn, char *err, size_t errlen);

/* Parses conninfo without connecting. Warns (log) when it carries a
 * password, which a command line shows to every user in ps. Returns the
 * connection object, or NULL with a one-line reason in err (a usage error). */
pg_conn *pg_conn_new(const char *conninfo, pg_conn_setup setup, void *ctx, char *err,
                     size_t errlen);

/* Connects (again, after pg_conn_drop), retrying while the server cannot be
 * reached or is starting up - for at most wait_s seconds, or with wait_s 0
 * until it answers or a signal stops it (signals.h) - then runs setup.
 * Each failed attempt is logged. Returns 0; -1 when a signal stopped it; or
 * an exit code with a one-line reason in err: GK_EXIT_NOPERM (authentication
 * or privileges), GK_EXIT_NODATABASE, GK_EXIT_UNAVAILABLE (not reachable
 * within wait_s), or what setup returned. */
int pg_conn_open(pg_conn *c, int wait_s, char *err, size_t errlen);

/* The live connection, or NULL. */
PGconn *pg_conn_pg(const pg_conn *c);

/* "user@host:port/dbname" of the last connection attempt (no password). */
const char *pg_conn_name(const pg_conn *c);

/* Closes the connection (a later pg_conn_open makes a new one). */
void pg_conn_drop(pg_conn *c);

/* Closes and frees; NULL is allowed. */
void pg_conn_free(pg_conn *c);

/* Classifies the failure of res (NULL: the call itself failed) on c's
 * connection and writes the server's message, with its SQLSTATE, into err.
 * The SQLSTATE (or "" when there is none) goes into sqlstate (6 bytes). */
pg_fail pg_conn_fail(const pg_conn *c, const PGresult *res, char *sqlstate, char *err,
                     size_t errlen);

/* The exit code of a fatal SQLSTATE: authentication and privileges
 * GK_EXIT_NOPERM, a missing database GK_EXIT_NODATABASE, a missing table or
 * column or a constraint ON CONFLICT needs GK_EXIT_CONFIG, anything else
 * GK_EXIT_IOERR. */
int pg_conn_exit_code(const char *sqlstate);

/* Waits before retry number attempt (0, 1, ...): 100 ms doubling up to 5 s.
 * Returns 0, or -1 at once when a signal asked the service to stop. */
int pg_conn_backoff(int attempt);

/* conninfo as a log line may show it: its settings as key=value without the
 * password (or the text itself when libpq cannot parse it). */
void pg_conn_redact(const char *conninfo, char *out, size_t len);

#endif
