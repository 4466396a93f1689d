/* Session log (DESIGN §9): JSON Lines written by a log thread.
 *
 * The loop builds an event and hands the object to a bounded ring; the log
 * thread serializes and writes it, in batches.  The loop wakes the log
 * thread only when it sleeps, and a woken log thread lets lines gather for
 * LOG_GATHER_NS first: under load a line costs the loop no system call and
 * no context switch (measured: the per-line wakeups were a large share of
 * openhetsd's CPU on a 2-core machine; docs/performance.md).  A full ring
 * drops the line and counts it; the next line written carries the count as
 * "log_dropped" so an operator sees the gap where it happened. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* pthread_rwlock_t in uv.h, getopt_long, strnlen */
#endif
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/x12.h" /* ohets__dec */
#include "server/server.h"

#define LOG_BATCH 256
#define LOG_GATHER_NS 2000000L /* 2 ms: a line is never later than that */

/* A request record's memory.  Written records go back to the loop through
 * a lock-free stack instead of free(): a free from the log thread into the
 * loop's malloc arena would take that arena's lock. */
typedef struct req_node {
  struct req_node *next;
  ohets_srv_request_log r;
} req_node;

/* One queued event: a JSON object, or a request record (the common case,
 * formatted by write_request without building a JSON tree). */
typedef struct log_item {
  json_t *obj;
  req_node *req;
} log_item;

struct ohets_srv_log {
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  log_item *ring;        /* events waiting to be written (mu) */
  unsigned cap, head, len;
  int sleeping;          /* the log thread waits on cv (mu) */
  uint64_t dropped;      /* lines dropped since the last line written (mu) */
  int stop;              /* drain and exit (mu) */
  int reopen;            /* reopen the file before the next write (mu) */
  FILE *f;               /* log thread only, after start */
  int is_stdout;
  int write_failed;      /* a write error was reported on stderr */
  char path[4096];
  _Atomic(req_node *) spent; /* written records, for reuse (log thread pushes) */
  req_node *spare;           /* loop only: records ready to fill */
};

void ohets_srv_ts(char *buf, size_t n) {
  /* The date and time to the second change once a second: keep them. */
  static _Thread_local time_t last_sec = (time_t)-1;
  static _Thread_local char prefix[80];
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  if (ts.tv_sec != last_sec) {
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(prefix, sizeof prefix, "%04d-%02d-%02dT%02d:%02d:%02d",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec);
    last_sec = ts.tv_sec;
  }
  /* No printf: this runs for every request on the loop. */
  size_t plen = strlen(prefix);
  if (n < plen + 6) { /* ".mmmZ" and the NUL */
    if (n > 0)
      buf[0] = '\0';
    return;
  }
  memcpy(buf, prefix, plen);
  buf[plen] = '.';
  ohets__dec(buf + plen + 1, (uint64_t)(ts.tv_nsec / 1000000), 3);
  memcpy(buf + plen + 4, "Z", 2);
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

/* Says once on stderr that the log can't be written (until a reopen). */
static void report_failure(ohets_srv_log *lg) {
  if (lg->write_failed)
    return;
  lg->write_failed = 1;
  fprintf(stderr, OHETS_SRV_PROG ": session log %s: write failed: %s\n",
          lg->is_stdout ? "stdout" : lg->path, strerror(errno));
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
  if (rc < 0)
    report_failure(lg);
}

/* A JSON string (or null for ""): the fields come from the request, so any
 * byte may appear; what is not printable ASCII is escaped as \u00XX. */
/* The request line is built in a local buffer and written with one fwrite:
 * stdio calls per field were most of the log thread's time. */
typedef struct log_line {
  char b[1024]; /* the longest request line is under 600 bytes */
  size_t n;
} log_line;

static void l_put(log_line *l, const char *s, size_t n) {
  if (n > sizeof l->b - l->n)
    n = sizeof l->b - l->n;
  memcpy(l->b + l->n, s, n);
  l->n += n;
}

static void l_puts(log_line *l, const char *s) { l_put(l, s, strlen(s)); }

static void l_putc(log_line *l, char c) { l_put(l, &c, 1); }

static void l_u64(log_line *l, uint64_t v, unsigned width) {
  char digits[24];
  l_put(l, digits, ohets__dec(digits, v, width));
}

/* A JSON string (or null for ""): the fields come from the request, so any
 * byte may appear; what is not printable ASCII is escaped as \u00XX. */
static void l_value(log_line *l, const char *s, size_t max) {
  static const char hex[] = "0123456789abcdef";
  size_t n = strnlen(s, max);
  if (n == 0) {
    l_puts(l, "null");
    return;
  }
  l_putc(l, '"');
  size_t run = 0; /* start of the bytes that need no escape, copied at once */
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch != '"' && ch != '\\' && ch >= 0x20 && ch < 0x7f)
      continue;
    l_put(l, s + run, i - run);
    run = i + 1;
    if (ch == '"' || ch == '\\') {
      char esc[2] = {'\\', (char)ch};
      l_put(l, esc, sizeof esc);
    } else {
      char esc[6] = {'\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15]};
      l_put(l, esc, sizeof esc);
    }
  }
  l_put(l, s + run, n - run);
  l_putc(l, '"');
}

static void l_key(log_line *l, const char *key) {
  l_puts(l, ",\"");
  l_puts(l, key);
  l_puts(l, "\":");
}

static void l_str(log_line *l, const char *key, const char *s, size_t max) {
  l_key(l, key);
  l_value(l, s, max);
}

static void l_ms(log_line *l, const char *key, uint64_t us) {
  l_key(l, key);
  l_u64(l, us / 1000u, 1);
  l_putc(l, '.');
  l_u64(l, us % 1000u, 3);
}

/* The "request" event: the same fields, in the same order, as every other
 * event built with jansson would give (DESIGN §9; README "Session log"). */
static void write_request(ohets_srv_log *lg, const ohets_srv_request_log *r,
                          uint64_t dropped) {
  log_line l;
  l.n = 0;
  l_puts(&l, "{\"ts\":\"");
  l_puts(&l, r->ts);
  l_puts(&l, "\",\"event\":\"request\",\"session\":");
  l_u64(&l, r->session, 1);
  l_puts(&l, ",\"seq\":");
  l_u64(&l, r->seq, 1);
  l_str(&l, "submitter", r->submitter, sizeof r->submitter);
  l_str(&l, "isa13", r->isa13, sizeof r->isa13);
  l_str(&l, "st02", r->st02, sizeof r->st02);
  l_key(&l, "bytes_in");
  l_u64(&l, r->bytes_in, 1);
  l_key(&l, "bytes_out");
  l_u64(&l, r->bytes_out, 1);
  l_key(&l, "answer");
  l_putc(&l, '"');
  l_puts(&l, ohets_answer_name(r->answer));
  l_puts(&l, "\",\"aaa\":[");
  for (unsigned i = 0; i < r->n_aaa && i < OHETS_MAX_AAA; i++) {
    if (i > 0)
      l_putc(&l, ',');
    l_value(&l, r->aaa[i], sizeof r->aaa[i]);
  }
  l_putc(&l, ']');
  l_ms(&l, "queue_ms", r->queue_us);
  l_ms(&l, "work_ms", r->work_us);
  l_ms(&l, "total_ms", r->total_us);
  if (r->error[0])
    l_str(&l, "error", r->error, sizeof r->error);
  if (r->ack) {
    char ack[2] = {r->ack, '\0'};
    l_str(&l, "ack", ack, sizeof ack);
  }
  if (r->overloaded)
    l_puts(&l, ",\"overloaded\":true");
  if (r->mbi_hash[0])
    l_str(&l, "mbi_hash", r->mbi_hash, sizeof r->mbi_hash);
  if (dropped > 0) {
    l_key(&l, "log_dropped");
    l_u64(&l, dropped, 1);
  }
  l_puts(&l, "}\n");
  if (fwrite(l.b, 1, l.n, lg->f) != l.n)
    report_failure(lg);
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
  log_item batch[LOG_BATCH];
  for (;;) {
    pthread_mutex_lock(&lg->mu);
    if (lg->len == 0 && !lg->stop && !lg->reopen) {
      lg->sleeping = 1;
      while (lg->len == 0 && !lg->stop && !lg->reopen)
        pthread_cond_wait(&lg->cv, &lg->mu);
      lg->sleeping = 0;
      if (!lg->stop && !lg->reopen) {
        /* Woken by a first line: let more gather before writing. */
        pthread_mutex_unlock(&lg->mu);
        struct timespec gather = {0, LOG_GATHER_NS};
        nanosleep(&gather, NULL);
        pthread_mutex_lock(&lg->mu);
      }
    }
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
    req_node *spent_first = NULL, *spent_last = NULL;
    for (unsigned i = 0; i < n; i++) {
      if (batch[i].req != NULL) {
        write_request(lg, &batch[i].req->r, dropped);
        dropped = 0;
        batch[i].req->next = spent_first;
        spent_first = batch[i].req;
        if (spent_last == NULL)
          spent_last = spent_first;
        continue;
      }
      char *line = json_dumps(batch[i].obj, JSON_COMPACT | JSON_PRESERVE_ORDER |
                                                JSON_REAL_PRECISION(12));
      json_decref(batch[i].obj);
      if (line == NULL) { /* out of memory: count it with the drops */
        dropped++;
        continue;
      }
      write_line(lg, line, dropped);
      dropped = 0;
      free(line);
    }
    if (spent_first != NULL) { /* the whole chain back in one exchange */
      spent_last->next = atomic_load_explicit(&lg->spent, memory_order_relaxed);
      while (!atomic_compare_exchange_weak_explicit(&lg->spent, &spent_last->next,
                                                    spent_first, memory_order_release,
                                                    memory_order_relaxed))
        ;
    }
    if (dropped > 0) { /* nothing carried it: keep it for the next line */
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
  atomic_init(&lg->spent, NULL);
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
  ohets_srv_mutex_init(&lg->mu);
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
  pthread_mutex_lock(&lg->mu);
  if (obj == NULL || lg->len == lg->cap || lg->stop) {
    lg->dropped++;
    pthread_mutex_unlock(&lg->mu);
    json_decref(obj);
    return;
  }
  /* The object is the log thread's from here on; the loop keeps no
   * reference to it. */
  lg->ring[(lg->head + lg->len) % lg->cap] = (log_item){obj, NULL};
  lg->len++;
  if (lg->sleeping)
    pthread_cond_signal(&lg->cv);
  pthread_mutex_unlock(&lg->mu);
}

void ohets_srv_log_request(ohets_srv_log *lg, const ohets_srv_request_log *r) {
  if (lg->spare == NULL)
    lg->spare = atomic_exchange_explicit(&lg->spent, NULL, memory_order_acquire);
  req_node *copy = lg->spare;
  if (copy != NULL)
    lg->spare = copy->next;
  else
    copy = malloc(sizeof *copy);
  if (copy != NULL)
    copy->r = *r;
  pthread_mutex_lock(&lg->mu);
  if (copy == NULL || lg->len == lg->cap || lg->stop) {
    lg->dropped++;
    pthread_mutex_unlock(&lg->mu);
    free(copy);
    return;
  }
  lg->ring[(lg->head + lg->len) % lg->cap] = (log_item){NULL, copy};
  lg->len++;
  if (lg->sleeping)
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
  req_node *lists[2] = {lg->spare, atomic_load(&lg->spent)};
  for (int i = 0; i < 2; i++)
    while (lists[i] != NULL) {
      req_node *next = lists[i]->next;
      free(lists[i]);
      lists[i] = next;
    }
  free(lg->ring);
  free(lg);
}
