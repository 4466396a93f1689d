/* The PROXY protocol header (HAProxy's specification, versions 1 and 2)
 * that a load balancer sends before the client's first byte: who the
 * client really is.  A pure parser: bytes in, a verdict out. */
#ifndef OHETS_SERVER_PROXY_H
#define OHETS_SERVER_PROXY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Longest header accepted: v1 is at most 107 bytes; v2 carries TLVs after
 * the addresses, kept short by every balancer (HAProxy sends a few). */
#define OHETS_SRV_PROXY_MAX 1024

typedef enum ohets_srv_proxy_status {
  OHETS_SRV_PROXY_NEED_MORE = 0, /* a header may still come whole */
  OHETS_SRV_PROXY_OK,            /* a header of `len` bytes */
  OHETS_SRV_PROXY_BAD            /* not a header, or a broken one */
} ohets_srv_proxy_status;

typedef struct ohets_srv_proxy {
  size_t len;      /* OK: header bytes, to drop before the client's */
  int local;       /* OK: v2 LOCAL (a health check) or v1 UNKNOWN: no address */
  struct sockaddr_storage source; /* OK, !local: the client's address */
  const char *why; /* BAD: what was wrong, one short phrase */
} ohets_srv_proxy;

ohets_srv_proxy_status ohets_srv_proxy_parse(const uint8_t *p, size_t n, ohets_srv_proxy *out);

#endif /* OHETS_SERVER_PROXY_H */
