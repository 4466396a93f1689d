/* floor: the transport floor for the server benchmark.
 *
 * usage: floor [--listen HOST:PORT] ANSWER_FILE
 *
 * A minimal libuv server: one loop, no worker threads, no log, no timers.
 * It reads the same wrapper openhetsd reads (SOH, 10-digit length, STX,
 * payload, ETX) and answers every whole transmission with the contents of
 * ANSWER_FILE wrapped the same way -- a fixed 271 the size of openhetsd's
 * answer to the benchmark's inquiry.  What openhetsd costs beyond this
 * program is what its parsing, lookup, threads and log cost.
 *
 * With port 0 (the default) the kernel picks a free port; the port is
 * printed on stdout as one line once the server listens.  A broken
 * wrapper closes the socket.  SIGTERM/SIGINT stop it (exit 0). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#define FRAME_HEADER 12  /* SOH + 10 digits + STX */
#define MAX_PAYLOAD 65536
#define RBUF_CAP (2 * (MAX_PAYLOAD + FRAME_HEADER + 1))

typedef struct conn {
  uv_tcp_t tcp;
  size_t rlen;
  unsigned char rbuf[RBUF_CAP];
} conn;

static uv_loop_t *loop;
static uv_tcp_t server;
static uv_signal_t sig_term, sig_int;
static char *answer;      /* the wrapped answer, written for every request */
static size_t answer_len;

static void on_closed(uv_handle_t *h) { free(h->data); }

static void drop(conn *c) {
  if (!uv_is_closing((uv_handle_t *)&c->tcp))
    uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void on_write(uv_write_t *req, int status) {
  conn *c = req->handle->data;
  free(req);
  if (status < 0)
    drop(c);
}

/* Length of the whole frame at p, 0 when more bytes are needed, -1 when
 * the wrapper is broken. */
static long frame_length(const unsigned char *p, size_t n) {
  if (n < FRAME_HEADER)
    return 0;
  if (p[0] != 0x01 || p[11] != 0x02)
    return -1;
  long len = 0;
  for (int i = 1; i <= 10; i++) {
    if (p[i] < '0' || p[i] > '9')
      return -1;
    len = len * 10 + (p[i] - '0');
  }
  if (len > MAX_PAYLOAD)
    return -1;
  size_t whole = FRAME_HEADER + (size_t)len + 1;
  if (n < whole)
    return 0;
  return p[whole - 1] == 0x03 ? (long)whole : -1;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  conn *c = h->data;
  (void)suggested;
  buf->base = (char *)c->rbuf + c->rlen;
  buf->len = sizeof c->rbuf - c->rlen;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  conn *c = s->data;
  (void)buf;
  if (n == 0)
    return;
  if (n < 0) {
    drop(c);
    return;
  }
  c->rlen += (size_t)n;
  size_t off = 0;
  unsigned answers = 0;
  for (;;) {
    long whole = frame_length(c->rbuf + off, c->rlen - off);
    if (whole < 0) {
      drop(c);
      return;
    }
    if (whole == 0)
      break;
    off += (size_t)whole;
    answers++;
  }
  if (off > 0) {
    memmove(c->rbuf, c->rbuf + off, c->rlen - off);
    c->rlen -= off;
  }
  /* The answer is the same static bytes each time: no copy. */
  for (unsigned i = 0; i < answers; i++) {
    uv_write_t *req = malloc(sizeof *req);
    uv_buf_t b = uv_buf_init(answer, (unsigned)answer_len);
    if (req == NULL || uv_write(req, s, &b, 1, on_write) != 0) {
      free(req);
      drop(c);
      return;
    }
  }
}

static void on_connection(uv_stream_t *srv, int status) {
  if (status < 0)
    return;
  conn *c = malloc(sizeof *c);
  if (c == NULL)
    return;
  c->rlen = 0;
  uv_tcp_init(loop, &c->tcp);
  c->tcp.data = c;
  if (uv_accept(srv, (uv_stream_t *)&c->tcp) != 0) {
    uv_close((uv_handle_t *)&c->tcp, on_closed);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
    drop(c);
}

static void close_walk(uv_handle_t *h, void *arg) {
  (void)arg;
  if (!uv_is_closing(h))
    uv_close(h, h->data != NULL ? on_closed : NULL); /* data: a conn */
}

static void on_signal(uv_signal_t *s, int signum) {
  (void)s;
  (void)signum;
  uv_walk(loop, close_walk, NULL);
}

static int load_answer(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return -errno;
  char *payload = malloc(MAX_PAYLOAD + 1);
  size_t n = payload ? fread(payload, 1, MAX_PAYLOAD + 1, f) : 0;
  int rc = ferror(f) ? -EIO : 0;
  fclose(f);
  if (payload == NULL)
    return -ENOMEM;
  if (rc == 0 && (n == 0 || n > MAX_PAYLOAD))
    rc = -EINVAL;
  if (rc == 0 && (answer = malloc(n + FRAME_HEADER + 1)) == NULL)
    rc = -ENOMEM;
  if (rc == 0) {
    snprintf(answer, FRAME_HEADER + 1, "\x01%010zu\x02", n);
    memcpy(answer + FRAME_HEADER, payload, n);
    answer[FRAME_HEADER + n] = 0x03;
    answer_len = FRAME_HEADER + n + 1;
  }
  free(payload);
  return rc;
}

static void usage(FILE *to) {
  fprintf(to, "usage: floor [--listen HOST:PORT] ANSWER_FILE\n"
              "Answers every wrapped request with ANSWER_FILE, wrapped; port 0\n"
              "(the default) prints the port the kernel chose.\n");
}

int main(int argc, char **argv) {
  const char *listen_spec = "127.0.0.1:0", *path = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
      listen_spec = argv[++i];
    } else if (strcmp(argv[i], "--help") == 0) {
      usage(stdout);
      return 0;
    } else if (argv[i][0] == '-' || path != NULL) {
      usage(stderr);
      return 2;
    } else {
      path = argv[i];
    }
  }
  if (path == NULL) {
    usage(stderr);
    return 2;
  }
  char host[64];
  const char *colon = strrchr(listen_spec, ':');
  char *end = NULL;
  long port = colon ? strtol(colon + 1, &end, 10) : -1;
  if (colon == NULL || (size_t)(colon - listen_spec) >= sizeof host || end == colon + 1 ||
      *end != '\0' || port < 0 || port > 65535) {
    fprintf(stderr, "floor: --listen %s: expected HOST:PORT\n", listen_spec);
    return 2;
  }
  memcpy(host, listen_spec, (size_t)(colon - listen_spec));
  host[colon - listen_spec] = '\0';
  int rc = load_answer(path);
  if (rc != 0) {
    fprintf(stderr, "floor: %s: %s\n", path, strerror(-rc));
    return 1;
  }
  loop = uv_default_loop();
  struct sockaddr_in addr;
  rc = uv_ip4_addr(host, (int)port, &addr);
  if (rc == 0)
    rc = uv_tcp_init(loop, &server);
  if (rc == 0)
    rc = uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0);
  if (rc == 0)
    rc = uv_listen((uv_stream_t *)&server, 4096, on_connection);
  if (rc != 0) {
    fprintf(stderr, "floor: listen %s: %s\n", listen_spec, uv_strerror(rc));
    return 1;
  }
  struct sockaddr_storage bound;
  int blen = (int)sizeof bound;
  uv_tcp_getsockname(&server, (struct sockaddr *)&bound, &blen);
  printf("%d\n", ntohs(((struct sockaddr_in *)&bound)->sin_port));
  fflush(stdout);
  uv_signal_init(loop, &sig_term);
  uv_signal_init(loop, &sig_int);
  uv_signal_start(&sig_term, on_signal, SIGTERM);
  uv_signal_start(&sig_int, on_signal, SIGINT);
  uv_run(loop, UV_RUN_DEFAULT);
  uv_loop_close(loop);
  free(answer);
  return 0;
}
