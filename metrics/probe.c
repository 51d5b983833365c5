/* probe.c - --probe: one bounded GET of a service's health endpoint over
 * libcurl (see probe.h). */
#include "metrics/probe.h"

#include "common/exitcodes.h"
#include "common/log.h"
#include "metrics/server.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* True for text a URL may carry as it is: printable, no space. */
static bool probe_plain(const char *s) {
    for (; *s; s++)
        if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f) return false;
    return true;
}

int probe_url(const char *target, const char *metrics_addr, char *url, size_t len, char *err,
              size_t errlen) {
    if (!probe_plain(target) || !*target) {
        snprintf(err, errlen, "'%s': spaces or control characters", target);
        return -1;
    }
    if (strstr(target, "://")) {
        /* The endpoints speak plain HTTP; anything else is a mistake. */
        if (strncasecmp(target, "http://", 7) != 0 || !target[7]) {
            snprintf(err, errlen, "'%s': only an http:// URL (or a path) can be probed", target);
            return -1;
        }
        if ((size_t)snprintf(url, len, "%s", target) >= len) {
            snprintf(err, errlen, "'%s': too long a URL", target);
            return -1;
        }
        return 0;
    }
    if (!metrics_addr) {
        snprintf(err, errlen, "'%s' is a path and no --metrics-addr says where the endpoint is "
                              "(give it, or an http:// URL)", target);
        return -1;
    }
    char host[256], why[256];
    unsigned port;
    if (metrics_addr_parse(metrics_addr, host, sizeof host, &port, why, sizeof why) != 0) {
        snprintf(err, errlen, "--metrics-addr %s", why);
        return -1;
    }
    if (port == 0) {
        snprintf(err, errlen, "--metrics-addr '%s': port 0 is chosen at start-up (the service "
                              "logs it): give the URL", metrics_addr);
        return -1;
    }
    /* A service listening on every address answers on the loopback. */
    unsigned char bin[16];
    bool v6 = strchr(host, ':') != NULL;
    if (v6 && inet_pton(AF_INET6, host, bin) == 1 && memcmp(bin, &in6addr_any, 16) == 0)
        snprintf(host, sizeof host, "::1");
    else if (!v6 && inet_pton(AF_INET, host, bin) == 1 && memcmp(bin, "\0\0\0\0", 4) == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    int n = snprintf(url, len, "http://%s%s%s:%u%s%s", v6 ? "[" : "", host, v6 ? "]" : "",
                     port, target[0] == '/' ? "" : "/", target);
    if (n < 0 || (size_t)n >= len) {
        snprintf(err, errlen, "'%s': too long a URL", target);
        return -1;
    }
    return 0;
}

/* The body kept: its first PROBE_BODY_MAX bytes. */
typedef struct {
    char text[PROBE_BODY_MAX + 1];
    size_t n;
} probe_body;

/* libcurl's write callback: keeps what fits and then stops the transfer
 * (a short write), since the rest would only be thrown away. */
static size_t probe_write(char *data, size_t size, size_t nmemb, void *ud) {
    probe_body *b = ud;
    size_t n = size * nmemb, room = PROBE_BODY_MAX - b->n, k = n < room ? n : room;
    memcpy(b->text + b->n, data, k);
    b->n += k;
    b->text[b->n] = '\0';
    return k == n ? n : 0;
}

/* Copies the first line of src into dst, printable characters only. */
static void probe_first_line(const char *src, char *dst, size_t len) {
    size_t n = 0;
    for (; *src && *src != '\n' && *src != '\r' && n + 1 < len; src++)
        if ((unsigned char)*src >= ' ' && (unsigned char)*src < 0x7f) dst[n++] = *src;
    dst[n] = '\0';
}

long probe_get(const char *url, long timeout_ms, char *text, size_t textlen) {
    CURL *h = curl_easy_init();
    if (!h) {
        snprintf(text, textlen, "cannot set up libcurl");
        return -1;
    }
    probe_body body = {.n = 0};
    char curl_err[CURL_ERROR_SIZE] = "";
    /* No proxy (an http_proxy in the environment must not send a loopback
     * probe elsewhere), no redirects, HTTP only, no signals (timeouts work
     * without SIGALRM). */
    CURLcode rc = curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err);
    if (!rc) rc = curl_easy_setopt(h, CURLOPT_URL, url);
    if (!rc) rc = curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
    if (!rc) rc = curl_easy_setopt(h, CURLOPT_PROXY, "");
    if (!rc) rc = curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    if (!rc) rc = curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (!rc) rc = curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    if (!rc) rc = curl_easy_setopt(h, CURLOPT_USERAGENT, "genetika-probe");
    if (!rc) rc = curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, probe_write);
    if (!rc) rc = curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    if (rc) {
        snprintf(text, textlen, "libcurl: %s", curl_easy_strerror(rc));
        curl_easy_cleanup(h);
        return -1;
    }
    rc = curl_easy_perform(h);
    long status = -1;
    /* A body longer than kept ends the transfer early: still an answer. */
    if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && body.n == PROBE_BODY_MAX)) {
        if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK) status = -1;
        probe_first_line(body.text, text, textlen);
    }
    if (status <= 0)
        snprintf(text, textlen, "%s", curl_err[0] ? curl_err : curl_easy_strerror(rc));
    curl_easy_cleanup(h);
    return status <= 0 ? -1 : status;
}

int probe_run(const char *program, const char *target, const char *metrics_addr) {
    char url[1024], why[512];
    if (probe_url(target, metrics_addr, url, sizeof url, why, sizeof why) != 0) {
        log_error("--probe: %s", why);
        return GK_EXIT_USAGE;
    }
    if (curl_global_init(CURL_GLOBAL_NOTHING) != CURLE_OK) {
        log_error("--probe %s: cannot initialize libcurl", url);
        return GK_EXIT_SOFTWARE;
    }
    char text[PROBE_BODY_MAX + CURL_ERROR_SIZE];
    long status = probe_get(url, PROBE_TIMEOUT_MS, text, sizeof text);
    curl_global_cleanup();
    if (status == 200) {
        printf("%s: %s: 200 %s\n", program, url, text);
        return GK_EXIT_OK;
    }
    if (status < 0)
        log_error("--probe %s: no answer: %s", url, text);
    else
        log_error("--probe %s: HTTP %ld: %s", url, status, text[0] ? text : "(no reason given)");
    return GK_EXIT_UNAVAILABLE;
}
