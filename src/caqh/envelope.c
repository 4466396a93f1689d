/* CORE envelope fields and the request checks (envelope.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caqh/envelope.h"

static const char *const field_names[OHETS_CAQH_N_FIELDS] = {
    "PayloadType", "ProcessingMode",  "PayloadID", "TimeStamp", "SenderID",
    "ReceiverID",  "CORERuleVersion", "Payload",   "ErrorCode", "ErrorMessage",
};

const char *ohets_caqh_field_name(ohets_caqh_field f) {
  return (unsigned)f < OHETS_CAQH_N_FIELDS ? field_names[f] : "?";
}

int ohets_caqh_field_of(const char *name, size_t n) {
  for (int f = 0; f < OHETS_CAQH_N_FIELDS; f++)
    if (strlen(field_names[f]) == n && memcmp(field_names[f], name, n) == 0)
      return f;
  return -1;
}

void ohets_caqh_envelope_init(ohets_caqh_envelope *e) { memset(e, 0, sizeof *e); }

static void wipe_free(char *p, size_t n) {
  if (p == NULL)
    return;
  explicit_bzero(p, n); /* not optimised away, unlike memset before free */
  free(p);
}

void ohets_caqh_envelope_clear(ohets_caqh_envelope *e) {
  /* Payloads and passwords are PHI or secrets: wiped, not just freed. */
  for (int f = 0; f < OHETS_CAQH_N_FIELDS; f++)
    wipe_free(e->value[f], e->len[f]);
  wipe_free(e->username, e->username_len);
  wipe_free(e->password, e->password_len);
  memset(e, 0, sizeof *e);
}

static int copy_value(char **dst, size_t *dst_len, const void *p, size_t n) {
  char *c = malloc(n + 1);
  if (c == NULL)
    return -ENOMEM;
  if (n > 0)
    memcpy(c, p, n);
  c[n] = '\0';
  wipe_free(*dst, *dst_len);
  *dst = c;
  *dst_len = n;
  return 0;
}

int ohets_caqh_envelope_set(ohets_caqh_envelope *e, ohets_caqh_field f, const void *p, size_t n) {
  if ((unsigned)f >= OHETS_CAQH_N_FIELDS)
    return -EINVAL;
  return copy_value(&e->value[f], &e->len[f], p, n);
}

int ohets_caqh_envelope_set_str(ohets_caqh_envelope *e, ohets_caqh_field f, const char *s) {
  return ohets_caqh_envelope_set(e, f, s, strlen(s));
}

static int xml_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

const char *ohets_caqh_envelope_trimmed(const ohets_caqh_envelope *e, ohets_caqh_field f,
                                        size_t *n) {
  *n = 0;
  if ((unsigned)f >= OHETS_CAQH_N_FIELDS || e->value[f] == NULL)
    return NULL;
  const char *p = e->value[f];
  size_t len = e->len[f];
  while (len > 0 && xml_space(*p)) {
    p++;
    len--;
  }
  while (len > 0 && xml_space(p[len - 1]))
    len--;
  *n = len;
  return p;
}

int ohets_caqh_envelope_has(const ohets_caqh_envelope *e, ohets_caqh_field f) {
  size_t n;
  return ohets_caqh_envelope_trimmed(e, f, &n) != NULL && n > 0;
}

/* ------------------------------------------------------------ checks */

static int is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* RFC 4122's text form: 8-4-4-4-12 hex digits. */
static int uuid_ok(const char *p, size_t n) {
  if (n != 36)
    return 0;
  for (size_t i = 0; i < n; i++) {
    int dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? p[i] != '-' : !is_hex(p[i]))
      return 0;
  }
  return 1;
}

static int digits(const char *p, size_t n, unsigned *out) {
  unsigned v = 0;
  for (size_t i = 0; i < n; i++) {
    if (!is_digit(p[i]))
      return 0;
    v = v * 10 + (unsigned)(p[i] - '0');
  }
  *out = v;
  return 1;
}

/* xs:dateTime: YYYY-MM-DDThh:mm:ss[.f+][Z|(+|-)hh:mm], four-digit years. */
static int datetime_ok(const char *p, size_t n) {
  unsigned y, mo, d, h, mi, s;
  if (n < 19 || p[4] != '-' || p[7] != '-' || p[10] != 'T' || p[13] != ':' || p[16] != ':')
    return 0;
  if (!digits(p, 4, &y) || !digits(p + 5, 2, &mo) || !digits(p + 8, 2, &d) ||
      !digits(p + 11, 2, &h) || !digits(p + 14, 2, &mi) || !digits(p + 17, 2, &s))
    return 0;
  /* Any year from 0001 (ohets_date_valid's floor of 1800 is X12's, not
   * XML Schema's); Gregorian leap years. */
  static const unsigned mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (y == 0 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap) ||
      h > 24 || mi > 59 || s > 59 || (h == 24 && (mi != 0 || s != 0)))
    return 0;
  size_t i = 19;
  if (i < n && p[i] == '.') {
    size_t start = ++i;
    while (i < n && is_digit(p[i]))
      i++;
    if (i == start)
      return 0;
    /* 24:00:00 is the end of the day: no later fraction of it. */
    for (size_t k = start; h == 24 && k < i; k++)
      if (p[k] != '0')
        return 0;
  }
  if (i == n)
    return 1;
  if (p[i] == 'Z')
    return i + 1 == n;
  unsigned th, tm;
  if ((p[i] != '+' && p[i] != '-') || n - i != 6 || p[i + 3] != ':' ||
      !digits(p + i + 1, 2, &th) || !digits(p + i + 4, 2, &tm))
    return 0;
  return th < 14 || (th == 14 && tm == 0) ? tm <= 59 : 0;
}

static int equals(const char *p, size_t n, const char *want) {
  return strlen(want) == n && memcmp(p, want, n) == 0;
}

static int fail(ohets_caqh_verdict *v, int status, const char *code, const char *fmt,
                const char *field) {
  v->http_status = status;
  snprintf(v->error_code, sizeof v->error_code, "%s", code);
  snprintf(v->error_message, sizeof v->error_message, fmt, field);
  return 0;
}

int ohets_caqh_check_request(const ohets_caqh_envelope *e, const char *submitter,
                             ohets_caqh_verdict *v) {
  for (int f = 0; f < OHETS_CAQH_N_REQUEST_FIELDS; f++) {
    const char *name = field_names[f];
    size_t n;
    const char *p = ohets_caqh_envelope_trimmed(e, (ohets_caqh_field)f, &n);
    char code[40];
    if (p == NULL || n == 0) {
      snprintf(code, sizeof code, "%sRequired", name);
      return fail(v, 200, code, "%s is missing or empty", name);
    }
    snprintf(code, sizeof code, "%sIllegal", name);
    switch ((ohets_caqh_field)f) {
    case OHETS_CAQH_PAYLOAD_TYPE:
      if (!equals(p, n, OHETS_CAQH_PT_270))
        return fail(v, 200, code, "%s must be " OHETS_CAQH_PT_270, name);
      break;
    case OHETS_CAQH_PROCESSING_MODE:
      if (!equals(p, n, OHETS_CAQH_REALTIME))
        return fail(v, 200, code, "%s must be RealTime (batch is not offered)", name);
      break;
    case OHETS_CAQH_PAYLOAD_ID:
      if (!uuid_ok(p, n))
        return fail(v, 200, code, "%s must be an RFC 4122 UUID", name);
      break;
    case OHETS_CAQH_TIMESTAMP:
      if (!datetime_ok(p, n))
        return fail(v, 200, code, "%s must be an xs:dateTime such as 2026-11-29T10:20:34Z",
                    name);
      break;
    case OHETS_CAQH_SENDER_ID:
      if (submitter != NULL && !equals(p, n, submitter))
        return fail(v, 403, "UnAuthorized", "%s is not the authenticated submitter", name);
      break;
    case OHETS_CAQH_RECEIVER_ID:
      if (!equals(p, n, OHETS_CAQH_RECEIVER))
        return fail(v, 200, code, "%s must be " OHETS_CAQH_RECEIVER, name);
      break;
    case OHETS_CAQH_CORE_RULE_VERSION:
      if (!equals(p, n, OHETS_CAQH_RULE_VERSION))
        return fail(v, 200, "VersionMismatch", "%s must be " OHETS_CAQH_RULE_VERSION, name);
      break;
    default:
      break;
    }
  }
  v->http_status = 200;
  snprintf(v->error_code, sizeof v->error_code, "Success");
  snprintf(v->error_message, sizeof v->error_message, "None");
  return 1;
}
