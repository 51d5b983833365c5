/* decode.h - the strict decoder of a row's JSON form (decode.c).
 *
 * Apart from tests and the fuzz target, only the message rule (message.c)
 * calls it: the consumers ask message.h what a message means. This is the
 * one schema header that exposes jansson, so that the producer, which only
 * encodes, never sees it. */
#ifndef GK_SCHEMA_DECODE_H
#define GK_SCHEMA_DECODE_H
#include "schema/schema.h"

#include <jansson.h>

/* Decodes a JSON object into values (ncolumns of them). Unknown fields,
 * duplicate keys, wrong types, missing required fields and invalid values are
 * errors. Text values borrow either from buf or from *root, which the caller
 * frees with json_decref() when done (NULL when every text value could
 * borrow from buf); they are not NUL-terminated: use len. Returns 0, or -1 with
 * a one-line reason in err and nothing to free. */
int schema_decode_json(const schema_record *rec, const char *buf, size_t len,
                       schema_value *values, json_t **root, char *err, size_t errlen);

/* The same decoding through jansson only: the reference schema_decode_json
 * falls back to, and what tests compare its fast path with. */
int schema_decode_json_jansson(const schema_record *rec, const char *buf, size_t len,
                               schema_value *values, json_t **root, char *err, size_t errlen);

#endif
