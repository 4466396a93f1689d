/* The compact binary encoding of a beneficiary, shared by both backends
 * (SQLite's packed BLOB, PostgreSQL's packed bytea): so a record reads
 * back the same from either, and a hit lookup decodes it into
 * ohets_beneficiary with bounds checks and no allocation.
 *
 * Layout (format 1): a version byte; strings as a length byte and that
 * many bytes; dates as year (2 bytes, little-endian), month, day; counts
 * as one byte; integers little-endian (4 or 8 bytes). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* strnlen */
#endif
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "store/store.h"

#define PACK_FORMAT 1

typedef struct writer {
  uint8_t *p;
  size_t len, cap;
  int overflow;
} writer;

static void w_bytes(writer *w, const void *src, size_t n) {
  if (w->overflow || n > w->cap - w->len) {
    w->overflow = 1;
    return;
  }
  memcpy(w->p + w->len, src, n);
  w->len += n;
}

static void w_u8(writer *w, unsigned v) {
  uint8_t b = (uint8_t)v;
  w_bytes(w, &b, 1);
}

static void w_i32(writer *w, int32_t v) {
  uint32_t u = (uint32_t)v;
  uint8_t b[4] = {(uint8_t)u, (uint8_t)(u >> 8), (uint8_t)(u >> 16), (uint8_t)(u >> 24)};
  w_bytes(w, b, 4);
}

static void w_i64(writer *w, int64_t v) {
  w_i32(w, (int32_t)(uint32_t)((uint64_t)v & 0xffffffffu));
  w_i32(w, (int32_t)(uint32_t)((uint64_t)v >> 32));
}

static void w_str(writer *w, const char *s, size_t cap) {
  size_t n = strnlen(s, cap - 1);
  w_u8(w, (unsigned)n);
  w_bytes(w, s, n);
}

static void w_date(writer *w, ohets_date d) {
  uint16_t y = (uint16_t)d.year;
  uint8_t b[4] = {(uint8_t)y, (uint8_t)(y >> 8), d.month, d.day};
  w_bytes(w, b, 4);
}

static void w_period(writer *w, const ohets_period *p) {
  w_date(w, p->start);
  w_date(w, p->end);
}

static void w_periods(writer *w, const ohets_period *p, unsigned n) {
  w_u8(w, n);
  for (unsigned i = 0; i < n; i++)
    w_period(w, &p[i]);
}

static void w_plans(writer *w, const ohets_plan *p, unsigned n) {
  w_u8(w, n);
  for (unsigned i = 0; i < n; i++) {
    w_str(w, p[i].contract, sizeof p[i].contract);
    w_str(w, p[i].plan, sizeof p[i].plan);
    w_str(w, p[i].type, sizeof p[i].type);
    w_str(w, p[i].name, sizeof p[i].name);
    w_str(w, p[i].phone, sizeof p[i].phone);
    w_period(w, &p[i].period);
  }
}

static void w_providers(writer *w, const ohets_provider_period *p, unsigned n) {
  w_u8(w, n);
  for (unsigned i = 0; i < n; i++) {
    w_period(w, &p[i].period);
    w_str(w, p[i].npi, sizeof p[i].npi);
    w_str(w, p[i].name, sizeof p[i].name);
  }
}

long ohets__record_pack(const ohets_beneficiary *r, uint8_t *buf, size_t cap) {
  writer w = {buf, 0, cap, 0};
  w_u8(&w, PACK_FORMAT);
  w_str(&w, r->mbi, sizeof r->mbi);
  w_str(&w, r->last, sizeof r->last);
  w_str(&w, r->first, sizeof r->first);
  w_str(&w, r->middle, sizeof r->middle);
  w_u8(&w, (unsigned char)r->sex);
  w_date(&w, r->dob);
  w_date(&w, r->dod);
  w_str(&w, r->address.line1, sizeof r->address.line1);
  w_str(&w, r->address.line2, sizeof r->address.line2);
  w_str(&w, r->address.city, sizeof r->address.city);
  w_str(&w, r->address.state, sizeof r->address.state);
  w_str(&w, r->address.zip, sizeof r->address.zip);
  w_periods(&w, r->part_a, r->n_part_a);
  w_periods(&w, r->part_b, r->n_part_b);
  w_plans(&w, r->ma, r->n_ma);
  w_plans(&w, r->part_d, r->n_part_d);
  w_u8(&w, r->n_msp);
  for (unsigned i = 0; i < r->n_msp; i++) {
    w_str(&w, r->msp[i].type, sizeof r->msp[i].type);
    w_str(&w, r->msp[i].payer, sizeof r->msp[i].payer);
    w_str(&w, r->msp[i].policy, sizeof r->msp[i].policy);
    w_period(&w, &r->msp[i].period);
  }
  w_providers(&w, r->hospice, r->n_hospice);
  w_providers(&w, r->home_health, r->n_home_health);
  w_periods(&w, r->esrd, r->n_esrd);
  w_periods(&w, r->qmb, r->n_qmb);
  w_u8(&w, r->n_preventive);
  for (unsigned i = 0; i < r->n_preventive; i++) {
    w_str(&w, r->preventive[i].hcpcs, sizeof r->preventive[i].hcpcs);
    w_date(&w, r->preventive[i].next_eligible);
  }
  w_u8(&w, r->n_deductibles);
  for (unsigned i = 0; i < r->n_deductibles; i++) {
    w_i32(&w, r->deductibles[i].year);
    w_i64(&w, r->deductibles[i].part_a_remaining_cents);
    w_i64(&w, r->deductibles[i].part_b_remaining_cents);
  }
  w_i32(&w, r->hospital_days);
  w_i32(&w, r->snf_days);
  w_i32(&w, r->lifetime_reserve_days);
  return w.overflow ? -ENOBUFS : (long)w.len;
}

typedef struct reader {
  const uint8_t *p;
  size_t len, pos;
  int bad;
} reader;

static const uint8_t *r_take(reader *r, size_t n) {
  if (r->bad || n > r->len - r->pos) {
    r->bad = 1;
    return NULL;
  }
  const uint8_t *at = r->p + r->pos;
  r->pos += n;
  return at;
}

static unsigned r_u8(reader *r) {
  const uint8_t *b = r_take(r, 1);
  return b ? b[0] : 0;
}

static int32_t r_i32(reader *r) {
  const uint8_t *b = r_take(r, 4);
  if (b == NULL)
    return 0;
  return (int32_t)((uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
                   (uint32_t)b[3] << 24);
}

static int64_t r_i64(reader *r) {
  uint64_t lo = (uint32_t)r_i32(r);
  uint64_t hi = (uint32_t)r_i32(r);
  return (int64_t)(lo | hi << 32);
}

static void r_str(reader *r, char *dst, size_t cap) {
  size_t n = r_u8(r);
  const uint8_t *b;
  dst[0] = '\0';
  if (n >= cap) {
    r->bad = 1;
    return;
  }
  b = r_take(r, n);
  if (b == NULL)
    return;
  memcpy(dst, b, n);
  dst[n] = '\0';
}

static ohets_date r_date(reader *r) {
  ohets_date d = {0, 0, 0};
  const uint8_t *b = r_take(r, 4);
  if (b != NULL) {
    d.year = (int16_t)(uint16_t)(b[0] | b[1] << 8);
    d.month = b[2];
    d.day = b[3];
  }
  return d;
}

static void r_period(reader *r, ohets_period *p) {
  p->start = r_date(r);
  p->end = r_date(r);
}

static unsigned r_count(reader *r, unsigned max) {
  unsigned n = r_u8(r);
  if (n > max) {
    r->bad = 1;
    return 0;
  }
  return n;
}

static void r_periods(reader *r, ohets_period *p, unsigned *n) {
  *n = r_count(r, OHETS_MAX_PERIODS);
  for (unsigned i = 0; i < *n; i++)
    r_period(r, &p[i]);
}

static void r_plans(reader *r, ohets_plan *p, unsigned *n) {
  *n = r_count(r, OHETS_MAX_PLANS);
  for (unsigned i = 0; i < *n; i++) {
    r_str(r, p[i].contract, sizeof p[i].contract);
    r_str(r, p[i].plan, sizeof p[i].plan);
    r_str(r, p[i].type, sizeof p[i].type);
    r_str(r, p[i].name, sizeof p[i].name);
    r_str(r, p[i].phone, sizeof p[i].phone);
    r_period(r, &p[i].period);
  }
}

static void r_providers(reader *r, ohets_provider_period *p, unsigned *n) {
  *n = r_count(r, OHETS_MAX_PERIODS);
  for (unsigned i = 0; i < *n; i++) {
    r_period(r, &p[i].period);
    r_str(r, p[i].npi, sizeof p[i].npi);
    r_str(r, p[i].name, sizeof p[i].name);
  }
}

int ohets__record_unpack(const uint8_t *buf, size_t len, ohets_beneficiary *o) {
  reader r = {buf, len, 0, 0};
  memset(o, 0, sizeof *o);
  if (r_u8(&r) != PACK_FORMAT)
    return -EINVAL;
  r_str(&r, o->mbi, sizeof o->mbi);
  r_str(&r, o->last, sizeof o->last);
  r_str(&r, o->first, sizeof o->first);
  r_str(&r, o->middle, sizeof o->middle);
  o->sex = (char)r_u8(&r);
  o->dob = r_date(&r);
  o->dod = r_date(&r);
  r_str(&r, o->address.line1, sizeof o->address.line1);
  r_str(&r, o->address.line2, sizeof o->address.line2);
  r_str(&r, o->address.city, sizeof o->address.city);
  r_str(&r, o->address.state, sizeof o->address.state);
  r_str(&r, o->address.zip, sizeof o->address.zip);
  r_periods(&r, o->part_a, &o->n_part_a);
  r_periods(&r, o->part_b, &o->n_part_b);
  r_plans(&r, o->ma, &o->n_ma);
  r_plans(&r, o->part_d, &o->n_part_d);
  o->n_msp = r_count(&r, OHETS_MAX_PLANS);
  for (unsigned i = 0; i < o->n_msp; i++) {
    r_str(&r, o->msp[i].type, sizeof o->msp[i].type);
    r_str(&r, o->msp[i].payer, sizeof o->msp[i].payer);
    r_str(&r, o->msp[i].policy, sizeof o->msp[i].policy);
    r_period(&r, &o->msp[i].period);
  }
  r_providers(&r, o->hospice, &o->n_hospice);
  r_providers(&r, o->home_health, &o->n_home_health);
  r_periods(&r, o->esrd, &o->n_esrd);
  r_periods(&r, o->qmb, &o->n_qmb);
  o->n_preventive = r_count(&r, OHETS_MAX_PREVENTIVE);
  for (unsigned i = 0; i < o->n_preventive; i++) {
    r_str(&r, o->preventive[i].hcpcs, sizeof o->preventive[i].hcpcs);
    o->preventive[i].next_eligible = r_date(&r);
  }
  o->n_deductibles = r_count(&r, OHETS_MAX_DEDUCTIBLES);
  for (unsigned i = 0; i < o->n_deductibles; i++) {
    o->deductibles[i].year = r_i32(&r);
    o->deductibles[i].part_a_remaining_cents = r_i64(&r);
    o->deductibles[i].part_b_remaining_cents = r_i64(&r);
  }
  o->hospital_days = r_i32(&r);
  o->snf_days = r_i32(&r);
  o->lifetime_reserve_days = r_i32(&r);
  if (r.bad || r.pos != r.len)
    return -EINVAL;
  return 0;
}
