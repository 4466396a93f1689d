/* Listeners: one listening socket per configured address.  The loop polls
 * each one and accepts with accept4() itself, because accept() is the only
 * moment the peer's address is sure to be known. */
#ifndef OHETS_SERVER_LISTENER_H
#define OHETS_SERVER_LISTENER_H

#include <stddef.h>
#include <sys/socket.h>

#include <uv.h>

#include "server/config.h"
#include "server/slog.h"
#include "tls/tls.h"

typedef struct ohets_srv_listeners ohets_srv_listeners;

/* fd: the accepted socket, non-blocking, now the callee's. */
typedef void (*ohets_srv_accept_fn)(void *arg, int fd, const struct sockaddr_storage *peer,
                                    unsigned index);

/* Binds and listens on every cfg->listen entry; on failure writes
 * "listen HOST:PORT: reason" into err (and the caller still calls
 * ohets_srv_listeners_close, then frees after the loop ran). */
int ohets_srv_listeners_start(ohets_srv_listeners **out, uv_loop_t *loop,
                              const ohets_srv_config *cfg, ohets_srv_accept_fn accept,
                              void *arg, char *err, size_t errsz);
/* A TLS listener's current context (the connection holds its own
 * reference through the engine); NULL on a plain listener. */
ohets_tls_ctx *ohets_srv_listeners_tls(const ohets_srv_listeners *ls, unsigned index);

/* Loads a TLS context for every TLS listener of cfg (ctxs[i] NULL for the
 * plain ones).  Reads files: run it off the loop (SIGHUP) or before it
 * runs.  0, or a negative errno with one line naming the listener and the
 * file in err (and nothing held). */
int ohets_srv_listeners_tls_load(const ohets_srv_config *cfg,
                                 ohets_tls_ctx *ctxs[OHETS_SRV_MAX_LISTENERS], char *err,
                                 size_t errsz);
/* Swaps in what _tls_load made (taking those references); connections
 * already open keep the context they started with. */
void ohets_srv_listeners_tls_swap(ohets_srv_listeners *ls,
                                  ohets_tls_ctx *ctxs[OHETS_SRV_MAX_LISTENERS]);
/* Releases what _tls_load made, when it is not swapped in. */
void ohets_srv_listeners_tls_drop(ohets_tls_ctx *ctxs[OHETS_SRV_MAX_LISTENERS]);

/* One `listen` event per listener with its real port. */
void ohets_srv_listeners_log(const ohets_srv_listeners *ls, ohets_srv_log *log);
/* Stops accepting and closes the sockets (idempotent). */
void ohets_srv_listeners_close(ohets_srv_listeners *ls);
/* After the loop has run the close callbacks. */
void ohets_srv_listeners_free(ohets_srv_listeners *ls);

#endif /* OHETS_SERVER_LISTENER_H */
