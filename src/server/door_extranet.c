/* The Extranet door (DESIGN §3): the transmission wrapper, raw X12 ending
 * at the IEA, or either per transmission; answers framed like their
 * requests; protocol errors as HETS error records. */
#include <errno.h>
#include <stdlib.h>

#include "server/door.h"

#define HETS_RECORD_MAX 512

struct ohets_srv_door {
  ohets_framing framing;
  ohets_frame_decoder dec;
};

static int extranet_open(ohets_srv_door **out, const ohets_srv_listen_cfg *l,
                         const ohets_srv_config *cfg) {
  ohets_srv_door *d = malloc(sizeof *d);
  if (d == NULL)
    return -ENOMEM;
  d->framing = l->framing;
  ohets_frame_decoder_init(&d->dec, l->framing, (size_t)cfg->max_frame_bytes);
  *out = d;
  return 0;
}

static void extranet_free(ohets_srv_door *d) { free(d); }

static ohets_srv_door_status extranet_next(ohets_srv_door *d, const uint8_t *buf, size_t len,
                                           ohets_srv_door_request *out) {
  ohets_frame fr;
  switch (ohets_frame_next(&d->dec, buf, len, &fr)) {
  case OHETS_FRAME_NEED_MORE:
    return OHETS_SRV_DOOR_NEED_MORE;
  case OHETS_FRAME_ERROR:
    out->error = fr.error != NULL ? fr.error : "HTS00001";
    out->raw = d->framing == OHETS_FRAMING_RAW ||
               (d->framing == OHETS_FRAMING_AUTO && d->dec.resolved && d->dec.raw);
    return OHETS_SRV_DOOR_ERROR;
  default:
    out->off = fr.payload_off;
    out->len = fr.payload_len;
    out->consumed = fr.frame_len;
    out->raw = fr.raw;
    out->owned = NULL;
    out->last = 0;
    out->error = NULL;
    return OHETS_SRV_DOOR_REQUEST;
  }
}

static int extranet_raw_now(const ohets_srv_door *d) {
  return d->framing == OHETS_FRAMING_RAW ||
         (d->framing == OHETS_FRAMING_AUTO && d->dec.resolved && d->dec.raw);
}

static int extranet_encode(int raw, const uint8_t *payload, size_t len, ohets_buf *out) {
  return raw ? ohets_buf_append(out, payload, len) : ohets_frame_wrap(out, payload, len);
}

/* Worker side: the core's answer, framed like the request. */
static int extranet_serve(ohets_srv_door_work *w) {
  int rc = w->respond(w->respond_ctx, w->req, w->req_len, NULL, w->scratch, w->outcome);
  if (rc == 0)
    rc = extranet_encode(w->raw, w->scratch->data, w->scratch->len, w->answer);
  return rc;
}

static int extranet_error_answer(const char *code, const char *trace, int raw,
                                 const ohets_now *now, ohets_buf *out, ohets_srv_door_log *log) {
  (void)log;
  ohets_buf rec;
  ohets_buf_init(&rec, HETS_RECORD_MAX);
  int rc = ohets_hets_error_write(&rec, code, trace, now);
  if (rc == 0)
    rc = extranet_encode(raw, rec.data, rec.len, out);
  ohets_buf_free(&rec);
  return rc;
}

/* Room for one whole frame after as much leading filler as the raw decoder
 * tolerates, plus slack for the next frame's first bytes. */
static size_t extranet_max_buffer(const ohets_srv_config *cfg) {
  return 2 * (size_t)cfg->max_frame_bytes + OHETS_FRAME_OVERHEAD + 4096;
}

const ohets_srv_door_ops ohets_srv_door_extranet = {
    .name = "extranet",
    .open = extranet_open,
    .free = extranet_free,
    .next = extranet_next,
    .raw_now = extranet_raw_now,
    .interim = NULL,
    .error_answer = extranet_error_answer,
    .max_buffer = extranet_max_buffer,
    .serve = extranet_serve,
};

const ohets_srv_door_ops *ohets_srv_door_for(const ohets_srv_listen_cfg *l) {
  return l->protocol == OHETS_SRV_PROTOCOL_CORE ? &ohets_srv_door_core : &ohets_srv_door_extranet;
}
