/* hets-respond: the core on one 270 interchange, no network.
 *
 * Writes to stdout exactly the payload openhetsd would answer (no wrapper).
 * Exit 0 whatever the answer's kind; 1 when no answer could be made (store
 * unreadable, input unreadable); 2 on a usage error. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "openhets/openhets.h"
#include "store/partners.h"
#include "store/store.h"

#define PROG "hets-respond"
#define MAX_INPUT (16u * 1024 * 1024)

static void usage(FILE *f) {
  fprintf(f,
          "usage: " PROG " [--db PATH] [--partners FILE] [--today YYYY-MM-DD] [FILE]\n"
          "Answers one 270 interchange from FILE (or stdin) with the payload\n"
          "openhetsd would send back: a 271, 999, TA1 or HETS error record.\n"
          "  --db PATH          eligibility store (default openhets.db)\n"
          "  --partners FILE    trading partners; without it every submitter and NPI is allowed\n"
          "  --today YYYY-MM-DD pin the transaction date (tests and demos)\n"
          "  --help, --version\n");
}

static int partner_allowed(void *ctx, const char *submitter) {
  return ohets_partners_find(ctx, submitter) != NULL;
}

static int partner_npi(void *ctx, const char *submitter, const char *npi) {
  const ohets_partner *p = ohets_partners_find(ctx, submitter);
  return p != NULL && ohets_partner_npi_linked(p, npi);
}

int main(int argc, char **argv) {
  static const struct option opts[] = {
      {"db", required_argument, NULL, 'd'},
      {"partners", required_argument, NULL, 'p'},
      {"today", required_argument, NULL, 't'},
      {"help", no_argument, NULL, 'h'},
      {"version", no_argument, NULL, 'V'},
      {NULL, 0, NULL, 0}};
  const char *db = "openhets.db", *partners_path = NULL, *today = NULL;
  int c;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (c) {
    case 'd': db = optarg; break;
    case 'p': partners_path = optarg; break;
    case 't': today = optarg; break;
    case 'h': usage(stdout); return 0;
    case 'V': printf(PROG " " OHETS_VERSION_STRING "\n"); return 0;
    default: usage(stderr); return 2;
    }
  }
  if (argc - optind > 1) {
    ohets_common_err(PROG, "one input file at most (got %d)", argc - optind);
    return 2;
  }
  ohets_request_ctx ctx;
  memset(&ctx, 0, sizeof ctx);
  if (ohets_common_now(today, &ctx.now) != 0) {
    ohets_common_err(PROG, "--today: not a date YYYY-MM-DD");
    return 2;
  }

  int status = 1;
  char err[512];
  ohets_store *store = NULL;
  ohets_partner_table *partners = NULL;
  ohets_buf in, out;
  ohets_buf_init(&in, MAX_INPUT);
  ohets_buf_init(&out, 4u * 1024 * 1024);
  FILE *f = stdin;
  const char *name = "stdin";

  if (optind < argc) {
    name = argv[optind];
    f = fopen(name, "rb");
    if (f == NULL) {
      ohets_common_err(PROG, "%s: %s", name, strerror(errno));
      goto done;
    }
  }
  int rc = ohets_common_read_all(f, &in);
  if (f != stdin)
    fclose(f);
  if (rc != 0) {
    ohets_common_err(PROG, "%s: %s", name,
                     rc == -ENOBUFS ? "larger than 16 MiB" : strerror(-rc));
    goto done;
  }
  if (ohets_store_open(&store, db, OHETS_STORE_READONLY, err, sizeof err) != 0) {
    ohets_common_err(PROG, "%s", err);
    goto done;
  }
  ohets_partners pt = {partner_allowed, partner_npi, NULL};
  if (partners_path != NULL) {
    if (ohets_partners_load(partners_path, &partners, err, sizeof err) != 0) {
      ohets_common_err(PROG, "%s", err);
      goto done;
    }
    pt.ctx = partners;
    ctx.partners = &pt;
  }
  ohets_lookup lookup;
  ohets_store_lookup_iface(store, &lookup);
  ctx.lookup = &lookup;
  ctx.control_number = 1;

  ohets_outcome outcome;
  rc = ohets_respond(in.data ? in.data : (const uint8_t *)"", in.len, &ctx, &out,
                     &outcome);
  if (rc != 0) {
    ohets_common_err(PROG, "no answer could be made: %s", strerror(-rc));
    goto done;
  }
  if (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
    ohets_common_err(PROG, "stdout: %s", strerror(errno));
    goto done;
  }
  status = 0;
done:
  ohets_partners_free(partners);
  if (store != NULL)
    ohets_store_close(store);
  ohets_buf_free(&in);
  ohets_buf_free(&out);
  return status;
}
