/* numtext.c - integers as decimal text without printf (see numtext.h). */
#include "common/numtext.h"

size_t numtext_i64(char *buf, int64_t v) {
    char tmp[NUMTEXT_I64_MAX];
    size_t n = 0, o = 0;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) buf[o++] = '-';
    while (n) buf[o++] = tmp[--n];
    return o;
}
