/* http.h - a small read-only HTTP server over libmicrohttpd, on a thread of
 * its own: the one both the services' /metrics endpoint (server.h) and the
 * console (console/) stand on.
 *
 * It answers GET and HEAD only (anything else: 405), never reads a request
 * body, serves at most HTTP_CONNECTIONS clients at once and drops one after
 * HTTP_IDLE_S seconds of silence. The handler is called on the server's
 * thread and must answer at once (from what it has, never waiting on a
 * broker or a database). http_server_stop() ends it at once whatever the
 * clients do, so it never holds up a program's shutdown. */
#ifndef GK_HTTP_H
#define GK_HTTP_H
#include <stddef.h>

#define HTTP_CONNECTIONS 16
#define HTTP_IDLE_S 5

/* What the handler answers: a status, a Content-Type and a malloc'd body
 * that the server takes over (NULL with len 0 for an empty one). */
typedef struct {
    unsigned status;
    const char *type;
    char *body;
    size_t len;
} http_reply;

typedef struct http_request http_request;

/* The request's path ("/api/state"), without the query string. */
const char *http_request_path(const http_request *r);

/* The value of query argument name ("topic" of "?topic=ack"), URL-decoded,
 * or NULL. Valid during the handler's call. */
const char *http_request_arg(const http_request *r, const char *name);

/* Fills *out for a GET or HEAD of r. */
typedef void (*http_handler)(void *ctx, const http_request *r, http_reply *out);

/* Sets *out to status with a copy of text (type: text/plain unless given). */
void http_reply_text(http_reply *out, unsigned status, const char *type, const char *text);

typedef struct http_server http_server;

/* Parses an address: "HOST:PORT", "[IPV6]:PORT" or a bare "PORT" (host
 * 127.0.0.1); HOST is a numeric address or a name that resolves. PORT 0
 * lets the system choose. Fills host (room hostlen) and *port. Returns 0,
 * or -1 with a one-line reason in err. */
int http_addr_parse(const char *text, char *host, size_t hostlen, unsigned *port, char *err,
                    size_t errlen);

/* Starts serving on addr (http_addr_parse's syntax), calling h(ctx, ...)
 * for each request. Returns the server, or NULL with a one-line reason in
 * err (a bad address, a port in use). */
http_server *http_server_start(const char *addr, http_handler h, void *ctx, char *err,
                               size_t errlen);

/* The port it listens on (the chosen one after PORT 0). */
unsigned http_server_port(const http_server *s);

/* Stops serving (open connections are closed) and frees s. NULL is allowed. */
void http_server_stop(http_server *s);

#endif
