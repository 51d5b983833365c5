/* web.c - the console's page and JSON API over http.h (see web.h). */
#include "console/web.h"

#include "common/timeutil.h"
#include "metrics/http.h"
#include "schema/schema.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char topic[SCHEMA_TOPIC_MAX + 1]; /* "" when free */
    int64_t asked_us, read_us;        /* monotonic; read_us 0 before the first read */
    char *json;                       /* the last read, or NULL */
} web_peek;

struct web {
    http_server *http;
    char www[4096];
    char address[300];
    int64_t refresh_us;
    pthread_mutex_t mu;
    char *state;   /* /api/state */
    json_t *names; /* the topics /api/messages accepts */
    web_peek peek[WEB_PEEK_SLOTS];
};

/* The files of the page, and their types: nothing else is served from disk. */
static const struct {
    const char *path, *file, *type;
} web_files[] = {
    {"/", "index.html", "text/html; charset=utf-8"},
    {"/index.html", "index.html", "text/html; charset=utf-8"},
    {"/console.js", "console.js", "text/javascript; charset=utf-8"},
    {"/console.css", "console.css", "text/css; charset=utf-8"},
};

/* Answers with file of the www directory. */
static void web_file(web *w, const char *file, const char *type, http_reply *out) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", w->www, file);
    FILE *f = fopen(path, "rb");
    char *buf = f ? malloc(WEB_FILE_MAX) : NULL;
    size_t n = buf ? fread(buf, 1, WEB_FILE_MAX, f) : 0;
    int ok = buf && !ferror(f) && n < WEB_FILE_MAX;
    if (f) fclose(f);
    if (!ok) {
        free(buf);
        http_reply_text(out, MHD_HTTP_NOT_FOUND, NULL,
                        "the page's files are missing: see console --www\n");
        return;
    }
    out->status = MHD_HTTP_OK, out->type = type, out->body = buf, out->len = n;
}

/* Copies text (or fallback when NULL) into a JSON answer. */
static void web_json(http_reply *out, unsigned status, const char *text) {
    http_reply_text(out, status, "application/json", text);
}

/* /api/messages?topic=T: the slot of T (taken for it when new). */
static void web_messages(web *w, const char *topic, http_reply *out) {
    int64_t now = time_mono_us();
    pthread_mutex_lock(&w->mu);
    int known = 0;
    size_t i;
    json_t *v;
    json_array_foreach(w->names, i, v) if (strcmp(json_string_value(v), topic) == 0) known = 1;
    web_peek *slot = NULL, *oldest = &w->peek[0];
    for (int s = 0; known && s < WEB_PEEK_SLOTS; s++) {
        if (strcmp(w->peek[s].topic, topic) == 0) slot = &w->peek[s];
        if (w->peek[s].asked_us < oldest->asked_us) oldest = &w->peek[s];
    }
    if (known && !slot) {
        slot = oldest;
        free(slot->json);
        memset(slot, 0, sizeof *slot);
        snprintf(slot->topic, sizeof slot->topic, "%s", topic);
    }
    if (slot) slot->asked_us = now;
    if (!known)
        web_json(out, MHD_HTTP_NOT_FOUND, "{\"error\":\"no such topic\"}");
    else if (slot->json)
        web_json(out, MHD_HTTP_OK, slot->json);
    else
        web_json(out, MHD_HTTP_OK, "{\"pending\":true}");
    pthread_mutex_unlock(&w->mu);
}

static void web_handle(void *ctx, const http_request *r, http_reply *out) {
    web *w = ctx;
    const char *path = http_request_path(r);
    for (size_t i = 0; i < sizeof web_files / sizeof web_files[0]; i++)
        if (strcmp(path, web_files[i].path) == 0) {
            web_file(w, web_files[i].file, web_files[i].type, out);
            return;
        }
    if (strcmp(path, "/api/state") == 0) {
        pthread_mutex_lock(&w->mu);
        if (w->state)
            web_json(out, MHD_HTTP_OK, w->state);
        else
            web_json(out, MHD_HTTP_SERVICE_UNAVAILABLE, "{\"error\":\"starting: no snapshot yet\"}");
        pthread_mutex_unlock(&w->mu);
    } else if (strcmp(path, "/api/messages") == 0) {
        const char *topic = http_request_arg(r, "topic");
        if (!topic || !*topic || strlen(topic) > SCHEMA_TOPIC_MAX)
            web_json(out, MHD_HTTP_BAD_REQUEST, "{\"error\":\"?topic=NAME expected\"}");
        else
            web_messages(w, topic, out);
    } else {
        http_reply_text(out, MHD_HTTP_NOT_FOUND, NULL, "not found: try /\n");
    }
}

web *web_start(const char *addr, const char *www, double refresh_s, char *err, size_t errlen) {
    web *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(w->www, sizeof w->www, "%s", www);
    w->refresh_us = (int64_t)(refresh_s * 1e6);
    w->names = json_array();
    pthread_mutex_init(&w->mu, NULL);
    w->http = w->names ? http_server_start(addr, web_handle, w, err, errlen) : NULL;
    if (!w->http) {
        json_decref(w->names);
        pthread_mutex_destroy(&w->mu);
        free(w);
        return NULL;
    }
    char host[256] = "127.0.0.1";
    unsigned port;
    char perr[64];
    http_addr_parse(addr, host, sizeof host, &port, perr, sizeof perr);
    snprintf(w->address, sizeof w->address, strchr(host, ':') ? "[%s]:%u" : "%s:%u", host,
             http_server_port(w->http));
    return w;
}

const char *web_address(const web *w) { return w->address; }

void web_set_state(web *w, const json_t *state, const json_t *topics) {
    char *text = json_dumps(state, JSON_COMPACT);
    json_t *names = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(topics, "topics"), i, t)
        json_array_append(names, json_object_get(t, "name"));
    pthread_mutex_lock(&w->mu);
    if (text) free(w->state), w->state = text;
    if (names) json_decref(w->names), w->names = names;
    pthread_mutex_unlock(&w->mu);
}

int web_next_peek(web *w, char *buf, size_t len) {
    int64_t now = time_mono_us();
    int found = 0;
    pthread_mutex_lock(&w->mu);
    for (int s = 0; !found && s < WEB_PEEK_SLOTS; s++) {
        web_peek *p = &w->peek[s];
        if (p->topic[0] && now - p->asked_us < WEB_PEEK_KEEP_S * 1000000LL &&
            (!p->read_us || now - p->read_us >= w->refresh_us)) {
            snprintf(buf, len, "%s", p->topic);
            p->read_us = now; /* due again one refresh from now, whatever the read gives */
            found = 1;
        }
    }
    pthread_mutex_unlock(&w->mu);
    return found;
}

void web_set_peek(web *w, const char *topic, json_t *msgs) {
    char *text = json_dumps(msgs, JSON_COMPACT);
    json_decref(msgs);
    pthread_mutex_lock(&w->mu);
    for (int s = 0; text && s < WEB_PEEK_SLOTS; s++)
        if (strcmp(w->peek[s].topic, topic) == 0) {
            free(w->peek[s].json);
            w->peek[s].json = text;
            text = NULL;
        }
    pthread_mutex_unlock(&w->mu);
    free(text);
}

void web_stop(web *w) {
    if (!w) return;
    http_server_stop(w->http); /* joins its thread: no handler runs after this */
    free(w->state);
    json_decref(w->names);
    for (int s = 0; s < WEB_PEEK_SLOTS; s++) free(w->peek[s].json);
    pthread_mutex_destroy(&w->mu);
    free(w);
}
