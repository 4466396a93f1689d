/* Listeners: one listening socket per configured address, IPv4 or IPv6,
 * each with its own framing and optional submitter list.
 *
 * The loop polls each socket and accepts with accept4() itself, rather than
 * through uv_accept(), because accept() is the only moment the peer's
 * address is sure to be known: a peer that resets straight away makes
 * getpeername() fail.  Out of descriptors, a listener stops accepting for a
 * moment (the backlog keeps the waiting peers) instead of spinning. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* accept4, pthread_rwlock_t in uv.h */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdlib.h>

#include "server/listener.h"

#define LISTEN_BACKLOG 4096  /* load tests open thousands of sockets at once */
#define ACCEPTS_PER_WAKE 256 /* then let the other sockets have the loop */
#define EMFILE_PAUSE_MS 100
#define EMFILE_REPORT_MS 10000

/* One listening socket. */
typedef struct listener {
  uv_poll_t poll;          /* readable: connections to accept */
  uv_timer_t pause;        /* out of descriptors: accept again later */
  int fd;                  /* the listening socket; -1 when none */
  unsigned index;          /* into cfg->listen */
  unsigned handles_open;   /* poll and timer not yet closed */
  struct ohets_srv_listeners *ls;
} listener;

struct ohets_srv_listeners {
  uv_loop_t *loop;
  const ohets_srv_config *cfg;
  ohets_srv_accept_fn accept;
  void *arg;
  int closed;              /* close() called: accept nothing more */
  unsigned n;              /* opened */
  uint64_t last_report_ms; /* of running out of descriptors */
  listener l[OHETS_SRV_MAX_LISTENERS];
  ohets_tls_ctx *tls[OHETS_SRV_MAX_LISTENERS]; /* TLS listeners' contexts */
};

static void on_pause_over(uv_timer_t *t);

/* Out of descriptors: stop polling for a while; say so now and then. */
static void pause_accepting(listener *l, int err) {
  ohets_srv_listeners *ls = l->ls;
  uint64_t now = uv_now(ls->loop);
  if (ls->last_report_ms == 0 || now - ls->last_report_ms >= EMFILE_REPORT_MS) {
    fprintf(stderr, OHETS_SRV_PROG ": accept: %s; pausing new connections for %d ms\n",
            strerror(err), EMFILE_PAUSE_MS);
    ls->last_report_ms = now ? now : 1;
  }
  uv_poll_stop(&l->poll);
  uv_timer_start(&l->pause, on_pause_over, EMFILE_PAUSE_MS, 0);
}

static void on_readable(uv_poll_t *p, int status, int events) {
  listener *l = p->data;
  ohets_srv_listeners *ls = l->ls;
  (void)events;
  if (status < 0) {
    fprintf(stderr, OHETS_SRV_PROG ": accept: %s\n", uv_strerror(status));
    return;
  }
  for (int n = 0; n < ACCEPTS_PER_WAKE && !ls->closed; n++) {
    struct sockaddr_storage peer;
    socklen_t len = sizeof peer;
    memset(&peer, 0, sizeof peer);
    int fd = accept4(l->fd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      int e = errno;
      if (e == EINTR || e == ECONNABORTED)
        continue;
      if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM)
        pause_accepting(l, e);
      else if (e != EAGAIN && e != EWOULDBLOCK)
        fprintf(stderr, OHETS_SRV_PROG ": accept: %s\n", strerror(e));
      return;
    }
    ls->accept(ls->arg, fd, &peer, l->index);
  }
}

static void on_pause_over(uv_timer_t *t) {
  listener *l = t->data;
  if (!l->ls->closed)
    uv_poll_start(&l->poll, UV_READABLE, on_readable);
}

static void format_addr(const ohets_srv_listen_cfg *l, int port, char *out, size_t n) {
  if (strchr(l->host, ':') != NULL)
    snprintf(out, n, "[%s]:%d", l->host, port);
  else
    snprintf(out, n, "%s:%d", l->host, port);
}

/* A bound, listening, non-blocking socket for cfg, or a negative errno. */
static int open_socket(const ohets_srv_listen_cfg *cfg) {
  struct sockaddr_storage ss;
  socklen_t len;
  int v6 = strchr(cfg->host, ':') != NULL;
  memset(&ss, 0, sizeof ss);
  if (v6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)cfg->port);
    if (inet_pton(AF_INET6, cfg->host, &a->sin6_addr) != 1)
      return -EINVAL;
    len = sizeof *a;
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)cfg->port);
    if (inet_pton(AF_INET, cfg->host, &a->sin_addr) != 1)
      return -EINVAL;
    len = sizeof *a;
  }
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  int on = 1;
  int rc = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  /* A v4 listener on the same port stays possible. */
  if (rc == 0 && v6)
    rc = setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
  /* Several processes on one port share its connections, so one can be
   * restarted while the other keeps accepting. */
  if (rc == 0 && cfg->reuse_port)
    rc = setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on);
  if (rc == 0)
    rc = bind(fd, (struct sockaddr *)&ss, len);
  if (rc == 0)
    rc = listen(fd, LISTEN_BACKLOG);
  if (rc != 0) {
    rc = -errno;
    close(fd);
    return rc;
  }
  return fd;
}

int ohets_srv_listeners_start(ohets_srv_listeners **out, uv_loop_t *loop,
                              const ohets_srv_config *cfg, ohets_srv_accept_fn accept,
                              void *arg, char *err, size_t errsz) {
  ohets_srv_listeners *ls = calloc(1, sizeof *ls);
  if (ls == NULL) {
    snprintf(err, errsz, "listen: out of memory");
    return -ENOMEM;
  }
  ls->loop = loop;
  ls->cfg = cfg;
  ls->accept = accept;
  ls->arg = arg;
  *out = ls;
  int rc = ohets_srv_listeners_tls_load(cfg, ls->tls, err, errsz);
  if (rc != 0)
    return rc;
  for (size_t i = 0; i < cfg->n_listen; i++) {
    listener *l = &ls->l[i];
    char where[96];
    format_addr(&cfg->listen[i], cfg->listen[i].port, where, sizeof where);
    l->fd = -1;
    l->ls = ls;
    l->index = (unsigned)i;
    int fd = open_socket(&cfg->listen[i]);
    if (fd < 0) {
      snprintf(err, errsz, "listen %s: %s", where, strerror(-fd));
      return fd;
    }
    rc = uv_poll_init_socket(loop, &l->poll, fd);
    if (rc != 0) {
      close(fd);
      snprintf(err, errsz, "listen %s: %s", where, uv_strerror(rc));
      return rc;
    }
    l->fd = fd;
    uv_timer_init(loop, &l->pause);
    l->poll.data = l->pause.data = l;
    l->handles_open = 2;
    ls->n = (unsigned)i + 1;
    rc = uv_poll_start(&l->poll, UV_READABLE, on_readable);
    if (rc != 0) {
      snprintf(err, errsz, "listen %s: %s", where, uv_strerror(rc));
      return rc;
    }
  }
  return 0;
}

void ohets_srv_listeners_log(const ohets_srv_listeners *ls, ohets_srv_log *log) {
  for (unsigned i = 0; i < ls->n; i++) {
    const ohets_srv_listen_cfg *l = &ls->cfg->listen[i];
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int port = l->port;
    if (getsockname(ls->l[i].fd, (struct sockaddr *)&ss, &len) == 0)
      port = ss.ss_family == AF_INET6
                 ? ntohs(((struct sockaddr_in6 *)(void *)&ss)->sin6_port)
                 : ntohs(((struct sockaddr_in *)(void *)&ss)->sin_port);
    json_t *e = ohets_srv_log_event("listen", 0);
    if (e == NULL)
      continue;
    json_object_set_new(e, "listener", json_integer(i));
    json_object_set_new(e, "host", json_string(l->host));
    json_object_set_new(e, "port", json_integer(port));
    if (l->protocol == OHETS_SRV_PROTOCOL_CORE)
      json_object_set_new(e, "protocol", json_string("core"));
    else
      json_object_set_new(e, "framing", json_string(ohets_srv_framing_name(l->framing)));
    json_object_set_new(e, "tls", json_boolean(l->tls != NULL));
    if (l->proxy_protocol)
      json_object_set_new(e, "proxy_protocol", json_true());
    if (l->reuse_port)
      json_object_set_new(e, "reuse_port", json_true());
    if (l->has_submitters) {
      json_t *subs = json_array();
      for (size_t k = 0; k < l->n_submitters; k++)
        json_array_append_new(subs, json_string(l->submitters[k]));
      json_object_set_new(e, "submitters", subs);
    }
    ohets_srv_log_emit(log, e);
  }
}

/* The socket is closed once libuv has let go of both handles. */
static void on_listener_handle_closed(uv_handle_t *h) {
  listener *l = h->data;
  if (--l->handles_open > 0)
    return;
  close(l->fd);
  l->fd = -1;
}

void ohets_srv_listeners_close(ohets_srv_listeners *ls) {
  if (ls == NULL || ls->closed)
    return;
  ls->closed = 1;
  for (unsigned i = 0; i < ls->n; i++) {
    listener *l = &ls->l[i];
    if (l->handles_open == 0)
      continue;
    uv_close((uv_handle_t *)&l->poll, on_listener_handle_closed);
    uv_close((uv_handle_t *)&l->pause, on_listener_handle_closed);
  }
}

void ohets_srv_listeners_free(ohets_srv_listeners *ls) {
  if (ls == NULL)
    return;
  ohets_srv_listeners_tls_drop(ls->tls);
  free(ls);
}

ohets_tls_ctx *ohets_srv_listeners_tls(const ohets_srv_listeners *ls, unsigned index) {
  return ls->tls[index];
}

static ohets_tls_client_cert client_cert_mode(ohets_srv_client_cert c) {
  switch (c) {
  case OHETS_SRV_CLIENT_CERT_REQUIRED: return OHETS_TLS_CLIENT_CERT_REQUIRED;
  case OHETS_SRV_CLIENT_CERT_OPTIONAL: return OHETS_TLS_CLIENT_CERT_OPTIONAL;
  default: return OHETS_TLS_CLIENT_CERT_NONE;
  }
}

int ohets_srv_listeners_tls_load(const ohets_srv_config *cfg,
                                 ohets_tls_ctx *ctxs[OHETS_SRV_MAX_LISTENERS], char *err,
                                 size_t errsz) {
  memset(ctxs, 0, OHETS_SRV_MAX_LISTENERS * sizeof *ctxs);
  for (size_t i = 0; i < cfg->n_listen; i++) {
    const ohets_srv_tls_cfg *t = cfg->listen[i].tls;
    if (t == NULL)
      continue;
    ohets_tls_settings set = {t->cert, t->key, t->ca[0] ? t->ca : NULL,
                              client_cert_mode(t->client_cert), t->min_version};
    char why[512];
    int rc = ohets_tls_ctx_server(&ctxs[i], &set, why, sizeof why);
    if (rc != 0) {
      char where[96];
      format_addr(&cfg->listen[i], cfg->listen[i].port, where, sizeof where);
      snprintf(err, errsz, "listen %s: tls: %s", where, why);
      ohets_srv_listeners_tls_drop(ctxs);
      return rc;
    }
  }
  return 0;
}

void ohets_srv_listeners_tls_swap(ohets_srv_listeners *ls,
                                  ohets_tls_ctx *ctxs[OHETS_SRV_MAX_LISTENERS]) {
  ohets_srv_listeners_tls_drop(ls->tls);
  memcpy(ls->tls, ctxs, sizeof ls->tls);
  memset(ctxs, 0, sizeof ls->tls);
}

void ohets_srv_listeners_tls_drop(ohets_tls_ctx *ctxs[OHETS_SRV_MAX_LISTENERS]) {
  for (size_t i = 0; i < OHETS_SRV_MAX_LISTENERS; i++) {
    ohets_tls_ctx_release(ctxs[i]);
    ctxs[i] = NULL;
  }
}
