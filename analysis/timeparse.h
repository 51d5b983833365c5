/* timeparse.h - parses the --from-time/--until-time arguments.
 *
 * Accepted: epoch milliseconds (all digits, e.g. 1763812800000), or ISO 8601
 * "YYYY-MM-DD", "YYYY-MM-DDTHH:MM", "YYYY-MM-DDTHH:MM:SS[.fraction]" (a space
 * may replace the T) followed by an optional zone "Z", "+HH:MM", "-HH:MM",
 * "+HHMM" or "+HH". Without a zone the time is UTC, so that a run means the
 * same thing on every machine; fractions beyond milliseconds are truncated. */
#ifndef GK_TIMEPARSE_H
#define GK_TIMEPARSE_H
#include <stdint.h>

/* Parses text into milliseconds since the Unix epoch. Returns 0, or -1 if the
 * text is not one of the accepted forms or names an impossible date/time. */
int timeparse_ms(const char *text, int64_t *ms);

#endif
