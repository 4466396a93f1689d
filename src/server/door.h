/* A door: how a listener's bytes become requests and answers become bytes
 * (the Extranet wrapper, DESIGN §3; CORE's HTTPS envelopes, §13).  A
 * connection is a transport (TCP, TLS) + a door + a session, and none of
 * the three knows the others' insides.
 *
 * The loop side (next, interim, error_answer) runs on the loop thread with
 * the connection's door state; the worker side (serve) runs on a worker
 * with only what the job carries, so it takes no door state. */
#ifndef OHETS_SERVER_DOOR_H
#define OHETS_SERVER_DOOR_H

#include <stddef.h>
#include <stdint.h>

#include "openhets/openhets.h"
#include "server/config.h"
#include "server/partners_ref.h"

typedef struct ohets_srv_door ohets_srv_door;

typedef enum ohets_srv_door_status {
  OHETS_SRV_DOOR_NEED_MORE = 0, /* no whole request yet */
  OHETS_SRV_DOOR_REQUEST,       /* one request framed */
  OHETS_SRV_DOOR_ERROR          /* the stream cannot be framed past here */
} ohets_srv_door_status;

/* The errors a session asks a door to answer, whatever the door: each
 * door words them its own way (a HETS record, an HTTP status). */
#define OHETS_SRV_DOOR_ERR_DEADLINE "HTS00003" /* request not whole in time */
#define OHETS_SRV_DOOR_ERR_TOO_BIG "HTS00002"  /* more bytes than the door may hold */
#define OHETS_SRV_DOOR_ERR_REFUSED "SBY00502"  /* the submitter's connection limit */

typedef struct ohets_srv_door_request {
  size_t off, len;  /* the request's payload within the bytes given */
  size_t consumed;  /* bytes it took, framing included */
  int raw;          /* answer it unwrapped */
  uint8_t *owned;   /* when not NULL: the request as the door rebuilt it
                       (malloc'd, len bytes; the session takes it) instead
                       of the bytes at off */
  int last;         /* the peer said no request follows this one (HTTP's
                       Connection: close): nothing after it is framed */
  const char *error; /* OHETS_SRV_DOOR_ERROR: the door's code to answer */
} ohets_srv_door_request;

/* What a door adds to a request's log line and metrics (§13's fields). */
typedef struct ohets_srv_door_log {
  const char *envelope;   /* "soap", "mime", "wsdl"; NULL: none (extranet) */
  char payload_id[40];    /* the PayloadID as sent, when a UUID's length */
  int http_status;        /* 0: not HTTP */
  char error_code[40];    /* CORE ErrorCode; "" for none */
  int no_answer;          /* 1: no X12 answer was made (envelope error) */
} ohets_srv_door_log;

/* Worker side: one request, and what the worker offers to answer it. */
typedef struct ohets_srv_door_work {
  const uint8_t *req;                 /* the request as framed */
  size_t req_len;
  int raw;                            /* answer unwrapped (extranet) */
  const ohets_srv_peer_id *peer_id;   /* TLS client certificate */
  const ohets_partner_table *partners; /* NULL: no partners file */
  const ohets_srv_listen_cfg *listener;
  const ohets_srv_config *cfg;
  struct ohets_srv_replay *replay;    /* PayloadID cache (core) */
  struct ohets_srv_credcache *creds;  /* passwords checked lately (core) */
  /* Runs the core on one X12 interchange as the Extranet does (overload,
   * store health, retries); submitter, when not NULL, is the only ISA06
   * the partner rules accept (the core door's authenticated one). */
  int (*respond)(void *ctx, const uint8_t *x12, size_t n, const char *submitter,
                 ohets_buf *payload, ohets_outcome *o);
  void *respond_ctx;
  ohets_buf *scratch;                 /* the worker's reusable buffer for
                                         the core's answer (wiped after) */
  ohets_buf *answer;                  /* out: the wire bytes */
  ohets_outcome *outcome;             /* out: what the core answered */
  ohets_srv_door_log *log;            /* out: the door's log fields */
} ohets_srv_door_work;

/* Worker side: answers one request (0), or a negative errno when no
 * answer could be made. */
typedef int (*ohets_srv_door_serve_fn)(ohets_srv_door_work *w);

typedef struct ohets_srv_door_ops {
  const char *name; /* "extranet", "core" */
  int (*open)(ohets_srv_door **out, const ohets_srv_listen_cfg *l, const ohets_srv_config *cfg);
  void (*free)(ohets_srv_door *d);
  /* Frames the next request from buf (the bytes read and not yet taken). */
  ohets_srv_door_status (*next)(ohets_srv_door *d, const uint8_t *buf, size_t len,
                                ohets_srv_door_request *out);
  /* Whether an answer made now (an error, before a request was framed)
   * goes out unwrapped. */
  int (*raw_now)(const ohets_srv_door *d);
  /* Bytes to send before the request is whole (HTTP's 100 Continue), once;
   * NULL: nothing.  Asked only when every earlier answer is out. */
  const char *(*interim)(ohets_srv_door *d);
  /* Loop side: the wire bytes answering a door error code (its own from
   * next, or an OHETS_SRV_DOOR_ERR_*) with trace (NULL: blank); log gets
   * the door's fields for it. */
  int (*error_answer)(const char *code, const char *trace, int raw, const ohets_now *now,
                      ohets_buf *out, ohets_srv_door_log *log);
  /* Most bytes to hold unframed before the stream is hopeless. */
  size_t (*max_buffer)(const ohets_srv_config *cfg);
  ohets_srv_door_serve_fn serve;
} ohets_srv_door_ops;

/* The Extranet socket door (DESIGN §3): SOH/length/STX/payload/ETX, raw
 * X12, or either per transmission. */
extern const ohets_srv_door_ops ohets_srv_door_extranet;
/* CAQH CORE's HTTPS door (DESIGN §13): SOAP 1.2 and MIME multipart. */
extern const ohets_srv_door_ops ohets_srv_door_core;

/* The door a listener speaks. */
const ohets_srv_door_ops *ohets_srv_door_for(const ohets_srv_listen_cfg *l);

#endif /* OHETS_SERVER_DOOR_H */
