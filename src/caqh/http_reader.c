/* HTTP/1.1 requests and responses over libhttp-parser (http_reader.h).
 *
 * The parser is fed the caller's growing buffer from where it stopped; it
 * is paused in on_message_complete so that pipelined messages come out one
 * at a time and *consumed is exact.  Everything a message keeps is copied
 * out of the caller's buffer (which may move between calls): a few small
 * header values and the body, at most max_body bytes. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <http_parser.h>

#include "caqh/http_reader.h"

/* Bytes a message may take on the wire beyond its head and body: chunk
 * sizes, extensions and trailers.  A body's framing may take as much again
 * as the body itself, plus this. */
#define WIRE_SLACK (64 * 1024)
#define NAME_KEPT 32   /* header names we look for are shorter */
#define EXPECT_KEPT 32 /* "100-continue" and a little room */
#define URL_KEPT 768   /* path and query, 255 bytes each, and a scheme://authority */

enum header_kind {
  HDR_OTHER,
  HDR_HOST,
  HDR_CONTENT_TYPE,
  HDR_SOAP_ACTION,
  HDR_EXPECT,
  HDR_TRANSFER_ENCODING
};

struct ohets_caqh_http_reader {
  http_parser parser;
  int responses;
  size_t max_body;
  size_t wire_max;       /* bytes one message may take in the caller's buffer */
  size_t parsed;         /* bytes of the current message already parsed */
  int headers_done;
  int message_done;
  int failed;            /* sticky: every later call answers the same error */
  int closed;            /* a message said the connection ends after it */
  /* An error found in the head, said at its end: a parser error later in
   * the same token must win however the input was split, since the
   * parser calls back with a token's bytes only where a token or the
   * input ends. */
  int head_status;
  char head_error[sizeof ((ohets_caqh_http_msg *)0)->error];
  int transfer_encoding; /* the message has a Transfer-Encoding header */
  int coding_other;      /* one of them names a coding besides chunked */
  char te[EXPECT_KEPT];  /* the Transfer-Encoding value being read */
  size_t te_len;
  int continue_pending;  /* wants_continue() will say 1 */
  /* The header being read. */
  int in_value;          /* last callback was on_header_value */
  char name[NAME_KEPT + 1];
  size_t name_len;
  int name_long;         /* longer than NAME_KEPT: not one we look for */
  enum header_kind kind;
  char *value;           /* where the value goes (NULL: dropped) */
  size_t value_cap;      /* including the NUL */
  size_t *value_len;
  size_t host_len, content_type_len, soap_action_len, expect_len;
  int seen_host, seen_content_type, seen_soap_action;
  char expect[EXPECT_KEPT];
  char url[URL_KEPT];
  size_t url_len;
  size_t body_cap;
  ohets_caqh_http_msg cur; /* the message being read */
};

static int ascii_lower(int c) { return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c; }

static int same_ci(const char *a, size_t n, const char *b) {
  if (strlen(b) != n)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (ascii_lower((unsigned char)a[i]) != ascii_lower((unsigned char)b[i]))
      return 0;
  return 1;
}

static int is_ows(int c) { return c == ' ' || c == '\t'; }

/* Records the first error (later ones are consequences) and frees the body
 * at once: an errored reader holds no request bytes.  Returns -1 so
 * callbacks can stop the parser with `return fail(...)`. */
static int fail(ohets_caqh_http_reader *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(ohets_caqh_http_reader *r, int status, const char *fmt, ...) {
  if (r->failed)
    return -1;
  r->failed = 1;
  r->continue_pending = 0;
  r->cur.error_status = status;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->cur.error, sizeof r->cur.error, fmt, ap);
  va_end(ap);
  free(r->cur.body);
  r->cur.body = NULL;
  r->cur.body_len = 0;
  r->body_cap = 0;
  return -1;
}

static ohets_caqh_http_reader *reader_of(http_parser *p) { return p->data; }

/* Notes an error in the head for on_headers_complete (see head_status). */
static void head_fail(ohets_caqh_http_reader *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void head_fail(ohets_caqh_http_reader *r, int status, const char *fmt, ...) {
  if (r->head_status != 0)
    return;
  r->head_status = status;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->head_error, sizeof r->head_error, fmt, ap);
  va_end(ap);
}

/* Forgets the message just delivered; the parser itself carries on. */
static void start_message(ohets_caqh_http_reader *r) {
  free(r->cur.body);
  memset(&r->cur, 0, sizeof r->cur);
  r->parsed = 0;
  r->headers_done = 0;
  r->message_done = 0;
  r->continue_pending = 0;
  r->in_value = 0;
  r->name_len = 0;
  r->name_long = 0;
  r->value = NULL;
  r->host_len = r->content_type_len = r->soap_action_len = r->expect_len = 0;
  r->seen_host = r->seen_content_type = r->seen_soap_action = 0;
  r->transfer_encoding = 0;
  r->coding_other = 0;
  r->head_status = 0;
  r->url_len = 0;
  r->body_cap = 0;
}

static int on_url(http_parser *p, const char *at, size_t len) {
  ohets_caqh_http_reader *r = reader_of(p);
  if (len >= sizeof r->url - r->url_len) {
    head_fail(r, 414, "request target longer than %zu bytes", sizeof r->url - 1);
    return 0;
  }
  memcpy(r->url + r->url_len, at, len);
  r->url_len += len;
  return 0;
}

static void trim_value(char *v, size_t *len) {
  while (*len > 0 && is_ows((unsigned char)v[*len - 1]))
    --*len;
  v[*len] = '\0';
}

/* The value just read is whole: trim it and act on it. */
static void finish_header(ohets_caqh_http_reader *r) {
  if (r->value == NULL)
    return;
  trim_value(r->value, r->value_len);
  if (r->kind == HDR_EXPECT && same_ci(r->expect, r->expect_len, "100-continue"))
    r->cur.expect_continue = 1;
  if (r->kind == HDR_TRANSFER_ENCODING && !same_ci(r->te, r->te_len, "chunked"))
    r->coding_other = 1;
  if (r->kind == HDR_SOAP_ACTION && r->soap_action_len >= 2 && r->cur.soap_action[0] == '"' &&
      r->cur.soap_action[r->soap_action_len - 1] == '"') {
    /* SOAP 1.1 quotes the URI: keep what is inside. */
    memmove(r->cur.soap_action, r->cur.soap_action + 1, r->soap_action_len - 2);
    r->soap_action_len -= 2;
    r->cur.soap_action[r->soap_action_len] = '\0';
  }
  r->value = NULL;
}

static int on_header_field(http_parser *p, const char *at, size_t len) {
  ohets_caqh_http_reader *r = reader_of(p);
  if (r->headers_done)
    return 0; /* trailers: nothing in them is used */
  if (r->in_value) {
    finish_header(r);
    r->in_value = 0;
    r->name_len = 0;
    r->name_long = 0;
  }
  for (size_t i = 0; i < len; i++)
    if (at[i] == ' ' || at[i] == '\t') /* RFC 7230 3.2.4: a smuggling vector */
      head_fail(r, 400, "white space in a header name");
  if (len > NAME_KEPT - r->name_len) {
    r->name_long = 1;
    return 0;
  }
  memcpy(r->name + r->name_len, at, len);
  r->name_len += len;
  return 0;
}

/* Chooses where a header's value goes when its first piece arrives. */
static void begin_value(ohets_caqh_http_reader *r) {
  r->in_value = 1;
  r->value = NULL;
  r->kind = HDR_OTHER;
  if (r->name_long)
    return;
  const char *name = r->name;
  size_t n = r->name_len;
  int *seen = NULL;
  if (same_ci(name, n, "Host")) {
    r->kind = HDR_HOST;
    r->value = r->cur.host;
    r->value_cap = sizeof r->cur.host;
    r->value_len = &r->host_len;
    seen = &r->seen_host;
  } else if (same_ci(name, n, "Content-Type")) {
    r->kind = HDR_CONTENT_TYPE;
    r->value = r->cur.content_type;
    r->value_cap = sizeof r->cur.content_type;
    r->value_len = &r->content_type_len;
    seen = &r->seen_content_type;
  } else if (same_ci(name, n, "SOAPAction")) {
    r->kind = HDR_SOAP_ACTION;
    r->value = r->cur.soap_action;
    r->value_cap = sizeof r->cur.soap_action;
    r->value_len = &r->soap_action_len;
    seen = &r->seen_soap_action;
  } else if (same_ci(name, n, "Transfer-Encoding")) {
    /* The parser judges the syntax; we note a coding besides chunked. */
    r->transfer_encoding = 1;
    r->kind = HDR_TRANSFER_ENCODING;
    r->value = r->te;
    r->value_cap = sizeof r->te;
    r->value_len = &r->te_len;
    r->te_len = 0;
  } else if (same_ci(name, n, "Expect")) {
    /* Several Expect headers: the last one counts (only 100-continue exists). */
    r->kind = HDR_EXPECT;
    r->value = r->expect;
    r->value_cap = sizeof r->expect;
    r->value_len = &r->expect_len;
    r->expect_len = 0;
  }
  if (seen != NULL) {
    if (*seen) {
      r->name[r->name_len] = '\0';
      head_fail(r, 400, "more than one %s header", r->name);
      r->value = NULL;
    }
    *seen = 1;
  }
}

static int on_header_value(http_parser *p, const char *at, size_t len) {
  ohets_caqh_http_reader *r = reader_of(p);
  if (r->headers_done)
    return 0;
  if (!r->in_value)
    begin_value(r);
  if (r->value == NULL)
    return 0;
  if (len >= r->value_cap - *r->value_len) {
    if (r->kind == HDR_EXPECT) {
      r->value = NULL; /* not 100-continue, whatever it is */
      return 0;
    }
    if (r->kind == HDR_TRANSFER_ENCODING) {
      r->value = NULL; /* too long to be "chunked" alone */
      r->coding_other = 1;
      return 0;
    }
    r->name[r->name_len] = '\0';
    head_fail(r, 431, "%s header longer than %zu bytes", r->name, r->value_cap - 1);
    r->value = NULL;
    return 0;
  }
  memcpy(r->value + *r->value_len, at, len);
  *r->value_len += len;
  r->value[*r->value_len] = '\0';
  return 0;
}

/* The value of parameter `want` in a header value like
 * `type/sub; a=b; want="x y"`: 1 found (copied), 0 absent, -1 too long. */
static int header_param(const char *v, const char *want, char *out, size_t outsz) {
  const char *s = strchr(v, ';');
  while (s != NULL) {
    s++;
    while (is_ows((unsigned char)*s))
      s++;
    const char *name = s;
    while (*s != '\0' && *s != '=' && *s != ';' && !is_ows((unsigned char)*s))
      s++;
    size_t name_len = (size_t)(s - name);
    while (is_ows((unsigned char)*s))
      s++;
    if (*s != '=') {
      s = strchr(s, ';'); /* a parameter without a value: skip it */
      continue;
    }
    s++;
    while (is_ows((unsigned char)*s))
      s++;
    size_t n = 0;
    int match = same_ci(name, name_len, want);
    int too_long = 0;
    if (*s == '"') {
      for (s++; *s != '\0' && *s != '"'; s++) {
        if (*s == '\\' && s[1] != '\0')
          s++;
        if (match && n + 1 < outsz)
          out[n++] = *s;
        else if (match)
          too_long = 1;
      }
      if (*s == '"')
        s++;
    } else {
      for (; *s != '\0' && *s != ';' && !is_ows((unsigned char)*s); s++) {
        if (match && n + 1 < outsz)
          out[n++] = *s;
        else if (match)
          too_long = 1;
      }
    }
    if (match) {
      out[n] = '\0';
      return too_long ? -1 : 1;
    }
    s = strchr(s, ';');
  }
  return 0;
}

/* Splits the request target into path and query.  Absolute-form
 * (http://host/p?q) loses its scheme and authority; '*' and
 * authority-form (CONNECT's host:port) stay whole in path. */
static int split_target(ohets_caqh_http_reader *r) {
  r->url[r->url_len] = '\0';
  const char *t = r->url;
  int absolute = 0;
  const char *scheme_end = t[0] != '/' ? strstr(t, "://") : NULL;
  if (scheme_end != NULL) {
    t = scheme_end + 3;
    t += strcspn(t, "/?#");
    absolute = 1;
  }
  size_t path_len = strcspn(t, "?#");
  if (path_len >= sizeof r->cur.path)
    return fail(r, 414, "request path longer than %zu bytes", sizeof r->cur.path - 1);
  if (absolute && path_len == 0) {
    strcpy(r->cur.path, "/");
  } else {
    memcpy(r->cur.path, t, path_len);
    r->cur.path[path_len] = '\0';
  }
  if (t[path_len] == '?') {
    const char *q = t + path_len + 1;
    size_t query_len = strcspn(q, "#");
    if (query_len >= sizeof r->cur.query)
      return fail(r, 414, "request query longer than %zu bytes", sizeof r->cur.query - 1);
    memcpy(r->cur.query, q, query_len);
    r->cur.query[query_len] = '\0';
  }
  return 0;
}

static ohets_caqh_http_method method_of(unsigned m) {
  switch (m) {
  case HTTP_GET:
    return OHETS_CAQH_METHOD_GET;
  case HTTP_HEAD:
    return OHETS_CAQH_METHOD_HEAD;
  case HTTP_POST:
    return OHETS_CAQH_METHOD_POST;
  default:
    return OHETS_CAQH_METHOD_OTHER;
  }
}

static int on_headers_complete(http_parser *p) {
  ohets_caqh_http_reader *r = reader_of(p);
  if (r->in_value)
    finish_header(r);
  r->in_value = 0;
  r->headers_done = 1;
  if (r->head_status != 0)
    return fail(r, r->head_status, "%s", r->head_error);
  ohets_caqh_http_msg *m = &r->cur;
  m->http_minor = p->http_minor;
  m->keep_alive = http_should_keep_alive(p);
  m->chunked = (p->flags & F_CHUNKED) != 0;
  m->has_length = (p->flags & F_CONTENTLENGTH) != 0;
  if (p->http_major != 1 || p->http_minor > 1)
    return fail(r, 505, "HTTP/%u.%u is not supported (HTTP/1.1 and 1.0 are)",
                (unsigned)p->http_major, (unsigned)p->http_minor);
  if (r->responses) {
    m->status = (int)p->status_code;
  } else {
    m->method = method_of(p->method);
    snprintf(m->method_name, sizeof m->method_name, "%s",
             http_method_str((enum http_method)p->method));
    if (p->method == HTTP_CONNECT)
      m->keep_alive = 0; /* the parser takes what follows for a tunnel */
    if (split_target(r) != 0)
      return -1;
  }
  char action[sizeof m->soap_action];
  int found = header_param(m->content_type, "action", action, sizeof action);
  if (found < 0)
    return fail(r, 431, "Content-Type action parameter longer than %zu bytes",
                sizeof action - 1);
  if (found > 0)
    memcpy(m->soap_action, action, sizeof action); /* SOAP 1.2's way wins */
  if (r->transfer_encoding && !m->chunked)
    return fail(r, 400, "Transfer-Encoding without chunked last");
  /* RFC 9112 6.1: a request's coding the server does not know is 501, not
   * a body read as if it were only chunked. */
  if (!r->responses && r->coding_other)
    return fail(r, 501, "transfer coding other than chunked (gzip, deflate... are not taken)");
  if (!r->responses && p->method == HTTP_POST && !m->has_length && !m->chunked)
    return fail(r, 411, "POST without Content-Length or chunked coding");
  if (m->has_length && p->content_length > r->max_body)
    return fail(r, 413, "Content-Length %llu over the limit of %zu bytes",
                (unsigned long long)p->content_length, r->max_body);
  if (m->has_length && p->content_length > 0) {
    m->body = malloc((size_t)p->content_length);
    if (m->body == NULL)
      return fail(r, 500, "out of memory for a %llu-byte body",
                  (unsigned long long)p->content_length);
    r->body_cap = (size_t)p->content_length;
  }
  int body_to_come = m->chunked || (m->has_length && p->content_length > 0);
  if (!r->responses && m->expect_continue && m->http_minor == 1 && body_to_come)
    r->continue_pending = 1;
  return 0;
}

static int on_chunk_header(http_parser *p) {
  ohets_caqh_http_reader *r = reader_of(p);
  if (p->content_length > r->max_body - r->cur.body_len)
    return fail(r, 413, "chunked body over the limit of %zu bytes", r->max_body);
  return 0;
}

static int on_body(http_parser *p, const char *at, size_t len) {
  ohets_caqh_http_reader *r = reader_of(p);
  ohets_caqh_http_msg *m = &r->cur;
  if (len > r->max_body - m->body_len)
    return fail(r, 413, "body over the limit of %zu bytes", r->max_body);
  if (len > r->body_cap - m->body_len) {
    /* Chunked or close-delimited: grow by doubling, never past max_body. */
    size_t cap = r->body_cap < 4096 ? 4096 : r->body_cap;
    while (cap < m->body_len + len)
      cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
    if (cap > r->max_body)
      cap = r->max_body;
    uint8_t *grown = realloc(m->body, cap);
    if (grown == NULL)
      return fail(r, 500, "out of memory for the body");
    m->body = grown;
    r->body_cap = cap;
  }
  memcpy(m->body + m->body_len, at, len);
  m->body_len += len;
  return 0;
}

static int on_message_complete(http_parser *p) {
  ohets_caqh_http_reader *r = reader_of(p);
  r->message_done = 1;
  r->continue_pending = 0; /* the body is here: no need to ask for it */
  http_parser_pause(p, 1); /* one message per call: the next one waits */
  return 0;
}

static const http_parser_settings settings = {
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
    .on_chunk_header = on_chunk_header,
};

int ohets_caqh_http_reader_new(ohets_caqh_http_reader **out, int responses, size_t max_body) {
  *out = NULL;
  ohets_caqh_http_reader *r = calloc(1, sizeof *r);
  if (r == NULL)
    return -ENOMEM;
  r->responses = responses != 0;
  r->max_body = max_body;
  size_t body_wire = max_body > (SIZE_MAX - WIRE_SLACK - OHETS_CAQH_HEADERS_MAX) / 2
                         ? SIZE_MAX - WIRE_SLACK - OHETS_CAQH_HEADERS_MAX
                         : 2 * max_body;
  r->wire_max = OHETS_CAQH_HEADERS_MAX + body_wire + WIRE_SLACK;
  http_parser_init(&r->parser, r->responses ? HTTP_RESPONSE : HTTP_REQUEST);
  r->parser.data = r;
  *out = r;
  return 0;
}

void ohets_caqh_http_reader_free(ohets_caqh_http_reader *r) {
  if (r == NULL)
    return;
  free(r->cur.body);
  free(r);
}

/* Whether a request line the parser refused names an HTTP version other
 * than 1.0 and 1.1 (505, not 400).  Judged on the bytes up to and
 * including the one refused, so the verdict does not depend on how much
 * more has arrived: "HTTP/10" or "HTTP/1.10" are versions, "HTTP/1.1x"
 * is garbage; "PRI" starts HTTP/2's connection preface. */
static int unsupported_version(const uint8_t *buf, size_t stop) {
  size_t i = 0;
  while (i < stop && (buf[i] == '\r' || buf[i] == '\n'))
    i++;
  size_t start = i;
  if (stop - start >= 3 && memcmp(buf + start, "PRI", 3) == 0)
    return 1;
  while (i < stop && buf[i] != '\r' && buf[i] != '\n')
    i++;
  size_t end = i, tok = end;
  while (tok > start && buf[tok - 1] != ' ')
    tok--;
  if (tok == start || end - tok < 6 || memcmp(buf + tok, "HTTP/", 5) != 0)
    return 0;
  unsigned major = 0, minor = 0;
  size_t k = tok + 5, major_digits = 0, minor_digits = 0;
  for (; k < end && buf[k] >= '0' && buf[k] <= '9' && major_digits < 4; k++, major_digits++)
    major = major * 10 + (unsigned)(buf[k] - '0');
  if (major_digits == 0)
    return 0;
  if (k < end && buf[k] == '.') {
    for (k++; k < end && buf[k] >= '0' && buf[k] <= '9' && minor_digits < 4; k++, minor_digits++)
      minor = minor * 10 + (unsigned)(buf[k] - '0');
  }
  if (end - k > 1)
    return 0; /* more than the one refused byte after the version */
  return major != 1 || minor_digits > 1 || minor > 1;
}

static void parse_error(ohets_caqh_http_reader *r, const uint8_t *buf, size_t len) {
  enum http_errno err = HTTP_PARSER_ERRNO(&r->parser);
  size_t stop = r->parsed < len ? r->parsed + 1 : len;
  if (!r->responses && !r->headers_done && unsupported_version(buf, stop)) {
    fail(r, 505, "HTTP version not supported (HTTP/1.1 and 1.0 are)");
    return;
  }
  fail(r, 400, "malformed %s: %s", r->responses ? "response" : "request",
       http_errno_description(err));
}

/* What the caller gets on ERROR: what is known of the message, no body. */
static ohets_caqh_http_status give_error(ohets_caqh_http_reader *r, ohets_caqh_http_msg *msg) {
  *msg = r->cur;
  msg->body = NULL;
  msg->body_len = 0;
  msg->keep_alive = 0;
  return OHETS_CAQH_HTTP_ERROR;
}

static ohets_caqh_http_status give_message(ohets_caqh_http_reader *r, size_t *consumed,
                                           ohets_caqh_http_msg *msg) {
  http_parser_pause(&r->parser, 0);
  *consumed = r->parsed;
  *msg = r->cur;
  r->cur.body = NULL; /* the caller's now */
  int closes = !msg->keep_alive;
  start_message(r);
  r->closed = closes;
  return OHETS_CAQH_HTTP_MESSAGE;
}

ohets_caqh_http_status ohets_caqh_http_reader_next(ohets_caqh_http_reader *r, const uint8_t *buf,
                                                   size_t len, size_t *consumed,
                                                   ohets_caqh_http_msg *msg) {
  *consumed = 0;
  if (r->failed)
    return give_error(r, msg);
  if (r->closed && len > 0) {
    fail(r, 400, "bytes after a message that closes the connection");
    return give_error(r, msg);
  }
  if (len < r->parsed) {
    fail(r, 500, "reader misused: %zu bytes passed, %zu already parsed", len, r->parsed);
    return give_error(r, msg);
  }
  while (r->parsed < len) {
    size_t chunk = len - r->parsed;
    /* Feed no more than the limits allow, so their errors come at once
     * and at the same byte however the input is split. */
    size_t limit = r->headers_done ? r->wire_max : OHETS_CAQH_HEADERS_MAX;
    if (r->parsed >= limit)
      break;
    if (chunk > limit - r->parsed)
      chunk = limit - r->parsed;
    size_t n = http_parser_execute(&r->parser, &settings, (const char *)buf + r->parsed, chunk);
    r->parsed += n;
    if (r->failed)
      return give_error(r, msg);
    enum http_errno err = HTTP_PARSER_ERRNO(&r->parser);
    if (err == HPE_PAUSED && r->message_done)
      return give_message(r, consumed, msg);
    if (err != HPE_OK || n != chunk) {
      parse_error(r, buf, len);
      return give_error(r, msg);
    }
  }
  if (!r->headers_done && r->parsed >= OHETS_CAQH_HEADERS_MAX) {
    fail(r, 431, "%s line and headers over %d bytes", r->responses ? "status" : "request",
         OHETS_CAQH_HEADERS_MAX);
    return give_error(r, msg);
  }
  if (r->headers_done && r->parsed >= r->wire_max) {
    fail(r, 413, "message framing over %zu bytes", r->wire_max);
    return give_error(r, msg);
  }
  return OHETS_CAQH_HTTP_NEED_MORE;
}

int ohets_caqh_http_reader_wants_continue(ohets_caqh_http_reader *r) {
  int pending = r->continue_pending;
  r->continue_pending = 0;
  return pending;
}

ohets_caqh_http_status ohets_caqh_http_reader_eof(ohets_caqh_http_reader *r,
                                                  ohets_caqh_http_msg *msg) {
  if (r->failed)
    return give_error(r, msg);
  if (r->parsed == 0 && !r->headers_done)
    return OHETS_CAQH_HTTP_NEED_MORE; /* closed between messages: nothing lost */
  /* A zero-length execute tells the parser the stream ended. */
  http_parser_execute(&r->parser, &settings, NULL, 0);
  if (r->failed)
    return give_error(r, msg);
  enum http_errno err = HTTP_PARSER_ERRNO(&r->parser);
  size_t consumed;
  if (err == HPE_PAUSED && r->message_done)
    return give_message(r, &consumed, msg);
  if (err == HPE_OK)
    return OHETS_CAQH_HTTP_NEED_MORE; /* only line ends since the last message */
  fail(r, 400, "connection closed in the middle of a %s",
       r->responses ? "response" : "request");
  return give_error(r, msg);
}

void ohets_caqh_http_msg_clear(ohets_caqh_http_msg *msg) {
  free(msg->body);
  memset(msg, 0, sizeof *msg);
}

const char *ohets_caqh_http_reason(int status) {
  switch (status) {
  case 100: return "Continue";
  case 200: return "OK";
  case 204: return "No Content";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 408: return "Request Timeout";
  case 411: return "Length Required";
  case 413: return "Content Too Large";
  case 414: return "URI Too Long";
  case 415: return "Unsupported Media Type";
  case 417: return "Expectation Failed";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 501: return "Not Implemented";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  case 505: return "HTTP Version Not Supported";
  default: return "Unknown";
  }
}

/* Header values we write must not end the header early. */
static int header_safe(const char *s) {
  for (; *s != '\0'; s++)
    if ((unsigned char)*s < 0x20 && *s != '\t')
      return 0;
  return 1;
}

static int write_head(ohets_buf *out, int status, const char *content_type,
                      size_t content_length, int close, const char *extra) {
  if (status < 100 || status > 999 || (content_type != NULL && !header_safe(content_type)))
    return -EINVAL;
  int rc = ohets_buf_printf(out, "HTTP/1.1 %d %s\r\n", status, ohets_caqh_http_reason(status));
  if (rc == 0 && content_type != NULL)
    rc = ohets_buf_printf(out, "Content-Type: %s\r\n", content_type);
  if (rc == 0)
    rc = ohets_buf_printf(out, "Content-Length: %zu\r\n", content_length);
  if (rc == 0 && extra != NULL)
    rc = ohets_buf_puts(out, extra);
  if (rc == 0 && close)
    rc = ohets_buf_puts(out, "Connection: close\r\n");
  if (rc == 0)
    rc = ohets_buf_puts(out, "\r\n");
  return rc;
}

int ohets_caqh_http_write_head(ohets_buf *out, int status, const char *content_type,
                               size_t content_length, int close) {
  return write_head(out, status, content_type, content_length, close, NULL);
}

int ohets_caqh_http_write_error(ohets_buf *out, int status, const char *text, int close) {
  char line[256];
  /* One line of printable text whatever the caller passed. */
  size_t n = 0;
  for (const char *s = text != NULL ? text : ""; *s != '\0' && n < sizeof line - 2; s++)
    line[n++] = (unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s;
  line[n++] = '\n';
  line[n] = '\0';
  int rc = write_head(out, status, "text/plain; charset=utf-8", n, close,
                      status == 405 ? "Allow: GET, POST\r\n" : NULL);
  if (rc == 0)
    rc = ohets_buf_append(out, line, n);
  return rc;
}
