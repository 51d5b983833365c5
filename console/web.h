/* web.h - the console's HTTP side: the page's files and its JSON API.
 *
 *   GET /, /console.js, /console.css   the page, read from the --www directory
 *                                      (these three names only: nothing else
 *                                      of the disk is reachable)
 *   GET /api/state                     the last snapshot (main.c) as JSON
 *   GET /api/messages?topic=T          the latest messages of T, a known topic:
 *                                      what was last read, or {"pending":true}
 *                                      until the collector has read them
 *
 * Requests are answered from what the collector last handed over, under a
 * mutex held only to copy a string: no request waits on Kafka or a database.
 * The topics asked for are remembered in WEB_PEEK_SLOTS slots (the oldest
 * ask makes room) and re-read while asked for within WEB_PEEK_KEEP_S. */
#ifndef GK_CONSOLE_WEB_H
#define GK_CONSOLE_WEB_H
#include <jansson.h>
#include <stddef.h>

#define WEB_PEEK_SLOTS 8
#define WEB_PEEK_KEEP_S 30
#define WEB_FILE_MAX (1024 * 1024) /* largest page file served */

typedef struct web web;

/* Serves on addr (http.h's syntax) the files of www. refresh_s: how old a
 * topic's latest messages may get before they are read again. Returns the
 * server or NULL with a one-line reason in err. */
web *web_start(const char *addr, const char *www, double refresh_s, char *err, size_t errlen);

/* "127.0.0.1:8080": where it listens (the chosen port after PORT 0). */
const char *web_address(const web *w);

/* Publishes a snapshot (serialized; the caller keeps state) and the topics
 * of a cluster_topics() answer that /api/messages accepts. */
void web_set_state(web *w, const json_t *state, const json_t *topics);

/* A topic whose latest messages are due to be read, into buf: returns 1, or
 * 0 when none is due. */
int web_next_peek(web *w, char *buf, size_t len);

/* Publishes the latest messages of topic (takes msgs over). */
void web_set_peek(web *w, const char *topic, json_t *msgs);

/* Stops serving and frees w. NULL is allowed. */
void web_stop(web *w);

#endif
