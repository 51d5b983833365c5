/* changelog.c - the scalable mode's changelog record of an event (see
 * changelog.h). */
#include "ack_consumer/changelog.h"

#include <stdbool.h>
#include <string.h>

static void cl_put64(unsigned char *p, int64_t v) {
    uint64_t u = (uint64_t)v;
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(u >> (8 * i));
}

static int64_t cl_get64(const unsigned char *p) {
    uint64_t u = 0;
    for (int i = 0; i < 8; i++) u |= (uint64_t)p[i] << (8 * i);
    return (int64_t)u;
}

size_t ack_changelog_encode(const ack_event *ev, unsigned char *out) {
    out[0] = ev->version;
    out[1] = ev->seen;
    out[2] = ev->state;
    if (ev->state == ACK_ACKED) { /* its topics are never read again (store_lmdb.h) */
        for (int i = 0; i < 4; i++) out[3 + i] = (unsigned char)(ev->acked_s >> (8 * i));
        return ACK_CHANGELOG_ACKED_LEN;
    }
    unsigned char *p = out + 3;
    for (int i = 0; i < ACK_N_TOPICS; i++, p += 32) {
        cl_put64(p, ev->topics[i].ts_ms);
        cl_put64(p + 8, ev->topics[i].produced_us);
        cl_put64(p + 16, ev->topics[i].offset);
        cl_put64(p + 24, ev->topics[i].partition);
    }
    return (size_t)(p - out);
}

int ack_changelog_decode(const void *in, size_t len, ack_event *ev) {
    const unsigned char *p = in;
    bool acked = len == 3 || len == ACK_CHANGELOG_ACKED_LEN;
    if (!p || (!acked && len != ACK_CHANGELOG_RECORD_MAX)) return -1;
    memset(ev, 0, sizeof *ev);
    ev->version = p[0];
    ev->seen = p[1];
    ev->state = p[2];
    if (ev->version != ACK_EVENT_VERSION || ev->seen > ACK_SEEN_ALL || ev->state > ACK_ACKED ||
        acked != (ev->state == ACK_ACKED))
        return -1;
    for (int i = 0; i < ACK_N_TOPICS; i++) ev->topics[i] = (ack_seen){-1, -1, -1, -1, 0};
    if (len == ACK_CHANGELOG_ACKED_LEN)
        for (int i = 0; i < 4; i++) ev->acked_s |= (uint32_t)p[3 + i] << (8 * i);
    if (acked) return 0;
    p += 3;
    for (int i = 0; i < ACK_N_TOPICS; i++, p += 32)
        ev->topics[i] = (ack_seen){cl_get64(p), cl_get64(p + 8), cl_get64(p + 16),
                                   (int32_t)cl_get64(p + 24), 0};
    return 0;
}
