/* The session log (DESIGN §9): JSON Lines written by a log thread of its
 * own, so the loop never waits on the disk.  A full queue drops lines and
 * counts them; the count is reported in the log. */
#ifndef OHETS_SERVER_SLOG_H
#define OHETS_SERVER_SLOG_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "openhets/openhets.h"

typedef struct ohets_srv_log ohets_srv_log;

int ohets_srv_log_open(ohets_srv_log **out, const char *path, unsigned queue_cap, char *err,
                       size_t errsz);
/* A new event object holding ts, event and session (in that order). */
json_t *ohets_srv_log_event(const char *event, uint64_t session);
/* Queues obj (reference stolen) for the log thread; never blocks on disk.
 * A full queue drops the line and counts it. */
void ohets_srv_log_emit(ohets_srv_log *lg, json_t *obj);

/* The "request" event, the one written per answer: the loop fills this
 * plain record and the log thread formats it, so the busiest event costs
 * the loop a copy, not a JSON tree. */
typedef struct ohets_srv_request_log {
  char ts[32];
  uint64_t session, seq;
  char submitter[16], isa13[10], st02[10];
  uint64_t bytes_in, bytes_out;
  ohets_answer answer;
  unsigned n_aaa;
  char aaa[OHETS_MAX_AAA][3];
  uint64_t queue_us, work_us, total_us;
  char error[9]; /* HETS code or TA105; "" for none */
  char ack;      /* AK901 of a 999; 0 for none */
  int overloaded;
  char mbi_hash[17];
  /* DESIGN §13: on the core door (door "core") answer may be none (null)
   * and the envelope fields are written; extranet lines only say door. */
  int core;
  int no_answer;        /* 1: no X12 answer (answer null) */
  const char *envelope; /* "soap", "mime", "wsdl"; NULL: none */
  char payload_id[40];
  int http_status;
  char error_code[40];
} ohets_srv_request_log;

/* Queues a copy of r; never blocks; a full queue drops and counts it. */
void ohets_srv_log_request(ohets_srv_log *lg, const ohets_srv_request_log *r);
/* Asks the log thread to reopen the file (logrotate). */
void ohets_srv_log_reopen(ohets_srv_log *lg);
/* Writes what is queued, stops the thread, closes the file. */
void ohets_srv_log_close(ohets_srv_log *lg);
/* Lines dropped (queue full) or lost (failed write) since start; any thread. */
uint64_t ohets_srv_log_dropped_total(const ohets_srv_log *lg);
/* RFC 3339 UTC with milliseconds into buf (at least 25 bytes). */
void ohets_srv_ts(char *buf, size_t n);

#endif /* OHETS_SERVER_SLOG_H */
