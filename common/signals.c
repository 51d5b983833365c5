/* signals.c - SIGINT/SIGTERM handling (see signals.h). */
#include "common/signals.h"

#include <string.h>
#include <unistd.h>

volatile sig_atomic_t signals_run = 1;
static volatile sig_atomic_t signals_first = 0;

static void signals_handler(int sig) {
    if (!signals_run) {
        static const char msg[] = "second signal: exiting at once (state on disk is consistent)\n";
        (void)!write(STDERR_FILENO, msg, sizeof msg - 1);
        _exit(130);
    }
    signals_first = sig;
    signals_run = 0;
}

void signals_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = signals_handler;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int signals_received(void) { return signals_first; }
