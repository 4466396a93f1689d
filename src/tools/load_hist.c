/* Log-linear latency histogram for hets-load (see load_hist.h). */
#include "tools/load_hist.h"

#include <math.h>

#define EXACT (2u * OHETS_LOAD_HIST_SUB) /* values below this have their own bucket */

static unsigned floor_log2(uint64_t v) { return 63u - (unsigned)__builtin_clzll(v); }

size_t ohets_load_hist_index(uint64_t value) {
  if (value < EXACT)
    return (size_t)value;
  unsigned k = floor_log2(value); /* >= 8 */
  uint64_t sub = value >> (k - OHETS_LOAD_HIST_SUB_BITS); /* 128 .. 255 */
  return EXACT + (size_t)(k - 8u) * OHETS_LOAD_HIST_SUB + (size_t)(sub - OHETS_LOAD_HIST_SUB);
}

uint64_t ohets_load_hist_bucket_low(size_t index) {
  if (index < EXACT)
    return index;
  size_t octave = (index - EXACT) / OHETS_LOAD_HIST_SUB; /* k - 8 */
  uint64_t sub = OHETS_LOAD_HIST_SUB + (index - EXACT) % OHETS_LOAD_HIST_SUB;
  return sub << (octave + 1u); /* shift = k - 7 */
}

uint64_t ohets_load_hist_bucket_high(size_t index) {
  if (index < EXACT)
    return index;
  size_t octave = (index - EXACT) / OHETS_LOAD_HIST_SUB;
  uint64_t width = (uint64_t)1 << (octave + 1u);
  return ohets_load_hist_bucket_low(index) + (width - 1u);
}

void ohets_load_hist_init(ohets_load_hist *h) {
  for (size_t i = 0; i < OHETS_LOAD_HIST_BUCKETS; i++)
    atomic_init(&h->counts[i], 0);
  atomic_init(&h->total, 0);
  atomic_init(&h->max, 0);
}

/* One writer: a relaxed load and store is enough and costs no locked
 * instruction; readers see each counter whole. */
static void bump(_Atomic uint64_t *c, uint64_t by) {
  atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + by,
                        memory_order_relaxed);
}

void ohets_load_hist_record(ohets_load_hist *h, uint64_t value) {
  bump(&h->counts[ohets_load_hist_index(value)], 1);
  bump(&h->total, 1);
  if (value > atomic_load_explicit(&h->max, memory_order_relaxed))
    atomic_store_explicit(&h->max, value, memory_order_relaxed);
}

void ohets_load_hist_merge(ohets_load_hist *dst, const ohets_load_hist *src) {
  uint64_t total = 0;
  for (size_t i = 0; i < OHETS_LOAD_HIST_BUCKETS; i++) {
    uint64_t n = atomic_load_explicit(&src->counts[i], memory_order_relaxed);
    if (n != 0) {
      bump(&dst->counts[i], n);
      total += n;
    }
  }
  /* The sum of the buckets read, not src->total: a live merge stays
   * self-consistent while src is being written. */
  bump(&dst->total, total);
  uint64_t m = atomic_load_explicit(&src->max, memory_order_relaxed);
  if (m > atomic_load_explicit(&dst->max, memory_order_relaxed))
    atomic_store_explicit(&dst->max, m, memory_order_relaxed);
}

uint64_t ohets_load_hist_count(const ohets_load_hist *h) {
  return atomic_load_explicit(&h->total, memory_order_relaxed);
}

uint64_t ohets_load_hist_max(const ohets_load_hist *h) {
  return atomic_load_explicit(&h->max, memory_order_relaxed);
}

uint64_t ohets_load_hist_percentile(const ohets_load_hist *h, double p) {
  uint64_t total = ohets_load_hist_count(h);
  uint64_t max = ohets_load_hist_max(h);
  if (total == 0)
    return 0;
  if (p < 0.0)
    p = 0.0;
  if (p > 100.0)
    p = 100.0;
  /* The epsilon keeps 99.9% of 1000 at 999 despite binary fractions. */
  uint64_t want = (uint64_t)ceil(p / 100.0 * (double)total - 1e-7);
  if (want == 0)
    want = 1;
  uint64_t seen = 0;
  for (size_t i = 0; i < OHETS_LOAD_HIST_BUCKETS; i++) {
    seen += atomic_load_explicit(&h->counts[i], memory_order_relaxed);
    if (seen >= want) {
      uint64_t v = ohets_load_hist_bucket_high(i);
      return v < max ? v : max;
    }
  }
  return max; /* counts read while a writer was ahead of total */
}
