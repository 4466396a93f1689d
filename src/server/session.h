/* Sessions: one per accepted socket, driven by the loop.  A session is a
 * transport (how bytes cross the socket) + a door (how bytes become
 * requests and answers become bytes) + this: the queue of requests, their
 * trip to the workers and back in order, the timers, and how the
 * connection ends. */
#ifndef OHETS_SERVER_SESSION_H
#define OHETS_SERVER_SESSION_H

#include <sys/socket.h>

#include "server/job.h"
#include "server/server.h"

/* Why a session ended: the `close` event's reason. */
typedef enum ohets_srv_reason {
  OHETS_SRV_REASON_IDLE = 0,
  OHETS_SRV_REASON_PEER,
  OHETS_SRV_REASON_PROTOCOL,
  OHETS_SRV_REASON_DEADLINE,
  OHETS_SRV_REASON_SHUTDOWN,
  OHETS_SRV_REASON_LIMIT,
  OHETS_SRV_REASON_TLS
} ohets_srv_reason;

const char *ohets_srv_reason_name(ohets_srv_reason r);
/* A peer as the log writes it: "1.2.3.4:5", "[::1]:5", or "?". */
void ohets_srv_peer_text(const struct sockaddr_storage *ss, char *out, size_t n);

/* A socket the listener accepted (fd is the session's from here).  A TLS
 * listener's sessions begin with the handshake. */
void ohets_srv_session_accept(ohets_srv_server *srv, int fd, const struct sockaddr_storage *peer,
                              unsigned listener);
/* A worker's result, on the loop thread: answered on its session if that
 * is still open, dropped otherwise; the job goes back to dispatch. */
void ohets_srv_session_job_done(ohets_srv_server *srv, ohets_srv_job *job);
/* Shutdown: every session stops reading, answers what it has whole, then
 * closes; srv->drained is called when the last one has. */
void ohets_srv_sessions_drain(ohets_srv_server *srv);
/* The drain ran out of time: close whatever is left. */
void ohets_srv_sessions_close_all(ohets_srv_server *srv);

#endif /* OHETS_SERVER_SESSION_H */
