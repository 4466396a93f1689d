/* Fuzz target for the SOAP envelope reader and writer (src/caqh/soap.c).
 *
 * The input is an HTTP body the CORE door hands to the reader.  It is read
 * as a request and as a response; a FAULT must say why, and an envelope
 * read OK is written back and read again, giving the same fields (and the
 * same UsernameToken for a request). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "caqh/soap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok) {
  if (!ok)
    abort();
}

static void same(const char *a, size_t an, const char *b, size_t bn) {
  check((a == NULL) == (b == NULL));
  if (a != NULL)
    check(an == bn && memcmp(a, b, an) == 0);
}

static void round_trip(const ohets_caqh_envelope *e, int response) {
  ohets_buf out;
  ohets_caqh_envelope again;
  char err[256];
  ohets_buf_init(&out, 64u << 20);
  ohets_caqh_envelope_init(&again);
  check(ohets_caqh_soap_write(&out, e, response) == 0);
  check(ohets_caqh_soap_read(out.data, out.len, response, &again, err, sizeof err) ==
        OHETS_CAQH_SOAP_OK);
  for (int f = 0; f < OHETS_CAQH_N_FIELDS; f++)
    same(e->value[f], e->len[f], again.value[f], again.len[f]);
  if (!response) {
    same(e->username, e->username_len, again.username, again.username_len);
    /* A Password without a Username is not written. */
    if (e->username != NULL)
      same(e->password, e->password_len, again.password, again.password_len);
  }
  ohets_caqh_envelope_clear(&again);
  ohets_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int ready;
  if (!ready) {
    check(ohets_caqh_soap_init() == 0);
    ready = 1;
  }
  for (int response = 0; response <= 1; response++) {
    ohets_caqh_envelope e;
    char err[256];
    ohets_caqh_envelope_init(&e);
    ohets_caqh_soap_status st = ohets_caqh_soap_read(data, size, response, &e, err, sizeof err);
    if (st == OHETS_CAQH_SOAP_OK) {
      round_trip(&e, response);
    } else {
      check(st == OHETS_CAQH_SOAP_FAULT || st == OHETS_CAQH_SOAP_MUST_UNDERSTAND);
      check(err[0] != '\0');
      for (int f = 0; f < OHETS_CAQH_N_FIELDS; f++)
        check(e.value[f] == NULL);
    }
    ohets_caqh_envelope_clear(&e);
  }
  return 0;
}
