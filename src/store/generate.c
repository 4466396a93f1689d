/* Synthetic beneficiaries for demos and load tests.
 *
 * Deterministic: the same seed (and the same latest program year in the
 * store, which stands for "this year" so the output does not depend on the
 * clock) gives the same records.  The mix roughly follows Medicare's: Part A
 * ~98% with Part-B-only ~2%, Part B ~92%, Medicare Advantage ~50%, Part D
 * ~70%, MSP ~8%, hospice ~3%, home health ~5%, ESRD ~1%, QMB ~12%, deceased
 * ~2%, a retired MBI ~3%, preventive services ~60%.  Records go through the
 * same insert path as an import, in one transaction.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

#define MAX_GENERATE 50000000UL

typedef struct rng {
  uint64_t state;
} rng;

/* splitmix64: tiny, fast, and good enough for synthetic data. */
static uint64_t next64(rng *r) {
  uint64_t z = (r->state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static unsigned below(rng *r, unsigned n) { return (unsigned)(next64(r) % n); }

/* 1 with probability permille / 1000. */
static int chance(rng *r, unsigned permille) { return below(r, 1000) < permille; }

static const char *pick(rng *r, const char *const *list, size_t n) {
  return list[below(r, (unsigned)n)];
}
#define PICK(r, list) pick((r), (list), sizeof(list) / sizeof((list)[0]))

static const char *const last_names[] = {
    "SMITH",   "JOHNSON", "WILLIAMS", "BROWN",    "JONES",    "GARCIA",  "MILLER",
    "DAVIS",   "RODRIGUEZ", "MARTINEZ", "HERNANDEZ", "LOPEZ", "GONZALEZ", "WILSON",
    "ANDERSON", "THOMAS", "TAYLOR",   "MOORE",    "JACKSON",  "MARTIN",  "LEE",
    "PEREZ",   "THOMPSON", "WHITE",   "HARRIS",   "SANCHEZ",  "CLARK",   "RAMIREZ",
    "LEWIS",   "ROBINSON", "WALKER",  "YOUNG",    "ALLEN",    "KING",    "WRIGHT",
    "SCOTT",   "TORRES",  "NGUYEN",   "HILL",     "FLORES",   "O'BRIEN", "MC-DONALD"};
static const char *const female_names[] = {
    "MARY",  "PATRICIA", "LINDA",  "BARBARA", "ELIZABETH", "JENNIFER", "MARIA",
    "SUSAN", "MARGARET", "DOROTHY", "LISA",   "NANCY",     "KAREN",    "BETTY",
    "HELEN", "SANDRA",   "DONNA",  "CAROL",   "RUTH",      "SHARON",   "JOAN"};
static const char *const male_names[] = {
    "JAMES",  "JOHN",   "ROBERT", "MICHAEL", "WILLIAM", "DAVID",  "RICHARD",
    "JOSEPH", "THOMAS", "CHARLES", "DONALD", "GEORGE",  "KENNETH", "STEVEN",
    "EDWARD", "PAUL",   "RONALD", "ANTHONY", "LARRY",   "FRANK",  "RAYMOND"};
static const char *const streets[] = {
    "MAIN ST", "OAK AVE", "MAPLE DR", "PARK RD", "ELM ST", "CEDAR LN",
    "WASHINGTON BLVD", "LAKE SHORE DR", "HILLCREST AVE", "2ND ST", "PINE CT"};
static const struct {
  const char *city, *state, *zip;
} places[] = {
    {"BALTIMORE", "MD", "21244"}, {"PHOENIX", "AZ", "85004"}, {"MIAMI", "FL", "33101"},
    {"DALLAS", "TX", "75201"},    {"COLUMBUS", "OH", "43215"}, {"DENVER", "CO", "80202"},
    {"SEATTLE", "WA", "98101"},   {"BOSTON", "MA", "02108"},  {"ATLANTA", "GA", "30303"},
    {"FRESNO", "CA", "93721"},    {"TULSA", "OK", "74103"},   {"ALBANY", "NY", "12207"}};
static const char *const hmo_names[] = {"SUNRISE HEALTH HMO", "SUMMIT SENIOR HMO",
                                        "HARBOR CARE ADVANTAGE HMO"};
static const char *const ppo_names[] = {"BLUE RIVER MEDICARE PPO", "PRAIRIE HEALTH PPO",
                                        "COASTAL MEDICARE CHOICE PPO"};
static const char *const pdp_names[] = {"EVERGREEN RX", "NORTHSTAR PDP",
                                        "VALLEY DRUG PLAN", "BEACON RX BASIC"};
static const char *const msp_payers[] = {
    "ACME EMPLOYER GROUP PLAN", "STATEWIDE AUTO INSURANCE", "UNION HEALTH TRUST",
    "WORKERS COMP FUND",        "COUNTY EMPLOYEES PLAN"};
static const char *const hospice_names[] = {"GENTLE CARE HOSPICE", "HOPE HOSPICE",
                                            "RIVERSIDE HOSPICE"};
static const char *const hha_names[] = {"HOMEWARD HEALTH AGENCY", "CARING HANDS HHA",
                                        "VISITING NURSES ASSN"};
static const char *const preventive_codes[] = {"G0438", "G0439", "G0402", "77067",
                                               "G0121", "G0105", "G0442", "G0444"};

/* MBI alphabet (DESIGN §5): no S, L, O, I, B, Z. */
static const char mbi_letters[] = "ACDEFGHJKMNPQRTUVWXY";
static const char mbi_alnum[] = "0123456789ACDEFGHJKMNPQRTUVWXY";

/* An MBI as a mixed-radix number, so uniqueness is an integer set. */
static uint64_t make_mbi(rng *r, char out[12]) {
  uint64_t code = 0;
  for (int i = 0; i < 11; i++) {
    unsigned radix, v;
    char c;
    switch (i) {
    case 0: radix = 9; v = below(r, radix); c = (char)('1' + v); break;
    case 1: case 4: case 7: case 8: radix = 20; v = below(r, radix); c = mbi_letters[v]; break;
    case 2: case 5: radix = 30; v = below(r, radix); c = mbi_alnum[v]; break;
    default: radix = 10; v = below(r, radix); c = (char)('0' + v); break;
    }
    out[i] = c;
    code = code * radix + v;
  }
  out[11] = '\0';
  return code + 1; /* 0 marks an empty slot */
}

typedef struct mbi_set {
  uint64_t *slots;
  size_t mask;
} mbi_set;

static int set_init(mbi_set *s, unsigned long expected) {
  size_t n = 64;
  while (n < expected * 2)
    n *= 2;
  s->slots = calloc(n, sizeof *s->slots);
  s->mask = n - 1;
  return s->slots ? 0 : -ENOMEM;
}

/* 1 when added, 0 when already present. */
static int set_add(mbi_set *s, uint64_t code) {
  size_t i = (size_t)(code * 0x9e3779b97f4a7c15ULL) & s->mask;
  while (s->slots[i] != 0) {
    if (s->slots[i] == code)
      return 0;
    i = (i + 1) & s->mask;
  }
  s->slots[i] = code;
  return 1;
}

static void unique_mbi(rng *r, mbi_set *set, char out[12]) {
  while (!set_add(set, make_mbi(r, out)))
    ;
}

static void make_npi(rng *r, char out[11]) {
  int sum = 24; /* Luhn contribution of the 80840 prefix */
  out[0] = (char)('1' + below(r, 2));
  for (int i = 1; i < 9; i++)
    out[i] = (char)('0' + below(r, 10));
  for (int i = 8; i >= 0; i--) {
    int d = out[i] - '0';
    if ((8 - i) % 2 == 0) {
      d *= 2;
      if (d > 9)
        d -= 9;
    }
    sum += d;
  }
  out[9] = (char)('0' + (10 - sum % 10) % 10);
  out[10] = '\0';
}

static ohets_date ymd(int y, int m, int d) {
  ohets_date t = {(int16_t)y, (uint8_t)m, (uint8_t)d};
  return t;
}

static ohets_date random_date(rng *r, int from_year, int to_year) {
  int y = from_year + (int)below(r, (unsigned)(to_year - from_year + 1));
  int m = 1 + (int)below(r, 12);
  ohets_date d = ymd(y, m, 1 + (int)below(r, 28));
  return d;
}

/* The last day of the month before d's. */
static ohets_date month_end_before(ohets_date d) {
  ohets_date prev = ohets_date_add_months(ymd(d.year, d.month, 1), -1);
  return ohets_date_add_months(ymd(prev.year, prev.month, 31), 0); /* clamps */
}

static ohets_date later(ohets_date a, ohets_date b) {
  return ohets_date_cmp(a, b) >= 0 ? a : b;
}

static void fill_plan(rng *r, ohets_plan *p, char letter, const char *name) {
  snprintf(p->contract, sizeof p->contract, "%c%04u", letter, below(r, 10000));
  snprintf(p->plan, sizeof p->plan, "%03u", 1 + below(r, 99));
  snprintf(p->name, sizeof p->name, "%s", name);
  snprintf(p->phone, sizeof p->phone, "800555%04u", below(r, 10000));
}

/* Date of death within the last year and a half, never before a period
 * starts; periods still open (or ending later) close on it. */
static void close_at(ohets_period *p, ohets_date dod) {
  if (p->end.year == 0 || ohets_date_cmp(p->end, dod) > 0)
    p->end = dod;
}

static void mark_deceased(rng *r, ohets_beneficiary *b, int y) {
  /* Draws one at a time, in the order gcc evaluated the arguments of the
   * single expression this was (right to left), so stores made before
   * stay the same; argument order is unspecified in C. */
  int months = (int)below(r, 6);
  ohets_date dod = ohets_date_add_months(random_date(r, y - 1, y - 1), months);
  ohets_period *all[9 * OHETS_MAX_PERIODS]; /* every period list at capacity */
  unsigned n = 0;
  for (unsigned i = 0; i < b->n_part_a; i++) all[n++] = &b->part_a[i];
  for (unsigned i = 0; i < b->n_part_b; i++) all[n++] = &b->part_b[i];
  for (unsigned i = 0; i < b->n_ma; i++) all[n++] = &b->ma[i].period;
  for (unsigned i = 0; i < b->n_part_d; i++) all[n++] = &b->part_d[i].period;
  for (unsigned i = 0; i < b->n_msp; i++) all[n++] = &b->msp[i].period;
  for (unsigned i = 0; i < b->n_hospice; i++) all[n++] = &b->hospice[i].period;
  for (unsigned i = 0; i < b->n_home_health; i++) all[n++] = &b->home_health[i].period;
  for (unsigned i = 0; i < b->n_esrd; i++) all[n++] = &b->esrd[i];
  for (unsigned i = 0; i < b->n_qmb; i++) all[n++] = &b->qmb[i];
  for (unsigned i = 0; i < n; i++)
    dod = later(dod, all[i]->start);
  for (unsigned i = 0; i < n; i++)
    close_at(all[i], dod);
  b->dod = dod;
}

typedef struct gen_ctx {
  rng r;
  mbi_set mbis;
  int year; /* "this year" */
  ohets_program_amounts amounts[2]; /* this year, last year */
  int have_amounts[2];
} gen_ctx;

/* The steps below draw in a fixed order that defines every generated store
 * (test_store pins one seed's output): never reorder draws, and draw into
 * a variable first wherever two draws would share one expression (C leaves
 * the order of a call's arguments unspecified; the order kept is the one
 * gcc used). */

/* MBI, sex, name and date of birth. */
static void make_person(rng *r, mbi_set *mbis, ohets_beneficiary *b) {
  unique_mbi(r, mbis, b->mbi);
  int female = chance(r, 540);
  b->sex = chance(r, 3) ? 'U' : female ? 'F' : 'M';
  snprintf(b->last, sizeof b->last, "%s", PICK(r, last_names));
  snprintf(b->first, sizeof b->first, "%s",
           female ? PICK(r, female_names) : PICK(r, male_names));
  if (chance(r, 700))
    b->middle[0] = mbi_letters[below(r, 20)];
  b->dob = random_date(r, 1930, 1960);
}

static void make_address(rng *r, ohets_beneficiary *b) {
  const char *street = PICK(r, streets);
  unsigned number = 1 + below(r, 9999);
  snprintf(b->address.line1, sizeof b->address.line1, "%u %s", number, street);
  if (chance(r, 100))
    snprintf(b->address.line2, sizeof b->address.line2, "APT %u", 1 + below(r, 400));
  unsigned place = below(r, sizeof places / sizeof places[0]);
  snprintf(b->address.city, sizeof b->address.city, "%s", places[place].city);
  snprintf(b->address.state, sizeof b->address.state, "%s", places[place].state);
  snprintf(b->address.zip, sizeof b->address.zip, "%s", places[place].zip);
  if (chance(r, 300))
    snprintf(b->address.zip + 5, sizeof b->address.zip - 5, "%04u", below(r, 10000));
}

/* Parts A and B from the month of the 65th birthday; a few have Part B
 * only, a few enrolled in B late while still working. */
static void make_parts_ab(rng *r, ohets_beneficiary *b, ohets_date at65) {
  int b_only = chance(r, 20);
  int has_b = b_only || chance(r, 918);
  if (!b_only) {
    b->part_a[0].start = at65;
    b->n_part_a = 1;
  }
  if (has_b) {
    b->part_b[0].start = at65;
    if (!b_only && chance(r, 100))
      b->part_b[0].start = ohets_date_add_months(at65, 12 * (1 + (int)below(r, 4)));
    b->n_part_b = 1;
  }
}

/* Medicare Advantage, sometimes after an earlier HMO. */
static void make_ma(rng *r, ohets_beneficiary *b, int y, ohets_date at65) {
  if (!chance(r, 500))
    return;
  /* HM HMO, HN HMO Medicare risk, PR PPO */
  static const char *const types[] = {"HM", "HM", "HM", "HN", "PR", "PR"};
  ohets_plan *p = &b->ma[0];
  const char *type = PICK(r, types);
  int ppo = type[0] == 'P';
  const char *name = ppo ? PICK(r, ppo_names) : PICK(r, hmo_names);
  char letter = ppo && chance(r, 300) ? 'R' : 'H';
  fill_plan(r, p, letter, name);
  snprintf(p->type, sizeof p->type, "%s", type);
  p->period.start = later(ymd(y - (int)below(r, 6), 1, 1), at65);
  b->n_ma = 1;
  if (chance(r, 100) && p->period.start.year > at65.year) { /* switched plans */
    b->ma[1] = b->ma[0];
    fill_plan(r, &b->ma[1], 'H', PICK(r, hmo_names));
    snprintf(b->ma[1].type, sizeof b->ma[1].type, "HM");
    b->ma[1].period.start = at65;
    b->ma[1].period.end = month_end_before(b->ma[0].period.start);
    b->n_ma = 2;
  }
}

/* Part D: an MA-PD plan when in MA, else a PDP. */
static void make_part_d(rng *r, ohets_beneficiary *b, int y, ohets_date at65) {
  if (!chance(r, 700))
    return;
  ohets_plan *d = &b->part_d[0];
  if (b->n_ma > 0) {
    *d = b->ma[0];
    d->type[0] = '\0';
  } else {
    fill_plan(r, d, 'S', PICK(r, pdp_names));
    d->period.start = later(ymd(y - (int)below(r, 8), 1, 1), at65);
  }
  b->n_part_d = 1;
}

/* Medicare is the secondary payer. */
static void make_msp(rng *r, ohets_beneficiary *b, int y, ohets_date at65) {
  if (!chance(r, 80))
    return;
  static const char *const types[] = {"12", "12", "12", "12", "43", "43",
                                      "47", "14", "15", "13", "41", "16"};
  ohets_msp *m = &b->msp[0];
  snprintf(m->type, sizeof m->type, "%s", PICK(r, types));
  snprintf(m->payer, sizeof m->payer, "%s", PICK(r, msp_payers));
  unsigned number = below(r, 10000000);
  char second = mbi_letters[below(r, 20)];
  char first = mbi_letters[below(r, 20)];
  snprintf(m->policy, sizeof m->policy, "%c%c%07u", first, second, number);
  m->period.start = later(random_date(r, y - 6, y), at65);
  if (chance(r, 250))
    m->period.end = ohets_date_add_months(m->period.start, 6 + (int)below(r, 12));
  b->n_msp = 1;
}

/* A hospice election or a home-health episode: open unless a draw of
 * end_permille closes it after `months`; the provider named from names. */
static void make_provider_period(rng *r, ohets_provider_period *h, int y,
                                 ohets_date at65, unsigned end_permille, int months,
                                 const char *const *names, size_t n_names) {
  h->period.start = later(random_date(r, y - 1, y), at65);
  if (chance(r, end_permille))
    h->period.end = ohets_date_add_months(h->period.start, months);
  make_npi(r, h->npi);
  snprintf(h->name, sizeof h->name, "%s", pick(r, names, n_names));
}
#define NAMES(list) (list), sizeof(list) / sizeof((list)[0])

static void make_hospice_and_home_health(rng *r, ohets_beneficiary *b, int y,
                                         ohets_date at65) {
  if (chance(r, 30)) { /* most elections still open */
    make_provider_period(r, &b->hospice[0], y, at65, 400, 3, NAMES(hospice_names));
    b->n_hospice = 1;
  }
  if (chance(r, 50)) { /* 60-day episodes */
    make_provider_period(r, &b->home_health[0], y, at65, 700, 2, NAMES(hha_names));
    b->n_home_health = 1;
  }
}

/* ESRD, and Qualified Medicare Beneficiary periods. */
static void make_esrd_and_qmb(rng *r, ohets_beneficiary *b, int y, ohets_date at65) {
  if (chance(r, 10)) {
    b->esrd[0].start = later(random_date(r, y - 10, y - 1), b->dob);
    b->n_esrd = 1;
  }
  if (chance(r, 120)) {
    b->qmb[0].start = later(ymd(y - (int)below(r, 6), 1, 1), at65);
    if (chance(r, 150))
      b->qmb[0].end = ymd(b->qmb[0].start.year, 12, 31);
    b->n_qmb = 1;
  }
}

/* Preventive services with their next eligible date. */
static void make_preventive(rng *r, ohets_beneficiary *b, int y) {
  if (!chance(r, 600))
    return;
  unsigned n = 1 + below(r, 4), first = below(r, 8);
  for (unsigned i = 0; i < n; i++) {
    ohets_preventive *p = &b->preventive[i];
    snprintf(p->hcpcs, sizeof p->hcpcs, "%s", preventive_codes[(first + i) % 8]);
    p->next_eligible = random_date(r, y, y + 1);
  }
  b->n_preventive = n;
}

/* Deductibles left, this year (k = 0) and last, for the years on file. */
static void make_deductibles(gen_ctx *g, ohets_beneficiary *b) {
  rng *r = &g->r;
  for (int k = 0; k < 2; k++) {
    if (!g->have_amounts[k])
      continue;
    ohets_deductible *d = &b->deductibles[b->n_deductibles++];
    const ohets_program_amounts *a = &g->amounts[k];
    d->year = a->year;
    d->part_a_remaining_cents = chance(r, k == 0 ? 800 : 300) ? a->part_a_deductible_cents : 0;
    unsigned roll = below(r, 10);
    unsigned b_dollars = (unsigned)(a->part_b_deductible_cents / 100);
    if (k == 0 && roll < 2 && b_dollars > 0) /* part way through it */
      d->part_b_remaining_cents = 100 * (int64_t)below(r, b_dollars);
    else
      d->part_b_remaining_cents = roll < (k == 0 ? 6u : 2u) ? a->part_b_deductible_cents : 0;
  }
}

/* Benefit-period days left: mostly all, some part used, a few not on file. */
static void make_benefit_days(rng *r, ohets_beneficiary *b) {
  unsigned days = below(r, 100);
  if (days < 85) {
    b->hospital_days = 90;
    b->snf_days = 100;
    b->lifetime_reserve_days = 60;
  } else if (days < 95) {
    b->hospital_days = (int)below(r, 91);
    b->snf_days = (int)below(r, 101);
    b->lifetime_reserve_days = (int)below(r, 61);
  } else {
    b->hospital_days = b->snf_days = b->lifetime_reserve_days = -1;
  }
}

static void make_record(gen_ctx *g, ohets_beneficiary *b, ohets_retired_mbis *retired) {
  rng *r = &g->r;
  int y = g->year;
  memset(b, 0, sizeof *b);
  retired->n = 0;

  make_person(r, &g->mbis, b);
  make_address(r, b);
  /* Entitlement starts the month of the 65th birthday. */
  ohets_date at65 = ymd(b->dob.year + 65, b->dob.month, 1);
  make_parts_ab(r, b, at65);
  int deceased = chance(r, 20); /* drawn here, applied once every period is made */
  make_ma(r, b, y, at65);
  make_part_d(r, b, y, at65);
  make_msp(r, b, y, at65);
  make_hospice_and_home_health(r, b, y, at65);
  make_esrd_and_qmb(r, b, y, at65);
  make_preventive(r, b, y);
  make_deductibles(g, b);
  make_benefit_days(r, b);
  if (deceased)
    mark_deceased(r, b, y);
  if (chance(r, 30)) { /* issued a new MBI; the old one is retired */
    unique_mbi(r, &g->mbis, retired->mbi[0]);
    retired->n = 1;
  }
}

int ohets_store_generate(ohets_store *s, unsigned long count, uint64_t seed,
                         char *err, size_t errsz) {
  gen_ctx *g = calloc(1, sizeof *g);
  ohets_beneficiary *rec = malloc(sizeof *rec);
  ohets_retired_mbis retired;
  int rc = -ENOMEM, in_tx = 0;

  if (count > MAX_GENERATE) {
    snprintf(err, errsz, "count above %lu", MAX_GENERATE);
    rc = -EINVAL;
    goto done;
  }
  if (g == NULL || rec == NULL || set_init(&g->mbis, count + count / 16 + 16) != 0) {
    snprintf(err, errsz, "out of memory");
    goto done;
  }
  g->r.state = seed;
  g->year = ohets__store_latest_year(s);
  if (g->year == 0)
    g->year = 2026; /* no program amounts on file: no deductibles either */
  for (int k = 0; k < 2; k++)
    g->have_amounts[k] = ohets_store_amounts(s, g->year - k, &g->amounts[k]) == 0;

  rc = ohets__store_begin(s, err, errsz);
  if (rc != 0)
    goto done;
  in_tx = 1;
  for (unsigned long i = 0; i < count; i++) {
    make_record(g, rec, &retired);
    rc = ohets__store_put(s, rec, &retired, err, errsz);
    if (rc != 0)
      goto done;
  }
  rc = ohets__store_commit(s, err, errsz);
  in_tx = 0;

done:
  if (rc != 0 && in_tx)
    ohets__store_rollback(s);
  if (g != NULL)
    free(g->mbis.slots);
  free(g);
  free(rec);
  return rc;
}
