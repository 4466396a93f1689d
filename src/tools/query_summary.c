/* The human summary, printed from the decoded document so the summary and
 * --json can never disagree. */
#include <stdio.h>
#include <string.h>

#include "tools/query.h"

static const char *s_of(const json_t *o, const char *key) {
  const char *v = json_string_value(json_object_get(o, key));
  return v ? v : "";
}

static int has(const json_t *o, const char *key) {
  return s_of(o, key)[0] != '\0';
}

/* " since S", " S to E", or nothing. */
static void print_period(FILE *f, const json_t *item) {
  const char *start = s_of(item, "start"), *end = s_of(item, "end");
  if (start[0] && end[0])
    fprintf(f, " %s to %s", start, end);
  else if (start[0])
    fprintf(f, " since %s", start);
  else if (end[0])
    fprintf(f, " until %s", end);
}

static void print_money(FILE *f, const json_t *v) {
  fprintf(f, "$%.2f", json_number_value(v));
}

static const char *loop_words(const char *loop) {
  if (strncmp(loop, "2000A", 5) == 0 || strncmp(loop, "2100A", 5) == 0)
    return "information source (CMS)";
  if (strncmp(loop, "2000B", 5) == 0 || strncmp(loop, "2100B", 5) == 0)
    return "provider";
  if (strncmp(loop, "2110", 4) == 0)
    return "benefit inquiry";
  if (strncmp(loop, "2000D", 5) == 0 || strncmp(loop, "2100D", 5) == 0)
    return "dependent";
  return "beneficiary";
}

static void print_aaa(FILE *f, const json_t *doc) {
  const json_t *list = json_object_get(doc, "aaa");
  if (json_array_size(list) == 0)
    return;
  fprintf(f, "Request rejected (AAA):\n");
  size_t i;
  json_t *a;
  json_array_foreach(list, i, a) {
    const char *reason = s_of(a, "reason");
    fprintf(f, "  %s %s: reason %s, %s\n", s_of(a, "loop"),
            loop_words(s_of(a, "loop")), s_of(a, "code"),
            reason[0] ? reason : "(code not known to hets-query)");
    if (has(a, "hint"))
      fprintf(f, "    what to do: %s\n", s_of(a, "hint"));
    if (has(a, "action"))
      fprintf(f, "    follow-up %s: %s\n", s_of(a, "action"),
              has(a, "action_text") ? s_of(a, "action_text") : "(code not known)");
  }
}

static void print_person(FILE *f, const char *label, const json_t *p) {
  if (p == NULL)
    return;
  fprintf(f, "%s: %s%s%s%s%s%s%s", label, s_of(p, "first"),
          has(p, "middle") ? " " : "", s_of(p, "middle"),
          has(p, "first") ? " " : "", s_of(p, "last"),
          has(p, "suffix") ? " " : "", s_of(p, "suffix"));
  if (has(p, "mbi"))
    fprintf(f, ", MBI %s", s_of(p, "mbi"));
  else if (has(p, "id"))
    fprintf(f, ", ID %s", s_of(p, "id"));
  fputc('\n', f);
  if (has(p, "dob") || has(p, "sex")) {
    fprintf(f, "  born %s", has(p, "dob") ? s_of(p, "dob") : "(not returned)");
    if (has(p, "sex"))
      fprintf(f, ", sex %s", s_of(p, "sex"));
    fputc('\n', f);
  }
  const json_t *a = json_object_get(p, "address");
  if (a != NULL)
    fprintf(f, "  address: %s%s%s, %s %s %s\n", s_of(a, "line1"),
            has(a, "line2") ? ", " : "", s_of(a, "line2"), s_of(a, "city"),
            s_of(a, "state"), s_of(a, "zip"));
  if (has(p, "date_of_death"))
    fprintf(f, "  date of death: %s\n", s_of(p, "date_of_death"));
  size_t i;
  json_t *t;
  json_array_foreach(json_object_get(p, "trace"), i, t) {
    fprintf(f, "  %s trace: %s\n",
            strcmp(s_of(t, "type"), "1") == 0 ? "CMS" : "your",
            s_of(t, "reference"));
  }
}

static void print_entitlement(FILE *f, const char *label, const json_t *list) {
  if (json_array_size(list) == 0) {
    fprintf(f, "%s: no entitlement returned for the dates asked\n", label);
    return;
  }
  size_t i;
  json_t *e;
  json_array_foreach(list, i, e) {
    fprintf(f, "%s: %s", label,
            json_is_true(json_object_get(e, "active")) ? "active" : "inactive");
    print_period(f, e);
    fputc('\n', f);
  }
}

/* Service types other than the general 30, in words. */
static void print_services(FILE *f, const json_t *item) {
  size_t i, shown = 0;
  json_t *v;
  json_array_foreach(json_object_get(item, "service_types"), i, v) {
    const char *c = json_string_value(v);
    if (strcmp(c, "30") == 0)
      continue;
    const char *t = ohets_query_stc_text(c);
    fprintf(f, "%s%s", shown++ ? ", " : " for ", t ? t : c);
  }
}

static void print_costs(FILE *f, const json_t *list) {
  if (json_array_size(list) == 0)
    return;
  fprintf(f, "Deductibles and cost sharing:\n");
  size_t i;
  json_t *c;
  json_array_foreach(list, i, c) {
    const char *period = s_of(c, "period");
    int remaining = strstr(period, "remaining") != NULL;
    json_t *days = json_object_get(c, "days");
    fprintf(f, "  Part %s %s", s_of(c, "part"), s_of(c, "kind"));
    print_services(f, c);
    if (remaining && days == NULL)
      fprintf(f, " %s", period);
    fputs(":", f);
    if (json_object_get(c, "amount") != NULL) {
      fputc(' ', f);
      print_money(f, json_object_get(c, "amount"));
    }
    if (json_object_get(c, "percent") != NULL)
      fprintf(f, " %g%%", json_number_value(json_object_get(c, "percent")) * 100.0);
    if (days != NULL)
      fprintf(f, "%s %.0f days%s%s", json_object_get(c, "amount") ? "," : "",
              json_number_value(days), remaining ? " " : "",
              remaining ? period : "");
    if (!remaining && period[0])
      fprintf(f, " per %s", period);
    fputc('\n', f);
  }
}

static void print_plans(FILE *f, const char *label, const json_t *list,
                        int is_msp) {
  if (json_array_size(list) == 0) {
    fprintf(f, "%s: none for the dates asked\n", label);
    return;
  }
  size_t i;
  json_t *p;
  json_array_foreach(list, i, p) {
    fprintf(f, "%s: %s", label,
            has(p, is_msp ? "payer" : "name") ? s_of(p, is_msp ? "payer" : "name")
                                              : "(no name returned)");
    if (is_msp)
      fprintf(f, " pays first");
    if (has(p, "type"))
      fprintf(f, " (%s%s%s%s)", is_msp ? "type " : "", s_of(p, "type"),
              has(p, "type_text") ? ": " : "", s_of(p, "type_text"));
    if (has(p, "contract"))
      fprintf(f, ", contract %s", s_of(p, "contract"));
    if (has(p, "plan"))
      fprintf(f, " plan %s", s_of(p, "plan"));
    if (has(p, "policy"))
      fprintf(f, ", policy %s", s_of(p, "policy"));
    fputc(',', f);
    print_period(f, p);
    if (has(p, "phone"))
      fprintf(f, ", phone %s", s_of(p, "phone"));
    fputc('\n', f);
  }
}

static void print_periods(FILE *f, const char *label, const json_t *list) {
  if (json_array_size(list) == 0) {
    fprintf(f, "%s: none for the dates asked\n", label);
    return;
  }
  size_t i;
  json_t *p;
  json_array_foreach(list, i, p) {
    fprintf(f, "%s:", label);
    const json_t *prov = json_object_get(p, "provider");
    if (prov != NULL) {
      fprintf(f, " %s", has(prov, "name") ? s_of(prov, "name") : "(provider not named)");
      if (has(prov, "npi"))
        fprintf(f, " (NPI %s)", s_of(prov, "npi"));
      fputc(',', f);
    }
    print_period(f, p);
    fputc('\n', f);
  }
}

static void print_other(FILE *f, const json_t *doc) {
  size_t i;
  json_t *eb;
  json_array_foreach(json_object_get(doc, "benefits"), i, eb) {
    if (strcmp(s_of(eb, "category"), "other") != 0)
      continue;
    fprintf(f, "Other benefit: %s (EB01 %s)",
            has(eb, "code_text") ? s_of(eb, "code_text") : "?", s_of(eb, "code"));
    print_services(f, eb);
    if (has(eb, "insurance_type"))
      fprintf(f, ", %s", has(eb, "insurance_type_text")
                             ? s_of(eb, "insurance_type_text")
                             : s_of(eb, "insurance_type"));
    size_t k;
    json_t *m;
    json_array_foreach(json_object_get(eb, "messages"), k, m)
        fprintf(f, ", \"%s\"", json_string_value(m));
    fputc('\n', f);
  }
}

static void summary_271(FILE *f, const json_t *doc) {
  const json_t *ic = json_object_get(doc, "interchange");
  int found = json_is_true(json_object_get(doc, "found"));
  int rejected = json_array_size(json_object_get(doc, "aaa")) > 0;
  fprintf(f, "271 eligibility answer from %s (interchange %s, %s %s)%s\n",
          has(ic, "sender") ? s_of(ic, "sender") : "?", s_of(ic, "control"),
          s_of(ic, "date"), s_of(ic, "time"),
          rejected ? ": the inquiry was rejected" : found ? "" : ": no benefits returned");
  print_person(f, found ? "Beneficiary" : "Beneficiary (as sent)",
               json_object_get(doc, "subscriber"));
  print_person(f, "Dependent", json_object_get(doc, "dependent"));
  const json_t *prov = json_object_get(doc, "provider");
  if (prov != NULL) {
    fprintf(f, "Provider: %s%s%s%s", s_of(prov, "name"), s_of(prov, "first"),
            has(prov, "first") ? " " : "", s_of(prov, "last"));
    if (has(prov, "npi"))
      fprintf(f, ", NPI %s", s_of(prov, "npi"));
    fputc('\n', f);
  }
  print_aaa(f, doc);
  if (!found)
    return;
  print_entitlement(f, "Part A", json_object_get(doc, "part_a"));
  print_entitlement(f, "Part B", json_object_get(doc, "part_b"));
  print_costs(f, json_object_get(doc, "cost_sharing"));
  print_plans(f, "Medicare Advantage", json_object_get(doc, "medicare_advantage"), 0);
  print_plans(f, "Part D", json_object_get(doc, "part_d"), 0);
  print_plans(f, "MSP", json_object_get(doc, "msp"), 1);
  print_periods(f, "QMB", json_object_get(doc, "qmb"));
  print_periods(f, "ESRD", json_object_get(doc, "esrd"));
  print_periods(f, "Hospice", json_object_get(doc, "hospice"));
  print_periods(f, "Home health", json_object_get(doc, "home_health"));
  const json_t *prev = json_object_get(doc, "preventive");
  if (json_array_size(prev) == 0) {
    fprintf(f, "Preventive services: none returned\n");
  } else {
    size_t i;
    json_t *p;
    json_array_foreach(prev, i, p) {
      fprintf(f, "Preventive service %s: next eligible %s\n", s_of(p, "code"),
              has(p, "next_eligible") ? s_of(p, "next_eligible") : "(no date)");
    }
  }
  print_other(f, doc);
}

static void summary_999(FILE *f, const json_t *doc) {
  const json_t *ack = json_object_get(doc, "ack");
  fprintf(f, "999 acknowledgment: %s (AK901 %s)\n",
          has(ack, "status_text") ? s_of(ack, "status_text") : "?",
          s_of(ack, "status"));
  size_t i;
  json_t *set;
  json_array_foreach(json_object_get(ack, "sets"), i, set) {
    fprintf(f, "  transaction set %s control %s: %s\n", s_of(set, "type"),
            s_of(set, "control"),
            has(set, "status_text") ? s_of(set, "status_text") : s_of(set, "status"));
    size_t k;
    json_t *e;
    json_array_foreach(json_object_get(set, "errors"), k, e) {
      json_int_t pos = json_integer_value(json_object_get(e, "position"));
      fprintf(f, "    segment %s (position %lld%s%s): %s (IK304 %s)\n",
              s_of(e, "segment"), (long long)pos,
              has(e, "loop") ? ", loop " : "", s_of(e, "loop"),
              has(e, "text") ? s_of(e, "text") : "?", s_of(e, "code"));
      size_t j;
      json_t *x;
      json_array_foreach(json_object_get(e, "elements"), j, x) {
        fprintf(f, "      element %s%02lld", s_of(e, "segment"),
                (long long)json_integer_value(json_object_get(x, "position")));
        if (json_object_get(x, "component") != NULL)
          fprintf(f, "-%lld", (long long)json_integer_value(json_object_get(x, "component")));
        if (json_object_get(x, "reference") != NULL)
          fprintf(f, " (data element %lld)",
                  (long long)json_integer_value(json_object_get(x, "reference")));
        fprintf(f, ": %s (IK403 %s)", has(x, "text") ? s_of(x, "text") : "?",
                s_of(x, "code"));
        if (has(x, "value"))
          fprintf(f, ", value \"%s\"", s_of(x, "value"));
        fputc('\n', f);
      }
      json_array_foreach(json_object_get(e, "context"), j, x) {
        fprintf(f, "      context %s", s_of(x, "name"));
        if (has(x, "segment"))
          fprintf(f, ": segment %s (position %lld)", s_of(x, "segment"),
                  (long long)json_integer_value(json_object_get(x, "position")));
        fputc('\n', f);
      }
    }
    json_array_foreach(json_object_get(set, "set_errors"), k, e) {
      fprintf(f, "    set error %s: %s\n", s_of(e, "code"),
              has(e, "text") ? s_of(e, "text") : "?");
    }
  }
  json_array_foreach(json_object_get(ack, "group_errors"), i, set) {
    fprintf(f, "  group error %s: %s\n", s_of(set, "code"),
            has(set, "text") ? s_of(set, "text") : "?");
  }
  fprintf(f, "  sets: %lld included, %lld received, %lld accepted\n",
          (long long)json_integer_value(json_object_get(ack, "included")),
          (long long)json_integer_value(json_object_get(ack, "received")),
          (long long)json_integer_value(json_object_get(ack, "accepted")));
}

static void summary_ta1(FILE *f, const json_t *doc) {
  size_t i;
  json_t *t;
  json_array_foreach(json_object_get(doc, "ta1"), i, t) {
    fprintf(f, "TA1 interchange acknowledgment for interchange %s: %s (%s), TA105 %s: %s\n",
            s_of(t, "control"),
            has(t, "ack_text") ? s_of(t, "ack_text") : "?", s_of(t, "ack"),
            s_of(t, "code"), has(t, "text") ? s_of(t, "text") : "?");
  }
}

void ohets_query_summary(FILE *f, const json_t *doc) {
  const char *answer = s_of(doc, "answer");
  if (strcmp(answer, "HETS") == 0) {
    const json_t *h = json_object_get(doc, "hets");
    fprintf(f, "HETS error %s: %s\n", s_of(h, "code"),
            has(h, "text") ? s_of(h, "text") : "(code not known)");
    fprintf(f, "  trace %s, %s %s\n", has(h, "trace") ? s_of(h, "trace") : "(none)",
            s_of(h, "date"), s_of(h, "time"));
    return;
  }
  if (strcmp(answer, "271") == 0 || strcmp(answer, "999") == 0)
    summary_ta1(f, doc); /* an accepting TA1 may precede the group */
  if (strcmp(answer, "271") == 0)
    summary_271(f, doc);
  else if (strcmp(answer, "999") == 0)
    summary_999(f, doc);
  else if (strcmp(answer, "TA1") == 0)
    summary_ta1(f, doc);
  else
    fprintf(f, "Answer not understood: %s\n",
            has(doc, "error") ? s_of(doc, "error") : "no ST or TA1 segment");
}
