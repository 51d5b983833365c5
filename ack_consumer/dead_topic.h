/* dead_topic.h - reading the scalable mode's dead-letter topic back
 * (--dump-dead-letters --mode scalable): the dead letters as the single
 * mode's cache hands them out (store_lmdb.h), so that one command and one
 * output serve both modes. The records are written by sender.c
 * (ack_sender_txn_dead_letter), whose header names these reads rely on. */
#ifndef GK_ACK_DEAD_TOPIC_H
#define GK_ACK_DEAD_TOPIC_H
#include "ack_consumer/store_lmdb.h"
#include "common/cli.h"

/* Reads every committed dead letter (read_committed) of topic on bootstrap
 * (-X settings in kafka) from the beginning to each partition's current end
 * and calls fn for each, in each partition's order. A message of a source
 * partition at an offset not past the last one handed out for that source
 * partition is a copy (a partition re-read after a move on a broker that did
 * not keep the group's offsets) and is skipped: each dead letter comes out
 * once, in memory bounded by the source partitions. A record without the
 * gk-dl-* headers is not a dead letter of ours: a warning names it, and it
 * is skipped. Sets *n to the number handed out and *copies to the number
 * skipped. Returns 0, or an exit code (logged): GK_EXIT_NOINPUT when the
 * topic does not exist, GK_EXIT_UNAVAILABLE when the cluster does not answer
 * within timeout_s (0: 60 s), KAFKA_WAIT_STOPPED on a signal. */
int ack_dead_topic_read(const char *bootstrap, const cli_kv_list *kafka, const char *topic,
                        long timeout_s, ack_dead_letter_fn fn, void *ctx, long *n, long *copies);

#endif
