/* closedloop: a deliberately simple load generator, independent of
 * hets-load, for cross-checking the server benchmark.
 *
 * usage: closedloop [-H HOST] [-p PORT] [-c CONNS] [-d SECONDS]
 *                   [--expect TEXT] FILE
 *        closedloop [-H HOST] [-p PORT] --idle N [--rss-pid PID]
 *                   [--window-ms LO:HI] [--timeout S]
 *
 * Closed loop: CONNS threads, one blocking socket each; every thread sends
 * FILE wrapped (SOH, 10-digit length, STX, payload, ETX), waits for the
 * whole wrapped answer, records the latency, and sends again, for SECONDS.
 * An answer that is not a well-formed wrapper, does not contain TEXT
 * (--expect), or a socket that closes, times out or cannot connect counts
 * as an error (the thread reconnects).  Prints one JSON object:
 *   {"connections","seconds","requests","tps","latency_us":{"p50","p90",
 *    "p99","max"},"errors","unexpected_closes"}
 *
 * Idle: opens N sockets that never send, then times how long after its
 * connect each one is closed by the server.  With --rss-pid it reads that
 * process's VmRSS from /proc before the first connect and once every
 * socket is connected (plus a 500 ms settle).  Prints one JSON object:
 *   {"sockets","connected","closed","close_ms":{"min","p50","max"},
 *    "in_window","window_ms":[LO,HI],"rss_before_kib","rss_after_kib",
 *    "rss_per_conn_kib"}
 * Exit 0 when it ran (whatever it measured), 1 on a setup failure, 2 on a
 * usage error. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FRAME_HEADER 12
#define MAX_PAYLOAD (1024 * 1024)
#define CONNECTS_AT_ONCE 256 /* outstanding connects: keep the backlog sane */
#define RSS_SETTLE_MS 500

static struct sockaddr_in target;

static uint64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

static uint32_t percentile(const uint32_t *sorted, size_t n, double q) {
  if (n == 0)
    return 0;
  size_t i = (size_t)(q * (double)(n - 1) + 0.5);
  return sorted[i < n ? i : n - 1];
}

/* ------------------------------------------------------ closed loop */

typedef struct runner {
  pthread_t thread;
  const uint8_t *request;
  size_t request_len;
  const char *expect;
  uint64_t deadline_us;
  uint32_t *lat;        /* microseconds per answer */
  size_t n, cap;
  uint64_t errors, unexpected_closes;
  int failed;           /* could not record (out of memory) */
} runner;

static int connect_blocking(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct timeval tv = {5, 0}; /* an answer later than this is an error */
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (connect(fd, (struct sockaddr *)&target, sizeof target) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static int send_all(int fd, const uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Reads one wrapped answer into buf.  Returns its payload length, -1 on an
 * error, -2 when the peer closed. */
static long read_answer(int fd, uint8_t *buf, size_t cap) {
  size_t have = 0, whole = FRAME_HEADER;
  while (have < whole) {
    ssize_t r = recv(fd, buf + have, cap - have, 0);
    if (r < 0 && errno == EINTR)
      continue;
    if (r == 0)
      return -2;
    if (r < 0)
      return -1;
    have += (size_t)r;
    if (whole == FRAME_HEADER && have >= FRAME_HEADER) {
      if (buf[0] != 0x01 || buf[11] != 0x02)
        return -1;
      size_t len = 0;
      for (int i = 1; i <= 10; i++) {
        if (buf[i] < '0' || buf[i] > '9')
          return -1;
        len = len * 10 + (size_t)(buf[i] - '0');
      }
      if (len > MAX_PAYLOAD)
        return -1;
      whole = FRAME_HEADER + len + 1;
    }
  }
  /* Closed loop: nothing may follow the one answer. */
  if (have != whole || buf[whole - 1] != 0x03)
    return -1;
  return (long)(whole - FRAME_HEADER - 1);
}

static void *runner_main(void *arg) {
  runner *r = arg;
  size_t cap = FRAME_HEADER + MAX_PAYLOAD + 1;
  uint8_t *buf = malloc(cap);
  int fd = -1;
  while (buf != NULL && now_us() < r->deadline_us) {
    if (fd < 0 && (fd = connect_blocking()) < 0) {
      r->errors++;
      usleep(10000);
      continue;
    }
    uint64_t t0 = now_us();
    long len = send_all(fd, r->request, r->request_len) == 0 ? read_answer(fd, buf, cap) : -1;
    uint64_t t1 = now_us();
    if (len >= 0 && r->expect != NULL &&
        memmem(buf + FRAME_HEADER, (size_t)len, r->expect, strlen(r->expect)) == NULL)
      len = -1;
    if (len < 0) {
      r->errors++;
      if (len == -2)
        r->unexpected_closes++;
      close(fd);
      fd = -1;
      continue;
    }
    if (r->n == r->cap) {
      size_t ncap = r->cap ? r->cap * 2 : 65536;
      uint32_t *p = realloc(r->lat, ncap * sizeof *p);
      if (p == NULL) {
        r->failed = 1;
        break;
      }
      r->lat = p;
      r->cap = ncap;
    }
    uint64_t us = t1 - t0;
    r->lat[r->n++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
  }
  if (fd >= 0)
    close(fd);
  free(buf);
  return NULL;
}

static int load_request(const char *path, uint8_t **out, size_t *out_len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return -1;
  uint8_t *wire = malloc(FRAME_HEADER + MAX_PAYLOAD + 2);
  size_t n = wire ? fread(wire + FRAME_HEADER, 1, MAX_PAYLOAD + 1, f) : 0;
  fclose(f);
  if (wire == NULL || n == 0 || n > MAX_PAYLOAD) {
    free(wire);
    return -1;
  }
  char head[FRAME_HEADER + 1];
  snprintf(head, sizeof head, "\x01%010zu\x02", n);
  memcpy(wire, head, FRAME_HEADER);
  wire[FRAME_HEADER + n] = 0x03;
  *out = wire;
  *out_len = FRAME_HEADER + n + 1;
  return 0;
}

static int run_closed_loop(unsigned conns, double seconds, const char *path,
                           const char *expect) {
  uint8_t *request;
  size_t request_len;
  if (load_request(path, &request, &request_len) != 0) {
    fprintf(stderr, "closedloop: %s: cannot read a payload of 1..%d bytes\n", path,
            MAX_PAYLOAD);
    return 1;
  }
  runner *rs = calloc(conns, sizeof *rs);
  if (rs == NULL)
    return 1;
  uint64_t start = now_us();
  uint64_t deadline = start + (uint64_t)(seconds * 1e6);
  for (unsigned i = 0; i < conns; i++) {
    rs[i].request = request;
    rs[i].request_len = request_len;
    rs[i].expect = expect;
    rs[i].deadline_us = deadline;
    if (pthread_create(&rs[i].thread, NULL, runner_main, &rs[i]) != 0) {
      fprintf(stderr, "closedloop: cannot start thread %u\n", i);
      return 1;
    }
  }
  size_t total = 0;
  uint64_t errors = 0, closes = 0;
  int failed = 0;
  for (unsigned i = 0; i < conns; i++) {
    pthread_join(rs[i].thread, NULL);
    total += rs[i].n;
    errors += rs[i].errors;
    closes += rs[i].unexpected_closes;
    failed |= rs[i].failed;
  }
  double elapsed = (double)(now_us() - start) / 1e6;
  uint32_t *all = malloc((total ? total : 1) * sizeof *all);
  if (all == NULL || failed) {
    fprintf(stderr, "closedloop: out of memory for latencies\n");
    return 1;
  }
  size_t k = 0;
  for (unsigned i = 0; i < conns; i++) {
    if (rs[i].n > 0)
      memcpy(all + k, rs[i].lat, rs[i].n * sizeof *all);
    k += rs[i].n;
    free(rs[i].lat);
  }
  qsort(all, total, sizeof *all, cmp_u32);
  printf("{\"connections\":%u,\"seconds\":%.3f,\"requests\":%zu,\"tps\":%.1f,"
         "\"latency_us\":{\"p50\":%u,\"p90\":%u,\"p99\":%u,\"max\":%u},"
         "\"errors\":%llu,\"unexpected_closes\":%llu}\n",
         conns, elapsed, total, (double)total / elapsed, percentile(all, total, 0.50),
         percentile(all, total, 0.90), percentile(all, total, 0.99),
         total ? all[total - 1] : 0, (unsigned long long)errors,
         (unsigned long long)closes);
  free(all);
  free(rs);
  free(request);
  return 0;
}

/* ------------------------------------------------------------- idle */

static long vm_rss_kib(long pid) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%ld/status", pid);
  FILE *f = fopen(path, "r");
  long kib = -1;
  if (f == NULL)
    return -1;
  while (fgets(line, sizeof line, f) != NULL)
    if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
      break;
  fclose(f);
  return kib;
}

typedef struct idle_sock {
  int fd;
  int state;            /* 0 connecting, 1 connected, 2 closed, 3 failed */
  uint64_t t_connect;   /* microseconds: just before connect() */
  uint32_t close_us;
} idle_sock;

static int run_idle(unsigned n, long rss_pid, uint32_t lo_ms, uint32_t hi_ms,
                    double timeout_s) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < n + 64) {
    rl.rlim_cur = rl.rlim_max < n + 64 ? rl.rlim_max : n + 64;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  idle_sock *s = calloc(n, sizeof *s);
  int ep = epoll_create1(0);
  if (s == NULL || ep < 0) {
    fprintf(stderr, "closedloop: out of memory\n");
    return 1;
  }
  long rss_before = rss_pid > 0 ? vm_rss_kib(rss_pid) : -1, rss_after = -1;
  unsigned started = 0, pending = 0, connected = 0, closed = 0, failed = 0;
  uint64_t all_connected_at = 0, start = now_us();
  struct epoll_event evs[512];
  while (closed + failed < n) {
    while (started < n && pending < CONNECTS_AT_ONCE) {
      idle_sock *k = &s[started];
      k->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      if (k->fd < 0) {
        fprintf(stderr, "closedloop: socket %u: %s\n", started, strerror(errno));
        k->state = 3;
        failed++;
        started++;
        continue;
      }
      /* Timed from the connect() call: on loopback the handshake follows
       * within microseconds, while noticing its completion here can lag by
       * tens of milliseconds when thousands complete at once. */
      k->t_connect = now_us();
      int rc = connect(k->fd, (struct sockaddr *)&target, sizeof target);
      struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP,
                               .data.u32 = started};
      if ((rc != 0 && errno != EINPROGRESS) || epoll_ctl(ep, EPOLL_CTL_ADD, k->fd, &ev) != 0) {
        close(k->fd);
        k->state = 3;
        failed++;
      } else {
        pending++;
      }
      started++;
    }
    uint64_t now = now_us();
    if (all_connected_at == 0 && started == n && pending == 0)
      all_connected_at = now;
    if (all_connected_at != 0 && rss_after < 0 && rss_pid > 0 &&
        now >= all_connected_at + RSS_SETTLE_MS * 1000u)
      rss_after = vm_rss_kib(rss_pid);
    if (now - start > (uint64_t)(timeout_s * 1e6))
      break;
    int got = epoll_wait(ep, evs, 512, 5);
    now = now_us();
    for (int i = 0; i < got; i++) {
      idle_sock *k = &s[evs[i].data.u32];
      if (k->state == 0) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        pending--;
        if (err != 0) {
          close(k->fd);
          k->state = 3;
          failed++;
          continue;
        }
        k->state = 1;
        connected++;
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.u32 = evs[i].data.u32};
        epoll_ctl(ep, EPOLL_CTL_MOD, k->fd, &ev);
        continue;
      }
      if (k->state == 1 && (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
        k->close_us = (uint32_t)(now - k->t_connect);
        k->state = 2;
        closed++;
        close(k->fd);
      }
    }
  }
  if (rss_after < 0 && rss_pid > 0)
    rss_after = vm_rss_kib(rss_pid);
  uint32_t *ms = malloc((closed ? closed : 1) * sizeof *ms);
  unsigned m = 0, in_window = 0;
  for (unsigned i = 0; ms != NULL && i < n; i++) {
    if (s[i].state == 2) {
      ms[m++] = s[i].close_us;
      if (s[i].close_us >= lo_ms * 1000u && s[i].close_us <= hi_ms * 1000u)
        in_window++;
    } else if (s[i].state == 1) {
      close(s[i].fd);
    }
  }
  if (ms == NULL)
    return 1;
  qsort(ms, m, sizeof *ms, cmp_u32);
  printf("{\"sockets\":%u,\"connected\":%u,\"closed\":%u,"
         "\"close_ms\":{\"min\":%.3f,\"p50\":%.3f,\"max\":%.3f},"
         "\"in_window\":%u,\"window_ms\":[%u,%u]",
         n, connected, closed, m ? ms[0] / 1000.0 : 0.0,
         m ? percentile(ms, m, 0.5) / 1000.0 : 0.0, m ? ms[m - 1] / 1000.0 : 0.0,
         in_window, lo_ms, hi_ms);
  if (rss_pid > 0)
    printf(",\"rss_before_kib\":%ld,\"rss_after_kib\":%ld,\"rss_per_conn_kib\":%.2f",
           rss_before, rss_after,
           connected ? (double)(rss_after - rss_before) / connected : 0.0);
  printf("}\n");
  free(ms);
  free(s);
  close(ep);
  return 0;
}

/* ------------------------------------------------------------- main */

static void usage(FILE *to) {
  fprintf(to,
          "usage: closedloop [-H HOST] [-p PORT] [-c CONNS] [-d SECONDS] [--expect TEXT] FILE\n"
          "       closedloop [-H HOST] [-p PORT] --idle N [--rss-pid PID]\n"
          "                  [--window-ms LO:HI] [--timeout S]\n");
}

int main(int argc, char **argv) {
  const char *host = "127.0.0.1", *path = NULL, *expect = NULL;
  long port = 5270, conns = 16, idle = 0, rss_pid = 0;
  double seconds = 5, timeout_s = 15;
  unsigned lo_ms = 5000, hi_ms = 5200;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    int ok = 1;
    if (strcmp(a, "--help") == 0) {
      usage(stdout);
      return 0;
    } else if (strcmp(a, "-H") == 0 && v) {
      host = v;
    } else if (strcmp(a, "-p") == 0 && v) {
      port = strtol(v, NULL, 10);
      ok = port > 0 && port < 65536;
    } else if (strcmp(a, "-c") == 0 && v) {
      conns = strtol(v, NULL, 10);
      ok = conns > 0 && conns <= 4096;
    } else if (strcmp(a, "-d") == 0 && v) {
      seconds = strtod(v, NULL);
      ok = seconds > 0;
    } else if (strcmp(a, "--expect") == 0 && v) {
      expect = v;
    } else if (strcmp(a, "--idle") == 0 && v) {
      idle = strtol(v, NULL, 10);
      ok = idle > 0 && idle <= 1000000;
    } else if (strcmp(a, "--rss-pid") == 0 && v) {
      rss_pid = strtol(v, NULL, 10);
      ok = rss_pid > 0;
    } else if (strcmp(a, "--timeout") == 0 && v) {
      timeout_s = strtod(v, NULL);
      ok = timeout_s > 0;
    } else if (strcmp(a, "--window-ms") == 0 && v) {
      ok = sscanf(v, "%u:%u", &lo_ms, &hi_ms) == 2 && lo_ms <= hi_ms;
    } else if (a[0] != '-' && path == NULL) {
      path = a;
      continue;
    } else {
      usage(stderr);
      return 2;
    }
    if (!ok) {
      fprintf(stderr, "closedloop: %s %s: bad value\n", a, v);
      return 2;
    }
    i++;
  }
  memset(&target, 0, sizeof target);
  target.sin_family = AF_INET;
  target.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, host, &target.sin_addr) != 1) {
    fprintf(stderr, "closedloop: -H %s: not a numeric IPv4 address\n", host);
    return 2;
  }
  if (idle > 0)
    return run_idle((unsigned)idle, rss_pid, lo_ms, hi_ms, timeout_s);
  if (path == NULL) {
    usage(stderr);
    return 2;
  }
  return run_closed_loop((unsigned)conns, seconds, path, expect);
}
