/* The store's one interface over its two backends: ohets_store_open picks
 * SQLite (a file path) or PostgreSQL (a libpq URI) by the path's scheme,
 * and every other call goes through the handle's ops table.  Also here:
 * what both backends share (the MBI key, the stats flags, the clock),
 * masking a URI's password, and copying a whole store from one handle to
 * another. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* strncasecmp */
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "store/store.h"

/* Benefit flags cached per row for stats (both backends' flags column). */
enum {
  FLAG_PART_A = 1 << 0,
  FLAG_PART_B = 1 << 1,
  FLAG_MA = 1 << 2,
  FLAG_PART_D = 1 << 3,
  FLAG_MSP = 1 << 4,
  FLAG_HOSPICE = 1 << 5,
  FLAG_HOME_HEALTH = 1 << 6,
  FLAG_ESRD = 1 << 7,
  FLAG_QMB = 1 << 8,
  FLAG_DECEASED = 1 << 9
};

int ohets__record_flags(const ohets_beneficiary *r) {
  return (r->n_part_a ? FLAG_PART_A : 0) | (r->n_part_b ? FLAG_PART_B : 0) |
         (r->n_ma ? FLAG_MA : 0) | (r->n_part_d ? FLAG_PART_D : 0) |
         (r->n_msp ? FLAG_MSP : 0) | (r->n_hospice ? FLAG_HOSPICE : 0) |
         (r->n_home_health ? FLAG_HOME_HEALTH : 0) | (r->n_esrd ? FLAG_ESRD : 0) |
         (r->n_qmb ? FLAG_QMB : 0) | (r->dod.year != 0 ? FLAG_DECEASED : 0);
}

int ohets__mbi_key(const char *mbi, char key[12]) {
  size_t n = mbi ? strnlen(mbi, 12) : 0;
  if (n != 11)
    return 0;
  for (size_t i = 0; i < 11; i++)
    key[i] = (mbi[i] >= 'a' && mbi[i] <= 'z') ? (char)(mbi[i] - 32) : mbi[i];
  key[11] = '\0';
  return 1;
}

int64_t ohets__coarse_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------- dispatch */

int ohets_store_is_postgres(const char *path) {
  return path != NULL &&
         (strncmp(path, "postgresql://", 13) == 0 || strncmp(path, "postgres://", 11) == 0);
}

int ohets_store_open(ohets_store **out, const char *path, int flags, char *err,
                     size_t errsz) {
  if (ohets_store_is_postgres(path))
    return ohets__pg_open(out, path, flags, err, errsz);
  return ohets__sqlite_open(out, path, flags, err, errsz);
}

void ohets_store_close(ohets_store *s) {
  if (s != NULL)
    s->ops->close(s);
}

const char *ohets_store_kind(const ohets_store *s) { return s->ops->kind; }

int ohets_store_user_version(ohets_store *s) { return s->ops->user_version(s); }

ohets_lookup_status ohets_store_beneficiary(void *store, const char *mbi,
                                            ohets_beneficiary *out) {
  ohets_store *s = store;
  if (s == NULL)
    return OHETS_LOOKUP_UNAVAILABLE;
  return s->ops->beneficiary(s, mbi, out);
}

int ohets_store_amounts(void *store, int year, ohets_program_amounts *out) {
  ohets_store *s = store;
  if (s == NULL)
    return -EIO;
  return s->ops->amounts(s, year, out);
}

void ohets_store_release(ohets_store *s) {
  if (s != NULL)
    s->ops->release(s);
}

/* The backend's own callbacks: no dispatch on the core's lookups. */
void ohets_store_lookup_iface(ohets_store *s, ohets_lookup *out) {
  out->beneficiary = s->ops->beneficiary;
  out->amounts = s->ops->amounts;
  out->ctx = s;
}

ohets_lookup_status ohets_store_lookup_json(ohets_store *s, const char *mbi,
                                            json_t **out) {
  ohets_beneficiary *rec = malloc(sizeof *rec);
  ohets_retired_mbis retired;
  ohets_lookup_status st = OHETS_LOOKUP_UNAVAILABLE;

  *out = NULL;
  if (rec == NULL)
    return st;
  st = s->ops->beneficiary(s, mbi, rec);
  if (st == OHETS_LOOKUP_FOUND) {
    if (s->ops->retired_of(s, rec->mbi, &retired) != 0 ||
        (*out = ohets_record_to_json(rec, &retired)) == NULL)
      st = OHETS_LOOKUP_UNAVAILABLE;
  }
  free(rec);
  return st;
}

int ohets_store_each(ohets_store *s, const char *after, unsigned long limit,
                     int (*fn)(void *ctx, const ohets_beneficiary *rec), void *ctx) {
  return s->ops->each(s, after, limit, fn, ctx);
}

int ohets_store_stats_get(ohets_store *s, ohets_store_stats *out, char *err,
                          size_t errsz) {
  return s->ops->stats(s, out, err, errsz);
}

int ohets__store_begin(ohets_store *s, char *err, size_t errsz) {
  return s->ops->begin(s, err, errsz);
}

int ohets__store_commit_at(ohets_store *s, unsigned long *at, char *err, size_t errsz) {
  unsigned long local;
  return s->ops->commit(s, at ? at : &local, err, errsz);
}

int ohets__store_commit(ohets_store *s, char *err, size_t errsz) {
  return ohets__store_commit_at(s, NULL, err, errsz);
}

int ohets__store_check(ohets_store *s, unsigned long *at, char *err, size_t errsz) {
  return s->ops->check(s, at, err, errsz);
}

void ohets__store_rollback(ohets_store *s) { s->ops->rollback(s); }

int ohets__store_put(ohets_store *s, const ohets_beneficiary *rec,
                     const ohets_retired_mbis *retired, char *err, size_t errsz) {
  return s->ops->put(s, rec, retired, err, errsz);
}

int ohets__store_put_amounts(ohets_store *s, const ohets_program_amounts *a, char *err,
                             size_t errsz) {
  return s->ops->put_amounts(s, a, err, errsz);
}

int ohets__store_latest_year(ohets_store *s) { return s->ops->latest_year(s); }

/* --------------------------------------------------------------- redact */

#define MASK "***"

/* Appends n bytes to out at *o, never past outsz - 1. */
static void put_bytes(char *out, size_t outsz, size_t *o, const char *p, size_t n) {
  while (n-- > 0 && *o + 1 < outsz)
    out[(*o)++] = *p++;
}

/* Where a URI's userinfo password is: [*from, *to) of path, or 0.  libpq
 * ends the userinfo at the first '@' before the first '/'; the last such
 * '@' is taken (a password holding an unencoded '@' is masked whole), and
 * with no '@' before a '/' the first '@' anywhere (a password holding an
 * unencoded '/' or '?', which libpq would misread, is masked all the
 * same). */
static int userinfo_password(const char *path, size_t *from, size_t *to) {
  if (!ohets_store_is_postgres(path))
    return 0;
  const char *a = strstr(path, "://") + 3;
  const char *slash = a + strcspn(a, "/");
  const char *at = NULL;
  for (const char *p = a; p < slash; p++)
    if (*p == '@')
      at = p;
  if (at == NULL)
    at = strchr(a, '@');
  if (at == NULL)
    return 0;
  const char *colon = memchr(a, ':', (size_t)(at - a));
  if (colon == NULL)
    return 0;
  *from = (size_t)(colon + 1 - path);
  *to = (size_t)(at - path);
  return 1;
}

/* Length of a password=VALUE's value starting at v: up to '&' in a URI,
 * else up to a blank, or a single-quoted value with backslash escapes. */
static size_t value_len(const char *v, int uri) {
  size_t i = 0;
  if (uri) {
    while (v[i] != '\0' && v[i] != '&' && v[i] != '#')
      i++;
    return i;
  }
  if (v[0] == '\'') {
    for (i = 1; v[i] != '\0' && v[i] != '\''; i++)
      if (v[i] == '\\' && v[i + 1] != '\0')
        i++;
    return v[i] == '\'' ? i + 1 : i;
  }
  while (v[i] != '\0' && v[i] != ' ' && v[i] != '\t' && v[i] != '\n')
    i++;
  return i;
}

int ohets__secrets(const char *path, ohets__span *spans, int max) {
  size_t from = 0, to = 0;
  int n = 0;
  if (path == NULL)
    return 0;
  int uri = ohets_store_is_postgres(path);
  int userinfo = userinfo_password(path, &from, &to);
  for (size_t i = 0; path[i] != '\0';) {
    if (userinfo && i == from) {
      if (n < max)
        spans[n] = (ohets__span){from, to - from};
      n++;
      userinfo = 0; /* an empty password is a span of 0 bytes */
      i = to;
      continue;
    }
    /* Any key ending in "password" (password, sslpassword), any case. */
    if (strncasecmp(path + i, "password=", 9) == 0) {
      i += 9;
      size_t len = value_len(path + i, uri);
      if (len > 0) {
        if (n < max)
          spans[n] = (ohets__span){i, len};
        n++;
      }
      i += len;
      continue;
    }
    i++;
  }
  return n;
}

void ohets_store_redact(const char *path, char *out, size_t outsz) {
  ohets__span spans[16];
  size_t o = 0, i = 0;
  if (outsz == 0)
    return;
  if (path == NULL)
    path = "";
  int n = ohets__secrets(path, spans, 16);
  if (n > 16) { /* more than anyone writes: show none of it */
    put_bytes(out, outsz, &o, MASK, strlen(MASK));
    out[o] = '\0';
    return;
  }
  for (int k = 0; k < n; k++) {
    put_bytes(out, outsz, &o, path + i, spans[k].at - i);
    put_bytes(out, outsz, &o, MASK, strlen(MASK));
    i = spans[k].at + spans[k].len;
  }
  put_bytes(out, outsz, &o, path + i, strlen(path + i));
  out[o] = '\0';
}

/* ----------------------------------------------------------------- copy */

typedef struct copy_ctx {
  ohets_store *to;
  ohets_copy_counts *counts;
  char *err;
  size_t errsz;
  int put_failed; /* the error is a put's (err says why) */
} copy_ctx;

static int copy_year(void *arg, const ohets_program_amounts *a) {
  copy_ctx *c = arg;
  int rc = ohets__store_put_amounts(c->to, a, c->err, c->errsz);
  if (rc != 0) {
    c->put_failed = 1;
    return rc;
  }
  c->counts->program_years++;
  return 0;
}

static int copy_record(void *arg, const ohets_beneficiary *b, const ohets_retired_mbis *r) {
  copy_ctx *c = arg;
  char msg[200] = "";
  int rc = ohets__store_put(c->to, b, r, msg, sizeof msg);
  if (rc != 0) {
    c->put_failed = 1;
    snprintf(c->err, c->errsz, "beneficiary %lu of the source (in MBI order): %s%s",
             c->counts->beneficiaries + 1, msg, rc == -EEXIST ? " in the target" : "");
    return rc;
  }
  c->counts->beneficiaries++;
  c->counts->retired_mbis += r->n;
  return 0;
}

int ohets_store_copy(ohets_store *from, ohets_store *to, ohets_copy_counts *counts,
                     char *err, size_t errsz) {
  ohets_copy_counts local;
  char msg[200] = "";
  unsigned long at = 0;
  if (counts == NULL)
    counts = &local;
  memset(counts, 0, sizeof *counts);
  if (err != NULL && errsz > 0)
    err[0] = '\0';
  if (from == to) {
    snprintf(err, errsz, "the source and the target are the same store");
    return -EINVAL;
  }
  int rc = ohets__store_begin(to, err, errsz);
  if (rc != 0)
    return rc;
  copy_ctx c = {to, counts, err, errsz, 0};
  rc = from->ops->dump(from, copy_year, copy_record, &c, err, errsz);
  if (rc == 0) {
    rc = ohets__store_commit_at(to, &at, msg, sizeof msg);
    if (rc == -EEXIST && at >= counts->program_years)
      snprintf(err, errsz, "beneficiary %lu of the source (in MBI order): %s in the target",
               at - counts->program_years + 1, msg);
    else if (rc != 0)
      snprintf(err, errsz, "%s", msg);
  } else if (!c.put_failed && err != NULL && errsz > 0 && err[0] == '\0') {
    snprintf(err, errsz, "cannot read the source store");
  }
  if (rc != 0) {
    ohets__store_rollback(to);
    memset(counts, 0, sizeof *counts);
  }
  return rc;
}
