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

#include "server/server.h"
#include "tools/tool_util.h"

void ohets_srv_now(const ohets_srv_config *cfg, ohets_now *now) {
  /* Asked once per request; the calendar part changes once a second, so
   * each thread keeps it (no localtime_r, and its lock, per request).
   * cfg->today was validated when read, so this cannot fail. */
  static _Thread_local time_t sec = (time_t)-1;
  static _Thread_local ohets_now cached;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  if (ts.tv_sec != sec) { /* cfg never changes after startup */
    (void)ohets_tool_now_at(cfg->today[0] ? cfg->today : NULL, &ts, &cached);
    sec = ts.tv_sec;
  }
  *now = cached;
  now->millisecond = (uint16_t)(ts.tv_nsec / 1000000);
}

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

void ohets_srv_finish(ohets_srv_server *srv) {
  if (srv->finished)
    return;
  srv->finished = 1;
  ohets_srv_listeners_close(srv);
  /* Workers finish what they hold (results for closed connections are
   * dropped), then every remaining handle closes and uv_run returns. */
  ohets_srv_pool_stop(srv->pool);
  /* The signal handlers stay until exit (close_signals()): closed now, a
   * second stop signal during the last flush would kill the process by the
   * signal instead of the documented exit 1. */
  uv_unref((uv_handle_t *)&srv->sig_term);
  uv_unref((uv_handle_t *)&srv->sig_int);
  uv_unref((uv_handle_t *)&srv->sig_hup);
  uv_close((uv_handle_t *)&srv->shutdown_timer, on_closed_noop);
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
static void close_signals(ohets_srv_server *srv) {
  uv_ref((uv_handle_t *)&srv->sig_term);
  uv_ref((uv_handle_t *)&srv->sig_int);
  uv_run(srv->loop, UV_RUN_NOWAIT);
  uv_close((uv_handle_t *)&srv->sig_term, on_closed_noop);
  uv_close((uv_handle_t *)&srv->sig_int, on_closed_noop);
  uv_close((uv_handle_t *)&srv->sig_hup, on_closed_noop);
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
  ohets_srv_server *srv = t->data;
  fprintf(stderr, OHETS_SRV_PROG ": drain took longer than %llu ms; closing %zu connections\n",
          (unsigned long long)srv->cfg->shutdown_timeout_ms, srv->n_conns);
  ohets_srv_conns_close_all(srv, OHETS_SRV_REASON_SHUTDOWN);
  if (srv->n_conns == 0)
    ohets_srv_finish(srv);
}

static void on_stop_signal(uv_signal_t *h, int signum) {
  ohets_srv_server *srv = h->data;
  if (srv->stopping)
    second_signal_exit();
  srv->stopping = 1;
  json_t *e = ohets_srv_log_event("shutdown", 0);
  if (e != NULL) {
    json_object_set_new(e, "signal", json_string(signum == SIGINT ? "SIGINT" : "SIGTERM"));
    json_object_set_new(e, "connections", json_integer((json_int_t)srv->n_conns));
    json_object_set_new(e, "jobs", json_integer(srv->jobs_in_flight));
    ohets_srv_log_emit(srv->log, e);
  }
  ohets_srv_listeners_close(srv);
  uv_timer_start(&srv->shutdown_timer, on_shutdown_timeout, srv->cfg->shutdown_timeout_ms, 0);
  ohets_srv_conns_drain(srv);
}

/* Partners reload runs on libuv's thread pool: the loop never reads files. */
static void reload_work(uv_work_t *w) {
  ohets_srv_server *srv = w->data;
  srv->reload_table = NULL;
  srv->reload_err[0] = '\0';
  srv->reload_rc = ohets_partners_load(srv->cfg->partners, &srv->reload_table,
                                       srv->reload_err, sizeof srv->reload_err);
}

static void reload_done(uv_work_t *w, int status) {
  ohets_srv_server *srv = w->data;
  srv->reloading = 0;
  json_t *e = ohets_srv_log_event("reload", 0);
  if (status == 0 && srv->reload_rc == 0) {
    ohets_srv_partners_ref *r = ohets_srv_partners_new(srv->reload_table);
    if (r == NULL) {
      ohets_partners_free(srv->reload_table);
      srv->reload_rc = -ENOMEM;
      snprintf(srv->reload_err, sizeof srv->reload_err, "out of memory");
    } else {
      ohets_srv_partners_release(srv->partners);
      srv->partners = r;
    }
  } else if (status != 0) {
    srv->reload_rc = status;
    snprintf(srv->reload_err, sizeof srv->reload_err, "%s", uv_strerror(status));
  }
  srv->reload_table = NULL;
  if (e != NULL) {
    json_object_set_new(e, "partners_file", json_string(srv->cfg->partners));
    json_object_set_new(e, "ok", json_boolean(srv->reload_rc == 0));
    if (srv->reload_rc == 0)
      json_object_set_new(e, "partners", json_integer((json_int_t)srv->partners->table->n));
    else
      json_object_set_new(e, "error", json_string(srv->reload_err));
    json_object_set_new(e, "log_reopened", json_true());
    ohets_srv_log_emit(srv->log, e);
  }
  if (srv->reload_rc != 0)
    fprintf(stderr, OHETS_SRV_PROG ": reload kept the old partners: %s\n", srv->reload_err);
}

static void on_hup(uv_signal_t *h, int signum) {
  ohets_srv_server *srv = h->data;
  (void)signum;
  ohets_srv_log_reopen(srv->log);
  if (srv->cfg->partners[0] == '\0') {
    json_t *e = ohets_srv_log_event("reload", 0);
    if (e != NULL) {
      json_object_set_new(e, "partners_file", json_null());
      json_object_set_new(e, "ok", json_true());
      json_object_set_new(e, "log_reopened", json_true());
      ohets_srv_log_emit(srv->log, e);
    }
    return;
  }
  if (srv->reloading || srv->stopping)
    return;
  srv->reloading = 1;
  srv->reload_work.data = srv;
  if (uv_queue_work(srv->loop, &srv->reload_work, reload_work, reload_done) != 0)
    srv->reloading = 0;
}

/* ------------------------------------------------------------ main */

static void print_problems(const ohets_srv_problems *p) {
  for (unsigned i = 0; i < p->n; i++)
    fprintf(stderr, OHETS_SRV_PROG ": %s\n", p->line[i]);
  if (p->n == OHETS_SRV_MAX_PROBLEMS)
    fprintf(stderr, OHETS_SRV_PROG ": (more problems not shown)\n");
}

int main(int argc, char **argv) {
  int status = 1;
  char err[1024];
  ohets_srv_problems problems;
  memset(&problems, 0, sizeof problems);
  ohets_srv_config *cfg = calloc(1, sizeof *cfg);
  ohets_srv_server *srv = calloc(1, sizeof *srv);
  uv_loop_t loop;
  int loop_ready = 0;
  int signals_ready = 0; /* the signal handles exist (closed at exit) */
  if (cfg == NULL || srv == NULL) {
    fprintf(stderr, OHETS_SRV_PROG ": out of memory\n");
    goto done;
  }

  switch (ohets_srv_config_from_args(argc, argv, cfg, &problems)) {
  case OHETS_SRV_CLI_EXIT_OK: status = 0; goto done;
  case OHETS_SRV_CLI_USAGE: status = 2; goto done;
  case OHETS_SRV_CLI_CHECK:
    if (problems.n == 0)
      ohets_srv_config_check_files(cfg, &problems);
    if (problems.n == 0) {
      printf("ok\n");
      status = 0;
    } else {
      print_problems(&problems);
    }
    goto done;
  case OHETS_SRV_CLI_RUN: break;
  }
  if (problems.n > 0) {
    print_problems(&problems);
    /* Only bad option values: a usage error (2); a bad file: 1. */
    status = 2;
    for (unsigned i = 0; i < problems.n; i++)
      if (strncmp(problems.line[i], "--", 2) != 0)
        status = 1;
    goto done;
  }
  if (ohets_srv_config_read_key(cfg, &problems) != 0) {
    print_problems(&problems);
    goto done;
  }

  signal(SIGPIPE, SIG_IGN); /* a peer gone mid-write is an error return */
  raise_fd_limit();

  ohets_partner_table *table = NULL;
  if (cfg->partners[0] != '\0' &&
      ohets_partners_load(cfg->partners, &table, err, sizeof err) != 0) {
    fprintf(stderr, OHETS_SRV_PROG ": partners: %s\n", err);
    goto done;
  }
  srv->partners = ohets_srv_partners_new(table);
  if (srv->partners == NULL) {
    ohets_partners_free(table);
    fprintf(stderr, OHETS_SRV_PROG ": out of memory\n");
    goto done;
  }
  srv->cfg = cfg;
  if (uv_loop_init(&loop) != 0) {
    fprintf(stderr, OHETS_SRV_PROG ": cannot create the event loop\n");
    goto done;
  }
  loop_ready = 1;
  srv->loop = &loop;
  if (ohets_srv_log_open(&srv->log, cfg->log, cfg->log_queue, err, sizeof err) != 0) {
    fprintf(stderr, OHETS_SRV_PROG ": %s\n", err);
    goto done;
  }
  if (ohets_srv_pool_start(&srv->pool, &loop, cfg, ohets_srv_on_job_done, srv, err,
                           sizeof err) != 0) {
    fprintf(stderr, OHETS_SRV_PROG ": %s\n", err);
    goto done;
  }
  if (ohets_srv_listeners_start(srv, err, sizeof err) != 0) {
    fprintf(stderr, OHETS_SRV_PROG ": %s\n", err);
    goto done;
  }
  if (run_as_user(cfg, err, sizeof err) != 0) {
    fprintf(stderr, OHETS_SRV_PROG ": %s\n", err);
    goto done;
  }
  uv_signal_init(&loop, &srv->sig_term);
  uv_signal_init(&loop, &srv->sig_int);
  uv_signal_init(&loop, &srv->sig_hup);
  uv_timer_init(&loop, &srv->shutdown_timer);
  signals_ready = 1;
  srv->sig_term.data = srv->sig_int.data = srv->sig_hup.data = srv;
  srv->shutdown_timer.data = srv;
  uv_signal_start(&srv->sig_term, on_stop_signal, SIGTERM);
  uv_signal_start(&srv->sig_int, on_stop_signal, SIGINT);
  uv_signal_start(&srv->sig_hup, on_hup, SIGHUP);
  ohets_srv_listeners_log(srv);

  uv_run(&loop, UV_RUN_DEFAULT);
  status = 0;
#ifdef OHETS_TEST_HOOKS
  test_exit_delay();
#endif

done:
  if (srv != NULL && srv->pool != NULL && !srv->finished) {
    /* Startup failed after the workers started. */
    ohets_srv_listeners_close(srv);
    ohets_srv_pool_stop(srv->pool);
    uv_run(&loop, UV_RUN_NOWAIT);
  }
  if (signals_ready)
    close_signals(srv);
  if (loop_ready) {
    uv_run(&loop, UV_RUN_DEFAULT); /* let closing handles finish */
    if (uv_loop_close(&loop) != 0 && status == 0)
      fprintf(stderr, OHETS_SRV_PROG ": warning: handles left open at exit\n");
  }
  if (srv != NULL) {
    ohets_srv_pool_free(srv->pool);
    ohets_srv_jobs_drain(srv);
    ohets_srv_log_close(srv->log);
    ohets_srv_partners_release(srv->partners);
    free(srv->table);
    free(srv->subs);
    free(srv);
  }
  if (cfg != NULL) {
    memset(cfg->log_hmac_key, 0, sizeof cfg->log_hmac_key);
    ohets_srv_config_free(cfg);
    free(cfg);
  }
  return status;
}
