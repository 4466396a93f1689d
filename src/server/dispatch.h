/* Dispatch: the bound on jobs with the workers (max_jobs), the connections
 * waiting in arrival order for a free slot, and answered jobs kept for
 * reuse.  Loop thread only. */
#ifndef OHETS_SERVER_DISPATCH_H
#define OHETS_SERVER_DISPATCH_H

#include "server/job.h"
#include "server/pool.h"

typedef struct ohets_srv_dispatch ohets_srv_dispatch;

/* A connection's place in the waiting line; embedded in the session.
 * wake is called (on the loop) when a slot frees up for it. */
typedef struct ohets_srv_waiter {
  struct ohets_srv_waiter *prev, *next;
  int waiting;
  void (*wake)(struct ohets_srv_waiter *w);
} ohets_srv_waiter;

int ohets_srv_dispatch_new(ohets_srv_dispatch **out, unsigned max_jobs);
void ohets_srv_dispatch_free(ohets_srv_dispatch *d);
/* The pool jobs go to (set once it has started). */
void ohets_srv_dispatch_set_pool(ohets_srv_dispatch *d, ohets_srv_pool *pool);
/* 1 when a job may be submitted now. */
int ohets_srv_dispatch_has_slot(const ohets_srv_dispatch *d);
unsigned ohets_srv_dispatch_in_flight(const ohets_srv_dispatch *d);
/* Joins the waiting line (at its end). */
void ohets_srv_dispatch_wait(ohets_srv_dispatch *d, ohets_srv_waiter *w);
/* Leaves the waiting line, if on it. */
void ohets_srv_dispatch_unwait(ohets_srv_dispatch *d, ohets_srv_waiter *w);
/* A job to fill: a spare one when there is (its answer buffer kept), else
 * a new one; NULL when out of memory. */
ohets_srv_job *ohets_srv_dispatch_job(ohets_srv_dispatch *d);
/* Hands a filled job to the pool; it counts against max_jobs until
 * ohets_srv_dispatch_done. */
void ohets_srv_dispatch_submit(ohets_srv_dispatch *d, ohets_srv_job *job);
/* A job came back: keeps it for reuse (the loop then never frees a
 * worker's allocation: a cross-thread free takes the worker's malloc arena
 * lock) and wakes waiters, oldest first, while slots are free. */
void ohets_srv_dispatch_done(ohets_srv_dispatch *d, ohets_srv_job *job);

#endif /* OHETS_SERVER_DISPATCH_H */
