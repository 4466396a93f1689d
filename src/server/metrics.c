/* Metrics (metrics.h): plain counters on the loop thread, rendered on
 * demand.  A request costs a few increments and a walk over 16 bucket
 * bounds. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/metrics.h"

#define N_DOORS 2
#define N_ANSWERS 5 /* 271, 999, TA1, HETS, and none (a CORE envelope or HTTP error) */
#define MAX_AAA_CODES 64
#define N_BUCKETS 16

static const char *const door_names[N_DOORS] = {"extranet", "core"};
static const char *const close_reasons[] = {"idle",     "peer",  "protocol", "deadline",
                                            "shutdown", "limit", "tls"};
#define N_REASONS (sizeof close_reasons / sizeof close_reasons[0])
/* 0.1 ms to 10 s, in microseconds (the answers' latency, not the network's). */
static const uint64_t bucket_us[N_BUCKETS] = {100,    250,    500,     1000,    2500,    5000,
                                              10000,  25000,  50000,   100000,  250000,  500000,
                                              1000000, 2500000, 5000000, 10000000};

struct ohets_srv_metrics {
  uint64_t requests[N_DOORS][N_ANSWERS];
  char aaa_code[MAX_AAA_CODES][3];
  uint64_t aaa_count[MAX_AAA_CODES];
  unsigned n_aaa_codes;
  uint64_t aaa_other;              /* codes past the table's room */
  uint64_t closes[N_REASONS];
  uint64_t buckets[N_BUCKETS + 1]; /* the last: above 10 s */
  uint64_t duration_sum_us, duration_count;
  uint64_t handshakes_ok, handshakes_failed;
};

int ohets_srv_metrics_new(ohets_srv_metrics **out) {
  *out = calloc(1, sizeof **out);
  return *out != NULL ? 0 : -ENOMEM;
}

void ohets_srv_metrics_free(ohets_srv_metrics *m) { free(m); }

static void count_aaa(ohets_srv_metrics *m, const char code[3]) {
  for (unsigned i = 0; i < m->n_aaa_codes; i++)
    if (m->aaa_code[i][0] == code[0] && m->aaa_code[i][1] == code[1]) {
      m->aaa_count[i]++;
      return;
    }
  if (m->n_aaa_codes == MAX_AAA_CODES) {
    m->aaa_other++;
    return;
  }
  memcpy(m->aaa_code[m->n_aaa_codes], code, 2);
  m->aaa_code[m->n_aaa_codes][2] = '\0';
  m->aaa_count[m->n_aaa_codes++] = 1;
}

void ohets_srv_metrics_request(ohets_srv_metrics *m, ohets_srv_protocol door, int answer,
                               const char (*aaa)[3], unsigned n_aaa, uint64_t total_us) {
  unsigned d = door == OHETS_SRV_PROTOCOL_CORE;
  unsigned a = answer < 0 ? N_ANSWERS - 1 : (unsigned)answer;
  if (a < N_ANSWERS)
    m->requests[d][a]++;
  for (unsigned i = 0; i < n_aaa; i++)
    count_aaa(m, aaa[i]);
  unsigned b = 0;
  while (b < N_BUCKETS && total_us > bucket_us[b])
    b++;
  m->buckets[b]++;
  m->duration_sum_us += total_us;
  m->duration_count++;
}

void ohets_srv_metrics_close(ohets_srv_metrics *m, const char *reason) {
  for (size_t i = 0; i < N_REASONS; i++)
    if (strcmp(close_reasons[i], reason) == 0) {
      m->closes[i]++;
      return;
    }
}

void ohets_srv_metrics_handshake(ohets_srv_metrics *m, int ok) {
  if (ok)
    m->handshakes_ok++;
  else
    m->handshakes_failed++;
}

/* ----------------------------------------------------------- render */

typedef struct out {
  char *buf;
  size_t len, cap;
  int failed;
} out;

__attribute__((format(printf, 2, 3))) static void put(out *o, const char *fmt, ...) {
  if (o->failed)
    return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n < 0) {
      o->failed = 1;
      return;
    }
    if ((size_t)n < o->cap - o->len) {
      o->len += (size_t)n;
      return;
    }
    size_t cap = o->cap * 2 + (size_t)n;
    char *more = realloc(o->buf, cap);
    if (more == NULL) {
      o->failed = 1;
      return;
    }
    o->buf = more;
    o->cap = cap;
  }
}

static void family(out *o, const char *name, const char *type, const char *help) {
  put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

char *ohets_srv_metrics_render(const ohets_srv_metrics *m, const ohets_srv_metrics_gauges *g,
                               size_t *len) {
  out o = {malloc(8192), 0, 8192, 0};
  if (o.buf == NULL)
    return NULL;
  family(&o, "openhets_requests_total", "counter",
         "Answers written, by door and answer type (271, 999, TA1, HETS; none: a CORE "
         "envelope or HTTP error without an X12 answer).");
  for (unsigned d = 0; d < N_DOORS; d++)
    for (unsigned a = 0; a < N_ANSWERS; a++)
      put(&o, "openhets_requests_total{door=\"%s\",answer=\"%s\"} %llu\n", door_names[d],
          a == N_ANSWERS - 1 ? "none" : ohets_answer_name((ohets_answer)a),
          (unsigned long long)m->requests[d][a]);
  family(&o, "openhets_aaa_total", "counter", "AAA reject reason codes written in 271s.");
  for (unsigned i = 0; i < m->n_aaa_codes; i++)
    put(&o, "openhets_aaa_total{code=\"%s\"} %llu\n", m->aaa_code[i],
        (unsigned long long)m->aaa_count[i]);
  if (m->aaa_other > 0)
    put(&o, "openhets_aaa_total{code=\"other\"} %llu\n", (unsigned long long)m->aaa_other);
  family(&o, "openhets_closes_total", "counter", "Connections closed, by the close event's reason.");
  for (size_t i = 0; i < N_REASONS; i++)
    put(&o, "openhets_closes_total{reason=\"%s\"} %llu\n", close_reasons[i],
        (unsigned long long)m->closes[i]);
  family(&o, "openhets_connections_open", "gauge", "Connections open now.");
  put(&o, "openhets_connections_open %llu\n", (unsigned long long)g->connections_open);
  family(&o, "openhets_request_duration_seconds", "histogram",
         "Time from a request being whole to its answer being written.");
  uint64_t cumulative = 0;
  for (unsigned b = 0; b < N_BUCKETS; b++) {
    cumulative += m->buckets[b];
    put(&o, "openhets_request_duration_seconds_bucket{le=\"%g\"} %llu\n", (double)bucket_us[b] / 1e6,
        (unsigned long long)cumulative);
  }
  cumulative += m->buckets[N_BUCKETS];
  put(&o, "openhets_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
      (unsigned long long)cumulative);
  put(&o, "openhets_request_duration_seconds_sum %.6f\n", (double)m->duration_sum_us / 1e6);
  put(&o, "openhets_request_duration_seconds_count %llu\n",
      (unsigned long long)m->duration_count);
  family(&o, "openhets_queue_depth", "gauge", "Requests with the workers, queued or running.");
  put(&o, "openhets_queue_depth %llu\n", (unsigned long long)g->queue_depth);
  family(&o, "openhets_workers_busy", "gauge", "Worker threads running a request now.");
  put(&o, "openhets_workers_busy %llu\n", (unsigned long long)g->workers_busy);
  family(&o, "openhets_log_dropped_total", "counter",
         "Session-log lines dropped (queue full) or lost (failed write).");
  put(&o, "openhets_log_dropped_total %llu\n", (unsigned long long)g->log_dropped);
  family(&o, "openhets_store_errors_total", "counter", "Eligibility store lookups that failed.");
  put(&o, "openhets_store_errors_total %llu\n", (unsigned long long)g->store_errors);
  family(&o, "openhets_tls_handshakes_total", "counter", "TLS handshakes, by result.");
  put(&o, "openhets_tls_handshakes_total{result=\"ok\"} %llu\n",
      (unsigned long long)m->handshakes_ok);
  put(&o, "openhets_tls_handshakes_total{result=\"failed\"} %llu\n",
      (unsigned long long)m->handshakes_failed);
  family(&o, "openhets_build_info", "gauge", "The running build; always 1.");
  put(&o, "openhets_build_info{version=\"%s\"} 1\n", OHETS_VERSION_STRING);
  if (o.failed) {
    free(o.buf);
    return NULL;
  }
  *len = o.len;
  return o.buf;
}
