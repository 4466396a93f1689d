/* Bounded growable byte buffer. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

void ohets_buf_init(ohets_buf *b, size_t max) {
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
  b->max = max;
}

void ohets_buf_free(ohets_buf *b) {
  ohets__free(b->data);
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
}

void ohets_buf_reset(ohets_buf *b) { b->len = 0; }

static int buf_reserve(ohets_buf *b, size_t extra) {
  if (extra > b->max || b->len > b->max - extra)
    return -ENOBUFS;
  size_t need = b->len + extra;
  if (need <= b->cap)
    return 0;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < need)
    cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  if (cap > b->max)
    cap = b->max;
  uint8_t *p = ohets__realloc(b->data, cap);
  if (p == NULL)
    return -ENOMEM;
  b->data = p;
  b->cap = cap;
  return 0;
}

int ohets_buf_append(ohets_buf *b, const void *p, size_t n) {
  if (n <= b->cap - b->len) { /* the common case: room already (cap <= max) */
    if (n > 0)
      memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
  }
  int rc = buf_reserve(b, n);
  if (rc != 0)
    return rc;
  memcpy(b->data + b->len, p, n);
  b->len += n;
  return 0;
}

uint8_t *ohets__buf_extend(ohets_buf *b, size_t n, int *err) {
  if (n > b->cap - b->len) {
    int rc = buf_reserve(b, n);
    if (rc != 0) {
      *err = rc;
      return NULL;
    }
  }
  uint8_t *at = b->data + b->len;
  b->len += n;
  return at;
}

int ohets_buf_puts(ohets_buf *b, const char *s) {
  return ohets_buf_append(b, s, strlen(s));
}

int ohets_buf_putc(ohets_buf *b, char c) {
  if (b->len < b->cap) {
    b->data[b->len++] = (uint8_t)c;
    return 0;
  }
  return ohets_buf_append(b, &c, 1);
}

int ohets_buf_printf(ohets_buf *b, const char *fmt, ...) {
  char small[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0)
    return -EINVAL;
  if ((size_t)n < sizeof small)
    return ohets_buf_append(b, small, (size_t)n);
  /* Too long for the stack copy: format on the heap, so the NUL that
   * vsnprintf needs never counts against the buffer's bound. */
  char *big = ohets__malloc((size_t)n + 1);
  if (big == NULL)
    return -ENOMEM;
  va_start(ap, fmt);
  vsnprintf(big, (size_t)n + 1, fmt, ap);
  va_end(ap);
  int rc = ohets_buf_append(b, big, (size_t)n);
  ohets__free(big);
  return rc;
}
