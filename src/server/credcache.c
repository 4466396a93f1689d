/* Passwords already checked (credcache.h). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "server/credcache.h"

typedef struct slot {
  uint8_t tag[32];  /* HMAC of user, password and PHC string */
  uint64_t born_ms;
  int used;
} slot;

struct ohets_srv_credcache {
  pthread_mutex_t mu;
  slot *slots;
  size_t n;         /* a power of two */
  uint64_t ttl_ms;
  uint8_t key[32];  /* random, this process only */
};

int ohets_srv_credcache_new(ohets_srv_credcache **out, size_t slots, uint64_t ttl_ms) {
  ohets_srv_credcache *c = calloc(1, sizeof *c);
  if (c == NULL)
    return -ENOMEM;
  c->n = 16;
  while (c->n < slots && c->n < (1u << 20))
    c->n *= 2;
  c->slots = calloc(c->n, sizeof *c->slots);
  if (c->slots == NULL || RAND_bytes(c->key, sizeof c->key) != 1) {
    free(c->slots);
    free(c);
    return -EIO;
  }
  pthread_mutex_init(&c->mu, NULL);
  c->ttl_ms = ttl_ms;
  *out = c;
  return 0;
}

void ohets_srv_credcache_free(ohets_srv_credcache *c) {
  if (c == NULL)
    return;
  OPENSSL_cleanse(c->slots, c->n * sizeof *c->slots);
  OPENSSL_cleanse(c->key, sizeof c->key);
  pthread_mutex_destroy(&c->mu);
  free(c->slots);
  free(c);
}

/* Each part with its length first, so no two inputs run together alike. */
static int tag_of(const ohets_srv_credcache *c, const char *user, size_t ul, const char *pw,
                  size_t pl, const char *phc, uint8_t tag[32]) {
  size_t hl = strlen(phc);
  uint64_t lens[3] = {ul, pl, hl};
  size_t n = sizeof lens + ul + pl + hl;
  uint8_t *buf = malloc(n);
  if (buf == NULL)
    return -ENOMEM;
  memcpy(buf, lens, sizeof lens);
  memcpy(buf + sizeof lens, user, ul);
  memcpy(buf + sizeof lens + ul, pw, pl);
  memcpy(buf + sizeof lens + ul + pl, phc, hl);
  unsigned int md_len = 0;
  int ok = HMAC(EVP_sha256(), c->key, sizeof c->key, buf, n, tag, &md_len) != NULL &&
           md_len == 32;
  OPENSSL_cleanse(buf, n); /* it held the password */
  free(buf);
  return ok ? 0 : -EIO;
}

static size_t slot_of(const ohets_srv_credcache *c, const uint8_t tag[32]) {
  uint64_t v;
  memcpy(&v, tag, sizeof v);
  return (size_t)(v & (c->n - 1));
}

int ohets_srv_credcache_hit(ohets_srv_credcache *c, const char *user, size_t user_len,
                            const char *password, size_t password_len, const char *phc,
                            uint64_t now_ms) {
  uint8_t tag[32];
  if (tag_of(c, user, user_len, password, password_len, phc, tag) != 0)
    return 0;
  pthread_mutex_lock(&c->mu);
  const slot *s = &c->slots[slot_of(c, tag)];
  int hit = s->used && now_ms - s->born_ms < c->ttl_ms && CRYPTO_memcmp(s->tag, tag, 32) == 0;
  pthread_mutex_unlock(&c->mu);
  return hit;
}

void ohets_srv_credcache_add(ohets_srv_credcache *c, const char *user, size_t user_len,
                             const char *password, size_t password_len, const char *phc,
                             uint64_t now_ms) {
  uint8_t tag[32];
  if (tag_of(c, user, user_len, password, password_len, phc, tag) != 0)
    return;
  pthread_mutex_lock(&c->mu);
  slot *s = &c->slots[slot_of(c, tag)];
  memcpy(s->tag, tag, sizeof tag);
  s->born_ms = now_ms;
  s->used = 1;
  pthread_mutex_unlock(&c->mu);
}
