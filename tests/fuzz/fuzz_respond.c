/* Fuzz target for ohets_respond: any payload must get an answer.
 *
 * The store is a fake in memory: two beneficiaries, one retired MBI and
 * one MBI whose lookup reports the store down; program amounts for 2026
 * only.  Partners are NULL (everyone allowed) and "now" is fixed. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openhets/openhets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ANSWER_MAX (1024 * 1024)

static void check(int ok) {
  if (!ok)
    abort();
}

static ohets_date ymd(int y, int m, int d) {
  ohets_date r = {(int16_t)y, (uint8_t)m, (uint8_t)d};
  return r;
}

static ohets_period since(int y, int m, int d) {
  ohets_period p = {ymd(y, m, d), ymd(0, 0, 0)};
  return p;
}

static void copy(char *dst, size_t n, const char *src) {
  snprintf(dst, n, "%s", src);
}

/* A beneficiary with something in every benefit list. */
static void fill_full(ohets_beneficiary *b) {
  memset(b, 0, sizeof *b);
  copy(b->mbi, sizeof b->mbi, "1EG4TE5MK73");
  copy(b->last, sizeof b->last, "DOE");
  copy(b->first, sizeof b->first, "JANE");
  copy(b->middle, sizeof b->middle, "Q");
  b->sex = 'F';
  b->dob = ymd(1940, 1, 1);
  copy(b->address.line1, sizeof b->address.line1, "123 MAIN ST");
  copy(b->address.city, sizeof b->address.city, "BALTIMORE");
  copy(b->address.state, sizeof b->address.state, "MD");
  copy(b->address.zip, sizeof b->address.zip, "21244");
  b->part_a[b->n_part_a++] = since(2005, 1, 1);
  b->part_b[b->n_part_b++] = since(2005, 1, 1);
  ohets_plan *ma = &b->ma[b->n_ma++];
  copy(ma->contract, sizeof ma->contract, "H1234");
  copy(ma->plan, sizeof ma->plan, "001");
  copy(ma->type, sizeof ma->type, "HM");
  copy(ma->name, sizeof ma->name, "EXAMPLE HMO");
  copy(ma->phone, sizeof ma->phone, "8005550100");
  ma->period = since(2020, 1, 1);
  ohets_plan *pd = &b->part_d[b->n_part_d++];
  copy(pd->contract, sizeof pd->contract, "S5678");
  copy(pd->plan, sizeof pd->plan, "002");
  copy(pd->name, sizeof pd->name, "EXAMPLE RX");
  pd->period = since(2020, 1, 1);
  ohets_msp *msp = &b->msp[b->n_msp++];
  copy(msp->type, sizeof msp->type, "12");
  copy(msp->payer, sizeof msp->payer, "EMPLOYER GROUP PLAN");
  copy(msp->policy, sizeof msp->policy, "ABC123");
  msp->period = since(2019, 5, 1);
  ohets_provider_period *h = &b->hospice[b->n_hospice++];
  h->period = since(2026, 3, 1);
  copy(h->npi, sizeof h->npi, "1234567893");
  copy(h->name, sizeof h->name, "EXAMPLE HOSPICE");
  ohets_provider_period *hh = &b->home_health[b->n_home_health++];
  hh->period.start = ymd(2026, 2, 1);
  hh->period.end = ymd(2026, 3, 31);
  copy(hh->npi, sizeof hh->npi, "1234567893");
  copy(hh->name, sizeof hh->name, "EXAMPLE HHA");
  b->esrd[b->n_esrd++] = since(2018, 6, 1);
  b->qmb[b->n_qmb++] = since(2021, 1, 1);
  ohets_preventive *pv = &b->preventive[b->n_preventive++];
  copy(pv->hcpcs, sizeof pv->hcpcs, "G0438");
  pv->next_eligible = ymd(2027, 1, 1);
  ohets_deductible *dd = &b->deductibles[b->n_deductibles++];
  dd->year = 2026;
  dd->part_a_remaining_cents = 173600;
  dd->part_b_remaining_cents = 0;
  b->hospital_days = 60;
  b->snf_days = 20;
  b->lifetime_reserve_days = 60;
}

/* A deceased beneficiary with Part A only and nothing else on file. */
static void fill_sparse(ohets_beneficiary *b) {
  memset(b, 0, sizeof *b);
  copy(b->mbi, sizeof b->mbi, "2A00A00AA00");
  copy(b->last, sizeof b->last, "O'BRIEN");
  copy(b->first, sizeof b->first, "JOHN");
  b->sex = 'M';
  b->dob = ymd(1935, 2, 28);
  b->dod = ymd(2026, 6, 30);
  ohets_period a = {ymd(2000, 2, 1), ymd(2026, 6, 30)};
  b->part_a[b->n_part_a++] = a;
  b->hospital_days = -1;
  b->snf_days = -1;
  b->lifetime_reserve_days = -1;
}

static ohets_lookup_status fake_beneficiary(void *ctx, const char *mbi,
                                            ohets_beneficiary *out) {
  (void)ctx;
  if (strcmp(mbi, "1EG4TE5MK73") == 0) {
    fill_full(out);
    return OHETS_LOOKUP_FOUND;
  }
  if (strcmp(mbi, "2A00A00AA00") == 0) {
    fill_sparse(out);
    return OHETS_LOOKUP_FOUND;
  }
  if (strcmp(mbi, "9AA0AA0AA00") == 0)
    return OHETS_LOOKUP_RETIRED;
  if (strcmp(mbi, "3C33C33CC33") == 0)
    return OHETS_LOOKUP_UNAVAILABLE;
  return OHETS_LOOKUP_NOT_FOUND;
}

static int fake_amounts(void *ctx, int year, ohets_program_amounts *out) {
  (void)ctx;
  if (year != 2026)
    return -ENOENT;
  memset(out, 0, sizeof *out);
  out->year = 2026;
  out->part_a_deductible_cents = 173600;
  out->part_b_deductible_cents = 28300;
  out->part_b_coinsurance_percent = 20;
  out->hospital_coinsurance_day61_cents = 43400;
  out->lifetime_reserve_coinsurance_cents = 86800;
  out->snf_coinsurance_day21_cents = 21700;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const ohets_lookup lookup = {fake_beneficiary, fake_amounts, NULL};
  ohets_request_ctx ctx;
  memset(&ctx, 0, sizeof ctx);
  ctx.lookup = &lookup;
  ctx.partners = NULL;
  ctx.now.date = ymd(2026, 11, 23);
  ctx.now.hour = 12;
  ctx.control_number = 1;

  ohets_buf out;
  ohets_buf_init(&out, ANSWER_MAX);
  ohets_outcome outcome;
  int rc = ohets_respond(data, size, &ctx, &out, &outcome);
  check(rc == 0);
  check(out.len > 0 && out.len <= ANSWER_MAX);
  check(outcome.answer == OHETS_ANSWER_271 || outcome.answer == OHETS_ANSWER_999 ||
        outcome.answer == OHETS_ANSWER_TA1 || outcome.answer == OHETS_ANSWER_HETS);
  if (outcome.answer == OHETS_ANSWER_HETS) {
    check(ohets_hets_error_text(outcome.hets_code) != NULL);
    check(out.len > 4 && memcmp(out.data, "HETS", 4) == 0);
  } else {
    check(out.len >= 106 && memcmp(out.data, "ISA", 3) == 0);
  }
  check(outcome.n_aaa <= OHETS_MAX_AAA);
  ohets_buf_free(&out);
  return 0;
}
