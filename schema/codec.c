/* codec.c - validation of values and the JSON form of a row (see schema.h).
 *
 * The JSON form is what travels on topic1..3: a compact object whose keys are
 * the schema's column names. Values are checked here (schema_check_value) so
 * that anything stored downstream is exactly what the schema describes;
 * decoding, which is strict, is in decode.c. */
#include "schema/schema.h"

#include "common/numtext.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
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

bool schema_value_missing(const schema_column *col, const schema_value *v) {
    return v->is_null || ((col->type == SCHEMA_TEXT || col->type == SCHEMA_DATETIME) && v->len == 0);
}

int schema_check_value(const schema_column *col, const schema_value *v, char *err, size_t errlen) {
    if (schema_value_missing(col, v)) {
        if (!col->required) return 0;
        snprintf(err, errlen, "field '%s': required %s is missing%s", col->name,
                 schema_type_name(col->type), v->is_null ? "" : " (empty)");
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
            bool utf8 = schema_utf8_valid(v->s, v->len);
            snprintf(err, errlen, "field '%s': '%.*s' is not an ISO 8601 datetime", col->name,
                     utf8 ? (int)(v->len < 40 ? v->len : 40) : 15,
                     utf8 ? v->s : "(invalid UTF-8)");
            return -1;
        }
        return 0;
    }
    return 0;
}

/* ------------------------------------------------------------- encoding
 *
 * A dedicated encoder rather than jansson: the producer encodes every row, and
 * building a json_t tree per row costs one allocation per field. The output is
 * what jansson's compact dump gave (same escapes, reals marked by ".0" or an
 * exponent, exponents without '+' or leading zeros), except that reals are in
 * their shortest round-trip form (0.1, not 0.10000000000000001). */

/* An output cursor that writes while there is room and counts past the end,
 * so one pass gives both the text and the size it needs. */
typedef struct {
    char *p;
    size_t len, cap;
} enc_out;

static void enc_put(enc_out *o, const char *s, size_t n) {
    if (o->len < o->cap) {
        size_t room = o->cap - o->len;
        memcpy(o->p + o->len, s, n < room ? n : room);
    }
    o->len += n;
}

static void enc_char(enc_out *o, char c) {
    if (o->len < o->cap) o->p[o->len] = c;
    o->len++;
}

/* Writes a 64-bit integer in decimal. */
static void enc_int(enc_out *o, int64_t v) {
    char buf[NUMTEXT_I64_MAX];
    enc_put(o, buf, numtext_i64(buf, v));
}

/* Writes the escape of an ASCII byte that needs one (RFC 8259 section 7). */
static void enc_escape(enc_out *o, unsigned char c) {
    static const char hex[] = "0123456789ABCDEF";
    switch (c) {
    case '"': enc_put(o, "\\\"", 2); return;
    case '\\': enc_put(o, "\\\\", 2); return;
    case '\b': enc_put(o, "\\b", 2); return;
    case '\f': enc_put(o, "\\f", 2); return;
    case '\n': enc_put(o, "\\n", 2); return;
    case '\r': enc_put(o, "\\r", 2); return;
    case '\t': enc_put(o, "\\t", 2); return;
    default: {
        char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        enc_put(o, u, 6);
    }
    }
}

/* Writes s[0..len) as a JSON string: runs of plain bytes are copied at once.
 * Returns 0, or -1 if the text is not valid UTF-8. */
static int enc_string(enc_out *o, const char *str, size_t len) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, run = 0;
    enc_char(o, '"');
    while (i < len) {
        unsigned char c = s[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            i++;
            continue;
        }
        if (c < 0x80) {
            enc_put(o, str + run, i - run);
            enc_escape(o, c);
            run = ++i;
            continue;
        }
        size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
        if (n > len - i || !schema_utf8_valid(str + i, n)) return -1;
        i += n;
    }
    enc_put(o, str + run, len - run);
    enc_char(o, '"');
    return 0;
}

/* Formats |d| (not zero, 1e-4 <= |d| < 1e15) as the shortest decimal with
 * at most 15 significant digits that reads back as the same double, if there
 * is one. Returns its length, or 0. The test is exact: m < 2^53 and 10^k
 * are exact doubles, so m / 10^k is correctly rounded, like strtod. */
static size_t enc_real_short(double d, char *buf) {
    static const double pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,
                                   1e7,  1e8,  1e9,  1e10, 1e11, 1e12, 1e13,
                                   1e14, 1e15, 1e16, 1e17, 1e18, 1e19};
    double a = fabs(d);
    if (!(a >= 1e-4 && a < 1e15)) return 0;
    for (int k = 0; k < (int)(sizeof pow10 / sizeof pow10[0]); k++) {
        double x = a * pow10[k];
        if (x >= 1e15) return 0;
        double m = (double)(uint64_t)(x + 0.5); /* the nearest integer: no libm needed */
        if (m / pow10[k] != a) continue;
        char digits[24];
        size_t nd = 0, o = 0;
        for (uint64_t u = (uint64_t)m; u; u /= 10) digits[nd++] = (char)('0' + u % 10);
        if (d < 0) buf[o++] = '-';
        if ((int)nd <= k) { /* 0.000ddd */
            buf[o++] = '0';
            buf[o++] = '.';
            for (int z = 0; z < k - (int)nd; z++) buf[o++] = '0';
        }
        for (size_t i = nd; i-- > 0;) {
            buf[o++] = digits[i];
            if ((int)i == k && i > 0 && (int)nd > k) buf[o++] = '.';
        }
        if (k == 0) {
            buf[o++] = '.';
            buf[o++] = '0';
        }
        return o;
    }
    return 0;
}

/* Writes a finite double in its shortest round-trip form: %.15g, %.16g or
 * %.17g, the first that strtod reads back as the same double, with ".0"
 * added when it would read as an integer and the exponent without '+' or
 * leading zeros. Returns 0, or -1 if d is not finite. */
static int enc_real(enc_out *o, double d) {
    char buf[40];
    if (!isfinite(d)) return -1;
    size_t n = d == 0 ? 0 : enc_real_short(d, buf);
    if (n) {
        enc_put(o, buf, n);
        return 0;
    }
    int len = 0;
    for (int prec = 15; prec <= 17; prec++) {
        len = snprintf(buf, sizeof buf - 2, "%.*g", prec, d);
        if (strtod(buf, NULL) == d) break;
    }
    char *e = strchr(buf, 'e');
    if (!e && !strchr(buf, '.')) {
        buf[len++] = '.';
        buf[len++] = '0';
    }
    if (e) { /* "1e+20" -> "1e20", "1e-05" -> "1e-5" */
        char *from = e + 1, *to = e + 1;
        if (*from == '-') *to++ = *from++;
        else if (*from == '+') from++;
        while (*from == '0' && from[1]) from++;
        while (*from) *to++ = *from++;
        len = (int)(to - buf);
    }
    enc_put(o, buf, (size_t)len);
    return 0;
}

int schema_encode_json_buf(const schema_record *rec, const schema_value *values, char *out,
                           size_t cap, size_t *len) {
    enc_out o = {out, 0, cap};
    int first = 1, rc = 0;
    enc_char(&o, '{');
    for (size_t i = 0; i < rec->ncolumns && rc == 0; i++) {
        const schema_column *c = &rec->columns[i];
        const schema_value *v = &values[i];
        if (v->is_null) continue;
        if (!first) enc_char(&o, ',');
        first = 0;
        enc_char(&o, '"');
        enc_put(&o, c->name, strlen(c->name)); /* column names need no escapes */
        enc_put(&o, "\":", 2);
        switch (c->type) {
        case SCHEMA_INT: enc_int(&o, v->i); break;
        case SCHEMA_REAL: rc = enc_real(&o, v->d); break;
        case SCHEMA_TEXT:
        case SCHEMA_DATETIME: rc = enc_string(&o, v->s, v->len); break;
        case SCHEMA_BOOL: enc_put(&o, v->i ? "true" : "false", v->i ? 4 : 5); break;
        }
    }
    enc_char(&o, '}');
    if (rc != 0) return -1;
    if (o.len < cap) out[o.len] = '\0';
    *len = o.len;
    return 0;
}

char *schema_encode_json(const schema_record *rec, const schema_value *values, size_t *len) {
    char small[1024];
    size_t n = 0;
    if (schema_encode_json_buf(rec, values, small, sizeof small, &n) != 0) return NULL;
    char *out = malloc(n + 1);
    if (!out) return NULL;
    if (n < sizeof small)
        memcpy(out, small, n + 1);
    else
        schema_encode_json_buf(rec, values, out, n + 1, &n);
    if (len) *len = n;
    return out;
}
