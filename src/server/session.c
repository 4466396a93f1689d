/* Sessions (session.h).
 *
 *   transport -> rbuf -> door -> queue of requests
 *   head of queue -> job (copy) -> worker -> result by id -> transport -> next
 *
 * One request per session is with the workers at a time, so answers go out
 * in order.  The queue is bounded by count and bytes; past the bound the
 * socket is not read (backpressure).  Everything here runs on the loop
 * thread; the workers see only jobs.
 *
 * A session's life, `state`:
 *
 *   HANDSHAKE --established--> OPEN          (TLS only; plain TCP starts OPEN)
 *   HANDSHAKE --TLS failure, deadline--> CLOSING                 (reason tls)
 *   OPEN --broken frame, frame deadline, refusal, HTS0000n answer,
 *          peer's EOF, drain--> ENDING                (reason says which)
 *   ENDING --queue answered, reason idle/peer--> CLOSING
 *   ENDING --queue answered, other reasons--> SHUTTING (FIN asked for)
 *   SHUTTING --FIN out--> LINGER (input discarded while the peer closes)
 *   LINGER --peer's EOF or error, linger timer--> CLOSING
 *   any --idle timer, read or write error--> CLOSING
 *   CLOSING --transport and timers closed--> freed
 *
 * and, while OPEN or ENDING, what the head of its queue is doing, `phase`:
 *
 *   READY --slot free--> WORKING --answer written at once--> READY
 *                                --write pending--> WRITING --written--> READY
 *   READY --no slot--> WAITING --woken by dispatch--> READY
 *   READY --answered here (error record, refusal), write pending--> WRITING
 *
 * Timers: `idle` closes a quiet socket without notice (restarted by every
 * byte read or written, stopped while a request is queued or working;
 * later the linger timer); `deadline` limits how long a frame (or a TLS
 * handshake) may take to arrive whole. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* strnlen */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/door.h"
#include "server/now.h"
#include "server/session.h"
#include "server/transport.h"

#define RBUF_INITIAL 4096
#define LINGER_MS 1000 /* after FIN, wait this long for the peer to close */

typedef enum session_state {
  STATE_HANDSHAKE = 0, /* TLS handshake running; no requests yet */
  STATE_OPEN,          /* reading and answering */
  STATE_ENDING,        /* reading stopped; answer what is queued, then end */
  STATE_SHUTTING,      /* FIN asked for, not yet out */
  STATE_LINGER,        /* FIN out; input discarded until EOF or the timer */
  STATE_CLOSING        /* closing; freed when the transport and timers are */
} session_state;

typedef enum head_phase {
  PHASE_READY = 0,     /* nothing of ours pending: the head may go */
  PHASE_WAITING,       /* the head waits in dispatch's line for a job slot */
  PHASE_WORKING,       /* the head is with a worker */
  PHASE_WRITING        /* an answer is being written */
} head_phase;

/* One decoded request waiting its turn, or a protocol error to answer
 * (then end) once the requests before it are answered. */
typedef struct item {
  uint8_t *payload;        /* owned copy; NULL for an error item */
  size_t len;              /* payload bytes */
  size_t frame_len;        /* bytes read for it, framing included */
  int raw;                 /* answer unwrapped */
  uint64_t t_frame;        /* hrtime when it was complete */
  const char *error;       /* error item: HETS code (static string) */
  ohets_srv_reason reason; /* error item: close reason */
} item;

typedef struct session {
  ohets_srv_server *srv;
  ohets_srv_transport *transport; /* NULL once closed */
  const ohets_srv_door_ops *door_ops;
  ohets_srv_door *door;        /* this connection's framing state */
  uv_timer_t idle;             /* idle disconnect; reused as the linger timer */
  uv_timer_t deadline;         /* frame (or handshake) deadline */
  unsigned handles_open;       /* transport and timers still to report closed */
  uint64_t id;                 /* key in the session table; never 0 */
  session_state state;
  head_phase phase;
  ohets_srv_reason reason;     /* why it ends (valid from ENDING on) */
  ohets_srv_waiter waiter;     /* place in dispatch's line (PHASE_WAITING) */
  unsigned listener;           /* index into cfg->listen */
  struct sockaddr_storage peer;
  char peer_text[80];          /* "1.2.3.4:5" or "[::1]:5" */
  ohets_srv_peer_id peer_id;   /* TLS client certificate */
  uint8_t *rbuf;               /* bytes read and not yet framed */
  size_t rlen, rcap;           /* used / allocated */
  size_t rmax;                 /* bound on rcap */
  uint64_t idle_ms;            /* the listener's idle disconnect */
  uint64_t frame_start_ms;     /* loop time the current partial frame began */
  uint64_t last_read_ms;       /* loop time of the last read */
  item *queue;                 /* ring of max_pipeline + 1 items */
  unsigned qhead, qlen, qcap;
  size_t qbytes;               /* payload bytes held by the queue */
  int reading;                 /* the transport is reading */
  char submitter[OHETS_SRV_SUBMITTER_LEN]; /* counted for max_connections */
  uint64_t requests;           /* answers written */
  uint64_t bytes_in, bytes_out;
  uint64_t t_open;             /* hrtime at accept */
  int logged_open;             /* the open event is out */
  int framed_last;             /* the door framed the peer's last request */
} session;

const char *ohets_srv_reason_name(ohets_srv_reason r) {
  switch (r) {
  case OHETS_SRV_REASON_IDLE: return "idle";
  case OHETS_SRV_REASON_PEER: return "peer";
  case OHETS_SRV_REASON_PROTOCOL: return "protocol";
  case OHETS_SRV_REASON_DEADLINE: return "deadline";
  case OHETS_SRV_REASON_SHUTDOWN: return "shutdown";
  case OHETS_SRV_REASON_LIMIT: return "limit";
  case OHETS_SRV_REASON_TLS: return "tls";
  }
  return "?";
}

static void step(session *s, int activity);
static void close_now(session *s, ohets_srv_reason why);

/* ------------------------------------------------------ the queue */

static item *queue_head(session *s) { return s->qlen ? &s->queue[s->qhead] : NULL; }

static item *queue_push(session *s) {
  item *it = &s->queue[(s->qhead + s->qlen) % s->qcap];
  memset(it, 0, sizeof *it);
  s->qlen++;
  return it;
}

static void queue_pop(session *s) {
  item *it = queue_head(s);
  if (it == NULL)
    return;
  s->qbytes -= it->payload ? it->len : 0;
  free(it->payload);
  memset(it, 0, sizeof *it);
  s->qhead = (s->qhead + 1) % s->qcap;
  s->qlen--;
}

/* ----------------------------------------------------------- log */

void ohets_srv_peer_text(const struct sockaddr_storage *ss, char *out, size_t n) {
  char ip[INET6_ADDRSTRLEN] = "?";
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)(const void *)ss;
    uv_ip4_name(a, ip, sizeof ip);
    snprintf(out, n, "%s:%d", ip, ntohs(a->sin_port));
  } else if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)(const void *)ss;
    uv_ip6_name(a, ip, sizeof ip);
    snprintf(out, n, "[%s]:%d", ip, ntohs(a->sin6_port));
  } else {
    snprintf(out, n, "?");
  }
}

static void log_open(session *s) {
  const ohets_srv_config *cfg = s->srv->cfg;
  if (s->logged_open)
    return;
  s->logged_open = 1;
  json_t *e = ohets_srv_log_event("open", s->id);
  if (e == NULL)
    return;
  json_object_set_new(e, "peer", json_string(s->peer_text));
  json_object_set_new(e, "listener", json_integer(s->listener));
  const ohets_srv_listen_cfg *l = &cfg->listen[s->listener];
  if (l->protocol == OHETS_SRV_PROTOCOL_CORE)
    json_object_set_new(e, "protocol", json_string("core"));
  else
    json_object_set_new(e, "framing", json_string(ohets_srv_framing_name(l->framing)));
  if (s->transport != NULL) {
    ohets_srv_transport_info info;
    ohets_srv_transport_info_get(s->transport, &info);
    if (info.tls) {
      json_t *t = json_object();
      if (info.error != NULL) {
        json_object_set_new(t, "error", json_string(info.error));
      } else {
        json_object_set_new(t, "version", json_string(info.version));
        json_object_set_new(t, "cipher", json_string(info.cipher));
        json_object_set_new(t, "client_cert_sha256",
                            info.peer_sha256 && info.peer_sha256[0]
                                ? json_string(info.peer_sha256)
                                : json_null());
      }
      json_object_set_new(e, "tls", t);
    }
  }
  ohets_srv_log_emit(s->srv->log, e);
}

static void log_request(session *s, const ohets_outcome *o, const ohets_srv_door_log *dl,
                        size_t bytes_in, size_t bytes_out, uint64_t t_frame, uint64_t t_enqueue,
                        uint64_t t_start, uint64_t t_done, int overloaded, const char *mbi_hash) {
  ohets_srv_request_log r;
  uint64_t now = uv_hrtime();
  ohets_srv_ts(r.ts, sizeof r.ts);
  r.session = s->id;
  r.seq = s->requests;
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
  ohets_srv_protocol door = s->srv->cfg->listen[s->listener].protocol;
  r.core = door == OHETS_SRV_PROTOCOL_CORE;
  r.no_answer = dl != NULL && dl->no_answer;
  r.envelope = dl != NULL ? dl->envelope : NULL;
  r.http_status = dl != NULL ? dl->http_status : 0;
  memcpy(r.payload_id, dl != NULL ? dl->payload_id : "", dl != NULL ? sizeof r.payload_id : 1);
  memcpy(r.error_code, dl != NULL ? dl->error_code : "", dl != NULL ? sizeof r.error_code : 1);
  if (r.no_answer)
    r.error[0] = '\0';
  ohets_srv_log_request(s->srv->log, &r);
  ohets_srv_metrics_request(s->srv->metrics, door, r.no_answer ? -1 : (int)o->answer, o->aaa,
                            o->n_aaa, r.total_us);
}

static void log_close(session *s) {
  ohets_srv_metrics_close(s->srv->metrics, ohets_srv_reason_name(s->reason));
  json_t *e = ohets_srv_log_event("close", s->id);
  if (e == NULL)
    return;
  json_object_set_new(e, "reason", json_string(ohets_srv_reason_name(s->reason)));
  json_object_set_new(e, "requests", json_integer((json_int_t)s->requests));
  json_object_set_new(e, "bytes", json_integer((json_int_t)(s->bytes_in + s->bytes_out)));
  json_object_set_new(e, "bytes_in", json_integer((json_int_t)s->bytes_in));
  json_object_set_new(e, "bytes_out", json_integer((json_int_t)s->bytes_out));
  json_object_set_new(e, "duration_ms",
                      json_integer((json_int_t)((uv_hrtime() - s->t_open) / 1000000u)));
  ohets_srv_log_emit(s->srv->log, e);
}

/* --------------------------------------------------------- closing */

static void free_session(session *s) {
  if (s->door != NULL)
    s->door_ops->free(s->door);
  free(s->rbuf);
  free(s->queue);
  free(s);
}

static void on_timer_closed(uv_handle_t *h) {
  session *s = h->data;
  if (--s->handles_open == 0)
    free_session(s);
}

static void on_transport_closed(void *owner) {
  session *s = owner;
  s->transport = NULL;
  if (--s->handles_open == 0)
    free_session(s);
}

static void close_now(session *s, ohets_srv_reason why) {
  if (s->state == STATE_CLOSING)
    return;
  ohets_srv_server *srv = s->srv;
  if (s->state == STATE_HANDSHAKE)
    ohets_srv_metrics_handshake(srv->metrics, 0);
  s->state = STATE_CLOSING;
  s->reason = why;
  log_open(s); /* a TLS session that never finished its handshake */
  log_close(s);
  /* From here a late worker result finds no session and is dropped. */
  ohets_srv_conntable_del(srv->sessions, s->id);
  ohets_srv_dispatch_unwait(srv->dispatch, &s->waiter);
  if (s->submitter[0])
    ohets_srv_sublimits_remove(srv->limits, s->submitter);
  while (s->qlen > 0)
    queue_pop(s);
  ohets_srv_transport_close(s->transport);
  uv_close((uv_handle_t *)&s->idle, on_timer_closed);
  uv_close((uv_handle_t *)&s->deadline, on_timer_closed);
  if (srv->stopping && ohets_srv_conntable_count(srv->sessions) == 0 && srv->drained != NULL)
    srv->drained(srv);
}

static void on_linger_timer(uv_timer_t *t) {
  session *s = t->data;
  close_now(s, s->reason);
}

static void set_reading(session *s, int on) {
  if (on && !s->reading) {
    if (ohets_srv_transport_read_start(s->transport) != 0) {
      close_now(s, OHETS_SRV_REASON_PEER);
      return;
    }
    s->reading = 1;
  } else if (!on && s->reading) {
    ohets_srv_transport_read_stop(s->transport);
    s->reading = 0;
  }
}

static void on_shutdown_done(void *owner, int status) {
  session *s = owner;
  if (s->state != STATE_SHUTTING)
    return;
  if (status < 0) {
    close_now(s, s->reason);
    return;
  }
  /* Our FIN is out.  Read (and drop) until the peer closes, so closing
   * with unread input never turns into a reset that could destroy the
   * answer we just sent. */
  s->state = STATE_LINGER;
  uv_timer_stop(&s->deadline);
  uv_timer_start(&s->idle, on_linger_timer, LINGER_MS, 0);
  set_reading(s, 1);
}

/* Everything owed has been written: end the session. */
static void end(session *s) {
  /* A peer that asked to close may still be sending (pipelined bytes we
   * will not read): FIN and linger, so no reset destroys the answer. */
  if ((s->reason == OHETS_SRV_REASON_IDLE || s->reason == OHETS_SRV_REASON_PEER) &&
      !s->framed_last) {
    close_now(s, s->reason);
    return;
  }
  set_reading(s, 0);
  uv_timer_stop(&s->idle);
  uv_timer_stop(&s->deadline);
  s->state = STATE_SHUTTING; /* nothing more happens until the FIN is out */
  if (ohets_srv_transport_shutdown(s->transport) != 0)
    close_now(s, s->reason);
}

/* Stop taking requests; answer what is queued, then end for `why`. */
static void set_ending(session *s, ohets_srv_reason why) {
  if (s->state != STATE_OPEN)
    return;
  s->state = STATE_ENDING;
  s->reason = why;
  uv_timer_stop(&s->deadline);
}

/* ---------------------------------------------------------- writing */

/* Hands an answer to the transport (taking buf's bytes).  0 on success
 * (the phase then says whether the write is still pending); a negative
 * errno when the peer cannot be written to, after closing for it. */
static int send_answer(session *s, ohets_buf *buf) {
  size_t len = buf->len;
  int rc = ohets_srv_transport_write(s->transport, buf);
  if (rc < 0) {
    close_now(s, OHETS_SRV_REASON_PEER);
    return rc;
  }
  s->bytes_out += len;
  if (rc == 1)
    s->phase = PHASE_WRITING;
  return 0;
}

static void on_write_done(void *owner, int status) {
  session *s = owner;
  if (s->state == STATE_CLOSING)
    return;
  s->phase = PHASE_READY;
  if (status < 0) {
    close_now(s, OHETS_SRV_REASON_PEER);
    return;
  }
  step(s, 1);
}

/* Answers with a HETS error record written on the loop (wrapper problems,
 * deadline, a refusal); the session then ends for `why`. */
static void answer_error_and_end(session *s, const char *code, const char *submitter,
                                 const char *trace, int raw, size_t bytes_in, uint64_t t_frame,
                                 ohets_srv_reason why) {
  ohets_now now;
  ohets_srv_now(s->srv->cfg, &now);
  ohets_buf wire;
  ohets_srv_door_log dl;
  memset(&dl, 0, sizeof dl);
  ohets_buf_init(&wire, 4096);
  int rc = s->door_ops->error_answer(code, trace, raw, &now, &wire, &dl);
  size_t out_len = wire.len;
  set_ending(s, why);
  s->reason = why;
  if (rc == 0 && send_answer(s, &wire) == 0) {
    /* Logged like a core answer, with what the loop could read. */
    ohets_outcome o;
    memset(&o, 0, sizeof o);
    o.answer = OHETS_ANSWER_HETS;
    snprintf(o.hets_code, sizeof o.hets_code, "%s", code);
    snprintf(o.submitter, sizeof o.submitter, "%s", submitter ? submitter : "");
    snprintf(o.isa13, sizeof o.isa13, "%s", trace ? trace : "");
    s->requests++;
    log_request(s, &o, &dl, bytes_in, out_len, t_frame, 0, 0, 0, 0, NULL);
  }
  ohets_buf_free(&wire);
}

/* ------------------------------------------------------ dispatching */

/* The HETS codes after which a session ends (README's table): the stream
 * cannot be trusted past them, whoever found them. */
static int hets_code_ends(const char *code) {
  return strcmp(code, "HTS00001") == 0 || strcmp(code, "HTS00002") == 0 ||
         strcmp(code, "HTS00003") == 0;
}

/* DESIGN §4 max_connections: a session counts against the first allowed
 * submitter it sends (read from the ISA).  1 when the request must be
 * refused; sub and isa13 then say what the ISA held. */
static int over_submitter_limit(session *s, const item *it, char sub[OHETS_SRV_SUBMITTER_LEN],
                                char isa13[10]) {
  int refused = s->state == STATE_ENDING && s->reason == OHETS_SRV_REASON_LIMIT;
  if (s->submitter[0] && !refused)
    return 0; /* counted already: the usual case costs nothing */
  if (s->srv->cfg->listen[s->listener].protocol != OHETS_SRV_PROTOCOL_EXTRANET)
    return 0; /* §4's limit counts Extranet sockets; an HTTP body is no ISA */
  ohets_isa_ids ids;
  if (ohets_isa_peek(it->payload, it->len, &ids) == 0) {
    memcpy(sub, ids.sender, sizeof ids.sender);
    memcpy(isa13, ids.control, sizeof ids.control);
  }
  if (refused)
    return 1; /* what it pipelined behind the refusal is refused alike */
  if (sub[0] == '\0')
    return 0;
  const ohets_partner_table *t = s->srv->partners->table;
  const ohets_partner *p = t ? ohets_partners_find(t, sub) : NULL;
  if (p == NULL || p->max_connections == 0 ||
      !ohets_srv_submitter_allowed(t, (const struct sockaddr *)&s->peer, &s->peer_id,
                                   &s->srv->cfg->listen[s->listener], sub))
    return 0;
  if (ohets_srv_sublimits_count(s->srv->limits, sub) >= p->max_connections)
    return 1;
  if (ohets_srv_sublimits_add(s->srv->limits, sub) == 0)
    memcpy(s->submitter, sub, OHETS_SRV_SUBMITTER_LEN);
  return 0;
}

/* The head of the queue goes: answered here (an error item, a refusal),
 * to the waiting line, or to a worker. */
static void take_head(session *s) {
  ohets_srv_server *srv = s->srv;
  item *it = queue_head(s);
  if (it->error != NULL) {
    item copy = *it;
    queue_pop(s);
    answer_error_and_end(s, copy.error, NULL, NULL, copy.raw, copy.frame_len, copy.t_frame,
                         copy.reason);
    return;
  }
  char isa13[10] = "", sub[OHETS_SRV_SUBMITTER_LEN] = "";
  if (over_submitter_limit(s, it, sub, isa13)) {
    item copy = *it;
    it->payload = NULL; /* freed below, after use */
    queue_pop(s);
    s->qbytes -= copy.len;
    answer_error_and_end(s, OHETS_SRV_DOOR_ERR_REFUSED, sub, isa13[0] ? isa13 : NULL, copy.raw,
                         copy.frame_len, copy.t_frame, OHETS_SRV_REASON_LIMIT);
    free(copy.payload);
    return;
  }
  if (!ohets_srv_dispatch_has_slot(srv->dispatch)) {
    s->phase = PHASE_WAITING;
    ohets_srv_dispatch_wait(srv->dispatch, &s->waiter);
    return;
  }
  ohets_srv_job *job = ohets_srv_dispatch_job(srv->dispatch);
  if (job == NULL) {
    close_now(s, OHETS_SRV_REASON_PROTOCOL);
    return;
  }
  job->conn_id = s->id;
  job->req = it->payload; /* the job owns the bytes now */
  job->req_len = it->len;
  it->payload = NULL;
  s->qbytes -= it->len;
  job->bytes_in = it->frame_len;
  job->raw = it->raw;
  job->serve = s->door_ops->serve;
  job->peer = s->peer;
  job->peer_id = s->peer_id;
  job->listener = s->listener;
  job->partners = ohets_srv_partners_hold(srv->partners);
  job->t_frame = it->t_frame;
  s->phase = PHASE_WORKING;
  ohets_srv_dispatch_submit(srv->dispatch, job);
}

static void on_slot_free(ohets_srv_waiter *w) {
  session *s = (session *)((char *)w - offsetof(session, waiter));
  s->phase = PHASE_READY;
  step(s, 0);
}

void ohets_srv_session_job_done(ohets_srv_server *srv, ohets_srv_job *job) {
  session *s = ohets_srv_conntable_get(srv->sessions, job->conn_id);
  if (s != NULL && s->phase == PHASE_WORKING) {
    s->phase = PHASE_READY;
    queue_pop(s); /* the request this job answered */
    size_t out_len = job->answer.len;
    if (job->rc != 0) {
      close_now(s, OHETS_SRV_REASON_PROTOCOL); /* no answer could be made */
    } else if (send_answer(s, &job->answer) == 0) {
      if (job->door_log.envelope == NULL && job->outcome.answer == OHETS_ANSWER_HETS &&
          hets_code_ends(job->outcome.hets_code))
        set_ending(s, OHETS_SRV_REASON_PROTOCOL);
      s->requests++;
      log_request(s, &job->outcome, &job->door_log, job->bytes_in, out_len, job->t_frame,
                  job->t_enqueue, job->t_start, job->t_done, job->overloaded, job->mbi_hash);
      /* A write still pending reports its activity when it completes. */
      step(s, s->phase != PHASE_WRITING);
    }
  }
  ohets_srv_partners_release(job->partners);
  job->partners = NULL;
  ohets_srv_dispatch_done(srv->dispatch, job);
}

/* ---------------------------------------------------------- reading */

static int decoding_allowed(const session *s) {
  if (s->framed_last)
    return 0;
  if (s->state == STATE_OPEN)
    return 1;
  /* A peer that closed its side, or a shutdown, still gets answers for
   * whole requests it already sent. */
  return s->state == STATE_ENDING &&
         (s->reason == OHETS_SRV_REASON_PEER || s->reason == OHETS_SRV_REASON_SHUTDOWN);
}

static void on_deadline(uv_timer_t *t);

/* What the door sends before a request is whole (HTTP's 100 Continue),
 * only once every earlier answer is out so it cannot overtake one. */
static void send_interim(session *s) {
  if (s->door_ops->interim == NULL || s->qlen > 0 || s->phase != PHASE_READY)
    return;
  const char *bytes = s->door_ops->interim(s->door);
  if (bytes == NULL)
    return;
  ohets_buf b;
  ohets_buf_init(&b, 256);
  if (ohets_buf_puts(&b, bytes) == 0)
    (void)send_answer(s, &b);
  ohets_buf_free(&b);
}

static void push_error(session *s, const char *code, int raw, ohets_srv_reason why) {
  item *it = queue_push(s);
  it->error = code;
  it->reason = why;
  it->raw = raw;
  it->frame_len = s->rlen;
  it->t_frame = uv_hrtime();
  s->rlen = 0; /* nothing after a broken frame can be framed */
  set_ending(s, why);
}

/* Frames what rbuf holds into the queue, as far as the bounds allow. */
static void decode(session *s) {
  const ohets_srv_config *cfg = s->srv->cfg;
  int waiting_for_bytes = 0;
  while (decoding_allowed(s) && s->rlen > 0 && s->qlen < cfg->max_pipeline &&
         s->qbytes < cfg->max_frame_bytes) {
    ohets_srv_door_request rq;
    ohets_srv_door_status st = s->door_ops->next(s->door, s->rbuf, s->rlen, &rq);
    if (st == OHETS_SRV_DOOR_NEED_MORE) {
      if (s->state != STATE_OPEN) {
        s->rlen = 0; /* a partial frame nobody will finish */
        break;
      }
      if (s->rlen < s->rmax) {
        waiting_for_bytes = 1;
        send_interim(s);
        break;
      }
      st = OHETS_SRV_DOOR_ERROR; /* cannot happen with a sane door */
      rq.error = OHETS_SRV_DOOR_ERR_TOO_BIG;
      rq.raw = s->door_ops->raw_now(s->door);
    }
    if (st == OHETS_SRV_DOOR_ERROR) {
      push_error(s, rq.error, rq.raw, OHETS_SRV_REASON_PROTOCOL);
      break;
    }
    uint8_t *copy = rq.owned;
    if (copy == NULL) {
      copy = malloc(rq.len ? rq.len : 1);
      if (copy == NULL) {
        close_now(s, OHETS_SRV_REASON_PROTOCOL);
        return;
      }
      memcpy(copy, s->rbuf + rq.off, rq.len);
    }
    item *it = queue_push(s);
    it->payload = copy;
    it->len = rq.len;
    it->frame_len = rq.consumed;
    it->raw = rq.raw;
    it->t_frame = uv_hrtime();
    s->qbytes += rq.len;
    memmove(s->rbuf, s->rbuf + rq.consumed, s->rlen - rq.consumed);
    s->rlen -= rq.consumed;
    if (rq.last) { /* answer what is queued, then close; read nothing more */
      s->framed_last = 1;
      s->rlen = 0;
      set_ending(s, OHETS_SRV_REASON_PEER);
      break;
    }
    /* The next frame's first bytes came with the last read at the latest. */
    s->frame_start_ms = s->last_read_ms;
  }
  if (s->state == STATE_CLOSING)
    return; /* an interim answer's write failed */
  /* The frame deadline runs only while we wait for the peer's bytes. */
  if (waiting_for_bytes) {
    uint64_t due = s->frame_start_ms + cfg->frame_deadline_ms;
    uint64_t now = uv_now(s->srv->loop);
    uv_timer_start(&s->deadline, on_deadline, due > now ? due - now : 0, 0);
  } else if (s->state != STATE_HANDSHAKE) {
    uv_timer_stop(&s->deadline);
  }
  if (s->rlen == 0 && s->rcap > 2 * RBUF_INITIAL) { /* give back a big buffer */
    free(s->rbuf);
    s->rbuf = NULL;
    s->rcap = 0;
  }
}

static void on_deadline(uv_timer_t *t) {
  session *s = t->data;
  if (s->state == STATE_HANDSHAKE) {
    close_now(s, OHETS_SRV_REASON_TLS); /* a handshake that never finished */
    return;
  }
  if (s->state != STATE_OPEN || s->rlen == 0)
    return;
  push_error(s, OHETS_SRV_DOOR_ERR_DEADLINE, s->door_ops->raw_now(s->door),
             OHETS_SRV_REASON_DEADLINE);
  step(s, 0);
}

static void on_alloc(void *owner, uint8_t **base, size_t *len) {
  static uint8_t sink[16384]; /* loop thread only; what a lingering peer sends */
  session *s = owner;
  if (s->state == STATE_LINGER || s->state == STATE_SHUTTING) {
    *base = sink;
    *len = sizeof sink;
    return;
  }
  if (s->rlen == s->rcap && s->rcap < s->rmax) {
    size_t cap = s->rcap ? s->rcap * 2 : RBUF_INITIAL;
    if (cap > s->rmax)
      cap = s->rmax;
    uint8_t *p = realloc(s->rbuf, cap);
    if (p != NULL) {
      s->rbuf = p;
      s->rcap = cap;
    }
  }
  /* A zero-length buffer would be reported as UV_ENOBUFS; step() stops
   * reading before that can happen. */
  *base = s->rbuf + s->rlen;
  *len = s->rcap - s->rlen;
}

static void on_read(void *owner, ssize_t n) {
  session *s = owner;
  if (s->state == STATE_CLOSING)
    return;
  if (s->state == STATE_LINGER || s->state == STATE_SHUTTING) {
    if (n < 0)
      close_now(s, s->reason);
    return; /* discarded */
  }
  if (n < 0) {
    s->reading = 0; /* the transport stopped */
    if (n == OHETS_SRV_TRANSPORT_ETLS) {
      close_now(s, OHETS_SRV_REASON_TLS);
    } else if (n == UV_EOF && s->state == STATE_OPEN) {
      /* Half-closed: answer whole requests already sent, then close. */
      set_ending(s, OHETS_SRV_REASON_PEER);
      decode(s);
      step(s, 1);
    } else if (n == UV_EOF && s->state == STATE_HANDSHAKE) {
      close_now(s, OHETS_SRV_REASON_TLS);
    } else if (n == UV_ENOBUFS) {
      close_now(s, OHETS_SRV_REASON_PROTOCOL);
    } else if (n == UV_EOF) {
      step(s, 1); /* ENDING already: nothing more to read */
    } else {
      close_now(s, OHETS_SRV_REASON_PEER);
    }
    return;
  }
  uv_update_time(s->srv->loop);
  uint64_t now = uv_now(s->srv->loop);
  if (s->rlen == 0)
    s->frame_start_ms = now; /* a new frame begins with these bytes */
  s->last_read_ms = now;
  s->rlen += (size_t)n;
  s->bytes_in += (uint64_t)n;
  decode(s);
  step(s, 1);
}

/* -------------------------------------------------------- stepping */

static void on_idle(uv_timer_t *t) {
  session *s = t->data;
  close_now(s, OHETS_SRV_REASON_IDLE);
}

static void restart_idle(session *s) {
  /* +1: the loop clock counts whole milliseconds, so never close early. */
  uv_update_time(s->srv->loop);
  uv_timer_start(&s->idle, on_idle, s->idle_ms + 1, 0);
}

/* Decides what the session does next: frame, take the head, end, read,
 * and whether the idle timer runs. */
static void step(session *s, int activity) {
  if (s->state != STATE_OPEN && s->state != STATE_ENDING)
    return;
  const ohets_srv_config *cfg = s->srv->cfg;
  decode(s);
  /* An item answered here on the loop calls back nobody when its write
   * completes at once: take the next one in the same pass. */
  while (s->qlen > 0 && s->phase == PHASE_READY &&
         (s->state == STATE_OPEN || s->state == STATE_ENDING))
    take_head(s);
  if (s->state != STATE_OPEN && s->state != STATE_ENDING)
    return;
  if (s->state == STATE_ENDING && s->qlen == 0 && s->phase == PHASE_READY) {
    end(s);
    return;
  }

  set_reading(s, s->state == STATE_OPEN && !s->srv->stopping && s->qlen < cfg->max_pipeline &&
                     s->qbytes < cfg->max_frame_bytes && s->rlen < s->rmax);
  if (s->state == STATE_CLOSING)
    return;

  /* Idle: nothing queued or working -- or the only thing pending is our
   * write to a peer that stopped reading. */
  int idle_ok = s->phase == PHASE_WRITING || (s->phase == PHASE_READY && s->qlen == 0);
  if (!idle_ok)
    uv_timer_stop(&s->idle);
  else if (activity || !uv_is_active((uv_handle_t *)&s->idle))
    restart_idle(s);
}

/* ------------------------------------------------------- transport */

static void on_activity(void *owner) {
  session *s = owner;
  if (s->state == STATE_HANDSHAKE)
    restart_idle(s);
  else if (s->state == STATE_OPEN && uv_is_active((uv_handle_t *)&s->idle))
    restart_idle(s);
}

static void on_established(void *owner) {
  session *s = owner;
  if (s->state != STATE_HANDSHAKE)
    return;
  ohets_srv_transport_info info;
  ohets_srv_transport_info_get(s->transport, &info);
  s->peer_id.tls = info.tls;
  snprintf(s->peer_id.cert_sha256, sizeof s->peer_id.cert_sha256, "%s",
           info.peer_sha256 ? info.peer_sha256 : "");
  ohets_srv_metrics_handshake(s->srv->metrics, 1);
  s->state = s->srv->stopping ? STATE_ENDING : STATE_OPEN;
  s->reason = OHETS_SRV_REASON_SHUTDOWN;
  uv_timer_stop(&s->deadline);
  log_open(s);
  step(s, 1);
}

static const ohets_srv_transport_cb transport_cb = {
    on_alloc, on_read, on_activity, on_established, on_write_done, on_shutdown_done,
    on_transport_closed,
};

/* --------------------------------------------------------- accepting */

void ohets_srv_session_accept(ohets_srv_server *srv, int fd, const struct sockaddr_storage *peer,
                              unsigned index) {
  const ohets_srv_config *cfg = srv->cfg;
  session *s = calloc(1, sizeof *s);
  item *queue = calloc(cfg->max_pipeline + 1, sizeof *queue);
  if (s == NULL || queue == NULL) {
    free(s);
    free(queue);
    close(fd);
    return;
  }
  s->srv = srv;
  s->queue = queue;
  s->qcap = (unsigned)cfg->max_pipeline + 1;
  s->door_ops = ohets_srv_door_for(&cfg->listen[index]);
  s->idle_ms = ohets_srv_listener_idle_ms(cfg, &cfg->listen[index]);
  if (s->door_ops->open(&s->door, &cfg->listen[index], cfg) != 0) {
    close(fd);
    free_session(s);
    return;
  }
  ohets_tls_ctx *tls = ohets_srv_listeners_tls(srv->listeners, index);
  int rc = tls != NULL
               ? ohets_srv_transport_tls_open(&s->transport, srv->loop, fd, tls, &transport_cb, s)
               : ohets_srv_transport_tcp_open(&s->transport, srv->loop, fd, &transport_cb, s);
  if (rc != 0) {
    free_session(s); /* the transport closed fd */
    return;
  }
  uv_timer_init(srv->loop, &s->idle);
  uv_timer_init(srv->loop, &s->deadline);
  s->idle.data = s;
  s->deadline.data = s;
  s->handles_open = 3;
  s->waiter.wake = on_slot_free;
  s->id = ++srv->next_id;
  s->listener = index;
  s->t_open = uv_hrtime();
  s->rmax = s->door_ops->max_buffer(cfg);
  s->peer = *peer; /* from accept(): known even if the peer has reset since */
  ohets_srv_peer_text(&s->peer, s->peer_text, sizeof s->peer_text);
  ohets_srv_transport_info info;
  ohets_srv_transport_info_get(s->transport, &info);
  s->state = info.tls ? STATE_HANDSHAKE : STATE_OPEN;

  int full = ohets_srv_conntable_count(srv->sessions) >= cfg->max_connections;
  if (ohets_srv_conntable_put(srv->sessions, s->id, s) != 0) {
    s->state = STATE_CLOSING;
    ohets_srv_transport_close(s->transport);
    uv_close((uv_handle_t *)&s->idle, on_timer_closed);
    uv_close((uv_handle_t *)&s->deadline, on_timer_closed);
    return;
  }
  if (full) {
    close_now(s, OHETS_SRV_REASON_LIMIT);
    return;
  }
  if (s->state == STATE_HANDSHAKE) {
    /* The handshake must end within the frame deadline; until then the
     * open event waits for what the handshake tells. */
    uv_timer_start(&s->deadline, on_deadline, cfg->frame_deadline_ms, 0);
    restart_idle(s);
    set_reading(s, 1);
    return;
  }
  log_open(s);
  step(s, 1);
}

/* --------------------------------------------------------- shutdown */

void ohets_srv_sessions_drain(ohets_srv_server *srv) {
  size_t n;
  /* Ids, not pointers, survive closes made while we walk. */
  uint64_t *ids = ohets_srv_conntable_ids(srv->sessions, &n);
  if (ids == NULL) {
    ohets_srv_sessions_close_all(srv);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    session *s = ohets_srv_conntable_get(srv->sessions, ids[i]);
    if (s == NULL)
      continue;
    if (s->state == STATE_OPEN) {
      set_ending(s, OHETS_SRV_REASON_SHUTDOWN);
      step(s, 0);
    } else if (s->state == STATE_HANDSHAKE) {
      close_now(s, OHETS_SRV_REASON_SHUTDOWN); /* nothing asked yet */
    }
  }
  free(ids);
  if (ohets_srv_conntable_count(srv->sessions) == 0 && srv->drained != NULL)
    srv->drained(srv);
}

void ohets_srv_sessions_close_all(ohets_srv_server *srv) {
  size_t n;
  uint64_t *ids = ohets_srv_conntable_ids(srv->sessions, &n);
  for (size_t i = 0; ids != NULL && i < n; i++) {
    session *s = ohets_srv_conntable_get(srv->sessions, ids[i]);
    if (s != NULL)
      close_now(s, s->state == STATE_OPEN || s->state == STATE_HANDSHAKE
                       ? OHETS_SRV_REASON_SHUTDOWN
                       : s->reason);
  }
  free(ids);
}
