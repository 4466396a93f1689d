/* openhetsd private interfaces: configuration, listeners, sessions, the
 * worker pool, partner snapshots and the session log.
 *
 * Threads: one libuv loop thread owns every socket, timer and connection;
 * N worker threads run the core (each with its own store handle); one log
 * thread writes the session log.  Workers and the log thread never touch a
 * connection: jobs carry copies and the connection's 64-bit id.
 *
 * Functions return 0 or a negative errno (or UV_E*) value unless they say
 * otherwise. */
#ifndef OHETS_SERVER_SERVER_H
#define OHETS_SERVER_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <jansson.h>
#include <uv.h>

#include "openhets/openhets.h"
#include "store/partners.h"
#include "store/store.h"

#define OHETS_SRV_PROG "openhetsd"

/* ------------------------------------------------------------ config */

#define OHETS_SRV_MAX_LISTENERS 64
#define OHETS_SRV_SUBMITTER_LEN 16 /* ISA06 is 15 characters */

typedef struct ohets_srv_listen_cfg {
  char host[64];            /* numeric IPv4 or IPv6 address */
  int port;                 /* 0: the kernel picks a free port */
  ohets_framing framing;    /* hets, raw or auto */
  char (*submitters)[OHETS_SRV_SUBMITTER_LEN]; /* allowed IDs; NULL: any */
  size_t n_submitters;
  int has_submitters;       /* 1: "submitters" given (even empty) */
} ohets_srv_listen_cfg;

typedef struct ohets_srv_config {
  ohets_srv_listen_cfg listen[OHETS_SRV_MAX_LISTENERS];
  size_t n_listen;
  char db[4096];            /* SQLite store */
  char partners[4096];      /* partners.json; "": everyone allowed */
  char log[4096];           /* session log path; "-": stdout */
  char log_hmac_key_file[4096];
  uint8_t log_hmac_key[256]; /* key for the MBI correlation hash */
  size_t log_hmac_key_len;   /* 0: no mbi_hash in the log */
  unsigned workers;          /* worker threads; 0 in the file: cores */
  uint64_t idle_timeout_ms;
  uint64_t frame_deadline_ms;
  uint64_t queue_budget_ms;  /* queue wait past this answers AAA 42 */
  uint64_t shutdown_timeout_ms; /* drain limit after SIGTERM */
  size_t max_frame_bytes;
  unsigned max_connections;  /* open sockets, all listeners */
  unsigned max_pipeline;     /* decoded requests queued per connection */
  unsigned max_jobs;         /* jobs queued or running, all connections */
  unsigned log_queue;        /* session-log lines waiting for the disk */
  char today[11];            /* YYYY-MM-DD pin; "": the clock's date */
  char user[64];             /* started as root: drop to this user; "": stay */
} ohets_srv_config;

/* Problems found while reading the configuration: one line each, naming
 * the key (or option) that is wrong. */
#define OHETS_SRV_MAX_PROBLEMS 32
typedef struct ohets_srv_problems {
  char line[OHETS_SRV_MAX_PROBLEMS][320];
  unsigned n;
} ohets_srv_problems;

void ohets_srv_problem(ohets_srv_problems *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void ohets_srv_config_defaults(ohets_srv_config *cfg);
/* Reads a JSON config file over cfg; problems are collected, not fatal. */
void ohets_srv_config_load(ohets_srv_config *cfg, const char *path,
                           ohets_srv_problems *p);

/* What the command line asked for. */
typedef enum ohets_srv_cli_result {
  OHETS_SRV_CLI_RUN = 0,
  OHETS_SRV_CLI_CHECK,   /* --check-config */
  OHETS_SRV_CLI_EXIT_OK, /* --help / --version printed */
  OHETS_SRV_CLI_USAGE    /* usage error printed: exit 2 */
} ohets_srv_cli_result;

/* Parses argv: defaults, then the -c file, then the overrides.  Problems
 * with the file or an override's value land in p. */
ohets_srv_cli_result ohets_srv_config_from_args(int argc, char **argv,
                                                ohets_srv_config *cfg,
                                                ohets_srv_problems *p);
/* Loads what the settings point at (partners, key file, store) to check
 * that they can be used; problems land in p. */
void ohets_srv_config_check_files(const ohets_srv_config *cfg,
                                  ohets_srv_problems *p);
/* Looks cfg->user up (its uid, gid and name); problems land in p. */
int ohets_srv_config_check_user(const ohets_srv_config *cfg, ohets_srv_problems *p);
/* Reads cfg->log_hmac_key_file (when set) into cfg->log_hmac_key. */
int ohets_srv_config_read_key(ohets_srv_config *cfg, ohets_srv_problems *p);
const char *ohets_srv_framing_name(ohets_framing f);
/* Parses "HOST:PORT", "[V6]:PORT" or "PORT". */
int ohets_srv_parse_listen(const char *spec, ohets_srv_listen_cfg *out);
void ohets_srv_config_free(ohets_srv_config *cfg);

/* A mutex for the short hand-offs between the loop and the worker and log
 * threads: it spins a little before it sleeps (glibc's adaptive type where
 * there is one), since a futex sleep costs far more than such a hold. */
void ohets_srv_mutex_init(pthread_mutex_t *mu);

/* ------------------------------------------------------- session log */

typedef struct ohets_srv_log ohets_srv_log;

int ohets_srv_log_open(ohets_srv_log **out, const char *path,
                       unsigned queue_cap, char *err, size_t errsz);
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
  char error[9];  /* HETS code or TA105; "" for none */
  char ack;       /* AK901 of a 999; 0 for none */
  int overloaded;
  char mbi_hash[17];
} ohets_srv_request_log;
/* Queues a copy of r; never blocks; a full queue drops and counts it. */
void ohets_srv_log_request(ohets_srv_log *lg, const ohets_srv_request_log *r);
/* Asks the log thread to reopen the file (logrotate). */
void ohets_srv_log_reopen(ohets_srv_log *lg);
/* Writes what is queued, stops the thread, closes the file. */
void ohets_srv_log_close(ohets_srv_log *lg);
/* RFC 3339 UTC with milliseconds into buf (at least 25 bytes). */
void ohets_srv_ts(char *buf, size_t n);

/* ---------------------------------------------------------- partners */

/* One loaded partner table shared by the loop and the jobs that use it;
 * swapped on SIGHUP.  refs is touched on the loop thread only (a job takes
 * its reference when dispatched and drops it when its result comes back). */
typedef struct ohets_srv_partners_ref {
  ohets_partner_table *table; /* NULL: no partners file, everyone allowed */
  unsigned refs;
} ohets_srv_partners_ref;

ohets_srv_partners_ref *ohets_srv_partners_new(ohets_partner_table *table);
ohets_srv_partners_ref *ohets_srv_partners_hold(ohets_srv_partners_ref *r);
void ohets_srv_partners_release(ohets_srv_partners_ref *r);
/* DESIGN §4: known ID, peer in its networks, and allowed on the listener. */
int ohets_srv_submitter_allowed(const ohets_partner_table *t,
                                const struct sockaddr *peer,
                                const ohets_srv_listen_cfg *listener,
                                const char *submitter);

/* ------------------------------------------------------------ workers */

typedef struct ohets_srv_job {
  struct ohets_srv_job *next;
  uint64_t conn_id;            /* the connection to answer, if still open */
  uint8_t *req;                /* owned copy of the request payload */
  size_t req_len;
  size_t bytes_in;             /* frame bytes read, wrapper included */
  int raw;                     /* answer bare X12 (no wrapper) */
  struct sockaddr_storage peer;
  unsigned listener;           /* index into cfg->listen */
  ohets_srv_partners_ref *partners; /* snapshot held for this job */
  uint64_t t_frame;            /* hrtime: frame complete */
  uint64_t t_enqueue;          /* hrtime: handed to the pool */
  uint64_t t_start, t_done;    /* hrtime: worker picked up / finished */
  /* Results, written by the worker. */
  int rc;                      /* 0, or no answer could be made */
  int overloaded;              /* answered AAA 42 for queue wait / store */
  ohets_buf answer;            /* bytes for the wire (wrapped or raw) */
  ohets_outcome outcome;       /* mbi wiped before the loop sees it */
  char mbi_hash[17];           /* "" when no key or no MBI */
} ohets_srv_job;

typedef struct ohets_srv_pool ohets_srv_pool;
typedef void (*ohets_srv_done_fn)(void *arg, ohets_srv_job *job);

/* Opens one store handle per worker (errors in err), starts the threads
 * and registers an async handle on loop through which finished jobs reach
 * done(arg, job) on the loop thread. */
int ohets_srv_pool_start(ohets_srv_pool **out, uv_loop_t *loop,
                         const ohets_srv_config *cfg, ohets_srv_done_fn done,
                         void *arg, char *err, size_t errsz);
/* Loop thread: queues a job (the pool does not bound; the caller does). */
void ohets_srv_pool_submit(ohets_srv_pool *pool, ohets_srv_job *job);
/* Loop thread: stops and joins the workers, closes the async handle. */
void ohets_srv_pool_stop(ohets_srv_pool *pool);
/* After the loop has closed the handle. */
void ohets_srv_pool_free(ohets_srv_pool *pool);
void ohets_srv_job_free(ohets_srv_job *job);

/* ------------------------------------------------------------ session */

typedef enum ohets_srv_conn_state {
  OHETS_SRV_CONN_OPEN = 0, /* reading and answering */
  OHETS_SRV_CONN_ENDING,   /* reading stopped; answer what is queued, then close */
  OHETS_SRV_CONN_LINGER,   /* FIN sent; input discarded until EOF or a timer */
  OHETS_SRV_CONN_CLOSING   /* uv_close called; freed when the handles are closed */
} ohets_srv_conn_state;

typedef enum ohets_srv_reason {
  OHETS_SRV_REASON_IDLE = 0,
  OHETS_SRV_REASON_PEER,
  OHETS_SRV_REASON_PROTOCOL,
  OHETS_SRV_REASON_DEADLINE,
  OHETS_SRV_REASON_SHUTDOWN,
  OHETS_SRV_REASON_LIMIT
} ohets_srv_reason;

const char *ohets_srv_reason_name(ohets_srv_reason r);

/* One decoded request waiting its turn on its connection, or a protocol
 * error to answer (then close) once the requests before it are answered. */
typedef struct ohets_srv_item {
  uint8_t *payload;        /* owned copy; NULL for an error item */
  size_t len;              /* payload bytes */
  size_t frame_len;        /* bytes read for it, wrapper included */
  int raw;                 /* answer without the wrapper */
  uint64_t t_frame;        /* hrtime when it was complete */
  const char *error;       /* error item: HETS code (static string) */
  ohets_srv_reason reason; /* error item: close reason */
} ohets_srv_item;

typedef struct ohets_srv_server ohets_srv_server;

typedef struct ohets_srv_conn {
  uv_tcp_t tcp;                /* the socket; data = this */
  uv_timer_t idle;             /* idle disconnect; reused as the linger timer */
  uv_timer_t deadline;         /* frame deadline */
  ohets_srv_server *srv;
  uint64_t id;                 /* key in the connection table; never 0 */
  ohets_srv_conn_state state;
  ohets_srv_reason reason;     /* why it ends (valid from ENDING on) */
  unsigned listener;           /* index into cfg->listen */
  struct sockaddr_storage peer;
  char peer_text[80];          /* "1.2.3.4:5" or "[::1]:5" */
  uint8_t *rbuf;               /* bytes read and not yet framed */
  size_t rlen, rcap;           /* used / allocated */
  size_t rmax;                 /* bound on rcap */
  ohets_frame_decoder dec;
  uint64_t frame_start_ms;     /* loop time the current partial frame began */
  uint64_t last_read_ms;       /* loop time of the last read */
  ohets_srv_item *queue;       /* ring of max_pipeline + 1 items */
  unsigned qhead, qlen;
  size_t qbytes;               /* payload bytes held by the queue */
  int reading;                 /* uv_read_start is active */
  int job_in_flight;           /* the head item is with the workers */
  int waiting_slot;            /* on the server's list waiting for a job slot */
  struct ohets_srv_conn *wait_prev, *wait_next;
  unsigned writes_pending;     /* uv_write requests not yet completed */
  char submitter[OHETS_SRV_SUBMITTER_LEN]; /* counted for max_connections */
  uint64_t requests;           /* answers written */
  uint64_t bytes_in, bytes_out;
  uint64_t t_open;             /* hrtime at accept */
  unsigned handles_open;       /* handles still to report closed */
} ohets_srv_conn;

/* Called by the listener for each accepted socket: fd (non-blocking, now
 * the connection's), the peer address accept() gave, the listener index. */
void ohets_srv_conn_accept(ohets_srv_server *srv, int fd,
                           const struct sockaddr_storage *peer, unsigned index);
/* Worker result on the loop thread. */
void ohets_srv_on_job_done(void *srv, ohets_srv_job *job);
/* Shutdown: stop reading everywhere, answer what is queued, then close. */
void ohets_srv_conns_drain(ohets_srv_server *srv);
/* Shutdown timer ran out: close whatever is left. */
void ohets_srv_conns_close_all(ohets_srv_server *srv, ohets_srv_reason why);

/* --------------------------------------------------------- listeners */

/* One listening socket.  The project accepts itself (not uv_accept) so the
 * peer's address comes from accept() and is known even for a peer that
 * resets at once. */
typedef struct ohets_srv_listener {
  uv_poll_t poll;          /* readable: connections to accept */
  uv_timer_t pause;        /* out of descriptors: accept again later */
  int fd;                  /* the listening socket; -1 when none */
  unsigned index;          /* into cfg->listen */
  unsigned handles_open;   /* poll and timer not yet closed */
  ohets_srv_server *srv;
} ohets_srv_listener;

/* Binds and listens on every cfg->listen entry; on failure writes
 * "listen HOST:PORT: reason" into err. */
int ohets_srv_listeners_start(ohets_srv_server *srv, char *err, size_t errsz);
/* Logs one `listen` event per listener with its real port. */
void ohets_srv_listeners_log(ohets_srv_server *srv);
void ohets_srv_listeners_close(ohets_srv_server *srv);

/* ------------------------------------------------------------ server */

typedef struct ohets_srv_subcount {
  char submitter[OHETS_SRV_SUBMITTER_LEN];
  unsigned conns;
} ohets_srv_subcount;

struct ohets_srv_server {
  uv_loop_t *loop;
  const ohets_srv_config *cfg;
  ohets_srv_listener listeners[OHETS_SRV_MAX_LISTENERS];
  unsigned n_listeners;        /* opened (closing counts down) */
  ohets_srv_log *log;
  ohets_srv_pool *pool;
  ohets_srv_partners_ref *partners; /* current snapshot (one ref held) */
  /* Connection table: open addressing on the 64-bit id. */
  ohets_srv_conn **table;
  size_t table_cap;            /* power of two */
  size_t n_conns;              /* connections in the table */
  uint64_t next_id;
  unsigned jobs_in_flight;     /* jobs handed to the pool, not yet back */
  ohets_srv_job *spare_jobs;   /* answered jobs kept for reuse, with their
                                * answer buffers: the loop then never frees
                                * a worker's allocation (a cross-thread free
                                * takes the worker's malloc arena lock) */
  unsigned n_spare_jobs;
  ohets_srv_conn *wait_head, *wait_tail; /* waiting for a job slot */
  ohets_srv_subcount *subs;    /* connections per submitter */
  size_t n_subs, cap_subs;
  uv_signal_t sig_term, sig_int, sig_hup;
  uv_timer_t shutdown_timer;
  int stopping;                /* SIGTERM/SIGINT seen: draining */
  int finished;                /* everything closed; loop winding down */
  int reloading;               /* a partners reload is running */
  uv_work_t reload_work;
  ohets_partner_table *reload_table; /* reload result */
  char reload_err[512];
  int reload_rc;
};

/* Loop thread: a job to fill (a spare one when there is), or NULL. */
ohets_srv_job *ohets_srv_job_get(ohets_srv_server *srv);
/* Loop thread: keeps an answered job for reuse, or frees it. */
void ohets_srv_job_put(ohets_srv_server *srv, ohets_srv_job *job);
/* Frees the spare jobs (at exit). */
void ohets_srv_jobs_drain(ohets_srv_server *srv);

/* Connections counted for max_connections per submitter. */
unsigned ohets_srv_sub_count(ohets_srv_server *srv, const char *submitter);
void ohets_srv_sub_add(ohets_srv_server *srv, const char *submitter);
void ohets_srv_sub_remove(ohets_srv_server *srv, const char *submitter);
/* Called when the last connection closes during a shutdown. */
void ohets_srv_finish(ohets_srv_server *srv);

/* "now" for the core and for HETS records: the local clock, date pinned by
 * cfg->today when set. */
void ohets_srv_now(const ohets_srv_config *cfg, ohets_now *now);

#endif /* OHETS_SERVER_SERVER_H */
