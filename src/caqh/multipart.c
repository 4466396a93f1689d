/* multipart/form-data reader and writer (multipart.h).
 *
 * RFC 2046 §5.1.1: body := preamble "--" boundary padding CRLF part
 * (CRLF "--" boundary padding CRLF part)* CRLF "--" boundary "--" epilogue.
 * A part ends only at an exact CRLF "--" boundary followed by "--" or by
 * padding and a line end, so payload bytes that merely resemble a
 * boundary stay in the part.  Part header lines may end in a bare LF (some
 * clients); the delimiter's CRLF may not. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caqh/multipart.h"

#define PARTS_MAX 32
#define NAME_KEPT 64 /* longer part names are none of ours */

static int ascii_lower(int c) { return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c; }

static int same_ci(const char *a, size_t n, const char *b) {
  if (strlen(b) != n)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (ascii_lower((unsigned char)a[i]) != ascii_lower((unsigned char)b[i]))
      return 0;
  return 1;
}

static int is_space(int c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* RFC 2046's bchars, without the space (allowed inside, not last). */
static int is_bchar(int c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         strchr("'()+_,-./:=?", c) != NULL;
}

static int boundary_ok(const char *b, size_t n) {
  if (n == 0 || n > OHETS_CAQH_BOUNDARY_MAX || b[n - 1] == ' ')
    return 0;
  for (size_t i = 0; i < n; i++)
    if (b[i] == '\0' || (!is_bchar((unsigned char)b[i]) && b[i] != ' '))
      return 0;
  return 1;
}

/* One `name=value` parameter of a header value, from *pos: the name's
 * span and the value unquoted into out (at most outsz - 1 bytes; longer
 * sets *too_long).  Returns 1 for a parameter, 0 at the end, -1 when
 * malformed (unterminated quote, no '='). */
static int next_param(const char *s, size_t n, size_t *pos, const char **name, size_t *name_len,
                      char *out, size_t outsz, size_t *out_len, int *too_long) {
  size_t i = *pos;
  /* Past the media type or the previous parameter, to after its ';'. */
  while (i < n && s[i] != ';') {
    if (s[i] == '"')
      return -1; /* a quote outside a parameter value */
    i++;
  }
  if (i == n)
    return 0;
  i++;
  while (i < n && is_space((unsigned char)s[i]))
    i++;
  if (i == n)
    return 0; /* a trailing ';' */
  *name = s + i;
  while (i < n && s[i] != '=' && s[i] != ';' && !is_space((unsigned char)s[i]))
    i++;
  *name_len = (size_t)(s + i - *name);
  while (i < n && is_space((unsigned char)s[i]))
    i++;
  if (i == n || s[i] != '=' || *name_len == 0)
    return -1;
  i++;
  while (i < n && is_space((unsigned char)s[i]))
    i++;
  size_t len = 0;
  *too_long = 0;
  if (i < n && s[i] == '"') {
    for (i++; i < n && s[i] != '"'; i++) {
      if (s[i] == '\\' && i + 1 < n)
        i++;
      if (len + 1 < outsz)
        out[len++] = s[i];
      else
        *too_long = 1;
    }
    if (i == n)
      return -1;
    i++; /* the closing quote */
    while (i < n && is_space((unsigned char)s[i]))
      i++;
    if (i < n && s[i] != ';')
      return -1;
  } else {
    for (; i < n && s[i] != ';' && !is_space((unsigned char)s[i]); i++) {
      if (len + 1 < outsz)
        out[len++] = s[i];
      else
        *too_long = 1;
    }
  }
  out[len] = '\0';
  *out_len = len;
  *pos = i;
  return 1;
}

/* The media type of a header value: its span without surrounding space. */
static void media_type(const char *s, size_t n, const char **type, size_t *type_len) {
  size_t i = 0;
  while (i < n && is_space((unsigned char)s[i]))
    i++;
  size_t end = i;
  while (end < n && s[end] != ';')
    end++;
  while (end > i && is_space((unsigned char)s[end - 1]))
    end--;
  *type = s + i;
  *type_len = end - i;
}

int ohets_caqh_mime_boundary(const char *content_type, size_t n,
                             char out[OHETS_CAQH_BOUNDARY_MAX + 1]) {
  out[0] = '\0';
  const char *type;
  size_t type_len;
  media_type(content_type, n, &type, &type_len);
  if (!same_ci(type, type_len, "multipart/form-data"))
    return -ENOTSUP;
  size_t pos = 0, value_len = 0, name_len = 0;
  const char *name = NULL;
  char value[OHETS_CAQH_BOUNDARY_MAX + 2];
  int too_long = 0, found = 0, rc;
  while ((rc = next_param(content_type, n, &pos, &name, &name_len, value, sizeof value,
                          &value_len, &too_long)) > 0) {
    if (!same_ci(name, name_len, "boundary"))
      continue;
    if (found || too_long || !boundary_ok(value, value_len)) {
      out[0] = '\0'; /* two boundaries would make the body ambiguous */
      return -EINVAL;
    }
    memcpy(out, value, value_len + 1);
    found = 1;
  }
  if (rc < 0 || !found) {
    out[0] = '\0';
    return -EINVAL;
  }
  return 0;
}

/* ------------------------------------------------------------------ */
/* Reading                                                             */

typedef struct reader {
  const uint8_t *p;
  size_t n;
  const char *boundary;
  size_t blen;
  char *err;
  size_t errsz;
} reader;

static int say(reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int say(reader *r, const char *fmt, ...) {
  if (r->errsz > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, r->errsz, fmt, ap);
    va_end(ap);
  }
  return -EINVAL;
}

/* Where a delimiter line ends after "--boundary" at `at`: past "--" for
 * the close delimiter (*close set), transport padding and CRLF (or a bare
 * LF; the close delimiter may end the body instead).  Returns the offset
 * after the line, or 0 when the bytes there do not end a delimiter line:
 * then it was not a delimiter but data. */
static size_t delimiter_end(const reader *r, size_t at, int *close) {
  size_t i = at + 2 + r->blen;
  *close = 0;
  if (i + 2 <= r->n && r->p[i] == '-' && r->p[i + 1] == '-') {
    *close = 1;
    i += 2;
  }
  while (i < r->n && (r->p[i] == ' ' || r->p[i] == '\t'))
    i++;
  if (*close && i == r->n)
    return i; /* the body may end right after the close delimiter */
  if (i + 2 <= r->n && r->p[i] == '\r' && r->p[i + 1] == '\n')
    return i + 2;
  if (i < r->n && r->p[i] == '\n')
    return i + 1;
  return 0;
}

static int dash_boundary_at(const reader *r, size_t at) {
  return at + 2 + r->blen <= r->n && r->p[at] == '-' && r->p[at + 1] == '-' &&
         memcmp(r->p + at + 2, r->boundary, r->blen) == 0;
}

/* The first line that is a delimiter: at the start or after a line end. */
static int find_first(const reader *r, size_t *after, int *close) {
  for (size_t at = 0; at < r->n;) {
    if (dash_boundary_at(r, at)) {
      size_t end = delimiter_end(r, at, close);
      if (end != 0) {
        *after = end;
        return 1;
      }
    }
    const uint8_t *nl = memchr(r->p + at, '\n', r->n - at);
    if (nl == NULL)
      break;
    at = (size_t)(nl - r->p) + 1;
  }
  return 0;
}

/* The next CRLF "--boundary" delimiter from `from`: *at where its CRLF
 * starts, *after past its line. */
static int find_next(const reader *r, size_t from, size_t *at, size_t *after, int *close) {
  for (size_t i = from; i + 4 + r->blen <= r->n;) {
    const uint8_t *cr = memchr(r->p + i, '\r', r->n - i);
    if (cr == NULL)
      break;
    i = (size_t)(cr - r->p);
    if (i + 1 < r->n && r->p[i + 1] == '\n' && dash_boundary_at(r, i + 2)) {
      size_t end = delimiter_end(r, i + 2, close);
      if (end != 0) {
        *at = i;
        *after = end;
        return 1;
      }
    }
    i++;
  }
  return 0;
}

/* One line from *pos: [*line, *line + *len) without its line end. */
static int next_line(const reader *r, size_t limit, size_t *pos, const char **line, size_t *len) {
  const uint8_t *nl = memchr(r->p + *pos, '\n', limit - *pos);
  if (nl == NULL)
    return 0;
  size_t end = (size_t)(nl - r->p);
  *line = (const char *)r->p + *pos;
  *len = end - *pos;
  if (*len > 0 && (*line)[*len - 1] == '\r')
    --*len;
  *pos = end + 1;
  return 1;
}

/* A part's headers, read up to its blank line. */
typedef struct part_head {
  char name[NAME_KEPT + 1];
  size_t name_len;
  int has_name;
  int name_long;
  int bad_encoding;
} part_head;

static int header_is(const char *line, size_t len, const char *name, const char **value,
                     size_t *value_len) {
  size_t nlen = strlen(name);
  if (len <= nlen || line[nlen] != ':' || !same_ci(line, nlen, name))
    return 0;
  *value = line + nlen + 1;
  *value_len = len - nlen - 1;
  return 1;
}

static int read_disposition(reader *r, unsigned part, const char *v, size_t n, part_head *h) {
  const char *type;
  size_t type_len;
  media_type(v, n, &type, &type_len);
  if (!same_ci(type, type_len, "form-data"))
    return say(r, "part %u: Content-Disposition is not form-data", part);
  size_t pos = 0, name_len = 0, value_len = 0;
  const char *pname = NULL;
  int too_long = 0, rc;
  char value[NAME_KEPT + 1];
  while ((rc = next_param(v, n, &pos, &pname, &name_len, value, sizeof value, &value_len,
                          &too_long)) > 0) {
    if (!same_ci(pname, name_len, "name"))
      continue; /* filename= and the like */
    if (h->has_name)
      return say(r, "part %u: two name parameters", part);
    h->has_name = 1;
    h->name_long = too_long;
    memcpy(h->name, value, value_len + 1);
    h->name_len = value_len;
  }
  if (rc < 0)
    return say(r, "part %u: malformed Content-Disposition", part);
  return 0;
}

/* Headers from *pos to the blank line, which must come before `limit`
 * (the part's end); unfolded lines (leading space) continue the last. */
static int read_part_head(reader *r, unsigned part, size_t limit, size_t *pos, part_head *h) {
  memset(h, 0, sizeof *h);
  const char *line, *value;
  size_t len, value_len;
  const char *disp = NULL;
  size_t disp_len = 0;
  int last_was_disp = 0;
  for (;;) {
    if (!next_line(r, limit, pos, &line, &len))
      return say(r, "part %u: headers without their blank line", part);
    if (len == 0)
      break;
    if (line[0] == ' ' || line[0] == '\t') {
      /* Folded: the value's span runs on over the line end, which the
       * parameter reader takes for white space. */
      if (last_was_disp)
        disp_len = (size_t)(line + len - disp);
      continue;
    }
    last_was_disp = 0;
    if (memchr(line, ':', len) == NULL)
      return say(r, "part %u: a header line without a colon", part);
    if (header_is(line, len, "Content-Disposition", &value, &value_len)) {
      if (disp != NULL)
        return say(r, "part %u: two Content-Disposition headers", part);
      disp = value;
      disp_len = value_len;
      last_was_disp = 1;
    } else if (header_is(line, len, "Content-Transfer-Encoding", &value, &value_len)) {
      const char *enc;
      size_t enc_len;
      media_type(value, value_len, &enc, &enc_len);
      if (!same_ci(enc, enc_len, "7bit") && !same_ci(enc, enc_len, "8bit") &&
          !same_ci(enc, enc_len, "binary"))
        h->bad_encoding = 1;
    }
  }
  if (disp != NULL && read_disposition(r, part, disp, disp_len, h) != 0)
    return -EINVAL;
  return 0;
}

/* The part's name for an error line: printable ASCII only. */
static void printable_name(const part_head *h, char *out, size_t outsz) {
  size_t k = 0;
  for (size_t i = 0; i < h->name_len && k + 1 < outsz; i++)
    out[k++] = h->name[i] >= 0x20 && h->name[i] < 0x7f ? h->name[i] : '?';
  out[k] = '\0';
}

enum { SLOT_USERNAME = OHETS_CAQH_N_FIELDS, SLOT_PASSWORD, N_SLOTS };

static int slot_of(const part_head *h) {
  if (h->name_long)
    return -1;
  int f = ohets_caqh_field_of(h->name, h->name_len);
  if (f >= 0)
    return f;
  if (h->name_len == 8 && memcmp(h->name, "UserName", 8) == 0)
    return SLOT_USERNAME;
  if (h->name_len == 8 && memcmp(h->name, "Password", 8) == 0)
    return SLOT_PASSWORD;
  return -1;
}

static int set_secret(char **dst, size_t *dst_len, const uint8_t *p, size_t n) {
  char *copy = malloc(n + 1);
  if (copy == NULL)
    return -ENOMEM;
  memcpy(copy, p, n);
  copy[n] = '\0';
  if (*dst != NULL) {
    volatile char *v = *dst;
    for (size_t i = 0; i < *dst_len; i++)
      v[i] = 0;
    free(*dst);
  }
  *dst = copy;
  *dst_len = n;
  return 0;
}

static int store(ohets_caqh_envelope *e, int slot, const uint8_t *p, size_t n) {
  if (slot == SLOT_USERNAME)
    return set_secret(&e->username, &e->username_len, p, n);
  if (slot == SLOT_PASSWORD)
    return set_secret(&e->password, &e->password_len, p, n);
  return ohets_caqh_envelope_set(e, (ohets_caqh_field)slot, p, n);
}

int ohets_caqh_mime_read(const uint8_t *body, size_t n, const char *boundary,
                         ohets_caqh_envelope *e, char *err, size_t errsz) {
  reader r = {.p = body, .n = n, .boundary = boundary, .err = err, .errsz = errsz};
  int rc = 0;
  if (errsz > 0)
    err[0] = '\0';
  r.blen = boundary != NULL ? strlen(boundary) : 0;
  if (!boundary_ok(boundary != NULL ? boundary : "", r.blen)) {
    rc = say(&r, "bad boundary");
    goto out;
  }
  size_t pos;
  int close;
  if (!find_first(&r, &pos, &close)) {
    rc = say(&r, "no opening delimiter (--boundary line)");
    goto out;
  }
  int seen[N_SLOTS] = {0};
  unsigned parts = 0;
  while (!close) {
    if (++parts > PARTS_MAX) {
      rc = say(&r, "more than %d parts", PARTS_MAX);
      goto out;
    }
    size_t at, after;
    int next_close;
    if (!find_next(&r, pos, &at, &after, &next_close)) {
      rc = say(&r, "truncated: part %u has no closing delimiter", parts);
      goto out;
    }
    part_head h;
    /* The headers may end on the delimiter's own CRLF: a part with no
     * value needs no blank line of its own (RFC 2046's [CRLF *OCTET]). */
    rc = read_part_head(&r, parts, at + 2, &pos, &h);
    if (rc != 0)
      goto out;
    char shown[NAME_KEPT + 1];
    printable_name(&h, shown, sizeof shown);
    if (!h.has_name || h.name_len == 0) {
      rc = say(&r, "part %u has no name", parts);
      goto out;
    }
    if (h.bad_encoding) {
      rc = say(&r, "part %s: unsupported Content-Transfer-Encoding", shown);
      goto out;
    }
    int slot = slot_of(&h);
    if (slot >= 0) {
      if (seen[slot]) {
        rc = say(&r, "duplicate part %s", shown);
        goto out;
      }
      seen[slot] = 1;
      size_t value_len = pos <= at ? at - pos : 0;
      rc = store(e, slot, body + pos, value_len);
      if (rc != 0) {
        say(&r, "out of memory");
        goto out;
      }
    }
    pos = after;
    close = next_close;
  }
out:
  if (rc != 0)
    ohets_caqh_envelope_clear(e); /* half a request is no request */
  return rc;
}

/* ------------------------------------------------------------------ */
/* Writing                                                             */

/* Whether CRLF + v holds CRLF "--" boundary: the CRLF before a value is
 * the blank line's, so a value starting "--boundary" would end its part
 * too. */
static int contains_delimiter(const char *v, size_t n, const char *boundary, size_t blen) {
  if (n >= 2 + blen && v[0] == '-' && v[1] == '-' && memcmp(v + 2, boundary, blen) == 0)
    return 1;
  for (size_t i = 0; i + 4 + blen <= n; i++)
    if (v[i] == '\r' && v[i + 1] == '\n' && v[i + 2] == '-' && v[i + 3] == '-' &&
        memcmp(v + i + 4, boundary, blen) == 0)
      return 1;
  return 0;
}

static int write_part(ohets_buf *out, const char *boundary, const char *name, const char *type,
                      const char *v, size_t n) {
  if (contains_delimiter(v, n, boundary, strlen(boundary)))
    return -EINVAL; /* the value would end the part early */
  int rc = ohets_buf_printf(out, "--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n",
                            boundary, name);
  if (rc == 0 && type != NULL)
    rc = ohets_buf_printf(out, "Content-Type: %s\r\n", type);
  if (rc == 0)
    rc = ohets_buf_puts(out, "\r\n");
  if (rc == 0)
    rc = ohets_buf_append(out, v, n);
  if (rc == 0)
    rc = ohets_buf_puts(out, "\r\n");
  return rc;
}

int ohets_caqh_mime_write(ohets_buf *out, const char *boundary, const ohets_caqh_envelope *e) {
  if (boundary == NULL || !boundary_ok(boundary, strlen(boundary)))
    return -EINVAL;
  int rc = 0;
  for (int f = 0; f < OHETS_CAQH_N_FIELDS && rc == 0; f++)
    if (e->value[f] != NULL)
      rc = write_part(out, boundary, ohets_caqh_field_name((ohets_caqh_field)f),
                      f == OHETS_CAQH_PAYLOAD ? "text/plain; charset=utf-8" : NULL,
                      e->value[f], e->len[f]);
  if (rc == 0 && e->username != NULL)
    rc = write_part(out, boundary, "UserName", NULL, e->username, e->username_len);
  if (rc == 0 && e->password != NULL)
    rc = write_part(out, boundary, "Password", NULL, e->password, e->password_len);
  if (rc == 0)
    rc = ohets_buf_printf(out, "--%s--\r\n", boundary);
  return rc;
}

/* splitmix64: spreads a counter's bits over the whole word. */
static uint64_t mix(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void ohets_caqh_mime_make_boundary(uint64_t seed, char out[OHETS_CAQH_BOUNDARY_MAX + 1]) {
  uint64_t state = seed;
  uint64_t hi = mix(&state), lo = mix(&state);
  snprintf(out, OHETS_CAQH_BOUNDARY_MAX + 1, "openhets-%016llx%016llx", (unsigned long long)hi,
           (unsigned long long)lo);
}
