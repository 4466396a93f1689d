/* hets-load's requests (built before the run) and answer classification. */
#include "tools/load_req.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "store/store.h"

#define MAX_FILE_BYTES (1u << 20)
#define MAX_REQ_BYTES 8192

static void set_err(char *err, size_t errsz, const char *fmt, const char *arg) {
  if (err != NULL && errsz > 0)
    snprintf(err, errsz, fmt, arg);
}

void ohets_load_reqs_free(ohets_load_reqs *r) {
  for (size_t i = 0; i < r->n; i++)
    free(r->items[i].bytes);
  free(r->items);
  memset(r, 0, sizeof *r);
}

/* Takes payload as the next request, wrapping it unless unwrapped. */
static int add_req(ohets_load_reqs *r, size_t cap, const uint8_t *payload, size_t len,
                   int unwrapped) {
  ohets_buf b;
  int rc;
  if (r->n >= cap)
    return -ENOBUFS;
  ohets_buf_init(&b, len + OHETS_FRAME_OVERHEAD);
  rc = unwrapped ? ohets_buf_append(&b, payload, len) : ohets_frame_wrap(&b, payload, len);
  if (rc != 0) {
    ohets_buf_free(&b);
    return rc;
  }
  r->items[r->n].bytes = b.data;
  r->items[r->n].len = b.len;
  r->n++;
  return 0;
}

int ohets_load_reqs_from_files(ohets_load_reqs *out, char *const *files, size_t n,
                               int unwrapped, char *err, size_t errsz) {
  ohets_buf data;
  int rc = 0;
  memset(out, 0, sizeof *out);
  ohets_buf_init(&data, MAX_FILE_BYTES);
  out->items = calloc(n ? n : 1, sizeof *out->items);
  if (out->items == NULL) {
    rc = -ENOMEM;
    goto done;
  }
  for (size_t i = 0; i < n; i++) {
    FILE *f = fopen(files[i], "rb");
    if (f == NULL) {
      rc = -errno;
      set_err(err, errsz, "%s: cannot open", files[i]);
      goto done;
    }
    ohets_buf_reset(&data);
    rc = ohets_common_read_all(f, &data);
    fclose(f);
    /* An empty payload is a fair test of a wrapped server; unwrapped it
     * would be nothing at all. */
    if (rc != 0 || (data.len == 0 && unwrapped)) {
      set_err(err, errsz,
              rc == -ENOBUFS ? "%s: larger than 1 MiB"
              : rc != 0      ? "%s: cannot read"
                             : "%s: empty (nothing to send unwrapped)",
              files[i]);
      rc = rc != 0 ? rc : -EINVAL;
      goto done;
    }
    rc = add_req(out, n, data.data, data.len, unwrapped);
    if (rc != 0)
      goto done;
  }
done:
  ohets_buf_free(&data);
  if (rc != 0)
    ohets_load_reqs_free(out);
  return rc;
}

/* ---------------------------------------------------------------- 270s */

/* Copies s without X12 delimiter bytes (a value must never split a
 * segment), upper-cased, at most cap-1 bytes. */
static void x12_value(char *dst, size_t cap, const char *s) {
  size_t j = 0;
  for (; *s != '\0' && j + 1 < cap; s++) {
    char c = *s;
    if (c == '*' || c == '~' || c == ':' || c == '^' || (unsigned char)c < 0x20)
      c = ' ';
    if (c >= 'a' && c <= 'z')
      c = (char)(c - 'a' + 'A');
    dst[j++] = c;
  }
  dst[j] = '\0';
}

int ohets_load_write_270(ohets_buf *out, const ohets_load_build *b, uint32_t control,
                         const char *mbi, const char *last, const char *first,
                         ohets_date dob, int malformed) {
  char sub[16], npi[16], l[61], f[36];
  const ohets_now *t = &b->now;
  x12_value(sub, sizeof sub, b->submitter);
  x12_value(npi, sizeof npi, b->npi);
  x12_value(l, sizeof l, last);
  x12_value(f, sizeof f, first);
  /* ST..SE holds 12 segments; malformed 1 states 13. */
  return ohets_buf_printf(
      out,
      "ISA*00*          *00*          *ZZ*%-15s*ZZ*CMS            *%02d%02d%02d*%02d%02d*^*00501*%09u*0*T*:~"
      "GS*HS*%s*CMS*%04d%02d%02d*%02d%02d*%u*X*005010X279A1~"
      "ST*270*0001*%s~"
      "BHT*0022*13*LOAD%09u*%04d%02d%02d*%02d%02d~"
      "HL*1**20*1~NM1*PR*2*CMS*****PI*CMS~"
      "HL*2*1*21*1~NM1*1P*2*HETS LOAD TEST*****XX*%s~"
      "HL*3*2*22*0~TRN*1*LOAD%09u*9HETSLOAD0~"
      "NM1*IL*1*%s*%s****MI*%s~"
      "DMG*D8*%04d%02d%02d~"
      "EQ*30~"
      "SE*%d*0001~GE*1*%u~IEA*1*%09u~",
      sub, t->date.year % 100, t->date.month, t->date.day, t->hour, t->minute, control, sub,
      t->date.year, t->date.month, t->date.day, t->hour, t->minute, control,
      malformed == 2 ? "004010X092A1" : "005010X279A1", control, t->date.year, t->date.month,
      t->date.day, t->hour, t->minute, npi, control, l, f, mbi, dob.year, dob.month, dob.day,
      malformed == 1 ? 13 : 12, control, control);
}

/* Deterministic generator: the same store gives the same requests. */
static uint64_t next_rand(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* A random MBI of the DESIGN §5 shape. */
static void random_mbi(uint64_t *seed, char mbi[12]) {
  static const char letters[] = "ACDEFGHJKMNPQRTUVWXY";     /* no S L O I B Z */
  static const char alnum[] = "ACDEFGHJKMNPQRTUVWXY0123456789";
  static const char shape[] = "1LADLADLLDD"; /* 1: 1-9, L letter, A either, D digit */
  for (int i = 0; i < 11; i++) {
    uint64_t r = next_rand(seed);
    switch (shape[i]) {
    case '1': mbi[i] = (char)('1' + r % 9); break;
    case 'L': mbi[i] = letters[r % 20]; break;
    case 'A': mbi[i] = alnum[r % 30]; break;
    default: mbi[i] = (char)('0' + r % 10); break;
    }
  }
  mbi[11] = '\0';
}

typedef struct person {
  char mbi[12];
  char last[61];
  char first[36];
  ohets_date dob;
} person;

typedef struct draw_ctx {
  person *people;
  size_t n, cap;
} draw_ctx;

static int take_record(void *ctx, const ohets_beneficiary *rec) {
  draw_ctx *d = ctx;
  if (d->n >= d->cap)
    return 1;
  person *p = &d->people[d->n++];
  memcpy(p->mbi, rec->mbi, sizeof p->mbi);
  memcpy(p->last, rec->last, sizeof p->last);
  memcpy(p->first, rec->first, sizeof p->first);
  p->dob = rec->dob;
  return 0;
}

int ohets_load_reqs_from_store(ohets_load_reqs *out, const char *path,
                               const ohets_load_build *b, char *err, size_t errsz) {
  ohets_store *s = NULL;
  draw_ctx d = {0};
  ohets_buf x12;
  uint64_t seed = 0x0e1e5a11u;
  unsigned char *kinds = NULL;
  int rc = 0;
  size_t pool = b->pool ? b->pool : 1000;
  size_t hits = pool * b->mix[0] / 100, misses = pool * b->mix[1] / 100;
  size_t bad = pool - hits - misses;

  memset(out, 0, sizeof *out);
  ohets_buf_init(&x12, MAX_REQ_BYTES);
  rc = ohets_store_open(&s, path, OHETS_STORE_READONLY, err, errsz);
  if (rc != 0)
    goto done;
  d.cap = hits > 0 ? hits : 1;
  d.people = calloc(d.cap, sizeof *d.people);
  out->items = calloc(pool, sizeof *out->items);
  kinds = malloc(pool);
  if (d.people == NULL || out->items == NULL || kinds == NULL) {
    rc = -ENOMEM;
    goto done;
  }
  rc = ohets_store_each(s, NULL, d.cap, take_record, &d);
  if (rc < 0) {
    set_err(err, errsz, "%s: cannot read beneficiaries", path);
    goto done;
  }
  rc = 0;
  if (d.n == 0 && (hits > 0 || bad > 0)) {
    set_err(err, errsz, "%s: the store holds no beneficiaries", path);
    rc = -ENOENT;
    goto done;
  }
  /* Exact proportions, then a shuffle so every connection sees the mix. */
  for (size_t i = 0; i < pool; i++)
    kinds[i] = (unsigned char)(i < hits ? 0 : i < hits + misses ? 1 : 2);
  for (size_t i = pool - 1; i > 0; i--) {
    size_t j = (size_t)(next_rand(&seed) % (i + 1));
    unsigned char k = kinds[i];
    kinds[i] = kinds[j];
    kinds[j] = k;
  }
  size_t next_hit = 0;
  for (size_t i = 0; i < pool; i++) {
    uint32_t control = (uint32_t)(i + 1);
    ohets_buf_reset(&x12);
    if (kinds[i] == 1) {
      char mbi[12];
      ohets_beneficiary rec;
      /* A miss must be well-formed and absent (nor a retired MBI). */
      int tries = 0;
      do {
        random_mbi(&seed, mbi);
      } while (ohets_store_beneficiary(s, mbi, &rec) != OHETS_LOOKUP_NOT_FOUND && ++tries < 100);
      ohets_date dob = {1950, 6, 15};
      rc = ohets_load_write_270(&x12, b, control, mbi, "DOE", "JOHN", dob, 0);
      out->misses++;
    } else {
      const person *p = &d.people[next_hit++ % d.n];
      rc = ohets_load_write_270(&x12, b, control, p->mbi, p->last, p->first, p->dob,
                                kinds[i] == 2 ? 1 + (int)(i % 2) : 0);
      if (kinds[i] == 2)
        out->malformed++;
      else
        out->hits++;
    }
    if (rc == 0)
      rc = add_req(out, pool, x12.data, x12.len, b->unwrapped);
    if (rc != 0)
      goto done;
  }
done:
  ohets_buf_free(&x12);
  free(kinds);
  free(d.people);
  if (s != NULL)
    ohets_store_close(s); /* nothing of the store stays open for the run */
  if (rc != 0)
    ohets_load_reqs_free(out);
  return rc;
}

int ohets_load_reqs_builtin(ohets_load_reqs *out, const ohets_load_build *b) {
  ohets_buf x12;
  ohets_date dob = {1940, 1, 1};
  int rc;
  memset(out, 0, sizeof *out);
  out->items = calloc(1, sizeof *out->items);
  if (out->items == NULL)
    return -ENOMEM;
  ohets_buf_init(&x12, MAX_REQ_BYTES);
  rc = ohets_load_write_270(&x12, b, 1, "1EG4TE5MK73", "DOE", "JANE", dob, 0);
  if (rc == 0)
    rc = add_req(out, 1, x12.data, x12.len, b->unwrapped);
  ohets_buf_free(&x12);
  if (rc != 0)
    ohets_load_reqs_free(out);
  return rc;
}

/* ---------------------------------------------------------------- answers */

static int alnum_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'A' && c <= 'Z')
    return 10 + c - 'A';
  return -1;
}

int ohets_load_aaa_slot(const char *code) {
  int a = alnum_value(code[0]), b = a < 0 ? -1 : alnum_value(code[1]);
  if (a < 0 || b < 0 || code[2] != '\0')
    return -1;
  return a * 36 + b;
}

void ohets_load_aaa_code(int slot, char out[3]) {
  static const char digits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  out[0] = digits[(slot / 36) % 36];
  out[1] = digits[slot % 36];
  out[2] = '\0';
}

/* Element number idx (1-based) of the segment [seg, end) into out. */
static void element(const uint8_t *seg, const uint8_t *end, char sep, int idx, char *out,
                    size_t cap) {
  const uint8_t *p = seg;
  size_t j = 0;
  for (int e = 0; e < idx && p < end; p++)
    if (*p == (uint8_t)sep)
      e++;
  for (; p < end && *p != (uint8_t)sep && j + 1 < cap; p++)
    out[j++] = (char)*p;
  out[j] = '\0';
}

int ohets_load_classify(const uint8_t *p, size_t n, ohets_load_answer *out) {
  memset(out, 0, sizeof *out);
  if (n >= 4 && memcmp(p, "HETS", 4) == 0) {
    out->kind = OHETS_ANSWER_HETS;
    if (n >= 61) {
      memcpy(out->hets_code, p + 53, 8);
      out->hets_code[8] = '\0';
    }
    return 0;
  }
  if (n < 106 || memcmp(p, "ISA", 3) != 0)
    return -EINVAL;
  char sep = (char)p[3], term = (char)p[105];
  int st = 0, ta1 = 0;
  const uint8_t *end = p + n;
  for (size_t pos = 0; pos < n;) {
    while (pos < n && (p[pos] == '\r' || p[pos] == '\n' || p[pos] == ' '))
      pos++;
    const uint8_t *seg = p + pos;
    const uint8_t *e = memchr(seg, term, n - pos);
    if (e == NULL)
      e = end;
    size_t idlen = 0;
    while (seg + idlen < e && seg[idlen] != (uint8_t)sep)
      idlen++;
    if (idlen == 2 && memcmp(seg, "ST", 2) == 0 && st == 0) {
      char st01[8];
      element(seg, e, sep, 1, st01, sizeof st01);
      st = strcmp(st01, "271") == 0 ? 271 : strcmp(st01, "999") == 0 ? 999 : -1;
    } else if (idlen == 3 && memcmp(seg, "TA1", 3) == 0) {
      ta1 = 1;
    } else if (idlen == 3 && memcmp(seg, "AAA", 3) == 0 && out->n_aaa < OHETS_LOAD_MAX_AAA) {
      element(seg, e, sep, 3, out->aaa[out->n_aaa], sizeof out->aaa[0]);
      out->n_aaa++;
    }
    pos = (size_t)(e - p) + 1;
  }
  if (st == 271)
    out->kind = OHETS_ANSWER_271;
  else if (st == 999)
    out->kind = OHETS_ANSWER_999;
  else if (st == 0 && ta1)
    out->kind = OHETS_ANSWER_TA1;
  else
    return -EINVAL;
  return 0;
}
