/* The admin endpoint (admin.h).  Each connection reads one request through
 * libhttp-parser (Debian's libhttp-parser-dev: the parser Node.js used for
 * years; small, callback-driven, no allocation), answers it from memory and
 * closes.  Bounded: at most MAX_CONNS connections, REQUEST_MAX bytes of
 * request head, READ_MS for the request to arrive. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <http_parser.h>

#include "server/admin.h"

#define MAX_CONNS 64
#define REQUEST_MAX 8192
#define URL_MAX 256
#define READ_MS 5000

struct ohets_srv_admin {
  uv_loop_t *loop;
  uv_tcp_t listener;
  const ohets_srv_admin_cb *cb;
  void *arg;
  int port;
  int closing;
  unsigned handles;            /* listener + connections still open */
  struct conn *conns;          /* open connections, for close() */
};

typedef struct conn {
  uv_tcp_t tcp;
  uv_timer_t timer;
  uv_write_t wreq;
  ohets_srv_admin *admin;
  http_parser parser;
  char rbuf[1024];
  size_t head_bytes;           /* read so far, bounded by REQUEST_MAX */
  char url[URL_MAX];
  size_t url_len;
  int url_too_long;
  int answered;
  unsigned handles_open;
  char *reply;                 /* being written */
  struct conn *prev, *next;
} conn;

static void admin_unref(ohets_srv_admin *a) {
  if (--a->handles == 0)
    free(a);
}

static void on_conn_closed(uv_handle_t *h) {
  conn *c = h->data;
  if (--c->handles_open > 0)
    return;
  ohets_srv_admin *a = c->admin;
  if (c->prev != NULL)
    c->prev->next = c->next;
  else
    a->conns = c->next;
  if (c->next != NULL)
    c->next->prev = c->prev;
  free(c->reply);
  free(c);
  admin_unref(a);
}

static void close_conn(conn *c) {
  if (uv_is_closing((uv_handle_t *)&c->tcp))
    return;
  uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
  uv_close((uv_handle_t *)&c->timer, on_conn_closed);
}

static void on_written(uv_write_t *w, int status) {
  (void)status;
  close_conn(w->data);
}

static void reply(conn *c, int status, const char *reason, const char *type, const char *body,
                  size_t body_len) {
  if (c->answered)
    return;
  c->answered = 1;
  uv_read_stop((uv_stream_t *)&c->tcp);
  char head[256];
  int n = snprintf(head, sizeof head,
                   "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                   "Connection: close\r\nCache-Control: no-store\r\n\r\n",
                   status, reason, type, body_len);
  c->reply = malloc((size_t)n + body_len);
  if (c->reply == NULL) {
    close_conn(c);
    return;
  }
  memcpy(c->reply, head, (size_t)n);
  if (c->parser.method == HTTP_HEAD)
    body_len = 0; /* the length says what a GET would get; no body */
  memcpy(c->reply + n, body, body_len);
  uv_buf_t b = uv_buf_init(c->reply, (unsigned)((size_t)n + body_len));
  c->wreq.data = c;
  if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0)
    close_conn(c);
}

static void reply_text(conn *c, int status, const char *reason, const char *text) {
  reply(c, status, reason, "text/plain; charset=utf-8", text, strlen(text));
}

static int on_url(http_parser *p, const char *at, size_t len) {
  conn *c = p->data;
  if (c->url_len + len >= sizeof c->url) {
    c->url_too_long = 1;
    return 0;
  }
  memcpy(c->url + c->url_len, at, len);
  c->url_len += len;
  c->url[c->url_len] = '\0';
  return 0;
}

/* The path without a query string. */
static int path_is(const conn *c, const char *path) {
  size_t n = strlen(path);
  return strncmp(c->url, path, n) == 0 && (c->url[n] == '\0' || c->url[n] == '?');
}

static int on_message_complete(http_parser *p) {
  conn *c = p->data;
  ohets_srv_admin *a = c->admin;
  if (c->url_too_long) {
    reply_text(c, 414, "URI Too Long", "URI too long\n");
  } else if (!path_is(c, "/healthz") && !path_is(c, "/readyz") && !path_is(c, "/metrics")) {
    reply_text(c, 404, "Not Found", "not found: /healthz, /readyz, /metrics\n");
  } else if (p->method != HTTP_GET && p->method != HTTP_HEAD) {
    reply_text(c, 405, "Method Not Allowed", "GET only\n");
  } else if (path_is(c, "/healthz")) {
    reply_text(c, 200, "OK", "ok\n");
  } else if (path_is(c, "/readyz")) {
    const char *why = "not ready";
    if (a->cb->ready(a->arg, &why)) {
      reply_text(c, 200, "OK", "ready\n");
    } else {
      char text[128];
      snprintf(text, sizeof text, "not ready: %s\n", why);
      reply_text(c, 503, "Service Unavailable", text);
    }
  } else {
    size_t len = 0;
    char *body = a->cb->metrics(a->arg, &len);
    if (body == NULL)
      reply_text(c, 500, "Internal Server Error", "out of memory\n");
    else
      reply(c, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", body, len);
    free(body);
  }
  return 1; /* one request per connection: stop parsing */
}

static const http_parser_settings parser_settings = {
    .on_url = on_url, .on_message_complete = on_message_complete};

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  conn *c = h->data;
  (void)suggested;
  buf->base = c->rbuf;
  buf->len = sizeof c->rbuf;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  conn *c = s->data;
  if (n == 0 || c->answered)
    return;
  if (n < 0) {
    close_conn(c);
    return;
  }
  c->head_bytes += (size_t)n;
  size_t used = http_parser_execute(&c->parser, &parser_settings, buf->base, (size_t)n);
  if (c->answered)
    return;
  if (HTTP_PARSER_ERRNO(&c->parser) != HPE_OK || used != (size_t)n)
    reply_text(c, 400, "Bad Request", "bad request\n");
  else if (c->head_bytes > REQUEST_MAX)
    reply_text(c, 431, "Request Header Fields Too Large", "request too large\n");
}

static void on_timeout(uv_timer_t *t) {
  conn *c = t->data;
  if (!c->answered)
    reply_text(c, 408, "Request Timeout", "request timeout\n");
}

static void on_connection(uv_stream_t *server, int status) {
  ohets_srv_admin *a = server->data;
  if (status < 0 || a->closing)
    return;
  conn *c = calloc(1, sizeof *c);
  if (c == NULL)
    return;
  c->admin = a;
  uv_tcp_init(a->loop, &c->tcp);
  uv_timer_init(a->loop, &c->timer);
  c->tcp.data = c->timer.data = c;
  c->handles_open = 2;
  a->handles++;
  c->next = a->conns;
  if (a->conns != NULL)
    a->conns->prev = c;
  a->conns = c;
  if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
    close_conn(c);
    return;
  }
  unsigned n = 0;
  for (conn *o = a->conns; o != NULL; o = o->next)
    n++;
  if (n > MAX_CONNS) {
    close_conn(c);
    return;
  }
  http_parser_init(&c->parser, HTTP_REQUEST);
  c->parser.data = c;
  uv_timer_start(&c->timer, on_timeout, READ_MS, 0);
  if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
    close_conn(c);
}

int ohets_srv_admin_start(ohets_srv_admin **out, uv_loop_t *loop, const char *host, int port,
                          const ohets_srv_admin_cb *cb, void *arg, char *err, size_t errsz) {
  struct sockaddr_storage ss;
  int rc = strchr(host, ':') != NULL ? uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss)
                                     : uv_ip4_addr(host, port, (struct sockaddr_in *)&ss);
  if (rc != 0) {
    snprintf(err, errsz, "admin %s:%d: %s", host, port, uv_strerror(rc));
    return rc;
  }
  ohets_srv_admin *a = calloc(1, sizeof *a);
  if (a == NULL) {
    snprintf(err, errsz, "admin: out of memory");
    return -ENOMEM;
  }
  a->loop = loop;
  a->cb = cb;
  a->arg = arg;
  uv_tcp_init(loop, &a->listener);
  a->listener.data = a;
  a->handles = 1;
  *out = a;
  rc = uv_tcp_bind(&a->listener, (const struct sockaddr *)&ss, 0);
  if (rc == 0)
    rc = uv_listen((uv_stream_t *)&a->listener, 64, on_connection);
  if (rc != 0) {
    snprintf(err, errsz, "admin %s:%d: %s", host, port, uv_strerror(rc));
    return rc; /* the caller closes */
  }
  struct sockaddr_storage bound;
  int len = (int)sizeof bound;
  a->port = port;
  if (uv_tcp_getsockname(&a->listener, (struct sockaddr *)&bound, &len) == 0)
    a->port = bound.ss_family == AF_INET6
                  ? ntohs(((struct sockaddr_in6 *)(void *)&bound)->sin6_port)
                  : ntohs(((struct sockaddr_in *)(void *)&bound)->sin_port);
  return 0;
}

int ohets_srv_admin_port(const ohets_srv_admin *a) { return a->port; }

static void on_listener_closed(uv_handle_t *h) { admin_unref(h->data); }

void ohets_srv_admin_close(ohets_srv_admin *a) {
  if (a == NULL || a->closing)
    return;
  a->closing = 1;
  for (conn *c = a->conns; c != NULL; c = c->next)
    close_conn(c);
  uv_close((uv_handle_t *)&a->listener, on_listener_closed);
}
