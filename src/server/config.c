/* openhetsd settings (DESIGN §10, §11): one table of options gives each
 * setting its settings-file key, its command-line flag, its type and
 * bounds, its default and its help line.  Defaults, the file, getopt, the
 * usage text and --print-options are all read off that table, so a setting
 * is one row and its bounds are written once. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* getopt_long, strnlen */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "server/config.h"
#include "store/partners.h"
#include "store/store.h"

#define MS_MAX 86400000ULL /* one day: anything longer is a typo */
#define FRAME_MIN 106      /* an ISA alone */
#define FRAME_MAX (64ULL * 1024 * 1024)

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

const char *ohets_srv_protocol_name(ohets_srv_protocol p) {
  return p == OHETS_SRV_PROTOCOL_CORE ? "core" : "extranet";
}

uint64_t ohets_srv_listener_idle_ms(const ohets_srv_config *cfg, const ohets_srv_listen_cfg *l) {
  if (l->idle_timeout_ms != 0)
    return l->idle_timeout_ms;
  return l->protocol == OHETS_SRV_PROTOCOL_CORE ? OHETS_SRV_CORE_IDLE_MS : cfg->idle_timeout_ms;
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

/* ------------------------------------------------------ the table */

typedef enum opt_type {
  T_UINT,    /* unsigned integer within [lo, hi] */
  T_PATH,    /* non-empty path */
  T_NAME,    /* non-empty short string (a user name) */
  T_DATE,    /* YYYY-MM-DD */
  T_SECRET,  /* text key, settings file only (never on a command line) */
  T_LISTEN,  /* the listener list: its own reader */
  T_ADMIN,   /* the admin endpoint: {host, port} in the file, HOST:PORT as a flag */
  T_FRAMING  /* command line: one framing for every listener */
} opt_type;

typedef struct option_def {
  const char *key;  /* settings-file key; NULL: command line only */
  const char *flag; /* long option; NULL: settings file only */
  opt_type type;
  size_t off, size; /* the field in ohets_srv_config */
  uint64_t lo, hi;  /* T_UINT bounds */
  int nullable;     /* the file may give null: unset */
  const char *def;  /* the default, as text (what --print-options shows) */
  const char *arg;  /* the flag's value in the usage text */
  const char *help;
} option_def;

#define FIELD(f) offsetof(ohets_srv_config, f), sizeof(((ohets_srv_config *)0)->f)
#define NO_FIELD 0, 0

static const option_def options[] = {
    {"listen", "listen", T_LISTEN, NO_FIELD, 0, 0, 0, "127.0.0.1:5270", "HOST:PORT",
     "listen here (repeatable; replaces the file's list; IPv6 as [::1]:5270; port 0 picks one)"},
    {NULL, "framing", T_FRAMING, NO_FIELD, 0, 0, 0, "hets", "MODE",
     "hets, raw or auto, for every listener"},
    {"db", "db", T_PATH, FIELD(db), 0, 0, 0, "openhets.db", "PATH", "eligibility store"},
    {"partners", "partners", T_PATH, FIELD(partners), 0, 0, 1, NULL, "FILE",
     "trading partners (default: everyone allowed)"},
    {"log", "log", T_PATH, FIELD(log), 0, 0, 0, "-", "PATH|-", "session log, JSON Lines (- : stdout)"},
    {"log_hmac_key", NULL, T_SECRET, FIELD(log_hmac_key), 16, 256, 1, NULL, NULL,
     "key for the log's mbi_hash"},
    {"log_hmac_key_file", "log-hmac-key-file", T_PATH, FIELD(log_hmac_key_file), 0, 0, 1, NULL,
     "FILE", "file holding the key for the log's mbi_hash"},
    {"workers", "workers", T_UINT, FIELD(workers), 0, 1024, 0, "0", "N",
     "worker threads (0: number of cores)"},
    {"idle_timeout_ms", "idle-timeout-ms", T_UINT, FIELD(idle_timeout_ms), 1, MS_MAX, 0, "5000",
     "N", "idle disconnect"},
    {"frame_deadline_ms", "frame-deadline-ms", T_UINT, FIELD(frame_deadline_ms), 1, MS_MAX, 0,
     "30000", "N", "whole-frame deadline"},
    {"max_frame_bytes", "max-frame-bytes", T_UINT, FIELD(max_frame_bytes), FRAME_MIN, FRAME_MAX,
     0, "65536", "N", "largest payload"},
    {"max_body_bytes", "max-body-bytes", T_UINT, FIELD(max_body_bytes), 1024, 64u * 1024 * 1024,
     0, "1048576", "N", "largest HTTP request body (core listeners)"},
    {"queue_budget_ms", "queue-budget-ms", T_UINT, FIELD(queue_budget_ms), 1, MS_MAX, 0, "1000",
     "N", "queue wait that answers AAA 42"},
    {"max_connections", "max-connections", T_UINT, FIELD(max_connections), 1, 1000000, 0,
     "10000", "N", "open sockets over all listeners"},
    {"max_pipeline", "max-pipeline", T_UINT, FIELD(max_pipeline), 1, 1024, 0, "8", "N",
     "requests queued per socket"},
    {"max_jobs", "max-jobs", T_UINT, FIELD(max_jobs), 1, 1000000, 0, "4096", "N",
     "requests with the workers over all sockets"},
    {"log_queue", "log-queue", T_UINT, FIELD(log_queue), 16, 10000000, 0, "65536", "N",
     "session-log lines waiting for the disk"},
    {"shutdown_timeout_ms", "shutdown-timeout-ms", T_UINT, FIELD(shutdown_timeout_ms), 1, MS_MAX,
     0, "30000", "N", "longest drain after SIGTERM"},
    {"drain_grace_ms", "drain-grace-ms", T_UINT, FIELD(drain_grace_ms), 0, MS_MAX, 0, "0", "N",
     "after SIGTERM, keep accepting this long (a balancer's checks see 503 first)"},
    {"admin", "admin", T_ADMIN, NO_FIELD, 0, 0, 1, NULL, "HOST:PORT",
     "serve /healthz, /readyz and /metrics here (default: off)"},
    {"today", "today", T_DATE, FIELD(today), 0, 0, 1, NULL, "YYYY-MM-DD",
     "pin the transaction date (tests, demos)"},
    {"user", "user", T_NAME, FIELD(user), 0, 0, 1, NULL, "NAME",
     "started as root: run as NAME after binding"},
};
#define N_OPTIONS (sizeof options / sizeof options[0])

/* Stores text as o's value; on failure writes what it must be into why. */
static int set_text(const option_def *o, ohets_srv_config *cfg, const char *text,
                    char *why, size_t whysz) {
  char *field = (char *)cfg + o->off;
  switch (o->type) {
  case T_UINT: {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end != '\0' || errno != 0 || v < o->lo || v > o->hi) {
      snprintf(why, whysz, "must be an integer %llu..%llu", (unsigned long long)o->lo,
               (unsigned long long)o->hi);
      return -EINVAL;
    }
    if (o->size == sizeof(uint64_t)) {
      uint64_t u = v;
      memcpy(field, &u, sizeof u);
    } else {
      unsigned u = (unsigned)v;
      memcpy(field, &u, sizeof u);
    }
    return 0;
  }
  case T_PATH:
  case T_NAME:
    if (text[0] == '\0' || strlen(text) >= o->size) {
      snprintf(why, whysz, o->type == T_PATH ? "must be a non-empty path" : "must be a name");
      return -EINVAL;
    }
    snprintf(field, o->size, "%s", text);
    return 0;
  case T_DATE: {
    ohets_date d;
    if (strlen(text) != 10 || ohets_date_parse_iso(text, 10, &d) != 0) {
      snprintf(why, whysz, "must be a date YYYY-MM-DD");
      return -EINVAL;
    }
    snprintf(field, o->size, "%s", text);
    return 0;
  }
  case T_SECRET: {
    size_t n = strlen(text);
    if (n < o->lo || n > o->hi) {
      snprintf(why, whysz, "must be a string of %llu..%llu characters",
               (unsigned long long)o->lo, (unsigned long long)o->hi);
      return -EINVAL;
    }
    memcpy(field, text, n);
    cfg->log_hmac_key_len = n;
    return 0;
  }
  case T_ADMIN:
    if (ohets_srv_parse_listen(text, &cfg->admin) != 0) {
      snprintf(why, whysz, "must be HOST:PORT with a numeric address (IPv6 as [::1]:9270)");
      return -EINVAL;
    }
    cfg->admin_on = 1;
    return 0;
  case T_LISTEN:
  case T_FRAMING:
    break; /* read by their own code */
  }
  return -EINVAL;
}

static void unset(const option_def *o, ohets_srv_config *cfg) {
  if (o->type == T_ADMIN)
    cfg->admin_on = 0;
  memset((char *)cfg + o->off, 0, o->size);
  if (o->type == T_SECRET)
    cfg->log_hmac_key_len = 0;
}

void ohets_srv_config_defaults(ohets_srv_config *cfg) {
  char why[128];
  memset(cfg, 0, sizeof *cfg);
  for (size_t i = 0; i < N_OPTIONS; i++)
    if (options[i].def != NULL && options[i].size > 0)
      (void)set_text(&options[i], cfg, options[i].def, why, sizeof why);
  cfg->n_listen = 1;
  (void)ohets_srv_parse_listen("127.0.0.1:5270", &cfg->listen[0]);
}

void ohets_srv_options_print(FILE *f) {
  for (size_t i = 0; i < N_OPTIONS; i++) {
    const option_def *o = &options[i];
    fprintf(f, "%s\t", o->key ? o->key : "-");
    if (o->flag)
      fprintf(f, "--%s %s", o->flag, o->arg);
    else
      fputc('-', f);
    fprintf(f, "\t%s\n", o->def ? o->def : "none");
  }
}

/* The number of cores when workers is 0, and the TLS defaults. */
static void resolve(ohets_srv_config *cfg) {
  if (cfg->workers == 0) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    cfg->workers = cores > 0 ? (unsigned)cores : 1;
  }
}

void ohets_srv_config_free(ohets_srv_config *cfg) {
  for (size_t i = 0; i < cfg->n_listen; i++) {
    free(cfg->listen[i].submitters);
    cfg->listen[i].submitters = NULL;
    free(cfg->listen[i].tls);
    cfg->listen[i].tls = NULL;
    free(cfg->listen[i].trusted);
    cfg->listen[i].trusted = NULL;
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
  if (port_s[0] < '0' || port_s[0] > '9' || *end != '\0' || errno != 0 || port > 65535)
    return -EINVAL;
  uint8_t tmp[16];
  if (inet_pton(AF_INET, host, tmp) != 1 && inet_pton(AF_INET6, host, tmp) != 1)
    return -EINVAL;
  snprintf(out->host, sizeof out->host, "%s", host);
  out->port = (int)port;
  return 0;
}

/* ---------------------------------------------------------------- file */

typedef struct file_ctx {
  const char *file;
  ohets_srv_problems *p;
} file_ctx;

static void load_tls(json_t *v, size_t i, ohets_srv_listen_cfg *l, const file_ctx *fc) {
  static const char *const keys[] = {"cert", "key", "ca", "client_cert", "min_version"};
  if (!json_is_object(v)) {
    ohets_srv_problem(fc->p, "%s: \"listen\"[%zu].\"tls\": must be an object {cert, key, ca, "
                      "client_cert, min_version}", fc->file, i);
    return;
  }
  ohets_srv_tls_cfg *t = calloc(1, sizeof *t);
  if (t == NULL) {
    ohets_srv_problem(fc->p, "%s: out of memory", fc->file);
    return;
  }
  l->tls = t;
  t->min_version = 12;
  const char *key;
  json_t *val;
  json_object_foreach(v, key, val) {
    size_t k = 0;
    while (k < sizeof keys / sizeof keys[0] && strcmp(keys[k], key) != 0)
      k++;
    if (k == sizeof keys / sizeof keys[0])
      ohets_srv_problem(fc->p, "%s: \"listen\"[%zu].\"tls\".\"%s\": unknown key", fc->file, i,
                        key);
  }
  struct { const char *name; char *dst; int required; } paths[] = {
      {"cert", t->cert, 1}, {"key", t->key, 1}, {"ca", t->ca, 0}};
  for (size_t k = 0; k < 3; k++) {
    json_t *s = json_object_get(v, paths[k].name);
    const char *text = json_string_value(s);
    if (s == NULL && !paths[k].required)
      continue;
    if (text == NULL || text[0] == '\0' || strlen(text) >= OHETS_SRV_PATH_MAX)
      ohets_srv_problem(fc->p, "%s: \"listen\"[%zu].\"tls\".\"%s\": must be a non-empty path",
                        fc->file, i, paths[k].name);
    else
      snprintf(paths[k].dst, OHETS_SRV_PATH_MAX, "%s", text);
  }
  json_t *cc = json_object_get(v, "client_cert");
  if (cc != NULL) {
    const char *s = json_string_value(cc);
    if (s != NULL && strcmp(s, "required") == 0)
      t->client_cert = OHETS_SRV_CLIENT_CERT_REQUIRED;
    else if (s != NULL && strcmp(s, "optional") == 0)
      t->client_cert = OHETS_SRV_CLIENT_CERT_OPTIONAL;
    else if (s != NULL && strcmp(s, "none") == 0)
      t->client_cert = OHETS_SRV_CLIENT_CERT_NONE;
    else
      ohets_srv_problem(fc->p, "%s: \"listen\"[%zu].\"tls\".\"client_cert\": must be "
                        "\"required\", \"optional\" or \"none\"", fc->file, i);
  }
  if (t->client_cert == OHETS_SRV_CLIENT_CERT_DEFAULT)
    t->client_cert = t->ca[0] ? OHETS_SRV_CLIENT_CERT_REQUIRED : OHETS_SRV_CLIENT_CERT_NONE;
  if (t->client_cert != OHETS_SRV_CLIENT_CERT_NONE && t->ca[0] == '\0')
    ohets_srv_problem(fc->p, "%s: \"listen\"[%zu].\"tls\".\"client_cert\": needs \"ca\" to "
                      "check client certificates against", fc->file, i);
  json_t *mv = json_object_get(v, "min_version");
  if (mv != NULL) {
    const char *s = json_string_value(mv);
    if (s != NULL && strcmp(s, "1.2") == 0)
      t->min_version = 12;
    else if (s != NULL && strcmp(s, "1.3") == 0)
      t->min_version = 13;
    else
      ohets_srv_problem(fc->p, "%s: \"listen\"[%zu].\"tls\".\"min_version\": must be \"1.2\" "
                        "or \"1.3\"", fc->file, i);
  }
}

static void load_submitters(json_t *subs, size_t i, ohets_srv_listen_cfg *l,
                            const file_ctx *fc) {
  if (!json_is_array(subs)) {
    ohets_srv_problem(fc->p, "%s: \"listen\"[%zu].\"submitters\": must be an array of "
                      "submitter IDs", fc->file, i);
    return;
  }
  l->has_submitters = 1;
  l->submitters = calloc(json_array_size(subs) + 1, sizeof *l->submitters);
  if (l->submitters == NULL) {
    ohets_srv_problem(fc->p, "%s: out of memory", fc->file);
    return;
  }
  size_t k;
  json_t *s;
  json_array_foreach(subs, k, s) {
    const char *id = json_string_value(s);
    if (id == NULL || id[0] == '\0' || strlen(id) >= OHETS_SRV_SUBMITTER_LEN) {
      ohets_srv_problem(fc->p, "%s: \"listen\"[%zu].\"submitters\"[%zu]: must be a submitter "
                        "ID of 1..15 characters", fc->file, i, k);
      continue;
    }
    snprintf(l->submitters[l->n_submitters++], OHETS_SRV_SUBMITTER_LEN, "%s", id);
  }
}

/* A listener's true/false key: 1 only for true; anything but a boolean is
 * a problem. */
static int listener_flag(json_t *v, size_t i, const char *key, const file_ctx *fc) {
  json_t *b = json_object_get(v, key);
  if (b != NULL && !json_is_boolean(b))
    ohets_srv_problem(fc->p, "%s: \"listen\"[%zu].\"%s\": must be true or false", fc->file, i,
                      key);
  return json_is_true(b);
}

static void load_proxy(json_t *v, size_t i, ohets_srv_listen_cfg *l, const file_ctx *fc) {
  json_t *tp = json_object_get(v, "trusted_proxies");
  l->proxy_protocol = listener_flag(v, i, "proxy_protocol", fc);
  l->reuse_port = listener_flag(v, i, "reuse_port", fc);
  if (tp != NULL) {
    if (!json_is_array(tp)) {
      ohets_srv_problem(fc->p, "%s: \"listen\"[%zu].\"trusted_proxies\": must be an array of "
                        "addresses or CIDRs", fc->file, i);
      return;
    }
    l->trusted = calloc(json_array_size(tp) + 1, sizeof *l->trusted);
    if (l->trusted == NULL) {
      ohets_srv_problem(fc->p, "%s: out of memory", fc->file);
      return;
    }
    size_t k;
    json_t *a;
    json_array_foreach(tp, k, a) {
      const char *text = json_string_value(a);
      if (text == NULL || ohets_network_parse(text, &l->trusted[l->n_trusted]) != 0)
        ohets_srv_problem(fc->p, "%s: \"listen\"[%zu].\"trusted_proxies\"[%zu]: not an address "
                          "or CIDR", fc->file, i, k);
      else
        l->n_trusted++;
    }
  }
  if (l->proxy_protocol && tp == NULL)
    ohets_srv_problem(fc->p, "%s: \"listen\"[%zu].\"proxy_protocol\": needs \"trusted_proxies\" "
                      "(the balancers allowed to say who the client is)", fc->file, i);
}

/* "protocol" (§13: "core" needs "tls"; framing is the Extranet's) and the
 * listener's own "idle_timeout_ms". */
static void load_protocol(json_t *v, size_t i, ohets_srv_listen_cfg *l, const file_ctx *fc) {
  json_t *proto = json_object_get(v, "protocol");
  if (proto != NULL) {
    const char *s = json_string_value(proto);
    if (s != NULL && strcmp(s, "extranet") == 0)
      l->protocol = OHETS_SRV_PROTOCOL_EXTRANET;
    else if (s != NULL && strcmp(s, "core") == 0)
      l->protocol = OHETS_SRV_PROTOCOL_CORE;
    else
      ohets_srv_problem(fc->p, "%s: \"listen\"[%zu].\"protocol\": must be \"extranet\" or "
                        "\"core\"", fc->file, i);
  }
  if (l->protocol == OHETS_SRV_PROTOCOL_CORE) {
    if (l->tls == NULL)
      ohets_srv_problem(fc->p, "%s: \"listen\"[%zu]: \"protocol\": \"core\" needs \"tls\" "
                        "(CORE's envelopes travel over HTTPS only)", fc->file, i);
    if (json_object_get(v, "framing") != NULL)
      ohets_srv_problem(fc->p, "%s: \"listen\"[%zu].\"framing\": not for a \"core\" "
                        "listener (HTTP frames its requests)", fc->file, i);
  }
  json_t *idle = json_object_get(v, "idle_timeout_ms");
  if (idle != NULL) {
    if (!json_is_integer(idle) || json_integer_value(idle) < 1 ||
        (uint64_t)json_integer_value(idle) > MS_MAX)
      ohets_srv_problem(fc->p, "%s: \"listen\"[%zu].\"idle_timeout_ms\": must be an integer "
                        "1..%llu", fc->file, i, (unsigned long long)MS_MAX);
    else
      l->idle_timeout_ms = (uint64_t)json_integer_value(idle);
  }
}

static void load_listener(json_t *v, size_t i, ohets_srv_listen_cfg *l, const file_ctx *fc) {
  static const char *const keys[] = {"host",           "port",            "framing",
                                     "submitters",     "tls",             "proxy_protocol",
                                     "trusted_proxies", "reuse_port",     "protocol",
                                     "idle_timeout_ms"};
  (void)ohets_srv_parse_listen("127.0.0.1:5270", l);
  if (!json_is_object(v)) {
    ohets_srv_problem(fc->p, "%s: \"listen\"[%zu]: must be an object {host, port, framing}",
                      fc->file, i);
    return;
  }
  const char *key;
  json_t *val;
  json_object_foreach(v, key, val) {
    size_t k = 0;
    while (k < sizeof keys / sizeof keys[0] && strcmp(keys[k], key) != 0)
      k++;
    if (k == sizeof keys / sizeof keys[0])
      ohets_srv_problem(fc->p, "%s: \"listen\"[%zu].\"%s\": unknown key", fc->file, i, key);
  }
  json_t *host = json_object_get(v, "host");
  if (host != NULL) {
    const char *h = json_string_value(host);
    uint8_t tmp[16];
    if (h == NULL || strlen(h) >= sizeof l->host ||
        (inet_pton(AF_INET, h, tmp) != 1 && inet_pton(AF_INET6, h, tmp) != 1))
      ohets_srv_problem(fc->p, "%s: \"listen\"[%zu].\"host\": must be a numeric IPv4 or IPv6 "
                        "address", fc->file, i);
    else
      snprintf(l->host, sizeof l->host, "%s", h);
  }
  json_t *port = json_object_get(v, "port");
  if (port != NULL) {
    if (!json_is_integer(port) || json_integer_value(port) < 0 ||
        json_integer_value(port) > 65535)
      ohets_srv_problem(fc->p, "%s: \"listen\"[%zu].\"port\": must be an integer 0..65535",
                        fc->file, i);
    else
      l->port = (int)json_integer_value(port);
  }
  json_t *framing = json_object_get(v, "framing");
  if (framing != NULL && (json_string_value(framing) == NULL ||
                          parse_framing(json_string_value(framing), &l->framing) != 0))
    ohets_srv_problem(fc->p, "%s: \"listen\"[%zu].\"framing\": must be \"hets\", \"raw\" or "
                      "\"auto\"", fc->file, i);
  json_t *subs = json_object_get(v, "submitters");
  if (subs != NULL)
    load_submitters(subs, i, l, fc);
  json_t *tls = json_object_get(v, "tls");
  if (tls != NULL && !json_is_null(tls))
    load_tls(tls, i, l, fc);
  load_proxy(v, i, l, fc);
  load_protocol(v, i, l, fc);
}

static void load_listeners(ohets_srv_config *cfg, json_t *listen, const file_ctx *fc) {
  if (!json_is_array(listen) || json_array_size(listen) == 0 ||
      json_array_size(listen) > OHETS_SRV_MAX_LISTENERS) {
    ohets_srv_problem(fc->p, "%s: \"listen\": must be an array of 1..%d listener objects",
                      fc->file, OHETS_SRV_MAX_LISTENERS);
    return;
  }
  ohets_srv_config_free(cfg);
  cfg->n_listen = json_array_size(listen);
  for (size_t i = 0; i < cfg->n_listen; i++)
    load_listener(json_array_get(listen, i), i, &cfg->listen[i], fc);
}

static void load_admin(ohets_srv_config *cfg, json_t *v, const file_ctx *fc) {
  json_t *host = json_object_get(v, "host"), *port = json_object_get(v, "port");
  const char *h = json_string_value(host);
  uint8_t tmp[16];
  if (!json_is_object(v) || json_object_size(v) != (size_t)(host != NULL) + (port != NULL) ||
      h == NULL || strlen(h) >= sizeof cfg->admin.host ||
      (inet_pton(AF_INET, h, tmp) != 1 && inet_pton(AF_INET6, h, tmp) != 1) ||
      !json_is_integer(port) || json_integer_value(port) < 0 || json_integer_value(port) > 65535) {
    ohets_srv_problem(fc->p, "%s: \"admin\": must be {\"host\": a numeric address, \"port\": "
                      "0..65535} or null", fc->file);
    return;
  }
  memset(&cfg->admin, 0, sizeof cfg->admin);
  snprintf(cfg->admin.host, sizeof cfg->admin.host, "%s", h);
  cfg->admin.port = (int)json_integer_value(port);
  cfg->admin_on = 1;
}

/* One top-level key of the file, by its row in the table. */
static void load_value(ohets_srv_config *cfg, const option_def *o, json_t *v,
                       const file_ctx *fc) {
  char why[128], text[32];
  const char *s = NULL;
  if (o->type == T_LISTEN) {
    load_listeners(cfg, v, fc);
    return;
  }
  if (json_is_null(v) && o->nullable) {
    unset(o, cfg);
    return;
  }
  if (o->type == T_ADMIN) {
    load_admin(cfg, v, fc);
    return;
  }
  if (o->type == T_UINT) {
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
      snprintf(text, sizeof text, "%lld", (long long)json_integer_value(v));
      s = text;
    }
  } else {
    s = json_string_value(v);
  }
  if (s == NULL || set_text(o, cfg, s, why, sizeof why) != 0) {
    if (s == NULL)
      (void)set_text(o, cfg, "", why, sizeof why); /* for the message only */
    ohets_srv_problem(fc->p, "%s: \"%s\": %s%s", fc->file, o->key, why,
                      o->nullable ? " (or null)" : "");
    if (o->type == T_SECRET)
      unset(o, cfg);
  }
}

static const option_def *by_key(const char *key) {
  for (size_t i = 0; i < N_OPTIONS; i++)
    if (options[i].key != NULL && strcmp(options[i].key, key) == 0)
      return &options[i];
  return NULL;
}

void ohets_srv_config_load(ohets_srv_config *cfg, const char *file, ohets_srv_problems *p) {
  json_error_t jerr;
  file_ctx fc = {file, p};
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
    const option_def *o = by_key(key);
    if (o == NULL)
      ohets_srv_problem(p, "%s: \"%s\": unknown key", file, key);
    else
      load_value(cfg, o, val, &fc);
  }
  if (cfg->log_hmac_key_len > 0 && cfg->log_hmac_key_file[0] != '\0')
    ohets_srv_problem(p, "%s: \"log_hmac_key\" and \"log_hmac_key_file\": give one, not both",
                      file);
done:
  json_decref(root);
}

/* ----------------------------------------------------- command line */

enum {
  OPT_CONFIG = 'c',
  OPT_BASE = 256,
  OPT_CHECK = 512,
  OPT_HELP,
  OPT_VERSION,
  OPT_PRINT,
  OPT_HASH_PASSWORD
};

static void usage(FILE *f) {
  fprintf(f, "usage: " OHETS_SRV_PROG " [-c FILE] [--check-config] [options]\n"
             "The HETS 270/271 server (Extranet socket and CORE HTTPS doors); runs in the\n"
             "foreground.\n"
             "  -c, --config FILE        JSON settings (README, Settings)\n"
             "      --check-config       check the settings and the files they name\n");
  for (size_t i = 0; i < N_OPTIONS; i++) {
    const option_def *o = &options[i];
    if (o->flag == NULL)
      continue;
    char left[64];
    snprintf(left, sizeof left, "--%s %s", o->flag, o->arg);
    fprintf(f, "      %-22s %s", left, o->help);
    if (o->def != NULL && o->type != T_LISTEN && o->type != T_FRAMING)
      fprintf(f, " (default %s)", o->def);
    fputc('\n', f);
  }
  fprintf(f, "      --hash-password      read a password on stdin, print its scrypt PHC string\n"
             "                           (for a partner's \"users\", CORE listeners)\n"
             "      --print-options      the option table: key, option, default\n"
             "      --help, --version\n"
             "Signals: TERM/INT drain and exit 0 (a second one exits at once);\n"
             "HUP reopens the log and reloads the partners file and certificates.\n");
}

/* getopt's table, built from ours. */
static void long_options(struct option *out) {
  size_t n = 0;
  for (size_t i = 0; i < N_OPTIONS; i++)
    if (options[i].flag != NULL)
      out[n++] = (struct option){options[i].flag, required_argument, NULL, OPT_BASE + (int)i};
  out[n++] = (struct option){"config", required_argument, NULL, OPT_CONFIG};
  out[n++] = (struct option){"check-config", no_argument, NULL, OPT_CHECK};
  out[n++] = (struct option){"help", no_argument, NULL, OPT_HELP};
  out[n++] = (struct option){"version", no_argument, NULL, OPT_VERSION};
  out[n++] = (struct option){"print-options", no_argument, NULL, OPT_PRINT};
  out[n++] = (struct option){"hash-password", no_argument, NULL, OPT_HASH_PASSWORD};
  out[n] = (struct option){NULL, 0, NULL, 0};
}

static void cli_listen(ohets_srv_config *cfg, const char *arg, int *first,
                       ohets_srv_problems *p) {
  if (*first) { /* the first --listen replaces the file's list */
    ohets_srv_config_free(cfg);
    cfg->n_listen = 0;
    *first = 0;
  }
  if (cfg->n_listen >= OHETS_SRV_MAX_LISTENERS) {
    ohets_srv_problem(p, "--listen: at most %d listeners", OHETS_SRV_MAX_LISTENERS);
    return;
  }
  if (ohets_srv_parse_listen(arg, &cfg->listen[cfg->n_listen]) != 0)
    ohets_srv_problem(p, "--listen: \"%s\" is not HOST:PORT with a numeric address (IPv6 as "
                      "[::1]:5270)", arg);
  else
    cfg->n_listen++;
}

ohets_srv_cli_result ohets_srv_config_from_args(int argc, char **argv, ohets_srv_config *cfg,
                                                ohets_srv_problems *p) {
  struct option opts[N_OPTIONS + 7];
  long_options(opts);
  /* Overrides apply after the file whatever their order: find the file
   * (and the options that end the run) first. */
  const char *file = NULL;
  int check = 0, c;
  opterr = 0;
  optind = 0;
  while ((c = getopt_long(argc, argv, ":c:", opts, NULL)) != -1) {
    switch (c) {
    case OPT_CONFIG: file = optarg; break;
    case OPT_CHECK: check = 1; break;
    case OPT_HELP: usage(stdout); return OHETS_SRV_CLI_EXIT_OK;
    case OPT_VERSION: printf(OHETS_SRV_PROG " " OHETS_VERSION_STRING "\n"); return OHETS_SRV_CLI_EXIT_OK;
    case OPT_PRINT: ohets_srv_options_print(stdout); return OHETS_SRV_CLI_EXIT_OK;
    case OPT_HASH_PASSWORD: return OHETS_SRV_CLI_HASH_PASSWORD;
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

  int first_listen = 1;
  const char *framing = NULL;
  optind = 0; /* glibc: rescan from the start */
  while ((c = getopt_long(argc, argv, ":c:", opts, NULL)) != -1) {
    if (c < OPT_BASE || c >= OPT_BASE + (int)N_OPTIONS)
      continue;
    const option_def *o = &options[c - OPT_BASE];
    char why[128];
    if (o->type == T_LISTEN)
      cli_listen(cfg, optarg, &first_listen, p);
    else if (o->type == T_FRAMING)
      framing = optarg;
    else if (set_text(o, cfg, optarg, why, sizeof why) != 0)
      ohets_srv_problem(p, "--%s: %s", o->flag, why);
    else if (o->off == offsetof(ohets_srv_config, log_hmac_key_file))
      cfg->log_hmac_key_len = 0; /* the file replaces a key from the settings file */
  }
  if (framing != NULL) {
    ohets_framing f;
    if (parse_framing(framing, &f) != 0)
      ohets_srv_problem(p, "--framing: must be hets, raw or auto");
    else
      for (size_t i = 0; i < cfg->n_listen; i++)
        cfg->listen[i].framing = f;
  }
  resolve(cfg);
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
    memset(buf, 0, sizeof buf);
    return -EINVAL;
  }
  memcpy(cfg->log_hmac_key, buf, n);
  memset(buf, 0, sizeof buf);
  cfg->log_hmac_key_len = n;
  return 0;
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

void ohets_srv_config_check_files(const ohets_srv_config *cfg_in, ohets_srv_problems *p) {
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

int ohets_srv_config_read_key(ohets_srv_config *cfg, ohets_srv_problems *p) {
  if (cfg->log_hmac_key_file[0] == '\0')
    return 0;
  return read_key_file(cfg, p);
}
