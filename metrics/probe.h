/* probe.h - the health probe every service that serves metrics carries
 * (--probe): one GET of its own /readyz (or another path, or a URL), for an
 * orchestrator's healthcheck run through the service's binary itself, since
 * the runtime image has no curl. libcurl does the HTTP.
 *
 * The probe finds the endpoint the way the service does, from --metrics-addr
 * (or its environment twin, which a container's healthcheck inherits): a
 * wildcard host (0.0.0.0, ::) is asked on the loopback of the same family.
 * It is bounded: PROBE_TIMEOUT_MS for the whole exchange, no redirects, no
 * proxy, plain HTTP only, at most PROBE_BODY_MAX bytes of the answer kept. */
#ifndef GK_METRICS_PROBE_H
#define GK_METRICS_PROBE_H
#include "common/cli.h"

#include <stddef.h>

#define PROBE_TIMEOUT_MS 2000 /* connect and answer, together */
#define PROBE_STR_(x) #x
#define PROBE_STR(x) PROBE_STR_(x)
#define PROBE_BODY_MAX 256    /* bytes of the answer kept (the reason line) */

/* The --probe option of a service (no environment twin: it is a one-shot
 * mode like --help, and a twin set in a container's environment would turn
 * the service itself into its probe). */
#define METRICS_CLI_PROBE(t)                                                                 \
    {.long_name = "probe", .kind = CLI_STRING, .target = (t), .metavar = "PATH_OR_URL",      \
     .min = 1, .max = CLI_ANY_LEN,                                                            \
     .help = "health probe: GET PATH (readyz, healthz) of the --metrics-addr endpoint (a "  \
             "wildcard host: the loopback), or an http:// URL, within "                       \
             PROBE_STR(PROBE_TIMEOUT_MS) " ms; exit 0 on 200, 69 otherwise (the reason on "   \
             "stderr)"}

/* Turns what --probe was given into the URL to GET: an http:// URL as it
 * is; a path ("readyz", "/readyz") on metrics_addr (metrics_addr_parse's
 * syntax; NULL: not set), a wildcard host replaced by the loopback. Returns
 * 0, or -1 with a one-line reason in err (another scheme, a path without an
 * address, port 0, a path with spaces or control characters). */
int probe_url(const char *target, const char *metrics_addr, char *url, size_t len, char *err,
              size_t errlen);

/* GETs url within timeout_ms. Returns the HTTP status it answered with and
 * the first line of its body (printable characters only) in text; or -1 when
 * nothing answered in time, with the reason (libcurl's) in text. */
long probe_get(const char *url, long timeout_ms, char *text, size_t textlen);

/* The --probe mode of program: probes target (probe_url) and says how it
 * went, on stdout when it answered 200 and as one line on stderr otherwise.
 * Returns the exit status: 0 on 200, GK_EXIT_UNAVAILABLE on another status or
 * no answer, GK_EXIT_USAGE when target cannot be made a URL. */
int probe_run(const char *program, const char *target, const char *metrics_addr);

#endif
