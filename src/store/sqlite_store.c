/* SQLite eligibility store (the embedded default): open/close, lookups for
 * the core, the insert path shared by import, generate and copy; one
 * backend of store.c's ops table.
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

/* A read-only handle keeps one read transaction across lookups: opening
 * and ending one per statement costs three system calls (WAL lock, unlock,
 * size check), several times the lookup itself.  The snapshot is renewed
 * when older than this, so an import shows within that time of the next
 * lookup. */
#define SNAPSHOT_MAX_MS OHETS__SNAPSHOT_MAX_MS
#define SNAPSHOT_MAX_USES 10000
/* Pages read through a memory map instead of read(2): address space only. */
#define MMAP_PRAGMA "PRAGMA mmap_size=1073741824"

typedef struct sq_store {
  ohets_store base; /* first: the handle is an ohets_store */
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
} sq_store;

static const ohets_store_ops sq_ops;

static void set_err(char *err, size_t errsz, const char *what, sqlite3 *db) {
  if (err != NULL && errsz > 0)
    snprintf(err, errsz, "%s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
}

/* Statements are prepared on first use and kept for the handle's life. */
static int prep(sq_store *s, sqlite3_stmt **st, const char *sql) {
  if (*st != NULL)
    return 0;
  return sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) ==
                 SQLITE_OK
             ? 0
             : -EIO;
}

static void sq_close(ohets_store *base);

int ohets__sqlite_open(ohets_store **out, const char *path, int flags, char *err,
                       size_t errsz) {
  char local[512], shown[256];
  int readonly = (flags & OHETS_STORE_READONLY) != 0;
  int oflags = SQLITE_OPEN_NOMUTEX; /* one handle per thread: no mutex needed */
  int rc = -EIO;
  sq_store *s;

  *out = NULL;
  local[0] = '\0';
  ohets_store_redact(path, shown, sizeof shown);
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
  s->base.ops = &sq_ops;
  s->readonly = readonly;
  s->amounts_rc = 1; /* no program amounts kept yet */
  if (sqlite3_open_v2(path, &s->db, oflags, NULL) != SQLITE_OK) {
    snprintf(local, sizeof local, "cannot open %s: %s", shown,
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
      snprintf(local, sizeof local, "cannot open %s: %s", shown, sqlite3_errmsg(s->db));
      goto fail;
    }
  }
  sqlite3_exec(s->db, MMAP_PRAGMA, NULL, NULL, NULL);
  rc = ohets__store_migrate(s->db, !readonly, local, sizeof local);
  if (rc != 0)
    goto fail;
  *out = &s->base;
  return 0;

fail:
  if (err != NULL && errsz > 0)
    snprintf(err, errsz, "%s", local);
  if (s != NULL)
    sq_close(&s->base);
  return rc;
}

static void sq_release(ohets_store *base);

static void sq_close(ohets_store *base) {
  sq_store *s = (sq_store *)base;
  sq_release(base);
  sqlite3_stmt **all[] = {&s->begin_read, &s->end_read, &s->get_ben,         &s->get_retired,  &s->get_amounts,
                          &s->list_retired_of, &s->put_ben,      &s->drop_retired_of,
                          &s->drop_retired_self, &s->has_ben,    &s->put_retired,
                          &s->put_amounts};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    sqlite3_finalize(*all[i]);
  sqlite3_close(s->db);
  free(s);
}

static int sq_user_version(ohets_store *base) {
  sq_store *s = (sq_store *)base;
  sqlite3_stmt *st = NULL;
  int v = -1;
  if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  return v;
}

/* -------------------------------------------------------------- lookups */

#define coarse_ms ohets__coarse_ms

static void sq_release(ohets_store *base) {
  sq_store *s = (sq_store *)base;
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
static int read_begin(sq_store *s) {
  if (!s->readonly)
    return 0;
  if (s->in_snapshot && (++s->snapshot_uses > SNAPSHOT_MAX_USES ||
                         coarse_ms() - s->snapshot_started_ms > SNAPSHOT_MAX_MS))
    sq_release(&s->base);
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
static void read_failed(sq_store *s) { sq_release(&s->base); }

static int decode_row(sqlite3_stmt *st, int col, ohets_beneficiary *out) {
  const void *blob = sqlite3_column_blob(st, col);
  int n = sqlite3_column_bytes(st, col);
  return blob != NULL && ohets__record_unpack(blob, (size_t)n, out) == 0 ? 0 : -EIO;
}

static ohets_lookup_status sq_beneficiary(void *store, const char *mbi,
                                          ohets_beneficiary *out) {
  sq_store *s = store;
  char key[12];
  ohets_lookup_status status = OHETS_LOOKUP_UNAVAILABLE;
  int rc;

  if (!ohets__mbi_key(mbi, key))
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

static int sq_amounts(void *store, int year, ohets_program_amounts *out) {
  sq_store *s = store;
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

static int sq_retired_of(ohets_store *base, const char *mbi, ohets_retired_mbis *out) {
  sq_store *s = (sq_store *)base;
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

static int sq_each(ohets_store *base, const char *after, unsigned long limit,
                   int (*fn)(void *ctx, const ohets_beneficiary *rec), void *ctx) {
  sq_store *s = (sq_store *)base;
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

static int sq_begin(ohets_store *base, char *err, size_t errsz) {
  sq_store *s = (sq_store *)base;
  if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
    set_err(err, errsz, "cannot start a transaction", s->db);
    return -EIO;
  }
  return 0;
}

static void sq_rollback(ohets_store *base) {
  sq_store *s = (sq_store *)base;
  if (!sqlite3_get_autocommit(s->db))
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Every put is checked as it runs: nothing is left for commit. */
static int sq_commit(ohets_store *base, unsigned long *at, char *err, size_t errsz) {
  sq_store *s = (sq_store *)base;
  (void)at;
  if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
    set_err(err, errsz, "cannot commit", s->db);
    sq_rollback(base);
    return -EIO;
  }
  return 0;
}

static int sq_check(ohets_store *base, unsigned long *at, char *err, size_t errsz) {
  (void)base;
  (void)at;
  (void)err;
  (void)errsz;
  return 0;
}

/* Steps a write statement once and resets it. */
static int step_write(sq_store *s, sqlite3_stmt *st, char *err, size_t errsz) {
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  if (rc != SQLITE_DONE) {
    set_err(err, errsz, "cannot store a record", s->db);
    return -EIO;
  }
  return 0;
}

static int sq_put(ohets_store *base, const ohets_beneficiary *rec,
                  const ohets_retired_mbis *retired, char *err, size_t errsz) {
  sq_store *s = (sq_store *)base;
  uint8_t packed[OHETS__PACK_CAP];
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
  if (plen < 0) { /* cannot happen: OHETS__PACK_CAP bounds every record */
    snprintf(err, errsz, "record too large to encode");
    rc = -ENOBUFS;
    goto done;
  }

  sqlite3_bind_text(s->put_ben, 1, rec->mbi, -1, SQLITE_STATIC);
  sqlite3_bind_blob(s->put_ben, 2, packed, (int)plen, SQLITE_STATIC);
  sqlite3_bind_int(s->put_ben, 3, ohets__record_flags(rec));
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
      snprintf(err, errsz, "\"retired_mbis[%u]\": " OHETS__RETIRED_IS_CURRENT, i);
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

static int sq_put_amounts(ohets_store *base, const ohets_program_amounts *a, char *err,
                          size_t errsz) {
  sq_store *s = (sq_store *)base;
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
static long query_long(sq_store *s, const char *sql) {
  sqlite3_stmt *st = NULL;
  long v = -1;
  if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    v = (long)sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}

static int sq_latest_year(ohets_store *base) {
  sq_store *s = (sq_store *)base;
  long y = query_long(s, "SELECT COALESCE(MAX(year), 0) FROM program_amounts");
  return y > 0 ? (int)y : 0;
}

static int sq_stats(ohets_store *base, ohets_store_stats *out, char *err, size_t errsz) {
  sq_store *s = (sq_store *)base;
  sqlite3_stmt *st = NULL;
  int rc = -EIO;
  memset(out, 0, sizeof *out);
  out->schema_version = sq_user_version(base);
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

/* ------------------------------------------------------------------ dump */

/* The retired MBIs of a row, as "A,B,C" (the ordered subquery's order). */
static void split_retired(const char *list, ohets_retired_mbis *out) {
  out->n = 0;
  while (list != NULL && *list != '\0' && out->n < OHETS_STORE_MAX_RETIRED) {
    size_t n = strcspn(list, ",");
    if (n == 11) {
      memcpy(out->mbi[out->n], list, 11);
      out->mbi[out->n++][11] = '\0';
    }
    list += n + (list[n] == ',');
  }
}

static int dump_years(sq_store *s, int (*year)(void *ctx, const ohets_program_amounts *a),
                      void *ctx) {
  sqlite3_stmt *st = NULL;
  int rc = -EIO, step;
  if (sqlite3_prepare_v2(s->db,
                         "SELECT year, part_a_deductible_cents, part_b_deductible_cents,"
                         " part_b_coinsurance_percent, hospital_coinsurance_day61_cents,"
                         " lifetime_reserve_coinsurance_cents, snf_coinsurance_day21_cents"
                         " FROM program_amounts ORDER BY year",
                         -1, &st, NULL) != SQLITE_OK)
    return -EIO;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    ohets_program_amounts a;
    memset(&a, 0, sizeof a);
    a.year = sqlite3_column_int(st, 0);
    a.part_a_deductible_cents = sqlite3_column_int64(st, 1);
    a.part_b_deductible_cents = sqlite3_column_int64(st, 2);
    a.part_b_coinsurance_percent = sqlite3_column_int(st, 3);
    a.hospital_coinsurance_day61_cents = sqlite3_column_int64(st, 4);
    a.lifetime_reserve_coinsurance_cents = sqlite3_column_int64(st, 5);
    a.snf_coinsurance_day21_cents = sqlite3_column_int64(st, 6);
    if ((rc = year(ctx, &a)) != 0)
      goto done;
  }
  rc = step == SQLITE_DONE ? 0 : -EIO;
done:
  sqlite3_finalize(st);
  return rc;
}

static int dump_records(sq_store *s,
                        int (*fn)(void *ctx, const ohets_beneficiary *b,
                                  const ohets_retired_mbis *r),
                        void *ctx) {
  sqlite3_stmt *st = NULL;
  ohets_beneficiary *rec = malloc(sizeof *rec);
  ohets_retired_mbis retired;
  int rc = -EIO, step;
  if (rec == NULL)
    return -ENOMEM;
  if (sqlite3_prepare_v2(s->db,
                         "SELECT b.packed, (SELECT group_concat(retired, ',') FROM"
                         " (SELECT retired FROM retired_mbis WHERE current = b.mbi"
                         "  ORDER BY retired)) FROM beneficiaries b ORDER BY b.mbi",
                         -1, &st, NULL) != SQLITE_OK)
    goto done;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    if (decode_row(st, 0, rec) != 0)
      goto done;
    split_retired((const char *)sqlite3_column_text(st, 1), &retired);
    if ((rc = fn(ctx, rec, &retired)) != 0)
      goto done;
  }
  rc = step == SQLITE_DONE ? 0 : -EIO;
done:
  sqlite3_finalize(st);
  free(rec);
  return rc;
}

/* One read transaction over both queries: one snapshot. */
static int sq_dump(ohets_store *base, int (*year)(void *ctx, const ohets_program_amounts *a),
                   int (*fn)(void *ctx, const ohets_beneficiary *b, const ohets_retired_mbis *r),
                   void *ctx, char *err, size_t errsz) {
  sq_store *s = (sq_store *)base;
  sq_release(base);
  if (sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
    set_err(err, errsz, "cannot read the store", s->db);
    return -EIO;
  }
  int rc = dump_years(s, year, ctx);
  if (rc == 0)
    rc = dump_records(s, fn, ctx);
  if (rc == -EIO)
    set_err(err, errsz, "cannot read the store", s->db);
  sqlite3_exec(s->db, rc == 0 ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
  return rc;
}

static const ohets_store_ops sq_ops = {
    .kind = "sqlite",
    .close = sq_close,
    .user_version = sq_user_version,
    .beneficiary = sq_beneficiary,
    .amounts = sq_amounts,
    .release = sq_release,
    .retired_of = sq_retired_of,
    .each = sq_each,
    .dump = sq_dump,
    .stats = sq_stats,
    .begin = sq_begin,
    .check = sq_check,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .put = sq_put,
    .put_amounts = sq_put_amounts,
    .latest_year = sq_latest_year,
};
