/* bench-core: CPU time per answer of the core, store lookup included.
 *
 * usage: bench-core DB HIT.x12 MISS.x12 BAD.x12 [ITERATIONS]
 * Prints, per case, the answer kind and the mean CPU microseconds per
 * answer over ITERATIONS (default 20000) after a warm-up.  A benchmark,
 * not a test: it asserts nothing about speed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/common.h"
#include "openhets/openhets.h"
#include "store/store.h"

static double cpu_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int load(const char *path, ohets_buf *b) {
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return -errno;
  ohets_buf_init(b, 1 << 20);
  int rc = ohets_common_read_all(f, b);
  fclose(f);
  return rc;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: bench-core DB HIT.x12 MISS.x12 BAD.x12 [ITERATIONS]\n");
    return 2;
  }
  long iterations = argc > 5 ? strtol(argv[5], NULL, 10) : 20000;
  if (iterations < 1)
    iterations = 1;
  char err[256];
  ohets_store *store;
  if (ohets_store_open(&store, argv[1], OHETS_STORE_READONLY, err, sizeof err) != 0) {
    fprintf(stderr, "bench-core: %s\n", err);
    return 1;
  }
  ohets_lookup lookup;
  ohets_store_lookup_iface(store, &lookup);
  ohets_request_ctx ctx;
  memset(&ctx, 0, sizeof ctx);
  ctx.lookup = &lookup;
  ctx.control_number = 1;
  ohets_common_now("2026-11-23", &ctx.now);

  const char *names[3] = {"hit", "miss", "999"};
  ohets_buf out;
  ohets_buf_init(&out, 1 << 20);
  int status = 0;
  for (int c = 0; c < 3; c++) {
    ohets_buf in;
    if (load(argv[2 + c], &in) != 0) {
      fprintf(stderr, "bench-core: cannot read %s\n", argv[2 + c]);
      status = 1;
      break;
    }
    ohets_outcome o;
    for (int i = 0; i < 1000; i++) { /* warm caches and the store's pages */
      ohets_buf_reset(&out);
      ohets_respond(in.data, in.len, &ctx, &out, &o);
    }
    double t0 = cpu_seconds();
    for (long i = 0; i < iterations; i++) {
      ohets_buf_reset(&out);
      if (ohets_respond(in.data, in.len, &ctx, &out, &o) != 0) {
        fprintf(stderr, "bench-core: %s: no answer\n", names[c]);
        status = 1;
        break;
      }
    }
    double us = (cpu_seconds() - t0) * 1e6 / (double)iterations;
    printf("%-5s answer=%-4s found=%d aaa=%u bytes_out=%zu  %.2f us CPU per answer (%ld runs)\n",
           names[c], ohets_answer_name(o.answer), o.found, o.n_aaa, out.len, us,
           iterations);
    ohets_buf_free(&in);
  }
  ohets_buf_free(&out);
  ohets_store_close(store);
  return status;
}
