/* The CORE door (DESIGN §13): HTTP/1.1 requests over TLS carrying CAQH
 * CORE SOAP 1.2 or MIME multipart envelopes.
 *
 * Loop side: libhttp-parser frames each request (src/caqh/http_reader.c)
 * and the route (path, method, content type) is decided at once; plain
 * HTTP errors are answered here and close the connection.  A routed
 * request travels to a worker as one record (core_req) holding what the
 * worker needs and the body; there the envelope is read and validated,
 * the submitter authenticated, the PayloadID cache asked, the core run,
 * and the response envelope and HTTP head written: never on the loop. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "caqh/envelope.h"
#include "caqh/http_reader.h"
#include "caqh/multipart.h"
#include "caqh/phc.h"
#include "caqh/soap.h"
#include "server/credcache.h"
#include "server/door.h"
#include "server/replay.h"

#define PATH_SOAP "/eligibility/realtime/soap"
#define PATH_MIME "/eligibility/realtime/mime"
#define CT_SOAP "application/soap+xml; charset=utf-8"
#define CT_XML "text/xml; charset=utf-8"

/* A PHC string of the default cost no password matches (a made-up salt and
 * password): what an unknown user name is checked against. */
#define NO_USER_PHC "$scrypt$ln=15,r=8,p=1$b3BlbmhldHMtbm8tdXNlcg$" \
                    "OuIS7tYSNjOureq8p9pwoZyTT6kgEVu/OXcHw2LPf5A"

typedef enum core_kind { KIND_SOAP = 1, KIND_MIME, KIND_WSDL } core_kind;

/* A routed request on its way to a worker (the job's bytes). */
typedef struct core_req {
  uint8_t kind;       /* core_kind */
  uint8_t close;      /* the client asked to close after the answer */
  char boundary[OHETS_CAQH_BOUNDARY_MAX + 1]; /* MIME */
  char host[256];     /* for the WSDL's address */
  size_t body_len;
  uint8_t body[];
} core_req;

struct ohets_srv_door {
  ohets_caqh_http_reader *reader;
  int continue_pending; /* a 100 Continue is owed before the body */
};

/* ------------------------------------------------------- loop side */

static int core_open(ohets_srv_door **out, const ohets_srv_listen_cfg *l,
                     const ohets_srv_config *cfg) {
  (void)l;
  ohets_srv_door *d = calloc(1, sizeof *d);
  if (d == NULL)
    return -ENOMEM;
  int rc = ohets_caqh_http_reader_new(&d->reader, 0, (size_t)cfg->max_body_bytes);
  if (rc != 0) {
    free(d);
    return rc;
  }
  *out = d;
  return 0;
}

static void core_free(ohets_srv_door *d) {
  ohets_caqh_http_reader_free(d->reader);
  free(d);
}

/* The door's error codes are HTTP statuses as text (static strings). */
static const char *status_code(int status) {
  switch (status) {
  case 400: return "400";
  case 404: return "404";
  case 405: return "405";
  case 408: return "408";
  case 411: return "411";
  case 413: return "413";
  case 414: return "414";
  case 415: return "415";
  case 431: return "431";
  case 505: return "505";
  case 500: return "500";
  case 501: return "501";
  default: return "400";
  }
}

static int starts_with_type(const char *ct, const char *type) {
  size_t n = strlen(type);
  if (strncasecmp(ct, type, n) != 0)
    return 0;
  return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ' || ct[n] == '\t';
}

/* Which envelope a request is, or the HTTP status refusing it. */
static int route(const ohets_caqh_http_msg *m, core_kind *kind, char *boundary) {
  if (m->http_minor >= 1 && m->host[0] == '\0')
    return 400; /* RFC 9112 3.2: an HTTP/1.1 request without Host */
  int soap = strcmp(m->path, PATH_SOAP) == 0, mime = strcmp(m->path, PATH_MIME) == 0;
  if (!soap && !mime)
    return 404;
  if (soap && m->method == OHETS_CAQH_METHOD_GET) {
    if (strcmp(m->query, "wsdl") != 0 && strcasecmp(m->query, "WSDL") != 0)
      return 404;
    *kind = KIND_WSDL;
    return 0;
  }
  if (m->method != OHETS_CAQH_METHOD_POST)
    return 405;
  if (soap) {
    if (!starts_with_type(m->content_type, "application/soap+xml"))
      return 415;
    *kind = KIND_SOAP;
    return 0;
  }
  int rc = ohets_caqh_mime_boundary(m->content_type, strlen(m->content_type), boundary);
  if (rc == -ENOTSUP)
    return 415;
  if (rc != 0)
    return 400;
  *kind = KIND_MIME;
  return 0;
}

static ohets_srv_door_status core_next(ohets_srv_door *d, const uint8_t *buf, size_t len,
                                       ohets_srv_door_request *out) {
  ohets_caqh_http_msg m;
  size_t consumed = 0;
  memset(&m, 0, sizeof m);
  out->raw = 0;
  out->owned = NULL;
  out->last = 0;
  out->error = NULL;
  switch (ohets_caqh_http_reader_next(d->reader, buf, len, &consumed, &m)) {
  case OHETS_CAQH_HTTP_NEED_MORE:
    if (ohets_caqh_http_reader_wants_continue(d->reader))
      d->continue_pending = 1;
    return OHETS_SRV_DOOR_NEED_MORE;
  case OHETS_CAQH_HTTP_ERROR:
    out->error = status_code(m.error_status);
    ohets_caqh_http_msg_clear(&m);
    return OHETS_SRV_DOOR_ERROR;
  default:
    break;
  }
  d->continue_pending = 0;
  core_kind kind = KIND_SOAP;
  char boundary[OHETS_CAQH_BOUNDARY_MAX + 1] = "";
  int refused = route(&m, &kind, boundary);
  if (refused != 0) {
    out->error = status_code(refused);
    ohets_caqh_http_msg_clear(&m);
    return OHETS_SRV_DOOR_ERROR;
  }
  size_t body_len = kind == KIND_WSDL ? 0 : m.body_len;
  core_req *rq = malloc(sizeof *rq + body_len);
  if (rq == NULL) {
    out->error = "503";
    ohets_caqh_http_msg_clear(&m);
    return OHETS_SRV_DOOR_ERROR;
  }
  memset(rq, 0, sizeof *rq);
  rq->kind = (uint8_t)kind;
  rq->close = !m.keep_alive;
  memcpy(rq->boundary, boundary, sizeof rq->boundary);
  snprintf(rq->host, sizeof rq->host, "%s", m.host);
  rq->body_len = body_len;
  if (body_len > 0)
    memcpy(rq->body, m.body, body_len);
  ohets_caqh_http_msg_clear(&m);
  out->owned = (uint8_t *)rq;
  out->last = rq->close; /* RFC 9112 9.6: no request after a "close" is processed */
  out->off = 0;
  out->len = sizeof *rq + body_len;
  out->consumed = consumed;
  return OHETS_SRV_DOOR_REQUEST;
}

static int core_raw_now(const ohets_srv_door *d) {
  (void)d;
  return 0;
}

static const char *core_interim(ohets_srv_door *d) {
  if (!d->continue_pending)
    return NULL;
  d->continue_pending = 0;
  return "HTTP/1.1 100 Continue\r\n\r\n";
}

static int core_error_answer(const char *code, const char *trace, int raw, const ohets_now *now,
                             ohets_buf *out, ohets_srv_door_log *log) {
  (void)trace;
  (void)raw;
  (void)now;
  int status;
  const char *text;
  if (strcmp(code, OHETS_SRV_DOOR_ERR_DEADLINE) == 0) {
    status = 408;
    text = "the request was not whole within the frame deadline";
  } else if (strcmp(code, OHETS_SRV_DOOR_ERR_TOO_BIG) == 0) {
    status = 413;
    text = "the request is larger than this server takes";
  } else if (strcmp(code, OHETS_SRV_DOOR_ERR_REFUSED) == 0) {
    status = 503;
    text = "too many connections for this submitter";
  } else {
    status = atoi(code);
    text = status == 404   ? "no such path: use " PATH_SOAP " or " PATH_MIME
           : status == 405 ? "method not allowed here"
           : status == 415 ? "wrong content type: SOAP takes application/soap+xml, MIME "
                             "multipart/form-data with a boundary"
           : status == 411 ? "a POST needs Content-Length or chunked coding"
           : status == 413 ? "the request body is larger than max_body_bytes"
           : status == 414 ? "the request target is longer than 255 bytes"
           : status == 500 ? "the server could not read this request"
           : status == 501 ? "only the chunked transfer coding is taken"
           : status == 431 ? "the request's headers are larger than 16 KiB"
           : status == 505 ? "only HTTP/1.0 and HTTP/1.1 are spoken here"
           : status == 503 ? "the server cannot take this request now"
                           : "malformed HTTP request";
  }
  if (log != NULL) {
    log->http_status = status;
    log->no_answer = 1;
  }
  return ohets_caqh_http_write_error(out, status, text, 1);
}

/* The reader's own bound on one message (http_reader.h): headers, the
 * largest body and chunked coding's framing. */
static size_t core_max_buffer(const ohets_srv_config *cfg) {
  return OHETS_CAQH_HEADERS_MAX + 2 * (size_t)cfg->max_body_bytes + 64 * 1024;
}

/* ----------------------------------------------------- worker side */

static const char *kind_name(core_kind k) {
  return k == KIND_MIME ? "mime" : k == KIND_WSDL ? "wsdl" : "soap";
}

/* TimeStamp: now, UTC, to the second. */
static void utc_timestamp(char out[32]) {
  time_t t = time(NULL);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The PayloadID as the log may show it: a UUID's characters only. */
static void log_payload_id(ohets_srv_door_log *log, const ohets_caqh_envelope *e) {
  size_t n;
  const char *p = ohets_caqh_envelope_trimmed(e, OHETS_CAQH_PAYLOAD_ID, &n);
  if (p == NULL || n == 0 || n >= sizeof log->payload_id)
    return;
  for (size_t i = 0; i < n; i++) {
    char c = p[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          c == '-'))
      return;
  }
  memcpy(log->payload_id, p, n);
  log->payload_id[n] = '\0';
}

/* Head and body together: the body is written first (its length goes in
 * the head), into scratch. */
static int finish(ohets_srv_door_work *w, const core_req *rq, int status, const char *ctype,
                  const ohets_buf *body) {
  w->log->http_status = status;
  int rc = ohets_caqh_http_write_head(w->answer, status, ctype, body->len, rq->close);
  if (rc == 0)
    rc = ohets_buf_append(w->answer, body->data, body->len);
  return rc;
}

/* A response envelope (e) in the request's envelope kind. */
static int send_envelope(ohets_srv_door_work *w, const core_req *rq, int status,
                         const ohets_caqh_envelope *e) {
  ohets_buf body;
  ohets_buf_init(&body, w->answer->max);
  int rc;
  char ctype[128];
  if (rq->kind == KIND_MIME) {
    /* A fresh boundary per answer; the writer refuses a value holding it,
     * so it need not be secret, only unlikely: a counter mixed by
     * make_boundary (no RAND_bytes, whose fork check costs a getpid). */
    static atomic_uint_fast64_t boundary_counter;
    uint64_t seed = atomic_fetch_add_explicit(&boundary_counter, 1, memory_order_relaxed) +
                    ((uint64_t)(uintptr_t)w->answer << 16);
    char boundary[OHETS_CAQH_BOUNDARY_MAX + 1];
    ohets_caqh_mime_make_boundary(seed, boundary);
    snprintf(ctype, sizeof ctype, "multipart/form-data; boundary=%s", boundary);
    rc = ohets_caqh_mime_write(&body, boundary, e);
  } else {
    snprintf(ctype, sizeof ctype, "%s", CT_SOAP);
    rc = ohets_caqh_soap_write(&body, e, 1);
  }
  if (rc == 0) {
    snprintf(w->log->error_code, sizeof w->log->error_code, "%s",
             e->value[OHETS_CAQH_ERROR_CODE] ? e->value[OHETS_CAQH_ERROR_CODE] : "");
    rc = finish(w, rq, status, ctype, &body);
  }
  if (body.data != NULL)
    OPENSSL_cleanse(body.data, body.len); /* it held the 271 */
  ohets_buf_free(&body);
  return rc;
}

/* The response fields every answer carries; payload_type and the error
 * say what happened. */
static int response_fields(ohets_caqh_envelope *out, const ohets_caqh_envelope *req,
                           const char *payload_type, const char *error_code,
                           const char *error_message) {
  char ts[32];
  size_t n;
  const char *p;
  int rc = 0;
  utc_timestamp(ts);
  rc |= ohets_caqh_envelope_set_str(out, OHETS_CAQH_PAYLOAD_TYPE, payload_type);
  rc |= ohets_caqh_envelope_set_str(out, OHETS_CAQH_PROCESSING_MODE, OHETS_CAQH_REALTIME);
  /* The response XSD wants every field but Payload: what the request
   * lacked is answered empty. */
  p = ohets_caqh_envelope_trimmed(req, OHETS_CAQH_PAYLOAD_ID, &n);
  rc |= ohets_caqh_envelope_set(out, OHETS_CAQH_PAYLOAD_ID, p != NULL ? p : "", n);
  rc |= ohets_caqh_envelope_set_str(out, OHETS_CAQH_TIMESTAMP, ts);
  rc |= ohets_caqh_envelope_set_str(out, OHETS_CAQH_SENDER_ID, OHETS_CAQH_RECEIVER);
  p = ohets_caqh_envelope_trimmed(req, OHETS_CAQH_SENDER_ID, &n);
  rc |= ohets_caqh_envelope_set(out, OHETS_CAQH_RECEIVER_ID, p != NULL ? p : "", n);
  rc |= ohets_caqh_envelope_set_str(out, OHETS_CAQH_CORE_RULE_VERSION, OHETS_CAQH_RULE_VERSION);
  rc |= ohets_caqh_envelope_set_str(out, OHETS_CAQH_ERROR_CODE, error_code);
  rc |= ohets_caqh_envelope_set_str(out, OHETS_CAQH_ERROR_MESSAGE, error_message);
  return rc != 0 ? -ENOMEM : 0;
}

/* An envelope error (§13): PayloadType CoreEnvelopeError, no Payload. */
static int send_error(ohets_srv_door_work *w, const core_req *rq, int status,
                      const ohets_caqh_envelope *req, const char *code, const char *message) {
  ohets_caqh_envelope out;
  ohets_caqh_envelope_init(&out);
  int rc = response_fields(&out, req, OHETS_CAQH_PT_ERROR, code, message);
  if (rc == 0)
    rc = send_envelope(w, rq, status, &out);
  ohets_caqh_envelope_clear(&out);
  w->log->no_answer = 1;
  return rc;
}

static int send_plain(ohets_srv_door_work *w, const core_req *rq, int status, const char *text) {
  w->log->http_status = status;
  w->log->no_answer = 1;
  return ohets_caqh_http_write_error(w->answer, status, text, rq->close);
}

static int send_fault(ohets_srv_door_work *w, const core_req *rq, int code, const char *reason) {
  ohets_buf body;
  ohets_buf_init(&body, 64 * 1024);
  int rc = ohets_caqh_soap_write_fault(&body, code, reason);
  if (rc == 0)
    rc = finish(w, rq, 400, CT_SOAP, &body);
  ohets_buf_free(&body);
  snprintf(w->log->error_code, sizeof w->log->error_code, "%s",
           code == OHETS_CAQH_FAULT_MUST_UNDERSTAND ? "env:MustUnderstand" : "env:Sender");
  w->log->no_answer = 1;
  return rc;
}

static int send_wsdl(ohets_srv_door_work *w, const core_req *rq) {
  char address[400];
  char host[256];
  /* A Host with characters no host name has is not echoed into the WSDL. */
  size_t i = 0;
  for (; rq->host[i] != '\0'; i++) {
    char c = rq->host[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          c == '-' || c == '.' || c == ':' || c == '[' || c == ']'))
      break;
  }
  snprintf(host, sizeof host, "%s", rq->host[i] == '\0' && i > 0 ? rq->host : "localhost");
  snprintf(address, sizeof address, "https://%s" PATH_SOAP, host);
  ohets_buf body;
  ohets_buf_init(&body, 256 * 1024);
  int rc = ohets_caqh_wsdl_write(&body, address);
  if (rc == 0)
    rc = finish(w, rq, 200, CT_XML, &body);
  ohets_buf_free(&body);
  w->log->no_answer = 1;
  return rc;
}

/* Who sent it (§13): the envelope's credentials when it carries any, else
 * the client certificate through partners' certs.  0 with sub filled
 * ("" without a partners file: everyone is allowed, as on the Extranet),
 * or 401 / 403. */
static int authenticate(const ohets_srv_door_work *w, const ohets_caqh_envelope *e,
                        char sub[OHETS_SRV_SUBMITTER_LEN], const char **why) {
  const ohets_partner_table *t = w->partners;
  const ohets_partner *p = NULL;
  sub[0] = '\0';
  if (t == NULL)
    return 0;
  if (e->username != NULL) {
    const char *phc = NULL;
    p = ohets_partners_find_user(t, e->username, e->username_len, &phc);
    const char *pw = e->password != NULL ? e->password : "";
    size_t pw_len = e->password != NULL ? e->password_len : 0;
    uint64_t now_ms = (uint64_t)time(NULL) * 1000u;
    int ok = p != NULL && w->creds != NULL &&
             ohets_srv_credcache_hit(w->creds, e->username, e->username_len, pw, pw_len, phc,
                                     now_ms);
    /* An unknown user costs one scrypt too, so the answer's time does not
     * tell which user names exist. */
    if (!ok)
      ok = ohets_caqh_phc_verify(p != NULL ? phc : NO_USER_PHC, pw, pw_len) == 1;
    if (ok && p != NULL && w->creds != NULL)
      ohets_srv_credcache_add(w->creds, e->username, e->username_len, pw, pw_len, phc, now_ms);
    if (p == NULL || e->password == NULL || !ok) {
      *why = "user name or password not accepted";
      return 403;
    }
  } else if (w->peer_id->cert_sha256[0] != '\0') {
    size_t n;
    const char *s = ohets_caqh_envelope_trimmed(e, OHETS_CAQH_SENDER_ID, &n);
    char sender[OHETS_SRV_SUBMITTER_LEN] = "";
    if (s != NULL && n < sizeof sender) {
      memcpy(sender, s, n);
      sender[n] = '\0';
    }
    /* A certificate several partners list answers for the one named. */
    p = sender[0] ? ohets_partners_find(t, sender) : NULL;
    if (p == NULL || !ohets_partner_lists_cert(p, w->peer_id->cert_sha256))
      p = ohets_partners_find_cert(t, w->peer_id->cert_sha256);
    if (p == NULL) {
      *why = "the client certificate is not one a partner lists";
      return 403;
    }
  } else {
    *why = "no credentials: a client certificate or a UsernameToken is needed";
    return 401;
  }
  /* Without a table the rule is only the listener's "submitters". */
  if (!ohets_srv_submitter_allowed(NULL, NULL, NULL, w->listener, p->submitter)) {
    *why = "this submitter may not use this listener";
    return 403;
  }
  snprintf(sub, OHETS_SRV_SUBMITTER_LEN, "%s", p->submitter);
  return 0;
}

static const char *payload_type_of(ohets_answer a) {
  return a == OHETS_ANSWER_999 ? OHETS_CAQH_PT_999
         : a == OHETS_ANSWER_TA1 ? OHETS_CAQH_PT_TA1
                                 : OHETS_CAQH_PT_271;
}

/* The checks after authentication, then the core. */
static int serve_envelope(ohets_srv_door_work *w, const core_req *rq, ohets_caqh_envelope *e) {
  char sub[OHETS_SRV_SUBMITTER_LEN];
  const char *why = NULL;
  int auth = authenticate(w, e, sub, &why);
  log_payload_id(w->log, e);
  if (auth != 0)
    return send_error(w, rq, auth, e, "UnAuthorized", why);
  snprintf(w->outcome->submitter, sizeof w->outcome->submitter, "%s", sub);

  /* CORE's audit rule: the same PayloadID again gets the same answer. */
  size_t id_len = 0, x12_len = 0;
  const char *id = ohets_caqh_envelope_trimmed(e, OHETS_CAQH_PAYLOAD_ID, &id_len);
  const char *x12 = ohets_caqh_envelope_trimmed(e, OHETS_CAQH_PAYLOAD, &x12_len);
  uint8_t sha[32];
  uint64_t now_ms = (uint64_t)time(NULL) * 1000u;
  int cacheable = w->replay != NULL && id != NULL && id_len > 0;
  if (cacheable) {
    if (EVP_Digest(x12 != NULL ? x12 : "", x12_len, sha, NULL, EVP_sha256(), NULL) != 1)
      return -ENOMEM;
    ohets_caqh_envelope cached;
    ohets_caqh_envelope_init(&cached);
    ohets_srv_replay_result r =
        ohets_srv_replay_get(w->replay, sub, id, id_len, sha, now_ms, &cached);
    if (r == OHETS_SRV_REPLAY_DIFFERENT)
      return send_error(w, rq, 200, e, "PayloadIDIllegal",
                        "PayloadID was used in the last 10 minutes with another payload");
    if (r == OHETS_SRV_REPLAY_SAME) {
      int rc = send_envelope(w, rq, 200, &cached);
      ohets_caqh_envelope_clear(&cached);
      return rc;
    }
  }

  ohets_caqh_verdict v;
  if (!ohets_caqh_check_request(e, sub[0] ? sub : NULL, &v))
    return send_error(w, rq, v.http_status, e, v.error_code, v.error_message);
  ohets_isa_ids ids;
  if (ohets_isa_peek((const uint8_t *)x12, x12_len, &ids) != 0)
    return send_error(w, rq, 200, e, "PayloadIllegal", "Payload is not an X12 interchange");
  size_t sn;
  const char *sender = ohets_caqh_envelope_trimmed(e, OHETS_CAQH_SENDER_ID, &sn);
  if (strlen(ids.sender) != sn || memcmp(ids.sender, sender, sn) != 0)
    return send_error(w, rq, 403, e, "UnAuthorized", "ISA06 is not the SenderID");

  int rc = w->respond(w->respond_ctx, (const uint8_t *)x12, x12_len, sub[0] ? sub : NULL,
                      w->scratch, w->outcome);
  if (rc != 0)
    return rc;
  if (w->outcome->answer == OHETS_ANSWER_HETS) {
    /* Records of the Extranet wrapper have no CORE PayloadType. */
    char msg[120];
    snprintf(msg, sizeof msg, "HETS %s: %s", w->outcome->hets_code,
             ohets_hets_error_text(w->outcome->hets_code));
    int refused = strcmp(w->outcome->hets_code, "SBY00502") == 0;
    return send_error(w, rq, refused ? 403 : 200, e, refused ? "UnAuthorized" : "PayloadIllegal",
                      msg);
  }
  ohets_caqh_envelope out;
  ohets_caqh_envelope_init(&out);
  rc = response_fields(&out, e, payload_type_of(w->outcome->answer), "Success", "None");
  if (rc == 0)
    rc = ohets_caqh_envelope_set(&out, OHETS_CAQH_PAYLOAD, w->scratch->data, w->scratch->len);
  if (rc == 0)
    rc = send_envelope(w, rq, 200, &out);
  if (rc == 0 && cacheable)
    (void)ohets_srv_replay_put(w->replay, sub, id, id_len, sha, now_ms, &out);
  ohets_caqh_envelope_clear(&out);
  return rc;
}

static int core_serve(ohets_srv_door_work *w) {
  const core_req *rq = (const core_req *)w->req;
  memset(w->outcome, 0, sizeof *w->outcome);
  w->log->envelope = kind_name((core_kind)rq->kind);
  if (rq->kind == KIND_WSDL)
    return send_wsdl(w, rq);
  ohets_caqh_envelope e;
  ohets_caqh_envelope_init(&e);
  char err[200] = "";
  int rc;
  if (rq->kind == KIND_SOAP) {
    ohets_caqh_soap_status st = ohets_caqh_soap_read(rq->body, rq->body_len, 0, &e, err, sizeof err);
    if (st == OHETS_CAQH_SOAP_OK)
      rc = serve_envelope(w, rq, &e);
    else
      rc = send_fault(w, rq,
                      st == OHETS_CAQH_SOAP_MUST_UNDERSTAND ? OHETS_CAQH_FAULT_MUST_UNDERSTAND
                                                            : OHETS_CAQH_FAULT_SENDER,
                      err[0] ? err : "not a SOAP 1.2 COREEnvelopeRealTimeRequest");
  } else {
    if (ohets_caqh_mime_read(rq->body, rq->body_len, rq->boundary, &e, err, sizeof err) != 0)
      rc = send_plain(w, rq, 400, err[0] ? err : "malformed multipart/form-data body");
    else
      rc = serve_envelope(w, rq, &e);
  }
  ohets_caqh_envelope_clear(&e);
  return rc;
}

const ohets_srv_door_ops ohets_srv_door_core = {
    .name = "core",
    .open = core_open,
    .free = core_free,
    .next = core_next,
    .raw_now = core_raw_now,
    .interim = core_interim,
    .error_answer = core_error_answer,
    .max_buffer = core_max_buffer,
    .serve = core_serve,
};
