/* The admin endpoint (DESIGN §14): GET /healthz, /readyz and /metrics
 * over HTTP/1.0 or 1.1 on its own address, served on the loop (every
 * answer is made from memory), requests read by libhttp-parser.  One
 * request per connection: the answer says Connection: close. */
#ifndef OHETS_SERVER_ADMIN_H
#define OHETS_SERVER_ADMIN_H

#include <stddef.h>

#include <uv.h>

typedef struct ohets_srv_admin ohets_srv_admin;

typedef struct ohets_srv_admin_cb {
  /* The /metrics body (malloc'd; the admin frees it), NULL for a 500. */
  char *(*metrics)(void *arg, size_t *len);
  /* 1 when ready; 0 with why ("draining", "store failing") for a 503. */
  int (*ready)(void *arg, const char **why);
} ohets_srv_admin_cb;

/* Binds host:port (port 0: the kernel picks).  On failure one line in err. */
int ohets_srv_admin_start(ohets_srv_admin **out, uv_loop_t *loop, const char *host, int port,
                          const ohets_srv_admin_cb *cb, void *arg, char *err, size_t errsz);
/* The port it listens on. */
int ohets_srv_admin_port(const ohets_srv_admin *a);
/* Stops listening and closes its connections (idempotent); the memory
 * goes with the last close callback. */
void ohets_srv_admin_close(ohets_srv_admin *a);

#endif /* OHETS_SERVER_ADMIN_H */
