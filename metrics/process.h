/* process.h - what the kernel says about this process, for the process_*
 * metrics every Prometheus client library exports under the same names. */
#ifndef GK_METRICS_PROCESS_H
#define GK_METRICS_PROCESS_H

/* Resident set size in bytes (/proc/self/statm), or -1 if unreadable. */
double process_rss_bytes(void);

#endif
