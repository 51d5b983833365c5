/* reconcile.h - finds which pending acks are already in the ack topic.
 *
 * An ack is "pending" from the moment the state decided it until its
 * delivery was confirmed and recorded. After a crash (or a failed delivery)
 * a pending ack may or may not have reached the topic. Sending it again
 * blindly could make a second ack; never sending it would lose one. So the
 * topic itself is read - with a plain consumer (no group, assign only,
 * read_committed) from each partition's scan_from up to its high watermark -
 * and every pending event id found there is confirmed; only the others are
 * sent again. */
#ifndef GK_ACK_RECONCILE_H
#define GK_ACK_RECONCILE_H
#include "ack_consumer/rules.h"
#include "ack_consumer/store_lmdb.h"
#include "common/cli.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *bootstrap;
    const cli_kv_list *overrides;
    const char *topic;    /* the ack topic */
    const char *group_id; /* never joined (assign only), required by librdkafka */
    int timeout_ms;    /* upper bound for the whole scan */
} ack_reconcile_config;

typedef struct {
    ack_confirm *found; /* pending ids found in the topic, with where */
    size_t nfound;
    ack_part_offset *ends; /* every partition's high watermark at the scan */
    size_t nends;
    uint64_t scanned; /* messages read */
} ack_reconcile_result;

/* Scans the ack topic for ids (sorted ascending, n > 0), starting each
 * partition at ack_store_scan_from(st, partition) (or its first offset).
 * Returns 0 (res filled; free with ack_reconcile_result_free), 1 if a signal
 * interrupted it, or an exit code (exitcodes.h) on error or timeout (logged):
 * GK_EXIT_USAGE if librdkafka refused the configuration, GK_EXIT_UNAVAILABLE
 * if the topic could not be read in time. */
int ack_reconcile(const ack_reconcile_config *cfg, ack_store *st, const uint64_t *ids, size_t n,
                  ack_reconcile_result *res);

void ack_reconcile_result_free(ack_reconcile_result *res);

#endif
