/* TLS transport (DESIGN §12): the TLS engine (src/tls, OpenSSL over memory
 * BIOs) between a libuv stream and the session, all on the loop thread and
 * never blocking.
 *
 *   socket -> shared read buffer -> ohets_tls_feed -> ohets_tls_read -> owner's buffer
 *   owner's answer -> ohets_tls_write -> ohets_tls_out runs -> uv_try_write / uv_write
 *
 * Ciphertext runs stay in the engine until consumed, so a run the socket
 * does not take at once goes to uv_write as it is and is consumed in the
 * callback: no copy.  The socket is read while the handshake runs, and
 * afterwards while the owner reads (its backpressure) or while a shutdown
 * waits for the peer.  Plaintext the engine still holds when the owner
 * resumes reading is delivered from a zero timer, never from inside the
 * owner's own call. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "server/transport.h"

typedef struct tls_transport {
  ohets_srv_transport base;
  uv_tcp_t tcp;                 /* data = this */
  uv_timer_t kick;              /* delivers plaintext held while not reading */
  ohets_tls *tls;
  const ohets_srv_transport_cb *cb;
  void *owner;
  unsigned handles_open;        /* tcp and kick not yet closed */
  int owner_reading;            /* the owner asked for plaintext */
  int socket_reading;           /* uv_read_start is active */
  int established;              /* handshake done and reported */
  int failed;                   /* the engine or the socket failed (reported) */
  int eof;                      /* the peer finished (reported) */
  int owner_write_pending;      /* a write returned 1: write_done owed */
  int shutting;                 /* shutdown asked for: FIN once flushed */
  int fin_sent;                 /* uv_shutdown issued */
  int closing;                  /* close() called */
  size_t in_flight;             /* ciphertext handed to uv_write */
  int write_error;              /* the socket refused a write (UV_E*) */
  uv_write_t wreq;              /* the one uv_write at a time */
  uv_shutdown_t sreq;
} tls_transport;

/* One read buffer for every TLS socket: the loop reads one socket at a
 * time and the engine copies what it is fed, so idle connections cost no
 * buffer of their own. */
static uint8_t shared_rbuf[64 * 1024];

static int flush(tls_transport *t);
static void update_socket_reading(tls_transport *t);

/* The connection cannot go on: tell the owner once (it closes). */
static void fail(tls_transport *t, ssize_t why) {
  if (t->failed || t->eof || t->closing)
    return;
  t->failed = 1;
  (void)flush(t); /* an alert for the peer, if the socket takes it */
  update_socket_reading(t);
  t->cb->read(t->owner, why);
}

/* Drives the handshake, then hands the owner what plaintext the engine
 * has, while the owner reads.  The owner's buffer is used from the start:
 * a TLS 1.3 client may send its first request with its Finished. */
static void deliver(tls_transport *t) {
  while (!t->closing && !t->failed && !t->eof) {
    if (t->established && !t->owner_reading)
      return;
    uint8_t *base = NULL;
    size_t len = 0;
    t->cb->alloc(t->owner, &base, &len);
    if (len == 0)
      return;
    long n = ohets_tls_read(t->tls, base, len);
    (void)flush(t); /* handshake records, tickets, key updates, alerts */
    if (!t->established && ohets_tls_handshake_done(t->tls)) {
      t->established = 1;
      update_socket_reading(t);
      t->cb->established(t->owner);
      if (t->closing)
        return;
    }
    if (n > 0) {
      t->cb->read(t->owner, (ssize_t)n);
      continue;
    }
    if (n == OHETS_TLS_EOF && t->established) {
      t->eof = 1;
      update_socket_reading(t);
      t->cb->read(t->owner, UV_EOF);
    } else if (n < 0) {
      fail(t, OHETS_SRV_TRANSPORT_ETLS);
    }
    return;
  }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)h;
  (void)suggested;
  buf->base = (char *)shared_rbuf;
  buf->len = sizeof shared_rbuf;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  tls_transport *t = s->data;
  if (n == 0 || t->closing)
    return;
  if (n < 0) {
    uv_read_stop(s);
    t->socket_reading = 0;
    if (n == UV_EOF && t->established) {
      /* Whole records before the FIN reach the owner first; a FIN without
       * close_notify (or in the middle of a record) then ends it. */
      deliver(t);
      if (!t->failed && !t->eof && !t->closing) {
        t->eof = 1;
        t->cb->read(t->owner, UV_EOF);
      }
    } else {
      fail(t, n == UV_EOF ? OHETS_SRV_TRANSPORT_ETLS : n);
    }
    return;
  }
  t->cb->activity(t->owner);
  if (ohets_tls_feed(t->tls, buf->base, (size_t)n) != 0) {
    fail(t, OHETS_SRV_TRANSPORT_ETLS);
    return;
  }
  deliver(t);
}

static void update_socket_reading(tls_transport *t) {
  int want = !t->closing && !t->failed && !t->eof &&
             (!t->established || t->owner_reading || t->shutting);
  if (want && !t->socket_reading) {
    if (uv_read_start((uv_stream_t *)&t->tcp, on_alloc, on_read) == 0)
      t->socket_reading = 1;
  } else if (!want && t->socket_reading) {
    uv_read_stop((uv_stream_t *)&t->tcp);
    t->socket_reading = 0;
  }
}

static void on_kick(uv_timer_t *h) {
  tls_transport *t = h->data;
  if (!t->closing)
    deliver(t);
}

/* ----------------------------------------------------------- writing */

static void on_shutdown(uv_shutdown_t *req, int status) {
  tls_transport *t = req->data;
  if (!t->closing)
    t->cb->shutdown_done(t->owner, status);
}

static void send_fin(tls_transport *t) {
  if (t->fin_sent)
    return;
  t->fin_sent = 1;
  t->sreq.data = t;
  int rc = uv_shutdown(&t->sreq, (uv_stream_t *)&t->tcp, on_shutdown);
  if (rc != 0)
    t->cb->shutdown_done(t->owner, rc);
}

static void on_write(uv_write_t *req, int status) {
  tls_transport *t = req->data;
  ohets_tls_out_consume(t->tls, t->in_flight);
  t->in_flight = 0;
  if (t->closing)
    return;
  int done = status == 0 && flush(t);
  if (status < 0 || done) {
    if (t->owner_write_pending) {
      t->owner_write_pending = 0;
      t->cb->write_done(t->owner, status);
      if (t->closing)
        return;
    }
    if (status < 0) {
      fail(t, status);
      return;
    }
    if (t->shutting)
      send_fin(t);
  }
}

/* Sends the engine's pending ciphertext: at once while the socket takes
 * it, the rest through one uv_write.  1 when nothing is left pending. */
static int flush(tls_transport *t) {
  if (t->in_flight > 0)
    return 0;
  if (t->closing)
    return 1;
  for (;;) {
    const void *p;
    size_t len = ohets_tls_out(t->tls, &p);
    if (len == 0)
      return 1;
    uv_buf_t b = uv_buf_init((char *)(uintptr_t)p, (unsigned)len);
    int n = uv_try_write((uv_stream_t *)&t->tcp, &b, 1);
    if (n > 0 && (size_t)n == len) {
      ohets_tls_out_consume(t->tls, len);
      continue;
    }
    if (n < 0 && n != UV_EAGAIN) {
      /* The peer is gone: drop what it cannot get; the owner's write (or
       * its next read) says so. */
      ohets_tls_out_consume(t->tls, ohets_tls_out_pending(t->tls));
      t->write_error = n;
      return 1;
    }
    if (n > 0) {
      ohets_tls_out_consume(t->tls, (size_t)n);
      b = uv_buf_init((char *)(uintptr_t)p + n, (unsigned)(len - (size_t)n));
    }
    t->wreq.data = t;
    if (uv_write(&t->wreq, (uv_stream_t *)&t->tcp, &b, 1, on_write) != 0) {
      ohets_tls_out_consume(t->tls, ohets_tls_out_pending(t->tls));
      return 1;
    }
    t->in_flight = b.len;
    return 0;
  }
}

static int tls_write(ohets_srv_transport *base, ohets_buf *buf) {
  tls_transport *t = (tls_transport *)base;
  if (t->failed || t->closing || t->shutting || t->write_error)
    return UV_EPIPE;
  int rc = ohets_tls_write(t->tls, buf->data, buf->len);
  if (rc != 0)
    return rc == -ENOMEM ? UV_ENOMEM : UV_EPIPE;
  buf->len = 0; /* encrypted: the owner's buffer is its own again */
  if (flush(t))
    return t->write_error;
  t->owner_write_pending = 1;
  return 1;
}

static int tls_shutdown(ohets_srv_transport *base) {
  tls_transport *t = (tls_transport *)base;
  if (t->shutting)
    return 0;
  t->shutting = 1;
  ohets_tls_shutdown(t->tls); /* close_notify */
  update_socket_reading(t);   /* the peer's close_notify or FIN */
  if (flush(t))
    send_fin(t);
  return 0;
}

static int tls_read_start(ohets_srv_transport *base) {
  tls_transport *t = (tls_transport *)base;
  t->owner_reading = 1;
  update_socket_reading(t);
  /* The engine may hold plaintext read from the socket before. */
  if (t->established && !uv_is_active((uv_handle_t *)&t->kick))
    uv_timer_start(&t->kick, on_kick, 0, 0);
  return 0;
}

static void tls_read_stop(ohets_srv_transport *base) {
  tls_transport *t = (tls_transport *)base;
  t->owner_reading = 0;
  uv_timer_stop(&t->kick);
  update_socket_reading(t);
}

/* ----------------------------------------------------------- closing */

static void on_handle_closed(uv_handle_t *h) {
  tls_transport *t = h->data;
  if (--t->handles_open > 0)
    return;
  const ohets_srv_transport_cb *cb = t->cb;
  void *owner = t->owner;
  ohets_tls_free(t->tls);
  free(t);
  if (cb != NULL)
    cb->closed(owner);
}

static void tls_close(ohets_srv_transport *base) {
  tls_transport *t = (tls_transport *)base;
  if (t->closing)
    return;
  t->closing = 1;
  uv_close((uv_handle_t *)&t->tcp, on_handle_closed);
  uv_close((uv_handle_t *)&t->kick, on_handle_closed);
}

static void tls_info(const ohets_srv_transport *base, ohets_srv_transport_info *out) {
  const tls_transport *t = (const tls_transport *)base;
  out->tls = 1;
  out->version = ohets_tls_version(t->tls);
  out->cipher = ohets_tls_cipher(t->tls);
  out->peer_sha256 = ohets_tls_peer_sha256(t->tls);
  out->error = NULL;
  if (!t->established) {
    const char *why = ohets_tls_error(t->tls);
    out->error = why != NULL && why[0] ? why : "the handshake did not finish";
  }
}

static const ohets_srv_transport_ops tls_ops = {tls_read_start, tls_read_stop, tls_write,
                                                tls_shutdown,   tls_close,     tls_info};

int ohets_srv_transport_tls_open(ohets_srv_transport **out, uv_loop_t *loop, int fd,
                                 ohets_tls_ctx *ctx, const ohets_srv_transport_cb *cb,
                                 void *owner) {
  tls_transport *t = calloc(1, sizeof *t);
  ohets_tls *tls = t != NULL ? ohets_tls_new(ctx) : NULL;
  if (tls == NULL) {
    free(t);
    close(fd);
    return -ENOMEM;
  }
  t->base.ops = &tls_ops;
  t->tls = tls;
  t->cb = cb;
  t->owner = owner;
  uv_tcp_init(loop, &t->tcp);
  uv_timer_init(loop, &t->kick);
  t->tcp.data = t->kick.data = t;
  t->handles_open = 2;
  int rc = uv_tcp_open(&t->tcp, fd);
  if (rc != 0) {
    close(fd);
    t->cb = NULL; /* nobody to tell */
    t->closing = 1;
    uv_close((uv_handle_t *)&t->tcp, on_handle_closed);
    uv_close((uv_handle_t *)&t->kick, on_handle_closed);
    return rc;
  }
  uv_tcp_nodelay(&t->tcp, 1);
  update_socket_reading(t); /* the handshake needs the socket read now */
  *out = &t->base;
  return 0;
}
