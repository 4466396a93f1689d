/* The PROXY stage of a proxy_protocol listener (DESIGN §14): before the
 * session (and before TLS), read the header a balancer sends, check that
 * the balancer is trusted, and start the session with the client's
 * address from the header. */
#ifndef OHETS_SERVER_PROXY_ACCEPT_H
#define OHETS_SERVER_PROXY_ACCEPT_H

#include <sys/socket.h>

#include "server/server.h"

/* fd: the accepted socket (the stage's from here).  An untrusted peer, a
 * missing or broken header, or one not whole within frame_deadline_ms:
 * closed with no record, `open` and `close` (reason protocol) logged. */
void ohets_srv_proxy_accept(ohets_srv_server *srv, int fd, const struct sockaddr_storage *peer,
                            unsigned listener);
/* Shutdown: connections still in the stage are closed (they asked nothing). */
void ohets_srv_proxy_close_all(ohets_srv_server *srv);
/* Connections in the stage now. */
unsigned ohets_srv_proxy_pending(const ohets_srv_server *srv);

#endif /* OHETS_SERVER_PROXY_ACCEPT_H */
