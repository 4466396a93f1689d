/* Calendar dates: parsing, validity, comparison, month arithmetic. */
#include <errno.h>

#include "openhets/openhets.h"

static int is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int days_in_month(int y, int m) {
  static const unsigned char days[12] = {31, 28, 31, 30, 31, 30,
                                         31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

int ohets_date_valid(ohets_date d) {
  return d.year >= 1800 && d.year <= 9999 && d.month >= 1 && d.month <= 12 &&
         d.day >= 1 && d.day <= days_in_month(d.year, d.month);
}

static int digits(const char *s, size_t n, int *out) {
  int v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -EINVAL;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return 0;
}

static int make_date(int y, int m, int d, ohets_date *out) {
  ohets_date t = {(int16_t)y, (uint8_t)m, (uint8_t)d};
  if (m < 1 || m > 12 || d < 1 || d > 31 || !ohets_date_valid(t))
    return -EINVAL;
  *out = t;
  return 0;
}

int ohets_date_parse_d8(const char *s, size_t n, ohets_date *out) {
  int y, m, d;
  if (n != 8 || digits(s, 4, &y) || digits(s + 4, 2, &m) || digits(s + 6, 2, &d))
    return -EINVAL;
  return make_date(y, m, d, out);
}

int ohets_date_parse_iso(const char *s, size_t n, ohets_date *out) {
  int y, m, d;
  if (n != 10 || s[4] != '-' || s[7] != '-' || digits(s, 4, &y) ||
      digits(s + 5, 2, &m) || digits(s + 8, 2, &d))
    return -EINVAL;
  return make_date(y, m, d, out);
}

int ohets_date_cmp(ohets_date a, ohets_date b) {
  long ka = (long)a.year * 10000 + a.month * 100 + a.day;
  long kb = (long)b.year * 10000 + b.month * 100 + b.day;
  return ka < kb ? -1 : ka > kb;
}

ohets_date ohets_date_add_months(ohets_date d, int months) {
  long idx = (long)d.year * 12 + (d.month - 1) + months;
  /* Floor division: C's / and % round toward zero, which would give month
   * 0 (and read before the day table) for a negative index. */
  long yl = idx >= 0 ? idx / 12 : -((-idx + 11) / 12);
  int y = (int)yl, m = (int)(idx - yl * 12) + 1;
  int dim = days_in_month(y, m);
  ohets_date r = {(int16_t)y, (uint8_t)m, (uint8_t)(d.day > dim ? dim : d.day)};
  return r;
}
