/* message.c - what a consumed message means (see message.h). */
#include "schema/message.h"

#include "common/numtext.h"
#include "schema/decode.h"

#include <stdio.h>
#include <string.h>

_Static_assert(SCHEMA_EVENT_KEY_MAX >= NUMTEXT_I64_MAX, "a key holds any int64");

size_t schema_event_key(char *out, int64_t id) { return numtext_i64(out, id); }

int schema_event_key_parse(const void *key, size_t len, int64_t *id) {
    const char *p = key;
    if (!p || len == 0 || len > 19 || p[0] == '0') return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9') return -1;
        v = v * 10 + (uint64_t)(p[i] - '0');
    }
    if (v > (uint64_t)INT64_MAX) return -1; /* 19 digits fit in uint64 */
    *id = (int64_t)v;
    return 0;
}

void schema_key_text(const void *key, size_t len, char *out, size_t outlen) {
    const unsigned char *k = key;
    size_t n = len < 40 ? len : 40, j = 0;
    if (outlen == 0) return;
    for (size_t i = 0; i < n && j + 1 < outlen; i++)
        out[j++] = k[i] >= 0x20 && k[i] < 0x7f && k[i] != '\'' ? (char)k[i] : '?';
    out[j] = '\0';
    if (len > n && j + 4 < outlen) strcpy(out + j, "...");
}

void schema_message_done(schema_message *m) {
    json_decref(m->decoded);
    m->decoded = NULL;
}

/* Checks that the key is the event id as the producer writes it. Returns 0,
 * or -1 with the reason in m->reason. */
static int schema_message_key(schema_message *m, const void *key, size_t key_len) {
    char want[SCHEMA_EVENT_KEY_MAX];
    int n = (int)schema_event_key(want, m->values[0].i);
    if (!key || key_len == 0) {
        snprintf(m->reason, sizeof m->reason, "message has no key (expected event_id %.*s)", n,
                 want);
        return -1;
    }
    if (key_len != (size_t)n || memcmp(key, want, (size_t)n) != 0) {
        char got[48];
        schema_key_text(key, key_len, got, sizeof got);
        snprintf(m->reason, sizeof m->reason, "key '%s' does not match event_id %.*s", got, n,
                 want);
        return -1;
    }
    return 0;
}

int schema_message_map(schema_message *m, const char *topic, const void *key, size_t key_len,
                       const void *value, size_t value_len) {
    const schema_record *rec = schema_by_topic(topic);
    if (!rec) {
        m->rec = NULL;
        m->decoded = NULL;
        m->event_id = 0;
        snprintf(m->reason, sizeof m->reason, "no record type for topic '%.64s'", topic);
        return -1;
    }
    return schema_message_map_record(m, rec, key, key_len, value, value_len);
}

int schema_message_map_record(schema_message *m, const schema_record *rec, const void *key,
                              size_t key_len, const void *value, size_t value_len) {
    m->rec = NULL;
    m->decoded = NULL;
    m->event_id = 0;
    m->reason[0] = '\0';
    json_t *root = NULL;
    if (schema_decode_json(rec, value, value_len, m->values, &root, m->reason,
                           sizeof m->reason) != 0)
        return -1;
    m->decoded = root;
    if (schema_message_key(m, key, key_len) != 0) {
        schema_message_done(m);
        return -1;
    }
    m->rec = rec;
    m->event_id = m->values[0].i;
    return 0;
}
