/* Identifier checks: MBI shape, NPI check digit, name comparison. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "openhets/openhets.h"

/* ------------------------------------------------------------------ */
/* MBI                                                                  */

static const struct {
  const char *mbi;
  int valid;
  const char *why;
} mbis[] = {
    {"1EG4TE5MK73", 1, "DESIGN example"},
    {"9AA0AA0AA00", 1, "letters at 3 and 6"},
    {"1A00A00AA00", 1, "digits at 3 and 6"},
    {"5YY9YY9YY99", 1, "Y is allowed"},
    {"1EG4TE5MK7", 0, "10 characters"},
    {"1EG4TE5MK733", 0, "12 characters"},
    {"", 0, "empty"},
    {"0EG4TE5MK73", 0, "position 1 zero"},
    {"AEG4TE5MK73", 0, "position 1 letter"},
    {"1SG4TE5MK73", 0, "S at 2"},
    {"1LG4TE5MK73", 0, "L at 2"},
    {"1OG4TE5MK73", 0, "O at 2"},
    {"1IG4TE5MK73", 0, "I at 2"},
    {"1BG4TE5MK73", 0, "B at 2"},
    {"1ZG4TE5MK73", 0, "Z at 2"},
    {"1eg4te5mk73", 0, "lower case"},
    {"1E94TE5MK73", 1, "digit at 3"},
    {"12G4TE5MK73", 0, "digit at 2"},
    {"1ES4TE5MK73", 0, "S at 3"},
    {"1EGATE5MK73", 0, "letter at 4"},
    {"1EG45E5MK73", 0, "digit at 5"},
    {"1EG4TO5MK73", 0, "O at 6"},
    {"1EG4TEAMK73", 0, "letter at 7"},
    {"1EG4TE59K73", 0, "digit at 8"},
    {"1EG4TE5M973", 0, "digit at 9"},
    {"1EG4TE5MKA3", 0, "letter at 10"},
    {"1EG4TE5MK7A", 0, "letter at 11"},
    {"1EG4-TE5-MK", 0, "hyphens"},
    {"1EG4TE5MK7 ", 0, "trailing blank"},
};

START_TEST(test_mbi_table) {
  const char *m = mbis[_i].mbi;
  ck_assert_msg(ohets_mbi_valid(m, strlen(m)) == mbis[_i].valid, "%s: %s",
                mbis[_i].why, m);
}
END_TEST

/* Every byte at every position, against the classes of DESIGN §5. */
static const char mbi_letters[] = "ACDEFGHJKMNPQRTUVWXY";

static int in_class(char cls, int c) {
  int digit = c >= '0' && c <= '9';
  int letter = c != 0 && strchr(mbi_letters, c) != NULL;
  switch (cls) {
  case 'N': return digit && c != '0';
  case 'D': return digit;
  case 'A': return letter;
  default: return letter || digit;
  }
}

START_TEST(test_mbi_every_byte_every_position) {
  static const char classes[] = "NAXDAXDAADD";
  static const char base[] = "1EG4TE5MK73";
  int pos = _i;
  for (int c = 0; c < 256; c++) {
    char m[12];
    memcpy(m, base, sizeof m);
    m[pos] = (char)c;
    ck_assert_msg(ohets_mbi_valid(m, 11) == in_class(classes[pos], c),
                  "position %d byte 0x%02x", pos + 1, c);
  }
}
END_TEST

START_TEST(test_mbi_length_is_what_counts) {
  /* The length given rules, not a NUL. */
  ck_assert_int_eq(ohets_mbi_valid("1EG4TE5MK73XYZ", 11), 1);
  ck_assert_int_eq(ohets_mbi_valid("1EG4TE5MK73", 10), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* NPI                                                                  */

static const struct {
  const char *npi;
  int valid;
} npis[] = {
    {"1234567893", 1}, {"1234567890", 0}, {"1000000004", 1}, {"9999999995", 1},
    {"1987654328", 1}, {"1029384751", 1}, {"1029384752", 0}, {"1987654323", 0},
    {"2234567893", 0}, /* one digit changed: check digit no longer fits */
    {"1243567893", 0}, /* two digits swapped */
    {"123456789", 0},  {"12345678930", 0}, {"123456789X", 0}, {"12345 7893", 0},
    {"", 0},
};

START_TEST(test_npi_table) {
  const char *n = npis[_i].npi;
  ck_assert_msg(ohets_npi_valid(n, strlen(n)) == npis[_i].valid, "%s", n);
}
END_TEST

START_TEST(test_npi_one_check_digit) {
  /* Exactly one of the ten possible last digits is right. */
  char npi[] = "123456789_";
  int good = 0;
  for (char c = '0'; c <= '9'; c++) {
    npi[9] = c;
    good += ohets_npi_valid(npi, 10);
  }
  ck_assert_int_eq(good, 1);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Names                                                                */

static const struct {
  const char *a, *b;
  int equal;
} names[] = {
    {"O'Brien", "OBRIEN", 1},
    {"Smith-Jones", "smith jones", 1},
    {"St. John", "ST JOHN", 1},
    {"DOE", "doe", 1},
    {"Mc Donald", "MCDONALD", 1},
    {"  DOE  ", "DOE", 1},
    {"D.O.E.", "DOE", 1},
    {"", "", 1},
    {"DOE", "DOES", 0},
    {"DOES", "DOE", 0},
    {"SMITH", "SMYTH", 0},
    {"JANE", "JOHN", 0},
    {"DOE", "", 0},
    {"", "DOE", 0},
    {"O'BRIEN", "O BRYAN", 0},
    {"DOE1", "DOE", 0},
    {"DOE_", "DOE", 0}, /* only blank, - ' and . are ignored */
    {"DOE,", "DOE", 0},
};

START_TEST(test_names) {
  const char *a = names[_i].a, *b = names[_i].b;
  ck_assert_msg(ohets_name_equal(a, strlen(a), b, strlen(b)) == names[_i].equal,
                "'%s' vs '%s'", a, b);
  /* Symmetric. */
  ck_assert_int_eq(ohets_name_equal(b, strlen(b), a, strlen(a)), names[_i].equal);
}
END_TEST

START_TEST(test_names_use_lengths) {
  ck_assert_int_eq(ohets_name_equal("DOEXYZ", 3, "doe", 3), 1);
  ck_assert_int_eq(ohets_name_equal("DOE", 2, "DOE", 3), 0);
}
END_TEST

static Suite *ids_suite(void) {
  Suite *s = suite_create("ids");
  TCase *t = tcase_create("mbi");
  tcase_add_loop_test(t, test_mbi_table, 0, (int)(sizeof mbis / sizeof mbis[0]));
  tcase_add_loop_test(t, test_mbi_every_byte_every_position, 0, 11);
  tcase_add_test(t, test_mbi_length_is_what_counts);
  suite_add_tcase(s, t);
  t = tcase_create("npi");
  tcase_add_loop_test(t, test_npi_table, 0, (int)(sizeof npis / sizeof npis[0]));
  tcase_add_test(t, test_npi_one_check_digit);
  suite_add_tcase(s, t);
  t = tcase_create("names");
  tcase_add_loop_test(t, test_names, 0, (int)(sizeof names / sizeof names[0]));
  tcase_add_test(t, test_names_use_lengths);
  suite_add_tcase(s, t);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(ids_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
