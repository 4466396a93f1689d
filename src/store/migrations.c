/* Versioned schema of the store, SQLite and PostgreSQL side by side.
 *
 * Version N means steps 1..N below have run, and step N is the same change
 * on both backends (the two lists must stay the same length: a build that
 * adds a step to one adds it to the other).  SQLite keeps the version in
 * PRAGMA user_version; PostgreSQL in a table schema_version (one row per
 * step applied, with its time; the version is the highest).  A writable
 * open applies the missing steps in one transaction (PostgreSQL: under an
 * advisory lock, pg_store.c); a read-only open (the server's workers)
 * requires the version to be exactly this program's, so a worker never
 * reads a schema it does not know.  New steps are appended, never edited: a
 * database made by an older build is upgraded by `hets-db init`.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "store/store.h"

static const char *const migration_steps[] = {
    /* 1: tables.  packed is the record in the compact binary encoding of
     * sqlite_store.c (its first byte the encoding's version; `hets-db
     * lookup` shows it as JSON); flags caches which benefits the record
     * has, for stats. */
    "CREATE TABLE beneficiaries ("
    "  mbi TEXT PRIMARY KEY NOT NULL,"
    "  packed BLOB NOT NULL,"
    "  flags INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE retired_mbis ("
    "  retired TEXT PRIMARY KEY NOT NULL,"
    "  current TEXT NOT NULL);"
    "CREATE INDEX retired_mbis_current ON retired_mbis(current);"
    "CREATE TABLE program_amounts ("
    "  year INTEGER PRIMARY KEY NOT NULL,"
    "  part_a_deductible_cents INTEGER NOT NULL,"
    "  part_b_deductible_cents INTEGER NOT NULL,"
    "  part_b_coinsurance_percent INTEGER NOT NULL,"
    "  hospital_coinsurance_day61_cents INTEGER NOT NULL,"
    "  lifetime_reserve_coinsurance_cents INTEGER NOT NULL,"
    "  snf_coinsurance_day21_cents INTEGER NOT NULL);",

    /* 2: the published Medicare amounts (CMS fact sheets), in cents.  Data
     * rows an operator can replace or extend with an import. */
    "INSERT OR REPLACE INTO program_amounts VALUES"
    "  (2023, 160000, 22600, 20, 40000, 80000, 20000),"
    "  (2024, 163200, 24000, 20, 40800, 81600, 20400),"
    "  (2025, 167600, 25700, 20, 41900, 83800, 20950),"
    "  (2026, 173600, 28300, 20, 43400, 86800, 21700);",
};

/* The same steps for PostgreSQL.  MBIs sort byte-wise ("C" collation) as
 * in SQLite, so MBI order (hets-db copy, ohets_store_each) is the same on
 * both; packed is the same encoding, as bytea. */
static const char *const pg_migration_steps[] = {
    /* 1: tables. */
    "CREATE TABLE beneficiaries ("
    "  mbi text COLLATE \"C\" PRIMARY KEY,"
    "  packed bytea NOT NULL,"
    "  flags integer NOT NULL DEFAULT 0);"
    "CREATE TABLE retired_mbis ("
    "  retired text COLLATE \"C\" PRIMARY KEY,"
    "  current text COLLATE \"C\" NOT NULL);"
    "CREATE INDEX retired_mbis_current ON retired_mbis (current);"
    "CREATE TABLE program_amounts ("
    "  year integer PRIMARY KEY,"
    "  part_a_deductible_cents bigint NOT NULL,"
    "  part_b_deductible_cents bigint NOT NULL,"
    "  part_b_coinsurance_percent integer NOT NULL,"
    "  hospital_coinsurance_day61_cents bigint NOT NULL,"
    "  lifetime_reserve_coinsurance_cents bigint NOT NULL,"
    "  snf_coinsurance_day21_cents bigint NOT NULL);",

    /* 2: the published Medicare amounts, as SQLite's step 2. */
    "INSERT INTO program_amounts VALUES"
    "  (2023, 160000, 22600, 20, 40000, 80000, 20000),"
    "  (2024, 163200, 24000, 20, 40800, 81600, 20400),"
    "  (2025, 167600, 25700, 20, 41900, 83800, 20950),"
    "  (2026, 173600, 28300, 20, 43400, 86800, 21700)"
    " ON CONFLICT (year) DO UPDATE SET"
    "  part_a_deductible_cents = EXCLUDED.part_a_deductible_cents,"
    "  part_b_deductible_cents = EXCLUDED.part_b_deductible_cents,"
    "  part_b_coinsurance_percent = EXCLUDED.part_b_coinsurance_percent,"
    "  hospital_coinsurance_day61_cents = EXCLUDED.hospital_coinsurance_day61_cents,"
    "  lifetime_reserve_coinsurance_cents = EXCLUDED.lifetime_reserve_coinsurance_cents,"
    "  snf_coinsurance_day21_cents = EXCLUDED.snf_coinsurance_day21_cents;",
};

#define SCHEMA_VERSION ((int)(sizeof migration_steps / sizeof migration_steps[0]))

_Static_assert(sizeof migration_steps / sizeof migration_steps[0] ==
                   sizeof pg_migration_steps / sizeof pg_migration_steps[0],
               "the SQLite and PostgreSQL migrations must have the same steps");

int ohets_store_schema_version(void) { return SCHEMA_VERSION; }

const char *ohets__pg_migration_step(int step) {
  return step >= 1 && step <= SCHEMA_VERSION ? pg_migration_steps[step - 1] : NULL;
}

int ohets__schema_mismatch(int version, int writable, char *err, size_t errsz) {
  if (version > SCHEMA_VERSION) {
    snprintf(err, errsz,
             "database schema version %d is newer than this program's (%d): "
             "use a newer openhets",
             version, SCHEMA_VERSION);
    return -EPROTO;
  }
  if (version == SCHEMA_VERSION || writable)
    return 0;
  if (version == 0)
    snprintf(err, errsz, "database is not initialized: run hets-db init");
  else
    snprintf(err, errsz,
             "database schema version %d is older than this program's (%d): "
             "run hets-db init to upgrade it",
             version, SCHEMA_VERSION);
  return -EPROTO;
}

static int read_version(sqlite3 *db, int *version, char *err, size_t errsz) {
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_step(st);
  if (rc != SQLITE_ROW) {
    snprintf(err, errsz, "cannot read the schema version: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return -EIO;
  }
  *version = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  return 0;
}

static int exec(sqlite3 *db, const char *sql, const char *what, char *err,
                size_t errsz) {
  char *msg = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK)
    return 0;
  snprintf(err, errsz, "%s: %s", what, msg ? msg : sqlite3_errmsg(db));
  sqlite3_free(msg);
  return -EIO;
}

int ohets__store_migrate(sqlite3 *db, int writable, char *err, size_t errsz) {
  int version = 0;
  int rc = read_version(db, &version, err, errsz);
  if (rc != 0)
    return rc;
  rc = ohets__schema_mismatch(version, writable, err, errsz);
  if (rc != 0 || version == SCHEMA_VERSION)
    return rc;

  /* IMMEDIATE takes the write lock first, so two concurrent inits cannot
   * both apply the same step: the second re-reads the version after it. */
  rc = exec(db, "BEGIN IMMEDIATE", "cannot start the schema upgrade", err, errsz);
  if (rc != 0)
    return rc;
  rc = read_version(db, &version, err, errsz);
  if (rc != 0)
    goto fail;
  for (int step = version; step < SCHEMA_VERSION; step++) {
    char what[64];
    snprintf(what, sizeof what, "schema step %d failed", step + 1);
    rc = exec(db, migration_steps[step], what, err, errsz);
    if (rc != 0)
      goto fail;
  }
  if (version < SCHEMA_VERSION) {
    char sql[48];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", SCHEMA_VERSION);
    rc = exec(db, sql, "cannot record the schema version", err, errsz);
    if (rc != 0)
      goto fail;
  }
  return exec(db, "COMMIT", "cannot commit the schema upgrade", err, errsz);

fail:
  sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
  return rc;
}
