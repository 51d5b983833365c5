/* record.c - Kafka message fields to join_record (see record.h). */
#include "analysis/record.h"

#include "schema/message.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

/* Checks the JSON value against the key's event id and, for an ack, reads
 * acked_us into *acked_us (-1 if absent). Returns 0 or -1 with err set. */
static int record_check_value(int slot, const void *value, size_t vallen, int64_t id,
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
    json_t *jack = slot == JOIN_ACK ? json_object_get(root, "acked_us") : NULL;
    if (!json_is_object(root))
        snprintf(err, errlen, "event %" PRId64 ": value is not a JSON object", id);
    else if (!json_is_integer(jid))
        snprintf(err, errlen, "event %" PRId64 ": value has no integer \"event_id\"", id);
    else if (json_integer_value(jid) != id)
        snprintf(err, errlen, "key says event %" PRId64 " but value says event_id %" JSON_INTEGER_FORMAT,
                 id, json_integer_value(jid));
    else if (jack && (!json_is_integer(jack) || json_integer_value(jack) < 0))
        snprintf(err, errlen, "event %" PRId64 ": \"acked_us\" is not a non-negative integer", id);
    else {
        if (jack) *acked_us = json_integer_value(jack);
        rc = 0;
    }
    json_decref(root);
    return rc;
}

int record_decode(int slot, const void *key, size_t keylen, const void *value, size_t vallen,
                  int64_t ts_ms, int64_t hdr_us, int32_t partition, int64_t offset,
                  join_record *out, char *err, size_t errlen) {
    int64_t id, acked_us;
    if (schema_event_key_parse(key, keylen, &id) != 0) {
        char shown[48];
        schema_key_text(key, key ? keylen : 0, shown, sizeof shown); /* one clean log line */
        snprintf(err, errlen, "key '%s' is not a positive decimal event id", shown);
        return -1;
    }
    if (record_check_value(slot, value, vallen, id, &acked_us, err, errlen) != 0) return -1;
    out->slot = slot;
    out->event_id = id;
    out->ts_ms = ts_ms;
    out->us = hdr_us >= 0 ? hdr_us : acked_us;
    out->partition = partition;
    out->offset = offset;
    if (out->us < 0 && out->ts_ms < 0) {
        snprintf(err, errlen, "event %" PRId64 ": no gk-produced-us header and no Kafka timestamp", id);
        return -1;
    }
    return 0;
}
