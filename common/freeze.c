/* freeze.c - a thread that sleeps in short steps and notes when a step ended
 * seconds late: every thread of the process was stopped. See freeze.h. */
#include "common/freeze.h"

#include <pthread.h>
#include <time.h>

#include "common/log.h"
#include "common/timeutil.h"

#define FREEZE_STEP_MS 200 /* the thread's sleep: how soon a wake is noticed */

static pthread_t freeze_thread;
static pthread_mutex_t freeze_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t freeze_cv; /* CLOCK_MONOTONIC; signalled to stop */
static bool freeze_running, freeze_quit;
static int64_t freeze_stopped_us;
static int64_t freeze_thawed_us; /* monotonic; 0: never stopped. Under freeze_mu */

/* Sleeps FREEZE_STEP_MS at a time until told to quit, noting a late wake. */
static void *freeze_main(void *arg) {
    (void)arg;
    pthread_mutex_lock(&freeze_mu);
    while (!freeze_quit) {
        int64_t due_us = time_mono_us() + FREEZE_STEP_MS * 1000LL;
        struct timespec ts = {.tv_sec = (time_t)(due_us / 1000000),
                              .tv_nsec = (long)(due_us % 1000000) * 1000};
        while (!freeze_quit && pthread_cond_timedwait(&freeze_cv, &freeze_mu, &ts) == 0) {
        }
        int64_t late_us = time_mono_us() - due_us;
        if (!freeze_quit && late_us > freeze_stopped_us) {
            freeze_thawed_us = time_mono_us();
            log_warn("this process was stopped for %.1f s (SIGSTOP or a frozen machine)",
                     (double)late_us / 1e6);
        }
    }
    pthread_mutex_unlock(&freeze_mu);
    return NULL;
}

int freeze_watch_start(int64_t stopped_us) {
    pthread_mutex_lock(&freeze_mu);
    int rc = 0;
    if (!freeze_running) {
        pthread_condattr_t attr;
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&freeze_cv, &attr);
        pthread_condattr_destroy(&attr);
        freeze_stopped_us = stopped_us;
        freeze_quit = false;
        if (pthread_create(&freeze_thread, NULL, freeze_main, NULL) == 0) {
            freeze_running = true;
        } else {
            pthread_cond_destroy(&freeze_cv);
            log_warn("cannot start the thread that notices a stopped process: a member "
                     "stopped past its session will rejoin instead of leaving");
            rc = -1;
        }
    }
    pthread_mutex_unlock(&freeze_mu);
    return rc;
}

void freeze_watch_stop(void) {
    pthread_mutex_lock(&freeze_mu);
    bool running = freeze_running;
    freeze_quit = true;
    if (running) pthread_cond_signal(&freeze_cv);
    pthread_mutex_unlock(&freeze_mu);
    if (!running) return;
    pthread_join(freeze_thread, NULL);
    pthread_mutex_lock(&freeze_mu);
    pthread_cond_destroy(&freeze_cv);
    freeze_running = false;
    pthread_mutex_unlock(&freeze_mu);
}

bool freeze_thawed_within(int64_t window_us) {
    pthread_mutex_lock(&freeze_mu);
    int64_t at = freeze_thawed_us;
    pthread_mutex_unlock(&freeze_mu);
    return at && time_mono_us() - at < window_us;
}
