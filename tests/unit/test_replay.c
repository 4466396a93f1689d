/* The PayloadID cache (src/server/replay.c): CORE's "same PayloadID, same
 * answer" within its time to live, a different payload told apart, and
 * the bounds on count and bytes. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "server/replay.h"

static void answer_with(ohets_caqh_envelope *e, const char *payload) {
  ohets_caqh_envelope_init(e);
  ck_assert_int_eq(ohets_caqh_envelope_set_str(e, OHETS_CAQH_PAYLOAD_TYPE, OHETS_CAQH_PT_271), 0);
  ck_assert_int_eq(ohets_caqh_envelope_set_str(e, OHETS_CAQH_TIMESTAMP, "2026-11-29T10:00:00Z"),
                   0);
  ck_assert_int_eq(ohets_caqh_envelope_set_str(e, OHETS_CAQH_PAYLOAD, payload), 0);
}

static void sha_of(uint8_t out[32], int n) {
  memset(out, 0, 32);
  out[0] = (uint8_t)n;
  out[1] = (uint8_t)(n >> 8);
}

#define ID "f81d4fae-7dec-11d0-a765-00a0c91e6bf6"

START_TEST(test_same_different_miss) {
  ohets_srv_replay *r;
  ck_assert_int_eq(ohets_srv_replay_new(&r, 10, 1 << 20, 600000), 0);
  uint8_t a[32], b[32];
  sha_of(a, 1);
  sha_of(b, 2);
  ohets_caqh_envelope ans, got;
  answer_with(&ans, "ISA*271~");
  ohets_caqh_envelope_init(&got);
  ck_assert_int_eq(ohets_srv_replay_get(r, "SUB01", ID, strlen(ID), a, 1000, &got),
                   OHETS_SRV_REPLAY_MISS);
  ck_assert_int_eq(ohets_srv_replay_put(r, "SUB01", ID, strlen(ID), a, 1000, &ans), 0);
  ck_assert_int_eq(ohets_srv_replay_get(r, "SUB01", ID, strlen(ID), a, 2000, &got),
                   OHETS_SRV_REPLAY_SAME);
  ck_assert_str_eq(got.value[OHETS_CAQH_PAYLOAD], "ISA*271~");
  ck_assert_str_eq(got.value[OHETS_CAQH_TIMESTAMP], "2026-11-29T10:00:00Z");
  ohets_caqh_envelope_clear(&got);
  ck_assert_int_eq(ohets_srv_replay_get(r, "SUB01", ID, strlen(ID), b, 2000, &got),
                   OHETS_SRV_REPLAY_DIFFERENT);
  /* Another submitter's PayloadID is its own. */
  ck_assert_int_eq(ohets_srv_replay_get(r, "SUB02", ID, strlen(ID), a, 2000, &got),
                   OHETS_SRV_REPLAY_MISS);
  ohets_caqh_envelope_clear(&ans);
  ohets_srv_replay_free(r);
}
END_TEST

START_TEST(test_expires_after_ttl) {
  ohets_srv_replay *r;
  ck_assert_int_eq(ohets_srv_replay_new(&r, 10, 1 << 20, OHETS_SRV_REPLAY_TTL_MS), 0);
  uint8_t a[32];
  sha_of(a, 1);
  ohets_caqh_envelope ans, got;
  answer_with(&ans, "X");
  ohets_caqh_envelope_init(&got);
  ck_assert_int_eq(ohets_srv_replay_put(r, "S", ID, strlen(ID), a, 5000, &ans), 0);
  ck_assert_int_eq(ohets_srv_replay_get(r, "S", ID, strlen(ID), a,
                                        5000 + OHETS_SRV_REPLAY_TTL_MS - 1, &got),
                   OHETS_SRV_REPLAY_SAME);
  ohets_caqh_envelope_clear(&got);
  ck_assert_int_eq(ohets_srv_replay_get(r, "S", ID, strlen(ID), a,
                                        5000 + OHETS_SRV_REPLAY_TTL_MS, &got),
                   OHETS_SRV_REPLAY_MISS);
  ck_assert_uint_eq(ohets_srv_replay_count(r), 0);
  ohets_caqh_envelope_clear(&ans);
  ohets_srv_replay_free(r);
}
END_TEST

START_TEST(test_bounded_oldest_out) {
  ohets_srv_replay *r;
  ck_assert_int_eq(ohets_srv_replay_new(&r, 3, 1 << 20, 600000), 0);
  uint8_t a[32];
  sha_of(a, 1);
  ohets_caqh_envelope ans, got;
  answer_with(&ans, "X");
  ohets_caqh_envelope_init(&got);
  char id[16];
  for (int i = 0; i < 5; i++) {
    snprintf(id, sizeof id, "id%d", i);
    ck_assert_int_eq(ohets_srv_replay_put(r, "S", id, strlen(id), a, 100 + (uint64_t)i, &ans),
                     0);
  }
  ck_assert_uint_eq(ohets_srv_replay_count(r), 3);
  ck_assert_int_eq(ohets_srv_replay_get(r, "S", "id1", 3, a, 200, &got), OHETS_SRV_REPLAY_MISS);
  ck_assert_int_eq(ohets_srv_replay_get(r, "S", "id4", 3, a, 200, &got), OHETS_SRV_REPLAY_SAME);
  ohets_caqh_envelope_clear(&got);
  ohets_caqh_envelope_clear(&ans);
  ohets_srv_replay_free(r);

  /* The byte bound: a big answer pushes the older ones out; one bigger
   * than the whole bound is not kept at all. */
  ck_assert_int_eq(ohets_srv_replay_new(&r, 100, 4096, 600000), 0);
  char big[3000];
  memset(big, 'Z', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  answer_with(&ans, big);
  ck_assert_int_eq(ohets_srv_replay_put(r, "S", "a", 1, a, 1, &ans), 0);
  ck_assert_int_eq(ohets_srv_replay_put(r, "S", "b", 1, a, 2, &ans), 0);
  ck_assert_uint_eq(ohets_srv_replay_count(r), 1);
  ck_assert_int_eq(ohets_srv_replay_get(r, "S", "b", 1, a, 3, &got), OHETS_SRV_REPLAY_SAME);
  ohets_caqh_envelope_clear(&got);
  ohets_caqh_envelope_clear(&ans);
  char huge[5000];
  memset(huge, 'Z', sizeof huge - 1);
  huge[sizeof huge - 1] = '\0';
  answer_with(&ans, huge);
  ck_assert_int_lt(ohets_srv_replay_put(r, "S", "c", 1, a, 4, &ans), 0);
  ck_assert_int_eq(ohets_srv_replay_get(r, "S", "c", 1, a, 5, &got), OHETS_SRV_REPLAY_MISS);
  ohets_caqh_envelope_clear(&ans);
  ohets_srv_replay_free(r);
}
END_TEST

/* Workers share one cache: puts and gets from four threads at once (run
 * under ThreadSanitizer by scripts/test). */
static ohets_srv_replay *shared;

static void *hammer(void *arg) {
  int t = (int)(intptr_t)arg;
  uint8_t a[32];
  sha_of(a, t);
  ohets_caqh_envelope ans, got;
  answer_with(&ans, "X");
  for (int i = 0; i < 2000; i++) {
    char id[16];
    snprintf(id, sizeof id, "%d-%d", t, i % 300);
    ohets_caqh_envelope_init(&got);
    if (ohets_srv_replay_get(shared, "S", id, strlen(id), a, (uint64_t)i, &got) ==
        OHETS_SRV_REPLAY_MISS)
      (void)ohets_srv_replay_put(shared, "S", id, strlen(id), a, (uint64_t)i, &ans);
    ohets_caqh_envelope_clear(&got);
  }
  ohets_caqh_envelope_clear(&ans);
  return NULL;
}

START_TEST(test_threads) {
  ck_assert_int_eq(ohets_srv_replay_new(&shared, 500, 1 << 20, 600000), 0);
  pthread_t th[4];
  for (int i = 0; i < 4; i++)
    ck_assert_int_eq(pthread_create(&th[i], NULL, hammer, (void *)(intptr_t)i), 0);
  for (int i = 0; i < 4; i++)
    pthread_join(th[i], NULL);
  ck_assert_uint_le(ohets_srv_replay_count(shared), 500);
  ck_assert_uint_gt(ohets_srv_replay_count(shared), 0);
  ohets_srv_replay_free(shared);
}
END_TEST

int main(void) {
  Suite *s = suite_create("replay");
  TCase *t = tcase_create("payload id cache");
  tcase_add_test(t, test_same_different_miss);
  tcase_add_test(t, test_expires_after_ttl);
  tcase_add_test(t, test_bounded_oldest_out);
  tcase_add_test(t, test_threads);
  suite_add_tcase(s, t);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? 0 : 1;
}
