/* Decodes one HETS answer into the JSON document of docs/hets-query.md.
 *
 * X12 answers are read with the core's public reader (segments and elements, not
 * text matching); the walk keeps track of the HL level and of the 2110
 * benefit and 2120 entity loops, so each segment lands in the object it
 * belongs to.  Afterwards each benefit (EB) is filed under the category a
 * reader looks for: Part A, Part B, cost sharing, plans, MSP, ... */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openhets/openhets.h"
#include "tools/query.h"

#define VAL_MAX 256 /* longest element value kept */

/* ------------------------------------------------------------------ */
/* JSON helpers.                                                       */

/* A JSON string from raw bytes: control and non-ASCII bytes become '?', so
 * the document is always valid UTF-8. */
static json_t *str_n(const char *p, size_t n) {
  char buf[VAL_MAX];
  if (n >= sizeof buf)
    n = sizeof buf - 1;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)p[i];
    buf[i] = (c < 0x20 || c > 0x7e) ? '?' : (char)c;
  }
  return json_stringn(buf, n);
}

/* Sets key to the string v unless v is empty. */
static void put(json_t *o, const char *key, const char *v) {
  if (o != NULL && v != NULL && v[0] != '\0')
    json_object_set_new(o, key, str_n(v, strlen(v)));
}

static void put_text(json_t *o, const char *key, const char *v) {
  if (v != NULL)
    json_object_set_new(o, key, json_string(v));
}

static json_t *array_of(json_t *o, const char *key) {
  json_t *a = json_object_get(o, key);
  if (a == NULL) {
    a = json_array();
    json_object_set_new(o, key, a);
  }
  return a;
}

static json_t *object_of(json_t *o, const char *key) {
  json_t *a = json_object_get(o, key);
  if (a == NULL) {
    a = json_object();
    json_object_set_new(o, key, a);
  }
  return a;
}

static const char *get_s(const json_t *o, const char *key) {
  return json_string_value(json_object_get(o, key));
}

/* ------------------------------------------------------------------ */
/* Element access.                                                     */

typedef struct walk {
  const ohets_x12_doc *x;
  ohets_x12_delims d;
  json_t *doc;
  char level;        /* HL level: 'A' source, 'B' receiver, 'C' subscriber, 'D' dependent */
  char loop[6];      /* loop of the segment being read, e.g. "2100C" */
  json_t *party;     /* object of the current 2100 loop */
  json_t *benefit;   /* current 2110 EB, or NULL */
  json_t *entity;    /* current 2120 NM1, or NULL */
  int in_2120;
  json_t *ack;       /* 999 content */
  json_t *set;       /* current AK2 set */
  json_t *error;     /* current IK3 */
} walk;

/* 1 when segment s is an id segment. */
static int seg_is(const ohets_x12_doc *x, size_t s, const char *id) {
  return ohets_x12_element_is(x, s, 0, id);
}

/* Element i of s as a NUL-terminated string (truncated to VAL_MAX). */
static const char *el(const walk *w, size_t s, unsigned i,
                      char buf[VAL_MAX]) {
  ohets_x12_element_copy(w->x, s, i, buf, VAL_MAX);
  return buf;
}

static void put_el(const walk *w, json_t *o, const char *key,
                   size_t s, unsigned i) {
  size_t n;
  const char *p = ohets_x12_element(w->x, s, i, &n);
  if (n > 0)
    json_object_set_new(o, key, str_n(p, n));
}

static void put_int_el(const walk *w, json_t *o, const char *key,
                       size_t s, unsigned i) {
  char b[VAL_MAX];
  el(w, s, i, b);
  char *end;
  errno = 0;
  long long v = strtoll(b, &end, 10);
  if (b[0] != '\0' && *end == '\0' && errno == 0)
    json_object_set_new(o, key, json_integer(v));
}

static void put_num_el(const walk *w, json_t *o, const char *key,
                       size_t s, unsigned i) {
  char b[VAL_MAX];
  el(w, s, i, b);
  char *end;
  errno = 0;
  double v = strtod(b, &end);
  if (b[0] != '\0' && *end == '\0' && errno == 0)
    json_object_set_new(o, key, json_real(v));
}

/* CCYYMMDD -> CCYY-MM-DD; anything else is kept as sent. */
static json_t *iso_date(const char *p, size_t n) {
  if (n == 8) {
    int digits = 1;
    for (size_t i = 0; i < 8; i++)
      digits &= isdigit((unsigned char)p[i]) != 0;
    if (digits) {
      char b[11];
      snprintf(b, sizeof b, "%.4s-%.2s-%.2s", p, p + 4, p + 6);
      return json_string(b);
    }
  }
  return str_n(p, n);
}

/* A DTP segment as {"qualifier", "date"} (D8) or {"qualifier", "start",
 * "end"} (RD8). */
static json_t *dtp(const walk *w, size_t s) {
  json_t *d = json_object();
  size_t n;
  const char *v;
  put_el(w, d, "qualifier", s, 1);
  v = ohets_x12_element(w->x, s, 3, &n);
  if (ohets_x12_element_is(w->x, s, 2, "RD8")) {
    const char *dash = memchr(v, '-', n);
    size_t first = dash ? (size_t)(dash - v) : n;
    json_object_set_new(d, "start", iso_date(v, first));
    if (dash != NULL)
      json_object_set_new(d, "end", iso_date(dash + 1, n - first - 1));
  } else {
    json_object_set_new(d, "date", iso_date(v, n));
  }
  return d;
}

/* ------------------------------------------------------------------ */
/* Segments.                                                           */

static void seg_isa(walk *w, size_t s) {
  json_t *ic = object_of(w->doc, "interchange");
  char b[VAL_MAX];
  const unsigned trimmed[] = {6, 8};
  const char *keys[] = {"sender", "receiver"};
  for (unsigned k = 0; k < 2; k++) {
    el(w, s, trimmed[k], b);
    size_t n = strlen(b);
    while (n > 0 && b[n - 1] == ' ')
      b[--n] = '\0';
    put(ic, keys[k], b);
  }
  el(w, s, 9, b);
  if (strlen(b) == 6) {
    char d[11];
    snprintf(d, sizeof d, "20%.2s-%.2s-%.2s", b, b + 2, b + 4);
    put(ic, "date", d);
  }
  el(w, s, 10, b);
  if (strlen(b) == 4) {
    char t[6];
    snprintf(t, sizeof t, "%.2s:%.2s", b, b + 2);
    put(ic, "time", t);
  }
  put_el(w, ic, "control", s, 13);
  put_el(w, ic, "usage", s, 15);
}

static void seg_ta1(walk *w, size_t s) {
  json_t *t = json_object();
  char b[VAL_MAX];
  put_el(w, t, "control", s, 1);
  put_el(w, t, "ack", s, 4);
  put_text(t, "ack_text", ohets_query_ack_status(el(w, s, 4, b)));
  put_el(w, t, "code", s, 5);
  put_text(t, "text", ohets_query_ta1_text(el(w, s, 5, b)));
  json_array_append_new(array_of(w->doc, "ta1"), t);
}

static void seg_hl(walk *w, size_t s) {
  char b[VAL_MAX];
  el(w, s, 3, b);
  w->level = strcmp(b, "20") == 0   ? 'A'
             : strcmp(b, "21") == 0 ? 'B'
             : strcmp(b, "22") == 0 ? 'C'
             : strcmp(b, "23") == 0 ? 'D'
                                    : '?';
  snprintf(w->loop, sizeof w->loop, "2000%c", w->level);
  w->party = NULL;
  w->benefit = NULL;
  w->entity = NULL;
  w->in_2120 = 0;
}

static const char *party_key(char level) {
  switch (level) {
  case 'A': return "payer";
  case 'B': return "provider";
  case 'C': return "subscriber";
  case 'D': return "dependent";
  }
  return "other_party";
}

static void seg_nm1(walk *w, size_t s) {
  json_t *o = json_object();
  put_el(w, o, "entity", s, 1);
  if (ohets_x12_element_is(w->x, s, 2, "1")) {
    put_el(w, o, "last", s, 3);
    put_el(w, o, "first", s, 4);
    put_el(w, o, "middle", s, 5);
    put_el(w, o, "suffix", s, 7);
  } else {
    put_el(w, o, "name", s, 3);
  }
  put_el(w, o, "id_qualifier", s, 8);
  put_el(w, o, "id", s, 9);
  if (w->in_2120 && w->benefit != NULL) {
    json_array_append_new(array_of(w->benefit, "entities"), o);
    w->entity = o;
    snprintf(w->loop, sizeof w->loop, "2120%c", w->level);
    return;
  }
  if (ohets_x12_element_is(w->x, s, 8, "MI"))
    put_el(w, o, "mbi", s, 9);
  else if (ohets_x12_element_is(w->x, s, 8, "XX"))
    put_el(w, o, "npi", s, 9);
  json_t *old = json_object_get(w->doc, party_key(w->level));
  if (old != NULL) /* the 2000C TRN came first: keep it */
    json_object_update_missing(o, old);
  json_object_set_new(w->doc, party_key(w->level), o);
  w->party = o;
  snprintf(w->loop, sizeof w->loop, "2100%c", w->level);
}

/* The object a party-level segment (TRN, N3, DMG, ...) belongs to,
 * created when the loop's NM1 has not come yet. */
static json_t *party(walk *w) {
  if (w->party == NULL) {
    w->party = object_of(w->doc, party_key(w->level));
  }
  return w->party;
}

static void seg_address(walk *w, size_t s, json_t *owner) {
  json_t *a = object_of(owner, "address");
  if (seg_is(w->x, s, "N3")) {
    put_el(w, a, "line1", s, 1);
    put_el(w, a, "line2", s, 2);
  } else {
    put_el(w, a, "city", s, 1);
    put_el(w, a, "state", s, 2);
    put_el(w, a, "zip", s, 3);
  }
}

static void seg_aaa(walk *w, size_t s) {
  json_t *a = json_object();
  char b[VAL_MAX];
  put(a, "loop", w->loop);
  json_object_set_new(a, "valid", json_boolean(ohets_x12_element_is(w->x, s, 1, "Y")));
  put_el(w, a, "code", s, 3);
  el(w, s, 3, b);
  put_text(a, "reason", ohets_query_aaa_reason(b));
  put_text(a, "hint", ohets_query_aaa_hint(b));
  put_el(w, a, "action", s, 4);
  put_text(a, "action_text", ohets_query_aaa_action(el(w, s, 4, b)));
  json_array_append_new(array_of(w->doc, "aaa"), a);
}

static void seg_eb(walk *w, size_t s) {
  json_t *e = json_object();
  char b[VAL_MAX];
  size_t n;
  put_el(w, e, "code", s, 1);
  put_text(e, "code_text", ohets_query_eb01_text(el(w, s, 1, b)));
  put_el(w, e, "coverage", s, 2);
  const char *v = ohets_x12_element(w->x, s, 3, &n);
  json_t *stc = json_array();
  for (unsigned k = 0; n > 0 && k < ohets_x12_count(v, n, w->d.repetition); k++) {
    size_t rn;
    const char *r = ohets_x12_split(v, n, w->d.repetition, k, &rn);
    if (rn > 0)
      json_array_append_new(stc, str_n(r, rn));
  }
  json_object_set_new(e, "service_types", stc);
  put_el(w, e, "insurance_type", s, 4);
  put_text(e, "insurance_type_text", ohets_query_ins_type_text(el(w, s, 4, b)));
  put_el(w, e, "plan", s, 5);
  put_el(w, e, "period", s, 6);
  put_text(e, "period_text", ohets_query_period_text(el(w, s, 6, b)));
  put_num_el(w, e, "amount", s, 7);
  put_num_el(w, e, "percent", s, 8);
  put_el(w, e, "quantity_qualifier", s, 9);
  put_num_el(w, e, "quantity", s, 10);
  put_el(w, e, "authorization", s, 11);
  put_el(w, e, "in_network", s, 12);
  v = ohets_x12_element(w->x, s, 13, &n);
  if (n > 0) {
    json_t *proc = json_object();
    size_t qn, cn;
    const char *q = ohets_x12_split(v, n, w->d.component, 0, &qn);
    const char *c = ohets_x12_split(v, n, w->d.component, 1, &cn);
    json_object_set_new(proc, "qualifier", str_n(q, qn));
    json_object_set_new(proc, "code", str_n(c, cn));
    json_object_set_new(e, "procedure", proc);
  }
  json_array_append_new(array_of(w->doc, "benefits"), e);
  w->benefit = e;
  w->entity = NULL;
  w->in_2120 = 0;
  snprintf(w->loop, sizeof w->loop, "2110%c", w->level);
}

/* Segments of a 271 transaction set. */
static void seg_271(walk *w, size_t s) {
  const ohets_x12_doc *x = w->x;
  if (seg_is(x, s, "BHT")) {
    put_el(w, w->doc, "reference", s, 3);
  } else if (seg_is(x, s, "HL")) {
    seg_hl(w, s);
  } else if (seg_is(x, s, "NM1")) {
    seg_nm1(w, s);
  } else if (seg_is(x, s, "AAA")) {
    seg_aaa(w, s);
  } else if (seg_is(x, s, "EB")) {
    seg_eb(w, s);
  } else if (seg_is(x, s, "LS")) {
    w->in_2120 = 1;
  } else if (seg_is(x, s, "LE")) {
    w->in_2120 = 0;
    w->entity = NULL;
    snprintf(w->loop, sizeof w->loop, "2110%c", w->level);
  } else if (w->in_2120 && w->entity != NULL) {
    if (seg_is(x, s, "N3") || seg_is(x, s, "N4"))
      seg_address(w, s, w->entity);
    else if (seg_is(x, s, "PER")) {
      for (unsigned i = 3; i + 1 <= 8; i += 2)
        if (ohets_x12_element_is(x, s, i, "TE")) {
          put_el(w, w->entity, "phone", s, i + 1);
          break;
        }
    }
  } else if (w->benefit != NULL) {
    if (seg_is(x, s, "DTP")) {
      json_array_append_new(array_of(w->benefit, "dates"), dtp(w, s));
    } else if (seg_is(x, s, "REF")) {
      json_t *r = json_object();
      put_el(w, r, "qualifier", s, 1);
      put_el(w, r, "value", s, 2);
      put_el(w, r, "description", s, 3);
      json_array_append_new(array_of(w->benefit, "refs"), r);
    } else if (seg_is(x, s, "MSG")) {
      size_t n;
      const char *v = ohets_x12_element(x, s, 1, &n);
      json_array_append_new(array_of(w->benefit, "messages"), str_n(v, n));
    }
  } else if (w->level == 'C' || w->level == 'D') {
    if (seg_is(x, s, "TRN")) {
      json_t *t = json_object();
      put_el(w, t, "type", s, 1);
      put_el(w, t, "reference", s, 2);
      put_el(w, t, "originator", s, 3);
      put_el(w, t, "supplemental", s, 4);
      json_array_append_new(array_of(party(w), "trace"), t);
    } else if (seg_is(x, s, "N3") || seg_is(x, s, "N4")) {
      seg_address(w, s, party(w));
    } else if (seg_is(x, s, "DMG")) {
      size_t n;
      const char *v = ohets_x12_element(x, s, 2, &n);
      if (n > 0)
        json_object_set_new(party(w), "dob", iso_date(v, n));
      put_el(w, party(w), "sex", s, 3);
    } else if (seg_is(x, s, "DTP")) {
      json_t *d = dtp(w, s);
      if (ohets_x12_element_is(x, s, 1, "442"))
        json_object_set_new(party(w), "date_of_death",
                            json_incref(json_object_get(d, "date")));
      else if (ohets_x12_element_is(x, s, 1, "307"))
        json_object_set_new(party(w), "eligibility_date",
                            json_incref(json_object_get(d, "date")));
      json_array_append_new(array_of(party(w), "dates"), d);
    }
  }
}

/* Segments of a 999 transaction set. */
static void seg_999(walk *w, size_t s) {
  const ohets_x12_doc *x = w->x;
  char b[VAL_MAX];
  if (w->ack == NULL)
    w->ack = object_of(w->doc, "ack");
  if (seg_is(x, s, "AK1")) {
    put_el(w, w->ack, "functional_id", s, 1);
    put_el(w, w->ack, "group_control", s, 2);
    put_el(w, w->ack, "version", s, 3);
  } else if (seg_is(x, s, "AK2")) {
    w->set = json_object();
    put_el(w, w->set, "type", s, 1);
    put_el(w, w->set, "control", s, 2);
    put_el(w, w->set, "version", s, 3);
    json_object_set_new(w->set, "errors", json_array());
    json_array_append_new(array_of(w->ack, "sets"), w->set);
    w->error = NULL;
  } else if (seg_is(x, s, "IK3") && w->set != NULL) {
    w->error = json_object();
    put_el(w, w->error, "segment", s, 1);
    put_int_el(w, w->error, "position", s, 2);
    put_el(w, w->error, "loop", s, 3);
    put_el(w, w->error, "code", s, 4);
    put_text(w->error, "text", ohets_query_ik3_text(el(w, s, 4, b)));
    json_object_set_new(w->error, "elements", json_array());
    json_array_append_new(array_of(w->set, "errors"), w->error);
  } else if (seg_is(x, s, "CTX") && w->error != NULL) {
    json_t *c = json_object();
    put_el(w, c, "name", s, 1);
    put_el(w, c, "segment", s, 2);
    put_int_el(w, c, "position", s, 3);
    put_el(w, c, "loop", s, 4);
    size_t n, pn;
    const char *v = ohets_x12_element(x, s, 5, &n);
    const char *p = ohets_x12_split(v, n, w->d.component, 0, &pn);
    if (pn > 0 && pn < 6) {
      char num[8];
      snprintf(num, sizeof num, "%.*s", (int)pn, p);
      json_object_set_new(c, "element", json_integer(atoi(num)));
    }
    json_array_append_new(array_of(w->error, "context"), c);
  } else if (seg_is(x, s, "IK4") && w->error != NULL) {
    json_t *e = json_object();
    size_t n;
    const char *v = ohets_x12_element(x, s, 1, &n);
    const char *keys[] = {"position", "component", "repetition"};
    for (unsigned k = 0; k < 3; k++) {
      size_t pn;
      const char *p = ohets_x12_split(v, n, w->d.component, k, &pn);
      if (pn > 0 && pn < 6) {
        char num[8];
        snprintf(num, sizeof num, "%.*s", (int)pn, p);
        json_object_set_new(e, keys[k], json_integer(atoi(num)));
      }
    }
    put_int_el(w, e, "reference", s, 2);
    put_el(w, e, "code", s, 3);
    put_text(e, "text", ohets_query_ik4_text(el(w, s, 3, b)));
    put_el(w, e, "value", s, 4);
    json_array_append_new(array_of(w->error, "elements"), e);
  } else if (seg_is(x, s, "IK5") && w->set != NULL) {
    put_el(w, w->set, "status", s, 1);
    put_text(w->set, "status_text", ohets_query_ack_status(el(w, s, 1, b)));
    json_t *codes = array_of(w->set, "set_errors");
    for (unsigned i = 2; i <= 6; i++) {
      el(w, s, i, b);
      if (b[0] == '\0')
        continue;
      json_t *c = json_object();
      put(c, "code", b);
      put_text(c, "text", ohets_query_ik5_text(b));
      json_array_append_new(codes, c);
    }
  } else if (seg_is(x, s, "AK9")) {
    put_el(w, w->ack, "status", s, 1);
    put_text(w->ack, "status_text", ohets_query_ack_status(el(w, s, 1, b)));
    put_int_el(w, w->ack, "included", s, 2);
    put_int_el(w, w->ack, "received", s, 3);
    put_int_el(w, w->ack, "accepted", s, 4);
    json_t *codes = array_of(w->ack, "group_errors");
    for (unsigned i = 5; i <= 9; i++) {
      el(w, s, i, b);
      if (b[0] == '\0')
        continue;
      json_t *c = json_object();
      put(c, "code", b);
      put_text(c, "text", ohets_query_ak9_text(b));
      json_array_append_new(codes, c);
    }
  }
}

/* ------------------------------------------------------------------ */
/* Benefits filed by category.                                         */

static int has_stc(const json_t *eb, const char *code) {
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(eb, "service_types"), i, v) {
    if (strcmp(json_string_value(v), code) == 0)
      return 1;
  }
  return 0;
}

static int is_one_of(const char *v, const char *const *list) {
  for (; v != NULL && *list; list++)
    if (strcmp(v, *list) == 0)
      return 1;
  return 0;
}

/* Copies the first date of eb (or the one with qualifier qual) as start
 * and end into item.  A single date reads "from then on", except for the
 * next-eligible date (348), which is a date of its own. */
static void copy_period(const json_t *eb, const char *qual, json_t *item) {
  size_t i;
  json_t *d, *pick = NULL;
  json_array_foreach(json_object_get(eb, "dates"), i, d) {
    if (pick == NULL || (qual != NULL && strcmp(get_s(d, "qualifier") ? get_s(d, "qualifier") : "", qual) == 0 &&
                         strcmp(get_s(pick, "qualifier") ? get_s(pick, "qualifier") : "", qual) != 0))
      pick = d;
  }
  if (pick == NULL)
    return;
  json_t *start = json_object_get(pick, "start");
  if (start == NULL)
    start = json_object_get(pick, "date");
  json_object_set(item, "start", start);
  json_t *end = json_object_get(pick, "end");
  json_object_set_new(item, "end", end ? json_incref(end) : json_null());
}

static const char *ref_value(const json_t *eb, const char *qual) {
  size_t i;
  json_t *r;
  json_array_foreach(json_object_get(eb, "refs"), i, r) {
    const char *q = get_s(r, "qualifier");
    if (q != NULL && strcmp(q, qual) == 0)
      return get_s(r, "value");
  }
  return NULL;
}

static const json_t *first_entity(const json_t *eb) {
  return json_array_get(json_object_get(eb, "entities"), 0);
}

/* An EB*R other payer: Medicare Advantage, Part D, MSP or QMB. */
static const char *file_other_payer(const json_t *eb, json_t *item) {
  static const char *const msp_types[] = {"12", "13", "14", "15", "16",
                                          "41", "42", "43", "47", NULL};
  const char *type = get_s(eb, "insurance_type");
  const char *cat;
  if (has_stc(eb, "88"))
    cat = "part_d";
  else if (type != NULL && strcmp(type, "QM") == 0)
    cat = "qmb";
  else if (is_one_of(type, msp_types))
    cat = "msp";
  else
    cat = "medicare_advantage";
  if (strcmp(cat, "qmb") != 0 && strcmp(cat, "part_d") != 0) {
    put(item, "type", type);
    put_text(item, "type_text", ohets_query_ins_type_text(type));
  }
  const char *ref = ref_value(eb, "18");
  if (ref != NULL) { /* "H1234 001": contract and plan */
    const char *sp = strchr(ref, ' ');
    json_object_set_new(item, "contract",
                        sp ? json_stringn(ref, (size_t)(sp - ref)) : json_string(ref));
    if (sp != NULL && sp[1] != '\0')
      put(item, "plan", sp + 1);
  }
  put(item, "policy", ref_value(eb, "IG"));
  const json_t *ent = first_entity(eb);
  if (ent != NULL) {
    put(item, strcmp(cat, "msp") == 0 ? "payer" : "name", get_s(ent, "name"));
    put(item, "phone", get_s(ent, "phone"));
  }
  copy_period(eb, "290", item);
  return cat;
}

static const char *file_benefit(const json_t *eb, json_t *item) {
  const char *code = get_s(eb, "code");
  const char *type = get_s(eb, "insurance_type");
  static const char *const active[] = {"1", "2", "3", "4", "5", NULL};
  static const char *const inactive[] = {"6", "7", "8", NULL};
  static const char *const costs[] = {"A", "B", "C", "K", NULL};
  int part_a = type != NULL && strcmp(type, "MA") == 0;
  int part_b = type != NULL && strcmp(type, "MB") == 0;
  if (code == NULL)
    return NULL;
  if ((is_one_of(code, active) || is_one_of(code, inactive)) && (part_a || part_b)) {
    json_object_set_new(item, "active", json_boolean(is_one_of(code, active)));
    put_text(item, "status", ohets_query_eb01_text(code));
    copy_period(eb, "307", item);
    return part_a ? "part_a" : "part_b";
  }
  if (is_one_of(code, costs) && (part_a || part_b)) {
    put(item, "part", part_a ? "A" : "B");
    put(item, "kind", strcmp(code, "C") == 0   ? "deductible"
                      : strcmp(code, "A") == 0 ? "coinsurance"
                      : strcmp(code, "B") == 0 ? "copayment"
                                               : "reserve");
    json_object_set(item, "service_types", json_object_get(eb, "service_types"));
    put(item, "period", get_s(eb, "period_text"));
    json_t *v;
    if ((v = json_object_get(eb, "amount")) != NULL)
      json_object_set(item, "amount", v);
    if ((v = json_object_get(eb, "percent")) != NULL)
      json_object_set(item, "percent", v);
    const char *qq = get_s(eb, "quantity_qualifier");
    if ((v = json_object_get(eb, "quantity")) != NULL && qq != NULL &&
        strcmp(qq, "DY") == 0)
      json_object_set(item, "days", v);
    return "cost_sharing";
  }
  if (strcmp(code, "R") == 0)
    return file_other_payer(eb, item);
  if (strcmp(code, "X") == 0 && (has_stc(eb, "45") || has_stc(eb, "42") ||
                                 has_stc(eb, "43") || has_stc(eb, "44"))) {
    copy_period(eb, "292", item);
    const json_t *ent = first_entity(eb);
    if (ent != NULL) {
      json_t *p = json_object();
      put(p, "name", get_s(ent, "name"));
      put(p, "npi", get_s(ent, "id"));
      json_object_set_new(item, "provider", p);
    }
    return has_stc(eb, "45") ? "hospice" : "home_health";
  }
  const json_t *proc = json_object_get(eb, "procedure");
  if (strcmp(code, "D") == 0 && proc != NULL) {
    put(item, "code", get_s(proc, "code"));
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(eb, "dates"), i, d) {
      const char *q = get_s(d, "qualifier");
      json_t *date = json_object_get(d, "date");
      if (q != NULL && strcmp(q, "348") == 0)
        json_object_set(item, "next_eligible",
                        date ? date : json_object_get(d, "start"));
    }
    return "preventive";
  }
  if (strcmp(code, "D") == 0) {
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(eb, "messages"), i, m) {
      if (strstr(json_string_value(m), "ESRD") != NULL) {
        copy_period(eb, "307", item);
        return "esrd";
      }
    }
  }
  return NULL;
}

static void file_benefits(json_t *doc) {
  static const char *const cats[] = {"part_a", "part_b", "cost_sharing",
                                     "medicare_advantage", "part_d", "msp",
                                     "qmb", "esrd", "hospice", "home_health",
                                     "preventive", NULL};
  for (const char *const *c = cats; *c; c++)
    json_object_set_new(doc, *c, json_array());
  size_t i;
  json_t *eb;
  json_array_foreach(json_object_get(doc, "benefits"), i, eb) {
    json_t *item = json_object();
    const char *cat = file_benefit(eb, item);
    put(eb, "category", cat ? cat : "other");
    if (cat != NULL)
      json_array_append_new(json_object_get(doc, cat), item);
    else
      json_decref(item);
  }
}

/* ------------------------------------------------------------------ */
/* Answers.                                                            */

/* HETS error record (DESIGN §3.2): fixed positions. */
static void decode_hets(json_t *doc, const char *p, size_t n) {
  json_t *h = json_object();
  char b[VAL_MAX];
  json_object_set_new(doc, "answer", json_string("HETS"));
  if (n >= 34) {
    size_t k = 4;
    while (k < 34 && p[k] == ' ')
      k++;
    if (k < 34)
      json_object_set_new(h, "trace", str_n(p + k, 34 - k));
  }
  if (n >= 42)
    json_object_set_new(h, "date", iso_date(p + 34, 8));
  if (n >= 51) {
    snprintf(b, sizeof b, "%.2s:%.2s:%.2s.%.3s", p + 42, p + 44, p + 46, p + 48);
    put(h, "time", b);
  }
  if (n >= 61) {
    json_object_set_new(h, "code", str_n(p + 53, 8));
    snprintf(b, sizeof b, "%.8s", p + 53);
    const char *text = ohets_hets_error_text(b);
    if (text != NULL) {
      put_text(h, "text", text);
    } else if (n > 64) { /* " - description" as sent */
      size_t tn = n - 64;
      while (tn > 0 && (p[64 + tn - 1] == '\r' || p[64 + tn - 1] == '\n'))
        tn--;
      json_object_set_new(h, "text", str_n(p + 64, tn));
    }
  }
  json_object_set_new(doc, "hets", h);
}

static void decode_x12(json_t *doc, const char *p, size_t n) {
  ohets_x12_doc *x = NULL;
  if (ohets_x12_read(p, n, &x) != 0) {
    json_object_set_new(doc, "answer", json_string("unknown"));
    json_object_set_new(doc, "error", json_string("the answer is not an X12 interchange"));
    return;
  }
  walk w;
  memset(&w, 0, sizeof w);
  w.x = x;
  w.d = ohets_x12_delims_of(x);
  w.doc = doc;
  char st01[4] = "";
  for (size_t s = 0; s < ohets_x12_segments(x); s++) {
    if (seg_is(x, s, "ISA"))
      seg_isa(&w, s);
    else if (seg_is(x, s, "TA1"))
      seg_ta1(&w, s);
    else if (seg_is(x, s, "ST") && st01[0] == '\0')
      ohets_x12_element_copy(x, s, 1, st01, sizeof st01);
    else if (strcmp(st01, "271") == 0)
      seg_271(&w, s);
    else if (strcmp(st01, "999") == 0)
      seg_999(&w, s);
  }
  const char *answer = st01[0]                             ? st01
                       : json_object_get(doc, "ta1") != NULL ? "TA1"
                                                             : "unknown";
  json_object_set_new(doc, "answer", json_string(answer));
  if (strcmp(answer, "271") == 0) {
    array_of(doc, "aaa");
    array_of(doc, "benefits");
    file_benefits(doc);
    json_object_set_new(doc, "found",
                        json_boolean(json_array_size(json_object_get(doc, "benefits")) > 0));
  }
  ohets_x12_doc_free(x);
}

json_t *ohets_query_decode(const char *payload, size_t len, const char *asked_mbi) {
  json_t *doc = json_object();
  if (doc == NULL)
    return NULL;
  json_object_set_new(doc, "answer", json_null());
  json_object_set_new(doc, "mbi", json_null());
  if (len >= 4 && memcmp(payload, "HETS", 4) == 0)
    decode_hets(doc, payload, len);
  else
    decode_x12(doc, payload, len);
  const char *mbi = get_s(json_object_get(doc, "subscriber"), "mbi");
  if (mbi == NULL)
    mbi = asked_mbi;
  if (mbi != NULL && mbi[0] != '\0')
    json_object_set_new(doc, "mbi", str_n(mbi, strlen(mbi)));
  return doc;
}
