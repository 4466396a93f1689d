/* The session log (src/server/slog.c): what an operator tailing the file
 * reads.  Request lines are formatted by the log thread itself, so they
 * are checked here field by field, in order, with hostile bytes. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "server/slog.h"

static char path[64];

static void setup(void) {
  snprintf(path, sizeof path, "/tmp/ohets-test-slog.XXXXXX");
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  close(fd);
}

static void teardown(void) { unlink(path); }

/* Every line of the log file, parsed; the caller frees the array. */
static json_t *read_lines(void) {
  json_t *lines = json_array();
  FILE *f = fopen(path, "r");
  ck_assert_ptr_nonnull(f);
  char buf[4096];
  while (fgets(buf, sizeof buf, f) != NULL) {
    json_error_t err;
    json_t *o = json_loads(buf, JSON_PRESERVE_ORDER, &err);
    ck_assert_msg(o != NULL, "not JSON: %s (%s)", buf, err.text);
    json_array_append_new(lines, o);
  }
  fclose(f);
  return lines;
}

static ohets_srv_request_log sample(void) {
  ohets_srv_request_log r;
  memset(&r, 0, sizeof r);
  snprintf(r.ts, sizeof r.ts, "2026-11-23T12:00:00.123Z");
  r.session = 42;
  r.seq = 3;
  snprintf(r.submitter, sizeof r.submitter, "SUB\"\\\x01\xe9");
  snprintf(r.isa13, sizeof r.isa13, "000000101");
  r.bytes_in = 495;
  r.bytes_out = 984;
  r.answer = OHETS_ANSWER_271;
  r.n_aaa = 2;
  memcpy(r.aaa[0], "72", 3);
  memcpy(r.aaa[1], "75", 3);
  r.queue_us = 1234;
  r.work_us = 5;
  r.total_us = 2000000;
  return r;
}

/* DESIGN §13: a core door's line adds its envelope fields after door, and
 * an envelope error has no X12 answer (answer null, no error code of
 * the Extranet's). */
START_TEST(test_request_line_core_fields) {
  ohets_srv_log *lg = NULL;
  char err[256];
  ck_assert_int_eq(ohets_srv_log_open(&lg, path, 16, err, sizeof err), 0);
  ohets_srv_request_log r = sample();
  r.core = 1;
  r.no_answer = 1;
  r.envelope = "mime";
  snprintf(r.payload_id, sizeof r.payload_id, "f81d4fae-7dec-11d0-a765-00a0c91e6bf6");
  r.http_status = 403;
  snprintf(r.error_code, sizeof r.error_code, "UnAuthorized");
  ohets_srv_log_request(lg, &r);
  ohets_srv_log_close(lg);

  json_t *lines = read_lines();
  ck_assert_uint_eq(json_array_size(lines), 1);
  json_t *o = json_array_get(lines, 0);
  static const char *const keys[] = {"ts", "event", "session", "seq", "submitter", "isa13",
                                     "st02", "bytes_in", "bytes_out", "door", "envelope",
                                     "payload_id", "http_status", "error_code", "answer",
                                     "aaa", "queue_ms", "work_ms", "total_ms"};
  size_t k = 0;
  for (void *it = json_object_iter(o); it != NULL; it = json_object_iter_next(o, it), k++) {
    ck_assert_uint_lt(k, sizeof keys / sizeof keys[0]);
    ck_assert_str_eq(json_object_iter_key(it), keys[k]);
  }
  ck_assert_uint_eq(k, sizeof keys / sizeof keys[0]);
  ck_assert_str_eq(json_string_value(json_object_get(o, "door")), "core");
  ck_assert_str_eq(json_string_value(json_object_get(o, "envelope")), "mime");
  ck_assert_int_eq(json_integer_value(json_object_get(o, "http_status")), 403);
  ck_assert_str_eq(json_string_value(json_object_get(o, "error_code")), "UnAuthorized");
  ck_assert(json_is_null(json_object_get(o, "answer")));
  json_decref(lines);
}
END_TEST

START_TEST(test_request_line_fields_in_order) {
  ohets_srv_log *lg = NULL;
  char err[256];
  ck_assert_int_eq(ohets_srv_log_open(&lg, path, 16, err, sizeof err), 0);
  ohets_srv_request_log r = sample();
  ohets_srv_log_request(lg, &r);
  ohets_srv_log_close(lg);

  json_t *lines = read_lines();
  ck_assert_uint_eq(json_array_size(lines), 1);
  json_t *o = json_array_get(lines, 0);
  static const char *const keys[] = {"ts", "event", "session", "seq", "submitter",
                                     "isa13", "st02", "bytes_in", "bytes_out",
                                     "door", "answer", "aaa", "queue_ms", "work_ms",
                                     "total_ms"};
  size_t k = 0;
  for (void *it = json_object_iter(o); it != NULL; it = json_object_iter_next(o, it), k++) {
    ck_assert_uint_lt(k, sizeof keys / sizeof keys[0]);
    ck_assert_str_eq(json_object_iter_key(it), keys[k]);
  }
  ck_assert_uint_eq(k, sizeof keys / sizeof keys[0]);
  ck_assert_str_eq(json_string_value(json_object_get(o, "event")), "request");
  ck_assert_int_eq(json_integer_value(json_object_get(o, "session")), 42);
  /* Bytes from the request come back exactly, escaped (0xE9 as U+00E9). */
  ck_assert_str_eq(json_string_value(json_object_get(o, "submitter")),
                   "SUB\"\\\x01\xc3\xa9");
  ck_assert(json_is_null(json_object_get(o, "st02")));
  ck_assert_str_eq(json_string_value(json_object_get(o, "answer")), "271");
  ck_assert_str_eq(json_string_value(json_object_get(o, "door")), "extranet");
  json_t *aaa = json_object_get(o, "aaa");
  ck_assert_uint_eq(json_array_size(aaa), 2);
  ck_assert_str_eq(json_string_value(json_array_get(aaa, 1)), "75");
  ck_assert_double_eq_tol(json_number_value(json_object_get(o, "queue_ms")), 1.234, 1e-9);
  ck_assert_double_eq_tol(json_number_value(json_object_get(o, "work_ms")), 0.005, 1e-9);
  ck_assert_double_eq_tol(json_number_value(json_object_get(o, "total_ms")), 2000.0, 1e-9);
  json_decref(lines);
}
END_TEST

START_TEST(test_request_line_optional_fields) {
  ohets_srv_log *lg = NULL;
  char err[256];
  ck_assert_int_eq(ohets_srv_log_open(&lg, path, 16, err, sizeof err), 0);
  ohets_srv_request_log r = sample();
  r.answer = OHETS_ANSWER_999;
  r.n_aaa = 0;
  r.ack = 'R';
  r.overloaded = 1;
  snprintf(r.mbi_hash, sizeof r.mbi_hash, "fc3f39909c43582c");
  ohets_srv_log_request(lg, &r);
  r.answer = OHETS_ANSWER_HETS;
  r.ack = 0;
  r.overloaded = 0;
  r.mbi_hash[0] = '\0';
  snprintf(r.error, sizeof r.error, "HTS00001");
  ohets_srv_log_request(lg, &r);
  ohets_srv_log_close(lg);

  json_t *lines = read_lines();
  ck_assert_uint_eq(json_array_size(lines), 2);
  json_t *a = json_array_get(lines, 0), *b = json_array_get(lines, 1);
  ck_assert_str_eq(json_string_value(json_object_get(a, "ack")), "R");
  ck_assert(json_is_true(json_object_get(a, "overloaded")));
  ck_assert_str_eq(json_string_value(json_object_get(a, "mbi_hash")), "fc3f39909c43582c");
  ck_assert_ptr_null(json_object_get(a, "error"));
  ck_assert_str_eq(json_string_value(json_object_get(b, "error")), "HTS00001");
  ck_assert_ptr_null(json_object_get(b, "ack"));
  ck_assert_ptr_null(json_object_get(b, "overloaded"));
  ck_assert_ptr_null(json_object_get(b, "mbi_hash"));
  json_decref(lines);
}
END_TEST

/* Every log line's "ts": UTC to the millisecond, the form operators'
 * tools parse; a buffer too small for it gets an empty string. */
START_TEST(test_timestamp_form) {
  char ts[32];
  /* clock_gettime, not time(): time() may read a coarser clock that lags
   * CLOCK_REALTIME by a tick, which made "after" look earlier than ts. */
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  time_t before = t.tv_sec;
  ohets_srv_ts(ts, sizeof ts);
  clock_gettime(CLOCK_REALTIME, &t);
  time_t after = t.tv_sec;
  ck_assert_uint_eq(strlen(ts), 24);
  for (int i = 0; i < 24; i++) {
    const char *form = "dddd-dd-ddTdd:dd:dd.dddZ";
    if (form[i] == 'd')
      ck_assert_msg(ts[i] >= '0' && ts[i] <= '9', "ts %s: digit expected at %d", ts, i);
    else
      ck_assert_msg(ts[i] == form[i], "ts %s: '%c' expected at %d", ts, form[i], i);
  }
  struct tm tm;
  char lo[20], hi[20];
  gmtime_r(&before, &tm);
  strftime(lo, sizeof lo, "%Y-%m-%dT%H:%M:%S", &tm);
  gmtime_r(&after, &tm);
  strftime(hi, sizeof hi, "%Y-%m-%dT%H:%M:%S", &tm);
  ck_assert_msg(strncmp(ts, lo, 19) >= 0 && strncmp(ts, hi, 19) <= 0,
                "ts %s outside %s .. %s", ts, lo, hi);
  char small[10] = "unchanged";
  ohets_srv_ts(small, sizeof small);
  ck_assert_str_eq(small, "");
}
END_TEST

START_TEST(test_full_queue_drops_and_counts) {
  /* A queue of 16 and 2,000 lines at once: the emitter never waits, lines
   * are dropped, every line that reaches the file is whole JSON, and every
   * dropped line is counted: on a later line (log_dropped) or, after the
   * last one, on stderr at close. */
  char errpath[64];
  snprintf(errpath, sizeof errpath, "/tmp/ohets-test-slog-err.XXXXXX");
  int errfd = mkstemp(errpath);
  ck_assert_int_ge(errfd, 0);
  fflush(stderr);
  int saved = dup(2);
  dup2(errfd, 2);

  ohets_srv_log *lg = NULL;
  char err[256];
  ck_assert_int_eq(ohets_srv_log_open(&lg, path, 16, err, sizeof err), 0);
  ohets_srv_request_log r = sample();
  for (int i = 0; i < 2000; i++) {
    r.seq = (uint64_t)i;
    ohets_srv_log_request(lg, &r);
  }
  ohets_srv_log_emit(lg, ohets_srv_log_event("shutdown", 0));
  ohets_srv_log_close(lg);

  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  long long at_close = 0;
  FILE *ef = fdopen(errfd, "r");
  ck_assert_ptr_nonnull(ef);
  rewind(ef);
  char line[256];
  while (fgets(line, sizeof line, ef) != NULL) {
    const char *p = strstr(line, "session log: ");
    if (p != NULL)
      at_close += atoll(p + strlen("session log: "));
  }
  fclose(ef);
  unlink(errpath);

  json_t *lines = read_lines();
  size_t n = json_array_size(lines);
  long long dropped = 0;
  for (size_t i = 0; i < n; i++) {
    json_t *d = json_object_get(json_array_get(lines, i), "log_dropped");
    if (d != NULL)
      dropped += json_integer_value(d);
  }
  /* 2,000 requests and the shutdown line, each written or counted. */
  ck_assert_int_eq((long long)n + dropped + at_close, 2001);
  ck_assert_int_ge((long long)n, 16);
  json_decref(lines);
}
END_TEST

/* ------------------------------------------------ write failures (issue 9) */

/* stderr into a temporary file for the length of a test (unlinked at once:
 * a failed assertion leaves nothing behind). */
typedef struct err_capture {
  int fd, saved;
} err_capture;

static void capture_begin(err_capture *c) {
  char tmp[64];
  snprintf(tmp, sizeof tmp, "/tmp/ohets-test-slog-err.XXXXXX");
  c->fd = mkstemp(tmp);
  ck_assert_int_ge(c->fd, 0);
  unlink(tmp);
  fflush(stderr);
  c->saved = dup(2);
  dup2(c->fd, 2);
}

/* What stderr got so far (static buffer). */
static const char *captured(const err_capture *c) {
  static char text[8192];
  ssize_t n = pread(c->fd, text, sizeof text - 1, 0);
  text[n > 0 ? n : 0] = '\0';
  return text;
}

static void capture_end(err_capture *c) {
  fflush(stderr);
  dup2(c->saved, 2);
  close(c->saved);
}

static void capture_free(err_capture *c) { close(c->fd); }

static int count_of(const char *text, const char *what) {
  int n = 0;
  for (const char *p = text; (p = strstr(p, what)) != NULL; p += strlen(what))
    n++;
  return n;
}

/* The count on stderr's "session log: N lines dropped at the end", or 0. */
static long long dropped_at_close(const char *text) {
  const char *p = strstr(text, "session log: ");
  return p != NULL ? atoll(p + strlen("session log: ")) : 0;
}

/* Emits request lines, burst lines at a time, until stderr says the log
 * can't be written (at most 10 s); returns how many were emitted. */
static long long emit_until_failure(ohets_srv_log *lg, const err_capture *c, int burst) {
  ohets_srv_request_log r = sample();
  struct timespec t0, now, pause = {0, 200000};
  clock_gettime(CLOCK_MONOTONIC, &t0);
  long long emitted = 0;
  for (;;) {
    for (int i = 0; i < burst; i++) {
      r.seq = (uint64_t)++emitted;
      ohets_srv_log_request(lg, &r);
    }
    if (strstr(captured(c), "write failed") != NULL)
      return emitted;
    clock_gettime(CLOCK_MONOTONIC, &now);
    ck_assert_msg(now.tv_sec - t0.tv_sec < 10, "no write failure reported in 10 s (%lld lines)",
                  emitted);
    nanosleep(&pause, NULL); /* let the log thread write what is queued */
  }
}

/* Lines of a log text: parsed (or NULL for a line that is not JSON). */
typedef struct parsed_log {
  json_t *lines;     /* the parsed objects, in order */
  int bad;           /* lines that are not JSON */
  int bad_at;        /* index in lines of the line after the last bad one */
  long long dropped; /* sum of log_dropped */
  long long lost;    /* sum of log_write_lost */
  int carriers_lost; /* lines with log_write_lost */
  int first_lost_at; /* index of the first line with log_write_lost, or -1 */
} parsed_log;

static void parse_log(const char *text, size_t len, parsed_log *pl) {
  memset(pl, 0, sizeof *pl);
  pl->lines = json_array();
  pl->bad_at = -1;
  pl->first_lost_at = -1;
  ck_assert_msg(len == 0 || text[len - 1] == '\n', "the log does not end with a whole line");
  const char *p = text, *end = text + len;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
    json_t *o = json_loadb(p, n, JSON_PRESERVE_ORDER, NULL);
    if (o == NULL || !json_is_object(o)) {
      json_decref(o);
      pl->bad++;
      pl->bad_at = (int)json_array_size(pl->lines);
    } else {
      json_t *d = json_object_get(o, "log_dropped"), *w = json_object_get(o, "log_write_lost");
      pl->dropped += json_integer_value(d);
      if (w != NULL) {
        ck_assert_msg(d != NULL, "log_write_lost without log_dropped");
        ck_assert_int_le(json_integer_value(w), json_integer_value(d));
        pl->lost += json_integer_value(w);
        pl->carriers_lost++;
        if (pl->first_lost_at < 0)
          pl->first_lost_at = (int)json_array_size(pl->lines);
      }
      json_array_append_new(pl->lines, o);
    }
    p += n + 1;
  }
}

static char *slurp(const char *file, size_t *len) {
  FILE *f = fopen(file, "rb");
  ck_assert_ptr_nonnull(f);
  size_t cap = 1 << 16, n = 0;
  char *b = malloc(cap);
  size_t got;
  while ((got = fread(b + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap)
      b = realloc(b, cap *= 2);
  }
  fclose(f);
  *len = n;
  return b;
}

START_TEST(test_write_error_reported_and_counted) {
  /* /dev/full: every write fails with ENOSPC.  One stderr line names the
   * file and the error, and no line is lost uncounted (at close, since
   * writing never works again). */
  err_capture c;
  capture_begin(&c);
  ohets_srv_log *lg = NULL;
  char err[256];
  ck_assert_int_eq(ohets_srv_log_open(&lg, "/dev/full", 64, err, sizeof err), 0);
  long long emitted = emit_until_failure(lg, &c, 8);
  ohets_srv_request_log r = sample();
  for (int i = 0; i < 20; i++, emitted++) /* later failures: no more stderr lines */
    ohets_srv_log_request(lg, &r);
  ohets_srv_log_emit(lg, ohets_srv_log_event("shutdown", 0));
  emitted++;
  ohets_srv_log_close(lg);
  capture_end(&c);
  const char *text = captured(&c);
  ck_assert_msg(count_of(text, "write failed") == 1, "stderr: %s", text);
  ck_assert_msg(strstr(text, "session log /dev/full: write failed: No space left on device") != NULL,
                "stderr: %s", text);
  ck_assert_int_eq(dropped_at_close(text), emitted);
  ck_assert_msg(strstr(text, "lost to a failed write") != NULL, "stderr: %s", text);
  capture_free(&c);
}
END_TEST

START_TEST(test_write_error_then_recovery_regular_file) {
  /* A file size limit (RLIMIT_FSIZE, as a full disk would) stops writes in
   * the middle of a line; then the limit goes and writing works again.  The
   * file must hold whole JSON lines only (the cut line is truncated off),
   * one stderr line for the episode, and a later line reports every lost
   * line in log_dropped and log_write_lost. */
  signal(SIGXFSZ, SIG_IGN); /* the write fails with EFBIG instead */
  struct rlimit saved, lim;
  ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &saved), 0);
  err_capture c;
  capture_begin(&c);
  ohets_srv_log *lg = NULL;
  char err[256];
  ck_assert_int_eq(ohets_srv_log_open(&lg, path, 4096, err, sizeof err), 0);
  lim = saved;
  lim.rlim_cur = 20000; /* not a multiple of the line length */
  ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
  long long emitted = emit_until_failure(lg, &c, 8);
  ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &saved), 0);
  ohets_srv_request_log r = sample();
  for (int i = 0; i < 10; i++, emitted++) {
    r.seq = 100000 + (uint64_t)i;
    ohets_srv_log_request(lg, &r);
  }
  ohets_srv_log_emit(lg, ohets_srv_log_event("shutdown", 0));
  emitted++;
  ohets_srv_log_close(lg);
  capture_end(&c);
  const char *text = captured(&c);
  ck_assert_msg(count_of(text, "write failed") == 1, "stderr: %s", text);
  ck_assert_msg(strstr(text, "File too large") != NULL, "stderr: %s", text);

  size_t len;
  char *data = slurp(path, &len);
  parsed_log pl;
  parse_log(data, len, &pl);
  free(data);
  long long n = (long long)json_array_size(pl.lines);
  ck_assert_msg(pl.bad == 0, "%d lines of the file are not JSON", pl.bad);
  ck_assert_int_eq(n + pl.dropped + dropped_at_close(text), emitted);
  ck_assert_int_eq(dropped_at_close(text), 0); /* writing worked again: said in the file */
  ck_assert_int_eq(pl.carriers_lost, 1);
  ck_assert_int_ge(pl.lost, 1);
  ck_assert_int_eq(pl.lost, pl.dropped); /* a queue of 4096: nothing dropped for it */
  json_decref(pl.lines);
  capture_free(&c);
}
END_TEST

/* Reads a pipe to its end (the test's reader once the log writes again). */
typedef struct pipe_reader {
  int fd;
  char *data;
  size_t len, cap;
} pipe_reader;

static void *read_pipe(void *arg) {
  pipe_reader *pr = arg;
  ssize_t got;
  while (pr->len < pr->cap &&
         ((got = read(pr->fd, pr->data + pr->len, pr->cap - pr->len)) > 0 ||
          (got < 0 && errno == EINTR)))
    if (got > 0)
      pr->len += (size_t)got;
  return NULL;
}

START_TEST(test_write_error_then_recovery_pipe) {
  /* stdout a non-blocking pipe nobody reads: a write stops part way into a
   * line (EAGAIN), which can't be cut off a pipe.  Then the pipe blocks and
   * is read: the next write starts on a fresh line, so at most the cut line
   * fails to parse, right before the line that reports the loss. */
  int p[2];
  ck_assert_int_eq(pipe(p), 0);
#ifdef F_SETPIPE_SZ
  fcntl(p[1], F_SETPIPE_SZ, 4096); /* fills sooner; the default works too */
#endif
  ck_assert_int_eq(fcntl(p[1], F_SETFL, O_NONBLOCK), 0);
  fflush(stdout);
  int saved_out = dup(1);
  dup2(p[1], 1);
  close(p[1]);

  err_capture c;
  capture_begin(&c);
  ohets_srv_log *lg = NULL;
  char err[256];
  ck_assert_int_eq(ohets_srv_log_open(&lg, "-", 1 << 16, err, sizeof err), 0);
  /* Bursts larger than PIPE_BUF: a pipe write of up to PIPE_BUF bytes is
   * all or nothing, a larger one stops where the pipe is full. */
  long long emitted = emit_until_failure(lg, &c, 64);
  /* From here the log thread waits on the full pipe instead of failing. */
  ck_assert_int_eq(fcntl(1, F_SETFL, 0), 0);
  pipe_reader pr = {p[0], malloc(1 << 22), 0, 1 << 22};
  pthread_t reader;
  ck_assert_int_eq(pthread_create(&reader, NULL, read_pipe, &pr), 0);
  ohets_srv_request_log r = sample();
  for (int i = 0; i < 3; i++, emitted++) {
    r.seq = 100000 + (uint64_t)i;
    ohets_srv_log_request(lg, &r);
  }
  ohets_srv_log_close(lg);
  capture_end(&c);
  dup2(saved_out, 1); /* the pipe's last writer gone: the reader sees its end */
  close(saved_out);
  pthread_join(reader, NULL);
  close(p[0]);
  const char *text = captured(&c);
  ck_assert_msg(count_of(text, "write failed") == 1, "stderr: %s", text);
  ck_assert_msg(strstr(text, "session log stdout: write failed") != NULL, "stderr: %s", text);
  ck_assert_int_eq(dropped_at_close(text), 0);

  parsed_log pl;
  parse_log(pr.data, pr.len, &pl);
  free(pr.data);
  long long n = (long long)json_array_size(pl.lines);
  ck_assert_int_le(pl.bad, 1);
  if (pl.bad == 1) /* the cut line comes right before the report */
    ck_assert_int_eq(pl.bad_at, pl.first_lost_at);
  ck_assert_int_eq(n + pl.dropped, emitted);
  ck_assert_int_eq(pl.carriers_lost, 1);
  ck_assert_int_ge(pl.lost, 1);
  for (int i = 0; i < 3; i++) /* the three after recovery are the last lines */
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(pl.lines, (size_t)(n - 3 + i)),
                                                        "seq")),
                     100000 + i);
  if (getenv("SLOG_TEST_VERBOSE"))
    printf("pipe: %lld lines, %d cut, %lld lost\n", n, pl.bad, pl.lost);
  json_decref(pl.lines);
  capture_free(&c);
}
END_TEST

static Suite *slog_suite(void) {
  Suite *s = suite_create("slog");
  TCase *t = tcase_create("request lines");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, test_request_line_fields_in_order);
  tcase_add_test(t, test_request_line_core_fields);
  tcase_add_test(t, test_request_line_optional_fields);
  tcase_add_test(t, test_full_queue_drops_and_counts);
  tcase_add_test(t, test_timestamp_form);
  suite_add_tcase(s, t);
  TCase *w = tcase_create("write failures");
  tcase_set_timeout(w, 30); /* past the tests' own 10 s bound, under sanitizers too */
  tcase_add_checked_fixture(w, setup, teardown);
  tcase_add_test(w, test_write_error_reported_and_counted);
  tcase_add_test(w, test_write_error_then_recovery_regular_file);
  tcase_add_test(w, test_write_error_then_recovery_pipe);
  suite_add_tcase(s, w);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(slog_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
