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

#include "server/server.h"

#define LISTEN_BACKLOG 4096  /* load tests open thousands of sockets at once */
#define ACCEPTS_PER_WAKE 256 /* then let the other sockets have the loop */
#define EMFILE_PAUSE_MS 100
#define EMFILE_REPORT_MS 10000

static void on_pause_over(uv_timer_t *t);

/* Out of descriptors: stop polling for a while; say so now and then. */
static void pause_accepting(ohets_srv_listener *l, int err) {
  static uint64_t last_report_ms; /* loop thread only */
  uint64_t now = uv_now(l->srv->loop);
  if (last_report_ms == 0 || now - last_report_ms >= EMFILE_REPORT_MS) {
    fprintf(stderr, OHETS_SRV_PROG ": accept: %s; pausing new connections for %d ms\n",
            strerror(err), EMFILE_PAUSE_MS);
    last_report_ms = now ? now : 1;
  }
  uv_poll_stop(&l->poll);
  uv_timer_start(&l->pause, on_pause_over, EMFILE_PAUSE_MS, 0);
}

static void on_readable(uv_poll_t *p, int status, int events) {
  ohets_srv_listener *l = p->data;
  ohets_srv_server *srv = l->srv;
  (void)events;
  if (status < 0) {
    fprintf(stderr, OHETS_SRV_PROG ": accept: %s\n", uv_strerror(status));
    return;
  }
  for (int n = 0; n < ACCEPTS_PER_WAKE && !srv->stopping; n++) {
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
    ohets_srv_conn_accept(srv, fd, &peer, l->index);
  }
}

static void on_pause_over(uv_timer_t *t) {
  ohets_srv_listener *l = t->data;
  if (!l->srv->stopping && !uv_is_closing((uv_handle_t *)&l->poll))
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

int ohets_srv_listeners_start(ohets_srv_server *srv, char *err, size_t errsz) {
  const ohets_srv_config *cfg = srv->cfg;
  for (size_t i = 0; i < cfg->n_listen; i++) {
    ohets_srv_listener *l = &srv->listeners[i];
    char where[96];
    format_addr(&cfg->listen[i], cfg->listen[i].port, where, sizeof where);
    memset(l, 0, sizeof *l);
    l->fd = -1;
    l->srv = srv;
    l->index = (unsigned)i;
    int fd = open_socket(&cfg->listen[i]);
    if (fd < 0) {
      snprintf(err, errsz, "listen %s: %s", where, strerror(-fd));
      return fd;
    }
    int rc = uv_poll_init_socket(srv->loop, &l->poll, fd);
    if (rc != 0) {
      close(fd);
      snprintf(err, errsz, "listen %s: %s", where, uv_strerror(rc));
      return rc;
    }
    l->fd = fd;
    uv_timer_init(srv->loop, &l->pause);
    l->poll.data = l->pause.data = l;
    l->handles_open = 2;
    srv->n_listeners = (unsigned)i + 1;
    rc = uv_poll_start(&l->poll, UV_READABLE, on_readable);
    if (rc != 0) {
      snprintf(err, errsz, "listen %s: %s", where, uv_strerror(rc));
      return rc;
    }
  }
  return 0;
}

void ohets_srv_listeners_log(ohets_srv_server *srv) {
  for (unsigned i = 0; i < srv->n_listeners; i++) {
    const ohets_srv_listen_cfg *l = &srv->cfg->listen[i];
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int port = l->port;
    if (getsockname(srv->listeners[i].fd, (struct sockaddr *)&ss, &len) == 0)
      port = ss.ss_family == AF_INET6
                 ? ntohs(((struct sockaddr_in6 *)(void *)&ss)->sin6_port)
                 : ntohs(((struct sockaddr_in *)(void *)&ss)->sin_port);
    json_t *e = ohets_srv_log_event("listen", 0);
    if (e == NULL)
      continue;
    json_object_set_new(e, "listener", json_integer(i));
    json_object_set_new(e, "host", json_string(l->host));
    json_object_set_new(e, "port", json_integer(port));
    json_object_set_new(e, "framing", json_string(ohets_srv_framing_name(l->framing)));
    if (l->has_submitters) {
      json_t *subs = json_array();
      for (size_t k = 0; k < l->n_submitters; k++)
        json_array_append_new(subs, json_string(l->submitters[k]));
      json_object_set_new(e, "submitters", subs);
    }
    ohets_srv_log_emit(srv->log, e);
  }
}

/* The socket is closed once libuv has let go of both handles. */
static void on_listener_handle_closed(uv_handle_t *h) {
  ohets_srv_listener *l = h->data;
  if (--l->handles_open > 0)
    return;
  close(l->fd);
  l->fd = -1;
}

void ohets_srv_listeners_close(ohets_srv_server *srv) {
  for (unsigned i = 0; i < srv->n_listeners; i++) {
    ohets_srv_listener *l = &srv->listeners[i];
    if (l->handles_open == 0 || uv_is_closing((uv_handle_t *)&l->poll))
      continue;
    uv_close((uv_handle_t *)&l->poll, on_listener_handle_closed);
    uv_close((uv_handle_t *)&l->pause, on_listener_handle_closed);
  }
}
