/* metrics_http: the /metrics endpoint on libmicrohttpd's internal polling thread.
 * GET|HEAD /metrics -> 200 text format 0.0.4; GET|HEAD / -> a small page linking
 * /metrics; other methods -> 405 with Allow; other paths -> 404. MHD's own log
 * lines are captured (the startup one becomes the error text), never printed. */
#include "metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "util.h"

#if MHD_VERSION >= 0x00097002
typedef enum MHD_Result mhd_result;
#else
typedef int mhd_result;
#endif

struct metrics_server {
    struct MHD_Daemon *daemon;
    struct metrics *m;
    char log[256]; /* last MHD log line (read only when startup failed) */
};

static const char index_page[] =
    "<!DOCTYPE html>\n<html><head><title>cdcctl consumer</title></head>\n"
    "<body><h1>cdcctl consumer</h1><p><a href=\"/metrics\">Metrics</a></p></body></html>\n";

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct metrics_server *s = cls;
    vsnprintf(s->log, sizeof(s->log), fmt, ap);
    size_t n = strlen(s->log);
    while (n && (s->log[n - 1] == '\n' || s->log[n - 1] == '.' || s->log[n - 1] == ' '))
        s->log[--n] = '\0';
    if (s->log[0] >= 'A' && s->log[0] <= 'Z' && !(s->log[1] >= 'A' && s->log[1] <= 'Z'))
        s->log[0] = (char)(s->log[0] - 'A' + 'a'); /* "Failed to bind" -> "failed to bind" */
}

static mhd_result reply(struct MHD_Connection *c, unsigned status, const char *type, void *body,
                        size_t len, enum MHD_ResponseMemoryMode mode, const char *allow)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
    if (!r) {
        if (mode == MHD_RESPMEM_MUST_FREE)
            free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (allow)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
    mhd_result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static mhd_result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                         const char *version, const char *upload_data, size_t *upload_data_size,
                         void **con_cls)
{
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)con_cls;
    struct metrics_server *s = cls;
    int get = strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    int is_metrics = strcmp(url, "/metrics") == 0, is_index = strcmp(url, "/") == 0;
    if (!is_metrics && !is_index) {
        static char nf[] = "404 page not found\n";
        return reply(c, MHD_HTTP_NOT_FOUND, "text/plain; charset=utf-8", nf, sizeof(nf) - 1,
                     MHD_RESPMEM_PERSISTENT, NULL);
    }
    if (!get) {
        static char na[] = "405 method not allowed\n";
        return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain; charset=utf-8", na,
                     sizeof(na) - 1, MHD_RESPMEM_PERSISTENT, "GET, HEAD");
    }
    if (is_index)
        return reply(c, MHD_HTTP_OK, "text/html; charset=utf-8", (void *)index_page,
                     sizeof(index_page) - 1, MHD_RESPMEM_PERSISTENT, NULL);
    size_t len = 0;
    char *body = metrics_render(s->m, &len);
    return reply(c, MHD_HTTP_OK, METRICS_CONTENT_TYPE, body, len, MHD_RESPMEM_MUST_FREE, NULL);
}

/* "HOST:PORT", "[V6]:PORT", ":PORT" (all IPv4 interfaces), "localhost:PORT". */
static int parse_addr(const char *addr, struct sockaddr_storage *ss, int *v6, char *err,
                      size_t errlen)
{
    const char *colon = NULL, *host = addr;
    size_t hostlen;
    if (!addr || !*addr)
        return cc_errf(err, errlen, CC_EINVAL, "metrics address: empty, want HOST:PORT");
    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');
        if (!close || close[1] != ':')
            return cc_errf(err, errlen, CC_EINVAL, "metrics address \"%s\": want [IPV6]:PORT",
                           addr);
        host = addr + 1;
        hostlen = (size_t)(close - host);
        colon = close + 1;
    } else {
        colon = strrchr(addr, ':');
        if (!colon)
            return cc_errf(err, errlen, CC_EINVAL, "metrics address \"%s\": want HOST:PORT", addr);
        if (strchr(addr, ':') != colon)
            return cc_errf(err, errlen, CC_EINVAL,
                           "metrics address \"%s\": put an IPv6 address in brackets ([::1]:PORT)",
                           addr);
        hostlen = (size_t)(colon - addr);
    }
    const char *ps = colon + 1;
    char *end = NULL;
    errno = 0;
    long port = strtol(ps, &end, 10);
    if (!*ps || *end || errno || port < 0 || port > 65535 || *ps == '-' || *ps == '+')
        return cc_errf(err, errlen, CC_EINVAL, "metrics address \"%s\": bad port \"%s\"", addr,
                       ps);
    char h[256];
    if (hostlen >= sizeof(h))
        return cc_errf(err, errlen, CC_EINVAL, "metrics address \"%s\": host too long", addr);
    memcpy(h, host, hostlen);
    h[hostlen] = '\0';

    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    *v6 = 0;
    if (hostlen == 0 || strcmp(h, "*") == 0) {
        in4->sin_family = AF_INET;
        in4->sin_addr.s_addr = htonl(INADDR_ANY);
    } else if (strcmp(h, "localhost") == 0) {
        in4->sin_family = AF_INET;
        in4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    } else if (inet_pton(AF_INET, h, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
    } else if (inet_pton(AF_INET6, h, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        *v6 = 1;
    } else {
        struct addrinfo hints = {0}, *res = NULL;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_family = AF_UNSPEC;
        int rc = getaddrinfo(h, NULL, &hints, &res);
        if (rc != 0 || !res)
            return cc_errf(err, errlen, CC_EINVAL, "metrics address \"%s\": %s", addr,
                           rc ? gai_strerror(rc) : "no address");
        memcpy(ss, res->ai_addr, res->ai_addrlen);
        *v6 = res->ai_family == AF_INET6;
        freeaddrinfo(res);
    }
    if (*v6)
        in6->sin6_port = htons((uint16_t)port);
    else
        in4->sin_port = htons((uint16_t)port);
    return CC_OK;
}

int metrics_server_start(struct metrics *m, const char *addr, struct metrics_server **out,
                         int *port_out, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    int v6 = 0;
    *out = NULL;
    if (!m)
        return cc_errf(err, errlen, CC_EINVAL, "metrics server: no registry");
    int rc = parse_addr(addr, &ss, &v6, err, errlen);
    if (rc != CC_OK)
        return CC_ERR;
    struct metrics_server *s = xcalloc(1, sizeof(*s));
    s->m = m;
    uint16_t port = v6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                       : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
    if (v6)
        flags |= MHD_USE_IPv6;
    s->daemon = MHD_start_daemon(flags, port, NULL, NULL, handle, s, MHD_OPTION_SOCK_ADDR,
                                 (struct sockaddr *)&ss, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned)64, MHD_OPTION_END);
    if (!s->daemon) {
        cc_errf(err, errlen, CC_ERR, "metrics server on %s: %s", addr,
                s->log[0] ? s->log : "cannot start");
        free(s);
        return CC_ERR;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    if (port_out)
        *port_out = info ? (int)info->port : (int)port;
    *out = s;
    return CC_OK;
}

void metrics_server_stop(struct metrics_server *s)
{
    if (!s)
        return;
    if (s->daemon)
        MHD_stop_daemon(s->daemon);
    free(s);
}
