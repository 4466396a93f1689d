/* The 271 transaction set (ST..SE) for one checked 270, to 005010X279A1:
 * the AAA answers of DESIGN §5 in their loops, or for a matched
 * beneficiary the name, address, demographics and the 2110C benefit loops
 * of DESIGN §6.
 *
 * Everything is written from fixed-size stack buffers: the hit path makes
 * no allocation besides what the output buffer itself needs. */
#include <stdio.h>
#include <string.h>

#include "req270.h"

/* CMS's own trace (2000C TRN*1): TRN03 is a 10-character originating
 * company identifier, '9' first for a user-assigned one. */
#define CMS_TRN_ORIGINATOR "9CMSHETS00"

/* Element maxima of the guide that the values written could exceed. */
#define NM103_MAX 60

/* EB03 repeats at most 99 times; 2 characters and a separator each. */
#define EB03_MAX (OHETS__MAX_STC * 3 + 1)

typedef struct out271 {
  ohets__w *w;
  const ohets__270 *req;
  const ohets__verdict *v;
  const ohets_beneficiary *rec;
  const ohets_program_amounts *amounts;
  char eb03[EB03_MAX]; /* the service types asked, joined with ISA11 */
  int general;         /* EQ01 30 (or nothing usable) was asked */
} out271;

/* ------------------------------------------------------------------ */
/* Small formatters.                                                   */

/* "CCYYMMDD-CCYYMMDD" from two D8 dates. */
static void d8_range(const char a[9], const char b[9], char range[18]) {
  memcpy(range, a, 8);
  range[8] = '-';
  memcpy(range + 9, b, 9); /* with its NUL */
}

/* An X12 R value from hundredths, without trailing zeros or a leading
 * zero: 173600 -> "1736", 41950 -> "419.5", 20 -> ".2", 0 -> "0". */
static void fmt_hundredths(int64_t v, char dst[32]) {
  uint64_t u = v < 0 ? 0 : (uint64_t)v; /* callers skip negatives (not on file) */
  unsigned frac = (unsigned)(u % 100);
  size_t k = 0;
  if (u / 100 != 0 || frac == 0)
    k = ohets_dec_write(dst, u / 100, 1);
  if (frac != 0) {
    dst[k++] = '.';
    dst[k++] = (char)('0' + frac / 10);
    if (frac % 10 != 0)
      dst[k++] = (char)('0' + frac % 10);
  }
  dst[k] = '\0';
}

/* Copies src into dst (size n) with truncation. */
static void copy_trunc(char *dst, size_t n, const char *src) {
  size_t len = strlen(src);
  if (len >= n)
    len = n - 1;
  memcpy(dst, src, len);
  dst[len] = '\0';
}

static int period_overlaps(ohets_period p, ohets_date from, ohets_date to) {
  if (p.start.year != 0 && ohets_date_cmp(p.start, to) > 0)
    return 0;
  return p.end.year == 0 || ohets_date_cmp(p.end, from) >= 0;
}

/* DTP*<qual>: D8 start for an open-ended period, RD8 start-end otherwise. */
static void dtp_period(ohets__w *w, const char *qual, ohets_period p) {
  char a[9], b[9], range[18];
  if (p.start.year == 0)
    return;
  ohets__d8(p.start, a);
  if (p.end.year == 0) {
    ohets__w_seg(w, "DTP", qual, "D8", a, NULL);
    return;
  }
  ohets__d8(p.end, b);
  d8_range(a, b, range);
  ohets__w_seg(w, "DTP", qual, "RD8", range, NULL);
}

static void dtp_dates(ohets__w *w, const char *qual, ohets_date from,
                      ohets_date to) {
  char a[9], b[9], range[18];
  ohets__d8(from, a);
  if (ohets_date_cmp(from, to) == 0) {
    ohets__w_seg(w, "DTP", qual, "D8", a, NULL);
    return;
  }
  ohets__d8(to, b);
  d8_range(a, b, range);
  ohets__w_seg(w, "DTP", qual, "RD8", range, NULL);
}

/* Writes a segment whose elements carry the repetition or component
 * separator on purpose (EB03 repeats, the EB13 composite).  Every data
 * piece in them went through clean_piece() first, so only the separators
 * placed by this file get through; element and segment bytes are still
 * blanked by ohets__w_segv. */
static void seg_structured(ohets__w *w, const char *id, const char *const *el,
                           size_t n) {
  ohets__w_segv_structured(w, id, el, n);
}

/* Copies src into dst (size n), blanking every delimiter byte. */
static void clean_piece(const ohets__delims *d, char *dst, size_t n,
                        const char *src) {
  copy_trunc(dst, n, src);
  for (char *c = dst; *c; c++)
    if (*c == d->element || *c == d->segment || *c == d->repetition ||
        *c == d->component)
      *c = ' ';
}

/* ------------------------------------------------------------------ */
/* Service types asked.                                                */

static int stc_code_ok(const char *c) {
  size_t n = strlen(c);
  if (n < 1 || n > 2)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!((c[i] >= '0' && c[i] <= '9') || (c[i] >= 'A' && c[i] <= 'Z')))
      return 0;
  return 1;
}

/* 1 when ISA11 can separate repeats: not a data character and not one of
 * the other delimiters. */
static int repeats_ok(const ohets__delims *d) {
  char r = d->repetition;
  return r != '\0' && r != ' ' && r != d->element && r != d->segment &&
         r != d->component && !(r >= '0' && r <= '9') &&
         !(r >= 'A' && r <= 'Z') && !(r >= 'a' && r <= 'z');
}

static void collect_stc(out271 *o) {
  size_t len = 0;
  o->general = 0;
  o->eb03[0] = '\0';
  for (unsigned i = 0; i < o->req->n_stc && i < OHETS__MAX_STC; i++) {
    const char *c = o->req->stc[i];
    if (!stc_code_ok(c))
      continue;
    if (strcmp(c, "30") == 0)
      o->general = 1;
    /* Repeats of one code say nothing new. */
    int dup = 0;
    for (unsigned k = 0; k < i && !dup; k++)
      dup = strcmp(o->req->stc[k], c) == 0;
    if (dup)
      continue;
    if (len > 0) {
      if (!repeats_ok(&o->w->d))
        continue; /* no usable repetition separator: the first code only */
      o->eb03[len++] = o->w->d.repetition;
    }
    size_t n = strlen(c);
    memcpy(o->eb03 + len, c, n);
    len += n;
    o->eb03[len] = '\0';
  }
  if (len == 0) {
    o->general = 1;
    memcpy(o->eb03, "30", 3);
  }
}

/* 1 when the general set (30) or one of the codes in the NULL-terminated
 * list was asked. */
static int asked(const out271 *o, const char *const *codes) {
  if (o->general)
    return 1;
  for (unsigned i = 0; i < o->req->n_stc && i < OHETS__MAX_STC; i++)
    for (const char *const *c = codes; *c; c++)
      if (strcmp(o->req->stc[i], *c) == 0)
        return 1;
  return 0;
}

/* Which service types select each benefit kind besides 30. */
static const char *const STC_PART_A_COST[] = {"47", "48", NULL};
static const char *const STC_PART_B_COST[] = {"1", "98", NULL};
static const char *const STC_HOSPITAL_DAYS[] = {"47", "48", NULL};
static const char *const STC_SNF_DAYS[] = {"AG", NULL};
static const char *const STC_PART_D[] = {"88", "89", "90", "91", "92", NULL};
static const char *const STC_HOSPICE[] = {"45", NULL};
static const char *const STC_HOME_HEALTH[] = {"42", "43", "44", NULL};
static const char *const STC_ESRD[] = {"76", "RN", NULL};
static const char *const STC_PREVENTIVE[] = {"BZ", "81", NULL};

/* ------------------------------------------------------------------ */
/* 2110C benefit loops.                                                */

/* Part A or B entitlement: EB*1 with each period that overlaps the dates
 * asked; when none does, EB*6 with the nearest one (the latest that ended
 * before, else the first that starts after). */
static void entitlement(out271 *o, const ohets_period *p, unsigned n,
                        const char *part) {
  const char *eb1[] = {"1", "", o->eb03, part};
  const char *eb6[] = {"6", "", o->eb03, part};
  int any = 0;
  if (n > OHETS_MAX_PERIODS)
    n = OHETS_MAX_PERIODS;
  for (unsigned i = 0; i < n; i++) {
    if (!period_overlaps(p[i], o->v->from, o->v->to))
      continue;
    seg_structured(o->w, "EB", eb1, 4);
    dtp_period(o->w, "307", p[i]);
    any = 1;
  }
  if (any || n == 0)
    return;
  int best = -1, best_past = 0;
  for (unsigned i = 0; i < n; i++) {
    int past = p[i].end.year != 0 && ohets_date_cmp(p[i].end, o->v->from) < 0;
    if (best < 0 || (past && !best_past) ||
        (past && best_past && ohets_date_cmp(p[i].end, p[best].end) > 0) ||
        (!past && !best_past &&
         ohets_date_cmp(p[i].start, p[best].start) < 0)) {
      best = (int)i;
      best_past = past;
    }
  }
  seg_structured(o->w, "EB", eb6, 4);
  dtp_period(o->w, "307", p[best]);
}

static const ohets_deductible *deductible_for(const ohets_beneficiary *rec,
                                              int year) {
  unsigned n = rec->n_deductibles;
  if (n > OHETS_MAX_DEDUCTIBLES)
    n = OHETS_MAX_DEDUCTIBLES;
  for (unsigned i = 0; i < n; i++)
    if (rec->deductibles[i].year == year)
      return &rec->deductibles[i];
  return NULL;
}

/* Deductibles and coinsurance for the year of the service date: Part A
 * per benefit period (EB06 26 episode), Part B per calendar year (23); the
 * amount remaining is EB06 29.  Whatever is not on file is left out. */
static void cost_sharing(out271 *o) {
  int year = o->v->from.year;
  const ohets_program_amounts *am =
      o->amounts != NULL && o->amounts->year == year ? o->amounts : NULL;
  const ohets_deductible *ded = deductible_for(o->rec, year);
  char amt[32];
  if (asked(o, STC_PART_A_COST)) {
    if (am != NULL && am->part_a_deductible_cents >= 0) {
      fmt_hundredths(am->part_a_deductible_cents, amt);
      ohets__w_seg(o->w, "EB", "C", "IND", "30", "MA", "", "26", amt, NULL);
    }
    if (ded != NULL && ded->part_a_remaining_cents >= 0) {
      fmt_hundredths(ded->part_a_remaining_cents, amt);
      ohets__w_seg(o->w, "EB", "C", "IND", "30", "MA", "", "29", amt, NULL);
    }
  }
  if (asked(o, STC_PART_B_COST)) {
    if (am != NULL && am->part_b_deductible_cents >= 0) {
      fmt_hundredths(am->part_b_deductible_cents, amt);
      ohets__w_seg(o->w, "EB", "C", "IND", "30", "MB", "", "23", amt, NULL);
    }
    if (ded != NULL && ded->part_b_remaining_cents >= 0) {
      fmt_hundredths(ded->part_b_remaining_cents, amt);
      ohets__w_seg(o->w, "EB", "C", "IND", "30", "MB", "", "29", amt, NULL);
    }
    if (am != NULL && am->part_b_coinsurance_percent >= 0) {
      /* EB08 is a decimal fraction: 20 percent is .2 */
      fmt_hundredths(am->part_b_coinsurance_percent, amt);
      ohets__w_seg(o->w, "EB", "A", "IND", "30", "MB", "", "27", "", amt, NULL);
    }
  }
}

/* One benefit-period day count: EB09 DY with the days left in EB10, and
 * the per-day amount that applies to them in EB07 when on file. */
static void days_left(out271 *o, const char *eb01, const char *stc,
                      const char *eb06, int days, int64_t per_day_cents) {
  char amt[32] = "", qty[16];
  if (days < 0)
    return;
  if (per_day_cents >= 0)
    fmt_hundredths(per_day_cents, amt);
  ohets_dec_write(qty, (uint64_t)days, 1); /* days >= 0 here */
  ohets__w_seg(o->w, "EB", eb01, "IND", stc, "MA", "", eb06, amt, "", "DY", qty,
               NULL);
}

/* Hospital and SNF coinsurance days are a fixed amount per day (EB01 B,
 * co-payment, days remaining EB06 29); lifetime reserve days are EB01 K
 * (reserve) with EB06 33 (lifetime remaining). */
static void benefit_days(out271 *o) {
  const ohets_beneficiary *r = o->rec;
  const ohets_program_amounts *am =
      o->amounts != NULL && o->amounts->year == o->v->from.year ? o->amounts
                                                                : NULL;
  if (asked(o, STC_HOSPITAL_DAYS)) {
    days_left(o, "B", "48", "29", r->hospital_days,
              am ? am->hospital_coinsurance_day61_cents : -1);
    days_left(o, "K", "48", "33", r->lifetime_reserve_days,
              am ? am->lifetime_reserve_coinsurance_cents : -1);
  }
  if (asked(o, STC_SNF_DAYS))
    days_left(o, "B", "AG", "29", r->snf_days,
              am ? am->snf_coinsurance_day21_cents : -1);
}

/* LS/2120C/LE naming the entity behind a benefit. */
static void related_entity(out271 *o, const char *entity, const char *name,
                           const char *id_qual, const char *id,
                           const char *phone) {
  char nm[NM103_MAX + 1];
  copy_trunc(nm, sizeof nm, name);
  if (nm[0] == '\0' && id[0] == '\0')
    return;
  ohets__w_seg(o->w, "LS", "2120", NULL);
  ohets__w_seg(o->w, "NM1", entity, "2", nm, "", "", "", "",
               id[0] ? id_qual : "", id, NULL);
  if (phone != NULL && phone[0] != '\0')
    ohets__w_seg(o->w, "PER", "IC", "", "TE", phone, NULL);
  ohets__w_seg(o->w, "LE", "2120", NULL);
}

/* EB04 codes of the guide that a plan or MSP record may carry. */
static int insurance_type_ok(const char *t) {
  static const char *const codes[] = {
      "12", "13", "14", "15", "16", "41", "42", "43", "47", "AP", "C1",
      "CO", "CP", "D",  "DB", "EP", "FF", "GP", "HM", "HN", "HS", "IN",
      "IP", "LC", "LD", "LI", "LT", "MA", "MB", "MC", "MH", "MI", "MP",
      "OT", "PE", "PL", "PP", "PR", "PS", "QM", "RP", "SP", "TF", "WC",
      "WU", NULL};
  for (const char *const *c = codes; *c; c++)
    if (strcmp(t, *c) == 0)
      return 1;
  return 0;
}

/* Medicare Advantage (EB03 30) and Part D (EB03 88, EB04 OT) plans whose
 * enrollment overlaps the dates asked. */
static void plans(out271 *o, const ohets_plan *p, unsigned n, int part_d) {
  if (n > OHETS_MAX_PLANS)
    n = OHETS_MAX_PLANS;
  for (unsigned i = 0; i < n; i++) {
    if (!period_overlaps(p[i].period, o->v->from, o->v->to))
      continue;
    const char *type = part_d ? "OT" : (insurance_type_ok(p[i].type) ? p[i].type : "OT");
    ohets__w_seg(o->w, "EB", "R", "", part_d ? "88" : "30", type, NULL);
    if (p[i].contract[0]) {
      char ref[sizeof p[i].contract + sizeof p[i].plan + 1];
      size_t cn = strnlen(p[i].contract, sizeof p[i].contract - 1);
      size_t pn = strnlen(p[i].plan, sizeof p[i].plan - 1);
      memcpy(ref, p[i].contract, cn); /* "contract plan", no printf per plan */
      if (pn > 0)
        ref[cn++] = ' ';
      memcpy(ref + cn, p[i].plan, pn);
      ref[cn + pn] = '\0';
      ohets__w_seg(o->w, "REF", "18", ref, NULL);
    }
    dtp_period(o->w, "290", p[i].period);
    related_entity(o, "PRP", p[i].name, "PI", p[i].contract, p[i].phone);
  }
}

/* Medicare Secondary Payer: another payer is primary (EB01 R) with the MSP
 * insurance type in EB04 and its policy number. */
static void msp(out271 *o) {
  unsigned n = o->rec->n_msp;
  if (n > OHETS_MAX_PLANS)
    n = OHETS_MAX_PLANS;
  for (unsigned i = 0; i < n; i++) {
    const ohets_msp *m = &o->rec->msp[i];
    if (!period_overlaps(m->period, o->v->from, o->v->to))
      continue;
    ohets__w_seg(o->w, "EB", "R", "", "30",
                 insurance_type_ok(m->type) ? m->type : "OT", NULL);
    if (m->policy[0])
      ohets__w_seg(o->w, "REF", "IG", m->policy, NULL);
    dtp_period(o->w, "290", m->period);
    related_entity(o, "PRP", m->payer, "", "", NULL);
  }
}

/* Hospice (45) and home health (42) elections: EB01 X (health care
 * facility), the benefit period in DTP*292, the provider by NPI. */
static void provider_periods(out271 *o, const ohets_provider_period *p,
                             unsigned n, const char *stc) {
  if (n > OHETS_MAX_PERIODS)
    n = OHETS_MAX_PERIODS;
  for (unsigned i = 0; i < n; i++) {
    if (!period_overlaps(p[i].period, o->v->from, o->v->to))
      continue;
    ohets__w_seg(o->w, "EB", "X", "", stc, NULL);
    dtp_period(o->w, "292", p[i].period);
    related_entity(o, "1P", p[i].name, "XX", p[i].npi, NULL);
  }
}

/* ESRD has no EB01 code of its own: it is written as a benefit
 * description (EB01 D) for the health benefit plan (30), with the ESRD
 * period as the eligibility date (DTP*307) and MSG naming it. */
static void esrd(out271 *o) {
  unsigned n = o->rec->n_esrd;
  if (n > OHETS_MAX_PERIODS)
    n = OHETS_MAX_PERIODS;
  for (unsigned i = 0; i < n; i++) {
    if (!period_overlaps(o->rec->esrd[i], o->v->from, o->v->to))
      continue;
    ohets__w_seg(o->w, "EB", "D", "", "30", NULL);
    dtp_period(o->w, "307", o->rec->esrd[i]);
    ohets__w_seg(o->w, "MSG", "ESRD", NULL);
  }
}

/* QMB: Medicaid pays Medicare cost sharing, so it is another payer
 * (EB01 R) of insurance type QM (Qualified Medicare Beneficiary), with the
 * period as the coordination of benefits date (DTP*290). */
static void qmb(out271 *o) {
  unsigned n = o->rec->n_qmb;
  if (n > OHETS_MAX_PERIODS)
    n = OHETS_MAX_PERIODS;
  for (unsigned i = 0; i < n; i++) {
    if (!period_overlaps(o->rec->qmb[i], o->v->from, o->v->to))
      continue;
    ohets__w_seg(o->w, "EB", "R", "", "30", "QM", NULL);
    dtp_period(o->w, "290", o->rec->qmb[i]);
  }
}

/* Part B preventive services: a benefit description (EB01 D) for a well
 * visit (BZ) naming the HCPCS code in EB13 (HC qualifier), with the next
 * date the service can be covered as the benefit begin date (DTP*348). */
static void preventive(out271 *o) {
  unsigned n = o->rec->n_preventive;
  if (n > OHETS_MAX_PREVENTIVE)
    n = OHETS_MAX_PREVENTIVE;
  for (unsigned i = 0; i < n; i++) {
    const ohets_preventive *pv = &o->rec->preventive[i];
    char code[sizeof pv->hcpcs], eb13[sizeof pv->hcpcs + 3];
    clean_piece(&o->w->d, code, sizeof code, pv->hcpcs);
    if (code[0] == '\0')
      continue;
    size_t cn = strlen(code); /* < sizeof pv->hcpcs: clean_piece bounds it */
    eb13[0] = 'H';
    eb13[1] = 'C';
    eb13[2] = o->w->d.component;
    memcpy(eb13 + 3, code, cn + 1);
    const char *el[] = {"D", "", "BZ", "MB", "", "", "", "",
                        "",  "", "",   "",   eb13};
    seg_structured(o->w, "EB", el, sizeof el / sizeof el[0]);
    if (pv->next_eligible.year != 0)
      dtp_dates(o->w, "348", pv->next_eligible, pv->next_eligible);
  }
}

static void benefits(out271 *o) {
  const ohets_beneficiary *r = o->rec;
  entitlement(o, r->part_a, r->n_part_a, "MA");
  entitlement(o, r->part_b, r->n_part_b, "MB");
  cost_sharing(o);
  benefit_days(o);
  plans(o, r->ma, r->n_ma, 0);
  if (asked(o, STC_PART_D))
    plans(o, r->part_d, r->n_part_d, 1);
  msp(o);
  qmb(o);
  if (asked(o, STC_ESRD))
    esrd(o);
  if (asked(o, STC_HOSPICE))
    provider_periods(o, r->hospice, r->n_hospice, "45");
  if (asked(o, STC_HOME_HEALTH))
    provider_periods(o, r->home_health, r->n_home_health, "42");
  if (asked(o, STC_PREVENTIVE))
    preventive(o);
}

/* ------------------------------------------------------------------ */
/* Loops 2000A .. 2100C.                                               */

static unsigned aaa_in(const ohets__verdict *v, const char *loop) {
  unsigned n = 0;
  for (unsigned i = 0; i < v->n_aaa; i++)
    n += strcmp(v->aaa[i].loop, loop) == 0;
  return n;
}

static void write_aaa(ohets__w *w, const ohets__verdict *v, const char *loop) {
  unsigned written = 0;
  for (unsigned i = 0; i < v->n_aaa && written < 9; i++) {
    const ohets__aaa *a = &v->aaa[i];
    if (strcmp(a->loop, loop) != 0)
      continue;
    char valid[2] = {a->valid ? a->valid : 'N', '\0'};
    char action[2] = {a->action ? a->action : 'C', '\0'};
    ohets__w_seg(w, "AAA", valid, "", a->code, action, NULL);
    written++;
  }
}

static void subscriber(out271 *o) {
  ohets__w *w = o->w;
  const ohets__270 *req = o->req;
  const ohets_beneficiary *rec = o->rec;
  char d8[9], sex[2] = {0, 0};

  if (rec != NULL) {
    ohets__w_seg(w, "NM1", "IL", "1", rec->last, rec->first, rec->middle, "",
                 "", "MI", rec->mbi, NULL);
    if (rec->address.line1[0])
      ohets__w_seg(w, "N3", rec->address.line1, rec->address.line2, NULL);
    if (rec->address.city[0])
      ohets__w_seg(w, "N4", rec->address.city, rec->address.state,
                   rec->address.zip, NULL);
  } else {
    /* Echo the subscriber as sent, so the submitter can see what failed. */
    const char *qual = req->sub_id[0] ? (req->sub_qual[0] ? req->sub_qual : "MI") : "";
    ohets__w_seg(w, "NM1", "IL", "1", req->sub_last, req->sub_first,
                 req->sub_middle, "", req->sub_suffix, qual, req->sub_id, NULL);
  }
  write_aaa(w, o->v, "2100C");

  if (rec != NULL) {
    if (ohets_date_valid(rec->dob)) {
      ohets__d8(rec->dob, d8);
      sex[0] = rec->sex == 'F' || rec->sex == 'M' || rec->sex == 'U' ? rec->sex : 0;
      ohets__w_seg(w, "DMG", "D8", d8, sex, NULL);
    }
    if (rec->dod.year != 0) {
      ohets__d8(rec->dod, d8);
      ohets__w_seg(w, "DTP", "442", "D8", d8, NULL);
    }
    /* The eligibility date(s) this answer is for: the dates asked, or
     * today when the 270 named none. */
    dtp_dates(w, "307", o->v->from, o->v->to);
    benefits(o);
  } else {
    ohets_date dob;
    if (req->has_dmg &&
        ohets_date_parse_d8(req->dob, strlen(req->dob), &dob) == 0) {
      sex[0] = req->sex == 'F' || req->sex == 'M' || req->sex == 'U' ? req->sex : 0;
      ohets__w_seg(w, "DMG", "D8", req->dob, sex, NULL);
    }
  }
}

void ohets__write_271(ohets__w *w, const ohets__270 *req, const ohets__env *env,
                      const ohets__verdict *v, const ohets_beneficiary *rec,
                      const ohets_program_amounts *amounts,
                      const ohets_request_ctx *ctx, uint32_t st_control) {
  (void)env; /* the envelope is reversed by the caller */
  out271 o = {.w = w, .req = req, .v = v,
              .rec = v->found && rec != NULL ? rec : NULL,
              .amounts = amounts};
  unsigned first = w->count;
  char st02[12], date[9], time[5], trace[12], count[12];

  ohets_dec_write(st02, st_control % 1000000000u, 4);
  ohets__d8(ctx->now.date, date);
  ohets_dec_write(time, ctx->now.hour % 100u, 2);
  ohets_dec_write(time + 2, ctx->now.minute % 100u, 2);
  ohets__w_seg(w, "ST", "271", st02, "005010X279A1", NULL);
  ohets__w_seg(w, "BHT", "0022", "11", req->bht03, date, time, NULL);

  /* 2000A / 2100A: the information source. */
  ohets__w_seg(w, "HL", "1", "", "20", "1", NULL);
  write_aaa(w, v, "2000A");
  ohets__w_seg(w, "NM1", "PR", "2", "CMS", "", "", "", "", "PI", "CMS", NULL);
  write_aaa(w, v, "2100A");
  if (aaa_in(v, "2000A") || aaa_in(v, "2100A"))
    goto trailer; /* rejected at the source: nothing below it is answered */

  /* 2000B / 2100B: the information receiver, echoed. */
  ohets__w_seg(w, "HL", "2", "1", "21", "1", NULL);
  {
    const char *qual = req->prov_id[0] ? req->prov_qual : "";
    ohets__w_seg(w, "NM1", req->prov_entity[0] ? req->prov_entity : "1P",
                 req->prov_type[0] ? req->prov_type : "2", req->prov_last,
                 req->prov_first, "", "", "", qual, req->prov_id, NULL);
  }
  write_aaa(w, v, "2100B");

  /* 2000C: the subscriber, with the submitter's traces returned as
   * referenced (TRN*2) and CMS's own as current (TRN*1). */
  ohets__w_seg(w, "HL", "3", "2", "22", "0", NULL);
  for (unsigned i = 0; i < req->n_trn && i < OHETS__MAX_TRN; i++)
    ohets__w_seg(w, "TRN", "2", req->trn[i].ref, req->trn[i].orig,
                 req->trn[i].supp, NULL);
  ohets_dec_write(trace, ctx->control_number % 1000000000u, 9);
  ohets__w_seg(w, "TRN", "1", trace, CMS_TRN_ORIGINATOR, NULL);
  collect_stc(&o);
  subscriber(&o);

trailer:
  ohets_dec_write(count, w->count - first + 1, 1);
  ohets__w_seg(w, "SE", count, st02, NULL);
}
