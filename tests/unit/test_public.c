/* The public API added for the programs outside the core: the decimal
 * writer, the 270 check (ohets_validate_270) and the X12 reader.  Linked
 * against the installed libopenhets.a, so it also shows that archive works
 * with only its public symbols global. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openhets/openhets.h"

#define ISA                                                                  \
  "ISA*00*          *00*          *ZZ*SUBMITTER01    *ZZ*CMS            "   \
  "*260412*1200*^*00501*000000001*0*T*:~\n"
#define GS "GS*HS*SUBMITTER01*CMS*20260412*1200*1*X*005010X279A1~\n"
#define HEAD                                                                 \
  "ST*270*0001*005010X279A1~\n"                                             \
  "BHT*0022*13*REF123*20260412*1200~\n"                                     \
  "HL*1**20*1~\n"                                                            \
  "NM1*PR*2*CMS*****PI*CMS~\n"                                              \
  "HL*2*1*21*1~\n"                                                           \
  "NM1*1P*2*EXAMPLE CLINIC*****XX*1234567893~\n"                            \
  "HL*3*2*22*0~\n"                                                           \
  "TRN*1*TRACE0001*9877281234~\n"                                           \
  "NM1*IL*1*DOE*JANE****MI*1EG4TE5MK73~\n"                                  \
  "DMG*D8*19400101*F~\n"                                                     \
  "DTP*291*D8*20260412~\n"
#define TAIL "SE*13*0001~\nGE*1*1~\nIEA*1*000000001~\n"

static const char good[] = ISA GS HEAD "EQ*30^42~\n" TAIL;
static const char bad_eq[] = ISA GS HEAD "EQ*Z9~\n" TAIL;
static const char bad_gs08[] =
    ISA "GS*HS*SUBMITTER01*CMS*20260412*1200*1*X*005010X279~\n" HEAD
        "EQ*30~\n" TAIL;
static const char bad_receiver[] =
    "ISA*00*          *00*          *ZZ*SUBMITTER01    *ZZ*NOTCMS         "
    "*260412*1200*^*00501*000000001*0*T*:~\n" GS HEAD "EQ*30~\n" TAIL;

static ohets_validation check(const char *s) {
  ohets_validation v;
  ck_assert_int_eq(ohets_validate_270((const uint8_t *)s, strlen(s), &v), 0);
  return v;
}

/* ------------------------------------------------------------ decimal */

START_TEST(dec_write_pads_and_counts) {
  char b[21];
  ck_assert_uint_eq(ohets_dec_write(b, 0, 1), 1);
  ck_assert_str_eq(b, "0");
  ck_assert_uint_eq(ohets_dec_write(b, 7, 3), 3);
  ck_assert_str_eq(b, "007");
  ck_assert_uint_eq(ohets_dec_write(b, 123456, 2), 6);
  ck_assert_str_eq(b, "123456");
  ck_assert_uint_eq(ohets_dec_write(b, UINT64_MAX, 0), 20);
  ck_assert_str_eq(b, "18446744073709551615");
}
END_TEST

/* ----------------------------------------------------------- validate */

START_TEST(validate_accepts_a_good_270) {
  ohets_validation v = check(good);
  ck_assert_int_eq(v.answer, OHETS_ANSWER_271);
  ck_assert_uint_eq(v.n_errors, 0);
  ck_assert_int_eq(v.ack_code, 0);
}
END_TEST

START_TEST(validate_names_the_first_999_error) {
  ohets_validation v = check(bad_eq);
  ck_assert_int_eq(v.answer, OHETS_ANSWER_999);
  ck_assert_int_eq(v.ack_code, 'R');
  ck_assert_uint_eq(v.n_errors, 1);
  ck_assert_str_eq(v.first.segment, "EQ");
  ck_assert_uint_eq(v.first.position, 12);
  ck_assert_str_eq(v.first.loop, "2110C");
  ck_assert_uint_eq(v.first.element, 1);
  ck_assert_str_eq(v.first.element_code, "7"); /* invalid code value */

  v = check(bad_gs08); /* a group-level error: no IK3 */
  ck_assert_int_eq(v.answer, OHETS_ANSWER_999);
  ck_assert_int_eq(v.ack_code, 'R');
  ck_assert_uint_eq(v.n_errors, 0);
}
END_TEST

START_TEST(validate_envelope_and_unreadable) {
  ohets_validation v = check(bad_receiver);
  ck_assert_int_eq(v.answer, OHETS_ANSWER_TA1);
  ck_assert_str_eq(v.ta1_code, "008");
  v = check("GS*HS*X~");
  ck_assert_int_eq(v.answer, OHETS_ANSWER_HETS);
  ck_assert_str_eq(v.hets_code, "HTS00004");
  v = check("");
  ck_assert_int_eq(v.answer, OHETS_ANSWER_HETS);
}
END_TEST

/* Over every conformance case, the check says what ohets_respond answers
 * (no partner table, nobody on file: no SBY00502, AAA answers are 271s). */
static ohets_lookup_status nobody(void *ctx, const char *mbi, ohets_beneficiary *out) {
  (void)ctx;
  (void)mbi;
  (void)out;
  return OHETS_LOOKUP_NOT_FOUND;
}

static int read_file(const char *path, ohets_buf *b) {
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return -errno;
  char chunk[4096];
  size_t n;
  int rc = 0;
  while (rc == 0 && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
    rc = ohets_buf_append(b, chunk, n);
  fclose(f);
  return rc;
}

START_TEST(validate_agrees_with_respond) {
  const char *top = getenv("top_srcdir");
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/tests/conformance/cases", top ? top : "../..");
  DIR *d = opendir(dir);
  ck_assert_msg(d != NULL, "%s: cannot open", dir);
  ohets_lookup lookup = {nobody, NULL, NULL};
  ohets_request_ctx ctx;
  memset(&ctx, 0, sizeof ctx);
  ctx.lookup = &lookup;
  ctx.now.date = (ohets_date){2026, 11, 23};
  ctx.control_number = 1;
  unsigned cases = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    size_t n = strlen(e->d_name);
    if (n < 5 || strcmp(e->d_name + n - 4, ".x12") != 0)
      continue;
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    ohets_buf in, out;
    ohets_buf_init(&in, 1 << 20);
    ohets_buf_init(&out, 1 << 20);
    ck_assert_int_eq(read_file(path, &in), 0);
    const uint8_t *p = in.data ? in.data : (const uint8_t *)"";
    ohets_outcome o;
    ohets_validation v;
    ck_assert_int_eq(ohets_respond(p, in.len, &ctx, &out, &o), 0);
    ck_assert_int_eq(ohets_validate_270(p, in.len, &v), 0);
    ck_assert_msg(v.answer == o.answer, "%s: check says %s, respond %s", e->d_name,
                  ohets_answer_name(v.answer), ohets_answer_name(o.answer));
    if (o.answer == OHETS_ANSWER_HETS)
      ck_assert_str_eq(v.hets_code, o.hets_code);
    if (o.answer == OHETS_ANSWER_TA1)
      ck_assert_str_eq(v.ta1_code, o.ta1_code);
    ck_assert_int_eq(v.ack_code, o.ack_code);
    ohets_buf_free(&in);
    ohets_buf_free(&out);
    cases++;
  }
  closedir(d);
  ck_assert_uint_ge(cases, 50);
}
END_TEST

/* ------------------------------------------------------------- reader */

START_TEST(reader_segments_and_elements) {
  ohets_x12_doc *x = NULL;
  ck_assert_int_eq(ohets_x12_read(good, strlen(good), &x), 0);
  ck_assert_uint_eq(ohets_x12_segments(x), 17); /* ISA GS 13-segment set GE IEA */
  ohets_x12_delims d = ohets_x12_delims_of(x);
  ck_assert_int_eq(d.element, '*');
  ck_assert_int_eq(d.repetition, '^');
  ck_assert_int_eq(d.component, ':');
  ck_assert_int_eq(d.segment, '~');

  ck_assert(ohets_x12_element_is(x, 1, 0, "GS"));
  ck_assert(ohets_x12_element_is(x, 10, 0, "NM1"));
  ck_assert(ohets_x12_element_is(x, 10, 8, "MI"));
  char buf[12];
  ck_assert_uint_eq(ohets_x12_element_copy(x, 10, 9, buf, sizeof buf), 11);
  ck_assert_str_eq(buf, "1EG4TE5MK73");
  ck_assert_uint_eq(ohets_x12_element_copy(x, 10, 9, buf, 4), 11); /* truncated */
  ck_assert_str_eq(buf, "1EG");

  size_t n, k;
  const char *v = ohets_x12_element(x, 13, 1, &n); /* EQ*30^42 */
  ck_assert_uint_eq(ohets_x12_count(v, n, d.repetition), 2);
  const char *r = ohets_x12_split(v, n, d.repetition, 1, &k);
  ck_assert_uint_eq(k, 2);
  ck_assert(memcmp(r, "42", 2) == 0);
  ohets_x12_split(v, n, d.repetition, 5, &k);
  ck_assert_uint_eq(k, 0);

  ohets_x12_element(x, 10, 40, &n); /* absent element */
  ck_assert_uint_eq(n, 0);
  ohets_x12_element(x, 999, 0, &n); /* no such segment */
  ck_assert_uint_eq(n, 0);
  ck_assert(!ohets_x12_element_is(x, 999, 0, "ISA"));
  ohets_x12_doc_free(x);
  ohets_x12_doc_free(NULL);
}
END_TEST

START_TEST(reader_refuses_what_is_not_x12) {
  ohets_x12_doc *x = (ohets_x12_doc *)&x;
  ck_assert_int_eq(ohets_x12_read("HETS", 4, &x), -EINVAL);
  ck_assert_ptr_null(x);
}
END_TEST

static Suite *public_suite(void) {
  Suite *s = suite_create("public");
  TCase *tc = tcase_create("public");
  tcase_add_test(tc, dec_write_pads_and_counts);
  tcase_add_test(tc, validate_accepts_a_good_270);
  tcase_add_test(tc, validate_names_the_first_999_error);
  tcase_add_test(tc, validate_envelope_and_unreadable);
  tcase_add_test(tc, validate_agrees_with_respond);
  tcase_add_test(tc, reader_segments_and_elements);
  tcase_add_test(tc, reader_refuses_what_is_not_x12);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(public_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
