/* plot.h - the two PNG charts of an ack delay run, drawn by gnuplot.
 *
 * timestamps.png: for every event, when each of its topic1, topic2, topic3
 *   and ack messages came relative to the event's own first message (ms),
 *   against when the event began - the milliseconds between an event's
 *   messages and its ack are what it shows (times since the start of the run
 *   would be one diagonal line).
 * delay.png: two panels - the CDF of the ack delays with p50 and p99 marked,
 *   and the delay of each event over time.
 *
 * Every axis is readable whatever the data: a value axis ends a little past
 * the largest value (so a p99 that is the largest stays off the frame), or,
 * when one outlier lies far beyond, at 1.1 x p99.9, and the chart says so
 * and how many are beyond (drawn at the top edge where they are points); a
 * CDF whose median still sits in the left eighth is drawn on a log axis; a
 * run that lasted under two seconds is timed in ms, not in fractions of a
 * second; the keys sit outside the data, right of the charts.
 *
 * Both are 1000x600 pixels, with the pngcairo terminal when gnuplot has it and
 * the libgd png terminal otherwise. gnuplot runs as a child process reading
 * the script (data inline as datablocks) on its stdin, so nothing but the
 * PNGs is left behind. Above PLOT_MAX_POINTS events the series are thinned:
 * every k-th event for the times, the largest delay of each group of k for
 * the delay over time (so spikes stay visible); the titles say so. */
#ifndef GK_PLOT_H
#define GK_PLOT_H
#include "analysis/join.h"

#include <stddef.h>

#define PLOT_WIDTH 1000
#define PLOT_HEIGHT 600
#define PLOT_MAX_POINTS 20000
#define PLOT_CDF_POINTS 2000

/* Writes dir/timestamps.png and dir/delay.png (creating dir if needed) for the
 * events ev[0..n) in event id order. names[0..3] label the series (NULL:
 * join_default_names). gnuplot is the program to run (NULL:
 * "gnuplot" from PATH). Returns 0, or -1 with a one-line reason in err
 * (gnuplot missing, gnuplot failed, a PNG not written...). */
int plot_write(const char *dir, const join_event *ev, size_t n, const char *const *names,
               const char *gnuplot, char *err, size_t errlen);

#endif
