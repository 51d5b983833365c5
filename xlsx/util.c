/* util.c - text helpers of the xlsx reader: column names and the OOXML
 * _xHHHH_ escapes (see internal.h). */
#include "xlsx/internal.h"

void xlsx_column_name(size_t col, char *buf, size_t len) {
    char tmp[16];
    size_t n = 0;
    if (len == 0) return;
    for (size_t c = col + 1; c > 0 && n < sizeof tmp; c = (c - 1) / 26)
        tmp[n++] = (char)('A' + (c - 1) % 26);
    size_t i = 0;
    for (; i < n && i + 1 < len; i++)
        buf[i] = tmp[n - 1 - i];
    buf[i] = '\0';
}

size_t xlsx_unescape(char *s, size_t len) {
    char *p = memchr(s, '_', len);
    if (!p) return len;
    size_t i = (size_t)(p - s), o = i;
    while (i < len) {
        unsigned cp = 0;
        int ok = s[i] == '_' && i + 7 <= len && s[i + 1] == 'x' && s[i + 6] == '_';
        for (int k = 2; ok && k < 6; k++) {
            char c = s[i + k];
            int v = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
            if (v < 0) ok = 0;
            cp = cp * 16 + (unsigned)v;
        }
        if (ok && cp != 0 && (cp < 0xD800 || cp > 0xDFFF)) {
            if (cp < 0x80) {
                s[o++] = (char)cp;
            } else if (cp < 0x800) {
                s[o++] = (char)(0xC0 | (cp >> 6));
                s[o++] = (char)(0x80 | (cp & 0x3F));
            } else {
                s[o++] = (char)(0xE0 | (cp >> 12));
                s[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                s[o++] = (char)(0x80 | (cp & 0x3F));
            }
            i += 7;
        } else {
            s[o++] = s[i++];
        }
    }
    return o;
}
