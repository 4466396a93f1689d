/* The PROXY stage (proxy_accept.h).
 *
 * The header is read from the socket without taking a byte of the
 * client's: each read peeks, and only bytes known to be header bytes are
 * consumed (all of them while the header is not whole yet; exactly the
 * rest once the parser knows its length).  So the session, and the TLS
 * engine under it, see the client's stream from its first byte. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/proxy.h"
#include "server/proxy_accept.h"
#include "server/session.h"

typedef struct pending {
  uv_poll_t poll;              /* readable: more of the header */
  uv_timer_t deadline;         /* the header must be whole by then */
  unsigned handles_open;
  ohets_srv_server *srv;
  int fd;                      /* -1 once handed on or closed */
  unsigned listener;
  struct sockaddr_storage peer;   /* the balancer's side of the socket */
  struct sockaddr_storage source; /* the client, from the header */
  uint64_t t_open;             /* hrtime at accept */
  uint8_t buf[OHETS_SRV_PROXY_MAX];
  size_t have;                 /* header bytes consumed so far */
  int handed_on;               /* 1: fd went to a session */
  struct pending *prev, *next; /* srv's list, for the drain */
} pending;

/* The stage's connections, for the drain and the connection limit: not
 * sessions yet, so not in the session table.  Loop thread only, and one
 * server per process. */
static pending *all_head;
static unsigned n_pending;

unsigned ohets_srv_proxy_pending(const ohets_srv_server *srv) {
  (void)srv;
  return n_pending;
}

/* open + close, as a session that ended before it began. */
static void log_refusal(pending *p, const char *why, const char *reason) {
  ohets_srv_server *srv = p->srv;
  uint64_t id = ++srv->next_id;
  char text[80];
  ohets_srv_peer_text(&p->peer, text, sizeof text);
  json_t *e = ohets_srv_log_event("open", id);
  if (e != NULL) {
    json_object_set_new(e, "peer", json_string(text));
    json_object_set_new(e, "listener", json_integer(p->listener));
    json_object_set_new(e, "framing",
                        json_string(ohets_srv_framing_name(srv->cfg->listen[p->listener].framing)));
    json_object_set_new(e, "proxy_error", json_string(why));
    ohets_srv_log_emit(srv->log, e);
  }
  ohets_srv_metrics_close(srv->metrics, reason);
  e = ohets_srv_log_event("close", id);
  if (e != NULL) {
    json_object_set_new(e, "reason", json_string(reason));
    json_object_set_new(e, "requests", json_integer(0));
    json_object_set_new(e, "bytes", json_integer((json_int_t)p->have));
    json_object_set_new(e, "bytes_in", json_integer((json_int_t)p->have));
    json_object_set_new(e, "bytes_out", json_integer(0));
    json_object_set_new(e, "duration_ms",
                        json_integer((json_int_t)((uv_hrtime() - p->t_open) / 1000000u)));
    ohets_srv_log_emit(srv->log, e);
  }
}

static void on_closed(uv_handle_t *h) {
  pending *p = h->data;
  if (--p->handles_open > 0)
    return;
  ohets_srv_server *srv = p->srv;
  if (p->handed_on && !srv->stopping)
    ohets_srv_session_accept(srv, p->fd, &p->source, p->listener);
  else
    close(p->fd);
  free(p);
}

/* Leaves the stage: to a session (handed_on) or closed. */
static void finish(pending *p) {
  if (uv_is_closing((uv_handle_t *)&p->poll))
    return;
  if (p->prev != NULL)
    p->prev->next = p->next;
  else
    all_head = p->next;
  if (p->next != NULL)
    p->next->prev = p->prev;
  n_pending--;
  /* The session's transport watches the fd next: this poll must be gone
   * first (one fd, one watcher), so the hand-off waits for the close. */
  uv_close((uv_handle_t *)&p->poll, on_closed);
  uv_close((uv_handle_t *)&p->deadline, on_closed);
}

static void refuse(pending *p, const char *why) {
  log_refusal(p, why, "protocol");
  finish(p);
}

static void on_deadline(uv_timer_t *t) { refuse(t->data, "header not whole in time"); }

static void on_readable(uv_poll_t *h, int status, int events) {
  pending *p = h->data;
  (void)events;
  if (status < 0) {
    refuse(p, "socket error");
    return;
  }
  uint8_t peek[OHETS_SRV_PROXY_MAX];
  ssize_t n = recv(p->fd, peek, sizeof p->buf - p->have, MSG_PEEK);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n <= 0) {
    refuse(p, n == 0 ? "closed before a header" : "socket error");
    return;
  }
  memcpy(p->buf + p->have, peek, (size_t)n);
  ohets_srv_proxy px;
  ohets_srv_proxy_status st = ohets_srv_proxy_parse(p->buf, p->have + (size_t)n, &px);
  if (st == OHETS_SRV_PROXY_BAD) {
    refuse(p, px.why);
    return;
  }
  /* Take what is surely header: all of it while it is not whole, else
   * exactly the rest of it. */
  size_t take = st == OHETS_SRV_PROXY_OK ? px.len - p->have : (size_t)n;
  if (recv(p->fd, p->buf + p->have, take, 0) != (ssize_t)take) {
    refuse(p, "socket error");
    return;
  }
  p->have += take;
  if (st == OHETS_SRV_PROXY_NEED_MORE)
    return;
  p->source = px.local ? p->peer : px.source;
  p->handed_on = 1;
  finish(p);
}

void ohets_srv_proxy_accept(ohets_srv_server *srv, int fd, const struct sockaddr_storage *peer,
                            unsigned index) {
  const ohets_srv_listen_cfg *l = &srv->cfg->listen[index];
  pending *p = calloc(1, sizeof *p);
  if (p == NULL) {
    close(fd);
    return;
  }
  p->srv = srv;
  p->fd = fd;
  p->listener = index;
  p->peer = *peer;
  p->t_open = uv_hrtime();
  if (uv_poll_init_socket(srv->loop, &p->poll, fd) != 0) {
    close(fd);
    free(p);
    return;
  }
  uv_timer_init(srv->loop, &p->deadline);
  p->poll.data = p->deadline.data = p;
  p->handles_open = 2;
  p->next = all_head;
  if (all_head != NULL)
    all_head->prev = p;
  all_head = p;
  n_pending++;
  if (!ohets_networks_contain(l->trusted, l->n_trusted, (const struct sockaddr *)peer)) {
    refuse(p, "peer is not a trusted proxy");
    return;
  }
  if (ohets_srv_conntable_count(srv->sessions) + n_pending > srv->cfg->max_connections) {
    log_refusal(p, "max_connections", "limit");
    finish(p);
    return;
  }
  uv_timer_start(&p->deadline, on_deadline, srv->cfg->frame_deadline_ms, 0);
  uv_poll_start(&p->poll, UV_READABLE, on_readable);
}

void ohets_srv_proxy_close_all(ohets_srv_server *srv) {
  (void)srv;
  while (all_head != NULL) {
    pending *p = all_head;
    log_refusal(p, "shutdown", "shutdown");
    finish(p);
  }
}
