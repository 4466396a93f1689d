/* Request checks (DESIGN §5): one table row per rule and per combination,
 * against a fake in-memory store.  Each row names the AAA list expected as
 * "loop/code/AAA01/AAA04" words, in the order they must come out. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/req270.h"

#define MBI_DOE "1EG4TE5MK73"
#define MBI_OBRIEN "3C45D67EF89"
#define MBI_RETIRED "9AA0AA0AA00"
#define MBI_UNKNOWN "5HX7VC2KA41"
#define NPI_LINKED "1234567893"
#define NPI_OTHER "9876543213" /* valid check digit, not linked */

/* ------------------------------------------------------------------ */
/* Fake store and partner table.                                       */

typedef struct fake_store {
  int unavailable;
  unsigned calls;
} fake_store;

static ohets_lookup_status fake_beneficiary(void *ctx, const char *mbi,
                                            ohets_beneficiary *out) {
  fake_store *s = ctx;
  s->calls++;
  if (s->unavailable)
    return OHETS_LOOKUP_UNAVAILABLE;
  if (strcmp(mbi, MBI_RETIRED) == 0)
    return OHETS_LOOKUP_RETIRED;
  memset(out, 0, sizeof *out);
  out->hospital_days = out->snf_days = out->lifetime_reserve_days = -1;
  if (strcmp(mbi, MBI_DOE) == 0) {
    strcpy(out->mbi, MBI_DOE);
    strcpy(out->last, "DOE");
    strcpy(out->first, "JANE");
    strcpy(out->middle, "Q");
    out->sex = 'F';
    out->dob = (ohets_date){1940, 1, 1};
    return OHETS_LOOKUP_FOUND;
  }
  if (strcmp(mbi, MBI_OBRIEN) == 0) {
    strcpy(out->mbi, MBI_OBRIEN);
    strcpy(out->last, "O'BRIEN-SMITH");
    strcpy(out->first, "MARY ANN");
    out->sex = 'F';
    out->dob = (ohets_date){1950, 7, 4};
    return OHETS_LOOKUP_FOUND;
  }
  return OHETS_LOOKUP_NOT_FOUND;
}

static int fake_submitter_allowed(void *ctx, const char *submitter) {
  (void)ctx;
  return strcmp(submitter, "SUBMITTER01") == 0;
}

static int fake_npi_linked(void *ctx, const char *submitter, const char *npi) {
  (void)ctx;
  return strcmp(submitter, "SUBMITTER01") == 0 && strcmp(npi, NPI_LINKED) == 0;
}

static const ohets_partners partners = {fake_submitter_allowed, fake_npi_linked,
                                        NULL};

/* ------------------------------------------------------------------ */
/* The table.                                                          */

typedef struct row {
  const char *name;
  /* Overrides of the clean request; NULL keeps the default. */
  const char *payer_id;
  const char *prov_qual;
  const char *prov_id;
  const char *sub_id;
  const char *last;
  const char *first;
  const char *middle;
  const char *dob;      /* "-" drops the DMG segment */
  const char *dos_fmt;  /* D8 / RD8; NULL: no DTP*291 */
  const char *dos;
  const char *today;    /* CCYYMMDD; NULL: 20260515 */
  int with_partners;
  int overloaded;
  int unavailable;
  /* Expected. */
  const char *aaa;      /* space-separated loop/code/valid/action */
  int found;
  int lookups;          /* calls made to the store */
  const char *from, *to; /* expected v->from / v->to, CCYYMMDD; NULL: today */
} row;

static const row rows[] = {
    {.name = "clean hit", .aaa = "", .found = 1, .lookups = 1},
    {.name = "clean hit, partner links the NPI", .with_partners = 1, .aaa = "",
     .found = 1, .lookups = 1},

    /* 2100A */
    {.name = "payer not CMS", .payer_id = "CMSX", .aaa = "2100A/79/N/C",
     .lookups = 0},
    {.name = "payer id lowercase", .payer_id = "cms", .aaa = "2100A/79/N/C",
     .lookups = 0},

    /* 2100B */
    {.name = "provider id not an NPI (SV)", .prov_qual = "SV",
     .aaa = "2100B/43/N/C", .lookups = 1},
    {.name = "NPI bad check digit", .prov_id = "1234567890",
     .aaa = "2100B/43/N/C", .lookups = 1},
    {.name = "NPI 9 digits", .prov_id = "123456789", .aaa = "2100B/43/N/C",
     .lookups = 1},
    {.name = "NPI missing", .prov_id = "", .aaa = "2100B/43/N/C", .lookups = 1},
    {.name = "NPI with a letter", .prov_id = "12345678X3",
     .aaa = "2100B/43/N/C", .lookups = 1},
    {.name = "NPI valid but not linked", .prov_id = NPI_OTHER,
     .with_partners = 1, .aaa = "2100B/41/N/N", .lookups = 1},
    {.name = "NPI valid, no partner table", .prov_id = NPI_OTHER, .aaa = "",
     .found = 1, .lookups = 1},
    {.name = "bad NPI with partners is 43 not 41", .prov_id = "1234567890",
     .with_partners = 1, .aaa = "2100B/43/N/C", .lookups = 1},

    /* 2100C: MBI */
    {.name = "MBI lowercase", .sub_id = "1eg4te5mk73", .aaa = "2100C/72/N/C",
     .lookups = 0},
    {.name = "MBI with excluded letter S", .sub_id = "1SG4TE5MK73",
     .aaa = "2100C/72/N/C", .lookups = 0},
    {.name = "MBI starting with 0", .sub_id = "0EG4TE5MK73",
     .aaa = "2100C/72/N/C", .lookups = 0},
    {.name = "MBI 10 characters", .sub_id = "1EG4TE5MK7", .aaa = "2100C/72/N/C",
     .lookups = 0},
    {.name = "MBI missing", .sub_id = "", .aaa = "2100C/72/N/C", .lookups = 0},
    {.name = "MBI retired", .sub_id = MBI_RETIRED, .aaa = "2100C/72/N/C",
     .lookups = 1},
    {.name = "MBI not on file", .sub_id = MBI_UNKNOWN, .aaa = "2100C/75/N/C",
     .lookups = 1},

    /* 2100C: names */
    {.name = "last name missing", .last = "", .aaa = "2100C/73/N/C",
     .lookups = 1},
    {.name = "first name missing", .first = "", .aaa = "2100C/73/N/C",
     .lookups = 1},
    {.name = "both names missing: one 73", .last = "", .first = "",
     .aaa = "2100C/73/N/C", .lookups = 1},
    {.name = "last name differs", .last = "DOES", .aaa = "2100C/73/N/C",
     .lookups = 1},
    {.name = "first name differs", .first = "JOAN", .aaa = "2100C/73/N/C",
     .lookups = 1},
    {.name = "name case and period ignored", .last = "doe.", .first = "Jane",
     .aaa = "", .found = 1, .lookups = 1},
    {.name = "name punctuation and spaces ignored", .sub_id = MBI_OBRIEN,
     .last = "OBRIEN SMITH", .first = "maryann", .dob = "19500704", .aaa = "",
     .found = 1, .lookups = 1},
    {.name = "name hyphen vs apostrophe positions ignored", .sub_id = MBI_OBRIEN,
     .last = "o-brien'smith", .first = "Mary-Ann", .dob = "19500704",
     .aaa = "", .found = 1, .lookups = 1},
    {.name = "middle name not compared", .middle = "X", .aaa = "", .found = 1,
     .lookups = 1},

    /* 2100C: date of birth */
    {.name = "no DMG", .dob = "-", .aaa = "2100C/58/N/C", .lookups = 1},
    {.name = "DOB not a calendar date", .dob = "19400231",
     .aaa = "2100C/58/N/C", .lookups = 1},
    {.name = "DOB 7 digits", .dob = "1940011", .aaa = "2100C/58/N/C",
     .lookups = 1},
    {.name = "DOB empty", .dob = "", .aaa = "2100C/58/N/C", .lookups = 1},
    {.name = "DOB differs from record", .dob = "19400102",
     .aaa = "2100C/71/N/C", .lookups = 1},

    /* 2100C: service dates */
    {.name = "D8 not a date", .dos_fmt = "D8", .dos = "20260230",
     .aaa = "2100C/57/N/C", .lookups = 1},
    {.name = "RD8 end before start", .dos_fmt = "RD8",
     .dos = "20260301-20260201", .aaa = "2100C/57/N/C", .lookups = 1},
    {.name = "RD8 holding one date", .dos_fmt = "RD8", .dos = "20260301",
     .aaa = "2100C/57/N/C", .lookups = 1},
    {.name = "RD8 bad end", .dos_fmt = "RD8", .dos = "20260301-20261301",
     .aaa = "2100C/57/N/C", .lookups = 1},
    {.name = "D8 holding a range", .dos_fmt = "D8", .dos = "20260301-20260302",
     .aaa = "2100C/57/N/C", .lookups = 1},
    {.name = "D8 single date", .dos_fmt = "D8", .dos = "20260301", .aaa = "",
     .found = 1, .lookups = 1, .from = "20260301", .to = "20260301"},
    {.name = "RD8 range", .dos_fmt = "RD8", .dos = "20260101-20260331",
     .aaa = "", .found = 1, .lookups = 1, .from = "20260101",
     .to = "20260331"},
    {.name = "RD8 one-day range", .dos_fmt = "RD8", .dos = "20260301-20260301",
     .aaa = "", .found = 1, .lookups = 1, .from = "20260301",
     .to = "20260301"},
    {.name = "exactly 4 years back is inside", .dos_fmt = "D8",
     .dos = "20220515", .aaa = "", .found = 1, .lookups = 1,
     .from = "20220515", .to = "20220515"},
    {.name = "one day more than 4 years back", .dos_fmt = "D8",
     .dos = "20220514", .aaa = "2100C/62/N/C", .lookups = 1,
     .from = "20220514", .to = "20220514"},
    {.name = "exactly 4 months ahead is inside", .dos_fmt = "D8",
     .dos = "20260915", .aaa = "", .found = 1, .lookups = 1,
     .from = "20260915", .to = "20260915"},
    {.name = "one day past 4 months ahead", .dos_fmt = "D8", .dos = "20260916",
     .aaa = "2100C/62/N/C", .lookups = 1, .from = "20260916", .to = "20260916"},
    {.name = "range ending past the window", .dos_fmt = "RD8",
     .dos = "20260901-20260916", .aaa = "2100C/62/N/C", .lookups = 1,
     .from = "20260901", .to = "20260916"},
    {.name = "range starting before the window", .dos_fmt = "RD8",
     .dos = "20220514-20220601", .aaa = "2100C/62/N/C", .lookups = 1,
     .from = "20220514", .to = "20220601"},
    {.name = "range spanning the whole window", .dos_fmt = "RD8",
     .dos = "20220515-20260915", .aaa = "", .found = 1, .lookups = 1,
     .from = "20220515", .to = "20260915"},
    {.name = "4 months from Oct 31 clamps to Feb 28", .today = "20261031",
     .dos_fmt = "D8", .dos = "20270228", .aaa = "", .found = 1, .lookups = 1,
     .from = "20270228", .to = "20270228"},
    {.name = "Mar 1 is past 4 months from Oct 31", .today = "20261031",
     .dos_fmt = "D8", .dos = "20270301", .aaa = "2100C/62/N/C", .lookups = 1,
     .from = "20270301", .to = "20270301"},
    {.name = "4 years back from Feb 29", .today = "20280229", .dos_fmt = "D8",
     .dos = "20240229", .aaa = "", .found = 1, .lookups = 1,
     .from = "20240229", .to = "20240229"},
    {.name = "day before 4 years back from Feb 29", .today = "20280229",
     .dos_fmt = "D8", .dos = "20240228", .aaa = "2100C/62/N/C", .lookups = 1,
     .from = "20240228", .to = "20240228"},

    /* Combinations: all that apply, loop order 2100A, 2100B, 2100C. */
    {.name = "every loop at once", .prov_id = "1234567890",
     .sub_id = "1EG4TE5MK7", .last = "", .dob = "-", .dos_fmt = "D8",
     .dos = "2026", .aaa = "2100B/43/N/C 2100C/72/N/C "
                           "2100C/73/N/C 2100C/58/N/C 2100C/57/N/C",
     .lookups = 0},
    /* Not addressed to CMS: the 271 stops after 2100A, so 79 stands alone. */
    {.name = "payer wrong hides every later loop", .payer_id = "XYZ",
     .prov_id = "1234567890", .sub_id = "1EG4TE5MK7", .last = "", .dob = "-",
     .aaa = "2100A/79/N/C", .lookups = 0},
    {.name = "record found, nothing matches", .last = "ROE", .dob = "19410101",
     .dos_fmt = "D8", .dos = "20200101",
     .aaa = "2100C/73/N/C 2100C/71/N/C 2100C/62/N/C", .lookups = 1,
     .from = "20200101", .to = "20200101"},
    {.name = "not on file with missing name and DOB", .sub_id = MBI_UNKNOWN,
     .first = "", .dob = "-", .aaa = "2100C/73/N/C 2100C/58/N/C 2100C/75/N/C",
     .lookups = 1},
    {.name = "payer wrong: no lookup", .payer_id = "MEDICARE",
     .dob = "19400102", .aaa = "2100A/79/N/C", .lookups = 0},
    {.name = "unlinked NPI and retired MBI", .with_partners = 1,
     .prov_id = NPI_OTHER, .sub_id = MBI_RETIRED,
     .aaa = "2100B/41/N/N 2100C/72/N/C", .lookups = 1},
    {.name = "retired MBI is not compared by name", .sub_id = MBI_RETIRED,
     .last = "ANYONE", .aaa = "2100C/72/N/C", .lookups = 1},

    /* Overload and store outage: AAA 42 alone. */
    {.name = "overloaded", .overloaded = 1, .aaa = "2000A/42/N/R",
     .lookups = 0},
    {.name = "overloaded drops every other code", .overloaded = 1,
     .payer_id = "XYZ", .prov_id = "", .last = "", .dob = "-",
     .aaa = "2000A/42/N/R", .lookups = 0},
    {.name = "overloaded keeps the dates asked", .overloaded = 1,
     .dos_fmt = "D8", .dos = "20260301", .aaa = "2000A/42/N/R", .lookups = 0,
     .from = "20260301", .to = "20260301"},
    {.name = "store unavailable", .unavailable = 1, .aaa = "2000A/42/N/R",
     .lookups = 1},
    {.name = "store unavailable drops every other code", .unavailable = 1,
     .prov_id = "", .first = "", .dob = "-",
     .dos_fmt = "D8", .dos = "20200101", .aaa = "2000A/42/N/R", .lookups = 1,
     .from = "20200101", .to = "20200101"},
    {.name = "store unavailable, bad MBI: store never asked", .unavailable = 1,
     .sub_id = "BAD", .aaa = "2100C/72/N/C", .lookups = 0},
};

static ohets_date d8(const char *s) {
  ohets_date d = {0, 0, 0};
  ck_assert_msg(ohets_date_parse_d8(s, strlen(s), &d) == 0, "bad test date %s", s);
  return d;
}

static void set(char *dst, size_t n, const char *override, const char *dflt) {
  snprintf(dst, n, "%s", override != NULL ? override : dflt);
}

static void build(const row *r, ohets__270 *req, ohets__env *env) {
  memset(req, 0, sizeof *req);
  memset(env, 0, sizeof *env);
  strcpy(env->isa06, "SUBMITTER01");
  strcpy(req->bht03, "REF1");
  strcpy(req->payer_name, "CMS");
  strcpy(req->payer_qual, "PI");
  set(req->payer_id, sizeof req->payer_id, r->payer_id, "CMS");
  strcpy(req->prov_entity, "1P");
  strcpy(req->prov_type, "2");
  strcpy(req->prov_last, "EXAMPLE CLINIC");
  set(req->prov_qual, sizeof req->prov_qual, r->prov_qual, "XX");
  set(req->prov_id, sizeof req->prov_id, r->prov_id, NPI_LINKED);
  strcpy(req->sub_qual, "MI");
  set(req->sub_id, sizeof req->sub_id, r->sub_id, MBI_DOE);
  set(req->sub_last, sizeof req->sub_last, r->last, "DOE");
  set(req->sub_first, sizeof req->sub_first, r->first, "JANE");
  set(req->sub_middle, sizeof req->sub_middle, r->middle, "");
  if (r->dob == NULL || strcmp(r->dob, "-") != 0) {
    req->has_dmg = 1;
    set(req->dob, sizeof req->dob, r->dob, "19400101");
    req->sex = 'F';
  }
  if (r->dos_fmt != NULL) {
    req->has_dos = 1;
    set(req->dos_fmt, sizeof req->dos_fmt, r->dos_fmt, "");
    set(req->dos, sizeof req->dos, r->dos, "");
  }
  strcpy(req->stc[0], "30");
  req->n_stc = 1;
}

/* The verdict's AAA list in the row's notation. */
static void render(const ohets__verdict *v, char *dst, size_t n) {
  size_t len = 0;
  dst[0] = '\0';
  for (unsigned i = 0; i < v->n_aaa && len < n; i++)
    len += (size_t)snprintf(dst + len, n - len, "%s%s/%s/%c/%c", i ? " " : "",
                            v->aaa[i].loop, v->aaa[i].code, v->aaa[i].valid,
                            v->aaa[i].action);
}

START_TEST(table_row) {
  const row *r = &rows[_i];
  fake_store store = {.unavailable = r->unavailable, .calls = 0};
  ohets_lookup lookup = {fake_beneficiary, NULL, &store};
  ohets_request_ctx ctx = {0};
  ctx.lookup = &lookup;
  ctx.partners = r->with_partners ? &partners : NULL;
  ctx.now.date = d8(r->today ? r->today : "20260515");
  ctx.now.hour = 10;
  ctx.control_number = 7;
  ctx.overloaded = r->overloaded;

  ohets__270 req;
  ohets__env env;
  build(r, &req, &env);
  ohets_beneficiary rec;
  ohets__verdict v;
  memset(&v, 0x5a, sizeof v); /* stale contents must not leak through */
  ohets__check_request(&req, &env, &ctx, &rec, &v);

  char got[512];
  render(&v, got, sizeof got);
  ck_assert_msg(strcmp(got, r->aaa) == 0, "%s: AAA \"%s\", expected \"%s\"",
                r->name, got, r->aaa);
  ck_assert_msg(v.found == r->found, "%s: found %d", r->name, v.found);
  ck_assert_msg(store.calls == (unsigned)r->lookups, "%s: %u lookups", r->name,
                store.calls);
  ohets_date from = r->from ? d8(r->from) : ctx.now.date;
  ohets_date to = r->to ? d8(r->to) : ctx.now.date;
  ck_assert_msg(ohets_date_cmp(v.from, from) == 0 && ohets_date_cmp(v.to, to) == 0,
                "%s: dates %04d%02d%02d-%04d%02d%02d", r->name, v.from.year,
                v.from.month, v.from.day, v.to.year, v.to.month, v.to.day);
  if (v.found)
    ck_assert_str_eq(rec.mbi, req.sub_id);
}
END_TEST

/* Invalid service dates leave the answer dated today. */
START_TEST(invalid_dates_answer_for_today) {
  fake_store store = {0};
  ohets_lookup lookup = {fake_beneficiary, NULL, &store};
  ohets_request_ctx ctx = {.lookup = &lookup};
  ctx.now.date = (ohets_date){2026, 5, 15};
  row r = {.dos_fmt = "RD8", .dos = "20260301-20260201"};
  ohets__270 req;
  ohets__env env;
  build(&r, &req, &env);
  ohets_beneficiary rec;
  ohets__verdict v;
  ohets__check_request(&req, &env, &ctx, &rec, &v);
  ck_assert_int_eq(ohets_date_cmp(v.from, ctx.now.date), 0);
  ck_assert_int_eq(ohets_date_cmp(v.to, ctx.now.date), 0);
}
END_TEST

/* The partner check asks about this submitter's NPI, not another's. */
START_TEST(npi_link_is_per_submitter) {
  fake_store store = {0};
  ohets_lookup lookup = {fake_beneficiary, NULL, &store};
  ohets_request_ctx ctx = {.lookup = &lookup, .partners = &partners};
  ctx.now.date = (ohets_date){2026, 5, 15};
  row r = {0};
  ohets__270 req;
  ohets__env env;
  build(&r, &req, &env);
  strcpy(env.isa06, "SUBMITTER02");
  ohets_beneficiary rec;
  ohets__verdict v;
  ohets__check_request(&req, &env, &ctx, &rec, &v);
  ck_assert_uint_eq(v.n_aaa, 1);
  ck_assert_str_eq(v.aaa[0].code, "41");
  ck_assert_str_eq(v.aaa[0].loop, "2100B");
  ck_assert_int_eq(v.found, 0);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("checks");
  TCase *tc = tcase_create("rules");
  tcase_add_loop_test(tc, table_row, 0, (int)(sizeof rows / sizeof rows[0]));
  tcase_add_test(tc, invalid_dates_answer_for_today);
  tcase_add_test(tc, npi_link_is_per_submitter);
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
