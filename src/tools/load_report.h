/* hets-load --report FILE.html: requests per second over the run, counted
 * cheaply while it goes, and one self-contained HTML page written after it
 * (inline CSS and SVG only: no script, no font, no image, no link; nothing
 * is fetched when the page is opened).  No sockets or threads here.
 */
#ifndef OHETS_TOOLS_LOAD_REPORT_H
#define OHETS_TOOLS_LOAD_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "tools/load_hist.h"

/* ------------------------------------------------------- answers per second */

/* Answers counted by the second of the run they arrived in.  At most
 * OHETS_LOAD_TPUT_BINS bins: a run that outgrows them doubles the width of
 * every bin (pairs are added), so an hour is counted by the second, two
 * hours by two seconds, and so on.  One writer (a worker thread); read only
 * after that thread has ended.  Each thread has its own; merged at the end. */
#define OHETS_LOAD_TPUT_BINS 3600u
typedef struct ohets_load_tput {
  uint64_t bins[OHETS_LOAD_TPUT_BINS];
  unsigned shift; /* a bin is 2^shift seconds */
} ohets_load_tput;

void ohets_load_tput_init(ohets_load_tput *t);
/* Widens the bins until second sec fits; its bin. */
size_t ohets_load_tput_grow(ohets_load_tput *t, uint64_t sec);
/* One answer, since_ns after the start of the run: one increment (a
 * division by a constant and a shift find the bin). */
static inline void ohets_load_tput_add(ohets_load_tput *t, uint64_t since_ns) {
  uint64_t i = (since_ns / 1000000000u) >> t->shift;
  if (i >= OHETS_LOAD_TPUT_BINS)
    i = ohets_load_tput_grow(t, since_ns / 1000000000u);
  t->bins[i]++;
}
/* Adds src to dst; whichever has the narrower bins is widened first (src
 * may be widened). */
void ohets_load_tput_merge(ohets_load_tput *dst, ohets_load_tput *src);

/* ------------------------------------------------------------- the page */

/* Everything the page shows.  Strings may be NULL where noted; every
 * string is HTML-escaped when written. */
typedef struct ohets_load_report {
  /* the settings */
  int argc;
  char *const *argv;  /* the command line, shown as given */
  const char *host;
  unsigned port, conns, threads;
  double duration_s; /* -d, 0: none */
  uint64_t count;    /* -n, 0: none */
  double rate;       /* --rate, 0: closed loop */
  double timeout_s;
  int tls, new_conn, resume, unwrapped;
  const char *cert, *ca; /* NULL: none */
  char *const *files;
  size_t nfiles;
  const char *db; /* NULL: FILES */
  unsigned mix[3];
  size_t hits, misses, malformed; /* the pool built from db */
  const char *submitter, *npi;
  time_t started; /* wall clock at the start of the run */
  /* the results */
  double seconds, tps;
  uint64_t requests, errors, closes;
  uint64_t answers[4];          /* 271, 999, TA1, HETS */
  const uint64_t *aaa;          /* OHETS_LOAD_AAA_SLOTS counters */
  uint64_t lat_us[5];           /* p50, p90, p99, p99.9, max */
  uint64_t handshakes, resumed; /* --tls */
  uint64_t hs_lat_us[2];        /* handshake p50, p99 */
  uint64_t tls_failures;
  const char *tls_error;           /* the first failure's reason, or NULL */
  const ohets_load_hist *hist;     /* latencies in ns */
  const ohets_load_tput *tput;     /* answers per second */
  const char *json;                /* the --json object, pretty-printed */
} ohets_load_report;

/* Writes the page to f.  0, or -EIO when f has a write error. */
int ohets_load_report_write(FILE *f, const ohets_load_report *r);

/* The file: written to a temporary file beside path, renamed over path
 * once whole, so a failed run or write leaves no half page (and an older
 * page at path stays until the new one is complete). */
typedef struct ohets_load_report_file {
  char *path, *tmp;
  FILE *f;
} ohets_load_report_file;

/* Creates the temporary file (before the run, so an unwritable place is
 * known at once).  0, or -errno with a reason in err. */
int ohets_load_report_open(ohets_load_report_file *rf, const char *path, char *err,
                           size_t errsz);
/* Writes r, closes and renames.  0, or -errno with a reason in err (the
 * temporary file is removed). */
int ohets_load_report_commit(ohets_load_report_file *rf, const ohets_load_report *r, char *err,
                             size_t errsz);
/* Removes the temporary file (the run did not happen).  Safe to call twice. */
void ohets_load_report_discard(ohets_load_report_file *rf);

/* Writes s HTML-escaped (& < > " '; invalid UTF-8 and control characters
 * become U+FFFD). */
void ohets_load_html_escape(FILE *f, const char *s);

#endif
