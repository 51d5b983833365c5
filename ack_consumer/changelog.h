/* changelog.h - the record of an event in the scalable mode's changelog
 * topic (scale.h): key = the event id (decimal, like every key of the
 * pipeline), value = this portable encoding of ack_event (event.h): the
 * changelog crosses machines, so unlike the local LMDB record it has a fixed
 * byte order (little-endian) and no padding. An ACKED event is its first 3
 * bytes and its ack time (acked_s, 4 bytes; earlier versions wrote the 3
 * bytes alone, read as an unknown ack time), as in LMDB: its topics are
 * never read again. A tombstone (no value) is an event forgotten by
 * --ack-retention: compaction then drops the key. */
#ifndef GK_ACK_CHANGELOG_H
#define GK_ACK_CHANGELOG_H
#include "ack_consumer/event.h"

#include <stddef.h>

/* version, seen, state, then per topic ts_ms, produced_us, offset, partition
 * as 8-byte little-endian integers. */
#define ACK_CHANGELOG_RECORD_MAX (3 + ACK_N_TOPICS * 4 * 8)
#define ACK_CHANGELOG_ACKED_LEN 7

/* Encodes ev into out (room for ACK_CHANGELOG_RECORD_MAX). Returns the length. */
size_t ack_changelog_encode(const ack_event *ev, unsigned char *out);

/* Decodes a record written by ack_changelog_encode into ev. Returns 0, or -1
 * if in is not such a record (wrong length, version, or values out of range). */
int ack_changelog_decode(const void *in, size_t len, ack_event *ev);

#endif
