/* openhetsd's wiring: the modules one server is made of, owned by main.c
 * and shared by the sessions.  Each module's insides are its own (see its
 * header); this struct holds only their handles.
 *
 * Threads: one libuv loop thread owns every socket, timer and session;
 * N worker threads run the core (each with its own store handle); one log
 * thread writes the session log.  Workers and the log thread never touch a
 * session: jobs carry copies and the session's 64-bit id. */
#ifndef OHETS_SERVER_SERVER_H
#define OHETS_SERVER_SERVER_H

#include <stdint.h>

#include <uv.h>

#include "server/config.h"
#include "server/conntable.h"
#include "server/dispatch.h"
#include "server/listener.h"
#include "server/metrics.h"
#include "server/partners_ref.h"
#include "server/pool.h"
#include "server/slog.h"
#include "server/sublimits.h"

typedef struct ohets_srv_server {
  uv_loop_t *loop;
  const ohets_srv_config *cfg;
  ohets_srv_log *log;
  ohets_srv_pool *pool;
  ohets_srv_dispatch *dispatch;      /* job slots, waiting line, spare jobs */
  ohets_srv_conntable *sessions;     /* open sessions by id */
  ohets_srv_sublimits *limits;       /* sessions per submitter */
  ohets_srv_listeners *listeners;
  ohets_srv_partners_ref *partners;  /* current snapshot (one ref held) */
  ohets_srv_metrics *metrics;        /* counted as the log is written */
  uint64_t next_id;                  /* last session id given */
  int stopping;                      /* draining: read nothing new */
  /* Called when the last session has closed while stopping. */
  void (*drained)(struct ohets_srv_server *srv);
} ohets_srv_server;

#endif /* OHETS_SERVER_SERVER_H */
