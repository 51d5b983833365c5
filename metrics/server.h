/* server.h - the HTTP endpoint of a service's metrics and health, served by
 * libmicrohttpd on a thread of its own.
 *
 *   GET /metrics  the page render() writes (Prometheus text format)
 *   GET /healthz  200 "ok" while healthy() holds, else 503 with its reason
 *   GET /readyz   200 "ready" while ready() holds, else 503 with its reason
 * anything else: 404; a method other than GET or HEAD: 405.
 *
 * It is read-only and bounded as every server of http.h is, and
 * metrics_server_stop() ends it at once whatever the clients do. */
#ifndef GK_METRICS_SERVER_H
#define GK_METRICS_SERVER_H
#include <stdbool.h>
#include <stddef.h>

#include "metrics/http.h"

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

/* Starts serving on addr (http_addr_parse's syntax). Returns the server,
 * or NULL with a one-line reason in err (a bad address, a port in use). */
metrics_server *metrics_server_start(const char *addr, const metrics_handlers *h, char *err,
                                     size_t errlen);

/* The port it listens on (the chosen one after PORT 0). */
unsigned metrics_server_port(const metrics_server *s);

/* Stops serving (open connections are closed) and frees s. NULL is allowed. */
void metrics_server_stop(metrics_server *s);

#endif
