/* server.c - /metrics, /healthz and /readyz on the HTTP server (see server.h). */
#include "metrics/server.h"

#include "metrics/exposition.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct metrics_server {
    http_server *http;
    metrics_handlers h;
};

/* A health check's answer: 200 with ok_text, or 503 with the reason. */
static void server_check(http_reply *out, bool (*check)(void *, char *, size_t), void *ctx,
                         const char *ok_text) {
    char why[256] = "";
    char text[300];
    bool ok = check(ctx, why, sizeof why);
    snprintf(text, sizeof text, "%s\n", ok ? ok_text : why);
    http_reply_text(out, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, NULL, text);
}

static void server_handle(void *ctx, const http_request *r, http_reply *out) {
    metrics_server *s = ctx;
    const char *path = http_request_path(r);
    if (strcmp(path, "/metrics") == 0) {
        if (s->h.render(s->h.ctx, &out->body, &out->len) != 0) {
            http_reply_text(out, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, "out of memory\n");
            return;
        }
        out->status = MHD_HTTP_OK;
        out->type = EXPOSITION_CONTENT_TYPE;
    } else if (strcmp(path, "/healthz") == 0) {
        server_check(out, s->h.healthy, s->h.ctx, "ok");
    } else if (strcmp(path, "/readyz") == 0) {
        server_check(out, s->h.ready, s->h.ctx, "ready");
    } else {
        http_reply_text(out, MHD_HTTP_NOT_FOUND, NULL,
                        "not found: try /metrics, /healthz, /readyz\n");
    }
}

metrics_server *metrics_server_start(const char *addr, const metrics_handlers *h, char *err,
                                     size_t errlen) {
    metrics_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->h = *h;
    s->http = http_server_start(addr, server_handle, s, err, errlen);
    if (!s->http) {
        free(s);
        return NULL;
    }
    return s;
}

unsigned metrics_server_port(const metrics_server *s) { return s ? http_server_port(s->http) : 0; }

void metrics_server_stop(metrics_server *s) {
    if (!s) return;
    http_server_stop(s->http);
    free(s);
}
