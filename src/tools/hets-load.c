/* hets-load: a load generator for HETS Extranet sockets (DESIGN §10).
 *
 * Many sockets from a few threads, one libuv loop per thread.  Closed loop
 * by default (each socket sends its next request when the answer arrives);
 * open loop with --rate, where each socket has a fixed schedule and latency
 * is charged from the scheduled send time, so a socket that falls behind
 * still counts the time its request waited (no coordinated omission).
 * Every request's bytes are built before the run starts.
 *
 * --tls runs every socket through the TLS engine (src/tls): one client
 * context shared by the threads, one engine per connection; ciphertext is
 * read into the thread's buffer, decrypted into another and framed from
 * there, and the engine's output runs go to the socket as they are (no copy
 * of our own).  --new-conn opens a connection (and makes a handshake) for
 * every request.
 *
 * --core soap|mime --url https://... speaks the CAQH CORE door (DESIGN §13)
 * instead: every request an HTTP POST of a SOAP or MIME envelope, over TLS,
 * in order on keep-alive connections.  The envelopes are built before the
 * run; each send writes a fresh PayloadID and TimeStamp into a copy
 * (core_client.c says where they sit).  Answers are read with the CORE
 * library's HTTP reader and counted by the X12 payload inside; envelope
 * and HTTP errors count as errors and, by ErrorCode or HTTP status, in
 * core_errors.
 *
 * --report FILE.html writes one self-contained page after the run (the
 * charts, the settings, the --json summary: load_report.c); the only cost
 * during the run is one increment per answer, in its second's bin.
 *
 * Exit 0 when the run completed (errors counted or not), 1 when it could
 * not run, 2 on a usage error.  docs/hets-load.md is the manual.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "common/common.h"
#include "caqh/soap.h"
#include "openhets/openhets.h"
#include "tls/tls.h"
#include "tools/core_client.h"
#include "tools/load_hist.h"
#include "tools/load_report.h"
#include "tools/load_req.h"

#define PROG "hets-load"
#define EXIT_FAILED 1
#define EXIT_USAGE 2

#define MAX_CONNS 200000u
#define MAX_THREADS 64u
#define MAX_ANSWER_BYTES (1u << 20) /* an answer larger than this is a protocol failure */
#define READ_CHUNK 65536u
#define TICK_MS 20u                 /* timeouts, reconnects, the deadline */
#define RECONNECT_BACKOFF_NS 100000000ull
/* Open loop: a server close of a socket quiet this long is the idle timer
 * (DESIGN §3, 5 s), not a fault: reconnect at the next send, count nothing. */
#define IDLE_CLOSE_NS 4500000000ull
#define NS 1000000000ull
#define CORE_ERROR_KEYS 32 /* distinct core_errors keys kept per thread */

/* ---------------------------------------------------------------- settings */

typedef struct load_cfg {
  const char *host;
  unsigned port;
  unsigned conns;
  double seconds;  /* 0: none */
  uint64_t count;  /* 0: none */
  double rate;     /* 0: closed loop */
  unsigned threads;
  const char *db;
  const char *submitter;
  const char *npi;
  unsigned mix[3];
  int unwrapped;
  int json;
  int idle_check;
  double timeout_s;
  int timeout_given;
  char *const *files;
  size_t nfiles;
  struct sockaddr_storage addr;
  int tls;                     /* --tls */
  const char *cert, *key, *ca; /* its files (ca NULL: the server is not verified) */
  int resume;                  /* --resume: offer the last session ticket */
  int new_conn;                /* --new-conn: a connection per request */
  ohets_tls_ctx *tls_ctx;      /* --tls: shared by every thread */
  const char *report;          /* --report FILE.html, or NULL */
  int host_given, port_given;  /* -H, -p (not with --url) */
  ohets_core_kind core;        /* --core soap|mime; 0: the Extranet socket */
  const char *url;             /* --url */
  ohets_core_url core_url;     /* --url parsed */
  const char *user, *password; /* --user; the password from OPENHETS_PASSWORD */
  ohets_core_stamp *stamps;    /* --core: where each request's PayloadID and TimeStamp sit */
  int argc;                    /* the command line, for the report */
  char **argv;
} load_cfg;

static _Atomic int g_interrupted; /* SIGINT/SIGTERM: end the run early */

static void on_signal(int sig) {
  (void)sig;
  atomic_store(&g_interrupted, 1);
}

/* One clear line on stderr: "PROG: what was wrong". */
#define err_line(...) ohets_common_err(PROG, __VA_ARGS__)

/* ---------------------------------------------------------------- state */

/* C_HANDSHAKE: TCP connected, the TLS handshake under way (--tls). */
typedef enum conn_state { C_DOWN = 0, C_CONNECTING, C_HANDSHAKE, C_UP, C_CLOSING } conn_state;

struct worker;

typedef struct conn {
  uv_tcp_t tcp;
  uv_connect_t creq;
  uv_write_t wreq;
  uv_timer_t timer; /* open loop: waits for the next scheduled send */
  struct worker *w;
  unsigned id; /* 0 .. conns-1 over all threads */
  conn_state state;
  int outstanding;  /* a request sent (or due) and not yet answered */
  int send_when_up; /* write the current request once connected */
  int writing;      /* wreq in use */
  int send_after_write;
  int expect_close; /* the server answered HTS00001..3 and will close */
  int was_up;       /* connected before the run (--new-conn: send at once) */
  int got_plain;    /* --tls: the server sent application bytes on this connection */
  const ohets_load_req *cur;
  uint64_t sched_ns; /* open loop: when the next request is due */
  uint64_t due_ns;   /* open loop: when the current request was due */
  uint64_t sent_ns;
  uint64_t last_ns; /* last byte read or written */
  uint64_t retry_ns;
  uint64_t hs_ns;    /* --tls: when the handshake began */
  ohets_tls *tls;    /* --tls: this connection's engine (freed when closed) */
  size_t in_flight;  /* --tls: ciphertext handed to uv_write (wreq in use) */
  ohets_frame_decoder dec;
  uint8_t *pend; /* an answer's bytes read so far */
  size_t pend_len, pend_cap;
  ohets_caqh_http_reader *http; /* --core: this connection's response reader */
  uint8_t *stamped;             /* --core: the current request, freshly stamped */
  size_t stamped_cap;
  char payload_id[OHETS_CORE_UUID_LEN + 1]; /* --core: the current request's */
} conn;

typedef struct run_state {
  const load_cfg *cfg;
  const ohets_load_reqs *reqs;
  uint64_t start_ns;
  uint64_t deadline_ns; /* 0: none */
  uint64_t step_ns;     /* open loop: gap between sends over all sockets */
  _Atomic uint64_t issued;
  _Atomic int abort;
  _Atomic unsigned threads_done;
  pthread_barrier_t barrier;
} run_state;

typedef struct worker {
  run_state *run;
  pthread_t thread;
  uv_loop_t loop;
  uv_timer_t tick;
  conn *conns;
  unsigned nconns;
  ohets_load_hist *hist;
  _Atomic uint64_t requests;
  _Atomic uint64_t errors;
  _Atomic uint64_t closes;
  uint64_t answers[4];
  uint64_t aaa[OHETS_LOAD_AAA_SLOTS];
  ohets_load_tput tput; /* answers by the second they came in (--report) */
  unsigned connecting, closing, connected_at_start;
  unsigned handshaking; /* connections in C_HANDSHAKE */
  unsigned outstanding;
  int running; /* phase 2 (the run) has begun */
  int stopping;
  int finished;
  uint64_t finish_ns;
  /* --tls: handshakes finished during the run, their times, how many
   * resumed a session; TLS failures and the first one's reason. */
  ohets_load_hist *hs_hist;
  uint64_t handshakes, resumed, tls_failures;
  char tls_error[256];
  /* --core: errors by ErrorCode or "http_NNN" (a full table counts the
   * rest under "other"); answers that could not be read, the first
   * reason. */
  char core_key[CORE_ERROR_KEYS][48];
  uint64_t core_n[CORE_ERROR_KEYS];
  unsigned n_core_keys;
  uint64_t core_unreadable;
  char core_error[256];
  uint8_t rbuf[READ_CHUNK];
  uint8_t pbuf[READ_CHUNK]; /* --tls: plaintext out of the engine */
} worker;

static void count(_Atomic uint64_t *c) {
  /* One writer per counter (its worker); the display thread only reads. */
  atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
                        memory_order_relaxed);
}

static int open_loop(const worker *w) { return w->run->cfg->rate > 0; }

static void start_connect(conn *c);
static void send_next(conn *c);
static void open_arm(conn *c);
static void check_finish(worker *w);

/* ---------------------------------------------------------------- sockets */

static int conn_open(const conn *c) {
  return c->state == C_CONNECTING || c->state == C_HANDSHAKE || c->state == C_UP;
}

static void on_closed(uv_handle_t *h) {
  conn *c = h->data;
  worker *w = c->w;
  c->state = C_DOWN;
  c->pend_len = 0;
  c->writing = 0;
  c->send_after_write = 0;
  c->expect_close = 0;
  c->in_flight = 0;
  ohets_tls_free(c->tls); /* after the socket: uv_write callbacks have run */
  c->tls = NULL;
  ohets_caqh_http_reader_free(c->http); /* the next connection reads afresh */
  c->http = NULL;
  w->closing--;
  if (!w->running || w->finished)
    return;
  if (c->send_when_up) {
    start_connect(c);
  } else if (!w->stopping && !open_loop(w) && c->retry_ns <= uv_hrtime()) {
    start_connect(c);
  }
  check_finish(w);
}

/* Closes the socket; a closed-loop socket reconnects after retry_ns. */
static void close_conn(conn *c, uint64_t retry_ns) {
  if (c->state == C_DOWN || c->state == C_CLOSING)
    return;
  if (c->state == C_HANDSHAKE)
    c->w->handshaking--;
  c->retry_ns = retry_ns;
  c->state = C_CLOSING;
  c->w->closing++;
  uv_close((uv_handle_t *)&c->tcp, on_closed);
}

/* The current request will get no answer. */
static void fail_request(conn *c) {
  worker *w = c->w;
  if (!c->outstanding)
    return;
  c->outstanding = 0;
  c->send_when_up = 0;
  w->outstanding--;
  count(&w->errors);
}

/* The socket refused a write: the request is lost, the socket closed (an
 * open-loop socket keeps its schedule). */
static void write_failed(conn *c) {
  worker *w = c->w;
  fail_request(c);
  close_conn(c, uv_hrtime());
  if (w->running && open_loop(w))
    open_arm(c);
  check_finish(w);
}

/* A TLS failure on c (handshake or record, or a socket that ended during
 * the handshake): noted (the first reason is printed at the end), one error
 * during the run (the request it lost, if any), the socket closed; it
 * reconnects after the back-off, as after a failed connect.  The engine's
 * alert for the server goes out if the socket takes it at once. */
static void tls_fail(conn *c, const char *why) {
  worker *w = c->w;
  w->tls_failures++;
  if (w->tls_error[0] == '\0') {
    /* A TLS 1.3 client's side of the handshake ends before the server has
     * checked its certificate: a refusal then fails a "record", but before
     * any answer it is the server's end of the handshake. */
    const char *phase = "";
    if (why == NULL || why[0] == '\0')
      why = "failed";
    if (!c->got_plain && strncmp(why, "record: ", 8) == 0) {
      phase = "handshake: ";
      why += 8;
    }
    int hint = w->run->cfg->cert == NULL && strstr(why, "alert") != NULL &&
               strstr(why, "certificate") != NULL;
    snprintf(w->tls_error, sizeof w->tls_error, "%s%s%s", phase, why,
             hint ? " (no client certificate was given: see --cert and --key)" : "");
  }
  if (w->running) {
    if (c->outstanding)
      fail_request(c);
    else
      count(&w->errors);
  }
  const void *p;
  size_t len;
  if (c->tls != NULL && c->in_flight == 0 && (len = ohets_tls_out(c->tls, &p)) > 0) {
    uv_buf_t b = uv_buf_init((char *)(uintptr_t)p, (unsigned)len);
    (void)uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
  }
  close_conn(c, uv_hrtime() + RECONNECT_BACKOFF_NS);
  if (w->running && open_loop(w))
    open_arm(c);
  check_finish(w);
}

static void on_tls_write(uv_write_t *req, int status);

/* --tls: sends the engine's pending ciphertext, at once while the socket
 * takes it, the rest through one uv_write, consumed in its callback (the
 * engine keeps those bytes in place until then).  0, or -1 when the socket
 * failed (c is closing). */
static int tls_flush(conn *c) {
  if (c->in_flight > 0)
    return 0; /* on_tls_write goes on */
  for (;;) {
    const void *p;
    size_t len = ohets_tls_out(c->tls, &p);
    if (len == 0)
      return 0;
    uv_buf_t b = uv_buf_init((char *)(uintptr_t)p, (unsigned)len);
    int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    if (n > 0 && (size_t)n == len) {
      ohets_tls_out_consume(c->tls, len);
      c->last_ns = uv_hrtime();
      continue;
    }
    if (n < 0 && n != UV_EAGAIN) {
      write_failed(c);
      return -1;
    }
    if (n > 0) {
      ohets_tls_out_consume(c->tls, (size_t)n);
      b.base += n;
      b.len -= (size_t)n;
    }
    c->wreq.data = c;
    if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_tls_write) != 0) {
      write_failed(c);
      return -1;
    }
    c->in_flight = b.len;
    return 0;
  }
}

static void on_tls_write(uv_write_t *req, int status) {
  conn *c = req->data;
  size_t sent = c->in_flight;
  c->in_flight = 0;
  if (c->state != C_UP && c->state != C_HANDSHAKE)
    return; /* closing: the engine goes with the socket */
  if (status < 0) {
    write_failed(c);
    return;
  }
  ohets_tls_out_consume(c->tls, sent);
  c->last_ns = uv_hrtime();
  (void)tls_flush(c);
}

static void on_write(uv_write_t *req, int status) {
  conn *c = req->data;
  c->writing = 0;
  if (c->state != C_UP)
    return;
  if (status < 0) {
    write_failed(c);
    return;
  }
  c->last_ns = uv_hrtime();
  if (c->send_after_write) {
    c->send_after_write = 0;
    send_next(c);
  }
}

/* --core: the current request copied into c->stamped with a fresh PayloadID
 * and TimeStamp (each send is a new request to CORE).  0, or -1 after the
 * request failed and c was closed. */
static int core_stamp(conn *c) {
  const ohets_load_reqs *reqs = c->w->run->reqs;
  if (c->stamped_cap < c->cur->len) {
    uint8_t *q = realloc(c->stamped, c->cur->len);
    if (q == NULL) {
      write_failed(c);
      return -1;
    }
    c->stamped = q;
    c->stamped_cap = c->cur->len;
  }
  memcpy(c->stamped, c->cur->bytes, c->cur->len);
  if (ohets_core_restamp(c->stamped, &c->w->run->cfg->stamps[c->cur - reqs->items],
                         c->payload_id) != 0) {
    write_failed(c);
    return -1;
  }
  return 0;
}

static void write_current(conn *c) {
  const uint8_t *bytes = c->cur->bytes;
  if (c->w->run->cfg->core) {
    if (core_stamp(c) != 0)
      return;
    bytes = c->stamped;
  }
  if (c->tls != NULL) {
    /* Encrypted into the engine's output (the one copy TLS needs), sent
     * from there. */
    int rc = ohets_tls_write(c->tls, bytes, c->cur->len);
    if (rc != 0) {
      const char *why = ohets_tls_error(c->tls);
      tls_fail(c, why[0] ? why : strerror(-rc));
      return;
    }
    (void)tls_flush(c);
    return;
  }
  uv_buf_t buf = uv_buf_init((char *)(uintptr_t)bytes, (unsigned)c->cur->len);
  int n = uv_try_write((uv_stream_t *)&c->tcp, &buf, 1);
  if (n == (int)c->cur->len) {
    c->last_ns = uv_hrtime();
    return;
  }
  if (n < 0 && n != UV_EAGAIN) {
    write_failed(c);
    return;
  }
  if (n > 0) {
    buf.base += n;
    buf.len -= (size_t)n;
  }
  c->wreq.data = c;
  c->writing = 1;
  if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &buf, 1, on_write) != 0) {
    c->writing = 0;
    write_failed(c);
  }
}

/* Sends the pool's next request on c (connecting first when needed). */
static void do_send(conn *c, uint64_t ticket) {
  worker *w = c->w;
  const ohets_load_reqs *reqs = w->run->reqs;
  c->cur = &reqs->items[ticket % reqs->n];
  c->outstanding = 1;
  w->outstanding++;
  c->sent_ns = uv_hrtime();
  if (c->state == C_UP) {
    write_current(c);
    return;
  }
  c->send_when_up = 1;
  if (c->state == C_DOWN)
    start_connect(c);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  (void)hint;
  conn *c = h->data;
  /* One buffer per thread: a read is handled before the next is made. */
  *buf = uv_buf_init((char *)c->w->rbuf, sizeof c->w->rbuf);
}

static int hets_closing_code(const ohets_load_answer *a) {
  return a->kind == OHETS_ANSWER_HETS &&
         (strcmp(a->hets_code, "HTS00001") == 0 || strcmp(a->hets_code, "HTS00002") == 0 ||
          strcmp(a->hets_code, "HTS00003") == 0);
}

/* --core: one more error under key. */
static void core_error_add(worker *w, const char *key) {
  unsigned i = 0;
  while (i < w->n_core_keys && strcmp(w->core_key[i], key) != 0)
    i++;
  if (i == w->n_core_keys) {
    if (i == CORE_ERROR_KEYS)
      i--; /* the last slot is "other" once the table is full */
    else
      w->n_core_keys++;
    snprintf(w->core_key[i], sizeof w->core_key[i], "%s",
             i == CORE_ERROR_KEYS - 1 ? "other" : key);
  }
  w->core_n[i]++;
}

/* One whole answer arrived: its payload, or with --core, core_error (the
 * key of an envelope or HTTP error; payload NULL).  server_closes: the
 * server said it closes after it.  0 to keep reading, -1 when c was
 * closed. */
static int on_answer(conn *c, const uint8_t *payload, size_t len, const char *core_error,
                     int server_closes) {
  worker *w = c->w;
  uint64_t now = uv_hrtime();
  ohets_load_answer a;
  if (!c->outstanding) { /* nothing asked: the server is out of step */
    count(&w->errors);
    close_conn(c, now);
    return -1;
  }
  uint64_t from = c->sent_ns;
  if (open_loop(w) && c->due_ns < from)
    from = c->due_ns; /* behind schedule: the wait counts */
  c->outstanding = 0;
  w->outstanding--;
  int closes = server_closes;
  if (core_error != NULL) {
    count(&w->errors);
    core_error_add(w, core_error);
  } else if (ohets_load_classify(payload, len, &a) != 0) {
    count(&w->errors);
  } else {
    ohets_load_hist_record(w->hist, now - from);
    count(&w->requests);
    ohets_load_tput_add(&w->tput, now - w->run->start_ns);
    w->answers[a.kind]++;
    for (unsigned i = 0; i < a.n_aaa; i++) {
      int slot = ohets_load_aaa_slot(a.aaa[i]);
      if (slot >= 0)
        w->aaa[slot]++;
    }
    closes |= hets_closing_code(&a);
  }
  if (closes) {
    c->expect_close = 1; /* the server closes after these: start afresh */
    close_conn(c, now);
    if (open_loop(w))
      open_arm(c);
    check_finish(w);
    return -1;
  }
  if (w->run->cfg->new_conn) {
    /* The next request goes on a connection of its own (its latency
     * counts the connect and the handshake). */
    close_conn(c, now);
    if (open_loop(w))
      open_arm(c);
    else
      send_next(c);
    check_finish(w);
    return -1;
  }
  if (open_loop(w))
    open_arm(c);
  else if (c->writing)
    c->send_after_write = 1;
  else
    send_next(c);
  check_finish(w);
  return c->state == C_UP ? 0 : -1;
}

static int pend_append(conn *c, const uint8_t *p, size_t n) {
  if (c->pend_len + n > MAX_ANSWER_BYTES + OHETS_FRAME_OVERHEAD)
    return -ENOBUFS;
  if (c->pend_len + n > c->pend_cap) {
    size_t cap = c->pend_cap ? c->pend_cap : 4096;
    while (cap < c->pend_len + n)
      cap *= 2;
    uint8_t *q = realloc(c->pend, cap);
    if (q == NULL)
      return -ENOMEM;
    c->pend = q;
    c->pend_cap = cap;
  }
  memcpy(c->pend + c->pend_len, p, n);
  c->pend_len += n;
  return 0;
}

static void on_eof_or_error(conn *c, ssize_t nread) {
  worker *w = c->w;
  uint64_t now = uv_hrtime();
  if (c->expect_close && nread == UV_EOF) {
    /* announced by an HTS0000n record */
  } else if (c->outstanding) {
    fail_request(c);
    count(&w->closes);
  } else if (w->stopping) {
    /* the run is over */
  } else if (open_loop(w) && now - c->last_ns >= IDLE_CLOSE_NS) {
    /* the server's idle timer between two widely spaced sends */
  } else {
    count(&w->closes);
    if (nread != UV_EOF)
      count(&w->errors);
  }
  close_conn(c, now);
  if (open_loop(w) && !w->stopping)
    open_arm(c);
  check_finish(w);
}

/* A bad wrapper, an unreadable or oversized answer from the server: the
 * request lost, the socket closed.  Returns -1 (c was closed). */
static int protocol_failure(conn *c) {
  worker *w = c->w;
  if (c->outstanding)
    fail_request(c);
  else
    count(&w->errors);
  close_conn(c, uv_hrtime());
  if (open_loop(w))
    open_arm(c);
  check_finish(w);
  return -1;
}

/* --core: an answer that is not what the door should send; the first
 * reason is said at the end. */
static int core_unreadable(conn *c, const char *why) {
  worker *w = c->w;
  w->core_unreadable++;
  if (w->core_error[0] == '\0')
    snprintf(w->core_error, sizeof w->core_error, "%s", why);
  return protocol_failure(c);
}

/* --core: one whole HTTP response. */
static int on_core_answer(conn *c, const ohets_caqh_http_msg *msg) {
  const load_cfg *cfg = c->w->run->cfg;
  ohets_core_result r;
  char err[200];
  int rc;
  ohets_core_result_init(&r);
  if (!c->outstanding) {
    rc = on_answer(c, NULL, 0, NULL, 0); /* unasked: counted and closed there */
  } else if (ohets_core_read_response(cfg->core, msg, c->payload_id, &r, err, sizeof err) != 0) {
    rc = core_unreadable(c, err);
  } else if (r.ok) {
    size_t n = 0;
    const char *p = ohets_caqh_envelope_trimmed(&r.env, OHETS_CAQH_PAYLOAD, &n);
    rc = on_answer(c, (const uint8_t *)p, n, NULL, !msg->keep_alive);
  } else {
    ohets_core_error_key(&r, err, sizeof err);
    rc = on_answer(c, NULL, 0, err, !msg->keep_alive);
  }
  ohets_core_result_clear(&r);
  return rc;
}

/* --core: plaintext appended to c->pend, where the HTTP reader looks for
 * whole responses.  0, or -1 when c was closed. */
static int take_http(conn *c, const uint8_t *buf, size_t n) {
  if (pend_append(c, buf, n) != 0)
    return core_unreadable(c, "an answer larger than 1 MiB");
  for (;;) {
    ohets_caqh_http_msg msg;
    size_t consumed = 0;
    memset(&msg, 0, sizeof msg);
    ohets_caqh_http_status st =
        ohets_caqh_http_reader_next(c->http, c->pend, c->pend_len, &consumed, &msg);
    if (st == OHETS_CAQH_HTTP_NEED_MORE)
      return 0;
    if (st == OHETS_CAQH_HTTP_ERROR) {
      char why[200];
      snprintf(why, sizeof why, "the answer is not HTTP/1.1: %s", msg.error);
      ohets_caqh_http_msg_clear(&msg);
      return core_unreadable(c, why);
    }
    memmove(c->pend, c->pend + consumed, c->pend_len - consumed);
    c->pend_len -= consumed;
    int rc = on_core_answer(c, &msg);
    ohets_caqh_http_msg_clear(&msg);
    if (rc != 0)
      return -1;
    if (c->pend_len == 0)
      return 0;
  }
}

/* Plaintext in buf (the thread's read buffer, or what the engine
 * decrypted): whole answers are handled straight from it, a partial one is
 * kept in c->pend.  0, or -1 when c was closed. */
static int take_plain(conn *c, const uint8_t *buf, size_t n) {
  const uint8_t *data;
  size_t len, off = 0;
  if (c->http != NULL)
    return take_http(c, buf, n);
  if (c->pend_len == 0) {
    data = buf; /* the common case: whole answers straight from the read */
    len = n;
  } else {
    if (pend_append(c, buf, n) != 0)
      goto protocol_error;
    data = c->pend;
    len = c->pend_len;
  }
  for (;;) {
    ohets_frame fr;
    ohets_frame_status st = ohets_frame_next(&c->dec, data + off, len - off, &fr);
    if (st == OHETS_FRAME_NEED_MORE)
      break;
    if (st == OHETS_FRAME_ERROR)
      goto protocol_error;
    if (on_answer(c, data + off + fr.payload_off, fr.payload_len, NULL, 0) != 0)
      return -1;
    off += fr.frame_len;
  }
  if (data == buf) {
    if (off < len && pend_append(c, data + off, len - off) != 0)
      goto protocol_error;
  } else if (off > 0) {
    memmove(c->pend, c->pend + off, len - off);
    c->pend_len = len - off;
  }
  return 0;

protocol_error:
  return protocol_failure(c);
}

static void conn_ready(conn *c);

/* --tls: the handshake is over (as the client sees it). */
static void handshake_done(conn *c) {
  worker *w = c->w;
  w->handshaking--;
  c->state = C_UP;
  if (w->running) {
    w->handshakes++;
    ohets_load_hist_record(w->hs_hist, uv_hrtime() - c->hs_ns);
    if (ohets_tls_resumed(c->tls))
      w->resumed++;
  }
  conn_ready(c);
}

/* --tls: n bytes of ciphertext in the thread's read buffer.  The engine
 * drives the handshake and decrypts into the thread's plaintext buffer;
 * what it has to send (handshake records, with the request that may follow
 * the handshake at once) goes out after. */
static void tls_read(conn *c, size_t n) {
  worker *w = c->w;
  if (ohets_tls_feed(c->tls, w->rbuf, n) != 0) {
    tls_fail(c, "out of memory for ciphertext");
    return;
  }
  for (;;) {
    long got = ohets_tls_read(c->tls, w->pbuf, sizeof w->pbuf);
    if (c->state == C_HANDSHAKE && ohets_tls_handshake_done(c->tls)) {
      handshake_done(c);
      if (c->state != C_UP)
        return;
    }
    if (got > 0) {
      c->got_plain = 1;
      if (take_plain(c, w->pbuf, (size_t)got) != 0)
        return;
      continue;
    }
    if (got == OHETS_TLS_EFAIL) {
      tls_fail(c, ohets_tls_error(c->tls));
      return;
    }
    if (got == OHETS_TLS_EOF) { /* close_notify: as a FIN */
      on_eof_or_error(c, UV_EOF);
      return;
    }
    break;
  }
  (void)tls_flush(c);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  conn *c = s->data;
  (void)buf;
  if (nread == 0)
    return;
  if (nread < 0) {
    if (c->state == C_HANDSHAKE) {
      char why[120];
      snprintf(why, sizeof why, "handshake: %s",
               nread == UV_EOF ? "the server closed the connection (is it a TLS listener?)"
                               : uv_strerror((int)nread));
      tls_fail(c, why);
    } else {
      on_eof_or_error(c, nread);
    }
    return;
  }
  c->last_ns = uv_hrtime();
  if (c->tls != NULL)
    tls_read(c, (size_t)nread);
  else
    (void)take_plain(c, c->w->rbuf, (size_t)nread);
}

/* Connected (and with --tls, the handshake done): the first request, or
 * before the run, counted as ready. */
static void conn_ready(conn *c) {
  worker *w = c->w;
  if (!w->running) {
    w->connected_at_start++;
    c->was_up = 1;
  } else if (c->send_when_up) {
    c->send_when_up = 0;
    write_current(c);
  } else if (!open_loop(w)) {
    send_next(c);
  }
}

/* --tls: the TCP connection is up; the ClientHello goes out. */
static void start_handshake(conn *c) {
  worker *w = c->w;
  const load_cfg *cfg = w->run->cfg;
  c->state = C_HANDSHAKE;
  w->handshaking++;
  c->hs_ns = uv_hrtime();
  c->got_plain = 0;
  c->tls = ohets_tls_new(cfg->tls_ctx);
  if (c->tls == NULL) {
    tls_fail(c, "out of memory");
    return;
  }
  if (ohets_tls_set_host(c->tls, cfg->host) != 0) {
    tls_fail(c, "-H cannot be checked against a certificate");
    return;
  }
  if (ohets_tls_connect(c->tls) != 0) {
    tls_fail(c, ohets_tls_error(c->tls));
    return;
  }
  (void)tls_flush(c);
}

static void on_connect(uv_connect_t *req, int status) {
  conn *c = req->data;
  worker *w = c->w;
  w->connecting--;
  if (c->state != C_CONNECTING)
    return; /* closed meanwhile (timeout or end of run) */
  if (status < 0) {
    if (w->running) {
      if (c->outstanding)
        fail_request(c);
      else
        count(&w->errors);
    }
    c->send_when_up = 0;
    close_conn(c, uv_hrtime() + RECONNECT_BACKOFF_NS);
    if (w->running && open_loop(w))
      open_arm(c);
    check_finish(w);
    return;
  }
  c->last_ns = uv_hrtime();
  uv_tcp_nodelay(&c->tcp, 1);
  ohets_frame_decoder_init(&c->dec,
                           w->run->cfg->unwrapped ? OHETS_FRAMING_AUTO : OHETS_FRAMING_HETS,
                           MAX_ANSWER_BYTES);
  if ((w->run->cfg->core &&
       ohets_caqh_http_reader_new(&c->http, 1, MAX_ANSWER_BYTES) != 0) ||
      uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
    if (c->outstanding)
      fail_request(c);
    close_conn(c, uv_hrtime() + RECONNECT_BACKOFF_NS);
    return;
  }
  if (w->run->cfg->tls_ctx != NULL) {
    start_handshake(c);
    return;
  }
  c->state = C_UP;
  conn_ready(c);
}

static void start_connect(conn *c) {
  worker *w = c->w;
  int rc = uv_tcp_init(&w->loop, &c->tcp);
  if (rc != 0)
    goto fail;
  c->tcp.data = c;
  c->creq.data = c;
  c->state = C_CONNECTING;
  rc = uv_tcp_connect(&c->creq, &c->tcp, (const struct sockaddr *)&w->run->cfg->addr,
                      on_connect);
  if (rc != 0) {
    /* e.g. out of descriptors: the handle exists, close it */
    c->state = C_UP; /* let close_conn act */
    close_conn(c, uv_hrtime() + RECONNECT_BACKOFF_NS);
    if (w->running) {
      if (c->outstanding)
        fail_request(c);
      else
        count(&w->errors);
    }
    return;
  }
  w->connecting++;
  return;
fail:
  if (w->running) {
    if (c->outstanding)
      fail_request(c);
    else
      count(&w->errors);
  }
  c->retry_ns = uv_hrtime() + RECONNECT_BACKOFF_NS;
}

/* ---------------------------------------------------------------- schedule */

static int should_stop(worker *w) {
  if (!w->stopping &&
      (atomic_load_explicit(&g_interrupted, memory_order_relaxed) ||
       (w->run->deadline_ns != 0 && uv_hrtime() >= w->run->deadline_ns)))
    w->stopping = 1;
  return w->stopping;
}

/* One ticket per request over all threads: its number picks the request
 * (an exact round-robin over the pool) and -n stops at the limit. */
static int take_ticket(worker *w, uint64_t *ticket) {
  uint64_t limit = w->run->cfg->count;
  *ticket = atomic_fetch_add_explicit(&w->run->issued, 1, memory_order_relaxed);
  if (limit == 0 || *ticket < limit)
    return 1;
  w->stopping = 1;
  return 0;
}

/* Closed loop: the next request on c, unless the run is over. */
static void send_next(conn *c) {
  worker *w = c->w;
  uint64_t ticket;
  if (should_stop(w) || !take_ticket(w, &ticket)) {
    check_finish(w);
    return;
  }
  do_send(c, ticket);
}

static void on_conn_timer(uv_timer_t *t) { open_arm(t->data); }

/* Open loop: sends c's next request when it is due (within a millisecond)
 * or sets its timer.  A socket still waiting for an answer sends when the
 * answer arrives; its latency then counts from due_ns. */
static void open_arm(conn *c) {
  worker *w = c->w;
  if (c->outstanding || w->finished)
    return;
  if (should_stop(w)) {
    check_finish(w);
    return;
  }
  uint64_t now = uv_hrtime();
  if (c->sched_ns > now + 1000000u) {
    uv_timer_start(&c->timer, on_conn_timer, (c->sched_ns - now) / 1000000u, 0);
    return;
  }
  uint64_t ticket;
  if (!take_ticket(w, &ticket)) {
    check_finish(w);
    return;
  }
  c->due_ns = c->sched_ns;
  c->sched_ns += w->run->step_ns * w->run->cfg->conns;
  do_send(c, ticket);
}

static void on_handle_closed(uv_handle_t *h) { (void)h; }

/* When the run is over and no answer is awaited, close everything so
 * the loop ends. */
static void check_finish(worker *w) {
  if (!w->running || w->finished || !w->stopping || w->outstanding != 0)
    return;
  w->finished = 1;
  w->finish_ns = uv_hrtime();
  for (unsigned i = 0; i < w->nconns; i++) {
    conn *c = &w->conns[i];
    if (conn_open(c))
      close_conn(c, 0);
    if (open_loop(w))
      uv_close((uv_handle_t *)&c->timer, on_handle_closed);
  }
  uv_close((uv_handle_t *)&w->tick, on_handle_closed);
}

static void on_tick(uv_timer_t *t) {
  worker *w = t->data;
  uint64_t now = uv_hrtime();
  uint64_t timeout_ns = (uint64_t)(w->run->cfg->timeout_s * 1e9);
  for (unsigned i = 0; i < w->nconns && !w->finished; i++) {
    conn *c = &w->conns[i];
    if (c->outstanding && now - c->sent_ns > timeout_ns) {
      fail_request(c); /* no answer in time */
      if (conn_open(c))
        close_conn(c, now);
      if (open_loop(w))
        open_arm(c);
    } else if (c->state == C_HANDSHAKE && now - c->hs_ns > timeout_ns) {
      tls_fail(c, "handshake: not finished within --timeout");
    } else if (!open_loop(w) && c->state == C_DOWN && !w->stopping && c->retry_ns <= now) {
      start_connect(c);
    }
  }
  should_stop(w);
  check_finish(w);
}

static void on_connect_timeout(uv_timer_t *t) {
  worker *w = t->data;
  for (unsigned i = 0; i < w->nconns; i++) {
    conn *c = &w->conns[i];
    if (c->state == C_CONNECTING)
      close_conn(c, 0);
    else if (c->state == C_HANDSHAKE)
      tls_fail(c, "handshake: not finished within --timeout");
  }
}

static void *worker_main(void *arg) {
  worker *w = arg;
  run_state *run = w->run;
  const load_cfg *cfg = run->cfg;

  /* Phase 1: connect every socket (bounded by the timeout). */
  uv_timer_init(&w->loop, &w->tick);
  w->tick.data = w;
  for (unsigned i = 0; i < w->nconns; i++) {
    conn *c = &w->conns[i];
    if (open_loop(w)) {
      uv_timer_init(&w->loop, &c->timer);
      c->timer.data = c;
    }
    start_connect(c);
  }
  uv_timer_start(&w->tick, on_connect_timeout, (uint64_t)(cfg->timeout_s * 1000), 0);
  while (w->connecting > 0 || w->handshaking > 0 || w->closing > 0)
    uv_run(&w->loop, UV_RUN_ONCE);
  uv_timer_stop(&w->tick);
  if (cfg->new_conn) {
    /* These showed the server answers (and takes our TLS); each request
     * of the run opens its own. */
    for (unsigned i = 0; i < w->nconns; i++)
      if (conn_open(&w->conns[i]))
        close_conn(&w->conns[i], 0);
    while (w->closing > 0)
      uv_run(&w->loop, UV_RUN_ONCE);
  }

  pthread_barrier_wait(&run->barrier); /* all threads connected */
  pthread_barrier_wait(&run->barrier); /* main has set the start time */

  w->running = 1;
  if (atomic_load(&run->abort)) {
    w->stopping = 1;
  } else {
    for (unsigned i = 0; i < w->nconns; i++) {
      conn *c = &w->conns[i];
      if (open_loop(w)) {
        c->sched_ns = run->start_ns + (uint64_t)c->id * run->step_ns;
        open_arm(c);
      } else if (c->state == C_UP || (cfg->new_conn && c->was_up)) {
        send_next(c);
      } else {
        c->retry_ns = run->start_ns + RECONNECT_BACKOFF_NS;
      }
    }
    uv_timer_start(&w->tick, on_tick, TICK_MS, TICK_MS);
  }
  check_finish(w);
  uv_run(&w->loop, UV_RUN_DEFAULT);
  if (!w->finished)
    w->finish_ns = uv_hrtime();
  atomic_fetch_add(&run->threads_done, 1);
  return NULL;
}

/* ---------------------------------------------------------------- idle check */

typedef struct probe {
  uv_tcp_t tcp;
  uv_connect_t creq;
  uv_write_t wreq;
  const ohets_load_req *req; /* NULL: bare connect */
  ohets_frame_decoder dec;
  ohets_buf in;
  uint64_t mark_ns; /* answer read, or connected */
  int answered;
  int done;
  int open;
  long result_ms; /* -1: not measured */
  const char *failure;
} probe;

static void probe_close(probe *p) {
  if (p->open) {
    p->open = 0;
    uv_close((uv_handle_t *)&p->tcp, on_handle_closed);
  }
}

static void probe_finish(probe *p, const char *failure) {
  if (p->done)
    return;
  p->done = 1;
  p->failure = failure;
  probe_close(p);
}

static void probe_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  static uint8_t chunk[READ_CHUNK]; /* one loop thread */
  (void)h;
  (void)hint;
  *buf = uv_buf_init((char *)chunk, sizeof chunk);
}

static void probe_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  probe *p = s->data;
  if (nread == 0)
    return;
  if (nread < 0) {
    if (p->req != NULL && !p->answered) {
      probe_finish(p, "the server closed the socket before answering");
    } else { /* a close or a reset: either ends the idle socket */
      p->result_ms = (long)((uv_hrtime() - p->mark_ns + 500000u) / 1000000u);
      probe_finish(p, NULL);
    }
    return;
  }
  if (p->req == NULL || p->answered)
    return; /* unasked bytes: keep waiting for the close */
  if (ohets_buf_append(&p->in, buf->base, (size_t)nread) != 0) {
    probe_finish(p, "answer too large");
    return;
  }
  ohets_frame fr;
  ohets_frame_status st = ohets_frame_next(&p->dec, p->in.data, p->in.len, &fr);
  if (st == OHETS_FRAME_ERROR) {
    probe_finish(p, "bad wrapper in the answer");
  } else if (st == OHETS_FRAME_READY) {
    p->answered = 1;
    p->mark_ns = uv_hrtime();
  }
}

static void probe_connected(uv_connect_t *req, int status) {
  probe *p = req->data;
  if (p->done)
    return;
  if (status < 0) {
    probe_finish(p, uv_strerror(status));
    return;
  }
  p->mark_ns = uv_hrtime();
  if (uv_read_start((uv_stream_t *)&p->tcp, probe_alloc, probe_read) != 0) {
    probe_finish(p, "cannot read");
    return;
  }
  if (p->req != NULL) {
    uv_buf_t b = uv_buf_init((char *)p->req->bytes, (unsigned)p->req->len);
    if (uv_write(&p->wreq, (uv_stream_t *)&p->tcp, &b, 1, NULL) != 0)
      probe_finish(p, "cannot send");
  }
}

static void probe_timeout(uv_timer_t *t) {
  probe *ps = t->data;
  for (int i = 0; i < 2; i++)
    probe_finish(&ps[i], "no close within the time limit");
}

static int run_idle_check(const load_cfg *cfg, const ohets_load_reqs *reqs) {
  uv_loop_t loop;
  uv_timer_t limit;
  probe ps[2];
  double limit_s = cfg->timeout_given ? cfg->timeout_s : 60.0;
  int status = 0;

  memset(ps, 0, sizeof ps);
  uv_loop_init(&loop);
  for (int i = 0; i < 2; i++) {
    probe *p = &ps[i];
    p->req = i == 0 ? &reqs->items[0] : NULL;
    p->result_ms = -1;
    ohets_buf_init(&p->in, MAX_ANSWER_BYTES + OHETS_FRAME_OVERHEAD);
    ohets_frame_decoder_init(&p->dec, cfg->unwrapped ? OHETS_FRAMING_AUTO : OHETS_FRAMING_HETS,
                             MAX_ANSWER_BYTES);
    uv_tcp_init(&loop, &p->tcp);
    p->open = 1;
    p->tcp.data = p;
    p->creq.data = p;
    p->wreq.data = p;
    int rc = uv_tcp_connect(&p->creq, &p->tcp, (const struct sockaddr *)&cfg->addr,
                            probe_connected);
    if (rc != 0)
      probe_finish(p, uv_strerror(rc));
  }
  uv_timer_init(&loop, &limit);
  limit.data = ps;
  uv_timer_start(&limit, probe_timeout, (uint64_t)(limit_s * 1000), 0);
  uv_unref((uv_handle_t *)&limit); /* the probes alone keep the loop going */
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_close((uv_handle_t *)&limit, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);

  for (int i = 0; i < 2; i++)
    if (ps[i].failure != NULL) {
      err_line("idle check (%s): %s", i == 0 ? "after answer" : "after bare connect",
               ps[i].failure);
      status = EXIT_FAILED;
    }
  if (cfg->json) {
    json_t *o = json_object();
    json_object_set_new(o, "idle_after_answer_ms",
                        ps[0].result_ms >= 0 ? json_integer(ps[0].result_ms) : json_null());
    json_object_set_new(o, "idle_after_connect_ms",
                        ps[1].result_ms >= 0 ? json_integer(ps[1].result_ms) : json_null());
    json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
    json_decref(o);
  } else if (status == 0) {
    printf("idle after answer: %ld ms, after bare connect: %ld ms\n", ps[0].result_ms,
           ps[1].result_ms);
  }
  for (int i = 0; i < 2; i++)
    ohets_buf_free(&ps[i].in);
  return status;
}

/* ---------------------------------------------------------------- reports */

static void merge_hists(worker *ws, unsigned n, ohets_load_hist *out) {
  ohets_load_hist_init(out);
  for (unsigned i = 0; i < n; i++)
    ohets_load_hist_merge(out, ws[i].hist);
}

static uint64_t sum_counter(worker *ws, unsigned n, size_t offset) {
  uint64_t total = 0;
  for (unsigned i = 0; i < n; i++)
    total += atomic_load_explicit((_Atomic uint64_t *)((char *)&ws[i] + offset),
                                  memory_order_relaxed);
  return total;
}

#define SUM(ws, n, field) sum_counter(ws, n, offsetof(worker, field))

static uint64_t us(uint64_t ns) { return (ns + 500u) / 1000u; }

/* Live display on a terminal: one line, rewritten about 4 times a second. */
static void progress_loop(run_state *run, worker *ws, unsigned n, ohets_load_hist *scratch) {
  uint64_t last_req = 0, last_ns = run->start_ns;
  while (atomic_load(&run->threads_done) < n) {
    struct timespec ts = {0, 250000000};
    nanosleep(&ts, NULL);
    uint64_t now = uv_hrtime();
    uint64_t req = SUM(ws, n, requests);
    uint64_t errs = SUM(ws, n, errors);
    merge_hists(ws, n, scratch);
    double dt = (double)(now - last_ns) / 1e9;
    double tps = dt > 0 ? (double)(req - last_req) / dt : 0;
    fprintf(stderr, "\r\033[K%7.1f s  %10llu requests  %9.0f tps  p99 %8.2f ms  %llu errors",
            (double)(now - run->start_ns) / 1e9, (unsigned long long)req, tps,
            (double)ohets_load_hist_percentile(scratch, 99) / 1e6, (unsigned long long)errs);
    fflush(stderr);
    last_req = req;
    last_ns = now;
  }
  fputs("\r\033[K", stderr);
  fflush(stderr);
}

static double round_to(double v, double unit) { return round(v / unit) * unit; }

/* A run's figures, summed over the workers. */
typedef struct totals {
  double seconds, tps;
  uint64_t requests, errors, closes;
  uint64_t answers[4];
  uint64_t aaa[OHETS_LOAD_AAA_SLOTS];
  uint64_t lat[5]; /* p50, p90, p99, p99.9, max in us */
  uint64_t handshakes, resumed, tls_failures; /* --tls */
  uint64_t hs_lat[2];                         /* handshake p50, p99 in us */
  json_t *core_errors;                        /* --core: {key: count} */
  uint64_t core_unreadable;
} totals;

static void sum_totals(worker *ws, unsigned n, double seconds, const ohets_load_hist *h,
                       totals *t) {
  memset(t, 0, sizeof *t);
  for (unsigned i = 0; i < n; i++) {
    for (int k = 0; k < 4; k++)
      t->answers[k] += ws[i].answers[k];
    for (int s = 0; s < OHETS_LOAD_AAA_SLOTS; s++)
      t->aaa[s] += ws[i].aaa[s];
  }
  t->requests = SUM(ws, n, requests);
  t->errors = SUM(ws, n, errors);
  t->closes = SUM(ws, n, closes);
  t->seconds = seconds;
  t->tps = seconds > 0 ? (double)t->requests / seconds : 0;
  static const double pcts[] = {50, 90, 99, 99.9};
  for (int i = 0; i < 4; i++)
    t->lat[i] = us(ohets_load_hist_percentile(h, pcts[i]));
  t->lat[4] = us(ohets_load_hist_max(h));
  for (unsigned i = 0; i < n; i++) {
    t->handshakes += ws[i].handshakes;
    t->resumed += ws[i].resumed;
    t->tls_failures += ws[i].tls_failures;
    t->core_unreadable += ws[i].core_unreadable;
  }
}

/* --core: the threads' error tables in one object. */
static json_t *sum_core_errors(const worker *ws, unsigned n) {
  json_t *o = json_object();
  for (unsigned i = 0; i < n; i++)
    for (unsigned k = 0; k < ws[i].n_core_keys; k++) {
      json_t *v = json_object_get(o, ws[i].core_key[k]);
      json_int_t prev = v ? json_integer_value(v) : 0;
      json_object_set_new(o, ws[i].core_key[k],
                          json_integer(prev + (json_int_t)ws[i].core_n[k]));
    }
  return o;
}

/* --tls: the handshake percentiles over every thread. */
static void sum_handshakes(worker *ws, unsigned n, totals *t) {
  ohets_load_hist *h = malloc(sizeof *h);
  if (h == NULL)
    return;
  ohets_load_hist_init(h);
  for (unsigned i = 0; i < n; i++)
    ohets_load_hist_merge(h, ws[i].hs_hist);
  t->hs_lat[0] = us(ohets_load_hist_percentile(h, 50));
  t->hs_lat[1] = us(ohets_load_hist_percentile(h, 99));
  free(h);
}

/* The summary as the JSON object --json prints (and --report shows). */
static json_t *summary_json(const load_cfg *cfg, const totals *t) {
  static const char *const pnames[] = {"p50", "p90", "p99", "p999"};
  json_t *o = json_object(), *l = json_object(), *an = json_object(), *aa = json_object();
  json_object_set_new(o, "connections", json_integer(cfg->conns));
  json_object_set_new(o, "seconds", json_real(round_to(t->seconds, 0.001)));
  json_object_set_new(o, "requests", json_integer((json_int_t)t->requests));
  json_object_set_new(o, "tps", json_real(round_to(t->tps, 0.1)));
  for (int i = 0; i < 4; i++)
    json_object_set_new(l, pnames[i], json_integer((json_int_t)t->lat[i]));
  json_object_set_new(l, "max", json_integer((json_int_t)t->lat[4]));
  json_object_set_new(o, "latency_us", l);
  for (int k = 0; k < 4; k++)
    json_object_set_new(an, ohets_answer_name((ohets_answer)k),
                        json_integer((json_int_t)t->answers[k]));
  json_object_set_new(o, "answers", an);
  for (int s = 0; s < OHETS_LOAD_AAA_SLOTS; s++)
    if (t->aaa[s] != 0) {
      char code[3];
      ohets_load_aaa_code(s, code);
      json_object_set_new(aa, code, json_integer((json_int_t)t->aaa[s]));
    }
  json_object_set_new(o, "aaa", aa);
  json_object_set_new(o, "errors", json_integer((json_int_t)t->errors));
  json_object_set_new(o, "unexpected_closes", json_integer((json_int_t)t->closes));
  /* Only with the options that make them: the keys above are unchanged. */
  if (cfg->tls) {
    json_t *hs = json_object();
    json_object_set_new(o, "handshakes", json_integer((json_int_t)t->handshakes));
    json_object_set_new(hs, "p50", json_integer((json_int_t)t->hs_lat[0]));
    json_object_set_new(hs, "p99", json_integer((json_int_t)t->hs_lat[1]));
    json_object_set_new(o, "handshake_us", hs);
    if (cfg->resume)
      json_object_set_new(o, "resumed", json_integer((json_int_t)t->resumed));
  }
  if (cfg->new_conn)
    json_object_set_new(o, "new_conn", json_true());
  if (cfg->core)
    json_object_set(o, "core_errors", t->core_errors ? t->core_errors : json_object());
  return o;
}

/* --json: one object on one line. */
static void report_json(const json_t *o) {
  json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
  fputc('\n', stdout);
}

/* The summary in lines of text. */
static void report_text(const load_cfg *cfg, const totals *t) {
  printf("%s:%u  %u connections  %s%s%s%s  %.3f s\n", cfg->host, cfg->port, cfg->conns,
         cfg->rate > 0 ? "open loop" : "closed loop", cfg->tls ? "  TLS" : "",
         cfg->core == OHETS_CORE_SOAP   ? "  CORE SOAP"
         : cfg->core == OHETS_CORE_MIME ? "  CORE MIME"
                                        : "",
         cfg->new_conn ? "  new connection per request" : "", t->seconds);
  if (cfg->rate > 0)
    printf("target     %.1f requests/s\n", cfg->rate);
  printf("requests   %llu  (%.1f tps)\n", (unsigned long long)t->requests, t->tps);
  printf("latency    p50 %llu us  p90 %llu us  p99 %llu us  p99.9 %llu us  max %llu us\n",
         (unsigned long long)t->lat[0], (unsigned long long)t->lat[1],
         (unsigned long long)t->lat[2], (unsigned long long)t->lat[3],
         (unsigned long long)t->lat[4]);
  printf("answers    271 %llu  999 %llu  TA1 %llu  HETS %llu\n",
         (unsigned long long)t->answers[0], (unsigned long long)t->answers[1],
         (unsigned long long)t->answers[2], (unsigned long long)t->answers[3]);
  printf("aaa       ");
  int any = 0;
  for (int s = 0; s < OHETS_LOAD_AAA_SLOTS; s++)
    if (t->aaa[s] != 0) {
      char code[3];
      ohets_load_aaa_code(s, code);
      printf(" %s %llu", code, (unsigned long long)t->aaa[s]);
      any = 1;
    }
  printf("%s\n", any ? "" : " none");
  printf("errors     %llu  unexpected closes %llu\n", (unsigned long long)t->errors,
         (unsigned long long)t->closes);
  if (cfg->core) {
    const char *key;
    json_t *v;
    printf("core errors");
    json_object_foreach(t->core_errors, key, v)
      printf(" %s %lld", key, (long long)json_integer_value(v));
    printf("%s\n", json_object_size(t->core_errors) ? "" : " none");
  }
  if (cfg->tls) {
    printf("tls        handshakes %llu  p50 %llu us  p99 %llu us", (unsigned long long)t->handshakes,
           (unsigned long long)t->hs_lat[0], (unsigned long long)t->hs_lat[1]);
    if (cfg->resume)
      printf("  resumed %llu", (unsigned long long)t->resumed);
    putchar('\n');
  }
}

/* --tls: one stderr line when handshakes or records failed, with the first
 * reason (the summary counts them among the errors). */
static void report_tls_failures(const load_cfg *cfg, const worker *ws, unsigned n,
                                const totals *t) {
  if (t->tls_failures == 0)
    return;
  const char *first = "";
  for (unsigned i = 0; i < n && first[0] == '\0'; i++)
    first = ws[i].tls_error;
  err_line("tls %s:%u: %llu TLS connection%s failed; the first: %s", cfg->host, cfg->port,
           (unsigned long long)t->tls_failures, t->tls_failures == 1 ? "" : "s", first);
}

/* --core: one stderr line when answers could not be read, with the first
 * reason (the summary counts them among the errors). */
static void report_core_failures(const load_cfg *cfg, const worker *ws, unsigned n,
                                 const totals *t) {
  if (t->core_unreadable == 0)
    return;
  const char *first = "";
  for (unsigned i = 0; i < n && first[0] == '\0'; i++)
    first = ws[i].core_error;
  err_line("core %s:%u: %llu answer%s could not be read; the first: %s", cfg->host, cfg->port,
           (unsigned long long)t->core_unreadable, t->core_unreadable == 1 ? "" : "s", first);
}

/* The summary on stdout (and stderr's TLS and CORE lines), from t, which
 * it fills. */
static void report(const load_cfg *cfg, worker *ws, unsigned n, double seconds,
                   const ohets_load_hist *h, totals *t) {
  sum_totals(ws, n, seconds, h, t);
  if (cfg->tls)
    sum_handshakes(ws, n, t);
  if (cfg->core)
    t->core_errors = sum_core_errors(ws, n);
  report_tls_failures(cfg, ws, n, t);
  report_core_failures(cfg, ws, n, t);
  if (cfg->json) {
    json_t *o = summary_json(cfg, t);
    report_json(o);
    json_decref(o);
  } else {
    report_text(cfg, t);
  }
}

/* --report: the page, from what report() summed, the merged histogram and
 * the threads' answers per second.  0, or EXIT_FAILED after a line. */
static int report_html(const load_cfg *cfg, const ohets_load_reqs *reqs, worker *ws, unsigned n,
                       const totals *t, const ohets_load_hist *h, time_t started,
                       ohets_load_report_file *rf) {
  char err[256];
  ohets_load_tput *tput = malloc(sizeof *tput);
  json_t *o = summary_json(cfg, t);
  char *json = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
  json_decref(o);
  if (tput == NULL || json == NULL) {
    free(tput);
    free(json);
    ohets_load_report_discard(rf);
    err_line("--report %s: out of memory", cfg->report);
    return EXIT_FAILED;
  }
  ohets_load_tput_init(tput);
  for (unsigned i = 0; i < n; i++)
    ohets_load_tput_merge(tput, &ws[i].tput);
  const char *tls_error = "";
  for (unsigned i = 0; i < n && tls_error[0] == '\0'; i++)
    tls_error = ws[i].tls_error;

  ohets_load_report r;
  memset(&r, 0, sizeof r);
  r.argc = cfg->argc;
  r.argv = cfg->argv;
  r.host = cfg->host;
  r.port = cfg->port;
  r.conns = cfg->conns;
  r.threads = n;
  r.duration_s = cfg->seconds;
  r.count = cfg->count;
  r.rate = cfg->rate;
  r.timeout_s = cfg->timeout_s;
  r.tls = cfg->tls;
  r.new_conn = cfg->new_conn;
  r.resume = cfg->resume;
  r.unwrapped = cfg->unwrapped;
  r.cert = cfg->cert;
  r.ca = cfg->ca;
  r.files = cfg->files;
  r.nfiles = cfg->nfiles;
  r.db = cfg->db;
  memcpy(r.mix, cfg->mix, sizeof r.mix);
  r.hits = reqs->hits;
  r.misses = reqs->misses;
  r.malformed = reqs->malformed;
  r.submitter = cfg->submitter;
  r.npi = cfg->npi;
  r.started = started;
  r.seconds = t->seconds;
  r.tps = t->tps;
  r.requests = t->requests;
  r.errors = t->errors;
  r.closes = t->closes;
  memcpy(r.answers, t->answers, sizeof r.answers);
  r.aaa = t->aaa;
  memcpy(r.lat_us, t->lat, sizeof r.lat_us);
  r.handshakes = t->handshakes;
  r.resumed = t->resumed;
  memcpy(r.hs_lat_us, t->hs_lat, sizeof r.hs_lat_us);
  r.tls_failures = t->tls_failures;
  r.tls_error = tls_error;
  r.hist = h;
  r.tput = tput;
  r.json = json;
  fflush(stdout); /* the summary first, should FILE.html be stdout's pipe */
  int rc = ohets_load_report_commit(rf, &r, err, sizeof err);
  free(tput);
  free(json);
  if (rc != 0) {
    err_line("--report %s: %s", cfg->report, err);
    return EXIT_FAILED;
  }
  return 0;
}

/* ---------------------------------------------------------------- options */

static void usage(FILE *f) {
  fprintf(f,
          "usage: " PROG " [-H HOST] [-p PORT] [-c CONNS] [-d SECONDS | -n REQUESTS]\n"
          "                 [--rate PER_SEC] [--threads N] [--db PATH] [--mix HIT,MISS,BAD]\n"
          "                 [--submitter ID] [--npi NPI] [--unwrapped] [--timeout SECONDS]\n"
          "                 [--json] [--report FILE.html] [--idle-check] [--new-conn]\n"
          "                 [--tls [--cert FILE --key FILE] [--ca FILE] [--resume]] [FILES...]\n"
          "       " PROG " --core soap|mime --url https://HOST:PORT/PATH [--cert FILE --key FILE]\n"
          "                 [--ca FILE] [--user NAME] [the options above but -H, -p, --tls,\n"
          "                 --unwrapped, --idle-check] [FILES...]\n"
          "Load-tests a HETS 270/271 socket server.  Requests come from FILES (one\n"
          "interchange each, sent round-robin) or are drawn from the store at --db.\n"
          "  -H HOST            server (default 127.0.0.1)\n"
          "  -p PORT            port (default 5270)\n"
          "  -c CONNS           sockets (default 16)\n"
          "  -d SECONDS         run this long (default 10 when -n is not given)\n"
          "  -n REQUESTS        stop after exactly this many requests\n"
          "  --rate PER_SEC     open loop: this many requests/s over all sockets;\n"
          "                     latency counts from each request's scheduled time\n"
          "  --threads N        event-loop threads (default: cores, at most 4)\n"
          "  --db PATH          build hits, misses and malformed 270s from this store\n"
          "  --mix H,M,B        percent of hits, misses, malformed (default 80,15,5)\n"
          "  --submitter ID     ISA06/GS02 of built requests (default SUBMITTER01)\n"
          "  --npi NPI          provider NPI of built requests (default 1234567893)\n"
          "  --unwrapped        send bare X12 (raw listeners)\n"
          "  --timeout SECONDS  per request and per connect (default 10)\n"
          "  --json             summary as one JSON object\n"
          "  --report FILE.html also write a self-contained page: throughput over time,\n"
          "                     the latency percentile curve, the settings, the summary\n"
          "  --idle-check       measure how long the server keeps an idle socket\n"
          "  --new-conn         a new connection (with --tls: a full handshake) per request\n"
          "  --tls              talk TLS to a TLS listener\n"
          "  --cert F, --key F  client certificate and key (PEM)\n"
          "  --ca FILE          verify the server against this CA and -H (without it the\n"
          "                     server is NOT verified)\n"
          "  --resume           offer the last session ticket (resumed handshakes)\n"
          "  --core soap|mime   each request a SOAP 1.2 or multipart/form-data envelope\n"
          "                     POSTed to a CAQH CORE door (HTTPS, keep-alive, in order);\n"
          "                     --json adds core_errors {ErrorCode or http_NNN: count}\n"
          "  --url https://HOST:PORT/PATH   the door (TLS always: --cert, --key, --ca,\n"
          "                     --resume as with --tls)\n"
          "  --user NAME        --core: a UsernameToken (SOAP) or UserName/Password parts\n"
          "                     (MIME); the password from the environment variable\n"
          "                     " OHETS_CORE_PASSWORD_ENV "\n"
          "  --help, --version\n");
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *out) {
  char *end;
  if (s[0] < '0' || s[0] > '9')
    return -EINVAL;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0' || v > max)
    return -EINVAL;
  *out = v;
  return 0;
}

static int parse_positive(const char *s, double *out) {
  char *end;
  if (!((s[0] >= '0' && s[0] <= '9') || s[0] == '.'))
    return -EINVAL;
  errno = 0;
  double v = strtod(s, &end);
  if (errno != 0 || *end != '\0' || !(v > 0) || v > 1e9)
    return -EINVAL;
  *out = v;
  return 0;
}

static int parse_mix(const char *s, unsigned mix[3]) {
  unsigned long long v[3];
  char part[16];
  for (int i = 0; i < 3; i++) {
    const char *comma = strchr(s, ',');
    size_t n = (i < 2) ? (comma ? (size_t)(comma - s) : sizeof part) : strlen(s);
    if ((i < 2 && comma == NULL) || (i == 2 && comma != NULL) || n == 0 || n >= sizeof part)
      return -EINVAL;
    memcpy(part, s, n);
    part[n] = '\0';
    if (parse_uint(part, 100, &v[i]) != 0)
      return -EINVAL;
    s += n + (i < 2);
  }
  if (v[0] + v[1] + v[2] != 100)
    return -EINVAL;
  for (int i = 0; i < 3; i++)
    mix[i] = (unsigned)v[i];
  return 0;
}

static int resolve(load_cfg *cfg) {
  struct addrinfo hints, *res = NULL;
  char port[8];
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  snprintf(port, sizeof port, "%u", cfg->port);
  int rc = getaddrinfo(cfg->host, port, &hints, &res);
  if (rc != 0 || res == NULL) {
    err_line("%s: cannot resolve: %s", cfg->host, gai_strerror(rc));
    return -EINVAL;
  }
  memcpy(&cfg->addr, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  return 0;
}

/* Enough descriptors for every socket, plus a margin. */
static int raise_nofile(unsigned conns) {
  struct rlimit rl;
  rlim_t need = (rlim_t)conns + 64;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return 0;
  if (rl.rlim_cur >= need)
    return 0;
  if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
    err_line("%u connections need %llu open files; the hard limit is %llu (ulimit -Hn)", conns,
             (unsigned long long)need, (unsigned long long)rl.rlim_max);
    return -EMFILE;
  }
  rl.rlim_cur = need;
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
    err_line("cannot raise the open-file limit to %llu: %s", (unsigned long long)need,
             strerror(errno));
    return -errno;
  }
  return 0;
}

/* One usage error line; the exit status for it. */
#define usage_line(...) (err_line(__VA_ARGS__), EXIT_USAGE)

enum { O_RATE = 256, O_THREADS, O_DB, O_MIX, O_SUBMITTER, O_NPI, O_UNWRAPPED, O_JSON,
       O_IDLE, O_TIMEOUT, O_NEW_CONN, O_TLS, O_CERT, O_KEY, O_CA, O_RESUME, O_REPORT, O_HELP,
       O_VERSION, O_CORE, O_URL, O_USER };
static const struct option long_opts[] = {{"rate", required_argument, NULL, O_RATE},
                                          {"threads", required_argument, NULL, O_THREADS},
                                          {"db", required_argument, NULL, O_DB},
                                          {"mix", required_argument, NULL, O_MIX},
                                          {"submitter", required_argument, NULL, O_SUBMITTER},
                                          {"npi", required_argument, NULL, O_NPI},
                                          {"unwrapped", no_argument, NULL, O_UNWRAPPED},
                                          {"json", no_argument, NULL, O_JSON},
                                          {"idle-check", no_argument, NULL, O_IDLE},
                                          {"timeout", required_argument, NULL, O_TIMEOUT},
                                          {"new-conn", no_argument, NULL, O_NEW_CONN},
                                          {"tls", no_argument, NULL, O_TLS},
                                          {"cert", required_argument, NULL, O_CERT},
                                          {"key", required_argument, NULL, O_KEY},
                                          {"ca", required_argument, NULL, O_CA},
                                          {"resume", no_argument, NULL, O_RESUME},
                                          {"report", required_argument, NULL, O_REPORT},
                                          {"core", required_argument, NULL, O_CORE},
                                          {"url", required_argument, NULL, O_URL},
                                          {"user", required_argument, NULL, O_USER},
                                          {"help", no_argument, NULL, O_HELP},
                                          {"version", no_argument, NULL, O_VERSION},
                                          {NULL, 0, NULL, 0}};
#define NOT_MINE 1000 /* take_shape_option: some other option */

/* The options that shape the load: sockets, duration or count, rate,
 * threads, timeout.  0, EXIT_USAGE after a line, or NOT_MINE. */
static int take_shape_option(int c, load_cfg *cfg) {
  unsigned long long v;
  switch (c) {
  case 'c':
    if (parse_uint(optarg, MAX_CONNS, &v) != 0 || v == 0)
      return usage_line("-c: want a number of connections 1..%u", MAX_CONNS);
    cfg->conns = (unsigned)v;
    return 0;
  case 'd':
    if (parse_positive(optarg, &cfg->seconds) != 0)
      return usage_line("-d: want a positive number of seconds");
    return 0;
  case 'n':
    if (parse_uint(optarg, 1000000000000ull, &v) != 0 || v == 0)
      return usage_line("-n: want a positive number of requests");
    cfg->count = v;
    return 0;
  case O_RATE:
    if (parse_positive(optarg, &cfg->rate) != 0)
      return usage_line("--rate: want a positive number of requests per second");
    return 0;
  case O_THREADS:
    if (parse_uint(optarg, MAX_THREADS, &v) != 0 || v == 0)
      return usage_line("--threads: want 1..%u", MAX_THREADS);
    cfg->threads = (unsigned)v;
    return 0;
  case O_TIMEOUT:
    if (parse_positive(optarg, &cfg->timeout_s) != 0)
      return usage_line("--timeout: want a positive number of seconds");
    cfg->timeout_given = 1;
    return 0;
  }
  return NOT_MINE;
}

/* Every other option: the server, the requests, the output.  0, -1 when
 * --help or --version was answered, or EXIT_USAGE after a line. */
static int take_option(int c, char **argv, load_cfg *cfg) {
  unsigned long long v;
  switch (c) {
  case 'H': cfg->host = optarg; cfg->host_given = 1; break;
  case 'p':
    if (parse_uint(optarg, 65535, &v) != 0 || v == 0)
      return usage_line("-p: want a port 1..65535");
    cfg->port = (unsigned)v;
    cfg->port_given = 1;
    break;
  case O_CORE:
    if (ohets_core_kind_parse(optarg, &cfg->core) != 0)
      return usage_line("--core: want soap or mime");
    break;
  case O_URL: cfg->url = optarg; break;
  case O_USER: cfg->user = optarg; break;
  case O_DB: cfg->db = optarg; break;
  case O_MIX:
    if (parse_mix(optarg, cfg->mix) != 0)
      return usage_line("--mix: want three percentages HIT,MISS,BAD adding up to 100");
    break;
  case O_SUBMITTER:
    if (optarg[0] == '\0' || strlen(optarg) > 15)
      return usage_line("--submitter: want 1 to 15 characters");
    cfg->submitter = optarg;
    break;
  case O_NPI:
    if (!ohets_npi_valid(optarg, strlen(optarg)))
      return usage_line("--npi: not a valid NPI (10 digits with a good check digit)");
    cfg->npi = optarg;
    break;
  case O_UNWRAPPED: cfg->unwrapped = 1; break;
  case O_JSON: cfg->json = 1; break;
  case O_IDLE: cfg->idle_check = 1; break;
  case O_NEW_CONN: cfg->new_conn = 1; break;
  case O_TLS: cfg->tls = 1; break;
  case O_CERT: cfg->cert = optarg; break;
  case O_KEY: cfg->key = optarg; break;
  case O_CA: cfg->ca = optarg; break;
  case O_RESUME: cfg->resume = 1; break;
  case O_REPORT:
    if (optarg[0] == '\0')
      return usage_line("--report: want a file name");
    cfg->report = optarg;
    break;
  case O_HELP: usage(stdout); return -1;
  case O_VERSION: printf(PROG " (openhets) " OHETS_VERSION_STRING "\n"); return -1;
  case ':': return usage_line("option %s needs an argument (see --help)", argv[optind - 1]);
  default: {
    int rc = take_shape_option(c, cfg);
    if (rc != NOT_MINE)
      return rc;
    return usage_line("unknown option %s (see --help)", argv[optind - 1]);
  }
  }
  return 0;
}

/* --core, --url and --user together; the server from the URL, TLS always.
 * 0 or EXIT_USAGE. */
static int settle_core(load_cfg *cfg) {
  char err[160];
  if (!cfg->core && cfg->url == NULL) {
    if (cfg->user != NULL)
      return usage_line("--user goes with --core");
    return 0;
  }
  if (!cfg->core)
    return usage_line("--url goes with --core soap|mime");
  if (cfg->url == NULL)
    return usage_line("--core needs --url https://HOST:PORT/PATH");
  if (cfg->host_given || cfg->port_given)
    return usage_line("--url names the server: not with -H or -p");
  if (cfg->unwrapped || cfg->idle_check)
    return usage_line("%s is for the Extranet socket, not --core",
                      cfg->unwrapped ? "--unwrapped" : "--idle-check");
  if (cfg->user != NULL) {
    cfg->password = getenv(OHETS_CORE_PASSWORD_ENV);
    if (cfg->user[0] == '\0')
      return usage_line("--user: want a user name");
    if (cfg->password == NULL || cfg->password[0] == '\0')
      return usage_line("--user: put the password in the environment variable "
                        OHETS_CORE_PASSWORD_ENV " (never on the command line)");
  }
  if (ohets_core_url_parse(cfg->url, cfg->core, &cfg->core_url, err, sizeof err) != 0)
    return usage_line("%s", err);
  cfg->host = cfg->core_url.host;
  cfg->port = (unsigned)atoi(cfg->core_url.port);
  cfg->tls = 1;
  return 0;
}

/* What the options say together: one of -d and -n, one source of
 * requests; the defaults that depend on others.  0 or EXIT_USAGE. */
static int settle_args(load_cfg *cfg) {
  if (cfg->seconds > 0 && cfg->count > 0)
    return usage_line("give -d or -n, not both");
  if (cfg->db != NULL && cfg->nfiles > 0)
    return usage_line("give FILES or --db, not both");
  if (!cfg->idle_check && cfg->db == NULL && cfg->nfiles == 0)
    return usage_line("no requests: give FILES or --db (see --help)");
  int rc = settle_core(cfg);
  if (rc != 0)
    return rc;
  if (!cfg->tls && (cfg->cert || cfg->key || cfg->ca || cfg->resume))
    return usage_line("--cert, --key, --ca and --resume go with --tls or --core");
  if ((cfg->cert == NULL) != (cfg->key == NULL))
    return usage_line("--cert and --key go together (a certificate and its key)");
  if (cfg->idle_check && (cfg->tls || cfg->new_conn))
    return usage_line("--idle-check measures plain TCP sockets: not with --tls or --new-conn");
  if (cfg->idle_check && cfg->report != NULL)
    return usage_line("--report goes with a load run, not --idle-check");
  if (cfg->seconds == 0 && cfg->count == 0)
    cfg->seconds = 10;
  if (cfg->threads == 0) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    cfg->threads = cores < 1 ? 1 : cores > 4 ? 4 : (unsigned)cores;
  }
  if (cfg->threads > cfg->conns)
    cfg->threads = cfg->conns;
  return 0;
}

/* 0 to run, -1 when --help or --version was answered, or EXIT_USAGE. */
static int parse_args(int argc, char **argv, load_cfg *cfg) {
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":H:p:c:d:n:", long_opts, NULL)) != -1) {
    int rc = take_option(c, argv, cfg);
    if (rc != 0)
      return rc;
  }
  cfg->files = argv + optind;
  cfg->nfiles = (size_t)(argc - optind);
  return settle_args(cfg);
}

/* ---------------------------------------------------------------- main */

static int build_requests(const load_cfg *cfg, ohets_load_reqs *reqs) {
  char err[512] = "";
  ohets_load_build b;
  memset(&b, 0, sizeof b);
  b.submitter = cfg->submitter;
  b.npi = cfg->npi;
  b.unwrapped = cfg->unwrapped || cfg->core; /* --core: the envelope carries bare X12 */
  memcpy(b.mix, cfg->mix, sizeof b.mix);
  b.pool = 1000;
  if (ohets_common_now(NULL, &b.now) != 0)
    return -EINVAL;
  int rc;
  if (cfg->nfiles > 0)
    rc = ohets_load_reqs_from_files(reqs, cfg->files, cfg->nfiles, b.unwrapped, err,
                                    sizeof err);
  else if (cfg->db != NULL)
    rc = ohets_load_reqs_from_store(reqs, cfg->db, &b, err, sizeof err);
  else
    rc = ohets_load_reqs_builtin(reqs, &b);
  if (rc != 0)
    err_line("%s", err[0] ? err : strerror(-rc));
  return rc;
}

/* --core: each request (bare X12) turned into its HTTP request, envelope
 * and all; cfg->stamps says where their PayloadID and TimeStamp sit.  0,
 * or a negative errno after a line. */
static int core_requests(load_cfg *cfg, ohets_load_reqs *reqs) {
  char err[200];
  ohets_buf out;
  int rc = 0;
  ohets_buf_init(&out, 64u << 20);
  cfg->stamps = calloc(reqs->n ? reqs->n : 1, sizeof *cfg->stamps);
  if (cfg->stamps == NULL) {
    err_line("out of memory");
    return -ENOMEM;
  }
  for (size_t i = 0; i < reqs->n && rc == 0; i++) {
    ohets_load_req *q = &reqs->items[i];
    if (q->len > 0 && q->bytes[0] == OHETS_FRAME_SOH) {
      err_line("%s: in the HETS wrapper; --core sends the bare X12 interchange",
               cfg->nfiles > i ? cfg->files[i] : "a request");
      rc = -EINVAL;
      break;
    }
    ohets_core_request rq = {.kind = cfg->core, .url = &cfg->core_url, .payload = q->bytes,
                             .payload_len = q->len, .username = cfg->user,
                             .password = cfg->password};
    rc = ohets_core_build(&out, &rq, NULL, &cfg->stamps[i], err, sizeof err);
    if (rc != 0) {
      err_line("core: %s%s%s", cfg->nfiles > i ? cfg->files[i] : "", cfg->nfiles > i ? ": " : "",
               err);
      break;
    }
    uint8_t *copy = malloc(out.len);
    if (copy == NULL) {
      err_line("out of memory");
      rc = -ENOMEM;
      break;
    }
    memcpy(copy, out.data, out.len);
    free(q->bytes);
    q->bytes = copy;
    q->len = out.len;
  }
  ohets_buf_free(&out);
  return rc;
}

/* --tls: the client context every thread's connections share.  0, or
 * -EINVAL after a line. */
static int make_tls_ctx(load_cfg *cfg) {
  char err[512];
  if (!cfg->tls)
    return 0;
  if (ohets_tls_ctx_client(&cfg->tls_ctx, cfg->cert, cfg->key, cfg->ca, err, sizeof err) != 0) {
    err_line("tls: %s", err);
    return -EINVAL;
  }
  if (cfg->resume)
    ohets_tls_ctx_set_resume(cfg->tls_ctx, 1);
  if (cfg->ca == NULL)
    err_line("warning: %s without --ca: the server's certificate is not verified",
             cfg->core ? "--core" : "--tls");
  return 0;
}

/* Shares the sockets out between the nt workers; each gets its loop and
 * histogram.  0, or -ENOMEM (the loops made so far have w->run set). */
static int setup_workers(run_state *run, worker *ws, unsigned nt, conn *conns) {
  const load_cfg *cfg = run->cfg;
  unsigned next = 0;
  for (unsigned i = 0; i < nt; i++) {
    worker *w = &ws[i];
    w->conns = conns + next;
    w->nconns = cfg->conns / nt + (i < cfg->conns % nt);
    w->hist = malloc(sizeof *w->hist);
    if (cfg->tls)
      w->hs_hist = malloc(sizeof *w->hs_hist);
    if (w->hist == NULL || (cfg->tls && w->hs_hist == NULL) || uv_loop_init(&w->loop) != 0)
      return -ENOMEM;
    w->run = run; /* marks the loop as made, for free_workers */
    ohets_load_hist_init(w->hist);
    if (w->hs_hist != NULL)
      ohets_load_hist_init(w->hs_hist);
    for (unsigned k = 0; k < w->nconns; k++) {
      conn *c = &w->conns[k];
      c->w = w;
      c->id = next + k;
    }
    next += w->nconns;
  }
  return 0;
}

/* Starts a thread per worker, with SIGINT and SIGTERM blocked in them
 * (main handles those).  When one cannot start, exits: the threads that
 * did would wait at the barrier forever. */
static void start_workers(worker *ws, unsigned nt) {
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  unsigned started = 0;
  for (; started < nt; started++)
    if (pthread_create(&ws[started].thread, NULL, worker_main, &ws[started]) != 0)
      break;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (started < nt) {
    err_line("cannot start threads");
    exit(EXIT_FAILED);
  }
}

/* Between the workers' two phases: once every worker has connected its
 * sockets (or failed to), counts the failures as errors, or calls the run
 * off when none connected; starts the clock.  0 or EXIT_FAILED. */
static int begin_run(run_state *run, worker *ws, unsigned nt) {
  const load_cfg *cfg = run->cfg;
  int status = 0;
  pthread_barrier_wait(&run->barrier);
  unsigned connected = 0;
  for (unsigned i = 0; i < nt; i++)
    connected += ws[i].connected_at_start;
  if (connected == 0) {
    const char *tls_error = "";
    for (unsigned i = 0; i < nt && tls_error[0] == '\0'; i++)
      tls_error = ws[i].tls_error;
    atomic_store(&run->abort, 1);
    if (tls_error[0] != '\0')
      err_line("tls %s:%u: %s (no socket connected)", cfg->host, cfg->port, tls_error);
    else
      err_line("cannot connect to %s:%u (no socket connected)", cfg->host, cfg->port);
    status = EXIT_FAILED;
  }
  for (unsigned i = 0; i < nt; i++) /* connect failures before the run are errors too */
    for (unsigned k = ws[i].connected_at_start; k < ws[i].nconns && connected > 0; k++)
      count(&ws[i].errors);
  run->start_ns = uv_hrtime();
  if (cfg->seconds > 0)
    run->deadline_ns = run->start_ns + (uint64_t)(cfg->seconds * 1e9);
  pthread_barrier_wait(&run->barrier);
  return status;
}

/* From the start to the last worker's finish. */
static double run_seconds(const run_state *run, const worker *ws, unsigned nt) {
  uint64_t end = run->start_ns;
  for (unsigned i = 0; i < nt; i++)
    if (ws[i].finish_ns > end)
      end = ws[i].finish_ns;
  return (double)(end - run->start_ns) / 1e9;
}

static void free_workers(worker *ws, unsigned nt, conn *conns, unsigned nconns) {
  if (ws != NULL)
    for (unsigned i = 0; i < nt; i++) {
      if (ws[i].run != NULL) {
        uv_run(&ws[i].loop, UV_RUN_NOWAIT);
        uv_loop_close(&ws[i].loop);
      }
      free(ws[i].hist);
      free(ws[i].hs_hist);
    }
  if (conns != NULL)
    for (unsigned i = 0; i < nconns; i++) {
      free(conns[i].pend);
      free(conns[i].stamped);
      ohets_tls_free(conns[i].tls); /* NULL once its socket closed */
      ohets_caqh_http_reader_free(conns[i].http);
    }
  free(conns);
  free(ws);
}

/* The run, its summary, and with --report the page (rf: its file, open). */
static int run_load(load_cfg *cfg, const ohets_load_reqs *reqs, ohets_load_report_file *rf) {
  static totals t; /* the AAA slots make it large */
  run_state run;
  unsigned nt = cfg->threads;
  int status = EXIT_FAILED, threads = 0;

  memset(&run, 0, sizeof run);
  run.cfg = cfg;
  run.reqs = reqs;
  if (cfg->rate > 0)
    run.step_ns = (uint64_t)(1e9 / cfg->rate);
  if (cfg->rate > 0 && run.step_ns == 0)
    run.step_ns = 1;
  worker *ws = calloc(nt, sizeof *ws);
  conn *conns = calloc(cfg->conns, sizeof *conns);
  ohets_load_hist *merged = malloc(sizeof *merged);
  if (ws == NULL || conns == NULL || merged == NULL) {
    err_line("out of memory");
    goto done;
  }
  pthread_barrier_init(&run.barrier, NULL, nt + 1);
  if (setup_workers(&run, ws, nt, conns) != 0) {
    err_line("out of memory");
    goto done;
  }
  start_workers(ws, nt);
  threads = 1;
  status = begin_run(&run, ws, nt);
  time_t started = time(NULL);
  if (status == 0 && isatty(STDERR_FILENO))
    progress_loop(&run, ws, nt, merged);
  for (unsigned i = 0; i < nt; i++)
    pthread_join(ws[i].thread, NULL);
  if (status == 0) {
    merge_hists(ws, nt, merged);
    report(cfg, ws, nt, run_seconds(&run, ws, nt), merged, &t);
    if (cfg->report != NULL)
      status = report_html(cfg, reqs, ws, nt, &t, merged, started, rf);
    json_decref(t.core_errors);
    t.core_errors = NULL;
  }

done:
  if (threads)
    pthread_barrier_destroy(&run.barrier);
  free_workers(ws, nt, conns, cfg->conns);
  free(merged);
  return status;
}

/* --report: the temporary file beside FILE.html.  0, or -1 after a line. */
static int open_report(const load_cfg *cfg, ohets_load_report_file *rf) {
  char err[256];
  if (ohets_load_report_open(rf, cfg->report, err, sizeof err) != 0) {
    err_line("--report %s: %s", cfg->report, err);
    return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  load_cfg cfg;
  ohets_load_reqs reqs;
  int status;

  memset(&cfg, 0, sizeof cfg);
  memset(&reqs, 0, sizeof reqs);
  cfg.host = "127.0.0.1";
  cfg.port = 5270;
  cfg.conns = 16;
  cfg.submitter = "SUBMITTER01";
  cfg.npi = "1234567893";
  cfg.mix[0] = 80;
  cfg.mix[1] = 15;
  cfg.mix[2] = 5;
  cfg.timeout_s = 10;
  cfg.argc = argc;
  cfg.argv = argv;

  status = parse_args(argc, argv, &cfg);
  if (status != 0)
    return status < 0 ? 0 : status;
  if (resolve(&cfg) != 0)
    return EXIT_FAILED;
  if (cfg.core == OHETS_CORE_SOAP && ohets_caqh_soap_init() != 0) {
    err_line("core: cannot set up the SOAP writer (libxml2)");
    return EXIT_FAILED;
  }
  if (build_requests(&cfg, &reqs) != 0 || (cfg.core && core_requests(&cfg, &reqs) != 0)) {
    ohets_load_reqs_free(&reqs);
    free(cfg.stamps);
    return EXIT_FAILED;
  }
  if (make_tls_ctx(&cfg) != 0) {
    ohets_load_reqs_free(&reqs);
    free(cfg.stamps);
    return EXIT_FAILED;
  }

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &sa, NULL); /* a vanished server is a write error */
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);

  ohets_load_report_file rf;
  memset(&rf, 0, sizeof rf);
  if (cfg.idle_check) {
    status = run_idle_check(&cfg, &reqs);
  } else if (raise_nofile(cfg.conns) != 0) {
    status = EXIT_FAILED;
  } else if (cfg.report != NULL && open_report(&cfg, &rf) != 0) {
    status = EXIT_FAILED; /* before the run: an unwritable place is known at once */
  } else {
    status = run_load(&cfg, &reqs, &rf);
  }
  ohets_load_report_discard(&rf); /* a run that did not happen leaves no file */
  ohets_load_reqs_free(&reqs);
  ohets_tls_ctx_release(cfg.tls_ctx);
  free(cfg.stamps);
  if (cfg.core == OHETS_CORE_SOAP)
    ohets_caqh_soap_cleanup();
  return status;
}
