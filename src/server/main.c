/* openhetsd: the HETS 270/271 Extranet socket server (DESIGN §3, §8-§11).
 *
 * Startup checks everything that can be checked before a socket opens
 * (settings, partners, store, log, addresses) and exits 1 with one clear
 * line when something is wrong.  Signals: TERM/INT drain (stop accepting,
 * answer what is in flight and queued, close, flush the log, exit 0; a
 * second one exits at once), HUP reopens the log and reloads partners. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* pthread_rwlock_t in uv.h, getopt_long, strnlen */
#endif
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <systemd/sd-daemon.h>

#include "caqh/phc.h"
#include "caqh/soap.h"

#include "server/admin.h"
#include "server/proxy_accept.h"
#include "server/credcache.h"
#include "server/replay.h"
#include "server/session.h"

/* The daemon: the server's modules plus what only the process has (its
 * signals, the drain timer, the partners reload). */
/* CORE's PayloadID cache: ten minutes of answers at most this large. */
#define REPLAY_MAX_ENTRIES 100000
#define REPLAY_MAX_BYTES (256u * 1024 * 1024)
#define CREDCACHE_SLOTS 4096 /* checked passwords kept */

typedef struct daemon_state {
  ohets_srv_server srv;        /* first: the drained callback casts back */
  uv_signal_t sig_term, sig_int, sig_hup;
  uv_timer_t shutdown_timer;   /* the drain's limit; first the drain grace */
  uv_timer_t watchdog;         /* systemd's WatchdogSec: WATCHDOG=1 at half of it */
  ohets_srv_admin *admin;      /* /healthz, /readyz, /metrics; NULL: off */
  int in_grace;                /* SIGTERM seen, still accepting (drain_grace_ms) */
  int finished;                /* everything closed; loop winding down */
  int reloading;               /* a partners reload is running */
  uv_work_t reload_work;
  ohets_partner_table *reload_table; /* reload result */
  char reload_err[512];
  int reload_rc;
  ohets_tls_ctx *reload_tls[OHETS_SRV_MAX_LISTENERS]; /* reloaded certificates */
  char reload_tls_err[600];
  int reload_tls_rc;
  int has_tls;                 /* some listener has TLS */
  ohets_srv_replay *replay; /* CORE's PayloadID cache (NULL: no core listener) */
  ohets_srv_credcache *creds; /* CORE's checked passwords (NULL: no core listener) */
} daemon_state;

/* Thousands of sockets need more descriptors than the usual soft limit. */
static void raise_fd_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &rl);
  }
}

/* ------------------------------------------------------- lifecycle */

static void on_closed_noop(uv_handle_t *h) { (void)h; }

/* The last session has closed after a stop signal (or there was none). */
static void finish(ohets_srv_server *srv) {
  daemon_state *d = (daemon_state *)srv;
  if (d->finished)
    return;
  d->finished = 1;
  ohets_srv_listeners_close(srv->listeners);
  /* Workers finish what they hold (results for closed sessions are
   * dropped), then every remaining handle closes and uv_run returns. */
  ohets_srv_pool_stop(srv->pool);
  /* The signal handlers stay until exit (close_signals()): closed now, a
   * second stop signal during the last flush would kill the process by the
   * signal instead of the documented exit 1. */
  uv_unref((uv_handle_t *)&d->sig_term);
  uv_unref((uv_handle_t *)&d->sig_int);
  uv_unref((uv_handle_t *)&d->sig_hup);
  uv_close((uv_handle_t *)&d->shutdown_timer, on_closed_noop);
  uv_close((uv_handle_t *)&d->watchdog, on_closed_noop);
  ohets_srv_admin_close(d->admin);
  d->admin = NULL;
}

static void second_signal_exit(void) {
  static const char msg[] = OHETS_SRV_PROG ": second signal: exiting now\n";
  ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
  (void)w;
  _exit(1);
}

static void on_late_stop_signal(int signum) {
  (void)signum;
  second_signal_exit();
}

/* At exit: a stop signal that arrived after the loop ended is handled now,
 * and one arriving later still exits 1. */
static void close_signals(daemon_state *d) {
  uv_ref((uv_handle_t *)&d->sig_term);
  uv_ref((uv_handle_t *)&d->sig_int);
  uv_run(d->srv.loop, UV_RUN_NOWAIT);
  uv_close((uv_handle_t *)&d->sig_term, on_closed_noop);
  uv_close((uv_handle_t *)&d->sig_int, on_closed_noop);
  uv_close((uv_handle_t *)&d->sig_hup, on_closed_noop);
  signal(SIGHUP, SIG_IGN); /* nothing left to reopen or reload */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_late_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
}

/* DESIGN §14 `user`: started as root, run as that user once the ports are
 * bound and the files open; without it, say that it runs as root. */
static int run_as_user(const ohets_srv_config *cfg, char *err, size_t errsz) {
  if (geteuid() != 0) {
    if (cfg->user[0] != '\0') {
      struct passwd *pw = getpwnam(cfg->user);
      if (pw == NULL || pw->pw_uid != geteuid())
        fprintf(stderr, OHETS_SRV_PROG ": warning: \"user\" %s ignored: not started as root\n",
                cfg->user);
    }
    return 0;
  }
  if (cfg->user[0] == '\0') {
    fprintf(stderr, OHETS_SRV_PROG ": warning: running as root; set \"user\" (or --user) to "
            "run as an unprivileged user after binding\n");
    return 0;
  }
  errno = 0;
  struct passwd *pw = getpwnam(cfg->user);
  if (pw == NULL) {
    snprintf(err, errsz, "user %s: %s", cfg->user, errno ? strerror(errno) : "no such user");
    return -ENOENT;
  }
  /* glibc applies these to every thread of the process. */
  if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
      setuid(pw->pw_uid) != 0) {
    int e = errno;
    snprintf(err, errsz, "user %s: cannot switch: %s", cfg->user, strerror(e));
    return -e;
  }
  if (pw->pw_uid != 0 && setuid(0) == 0) {
    snprintf(err, errsz, "user %s: root privileges could be regained", cfg->user);
    return -EPERM;
  }
  return 0;
}

#ifdef OHETS_TEST_HOOKS
/* Test hook: hold the process after the loop ends, so a test can signal it
 * in the last moments of a drain. */
static void test_exit_delay(void) {
  const char *v = getenv("OPENHETS_TEST_EXIT_DELAY_MS");
  unsigned long ms = v != NULL ? strtoul(v, NULL, 10) : 0;
  if (ms > 0)
    fprintf(stderr, OHETS_SRV_PROG ": test hook: holding exit for %lu ms\n", ms);
  struct timespec d = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  while (ms > 0 && nanosleep(&d, &d) != 0 && errno == EINTR)
    ;
}
#endif

static void on_shutdown_timeout(uv_timer_t *t) {
  daemon_state *d = t->data;
  ohets_srv_server *srv = &d->srv;
  fprintf(stderr, OHETS_SRV_PROG ": drain took longer than %llu ms; closing %zu connections\n",
          (unsigned long long)srv->cfg->shutdown_timeout_ms,
          ohets_srv_conntable_count(srv->sessions));
  ohets_srv_sessions_close_all(srv);
  if (ohets_srv_conntable_count(srv->sessions) == 0)
    finish(srv);
}

/* Stop accepting, answer what has come whole, close, exit. */
static void begin_drain(daemon_state *d) {
  ohets_srv_server *srv = &d->srv;
  if (!d->in_grace)
    (void)sd_notify(0, "STOPPING=1");
  d->in_grace = 0;
  srv->stopping = 1;
  ohets_srv_listeners_close(srv->listeners);
  ohets_srv_proxy_close_all(srv);
  uv_timer_start(&d->shutdown_timer, on_shutdown_timeout, srv->cfg->shutdown_timeout_ms, 0);
  ohets_srv_sessions_drain(srv);
}

static void on_grace_over(uv_timer_t *t) { begin_drain(t->data); }

static void on_stop_signal(uv_signal_t *h, int signum) {
  daemon_state *d = h->data;
  ohets_srv_server *srv = &d->srv;
  if (srv->stopping || d->in_grace)
    second_signal_exit();
  json_t *e = ohets_srv_log_event("shutdown", 0);
  if (e != NULL) {
    json_object_set_new(e, "signal", json_string(signum == SIGINT ? "SIGINT" : "SIGTERM"));
    json_object_set_new(e, "connections",
                        json_integer((json_int_t)ohets_srv_conntable_count(srv->sessions)));
    json_object_set_new(e, "jobs", json_integer(ohets_srv_dispatch_in_flight(srv->dispatch)));
    if (srv->cfg->drain_grace_ms > 0) /* accepting goes on this long */
      json_object_set_new(e, "accepting_ms", json_integer((json_int_t)srv->cfg->drain_grace_ms));
    ohets_srv_log_emit(srv->log, e);
  }
  if (srv->cfg->drain_grace_ms > 0) {
    /* A balancer checking readiness stops sending before anything is
     * refused: keep accepting (and answering) a while first. */
    (void)sd_notify(0, "STOPPING=1");
    d->in_grace = 1;
    uv_timer_start(&d->shutdown_timer, on_grace_over, srv->cfg->drain_grace_ms, 0);
    return;
  }
  begin_drain(d);
}

/* SIGHUP's reload runs on libuv's thread pool: the loop never reads files.
 * Partners and certificates load apart: either keeps its old version when
 * its new files do not load. */
static void reload_work(uv_work_t *w) {
  daemon_state *d = w->data;
  const ohets_srv_config *cfg = d->srv.cfg;
  d->reload_table = NULL;
  d->reload_err[0] = d->reload_tls_err[0] = '\0';
  d->reload_rc = cfg->partners[0] == '\0'
                     ? 0
                     : ohets_partners_load(cfg->partners, &d->reload_table, d->reload_err,
                                           sizeof d->reload_err);
  d->reload_tls_rc = d->has_tls ? ohets_srv_listeners_tls_load(cfg, d->reload_tls,
                                                                d->reload_tls_err,
                                                                sizeof d->reload_tls_err)
                                : 0;
}

static void reload_done(uv_work_t *w, int status) {
  daemon_state *d = w->data;
  ohets_srv_server *srv = &d->srv;
  const ohets_srv_config *cfg = srv->cfg;
  d->reloading = 0;
  if (status != 0) { /* cancelled: nothing was loaded */
    d->reload_rc = d->reload_tls_rc = status;
    snprintf(d->reload_err, sizeof d->reload_err, "%s", uv_strerror(status));
    snprintf(d->reload_tls_err, sizeof d->reload_tls_err, "%s", uv_strerror(status));
  }
  if (status == 0 && d->reload_rc == 0 && cfg->partners[0] != '\0') {
    ohets_srv_partners_ref *r = ohets_srv_partners_new(d->reload_table);
    if (r == NULL) {
      ohets_partners_free(d->reload_table);
      d->reload_rc = -ENOMEM;
      snprintf(d->reload_err, sizeof d->reload_err, "out of memory");
    } else {
      ohets_srv_partners_release(srv->partners);
      srv->partners = r;
    }
  }
  d->reload_table = NULL;
  if (status == 0 && d->reload_tls_rc == 0 && d->has_tls)
    ohets_srv_listeners_tls_swap(srv->listeners, d->reload_tls);
  json_t *e = ohets_srv_log_event("reload", 0);
  if (e != NULL) {
    json_object_set_new(e, "partners_file",
                        cfg->partners[0] ? json_string(cfg->partners) : json_null());
    json_object_set_new(e, "ok", json_boolean(d->reload_rc == 0 && d->reload_tls_rc == 0));
    if (d->reload_rc == 0 && cfg->partners[0] != '\0')
      json_object_set_new(e, "partners", json_integer((json_int_t)srv->partners->table->n));
    else if (d->reload_rc != 0)
      json_object_set_new(e, "error", json_string(d->reload_err));
    if (d->has_tls) {
      json_object_set_new(e, "certificates", json_boolean(d->reload_tls_rc == 0));
      if (d->reload_tls_rc != 0)
        json_object_set_new(e, "tls_error", json_string(d->reload_tls_err));
    }
    json_object_set_new(e, "log_reopened", json_true());
    ohets_srv_log_emit(srv->log, e);
  }
  if (d->reload_rc != 0)
    fprintf(stderr, OHETS_SRV_PROG ": reload kept the old partners: %s\n", d->reload_err);
  if (d->reload_tls_rc != 0)
    fprintf(stderr, OHETS_SRV_PROG ": reload kept the old certificates: %s\n",
            d->reload_tls_err);
  (void)sd_notify(0, "READY=1");
}

static void on_hup(uv_signal_t *h, int signum) {
  daemon_state *d = h->data;
  ohets_srv_server *srv = &d->srv;
  (void)signum;
  ohets_srv_log_reopen(srv->log);
  if (d->reloading || srv->stopping)
    return;
  (void)sd_notify(0, "RELOADING=1");
  d->reloading = 1;
  d->reload_work.data = d;
  if (uv_queue_work(srv->loop, &d->reload_work, reload_work, reload_done) != 0)
    d->reloading = 0;
}

static void on_job_done(void *arg, ohets_srv_job *job) {
  ohets_srv_session_job_done(arg, job);
}

static void on_accept(void *arg, int fd, const struct sockaddr_storage *peer, unsigned index) {
  ohets_srv_server *srv = arg;
  if (srv->stopping) {
    close(fd);
    return;
  }
  if (srv->cfg->listen[index].proxy_protocol)
    ohets_srv_proxy_accept(srv, fd, peer, index);
  else
    ohets_srv_session_accept(srv, fd, peer, index);
}

/* ---------------------------------------------- admin and systemd */

static char *admin_metrics(void *arg, size_t *len) {
  daemon_state *d = arg;
  ohets_srv_server *srv = &d->srv;
  ohets_srv_metrics_gauges g = {
      ohets_srv_conntable_count(srv->sessions) + ohets_srv_proxy_pending(srv),
      ohets_srv_dispatch_in_flight(srv->dispatch), ohets_srv_pool_busy(srv->pool),
      ohets_srv_log_dropped_total(srv->log), ohets_srv_pool_store_errors(srv->pool)};
  return ohets_srv_metrics_render(srv->metrics, &g, len);
}

static int admin_ready(void *arg, const char **why) {
  daemon_state *d = arg;
  if (d->srv.stopping || d->in_grace) {
    *why = "draining";
    return 0;
  }
  if (!ohets_srv_pool_store_ok(d->srv.pool)) {
    *why = "store failing";
    return 0;
  }
  return 1;
}

static const ohets_srv_admin_cb admin_cb = {admin_metrics, admin_ready};

static void on_watchdog(uv_timer_t *t) {
  (void)t;
  (void)sd_notify(0, "WATCHDOG=1");
}

/* The admin endpoint, when asked for, and its `admin` log event. */
static int start_admin(daemon_state *d, uv_loop_t *loop, const ohets_srv_config *cfg) {
  char err[256];
  if (!cfg->admin_on)
    return 0;
  if (ohets_srv_admin_start(&d->admin, loop, cfg->admin.host, cfg->admin.port, &admin_cb, d, err,
                            sizeof err) != 0) {
    fprintf(stderr, OHETS_SRV_PROG ": %s\n", err);
    return 1;
  }
  json_t *e = ohets_srv_log_event("admin", 0);
  if (e != NULL) {
    json_object_set_new(e, "host", json_string(cfg->admin.host));
    json_object_set_new(e, "port", json_integer(ohets_srv_admin_port(d->admin)));
    ohets_srv_log_emit(d->srv.log, e);
  }
  return 0;
}

/* systemd (Type=notify): ready once bound; the watchdog at half its time. */
static void notify_ready(daemon_state *d, uv_loop_t *loop) {
  uint64_t usec = 0;
  uv_timer_init(loop, &d->watchdog);
  d->watchdog.data = d;
  if (sd_watchdog_enabled(0, &usec) > 0 && usec >= 2000)
    uv_timer_start(&d->watchdog, on_watchdog, usec / 2000, usec / 2000);
  (void)sd_notify(0, "READY=1");
}

/* ------------------------------------------------------------ main */

static void print_problems(const ohets_srv_problems *p) {
  for (unsigned i = 0; i < p->n; i++)
    fprintf(stderr, OHETS_SRV_PROG ": %s\n", p->line[i]);
  if (p->n == OHETS_SRV_MAX_PROBLEMS)
    fprintf(stderr, OHETS_SRV_PROG ": (more problems not shown)\n");
}

/* --hash-password: one line from stdin (its line end dropped) to a PHC
 * string on stdout, for a partner's "users". */
static int hash_password(void) {
  char line[1024];
  if (fgets(line, sizeof line, stdin) == NULL) {
    fprintf(stderr, OHETS_SRV_PROG ": --hash-password: no password on stdin\n");
    return 1;
  }
  size_t n = strcspn(line, "\r\n");
  line[n] = '\0';
  uint8_t salt[16];
  char phc[OHETS_CAQH_PHC_MAX];
  int rc = 1;
  if (n == 0)
    fprintf(stderr, OHETS_SRV_PROG ": --hash-password: the password is empty\n");
  else if (RAND_bytes(salt, sizeof salt) != 1)
    fprintf(stderr, OHETS_SRV_PROG ": --hash-password: no random salt from OpenSSL\n");
  else if (ohets_caqh_phc_hash(line, n, salt, sizeof salt, OHETS_CAQH_PHC_LN_DEFAULT,
                               OHETS_CAQH_PHC_R_DEFAULT, OHETS_CAQH_PHC_P_DEFAULT, phc) != 0)
    fprintf(stderr, OHETS_SRV_PROG ": --hash-password: scrypt failed\n");
  else {
    printf("%s\n", phc);
    rc = 0;
  }
  OPENSSL_cleanse(line, sizeof line);
  return rc;
}

/* The settings: 0 to run, else the exit status (problems printed). */
static int settle_config(int argc, char **argv, ohets_srv_config *cfg, int *run) {
  ohets_srv_problems problems;
  memset(&problems, 0, sizeof problems);
  *run = 0;
  switch (ohets_srv_config_from_args(argc, argv, cfg, &problems)) {
  case OHETS_SRV_CLI_EXIT_OK: return 0;
  case OHETS_SRV_CLI_HASH_PASSWORD: return hash_password();
  case OHETS_SRV_CLI_USAGE: return 2;
  case OHETS_SRV_CLI_CHECK:
    if (problems.n == 0)
      ohets_srv_config_check_files(cfg, &problems);
    if (problems.n == 0) { /* certificates and keys load, and match */
      ohets_tls_ctx *ctxs[OHETS_SRV_MAX_LISTENERS];
      char err[600];
      if (ohets_srv_listeners_tls_load(cfg, ctxs, err, sizeof err) != 0)
        ohets_srv_problem(&problems, "%s", err);
      ohets_srv_listeners_tls_drop(ctxs);
    }
    if (problems.n > 0) {
      print_problems(&problems);
      return 1;
    }
    printf("ok\n");
    return 0;
  case OHETS_SRV_CLI_RUN: break;
  }
  if (problems.n > 0) {
    print_problems(&problems);
    /* Only bad option values: a usage error (2); a bad file: 1. */
    for (unsigned i = 0; i < problems.n; i++)
      if (strncmp(problems.line[i], "--", 2) != 0)
        return 1;
    return 2;
  }
  if (ohets_srv_config_read_key(cfg, &problems) != 0) {
    print_problems(&problems);
    return 1;
  }
  *run = 1;
  return 0;
}

/* Everything the server needs before its first socket: 0, or 1 with one
 * line on stderr. */
static int start(daemon_state *d, uv_loop_t *loop, const ohets_srv_config *cfg) {
  ohets_srv_server *srv = &d->srv;
  char err[1024];
  ohets_partner_table *table = NULL;
  srv->loop = loop;
  srv->cfg = cfg;
  srv->drained = finish;
  for (size_t i = 0; i < cfg->n_listen; i++)
    d->has_tls = d->has_tls || cfg->listen[i].tls != NULL;
  if (cfg->partners[0] != '\0' && ohets_partners_load(cfg->partners, &table, err, sizeof err) != 0) {
    fprintf(stderr, OHETS_SRV_PROG ": partners: %s\n", err);
    return 1;
  }
  srv->partners = ohets_srv_partners_new(table);
  int core = 0;
  for (size_t i = 0; i < cfg->n_listen; i++)
    core = core || cfg->listen[i].protocol == OHETS_SRV_PROTOCOL_CORE;
  if (core && (ohets_caqh_soap_init() != 0 ||
               ohets_srv_replay_new(&d->replay, REPLAY_MAX_ENTRIES, REPLAY_MAX_BYTES,
                                    OHETS_SRV_REPLAY_TTL_MS) != 0 ||
               ohets_srv_credcache_new(&d->creds, CREDCACHE_SLOTS,
                                       OHETS_SRV_CREDCACHE_TTL_MS) != 0)) {
    fprintf(stderr, OHETS_SRV_PROG ": cannot set up the CORE door (libxml2, the XSD)\n");
    return 1;
  }
  if (srv->partners == NULL || ohets_srv_conntable_new(&srv->sessions) != 0 ||
      ohets_srv_metrics_new(&srv->metrics) != 0 ||
      ohets_srv_sublimits_new(&srv->limits) != 0 ||
      ohets_srv_dispatch_new(&srv->dispatch, (unsigned)cfg->max_jobs) != 0) {
    if (srv->partners == NULL)
      ohets_partners_free(table);
    fprintf(stderr, OHETS_SRV_PROG ": out of memory\n");
    return 1;
  }
  if (ohets_srv_log_open(&srv->log, cfg->log, (unsigned)cfg->log_queue, err, sizeof err) != 0 ||
      ohets_srv_pool_start(&srv->pool, loop, cfg, on_job_done, srv, err, sizeof err) != 0) {
    fprintf(stderr, OHETS_SRV_PROG ": %s\n", err);
    return 1;
  }
  ohets_srv_dispatch_set_pool(srv->dispatch, srv->pool);
  ohets_srv_pool_set_core(srv->pool, d->replay, d->creds);
  if (ohets_srv_listeners_start(&srv->listeners, loop, cfg, on_accept, srv, err, sizeof err) != 0 ||
      run_as_user(cfg, err, sizeof err) != 0) {
    fprintf(stderr, OHETS_SRV_PROG ": %s\n", err);
    return 1;
  }
  return 0;
}

static void start_signals(daemon_state *d, uv_loop_t *loop) {
  uv_signal_init(loop, &d->sig_term);
  uv_signal_init(loop, &d->sig_int);
  uv_signal_init(loop, &d->sig_hup);
  uv_timer_init(loop, &d->shutdown_timer);
  d->sig_term.data = d->sig_int.data = d->sig_hup.data = d;
  d->shutdown_timer.data = d;
  uv_signal_start(&d->sig_term, on_stop_signal, SIGTERM);
  uv_signal_start(&d->sig_int, on_stop_signal, SIGINT);
  uv_signal_start(&d->sig_hup, on_hup, SIGHUP);
}

int main(int argc, char **argv) {
  int status = 1, run = 0;
  ohets_srv_config *cfg = calloc(1, sizeof *cfg);
  daemon_state *d = calloc(1, sizeof *d);
  ohets_srv_server *srv = d ? &d->srv : NULL;
  uv_loop_t loop;
  int loop_ready = 0;
  int signals_ready = 0; /* the signal handles exist (closed at exit) */
  if (cfg == NULL || d == NULL) {
    fprintf(stderr, OHETS_SRV_PROG ": out of memory\n");
    goto done;
  }
  status = settle_config(argc, argv, cfg, &run);
  if (!run)
    goto done;
  status = 1;
  signal(SIGPIPE, SIG_IGN); /* a peer gone mid-write is an error return */
  raise_fd_limit();
  if (uv_loop_init(&loop) != 0) {
    fprintf(stderr, OHETS_SRV_PROG ": cannot create the event loop\n");
    goto done;
  }
  loop_ready = 1;
  if (start(d, &loop, cfg) != 0)
    goto done;
  start_signals(d, &loop);
  signals_ready = 1;
  ohets_srv_listeners_log(srv->listeners, srv->log);
  if (start_admin(d, &loop, cfg) != 0)
    goto done;
  notify_ready(d, &loop);

  uv_run(&loop, UV_RUN_DEFAULT);
  status = 0;
#ifdef OHETS_TEST_HOOKS
  test_exit_delay();
#endif

done:
  if (srv != NULL && !d->finished && loop_ready) {
    /* Startup failed part-way. */
    ohets_srv_admin_close(d->admin);
    ohets_srv_listeners_close(srv->listeners);
    if (srv->pool != NULL)
      ohets_srv_pool_stop(srv->pool);
    uv_run(&loop, UV_RUN_NOWAIT);
  }
  if (signals_ready)
    close_signals(d);
  if (loop_ready) {
    uv_run(&loop, UV_RUN_DEFAULT); /* let closing handles finish */
    if (uv_loop_close(&loop) != 0 && status == 0)
      fprintf(stderr, OHETS_SRV_PROG ": warning: handles left open at exit\n");
  }
  if (srv != NULL) {
    ohets_srv_pool_free(srv->pool);
    ohets_srv_replay_free(d->replay);
    ohets_srv_credcache_free(d->creds);
    ohets_srv_listeners_free(srv->listeners);
    ohets_srv_dispatch_free(srv->dispatch);
    ohets_srv_log_close(srv->log);
    ohets_srv_partners_release(srv->partners);
    ohets_srv_conntable_free(srv->sessions);
    ohets_srv_metrics_free(srv->metrics);
    ohets_srv_sublimits_free(srv->limits);
    free(d);
  }
  if (cfg != NULL) {
    memset(cfg->log_hmac_key, 0, sizeof cfg->log_hmac_key);
    ohets_srv_config_free(cfg);
    free(cfg);
  }
  return status;
}
