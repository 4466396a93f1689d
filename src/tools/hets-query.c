/* hets-query: one eligibility inquiry to a HETS front-end, the answer in
 * words (or as X12, or as JSON).
 *
 * Builds a 270 from the options (checked by the project's own core before
 * it is sent) or sends FILE as is, wrapped (SOH, length, STX, payload,
 * ETX) unless --unwrapped, reads exactly one answer and prints it.
 * With --tls the exchange runs over TLS (DESIGN §12): the engine in
 * src/tls driven over the same non-blocking socket with poll().  With
 * --core soap|mime the 270 goes to the CAQH CORE door (DESIGN §13) in a
 * SOAP or MIME envelope over HTTPS (core_client.c builds and reads those);
 * the X12 answer inside the response envelope is printed as usual, an
 * envelope or HTTP error as one line (exit 1).
 * Exit 0 when an answer came (whatever it says), 1 on a connection or
 * protocol failure, 2 on a usage error.  Nothing identifying the
 * beneficiary is ever written to stderr. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"
#include "openhets/openhets.h"
#include "caqh/soap.h"
#include "tls/tls.h"
#include "tools/core_client.h"
#include "tools/query.h"

#define PROG "hets-query"
#define MAX_FILE (64u * 1024 * 1024)   /* the server's own ceiling */
#define MAX_ANSWER (64u * 1024 * 1024)
#define RAW_HETS_QUIET_MS 200 /* a bare HETS record has no terminator */
#define HETS_RECORD_FIXED 61  /* bytes before the description */

enum { OUT_SUMMARY, OUT_RAW, OUT_JSON };

typedef struct options {
  const char *host;
  const char *port;
  const char *submitter;
  const char *npi;
  const char *provider;
  const char *mbi, *last, *first, *dob, *date, *stc;
  const char *file;
  int output;
  int unwrapped;
  int connect_ms;
  int read_ms;
  int tls;
  const char *cert, *key, *ca; /* --tls files; ca NULL: the server is not verified */
  int host_given, port_given;  /* -H, -p (not with --url) */
  ohets_core_kind core;        /* --core soap|mime; 0: the Extranet socket */
  const char *url;             /* --url */
  ohets_core_url core_url;     /* --url parsed */
  const char *user;            /* --user; the password from OPENHETS_PASSWORD */
  const char *password;
} options;

static void usage(FILE *f) {
  fprintf(f,
          "usage: " PROG " [-H HOST] [-p PORT] [--submitter ID] [--npi NPI] [--provider NAME]\n"
          "                  --mbi MBI --last L --first F --dob YYYYMMDD\n"
          "                  [--date YYYYMMDD[-YYYYMMDD]] [--stc 30,42,...]\n"
          "                  [--raw|--json] [--unwrapped] [--connect-timeout MS]\n"
          "                  [--read-timeout MS] [--tls [--cert FILE --key FILE] [--ca FILE]]\n"
          "                  [FILE]\n"
          "       " PROG " --core soap|mime --url https://HOST:PORT/PATH [--cert FILE --key FILE]\n"
          "                  [--ca FILE] [--user NAME] [the options above but -H, -p, --tls,\n"
          "                  --unwrapped] [FILE]\n"
          "Sends one 270 eligibility inquiry and prints the answer: a summary in\n"
          "words by default, the answer's X12 with --raw, a JSON document with --json.\n"
          "With FILE (or - for stdin) the file's interchange is sent as is instead.\n"
          "  -H, --host HOST         server (default 127.0.0.1)\n"
          "  -p, --port PORT         port (default 5270)\n"
          "  --submitter ID          ISA06/GS02 submitter ID (default SUBMITTER01)\n"
          "  --npi NPI               provider NPI (default 1234567893)\n"
          "  --provider NAME         provider organisation name (default EXAMPLE CLINIC)\n"
          "  --mbi, --last, --first, --dob   the beneficiary (all required without FILE)\n"
          "  --date D|D1-D2          date or range of service (default today)\n"
          "  --stc LIST              service type codes, comma-separated (default 30)\n"
          "  --unwrapped             send and read raw X12 (no SOH/length/STX/ETX wrapper)\n"
          "  --connect-timeout MS    give up connecting after MS (default 5000)\n"
          "  --read-timeout MS       give up waiting for the whole answer after MS\n"
          "                          from the end of sending (default 30000)\n"
          "  --tls                   talk TLS (1.2 or later) to a TLS listener\n"
          "  --cert FILE, --key FILE our client certificate and its key (PEM)\n"
          "  --ca FILE               verify the server's certificate against this CA and\n"
          "                          -H; without it the server is NOT verified (warning)\n"
          "  --core soap|mime        send the 270 to a CAQH CORE door (HTTPS) in a SOAP 1.2\n"
          "                          or a multipart/form-data envelope\n"
          "  --url https://HOST:PORT/PATH   the door, e.g.\n"
          "                          https://hets.example:5280/eligibility/realtime/soap\n"
          "                          (TLS always; --cert, --key, --ca as with --tls)\n"
          "  --user NAME             --core: a UsernameToken (SOAP) or UserName/Password\n"
          "                          parts (MIME); the password is read from the\n"
          "                          environment variable " OHETS_CORE_PASSWORD_ENV "\n"
          "  --help, --version\n"
          "Exit status: 0 answered (whatever the answer), 1 connection or protocol\n"
          "failure (with --core also an envelope or HTTP error, said in one line:\n"
          "\"HTTP 403 UnAuthorized: ...\"; --json prints its \"core\" object), 2 usage error.\n");
}

/* ------------------------------------------------------------------ */
/* Option checks.  Messages name the option, never the value (PHI).   */

static int usage_error(const char *fmt, const char *what) {
  fprintf(stderr, PROG ": ");
  fprintf(stderr, fmt, what);
  fprintf(stderr, " (see " PROG " --help)\n");
  return 2;
}

/* 1 when v fits an X12 element: 1..max printable ASCII bytes, none of the
 * delimiters the built 270 uses (* ~ ^ :). */
static int element_ok(const char *v, size_t max) {
  size_t n = strlen(v);
  if (n == 0 || n > max)
    return 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)v[i];
    if (c < 0x20 || c > 0x7e || strchr("*~^:", c) != NULL)
      return 0;
  }
  return 1;
}

static int parse_ms(const char *s, int *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (s[0] == '\0' || *end != '\0' || errno != 0 || v < 1 || v > 3600000)
    return -EINVAL;
  *out = (int)v;
  return 0;
}

static int d8_ok(const char *s, size_t n) {
  ohets_date d;
  return n == 8 && ohets_date_parse_d8(s, 8, &d) == 0;
}

static int check_options(const options *o) {
  char *end;
  long port = strtol(o->port, &end, 10);
  if (o->port[0] == '\0' || *end != '\0' || port < 1 || port > 65535)
    return usage_error("%s: must be a port number 1..65535", "-p/--port");
  if (o->host[0] == '\0')
    return usage_error("%s: empty host", "-H/--host");
  if (o->core || o->url) {
    if (!o->core)
      return usage_error("%s", "--url goes with --core soap|mime");
    if (o->url == NULL)
      return usage_error("%s", "--core needs --url https://HOST:PORT/PATH");
    if (o->host_given || o->port_given)
      return usage_error("%s", "--url names the server: not with -H or -p");
    if (o->unwrapped)
      return usage_error("%s", "--unwrapped is for the Extranet socket, not --core");
  } else if (o->user != NULL) {
    return usage_error("%s", "--user goes with --core");
  }
  if (o->user != NULL && (o->user[0] == '\0' || o->password == NULL || o->password[0] == '\0'))
    return usage_error("%s", o->user[0] == '\0'
                                 ? "--user: want a user name"
                                 : "--user: put the password in the environment variable "
                                   OHETS_CORE_PASSWORD_ENV " (never on the command line)");
  if (!o->tls && !o->core && (o->cert || o->key || o->ca))
    return usage_error("%s", "--cert, --key and --ca go with --tls or --core");
  if ((o->cert == NULL) != (o->key == NULL))
    return usage_error("%s", "--cert and --key go together (a certificate and its key)");
  int builds = o->mbi || o->last || o->first || o->dob || o->date || o->stc;
  if (o->file != NULL) {
    if (builds)
      return usage_error("%s", "FILE is sent as is: --mbi, --last, --first, --dob, "
                               "--date and --stc build a 270 and cannot go with it");
    return 0;
  }
  const char *required[][2] = {{"--mbi", o->mbi}, {"--last", o->last},
                               {"--first", o->first}, {"--dob", o->dob}};
  for (size_t i = 0; i < 4; i++)
    if (required[i][1] == NULL)
      return usage_error("%s is required (or give a FILE to send)", required[i][0]);
  if (!element_ok(o->submitter, 15))
    return usage_error("%s: 1 to 15 printable characters, none of * ~ ^ :", "--submitter");
  if (o->npi[0] != '\0' && !element_ok(o->npi, 80))
    return usage_error("%s: up to 80 printable characters, none of * ~ ^ :", "--npi");
  if (!element_ok(o->provider, 60))
    return usage_error("%s: 1 to 60 printable characters, none of * ~ ^ :", "--provider");
  if (!element_ok(o->mbi, 80))
    return usage_error("%s: 1 to 80 printable characters, none of * ~ ^ :", "--mbi");
  if (!element_ok(o->last, 60))
    return usage_error("%s: 1 to 60 printable characters, none of * ~ ^ :", "--last");
  if (!element_ok(o->first, 35))
    return usage_error("%s: 1 to 35 printable characters, none of * ~ ^ :", "--first");
  if (!d8_ok(o->dob, strlen(o->dob)))
    return usage_error("%s: must be a real date YYYYMMDD", "--dob");
  if (o->date != NULL) {
    size_t n = strlen(o->date);
    if (!(d8_ok(o->date, n) ||
          (n == 17 && o->date[8] == '-' && d8_ok(o->date, 8) && d8_ok(o->date + 9, 8))))
      return usage_error("%s: must be YYYYMMDD or YYYYMMDD-YYYYMMDD (real dates)", "--date");
  }
  if (o->stc != NULL) {
    const char *p = o->stc;
    unsigned count = 0;
    for (;;) {
      size_t n = strcspn(p, ",");
      int ok = n >= 1 && n <= 2;
      for (size_t i = 0; ok && i < n; i++)
        ok = isalnum((unsigned char)p[i]) != 0;
      if (!ok || ++count > 99)
        return usage_error("%s: a comma-separated list of 1 to 99 service type "
                           "codes (1 or 2 letters or digits each)", "--stc");
      if (p[n] == '\0')
        break;
      p += n + 1;
    }
  }
  return 0;
}

/* ------------------------------------------------------------------ */
/* The 270.                                                            */

static void upper_copy(char *dst, size_t n, const char *src) {
  size_t i = 0;
  for (; src[i] != '\0' && i + 1 < n; i++)
    dst[i] = (char)toupper((unsigned char)src[i]);
  dst[i] = '\0';
}

/* A control number (1..999999999) that differs between runs: the clock's
 * seconds and the process id. */
static unsigned control_number(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  unsigned v = (unsigned)((ts.tv_sec % 100000) * 10000 + getpid() % 10000);
  v %= 1000000000u;
  return v == 0 ? 1 : v;
}

static int build_270(const options *o, ohets_buf *out) {
  ohets_now now;
  ohets_common_now(NULL, &now);
  unsigned ctl = control_number();
  char d8[9], yymmdd[7], hhmm[5], date[18], stc[300];
  snprintf(d8, sizeof d8, "%04d%02u%02u", now.date.year % 10000u, now.date.month % 100u,
           now.date.day % 100u);
  memcpy(yymmdd, d8 + 2, 7);
  snprintf(hhmm, sizeof hhmm, "%02u%02u", now.hour % 100u, now.minute % 100u);
  snprintf(date, sizeof date, "%s", o->date ? o->date : d8);

  /* EQ01 repeats with the repetition separator: one 2110C loop. */
  size_t k = 0;
  for (const char *p = o->stc ? o->stc : "30"; *p && k + 2 < sizeof stc; p++)
    stc[k++] = *p == ',' ? '^' : (char)toupper((unsigned char)*p);
  stc[k] = '\0';

  char mbi[81], last[61], first[36], provider[61];
  upper_copy(mbi, sizeof mbi, o->mbi);
  upper_copy(last, sizeof last, o->last);
  upper_copy(first, sizeof first, o->first);
  upper_copy(provider, sizeof provider, o->provider);

  ohets_buf_printf(out,
                   "ISA*00*          *00*          *ZZ*%-15s*ZZ*%-15s*%s*%s*^*00501*%09u*0*P*:~",
                   o->submitter, "CMS", yymmdd, hhmm, ctl);
  ohets_buf_printf(out, "GS*HS*%s*CMS*%s*%s*%u*X*005010X279A1~", o->submitter, d8, hhmm, ctl);
  size_t st_start = out->len;
  ohets_buf_printf(out, "ST*270*0001*005010X279A1~");
  ohets_buf_printf(out, "BHT*0022*13*HQ%09u*%s*%s~", ctl, d8, hhmm);
  ohets_buf_printf(out, "HL*1**20*1~NM1*PR*2*CMS*****PI*CMS~HL*2*1*21*1~");
  if (o->npi[0] != '\0')
    ohets_buf_printf(out, "NM1*1P*2*%s*****XX*%s~", provider, o->npi);
  else
    ohets_buf_printf(out, "NM1*1P*2*%s~", provider);
  ohets_buf_printf(out, "HL*3*2*22*0~TRN*1*HQ%09u*9HETSQUERY~", ctl);
  ohets_buf_printf(out, "NM1*IL*1*%s*%s****MI*%s~", last, first, mbi);
  ohets_buf_printf(out, "DMG*D8*%s~", o->dob);
  ohets_buf_printf(out, "DTP*291*%s*%s~", strchr(date, '-') ? "RD8" : "D8", date);
  ohets_buf_printf(out, "EQ*%s~", stc);
  unsigned segs = 1; /* SE itself */
  for (size_t i = st_start; i < out->len; i++)
    segs += out->data[i] == '~';
  ohets_buf_printf(out, "SE*%u*0001~GE*1*%u~IEA*1*%09u~", segs, ctl, ctl);
  return out->len > 0 && out->data[out->len - 1] == '~' ? 0 : -ENOBUFS;
}

/* The option behind a 999 error in the built 270, or NULL. */
static const char *option_behind(const ohets_ack_error *e) {
  if (strcmp(e->segment, "DMG") == 0)
    return "--dob";
  if (strcmp(e->segment, "DTP") == 0)
    return "--date";
  if (strcmp(e->segment, "EQ") == 0)
    return "--stc";
  if (strcmp(e->segment, "NM1") == 0 && strcmp(e->loop, "2100B") == 0)
    return e->element == 9 ? "--npi" : "--provider";
  if (strcmp(e->segment, "NM1") == 0 && strcmp(e->loop, "2100C") == 0)
    return e->element == 3 ? "--last" : e->element == 4 ? "--first" : "--mbi";
  if (strcmp(e->segment, "GS") == 0)
    return "--submitter";
  return NULL;
}

/* One line naming where the 999's first error is, never the values. */
static void report_999(const ohets_validation *v) {
  const ohets_ack_error *e = &v->first;
  if (v->n_errors == 0) {
    fprintf(stderr, PROG ": the 270 built from the options fails validation (999 %c)\n",
            v->ack_code ? v->ack_code : '?');
    return;
  }
  const char *t3 = ohets_query_ik3_text(e->segment_code);
  fprintf(stderr, PROG ": the 270 built from the options fails validation: segment %s"
                  "%s%s: %s",
          e->segment, e->loop[0] ? " in loop " : "", e->loop, t3 ? t3 : e->segment_code);
  if (e->element > 0) {
    const char *t4 = ohets_query_ik4_text(e->element_code);
    fprintf(stderr, ", element %s%02u: %s", e->segment, e->element,
            t4 ? t4 : e->element_code);
  }
  const char *opt = option_behind(e);
  if (opt != NULL)
    fprintf(stderr, " (check %s)", opt);
  fputc('\n', stderr);
}

/* Runs the core's own checks over the built request (the stages the
 * server runs before it looks anything up).  On a problem writes one line
 * naming where it is (never the values) and returns -EINVAL. */
static int validate_built(const ohets_buf *req) {
  ohets_validation v;
  int rc = ohets_validate_270(req->data, req->len, &v);
  if (rc != 0) {
    fprintf(stderr, PROG ": cannot validate the 270: %s\n", strerror(-rc));
    return rc;
  }
  switch (v.answer) {
  case OHETS_ANSWER_271:
    return 0;
  case OHETS_ANSWER_HETS:
    fprintf(stderr, PROG ": the 270 built from the options cannot be read as X12\n");
    break;
  case OHETS_ANSWER_TA1: {
    const char *t = ohets_query_ta1_text(v.ta1_code);
    fprintf(stderr, PROG ": the 270 built from the options has a bad envelope: TA105 %s %s\n",
            v.ta1_code, t ? t : "");
    break;
  }
  case OHETS_ANSWER_999:
    report_999(&v);
    break;
  }
  return -EINVAL;
}

/* The MBI (2100C NM109) of a request read from FILE, for --json. */
static void mbi_of_request(const ohets_buf *req, char *dst, size_t n) {
  ohets_x12_doc *x = NULL;
  dst[0] = '\0';
  if (req->len == 0 || ohets_x12_read((const char *)req->data, req->len, &x) != 0)
    return;
  for (size_t s = 0; s < ohets_x12_segments(x); s++) {
    if (ohets_x12_element_is(x, s, 0, "NM1") && ohets_x12_element_is(x, s, 1, "IL") &&
        ohets_x12_element_is(x, s, 8, "MI")) {
      ohets_x12_element_copy(x, s, 9, dst, n);
      break;
    }
  }
  ohets_x12_doc_free(x);
}

/* ------------------------------------------------------------------ */
/* The socket.                                                         */

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int remaining(long long deadline) {
  long long left = deadline - now_ms();
  return left < 0 ? 0 : (int)left;
}

/* strerror() with a lower-case first letter, to read as part of a line. */
static const char *err_text(int err) {
  static char buf[128];
  snprintf(buf, sizeof buf, "%s", strerror(err));
  buf[0] = (char)tolower((unsigned char)buf[0]);
  return buf;
}

/* Connects within timeout_ms.  Returns the socket or -1 after printing
 * one line. */
static int connect_to(const char *host, const char *port, const char *where,
                      int timeout_ms) {
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  int gai = getaddrinfo(host, port, &hints, &res);
  if (gai != 0) {
    char text[128];
    snprintf(text, sizeof text, "%s", gai_strerror(gai));
    text[0] = (char)tolower((unsigned char)text[0]);
    fprintf(stderr, PROG ": connect %s: %s\n", where, text);
    return -1;
  }
  long long deadline = now_ms() + timeout_ms;
  int fd = -1, err = ECONNREFUSED;
  for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
    int s = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                   ai->ai_protocol);
    if (s < 0) {
      err = errno;
      continue;
    }
    if (connect(s, ai->ai_addr, ai->ai_addrlen) == 0) {
      fd = s;
      break;
    }
    if (errno != EINPROGRESS) {
      err = errno;
      close(s);
      continue;
    }
    struct pollfd p = {s, POLLOUT, 0};
    int pr;
    do
      pr = poll(&p, 1, remaining(deadline));
    while (pr < 0 && errno == EINTR);
    if (pr == 0) {
      err = ETIMEDOUT;
      close(s);
      break; /* the time is used up for every address */
    }
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (pr < 0 || getsockopt(s, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0 || soerr != 0) {
      err = pr < 0 || soerr == 0 ? errno : soerr;
      close(s);
      continue;
    }
    fd = s;
  }
  freeaddrinfo(res);
  if (fd < 0) {
    if (err == ETIMEDOUT)
      fprintf(stderr, PROG ": connect %s: no connection within %d ms\n", where, timeout_ms);
    else
      fprintf(stderr, PROG ": connect %s: %s\n", where, err_text(err));
  }
  return fd;
}

static int send_all(int fd, const uint8_t *p, size_t n, long long deadline,
                    const char *where) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w > 0) {
      p += w;
      n -= (size_t)w;
      continue;
    }
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      struct pollfd pf = {fd, POLLOUT, 0};
      int left = remaining(deadline);
      if (left == 0 || poll(&pf, 1, left) == 0) {
        fprintf(stderr, PROG ": send %s: the server did not take the request in time\n",
                where);
        return -1;
      }
      continue;
    }
    fprintf(stderr, PROG ": send %s: %s\n", where, err_text(errno));
    return -1;
  }
  return 0;
}

/* Looks for a whole answer in the bytes read so far: 1 when there is one
 * (*off, *len set), 0 when more are needed, -1 after printing one line.
 * Unwrapped, a bare HETS error record (no terminator) is noticed here
 * (*bare_hets, *off at its start); it ends when the bytes stop. */
static int answer_in(ohets_frame_decoder *dec, int unwrapped, int *bare_hets,
                     const ohets_buf *in, size_t *off, size_t *len, const char *where) {
  if (unwrapped && !*bare_hets) {
    size_t i = 0;
    while (i < in->len && strchr(" \t\r\n", in->data[i]) != NULL)
      i++;
    *bare_hets = in->len - i >= 4 && memcmp(in->data + i, "HETS", 4) == 0;
    if (*bare_hets)
      *off = i;
  }
  if (*bare_hets || in->len == 0)
    return 0;
  ohets_frame fr;
  ohets_frame_status st = ohets_frame_next(dec, in->data, in->len, &fr);
  if (st == OHETS_FRAME_READY) {
    *off = fr.payload_off;
    *len = fr.payload_len;
    return 1;
  }
  if (st == OHETS_FRAME_ERROR) {
    fprintf(stderr, PROG ": %s: the answer is not %s\n", where,
            unwrapped ? "an X12 interchange"
                      : "in the HETS wrapper (SOH, length, STX, payload, ETX)");
    return -1;
  }
  return 0;
}

/* The connection: the socket, and over it the TLS engine with --tls. */
typedef struct peer {
  int fd;
  ohets_tls *tls;  /* NULL: plain TCP */
  int tls_eof;     /* the server's close_notify was read */
  int client_cert; /* we offered a certificate (for the hint below) */
  int got_plain;   /* the server has sent application bytes */
} peer;

/* One line for a TLS failure: the engine's reason ("handshake: certificate
 * verify failed: ..."), and a hint when a server that wants a client
 * certificate got none.  A TLS 1.3 client's side of the handshake is over
 * before the server has checked the client's certificate, so a refusal
 * arrives as the engine's "record:" failure; before any answer byte it is
 * the server's end of the handshake, and said so. */
static void tls_failed(const peer *p, const char *where) {
  const char *why = ohets_tls_error(p->tls);
  const char *phase = "";
  if (!p->got_plain && strncmp(why, "record: ", 8) == 0) {
    phase = "handshake: ";
    why += 8;
  }
  fprintf(stderr, PROG ": tls %s: %s%s%s\n", where, phase, why[0] ? why : "failed",
          !p->client_cert && strstr(why, "alert") != NULL && strstr(why, "certificate") != NULL
              ? " (no client certificate was given: see --cert and --key)"
              : "");
}

/* Sends the ciphertext the engine holds, within deadline.  0, or -1 after
 * a line. */
static int tls_send_pending(peer *p, long long deadline, const char *where) {
  const void *q;
  size_t n;
  while ((n = ohets_tls_out(p->tls, &q)) > 0) {
    if (send_all(p->fd, q, n, deadline, where) != 0)
      return -1;
    ohets_tls_out_consume(p->tls, n);
  }
  return 0;
}

/* The request: as is, or encrypted.  0, or -1 after a line. */
static int send_request(peer *p, const ohets_buf *wire, long long deadline, const char *where) {
  if (p->tls == NULL)
    return send_all(p->fd, wire->data, wire->len, deadline, where);
  int rc = ohets_tls_write(p->tls, wire->data, wire->len);
  if (rc != 0) {
    if (ohets_tls_error(p->tls)[0] != '\0')
      tls_failed(p, where);
    else
      fprintf(stderr, PROG ": tls %s: cannot encrypt the request: %s\n", where, err_text(-rc));
    return -1;
  }
  return tls_send_pending(p, deadline, where);
}

enum { RECV_AGAIN, RECV_TIMEOUT, RECV_CLOSED, RECV_FAILED };

/* Ciphertext from the socket into the engine; the plaintext it gives is
 * appended to in, and what it has to send (handshake records, an alert) is
 * sent.  RECV_AGAIN, or RECV_FAILED after printing one line. */
static int tls_take(peer *p, const uint8_t *chunk, size_t n, const char *where,
                    ohets_buf *in) {
  if (ohets_tls_feed(p->tls, chunk, n) != 0) {
    fprintf(stderr, PROG ": tls %s: out of memory\n", where);
    return RECV_FAILED;
  }
  uint8_t plain[16384];
  long got;
  while ((got = ohets_tls_read(p->tls, plain, sizeof plain)) > 0) {
    p->got_plain = 1;
    if (ohets_buf_append(in, plain, (size_t)got) != 0) {
      fprintf(stderr, PROG ": %s: the answer is larger than %u bytes\n", where, MAX_ANSWER);
      return RECV_FAILED;
    }
  }
  if (got == OHETS_TLS_EFAIL) {
    /* the alert for the server, if the socket takes it at once */
    const void *q;
    size_t k = ohets_tls_out(p->tls, &q);
    if (k > 0 && send(p->fd, q, k, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
      /* nothing more to do: the connection is over either way */
    }
    tls_failed(p, where);
    return RECV_FAILED;
  }
  if (got == OHETS_TLS_EOF)
    p->tls_eof = 1;
  return tls_send_pending(p, now_ms() + 5000, where) == 0 ? RECV_AGAIN : RECV_FAILED;
}

/* Waits up to wait_ms for bytes and appends them (decrypted with --tls) to
 * in.  RECV_AGAIN when bytes came (or a signal interrupted), RECV_TIMEOUT,
 * RECV_CLOSED, or RECV_FAILED after printing one line. */
static int recv_some(peer *p, int wait_ms, const char *where, ohets_buf *in) {
  if (p->tls_eof)
    return RECV_CLOSED;
  struct pollfd pf = {p->fd, POLLIN, 0};
  int pr = poll(&pf, 1, wait_ms);
  if (pr < 0 && errno == EINTR)
    return RECV_AGAIN;
  if (pr == 0)
    return RECV_TIMEOUT;
  uint8_t chunk[65536];
  ssize_t r = recv(p->fd, chunk, sizeof chunk, 0);
  if (r < 0 && (errno == EINTR || errno == EAGAIN))
    return RECV_AGAIN;
  if (r < 0) {
    int e = errno;
    /* A server that refuses our certificate may reset the socket before
     * its alert is read. */
    int hint = p->tls != NULL && !p->got_plain && !p->client_cert && e == ECONNRESET;
    fprintf(stderr, PROG ": %s: %s%s\n", where, err_text(e),
            hint ? " (no client certificate was given: does the server want one? "
                   "see --cert and --key)" : "");
    return RECV_FAILED;
  }
  if (r == 0)
    return RECV_CLOSED;
  if (p->tls != NULL)
    return tls_take(p, chunk, (size_t)r, where, in);
  if (ohets_buf_append(in, chunk, (size_t)r) != 0) {
    fprintf(stderr, PROG ": %s: the answer is larger than %u bytes\n", where, MAX_ANSWER);
    return RECV_FAILED;
  }
  return RECV_AGAIN;
}

/* The TLS handshake over p->fd, done by deadline (the connect timeout
 * covers the connect and the handshake).  Plaintext the server sends
 * before the request (none, from openhetsd) lands in in.  0, or -1 after
 * one line. */
static int tls_handshake(peer *p, ohets_tls_ctx *ctx, const char *host, const char *where,
                         long long deadline, int connect_ms, ohets_buf *in) {
  p->tls = ohets_tls_new(ctx);
  if (p->tls == NULL) {
    fprintf(stderr, PROG ": tls %s: out of memory\n", where);
    return -1;
  }
  if (ohets_tls_set_host(p->tls, host) != 0) {
    fprintf(stderr, PROG ": tls %s: -H cannot be checked against a certificate "
                    "(not an address, or a name too long)\n", where);
    return -1;
  }
  if (ohets_tls_connect(p->tls) != 0) {
    tls_failed(p, where);
    return -1;
  }
  for (;;) {
    if (tls_send_pending(p, deadline, where) != 0)
      return -1;
    if (ohets_tls_handshake_done(p->tls))
      return 0;
    int got = recv_some(p, remaining(deadline), where, in);
    if (got == RECV_AGAIN)
      continue;
    if (got == RECV_TIMEOUT)
      fprintf(stderr, PROG ": tls %s: no TLS handshake within %d ms\n", where, connect_ms);
    else if (got == RECV_CLOSED)
      fprintf(stderr, PROG ": tls %s: the server closed the connection during the TLS "
                      "handshake (is it a TLS listener?)\n", where);
    return -1;
  }
}

/* The end of a TLS connection: close_notify if the socket takes it at
 * once (a courtesy; the answer is in), then the engine goes. */
static void tls_end(peer *p) {
  if (p->tls == NULL)
    return;
  ohets_tls_shutdown(p->tls);
  const void *q;
  size_t k = ohets_tls_out(p->tls, &q);
  if (k > 0 && send(p->fd, q, k, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
    /* the server may have closed already: nothing lost */
  }
  ohets_tls_free(p->tls);
  p->tls = NULL;
}

/* --core: reads one HTTP response into msg (its bytes into in).  0, or -1
 * after printing one line. */
static int read_http_answer(peer *p, int read_ms, const char *where, ohets_buf *in,
                            ohets_caqh_http_msg *msg) {
  ohets_caqh_http_reader *r = NULL;
  int rc = -1;
  if (ohets_caqh_http_reader_new(&r, 1, MAX_ANSWER) != 0) {
    fprintf(stderr, PROG ": %s: out of memory\n", where);
    return -1;
  }
  long long deadline = now_ms() + read_ms;
  size_t parsed = 0, consumed = 0;
  for (;;) {
    ohets_caqh_http_status st = OHETS_CAQH_HTTP_NEED_MORE;
    if (in->len > parsed) {
      st = ohets_caqh_http_reader_next(r, in->data, in->len, &consumed, msg);
      parsed = in->len;
    }
    if (st == OHETS_CAQH_HTTP_MESSAGE) {
      rc = 0;
      break;
    }
    if (st == OHETS_CAQH_HTTP_ERROR) {
      fprintf(stderr, PROG ": %s: the answer is not HTTP/1.1: %s\n", where, msg->error);
      break;
    }
    int got = recv_some(p, remaining(deadline), where, in);
    if (got == RECV_AGAIN)
      continue;
    if (got == RECV_FAILED)
      break;
    if (got == RECV_CLOSED && in->len > 0 &&
        ohets_caqh_http_reader_eof(r, msg) == OHETS_CAQH_HTTP_MESSAGE) {
      rc = 0; /* a body that ends with the connection */
      break;
    }
    if (got == RECV_TIMEOUT)
      fprintf(stderr, PROG ": %s: no %sanswer within %d ms\n", where,
              in->len ? "whole " : "", read_ms);
    else if (in->len == 0)
      fprintf(stderr, PROG ": %s: the server closed the connection without answering\n",
              where);
    else
      fprintf(stderr, PROG ": %s: the server closed the connection in the middle of "
                      "the answer (%zu bytes read)\n", where, in->len);
    break;
  }
  ohets_caqh_http_reader_free(r);
  return rc;
}

/* Reads one answer into in; sets *off and *len to its payload.  0, or -1 after
 * printing one line. */
static int read_answer(peer *p, int unwrapped, int read_ms, const char *where,
                       ohets_buf *in, size_t *off, size_t *len) {
  ohets_frame_decoder dec;
  ohets_frame_decoder_init(&dec, unwrapped ? OHETS_FRAMING_RAW : OHETS_FRAMING_HETS,
                           MAX_ANSWER);
  long long deadline = now_ms() + read_ms;
  int bare_hets = 0;
  for (;;) {
    int found = answer_in(&dec, unwrapped, &bare_hets, in, off, len, where);
    if (found != 0)
      return found > 0 ? 0 : -1;
    int bare_whole = bare_hets && in->len - *off >= HETS_RECORD_FIXED;
    int wait = remaining(deadline);
    if (bare_whole && wait > RAW_HETS_QUIET_MS)
      wait = RAW_HETS_QUIET_MS;
    int got = recv_some(p, wait, where, in);
    if (got == RECV_AGAIN)
      continue;
    if (got == RECV_FAILED)
      return -1;
    if (bare_whole) { /* the bytes stopped (or the server closed) after it */
      *len = in->len - *off;
      return 0;
    }
    if (got == RECV_TIMEOUT)
      fprintf(stderr, PROG ": %s: no %sanswer within %d ms\n", where,
              in->len ? "whole " : "", read_ms);
    else if (in->len == 0)
      fprintf(stderr, PROG ": %s: the server closed the connection without answering\n",
              where);
    else
      fprintf(stderr, PROG ": %s: the server closed the connection in the middle of "
                      "the answer (%zu bytes read)\n", where, in->len);
    return -1;
  }
}

/* ------------------------------------------------------------------ */
/* The command line.                                                   */

/* The option getopt complained about, as the user typed it. */
static const char *option_name(char **argv, int ind, int opt) {
  static char shortname[3];
  if (opt > 0 && opt < 256) {
    shortname[0] = '-';
    shortname[1] = (char)opt;
    return shortname;
  }
  return argv[ind - 1];
}

enum { O_SUB = 256, O_NPI, O_PROV, O_MBI, O_LAST, O_FIRST, O_DOB, O_DATE, O_STC,
       O_RAW, O_JSON, O_UNWRAPPED, O_CONNECT, O_READ, O_TLS, O_CERT, O_KEY, O_CA,
       O_CORE, O_URL, O_USER, O_HELP, O_VERSION };
static const struct option long_opts[] = {
    {"host", required_argument, NULL, 'H'},
    {"port", required_argument, NULL, 'p'},
    {"submitter", required_argument, NULL, O_SUB},
    {"npi", required_argument, NULL, O_NPI},
    {"provider", required_argument, NULL, O_PROV},
    {"mbi", required_argument, NULL, O_MBI},
    {"last", required_argument, NULL, O_LAST},
    {"first", required_argument, NULL, O_FIRST},
    {"dob", required_argument, NULL, O_DOB},
    {"date", required_argument, NULL, O_DATE},
    {"stc", required_argument, NULL, O_STC},
    {"raw", no_argument, NULL, O_RAW},
    {"json", no_argument, NULL, O_JSON},
    {"unwrapped", no_argument, NULL, O_UNWRAPPED},
    {"connect-timeout", required_argument, NULL, O_CONNECT},
    {"read-timeout", required_argument, NULL, O_READ},
    {"tls", no_argument, NULL, O_TLS},
    {"cert", required_argument, NULL, O_CERT},
    {"key", required_argument, NULL, O_KEY},
    {"ca", required_argument, NULL, O_CA},
    {"core", required_argument, NULL, O_CORE},
    {"url", required_argument, NULL, O_URL},
    {"user", required_argument, NULL, O_USER},
    {"help", no_argument, NULL, O_HELP},
    {"version", no_argument, NULL, O_VERSION},
    {NULL, 0, NULL, 0}};

/* Takes option c (getopt's answer) into o.  0, -1 when --help or
 * --version was answered, or 2 after a usage error line. */
static int take_option(int c, char **argv, options *o, int *outputs) {
  switch (c) {
  case 'H': o->host = optarg; o->host_given = 1; break;
  case 'p': o->port = optarg; o->port_given = 1; break;
  case O_SUB: o->submitter = optarg; break;
  case O_NPI: o->npi = optarg; break;
  case O_PROV: o->provider = optarg; break;
  case O_MBI: o->mbi = optarg; break;
  case O_LAST: o->last = optarg; break;
  case O_FIRST: o->first = optarg; break;
  case O_DOB: o->dob = optarg; break;
  case O_DATE: o->date = optarg; break;
  case O_STC: o->stc = optarg; break;
  case O_RAW: o->output = OUT_RAW; (*outputs)++; break;
  case O_JSON: o->output = OUT_JSON; (*outputs)++; break;
  case O_UNWRAPPED: o->unwrapped = 1; break;
  case O_TLS: o->tls = 1; break;
  case O_CERT: o->cert = optarg; break;
  case O_KEY: o->key = optarg; break;
  case O_CA: o->ca = optarg; break;
  case O_CORE:
    if (ohets_core_kind_parse(optarg, &o->core) != 0)
      return usage_error("%s: want soap or mime", "--core");
    break;
  case O_URL: o->url = optarg; break;
  case O_USER: o->user = optarg; break;
  case O_CONNECT:
    if (parse_ms(optarg, &o->connect_ms) != 0)
      return usage_error("%s: milliseconds 1..3600000", "--connect-timeout");
    break;
  case O_READ:
    if (parse_ms(optarg, &o->read_ms) != 0)
      return usage_error("%s: milliseconds 1..3600000", "--read-timeout");
    break;
  case O_HELP: usage(stdout); return -1;
  case O_VERSION: printf(PROG " " OHETS_VERSION_STRING "\n"); return -1;
  case ':':
    return usage_error("%s needs a value", option_name(argv, optind, optopt));
  default:
    return usage_error("unknown option %s", option_name(argv, optind, optopt));
  }
  return 0;
}

/* Fills o from the command line and checks it.  0, -1 when --help or
 * --version was answered (exit 0), or 2 after a usage error line. */
static int parse_args(int argc, char **argv, options *o) {
  int outputs = 0, c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":H:p:", long_opts, NULL)) != -1) {
    int rc = take_option(c, argv, o, &outputs);
    if (rc != 0)
      return rc;
  }
  if (outputs > 1)
    return usage_error("%s", "--raw and --json: choose one");
  if (argc - optind > 1)
    return usage_error("%s", "one FILE at most");
  if (optind < argc)
    o->file = argv[optind];
  if (o->user != NULL)
    o->password = getenv(OHETS_CORE_PASSWORD_ENV);
  int rc = check_options(o);
  if (rc != 0 || !o->core)
    return rc;
  char err[160];
  if (ohets_core_url_parse(o->url, o->core, &o->core_url, err, sizeof err) != 0)
    return usage_error("%s", err);
  o->host = o->core_url.host;
  o->port = o->core_url.port;
  return 0;
}

/* ------------------------------------------------------------------ */
/* One inquiry.                                                        */

/* The request: FILE as read, or the 270 built from the options and
 * checked by the core.  mbi gets the beneficiary's MBI (for --json).
 * 0, 1 after a line, or 2 when the options made a 270 HETS would refuse. */
static int load_request(const options *o, ohets_buf *req, char *mbi, size_t mbisz) {
  if (o->file == NULL) {
    if (build_270(o, req) != 0) {
      fprintf(stderr, PROG ": cannot build the 270: out of memory\n");
      return 1;
    }
    if (validate_built(req) != 0)
      return 2;
    upper_copy(mbi, mbisz, o->mbi);
    return 0;
  }
  FILE *f = strcmp(o->file, "-") == 0 ? stdin : fopen(o->file, "rb");
  if (f == NULL) {
    fprintf(stderr, PROG ": %s: %s\n", o->file, err_text(errno));
    return 1;
  }
  int rc = ohets_common_read_all(f, req);
  if (f != stdin)
    fclose(f);
  if (rc != 0) {
    fprintf(stderr, PROG ": %s: %s\n", o->file,
            rc == -ENOBUFS ? "larger than 64 MiB" : err_text(-rc));
    return 1;
  }
  mbi_of_request(req, mbi, mbisz);
  return 0;
}

/* The bytes to send: the request in the wrapper, unless --unwrapped or a
 * FILE that carries the wrapper already (sent untouched).  *raw_answer:
 * the answer comes unwrapped.  0, or 1 after a line. */
static int frame_request(const options *o, const ohets_buf *req, ohets_buf *wire,
                         int *raw_answer) {
  int prewrapped = req->len > 0 && req->data[0] == OHETS_FRAME_SOH;
  const uint8_t *p = req->data ? req->data : (const uint8_t *)"";
  int rc = o->unwrapped || prewrapped ? ohets_buf_append(wire, p, req->len)
                                      : ohets_frame_wrap(wire, p, req->len);
  if (rc != 0) {
    fprintf(stderr, PROG ": cannot frame the request: %s\n", err_text(-rc));
    return 1;
  }
  *raw_answer = o->unwrapped && !prewrapped;
  return 0;
}

/* --core: the HTTP request around the 270 (payload_id: its PayloadID).
 * 0, or 1 after a line. */
static int core_request(const options *o, const ohets_buf *req, ohets_buf *wire,
                        char payload_id[OHETS_CORE_UUID_LEN + 1]) {
  char err[200];
  if (req->len > 0 && req->data[0] == OHETS_FRAME_SOH) {
    fprintf(stderr, PROG ": %s: in the HETS wrapper; --core sends the bare X12 interchange\n",
            o->file);
    return 1;
  }
  ohets_core_request rq = {.kind = o->core, .url = &o->core_url,
                           .payload = req->data ? req->data : (const uint8_t *)"",
                           .payload_len = req->len, .username = o->user,
                           .password = o->password};
  if (ohets_core_build(wire, &rq, payload_id, NULL, err, sizeof err) != 0) {
    fprintf(stderr, PROG ": core: %s\n", err);
    return 1;
  }
  return 0;
}

/* Connects (with ctx: and makes the TLS handshake), sends wire and reads
 * one answer into in (its payload at *off, *len bytes; with http, the
 * HTTP response into it instead).  0, or 1 after a line. */
static int exchange(const options *o, ohets_tls_ctx *ctx, const char *where,
                    const ohets_buf *wire, int raw_answer, ohets_buf *in, size_t *off,
                    size_t *len, ohets_caqh_http_msg *http) {
  int status = 1;
  long long connect_deadline = now_ms() + o->connect_ms;
  peer p = {.fd = connect_to(o->host, o->port, where, o->connect_ms),
            .client_cert = o->cert != NULL};
  if (p.fd < 0)
    return 1;
  if ((ctx == NULL || tls_handshake(&p, ctx, o->host, where, connect_deadline, o->connect_ms,
                                    in) == 0) &&
      send_request(&p, wire, now_ms() + o->read_ms, where) == 0 &&
      (http != NULL ? read_http_answer(&p, o->read_ms, where, in, http)
                    : read_answer(&p, raw_answer, o->read_ms, where, in, off, len)) == 0)
    status = 0;
  tls_end(&p);
  close(p.fd);
  return status;
}

/* --tls: the client context (our certificate, the CA that verifies the
 * server).  0, or 1 after a line. */
static int make_tls_ctx(const options *o, ohets_tls_ctx **ctx) {
  char err[512];
  *ctx = NULL;
  if (!o->tls && !o->core)
    return 0;
  if (ohets_tls_ctx_client(ctx, o->cert, o->key, o->ca, err, sizeof err) != 0) {
    fprintf(stderr, PROG ": tls: %s\n", err);
    return 1;
  }
  if (o->ca == NULL)
    fprintf(stderr, PROG ": warning: %s without --ca: the server's certificate is not "
                    "verified\n", o->core ? "--core" : "--tls");
  return 0;
}

/* --core: the response's "core" object for --json. */
static json_t *core_json(const ohets_core_result *r) {
  json_t *c = json_object();
  const char *v[][2] = {{"error_code", r->error_code}, {"error_message", r->error_message},
                        {"payload_type", r->payload_type}, {"payload_id", r->payload_id}};
  json_object_set_new(c, "http_status", json_integer(r->http_status));
  for (size_t i = 0; i < 4; i++)
    json_object_set_new(c, v[i][0], v[i][1][0] ? json_string(v[i][1]) : json_null());
  return c;
}

static int flush_stdout(void) {
  if (fflush(stdout) != 0 || ferror(stdout)) {
    fprintf(stderr, PROG ": stdout: %s\n", err_text(errno));
    return 1;
  }
  return 0;
}

/* Prints the answer as asked: its X12, a JSON document (with core, the
 * response's "core" object, taken) or a summary in words.  0, or 1 after
 * a line. */
static int print_answer(const options *o, const char *payload, size_t len,
                        const char *mbi, json_t *core) {
  if (o->output == OUT_RAW) {
    fwrite(payload, 1, len, stdout);
    if (isatty(STDOUT_FILENO))
      fputc('\n', stdout);
  } else {
    json_t *doc = ohets_query_decode(payload, len, mbi[0] ? mbi : NULL);
    if (doc == NULL) {
      json_decref(core);
      fprintf(stderr, PROG ": out of memory decoding the answer\n");
      return 1;
    }
    if (core != NULL)
      json_object_set(doc, "core", core);
    if (o->output == OUT_JSON) {
      json_dumpf(doc, stdout, JSON_INDENT(2));
      fputc('\n', stdout);
    } else {
      ohets_query_summary(stdout, doc);
    }
    json_decref(doc);
  }
  json_decref(core);
  return flush_stdout();
}

/* --core: the response read; the X12 answer printed as over the Extranet
 * socket, or an envelope / HTTP error in one line (and --json's "core"
 * object).  0, or 1. */
static int print_core_answer(const options *o, const ohets_caqh_http_msg *msg,
                             const char *payload_id, const char *where, const char *mbi) {
  ohets_core_result r;
  char err[300];
  ohets_core_result_init(&r);
  int status = 1;
  if (ohets_core_read_response(o->core, msg, payload_id, &r, err, sizeof err) != 0) {
    fprintf(stderr, PROG ": core %s: %s\n", where, err);
  } else if (r.ok) {
    size_t n = 0;
    const char *p = ohets_caqh_envelope_trimmed(&r.env, OHETS_CAQH_PAYLOAD, &n);
    status = print_answer(o, p, n, mbi, o->output == OUT_JSON ? core_json(&r) : NULL);
  } else {
    ohets_core_error_line(&r, err, sizeof err);
    if (o->output == OUT_JSON) {
      json_t *doc = json_object();
      json_object_set_new(doc, "core", core_json(&r));
      json_dumpf(doc, stdout, JSON_INDENT(2));
      fputc('\n', stdout);
      json_decref(doc);
      flush_stdout();
    }
    fprintf(stderr, PROG ": core: %s\n", err);
  }
  ohets_core_result_clear(&r);
  return status;
}

int main(int argc, char **argv) {
  options o = {.host = "127.0.0.1", .port = "5270", .submitter = "SUBMITTER01",
               .npi = "1234567893", .provider = "EXAMPLE CLINIC",
               .output = OUT_SUMMARY, .connect_ms = 5000, .read_ms = 30000};
  int status = parse_args(argc, argv, &o);
  if (status != 0)
    return status < 0 ? 0 : status;

  char where[300], mbi[81] = "";
  ohets_buf req, wire, in;
  ohets_buf_init(&req, MAX_FILE);
  ohets_buf_init(&wire, MAX_FILE + OHETS_FRAME_OVERHEAD);
  ohets_buf_init(&in, MAX_ANSWER + OHETS_FRAME_OVERHEAD + 1024);
  snprintf(where, sizeof where, strchr(o.host, ':') ? "[%s]:%s" : "%s:%s", o.host, o.port);

  int raw_answer = 0;
  size_t off = 0, len = 0;
  char payload_id[OHETS_CORE_UUID_LEN + 1] = "";
  ohets_caqh_http_msg http;
  memset(&http, 0, sizeof http);
  if (o.core == OHETS_CORE_SOAP && ohets_caqh_soap_init() != 0) {
    fprintf(stderr, PROG ": core: cannot set up the SOAP reader (libxml2)\n");
    status = 1;
  }
  if (status == 0)
    status = load_request(&o, &req, mbi, sizeof mbi);
  if (status == 0)
    status = o.core ? core_request(&o, &req, &wire, payload_id)
                    : frame_request(&o, &req, &wire, &raw_answer);
  ohets_tls_ctx *ctx = NULL;
  if (status == 0)
    status = make_tls_ctx(&o, &ctx);
  if (status == 0)
    status = exchange(&o, ctx, where, &wire, raw_answer, &in, &off, &len,
                      o.core ? &http : NULL);
  ohets_tls_ctx_release(ctx);
  if (status == 0 && o.core)
    status = print_core_answer(&o, &http, payload_id, where, mbi);
  else if (status == 0)
    status = print_answer(&o, (const char *)in.data + off, len, mbi, NULL);
  ohets_caqh_http_msg_clear(&http);
  if (o.core == OHETS_CORE_SOAP)
    ohets_caqh_soap_cleanup();
  ohets_buf_free(&req);
  ohets_buf_free(&wire);
  ohets_buf_free(&in);
  return status;
}
