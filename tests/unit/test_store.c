/* The eligibility store: schema, import, lookups, validation, generate,
 * copy and concurrent read handles, on both backends.
 *
 * The store's tests run once per backend, the same test cases in a Check
 * test case each: "sqlite" (a file per store) and "pg" (a schema per store
 * in a PostgreSQL database, chosen with the URI's options=-csearch_path).
 * The PostgreSQL leg needs OHETS_TEST_PG_URL, a libpq URI of a database the
 * tests may create schemas in; tests/pg/unit.sh starts a throwaway cluster,
 * sets it and runs this program with CK_RUN_CASE=pg.  Without it the "pg"
 * case is left out with one line saying so.  What involves no store (the
 * packed format, password masking, partners.json) is in "common". */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* mkdtemp */
#endif
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "caqh/phc.h"
#include "store/partners.h"
#include "store/store.h"

/* ------------------------------------------------------------ fixture */

/* One directory per run, made and removed by the parent process (an
 * unchecked fixture), so a failing test's files go too; one subdirectory
 * per test. */
static char basedir[256];
static char tmpdir[300];
static char dbpath[1200];
static int on_pg;             /* this test runs on the PostgreSQL leg */
static const char *pg_base;   /* OHETS_TEST_PG_URL */

static void make_basedir(void) {
  const char *base = getenv("TMPDIR");
  snprintf(basedir, sizeof basedir, "%s/test_store.XXXXXX", base ? base : "/tmp");
  if (mkdtemp(basedir) == NULL) {
    perror("mkdtemp");
    exit(EXIT_FAILURE);
  }
}

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  remove(path);
  return 0;
}

static void remove_basedir(void) { nftw(basedir, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

/* Runs SQL on a PostgreSQL store (the path's search_path applies). */
static void pg_exec(const char *uri, const char *sql) {
  PGconn *c = PQconnectdb(uri);
  ck_assert_msg(PQstatus(c) == CONNECTION_OK, "connect: %s", PQerrorMessage(c));
  PGresult *r = PQexec(c, sql);
  ExecStatusType st = PQresultStatus(r);
  ck_assert_msg(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s", sql,
                PQresultErrorMessage(r));
  PQclear(r);
  PQfinish(c);
}

/* out: a store of this test named name: a file in the test's directory, or
 * a new schema of the PostgreSQL database (the URI's search_path) made
 * here; extra is added to the URI's query (PostgreSQL only). */
static void store_path_ex(char *out, size_t outsz, const char *name, const char *extra) {
  static unsigned serial;
  if (!on_pg) {
    snprintf(out, outsz, "%s/%s.db", tmpdir, name);
    return;
  }
  char schema[64], sql[128];
  snprintf(schema, sizeof schema, "t%ld_%u_%s", (long)getpid(), serial++, name);
  snprintf(sql, sizeof sql, "CREATE SCHEMA %s", schema);
  pg_exec(pg_base, sql);
  snprintf(out, outsz, "%s%coptions=-csearch_path%%3D%s%s", pg_base,
           strchr(pg_base, '?') ? '&' : '?', schema, extra ? extra : "");
}

static void store_path(char *out, size_t outsz, const char *name) {
  store_path_ex(out, outsz, name, NULL);
}

static void setup_dir(void) {
  static unsigned serial;
  snprintf(tmpdir, sizeof tmpdir, "%s/t%u.%ld", basedir, serial++, (long)getpid());
  ck_assert_int_eq(mkdir(tmpdir, 0700), 0);
}

static void setup_sqlite(void) {
  on_pg = 0;
  setup_dir();
  store_path(dbpath, sizeof dbpath, "eligibility");
}

static void setup_pg(void) {
  on_pg = 1;
  setup_dir();
  store_path(dbpath, sizeof dbpath, "eligibility");
}

static ohets_store *open_rw(const char *path) {
  ohets_store *s = NULL;
  char err[256] = "";
  int rc = ohets_store_open(&s, path, OHETS_STORE_CREATE, err, sizeof err);
  ck_assert_msg(rc == 0, "open: %s", err);
  return s;
}

static ohets_store *open_ro(const char *path) {
  ohets_store *s = NULL;
  char err[256] = "";
  int rc = ohets_store_open(&s, path, OHETS_STORE_READONLY, err, sizeof err);
  ck_assert_msg(rc == 0, "open read-only: %s", err);
  return s;
}

/* Imports text through a temporary file; returns the import's result and,
 * when counts is not NULL, what it stored. */
static int import_text_counted(ohets_store *s, const char *text,
                               ohets_import_counts *counts, char *err, size_t errsz) {
  char path[400];
  snprintf(path, sizeof path, "%s/in.jsonl", tmpdir);
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  fclose(f);
  f = fopen(path, "r");
  ck_assert_ptr_nonnull(f);
  int rc = counts ? ohets_store_import_counted(s, f, counts, err, errsz)
                 : ohets_store_import(s, f, err, errsz);
  fclose(f);
  unlink(path);
  return rc;
}

static int import_text(ohets_store *s, const char *text, char *err, size_t errsz) {
  return import_text_counted(s, text, NULL, err, errsz);
}

/* Runs SQL on the store at path, whichever kind it is. */
static void store_exec(const char *path, const char *sqlite_sql, const char *pg_sql) {
  if (on_pg) {
    pg_exec(path, pg_sql);
    return;
  }
  sqlite3 *db;
  ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
  ck_assert_int_eq(sqlite3_exec(db, sqlite_sql, NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
}

static void set_user_version(const char *path, int v) {
  char a[64], b[128];
  snprintf(a, sizeof a, "PRAGMA user_version = %d", v);
  snprintf(b, sizeof b, "DELETE FROM schema_version; INSERT INTO schema_version (version) "
           "VALUES (%d)", v);
  store_exec(path, a, b);
}

/* A record using every key, several entries, and fractional dollars. */
#define FULL_RECORD                                                                     \
  "{\"mbi\":\"1EG4TE5MK73\",\"last\":\"DOE\",\"first\":\"JANE\",\"middle\":\"Q\","    \
  "\"dob\":\"1940-01-01\",\"sex\":\"F\",\"dod\":\"2026-02-28\","                      \
  "\"address\":{\"line1\":\"123 MAIN ST\",\"line2\":\"APT 4\",\"city\":\"BALTIMORE\"," \
  "\"state\":\"MD\",\"zip\":\"212441850\"},"                                             \
  "\"part_a\":[{\"start\":\"2005-01-01\",\"end\":null}],"                                \
  "\"part_b\":[{\"start\":\"2005-01-01\",\"end\":\"2010-12-31\"},{\"start\":\"2012-01-01\"}]," \
  "\"ma\":[{\"contract\":\"H1234\",\"plan\":\"001\",\"type\":\"HM\",\"name\":\"EXAMPLE HMO\"," \
  "\"phone\":\"8005550100\",\"start\":\"2020-01-01\",\"end\":null}],"                      \
  "\"part_d\":[{\"contract\":\"S5678\",\"plan\":\"002\",\"name\":\"EXAMPLE RX\","          \
  "\"start\":\"2020-01-01\",\"end\":null}],"                                               \
  "\"msp\":[{\"type\":\"12\",\"payer\":\"EMPLOYER GROUP PLAN\",\"policy\":\"ABC123\","      \
  "\"start\":\"2019-05-01\",\"end\":null}],"                                               \
  "\"hospice\":[{\"start\":\"2026-01-01\",\"end\":null,\"npi\":\"1234567893\","             \
  "\"name\":\"EXAMPLE HOSPICE\"}],"                                                        \
  "\"home_health\":[{\"start\":\"2025-11-01\",\"end\":\"2025-12-31\",\"npi\":\"1234567893\"," \
  "\"name\":\"EXAMPLE HHA\"}],"                                                            \
  "\"esrd\":[{\"start\":\"2018-06-01\",\"end\":null}],"                                    \
  "\"qmb\":[{\"start\":\"2021-01-01\",\"end\":null}],"                                     \
  "\"preventive\":[{\"hcpcs\":\"G0438\",\"next_eligible\":\"2027-01-01\"},"                \
  "{\"hcpcs\":\"77067\",\"next_eligible\":null}],"                                         \
  "\"deductibles\":[{\"year\":2026,\"part_a_remaining\":1736,\"part_b_remaining\":12.34}," \
  "{\"year\":2025,\"part_a_remaining\":0,\"part_b_remaining\":null}],"                     \
  "\"benefit_days\":{\"hospital\":85,\"snf\":100,\"lifetime_reserve\":null},"              \
  "\"retired_mbis\":[\"9AA0AA0AA00\"]}"

#define SECOND_RECORD                                                                  \
  "{\"mbi\":\"2EG4TE5MK74\",\"last\":\"ROE\",\"first\":\"RICHARD\",\"dob\":\"1950-07-04\"," \
  "\"sex\":\"M\",\"part_a\":[{\"start\":\"2015-07-01\"}]}"

static ohets_beneficiary *record_of(const char *text) {
  ohets_beneficiary *b = malloc(sizeof *b);
  char err[256] = "";
  json_t *j = json_loads(text, 0, NULL);
  ck_assert_ptr_nonnull(b);
  ck_assert_ptr_nonnull(j);
  ck_assert_msg(ohets_record_from_json(j, b, err, sizeof err) == 0, "%s", err);
  json_decref(j);
  return b;
}

/* ------------------------------------------------------------- schema */

START_TEST(init_creates_current_schema) {
  ohets_store *s = open_rw(dbpath);
  ck_assert_int_eq(ohets_store_schema_version(), 2);
  ck_assert_int_eq(ohets_store_user_version(s), ohets_store_schema_version());
  ohets_store_close(s);
  s = open_ro(dbpath); /* a read-only open accepts the current version */
  ck_assert_int_eq(ohets_store_user_version(s), 2);
  ohets_store_close(s);
}
END_TEST

START_TEST(readonly_refuses_other_versions) {
  ohets_store *s = NULL;
  char err[256];
  /* missing file; PostgreSQL: a database (schema) with no tables */
  ck_assert_int_ne(ohets_store_open(&s, dbpath, OHETS_STORE_READONLY, err, sizeof err), 0);
  ck_assert_ptr_null(s);
  if (on_pg)
    ck_assert_str_eq(err, "database is not initialized: run hets-db init");

  ohets_store_close(open_rw(dbpath));
  set_user_version(dbpath, 1);
  ck_assert_int_ne(ohets_store_open(&s, dbpath, OHETS_STORE_READONLY, err, sizeof err), 0);
  ck_assert_ptr_nonnull(strstr(err, "older"));
  ck_assert_ptr_nonnull(strstr(err, "hets-db init"));

  set_user_version(dbpath, 99);
  ck_assert_int_ne(ohets_store_open(&s, dbpath, OHETS_STORE_READONLY, err, sizeof err), 0);
  ck_assert_ptr_nonnull(strstr(err, "newer"));
  ck_assert_int_ne(ohets_store_open(&s, dbpath, OHETS_STORE_CREATE, err, sizeof err), 0);
  ck_assert_ptr_nonnull(strstr(err, "newer"));
}
END_TEST

START_TEST(writable_open_upgrades_old_schema) {
  /* a version-1 database: tables, no seeded amounts */
  ohets_store_close(open_rw(dbpath));
  store_exec(dbpath, "DELETE FROM program_amounts; PRAGMA user_version=1",
             "DELETE FROM program_amounts; DELETE FROM schema_version WHERE version > 1");
  ohets_store *ro = NULL;
  char err[256];
  ck_assert_int_ne(ohets_store_open(&ro, dbpath, OHETS_STORE_READONLY, err, sizeof err), 0);
  ck_assert_ptr_nonnull(strstr(err, "version 1 is older"));

  ohets_store *s = open_rw(dbpath);
  ohets_program_amounts a;
  ck_assert_int_eq(ohets_store_user_version(s), 2);
  ck_assert_int_eq(ohets_store_amounts(s, 2024, &a), 0);
  ck_assert_int_eq(a.part_a_deductible_cents, 163200);
  ohets_store_close(s);
}
END_TEST

/* ------------------------------------------------------------ amounts */

START_TEST(amounts_seeded_and_keyed_by_year) {
  static const struct {
    int year;
    int64_t a, b, day61, ltr, snf;
  } want[] = {{2023, 160000, 22600, 40000, 80000, 20000},
              {2024, 163200, 24000, 40800, 81600, 20400},
              {2025, 167600, 25700, 41900, 83800, 20950},
              {2026, 173600, 28300, 43400, 86800, 21700}};
  ohets_store *s = open_rw(dbpath);
  ohets_program_amounts a;
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    ck_assert_int_eq(ohets_store_amounts(s, want[i].year, &a), 0);
    ck_assert_int_eq(a.year, want[i].year);
    ck_assert_int_eq(a.part_a_deductible_cents, want[i].a);
    ck_assert_int_eq(a.part_b_deductible_cents, want[i].b);
    ck_assert_int_eq(a.part_b_coinsurance_percent, 20);
    ck_assert_int_eq(a.hospital_coinsurance_day61_cents, want[i].day61);
    ck_assert_int_eq(a.lifetime_reserve_coinsurance_cents, want[i].ltr);
    ck_assert_int_eq(a.snf_coinsurance_day21_cents, want[i].snf);
  }
  ck_assert_int_eq(ohets_store_amounts(s, 2030, &a), -ENOENT);
  ck_assert_int_eq(ohets_store_amounts(s, 2022, &a), -ENOENT);
  ohets_store_close(s);
}
END_TEST

/* A program year's amounts as an import line (dollars; stored in cents). */
#define YEAR_2030_LINE                                                                   \
  "{\"program_year\":2030,\"part_a_deductible\":1900.5,"                                 \
  "\"part_b_deductible\":300,\"part_b_coinsurance_percent\":20,"                         \
  "\"hospital_coinsurance_day61\":475,\"lifetime_reserve_coinsurance\":950,"             \
  "\"snf_coinsurance_day21\":237.25}\n"

START_TEST(import_adds_a_program_year) {
  ohets_store *s = open_rw(dbpath);
  ohets_program_amounts a;
  char err[256] = "";
  int rc = import_text(s, YEAR_2030_LINE, err, sizeof err);
  ck_assert_msg(rc == 0, "%s", err);
  ck_assert_int_eq(ohets_store_amounts(s, 2030, &a), 0);
  ck_assert_int_eq(a.part_a_deductible_cents, 190050);
  ck_assert_int_eq(a.part_b_deductible_cents, 30000);
  ck_assert_int_eq(a.hospital_coinsurance_day61_cents, 47500);
  ck_assert_int_eq(a.lifetime_reserve_coinsurance_cents, 95000);
  ck_assert_int_eq(a.snf_coinsurance_day21_cents, 23725);

  /* every key is required */
  rc = import_text(s, "{\"program_year\":2031,\"part_a_deductible\":1}\n", err, sizeof err);
  ck_assert_int_ne(rc, 0);
  ck_assert_str_eq(err, "line 1: \"part_b_deductible\": missing");
  ck_assert_int_eq(ohets_store_amounts(s, 2031, &a), -ENOENT);
  ohets_store_close(s);
}
END_TEST

/* ------------------------------------------------------------- import */

START_TEST(import_then_lookup_round_trips) {
  ohets_store *s = open_rw(dbpath);
  char err[256] = "";
  int rc = import_text(s, FULL_RECORD "\n\n" SECOND_RECORD "\n", err, sizeof err);
  ck_assert_msg(rc == 0, "%s", err);

  ohets_beneficiary *want = record_of(FULL_RECORD);
  ohets_beneficiary *got = malloc(sizeof *got);
  /* spot checks that parsing itself is right, not just symmetric */
  ck_assert_str_eq(want->mbi, "1EG4TE5MK73");
  ck_assert_str_eq(want->middle, "Q");
  ck_assert_int_eq(want->sex, 'F');
  ck_assert_int_eq(want->dob.year, 1940);
  ck_assert_int_eq(want->dod.month, 2);
  ck_assert_int_eq(want->dod.day, 28);
  ck_assert_str_eq(want->address.zip, "212441850");
  ck_assert_uint_eq(want->n_part_b, 2);
  ck_assert_int_eq(want->part_b[1].end.year, 0);
  ck_assert_int_eq(want->part_b[0].end.year, 2010);
  ck_assert_str_eq(want->ma[0].type, "HM");
  ck_assert_str_eq(want->part_d[0].type, "");
  ck_assert_str_eq(want->hospice[0].npi, "1234567893");
  ck_assert_uint_eq(want->n_preventive, 2);
  ck_assert_int_eq(want->preventive[1].next_eligible.year, 0);
  ck_assert_int_eq(want->deductibles[0].part_a_remaining_cents, 173600);
  ck_assert_int_eq(want->deductibles[0].part_b_remaining_cents, 1234);
  ck_assert_int_eq(want->deductibles[1].part_b_remaining_cents, -1);
  ck_assert_int_eq(want->hospital_days, 85);
  ck_assert_int_eq(want->lifetime_reserve_days, -1);

  ck_assert_int_eq(ohets_store_beneficiary(s, "1EG4TE5MK73", got), OHETS_LOOKUP_FOUND);
  ck_assert_msg(memcmp(want, got, sizeof *want) == 0, "stored record differs");
  ck_assert_int_eq(ohets_store_beneficiary(s, "1eg4te5mk73", got), OHETS_LOOKUP_FOUND);

  /* the same through a read-only handle and the core's vtable */
  ohets_store *ro = open_ro(dbpath);
  ohets_lookup lk;
  ohets_store_lookup_iface(ro, &lk);
  ck_assert_ptr_eq(lk.ctx, ro);
  memset(got, 0x5a, sizeof *got);
  ck_assert_int_eq(lk.beneficiary(lk.ctx, "1EG4TE5MK73", got), OHETS_LOOKUP_FOUND);
  ck_assert_msg(memcmp(want, got, sizeof *want) == 0, "read-only record differs");
  ohets_program_amounts a;
  ck_assert_int_eq(lk.amounts(lk.ctx, 2026, &a), 0);
  ck_assert_int_eq(a.part_b_deductible_cents, 28300);

  /* the JSON view is the import format again, retired MBIs included */
  json_t *j = NULL;
  ck_assert_int_eq(ohets_store_lookup_json(ro, "1EG4TE5MK73", &j), OHETS_LOOKUP_FOUND);
  ohets_retired_mbis retired;
  ck_assert_int_eq(ohets_record_from_json_ex(j, got, &retired, err, sizeof err), 0);
  ck_assert_msg(memcmp(want, got, sizeof *want) == 0, "JSON view differs");
  ck_assert_uint_eq(retired.n, 1);
  ck_assert_str_eq(retired.mbi[0], "9AA0AA0AA00");
  ck_assert_int_eq(json_real_value(json_object_get(
                       json_array_get(json_object_get(j, "deductibles"), 0),
                       "part_b_remaining")) == 12.34, 1);
  json_decref(j);
  ohets_store_close(ro);

  free(want);
  want = record_of(SECOND_RECORD);
  ck_assert_int_eq(ohets_store_beneficiary(s, "2EG4TE5MK74", got), OHETS_LOOKUP_FOUND);
  ck_assert_msg(memcmp(want, got, sizeof *want) == 0, "second record differs");
  ck_assert_int_eq(got->hospital_days, -1);
  free(want);
  free(got);
  ohets_store_close(s);
}
END_TEST

START_TEST(retired_and_unknown_mbis) {
  ohets_store *s = open_rw(dbpath);
  ohets_beneficiary *b = malloc(sizeof *b);
  char err[256] = "";
  ck_assert_int_eq(import_text(s, FULL_RECORD "\n", err, sizeof err), 0);
  ck_assert_int_eq(ohets_store_beneficiary(s, "9AA0AA0AA00", b), OHETS_LOOKUP_RETIRED);
  ck_assert_int_eq(ohets_store_beneficiary(s, "3EG4TE5MK73", b), OHETS_LOOKUP_NOT_FOUND);
  ck_assert_int_eq(ohets_store_beneficiary(s, "1EG4TE5MK7", b), OHETS_LOOKUP_NOT_FOUND);
  ck_assert_int_eq(ohets_store_beneficiary(s, "", b), OHETS_LOOKUP_NOT_FOUND);
  json_t *j = NULL;
  ck_assert_int_eq(ohets_store_lookup_json(s, "9AA0AA0AA00", &j), OHETS_LOOKUP_RETIRED);
  ck_assert_ptr_null(j);
  free(b);
  ohets_store_close(s);
}
END_TEST

START_TEST(import_upserts_duplicates) {
  ohets_store *s = open_rw(dbpath);
  ohets_beneficiary *b = malloc(sizeof *b);
  char err[256] = "";
  /* the later line wins, and its retired list replaces the earlier one */
  int rc = import_text(s,
                       FULL_RECORD "\n"
                       "{\"mbi\":\"1EG4TE5MK73\",\"last\":\"DOE\",\"first\":\"JANET\","
                       "\"dob\":\"1940-01-01\",\"retired_mbis\":[\"9AA0AA0AA01\"]}\n",
                       err, sizeof err);
  ck_assert_msg(rc == 0, "%s", err);
  ck_assert_int_eq(ohets_store_beneficiary(s, "1EG4TE5MK73", b), OHETS_LOOKUP_FOUND);
  ck_assert_str_eq(b->first, "JANET");
  ck_assert_uint_eq(b->n_part_a, 0);
  ck_assert_int_eq(ohets_store_beneficiary(s, "9AA0AA0AA00", b), OHETS_LOOKUP_NOT_FOUND);
  ck_assert_int_eq(ohets_store_beneficiary(s, "9AA0AA0AA01", b), OHETS_LOOKUP_RETIRED);

  /* a later import replaces a record already in the store */
  ck_assert_int_eq(import_text(s, FULL_RECORD "\n", err, sizeof err), 0);
  ck_assert_int_eq(ohets_store_beneficiary(s, "1EG4TE5MK73", b), OHETS_LOOKUP_FOUND);
  ck_assert_str_eq(b->first, "JANE");
  ck_assert_int_eq(ohets_store_beneficiary(s, "9AA0AA0AA00", b), OHETS_LOOKUP_RETIRED);
  ck_assert_int_eq(ohets_store_beneficiary(s, "9AA0AA0AA01", b), OHETS_LOOKUP_NOT_FOUND);

  ohets_store_stats st;
  ck_assert_int_eq(ohets_store_stats_get(s, &st, err, sizeof err), 0);
  ck_assert_int_eq(st.beneficiaries, 1);
  ck_assert_int_eq(st.retired_mbis, 1);

  /* retiring an MBI that is some beneficiary's current one is refused */
  rc = import_text(s,
                   "{\"mbi\":\"2EG4TE5MK74\",\"last\":\"ROE\",\"first\":\"R\","
                   "\"dob\":\"1950-07-04\",\"retired_mbis\":[\"1EG4TE5MK73\"]}\n",
                   err, sizeof err);
  ck_assert_int_ne(rc, 0);
  ck_assert_ptr_nonnull(strstr(err, "line 1: \"retired_mbis[0]\""));
  ck_assert_ptr_null(strstr(err, "1EG4TE5MK73"));
  ck_assert_int_eq(ohets_store_beneficiary(s, "1EG4TE5MK73", b), OHETS_LOOKUP_FOUND);
  free(b);
  ohets_store_close(s);
}
END_TEST

/* hets-db import's summary says what was stored: one MBI on two lines is
 * one beneficiary, and the replaced line is named by number, never by MBI
 * (issue 9: it said "imported 2" with 1 stored). */
#define BEN(mbi, first) \
  "{\"mbi\":\"" mbi "\",\"last\":\"DOE\",\"first\":\"" first "\",\"dob\":\"1940-01-01\"}\n"
static const struct {
  const char *text;
  unsigned long stored, years, replaced;
  const char *summary;
} import_summaries[] = {
    {BEN("1EG4TE5MK73", "JANE") BEN("1EG4TE5MK73", "JANET"), 1, 0, 1,
     "imported 2 lines: 1 beneficiary stored (line 2 replaced line 1 for the same MBI)"},
    {BEN("1EG4TE5MK73", "JANE") BEN("2EG4TE5MK74", "JOHN"), 2, 0, 0,
     "imported 2 lines: 2 beneficiaries stored"},
    {YEAR_2030_LINE, 0, 1, 0, "imported 1 line: 0 beneficiaries and 1 program year stored"},
    /* lines 1 4 6 one MBI, 2 9 another, 5 7 one year; 3 blank */
    {BEN("1EG4TE5MK73", "A") BEN("2EG4TE5MK74", "B") "\n" BEN("1EG4TE5MK73", "C")
         YEAR_2030_LINE BEN("1EG4TE5MK73", "D") YEAR_2030_LINE BEN("3EG4TE5MK75", "E")
             BEN("2EG4TE5MK74", "F"),
     3, 1, 4,
     "imported 8 lines: 3 beneficiaries and 1 program year stored (line 4 replaced line 1 "
     "for the same MBI; line 6 replaced line 4 for the same MBI; line 7 replaced line 5 for "
     "the same program year; 1 more line replaced an earlier one)"},
};
#undef BEN

START_TEST(import_summary_says_what_is_stored) {
  ohets_store *s = open_rw(dbpath);
  ohets_import_counts c;
  ohets_store_stats st;
  char err[256] = "", line[300];
  int rc = import_text_counted(s, import_summaries[_i].text, &c, err, sizeof err);
  ck_assert_msg(rc == 0, "%s", err);
  ck_assert_uint_eq(c.beneficiaries, import_summaries[_i].stored);
  ck_assert_uint_eq(c.program_years, import_summaries[_i].years);
  ck_assert_uint_eq(c.replaced, import_summaries[_i].replaced);
  ck_assert_int_eq(ohets_store_stats_get(s, &st, err, sizeof err), 0);
  ck_assert_int_eq(st.beneficiaries, (long)import_summaries[_i].stored);
  ohets_import_summary(&c, line, sizeof line);
  ck_assert_str_eq(line, import_summaries[_i].summary);
  ck_assert_msg(strstr(line, "EG4TE5MK7") == NULL, "MBI in the summary: %s", line);
  /* a short buffer cuts the line, never overruns it */
  char small[12], cut[12];
  ohets_import_summary(&c, small, sizeof small);
  snprintf(cut, sizeof cut, "%s", import_summaries[_i].summary);
  ck_assert_str_eq(small, cut);
  ohets_store_close(s);
}
END_TEST

START_TEST(bad_line_imports_nothing) {
  ohets_store *s = open_rw(dbpath);
  ohets_beneficiary *b = malloc(sizeof *b);
  char err[256] = "";
  int rc = import_text(s,
                       FULL_RECORD "\n" SECOND_RECORD "\n"
                       "{\"mbi\":\"3EG4TE5MK75\",\"last\":\"POE\",\"first\":\"EDGAR\","
                       "\"dob\":\"1949-02-30\"}\n"
                       "{\"program_year\":2031,\"part_a_deductible\":1,\"part_b_deductible\":1,"
                       "\"part_b_coinsurance_percent\":20,\"hospital_coinsurance_day61\":1,"
                       "\"lifetime_reserve_coinsurance\":1,\"snf_coinsurance_day21\":1}\n",
                       err, sizeof err);
  ck_assert_int_eq(rc, -EINVAL);
  ck_assert_str_eq(err, "line 3: \"dob\": not a date (YYYY-MM-DD)");
  ck_assert_ptr_null(strstr(err, "1949"));
  ck_assert_int_eq(ohets_store_beneficiary(s, "1EG4TE5MK73", b), OHETS_LOOKUP_NOT_FOUND);
  ck_assert_int_eq(ohets_store_beneficiary(s, "2EG4TE5MK74", b), OHETS_LOOKUP_NOT_FOUND);
  ck_assert_int_eq(ohets_store_beneficiary(s, "9AA0AA0AA00", b), OHETS_LOOKUP_NOT_FOUND);
  ohets_program_amounts a;
  ck_assert_int_eq(ohets_store_amounts(s, 2031, &a), -ENOENT);

  /* broken JSON: position only, never jansson's quote of the text */
  rc = import_text(s, SECOND_RECORD "\n{\"mbi\":\"1EG4TE5MK73\",\"last\":SMITHSON}\n", err,
                   sizeof err);
  ck_assert_int_eq(rc, -EINVAL);
  ck_assert_ptr_nonnull(strstr(err, "line 2: not valid JSON"));
  ck_assert_ptr_null(strstr(err, "SMITH"));
  ck_assert_int_eq(ohets_store_beneficiary(s, "2EG4TE5MK74", b), OHETS_LOOKUP_NOT_FOUND);

  /* a line past 1 MiB is refused without reading it whole */
  size_t big = 1100 * 1000;
  char *huge = malloc(big + 64);
  snprintf(huge, big + 64, "%s\n{\"last\":\"", SECOND_RECORD);
  size_t at = strlen(huge);
  memset(huge + at, 'A', big - at);
  strcpy(huge + big, "\"}\n");
  ck_assert_int_eq(import_text(s, huge, err, sizeof err), -EINVAL);
  ck_assert_str_eq(err, "line 2: longer than 1048576 bytes");
  free(huge);
  ck_assert_int_eq(ohets_store_beneficiary(s, "2EG4TE5MK74", b), OHETS_LOOKUP_NOT_FOUND);

  rc = import_text(s, "[1,2]\n", err, sizeof err);
  ck_assert_str_eq(err, "line 1: not a JSON object");
  rc = import_text(s, "{\"mbi\":\"1EG4TE5MK73\",\"mbi\":\"1EG4TE5MK73\"}\n", err, sizeof err);
  ck_assert_str_eq(err, "line 1: a key appears twice");
  free(b);
  ohets_store_close(s);
}
END_TEST

/* Each rule: a base record with one key replaced (or added), the error
 * expected, and the bad value, which must not appear in the message. */
static const struct {
  const char *key;   /* top-level key to set */
  const char *value; /* its JSON value */
  const char *error; /* exact message */
  const char *leak;  /* must not appear in the message; NULL: nothing to leak */
} rules[] = {
    {"mbi", "\"1SG4TE5MK73\"", "\"mbi\": not an MBI", "1SG4"},
    {"mbi", "\"1EG4TE5MK7\"", "\"mbi\": not an MBI", "1EG4"},
    {"mbi", "null", "\"mbi\": missing", NULL},
    {"last", "\"\"", "\"last\": empty", NULL},
    {"last", "42", "\"last\": not a string", NULL},
    {"last", "\"ABCDEFGHIJABCDEFGHIJABCDEFGHIJABCDEFGHIJABCDEFGHIJABCDEFGHIJX\"",
     "\"last\": longer than 60 characters", "ABCDEFGHIJ"},
    {"first", "\"J\\u00c9AN\"", "\"first\": holds characters other than printable ASCII",
     "AN"},
    {"dob", "\"1940-02-30\"", "\"dob\": not a date (YYYY-MM-DD)", "1940"},
    {"dob", "\"19400101\"", "\"dob\": not a date (YYYY-MM-DD)", "1940"},
    {"dod", "\"1930-01-01\"", "\"dod\": earlier than dob", "1930"},
    {"sex", "\"X\"", "\"sex\": not F, M or U", NULL},
    {"nickname", "\"JJ\"", "\"nickname\": unknown key", "JJ"},
    {"address", "{\"line1\":\"1 A ST\",\"county\":\"X\"}", "\"address.county\": unknown key",
     NULL},
    {"address", "{\"state\":\"Maryland\"}", "\"address.state\": longer than 2 characters",
     "Maryland"},
    {"address", "{\"zip\":\"2124\"}", "\"address.zip\": not a ZIP code (5 or 9 digits)",
     "2124"},
    {"part_a",
     "[{\"start\":\"2001-01-01\"},{\"start\":\"2002-01-01\"},{\"start\":\"2003-01-01\"},"
     "{\"start\":\"2004-01-01\"},{\"start\":\"2005-01-01\"},{\"start\":\"2006-01-01\"},"
     "{\"start\":\"2007-01-01\"},{\"start\":\"2008-01-01\"},{\"start\":\"2009-01-01\"}]",
     "\"part_a\": more than 8 entries", NULL},
    {"part_a", "{\"start\":\"2001-01-01\"}", "\"part_a\": not an array", NULL},
    {"part_b", "[{\"start\":\"2005-01-01\",\"end\":\"2004-12-31\"}]",
     "\"part_b[0].end\": earlier than start", "2004"},
    {"part_b", "[{\"end\":\"2004-12-31\"}]", "\"part_b[0].start\": missing", NULL},
    {"esrd", "[{\"start\":\"2005-13-01\"}]", "\"esrd[0].start\": not a date (YYYY-MM-DD)",
     "2005"},
    {"ma", "[{\"contract\":\"X12\",\"plan\":\"001\",\"type\":\"HM\",\"start\":\"2020-01-01\"}]",
     "\"ma[0].contract\": not a contract ID (a letter and 4 digits)", "X12"},
    {"ma", "[{\"contract\":\"H1234\",\"plan\":\"001\",\"start\":\"2020-01-01\"}]",
     "\"ma[0].type\": missing", NULL},
    {"part_d", "[{\"contract\":\"S1234\",\"plan\":\"1\",\"start\":\"2020-01-01\"}]",
     "\"part_d[0].plan\": not a plan number (3 digits)", NULL},
    {"part_d",
     "[{\"contract\":\"S1234\",\"plan\":\"001\",\"type\":\"HM\",\"start\":\"2020-01-01\"}]",
     "\"part_d[0].type\": unknown key", NULL},
    {"msp", "[{\"type\":\"99\",\"start\":\"2020-01-01\"}]",
     "\"msp[0].type\": not an MSP type (12, 13, 14, 15, 16, 41, 42, 43, 47)", NULL},
    {"hospice", "[{\"start\":\"2026-01-01\",\"npi\":\"1234567890\"}]",
     "\"hospice[0].npi\": not a valid NPI", "1234567890"},
    {"preventive", "[{\"hcpcs\":\"G04\"}]",
     "\"preventive[0].hcpcs\": not a HCPCS code (5 letters or digits)", "G04"},
    {"deductibles", "[{\"year\":2026,\"part_a_remaining\":12.345}]",
     "\"deductibles[0].part_a_remaining\": has fractions of a cent", "12.345"},
    {"deductibles", "[{\"year\":2026,\"part_b_remaining\":-5}]",
     "\"deductibles[0].part_b_remaining\": not an amount of dollars from 0 to 1000000000",
     "-5"},
    {"deductibles", "[{\"year\":2026},{\"year\":2026}]",
     "\"deductibles[1].year\": same year twice", NULL},
    {"deductibles", "[{\"part_a_remaining\":1}]", "\"deductibles[0].year\": missing", NULL},
    {"benefit_days", "{\"hospital\":91}",
     "\"benefit_days.hospital\": out of range (0 to 90)", "91"},
    {"benefit_days", "{\"snf\":\"10\"}", "\"benefit_days.snf\": not an integer", NULL},
    {"retired_mbis", "[\"1EG4TE5MK73\"]", "\"retired_mbis[0]\": same as the record's own MBI",
     "1EG4"},
    {"retired_mbis", "[\"9AA0AA0AA0\"]", "\"retired_mbis[0]\": not an MBI", "9AA0"},
    {"retired_mbis", "[\"9AA0AA0AA00\",\"9AA0AA0AA00\"]", "\"retired_mbis[1]\": listed twice",
     "9AA0"},
};

START_TEST(validation_rules) {
  json_t *rec = json_loads(FULL_RECORD, 0, NULL);
  json_t *val = json_loads(rules[_i].value, JSON_DECODE_ANY, NULL);
  ohets_beneficiary *b = malloc(sizeof *b);
  char err[256] = "";
  ck_assert_ptr_nonnull(rec);
  ck_assert_ptr_nonnull(val);
  json_object_set_new(rec, rules[_i].key, val);
  ck_assert_int_eq(ohets_record_from_json(rec, b, err, sizeof err), -EINVAL);
  ck_assert_str_eq(err, rules[_i].error);
  if (rules[_i].leak != NULL)
    ck_assert_msg(strstr(err, rules[_i].leak) == NULL, "value echoed: %s", err);

  /* the same through an import names the line */
  ohets_store *s = open_rw(dbpath);
  char *line = json_dumps(rec, JSON_COMPACT);
  char text[4096], want[320];
  snprintf(text, sizeof text, "%s\n%s\n", SECOND_RECORD, line);
  ck_assert_int_eq(import_text(s, text, err, sizeof err), -EINVAL);
  snprintf(want, sizeof want, "line 2: %s", rules[_i].error);
  ck_assert_str_eq(err, want);
  ck_assert_int_eq(ohets_store_beneficiary(s, "2EG4TE5MK74", b), OHETS_LOOKUP_NOT_FOUND);
  ohets_store_close(s);
  free(line);
  free(b);
  json_decref(rec);
}
END_TEST

START_TEST(packed_blob_rejects_damage) {
  ohets_beneficiary *b = record_of(FULL_RECORD);
  ohets_beneficiary *out = malloc(sizeof *out);
  uint8_t buf[sizeof(ohets_beneficiary) + 64];
  long n = ohets__record_pack(b, buf, sizeof buf);
  ck_assert_int_gt(n, 0);
  ck_assert_int_eq(ohets__record_unpack(buf, (size_t)n, out), 0);
  ck_assert_int_eq(memcmp(b, out, sizeof *b), 0);
  for (long cut = 0; cut < n; cut += 7)
    ck_assert_int_eq(ohets__record_unpack(buf, (size_t)cut, out), -EINVAL);
  buf[0] = 99; /* unknown format version */
  ck_assert_int_eq(ohets__record_unpack(buf, (size_t)n, out), -EINVAL);
  ck_assert_int_eq(ohets__record_pack(b, buf, 40), -ENOBUFS);
  free(b);
  free(out);
}
END_TEST

/* ----------------------------------------------------------- generate */

/* The first n MBIs of a store, in key order, read with the backend's own
 * SQL (not through the store). */
static unsigned list_mbis(const char *path, char (*mbis)[12], unsigned n) {
  if (on_pg) {
    PGconn *c = PQconnectdb(path);
    ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
    PGresult *r = PQexec(c, "SELECT mbi FROM beneficiaries ORDER BY mbi");
    ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
    unsigned got = 0;
    for (int i = 0; i < PQntuples(r) && got < n; i++)
      snprintf(mbis[got++], 12, "%s", PQgetvalue(r, i, 0));
    PQclear(r);
    PQfinish(c);
    return got;
  }
  sqlite3 *db;
  sqlite3_stmt *st;
  unsigned got = 0;
  ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT mbi FROM beneficiaries ORDER BY mbi", -1,
                                      &st, NULL), SQLITE_OK);
  while (got < n && sqlite3_step(st) == SQLITE_ROW)
    snprintf(mbis[got++], 12, "%s", (const char *)sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(db);
  return got;
}

static void generate_into(const char *path, unsigned long count, uint64_t seed) {
  ohets_store *s = open_rw(path);
  char err[256] = "";
  ck_assert_msg(ohets_store_generate(s, count, seed, err, sizeof err) == 0, "%s", err);
  ohets_store_close(s);
}

START_TEST(generate_is_deterministic) {
  char other[1200], third[1200];
  static char a[300][12], b[300][12], c[300][12];
  store_path(other, sizeof other, "other");
  store_path(third, sizeof third, "third");
  generate_into(dbpath, 300, 42);
  generate_into(other, 300, 42);
  generate_into(third, 300, 43);
  ck_assert_uint_eq(list_mbis(dbpath, a, 300), 300);
  ck_assert_uint_eq(list_mbis(other, b, 300), 300);
  ck_assert_uint_eq(list_mbis(third, c, 300), 300);

  ohets_store *sa = open_ro(dbpath), *sb = open_ro(other), *sc = open_ro(third);
  ohets_beneficiary *ra = malloc(sizeof *ra), *rb = malloc(sizeof *rb);
  unsigned same_in_third = 0;
  for (unsigned i = 0; i < 300; i++) {
    ck_assert_str_eq(a[i], b[i]);
    ck_assert_int_eq(ohets_store_beneficiary(sa, a[i], ra), OHETS_LOOKUP_FOUND);
    ck_assert_int_eq(ohets_store_beneficiary(sb, a[i], rb), OHETS_LOOKUP_FOUND);
    ck_assert_msg(memcmp(ra, rb, sizeof *ra) == 0, "record %u differs", i);
    same_in_third += ohets_store_beneficiary(sc, a[i], rb) == OHETS_LOOKUP_FOUND;
  }
  ck_assert_uint_eq(same_in_third, 0);
  free(ra);
  free(rb);
  ohets_store_close(sa);
  ohets_store_close(sb);
  ohets_store_close(sc);
}
END_TEST

typedef struct walk {
  char (*mbis)[12];
  unsigned n, max;
} walk;

static int visit(void *ctx, const ohets_beneficiary *rec) {
  walk *w = ctx;
  if (w->n == w->max)
    return 7; /* stop: the caller checks this comes back */
  snprintf(w->mbis[w->n++], 12, "%s", rec->mbi);
  return 0;
}

static void assert_share(const char *what, long n, long total, double lo, double hi) {
  double share = (double)n / (double)total;
  ck_assert_msg(share >= lo && share <= hi, "%s: %.3f not within %.3f-%.3f", what, share,
                lo, hi);
}

START_TEST(generate_mix_is_realistic_and_valid) {
  enum { N = 2000 };
  static char mbis[N][12];
  char err[256] = "";
  generate_into(dbpath, N, 7);
  ohets_store *s = open_ro(dbpath);
  ohets_store_stats st;
  ck_assert_int_eq(ohets_store_stats_get(s, &st, err, sizeof err), 0);
  ck_assert_int_eq(st.beneficiaries, N);
  assert_share("part A", st.part_a, N, 0.95, 1.0);
  assert_share("part B", st.part_b, N, 0.88, 0.96);
  assert_share("MA", st.ma, N, 0.44, 0.56);
  assert_share("part D", st.part_d, N, 0.64, 0.76);
  assert_share("MSP", st.msp, N, 0.05, 0.11);
  assert_share("hospice", st.hospice, N, 0.015, 0.05);
  assert_share("home health", st.home_health, N, 0.03, 0.075);
  assert_share("ESRD", st.esrd, N, 0.002, 0.025);
  assert_share("QMB", st.qmb, N, 0.09, 0.15);
  assert_share("deceased", st.deceased, N, 0.008, 0.035);
  assert_share("retired", st.retired_mbis, N, 0.015, 0.05);

  /* every record reads back as valid import input, with a valid MBI */
  ohets_beneficiary *b = malloc(sizeof *b);
  unsigned preventive = 0, deductibles = 0, b_only = 0;
  ck_assert_uint_eq(list_mbis(dbpath, mbis, N), N);
  for (unsigned i = 0; i < N; i++) {
    json_t *j = NULL;
    ck_assert(ohets_mbi_valid(mbis[i], 11));
    ck_assert_int_eq(ohets_store_lookup_json(s, mbis[i], &j), OHETS_LOOKUP_FOUND);
    ck_assert_msg(ohets_record_from_json(j, b, err, sizeof err) == 0, "record %u: %s", i, err);
    json_decref(j);
    preventive += b->n_preventive > 0;
    deductibles += b->n_deductibles == 2 && b->deductibles[0].year == 2026 &&
                   b->deductibles[1].year == 2025;
    b_only += b->n_part_a == 0 && b->n_part_b > 0;
    ck_assert_int_ge(b->dob.year, 1930);
    ck_assert_int_le(b->dob.year, 1960);
  }
  assert_share("preventive", preventive, N, 0.54, 0.66);

  /* ohets_store_each pages through everyone in MBI order */
  static char walked[N][12];
  walk w = {walked, 0, N};
  const char *after = NULL;
  for (unsigned page = 0; page < 5; page++) {
    ck_assert_int_eq(ohets_store_each(s, after, 500, visit, &w), 0);
    after = w.n ? walked[w.n - 1] : NULL;
  }
  ck_assert_uint_eq(w.n, N);
  for (unsigned i = 0; i < N; i++)
    ck_assert_str_eq(walked[i], mbis[i]);
  w.n = 0;
  w.max = 3;
  ck_assert_int_eq(ohets_store_each(s, NULL, 10, visit, &w), 7);
  ck_assert_uint_eq(w.n, 3);
  assert_share("deductibles this and last year", deductibles, N, 1.0, 1.0);
  assert_share("part B only", b_only, N, 0.008, 0.035);
  free(b);
  ohets_store_close(s);
}
END_TEST

/* The order of random draws defines every generated store (the demo's,
 * the benchmarks'), so one seed's output is pinned: 200 records of seed 42,
 * each as import-format JSON (retired MBIs included, keys sorted) in MBI
 * order, hashed with FNV-1a.  A change to what is drawn, or in what order,
 * changes the hash; if that is meant, say so and pin the new value. */
#define GENERATE_SEED42_N200_FNV 0x33a61df2da61b74bULL

static uint64_t fnv1a(uint64_t h, const char *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)p[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

START_TEST(generate_output_is_pinned) {
  enum { N = 200 };
  static char mbis[N][12];
  generate_into(dbpath, N, 42);
  ohets_store *s = open_ro(dbpath);
  walk w = {mbis, 0, N};
  ck_assert_int_eq(ohets_store_each(s, NULL, N, visit, &w), 0);
  ck_assert_uint_eq(w.n, N);
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned i = 0; i < N; i++) {
    json_t *j = NULL;
    ck_assert_int_eq(ohets_store_lookup_json(s, mbis[i], &j), OHETS_LOOKUP_FOUND);
    char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    ck_assert_ptr_nonnull(text);
    h = fnv1a(h, text, strlen(text) + 1); /* the NUL separates records */
    free(text);
    json_decref(j);
  }
  ohets_store_close(s);
  ck_assert_msg(h == GENERATE_SEED42_N200_FNV,
                "seed 42's records hash to 0x%016llx, pinned 0x%016llx",
                (unsigned long long)h, (unsigned long long)GENERATE_SEED42_N200_FNV);
}
END_TEST

/* --------------------------------------------------------- concurrency */

enum { THREAD_RECORDS = 400, THREAD_ROUNDS = 20 };
static char thread_mbis[THREAD_RECORDS][12];
static ohets_beneficiary *thread_want;

static void *reader(void *arg) {
  ohets_store *s = NULL;
  char err[256];
  long bad = 0;
  ohets_beneficiary *got = malloc(sizeof *got);
  (void)arg;
  if (got == NULL ||
      ohets_store_open(&s, dbpath, OHETS_STORE_READONLY, err, sizeof err) != 0) {
    free(got);
    return (void *)-1L;
  }
  for (int r = 0; r < THREAD_ROUNDS; r++)
    for (unsigned i = 0; i < THREAD_RECORDS; i++) {
      unsigned k = (i * 7 + (unsigned)r) % THREAD_RECORDS;
      if (ohets_store_beneficiary(s, thread_mbis[k], got) != OHETS_LOOKUP_FOUND ||
          memcmp(got, &thread_want[k], sizeof *got) != 0)
        bad++;
      if (ohets_store_beneficiary(s, "9ZZ9ZZ9ZZ99", got) != OHETS_LOOKUP_NOT_FOUND)
        bad++;
    }
  ohets_store_close(s);
  free(got);
  return (void *)bad;
}

START_TEST(threads_with_own_handles) {
  generate_into(dbpath, THREAD_RECORDS, 99);
  ck_assert_uint_eq(list_mbis(dbpath, thread_mbis, THREAD_RECORDS), THREAD_RECORDS);
  thread_want = calloc(THREAD_RECORDS, sizeof *thread_want);
  ohets_store *s = open_ro(dbpath);
  for (unsigned i = 0; i < THREAD_RECORDS; i++)
    ck_assert_int_eq(ohets_store_beneficiary(s, thread_mbis[i], &thread_want[i]),
                     OHETS_LOOKUP_FOUND);
  ohets_store_close(s);

  pthread_t t[2];
  void *bad[2];
  for (int i = 0; i < 2; i++)
    ck_assert_int_eq(pthread_create(&t[i], NULL, reader, NULL), 0);
  for (int i = 0; i < 2; i++) {
    ck_assert_int_eq(pthread_join(t[i], &bad[i]), 0);
    ck_assert_int_eq((long)bad[i], 0);
  }
  free(thread_want);
}
END_TEST

START_TEST(readonly_sees_import_after_renewal) {
  ohets_store *w = open_rw(dbpath);
  ohets_store *r = open_ro(dbpath);
  ohets_beneficiary *b = malloc(sizeof *b);
  char err[256] = "";
  struct timespec pause = {0, 120 * 1000 * 1000};
  ck_assert_int_eq(ohets_store_beneficiary(r, "2EG4TE5MK74", b), OHETS_LOOKUP_NOT_FOUND);
  ck_assert_int_eq(import_text(w, SECOND_RECORD "\n", err, sizeof err), 0);
  nanosleep(&pause, NULL);
  ck_assert_int_eq(ohets_store_beneficiary(r, "2EG4TE5MK74", b), OHETS_LOOKUP_FOUND);
  /* release ends the snapshot at once */
  ck_assert_int_eq(import_text(w, FULL_RECORD "\n", err, sizeof err), 0);
  ohets_store_release(r);
  ck_assert_int_eq(ohets_store_beneficiary(r, "1EG4TE5MK73", b), OHETS_LOOKUP_FOUND);
  free(b);
  ohets_store_close(r);
  ohets_store_close(w);
}
END_TEST

/* A read-only handle keeps the program amounts it read for the life of
 * its snapshot: years asked for in turn each come back right (found or
 * not), and a new snapshot sees an import. */
START_TEST(readonly_amounts_follow_the_snapshot) {
  ohets_store *w = open_rw(dbpath);
  ohets_store *r = open_ro(dbpath);
  ohets_program_amounts a, b;
  char err[256] = "";
  ck_assert_int_eq(ohets_store_amounts(w, 2026, &b), 0);
  for (int i = 0; i < 3; i++) { /* alternating years, each answered for itself */
    memset(&a, 0xA5, sizeof a);
    ck_assert_int_eq(ohets_store_amounts(r, 2026, &a), 0);
    ck_assert_int_eq(a.year, 2026);
    ck_assert_int_eq(a.part_a_deductible_cents, b.part_a_deductible_cents);
    ck_assert_int_eq(a.part_b_deductible_cents, b.part_b_deductible_cents);
    ck_assert_int_eq(ohets_store_amounts(r, 2030, &a), -ENOENT);
  }
  int rc = import_text(w, YEAR_2030_LINE, err, sizeof err);
  ck_assert_msg(rc == 0, "%s", err);
  ohets_store_release(r); /* a new snapshot sees the import */
  ck_assert_int_eq(ohets_store_amounts(r, 2030, &a), 0);
  ck_assert_int_eq(a.year, 2030);
  ck_assert_int_eq(a.part_a_deductible_cents, 190050);
  ck_assert_int_eq(a.snf_coinsurance_day21_cents, 23725);
  ohets_store_close(r);
  ohets_store_close(w);
}
END_TEST

/* partners.json: every listed submitter is found whatever its place in
 * the sorted table, and nothing else is (a prefix, a longer name, case). */
START_TEST(partners_find_each_and_only_listed) {
  char path[400], err[300];
  snprintf(path, sizeof path, "%s/partners.json", tmpdir);
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  static const char *const subs[] = {"SUBMITTER07", "A", "SUBMITTER01", "ZZZZZZZZZZZZZZZ",
                                     "SUBMITTER02", "M1", "SUBMITTER10"};
  const size_t n = sizeof subs / sizeof subs[0];
  fputs("{\"partners\":[", f);
  for (size_t i = 0; i < n; i++)
    fprintf(f, "%s{\"submitter\":\"%s\",\"networks\":[\"127.0.0.0/8\"]}", i ? "," : "",
            subs[i]);
  fputs("]}", f);
  ck_assert_int_eq(fclose(f), 0);
  ohets_partner_table *t = NULL;
  ck_assert_int_eq(ohets_partners_load(path, &t, err, sizeof err), 0);
  ck_assert_uint_eq(t->n, n);
  for (size_t i = 0; i < n; i++) {
    const ohets_partner *p = ohets_partners_find(t, subs[i]);
    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(p->submitter, subs[i]);
  }
  static const char *const absent[] = {"", "SUBMITTER", "SUBMITTER011", "submitter01",
                                       "0", "ZZZZZZZZZZZZZZZZ", "SUBMITTER03", "~"};
  for (size_t i = 0; i < sizeof absent / sizeof absent[0]; i++)
    ck_assert_msg(ohets_partners_find(t, absent[i]) == NULL, "found \"%s\"", absent[i]);
  ck_assert_ptr_null(ohets_partners_find(NULL, "SUBMITTER01"));
  ohets_partners_free(t);
}
END_TEST

/* partners.json problems: each refused with one line naming the file and,
 * for an entry, its index, its submitter and the key.  A misspelt key
 * ("npi" for "npis") would otherwise lift the NPI restriction unseen.
 * text NULL: path is the test's directory (dir 1) or a file never made. */
#define NET "\"networks\":[\"127.0.0.0/8\"]"
/* scrypt of "password" (tests/unit/test_phc.c) */
#define PHC                                                                                  \
  "$scrypt$ln=1,r=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$CHITEca2aLVRCqFhONBkxrliBbW8VILb3zvW9upULyk"
static const struct {
  const char *text;
  int dir;
  int rc;
  const char *error; /* %s: the path */
} partner_files[] = {
    {"{\"partners\":[{\"submitter\":\"SUBMITTER01\"," NET "},"
     "{\"submitter\":\"SUBMITTER02\"," NET ",\"npi\":[\"1234567893\"]}]}",
     0, -EINVAL, "%s: partner 1 (SUBMITTER02): unknown key \"npi\""},
    {"{\"partners\":[{\"submiter\":\"SUBMITTER01\"," NET "}]}", 0, -EINVAL,
     "%s: partner 0: unknown key \"submiter\""},
    {"{\"partners\":[{\"submitter\":\"SUBMITTER01\"," NET "}],\"partner\":[]}", 0,
     -EINVAL, "%s: unknown key \"partner\""},
    {"{\"partners\":[{\"submitter\":\"SUBMITTER01\"," NET ","
     "\"npis\":[\"1234567893\"],\"npis\":[]}]}",
     0, -EINVAL, "%s: line 1: duplicate object key near '\"npis\"'"},
    {"[{\"submitter\":\"SUBMITTER01\"," NET "}]", 0, -EINVAL,
     "%s: must hold one JSON object {\"partners\": [...]}"},
    {NULL, 1, -EISDIR, "%s: is a directory"},
    {NULL, 0, -ENOENT, "%s: No such file or directory"},
    /* "users" (DESIGN §13) */
    {"{\"partners\":[{\"submitter\":\"SUBMITTER01\"," NET ",\"users\":[{\"username\":\"u\","
     "\"password\":\"hunter2\"}]}]}",
     0, -EINVAL,
     "%s: partner 0 (SUBMITTER01): \"users\"[0]: \"password\" is not a scrypt PHC string "
     "($scrypt$ln=N,r=R,p=P$SALT$HASH; openhetsd --hash-password makes one)"},
    {"{\"partners\":[{\"submitter\":\"SUBMITTER01\"," NET ",\"users\":[{\"username\":\"u\","
     "\"password\":\"" PHC "\"},{\"username\":\"v\",\"password\":\"" PHC "=\"}]}]}",
     0, -EINVAL,
     "%s: partner 0 (SUBMITTER01): \"users\"[1]: \"password\" is not a scrypt PHC string "
     "($scrypt$ln=N,r=R,p=P$SALT$HASH; openhetsd --hash-password makes one)"},
    {"{\"partners\":[{\"submitter\":\"SUBMITTER01\"," NET ",\"users\":[{\"username\":\"u\"}]}]}",
     0, -EINVAL,
     "%s: partner 0 (SUBMITTER01): \"users\"[0]: \"password\" is not a scrypt PHC string "
     "($scrypt$ln=N,r=R,p=P$SALT$HASH; openhetsd --hash-password makes one)"},
    {"{\"partners\":[{\"submitter\":\"SUBMITTER01\"," NET ",\"users\":[{\"username\":\"\","
     "\"password\":\"" PHC "\"}]}]}",
     0, -EINVAL,
     "%s: partner 0 (SUBMITTER01): \"users\"[0]: \"username\" must be a non-empty string "
     "without control characters"},
    {"{\"partners\":[{\"submitter\":\"SUBMITTER01\"," NET ",\"users\":[{\"password\":\"" PHC
     "\"}]}]}",
     0, -EINVAL,
     "%s: partner 0 (SUBMITTER01): \"users\"[0]: \"username\" must be a non-empty string "
     "without control characters"},
    {"{\"partners\":[{\"submitter\":\"SUBMITTER01\"," NET ",\"users\":[{\"username\":\"a\\nb\","
     "\"password\":\"" PHC "\"}]}]}",
     0, -EINVAL,
     "%s: partner 0 (SUBMITTER01): \"users\"[0]: \"username\" must be a non-empty string "
     "without control characters"},
    {"{\"partners\":[{\"submitter\":\"SUBMITTER01\"," NET ",\"users\":[{\"username\":7,"
     "\"password\":\"" PHC "\"}]}]}",
     0, -EINVAL,
     "%s: partner 0 (SUBMITTER01): \"users\"[0]: \"username\" must be a non-empty string "
     "without control characters"},
    {"{\"partners\":[{\"submitter\":\"SUBMITTER01\"," NET ",\"users\":[{\"username\":\"u\","
     "\"password\":\"" PHC "\",\"role\":\"admin\"}]}]}",
     0, -EINVAL, "%s: partner 0 (SUBMITTER01): \"users\"[0]: unknown key \"role\""},
    {"{\"partners\":[{\"submitter\":\"SUBMITTER01\"," NET ",\"users\":{\"username\":\"u\","
     "\"password\":\"" PHC "\"}}]}",
     0, -EINVAL,
     "%s: partner 0 (SUBMITTER01): \"users\" must be an array of {\"username\", \"password\"} "
     "objects"},
    {"{\"partners\":[{\"submitter\":\"SUBMITTER01\"," NET ",\"users\":[\"u\"]}]}", 0, -EINVAL,
     "%s: partner 0 (SUBMITTER01): \"users\"[0] must be an object {\"username\", \"password\"}"},
    /* a username twice: in one entry, in two (named by the later one in
     * the file, though its submitter sorts first) */
    {"{\"partners\":[{\"submitter\":\"SUBMITTER01\"," NET ",\"users\":["
     "{\"username\":\"x\",\"password\":\"" PHC "\"},"
     "{\"username\":\"y\",\"password\":\"" PHC "\"},"
     "{\"username\":\"x\",\"password\":\"" PHC "\"}]}]}",
     0, -EINVAL, "%s: partner 0 (SUBMITTER01): \"users\"[2]: username \"x\" listed twice"},
    {"{\"partners\":[{\"submitter\":\"SUBMITTER09\"," NET ",\"users\":["
     "{\"username\":\"shared\",\"password\":\"" PHC "\"}]},"
     "{\"submitter\":\"SUBMITTER05\"," NET "},"
     "{\"submitter\":\"SUBMITTER01\"," NET ",\"users\":["
     "{\"username\":\"other\",\"password\":\"" PHC "\"},"
     "{\"username\":\"shared\",\"password\":\"" PHC "\"}]}]}",
     0, -EINVAL, "%s: partner 2 (SUBMITTER01): \"users\"[1]: username \"shared\" listed twice"},
    /* every known key at once still loads */
    {"{\"partners\":[{\"submitter\":\"SUBMITTER01\",\"name\":\"X\"," NET ","
     "\"npis\":[\"1234567893\"],\"max_connections\":2,\"certs\":[],"
     "\"users\":[{\"username\":\"u\",\"password\":\"" PHC "\"}]}]}",
     0, 0, ""},
};
#undef NET

START_TEST(partners_file_problems) {
  char path[400], err[600] = "", want[600];
  if (partner_files[_i].dir) {
    snprintf(path, sizeof path, "%s", tmpdir);
  } else {
    snprintf(path, sizeof path, "%s/partners.json", tmpdir);
    if (partner_files[_i].text != NULL) {
      FILE *f = fopen(path, "w");
      ck_assert_ptr_nonnull(f);
      fputs(partner_files[_i].text, f);
      ck_assert_int_eq(fclose(f), 0);
    }
  }
  ohets_partner_table *t = NULL;
  int rc = ohets_partners_load(path, &t, err, sizeof err);
  ck_assert_msg(rc == partner_files[_i].rc, "rc %d: %s", rc, err);
  if (rc != 0) {
    ck_assert_ptr_null(t);
    snprintf(want, sizeof want, partner_files[_i].error, path);
    ck_assert_str_eq(err, want);
  } else {
    ck_assert_ptr_nonnull(t);
    ck_assert_uint_eq(t->n, 1);
    ck_assert_int_eq(t->partners[0].has_npis, 1);
    ck_assert_uint_eq(t->partners[0].max_connections, 2);
  }
  ohets_partners_free(t);
}
END_TEST

/* "users" and "certs" as the CORE door asks them (DESIGN §13): a
 * username names one partner; a certificate names the first partner, in
 * submitter order, that lists it; a partner without "certs" lists none. */
#define CERT_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define CERT_B "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"
#define CERT_C "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define PHC2 "$scrypt$ln=4,r=8,p=2$AAECA/z9/v8$iE/XPjiZRIbjoyXjA1CUQ7a/grPuu02k/W8Wrcba1+0"
START_TEST(partners_users_and_certs) {
  char path[400], err[300];
  snprintf(path, sizeof path, "%s/partners.json", tmpdir);
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs("{\"partners\":["
        "{\"submitter\":\"SUBMITTER03\",\"networks\":[\"127.0.0.0/8\"],\"certs\":[\"" CERT_B
        "\"],\"users\":[]},"
        "{\"submitter\":\"SUBMITTER02\",\"networks\":[\"127.0.0.0/8\"],\"users\":["
        "{\"username\":\"alice\",\"password\":\"" PHC "\"},"
        "{\"password\":\"" PHC2 "\",\"username\":\"bob\"}]},"
        "{\"submitter\":\"SUBMITTER01\",\"networks\":[\"127.0.0.0/8\"],\"certs\":["
        "\"AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:"
        "AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA\",\"" CERT_B "\"],"
        "\"users\":[{\"username\":\"caról\",\"password\":\"" PHC "\"}]},"
        "{\"submitter\":\"SUBMITTER04\",\"networks\":[\"127.0.0.0/8\"]}]}",
        f);
  ck_assert_int_eq(fclose(f), 0);
  ohets_partner_table *t = NULL;
  ck_assert_msg(ohets_partners_load(path, &t, err, sizeof err) == 0, "%s", err);
  const ohets_partner *p1 = ohets_partners_find(t, "SUBMITTER01");
  const ohets_partner *p2 = ohets_partners_find(t, "SUBMITTER02");
  const ohets_partner *p3 = ohets_partners_find(t, "SUBMITTER03");
  const ohets_partner *p4 = ohets_partners_find(t, "SUBMITTER04");
  ck_assert(p1 && p2 && p3 && p4);

  /* users, in file order in their entry */
  ck_assert_uint_eq(p2->n_users, 2);
  ck_assert_str_eq(p2->users[0].username, "alice");
  ck_assert_str_eq(p2->users[1].username, "bob");
  ck_assert_str_eq(p2->users[1].password, PHC2);
  ck_assert_uint_eq(p3->n_users, 0);
  ck_assert_uint_eq(p4->n_users, 0);
  ck_assert_ptr_null(p4->users);

  const char *phc = "x";
  ck_assert_ptr_eq(ohets_partners_find_user(t, "alice", 5, &phc), p2);
  ck_assert_str_eq(phc, PHC);
  ck_assert_int_eq(ohets_caqh_phc_verify(phc, "password", 8), 1);
  ck_assert_ptr_eq(ohets_partners_find_user(t, "bob", 3, &phc), p2);
  ck_assert_str_eq(phc, PHC2);
  /* the length counts, not a NUL */
  ck_assert_ptr_eq(ohets_partners_find_user(t, "caról+junk", strlen("caról"), &phc), p1);
  ck_assert_str_eq(phc, PHC);
  ck_assert_ptr_eq(ohets_partners_find_user(t, "bob", 3, NULL), p2);
  static const char *const strangers[] = {"", "alic", "alicex", "Alice", "carol", "bo", "bobb"};
  for (size_t i = 0; i < sizeof strangers / sizeof strangers[0]; i++) {
    phc = "x";
    ck_assert_msg(ohets_partners_find_user(t, strangers[i], strlen(strangers[i]), &phc) == NULL,
                  "found \"%s\"", strangers[i]);
    ck_assert_ptr_null(phc);
  }
  ck_assert_ptr_null(ohets_partners_find_user(t, "alice", 4, &phc));
  ck_assert_ptr_null(ohets_partners_find_user(t, "alice\0", 6, &phc));
  ck_assert_ptr_null(ohets_partners_find_user(NULL, "alice", 5, &phc));
  ck_assert_ptr_null(phc);
  ck_assert_ptr_null(ohets_partners_find_user(t, NULL, 0, &phc));

  /* lists_cert against cert_allowed: SUBMITTER04 has no "certs" */
  ck_assert_int_eq(ohets_partner_lists_cert(p1, CERT_A), 1);
  ck_assert_int_eq(ohets_partner_lists_cert(p1, CERT_B), 1);
  ck_assert_int_eq(ohets_partner_lists_cert(p1, CERT_C), 0);
  ck_assert_int_eq(ohets_partner_lists_cert(p3, CERT_A), 0);
  ck_assert_int_eq(ohets_partner_lists_cert(p3, CERT_B), 1);
  ck_assert_int_eq(ohets_partner_lists_cert(p4, CERT_A), 0);
  ck_assert_int_eq(ohets_partner_cert_allowed(p4, CERT_A), 1);
  ck_assert_int_eq(ohets_partner_lists_cert(p4, ""), 0);
  ck_assert_int_eq(ohets_partner_lists_cert(p1, ""), 0);
  ck_assert_int_eq(ohets_partner_lists_cert(p1, NULL), 0);

  /* find_cert: CERT_B is listed by SUBMITTER03 first in the file, but
   * SUBMITTER01 comes first in submitter order */
  ck_assert_ptr_eq(ohets_partners_find_cert(t, CERT_A), p1);
  ck_assert_ptr_eq(ohets_partners_find_cert(t, CERT_B), p1);
  ck_assert_ptr_null(ohets_partners_find_cert(t, CERT_C));
  ck_assert_ptr_null(ohets_partners_find_cert(t, ""));
  ck_assert_ptr_null(ohets_partners_find_cert(t, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
                                                 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
  ck_assert_ptr_null(ohets_partners_find_cert(t, NULL));
  ck_assert_ptr_null(ohets_partners_find_cert(NULL, CERT_A));
  ohets_partners_free(t);
}
END_TEST

/* Many partners and users: each username finds its own partner, each
 * cert the first lister in submitter order. */
START_TEST(partners_many_users_and_certs) {
  char path[400], err[300];
  snprintf(path, sizeof path, "%s/partners.json", tmpdir);
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  enum { N = 40, U = 3 };
  fputs("{\"partners\":[", f);
  for (unsigned i = 0; i < N; i++) {
    unsigned sub = (i * 17) % N; /* file order differs from submitter order */
    fprintf(f, "%s{\"submitter\":\"S%02u\",\"networks\":[\"127.0.0.0/8\"],\"certs\":[",
            i ? "," : "", sub);
    /* cert k is listed by partners S(k)..S(k+2) */
    for (unsigned c = 0; c < 3; c++)
      fprintf(f, "%s\"%064x\"", c ? "," : "", (sub + N - c) % N);
    fputs("],\"users\":[", f);
    for (unsigned u = 0; u < U; u++)
      fprintf(f, "%s{\"username\":\"user%u.%u\",\"password\":\"" PHC "\"}", u ? "," : "", sub,
              u);
    fputs("]}", f);
  }
  fputs("]}", f);
  ck_assert_int_eq(fclose(f), 0);
  ohets_partner_table *t = NULL;
  ck_assert_msg(ohets_partners_load(path, &t, err, sizeof err) == 0, "%s", err);
  ck_assert_uint_eq(t->n_users, N * U);
  for (unsigned sub = 0; sub < N; sub++) {
    char want[8], name[32], cert[65];
    snprintf(want, sizeof want, "S%02u", sub);
    for (unsigned u = 0; u < U; u++) {
      snprintf(name, sizeof name, "user%u.%u", sub, u);
      const char *phc = NULL;
      const ohets_partner *p = ohets_partners_find_user(t, name, strlen(name), &phc);
      ck_assert_msg(p != NULL, "%s not found", name);
      ck_assert_str_eq(p->submitter, want);
      ck_assert_str_eq(phc, PHC);
    }
    snprintf(cert, sizeof cert, "%064x", sub);
    const ohets_partner *p = ohets_partners_find_cert(t, cert);
    ck_assert_ptr_nonnull(p);
    /* listers S(sub), S(sub+1), S(sub+2) mod N: the least of them */
    unsigned first = sub;
    for (unsigned c = 1; c < 3; c++)
      if ((sub + c) % N < first)
        first = (sub + c) % N;
    snprintf(want, sizeof want, "S%02u", first);
    ck_assert_str_eq(p->submitter, want);
  }
  ohets_partners_free(t);
}
END_TEST
#undef PHC
#undef PHC2
#undef CERT_A
#undef CERT_B
#undef CERT_C

/* ---------------------------------------------------- backends, copy */

START_TEST(kind_follows_the_scheme) {
  static const struct {
    const char *path;
    int pg;
  } paths[] = {{"postgresql://u@h/db", 1},
               {"postgres://h", 1},
               {"postgresql:///db?host=/tmp&port=5432", 1},
               {"openhets.db", 0},
               {"/var/lib/openhets/openhets.db", 0},
               {"./postgresql://x", 0},
               {"postgresql:/db", 0},
               {"POSTGRESQL://h/db", 0}, /* libpq's prefixes are lower case */
               {"host=db dbname=x", 0},
               {"", 0}};
  for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
    ck_assert_msg(ohets_store_is_postgres(paths[i].path) == paths[i].pg, "%s", paths[i].path);
  ck_assert_int_eq(ohets_store_is_postgres(NULL), 0);
}
END_TEST

/* A URI's password, in whatever place libpq takes one, never shows. */
static const struct {
  const char *in, *out;
} redactions[] = {
    {"postgresql://u:secret@host/db", "postgresql://u:***@host/db"},
    {"postgres://u:p%40ss@h1:5432,h2:5433/db?target_session_attrs=any",
     "postgres://u:***@h1:5432,h2:5433/db?target_session_attrs=any"},
    {"postgresql://u@h/db?password=secret&sslmode=require",
     "postgresql://u@h/db?password=***&sslmode=require"},
    {"postgresql://u:secret@/db?host=/tmp/x&sslpassword=keypass&port=1",
     "postgresql://u:***@/db?host=/tmp/x&sslpassword=***&port=1"},
    {"postgresql://u:a@b@h/db", "postgresql://u:***@h/db"},     /* unencoded @ */
    {"postgresql://u:pa/ss@h/db", "postgresql://u:***@h/db"},   /* unencoded / */
    {"postgresql://u:pa?ss@h/db", "postgresql://u:***@h/db"},   /* unencoded ? */
    {"postgresql://u:@h/db", "postgresql://u:***@h/db"},
    {"postgresql://u@h/db?PassWord=x", "postgresql://u@h/db?PassWord=***"},
    {"postgresql:///db?host=/tmp/x&port=5", "postgresql:///db?host=/tmp/x&port=5"},
    {"postgresql://u@h/db", "postgresql://u@h/db"},
    {"host=db password=secret user=u", "host=db password=*** user=u"},
    {"host=db password='se cr\\'et' user=u", "host=db password=*** user=u"},
    {"/var/lib/openhets/openhets.db", "/var/lib/openhets/openhets.db"},
    {"", ""},
};

START_TEST(redact_masks_passwords) {
  char out[300];
  ohets_store_redact(redactions[_i].in, out, sizeof out);
  ck_assert_str_eq(out, redactions[_i].out);
  /* a short buffer cuts, never overruns */
  char small[8];
  memset(small, 'X', sizeof small);
  ohets_store_redact(redactions[_i].in, small, 6);
  ck_assert_uint_le(strlen(small), 5);
  ck_assert_int_eq(small[6], 'X');
}
END_TEST

/* Failing opens name the store without its password. */
START_TEST(open_errors_never_show_a_password) {
  static const char *const sqlite_paths[] = {"/nonexistent-ohets/host=x password=s3cretpw"};
  static const char *const pg_paths[] = {
      "postgresql://ohets:s3cretpw@/postgres?host=/nonexistent-ohets&port=1",
      "postgresql://ohets@/postgres?host=/nonexistent-ohets&port=1&password=s3cretpw",
      "postgresql://ohets:s3cret%zzpw@/postgres?host=/nonexistent-ohets",
      "postgresql://ohets@/postgres?host=/nonexistent-ohets&password=s3cret%zzpw",
      "postgresql://ohets:s3cretpw@/postgres?host=/nonexistent-ohets&bogus_option=1"};
  const char *const *paths = on_pg ? pg_paths : sqlite_paths;
  size_t n = on_pg ? sizeof pg_paths / sizeof pg_paths[0] : 1;
  for (size_t i = 0; i < n; i++) {
    ohets_store *s = NULL;
    char err[600] = "";
    ck_assert_int_ne(ohets_store_open(&s, paths[i], OHETS_STORE_READONLY, err, sizeof err), 0);
    ck_assert_ptr_null(s);
    ck_assert_msg(err[0] != '\0', "no error text for %s", paths[i]);
    ck_assert_msg(strstr(err, "s3cret") == NULL, "password shown: %s", err);
    ck_assert_msg(strstr(err, "***") != NULL, "store not named: %s", err);
    ck_assert_msg(strchr(err, '\n') == NULL, "not one line: %s", err);
  }
}
END_TEST

/* A retired MBI that is a current one is refused at its own line, also
 * when the store checks it only at commit and a later line is bad too. */
#define BEN_RET(mbi, first, retired)                                                   \
  "{\"mbi\":\"" mbi "\",\"last\":\"DOE\",\"first\":\"" first "\",\"dob\":\"1940-01-01\"," \
  "\"retired_mbis\":[" retired "]}\n"
START_TEST(import_refusal_names_the_first_bad_line) {
  ohets_store *s = open_rw(dbpath);
  ohets_beneficiary *b = malloc(sizeof *b);
  char err[256] = "";
  /* earlier in the file, then a broken line */
  int rc = import_text(s,
                       SECOND_RECORD "\n" BEN_RET("3EG4TE5MK75", "A", "\"9AA0AA0AA01\",\"2EG4TE5MK74\"")
                           "{\"mbi\":\n",
                       err, sizeof err);
  ck_assert_int_eq(rc, -EEXIST);
  ck_assert_str_eq(err, "line 2: \"retired_mbis[1]\": " "on file as a current beneficiary's MBI");
  /* an MBI retired, then current again (its mapping goes), then retired
   * again while current: refused at line 3 */
  rc = import_text(s,
                   BEN_RET("3EG4TE5MK75", "A", "\"2EG4TE5MK74\"") BEN_RET("2EG4TE5MK74", "B", "")
                       BEN_RET("4EG4TE5MK76", "C", "\"2EG4TE5MK74\""),
                   err, sizeof err);
  ck_assert_int_eq(rc, -EEXIST);
  ck_assert_str_eq(err, "line 3: \"retired_mbis[0]\": on file as a current beneficiary's MBI");
  ck_assert_int_eq(ohets_store_beneficiary(s, "3EG4TE5MK75", b), OHETS_LOOKUP_NOT_FOUND);
  /* without that line it goes in, and the MBI is current, not retired */
  rc = import_text(s,
                   BEN_RET("3EG4TE5MK75", "A", "\"2EG4TE5MK74\"") BEN_RET("2EG4TE5MK74", "B", ""),
                   err, sizeof err);
  ck_assert_msg(rc == 0, "%s", err);
  ck_assert_int_eq(ohets_store_beneficiary(s, "2EG4TE5MK74", b), OHETS_LOOKUP_FOUND);
  ck_assert_str_eq(b->first, "B");
  json_t *j = NULL;
  ck_assert_int_eq(ohets_store_lookup_json(s, "3EG4TE5MK75", &j), OHETS_LOOKUP_FOUND);
  ck_assert_uint_eq(json_array_size(json_object_get(j, "retired_mbis")), 0);
  json_decref(j);
  /* a conflict with the store, then a bad line: the conflict's line */
  rc = import_text(s,
                   BEN_RET("5EG4TE5MK77", "D", "") BEN_RET("6EG4TE5MK78", "E", "\"3EG4TE5MK75\"")
                       "{\"mbi\":\"7EG4TE5MK79\",\"last\":\"\"}\n",
                   err, sizeof err);
  ck_assert_int_eq(rc, -EEXIST);
  ck_assert_str_eq(err, "line 2: \"retired_mbis[0]\": on file as a current beneficiary's MBI");
  ck_assert_int_eq(ohets_store_beneficiary(s, "5EG4TE5MK77", b), OHETS_LOOKUP_NOT_FOUND);
  free(b);
  ohets_store_close(s);
}
END_TEST

/* The whole store as text: stats, program years, and every beneficiary
 * in MBI order as its JSON line (retired MBIs included). */
typedef struct text_acc {
  char *p;
  size_t len, cap;
  ohets_store *s;
} text_acc;

static void acc_add(text_acc *a, const char *t) {
  size_t n = strlen(t);
  if (a->len + n + 2 > a->cap) {
    a->cap = (a->len + n + 2) * 2;
    a->p = realloc(a->p, a->cap);
    ck_assert_ptr_nonnull(a->p);
  }
  memcpy(a->p + a->len, t, n);
  a->len += n;
  a->p[a->len++] = '\n';
  a->p[a->len] = '\0';
}

static int acc_record(void *ctx, const ohets_beneficiary *rec) {
  text_acc *a = ctx;
  json_t *j = NULL;
  ck_assert_int_eq(ohets_store_lookup_json(a->s, rec->mbi, &j), OHETS_LOOKUP_FOUND);
  char *t = json_dumps(j, OHETS_RECORD_DUMP_FLAGS);
  acc_add(a, t);
  free(t);
  json_decref(j);
  return 0;
}

static char *store_text(const char *path) {
  ohets_store *s = open_ro(path);
  ohets_store_stats st;
  char err[256], line[256];
  text_acc a = {NULL, 0, 0, s};
  ck_assert_int_eq(ohets_store_stats_get(s, &st, err, sizeof err), 0);
  snprintf(line, sizeof line, "v%d b%ld r%ld %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld",
           st.schema_version, st.beneficiaries, st.retired_mbis, st.part_a, st.part_b, st.ma,
           st.part_d, st.msp, st.hospice, st.home_health, st.esrd, st.qmb, st.deceased);
  acc_add(&a, line);
  for (unsigned i = 0; i < st.n_program_years; i++) {
    ohets_program_amounts am;
    ck_assert_int_eq(ohets_store_amounts(s, st.program_years[i], &am), 0);
    json_t *j = ohets_amounts_to_json(&am);
    char *t = json_dumps(j, OHETS_RECORD_DUMP_FLAGS);
    acc_add(&a, t);
    free(t);
    json_decref(j);
  }
  ck_assert_int_eq(ohets_store_each(s, NULL, 100000, acc_record, &a), 0);
  ohets_store_close(s);
  return a.p;
}

static void copy_store(const char *from, const char *to, ohets_copy_counts *c) {
  ohets_store *a = open_ro(from), *b = open_rw(to);
  char err[300] = "";
  int rc = ohets_store_copy(a, b, c, err, sizeof err);
  ck_assert_msg(rc == 0, "copy: %s", err);
  ohets_store_close(a);
  ohets_store_close(b);
}

static void assert_same_text(const char *a, const char *b, const char *what) {
  if (strcmp(a, b) == 0)
    return;
  size_t i = 0;
  while (a[i] == b[i])
    i++;
  ck_abort_msg("%s: differ at byte %zu: \"%.60s\" vs \"%.60s\"", what, i, a + i, b + i);
}

/* Copy: the backend under test into a SQLite file and back into a new
 * store of that backend (PostgreSQL leg: PostgreSQL -> SQLite -> PostgreSQL
 * -> PostgreSQL), every copy the same store. */
START_TEST(copy_moves_the_whole_store) {
  char sqlite_copy[400], back[1200], again[1200], err[300] = "";
  ohets_store *s = open_rw(dbpath);
  ck_assert_msg(ohets_store_generate(s, 300, 11, err, sizeof err) == 0, "%s", err);
  ck_assert_int_eq(import_text(s, FULL_RECORD "\n" YEAR_2030_LINE, err, sizeof err), 0);
  ohets_store_close(s);
  char *want = store_text(dbpath);

  snprintf(sqlite_copy, sizeof sqlite_copy, "%s/copy.db", tmpdir);
  store_path(back, sizeof back, "back");
  store_path(again, sizeof again, "again");
  ohets_copy_counts c;
  copy_store(dbpath, sqlite_copy, &c);
  ck_assert_uint_eq(c.beneficiaries, 301);
  ck_assert_uint_eq(c.program_years, 5);
  ohets_store_stats st;
  s = open_ro(dbpath);
  ck_assert_int_eq(ohets_store_stats_get(s, &st, err, sizeof err), 0);
  ohets_store_close(s);
  ck_assert_int_ge(st.retired_mbis, 2);
  ck_assert_uint_eq(c.retired_mbis, (unsigned long)st.retired_mbis);
  int was_pg = on_pg;
  on_pg = 0;
  char *got = store_text(sqlite_copy);
  on_pg = was_pg;
  assert_same_text(got, want, "first copy");
  free(got);
  copy_store(sqlite_copy, back, &c);
  copy_store(back, again, &c);
  got = store_text(again);
  assert_same_text(got, want, "copy of the copy of the copy");
  free(got);
  /* copied again onto itself's copy: the same store still (upserts) */
  copy_store(dbpath, again, &c);
  got = store_text(again);
  assert_same_text(got, want, "copied twice");
  free(got);
  free(want);

  s = open_ro(dbpath);
  ck_assert_int_eq(ohets_store_copy(s, s, &c, err, sizeof err), -EINVAL);
  ohets_store_close(s);
}
END_TEST

/* A copy that cannot go in whole leaves the target as it was. */
START_TEST(copy_is_all_or_nothing) {
  char src[400], err[300] = "";
  snprintf(src, sizeof src, "%s/source.db", tmpdir);
  int was_pg = on_pg;
  on_pg = 0;
  ohets_store *s = open_rw(src);
  ck_assert_int_eq(import_text(s, SECOND_RECORD "\n" FULL_RECORD "\n", err, sizeof err), 0);
  ohets_store_close(s);
  on_pg = was_pg;
  /* the target holds, as a current beneficiary, a retired MBI of the source */
  s = open_rw(dbpath);
  ck_assert_int_eq(import_text(s, BEN_RET("9AA0AA0AA00", "OTHER", ""), err, sizeof err), 0);
  ohets_store_close(s);
  char *before = store_text(dbpath);
  ohets_store *from = open_ro(src), *to = open_rw(dbpath);
  ohets_copy_counts c;
  int rc = ohets_store_copy(from, to, &c, err, sizeof err);
  ck_assert_int_eq(rc, -EEXIST);
  ck_assert_str_eq(err, "beneficiary 1 of the source (in MBI order): \"retired_mbis[0]\": "
                        "on file as a current beneficiary's MBI in the target");
  ck_assert_uint_eq(c.beneficiaries, 0);
  ohets_store_close(from);
  ohets_store_close(to);
  char *after = store_text(dbpath);
  assert_same_text(after, before, "target after a refused copy");
  free(before);
  free(after);
}
END_TEST

/* PostgreSQL: a lost connection fails lookups (no silent reconnect, so the
 * server's reopen-with-backoff and its stderr lines apply); a new handle
 * reconnects. */
START_TEST(pg_lost_connection_is_unavailable) {
  char victim[1300], app[64], extra[96], sql[200], err[256] = "";
  snprintf(app, sizeof app, "ohets_victim_%ld", (long)getpid());
  snprintf(extra, sizeof extra, "&application_name=%s", app);
  store_path_ex(victim, sizeof victim, "victim", extra);
  ohets_store *w = open_rw(victim);
  ck_assert_int_eq(import_text(w, FULL_RECORD "\n", err, sizeof err), 0);
  ohets_store_close(w);
  ohets_store *r = open_ro(victim);
  ohets_beneficiary *b = malloc(sizeof *b);
  ohets_program_amounts a;
  ck_assert_int_eq(ohets_store_beneficiary(r, "1EG4TE5MK73", b), OHETS_LOOKUP_FOUND);
  ck_assert_int_eq(ohets_store_amounts(r, 2026, &a), 0);

  snprintf(sql, sizeof sql,
           "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '%s'",
           app);
  pg_exec(pg_base, sql);
  /* wait (bounded) until the backend is gone */
  PGconn *c = PQconnectdb(pg_base);
  ck_assert_int_eq(PQstatus(c), CONNECTION_OK);
  snprintf(sql, sizeof sql, "SELECT count(*) FROM pg_stat_activity WHERE application_name = '%s'",
           app);
  int left = 1;
  for (int i = 0; i < 500 && left; i++) {
    PGresult *res = PQexec(c, sql);
    left = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    if (left) {
      struct timespec ms10 = {0, 10 * 1000 * 1000};
      nanosleep(&ms10, NULL);
    }
  }
  PQfinish(c);
  ck_assert_int_eq(left, 0);

  ck_assert_int_eq(ohets_store_beneficiary(r, "1EG4TE5MK73", b), OHETS_LOOKUP_UNAVAILABLE);
  ck_assert_int_eq(ohets_store_beneficiary(r, "9AA0AA0AA00", b), OHETS_LOOKUP_UNAVAILABLE);
  ohets_store_release(r); /* nothing kept: the amounts are asked for again */
  int rc = ohets_store_amounts(r, 2026, &a);
  ck_assert_int_lt(rc, 0);
  ck_assert_int_ne(rc, -ENOENT);
  json_t *j = NULL;
  ck_assert_int_eq(ohets_store_lookup_json(r, "1EG4TE5MK73", &j), OHETS_LOOKUP_UNAVAILABLE);
  ohets_store_close(r);
  r = open_ro(victim); /* what the server's worker does: a new handle */
  ck_assert_int_eq(ohets_store_beneficiary(r, "1EG4TE5MK73", b), OHETS_LOOKUP_FOUND);
  ck_assert_int_eq(ohets_store_beneficiary(r, "9AA0AA0AA00", b), OHETS_LOOKUP_RETIRED);
  ohets_store_close(r);
  free(b);
}
END_TEST

/* PostgreSQL: a multi-host URI whose first host is down connects to the
 * next (libpq's failover). */
START_TEST(pg_multi_host_uri_connects_to_the_next_host) {
  char err[256] = "", multi[1400];
  PQconninfoOption *opts = PQconninfoParse(pg_base, NULL);
  const char *host = NULL, *port = NULL, *user = NULL, *dbname = NULL;
  for (PQconninfoOption *o = opts; o && o->keyword; o++) {
    if (o->val == NULL)
      continue;
    if (strcmp(o->keyword, "host") == 0)
      host = o->val;
    else if (strcmp(o->keyword, "port") == 0)
      port = o->val;
    else if (strcmp(o->keyword, "user") == 0)
      user = o->val;
    else if (strcmp(o->keyword, "dbname") == 0)
      dbname = o->val;
  }
  if (host == NULL || strchr(host, ',') != NULL) {
    printf("test_store: multi-host test skipped: OHETS_TEST_PG_URL names no single host\n");
    PQconninfoFree(opts);
    return;
  }
  ohets_store *w = open_rw(dbpath);
  ck_assert_int_eq(import_text(w, FULL_RECORD "\n", err, sizeof err), 0);
  ohets_store_close(w);
  const char *opt = strstr(dbpath, "options=");
  ck_assert_ptr_nonnull(opt);
  snprintf(multi, sizeof multi,
           "postgresql:///%s?host=/nonexistent-ohets,%s&port=%s,%s%s%s"
           "&target_session_attrs=any&connect_timeout=2&%s",
           dbname ? dbname : "postgres", host, port ? port : "5432", port ? port : "5432",
           user ? "&user=" : "", user ? user : "", opt);
  PQconninfoFree(opts);
  ohets_store *r = open_ro(multi);
  ohets_beneficiary *b = malloc(sizeof *b);
  ck_assert_int_eq(ohets_store_beneficiary(r, "1EG4TE5MK73", b), OHETS_LOOKUP_FOUND);
  ck_assert_str_eq(ohets_store_kind(r), "postgresql");
  free(b);
  ohets_store_close(r);
}
END_TEST

/* PostgreSQL: the program amounts an answer asks for after its lookup
 * came in the lookup's own round trip (a read-only handle renews every
 * year with a lookup once they are older than 50 ms), so a connection lost
 * between the two cannot give a 271 without them.  Shown by renaming the
 * table between the two calls: the amounts still come. */
static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

START_TEST(pg_lookup_brings_the_amounts) {
  char err[256] = "";
  ohets_store *w = open_rw(dbpath);
  ck_assert_int_eq(import_text(w, FULL_RECORD "\n", err, sizeof err), 0);
  ohets_store_close(w);
  ohets_store *r = open_ro(dbpath);
  ohets_beneficiary *b = malloc(sizeof *b);
  ohets_program_amounts a;
  PGconn *admin = PQconnectdb(dbpath);
  ck_assert_int_eq(PQstatus(admin), CONNECTION_OK);
  int judged = 0;
  for (int attempt = 0; attempt < 10 && !judged; attempt++) {
    ohets_store_release(r); /* nothing kept */
    int64_t t0 = mono_ms();
    ck_assert_int_eq(ohets_store_beneficiary(r, "1EG4TE5MK73", b), OHETS_LOOKUP_FOUND);
    PQclear(PQexec(admin, "ALTER TABLE program_amounts RENAME TO program_amounts_away"));
    int rc = ohets_store_amounts(r, 2026, &a);
    int rc_none = ohets_store_amounts(r, 2031, &a);
    int64_t took = mono_ms() - t0;
    PQclear(PQexec(admin, "ALTER TABLE program_amounts_away RENAME TO program_amounts"));
    if (took >= 40)
      continue; /* the machine stalled past the 50 ms: try again */
    judged = 1;
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(rc_none, -ENOENT);
  }
  ck_assert_msg(judged, "every attempt took 40 ms or more");
  ohets_store_amounts(r, 2026, &a);
  ck_assert_int_eq(a.part_a_deductible_cents, 173600);
  PQfinish(admin);
  free(b);
  ohets_store_close(r);
}
END_TEST

/* PostgreSQL: a statement's error names no record value, though the
 * server's DETAIL quotes the row ("Failing row contains (2EG4TE5MK74, ...)"):
 * a check constraint added by hand makes the merge fail. */
START_TEST(pg_errors_hold_no_record_values) {
  char err[400] = "";
  ohets_store *s = open_rw(dbpath);
  pg_exec(dbpath, "ALTER TABLE beneficiaries ADD CONSTRAINT no_roe CHECK (mbi <> '2EG4TE5MK74')");
  int rc = import_text(s, SECOND_RECORD "\n", err, sizeof err);
  ck_assert_int_ne(rc, 0);
  ck_assert_msg(strstr(err, "violates check constraint") != NULL, "%s", err);
  ck_assert_msg(strstr(err, "2EG4TE5MK74") == NULL, "MBI in the error: %s", err);
  ck_assert_msg(strstr(err, "ROE") == NULL, "name in the error: %s", err);
  ohets_store_close(s);
}
END_TEST

/* PostgreSQL merges an import's rows set-wise at commit; SQLite applies
 * them one by one.  Random files over a small set of MBIs (records named
 * again, retired MBIs moving between records, becoming current again,
 * refused ones, broken lines, program years) go into both, one after
 * another: after each, the same result, the same error text and the same
 * stores. */
#define DIFF_CURRENT 16 /* MBIs that are records; 8 more only ever retired */
#define DIFF_ALL 24

static uint64_t diff_rand(uint64_t *x) {
  *x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
  return *x >> 33;
}

static void diff_mbi(char out[12], unsigned k) { snprintf(out, 12, "1EG4TE5MK%02u", k); }

static void diff_file(uint64_t *x, unsigned round, char *text, size_t cap) {
  size_t n = 0;
  unsigned lines = 1 + (unsigned)(diff_rand(x) % 14);
  text[0] = '\0';
  for (unsigned l = 0; l < lines; l++) {
    unsigned r = (unsigned)(diff_rand(x) % 100);
    char mbi[12], ret[3][12];
    if (r < 3) {
      n += (size_t)snprintf(text + n, cap - n, "{\"mbi\":\n"); /* broken */
      continue;
    }
    if (r < 8) {
      n += (size_t)snprintf(text + n, cap - n,
                            "{\"program_year\":%u,\"part_a_deductible\":%u,"
                            "\"part_b_deductible\":1,\"part_b_coinsurance_percent\":20,"
                            "\"hospital_coinsurance_day61\":1,\"lifetime_reserve_coinsurance\":1,"
                            "\"snf_coinsurance_day21\":1}\n",
                            2030 + (unsigned)(diff_rand(x) % 3), round * 100 + l);
      continue;
    }
    unsigned me = (unsigned)(diff_rand(x) % DIFF_CURRENT);
    diff_mbi(mbi, me);
    unsigned nret = (unsigned)(diff_rand(x) % 4), got = 0;
    if (nret == 3)
      nret = 0;
    for (unsigned i = 0; i < nret; i++) {
      /* mostly MBIs that are never current; now and then a current one */
      unsigned k = diff_rand(x) % 100 < 85 ? DIFF_CURRENT + (unsigned)(diff_rand(x) % 8)
                                           : (unsigned)(diff_rand(x) % DIFF_CURRENT);
      char cand[12];
      diff_mbi(cand, k);
      int dup = k == me;
      for (unsigned j = 0; j < got; j++)
        dup |= strcmp(ret[j], cand) == 0;
      if (!dup)
        memcpy(ret[got++], cand, 12);
    }
    n += (size_t)snprintf(text + n, cap - n,
                          "{\"mbi\":\"%s\",\"last\":\"DOE\",\"first\":\"R%uL%u\","
                          "\"dob\":\"1940-01-01\",\"retired_mbis\":[",
                          mbi, round, l + 1);
    for (unsigned j = 0; j < got; j++)
      n += (size_t)snprintf(text + n, cap - n, "%s\"%s\"", j ? "," : "", ret[j]);
    n += (size_t)snprintf(text + n, cap - n, "]}\n");
  }
}

/* Every MBI of the set looked up: status, and the record as JSON. */
static char *diff_state(const char *path, int pg) {
  int was = on_pg;
  on_pg = pg;
  ohets_store *s = open_ro(path);
  text_acc a = {NULL, 0, 0, s};
  for (unsigned k = 0; k < DIFF_ALL; k++) {
    char mbi[12], line[64];
    json_t *j = NULL;
    diff_mbi(mbi, k);
    ohets_lookup_status st = ohets_store_lookup_json(s, mbi, &j);
    snprintf(line, sizeof line, "%s %d", mbi, (int)st);
    acc_add(&a, line);
    if (j != NULL) {
      char *t = json_dumps(j, OHETS_RECORD_DUMP_FLAGS);
      acc_add(&a, t);
      free(t);
      json_decref(j);
    }
  }
  ohets_store_close(s);
  char *st = store_text(path);
  acc_add(&a, st);
  free(st);
  on_pg = was;
  return a.p;
}

START_TEST(pg_import_matches_sqlite) {
  char ref[400], err_pg[256], err_sq[256];
  static char text[8192];
  uint64_t x = 20261129;
  unsigned ok = 0, refused = 0;
  snprintf(ref, sizeof ref, "%s/reference.db", tmpdir);
  on_pg = 0;
  ohets_store *sq = open_rw(ref);
  on_pg = 1;
  ohets_store *pg = open_rw(dbpath);
  for (unsigned round = 0; round < 120; round++) {
    diff_file(&x, round, text, sizeof text);
    err_pg[0] = err_sq[0] = '\0';
    int rs = import_text(sq, text, err_sq, sizeof err_sq);
    int rp = import_text(pg, text, err_pg, sizeof err_pg);
    ck_assert_msg(rs == rp, "round %u: SQLite %d (%s), PostgreSQL %d (%s)", round, rs, err_sq,
                  rp, err_pg);
    if (rs != 0)
      ck_assert_msg(strcmp(err_sq, err_pg) == 0, "round %u: \"%s\" vs \"%s\"", round, err_sq,
                    err_pg);
    ok += rs == 0;
    refused += rs == -EEXIST;
    if (round % 10 == 9 || round == 119) {
      char *a = diff_state(ref, 0), *b = diff_state(dbpath, 1), what[32];
      snprintf(what, sizeof what, "round %u: SQLite vs PostgreSQL", round);
      assert_same_text(a, b, what);
      free(a);
      free(b);
    }
  }
  ohets_store_close(sq);
  ohets_store_close(pg);
  /* the files did what they were for: most went in, some were refused */
  ck_assert_uint_ge(ok, 40);
  ck_assert_uint_ge(refused, 10);
}
END_TEST

/* The store's own tests, once per backend. */
static void add_store_tests(TCase *tc) {
  tcase_add_test(tc, init_creates_current_schema);
  tcase_add_test(tc, readonly_refuses_other_versions);
  tcase_add_test(tc, writable_open_upgrades_old_schema);
  tcase_add_test(tc, amounts_seeded_and_keyed_by_year);
  tcase_add_test(tc, import_adds_a_program_year);
  tcase_add_test(tc, import_then_lookup_round_trips);
  tcase_add_test(tc, retired_and_unknown_mbis);
  tcase_add_test(tc, import_upserts_duplicates);
  tcase_add_test(tc, bad_line_imports_nothing);
  tcase_add_test(tc, import_refusal_names_the_first_bad_line);
  tcase_add_loop_test(tc, import_summary_says_what_is_stored, 0,
                      (int)(sizeof import_summaries / sizeof import_summaries[0]));
  tcase_add_loop_test(tc, validation_rules, 0, (int)(sizeof rules / sizeof rules[0]));
  tcase_add_test(tc, generate_is_deterministic);
  tcase_add_test(tc, generate_mix_is_realistic_and_valid);
  tcase_add_test(tc, generate_output_is_pinned);
  tcase_add_test(tc, threads_with_own_handles);
  tcase_add_test(tc, readonly_sees_import_after_renewal);
  tcase_add_test(tc, readonly_amounts_follow_the_snapshot);
  tcase_add_test(tc, open_errors_never_show_a_password);
  tcase_add_test(tc, copy_moves_the_whole_store);
  tcase_add_test(tc, copy_is_all_or_nothing);
}

/* partners.json "certs": 64 hex digits, ':' anywhere and case ignored. */
START_TEST(fingerprint_parse) {
  static const char lower[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  static const struct {
    const char *in;
    int ok;
  } cases[] = {
      {"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", 1},
      {"0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF", 1},
      {"01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:"
       "AB:CD:EF",
       1},
      {"01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:"
       "ab:cd:ef",
       1},
      {":0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef:", 1},
      {"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde", 0},   /* 63 */
      {"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0", 0}, /* 65 */
      {"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg", 0},
      {"0123456789abcdef0123456789abcdef 0123456789abcdef0123456789abcdef", 0},
      {"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n", 0},
      {"01-23-45-67-89-ab-cd-ef-01-23-45-67-89-ab-cd-ef-01-23-45-67-89-ab-cd-ef-01-23-45-67-89-"
       "ab-cd-ef",
       0},
      {"0x0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd", 0},
      {"", 0},
      {":::", 0},
      {"da39a3ee5e6b4b0d3255bfef95601890afd80709", 0}, /* a SHA-1 */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char out[65];
    memset(out, 'z', sizeof out);
    int rc = ohets_fingerprint_parse(cases[i].in, out);
    ck_assert_msg(rc == (cases[i].ok ? 0 : -EINVAL), "case %zu: %d", i, rc);
    if (cases[i].ok)
      ck_assert_str_eq(out, lower);
    else
      ck_assert_str_eq(out, "");
  }
  char out[65];
  ck_assert_int_eq(ohets_fingerprint_parse(NULL, out), -EINVAL);
}
END_TEST

static Suite *store_suite(void) {
  Suite *s = suite_create("store");

  TCase *common = tcase_create("common");
  tcase_add_unchecked_fixture(common, make_basedir, remove_basedir);
  tcase_add_checked_fixture(common, setup_dir, NULL);
  tcase_add_test(common, packed_blob_rejects_damage);
  tcase_add_test(common, kind_follows_the_scheme);
  tcase_add_loop_test(common, redact_masks_passwords, 0,
                      (int)(sizeof redactions / sizeof redactions[0]));
  tcase_add_test(common, partners_find_each_and_only_listed);
  tcase_add_test(common, fingerprint_parse);
  tcase_add_loop_test(common, partners_file_problems, 0,
                      (int)(sizeof partner_files / sizeof partner_files[0]));
  tcase_add_test(common, partners_users_and_certs);
  tcase_add_test(common, partners_many_users_and_certs);
  suite_add_tcase(s, common);

  TCase *sq = tcase_create("sqlite");
  tcase_add_unchecked_fixture(sq, make_basedir, remove_basedir);
  tcase_add_checked_fixture(sq, setup_sqlite, NULL);
  tcase_set_timeout(sq, 60);
  add_store_tests(sq);
  suite_add_tcase(s, sq);

  pg_base = getenv("OHETS_TEST_PG_URL");
  if (pg_base != NULL && pg_base[0] != '\0') {
    TCase *pg = tcase_create("pg");
    tcase_add_unchecked_fixture(pg, make_basedir, remove_basedir);
    tcase_add_checked_fixture(pg, setup_pg, NULL);
    tcase_set_timeout(pg, 120);
    add_store_tests(pg);
    tcase_add_test(pg, pg_lost_connection_is_unavailable);
    tcase_add_test(pg, pg_multi_host_uri_connects_to_the_next_host);
    tcase_add_test(pg, pg_import_matches_sqlite);
    tcase_add_test(pg, pg_errors_hold_no_record_values);
    tcase_add_test(pg, pg_lookup_brings_the_amounts);
    suite_add_tcase(s, pg);
  } else {
    printf("test_store: PostgreSQL leg not run: OHETS_TEST_PG_URL is unset "
           "(tests/pg/unit.sh starts a cluster and sets it)\n");
  }
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(store_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
