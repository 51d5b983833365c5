/* ready.h - acks decided and waiting to be produced. The rules append an
 * event the moment it becomes PENDING (rules.h), start-up appends the ones a
 * crash left pending (store_lmdb.h), and the sender produces one ack per
 * item (sender.h). */
#ifndef GK_ACK_READY_H
#define GK_ACK_READY_H
#include "ack_consumer/event.h"

#include <stddef.h>
#include <stdint.h>

/* An event whose ack is to be produced, with what the ack reports. */
typedef struct {
    uint64_t event_id;
    ack_event ev;
} ack_ready;

/* A growable list of ready acks (owned by the caller; free with
 * ack_ready_list_free). */
typedef struct {
    ack_ready *items;
    size_t n, cap;
} ack_ready_list;

/* Appends one ready ack; returns 0 or -1 on out of memory. */
int ack_ready_list_push(ack_ready_list *l, uint64_t event_id, const ack_event *ev);

/* Frees the list's items and empties it. */
void ack_ready_list_free(ack_ready_list *l);

#endif
