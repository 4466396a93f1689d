/* Fuzz target for the PROXY protocol header parser (src/server/proxy.c).
 *
 * The input is the first bytes a balancer's connection brings.  Parsed
 * whole and then as every prefix, the verdicts must agree: a prefix of an
 * OK header asks for more, an OK header's length lies within the input,
 * a BAD verdict says why, and a prefix is never OK with another length. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "server/proxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok) {
  if (!ok)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ohets_srv_proxy whole, part;
  ohets_srv_proxy_status st = ohets_srv_proxy_parse(data, size, &whole);
  if (st == OHETS_SRV_PROXY_OK) {
    check(whole.len > 0 && whole.len <= size && whole.len <= OHETS_SRV_PROXY_MAX);
    check(whole.local || whole.source.ss_family == AF_INET ||
          whole.source.ss_family == AF_INET6);
  } else if (st == OHETS_SRV_PROXY_BAD) {
    check(whole.why != NULL && whole.why[0] != '\0');
  }
  /* Prefixes (bounded: the header is short, the rest is the client's). */
  size_t upto = size < OHETS_SRV_PROXY_MAX + 16 ? size : OHETS_SRV_PROXY_MAX + 16;
  for (size_t i = 0; i < upto; i++) {
    ohets_srv_proxy_status ps = ohets_srv_proxy_parse(data, i, &part);
    if (st == OHETS_SRV_PROXY_OK && i < whole.len)
      check(ps == OHETS_SRV_PROXY_NEED_MORE);
    if (ps == OHETS_SRV_PROXY_OK)
      check(st == OHETS_SRV_PROXY_OK && part.len == whole.len);
  }
  return 0;
}
