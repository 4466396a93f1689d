/* The PayloadID cache (replay.h).
 *
 * Entries sit in a hash table (chained, keyed by submitter + PayloadID)
 * and on a list in insertion order: every entry lives ttl_ms, so the
 * oldest expire first and expiry is a walk from the list's head. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "server/replay.h"

typedef struct entry {
  struct entry *chain;          /* next in the hash bucket */
  struct entry *older, *newer;  /* insertion order */
  uint64_t born_ms;
  uint8_t sha[32];
  size_t bytes;                 /* counted against max_bytes */
  char key[80];                 /* submitter '\n' payload id */
  ohets_caqh_envelope answer;   /* values point into text, not owned */
  char text[];                  /* every value, NUL-terminated, one after another */
} entry;

struct ohets_srv_replay {
  pthread_mutex_t mu;
  entry **buckets;
  size_t n_buckets;             /* a power of two */
  entry *oldest, *newest;
  size_t count, bytes;
  size_t max_entries, max_bytes;
  uint64_t ttl_ms;
};

int ohets_srv_replay_new(ohets_srv_replay **out, size_t max_entries, size_t max_bytes,
                         uint64_t ttl_ms) {
  ohets_srv_replay *r = calloc(1, sizeof *r);
  if (r == NULL)
    return -ENOMEM;
  r->n_buckets = 64;
  while (r->n_buckets < max_entries && r->n_buckets < (1u << 20))
    r->n_buckets *= 2;
  r->buckets = calloc(r->n_buckets, sizeof *r->buckets);
  if (r->buckets == NULL) {
    free(r);
    return -ENOMEM;
  }
  pthread_mutex_init(&r->mu, NULL);
  r->max_entries = max_entries;
  r->max_bytes = max_bytes;
  r->ttl_ms = ttl_ms;
  *out = r;
  return 0;
}

static size_t hash_key(const char *k) {
  size_t h = 1469598103934665603ull; /* FNV-1a */
  for (; *k; k++)
    h = (h ^ (unsigned char)*k) * 1099511628211ull;
  return h;
}

static int make_key(char out[80], const char *submitter, const char *id, size_t id_len) {
  size_t sl = strlen(submitter);
  if (sl + 1 + id_len + 1 > 80)
    return -ENAMETOOLONG;
  memcpy(out, submitter, sl);
  out[sl] = '\n';
  memcpy(out + sl + 1, id, id_len);
  out[sl + 1 + id_len] = '\0';
  return 0;
}

/* An entry and its values are one allocation (one malloc per answer
 * cached, one free when it goes, whichever worker frees it). */
static entry *new_entry(const ohets_caqh_envelope *answer) {
  size_t text = 0;
  for (int f = 0; f < OHETS_CAQH_N_FIELDS; f++)
    if (answer->value[f] != NULL)
      text += answer->len[f] + 1;
  entry *e = calloc(1, sizeof *e + text);
  if (e == NULL)
    return NULL;
  char *p = e->text;
  for (int f = 0; f < OHETS_CAQH_N_FIELDS; f++) {
    if (answer->value[f] == NULL)
      continue;
    memcpy(p, answer->value[f], answer->len[f]);
    p[answer->len[f]] = '\0';
    e->answer.value[f] = p;
    e->answer.len[f] = answer->len[f];
    p += answer->len[f] + 1;
  }
  e->bytes = sizeof *e + text;
  return e;
}

static void free_entry(entry *e) {
  explicit_bzero(e, e->bytes); /* it held a 271 */
  free(e);
}

static entry **find_slot(ohets_srv_replay *r, const char *key) {
  entry **pp = &r->buckets[hash_key(key) & (r->n_buckets - 1)];
  while (*pp != NULL && strcmp((*pp)->key, key) != 0)
    pp = &(*pp)->chain;
  return pp;
}

static void remove_entry(ohets_srv_replay *r, entry *e) {
  entry **pp = find_slot(r, e->key);
  if (*pp == e)
    *pp = e->chain;
  if (e->older != NULL)
    e->older->newer = e->newer;
  else
    r->oldest = e->newer;
  if (e->newer != NULL)
    e->newer->older = e->older;
  else
    r->newest = e->older;
  r->count--;
  r->bytes -= e->bytes;
  free_entry(e);
}

static void expire(ohets_srv_replay *r, uint64_t now_ms) {
  while (r->oldest != NULL && now_ms - r->oldest->born_ms >= r->ttl_ms)
    remove_entry(r, r->oldest);
}

static int copy_envelope(ohets_caqh_envelope *dst, const ohets_caqh_envelope *src) {
  ohets_caqh_envelope_init(dst);
  for (int f = 0; f < OHETS_CAQH_N_FIELDS; f++)
    if (src->value[f] != NULL &&
        ohets_caqh_envelope_set(dst, (ohets_caqh_field)f, src->value[f], src->len[f]) != 0) {
      ohets_caqh_envelope_clear(dst);
      return -ENOMEM;
    }
  return 0;
}

ohets_srv_replay_result ohets_srv_replay_get(ohets_srv_replay *r, const char *submitter,
                                             const char *payload_id, size_t id_len,
                                             const uint8_t payload_sha256[32], uint64_t now_ms,
                                             ohets_caqh_envelope *answer) {
  char key[80];
  if (make_key(key, submitter, payload_id, id_len) != 0)
    return OHETS_SRV_REPLAY_MISS;
  ohets_srv_replay_result res = OHETS_SRV_REPLAY_MISS;
  pthread_mutex_lock(&r->mu);
  expire(r, now_ms);
  entry *e = *find_slot(r, key);
  if (e != NULL) {
    if (memcmp(e->sha, payload_sha256, 32) != 0)
      res = OHETS_SRV_REPLAY_DIFFERENT;
    else if (copy_envelope(answer, &e->answer) == 0)
      res = OHETS_SRV_REPLAY_SAME;
  }
  pthread_mutex_unlock(&r->mu);
  return res;
}

int ohets_srv_replay_put(ohets_srv_replay *r, const char *submitter, const char *payload_id,
                         size_t id_len, const uint8_t payload_sha256[32], uint64_t now_ms,
                         const ohets_caqh_envelope *answer) {
  entry *e = new_entry(answer);
  if (e == NULL)
    return -ENOMEM;
  if (make_key(e->key, submitter, payload_id, id_len) != 0) {
    free_entry(e);
    return -ENAMETOOLONG;
  }
  memcpy(e->sha, payload_sha256, 32);
  e->born_ms = now_ms;
  if (e->bytes > r->max_bytes) {
    free_entry(e);
    return -ENOBUFS;
  }
  pthread_mutex_lock(&r->mu);
  expire(r, now_ms);
  entry **slot = find_slot(r, e->key);
  if (*slot != NULL) /* two workers answered the same id at once: keep the first */
    goto done;
  while (r->oldest != NULL && (r->count + 1 > r->max_entries || r->bytes + e->bytes > r->max_bytes))
    remove_entry(r, r->oldest);
  slot = find_slot(r, e->key);
  *slot = e;
  e->older = r->newest;
  if (r->newest != NULL)
    r->newest->newer = e;
  else
    r->oldest = e;
  r->newest = e;
  r->count++;
  r->bytes += e->bytes;
  e = NULL;
done:
  pthread_mutex_unlock(&r->mu);
  if (e != NULL)
    free_entry(e);
  return 0;
}

size_t ohets_srv_replay_count(ohets_srv_replay *r) {
  pthread_mutex_lock(&r->mu);
  size_t n = r->count;
  pthread_mutex_unlock(&r->mu);
  return n;
}

void ohets_srv_replay_free(ohets_srv_replay *r) {
  if (r == NULL)
    return;
  while (r->oldest != NULL)
    remove_entry(r, r->oldest);
  pthread_mutex_destroy(&r->mu);
  free(r->buckets);
  free(r);
}
