/* fetchwake.c - waking librdkafka's fetchers (see fetchwake.h). */
#include "kafka/fetchwake.h"

#include "common/log.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct fetchwake {
    rd_kafka_t *rk;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop, pending; /* under mu */
    char topic[256];    /* the partition asked next, under mu */
    int32_t partition;
};

/* Makes each poked query, until stopped. */
static void *fetchwake_main(void *arg) {
    fetchwake *w = arg;
    char topic[sizeof w->topic];
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->pending && !w->stop) pthread_cond_wait(&w->cv, &w->mu);
        if (w->stop) break;
        memcpy(topic, w->topic, sizeof topic);
        int32_t partition = w->partition;
        pthread_mutex_unlock(&w->mu);
        /* The latest offset (the answer is not used: the request is the
         * point). rd_kafka_offsets_for_times, because it returns at its
         * timeout even when the broker never answers (2.0.2's
         * rd_kafka_query_watermark_offsets waits for the request's own
         * timeout, a minute), which bounds fetchwake_stop. */
        rd_kafka_topic_partition_list_t *one = rd_kafka_topic_partition_list_new(1);
        if (one) {
            rd_kafka_topic_partition_list_add(one, topic, partition)->offset = RD_KAFKA_OFFSET_END;
            (void)rd_kafka_offsets_for_times(w->rk, one, FETCHWAKE_TIMEOUT_MS);
            rd_kafka_topic_partition_list_destroy(one);
        }
        pthread_mutex_lock(&w->mu);
        w->pending = false;
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

fetchwake *fetchwake_start(rd_kafka_t *rk) {
    fetchwake *w = calloc(1, sizeof *w);
    if (!w) {
        log_warn("out of memory for the fetch waker: fetching may pause up to a second at a time");
        return NULL;
    }
    w->rk = rk;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    int e = pthread_create(&w->thread, NULL, fetchwake_main, w);
    if (e) {
        log_warn("cannot start the fetch waker (%s): fetching may pause up to a second at a time",
                 strerror(e));
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        free(w);
        return NULL;
    }
    return w;
}

void fetchwake_poke(fetchwake *w, const char *topic, int32_t partition) {
    if (!w) return;
    pthread_mutex_lock(&w->mu);
    if (!w->pending && strlen(topic) < sizeof w->topic) {
        strcpy(w->topic, topic);
        w->partition = partition;
        w->pending = true;
        pthread_cond_signal(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
}

void fetchwake_stop(fetchwake *w) {
    if (!w) return;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}
