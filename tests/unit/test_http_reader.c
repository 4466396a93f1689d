/* The HTTP reader (src/caqh/http_reader.c) as a client of the CORE door
 * would see it: a table of single requests, each read whole, a byte at a
 * time and in random splits with the same outcome; pipelining; 100
 * Continue; every error status; responses; the response writers. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caqh/http_reader.h"

#define MAX_BODY 1024

typedef struct req_case {
  const char *what;
  const char *text;
  int status; /* 0: MESSAGE, else the error status */
  ohets_caqh_http_method method;
  const char *path, *query, *body;
  int keep_alive, chunked;
  const char *host, *content_type, *soap_action;
} req_case;

#define SOAP_CT "application/soap+xml; charset=utf-8; action=\"RealTimeTransaction\""

static const req_case req_cases[] = {
    {"wsdl", "GET /eligibility/realtime/soap?wsdl HTTP/1.1\r\nHost: core.example:8443\r\n\r\n", 0,
     OHETS_CAQH_METHOD_GET, "/eligibility/realtime/soap", "wsdl", "", 1, 0, "core.example:8443",
     "", ""},
    {"soap post, action parameter",
     "POST /eligibility/realtime/soap HTTP/1.1\r\nHost: h\r\nContent-Type: " SOAP_CT
     "\r\nContent-Length: 5\r\n\r\n<env>",
     0, OHETS_CAQH_METHOD_POST, "/eligibility/realtime/soap", "", "<env>", 1, 0, "h", SOAP_CT,
     "RealTimeTransaction"},
    {"SOAPAction header, quoted",
     "POST /s HTTP/1.1\r\nSOAPAction: \"RealTimeTransaction\"\r\nContent-Length: 2\r\n\r\nab", 0,
     OHETS_CAQH_METHOD_POST, "/s", "", "ab", 1, 0, "", "", "RealTimeTransaction"},
    {"action parameter wins over SOAPAction",
     "POST /s HTTP/1.1\r\nSOAPAction: old\r\nContent-Type: a/b; action=new\r\n"
     "Content-Length: 0\r\n\r\n",
     0, OHETS_CAQH_METHOD_POST, "/s", "", "", 1, 0, "", "a/b; action=new", "new"},
    {"names any case, values trimmed",
     "POST /m HTTP/1.1\r\nhOsT:   h2  \r\ncontent-TYPE: multipart/form-data; boundary=x\r\n"
     "CONTENT-LENGTH: 3\r\n\r\nabc",
     0, OHETS_CAQH_METHOD_POST, "/m", "", "abc", 1, 0, "h2", "multipart/form-data; boundary=x",
     ""},
    {"HTTP/1.0 closes", "GET / HTTP/1.0\r\n\r\n", 0, OHETS_CAQH_METHOD_GET, "/", "", "", 0, 0, "",
     "", ""},
    {"HTTP/1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 0,
     OHETS_CAQH_METHOD_GET, "/", "", "", 1, 0, "", "", ""},
    {"Connection: close", "GET / HTTP/1.1\r\nConnection: close\r\n\r\n", 0, OHETS_CAQH_METHOD_GET,
     "/", "", "", 0, 0, "", "", ""},
    {"chunked", "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
     0, OHETS_CAQH_METHOD_POST, "/c", "", "abcde", 1, 1, "", "", ""},
    {"chunked, extension and trailer",
     "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\nwxyz\r\n0\r\nX-T: 1\r\n\r\n",
     0, OHETS_CAQH_METHOD_POST, "/c", "", "wxyz", 1, 1, "", "", ""},
    {"chunked, empty", "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 0,
     OHETS_CAQH_METHOD_POST, "/c", "", "", 1, 1, "", "", ""},
    {"absolute-form target", "GET https://core.example/eligibility/realtime/soap?wsdl HTTP/1.1\r\n\r\n",
     0, OHETS_CAQH_METHOD_GET, "/eligibility/realtime/soap", "wsdl", "", 1, 0, "", "", ""},
    {"absolute-form, no path", "GET http://core.example HTTP/1.1\r\n\r\n", 0,
     OHETS_CAQH_METHOD_GET, "/", "", "", 1, 0, "", "", ""},
    {"leading CRLF skipped", "\r\nHEAD /x HTTP/1.1\r\n\r\n", 0, OHETS_CAQH_METHOD_HEAD, "/x", "",
     "", 1, 0, "", "", ""},
    {"other method", "DELETE /x HTTP/1.1\r\n\r\n", 0, OHETS_CAQH_METHOD_OTHER, "/x", "", "", 1, 0,
     "", "", ""},
    {"body exactly max", NULL, 0, OHETS_CAQH_METHOD_POST, "/", "", NULL, 1, 0, "", "", ""},
    /* Errors. */
    {"POST without length", "POST /s HTTP/1.1\r\nHost: h\r\n\r\n", 411, 0, 0, 0, 0, 0, 0, 0, 0,
     0},
    {"Content-Length over max", "POST /s HTTP/1.1\r\nContent-Length: 1025\r\n\r\n", 413, 0, 0, 0,
     0, 0, 0, 0, 0, 0},
    {"Content-Length huge", "POST /s HTTP/1.1\r\nContent-Length: 99999999999999\r\n\r\n", 413, 0,
     0, 0, 0, 0, 0, 0, 0, 0},
    {"chunk over max", "POST /s HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n401\r\n", 413, 0, 0,
     0, 0, 0, 0, 0, 0, 0},
    {"chunks summing over max",
     "POST /s HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n200\r\n", 0 /* filled below */, 0, 0,
     0, 0, 0, 0, 0, 0, 0},
    {"two Content-Lengths", "POST /s HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
     400, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    {"two equal Content-Lengths",
     "POST /s HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\na", 400, 0, 0, 0, 0, 0, 0,
     0, 0, 0},
    {"Content-Length and chunked",
     "POST /s HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400,
     0, 0, 0, 0, 0, 0, 0, 0, 0},
    {"Content-Length not a number", "POST /s HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400, 0, 0, 0,
     0, 0, 0, 0, 0, 0},
    {"unknown transfer coding", "POST /s HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 400, 0, 0,
     0, 0, 0, 0, 0, 0, 0},
    {"gzip then chunked: 501",
     "POST /s HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501, 0, 0, 0,
     0, 0, 0, 0, 0, 0},
    {"two Transfer-Encodings, gzip first: 501",
     "POST /s HTTP/1.1\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
     501, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    {"bad chunk size", "POST /s HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400, 0, 0,
     0, 0, 0, 0, 0, 0, 0},
    {"not HTTP", "HELLO\r\n\r\n", 400, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    {"space in header name", "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", 400, 0, 0, 0, 0, 0, 0, 0, 0,
     0},
    {"two Host headers", "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", 400, 0, 0, 0, 0, 0, 0, 0,
     0, 0},
    {"HTTP/2.0", "GET / HTTP/2.0\r\n\r\n", 505, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    {"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    {"HTTP/1.2", "GET / HTTP/1.2\r\n\r\n", 505, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    {"HTTP/0.9", "GET / HTTP/0.9\r\n\r\n", 505, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    {"HTTP/10.0", "GET / HTTP/10.0\r\n\r\n", 505, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    {"HTTP/1.10", "GET / HTTP/1.10\r\n\r\n", 505, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    {"HTTP/1.1x", "GET / HTTP/1.1x\r\n\r\n", 400, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    {"headers over 16 KiB", NULL, 431, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    {"Host too long", NULL, 431, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    {"path too long", NULL, 414, 0, 0, 0, 0, 0, 0, 0, 0, 0},
};

/* The text of a case, made here when too long for the table. */
static char *case_text(int i, int *status) {
  const req_case *c = &req_cases[i];
  *status = c->status;
  size_t cap = 2 * OHETS_CAQH_HEADERS_MAX + 4096;
  char *t = calloc(1, cap);
  ck_assert_ptr_nonnull(t);
  if (strcmp(c->what, "body exactly max") == 0) {
    int n = snprintf(t, cap, "POST / HTTP/1.1\r\nContent-Length: %d\r\n\r\n", MAX_BODY);
    memset(t + n, 'b', MAX_BODY);
  } else if (strcmp(c->what, "chunks summing over max") == 0) {
    /* Two chunks of 512 fit; a third byte passes the limit. */
    int n = snprintf(t, cap, "%s", "POST /s HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int k = 0; k < 2; k++) {
      n += snprintf(t + n, cap - (size_t)n, "200\r\n");
      memset(t + n, 'c', 512);
      n += 512;
      n += snprintf(t + n, cap - (size_t)n, "\r\n");
    }
    snprintf(t + n, cap - (size_t)n, "1\r\nx\r\n0\r\n\r\n");
    *status = 413;
  } else if (strcmp(c->what, "headers over 16 KiB") == 0) {
    int n = snprintf(t, cap, "GET / HTTP/1.1\r\n");
    while ((size_t)n < OHETS_CAQH_HEADERS_MAX)
      n += snprintf(t + n, cap - (size_t)n, "X-Filler: %0100d\r\n", 0);
    snprintf(t + n, cap - (size_t)n, "\r\n");
  } else if (strcmp(c->what, "Host too long") == 0) {
    int n = snprintf(t, cap, "GET / HTTP/1.1\r\nHost: ");
    memset(t + n, 'h', 300);
    snprintf(t + n + 300, cap - (size_t)n - 300, "\r\n\r\n");
  } else if (strcmp(c->what, "path too long") == 0) {
    int n = snprintf(t, cap, "GET /");
    memset(t + n, 'p', 300);
    snprintf(t + n + 300, cap - (size_t)n - 300, " HTTP/1.1\r\n\r\n");
  } else {
    snprintf(t, cap, "%s", c->text);
  }
  return t;
}

typedef struct result {
  ohets_caqh_http_status st;
  size_t consumed;
  ohets_caqh_http_msg msg;
} result;

/* Feeds text in pieces whose sizes come from `split` (0: whole; 1: one
 * byte at a time; else a seed for random sizes), the caller's buffer
 * growing each time, until a message or an error. */
static void feed(const char *text, size_t n, unsigned split, result *res) {
  ohets_caqh_http_reader *r;
  ck_assert_int_eq(ohets_caqh_http_reader_new(&r, 0, MAX_BODY), 0);
  memset(res, 0, sizeof *res);
  res->st = OHETS_CAQH_HTTP_NEED_MORE;
  unsigned state = split;
  size_t have = 0;
  while (res->st == OHETS_CAQH_HTTP_NEED_MORE && have < n) {
    size_t step = n - have;
    if (split == 1) {
      step = 1;
    } else if (split > 1) {
      state = state * 1103515245u + 12345u;
      size_t s = 1 + (state >> 16) % 97;
      step = s < step ? s : step;
    }
    have += step;
    res->st = ohets_caqh_http_reader_next(r, (const uint8_t *)text, have, &res->consumed,
                                          &res->msg);
  }
  ohets_caqh_http_reader_free(r);
}

static void check_case(int i, unsigned split) {
  const req_case *c = &req_cases[i];
  int want_status;
  char *text = case_text(i, &want_status);
  size_t n = strlen(text);
  result res;
  feed(text, n, split, &res);
  if (want_status == 0) {
    ck_assert_msg(res.st == OHETS_CAQH_HTTP_MESSAGE, "%s (split %u): status %d, error %d %s",
                  c->what, split, res.st, res.msg.error_status, res.msg.error);
    ck_assert_uint_eq(res.consumed, n);
    ck_assert_int_eq(res.msg.method, c->method);
    ck_assert_str_eq(res.msg.path, c->path);
    ck_assert_str_eq(res.msg.query, c->query);
    if (c->body != NULL) {
      ck_assert_uint_eq(res.msg.body_len, strlen(c->body));
      ck_assert(res.msg.body_len == 0 || memcmp(res.msg.body, c->body, res.msg.body_len) == 0);
    } else {
      ck_assert_uint_eq(res.msg.body_len, MAX_BODY);
    }
    ck_assert_int_eq(res.msg.keep_alive, c->keep_alive);
    ck_assert_int_eq(res.msg.chunked, c->chunked);
    ck_assert_str_eq(res.msg.host, c->host);
    ck_assert_str_eq(res.msg.content_type, c->content_type);
    ck_assert_str_eq(res.msg.soap_action, c->soap_action);
  } else {
    ck_assert_msg(res.st == OHETS_CAQH_HTTP_ERROR && res.msg.error_status == want_status,
                  "%s (split %u): status %d, error %d %s", c->what, split, res.st,
                  res.msg.error_status, res.msg.error);
    ck_assert(res.msg.error[0] != '\0');
    ck_assert_ptr_null(res.msg.body);
    ck_assert_int_eq(res.msg.keep_alive, 0);
  }
  ohets_caqh_http_msg_clear(&res.msg);
  free(text);
}

START_TEST(requests_whole) { check_case(_i, 0); }
END_TEST

START_TEST(requests_byte_at_a_time) { check_case(_i, 1); }
END_TEST

START_TEST(requests_random_splits) {
  for (unsigned seed = 2; seed < 40; seed++)
    check_case(_i, seed);
}
END_TEST

START_TEST(method_name_and_minor) {
  result res;
  const char *t = "PUT /x HTTP/1.0\r\n\r\n";
  feed(t, strlen(t), 0, &res);
  ck_assert_int_eq(res.st, OHETS_CAQH_HTTP_MESSAGE);
  ck_assert_str_eq(res.msg.method_name, "PUT");
  ck_assert_int_eq(res.msg.http_minor, 0);
  ohets_caqh_http_msg_clear(&res.msg);
}
END_TEST

/* Three requests in one buffer come out one by one, each with its own
 * length; a fourth, partial, waits. */
START_TEST(pipelined) {
  const char *reqs[] = {
      "GET /eligibility/realtime/soap?wsdl HTTP/1.1\r\nHost: h\r\n\r\n",
      "POST /eligibility/realtime/mime HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody",
      "POST /eligibility/realtime/soap HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
      "2\r\nxy\r\n0\r\n\r\n",
  };
  const char *partial = "GET /next HTTP/1.1\r\nHo";
  char buf[1024];
  size_t len = 0;
  for (int i = 0; i < 3; i++)
    len += (size_t)snprintf(buf + len, sizeof buf - len, "%s", reqs[i]);
  len += (size_t)snprintf(buf + len, sizeof buf - len, "%s", partial);
  ohets_caqh_http_reader *r;
  ck_assert_int_eq(ohets_caqh_http_reader_new(&r, 0, MAX_BODY), 0);
  const char *bodies[] = {"", "body", "xy"};
  size_t start = 0;
  for (int i = 0; i < 3; i++) {
    ohets_caqh_http_msg msg;
    size_t consumed;
    ck_assert_int_eq(ohets_caqh_http_reader_next(r, (uint8_t *)buf + start, len - start,
                                                 &consumed, &msg),
                     OHETS_CAQH_HTTP_MESSAGE);
    ck_assert_uint_eq(consumed, strlen(reqs[i]));
    ck_assert_uint_eq(msg.body_len, strlen(bodies[i]));
    ck_assert(msg.body_len == 0 || memcmp(msg.body, bodies[i], msg.body_len) == 0);
    ck_assert_int_eq(msg.keep_alive, 1);
    ohets_caqh_http_msg_clear(&msg);
    start += consumed;
  }
  ohets_caqh_http_msg msg;
  size_t consumed = 99;
  ck_assert_int_eq(
      ohets_caqh_http_reader_next(r, (uint8_t *)buf + start, len - start, &consumed, &msg),
      OHETS_CAQH_HTTP_NEED_MORE);
  ck_assert_uint_eq(consumed, 0);
  /* The rest arrives (the caller's buffer, moved and grown). */
  char more[128];
  size_t mlen = (size_t)snprintf(more, sizeof more, "%sst: h\r\n\r\n", partial);
  ck_assert_int_eq(ohets_caqh_http_reader_next(r, (uint8_t *)more, mlen, &consumed, &msg),
                   OHETS_CAQH_HTTP_MESSAGE);
  ck_assert_uint_eq(consumed, mlen);
  ck_assert_str_eq(msg.path, "/next");
  ck_assert_str_eq(msg.host, "h");
  ohets_caqh_http_msg_clear(&msg);
  ohets_caqh_http_reader_free(r);
}
END_TEST

/* Every good request of the table back to back (those that keep the
 * connection), arriving in random pieces: each comes out whole, in order,
 * with its own length, whatever the split. */
START_TEST(pipelined_random_splits) {
  size_t n_cases = sizeof req_cases / sizeof req_cases[0];
  char *all = malloc(64 * 1024);
  ck_assert_ptr_nonnull(all);
  size_t lens[64], n_msgs = 0, total = 0;
  for (size_t i = 0; i < n_cases; i++) {
    int status;
    char *t = case_text((int)i, &status);
    if (status == 0 && req_cases[i].keep_alive) {
      size_t n = strlen(t);
      memcpy(all + total, t, n);
      total += n;
      lens[n_msgs++] = n;
    }
    free(t);
  }
  for (unsigned seed = 1; seed <= 50; seed++) {
    ohets_caqh_http_reader *r;
    ck_assert_int_eq(ohets_caqh_http_reader_new(&r, 0, MAX_BODY), 0);
    unsigned state = seed;
    size_t start = 0, have = 0, got = 0;
    while (have < total) {
      state = state * 1103515245u + 12345u;
      size_t step = 1 + (state >> 16) % 300;
      have = have + step < total ? have + step : total;
      for (;;) {
        ohets_caqh_http_msg msg;
        size_t consumed;
        ohets_caqh_http_status st = ohets_caqh_http_reader_next(
            r, (const uint8_t *)all + start, have - start, &consumed, &msg);
        ck_assert_int_ne(st, OHETS_CAQH_HTTP_ERROR);
        if (st == OHETS_CAQH_HTTP_NEED_MORE)
          break;
        ck_assert_uint_lt(got, n_msgs);
        ck_assert_uint_eq(consumed, lens[got]);
        got++;
        start += consumed;
        ohets_caqh_http_msg_clear(&msg);
      }
    }
    ck_assert_uint_eq(got, n_msgs);
    ck_assert_uint_eq(start, total);
    ohets_caqh_http_reader_free(r);
  }
  free(all);
}
END_TEST

/* After Connection: close, more bytes are an error, not a request. */
START_TEST(nothing_after_close) {
  const char *t = "GET / HTTP/1.1\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\n\r\n";
  ohets_caqh_http_reader *r;
  ck_assert_int_eq(ohets_caqh_http_reader_new(&r, 0, MAX_BODY), 0);
  ohets_caqh_http_msg msg;
  size_t consumed;
  ck_assert_int_eq(ohets_caqh_http_reader_next(r, (const uint8_t *)t, strlen(t), &consumed, &msg),
                   OHETS_CAQH_HTTP_MESSAGE);
  ck_assert_int_eq(msg.keep_alive, 0);
  ohets_caqh_http_msg_clear(&msg);
  ck_assert_int_eq(ohets_caqh_http_reader_next(r, (const uint8_t *)t + consumed,
                                               strlen(t) - consumed, &consumed, &msg),
                   OHETS_CAQH_HTTP_ERROR);
  ck_assert_int_eq(msg.error_status, 400);
  ohets_caqh_http_reader_free(r);
}
END_TEST

static ohets_caqh_http_status next_str(ohets_caqh_http_reader *r, const char *t,
                                       ohets_caqh_http_msg *msg) {
  size_t consumed;
  return ohets_caqh_http_reader_next(r, (const uint8_t *)t, strlen(t), &consumed, msg);
}

START_TEST(expect_continue) {
  const char *head = "POST /eligibility/realtime/soap HTTP/1.1\r\nExpect: 100-Continue\r\n"
                     "Content-Length: 3\r\n\r\n";
  char whole[256];
  snprintf(whole, sizeof whole, "%sabc", head);
  ohets_caqh_http_reader *r;
  ck_assert_int_eq(ohets_caqh_http_reader_new(&r, 0, MAX_BODY), 0);
  ohets_caqh_http_msg msg;
  ck_assert_int_eq(ohets_caqh_http_reader_wants_continue(r), 0);
  ck_assert_int_eq(next_str(r, head, &msg), OHETS_CAQH_HTTP_NEED_MORE);
  ck_assert_int_eq(ohets_caqh_http_reader_wants_continue(r), 1);
  ck_assert_int_eq(ohets_caqh_http_reader_wants_continue(r), 0); /* once */
  ck_assert_int_eq(next_str(r, whole, &msg), OHETS_CAQH_HTTP_MESSAGE);
  ck_assert_int_eq(msg.expect_continue, 1);
  ck_assert_uint_eq(msg.body_len, 3);
  ohets_caqh_http_msg_clear(&msg);
  /* Body already here: nothing to ask for. */
  ck_assert_int_eq(next_str(r, whole, &msg), OHETS_CAQH_HTTP_MESSAGE);
  ck_assert_int_eq(ohets_caqh_http_reader_wants_continue(r), 0);
  ohets_caqh_http_msg_clear(&msg);
  /* No body to come (GET): no 100. */
  ck_assert_int_eq(next_str(r, "GET / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n", &msg),
                   OHETS_CAQH_HTTP_MESSAGE);
  ck_assert_int_eq(ohets_caqh_http_reader_wants_continue(r), 0);
  ohets_caqh_http_msg_clear(&msg);
  /* Chunked: a body to come. */
  ck_assert_int_eq(next_str(r,
                            "POST / HTTP/1.1\r\nExpect: 100-continue\r\n"
                            "Transfer-Encoding: chunked\r\n\r\n",
                            &msg),
                   OHETS_CAQH_HTTP_NEED_MORE);
  ck_assert_int_eq(ohets_caqh_http_reader_wants_continue(r), 1);
  ohets_caqh_http_reader_free(r);

  /* HTTP/1.0 clients get no 100 (RFC 7231 5.1.1). */
  ck_assert_int_eq(ohets_caqh_http_reader_new(&r, 0, MAX_BODY), 0);
  ck_assert_int_eq(next_str(r, "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n",
                            &msg),
                   OHETS_CAQH_HTTP_NEED_MORE);
  ck_assert_int_eq(ohets_caqh_http_reader_wants_continue(r), 0);
  ohets_caqh_http_reader_free(r);

  /* Too big: 413 at once, no 100. */
  ck_assert_int_eq(ohets_caqh_http_reader_new(&r, 0, MAX_BODY), 0);
  ck_assert_int_eq(
      next_str(r, "POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n", &msg),
      OHETS_CAQH_HTTP_ERROR);
  ck_assert_int_eq(msg.error_status, 413);
  ck_assert_int_eq(ohets_caqh_http_reader_wants_continue(r), 0);
  ohets_caqh_http_reader_free(r);
}
END_TEST

/* The head limit is exact: a head of HEADERS_MAX bytes is read, one more
 * byte is 431 (and said as soon as the limit is passed, body or not). */
START_TEST(header_limit_exact) {
  for (int extra = 0; extra <= 1; extra++) {
    char *t = malloc(OHETS_CAQH_HEADERS_MAX + 64);
    ck_assert_ptr_nonnull(t);
    int n = snprintf(t, 64, "GET / HTTP/1.1\r\nX: ");
    size_t fill = OHETS_CAQH_HEADERS_MAX - (size_t)n - 4 + (size_t)extra;
    memset(t + n, 'v', fill);
    memcpy(t + n + fill, "\r\n\r\n", 5);
    size_t len = strlen(t);
    ck_assert_uint_eq(len, OHETS_CAQH_HEADERS_MAX + (size_t)extra);
    ohets_caqh_http_reader *r;
    ck_assert_int_eq(ohets_caqh_http_reader_new(&r, 0, MAX_BODY), 0);
    ohets_caqh_http_msg msg;
    size_t consumed;
    ohets_caqh_http_status st =
        ohets_caqh_http_reader_next(r, (const uint8_t *)t, len, &consumed, &msg);
    if (extra == 0) {
      ck_assert_int_eq(st, OHETS_CAQH_HTTP_MESSAGE);
      ck_assert_uint_eq(consumed, len);
    } else {
      ck_assert_int_eq(st, OHETS_CAQH_HTTP_ERROR);
      ck_assert_int_eq(msg.error_status, 431);
    }
    ohets_caqh_http_msg_clear(&msg);
    ohets_caqh_http_reader_free(r);
    /* The first HEADERS_MAX bytes of a longer head: 431 without waiting. */
    ck_assert_int_eq(ohets_caqh_http_reader_new(&r, 0, MAX_BODY), 0);
    st = ohets_caqh_http_reader_next(r, (const uint8_t *)t, OHETS_CAQH_HEADERS_MAX, &consumed,
                                     &msg);
    ohets_caqh_http_status want = extra == 0 ? OHETS_CAQH_HTTP_MESSAGE : OHETS_CAQH_HTTP_ERROR;
    ck_assert_int_eq(st, want);
    ohets_caqh_http_msg_clear(&msg);
    ohets_caqh_http_reader_free(r);
    free(t);
  }
}
END_TEST

/* An errored reader answers the same error, whatever comes next. */
START_TEST(error_is_sticky) {
  ohets_caqh_http_reader *r;
  ck_assert_int_eq(ohets_caqh_http_reader_new(&r, 0, MAX_BODY), 0);
  ohets_caqh_http_msg msg;
  ck_assert_int_eq(next_str(r, "POST / HTTP/1.1\r\n\r\n", &msg), OHETS_CAQH_HTTP_ERROR);
  ck_assert_int_eq(msg.error_status, 411);
  ck_assert_int_eq(next_str(r, "POST / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n", &msg),
                   OHETS_CAQH_HTTP_ERROR);
  ck_assert_int_eq(msg.error_status, 411);
  ck_assert_int_eq(ohets_caqh_http_reader_eof(r, &msg), OHETS_CAQH_HTTP_ERROR);
  ohets_caqh_http_reader_free(r);
}
END_TEST

/* Error lines carry no request bytes beyond names. */
START_TEST(error_words_no_body) {
  ohets_caqh_http_reader *r;
  ck_assert_int_eq(ohets_caqh_http_reader_new(&r, 0, 8), 0);
  ohets_caqh_http_msg msg;
  ck_assert_int_eq(next_str(r,
                            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                            "8\r\nSECRET-1\r\n1\r\nX\r\n",
                            &msg),
                   OHETS_CAQH_HTTP_ERROR);
  ck_assert_int_eq(msg.error_status, 413);
  ck_assert_ptr_null(strstr(msg.error, "SECRET"));
  ohets_caqh_http_reader_free(r);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Responses                                                           */

START_TEST(responses) {
  ohets_caqh_http_reader *r;
  ck_assert_int_eq(ohets_caqh_http_reader_new(&r, 1, MAX_BODY), 0);
  ohets_caqh_http_msg msg;
  size_t consumed;
  const char *t = "HTTP/1.1 100 Continue\r\n\r\n"
                  "HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml\r\nContent-Length: 4\r\n\r\n"
                  "<ok>"
                  "HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nbad\r\n0\r\n\r\n"
                  "HTTP/1.1 204 No Content\r\n\r\n";
  const uint8_t *p = (const uint8_t *)t;
  size_t len = strlen(t);
  int want_status[] = {100, 200, 400, 204};
  const char *want_body[] = {"", "<ok>", "bad", ""};
  for (int i = 0; i < 4; i++) {
    ck_assert_int_eq(ohets_caqh_http_reader_next(r, p, len, &consumed, &msg),
                     OHETS_CAQH_HTTP_MESSAGE);
    ck_assert_int_eq(msg.status, want_status[i]);
    ck_assert_uint_eq(msg.body_len, strlen(want_body[i]));
    ck_assert(msg.body_len == 0 || memcmp(msg.body, want_body[i], msg.body_len) == 0);
    ck_assert_int_eq(msg.keep_alive, 1);
    ohets_caqh_http_msg_clear(&msg);
    p += consumed;
    len -= consumed;
  }
  ck_assert_uint_eq(len, 0);
  ck_assert_int_eq(ohets_caqh_http_reader_eof(r, &msg), OHETS_CAQH_HTTP_NEED_MORE);
  ohets_caqh_http_reader_free(r);

  /* Closed after stray line ends: nothing lost; mid-head: an error. */
  ck_assert_int_eq(ohets_caqh_http_reader_new(&r, 0, MAX_BODY), 0);
  ck_assert_int_eq(next_str(r, "\r\n", &msg), OHETS_CAQH_HTTP_NEED_MORE);
  ck_assert_int_eq(ohets_caqh_http_reader_eof(r, &msg), OHETS_CAQH_HTTP_NEED_MORE);
  ohets_caqh_http_reader_free(r);
  ck_assert_int_eq(ohets_caqh_http_reader_new(&r, 0, MAX_BODY), 0);
  ck_assert_int_eq(next_str(r, "GET / HTTP/1.1\r\nHo", &msg), OHETS_CAQH_HTTP_NEED_MORE);
  ck_assert_int_eq(ohets_caqh_http_reader_eof(r, &msg), OHETS_CAQH_HTTP_ERROR);
  ck_assert_int_eq(msg.error_status, 400);
  ohets_caqh_http_reader_free(r);

  /* Delimited by the close. */
  ck_assert_int_eq(ohets_caqh_http_reader_new(&r, 1, MAX_BODY), 0);
  t = "HTTP/1.0 200 OK\r\nContent-Type: text/xml\r\n\r\nuntil the end";
  ck_assert_int_eq(next_str(r, t, &msg), OHETS_CAQH_HTTP_NEED_MORE);
  ck_assert_int_eq(ohets_caqh_http_reader_eof(r, &msg), OHETS_CAQH_HTTP_MESSAGE);
  ck_assert_int_eq(msg.status, 200);
  ck_assert_uint_eq(msg.body_len, 13);
  ck_assert(memcmp(msg.body, "until the end", 13) == 0);
  ck_assert_str_eq(msg.content_type, "text/xml");
  ck_assert_int_eq(msg.keep_alive, 0);
  ohets_caqh_http_msg_clear(&msg);
  ohets_caqh_http_reader_free(r);

  /* Closed mid-body: an error. */
  ck_assert_int_eq(ohets_caqh_http_reader_new(&r, 1, MAX_BODY), 0);
  ck_assert_int_eq(next_str(r, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", &msg),
                   OHETS_CAQH_HTTP_NEED_MORE);
  ck_assert_int_eq(ohets_caqh_http_reader_eof(r, &msg), OHETS_CAQH_HTTP_ERROR);
  ck_assert_int_eq(msg.error_status, 400);
  ohets_caqh_http_reader_free(r);

  /* Too big, and garbage. */
  ck_assert_int_eq(ohets_caqh_http_reader_new(&r, 1, 2), 0);
  ck_assert_int_eq(next_str(r, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n", &msg),
                   OHETS_CAQH_HTTP_ERROR);
  ck_assert_int_eq(msg.error_status, 413);
  ohets_caqh_http_reader_free(r);
  ck_assert_int_eq(ohets_caqh_http_reader_new(&r, 1, 2), 0);
  ck_assert_int_eq(next_str(r, "SSH-2.0-OpenSSH\r\n", &msg), OHETS_CAQH_HTTP_ERROR);
  ck_assert_int_eq(msg.error_status, 400);
  ohets_caqh_http_reader_free(r);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Writers                                                             */

static void assert_written(ohets_buf *b, const char *want) {
  ck_assert_uint_eq(b->len, strlen(want));
  ck_assert_msg(memcmp(b->data, want, b->len) == 0, "got %.*s", (int)b->len, (char *)b->data);
}

START_TEST(writers) {
  ohets_buf b;
  ohets_buf_init(&b, 4096);
  ck_assert_int_eq(ohets_caqh_http_write_head(&b, 200, "application/soap+xml; charset=utf-8", 12, 0), 0);
  assert_written(&b, "HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml; charset=utf-8\r\n"
                     "Content-Length: 12\r\n\r\n");
  ohets_buf_reset(&b);
  ck_assert_int_eq(ohets_caqh_http_write_head(&b, 100, NULL, 0, 1), 0);
  assert_written(&b, "HTTP/1.1 100 Continue\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  ohets_buf_reset(&b);
  ck_assert_int_eq(ohets_caqh_http_write_error(&b, 405, "use GET or POST", 0), 0);
  assert_written(&b, "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/plain; charset=utf-8\r\n"
                     "Content-Length: 16\r\nAllow: GET, POST\r\n\r\nuse GET or POST\n");
  ohets_buf_reset(&b);
  ck_assert_int_eq(ohets_caqh_http_write_error(&b, 413, "too\r\nbig", 1), 0);
  assert_written(&b, "HTTP/1.1 413 Content Too Large\r\nContent-Type: text/plain; charset=utf-8\r\n"
                     "Content-Length: 9\r\nConnection: close\r\n\r\ntoo  big\n");
  ohets_buf_reset(&b);
  ck_assert_int_eq(ohets_caqh_http_write_head(&b, 200, "text/xml\r\nX-Evil: 1", 0, 0), -EINVAL);
  ck_assert_int_eq(ohets_caqh_http_write_head(&b, 42, NULL, 0, 0), -EINVAL);
  ohets_buf_free(&b);

  static const struct {
    int status;
    const char *reason;
  } reasons[] = {{400, "Bad Request"},
                 {401, "Unauthorized"},
                 {403, "Forbidden"},
                 {404, "Not Found"},
                 {408, "Request Timeout"},
                 {411, "Length Required"},
                 {414, "URI Too Long"},
                 {415, "Unsupported Media Type"},
                 {431, "Request Header Fields Too Large"},
                 {500, "Internal Server Error"},
                 {503, "Service Unavailable"},
                 {505, "HTTP Version Not Supported"}};
  for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
    ck_assert_str_eq(ohets_caqh_http_reason(reasons[i].status), reasons[i].reason);
}
END_TEST

/* What the writer writes, the reader reads. */
START_TEST(written_error_reads_back) {
  ohets_buf b;
  ohets_buf_init(&b, 4096);
  ck_assert_int_eq(ohets_caqh_http_write_error(&b, 404, "not found: /x", 0), 0);
  ohets_caqh_http_reader *r;
  ck_assert_int_eq(ohets_caqh_http_reader_new(&r, 1, MAX_BODY), 0);
  ohets_caqh_http_msg msg;
  size_t consumed;
  ck_assert_int_eq(ohets_caqh_http_reader_next(r, b.data, b.len, &consumed, &msg),
                   OHETS_CAQH_HTTP_MESSAGE);
  ck_assert_int_eq(msg.status, 404);
  ck_assert_uint_eq(consumed, b.len);
  ck_assert_uint_eq(msg.body_len, 14);
  ohets_caqh_http_msg_clear(&msg);
  ohets_caqh_http_reader_free(r);
  ohets_buf_free(&b);
}
END_TEST

int main(void) {
  Suite *s = suite_create("http_reader");
  TCase *tc = tcase_create("requests");
  int n = (int)(sizeof req_cases / sizeof req_cases[0]);
  tcase_add_loop_test(tc, requests_whole, 0, n);
  tcase_add_loop_test(tc, requests_byte_at_a_time, 0, n);
  tcase_add_loop_test(tc, requests_random_splits, 0, n);
  tcase_add_test(tc, method_name_and_minor);
  tcase_add_test(tc, pipelined);
  tcase_add_test(tc, pipelined_random_splits);
  tcase_add_test(tc, nothing_after_close);
  tcase_add_test(tc, expect_continue);
  tcase_add_test(tc, header_limit_exact);
  tcase_add_test(tc, error_is_sticky);
  tcase_add_test(tc, error_words_no_body);
  suite_add_tcase(s, tc);
  tc = tcase_create("responses");
  tcase_add_test(tc, responses);
  tcase_add_test(tc, writers);
  tcase_add_test(tc, written_error_reads_back);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
