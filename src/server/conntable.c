/* Connection table: open addressing on the 64-bit id, linear probing,
 * backward-shift deletion (no tombstones, so lookups never slow down as
 * connections come and go). */
#include <errno.h>
#include <stdlib.h>

#include "server/conntable.h"

typedef struct slot {
  uint64_t id; /* 0: empty */
  void *item;
} slot;

struct ohets_srv_conntable {
  slot *slots;
  size_t cap; /* a power of two, or 0 */
  size_t n;
};

static size_t home_of(uint64_t id, size_t cap) {
  return (size_t)((id * 0x9E3779B97F4A7C15ull) >> 20) & (cap - 1);
}

int ohets_srv_conntable_new(ohets_srv_conntable **out) {
  *out = calloc(1, sizeof **out);
  return *out != NULL ? 0 : -ENOMEM;
}

void ohets_srv_conntable_free(ohets_srv_conntable *t) {
  if (t == NULL)
    return;
  free(t->slots);
  free(t);
}

static void insert(slot *slots, size_t cap, uint64_t id, void *item) {
  size_t s = home_of(id, cap);
  while (slots[s].id != 0)
    s = (s + 1) & (cap - 1);
  slots[s].id = id;
  slots[s].item = item;
}

int ohets_srv_conntable_put(ohets_srv_conntable *t, uint64_t id, void *item) {
  if ((t->n + 1) * 2 > t->cap) { /* at most half full */
    size_t cap = t->cap ? t->cap * 2 : 1024;
    slot *bigger = calloc(cap, sizeof *bigger);
    if (bigger == NULL)
      return -ENOMEM;
    for (size_t i = 0; i < t->cap; i++)
      if (t->slots[i].id != 0)
        insert(bigger, cap, t->slots[i].id, t->slots[i].item);
    free(t->slots);
    t->slots = bigger;
    t->cap = cap;
  }
  insert(t->slots, t->cap, id, item);
  t->n++;
  return 0;
}

void *ohets_srv_conntable_get(const ohets_srv_conntable *t, uint64_t id) {
  if (t->cap == 0 || id == 0)
    return NULL;
  for (size_t s = home_of(id, t->cap); t->slots[s].id != 0; s = (s + 1) & (t->cap - 1))
    if (t->slots[s].id == id)
      return t->slots[s].item;
  return NULL;
}

void ohets_srv_conntable_del(ohets_srv_conntable *t, uint64_t id) {
  if (t->cap == 0 || id == 0)
    return;
  size_t mask = t->cap - 1;
  size_t s = home_of(id, t->cap);
  while (t->slots[s].id != 0 && t->slots[s].id != id)
    s = (s + 1) & mask;
  if (t->slots[s].id == 0)
    return;
  t->slots[s].id = 0;
  t->slots[s].item = NULL;
  t->n--;
  /* Shift the rest of the run back so lookups never stop early. */
  size_t hole = s;
  for (size_t j = (s + 1) & mask; t->slots[j].id != 0; j = (j + 1) & mask) {
    size_t home = home_of(t->slots[j].id, t->cap);
    int movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
    if (movable) {
      t->slots[hole] = t->slots[j];
      t->slots[j].id = 0;
      t->slots[j].item = NULL;
      hole = j;
    }
  }
}

size_t ohets_srv_conntable_count(const ohets_srv_conntable *t) { return t->n; }

uint64_t *ohets_srv_conntable_ids(const ohets_srv_conntable *t, size_t *n) {
  uint64_t *ids = malloc((t->n + 1) * sizeof *ids);
  *n = 0;
  if (ids == NULL)
    return NULL;
  for (size_t i = 0; i < t->cap; i++)
    if (t->slots[i].id != 0)
      ids[(*n)++] = t->slots[i].id;
  return ids;
}
