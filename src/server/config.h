/* openhetsd settings: one option table drives the defaults, the settings
 * file, the command line, the usage text and --check-config.
 *
 * Reading never stops at the first problem: every problem is collected as
 * one line naming the key (or option), so an operator fixes a file in one
 * pass. */
#ifndef OHETS_SERVER_CONFIG_H
#define OHETS_SERVER_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "openhets/openhets.h"
#include "store/partners.h"

#define OHETS_SRV_PROG "openhetsd"
#define OHETS_SRV_MAX_LISTENERS 64
#define OHETS_SRV_SUBMITTER_LEN 16 /* ISA06 is 15 characters */
#define OHETS_SRV_PATH_MAX 4096

typedef enum ohets_srv_client_cert {
  OHETS_SRV_CLIENT_CERT_DEFAULT = 0, /* required with a ca, else none */
  OHETS_SRV_CLIENT_CERT_NONE,
  OHETS_SRV_CLIENT_CERT_OPTIONAL,
  OHETS_SRV_CLIENT_CERT_REQUIRED
} ohets_srv_client_cert;

/* A listener's "tls" object (DESIGN §12); on when cert is set. */
typedef struct ohets_srv_tls_cfg {
  char cert[OHETS_SRV_PATH_MAX];  /* "": plain TCP */
  char key[OHETS_SRV_PATH_MAX];
  char ca[OHETS_SRV_PATH_MAX];    /* client CA; "": none */
  ohets_srv_client_cert client_cert; /* resolved: never DEFAULT after loading */
  int min_version;                /* 12 or 13 */
} ohets_srv_tls_cfg;

/* What a listener speaks: DESIGN §3's socket or §13's HTTPS envelopes. */
typedef enum ohets_srv_protocol {
  OHETS_SRV_PROTOCOL_EXTRANET = 0,
  OHETS_SRV_PROTOCOL_CORE
} ohets_srv_protocol;

#define OHETS_SRV_CORE_IDLE_MS 60000 /* CORE's 60 seconds */

typedef struct ohets_srv_listen_cfg {
  char host[64];            /* numeric IPv4 or IPv6 address */
  int port;                 /* 0: the kernel picks a free port */
  ohets_srv_protocol protocol;
  ohets_framing framing;    /* hets, raw or auto (extranet) */
  uint64_t idle_timeout_ms; /* 0: the global setting (extranet), 60000 (core) */
  char (*submitters)[OHETS_SRV_SUBMITTER_LEN]; /* allowed IDs; NULL: any */
  size_t n_submitters;
  int has_submitters;       /* 1: "submitters" given (even empty) */
  ohets_srv_tls_cfg *tls;   /* NULL: plain TCP */
  int proxy_protocol;       /* 1: connections start with a PROXY header (v1 or v2) */
  ohets_network *trusted;   /* peers allowed to send one (proxy_protocol) */
  size_t n_trusted;
  int reuse_port;           /* SO_REUSEPORT: several processes share the port */
} ohets_srv_listen_cfg;

typedef struct ohets_srv_config {
  ohets_srv_listen_cfg listen[OHETS_SRV_MAX_LISTENERS];
  size_t n_listen;
  char db[OHETS_SRV_PATH_MAX];       /* SQLite store */
  char partners[OHETS_SRV_PATH_MAX]; /* partners.json; "": everyone allowed */
  char log[OHETS_SRV_PATH_MAX];      /* session log path; "-": stdout */
  char log_hmac_key_file[OHETS_SRV_PATH_MAX];
  uint8_t log_hmac_key[256]; /* key for the MBI correlation hash */
  size_t log_hmac_key_len;   /* 0: no mbi_hash in the log */
  unsigned workers;          /* worker threads; 0 given: the cores */
  uint64_t idle_timeout_ms;
  uint64_t frame_deadline_ms;
  uint64_t queue_budget_ms;  /* queue wait past this answers AAA 42 */
  uint64_t shutdown_timeout_ms; /* drain limit after SIGTERM */
  uint64_t drain_grace_ms;   /* after SIGTERM, keep accepting this long first */
  uint64_t max_frame_bytes;
  uint64_t max_body_bytes;   /* core listeners: largest HTTP request body */
  uint64_t max_connections;  /* open sockets, all listeners */
  uint64_t max_pipeline;     /* decoded requests queued per connection */
  uint64_t max_jobs;         /* jobs queued or running, all connections */
  uint64_t log_queue;        /* session-log lines waiting for the disk */
  char today[11];            /* YYYY-MM-DD pin; "": the clock's date */
  char user[64];             /* started as root: drop to this user; "": stay */
  ohets_srv_listen_cfg admin; /* the admin endpoint's address (host, port) */
  int admin_on;              /* 1: "admin" given */
} ohets_srv_config;

/* Problems found while reading the configuration: one line each, naming
 * the key (or option) that is wrong. */
#define OHETS_SRV_MAX_PROBLEMS 32
typedef struct ohets_srv_problems {
  char line[OHETS_SRV_MAX_PROBLEMS][320];
  unsigned n;
} ohets_srv_problems;

void ohets_srv_problem(ohets_srv_problems *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* What the command line asked for. */
typedef enum ohets_srv_cli_result {
  OHETS_SRV_CLI_RUN = 0,
  OHETS_SRV_CLI_CHECK,   /* --check-config */
  OHETS_SRV_CLI_EXIT_OK, /* --help / --version / --print-options printed */
  OHETS_SRV_CLI_HASH_PASSWORD, /* --hash-password: a PHC string from stdin */
  OHETS_SRV_CLI_USAGE    /* usage error printed: exit 2 */
} ohets_srv_cli_result;

void ohets_srv_config_defaults(ohets_srv_config *cfg);
/* Reads a JSON settings file over cfg; problems are collected, not fatal. */
void ohets_srv_config_load(ohets_srv_config *cfg, const char *path,
                           ohets_srv_problems *p);
/* Parses argv: defaults, then the -c file, then the overrides whatever
 * their order.  Problems with the file or a value land in p. */
ohets_srv_cli_result ohets_srv_config_from_args(int argc, char **argv,
                                                ohets_srv_config *cfg,
                                                ohets_srv_problems *p);
/* Loads what the settings point at (partners, key file, store, user, TLS
 * files) to check that they can be used; problems land in p. */
void ohets_srv_config_check_files(const ohets_srv_config *cfg,
                                  ohets_srv_problems *p);
/* Reads cfg->log_hmac_key_file (when set) into cfg->log_hmac_key. */
int ohets_srv_config_read_key(ohets_srv_config *cfg, ohets_srv_problems *p);
/* Looks cfg->user up; problems land in p. */
int ohets_srv_config_check_user(const ohets_srv_config *cfg, ohets_srv_problems *p);
void ohets_srv_config_free(ohets_srv_config *cfg);

const char *ohets_srv_framing_name(ohets_framing f);
const char *ohets_srv_protocol_name(ohets_srv_protocol p); /* "extranet", "core" */
/* The idle disconnect that applies on listener l. */
uint64_t ohets_srv_listener_idle_ms(const ohets_srv_config *cfg, const ohets_srv_listen_cfg *l);
/* Parses "HOST:PORT", "[V6]:PORT" or "PORT". */
int ohets_srv_parse_listen(const char *spec, ohets_srv_listen_cfg *out);

/* The option table as text, one line per setting: key, option, default,
 * tab-separated ("-" for no key or no option, "none" for no default).  The README's settings table is checked
 * against it. */
void ohets_srv_options_print(FILE *f);

#endif /* OHETS_SERVER_CONFIG_H */
