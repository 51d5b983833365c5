/* server.h - the HTTP endpoint of a service's metrics and health, served by
 * libmicrohttpd on a thread of its own.
 *
 *   GET /metrics  the page render() writes (Prometheus text format)
 *   GET /healthz  200 "ok" while healthy() holds, else 503 with its reason
 *   GET /readyz   200 "ready" while ready() holds, else 503 with its reason
 * anything else: 404; a method other than GET or HEAD: 405.
 *
 * It is read-only and bounded: at most METRICS_SERVER_CONNECTIONS clients at
 * once, each dropped after METRICS_SERVER_IDLE_S seconds of silence, no
 * request body read. metrics_server_stop() ends it at once whatever the
 * clients do, so it never holds up a service's shutdown. */
#ifndef GK_METRICS_SERVER_H
#define GK_METRICS_SERVER_H
#include <stdbool.h>
#include <stddef.h>

#define METRICS_SERVER_CONNECTIONS 16
#define METRICS_SERVER_IDLE_S 5

typedef struct {
    /* Writes the /metrics page into *body (malloc'd) and *len; returns 0, or
     * -1 (answered 500). */
    int (*render)(void *ctx, char **body, size_t *len);
    /* True when healthy / ready; otherwise why not, in why. */
    bool (*healthy)(void *ctx, char *why, size_t len);
    bool (*ready)(void *ctx, char *why, size_t len);
    void *ctx;
} metrics_handlers;

typedef struct metrics_server metrics_server;

/* Parses --metrics-addr: "HOST:PORT", "[IPV6]:PORT" or a bare "PORT" (host
 * 127.0.0.1); HOST is a numeric address or a name that resolves. PORT 0
 * lets the system choose. Fills host (room hostlen) and *port. Returns 0,
 * or -1 with a one-line reason in err. */
int metrics_addr_parse(const char *text, char *host, size_t hostlen, unsigned *port, char *err,
                       size_t errlen);

/* Starts serving on addr (metrics_addr_parse's syntax). Returns the server,
 * or NULL with a one-line reason in err (a bad address, a port in use). */
metrics_server *metrics_server_start(const char *addr, const metrics_handlers *h, char *err,
                                     size_t errlen);

/* The port it listens on (the chosen one after PORT 0). */
unsigned metrics_server_port(const metrics_server *s);

/* Stops serving (open connections are closed) and frees s. NULL is allowed. */
void metrics_server_stop(metrics_server *s);

#endif
