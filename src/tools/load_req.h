/* hets-load's requests and answers: every request's bytes are built before
 * the run (wrapped or not), and each answer payload is classified the way
 * the summary counts it.  No sockets or threads here. */
#ifndef OHETS_TOOLS_LOAD_REQ_H
#define OHETS_TOOLS_LOAD_REQ_H

#include <stddef.h>
#include <stdint.h>

#include "openhets/openhets.h"

typedef struct ohets_load_req {
  uint8_t *bytes; /* exactly what goes on the socket */
  size_t len;
} ohets_load_req;

typedef struct ohets_load_reqs {
  ohets_load_req *items;
  size_t n;
  size_t hits, misses, malformed; /* drawn from a store: how many of each */
} ohets_load_reqs;

/* What the generated 270s carry. */
typedef struct ohets_load_build {
  const char *submitter; /* ISA06 / GS02 */
  const char *npi;       /* 2100B NM109 */
  int unwrapped;         /* 1: bare X12, no transmission wrapper */
  ohets_now now;         /* ISA/GS/BHT dates and times */
  unsigned mix[3];       /* percent of hits, misses, malformed; sum 100 */
  size_t pool;           /* requests to build from a store */
} ohets_load_build;

/* Each FILE's bytes as one payload, sent as is (wrapped unless unwrapped). */
int ohets_load_reqs_from_files(ohets_load_reqs *out, char *const *files, size_t n,
                               int unwrapped, char *err, size_t errsz);
/* b->pool requests from the store at path in the proportions of b->mix,
 * shuffled: hits from real records (MBI, names, DOB), misses with
 * well-formed MBIs not on file, malformed 270s that draw a 999.  Error
 * texts carry no PHI. */
int ohets_load_reqs_from_store(ohets_load_reqs *out, const char *path,
                               const ohets_load_build *b, char *err, size_t errsz);
/* One 270 for a fixed well-formed MBI (for --idle-check without input). */
int ohets_load_reqs_builtin(ohets_load_reqs *out, const ohets_load_build *b);
void ohets_load_reqs_free(ohets_load_reqs *r);

/* Writes one 270 for the beneficiary to out (bare X12).  control is the
 * ISA13/GS06; malformed: 0 none, 1 wrong SE01 count, 2 wrong ST03 version
 * (both answered with a 999). */
int ohets_load_write_270(ohets_buf *out, const ohets_load_build *b, uint32_t control,
                         const char *mbi, const char *last, const char *first,
                         ohets_date dob, int malformed);

/* ---------------------------------------------------------------- answers */
#define OHETS_LOAD_MAX_AAA 16
/* AAA reject reason codes are two characters, digits or letters. */
#define OHETS_LOAD_AAA_SLOTS (36 * 36)

typedef struct ohets_load_answer {
  ohets_answer kind;
  char hets_code[9];  /* for HETS records */
  unsigned n_aaa;     /* AAA03 codes, in order (at most OHETS_LOAD_MAX_AAA) */
  char aaa[OHETS_LOAD_MAX_AAA][3];
} ohets_load_answer;

/* Classifies an answer payload: a HETS error record, or an interchange
 * holding a 271 or 999 (by ST01) or only a TA1.  0, or -EINVAL when it is
 * none of these. */
int ohets_load_classify(const uint8_t *p, size_t n, ohets_load_answer *out);
/* Slot of a two-character AAA code (0 .. OHETS_LOAD_AAA_SLOTS-1) or -1;
 * and back. */
int ohets_load_aaa_slot(const char *code);
void ohets_load_aaa_code(int slot, char out[3]);

#endif
