/* fetchwake.h - waking librdkafka's fetchers from a thread of their own.
 *
 * librdkafka before 2.2 stops fetching while the queue the application polls
 * is full (queued.max.messages.kbytes, all partitions together) and decides
 * again only when the partition's broker thread next wakes: with no request
 * or response to serve, up to a second later. A consumer that empties its
 * queue sooner waits (2.2's fetch.queue.backoff.ms is the fix; Debian ships
 * 2.0.2). Any request to that broker wakes its thread, so a poke asks one
 * partition's leader for its latest offset. The request is synchronous and can
 * wait behind a fetch the broker holds open (fetch.wait.max.ms), hence the
 * thread: the consumer loop never waits for it. */
#ifndef GK_FETCHWAKE_H
#define GK_FETCHWAKE_H
#include <librdkafka/rdkafka.h>
#include <stdint.h>

typedef struct fetchwake fetchwake;

/* Starts the thread for consumer rk (which must outlive fetchwake_stop).
 * Returns NULL when it cannot (logged): the consumer then only fetches more
 * slowly. */
fetchwake *fetchwake_start(rd_kafka_t *rk);

/* Asks for an offset query on topic/partition, unless one is still being
 * made (then this poke is dropped: the broker thread is being woken anyway).
 * Never blocks on the cluster. w may be NULL. */
void fetchwake_poke(fetchwake *w, const char *topic, int32_t partition);

/* Stops and joins the thread, within FETCHWAKE_TIMEOUT_MS, and frees w
 * (NULL is fine). */
void fetchwake_stop(fetchwake *w);

#define FETCHWAKE_TIMEOUT_MS 1000 /* one query at most; bounds fetchwake_stop */

#endif
