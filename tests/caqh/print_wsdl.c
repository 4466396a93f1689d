/* Helper for tests/caqh/zeep_wsdl.sh, which checks the WSDL and envelopes
 * with python3-zeep, a SOAP client nobody here wrote.
 *
 *   print_wsdl [ADDRESS]      the WSDL for ADDRESS (default
 *                             https://localhost:8443/eligibility/realtime/soap)
 *   print_wsdl --read FILE    reads FILE as a request: prints each field as
 *                             NAME=VALUE (and username=, password=), exit 1
 *                             on a FAULT
 *   print_wsdl --response     prints a response envelope (ErrorCode Success) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caqh/soap.h"

static int read_file(const char *path, ohets_buf *in) {
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return -1;
  char chunk[4096];
  size_t k;
  int rc = 0;
  while (rc == 0 && (k = fread(chunk, 1, sizeof chunk, f)) > 0)
    rc = ohets_buf_append(in, chunk, k);
  fclose(f);
  return rc;
}

static int print_request(const char *path) {
  ohets_buf in;
  ohets_caqh_envelope e;
  char err[256];
  int rc = 1;
  ohets_buf_init(&in, 16u << 20);
  ohets_caqh_envelope_init(&e);
  if (read_file(path, &in) != 0) {
    fprintf(stderr, "print_wsdl: cannot read %s\n", path);
    goto out;
  }
  if (ohets_caqh_soap_read(in.data, in.len, 0, &e, err, sizeof err) != OHETS_CAQH_SOAP_OK) {
    fprintf(stderr, "print_wsdl: %s: FAULT: %s\n", path, err);
    goto out;
  }
  for (int f = 0; f < OHETS_CAQH_N_FIELDS; f++)
    if (e.value[f] != NULL)
      printf("%s=%s\n", ohets_caqh_field_name((ohets_caqh_field)f), e.value[f]);
  if (e.username != NULL)
    printf("username=%s\n", e.username);
  if (e.password != NULL)
    printf("password=%s\n", e.password);
  rc = 0;
out:
  ohets_caqh_envelope_clear(&e);
  ohets_buf_free(&in);
  return rc;
}

static int write_response(ohets_buf *out) {
  static const char *const v[OHETS_CAQH_N_FIELDS] = {
      OHETS_CAQH_PT_271, "RealTime", "f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
      "2026-11-29T10:20:35Z", "CMS", "SUBMITTER1", "2.2.0", "ISA*00*]]>*271~\r\n",
      "Success", "None"};
  ohets_caqh_envelope e;
  int rc = 0;
  ohets_caqh_envelope_init(&e);
  for (int f = 0; f < OHETS_CAQH_N_FIELDS && rc == 0; f++)
    rc = ohets_caqh_envelope_set_str(&e, (ohets_caqh_field)f, v[f]);
  if (rc == 0)
    rc = ohets_caqh_soap_write(out, &e, 1);
  ohets_caqh_envelope_clear(&e);
  return rc;
}

int main(int argc, char **argv) {
  ohets_buf out;
  int rc = 1;
  ohets_buf_init(&out, 1u << 20);
  if (ohets_caqh_soap_init() != 0) {
    fprintf(stderr, "print_wsdl: ohets_caqh_soap_init failed\n");
    goto out;
  }
  if (argc == 3 && strcmp(argv[1], "--read") == 0) {
    rc = print_request(argv[2]);
    goto out;
  }
  if (argc == 2 && strcmp(argv[1], "--response") == 0) {
    if (write_response(&out) != 0) {
      fprintf(stderr, "print_wsdl: ohets_caqh_soap_write failed\n");
      goto out;
    }
  } else if (ohets_caqh_wsdl_write(&out, argc > 1 ? argv[1]
                                                  : "https://localhost:8443/eligibility/"
                                                    "realtime/soap") != 0) {
    fprintf(stderr, "print_wsdl: ohets_caqh_wsdl_write failed\n");
    goto out;
  }
  if (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
    fprintf(stderr, "print_wsdl: write failed\n");
    goto out;
  }
  rc = 0;
out:
  ohets_buf_free(&out);
  ohets_caqh_soap_cleanup();
  return rc;
}
