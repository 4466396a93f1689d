/* A job: one request on its way to a worker and its answer on the way
 * back.  It carries copies of everything the worker needs (request bytes,
 * peer address and identity, listener, a held partners snapshot, the
 * door's encoder) and the connection's id, never a pointer into a
 * connection, so the worker never looks at one. */
#ifndef OHETS_SERVER_JOB_H
#define OHETS_SERVER_JOB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "openhets/openhets.h"
#include "server/door.h"
#include "server/partners_ref.h"

typedef struct ohets_srv_job {
  struct ohets_srv_job *next;
  uint64_t conn_id;            /* the connection to answer, if still open */
  uint8_t *req;                /* owned copy of the request payload */
  size_t req_len;
  size_t bytes_in;             /* bytes read for it, framing included */
  int raw;                     /* answer unwrapped */
  ohets_srv_door_serve_fn serve; /* the door's worker side */
  struct sockaddr_storage peer;
  ohets_srv_peer_id peer_id;   /* TLS client certificate, if any */
  unsigned listener;           /* index into cfg->listen */
  ohets_srv_partners_ref *partners; /* snapshot held for this job */
  uint64_t t_frame;            /* hrtime: request complete */
  uint64_t t_enqueue;          /* hrtime: handed to the pool */
  uint64_t t_start, t_done;    /* hrtime: worker picked up / finished */
  /* Results, written by the worker. */
  int rc;                      /* 0, or no answer could be made */
  int overloaded;              /* answered AAA 42 for queue wait / store */
  ohets_buf answer;            /* bytes for the wire */
  ohets_outcome outcome;       /* mbi wiped before the loop sees it */
  ohets_srv_door_log door_log; /* the door's log fields */
  char mbi_hash[17];           /* "" when no key or no MBI */
} ohets_srv_job;

void ohets_srv_job_free(ohets_srv_job *job);

#endif /* OHETS_SERVER_JOB_H */
