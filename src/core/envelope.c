/* Interchange envelope checks (ISA / IEA) -> the TA105 code of a TA1.
 *
 * The reader has already found a 106-byte ISA whose element separators sit
 * at their fixed positions, so every ISA field is read straight from its
 * byte offset, even when a stray segment terminator split the ISA segment.
 *
 * The table below is the only place the TA105 codes live.  Checks run in
 * this order; the first failure wins:
 *
 *   code  check
 *   010   ISA01 authorization qualifier is 00 or 03
 *   011   ISA02 is blank when ISA01 = 00
 *   012   ISA03 security qualifier is 00 or 01
 *   013   ISA04 is blank when ISA03 = 00
 *   005   ISA05 sender qualifier in 01 14 20 27 28 29 30 33 ZZ
 *   006   ISA06 sender ID not all blanks, printable, no delimiter inside
 *   007   ISA07 receiver qualifier, same list as ISA05
 *   008   ISA08 receiver ID (trimmed) is CMS
 *   014   ISA09 is a real calendar date YYMMDD (century 20)
 *   015   ISA10 is HHMM, 00-23 / 00-59
 *   017   ISA12 is 00501 (before ISA11: a 4010 ISA carries U there)
 *   024   ISA11 repetition separator: not a letter, digit or blank, and
 *         not equal to another delimiter
 *   027   ISA16 component separator: not a letter, digit or blank, and
 *         not equal to another delimiter
 *   026   element separator a letter, digit or blank (the reader already
 *         refuses these; kept so the rule holds for any caller)
 *   004   segment terminator a letter, digit or blank
 *   018   ISA13 is exactly 9 digits
 *   019   ISA14 is 0 or 1
 *   020   ISA15 is P or T
 *   024   the ISA segment has its 17 fixed-width elements (a segment
 *         terminator inside a field splits it)
 *   024   the segment after the ISA is a GS
 *   022   a second ISA before the IEA, any segment after the IEA, or bytes
 *         after the IEA that end in no terminator
 *   023   no IEA (truncated interchange)
 *   001   IEA02 differs from ISA13
 *   021   IEA01 differs from the number of GS segments
 *
 * GS/GE and ST/SE problems belong to the 270 validator (999), not here.
 */
#include <errno.h>
#include <string.h>

#include "req270.h"

/* Byte offset and width of ISA01..ISA16 in the 106-byte ISA. */
static const struct {
  unsigned char off, width;
} isa_field[17] = {
    {0, 0},   {4, 2},  {7, 10},  {18, 2},  {21, 10}, {32, 2},
    {35, 15}, {51, 2}, {54, 15}, {70, 6},  {77, 4},  {82, 1},
    {84, 5},  {90, 9}, {100, 1}, {102, 1}, {104, 1},
};

#define ISA_ELEMENTS 17 /* ISA plus its 16 fields */

static const char *isa_at(const ohets__x12 *x, unsigned field) {
  return x->data + isa_field[field].off;
}

static int field_is(const ohets__x12 *x, unsigned field, const char *v) {
  return strlen(v) == isa_field[field].width &&
         memcmp(isa_at(x, field), v, isa_field[field].width) == 0;
}

static int all_blank(const char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != ' ')
      return 0;
  return 1;
}

/* Copies field into dst, dropping trailing blanks. */
static void copy_trimmed(const ohets__x12 *x, unsigned field, char *dst,
                         size_t dstsz) {
  size_t n = isa_field[field].width;
  const char *p = isa_at(x, field);
  while (n > 0 && p[n - 1] == ' ')
    n--;
  if (n > dstsz - 1)
    n = dstsz - 1;
  memcpy(dst, p, n);
  dst[n] = '\0';
}

static int qualifier_ok(const ohets__x12 *x, unsigned field) {
  static const char *const ok[] = {"01", "14", "20", "27", "28",
                                   "29", "30", "33", "ZZ"};
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
    if (field_is(x, field, ok[i]))
      return 1;
  return 0;
}

/* A byte that acts as one of the interchange's delimiters.  A delimiter that
 * is itself a letter, digit or blank is reported by its own check, so it
 * does not make a data field look bad first. */
static int is_delimiter(const ohets__delims *d, char c) {
  if (ohets__is_alnum_or_blank(c))
    return 0;
  return c == d->element || c == d->segment || c == d->repetition ||
         c == d->component;
}

static int sender_ok(const ohets__x12 *x) {
  const char *p = isa_at(x, 6);
  size_t n = isa_field[6].width;
  if (all_blank(p, n))
    return 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)p[i];
    if (c < 0x20 || c > 0x7e || is_delimiter(&x->d, p[i]))
      return 0;
  }
  return 1;
}

static void fill_env(const ohets__x12 *x, ohets__env *env) {
  memset(env, 0, sizeof *env);
  env->d = x->d;
  copy_trimmed(x, 5, env->isa05, sizeof env->isa05);
  copy_trimmed(x, 6, env->isa06, sizeof env->isa06);
  copy_trimmed(x, 7, env->isa07, sizeof env->isa07);
  copy_trimmed(x, 8, env->isa08, sizeof env->isa08);
  memcpy(env->isa09, isa_at(x, 9), 6);
  memcpy(env->isa10, isa_at(x, 10), 4);
  memcpy(env->isa13, isa_at(x, 13), 9);
  env->isa14 = *isa_at(x, 14);
  env->isa15 = *isa_at(x, 15);
  for (size_t i = 1; i < x->nsegs; i++) {
    const ohets__seg *s = &x->segs[i];
    if (ohets__seg_is(x, s, "GS")) {
      ohets__el_copy(x, s, 2, env->gs02, sizeof env->gs02);
      ohets__el_copy(x, s, 3, env->gs03, sizeof env->gs03);
      ohets__el_copy(x, s, 6, env->gs06, sizeof env->gs06);
      break;
    }
  }
}

static const char *check_isa_fields(const ohets__x12 *x) {
  const ohets__delims *d = &x->d;
  int auth_none = field_is(x, 1, "00");
  if (!auth_none && !field_is(x, 1, "03"))
    return "010";
  if (auth_none && !all_blank(isa_at(x, 2), isa_field[2].width))
    return "011";
  int security_none = field_is(x, 3, "00");
  if (!security_none && !field_is(x, 3, "01"))
    return "012";
  if (security_none && !all_blank(isa_at(x, 4), isa_field[4].width))
    return "013";
  if (!qualifier_ok(x, 5))
    return "005";
  if (!sender_ok(x))
    return "006";
  if (!qualifier_ok(x, 7))
    return "007";
  if (memcmp(isa_at(x, 8), "CMS            ", isa_field[8].width) != 0)
    return "008";
  if (!ohets__yymmdd_ok(isa_at(x, 9)))
    return "014";
  if (!ohets__hhmm_ok(isa_at(x, 10)))
    return "015";
  if (!field_is(x, 12, "00501"))
    return "017";
  /* ISA16 equal to ISA11 is the component separator's fault (027): the
   * repetition separator is judged only against the other two. */
  if (ohets__is_alnum_or_blank(d->component) || d->component == d->element ||
      d->component == d->segment || d->component == d->repetition)
    return "027";
  if (ohets__is_alnum_or_blank(d->repetition) || d->repetition == d->element ||
      d->repetition == d->segment)
    return "024";
  if (ohets__is_alnum_or_blank(d->element) || d->element == d->segment)
    return "026";
  if (ohets__is_alnum_or_blank(d->segment))
    return "004";
  if (!ohets__all_digits(isa_at(x, 13), isa_field[13].width))
    return "018";
  char ack = *isa_at(x, 14);
  if (ack != '0' && ack != '1')
    return "019";
  char usage = *isa_at(x, 15);
  if (usage != 'P' && usage != 'T')
    return "020";
  return NULL;
}

/* IEA01 as a number, or -1 when it is not 1 to 5 digits. */
static long group_count(const ohets__x12 *x, const ohets__seg *iea) {
  size_t n;
  const char *p = ohets__el(x, iea, 1, &n);
  if (n > 5 || !ohets__all_digits(p, n))
    return -1;
  long v = 0;
  for (size_t i = 0; i < n; i++)
    v = v * 10 + (p[i] - '0');
  return v;
}

static const char *check_structure(const ohets__x12 *x) {
  if (x->nsegs == 0)
    return "024";
  const ohets__seg *isa = &x->segs[0];
  if (isa->nelem != ISA_ELEMENTS)
    return "024";
  if (x->nsegs >= 2 && !ohets__seg_is(x, &x->segs[1], "GS"))
    return "024";
  const ohets__seg *iea = NULL;
  long groups = 0;
  for (size_t i = 1; i < x->nsegs; i++) {
    const ohets__seg *s = &x->segs[i];
    if (iea != NULL || ohets__seg_is(x, s, "ISA"))
      return "022";
    if (ohets__seg_is(x, s, "GS"))
      groups++;
    else if (ohets__seg_is(x, s, "IEA"))
      iea = s;
  }
  if (iea == NULL)
    return "023";
  if (x->unterminated)
    return "022";
  size_t n;
  const char *ctl = ohets__el(x, iea, 2, &n);
  if (n != isa_field[13].width || memcmp(ctl, isa_at(x, 13), n) != 0)
    return "001";
  if (group_count(x, iea) != groups)
    return "021";
  return NULL;
}

const char *ohets__envelope_check(const ohets__x12 *x, ohets__env *env) {
  fill_env(x, env);
  const char *code = check_isa_fields(x);
  if (code == NULL)
    code = check_structure(x);
  return code;
}

int ohets_isa_peek(const uint8_t *p, size_t n, ohets_isa_ids *out) {
  const char *isa = (const char *)p;
  out->sender[0] = out->control[0] = '\0';
  /* Only what locates ISA06 and ISA13 is checked here: the core judges the
   * whole ISA when it runs, and this runs for every request. */
  if (n < OHETS__ISA_LEN || memcmp(isa, "ISA", 3) != 0)
    return -EINVAL;
  char el = isa[3];
  unsigned s6 = isa_field[6].off, s13 = isa_field[13].off;
  if (isa[s6 - 1] != el || isa[s6 + isa_field[6].width] != el)
    return -EINVAL;
  size_t len = isa_field[6].width;
  const char *sender = isa + s6;
  while (len > 0 && sender[len - 1] == ' ')
    len--;
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)sender[i] < 0x21 || (unsigned char)sender[i] > 0x7e || sender[i] == el)
      return -EINVAL;
  memcpy(out->sender, sender, len);
  out->sender[len] = '\0';
  if (isa[s13 - 1] == el && isa[s13 + isa_field[13].width] == el &&
      ohets__all_digits(isa + s13, isa_field[13].width)) {
    memcpy(out->control, isa + s13, isa_field[13].width);
    out->control[isa_field[13].width] = '\0';
  }
  return 0;
}
