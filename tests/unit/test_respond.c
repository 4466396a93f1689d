/* ohets_respond end to end: one test per decision-table stage, plus
 * allocation failure at every allocation in turn. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/x12.h" /* the reader's bounds */
#include "openhets/openhets.h"

#define MBI "1EG4TE5MK73"

static ohets_lookup_status fake_beneficiary(void *ctx, const char *mbi,
                                            ohets_beneficiary *out) {
  (void)ctx;
  if (strcmp(mbi, MBI) != 0)
    return OHETS_LOOKUP_NOT_FOUND;
  memset(out, 0, sizeof *out);
  strcpy(out->mbi, MBI);
  strcpy(out->last, "DOE");
  strcpy(out->first, "JANE");
  out->sex = 'F';
  out->dob = (ohets_date){1940, 1, 1};
  out->part_a[0].start = (ohets_date){2005, 1, 1};
  out->n_part_a = 1;
  out->part_b[0].start = (ohets_date){2005, 1, 1};
  out->n_part_b = 1;
  out->hospital_days = out->snf_days = out->lifetime_reserve_days = -1;
  return OHETS_LOOKUP_FOUND;
}

static int fake_amounts(void *ctx, int year, ohets_program_amounts *out) {
  (void)ctx;
  if (year != 2026)
    return -ENOENT;
  memset(out, 0, sizeof *out);
  out->year = 2026;
  out->part_a_deductible_cents = 173600;
  out->part_b_deductible_cents = 28300;
  out->part_b_coinsurance_percent = 20;
  return 0;
}

static const ohets_lookup lookup = {fake_beneficiary, fake_amounts, NULL};

static int deny_all(void *ctx, const char *submitter) {
  (void)ctx;
  (void)submitter;
  return 0;
}
static int npi_any(void *ctx, const char *submitter, const char *npi) {
  (void)ctx;
  (void)submitter;
  (void)npi;
  return 1;
}

/* A valid HETS 270; the %s slots let tests swap ISA08 and GS08. */
static char *make_270(const char *isa08, const char *gs08) {
  static char buf[2048];
  char body[1500];
  snprintf(body, sizeof body,
           "GS*HS*SUBMITTER01*CMS*20261123*1030*1*X*%s~"
           "ST*270*0001*005010X279A1~"
           "BHT*0022*13*REF0001*20261123*1030~"
           "HL*1**20*1~NM1*PR*2*CMS*****PI*CMS~"
           "HL*2*1*21*1~NM1*1P*2*EXAMPLE CLINIC*****XX*1234567893~"
           "HL*3*2*22*0~TRN*1*TRACE1*9ABCDEFGHI~"
           "NM1*IL*1*DOE*JANE****MI*" MBI "~DMG*D8*19400101~DTP*291*D8*20261123~"
           "EQ*30~SE*13*0001~GE*1*1~IEA*1*000000001~",
           gs08);
  snprintf(buf, sizeof buf,
           "ISA*00*          *00*          *ZZ*SUBMITTER01    *ZZ*%-15s*261123*1030*^*00501*000000001*0*P*:~%s",
           isa08, body);
  return buf;
}

static ohets_request_ctx base_ctx(void) {
  ohets_request_ctx c;
  memset(&c, 0, sizeof c);
  c.lookup = &lookup;
  c.now.date = (ohets_date){2026, 11, 23};
  c.now.hour = 10;
  c.now.minute = 30;
  c.control_number = 7;
  return c;
}

static int answer(const char *req, const ohets_request_ctx *c, ohets_buf *out,
                  ohets_outcome *o) {
  ohets_buf_init(out, 1 << 20);
  return ohets_respond((const uint8_t *)req, strlen(req), c, out, o);
}

static int contains(const ohets_buf *b, const char *needle) {
  size_t n = strlen(needle);
  for (size_t i = 0; i + n <= b->len; i++)
    if (memcmp(b->data + i, needle, n) == 0)
      return 1;
  return 0;
}

START_TEST(no_isa_gets_hts00004) {
  ohets_request_ctx c = base_ctx();
  ohets_buf out;
  ohets_outcome o;
  ck_assert_int_eq(answer("GS*HS*X~", &c, &out, &o), 0);
  ck_assert_int_eq(o.answer, OHETS_ANSWER_HETS);
  ck_assert_str_eq(o.hets_code, "HTS00004");
  ck_assert(out.len > 61 && memcmp(out.data, "HETS", 4) == 0);
  ck_assert(memcmp(out.data + 53, "HTS00004", 8) == 0);
  ohets_buf_free(&out);
}
END_TEST

/* README "Oversized interchanges": more segments, or more elements, than
 * the reader holds get HTS00002 (a frame under max_frame_bytes can still
 * be that big when the limit is raised, and hets-respond reads files). */
START_TEST(oversized_interchange_gets_hts00002) {
  const char *isa = make_270("CMS", "005010X279A1");
  for (int kind = 0; kind < 2; kind++) {
    /* kind 0: OHETS__MAX_SEGS more segments; 1: one segment of
     * OHETS__MAX_ELEMS more elements. */
    size_t fill = kind == 0 ? 2 * (size_t)OHETS__MAX_SEGS : (size_t)OHETS__MAX_ELEMS + 2;
    size_t n = OHETS__ISA_LEN + fill;
    char *req = malloc(n + 1);
    ck_assert_ptr_nonnull(req);
    memcpy(req, isa, OHETS__ISA_LEN);
    for (size_t i = 0; i < fill; i++)
      req[OHETS__ISA_LEN + i] = kind == 0 ? "X~"[i % 2] : '*';
    if (kind == 1) {
      req[OHETS__ISA_LEN] = 'X';
      req[n - 1] = '~';
    }
    req[n] = '\0';
    ohets_request_ctx c = base_ctx();
    ohets_buf out;
    ohets_outcome o;
    ck_assert_int_eq(answer(req, &c, &out, &o), 0);
    ck_assert_int_eq(o.answer, OHETS_ANSWER_HETS);
    ck_assert_str_eq(o.hets_code, "HTS00002");
    ohets_buf_free(&out);
    free(req);
  }
}
END_TEST

START_TEST(receiver_not_cms_gets_ta1_008) {
  ohets_request_ctx c = base_ctx();
  ohets_buf out;
  ohets_outcome o;
  ck_assert_int_eq(answer(make_270("NOTCMS", "005010X279A1"), &c, &out, &o), 0);
  ck_assert_int_eq(o.answer, OHETS_ANSWER_TA1);
  ck_assert_str_eq(o.ta1_code, "008");
  ck_assert(contains(&out, "*R*008~"));
  ohets_buf_free(&out);
}
END_TEST

/* DESIGN §3.1: an ISA whose delimiters can be read but whose ISA16 (or
 * ISA11) equals another delimiter is bad ISA content: a TA1, not HTS00004.
 * Only an element separator equal to the segment terminator leaves nothing
 * readable. */
START_TEST(delimiter_clash_gets_ta1) {
  static const struct {
    unsigned at;
    char byte;
    const char *ta105; /* NULL: HTS00004 */
  } clash[] = {
      {104, '*', "027"}, /* ISA16 = element separator */
      {104, '~', "027"}, /* ISA16 = segment terminator */
      {104, '^', "027"}, /* ISA16 = ISA11 */
      {82, '*', "024"},  /* ISA11 = element separator */
      {82, '~', "024"},  /* ISA11 = segment terminator */
      {105, '*', NULL},  /* segment terminator = element separator */
  };
  for (size_t i = 0; i < sizeof clash / sizeof clash[0]; i++) {
    char req[2048];
    snprintf(req, sizeof req, "%s", make_270("CMS", "005010X279A1"));
    req[clash[i].at] = clash[i].byte;
    ohets_request_ctx c = base_ctx();
    ohets_buf out;
    ohets_outcome o;
    ck_assert_int_eq(answer(req, &c, &out, &o), 0);
    if (clash[i].ta105 == NULL) {
      ck_assert_msg(o.answer == OHETS_ANSWER_HETS && strcmp(o.hets_code, "HTS00004") == 0,
                    "case %zu: answer %d", i, (int)o.answer);
    } else {
      char want[64];
      ck_assert_msg(o.answer == OHETS_ANSWER_TA1, "case %zu: answer %d, want a TA1", i,
                    (int)o.answer);
      ck_assert_str_eq(o.ta1_code, clash[i].ta105);
      /* The answer's own delimiters are a valid set: * ^ : ~. */
      snprintf(want, sizeof want, "~TA1*000000001*261123*1030*R*%s~IEA*0*", clash[i].ta105);
      ck_assert_msg(out.len > OHETS__ISA_LEN && memcmp(out.data, "ISA*", 4) == 0 &&
                        memcmp(out.data + OHETS__ISA_LEN - 3, "*:~", 3) == 0 &&
                        contains(&out, want),
                    "case %zu: %.*s", i, (int)out.len, (const char *)out.data);
    }
    ohets_buf_free(&out);
  }
}
END_TEST

START_TEST(unknown_submitter_gets_sby00502) {
  ohets_request_ctx c = base_ctx();
  ohets_partners p = {deny_all, npi_any, NULL};
  c.partners = &p;
  ohets_buf out;
  ohets_outcome o;
  ck_assert_int_eq(answer(make_270("CMS", "005010X279A1"), &c, &out, &o), 0);
  ck_assert_int_eq(o.answer, OHETS_ANSWER_HETS);
  ck_assert_str_eq(o.hets_code, "SBY00502");
  ck_assert_str_eq(o.submitter, "SUBMITTER01");
  /* the trace carries the request's ISA13 */
  ck_assert(memcmp(out.data + 4 + 21, "000000001", 9) == 0);
  ohets_buf_free(&out);
}
END_TEST

START_TEST(wrong_guide_version_gets_999) {
  ohets_request_ctx c = base_ctx();
  ohets_buf out;
  ohets_outcome o;
  ck_assert_int_eq(answer(make_270("CMS", "004010X092A1"), &c, &out, &o), 0);
  ck_assert_int_eq(o.answer, OHETS_ANSWER_999);
  ck_assert_int_eq(o.ack_code, 'R');
  ck_assert(contains(&out, "ST*999*"));
  ck_assert(contains(&out, "GS*FA*CMS*SUBMITTER01*"));
  ohets_buf_free(&out);
}
END_TEST

START_TEST(matched_beneficiary_gets_271) {
  ohets_request_ctx c = base_ctx();
  ohets_buf out;
  ohets_outcome o;
  ck_assert_int_eq(answer(make_270("CMS", "005010X279A1"), &c, &out, &o), 0);
  ck_assert_int_eq(o.answer, OHETS_ANSWER_271);
  ck_assert_int_eq(o.found, 1);
  ck_assert_uint_eq(o.n_aaa, 0);
  ck_assert_str_eq(o.st02, "0001");
  ck_assert_str_eq(o.isa13, "000000001");
  ck_assert(memcmp(out.data, "ISA*00*", 7) == 0);
  ck_assert(contains(&out, "*ZZ*CMS            *ZZ*SUBMITTER01    *261123*1030*^*00501*000000007*0*P*:~"));
  ck_assert(contains(&out, "GS*HB*CMS*SUBMITTER01*20261123*1030*7*X*005010X279A1~"));
  ck_assert(contains(&out, "ST*271*"));
  ck_assert(!contains(&out, "AAA*"));
  ohets_buf_free(&out);
}
END_TEST

START_TEST(overload_gets_aaa_42) {
  ohets_request_ctx c = base_ctx();
  c.overloaded = 1;
  ohets_buf out;
  ohets_outcome o;
  ck_assert_int_eq(answer(make_270("CMS", "005010X279A1"), &c, &out, &o), 0);
  ck_assert_int_eq(o.answer, OHETS_ANSWER_271);
  ck_assert_uint_eq(o.n_aaa, 1);
  ck_assert_str_eq(o.aaa[0], "42");
  ck_assert(contains(&out, "AAA*N**42*R~"));
  ohets_buf_free(&out);
}
END_TEST

START_TEST(answer_larger_than_bound_is_refused_whole) {
  ohets_request_ctx c = base_ctx();
  ohets_buf out;
  ohets_outcome o;
  ohets_buf_init(&out, 200);
  const char *req = make_270("CMS", "005010X279A1");
  ck_assert_int_eq(ohets_respond((const uint8_t *)req, strlen(req), &c, &out, &o),
                   -ENOBUFS);
  ck_assert_uint_eq(out.len, 0);
  ohets_buf_free(&out);
}
END_TEST

/* Allocation failure injection: fail the n-th allocation. */
static long alloc_countdown = -1; /* -1: never fail */
static long alloc_calls;
static void *failing_malloc(size_t n) {
  alloc_calls++;
  if (alloc_countdown >= 0 && alloc_countdown-- == 0)
    return NULL;
  return malloc(n);
}
static void *failing_realloc(void *p, size_t n) {
  alloc_calls++;
  if (alloc_countdown >= 0 && alloc_countdown-- == 0)
    return NULL;
  return realloc(p, n);
}

START_TEST(each_allocation_failing_in_turn) {
  ohets_set_alloc_funcs(failing_malloc, failing_realloc, free);
  ohets_request_ctx c = base_ctx();
  const char *req = make_270("CMS", "005010X279A1");
  ohets_buf out;
  ohets_outcome o;
  alloc_countdown = -1;
  alloc_calls = 0;
  ck_assert_int_eq(answer(req, &c, &out, &o), 0);
  ohets_buf_free(&out);
  long total = alloc_calls;
  ck_assert(total >= 3);
  for (long i = 0; i < total; i++) {
    alloc_countdown = i;
    int rc = answer(req, &c, &out, &o);
    ck_assert_msg(rc == -ENOMEM, "allocation %ld of %ld: rc %d", i, total, rc);
    ck_assert_uint_eq(out.len, 0);
    ohets_buf_free(&out);
  }
  ohets_set_alloc_funcs(NULL, NULL, NULL);
}
END_TEST

int main(void) {
  Suite *s = suite_create("respond");
  TCase *tc = tcase_create("decision table");
  tcase_add_test(tc, no_isa_gets_hts00004);
  tcase_add_test(tc, oversized_interchange_gets_hts00002);
  tcase_add_test(tc, receiver_not_cms_gets_ta1_008);
  tcase_add_test(tc, delimiter_clash_gets_ta1);
  tcase_add_test(tc, unknown_submitter_gets_sby00502);
  tcase_add_test(tc, wrong_guide_version_gets_999);
  tcase_add_test(tc, matched_beneficiary_gets_271);
  tcase_add_test(tc, overload_gets_aaa_42);
  tcase_add_test(tc, answer_larger_than_bound_is_refused_whole);
  suite_add_tcase(s, tc);
  TCase *tm = tcase_create("memory");
  tcase_add_test(tm, each_allocation_failing_in_turn);
  suite_add_tcase(s, tm);
  SRunner *r = srunner_create(s);
  srunner_run_all(r, CK_NORMAL);
  int failed = srunner_ntests_failed(r);
  srunner_free(r);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
