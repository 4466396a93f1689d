/* Partner-table snapshots shared by the loop and the jobs in flight, and
 * the §4 rule a submitter must pass on a given socket.
 *
 * SIGHUP loads a new table and swaps it in; jobs already dispatched keep
 * the table they started with until their result is back, so a reload
 * never frees a table a worker is reading. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* pthread_rwlock_t in uv.h, getopt_long, strnlen */
#endif
#include <stdlib.h>
#include <string.h>

#include "server/partners_ref.h"

ohets_srv_partners_ref *ohets_srv_partners_new(ohets_partner_table *table) {
  ohets_srv_partners_ref *r = calloc(1, sizeof *r);
  if (r == NULL)
    return NULL;
  r->table = table;
  r->refs = 1;
  return r;
}

ohets_srv_partners_ref *ohets_srv_partners_hold(ohets_srv_partners_ref *r) {
  r->refs++;
  return r;
}

void ohets_srv_partners_release(ohets_srv_partners_ref *r) {
  if (r == NULL || --r->refs > 0)
    return;
  ohets_partners_free(r->table);
  free(r);
}

int ohets_srv_submitter_allowed(const ohets_partner_table *t, const struct sockaddr *peer,
                                const ohets_srv_peer_id *id,
                                const ohets_srv_listen_cfg *listener, const char *submitter) {
  if (listener != NULL && listener->has_submitters) {
    size_t i = 0;
    while (i < listener->n_submitters && strcmp(listener->submitters[i], submitter) != 0)
      i++;
    if (i == listener->n_submitters)
      return 0;
  }
  if (t == NULL) /* no partners file: any submitter, from anywhere */
    return 1;
  const ohets_partner *p = ohets_partners_find(t, submitter);
  if (p == NULL || !ohets_partner_allows_addr(p, peer))
    return 0;
  /* §12: on a TLS listener a partner that lists certs must present one. */
  if (id != NULL && id->tls && !ohets_partner_cert_allowed(p, id->cert_sha256))
    return 0;
  return 1;
}
