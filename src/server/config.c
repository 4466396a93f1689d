/* openhetsd configuration: defaults (DESIGN §11), the JSON file, command
 * line overrides (§10) and --check-config.
 *
 * Reading never stops at the first problem: every problem is collected as
 * one line naming the key, so an operator fixes a file in one pass. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* pthread_rwlock_t in uv.h, getopt_long, strnlen */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/server.h"

#define MS_MAX 86400000ULL /* one day: anything longer is a typo */
#define FRAME_MIN 106      /* an ISA alone */
#define FRAME_MAX (64u * 1024 * 1024)

void ohets_srv_problem(ohets_srv_problems *p, const char *fmt, ...) {
  if (p->n >= OHETS_SRV_MAX_PROBLEMS)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p->line[p->n], sizeof p->line[p->n], fmt, ap);
  va_end(ap);
  p->n++;
}

const char *ohets_srv_framing_name(ohets_framing f) {
  switch (f) {
  case OHETS_FRAMING_RAW: return "raw";
  case OHETS_FRAMING_AUTO: return "auto";
  default: return "hets";
  }
}

static int parse_framing(const char *s, ohets_framing *out) {
  if (strcmp(s, "hets") == 0)
    *out = OHETS_FRAMING_HETS;
  else if (strcmp(s, "raw") == 0)
    *out = OHETS_FRAMING_RAW;
  else if (strcmp(s, "auto") == 0)
    *out = OHETS_FRAMING_AUTO;
  else
    return -EINVAL;
  return 0;
}

void ohets_srv_config_defaults(ohets_srv_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->n_listen = 1;
  snprintf(cfg->listen[0].host, sizeof cfg->listen[0].host, "127.0.0.1");
  cfg->listen[0].port = 5270;
  cfg->listen[0].framing = OHETS_FRAMING_HETS;
  snprintf(cfg->db, sizeof cfg->db, "openhets.db");
  snprintf(cfg->log, sizeof cfg->log, "-");
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  cfg->workers = cores > 0 ? (unsigned)cores : 1;
  cfg->idle_timeout_ms = 5000;
  cfg->frame_deadline_ms = 30000;
  cfg->queue_budget_ms = 1000;
  cfg->shutdown_timeout_ms = 30000;
  cfg->max_frame_bytes = 65536;
  cfg->max_connections = 10000;
  cfg->max_pipeline = 8;
  cfg->max_jobs = 4096;
  cfg->log_queue = 65536;
}

void ohets_srv_config_free(ohets_srv_config *cfg) {
  for (size_t i = 0; i < cfg->n_listen; i++) {
    free(cfg->listen[i].submitters);
    cfg->listen[i].submitters = NULL;
  }
}

int ohets_srv_parse_listen(const char *spec, ohets_srv_listen_cfg *out) {
  char host[64];
  const char *port_s;
  memset(out, 0, sizeof *out);
  out->framing = OHETS_FRAMING_HETS;
  if (spec[0] == '[') { /* [v6]:port */
    const char *close = strchr(spec, ']');
    if (close == NULL || close[1] != ':' || (size_t)(close - spec - 1) >= sizeof host)
      return -EINVAL;
    memcpy(host, spec + 1, (size_t)(close - spec - 1));
    host[close - spec - 1] = '\0';
    port_s = close + 2;
  } else {
    const char *colon = strrchr(spec, ':');
    if (colon == NULL) { /* bare port */
      snprintf(host, sizeof host, "127.0.0.1");
      port_s = spec;
    } else {
      if (memchr(spec, ':', (size_t)(colon - spec)) != NULL ||
          (size_t)(colon - spec) >= sizeof host)
        return -EINVAL; /* IPv6 needs brackets */
      memcpy(host, spec, (size_t)(colon - spec));
      host[colon - spec] = '\0';
      port_s = colon + 1;
    }
  }
  char *end;
  errno = 0;
  unsigned long port = strtoul(port_s, &end, 10);
  if (port_s[0] < '0' || port_s[0] > '9' || *end != '\0' || errno != 0 ||
      port > 65535)
    return -EINVAL;
  uint8_t tmp[16];
  if (inet_pton(AF_INET, host, tmp) != 1 && inet_pton(AF_INET6, host, tmp) != 1)
    return -EINVAL;
  snprintf(out->host, sizeof out->host, "%s", host);
  out->port = (int)port;
  return 0;
}

/* ---------------------------------------------------------------- file */

static int get_uint(json_t *root, const char *key, uint64_t lo, uint64_t hi,
                    uint64_t *out, const char *file, ohets_srv_problems *p) {
  json_t *v = json_object_get(root, key);
  if (v == NULL)
    return 0;
  if (!json_is_integer(v) || json_integer_value(v) < 0 ||
      (uint64_t)json_integer_value(v) < lo || (uint64_t)json_integer_value(v) > hi) {
    ohets_srv_problem(p, "%s: \"%s\": must be an integer %llu..%llu", file, key,
                      (unsigned long long)lo, (unsigned long long)hi);
    return -EINVAL;
  }
  *out = (uint64_t)json_integer_value(v);
  return 0;
}

static void get_path(json_t *root, const char *key, char *dst, size_t dstsz,
                     int allow_null, const char *file, ohets_srv_problems *p) {
  json_t *v = json_object_get(root, key);
  if (v == NULL)
    return;
  if (allow_null && json_is_null(v)) {
    dst[0] = '\0';
    return;
  }
  const char *s = json_string_value(v);
  if (s == NULL || s[0] == '\0' || strlen(s) >= dstsz) {
    ohets_srv_problem(p, "%s: \"%s\": must be a non-empty path string", file, key);
    return;
  }
  snprintf(dst, dstsz, "%s", s);
}

static void load_listener(json_t *v, size_t i, ohets_srv_listen_cfg *l,
                          const char *file, ohets_srv_problems *p) {
  memset(l, 0, sizeof *l);
  snprintf(l->host, sizeof l->host, "127.0.0.1");
  l->port = 5270;
  l->framing = OHETS_FRAMING_HETS;
  if (!json_is_object(v)) {
    ohets_srv_problem(p, "%s: \"listen\"[%zu]: must be an object {host, port, framing}",
                      file, i);
    return;
  }
  const char *key;
  json_t *val;
  json_object_foreach(v, key, val) {
    if (strcmp(key, "host") != 0 && strcmp(key, "port") != 0 &&
        strcmp(key, "framing") != 0 && strcmp(key, "submitters") != 0)
      ohets_srv_problem(p, "%s: \"listen\"[%zu].\"%s\": unknown key", file, i, key);
  }
  json_t *host = json_object_get(v, "host");
  if (host != NULL) {
    const char *h = json_string_value(host);
    uint8_t tmp[16];
    if (h == NULL || strlen(h) >= sizeof l->host ||
        (inet_pton(AF_INET, h, tmp) != 1 && inet_pton(AF_INET6, h, tmp) != 1))
      ohets_srv_problem(p, "%s: \"listen\"[%zu].\"host\": must be a numeric IPv4 or IPv6 address",
                        file, i);
    else
      snprintf(l->host, sizeof l->host, "%s", h);
  }
  json_t *port = json_object_get(v, "port");
  if (port != NULL) {
    if (!json_is_integer(port) || json_integer_value(port) < 0 ||
        json_integer_value(port) > 65535)
      ohets_srv_problem(p, "%s: \"listen\"[%zu].\"port\": must be an integer 0..65535",
                        file, i);
    else
      l->port = (int)json_integer_value(port);
  }
  json_t *framing = json_object_get(v, "framing");
  if (framing != NULL && (json_string_value(framing) == NULL ||
                          parse_framing(json_string_value(framing), &l->framing) != 0))
    ohets_srv_problem(p, "%s: \"listen\"[%zu].\"framing\": must be \"hets\", \"raw\" or \"auto\"",
                      file, i);
  json_t *subs = json_object_get(v, "submitters");
  if (subs != NULL) {
    if (!json_is_array(subs)) {
      ohets_srv_problem(p, "%s: \"listen\"[%zu].\"submitters\": must be an array of submitter IDs",
                        file, i);
      return;
    }
    l->has_submitters = 1;
    l->submitters = calloc(json_array_size(subs) + 1, sizeof *l->submitters);
    if (l->submitters == NULL) {
      ohets_srv_problem(p, "%s: out of memory", file);
      return;
    }
    size_t k;
    json_t *s;
    json_array_foreach(subs, k, s) {
      const char *id = json_string_value(s);
      if (id == NULL || id[0] == '\0' || strlen(id) >= OHETS_SRV_SUBMITTER_LEN) {
        ohets_srv_problem(p, "%s: \"listen\"[%zu].\"submitters\"[%zu]: must be a submitter ID of 1..15 characters",
                          file, i, k);
        continue;
      }
      snprintf(l->submitters[l->n_submitters++], OHETS_SRV_SUBMITTER_LEN, "%s", id);
    }
  }
}

static const char *const known_keys[] = {
    "listen", "db", "partners", "log", "log_hmac_key", "log_hmac_key_file",
    "workers", "idle_timeout_ms", "frame_deadline_ms", "max_frame_bytes",
    "queue_budget_ms", "shutdown_timeout_ms", "max_connections", "max_pipeline",
    "max_jobs", "log_queue", "today", "user"};

void ohets_srv_config_load(ohets_srv_config *cfg, const char *file,
                           ohets_srv_problems *p) {
  json_error_t jerr;
  json_t *root = json_load_file(file, JSON_REJECT_DUPLICATES, &jerr);
  if (root == NULL) {
    if (jerr.line <= 0)
      ohets_srv_problem(p, "%s: %s", file, jerr.text);
    else
      ohets_srv_problem(p, "%s: line %d: %s", file, jerr.line, jerr.text);
    return;
  }
  if (!json_is_object(root)) {
    ohets_srv_problem(p, "%s: must hold one JSON object", file);
    goto done;
  }
  const char *key;
  json_t *val;
  json_object_foreach(root, key, val) {
    size_t k = 0;
    while (k < sizeof known_keys / sizeof known_keys[0] && strcmp(known_keys[k], key) != 0)
      k++;
    if (k == sizeof known_keys / sizeof known_keys[0])
      ohets_srv_problem(p, "%s: \"%s\": unknown key", file, key);
  }

  json_t *listen = json_object_get(root, "listen");
  if (listen != NULL) {
    if (!json_is_array(listen) || json_array_size(listen) == 0 ||
        json_array_size(listen) > OHETS_SRV_MAX_LISTENERS) {
      ohets_srv_problem(p, "%s: \"listen\": must be an array of 1..%d listener objects",
                        file, OHETS_SRV_MAX_LISTENERS);
    } else {
      ohets_srv_config_free(cfg);
      cfg->n_listen = json_array_size(listen);
      for (size_t i = 0; i < cfg->n_listen; i++)
        load_listener(json_array_get(listen, i), i, &cfg->listen[i], file, p);
    }
  }
  get_path(root, "db", cfg->db, sizeof cfg->db, 0, file, p);
  get_path(root, "partners", cfg->partners, sizeof cfg->partners, 1, file, p);
  get_path(root, "log", cfg->log, sizeof cfg->log, 0, file, p);
  get_path(root, "log_hmac_key_file", cfg->log_hmac_key_file,
           sizeof cfg->log_hmac_key_file, 1, file, p);
  json_t *key_v = json_object_get(root, "log_hmac_key");
  if (key_v != NULL && !json_is_null(key_v)) {
    const char *s = json_string_value(key_v);
    if (s == NULL || strlen(s) < 16 || strlen(s) > sizeof cfg->log_hmac_key)
      ohets_srv_problem(p, "%s: \"log_hmac_key\": must be a string of 16..%zu characters",
                        file, sizeof cfg->log_hmac_key);
    else {
      cfg->log_hmac_key_len = strlen(s);
      memcpy(cfg->log_hmac_key, s, cfg->log_hmac_key_len);
    }
  }
  if (cfg->log_hmac_key_len > 0 && cfg->log_hmac_key_file[0] != '\0')
    ohets_srv_problem(p, "%s: \"log_hmac_key\" and \"log_hmac_key_file\": give one, not both",
                      file);

  uint64_t v = 0;
  json_t *workers = json_object_get(root, "workers");
  if (workers != NULL && get_uint(root, "workers", 0, 1024, &v, file, p) == 0 && v > 0)
    cfg->workers = (unsigned)v; /* 0 keeps the number of cores */
  if (get_uint(root, "idle_timeout_ms", 1, MS_MAX, &v, file, p) == 0 &&
      json_object_get(root, "idle_timeout_ms"))
    cfg->idle_timeout_ms = v;
  if (get_uint(root, "frame_deadline_ms", 1, MS_MAX, &v, file, p) == 0 &&
      json_object_get(root, "frame_deadline_ms"))
    cfg->frame_deadline_ms = v;
  if (get_uint(root, "queue_budget_ms", 1, MS_MAX, &v, file, p) == 0 &&
      json_object_get(root, "queue_budget_ms"))
    cfg->queue_budget_ms = v;
  if (get_uint(root, "shutdown_timeout_ms", 1, MS_MAX, &v, file, p) == 0 &&
      json_object_get(root, "shutdown_timeout_ms"))
    cfg->shutdown_timeout_ms = v;
  if (get_uint(root, "max_frame_bytes", FRAME_MIN, FRAME_MAX, &v, file, p) == 0 &&
      json_object_get(root, "max_frame_bytes"))
    cfg->max_frame_bytes = (size_t)v;
  if (get_uint(root, "max_connections", 1, 1000000, &v, file, p) == 0 &&
      json_object_get(root, "max_connections"))
    cfg->max_connections = (unsigned)v;
  if (get_uint(root, "max_pipeline", 1, 1024, &v, file, p) == 0 &&
      json_object_get(root, "max_pipeline"))
    cfg->max_pipeline = (unsigned)v;
  if (get_uint(root, "max_jobs", 1, 1000000, &v, file, p) == 0 &&
      json_object_get(root, "max_jobs"))
    cfg->max_jobs = (unsigned)v;
  if (get_uint(root, "log_queue", 16, 10000000, &v, file, p) == 0 &&
      json_object_get(root, "log_queue"))
    cfg->log_queue = (unsigned)v;

  json_t *user = json_object_get(root, "user");
  if (user != NULL && !json_is_null(user)) {
    const char *s = json_string_value(user);
    if (s == NULL || s[0] == '\0' || strlen(s) >= sizeof cfg->user)
      ohets_srv_problem(p, "%s: \"user\": must be a user name or null", file);
    else
      snprintf(cfg->user, sizeof cfg->user, "%s", s);
  }

  json_t *today = json_object_get(root, "today");
  if (today != NULL && !json_is_null(today)) {
    const char *s = json_string_value(today);
    ohets_date d;
    if (s == NULL || strlen(s) != 10 || ohets_date_parse_iso(s, 10, &d) != 0)
      ohets_srv_problem(p, "%s: \"today\": must be a date YYYY-MM-DD or null", file);
    else
      snprintf(cfg->today, sizeof cfg->today, "%s", s);
  }
done:
  json_decref(root);
}

/* ----------------------------------------------------- command line */

static void usage(FILE *f) {
  fprintf(f,
          "usage: " OHETS_SRV_PROG " [-c FILE] [--check-config] [options]\n"
          "The HETS 270/271 Extranet socket server; runs in the foreground.\n"
          "  -c, --config FILE        JSON settings (docs/server.md)\n"
          "      --check-config       validate the settings, print \"ok\" or the problems\n"
          "      --listen HOST:PORT   listen here (repeatable; replaces the file's list;\n"
          "                           IPv6 as [::1]:5270; port 0 picks a free port)\n"
          "      --framing MODE       hets, raw or auto, for every listener\n"
          "      --db PATH            eligibility store (default openhets.db)\n"
          "      --partners FILE      trading partners (default: everyone allowed)\n"
          "      --log PATH|-         session log, JSON Lines (default - : stdout)\n"
          "      --log-hmac-key-file FILE  key for the log's mbi_hash\n"
          "      --workers N          worker threads (default: number of cores)\n"
          "      --idle-timeout-ms N  idle disconnect (default 5000)\n"
          "      --frame-deadline-ms N  whole-frame deadline (default 30000)\n"
          "      --max-frame-bytes N  largest payload (default 65536)\n"
          "      --queue-budget-ms N  queue wait that answers AAA 42 (default 1000)\n"
          "      --max-connections N  open sockets (default 10000)\n"
          "      --max-pipeline N     requests queued per socket (default 8)\n"
          "      --today YYYY-MM-DD   pin the transaction date (tests, demos)\n"
          "      --user NAME          started as root: run as NAME after binding\n"
          "      --help, --version\n"
          "Signals: TERM/INT drain and exit 0 (a second one exits at once);\n"
          "HUP reopens the log and reloads the partners file.\n");
}

enum {
  OPT_CHECK = 256, OPT_LISTEN, OPT_FRAMING, OPT_DB, OPT_PARTNERS, OPT_LOG,
  OPT_KEYFILE, OPT_WORKERS, OPT_IDLE, OPT_DEADLINE, OPT_MAXFRAME, OPT_BUDGET,
  OPT_MAXCONN, OPT_PIPELINE, OPT_TODAY, OPT_USER, OPT_HELP, OPT_VERSION
};

static int cli_uint(const char *opt, const char *s, uint64_t lo, uint64_t hi,
                    uint64_t *out, ohets_srv_problems *p) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 || v < lo || v > hi) {
    ohets_srv_problem(p, "--%s: must be an integer %llu..%llu", opt,
                      (unsigned long long)lo, (unsigned long long)hi);
    return -EINVAL;
  }
  *out = v;
  return 0;
}

static void cli_path(const char *opt, const char *s, char *dst, size_t dstsz,
                     ohets_srv_problems *p) {
  if (s[0] == '\0' || strlen(s) >= dstsz)
    ohets_srv_problem(p, "--%s: must be a non-empty path", opt);
  else
    snprintf(dst, dstsz, "%s", s);
}

ohets_srv_cli_result ohets_srv_config_from_args(int argc, char **argv,
                                                ohets_srv_config *cfg,
                                                ohets_srv_problems *p) {
  static const struct option opts[] = {
      {"config", required_argument, NULL, 'c'},
      {"check-config", no_argument, NULL, OPT_CHECK},
      {"listen", required_argument, NULL, OPT_LISTEN},
      {"framing", required_argument, NULL, OPT_FRAMING},
      {"db", required_argument, NULL, OPT_DB},
      {"partners", required_argument, NULL, OPT_PARTNERS},
      {"log", required_argument, NULL, OPT_LOG},
      {"log-hmac-key-file", required_argument, NULL, OPT_KEYFILE},
      {"workers", required_argument, NULL, OPT_WORKERS},
      {"idle-timeout-ms", required_argument, NULL, OPT_IDLE},
      {"frame-deadline-ms", required_argument, NULL, OPT_DEADLINE},
      {"max-frame-bytes", required_argument, NULL, OPT_MAXFRAME},
      {"queue-budget-ms", required_argument, NULL, OPT_BUDGET},
      {"max-connections", required_argument, NULL, OPT_MAXCONN},
      {"max-pipeline", required_argument, NULL, OPT_PIPELINE},
      {"today", required_argument, NULL, OPT_TODAY},
      {"user", required_argument, NULL, OPT_USER},
      {"help", no_argument, NULL, OPT_HELP},
      {"version", no_argument, NULL, OPT_VERSION},
      {NULL, 0, NULL, 0}};
  /* Overrides apply after the file whatever their order, so remember
   * their positions in argv first. */
  const char *file = NULL;
  int check = 0;
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":c:", opts, NULL)) != -1) {
    switch (c) {
    case 'c': file = optarg; break;
    case OPT_CHECK: check = 1; break;
    case OPT_HELP: usage(stdout); return OHETS_SRV_CLI_EXIT_OK;
    case OPT_VERSION: printf(OHETS_SRV_PROG " " OHETS_VERSION_STRING "\n");
      return OHETS_SRV_CLI_EXIT_OK;
    case ':':
      fprintf(stderr, OHETS_SRV_PROG ": %s: needs a value (see --help)\n", argv[optind - 1]);
      return OHETS_SRV_CLI_USAGE;
    case '?':
      fprintf(stderr, OHETS_SRV_PROG ": %s: unknown option (see --help)\n", argv[optind - 1]);
      return OHETS_SRV_CLI_USAGE;
    default: break;
    }
  }
  if (optind < argc) {
    fprintf(stderr, OHETS_SRV_PROG ": %s: unexpected argument (see --help)\n", argv[optind]);
    return OHETS_SRV_CLI_USAGE;
  }

  ohets_srv_config_defaults(cfg);
  if (file != NULL)
    ohets_srv_config_load(cfg, file, p);

  int cli_listeners = 0;
  const char *framing_override = NULL;
  uint64_t v;
  optind = 0; /* glibc: rescan from the start */
  while ((c = getopt_long(argc, argv, ":c:", opts, NULL)) != -1) {
    const char *name = NULL;
    for (size_t i = 0; opts[i].name != NULL; i++)
      if (opts[i].val == c)
        name = opts[i].name;
    switch (c) {
    case OPT_LISTEN:
      if (!cli_listeners) { /* the first --listen replaces the file's list */
        ohets_srv_config_free(cfg);
        cfg->n_listen = 0;
        cli_listeners = 1;
      }
      if (cfg->n_listen >= OHETS_SRV_MAX_LISTENERS) {
        ohets_srv_problem(p, "--listen: at most %d listeners", OHETS_SRV_MAX_LISTENERS);
        break;
      }
      if (ohets_srv_parse_listen(optarg, &cfg->listen[cfg->n_listen]) != 0)
        ohets_srv_problem(p, "--listen: \"%s\" is not HOST:PORT with a numeric address (IPv6 as [::1]:5270)",
                          optarg);
      else
        cfg->n_listen++;
      break;
    case OPT_FRAMING: framing_override = optarg; break;
    case OPT_DB: cli_path(name, optarg, cfg->db, sizeof cfg->db, p); break;
    case OPT_PARTNERS: cli_path(name, optarg, cfg->partners, sizeof cfg->partners, p); break;
    case OPT_LOG: cli_path(name, optarg, cfg->log, sizeof cfg->log, p); break;
    case OPT_KEYFILE:
      cli_path(name, optarg, cfg->log_hmac_key_file, sizeof cfg->log_hmac_key_file, p);
      cfg->log_hmac_key_len = 0; /* the file replaces a key from the config */
      break;
    case OPT_WORKERS:
      if (cli_uint(name, optarg, 1, 1024, &v, p) == 0) cfg->workers = (unsigned)v;
      break;
    case OPT_IDLE:
      if (cli_uint(name, optarg, 1, MS_MAX, &v, p) == 0) cfg->idle_timeout_ms = v;
      break;
    case OPT_DEADLINE:
      if (cli_uint(name, optarg, 1, MS_MAX, &v, p) == 0) cfg->frame_deadline_ms = v;
      break;
    case OPT_MAXFRAME:
      if (cli_uint(name, optarg, FRAME_MIN, FRAME_MAX, &v, p) == 0)
        cfg->max_frame_bytes = (size_t)v;
      break;
    case OPT_BUDGET:
      if (cli_uint(name, optarg, 1, MS_MAX, &v, p) == 0) cfg->queue_budget_ms = v;
      break;
    case OPT_MAXCONN:
      if (cli_uint(name, optarg, 1, 1000000, &v, p) == 0) cfg->max_connections = (unsigned)v;
      break;
    case OPT_PIPELINE:
      if (cli_uint(name, optarg, 1, 1024, &v, p) == 0) cfg->max_pipeline = (unsigned)v;
      break;
    case OPT_USER:
      if (optarg[0] == '\0' || strlen(optarg) >= sizeof cfg->user)
        ohets_srv_problem(p, "--user: must be a user name");
      else
        snprintf(cfg->user, sizeof cfg->user, "%s", optarg);
      break;
    case OPT_TODAY: {
      ohets_date d;
      if (strlen(optarg) != 10 || ohets_date_parse_iso(optarg, 10, &d) != 0)
        ohets_srv_problem(p, "--today: must be a date YYYY-MM-DD");
      else
        snprintf(cfg->today, sizeof cfg->today, "%s", optarg);
      break;
    }
    default: break;
    }
  }
  if (framing_override != NULL) {
    ohets_framing f;
    if (parse_framing(framing_override, &f) != 0)
      ohets_srv_problem(p, "--framing: must be hets, raw or auto");
    else
      for (size_t i = 0; i < cfg->n_listen; i++)
        cfg->listen[i].framing = f;
  }
  return check ? OHETS_SRV_CLI_CHECK : OHETS_SRV_CLI_RUN;
}

/* ------------------------------------------------------ file checks */

static int read_key_file(ohets_srv_config *cfg, ohets_srv_problems *p) {
  FILE *f = fopen(cfg->log_hmac_key_file, "rb");
  if (f == NULL) {
    ohets_srv_problem(p, "\"log_hmac_key_file\": %s: %s", cfg->log_hmac_key_file,
                      strerror(errno));
    return -errno;
  }
  uint8_t buf[sizeof cfg->log_hmac_key + 2];
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
    n--;
  if (n < 16 || n > sizeof cfg->log_hmac_key) {
    ohets_srv_problem(p, "\"log_hmac_key_file\": %s: the key must be 16..%zu bytes",
                      cfg->log_hmac_key_file, sizeof cfg->log_hmac_key);
    return -EINVAL;
  }
  memcpy(cfg->log_hmac_key, buf, n);
  cfg->log_hmac_key_len = n;
  return 0;
}

void ohets_srv_config_check_files(const ohets_srv_config *cfg_in,
                                  ohets_srv_problems *p) {
  char err[512];
  if (cfg_in->partners[0] != '\0') {
    ohets_partner_table *t = NULL;
    if (ohets_partners_load(cfg_in->partners, &t, err, sizeof err) != 0)
      ohets_srv_problem(p, "\"partners\": %s", err);
    ohets_partners_free(t);
  }
  if (cfg_in->log_hmac_key_file[0] != '\0') {
    /* The check reads the key into a scratch copy; main reads it for real. */
    ohets_srv_config *scratch = malloc(sizeof *scratch);
    if (scratch != NULL) {
      memcpy(scratch, cfg_in, sizeof *scratch);
      (void)read_key_file(scratch, p);
      memset(scratch->log_hmac_key, 0, sizeof scratch->log_hmac_key);
      free(scratch);
    }
  }
  (void)ohets_srv_config_check_user(cfg_in, p);
  ohets_store *s = NULL;
  if (ohets_store_open(&s, cfg_in->db, OHETS_STORE_READONLY, err, sizeof err) != 0)
    ohets_srv_problem(p, "\"db\": %s", err);
  if (s != NULL)
    ohets_store_close(s);
  if (strcmp(cfg_in->log, "-") != 0 && access(cfg_in->log, F_OK) == 0 &&
      access(cfg_in->log, W_OK) != 0)
    ohets_srv_problem(p, "\"log\": %s: %s", cfg_in->log, strerror(errno));
}

int ohets_srv_config_check_user(const ohets_srv_config *cfg, ohets_srv_problems *p) {
  if (cfg->user[0] == '\0')
    return 0;
  errno = 0;
  struct passwd *pw = getpwnam(cfg->user);
  if (pw == NULL) {
    ohets_srv_problem(p, "\"user\": %s: %s", cfg->user,
                      errno != 0 ? strerror(errno) : "no such user");
    return -ENOENT;
  }
  return 0;
}

int ohets_srv_config_read_key(ohets_srv_config *cfg, ohets_srv_problems *p) {
  if (cfg->log_hmac_key_file[0] == '\0')
    return 0;
  return read_key_file(cfg, p);
}
