/* The CORE door's client side for hets-query and hets-load (see
 * core_client.h). */
#include "tools/core_client.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/rand.h>

#include "caqh/multipart.h"
#include "caqh/soap.h"

#define SOAP_CONTENT_TYPE "application/soap+xml; charset=utf-8; action=\"RealTimeTransaction\""
#define MAX_REQUEST_BYTES (64u * 1024 * 1024)

static void set_err(char *err, size_t errsz, const char *text) {
  if (err != NULL && errsz > 0)
    snprintf(err, errsz, "%s", text);
}

int ohets_core_kind_parse(const char *s, ohets_core_kind *out) {
  if (strcmp(s, "soap") == 0)
    *out = OHETS_CORE_SOAP;
  else if (strcmp(s, "mime") == 0)
    *out = OHETS_CORE_MIME;
  else
    return -EINVAL;
  return 0;
}

/* ------------------------------------------------------------------ URL */

static int copy_span(char *dst, size_t cap, const char *p, size_t n) {
  if (n >= cap)
    return -EINVAL;
  memcpy(dst, p, n);
  dst[n] = '\0';
  return 0;
}

int ohets_core_url_parse(const char *url, ohets_core_kind kind, ohets_core_url *out, char *err,
                         size_t errsz) {
  memset(out, 0, sizeof *out);
  if (strncasecmp(url, "https://", 8) != 0) {
    set_err(err, errsz,
            strncasecmp(url, "http://", 7) == 0
                ? "--url: the CORE door is HTTPS only (TLS is required): want https://"
                : "--url: want https://HOST:PORT/PATH");
    return -EINVAL;
  }
  const char *a = url + 8;
  size_t alen = strcspn(a, "/?#");
  const char *rest = a + alen;
  if (memchr(a, '@', alen) != NULL) {
    set_err(err, errsz, "--url: no user name in the URL (see --user)");
    return -EINVAL;
  }
  const char *host = a, *port = NULL;
  size_t hlen;
  if (alen > 0 && a[0] == '[') {
    const char *close = memchr(a, ']', alen);
    if (close == NULL)
      goto bad_host;
    host = a + 1;
    hlen = (size_t)(close - host);
    if (close + 1 < a + alen) {
      if (close[1] != ':')
        goto bad_host;
      port = close + 2;
    }
  } else {
    const char *colon = memchr(a, ':', alen);
    hlen = colon ? (size_t)(colon - a) : alen;
    if (colon != NULL)
      port = colon + 1;
  }
  if (hlen == 0 || copy_span(out->host, sizeof out->host, host, hlen) != 0)
    goto bad_host;
  for (size_t i = 0; i < hlen; i++)
    if (!isalnum((unsigned char)host[i]) && strchr(".-_:", host[i]) == NULL)
      goto bad_host;
  if (port != NULL) {
    size_t plen = (size_t)(a + alen - port);
    unsigned long v = 0;
    for (size_t i = 0; i < plen; i++)
      v = isdigit((unsigned char)port[i]) && v < 100000 ? v * 10 + (unsigned)(port[i] - '0')
                                                        : 100000;
    if (plen == 0 || v < 1 || v > 65535) {
      set_err(err, errsz, "--url: the port must be 1..65535");
      return -EINVAL;
    }
    snprintf(out->port, sizeof out->port, "%lu", v);
  } else {
    snprintf(out->port, sizeof out->port, "443");
  }
  snprintf(out->authority, sizeof out->authority, a[0] == '[' ? "[%s]:%s" : "%s:%s", out->host,
           out->port);
  if (*rest == '#' || *rest == '\0') {
    snprintf(out->path, sizeof out->path, "/eligibility/realtime/%s",
             kind == OHETS_CORE_SOAP ? "soap" : "mime");
    return 0;
  }
  size_t plen = strcspn(rest, "#");
  if (rest[0] == '?' || copy_span(out->path, sizeof out->path, rest, plen) != 0) {
    set_err(err, errsz, "--url: the path must start with / and be under 512 bytes");
    return -EINVAL;
  }
  for (size_t i = 0; i < plen; i++)
    if ((unsigned char)rest[i] <= 0x20 || (unsigned char)rest[i] >= 0x7f) {
      set_err(err, errsz, "--url: spaces and control characters must be %-encoded");
      return -EINVAL;
    }
  return 0;

bad_host:
  set_err(err, errsz, "--url: want https://HOST:PORT/PATH (an IPv6 address in [])");
  return -EINVAL;
}

/* ------------------------------------------------------------ envelope */

int ohets_core_sender_id(const uint8_t *x12, size_t n, char out[16]) {
  size_t i = 0;
  out[0] = '\0';
  while (i < n && isspace(x12[i]))
    i++;
  if (n - i < 4 || memcmp(x12 + i, "ISA", 3) != 0)
    return -EINVAL;
  uint8_t sep = x12[i + 3];
  /* ISA06 follows the sixth separator. */
  size_t seps = 0;
  for (i += 3; i < n && seps < 6; i++)
    seps += x12[i] == sep;
  if (seps < 6)
    return -EINVAL;
  size_t start = i, len = 0;
  while (start + len < n && x12[start + len] != sep)
    len++;
  while (len > 0 && x12[start + len - 1] == ' ')
    len--;
  if (len == 0 || len > 15 || start + len >= n)
    return -EINVAL;
  memcpy(out, x12 + start, len);
  out[len] = '\0';
  return 0;
}

int ohets_core_uuid(char out[OHETS_CORE_UUID_LEN + 1]) {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1)
    return -EIO;
  b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
  b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* the RFC 4122 variant */
  static const char hex[] = "0123456789abcdef";
  size_t k = 0;
  for (size_t i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10)
      out[k++] = '-';
    out[k++] = hex[b[i] >> 4];
    out[k++] = hex[b[i] & 15];
  }
  out[k] = '\0';
  return 0;
}

void ohets_core_timestamp(char out[OHETS_CORE_TIMESTAMP_LEN + 1]) {
  time_t t = time(NULL);
  struct tm tm;
  gmtime_r(&t, &tm);
  if (strftime(out, OHETS_CORE_TIMESTAMP_LEN + 1, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    snprintf(out, OHETS_CORE_TIMESTAMP_LEN + 1, "1970-01-01T00:00:00Z");
}

static int fill_envelope(ohets_caqh_envelope *e, const ohets_core_request *rq,
                         const char *sender, const char *id, const char *ts) {
  static const struct {
    ohets_caqh_field f;
    const char *v;
  } fixed[] = {{OHETS_CAQH_PAYLOAD_TYPE, OHETS_CAQH_PT_270},
               {OHETS_CAQH_PROCESSING_MODE, OHETS_CAQH_REALTIME},
               {OHETS_CAQH_RECEIVER_ID, OHETS_CAQH_RECEIVER},
               {OHETS_CAQH_CORE_RULE_VERSION, OHETS_CAQH_RULE_VERSION}};
  int rc = 0;
  for (size_t i = 0; i < sizeof fixed / sizeof fixed[0] && rc == 0; i++)
    rc = ohets_caqh_envelope_set_str(e, fixed[i].f, fixed[i].v);
  if (rc == 0)
    rc = ohets_caqh_envelope_set_str(e, OHETS_CAQH_PAYLOAD_ID, id);
  if (rc == 0)
    rc = ohets_caqh_envelope_set_str(e, OHETS_CAQH_TIMESTAMP, ts);
  if (rc == 0)
    rc = ohets_caqh_envelope_set_str(e, OHETS_CAQH_SENDER_ID, sender);
  if (rc == 0)
    rc = ohets_caqh_envelope_set(e, OHETS_CAQH_PAYLOAD, rq->payload, rq->payload_len);
  if (rc == 0 && rq->username != NULL) {
    e->username = strdup(rq->username);
    e->password = strdup(rq->password ? rq->password : "");
    if (e->username == NULL || e->password == NULL)
      return -ENOMEM;
    e->username_len = strlen(e->username);
    e->password_len = strlen(e->password);
  }
  return rc;
}

static const uint8_t *find(const uint8_t *hay, size_t n, const char *needle) {
  size_t k = strlen(needle);
  for (size_t i = 0; k <= n && i <= n - k; i++)
    if (hay[i] == (uint8_t)needle[0] && memcmp(hay + i, needle, k) == 0)
      return hay + i;
  return NULL;
}

int ohets_core_build(ohets_buf *out, const ohets_core_request *rq,
                     char payload_id[OHETS_CORE_UUID_LEN + 1], ohets_core_stamp *stamp,
                     char *err, size_t errsz) {
  ohets_caqh_envelope e;
  ohets_buf body;
  char sender[16], id[OHETS_CORE_UUID_LEN + 1], ts[OHETS_CORE_TIMESTAMP_LEN + 1];
  char boundary[OHETS_CAQH_BOUNDARY_MAX + 1], ctype[128];
  int rc;

  ohets_caqh_envelope_init(&e);
  ohets_buf_init(&body, MAX_REQUEST_BYTES);
  ohets_buf_reset(out);
  rc = ohets_core_sender_id(rq->payload, rq->payload_len, sender);
  if (rc != 0) {
    set_err(err, errsz, "the 270 has no ISA06 (interchange sender) to use as SenderID");
    goto done;
  }
  rc = ohets_core_uuid(id);
  if (rc != 0) {
    set_err(err, errsz, "cannot make a PayloadID: OpenSSL's random generator failed");
    goto done;
  }
  ohets_core_timestamp(ts);
  rc = fill_envelope(&e, rq, sender, id, ts);
  if (rc == 0 && rq->kind == OHETS_CORE_SOAP) {
    rc = ohets_caqh_soap_write(&body, &e, 0);
    snprintf(ctype, sizeof ctype, "%s", SOAP_CONTENT_TYPE);
  } else if (rc == 0) {
    uint64_t seed = 0;
    if (RAND_bytes((unsigned char *)&seed, sizeof seed) != 1)
      seed = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)&seed; /* a boundary need not be secret */
    ohets_caqh_mime_make_boundary(seed, boundary);
    rc = ohets_caqh_mime_write(&body, boundary, &e);
    snprintf(ctype, sizeof ctype, "multipart/form-data; boundary=%s", boundary);
  }
  if (rc == 0)
    rc = ohets_buf_printf(out,
                          "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\n"
                          "Content-Length: %zu\r\nConnection: keep-alive\r\n"
                          "User-Agent: openhets/" OHETS_VERSION_STRING "\r\n\r\n",
                          rq->url->path, rq->url->authority, ctype, body.len);
  if (rc == 0)
    rc = ohets_buf_append(out, body.data, body.len);
  if (rc != 0) {
    set_err(err, errsz, rc == -ENOBUFS ? "the request is larger than 64 MiB"
                                       : "cannot write the envelope: out of memory");
    goto done;
  }
  /* The PayloadID is random, so its first occurrence is the field; the
   * TimeStamp comes next in envelope order, before the Payload. */
  const uint8_t *ip = find(out->data, out->len, id);
  const uint8_t *tp = ip ? find(ip, out->len - (size_t)(ip - out->data), ts) : NULL;
  if (ip == NULL || tp == NULL) {
    set_err(err, errsz, "the envelope writer did not write PayloadID or TimeStamp as given");
    rc = -EPROTO;
    goto done;
  }
  if (stamp != NULL) {
    stamp->id_off = (size_t)(ip - out->data);
    stamp->ts_off = (size_t)(tp - out->data);
  }
  if (payload_id != NULL)
    memcpy(payload_id, id, sizeof id);

done:
  ohets_caqh_envelope_clear(&e);
  ohets_buf_free(&body);
  return rc;
}

int ohets_core_restamp(uint8_t *req, const ohets_core_stamp *stamp,
                       char payload_id[OHETS_CORE_UUID_LEN + 1]) {
  char id[OHETS_CORE_UUID_LEN + 1], ts[OHETS_CORE_TIMESTAMP_LEN + 1];
  if (ohets_core_uuid(id) != 0)
    return -EIO;
  ohets_core_timestamp(ts);
  memcpy(req + stamp->id_off, id, OHETS_CORE_UUID_LEN);
  memcpy(req + stamp->ts_off, ts, OHETS_CORE_TIMESTAMP_LEN);
  if (payload_id != NULL)
    memcpy(payload_id, id, sizeof id);
  return 0;
}

/* ------------------------------------------------------------ responses */

void ohets_core_result_init(ohets_core_result *r) {
  memset(r, 0, sizeof *r);
  ohets_caqh_envelope_init(&r->env);
}

void ohets_core_result_clear(ohets_core_result *r) {
  ohets_caqh_envelope_clear(&r->env);
  ohets_core_result_init(r);
}

/* A printable one-line copy of p[0..n): controls become spaces, other
 * bytes outside ASCII '?'; runs of spaces are kept short. */
static void printable(char *dst, size_t cap, const char *p, size_t n) {
  size_t k = 0;
  for (size_t i = 0; i < n && k + 1 < cap; i++) {
    unsigned char c = (unsigned char)p[i];
    char o = c < 0x20 || c == 0x7f ? ' ' : c >= 0x80 ? '?' : (char)c;
    if (o == ' ' && (k == 0 || dst[k - 1] == ' '))
      continue;
    dst[k++] = o;
  }
  while (k > 0 && dst[k - 1] == ' ')
    k--;
  dst[k] = '\0';
}

static void field_copy(const ohets_caqh_envelope *e, ohets_caqh_field f, char *dst, size_t cap) {
  size_t n = 0;
  const char *v = ohets_caqh_envelope_trimmed(e, f, &n);
  printable(dst, cap, v ? v : "", v ? n : 0);
}

static int has_type(const ohets_caqh_http_msg *msg, const char *type) {
  size_t n = strlen(type);
  const char *ct = msg->content_type;
  return strncasecmp(ct, type, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* The envelope in the body, by kind.  1 read (r->env filled, or r->fault),
 * 0 the body is not an envelope of that kind, -EPROTO a broken one (err). */
static int read_body(ohets_core_kind kind, const ohets_caqh_http_msg *msg, ohets_core_result *r,
                     char *err, size_t errsz) {
  const uint8_t *body = msg->body ? msg->body : (const uint8_t *)"";
  char why[256] = "";
  if (kind == OHETS_CORE_SOAP) {
    if (!has_type(msg, "application/soap+xml") && !has_type(msg, "text/xml") &&
        !has_type(msg, "application/xml"))
      return 0;
    if (ohets_caqh_soap_read(body, msg->body_len, 1, &r->env, why, sizeof why) ==
        OHETS_CAQH_SOAP_OK)
      return 1;
    /* The reader says "SOAP Fault: <reason>" for a Fault the server sent;
     * anything else is a body it could not read. */
    static const char prefix[] = "SOAP Fault: ";
    int sent = strncmp(why, prefix, sizeof prefix - 1) == 0;
    if (!sent && msg->status == 200) {
      snprintf(err, errsz, "the answer's SOAP envelope cannot be read: %s", why);
      return -EPROTO;
    }
    r->fault = sent;
    const char *reason = sent ? why + sizeof prefix - 1 : why;
    printable(r->error_message, sizeof r->error_message, reason, strlen(reason));
    return 1;
  }
  char boundary[OHETS_CAQH_BOUNDARY_MAX + 1];
  if (ohets_caqh_mime_boundary(msg->content_type, strlen(msg->content_type), boundary) != 0)
    return 0;
  if (ohets_caqh_mime_read(body, msg->body_len, boundary, &r->env, why, sizeof why) != 0) {
    snprintf(err, errsz, "the answer's multipart body cannot be read: %s", why);
    return -EPROTO;
  }
  return 1;
}

int ohets_core_read_response(ohets_core_kind kind, const ohets_caqh_http_msg *msg,
                             const char *want_id, ohets_core_result *r, char *err, size_t errsz) {
  ohets_core_result_clear(r);
  r->http_status = msg->status;
  int got = read_body(kind, msg, r, err, errsz);
  if (got < 0)
    return got;
  if (got == 0) {
    if (msg->status == 200) {
      char ct[80];
      printable(ct, sizeof ct, msg->content_type, strlen(msg->content_type));
      snprintf(err, errsz, "the answer is not a %s envelope (Content-Type %s)",
               kind == OHETS_CORE_SOAP ? "SOAP" : "multipart", ct[0] ? ct : "missing");
      return -EPROTO;
    }
    /* A plain HTTP error: its one line of text says why. */
    const char *b = msg->body ? (const char *)msg->body : "";
    printable(r->error_message, sizeof r->error_message, b, strcspn(b, "\r\n"));
    return 0;
  }
  if (r->fault)
    return 0;
  field_copy(&r->env, OHETS_CAQH_PAYLOAD_TYPE, r->payload_type, sizeof r->payload_type);
  field_copy(&r->env, OHETS_CAQH_PAYLOAD_ID, r->payload_id, sizeof r->payload_id);
  field_copy(&r->env, OHETS_CAQH_ERROR_CODE, r->error_code, sizeof r->error_code);
  field_copy(&r->env, OHETS_CAQH_ERROR_MESSAGE, r->error_message, sizeof r->error_message);
  int success = msg->status == 200 && strcmp(r->payload_type, OHETS_CAQH_PT_ERROR) != 0 &&
                (r->error_code[0] == '\0' || strcmp(r->error_code, "Success") == 0);
  if (!success)
    return 0;
  if (!ohets_caqh_envelope_has(&r->env, OHETS_CAQH_PAYLOAD)) {
    snprintf(err, errsz, "the answer's envelope (PayloadType %s) has no Payload",
             r->payload_type[0] ? r->payload_type : "missing");
    return -EPROTO;
  }
  if (want_id != NULL && strcasecmp(r->payload_id, want_id) != 0) {
    snprintf(err, errsz, "the answer's PayloadID is not the request's");
    return -EPROTO;
  }
  r->ok = 1;
  return 0;
}

void ohets_core_error_line(const ohets_core_result *r, char *out, size_t n) {
  const char *what = r->error_code[0] && strcmp(r->error_code, "Success") != 0 ? r->error_code
                     : r->fault                                               ? "SOAP Fault"
                     : r->error_code[0] ? r->error_code
                                        : ohets_caqh_http_reason(r->http_status);
  snprintf(out, n, "HTTP %d %s%s%s", r->http_status, what ? what : "",
           r->error_message[0] ? ": " : "", r->error_message);
}

void ohets_core_error_key(const ohets_core_result *r, char *out, size_t n) {
  if (r->error_code[0] != '\0' && strcmp(r->error_code, "Success") != 0)
    snprintf(out, n, "%s", r->error_code);
  else
    snprintf(out, n, "http_%d", r->http_status);
}
