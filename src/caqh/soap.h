/* The SOAP 1.2 envelope (DESIGN §13), its XSD and the WSDL, with libxml2:
 * no network, no DTD, no entities (a document with a DOCTYPE is refused as
 * malformed), UTF-8 only.  Fuzzed: tests/fuzz/fuzz_soap.c. */
#ifndef OHETS_CAQH_SOAP_H
#define OHETS_CAQH_SOAP_H

#include <stddef.h>

#include "caqh/envelope.h"

/* Once per process, before threads: libxml2's init, and the envelope's
 * XSD (src/caqh/CORERule2.2.0.xsd, compiled into the program) parsed.
 * Returns 0 or a negative errno. */
int ohets_caqh_soap_init(void);
void ohets_caqh_soap_cleanup(void);

/* The XSD and WSDL texts (static). */
const char *ohets_caqh_xsd_text(void);

typedef enum ohets_caqh_soap_status {
  OHETS_CAQH_SOAP_OK = 0, /* the body element is COREEnvelopeRealTimeRequest (or
                           * Response) and its children are known fields in
                           * order: e filled (missing fields NULL) */
  OHETS_CAQH_SOAP_FAULT   /* not XML, a DOCTYPE, not UTF-8, not a SOAP 1.2
                           * envelope, not one body element of ours, an
                           * unknown/duplicate/out-of-order/qualified child,
                           * a field with element children, two envelopes, or
                           * any other XSD failure not explained by a missing
                           * or empty field: answer a Fault (reason in err) */,
  OHETS_CAQH_SOAP_MUST_UNDERSTAND /* a header block marked mustUnderstand that
                                   * is not wsse:Security: answer a Fault with
                                   * code env:MustUnderstand (SOAP 1.2 Part 1,
                                   * 5.4.8) */
} ohets_caqh_soap_status;

/* Reads a request (response = 0) or a response (1).  The body element is
 * validated against the XSD; a failure that is only a missing or empty
 * field is OK here (ohets_caqh_check_request then says <Field>Required).
 * A wsse:Security header's UsernameToken (Username, Password of type
 * PasswordText or no type) fills e->username / e->password.  A response
 * that is a SOAP Fault: FAULT with err holding the fault's reason.  e must
 * be initialised (ohets_caqh_envelope_init); it is cleared first, and left
 * empty on FAULT.  err never holds a field's value.  Safe from several
 * threads at once after ohets_caqh_soap_init. */
ohets_caqh_soap_status ohets_caqh_soap_read(const uint8_t *body, size_t n, int response,
                                            ohets_caqh_envelope *e, char *err, size_t errsz);

/* Writes a SOAP 1.2 envelope whose body is COREEnvelopeRealTimeRequest
 * (response = 0: the eight request fields; with a wsse:Security
 * UsernameToken when e->username is set) or COREEnvelopeRealTimeResponse
 * (1: all present fields).  Payload is written as a CDATA section (split
 * where it holds "]]>", a CR between sections as &#13;), other values as
 * escaped text.  -EINVAL when a value is not UTF-8 text XML can hold. */
int ohets_caqh_soap_write(ohets_buf *out, const ohets_caqh_envelope *e, int response);

/* A SOAP 1.2 Fault: Code env:Sender (sender = 1) or env:Receiver, Reason
 * text (escaped, xml:lang="en"). */
#define OHETS_CAQH_FAULT_RECEIVER 0
#define OHETS_CAQH_FAULT_SENDER 1
#define OHETS_CAQH_FAULT_MUST_UNDERSTAND 2
int ohets_caqh_soap_write_fault(ohets_buf *out, int code, const char *reason);

/* The WSDL (§13: targetNamespace OHETS_CAQH_NS_WSDL, portType
 * CORETransactions, operation RealTimeTransaction, soapAction
 * RealTimeTransaction, SOAP 1.2 binding CoreSoapBinding, service Core,
 * port CoreSoapPort, the XSD inline in wsdl:types) with the port's
 * address (escaped), e.g. "https://host:port/eligibility/realtime/soap". */
int ohets_caqh_wsdl_write(ohets_buf *out, const char *address);

#endif /* OHETS_CAQH_SOAP_H */
