/* PROXY protocol v1 (a text line) and v2 (a binary header): proxy.h. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "server/proxy.h"

static const uint8_t v2_sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                   0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
#define V1_MAX 107 /* "PROXY TCP6 " + two 39-char addresses + ports + CRLF */

static ohets_srv_proxy_status bad(ohets_srv_proxy *out, const char *why) {
  out->why = why;
  return OHETS_SRV_PROXY_BAD;
}

/* The next space-separated word of a v1 line: [*at, end). */
static int word(const char *line, size_t len, size_t *at, char *dst, size_t dstsz) {
  size_t i = *at, k = 0;
  while (i < len && line[i] != ' ') {
    if (k + 1 >= dstsz)
      return -1;
    dst[k++] = line[i++];
  }
  dst[k] = '\0';
  if (k == 0)
    return -1;
  *at = i < len ? i + 1 : i; /* past the space */
  return 0;
}

static int port_of(const char *s, uint16_t *out) {
  size_t n = strlen(s);
  unsigned long v = 0;
  if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
    return -1;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (unsigned long)(s[i] - '0');
  }
  if (v > 65535)
    return -1;
  *out = (uint16_t)v;
  return 0;
}

static ohets_srv_proxy_status parse_v1(const uint8_t *p, size_t n, ohets_srv_proxy *out) {
  const char *line = (const char *)p;
  size_t limit = n < V1_MAX ? n : V1_MAX;
  const char *cr = memchr(line, '\r', limit);
  const char *lf = memchr(line, '\n', cr != NULL ? (size_t)(cr - line) : limit);
  if (lf != NULL)
    return bad(out, "v1 line without CRLF");
  if (cr == NULL || (size_t)(cr - line) + 1 >= limit)
    return n < V1_MAX ? OHETS_SRV_PROXY_NEED_MORE : bad(out, "v1 line without CRLF");
  if (cr[1] != '\n')
    return bad(out, "v1 line without CRLF");
  size_t len = (size_t)(cr - line);
  if (memchr(line, '\n', len) != NULL || memchr(line, '\0', len) != NULL)
    return bad(out, "v1 line holds a line break");
  out->len = len + 2;
  size_t at = 6; /* past "PROXY " */
  char proto[8], src[46], dst[46], sport[8], dport[8];
  if (word(line, len, &at, proto, sizeof proto) != 0)
    return bad(out, "v1 protocol missing");
  if (strcmp(proto, "UNKNOWN") == 0) {
    out->local = 1; /* the balancer's own connection: use the socket's address */
    return OHETS_SRV_PROXY_OK;
  }
  int v6 = strcmp(proto, "TCP6") == 0;
  if (!v6 && strcmp(proto, "TCP4") != 0)
    return bad(out, "v1 protocol not TCP4, TCP6 or UNKNOWN");
  uint16_t sp, dp;
  if (word(line, len, &at, src, sizeof src) != 0 || word(line, len, &at, dst, sizeof dst) != 0 ||
      word(line, len, &at, sport, sizeof sport) != 0 ||
      word(line, len, &at, dport, sizeof dport) != 0 || at != len || line[len - 1] == ' ' ||
      port_of(sport, &sp) != 0 || port_of(dport, &dp) != 0)
    return bad(out, "v1 addresses or ports malformed");
  memset(&out->source, 0, sizeof out->source);
  uint8_t scratch[16];
  if (v6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&out->source;
    if (inet_pton(AF_INET6, src, &a->sin6_addr) != 1 || inet_pton(AF_INET6, dst, scratch) != 1)
      return bad(out, "v1 TCP6 address malformed");
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(sp);
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)&out->source;
    if (inet_pton(AF_INET, src, &a->sin_addr) != 1 || inet_pton(AF_INET, dst, scratch) != 1)
      return bad(out, "v1 TCP4 address malformed");
    a->sin_family = AF_INET;
    a->sin_port = htons(sp);
  }
  return OHETS_SRV_PROXY_OK;
}

static ohets_srv_proxy_status parse_v2(const uint8_t *p, size_t n, ohets_srv_proxy *out) {
  if (n < 16)
    return OHETS_SRV_PROXY_NEED_MORE;
  if ((p[12] >> 4) != 2)
    return bad(out, "v2 version not 2");
  unsigned cmd = p[12] & 0x0f;
  if (cmd > 1)
    return bad(out, "v2 command neither LOCAL nor PROXY");
  size_t body = (size_t)p[14] << 8 | p[15];
  if (16 + body > OHETS_SRV_PROXY_MAX)
    return bad(out, "v2 header longer than accepted");
  if (n < 16 + body)
    return OHETS_SRV_PROXY_NEED_MORE;
  out->len = 16 + body;
  unsigned family = p[13] >> 4, transport = p[13] & 0x0f;
  if (cmd == 0 || family == 0) { /* LOCAL (a health check) or UNSPEC */
    out->local = 1;
    return OHETS_SRV_PROXY_OK;
  }
  if (transport != 1)
    return bad(out, "v2 transport not STREAM");
  memset(&out->source, 0, sizeof out->source);
  const uint8_t *a = p + 16;
  if (family == 1) {
    if (body < 12)
      return bad(out, "v2 INET addresses cut short");
    struct sockaddr_in *s = (struct sockaddr_in *)&out->source;
    s->sin_family = AF_INET;
    memcpy(&s->sin_addr, a, 4);
    memcpy(&s->sin_port, a + 8, 2);
  } else if (family == 2) {
    if (body < 36)
      return bad(out, "v2 INET6 addresses cut short");
    struct sockaddr_in6 *s = (struct sockaddr_in6 *)&out->source;
    s->sin6_family = AF_INET6;
    memcpy(&s->sin6_addr, a, 16);
    memcpy(&s->sin6_port, a + 32, 2);
  } else {
    return bad(out, "v2 family not INET or INET6");
  }
  return OHETS_SRV_PROXY_OK;
}

ohets_srv_proxy_status ohets_srv_proxy_parse(const uint8_t *p, size_t n, ohets_srv_proxy *out) {
  memset(out, 0, sizeof *out);
  size_t k = n < sizeof v2_sig ? n : sizeof v2_sig;
  if (memcmp(p, v2_sig, k) == 0)
    return k < sizeof v2_sig ? OHETS_SRV_PROXY_NEED_MORE : parse_v2(p, n, out);
  k = n < 6 ? n : 6;
  if (memcmp(p, "PROXY ", k) == 0)
    return k < 6 ? OHETS_SRV_PROXY_NEED_MORE : parse_v1(p, n, out);
  return bad(out, "no PROXY header");
}
