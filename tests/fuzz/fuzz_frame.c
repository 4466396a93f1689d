/* Fuzz target for the frame decoder.
 *
 * Input: byte 0 picks the framing mode and max_frame, byte 1 seeds the
 * chunk sizes, the rest is the connection's byte stream.  The stream is
 * decoded twice, whole and in chunks as reads would deliver it; both must
 * give the same frames, and every answer must keep the invariants below.
 * Any violation aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "openhets/openhets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct frame_event {
  ohets_frame_status status;
  size_t payload_off, payload_len, frame_len;
  int raw;
  const char *error;
} frame_event;

typedef struct event_log {
  frame_event *ev;
  size_t n, cap;
} event_log;

static const size_t max_frames[4] = {16, 128, 1024, 65536};

static void check(int ok) {
  if (!ok)
    abort();
}

static int is_blank(uint8_t c) {
  return c == '\r' || c == '\n' || c == ' ' || c == '\t';
}

/* What must hold for every READY, whatever the input. */
static void check_ready(ohets_framing mode, size_t max_frame, const uint8_t *buf,
                        size_t have, const ohets_frame *f) {
  check(f->error == NULL);
  check(f->frame_len > 0 && f->frame_len <= have);
  check(f->payload_off <= f->frame_len);
  check(f->payload_len <= f->frame_len - f->payload_off);
  check(f->payload_len <= max_frame);
  check(f->raw == 0 || f->raw == 1);
  if (mode == OHETS_FRAMING_HETS)
    check(f->raw == 0);
  if (mode == OHETS_FRAMING_RAW)
    check(f->raw == 1);
  if (!f->raw) {
    /* Only auto mode skips blanks, and only those left after a raw frame. */
    check(f->payload_off >= 12);
    size_t s = f->payload_off - 12;
    check(s == 0 || mode == OHETS_FRAMING_AUTO);
    for (size_t i = 0; i < s; i++)
      check(is_blank(buf[i]));
    const uint8_t *w = buf + s;
    check(f->frame_len == s + f->payload_len + 13);
    check(w[0] == OHETS_FRAME_SOH && w[11] == OHETS_FRAME_STX &&
          buf[f->frame_len - 1] == OHETS_FRAME_ETX);
    size_t declared = 0;
    for (int i = 1; i <= 10; i++) {
      check(w[i] >= '0' && w[i] <= '9');
      declared = declared * 10 + (size_t)(w[i] - '0');
    }
    check(declared == f->payload_len);
    /* Wrapping the payload again gives back the very same bytes. */
    ohets_buf again;
    ohets_buf_init(&again, f->payload_len + OHETS_FRAME_OVERHEAD);
    check(ohets_frame_wrap(&again, buf + f->payload_off, f->payload_len) == 0);
    check(again.len == f->frame_len - s && memcmp(again.data, w, again.len) == 0);
    ohets_buf_free(&again);
  } else {
    const uint8_t *p = buf + f->payload_off;
    check(f->payload_off + f->payload_len == f->frame_len);
    check(f->payload_len >= 106 && memcmp(p, "ISA", 3) == 0);
    check(p[f->payload_len - 1] == p[105]); /* ends on a segment terminator */
    for (size_t i = 0; i < f->payload_off; i++)
      check(is_blank(buf[i]));
  }
}

static void log_add(event_log *log, ohets_frame_status st, const ohets_frame *f) {
  if (log->n == log->cap) {
    size_t cap = log->cap ? log->cap * 2 : 16;
    frame_event *ev = realloc(log->ev, cap * sizeof *ev);
    check(ev != NULL);
    log->ev = ev;
    log->cap = cap;
  }
  frame_event *e = &log->ev[log->n++];
  e->status = st;
  e->payload_off = f->payload_off;
  e->payload_len = f->payload_len;
  e->frame_len = f->frame_len;
  e->raw = f->raw;
  e->error = f->error;
}

static uint32_t next_rand(uint32_t *state) {
  uint32_t x = *state;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  *state = x;
  return x;
}

/* Feeds stream like a connection's reads (chunked != 0) or all at once,
 * recording the READY and ERROR answers. */
static void decode(ohets_framing mode, size_t max_frame, const uint8_t *stream,
                   size_t len, int chunked, uint32_t seed, event_log *log) {
  uint8_t *conn = malloc(len + 1);
  check(conn != NULL);
  ohets_frame_decoder d;
  ohets_frame_decoder_init(&d, mode, max_frame);
  uint32_t rng = seed * 2654435761u + 1u;
  size_t delivered = 0, have = 0;
  int stop = 0;
  do {
    size_t n = len - delivered;
    if (chunked) {
      uint32_t r = next_rand(&rng);
      size_t want = (r & 7) == 0 ? (r >> 3) % 4096 : 1 + (r >> 3) % 16;
      if (want < n)
        n = want;
    }
    memcpy(conn + have, stream + delivered, n);
    have += n;
    delivered += n;
    for (;;) {
      ohets_frame f;
      ohets_frame_status st = ohets_frame_next(&d, conn, have, &f);
      if (st == OHETS_FRAME_NEED_MORE) {
        check(f.error == NULL);
        break;
      }
      if (st == OHETS_FRAME_ERROR) {
        check(f.error != NULL && (strcmp(f.error, "HTS00001") == 0 ||
                                  strcmp(f.error, "HTS00002") == 0));
        check(ohets_hets_error_text(f.error) != NULL);
        log_add(log, st, &f);
        stop = 1;
        break;
      }
      check(st == OHETS_FRAME_READY);
      check_ready(mode, max_frame, conn, have, &f);
      log_add(log, st, &f);
      memmove(conn, conn + f.frame_len, have - f.frame_len);
      have -= f.frame_len;
    }
  } while (!stop && delivered < len);
  free(conn);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2)
    return 0;
  ohets_framing mode = (ohets_framing)(data[0] % 3);
  size_t max_frame = max_frames[(data[0] / 3) % 4];
  uint32_t seed = data[1];
  const uint8_t *stream = data + 2;
  size_t len = size - 2;

  event_log whole = {0}, chunked = {0};
  decode(mode, max_frame, stream, len, 0, seed, &whole);
  decode(mode, max_frame, stream, len, 1, seed, &chunked);
  /* How the bytes were cut must not change what came out. */
  check(whole.n == chunked.n);
  for (size_t i = 0; i < whole.n; i++) {
    const frame_event *a = &whole.ev[i], *b = &chunked.ev[i];
    check(a->status == b->status && a->payload_off == b->payload_off &&
          a->payload_len == b->payload_len && a->frame_len == b->frame_len &&
          a->raw == b->raw);
    check((a->error == NULL) == (b->error == NULL));
    check(a->error == NULL || strcmp(a->error, b->error) == 0);
  }
  free(whole.ev);
  free(chunked.ev);
  return 0;
}
