/* TA1 answer: an interchange from CMS to the submitter holding only
 * TA1*<ISA13>*<ISA09>*<ISA10>*R*<code>.  The request's envelope is what
 * was wrong, so every value taken from it is checked again here and
 * replaced when unusable: the answer itself must always validate. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "req270.h"

static const ohets__delims default_delims = {'*', '^', ':', '~'};

/* The request's delimiters can be mirrored only when they form a valid
 * set: present, not data characters, all different. */
static int delims_usable(const ohets__delims *d) {
  const char c[4] = {d->element, d->repetition, d->component, d->segment};
  for (int i = 0; i < 4; i++) {
    if (c[i] == '\0' || ohets__is_alnum_or_blank(c[i]))
      return 0;
    for (int k = i + 1; k < 4; k++)
      if (c[i] == c[k])
        return 0;
  }
  return 1;
}

static int yymmdd_valid(const char *p) { return strlen(p) == 6 && ohets__yymmdd_ok(p); }

static int hhmm_valid(const char *p) { return strlen(p) == 4 && ohets__hhmm_ok(p); }

static int qualifier_valid(const char *q) {
  static const char *const ok[] = {"01", "14", "20", "27", "28",
                                   "29", "30", "33", "ZZ"};
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
    if (strcmp(q, ok[i]) == 0)
      return 1;
  return 0;
}

/* The envelope fields the ISA writer reverses, made safe to write: bad
 * qualifiers become ZZ, and bytes of the sender ID that are not printable
 * or are a delimiter of the answer become blanks (the ISA is written by
 * position, so nothing else would stop them breaking it). */
static void answer_env(const ohets__env *req, const ohets__delims *d,
                       ohets__env *out) {
  *out = *req;
  out->d = *d;
  /* Bounded strings whatever the caller left in them. */
  out->isa09[sizeof out->isa09 - 1] = '\0';
  out->isa10[sizeof out->isa10 - 1] = '\0';
  out->isa13[sizeof out->isa13 - 1] = '\0';
  out->isa05[sizeof out->isa05 - 1] = '\0';
  out->isa07[sizeof out->isa07 - 1] = '\0';
  if (!qualifier_valid(out->isa05))
    snprintf(out->isa05, sizeof out->isa05, "ZZ");
  if (!qualifier_valid(out->isa07))
    snprintf(out->isa07, sizeof out->isa07, "ZZ");
  out->isa06[sizeof out->isa06 - 1] = '\0';
  size_t n = strlen(out->isa06);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)out->isa06[i];
    if (c < 0x20 || c > 0x7e || c == (unsigned char)d->element ||
        c == (unsigned char)d->repetition || c == (unsigned char)d->component ||
        c == (unsigned char)d->segment)
      out->isa06[i] = ' ';
  }
  while (n > 0 && out->isa06[n - 1] == ' ')
    out->isa06[--n] = '\0';
}

int ohets__write_ta1(ohets_buf *out, const ohets__env *env, const char *code,
                     const ohets_request_ctx *ctx) {
  if (code == NULL || strlen(code) != 3 || !ohets__all_digits(code, 3))
    return -EINVAL;
  ohets__delims d = delims_usable(&env->d) ? env->d : default_delims;
  ohets__env safe;
  answer_env(env, &d, &safe);

  char control[10], date[7], time[5];
  if (strlen(safe.isa13) == 9 && ohets__all_digits(safe.isa13, 9))
    snprintf(control, sizeof control, "%s", safe.isa13);
  else
    snprintf(control, sizeof control, "000000000");
  if (yymmdd_valid(safe.isa09))
    snprintf(date, sizeof date, "%s", safe.isa09);
  else
    snprintf(date, sizeof date, "%02u%02u%02u",
             (unsigned)((ctx->now.date.year % 100 + 100) % 100),
             ctx->now.date.month % 100u, ctx->now.date.day % 100u);
  if (hhmm_valid(safe.isa10))
    snprintf(time, sizeof time, "%s", safe.isa10);
  else
    snprintf(time, sizeof time, "%02u%02u", ctx->now.hour % 100u,
             ctx->now.minute % 100u);

  ohets__w w;
  ohets__w_init(&w, out, d);
  ohets__w_isa(&w, &safe, ctx, 0);
  ohets__w_seg(&w, "TA1", control, date, time, "R", code, NULL);
  ohets__w_iea(&w, 0, ctx);
  return w.err;
}
