/* timeutil.c - wall, monotonic and CPU clocks (see timeutil.h). */
#include "common/timeutil.h"

#include <time.h>

/* Microseconds on clock clk. */
static int64_t time_us(clockid_t clk) {
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t time_now_us(void) { return time_us(CLOCK_REALTIME); }

int64_t time_mono_us(void) { return time_us(CLOCK_MONOTONIC); }

int64_t time_cpu_us(void) { return time_us(CLOCK_PROCESS_CPUTIME_ID); }
