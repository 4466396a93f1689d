/* CAQH CORE Phase II real-time envelopes (DESIGN §13): the fields both
 * SOAP and MIME carry, and the checks a request envelope must pass.
 *
 * src/caqh is pure like the core (bytes in, bytes out; no sockets,
 * threads, files or clock): the server's CORE door and the tools share
 * it.  Functions return 0 or a negative errno unless said otherwise. */
#ifndef OHETS_CAQH_ENVELOPE_H
#define OHETS_CAQH_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "openhets/openhets.h"

/* The fields in envelope order: a request has the first eight, a response
 * all ten (Payload optional). */
typedef enum ohets_caqh_field {
  OHETS_CAQH_PAYLOAD_TYPE = 0,
  OHETS_CAQH_PROCESSING_MODE,
  OHETS_CAQH_PAYLOAD_ID,
  OHETS_CAQH_TIMESTAMP,
  OHETS_CAQH_SENDER_ID,
  OHETS_CAQH_RECEIVER_ID,
  OHETS_CAQH_CORE_RULE_VERSION,
  OHETS_CAQH_PAYLOAD,
  OHETS_CAQH_ERROR_CODE,
  OHETS_CAQH_ERROR_MESSAGE,
  OHETS_CAQH_N_FIELDS
} ohets_caqh_field;

#define OHETS_CAQH_N_REQUEST_FIELDS 8

/* "PayloadType", ... "ErrorMessage" (the element and part names). */
const char *ohets_caqh_field_name(ohets_caqh_field f);
/* The field named so (exact, case-sensitive), or -1. */
int ohets_caqh_field_of(const char *name, size_t n);

/* Values DESIGN §13 fixes. */
#define OHETS_CAQH_NS_SOAP12 "http://www.w3.org/2003/05/soap-envelope"
#define OHETS_CAQH_NS_CORE "http://www.caqh.org/SOAP/WSDL/CORERule2.2.0.xsd"
#define OHETS_CAQH_NS_WSDL "http://www.caqh.org/SOAP/WSDL/"
#define OHETS_CAQH_PT_270 "X12_270_Request_005010X279A1"
#define OHETS_CAQH_PT_271 "X12_271_Response_005010X279A1"
#define OHETS_CAQH_PT_999 "X12_999_Response_005010X231A1"
#define OHETS_CAQH_PT_TA1 "X12_TA1_Response_00501X231A1"
#define OHETS_CAQH_PT_ERROR "CoreEnvelopeError"
#define OHETS_CAQH_REALTIME "RealTime"
#define OHETS_CAQH_RULE_VERSION "2.2.0"
#define OHETS_CAQH_RECEIVER "CMS"

/* One envelope, request or response.  Every value is an owned,
 * NUL-terminated copy (len excludes the NUL; a value may hold NULs only in
 * Payload); NULL when the element or part is absent.  Credentials come
 * from a WS-Security UsernameToken (SOAP) or the UserName/Password parts
 * (MIME); NULL when absent. */
typedef struct ohets_caqh_envelope {
  char *value[OHETS_CAQH_N_FIELDS];
  size_t len[OHETS_CAQH_N_FIELDS];
  char *username, *password;
  size_t username_len, password_len;
} ohets_caqh_envelope;

void ohets_caqh_envelope_init(ohets_caqh_envelope *e);
/* Frees every value (passwords wiped first); e is empty afterwards. */
void ohets_caqh_envelope_clear(ohets_caqh_envelope *e);
/* Sets a field to a copy of p[0..n) (replacing any value). */
int ohets_caqh_envelope_set(ohets_caqh_envelope *e, ohets_caqh_field f, const void *p, size_t n);
int ohets_caqh_envelope_set_str(ohets_caqh_envelope *e, ohets_caqh_field f, const char *s);
/* 1 when the field is present and not empty (after trimming XML
 * whitespace at both ends: spaces, tabs, CR, LF). */
int ohets_caqh_envelope_has(const ohets_caqh_envelope *e, ohets_caqh_field f);

/* ErrorCode of a request envelope's first failure (DESIGN §13). */
typedef struct ohets_caqh_verdict {
  char error_code[40];     /* "Success" when every check passed */
  char error_message[200]; /* the failure in words; "None" on success */
  int http_status;         /* 200, or 403 for UnAuthorized */
} ohets_caqh_verdict;

/* The field checks of §13 in envelope order, for each field Required
 * (missing or empty) before Illegal (wrong value): PayloadType must be
 * OHETS_CAQH_PT_270, ProcessingMode "RealTime", PayloadID an RFC 4122 UUID
 * (8-4-4-4-12 hex digits, either case), TimeStamp an xs:dateTime
 * (YYYY-MM-DDThh:mm:ss[.fff][Z|(+|-)hh:mm]), SenderID equal to
 * `submitter` (else UnAuthorized, 403; submitter NULL: any), ReceiverID
 * "CMS", CORERuleVersion "2.2.0" (else VersionMismatch), Payload present
 * (its X12-ness is judged by the caller: PayloadIllegal).  Values are
 * compared after trimming XML whitespace.  Returns 1 when every check
 * passed, 0 otherwise (v says which). */
int ohets_caqh_check_request(const ohets_caqh_envelope *e, const char *submitter,
                             ohets_caqh_verdict *v);

/* The trimmed value of a field: *n set, pointer into the envelope (NULL
 * when absent). */
const char *ohets_caqh_envelope_trimmed(const ohets_caqh_envelope *e, ohets_caqh_field f,
                                        size_t *n);

#endif /* OHETS_CAQH_ENVELOPE_H */
