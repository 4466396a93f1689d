/* The CORE request envelope checks of DESIGN §13 (ohets_caqh_check_request,
 * src/caqh/envelope.c), table-driven. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caqh/envelope.h"

static const char *const good[OHETS_CAQH_N_REQUEST_FIELDS] = {
    OHETS_CAQH_PT_270, "RealTime", "f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
    "2026-11-29T10:20:34Z", "SUBMITTER1", "CMS", "2.2.0", "ISA*00~",
};

#define ABSENT ((const char *)1) /* a field left out */

/* The good envelope with field f set to v (ABSENT: no element). */
static void build(ohets_caqh_envelope *e, int f, const char *v) {
  ohets_caqh_envelope_init(e);
  for (int i = 0; i < OHETS_CAQH_N_REQUEST_FIELDS; i++) {
    const char *val = i == f ? v : good[i];
    if (val != ABSENT)
      ck_assert_int_eq(ohets_caqh_envelope_set_str(e, (ohets_caqh_field)i, val), 0);
  }
}

static const struct {
  int field; /* -1: none changed */
  const char *value;
  const char *code; /* "Success" when it passes */
  int status;
} cases[] = {
    {-1, NULL, "Success", 200},
    /* Required: absent, empty or blank. */
    {OHETS_CAQH_PAYLOAD_TYPE, ABSENT, "PayloadTypeRequired", 200},
    {OHETS_CAQH_PAYLOAD_TYPE, "", "PayloadTypeRequired", 200},
    {OHETS_CAQH_PROCESSING_MODE, " \t\r\n", "ProcessingModeRequired", 200},
    {OHETS_CAQH_PAYLOAD_ID, ABSENT, "PayloadIDRequired", 200},
    {OHETS_CAQH_TIMESTAMP, "", "TimeStampRequired", 200},
    {OHETS_CAQH_SENDER_ID, ABSENT, "SenderIDRequired", 200},
    {OHETS_CAQH_RECEIVER_ID, "  ", "ReceiverIDRequired", 200},
    {OHETS_CAQH_CORE_RULE_VERSION, ABSENT, "CORERuleVersionRequired", 200},
    {OHETS_CAQH_PAYLOAD, ABSENT, "PayloadRequired", 200},
    {OHETS_CAQH_PAYLOAD, "\n", "PayloadRequired", 200},
    /* Illegal values; surrounding XML whitespace is trimmed first. */
    {OHETS_CAQH_PAYLOAD_TYPE, OHETS_CAQH_PT_271, "PayloadTypeIllegal", 200},
    {OHETS_CAQH_PAYLOAD_TYPE, "x12_270_request_005010x279a1", "PayloadTypeIllegal", 200},
    {OHETS_CAQH_PAYLOAD_TYPE, " " OHETS_CAQH_PT_270 "\n", "Success", 200},
    {OHETS_CAQH_PROCESSING_MODE, "Batch", "ProcessingModeIllegal", 200},
    {OHETS_CAQH_PROCESSING_MODE, "realtime", "ProcessingModeIllegal", 200},
    {OHETS_CAQH_PROCESSING_MODE, "RealTime ", "Success", 200},
    /* UUIDs: 8-4-4-4-12 hex digits, either case. */
    {OHETS_CAQH_PAYLOAD_ID, "F81D4FAE-7DEC-11D0-A765-00A0C91E6BF6", "Success", 200},
    {OHETS_CAQH_PAYLOAD_ID, "f81d4fae7dec11d0a76500a0c91e6bf6", "PayloadIDIllegal", 200},
    {OHETS_CAQH_PAYLOAD_ID, "f81d4fae-7dec-11d0-a765-00a0c91e6bf", "PayloadIDIllegal", 200},
    {OHETS_CAQH_PAYLOAD_ID, "f81d4fae-7dec-11d0-a765-00a0c91e6bf67", "PayloadIDIllegal", 200},
    {OHETS_CAQH_PAYLOAD_ID, "g81d4fae-7dec-11d0-a765-00a0c91e6bf6", "PayloadIDIllegal", 200},
    {OHETS_CAQH_PAYLOAD_ID, "f81d4fae-7dec-11d0-a765_00a0c91e6bf6", "PayloadIDIllegal", 200},
    {OHETS_CAQH_PAYLOAD_ID, "{f81d4fae-7dec-11d0-a765-00a0c91e6bf6}", "PayloadIDIllegal", 200},
    {OHETS_CAQH_PAYLOAD_ID, "12345", "PayloadIDIllegal", 200},
    /* xs:dateTime forms. */
    {OHETS_CAQH_TIMESTAMP, "2026-11-29T10:20:34", "Success", 200},
    {OHETS_CAQH_TIMESTAMP, "2026-11-29T10:20:34.5Z", "Success", 200},
    {OHETS_CAQH_TIMESTAMP, "2026-11-29T10:20:34.123456789+05:30", "Success", 200},
    {OHETS_CAQH_TIMESTAMP, "2026-11-29T10:20:34-08:00", "Success", 200},
    {OHETS_CAQH_TIMESTAMP, "2026-11-29T10:20:34+14:00", "Success", 200},
    {OHETS_CAQH_TIMESTAMP, "2026-11-29T10:20:34-00:00", "Success", 200},
    {OHETS_CAQH_TIMESTAMP, "2024-02-29T00:00:00Z", "Success", 200},
    {OHETS_CAQH_TIMESTAMP, "2000-02-29T00:00:00Z", "Success", 200},
    {OHETS_CAQH_TIMESTAMP, "2026-12-31T24:00:00Z", "Success", 200},
    {OHETS_CAQH_TIMESTAMP, "2026-12-31T24:00:00.000Z", "Success", 200},
    {OHETS_CAQH_TIMESTAMP, "1700-01-01T00:00:00Z", "Success", 200},
    {OHETS_CAQH_TIMESTAMP, "2026-11-29T24:00:00.5Z", "TimeStampIllegal", 200},
    {OHETS_CAQH_TIMESTAMP, "2026-11-29T24:00:01Z", "TimeStampIllegal", 200},
    {OHETS_CAQH_TIMESTAMP, "2026-11-29T25:00:00Z", "TimeStampIllegal", 200},
    {OHETS_CAQH_TIMESTAMP, "2026-11-29T10:60:00Z", "TimeStampIllegal", 200},
    {OHETS_CAQH_TIMESTAMP, "2026-11-29T10:20:60Z", "TimeStampIllegal", 200},
    {OHETS_CAQH_TIMESTAMP, "2026-02-29T10:20:34Z", "TimeStampIllegal", 200},
    {OHETS_CAQH_TIMESTAMP, "1900-02-29T10:20:34Z", "TimeStampIllegal", 200},
    {OHETS_CAQH_TIMESTAMP, "2026-04-31T10:20:34Z", "TimeStampIllegal", 200},
    {OHETS_CAQH_TIMESTAMP, "2026-13-01T10:20:34Z", "TimeStampIllegal", 200},
    {OHETS_CAQH_TIMESTAMP, "2026-00-01T10:20:34Z", "TimeStampIllegal", 200},
    {OHETS_CAQH_TIMESTAMP, "2026-11-00T10:20:34Z", "TimeStampIllegal", 200},
    {OHETS_CAQH_TIMESTAMP, "0000-11-29T10:20:34Z", "TimeStampIllegal", 200},
    {OHETS_CAQH_TIMESTAMP, "2026-11-29 10:20:34Z", "TimeStampIllegal", 200},
    {OHETS_CAQH_TIMESTAMP, "2026-11-29T10:20Z", "TimeStampIllegal", 200},
    {OHETS_CAQH_TIMESTAMP, "2026-11-29", "TimeStampIllegal", 200},
    {OHETS_CAQH_TIMESTAMP, "26-11-29T10:20:34Z", "TimeStampIllegal", 200},
    {OHETS_CAQH_TIMESTAMP, "2026-11-29T10:20:34.Z", "TimeStampIllegal", 200},
    {OHETS_CAQH_TIMESTAMP, "2026-11-29T10:20:34ZZ", "TimeStampIllegal", 200},
    {OHETS_CAQH_TIMESTAMP, "2026-11-29T10:20:34z", "TimeStampIllegal", 200},
    {OHETS_CAQH_TIMESTAMP, "2026-11-29T10:20:34+15:00", "TimeStampIllegal", 200},
    {OHETS_CAQH_TIMESTAMP, "2026-11-29T10:20:34+14:01", "TimeStampIllegal", 200},
    {OHETS_CAQH_TIMESTAMP, "2026-11-29T10:20:34+05:60", "TimeStampIllegal", 200},
    {OHETS_CAQH_TIMESTAMP, "2026-11-29T10:20:34+0530", "TimeStampIllegal", 200},
    {OHETS_CAQH_TIMESTAMP, "2026-11-29T10:20:34+5:30", "TimeStampIllegal", 200},
    {OHETS_CAQH_TIMESTAMP, "2026-1a-29T10:20:34Z", "TimeStampIllegal", 200},
    {OHETS_CAQH_TIMESTAMP, "2026-11-29T10:20:34 Z", "TimeStampIllegal", 200},
    /* SenderID is the authenticated submitter's (compared exactly). */
    {OHETS_CAQH_SENDER_ID, "OTHER", "UnAuthorized", 403},
    {OHETS_CAQH_SENDER_ID, "submitter1", "UnAuthorized", 403},
    {OHETS_CAQH_SENDER_ID, " SUBMITTER1 ", "Success", 200},
    {OHETS_CAQH_RECEIVER_ID, "cms", "ReceiverIDIllegal", 200},
    {OHETS_CAQH_RECEIVER_ID, "CMS2", "ReceiverIDIllegal", 200},
    {OHETS_CAQH_CORE_RULE_VERSION, "2.1.0", "VersionMismatch", 200},
    {OHETS_CAQH_CORE_RULE_VERSION, "2.2", "VersionMismatch", 200},
    {OHETS_CAQH_PAYLOAD, "not X12 at all", "Success", 200}, /* the caller's PayloadIllegal */
};

START_TEST(one_field) {
  ohets_caqh_envelope e;
  ohets_caqh_verdict v;
  build(&e, cases[_i].field, cases[_i].value);
  int ok = ohets_caqh_check_request(&e, "SUBMITTER1", &v);
  const char *what = cases[_i].field < 0 ? "(none)" : ohets_caqh_field_name(cases[_i].field);
  const char *val = cases[_i].value == NULL     ? "-"
                    : cases[_i].value == ABSENT ? "(absent)"
                                                : cases[_i].value;
  ck_assert_msg(strcmp(v.error_code, cases[_i].code) == 0, "%s=%s: got %s, want %s", what, val,
                v.error_code, cases[_i].code);
  ck_assert_int_eq(v.http_status, cases[_i].status);
  ck_assert_int_eq(ok, strcmp(cases[_i].code, "Success") == 0);
  ck_assert(v.error_message[0] != '\0');
  if (ok)
    ck_assert_str_eq(v.error_message, "None");
  else
    ck_assert(strstr(v.error_message, what) != NULL);
  ohets_caqh_envelope_clear(&e);
}
END_TEST

/* First failure wins, in envelope order; for one field Required comes
 * before Illegal (an empty value is never Illegal). */
START_TEST(order) {
  static const struct {
    const char *values[OHETS_CAQH_N_REQUEST_FIELDS];
    const char *code;
  } orders[] = {
      {{"bad", "Batch", "bad", "bad", "OTHER", "bad", "9", NULL}, "PayloadTypeIllegal"},
      {{NULL, "Batch", NULL, NULL, NULL, NULL, NULL, NULL}, "PayloadTypeRequired"},
      {{OHETS_CAQH_PT_270, "Batch", NULL, NULL, NULL, NULL, NULL, NULL},
       "ProcessingModeIllegal"},
      {{OHETS_CAQH_PT_270, "RealTime", "", "bad", NULL, NULL, NULL, NULL}, "PayloadIDRequired"},
      {{OHETS_CAQH_PT_270, "RealTime", "f81d4fae-7dec-11d0-a765-00a0c91e6bf6", "bad", "OTHER",
        NULL, NULL, NULL},
       "TimeStampIllegal"},
      {{OHETS_CAQH_PT_270, "RealTime", "f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
        "2026-11-29T10:20:34Z", "OTHER", "bad", "9", NULL},
       "UnAuthorized"},
      {{OHETS_CAQH_PT_270, "RealTime", "f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
        "2026-11-29T10:20:34Z", "SUBMITTER1", "bad", "9", NULL},
       "ReceiverIDIllegal"},
      {{OHETS_CAQH_PT_270, "RealTime", "f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
        "2026-11-29T10:20:34Z", "SUBMITTER1", "CMS", "9", NULL},
       "VersionMismatch"},
      {{OHETS_CAQH_PT_270, "RealTime", "f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
        "2026-11-29T10:20:34Z", "SUBMITTER1", "CMS", "2.2.0", NULL},
       "PayloadRequired"},
  };
  for (size_t i = 0; i < sizeof orders / sizeof orders[0]; i++) {
    ohets_caqh_envelope e;
    ohets_caqh_verdict v;
    ohets_caqh_envelope_init(&e);
    for (int f = 0; f < OHETS_CAQH_N_REQUEST_FIELDS; f++)
      if (orders[i].values[f] != NULL)
        ohets_caqh_envelope_set_str(&e, (ohets_caqh_field)f, orders[i].values[f]);
    ck_assert_int_eq(ohets_caqh_check_request(&e, "SUBMITTER1", &v), 0);
    ck_assert_msg(strcmp(v.error_code, orders[i].code) == 0, "row %zu: %s, want %s", i,
                  v.error_code, orders[i].code);
    ohets_caqh_envelope_clear(&e);
  }
}
END_TEST

START_TEST(any_submitter) {
  /* Without an authenticated submitter any SenderID passes. */
  ohets_caqh_envelope e;
  ohets_caqh_verdict v;
  build(&e, OHETS_CAQH_SENDER_ID, "ANYONE");
  ck_assert_int_eq(ohets_caqh_check_request(&e, NULL, &v), 1);
  ck_assert_str_eq(v.error_code, "Success");
  ck_assert_int_eq(v.http_status, 200);
  ohets_caqh_envelope_clear(&e);
}
END_TEST

static Suite *checks_suite(void) {
  Suite *s = suite_create("caqh_checks");
  TCase *tc = tcase_create("checks");
  tcase_add_loop_test(tc, one_field, 0, (int)(sizeof cases / sizeof cases[0]));
  tcase_add_test(tc, order);
  tcase_add_test(tc, any_submitter);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(checks_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
