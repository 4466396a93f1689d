/* X12 writer: segments with the request's delimiters, and the answer's
 * interchange and group envelope (CMS to the submitter). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "x12.h"

void ohets__w_init(ohets__w *w, ohets_buf *b, ohets__delims d) {
  w->b = b;
  w->d = d;
  w->count = 0;
  w->err = 0;
  memset(w->stop, 0, sizeof w->stop);
  w->stop[0] = 1;
  w->stop[(unsigned char)d.element] = 1;
  w->stop[(unsigned char)d.segment] = 1;
  w->stop[(unsigned char)d.repetition] = 1;
  w->stop[(unsigned char)d.component] = 1;
}

/* Writes one segment into [dst, end): the ID as it is, then each value
 * after an element separator with any delimiter byte in it written as a
 * blank, then the terminator.  Returns the end of what it wrote, or NULL
 * when the room ran out first. */
static uint8_t *seg_into(const ohets__w *w, uint8_t *dst, const uint8_t *end,
                         const char *id, const char *const *el, size_t n) {
  const uint8_t *stop = w->stop; /* kept in a register across the stores */
  const uint8_t sep = (uint8_t)w->d.element;
  for (const unsigned char *c = (const unsigned char *)id; *c != '\0'; c++) {
    if (dst == end)
      return NULL;
    *dst++ = *c;
  }
  for (size_t i = 0; i < n; i++) {
    if (dst == end)
      return NULL;
    *dst++ = sep;
    const unsigned char *c = (const unsigned char *)el[i];
    if (c == NULL)
      continue;
    for (;; c++) {
      unsigned char ch = *c;
      if (stop[ch]) { /* stop[0] is set too: one test for both */
        if (ch == '\0')
          break;
        ch = ' ';
      }
      if (dst == end)
        return NULL;
      *dst++ = ch;
    }
  }
  if (dst == end)
    return NULL;
  *dst++ = (uint8_t)w->d.segment;
  return dst;
}

void ohets__w_segv(ohets__w *w, const char *id, const char *const *el,
                   size_t n) {
  while (n > 0 && (el[n - 1] == NULL || el[n - 1][0] == '\0'))
    n--;
  w->count++;
  if (w->err != 0)
    return;
  /* Straight into the buffer's spare room: measuring every value first
   * (strlen) was a third of the writer.  Only when the room runs out is
   * the segment measured, the room reserved, and the segment written
   * again. */
  ohets_buf *b = w->b;
  if (b->data != NULL) {
    uint8_t *dst = seg_into(w, b->data + b->len, b->data + b->cap, id, el, n);
    if (dst != NULL) {
      b->len = (size_t)(dst - b->data);
      return;
    }
  }
  size_t total = strlen(id) + n + 1;
  for (size_t i = 0; i < n; i++)
    if (el[i] != NULL)
      total += strlen(el[i]);
  uint8_t *dst = ohets__buf_extend(b, total, &w->err);
  if (dst != NULL)
    seg_into(w, dst, dst + total, id, el, n); /* fits: total is exact */
}

void ohets__w_seg(ohets__w *w, const char *id, ...) {
  const char *el[64];
  size_t n = 0;
  va_list ap;
  va_start(ap, id);
  for (const char *s = va_arg(ap, const char *); s != NULL && n < 64;
       s = va_arg(ap, const char *))
    el[n++] = s;
  va_end(ap);
  ohets__w_segv(w, id, el, n);
}

void ohets__w_segv_structured(ohets__w *w, const char *id,
                              const char *const *el, size_t n) {
  unsigned char rep = (unsigned char)w->d.repetition;
  unsigned char comp = (unsigned char)w->d.component;
  if (rep != 0)
    w->stop[rep] = 0;
  if (comp != 0)
    w->stop[comp] = 0;
  ohets__w_segv(w, id, el, n);
  if (rep != 0)
    w->stop[rep] = 1;
  if (comp != 0)
    w->stop[comp] = 1;
}

/* Composite and repeated values are written raw by callers that build them
 * with the right separators; this helper pads ISA fields. */
static void pad(char *dst, const char *src, size_t width) {
  size_t n = strlen(src);
  if (n > width)
    n = width;
  memcpy(dst, src, n);
  memset(dst + n, ' ', width - n);
  dst[width] = '\0';
}

size_t ohets_dec_write(char *dst, uint64_t v, unsigned width) {
  char rev[20];
  unsigned n = 0;
  do {
    rev[n++] = (char)('0' + v % 10u);
    v /= 10u;
  } while (v != 0);
  while (n < width && n < sizeof rev)
    rev[n++] = '0';
  for (unsigned i = 0; i < n; i++)
    dst[i] = rev[n - 1 - i];
  dst[n] = '\0';
  return n;
}

void ohets__copy(char *dst, size_t size, const char *src) {
  if (size == 0)
    return;
  size_t n = strnlen(src, size - 1);
  memcpy(dst, src, n);
  dst[n] = '\0';
}

void ohets__d8(ohets_date d, char dst[9]) {
  /* By hand: a 271 writes dozens of dates and snprintf was a tenth of its
   * cost. */
  unsigned y = (unsigned)d.year % 10000u, m = d.month % 100u, dd = d.day % 100u;
  dst[0] = (char)('0' + y / 1000u);
  dst[1] = (char)('0' + y / 100u % 10u);
  dst[2] = (char)('0' + y / 10u % 10u);
  dst[3] = (char)('0' + y % 10u);
  dst[4] = (char)('0' + m / 10u);
  dst[5] = (char)('0' + m % 10u);
  dst[6] = (char)('0' + dd / 10u);
  dst[7] = (char)('0' + dd % 10u);
  dst[8] = '\0';
}

void ohets__w_isa(ohets__w *w, const ohets__env *req,
                  const ohets_request_ctx *ctx, int ack_ta1) {
  /* The ISA is fixed width and carries the delimiters, so it is written
   * by hand rather than through ohets__w_seg. */
  const char *q_sender = req->isa07[0] ? req->isa07 : "ZZ";
  const char *q_receiver = req->isa05[0] ? req->isa05 : "ZZ";
  if (strlen(q_sender) > 2 || strlen(q_receiver) > 2) {
    if (w->err == 0)
      w->err = -EINVAL;
    return;
  }
  /* Field by field into the fixed layout (snprintf here was 6% of a hit). */
  char e = w->d.element;
  char buf[OHETS__ISA_LEN + 16];
  char *p = buf;
#define ISA_FIELD(src, width) (pad(p, (src), (width)), p += (width), *p++ = e)
  memcpy(p, "ISA", 3);
  p += 3;
  *p++ = e;
  ISA_FIELD("00", 2);
  ISA_FIELD("", 10);
  ISA_FIELD("00", 2);
  ISA_FIELD("", 10);
  ISA_FIELD(q_sender, 2);
  ISA_FIELD("CMS", 15);
  ISA_FIELD(q_receiver, 2);
  ISA_FIELD(req->isa06[0] ? req->isa06 : "UNKNOWN", 15);
  ohets_dec_write(p, ctx->now.date.year % 100u, 2);
  ohets_dec_write(p + 2, ctx->now.date.month % 100u, 2);
  ohets_dec_write(p + 4, ctx->now.date.day % 100u, 2);
  p += 6;
  *p++ = e;
  ohets_dec_write(p, ctx->now.hour % 100u, 2);
  ohets_dec_write(p + 2, ctx->now.minute % 100u, 2);
  p += 4;
  *p++ = e;
  *p++ = w->d.repetition;
  *p++ = e;
  ISA_FIELD("00501", 5);
  ohets_dec_write(p, (unsigned)(ctx->control_number % 1000000000u), 9);
  p += 9;
  *p++ = e;
  ISA_FIELD("0", 1);
  ISA_FIELD(req->isa15 == 'T' ? "T" : "P", 1);
  *p++ = w->d.component;
  *p++ = w->d.segment;
#undef ISA_FIELD
  size_t n = (size_t)(p - buf);
  if (w->err == 0)
    w->err = n == OHETS__ISA_LEN ? ohets_buf_append(w->b, buf, n) : -EINVAL;
  if (ack_ta1) {
    char tc[10];
    ohets__copy(tc, sizeof tc, req->isa13);
    ohets__w_seg(w, "TA1", tc, req->isa09, req->isa10, "A", "000", NULL);
  }
}

void ohets__w_gs(ohets__w *w, const ohets__env *req,
                 const ohets_request_ctx *ctx, const char *functional_id,
                 const char *version) {
  char date[9], time[5], ctl[10];
  ohets__d8(ctx->now.date, date);
  ohets_dec_write(time, ctx->now.hour % 100u, 2);
  ohets_dec_write(time + 2, ctx->now.minute % 100u, 2);
  time[4] = '\0';
  ohets_dec_write(ctl, ctx->control_number % 1000000000u, 1);
  ohets__w_seg(w, "GS", functional_id, req->gs03[0] ? req->gs03 : "CMS",
               req->gs02[0] ? req->gs02 : (req->isa06[0] ? req->isa06 : "UNKNOWN"),
               date, time, ctl, "X", version, NULL);
}

void ohets__w_ge(ohets__w *w, unsigned sets, const ohets_request_ctx *ctx) {
  char n[12], ctl[10];
  ohets_dec_write(n, sets, 1);
  ohets_dec_write(ctl, ctx->control_number % 1000000000u, 1);
  ohets__w_seg(w, "GE", n, ctl, NULL);
}

void ohets__w_iea(ohets__w *w, unsigned groups, const ohets_request_ctx *ctx) {
  char n[12], ctl[10];
  ohets_dec_write(n, groups, 1);
  ohets_dec_write(ctl, ctx->control_number % 1000000000u, 9);
  ohets__w_seg(w, "IEA", n, ctl, NULL);
}
