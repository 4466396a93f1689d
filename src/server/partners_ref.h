/* Partner-table snapshots shared by the loop and the jobs in flight, and
 * the DESIGN §4 rule a submitter must pass on a given socket. */
#ifndef OHETS_SERVER_PARTNERS_REF_H
#define OHETS_SERVER_PARTNERS_REF_H

#include <sys/socket.h>

#include "server/config.h"
#include "store/partners.h"

/* One loaded table, swapped on SIGHUP.  refs is touched on the loop thread
 * only (a job takes its reference when dispatched and drops it when its
 * result comes back), so a reload never frees a table a worker reads. */
typedef struct ohets_srv_partners_ref {
  ohets_partner_table *table; /* NULL: no partners file, everyone allowed */
  unsigned refs;
} ohets_srv_partners_ref;

ohets_srv_partners_ref *ohets_srv_partners_new(ohets_partner_table *table);
ohets_srv_partners_ref *ohets_srv_partners_hold(ohets_srv_partners_ref *r);
void ohets_srv_partners_release(ohets_srv_partners_ref *r);

/* What the connection proves about itself beyond its address: the SHA-256
 * of its TLS client certificate (64 lower-case hex digits), "" for none,
 * and whether it came over TLS at all. */
typedef struct ohets_srv_peer_id {
  int tls;
  char cert_sha256[65];
} ohets_srv_peer_id;

/* DESIGN §4 and §12: known ID, peer in its networks, allowed on the
 * listener, and on a TLS listener one of its `certs` when it lists any. */
int ohets_srv_submitter_allowed(const ohets_partner_table *t, const struct sockaddr *peer,
                                const ohets_srv_peer_id *id,
                                const ohets_srv_listen_cfg *listener, const char *submitter);

#endif /* OHETS_SERVER_PARTNERS_REF_H */
