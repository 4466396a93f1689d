/* Beneficiary records and program amounts <-> JSON in the import format
 * (DESIGN §7).  Parsing is strict: every key known, every value checked
 * against its format and the record's fixed capacities, and an error names
 * the field by its path ("part_a[1].start") but never repeats the value,
 * which may be PHI. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "store/store.h"

#define MONEY_MAX_CENTS 100000000000LL /* a billion dollars: surely a typo */

typedef struct vctx {
  char *err;
  size_t errsz;
} vctx;

static int fail(vctx *v, const char *path, const char *what) {
  if (v->err != NULL && v->errsz > 0)
    snprintf(v->err, v->errsz, "\"%s\": %s", path, what);
  return -EINVAL;
}

static void join_path(char *dst, size_t cap, const char *prefix,
                      const char *key) {
  if (prefix[0] == '\0')
    snprintf(dst, cap, "%s", key);
  else
    snprintf(dst, cap, "%s.%s", prefix, key);
}

/* A key named in an error: printable, short, so a stray value pasted as a
 * key cannot be echoed whole. */
static void sanitize_key(char *dst, size_t cap, const char *key) {
  size_t i = 0;
  for (; key[i] != '\0' && i + 1 < cap && i < 32; i++) {
    unsigned char c = (unsigned char)key[i];
    dst[i] = (c >= 0x20 && c < 0x7f && c != '"') ? (char)c : '?';
  }
  dst[i] = '\0';
}

/* jansson's object iterators take a non-const pointer though they only
 * read; a union drops the qualifier without a cast. */
static json_t *unconst(const json_t *j) {
  union {
    const json_t *c;
    json_t *m;
  } u = {j};
  return u.m;
}

static int check_keys(vctx *v, const json_t *obj, const char *prefix,
                      const char *const *allowed) {
  const char *key;
  json_t *val;
  json_object_foreach(unconst(obj), key, val) {
    int known = 0;
    for (const char *const *a = allowed; *a != NULL; a++)
      if (strcmp(*a, key) == 0) {
        known = 1;
        break;
      }
    if (!known) {
      char clean[40], path[128];
      sanitize_key(clean, sizeof clean, key);
      join_path(path, sizeof path, prefix, clean);
      return fail(v, path, "unknown key");
    }
  }
  return 0;
}

static int printable(const char *s) {
  for (; *s != '\0'; s++)
    if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
      return 0;
  return 1;
}

static int all_digits(const char *s, size_t n) {
  if (strlen(s) != n)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (s[i] < '0' || s[i] > '9')
      return 0;
  return 1;
}

static int upper_alnum(const char *s) {
  for (; *s != '\0'; s++)
    if (!((*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
      return 0;
  return 1;
}

/* Optional string: null or absent -> "".  required: must be non-empty. */
static int get_string(vctx *v, const json_t *obj, const char *prefix,
                      const char *key, char *dst, size_t cap, int required) {
  char path[128];
  join_path(path, sizeof path, prefix, key);
  const json_t *j = json_object_get(obj, key);
  dst[0] = '\0';
  if (j == NULL || json_is_null(j))
    return required ? fail(v, path, "missing") : 0;
  if (!json_is_string(j))
    return fail(v, path, "not a string");
  const char *s = json_string_value(j);
  size_t n = json_string_length(j);
  if (n != strlen(s) || !printable(s))
    return fail(v, path, "holds characters other than printable ASCII");
  if (n >= cap) {
    char what[64];
    snprintf(what, sizeof what, "longer than %zu characters", cap - 1);
    return fail(v, path, what);
  }
  if (n == 0 && required)
    return fail(v, path, "empty");
  memcpy(dst, s, n + 1);
  return 0;
}

/* Optional date: null or absent -> year 0. */
static int get_date(vctx *v, const json_t *obj, const char *prefix,
                    const char *key, ohets_date *out, int required) {
  char path[128];
  join_path(path, sizeof path, prefix, key);
  const json_t *j = json_object_get(obj, key);
  memset(out, 0, sizeof *out);
  if (j == NULL || json_is_null(j))
    return required ? fail(v, path, "missing") : 0;
  if (!json_is_string(j) ||
      ohets_date_parse_iso(json_string_value(j), json_string_length(j), out) != 0)
    return fail(v, path, "not a date (YYYY-MM-DD)");
  return 0;
}

/* Optional integer in [lo, hi]: null or absent -> absent_value. */
static int get_int(vctx *v, const json_t *obj, const char *prefix,
                   const char *key, long lo, long hi, long absent_value,
                   int required, long *out) {
  char path[128], what[80];
  join_path(path, sizeof path, prefix, key);
  const json_t *j = json_object_get(obj, key);
  *out = absent_value;
  if (j == NULL || json_is_null(j))
    return required ? fail(v, path, "missing") : 0;
  if (!json_is_integer(j))
    return fail(v, path, "not an integer");
  json_int_t x = json_integer_value(j);
  if (x < lo || x > hi) {
    snprintf(what, sizeof what, "out of range (%ld to %ld)", lo, hi);
    return fail(v, path, what);
  }
  *out = (long)x;
  return 0;
}

/* Dollars (integer or real, at most two decimals) -> cents; null or absent
 * -> -1 unless required. */
static int get_money(vctx *v, const json_t *obj, const char *prefix,
                     const char *key, int required, int64_t *out) {
  char path[128];
  join_path(path, sizeof path, prefix, key);
  const json_t *j = json_object_get(obj, key);
  *out = -1;
  if (j == NULL || json_is_null(j))
    return required ? fail(v, path, "missing") : 0;
  double cents;
  if (json_is_integer(j)) {
    json_int_t d = json_integer_value(j);
    if (d < 0 || d > MONEY_MAX_CENTS / 100)
      return fail(v, path, "not an amount of dollars from 0 to 1000000000");
    *out = (int64_t)d * 100;
    return 0;
  }
  if (!json_is_real(j))
    return fail(v, path, "not an amount of dollars (a JSON number)");
  cents = json_real_value(j) * 100.0;
  if (!(cents >= 0.0 && cents <= (double)MONEY_MAX_CENTS))
    return fail(v, path, "not an amount of dollars from 0 to 1000000000");
  int64_t whole = (int64_t)(cents + 0.5); /* cents >= 0: rounds to nearest */
  double off = cents - (double)whole;
  if (off > 1e-6 || off < -1e-6)
    return fail(v, path, "has fractions of a cent");
  *out = whole;
  return 0;
}

/* Array of at most max entries; null or absent -> NULL with *n = 0. */
static int get_array(vctx *v, const json_t *obj, const char *key, size_t max,
                     const json_t **arr, size_t *n) {
  const json_t *j = json_object_get(obj, key);
  *arr = NULL;
  *n = 0;
  if (j == NULL || json_is_null(j))
    return 0;
  if (!json_is_array(j))
    return fail(v, key, "not an array");
  if (json_array_size(j) > max) {
    char what[48];
    snprintf(what, sizeof what, "more than %zu entries", max);
    return fail(v, key, what);
  }
  *arr = j;
  *n = json_array_size(j);
  return 0;
}

static int element(vctx *v, const json_t *arr, const char *key, size_t i,
                   char *path, size_t cap, const json_t **out) {
  snprintf(path, cap, "%s[%zu]", key, i);
  *out = json_array_get(arr, i);
  if (!json_is_object(*out))
    return fail(v, path, "not an object");
  return 0;
}

static int get_period(vctx *v, const json_t *obj, const char *path,
                      ohets_period *p) {
  char where[128];
  int rc = get_date(v, obj, path, "start", &p->start, 1);
  if (rc == 0)
    rc = get_date(v, obj, path, "end", &p->end, 0);
  if (rc == 0 && p->end.year != 0 && ohets_date_cmp(p->end, p->start) < 0) {
    join_path(where, sizeof where, path, "end");
    rc = fail(v, where, "earlier than start");
  }
  return rc;
}

static int get_periods(vctx *v, const json_t *rec, const char *key,
                       ohets_period *out, unsigned *n_out) {
  static const char *const keys[] = {"start", "end", NULL};
  const json_t *arr, *el;
  size_t n;
  char path[64];
  int rc = get_array(v, rec, key, OHETS_MAX_PERIODS, &arr, &n);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    rc = element(v, arr, key, i, path, sizeof path, &el);
    if (rc == 0)
      rc = check_keys(v, el, path, keys);
    if (rc == 0)
      rc = get_period(v, el, path, &out[i]);
  }
  *n_out = rc == 0 ? (unsigned)n : 0;
  return rc;
}

static int check_contract(vctx *v, const char *path, const char *contract) {
  char where[128];
  join_path(where, sizeof where, path, "contract");
  if (strlen(contract) != 5 || contract[0] < 'A' || contract[0] > 'Z' ||
      !all_digits(contract + 1, 4))
    return fail(v, where, "not a contract ID (a letter and 4 digits)");
  return 0;
}

static int get_plans(vctx *v, const json_t *rec, const char *key, int is_ma,
                     ohets_plan *out, unsigned *n_out) {
  static const char *const ma_keys[] = {"contract", "plan",  "type", "name",
                                        "phone",    "start", "end",  NULL};
  static const char *const pd_keys[] = {"contract", "plan", "name", "phone",
                                        "start",    "end",  NULL};
  const json_t *arr, *el;
  size_t n;
  char path[64], where[128];
  int rc = get_array(v, rec, key, OHETS_MAX_PLANS, &arr, &n);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    ohets_plan *p = &out[i];
    rc = element(v, arr, key, i, path, sizeof path, &el);
    if (rc == 0)
      rc = check_keys(v, el, path, is_ma ? ma_keys : pd_keys);
    if (rc == 0)
      rc = get_string(v, el, path, "contract", p->contract, sizeof p->contract, 1);
    if (rc == 0)
      rc = check_contract(v, path, p->contract);
    if (rc == 0)
      rc = get_string(v, el, path, "plan", p->plan, sizeof p->plan, 1);
    if (rc == 0 && !all_digits(p->plan, 3)) {
      join_path(where, sizeof where, path, "plan");
      rc = fail(v, where, "not a plan number (3 digits)");
    }
    if (rc == 0 && is_ma) {
      rc = get_string(v, el, path, "type", p->type, sizeof p->type, 1);
      if (rc == 0 && (strlen(p->type) != 2 || !upper_alnum(p->type))) {
        join_path(where, sizeof where, path, "type");
        rc = fail(v, where, "not an insurance type code (2 characters, e.g. HM)");
      }
    }
    if (rc == 0)
      rc = get_string(v, el, path, "name", p->name, sizeof p->name, 0);
    if (rc == 0)
      rc = get_string(v, el, path, "phone", p->phone, sizeof p->phone, 0);
    if (rc == 0 && p->phone[0] != '\0' && !all_digits(p->phone, strlen(p->phone))) {
      join_path(where, sizeof where, path, "phone");
      rc = fail(v, where, "not a phone number (digits only)");
    }
    if (rc == 0)
      rc = get_period(v, el, path, &p->period);
  }
  *n_out = rc == 0 ? (unsigned)n : 0;
  return rc;
}

static int msp_type_known(const char *t) {
  static const char *const types[] = {"12", "13", "14", "15", "16",
                                      "41", "42", "43", "47", NULL};
  for (const char *const *k = types; *k != NULL; k++)
    if (strcmp(*k, t) == 0)
      return 1;
  return 0;
}

static int get_msps(vctx *v, const json_t *rec, ohets_msp *out, unsigned *n_out) {
  static const char *const keys[] = {"type", "payer", "policy", "start", "end", NULL};
  const json_t *arr, *el;
  size_t n;
  char path[64], where[128];
  int rc = get_array(v, rec, "msp", OHETS_MAX_PLANS, &arr, &n);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    ohets_msp *m = &out[i];
    rc = element(v, arr, "msp", i, path, sizeof path, &el);
    if (rc == 0)
      rc = check_keys(v, el, path, keys);
    if (rc == 0)
      rc = get_string(v, el, path, "type", m->type, sizeof m->type, 1);
    if (rc == 0 && !msp_type_known(m->type)) {
      join_path(where, sizeof where, path, "type");
      rc = fail(v, where, "not an MSP type (12, 13, 14, 15, 16, 41, 42, 43, 47)");
    }
    if (rc == 0)
      rc = get_string(v, el, path, "payer", m->payer, sizeof m->payer, 0);
    if (rc == 0)
      rc = get_string(v, el, path, "policy", m->policy, sizeof m->policy, 0);
    if (rc == 0)
      rc = get_period(v, el, path, &m->period);
  }
  *n_out = rc == 0 ? (unsigned)n : 0;
  return rc;
}

static int get_provider_periods(vctx *v, const json_t *rec, const char *key,
                                ohets_provider_period *out, unsigned *n_out) {
  static const char *const keys[] = {"start", "end", "npi", "name", NULL};
  const json_t *arr, *el;
  size_t n;
  char path[64], where[128];
  int rc = get_array(v, rec, key, OHETS_MAX_PERIODS, &arr, &n);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    ohets_provider_period *p = &out[i];
    rc = element(v, arr, key, i, path, sizeof path, &el);
    if (rc == 0)
      rc = check_keys(v, el, path, keys);
    if (rc == 0)
      rc = get_period(v, el, path, &p->period);
    if (rc == 0)
      rc = get_string(v, el, path, "npi", p->npi, sizeof p->npi, 0);
    if (rc == 0 && p->npi[0] != '\0' && !ohets_npi_valid(p->npi, strlen(p->npi))) {
      join_path(where, sizeof where, path, "npi");
      rc = fail(v, where, "not a valid NPI");
    }
    if (rc == 0)
      rc = get_string(v, el, path, "name", p->name, sizeof p->name, 0);
  }
  *n_out = rc == 0 ? (unsigned)n : 0;
  return rc;
}

static int get_preventive(vctx *v, const json_t *rec, ohets_beneficiary *out) {
  static const char *const keys[] = {"hcpcs", "next_eligible", NULL};
  const json_t *arr, *el;
  size_t n;
  char path[64], where[128];
  int rc = get_array(v, rec, "preventive", OHETS_MAX_PREVENTIVE, &arr, &n);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    ohets_preventive *p = &out->preventive[i];
    rc = element(v, arr, "preventive", i, path, sizeof path, &el);
    if (rc == 0)
      rc = check_keys(v, el, path, keys);
    if (rc == 0)
      rc = get_string(v, el, path, "hcpcs", p->hcpcs, sizeof p->hcpcs, 1);
    if (rc == 0 && (strlen(p->hcpcs) != 5 || !upper_alnum(p->hcpcs))) {
      join_path(where, sizeof where, path, "hcpcs");
      rc = fail(v, where, "not a HCPCS code (5 letters or digits)");
    }
    if (rc == 0)
      rc = get_date(v, el, path, "next_eligible", &p->next_eligible, 0);
  }
  out->n_preventive = rc == 0 ? (unsigned)n : 0;
  return rc;
}

static int get_deductibles(vctx *v, const json_t *rec, ohets_beneficiary *out) {
  static const char *const keys[] = {"year", "part_a_remaining",
                                     "part_b_remaining", NULL};
  const json_t *arr, *el;
  size_t n;
  char path[64], where[128];
  long year;
  int rc = get_array(v, rec, "deductibles", OHETS_MAX_DEDUCTIBLES, &arr, &n);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    ohets_deductible *d = &out->deductibles[i];
    rc = element(v, arr, "deductibles", i, path, sizeof path, &el);
    if (rc == 0)
      rc = check_keys(v, el, path, keys);
    if (rc == 0)
      rc = get_int(v, el, path, "year", 1966, 9999, 0, 1, &year);
    d->year = (int)year;
    for (size_t k = 0; rc == 0 && k < i; k++)
      if (out->deductibles[k].year == d->year) {
        join_path(where, sizeof where, path, "year");
        rc = fail(v, where, "same year twice");
      }
    if (rc == 0)
      rc = get_money(v, el, path, "part_a_remaining", 0, &d->part_a_remaining_cents);
    if (rc == 0)
      rc = get_money(v, el, path, "part_b_remaining", 0, &d->part_b_remaining_cents);
  }
  out->n_deductibles = rc == 0 ? (unsigned)n : 0;
  return rc;
}

static int get_benefit_days(vctx *v, const json_t *rec, ohets_beneficiary *out) {
  static const char *const keys[] = {"hospital", "snf", "lifetime_reserve", NULL};
  const json_t *bd = json_object_get(rec, "benefit_days");
  long hospital = -1, snf = -1, ltr = -1;
  int rc = 0;
  if (bd != NULL && !json_is_null(bd)) {
    if (!json_is_object(bd))
      return fail(v, "benefit_days", "not an object");
    rc = check_keys(v, bd, "benefit_days", keys);
    if (rc == 0)
      rc = get_int(v, bd, "benefit_days", "hospital", 0, 90, -1, 0, &hospital);
    if (rc == 0)
      rc = get_int(v, bd, "benefit_days", "snf", 0, 100, -1, 0, &snf);
    if (rc == 0)
      rc = get_int(v, bd, "benefit_days", "lifetime_reserve", 0, 60, -1, 0, &ltr);
  }
  out->hospital_days = (int)hospital;
  out->snf_days = (int)snf;
  out->lifetime_reserve_days = (int)ltr;
  return rc;
}

static int get_address(vctx *v, const json_t *rec, ohets_beneficiary *out) {
  static const char *const keys[] = {"line1", "line2", "city", "state", "zip", NULL};
  const json_t *a = json_object_get(rec, "address");
  if (a == NULL || json_is_null(a))
    return 0;
  if (!json_is_object(a))
    return fail(v, "address", "not an object");
  int rc = check_keys(v, a, "address", keys);
  if (rc == 0)
    rc = get_string(v, a, "address", "line1", out->address.line1,
                    sizeof out->address.line1, 0);
  if (rc == 0)
    rc = get_string(v, a, "address", "line2", out->address.line2,
                    sizeof out->address.line2, 0);
  if (rc == 0)
    rc = get_string(v, a, "address", "city", out->address.city,
                    sizeof out->address.city, 0);
  if (rc == 0)
    rc = get_string(v, a, "address", "state", out->address.state,
                    sizeof out->address.state, 0);
  if (rc == 0 && out->address.state[0] != '\0' &&
      (strlen(out->address.state) != 2 || !upper_alnum(out->address.state) ||
       all_digits(out->address.state, 2)))
    rc = fail(v, "address.state", "not a state code (2 capital letters)");
  if (rc == 0)
    rc = get_string(v, a, "address", "zip", out->address.zip,
                    sizeof out->address.zip, 0);
  if (rc == 0 && out->address.zip[0] != '\0' && !all_digits(out->address.zip, 5) &&
      !all_digits(out->address.zip, 9))
    rc = fail(v, "address.zip", "not a ZIP code (5 or 9 digits)");
  return rc;
}

static int get_retired(vctx *v, const json_t *rec, const char *own_mbi,
                       ohets_retired_mbis *out) {
  const json_t *arr;
  size_t n;
  char path[64];
  out->n = 0;
  int rc = get_array(v, rec, "retired_mbis", OHETS_STORE_MAX_RETIRED, &arr, &n);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    const json_t *el = json_array_get(arr, i);
    snprintf(path, sizeof path, "retired_mbis[%zu]", i);
    if (!json_is_string(el) ||
        !ohets_mbi_valid(json_string_value(el), json_string_length(el)))
      return fail(v, path, "not an MBI");
    const char *m = json_string_value(el);
    if (strcmp(m, own_mbi) == 0)
      return fail(v, path, "same as the record's own MBI");
    for (size_t k = 0; k < i; k++)
      if (strcmp(out->mbi[k], m) == 0)
        return fail(v, path, "listed twice");
    memcpy(out->mbi[i], m, 12);
    out->n = (unsigned)(i + 1);
  }
  return rc;
}

int ohets_record_from_json_ex(const json_t *j, ohets_beneficiary *out,
                              ohets_retired_mbis *retired, char *err,
                              size_t errsz) {
  static const char *const keys[] = {
      "mbi",         "last",        "first",       "middle",       "dob",
      "sex",         "dod",         "address",     "part_a",       "part_b",
      "ma",          "part_d",      "msp",         "hospice",      "home_health",
      "esrd",        "qmb",         "preventive",  "deductibles",  "benefit_days",
      "retired_mbis", NULL};
  vctx v = {err, errsz};
  ohets_retired_mbis scratch;
  char sex[2];
  int rc;

  memset(out, 0, sizeof *out);
  if (retired == NULL)
    retired = &scratch;
  retired->n = 0;
  if (!json_is_object(j))
    return fail(&v, "", "not a JSON object");
  rc = check_keys(&v, j, "", keys);
  if (rc == 0)
    rc = get_string(&v, j, "", "mbi", out->mbi, sizeof out->mbi, 1);
  if (rc == 0 && !ohets_mbi_valid(out->mbi, strlen(out->mbi)))
    rc = fail(&v, "mbi", "not an MBI");
  if (rc == 0)
    rc = get_string(&v, j, "", "last", out->last, sizeof out->last, 1);
  if (rc == 0)
    rc = get_string(&v, j, "", "first", out->first, sizeof out->first, 1);
  if (rc == 0)
    rc = get_string(&v, j, "", "middle", out->middle, sizeof out->middle, 0);
  if (rc == 0)
    rc = get_date(&v, j, "", "dob", &out->dob, 1);
  if (rc == 0)
    rc = get_string(&v, j, "", "sex", sex, sizeof sex, 0);
  if (rc == 0 && sex[0] != '\0' && strchr("FMU", sex[0]) == NULL)
    rc = fail(&v, "sex", "not F, M or U");
  out->sex = rc == 0 ? sex[0] : 0;
  if (rc == 0)
    rc = get_date(&v, j, "", "dod", &out->dod, 0);
  if (rc == 0 && out->dod.year != 0 && ohets_date_cmp(out->dod, out->dob) < 0)
    rc = fail(&v, "dod", "earlier than dob");
  if (rc == 0)
    rc = get_address(&v, j, out);
  if (rc == 0)
    rc = get_periods(&v, j, "part_a", out->part_a, &out->n_part_a);
  if (rc == 0)
    rc = get_periods(&v, j, "part_b", out->part_b, &out->n_part_b);
  if (rc == 0)
    rc = get_plans(&v, j, "ma", 1, out->ma, &out->n_ma);
  if (rc == 0)
    rc = get_plans(&v, j, "part_d", 0, out->part_d, &out->n_part_d);
  if (rc == 0)
    rc = get_msps(&v, j, out->msp, &out->n_msp);
  if (rc == 0)
    rc = get_provider_periods(&v, j, "hospice", out->hospice, &out->n_hospice);
  if (rc == 0)
    rc = get_provider_periods(&v, j, "home_health", out->home_health,
                              &out->n_home_health);
  if (rc == 0)
    rc = get_periods(&v, j, "esrd", out->esrd, &out->n_esrd);
  if (rc == 0)
    rc = get_periods(&v, j, "qmb", out->qmb, &out->n_qmb);
  if (rc == 0)
    rc = get_preventive(&v, j, out);
  if (rc == 0)
    rc = get_deductibles(&v, j, out);
  if (rc == 0)
    rc = get_benefit_days(&v, j, out);
  if (rc == 0)
    rc = get_retired(&v, j, out->mbi, retired);
  return rc;
}

int ohets_record_from_json(const json_t *j, ohets_beneficiary *out, char *err,
                           size_t errsz) {
  return ohets_record_from_json_ex(j, out, NULL, err, errsz);
}

/* ------------------------------------------------------------ to JSON */

/* json_object_set_new() steals the value even on failure; a NULL value
 * (allocation failure) makes it fail, which we count. */
typedef struct jbuild {
  int failed;
} jbuild;

static void put(jbuild *b, json_t *obj, const char *key, json_t *val) {
  if (val == NULL || json_object_set_new(obj, key, val) != 0)
    b->failed = 1;
}

static void append(jbuild *b, json_t *arr, json_t *val) {
  if (val == NULL || json_array_append_new(arr, val) != 0)
    b->failed = 1;
}

static json_t *str_or_null(const char *s) {
  return s[0] != '\0' ? json_string(s) : json_null();
}

static json_t *date_or_null(ohets_date d) {
  char s[16];
  if (d.year == 0)
    return json_null();
  snprintf(s, sizeof s, "%04d-%02u-%02u", d.year, (unsigned)d.month,
           (unsigned)d.day);
  return json_string(s);
}

static json_t *money_or_null(int64_t cents) {
  if (cents < 0)
    return json_null();
  if (cents % 100 == 0)
    return json_integer((json_int_t)(cents / 100));
  return json_real((double)cents / 100.0);
}

static json_t *int_or_null(int n) { return n < 0 ? json_null() : json_integer(n); }

static void put_period(jbuild *b, json_t *o, const ohets_period *p) {
  put(b, o, "start", date_or_null(p->start));
  put(b, o, "end", date_or_null(p->end));
}

static json_t *periods_json(jbuild *b, const ohets_period *p, unsigned n) {
  json_t *arr = json_array();
  for (unsigned i = 0; arr != NULL && i < n; i++) {
    json_t *o = json_object();
    if (o != NULL)
      put_period(b, o, &p[i]);
    append(b, arr, o);
  }
  return arr;
}

static json_t *plans_json(jbuild *b, const ohets_plan *p, unsigned n, int is_ma) {
  json_t *arr = json_array();
  for (unsigned i = 0; arr != NULL && i < n; i++) {
    json_t *o = json_object();
    if (o != NULL) {
      put(b, o, "contract", json_string(p[i].contract));
      put(b, o, "plan", json_string(p[i].plan));
      if (is_ma)
        put(b, o, "type", json_string(p[i].type));
      put(b, o, "name", str_or_null(p[i].name));
      put(b, o, "phone", str_or_null(p[i].phone));
      put_period(b, o, &p[i].period);
    }
    append(b, arr, o);
  }
  return arr;
}

static json_t *providers_json(jbuild *b, const ohets_provider_period *p,
                              unsigned n) {
  json_t *arr = json_array();
  for (unsigned i = 0; arr != NULL && i < n; i++) {
    json_t *o = json_object();
    if (o != NULL) {
      put_period(b, o, &p[i].period);
      put(b, o, "npi", str_or_null(p[i].npi));
      put(b, o, "name", str_or_null(p[i].name));
    }
    append(b, arr, o);
  }
  return arr;
}

json_t *ohets_record_to_json(const ohets_beneficiary *rec,
                             const ohets_retired_mbis *retired) {
  jbuild b = {0};
  json_t *o = json_object(), *arr;
  char sex[2] = {rec->sex, '\0'};
  if (o == NULL)
    return NULL;
  put(&b, o, "mbi", json_string(rec->mbi));
  put(&b, o, "last", json_string(rec->last));
  put(&b, o, "first", json_string(rec->first));
  put(&b, o, "middle", str_or_null(rec->middle));
  put(&b, o, "dob", date_or_null(rec->dob));
  put(&b, o, "sex", str_or_null(sex));
  put(&b, o, "dod", date_or_null(rec->dod));

  json_t *addr = json_object();
  if (addr != NULL) {
    put(&b, addr, "line1", str_or_null(rec->address.line1));
    put(&b, addr, "line2", str_or_null(rec->address.line2));
    put(&b, addr, "city", str_or_null(rec->address.city));
    put(&b, addr, "state", str_or_null(rec->address.state));
    put(&b, addr, "zip", str_or_null(rec->address.zip));
  }
  put(&b, o, "address", addr);

  put(&b, o, "part_a", periods_json(&b, rec->part_a, rec->n_part_a));
  put(&b, o, "part_b", periods_json(&b, rec->part_b, rec->n_part_b));
  put(&b, o, "ma", plans_json(&b, rec->ma, rec->n_ma, 1));
  put(&b, o, "part_d", plans_json(&b, rec->part_d, rec->n_part_d, 0));

  arr = json_array();
  for (unsigned i = 0; arr != NULL && i < rec->n_msp; i++) {
    json_t *m = json_object();
    if (m != NULL) {
      put(&b, m, "type", json_string(rec->msp[i].type));
      put(&b, m, "payer", str_or_null(rec->msp[i].payer));
      put(&b, m, "policy", str_or_null(rec->msp[i].policy));
      put_period(&b, m, &rec->msp[i].period);
    }
    append(&b, arr, m);
  }
  put(&b, o, "msp", arr);

  put(&b, o, "hospice", providers_json(&b, rec->hospice, rec->n_hospice));
  put(&b, o, "home_health",
      providers_json(&b, rec->home_health, rec->n_home_health));
  put(&b, o, "esrd", periods_json(&b, rec->esrd, rec->n_esrd));
  put(&b, o, "qmb", periods_json(&b, rec->qmb, rec->n_qmb));

  arr = json_array();
  for (unsigned i = 0; arr != NULL && i < rec->n_preventive; i++) {
    json_t *p = json_object();
    if (p != NULL) {
      put(&b, p, "hcpcs", json_string(rec->preventive[i].hcpcs));
      put(&b, p, "next_eligible", date_or_null(rec->preventive[i].next_eligible));
    }
    append(&b, arr, p);
  }
  put(&b, o, "preventive", arr);

  arr = json_array();
  for (unsigned i = 0; arr != NULL && i < rec->n_deductibles; i++) {
    json_t *d = json_object();
    if (d != NULL) {
      put(&b, d, "year", json_integer(rec->deductibles[i].year));
      put(&b, d, "part_a_remaining",
          money_or_null(rec->deductibles[i].part_a_remaining_cents));
      put(&b, d, "part_b_remaining",
          money_or_null(rec->deductibles[i].part_b_remaining_cents));
    }
    append(&b, arr, d);
  }
  put(&b, o, "deductibles", arr);

  json_t *days = json_object();
  if (days != NULL) {
    put(&b, days, "hospital", int_or_null(rec->hospital_days));
    put(&b, days, "snf", int_or_null(rec->snf_days));
    put(&b, days, "lifetime_reserve", int_or_null(rec->lifetime_reserve_days));
  }
  put(&b, o, "benefit_days", days);

  arr = json_array();
  for (unsigned i = 0; arr != NULL && retired != NULL && i < retired->n; i++)
    append(&b, arr, json_string(retired->mbi[i]));
  put(&b, o, "retired_mbis", arr);

  if (b.failed) {
    json_decref(o);
    return NULL;
  }
  return o;
}

/* ---------------------------------------------------- program amounts */

int ohets_amounts_from_json(const json_t *j, ohets_program_amounts *out,
                            char *err, size_t errsz) {
  static const char *const keys[] = {
      "program_year",          "part_a_deductible",
      "part_b_deductible",     "part_b_coinsurance_percent",
      "hospital_coinsurance_day61", "lifetime_reserve_coinsurance",
      "snf_coinsurance_day21", NULL};
  vctx v = {err, errsz};
  long year = 0, percent = 0;
  memset(out, 0, sizeof *out);
  if (!json_is_object(j))
    return fail(&v, "", "not a JSON object");
  int rc = check_keys(&v, j, "", keys);
  if (rc == 0)
    rc = get_int(&v, j, "", "program_year", 1966, 9999, 0, 1, &year);
  if (rc == 0)
    rc = get_money(&v, j, "", "part_a_deductible", 1, &out->part_a_deductible_cents);
  if (rc == 0)
    rc = get_money(&v, j, "", "part_b_deductible", 1, &out->part_b_deductible_cents);
  if (rc == 0)
    rc = get_int(&v, j, "", "part_b_coinsurance_percent", 0, 100, 0, 1, &percent);
  if (rc == 0)
    rc = get_money(&v, j, "", "hospital_coinsurance_day61", 1,
                   &out->hospital_coinsurance_day61_cents);
  if (rc == 0)
    rc = get_money(&v, j, "", "lifetime_reserve_coinsurance", 1,
                   &out->lifetime_reserve_coinsurance_cents);
  if (rc == 0)
    rc = get_money(&v, j, "", "snf_coinsurance_day21", 1,
                   &out->snf_coinsurance_day21_cents);
  out->year = (int)year;
  out->part_b_coinsurance_percent = (int)percent;
  return rc;
}

json_t *ohets_amounts_to_json(const ohets_program_amounts *a) {
  jbuild b = {0};
  json_t *o = json_object();
  if (o == NULL)
    return NULL;
  put(&b, o, "program_year", json_integer(a->year));
  put(&b, o, "part_a_deductible", money_or_null(a->part_a_deductible_cents));
  put(&b, o, "part_b_deductible", money_or_null(a->part_b_deductible_cents));
  put(&b, o, "part_b_coinsurance_percent", json_integer(a->part_b_coinsurance_percent));
  put(&b, o, "hospital_coinsurance_day61",
      money_or_null(a->hospital_coinsurance_day61_cents));
  put(&b, o, "lifetime_reserve_coinsurance",
      money_or_null(a->lifetime_reserve_coinsurance_cents));
  put(&b, o, "snf_coinsurance_day21", money_or_null(a->snf_coinsurance_day21_cents));
  if (b.failed) {
    json_decref(o);
    return NULL;
  }
  return o;
}
