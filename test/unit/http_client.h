/* http_client.h - the unit tests' HTTP client: one raw request to a server
 * the test started on 127.0.0.1, the whole answer back (headers and body). */
#ifndef GK_TEST_HTTP_CLIENT_H
#define GK_TEST_HTTP_CLIENT_H

/* Sends request (the raw text, "GET / HTTP/1.1\r\n...") to 127.0.0.1:port
 * and returns everything the server answered until it closed (at most 1 MiB;
 * 10 s without a byte ends the read); the caller frees it. A failure to
 * connect or send fails the current Check test. */
char *http_client_get(unsigned port, const char *request);

#endif
