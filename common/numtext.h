/* numtext.h - integers as decimal text without printf.
 *
 * The producer and ack_consumer write several integers per message (keys,
 * headers, the ack's JSON); snprintf's format parsing was a visible share of
 * their per-message CPU. */
#ifndef GK_NUMTEXT_H
#define GK_NUMTEXT_H
#include <stddef.h>
#include <stdint.h>

#define NUMTEXT_I64_MAX 20 /* characters of the longest int64, "-9223372036854775808" */

/* Writes v in decimal at buf, which has room for NUMTEXT_I64_MAX characters,
 * without a terminating NUL. Returns the number of characters written. */
size_t numtext_i64(char *buf, int64_t v);

#endif
