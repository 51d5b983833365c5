/* codec.c - validation of values and the JSON form of a row (see schema.h).
 *
 * The JSON form is what travels on topic1..3: a compact object whose keys are
 * the schema's column names. Decoding is strict - unknown fields, duplicate
 * keys, wrong types and out-of-range values are rejected with a reason - so
 * that anything stored downstream is exactly what the schema describes. */
#include "schema/schema.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const char *schema_type_name(schema_type t) {
    switch (t) {
    case SCHEMA_INT: return "integer";
    case SCHEMA_REAL: return "decimal";
    case SCHEMA_TEXT: return "text";
    case SCHEMA_DATETIME: return "datetime";
    case SCHEMA_BOOL: return "boolean";
    }
    return "?";
}

bool schema_utf8_valid(const char *str, size_t len) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        size_t n;
        unsigned cp;
        if (c == 0) return false;
        if (c < 0x80) { i++; continue; }
        if (c >= 0xC2 && c <= 0xDF) { n = 1; cp = c & 0x1F; }
        else if (c >= 0xE0 && c <= 0xEF) { n = 2; cp = c & 0x0F; }
        else if (c >= 0xF0 && c <= 0xF4) { n = 3; cp = c & 0x07; }
        else return false;
        for (size_t k = 1; k <= n; k++) {
            if (i + k >= len || (s[i + k] & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        /* Overlong forms, surrogates and code points past U+10FFFF. */
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += n + 1;
    }
    return true;
}

/* Reads exactly n digits at s; returns the value or -1. */
static int dt_digits(const char *s, size_t n) {
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

bool schema_datetime_valid(const char *s, size_t len) {
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (len < 10 || s[4] != '-' || s[7] != '-') return false;
    int y = dt_digits(s, 4), mo = dt_digits(s + 5, 2), d = dt_digits(s + 8, 2);
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1]) return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo == 2 && d == 29 && !leap) return false;
    size_t i = 10;
    if (i == len) return true;
    if (s[i] != 'T' && s[i] != ' ') return false;
    if (len < i + 6 || s[i + 3] != ':') return false;
    int h = dt_digits(s + i + 1, 2), mi = dt_digits(s + i + 4, 2);
    if (h < 0 || h > 23 || mi < 0 || mi > 59) return false;
    i += 6;
    if (i < len && s[i] == ':') {
        if (len < i + 3) return false;
        int sec = dt_digits(s + i + 1, 2);
        if (sec < 0 || sec > 60) return false;
        i += 3;
        if (i < len && s[i] == '.') {
            size_t f = ++i;
            while (i < len && s[i] >= '0' && s[i] <= '9') i++;
            if (i == f || i - f > 6) return false;
        }
    }
    if (i == len) return true;
    if (s[i] == 'Z') return i + 1 == len;
    if ((s[i] == '+' || s[i] == '-') && len == i + 6 && s[i + 3] == ':') {
        int oh = dt_digits(s + i + 1, 2), om = dt_digits(s + i + 4, 2);
        return oh >= 0 && oh <= 14 && om >= 0 && om <= 59;
    }
    return false;
}

int schema_check_value(const schema_column *col, const schema_value *v, char *err, size_t errlen) {
    if (v->is_null) {
        if (!col->required) return 0;
        snprintf(err, errlen, "field '%s': required %s is missing", col->name,
                 schema_type_name(col->type));
        return -1;
    }
    switch (col->type) {
    case SCHEMA_INT:
        if (strcmp(col->name, SCHEMA_EVENT_ID) == 0 && v->i <= 0) {
            snprintf(err, errlen, "field '%s': must be a positive integer, got %lld", col->name,
                     (long long)v->i);
            return -1;
        }
        return 0;
    case SCHEMA_BOOL:
        if (v->i != 0 && v->i != 1) {
            snprintf(err, errlen, "field '%s': boolean must be 0 or 1", col->name);
            return -1;
        }
        return 0;
    case SCHEMA_REAL:
        if (!isfinite(v->d)) {
            snprintf(err, errlen, "field '%s': decimal must be finite", col->name);
            return -1;
        }
        return 0;
    case SCHEMA_TEXT: {
        size_t max = col->max_len ? col->max_len : SCHEMA_TEXT_MAX;
        if (v->len > max) {
            snprintf(err, errlen, "field '%s': text of %zu bytes exceeds the limit of %zu",
                     col->name, v->len, max);
            return -1;
        }
        if (!schema_utf8_valid(v->s, v->len)) {
            snprintf(err, errlen, "field '%s': text is not valid UTF-8", col->name);
            return -1;
        }
        return 0;
    }
    case SCHEMA_DATETIME:
        if (!schema_datetime_valid(v->s, v->len)) {
            snprintf(err, errlen, "field '%s': '%.40s' is not an ISO 8601 datetime", col->name,
                     schema_utf8_valid(v->s, v->len) ? v->s : "(invalid UTF-8)");
            return -1;
        }
        return 0;
    }
    return 0;
}

char *schema_encode_json(const schema_record *rec, const schema_value *values, size_t *len) {
    json_t *obj = json_object();
    for (size_t i = 0; i < rec->ncolumns; i++) {
        const schema_column *c = &rec->columns[i];
        const schema_value *v = &values[i];
        if (v->is_null) continue;
        json_t *j = NULL;
        switch (c->type) {
        case SCHEMA_INT: j = json_integer(v->i); break;
        case SCHEMA_REAL: j = json_real(v->d); break;
        case SCHEMA_TEXT:
        case SCHEMA_DATETIME: j = json_stringn_nocheck(v->s, v->len); break;
        case SCHEMA_BOOL: j = json_boolean(v->i); break;
        }
        json_object_set_new_nocheck(obj, c->name, j);
    }
    /* %.17g for reals: every double survives the round trip exactly. */
    char *out = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    json_decref(obj);
    if (out && len) *len = strlen(out);
    return out;
}

/* Reads one JSON field into v according to the column's type. */
static int schema_decode_field(const schema_column *c, json_t *j, schema_value *v, char *err,
                               size_t errlen) {
    memset(v, 0, sizeof *v);
    if (json_is_null(j)) {
        v->is_null = true;
        return 0;
    }
    const char *want = NULL;
    switch (c->type) {
    case SCHEMA_INT:
        if (json_is_integer(j)) { v->i = json_integer_value(j); return 0; }
        want = "an integer";
        break;
    case SCHEMA_REAL:
        if (json_is_number(j)) { v->d = json_number_value(j); return 0; }
        want = "a number";
        break;
    case SCHEMA_TEXT:
    case SCHEMA_DATETIME:
        if (json_is_string(j)) {
            v->s = json_string_value(j);
            v->len = json_string_length(j);
            return 0;
        }
        want = c->type == SCHEMA_TEXT ? "a string" : "a datetime string";
        break;
    case SCHEMA_BOOL:
        if (json_is_boolean(j)) { v->i = json_is_true(j); return 0; }
        want = "true or false";
        break;
    }
    static const char *const kinds[] = {"an object", "an array", "a string", "an integer",
                                        "a number", "true", "false", "null"};
    snprintf(err, errlen, "field '%s': expected %s, got %s", c->name, want, kinds[json_typeof(j)]);
    return -1;
}

int schema_decode_json(const schema_record *rec, const char *buf, size_t len,
                       schema_value *values, json_t **root, char *err, size_t errlen) {
    *root = NULL;
    if (!buf || len == 0) {
        snprintf(err, errlen, "empty message value");
        return -1;
    }
    if (len > SCHEMA_MAX_MESSAGE_BYTES) {
        snprintf(err, errlen, "message of %zu bytes exceeds the limit of %d", len,
                 SCHEMA_MAX_MESSAGE_BYTES);
        return -1;
    }
    json_error_t jerr;
    json_t *obj = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!obj) {
        snprintf(err, errlen, "not valid JSON: %s at byte %d", jerr.text, jerr.position);
        return -1;
    }
    if (!json_is_object(obj)) {
        snprintf(err, errlen, "not a JSON object");
        json_decref(obj);
        return -1;
    }
    for (size_t i = 0; i < rec->ncolumns; i++) values[i] = (schema_value){.is_null = true};
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val) {
        int idx = schema_column_index(rec, key);
        if (idx < 0) {
            snprintf(err, errlen, "unknown field '%.64s' for %s", key, rec->name);
            json_decref(obj);
            return -1;
        }
        if (schema_decode_field(&rec->columns[idx], val, &values[idx], err, errlen) != 0) {
            json_decref(obj);
            return -1;
        }
    }
    for (size_t i = 0; i < rec->ncolumns; i++) {
        if (schema_check_value(&rec->columns[i], &values[i], err, errlen) != 0) {
            json_decref(obj);
            return -1;
        }
    }
    *root = obj;
    return 0;
}
