/* Passwords already checked (src/server/credcache.c): a success is
 * remembered for its TTL, for exactly that user, password and PHC string. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "server/credcache.h"

#define PHC "$scrypt$ln=1,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"

START_TEST(test_success_remembered_for_ttl) {
  ohets_srv_credcache *c;
  ck_assert_int_eq(ohets_srv_credcache_new(&c, 64, 1000), 0);
  ck_assert_int_eq(ohets_srv_credcache_hit(c, "u", 1, "pw", 2, PHC, 10), 0);
  ohets_srv_credcache_add(c, "u", 1, "pw", 2, PHC, 10);
  ck_assert_int_eq(ohets_srv_credcache_hit(c, "u", 1, "pw", 2, PHC, 1009), 1);
  ck_assert_int_eq(ohets_srv_credcache_hit(c, "u", 1, "pw", 2, PHC, 1010), 0);
  ohets_srv_credcache_free(c);
}
END_TEST

START_TEST(test_only_the_same_triple) {
  ohets_srv_credcache *c;
  ck_assert_int_eq(ohets_srv_credcache_new(&c, 64, 1000), 0);
  ohets_srv_credcache_add(c, "user", 4, "pw", 2, PHC, 10);
  ck_assert_int_eq(ohets_srv_credcache_hit(c, "user", 4, "pw", 2, PHC, 11), 1);
  ck_assert_int_eq(ohets_srv_credcache_hit(c, "user", 4, "pW", 2, PHC, 11), 0);
  ck_assert_int_eq(ohets_srv_credcache_hit(c, "user", 4, "pw2", 3, PHC, 11), 0);
  ck_assert_int_eq(ohets_srv_credcache_hit(c, "usep", 4, "pw", 2, PHC, 11), 0);
  /* The same bytes split differently between user and password. */
  ck_assert_int_eq(ohets_srv_credcache_hit(c, "use", 3, "rpw", 3, PHC, 11), 0);
  /* partners.json changed the password: its PHC string differs. */
  ck_assert_int_eq(ohets_srv_credcache_hit(c, "user", 4, "pw", 2, PHC "x", 11), 0);
  ohets_srv_credcache_free(c);
}
END_TEST

START_TEST(test_bounded) {
  ohets_srv_credcache *c;
  ck_assert_int_eq(ohets_srv_credcache_new(&c, 16, 100000), 0);
  char user[16];
  for (int i = 0; i < 1000; i++) {
    int n = snprintf(user, sizeof user, "u%d", i);
    ohets_srv_credcache_add(c, user, (size_t)n, "pw", 2, PHC, 1);
  }
  int hits = 0;
  for (int i = 0; i < 1000; i++) {
    int n = snprintf(user, sizeof user, "u%d", i);
    hits += ohets_srv_credcache_hit(c, user, (size_t)n, "pw", 2, PHC, 2);
  }
  ck_assert_int_le(hits, 16);
  ck_assert_int_gt(hits, 0);
  ohets_srv_credcache_free(c);
}
END_TEST

int main(void) {
  Suite *s = suite_create("credcache");
  TCase *t = tcase_create("checked passwords");
  tcase_add_test(t, test_success_remembered_for_ttl);
  tcase_add_test(t, test_only_the_same_triple);
  tcase_add_test(t, test_bounded);
  suite_add_tcase(s, t);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? 0 : 1;
}
