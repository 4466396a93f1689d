/* The eligibility store: SQLite behind the core's ohets_lookup interface.
 *
 * Threading: one ohets_store is one SQLite connection opened in SQLite's
 * multi-thread mode (no per-connection mutex).  A handle may be used by one
 * thread at a time; a worker pool opens one handle per worker thread
 * (OHETS_STORE_READONLY for the server) and never shares it.
 *
 * Schema (see migrations.c): beneficiaries keyed by MBI, each holding the
 * record in a compact binary encoding (`hets-db lookup` shows it as JSON in
 * the import format); a table mapping retired MBIs to the current one;
 * program amounts keyed by year.  PRAGMA user_version is the schema version.
 *
 * Functions return 0 or a negative errno value unless they say otherwise.
 * Error texts written to err never hold names, MBIs or dates of birth.
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
 * fails with a message saying which and what to run.  err may be NULL. */
int ohets_store_open(ohets_store **out, const char *path, int flags, char *err,
                     size_t errsz);
void ohets_store_close(ohets_store *s);

/* Schema version this program writes, and the one found in the open store. */
int ohets_store_schema_version(void);
int ohets_store_user_version(ohets_store *s);

/* ohets_lookup callbacks; store is an ohets_store *.  The MBI is compared
 * upper-cased.  A retired MBI gives OHETS_LOOKUP_RETIRED, a database error
 * OHETS_LOOKUP_UNAVAILABLE. */
ohets_lookup_status ohets_store_beneficiary(void *store, const char *mbi,
                                            ohets_beneficiary *out);
/* 0, -ENOENT when no row for that year, or another negative on failure. */
int ohets_store_amounts(void *store, int year, ohets_program_amounts *out);
/* A read-only handle reads through one snapshot (read transaction) kept
 * across lookups and renewed every 50 ms of use, so a lookup makes no
 * system call; data imported meanwhile shows from the next renewal.  A
 * worker going idle may call this to end its snapshot at once (an idle
 * snapshot keeps the WAL from being recycled).  No-op otherwise. */
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

/* Applies migrations (writable) or checks the version (read-only). */
int ohets__store_migrate(struct sqlite3 *db, int writable, char *err,
                         size_t errsz);

int ohets__store_begin(ohets_store *s, char *err, size_t errsz);
int ohets__store_commit(ohets_store *s, char *err, size_t errsz);
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

/* Compact binary encoding of a record (format version in the first byte).
 * pack returns the length written or -ENOBUFS; unpack returns 0 or -EINVAL
 * for anything malformed or out of the record's capacities. */
long ohets__record_pack(const ohets_beneficiary *rec, uint8_t *buf, size_t cap);
int ohets__record_unpack(const uint8_t *buf, size_t len, ohets_beneficiary *out);

#endif /* OPENHETS_STORE_STORE_H */
