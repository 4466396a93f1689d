/* The session log (src/server/slog.c): what an operator tailing the file
 * reads.  Request lines are formatted by the log thread itself, so they
 * are checked here field by field, in order, with hostile bytes. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server/server.h"

static char path[64];

static void setup(void) {
  snprintf(path, sizeof path, "/tmp/ohets-test-slog.XXXXXX");
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  close(fd);
}

static void teardown(void) { unlink(path); }

/* Every line of the log file, parsed; the caller frees the array. */
static json_t *read_lines(void) {
  json_t *lines = json_array();
  FILE *f = fopen(path, "r");
  ck_assert_ptr_nonnull(f);
  char buf[4096];
  while (fgets(buf, sizeof buf, f) != NULL) {
    json_error_t err;
    json_t *o = json_loads(buf, JSON_PRESERVE_ORDER, &err);
    ck_assert_msg(o != NULL, "not JSON: %s (%s)", buf, err.text);
    json_array_append_new(lines, o);
  }
  fclose(f);
  return lines;
}

static ohets_srv_request_log sample(void) {
  ohets_srv_request_log r;
  memset(&r, 0, sizeof r);
  snprintf(r.ts, sizeof r.ts, "2026-11-23T12:00:00.123Z");
  r.session = 42;
  r.seq = 3;
  snprintf(r.submitter, sizeof r.submitter, "SUB\"\\\x01\xe9");
  snprintf(r.isa13, sizeof r.isa13, "000000101");
  r.bytes_in = 495;
  r.bytes_out = 984;
  r.answer = OHETS_ANSWER_271;
  r.n_aaa = 2;
  memcpy(r.aaa[0], "72", 3);
  memcpy(r.aaa[1], "75", 3);
  r.queue_us = 1234;
  r.work_us = 5;
  r.total_us = 2000000;
  return r;
}

START_TEST(test_request_line_fields_in_order) {
  ohets_srv_log *lg = NULL;
  char err[256];
  ck_assert_int_eq(ohets_srv_log_open(&lg, path, 16, err, sizeof err), 0);
  ohets_srv_request_log r = sample();
  ohets_srv_log_request(lg, &r);
  ohets_srv_log_close(lg);

  json_t *lines = read_lines();
  ck_assert_uint_eq(json_array_size(lines), 1);
  json_t *o = json_array_get(lines, 0);
  static const char *const keys[] = {"ts", "event", "session", "seq", "submitter",
                                     "isa13", "st02", "bytes_in", "bytes_out",
                                     "answer", "aaa", "queue_ms", "work_ms",
                                     "total_ms"};
  size_t k = 0;
  for (void *it = json_object_iter(o); it != NULL; it = json_object_iter_next(o, it), k++) {
    ck_assert_uint_lt(k, sizeof keys / sizeof keys[0]);
    ck_assert_str_eq(json_object_iter_key(it), keys[k]);
  }
  ck_assert_uint_eq(k, sizeof keys / sizeof keys[0]);
  ck_assert_str_eq(json_string_value(json_object_get(o, "event")), "request");
  ck_assert_int_eq(json_integer_value(json_object_get(o, "session")), 42);
  /* Bytes from the request come back exactly, escaped (0xE9 as U+00E9). */
  ck_assert_str_eq(json_string_value(json_object_get(o, "submitter")),
                   "SUB\"\\\x01\xc3\xa9");
  ck_assert(json_is_null(json_object_get(o, "st02")));
  ck_assert_str_eq(json_string_value(json_object_get(o, "answer")), "271");
  json_t *aaa = json_object_get(o, "aaa");
  ck_assert_uint_eq(json_array_size(aaa), 2);
  ck_assert_str_eq(json_string_value(json_array_get(aaa, 1)), "75");
  ck_assert_double_eq_tol(json_number_value(json_object_get(o, "queue_ms")), 1.234, 1e-9);
  ck_assert_double_eq_tol(json_number_value(json_object_get(o, "work_ms")), 0.005, 1e-9);
  ck_assert_double_eq_tol(json_number_value(json_object_get(o, "total_ms")), 2000.0, 1e-9);
  json_decref(lines);
}
END_TEST

START_TEST(test_request_line_optional_fields) {
  ohets_srv_log *lg = NULL;
  char err[256];
  ck_assert_int_eq(ohets_srv_log_open(&lg, path, 16, err, sizeof err), 0);
  ohets_srv_request_log r = sample();
  r.answer = OHETS_ANSWER_999;
  r.n_aaa = 0;
  r.ack = 'R';
  r.overloaded = 1;
  snprintf(r.mbi_hash, sizeof r.mbi_hash, "fc3f39909c43582c");
  ohets_srv_log_request(lg, &r);
  r.answer = OHETS_ANSWER_HETS;
  r.ack = 0;
  r.overloaded = 0;
  r.mbi_hash[0] = '\0';
  snprintf(r.error, sizeof r.error, "HTS00001");
  ohets_srv_log_request(lg, &r);
  ohets_srv_log_close(lg);

  json_t *lines = read_lines();
  ck_assert_uint_eq(json_array_size(lines), 2);
  json_t *a = json_array_get(lines, 0), *b = json_array_get(lines, 1);
  ck_assert_str_eq(json_string_value(json_object_get(a, "ack")), "R");
  ck_assert(json_is_true(json_object_get(a, "overloaded")));
  ck_assert_str_eq(json_string_value(json_object_get(a, "mbi_hash")), "fc3f39909c43582c");
  ck_assert_ptr_null(json_object_get(a, "error"));
  ck_assert_str_eq(json_string_value(json_object_get(b, "error")), "HTS00001");
  ck_assert_ptr_null(json_object_get(b, "ack"));
  ck_assert_ptr_null(json_object_get(b, "overloaded"));
  ck_assert_ptr_null(json_object_get(b, "mbi_hash"));
  json_decref(lines);
}
END_TEST

/* Every log line's "ts": UTC to the millisecond, the form operators'
 * tools parse; a buffer too small for it gets an empty string. */
START_TEST(test_timestamp_form) {
  char ts[32];
  time_t before = time(NULL);
  ohets_srv_ts(ts, sizeof ts);
  time_t after = time(NULL);
  ck_assert_uint_eq(strlen(ts), 24);
  for (int i = 0; i < 24; i++) {
    const char *form = "dddd-dd-ddTdd:dd:dd.dddZ";
    if (form[i] == 'd')
      ck_assert_msg(ts[i] >= '0' && ts[i] <= '9', "ts %s: digit expected at %d", ts, i);
    else
      ck_assert_msg(ts[i] == form[i], "ts %s: '%c' expected at %d", ts, form[i], i);
  }
  struct tm tm;
  char lo[20], hi[20];
  gmtime_r(&before, &tm);
  strftime(lo, sizeof lo, "%Y-%m-%dT%H:%M:%S", &tm);
  gmtime_r(&after, &tm);
  strftime(hi, sizeof hi, "%Y-%m-%dT%H:%M:%S", &tm);
  ck_assert_msg(strncmp(ts, lo, 19) >= 0 && strncmp(ts, hi, 19) <= 0,
                "ts %s outside %s .. %s", ts, lo, hi);
  char small[10] = "unchanged";
  ohets_srv_ts(small, sizeof small);
  ck_assert_str_eq(small, "");
}
END_TEST

START_TEST(test_full_queue_drops_and_counts) {
  /* A queue of 16 and 2,000 lines at once: the emitter never waits, lines
   * are dropped, every line that reaches the file is whole JSON, and every
   * dropped line is counted: on a later line (log_dropped) or, after the
   * last one, on stderr at close. */
  char errpath[64];
  snprintf(errpath, sizeof errpath, "/tmp/ohets-test-slog-err.XXXXXX");
  int errfd = mkstemp(errpath);
  ck_assert_int_ge(errfd, 0);
  fflush(stderr);
  int saved = dup(2);
  dup2(errfd, 2);

  ohets_srv_log *lg = NULL;
  char err[256];
  ck_assert_int_eq(ohets_srv_log_open(&lg, path, 16, err, sizeof err), 0);
  ohets_srv_request_log r = sample();
  for (int i = 0; i < 2000; i++) {
    r.seq = (uint64_t)i;
    ohets_srv_log_request(lg, &r);
  }
  ohets_srv_log_emit(lg, ohets_srv_log_event("shutdown", 0));
  ohets_srv_log_close(lg);

  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  long long at_close = 0;
  FILE *ef = fdopen(errfd, "r");
  ck_assert_ptr_nonnull(ef);
  rewind(ef);
  char line[256];
  while (fgets(line, sizeof line, ef) != NULL) {
    const char *p = strstr(line, "session log: ");
    if (p != NULL)
      at_close += atoll(p + strlen("session log: "));
  }
  fclose(ef);
  unlink(errpath);

  json_t *lines = read_lines();
  size_t n = json_array_size(lines);
  long long dropped = 0;
  for (size_t i = 0; i < n; i++) {
    json_t *d = json_object_get(json_array_get(lines, i), "log_dropped");
    if (d != NULL)
      dropped += json_integer_value(d);
  }
  /* 2,000 requests and the shutdown line, each written or counted. */
  ck_assert_int_eq((long long)n + dropped + at_close, 2001);
  ck_assert_int_ge((long long)n, 16);
  json_decref(lines);
}
END_TEST

static Suite *slog_suite(void) {
  Suite *s = suite_create("slog");
  TCase *t = tcase_create("request lines");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, test_request_line_fields_in_order);
  tcase_add_test(t, test_request_line_optional_fields);
  tcase_add_test(t, test_full_queue_drops_and_counts);
  tcase_add_test(t, test_timestamp_form);
  suite_add_tcase(s, t);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(slog_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
