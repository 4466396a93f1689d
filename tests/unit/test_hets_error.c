/* HETS error record: fixed positions (DESIGN §3.2) and the code table. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "openhets/openhets.h"

static const ohets_now fixed_now = {{2026, 11, 23}, 9, 5, 7, 42};

/* Writes one record and returns it NUL-terminated (caller frees). */
static char *record(const char *code, const char *trace) {
  ohets_buf b;
  ohets_buf_init(&b, 4096);
  ck_assert_int_eq(ohets_hets_error_write(&b, code, trace, &fixed_now), 0);
  char *s = malloc(b.len + 1);
  ck_assert_ptr_nonnull(s);
  memcpy(s, b.data, b.len);
  s[b.len] = '\0';
  ohets_buf_free(&b);
  return s;
}

static void assert_field(const char *rec, size_t off, const char *want) {
  size_t n = strlen(want);
  ck_assert_msg(strncmp(rec + off, want, n) == 0, "at %zu: want '%s' in '%s'", off,
                want, rec);
}

START_TEST(test_exact_record) {
  char *rec = record("HTS00004", "000000905");
  static const char want[] = "HETS"
                             "                     000000905" /* 30, right-justified */
                             "20261123"
                             "090507042"
                             " I"
                             "HTS00004"
                             " - The payload does not begin with a readable ISA segment";
  ck_assert_str_eq(rec, want);
  free(rec);
}
END_TEST

START_TEST(test_fixed_offsets) {
  char *rec = record("SBY00502", "123456789");
  ck_assert_uint_ge(strlen(rec), 64);
  assert_field(rec, 0, "HETS");
  assert_field(rec, 4, "                     ");
  assert_field(rec, 25, "123456789");
  assert_field(rec, 34, "20261123");
  assert_field(rec, 42, "090507042");
  assert_field(rec, 51, " I");
  assert_field(rec, 53, "SBY00502");
  assert_field(rec, 61, " - Authorization for this transaction cannot be validated");
  ck_assert_uint_eq(strlen(rec),
                    61 + 3 + strlen("Authorization for this transaction cannot be validated"));
  free(rec);
}
END_TEST

START_TEST(test_blank_trace) {
  char *rec = record("HTS00001", NULL);
  assert_field(rec, 4, "                              ");
  assert_field(rec, 34, "20261123");
  free(rec);
  rec = record("HTS00001", "");
  assert_field(rec, 4, "                              ");
  assert_field(rec, 34, "20261123");
  free(rec);
}
END_TEST

START_TEST(test_long_trace_keeps_positions) {
  char *rec = record("HTS00002", "0123456789012345678901234567890123456789");
  assert_field(rec, 4, "012345678901234567890123456789");
  assert_field(rec, 34, "20261123");
  assert_field(rec, 53, "HTS00002");
  free(rec);
}
END_TEST

START_TEST(test_trace_control_bytes_blanked) {
  char *rec = record("HTS00004", "12\x01" "3\n");
  assert_field(rec, 4, "                         12 3 ");
  assert_field(rec, 34, "20261123");
  free(rec);
}
END_TEST

START_TEST(test_time_fields_padded) {
  ohets_now early = {{2026, 1, 2}, 0, 0, 0, 5};
  ohets_buf b;
  ohets_buf_init(&b, 4096);
  ck_assert_int_eq(ohets_hets_error_write(&b, "HTS00003", NULL, &early), 0);
  ck_assert_mem_eq(b.data + 34, "20260102" "000000005", 17);
  ohets_buf_free(&b);
}
END_TEST

static const char *const codes[] = {"HTS00001", "HTS00002", "HTS00003", "HTS00004",
                                    "SBY00502"};

START_TEST(test_every_code_has_text) {
  const char *text = ohets_hets_error_text(codes[_i]);
  ck_assert_ptr_nonnull(text);
  ck_assert_uint_gt(strlen(text), 10);
  char *rec = record(codes[_i], "1");
  /* DESIGN §3.2: blank and capital I at 51 whatever the code. */
  ck_assert_msg(rec[51] == ' ' && rec[52] == 'I', "%s: response code '%.2s', want ' I'",
                codes[_i], rec + 51);
  assert_field(rec, 53, codes[_i]);
  assert_field(rec, 61, " - ");
  ck_assert_str_eq(rec + 64, text);
  free(rec);
}
END_TEST

START_TEST(test_sby_text_exact) {
  ck_assert_str_eq(ohets_hets_error_text("SBY00502"),
                   "Authorization for this transaction cannot be validated");
}
END_TEST

static const char *const unknown_codes[] = {"HTS00000", "HTS00005", "hts00001",
                                            "HTS0000", "HTS000011", ""};

START_TEST(test_unknown_code) {
  ck_assert_ptr_null(ohets_hets_error_text(unknown_codes[_i]));
  ohets_buf b;
  ohets_buf_init(&b, 4096);
  ck_assert_int_eq(ohets_hets_error_write(&b, unknown_codes[_i], NULL, &fixed_now),
                   -EINVAL);
  ck_assert_uint_eq(b.len, 0);
  ohets_buf_free(&b);
}
END_TEST

START_TEST(test_bounded_buffer) {
  ohets_buf b;
  ohets_buf_init(&b, 40);
  ck_assert_int_eq(ohets_hets_error_write(&b, "HTS00001", NULL, &fixed_now), -ENOBUFS);
  ck_assert_uint_eq(b.len, 0); /* no half record */
  ohets_buf_free(&b);
}
END_TEST

static Suite *hets_error_suite(void) {
  Suite *s = suite_create("hets_error");
  TCase *t = tcase_create("record");
  tcase_add_test(t, test_exact_record);
  tcase_add_test(t, test_fixed_offsets);
  tcase_add_test(t, test_blank_trace);
  tcase_add_test(t, test_long_trace_keeps_positions);
  tcase_add_test(t, test_trace_control_bytes_blanked);
  tcase_add_test(t, test_time_fields_padded);
  tcase_add_test(t, test_bounded_buffer);
  suite_add_tcase(s, t);
  t = tcase_create("codes");
  tcase_add_loop_test(t, test_every_code_has_text, 0,
                      (int)(sizeof codes / sizeof codes[0]));
  tcase_add_test(t, test_sby_text_exact);
  tcase_add_loop_test(t, test_unknown_code, 0,
                      (int)(sizeof unknown_codes / sizeof unknown_codes[0]));
  suite_add_tcase(s, t);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(hets_error_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
