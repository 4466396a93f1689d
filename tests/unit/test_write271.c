/* The 271 writer: what a submitter reads for each kind of answer, segment
 * by segment, with standard and custom delimiters, and that the result
 * parses back as X12. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/req270.h"

#define MAX_SEGS 200

static const ohets__delims STD = {'*', '^', ':', '~'};
static const ohets__delims CUSTOM = {'|', '^', ':', '!'};

/* ------------------------------------------------------------------ */
/* Fixtures, built by hand.                                            */

static ohets__env make_env(ohets__delims d) {
  ohets__env env;
  memset(&env, 0, sizeof env);
  env.d = d;
  strcpy(env.isa05, "ZZ");
  strcpy(env.isa06, "SUBMITTER01");
  strcpy(env.isa07, "ZZ");
  strcpy(env.isa08, "CMS");
  strcpy(env.isa13, "000000123");
  env.isa14 = '0';
  env.isa15 = 'T';
  strcpy(env.gs02, "SUBMITTER01");
  strcpy(env.gs03, "CMS");
  strcpy(env.gs06, "123");
  return env;
}

static ohets__270 make_req(void) {
  ohets__270 r;
  memset(&r, 0, sizeof r);
  strcpy(r.st02, "0001");
  strcpy(r.bht03, "BHTREF01");
  strcpy(r.payer_name, "CMS");
  strcpy(r.payer_qual, "PI");
  strcpy(r.payer_id, "CMS");
  strcpy(r.prov_entity, "1P");
  strcpy(r.prov_type, "2");
  strcpy(r.prov_last, "EXAMPLE CLINIC");
  strcpy(r.prov_qual, "XX");
  strcpy(r.prov_id, "1234567893");
  strcpy(r.trn[0].type, "1");
  strcpy(r.trn[0].ref, "TRACE-A");
  strcpy(r.trn[0].orig, "9SUBMITTER");
  r.n_trn = 1;
  strcpy(r.sub_qual, "MI");
  strcpy(r.sub_id, "1EG4TE5MK73");
  strcpy(r.sub_last, "Doe");
  strcpy(r.sub_first, "Jane");
  r.has_dmg = 1;
  strcpy(r.dob, "19400101");
  r.sex = 'F';
  strcpy(r.stc[0], "30");
  r.n_stc = 1;
  return r;
}

static ohets_period per(int y0, int m0, int d0, int y1, int m1, int d1) {
  ohets_period p = {{(int16_t)y0, (uint8_t)m0, (uint8_t)d0},
                    {(int16_t)y1, (uint8_t)m1, (uint8_t)d1}};
  return p;
}

/* A record with no benefits beyond open Part A and Part B. */
static void base_record(ohets_beneficiary *b) {
  memset(b, 0, sizeof *b);
  strcpy(b->mbi, "1EG4TE5MK73");
  strcpy(b->last, "DOE");
  strcpy(b->first, "JANE");
  strcpy(b->middle, "Q");
  b->sex = 'F';
  b->dob = (ohets_date){1940, 1, 1};
  strcpy(b->address.line1, "123 MAIN ST");
  strcpy(b->address.city, "BALTIMORE");
  strcpy(b->address.state, "MD");
  strcpy(b->address.zip, "21244");
  b->part_a[0] = per(2005, 1, 1, 0, 0, 0);
  b->n_part_a = 1;
  b->part_b[0] = per(2005, 1, 1, 0, 0, 0);
  b->n_part_b = 1;
  b->hospital_days = b->snf_days = b->lifetime_reserve_days = -1;
}

static void add_plan(ohets_plan *p, const char *contract, const char *plan,
                     const char *type, const char *name, const char *phone,
                     ohets_period period) {
  strcpy(p->contract, contract);
  strcpy(p->plan, plan);
  strcpy(p->type, type);
  strcpy(p->name, name);
  strcpy(p->phone, phone);
  p->period = period;
}

/* Every benefit kind, open and closed periods. */
static void full_record(ohets_beneficiary *b) {
  base_record(b);
  strcpy(b->address.line2, "APT 2");
  b->part_a[0] = per(2005, 1, 1, 2010, 12, 31); /* ended, then resumed */
  b->part_a[1] = per(2011, 1, 1, 0, 0, 0);
  b->n_part_a = 2;
  b->part_b[0] = per(2005, 1, 1, 2030, 12, 31);
  add_plan(&b->ma[0], "H1234", "001", "HM", "EXAMPLE HMO", "8005550100",
           per(2020, 1, 1, 0, 0, 0));
  add_plan(&b->ma[1], "H9999", "002", "PR", "OLD PPO", "",
           per(2015, 1, 1, 2019, 12, 31)); /* over: not reported */
  b->n_ma = 2;
  add_plan(&b->part_d[0], "S5678", "002", "", "EXAMPLE RX", "",
           per(2020, 1, 1, 2026, 12, 31));
  b->n_part_d = 1;
  strcpy(b->msp[0].type, "12");
  strcpy(b->msp[0].payer, "EMPLOYER GROUP PLAN");
  strcpy(b->msp[0].policy, "ABC123");
  b->msp[0].period = per(2019, 5, 1, 0, 0, 0);
  b->n_msp = 1;
  b->hospice[0].period = per(2026, 3, 1, 0, 0, 0);
  strcpy(b->hospice[0].npi, "1234567893");
  strcpy(b->hospice[0].name, "EXAMPLE HOSPICE");
  b->n_hospice = 1;
  b->home_health[0].period = per(2026, 2, 1, 2026, 5, 31);
  strcpy(b->home_health[0].npi, "1234567893");
  strcpy(b->home_health[0].name, "EXAMPLE HHA");
  b->home_health[1].period = per(2025, 1, 1, 2025, 3, 31); /* over */
  strcpy(b->home_health[1].name, "OLD HHA");
  b->n_home_health = 2;
  b->esrd[0] = per(2018, 6, 1, 0, 0, 0);
  b->n_esrd = 1;
  b->qmb[0] = per(2021, 1, 1, 0, 0, 0);
  b->n_qmb = 1;
  strcpy(b->preventive[0].hcpcs, "G0438");
  b->preventive[0].next_eligible = (ohets_date){2027, 1, 1};
  strcpy(b->preventive[1].hcpcs, "G0439");
  b->n_preventive = 2;
  b->deductibles[0] = (ohets_deductible){2025, 0, 0};
  b->deductibles[1] = (ohets_deductible){2026, 173600, 4150};
  b->n_deductibles = 2;
  b->hospital_days = 60;
  b->snf_days = 100;
  b->lifetime_reserve_days = 60;
}

static const ohets_program_amounts AMOUNTS_2026 = {
    .year = 2026,
    .part_a_deductible_cents = 173600,
    .part_b_deductible_cents = 28300,
    .part_b_coinsurance_percent = 20,
    .hospital_coinsurance_day61_cents = 43400,
    .lifetime_reserve_coinsurance_cents = 86800,
    .snf_coinsurance_day21_cents = 21700,
};

static ohets_request_ctx make_ctx(void) {
  ohets_request_ctx c;
  memset(&c, 0, sizeof c);
  c.now.date = (ohets_date){2026, 5, 15};
  c.now.hour = 9;
  c.now.minute = 5;
  c.control_number = 42;
  return c;
}

static ohets__verdict hit(void) {
  ohets__verdict v;
  memset(&v, 0, sizeof v);
  v.found = 1;
  v.from = v.to = (ohets_date){2026, 5, 15};
  return v;
}

static ohets__verdict with_aaa(const char *loop, const char *code, char action) {
  ohets__verdict v;
  memset(&v, 0, sizeof v);
  v.from = v.to = (ohets_date){2026, 5, 15};
  strcpy(v.aaa[0].loop, loop);
  v.aaa[0].valid = 'N';
  strcpy(v.aaa[0].code, code);
  v.aaa[0].action = action;
  v.n_aaa = 1;
  return v;
}

/* ------------------------------------------------------------------ */
/* Running the writer and reading its segments.                        */

typedef struct written {
  ohets_buf buf;
  char text[16384];
  char *seg[MAX_SEGS]; /* NUL-terminated segments, terminator removed */
  size_t n;
  unsigned count; /* w.count after writing */
} written;

static void run(written *out, ohets__delims d, const ohets__270 *req,
                const ohets__verdict *v, const ohets_beneficiary *rec,
                const ohets_program_amounts *am) {
  ohets__env env = make_env(d);
  ohets_request_ctx ctx = make_ctx();
  ohets_buf_init(&out->buf, 1 << 20);
  ohets__w w;
  ohets__w_init(&w, &out->buf, d);
  ohets__write_271(&w, req, &env, v, rec, am, &ctx, 1);
  ck_assert_int_eq(w.err, 0);
  out->count = w.count;
  ck_assert_uint_lt(out->buf.len, sizeof out->text);
  memcpy(out->text, out->buf.data, out->buf.len);
  out->text[out->buf.len] = '\0';
  ohets_buf_free(&out->buf);
  if (getenv("DUMP271"))
    fprintf(stderr, "%s\n", out->text);
  out->n = 0;
  char *p = out->text;
  while (*p && out->n < MAX_SEGS) {
    char *end = strchr(p, d.segment);
    ck_assert_msg(end != NULL, "unterminated segment: %s", p);
    *end = '\0';
    out->seg[out->n++] = p;
    p = end + 1;
  }
  ck_assert_msg(*p == '\0', "bytes after the last terminator");
}

static long index_of(const written *o, const char *seg) {
  for (size_t i = 0; i < o->n; i++)
    if (strcmp(o->seg[i], seg) == 0)
      return (long)i;
  return -1;
}

static int has_prefix(const written *o, const char *prefix) {
  for (size_t i = 0; i < o->n; i++)
    if (strncmp(o->seg[i], prefix, strlen(prefix)) == 0)
      return 1;
  return 0;
}

/* Asserts the segments appear exactly as listed, one after the other. */
static void assert_run(const written *o, const char *const *want, size_t nwant) {
  long at = index_of(o, want[0]);
  ck_assert_msg(at >= 0, "missing %s", want[0]);
  for (size_t k = 1; k < nwant; k++)
    ck_assert_msg((size_t)at + k < o->n && strcmp(o->seg[at + k], want[k]) == 0,
                  "after %s expected %s, got %s", want[k - 1], want[k],
                  (size_t)at + k < o->n ? o->seg[at + k] : "(end)");
}
#define ASSERT_RUN(o, ...)                                                     \
  do {                                                                         \
    const char *const want_[] = {__VA_ARGS__};                                 \
    assert_run(o, want_, sizeof want_ / sizeof want_[0]);                      \
  } while (0)

static void assert_exact(const written *o, const char *const *want,
                         size_t nwant) {
  for (size_t k = 0; k < nwant && k < o->n; k++)
    ck_assert_msg(strcmp(o->seg[k], want[k]) == 0, "segment %zu: got %s, expected %s",
                  k + 1, o->seg[k], want[k]);
  ck_assert_uint_eq(o->n, nwant);
}
#define ASSERT_EXACT(o, ...)                                                   \
  do {                                                                         \
    const char *const want_[] = {__VA_ARGS__};                                 \
    assert_exact(o, want_, sizeof want_ / sizeof want_[0]);                    \
  } while (0)

/* SE01 counts ST..SE and SE02 repeats ST02. */
static void assert_trailer(const written *o, char el) {
  char want[64];
  snprintf(want, sizeof want, "SE%c%zu%c0001", el, o->n, el);
  ck_assert_str_eq(o->seg[o->n - 1], want);
  ck_assert_uint_eq(o->count, o->n);
}

/* ------------------------------------------------------------------ */
/* Hits.                                                               */

START_TEST(full_hit) {
  ohets__270 req = make_req();
  ohets__verdict v = hit();
  ohets_beneficiary rec;
  full_record(&rec);
  written o;
  run(&o, STD, &req, &v, &rec, &AMOUNTS_2026);
  ASSERT_EXACT(&o,
      "ST*271*0001*005010X279A1",
      "BHT*0022*11*BHTREF01*20260515*0905",
      "HL*1**20*1",
      "NM1*PR*2*CMS*****PI*CMS",
      "HL*2*1*21*1",
      "NM1*1P*2*EXAMPLE CLINIC*****XX*1234567893",
      "HL*3*2*22*0",
      "TRN*2*TRACE-A*9SUBMITTER",
      "TRN*1*000000042*9CMSHETS00",
      "NM1*IL*1*DOE*JANE*Q***MI*1EG4TE5MK73",
      "N3*123 MAIN ST*APT 2",
      "N4*BALTIMORE*MD*21244",
      "DMG*D8*19400101*F",
      "DTP*307*D8*20260515",
      /* Part A: the open period covers the date; the ended one is left out. */
      "EB*1**30*MA",
      "DTP*307*D8*20110101",
      "EB*1**30*MB",
      "DTP*307*RD8*20050101-20301231",
      /* Deductibles and coinsurance for 2026. */
      "EB*C*IND*30*MA**26*1736",
      "EB*C*IND*30*MA**29*1736",
      "EB*C*IND*30*MB**23*283",
      "EB*C*IND*30*MB**29*41.5",
      "EB*A*IND*30*MB**27**.2",
      /* Benefit-period days. */
      "EB*B*IND*48*MA**29*434**DY*60",
      "EB*K*IND*48*MA**33*868**DY*60",
      "EB*B*IND*AG*MA**29*217**DY*100",
      /* Medicare Advantage: only the current plan. */
      "EB*R**30*HM",
      "REF*18*H1234 001",
      "DTP*290*D8*20200101",
      "LS*2120",
      "NM1*PRP*2*EXAMPLE HMO*****PI*H1234",
      "PER*IC**TE*8005550100",
      "LE*2120",
      /* Part D. */
      "EB*R**88*OT",
      "REF*18*S5678 002",
      "DTP*290*RD8*20200101-20261231",
      "LS*2120",
      "NM1*PRP*2*EXAMPLE RX*****PI*S5678",
      "LE*2120",
      /* MSP. */
      "EB*R**30*12",
      "REF*IG*ABC123",
      "DTP*290*D8*20190501",
      "LS*2120",
      "NM1*PRP*2*EMPLOYER GROUP PLAN",
      "LE*2120",
      /* QMB. */
      "EB*R**30*QM",
      "DTP*290*D8*20210101",
      /* ESRD. */
      "EB*D**30",
      "DTP*307*D8*20180601",
      "MSG*ESRD",
      /* Hospice and home health (the old home health period is left out). */
      "EB*X**45",
      "DTP*292*D8*20260301",
      "LS*2120",
      "NM1*1P*2*EXAMPLE HOSPICE*****XX*1234567893",
      "LE*2120",
      "EB*X**42",
      "DTP*292*RD8*20260201-20260531",
      "LS*2120",
      "NM1*1P*2*EXAMPLE HHA*****XX*1234567893",
      "LE*2120",
      /* Preventive services. */
      "EB*D**BZ*MB*********HC:G0438",
      "DTP*348*D8*20270101",
      "EB*D**BZ*MB*********HC:G0439",
      "SE*64*0001");
  assert_trailer(&o, '*');
}
END_TEST

START_TEST(ma_only_hit) {
  ohets__270 req = make_req();
  ohets__verdict v = hit();
  ohets_beneficiary rec;
  base_record(&rec);
  add_plan(&rec.ma[0], "H1234", "001", "HN", "EXAMPLE HMO", "8005550100",
           per(2020, 1, 1, 0, 0, 0));
  rec.n_ma = 1;
  written o;
  run(&o, STD, &req, &v, &rec, NULL); /* no program amounts on file */
  ASSERT_EXACT(&o,
      "ST*271*0001*005010X279A1",
      "BHT*0022*11*BHTREF01*20260515*0905",
      "HL*1**20*1",
      "NM1*PR*2*CMS*****PI*CMS",
      "HL*2*1*21*1",
      "NM1*1P*2*EXAMPLE CLINIC*****XX*1234567893",
      "HL*3*2*22*0",
      "TRN*2*TRACE-A*9SUBMITTER",
      "TRN*1*000000042*9CMSHETS00",
      "NM1*IL*1*DOE*JANE*Q***MI*1EG4TE5MK73",
      "N3*123 MAIN ST",
      "N4*BALTIMORE*MD*21244",
      "DMG*D8*19400101*F",
      "DTP*307*D8*20260515",
      "EB*1**30*MA",
      "DTP*307*D8*20050101",
      "EB*1**30*MB",
      "DTP*307*D8*20050101",
      "EB*R**30*HN",
      "REF*18*H1234 001",
      "DTP*290*D8*20200101",
      "LS*2120",
      "NM1*PRP*2*EXAMPLE HMO*****PI*H1234",
      "PER*IC**TE*8005550100",
      "LE*2120",
      "SE*26*0001");
}
END_TEST

/* A range: periods overlapping any part of it are reported, the answer's
 * 2100C date is the range, entitlement ending inside it is still active. */
START_TEST(service_date_range) {
  ohets__270 req = make_req();
  ohets__verdict v = hit();
  v.from = (ohets_date){2026, 1, 1};
  v.to = (ohets_date){2026, 3, 31};
  ohets_beneficiary rec;
  full_record(&rec);
  rec.part_b[0] = per(2005, 1, 1, 2026, 2, 15);
  written o;
  run(&o, STD, &req, &v, &rec, &AMOUNTS_2026);
  ck_assert_int_ge(index_of(&o, "DTP*307*RD8*20260101-20260331"), 0);
  ASSERT_RUN(&o, "EB*1**30*MB", "DTP*307*RD8*20050101-20260215");
  ASSERT_RUN(&o, "EB*X**45", "DTP*292*D8*20260301");
  ASSERT_RUN(&o, "EB*X**42", "DTP*292*RD8*20260201-20260531");
  ck_assert(!has_prefix(&o, "EB*6"));
  assert_trailer(&o, '*');
}
END_TEST

/* Entitlement that ended before the date asked is EB*6 with that period;
 * benefits that start after the date are not reported. */
START_TEST(inactive_entitlement) {
  ohets__270 req = make_req();
  ohets__verdict v = hit();
  v.from = v.to = (ohets_date){2026, 2, 1};
  ohets_beneficiary rec;
  full_record(&rec);
  rec.part_b[0] = per(2005, 1, 1, 2020, 6, 30);
  rec.part_b[1] = per(2001, 1, 1, 2003, 6, 30);
  rec.n_part_b = 2;
  written o;
  run(&o, STD, &req, &v, &rec, &AMOUNTS_2026);
  ASSERT_RUN(&o, "EB*6**30*MB", "DTP*307*RD8*20050101-20200630");
  ck_assert_int_lt(index_of(&o, "EB*1**30*MB"), 0);
  ck_assert_int_lt(index_of(&o, "EB*X**45"), 0); /* hospice starts 2026-03-01 */
  ck_assert_int_ge(index_of(&o, "EB*X**42"), 0);
}
END_TEST

/* A period ending or starting on the very date asked covers it; one that
 * ended the day before does not.  With only a future period, EB*6 names
 * it. */
START_TEST(period_edges) {
  ohets__270 req = make_req();
  ohets__verdict v = hit(); /* 2026-05-15 */
  ohets_beneficiary rec;
  full_record(&rec);
  rec.part_a[0] = per(2027, 1, 1, 0, 0, 0);
  rec.n_part_a = 1;
  rec.part_b[0] = per(2005, 1, 1, 2026, 5, 15);
  rec.hospice[0].period = per(2026, 5, 15, 0, 0, 0);
  rec.ma[0].period = per(2020, 1, 1, 2026, 5, 14);
  written o;
  run(&o, STD, &req, &v, &rec, &AMOUNTS_2026);
  ASSERT_RUN(&o, "EB*6**30*MA", "DTP*307*D8*20270101");
  ASSERT_RUN(&o, "EB*1**30*MB", "DTP*307*RD8*20050101-20260515");
  ASSERT_RUN(&o, "EB*X**45", "DTP*292*D8*20260515");
  ck_assert_int_lt(index_of(&o, "EB*R**30*HM"), 0);
}
END_TEST

/* Deductible rows for another year, or amounts not on file, are skipped. */
START_TEST(amounts_by_year) {
  ohets__270 req = make_req();
  ohets__verdict v = hit();
  v.from = v.to = (ohets_date){2025, 6, 1};
  ohets_beneficiary rec;
  full_record(&rec);
  written o;
  run(&o, STD, &req, &v, &rec, &AMOUNTS_2026); /* the 2026 row: not used */
  ck_assert_int_ge(index_of(&o, "EB*C*IND*30*MA**29*0"), 0);
  ck_assert_int_ge(index_of(&o, "EB*C*IND*30*MB**29*0"), 0);
  ck_assert(!has_prefix(&o, "EB*C*IND*30*MA**26"));
  ck_assert(!has_prefix(&o, "EB*A*"));
  ck_assert_int_ge(index_of(&o, "EB*B*IND*48*MA**29***DY*60"), 0);

  rec.n_deductibles = 0;
  rec.hospital_days = rec.snf_days = rec.lifetime_reserve_days = -1;
  run(&o, STD, &req, &v, &rec, NULL);
  ck_assert(!has_prefix(&o, "EB*C*"));
  ck_assert(!has_prefix(&o, "EB*B*"));
  ck_assert(!has_prefix(&o, "EB*K*"));
}
END_TEST

START_TEST(money_formats) {
  static const struct {
    int64_t cents;
    const char *text;
  } cases[] = {{173600, "1736"}, {28300, "283"}, {41950, "419.5"},
               {41955, "419.55"}, {5, ".05"}, {50, ".5"}, {0, "0"},
               {100, "1"}, {1000000, "10000"}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ohets__270 req = make_req();
    ohets__verdict v = hit();
    ohets_beneficiary rec;
    base_record(&rec);
    ohets_program_amounts am = AMOUNTS_2026;
    am.part_b_deductible_cents = cases[i].cents;
    written o;
    run(&o, STD, &req, &v, &rec, &am);
    char want[64];
    snprintf(want, sizeof want, "EB*C*IND*30*MB**23*%s", cases[i].text);
    ck_assert_msg(index_of(&o, want) >= 0, "missing %s", want);
  }
}
END_TEST

START_TEST(deceased) {
  ohets__270 req = make_req();
  ohets__verdict v = hit();
  ohets_beneficiary rec;
  base_record(&rec);
  rec.dod = (ohets_date){2026, 4, 2};
  written o;
  run(&o, STD, &req, &v, &rec, NULL);
  ASSERT_RUN(&o, "DMG*D8*19400101*F", "DTP*442*D8*20260402",
             "DTP*307*D8*20260515", "EB*1**30*MA");
}
END_TEST

/* Specific service types select what applies to them, and EB03 of the
 * entitlement lists them as repeats. */
START_TEST(service_types_asked) {
  ohets__270 req = make_req();
  strcpy(req.stc[0], "45");
  strcpy(req.stc[1], "42");
  strcpy(req.stc[2], "45"); /* a repeat says nothing new */
  req.n_stc = 3;
  ohets__verdict v = hit();
  ohets_beneficiary rec;
  full_record(&rec);
  written o;
  run(&o, STD, &req, &v, &rec, &AMOUNTS_2026);
  ASSERT_RUN(&o, "EB*1**45^42*MA", "DTP*307*D8*20110101");
  ck_assert_int_ge(index_of(&o, "EB*1**45^42*MB"), 0);
  ck_assert_int_ge(index_of(&o, "EB*X**45"), 0);
  ck_assert_int_ge(index_of(&o, "EB*X**42"), 0);
  ck_assert_int_ge(index_of(&o, "EB*R**30*HM"), 0);  /* MA applies to all */
  ck_assert_int_ge(index_of(&o, "EB*R**30*12"), 0);  /* so does MSP */
  ck_assert_int_lt(index_of(&o, "EB*R**88*OT"), 0);  /* Part D: not asked */
  ck_assert(!has_prefix(&o, "EB*C*"));
  ck_assert(!has_prefix(&o, "EB*D*"));

  strcpy(req.stc[0], "88");
  req.n_stc = 1;
  run(&o, STD, &req, &v, &rec, &AMOUNTS_2026);
  ck_assert_int_ge(index_of(&o, "EB*1**88*MA"), 0);
  ck_assert_int_ge(index_of(&o, "EB*R**88*OT"), 0);
  ck_assert_int_lt(index_of(&o, "EB*X**45"), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Rejections.                                                         */

static const struct aaa_case {
  const char *loop, *code;
  char action;
  const char *aaa; /* the segment written */
  const char *after; /* the segment it follows */
} aaa_cases[] = {
    {"2100B", "43", 'C', "AAA*N**43*C", "NM1*1P*2*EXAMPLE CLINIC*****XX*1234567893"},
    {"2100B", "41", 'N', "AAA*N**41*N", "NM1*1P*2*EXAMPLE CLINIC*****XX*1234567893"},
    {"2100C", "72", 'C', "AAA*N**72*C", "NM1*IL*1*Doe*Jane****MI*1EG4TE5MK73"},
    {"2100C", "73", 'C', "AAA*N**73*C", "NM1*IL*1*Doe*Jane****MI*1EG4TE5MK73"},
    {"2100C", "58", 'C', "AAA*N**58*C", "NM1*IL*1*Doe*Jane****MI*1EG4TE5MK73"},
    {"2100C", "71", 'C', "AAA*N**71*C", "NM1*IL*1*Doe*Jane****MI*1EG4TE5MK73"},
    {"2100C", "57", 'C', "AAA*N**57*C", "NM1*IL*1*Doe*Jane****MI*1EG4TE5MK73"},
    {"2100C", "62", 'C', "AAA*N**62*C", "NM1*IL*1*Doe*Jane****MI*1EG4TE5MK73"},
    {"2100C", "75", 'C', "AAA*N**75*C", "NM1*IL*1*Doe*Jane****MI*1EG4TE5MK73"},
};

/* Each AAA in its loop; the subscriber echoed as sent; no benefits, no
 * address, even though the caller passed a record. */
START_TEST(aaa_in_loop) {
  const struct aaa_case *c = &aaa_cases[_i];
  ohets__270 req = make_req();
  ohets__verdict v = with_aaa(c->loop, c->code, c->action);
  ohets_beneficiary rec;
  full_record(&rec);
  written o;
  run(&o, STD, &req, &v, &rec, &AMOUNTS_2026);
  ASSERT_RUN(&o, c->after, c->aaa);
  ASSERT_RUN(&o, "HL*3*2*22*0", "TRN*2*TRACE-A*9SUBMITTER",
             "TRN*1*000000042*9CMSHETS00");
  ck_assert(!has_prefix(&o, "EB*"));
  ck_assert(!has_prefix(&o, "N3*"));
  ck_assert(!has_prefix(&o, "DTP*"));
  ck_assert_int_ge(index_of(&o, "DMG*D8*19400101*F"), 0); /* as sent */
  ck_assert_int_lt(index_of(&o, "NM1*IL*1*DOE*JANE*Q***MI*1EG4TE5MK73"), 0);
  assert_trailer(&o, '*');
}
END_TEST

/* Several codes in 2100C, written in verdict order after the NM1 and
 * before the DMG; an invalid DOB is not echoed. */
START_TEST(several_aaa_in_2100c) {
  ohets__270 req = make_req();
  strcpy(req.sub_id, "1eg4te5mk73");
  strcpy(req.sub_first, "");
  strcpy(req.sub_middle, "R");
  strcpy(req.sub_suffix, "JR");
  strcpy(req.dob, "19401301");
  ohets__verdict v = with_aaa("2100C", "72", 'C');
  strcpy(v.aaa[1].loop, "2100C");
  strcpy(v.aaa[1].code, "73");
  v.aaa[1].valid = 'N';
  v.aaa[1].action = 'C';
  strcpy(v.aaa[2].loop, "2100C");
  strcpy(v.aaa[2].code, "58");
  v.aaa[2].valid = 'N';
  v.aaa[2].action = 'C';
  v.n_aaa = 3;
  written o;
  run(&o, STD, &req, &v, NULL, NULL);
  ASSERT_RUN(&o, "TRN*1*000000042*9CMSHETS00",
             "NM1*IL*1*Doe**R**JR*MI*1eg4te5mk73", "AAA*N**72*C",
             "AAA*N**73*C", "AAA*N**58*C");
  ck_assert_str_eq(o.seg[o.n - 1], "SE*14*0001");
  ck_assert(!has_prefix(&o, "DMG"));
}
END_TEST

START_TEST(missing_ids_drop_their_qualifiers) {
  ohets__270 req = make_req();
  strcpy(req.sub_id, "");
  strcpy(req.prov_id, "");
  ohets__verdict v = with_aaa("2100B", "43", 'C');
  strcpy(v.aaa[1].loop, "2100C");
  strcpy(v.aaa[1].code, "72");
  v.aaa[1].valid = 'N';
  v.aaa[1].action = 'C';
  v.n_aaa = 2;
  written o;
  run(&o, STD, &req, &v, NULL, NULL);
  ck_assert_int_ge(index_of(&o, "NM1*1P*2*EXAMPLE CLINIC"), 0);
  ck_assert_int_ge(index_of(&o, "NM1*IL*1*Doe*Jane"), 0);
}
END_TEST

START_TEST(aaa_2000a_stops_before_2000b) {
  ohets__270 req = make_req();
  ohets__verdict v = with_aaa("2000A", "42", 'R');
  written o;
  run(&o, STD, &req, &v, NULL, NULL);
  ASSERT_EXACT(&o, "ST*271*0001*005010X279A1",
               "BHT*0022*11*BHTREF01*20260515*0905", "HL*1**20*1",
               "AAA*N**42*R", "NM1*PR*2*CMS*****PI*CMS", "SE*6*0001");
}
END_TEST

/* 79 stops the answer at the source even when the verdict also holds
 * codes for later loops. */
START_TEST(aaa_2100a_stops_before_2000b) {
  ohets__270 req = make_req();
  strcpy(req.payer_id, "XYZ");
  ohets__verdict v = with_aaa("2100A", "79", 'C');
  strcpy(v.aaa[1].loop, "2100C");
  strcpy(v.aaa[1].code, "73");
  v.aaa[1].valid = 'N';
  v.aaa[1].action = 'C';
  v.n_aaa = 2;
  written o;
  run(&o, STD, &req, &v, NULL, NULL);
  ASSERT_EXACT(&o, "ST*271*0001*005010X279A1",
               "BHT*0022*11*BHTREF01*20260515*0905", "HL*1**20*1",
               "NM1*PR*2*CMS*****PI*CMS", "AAA*N**79*C", "SE*6*0001");
}
END_TEST

START_TEST(trn_echo) {
  ohets__270 req = make_req();
  strcpy(req.trn[1].type, "1");
  strcpy(req.trn[1].ref, "TRACE-B");
  strcpy(req.trn[1].orig, "9CLEARING0");
  strcpy(req.trn[1].supp, "DEPT7");
  req.n_trn = 2;
  ohets__verdict v = hit();
  ohets_beneficiary rec;
  base_record(&rec);
  written o;
  run(&o, STD, &req, &v, &rec, NULL);
  ASSERT_RUN(&o, "HL*3*2*22*0", "TRN*2*TRACE-A*9SUBMITTER",
             "TRN*2*TRACE-B*9CLEARING0*DEPT7", "TRN*1*000000042*9CMSHETS00",
             "NM1*IL*1*DOE*JANE*Q***MI*1EG4TE5MK73");

  req.n_trn = 0; /* none sent: CMS's own only */
  run(&o, STD, &req, &v, &rec, NULL);
  ASSERT_RUN(&o, "HL*3*2*22*0", "TRN*1*000000042*9CMSHETS00");
}
END_TEST

/* ------------------------------------------------------------------ */
/* Delimiters and structure.                                           */

START_TEST(custom_delimiters) {
  ohets__270 req = make_req();
  strcpy(req.stc[0], "30");
  strcpy(req.stc[1], "42");
  req.n_stc = 2;
  ohets__verdict v = hit();
  ohets_beneficiary rec;
  full_record(&rec);
  strcpy(rec.ma[0].name, "ACME|HMO!^:");   /* delimiters in data */
  strcpy(rec.preventive[1].hcpcs, "G0^3:"); /* even in a composite */
  written o;
  run(&o, CUSTOM, &req, &v, &rec, &AMOUNTS_2026);
  ck_assert_str_eq(o.seg[0], "ST|271|0001|005010X279A1");
  ASSERT_RUN(&o, "EB|1||30^42|MA", "DTP|307|D8|20110101");
  ASSERT_RUN(&o, "LS|2120", "NM1|PRP|2|ACME HMO   |||||PI|H1234");
  ASSERT_RUN(&o, "EB|D||BZ|MB|||||||||HC:G0438", "DTP|348|D8|20270101",
             "EB|D||BZ|MB|||||||||HC:G0 3 ");
  ASSERT_RUN(&o, "EB|C|IND|30|MB||29|41.5");
  assert_trailer(&o, '|');
  ck_assert(strchr(o.text, '~') == NULL);
}
END_TEST

/* With no usable repetition separator (ISA11 'U', as in 4010), EB03 holds
 * the first code asked rather than a value that would not parse. */
START_TEST(no_repetition_separator) {
  const ohets__delims old = {'*', 'U', ':', '~'};
  ohets__270 req = make_req();
  strcpy(req.stc[0], "45");
  strcpy(req.stc[1], "42");
  req.n_stc = 2;
  ohets__verdict v = hit();
  ohets_beneficiary rec;
  base_record(&rec);
  written o;
  run(&o, old, &req, &v, &rec, NULL);
  ck_assert_int_ge(index_of(&o, "EB*1**45*MA"), 0);
  ck_assert_int_ge(index_of(&o, "EB*1**45*MB"), 0);
}
END_TEST

/* Wrapped in an envelope, the answer parses back: every segment ID in
 * place, no stray bytes, and the element count of a known segment. */
START_TEST(reparses) {
  static const ohets__delims *delims[] = {&STD, &CUSTOM};
  for (size_t k = 0; k < 2; k++) {
    ohets__delims d = *delims[k];
    ohets__270 req = make_req();
    ohets__verdict v = hit();
    ohets_beneficiary rec;
    full_record(&rec);
    ohets__env env = make_env(d);
    ohets_request_ctx ctx = make_ctx();
    ohets_buf b;
    ohets_buf_init(&b, 1 << 20);
    ohets__w w;
    ohets__w_init(&w, &b, d);
    ohets__w_isa(&w, &env, &ctx, 0);
    ohets__w_gs(&w, &env, &ctx, "HB", "005010X279A1");
    unsigned before = w.count;
    ohets__write_271(&w, &req, &env, &v, &rec, &AMOUNTS_2026, &ctx, 1);
    unsigned in_set = w.count - before;
    ohets__w_ge(&w, 1, &ctx);
    ohets__w_iea(&w, 1, &ctx);
    ck_assert_int_eq(w.err, 0);

    ohets__x12 x;
    ck_assert_int_eq(ohets__x12_parse(&x, (const char *)b.data, b.len), 0);
    ck_assert_int_eq(x.unterminated, 0);
    ck_assert_uint_eq(x.trailing, 0);
    ck_assert_uint_eq(x.nsegs, in_set + 4); /* ISA GS .. GE IEA */
    ck_assert(ohets__seg_is(&x, &x.segs[2], "ST"));
    const ohets__seg *se = &x.segs[x.nsegs - 3];
    ck_assert(ohets__seg_is(&x, se, "SE"));
    char n[12];
    snprintf(n, sizeof n, "%u", in_set);
    ck_assert(ohets__el_eq(&x, se, 1, n));
    /* EB13 composite of the first preventive EB splits into HC and code. */
    int seen = 0;
    for (size_t i = 0; i < x.nsegs && !seen; i++) {
      const ohets__seg *s = &x.segs[i];
      if (!ohets__seg_is(&x, s, "EB") || s->nelem < 14)
        continue;
      size_t len, clen;
      const char *p = ohets__el(&x, s, 13, &len);
      const char *q = ohets__split(p, len, x.d.component, 0, &clen);
      ck_assert(clen == 2 && memcmp(q, "HC", 2) == 0);
      q = ohets__split(p, len, x.d.component, 1, &clen);
      ck_assert(clen == 5 && memcmp(q, "G0438", 5) == 0);
      seen = 1;
    }
    ck_assert(seen);
    ohets__x12_free(&x);
    ohets_buf_free(&b);
  }
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("write271");
  TCase *tc = tcase_create("hits");
  tcase_add_test(tc, full_hit);
  tcase_add_test(tc, ma_only_hit);
  tcase_add_test(tc, service_date_range);
  tcase_add_test(tc, inactive_entitlement);
  tcase_add_test(tc, period_edges);
  tcase_add_test(tc, amounts_by_year);
  tcase_add_test(tc, money_formats);
  tcase_add_test(tc, deceased);
  tcase_add_test(tc, service_types_asked);
  suite_add_tcase(s, tc);
  tc = tcase_create("rejections");
  tcase_add_loop_test(tc, aaa_in_loop, 0,
                      (int)(sizeof aaa_cases / sizeof aaa_cases[0]));
  tcase_add_test(tc, several_aaa_in_2100c);
  tcase_add_test(tc, missing_ids_drop_their_qualifiers);
  tcase_add_test(tc, aaa_2000a_stops_before_2000b);
  tcase_add_test(tc, aaa_2100a_stops_before_2000b);
  tcase_add_test(tc, trn_echo);
  suite_add_tcase(s, tc);
  tc = tcase_create("structure");
  tcase_add_test(tc, custom_delimiters);
  tcase_add_test(tc, no_repetition_separator);
  tcase_add_test(tc, reparses);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
