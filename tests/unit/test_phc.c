/* scrypt PHC strings (src/caqh/phc.h).  The known answers were computed
 * with Python's hashlib.scrypt, an implementation independent of ours:
 *   python3 -c "import hashlib,base64; h = hashlib.scrypt(PW, salt=SALT,
 *     n=1<<LN, r=R, p=P, dklen=LEN, maxmem=64<<20);
 *     print(base64.b64encode(h).decode().rstrip('='))"
 * Whether verification time depends on where a hash differs is not
 * something a unit test can measure; it is not tried. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caqh/phc.h"

static const struct {
  const char *password;
  size_t n;
  const char *salt;
  size_t salt_len;
  unsigned ln, r, p;
  const char *phc;
} known[] = {
    {"password", 8, "saltsaltsaltsalt", 16, 1, 1, 1,
     "$scrypt$ln=1,r=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$CHITEca2aLVRCqFhONBkxrliBbW8VILb3zvW9upULyk"},
    /* UTF-8 password, salt bytes from the ends of the range */
    {"p\xc3\xa4ssw\xc3\xb6rd", 10, "\x00\x01\x02\x03\xfc\xfd\xfe\xff", 8, 4, 8, 2,
     "$scrypt$ln=4,r=8,p=2$AAECA/z9/v8$iE/XPjiZRIbjoyXjA1CUQ7a/grPuu02k/W8Wrcba1+0"},
    /* the default costs: 32 MiB, more than OpenSSL's default maxmem */
    {"correct horse battery staple", 28, "CAQH-CORE-salt16", 16, 15, 8, 1,
     "$scrypt$ln=15,r=8,p=1$Q0FRSC1DT1JFLXNhbHQxNg$eoPniwiP03xKGKxEA1yvQpwS+uDXwsPMg9KsM51YAh0"},
};

/* Verify-only answers: hash lengths other than the 32 bytes we write. */
static const struct {
  const char *password;
  size_t n;
  const char *phc;
} verify_only[] = {
    {"", 0, "$scrypt$ln=3,r=2,p=3$MDEyMzQ1Njc4OWFiY2RlZmdoaWo$qVUEzpFmeOMBslSWFX6a/g"},
    {"hunter2", 7,
     "$scrypt$ln=2,r=1,p=1$AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMz"
     "Q1Njc4OTo7PD0+Pw$gx0g+eAtJ+HX1tWYyBL0J+EgkTExWiMs66bCVrq6Bg+re6np6n82l27LS5T5+1qshPJRZrqs"
     "39Gyp3knc323Cw"},
};

START_TEST(hash_matches_known_answers) {
  char out[OHETS_CAQH_PHC_MAX];
  int rc = ohets_caqh_phc_hash(known[_i].password, known[_i].n, (const uint8_t *)known[_i].salt,
                               known[_i].salt_len, known[_i].ln, known[_i].r, known[_i].p, out);
  ck_assert_int_eq(rc, 0);
  ck_assert_str_eq(out, known[_i].phc);
  ck_assert_int_eq(ohets_caqh_phc_parse_ok(out), 0);
}
END_TEST

START_TEST(verify_known_answers) {
  ck_assert_int_eq(ohets_caqh_phc_verify(known[_i].phc, known[_i].password, known[_i].n), 1);
  /* one byte more, one byte fewer, one byte changed */
  char pw[64];
  memcpy(pw, known[_i].password, known[_i].n);
  pw[known[_i].n] = 'x';
  ck_assert_int_eq(ohets_caqh_phc_verify(known[_i].phc, pw, known[_i].n + 1), 0);
  ck_assert_int_eq(ohets_caqh_phc_verify(known[_i].phc, pw, known[_i].n - 1), 0);
  pw[0] ^= 1;
  ck_assert_int_eq(ohets_caqh_phc_verify(known[_i].phc, pw, known[_i].n), 0);
}
END_TEST

START_TEST(verify_other_hash_lengths) {
  for (size_t i = 0; i < sizeof verify_only / sizeof verify_only[0]; i++) {
    ck_assert_int_eq(ohets_caqh_phc_parse_ok(verify_only[i].phc), 0);
    ck_assert_int_eq(
        ohets_caqh_phc_verify(verify_only[i].phc, verify_only[i].password, verify_only[i].n), 1);
    ck_assert_int_eq(ohets_caqh_phc_verify(verify_only[i].phc, "wrong", 5), 0);
  }
  /* the empty password as NULL */
  ck_assert_int_eq(ohets_caqh_phc_verify(verify_only[0].phc, NULL, 0), 1);
  ck_assert_int_eq(ohets_caqh_phc_verify(verify_only[0].phc, NULL, 1), -EINVAL);
}
END_TEST

/* Every salt length 8..64 (all three base64 tails) comes back through
 * parse and verify; a NUL inside the password counts. */
START_TEST(round_trip) {
  uint8_t salt[64];
  for (size_t i = 0; i < sizeof salt; i++)
    salt[i] = (uint8_t)(i * 37 + 11);
  static const char pw[] = "a\0b";
  for (size_t len = 8; len <= 64; len++) {
    char out[OHETS_CAQH_PHC_MAX];
    ck_assert_int_eq(ohets_caqh_phc_hash(pw, 3, salt, len, 1, 1, 1, out), 0);
    ck_assert_int_eq(ohets_caqh_phc_parse_ok(out), 0);
    ck_assert_int_eq(ohets_caqh_phc_verify(out, pw, 3), 1);
    ck_assert_int_eq(ohets_caqh_phc_verify(out, pw, 1), 0);
    ck_assert_int_eq(ohets_caqh_phc_verify(out, "a\0c", 3), 0);
  }
  /* the longest string fits */
  char out[OHETS_CAQH_PHC_MAX];
  ck_assert_int_eq(ohets_caqh_phc_hash("x", 1, salt, 64, 10, 32, 16, out), 0);
  ck_assert_int_eq(ohets_caqh_phc_verify(out, "x", 1), 1);
  ck_assert_uint_eq(strlen(out), 154);
}
END_TEST

START_TEST(hash_refuses_bad_arguments) {
  static const uint8_t salt[65] = {1};
  static const struct {
    size_t salt_len;
    unsigned ln, r, p;
  } bad[] = {
      {7, 1, 1, 1},  {65, 1, 1, 1}, {16, 0, 1, 1},  {16, 21, 8, 1},
      {16, 1, 0, 1}, {16, 1, 33, 1}, {16, 1, 1, 0}, {16, 1, 1, 17},
      {16, 16, 1, 1}, /* OpenSSL: N < 2^(16 r) */
      {16, 18, 8, 1}, /* 256 MiB and a little */
      {16, 20, 2, 1},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char out[OHETS_CAQH_PHC_MAX] = "junk";
    int rc = ohets_caqh_phc_hash("pw", 2, salt, bad[i].salt_len, bad[i].ln, bad[i].r, bad[i].p,
                                 out);
    ck_assert_msg(rc == -EINVAL, "case %zu: %d", i, rc);
    ck_assert_str_eq(out, "");
  }
  char out[OHETS_CAQH_PHC_MAX];
  ck_assert_int_eq(ohets_caqh_phc_hash(NULL, 1, salt, 16, 1, 1, 1, out), -EINVAL);
  ck_assert_int_eq(ohets_caqh_phc_hash("pw", 2, NULL, 16, 1, 1, 1, out), -EINVAL);
  ck_assert_int_eq(ohets_caqh_phc_hash(NULL, 0, salt, 16, 1, 1, 1, out), 0);
}
END_TEST

#define SALT "c2FsdHNhbHRzYWx0c2FsdA"
#define HASH "CHITEca2aLVRCqFhONBkxrliBbW8VILb3zvW9upULyk"
#define GOOD "$scrypt$ln=1,r=1,p=1$" SALT "$" HASH
#define ZEROS64 /* 64 zero bytes: 86 characters */ \
  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

static const char *const malformed[] = {
    /* wrong id */
    "$scryp$ln=1,r=1,p=1$" SALT "$" HASH,
    "$SCRYPT$ln=1,r=1,p=1$" SALT "$" HASH,
    "$argon2id$ln=1,r=1,p=1$" SALT "$" HASH,
    "scrypt$ln=1,r=1,p=1$" SALT "$" HASH,
    "$scrypt$v=1$ln=1,r=1,p=1$" SALT "$" HASH,
    " " GOOD,
    /* missing fields */
    "",
    "$scrypt$",
    "$scrypt$ln=1,r=1,p=1",
    "$scrypt$ln=1,r=1,p=1$",
    "$scrypt$ln=1,r=1,p=1$" SALT,
    "$scrypt$ln=1,r=1,p=1$" SALT "$",
    "$scrypt$$" SALT "$" HASH,
    "$scrypt$ln=1,r=1$" SALT "$" HASH,
    "$scrypt$ln=1,p=1$" SALT "$" HASH,
    "$scrypt$r=1,p=1$" SALT "$" HASH,
    "$scrypt$ln=,r=1,p=1$" SALT "$" HASH,
    "$scrypt$ln=1,r=1,p=$" SALT "$" HASH,
    "$scrypt$ln=1,r=1,p=1$" HASH,
    /* empty salt, salt or hash too short or too long */
    "$scrypt$ln=1,r=1,p=1$$" HASH,
    "$scrypt$ln=1,r=1,p=1$AAAAAAAAAA$" HASH, /* 7 bytes */
    "$scrypt$ln=1,r=1,p=1$" SALT "$AAAAAAAAAAAAAAAAAAAA", /* 15 bytes */
    "$scrypt$ln=1,r=1,p=1$" ZEROS64 "A$" HASH, /* 65 bytes */
    "$scrypt$ln=1,r=1,p=1$" SALT "$" ZEROS64 "A", /* 65 bytes */
    /* bad base64: another alphabet, characters outside any, a lone char */
    "$scrypt$ln=1,r=1,p=1$c2FsdHNhbHRzYWx0c2Fsd-$" HASH,
    "$scrypt$ln=1,r=1,p=1$" SALT "$CHITEca2aLVRCqFhONBkxrliBbW8VILb3zvW9upUL_k",
    "$scrypt$ln=1,r=1,p=1$c2FsdHNhbHRz.Wx0c2FsdA$" HASH,
    "$scrypt$ln=1,r=1,p=1$" SALT "$CHITEca2aLVRCqFhONBkxrliBbW8 VILb3zvW9upULyk",
    "$scrypt$ln=1,r=1,p=1$" SALT "$" HASH "AA", /* 4n+1 characters */
    "$scrypt$ln=1,r=1,p=1$" SALT "$" HASH "\n",
    "$scrypt$ln=1,r=1,p=1$" SALT "$" HASH "$",
    "$scrypt$ln=1,r=1,p=1$" SALT "$" HASH "$" HASH,
    /* non-canonical trailing bits */
    "$scrypt$ln=1,r=1,p=1$c2FsdHNhbHRzYWx0c2FsdB$" HASH,
    "$scrypt$ln=1,r=1,p=1$" SALT "$CHITEca2aLVRCqFhONBkxrliBbW8VILb3zvW9upULyl",
    /* padded base64 */
    "$scrypt$ln=1,r=1,p=1$" SALT "==$" HASH,
    "$scrypt$ln=1,r=1,p=1$" SALT "$" HASH "=",
    "$scrypt$ln=1,r=1,p=1$" SALT "=$" HASH,
    /* costs out of range or not plain decimals */
    "$scrypt$ln=0,r=1,p=1$" SALT "$" HASH,
    "$scrypt$ln=21,r=8,p=1$" SALT "$" HASH,
    "$scrypt$ln=1,r=0,p=1$" SALT "$" HASH,
    "$scrypt$ln=1,r=33,p=1$" SALT "$" HASH,
    "$scrypt$ln=1,r=1,p=0$" SALT "$" HASH,
    "$scrypt$ln=1,r=1,p=17$" SALT "$" HASH,
    "$scrypt$ln=16,r=1,p=1$" SALT "$" HASH,
    "$scrypt$ln=18,r=8,p=1$" SALT "$" HASH,
    "$scrypt$ln=20,r=32,p=16$" SALT "$" HASH,
    "$scrypt$ln=01,r=1,p=1$" SALT "$" HASH,
    "$scrypt$ln=-1,r=1,p=1$" SALT "$" HASH,
    "$scrypt$ln=+1,r=1,p=1$" SALT "$" HASH,
    "$scrypt$ln=4294967297,r=1,p=1$" SALT "$" HASH,
    "$scrypt$ln=1 ,r=1,p=1$" SALT "$" HASH,
    "$scrypt$ln=1,r=1,p=0x1$" SALT "$" HASH,
    /* parameters out of order, repeated, unknown, or spelled otherwise */
    "$scrypt$r=1,ln=1,p=1$" SALT "$" HASH,
    "$scrypt$ln=1,p=1,r=1$" SALT "$" HASH,
    "$scrypt$p=1,r=1,ln=1$" SALT "$" HASH,
    "$scrypt$ln=1,ln=1,r=1,p=1$" SALT "$" HASH,
    "$scrypt$ln=1,r=1,p=1,v=1$" SALT "$" HASH,
    "$scrypt$LN=1,r=1,p=1$" SALT "$" HASH,
    "$scrypt$ln=1;r=1;p=1$" SALT "$" HASH,
    "$scrypt$n=2,r=1,p=1$" SALT "$" HASH,
};

START_TEST(malformed_refused) {
  ck_assert_msg(ohets_caqh_phc_parse_ok(malformed[_i]) == -EINVAL, "accepted \"%s\"",
                malformed[_i]);
  ck_assert_int_eq(ohets_caqh_phc_verify(malformed[_i], "password", 8), -EINVAL);
}
END_TEST

/* Every cut of a good string is refused up to where the hash holds 16
 * bytes (a longer cut is a shorter hash, which the format allows). */
START_TEST(truncated_refused) {
  static const char good[] = GOOD;
  size_t hash_at = strlen(good) - strlen(HASH);
  char cut[sizeof good];
  for (size_t n = 0; n <= hash_at + 21; n++) {
    memcpy(cut, good, n);
    cut[n] = '\0';
    ck_assert_msg(ohets_caqh_phc_parse_ok(cut) == -EINVAL, "accepted \"%s\"", cut);
  }
  ck_assert_int_eq(ohets_caqh_phc_parse_ok(good), 0);
  ck_assert_int_eq(ohets_caqh_phc_parse_ok(NULL), -EINVAL);
  ck_assert_int_eq(ohets_caqh_phc_verify(NULL, "password", 8), -EINVAL);
}
END_TEST

/* The limits themselves are accepted (parse only: no 128 MiB derivation). */
START_TEST(limits_accepted) {
  static const char *const ok[] = {
      "$scrypt$ln=15,r=1,p=1$" SALT "$" HASH,
      "$scrypt$ln=17,r=8,p=16$" SALT "$" HASH, /* 128 MiB */
      "$scrypt$ln=19,r=2,p=16$" SALT "$" HASH,
      "$scrypt$ln=1,r=32,p=16$" SALT "$" HASH,
      "$scrypt$ln=1,r=1,p=1$AAAAAAAAAAA$" HASH, /* 8-byte salt */
      "$scrypt$ln=1,r=1,p=1$" ZEROS64 "$" ZEROS64, /* 64 bytes each */
  };
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
    ck_assert_msg(ohets_caqh_phc_parse_ok(ok[i]) == 0, "refused \"%s\"", ok[i]);
}
END_TEST

static Suite *phc_suite(void) {
  Suite *s = suite_create("phc");
  TCase *tc = tcase_create("phc");
  tcase_set_timeout(tc, 60);
  tcase_add_loop_test(tc, hash_matches_known_answers, 0, (int)(sizeof known / sizeof known[0]));
  tcase_add_loop_test(tc, verify_known_answers, 0, (int)(sizeof known / sizeof known[0]));
  tcase_add_test(tc, verify_other_hash_lengths);
  tcase_add_test(tc, round_trip);
  tcase_add_test(tc, hash_refuses_bad_arguments);
  tcase_add_loop_test(tc, malformed_refused, 0, (int)(sizeof malformed / sizeof malformed[0]));
  tcase_add_test(tc, truncated_refused);
  tcase_add_test(tc, limits_accepted);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(phc_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
