/* X12 reader: delimiters from the ISA, then segments and elements as views
 * into the request bytes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "x12.h"

/* Byte offsets of the ISA's element separators in a 106-byte ISA. */
static const unsigned char isa_sep_at[16] = {3,  6,  17, 20, 31, 34, 50, 53,
                                             69, 76, 81, 83, 89, 99, 101, 103};

int ohets__isa_delims(const char *p, size_t n, ohets__delims *d) {
  if (n < OHETS__ISA_LEN || memcmp(p, "ISA", 3) != 0)
    return -EINVAL;
  char el = p[3];
  char seg = p[105];
  char comp = p[104];
  char rep = p[82];
  /* Letters and digits can't be delimiters; the element separator must sit
   * at every fixed position and nowhere inside the fields. */
  if ((el >= '0' && el <= '9') || (el >= 'A' && el <= 'Z') ||
      (el >= 'a' && el <= 'z') || el == ' ')
    return -EINVAL;
  for (size_t i = 0; i < sizeof isa_sep_at; i++)
    if (p[isa_sep_at[i]] != el)
      return -EINVAL;
  /* Between the fixed positions (checked above), no element separator.
   * ISA11 (82) and ISA16 (104) are skipped: each is one byte naming a
   * delimiter, read by position, so one equal to another delimiter is a
   * readable ISA with a bad field (TA1 024 / 027, DESIGN §3.1), not an
   * unreadable one. */
  size_t from = 4;
  for (size_t k = 1; k < sizeof isa_sep_at; k++) {
    if (from != 82 && memchr(p + from, el, isa_sep_at[k] - from) != NULL)
      return -EINVAL;
    from = (size_t)isa_sep_at[k] + 1;
  }
  /* One byte cannot both end segments and split elements: nothing after
   * the ISA could be read. */
  if (seg == el)
    return -EINVAL;
  d->element = el;
  d->repetition = rep;
  d->component = comp;
  d->segment = seg;
  return 0;
}

int ohets__all_digits(const char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i] < '0' || p[i] > '9')
      return 0;
  return n > 0;
}

int ohets__is_alnum_or_blank(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
         (c >= 'a' && c <= 'z') || c == ' ';
}

static int two_digits(const char *p) { return (p[0] - '0') * 10 + (p[1] - '0'); }

int ohets__yymmdd_ok(const char *p) {
  if (!ohets__all_digits(p, 6))
    return 0;
  ohets_date d = {(int16_t)(2000 + two_digits(p)), (uint8_t)two_digits(p + 2),
                  (uint8_t)two_digits(p + 4)};
  return ohets_date_valid(d);
}

int ohets__hhmm_ok(const char *p) {
  return ohets__all_digits(p, 4) && two_digits(p) <= 23 && two_digits(p + 2) <= 59;
}

/* Room for at least one more element; -E2BIG past OHETS__MAX_ELEMS. */
static int grow_elems(ohets__x12 *x, size_t *cap) {
  if (*cap >= OHETS__MAX_ELEMS)
    return -E2BIG;
  size_t want = *cap * 2 < OHETS__MAX_ELEMS ? *cap * 2 : OHETS__MAX_ELEMS;
  ohets__span *e = ohets__realloc(x->elems, want * sizeof *e);
  if (e == NULL)
    return -ENOMEM;
  x->elems = e;
  *cap = want;
  return 0;
}

int ohets__x12_parse(ohets__x12 *x, const char *p, size_t n) {
  memset(x, 0, sizeof *x);
  if (n > UINT32_MAX)
    return -E2BIG;
  int rc = ohets__isa_delims(p, n, &x->d);
  if (rc != 0)
    return rc;
  x->data = p;
  x->len = n;
  const char seg_t = x->d.segment, el_t = x->d.element;
  /* Segments are counted exactly (memchr finds the few terminators
   * quickly); elements start at a generous guess and grow if need be. */
  size_t nseg = 1;
  for (const char *q = p; (q = memchr(q, seg_t, (size_t)(p + n - q))) != NULL; q++)
    nseg++;
  if (nseg > OHETS__MAX_SEGS)
    return -E2BIG;
  /* A first guess of 8 per segment, never more than the bytes allow (n +
   * 1: elements are split by a byte each) so short junk segments cannot
   * ask for much. */
  size_t el_cap = nseg * 8;
  if (el_cap > n + 1)
    el_cap = n + 1;
  if (el_cap > OHETS__MAX_ELEMS)
    el_cap = OHETS__MAX_ELEMS;
  x->segs = ohets__malloc(nseg * sizeof *x->segs);
  x->elems = ohets__malloc(el_cap * sizeof *x->elems);
  if (x->segs == NULL || x->elems == NULL) {
    ohets__x12_free(x);
    return -ENOMEM;
  }
  size_t i = 0;
  while (i < n) {
    while (i < n && (p[i] == '\r' || p[i] == '\n') && p[i] != seg_t)
      i++;
    if (i >= n)
      break;
    size_t start = i;
    const char *term = memchr(p + i, seg_t, n - i);
    if (term == NULL) {
      x->unterminated = 1;
      x->trailing = n - start;
      break;
    }
    i = (size_t)(term - p);
    ohets__seg *s = &x->segs[x->nsegs];
    s->off = (uint32_t)start;
    s->len = (uint32_t)(i - start);
    s->first_elem = (uint32_t)x->nelems;
    s->ordinal = (uint32_t)(x->nsegs + 1);
    /* Elements by a plain loop: a segment is a few dozen bytes, and a
     * memchr call per element cost more than the bytes it skipped. */
    size_t es = start;
    for (size_t j = start;; j++) {
      if (j < i && p[j] != el_t)
        continue;
      if (x->nelems == el_cap && (rc = grow_elems(x, &el_cap)) != 0) {
        ohets__x12_free(x);
        return rc;
      }
      ohets__span *e = &x->elems[x->nelems++];
      e->off = (uint32_t)es;
      e->len = (uint32_t)(j - es);
      if (j == i)
        break;
      es = j + 1;
    }
    s->nelem = (uint32_t)(x->nelems - s->first_elem);
    x->nsegs++;
    i++; /* past the terminator */
  }
  return 0;
}

void ohets__x12_free(ohets__x12 *x) {
  ohets__free(x->segs);
  ohets__free(x->elems);
  x->segs = NULL;
  x->elems = NULL;
  x->nsegs = 0;
  x->nelems = 0;
}

int ohets__el_eq(const ohets__x12 *x, const ohets__seg *s, unsigned i,
                 const char *v) {
  size_t n;
  const char *p = ohets__el(x, s, i, &n);
  return n == strlen(v) && memcmp(p, v, n) == 0;
}

size_t ohets__el_copy(const ohets__x12 *x, const ohets__seg *s, unsigned i,
                      char *dst, size_t dstsz) {
  size_t n;
  const char *p = ohets__el(x, s, i, &n);
  size_t c = n < dstsz - 1 ? n : dstsz - 1;
  memcpy(dst, p, c);
  dst[c] = '\0';
  return n;
}

const char *ohets__split(const char *p, size_t n, char sep, unsigned k,
                         size_t *len) {
  size_t start = 0;
  unsigned field = 0;
  for (size_t i = 0; i <= n; i++) {
    if (i == n || p[i] == sep) {
      if (field == k) {
        *len = i - start;
        return p + start;
      }
      field++;
      start = i + 1;
    }
  }
  *len = 0;
  return p + n;
}

unsigned ohets__count(const char *p, size_t n, char sep) {
  unsigned c = 1;
  for (size_t i = 0; i < n; i++)
    c += p[i] == sep;
  return c;
}
