/* Fuzz target for the multipart/form-data reader and writer
 * (src/caqh/multipart.c).
 *
 * The first line of the input is a Content-Type value (or a bare
 * boundary: "multipart/form-data; boundary=" is put before it when it has
 * no '='); the rest is the body.  Checks: an error leaves the envelope
 * empty and says something; a body read without error, written out again
 * and read back, gives the same fields. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caqh/multipart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok) {
  if (!ok)
    abort();
}

static int same_envelope(const ohets_caqh_envelope *a, const ohets_caqh_envelope *b) {
  for (int f = 0; f < OHETS_CAQH_N_FIELDS; f++) {
    if ((a->value[f] == NULL) != (b->value[f] == NULL))
      return 0;
    if (a->value[f] != NULL &&
        (a->len[f] != b->len[f] || memcmp(a->value[f], b->value[f], a->len[f]) != 0))
      return 0;
  }
  if ((a->username == NULL) != (b->username == NULL) ||
      (a->password == NULL) != (b->password == NULL))
    return 0;
  if (a->username != NULL && (a->username_len != b->username_len ||
                              memcmp(a->username, b->username, a->username_len) != 0))
    return 0;
  if (a->password != NULL && (a->password_len != b->password_len ||
                              memcmp(a->password, b->password, a->password_len) != 0))
    return 0;
  return 1;
}

static int empty_envelope(const ohets_caqh_envelope *e) {
  for (int f = 0; f < OHETS_CAQH_N_FIELDS; f++)
    if (e->value[f] != NULL)
      return 0;
  return e->username == NULL && e->password == NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *nl = memchr(data, '\n', size);
  size_t line_len = nl != NULL ? (size_t)(nl - data) : size;
  if (line_len > 512)
    return 0;
  char ct[600];
  if (memchr(data, '=', line_len) == NULL)
    snprintf(ct, sizeof ct, "multipart/form-data; boundary=%.*s", (int)line_len,
             (const char *)data);
  else
    snprintf(ct, sizeof ct, "%.*s", (int)line_len, (const char *)data);
  const uint8_t *body = nl != NULL ? nl + 1 : data + size;
  size_t n = (size_t)(data + size - body);

  char boundary[OHETS_CAQH_BOUNDARY_MAX + 1];
  int rc = ohets_caqh_mime_boundary(ct, strlen(ct), boundary);
  if (rc != 0) {
    check(boundary[0] == '\0');
    /* The reader must still refuse a bad boundary safely. */
    ohets_caqh_envelope e;
    ohets_caqh_envelope_init(&e);
    char err[160];
    check(ohets_caqh_mime_read(body, n, "bad boundary\r\n", &e, err, sizeof err) != 0);
    check(err[0] != '\0' && empty_envelope(&e));
    return 0;
  }
  check(strlen(boundary) >= 1 && strlen(boundary) <= OHETS_CAQH_BOUNDARY_MAX);

  ohets_caqh_envelope e, again;
  ohets_caqh_envelope_init(&e);
  ohets_caqh_envelope_init(&again);
  char err[160];
  rc = ohets_caqh_mime_read(body, n, boundary, &e, err, sizeof err);
  if (rc != 0) {
    check(err[0] != '\0' && strlen(err) < sizeof err && empty_envelope(&e));
    return 0;
  }
  /* Round trip: what was read, written with a fresh boundary, reads back. */
  /* The input's own boundary, so values may hold it (the writer must
   * refuse those), then a fresh one. */
  char fresh[OHETS_CAQH_BOUNDARY_MAX + 1];
  for (int pass = 0; pass < 2; pass++) {
    if (pass == 0)
      memcpy(fresh, boundary, sizeof fresh);
    else
      ohets_caqh_mime_make_boundary(size, fresh);
    ohets_buf out;
    ohets_buf_init(&out, 4 * size + 4096);
    if (ohets_caqh_mime_write(&out, fresh, &e) == 0) {
      check(ohets_caqh_mime_read(out.data, out.len, fresh, &again, err, sizeof err) == 0);
      check(same_envelope(&e, &again));
    }
    ohets_buf_free(&out);
    ohets_caqh_envelope_clear(&again);
  }
  ohets_caqh_envelope_clear(&e);
  return 0;
}
