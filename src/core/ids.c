/* Identifier checks: MBI shape, NPI check digit, name comparison. */
#include "openhets/openhets.h"

#define MBI_LEN 11
#define NPI_LEN 10

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* MBI letters: upper-case A-Z without S, L, O, I, B and Z, which CMS
 * leaves out because they are easily mistaken for digits. */
static int is_mbi_letter(char c) {
  return c >= 'A' && c <= 'Z' && c != 'S' && c != 'L' && c != 'O' &&
         c != 'I' && c != 'B' && c != 'Z';
}

int ohets_mbi_valid(const char *s, size_t n) {
  /* What each position may hold, 'N' digit 1-9, 'D' digit, 'A' letter,
   * 'X' letter or digit (DESIGN §5). */
  static const char shape[MBI_LEN + 1] = "NAXDAXDAADD";
  if (s == NULL || n != MBI_LEN)
    return 0;
  for (size_t i = 0; i < MBI_LEN; i++) {
    char c = s[i];
    int ok;
    switch (shape[i]) {
    case 'N':
      ok = c >= '1' && c <= '9';
      break;
    case 'D':
      ok = is_digit(c);
      break;
    case 'A':
      ok = is_mbi_letter(c);
      break;
    default:
      ok = is_mbi_letter(c) || is_digit(c);
      break;
    }
    if (!ok)
      return 0;
  }
  return 1;
}

int ohets_npi_valid(const char *s, size_t n) {
  if (s == NULL || n != NPI_LEN)
    return 0;
  for (size_t i = 0; i < NPI_LEN; i++)
    if (!is_digit(s[i]))
      return 0;
  /* Luhn over the 15 digits "80840" + NPI: from the right, the check digit
   * counts as is, then every other digit is doubled. */
  static const char prefix[] = "80840";
  int sum = 0;
  for (size_t from_right = 0; from_right < 15; from_right++) {
    size_t pos = 14 - from_right; /* index into prefix + NPI */
    int digit = pos < 5 ? prefix[pos] - '0' : s[pos - 5] - '0';
    if (from_right % 2 == 1) {
      digit *= 2;
      if (digit > 9)
        digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 == 0;
}

static int name_ignored(char c) {
  return c == ' ' || c == '-' || c == '\'' || c == '.';
}

static char ascii_upper(char c) {
  return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

int ohets_name_equal(const char *a, size_t an, const char *b, size_t bn) {
  size_t i = 0, k = 0;
  for (;;) {
    while (i < an && name_ignored(a[i]))
      i++;
    while (k < bn && name_ignored(b[k]))
      k++;
    if (i == an || k == bn)
      return i == an && k == bn;
    if (ascii_upper(a[i]) != ascii_upper(b[k]))
      return 0;
    i++;
    k++;
  }
}
