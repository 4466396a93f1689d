/* PostgreSQL eligibility store (libpq): the same interface, records and
 * answers as sqlite_store.c; one backend of store.c's ops table.
 *
 * A handle is one connection (PQconnectdbParams on the URI: a multi-host
 * URI connects to the first host that answers, as target_session_attrs
 * asks; ~/.pgpass, PGPASSFILE, PGSERVICE and the PG* variables apply).
 * Statements are prepared once per connection, on first use.  A lookup is
 * one round trip: the packed record (bytea, the same encoding as SQLite's
 * BLOB) and whether the MBI is a retired one, in binary.  A failed
 * statement (a lost connection included) gives OHETS_LOOKUP_UNAVAILABLE or
 * -EIO; the caller closes the handle and opens another, which reconnects.
 *
 * Writes (import, generate, copy) run in one transaction: program years are
 * upserted as they come; beneficiaries and their retired MBIs are staged
 * with binary COPY into temporary tables, then merged at commit by a few
 * set-based statements that give what SQLite's row-by-row upserts give
 * (the later line wins; a record's retired list replaces its earlier one;
 * an MBI on file as a current beneficiary is no one's retired MBI; a
 * retired MBI that is, or was earlier in the file, a current beneficiary's
 * is refused).  That last check runs at commit (or at ohets__store_check),
 * which name the put that failed, so import reports the same line. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "store/store.h"

#define EACH_PAGE 10000                /* rows per page of each and dump */
#define COPY_FLUSH_BYTES (4u << 20)    /* staged COPY data sent at this size */
#define MIGRATE_LOCK 0x6f68657473130dLL /* pg_advisory_xact_lock key of migrations */
#define CONNECT_TIMEOUT "5"            /* seconds per host unless the URI or
                                          PGCONNECT_TIMEOUT says otherwise */

enum { ST_BEN, ST_BEN_YEARS, ST_YEARS, ST_AMOUNTS, ST_RETIRED_OF, ST_EACH, ST_PUT_AMOUNTS,
       ST_COUNT };

#define MAX_KEPT_YEARS 128 /* program years a read-only handle keeps */
/* Every program year as "year,a,b,c,d,e,f;year,...", in year order. */
#define ALL_YEARS                                                                         \
  "(SELECT string_agg(concat_ws(',', year, part_a_deductible_cents,"                      \
  " part_b_deductible_cents, part_b_coinsurance_percent, hospital_coinsurance_day61_cents," \
  " lifetime_reserve_coinsurance_cents, snf_coinsurance_day21_cents), ';' ORDER BY year)"  \
  " FROM program_amounts)"

static const struct {
  const char *name, *sql;
  int nparams;
} statements[ST_COUNT] = {
    {"ohets_ben",
     "SELECT (SELECT packed FROM beneficiaries WHERE mbi = $1::text),"
     " EXISTS (SELECT 1 FROM retired_mbis WHERE retired = $1::text)",
     1},
    /* The same and every program year: a read-only handle whose years are
     * stale renews them in the lookup's own round trip, so the amounts
     * asked for next (for the same answer) cannot fail apart from it. */
    {"ohets_ben_years",
     "SELECT (SELECT packed FROM beneficiaries WHERE mbi = $1::text),"
     " EXISTS (SELECT 1 FROM retired_mbis WHERE retired = $1::text), " ALL_YEARS,
     1},
    {"ohets_years", "SELECT " ALL_YEARS, 0},
    {"ohets_amounts",
     "SELECT part_a_deductible_cents, part_b_deductible_cents,"
     " part_b_coinsurance_percent, hospital_coinsurance_day61_cents,"
     " lifetime_reserve_coinsurance_cents, snf_coinsurance_day21_cents"
     " FROM program_amounts WHERE year = $1::integer",
     1},
    {"ohets_retired_of",
     "SELECT retired FROM retired_mbis WHERE current = $1::text ORDER BY retired", 1},
    {"ohets_each",
     "SELECT packed FROM beneficiaries WHERE mbi > $1::text ORDER BY mbi LIMIT $2::bigint", 2},
    {"ohets_put_amounts",
     "INSERT INTO program_amounts (year, part_a_deductible_cents, part_b_deductible_cents,"
     " part_b_coinsurance_percent, hospital_coinsurance_day61_cents,"
     " lifetime_reserve_coinsurance_cents, snf_coinsurance_day21_cents)"
     " VALUES ($1::integer, $2::bigint, $3::bigint, $4::integer, $5::bigint, $6::bigint,"
     " $7::bigint) ON CONFLICT (year) DO UPDATE SET"
     " part_a_deductible_cents = EXCLUDED.part_a_deductible_cents,"
     " part_b_deductible_cents = EXCLUDED.part_b_deductible_cents,"
     " part_b_coinsurance_percent = EXCLUDED.part_b_coinsurance_percent,"
     " hospital_coinsurance_day61_cents = EXCLUDED.hospital_coinsurance_day61_cents,"
     " lifetime_reserve_coinsurance_cents = EXCLUDED.lifetime_reserve_coinsurance_cents,"
     " snf_coinsurance_day21_cents = EXCLUDED.snf_coinsurance_day21_cents",
     7},
};

/* Binary COPY data waiting to be sent. */
typedef struct copybuf {
  char *p;
  size_t len, cap;
} copybuf;

typedef struct pg_store {
  ohets_store base; /* first: the handle is an ohets_store */
  PGconn *conn;
  int readonly;
  unsigned prepared; /* bit per statement prepared on this connection */
  /* Read-only: every program year as read at years_at_ms, kept
   * SNAPSHOT_MAX_MS; years_kept 0: none kept (or more than MAX_KEPT_YEARS:
   * then each is asked for). */
  int years_kept;
  unsigned n_years;
  int64_t years_at_ms;
  ohets_program_amounts years[MAX_KEPT_YEARS];
  /* Writes. */
  int in_tx;           /* a write transaction is open */
  int staging;         /* its temporary tables exist */
  unsigned long puts;  /* ordinal of the next put */
  copybuf ben, ret;    /* rows for ohets_in_ben, ohets_in_ret */
  /* The MBIs staged in this transaction (open addressing, 0 = empty), so
   * that the merge sorts them out only when one came twice. */
  uint64_t *seen;
  size_t seen_n, seen_cap;
  int twice;
} pg_store;

static const ohets_store_ops pg_ops;

/* ---------------------------------------------------------------- errors */

/* msg on one line: libpq's are several ("...failed: X\n\tIs the server
 * running...?\n"), one per host tried. */
static void one_line(char *msg) {
  size_t o = 0;
  int blank = 0;
  for (size_t i = 0; msg[i] != '\0'; i++) {
    char c = msg[i];
    if (c == '\n' || c == '\r' || c == '\t') {
      blank = 1;
      continue;
    }
    if (blank && o > 0)
      msg[o++] = ' ';
    blank = 0;
    msg[o++] = c;
  }
  msg[o] = '\0';
}

/* A failed statement's error as "what: ERROR:  primary message": never
 * the server's DETAIL, HINT, CONTEXT or query position, which may quote a
 * row (a unique key, a failing row: an MBI, a name).  With no result, the
 * first line of the connection's message. */
static void set_err(char *err, size_t errsz, const char *what, const PGconn *c,
                    const PGresult *r) {
  if (err == NULL || errsz == 0)
    return;
  const char *sev = r != NULL ? PQresultErrorField(r, PG_DIAG_SEVERITY) : NULL;
  const char *primary = r != NULL ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
  if (primary != NULL) {
    snprintf(err, errsz, "%s: %s:  %s", what, sev ? sev : "ERROR", primary);
  } else {
    const char *m = r != NULL ? PQresultErrorMessage(r) : NULL;
    if (m == NULL || m[0] == '\0')
      m = c != NULL ? PQerrorMessage(c) : "out of memory";
    if (m[0] == '\0')
      m = "unknown error";
    snprintf(err, errsz, "%s: %.*s", what, (int)strcspn(m, "\n"), m);
  }
  one_line(err);
}

/* Replaces every copy of secret (n bytes) in msg with ***. */
static void scrub_one(char *msg, const char *secret, size_t n) {
  char *at;
  if (n < 3) /* libpq never quotes a password; only a long enough one is sought */
    return;
  while ((at = memmem(msg, strlen(msg), secret, n)) != NULL) {
    memcpy(at, "***", 3);
    memmove(at + 3, at + n, strlen(at + n) + 1);
  }
}

/* Takes out of msg anything of uri's passwords, as written or as libpq
 * decoded them (a message about a bad URI may quote a piece of it). */
static void scrub(char *msg, const char *uri) {
  ohets__span spans[16];
  int n = ohets__secrets(uri, spans, 16);
  for (int i = 0; i < n && i < 16; i++)
    scrub_one(msg, uri + spans[i].at, spans[i].len);
  PQconninfoOption *opts = PQconninfoParse(uri, NULL);
  for (PQconninfoOption *o = opts; o != NULL && o->keyword != NULL; o++)
    if (o->val != NULL && strstr(o->keyword, "password") != NULL)
      scrub_one(msg, o->val, strlen(o->val));
  PQconninfoFree(opts);
}

static void quiet(void *arg, const char *message) { /* notices are not errors */
  (void)arg;
  (void)message;
}

/* ------------------------------------------------------------- statements */

static int exec_ok(pg_store *s, const char *sql, char *err, size_t errsz,
                   const char *what) {
  PGresult *r = PQexec(s->conn, sql);
  ExecStatusType st = PQresultStatus(r);
  int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
  if (!ok)
    set_err(err, errsz, what, s->conn, r);
  PQclear(r);
  return ok ? 0 : -EIO;
}

static int prepare(pg_store *s, int id) {
  if (s->prepared & (1u << id))
    return 0;
  PGresult *r = PQprepare(s->conn, statements[id].name, statements[id].sql,
                          statements[id].nparams, NULL);
  int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  PQclear(r);
  if (!ok)
    return -EIO;
  s->prepared |= 1u << id;
  return 0;
}

/* A prepared statement's result (binary when binary), or NULL after a
 * failure (the result cleared). */
static PGresult *run(pg_store *s, int id, const char *const *params, int binary) {
  if (prepare(s, id) != 0)
    return NULL;
  PGresult *r = PQexecPrepared(s->conn, statements[id].name, statements[id].nparams, params,
                               NULL, NULL, binary);
  ExecStatusType st = PQresultStatus(r);
  if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
    return r;
  PQclear(r);
  return NULL;
}

static int64_t be_int(const char *p, int len) {
  uint64_t v = 0;
  for (int i = 0; i < len; i++)
    v = v << 8 | (uint8_t)p[i];
  if (len == 4)
    return (int32_t)(uint32_t)v;
  return (int64_t)v;
}

/* A binary integer column of 4 or 8 bytes; 0 if it is something else. */
static int int_col(const PGresult *r, int row, int col, int64_t *out) {
  int len = PQgetlength(r, row, col);
  if (PQgetisnull(r, row, col) || (len != 4 && len != 8))
    return 0;
  *out = be_int(PQgetvalue(r, row, col), len);
  return 1;
}

/* One-row, one-column integer query in text; -1 on failure. */
static long query_long(pg_store *s, const char *sql) {
  PGresult *r = PQexec(s->conn, sql);
  long v = -1;
  if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
    v = strtol(PQgetvalue(r, 0, 0), NULL, 10);
  PQclear(r);
  return v;
}

/* --------------------------------------------------------------- schema */

static int read_version(pg_store *s, int *version, char *err, size_t errsz) {
  PGresult *r = PQexec(s->conn, "SELECT coalesce(max(version), 0) FROM schema_version");
  int rc = 0;
  if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
    *version = atoi(PQgetvalue(r, 0, 0));
  } else {
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    if (state != NULL && strcmp(state, "42P01") == 0) { /* no such table */
      *version = 0;
    } else {
      set_err(err, errsz, "cannot read the schema version", s->conn, r);
      rc = -EIO;
    }
  }
  PQclear(r);
  return rc;
}

/* The missing steps in one transaction; the advisory lock makes a second
 * init wait and then find them done. */
static int migrate(pg_store *s, char *err, size_t errsz) {
  char sql[128];
  int version = 0, rc;
  if ((rc = exec_ok(s, "BEGIN", err, errsz, "cannot start the schema upgrade")) != 0)
    return rc;
  snprintf(sql, sizeof sql, "SELECT pg_advisory_xact_lock(%lld)", (long long)MIGRATE_LOCK);
  if ((rc = exec_ok(s, sql, err, errsz, "cannot start the schema upgrade")) != 0 ||
      (rc = exec_ok(s,
                    "CREATE TABLE IF NOT EXISTS schema_version ("
                    " version integer PRIMARY KEY,"
                    " applied_at timestamptz NOT NULL DEFAULT now())",
                    err, errsz, "cannot create schema_version")) != 0 ||
      (rc = read_version(s, &version, err, errsz)) != 0)
    goto fail;
  for (int step = version + 1; step <= ohets_store_schema_version(); step++) {
    char what[64];
    snprintf(what, sizeof what, "schema step %d failed", step);
    if ((rc = exec_ok(s, ohets__pg_migration_step(step), err, errsz, what)) != 0)
      goto fail;
    snprintf(sql, sizeof sql, "INSERT INTO schema_version (version) VALUES (%d)", step);
    if ((rc = exec_ok(s, sql, err, errsz, "cannot record the schema version")) != 0)
      goto fail;
  }
  return exec_ok(s, "COMMIT", err, errsz, "cannot commit the schema upgrade");
fail:
  PQclear(PQexec(s->conn, "ROLLBACK"));
  return rc;
}

static int pg_user_version(ohets_store *base) {
  pg_store *s = (pg_store *)base;
  int v = 0;
  return read_version(s, &v, NULL, 0) == 0 ? v : -1;
}

/* ----------------------------------------------------------------- open */

static void pg_close(ohets_store *base) {
  pg_store *s = (pg_store *)base;
  if (s == NULL)
    return;
  PQfinish(s->conn); /* an open transaction ends with the connection */
  free(s->ben.p);
  free(s->ret.p);
  free(s->seen);
  free(s);
}

int ohets__pg_open(ohets_store **out, const char *uri, int flags, char *err,
                   size_t errsz) {
  char shown[512], local[1400] = "";
  int rc = -EIO, version = 0;
  pg_store *s = calloc(1, sizeof *s);
  *out = NULL;
  ohets_store_redact(uri, shown, sizeof shown);
  if (s == NULL) {
    snprintf(local, sizeof local, "out of memory");
    rc = -ENOMEM;
    goto fail;
  }
  s->base.ops = &pg_ops;
  s->readonly = (flags & OHETS_STORE_READONLY) != 0;

  /* Defaults first: what the URI says overrides them. */
  const char *keys[4], *vals[4];
  int k = 0;
  if (getenv("PGCONNECT_TIMEOUT") == NULL) {
    keys[k] = "connect_timeout";
    vals[k++] = CONNECT_TIMEOUT;
  }
  keys[k] = "fallback_application_name";
  vals[k++] = "openhets";
  keys[k] = "dbname";
  vals[k++] = uri;
  keys[k] = NULL;
  vals[k] = NULL;
  s->conn = PQconnectdbParams(keys, vals, 1);
  if (s->conn == NULL || PQstatus(s->conn) != CONNECTION_OK) {
    char msg[800];
    snprintf(msg, sizeof msg, "%s", s->conn ? PQerrorMessage(s->conn) : "out of memory");
    one_line(msg);
    scrub(msg, uri);
    snprintf(local, sizeof local, "cannot connect to %s: %s", shown, msg);
    goto fail;
  }
  PQsetNoticeProcessor(s->conn, quiet, NULL);
  if (s->readonly &&
      exec_ok(s, "SET default_transaction_read_only = on", local, sizeof local,
              "cannot open the store read-only") != 0)
    goto fail;
  if ((rc = read_version(s, &version, local, sizeof local)) != 0 ||
      (rc = ohets__schema_mismatch(version, !s->readonly, local, sizeof local)) != 0)
    goto fail;
  if (!s->readonly && version < ohets_store_schema_version() &&
      (rc = migrate(s, local, sizeof local)) != 0)
    goto fail;
  *out = &s->base;
  return 0;

fail:
  if (err != NULL && errsz > 0)
    snprintf(err, errsz, "%s", local);
  pg_close(s ? &s->base : NULL);
  return rc < 0 ? rc : -EIO;
}

/* -------------------------------------------------------------- lookups */

static void pg_release(ohets_store *base) {
  pg_store *s = (pg_store *)base;
  s->years_kept = 0;
}

/* Keeps the years of ALL_YEARS's text (NULL: the table is empty). */
static void keep_years(pg_store *s, const char *text) {
  s->years_kept = 0;
  s->n_years = 0;
  for (const char *p = text; p != NULL && *p != '\0';) {
    long long v[7];
    char *end;
    if (s->n_years == MAX_KEPT_YEARS)
      return; /* too many to keep: each is asked for */
    for (int i = 0; i < 7; i++) {
      v[i] = strtoll(p, &end, 10);
      if (end == p || (i < 6 && *end != ','))
        return;
      p = i < 6 ? end + 1 : end;
    }
    if (*p != ';' && *p != '\0')
      return;
    ohets_program_amounts *a = &s->years[s->n_years++];
    memset(a, 0, sizeof *a);
    a->year = (int)v[0];
    a->part_a_deductible_cents = v[1];
    a->part_b_deductible_cents = v[2];
    a->part_b_coinsurance_percent = (int)v[3];
    a->hospital_coinsurance_day61_cents = v[4];
    a->lifetime_reserve_coinsurance_cents = v[5];
    a->snf_coinsurance_day21_cents = v[6];
    if (*p == ';')
      p++;
  }
  s->years_kept = 1;
  s->years_at_ms = ohets__coarse_ms();
}

static int years_fresh(const pg_store *s) {
  return s->readonly && s->years_kept &&
         ohets__coarse_ms() - s->years_at_ms <= OHETS__SNAPSHOT_MAX_MS;
}

static ohets_lookup_status pg_beneficiary(void *store, const char *mbi,
                                          ohets_beneficiary *out) {
  pg_store *s = store;
  char key[12];
  const char *params[1] = {key};
  ohets_lookup_status st = OHETS_LOOKUP_UNAVAILABLE;
  if (!ohets__mbi_key(mbi, key))
    return OHETS_LOOKUP_NOT_FOUND;
  int with_years = s->readonly && !years_fresh(s);
  PGresult *r = run(s, with_years ? ST_BEN_YEARS : ST_BEN, params, 1);
  if (r == NULL) {
    s->years_kept = 0;
    return OHETS_LOOKUP_UNAVAILABLE;
  }
  if (PQntuples(r) == 1 && PQnfields(r) == 2 + with_years) {
    if (!PQgetisnull(r, 0, 0))
      st = ohets__record_unpack((const uint8_t *)PQgetvalue(r, 0, 0),
                                (size_t)PQgetlength(r, 0, 0), out) == 0
               ? OHETS_LOOKUP_FOUND
               : OHETS_LOOKUP_UNAVAILABLE;
    else if (PQgetlength(r, 0, 1) == 1)
      st = PQgetvalue(r, 0, 1)[0] ? OHETS_LOOKUP_RETIRED : OHETS_LOOKUP_NOT_FOUND;
    if (with_years)
      keep_years(s, PQgetisnull(r, 0, 2) ? NULL : PQgetvalue(r, 0, 2));
  }
  PQclear(r);
  return st;
}

/* One year, asked for. */
static int amounts_of(pg_store *s, int year, ohets_program_amounts *out) {
  char y[16];
  const char *params[1] = {y};
  int rc = -EIO;
  snprintf(y, sizeof y, "%d", year);
  PGresult *r = run(s, ST_AMOUNTS, params, 1);
  if (r != NULL && PQntuples(r) == 0) {
    rc = -ENOENT;
  } else if (r != NULL && PQntuples(r) == 1 && PQnfields(r) == 6) {
    int64_t v[6];
    int ok = 1;
    for (int i = 0; i < 6; i++)
      ok &= int_col(r, 0, i, &v[i]);
    if (ok) {
      memset(out, 0, sizeof *out);
      out->year = year;
      out->part_a_deductible_cents = v[0];
      out->part_b_deductible_cents = v[1];
      out->part_b_coinsurance_percent = (int)v[2];
      out->hospital_coinsurance_day61_cents = v[3];
      out->lifetime_reserve_coinsurance_cents = v[4];
      out->snf_coinsurance_day21_cents = v[5];
      rc = 0;
    }
  }
  PQclear(r);
  return rc;
}

static int pg_amounts(void *store, int year, ohets_program_amounts *out) {
  pg_store *s = store;
  if (s->readonly && !years_fresh(s)) {
    PGresult *r = run(s, ST_YEARS, NULL, 0);
    if (r == NULL)
      return -EIO;
    if (PQntuples(r) == 1 && PQnfields(r) == 1)
      keep_years(s, PQgetisnull(r, 0, 0) ? NULL : PQgetvalue(r, 0, 0));
    PQclear(r);
  }
  if (!years_fresh(s))
    return amounts_of(s, year, out);
  for (unsigned i = 0; i < s->n_years; i++)
    if (s->years[i].year == year) {
      *out = s->years[i];
      return 0;
    }
  return -ENOENT;
}

static int pg_retired_of(ohets_store *base, const char *mbi, ohets_retired_mbis *out) {
  pg_store *s = (pg_store *)base;
  const char *params[1] = {mbi};
  out->n = 0;
  PGresult *r = run(s, ST_RETIRED_OF, params, 0);
  if (r == NULL)
    return -EIO;
  for (int i = 0; i < PQntuples(r) && out->n < OHETS_STORE_MAX_RETIRED; i++) {
    const char *m = PQgetvalue(r, i, 0);
    if (strlen(m) == 11)
      memcpy(out->mbi[out->n++], m, 12);
  }
  PQclear(r);
  return 0;
}

static int pg_each(ohets_store *base, const char *after, unsigned long limit,
                   int (*fn)(void *ctx, const ohets_beneficiary *rec), void *ctx) {
  pg_store *s = (pg_store *)base;
  ohets_beneficiary *rec = malloc(sizeof *rec);
  char from[12] = "", count[24];
  const char *params[2] = {from, count};
  int rc = 0;
  if (rec == NULL)
    return -ENOMEM;
  snprintf(from, sizeof from, "%s", after ? after : "");
  while (limit > 0 && rc == 0) {
    unsigned long page = limit < EACH_PAGE ? limit : EACH_PAGE;
    snprintf(count, sizeof count, "%lu", page);
    PGresult *r = run(s, ST_EACH, params, 1);
    if (r == NULL) {
      rc = -EIO;
      break;
    }
    int n = PQntuples(r);
    for (int i = 0; i < n && rc == 0; i++) {
      if (ohets__record_unpack((const uint8_t *)PQgetvalue(r, i, 0),
                               (size_t)PQgetlength(r, i, 0), rec) != 0) {
        rc = -EIO;
        break;
      }
      rc = fn(ctx, rec);
      snprintf(from, sizeof from, "%s", rec->mbi);
    }
    PQclear(r);
    if ((unsigned long)n < page)
      break;
    limit -= page;
  }
  free(rec);
  return rc;
}

/* ---------------------------------------------------------------- stats */

static int pg_stats(ohets_store *base, ohets_store_stats *out, char *err, size_t errsz) {
  pg_store *s = (pg_store *)base;
  memset(out, 0, sizeof *out);
  PGresult *r = PQexec(s->conn,
                       "SELECT (SELECT coalesce(max(version), 0) FROM schema_version),"
                       " (SELECT count(*) FROM retired_mbis), count(*),"
                       " count(*) FILTER (WHERE flags & 1 <> 0),"
                       " count(*) FILTER (WHERE flags & 2 <> 0),"
                       " count(*) FILTER (WHERE flags & 4 <> 0),"
                       " count(*) FILTER (WHERE flags & 8 <> 0),"
                       " count(*) FILTER (WHERE flags & 16 <> 0),"
                       " count(*) FILTER (WHERE flags & 32 <> 0),"
                       " count(*) FILTER (WHERE flags & 64 <> 0),"
                       " count(*) FILTER (WHERE flags & 128 <> 0),"
                       " count(*) FILTER (WHERE flags & 256 <> 0),"
                       " count(*) FILTER (WHERE flags & 512 <> 0)"
                       " FROM beneficiaries");
  if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1 || PQnfields(r) != 13) {
    set_err(err, errsz, "cannot read statistics", s->conn, r);
    PQclear(r);
    return -EIO;
  }
  long *cols[] = {&out->retired_mbis, &out->beneficiaries, &out->part_a,  &out->part_b,
                  &out->ma,           &out->part_d,        &out->msp,     &out->hospice,
                  &out->home_health,  &out->esrd,          &out->qmb,     &out->deceased};
  out->schema_version = atoi(PQgetvalue(r, 0, 0));
  for (int i = 0; i < (int)(sizeof cols / sizeof cols[0]); i++)
    *cols[i] = strtol(PQgetvalue(r, 0, i + 1), NULL, 10);
  PQclear(r);
  r = PQexec(s->conn, "SELECT year FROM program_amounts ORDER BY year");
  if (PQresultStatus(r) != PGRES_TUPLES_OK) {
    set_err(err, errsz, "cannot read statistics", s->conn, r);
    PQclear(r);
    return -EIO;
  }
  for (int i = 0; i < PQntuples(r); i++)
    if (out->n_program_years < sizeof out->program_years / sizeof out->program_years[0])
      out->program_years[out->n_program_years++] = atoi(PQgetvalue(r, i, 0));
  PQclear(r);
  return 0;
}

static int pg_latest_year(ohets_store *base) {
  long y = query_long((pg_store *)base, "SELECT coalesce(max(year), 0) FROM program_amounts");
  return y > 0 ? (int)y : 0;
}

/* ------------------------------------------------------------------ dump */

static int dump_years(pg_store *s, int (*year)(void *ctx, const ohets_program_amounts *a),
                      void *ctx, char *err, size_t errsz) {
  PGresult *r = PQexecParams(s->conn,
                             "SELECT year, part_a_deductible_cents, part_b_deductible_cents,"
                             " part_b_coinsurance_percent, hospital_coinsurance_day61_cents,"
                             " lifetime_reserve_coinsurance_cents, snf_coinsurance_day21_cents"
                             " FROM program_amounts ORDER BY year",
                             0, NULL, NULL, NULL, NULL, 1);
  int rc = 0;
  if (PQresultStatus(r) != PGRES_TUPLES_OK || PQnfields(r) != 7) {
    set_err(err, errsz, "cannot read the store", s->conn, r);
    PQclear(r);
    return -EIO;
  }
  for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
    int64_t v[7];
    int ok = 1;
    for (int c = 0; c < 7; c++)
      ok &= int_col(r, i, c, &v[c]);
    if (!ok) {
      snprintf(err, errsz, "cannot read the store: unexpected program_amounts columns");
      rc = -EIO;
      break;
    }
    ohets_program_amounts a;
    memset(&a, 0, sizeof a);
    a.year = (int)v[0];
    a.part_a_deductible_cents = v[1];
    a.part_b_deductible_cents = v[2];
    a.part_b_coinsurance_percent = (int)v[3];
    a.hospital_coinsurance_day61_cents = v[4];
    a.lifetime_reserve_coinsurance_cents = v[5];
    a.snf_coinsurance_day21_cents = v[6];
    rc = year(ctx, &a);
  }
  PQclear(r);
  return rc;
}

static int dump_records(pg_store *s,
                        int (*fn)(void *ctx, const ohets_beneficiary *b,
                                  const ohets_retired_mbis *r),
                        void *ctx, char *err, size_t errsz) {
  ohets_beneficiary *rec = malloc(sizeof *rec);
  ohets_retired_mbis retired;
  char from[12] = "";
  const char *params[1] = {from};
  int rc = 0, n;
  if (rec == NULL)
    return -ENOMEM;
  do {
    PGresult *r = PQexecParams(s->conn,
                               "SELECT b.packed, (SELECT string_agg(r.retired, ','"
                               " ORDER BY r.retired) FROM retired_mbis r"
                               " WHERE r.current = b.mbi) FROM beneficiaries b"
                               " WHERE b.mbi > $1::text ORDER BY b.mbi LIMIT 10000",
                               1, NULL, params, NULL, NULL, 1);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
      set_err(err, errsz, "cannot read the store", s->conn, r);
      PQclear(r);
      rc = -EIO;
      break;
    }
    n = PQntuples(r);
    for (int i = 0; i < n && rc == 0; i++) {
      if (ohets__record_unpack((const uint8_t *)PQgetvalue(r, i, 0),
                               (size_t)PQgetlength(r, i, 0), rec) != 0) {
        snprintf(err, errsz, "cannot read the store: a damaged record");
        rc = -EIO;
        break;
      }
      retired.n = 0;
      for (const char *p = PQgetisnull(r, i, 1) ? "" : PQgetvalue(r, i, 1);
           *p != '\0' && retired.n < OHETS_STORE_MAX_RETIRED;) {
        size_t len = strcspn(p, ",");
        if (len == 11) {
          memcpy(retired.mbi[retired.n], p, 11);
          retired.mbi[retired.n++][11] = '\0';
        }
        p += len + (p[len] == ',');
      }
      rc = fn(ctx, rec, &retired);
      snprintf(from, sizeof from, "%s", rec->mbi);
    }
    PQclear(r);
  } while (rc == 0 && n == EACH_PAGE);
  free(rec);
  return rc;
}

/* One REPEATABLE READ transaction: every page reads the same snapshot. */
static int pg_dump(ohets_store *base, int (*year)(void *ctx, const ohets_program_amounts *a),
                   int (*fn)(void *ctx, const ohets_beneficiary *b, const ohets_retired_mbis *r),
                   void *ctx, char *err, size_t errsz) {
  pg_store *s = (pg_store *)base;
  int rc = exec_ok(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err, errsz,
                   "cannot read the store");
  if (rc != 0)
    return rc;
  rc = dump_years(s, year, ctx, err, errsz);
  if (rc == 0)
    rc = dump_records(s, fn, ctx, err, errsz);
  PQclear(PQexec(s->conn, rc == 0 ? "COMMIT" : "ROLLBACK"));
  return rc;
}

/* --------------------------------------------------------------- writes */

static void buf_reset(copybuf *b) { b->len = 0; }

static int buf_add(copybuf *b, const void *p, size_t n) {
  if (n > b->cap - b->len) {
    size_t cap = b->cap ? b->cap : 1u << 16;
    while (cap - b->len < n)
      cap *= 2;
    char *q = realloc(b->p, cap);
    if (q == NULL)
      return -ENOMEM;
    b->p = q;
    b->cap = cap;
  }
  memcpy(b->p + b->len, p, n);
  b->len += n;
  return 0;
}

static int add_u16(copybuf *b, unsigned v) {
  uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};
  return buf_add(b, x, 2);
}

static int add_u32(copybuf *b, uint32_t v) {
  uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
  return buf_add(b, x, 4);
}

/* Binary COPY fields: a length, then the value in network order. */
static int field_int8(copybuf *b, uint64_t v) {
  return add_u32(b, 8) | add_u32(b, (uint32_t)(v >> 32)) | add_u32(b, (uint32_t)v);
}

static int field_int4(copybuf *b, int32_t v) {
  return add_u32(b, 4) | add_u32(b, (uint32_t)v);
}

static int field_bytes(copybuf *b, const void *p, size_t n) {
  return add_u32(b, (uint32_t)n) | buf_add(b, p, n);
}

/* Sends one buffer's rows with one COPY ... FROM STDIN (FORMAT binary). */
static int flush_one(pg_store *s, copybuf *b, const char *sql, char *err, size_t errsz) {
  static const char head[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0";
  static const char tail[2] = "\377\377";
  if (b->len == 0)
    return 0;
  PGresult *r = PQexec(s->conn, sql);
  if (PQresultStatus(r) != PGRES_COPY_IN) {
    set_err(err, errsz, "cannot store the records", s->conn, r);
    PQclear(r);
    return -EIO;
  }
  PQclear(r);
  int ok = PQputCopyData(s->conn, head, sizeof head) == 1 &&
           PQputCopyData(s->conn, b->p, (int)b->len) == 1 &&
           PQputCopyData(s->conn, tail, sizeof tail) == 1;
  ok &= PQputCopyEnd(s->conn, ok ? NULL : "openhets: COPY cut short") == 1;
  int rc = 0;
  while ((r = PQgetResult(s->conn)) != NULL) {
    if (PQresultStatus(r) != PGRES_COMMAND_OK && rc == 0) {
      set_err(err, errsz, "cannot store the records", s->conn, r);
      rc = -EIO;
    }
    PQclear(r);
  }
  if (rc == 0 && !ok) {
    set_err(err, errsz, "cannot store the records", s->conn, NULL);
    rc = -EIO;
  }
  buf_reset(b);
  return rc;
}

static int flush(pg_store *s, char *err, size_t errsz) {
  int rc = flush_one(s, &s->ben,
                     "COPY ohets_in_ben (ord, mbi, packed, flags) FROM STDIN (FORMAT binary)",
                     err, errsz);
  if (rc == 0)
    rc = flush_one(s, &s->ret,
                   "COPY ohets_in_ret (ord, idx, retired, current) FROM STDIN (FORMAT binary)",
                   err, errsz);
  return rc;
}

/* An MBI as a number (base 36, below 2^57), plus 1 so that none is 0. */
static uint64_t seen_key(const char *mbi) {
  uint64_t k = 0;
  for (const char *c = mbi; *c != '\0'; c++)
    k = k * 36 + (uint64_t)(*c >= '0' && *c <= '9' ? *c - '0' : (*c & ~0x20) - 'A' + 10);
  return k + 1;
}

/* Notes an MBI staged; sets twice when it was already.  -ENOMEM. */
static int seen_add(pg_store *s, const char *mbi) {
  if (2 * (s->seen_n + 1) > s->seen_cap) {
    size_t cap = s->seen_cap ? s->seen_cap * 2 : 1u << 12;
    uint64_t *t = calloc(cap, sizeof *t);
    if (t == NULL)
      return -ENOMEM;
    for (size_t i = 0; i < s->seen_cap; i++) {
      if (s->seen[i] == 0)
        continue;
      size_t j = (size_t)(s->seen[i] * 0x9e3779b97f4a7c15ULL >> 20) & (cap - 1);
      while (t[j] != 0)
        j = (j + 1) & (cap - 1);
      t[j] = s->seen[i];
    }
    free(s->seen);
    s->seen = t;
    s->seen_cap = cap;
  }
  uint64_t k = seen_key(mbi);
  size_t j = (size_t)(k * 0x9e3779b97f4a7c15ULL >> 20) & (s->seen_cap - 1);
  while (s->seen[j] != 0) {
    if (s->seen[j] == k) {
      s->twice = 1;
      return 0;
    }
    j = (j + 1) & (s->seen_cap - 1);
  }
  s->seen[j] = k;
  s->seen_n++;
  return 0;
}

static void seen_clear(pg_store *s) {
  free(s->seen);
  s->seen = NULL;
  s->seen_n = s->seen_cap = 0;
  s->twice = 0;
}

static int pg_begin(ohets_store *base, char *err, size_t errsz) {
  pg_store *s = (pg_store *)base;
  int rc = exec_ok(s, "BEGIN", err, errsz, "cannot start a transaction");
  s->in_tx = rc == 0;
  s->staging = 0;
  s->puts = 0;
  buf_reset(&s->ben);
  buf_reset(&s->ret);
  seen_clear(s);
  return rc;
}

static void pg_rollback(ohets_store *base) {
  pg_store *s = (pg_store *)base;
  if (s->in_tx)
    PQclear(PQexec(s->conn, "ROLLBACK"));
  s->in_tx = 0;
  s->staging = 0;
  buf_reset(&s->ben);
  buf_reset(&s->ret);
  seen_clear(s);
}

static int staging_tables(pg_store *s, char *err, size_t errsz) {
  if (s->staging)
    return 0;
  int rc = exec_ok(s,
                   "CREATE TEMPORARY TABLE ohets_in_ben ("
                   " ord bigint NOT NULL, mbi text COLLATE \"C\" NOT NULL,"
                   " packed bytea NOT NULL, flags integer NOT NULL) ON COMMIT DROP;"
                   "CREATE TEMPORARY TABLE ohets_in_ret ("
                   " ord bigint NOT NULL, idx integer NOT NULL,"
                   " retired text COLLATE \"C\" NOT NULL,"
                   " current text COLLATE \"C\" NOT NULL) ON COMMIT DROP",
                   err, errsz, "cannot store the records");
  s->staging = rc == 0;
  return rc;
}

static int pg_put(ohets_store *base, const ohets_beneficiary *rec,
                  const ohets_retired_mbis *retired, char *err, size_t errsz) {
  pg_store *s = (pg_store *)base;
  uint8_t packed[OHETS__PACK_CAP];
  long plen = ohets__record_pack(rec, packed, sizeof packed);
  size_t mlen = strlen(rec->mbi);
  int rc;
  if (plen < 0) { /* cannot happen: OHETS__PACK_CAP bounds every record */
    snprintf(err, errsz, "record too large to encode");
    return -ENOBUFS;
  }
  if ((rc = staging_tables(s, err, errsz)) != 0)
    return rc;
  uint64_t ord = s->puts;
  rc = add_u16(&s->ben, 4) | field_int8(&s->ben, ord) | field_bytes(&s->ben, rec->mbi, mlen) |
       field_bytes(&s->ben, packed, (size_t)plen) |
       field_int4(&s->ben, ohets__record_flags(rec));
  for (unsigned i = 0; rc == 0 && retired != NULL && i < retired->n; i++)
    rc = add_u16(&s->ret, 4) | field_int8(&s->ret, ord) | field_int4(&s->ret, (int32_t)i) |
         field_bytes(&s->ret, retired->mbi[i], strlen(retired->mbi[i])) |
         field_bytes(&s->ret, rec->mbi, mlen);
  if (rc == 0)
    rc = seen_add(s, rec->mbi);
  if (rc != 0) {
    snprintf(err, errsz, "out of memory");
    return -ENOMEM;
  }
  s->puts++;
  if (s->ben.len + s->ret.len >= COPY_FLUSH_BYTES)
    return flush(s, err, errsz);
  return 0;
}

static int pg_put_amounts(ohets_store *base, const ohets_program_amounts *a, char *err,
                          size_t errsz) {
  pg_store *s = (pg_store *)base;
  char v[7][24];
  const char *params[7];
  snprintf(v[0], sizeof v[0], "%d", a->year);
  snprintf(v[1], sizeof v[1], "%lld", (long long)a->part_a_deductible_cents);
  snprintf(v[2], sizeof v[2], "%lld", (long long)a->part_b_deductible_cents);
  snprintf(v[3], sizeof v[3], "%d", a->part_b_coinsurance_percent);
  snprintf(v[4], sizeof v[4], "%lld", (long long)a->hospital_coinsurance_day61_cents);
  snprintf(v[5], sizeof v[5], "%lld", (long long)a->lifetime_reserve_coinsurance_cents);
  snprintf(v[6], sizeof v[6], "%lld", (long long)a->snf_coinsurance_day21_cents);
  for (int i = 0; i < 7; i++)
    params[i] = v[i];
  PGresult *r = run(s, ST_PUT_AMOUNTS, params, 0);
  if (r == NULL) {
    set_err(err, errsz, "cannot store a program year", s->conn, NULL);
    return -EIO;
  }
  PQclear(r);
  s->puts++;
  return 0;
}

/* The first retired MBI (by put, then by place in its list) that is a
 * current beneficiary's: one already in the store, or one staged by an
 * earlier put or the same.  -EEXIST with *at and err, 0 when none. */
static int find_conflict(pg_store *s, unsigned long *at, char *err, size_t errsz) {
  PGresult *r = PQexec(s->conn,
                       "SELECT ord, idx FROM ("
                       " SELECT t.ord, t.idx FROM ohets_in_ret t"
                       "  JOIN beneficiaries b ON b.mbi = t.retired"
                       " UNION ALL"
                       " SELECT t.ord, t.idx FROM ohets_in_ret t"
                       "  JOIN ohets_in_ben n ON n.mbi = t.retired AND n.ord <= t.ord"
                       ") c ORDER BY ord, idx LIMIT 1");
  int rc = 0;
  if (PQresultStatus(r) != PGRES_TUPLES_OK) {
    set_err(err, errsz, "cannot check the records", s->conn, r);
    rc = -EIO;
  } else if (PQntuples(r) == 1) {
    *at = strtoul(PQgetvalue(r, 0, 0), NULL, 10);
    snprintf(err, errsz, "\"retired_mbis[%s]\": " OHETS__RETIRED_IS_CURRENT,
             PQgetvalue(r, 0, 1));
    rc = -EEXIST;
  }
  PQclear(r);
  return rc;
}

static int pg_check(ohets_store *base, unsigned long *at, char *err, size_t errsz) {
  pg_store *s = (pg_store *)base;
  if (!s->staging)
    return 0;
  int rc = flush(s, err, errsz);
  return rc != 0 ? rc : find_conflict(s, at, err, errsz);
}

/* The staged rows into the store, as SQLite's puts one after another
 * would leave it.  First the retired MBIs: the old lists of every MBI
 * written, and every retired MBI written or listed again, go; then each
 * retired MBI's latest listing, unless a later put wrote its current MBI
 * again (a new list replaced it) or wrote it as a current MBI.  Then the
 * records: for each MBI its latest (the earlier ones are deleted from the
 * staging table first when an MBI came twice), updating the MBIs on file
 * and inserting the others. */
static const char *const merge_retired[] = {
    "DELETE FROM retired_mbis r USING ohets_in_ben n WHERE r.current = n.mbi",
    "DELETE FROM retired_mbis r USING ohets_in_ben n WHERE r.retired = n.mbi",
    "DELETE FROM retired_mbis r USING ohets_in_ret t WHERE r.retired = t.retired",
    "INSERT INTO retired_mbis (retired, current)"
    " SELECT t.retired, t.current FROM (SELECT DISTINCT ON (retired) retired, current, ord"
    "  FROM ohets_in_ret ORDER BY retired, ord DESC) t"
    " WHERE NOT EXISTS (SELECT 1 FROM ohets_in_ben n WHERE n.mbi = t.current AND n.ord > t.ord)"
    "  AND NOT EXISTS (SELECT 1 FROM ohets_in_ben n WHERE n.mbi = t.retired AND n.ord > t.ord)",
};
static const char *const merge_latest =
    "DELETE FROM ohets_in_ben n USING ohets_in_ben m WHERE m.mbi = n.mbi AND m.ord > n.ord";
static const char *const merge_records[] = {
    "UPDATE beneficiaries b SET packed = n.packed, flags = n.flags"
    " FROM ohets_in_ben n WHERE b.mbi = n.mbi",
    "INSERT INTO beneficiaries (mbi, packed, flags)"
    " SELECT n.mbi, n.packed, n.flags FROM ohets_in_ben n"
    " WHERE NOT EXISTS (SELECT 1 FROM beneficiaries b WHERE b.mbi = n.mbi)",
};

static int merge(pg_store *s, unsigned long *at, char *err, size_t errsz) {
  static const char *const what = "cannot store the records";
  int rc = flush(s, err, errsz);
  /* One writer at a time (as SQLite's write lock): readers go on, another
   * import waits here, so nothing changes between the check and the merge.
   * Sorts and hashes of a big import stay in memory (this transaction's
   * setting only); the planner gets the staging tables' sizes. */
  if (rc == 0)
    rc = exec_ok(s,
                 "LOCK TABLE beneficiaries, retired_mbis IN SHARE ROW EXCLUSIVE MODE;"
                 "SET LOCAL work_mem = '64MB';"
                 "ANALYZE ohets_in_ben (ord, mbi); ANALYZE ohets_in_ret",
                 err, errsz, what);
  if (rc == 0)
    rc = find_conflict(s, at, err, errsz);
  for (size_t i = 0; rc == 0 && i < sizeof merge_retired / sizeof merge_retired[0]; i++)
    rc = exec_ok(s, merge_retired[i], err, errsz, what);
  if (rc == 0 && s->twice)
    rc = exec_ok(s, merge_latest, err, errsz, what);
  for (size_t i = 0; rc == 0 && i < sizeof merge_records / sizeof merge_records[0]; i++)
    rc = exec_ok(s, merge_records[i], err, errsz, what);
  return rc;
}

static int pg_commit(ohets_store *base, unsigned long *at, char *err, size_t errsz) {
  pg_store *s = (pg_store *)base;
  int rc = 0;
  if (!s->in_tx) {
    snprintf(err, errsz, "cannot commit: no transaction");
    return -EIO;
  }
  if (s->staging)
    rc = merge(s, at, err, errsz);
  if (rc == 0)
    rc = exec_ok(s, "COMMIT", err, errsz, "cannot commit");
  if (rc != 0)
    pg_rollback(base);
  s->in_tx = 0;
  s->staging = 0;
  seen_clear(s);
  return rc;
}

static const ohets_store_ops pg_ops = {
    .kind = "postgresql",
    .close = pg_close,
    .user_version = pg_user_version,
    .beneficiary = pg_beneficiary,
    .amounts = pg_amounts,
    .release = pg_release,
    .retired_of = pg_retired_of,
    .each = pg_each,
    .dump = pg_dump,
    .stats = pg_stats,
    .begin = pg_begin,
    .check = pg_check,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .put = pg_put,
    .put_amounts = pg_put_amounts,
    .latest_year = pg_latest_year,
};
