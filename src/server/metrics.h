/* Metrics for Prometheus (DESIGN §14): counters the loop keeps as it logs
 * (so they agree with the session log), read and rendered in the text
 * exposition format by the admin endpoint.  Loop thread only; what other
 * threads count (busy workers, store errors, log drops) is read from
 * their modules when rendering. */
#ifndef OHETS_SERVER_METRICS_H
#define OHETS_SERVER_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "openhets/openhets.h"
#include "server/config.h"

typedef struct ohets_srv_metrics ohets_srv_metrics;

/* What only other modules know, filled in when rendering. */
typedef struct ohets_srv_metrics_gauges {
  uint64_t connections_open;
  uint64_t queue_depth;     /* requests with the workers (queued or running) */
  uint64_t workers_busy;
  uint64_t log_dropped;     /* session-log lines dropped or lost, since start */
  uint64_t store_errors;    /* failed lookups, since start */
} ohets_srv_metrics_gauges;

int ohets_srv_metrics_new(ohets_srv_metrics **out);
void ohets_srv_metrics_free(ohets_srv_metrics *m);

/* One answer written (the `request` log line): door "extranet" (or
 * "core"), its answer type, its AAA codes, and the time from the request
 * being whole to the answer being written. */
/* answer: an ohets_answer, or -1 for none (a CORE envelope or HTTP error). */
void ohets_srv_metrics_request(ohets_srv_metrics *m, ohets_srv_protocol door, int answer,
                               const char (*aaa)[3], unsigned n_aaa, uint64_t total_us);
/* One `close` (reason as the log names it). */
void ohets_srv_metrics_close(ohets_srv_metrics *m, const char *reason);
/* A TLS handshake ended: 1 done, 0 failed. */
void ohets_srv_metrics_handshake(ohets_srv_metrics *m, int ok);

/* The whole exposition, text format 0.0.4, into a malloc'd string (*len
 * its length); NULL when out of memory. */
char *ohets_srv_metrics_render(const ohets_srv_metrics *m, const ohets_srv_metrics_gauges *g,
                               size_t *len);

#endif /* OHETS_SERVER_METRICS_H */
