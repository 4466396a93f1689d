/* Private: the X12 reader and writer shared by the core's modules. */
#ifndef OHETS_CORE_X12_H
#define OHETS_CORE_X12_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "openhets/openhets.h"

#define OHETS__ISA_LEN 106 /* ISA segment including its terminator */
#define OHETS__MAX_SEGS 65536
#define OHETS__MAX_ELEMS 524288

typedef struct ohets__delims {
  char element;    /* ISA byte 3 */
  char repetition; /* ISA11 */
  char component;  /* ISA16 */
  char segment;    /* ISA byte 105 */
} ohets__delims;

typedef struct ohets__span {
  uint32_t off; /* offset into ohets__x12.data */
  uint32_t len;
} ohets__span;

typedef struct ohets__seg {
  uint32_t off;        /* first byte of the segment ID */
  uint32_t len;        /* bytes up to, not including, the terminator */
  uint32_t first_elem; /* index into ohets__x12.elems of element 0 (the ID) */
  uint32_t nelem;      /* elements including the ID at index 0 */
  uint32_t ordinal;    /* 1-based position in the interchange (ISA = 1) */
} ohets__seg;

/* One interchange split into segments and elements.  Views only: the
 * bytes stay in the caller's request buffer. */
typedef struct ohets__x12 {
  const char *data;
  size_t len;
  ohets__delims d;
  ohets__seg *segs;
  size_t nsegs;
  ohets__span *elems;
  size_t nelems;
  int unterminated; /* 1: the bytes ended inside a segment (no terminator) */
  size_t trailing;  /* bytes after the last terminator that were not a segment */
} ohets__x12;

/* Reads the delimiters from a 106-byte ISA at the very start of p.
 * 0, or -EINVAL when there is no readable ISA (HTS00004). */
int ohets__isa_delims(const char *p, size_t n, ohets__delims *d);

/* Small checks shared by the envelope, TA1 and 270 validation. */
int ohets__all_digits(const char *p, size_t n); /* n > 0, all '0'..'9' */
int ohets__is_alnum_or_blank(char c); /* can't be a delimiter */
int ohets__yymmdd_ok(const char *p);  /* 6 digits, a real date (ISA09) */
int ohets__hhmm_ok(const char *p);    /* 4 digits, 00:00..23:59 (ISA10) */

/* Splits p into segments and elements.  Needs a readable ISA first.
 * CR and LF right after a segment terminator are skipped.  0, -EINVAL (no
 * ISA), -E2BIG (more than OHETS__MAX_SEGS / OHETS__MAX_ELEMS), -ENOMEM. */
int ohets__x12_parse(ohets__x12 *x, const char *p, size_t n);
void ohets__x12_free(ohets__x12 *x);

/* Element i of segment s (0 = the segment ID); an absent element reads as
 * empty.  Returns its bytes (not NUL-terminated) and sets *len. */
static inline const char *ohets__el(const ohets__x12 *x, const ohets__seg *s,
                                    unsigned i, size_t *len) {
  if (i >= s->nelem) {
    *len = 0;
    return x->data + s->off + s->len;
  }
  const ohets__span *e = &x->elems[s->first_elem + i];
  *len = e->len;
  return x->data + e->off;
}

/* 1 when segment s has the ID id. */
static inline int ohets__seg_is(const ohets__x12 *x, const ohets__seg *s,
                                const char *id) {
  size_t n;
  const char *p = ohets__el(x, s, 0, &n);
  return n == strlen(id) && memcmp(p, id, n) == 0;
}

/* 1 when element i of s equals the string v exactly. */
int ohets__el_eq(const ohets__x12 *x, const ohets__seg *s, unsigned i,
                 const char *v);
/* Copies element i into dst (size dstsz), truncating; returns its length. */
size_t ohets__el_copy(const ohets__x12 *x, const ohets__seg *s, unsigned i,
                      char *dst, size_t dstsz);

/* Sub-field k (0-based) of p[0..n) split on sep; *len set; absent = empty. */
const char *ohets__split(const char *p, size_t n, char sep, unsigned k,
                         size_t *len);
/* Number of sep-separated fields in p[0..n) (1 for an empty string). */
unsigned ohets__count(const char *p, size_t n, char sep);

/* ------------------------------------------------------------------ */
/* Request envelope as read from ISA and GS (filled by the envelope    */
/* check, used by every writer to reverse the envelope).               */

typedef struct ohets__env {
  ohets__delims d;
  char isa05[3];
  char isa06[16]; /* trimmed of trailing blanks */
  char isa07[3];
  char isa08[16]; /* trimmed */
  char isa09[7];
  char isa10[5];
  char isa13[10];
  char isa14; /* '0' or '1' */
  char isa15; /* 'P' or 'T' */
  char gs02[16];
  char gs03[16];
  char gs06[10];
} ohets__env;

/* ------------------------------------------------------------------ */
/* Writer: segments with the request's delimiters.                     */

typedef struct ohets__w {
  ohets_buf *b;
  ohets__delims d;
  unsigned count; /* segments written since the last ohets__w_count_reset */
  int err;        /* first append error, sticky */
  uint8_t stop[256]; /* 1 for NUL and the four delimiters: where a value's
                      * run of plain bytes ends */
} ohets__w;

void ohets__w_init(ohets__w *w, ohets_buf *b, ohets__delims d);
/* Like ohets__w_segv, but the repetition and component separators inside
 * the values are written as they are (composites and repeats the caller
 * built from cleaned pieces); element and segment bytes are still blanked. */
void ohets__w_segv_structured(ohets__w *w, const char *id,
                              const char *const *el, size_t n);
/* Writes one segment: id then the element strings, NULL-terminated list.
 * Trailing empty elements are dropped; delimiter bytes inside values are
 * replaced by blanks so data can never break the structure.  A NULL
 * element pointer ends the list, so use "" for an empty one. */
void ohets__w_seg(ohets__w *w, const char *id, ...);
/* Writes one segment from an array of n elements. */
void ohets__w_segv(ohets__w *w, const char *id, const char *const *el,
                   size_t n);

/* Interchange envelope of an answer, sent from CMS to the submitter:
 * ISA (reversed from the request), then "TA1*...*A*000" when the request
 * asked for one with ISA14 = 1. */
void ohets__w_isa(ohets__w *w, const ohets__env *req,
                  const ohets_request_ctx *ctx, int ack_ta1);
/* GS for functional id (HB, FA) and version, reversed sender/receiver. */
void ohets__w_gs(ohets__w *w, const ohets__env *req,
                 const ohets_request_ctx *ctx, const char *functional_id,
                 const char *version);
void ohets__w_ge(ohets__w *w, unsigned sets, const ohets_request_ctx *ctx);
void ohets__w_iea(ohets__w *w, unsigned groups, const ohets_request_ctx *ctx);

/* Formats d as CCYYMMDD into dst[9]. */
void ohets__d8(ohets_date d, char dst[9]);
/* Numbers are written with the public ohets_dec_write (openhets.h). */
/* Bounded copy: at most size - 1 bytes of src, always NUL-terminated. */
void ohets__copy(char *dst, size_t size, const char *src);

#endif
