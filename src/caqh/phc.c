/* scrypt PHC strings (phc.h): `$scrypt$ln=N,r=R,p=P$SALT$HASH`. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "caqh/phc.h"

#define SALT_MIN 8
#define SALT_MAX 64
#define HASH_MIN 16
#define HASH_MAX 64
#define HASH_LEN 32 /* what ohets_caqh_phc_hash writes */
#define MEM_MAX ((uint64_t)256 << 20)

typedef struct phc {
  unsigned ln, r, p;
  uint8_t salt[SALT_MAX];
  size_t salt_len;
  uint8_t hash[HASH_MAX];
  size_t hash_len;
} phc;

/* ---------------------------------------------------------------- base64 */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_value(char c) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+')
    return 62;
  if (c == '/')
    return 63;
  return -1;
}

/* Unpadded; out holds (n + 2) / 3 * 4 + 1 bytes. */
static size_t b64_encode(const uint8_t *in, size_t n, char *out) {
  size_t o = 0, i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
    out[o++] = b64_alphabet[v >> 18];
    out[o++] = b64_alphabet[(v >> 12) & 63];
    out[o++] = b64_alphabet[(v >> 6) & 63];
    out[o++] = b64_alphabet[v & 63];
  }
  if (n - i == 1) {
    out[o++] = b64_alphabet[in[i] >> 2];
    out[o++] = b64_alphabet[(in[i] & 3) << 4];
  } else if (n - i == 2) {
    uint32_t v = (uint32_t)in[i] << 8 | in[i + 1];
    out[o++] = b64_alphabet[v >> 10];
    out[o++] = b64_alphabet[(v >> 4) & 63];
    out[o++] = b64_alphabet[(v & 15) << 2];
  }
  out[o] = '\0';
  return o;
}

/* Strict: no padding, nothing outside the alphabet, and the bits past the
 * last whole byte zero, so each byte string has exactly one spelling. */
static int b64_decode(const char *s, size_t n, uint8_t *out, size_t cap, size_t *out_len) {
  if (n % 4 == 1 || n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0) > cap)
    return -EINVAL;
  uint32_t acc = 0;
  unsigned bits = 0;
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    int v = b64_value(s[i]);
    if (v < 0)
      return -EINVAL;
    acc = (acc << 6 | (uint32_t)v) & 0xFFFFFF;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (uint8_t)(acc >> bits);
    }
  }
  if ((acc & ((1u << bits) - 1)) != 0)
    return -EINVAL;
  *out_len = o;
  return 0;
}

/* ----------------------------------------------------------------- costs */

/* What OpenSSL's scrypt allocates (B, then V with X and T), which its
 * maxmem is compared with. */
static uint64_t scrypt_mem(unsigned ln, unsigned r, unsigned p) {
  return (uint64_t)128 * r * p + (uint64_t)128 * r * (((uint64_t)1 << ln) + 2);
}

/* The header's ranges, OpenSSL's N < 2^(16 r) (so r = 1 allows ln 15 at
 * most), and no more than MEM_MAX of memory per derivation. */
static int costs_ok(unsigned ln, unsigned r, unsigned p) {
  if (ln < 1 || ln > 20 || r < 1 || r > 32 || p < 1 || p > 16)
    return 0;
  if (ln >= 16 * r)
    return 0;
  return scrypt_mem(ln, r, p) <= MEM_MAX;
}

static int derive(const char *password, size_t n, const uint8_t *salt, size_t salt_len,
                  unsigned ln, unsigned r, unsigned p, uint8_t *key, size_t key_len) {
  if (EVP_PBE_scrypt(password != NULL ? password : "", n, salt, salt_len, (uint64_t)1 << ln, r, p,
                     scrypt_mem(ln, r, p), key, key_len) != 1) {
    OPENSSL_cleanse(key, key_len);
    return -ENOMEM; /* the costs were checked: what is left is allocation */
  }
  return 0;
}

/* ----------------------------------------------------------------- parse */

/* A decimal 1..999 without leading zeros, then the character end. */
static int read_uint(const char **s, char end, unsigned *out) {
  const char *c = *s;
  unsigned v = 0;
  size_t digits = 0;
  if (*c < '1' || *c > '9')
    return -EINVAL;
  while (*c >= '0' && *c <= '9') {
    if (++digits > 3)
      return -EINVAL;
    v = v * 10 + (unsigned)(*c++ - '0');
  }
  if (*c != end)
    return -EINVAL;
  *s = c + 1;
  *out = v;
  return 0;
}

static int parse(const char *s, phc *out) {
  static const char prefix[] = "$scrypt$ln=";
  if (s == NULL || strncmp(s, prefix, sizeof prefix - 1) != 0)
    return -EINVAL;
  s += sizeof prefix - 1;
  if (read_uint(&s, ',', &out->ln) != 0 || strncmp(s, "r=", 2) != 0)
    return -EINVAL;
  s += 2;
  if (read_uint(&s, ',', &out->r) != 0 || strncmp(s, "p=", 2) != 0)
    return -EINVAL;
  s += 2;
  if (read_uint(&s, '$', &out->p) != 0 || !costs_ok(out->ln, out->r, out->p))
    return -EINVAL;
  const char *dollar = strchr(s, '$');
  if (dollar == NULL ||
      b64_decode(s, (size_t)(dollar - s), out->salt, sizeof out->salt, &out->salt_len) != 0 ||
      out->salt_len < SALT_MIN)
    return -EINVAL;
  s = dollar + 1;
  if (b64_decode(s, strlen(s), out->hash, sizeof out->hash, &out->hash_len) != 0 ||
      out->hash_len < HASH_MIN)
    return -EINVAL;
  return 0;
}

/* ------------------------------------------------------------------- API */

int ohets_caqh_phc_hash(const char *password, size_t n, const uint8_t *salt, size_t salt_len,
                        unsigned ln, unsigned r, unsigned p, char out[OHETS_CAQH_PHC_MAX]) {
  uint8_t key[HASH_LEN];
  char salt64[(SALT_MAX + 2) / 3 * 4 + 1], hash64[(HASH_LEN + 2) / 3 * 4 + 1];
  int rc;
  out[0] = '\0';
  if ((password == NULL && n > 0) || salt == NULL || salt_len < SALT_MIN ||
      salt_len > SALT_MAX || !costs_ok(ln, r, p)) {
    rc = -EINVAL;
    goto done;
  }
  rc = derive(password, n, salt, salt_len, ln, r, p, key, sizeof key);
  if (rc != 0)
    goto done;
  b64_encode(salt, salt_len, salt64);
  b64_encode(key, sizeof key, hash64);
  /* The longest (ln=20,r=32,p=16, a 64-byte salt) is 154 characters. */
  snprintf(out, OHETS_CAQH_PHC_MAX, "$scrypt$ln=%u,r=%u,p=%u$%s$%s", ln, r, p, salt64, hash64);
done:
  OPENSSL_cleanse(key, sizeof key);
  OPENSSL_cleanse(hash64, sizeof hash64);
  return rc;
}

int ohets_caqh_phc_parse_ok(const char *s) {
  phc h;
  return parse(s, &h);
}

int ohets_caqh_phc_verify(const char *s, const char *password, size_t n) {
  phc h;
  uint8_t key[HASH_MAX];
  int rc = parse(s, &h);
  if (rc == 0 && password == NULL && n > 0)
    rc = -EINVAL;
  if (rc != 0)
    goto done;
  rc = derive(password, n, h.salt, h.salt_len, h.ln, h.r, h.p, key, h.hash_len);
  if (rc != 0)
    goto done;
  rc = CRYPTO_memcmp(key, h.hash, h.hash_len) == 0;
done:
  OPENSSL_cleanse(key, sizeof key);
  OPENSSL_cleanse(&h, sizeof h);
  return rc;
}
