/* plot.c - gnuplot charts of message times and ack delays (see plot.h). */
#include "analysis/plot.h"

#include "analysis/report.h"
#include "analysis/stats.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* The earliest time of any message: the zero of both time axes. */
static int64_t plot_origin(const join_event *ev, size_t n) {
    int64_t t0 = JOIN_NO_TIME;
    for (size_t i = 0; i < n; i++)
        for (int s = 0; s < JOIN_SLOTS; s++)
            if (ev[i].seen[s] && (t0 == JOIN_NO_TIME || ev[i].t_us[s] < t0)) t0 = ev[i].t_us[s];
    return t0;
}

/* Picks the PNG terminal: pngcairo (antialiased) if this gnuplot has it. */
static void plot_terminal(FILE *f) {
    fprintf(f,
            "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
            "  set terminal pngcairo size %d,%d noenhanced\n"
            "} else {\n"
            "  set terminal png size %d,%d noenhanced\n"
            "}\n"
            "set grid\n",
            PLOT_WIDTH, PLOT_HEIGHT, PLOT_WIDTH, PLOT_HEIGHT);
}

/* A panel for an empty data set: axes, a note, and an off-scale function so
 * that gnuplot has something valid to plot. */
static void plot_empty(FILE *f, const char *what) {
    fprintf(f,
            "set xrange [0:1]\nset yrange [0:1]\n"
            "set label 1 '%s' at graph 0.5, graph 0.5 center\n"
            "plot 2 notitle\nunset label 1\nset autoscale\n",
            what);
}

/* timestamps.png: one point series per slot, every step-th event. */
static void plot_timestamps(FILE *f, const char *dir, const join_event *ev, size_t n,
                            const char *const *names, int64_t t0) {
    size_t step = n > PLOT_MAX_POINTS ? (n + PLOT_MAX_POINTS - 1) / PLOT_MAX_POINTS : 1;
    fprintf(f, "set output '%s/timestamps.png'\n", dir);
    fprintf(f, "set title 'Message times per event (ms since the earliest message)");
    if (step > 1) fprintf(f, ", every %zu. event", step);
    fprintf(f, "'\n");
    fprintf(f, "set xlabel 'event index (in event id order)'\nset ylabel 'time since first message (ms)'\n"
               "set key top left\nset autoscale xfix\nset format x '%%g'\n");
    if (n == 0) {
        plot_empty(f, "no events");
        return;
    }
    fprintf(f, "$TIMES << EOD\n");
    for (size_t i = 0; i < n; i += step) {
        fprintf(f, "%zu", i);
        for (int s = 0; s < JOIN_SLOTS; s++) {
            if (ev[i].seen[s]) fprintf(f, " %.3f", (double)(ev[i].t_us[s] - t0) / 1000.0);
            else fputs(" NaN", f);
        }
        fputc('\n', f);
    }
    fprintf(f, "EOD\nplot ");
    static const char *const style[JOIN_SLOTS] = {"pt 7 ps 0.5", "pt 5 ps 0.4", "pt 9 ps 0.5",
                                                  "pt 6 ps 0.8"};
    for (int s = 0; s < JOIN_SLOTS; s++)
        fprintf(f, "%s$TIMES using 1:%d with points %s title '%s'", s ? ", " : "", s + 2, style[s],
                names[s]);
    fputc('\n', f);
}

/* The CDF panel: at most PLOT_CDF_POINTS steps of the sorted delays, with
 * p50 and p99 as dashed vertical lines named in the key. */
static void plot_cdf(FILE *f, const double *sorted, size_t m) {
    fprintf(f, "set xlabel 'ack delay (ms)'\nset ylabel 'fraction of events with delay <= x'\n");
    if (m == 0) {
        fprintf(f, "set title 'CDF of ack delay'\n");
        plot_empty(f, "no complete acked events");
        return;
    }
    double p50 = stats_percentile_sorted(sorted, m, 50.0);
    double p99 = stats_percentile_sorted(sorted, m, 99.0);
    double p999 = stats_percentile_sorted(sorted, m, 99.9);
    double lo = sorted[0], hi = sorted[m - 1];
    /* A long tail squeezes a linear axis: use log when every delay is
     * positive, else cut the axis a little beyond p99.9 and say so. */
    if (lo > 0.0 && hi > 20.0 * lo) {
        fprintf(f, "set title 'CDF of ack delay (n = %zu, log scale)'\nset logscale x\n", m);
    } else if (hi - lo > 5.0 * (p999 - lo) && p999 > lo) {
        fprintf(f, "set title 'CDF of ack delay (n = %zu; axis cut at 1.2 x p99.9, max = %.3f ms)'\n",
                m, hi);
        fprintf(f, "set xrange [%.3f:%.3f]\n", lo, lo + 1.2 * (p999 - lo));
    } else {
        fprintf(f, "set title 'CDF of ack delay (n = %zu)'\n", m);
    }
    fprintf(f, "set yrange [0:1.05]\nset key bottom right\n");
    fprintf(f, "set arrow 1 from %.3f, graph 0 to %.3f, graph 1 nohead dt 2 lw 2 lc rgb '#1a9850'\n", p50, p50);
    fprintf(f, "set arrow 2 from %.3f, graph 0 to %.3f, graph 1 nohead dt 2 lw 2 lc rgb '#d73027'\n", p99, p99);
    size_t pts = m < PLOT_CDF_POINTS ? m : PLOT_CDF_POINTS;
    fprintf(f, "$CDF << EOD\n");
    for (size_t k = 1; k <= pts; k++) {
        size_t idx = (k * m + pts - 1) / pts - 1; /* ceil(k*m/pts) - 1 */
        fprintf(f, "%.3f %.6f\n", sorted[idx], (double)(idx + 1) / (double)m);
    }
    fprintf(f, "EOD\nplot $CDF using 1:2 with steps lw 2 lc rgb '#5e3c99' title 'ack delay', "
               "NaN with lines dt 2 lw 2 lc rgb '#1a9850' title 'p50 = %.3f ms', "
               "NaN with lines dt 2 lw 2 lc rgb '#d73027' title 'p99 = %.3f ms'\n",
            p50, p99);
    fprintf(f, "unset arrow 1\nunset arrow 2\nunset logscale x\nset autoscale\n");
}

/* The delay over time panel: the largest delay of each group of k events. */
static void plot_delay_time(FILE *f, const join_event *ev, size_t n, size_t m, int64_t t0) {
    size_t k = m > PLOT_MAX_POINTS ? (m + PLOT_MAX_POINTS - 1) / PLOT_MAX_POINTS : 1;
    if (k > 1) fprintf(f, "set title 'Ack delay over time (largest of each %zu events)'\n", k);
    else fprintf(f, "set title 'Ack delay over time'\n");
    fprintf(f, "set xlabel 'time since first message (s)'\nset ylabel 'ack delay (ms)'\n");
    if (m == 0) {
        plot_empty(f, "no complete acked events");
        return;
    }
    fprintf(f, "$DT << EOD\n");
    size_t in_group = 0;
    int64_t best = 0, best_at = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t d;
        if (join_event_delay_us(&ev[i], &d) != 0) continue;
        if (in_group == 0 || d > best) {
            best = d;
            best_at = join_event_latest(&ev[i], NULL);
        }
        if (++in_group == k) {
            fprintf(f, "%.6f %.3f\n", (double)(best_at - t0) / 1e6, (double)best / 1000.0);
            in_group = 0;
        }
    }
    if (in_group) fprintf(f, "%.6f %.3f\n", (double)(best_at - t0) / 1e6, (double)best / 1000.0);
    fprintf(f, "EOD\nset autoscale xfix\nset format x '%%g'\n"
               "plot $DT using 1:2 with points pt 7 ps 0.4 lc rgb '#5e3c99' notitle\n"
               "set format x\n");
}

/* Writes the whole script (both PNGs) to f. Returns 0, or -1 out of memory. */
static int plot_script(FILE *f, const char *dir, const join_event *ev, size_t n,
                       const char *const *names) {
    size_t m = 0;
    double *delays = malloc((n ? n : 1) * sizeof *delays);
    if (!delays) return -1;
    for (size_t i = 0; i < n; i++) {
        int64_t d;
        if (join_event_delay_us(&ev[i], &d) == 0) delays[m++] = (double)d / 1000.0;
    }
    stats_sort(delays, m);
    int64_t t0 = plot_origin(ev, n);
    plot_terminal(f);
    plot_timestamps(f, dir, ev, n, names, t0);
    fprintf(f, "unset output\nset format x\nset output '%s/delay.png'\nset multiplot layout 2,1\n", dir);
    plot_cdf(f, delays, m);
    plot_delay_time(f, ev, n, m, t0);
    fprintf(f, "unset multiplot\nunset output\n");
    free(delays);
    return 0;
}

/* Starts gnuplot with its stdin on a pipe; returns the pid and sets *to, or -1. */
static pid_t plot_spawn(const char *gnuplot, FILE **to, char *err, size_t errlen) {
    int p[2];
    if (pipe(p) != 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return -1;
    }
    fcntl(p[0], F_SETFD, FD_CLOEXEC);
    fcntl(p[1], F_SETFD, FD_CLOEXEC);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[0], STDIN_FILENO);
    char *argv[] = {(char *)gnuplot, NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, gnuplot, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(p[0]);
    if (rc != 0) {
        close(p[1]);
        snprintf(err, errlen, "cannot run %s: %s (install gnuplot-nox, or pass --plots \"\" to skip plots)",
                 gnuplot, strerror(rc));
        return -1;
    }
    *to = fdopen(p[1], "w");
    if (!*to) {
        close(p[1]);
        waitpid(pid, NULL, 0);
        snprintf(err, errlen, "fdopen: %s", strerror(errno));
        return -1;
    }
    return pid;
}

/* Waits for the child; returns its exit status, or -1 if it died of a signal. */
static int plot_wait(pid_t pid) {
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Checks that dir/name exists and is not empty. */
static int plot_check_file(const char *dir, const char *name, char *err, size_t errlen) {
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (stat(path, &st) != 0 || st.st_size == 0) {
        snprintf(err, errlen, "gnuplot did not write %s", path);
        return -1;
    }
    return 0;
}

int plot_write(const char *dir, const join_event *ev, size_t n, const char *const *names,
               const char *gnuplot, char *err, size_t errlen) {
    const char *defaults[JOIN_SLOTS];
    if (!names) {
        join_default_names(defaults);
        names = defaults;
    }
    if (!gnuplot) gnuplot = "gnuplot";
    /* gnuplot strings in single quotes have no escapes. */
    if (strpbrk(dir, "'\n")) {
        snprintf(err, errlen, "plot directory '%s' must not contain quotes or newlines", dir);
        return -1;
    }
    if (report_mkdirs(dir) != 0) {
        snprintf(err, errlen, "%s: cannot create directory: %s", dir, strerror(errno));
        return -1;
    }
    FILE *to = NULL;
    pid_t pid = plot_spawn(gnuplot, &to, err, errlen);
    if (pid < 0) return -1;
    /* If gnuplot dies early, writes must fail with EPIPE, not kill us. */
    struct sigaction ign, old;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ign, &old);
    int bad = plot_script(to, dir, ev, n, names);
    bad |= fclose(to) != 0 ? -1 : 0;
    sigaction(SIGPIPE, &old, NULL);
    int status = plot_wait(pid);
    if (status != 0) {
        snprintf(err, errlen, "%s failed (%s %d); its messages are above", gnuplot,
                 status < 0 ? "killed, status" : "exit status", status);
        return -1;
    }
    if (bad) {
        snprintf(err, errlen, "writing the script to %s failed", gnuplot);
        return -1;
    }
    if (plot_check_file(dir, "timestamps.png", err, errlen) != 0) return -1;
    return plot_check_file(dir, "delay.png", err, errlen);
}
