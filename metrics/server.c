/* server.c - /metrics, /healthz and /readyz over libmicrohttpd (see server.h). */
#include "metrics/server.h"

#include "metrics/exposition.h"

#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct metrics_server {
    struct MHD_Daemon *daemon;
    metrics_handlers h;
    unsigned port;
};

int metrics_addr_parse(const char *text, char *host, size_t hostlen, unsigned *port, char *err,
                       size_t errlen) {
    const char *port_text = text;
    size_t n = 0;
    const char *h = "127.0.0.1";
    if (text[0] == '[') { /* [v6]:port */
        const char *close = strchr(text, ']');
        if (!close || close[1] != ':') {
            snprintf(err, errlen, "'%s': expected [IPV6]:PORT", text);
            return -1;
        }
        h = text + 1;
        n = (size_t)(close - h);
        port_text = close + 2;
    } else if (strrchr(text, ':')) {
        const char *colon = strrchr(text, ':');
        h = text;
        n = (size_t)(colon - text);
        port_text = colon + 1;
    } else {
        n = strlen(h);
    }
    if (n == 0 || n >= hostlen) {
        snprintf(err, errlen, "'%s': %s host", text, n ? "too long a" : "no");
        return -1;
    }
    memcpy(host, h, n);
    host[n] = '\0';
    char *end = NULL;
    long p = port_text[0] >= '0' && port_text[0] <= '9' ? strtol(port_text, &end, 10) : -1;
    if (p < 0 || p > 65535 || !end || *end) {
        snprintf(err, errlen, "'%s': the port must be a number 0..65535", text);
        return -1;
    }
    *port = (unsigned)p;
    return 0;
}

/* Queues a response of the given status and body (copied). */
static enum MHD_Result server_reply(struct MHD_Connection *c, unsigned status, const char *type,
                                    const char *body, size_t len) {
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    enum MHD_Result ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

/* A health check's answer: 200 with ok_text, or 503 with the reason. */
static enum MHD_Result server_check(struct MHD_Connection *c,
                                    bool (*check)(void *, char *, size_t), void *ctx,
                                    const char *ok_text) {
    char why[256] = "";
    char text[300];
    bool ok = check(ctx, why, sizeof why);
    int n = snprintf(text, sizeof text, "%s\n", ok ? ok_text : why);
    return server_reply(c, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
                        "text/plain; charset=utf-8", text,
                        n > 0 && (size_t)n < sizeof text ? (size_t)n : strlen(text));
}

static enum MHD_Result server_handle(void *cls, struct MHD_Connection *c, const char *url,
                                     const char *method, const char *version,
                                     const char *upload_data, size_t *upload_size,
                                     void **con_cls) {
    (void)version, (void)upload_data;
    metrics_server *s = cls;
    /* The first call only announces the request; answering then would let
     * a body arrive after the answer. */
    if (!*con_cls) {
        *con_cls = s;
        return MHD_YES;
    }
    if (*upload_size) {
        *upload_size = 0; /* a body is never read */
        return MHD_YES;
    }
    static const char text[] = "text/plain; charset=utf-8";
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return server_reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, text, "GET only\n", 9);
    if (strcmp(url, "/metrics") == 0) {
        char *body = NULL;
        size_t len = 0;
        if (s->h.render(s->h.ctx, &body, &len) != 0)
            return server_reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, text, "out of memory\n", 14);
        struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
        if (!r) {
            free(body);
            return MHD_NO;
        }
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, EXPOSITION_CONTENT_TYPE);
        enum MHD_Result ok = MHD_queue_response(c, MHD_HTTP_OK, r);
        MHD_destroy_response(r);
        return ok;
    }
    if (strcmp(url, "/healthz") == 0) return server_check(c, s->h.healthy, s->h.ctx, "ok");
    if (strcmp(url, "/readyz") == 0) return server_check(c, s->h.ready, s->h.ctx, "ready");
    return server_reply(c, MHD_HTTP_NOT_FOUND, text, "not found: try /metrics, /healthz, /readyz\n",
                        43);
}

metrics_server *metrics_server_start(const char *addr, const metrics_handlers *h, char *err,
                                     size_t errlen) {
    char host[256];
    unsigned port = 0;
    if (metrics_addr_parse(addr, host, sizeof host, &port, err, errlen) != 0) return NULL;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE}, *ai = NULL;
    int gai = getaddrinfo(host, NULL, &hints, &ai);
    if (gai != 0) {
        snprintf(err, errlen, "'%s': %s", addr, gai_strerror(gai));
        return NULL;
    }
    struct sockaddr_storage ss;
    memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
    bool v6 = ai->ai_family == AF_INET6;
    freeaddrinfo(ai);
    if (v6)
        ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
    metrics_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->h = *h;
    /* An internal thread polls; MHD_USE_ITC lets the stop wake it at once. */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_POLL |
                     (v6 ? MHD_USE_IPv6 : 0);
    s->daemon = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, server_handle, s,
                                 MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned)METRICS_SERVER_CONNECTIONS,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)METRICS_SERVER_IDLE_S,
                                 MHD_OPTION_END);
    if (!s->daemon) {
        snprintf(err, errlen, "cannot listen on %s (port in use, or an address not of this host)",
                 addr);
        free(s);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : port;
    return s;
}

unsigned metrics_server_port(const metrics_server *s) { return s ? s->port : 0; }

void metrics_server_stop(metrics_server *s) {
    if (!s) return;
    MHD_stop_daemon(s->daemon);
    free(s);
}
