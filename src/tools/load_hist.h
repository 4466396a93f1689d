/* hets-load's latency histogram: log-linear buckets in the manner of
 * HdrHistogram, so any value is reported within 1% of itself.
 *
 * Values below 256 have a bucket each.  Above, every power-of-two range
 * [2^k, 2^(k+1)) is cut into 128 equal buckets, so a bucket is at most
 * 1/128 (0.79%) as wide as the smallest value in it.  A value is reported as
 * the highest value of its bucket (never below the truth), capped at the
 * largest value recorded, which is kept exactly.
 *
 * One thread records into a histogram; other threads may read it at the
 * same time (the counters are atomics, relaxed), e.g. for a live display.
 * The unit is the caller's (hets-load records nanoseconds).
 */
#ifndef OHETS_TOOLS_LOAD_HIST_H
#define OHETS_TOOLS_LOAD_HIST_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define OHETS_LOAD_HIST_SUB_BITS 7
#define OHETS_LOAD_HIST_SUB (1u << OHETS_LOAD_HIST_SUB_BITS) /* buckets per octave */
/* 256 exact buckets, then 128 per octave for 2^8 .. 2^63. */
#define OHETS_LOAD_HIST_BUCKETS (2u * OHETS_LOAD_HIST_SUB + (64u - 8u) * OHETS_LOAD_HIST_SUB)

typedef struct ohets_load_hist {
  _Atomic uint64_t counts[OHETS_LOAD_HIST_BUCKETS];
  _Atomic uint64_t total;
  _Atomic uint64_t max;
} ohets_load_hist;

void ohets_load_hist_init(ohets_load_hist *h);
/* Single writer per histogram. */
void ohets_load_hist_record(ohets_load_hist *h, uint64_t value);
/* Adds src's counts to dst (dst must have no concurrent writer). */
void ohets_load_hist_merge(ohets_load_hist *dst, const ohets_load_hist *src);

uint64_t ohets_load_hist_count(const ohets_load_hist *h);
uint64_t ohets_load_hist_max(const ohets_load_hist *h);
/* Smallest reported value v such that at least p percent (0..100) of the
 * recorded values are <= v; 0 for an empty histogram. */
uint64_t ohets_load_hist_percentile(const ohets_load_hist *h, double p);

/* Bucket arithmetic, exposed for the unit test. */
size_t ohets_load_hist_index(uint64_t value);
uint64_t ohets_load_hist_bucket_low(size_t index);
uint64_t ohets_load_hist_bucket_high(size_t index);

#endif
