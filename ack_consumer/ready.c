/* ready.c - the list of acks to produce (see ready.h). */
#include "ack_consumer/ready.h"

#include "common/grow.h"

#include <stdlib.h>

int ack_ready_list_push(ack_ready_list *l, uint64_t event_id, const ack_event *ev) {
    ack_ready *items = grow_one(l->items, l->n, &l->cap, sizeof *items, 64);
    if (!items) return -1;
    l->items = items;
    l->items[l->n].event_id = event_id;
    l->items[l->n].ev = *ev;
    l->n++;
    return 0;
}

void ack_ready_list_free(ack_ready_list *l) {
    free(l->items);
    l->items = NULL;
    l->n = l->cap = 0;
}
