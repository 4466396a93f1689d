/* hets-db: create, import, generate, inspect and copy the eligibility store
 * (SQLite, or PostgreSQL for a postgresql:// URI).
 *
 * Exit 0 on success, 1 when the operation failed, 2 on a usage error.
 * Errors go to stderr as one line "hets-db: <what was wrong>" and never
 * carry names or dates of birth. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* getopt_long */
#endif
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "openhets/openhets.h"
#include "store/store.h"

#define PROG "hets-db"
#define EXIT_USAGE 2

static void usage(FILE *f) {
  fprintf(f,
          "usage: " PROG " [--db PATH|URI] COMMAND\n"
          "       " PROG " copy --from PATH|URI --to PATH|URI\n"
          "Creates, fills, inspects and copies the openhets eligibility store: a SQLite\n"
          "file, or PostgreSQL for a postgresql:// (or postgres://) libpq URI.\n"
          "commands:\n"
          "  init                          create the store or upgrade its schema\n"
          "  import FILE.jsonl             import JSON Lines (- for stdin), all or nothing;\n"
          "                                an MBI already on file is replaced\n"
          "  generate --count N [--seed S] add N synthetic beneficiaries (seed default 1)\n"
          "  lookup MBI                    print the record as one line of JSON\n"
          "  stats                         print counts as a JSON object\n"
          "  copy --from A --to B          copy the whole store A into B (either kind to\n"
          "                                either kind), all or nothing\n"
          "options:\n"
          "  --db PATH|URI store file (default openhets.db) or PostgreSQL URI; put no\n"
          "                password in it (use ~/.pgpass, PGPASSFILE or a service file)\n"
          "  --help, --version\n");
}

/* One clear line on stderr: "PROG: what was wrong". */
#define err_line(...) ohets_common_err(PROG, __VA_ARGS__)

/* Whole-string unsigned decimal (or 0x hex); 0 or -EINVAL. */
static int parse_u64(const char *s, uint64_t *out) {
  char *end;
  if (s[0] == '\0' || s[0] == '-' || s[0] == '+' || s[0] == ' ')
    return -EINVAL;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 0);
  if (errno != 0 || *end != '\0')
    return -EINVAL;
  *out = v;
  return 0;
}

static int open_store(const char *db, int flags, ohets_store **s) {
  char err[512];
  if (ohets_store_open(s, db, flags, err, sizeof err) != 0) {
    err_line("%s", err);
    return 1;
  }
  return 0;
}

static int cmd_init(const char *db) {
  ohets_store *s;
  char shown[512];
  if (open_store(db, OHETS_STORE_CREATE, &s) != 0)
    return 1;
  ohets_store_redact(db, shown, sizeof shown);
  printf("%s: schema version %d\n", shown, ohets_store_user_version(s));
  ohets_store_close(s);
  return 0;
}

static int cmd_import(const char *db, const char *file) {
  ohets_store *s = NULL;
  ohets_import_counts counts;
  char err[512];
  int status = 1;
  FILE *in = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
  if (in == NULL) {
    err_line("cannot open %s: %s", file, strerror(errno));
    return 1;
  }
  if (open_store(db, OHETS_STORE_CREATE, &s) != 0)
    goto done;
  if (ohets_store_import_counted(s, in, &counts, err, sizeof err) != 0) {
    err_line("%s: %s (nothing imported)", strcmp(file, "-") == 0 ? "stdin" : file, err);
    goto done;
  }
  ohets_import_summary(&counts, err, sizeof err);
  printf("%s\n", err);
  status = 0;

done:
  ohets_store_close(s);
  if (in != stdin)
    fclose(in);
  return status;
}

static int cmd_generate(const char *db, unsigned long count, uint64_t seed) {
  ohets_store *s;
  char err[512];
  int status = 1;
  if (open_store(db, OHETS_STORE_CREATE, &s) != 0)
    return 1;
  if (ohets_store_generate(s, count, seed, err, sizeof err) != 0)
    err_line("generate: %s (nothing added)", err);
  else {
    printf("generated %lu beneficiaries (seed %llu)\n", count, (unsigned long long)seed);
    status = 0;
  }
  ohets_store_close(s);
  return status;
}

static int cmd_lookup(const char *db, const char *arg) {
  char mbi[12];
  size_t n = strlen(arg);
  ohets_store *s;
  json_t *rec = NULL;
  int status = 1;

  for (size_t i = 0; i < n && i < 11; i++)
    mbi[i] = (arg[i] >= 'a' && arg[i] <= 'z') ? (char)(arg[i] - 32) : arg[i];
  mbi[n < 11 ? n : 11] = '\0';
  if (n != 11 || !ohets_mbi_valid(mbi, 11)) {
    err_line("lookup: not an MBI (11 characters in the MBI format)");
    return EXIT_USAGE;
  }
  if (open_store(db, OHETS_STORE_READONLY, &s) != 0)
    return 1;
  switch (ohets_store_lookup_json(s, mbi, &rec)) {
  case OHETS_LOOKUP_FOUND: {
    char *text = json_dumps(rec, OHETS_RECORD_DUMP_FLAGS);
    if (text != NULL) {
      puts(text);
      status = 0;
    } else {
      err_line("lookup: out of memory");
    }
    free(text);
    break;
  }
  case OHETS_LOOKUP_NOT_FOUND:
    err_line("lookup: not found");
    break;
  case OHETS_LOOKUP_RETIRED:
    err_line("lookup: retired MBI (replaced by a newer MBI)");
    break;
  default:
    err_line("lookup: store unavailable");
    break;
  }
  json_decref(rec);
  ohets_store_close(s);
  return status;
}

static int cmd_copy(const char *from, const char *to) {
  ohets_store *src = NULL, *dst = NULL;
  ohets_copy_counts c;
  char err[512], a[512], b[512];
  int status = 1;
  ohets_store_redact(from, a, sizeof a);
  ohets_store_redact(to, b, sizeof b);
  if (strcmp(from, to) == 0) {
    err_line("copy: --from and --to name the same store");
    return EXIT_USAGE;
  }
  if (open_store(from, OHETS_STORE_READONLY, &src) != 0 ||
      open_store(to, OHETS_STORE_CREATE, &dst) != 0)
    goto done;
  if (ohets_store_copy(src, dst, &c, err, sizeof err) != 0) {
    err_line("copy: %s (nothing copied)", err);
    goto done;
  }
  printf("copied %lu %s (%lu retired MBI%s) and %lu program year%s from %s to %s\n",
         c.beneficiaries, c.beneficiaries == 1 ? "beneficiary" : "beneficiaries",
         c.retired_mbis, c.retired_mbis == 1 ? "" : "s", c.program_years,
         c.program_years == 1 ? "" : "s", a, b);
  status = 0;
done:
  ohets_store_close(src);
  ohets_store_close(dst);
  return status;
}

static int cmd_stats(const char *db) {
  ohets_store *s;
  ohets_store_stats st;
  char err[512];
  int status = 1;
  if (open_store(db, OHETS_STORE_READONLY, &s) != 0)
    return 1;
  if (ohets_store_stats_get(s, &st, err, sizeof err) != 0) {
    err_line("stats: %s", err);
    ohets_store_close(s);
    return 1;
  }
  json_t *years = json_array();
  for (unsigned i = 0; years != NULL && i < st.n_program_years; i++)
    json_array_append_new(years, json_integer(st.program_years[i]));
  json_t *o = json_pack("{s:i, s:I, s:I, s:o*, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}}",
                        "schema_version", st.schema_version,
                        "beneficiaries", (json_int_t)st.beneficiaries,
                        "retired_mbis", (json_int_t)st.retired_mbis,
                        "program_years", years,
                        "counts",
                        "part_a", (json_int_t)st.part_a,
                        "part_b", (json_int_t)st.part_b,
                        "ma", (json_int_t)st.ma,
                        "part_d", (json_int_t)st.part_d,
                        "msp", (json_int_t)st.msp,
                        "hospice", (json_int_t)st.hospice,
                        "home_health", (json_int_t)st.home_health,
                        "esrd", (json_int_t)st.esrd,
                        "qmb", (json_int_t)st.qmb,
                        "deceased", (json_int_t)st.deceased);
  char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
  if (text != NULL) {
    puts(text);
    status = 0;
  } else {
    err_line("stats: out of memory");
  }
  free(text);
  json_decref(o);
  ohets_store_close(s);
  return status;
}

int main(int argc, char **argv) {
  static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
                                       {"from", required_argument, NULL, 'f'},
                                       {"to", required_argument, NULL, 't'},
                                       {"count", required_argument, NULL, 'n'},
                                       {"seed", required_argument, NULL, 's'},
                                       {"help", no_argument, NULL, 'h'},
                                       {"version", no_argument, NULL, 'V'},
                                       {NULL, 0, NULL, 0}};
  const char *db = "openhets.db";
  const char *count_arg = NULL, *seed_arg = NULL, *from = NULL, *to = NULL;
  int c, db_given = 0;

  opterr = 0; /* our own one-line messages */
  while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
    switch (c) {
    case 'd': db = optarg; db_given = 1; break;
    case 'f': from = optarg; break;
    case 't': to = optarg; break;
    case 'n': count_arg = optarg; break;
    case 's': seed_arg = optarg; break;
    case 'h': usage(stdout); return 0;
    case 'V': printf(PROG " (openhets) " OHETS_VERSION_STRING "\n"); return 0;
    case ':':
      err_line("option %s needs an argument (see --help)", argv[optind - 1]);
      return EXIT_USAGE;
    default:
      err_line("unknown option %s (see --help)", argv[optind - 1]);
      return EXIT_USAGE;
    }
  }
  if (optind >= argc) {
    err_line("missing command: init, import, generate, lookup, stats or copy (see --help)");
    return EXIT_USAGE;
  }
  const char *cmd = argv[optind];
  int nargs = argc - optind - 1;
  char **args = argv + optind + 1;
  int wants_arg = strcmp(cmd, "import") == 0 || strcmp(cmd, "lookup") == 0;
  int is_copy = strcmp(cmd, "copy") == 0;
  int known = wants_arg || is_copy || strcmp(cmd, "init") == 0 ||
              strcmp(cmd, "generate") == 0 || strcmp(cmd, "stats") == 0;

  if (!known) {
    err_line("unknown command %s (see --help)", cmd);
    return EXIT_USAGE;
  }
  if (nargs != wants_arg) {
    if (wants_arg && nargs == 0)
      err_line("%s: missing %s", cmd, strcmp(cmd, "import") == 0 ? "FILE" : "MBI");
    else
      err_line("%s: too many arguments", cmd);
    return EXIT_USAGE;
  }
  if (strcmp(cmd, "generate") != 0 && (count_arg != NULL || seed_arg != NULL)) {
    err_line("%s: --count and --seed belong to generate", cmd);
    return EXIT_USAGE;
  }
  if (!is_copy && (from != NULL || to != NULL)) {
    err_line("%s: --from and --to belong to copy", cmd);
    return EXIT_USAGE;
  }
  if (is_copy) {
    if (db_given) {
      err_line("copy: takes --from and --to, not --db");
      return EXIT_USAGE;
    }
    if (from == NULL || to == NULL || from[0] == '\0' || to[0] == '\0') {
      err_line("copy: needs --from PATH|URI and --to PATH|URI");
      return EXIT_USAGE;
    }
    return cmd_copy(from, to);
  }
  if (db[0] == '\0') {
    err_line("--db: empty path");
    return EXIT_USAGE;
  }

  if (strcmp(cmd, "init") == 0)
    return cmd_init(db);
  if (strcmp(cmd, "import") == 0)
    return cmd_import(db, args[0]);
  if (strcmp(cmd, "lookup") == 0)
    return cmd_lookup(db, args[0]);
  if (strcmp(cmd, "stats") == 0)
    return cmd_stats(db);

  uint64_t count = 0, seed = 1;
  if (count_arg == NULL) {
    err_line("generate: missing --count N");
    return EXIT_USAGE;
  }
  if (parse_u64(count_arg, &count) != 0 || count < 1 || count > 50000000) {
    err_line("generate: --count must be a whole number from 1 to 50000000");
    return EXIT_USAGE;
  }
  if (seed_arg != NULL && parse_u64(seed_arg, &seed) != 0) {
    err_line("generate: --seed must be a whole number from 0 to 18446744073709551615");
    return EXIT_USAGE;
  }
  return cmd_generate(db, (unsigned long)count, seed);
}
