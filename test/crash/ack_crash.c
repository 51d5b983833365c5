/* ack_crash.c - the crash points of the test build ack_consumer_crash (see
 * ack_consumer/main.c, ACKC_CRASH_POINT).
 *
 * GK_ACK_CONSUMER_CRASH_KILL=POINT:N makes the process SIGKILL itself - a crash - the
 * first time POINT is passed with at least N acks: "decided" (committed as
 * pending, none produced), "produced" (handed to librdkafka, delivery
 * unknown), "delivered" (reported delivered, not yet recorded).
 * test_ack_restart.sh uses it to hit each window for sure. */
#include "common/log.h"

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void ack_crash_point(const char *point, uint64_t acks);

void ack_crash_point(const char *point, uint64_t acks) {
    static const char *spec;
    static bool init;
    if (!init) {
        spec = getenv("GK_ACK_CONSUMER_CRASH_KILL");
        init = true;
    }
    size_t len = strlen(point);
    if (!spec || strncmp(spec, point, len) != 0 || spec[len] != ':') return;
    if (acks < strtoull(spec + len + 1, NULL, 10)) return;
    log_warn("GK_ACK_CONSUMER_CRASH_KILL=%s: crashing on purpose", spec);
    raise(SIGKILL);
}
