/* http.c - the read-only HTTP server over libmicrohttpd (see http.h). */
#include "metrics/http.h"

#include <microhttpd.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct http_server {
    struct MHD_Daemon *daemon;
    http_handler h;
    void *ctx;
    unsigned port;
};

struct http_request {
    struct MHD_Connection *c;
    const char *path;
};

const char *http_request_path(const http_request *r) { return r->path; }

const char *http_request_arg(const http_request *r, const char *name) {
    return MHD_lookup_connection_value(r->c, MHD_GET_ARGUMENT_KIND, name);
}

void http_reply_text(http_reply *out, unsigned status, const char *type, const char *text) {
    size_t n = strlen(text);
    out->status = status;
    out->type = type ? type : "text/plain; charset=utf-8";
    out->body = malloc(n ? n : 1);
    out->len = out->body ? n : 0;
    if (out->body) memcpy(out->body, text, n);
}

int http_addr_parse(const char *text, char *host, size_t hostlen, unsigned *port, char *err,
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

/* Queues out as the answer (the body is handed over to libmicrohttpd). */
static enum MHD_Result http_send(struct MHD_Connection *c, http_reply *out) {
    struct MHD_Response *r =
        MHD_create_response_from_buffer(out->len, out->body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(out->body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, out->type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    /* Nothing served is meant to be framed or sniffed into another type. */
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    enum MHD_Result ok = MHD_queue_response(c, out->status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result http_handle(void *cls, struct MHD_Connection *c, const char *url,
                                   const char *method, const char *version,
                                   const char *upload_data, size_t *upload_size, void **con_cls) {
    (void)version, (void)upload_data;
    http_server *s = cls;
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
    http_reply out = {0};
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
        http_reply_text(&out, MHD_HTTP_METHOD_NOT_ALLOWED, NULL, "GET only\n");
    } else {
        http_request req = {c, url};
        s->h(s->ctx, &req, &out);
        if (!out.type) out.type = "text/plain; charset=utf-8";
        if (!out.status) out.status = MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
    return http_send(c, &out);
}

http_server *http_server_start(const char *addr, http_handler h, void *ctx, char *err,
                               size_t errlen) {
    char host[256];
    unsigned port = 0;
    if (http_addr_parse(addr, host, sizeof host, &port, err, errlen) != 0) return NULL;
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
    http_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->h = h;
    s->ctx = ctx;
    /* An internal thread polls; MHD_USE_ITC lets the stop wake it at once. */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_POLL |
                     (v6 ? MHD_USE_IPv6 : 0);
    s->daemon = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, http_handle, s,
                                 MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_CONNECTIONS,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_IDLE_S,
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

unsigned http_server_port(const http_server *s) { return s ? s->port : 0; }

void http_server_stop(http_server *s) {
    if (!s) return;
    MHD_stop_daemon(s->daemon);
    free(s);
}
