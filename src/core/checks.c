/* Request checks inside a structurally valid 270 (DESIGN §5): every
 * business problem becomes an AAA code in the loop it belongs to, and the
 * store is asked about the beneficiary when the answer can matter.
 *
 * Runs on the hit path of every request: no allocation, no copies of the
 * record beyond what the store writes into *rec. */
#include <string.h>

#include "req270.h"

/* The guide allows up to 9 AAA segments in each loop. */
#define AAA_PER_LOOP 9

/* Service dates further back or ahead than this are refused (AAA 62). */
#define WINDOW_BACK_MONTHS (4 * 12)
#define WINDOW_AHEAD_MONTHS 4

static void add_aaa(ohets__verdict *v, const char *loop, const char *code,
                    char action) {
  unsigned in_loop = 0;
  for (unsigned i = 0; i < v->n_aaa; i++)
    in_loop += strcmp(v->aaa[i].loop, loop) == 0;
  if (in_loop >= AAA_PER_LOOP || v->n_aaa >= OHETS_MAX_AAA)
    return;
  ohets__aaa *a = &v->aaa[v->n_aaa++];
  memcpy(a->loop, loop, sizeof a->loop - 1);
  a->loop[sizeof a->loop - 1] = '\0';
  a->valid = 'N';
  memcpy(a->code, code, 2);
  a->code[2] = '\0';
  a->action = action;
}

/* Reads DTP03 of a DTP*291 as D8 or RD8.  0 when valid, else -1. */
static int service_dates(const ohets__270 *req, ohets_date *from,
                         ohets_date *to) {
  size_t n = strlen(req->dos);
  if (strcmp(req->dos_fmt, "D8") == 0) {
    if (ohets_date_parse_d8(req->dos, n, from) != 0)
      return -1;
    *to = *from;
    return 0;
  }
  if (strcmp(req->dos_fmt, "RD8") == 0) {
    if (n != 17 || req->dos[8] != '-' ||
        ohets_date_parse_d8(req->dos, 8, from) != 0 ||
        ohets_date_parse_d8(req->dos + 9, 8, to) != 0 ||
        ohets_date_cmp(*from, *to) > 0)
      return -1;
    return 0;
  }
  return -1;
}

static int names_match(const ohets__270 *req, const ohets_beneficiary *rec) {
  /* HETS matches on last and first name only; the middle name and suffix
   * are informational. */
  return ohets_name_equal(req->sub_last, strlen(req->sub_last), rec->last,
                          strlen(rec->last)) &&
         ohets_name_equal(req->sub_first, strlen(req->sub_first), rec->first,
                          strlen(rec->first));
}

void ohets__check_request(const ohets__270 *req, const ohets__env *env,
                          const ohets_request_ctx *ctx, ohets_beneficiary *rec,
                          ohets__verdict *v) {
  v->n_aaa = 0;
  v->found = 0;
  v->from = v->to = ctx->now.date;

  /* Dates first: the writer needs from/to even when the answer is AAA 42. */
  int dos_bad = 0, dos_out = 0;
  if (req->has_dos) {
    ohets_date from, to;
    if (service_dates(req, &from, &to) != 0) {
      dos_bad = 1;
    } else {
      v->from = from;
      v->to = to;
      ohets_date low = ohets_date_add_months(ctx->now.date, -WINDOW_BACK_MONTHS);
      ohets_date high = ohets_date_add_months(ctx->now.date, WINDOW_AHEAD_MONTHS);
      dos_out = ohets_date_cmp(from, low) < 0 || ohets_date_cmp(to, high) > 0;
    }
  }

  if (ctx->overloaded) {
    add_aaa(v, "2000A", "42", 'R');
    return;
  }

  /* 2100A: only CMS answers here.  The 271 stops after 2100A then, so no
   * later loop's codes could be carried: report 79 alone, without a lookup. */
  if (strcmp(req->payer_id, "CMS") != 0) {
    add_aaa(v, "2100A", "79", 'C');
    return;
  }

  /* 2100B: a valid NPI, linked to the submitter when the partner lists
   * NPIs (DESIGN §4). */
  size_t npi_len = strlen(req->prov_id);
  if (strcmp(req->prov_qual, "XX") != 0 ||
      !ohets_npi_valid(req->prov_id, npi_len))
    add_aaa(v, "2100B", "43", 'C');
  else if (ctx->partners != NULL && ctx->partners->npi_linked != NULL &&
           !ctx->partners->npi_linked(ctx->partners->ctx, env->isa06,
                                      req->prov_id))
    add_aaa(v, "2100B", "41", 'N');

  /* 2100C: the lookup runs whenever the MBI is well formed, even after
   * other failures, so name and birth date can be checked against the
   * record and reported together. */
  int mbi_ok = ohets_mbi_valid(req->sub_id, strlen(req->sub_id));
  ohets_lookup_status st = OHETS_LOOKUP_NOT_FOUND;
  if (mbi_ok) {
    st = ctx->lookup->beneficiary(ctx->lookup->ctx, req->sub_id, rec);
    if (st == OHETS_LOOKUP_UNAVAILABLE) {
      v->n_aaa = 0; /* the store's silence is the only answer */
      add_aaa(v, "2000A", "42", 'R');
      return;
    }
  }
  int on_file = mbi_ok && st == OHETS_LOOKUP_FOUND;

  if (!mbi_ok || st == OHETS_LOOKUP_RETIRED)
    add_aaa(v, "2100C", "72", 'C');

  if (req->sub_last[0] == '\0' || req->sub_first[0] == '\0' ||
      (on_file && !names_match(req, rec)))
    add_aaa(v, "2100C", "73", 'C');

  ohets_date dob = {0, 0, 0};
  /* A birth date after the transaction date is no valid birth date. */
  int dob_ok = req->has_dmg &&
               ohets_date_parse_d8(req->dob, strlen(req->dob), &dob) == 0 &&
               ohets_date_cmp(dob, ctx->now.date) <= 0;
  if (!dob_ok)
    add_aaa(v, "2100C", "58", 'C');
  else if (on_file && ohets_date_cmp(dob, rec->dob) != 0)
    add_aaa(v, "2100C", "71", 'C');

  if (dos_bad)
    add_aaa(v, "2100C", "57", 'C');
  else if (dos_out)
    add_aaa(v, "2100C", "62", 'C');

  if (mbi_ok && st == OHETS_LOOKUP_NOT_FOUND)
    add_aaa(v, "2100C", "75", 'C');

  v->found = on_file && v->n_aaa == 0;
}
