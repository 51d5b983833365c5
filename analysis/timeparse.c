/* timeparse.c - epoch ms or ISO 8601 to epoch ms (see timeparse.h). */
#include "analysis/timeparse.h"

#include <ctype.h>
#include <string.h>
#include <time.h>

/* Reads exactly n digits at *p into *out and advances *p. Returns 0 or -1. */
static int timeparse_digits(const char **p, int n, int *out) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i])) return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

/* Reads the zone suffix (Z, +HH, +HHMM, +HH:MM or nothing) into seconds east of UTC. */
static int timeparse_zone(const char *p, int64_t *east) {
    int hh = 0, mm = 0;
    *east = 0;
    if (*p == '\0') return 0;
    if (*p == 'Z' || *p == 'z') return p[1] == '\0' ? 0 : -1;
    if (*p != '+' && *p != '-') return -1;
    int sign = *p++ == '-' ? -1 : 1;
    if (timeparse_digits(&p, 2, &hh) != 0 || hh > 23) return -1;
    if (*p == ':') p++;
    if (*p && (timeparse_digits(&p, 2, &mm) != 0 || mm > 59)) return -1;
    if (*p != '\0') return -1;
    *east = sign * (hh * 3600 + mm * 60);
    return 0;
}

/* Parses the all-digits form. */
static int timeparse_epoch(const char *text, int64_t *ms) {
    int64_t v = 0;
    for (const char *p = text; *p; p++) {
        if (!isdigit((unsigned char)*p) || v > (INT64_MAX - 9) / 10) return -1;
        v = v * 10 + (*p - '0');
    }
    *ms = v;
    return 0;
}

int timeparse_ms(const char *text, int64_t *ms) {
    if (!text || !*text) return -1;
    if (strspn(text, "0123456789") == strlen(text)) return timeparse_epoch(text, ms);
    const char *p = text;
    int y, mo, d, h = 0, mi = 0, s = 0, frac_ms = 0;
    if (timeparse_digits(&p, 4, &y) || *p++ != '-' || timeparse_digits(&p, 2, &mo) ||
        *p++ != '-' || timeparse_digits(&p, 2, &d))
        return -1;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (timeparse_digits(&p, 2, &h) || *p++ != ':' || timeparse_digits(&p, 2, &mi)) return -1;
        if (*p == ':') {
            p++;
            if (timeparse_digits(&p, 2, &s)) return -1;
            if (*p == '.' || *p == ',') {
                p++;
                int scale = 100, digits = 0;
                for (; isdigit((unsigned char)*p); p++, digits++) {
                    frac_ms += (*p - '0') * scale;
                    scale /= 10;
                }
                if (digits == 0) return -1;
            }
        }
    }
    int64_t east;
    if (timeparse_zone(p, &east) != 0) return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return -1;
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    time_t t = timegm(&tm);
    /* timegm normalises 31 February into March: refuse dates that moved. */
    if (t == (time_t)-1 || tm.tm_mday != d || tm.tm_mon != mo - 1) return -1;
    *ms = ((int64_t)t - east) * 1000 + frac_ms;
    return 0;
}
