/* Worker pool: N threads, each with its own read-only store handle, run
 * the core on jobs the loop hands over and send the results back through
 * one uv_async_t.
 *
 * A job owns copies of everything it needs (request bytes, peer address,
 * a held partners snapshot), so a worker never looks at a connection.  The
 * loop bounds the number of jobs in flight; the queue here just holds them
 * in arrival order. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* pthread_rwlock_t in uv.h, getopt_long, strnlen */
#endif
#include <errno.h>
#include <stdatomic.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/mutex.h"
#include "server/now.h"
#include "server/pool.h"
#include "store/store.h"

#define ANSWER_MAX (1024u * 1024 + OHETS_FRAME_OVERHEAD)

typedef struct worker {
  ohets_srv_pool *pool;
  ohets_store *store; /* this thread's handle; NULL: unavailable */
  unsigned store_epoch;  /* pool->store_epoch when the handle was opened */
  uint64_t reopen_at_ms; /* store NULL: no reopen before this (hrtime ms) */
  unsigned backoff_ms;   /* the wait after the next failed reopen */
  int lookup_failed;     /* this job: the store failed a lookup */
  int lookup_ok;         /* this job: the store answered a lookup */
  pthread_t thread;
  int started;
  ohets_buf payload;     /* the core's answer before wrapping, reused */
} worker;

#define REOPEN_BACKOFF_MIN_MS 100
#define REOPEN_BACKOFF_MAX_MS 1000 /* service back within ~1 s of a good store */

struct ohets_srv_pool {
  const ohets_srv_config *cfg;
  worker *workers;
  unsigned n;
  pthread_mutex_t mu;          /* guards the job queue and stop */
  pthread_cond_t cv;
  ohets_srv_job *head, *tail;  /* jobs waiting for a worker */
  unsigned queued;             /* jobs in the queue */
  /* Loop thread only: jobs submitted since the loop last went to poll,
   * moved to the queue in one go by flush_submitted() (a uv_prepare
   * callback, so before the loop can block): one lock and at most one
   * wake per loop iteration rather than per request. */
  ohets_srv_job *sub_head, *sub_tail;
  unsigned sub_n;
  uv_prepare_t flush;
  /* 1 from the loop's last look at done_top before it polls until it
   * returns from the poll: only then does a finished job need a wake-up
   * (an eventfd write and, as a rule, a context switch).  While the loop
   * runs, it takes finished jobs itself before it next polls. */
  atomic_int loop_polling;
  uv_check_t after_poll;
  unsigned sleeping;           /* workers waiting on cv */
  unsigned signals;            /* of those, signalled and not yet awake */
  int stop;
  /* Finished jobs, newest first: workers push with a compare-and-swap,
   * the loop takes the whole stack with one exchange (no lock, so no
   * worker ever sleeps on one behind the loop). */
  _Atomic(ohets_srv_job *) done_top;
  uv_async_t done_async;       /* wakes the loop for finished jobs */
  ohets_srv_done_fn done;
  void *done_arg;
  atomic_uint_fast32_t control; /* ISA13/GS06 of answers */
  /* Store health over all workers: 1 from the first failed lookup until a
   * lookup works again (one stderr line each way).  A failure bumps the
   * epoch so every worker reopens its handle before its next job (a file
   * replaced under us needs a new handle, not the old one). */
  atomic_int store_down;
  atomic_uint store_epoch;
  atomic_uint_fast64_t store_errors; /* failed lookups since start (metrics) */
  char db_shown[512];                /* cfg->db with a URI's password masked */
  atomic_uint busy;                  /* workers running a job (metrics) */
  unsigned delay_ms;            /* test hook: sleep per job */
  struct ohets_srv_replay *replay; /* CORE's PayloadID cache; NULL: none */
  struct ohets_srv_credcache *creds; /* CORE's checked passwords; NULL: none */
};

/* ---------------------------------------------------- partner hooks */

typedef struct partner_check {
  const ohets_srv_job *job;
  const ohets_srv_listen_cfg *listener;
  const char *only; /* the core door's authenticated submitter; NULL: §4's rules */
} partner_check;

static int job_submitter_allowed(void *ctx, const char *submitter) {
  const partner_check *pc = ctx;
  if (pc->only != NULL) /* authenticated already: the listener's list still applies */
    return strcmp(pc->only, submitter) == 0 &&
           ohets_srv_submitter_allowed(NULL, NULL, NULL, pc->listener, submitter);
  return ohets_srv_submitter_allowed(pc->job->partners->table,
                                     (const struct sockaddr *)&pc->job->peer, &pc->job->peer_id,
                                     pc->listener, submitter);
}

static int job_npi_linked(void *ctx, const char *submitter, const char *npi) {
  const partner_check *pc = ctx;
  if (pc->job->partners->table == NULL)
    return 1;
  const ohets_partner *p = ohets_partners_find(pc->job->partners->table, submitter);
  return p != NULL && ohets_partner_npi_linked(p, npi);
}

/* -------------------------------------------------------- one job */

static void mbi_hash(const ohets_srv_config *cfg, const char *mbi, char out[17]) {
  out[0] = '\0';
  if (cfg->log_hmac_key_len == 0 || mbi[0] == '\0')
    return;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (HMAC(EVP_sha256(), cfg->log_hmac_key, (int)cfg->log_hmac_key_len,
           (const unsigned char *)mbi, strlen(mbi), md, &md_len) == NULL ||
      md_len < 8)
    return;
  for (int i = 0; i < 8; i++)
    snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static uint32_t next_control(ohets_srv_pool *pool) {
  uint_fast32_t n = atomic_fetch_add(&pool->control, 1);
  return (uint32_t)(n % 999999999u) + 1;
}

/* -------------------------------------------------- store health */

static ohets_lookup_status worker_beneficiary(void *ctx, const char *mbi,
                                              ohets_beneficiary *out) {
  worker *w = ctx;
  ohets_lookup_status st = ohets_store_beneficiary(w->store, mbi, out);
  if (st == OHETS_LOOKUP_UNAVAILABLE)
    w->lookup_failed = 1;
  else
    w->lookup_ok = 1;
  return st;
}

static int worker_amounts(void *ctx, int year, ohets_program_amounts *out) {
  worker *w = ctx;
  int rc = ohets_store_amounts(w->store, year, out);
  if (rc < 0 && rc != -ENOENT)
    w->lookup_failed = 1;
  return rc;
}

static int store_reopen(worker *w, uint64_t now_ms, char *err, size_t errsz) {
  ohets_srv_pool *pool = w->pool;
  if (w->store != NULL)
    ohets_store_close(w->store);
  w->store = NULL;
  w->store_epoch = atomic_load(&pool->store_epoch);
  int rc = ohets_store_open(&w->store, pool->cfg->db, OHETS_STORE_READONLY, err, errsz);
  if (rc != 0) {
    w->store = NULL;
    w->reopen_at_ms = now_ms + w->backoff_ms;
    w->backoff_ms = w->backoff_ms * 2 > REOPEN_BACKOFF_MAX_MS ? REOPEN_BACKOFF_MAX_MS
                                                              : w->backoff_ms * 2;
  }
  return rc;
}

/* Before a job: a handle from before the last failure is reopened, a
 * missing one once its backoff has passed. */
static void store_before_job(worker *w, uint64_t now_ms) {
  char err[400];
  unsigned epoch = atomic_load(&w->pool->store_epoch);
  if (w->store != NULL && w->store_epoch == epoch)
    return;
  /* Waiting out its backoff, unless another worker has since found the
   * store working again (the epoch moved): then at once. */
  if (w->store == NULL && now_ms < w->reopen_at_ms && w->store_epoch == epoch)
    return;
  (void)store_reopen(w, now_ms, err, sizeof err);
}

/* After a job: a failed lookup drops the handle (tried again at once, then
 * with backoff); the first failure and the first lookup that works again
 * each get one stderr line. */
static void store_after_job(worker *w, uint64_t now_ms) {
  ohets_srv_pool *pool = w->pool;
  if (w->lookup_failed) {
    char err[400] = "";
    atomic_fetch_add_explicit(&pool->store_errors, 1, memory_order_relaxed);
    /* A handle older than the last failure or recovery failing late (the
     * old primary of a failover, say) is not news: reopen it quietly. */
    int superseded = w->store_epoch != atomic_load(&pool->store_epoch);
    if (!superseded)
      atomic_fetch_add(&pool->store_epoch, 1);
    w->backoff_ms = REOPEN_BACKOFF_MIN_MS;
    int rc = store_reopen(w, now_ms, err, sizeof err);
    if (!superseded && atomic_exchange(&pool->store_down, 1) == 0)
      fprintf(stderr, OHETS_SRV_PROG ": store %s: lookups failing, answering AAA 42 until it "
              "works again (%s)\n", pool->db_shown,
              rc != 0 ? err : "reopened; the next lookup will tell");
  } else if (w->lookup_ok) {
    w->backoff_ms = REOPEN_BACKOFF_MIN_MS;
    if (atomic_load_explicit(&pool->store_down, memory_order_relaxed) &&
        atomic_exchange(&pool->store_down, 0) == 1) {
      fprintf(stderr, OHETS_SRV_PROG ": store %s: lookups work again\n", pool->db_shown);
      /* Workers without a handle try again now, not after their backoff. */
      atomic_fetch_add(&pool->store_epoch, 1);
    }
  }
  w->lookup_failed = w->lookup_ok = 0;
}

/* One job's trip through the core, as the door's respond callback. */
typedef struct job_run {
  worker *w;
  ohets_srv_job *job;
} job_run;

static int job_respond(void *arg, const uint8_t *x12, size_t n, const char *submitter,
                       ohets_buf *payload, ohets_outcome *outcome) {
  job_run *run = arg;
  worker *w = run->w;
  ohets_srv_job *job = run->job;
  const ohets_srv_config *cfg = w->pool->cfg;
  ohets_lookup lookup = {worker_beneficiary, worker_amounts, w};
  partner_check pc = {job, &cfg->listen[job->listener], submitter};
  ohets_partners partners = {job_submitter_allowed, job_npi_linked, &pc};
  ohets_request_ctx ctx;
  memset(&ctx, 0, sizeof ctx);
  ctx.lookup = &lookup;
  ctx.partners = &partners;
  ohets_srv_now(cfg, &ctx.now);
  ctx.control_number = next_control(w->pool);
  ctx.overloaded = job->overloaded;

  payload->len = 0;
  int rc = ohets_respond(x12, n, &ctx, payload, outcome);
  if (rc != 0 && !ctx.overloaded) {
    /* Out of memory or room: the small overloaded answer may still fit. */
    ctx.overloaded = job->overloaded = 1;
    ohets_buf_reset(payload);
    rc = ohets_respond(x12, n, &ctx, payload, outcome);
  }
  if (w->lookup_failed && rc == 0 && !ctx.overloaded) {
    /* The store failed part-way (a record found, its amounts not): the
     * answer is AAA 42, never a 271 with part of the benefits. */
    ctx.overloaded = 1;
    ohets_buf_reset(payload);
    rc = ohets_respond(x12, n, &ctx, payload, outcome);
  }
  if (w->lookup_failed)
    job->overloaded = 1; /* answered AAA 42 for the store */
  return rc;
}

static void run_job(worker *w, ohets_srv_job *job) {
  ohets_srv_pool *pool = w->pool;
  const ohets_srv_config *cfg = pool->cfg;
  job->t_start = uv_hrtime();
  if (job->answer.data == NULL)
    ohets_buf_init(&job->answer, ANSWER_MAX);
  job->answer.len = 0; /* a reused job brings its buffer */
  memset(&job->door_log, 0, sizeof job->door_log);
  uint64_t now_ms = job->t_start / 1000000u;
  store_before_job(w, now_ms);
  uint64_t waited_ms = (job->t_start - job->t_enqueue) / 1000000u;
  job->overloaded = w->store == NULL || waited_ms > cfg->queue_budget_ms;

#ifdef OHETS_TEST_HOOKS
  /* The delay stands for a slow store lookup, which an overloaded answer
   * (AAA 42) skips. */
  if (pool->delay_ms > 0 && !job->overloaded) {
    struct timespec d = {(time_t)(pool->delay_ms / 1000),
                         (long)(pool->delay_ms % 1000) * 1000000L};
    while (nanosleep(&d, &d) != 0 && errno == EINTR)
      ;
  }
#endif

  if (w->payload.data == NULL) /* this thread's, reused per job */
    ohets_buf_init(&w->payload, ANSWER_MAX);
  w->payload.len = 0;
  job_run run = {w, job};
  ohets_srv_door_work work = {
      .req = job->req,
      .req_len = job->req_len,
      .raw = job->raw,
      .peer_id = &job->peer_id,
      .partners = job->partners->table,
      .listener = &cfg->listen[job->listener],
      .cfg = cfg,
      .replay = pool->replay,
      .creds = pool->creds,
      .respond = job_respond,
      .respond_ctx = &run,
      .scratch = &w->payload,
      .answer = &job->answer,
      .outcome = &job->outcome,
      .log = &job->door_log,
  };
  int rc = job->serve(&work);
  store_after_job(w, now_ms);
  if (rc == 0)
    mbi_hash(cfg, job->outcome.mbi, job->mbi_hash);
  /* The MBI stays in this thread: the loop gets its keyed hash at most. */
  memset(job->outcome.mbi, 0, sizeof job->outcome.mbi);
  if (w->payload.data != NULL)
    memset(w->payload.data, 0, w->payload.len);
  w->payload.len = 0;
  job->rc = rc;
  job->t_done = uv_hrtime();
}

static void *worker_main(void *arg) {
  worker *w = arg;
  ohets_srv_pool *pool = w->pool;
  for (;;) {
    pthread_mutex_lock(&pool->mu);
    while (pool->head == NULL && !pool->stop) {
      pool->sleeping++;
      pthread_cond_wait(&pool->cv, &pool->mu);
      pool->sleeping--;
      if (pool->signals > 0)
        pool->signals--;
    }
    ohets_srv_job *job = pool->head;
    if (job != NULL) {
      pool->queued--;
      pool->head = job->next;
      if (pool->head == NULL)
        pool->tail = NULL;
      job->next = NULL;
    }
    int stop = pool->stop;
    pthread_mutex_unlock(&pool->mu);
    if (job == NULL && stop)
      break;
    if (job == NULL)
      continue;
    atomic_fetch_add_explicit(&pool->busy, 1, memory_order_relaxed);
    run_job(w, job);
    atomic_fetch_sub_explicit(&pool->busy, 1, memory_order_relaxed);
    /* The job is the loop's once pushed. */
    job->next = atomic_load_explicit(&pool->done_top, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&pool->done_top, &job->next, job,
                                                  memory_order_seq_cst,
                                                  memory_order_relaxed))
      ;
    /* Paired with before_poll(): the push above and the loop's flag store
     * are both sequentially consistent, so either the loop sees this job
     * before it polls or this sees the flag and wakes it. */
    if (atomic_load(&pool->loop_polling))
      uv_async_send(&pool->done_async);
  }
  return NULL;
}

/* Loop thread: hands every finished job to the server. */
static void on_done_async(uv_async_t *h) {
  ohets_srv_pool *pool = h->data;
  ohets_srv_job *top = atomic_exchange_explicit(&pool->done_top, NULL,
                                                memory_order_acquire);
  ohets_srv_job *job = NULL; /* oldest first */
  while (top != NULL) {
    ohets_srv_job *next = top->next;
    top->next = job;
    job = top;
    top = next;
  }
  while (job != NULL) {
    ohets_srv_job *next = job->next;
    job->next = NULL;
    pool->done(pool->done_arg, job);
    job = next;
  }
}

static void flush_submitted(ohets_srv_pool *pool) {
  if (pool->sub_n == 0)
    return;
  pthread_mutex_lock(&pool->mu);
  if (pool->tail != NULL)
    pool->tail->next = pool->sub_head;
  else
    pool->head = pool->sub_head;
  pool->tail = pool->sub_tail;
  pool->queued += pool->sub_n;
  /* Wake workers only while the queue holds more jobs than the workers
   * already awake will take: each wake is a futex call here and a context
   * switch there, the largest cost measured on a small machine
   * (docs/performance.md).  A worker sleeps only on an empty queue, so a
   * job is never left with every worker asleep. */
  while (pool->queued > pool->n - pool->sleeping + pool->signals &&
         pool->sleeping > pool->signals) {
    pool->signals++;
    pthread_cond_signal(&pool->cv);
  }
  pthread_mutex_unlock(&pool->mu);
  pool->sub_head = pool->sub_tail = NULL;
  pool->sub_n = 0;
}

/* Loop thread, right before it polls: answers first (they may let queued
 * requests go), then the jobs submitted this iteration; the flag tells
 * workers from here on that the loop may be asleep.  Answers that arrive
 * meanwhile are taken a few times over; after that the loop wakes itself,
 * so that busy workers cannot keep it from its sockets and timers. */
#define BEFORE_POLL_PASSES 4
static void before_poll(uv_prepare_t *h) {
  ohets_srv_pool *pool = h->data;
  for (int pass = 1;; pass++) {
    on_done_async(&pool->done_async);
    flush_submitted(pool);
    atomic_store(&pool->loop_polling, 1);
    if (atomic_load(&pool->done_top) == NULL)
      return;
    if (pass == BEFORE_POLL_PASSES) {
      uv_async_send(&pool->done_async); /* the poll returns at once */
      return;
    }
    atomic_store(&pool->loop_polling, 0);
  }
}

static void after_poll(uv_check_t *h) {
  ohets_srv_pool *pool = h->data;
  atomic_store_explicit(&pool->loop_polling, 0, memory_order_relaxed);
}

int ohets_srv_pool_start(ohets_srv_pool **out, uv_loop_t *loop,
                         const ohets_srv_config *cfg, ohets_srv_done_fn done,
                         void *arg, char *err, size_t errsz) {
  int rc = 0;
  ohets_srv_pool *pool = calloc(1, sizeof *pool);
  if (pool == NULL || (pool->workers = calloc(cfg->workers, sizeof *pool->workers)) == NULL) {
    free(pool);
    snprintf(err, errsz, "out of memory");
    return -ENOMEM;
  }
  pool->cfg = cfg;
  pool->n = cfg->workers;
  pool->done = done;
  pool->done_arg = arg;
  atomic_init(&pool->control, 0);
  atomic_init(&pool->store_down, 0);
  atomic_init(&pool->store_errors, 0);
  ohets_store_redact(cfg->db, pool->db_shown, sizeof pool->db_shown);
  atomic_init(&pool->busy, 0);
  atomic_init(&pool->store_epoch, 0);
#ifdef OHETS_TEST_HOOKS
  const char *delay = getenv("OPENHETS_TEST_DELAY_MS");
  if (delay != NULL)
    pool->delay_ms = (unsigned)strtoul(delay, NULL, 10);
#endif
  /* Open every handle before any thread starts so a bad store is one
   * clear error at startup. */
  for (unsigned i = 0; i < pool->n; i++) {
    pool->workers[i].pool = pool;
    pool->workers[i].backoff_ms = REOPEN_BACKOFF_MIN_MS;
    char serr[400];
    rc = ohets_store_open(&pool->workers[i].store, cfg->db, OHETS_STORE_READONLY,
                          serr, sizeof serr);
    if (rc != 0) {
      snprintf(err, errsz, "db: %s", serr);
      goto fail;
    }
  }
  ohets_srv_mutex_init(&pool->mu);
  pthread_cond_init(&pool->cv, NULL);
  atomic_init(&pool->done_top, NULL);
  rc = uv_async_init(loop, &pool->done_async, on_done_async);
  if (rc != 0) {
    snprintf(err, errsz, "worker pool: %s", uv_strerror(rc));
    goto fail_sync;
  }
  pool->done_async.data = pool;
  uv_prepare_init(loop, &pool->flush);
  pool->flush.data = pool;
  uv_prepare_start(&pool->flush, before_poll);
  uv_unref((uv_handle_t *)&pool->flush); /* never what keeps the loop alive */
  atomic_init(&pool->loop_polling, 0);
  uv_check_init(loop, &pool->after_poll);
  pool->after_poll.data = pool;
  uv_check_start(&pool->after_poll, after_poll);
  uv_unref((uv_handle_t *)&pool->after_poll);
  for (unsigned i = 0; i < pool->n; i++) {
    rc = pthread_create(&pool->workers[i].thread, NULL, worker_main, &pool->workers[i]);
    if (rc != 0) {
      snprintf(err, errsz, "worker pool: cannot start thread: %s", strerror(rc));
      rc = -rc;
      ohets_srv_pool_stop(pool);
      return rc; /* handle closing; the caller runs the loop and frees */
    }
    pool->workers[i].started = 1;
  }
  *out = pool;
  return 0;
fail_sync:
  pthread_mutex_destroy(&pool->mu);
  pthread_cond_destroy(&pool->cv);
fail:
  for (unsigned i = 0; i < pool->n; i++)
    if (pool->workers[i].store != NULL)
      ohets_store_close(pool->workers[i].store);
  free(pool->workers);
  free(pool);
  return rc;
}

void ohets_srv_pool_submit(ohets_srv_pool *pool, ohets_srv_job *job) {
  job->next = NULL;
  job->t_enqueue = uv_hrtime();
  if (pool->sub_tail != NULL)
    pool->sub_tail->next = job;
  else
    pool->sub_head = job;
  pool->sub_tail = job;
  pool->sub_n++;
}


void ohets_srv_pool_stop(ohets_srv_pool *pool) {
  if (pool == NULL)
    return;
  flush_submitted(pool); /* owed answers too */
  uv_prepare_stop(&pool->flush);
  uv_close((uv_handle_t *)&pool->flush, NULL);
  uv_check_stop(&pool->after_poll);
  uv_close((uv_handle_t *)&pool->after_poll, NULL);
  /* No prepare callback any more: every finished job wakes the loop. */
  atomic_store(&pool->loop_polling, 1);
  pthread_mutex_lock(&pool->mu);
  pool->stop = 1;
  pthread_cond_broadcast(&pool->cv);
  pthread_mutex_unlock(&pool->mu);
  /* Workers finish the queue first (those answers are owed), then exit. */
  for (unsigned i = 0; i < pool->n; i++)
    if (pool->workers[i].started) {
      pthread_join(pool->workers[i].thread, NULL);
      pool->workers[i].started = 0;
    }
  /* Results that arrived after the last async callback. */
  on_done_async(&pool->done_async);
  uv_close((uv_handle_t *)&pool->done_async, NULL);
}

void ohets_srv_pool_free(ohets_srv_pool *pool) {
  if (pool == NULL)
    return;
  for (unsigned i = 0; i < pool->n; i++) {
    if (pool->workers[i].store != NULL)
      ohets_store_close(pool->workers[i].store);
    ohets_buf_free(&pool->workers[i].payload);
  }
  pthread_mutex_destroy(&pool->mu);
  pthread_cond_destroy(&pool->cv);
  /* Nothing should be left; free defensively. */
  while (pool->head != NULL) {
    ohets_srv_job *j = pool->head;
    pool->head = j->next;
    ohets_srv_job_free(j);
  }
  free(pool->workers);
  free(pool);
}

void ohets_srv_pool_set_core(ohets_srv_pool *pool, struct ohets_srv_replay *replay,
                             struct ohets_srv_credcache *creds) {
  pool->replay = replay;
  pool->creds = creds;
}

int ohets_srv_pool_store_ok(const ohets_srv_pool *pool) {
  return pool != NULL && !atomic_load_explicit(&pool->store_down, memory_order_relaxed);
}

uint64_t ohets_srv_pool_store_errors(const ohets_srv_pool *pool) {
  return pool != NULL ? atomic_load_explicit(&pool->store_errors, memory_order_relaxed) : 0;
}

unsigned ohets_srv_pool_busy(const ohets_srv_pool *pool) {
  return pool != NULL ? atomic_load_explicit(&pool->busy, memory_order_relaxed) : 0;
}
