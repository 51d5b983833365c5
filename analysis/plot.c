/* plot.c - gnuplot charts of message times and ack delays (see plot.h). */
#include "analysis/plot.h"

#include "analysis/report.h"
#include "analysis/stats.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
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

/* The earliest time of one event's messages. */
static int64_t plot_event_first(const join_event *e) {
    int64_t t = JOIN_NO_TIME;
    for (int s = 0; s < JOIN_SLOTS; s++)
        if (e->seen[s] && (t == JOIN_NO_TIME || e->t_us[s] < t)) t = e->t_us[s];
    return t;
}

/* A time axis in the unit that suits its span: a run whose events all came
 * within a second or two is drawn in ms (0.00125 s reads badly). */
typedef struct {
    double div;       /* microseconds per unit */
    const char *name; /* "ms" or "s" */
} plot_unit;

static plot_unit plot_time_unit(const join_event *ev, size_t n, int64_t t0) {
    int64_t last = t0;
    for (size_t i = 0; i < n; i++)
        for (int s = 0; s < JOIN_SLOTS; s++)
            if (ev[i].seen[s] && ev[i].t_us[s] > last) last = ev[i].t_us[s];
    return last - t0 < 2000000 ? (plot_unit){1e3, "ms"} : (plot_unit){1e6, "s"};
}

/* Where a value axis of sorted[0..m) ends: a little beyond the largest value,
 * or, when the largest lies far beyond p99.9, a little beyond p99.9 - one
 * outlier must not squeeze everything else into a corner. Sets *cut when it
 * is the latter. The margin keeps a line at the largest value (p99 often is
 * it) off the frame. */
static double plot_axis_end(const double *sorted, size_t m, int *cut) {
    double p999 = stats_percentile_sorted(sorted, m, 99.9), hi = sorted[m - 1];
    *cut = hi > 1.1 * p999 && p999 > 0;
    double end = *cut ? 1.1 * p999 : 1.05 * hi;
    return end > 0 ? end : 1.0;
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

/* A time axis from lo to hi with a margin of 1% either side, so that no
 * point sits on the frame (gnuplot's own rounding to ticks wastes space). */
static void plot_xrange(FILE *f, double lo, double hi) {
    double pad = hi > lo ? (hi - lo) / 100.0 : 1.0;
    fprintf(f, "set xrange [%.6f:%.6f]\n", lo - pad, hi + pad);
}

/* timestamps.png: for every step-th event, when each of its messages came
 * relative to its first one (ms), against when the event began. The
 * milliseconds between an event's messages and its ack are what it shows;
 * times since the start of the run would be one diagonal line. */
static void plot_timestamps(FILE *f, const char *dir, const join_event *ev, size_t n,
                            const char *const *names, int64_t t0, plot_unit u) {
    size_t step = n > PLOT_MAX_POINTS ? (n + PLOT_MAX_POINTS - 1) / PLOT_MAX_POINTS : 1;
    fprintf(f, "set output '%s/timestamps.png'\n", dir);
    fprintf(f, "set xlabel 'when the event began: time since the first message (%s)'\n"
               "set ylabel 'ms since the event''s first message'\n"
               "set key outside right top vertical Left reverse\nset rmargin at screen 0.86\n",
            u.name);
    if (n == 0) {
        fprintf(f, "set title 'Each event''s messages, relative to its first message'\n");
        plot_empty(f, "no events");
        return;
    }
    /* The offsets' axis ends past their p99.9, unless the largest is close. */
    size_t cap = 0, m = 0;
    for (size_t i = 0; i < n; i += step) cap += JOIN_SLOTS;
    double *off = malloc((cap ? cap : 1) * sizeof *off);
    for (size_t i = 0; off && i < n; i += step) {
        int64_t first = plot_event_first(&ev[i]);
        for (int s = 0; s < JOIN_SLOTS; s++)
            if (ev[i].seen[s]) off[m++] = (double)(ev[i].t_us[s] - first) / 1000.0;
    }
    int cut = 0;
    double top = 1.0;
    size_t above = 0;
    if (off && m) {
        stats_sort(off, m);
        top = plot_axis_end(off, m, &cut);
        for (size_t k = 0; k < m; k++) above += off[k] > top;
    }
    free(off);
    fprintf(f, "set title \"Each event's messages, relative to its first message");
    if (step > 1) fprintf(f, " (every %zu. event)", step);
    if (cut) fprintf(f, "\\naxis cut at 1.1 x p99.9 = %.3f ms: %zu later messages drawn at the top", top, above);
    /* A little room below 0: every event's first message is drawn there. */
    fprintf(f, "\"\nset yrange [%.6f:%.6f]\n", -top / 50.0, top);
    fprintf(f, "$TIMES << EOD\n");
    double xmax = 0;
    for (size_t i = 0; i < n; i += step) {
        int64_t first = plot_event_first(&ev[i]);
        double x = (double)(first - t0) / u.div;
        if (x > xmax) xmax = x;
        fprintf(f, "%.6f", x);
        for (int s = 0; s < JOIN_SLOTS; s++) {
            if (!ev[i].seen[s]) { /* t_us is JOIN_NO_TIME: nothing to subtract */
                fputs(" NaN", f);
                continue;
            }
            double o = (double)(ev[i].t_us[s] - first) / 1000.0;
            fprintf(f, " %.3f", o > top ? top : o);
        }
        fputc('\n', f);
    }
    fprintf(f, "EOD\n");
    plot_xrange(f, 0, xmax);
    fprintf(f, "plot ");
    static const char *const style[JOIN_SLOTS] = {"pt 7 ps 0.5", "pt 5 ps 0.4", "pt 9 ps 0.5",
                                                  "pt 6 ps 0.7"};
    for (int s = 0; s < JOIN_SLOTS; s++)
        fprintf(f, "%s$TIMES using 1:%d with points %s title '%s'", s ? ", " : "", s + 2, style[s],
                names[s]);
    fprintf(f, "\nset autoscale\nunset rmargin\n");
}

/* The CDF panel: at most PLOT_CDF_POINTS steps of the sorted delays, with
 * p50 and p99 as dashed vertical lines named in the key below the chart. */
static void plot_cdf(FILE *f, const double *sorted, size_t m, double end, int cut) {
    fprintf(f, "set xlabel 'ack delay (ms)'\nset ylabel 'fraction of events with delay <= x'\n");
    if (m == 0) {
        fprintf(f, "set title 'CDF of ack delay'\n");
        plot_empty(f, "no complete acked events");
        return;
    }
    double p50 = stats_percentile_sorted(sorted, m, 50.0);
    double p99 = stats_percentile_sorted(sorted, m, 99.0);
    size_t beyond = 0;
    for (size_t k = m; k > 0 && sorted[k - 1] > end; k--) beyond++;
    /* A tail that reaches far beyond the median even at p99.9 would leave
     * the bulk in a sliver at the left: then the axis is logarithmic. */
    int logx = sorted[0] > 0 && p50 < end / 8;
    char cutnote[160] = "";
    if (cut)
        snprintf(cutnote, sizeof cutnote, "\\naxis cut at 1.1 x p99.9 = %.3f ms: %zu delay%s beyond it, up to %.3f ms",
                 end, beyond, beyond == 1 ? "" : "s", sorted[m - 1]);
    fprintf(f, "set title \"CDF of ack delay (n = %zu%s)%s\"\n", m, logx ? ", log scale" : "", cutnote);
    if (logx) {
        /* Tics at 1, 2, 3 and 5 of each decade: gnuplot's own are one a decade. */
        double lo = sorted[0] / 1.25;
        fprintf(f, "set logscale x\nset xrange [%.6f:%.6f]\nset xtics (", lo, end);
        int first = 1;
        for (double dec = pow(10, floor(log10(lo))); dec <= end; dec *= 10)
            for (int k = 0; k < 4; k++) {
                static const double step[] = {1, 2, 3, 5};
                double t = dec * step[k];
                if (t < lo || t > end) continue;
                fprintf(f, "%s%g", first ? "" : ", ", t);
                first = 0;
            }
        fprintf(f, ")\n");
    } else
        fprintf(f, "set xrange [0:%.6f]\n", end);
    fprintf(f, "set yrange [0:1.05]\nset key outside right top vertical Left reverse\n");
    fprintf(f, "set arrow 1 from %.3f, graph 0 to %.3f, graph 1 nohead dt 2 lw 2 lc rgb '#1a9850'\n", p50, p50);
    fprintf(f, "set arrow 2 from %.3f, graph 0 to %.3f, graph 1 nohead dt 2 lw 2 lc rgb '#d73027'\n", p99, p99);
    size_t pts = m < PLOT_CDF_POINTS ? m : PLOT_CDF_POINTS;
    fprintf(f, "$CDF << EOD\n0 0\n");
    for (size_t k = 1; k <= pts; k++) {
        size_t idx = (k * m + pts - 1) / pts - 1; /* ceil(k*m/pts) - 1 */
        fprintf(f, "%.3f %.6f\n", sorted[idx], (double)(idx + 1) / (double)m);
    }
    fprintf(f, "EOD\nplot $CDF using 1:2 with steps lw 2 lc rgb '#5e3c99' title 'ack delay', "
               "NaN with lines dt 2 lw 2 lc rgb '#1a9850' title 'p50 = %.3f ms', "
               "NaN with lines dt 2 lw 2 lc rgb '#d73027' title 'p99 = %.3f ms'\n",
            p50, p99);
    fprintf(f, "unset arrow 1\nunset arrow 2\nunset logscale x\nset xtics autofreq\nset autoscale\n");
}

/* One point of the delay over time: time, the delay when within the axis,
 * the axis end when beyond it (drawn as a triangle at the top). */
static void plot_dt_point(FILE *f, double x, double ms, double end) {
    if (ms <= end) fprintf(f, "%.6f %.3f NaN\n", x, ms);
    else fprintf(f, "%.6f NaN %.6f\n", x, end);
}

/* The delay over time panel: the largest delay of each group of k events;
 * delays beyond the CDF's axis end are drawn at the top edge, as triangles. */
static void plot_delay_time(FILE *f, const join_event *ev, size_t n, size_t m, int64_t t0,
                            plot_unit u, double end, int cut) {
    size_t k = m > PLOT_MAX_POINTS ? (m + PLOT_MAX_POINTS - 1) / PLOT_MAX_POINTS : 1;
    char group[64] = "";
    if (k > 1) snprintf(group, sizeof group, " (largest of each %zu events)", k);
    if (cut)
        fprintf(f, "set title \"Ack delay over time%s\\ny axis cut at %.3f ms: delays beyond it "
                   "drawn at the top, as triangles\"\n", group, end);
    else
        fprintf(f, "set title 'Ack delay over time%s'\n", group);
    fprintf(f, "set xlabel 'time since the first message (%s)'\nset ylabel 'ack delay (ms)'\n", u.name);
    if (m == 0) {
        plot_empty(f, "no complete acked events");
        return;
    }
    /* Columns: time, the delay when within the axis, the axis end when beyond. */
    fprintf(f, "$DT << EOD\n");
    size_t in_group = 0;
    int64_t best = 0, best_at = 0, last_at = t0;
    for (size_t i = 0; i < n; i++) {
        int64_t d;
        if (join_event_delay_us(&ev[i], &d) != 0) continue;
        if (in_group == 0 || d > best) {
            best = d;
            best_at = join_event_latest(&ev[i], NULL);
            if (best_at > last_at) last_at = best_at;
        }
        if (++in_group < k) continue;
        in_group = 0;
        plot_dt_point(f, (double)(best_at - t0) / u.div, (double)best / 1000.0, end);
    }
    if (in_group) plot_dt_point(f, (double)(best_at - t0) / u.div, (double)best / 1000.0, end);
    fprintf(f, "EOD\nset yrange [0:%.6f]\n", end);
    plot_xrange(f, 0, (double)(last_at - t0) / u.div);
    fprintf(f, "plot $DT using 1:2 with points pt 7 ps 0.4 lc rgb '#5e3c99' notitle, "
               "$DT using 1:3 with points pt 9 ps 0.9 lc rgb '#d73027' notitle\n"
               "set autoscale\n");
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
    int cut = 0;
    double end = m ? plot_axis_end(delays, m, &cut) : 1.0;
    int64_t t0 = plot_origin(ev, n);
    plot_unit u = plot_time_unit(ev, n, t0);
    plot_terminal(f);
    plot_timestamps(f, dir, ev, n, names, t0, u);
    /* Both panels share their left and right margins, so that their axes
     * line up; the CDF's key sits in the right one, off the data. */
    fprintf(f, "unset output\nset output '%s/delay.png'\nset multiplot layout 2,1\n"
               "set lmargin at screen 0.08\nset rmargin at screen 0.74\n", dir);
    plot_cdf(f, delays, m, end, cut);
    plot_delay_time(f, ev, n, m, t0, u, end, cut);
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
