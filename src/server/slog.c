/* Session log (DESIGN §9): JSON Lines written by a log thread.
 *
 * The loop serializes an event and hands the text to a bounded ring; the
 * log thread writes batches and flushes when the ring runs empty.  A full
 * ring drops the line and counts it; the next line written carries the
 * count as "log_dropped" so an operator sees the gap where it happened. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* pthread_rwlock_t in uv.h, getopt_long, strnlen */
#endif
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/server.h"

#define LOG_BATCH 256

struct ohets_srv_log {
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  char **ring;           /* serialized lines without the newline */
  unsigned cap, head, len;
  uint64_t dropped;      /* lines dropped since the last line written (mu) */
  int stop;              /* drain and exit (mu) */
  int reopen;            /* reopen the file before the next write (mu) */
  FILE *f;               /* log thread only, after start */
  int is_stdout;
  int write_failed;      /* a write error was reported on stderr */
  char path[4096];
};

void ohets_srv_ts(char *buf, size_t n) {
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
           ts.tv_nsec / 1000000);
}

json_t *ohets_srv_log_event(const char *event, uint64_t session) {
  char ts[40];
  ohets_srv_ts(ts, sizeof ts);
  json_t *o = json_object();
  if (o == NULL)
    return NULL;
  json_object_set_new(o, "ts", json_string(ts));
  json_object_set_new(o, "event", json_string(event));
  json_object_set_new(o, "session", json_integer((json_int_t)session));
  return o;
}

static void write_line(ohets_srv_log *lg, const char *line, uint64_t dropped) {
  size_t n = strlen(line);
  int rc;
  if (dropped > 0 && n > 0 && line[n - 1] == '}') {
    /* Splice the count in as the line's last field. */
    rc = fprintf(lg->f, "%.*s,\"log_dropped\":%llu}\n", (int)(n - 1), line,
                 (unsigned long long)dropped);
  } else {
    rc = fprintf(lg->f, "%s\n", line);
  }
  if (rc < 0 && !lg->write_failed) {
    lg->write_failed = 1;
    fprintf(stderr, OHETS_SRV_PROG ": session log %s: write failed: %s\n",
            lg->is_stdout ? "stdout" : lg->path, strerror(errno));
  }
}

static void reopen_file(ohets_srv_log *lg) {
  if (lg->is_stdout)
    return;
  FILE *f = fopen(lg->path, "a");
  if (f == NULL) {
    /* Keep writing to the old file rather than lose lines. */
    fprintf(stderr, OHETS_SRV_PROG ": session log %s: reopen failed: %s\n",
            lg->path, strerror(errno));
    return;
  }
  fclose(lg->f);
  lg->f = f;
  lg->write_failed = 0;
}

static void *log_main(void *arg) {
  ohets_srv_log *lg = arg;
  char *batch[LOG_BATCH];
  for (;;) {
    pthread_mutex_lock(&lg->mu);
    while (lg->len == 0 && !lg->stop && !lg->reopen)
      pthread_cond_wait(&lg->cv, &lg->mu);
    int reopen = lg->reopen;
    lg->reopen = 0;
    unsigned n = 0;
    while (n < LOG_BATCH && lg->len > 0) {
      batch[n++] = lg->ring[lg->head];
      lg->head = (lg->head + 1) % lg->cap;
      lg->len--;
    }
    uint64_t dropped = lg->dropped;
    lg->dropped = 0;
    int stop = lg->stop && lg->len == 0 && n == 0;
    pthread_mutex_unlock(&lg->mu);

    if (reopen) {
      fflush(lg->f);
      reopen_file(lg);
    }
    for (unsigned i = 0; i < n; i++) {
      write_line(lg, batch[i], i == 0 ? dropped : 0);
      free(batch[i]);
    }
    if (n == 0 && dropped > 0) { /* nothing to carry it: give it its own line */
      pthread_mutex_lock(&lg->mu);
      lg->dropped += dropped;
      pthread_mutex_unlock(&lg->mu);
    }
    fflush(lg->f);
    if (stop)
      break;
  }
  return NULL;
}

int ohets_srv_log_open(ohets_srv_log **out, const char *path,
                       unsigned queue_cap, char *err, size_t errsz) {
  int rc = 0;
  ohets_srv_log *lg = calloc(1, sizeof *lg);
  if (lg == NULL || (lg->ring = calloc(queue_cap, sizeof *lg->ring)) == NULL) {
    snprintf(err, errsz, "session log: out of memory");
    rc = -ENOMEM;
    goto fail;
  }
  lg->cap = queue_cap;
  snprintf(lg->path, sizeof lg->path, "%s", path);
  if (strcmp(path, "-") == 0) {
    lg->is_stdout = 1;
    lg->f = stdout;
    setvbuf(stdout, NULL, _IOLBF, 0); /* `| jq` sees each line at once */
  } else {
    lg->f = fopen(path, "a");
    if (lg->f == NULL) {
      rc = -errno;
      snprintf(err, errsz, "log %s: %s", path, strerror(errno));
      goto fail;
    }
  }
  pthread_mutex_init(&lg->mu, NULL);
  pthread_cond_init(&lg->cv, NULL);
  if ((rc = pthread_create(&lg->thread, NULL, log_main, lg)) != 0) {
    snprintf(err, errsz, "session log: cannot start thread: %s", strerror(rc));
    pthread_mutex_destroy(&lg->mu);
    pthread_cond_destroy(&lg->cv);
    if (!lg->is_stdout)
      fclose(lg->f);
    rc = -rc;
    goto fail;
  }
  *out = lg;
  return 0;
fail:
  if (lg != NULL)
    free(lg->ring);
  free(lg);
  return rc;
}

void ohets_srv_log_emit(ohets_srv_log *lg, json_t *obj) {
  if (obj == NULL)
    return;
  char *line = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER |
                                   JSON_REAL_PRECISION(12));
  json_decref(obj);
  pthread_mutex_lock(&lg->mu);
  if (line == NULL || lg->len == lg->cap || lg->stop) {
    lg->dropped++;
    pthread_mutex_unlock(&lg->mu);
    free(line);
    return;
  }
  lg->ring[(lg->head + lg->len) % lg->cap] = line;
  lg->len++;
  pthread_cond_signal(&lg->cv);
  pthread_mutex_unlock(&lg->mu);
}

void ohets_srv_log_reopen(ohets_srv_log *lg) {
  pthread_mutex_lock(&lg->mu);
  lg->reopen = 1;
  pthread_cond_signal(&lg->cv);
  pthread_mutex_unlock(&lg->mu);
}

void ohets_srv_log_close(ohets_srv_log *lg) {
  if (lg == NULL)
    return;
  pthread_mutex_lock(&lg->mu);
  lg->stop = 1;
  pthread_cond_signal(&lg->cv);
  pthread_mutex_unlock(&lg->mu);
  pthread_join(lg->thread, NULL);
  if (lg->dropped > 0)
    fprintf(stderr, OHETS_SRV_PROG ": session log: %llu lines dropped at the end\n",
            (unsigned long long)lg->dropped);
  if (lg->is_stdout)
    fflush(stdout);
  else
    fclose(lg->f);
  pthread_mutex_destroy(&lg->mu);
  pthread_cond_destroy(&lg->cv);
  free(lg->ring);
  free(lg);
}
