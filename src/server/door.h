/* A door: how a listener's bytes become requests and answers become bytes
 * (the Extranet wrapper now; CORE's HTTP envelopes next).  A connection is
 * a transport (TCP, TLS) + a door + a session, and none of the three knows
 * the others' insides.
 *
 * The loop side (next, error_answer) runs on the loop thread with the
 * connection's door state; the worker side (encode) runs on a worker with
 * only what the job carries, so it takes no door state. */
#ifndef OHETS_SERVER_DOOR_H
#define OHETS_SERVER_DOOR_H

#include <stddef.h>
#include <stdint.h>

#include "openhets/openhets.h"
#include "server/config.h"

typedef struct ohets_srv_door ohets_srv_door;

typedef enum ohets_srv_door_status {
  OHETS_SRV_DOOR_NEED_MORE = 0, /* no whole request yet */
  OHETS_SRV_DOOR_REQUEST,       /* one request framed */
  OHETS_SRV_DOOR_ERROR          /* the stream cannot be framed past here */
} ohets_srv_door_status;

typedef struct ohets_srv_door_request {
  size_t off, len;  /* the request's payload within the bytes given */
  size_t consumed;  /* bytes it took, framing included */
  int raw;          /* answer it unwrapped */
  const char *error; /* OHETS_SRV_DOOR_ERROR: the HETS code to answer */
} ohets_srv_door_request;

/* Worker side: the wire bytes of an answer payload. */
typedef int (*ohets_srv_door_encode_fn)(int raw, const uint8_t *payload, size_t len,
                                        ohets_buf *out);

typedef struct ohets_srv_door_ops {
  const char *name; /* "extranet" */
  int (*open)(ohets_srv_door **out, const ohets_srv_listen_cfg *l, const ohets_srv_config *cfg);
  void (*free)(ohets_srv_door *d);
  /* Frames the next request from buf (the bytes read and not yet taken). */
  ohets_srv_door_status (*next)(ohets_srv_door *d, const uint8_t *buf, size_t len,
                                ohets_srv_door_request *out);
  /* Whether an answer made now (an error, before a request was framed)
   * goes out unwrapped. */
  int (*raw_now)(const ohets_srv_door *d);
  /* Loop side: the wire bytes of a protocol error record (HTS0000n,
   * SBY00502) with trace (NULL: blank). */
  int (*error_answer)(const char *code, const char *trace, int raw, const ohets_now *now,
                      ohets_buf *out);
  /* Most bytes to hold unframed before the stream is hopeless. */
  size_t (*max_buffer)(const ohets_srv_config *cfg);
  ohets_srv_door_encode_fn encode;
} ohets_srv_door_ops;

/* The Extranet socket door (DESIGN §3): SOH/length/STX/payload/ETX, raw
 * X12, or either per transmission. */
extern const ohets_srv_door_ops ohets_srv_door_extranet;

#endif /* OHETS_SERVER_DOOR_H */
