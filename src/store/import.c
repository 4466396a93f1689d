/* JSON Lines import: all or nothing, in one transaction.
 *
 * Each non-blank line is one JSON object, either
 *  - a beneficiary in the format of DESIGN §7 (see record_json.c), with the
 *    optional "benefit_days": {"hospital": n, "snf": n, "lifetime_reserve": n}
 *    (days left in the current benefit period: 0-90, 0-100, 0-60); or
 *  - a year of program amounts, recognized by its "program_year" key:
 *      {"program_year": 2027,                  year, 1966-9999
 *       "part_a_deductible": 1736,              dollars per benefit period
 *       "part_b_deductible": 283,               dollars per calendar year
 *       "part_b_coinsurance_percent": 20,       integer 0-100
 *       "hospital_coinsurance_day61": 434,      dollars per day, days 61-90
 *       "lifetime_reserve_coinsurance": 868,    dollars per day, days 91-150
 *       "snf_coinsurance_day21": 217}           dollars per day, days 21-100
 *    Every key is required; amounts are JSON integers or reals with at most
 *    two decimals (209.50).
 *
 * A beneficiary whose MBI is already on file (or earlier in the file)
 * replaces it, its retired-MBI list included; a program year replaces that
 * year.  The counts say what was stored, so a file naming one MBI twice
 * counts one beneficiary, and the lines replaced within the file are
 * reported by number (never by MBI).  The first bad line stops the import,
 * rolls everything back, and is reported as "line N: <problem>" -- never
 * with the offending value.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* getc_unlocked */
#endif
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

#define MAX_LINE_BYTES (1024 * 1024)

/* Reads one line (newline dropped) into buf, at most cap bytes of it.
 * Returns its length, -1 at end of input, -2 when the line is longer. */
static long read_line(FILE *in, char *buf, size_t cap) {
  size_t n = 0;
  int c;
  while ((c = getc_unlocked(in)) != EOF && c != '\n') {
    if (n == cap)
      return -2;
    buf[n++] = (char)c;
  }
  if (c == EOF && n == 0)
    return -1;
  return (long)n;
}

/* The key of each stored line, to find lines of one file that replace one
 * another: an MBI packed exactly (11 characters of 0-9 A-Z, base 36, below
 * 2^57), or a program year with the top bit set.  16 bytes a line, sorted
 * once at the end. */
#define YEAR_KEY (UINT64_C(1) << 63)

typedef struct seen_line {
  uint64_t key;
  unsigned long line;
} seen_line;

typedef struct seen_list {
  seen_line *v;
  size_t n, cap;
} seen_list;

static uint64_t mbi_key(const char *mbi) {
  uint64_t k = 0;
  for (const char *c = mbi; *c != '\0'; c++)
    k = k * 36 + (uint64_t)(*c <= '9' ? *c - '0' : *c - 'A' + 10);
  return k;
}

static int seen_add(seen_list *l, uint64_t key, unsigned long line) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 1024;
    seen_line *v = realloc(l->v, cap * sizeof *v);
    if (v == NULL)
      return -ENOMEM;
    l->v = v;
    l->cap = cap;
  }
  l->v[l->n++] = (seen_line){key, line};
  return 0;
}

static int cmp_seen(const void *a, const void *b) {
  const seen_line *x = a, *y = b;
  if (x->key != y->key)
    return x->key < y->key ? -1 : 1;
  return (x->line > y->line) - (x->line < y->line);
}

/* Counts what was stored (one per key) and the lines a later line with the
 * same key replaced, keeping the first few by the replacing line. */
static void count_stored(seen_list *l, ohets_import_counts *c) {
  if (l->n > 0)
    qsort(l->v, l->n, sizeof *l->v, cmp_seen);
  for (size_t i = 0; i < l->n; i++) {
    const seen_line *e = &l->v[i];
    int year = (e->key & YEAR_KEY) != 0;
    if (i == 0 || l->v[i - 1].key != e->key) {
      if (year)
        c->program_years++;
      else
        c->beneficiaries++;
      continue;
    }
    ohets_import_replaced r = {l->v[i - 1].line, e->line, year};
    size_t held = c->replaced < OHETS_IMPORT_SHOWN ? c->replaced : OHETS_IMPORT_SHOWN;
    size_t at = held;
    while (at > 0 && c->shown[at - 1].by > r.by)
      at--;
    if (at < OHETS_IMPORT_SHOWN) {
      size_t end = held < OHETS_IMPORT_SHOWN ? held : OHETS_IMPORT_SHOWN - 1;
      memmove(&c->shown[at + 1], &c->shown[at], (end - at) * sizeof r);
      c->shown[at] = r;
    }
    c->replaced++;
  }
}

/* Appends to out at *n; output past outsz is cut, never overrun. */
static void add(char *out, size_t outsz, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void add(char *out, size_t outsz, size_t *n, const char *fmt, ...) {
  if (*n + 1 >= outsz)
    return;
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(out + *n, outsz - *n, fmt, ap);
  va_end(ap);
  if (k > 0)
    *n = *n + (size_t)k < outsz ? *n + (size_t)k : outsz - 1;
}

void ohets_import_summary(const ohets_import_counts *c, char *out, size_t outsz) {
  size_t n = 0;
  if (outsz == 0)
    return;
  out[0] = '\0';
  add(out, outsz, &n, "imported %lu line%s: %lu %s", c->records, c->records == 1 ? "" : "s",
      c->beneficiaries, c->beneficiaries == 1 ? "beneficiary" : "beneficiaries");
  if (c->program_years > 0)
    add(out, outsz, &n, " and %lu program year%s", c->program_years,
        c->program_years == 1 ? "" : "s");
  add(out, outsz, &n, " stored");
  size_t shown = c->replaced < OHETS_IMPORT_SHOWN ? c->replaced : OHETS_IMPORT_SHOWN;
  for (size_t i = 0; i < shown; i++)
    add(out, outsz, &n, "%sline %lu replaced line %lu for the same %s", i ? "; " : " (",
        c->shown[i].by, c->shown[i].line, c->shown[i].program_year ? "program year" : "MBI");
  if (c->replaced > shown)
    add(out, outsz, &n, "; %lu more line%s replaced an earlier one", c->replaced - shown,
        c->replaced - shown == 1 ? "" : "s");
  if (shown > 0)
    add(out, outsz, &n, ")");
}

static int blank(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
      return 0;
  return 1;
}

/* Parses and stores one line; on failure msg says what, without "line N". */
static int import_line(ohets_store *s, const char *line, size_t n,
                       ohets_beneficiary *rec, uint64_t *key, char *msg,
                       size_t msgsz) {
  json_error_t jerr;
  ohets_retired_mbis retired;
  ohets_program_amounts amounts;
  int rc;
  /* jansson's error text may quote the input; only its column is kept. */
  json_t *j = json_loadb(line, n, JSON_REJECT_DUPLICATES, &jerr);
  if (j == NULL) {
    if (strstr(jerr.text, "duplicate") != NULL)
      snprintf(msg, msgsz, "a key appears twice");
    else
      snprintf(msg, msgsz, "not valid JSON (column %d)", jerr.column);
    return -EINVAL;
  }
  if (!json_is_object(j)) {
    snprintf(msg, msgsz, "not a JSON object");
    rc = -EINVAL;
  } else if (json_object_get(j, "program_year") != NULL) {
    rc = ohets_amounts_from_json(j, &amounts, msg, msgsz);
    if (rc == 0)
      rc = ohets__store_put_amounts(s, &amounts, msg, msgsz);
    if (rc == 0)
      *key = YEAR_KEY | (uint64_t)amounts.year;
  } else {
    rc = ohets_record_from_json_ex(j, rec, &retired, msg, msgsz);
    if (rc == 0)
      rc = ohets__store_put(s, rec, &retired, msg, msgsz);
    if (rc == 0)
      *key = mbi_key(rec->mbi);
  }
  json_decref(j);
  return rc;
}

/* The error of a line that stops the import, unless a put of an earlier
 * line fails a check the store deferred (PostgreSQL checks retired MBIs at
 * commit): then that line's, as a store checking every put at once would
 * have stopped there. */
static int line_error(ohets_store *s, const seen_list *seen, unsigned long line, int rc,
                      const char *msg, char *err, size_t errsz) {
  char earlier[256];
  unsigned long at = 0;
  if (seen->n > 0 && ohets__store_check(s, &at, earlier, sizeof earlier) == -EEXIST &&
      at < seen->n) {
    snprintf(err, errsz, "line %lu: %s", seen->v[at].line, earlier);
    return -EEXIST;
  }
  if (line > 0)
    snprintf(err, errsz, "line %lu: %s", line, msg);
  else
    snprintf(err, errsz, "%s", msg);
  return rc;
}

int ohets_store_import_counted(ohets_store *s, FILE *in,
                               ohets_import_counts *counts, char *err,
                               size_t errsz) {
  ohets_import_counts local;
  ohets_beneficiary *rec = malloc(sizeof *rec);
  char *line = malloc(MAX_LINE_BYTES);
  seen_list seen = {NULL, 0, 0};
  uint64_t key = 0;
  unsigned long at = 0;
  long n;
  char msg[256];
  int rc;

  if (counts == NULL)
    counts = &local;
  memset(counts, 0, sizeof *counts);
  if (rec == NULL || line == NULL) {
    snprintf(err, errsz, "out of memory");
    rc = -ENOMEM;
    goto done;
  }
  rc = ohets__store_begin(s, err, errsz);
  if (rc != 0)
    goto done;
  while ((n = read_line(in, line, MAX_LINE_BYTES)) != -1) {
    counts->lines++;
    if (n == -2) {
      snprintf(msg, sizeof msg, "longer than %d bytes", MAX_LINE_BYTES);
      rc = line_error(s, &seen, counts->lines, -EINVAL, msg, err, errsz);
      goto done;
    }
    if (blank(line, (size_t)n))
      continue;
    counts->records++;
    rc = import_line(s, line, (size_t)n, rec, &key, msg, sizeof msg);
    if (rc != 0) {
      rc = line_error(s, &seen, counts->lines, rc, msg, err, errsz);
      goto done;
    }
    if ((rc = seen_add(&seen, key, counts->lines)) != 0) {
      snprintf(err, errsz, "out of memory");
      goto done;
    }
  }
  if (ferror(in)) {
    snprintf(msg, sizeof msg, "read error after line %lu", counts->lines);
    rc = line_error(s, &seen, 0, -EIO, msg, err, errsz);
    goto done;
  }
  rc = ohets__store_commit_at(s, &at, msg, sizeof msg);
  if (rc == -EEXIST && at < seen.n)
    snprintf(err, errsz, "line %lu: %s", seen.v[at].line, msg);
  else if (rc != 0)
    snprintf(err, errsz, "%s", msg);
  if (rc == 0)
    count_stored(&seen, counts);

done:
  if (rc != 0) {
    ohets__store_rollback(s);
    counts->beneficiaries = 0;
    counts->program_years = 0;
    counts->replaced = 0;
  }
  free(seen.v);
  free(line);
  free(rec);
  return rc;
}

int ohets_store_import(ohets_store *s, FILE *in, char *err, size_t errsz) {
  return ohets_store_import_counted(s, in, NULL, err, errsz);
}
