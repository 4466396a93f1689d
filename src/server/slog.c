/* Session log (DESIGN §9): JSON Lines written by a log thread.
 *
 * The loop builds an event and hands the object to a bounded ring; the log
 * thread serializes and writes it, in batches.  The loop wakes the log
 * thread only when it sleeps, and a woken log thread lets lines gather for
 * LOG_GATHER_NS first: under load a line costs the loop no system call and
 * no context switch (measured: the per-line wakeups were a large share of
 * openhetsd's CPU on a 2-core machine; docs/performance.md).  A full ring
 * drops the line and counts it; the next line written carries the count as
 * "log_dropped" so an operator sees the gap where it happened.
 *
 * The log thread gathers whole lines in a buffer and writes them with
 * write(2), so it knows exactly what reached the file.  A failed write
 * (ENOSPC, EIO, ...) starts a failure episode: one stderr line, and the
 * lines not written whole are counted like queue drops (and also as
 * "log_write_lost"), carried by the first line written once writing works
 * again.  A line cut by a short write is truncated back off a regular file;
 * where that cannot be done (stdout, a pipe) the next write starts with a
 * newline, so only the cut line itself fails to parse. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* pthread_rwlock_t in uv.h, getopt_long, strnlen */
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "openhets/openhets.h" /* ohets_dec_write */
#include "server/config.h" /* OHETS_SRV_PROG */
#include "server/mutex.h"
#include "server/slog.h"

#define LOG_BATCH 256
#define LOG_GATHER_NS 2000000L /* 2 ms: a line is never later than that */
#define LOG_OUT_CAP (128u * 1024u) /* a whole batch of request lines, one write */

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
  atomic_uint_fast64_t dropped_total; /* dropped or lost since start (metrics) */
  int stop;              /* drain and exit (mu) */
  int reopen;            /* reopen the file before the next write (mu) */
  /* The log thread's own, after start (and close's, after the join): */
  int fd;                /* the file (O_APPEND), or 1 for stdout */
  int is_stdout;
  char *out;             /* whole lines waiting for one write(2) */
  size_t out_n, out_cap;
  size_t carry_end;      /* out[0..carry_end) carries the counts below; 0: none */
  uint64_t carry_dropped, carry_lost;
  uint64_t pend_dropped; /* lines missing from the file that no written line reported yet */
  uint64_t pend_lost;    /* the part of pend_dropped lost to a failed write */
  int write_failed;      /* in a failure episode, already said on stderr */
  int partial;           /* the file may end in a partial line */
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
  ohets_dec_write(buf + plen + 1, (uint64_t)(ts.tv_nsec / 1000000), 3);
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

/* The request line is built in a local buffer and copied into the batch at
 * once: stdio calls per field were most of the log thread's time. */
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
  l_put(l, digits, ohets_dec_write(digits, v, width));
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

/* ------------------------------------------------------------ output */

/* Says once per failure episode on stderr that lines are being lost; the
 * episode ends when a write succeeds (or the file is reopened). */
static void report_failure(ohets_srv_log *lg, int err) {
  if (lg->write_failed)
    return;
  lg->write_failed = 1;
  fprintf(stderr,
          OHETS_SRV_PROG ": session log %s: write failed: %s (lines are lost, "
          "counted in log_dropped, until a write succeeds)\n",
          lg->is_stdout ? "stdout" : lg->path, strerror(err));
}

/* Writes p[0..n) whole unless an error stops it; *done: the bytes written. */
static int write_all(int fd, const char *p, size_t n, size_t *done) {
  size_t off = 0;
  int rc = 0;
  while (off < n) {
    ssize_t w = write(fd, p + off, n - off);
    if (w > 0) {
      off += (size_t)w;
    } else if (w < 0 && errno == EINTR) {
      continue;
    } else {
      rc = w < 0 ? -errno : -EIO; /* 0 bytes for a non-empty write: no progress */
      break;
    }
  }
  *done = off;
  return rc;
}

/* A line cut by a failed write: cut its start back off the file so the file
 * holds whole lines only.  That needs a regular file we append to alone (a
 * pipe or stdout can't be cut; stdout's offset is not ours); otherwise the
 * next write begins with a newline. */
static void cut_partial(ohets_srv_log *lg, size_t tail) {
  struct stat st;
  if (!lg->is_stdout && fstat(lg->fd, &st) == 0 && S_ISREG(st.st_mode) &&
      st.st_size >= (off_t)tail && ftruncate(lg->fd, st.st_size - (off_t)tail) == 0)
    return;
  lg->partial = 1;
}

/* Writes the buffered lines with one write(2) (more on a short write).  On
 * a failure, every line not written whole is counted as lost, with the
 * counts of a carrying line that did not make it. */
static void out_flush(ohets_srv_log *lg) {
  if (lg->out_n == 0)
    return;
  size_t done = 0;
  int rc = 0;
  if (lg->partial) { /* the file ends in a cut line: start a fresh one */
    size_t nl;
    if ((rc = write_all(lg->fd, "\n", 1, &nl)) == 0)
      lg->partial = 0;
  }
  if (rc == 0)
    rc = write_all(lg->fd, lg->out, lg->out_n, &done);
  if (rc == 0) {
    lg->write_failed = 0;
  } else {
    report_failure(lg, -rc);
    if (lg->carry_end > done) {
      lg->pend_dropped += lg->carry_dropped;
      lg->pend_lost += lg->carry_lost;
    }
    uint64_t lost = 0; /* lines end in '\n': one per line not written whole */
    for (const char *q = lg->out + done, *end = lg->out + lg->out_n;
         (q = memchr(q, '\n', (size_t)(end - q))) != NULL; q++)
      lost++;
    lg->pend_dropped += lost;
    lg->pend_lost += lost;
    atomic_fetch_add_explicit(&lg->dropped_total, lost, memory_order_relaxed);
    size_t whole = done;
    while (whole > 0 && lg->out[whole - 1] != '\n')
      whole--;
    if (done > whole)
      cut_partial(lg, done - whole);
  }
  lg->out_n = 0;
  lg->carry_end = 0;
}

/* Room for n more bytes in the buffer (writing it out first if needed), or
 * NULL when memory is out for a line longer than the buffer. */
static char *out_room(ohets_srv_log *lg, size_t n) {
  if (lg->out_cap - lg->out_n < n) {
    out_flush(lg);
    if (lg->out_cap < n) {
      char *b = realloc(lg->out, n);
      if (b == NULL)
        return NULL;
      lg->out = b;
      lg->out_cap = n;
    }
  }
  return lg->out + lg->out_n;
}

/* The n bytes put at out_room() are a whole line; a carrying line hands
 * the pending counts over to the buffer. */
static void out_commit(ohets_srv_log *lg, size_t n, int carry) {
  lg->out_n += n;
  if (carry) {
    lg->carry_end = lg->out_n;
    lg->carry_dropped = lg->pend_dropped;
    lg->carry_lost = lg->pend_lost;
    lg->pend_dropped = 0;
    lg->pend_lost = 0;
  }
}

/* Whether the next line carries the pending counts.  A carrying line goes
 * first in the buffer, so a failed write tells whether it got through. */
static int carry_begin(ohets_srv_log *lg) {
  if (lg->pend_dropped == 0)
    return 0;
  out_flush(lg);
  return 1;
}

/* The counts a carrying line ends with. */
static void l_counts(log_line *l, const ohets_srv_log *lg) {
  l_key(l, "log_dropped");
  l_u64(l, lg->pend_dropped, 1);
  if (lg->pend_lost > 0) {
    l_key(l, "log_write_lost");
    l_u64(l, lg->pend_lost, 1);
  }
}

static void write_line(ohets_srv_log *lg, const char *line, int carry) {
  size_t n = strlen(line);
  log_line tail;
  tail.n = 0;
  if (carry && n > 0 && line[n - 1] == '}') {
    n--; /* splice the counts in as the line's last fields */
    l_counts(&tail, lg);
    l_putc(&tail, '}');
  } else {
    carry = 0;
  }
  l_putc(&tail, '\n');
  char *p = out_room(lg, n + tail.n);
  if (p == NULL) {
    lg->pend_dropped++;
    atomic_fetch_add_explicit(&lg->dropped_total, 1, memory_order_relaxed);
    return;
  }
  memcpy(p, line, n);
  memcpy(p + n, tail.b, tail.n);
  out_commit(lg, n + tail.n, carry);
}

/* The "request" event: the same fields, in the same order, as every other
 * event built with jansson would give (DESIGN §9; README "Session log"). */
static void write_request(ohets_srv_log *lg, const ohets_srv_request_log *r,
                          int carry) {
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
  l_puts(&l, r->core ? ",\"door\":\"core\"" : ",\"door\":\"extranet\"");
  if (r->core) {
    if (r->envelope != NULL) {
      l_key(&l, "envelope");
      l_putc(&l, '"');
      l_puts(&l, r->envelope);
      l_putc(&l, '"');
    }
    if (r->payload_id[0])
      l_str(&l, "payload_id", r->payload_id, sizeof r->payload_id);
    l_key(&l, "http_status");
    l_u64(&l, (uint64_t)r->http_status, 1);
    if (r->error_code[0])
      l_str(&l, "error_code", r->error_code, sizeof r->error_code);
  }
  l_key(&l, "answer");
  if (r->no_answer) {
    l_puts(&l, "null,\"aaa\":[");
  } else {
    l_putc(&l, '"');
    l_puts(&l, ohets_answer_name(r->answer));
    l_puts(&l, "\",\"aaa\":[");
  }
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
  if (carry)
    l_counts(&l, lg);
  l_puts(&l, "}\n");
  char *p = out_room(lg, l.n);
  if (p == NULL) {
    lg->pend_dropped++;
    atomic_fetch_add_explicit(&lg->dropped_total, 1, memory_order_relaxed);
    return;
  }
  memcpy(p, l.b, l.n);
  out_commit(lg, l.n, carry);
}

static int open_file(const char *path) {
  return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
}

static void reopen_file(ohets_srv_log *lg) {
  if (lg->is_stdout)
    return;
  int fd = open_file(lg->path);
  if (fd < 0) {
    /* Keep writing to the old file rather than lose lines. */
    fprintf(stderr, OHETS_SRV_PROG ": session log %s: reopen failed: %s\n",
            lg->path, strerror(errno));
    return;
  }
  /* A cut line stays in the old file; the same file reopened still ends in it. */
  struct stat a, b;
  if (!(fstat(lg->fd, &a) == 0 && fstat(fd, &b) == 0 && a.st_dev == b.st_dev &&
        a.st_ino == b.st_ino))
    lg->partial = 0;
  close(lg->fd);
  lg->fd = fd;
  lg->write_failed = 0; /* a new file: a failure there is said again */
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
    lg->pend_dropped += lg->dropped;
    lg->dropped = 0;
    int stop = lg->stop && lg->len == 0 && n == 0;
    pthread_mutex_unlock(&lg->mu);

    if (reopen) {
      out_flush(lg);
      reopen_file(lg);
    }
    req_node *spent_first = NULL, *spent_last = NULL;
    for (unsigned i = 0; i < n; i++) {
      if (batch[i].req != NULL) {
        write_request(lg, &batch[i].req->r, carry_begin(lg));
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
        lg->pend_dropped++;
        atomic_fetch_add_explicit(&lg->dropped_total, 1, memory_order_relaxed);
        continue;
      }
      write_line(lg, line, carry_begin(lg));
      free(line);
    }
    if (spent_first != NULL) { /* the whole chain back in one exchange */
      spent_last->next = atomic_load_explicit(&lg->spent, memory_order_relaxed);
      while (!atomic_compare_exchange_weak_explicit(&lg->spent, &spent_last->next,
                                                    spent_first, memory_order_release,
                                                    memory_order_relaxed))
        ;
    }
    out_flush(lg); /* counts no line carried stay pending for the next one */
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
  atomic_init(&lg->dropped_total, 0);
  lg->cap = queue_cap;
  snprintf(lg->path, sizeof lg->path, "%s", path);
  if ((lg->out = malloc(LOG_OUT_CAP)) == NULL) {
    snprintf(err, errsz, "session log: out of memory");
    rc = -ENOMEM;
    goto fail;
  }
  lg->out_cap = LOG_OUT_CAP;
  if (strcmp(path, "-") == 0) {
    lg->is_stdout = 1;
    lg->fd = STDOUT_FILENO;
    fflush(stdout); /* anything printed before goes first */
  } else {
    lg->fd = open_file(path);
    if (lg->fd < 0) {
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
      close(lg->fd);
    rc = -rc;
    goto fail;
  }
  *out = lg;
  return 0;
fail:
  if (lg != NULL) {
    free(lg->ring);
    free(lg->out);
  }
  free(lg);
  return rc;
}

void ohets_srv_log_emit(ohets_srv_log *lg, json_t *obj) {
  pthread_mutex_lock(&lg->mu);
  if (obj == NULL || lg->len == lg->cap || lg->stop) {
    lg->dropped++;
    atomic_fetch_add_explicit(&lg->dropped_total, 1, memory_order_relaxed);
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
    atomic_fetch_add_explicit(&lg->dropped_total, 1, memory_order_relaxed);
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
  uint64_t dropped = lg->dropped + lg->pend_dropped;
  if (dropped > 0 && lg->pend_lost > 0)
    fprintf(stderr,
            OHETS_SRV_PROG ": session log: %llu lines dropped at the end "
            "(%llu of them lost to a failed write)\n",
            (unsigned long long)dropped, (unsigned long long)lg->pend_lost);
  else if (dropped > 0)
    fprintf(stderr, OHETS_SRV_PROG ": session log: %llu lines dropped at the end\n",
            (unsigned long long)dropped);
  if (!lg->is_stdout)
    close(lg->fd);
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
  free(lg->out);
  free(lg);
}

uint64_t ohets_srv_log_dropped_total(const ohets_srv_log *lg) {
  return lg != NULL ? atomic_load_explicit(&lg->dropped_total, memory_order_relaxed) : 0;
}
