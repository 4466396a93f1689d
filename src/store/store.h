/* The eligibility store behind the core's ohets_lookup interface: SQLite
 * (a file path, the embedded default) or PostgreSQL (a postgresql:// or
 * postgres:// libpq connection URI, multi-host ones included).  One
 * interface; ohets_store_open picks the backend by the path's scheme and
 * every other call goes through the handle's backend (an ops table).
 *
 * Threading: one ohets_store is one connection (SQLite in its multi-thread
 * mode, or one libpq connection).  A handle may be used by one thread at a
 * time; a worker pool opens one handle per worker thread
 * (OHETS_STORE_READONLY for the server) and never shares it.
 *
 * Schema (see migrations.c; the same version number means the same schema
 * on both): beneficiaries keyed by MBI, each holding the record in a
 * compact binary encoding (record_pack.c; `hets-db lookup` shows it as
 * JSON in the import format); a table mapping retired MBIs to the current
 * one; program amounts keyed by year.  The schema version is SQLite's
 * PRAGMA user_version, or PostgreSQL's schema_version table.
 *
 * Functions return 0 or a negative errno value unless they say otherwise.
 * Error texts written to err never hold names, MBIs or dates of birth, nor
 * a connection URI's password (see ohets_store_redact).
 */
#ifndef OPENHETS_STORE_STORE_H
#define OPENHETS_STORE_STORE_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "openhets/openhets.h"

typedef struct ohets_store ohets_store;

#define OHETS_STORE_READONLY 0x1 /* no writes, no migrations: schema must be current */
#define OHETS_STORE_CREATE 0x2   /* create the file if missing (writable only) */

/* Highest retired MBIs kept per beneficiary. */
#define OHETS_STORE_MAX_RETIRED 8

typedef struct ohets_retired_mbis {
  char mbi[OHETS_STORE_MAX_RETIRED][12];
  unsigned n;
} ohets_retired_mbis;

/* Opens (and, when writable, creates or upgrades) the store at path.  A
 * read-only open of a database whose schema version is not this program's
 * fails with a message saying which and what to run.  err may be NULL.
 * A PostgreSQL handle is one connection made with libpq (its environment,
 * ~/.pgpass, PGPASSFILE and pg_service.conf apply); a multi-host URI
 * connects to the first host that answers.  OHETS_STORE_CREATE does not
 * create a PostgreSQL database, only the tables in it. */
int ohets_store_open(ohets_store **out, const char *path, int flags, char *err,
                     size_t errsz);
void ohets_store_close(ohets_store *s);

/* 1 when path names a PostgreSQL store (it starts with postgresql:// or
 * postgres://, as libpq's URIs do), 0 for a SQLite file. */
int ohets_store_is_postgres(const char *path);
/* "sqlite" or "postgresql". */
const char *ohets_store_kind(const ohets_store *s);

/* path as it may be shown: a URI's password ("user:PASSWORD@") and every
 * "password=VALUE" (URI query or key=value form) replaced by ***.  Any
 * path that an error text, a log line or an output line names should go
 * through this.  Cut to outsz - 1 bytes, always NUL-terminated. */
void ohets_store_redact(const char *path, char *out, size_t outsz);

/* Schema version this program writes, and the one found in the open store. */
int ohets_store_schema_version(void);
int ohets_store_user_version(ohets_store *s);

/* ohets_lookup callbacks; store is an ohets_store *.  The MBI is compared
 * upper-cased.  A retired MBI gives OHETS_LOOKUP_RETIRED, a database error
 * (a lost PostgreSQL connection included) OHETS_LOOKUP_UNAVAILABLE; the
 * handle is then best closed and opened again, which reconnects. */
ohets_lookup_status ohets_store_beneficiary(void *store, const char *mbi,
                                            ohets_beneficiary *out);
/* 0, -ENOENT when no row for that year, or another negative on failure. */
int ohets_store_amounts(void *store, int year, ohets_program_amounts *out);
/* SQLite: a read-only handle reads through one snapshot (read transaction)
 * kept across lookups and renewed every 50 ms of use, so a lookup makes no
 * system call; data imported meanwhile shows from the next renewal.
 * PostgreSQL: each lookup reads the latest committed data; a read-only
 * handle keeps the program amounts it read for 50 ms.  A worker going idle
 * may call this to end its snapshot (and drop the kept amounts) at once
 * (an idle SQLite snapshot keeps the WAL from being recycled).  No-op
 * otherwise, and for NULL. */
void ohets_store_release(ohets_store *s);

/* Fills out with the two callbacks above and ctx = s. */
void ohets_store_lookup_iface(ohets_store *s, ohets_lookup *out);

/* Lookup for tools: on OHETS_LOOKUP_FOUND *out is the record as a JSON
 * object in the import format (caller json_decref()s it), retired MBIs
 * included. */
ohets_lookup_status ohets_store_lookup_json(ohets_store *s, const char *mbi,
                                            json_t **out);

/* Calls fn for up to limit beneficiaries in MBI order, starting after the
 * MBI after (NULL: from the first); stops at fn's first non-zero return and
 * returns it.  0 when done, negative on a store error.  For tools drawing
 * sample records (hets-load); page with after = the last MBI seen. */
int ohets_store_each(ohets_store *s, const char *after, unsigned long limit,
                     int (*fn)(void *ctx, const ohets_beneficiary *rec),
                     void *ctx);

typedef struct ohets_store_stats {
  int schema_version;
  long beneficiaries;
  long retired_mbis;
  int program_years[64]; /* ascending; the first n_program_years */
  unsigned n_program_years;
  long part_a, part_b, ma, part_d, msp, hospice, home_health, esrd, qmb,
      deceased;
} ohets_store_stats;

int ohets_store_stats_get(ohets_store *s, ohets_store_stats *out, char *err,
                          size_t errsz);

/* A line of an import that a later line of the same file replaced. */
typedef struct ohets_import_replaced {
  unsigned long line;   /* the earlier line */
  unsigned long by;     /* the later line that replaced it */
  int program_year;     /* 1: the same program year; 0: the same MBI */
} ohets_import_replaced;

#define OHETS_IMPORT_SHOWN 3 /* replaced lines kept for the summary */

/* What one import added or replaced.  Lines naming an MBI (or a program
 * year) that an earlier line of the same file named count once: the later
 * line replaces the earlier one. */
typedef struct ohets_import_counts {
  unsigned long beneficiaries; /* stored: different MBIs among the lines */
  unsigned long program_years; /* stored: different years among the lines */
  unsigned long lines;         /* lines read, blank ones included */
  unsigned long records;       /* non-blank lines, each one record */
  unsigned long replaced;      /* lines a later line of the file replaced */
  ohets_import_replaced shown[OHETS_IMPORT_SHOWN]; /* the first of them, by
                                                      the replacing line */
} ohets_import_counts;

/* Imports JSON Lines (DESIGN §7; see import.c for the program-amount
 * lines) in one transaction: all or nothing.  A beneficiary whose MBI is
 * already in the file or the store replaces the earlier one (upsert), its
 * retired MBIs included; a program-amount line replaces that year.  On a bad
 * line err says "line N: \"field\": what is wrong" without the value. */
int ohets_store_import(ohets_store *s, FILE *in, char *err, size_t errsz);
int ohets_store_import_counted(ohets_store *s, FILE *in,
                               ohets_import_counts *counts, char *err,
                               size_t errsz);
/* One line saying what an import stored, e.g. "imported 2 lines: 1
 * beneficiary stored, 0 program years (line 2 replaced line 1 for the same
 * MBI)".  Line numbers only, never an MBI. */
void ohets_import_summary(const ohets_import_counts *c, char *out, size_t outsz);

/* What ohets_store_copy moved. */
typedef struct ohets_copy_counts {
  unsigned long beneficiaries;
  unsigned long retired_mbis;
  unsigned long program_years;
} ohets_copy_counts;

/* Copies the whole store from (beneficiaries with their retired MBIs, and
 * every program year) into to, either kind to either kind: from is read in
 * one snapshot, to is written in one transaction, all or nothing, through
 * the same insert path as an import (a beneficiary or year already in to
 * is replaced).  from and to must be different stores. */
int ohets_store_copy(ohets_store *from, ohets_store *to, ohets_copy_counts *counts,
                     char *err, size_t errsz);

/* Adds count synthetic beneficiaries, deterministic for a seed and the
 * store's latest program year (which stands for "this year"), in one
 * transaction through the same insert path as import. */
int ohets_store_generate(ohets_store *s, unsigned long count, uint64_t seed,
                         char *err, size_t errsz);

/* Record <-> JSON in the import format.  from_json validates strictly and
 * fills *out (and *retired when not NULL); err names the field, never the
 * value.  to_json writes every key (null / [] when none); retired may be
 * NULL (then "retired_mbis" is []).  NULL on allocation failure. */
int ohets_record_from_json(const json_t *j, ohets_beneficiary *out, char *err,
                           size_t errsz);
int ohets_record_from_json_ex(const json_t *j, ohets_beneficiary *out,
                              ohets_retired_mbis *retired, char *err,
                              size_t errsz);
json_t *ohets_record_to_json(const ohets_beneficiary *rec,
                             const ohets_retired_mbis *retired);

/* Program-amount line: {"program_year": Y, ...} (keys in import.c). */
int ohets_amounts_from_json(const json_t *j, ohets_program_amounts *out,
                            char *err, size_t errsz);
json_t *ohets_amounts_to_json(const ohets_program_amounts *a);

/* jansson dump flags for records: compact, ordered keys, money printed with
 * no more digits than it has. */
#define OHETS_RECORD_DUMP_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15))

/* ---------------------------------------------------------------- private */
struct sqlite3;

/* One backend.  Every handle starts with struct ohets_store (its ops), the
 * backend's own state follows.  The write calls run between begin and
 * commit; a backend may defer its checks of the puts to check/commit
 * (PostgreSQL stages rows with COPY and merges them at commit), which then
 * fail with -EEXIST, err holding the field's message, and *at the ordinal
 * of the failed put (ohets__store_put and _put_amounts calls since begin,
 * counted from 0). */
typedef struct ohets_store_ops {
  const char *kind;
  void (*close)(ohets_store *s);
  int (*user_version)(ohets_store *s);
  ohets_lookup_status (*beneficiary)(void *s, const char *mbi, ohets_beneficiary *out);
  int (*amounts)(void *s, int year, ohets_program_amounts *out);
  void (*release)(ohets_store *s);
  /* The retired MBIs of a current MBI, in MBI order. */
  int (*retired_of)(ohets_store *s, const char *mbi, ohets_retired_mbis *out);
  int (*each)(ohets_store *s, const char *after, unsigned long limit,
              int (*fn)(void *ctx, const ohets_beneficiary *rec), void *ctx);
  /* The whole store in one snapshot: every program year (ascending), then
   * every beneficiary with its retired MBIs (MBI order).  Stops at the
   * first non-zero return of a callback and returns it. */
  int (*dump)(ohets_store *s, int (*year)(void *ctx, const ohets_program_amounts *a),
              int (*rec)(void *ctx, const ohets_beneficiary *b, const ohets_retired_mbis *r),
              void *ctx, char *err, size_t errsz);
  int (*stats)(ohets_store *s, ohets_store_stats *out, char *err, size_t errsz);
  int (*begin)(ohets_store *s, char *err, size_t errsz);
  int (*check)(ohets_store *s, unsigned long *at, char *err, size_t errsz);
  int (*commit)(ohets_store *s, unsigned long *at, char *err, size_t errsz);
  void (*rollback)(ohets_store *s);
  int (*put)(ohets_store *s, const ohets_beneficiary *rec, const ohets_retired_mbis *retired,
             char *err, size_t errsz);
  int (*put_amounts)(ohets_store *s, const ohets_program_amounts *a, char *err, size_t errsz);
  int (*latest_year)(ohets_store *s);
} ohets_store_ops;

struct ohets_store {
  const ohets_store_ops *ops;
};

int ohets__sqlite_open(ohets_store **out, const char *path, int flags, char *err,
                       size_t errsz);
int ohets__pg_open(ohets_store **out, const char *uri, int flags, char *err, size_t errsz);

/* Applies migrations (writable) or checks the version (read-only). */
int ohets__store_migrate(struct sqlite3 *db, int writable, char *err,
                         size_t errsz);
/* The PostgreSQL migration steps (as many as SQLite's: the same version
 * number means the same schema). */
const char *ohets__pg_migration_step(int step); /* step 1..schema version */
/* The message for a schema version other than this program's (read-only
 * open) or newer (any open); 0 when version is this program's. */
int ohets__schema_mismatch(int version, int writable, char *err, size_t errsz);

int ohets__store_begin(ohets_store *s, char *err, size_t errsz);
int ohets__store_commit(ohets_store *s, char *err, size_t errsz);
/* As commit, and *at (when not NULL) set as the ops say on -EEXIST. */
int ohets__store_commit_at(ohets_store *s, unsigned long *at, char *err, size_t errsz);
/* Runs the checks a backend deferred on the puts so far: 0, or -EEXIST
 * with *at and err as above, or another negative on a store error. */
int ohets__store_check(ohets_store *s, unsigned long *at, char *err, size_t errsz);
void ohets__store_rollback(ohets_store *s);
/* Inserts or replaces one beneficiary and its retired MBIs.  Must run inside
 * ohets__store_begin/commit. */
int ohets__store_put(ohets_store *s, const ohets_beneficiary *rec,
                     const ohets_retired_mbis *retired, char *err,
                     size_t errsz);
int ohets__store_put_amounts(ohets_store *s, const ohets_program_amounts *a,
                             char *err, size_t errsz);
/* Latest year in program_amounts, or 0 when none. */
int ohets__store_latest_year(ohets_store *s);

/* Where path holds a secret (a URI's userinfo password, the value of any
 * password=): up to max spans in order, returns how many there are. */
typedef struct ohets__span {
  size_t at, len;
} ohets__span;
int ohets__secrets(const char *path, ohets__span *spans, int max);

/* Upper-cases an 11-character MBI into key; 0 if it cannot be one. */
int ohets__mbi_key(const char *mbi, char key[12]);
/* Benefit flags of a record (the beneficiaries.flags column, for stats). */
int ohets__record_flags(const ohets_beneficiary *r);
/* Milliseconds of CLOCK_MONOTONIC_COARSE. */
int64_t ohets__coarse_ms(void);

/* A read-only handle keeps what it read for at most this long (SQLite: its
 * snapshot; PostgreSQL: the program amounts). */
#define OHETS__SNAPSHOT_MAX_MS 50

/* The message of a retired MBI that is some beneficiary's current one. */
#define OHETS__RETIRED_IS_CURRENT "on file as a current beneficiary's MBI"

/* Compact binary encoding of a record (format version in the first byte).
 * pack returns the length written or -ENOBUFS; unpack returns 0 or -EINVAL
 * for anything malformed or out of the record's capacities. */
#define OHETS__PACK_CAP (sizeof(ohets_beneficiary) + 64)
long ohets__record_pack(const ohets_beneficiary *rec, uint8_t *buf, size_t cap);
int ohets__record_unpack(const uint8_t *buf, size_t len, ohets_beneficiary *out);

#endif /* OPENHETS_STORE_STORE_H */
