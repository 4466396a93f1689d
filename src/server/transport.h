/* A transport: how a session's bytes cross the socket.  Plain TCP and TLS
 * sit behind the same few calls (memcached's way: TLS behind function
 * pointers), so the session never knows which it has.
 *
 * The transport owns its libuv handle(s) and its memory; it tells its
 * owner what happened through the callbacks, always on the loop thread. */
#ifndef OHETS_SERVER_TRANSPORT_H
#define OHETS_SERVER_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <uv.h>

#include "openhets/openhets.h"
#include "tls/tls.h"

typedef struct ohets_srv_transport ohets_srv_transport;

/* A read error that is the TLS layer's (a failed or refused handshake, a
 * bad record): the session closes with reason `tls`. */
#define OHETS_SRV_TRANSPORT_ETLS (-10001)

typedef struct ohets_srv_transport_cb {
  /* Where to put the next bytes read: *len 0 means "none now" (the
   * transport then stops reading until read_start). */
  void (*alloc)(void *owner, uint8_t **base, size_t *len);
  /* n > 0: bytes landed in the alloc'd buffer; UV_EOF: the peer finished
   * sending; another negative: the connection failed. */
  void (*read)(void *owner, ssize_t n);
  /* Bytes crossed the socket that the owner does not see (TLS handshake
   * and records): they count as activity for the idle timer. */
  void (*activity)(void *owner);
  /* TLS: the handshake is done and requests may flow (a plain transport is
   * ready from the start and never calls this). */
  void (*established)(void *owner);
  /* A write that returned 1 finished (status 0 or negative). */
  void (*write_done)(void *owner, int status);
  /* The FIN asked for by shutdown is out (status 0 or negative). */
  void (*shutdown_done)(void *owner, int status);
  /* The transport is gone; the owner may free itself. */
  void (*closed)(void *owner);
} ohets_srv_transport_cb;

/* What a TLS transport knows after its handshake (for the open event and
 * the partners' `certs`). */
typedef struct ohets_srv_transport_info {
  int tls;                   /* 0: plain TCP */
  const char *version;       /* "TLSv1.3" */
  const char *cipher;
  const char *peer_sha256;   /* "" when the client sent no certificate */
  const char *error;         /* why the handshake failed, or NULL */
} ohets_srv_transport_info;

typedef struct ohets_srv_transport_ops {
  int (*read_start)(ohets_srv_transport *t);
  void (*read_stop)(ohets_srv_transport *t);
  /* Takes buf's bytes (leaving it empty; its memory stays the caller's).
   * 0: written at once; 1: pending, write_done follows; < 0: failed. */
  int (*write)(ohets_srv_transport *t, ohets_buf *buf);
  /* FIN (TLS: close_notify first) once pending writes are out. */
  int (*shutdown)(ohets_srv_transport *t);
  /* Closes; closed() follows.  Safe to call once. */
  void (*close)(ohets_srv_transport *t);
  void (*info)(const ohets_srv_transport *t, ohets_srv_transport_info *out);
} ohets_srv_transport_ops;

/* Every transport begins with this. */
struct ohets_srv_transport {
  const ohets_srv_transport_ops *ops;
};

static inline int ohets_srv_transport_read_start(ohets_srv_transport *t) {
  return t->ops->read_start(t);
}
static inline void ohets_srv_transport_read_stop(ohets_srv_transport *t) { t->ops->read_stop(t); }
static inline int ohets_srv_transport_write(ohets_srv_transport *t, ohets_buf *buf) {
  return t->ops->write(t, buf);
}
static inline int ohets_srv_transport_shutdown(ohets_srv_transport *t) {
  return t->ops->shutdown(t);
}
static inline void ohets_srv_transport_close(ohets_srv_transport *t) { t->ops->close(t); }
static inline void ohets_srv_transport_info_get(const ohets_srv_transport *t,
                                                ohets_srv_transport_info *out) {
  t->ops->info(t, out);
}

/* Plain TCP over an accepted, non-blocking socket (the transport owns fd
 * from here, also on failure). */
int ohets_srv_transport_tcp_open(ohets_srv_transport **out, uv_loop_t *loop, int fd,
                                 const ohets_srv_transport_cb *cb, void *owner);

/* TLS over an accepted socket with the listener's context (held for the
 * connection's life); the handshake starts with the first bytes read. */
int ohets_srv_transport_tls_open(ohets_srv_transport **out, uv_loop_t *loop, int fd,
                                 ohets_tls_ctx *ctx, const ohets_srv_transport_cb *cb,
                                 void *owner);

#endif /* OHETS_SERVER_TRANSPORT_H */
