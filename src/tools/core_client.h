/* The client side of the CAQH CORE door (DESIGN §13), shared by hets-query
 * and hets-load --core: the URL, a request's HTTP bytes for a SOAP or MIME
 * envelope around a 270, and a response read back into its envelope and
 * HTTP status.  No sockets here: the tools move the bytes.
 *
 * Functions return 0 or a negative errno unless they say otherwise.  Error
 * texts never hold the payload (PHI). */
#ifndef OHETS_TOOLS_CORE_CLIENT_H
#define OHETS_TOOLS_CORE_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "caqh/envelope.h"
#include "caqh/http_reader.h"
#include "openhets/openhets.h"

typedef enum ohets_core_kind { OHETS_CORE_SOAP = 1, OHETS_CORE_MIME } ohets_core_kind;

/* "soap" or "mime".  -EINVAL otherwise. */
int ohets_core_kind_parse(const char *s, ohets_core_kind *out);

/* The environment variable --user's password is read from (never a flag:
 * it would show in ps). */
#define OHETS_CORE_PASSWORD_ENV "OPENHETS_PASSWORD"

/* https://HOST[:PORT][/PATH], HOST a name, an IPv4 address or [IPv6]. */
typedef struct ohets_core_url {
  char host[256];      /* to connect to and check the certificate against (no brackets) */
  char port[6];        /* default 443 */
  char authority[272]; /* the Host header: HOST:PORT (brackets kept) */
  char path[512];      /* default /eligibility/realtime/soap or /mime */
} ohets_core_url;

/* Parses url; a missing path is the kind's default.  http:// (or any
 * other scheme) is refused: the door is HTTPS only.  -EINVAL with one line
 * in err. */
int ohets_core_url_parse(const char *url, ohets_core_kind kind, ohets_core_url *out, char *err,
                         size_t errsz);

/* The 270's ISA06 (the interchange sender), trailing spaces trimmed: what
 * SenderID must carry.  -EINVAL when x12 does not start with an ISA. */
int ohets_core_sender_id(const uint8_t *x12, size_t n, char out[16]);

#define OHETS_CORE_UUID_LEN 36
#define OHETS_CORE_TIMESTAMP_LEN 20 /* YYYY-MM-DDThh:mm:ssZ */

/* An RFC 4122 version 4 UUID from OpenSSL's RAND_bytes, lower case.
 * -EIO when the generator fails. */
int ohets_core_uuid(char out[OHETS_CORE_UUID_LEN + 1]);
/* Now, UTC, as an xs:dateTime with Z. */
void ohets_core_timestamp(char out[OHETS_CORE_TIMESTAMP_LEN + 1]);

typedef struct ohets_core_request {
  ohets_core_kind kind;
  const ohets_core_url *url;
  const uint8_t *payload; /* the 270, bare X12 */
  size_t payload_len;
  const char *username, *password; /* both or neither (NULL) */
} ohets_core_request;

/* Where a built request's PayloadID and TimeStamp values sit, so a request
 * can be sent again with fresh ones without building it again. */
typedef struct ohets_core_stamp {
  size_t id_off, ts_off;
} ohets_core_stamp;

/* The whole HTTP request (POST, Host, Content-Type, Content-Length,
 * keep-alive, then the envelope) into out, which it resets.  The envelope:
 * PayloadType X12_270_Request_005010X279A1, ProcessingMode RealTime, a
 * fresh PayloadID, TimeStamp now, SenderID the 270's ISA06, ReceiverID
 * CMS, CORERuleVersion 2.2.0, Payload the 270; with a username, a
 * UsernameToken (SOAP) or UserName/Password parts (MIME).  payload_id
 * (may be NULL) gets the PayloadID; stamp (may be NULL) where it and the
 * TimeStamp are.  -EINVAL (with one line in err) when the payload has no
 * ISA06; -ENOMEM, -EIO. */
int ohets_core_build(ohets_buf *out, const ohets_core_request *rq,
                     char payload_id[OHETS_CORE_UUID_LEN + 1], ohets_core_stamp *stamp,
                     char *err, size_t errsz);

/* Writes a fresh PayloadID and TimeStamp into a request made by
 * ohets_core_build (req: a copy of its bytes).  payload_id (may be NULL)
 * gets the new PayloadID.  -EIO when the generator fails. */
int ohets_core_restamp(uint8_t *req, const ohets_core_stamp *stamp,
                       char payload_id[OHETS_CORE_UUID_LEN + 1]);

/* A response read. */
typedef struct ohets_core_result {
  int http_status;
  int ok;    /* 200, an X12 answer (ErrorCode Success) with its Payload */
  int fault; /* the answer was a SOAP Fault (its reason in error_message) */
  /* Printable copies of the response's fields ("" when absent). */
  char payload_type[64];
  char payload_id[64];
  char error_code[64];
  char error_message[256];
  ohets_caqh_envelope env; /* every field as read (Payload: the X12 answer) */
} ohets_core_result;

void ohets_core_result_init(ohets_core_result *r);
void ohets_core_result_clear(ohets_core_result *r);

/* Reads the HTTP response msg (from ohets_caqh_http_reader in responses
 * mode) for a request of this kind into r.  want_id (may be NULL): our
 * PayloadID, which an answer must echo.  0 when the response was
 * understood, whether r->ok or an envelope error, SOAP Fault or plain HTTP
 * error; -EPROTO (one line in err) when it cannot be: a 200 whose body is
 * not an envelope of that kind, or an answer without its Payload or with
 * another PayloadID. */
int ohets_core_read_response(ohets_core_kind kind, const ohets_caqh_http_msg *msg,
                             const char *want_id, ohets_core_result *r, char *err, size_t errsz);

/* A failed response in one line: "HTTP 403 UnAuthorized: <ErrorMessage>"
 * (the ErrorCode, else "SOAP Fault", else the status's reason phrase). */
void ohets_core_error_line(const ohets_core_result *r, char *out, size_t n);
/* The key hets-load counts it under: the ErrorCode, else "http_NNN". */
void ohets_core_error_key(const ohets_core_result *r, char *out, size_t n);

#endif
