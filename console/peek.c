/* peek.c - the latest messages of a topic (see peek.h). */
#include "console/peek.h"

#include "common/signals.h"
#include "common/timeutil.h"

#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t peek_utf8_len(const unsigned char *s, size_t n) {
    size_t len = s[0] < 0x80 ? 1 : (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3
                               : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
    if (len == 0 || len > n) return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    unsigned cp = len == 1 ? s[0] : len == 2 ? (s[0] & 0x1Fu) : len == 3 ? (s[0] & 0x0Fu) : (s[0] & 0x07u);
    for (size_t i = 1; i < len; i++) cp = cp << 6 | (s[i] & 0x3Fu);
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || (len == 1 && cp == 0))
        return 0; /* overlong, out of range, a surrogate, or NUL (jansson text ends there) */
    return len;
}

json_t *peek_text(const void *bytes, size_t len, size_t max, int *binary) {
    const unsigned char *s = bytes;
    size_t n = len < max ? len : max;
    char *buf = malloc(n * 4 + 4);
    if (!buf) return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t l = peek_utf8_len(s + i, n - i);
        if (l) {
            memcpy(buf + o, s + i, l), o += l, i += l;
        } else {
            static const char hex[] = "0123456789abcdef";
            buf[o++] = '\\', buf[o++] = 'x', buf[o++] = hex[s[i] >> 4], buf[o++] = hex[s[i] & 15];
            i++;
            *binary = 1;
        }
    }
    if (len > n) memcpy(buf + o, "\xe2\x80\xa6", 3), o += 3; /* "…": there is more */
    json_t *j = json_stringn(buf, o);
    free(buf);
    return j;
}

/* One message as JSON. */
static json_t *peek_message(const rd_kafka_message_t *m) {
    int binary = 0;
    rd_kafka_timestamp_type_t tst;
    int64_t ts = rd_kafka_message_timestamp(m, &tst);
    json_t *headers = json_array();
    rd_kafka_headers_t *hdrs = NULL;
    if (headers && rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char *name;
        const void *v;
        size_t vlen;
        for (size_t i = 0; i < PEEK_HEADERS_MAX && !rd_kafka_header_get_all(hdrs, i, &name, &v, &vlen); i++)
            json_array_append_new(headers, json_pack("{s:s,s:o}", "name", name, "value",
                                                     v ? peek_text(v, vlen, PEEK_VALUE_MAX, &binary)
                                                       : json_null()));
    }
    json_t *key = m->key ? peek_text(m->key, m->key_len, PEEK_VALUE_MAX, &binary) : json_null();
    json_t *value = m->payload ? peek_text(m->payload, m->len, PEEK_VALUE_MAX, &binary) : json_null();
    return json_pack("{s:i,s:I,s:I,s:o,s:o,s:o,s:I,s:b}", "partition", (int)m->partition,
                     "offset", (json_int_t)m->offset, "timestamp_ms", (json_int_t)ts, "key",
                     key ? key : json_null(), "value", value ? value : json_null(), "headers",
                     headers ? headers : json_null(), "value_bytes", (json_int_t)m->len, "binary",
                     binary);
}

/* Newest first by timestamp, then by partition and offset. */
static int peek_cmp(const void *a, const void *b) {
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    json_int_t tx = json_integer_value(json_object_get(x, "timestamp_ms"));
    json_int_t ty = json_integer_value(json_object_get(y, "timestamp_ms"));
    if (tx != ty) return tx < ty ? 1 : -1;
    json_int_t px = json_integer_value(json_object_get(x, "partition"));
    json_int_t py = json_integer_value(json_object_get(y, "partition"));
    if (px != py) return px < py ? -1 : 1;
    json_int_t ox = json_integer_value(json_object_get(x, "offset"));
    json_int_t oy = json_integer_value(json_object_get(y, "offset"));
    return ox < oy ? 1 : ox > oy ? -1 : 0;
}

json_t *peek_latest(rd_kafka_t *rk, const json_t *topic, int n, int timeout_ms) {
    const char *name = json_string_value(json_object_get(topic, "name"));
    json_t *msgs = json_array();
    json_t *out = json_pack("{s:s,s:o,s:b}", "topic", name ? name : "", "messages", msgs,
                            "complete", 1);
    if (!out || !name) return out;
    rd_kafka_topic_partition_list_t *assign = rd_kafka_topic_partition_list_new(8);
    size_t i;
    json_t *p;
    int pending = 0;
    json_array_foreach(json_object_get(topic, "partitions"), i, p) {
        json_t *low = json_object_get(p, "low"), *high = json_object_get(p, "high");
        if (!low || !high || json_integer_value(high) <= json_integer_value(low)) continue;
        json_int_t from = json_integer_value(high) - n;
        if (from < json_integer_value(low)) from = json_integer_value(low);
        rd_kafka_topic_partition_list_add(assign, name, (int32_t)json_integer_value(
                                                            json_object_get(p, "partition")))
            ->offset = from;
        pending++;
    }
    if (pending == 0 || rd_kafka_assign(rk, assign) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_topic_partition_list_destroy(assign);
        return out;
    }
    /* Read until every partition reported its end, or the time is up. */
    size_t cap = (size_t)n * (size_t)assign->cnt;
    json_t **got = calloc(cap ? cap : 1, sizeof *got);
    size_t ngot = 0;
    int64_t deadline = time_mono_us() + (int64_t)timeout_ms * 1000;
    while (got && pending > 0 && signals_run && time_mono_us() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            pending--;
        } else if (!m->err && m->rkt && strcmp(rd_kafka_topic_name(m->rkt), name) == 0 &&
                   ngot < cap) {
            json_t *j = peek_message(m);
            if (j) got[ngot++] = j;
        } else if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            json_object_set_new(out, "error", json_string(rd_kafka_message_errstr(m)));
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_assign(rk, NULL);
    rd_kafka_topic_partition_list_destroy(assign);
    if (pending > 0) json_object_set_new(out, "complete", json_false());
    if (got) qsort(got, ngot, sizeof *got, peek_cmp);
    for (size_t k = 0; k < ngot; k++) {
        if (k < (size_t)n) json_array_append(msgs, got[k]);
        json_decref(got[k]);
    }
    free(got);
    return out;
}
