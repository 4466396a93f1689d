/* The TLS engine (src/tls): a server engine and a client engine talking
 * to each other entirely in memory, ciphertext pumped between them, with
 * certificates made at test time by tests/tls/mkcerts.sh. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "tls/tls.h"
#include "tls/tls_private.h"

#ifndef OHETS_TOP_SRCDIR
#define OHETS_TOP_SRCDIR "."
#endif

static char certdir[512];

/* The path of a file made by mkcerts.sh (a few may be live at once). */
static const char *P(const char *name) {
  static char ring[8][600];
  static unsigned next;
  char *p = ring[next++ % 8];
  snprintf(p, sizeof ring[0], "%s/%s", certdir, name);
  return p;
}

/* SHA-256 of a certificate as `openssl x509 -fingerprint -sha256` says it,
 * normalised here by hand (not by the function under test). */
static void openssl_fingerprint(const char *pem, char out[65]) {
  char cmd[800], line[256];
  snprintf(cmd, sizeof cmd, "openssl x509 -noout -fingerprint -sha256 -in '%s'", P(pem));
  FILE *f = popen(cmd, "r");
  ck_assert_ptr_nonnull(f);
  ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
  ck_assert_int_eq(pclose(f), 0);
  const char *eq = strchr(line, '=');
  ck_assert_ptr_nonnull(eq);
  size_t k = 0;
  for (const char *s = eq + 1; *s && *s != '\n'; s++)
    if (*s != ':' && k < 64)
      out[k++] = (char)tolower((unsigned char)*s);
  out[k] = '\0';
  ck_assert_uint_eq(k, 64);
}

/* ------------------------------------------------------------ peers */

typedef struct peer {
  ohets_tls *t;
  unsigned char *got; /* plaintext received */
  size_t got_len, got_cap;
  long status; /* the last status < 0 read returned, else 0 */
} peer;

static void peer_init(peer *p, ohets_tls_ctx *c) {
  memset(p, 0, sizeof *p);
  p->t = ohets_tls_new(c);
  ck_assert_ptr_nonnull(p->t);
}

static void peer_free(peer *p) {
  if (getenv("TLS_TEST_VERBOSE") && ohets_tls_error(p->t)[0] != '\0')
    fprintf(stderr, "%s: %s\n", SSL_is_server(ohets_tls__ssl(p->t)) ? "server" : "client",
            ohets_tls_error(p->t));
  ohets_tls_free(p->t);
  free(p->got);
  memset(p, 0, sizeof *p);
}

/* Reads all the plaintext there is. */
static void drain(peer *p) {
  static unsigned char buf[20000]; /* not a multiple of a record: partial reads too */
  for (;;) {
    long r = ohets_tls_read(p->t, buf, sizeof buf);
    if (r <= 0) {
      if (r < 0)
        p->status = r;
      return;
    }
    if (p->got_len + (size_t)r > p->got_cap) {
      p->got_cap = (p->got_len + (size_t)r) * 2;
      p->got = realloc(p->got, p->got_cap);
      ck_assert_ptr_nonnull(p->got);
    }
    memcpy(p->got + p->got_len, buf, (size_t)r);
    p->got_len += (size_t)r;
  }
}

/* Moves the ciphertext pending in from into to; returns how much. */
static size_t move(ohets_tls *from, ohets_tls *to) {
  size_t total = 0, n;
  const void *p;
  while ((n = ohets_tls_out(from, &p)) > 0) {
    ck_assert_int_eq(ohets_tls_feed(to, p, n), 0);
    ohets_tls_out_consume(from, n);
    total += n;
  }
  ck_assert_uint_eq(ohets_tls_out_pending(from), 0);
  return total;
}

/* Both sides read and their records cross until nothing moves. */
static void pump(peer *a, peer *b) {
  for (int i = 0; i < 10000; i++) {
    drain(a);
    drain(b);
    if (move(a->t, b->t) + move(b->t, a->t) == 0)
      return;
  }
  ck_abort_msg("pump: no end");
}

static ohets_tls_ctx *server_ctx_with(const char *cert, const char *key, ohets_tls_client_cert cc,
                                      int minv) {
  ohets_tls_settings s = {P(cert), P(key), cc != OHETS_TLS_CLIENT_CERT_NONE ? P("ca.pem") : NULL,
                          cc, minv};
  ohets_tls_ctx *c = NULL;
  char err[256] = "";
  int rc = ohets_tls_ctx_server(&c, &s, err, sizeof err);
  ck_assert_msg(rc == 0, "server ctx: %d %s", rc, err);
  return c;
}

static ohets_tls_ctx *server_ctx(ohets_tls_client_cert cc, int minv) {
  return server_ctx_with("server.pem", "server.key", cc, minv);
}

/* name: client certificate "client1" etc., or NULL; ca: file or NULL. */
static ohets_tls_ctx *client_ctx(const char *name, const char *ca) {
  char cert[64], key[64];
  ohets_tls_ctx *c = NULL;
  char err[256] = "";
  if (name != NULL) {
    snprintf(cert, sizeof cert, "%s.pem", name);
    snprintf(key, sizeof key, "%s.key", name);
  }
  int rc = ohets_tls_ctx_client(&c, name ? P(cert) : NULL, name ? P(key) : NULL,
                                ca ? P(ca) : NULL, err, sizeof err);
  ck_assert_msg(rc == 0, "client ctx: %d %s", rc, err);
  return c;
}

/* A server and a client engine from the contexts; the client capped at
 * TLS 1.2 when tls12. */
static void pair(peer *s, peer *c, ohets_tls_ctx *sc, ohets_tls_ctx *cc, int tls12) {
  peer_init(s, sc);
  peer_init(c, cc);
  if (tls12)
    ck_assert_int_eq(SSL_set_max_proto_version(ohets_tls__ssl(c->t), TLS1_2_VERSION), 1);
  ck_assert_int_eq(ohets_tls_connect(c->t), 0);
  pump(s, c);
}

static void assert_up(peer *s, peer *c) {
  ck_assert_msg(ohets_tls_handshake_done(s->t), "server: %s", ohets_tls_error(s->t));
  ck_assert_msg(ohets_tls_handshake_done(c->t), "client: %s", ohets_tls_error(c->t));
  ck_assert_int_eq(s->status, 0);
  ck_assert_int_eq(c->status, 0);
}

/* ------------------------------------------------------------ handshakes */

START_TEST(test_handshake_tls13) {
  ohets_tls_ctx *sc = server_ctx(OHETS_TLS_CLIENT_CERT_NONE, 12);
  ohets_tls_ctx *cc = client_ctx(NULL, "ca.pem");
  peer s, c;
  peer_init(&s, sc);
  peer_init(&c, cc);
  ck_assert_str_eq(ohets_tls_version(s.t), "");
  ck_assert_str_eq(ohets_tls_cipher(s.t), "");
  ck_assert_int_eq(ohets_tls_set_host(c.t, "127.0.0.1"), 0);
  ck_assert_int_eq(ohets_tls_connect(c.t), 0);
  ck_assert_uint_gt(ohets_tls_out_pending(c.t), 0); /* the ClientHello */
  ck_assert_int_eq(ohets_tls_handshake_done(c.t), 0);
  pump(&s, &c);
  assert_up(&s, &c);
  ck_assert_str_eq(ohets_tls_version(s.t), "TLSv1.3");
  ck_assert_str_eq(ohets_tls_version(c.t), "TLSv1.3");
  ck_assert_str_eq(ohets_tls_cipher(s.t), "TLS_AES_128_GCM_SHA256");
  ck_assert_str_eq(ohets_tls_peer_sha256(s.t), "");
  char fp[65];
  openssl_fingerprint("server.pem", fp);
  ck_assert_str_eq(ohets_tls_peer_sha256(c.t), fp);
  ck_assert_int_eq(ohets_tls_resumed(c.t), 0);
  ck_assert_str_eq(ohets_tls_error(s.t), "");
  peer_free(&s);
  peer_free(&c);
  ohets_tls_ctx_release(sc);
  ohets_tls_ctx_release(cc);
}
END_TEST

START_TEST(test_handshake_tls12) {
  ohets_tls_ctx *sc = server_ctx(OHETS_TLS_CLIENT_CERT_NONE, 12);
  ohets_tls_ctx *cc = client_ctx(NULL, "ca.pem");
  peer s, c;
  pair(&s, &c, sc, cc, 1);
  assert_up(&s, &c);
  ck_assert_str_eq(ohets_tls_version(s.t), "TLSv1.2");
  ck_assert_str_eq(ohets_tls_version(c.t), "TLSv1.2");
  ck_assert_str_eq(ohets_tls_cipher(s.t), "ECDHE-ECDSA-AES128-GCM-SHA256");
  peer_free(&s);
  peer_free(&c);
  ohets_tls_ctx_release(sc);
  ohets_tls_ctx_release(cc);
}
END_TEST

START_TEST(test_min_version_13_refuses_12) {
  ohets_tls_ctx *sc = server_ctx(OHETS_TLS_CLIENT_CERT_NONE, 13);
  ohets_tls_ctx *cc = client_ctx(NULL, "ca.pem");
  peer s, c;
  pair(&s, &c, sc, cc, 1);
  ck_assert_int_eq(s.status, OHETS_TLS_EFAIL);
  ck_assert_int_eq(c.status, OHETS_TLS_EFAIL);
  ck_assert_msg(strstr(ohets_tls_error(s.t), "handshake: ") == ohets_tls_error(s.t) &&
                    strstr(ohets_tls_error(s.t), "protocol") != NULL,
                "%s", ohets_tls_error(s.t));
  ck_assert_msg(strstr(ohets_tls_error(c.t), "protocol version") != NULL, "%s",
                ohets_tls_error(c.t));
  ck_assert_int_eq(ohets_tls_handshake_done(s.t), 0);
  ck_assert_int_eq(ohets_tls_write(s.t, "x", 1), -EPIPE);
  peer_free(&s);
  peer_free(&c);
  /* The same client handshakes with 1.3 when allowed to. */
  peer_init(&s, sc);
  peer_init(&c, cc);
  ck_assert_int_eq(ohets_tls_connect(c.t), 0);
  pump(&s, &c);
  assert_up(&s, &c);
  ck_assert_str_eq(ohets_tls_version(s.t), "TLSv1.3");
  peer_free(&s);
  peer_free(&c);
  ohets_tls_ctx_release(sc);
  ohets_tls_ctx_release(cc);
}
END_TEST

START_TEST(test_rsa_server_certificate) {
  ohets_tls_ctx *sc =
      server_ctx_with("server-rsa.pem", "server-rsa.key", OHETS_TLS_CLIENT_CERT_REQUIRED, 12);
  ohets_tls_ctx *cc = client_ctx("client1", "ca.pem");
  char fp[65];
  openssl_fingerprint("server-rsa.pem", fp);
  for (int tls12 = 0; tls12 <= 1; tls12++) {
    peer s, c;
    pair(&s, &c, sc, cc, tls12);
    assert_up(&s, &c);
    ck_assert_str_eq(ohets_tls_cipher(s.t),
                     tls12 ? "ECDHE-RSA-AES128-GCM-SHA256" : "TLS_AES_128_GCM_SHA256");
    ck_assert_str_eq(ohets_tls_peer_sha256(c.t), fp);
    peer_free(&s);
    peer_free(&c);
  }
  ohets_tls_ctx_release(sc);
  ohets_tls_ctx_release(cc);
}
END_TEST

START_TEST(test_hostname_checked) {
  ohets_tls_ctx *sc = server_ctx(OHETS_TLS_CLIENT_CERT_NONE, 12);
  ohets_tls_ctx *cc = client_ctx(NULL, "ca.pem");
  static const struct {
    const char *host;
    const char *why; /* NULL: must work */
  } cases[] = {{"localhost", NULL}, {"127.0.0.1", NULL}, {"::1", "IP address mismatch"},
               {"example.com", "hostname mismatch"}, {"10.0.0.1", "IP address mismatch"}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    peer s, c;
    peer_init(&s, sc);
    peer_init(&c, cc);
    ck_assert_int_eq(ohets_tls_set_host(c.t, cases[i].host), 0);
    ck_assert_int_eq(ohets_tls_connect(c.t), 0);
    pump(&s, &c);
    if (cases[i].why == NULL) {
      assert_up(&s, &c);
    } else {
      ck_assert_int_eq(c.status, OHETS_TLS_EFAIL);
      ck_assert_msg(strstr(ohets_tls_error(c.t), cases[i].why) != NULL, "%s: %s",
                    cases[i].host, ohets_tls_error(c.t));
      ck_assert_int_eq(s.status, OHETS_TLS_EFAIL); /* told by the client's alert */
    }
    peer_free(&s);
    peer_free(&c);
  }
  peer c;
  peer_init(&c, cc);
  ck_assert_int_eq(ohets_tls_set_host(c.t, ""), -EINVAL);
  peer_free(&c);
  ohets_tls_ctx_release(sc);
  ohets_tls_ctx_release(cc);
}
END_TEST

START_TEST(test_server_verification) {
  ohets_tls_ctx *sc = server_ctx(OHETS_TLS_CLIENT_CERT_NONE, 12);
  /* No ca: the server is not verified at all. */
  ohets_tls_ctx *none = client_ctx(NULL, NULL);
  peer s, c;
  pair(&s, &c, sc, none, 0);
  assert_up(&s, &c);
  peer_free(&s);
  peer_free(&c);
  /* A ca that did not sign the server's certificate. */
  ohets_tls_ctx *other = client_ctx(NULL, "ca2.pem");
  pair(&s, &c, sc, other, 0);
  ck_assert_int_eq(c.status, OHETS_TLS_EFAIL);
  ck_assert_msg(strstr(ohets_tls_error(c.t),
                       "certificate verify failed: unable to get local issuer certificate"),
                "%s", ohets_tls_error(c.t));
  ck_assert_int_eq(s.status, OHETS_TLS_EFAIL);
  peer_free(&s);
  peer_free(&c);
  ohets_tls_ctx_release(sc);
  ohets_tls_ctx_release(none);
  ohets_tls_ctx_release(other);
}
END_TEST

/* ------------------------------------------------------------ data */

static void fill(unsigned char *p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++)
    p[i] = (unsigned char)((i * 131u + seed) ^ (i >> 9));
}

START_TEST(test_data_both_ways) {
  ohets_tls_ctx *sc = server_ctx(OHETS_TLS_CLIENT_CERT_REQUIRED, 12);
  ohets_tls_ctx *cc = client_ctx("client1", "ca.pem");
  peer s, c;
  pair(&s, &c, sc, cc, _i);
  assert_up(&s, &c);

  ck_assert_int_eq(ohets_tls_write(c.t, "ISA*00*", 7), 0);
  ck_assert_int_eq(ohets_tls_write(c.t, "~IEA*1~", 7), 0);
  pump(&s, &c);
  ck_assert_uint_eq(s.got_len, 14);
  ck_assert_int_eq(memcmp(s.got, "ISA*00*~IEA*1~", 14), 0);
  ck_assert_int_eq(ohets_tls_write(s.t, "271", 3), 0);
  pump(&s, &c);
  ck_assert_uint_eq(c.got_len, 3);
  ck_assert_int_eq(ohets_tls_write(s.t, "", 0), 0);

  size_t big = (size_t)1 << 20;
  unsigned char *a = malloc(big), *b = malloc(big);
  ck_assert_ptr_nonnull(a);
  ck_assert_ptr_nonnull(b);
  fill(a, big, 7);
  fill(b, big, 99);
  s.got_len = c.got_len = 0;
  ck_assert_int_eq(ohets_tls_write(s.t, a, big), 0);
  /* All of one write comes out in one piece (one socket write). */
  const void *p;
  size_t n = ohets_tls_out(s.t, &p);
  ck_assert_uint_gt(n, big);
  ck_assert_uint_eq(n, ohets_tls_out_pending(s.t));
  ck_assert_int_eq(ohets_tls_write(c.t, b, big), 0);
  pump(&s, &c);
  ck_assert_uint_eq(c.got_len, big);
  ck_assert_int_eq(memcmp(c.got, a, big), 0);
  ck_assert_uint_eq(s.got_len, big);
  ck_assert_int_eq(memcmp(s.got, b, big), 0);
  free(a);
  free(b);
  peer_free(&s);
  peer_free(&c);
  ohets_tls_ctx_release(sc);
  ohets_tls_ctx_release(cc);
}
END_TEST

START_TEST(test_write_before_handshake) {
  ohets_tls_ctx *sc = server_ctx(OHETS_TLS_CLIENT_CERT_NONE, 12);
  ohets_tls_ctx *cc = client_ctx(NULL, "ca.pem");
  peer s, c;
  peer_init(&s, sc);
  peer_init(&c, cc);
  /* A tool writes its inquiry as soon as it connects, then closes. */
  ck_assert_int_eq(ohets_tls_write(c.t, "early ", 6), 0);
  ck_assert_int_eq(ohets_tls_write(c.t, "bytes", 5), 0);
  ck_assert_int_eq(ohets_tls_connect(c.t), 0);
  ohets_tls_shutdown(c.t);
  ck_assert_int_eq(ohets_tls_write(c.t, "late", 4), -EPIPE);
  pump(&s, &c);
  ck_assert_int_eq(ohets_tls_handshake_done(s.t), 1);
  ck_assert_uint_eq(s.got_len, 11);
  ck_assert_int_eq(memcmp(s.got, "early bytes", 11), 0);
  ck_assert_int_eq(s.status, OHETS_TLS_EOF);
  peer_free(&s);
  peer_free(&c);
  ohets_tls_ctx_release(sc);
  ohets_tls_ctx_release(cc);
}
END_TEST

START_TEST(test_out_bytes_stay_put) {
  ohets_tls_ctx *sc = server_ctx(OHETS_TLS_CLIENT_CERT_NONE, 12);
  ohets_tls_ctx *cc = client_ctx(NULL, "ca.pem");
  peer s, c;
  pair(&s, &c, sc, cc, 0);
  assert_up(&s, &c);
  char msg[300];
  memset(msg, 'A', sizeof msg);
  ck_assert_int_eq(ohets_tls_write(s.t, msg, sizeof msg), 0);
  const void *p1;
  size_t n1 = ohets_tls_out(s.t, &p1);
  ck_assert_uint_gt(n1, sizeof msg);
  unsigned char copy[1024];
  ck_assert_uint_le(n1, sizeof copy);
  memcpy(copy, p1, n1);
  /* As if p1 were in a uv_write: more output (small and large) meanwhile. */
  for (int i = 0; i < 50; i++)
    ck_assert_int_eq(ohets_tls_write(s.t, msg, sizeof msg), 0);
  static unsigned char big[200000];
  ck_assert_int_eq(ohets_tls_write(s.t, big, sizeof big), 0);
  const void *p2;
  size_t n2 = ohets_tls_out(s.t, &p2);
  ck_assert_ptr_eq(p1, p2);
  ck_assert_uint_ge(n2, n1);
  ck_assert_int_eq(memcmp(p2, copy, n1), 0);
  /* Consumed in odd pieces, the stream still decrypts. */
  size_t total = ohets_tls_out_pending(s.t);
  const void *p;
  size_t n, moved = 0;
  while ((n = ohets_tls_out(s.t, &p)) > 0) {
    size_t k = n > 777 ? 777 : n;
    ck_assert_int_eq(ohets_tls_feed(c.t, p, k), 0);
    ohets_tls_out_consume(s.t, k);
    moved += k;
  }
  ck_assert_uint_eq(moved, total);
  ck_assert_ptr_null(p);
  pump(&s, &c);
  ck_assert_uint_eq(c.got_len, 51 * sizeof msg + sizeof big);
  peer_free(&s);
  peer_free(&c);
  ohets_tls_ctx_release(sc);
  ohets_tls_ctx_release(cc);
}
END_TEST

START_TEST(test_bounds) {
  ohets_tls_ctx *sc = server_ctx(OHETS_TLS_CLIENT_CERT_NONE, 12);
  ohets_tls_ctx *cc = client_ctx(NULL, "ca.pem");
  peer s, c;
  pair(&s, &c, sc, cc, 0);
  assert_up(&s, &c);
  /* Refused by size before a byte is read, so a small buffer stands in. */
  static const char one[1] = {'x'};
  ck_assert_int_eq(ohets_tls_write(s.t, one, OHETS_TLS_OUT_MAX + 1), -ENOBUFS);
  ck_assert_int_eq(ohets_tls_write(s.t, one, OHETS_TLS_OUT_MAX), -ENOBUFS);
  ck_assert_uint_eq(ohets_tls_out_pending(s.t), 0);
  peer early;
  peer_init(&early, cc);
  ck_assert_int_eq(ohets_tls_write(early.t, one, OHETS_TLS_OUT_MAX / 2 + 1), -ENOBUFS);
  ck_assert_int_eq(ohets_tls_write(early.t, one, 1), 0);
  peer_free(&early);
  /* Input not read past its bound. */
  unsigned char *junk = calloc(1, OHETS_TLS_IN_MAX);
  ck_assert_ptr_nonnull(junk);
  ck_assert_int_eq(ohets_tls_feed(c.t, junk, OHETS_TLS_IN_MAX), 0);
  ck_assert_int_eq(ohets_tls_feed(c.t, junk, 1), -ENOBUFS);
  free(junk);
  /* Still usable the other way. */
  ck_assert_int_eq(ohets_tls_write(c.t, "ok", 2), 0);
  move(c.t, s.t);
  drain(&s);
  ck_assert_uint_eq(s.got_len, 2);
  peer_free(&s);
  peer_free(&c);
  ohets_tls_ctx_release(sc);
  ohets_tls_ctx_release(cc);
}
END_TEST

/* ------------------------------------------------------------ client certificates */

START_TEST(test_client_cert_required) {
  ohets_tls_ctx *sc = server_ctx(OHETS_TLS_CLIENT_CERT_REQUIRED, 12);
  static const char *const names[] = {"client1", "client2"};
  for (size_t i = 0; i < 2; i++) {
    ohets_tls_ctx *cc = client_ctx(names[i], "ca.pem");
    peer s, c;
    pair(&s, &c, sc, cc, _i);
    assert_up(&s, &c);
    char pem[32], fp[65];
    snprintf(pem, sizeof pem, "%s.pem", names[i]);
    openssl_fingerprint(pem, fp);
    ck_assert_str_eq(ohets_tls_peer_sha256(s.t), fp);
    peer_free(&s);
    peer_free(&c);
    ohets_tls_ctx_release(cc);
  }
  ohets_tls_ctx_release(sc);
}
END_TEST

START_TEST(test_client_cert_optional) {
  ohets_tls_ctx *sc = server_ctx(OHETS_TLS_CLIENT_CERT_OPTIONAL, 12);
  ohets_tls_ctx *with = client_ctx("client2", "ca.pem");
  ohets_tls_ctx *without = client_ctx(NULL, "ca.pem");
  peer s, c;
  char fp[65];
  openssl_fingerprint("client2.pem", fp);
  pair(&s, &c, sc, with, _i);
  assert_up(&s, &c);
  ck_assert_str_eq(ohets_tls_peer_sha256(s.t), fp);
  peer_free(&s);
  peer_free(&c);
  pair(&s, &c, sc, without, _i);
  assert_up(&s, &c);
  ck_assert_str_eq(ohets_tls_peer_sha256(s.t), "");
  peer_free(&s);
  peer_free(&c);
  ohets_tls_ctx_release(sc);
  ohets_tls_ctx_release(with);
  ohets_tls_ctx_release(without);
}
END_TEST

START_TEST(test_client_cert_none) {
  ohets_tls_ctx *sc = server_ctx(OHETS_TLS_CLIENT_CERT_NONE, 12);
  ohets_tls_ctx *cc = client_ctx("client1", "ca.pem");
  peer s, c;
  pair(&s, &c, sc, cc, _i);
  assert_up(&s, &c);
  ck_assert_str_eq(ohets_tls_peer_sha256(s.t), ""); /* not asked for, not sent */
  peer_free(&s);
  peer_free(&c);
  ohets_tls_ctx_release(sc);
  ohets_tls_ctx_release(cc);
}
END_TEST

/* Each bad certificate fails against required and optional, TLS 1.3 and
 * 1.2, with its reason on the server and an alert on the client. */
START_TEST(test_bad_client_certs) {
  static const struct {
    const char *name, *server_why, *client_why;
  } cases[] = {
      {"client-expired", "handshake: certificate verify failed: certificate has expired",
       "the peer sent alert \"certificate expired\""},
      {"client-untrusted",
       "handshake: certificate verify failed: unable to get local issuer certificate",
       "the peer sent alert \"unknown CA\""},
      {"client-wrongpurpose", "handshake: certificate verify failed: unsuitable certificate purpose",
       "the peer sent alert \"unsupported certificate\""},
  };
  for (int mode = 0; mode < 2; mode++) {
    ohets_tls_ctx *sc = server_ctx(
        mode ? OHETS_TLS_CLIENT_CERT_OPTIONAL : OHETS_TLS_CLIENT_CERT_REQUIRED, 12);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
      ohets_tls_ctx *cc = client_ctx(cases[i].name, "ca.pem");
      peer s, c;
      pair(&s, &c, sc, cc, _i);
      ck_assert_int_eq(s.status, OHETS_TLS_EFAIL);
      ck_assert_int_eq(ohets_tls_handshake_done(s.t), 0);
      ck_assert_msg(strcmp(ohets_tls_error(s.t), cases[i].server_why) == 0, "%s: %s",
                    cases[i].name, ohets_tls_error(s.t));
      ck_assert_msg(c.status == OHETS_TLS_EFAIL &&
                        strstr(ohets_tls_error(c.t), cases[i].client_why) != NULL,
                    "%s: client %ld %s", cases[i].name, c.status, ohets_tls_error(c.t));
      ck_assert_str_eq(ohets_tls_peer_sha256(s.t), "");
      ck_assert_uint_eq(s.got_len, 0);
      peer_free(&s);
      peer_free(&c);
      ohets_tls_ctx_release(cc);
    }
    ohets_tls_ctx_release(sc);
  }
}
END_TEST

START_TEST(test_required_without_cert) {
  ohets_tls_ctx *sc = server_ctx(OHETS_TLS_CLIENT_CERT_REQUIRED, 12);
  ohets_tls_ctx *cc = client_ctx(NULL, "ca.pem");
  peer s, c;
  pair(&s, &c, sc, cc, _i);
  /* The client's inquiry, sent once its side of the handshake is done, is
   * never read as plaintext by the server. */
  ck_assert_int_eq(s.status, OHETS_TLS_EFAIL);
  ck_assert_msg(strstr(ohets_tls_error(s.t), "peer did not return a certificate"), "%s",
                ohets_tls_error(s.t));
  ck_assert_int_eq(c.status, OHETS_TLS_EFAIL);
  ck_assert_msg(strstr(ohets_tls_error(c.t), _i ? "the peer sent alert \"handshake failure\""
                                               : "the peer sent alert \"certificate required\""),
                "%s", ohets_tls_error(c.t));
  peer_free(&s);
  peer_free(&c);
  ohets_tls_ctx_release(sc);
  ohets_tls_ctx_release(cc);
}
END_TEST

/* ------------------------------------------------------------ endings and bad input */

START_TEST(test_close_notify) {
  ohets_tls_ctx *sc = server_ctx(OHETS_TLS_CLIENT_CERT_NONE, 12);
  ohets_tls_ctx *cc = client_ctx(NULL, "ca.pem");
  peer s, c;
  pair(&s, &c, sc, cc, _i);
  assert_up(&s, &c);
  ck_assert_int_eq(ohets_tls_write(c.t, "last", 4), 0);
  ohets_tls_shutdown(c.t);
  ohets_tls_shutdown(c.t); /* once */
  ck_assert_int_eq(ohets_tls_write(c.t, "more", 4), -EPIPE);
  pump(&s, &c);
  ck_assert_uint_eq(s.got_len, 4);
  ck_assert_int_eq(s.status, OHETS_TLS_EOF);
  unsigned char buf[16];
  ck_assert_int_eq(ohets_tls_read(s.t, buf, sizeof buf), OHETS_TLS_EOF); /* sticky */
  ck_assert_str_eq(ohets_tls_error(s.t), "");
  /* The server may still answer, then closes too. */
  ck_assert_int_eq(ohets_tls_write(s.t, "answer", 6), 0);
  ohets_tls_shutdown(s.t);
  pump(&s, &c);
  ck_assert_uint_eq(c.got_len, 6);
  ck_assert_int_eq(c.status, OHETS_TLS_EOF);
  peer_free(&s);
  peer_free(&c);
  ohets_tls_ctx_release(sc);
  ohets_tls_ctx_release(cc);
}
END_TEST

START_TEST(test_plaintext_on_tls_port) {
  ohets_tls_ctx *sc = server_ctx(OHETS_TLS_CLIENT_CERT_REQUIRED, 12);
  peer s;
  peer_init(&s, sc);
  /* A plain-TCP submitter's wrapped 270 (DESIGN §3). */
  static const char wrapped[] = "\x01"
                                "0000000106"
                                "\x02"
                                "ISA*00*          *00*          *ZZ*TESTSUB1       *ZZ*CMS";
  ck_assert_int_eq(ohets_tls_feed(s.t, wrapped, sizeof wrapped - 1), 0);
  unsigned char buf[256];
  ck_assert_int_eq(ohets_tls_read(s.t, buf, sizeof buf), OHETS_TLS_EFAIL);
  ck_assert_str_eq(ohets_tls_error(s.t),
                   "handshake: not TLS (the peer's first byte is 0x01: plain text?)");
  ck_assert_int_eq(ohets_tls_read(s.t, buf, sizeof buf), OHETS_TLS_EFAIL);
  ck_assert_int_eq(ohets_tls_feed(s.t, wrapped, 10), 0); /* dropped */
  /* No plaintext of the request is echoed into the error. */
  ck_assert_ptr_null(strstr(ohets_tls_error(s.t), "ISA"));
  peer_free(&s);

  /* An HTTP request, and a plain "GET" that looks like nothing. */
  peer_init(&s, sc);
  ck_assert_int_eq(ohets_tls_feed(s.t, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27), 0);
  ck_assert_int_eq(ohets_tls_read(s.t, buf, sizeof buf), OHETS_TLS_EFAIL);
  ck_assert_msg(strstr(ohets_tls_error(s.t), "0x47"), "%s", ohets_tls_error(s.t));
  peer_free(&s);
  ohets_tls_ctx_release(sc);
}
END_TEST

START_TEST(test_garbage_after_handshake) {
  ohets_tls_ctx *sc = server_ctx(OHETS_TLS_CLIENT_CERT_NONE, 12);
  ohets_tls_ctx *cc = client_ctx(NULL, "ca.pem");
  peer s, c;
  pair(&s, &c, sc, cc, _i);
  assert_up(&s, &c);
  /* A record header that claims application data, then noise. */
  unsigned char junk[200];
  fill(junk, sizeof junk, 3);
  junk[0] = 0x17;
  junk[1] = 0x03;
  junk[2] = 0x03;
  junk[3] = 0x00;
  junk[4] = 0x40;
  ck_assert_int_eq(ohets_tls_feed(s.t, junk, sizeof junk), 0);
  drain(&s);
  ck_assert_int_eq(s.status, OHETS_TLS_EFAIL);
  ck_assert_msg(strncmp(ohets_tls_error(s.t), "record: ", 8) == 0, "%s", ohets_tls_error(s.t));
  ck_assert_int_eq(ohets_tls_write(s.t, "x", 1), -EPIPE);
  peer_free(&s);
  peer_free(&c);
  ohets_tls_ctx_release(sc);
  ohets_tls_ctx_release(cc);
}
END_TEST

/* Records arriving a byte at a time, and connections freed in the middle
 * of one: no crash, no leak. */
START_TEST(test_truncated_records) {
  ohets_tls_ctx *sc = server_ctx(OHETS_TLS_CLIENT_CERT_REQUIRED, 12);
  ohets_tls_ctx *cc = client_ctx("client1", "ca.pem");
  peer s, c;
  peer_init(&s, sc);
  peer_init(&c, cc);
  ck_assert_int_eq(ohets_tls_connect(c.t), 0);
  for (int round = 0; round < 20; round++) {
    peer *from = round % 2 ? &s : &c, *to = round % 2 ? &c : &s;
    const void *p;
    size_t n;
    while ((n = ohets_tls_out(from->t, &p)) > 0) {
      for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(ohets_tls_feed(to->t, (const char *)p + i, 1), 0);
        drain(to);
      }
      ohets_tls_out_consume(from->t, n);
    }
    drain(from);
  }
  assert_up(&s, &c);
  /* Half a record, then the connection goes away. */
  ck_assert_int_eq(ohets_tls_write(c.t, "0123456789", 10), 0);
  const void *p;
  size_t n = ohets_tls_out(c.t, &p);
  ck_assert_uint_gt(n, 10);
  ck_assert_int_eq(ohets_tls_feed(s.t, p, n / 2), 0);
  drain(&s);
  ck_assert_int_eq(s.status, 0);
  ck_assert_uint_eq(s.got_len, 0);
  peer_free(&s);
  peer_free(&c);
  /* Half a ClientHello. */
  peer_init(&s, sc);
  peer_init(&c, cc);
  ck_assert_int_eq(ohets_tls_connect(c.t), 0);
  n = ohets_tls_out(c.t, &p);
  ck_assert_int_eq(ohets_tls_feed(s.t, p, n - 1), 0);
  drain(&s);
  ck_assert_int_eq(s.status, 0);
  ck_assert_int_eq(ohets_tls_handshake_done(s.t), 0);
  peer_free(&s);
  peer_free(&c);
  ohets_tls_ctx_release(sc);
  ohets_tls_ctx_release(cc);
}
END_TEST

/* TLS 1.2: the client asks to renegotiate (a ClientHello after the
 * handshake); the server answers no_renegotiation and goes no further. */
START_TEST(test_renegotiation_by_client_refused) {
  ohets_tls_ctx *sc = server_ctx(OHETS_TLS_CLIENT_CERT_REQUIRED, 12);
  ohets_tls_ctx *cc = client_ctx("client1", "ca.pem");
  peer s, c;
  pair(&s, &c, sc, cc, 1);
  assert_up(&s, &c);
  SSL *cs = ohets_tls__ssl(c.t);
  SSL_clear_options(cs, SSL_OP_NO_RENEGOTIATION); /* our client would not */
  ck_assert_int_eq(SSL_renegotiate(cs), 1);
  SSL_do_handshake(cs);
  ck_assert_uint_gt(move(c.t, s.t), 0); /* the ClientHello */
  drain(&s);
  const void *p;
  size_t n = ohets_tls_out(s.t, &p);
  ck_assert_uint_gt(n, 0);
  ck_assert_int_eq(((const unsigned char *)p)[0], 0x15); /* an alert, not a ServerHello */
  ck_assert_uint_eq(n, ohets_tls_out_pending(s.t));     /* and nothing else */
  pump(&s, &c);
  /* OpenSSL's client gives up (fatal) on no_renegotiation and tells the
   * server, which ends with the alert's reason; nothing else happened. */
  ck_assert_int_eq(c.status, OHETS_TLS_EFAIL);
  ck_assert_msg(strstr(ohets_tls_error(c.t), "no renegotiation"), "%s", ohets_tls_error(c.t));
  ck_assert_int_eq(s.status, OHETS_TLS_EFAIL);
  ck_assert_msg(strstr(ohets_tls_error(s.t), "record: ") == ohets_tls_error(s.t), "%s",
                ohets_tls_error(s.t));
  ck_assert_int_eq(SSL_renegotiate_pending(ohets_tls__ssl(s.t)), 0);
  ck_assert_uint_eq(s.got_len, 0);
  peer_free(&s);
  peer_free(&c);
  ohets_tls_ctx_release(sc);
  ohets_tls_ctx_release(cc);
}
END_TEST

/* TLS 1.2: a server sends HelloRequest; our client does not renegotiate. */
START_TEST(test_renegotiation_by_server_refused) {
  ohets_tls_ctx *sc = server_ctx(OHETS_TLS_CLIENT_CERT_NONE, 12);
  ohets_tls_ctx *cc = client_ctx(NULL, "ca.pem");
  peer s, c;
  pair(&s, &c, sc, cc, 1);
  assert_up(&s, &c);
  SSL *ss = ohets_tls__ssl(s.t);
  SSL_clear_options(ss, SSL_OP_NO_RENEGOTIATION);
  ck_assert_int_eq(SSL_renegotiate(ss), 1);
  SSL_do_handshake(ss);
  ck_assert_uint_gt(move(s.t, c.t), 0); /* the HelloRequest */
  drain(&c);
  const void *p;
  size_t n = ohets_tls_out(c.t, &p);
  ck_assert_uint_gt(n, 0);
  ck_assert_int_eq(((const unsigned char *)p)[0], 0x15); /* no_renegotiation, no ClientHello */
  ck_assert_uint_eq(n, ohets_tls_out_pending(c.t));
  ck_assert_int_eq(c.status, 0);
  pump(&s, &c);
  ck_assert_msg(c.status == 0 || c.status == OHETS_TLS_EFAIL, "%ld", c.status);
  ck_assert_uint_eq(c.got_len, 0);
  peer_free(&s);
  peer_free(&c);
  ohets_tls_ctx_release(sc);
  ohets_tls_ctx_release(cc);
}
END_TEST

/* ------------------------------------------------------------ sessions and contexts */

START_TEST(test_session_resumption) {
  ohets_tls_ctx *sc = server_ctx(OHETS_TLS_CLIENT_CERT_REQUIRED, 12);
  ohets_tls_ctx *cc = client_ctx("client1", "ca.pem");
  ohets_tls_ctx_set_resume(cc, 1);
  char fp[65];
  openssl_fingerprint("client1.pem", fp);
  for (int k = 0; k < 3; k++) {
    peer s, c;
    pair(&s, &c, sc, cc, _i);
    assert_up(&s, &c);
    /* The TLS 1.3 ticket comes after the handshake: the client reads it
     * with the answer. */
    ck_assert_int_eq(ohets_tls_write(s.t, "271", 3), 0);
    pump(&s, &c);
    ck_assert_uint_eq(c.got_len, 3);
    ck_assert_int_eq(ohets_tls_resumed(s.t), k > 0);
    ck_assert_int_eq(ohets_tls_resumed(c.t), k > 0);
    ck_assert_str_eq(ohets_tls_peer_sha256(s.t), fp); /* the partner check still works */
    ck_assert_str_eq(ohets_tls_version(s.t), _i ? "TLSv1.2" : "TLSv1.3");
    peer_free(&s);
    peer_free(&c);
  }
  /* Off (the default): every handshake is a full one. */
  ohets_tls_ctx *full = client_ctx("client1", "ca.pem");
  for (int k = 0; k < 2; k++) {
    peer s, c;
    pair(&s, &c, sc, full, _i);
    ck_assert_int_eq(ohets_tls_write(s.t, "271", 3), 0);
    pump(&s, &c);
    ck_assert_int_eq(ohets_tls_resumed(s.t), 0);
    peer_free(&s);
    peer_free(&c);
  }
  /* A ticket from another context (a reload) is not honoured: full. */
  ohets_tls_ctx *reloaded = server_ctx(OHETS_TLS_CLIENT_CERT_REQUIRED, 12);
  peer s, c;
  pair(&s, &c, reloaded, cc, _i);
  assert_up(&s, &c);
  ck_assert_int_eq(ohets_tls_resumed(s.t), 0);
  ck_assert_str_eq(ohets_tls_peer_sha256(s.t), fp);
  peer_free(&s);
  peer_free(&c);
  ohets_tls_ctx_release(reloaded);
  ohets_tls_ctx_release(full);
  ohets_tls_ctx_release(sc);
  ohets_tls_ctx_release(cc);
}
END_TEST

/* SIGHUP: the listener swaps contexts and drops its reference; a
 * connection made with the old one carries on and frees it last. */
START_TEST(test_ctx_hold_release) {
  ohets_tls_ctx *old = server_ctx(OHETS_TLS_CLIENT_CERT_REQUIRED, 12);
  ohets_tls_ctx *cc = client_ctx("client1", "ca.pem");
  ck_assert_ptr_eq(ohets_tls_ctx_hold(old), old);
  ohets_tls_ctx_release(old);
  peer s, c;
  peer_init(&s, old);
  peer_init(&c, cc);
  ck_assert_int_eq(ohets_tls_connect(c.t), 0);
  ck_assert_int_eq(ohets_tls_connect(c.t), 0); /* twice: nothing more */
  ohets_tls_ctx_release(old);                  /* the listener's reference */
  ohets_tls_ctx *fresh = server_ctx(OHETS_TLS_CLIENT_CERT_NONE, 12);
  pump(&s, &c);
  assert_up(&s, &c);
  ck_assert_int_eq(ohets_tls_write(c.t, "x", 1), 0);
  pump(&s, &c);
  ck_assert_uint_eq(s.got_len, 1);
  peer_free(&s); /* frees the old context */
  peer_free(&c);
  ohets_tls_ctx_release(fresh);
  ohets_tls_ctx_release(cc);
  ohets_tls_ctx_release(NULL);
  ohets_tls_free(NULL);
}
END_TEST

START_TEST(test_ctx_errors) {
  ohets_tls_ctx *c = (ohets_tls_ctx *)1;
  char err[512];
  char cert[600], key[600], ca[600], missing[600], enc[600];
  snprintf(cert, sizeof cert, "%s", P("server.pem"));
  snprintf(key, sizeof key, "%s", P("server.key"));
  snprintf(ca, sizeof ca, "%s", P("ca.pem"));
  snprintf(missing, sizeof missing, "%s", P("nope.pem"));

  ohets_tls_settings s = {missing, key, NULL, OHETS_TLS_CLIENT_CERT_NONE, 12};
  ck_assert_int_eq(ohets_tls_ctx_server(&c, &s, err, sizeof err), -ENOENT);
  ck_assert_ptr_null(c);
  char want[800];
  snprintf(want, sizeof want, "certificate %s: No such file or directory", missing);
  ck_assert_str_eq(err, want);

  s = (ohets_tls_settings){cert, missing, NULL, OHETS_TLS_CLIENT_CERT_NONE, 12};
  ck_assert_int_eq(ohets_tls_ctx_server(&c, &s, err, sizeof err), -ENOENT);
  snprintf(want, sizeof want, "key %s: No such file or directory", missing);
  ck_assert_str_eq(err, want);

  /* Another key of the same type; then a key of another type. */
  s = (ohets_tls_settings){cert, P("client1.key"), NULL, OHETS_TLS_CLIENT_CERT_NONE, 12};
  ck_assert_int_eq(ohets_tls_ctx_server(&c, &s, err, sizeof err), -EINVAL);
  ck_assert_msg(strstr(err, "does not match certificate"), "%s", err);
  s = (ohets_tls_settings){cert, P("server-rsa.key"), NULL, OHETS_TLS_CLIENT_CERT_NONE, 12};
  ck_assert_int_eq(ohets_tls_ctx_server(&c, &s, err, sizeof err), -EINVAL);
  ck_assert_msg(strstr(err, "does not match certificate"), "%s", err);

  /* A key file holding a certificate; a certificate file holding a key. */
  s = (ohets_tls_settings){cert, cert, NULL, OHETS_TLS_CLIENT_CERT_NONE, 12};
  ck_assert_int_eq(ohets_tls_ctx_server(&c, &s, err, sizeof err), -EINVAL);
  ck_assert_msg(strncmp(err, "key ", 4) == 0 && strstr(err, "not a PEM private key"), "%s", err);
  s = (ohets_tls_settings){key, key, NULL, OHETS_TLS_CLIENT_CERT_NONE, 12};
  ck_assert_int_eq(ohets_tls_ctx_server(&c, &s, err, sizeof err), -EINVAL);
  ck_assert_msg(strncmp(err, "certificate ", 12) == 0 && strstr(err, "no start line"), "%s", err);

  /* An encrypted key fails to load; nobody is asked for a passphrase. */
  snprintf(enc, sizeof enc, "%s", P("enc.key"));
  char cmd[1500];
  snprintf(cmd, sizeof cmd, "openssl pkey -in '%s' -aes256 -passout pass:secret -out '%s'", key,
           enc);
  ck_assert_int_eq(system(cmd), 0);
  s = (ohets_tls_settings){cert, enc, NULL, OHETS_TLS_CLIENT_CERT_NONE, 12};
  ck_assert_int_eq(ohets_tls_ctx_server(&c, &s, err, sizeof err), -EINVAL);
  snprintf(want, sizeof want, "key %s is encrypted (give it without a passphrase; none is asked for)",
           enc);
  ck_assert_str_eq(err, want);
  unlink(enc);

  /* A directory is said to be one. */
  s = (ohets_tls_settings){certdir, key, NULL, OHETS_TLS_CLIENT_CERT_NONE, 12};
  ck_assert_int_eq(ohets_tls_ctx_server(&c, &s, err, sizeof err), -EISDIR);
  snprintf(want, sizeof want, "certificate %s: Is a directory", certdir);
  ck_assert_str_eq(err, want);

  /* CA problems and settings. */
  s = (ohets_tls_settings){cert, key, missing, OHETS_TLS_CLIENT_CERT_REQUIRED, 12};
  ck_assert_int_eq(ohets_tls_ctx_server(&c, &s, err, sizeof err), -ENOENT);
  ck_assert_msg(strncmp(err, "ca ", 3) == 0, "%s", err);
  s = (ohets_tls_settings){cert, key, key, OHETS_TLS_CLIENT_CERT_REQUIRED, 12};
  ck_assert_int_eq(ohets_tls_ctx_server(&c, &s, err, sizeof err), -EINVAL);
  ck_assert_msg(strncmp(err, "ca ", 3) == 0, "%s", err);
  s = (ohets_tls_settings){cert, key, missing, OHETS_TLS_CLIENT_CERT_NONE, 12};
  ck_assert_int_eq(ohets_tls_ctx_server(&c, &s, err, sizeof err), -ENOENT);
  s = (ohets_tls_settings){cert, key, NULL, OHETS_TLS_CLIENT_CERT_REQUIRED, 12};
  ck_assert_int_eq(ohets_tls_ctx_server(&c, &s, err, sizeof err), -EINVAL);
  ck_assert_str_eq(err, "TLS: client_cert required needs a ca to check certificates against");
  s = (ohets_tls_settings){cert, key, NULL, OHETS_TLS_CLIENT_CERT_OPTIONAL, 12};
  ck_assert_int_eq(ohets_tls_ctx_server(&c, &s, err, sizeof err), -EINVAL);
  s = (ohets_tls_settings){cert, key, ca, OHETS_TLS_CLIENT_CERT_REQUIRED, 11};
  ck_assert_int_eq(ohets_tls_ctx_server(&c, &s, err, sizeof err), -EINVAL);
  ck_assert_str_eq(err, "TLS: min_version must be 1.2 or 1.3");
  s = (ohets_tls_settings){cert, key, ca, (ohets_tls_client_cert)7, 12};
  ck_assert_int_eq(ohets_tls_ctx_server(&c, &s, err, sizeof err), -EINVAL);
  s = (ohets_tls_settings){NULL, key, ca, OHETS_TLS_CLIENT_CERT_REQUIRED, 12};
  ck_assert_int_eq(ohets_tls_ctx_server(&c, &s, err, sizeof err), -EINVAL);

  /* Client contexts. */
  ck_assert_int_eq(ohets_tls_ctx_client(&c, P("client1.pem"), NULL, ca, err, sizeof err),
                   -EINVAL);
  ck_assert_int_eq(ohets_tls_ctx_client(&c, NULL, NULL, missing, err, sizeof err), -ENOENT);
  ck_assert_int_eq(
      ohets_tls_ctx_client(&c, P("client1.pem"), P("client2.key"), ca, err, sizeof err),
      -EINVAL);
  ck_assert_msg(strstr(err, "does not match certificate"), "%s", err);
  ck_assert_ptr_null(c);

  /* A connection of the wrong kind. */
  ohets_tls_ctx *sc = server_ctx(OHETS_TLS_CLIENT_CERT_NONE, 12);
  ohets_tls *t = ohets_tls_new(sc);
  ck_assert_int_eq(ohets_tls_connect(t), -EINVAL);
  ck_assert_int_eq(ohets_tls_set_host(t, "localhost"), -EINVAL);
  ohets_tls_free(t);
  ohets_tls_ctx_release(sc);
}
END_TEST


/* ------------------------------------------------------------ main */

static int make_certs(void) {
  const char *top = getenv("top_srcdir");
  const char *tmp = getenv("TMPDIR");
  if (top == NULL || top[0] == '\0')
    top = OHETS_TOP_SRCDIR;
  snprintf(certdir, sizeof certdir, "%s/ohets-test-tls.XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
  if (mkdtemp(certdir) == NULL) {
    perror("test_tls: mkdtemp");
    return -1;
  }
  char cmd[1500];
  snprintf(cmd, sizeof cmd, "sh '%s/tests/tls/mkcerts.sh' '%s'", top, certdir);
  if (system(cmd) != 0) {
    fprintf(stderr, "test_tls: %s failed\n", cmd);
    return -1;
  }
  return 0;
}

static void remove_certs(void) {
  char cmd[600];
  if (certdir[0] == '\0' || strstr(certdir, "ohets-test-tls.") == NULL)
    return;
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", certdir);
  if (system(cmd) != 0)
    fprintf(stderr, "test_tls: could not remove %s\n", certdir);
}

static Suite *tls_suite(void) {
  Suite *s = suite_create("tls");
  TCase *tc = tcase_create("engine");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_handshake_tls13);
  tcase_add_test(tc, test_handshake_tls12);
  tcase_add_test(tc, test_min_version_13_refuses_12);
  tcase_add_test(tc, test_rsa_server_certificate);
  tcase_add_test(tc, test_hostname_checked);
  tcase_add_test(tc, test_server_verification);
  /* _i: 0 TLS 1.3, 1 TLS 1.2 */
  tcase_add_loop_test(tc, test_data_both_ways, 0, 2);
  tcase_add_test(tc, test_write_before_handshake);
  tcase_add_test(tc, test_out_bytes_stay_put);
  tcase_add_test(tc, test_bounds);
  tcase_add_loop_test(tc, test_client_cert_required, 0, 2);
  tcase_add_loop_test(tc, test_client_cert_optional, 0, 2);
  tcase_add_loop_test(tc, test_client_cert_none, 0, 2);
  tcase_add_loop_test(tc, test_bad_client_certs, 0, 2);
  tcase_add_loop_test(tc, test_required_without_cert, 0, 2);
  tcase_add_loop_test(tc, test_close_notify, 0, 2);
  tcase_add_test(tc, test_plaintext_on_tls_port);
  tcase_add_loop_test(tc, test_garbage_after_handshake, 0, 2);
  tcase_add_test(tc, test_truncated_records);
  tcase_add_test(tc, test_renegotiation_by_client_refused);
  tcase_add_test(tc, test_renegotiation_by_server_refused);
  tcase_add_loop_test(tc, test_session_resumption, 0, 2);
  tcase_add_test(tc, test_ctx_hold_release);
  tcase_add_test(tc, test_ctx_errors);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  if (make_certs() != 0) {
    remove_certs();
    return 1;
  }
  SRunner *sr = srunner_create(tls_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  remove_certs();
  return failed == 0 ? 0 : 1;
}
