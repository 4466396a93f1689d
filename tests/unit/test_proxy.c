/* PROXY protocol header parser: v1 and v2, good headers from HAProxy's
 * specification's examples, every kind of bad one, and headers arriving a
 * byte at a time. */
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/proxy.h"

static const char v2_sig[] = "\r\n\r\n\0\r\nQUIT\n";

typedef struct v1_case {
  const char *text;
  ohets_srv_proxy_status want;
  const char *source; /* "ip:port" when OK and not local */
} v1_case;

static const v1_case v1_cases[] = {
    {"PROXY TCP4 192.0.2.7 198.51.100.1 40522 5270\r\n", OHETS_SRV_PROXY_OK, "192.0.2.7:40522"},
    {"PROXY TCP6 2001:db8::7 2001:db8::1 40522 5270\r\n", OHETS_SRV_PROXY_OK, "2001:db8::7:40522"},
    {"PROXY UNKNOWN\r\n", OHETS_SRV_PROXY_OK, NULL},
    {"PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n", OHETS_SRV_PROXY_OK, NULL},
    {"PROXY TCP4 192.0.2.7 198.51.100.1 40522 5270\n", OHETS_SRV_PROXY_BAD, NULL},
    {"PROXY TCP4 192.0.2.7 198.51.100.1 40522\r\n", OHETS_SRV_PROXY_BAD, NULL},
    {"PROXY TCP4 192.0.2.7 198.51.100.1 40522 5270 extra\r\n", OHETS_SRV_PROXY_BAD, NULL},
    {"PROXY TCP4 192.0.2.7 198.51.100.1 65536 5270\r\n", OHETS_SRV_PROXY_BAD, NULL},
    {"PROXY TCP4 192.0.2.7 198.51.100.1 040522 5270\r\n", OHETS_SRV_PROXY_BAD, NULL},
    {"PROXY TCP4 2001:db8::7 198.51.100.1 40522 5270\r\n", OHETS_SRV_PROXY_BAD, NULL},
    {"PROXY TCP6 192.0.2.7 2001:db8::1 40522 5270\r\n", OHETS_SRV_PROXY_BAD, NULL},
    {"PROXY UDP4 192.0.2.7 198.51.100.1 40522 5270\r\n", OHETS_SRV_PROXY_BAD, NULL},
    {"PROXY  TCP4 192.0.2.7 198.51.100.1 40522 5270\r\n", OHETS_SRV_PROXY_BAD, NULL},
    {"PROXY TCP4 192.0.2.7 198.51.100.1 40522 5270 \r\n", OHETS_SRV_PROXY_BAD, NULL},
    {"proxy TCP4 192.0.2.7 198.51.100.1 40522 5270\r\n", OHETS_SRV_PROXY_BAD, NULL},
    {"\x01" "0000000106\x02ISA*00*", OHETS_SRV_PROXY_BAD, NULL}, /* a client without a balancer */
    {"GET / HTTP/1.1\r\n", OHETS_SRV_PROXY_BAD, NULL},
};

static void source_text(const struct sockaddr_storage *ss, char *out, size_t n) {
  char ip[64];
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
    inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
    snprintf(out, n, "%s:%u", ip, ntohs(a->sin_port));
  } else {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
    inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
    snprintf(out, n, "%s:%u", ip, ntohs(a->sin6_port));
  }
}

START_TEST(v1_headers) {
  const v1_case *c = &v1_cases[_i];
  size_t n = strlen(c->text);
  uint8_t buf[256];
  memcpy(buf, c->text, n);
  memcpy(buf + n, "client bytes", 12); /* what follows is not the header's */
  ohets_srv_proxy px;
  ohets_srv_proxy_status st = ohets_srv_proxy_parse(buf, n + 12, &px);
  ck_assert_msg(st == c->want, "%s: status %d, want %d (%s)", c->text, st, c->want,
                px.why ? px.why : "");
  if (st == OHETS_SRV_PROXY_BAD)
    ck_assert_ptr_nonnull(px.why);
  if (st != OHETS_SRV_PROXY_OK)
    return;
  ck_assert_uint_eq(px.len, n);
  ck_assert_int_eq(px.local, c->source == NULL);
  if (c->source != NULL) {
    char got[80];
    source_text(&px.source, got, sizeof got);
    ck_assert_str_eq(got, c->source);
  }
}
END_TEST

/* A v2 header: command, family/transport, address block, TLVs. */
static size_t v2(uint8_t *out, uint8_t ver_cmd, uint8_t fam, const uint8_t *addr, size_t alen,
                 size_t tlv_bytes) {
  memcpy(out, v2_sig, 12);
  out[12] = ver_cmd;
  out[13] = fam;
  size_t body = alen + tlv_bytes;
  out[14] = (uint8_t)(body >> 8);
  out[15] = (uint8_t)body;
  if (alen > 0)
    memcpy(out + 16, addr, alen);
  memset(out + 16 + alen, 0x04, tlv_bytes); /* a NOOP TLV's type, as filler */
  return 16 + body;
}

START_TEST(v2_headers) {
  uint8_t buf[2048];
  ohets_srv_proxy px;
  const uint8_t inet[12] = {192, 0, 2, 7, 198, 51, 100, 1, 0x9e, 0x4a, 0x14, 0x96};
  size_t n = v2(buf, 0x21, 0x11, inet, sizeof inet, 0);
  ck_assert_int_eq(ohets_srv_proxy_parse(buf, n, &px), OHETS_SRV_PROXY_OK);
  ck_assert_uint_eq(px.len, n);
  char got[80];
  source_text(&px.source, got, sizeof got);
  ck_assert_str_eq(got, "192.0.2.7:40522");
  /* TLVs after the addresses are skipped. */
  n = v2(buf, 0x21, 0x11, inet, sizeof inet, 40);
  ck_assert_int_eq(ohets_srv_proxy_parse(buf, n, &px), OHETS_SRV_PROXY_OK);
  ck_assert_uint_eq(px.len, n);
  uint8_t inet6[36] = {0x20, 0x01, 0x0d, 0xb8, [15] = 7, [16] = 0x20, 0x01, 0x0d, 0xb8,
                       [31] = 1, [32] = 0x9e, 0x4a, 0x14, 0x96};
  n = v2(buf, 0x21, 0x21, inet6, sizeof inet6, 0);
  ck_assert_int_eq(ohets_srv_proxy_parse(buf, n, &px), OHETS_SRV_PROXY_OK);
  source_text(&px.source, got, sizeof got);
  ck_assert_str_eq(got, "2001:db8::7:40522");
  /* LOCAL: a balancer's health check; no address, accepted. */
  n = v2(buf, 0x20, 0x00, NULL, 0, 0);
  ck_assert_int_eq(ohets_srv_proxy_parse(buf, n, &px), OHETS_SRV_PROXY_OK);
  ck_assert_int_eq(px.local, 1);
  /* Bad ones. */
  n = v2(buf, 0x11, 0x11, inet, sizeof inet, 0);
  ck_assert_int_eq(ohets_srv_proxy_parse(buf, n, &px), OHETS_SRV_PROXY_BAD); /* version 1 */
  n = v2(buf, 0x22, 0x11, inet, sizeof inet, 0);
  ck_assert_int_eq(ohets_srv_proxy_parse(buf, n, &px), OHETS_SRV_PROXY_BAD); /* command 2 */
  n = v2(buf, 0x21, 0x12, inet, sizeof inet, 0);
  ck_assert_int_eq(ohets_srv_proxy_parse(buf, n, &px), OHETS_SRV_PROXY_BAD); /* DGRAM */
  n = v2(buf, 0x21, 0x11, inet, 8, 0);
  ck_assert_int_eq(ohets_srv_proxy_parse(buf, n, &px), OHETS_SRV_PROXY_BAD); /* cut short */
  n = v2(buf, 0x21, 0x31, inet, sizeof inet, 0);
  ck_assert_int_eq(ohets_srv_proxy_parse(buf, n, &px), OHETS_SRV_PROXY_BAD); /* AF_UNIX */
  n = v2(buf, 0x21, 0x11, inet, sizeof inet, OHETS_SRV_PROXY_MAX);
  ck_assert_int_eq(ohets_srv_proxy_parse(buf, n, &px), OHETS_SRV_PROXY_BAD); /* too long */
}
END_TEST

/* Every prefix of a good header asks for more; the whole one is OK. */
START_TEST(byte_at_a_time) {
  uint8_t buf[128];
  const char *v1 = "PROXY TCP4 192.0.2.7 198.51.100.1 40522 5270\r\n";
  ohets_srv_proxy px;
  for (size_t i = 0; i < strlen(v1); i++)
    ck_assert_int_eq(ohets_srv_proxy_parse((const uint8_t *)v1, i, &px),
                     OHETS_SRV_PROXY_NEED_MORE);
  const uint8_t inet[12] = {192, 0, 2, 7, 198, 51, 100, 1, 0x9e, 0x4a, 0x14, 0x96};
  size_t n = v2(buf, 0x21, 0x11, inet, sizeof inet, 0);
  for (size_t i = 0; i < n; i++)
    ck_assert_int_eq(ohets_srv_proxy_parse(buf, i, &px), OHETS_SRV_PROXY_NEED_MORE);
  ck_assert_int_eq(ohets_srv_proxy_parse(buf, n, &px), OHETS_SRV_PROXY_OK);
  /* A v1 line that never ends is refused once it passes 107 bytes. */
  char long_line[200];
  memset(long_line, 'A', sizeof long_line);
  memcpy(long_line, "PROXY TCP4 ", 11);
  ck_assert_int_eq(ohets_srv_proxy_parse((const uint8_t *)long_line, 106, &px),
                   OHETS_SRV_PROXY_NEED_MORE);
  ck_assert_int_eq(ohets_srv_proxy_parse((const uint8_t *)long_line, 107, &px),
                   OHETS_SRV_PROXY_BAD);
}
END_TEST

int main(void) {
  Suite *s = suite_create("proxy");
  TCase *tc = tcase_create("parse");
  tcase_add_loop_test(tc, v1_headers, 0, (int)(sizeof v1_cases / sizeof v1_cases[0]));
  tcase_add_test(tc, v2_headers);
  tcase_add_test(tc, byte_at_a_time);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
