/* Dispatch: job slots, the waiting line and spare jobs (dispatch.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "server/dispatch.h"

#define SPARE_JOBS_MAX 1024

struct ohets_srv_dispatch {
  ohets_srv_pool *pool;
  unsigned max_jobs;
  unsigned in_flight;          /* jobs handed to the pool, not yet back */
  ohets_srv_job *spare;        /* answered jobs kept for reuse */
  unsigned n_spare;
  ohets_srv_waiter *head, *tail; /* waiting for a slot, oldest first */
};

void ohets_srv_job_free(ohets_srv_job *job) {
  if (job == NULL)
    return;
  free(job->req);
  ohets_buf_free(&job->answer);
  memset(&job->outcome, 0, sizeof job->outcome);
  free(job);
}

int ohets_srv_dispatch_new(ohets_srv_dispatch **out, unsigned max_jobs) {
  ohets_srv_dispatch *d = calloc(1, sizeof *d);
  if (d == NULL)
    return -ENOMEM;
  d->max_jobs = max_jobs;
  *out = d;
  return 0;
}

void ohets_srv_dispatch_free(ohets_srv_dispatch *d) {
  if (d == NULL)
    return;
  while (d->spare != NULL) {
    ohets_srv_job *job = d->spare;
    d->spare = job->next;
    ohets_srv_job_free(job);
  }
  free(d);
}

void ohets_srv_dispatch_set_pool(ohets_srv_dispatch *d, ohets_srv_pool *pool) { d->pool = pool; }

int ohets_srv_dispatch_has_slot(const ohets_srv_dispatch *d) {
  return d->in_flight < d->max_jobs;
}

unsigned ohets_srv_dispatch_in_flight(const ohets_srv_dispatch *d) { return d->in_flight; }

void ohets_srv_dispatch_wait(ohets_srv_dispatch *d, ohets_srv_waiter *w) {
  if (w->waiting)
    return;
  w->waiting = 1;
  w->next = NULL;
  w->prev = d->tail;
  if (d->tail != NULL)
    d->tail->next = w;
  else
    d->head = w;
  d->tail = w;
}

void ohets_srv_dispatch_unwait(ohets_srv_dispatch *d, ohets_srv_waiter *w) {
  if (!w->waiting)
    return;
  if (w->prev != NULL)
    w->prev->next = w->next;
  else
    d->head = w->next;
  if (w->next != NULL)
    w->next->prev = w->prev;
  else
    d->tail = w->prev;
  w->prev = w->next = NULL;
  w->waiting = 0;
}

ohets_srv_job *ohets_srv_dispatch_job(ohets_srv_dispatch *d) {
  ohets_srv_job *job = d->spare;
  if (job == NULL)
    return calloc(1, sizeof *job);
  d->spare = job->next;
  d->n_spare--;
  ohets_buf answer = job->answer; /* keeps its memory for the next answer */
  memset(job, 0, sizeof *job);
  job->answer = answer;
  job->answer.len = 0;
  return job;
}

void ohets_srv_dispatch_submit(ohets_srv_dispatch *d, ohets_srv_job *job) {
  d->in_flight++;
  ohets_srv_pool_submit(d->pool, job);
}

void ohets_srv_dispatch_done(ohets_srv_dispatch *d, ohets_srv_job *job) {
  d->in_flight--;
  if (d->n_spare >= SPARE_JOBS_MAX) {
    ohets_srv_job_free(job);
  } else {
    free(job->req); /* the loop's own allocation */
    job->req = NULL;
    memset(&job->outcome, 0, sizeof job->outcome);
    job->next = d->spare;
    d->spare = job;
    d->n_spare++;
  }
  while (d->head != NULL && d->in_flight < d->max_jobs) {
    ohets_srv_waiter *w = d->head;
    ohets_srv_dispatch_unwait(d, w);
    w->wake(w);
  }
}
