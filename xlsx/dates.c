/* dates.c - Excel serial dates (1900 system, Lotus' phantom 1900-02-29
 * included) to ISO 8601 text and back (see xlsx.h and internal.h). */
#include "xlsx/internal.h"

#include <math.h>

/* Days since 1970-01-01 -> proleptic Gregorian y/m/d (H. Hinnant's algorithm). */
static void xlsx_civil_from_days(long long z, long long *y, unsigned *m, unsigned *d) {
    z += 719468;
    long long era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (long long)yoe + era * 400 + (*m <= 2);
}

/* y/m/d -> days since 1970-01-01. */
static long long xlsx_days_from_civil(long long y, unsigned m, unsigned d) {
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

int xlsx_date_to_iso(double serial, char *buf, size_t len) {
    if (!(serial >= 0.0) || serial >= 2958466.0) return -1; /* also rejects NaN */
    long long ms = llround(serial * 86400000.0);
    long long days = ms / 86400000, msday = ms % 86400000;
    if (days < 1 || days > 2958465) return -1;
    long long y;
    unsigned m, d;
    if (days == 60) { /* Lotus 1-2-3's 1900-02-29, which Excel keeps for compatibility */
        y = 1900, m = 2, d = 29;
    } else {
        /* Serial 25569 is 1970-01-01; before the phantom day everything is one day later. */
        xlsx_civil_from_days(days - (days < 60 ? 25568 : 25569), &y, &m, &d);
    }
    unsigned hh = (unsigned)(msday / 3600000), mi = (unsigned)(msday / 60000 % 60);
    unsigned ss = (unsigned)(msday / 1000 % 60), mss = (unsigned)(msday % 1000);
    /* "YYYY-MM-DDTHH:MM:SS[.mmm]" by hand: snprintf was a visible per-row cost. */
    size_t n = mss ? 23 : 19;
    if (len <= n) return -1;
    unsigned yy = (unsigned)y;
    char *p = buf;
    p[0] = (char)('0' + yy / 1000), p[1] = (char)('0' + yy / 100 % 10);
    p[2] = (char)('0' + yy / 10 % 10), p[3] = (char)('0' + yy % 10);
    const unsigned two[] = {m, d, hh, mi, ss};
    const char sep[] = "-T::";
    for (int i = 0; i < 5; i++) {
        p[4 + 3 * i] = i == 0 ? '-' : sep[i - 1];
        p[5 + 3 * i] = (char)('0' + two[i] / 10);
        p[6 + 3 * i] = (char)('0' + two[i] % 10);
    }
    if (mss) {
        p[19] = '.';
        p[20] = (char)('0' + mss / 100), p[21] = (char)('0' + mss / 10 % 10);
        p[22] = (char)('0' + mss % 10);
    }
    p[n] = '\0';
    return 0;
}

/* Reads exactly n digits. */
static int xlsx_digits(const char *s, int n, unsigned *out) {
    unsigned v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return 0;
}

int xlsx_iso_to_serial(const char *s, size_t len, double *out) {
    unsigned y, mo, d, h = 0, mi = 0, sec = 0;
    double frac = 0;
    if (len > 0 && s[len - 1] == 'Z') len--;
    if (len < 10 || xlsx_digits(s, 4, &y) || s[4] != '-' || xlsx_digits(s + 5, 2, &mo) ||
        s[7] != '-' || xlsx_digits(s + 8, 2, &d))
        return -1;
    if (len > 10) {
        if (len < 16 || s[10] != 'T' || xlsx_digits(s + 11, 2, &h) || s[13] != ':' ||
            xlsx_digits(s + 14, 2, &mi))
            return -1;
        size_t i = 16;
        if (len > 16) {
            if (len < 19 || s[16] != ':' || xlsx_digits(s + 17, 2, &sec)) return -1;
            i = 19;
            if (i < len) {
                if (s[i] != '.' || i + 1 == len) return -1;
                double scale = 0.1;
                for (i++; i < len; i++, scale /= 10) {
                    if (s[i] < '0' || s[i] > '9') return -1;
                    frac += (s[i] - '0') * scale;
                }
            }
        }
    }
    if (y < 1900 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59)
        return -1;
    long long days = xlsx_days_from_civil(y, mo, d);
    long long serial = days + (days >= -25508 ? 25569 : 25568); /* -25508: 1900-03-01 */
    *out = (double)serial + (h * 3600.0 + mi * 60.0 + sec + frac) / 86400.0;
    return 0;
}

