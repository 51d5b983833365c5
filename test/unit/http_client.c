/* http_client.c - a raw HTTP request for the unit tests (see http_client.h). */
#include "test/unit/http_client.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define HTTP_CLIENT_MAX (1024 * 1024)

char *http_client_get(unsigned port, const char *request) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(write(fd, request, strlen(request)), (ssize_t)strlen(request));
    char *out = calloc(1, HTTP_CLIENT_MAX + 1);
    ck_assert_ptr_nonnull(out);
    size_t n = 0;
    ssize_t k;
    while (n < HTTP_CLIENT_MAX && (k = read(fd, out + n, HTTP_CLIENT_MAX - n)) > 0) n += (size_t)k;
    close(fd);
    return out;
}
