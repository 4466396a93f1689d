/* Sessions: one struct per accepted socket, driven by the loop.
 *
 *   bytes in -> rbuf -> frame decoder -> queue of decoded requests
 *   head of queue -> job (copy) -> worker -> result by id -> write -> next
 *
 * One request per connection is with the workers at a time, so answers go
 * out in order.  The queue is bounded by count and bytes; past the bound
 * the socket is not read (backpressure).  Everything here runs on the loop
 * thread; the workers see only jobs.
 *
 * Timers: `idle` closes a quiet socket without notice (restarted by every
 * byte read or written, stopped while a request is queued or with the
 * workers; later reused as the linger timer); `deadline` limits how long a
 * frame may take to arrive whole. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* pthread_rwlock_t in uv.h, getopt_long, strnlen */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/server.h"

#define RBUF_INITIAL 4096
#define LINGER_MS 1000  /* after FIN, wait this long for the peer to close */
#define HETS_RECORD_MAX 512

const char *ohets_srv_reason_name(ohets_srv_reason r) {
  switch (r) {
  case OHETS_SRV_REASON_IDLE: return "idle";
  case OHETS_SRV_REASON_PEER: return "peer";
  case OHETS_SRV_REASON_PROTOCOL: return "protocol";
  case OHETS_SRV_REASON_DEADLINE: return "deadline";
  case OHETS_SRV_REASON_SHUTDOWN: return "shutdown";
  case OHETS_SRV_REASON_LIMIT: return "limit";
  }
  return "?";
}

static void progress(ohets_srv_conn *c, int activity);
static void close_now(ohets_srv_conn *c, ohets_srv_reason why);

/* ------------------------------------------------- connection table */

static size_t slot_of(uint64_t id, size_t cap) {
  return (size_t)((id * 0x9E3779B97F4A7C15ull) >> 20) & (cap - 1);
}

static int table_put(ohets_srv_server *srv, ohets_srv_conn *c) {
  if ((srv->n_conns + 1) * 2 > srv->table_cap) {
    size_t cap = srv->table_cap ? srv->table_cap * 2 : 1024;
    ohets_srv_conn **t = calloc(cap, sizeof *t);
    if (t == NULL)
      return -ENOMEM;
    for (size_t i = 0; i < srv->table_cap; i++) {
      ohets_srv_conn *o = srv->table[i];
      if (o == NULL)
        continue;
      size_t s = slot_of(o->id, cap);
      while (t[s] != NULL)
        s = (s + 1) & (cap - 1);
      t[s] = o;
    }
    free(srv->table);
    srv->table = t;
    srv->table_cap = cap;
  }
  size_t s = slot_of(c->id, srv->table_cap);
  while (srv->table[s] != NULL)
    s = (s + 1) & (srv->table_cap - 1);
  srv->table[s] = c;
  srv->n_conns++;
  return 0;
}

static ohets_srv_conn *table_get(ohets_srv_server *srv, uint64_t id) {
  if (srv->table_cap == 0)
    return NULL;
  size_t s = slot_of(id, srv->table_cap);
  while (srv->table[s] != NULL) {
    if (srv->table[s]->id == id)
      return srv->table[s];
    s = (s + 1) & (srv->table_cap - 1);
  }
  return NULL;
}

static void table_del(ohets_srv_server *srv, uint64_t id) {
  size_t mask = srv->table_cap - 1;
  size_t s = slot_of(id, srv->table_cap);
  while (srv->table[s] != NULL && srv->table[s]->id != id)
    s = (s + 1) & mask;
  if (srv->table[s] == NULL)
    return;
  srv->table[s] = NULL;
  srv->n_conns--;
  /* Backward-shift the rest of the run so lookups never stop early. */
  size_t hole = s;
  for (size_t j = (s + 1) & mask; srv->table[j] != NULL; j = (j + 1) & mask) {
    size_t home = slot_of(srv->table[j]->id, srv->table_cap);
    int movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
    if (movable) {
      srv->table[hole] = srv->table[j];
      srv->table[j] = NULL;
      hole = j;
    }
  }
}

/* ---------------------------------------- connections per submitter */

static ohets_srv_subcount *sub_find(ohets_srv_server *srv, const char *submitter) {
  for (size_t i = 0; i < srv->n_subs; i++)
    if (strcmp(srv->subs[i].submitter, submitter) == 0)
      return &srv->subs[i];
  return NULL;
}

unsigned ohets_srv_sub_count(ohets_srv_server *srv, const char *submitter) {
  ohets_srv_subcount *s = sub_find(srv, submitter);
  return s ? s->conns : 0;
}

void ohets_srv_sub_add(ohets_srv_server *srv, const char *submitter) {
  ohets_srv_subcount *s = sub_find(srv, submitter);
  if (s == NULL) {
    if (srv->n_subs == srv->cap_subs) {
      size_t cap = srv->cap_subs ? srv->cap_subs * 2 : 16;
      ohets_srv_subcount *n = realloc(srv->subs, cap * sizeof *n);
      if (n == NULL)
        return; /* not counted: the limit is best effort under no memory */
      srv->subs = n;
      srv->cap_subs = cap;
    }
    s = &srv->subs[srv->n_subs++];
    snprintf(s->submitter, sizeof s->submitter, "%s", submitter);
    s->conns = 0;
  }
  s->conns++;
}

void ohets_srv_sub_remove(ohets_srv_server *srv, const char *submitter) {
  ohets_srv_subcount *s = sub_find(srv, submitter);
  if (s == NULL || --s->conns > 0)
    return;
  *s = srv->subs[--srv->n_subs];
}

/* ------------------------------------------------ slot waiting list */

static void wait_push(ohets_srv_conn *c) {
  ohets_srv_server *srv = c->srv;
  c->waiting_slot = 1;
  c->wait_next = NULL;
  c->wait_prev = srv->wait_tail;
  if (srv->wait_tail != NULL)
    srv->wait_tail->wait_next = c;
  else
    srv->wait_head = c;
  srv->wait_tail = c;
}

static void wait_remove(ohets_srv_conn *c) {
  ohets_srv_server *srv = c->srv;
  if (!c->waiting_slot)
    return;
  if (c->wait_prev != NULL)
    c->wait_prev->wait_next = c->wait_next;
  else
    srv->wait_head = c->wait_next;
  if (c->wait_next != NULL)
    c->wait_next->wait_prev = c->wait_prev;
  else
    srv->wait_tail = c->wait_prev;
  c->wait_prev = c->wait_next = NULL;
  c->waiting_slot = 0;
}

/* Job slots freed: let waiting connections dispatch, oldest first. */
static void wake_waiters(ohets_srv_server *srv) {
  while (srv->wait_head != NULL && srv->jobs_in_flight < srv->cfg->max_jobs) {
    ohets_srv_conn *c = srv->wait_head;
    wait_remove(c);
    progress(c, 0);
  }
}

/* ------------------------------------------------------ the queue */

static ohets_srv_item *queue_head(ohets_srv_conn *c) {
  return c->qlen ? &c->queue[c->qhead] : NULL;
}

static ohets_srv_item *queue_push(ohets_srv_conn *c) {
  unsigned cap = c->srv->cfg->max_pipeline + 1;
  ohets_srv_item *it = &c->queue[(c->qhead + c->qlen) % cap];
  memset(it, 0, sizeof *it);
  c->qlen++;
  return it;
}

static void queue_pop(ohets_srv_conn *c) {
  ohets_srv_item *it = queue_head(c);
  if (it == NULL)
    return;
  c->qbytes -= it->payload ? it->len : 0;
  free(it->payload);
  memset(it, 0, sizeof *it);
  c->qhead = (c->qhead + 1) % (c->srv->cfg->max_pipeline + 1);
  c->qlen--;
}

/* ----------------------------------------------------------- log */

static void log_request(ohets_srv_conn *c, const ohets_outcome *o,
                        size_t bytes_in, size_t bytes_out,
                        uint64_t t_frame, uint64_t t_enqueue, uint64_t t_start,
                        uint64_t t_done, int overloaded, const char *mbi_hash) {
  ohets_srv_request_log r;
  uint64_t now = uv_hrtime();
  ohets_srv_ts(r.ts, sizeof r.ts);
  r.session = c->id;
  r.seq = c->requests;
  memcpy(r.submitter, o->submitter, sizeof r.submitter);
  memcpy(r.isa13, o->isa13, sizeof r.isa13);
  memcpy(r.st02, o->st02, sizeof r.st02);
  r.bytes_in = bytes_in;
  r.bytes_out = bytes_out;
  r.answer = o->answer;
  r.n_aaa = o->n_aaa;
  memcpy(r.aaa, o->aaa, sizeof r.aaa);
  r.queue_us = t_start > t_enqueue ? (t_start - t_enqueue) / 1000u : 0;
  r.work_us = t_done > t_start ? (t_done - t_start) / 1000u : 0;
  r.total_us = now > t_frame ? (now - t_frame) / 1000u : 0;
  r.error[0] = '\0';
  if (o->answer == OHETS_ANSWER_HETS)
    snprintf(r.error, sizeof r.error, "%s", o->hets_code);
  else if (o->answer == OHETS_ANSWER_TA1)
    snprintf(r.error, sizeof r.error, "%s", o->ta1_code);
  r.ack = o->answer == OHETS_ANSWER_999 ? o->ack_code : 0;
  r.overloaded = overloaded;
  size_t hash_len = mbi_hash != NULL ? strnlen(mbi_hash, sizeof r.mbi_hash - 1) : 0;
  memcpy(r.mbi_hash, mbi_hash != NULL ? mbi_hash : "", hash_len); /* no format per request */
  r.mbi_hash[hash_len] = '\0';
  ohets_srv_log_request(c->srv->log, &r);
}

static void log_close(ohets_srv_conn *c) {
  json_t *e = ohets_srv_log_event("close", c->id);
  if (e == NULL)
    return;
  json_object_set_new(e, "reason", json_string(ohets_srv_reason_name(c->reason)));
  json_object_set_new(e, "requests", json_integer((json_int_t)c->requests));
  json_object_set_new(e, "bytes", json_integer((json_int_t)(c->bytes_in + c->bytes_out)));
  json_object_set_new(e, "bytes_in", json_integer((json_int_t)c->bytes_in));
  json_object_set_new(e, "bytes_out", json_integer((json_int_t)c->bytes_out));
  json_object_set_new(e, "duration_ms",
                      json_integer((json_int_t)((uv_hrtime() - c->t_open) / 1000000u)));
  ohets_srv_log_emit(c->srv->log, e);
}

/* --------------------------------------------------------- closing */

static void on_handle_closed(uv_handle_t *h) {
  ohets_srv_conn *c = h->data;
  if (--c->handles_open > 0)
    return;
  free(c->rbuf);
  free(c->queue);
  free(c);
}

static void close_now(ohets_srv_conn *c, ohets_srv_reason why) {
  if (c->state == OHETS_SRV_CONN_CLOSING)
    return;
  ohets_srv_server *srv = c->srv;
  c->state = OHETS_SRV_CONN_CLOSING;
  c->reason = why;
  log_close(c);
  /* From here a late worker result finds no connection and is dropped. */
  table_del(srv, c->id);
  wait_remove(c);
  if (c->submitter[0])
    ohets_srv_sub_remove(srv, c->submitter);
  while (c->qlen > 0)
    queue_pop(c);
  uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
  uv_close((uv_handle_t *)&c->idle, on_handle_closed);
  uv_close((uv_handle_t *)&c->deadline, on_handle_closed);
  if (srv->stopping && srv->n_conns == 0)
    ohets_srv_finish(srv);
}

static void on_linger_timer(uv_timer_t *t) {
  ohets_srv_conn *c = t->data;
  close_now(c, c->reason);
}

static void on_discard_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  static char sink[16384]; /* loop thread only; contents never used */
  (void)h;
  (void)suggested;
  buf->base = sink;
  buf->len = sizeof sink;
}

static void on_discard_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  ohets_srv_conn *c = s->data;
  (void)buf;
  if (n < 0)
    close_now(c, c->reason);
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  ohets_srv_conn *c = req->handle->data;
  free(req);
  if (c->state == OHETS_SRV_CONN_CLOSING)
    return;
  if (status < 0) {
    close_now(c, c->reason);
    return;
  }
  /* Our FIN is out.  Read (and drop) until the peer closes, so closing
   * with unread input never turns into a reset that could destroy the
   * answer we just sent. */
  c->state = OHETS_SRV_CONN_LINGER;
  uv_read_stop((uv_stream_t *)&c->tcp);
  c->reading = 0;
  uv_timer_stop(&c->deadline);
  uv_timer_start(&c->idle, on_linger_timer, LINGER_MS, 0);
  if (uv_read_start((uv_stream_t *)&c->tcp, on_discard_alloc, on_discard_read) != 0)
    close_now(c, c->reason);
}

/* Everything owed has been written: end the connection. */
static void finish(ohets_srv_conn *c) {
  if (c->reason == OHETS_SRV_REASON_IDLE || c->reason == OHETS_SRV_REASON_PEER) {
    close_now(c, c->reason);
    return;
  }
  uv_shutdown_t *req = malloc(sizeof *req);
  if (req == NULL || uv_shutdown(req, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
    free(req);
    close_now(c, c->reason);
    return;
  }
  c->state = OHETS_SRV_CONN_LINGER; /* no more progress until the FIN is out */
  uv_read_stop((uv_stream_t *)&c->tcp);
  c->reading = 0;
  uv_timer_stop(&c->idle);
  uv_timer_stop(&c->deadline);
}

/* Stop taking requests; answer what is queued, then close for `why`. */
static void set_ending(ohets_srv_conn *c, ohets_srv_reason why) {
  if (c->state != OHETS_SRV_CONN_OPEN)
    return;
  c->state = OHETS_SRV_CONN_ENDING;
  c->reason = why;
  uv_timer_stop(&c->deadline);
}

/* ---------------------------------------------------------- writing */

typedef struct write_req {
  uv_write_t req;
  ohets_buf buf; /* owned bytes being written */
} write_req;

static void on_write(uv_write_t *req, int status) {
  write_req *w = (write_req *)req;
  ohets_srv_conn *c = req->handle->data;
  ohets_buf_free(&w->buf);
  free(w);
  if (c->state == OHETS_SRV_CONN_CLOSING)
    return;
  c->writes_pending--;
  if (status < 0) {
    close_now(c, OHETS_SRV_REASON_PEER);
    return;
  }
  progress(c, 1);
}

/* Takes the bytes of *buf (leaving it empty, its memory still the
 * caller's to free) and writes them: at once when
 * the socket takes them all (the usual case: no request, no callback, and
 * none of the epoll_ctl calls libuv makes around a queued write), else the
 * rest through uv_write, whose completion calls progress().  The caller
 * calls progress() itself after a write that completed here. */
static int write_owned(ohets_srv_conn *c, ohets_buf *buf) {
  uv_buf_t b = uv_buf_init((char *)buf->data, (unsigned)buf->len);
  size_t done = 0;
  if (c->writes_pending == 0) {
    int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    if (n < 0 && n != UV_EAGAIN)
      return n;
    done = n > 0 ? (size_t)n : 0;
  }
  if (done == buf->len) {
    c->bytes_out += done;
    buf->len = 0; /* the caller keeps (or frees) the buffer itself */
    return 0;
  }
  write_req *w = malloc(sizeof *w);
  if (w == NULL)
    return -ENOMEM;
  w->buf = *buf;
  ohets_buf_init(buf, buf->max);
  b = uv_buf_init((char *)w->buf.data + done, (unsigned)(w->buf.len - done));
  int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write);
  if (rc != 0) {
    ohets_buf_free(&w->buf);
    free(w);
    return rc;
  }
  c->writes_pending++;
  c->bytes_out += w->buf.len;
  return 0;
}

/* Answers with a HETS error record written on the loop (wrapper problems,
 * deadline, connection limit); the connection then ends. */
static void answer_hets_and_end(ohets_srv_conn *c, const char *code,
                                const char *submitter, const char *trace,
                                int raw, size_t bytes_in, uint64_t t_frame,
                                ohets_srv_reason why) {
  ohets_now now;
  ohets_srv_now(c->srv->cfg, &now);
  ohets_buf rec, wire;
  ohets_buf_init(&rec, HETS_RECORD_MAX);
  ohets_buf_init(&wire, HETS_RECORD_MAX + OHETS_FRAME_OVERHEAD);
  int rc = ohets_hets_error_write(&rec, code, trace, &now);
  if (rc == 0)
    rc = raw ? ohets_buf_append(&wire, rec.data, rec.len)
             : ohets_frame_wrap(&wire, rec.data, rec.len);
  size_t out_len = wire.len;
  if (c->state == OHETS_SRV_CONN_OPEN)
    set_ending(c, why);
  c->reason = why;
  if (rc == 0 && (rc = write_owned(c, &wire)) != 0) {
    ohets_buf_free(&rec);
    ohets_buf_free(&wire);
    close_now(c, OHETS_SRV_REASON_PEER);
    return;
  }
  if (rc == 0) {
    /* Logged like a core answer, with what the loop could read. */
    ohets_outcome o;
    memset(&o, 0, sizeof o);
    o.answer = OHETS_ANSWER_HETS;
    snprintf(o.hets_code, sizeof o.hets_code, "%s", code);
    snprintf(o.submitter, sizeof o.submitter, "%s", submitter ? submitter : "");
    snprintf(o.isa13, sizeof o.isa13, "%s", trace ? trace : "");
    c->requests++;
    log_request(c, &o, bytes_in, out_len, t_frame, 0, 0, 0, 0, NULL);
  }
  ohets_buf_free(&rec);
  ohets_buf_free(&wire);
}

/* ------------------------------------------------------ dispatching */

/* The HETS codes after which the connection closes (README's table): the
 * stream cannot be trusted past them. */
static int hets_code_closes(const char *code) {
  return strcmp(code, "HTS00001") == 0 || strcmp(code, "HTS00002") == 0 ||
         strcmp(code, "HTS00003") == 0;
}

/* Reads ISA06 (trimmed) and ISA13 from a fixed-width ISA, for the
 * per-submitter connection limit.  0 when the ISA is not readable; the core
 * judges such a request anyway. */
static int peek_isa(const uint8_t *p, size_t n, char sub[OHETS_SRV_SUBMITTER_LEN],
                    char isa13[10]) {
  if (n < 106 || memcmp(p, "ISA", 3) != 0)
    return 0;
  uint8_t sep = p[3];
  if (p[34] != sep || p[50] != sep)
    return 0;
  size_t len = 15;
  while (len > 0 && p[35 + len - 1] == ' ')
    len--;
  if (len == 0)
    return 0;
  for (size_t i = 0; i < len; i++)
    if (p[35 + i] < 0x21 || p[35 + i] > 0x7e)
      return 0;
  memcpy(sub, p + 35, len);
  sub[len] = '\0';
  isa13[0] = '\0';
  if (p[89] == sep && p[99] == sep) {
    int digits = 1;
    for (int i = 90; i < 99; i++)
      digits = digits && p[i] >= '0' && p[i] <= '9';
    if (digits) {
      memcpy(isa13, p + 90, 9);
      isa13[9] = '\0';
    }
  }
  return 1;
}

/* DESIGN §4 max_connections: a connection counts against the first
 * allowed submitter it sends.  Returns 1 when the request must be refused. */
static int over_submitter_limit(ohets_srv_conn *c, const ohets_srv_item *it,
                                char sub[OHETS_SRV_SUBMITTER_LEN], char isa13[10]) {
  if (c->state == OHETS_SRV_CONN_ENDING && c->reason == OHETS_SRV_REASON_LIMIT) {
    /* Already refused: what it pipelined behind is refused alike. */
    (void)peek_isa(it->payload, it->len, sub, isa13);
    return 1;
  }
  if (c->submitter[0] || !peek_isa(it->payload, it->len, sub, isa13))
    return 0;
  const ohets_partner_table *t = c->srv->partners->table;
  const ohets_partner *p = t ? ohets_partners_find(t, sub) : NULL;
  if (p == NULL || p->max_connections == 0 ||
      !ohets_srv_submitter_allowed(t, (const struct sockaddr *)&c->peer,
                                   &c->srv->cfg->listen[c->listener], sub))
    return 0;
  if (ohets_srv_sub_count(c->srv, sub) >= p->max_connections)
    return 1;
  ohets_srv_sub_add(c->srv, sub);
  snprintf(c->submitter, sizeof c->submitter, "%s", sub);
  return 0;
}

static void dispatch_head(ohets_srv_conn *c) {
  ohets_srv_server *srv = c->srv;
  ohets_srv_item *it = queue_head(c);
  if (it->error != NULL) {
    ohets_srv_item copy = *it;
    queue_pop(c);
    answer_hets_and_end(c, copy.error, NULL, NULL, copy.raw, copy.frame_len,
                        copy.t_frame, copy.reason);
    return;
  }
  char isa13[10] = "", sub[OHETS_SRV_SUBMITTER_LEN] = "";
  if (over_submitter_limit(c, it, sub, isa13)) {
    ohets_srv_item copy = *it;
    it->payload = NULL; /* freed below, after use */
    queue_pop(c);
    c->qbytes -= copy.len;
    answer_hets_and_end(c, "SBY00502", sub, isa13[0] ? isa13 : NULL, copy.raw,
                        copy.frame_len, copy.t_frame, OHETS_SRV_REASON_LIMIT);
    free(copy.payload);
    return;
  }
  if (srv->jobs_in_flight >= srv->cfg->max_jobs) {
    wait_push(c);
    return;
  }
  ohets_srv_job *job = ohets_srv_job_get(srv);
  if (job == NULL) {
    close_now(c, OHETS_SRV_REASON_PROTOCOL);
    return;
  }
  job->conn_id = c->id;
  job->req = it->payload; /* the job owns the bytes now */
  job->req_len = it->len;
  it->payload = NULL;
  c->qbytes -= it->len;
  job->bytes_in = it->frame_len;
  job->raw = it->raw;
  job->peer = c->peer;
  job->listener = c->listener;
  job->partners = ohets_srv_partners_hold(srv->partners);
  job->t_frame = it->t_frame;
  c->job_in_flight = 1;
  srv->jobs_in_flight++;
  ohets_srv_pool_submit(srv->pool, job);
}

void ohets_srv_on_job_done(void *arg, ohets_srv_job *job) {
  ohets_srv_server *srv = arg;
  srv->jobs_in_flight--;
  ohets_srv_conn *c = table_get(srv, job->conn_id);
  if (c != NULL && c->job_in_flight) {
    c->job_in_flight = 0;
    queue_pop(c); /* the request this job answered */
    size_t out_len = job->answer.len;
    if (job->rc != 0) {
      close_now(c, OHETS_SRV_REASON_PROTOCOL); /* no answer could be made */
    } else if (write_owned(c, &job->answer) != 0) {
      close_now(c, OHETS_SRV_REASON_PEER);
    } else {
      /* One rule for HTS00001-3, wherever they come from: close after. */
      if (job->outcome.answer == OHETS_ANSWER_HETS && hets_code_closes(job->outcome.hets_code))
        set_ending(c, OHETS_SRV_REASON_PROTOCOL);
      c->requests++;
      log_request(c, &job->outcome, job->bytes_in, out_len, job->t_frame,
                  job->t_enqueue, job->t_start, job->t_done, job->overloaded,
                  job->mbi_hash);
      /* A write still pending reports its activity when it completes. */
      progress(c, c->writes_pending == 0);
    }
  }
  ohets_srv_partners_release(job->partners);
  ohets_srv_job_put(srv, job);
  wake_waiters(srv);
}

/* ---------------------------------------------------------- reading */

static int decoding_allowed(const ohets_srv_conn *c) {
  if (c->state == OHETS_SRV_CONN_OPEN)
    return 1;
  /* A peer that closed its side, or a shutdown, still gets answers for
   * whole frames it already sent. */
  return c->state == OHETS_SRV_CONN_ENDING &&
         (c->reason == OHETS_SRV_REASON_PEER || c->reason == OHETS_SRV_REASON_SHUTDOWN);
}

static int frame_is_raw(const ohets_srv_conn *c) {
  ohets_framing f = c->srv->cfg->listen[c->listener].framing;
  return f == OHETS_FRAMING_RAW ||
         (f == OHETS_FRAMING_AUTO && c->dec.resolved && c->dec.raw);
}

static void on_deadline(uv_timer_t *t);

/* Frames what rbuf holds into the queue, as far as the bounds allow. */
static void decode(ohets_srv_conn *c) {
  const ohets_srv_config *cfg = c->srv->cfg;
  int waiting_for_bytes = 0;
  while (decoding_allowed(c) && c->rlen > 0 && c->qlen < cfg->max_pipeline &&
         c->qbytes < cfg->max_frame_bytes) {
    ohets_frame fr;
    ohets_frame_status st = ohets_frame_next(&c->dec, c->rbuf, c->rlen, &fr);
    if (st == OHETS_FRAME_NEED_MORE) {
      if (c->state != OHETS_SRV_CONN_OPEN) {
        c->rlen = 0; /* a partial frame nobody will finish */
        break;
      }
      if (c->rlen >= c->rmax) { /* cannot happen with a sane decoder */
        st = OHETS_FRAME_ERROR;
        fr.error = "HTS00002";
      } else {
        waiting_for_bytes = 1;
        break;
      }
    }
    if (st == OHETS_FRAME_ERROR) {
      ohets_srv_item *it = queue_push(c);
      it->error = fr.error != NULL ? fr.error : "HTS00001";
      it->reason = OHETS_SRV_REASON_PROTOCOL;
      it->raw = frame_is_raw(c);
      it->frame_len = c->rlen;
      it->t_frame = uv_hrtime();
      c->rlen = 0; /* nothing after a broken frame can be framed */
      set_ending(c, OHETS_SRV_REASON_PROTOCOL);
      break;
    }
    uint8_t *copy = malloc(fr.payload_len ? fr.payload_len : 1);
    if (copy == NULL) {
      close_now(c, OHETS_SRV_REASON_PROTOCOL);
      return;
    }
    memcpy(copy, c->rbuf + fr.payload_off, fr.payload_len);
    ohets_srv_item *it = queue_push(c);
    it->payload = copy;
    it->len = fr.payload_len;
    it->frame_len = fr.frame_len;
    it->raw = fr.raw;
    it->t_frame = uv_hrtime();
    c->qbytes += fr.payload_len;
    memmove(c->rbuf, c->rbuf + fr.frame_len, c->rlen - fr.frame_len);
    c->rlen -= fr.frame_len;
    /* The next frame's first bytes came with the last read at the latest. */
    c->frame_start_ms = c->last_read_ms;
  }
  /* The frame deadline runs only while we wait for the peer's bytes. */
  if (waiting_for_bytes) {
    uint64_t due = c->frame_start_ms + cfg->frame_deadline_ms;
    uint64_t now = uv_now(c->srv->loop);
    uv_timer_start(&c->deadline, on_deadline, due > now ? due - now : 0, 0);
  } else {
    uv_timer_stop(&c->deadline);
  }
  if (c->rlen == 0 && c->rcap > 2 * RBUF_INITIAL) { /* give back a big buffer */
    free(c->rbuf);
    c->rbuf = NULL;
    c->rcap = 0;
  }
}

static void on_deadline(uv_timer_t *t) {
  ohets_srv_conn *c = t->data;
  if (c->state != OHETS_SRV_CONN_OPEN || c->rlen == 0)
    return;
  ohets_srv_item *it = queue_push(c);
  it->error = "HTS00003";
  it->reason = OHETS_SRV_REASON_DEADLINE;
  it->raw = frame_is_raw(c);
  it->frame_len = c->rlen;
  it->t_frame = uv_hrtime();
  c->rlen = 0;
  set_ending(c, OHETS_SRV_REASON_DEADLINE);
  progress(c, 0);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  ohets_srv_conn *c = h->data;
  (void)suggested;
  if (c->rlen == c->rcap && c->rcap < c->rmax) {
    size_t cap = c->rcap ? c->rcap * 2 : RBUF_INITIAL;
    if (cap > c->rmax)
      cap = c->rmax;
    uint8_t *p = realloc(c->rbuf, cap);
    if (p != NULL) {
      c->rbuf = p;
      c->rcap = cap;
    }
  }
  /* A zero-length buffer makes libuv report UV_ENOBUFS; progress() stops
   * reading before that can happen. */
  buf->base = (char *)c->rbuf + c->rlen;
  buf->len = c->rcap - c->rlen;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  ohets_srv_conn *c = s->data;
  (void)buf;
  if (n == 0 || c->state == OHETS_SRV_CONN_CLOSING)
    return;
  if (n < 0) {
    uv_read_stop(s);
    c->reading = 0;
    if (n == UV_EOF && c->state == OHETS_SRV_CONN_OPEN) {
      /* Half-closed: answer whole frames already sent, then close. */
      set_ending(c, OHETS_SRV_REASON_PEER);
      decode(c);
      progress(c, 1);
    } else if (n == UV_ENOBUFS) {
      close_now(c, OHETS_SRV_REASON_PROTOCOL);
    } else {
      close_now(c, OHETS_SRV_REASON_PEER);
    }
    return;
  }
  uv_update_time(c->srv->loop);
  uint64_t now = uv_now(c->srv->loop);
  if (c->rlen == 0)
    c->frame_start_ms = now; /* a new frame begins with these bytes */
  c->last_read_ms = now;
  c->rlen += (size_t)n;
  c->bytes_in += (uint64_t)n;
  decode(c);
  progress(c, 1);
}

/* -------------------------------------------------------- progress */

static void on_idle(uv_timer_t *t) {
  ohets_srv_conn *c = t->data;
  close_now(c, OHETS_SRV_REASON_IDLE);
}

/* Decides what the connection does next: dispatch, close, read, idle. */
static void progress(ohets_srv_conn *c, int activity) {
  if (c->state == OHETS_SRV_CONN_LINGER || c->state == OHETS_SRV_CONN_CLOSING)
    return;
  const ohets_srv_config *cfg = c->srv->cfg;
  decode(c);
  if (c->state == OHETS_SRV_CONN_CLOSING)
    return;
  /* An item answered here on the loop (an error record, a refusal) calls
   * back nobody when its write completes at once: take the next item in the
   * same pass, or a connection with more queued would wait forever. */
  while (c->qlen > 0 && !c->job_in_flight && !c->waiting_slot && c->writes_pending == 0 &&
         c->state != OHETS_SRV_CONN_CLOSING)
    dispatch_head(c);
  if (c->state == OHETS_SRV_CONN_CLOSING)
    return;
  if (c->state == OHETS_SRV_CONN_ENDING && c->qlen == 0 && !c->job_in_flight &&
      c->writes_pending == 0) {
    finish(c);
    return;
  }

  int want_read = c->state == OHETS_SRV_CONN_OPEN && !c->srv->stopping &&
                  c->qlen < cfg->max_pipeline && c->qbytes < cfg->max_frame_bytes &&
                  c->rlen < c->rmax;
  if (want_read && !c->reading) {
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
      close_now(c, OHETS_SRV_REASON_PEER);
      return;
    }
    c->reading = 1;
  } else if (!want_read && c->reading) {
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = 0;
  }

  /* Idle: nothing with the workers or waiting its turn -- or the only
   * thing pending is our write to a peer that stopped reading. */
  int idle_ok = !c->job_in_flight && !c->waiting_slot &&
                (c->qlen == 0 || c->writes_pending > 0);
  if (!idle_ok) {
    uv_timer_stop(&c->idle);
  } else if (activity || !uv_is_active((uv_handle_t *)&c->idle)) {
    /* +1: the loop clock counts whole milliseconds, so never close early. */
    uv_update_time(c->srv->loop);
    uv_timer_start(&c->idle, on_idle, cfg->idle_timeout_ms + 1, 0);
  }
}

/* --------------------------------------------------------- accepting */

static void peer_to_text(const struct sockaddr_storage *ss, char *out, size_t n) {
  char ip[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)(const void *)ss;
    uv_ip4_name(a, ip, sizeof ip);
    port = ntohs(a->sin_port);
    snprintf(out, n, "%s:%d", ip, port);
  } else if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)(const void *)ss;
    uv_ip6_name(a, ip, sizeof ip);
    port = ntohs(a->sin6_port);
    snprintf(out, n, "[%s]:%d", ip, port);
  } else {
    snprintf(out, n, "?");
  }
}

void ohets_srv_conn_accept(ohets_srv_server *srv, int fd,
                           const struct sockaddr_storage *peer, unsigned index) {
  const ohets_srv_config *cfg = srv->cfg;
  ohets_srv_conn *c = calloc(1, sizeof *c);
  ohets_srv_item *queue = calloc(cfg->max_pipeline + 1, sizeof *queue);
  if (c == NULL || queue == NULL) {
    free(c);
    free(queue);
    close(fd);
    return;
  }
  c->srv = srv;
  c->queue = queue;
  uv_tcp_init(srv->loop, &c->tcp);
  c->tcp.data = c;
  c->handles_open = 1;
  if (uv_tcp_open(&c->tcp, fd) != 0) {
    close(fd);
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
    return;
  }
  uv_timer_init(srv->loop, &c->idle);
  uv_timer_init(srv->loop, &c->deadline);
  c->idle.data = c;
  c->deadline.data = c;
  c->handles_open = 3;
  c->id = ++srv->next_id;
  c->listener = index;
  c->t_open = uv_hrtime();
  c->state = OHETS_SRV_CONN_OPEN;
  /* Room for one whole frame after as much leading filler as the raw
   * decoder tolerates, plus slack for the next frame's first bytes. */
  c->rmax = 2 * cfg->max_frame_bytes + OHETS_FRAME_OVERHEAD + 4096;
  ohets_frame_decoder_init(&c->dec, cfg->listen[index].framing, cfg->max_frame_bytes);
  c->peer = *peer; /* from accept(): known even if the peer has reset since */
  peer_to_text(&c->peer, c->peer_text, sizeof c->peer_text);
  uv_tcp_nodelay(&c->tcp, 1);

  int full = srv->n_conns >= cfg->max_connections;
  if (table_put(srv, c) != 0) {
    c->state = OHETS_SRV_CONN_CLOSING;
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
    uv_close((uv_handle_t *)&c->idle, on_handle_closed);
    uv_close((uv_handle_t *)&c->deadline, on_handle_closed);
    return;
  }
  json_t *e = ohets_srv_log_event("open", c->id);
  if (e != NULL) {
    json_object_set_new(e, "peer", json_string(c->peer_text));
    json_object_set_new(e, "listener", json_integer(index));
    json_object_set_new(e, "framing",
                        json_string(ohets_srv_framing_name(cfg->listen[index].framing)));
    ohets_srv_log_emit(srv->log, e);
  }
  if (full) {
    close_now(c, OHETS_SRV_REASON_LIMIT);
    return;
  }
  progress(c, 1);
}

/* --------------------------------------------------------- shutdown */

static ohets_srv_conn **snapshot(ohets_srv_server *srv, size_t *n) {
  ohets_srv_conn **all = malloc((srv->n_conns + 1) * sizeof *all);
  *n = 0;
  if (all == NULL)
    return NULL;
  for (size_t i = 0; i < srv->table_cap; i++)
    if (srv->table[i] != NULL)
      all[(*n)++] = srv->table[i];
  return all;
}

void ohets_srv_conns_drain(ohets_srv_server *srv) {
  size_t n;
  ohets_srv_conn **all = snapshot(srv, &n);
  if (all == NULL) {
    ohets_srv_conns_close_all(srv, OHETS_SRV_REASON_SHUTDOWN);
    return;
  }
  /* Ids, not pointers, survive closes made while we walk. */
  uint64_t *ids = malloc((n + 1) * sizeof *ids);
  for (size_t i = 0; ids != NULL && i < n; i++)
    ids[i] = all[i]->id;
  free(all);
  if (ids == NULL) {
    ohets_srv_conns_close_all(srv, OHETS_SRV_REASON_SHUTDOWN);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    ohets_srv_conn *c = table_get(srv, ids[i]);
    if (c == NULL)
      continue;
    if (c->state == OHETS_SRV_CONN_OPEN) {
      set_ending(c, OHETS_SRV_REASON_SHUTDOWN);
      progress(c, 0);
    }
  }
  free(ids);
  if (srv->n_conns == 0)
    ohets_srv_finish(srv);
}

void ohets_srv_conns_close_all(ohets_srv_server *srv, ohets_srv_reason why) {
  while (srv->n_conns > 0) {
    size_t i = 0;
    while (i < srv->table_cap && srv->table[i] == NULL)
      i++;
    if (i == srv->table_cap)
      break;
    ohets_srv_conn *c = srv->table[i];
    close_now(c, c->state == OHETS_SRV_CONN_OPEN ? why : c->reason);
  }
}
