/* HTTP/1.1 requests and responses read with libhttp-parser (Debian's
 * libhttp-parser-dev: Node.js's long-lived C parser, no dependencies, a
 * streaming callback API).  The CORE door's loop side reads requests with
 * it; hets-query and hets-load read responses.  Fuzzed:
 * tests/fuzz/fuzz_http.c. */
#ifndef OHETS_CAQH_HTTP_READER_H
#define OHETS_CAQH_HTTP_READER_H

#include <stddef.h>
#include <stdint.h>

#include "openhets/openhets.h"

#define OHETS_CAQH_HEADERS_MAX (16 * 1024) /* request line + headers: else 431 */

typedef enum ohets_caqh_http_status {
  OHETS_CAQH_HTTP_NEED_MORE = 0, /* no whole message yet */
  OHETS_CAQH_HTTP_MESSAGE,       /* one whole message read (msg filled) */
  OHETS_CAQH_HTTP_ERROR          /* answer msg->error_status, then close */
} ohets_caqh_http_status;

typedef enum ohets_caqh_http_method {
  OHETS_CAQH_METHOD_OTHER = 0,
  OHETS_CAQH_METHOD_GET,
  OHETS_CAQH_METHOD_HEAD,
  OHETS_CAQH_METHOD_POST
} ohets_caqh_http_method;

/* One message as read.  Strings are NUL-terminated copies, "" when absent.
 * The body is the message body with any chunked coding removed. */
typedef struct ohets_caqh_http_msg {
  ohets_caqh_http_method method; /* requests */
  char method_name[16];          /* as sent ("PUT"), for the log and 405 */
  char path[256];                /* request target's path, no query */
  char query[256];               /* after '?', without it ("wsdl") */
  int status;                    /* responses: the status code */
  int http_minor;                /* 0 or 1 */
  int keep_alive;                /* 1: the connection stays open after it */
  int expect_continue;           /* request said Expect: 100-continue */
  int chunked;                   /* body came chunked */
  int has_length;                /* Content-Length given */
  char host[256];                /* these three: longer is 431, twice is 400 */
  char content_type[256];
  char soap_action[128];         /* Content-Type's action parameter, else
                                    SOAPAction without its quotes */
  uint8_t *body;                 /* owned (malloc); NULL when empty */
  size_t body_len;
  int error_status;              /* OHETS_CAQH_HTTP_ERROR: 400, 411, 413,
                                    414, 431, 501, 505 (500: out of memory) */
  char error[160];               /* the error in words (one line, no body bytes) */
} ohets_caqh_http_msg;

typedef struct ohets_caqh_http_reader ohets_caqh_http_reader;

/* responses: 0 requests, 1 responses.  max_body: larger bodies are 413
 * (Content-Length at once; chunked once the sum passes it).  The reader
 * allocates one body of at most max_body per message; a message may take
 * at most OHETS_CAQH_HEADERS_MAX + 2 * max_body + 64 KiB of the caller's
 * buffer (chunk framing, trailers), else 413. */
int ohets_caqh_http_reader_new(ohets_caqh_http_reader **out, int responses, size_t max_body);
void ohets_caqh_http_reader_free(ohets_caqh_http_reader *r);

/* Reads from buf[0..len), the bytes not yet taken by an earlier message:
 * the reader remembers how many of them it has already parsed, so the
 * caller passes the same growing buffer (it may move) until a message
 * ends.  On MESSAGE *consumed is the message's length in buf (the caller
 * drops that many bytes before the next call) and msg is filled (msg->body
 * owned by the caller now); pipelined messages come one per call.  On
 * ERROR msg holds error_status, error and what was known of the message
 * (no body, keep_alive 0); the reader stays in error.  On NEED_MORE msg is
 * not touched.  Errors: malformed 400 (also: any second Content-Length,
 * Content-Length with chunked, a Transfer-Encoding without chunked last,
 * white space in a header name, bytes after a message that closes the
 * connection); a request coding besides chunked ("gzip, chunked") 501;
 * POST without Content-Length or chunked coding 411; body
 * over max_body 413; request target over 255 bytes of path or query 414;
 * request line and headers over OHETS_CAQH_HEADERS_MAX 431; HTTP/2 or a
 * version other than 1.0 and 1.1 505.  Requests: after the headers of an
 * HTTP/1.1 one with `Expect: 100-continue` and a body still to come,
 * ohets_caqh_http_reader_wants_continue() says 1 once.  Responses: a 1xx
 * (100 Continue) comes as a message of its own. */
ohets_caqh_http_status ohets_caqh_http_reader_next(ohets_caqh_http_reader *r, const uint8_t *buf,
                                                   size_t len, size_t *consumed,
                                                   ohets_caqh_http_msg *msg);
/* 1 once per request that asked for 100 Continue, after its headers. */
int ohets_caqh_http_reader_wants_continue(ohets_caqh_http_reader *r);
/* The peer closed (call next() with every byte first): a response body
 * delimited by the close ends here (MESSAGE); NEED_MORE when the close
 * fell between messages; ERROR (400) in the middle of one. */
ohets_caqh_http_status ohets_caqh_http_reader_eof(ohets_caqh_http_reader *r,
                                                  ohets_caqh_http_msg *msg);
void ohets_caqh_http_msg_clear(ohets_caqh_http_msg *msg); /* frees body, empties msg */

/* Writes a response head: status line (reason phrase from the code),
 * Date omitted, Content-Type (when not NULL), Content-Length, and
 * `Connection: close` when close is 1, then the blank line.  -EINVAL for
 * a status outside 100-999 or a content type with control characters. */
int ohets_caqh_http_write_head(ohets_buf *out, int status, const char *content_type,
                               size_t content_length, int close);
/* A whole plain-text error response (400, 404, ...): head + "text/plain;
 * charset=utf-8" body of one line (text, control characters made spaces,
 * at most 254 bytes, then LF); 405 adds `Allow: GET, POST`. */
int ohets_caqh_http_write_error(ohets_buf *out, int status, const char *text, int close);
const char *ohets_caqh_http_reason(int status); /* "Bad Request"... */

#endif /* OHETS_CAQH_HTTP_READER_H */
