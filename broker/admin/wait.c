/* wait.c - "kafka_admin wait": until the cluster answers a metadata request
 * that lists a broker. A KRaft broker answers only once it has started, and
 * lists itself only once its controller has registered it, so this is the
 * moment topics can be created - no log reading, no sleeping. */
#include "broker/admin/admin.h"

#include "common/exitcodes.h"
#include "common/log.h"
#include "common/timeutil.h"

#include <stdio.h>

int admin_wait(admin_client *a) {
    int64_t start = time_mono_us();
    const struct rd_kafka_metadata *md = NULL;
    int rc = admin_metadata(a, NULL, &md);
    if (rc) return rc;
    int brokers = md->broker_cnt, controller = md->orig_broker_id;
    rd_kafka_metadata_destroy(md);
    char *id = rd_kafka_clusterid(a->rk, admin_left_ms(a));
    printf("cluster_id=%s brokers=%d answered_by=%d\n", id ? id : "?", brokers, controller);
    fflush(stdout);
    log_info("%s answered after %.1f s", a->bootstrap, (double)(time_mono_us() - start) / 1e6);
    if (id) rd_kafka_mem_free(a->rk, id);
    return GK_EXIT_OK;
}
