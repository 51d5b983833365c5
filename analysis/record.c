/* record.c - Kafka message fields to join_record (see record.h). */
#include "analysis/record.h"

#include "schema/message.h"
#include "schema/schema.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

/* Checks a microsecond time against the plausible range and, when the
 * message has one, its Kafka timestamp. Returns 0, or -1 with err set. */
static int record_check_us(const char *what, int64_t us, int64_t ts_ms, char *err, size_t errlen) {
    if (us < RECORD_MIN_US || us >= RECORD_MAX_US) {
        snprintf(err, errlen, "%s (%" PRId64 ") is not a time between 2000 and 2100", what, us);
        return -1;
    }
    if (ts_ms >= 0 && ts_ms <= INT64_MAX / 1000) {
        int64_t skew = us - ts_ms * 1000;
        if (skew > RECORD_MAX_SKEW_US || skew < -RECORD_MAX_SKEW_US) {
            snprintf(err, errlen, "%s (%" PRId64 ") is %.0f s from the Kafka timestamp %" PRId64
                     " ms", what, us, (double)skew / 1e6, ts_ms);
            return -1;
        }
    }
    return 0;
}

int record_header_us(const void *hdr, size_t len, int64_t ts_ms, int64_t *us, char *err,
                     size_t errlen) {
    const unsigned char *h = hdr;
    char shown[48];
    schema_key_text(hdr, h ? len : 0, shown, sizeof shown); /* one clean line, whatever it holds */
    int digits = h && len > 0;
    for (size_t i = 0; digits && i < len; i++) digits = h[i] >= '0' && h[i] <= '9';
    if (!digits) {
        snprintf(err, errlen, "gk-produced-us header '%s' is not plain decimal microseconds", shown);
        return -1;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < len && v < (uint64_t)RECORD_MAX_US; i++) v = v * 10 + (uint64_t)(h[i] - '0');
    if (len > 18 || v >= (uint64_t)RECORD_MAX_US) { /* 18 digits: well past 2100 already */
        snprintf(err, errlen, "gk-produced-us header '%s' is not a time between 2000 and 2100", shown);
        return -1;
    }
    char what[96];
    snprintf(what, sizeof what, "gk-produced-us header '%s'", shown);
    if (record_check_us(what, (int64_t)v, ts_ms, err, errlen) != 0) return -1;
    *us = (int64_t)v;
    return 0;
}

/* Reads an ack's value: a JSON object whose event_id is id, and acked_us
 * (-1 if absent). Returns 0, or -1 with err set. */
static int record_ack_value(const void *value, size_t vallen, int64_t id, int64_t ts_ms,
                            int64_t *acked_us, char *err, size_t errlen) {
    json_error_t jerr;
    *acked_us = -1;
    if (!value || vallen == 0) {
        snprintf(err, errlen, "event %" PRId64 ": empty value", id);
        return -1;
    }
    json_t *root = json_loadb(value, vallen, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(err, errlen, "event %" PRId64 ": value is not JSON: %s (column %d)", id, jerr.text,
                 jerr.column);
        return -1;
    }
    int rc = -1;
    json_t *jid = json_object_get(root, "event_id");
    json_t *jack = json_object_get(root, "acked_us");
    if (!json_is_object(root))
        snprintf(err, errlen, "event %" PRId64 ": value is not a JSON object", id);
    else if (!json_is_integer(jid))
        snprintf(err, errlen, "event %" PRId64 ": value has no integer \"event_id\"", id);
    else if (json_integer_value(jid) != id)
        snprintf(err, errlen, "key says event %" PRId64 " but value says event_id %" JSON_INTEGER_FORMAT,
                 id, json_integer_value(jid));
    else if (jack && !json_is_integer(jack))
        snprintf(err, errlen, "event %" PRId64 ": \"acked_us\" is not an integer", id);
    else if (jack && record_check_us("\"acked_us\"", json_integer_value(jack), ts_ms, err, errlen) != 0)
        ; /* err says why */
    else {
        if (jack) *acked_us = json_integer_value(jack);
        rc = 0;
    }
    json_decref(root);
    return rc;
}

record_outcome record_decode(const record_msg *m, join_record *out, int *bad_header, char *err,
                             size_t errlen) {
    int64_t id = 0, acked_us = -1;
    *bad_header = 0;
    memset(out, 0, sizeof *out);
    if (m->slot != JOIN_ACK) {
        /* The consumers' own rule: what they refuse is a dead letter. */
        schema_message sm;
        int rc = schema_message_map_record(&sm, &schema_records[m->slot], m->key, m->key_len,
                                           m->value, m->value_len);
        if (rc != 0) {
            snprintf(err, errlen, "dead letter: %s", sm.reason);
            if (schema_event_key_parse(m->key, m->key ? m->key_len : 0, &out->event_id) != 0)
                out->event_id = 0;
            out->slot = m->slot;
            return RECORD_DEAD_LETTER;
        }
        id = sm.event_id;
        schema_message_done(&sm);
    } else {
        if (schema_event_key_parse(m->key, m->key ? m->key_len : 0, &id) != 0) {
            char shown[48];
            schema_key_text(m->key, m->key ? m->key_len : 0, shown, sizeof shown);
            snprintf(err, errlen, "key '%s' is not a positive decimal event id", shown);
            return RECORD_BAD;
        }
        if (record_ack_value(m->value, m->value_len, id, m->ts_ms, &acked_us, err, errlen) != 0)
            return RECORD_BAD;
    }
    out->slot = m->slot;
    out->event_id = id;
    out->ts_ms = m->ts_ms;
    out->partition = m->partition;
    out->offset = m->offset;
    out->us = acked_us;
    if (m->produced_us) {
        int64_t us;
        if (record_header_us(m->produced_us, m->produced_us_len, m->ts_ms, &us, err, errlen) == 0)
            out->us = us;
        else
            *bad_header = 1;
    }
    if (out->us < 0 && out->ts_ms < 0) {
        snprintf(err, errlen, "event %" PRId64 ": no valid gk-produced-us header and no Kafka timestamp",
                 id);
        *bad_header = 0;
        return RECORD_BAD;
    }
    return RECORD_OK;
}
