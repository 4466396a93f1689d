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
 * year.  The first bad line stops the import, rolls everything back, and is
 * reported as "line N: <problem>" -- never with the offending value.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* getc_unlocked */
#endif
#include <errno.h>
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

static int blank(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
      return 0;
  return 1;
}

/* Parses and stores one line; on failure msg says what, without "line N". */
static int import_line(ohets_store *s, const char *line, size_t n,
                       ohets_beneficiary *rec, ohets_import_counts *counts,
                       char *msg, size_t msgsz) {
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
      counts->program_years++;
  } else {
    rc = ohets_record_from_json_ex(j, rec, &retired, msg, msgsz);
    if (rc == 0)
      rc = ohets__store_put(s, rec, &retired, msg, msgsz);
    if (rc == 0)
      counts->beneficiaries++;
  }
  json_decref(j);
  return rc;
}

int ohets_store_import_counted(ohets_store *s, FILE *in,
                               ohets_import_counts *counts, char *err,
                               size_t errsz) {
  ohets_import_counts local = {0, 0, 0};
  ohets_beneficiary *rec = malloc(sizeof *rec);
  char *line = malloc(MAX_LINE_BYTES);
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
      snprintf(err, errsz, "line %lu: longer than %d bytes", counts->lines,
               MAX_LINE_BYTES);
      rc = -EINVAL;
      goto done;
    }
    if (blank(line, (size_t)n))
      continue;
    rc = import_line(s, line, (size_t)n, rec, counts, msg, sizeof msg);
    if (rc != 0) {
      snprintf(err, errsz, "line %lu: %s", counts->lines, msg);
      goto done;
    }
  }
  if (ferror(in)) {
    snprintf(err, errsz, "read error after line %lu", counts->lines);
    rc = -EIO;
    goto done;
  }
  rc = ohets__store_commit(s, err, errsz);

done:
  if (rc != 0) {
    ohets__store_rollback(s);
    counts->beneficiaries = 0;
    counts->program_years = 0;
  }
  free(line);
  free(rec);
  return rc;
}

int ohets_store_import(ohets_store *s, FILE *in, char *err, size_t errsz) {
  return ohets_store_import_counted(s, in, NULL, err, errsz);
}
