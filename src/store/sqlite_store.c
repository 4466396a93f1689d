/* SQLite eligibility store: open/close, lookups for the core, the insert
 * path shared by import and generate, and the compact record encoding.
 *
 * A hit lookup is one primary-key probe returning a small blob (about 250
 * bytes) that decodes into ohets_beneficiary with bounds checks and no
 * allocation: a few microseconds, where parsing JSON would take ~20. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* getline, strnlen */
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "store/store.h"

#define PACK_FORMAT 1
/* A read-only handle keeps one read transaction across lookups: opening
 * and ending one per statement costs three system calls (WAL lock, unlock,
 * size check), several times the lookup itself.  The snapshot is renewed
 * when older than this, so an import shows within that time of the next
 * lookup. */
#define SNAPSHOT_MAX_MS 50
#define SNAPSHOT_MAX_USES 10000
/* Pages read through a memory map instead of read(2): address space only. */
#define MMAP_PRAGMA "PRAGMA mmap_size=1073741824"
#define PACK_CAP (sizeof(ohets_beneficiary) + 64)

/* Benefit flags cached per row for stats. */
enum {
  FLAG_PART_A = 1 << 0,
  FLAG_PART_B = 1 << 1,
  FLAG_MA = 1 << 2,
  FLAG_PART_D = 1 << 3,
  FLAG_MSP = 1 << 4,
  FLAG_HOSPICE = 1 << 5,
  FLAG_HOME_HEALTH = 1 << 6,
  FLAG_ESRD = 1 << 7,
  FLAG_QMB = 1 << 8,
  FLAG_DECEASED = 1 << 9
};

struct ohets_store {
  sqlite3 *db;
  int readonly;
  int in_snapshot;          /* read-only: a read transaction is open */
  /* Read-only: the program amounts last read in this snapshot (every
   * answer asks for the same year, and a snapshot cannot see them
   * change); amounts_rc 1 means nothing is kept. */
  int amounts_rc;
  ohets_program_amounts amounts;
  unsigned snapshot_uses;
  int64_t snapshot_started_ms;
  sqlite3_stmt *begin_read;
  sqlite3_stmt *end_read;
  sqlite3_stmt *get_ben;
  sqlite3_stmt *get_retired;
  sqlite3_stmt *get_amounts;
  sqlite3_stmt *list_retired_of;
  sqlite3_stmt *put_ben;
  sqlite3_stmt *drop_retired_of;
  sqlite3_stmt *drop_retired_self;
  sqlite3_stmt *has_ben;
  sqlite3_stmt *put_retired;
  sqlite3_stmt *put_amounts;
};

static void set_err(char *err, size_t errsz, const char *what, sqlite3 *db) {
  if (err != NULL && errsz > 0)
    snprintf(err, errsz, "%s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
}

/* Statements are prepared on first use and kept for the handle's life. */
static int prep(ohets_store *s, sqlite3_stmt **st, const char *sql) {
  if (*st != NULL)
    return 0;
  return sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) ==
                 SQLITE_OK
             ? 0
             : -EIO;
}

int ohets_store_open(ohets_store **out, const char *path, int flags, char *err,
                     size_t errsz) {
  char local[256];
  int readonly = (flags & OHETS_STORE_READONLY) != 0;
  int oflags = SQLITE_OPEN_NOMUTEX; /* one handle per thread: no mutex needed */
  int rc = -EIO;
  ohets_store *s;

  *out = NULL;
  local[0] = '\0';
  if (readonly)
    oflags |= SQLITE_OPEN_READONLY;
  else
    oflags |= SQLITE_OPEN_READWRITE | ((flags & OHETS_STORE_CREATE) ? SQLITE_OPEN_CREATE : 0);
  s = calloc(1, sizeof *s);
  if (s == NULL) {
    snprintf(local, sizeof local, "out of memory");
    rc = -ENOMEM;
    goto fail;
  }
  s->readonly = readonly;
  s->amounts_rc = 1; /* no program amounts kept yet */
  if (sqlite3_open_v2(path, &s->db, oflags, NULL) != SQLITE_OK) {
    snprintf(local, sizeof local, "cannot open %s: %s", path,
             s->db ? sqlite3_errmsg(s->db) : "out of memory");
    goto fail;
  }
  sqlite3_extended_result_codes(s->db, 0);
  /* Readers wait out a writer's commit instead of failing at once. */
  sqlite3_busy_timeout(s->db, 5000);
  if (!readonly) {
    /* WAL lets server workers keep reading while hets-db imports. */
    if (sqlite3_exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
                     NULL, NULL, NULL) != SQLITE_OK) {
      snprintf(local, sizeof local, "cannot open %s: %s", path, sqlite3_errmsg(s->db));
      goto fail;
    }
  }
  sqlite3_exec(s->db, MMAP_PRAGMA, NULL, NULL, NULL);
  rc = ohets__store_migrate(s->db, !readonly, local, sizeof local);
  if (rc != 0)
    goto fail;
  *out = s;
  return 0;

fail:
  if (err != NULL && errsz > 0)
    snprintf(err, errsz, "%s", local);
  ohets_store_close(s);
  return rc;
}

void ohets_store_close(ohets_store *s) {
  if (s == NULL)
    return;
  ohets_store_release(s);
  sqlite3_stmt **all[] = {&s->begin_read, &s->end_read, &s->get_ben,         &s->get_retired,  &s->get_amounts,
                          &s->list_retired_of, &s->put_ben,      &s->drop_retired_of,
                          &s->drop_retired_self, &s->has_ben,    &s->put_retired,
                          &s->put_amounts};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    sqlite3_finalize(*all[i]);
  sqlite3_close(s->db);
  free(s);
}

int ohets_store_user_version(ohets_store *s) {
  sqlite3_stmt *st = NULL;
  int v = -1;
  if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  return v;
}

/* ------------------------------------------------------- packed format */

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

/* -------------------------------------------------------------- lookups */

static int64_t coarse_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ohets_store_release(ohets_store *s) {
  if (s == NULL || !s->in_snapshot)
    return;
  if (s->end_read == NULL || sqlite3_step(s->end_read) != SQLITE_DONE)
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
  if (s->end_read != NULL)
    sqlite3_reset(s->end_read);
  s->in_snapshot = 0;
  s->amounts_rc = 1;
}

/* Read-only handles: makes sure a fresh-enough read transaction is open.
 * Writable handles read in autocommit mode (or in their write transaction). */
static int read_begin(ohets_store *s) {
  if (!s->readonly)
    return 0;
  if (s->in_snapshot && (++s->snapshot_uses > SNAPSHOT_MAX_USES ||
                         coarse_ms() - s->snapshot_started_ms > SNAPSHOT_MAX_MS))
    ohets_store_release(s);
  if (s->in_snapshot)
    return 0;
  if (prep(s, &s->begin_read, "BEGIN") != 0 || prep(s, &s->end_read, "COMMIT") != 0)
    return -EIO;
  int rc = sqlite3_step(s->begin_read);
  sqlite3_reset(s->begin_read);
  if (rc != SQLITE_DONE)
    return -EIO;
  s->in_snapshot = 1;
  s->snapshot_uses = 0;
  s->snapshot_started_ms = coarse_ms();
  return 0;
}

/* After a failed read: drop the snapshot so the next call starts afresh. */
static void read_failed(ohets_store *s) { ohets_store_release(s); }

/* Upper-cases an 11-character MBI into key; 0 if it cannot be one. */
static int mbi_key(const char *mbi, char key[12]) {
  size_t n = mbi ? strnlen(mbi, 12) : 0;
  if (n != 11)
    return 0;
  for (size_t i = 0; i < 11; i++)
    key[i] = (mbi[i] >= 'a' && mbi[i] <= 'z') ? (char)(mbi[i] - 32) : mbi[i];
  key[11] = '\0';
  return 1;
}

static int decode_row(sqlite3_stmt *st, int col, ohets_beneficiary *out) {
  const void *blob = sqlite3_column_blob(st, col);
  int n = sqlite3_column_bytes(st, col);
  return blob != NULL && ohets__record_unpack(blob, (size_t)n, out) == 0 ? 0 : -EIO;
}

ohets_lookup_status ohets_store_beneficiary(void *store, const char *mbi,
                                            ohets_beneficiary *out) {
  ohets_store *s = store;
  char key[12];
  ohets_lookup_status status = OHETS_LOOKUP_UNAVAILABLE;
  int rc;

  if (!mbi_key(mbi, key))
    return OHETS_LOOKUP_NOT_FOUND;
  if (prep(s, &s->get_ben, "SELECT packed FROM beneficiaries WHERE mbi = ?1") != 0 ||
      prep(s, &s->get_retired, "SELECT 1 FROM retired_mbis WHERE retired = ?1") != 0 ||
      read_begin(s) != 0)
    return OHETS_LOOKUP_UNAVAILABLE;

  sqlite3_bind_text(s->get_ben, 1, key, 11, SQLITE_STATIC);
  rc = sqlite3_step(s->get_ben);
  if (rc == SQLITE_ROW) {
    status = decode_row(s->get_ben, 0, out) == 0 ? OHETS_LOOKUP_FOUND
                                              : OHETS_LOOKUP_UNAVAILABLE;
    goto done;
  }
  if (rc != SQLITE_DONE)
    goto done;
  sqlite3_bind_text(s->get_retired, 1, key, 11, SQLITE_STATIC);
  rc = sqlite3_step(s->get_retired);
  if (rc == SQLITE_ROW)
    status = OHETS_LOOKUP_RETIRED;
  else if (rc == SQLITE_DONE)
    status = OHETS_LOOKUP_NOT_FOUND;

done:
  sqlite3_reset(s->get_ben);
  sqlite3_clear_bindings(s->get_ben);
  sqlite3_reset(s->get_retired);
  if (status == OHETS_LOOKUP_UNAVAILABLE)
    read_failed(s);
  return status;
}

int ohets_store_amounts(void *store, int year, ohets_program_amounts *out) {
  ohets_store *s = store;
  int rc;
  if (prep(s, &s->get_amounts,
           "SELECT part_a_deductible_cents, part_b_deductible_cents,"
           " part_b_coinsurance_percent, hospital_coinsurance_day61_cents,"
           " lifetime_reserve_coinsurance_cents, snf_coinsurance_day21_cents"
           " FROM program_amounts WHERE year = ?1") != 0 ||
      read_begin(s) != 0)
    return -EIO;
  if (s->readonly && s->amounts_rc != 1 && s->amounts.year == year) {
    if (s->amounts_rc == 0)
      *out = s->amounts;
    return s->amounts_rc;
  }
  sqlite3_bind_int(s->get_amounts, 1, year);
  rc = sqlite3_step(s->get_amounts);
  if (rc == SQLITE_ROW) {
    memset(out, 0, sizeof *out);
    out->year = year;
    out->part_a_deductible_cents = sqlite3_column_int64(s->get_amounts, 0);
    out->part_b_deductible_cents = sqlite3_column_int64(s->get_amounts, 1);
    out->part_b_coinsurance_percent = sqlite3_column_int(s->get_amounts, 2);
    out->hospital_coinsurance_day61_cents = sqlite3_column_int64(s->get_amounts, 3);
    out->lifetime_reserve_coinsurance_cents = sqlite3_column_int64(s->get_amounts, 4);
    out->snf_coinsurance_day21_cents = sqlite3_column_int64(s->get_amounts, 5);
    rc = 0;
  } else {
    rc = rc == SQLITE_DONE ? -ENOENT : -EIO;
  }
  sqlite3_reset(s->get_amounts);
  if (rc == -EIO) {
    read_failed(s);
  } else if (s->readonly) {
    s->amounts_rc = rc;
    if (rc == 0)
      s->amounts = *out;
    else
      s->amounts.year = year;
  }
  return rc;
}

void ohets_store_lookup_iface(ohets_store *s, ohets_lookup *out) {
  out->beneficiary = ohets_store_beneficiary;
  out->amounts = ohets_store_amounts;
  out->ctx = s;
}

static int retired_of(ohets_store *s, const char *mbi, ohets_retired_mbis *out) {
  int rc;
  out->n = 0;
  if (prep(s, &s->list_retired_of,
           "SELECT retired FROM retired_mbis WHERE current = ?1 ORDER BY retired") != 0 ||
      read_begin(s) != 0)
    return -EIO;
  sqlite3_bind_text(s->list_retired_of, 1, mbi, -1, SQLITE_STATIC);
  while ((rc = sqlite3_step(s->list_retired_of)) == SQLITE_ROW) {
    const char *m = (const char *)sqlite3_column_text(s->list_retired_of, 0);
    if (m != NULL && out->n < OHETS_STORE_MAX_RETIRED && strlen(m) == 11)
      memcpy(out->mbi[out->n++], m, 12);
  }
  sqlite3_reset(s->list_retired_of);
  return rc == SQLITE_DONE ? 0 : -EIO;
}

ohets_lookup_status ohets_store_lookup_json(ohets_store *s, const char *mbi,
                                            json_t **out) {
  ohets_beneficiary *rec = malloc(sizeof *rec);
  ohets_retired_mbis retired;
  ohets_lookup_status st = OHETS_LOOKUP_UNAVAILABLE;

  *out = NULL;
  if (rec == NULL)
    return st;
  st = ohets_store_beneficiary(s, mbi, rec);
  if (st == OHETS_LOOKUP_FOUND) {
    if (retired_of(s, rec->mbi, &retired) != 0 ||
        (*out = ohets_record_to_json(rec, &retired)) == NULL)
      st = OHETS_LOOKUP_UNAVAILABLE;
  }
  free(rec);
  return st;
}

int ohets_store_each(ohets_store *s, const char *after, unsigned long limit,
                     int (*fn)(void *ctx, const ohets_beneficiary *rec), void *ctx) {
  sqlite3_stmt *st = NULL;
  ohets_beneficiary *rec = malloc(sizeof *rec);
  int rc = -EIO, step;
  if (rec == NULL) {
    rc = -ENOMEM;
    goto done;
  }
  if (read_begin(s) != 0 ||
      sqlite3_prepare_v2(s->db,
                         "SELECT packed FROM beneficiaries WHERE mbi > ?1 ORDER BY mbi LIMIT ?2",
                         -1, &st, NULL) != SQLITE_OK)
    goto done;
  sqlite3_bind_text(st, 1, after ? after : "", -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, (sqlite3_int64)(limit > INT64_MAX ? INT64_MAX : limit));
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    if (decode_row(st, 0, rec) != 0)
      goto done;
    rc = fn(ctx, rec);
    if (rc != 0)
      goto done;
  }
  rc = step == SQLITE_DONE ? 0 : -EIO;

done:
  sqlite3_finalize(st);
  free(rec);
  return rc;
}

/* ----------------------------------------------------------- writes */

int ohets__store_begin(ohets_store *s, char *err, size_t errsz) {
  if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
    set_err(err, errsz, "cannot start a transaction", s->db);
    return -EIO;
  }
  return 0;
}

int ohets__store_commit(ohets_store *s, char *err, size_t errsz) {
  if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
    set_err(err, errsz, "cannot commit", s->db);
    ohets__store_rollback(s);
    return -EIO;
  }
  return 0;
}

void ohets__store_rollback(ohets_store *s) {
  if (!sqlite3_get_autocommit(s->db))
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

static int record_flags(const ohets_beneficiary *r) {
  return (r->n_part_a ? FLAG_PART_A : 0) | (r->n_part_b ? FLAG_PART_B : 0) |
         (r->n_ma ? FLAG_MA : 0) | (r->n_part_d ? FLAG_PART_D : 0) |
         (r->n_msp ? FLAG_MSP : 0) | (r->n_hospice ? FLAG_HOSPICE : 0) |
         (r->n_home_health ? FLAG_HOME_HEALTH : 0) | (r->n_esrd ? FLAG_ESRD : 0) |
         (r->n_qmb ? FLAG_QMB : 0) | (r->dod.year != 0 ? FLAG_DECEASED : 0);
}

/* Steps a write statement once and resets it. */
static int step_write(ohets_store *s, sqlite3_stmt *st, char *err, size_t errsz) {
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  if (rc != SQLITE_DONE) {
    set_err(err, errsz, "cannot store a record", s->db);
    return -EIO;
  }
  return 0;
}

int ohets__store_put(ohets_store *s, const ohets_beneficiary *rec,
                     const ohets_retired_mbis *retired, char *err,
                     size_t errsz) {
  uint8_t packed[PACK_CAP];
  long plen;
  int rc = -EIO;

  if (prep(s, &s->put_ben,
           "INSERT OR REPLACE INTO beneficiaries (mbi, packed, flags)"
           " VALUES (?1, ?2, ?3)") != 0 ||
      prep(s, &s->drop_retired_of, "DELETE FROM retired_mbis WHERE current = ?1") != 0 ||
      prep(s, &s->drop_retired_self, "DELETE FROM retired_mbis WHERE retired = ?1") != 0 ||
      prep(s, &s->has_ben, "SELECT 1 FROM beneficiaries WHERE mbi = ?1") != 0 ||
      prep(s, &s->put_retired,
           "INSERT OR REPLACE INTO retired_mbis (retired, current) VALUES (?1, ?2)") != 0) {
    set_err(err, errsz, "cannot prepare the insert", s->db);
    goto done;
  }
  plen = ohets__record_pack(rec, packed, sizeof packed);
  if (plen < 0) { /* cannot happen: PACK_CAP bounds every record */
    snprintf(err, errsz, "record too large to encode");
    rc = -ENOBUFS;
    goto done;
  }

  sqlite3_bind_text(s->put_ben, 1, rec->mbi, -1, SQLITE_STATIC);
  sqlite3_bind_blob(s->put_ben, 2, packed, (int)plen, SQLITE_STATIC);
  sqlite3_bind_int(s->put_ben, 3, record_flags(rec));
  if ((rc = step_write(s, s->put_ben, err, errsz)) != 0)
    goto done;
  /* The new record's list replaces the old one's; and an MBI on file as a
   * current beneficiary is no longer anyone's retired MBI. */
  sqlite3_bind_text(s->drop_retired_of, 1, rec->mbi, -1, SQLITE_STATIC);
  if ((rc = step_write(s, s->drop_retired_of, err, errsz)) != 0)
    goto done;
  sqlite3_bind_text(s->drop_retired_self, 1, rec->mbi, -1, SQLITE_STATIC);
  if ((rc = step_write(s, s->drop_retired_self, err, errsz)) != 0)
    goto done;

  for (unsigned i = 0; retired != NULL && i < retired->n; i++) {
    sqlite3_bind_text(s->has_ben, 1, retired->mbi[i], -1, SQLITE_STATIC);
    int step = sqlite3_step(s->has_ben);
    sqlite3_reset(s->has_ben);
    if (step == SQLITE_ROW) {
      snprintf(err, errsz,
               "\"retired_mbis[%u]\": on file as a current beneficiary's MBI", i);
      rc = -EEXIST;
      goto done;
    }
    if (step != SQLITE_DONE) {
      set_err(err, errsz, "cannot store a record", s->db);
      rc = -EIO;
      goto done;
    }
    sqlite3_bind_text(s->put_retired, 1, retired->mbi[i], -1, SQLITE_STATIC);
    sqlite3_bind_text(s->put_retired, 2, rec->mbi, -1, SQLITE_STATIC);
    if ((rc = step_write(s, s->put_retired, err, errsz)) != 0)
      goto done;
  }
  rc = 0;

done:
  return rc;
}

int ohets__store_put_amounts(ohets_store *s, const ohets_program_amounts *a,
                             char *err, size_t errsz) {
  if (prep(s, &s->put_amounts,
           "INSERT OR REPLACE INTO program_amounts (year, part_a_deductible_cents,"
           " part_b_deductible_cents, part_b_coinsurance_percent,"
           " hospital_coinsurance_day61_cents, lifetime_reserve_coinsurance_cents,"
           " snf_coinsurance_day21_cents) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)") != 0) {
    set_err(err, errsz, "cannot prepare the insert", s->db);
    return -EIO;
  }
  sqlite3_bind_int(s->put_amounts, 1, a->year);
  sqlite3_bind_int64(s->put_amounts, 2, a->part_a_deductible_cents);
  sqlite3_bind_int64(s->put_amounts, 3, a->part_b_deductible_cents);
  sqlite3_bind_int(s->put_amounts, 4, a->part_b_coinsurance_percent);
  sqlite3_bind_int64(s->put_amounts, 5, a->hospital_coinsurance_day61_cents);
  sqlite3_bind_int64(s->put_amounts, 6, a->lifetime_reserve_coinsurance_cents);
  sqlite3_bind_int64(s->put_amounts, 7, a->snf_coinsurance_day21_cents);
  return step_write(s, s->put_amounts, err, errsz);
}

/* One-row integer query; -1 on failure. */
static long query_long(ohets_store *s, const char *sql) {
  sqlite3_stmt *st = NULL;
  long v = -1;
  if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    v = (long)sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}

int ohets__store_latest_year(ohets_store *s) {
  long y = query_long(s, "SELECT COALESCE(MAX(year), 0) FROM program_amounts");
  return y > 0 ? (int)y : 0;
}

int ohets_store_stats_get(ohets_store *s, ohets_store_stats *out, char *err,
                          size_t errsz) {
  sqlite3_stmt *st = NULL;
  int rc = -EIO;
  memset(out, 0, sizeof *out);
  out->schema_version = ohets_store_user_version(s);
  out->retired_mbis = query_long(s, "SELECT COUNT(*) FROM retired_mbis");
  if (out->schema_version < 0 || out->retired_mbis < 0)
    goto fail;

  if (sqlite3_prepare_v2(s->db,
                         "SELECT COUNT(*),"
                         " TOTAL(flags & 1 != 0), TOTAL(flags & 2 != 0),"
                         " TOTAL(flags & 4 != 0), TOTAL(flags & 8 != 0),"
                         " TOTAL(flags & 16 != 0), TOTAL(flags & 32 != 0),"
                         " TOTAL(flags & 64 != 0), TOTAL(flags & 128 != 0),"
                         " TOTAL(flags & 256 != 0), TOTAL(flags & 512 != 0)"
                         " FROM beneficiaries",
                         -1, &st, NULL) != SQLITE_OK ||
      sqlite3_step(st) != SQLITE_ROW)
    goto fail;
  long *cols[] = {&out->beneficiaries, &out->part_a,      &out->part_b, &out->ma,
                  &out->part_d,        &out->msp,         &out->hospice,
                  &out->home_health,   &out->esrd,        &out->qmb,
                  &out->deceased};
  for (int i = 0; i < (int)(sizeof cols / sizeof cols[0]); i++)
    *cols[i] = (long)sqlite3_column_int64(st, i);
  sqlite3_finalize(st);

  if (sqlite3_prepare_v2(s->db, "SELECT year FROM program_amounts ORDER BY year", -1,
                         &st, NULL) != SQLITE_OK)
    goto fail;
  int step;
  while ((step = sqlite3_step(st)) == SQLITE_ROW)
    if (out->n_program_years < sizeof out->program_years / sizeof out->program_years[0])
      out->program_years[out->n_program_years++] = sqlite3_column_int(st, 0);
  if (step != SQLITE_DONE)
    goto fail;
  rc = 0;

fail:
  if (rc != 0)
    set_err(err, errsz, "cannot read statistics", s->db);
  sqlite3_finalize(st);
  return rc;
}
