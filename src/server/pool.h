/* The worker pool: N threads, each with its own read-only store handle,
 * run the core on jobs the loop hands over; finished jobs come back to the
 * loop thread through one callback. */
#ifndef OHETS_SERVER_POOL_H
#define OHETS_SERVER_POOL_H

#include <stddef.h>

#include <uv.h>

#include "server/config.h"
#include "server/job.h"

typedef struct ohets_srv_pool ohets_srv_pool;
typedef void (*ohets_srv_done_fn)(void *arg, ohets_srv_job *job);

/* Opens one store handle per worker (errors in err), starts the threads
 * and registers on loop the handles through which finished jobs reach
 * done(arg, job) on the loop thread. */
int ohets_srv_pool_start(ohets_srv_pool **out, uv_loop_t *loop, const ohets_srv_config *cfg,
                         ohets_srv_done_fn done, void *arg, char *err, size_t errsz);
/* Before the first job: the PayloadID cache and the checked-password
 * cache the CORE door's jobs share (the caller frees them after
 * ohets_srv_pool_free). */
struct ohets_srv_replay;
struct ohets_srv_credcache;
void ohets_srv_pool_set_core(ohets_srv_pool *pool, struct ohets_srv_replay *replay,
                             struct ohets_srv_credcache *creds);
/* Loop thread: queues a job (the pool does not bound; the caller does). */
void ohets_srv_pool_submit(ohets_srv_pool *pool, ohets_srv_job *job);
/* Loop thread: finishes what is queued, joins the workers, closes the
 * handles. */
void ohets_srv_pool_stop(ohets_srv_pool *pool);
/* Any thread: 0 while the store fails (from the first failed lookup until
 * one works again); failed lookups since start; workers running a job. */
int ohets_srv_pool_store_ok(const ohets_srv_pool *pool);
uint64_t ohets_srv_pool_store_errors(const ohets_srv_pool *pool);
unsigned ohets_srv_pool_busy(const ohets_srv_pool *pool);
/* After the loop has closed the handles. */
void ohets_srv_pool_free(ohets_srv_pool *pool);

#endif /* OHETS_SERVER_POOL_H */
