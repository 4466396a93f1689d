/* Listeners: one TCP server handle per configured address, IPv4 or IPv6,
 * each with its own framing and optional submitter list. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* pthread_rwlock_t in uv.h, getopt_long, strnlen */
#endif
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "server/server.h"

#define LISTEN_BACKLOG 4096 /* load tests open thousands of sockets at once */

static unsigned listener_index(ohets_srv_server *srv, uv_stream_t *s) {
  return (unsigned)((uv_tcp_t *)s - srv->listeners);
}

static void on_connection(uv_stream_t *server, int status) {
  ohets_srv_server *srv = server->data;
  if (status < 0) {
    fprintf(stderr, OHETS_SRV_PROG ": accept: %s\n", uv_strerror(status));
    return;
  }
  if (srv->stopping)
    return;
  ohets_srv_conn_accept(srv, server, listener_index(srv, server));
}

static void format_addr(const ohets_srv_listen_cfg *l, int port, char *out, size_t n) {
  if (strchr(l->host, ':') != NULL)
    snprintf(out, n, "[%s]:%d", l->host, port);
  else
    snprintf(out, n, "%s:%d", l->host, port);
}

int ohets_srv_listeners_start(ohets_srv_server *srv, char *err, size_t errsz) {
  const ohets_srv_config *cfg = srv->cfg;
  for (size_t i = 0; i < cfg->n_listen; i++) {
    const ohets_srv_listen_cfg *l = &cfg->listen[i];
    char where[96];
    format_addr(l, l->port, where, sizeof where);
    struct sockaddr_storage ss;
    unsigned flags = 0;
    int rc;
    if (strchr(l->host, ':') != NULL) {
      rc = uv_ip6_addr(l->host, l->port, (struct sockaddr_in6 *)&ss);
      flags = UV_TCP_IPV6ONLY; /* a v4 listener on the same port stays possible */
    } else {
      rc = uv_ip4_addr(l->host, l->port, (struct sockaddr_in *)&ss);
    }
    if (rc != 0) {
      snprintf(err, errsz, "listen %s: %s", where, uv_strerror(rc));
      return rc;
    }
    uv_tcp_t *t = &srv->listeners[i];
    rc = uv_tcp_init(srv->loop, t);
    if (rc != 0) {
      snprintf(err, errsz, "listen %s: %s", where, uv_strerror(rc));
      return rc;
    }
    t->data = srv;
    srv->n_listeners = (unsigned)i + 1;
    rc = uv_tcp_bind(t, (const struct sockaddr *)&ss, flags);
    if (rc == 0)
      rc = uv_listen((uv_stream_t *)t, LISTEN_BACKLOG, on_connection);
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
    int len = (int)sizeof ss;
    int port = l->port;
    if (uv_tcp_getsockname(&srv->listeners[i], (struct sockaddr *)&ss, &len) == 0)
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

void ohets_srv_listeners_close(ohets_srv_server *srv) {
  for (unsigned i = 0; i < srv->n_listeners; i++) {
    uv_handle_t *h = (uv_handle_t *)&srv->listeners[i];
    if (!uv_is_closing(h))
      uv_close(h, NULL);
  }
}
