/* Plain TCP transport: a libuv stream.  Writes go out at once when the
 * socket takes them all (the usual case: no request, no callback, and none
 * of the epoll_ctl calls libuv makes around a queued write); the rest goes
 * through uv_write. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "server/transport.h"

typedef struct tcp_transport {
  ohets_srv_transport base;
  uv_tcp_t tcp;                 /* data = this */
  const ohets_srv_transport_cb *cb;
  void *owner;
  unsigned writes_pending;      /* uv_write requests not yet completed */
  int closing;                  /* close() called: no more callbacks but closed() */
} tcp_transport;

typedef struct write_req {
  uv_write_t req;
  ohets_buf buf; /* owned bytes being written */
} write_req;

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  tcp_transport *t = h->data;
  uint8_t *base = NULL;
  size_t len = 0;
  (void)suggested;
  t->cb->alloc(t->owner, &base, &len);
  buf->base = (char *)base;
  buf->len = len;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  tcp_transport *t = s->data;
  (void)buf;
  if (n == 0 || t->closing)
    return;
  if (n < 0)
    uv_read_stop(s);
  t->cb->read(t->owner, n);
}

static int tcp_read_start(ohets_srv_transport *base) {
  tcp_transport *t = (tcp_transport *)base;
  return uv_read_start((uv_stream_t *)&t->tcp, on_alloc, on_read);
}

static void tcp_read_stop(ohets_srv_transport *base) {
  tcp_transport *t = (tcp_transport *)base;
  uv_read_stop((uv_stream_t *)&t->tcp);
}

static void on_write(uv_write_t *req, int status) {
  write_req *w = (write_req *)req;
  tcp_transport *t = req->handle->data;
  ohets_buf_free(&w->buf);
  free(w);
  t->writes_pending--;
  if (!t->closing)
    t->cb->write_done(t->owner, status);
}

static int tcp_write(ohets_srv_transport *base, ohets_buf *buf) {
  tcp_transport *t = (tcp_transport *)base;
  uv_buf_t b = uv_buf_init((char *)buf->data, (unsigned)buf->len);
  size_t done = 0;
  if (t->writes_pending == 0) {
    int n = uv_try_write((uv_stream_t *)&t->tcp, &b, 1);
    if (n < 0 && n != UV_EAGAIN)
      return n;
    done = n > 0 ? (size_t)n : 0;
  }
  if (done == buf->len) {
    buf->len = 0; /* the caller keeps (or frees) the buffer itself */
    return 0;
  }
  write_req *w = malloc(sizeof *w);
  if (w == NULL)
    return -ENOMEM;
  w->buf = *buf;
  ohets_buf_init(buf, buf->max);
  b = uv_buf_init((char *)w->buf.data + done, (unsigned)(w->buf.len - done));
  int rc = uv_write(&w->req, (uv_stream_t *)&t->tcp, &b, 1, on_write);
  if (rc != 0) {
    ohets_buf_free(&w->buf);
    free(w);
    return rc;
  }
  t->writes_pending++;
  return 1;
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  tcp_transport *t = req->handle->data;
  free(req);
  if (!t->closing)
    t->cb->shutdown_done(t->owner, status);
}

static int tcp_shutdown(ohets_srv_transport *base) {
  tcp_transport *t = (tcp_transport *)base;
  uv_shutdown_t *req = malloc(sizeof *req);
  if (req == NULL)
    return -ENOMEM;
  int rc = uv_shutdown(req, (uv_stream_t *)&t->tcp, on_shutdown);
  if (rc != 0)
    free(req);
  return rc;
}

static void on_closed(uv_handle_t *h) {
  tcp_transport *t = h->data;
  const ohets_srv_transport_cb *cb = t->cb;
  void *owner = t->owner;
  free(t);
  cb->closed(owner);
}

static void on_open_failed(uv_handle_t *h) { free(h->data); }

static void tcp_close(ohets_srv_transport *base) {
  tcp_transport *t = (tcp_transport *)base;
  if (t->closing)
    return;
  t->closing = 1;
  uv_close((uv_handle_t *)&t->tcp, on_closed);
}

static void tcp_info(const ohets_srv_transport *base, ohets_srv_transport_info *out) {
  (void)base;
  *out = (ohets_srv_transport_info){0, NULL, NULL, NULL, NULL};
}

static const ohets_srv_transport_ops tcp_ops = {tcp_read_start, tcp_read_stop, tcp_write,
                                                tcp_shutdown,   tcp_close,     tcp_info};

int ohets_srv_transport_tcp_open(ohets_srv_transport **out, uv_loop_t *loop, int fd,
                                 const ohets_srv_transport_cb *cb, void *owner) {
  tcp_transport *t = calloc(1, sizeof *t);
  if (t == NULL) {
    close(fd);
    return -ENOMEM;
  }
  t->base.ops = &tcp_ops;
  t->cb = cb;
  t->owner = owner;
  uv_tcp_init(loop, &t->tcp);
  t->tcp.data = t;
  int rc = uv_tcp_open(&t->tcp, fd);
  if (rc != 0) {
    close(fd);
    t->closing = 1;
    uv_close((uv_handle_t *)&t->tcp, on_open_failed);
    return rc;
  }
  uv_tcp_nodelay(&t->tcp, 1);
  *out = &t->base;
  return 0;
}
