/* decode.c - strict decoding of a row's JSON form (see decode.h).
 *
 * jansson is the decoder of record: it parses any JSON, reports errors with a
 * position, and decides what is valid. Building its tree costs one allocation
 * per field and a hash table per message, though, which took a large share
 * of each consumer's CPU (bench/README.md). So the common case - a flat
 * object of plain strings, numbers, booleans and nulls, as the producer
 * writes it - is read here in one pass, and anything else (\u escapes,
 * escaped keys, nesting, duplicate or unknown keys, any error at all) is
 * handed to jansson, which then gives the answer and the error message. Text
 * values borrow from the message; one with the common escapes (\" \n ...)
 * is unescaped into a string of its own, held by the caller's root. The fast
 * path never accepts what jansson refuses and yields the same values:
 * fuzz_decode checks the two against each other. */
#include "schema/decode.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ jansson path */

/* Reads one JSON field into v according to the column's type. */
static int decode_field(const schema_column *c, json_t *j, schema_value *v, char *err,
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

/* Checks the size limits every path shares; 0 or -1 with a reason. */
static int decode_check_size(const char *buf, size_t len, char *err, size_t errlen) {
    if (!buf || len == 0) {
        snprintf(err, errlen, "empty message value");
        return -1;
    }
    if (len > SCHEMA_MAX_MESSAGE_BYTES) {
        snprintf(err, errlen, "message of %zu bytes exceeds the limit of %d", len,
                 SCHEMA_MAX_MESSAGE_BYTES);
        return -1;
    }
    return 0;
}

/* Checks every value against its column (required, ranges, UTF-8...); an
 * optional value that is missing by the schema's rule ("" for text) becomes
 * null, as the producer makes an empty cell, so that both store the same. */
static int decode_check_values(const schema_record *rec, schema_value *values, char *err,
                               size_t errlen) {
    for (size_t i = 0; i < rec->ncolumns; i++) {
        if (schema_check_value(&rec->columns[i], &values[i], err, errlen) != 0) return -1;
        if (schema_value_missing(&rec->columns[i], &values[i])) values[i].is_null = true;
    }
    return 0;
}

int schema_decode_json_jansson(const schema_record *rec, const char *buf, size_t len,
                               schema_value *values, json_t **root, char *err, size_t errlen) {
    *root = NULL;
    if (decode_check_size(buf, len, err, errlen) != 0) return -1;
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
        if (decode_field(&rec->columns[idx], val, &values[idx], err, errlen) != 0) {
            json_decref(obj);
            return -1;
        }
    }
    if (decode_check_values(rec, values, err, errlen) != 0) {
        json_decref(obj);
        return -1;
    }
    *root = obj;
    return 0;
}

/* -------------------------------------------------------------- fast path */

/* A cursor over the message; every helper below returns false ("not for
 * the fast path") rather than an error. */
typedef struct {
    const char *p, *end;
} fast_in;

static void fast_ws(fast_in *in) {
    while (in->p < in->end &&
           (*in->p == ' ' || *in->p == '\t' || *in->p == '\n' || *in->p == '\r'))
        in->p++;
}

static bool fast_char(fast_in *in, char c) {
    fast_ws(in);
    if (in->p >= in->end || *in->p != c) return false;
    in->p++;
    return true;
}

/* The rest of a string whose first escape the cursor is at, from start
 * (after the opening quote), unescaped into a new string of *hold (a jansson
 * array made on first use, freed with the decoder's root): a row's text with
 * quotes or line breaks is common, a tree of the whole message for it is not
 * needed. Only the two-character escapes; \uXXXX, which has surrogates and
 * NUL to get right, goes to jansson (false). */
static bool fast_unescape(fast_in *in, const char *start, json_t **hold, const char **s,
                          size_t *len) {
    const char *q = in->p; /* the closing quote, for the unescaped text's size bound */
    while (q < in->end && *q != '"') q += *q == '\\' && in->end - q > 1 ? 2 : 1;
    if (q >= in->end) return false;
    char small[256];
    size_t cap = (size_t)(q - start);
    char *out = cap <= sizeof small ? small : malloc(cap);
    if (!out) return false;
    size_t n = (size_t)(in->p - start);
    memcpy(out, start, n);
    bool ok = false;
    for (;;) {
        if (in->p >= in->end) break;
        unsigned char c = (unsigned char)*in->p++;
        if (c == '"') {
            ok = true;
            break;
        }
        if (c < 0x20) break;
        if (c != '\\') {
            out[n++] = (char)c;
            continue;
        }
        if (in->p >= in->end) break;
        switch (*in->p++) {
        case '"': out[n++] = '"'; continue;
        case '\\': out[n++] = '\\'; continue;
        case '/': out[n++] = '/'; continue;
        case 'b': out[n++] = '\b'; continue;
        case 'f': out[n++] = '\f'; continue;
        case 'n': out[n++] = '\n'; continue;
        case 'r': out[n++] = '\r'; continue;
        case 't': out[n++] = '\t'; continue;
        default: break; /* \u, or an escape jansson refuses */
        }
        break;
    }
    json_t *str = ok ? json_stringn_nocheck(out, n) : NULL;
    if (out != small) free(out);
    if (!str) return false;
    if (!*hold && !(*hold = json_array())) {
        json_decref(str);
        return false;
    }
    if (json_array_append_new(*hold, str) != 0) return false;
    *s = json_string_value(str);
    *len = n;
    return true;
}

/* A string with no control characters; its bytes stay in the message. With
 * escapes it is unescaped into *hold (fast_unescape), or, hold being NULL (a
 * key), left to jansson. Bytes >= 0x80 are checked later (schema_check_value)
 * or, in keys, can only match an ASCII column name if absent. */
static bool fast_string(fast_in *in, json_t **hold, const char **s, size_t *len) {
    if (!fast_char(in, '"')) return false;
    const char *start = in->p;
    for (;;) {
        if (in->p >= in->end) return false;
        unsigned char c = (unsigned char)*in->p;
        if (c == '"') break;
        if (c == '\\') return hold && fast_unescape(in, start, hold, s, len);
        if (c < 0x20) return false;
        in->p++;
    }
    *s = start;
    *len = (size_t)(in->p - start);
    in->p++;
    return true;
}

static bool fast_word(fast_in *in, const char *w, size_t n) {
    if ((size_t)(in->end - in->p) < n || memcmp(in->p, w, n) != 0) return false;
    in->p += n;
    return true;
}

static bool fast_digit(const fast_in *in) {
    return in->p < in->end && *in->p >= '0' && *in->p <= '9';
}

/* A number in JSON's grammar. *is_int tells whether it has neither fraction
 * nor exponent; *i holds an integer's value (false on int64 overflow, which
 * jansson reports) and *d a real's, parsed by strtod as jansson does
 * (false when it overflows to infinity, which jansson also refuses). */
static bool fast_number(fast_in *in, bool *is_int, int64_t *i, double *d) {
    const char *start = in->p;
    bool neg = in->p < in->end && *in->p == '-';
    if (neg) in->p++;
    if (!fast_digit(in)) return false;
    if (*in->p == '0') {
        in->p++;
        if (fast_digit(in)) return false; /* leading zero */
    } else {
        while (fast_digit(in)) in->p++;
    }
    *is_int = true;
    if (in->p < in->end && *in->p == '.') {
        in->p++;
        if (!fast_digit(in)) return false;
        while (fast_digit(in)) in->p++;
        *is_int = false;
    }
    if (in->p < in->end && (*in->p == 'e' || *in->p == 'E')) {
        in->p++;
        if (in->p < in->end && (*in->p == '+' || *in->p == '-')) in->p++;
        if (!fast_digit(in)) return false;
        while (fast_digit(in)) in->p++;
        *is_int = false;
    }
    size_t n = (size_t)(in->p - start);
    if (*is_int) {
        uint64_t u = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
        for (const char *q = start + neg; q < in->p; q++) {
            unsigned digit = (unsigned)(*q - '0');
            if (u > (limit - digit) / 10) return false;
            u = u * 10 + digit;
        }
        *i = neg ? (int64_t)(0 - u) : (int64_t)u;
        return true;
    }
    char tmp[64];
    if (n >= sizeof tmp) return false;
    memcpy(tmp, start, n);
    tmp[n] = '\0';
    *d = strtod(tmp, NULL);
    return !isinf(*d);
}

/* Reads one value into v for column c; false if it is not of the column's
 * type or not plain enough for the fast path. */
static bool fast_value(fast_in *in, const schema_column *c, schema_value *v, json_t **hold) {
    fast_ws(in);
    if (in->p >= in->end) return false;
    *v = (schema_value){0};
    switch (*in->p) {
    case 'n': v->is_null = true; return fast_word(in, "null", 4);
    case 't':
        v->i = 1;
        return c->type == SCHEMA_BOOL && fast_word(in, "true", 4);
    case 'f':
        v->i = 0;
        return c->type == SCHEMA_BOOL && fast_word(in, "false", 5);
    case '"':
        return (c->type == SCHEMA_TEXT || c->type == SCHEMA_DATETIME) &&
               fast_string(in, hold, &v->s, &v->len);
    default: {
        bool is_int;
        int64_t i = 0;
        double d = 0;
        if (c->type != SCHEMA_INT && c->type != SCHEMA_REAL) return false;
        if (!fast_number(in, &is_int, &i, &d)) return false;
        if (c->type == SCHEMA_INT) {
            v->i = i;
            return is_int;
        }
        v->d = is_int ? (double)i : d; /* jansson: json_number_value of an integer */
        return true;
    }
    }
}

/* The column a key names, or -1. The producer writes keys in column order,
 * so the search starts at the column after the previous key's (hint). */
static int fast_column(const schema_record *rec, const char *key, size_t len, size_t hint) {
    for (size_t k = 0; k < rec->ncolumns; k++) {
        size_t i = (hint + k) % rec->ncolumns;
        const char *name = rec->columns[i].name;
        if (name[0] == key[0] && strncmp(name, key, len) == 0 && name[len] == '\0')
            return (int)i;
    }
    return -1;
}

/* Decodes the plain form completely and validly, or returns false with
 * values in an unspecified state. Escaped text values are held in *hold
 * (NULL if none), which the caller frees either way. */
static bool fast_decode(const schema_record *rec, const char *buf, size_t len,
                        schema_value *values, json_t **hold) {
    fast_in in = {buf, buf + len};
    uint64_t seen = 0;
    size_t next = 0; /* where the next key is looked for first */
    _Static_assert(SCHEMA_MAX_COLUMNS <= 64, "the seen mask has 64 bits");
    if (rec->ncolumns > SCHEMA_MAX_COLUMNS) return false;
    for (size_t i = 0; i < rec->ncolumns; i++) values[i] = (schema_value){.is_null = true};
    if (!fast_char(&in, '{')) return false;
    fast_ws(&in);
    if (in.p < in.end && *in.p == '}') {
        in.p++;
    } else {
        for (;;) {
            const char *key;
            size_t klen;
            if (!fast_string(&in, NULL, &key, &klen) || !fast_char(&in, ':')) return false;
            int idx = klen ? fast_column(rec, key, klen, next) : -1;
            if (idx < 0 || (seen & (UINT64_C(1) << idx))) return false;
            seen |= UINT64_C(1) << idx;
            next = (size_t)idx + 1;
            if (!fast_value(&in, &rec->columns[idx], &values[idx], hold)) return false;
            fast_ws(&in);
            if (in.p >= in.end) return false;
            char c = *in.p++;
            if (c == '}') break;
            if (c != ',') return false;
        }
    }
    fast_ws(&in);
    if (in.p != in.end) return false;
    char err[8];
    return decode_check_values(rec, values, err, sizeof err) == 0;
}

int schema_decode_json(const schema_record *rec, const char *buf, size_t len,
                       schema_value *values, json_t **root, char *err, size_t errlen) {
    *root = NULL;
    if (decode_check_size(buf, len, err, errlen) != 0) return -1;
    json_t *hold = NULL;
    if (fast_decode(rec, buf, len, values, &hold)) {
        *root = hold;
        return 0;
    }
    json_decref(hold);
    return schema_decode_json_jansson(rec, buf, len, values, root, err, errlen);
}
