/* The SOAP 1.2 envelope reader and writer, the XSD and the WSDL
 * (src/caqh/soap.c). */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caqh/soap.h"

#define ENV_OPEN "<soap:Envelope xmlns:soap=\"http://www.w3.org/2003/05/soap-envelope\">"
#define WSSE "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
#define BODY_OPEN                                                                        \
  "<soap:Body><core:COREEnvelopeRealTimeRequest "                                        \
  "xmlns:core=\"http://www.caqh.org/SOAP/WSDL/CORERule2.2.0.xsd\">"
#define BODY_CLOSE "</core:COREEnvelopeRealTimeRequest></soap:Body>"
#define F_TYPE "<PayloadType>X12_270_Request_005010X279A1</PayloadType>"
#define F_MODE "<ProcessingMode>RealTime</ProcessingMode>"
#define F_ID "<PayloadID>f81d4fae-7dec-11d0-a765-00a0c91e6bf6</PayloadID>"
#define F_TIME "<TimeStamp>2026-11-29T10:20:34Z</TimeStamp>"
#define F_SENDER "<SenderID>SUBMITTER1</SenderID>"
#define F_RECEIVER "<ReceiverID>CMS</ReceiverID>"
#define F_VERSION "<CORERuleVersion>2.2.0</CORERuleVersion>"
#define F_PAYLOAD "<Payload><![CDATA[ISA*00*SMITH~]]></Payload>"
#define FIELDS F_TYPE F_MODE F_ID F_TIME F_SENDER F_RECEIVER F_VERSION F_PAYLOAD
#define GOOD "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" ENV_OPEN BODY_OPEN FIELDS BODY_CLOSE "</soap:Envelope>"
/* A request's body with the given fields. */
#define REQ(fields) ENV_OPEN BODY_OPEN fields BODY_CLOSE "</soap:Envelope>"

static void setup(void) { ck_assert_int_eq(ohets_caqh_soap_init(), 0); }
static void teardown(void) { ohets_caqh_soap_cleanup(); }

static ohets_caqh_soap_status read_n(const void *p, size_t n, int response,
                                     ohets_caqh_envelope *e, char *err, size_t errsz) {
  return ohets_caqh_soap_read(p, n, response, e, err, errsz);
}

static ohets_caqh_soap_status read_s(const char *s, int response, ohets_caqh_envelope *e,
                                     char *err, size_t errsz) {
  return read_n(s, strlen(s), response, e, err, errsz);
}

/* Reads s as a request; it must be a FAULT whose reason holds `why`. */
static void expect_fault(const char *s, const char *why) {
  ohets_caqh_envelope e;
  char err[256];
  ohets_caqh_envelope_init(&e);
  ohets_caqh_soap_status st = read_s(s, 0, &e, err, sizeof err);
  ck_assert_msg(st == OHETS_CAQH_SOAP_FAULT, "not a FAULT: %s", s);
  ck_assert_msg(err[0] != '\0', "no reason");
  ck_assert_msg(strstr(err, why) != NULL, "reason '%s' lacks '%s'", err, why);
  ck_assert_msg(strstr(err, "SMITH") == NULL, "a field value in err: %s", err);
  for (int f = 0; f < OHETS_CAQH_N_FIELDS; f++)
    ck_assert_ptr_null(e.value[f]);
  ck_assert_ptr_null(e.username);
  ohets_caqh_envelope_clear(&e);
}

static void expect_value(const ohets_caqh_envelope *e, ohets_caqh_field f, const char *want) {
  ck_assert_ptr_nonnull(e->value[f]);
  ck_assert_uint_eq(e->len[f], strlen(want));
  ck_assert_str_eq(e->value[f], want);
}

static void same_envelope(const ohets_caqh_envelope *a, const ohets_caqh_envelope *b) {
  for (int f = 0; f < OHETS_CAQH_N_FIELDS; f++) {
    ck_assert_int_eq(a->value[f] == NULL, b->value[f] == NULL);
    if (a->value[f] != NULL) {
      ck_assert_uint_eq(a->len[f], b->len[f]);
      ck_assert(memcmp(a->value[f], b->value[f], a->len[f]) == 0);
    }
  }
}

static void fill_request(ohets_caqh_envelope *e, const char *payload) {
  ohets_caqh_envelope_set_str(e, OHETS_CAQH_PAYLOAD_TYPE, OHETS_CAQH_PT_270);
  ohets_caqh_envelope_set_str(e, OHETS_CAQH_PROCESSING_MODE, "RealTime");
  ohets_caqh_envelope_set_str(e, OHETS_CAQH_PAYLOAD_ID, "f81d4fae-7dec-11d0-a765-00a0c91e6bf6");
  ohets_caqh_envelope_set_str(e, OHETS_CAQH_TIMESTAMP, "2026-11-29T10:20:34Z");
  ohets_caqh_envelope_set_str(e, OHETS_CAQH_SENDER_ID, "SUB<&>\"'1");
  ohets_caqh_envelope_set_str(e, OHETS_CAQH_RECEIVER_ID, "CMS");
  ohets_caqh_envelope_set_str(e, OHETS_CAQH_CORE_RULE_VERSION, "2.2.0");
  ohets_caqh_envelope_set_str(e, OHETS_CAQH_PAYLOAD, payload);
}

/* Writes e, reads it back, and compares. */
static void round_trip(const ohets_caqh_envelope *e, int response, ohets_buf *out) {
  ohets_caqh_envelope back;
  char err[256];
  ohets_caqh_envelope_init(&back);
  ck_assert_int_eq(ohets_caqh_soap_write(out, e, response), 0);
  ohets_caqh_soap_status st = read_n(out->data, out->len, response, &back, err, sizeof err);
  ck_assert_msg(st == OHETS_CAQH_SOAP_OK, "re-read: %s", err);
  same_envelope(e, &back);
  if (!response) {
    ck_assert_int_eq(e->username == NULL, back.username == NULL);
    if (e->username != NULL) {
      ck_assert_str_eq(e->username, back.username);
      ck_assert_str_eq(e->password, back.password);
    }
  }
  ohets_caqh_envelope_clear(&back);
}

START_TEST(good_request) {
  ohets_caqh_envelope e;
  char err[256];
  ohets_caqh_envelope_init(&e);
  ck_assert_int_eq(read_s(GOOD, 0, &e, err, sizeof err), OHETS_CAQH_SOAP_OK);
  expect_value(&e, OHETS_CAQH_PAYLOAD_TYPE, OHETS_CAQH_PT_270);
  expect_value(&e, OHETS_CAQH_PAYLOAD_ID, "f81d4fae-7dec-11d0-a765-00a0c91e6bf6");
  expect_value(&e, OHETS_CAQH_PAYLOAD, "ISA*00*SMITH~");
  ck_assert_ptr_null(e.value[OHETS_CAQH_ERROR_CODE]);
  ck_assert_ptr_null(e.username);
  ohets_caqh_verdict v;
  ck_assert_int_eq(ohets_caqh_check_request(&e, "SUBMITTER1", &v), 1);
  ohets_caqh_envelope_clear(&e);
}
END_TEST

START_TEST(request_text_forms) {
  /* Comments, whitespace between elements, a UTF-8 BOM, entities and CDATA
   * joined with text, Header without blocks, an ignored encoding label. */
  const char *doc =
      "\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><!-- c -->\n" ENV_OPEN
      "\n <soap:Header/>\n" BODY_OPEN "\n " F_TYPE "<!-- x -->\n " F_MODE F_ID F_TIME
      "<SenderID>A&amp;B<![CDATA[<C>]]>&#x44;</SenderID>" F_RECEIVER F_VERSION
      "<Payload>  ISA~\n</Payload>\n" BODY_CLOSE "</soap:Envelope>\n";
  ohets_caqh_envelope e;
  char err[256];
  ohets_caqh_envelope_init(&e);
  ck_assert_msg(read_s(doc, 0, &e, err, sizeof err) == OHETS_CAQH_SOAP_OK, "%s", err);
  expect_value(&e, OHETS_CAQH_SENDER_ID, "A&B<C>D");
  expect_value(&e, OHETS_CAQH_PAYLOAD, "  ISA~\n");
  ohets_caqh_envelope_clear(&e);
}
END_TEST

START_TEST(round_trip_request) {
  ohets_caqh_envelope e;
  ohets_buf out;
  ohets_buf_init(&out, 1u << 24);
  ohets_caqh_envelope_init(&e);
  fill_request(&e, "ISA*00*          ~GS*HS~\r\nST*270*0001~");
  round_trip(&e, 0, &out);
  ck_assert_ptr_nonnull(memmem(out.data, out.len, "<![CDATA[ISA*00*", 16));
  ck_assert_ptr_nonnull(memmem(out.data, out.len, "&#13;", 5));
  ck_assert_ptr_null(memmem(out.data, out.len, "Security", 8));
  /* Response fields are not part of a request. */
  ohets_caqh_envelope_set_str(&e, OHETS_CAQH_ERROR_CODE, "Success");
  ohets_buf_reset(&out);
  ck_assert_int_eq(ohets_caqh_soap_write(&out, &e, 0), 0);
  ck_assert_ptr_null(memmem(out.data, out.len, "ErrorCode", 9));
  ohets_caqh_envelope_clear(&e);
  ohets_buf_free(&out);
}
END_TEST

START_TEST(round_trip_response) {
  ohets_caqh_envelope e;
  ohets_buf out;
  ohets_buf_init(&out, 1u << 24);
  ohets_caqh_envelope_init(&e);
  fill_request(&e, "ISA*271~");
  ohets_caqh_envelope_set_str(&e, OHETS_CAQH_PAYLOAD_TYPE, OHETS_CAQH_PT_271);
  ohets_caqh_envelope_set_str(&e, OHETS_CAQH_ERROR_CODE, "Success");
  ohets_caqh_envelope_set_str(&e, OHETS_CAQH_ERROR_MESSAGE, "None");
  round_trip(&e, 1, &out);
  ck_assert_ptr_nonnull(memmem(out.data, out.len, "COREEnvelopeRealTimeResponse", 28));
  /* An envelope error has no Payload. */
  ohets_caqh_envelope_set_str(&e, OHETS_CAQH_PAYLOAD_TYPE, OHETS_CAQH_PT_ERROR);
  ohets_caqh_envelope_set_str(&e, OHETS_CAQH_ERROR_CODE, "PayloadIDIllegal");
  free(e.value[OHETS_CAQH_PAYLOAD]);
  e.value[OHETS_CAQH_PAYLOAD] = NULL;
  e.len[OHETS_CAQH_PAYLOAD] = 0;
  ohets_buf_reset(&out);
  round_trip(&e, 1, &out);
  ck_assert_ptr_null(memmem(out.data, out.len, "Payload>", 8));
  ohets_caqh_envelope_clear(&e);
  ohets_buf_free(&out);
}
END_TEST

START_TEST(response_needs_its_fields) {
  /* A request body where a response is expected, and a response without
   * ErrorCode (OK: missing), read as responses. */
  ohets_caqh_envelope e;
  char err[256];
  ohets_caqh_envelope_init(&e);
  ck_assert_int_eq(read_s(GOOD, 1, &e, err, sizeof err), OHETS_CAQH_SOAP_FAULT);
  ck_assert_ptr_nonnull(strstr(err, "COREEnvelopeRealTimeResponse"));
  const char *resp = ENV_OPEN "<soap:Body><c:COREEnvelopeRealTimeResponse "
                              "xmlns:c=\"http://www.caqh.org/SOAP/WSDL/CORERule2.2.0.xsd\">" F_TYPE
                              "<ErrorMessage>None</ErrorMessage>"
                              "</c:COREEnvelopeRealTimeResponse></soap:Body></soap:Envelope>";
  ck_assert_msg(read_s(resp, 1, &e, err, sizeof err) == OHETS_CAQH_SOAP_OK, "%s", err);
  ck_assert_ptr_null(e.value[OHETS_CAQH_ERROR_CODE]);
  expect_value(&e, OHETS_CAQH_ERROR_MESSAGE, "None");
  /* ErrorCode is not a request field. */
  ck_assert_int_eq(read_s(REQ(FIELDS "<ErrorCode>x</ErrorCode>"), 0, &e, err, sizeof err),
                   OHETS_CAQH_SOAP_FAULT);
  ohets_caqh_envelope_clear(&e);
}
END_TEST

START_TEST(username_token) {
  ohets_caqh_envelope e;
  ohets_buf out;
  char err[256];
  ohets_buf_init(&out, 1u << 24);
  ohets_caqh_envelope_init(&e);
  fill_request(&e, "ISA~");
  e.username = strdup("partner<1>");
  e.username_len = strlen(e.username);
  e.password = strdup("s3cr&t \"pw\"");
  e.password_len = strlen(e.password);
  round_trip(&e, 0, &out);
  ck_assert_ptr_nonnull(memmem(out.data, out.len, "#PasswordText", 13));
  ohets_caqh_envelope_clear(&e);

  /* No Type, and other children (Nonce, Created) ignored; mustUnderstand
   * on Security is fine. */
  const char *plain = ENV_OPEN
      "<soap:Header><wsse:Security xmlns:wsse=\"" WSSE "\" soap:mustUnderstand=\"1\">"
      "<wsse:UsernameToken><wsse:Username>u1</wsse:Username><wsse:Password>p1</wsse:Password>"
      "<wsse:Nonce>abc</wsse:Nonce></wsse:UsernameToken></wsse:Security></soap:Header>" BODY_OPEN
      FIELDS BODY_CLOSE "</soap:Envelope>";
  ck_assert_msg(read_s(plain, 0, &e, err, sizeof err) == OHETS_CAQH_SOAP_OK, "%s", err);
  ck_assert_str_eq(e.username, "u1");
  ck_assert_str_eq(e.password, "p1");
  ck_assert_uint_eq(e.password_len, 2);
  ohets_caqh_envelope_clear(&e);

  const char *digest = ENV_OPEN
      "<soap:Header><wsse:Security xmlns:wsse=\"" WSSE "\">"
      "<wsse:UsernameToken><wsse:Username>u1</wsse:Username><wsse:Password Type=\""
      "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
      "#PasswordDigest\">Zm9v</wsse:Password></wsse:UsernameToken></wsse:Security>"
      "</soap:Header>" BODY_OPEN FIELDS BODY_CLOSE "</soap:Envelope>";
  expect_fault(digest, "PasswordDigest not supported");
  ohets_buf_free(&out);
}
END_TEST

/* A header block we must understand and do not: its own status, so the
 * Fault's code is env:MustUnderstand (SOAP 1.2 Part 1, 5.4.8). */
static void expect_must_understand(const char *s) {
  ohets_caqh_envelope e;
  char err[256];
  ohets_caqh_envelope_init(&e);
  ck_assert_int_eq(read_s(s, 0, &e, err, sizeof err), OHETS_CAQH_SOAP_MUST_UNDERSTAND);
  ck_assert_msg(strstr(err, "MustUnderstand") != NULL, "reason '%s'", err);
  ohets_caqh_envelope_clear(&e);
}

START_TEST(must_understand) {
  expect_must_understand(ENV_OPEN "<soap:Header><x:Other xmlns:x=\"urn:x\" "
                                  "soap:mustUnderstand=\"true\"/></soap:Header>" BODY_OPEN FIELDS
                                      BODY_CLOSE "</soap:Envelope>");
  expect_must_understand(ENV_OPEN "<soap:Header><x:Other xmlns:x=\"urn:x\" "
                                  "soap:mustUnderstand=\"1\"/></soap:Header>" BODY_OPEN FIELDS
                                      BODY_CLOSE "</soap:Envelope>");
  ohets_caqh_envelope e;
  char err[256];
  ohets_caqh_envelope_init(&e);
  const char *optional = ENV_OPEN
      "<soap:Header><x:Other xmlns:x=\"urn:x\" soap:mustUnderstand=\"false\"/><y:Y "
      "xmlns:y=\"urn:y\"/></soap:Header>" BODY_OPEN FIELDS BODY_CLOSE "</soap:Envelope>";
  ck_assert_msg(read_s(optional, 0, &e, err, sizeof err) == OHETS_CAQH_SOAP_OK, "%s", err);
  ohets_caqh_envelope_clear(&e);
}
END_TEST

START_TEST(faults_not_xml) {
  expect_fault("", "empty");
  expect_fault("hello", "malformed");
  expect_fault(ENV_OPEN BODY_OPEN FIELDS, "malformed");              /* cut short */
  expect_fault(REQ(F_TYPE "<Payload>&foo;</Payload>"), "malformed"); /* undefined entity */
  expect_fault(REQ(F_TYPE "<Payload>\xC3\x28</Payload>"), "malformed"); /* not UTF-8 */
}
END_TEST

START_TEST(faults_doctype) {
  static const char laughs[] =
      "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [<!ENTITY lol \"lol\">"
      "<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
      "<!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">"
      "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">]>\n" ENV_OPEN
      BODY_OPEN F_TYPE "<Payload>&lol3;</Payload>" BODY_CLOSE "</soap:Envelope>";
  expect_fault(laughs, "DOCTYPE");
  static const char xxe[] =
      "<?xml version=\"1.0\"?>\n<!DOCTYPE x [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n" ENV_OPEN
      BODY_OPEN F_TYPE F_MODE F_ID F_TIME F_SENDER F_RECEIVER F_VERSION
      "<Payload>&xxe;</Payload>" BODY_CLOSE "</soap:Envelope>";
  ohets_caqh_envelope e;
  char err[256];
  ohets_caqh_envelope_init(&e);
  for (int response = 0; response <= 1; response++) {
    ck_assert_int_eq(read_s(xxe, response, &e, err, sizeof err), OHETS_CAQH_SOAP_FAULT);
    ck_assert_ptr_null(strstr(err, "root:"));
    for (int f = 0; f < OHETS_CAQH_N_FIELDS; f++)
      ck_assert_ptr_null(e.value[f]);
  }
  expect_fault(xxe, "DOCTYPE");
  /* An external DTD, and a DOCTYPE after a comment. */
  expect_fault("<!DOCTYPE soap:Envelope SYSTEM \"http://127.0.0.1:9/x.dtd\">" REQ(FIELDS), "DOCTYPE");
  expect_fault("<!-- hi --><!DOCTYPE a>" ENV_OPEN "</soap:Envelope>", "DOCTYPE");
  ohets_caqh_envelope_clear(&e);
}
END_TEST

START_TEST(faults_utf16) {
  /* GOOD in UTF-16LE, with and without a byte-order mark, and UTF-16BE. */
  const char *good = GOOD;
  size_t n = strlen(good);
  unsigned char *le = malloc(2 * n + 2), *be = malloc(2 * n + 2);
  le[0] = 0xFF;
  le[1] = 0xFE;
  be[0] = 0xFE;
  be[1] = 0xFF;
  for (size_t i = 0; i < n; i++) {
    le[2 + 2 * i] = (unsigned char)good[i];
    le[3 + 2 * i] = 0;
    be[2 + 2 * i] = 0;
    be[3 + 2 * i] = (unsigned char)good[i];
  }
  ohets_caqh_envelope e;
  char err[256];
  ohets_caqh_envelope_init(&e);
  ck_assert_int_eq(read_n(le, 2 * n + 2, 0, &e, err, sizeof err), OHETS_CAQH_SOAP_FAULT);
  ck_assert_ptr_nonnull(strstr(err, "UTF-8"));
  ck_assert_int_eq(read_n(le + 2, 2 * n, 0, &e, err, sizeof err), OHETS_CAQH_SOAP_FAULT);
  ck_assert_int_eq(read_n(be, 2 * n + 2, 0, &e, err, sizeof err), OHETS_CAQH_SOAP_FAULT);
  ck_assert_int_eq(read_n(be + 2, 2 * n, 0, &e, err, sizeof err), OHETS_CAQH_SOAP_FAULT);
  /* A BOM alone before UTF-8 text is still refused. */
  char *bom = malloc(n + 2);
  bom[0] = '\xFF';
  bom[1] = '\xFE';
  memcpy(bom + 2, good, n);
  ck_assert_int_eq(read_n(bom, n + 2, 0, &e, err, sizeof err), OHETS_CAQH_SOAP_FAULT);
  free(bom);
  free(le);
  free(be);
}
END_TEST

START_TEST(faults_envelope) {
  expect_fault("<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\">"
               "<soap:Body><core:COREEnvelopeRealTimeRequest "
               "xmlns:core=\"http://www.caqh.org/SOAP/WSDL/CORERule2.2.0.xsd\">" FIELDS BODY_CLOSE
               "</soap:Envelope>",
               "SOAP 1.1");
  expect_fault("<Envelope>" BODY_OPEN FIELDS BODY_CLOSE "</Envelope>", "not a SOAP 1.2");
  expect_fault(REQ(FIELDS) REQ(FIELDS), "malformed");                 /* two envelopes */
  expect_fault(REQ(FIELDS) "<x/>", "malformed");                      /* trailing element */
  expect_fault(REQ(FIELDS) "junk", "malformed");                      /* trailing text */
  expect_fault(ENV_OPEN "</soap:Envelope>", "no Body");
  expect_fault(ENV_OPEN "<soap:Body/></soap:Envelope>", "empty Body");
  expect_fault(ENV_OPEN "<soap:Body>text</soap:Body></soap:Envelope>", "text");
  expect_fault(ENV_OPEN BODY_OPEN FIELDS BODY_CLOSE "<soap:Body/></soap:Envelope>",
               "unexpected element");
  expect_fault(ENV_OPEN BODY_OPEN FIELDS "</core:COREEnvelopeRealTimeRequest><x/></soap:Body>"
                                         "</soap:Envelope>",
               "more than one element");
  expect_fault(ENV_OPEN "<soap:Body><core:COREEnvelopeRealTimeRequest "
                        "xmlns:core=\"http://www.caqh.org/SOAP/WSDL/\">" FIELDS BODY_CLOSE
                        "</soap:Envelope>",
               "Body element");
  expect_fault(ENV_OPEN "<soap:Body><COREEnvelopeRealTimeRequest>" FIELDS
                        "</COREEnvelopeRealTimeRequest></soap:Body></soap:Envelope>",
               "Body element");
  expect_fault(ENV_OPEN "<soap:Body><core:COREEnvelopeBatchSubmission "
                        "xmlns:core=\"http://www.caqh.org/SOAP/WSDL/CORERule2.2.0.xsd\">" FIELDS
                        "</core:COREEnvelopeBatchSubmission></soap:Body></soap:Envelope>",
               "Body element");
}
END_TEST

START_TEST(faults_fields) {
  expect_fault(REQ(F_TYPE F_MODE "<Extra>1</Extra>" F_ID), "unknown element Extra");
  expect_fault(REQ(F_TYPE "<core:ProcessingMode>RealTime</core:ProcessingMode>"), "qualified");
  expect_fault(REQ("<ProcessingMode xmlns=\"urn:other\">RealTime</ProcessingMode>"), "qualified");
  expect_fault(REQ(F_MODE F_TYPE F_ID F_TIME F_SENDER F_RECEIVER F_VERSION F_PAYLOAD),
               "out of order");
  expect_fault(REQ(F_TYPE F_MODE F_ID F_ID F_TIME F_SENDER F_RECEIVER F_VERSION F_PAYLOAD),
               "twice");
  expect_fault(REQ(F_TYPE F_MODE F_ID F_TIME F_SENDER F_RECEIVER F_VERSION
                   "<Payload><b>ISA*SMITH</b></Payload>"),
               "element children");
  expect_fault(REQ(F_TYPE "text" F_MODE), "text");
  /* Schema failures that are not a missing field: an attribute on a field
   * (even with one missing), an xsi:type the value does not fit.  The
   * value (SMITH) never shows in the reason. */
  expect_fault(REQ(F_TYPE F_MODE F_ID F_TIME F_SENDER F_RECEIVER F_VERSION
                   "<Payload a=\"1\">ISA*SMITH</Payload>"),
               "schema");
  expect_fault(REQ(F_TYPE F_MODE F_TIME F_SENDER F_RECEIVER F_VERSION
                   "<Payload a=\"1\">ISA*SMITH</Payload>"),
               "schema");
  expect_fault(REQ(F_TYPE F_MODE F_ID F_TIME F_SENDER F_RECEIVER F_VERSION
                   "<Payload xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
                   "xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" "
                   "xsi:type=\"xs:int\">SMITH</Payload>"),
               "schema");
}
END_TEST

START_TEST(missing_and_empty_fields) {
  static const struct {
    const char *doc;
    ohets_caqh_field missing;
    const char *code;
  } cases[] = {
      {REQ(F_MODE F_ID F_TIME F_SENDER F_RECEIVER F_VERSION F_PAYLOAD), OHETS_CAQH_PAYLOAD_TYPE,
       "PayloadTypeRequired"},
      {REQ(F_TYPE F_MODE F_TIME F_SENDER F_RECEIVER F_VERSION F_PAYLOAD), OHETS_CAQH_PAYLOAD_ID,
       "PayloadIDRequired"},
      {REQ(F_TYPE F_MODE F_ID F_TIME F_SENDER F_RECEIVER F_VERSION), OHETS_CAQH_PAYLOAD,
       "PayloadRequired"},
      {REQ(F_TYPE F_MODE F_ID F_TIME F_SENDER F_RECEIVER F_PAYLOAD),
       OHETS_CAQH_CORE_RULE_VERSION, "CORERuleVersionRequired"},
      {REQ(""), OHETS_CAQH_PAYLOAD_TYPE, "PayloadTypeRequired"},
      {REQ(F_TYPE F_MODE F_PAYLOAD), OHETS_CAQH_PAYLOAD_ID, "PayloadIDRequired"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ohets_caqh_envelope e;
    ohets_caqh_verdict v;
    char err[256];
    ohets_caqh_envelope_init(&e);
    ck_assert_msg(read_s(cases[i].doc, 0, &e, err, sizeof err) == OHETS_CAQH_SOAP_OK,
                  "case %zu: %s", i, err);
    ck_assert_ptr_null(e.value[cases[i].missing]);
    ck_assert_int_eq(ohets_caqh_check_request(&e, "SUBMITTER1", &v), 0);
    ck_assert_str_eq(v.error_code, cases[i].code);
    ck_assert_int_eq(v.http_status, 200);
    ohets_caqh_envelope_clear(&e);
  }

  /* Empty, and blank: present but Required. */
  ohets_caqh_envelope e;
  ohets_caqh_verdict v;
  char err[256];
  ohets_caqh_envelope_init(&e);
  ck_assert_int_eq(read_s(REQ(F_TYPE F_MODE "<PayloadID/>" F_TIME F_SENDER F_RECEIVER F_VERSION
                                  F_PAYLOAD),
                          0, &e, err, sizeof err),
                   OHETS_CAQH_SOAP_OK);
  expect_value(&e, OHETS_CAQH_PAYLOAD_ID, "");
  ck_assert_int_eq(ohets_caqh_check_request(&e, NULL, &v), 0);
  ck_assert_str_eq(v.error_code, "PayloadIDRequired");
  ck_assert_int_eq(read_s(REQ(F_TYPE F_MODE F_ID F_TIME F_SENDER F_RECEIVER F_VERSION
                                  "<Payload> <![CDATA[\n]]></Payload>"),
                          0, &e, err, sizeof err),
                   OHETS_CAQH_SOAP_OK);
  expect_value(&e, OHETS_CAQH_PAYLOAD, " \n");
  ck_assert_int_eq(ohets_caqh_check_request(&e, NULL, &v), 0);
  ck_assert_str_eq(v.error_code, "PayloadRequired");
  ohets_caqh_envelope_clear(&e);
}
END_TEST

START_TEST(payload_cdata_split) {
  static const char *const payloads[] = {
      "a]]>b", "]]>", "]]]]>>", "x]]", "]]", "\r", "\r\n]]>\r", "", "plain ISA~", "caf\xC3\xA9",
  };
  ohets_buf out;
  ohets_buf_init(&out, 1u << 24);
  for (size_t i = 0; i < sizeof payloads / sizeof payloads[0]; i++) {
    ohets_caqh_envelope e;
    ohets_caqh_envelope_init(&e);
    fill_request(&e, payloads[i]);
    ohets_buf_reset(&out);
    round_trip(&e, 0, &out);
    ohets_buf_reset(&out);
    round_trip(&e, 1, &out);
    ohets_caqh_envelope_clear(&e);
  }
  /* What XML cannot hold is refused, not written broken. */
  ohets_caqh_envelope e;
  ohets_caqh_envelope_init(&e);
  fill_request(&e, "bad \x01 control");
  ck_assert_int_eq(ohets_caqh_soap_write(&out, &e, 0), -EINVAL);
  fill_request(&e, "bad \xC3 utf-8");
  ck_assert_int_eq(ohets_caqh_soap_write(&out, &e, 0), -EINVAL);
  ohets_caqh_envelope_set(&e, OHETS_CAQH_PAYLOAD, "a\0b", 3);
  ck_assert_int_eq(ohets_caqh_soap_write(&out, &e, 0), -EINVAL);
  ohets_caqh_envelope_clear(&e);
  ohets_buf_free(&out);
}
END_TEST

START_TEST(big_payload) {
  size_t n = 900 * 1024;
  char *p = malloc(n + 1);
  for (size_t i = 0; i < n; i++)
    p[i] = "ISA*00*~]]>\r\n"[i % 13];
  p[n] = '\0';
  ohets_caqh_envelope e;
  ohets_buf out;
  ohets_buf_init(&out, 1u << 24);
  ohets_caqh_envelope_init(&e);
  fill_request(&e, p);
  round_trip(&e, 0, &out);
  /* And over the output bound: an error, not a cut document. */
  ohets_buf small;
  ohets_buf_init(&small, 4096);
  ck_assert_int_lt(ohets_caqh_soap_write(&small, &e, 0), 0);
  ohets_buf_free(&small);
  ohets_caqh_envelope_clear(&e);
  ohets_buf_free(&out);
  free(p);
}
END_TEST

START_TEST(fault_write_and_read) {
  ohets_buf out;
  ohets_caqh_envelope e;
  char err[256];
  ohets_buf_init(&out, 1u << 20);
  ohets_caqh_envelope_init(&e);
  ck_assert_int_eq(ohets_caqh_soap_write_fault(&out, 1, "malformed <XML> & more"), 0);
  ck_assert_ptr_nonnull(memmem(out.data, out.len, "soap:Sender", 11));
  ck_assert_ptr_nonnull(memmem(out.data, out.len, "xml:lang=\"en\"", 13));
  ck_assert_int_eq(read_n(out.data, out.len, 1, &e, err, sizeof err), OHETS_CAQH_SOAP_FAULT);
  ck_assert_ptr_nonnull(strstr(err, "malformed <XML> & more"));
  /* As a request it is just not ours. */
  ck_assert_int_eq(read_n(out.data, out.len, 0, &e, err, sizeof err), OHETS_CAQH_SOAP_FAULT);
  ohets_buf_reset(&out);
  ck_assert_int_eq(ohets_caqh_soap_write_fault(&out, 0, "busy"), 0);
  ck_assert_ptr_nonnull(memmem(out.data, out.len, "soap:Receiver", 13));
  ohets_buf_reset(&out);
  ck_assert_int_eq(ohets_caqh_soap_write_fault(&out, OHETS_CAQH_FAULT_MUST_UNDERSTAND, "x"), 0);
  ck_assert_ptr_nonnull(memmem(out.data, out.len, "soap:MustUnderstand", 19));
  ohets_buf_reset(&out);
  ck_assert_int_eq(ohets_caqh_soap_write_fault(&out, 0, "\x01"), -EINVAL);
  ohets_buf_free(&out);
}
END_TEST

START_TEST(wsdl_and_xsd) {
  const char *xsd = ohets_caqh_xsd_text();
  ck_assert_ptr_nonnull(strstr(xsd, "targetNamespace=\"" OHETS_CAQH_NS_CORE "\""));
  ck_assert_ptr_nonnull(strstr(xsd, "elementFormDefault=\"unqualified\""));
  ohets_buf out;
  ohets_buf_init(&out, 1u << 20);
  ck_assert_int_eq(ohets_caqh_wsdl_write(&out, "https://h.example:8443/a?b=1&c=\"2\""), 0);
  ck_assert_int_eq(ohets_buf_putc(&out, '\0'), 0);
  const char *w = (const char *)out.data;
  static const char *const want[] = {
      "targetNamespace=\"http://www.caqh.org/SOAP/WSDL/\"",
      "<wsdl:portType name=\"CORETransactions\">",
      "<wsdl:operation name=\"RealTimeTransaction\">",
      "soapAction=\"RealTimeTransaction\"",
      "<wsdl:binding name=\"CoreSoapBinding\" type=\"tns:CORETransactions\">",
      "<wsdl:service name=\"Core\">",
      "<wsdl:port name=\"CoreSoapPort\" binding=\"tns:CoreSoapBinding\">",
      "location=\"https://h.example:8443/a?b=1&amp;c=&quot;2&quot;\"",
      "xmlns:soap12=\"http://schemas.xmlsoap.org/wsdl/soap12/\"",
      "<xs:element name=\"COREEnvelopeRealTimeRequest\">",
      "<xs:element name=\"COREEnvelopeRealTimeResponse\">",
  };
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
    ck_assert_msg(strstr(w, want[i]) != NULL, "WSDL lacks %s", want[i]);
  ck_assert_int_eq(ohets_caqh_wsdl_write(&out, "bad\x02"), -EINVAL);
  ck_assert_int_eq(ohets_caqh_wsdl_write(&out, NULL), -EINVAL);
  ohets_buf_free(&out);
}
END_TEST

/* Four workers reading at once: good, missing-field and bad envelopes. */
static void *reader(void *arg) {
  long bad = 0;
  (void)arg;
  for (int i = 0; i < 150; i++) {
    ohets_caqh_envelope e;
    char err[256];
    ohets_caqh_envelope_init(&e);
    bad += read_s(GOOD, 0, &e, err, sizeof err) != OHETS_CAQH_SOAP_OK;
    bad += e.value[OHETS_CAQH_PAYLOAD] == NULL;
    bad += read_s(REQ(F_TYPE F_MODE F_PAYLOAD), 0, &e, err, sizeof err) != OHETS_CAQH_SOAP_OK;
    bad += read_s(REQ(F_MODE F_TYPE), 0, &e, err, sizeof err) != OHETS_CAQH_SOAP_FAULT;
    bad += read_s(REQ(F_TYPE "<Payload a=\"1\"/>"), 0, &e, err, sizeof err) !=
           OHETS_CAQH_SOAP_FAULT;
    bad += read_s("<x", 0, &e, err, sizeof err) != OHETS_CAQH_SOAP_FAULT;
    ohets_caqh_envelope_clear(&e);
  }
  return (void *)bad;
}

START_TEST(threads) {
  pthread_t t[4];
  for (int i = 0; i < 4; i++)
    ck_assert_int_eq(pthread_create(&t[i], NULL, reader, NULL), 0);
  for (int i = 0; i < 4; i++) {
    void *bad;
    ck_assert_int_eq(pthread_join(t[i], &bad), 0);
    ck_assert_ptr_null(bad);
  }
}
END_TEST

START_TEST(not_initialised) {
  ohets_caqh_soap_cleanup();
  ohets_caqh_envelope e;
  char err[64];
  ohets_caqh_envelope_init(&e);
  ck_assert_int_eq(read_s(GOOD, 0, &e, err, sizeof err), OHETS_CAQH_SOAP_FAULT);
  ck_assert_int_eq(ohets_caqh_soap_init(), 0);
  ck_assert_int_eq(ohets_caqh_soap_init(), 0); /* again: no-op */
  ck_assert_int_eq(read_s(GOOD, 0, &e, err, sizeof err), OHETS_CAQH_SOAP_OK);
  ohets_caqh_envelope_clear(&e);
}
END_TEST

static Suite *soap_suite(void) {
  Suite *s = suite_create("soap");
  TCase *tc = tcase_create("soap");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, good_request);
  tcase_add_test(tc, request_text_forms);
  tcase_add_test(tc, round_trip_request);
  tcase_add_test(tc, round_trip_response);
  tcase_add_test(tc, response_needs_its_fields);
  tcase_add_test(tc, username_token);
  tcase_add_test(tc, must_understand);
  tcase_add_test(tc, faults_not_xml);
  tcase_add_test(tc, faults_doctype);
  tcase_add_test(tc, faults_utf16);
  tcase_add_test(tc, faults_envelope);
  tcase_add_test(tc, faults_fields);
  tcase_add_test(tc, missing_and_empty_fields);
  tcase_add_test(tc, payload_cdata_split);
  tcase_add_test(tc, big_payload);
  tcase_add_test(tc, fault_write_and_read);
  tcase_add_test(tc, wsdl_and_xsd);
  tcase_add_test(tc, threads);
  tcase_add_test(tc, not_initialised);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(soap_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
