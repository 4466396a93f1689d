/* Fuzz target for the HTTP reader (src/caqh/http_reader.c).
 *
 * Byte 0: bit 0 chooses requests or responses, bits 1-2 max_body (16,
 * 256, 4096, 1 MiB bytes), bits 3-7 seed the split of the rest into one
 * to three chunks.  The rest is a connection's bytes, fed the way the door
 * feeds them: a buffer that grows chunk by chunk, messages taken from its
 * front as they end.  Then the same bytes whole must give the same
 * messages: how the input is split never changes what is read.
 * Checks: consumed lengths lie within the buffer, bodies within max_body,
 * an error has a status and words, an errored reader stays errored. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "caqh/http_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_MESSAGES 64

static void check(int ok) {
  if (!ok)
    abort();
}

typedef struct outcome {
  int messages;
  size_t lengths[MAX_MESSAGES];
  size_t body_lens[MAX_MESSAGES];
  int error_status; /* 0: none */
} outcome;

static size_t max_body_of(uint8_t b) {
  static const size_t sizes[4] = {16, 256, 4096, 1024 * 1024};
  return sizes[(b >> 1) & 3];
}

/* Feeds input in the given chunk ends, taking messages as they come. */
static void run(const uint8_t *in, int responses, size_t max_body, const size_t *ends,
                int nends, outcome *o) {
  memset(o, 0, sizeof *o);
  ohets_caqh_http_reader *r;
  check(ohets_caqh_http_reader_new(&r, responses, max_body) == 0);
  size_t start = 0; /* front of the caller's buffer */
  ohets_caqh_http_msg msg;
  memset(&msg, 0, sizeof msg);
  for (int c = 0; c < nends && o->error_status == 0; c++) {
    size_t end = ends[c];
    for (;;) {
      size_t consumed = 0;
      ohets_caqh_http_status st = ohets_caqh_http_reader_next(r, in + start, end - start,
                                                              &consumed, &msg);
      if (st == OHETS_CAQH_HTTP_NEED_MORE)
        break;
      if (st == OHETS_CAQH_HTTP_ERROR) {
        check(msg.error_status >= 400 && msg.error_status <= 599 && msg.error[0] != '\0');
        check(msg.body == NULL && msg.keep_alive == 0);
        o->error_status = msg.error_status;
        /* Sticky. */
        size_t again_consumed = 1;
        ohets_caqh_http_msg again;
        check(ohets_caqh_http_reader_next(r, in + start, end - start, &again_consumed,
                                          &again) == OHETS_CAQH_HTTP_ERROR);
        check(again.error_status == o->error_status && again_consumed == 0);
        break;
      }
      check(st == OHETS_CAQH_HTTP_MESSAGE);
      check(consumed > 0 && consumed <= end - start);
      check(msg.body_len <= max_body && (msg.body == NULL) == (msg.body_len == 0));
      check(memchr(msg.path, '\0', sizeof msg.path) != NULL);
      check(memchr(msg.host, '\0', sizeof msg.host) != NULL);
      check(memchr(msg.soap_action, '\0', sizeof msg.soap_action) != NULL);
      volatile uint8_t sum = 0; /* touch every body byte, for ASan */
      for (size_t i = 0; i < msg.body_len; i++)
        sum = (uint8_t)(sum + msg.body[i]);
      (void)sum;
      if (o->messages < MAX_MESSAGES) {
        o->lengths[o->messages] = consumed;
        o->body_lens[o->messages] = msg.body_len;
      }
      o->messages++;
      ohets_caqh_http_reader_wants_continue(r);
      ohets_caqh_http_msg_clear(&msg);
      start += consumed;
    }
  }
  if (o->error_status == 0 && responses) {
    ohets_caqh_http_status st = ohets_caqh_http_reader_eof(r, &msg);
    if (st == OHETS_CAQH_HTTP_MESSAGE)
      check(msg.body_len <= max_body);
    ohets_caqh_http_msg_clear(&msg);
  }
  ohets_caqh_http_reader_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  uint8_t ctl = data[0];
  const uint8_t *in = data + 1;
  size_t n = size - 1;
  int responses = ctl & 1;
  size_t max_body = max_body_of(ctl);

  /* One to three chunks, their ends chosen by the seed bits. */
  unsigned seed = ctl >> 3;
  int nends = 1 + (int)(seed % 3);
  size_t ends[3];
  size_t a = n == 0 ? 0 : (seed * 7919u) % (n + 1);
  size_t b = n == 0 ? 0 : (seed * 104729u + 13) % (n + 1);
  if (a > b) {
    size_t t = a;
    a = b;
    b = t;
  }
  if (nends == 1) {
    ends[0] = n;
  } else if (nends == 2) {
    ends[0] = a;
    ends[1] = n;
  } else {
    ends[0] = a;
    ends[1] = b;
    ends[2] = n;
  }
  outcome split, whole;
  run(in, responses, max_body, ends, nends, &split);
  size_t all = n;
  run(in, responses, max_body, &all, 1, &whole);
  check(split.messages == whole.messages && split.error_status == whole.error_status);
  for (int i = 0; i < split.messages && i < MAX_MESSAGES; i++)
    check(split.lengths[i] == whole.lengths[i] && split.body_lens[i] == whole.body_lens[i]);
  return 0;
}
