/* Unit tests of hets-load's latency histogram: the 1% error bound, the
 * percentiles a user reads in the summary, and merging across threads. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "tools/load_hist.h"

static ohets_load_hist *new_hist(void) {
  ohets_load_hist *h = malloc(sizeof *h);
  ck_assert_ptr_nonnull(h);
  ohets_load_hist_init(h);
  return h;
}

/* Reported value for v alone: what a percentile would print. */
static void assert_within_1pct(uint64_t v) {
  size_t i = ohets_load_hist_index(v);
  ck_assert_uint_lt(i, OHETS_LOAD_HIST_BUCKETS);
  uint64_t lo = ohets_load_hist_bucket_low(i), hi = ohets_load_hist_bucket_high(i);
  ck_assert_msg(lo <= v && v <= hi, "value %llu outside its bucket [%llu, %llu]",
                (unsigned long long)v, (unsigned long long)lo, (unsigned long long)hi);
  /* The reported value (hi) overstates v by less than 1%. */
  ck_assert_msg((long double)(hi - v) <= (long double)v / 100.0L,
                "value %llu reported as %llu: more than 1%% off", (unsigned long long)v,
                (unsigned long long)hi);
}

START_TEST(error_bound_small_values) {
  for (uint64_t v = 0; v < 200000; v++)
    assert_within_1pct(v);
}
END_TEST

START_TEST(error_bound_across_range) {
  /* Octave edges, their neighbours, and pseudo-random values up to 2^64-1. */
  for (unsigned k = 1; k < 64; k++) {
    uint64_t p = (uint64_t)1 << k;
    assert_within_1pct(p - 1);
    assert_within_1pct(p);
    assert_within_1pct(p + 1);
  }
  assert_within_1pct(UINT64_MAX);
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (int n = 0; n < 200000; n++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    assert_within_1pct(x >> (x % 64));
  }
}
END_TEST

START_TEST(buckets_tile_the_range) {
  /* Each bucket starts right after the previous one ends: no value is lost
   * or counted in two places. */
  for (size_t i = 1; i < OHETS_LOAD_HIST_BUCKETS; i++)
    ck_assert_uint_eq(ohets_load_hist_bucket_low(i), ohets_load_hist_bucket_high(i - 1) + 1);
  ck_assert_uint_eq(ohets_load_hist_bucket_high(OHETS_LOAD_HIST_BUCKETS - 1), UINT64_MAX);
}
END_TEST

START_TEST(empty_reports_zero) {
  ohets_load_hist *h = new_hist();
  ck_assert_uint_eq(ohets_load_hist_count(h), 0);
  ck_assert_uint_eq(ohets_load_hist_percentile(h, 50), 0);
  ck_assert_uint_eq(ohets_load_hist_percentile(h, 99.9), 0);
  ck_assert_uint_eq(ohets_load_hist_max(h), 0);
  free(h);
}
END_TEST

START_TEST(single_value_is_exact) {
  /* Capped at the exact maximum, one sample reads back as itself. */
  ohets_load_hist *h = new_hist();
  ohets_load_hist_record(h, 4517311);
  ck_assert_uint_eq(ohets_load_hist_percentile(h, 50), 4517311);
  ck_assert_uint_eq(ohets_load_hist_percentile(h, 99.9), 4517311);
  ck_assert_uint_eq(ohets_load_hist_max(h), 4517311);
  free(h);
}
END_TEST

/* Data-driven percentiles: a distribution given as runs of equal values. */
struct run {
  uint64_t value;
  unsigned count;
};
struct pct_case {
  const char *name;
  struct run runs[4];
  double p;
  uint64_t expect; /* the true percentile; the reported one is within 1% */
};

static const struct pct_case pct_cases[] = {
    {"one slow outlier in 1000: p99", {{1000, 999}, {2000000, 1}}, 99.0, 1000},
    {"one slow outlier in 1000: p99.9", {{1000, 999}, {2000000, 1}}, 99.9, 1000},
    {"one slow outlier in 1000: p100", {{1000, 999}, {2000000, 1}}, 100.0, 2000000},
    {"two outliers in 1000: p99.9", {{1000, 998}, {2000000, 2}}, 99.9, 2000000},
    {"bimodal 90/10: p90", {{350000, 900}, {9000000, 100}}, 90.0, 350000},
    {"bimodal 90/10: p91", {{350000, 900}, {9000000, 100}}, 91.0, 9000000},
    {"three modes: p50", {{700, 400}, {45000, 400}, {123456789, 200}}, 50.0, 45000},
    {"three modes: p80", {{700, 400}, {45000, 400}, {123456789, 200}}, 80.0, 45000},
    {"three modes: p81", {{700, 400}, {45000, 400}, {123456789, 200}}, 81.0, 123456789},
};

START_TEST(percentiles_of_distributions) {
  const struct pct_case *c = &pct_cases[_i];
  ohets_load_hist *h = new_hist();
  for (int r = 0; r < 4; r++)
    for (unsigned n = 0; n < c->runs[r].count; n++)
      ohets_load_hist_record(h, c->runs[r].value);
  uint64_t got = ohets_load_hist_percentile(h, c->p);
  ck_assert_msg(got >= c->expect && (long double)(got - c->expect) <= c->expect / 100.0L,
                "%s: got %llu, want %llu within 1%%", c->name, (unsigned long long)got,
                (unsigned long long)c->expect);
  free(h);
}
END_TEST

START_TEST(uniform_percentiles) {
  /* 1 .. 100000 microseconds-like values: pN is N% of the range. */
  ohets_load_hist *h = new_hist();
  for (uint64_t v = 1; v <= 100000; v++)
    ohets_load_hist_record(h, v);
  static const struct {
    double p;
    uint64_t expect;
  } want[] = {{50, 50000}, {90, 90000}, {99, 99000}, {99.9, 99900}, {100, 100000}};
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    uint64_t got = ohets_load_hist_percentile(h, want[i].p);
    ck_assert_msg(got >= want[i].expect && got - want[i].expect <= want[i].expect / 100,
                  "p%g: got %llu, want %llu", want[i].p, (unsigned long long)got,
                  (unsigned long long)want[i].expect);
  }
  ck_assert_uint_eq(ohets_load_hist_count(h), 100000);
  ck_assert_uint_eq(ohets_load_hist_max(h), 100000);
  free(h);
}
END_TEST

START_TEST(merge_equals_one_histogram) {
  /* Threads record separately; the summary merges them.  The merged
   * histogram must answer exactly as one fed with every value. */
  ohets_load_hist *a = new_hist(), *b = new_hist(), *all = new_hist(), *merged = new_hist();
  uint64_t x = 12345;
  for (int n = 0; n < 50000; n++) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    uint64_t v = 100 + (x >> 40) % 5000000;
    ohets_load_hist_record((n % 3) ? a : b, v);
    ohets_load_hist_record(all, v);
  }
  ohets_load_hist_merge(merged, a);
  ohets_load_hist_merge(merged, b);
  ck_assert_uint_eq(ohets_load_hist_count(merged), 50000);
  ck_assert_uint_eq(ohets_load_hist_max(merged), ohets_load_hist_max(all));
  static const double ps[] = {0, 50, 90, 99, 99.9, 100};
  for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++)
    ck_assert_uint_eq(ohets_load_hist_percentile(merged, ps[i]),
                      ohets_load_hist_percentile(all, ps[i]));
  free(a);
  free(b);
  free(all);
  free(merged);
}
END_TEST

static Suite *hist_suite(void) {
  Suite *s = suite_create("load_hist");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, error_bound_small_values);
  tcase_add_test(tc, error_bound_across_range);
  tcase_add_test(tc, buckets_tile_the_range);
  tcase_add_test(tc, empty_reports_zero);
  tcase_add_test(tc, single_value_is_exact);
  tcase_add_loop_test(tc, percentiles_of_distributions, 0,
                      (int)(sizeof pct_cases / sizeof pct_cases[0]));
  tcase_add_test(tc, uniform_percentiles);
  tcase_add_test(tc, merge_equals_one_histogram);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(hist_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
