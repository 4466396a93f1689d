/* multipart/form-data (src/caqh/multipart.c): the boundary parameter, the
 * reader on bodies as curl and other clients send them and on each kind of
 * bad one (the error line never holding a part's value), the writer, and
 * what it writes read back. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caqh/multipart.h"

/* ------------------------------------------------------------------ */
/* Boundary parameter                                                  */

typedef struct boundary_case {
  const char *content_type;
  int rc;
  const char *boundary;
} boundary_case;

static const boundary_case boundary_cases[] = {
    {"multipart/form-data; boundary=------------------------d74496d66958873e", 0,
     "------------------------d74496d66958873e"},
    {"multipart/form-data; boundary=\"a b'()+_,-./:=?\"", 0, "a b'()+_,-./:=?"},
    {"Multipart/Form-Data ;BOUNDARY = xyz ; charset=utf-8", 0, "xyz"},
    {"multipart/form-data; charset=utf-8; boundary=\"q\\\"\"", -EINVAL, ""}, /* '"' not a bchar */
    {"multipart/form-data; charset=\"a;b\"; boundary=ok", 0, "ok"},
    {"multipart/form-data; boundary=", -EINVAL, ""},
    {"multipart/form-data; boundary=\"\"", -EINVAL, ""},
    {"multipart/form-data", -EINVAL, ""},
    {"multipart/form-data; boundary=a; boundary=b", -EINVAL, ""},
    {"multipart/form-data; boundary=\"trailing \"", -EINVAL, ""},
    {"multipart/form-data; boundary=\"unterminated", -EINVAL, ""},
    {"multipart/form-data; boundary=bad<char>", -EINVAL, ""},
    {"multipart/form-data; boundary="
     "12345678901234567890123456789012345678901234567890123456789012345678901",
     -EINVAL, ""},
    {"multipart/form-data; boundary="
     "1234567890123456789012345678901234567890123456789012345678901234567890",
     0, "1234567890123456789012345678901234567890123456789012345678901234567890"},
    {"application/soap+xml; charset=utf-8", -ENOTSUP, ""},
    {"multipart/mixed; boundary=x", -ENOTSUP, ""},
    {"", -ENOTSUP, ""},
};

START_TEST(boundary_param) {
  const boundary_case *c = &boundary_cases[_i];
  char out[OHETS_CAQH_BOUNDARY_MAX + 1];
  int rc = ohets_caqh_mime_boundary(c->content_type, strlen(c->content_type), out);
  ck_assert_msg(rc == c->rc, "%s: rc %d", c->content_type, rc);
  ck_assert_str_eq(out, c->boundary);
}
END_TEST

START_TEST(boundary_not_nul_terminated) {
  /* n bounds the value; what follows is not read. */
  const char ct[] = "multipart/form-data; boundary=abcXYZ";
  char out[OHETS_CAQH_BOUNDARY_MAX + 1];
  ck_assert_int_eq(ohets_caqh_mime_boundary(ct, sizeof ct - 4, out), 0);
  ck_assert_str_eq(out, "abc");
}
END_TEST

/* ------------------------------------------------------------------ */
/* Reader                                                              */

#define B "------------------------d74496d66958873e"
#define PART(name, value) "--" B "\r\nContent-Disposition: form-data; name=\"" name "\"\r\n\r\n" value "\r\n"
#define X12 "ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*CMS            *~"

/* As curl -F sends it. */
static const char good_body[] =
    PART("PayloadType", "X12_270_Request_005010X279A1")
    PART("ProcessingMode", "RealTime")
    PART("PayloadID", "f81d4fae-7dec-11d0-a765-00a0c91e6bf6")
    PART("TimeStamp", "2026-11-30T10:20:30Z")
    PART("SenderID", "SUBMITTER")
    PART("ReceiverID", "CMS")
    PART("CORERuleVersion", "2.2.0")
    "--" B "\r\nContent-Disposition: form-data; name=\"Payload\"\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n\r\n" X12 "\r\n"
    PART("UserName", "alice")
    PART("Password", "S3CRET-PW")
    "--" B "--\r\n";

static int read_str(const char *body, size_t n, const char *boundary, ohets_caqh_envelope *e,
                    char *err, size_t errsz) {
  return ohets_caqh_mime_read((const uint8_t *)body, n, boundary, e, err, errsz);
}

static void assert_field(const ohets_caqh_envelope *e, ohets_caqh_field f, const char *want) {
  ck_assert_msg(e->value[f] != NULL, "%s missing", ohets_caqh_field_name(f));
  ck_assert_uint_eq(e->len[f], strlen(want));
  ck_assert_str_eq(e->value[f], want);
}

START_TEST(reads_curl_body) {
  ohets_caqh_envelope e;
  ohets_caqh_envelope_init(&e);
  char err[160];
  ck_assert_int_eq(read_str(good_body, sizeof good_body - 1, B, &e, err, sizeof err), 0);
  assert_field(&e, OHETS_CAQH_PAYLOAD_TYPE, "X12_270_Request_005010X279A1");
  assert_field(&e, OHETS_CAQH_PROCESSING_MODE, "RealTime");
  assert_field(&e, OHETS_CAQH_PAYLOAD_ID, "f81d4fae-7dec-11d0-a765-00a0c91e6bf6");
  assert_field(&e, OHETS_CAQH_TIMESTAMP, "2026-11-30T10:20:30Z");
  assert_field(&e, OHETS_CAQH_SENDER_ID, "SUBMITTER");
  assert_field(&e, OHETS_CAQH_RECEIVER_ID, "CMS");
  assert_field(&e, OHETS_CAQH_CORE_RULE_VERSION, "2.2.0");
  assert_field(&e, OHETS_CAQH_PAYLOAD, X12);
  ck_assert_ptr_null(e.value[OHETS_CAQH_ERROR_CODE]);
  ck_assert_str_eq(e.username, "alice");
  ck_assert_uint_eq(e.username_len, 5);
  ck_assert_str_eq(e.password, "S3CRET-PW");
  ck_assert_uint_eq(e.password_len, 9);
  ohets_caqh_envelope_clear(&e);
}
END_TEST

/* Bodies that are read, and what one field holds after. */
typedef struct good_case {
  const char *what;
  const char *body;
  ohets_caqh_field field;
  const char *value;
} good_case;

static const good_case good_cases[] = {
    {"preamble and epilogue",
     "This is the preamble.\r\n" PART("SenderID", "S1") "--" B "--\r\nepilogue --" B "\r\n",
     OHETS_CAQH_SENDER_ID, "S1"},
    {"transport padding",
     "--" B " \t\r\nContent-Disposition: form-data; name=\"SenderID\"\r\n\r\nS2\r\n--" B "--  \r\n",
     OHETS_CAQH_SENDER_ID, "S2"},
    {"bare LF part headers",
     "--" B "\nContent-Disposition: form-data; name=\"SenderID\"\n\nS3\r\n--" B "--",
     OHETS_CAQH_SENDER_ID, "S3"},
    {"unquoted name, any case header",
     "--" B "\r\ncontent-disposition: Form-Data; NAME=SenderID\r\n\r\nS4\r\n--" B "--",
     OHETS_CAQH_SENDER_ID, "S4"},
    {"filename first",
     "--" B "\r\nContent-Disposition: form-data; filename=\"x.txt\"; name=\"Payload\"\r\n"
     "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\nP\r\n--" B
     "--",
     OHETS_CAQH_PAYLOAD, "P"},
    {"folded Content-Disposition",
     "--" B "\r\nContent-Disposition: form-data;\r\n name=\"SenderID\"\r\n\r\nS5\r\n--" B "--",
     OHETS_CAQH_SENDER_ID, "S5"},
    {"partial boundaries stay in the value",
     PART("Payload", "a\r\n--" B "X\r\nb--" B "\r\n-" B "\r\n--" B "-X\r\n--" B "--x") "--" B "--",
     OHETS_CAQH_PAYLOAD, "a\r\n--" B "X\r\nb--" B "\r\n-" B "\r\n--" B "-X\r\n--" B "--x"},
    {"delimiter with trailing junk is data",
     PART("Payload", "x\r\n--" B " y") "--" B "--", OHETS_CAQH_PAYLOAD, "x\r\n--" B " y"},
    {"empty value", PART("SenderID", "") "--" B "--", OHETS_CAQH_SENDER_ID, ""},
    {"empty value, no blank line of its own",
     "--" B "\r\nContent-Disposition: form-data; name=\"SenderID\"\r\n\r\n--" B "--",
     OHETS_CAQH_SENDER_ID, ""},
    {"value with CRLF and NUL-free binary",
     PART("Payload", "line1\r\nline2\r\n\r\n\x01\xff") "--" B "--", OHETS_CAQH_PAYLOAD,
     "line1\r\nline2\r\n\r\n\x01\xff"},
    {"unknown parts skipped",
     PART("Other", "x") PART("SenderID", "S6") PART("Other", "y") "--" B "--",
     OHETS_CAQH_SENDER_ID, "S6"},
    {"response fields", PART("ErrorCode", "Success") PART("ErrorMessage", "None") "--" B "--",
     OHETS_CAQH_ERROR_MESSAGE, "None"},
    {"no parts at all", "--" B "--\r\n", OHETS_CAQH_SENDER_ID, NULL},
};

START_TEST(reads_good) {
  const good_case *c = &good_cases[_i];
  ohets_caqh_envelope e;
  ohets_caqh_envelope_init(&e);
  char err[160];
  int rc = read_str(c->body, strlen(c->body), B, &e, err, sizeof err);
  ck_assert_msg(rc == 0, "%s: %s", c->what, err);
  if (c->value == NULL)
    ck_assert_ptr_null(e.value[c->field]);
  else
    assert_field(&e, c->field, c->value);
  ohets_caqh_envelope_clear(&e);
}
END_TEST

/* Bodies refused, and a word the error line must hold. */
typedef struct bad_case {
  const char *what;
  const char *body;
  const char *says;
} bad_case;

static const bad_case bad_cases[] = {
    {"empty", "", "opening"},
    {"no delimiter", "SenderID=S3CRET-PW", "opening"},
    {"boundary not at a line start", "x--" B "\r\n\r\nS3CRET-PW\r\n", "opening"},
    {"close delimiter with junk after it", PART("Password", "S3CRET-PW") "--" B "--junk\r\n",
     "truncated"},
    {"truncated", PART("Password", "S3CRET-PW"), "truncated"},
    {"truncated in value",
     "--" B "\r\nContent-Disposition: form-data; name=\"Password\"\r\n\r\nS3CRET-PW", "truncated"},
    {"closing delimiter without CRLF before it",
     "--" B "\r\nContent-Disposition: form-data; name=\"Password\"\r\n\r\nS3CRET-PW--" B "--",
     "truncated"},
    {"duplicate", PART("Password", "S3CRET-PW") PART("Password", "S3CRET-PW") "--" B "--",
     "duplicate part Password"},
    {"duplicate field", PART("SenderID", "A") PART("SenderID", "S3CRET-PW") "--" B "--",
     "duplicate part SenderID"},
    {"no name", "--" B "\r\nContent-Disposition: form-data\r\n\r\nS3CRET-PW\r\n--" B "--",
     "no name"},
    {"empty name", "--" B "\r\nContent-Disposition: form-data; name=\"\"\r\n\r\nS3CRET-PW\r\n--" B
     "--",
     "no name"},
    {"no headers", "--" B "\r\n\r\nS3CRET-PW\r\n--" B "--", "no name"},
    {"not form-data",
     "--" B "\r\nContent-Disposition: attachment; name=\"Password\"\r\n\r\nS3CRET-PW\r\n--" B "--",
     "form-data"},
    {"headers without blank line",
     "--" B "\r\nContent-Disposition: form-data; name=\"Password\"\r\n--" B "--", "blank line"},
    {"header without colon",
     "--" B "\r\nContent-Disposition: form-data; name=\"Password\"\r\nS3CRET-PW\r\n\r\nx\r\n--" B
     "--",
     "colon"},
    {"base64 part",
     "--" B "\r\nContent-Disposition: form-data; name=\"Password\"\r\n"
     "Content-Transfer-Encoding: base64\r\n\r\nUzNDUkVULVBX\r\n--" B "--",
     "Content-Transfer-Encoding"},
    {"unterminated quote",
     "--" B "\r\nContent-Disposition: form-data; name=\"Password\r\n\r\nS3CRET-PW\r\n--" B "--",
     "Content-Disposition"},
};

START_TEST(reads_bad) {
  const bad_case *c = &bad_cases[_i];
  ohets_caqh_envelope e;
  ohets_caqh_envelope_init(&e);
  char err[160];
  int rc = read_str(c->body, strlen(c->body), B, &e, err, sizeof err);
  ck_assert_msg(rc == -EINVAL, "%s: rc %d", c->what, rc);
  ck_assert_msg(strstr(err, c->says) != NULL, "%s: error \"%s\" lacks \"%s\"", c->what, err,
                c->says);
  ck_assert_msg(strstr(err, "S3CRET") == NULL, "%s: the value leaked: %s", c->what, err);
  ck_assert_msg(strchr(err, '\n') == NULL, "%s: more than one line", c->what);
  /* Nothing half-read is left behind. */
  for (int f = 0; f < OHETS_CAQH_N_FIELDS; f++)
    ck_assert_ptr_null(e.value[f]);
  ck_assert_ptr_null(e.password);
  ck_assert_ptr_null(e.username);
}
END_TEST

START_TEST(too_many_parts) {
  for (int parts = 32; parts <= 33; parts++) {
    char *body = malloc(8192);
    ck_assert_ptr_nonnull(body);
    size_t n = 0;
    for (int i = 0; i < parts; i++)
      n += (size_t)snprintf(body + n, 8192 - n,
                            "--" B "\r\nContent-Disposition: form-data; name=\"F%d\"\r\n\r\nv\r\n",
                            i);
    n += (size_t)snprintf(body + n, 8192 - n, "--" B "--\r\n");
    ohets_caqh_envelope e;
    ohets_caqh_envelope_init(&e);
    char err[160];
    int rc = read_str(body, n, B, &e, err, sizeof err);
    if (parts == 32) {
      ck_assert_int_eq(rc, 0);
    } else {
      ck_assert_int_eq(rc, -EINVAL);
      ck_assert_ptr_nonnull(strstr(err, "more than 32 parts"));
    }
    ohets_caqh_envelope_clear(&e);
    free(body);
  }
}
END_TEST

START_TEST(bad_boundary_and_small_err) {
  ohets_caqh_envelope e;
  ohets_caqh_envelope_init(&e);
  char err[8];
  ck_assert_int_eq(read_str(good_body, sizeof good_body - 1, "", &e, err, sizeof err), -EINVAL);
  ck_assert_uint_lt(strlen(err), sizeof err);
  /* A shorter boundary that prefixes the real one matches nothing whole. */
  char big[160];
  ck_assert_int_eq(read_str(good_body, sizeof good_body - 1, "-----", &e, big, sizeof big),
                   -EINVAL);
  ck_assert_int_eq(read_str(good_body, sizeof good_body - 1, B, &e, NULL, 0), 0);
  ohets_caqh_envelope_clear(&e);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Writer                                                              */

START_TEST(writes_exact) {
  ohets_caqh_envelope e;
  ohets_caqh_envelope_init(&e);
  ck_assert_int_eq(ohets_caqh_envelope_set_str(&e, OHETS_CAQH_ERROR_CODE, "Success"), 0);
  ck_assert_int_eq(ohets_caqh_envelope_set_str(&e, OHETS_CAQH_PAYLOAD_ID, "id"), 0);
  ck_assert_int_eq(ohets_caqh_envelope_set_str(&e, OHETS_CAQH_PAYLOAD, "ISA~"), 0);
  ohets_buf b;
  ohets_buf_init(&b, 4096);
  ck_assert_int_eq(ohets_caqh_mime_write(&b, "bnd", &e), 0);
  const char *want = "--bnd\r\nContent-Disposition: form-data; name=\"PayloadID\"\r\n\r\nid\r\n"
                     "--bnd\r\nContent-Disposition: form-data; name=\"Payload\"\r\n"
                     "Content-Type: text/plain; charset=utf-8\r\n\r\nISA~\r\n"
                     "--bnd\r\nContent-Disposition: form-data; name=\"ErrorCode\"\r\n\r\nSuccess\r\n"
                     "--bnd--\r\n";
  ck_assert_uint_eq(b.len, strlen(want));
  ck_assert(memcmp(b.data, want, b.len) == 0);
  ohets_buf_reset(&b);
  ck_assert_int_eq(ohets_caqh_mime_write(&b, "", &e), -EINVAL);
  ck_assert_int_eq(ohets_caqh_mime_write(&b, "bad\r\n", &e), -EINVAL);
  /* A value holding the delimiter cannot be written with that boundary. */
  ck_assert_int_eq(ohets_caqh_envelope_set_str(&e, OHETS_CAQH_PAYLOAD, "x\r\n--bnd--\r\n"), 0);
  ck_assert_int_eq(ohets_caqh_mime_write(&b, "bnd", &e), -EINVAL);
  /* So does one starting with it: the blank line's CRLF comes before. */
  ck_assert_int_eq(ohets_caqh_envelope_set_str(&e, OHETS_CAQH_PAYLOAD, "--bnd\r\nx"), 0);
  ck_assert_int_eq(ohets_caqh_mime_write(&b, "bnd", &e), -EINVAL);
  ohets_buf_reset(&b);
  ck_assert_int_eq(ohets_caqh_mime_write(&b, "bnd2", &e), 0);
  ohets_buf_free(&b);
  ohets_caqh_envelope_clear(&e);
}
END_TEST

START_TEST(round_trip) {
  ohets_caqh_envelope e, back;
  ohets_caqh_envelope_init(&e);
  ohets_caqh_envelope_init(&back);
  char err[160];
  ck_assert_int_eq(read_str(good_body, sizeof good_body - 1, B, &e, err, sizeof err), 0);
  char boundary[OHETS_CAQH_BOUNDARY_MAX + 1];
  ohets_caqh_mime_make_boundary(12345, boundary);
  ohets_buf b;
  ohets_buf_init(&b, 1 << 16);
  ck_assert_int_eq(ohets_caqh_mime_write(&b, boundary, &e), 0);
  ck_assert_int_eq(ohets_caqh_mime_read(b.data, b.len, boundary, &back, err, sizeof err), 0);
  for (int f = 0; f < OHETS_CAQH_N_FIELDS; f++) {
    ck_assert((e.value[f] == NULL) == (back.value[f] == NULL));
    if (e.value[f] != NULL) {
      ck_assert_uint_eq(e.len[f], back.len[f]);
      ck_assert(memcmp(e.value[f], back.value[f], e.len[f]) == 0);
    }
  }
  ck_assert_str_eq(back.username, "alice");
  ck_assert_str_eq(back.password, "S3CRET-PW");
  ohets_buf_free(&b);
  ohets_caqh_envelope_clear(&e);
  ohets_caqh_envelope_clear(&back);
}
END_TEST

START_TEST(make_boundary) {
  char a[OHETS_CAQH_BOUNDARY_MAX + 1], b[OHETS_CAQH_BOUNDARY_MAX + 1],
      c[OHETS_CAQH_BOUNDARY_MAX + 1];
  ohets_caqh_mime_make_boundary(1, a);
  ohets_caqh_mime_make_boundary(1, b);
  ohets_caqh_mime_make_boundary(2, c);
  ck_assert_str_eq(a, b);
  ck_assert_str_ne(a, c);
  ck_assert_uint_eq(strlen(a), 9 + 32);
  ck_assert(strncmp(a, "openhets-", 9) == 0);
  ck_assert_uint_eq(strspn(a + 9, "0123456789abcdef"), 32);
  /* And it is a boundary the reader takes. */
  char ct[128], out[OHETS_CAQH_BOUNDARY_MAX + 1];
  snprintf(ct, sizeof ct, "multipart/form-data; boundary=%s", a);
  ck_assert_int_eq(ohets_caqh_mime_boundary(ct, strlen(ct), out), 0);
  ck_assert_str_eq(out, a);
}
END_TEST

int main(void) {
  Suite *s = suite_create("multipart");
  TCase *tc = tcase_create("boundary");
  tcase_add_loop_test(tc, boundary_param, 0,
                      (int)(sizeof boundary_cases / sizeof boundary_cases[0]));
  tcase_add_test(tc, boundary_not_nul_terminated);
  suite_add_tcase(s, tc);
  tc = tcase_create("read");
  tcase_add_test(tc, reads_curl_body);
  tcase_add_loop_test(tc, reads_good, 0, (int)(sizeof good_cases / sizeof good_cases[0]));
  tcase_add_loop_test(tc, reads_bad, 0, (int)(sizeof bad_cases / sizeof bad_cases[0]));
  tcase_add_test(tc, too_many_parts);
  tcase_add_test(tc, bad_boundary_and_small_err);
  suite_add_tcase(s, tc);
  tc = tcase_create("write");
  tcase_add_test(tc, writes_exact);
  tcase_add_test(tc, round_trip);
  tcase_add_test(tc, make_boundary);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
