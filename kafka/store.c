/* store.c - the batch bookkeeping every store relies on (see store.h). */
#include "kafka/store.h"

#include <string.h>

/* True if m is of partition p. The loop's views share one topic name per
 * topic, so comparing the pointers usually decides. */
static bool consume_same(const consume_partition *p, const msg_view *m) {
    return p->partition == m->partition && (p->topic == m->topic || strcmp(p->topic, m->topic) == 0);
}

size_t consume_batch_offsets(const msg_view *msgs, size_t n, consume_partition *out) {
    size_t k = 0, cur = 0;
    for (size_t i = 0; i < n; i++) {
        const msg_view *m = &msgs[i];
        /* A fetch delivers runs of one partition: search only on a change. */
        if (k == 0 || !consume_same(&out[cur], m)) {
            for (cur = 0; cur < k && !consume_same(&out[cur], m); cur++) {
            }
            if (cur == k) out[k++] = (consume_partition){m->topic, m->partition, -1};
        }
        out[cur].offset = m->offset + 1;
    }
    return k;
}
